/* zagent run, ps, stop, rm, state: containers over an OCI runtime.

   `run` builds the bundle, then `create` + `start` through the runtime's
   command line, as conmon does.  zagent makes itself a child subreaper,
   so the container's init (forked by `runtime create`, which then exits)
   is re-parented to zagent: it can wait for it, forward signals to it and
   reap it — no zombie is left behind.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_internal.h"
#include "cli/cli.h"
#include "bundle/write.h"
#include "image/layout.h"
#include "runtime/container.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "spec/syntax.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define DEFAULT_STOP_GRACE_NS (10ull * 1000000000ull)

static void
sleep_ms (unsigned ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* How long teardown and rm wait for another command's hold on a record
   (a foreground run's own teardown, a concurrent rm).  */
#define LOCK_WAIT_NS (30ull * 1000000000ull)

static void
warn_errors (struct za_err **e, const char *prefix)
{
  if (*e)
    cli_print_errors (*e, prefix);
  za_err_free (e);
}

/* Undo what CS records and report (not fail on) what could not be undone:
   the original failure is what the user needs to see.  */
static void
teardown (const struct za_cstate *cs)
{
  struct za_err *e = NULL;
  za_container_undo (cs, &e);
  warn_errors (&e, "warning: cleanup: ");
}

/* After a foreground container exited: take the record's lock again and
   undo what it says, unless another command (rm -f) already did.  */
static void
teardown_after_exit (const char *id)
{
  struct za_cstate cs = { 0 };
  struct za_err *e = NULL;
  cleanup_close int lock = -1;
  if (za_state_lock (id, LOCK_WAIT_NS, &lock, &e) == 0 && za_state_exists (id) && za_state_load (id, &cs, &e) == 0)
    za_container_undo (&cs, &e);
  warn_errors (&e, "warning: cleanup: ");
  za_cstate_clear (&cs);
}

/* Reserve ID for a new container: its record's lock, taken at once or
   not at all, so of two runs of one id exactly one goes on.  What a
   killed run left behind (a record still marked creating, whose lock
   died with it) is undone first; a record of a container the runtime
   definitely no longer has is cleared.  */
static int
reserve_id (const struct za_runtime *rt, const char *id, int *lock, struct za_err **err)
{
  cleanup_close int fd = -1;
  if (za_state_lock (id, 0, &fd, err) < 0)
    return -1;
  if (za_state_exists (id))
    {
      struct za_cstate cs = { 0 };
      struct za_runtime crt = { 0 };
      json_t *st = NULL;
      int ret = 0;
      if (za_state_load (id, &cs, err) < 0)
        return -1;
      if (!cs.creating)
        {
          if (za_runtime_from_record (&cs, &crt, err) < 0 || za_runtime_state (&crt, id, &st, err) < 0)
            ret = -1;
          else if (st)
            ret = za_err_set (err, ZA_EINPUT, "container `%s` already exists (zagent rm -f %s)", id, id);
        }
      if (ret == 0 && za_container_undo (&cs, err) < 0)
        ret = -1;
      json_decref (st);
      za_runtime_clear (&crt);
      za_cstate_clear (&cs);
      if (ret < 0)
        return -1;
    }
  if (za_runtime_known (rt, id))
    return za_err_set (err, ZA_EINPUT,
                       "%s already has a container `%s` that zagent did not start (%s --root %s delete %s)",
                       rt->name, id, rt->name, rt->root, id);
  *lock = steal_fd (&fd);
  return 0;
}

static int
read_pid (const char *pidfile, pid_t *pid, struct za_err **err)
{
  cleanup_free char *data = NULL;
  long v;
  if (za_read_file (pidfile, 64, &data, NULL, err) < 0)
    return -1;
  v = strtol (data, NULL, 10);
  if (v <= 0)
    return za_err_set (err, EPROTO, "%s: no pid", pidfile);
  *pid = (pid_t) v;
  return 0;
}

