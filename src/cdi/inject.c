/* CDI injection into an existing bundle's config.json: the one function
   behind `zagent cdi inject` and the zagent-runtime shim.  The bundle and
   its config.json are untrusted input (a container engine, another user,
   a half-written directory): nothing here follows a symlink, and the file
   is replaced whole or not at all.  */
#define _GNU_SOURCE
#include "cdi/cdi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strv.h"

#define CONFIG_MAX (64u << 20)

/* The last component of PATH names a directory entry (not "", "." or
   ".."), so it can be opened from its parent with O_NOFOLLOW.  */
static bool
ends_in_name (const char *path)
{
  size_t len = strlen (path);
  const char *last;
  while (len > 0 && path[len - 1] == '/')
    len--;
  last = path + len;
  while (last > path && last[-1] != '/')
    last--;
  len -= (size_t) (last - path);
  return len > 0 && !(len == 1 && last[0] == '.') && !(len == 2 && last[0] == '.' && last[1] == '.');
}

/* A missing bundle, or one that is not a directory, is the caller's
   mistake: turn those errors of E into input errors.  */
static void
input_if_missing (struct za_err *e)
{
  for (; e; e = e->next)
    if (e->code == ENOENT || e->code == ENOTDIR || e->code == ELOOP)
      e->code = ZA_EINPUT;
}

/* The directory BUNDLE, reached without following a symlink on the way,
   and private to us: the runtime later reads config.json by path, so
   nobody else may be able to rename a file of theirs over it.  The
   parents are not required to be root's or ours (ZA_SAFEPATH_TRUSTED):
   inside a rootless engine's user namespace `/` itself belongs to the
   overflow uid, and what we write goes through the private directory's
   fd whatever its parents do.  */
static int
open_bundle (const char *bundle, struct za_err **err)
{
  cleanup_close int parent = -1, dfd = -1;
  cleanup_free char *name = NULL;
  struct za_err *e = NULL;
  struct stat st;

  if (!ends_in_name (bundle))
    dfd = za_safepath_open_dir (bundle, 0, &e);
  else
    {
      parent = za_safepath_open_parent (bundle, 0, &name, &e);
      if (parent >= 0)
        {
          if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
            return za_err_set (err, ZA_EINPUT, "bundle directory `%s` is a symlink; refusing to follow it",
                               bundle);
          dfd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (dfd < 0)
            {
              int en = errno;
              return za_err_set (err, (en == ENOENT || en == ENOTDIR || en == ELOOP) ? ZA_EINPUT : en,
                                 "open bundle `%s`: %s", bundle, strerror (en));
            }
        }
    }
  if (dfd < 0)
    {
      input_if_missing (e);
      za_err_append (err, &e);
      return -1;
    }
  if (za_safepath_check_private (dfd, bundle, err) < 0)
    return -1;
  return steal_fd (&dfd);
}

int
za_cdi_inject_bundle (const char *bundle, const char *const *names, size_t n, const char *const *dirs,
                      size_t ndirs, const struct za_cdi_request_opts *req, struct za_err **warnings,
                      struct za_err **err)
{
  cleanup_close int dfd = -1;
  cleanup_free char *data = NULL, *out = NULL;
  cleanup_strv struct za_strv all = { 0 };
  struct za_cdi_registry *reg = NULL;
  struct za_cdi_plan plan = { 0 };
  struct za_host host = za_host_default ();
  json_t *cfg = NULL;
  json_error_t jerr;
  struct stat st;
  size_t len = 0;
  int ret = -1;

  dfd = open_bundle (bundle, err);
  if (dfd < 0)
    return -1;
  if (fstatat (dfd, "config.json", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s/config.json` is a symlink; refusing to follow it", bundle);
  if (za_read_file_nofollow_at (dfd, "config.json", CONFIG_MAX, &data, &len, err) < 0)
    return -1;
  /* The mode to keep: the directory is private, so the file we read is
     the one this names.  */
  if (fstatat (dfd, "config.json", &st, AT_SYMLINK_NOFOLLOW) < 0)
    return za_err_set (err, errno, "stat `%s/config.json`: %s", bundle, strerror (errno));
  cfg = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!cfg)
    {
      struct za_mark m = { (unsigned) jerr.line, (unsigned) jerr.column };
      cleanup_free char *p = NULL;
      if (asprintf (&p, "%s/config.json", bundle) < 0)
        p = NULL;
      return za_err_set_at (err, p ? p : "config.json", &m, NULL, "invalid JSON: %s", jerr.text);
    }
  for (size_t i = 0; i < n; i++)
    {
      char buf[512];
      const char *p = za_cdi_qualified_problem (names[i], buf, sizeof buf);
      if (p)
        {
          za_err_set (err, ZA_EINPUT, "%s", p);
          goto done;
        }
      if (za_strv_push (&all, names[i]) < 0)
        {
          za_err_set (err, ENOMEM, "out of memory");
          goto done;
        }
    }
  if (req && za_cdi_requests (cfg, req, &all, warnings, err) < 0)
    goto done;
  if (all.n == 0)
    {
      ret = 0;
      goto done;
    }
  if (za_cdi_registry_load (dirs, ndirs, &reg, err) < 0)
    goto done;
  if (warnings)
    za_err_append (warnings, &reg->errors);
  /* Everything happens in memory; config.json is replaced atomically.  */
  if (za_cdi_resolve (reg, (const char *const *) all.v, all.n, &plan, err) < 0
      || za_cdi_apply (cfg, &plan, &host, err) < 0)
    goto done;
  out = json_dumps (cfg, JSON_INDENT (2));
  if (!out)
    {
      za_err_set (err, ENOMEM, "out of memory");
      goto done;
    }
  ret = za_write_file_atomic_at (dfd, "config.json", out, strlen (out), st.st_mode & 07777, err);
done:
  za_cdi_plan_clear (&plan);
  za_cdi_registry_free (reg);
  json_decref (cfg);
  return ret;
}
