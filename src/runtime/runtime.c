#define _GNU_SOURCE
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "spec/syntax.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/strv.h"

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
  if (za_runtime_timeout_from_env (&out->timeout_ns, err) < 0)
    {
      za_runtime_clear (out);
      return -1;
    }
  return 0;
}

int
za_runtime_timeout_from_env (uint64_t *out, struct za_err **err)
{
  const char *v = getenv ("ZAGENT_RUNTIME_TIMEOUT");
  char *reason = NULL;
  *out = ZA_RUNTIME_DEFAULT_TIMEOUT_NS;
  if (!v || !*v)
    return 0;
  if (za_duration_parse (v, out, &reason) < 0 || *out == 0)
    {
      za_err_set (err, ZA_EINPUT, "ZAGENT_RUNTIME_TIMEOUT `%s`: invalid duration%s%s", v, reason ? ": " : "",
                  reason ? reason : "");
      free (reason);
      return -1;
    }
  return 0;
}

uint64_t
za_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
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

/* Wait for PID, at most TIMEOUT_NS, meanwhile collecting what it writes
   to CAP_FD (when >= 0) into *CAP.  The runtime's output is read while it
   runs, so a large state document (big annotations) cannot fill the pipe
   and deadlock both sides.  On timeout the runtime is killed and reaped:
   a runtime that never returns must not hang zagent.  */
static int
wait_child (const struct za_runtime *rt, const char *verb, pid_t pid, int pidfd, uint64_t timeout_ns, int cap_fd,
            struct za_strbuf *cap, int *st, struct za_err **err)
{
  uint64_t end = za_now_ns () + timeout_ns;
  bool exited = false, cap_open = cap_fd >= 0, too_big = false;

  while (!exited || cap_open)
    {
      struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = cap_open ? cap_fd : -1, .events = POLLIN } };
      uint64_t now = za_now_ns ();
      int wait_ms;
      if (now >= end)
        {
          kill (pid, SIGKILL);
          if (!exited)
            while (waitpid (pid, st, 0) < 0 && errno == EINTR)
              ;
          return za_err_set (err, ETIMEDOUT, "%s %s: no answer after %.0f s; killed it (ZAGENT_RUNTIME_TIMEOUT)",
                             rt->name, verb, (double) timeout_ns / 1e9);
        }
      /* Without a pidfd (kernel < 5.3) poll in short steps.  */
      wait_ms = (int) ((end - now) / 1000000u) + 1;
      if (pidfd < 0 && wait_ms > 10)
        wait_ms = 10;
      if (exited)
        p[0].fd = -1;
      if (poll (p, 2, wait_ms) < 0 && errno != EINTR)
        return za_err_set (err, errno, "poll: %s", strerror (errno));
      if (cap_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          char buf[16384];
          ssize_t n = read (cap_fd, buf, sizeof buf);
          if (n > 0 && !too_big && za_strbuf_add (cap, buf, (size_t) n) < 0)
            return za_err_set (err, ENOMEM, "out of memory");
          if (cap->len > ZA_RUNTIME_MAX_OUTPUT)
            too_big = true;
          if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            cap_open = false;
        }
      if (!exited)
        {
          pid_t w = waitpid (pid, st, WNOHANG);
          if (w == pid)
            exited = true;
          else if (w < 0 && errno != EINTR)
            return za_err_set (err, errno, "waitpid: %s", strerror (errno));
        }
    }
  if (too_big)
    return za_err_set (err, EPROTO, "%s %s: output larger than %d bytes", rt->name, verb, ZA_RUNTIME_MAX_OUTPUT);
  return 0;
}

void
za_runtime_proc_clear (struct za_runtime_proc *p)
{
  if (p->pidfd >= 0)
    close (p->pidfd);
  if (p->log[0])
    unlink (p->log);
  *p = (struct za_runtime_proc) { .pid = -1, .pidfd = -1 };
}

int
za_runtime_spawn (const struct za_runtime *rt, const char *const *args, const int fds[3], int out_fd,
                  struct za_runtime_proc *p, struct za_err **err)
{
  cleanup_close int logfd = -1;
  cleanup_free const char **argv = NULL;
  size_t n = 0;

