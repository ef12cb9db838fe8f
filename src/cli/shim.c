/* zagent-runtime: an OCI runtime shim.  It takes the runtime command line
   that Docker, podman, containerd and CRI-O use, and on `create` injects
   the CDI devices named in the bundle's `cdi.k8s.io/...` annotations into
   config.json before handing the very same command line to the real
   runtime (runc, crun or youki) — the way vendor runtimes such as
   nvidia-container-runtime plug in.  Everything else passes through.  */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zagent.h"

/* Global options of runc/crun/youki that take a value as the next word.  */
static bool
global_takes_value (const char *a)
{
  static const char *const v[] = { "--root", "--log", "--log-format", "--criu", "--rootless", "--cgroup-manager", NULL };
  for (int i = 0; v[i]; i++)
    if (!strcmp (a, v[i]))
      return true;
  return false;
}

/* The real path of the first executable NAME on $PATH (the default PATH
   when unset) that is not EXCLUDE (a real path, or NULL); NULL if none.  */
static char *
path_lookup (const char *name, const char *exclude)
{
  const char *path = getenv ("PATH");
  char *copy = strdup (path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  char *save = NULL, *found = NULL;
  for (char *d = copy ? strtok_r (copy, ":", &save) : NULL; d && !found; d = strtok_r (NULL, ":", &save))
    {
      char *p = NULL, *real;
      if (asprintf (&p, "%s/%s", d, name) < 0)
        break;
      if (access (p, X_OK) == 0 && (real = realpath (p, NULL)))
        {
          if (!exclude || strcmp (real, exclude))
            found = real;
          else
            free (real);
        }
      free (p);
    }
  free (copy);
  return found;
}

/* Set in the environment of the real runtime: a shim that finds it set
   was started, directly or not, by another shim.  */
#define SHIM_MARKER "ZAGENT_SHIM_DEPTH"

/* The real runtime: $ZAGENT_SHIM_RUNTIME, else runc, crun, youki on PATH
   (never this program itself).  NULL with a message in WHY when there
   is none, or when the choice would run this shim again: exec'ing
   ourselves would loop forever, with the container engine waiting.  */
static char *
real_runtime (char *why, size_t wlen)
{
  const char *env = getenv ("ZAGENT_SHIM_RUNTIME");
  const char *names[] = { "runc", "crun", "youki", NULL };
  char *self = realpath ("/proc/self/exe", NULL);
  char *rt = NULL;
  struct stat me, st;

  /* Another shim ran us: ZAGENT_SHIM_RUNTIME of the two points at each
     other (or at a copy of the shim), which the inode test below cannot
     see.  */
  if (getenv (SHIM_MARKER))
    {
      snprintf (why, wlen, "started by zagent-runtime (" SHIM_MARKER " is set): ZAGENT_SHIM_RUNTIME leads back to "
                           "a shim; set it to a real OCI runtime such as runc");
      goto fail;
    }
  if (env && *env)
    rt = strdup (env);
  else
    for (int i = 0; names[i] && !rt; i++)
      rt = path_lookup (names[i], self);
  if (!rt)
    {
      snprintf (why, wlen, "no OCI runtime found (runc, crun, youki); set ZAGENT_SHIM_RUNTIME");
      goto fail;
    }
  /* The same file as this program, by any name: the path itself, a
     symlink or a hard link to it.  */
  if (stat ("/proc/self/exe", &me) == 0 && stat (rt, &st) == 0 && me.st_dev == st.st_dev
      && me.st_ino == st.st_ino)
    {
      if (env && *env)
        snprintf (why, wlen, "ZAGENT_SHIM_RUNTIME names zagent-runtime itself; set it to a real OCI runtime "
                             "such as runc");
      else
        snprintf (why, wlen, "the runtime found on PATH, %s, is zagent-runtime itself; set ZAGENT_SHIM_RUNTIME",
                  rt);
      goto fail;
    }
  free (self);
  return rt;
fail:
  free (rt);
  free (self);
  return NULL;
}

int
main (int argc, char **argv)
{
  int i = 1;
  const char *cmd = NULL, *bundle = ".";
  char why[PATH_MAX + 160];
  char *rt = NULL;

  if (argc == 2 && (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h")))
    {
      printf ("Usage: zagent-runtime [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
              "An OCI runtime shim: on `create`, injects the CDI devices named in the bundle's\n"
              "cdi.k8s.io/... annotations, then runs the real runtime ($ZAGENT_SHIM_RUNTIME, else\n"
              "runc, crun or youki) with the same arguments. Spec dirs: $CDI_SPEC_DIRS, else\n"
              "/etc/cdi and /var/run/cdi.\n");
      return 0;
    }
  for (; i < argc; i++)
    {
      if (argv[i][0] != '-')
        {
          cmd = argv[i];
          break;
        }
      if (global_takes_value (argv[i]))
        i++;
    }
  /* Before anything else: a shim that would exec itself must not first
     rewrite the bundle.  */
  rt = real_runtime (why, sizeof why);
  if (!rt)
    {
      fprintf (stderr, "zagent-runtime: %s\n", why);
      return 1;
    }
  if (setenv (SHIM_MARKER, "1", 1) < 0)
    {
      fprintf (stderr, "zagent-runtime: %s\n", strerror (errno));
      free (rt);
      return 1;
    }
  if (cmd && !strcmp (cmd, "create"))
    {
      zagent_error *err = NULL;
      for (int k = i + 1; k < argc; k++)
        {
          if ((!strcmp (argv[k], "--bundle") || !strcmp (argv[k], "-b")) && k + 1 < argc)
            bundle = argv[++k];
          else if (!strncmp (argv[k], "--bundle=", 9))
            bundle = argv[k] + 9;
          else if (!strncmp (argv[k], "-b=", 3))
            bundle = argv[k] + 3;
        }
      /* The same injection as `zagent cdi inject`, with the devices of
         the annotations; spec dirs from $CDI_SPEC_DIRS or the defaults.  */
      if (zagent_cdi_inject_bundle (bundle, NULL, 0, NULL, 0, ZAGENT_CDI_INJECT_ANNOTATIONS, NULL, &err) < 0)
        {
          for (const zagent_error *e = err; e; e = zagent_error_next (e))
            {
              char *s = zagent_error_format (e);
              fprintf (stderr, "zagent-runtime: %s\n", s ? s : zagent_error_message (e));
              free (s);
            }
          zagent_error_free (&err);
          free (rt);
          return 1;
        }
    }
  argv[0] = rt;
  execv (rt, argv);
  fprintf (stderr, "zagent-runtime: cannot run %s: %s\n", rt, strerror (errno));
  free (rt);
  return 1;
}
