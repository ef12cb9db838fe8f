#define _GNU_SOURCE
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

char *
za_data_dir (void)
{
  const char *d = getenv ("ZLAYER_DATA_DIR"), *home = getenv ("HOME");
  char *out = NULL;
  if (d && *d)
    return strdup (d);
  if (geteuid () != 0 && home && *home)
    return asprintf (&out, "%s/.zlayer", home) < 0 ? NULL : out;
  return strdup ("/var/lib/zlayer");
}

char *
za_run_dir (void)
{
  const char *d = getenv ("ZLAYER_DATA_DIR");
  char *out = NULL;
  if (!d || !*d)
    return strdup ("/var/run/zlayer");
  return asprintf (&out, "%s/run", d) < 0 ? NULL : out;
}

void
za_runtime_clear (struct za_runtime *rt)
{
  free (rt->name);
  free (rt->path);
  free (rt->root);
  *rt = (struct za_runtime) { 0 };
}

int
za_runtime_find (const char *want, const char *root, struct za_runtime *out, struct za_err **err)
{
  static const char *const defaults[] = { "runc", "crun", "youki", NULL };
  const char *env = getenv ("ZAGENT_RUNTIME");
  const char *base;
  *out = (struct za_runtime) { 0 };
  if (!want && env && *env)
    want = env;
  if (want && strchr (want, '/'))
    {
      if (access (want, X_OK) < 0)
        return za_err_set (err, ZA_EINPUT, "runtime `%s` is not an executable file", want);
      out->path = realpath (want, NULL);
    }
  else if (want)
    {
      out->path = za_path_lookup (want, NULL);
      if (!out->path)
        return za_err_set (err, ZA_EINPUT, "runtime `%s` not found on PATH", want);
    }
  else
    {
      for (int i = 0; defaults[i] && !out->path; i++)
        out->path = za_path_lookup (defaults[i], NULL);
      if (!out->path)
        return za_err_set (err, ZA_EINPUT, "no OCI runtime found on PATH (runc, crun, youki); use --runtime");
    }
  if (!out->path)
    return za_err_set (err, ENOMEM, "out of memory");
  /* Name the runtime by what was asked for (runc may be a symlink).  */
  base = want ? (strrchr (want, '/') ? strrchr (want, '/') + 1 : want) : strrchr (out->path, '/') + 1;
  out->name = strdup (base);
  if (root)
    out->root = strdup (root);
  else
    {
      cleanup_free char *rd = za_run_dir ();
      if (rd && asprintf (&out->root, "%s/%s", rd, out->name) < 0)
        out->root = NULL;
    }
  if (!out->name || !out->root)
    {
      za_runtime_clear (out);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  return 0;
}

/* The runtime's last error message from its JSON log (runc, crun and
   youki write {"level":"error","msg":…}); plain text otherwise.  */
static char *
log_error (const char *logfile)
{
  cleanup_free char *data = NULL;
  struct za_err *e = NULL;
  char *best = NULL, *save = NULL;
  if (za_read_file (logfile, 1 << 20, &data, NULL, &e) < 0)
    {
      za_err_free (&e);
      return NULL;
    }
  for (char *l = strtok_r (data, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      json_t *j = json_loads (l, 0, NULL);
      const char *lvl = j ? json_string_value (json_object_get (j, "level")) : NULL;
      const char *msg = j ? json_string_value (json_object_get (j, "msg")) : NULL;
      if (j && msg && lvl && (!strcmp (lvl, "error") || !strcmp (lvl, "fatal")))
        {
          free (best);
          best = strdup (msg);
        }
      else if (!j && *l)
        {
          free (best);
          best = strdup (l);
        }
      json_decref (j);
    }
  return best;
}

int
za_runtime_call (const struct za_runtime *rt, const char *const *args, const int fds[3], int *status,
                 struct za_err **err)
{
  char logfile[] = "/tmp/zagent-runtime-log.XXXXXX";
  cleanup_close int logfd = mkstemp (logfile);
  size_t n = 0;
  const char **argv;
  pid_t pid;
  int st = 0, ret = 0;

  if (logfd < 0)
    return za_err_set (err, errno, "mkstemp: %s", strerror (errno));
  while (args[n])
    n++;
  argv = calloc (n + 8, sizeof *argv);
  if (!argv)
    {
      unlink (logfile);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  argv[0] = rt->path;
  argv[1] = "--root";
  argv[2] = rt->root;
  argv[3] = "--log";
  argv[4] = logfile;
  argv[5] = "--log-format";
  argv[6] = "json";
  for (size_t i = 0; i < n; i++)
    argv[7 + i] = args[i];
  pid = fork ();
  if (pid < 0)
    {
      ret = za_err_set (err, errno, "fork: %s", strerror (errno));
      goto out;
    }
  if (pid == 0)
    {
      int nul = open ("/dev/null", O_RDWR | O_CLOEXEC);
      /* Dying with us is better than an orphaned half-created container.  */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      for (int i = 0; i < 3; i++)
        {
          int fd = fds && fds[i] >= 0 ? fds[i] : nul;
          if (fd != i && dup2 (fd, i) < 0)
            _exit (126);
        }
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      execv (argv[0], (char *const *) argv);
      _exit (127);
    }
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      {
        ret = za_err_set (err, errno, "waitpid: %s", strerror (errno));
        goto out;
      }
  if (status)
    *status = st;
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    {
      cleanup_free char *msg = log_error (logfile);
      ret = -1;
      if (err)
        {
          if (WIFEXITED (st) && WEXITSTATUS (st) == 127)
            za_err_set (err, ENOENT, "%s: cannot execute %s", rt->name, rt->path);
          else
            za_err_set (err, ZA_EINPUT, "%s %s: %s", rt->name, args[0],
                        msg ? msg : WIFSIGNALED (st) ? strsignal (WTERMSIG (st)) : "failed");
        }
    }
out:
  free (argv);
  unlink (logfile);
  return ret;
}

int
za_runtime_create (const struct za_runtime *rt, const char *id, const char *bundle, const char *pidfile,
                   const int fds[3], struct za_err **err)
{
  const char *args[] = { "create", "--bundle", bundle, "--pid-file", pidfile, id, NULL };
  if (za_mkdir_p (rt->root, 0700, err) < 0)
    return -1;
  return za_runtime_call (rt, args, fds, NULL, err);
}

int
za_runtime_start (const struct za_runtime *rt, const char *id, struct za_err **err)
{
  const char *args[] = { "start", id, NULL };
  return za_runtime_call (rt, args, NULL, NULL, err);
}

int
za_runtime_kill (const struct za_runtime *rt, const char *id, int sig, bool all, struct za_err **err)
{
  char s[16];
  const char *args[] = { "kill", all ? "--all" : id, all ? id : s, all ? s : NULL, NULL };
  snprintf (s, sizeof s, "%d", sig);
  return za_runtime_call (rt, args, NULL, NULL, err);
}

int
za_runtime_delete (const struct za_runtime *rt, const char *id, bool force, struct za_err **err)
{
  const char *args[] = { "delete", force ? "--force" : id, force ? id : NULL, NULL };
  return za_runtime_call (rt, args, NULL, NULL, err);
}

int
za_runtime_state (const struct za_runtime *rt, const char *id, json_t **out, struct za_err **err)
{
  int pipefd[2];
  const char *args[] = { "state", id, NULL };
  cleanup_free char *data = NULL;
  struct za_err *e = NULL;
  int fds[3] = { -1, -1, -1 };
  size_t len = 0;
  int ret;

  *out = NULL;
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return za_err_set (err, errno, "pipe: %s", strerror (errno));
  fds[1] = pipefd[1];
  /* The state JSON is small (< pipe buffer), so collecting it after the
     child exits cannot deadlock.  */
  ret = za_runtime_call (rt, args, fds, NULL, &e);
  close (pipefd[1]);
  if (ret < 0)
    {
      close (pipefd[0]);
      if (e && e->code == ZA_EINPUT)
        {
          /* "container does not exist" and friends: unknown id.  */
          za_err_free (&e);
          return 0;
        }
      za_err_append (err, &e);
      return -1;
    }
  {
    char path[64];
    snprintf (path, sizeof path, "/proc/self/fd/%d", pipefd[0]);
    za_read_file (path, 1 << 20, &data, &len, &e);
    close (pipefd[0]);
  }
  if (!data)
    {
      za_err_append (err, &e);
      return -1;
    }
  *out = json_loadb (data, len, 0, NULL);
  if (!*out)
    return za_err_set (err, EPROTO, "%s state %s: not JSON", rt->name, id);
  return 0;
}

const char *
za_runtime_status (const json_t *state)
{
  return state ? json_string_value (json_object_get (state, "status")) : NULL;
}

bool
za_runtime_known (const struct za_runtime *rt, const char *id)
{
  cleanup_free char *p = NULL;
  struct stat st;
  if (asprintf (&p, "%s/%s", rt->root, id) < 0)
    return true; /* when in doubt, assume it exists */
  return stat (p, &st) == 0;
}
