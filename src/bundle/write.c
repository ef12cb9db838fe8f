#define _GNU_SOURCE
#include "bundle/write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/safepath.h"

char *
za_default_bundle_dir (const char *id)
{
  cleanup_free char *data = za_data_dir ();
  char *out = NULL;
  if (!data || asprintf (&out, "%s/bundles/%s", data, id) < 0)
    return NULL;
  return out;
}

/* A directory zagent created, or adopted while it was empty, carries this
   mark: an extended attribute on the directory, so that the bundle's
   listing stays config.json, resolv.conf, rootfs; or, where the file
   system has no user xattrs, a file of this name.  Only the directory's
   owner can set either, and we only trust directories we own.  */
#define MARKER_XATTR "user.zagent.bundle"
#define MARKER_FILE ".zagent-bundle"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static bool
has_marker (int dfd)
{
  struct stat st;
  if (fgetxattr (dfd, MARKER_XATTR, NULL, 0) >= 0)
    return true;
  return fstatat (dfd, MARKER_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode);
}

static int
set_marker (int dfd, const char *shown, struct za_err **err)
{
  cleanup_close int fd = -1;
  if (fsetxattr (dfd, MARKER_XATTR, "1", 1, 0) == 0)
    return 0;
  if (errno != ENOTSUP)
    return za_err_set (err, errno, "mark `%s` as a zagent bundle: %s", shown, strerror (errno));
  fd = openat (dfd, MARKER_FILE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
  if (fd < 0)
    return za_err_set (err, errno, "create `%s/%s`: %s", shown, MARKER_FILE, strerror (errno));
  return 0;
}

static void
clear_marker (int dfd)
{
  fremovexattr (dfd, MARKER_XATTR);
  unlinkat (dfd, MARKER_FILE, 0);
}


/* What a bundle made by zagent holds: config.json, resolv.conf, rootfs,
   the marker, what `run` adds (logs/, init.pid and the runtime's
   .init.pid while it writes that) and our temp files.  */
static bool
known_entry (const char *name)
{
  static const char *const names[]
      = { "config.json", "resolv.conf", "rootfs", "logs", "init.pid", ".init.pid", MARKER_FILE, NULL };
  for (const char *const *n = names; *n; n++)
    if (strcmp (name, *n) == 0)
      return true;
  return za_is_temp_of (name, "config.json") || za_is_temp_of (name, "resolv.conf");
}

enum bundle_kind
{
  BUNDLE_MARKED,  /* zagent created or adopted it */
  BUNDLE_EMPTY,   /* nothing in it */
  BUNDLE_LEGACY,  /* no marker, only known entries: made before markers, or a prepared rootfs/ */
  BUNDLE_FOREIGN, /* something zagent did not put there */
};

/* What the directory open on DFD is.  For BUNDLE_FOREIGN the first
   unknown name goes to FOREIGN.  */
static int
classify (int dfd, const char *shown, enum bundle_kind *kind, char *foreign, size_t n, struct za_err **err)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd2;
  bool empty = true;

  if (has_marker (dfd))
    {
      *kind = BUNDLE_MARKED;
      return 0;
    }
  /* A fresh open description: listing through DFD itself would move the
     offset of the fd the caller keeps using.  */
  fd2 = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  d = fd2 >= 0 ? fdopendir (fd2) : NULL;
  if (!d)
    {
      /* Fail closed: a directory we cannot list is not "empty".  */
      int e = errno;
      if (fd2 >= 0)
        close (fd2);
      return za_err_set (err, e, "open `%s`: %s", shown, strerror (e));
    }
  *kind = BUNDLE_LEGACY;
  errno = 0;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      empty = false;
      if (!known_entry (de->d_name))
        {
          snprintf (foreign, n, "%s", de->d_name);
          *kind = BUNDLE_FOREIGN;
          return 0;
        }
    }
  if (errno)
    return za_err_set (err, errno, "read `%s`: %s", shown, strerror (errno));
  if (empty)
    *kind = BUNDLE_EMPTY;
  return 0;
}

/* PARENT/NAME is still the directory open on DFD (and not something the
   directory's owner renamed there since).  */