/* Wait for the container's init, forwarding SIGINT/SIGTERM/SIGHUP and
   reaping every child that comes our way.  Returns the exit status the
   CLI should use (128+signal when killed).  */
static int
wait_container (pid_t pid, int sfd)
{
  for (;;)
    {
      struct pollfd p = { .fd = sfd, .events = POLLIN };
      struct signalfd_siginfo si;
      int st;
      pid_t w;
      /* Reap first: the container may have exited before we got here.  */
      while ((w = waitpid (-1, &st, WNOHANG)) > 0)
        if (w == pid)
          return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
      if (w < 0 && errno == ECHILD)
        return 128 + SIGKILL; /* gone without us seeing it */
      if (poll (&p, 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return EXIT_SYSTEM;
        }
      if (read (sfd, &si, sizeof si) != sizeof si)
        continue;
      if (si.ssi_signo != SIGCHLD)
        kill (pid, (int) si.ssi_signo);
    }
}

/* Prepare the image (the shared, read-only cache) and take its config;
   *ROOTFS_OUT is the cached tree, which the container never runs in.  */
static int
use_image (struct build_cli *c, char **rootfs_out, struct za_err **err)
{
  cleanup_free char *data = za_data_dir (), *cache = NULL;
  struct za_image_config *ic = NULL;
  struct za_err *warn = NULL;
  int ret;
  if (!data || asprintf (&cache, "%s/rootfs", data) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  ret = za_image_layout_prepare (c->image, cache, rootfs_out, &ic, &warn, err);
  warn_errors (&warn, "warning: ");
  if (ret < 0)
    return -1;
  za_api_options_take_image_config (c->o, ic);
  return 0;
}

/* The bundle directory `run` will use, absolute, known before anything is
   created so the record can name it.  */
static char *
bundle_path (const char *given, const char *id)
{
  char *out = NULL;
  cleanup_free char *cwd = NULL;
  if (!given)
    return za_default_bundle_dir (id);
  if (given[0] == '/')
    return strdup (given);
  cwd = getcwd (NULL, 0);
  return cwd && asprintf (&out, "%s/%s", cwd, given) >= 0 ? out : NULL;
}

int
cli_cmd_run (int argc, char **argv)
{
  struct build_cli c = { .run = true };
  struct za_runtime rt = { 0 };
  struct za_cstate cs = { 0 };
  zagent_spec *spec = NULL;
  zagent_error *err = NULL, *warn = NULL;
  cleanup_free char *id = NULL, *bundle = NULL, *pidfile = NULL, *image_rootfs = NULL, *layer = NULL;
  cleanup_free char *rootfs = NULL;
  cleanup_close int lock = -1;
  unsigned long long grace = 0;
  bool bundle_made = false;
  sigset_t mask, old;
  int sfd = -1, ret, fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };

  c.o = zagent_options_new ();
  if (!c.o)
    return EXIT_SYSTEM;
  /* Every exit path restores this mask, also the early ones.  */
  sigprocmask (SIG_SETMASK, NULL, &old);
  ret = cli_parse_build ("run", argc, argv, &c, true,
                         "Usage: zagent run -f FILE [-s SERVICE] (--rootfs DIR | --image DIR[:TAG]) [options] [-- ARG...]\n"
                         "Build the bundle, run the container with an OCI runtime, pass its output through,\n"
                         "forward SIGINT/SIGTERM/SIGHUP, then delete it; exit with its status (128+signal).");
  if (ret >= 0)
    goto out;
  ret = EXIT_INPUT;
  if (c.image && use_image (&c, &image_rootfs, &err) < 0)
    {
      ret = cli_exit_for (err);
      goto out;
    }
  if (za_runtime_find (c.runtime, NULL, &rt, &err) < 0 || zagent_spec_load_file (&spec, c.file, &err) < 0
      || zagent_container_info (spec, c.o, &id, &grace, &err) < 0)
    {
      ret = cli_exit_for (err);
      goto out;
    }
  if (!c.image && !zagent_options_has_rootfs (c.o))
    {
      ret = cli_usage_error ("run", "%s", "needs --rootfs DIR or --image DIR[:TAG]");
      goto out;
    }
  bundle = bundle_path (c.bundle, id);
  layer = c.image ? za_layer_dir (id) : NULL;
  if (!bundle || (c.image && !layer) || asprintf (&pidfile, "%s/init.pid", bundle) < 0)
    {
      ret = EXIT_SYSTEM;
      goto out;
    }
  /* One container per id, reserved before anything is created.  */
  if (reserve_id (&rt, id, &lock, &err) < 0)
    {
      ret = cli_exit_for (err);
      goto out;
    }
  /* The record comes first: a command after a kill at any later point
     finds what to undo.  */
  cs = (struct za_cstate) { .id = id, .runtime_name = rt.name, .runtime_path = rt.path, .runtime_root = rt.root,
                            .bundle = bundle, .created = time (NULL), .stop_grace_ns = grace,
                            .keep_bundle = c.keep, .detached = c.detach, .creating = true, .creator = getpid (),
                            .layer = layer };
  if (za_state_save (&cs, &err) < 0)
    goto fail_err;
  if (c.image)
    {
      zagent_error *ze = NULL;
      if (za_layer_create (image_rootfs, layer, &rootfs, &err) < 0)
        goto fail_err;
      if (zagent_options_set_rootfs (c.o, rootfs, &ze) < 0)
        {
          err = ze;
          goto fail_err;
        }
    }
  {
    cleanup_free char *made = NULL;
    if (zagent_bundle_create (spec, c.o, bundle, &made, &warn, &err) < 0)
      {
        cli_print_warnings (&warn);
        goto fail_err;
      }
    bundle_made = true;
  }
  cli_print_warnings (&warn);
  if (c.detach)
    {
      struct za_err *e = NULL;
      /* A detached container must not hold our stdout (a caller reading
         it to the end would wait for the container).  */
      fds[0] = -1;
      fds[1] = za_bundle_open_log (bundle, "stdout.log", &e);
      fds[2] = fds[1] >= 0 ? za_bundle_open_log (bundle, "stderr.log", &e) : -1;
      if (fds[2] < 0)
        {
          err = e;
          goto fail_err;
        }
    }
  prctl (PR_SET_CHILD_SUBREAPER, 1);
  sigemptyset (&mask);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGHUP);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, &old);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  if (za_runtime_create (&rt, id, bundle, pidfile, fds, &err) < 0 || read_pid (pidfile, &cs.pid, &err) < 0)
    goto fail_err;
  cs.creating = false;
  if (za_state_save (&cs, &err) < 0 || za_runtime_start (&rt, id, &err) < 0)
    goto fail_err;
  /* Created and started: from here on, rm and stop may act on it.  */
  close (lock);
  lock = -1;
  if (c.detach)
    {
      printf ("%s\n", id);
      ret = 0;
      goto out_sig;
    }
  ret = wait_container (cs.pid, sfd);
  teardown_after_exit (id);
  goto out_sig;

