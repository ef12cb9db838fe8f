/* One runtime process per container.  The runtime's `run` creates,
   starts, waits for and deletes the container; zagent watches for the
   pid file it writes once the container runs (inotify on the bundle dir)
   to hand the record over to the other commands, forwards signals to the
   container's init, and reads the outcome from the runtime's exit status
   and JSON log.  */
#define _GNU_SOURCE
#include "runtime/run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/container.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Without inotify (out of instances), look for the pid file this often.  */
#define PIDFILE_POLL_MS 5

struct run_ctx
{
  struct za_run *r;
  const struct za_runtime *rt;
  struct za_runtime_proc proc;
  char *pidfile;
  int ino;        /* inotify on the bundle dir, or -1 */
  int init_pidfd; /* the container's init, once known */
  bool rt_exited;
  int rt_status;
  unsigned long long pending; /* signals held until the container runs */
};

static void
send_to_init (struct run_ctx *x, int sig)
{
  if (x->init_pidfd >= 0 && syscall (SYS_pidfd_send_signal, x->init_pidfd, sig, NULL, 0) == 0)
    return;
  if (x->init_pidfd < 0 && x->r->cs->pid > 0)
    kill (x->r->cs->pid, sig);
}

/* The pid file is there: the container runs.  SAVE: hand the record
   over (pid, no longer creating) and let go of the lock; then deliver
   the signals held meanwhile.  */
static int
mark_started (struct run_ctx *x, bool save, struct za_err **err)
{
  struct za_run *r = x->r;
  pid_t pid;
  if (za_read_pid (x->pidfile, &pid, NULL) < 0)
    return 0; /* not (completely) written yet */
  r->started = true;
  r->cs->pid = pid;
  x->init_pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (!save)
    return 0; /* the runtime already ended: the caller undoes it, lock held */
  r->cs->creating = false;
  if (za_state_save (r->cs, err) < 0)
    return -1;
  if (*r->lock >= 0)
    {
      close (*r->lock);
      *r->lock = -1;
    }
  for (int s = 1; s < 64; s++)
    if (x->pending & (1ull << s))
      send_to_init (x, s);
  x->pending = 0;
  return 0;
}

/* Reap the runtime (and, foreground, every other child that is ours as
   a subreaper: a container init whose runtime died, daemons it left).  */
static void
reap (struct run_ctx *x)
{
  int st;
  pid_t w;
  if (!x->r->reap)
    {
      if (!x->rt_exited && waitpid (x->proc.pid, &st, WNOHANG) == x->proc.pid)
        x->rt_exited = true, x->rt_status = st;
      return;
    }
  while ((w = waitpid (-1, &st, WNOHANG)) > 0)
    if (w == x->proc.pid)
      x->rt_exited = true, x->rt_status = st;
}

static void
on_signal (struct run_ctx *x)
{
  struct signalfd_siginfo si;
  int sig;
  /* One per wake-up: the caller's signalfd may be blocking.  */
  if (read (x->r->signal_fd, &si, sizeof si) != (ssize_t) sizeof si)
    return;
  sig = (int) si.ssi_signo;
  if (sig == SIGCHLD || sig <= 0 || sig >= 64)
    return;
  if (x->r->started)
    send_to_init (x, sig);
  else
    x->pending |= 1ull << sig;
}

static void
drain_inotify (int fd)
{
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  while (read (fd, buf, sizeof buf) > 0)
    ;
}

/* Wait until the runtime exits (the container ran and ended, or it was
   detached, or the runtime failed), meanwhile noticing the start.  Until
   the start, bounded by DEADLINE.  */
static int
wait_runtime (struct run_ctx *x, uint64_t deadline, struct za_err **err)
{
  struct za_run *r = x->r;
  while (!x->rt_exited)
    {
      struct pollfd p[3] = { { .fd = x->proc.pidfd, .events = POLLIN },
                             { .fd = r->signal_fd, .events = POLLIN },
                             { .fd = r->started ? -1 : x->ino, .events = POLLIN } };
      int ms = -1;
      if (!r->started)
        {
          uint64_t now = za_now_ns ();
          if (now >= deadline)
            {
              kill (x->proc.pid, SIGKILL);
              while (waitpid (x->proc.pid, &x->rt_status, 0) < 0 && errno == EINTR)
                ;
              x->rt_exited = true;
              return za_err_set (err, ETIMEDOUT,
                                 "%s run: no answer after %.0f s; killed it (ZAGENT_RUNTIME_TIMEOUT)",
                                 x->rt->name, (double) x->rt->timeout_ns / 1e9);
            }
          ms = (int) ((deadline - now) / 1000000u) + 1;
          if (x->ino < 0 && ms > PIDFILE_POLL_MS)
            ms = PIDFILE_POLL_MS;
        }
      /* Without a pidfd (kernel < 5.3) nor SIGCHLD, look in short steps.  */
      if (x->proc.pidfd < 0 && (ms < 0 || ms > 100))
        ms = 100;
      if (poll (p, 3, ms) < 0 && errno != EINTR)
        return za_err_sys (err, errno, "poll");
      if (p[2].revents & POLLIN)
        drain_inotify (x->ino);
      if (!r->started && mark_started (x, true, err) < 0)
        return -1;
      if (r->started && x->ino >= 0)
        {
          /* Closing an inotify instance waits for an RCU grace period
             (up to a few ms): now, while the container runs, not in the
             teardown.  */
          close (x->ino);
          x->ino = -1;
        }
      if (p[1].revents & POLLIN)
        on_signal (x);
      reap (x);
    }
  return 0;
}

