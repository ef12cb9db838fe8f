#define _GNU_SOURCE
#include "paths.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZA_ROOT_DATA_DIR "/var/lib/zlayer"
#define ZA_ROOT_RUN_DIR "/var/run/zlayer"

static const char *
abs_env (const char *name)
{
  const char *v = getenv (name);
  return v && v[0] == '/' ? v : NULL;
}

/* A directory we may write into (effective ids, as the writes will be).  */
static bool
writable_dir (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISDIR (st.st_mode) && faccessat (AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

/* A directory that is ours alone, reached without a symlink: what the XDG
   base-dir spec demands of $XDG_RUNTIME_DIR, and what a dir under the
   world-writable /tmp must be before we trust it (someone else may have
   made it first).  */
static bool
private_dir (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0 && S_ISDIR (st.st_mode) && st.st_uid == geteuid () && (st.st_mode & 022) == 0;
}

static char *
join (const char *dir, const char *name)
{
  char *out = NULL;
  return asprintf (&out, "%s/%s", dir, name) < 0 ? NULL : out;
}

/* ${TMPDIR:-/tmp}/zlayer-<uid>, created 0700: the last resort of a user
   whose $HOME is not writable (uid 65534's /nonexistent) and who has no
   $XDG_DATA_HOME, as podman's /tmp/podman-run-<uid>.  NULL when it is
   not ours.  */
static char *
private_tmp_dir (void)
{
  const char *tmp = abs_env ("TMPDIR");
  char *out = NULL;
  if (asprintf (&out, "%s/zlayer-%u", tmp ? tmp : "/tmp", (unsigned) geteuid ()) < 0)
    return NULL;
  if ((mkdir (out, 0700) == 0 || errno == EEXIST) && private_dir (out))
    return out;
  free (out);
  return NULL;
}

char *
za_platform_data_dir (void)
{
  const char *home = abs_env ("HOME"), *xdg = abs_env ("XDG_DATA_HOME");
  char *out;
  if (geteuid () == 0)
    return strdup (ZA_ROOT_DATA_DIR);
  if (home)
    {
      out = join (home, ".zlayer");
      if (!out || writable_dir (out) || (access (out, F_OK) < 0 && writable_dir (home)))
        return out;
      free (out);
    }
  if (xdg)
    return join (xdg, "zlayer");
  out = private_tmp_dir ();
  /* Nothing usable: the seed's default, so the error names a real path.  */
  return out ? out : strdup (ZA_ROOT_DATA_DIR);
}

char *
za_data_dir (void)
{
  const char *d = getenv ("ZLAYER_DATA_DIR");
  if (d && *d)
    return strdup (d);
  return za_platform_data_dir ();
}

char *
za_run_dir (void)
{
  const char *d = getenv ("ZLAYER_DATA_DIR"), *xrd = abs_env ("XDG_RUNTIME_DIR");
  cleanup_free char *data = NULL;
  if (d && *d)
    return join (d, "run");
  if (geteuid () == 0)
    return strdup (ZA_ROOT_RUN_DIR);
  if (xrd && private_dir (xrd))
    return join (xrd, "zlayer");
  data = za_platform_data_dir ();
  return data ? join (data, "run") : NULL;
}