  *p = (struct za_runtime_proc) { .pid = -1, .pidfd = -1 };
  strcpy (p->log, "/tmp/zagent-runtime-log.XXXXXX");
  logfd = mkostemp (p->log, O_CLOEXEC);
  if (logfd < 0)
    {
      p->log[0] = '\0';
      return za_err_sys (err, errno, "create the runtime's log file");
    }
  while (args[n])
    n++;
  argv = calloc (n + 8, sizeof *argv);
  if (!argv)
    {
      za_runtime_proc_clear (p);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  argv[0] = rt->path;
  argv[1] = "--root";
  argv[2] = rt->root;
  argv[3] = "--log";
  argv[4] = p->log;
  argv[5] = "--log-format";
  argv[6] = "json";
  for (size_t i = 0; i < n; i++)
    argv[7 + i] = args[i];
  p->pid = fork ();
  if (p->pid < 0)
    {
      int e = errno;
      za_runtime_proc_clear (p);
      return za_err_sys (err, e, "fork");
    }
  if (p->pid == 0)
    {
      int nul = open ("/dev/null", O_RDWR | O_CLOEXEC);
      sigset_t none;
      /* Dying with us is better than an orphaned half-created container.  */
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      for (int i = 0; i < 3; i++)
        {
          int fd = i == 1 && out_fd >= 0 ? out_fd : fds && fds[i] >= 0 ? fds[i] : nul;
          if (fd != i && dup2 (fd, i) < 0)
            _exit (126);
        }
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      execv (argv[0], (char *const *) argv);
      _exit (127);
    }
  p->pidfd = (int) syscall (SYS_pidfd_open, p->pid, 0);
  return 0;
}

int
za_runtime_failed (const struct za_runtime *rt, const char *verb, int st, const char *logfile, struct za_err **err)
{
  cleanup_free char *msg = NULL;
  if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
    return 0;
  if (!err)
    return -1;
  msg = log_error (logfile);
  if (WIFEXITED (st) && WEXITSTATUS (st) == 127 && !msg)
    return za_err_set (err, ENOENT, "%s: cannot execute %s", rt->name, rt->path);
  if (WIFSIGNALED (st))
    /* Killed from outside: says nothing about the container.  */
    return za_err_set (err, EINTR, "%s %s: killed by %s", rt->name, verb, strsignal (WTERMSIG (st)));
  if (msg)
    return za_err_set (err, ZA_EINPUT, "%s", za_runtime_say (rt, verb, msg));
  return za_err_set (err, ZA_EINPUT, "%s %s: failed with exit status %d", rt->name, verb, WEXITSTATUS (st));
}

const char *
za_runtime_say (const struct za_runtime *rt, const char *verb, const char *msg)
{
  static __thread char buf[4096];
  size_t n = strlen (rt->name);
  /* runc's own messages already say "runc run failed: …".  */
  if (!strncmp (msg, rt->name, n) && msg[n] == ' ')
    snprintf (buf, sizeof buf, "%s", msg);
  else
    snprintf (buf, sizeof buf, "%s %s: %s", rt->name, verb, msg);
  return buf;
}

char *
za_runtime_log_error (const char *logfile)
{
  return log_error (logfile);
}

/* The runtime's message says it could not exec the container's process:
   127 when the command was not found, 126 when it cannot be run
   (permission, format), else 0.  Only messages about the exec count (a
   missing mount source is not a missing command); the wordings are
   runc's, crun's and youki's.  */
int
za_runtime_exec_status (const char *msg)
{
  if (!msg || (!strcasestr (msg, "exec") && !strcasestr (msg, "executable")))
    return 0;
  if (strcasestr (msg, "not found") || strcasestr (msg, "no such file or directory"))
    return 127;
  if (strcasestr (msg, "permission denied") || strcasestr (msg, "exec format error")
      || strcasestr (msg, "is a directory"))
    return 126;
  return 0;
}

static int
call (const struct za_runtime *rt, const char *const *args, const int fds[3], struct za_strbuf *cap, int *status,
      struct za_err **err)
{
  struct za_runtime_proc p;
  cleanup_close int cap_r = -1, cap_w = -1;
  int st = 0, ret = 0;

  if (cap)
    {
      int pfd[2];
      if (pipe2 (pfd, O_CLOEXEC) < 0)
        return za_err_sys (err, errno, "pipe");
      cap_r = pfd[0];
      cap_w = pfd[1];
      fcntl (cap_r, F_SETFL, O_NONBLOCK);
    }
  if (za_runtime_spawn (rt, args, fds, cap_w, &p, err) < 0)
    return -1;
  if (cap_w >= 0)
    {
      close (cap_w);
      cap_w = -1;
    }
  if (wait_child (rt, args[0], p.pid, p.pidfd, rt->timeout_ns ? rt->timeout_ns : ZA_RUNTIME_DEFAULT_TIMEOUT_NS,
                  cap_r, cap, &st, err) < 0)
    ret = -1;
  else
    {
      if (status)
        *status = st;
      ret = za_runtime_failed (rt, args[0], st, p.log, err);
    }
  za_runtime_proc_clear (&p);
  return ret;
}

int
za_runtime_call (const struct za_runtime *rt, const char *const *args, const int fds[3], int *status,
                 struct za_err **err)
{
  return call (rt, args, fds, NULL, status, err);
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
  const char *args[] = { "state", id, NULL };
  struct za_strbuf cap = { 0 };
  struct za_err *e = NULL;
  int st = 0, ret;

  *out = NULL;
  ret = call (rt, args, NULL, &cap, &st, &e);
  if (ret < 0)
    {
      za_strbuf_clear (&cap);
      /* Only a definite answer clears a record: the runtime ran to its
         end, said no, and keeps no state directory for the id.  A runtime
         killed by a signal or a timeout, or one that failed for another
         reason while its state is still there, says nothing about the
         container.  */
      if (e && e->code == ZA_EINPUT && WIFEXITED (st) && !za_runtime_known (rt, id))
        {
          za_err_free (&e);
          return 0;
        }
      za_err_append (err, &e);
      return -1;
    }
  *out = json_loadb (cap.data ? cap.data : "", cap.len, 0, NULL);
  za_strbuf_clear (&cap);
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