/* The runtime is gone but the container's init may not be (the runtime
   was killed, or failed after the start): kill it and, as its subreaper,
   reap it.  */
static void
kill_orphan (struct run_ctx *x)
{
  struct pollfd p = { .fd = x->init_pidfd, .events = POLLIN };
  if (x->init_pidfd < 0 || poll (&p, 1, 0) > 0)
    return;
  syscall (SYS_pidfd_send_signal, x->init_pidfd, SIGKILL, NULL, 0);
  if (poll (&p, 1, 5000) > 0 && x->r->reap)
    waitpid (x->r->cs->pid, NULL, WNOHANG);
}

/* What the runtime's exit says.  */
static int
outcome (struct run_ctx *x, struct za_err **err)
{
  struct za_run *r = x->r;
  int st = x->rt_status;
  cleanup_free char *msg = NULL;

  r->status = ZA_RUN_FAILED;
  if (!r->started && mark_started (x, r->detach && WIFEXITED (st) && WEXITSTATUS (st) == 0, err) < 0)
    return -1;
  if (WIFSIGNALED (st))
    {
      kill_orphan (x);
      return za_runtime_failed (x->rt, "run", st, x->proc.log, err);
    }
  msg = za_runtime_log_error (x->proc.log);
  if (msg)
    {
      /* The runtime failed (its own message: a container's exit status
         leaves none).  runc and crun print it on their stderr too.  */
      int e = za_runtime_exec_status (msg);
      kill_orphan (x);
      r->status = e ? e : ZA_RUN_FAILED;
      r->shown = !r->detach;
      return za_err_set (err, ZA_EINPUT, "%s", za_runtime_say (x->rt, "run", msg));
    }
  if (!r->started)
    {
      if (WEXITSTATUS (st) == 0)
        return za_err_set (err, EPROTO, "%s run: exited without writing the pid file `%s`", x->rt->name,
                           x->pidfile);
      return za_runtime_failed (x->rt, "run", st, x->proc.log, err);
    }
  if (r->detach && WEXITSTATUS (st) != 0)
    return za_runtime_failed (x->rt, "run", st, x->proc.log, err);
  r->status = WEXITSTATUS (st);
  return 0;
}

int
za_container_run (struct za_run *r, struct za_err **err)
{
  struct za_runtime rt = { 0 };
  struct run_ctx x = { .r = r, .rt = &rt, .ino = -1, .init_pidfd = -1, .proc = { .pid = -1, .pidfd = -1 } };
  const char *args[9];
  int n = 0, ret = -1;

  r->status = ZA_RUN_FAILED;
  r->started = r->shown = false;
  if (za_runtime_from_record (r->cs, &rt, err) < 0)
    return -1;
  if (asprintf (&x.pidfile, "%s/init.pid", r->cs->bundle) < 0)
    {
      x.pidfile = NULL;
      za_err_set (err, ENOMEM, "out of memory");
      goto out;
    }
  /* A kept bundle may hold the pid file of an earlier run.  */
  if (unlink (x.pidfile) < 0 && errno != ENOENT)
    {
      za_err_sys (err, errno, "remove `%s`", x.pidfile);
      goto out;
    }
  /* runc, crun and youki make their --root themselves.  */
  x.ino = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (x.ino >= 0 && inotify_add_watch (x.ino, r->cs->bundle, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0)
    {
      close (x.ino);
      x.ino = -1;
    }
  args[n++] = "run";
  if (r->detach)
    args[n++] = "--detach";
  args[n++] = "--bundle";
  args[n++] = r->cs->bundle;
  args[n++] = "--pid-file";
  args[n++] = x.pidfile;
  args[n++] = r->cs->id;
  args[n] = NULL;
  if (za_runtime_spawn (&rt, args, r->fds, -1, &x.proc, err) < 0)
    goto out;
  if (wait_runtime (&x, za_now_ns () + rt.timeout_ns, err) < 0)
    kill_orphan (&x);
  else
    ret = outcome (&x, err);
  /* An internal failure (poll, saving the record) must not leave the
     runtime behind: it is bounded by the container's life, which ends
     with kill_orphan.  */
  if (!x.rt_exited)
    {
      kill_orphan (&x);
      kill (x.proc.pid, SIGKILL);
      while (waitpid (x.proc.pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  reap (&x); /* what the container left to us, its subreaper */
out:
  if (x.ino >= 0)
    close (x.ino);
  if (x.init_pidfd >= 0)
    close (x.init_pidfd);
  za_runtime_proc_clear (&x.proc);
  free (x.pidfile);
  za_runtime_clear (&rt);
  return ret;
}