fail_err:
  ret = cli_exit_for (err);
  err = NULL;
  if (!bundle_made)
    cs.bundle = NULL; /* not ours: bundle_create rolled back what it made */
  teardown (&cs);
  /* Reap whatever the runtime left us (a killed init).  */
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
out_sig:
  if (c.detach)
    {
      if (fds[1] >= 0)
        close (fds[1]);
      if (fds[2] >= 0)
        close (fds[2]);
    }
  if (sfd >= 0)
    close (sfd);
  sigprocmask (SIG_SETMASK, &old, NULL);
out:
  zagent_spec_free (spec);
  zagent_options_free (c.o);
  za_runtime_clear (&rt);
  fflush (stdout);
  return ret;
}

/* ---- lifecycle of detached containers ------------------------------ */

static int
load (const char *id, struct za_cstate *cs, struct za_runtime *rt, struct za_err **err)
{
  if (za_state_load (id, cs, err) < 0)
    return -1;
  return za_runtime_from_record (cs, rt, err);
}

/* The runtime's status, or "gone" when it definitely no longer knows the
   id (then our record is stale); NULL with an error when the runtime
   could not tell (killed, timed out).  */
static const char *
status_of (const struct za_runtime *rt, const char *id, json_t **st, struct za_err **err)
{
  if (za_runtime_state (rt, id, st, err) < 0)
    return NULL;
  return *st ? za_runtime_status (*st) : "gone";
}

