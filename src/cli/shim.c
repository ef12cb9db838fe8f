/* zagent-runtime: an OCI runtime shim.  It takes the runtime command line
   that Docker, podman, containerd and CRI-O use, and on `create` injects
   the CDI devices the bundle's config.json requests (`cdi.k8s.io/...`
   annotations; NVIDIA_VISIBLE_DEVICES and the volume-mount list as
   nvidia-container-runtime reads them) before handing the very same
   command line to the real runtime (runc, crun or youki) — the way vendor
   runtimes plug in.  Everything else passes through.  Its settings come
   from a config file (docs/shim.md), since conmon drops the environment.
   Its own errors go to stderr, to the caller's --log file in the
   caller's --log-format (containerd reads the error from there), and to
   the configured log file.  */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* Where the shim's own messages go besides stderr.  */
struct shim_log
{
  int caller_fd;    /* --log FILE, or -1 */
  bool caller_json; /* --log-format json */
  int own_fd;       /* the config's log-file, or -1 (JSON lines) */
  int own_level;    /* ZAGENT_LOG_* */
};

static const char *const level_names[] = { "error", "warning", "info", "debug" };

/* S as the inside of a JSON string into B (at most LEN bytes, NUL
   included; truncated text keeps the line valid).  */
static void
json_escape (char *b, size_t len, const char *s)
{
  size_t o = 0;
  for (; *s && o + 7 < len; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        {
          b[o++] = '\\';
          b[o++] = (char) c;
        }
      else if (c < 0x20 || c == 0x7f)
        o += (size_t) snprintf (b + o, len - o, "\\u%04x", c);
      else
        b[o++] = (char) c;
    }
  b[o] = '\0';
}

/* One line for FD: runc's JSON line {"level","msg","time"} or its text
   line (logrus: time="…" level=… msg="…").  */