static bool
same_dir (int parent, const char *name, int dfd)
{
  struct stat a, b;
  return fstatat (parent, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstat (dfd, &b) == 0 && S_ISDIR (a.st_mode)
         && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Open PARENT/NAME (BUNDLE_DIR) as a directory, never through a symlink;
   with CREATED, make it (0700) when missing and say so.  */
static int
open_bundle_at (int parent, const char *name, const char *bundle_dir, bool *created, const char *verb,
                struct za_err **err)
{
  struct stat st;
  int fd = openat (parent, name, DIR_FLAGS);
  if (fd < 0 && errno == ENOENT && created)
    {
      if (mkdirat (parent, name, 0700) == 0)
        *created = true;
      else if (errno != EEXIST)
        return za_err_set (err, errno, "failed to create bundle directory `%s`: %s", bundle_dir, strerror (errno));
      fd = openat (parent, name, DIR_FLAGS);
    }
  if (fd >= 0)
    return fd;
  if (errno != ELOOP && errno != ENOTDIR)
    return za_err_set (err, errno, "open bundle directory `%s`: %s", bundle_dir, strerror (errno));
  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "bundle directory `%s` is a symlink; refusing to %s it", bundle_dir, verb);
  return za_err_set (err, ZA_EINPUT, "bundle path `%s` exists and is not a directory", bundle_dir);
}

/* BUNDLE/resolv.conf as it was before the write, to put back if the write
   fails.  Its content is read only from a regular file opened without
   following symlinks; a symlink is kept as a symlink (its target is
   never opened), so a rollback cannot copy a file the link points at
   into the bundle.  */
struct saved_file
{
  enum { SAVED_NONE, SAVED_FILE, SAVED_LINK } kind;
  char *data; /* owned: the content, or the link's target */
  size_t len;
  mode_t mode;
};

static int
save_file_at (int dfd, const char *name, const char *shown, struct saved_file *out, struct za_err **err)
{
  cleanup_close int fd = -1;
  struct stat st, st2;
  *out = (struct saved_file) { SAVED_NONE, NULL, 0, 0 };
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : za_err_set (err, errno, "stat `%s`: %s", shown, strerror (errno));
  if (S_ISLNK (st.st_mode))
    {
      size_t cap = (size_t) st.st_size + 2;
      ssize_t n;
      out->data = malloc (cap);
      if (!out->data)
        return za_err_set (err, ENOMEM, "out of memory");
      n = readlinkat (dfd, name, out->data, cap);
      if (n < 0 || (size_t) n >= cap)
        return za_err_set (err, n < 0 ? errno : EAGAIN, "readlink `%s`: %s", shown,
                           strerror (n < 0 ? errno : EAGAIN));
      out->data[n] = '\0';
      out->len = (size_t) n;
      out->kind = SAVED_LINK;
      return 0;
    }
  if (!S_ISREG (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is not a regular file", shown);
  fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return za_err_set (err, errno, "open `%s`: %s", shown, strerror (errno));
  if (fstat (fd, &st2) < 0)
    return za_err_set (err, errno, "stat `%s`: %s", shown, strerror (errno));
  if (!S_ISREG (st2.st_mode) || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
    return za_err_set (err, EAGAIN, "`%s` changed while we read it", shown);
  if (za_read_fd (fd, shown, 1 << 20, &out->data, &out->len, err) < 0)
    return -1;
  out->mode = st2.st_mode & 07777;
  out->kind = SAVED_FILE;
  return 0;
}

/* Put DFD/NAME back as SAVED describes it.  Best effort.  */
static void
restore_file_at (int dfd, const char *name, const struct saved_file *saved)
{
  struct za_err *e = NULL;
  char tmp[NAME_MAX + 1];
  switch (saved->kind)
    {
    case SAVED_NONE:
      unlinkat (dfd, name, 0);
      break;
    case SAVED_FILE:
      za_write_file_atomic_at (dfd, name, saved->data, saved->len, saved->mode, &e);
      break;
    case SAVED_LINK:
      /* A temp name of the pattern the bundle checks accept, then rename
         over NAME: the link comes back whole or not at all.  */
      snprintf (tmp, sizeof tmp, ".%s.%08x.tmp", name, (unsigned) getpid () ^ 0x5a5a5a5au);
      unlinkat (dfd, tmp, 0);
      if (symlinkat (saved->data, dfd, tmp) == 0 && renameat (dfd, tmp, dfd, name) < 0)
        unlinkat (dfd, tmp, 0);
      break;
    }
  za_err_free (&e);
}

static void
saved_file_clear (struct saved_file *s)
{
  free (s->data);
  s->data = NULL;
}

int
za_bundle_write (const char *bundle_dir, const struct za_build_result *r, struct za_err **err)
{
  cleanup_close int parent = -1, dfd = -1;
  cleanup_free char *name = NULL;
  cleanup_free char *json = NULL;
  struct saved_file old_resolv = { SAVED_NONE, NULL, 0, 0 };
  bool created = false, adopted = false, wrote_resolv = false;
  size_t len = 0;
  struct stat st;
  struct timespec start;

  /* Temp files last written before this moment, by a writer that is gone,
     are leftovers of a killed build.  */
  clock_gettime (CLOCK_REALTIME, &start);
  /* Serialise before touching the disk: nothing below can fail on input.  */
  json = za_config_dump (r->config, &len);
  if (!json)
    return za_err_set (err, ENOMEM, "out of memory serialising config.json");

  /* Every directory down to the bundle's parent is opened without
     following symlinks and must be changeable only by us or root: a
     component another user can swap would redirect what we write (and
     later remove) into a directory of their choosing.  */
  parent = za_safepath_open_parent (bundle_dir, ZA_SAFEPATH_CREATE | ZA_SAFEPATH_TRUSTED, &name, err);
  if (parent < 0)
    return -1;
  dfd = open_bundle_at (parent, name, bundle_dir, &created, "follow", err);
  if (dfd < 0)
    return -1;
  /* The runtime reads BUNDLE/config.json by path: in a directory another
     user owns or may write to, they could rename their own config.json
     over ours before it does.  */
  if (za_safepath_check_private (dfd, bundle_dir, err) < 0)
    goto rollback;
  if (created)
    {
      if (set_marker (dfd, bundle_dir, err) < 0)
        goto rollback;
    }
  else
    {
      static const char *const temps[] = { "config.json", "resolv.conf", NULL };
      enum bundle_kind kind;
      char foreign[NAME_MAX + 1] = "";
      if (classify (dfd, bundle_dir, &kind, foreign, sizeof foreign, err) < 0)
        return -1;
      /* A bundle's teardown removes the whole directory: never write one
         into a directory that holds anything zagent did not put there.  */
      if (kind == BUNDLE_FOREIGN)
        return za_err_set (err, ZA_EINPUT,
                           "`%s` is not empty and not a zagent bundle (it holds `%s`); refusing to write into it",
                           bundle_dir, foreign);
      if (kind == BUNDLE_EMPTY)
        {
          if (set_marker (dfd, bundle_dir, err) < 0)
            return -1;
          adopted = true;
        }
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
      if (save_file_at (dfd, "resolv.conf", "resolv.conf", &old_resolv, err) < 0)
        {
          za_err_wrap (err, "bundle `%s`", bundle_dir);
          goto rollback;
        }
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
  saved_file_clear (&old_resolv);
  return 0;

rollback:
  if (wrote_resolv)
    restore_file_at (dfd, "resolv.conf", &old_resolv);
  saved_file_clear (&old_resolv);
  /* A directory we failed to make a bundle of is the user's again: what
     they put in it later must not go with a cleanup.  */
  if (adopted)
    clear_marker (dfd);
  if (created && same_dir (parent, name, dfd))
    {
      struct za_err *e = NULL;
      za_rm_rf_at (parent, name, &e);
      za_err_free (&e);
    }
  return -1;
}

int
za_bundle_cleanup (const char *bundle_dir, struct za_err **err)
{
  cleanup_close int parent = -1, dfd = -1;
  cleanup_free char *name = NULL;
  struct za_err *e = NULL;
  enum bundle_kind kind;
  char foreign[NAME_MAX + 1] = "";
  struct stat st;

  parent = za_safepath_open_parent (bundle_dir, ZA_SAFEPATH_TRUSTED, &name, &e);
  if (parent < 0)
    {
      if (e && e->code == ENOENT && !e->next)
        {
          za_err_free (&e);
          return 0; /* nothing to remove */
        }
      za_err_append (err, &e);
      return -1;
    }
  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return za_err_set (err, errno, "stat `%s`: %s", bundle_dir, strerror (errno));
    }
  if (S_ISLNK (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "bundle directory `%s` is a symlink; refusing to remove it", bundle_dir);
  if (!S_ISDIR (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is not a directory", bundle_dir);
  dfd = open_bundle_at (parent, name, bundle_dir, NULL, "remove", err);
  if (dfd < 0)
    return -1;
  if (za_safepath_check_private (dfd, bundle_dir, err) < 0)
    return -1;
  if (classify (dfd, bundle_dir, &kind, foreign, sizeof foreign, err) < 0)
    return -1;
  /* Without our marker, only a directory that holds nothing but a
     bundle's files, config.json among them, is one: what bundles written
     before the marker look like.  */
  if (kind == BUNDLE_FOREIGN)
    return za_err_set (err, ZA_EINPUT,
                       "`%s` does not look like a bundle (no zagent marker, and besides config.json, rootfs and logs it holds `%s`); refusing to remove it",
                       bundle_dir, foreign);
  if (kind == BUNDLE_LEGACY
      && !(fstatat (dfd, "config.json", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode)))
    return za_err_set (err, ZA_EINPUT,
                       "`%s` does not look like a bundle (no zagent marker and no config.json); refusing to remove it",
                       bundle_dir);
  /* Removal goes through the parent's fd, by a name that must still be
     the directory we checked.  */
  if (!same_dir (parent, name, dfd))
    return za_err_set (err, EAGAIN, "`%s` changed while we removed it", bundle_dir);
  if (za_rm_rf_at (parent, name, err) < 0)
    return za_err_wrap (err, "failed to remove bundle directory %s", bundle_dir);
  return 0;
}

int
za_bundle_open_log (const char *bundle_dir, const char *name, struct za_err **err)
{
  cleanup_close int dfd = -1, lfd = -1, fd = -1;
  cleanup_free char *logs = NULL;
  struct stat st;
  int fl;

  if (!name || !*name || strchr (name, '/') || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return za_err_set (err, ZA_EINPUT, "log name `%s` is not a file name", name ? name : "");
  if (asprintf (&logs, "%s/logs", bundle_dir) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  dfd = za_safepath_open_dir (bundle_dir, ZA_SAFEPATH_TRUSTED, err);
  if (dfd < 0)
    return -1;
  if (za_safepath_check_private (dfd, bundle_dir, err) < 0)
    return -1;
  if (mkdirat (dfd, "logs", 0700) < 0 && errno != EEXIST)
    return za_err_set (err, errno, "mkdir `%s`: %s", logs, strerror (errno));
  lfd = openat (dfd, "logs", DIR_FLAGS);
  if (lfd < 0)
    {
      int e = errno;
      if (fstatat (dfd, "logs", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        return za_err_set (err, ZA_EINPUT, "`%s` is a symlink; refusing to follow it", logs);
      return za_err_set (err, e == ENOTDIR ? ZA_EINPUT : e, "open `%s`: %s", logs, strerror (e));
    }
  if (za_safepath_check_private (lfd, logs, err) < 0)
    return -1;
  /* O_NONBLOCK: a FIFO planted as the log would block the open until
     someone reads it (and then is refused below as not a regular file).  */
  fd = openat (lfd, name, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int e = errno;
      if (fstatat (lfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        return za_err_set (err, ZA_EINPUT, "`%s/%s` is a symlink; refusing to follow it", logs, name);
      return za_err_set (err, (e == ENXIO || e == EISDIR) ? ZA_EINPUT : e, "open `%s/%s`: %s", logs, name,
                         strerror (e));
    }
  if (fstat (fd, &st) < 0)
    return za_err_set (err, errno, "stat `%s/%s`: %s", logs, name, strerror (errno));
  /* A second link would let the log's writes land in a file elsewhere.  */
  if (!S_ISREG (st.st_mode) || st.st_nlink != 1)
    return za_err_set (err, ZA_EINPUT, "`%s/%s` is not a regular file with a single link; refusing to write to it",
                       logs, name);
  fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return za_err_set (err, errno, "fcntl `%s/%s`: %s", logs, name, strerror (errno));
  return steal_fd (&fd);
}