/* Undo a record nobody is working on: take its lock without waiting (a
   holder is a live command that will finish the job), re-read it under
   the lock, undo.  Returns true when it was cleared.  */
static bool
clear_record (const char *id, const char *why)
{
  cleanup_close int lock = -1;
  struct za_cstate cs = { 0 };
  struct za_err *e = NULL;
  bool done = false;
  if (za_state_lock (id, 0, &lock, &e) == 0)
    {
      if (!za_state_exists (id))
        done = za_state_remove (id, &e) == 0; /* killed before its record was written */
      else if (za_state_load (id, &cs, &e) == 0 && za_container_undo (&cs, &e) == 0)
        done = true;
    }
  if (done && why)
    fprintf (stderr, "zagent: %s: %s\n", id, why);
  warn_errors (&e, "warning: ");
  za_cstate_clear (&cs);
  return done;
}

static void
ps_print (json_t *arr, const struct za_cstate *cs, const char *status)
{
  if (arr)
    json_array_append_new (arr, json_pack ("{s:s, s:s, s:i, s:s, s:s, s:I}", "id", cs->id, "status", status, "pid",
                                           (int) cs->pid, "runtime", cs->runtime_name, "bundle", cs->bundle,
                                           "created", (json_int_t) cs->created));
  else
    {
      char when[32];
      struct tm tm;
      time_t t = (time_t) cs->created;
      strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r (&t, &tm));
      printf ("%-28s %-10s %-8d %-6s %-20s %s\n", cs->id, status, (int) cs->pid, cs->runtime_name, when, cs->bundle);
    }
}

/* One record of ps.  A record still marked creating is shown as such
   while its creator lives and undone once it is dead; a record of a
   container the runtime definitely no longer has is cleared; when the
   runtime cannot tell, the record stays and shows "unknown".  */
static void
ps_one (const char *id, json_t *arr, struct za_err **err)
{
  struct za_cstate cs = { 0 };
  struct za_runtime rt = { 0 };
  json_t *st = NULL;
  const char *status;
  if (!za_state_exists (id))
    {
      clear_record (id, NULL);
      return;
    }
  if (load (id, &cs, &rt, err) < 0)
    goto out;
  if (cs.creating)
    {
      if (!clear_record (id, "undid an interrupted creation"))
        ps_print (arr, &cs, "creating");
      goto out;
    }
  status = status_of (&rt, cs.id, &st, err);
  if (status && !strcmp (status, "gone"))
    {
      if (!clear_record (id, "the runtime no longer knows it; cleared stale state"))
        ps_print (arr, &cs, "gone");
    }
  else
    ps_print (arr, &cs, status ? status : "unknown");
out:
  json_decref (st);
  za_cstate_clear (&cs);
  za_runtime_clear (&rt);
}

