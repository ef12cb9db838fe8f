#define _GNU_SOURCE
#include "bundle/write.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

char *
za_default_bundle_dir (const char *id)
{
  const char *d = getenv ("ZLAYER_DATA_DIR"), *home = getenv ("HOME");
  char *out = NULL;
  int n;
  if (d && *d)
    n = asprintf (&out, "%s/bundles/%s", d, id);
  else if (geteuid () != 0 && home && *home)
    n = asprintf (&out, "%s/.zlayer/bundles/%s", home, id);
  else
    n = asprintf (&out, "/var/lib/zlayer/bundles/%s", id);
  return n < 0 ? NULL : out;
}

static int
reject_symlink (const char *path, struct za_err **err)
{
  struct stat st;
  if (lstat (path, &st) == 0 && S_ISLNK (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "bundle directory `%s` is a symlink; refusing to follow it", path);
  return 0;
}

int
za_bundle_write (const char *bundle_dir, const struct za_build_result *r, struct za_err **err)
{
  cleanup_close int dfd = -1;
  cleanup_free char *parent_copy = strdup (bundle_dir);
  cleanup_free char *old_resolv = NULL;
  size_t old_resolv_len = 0;
  bool created = false, had_resolv = false, wrote_resolv = false;
  cleanup_free char *json = NULL;
  size_t len = 0;
  struct stat st;
  struct timespec start;

  /* Temp files last written before this moment, by a writer that is gone,
     are leftovers of a killed build.  */
  clock_gettime (CLOCK_REALTIME, &start);
  if (!parent_copy)
    return za_err_set (err, ENOMEM, "out of memory");
  /* Serialise before touching the disk: nothing below can fail on input.  */
  json = za_config_dump (r->config, &len);
  if (!json)
    return za_err_set (err, ENOMEM, "out of memory serialising config.json");
  if (reject_symlink (bundle_dir, err) < 0)
    return -1;
  if (stat (bundle_dir, &st) < 0)
    {
      if (errno != ENOENT)
        return za_err_set (err, errno, "stat `%s`: %s", bundle_dir, strerror (errno));
      if (za_mkdir_p (dirname (parent_copy), 0755, err) < 0)
        return -1;
      if (mkdir (bundle_dir, 0700) < 0)
        return za_err_set (err, errno, "failed to create bundle directory `%s`: %s", bundle_dir, strerror (errno));
      created = true;
    }
  else if (!S_ISDIR (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "bundle path `%s` exists and is not a directory", bundle_dir);

  dfd = open (bundle_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    {
      za_err_set (err, errno, "open bundle directory `%s`: %s", bundle_dir, strerror (errno));
      goto rollback;
    }
  if (!created)
    {
      static const char *const temps[] = { "config.json", "resolv.conf", NULL };
      za_remove_stale_temps_at (dfd, temps, &start);
    }
  if (!r->rootfs_real)
    {
      if (fstatat (dfd, "rootfs", &st, AT_SYMLINK_NOFOLLOW) == 0)
        {
          if (!S_ISDIR (st.st_mode))
            {
              za_err_set (err, ZA_EINPUT, "`%s/rootfs` exists and is not a directory", bundle_dir);
              goto rollback;
            }
        }
      else if (mkdirat (dfd, "rootfs", 0755) < 0)
        {
          za_err_set (err, errno, "failed to create rootfs directory: %s", strerror (errno));
          goto rollback;
        }
    }
  if (r->resolv_conf)
    {
      struct za_err *e = NULL;
      if (za_read_file_at (dfd, "resolv.conf", 1 << 20, &old_resolv, &old_resolv_len, &e) == 0)
        had_resolv = true;
      za_err_free (&e);
      if (za_write_file_atomic_at (dfd, "resolv.conf", r->resolv_conf, strlen (r->resolv_conf), 0644, err) < 0)
        {
          za_err_wrap (err, "failed to write resolv.conf to bundle at %s/resolv.conf", bundle_dir);
          goto rollback;
        }
      wrote_resolv = true;
    }
  /* config.json is the commit point.  */
  if (za_write_file_atomic_at (dfd, "config.json", json, len, 0600, err) < 0)
    {
      za_err_wrap (err, "failed to write config.json");
      goto rollback;
    }
  /* A resolv.conf of an earlier build that the new config no longer
     mounts would only mislead.  */
  if (!r->resolv_conf)
    unlinkat (dfd, "resolv.conf", 0);
  return 0;

rollback:
  if (wrote_resolv)
    {
      struct za_err *e = NULL;
      if (had_resolv)
        za_write_file_atomic_at (dfd, "resolv.conf", old_resolv, old_resolv_len, 0644, &e);
      else
        unlinkat (dfd, "resolv.conf", 0);
      za_err_free (&e);
    }
  if (created)
    {
      struct za_err *e = NULL;
      za_rm_rf_at (AT_FDCWD, bundle_dir, &e);
      za_err_free (&e);
    }
  return -1;
}

int
za_bundle_cleanup (const char *bundle_dir, struct za_err **err)
{
  struct stat st;
  cleanup_close int dfd = -1;
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  bool empty = true;

  if (lstat (bundle_dir, &st) < 0)
    {
      if (errno == ENOENT)
        return 0; /* nothing to remove */
      return za_err_set (err, errno, "stat `%s`: %s", bundle_dir, strerror (errno));
    }
  if (S_ISLNK (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "bundle directory `%s` is a symlink; refusing to remove it", bundle_dir);
  if (!S_ISDIR (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is not a directory", bundle_dir);
  dfd = open (bundle_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return za_err_set (err, errno, "open `%s`: %s", bundle_dir, strerror (errno));
  if (faccessat (dfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    {
      int dfd2 = dup (dfd);
      d = dfd2 >= 0 ? fdopendir (dfd2) : NULL;
      if (!d)
        {
          /* Fail closed: a directory we cannot list is not "empty".  */
          int e = errno;
          if (dfd2 >= 0)
            close (dfd2);
          return za_err_set (err, e, "open `%s`: %s", bundle_dir, strerror (e));
        }
      while ((de = readdir (d)))
        if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
          empty = false;
      if (!empty)
        return za_err_set (err, ZA_EINPUT,
                           "`%s` does not look like a bundle (no config.json); refusing to remove it",
                           bundle_dir);
    }
  if (za_rm_rf_at (AT_FDCWD, bundle_dir, err) < 0)
    return za_err_wrap (err, "failed to remove bundle directory %s", bundle_dir);
  return 0;
}