static void
log_line (int fd, bool json, int level, const char *msg)
{
  char when[64], esc[4096], line[4300];
  struct timespec ts;
  struct tm tm;
  int n;
  if (fd < 0)
    return;
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  n = (int) strftime (when, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (when + n, sizeof when - (size_t) n, ".%09ldZ", ts.tv_nsec);
  json_escape (esc, sizeof esc, msg);
  if (json)
    n = snprintf (line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n", level_names[level], esc,
                  when);
  else
    n = snprintf (line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", when, level_names[level], esc);
  if (n > 0 && write (fd, line, (size_t) n < sizeof line ? (size_t) n : sizeof line - 1) < 0)
    return; /* nowhere left to say it */
}

/* A message of the shim: errors and warnings on stderr and to the
   caller's log, everything up to the configured level to our own.  */
static void __attribute__ ((format (printf, 3, 4)))
say (const struct shim_log *l, int level, const char *fmt, ...)
{
  char msg[4096];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (level <= ZAGENT_LOG_WARNING)
    {
      fprintf (stderr, "zagent-runtime: %s%s\n", level == ZAGENT_LOG_WARNING ? "warning: " : "", msg);
      log_line (l->caller_fd, l->caller_json, level, msg);
    }
  if (level <= l->own_level)
    log_line (l->own_fd, true, level, msg);
}

/* Every error of a chain, one line each.  */
static void
say_errors (const struct shim_log *l, int level, const zagent_error *err)
{
  for (const zagent_error *e = err; e; e = zagent_error_next (e))
    {
      char *s = zagent_error_format (e);
      say (l, level, "%s", s ? s : zagent_error_message (e));
      free (s);
    }
}

/* A log file to append to: never through a symlink, never a terminal.  */
static int
open_log (const char *path)
{
  return path ? open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640) : -1;
}

/* The real runtime: the configured one ($ZAGENT_SHIM_RUNTIME, else the
   config's `runtime`; a name is looked up on PATH), else runc, crun,
   youki on PATH (never this program itself).  NULL with a message in WHY
   when there is none, or when the choice would run this shim again:
   exec'ing ourselves would loop forever, with the container engine
   waiting.  */
static char *
real_runtime (const zagent_shim_config *cfg, char *why, size_t wlen)
{
  const char *conf = zagent_shim_config_runtime (cfg);
  const char *names[] = { "runc", "crun", "youki", NULL };
  char *self = realpath ("/proc/self/exe", NULL);
  char *rt = NULL;
  struct stat me, st;

  /* Another shim ran us: the runtimes of the two point at each other
     (or at a copy of the shim), which the inode test below cannot see.  */
  if (getenv (SHIM_MARKER))
    {
      snprintf (why, wlen, "started by zagent-runtime (" SHIM_MARKER " is set): ZAGENT_SHIM_RUNTIME (or the "
                           "config's runtime) leads back to a shim; set it to a real OCI runtime such as runc");
      goto fail;
    }
  if (conf && strchr (conf, '/'))
    rt = strdup (conf);
  else if (conf)
    rt = path_lookup (conf, self);
  else
    for (int i = 0; names[i] && !rt; i++)
      rt = path_lookup (names[i], self);
  if (!rt)
    {
      if (conf)
        snprintf (why, wlen, "runtime `%s` not found on PATH; set ZAGENT_SHIM_RUNTIME or `runtime` in the config",
                  conf);
      else
        snprintf (why, wlen, "no OCI runtime found (runc, crun, youki); set ZAGENT_SHIM_RUNTIME or `runtime` in "
                             "the config");
      goto fail;
    }
  /* The same file as this program, by any name: the path itself, a
     symlink or a hard link to it.  */
  if (stat ("/proc/self/exe", &me) == 0 && stat (rt, &st) == 0 && me.st_dev == st.st_dev
      && me.st_ino == st.st_ino)
    {
      if (conf)
        snprintf (why, wlen, "ZAGENT_SHIM_RUNTIME (or the config's runtime) names zagent-runtime itself; set it "
                             "to a real OCI runtime such as runc");
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

/* The shim's help, then a word about the runtime it runs.  */
static void
usage (const zagent_shim_config *cfg)
{
  char why[PATH_MAX + 200];
  char *rt = cfg ? real_runtime (cfg, why, sizeof why) : NULL;
  printf ("Usage: zagent-runtime [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
          "\n"
          "An OCI runtime shim. On `create` it injects into the bundle's config.json the CDI\n"
          "devices the container requests (cdi.k8s.io/... annotations; NVIDIA_VISIBLE_DEVICES\n"
          "and /var/run/nvidia-container-devices mounts as nvidia-container-runtime reads them),\n"
          "then runs the real OCI runtime with the same arguments; other commands pass through.\n"
          "\n"
          "  zagent-runtime --version   this shim's version, then the runtime's\n"
          "  zagent-runtime --help      this text\n"
          "\n"
          "Config file: $ZAGENT_RUNTIME_CONFIG, else $XDG_CONFIG_HOME/zagent/runtime.yaml\n"
          "($HOME/.config/...), else %s (see zagent-runtime(8));\n"
          "overridden by ZAGENT_SHIM_RUNTIME, CDI_SPEC_DIRS and ZAGENT_RUNTIME_LOG_LEVEL.\n",
          ZAGENT_SHIM_CONFIG_DEFAULT);
  if (cfg)
    printf ("Config in use: %s\n", zagent_shim_config_file (cfg) ? zagent_shim_config_file (cfg) : "none (defaults)");
  if (rt)
    printf ("Runtime: %s (`%s --help` lists its commands and options)\n", rt, rt);
  else if (cfg)
    printf ("Runtime: none: %s\n", why);
  free (rt);
}

/* The bundle of a `create` command line (ARGV from the command on).  */
static const char *
create_bundle (int argc, char **argv)
{
  const char *bundle = ".";
  for (int k = 1; k < argc; k++)
    {
      if ((!strcmp (argv[k], "--bundle") || !strcmp (argv[k], "-b")) && k + 1 < argc)
        bundle = argv[++k];
      else if (!strncmp (argv[k], "--bundle=", 9))
        bundle = argv[k] + 9;
      else if (!strncmp (argv[k], "-b=", 3))
        bundle = argv[k] + 3;
    }
  return bundle;
}

/* The global options before the command: --log, --log-format, and
   whether --version/-v was asked; the index of the command (ARGC if
   none).  */
static int
parse_globals (int argc, char **argv, const char **log, const char **format, bool *version)
{
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      const char *a = argv[i];
      if (!strcmp (a, "--version") || !strcmp (a, "-v"))
        *version = true;
      else if (!strncmp (a, "--log=", 6))
        *log = a + 6;
      else if (!strncmp (a, "--log-format=", 13))
        *format = a + 13;
      else if (global_takes_value (a) && i + 1 < argc)
        {
          if (!strcmp (a, "--log"))
            *log = argv[i + 1];
          else if (!strcmp (a, "--log-format"))
            *format = argv[i + 1];
          i++;
        }
    }
  return i;
}

int
main (int argc, char **argv)
{
  struct shim_log l = { .caller_fd = -1, .own_fd = -1, .own_level = ZAGENT_LOG_WARNING };
  const char *log = NULL, *format = NULL;
  zagent_shim_config *cfg = NULL;
  zagent_error *err = NULL;
  char why[PATH_MAX + 200];
  bool version = false;
  char *rt = NULL;
  int i, ret = 1;

  i = parse_globals (argc, argv, &log, &format, &version);
  l.caller_fd = open_log (log);
  l.caller_json = format && !strcmp (format, "json");
  if (zagent_shim_config_load (&cfg, NULL, &err) < 0)
    {
      say_errors (&l, ZAGENT_LOG_ERROR, err);
      zagent_error_free (&err);
      if (argc == 1 || (argc == 2 && (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h"))))
        usage (NULL);
      goto out;
    }
  l.own_fd = open_log (zagent_shim_config_log_file (cfg));
  l.own_level = zagent_shim_config_log_level (cfg);
  if (argc == 1 || (argc == 2 && (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h"))))
    {
      usage (cfg);
      ret = 0;
      goto out;
    }
  if (version && i == argc)
    printf ("zagent-runtime version %s\n", zagent_version ());
  /* Before anything else: a shim that would exec itself must not first
     rewrite the bundle.  */
  rt = real_runtime (cfg, why, sizeof why);
  if (!rt)
    {
      say (&l, ZAGENT_LOG_ERROR, "%s", why);
      goto out;
    }
  if (version && i == argc)
    {
      printf ("runtime: %s\n", rt);
      fflush (stdout);
    }
  if (setenv (SHIM_MARKER, "1", 1) < 0)
    {
      say (&l, ZAGENT_LOG_ERROR, "%s", strerror (errno));
      goto out;
    }
  if (i < argc && !strcmp (argv[i], "create"))
    {
      const char *bundle = create_bundle (argc - i, argv + i);
      zagent_error *warn = NULL;
      int r = zagent_shim_inject (cfg, bundle, &warn, &err);
      say_errors (&l, ZAGENT_LOG_WARNING, warn);
      zagent_error_free (&warn);
      if (r < 0)
        {
          say_errors (&l, ZAGENT_LOG_ERROR, err);
          zagent_error_free (&err);
          goto out;
        }
      say (&l, ZAGENT_LOG_INFO, "create: bundle %s ready for %s", bundle, rt);
    }
  say (&l, ZAGENT_LOG_DEBUG, "exec %s %s", rt, i < argc ? argv[i] : "");
  argv[0] = rt;
  execv (rt, argv);
  say (&l, ZAGENT_LOG_ERROR, "cannot run %s: %s", rt, strerror (errno));
out:
  if (l.caller_fd >= 0)
    close (l.caller_fd);
  if (l.own_fd >= 0)
    close (l.own_fd);
  zagent_shim_config_free (cfg);
  free (rt);
  return ret;
}
