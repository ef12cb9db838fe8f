/* zagent-runtime: an OCI runtime shim.  It takes the runtime command line
   that Docker, podman, containerd and CRI-O use, and on `create` injects
   the CDI devices named in the bundle's `cdi.k8s.io/...` annotations into
   config.json before handing the very same command line to the real
   runtime (runc, crun or youki) — the way vendor runtimes such as
   nvidia-container-runtime plug in.  Everything else passes through.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdi/cdi.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define CDI_ANNOTATION_PREFIX "cdi.k8s.io/"

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
  cleanup_free char *self = realpath ("/proc/self/exe", NULL);
  cleanup_free char *rt = NULL;
  struct stat me, st;

  /* Another shim ran us: ZAGENT_SHIM_RUNTIME of the two points at each
     other (or at a copy of the shim), which the inode test below cannot
     see.  */
  if (getenv (SHIM_MARKER))
    {
      snprintf (why, wlen, "started by zagent-runtime (" SHIM_MARKER " is set): ZAGENT_SHIM_RUNTIME leads back to "
                           "a shim; set it to a real OCI runtime such as runc");
      return NULL;
    }
  if (env && *env)
    rt = strdup (env);
  else
    for (int i = 0; names[i] && !rt; i++)
      rt = za_path_lookup (names[i], self);
  if (!rt)
    {
      snprintf (why, wlen, "no OCI runtime found (runc, crun, youki); set ZAGENT_SHIM_RUNTIME");
      return NULL;
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
      return NULL;
    }
  return steal_pointer (&rt);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Device names from the annotations, keys in sorted order (Go's map order
   is random; ours is stable).  */
static int
annotation_devices (json_t *cfg, struct za_strv *out, struct za_err **err)
{
  json_t *ann = json_object_get (cfg, "annotations"), *v;
  const char *k;
  cleanup_strv struct za_strv keys = { 0 };
  if (!json_is_object (ann))
    return 0;
  json_object_foreach (ann, k, v)
    if (!strncmp (k, CDI_ANNOTATION_PREFIX, strlen (CDI_ANNOTATION_PREFIX)) && za_strv_push (&keys, k) < 0)
      return za_err_set (err, ENOMEM, "out of memory");
  if (keys.n)
    qsort (keys.v, keys.n, sizeof *keys.v, cmp_str);
  for (size_t i = 0; i < keys.n; i++)
    {
      const char *val = json_string_value (json_object_get (ann, keys.v[i]));
      cleanup_free char *copy = val ? strdup (val) : NULL;
      char *save = NULL;
      if (!copy)
        return za_err_set (err, ZA_EINPUT, "annotation %s: not a string", keys.v[i]);
      for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
        {
          char buf[512];
          const char *why = za_cdi_qualified_problem (t, buf, sizeof buf);
          if (why)
            return za_err_set (err, ZA_EINPUT, "annotation %s: invalid CDI device name \"%s\": %s", keys.v[i], t, why);
          if (!za_strv_contains (out, t) && za_strv_push (out, t) < 0)
            return za_err_set (err, ENOMEM, "out of memory");
        }
    }
  return 0;
}

static int
inject (const char *bundle, struct za_err **err)
{
  cleanup_close int dfd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *data = NULL, *out = NULL;
  cleanup_strv struct za_strv names = { 0 };
  struct za_cdi_registry *reg = NULL;
  struct za_cdi_plan plan = { 0 };
  struct za_host host = za_host_default ();
  struct stat st;
  json_error_t jerr;
  size_t len;
  json_t *cfg;
  int ret = -1;

  if (dfd < 0)
    return za_err_set (err, errno, "open bundle `%s`: %s", bundle, strerror (errno));
  if (za_read_file_at (dfd, "config.json", 64u << 20, &data, &len, err) < 0)
    return -1;
  cfg = json_loadb (data, len, 0, &jerr);
  if (!cfg)
    return za_err_set (err, ZA_EINPUT, "%s/config.json:%d:%d: %s", bundle, jerr.line, jerr.column, jerr.text);
  if (annotation_devices (cfg, &names, err) < 0)
    goto out;
  if (names.n == 0)
    {
      ret = 0;
      goto out;
    }
  if (za_cdi_registry_load (NULL, 0, &reg, err) < 0
      || za_cdi_resolve (reg, (const char *const *) names.v, names.n, &plan, err) < 0
      || za_cdi_apply (cfg, &plan, &host, err) < 0)
    goto out;
  out = json_dumps (cfg, JSON_INDENT (2));
  if (!out)
    {
      za_err_set (err, ENOMEM, "out of memory");
      goto out;
    }
  if (fstatat (dfd, "config.json", &st, 0) < 0)
    st.st_mode = 0600;
  ret = za_write_file_atomic_at (dfd, "config.json", out, strlen (out), st.st_mode & 07777, err);
out:
  za_cdi_plan_clear (&plan);
  za_cdi_registry_free (reg);
  json_decref (cfg);
  return ret;
}

int
main (int argc, char **argv)
{
  int i = 1;
  const char *cmd = NULL, *bundle = ".";
  char why[PATH_MAX + 160];
  cleanup_free char *rt = NULL;

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
      return 1;
    }
  if (cmd && !strcmp (cmd, "create"))
    {
      struct za_err *err = NULL;
      for (int k = i + 1; k < argc; k++)
        {
          if ((!strcmp (argv[k], "--bundle") || !strcmp (argv[k], "-b")) && k + 1 < argc)
            bundle = argv[++k];
          else if (!strncmp (argv[k], "--bundle=", 9))
            bundle = argv[k] + 9;
          else if (!strncmp (argv[k], "-b=", 3))
            bundle = argv[k] + 3;
        }
      if (inject (bundle, &err) < 0)
        {
          for (struct za_err *e = err; e; e = e->next)
            {
              char *s = za_err_format (e);
              fprintf (stderr, "zagent-runtime: %s\n", s ? s : e->msg);
              free (s);
            }
          za_err_free (&err);
          return 1;
        }
    }
  argv[0] = rt;
  execv (rt, argv);
  fprintf (stderr, "zagent-runtime: cannot run %s: %s\n", rt, strerror (errno));
  return 1;
}