int
cli_cmd_ps (int argc, char **argv)
{
  struct za_err *err = NULL;
  cleanup_strv struct za_strv ids = { 0 };
  bool json = false;
  json_t *arr = NULL;
  int ret = cli_parse_json_only ("ps", argc, argv,
                                 "Usage: zagent ps [--json]\nContainers started by zagent run; stale records are cleared.\n",
                                 &json);
  if (ret >= 0)
    return ret;
  if (za_state_list (&ids, &err) < 0)
    return cli_exit_for (err);
  if (json)
    arr = json_array ();
  else
    printf ("%-28s %-10s %-8s %-6s %-20s %s\n", "CONTAINER ID", "STATUS", "PID", "RT", "CREATED", "BUNDLE");
  for (size_t i = 0; i < ids.n; i++)
    ps_one (ids.v[i], arr, &err);
  if (json)
    {
      char *s = json_dumps (arr, JSON_INDENT (2));
      if (s)
        puts (s);
      free (s);
      json_decref (arr);
    }
  warn_errors (&err, "warning: ");
  return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

/* Poll the runtime until the container is stopped or TIMEOUT passes.  */
static bool
wait_stopped (const struct za_runtime *rt, const char *id, uint64_t timeout_ns)
{
  uint64_t end = za_now_ns () + timeout_ns;
  do
    {
      json_t *st = NULL;
      struct za_err *e = NULL;
      const char *s = status_of (rt, id, &st, &e);
      bool done = s && (!strcmp (s, "stopped") || !strcmp (s, "gone"));
      json_decref (st);
      za_err_free (&e);
      if (done)
        return true;
      sleep_ms (100);
    }
  while (za_now_ns () < end);
  return false;
}

static int
stop_container (const struct za_runtime *rt, const struct za_cstate *cs, uint64_t grace, struct za_err **err)
{
  json_t *st = NULL;
  const char *s;
  bool running;
  if (cs->creating)
    return za_err_set (err, ZA_EINPUT, "container `%s` is being created; try again, or zagent rm -f %s", cs->id,
                       cs->id);
  s = status_of (rt, cs->id, &st, err);
  running = s && (!strcmp (s, "running") || !strcmp (s, "created") || !strcmp (s, "paused"));
  json_decref (st);
  if (!s)
    return -1;
  if (!running)
    return 0;
  if (za_runtime_kill (rt, cs->id, SIGTERM, false, NULL) == 0 && wait_stopped (rt, cs->id, grace))
    return 0;
  za_runtime_kill (rt, cs->id, SIGKILL, true, NULL);
  if (!wait_stopped (rt, cs->id, 10ull * 1000000000ull))
    return za_err_set (err, ETIMEDOUT, "container `%s` did not stop after SIGKILL", cs->id);
  return 0;
}

int
cli_cmd_stop (int argc, char **argv)
{
  static const struct option longopts[] = { { "time", required_argument, NULL, 't' },
                                             { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
  struct za_err *err = NULL;
  struct za_cstate cs = { 0 };
  struct za_runtime rt = { 0 };
  uint64_t grace = 0;
  bool have_time = false;
  int opt, ret = 0;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+:t:h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 't':
        {
          char *reason = NULL;
          if (za_duration_parse (optarg, &grace, &reason) < 0)
            {
              za_err_set (&err, ZA_EINPUT, "--time `%s`: invalid duration: %s", optarg, reason ? reason : "");
              free (reason);
              return cli_exit_for (err);
            }
          have_time = true;
        }
        break;
      case 'h':
        printf ("Usage: zagent stop ID [--time DURATION]\n"
                "SIGTERM, then SIGKILL after the service's stop_grace_period (default 10s) or --time.\n");
        return 0;
      default:
        return cli_bad_option ("stop", opt, argv);
      }
  if (optind != argc - 1)
    return cli_usage_error ("stop", "%s", "expected one container ID");
  if (load (argv[optind], &cs, &rt, &err) < 0)
    ret = cli_exit_for (err);
  else
    {
      if (!have_time)
        grace = cs.stop_grace_ns ? cs.stop_grace_ns : DEFAULT_STOP_GRACE_NS;
      if (stop_container (&rt, &cs, grace, &err) < 0)
        ret = cli_exit_for (err);
    }
  za_cstate_clear (&cs);
  za_runtime_clear (&rt);
  return ret;
}

int
cli_cmd_rm (int argc, char **argv)
{
  static const struct option longopts[] = { { "force", no_argument, NULL, 'f' },
                                             { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
  struct za_err *err = NULL;
  struct za_cstate cs = { 0 };
  struct za_runtime rt = { 0 };
  cleanup_close int lock = -1;
  bool force = false;
  json_t *st = NULL;
  const char *s;
  int opt, ret = 0;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+fh", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'f':
        force = true;
        break;
      case 'h':
        printf ("Usage: zagent rm [-f] ID\nRemove a stopped container, its record and (unless kept) its bundle;\n"
                "-f kills a running one first.\n");
        return 0;
      default:
        return cli_bad_option ("rm", opt, argv);
      }
  if (optind != argc - 1)
    return cli_usage_error ("rm", "%s", "expected one container ID");
  /* Check the id before the lock creates anything in its name.  */
  if (!za_state_exists (argv[optind]))
    {
      za_err_set (&err, ZA_EINPUT, "no such container `%s`", argv[optind]);
      return cli_exit_for (err);
    }
  if (za_state_lock (argv[optind], LOCK_WAIT_NS, &lock, &err) < 0 || load (argv[optind], &cs, &rt, &err) < 0)
    {
      ret = cli_exit_for (err);
      goto out;
    }
  /* An interrupted creation (its creator died: we hold the lock) has
     nothing to stop; undo what it made.  */
  if (!cs.creating)
    {
      s = status_of (&rt, cs.id, &st, &err);
      if (!s)
        {
          ret = cli_exit_for (err);
          goto out;
        }
      if (strcmp (s, "stopped") && strcmp (s, "gone"))
        {
          if (!force)
            {
              za_err_set (&err, ZA_EINPUT, "container `%s` is %s; stop it first or use rm -f", cs.id, s);
              ret = cli_exit_for (err);
              goto out;
            }
          za_runtime_kill (&rt, cs.id, SIGKILL, true, NULL);
          wait_stopped (&rt, cs.id, 10ull * 1000000000ull);
        }
    }
  if (za_container_undo (&cs, &err) < 0)
    ret = cli_exit_for (err);
out:
  json_decref (st);
  za_cstate_clear (&cs);
  za_runtime_clear (&rt);
  return ret;
}

int
cli_cmd_state (int argc, char **argv)
{
  struct za_err *err = NULL;
  struct za_cstate cs = { 0 };
  struct za_runtime rt = { 0 };
  json_t *st = NULL, *o;
  const char *s;
  char *text;
  int ret = 0;
  if (argc == 2 && (!strcmp (argv[1], "-h") || !strcmp (argv[1], "--help")))
    {
      printf ("Usage: zagent state ID\nThe container's record and the runtime's state, as JSON.\n");
      return 0;
    }
  if (argc != 2)
    return cli_usage_error ("state", "%s", "expected one container ID");
  if (load (argv[1], &cs, &rt, &err) < 0)
    {
      ret = cli_exit_for (err);
      goto out;
    }
  s = cs.creating ? "creating" : status_of (&rt, cs.id, &st, &err);
  if (!s)
    {
      ret = cli_exit_for (err);
      goto out;
    }
  if (!strcmp (s, "gone"))
    {
      clear_record (cs.id, NULL);
      za_err_set (&err, ZA_EINPUT, "container `%s` is gone (the runtime no longer knows it); cleared its state",
                  cs.id);
      ret = cli_exit_for (err);
      goto out;
    }
  o = json_pack ("{s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:b, s:O}", "id", cs.id, "status", s, "pid", (int) cs.pid,
                 "bundle", cs.bundle, "runtime", cs.runtime_name, "runtimeRoot", cs.runtime_root, "created",
                 (json_int_t) cs.created, "keepBundle", cs.keep_bundle, "runtimeState", st);
  text = o ? json_dumps (o, JSON_INDENT (2)) : NULL;
  if (text)
    puts (text);
  free (text);
  json_decref (o);
out:
  json_decref (st);
  za_cstate_clear (&cs);
  za_runtime_clear (&rt);
  return ret;
}
