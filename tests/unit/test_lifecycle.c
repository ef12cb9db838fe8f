/* Unit tests for the public container lifecycle API (include/zagent.h,
   "containers"): create, start, wait, destroy, records, stop and remove,
   driven against a fake OCI runtime (tests/unit/fake-runtime.sh, copied
   into each test's temp dir) whose init is a real background process.

   Every test gets a fresh ZLAYER_DATA_DIR under /tmp: records live in
   <data>/run/containers/<id>, bundles in <data>/bundles/<id> and the fake
   runtime's state in <data>/run/fake-rt/<id>.  The test process is a
   child subreaper, so every init the fake forks becomes our child: the
   teardown kills and reaps whatever a test left.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "zagent.h"

#include "runtime/state.h"
#include "util/err.h"
#include "util/fs.h"

#include "testutil.h"

/* Where the fake runtime is, relative to the project root (the tests'
   working directory); $FAKE_RUNTIME overrides.  */
#define FAKE_RUNTIME_SRC "tests/unit/fake-runtime.sh"

#define SPEC                                                                                       \
  SPEC_PRE                                                                                         \
  "    command:\n"                                                                                 \
  "      entrypoint: [/bin/app]\n"                                                                 \
  "    stop_grace_period: 2s\n"

#define ID1 "web-rep-1"
#define ID2 "web-rep-2"
#define ID3 "web-rep-3"

struct fx
{
  char dir[64];
  char data[128], rootfs[128], host[128], rtpath[128], calls[128];
  char rtroot[256], states[256], bundles[256];
  zagent_options *o;
  zagent_runtime *rt;
  zagent_spec *spec;
};

/* ---- helpers ---------------------------------------------------------------- */

static void
clear_knobs (void)
{
  unsetenv ("FAKE_RT_FAIL");
  unsetenv ("FAKE_RT_HANG");
  unsetenv ("FAKE_RT_MARK");
  unsetenv ("FAKE_RT_INIT_EXIT");
  unsetenv ("ZAGENT_RUNTIME_TIMEOUT");
}

/* The parent pid of PID, or -1 when it is gone.  */
static pid_t
ppid_of (pid_t pid)
{
  char p[64], buf[512];
  const char *s;
  ssize_t n;
  int fd, ppid = -1;
  snprintf (p, sizeof p, "/proc/%d/stat", (int) pid);
  fd = open (p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  s = strrchr (buf, ')');
  if (!s || sscanf (s, ") %*c %d", &ppid) != 1)
    return -1;
  return ppid;
}

/* PID runs (exists and is not a zombie).  */
static bool
alive (pid_t pid)
{
  char p[64], buf[512];
  const char *s;
  ssize_t n;
  int fd;
  char state = 0;
  snprintf (p, sizeof p, "/proc/%d/stat", (int) pid);
  fd = open (p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  s = strrchr (buf, ')');
  if (!s || sscanf (s, ") %c", &state) != 1)
    return false;
  return state != 'Z' && state != 'X';
}

/* Wait for our child PID (an init: we are its subreaper); its wait status.  */
static int
reap (pid_t pid)
{
  int st = 0;
  pid_t w;
  while ((w = waitpid (pid, &st, 0)) < 0 && errno == EINTR)
    ;
  if (w != pid)
    fail_msg ("waitpid %d: %s", (int) pid, strerror (errno));
  return st;
}

/* PID was killed by SIGKILL (by the runtime's delete --force or kill) and
   is reaped now.  */
static void
assert_killed (pid_t pid)
{
  int st = reap (pid);
  if (!WIFSIGNALED (st) || WTERMSIG (st) != SIGKILL)
    fail_msg ("init %d: wait status %#x, not killed by SIGKILL", (int) pid, st);
}

/* Kill and reap PID when it is still a child of ours.  */
static void
kill_reap (pid_t pid)
{
  if (pid > 0 && ppid_of (pid) == getpid ())
    {
      kill (pid, SIGKILL);
      reap (pid);
    }
}

static bool
record_exists (struct fx *f, const char *id)
{
  char p[PATH_MAX];
  snprintf (p, sizeof p, "%s/%s/state.json", f->states, id);
  return exists (p);
}

/* Nothing of ID is left: no record dir (lock included), no bundle, no
   runtime state.  */
static void
assert_no_trace_at (struct fx *f, const char *id, int line)
{
  if (exists_in (f->states, id))
    fail_msg ("line %d: record dir of %s left behind", line, id);
  if (exists_in (f->bundles, id))
    fail_msg ("line %d: bundle of %s left behind", line, id);
  if (exists_in (f->rtroot, id))
    fail_msg ("line %d: runtime state of %s left behind", line, id);
}
#define assert_no_trace(f, id) assert_no_trace_at (f, id, __LINE__)

/* Record, bundle and runtime state of ID are all there.  */
static void
assert_intact_at (struct fx *f, const char *id, int line)
{
  char p[PATH_MAX];
  snprintf (p, sizeof p, "%s/%s/config.json", f->bundles, id);
  if (!record_exists (f, id))
    fail_msg ("line %d: record of %s missing", line, id);
  if (!exists (p))
    fail_msg ("line %d: bundle of %s missing", line, id);
  if (!exists_in (f->rtroot, id))
    fail_msg ("line %d: runtime state of %s missing", line, id);
}
#define assert_intact(f, id) assert_intact_at (f, id, __LINE__)

/* Lines of the fake's call log starting with PREFIX.  */
static int
count_calls (struct fx *f, const char *prefix)
{
  char *log, *save = NULL;
  int n = 0;
  if (!exists (f->calls))
    return 0;
  log = slurp (f->calls, NULL);
  for (char *l = strtok_r (log, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    if (!strncmp (l, prefix, strlen (prefix)))
      n++;
  free (log);
  return n;
}

/* The pid of the last init the fake forked.  */
static pid_t
last_init (struct fx *f)
{
  char *log = slurp (f->calls, NULL), *save = NULL;
  pid_t pid = -1;
  for (char *l = strtok_r (log, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    if (!strncmp (l, "init ", 5))
      pid = (pid_t) atoi (l + 5);
  free (log);
  assert_true (pid > 0);
  return pid;
}

static void
set_replica (struct fx *f, unsigned n)
{
  zagent_error *err = NULL;
  assert_int_equal (zagent_options_set_replica (f->o, n, &err), 0);
  assert_null (err);
}

/* Create replica N (not started); failures fail the test.  */
static zagent_container *
create_ok (struct fx *f, unsigned replica, unsigned flags)
{
  zagent_container *c = NULL;
  zagent_error *err = NULL, *warn = NULL;
  set_replica (f, replica);
  if (zagent_container_create (f->spec, f->o, f->rt, NULL, flags, NULL, &c, &warn, &err) < 0)
    {
      dump_chain ("error", err);
      dump_chain ("warning", warn);
      fail_msg ("create replica %u failed", replica);
    }
  assert_null (err);
  zagent_error_free (&warn);
  assert_non_null (c);
  return c;
}

/* Create and start replica N.  */
static zagent_container *
run_ok (struct fx *f, unsigned replica, unsigned flags)
{
  zagent_container *c = create_ok (f, replica, flags);
  zagent_error *err = NULL;
  if (zagent_container_start (c, &err) < 0)
    {
      dump_chain ("error", err);
      fail_msg ("start failed");
    }
  assert_null (err);
  return c;
}

/* Create, start and let go of replica N (it keeps running); its init pid.  */
static pid_t
run_detached (struct fx *f, unsigned replica)
{
  zagent_container *c = run_ok (f, replica, ZAGENT_CONTAINER_REAP);
  pid_t pid = zagent_container_pid (c);
  zagent_container_free (c);
  assert_true (alive (pid));
  return pid;
}

/* The status record_get reports for ID.  */
static char *
status_of (const char *id)
{
  zagent_record *r = NULL;
  zagent_error *err = NULL;
  char *s;
  if (zagent_record_get (&r, id, &err) < 0)
    {
      dump_chain ("error", err);
      fail_msg ("record_get %s failed", id);
    }
  s = strdup (zagent_record_status (r));
  zagent_record_free (r);
  return s;
}

static void
assert_status (const char *id, const char *want)
{
  char *s = status_of (id);
  if (strcmp (s, want) != 0)
    fail_msg ("%s: status `%s`, want `%s`", id, s, want);
  free (s);
}

/* ERR is one or more errors; the first is an input error (or a system
   one, INPUT false) and some error's message contains NEEDLE.  */
static void
assert_err_at (zagent_error **err, bool input, const char *needle, int line)
{
  char ctx[32];
  snprintf (ctx, sizeof ctx, "line %d", line);
  if (!*err)
    fail_msg ("line %d: no error", line);
  require_chain_has (ctx, *err, "error", needle);
  if (zagent_error_is_input (*err) != input)
    {
      dump_chain ("error", *err);
      fail_msg ("line %d: want %s error", line, input ? "an input" : "a system");
    }
  zagent_error_free (err);
}
#define assert_err(err, input, needle) assert_err_at (err, input, needle, __LINE__)

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---- fixture ---------------------------------------------------------------- */

static int
group_setup (void **state)
{
  (void) state;
  /* Every init the fake runtime forks (a grandchild) becomes our child.  */
  return prctl (PR_SET_CHILD_SUBREAPER, 1) < 0 ? -1 : 0;
}

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  zagent_error *err = NULL;
  const char *src = getenv ("FAKE_RUNTIME");
  char *script = NULL, *real = NULL;
  size_t len = 0;
  if (!f)
    return -1;
  if (make_tmpdir_sub (f->dir, sizeof f->dir, "/tmp/za-lc-XXXXXX", f->host, sizeof f->host, "host") < 0)
    {
      free (f);
      return -1;
    }
  /* The canonical path: records name the runtime by its real path.  */
  real = realpath (f->dir, NULL);
  if (!real || strlen (real) >= sizeof f->dir)
    return -1;
  snprintf (f->dir, sizeof f->dir, "%s", real);
  free (real);
  snprintf (f->host, sizeof f->host, "%s/host", f->dir);
  snprintf (f->data, sizeof f->data, "%s/data", f->dir);
  snprintf (f->rootfs, sizeof f->rootfs, "%s/rootfs", f->dir);
  snprintf (f->rtpath, sizeof f->rtpath, "%s/bin/fake-rt", f->dir);
  snprintf (f->calls, sizeof f->calls, "%s/calls", f->dir);
  snprintf (f->rtroot, sizeof f->rtroot, "%s/run/fake-rt", f->data);
  snprintf (f->states, sizeof f->states, "%s/run/containers", f->data);
  snprintf (f->bundles, sizeof f->bundles, "%s/bundles", f->data);
  if (mkdir (f->data, 0755) < 0 || mkdir (f->rootfs, 0755) < 0)
    return -1;
  /* A copy, executable whatever mode the checkout gave the script.  */
  script = slurp (src && *src ? src : FAKE_RUNTIME_SRC, &len);
  write_data (f->rtpath, script, len, 0755);
  free (script);

  clear_knobs ();
  unsetenv ("ZLAYER_CGROUP_PARENT");
  unsetenv ("ZAGENT_HOST_ROOT");
  unsetenv ("ZAGENT_RUNTIME");
  setenv ("ZLAYER_DATA_DIR", f->data, 1);
  setenv ("FAKE_RT_LOG", f->calls, 1);

  f->o = zagent_options_new ();
  if (!f->o || zagent_options_set_host_root (f->o, f->host, &err) < 0
      || zagent_options_set_rootless (f->o, 0, &err) < 0 || zagent_options_set_rootfs (f->o, f->rootfs, &err) < 0
      || zagent_spec_load_buffer (&f->spec, "deploy.yaml", SPEC, strlen (SPEC), &err) < 0
      || zagent_runtime_find (&f->rt, f->rtpath, &err) < 0)
    {
      dump_chain ("setup", err);
      zagent_error_free (&err);
      return -1;
    }
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  int st;
  if (!f)
    return 0;
  clear_knobs ();
  /* Kill every init the fake still knows, then reap what is ours.  */
  for (unsigned r = 1; r <= 9; r++)
    {
      char p[PATH_MAX], *pid;
      snprintf (p, sizeof p, "%s/web-rep-%u/pid", f->rtroot, r);
      if (!exists (p))
        continue;
      pid = slurp (p, NULL);
      kill_reap ((pid_t) atoi (pid));
      free (pid);
    }
  if (exists (f->calls))
    {
      char *log = slurp (f->calls, NULL), *save = NULL;
      for (char *l = strtok_r (log, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
        if (!strncmp (l, "init ", 5))
          kill_reap ((pid_t) atoi (l + 5));
      free (log);
    }
  while (waitpid (-1, &st, WNOHANG) > 0)
    ;
  zagent_runtime_free (f->rt);
  zagent_spec_free (f->spec);
  zagent_options_free (f->o);
  unsetenv ("ZLAYER_DATA_DIR");
  unsetenv ("FAKE_RT_LOG");
  return fixture_free (f, f->dir);
}

/* ---- create, start, records --------------------------------------------------- */

static void
test_create_start_list (void **state)
{
  struct fx *f = *state;
  zagent_container *c;
  zagent_record **v = NULL, *r = NULL;
  zagent_error *err = NULL, *notices = NULL;
  size_t n = 0;
  char want[PATH_MAX], *text;
  json_t *j;
  long long t0 = (long long) time (NULL);
  pid_t pid;

  assert_string_equal (zagent_runtime_name (f->rt), "fake-rt");
  c = create_ok (f, 1, ZAGENT_CONTAINER_REAP);
  assert_string_equal (zagent_container_id (c), ID1);
  snprintf (want, sizeof want, "%s/" ID1, f->bundles);
  assert_string_equal (zagent_container_bundle (c), want);
  pid = zagent_container_pid (c);
  assert_true (pid > 0);
  assert_int_equal (pid, last_init (f));
  assert_true (alive (pid));
  assert_intact (f, ID1);
  /* the runtime was asked exactly as runc would be */
  snprintf (want, sizeof want, "create --bundle %s/" ID1 " --pid-file %s/" ID1 "/init.pid " ID1, f->bundles,
            f->bundles);
  assert_int_equal (count_calls (f, want), 1);
  assert_int_equal (count_calls (f, "start"), 0);

  /* created, not yet started */
  assert_int_equal (zagent_record_list (&v, &n, &notices, &err), 0);
  assert_null (err);
  assert_null (notices);
  assert_int_equal (n, 1);
  assert_string_equal (zagent_record_id (v[0]), ID1);
  assert_string_equal (zagent_record_status (v[0]), "created");
  zagent_record_list_free (v, n);

  assert_int_equal (zagent_container_start (c, &err), 0);
  assert_null (err);
  assert_int_equal (count_calls (f, "start " ID1), 1);
  /* a second start is refused without asking the runtime */
  assert_int_equal (zagent_container_start (c, &err), -1);
  assert_err (&err, true, "already started");
  assert_int_equal (count_calls (f, "start"), 1);

  assert_int_equal (zagent_record_list (&v, &n, &notices, &err), 0);
  assert_null (err);
  assert_null (notices);
  assert_int_equal (n, 1);
  assert_string_equal (zagent_record_id (v[0]), ID1);
  assert_string_equal (zagent_record_status (v[0]), "running");
  assert_int_equal (zagent_record_pid (v[0]), pid);
  assert_string_equal (zagent_record_runtime (v[0]), "fake-rt");
  snprintf (want, sizeof want, "%s/" ID1, f->bundles);
  assert_string_equal (zagent_record_bundle (v[0]), want);
  assert_true (zagent_record_created (v[0]) >= t0 && zagent_record_created (v[0]) <= (long long) time (NULL));
  zagent_record_list_free (v, n);

  /* the JSON: the record plus the runtime's own state document */
  assert_int_equal (zagent_record_get (&r, ID1, &err), 0);
  assert_null (err);
  assert_string_equal (zagent_record_status (r), "running");
  text = zagent_record_to_json (r);
  assert_non_null (text);
  j = json_loads (text, 0, NULL);
  assert_non_null (j);
  assert_string_equal (json_string_value (jp (j, "id")), ID1);
  assert_string_equal (json_string_value (jp (j, "status")), "running");
  assert_int_equal (json_integer_value (jp (j, "pid")), pid);
  assert_string_equal (json_string_value (jp (j, "runtime")), "fake-rt");
  assert_string_equal (json_string_value (jp (j, "runtimeRoot")), f->rtroot);
  assert_string_equal (json_string_value (jp (j, "runtimeState.status")), "running");
  assert_string_equal (json_string_value (jp (j, "runtimeState.id")), ID1);
  assert_int_equal (json_integer_value (jp (j, "runtimeState.pid")), pid);
  json_decref (j);
  free (text);
  zagent_record_free (r);

  /* freeing a started container leaves it running, its record kept */
  zagent_container_free (c);
  assert_true (alive (pid));
  assert_status (ID1, "running");
  assert_int_equal (zagent_container_remove (ID1, true, &err), 0);
  assert_null (err);
  assert_killed (pid);
  assert_no_trace (f, ID1);
}

/* ---- wait ------------------------------------------------------------------------ */

static void
test_wait_exit_status (void **state)
{
  struct fx *f = *state;
  zagent_container *c;
  zagent_error *err = NULL;
  int status = -1;
  pid_t pid;

  /* killed: 128 + signal, and the init is reaped */
  c = run_ok (f, 1, ZAGENT_CONTAINER_REAP);
  pid = zagent_container_pid (c);
  assert_int_equal (kill (pid, SIGTERM), 0);
  assert_int_equal (zagent_container_wait (c, -1, &status, &err), 0);
  assert_null (err);
  assert_int_equal (status, 128 + SIGTERM);
  assert_int_equal (waitpid (pid, NULL, WNOHANG), -1); /* reaped by wait */
  assert_int_equal (errno, ECHILD);
  assert_status (ID1, "stopped");
  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_no_trace (f, ID1);

  /* an exit status of its own */
  setenv ("FAKE_RT_INIT_EXIT", "7", 1);
  c = run_ok (f, 1, ZAGENT_CONTAINER_REAP);
  assert_int_equal (zagent_container_wait (c, -1, &status, &err), 0);
  assert_null (err);
  assert_int_equal (status, 7);
  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_no_trace (f, ID1);
  unsetenv ("FAKE_RT_INIT_EXIT");

  /* a signal read from the signalfd is forwarded to the init (SIGCHLD,
     in the same set, only wakes the wait up) */
  {
    sigset_t set, old;
    int sfd;
    sigemptyset (&set);
    sigaddset (&set, SIGUSR1);
    sigaddset (&set, SIGCHLD);
    assert_int_equal (sigprocmask (SIG_BLOCK, &set, &old), 0);
    sfd = signalfd (-1, &set, SFD_CLOEXEC);
    assert_true (sfd >= 0);
    c = run_ok (f, 1, ZAGENT_CONTAINER_REAP);
    pid = zagent_container_pid (c);
    assert_int_equal (raise (SIGUSR1), 0);
    alarm (20); /* a lost wake-up fails the test instead of hanging it */
    assert_int_equal (zagent_container_wait (c, sfd, &status, &err), 0);
    alarm (0);
    assert_null (err);
    assert_int_equal (status, 128 + SIGUSR1);
    assert_false (alive (pid));
    close (sfd);
    assert_int_equal (sigprocmask (SIG_SETMASK, &old, NULL), 0);
    assert_int_equal (zagent_container_destroy (c, &err), 0);
    assert_null (err);
    assert_no_trace (f, ID1);
  }
}

/* ---- destroy ----------------------------------------------------------------------- */

static void
test_destroy (void **state)
{
  struct fx *f = *state;
  zagent_container *c;
  zagent_error *err = NULL;
  pid_t pid;

  /* started and running: deleted in the runtime (forced), bundle and
     record removed */
  c = run_ok (f, 1, ZAGENT_CONTAINER_REAP);
  pid = zagent_container_pid (c);
  assert_intact (f, ID1);
  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_int_equal (count_calls (f, "delete --force " ID1), 1);
  assert_killed (pid);
  assert_no_trace (f, ID1);

  /* created, never started */
  c = create_ok (f, 1, ZAGENT_CONTAINER_REAP);
  pid = zagent_container_pid (c);
  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_killed (pid);
  assert_no_trace (f, ID1);

  /* freeing an unstarted container destroys it */
  c = create_ok (f, 1, ZAGENT_CONTAINER_REAP);
  pid = zagent_container_pid (c);
  zagent_container_free (c);
  assert_killed (pid);
  assert_no_trace (f, ID1);

  /* KEEP_BUNDLE: everything but the bundle goes */
  c = run_ok (f, 2, ZAGENT_CONTAINER_REAP | ZAGENT_CONTAINER_KEEP_BUNDLE);
  pid = zagent_container_pid (c);
  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_killed (pid);
  assert_false (exists_in (f->states, ID2));
  assert_false (exists_in (f->rtroot, ID2));
  assert_true (exists_in (f->bundles, ID2 "/config.json"));

  assert_int_equal (zagent_container_destroy (NULL, &err), 0);
  assert_null (err);
}

/* ---- one container per id ----------------------------------------------------------- */

static void
test_create_twice (void **state)
{
  struct fx *f = *state;
  zagent_container *c, *c2 = NULL;
  zagent_error *err = NULL, *warn = NULL;
  pid_t pid;

  c = create_ok (f, 1, ZAGENT_CONTAINER_REAP);
  pid = zagent_container_pid (c);

  /* reserved until started: busy */
  assert_int_equal (zagent_container_create (f->spec, f->o, f->rt, NULL, 0, NULL, &c2, &warn, &err), -1);
  assert_null (c2);
  assert_err (&err, true, "busy");
  zagent_error_free (&warn);
  assert_intact (f, ID1);

  /* started: it exists */
  assert_int_equal (zagent_container_start (c, &err), 0);
  assert_null (err);
  assert_int_equal (zagent_container_create (f->spec, f->o, f->rt, NULL, 0, NULL, &c2, &warn, &err), -1);
  assert_null (c2);
  assert_err (&err, true, "already exists");
  zagent_error_free (&warn);

  /* ... and the first is untouched: one create, no delete */
  assert_int_equal (count_calls (f, "create"), 1);
  assert_int_equal (count_calls (f, "delete"), 0);
  assert_intact (f, ID1);
  assert_true (alive (pid));
  assert_status (ID1, "running");

  /* another replica is another id */
  c2 = run_ok (f, 2, ZAGENT_CONTAINER_REAP);
  assert_string_equal (zagent_container_id (c2), ID2);
  assert_int_equal (zagent_container_destroy (c2, &err), 0);
  assert_null (err);
  assert_intact (f, ID1);

  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_killed (pid);
  assert_no_trace (f, ID1);
}

/* ---- the runtime refuses ------------------------------------------------------------ */

static void
test_runtime_create_fails (void **state)
{
  struct fx *f = *state;
  zagent_container *c = NULL;
  zagent_error *err = NULL, *warn = NULL;
  zagent_record **v = NULL;
  size_t n = 9;
  pid_t pid;

  /* the runtime fails before it made anything */
  setenv ("FAKE_RT_FAIL", "create", 1);
  set_replica (f, 1);
  assert_int_equal (zagent_container_create (f->spec, f->o, f->rt, NULL, ZAGENT_CONTAINER_REAP, NULL, &c, &warn,
                                             &err),
                    -1);
  assert_null (c);
  /* the runtime's own message, named by the runtime and verb */
  require_chain_has (NULL, err, "error", "fake-rt create: fake create failed: exec: /bin/app: no such file");
  zagent_error_free (&err);
  if (warn)
    {
      dump_chain ("warning", warn);
      fail_msg ("cleanup after a failed create warned");
    }
  assert_no_trace (f, ID1);
  assert_int_equal (count_calls (f, "delete"), 0);

  /* the runtime fails after it made its state and the init */
  setenv ("FAKE_RT_FAIL", "create-late", 1);
  assert_int_equal (zagent_container_create (f->spec, f->o, f->rt, NULL, ZAGENT_CONTAINER_REAP, NULL, &c, &warn,
                                             &err),
                    -1);
  assert_null (c);
  require_chain_has (NULL, err, "error", "fake create failed late: hook exited 1");
  zagent_error_free (&err);
  if (warn)
    {
      dump_chain ("warning", warn);
      fail_msg ("cleanup after a failed create warned");
    }
  pid = last_init (f);
  assert_int_equal (count_calls (f, "delete --force " ID1), 1);
  assert_killed (pid);
  assert_no_trace (f, ID1);

  assert_int_equal (zagent_record_list (&v, &n, NULL, &err), 0);
  assert_null (err);
  assert_int_equal (n, 0);
  zagent_record_list_free (v, n);

  /* the id is free again */
  unsetenv ("FAKE_RT_FAIL");
  c = run_ok (f, 1, ZAGENT_CONTAINER_REAP);
  pid = zagent_container_pid (c);
  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_killed (pid);
  assert_no_trace (f, ID1);
}

/* ---- a runtime that never answers --------------------------------------------------- */

static void
test_hung_runtime (void **state)
{
  struct fx *f = *state;
  zagent_record **v = NULL, *r = NULL;
  zagent_error *err = NULL, *notices = NULL;
  size_t n = 0;
  double t0, dt;
  char *text;
  json_t *j;
  pid_t pid = run_detached (f, 1);

  setenv ("ZAGENT_RUNTIME_TIMEOUT", "1s", 1);
  setenv ("FAKE_RT_HANG", "state", 1);

  t0 = now_s ();
  assert_int_equal (zagent_record_list (&v, &n, &notices, &err), 0);
  dt = now_s () - t0;
  assert_null (err);
  if (dt > 5.0)
    fail_msg ("record_list took %.1f s with a 1 s runtime timeout", dt);
  assert_int_equal (n, 1);
  assert_string_equal (zagent_record_id (v[0]), ID1);
  assert_string_equal (zagent_record_status (v[0]), "unknown");
  require_chain_has (NULL, notices, "notice", "no answer");
  zagent_error_free (&notices);
  text = zagent_record_to_json (v[0]);
  assert_non_null (text);
  j = json_loads (text, 0, NULL);
  assert_non_null (j);
  assert_string_equal (json_string_value (jp (j, "status")), "unknown");
  assert_true (!jp (j, "runtimeState") || json_is_null (jp (j, "runtimeState")));
  json_decref (j);
  free (text);
  zagent_record_list_free (v, n);
  assert_intact (f, ID1);

  /* a timeout is no answer: get fails (not as "gone"), nothing cleared */
  assert_int_equal (zagent_record_get (&r, ID1, &err), -1);
  assert_null (r);
  assert_err (&err, false, "no answer");
  assert_intact (f, ID1);

  /* rm -f removes nothing; stop fails instead of hanging (rm -f asks
     the runtime's delete --force directly: that one hangs too) */
  setenv ("ZAGENT_RUNTIME_TIMEOUT", "300ms", 1); /* the rest, faster */
  setenv ("FAKE_RT_HANG", "state,delete", 1);
  t0 = now_s ();
  assert_int_equal (zagent_container_remove (ID1, true, &err), -1);
  assert_err (&err, false, "no answer");
  assert_int_equal (zagent_container_stop (ID1, 0, &err), -1);
  assert_err (&err, false, "no answer");
  dt = now_s () - t0;
  if (dt > 4.0)
    fail_msg ("remove + stop took %.1f s with a 300 ms runtime timeout", dt);
  assert_intact (f, ID1);
  assert_true (alive (pid));
  assert_int_equal (count_calls (f, "delete --force " ID1), 1); /* asked, never answered */
  assert_int_equal (count_calls (f, "kill"), 0);

  /* answering again: removed */
  unsetenv ("FAKE_RT_HANG");
  unsetenv ("ZAGENT_RUNTIME_TIMEOUT");
  assert_status (ID1, "running");
  assert_int_equal (zagent_container_remove (ID1, true, &err), 0);
  assert_null (err);
  assert_killed (pid);
  assert_no_trace (f, ID1);
}

/* ---- stop and remove ------------------------------------------------------------------- */

static void
test_remove (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;
  pid_t pid = run_detached (f, 1);

  /* running: refused without force, nothing touched */
  assert_int_equal (zagent_container_remove (ID1, false, &err), -1);
  assert_err (&err, true, "is running");
  assert_intact (f, ID1);
  assert_true (alive (pid));
  assert_int_equal (count_calls (f, "delete"), 0);
  assert_int_equal (count_calls (f, "kill"), 0);

  /* forced: one runtime call, delete --force, kills and deletes; then
     everything removed */
  assert_int_equal (zagent_container_remove (ID1, true, &err), 0);
  assert_null (err);
  assert_int_equal (count_calls (f, "delete --force " ID1), 1);
  assert_int_equal (count_calls (f, "state " ID1), 1); /* only the refused rm above asked */
  assert_int_equal (count_calls (f, "kill"), 0);
  assert_killed (pid);
  assert_no_trace (f, ID1);

  /* stopped (by zagent_container_stop): removed without force */
  pid = run_detached (f, 2);
  assert_int_equal (zagent_container_stop (ID2, 0, &err), 0);
  assert_null (err);
  assert_int_equal (count_calls (f, "kill " ID2 " 15"), 1);
  assert_false (alive (pid));
  assert_status (ID2, "stopped");
  assert_int_equal (zagent_container_remove (ID2, false, &err), 0);
  assert_null (err);
  assert_int_equal (WTERMSIG (reap (pid)), SIGTERM);
  assert_no_trace (f, ID2);

  /* unknown ids: input errors, and nothing made in their name */
  assert_int_equal (zagent_container_remove (ID3, false, &err), -1);
  assert_err (&err, true, "no such container");
  assert_int_equal (zagent_container_remove (ID3, true, &err), -1);
  assert_err (&err, true, "no such container");
  assert_false (exists_in (f->states, ID3));
  assert_int_equal (zagent_container_remove ("../escape", true, &err), -1);
  assert_non_null (err);
  assert_true (zagent_error_is_input (err));
  zagent_error_free (&err);
  assert_int_equal (zagent_container_stop (ID3, 0, &err), -1);
  assert_err (&err, true, "no such container");
}

/* ---- the runtime forgot it ------------------------------------------------------------- */

static void
test_forgotten_by_runtime (void **state)
{
  struct fx *f = *state;
  zagent_record *r = NULL, **v = NULL;
  zagent_error *err = NULL, *notices = NULL;
  size_t n = 9;
  char p[PATH_MAX];
  pid_t pid = run_detached (f, 1);

  /* behind zagent's back: the init dies and the runtime drops its state */
  kill_reap (pid);
  snprintf (p, sizeof p, "%s/" ID1, f->rtroot);
  assert_int_equal (rm_rf (p), 0);

  assert_int_equal (zagent_record_get (&r, ID1, &err), -1);
  assert_null (r);
  assert_err (&err, true, "gone");
  assert_no_trace (f, ID1);
  /* cleared: now it is no such container */
  assert_int_equal (zagent_record_get (&r, ID1, &err), -1);
  assert_err (&err, true, "no such container");

  /* the list clears such a record too, with a notice */
  pid = run_detached (f, 2);
  kill_reap (pid);
  snprintf (p, sizeof p, "%s/" ID2, f->rtroot);
  assert_int_equal (rm_rf (p), 0);
  assert_int_equal (zagent_record_list (&v, &n, &notices, &err), 0);
  assert_null (err);
  assert_int_equal (n, 0);
  zagent_record_list_free (v, n);
  require_chain_has (NULL, notices, "notice", ID2 ": the runtime no longer knows it");
  zagent_error_free (&notices);
  assert_no_trace (f, ID2);
}

/* ---- interrupted creations ---------------------------------------------------------------- */

/* A creator SIGKILLed while the runtime's create hangs (after the runtime
   made its state and the init): "creating" while it lives, undone by the
   next list once it is dead.  */
static void
test_interrupted_creation_killed (void **state)
{
  struct fx *f = *state;
  zagent_record **v = NULL;
  zagent_error *err = NULL, *notices = NULL;
  size_t n = 0;
  char mark[PATH_MAX], p[PATH_MAX], *rec;
  json_t *j;
  pid_t child, init;
  int st;

  snprintf (mark, sizeof mark, "%s/hanging", f->dir);
  set_replica (f, 1);
  child = fork ();
  assert_true (child >= 0);
  if (child == 0)
    {
      zagent_container *c = NULL;
      zagent_error *e = NULL;
      setenv ("FAKE_RT_HANG", "create", 1);
      setenv ("FAKE_RT_MARK", mark, 1);
      zagent_container_create (f->spec, f->o, f->rt, NULL, 0, NULL, &c, NULL, &e);
      _exit (3); /* never gets here: killed first */
    }
  for (int i = 0; i < 500 && !exists (mark); i++)
    nanosleep (&(struct timespec) { 0, 20 * 1000 * 1000 }, NULL);
  if (!exists (mark))
    {
      kill (child, SIGKILL);
      waitpid (child, NULL, 0);
      fail_msg ("the runtime's create never ran");
    }
  init = last_init (f);

  /* the record was written before anything else, marked creating */
  snprintf (p, sizeof p, "%s/" ID1 "/state.json", f->states);
  rec = slurp (p, NULL);
  j = json_loads (rec, 0, NULL);
  free (rec);
  assert_non_null (j);
  assert_true (json_is_true (jp (j, "creating")));
  assert_int_equal (json_integer_value (jp (j, "creator")), child);
  json_decref (j);

  /* its creator lives: listed as creating, left alone */
  assert_int_equal (zagent_record_list (&v, &n, &notices, &err), 0);
  assert_null (err);
  assert_null (notices);
  assert_int_equal (n, 1);
  assert_string_equal (zagent_record_status (v[0]), "creating");
  zagent_record_list_free (v, n);
  assert_intact (f, ID1);

  assert_int_equal (kill (child, SIGKILL), 0);
  assert_int_equal (waitpid (child, &st, 0), child);
  assert_true (WIFSIGNALED (st) && WTERMSIG (st) == SIGKILL);

  assert_int_equal (zagent_record_list (&v, &n, &notices, &err), 0);
  assert_null (err);
  assert_int_equal (n, 0);
  zagent_record_list_free (v, n);
  require_chain_has (NULL, notices, "notice", ID1 ": undid an interrupted creation");
  zagent_error_free (&notices);
  assert_int_equal (count_calls (f, "delete --force " ID1), 1);
  assert_killed (init);
  assert_no_trace (f, ID1);
}

/* A record as za_state_save writes it, marked creating, whose creator has
   exited (its lock died with it), with a real bundle: undone by the list,
   by remove (without force) and by a new create of the same id.  */
static void
write_creating_record (struct fx *f, unsigned replica, pid_t creator)
{
  zagent_error *err = NULL;
  char *bundle = NULL, *id = NULL, rt_real[PATH_MAX];
  unsigned long long grace = 0;
  struct za_cstate cs;
  set_replica (f, replica);
  assert_int_equal (zagent_container_info (f->spec, f->o, &id, &grace, &err), 0);
  assert_int_equal (zagent_bundle_create (f->spec, f->o, NULL, &bundle, NULL, &err), 0);
  assert_null (err);
  assert_non_null (realpath (f->rtpath, rt_real));
  cs = (struct za_cstate) { .id = id, .runtime_name = (char *) "fake-rt", .runtime_path = rt_real,
                            .runtime_root = f->rtroot, .bundle = bundle, .created = time (NULL),
                            .stop_grace_ns = grace, .creating = true, .creator = creator };
  assert_int_equal (za_state_save (&cs, &err), 0);
  assert_null (err);
  assert_true (record_exists (f, id));
  free (bundle);
  free (id);
}

static void
test_interrupted_creation_record (void **state)
{
  struct fx *f = *state;
  zagent_record **v = NULL;
  zagent_error *err = NULL, *notices = NULL;
  zagent_container *c;
  size_t n = 0;
  unsigned long long grace = 0;
  char *id = NULL;
  pid_t dead = fork ();
  assert_true (dead >= 0);
  if (dead == 0)
    _exit (0);
  assert_int_equal (waitpid (dead, NULL, 0), dead);

  assert_int_equal (zagent_container_info (f->spec, f->o, &id, &grace, &err), 0);
  assert_int_equal (grace, 2000000000ull);
  free (id);

  write_creating_record (f, 1, dead);
  write_creating_record (f, 2, dead);
  write_creating_record (f, 3, dead);

  /* remove, without force: nothing to stop, undone */
  assert_int_equal (zagent_container_remove (ID2, false, &err), 0);
  assert_null (err);
  assert_no_trace (f, ID2);

  /* a new create of the id undoes it first */
  c = run_ok (f, 3, ZAGENT_CONTAINER_REAP);
  assert_string_equal (zagent_container_id (c), ID3);
  assert_status (ID3, "running");

  /* the list undoes the other one and shows the new container */
  assert_int_equal (zagent_record_list (&v, &n, &notices, &err), 0);
  assert_null (err);
  assert_int_equal (n, 1);
  assert_string_equal (zagent_record_id (v[0]), ID3);
  zagent_record_list_free (v, n);
  require_chain_has (NULL, notices, "notice", ID1 ": undid an interrupted creation");
  assert_int_equal (za_err_count (notices), 1);
  zagent_error_free (&notices);
  assert_no_trace (f, ID1);

  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_no_trace (f, ID3);
  /* the runtime never knew the undone ones: no delete was needed */
  assert_int_equal (count_calls (f, "delete --force " ID1), 0);
  assert_int_equal (count_calls (f, "delete --force " ID2), 0);
}

/* ---- misc ---------------------------------------------------------------------------- */

static void
test_runtime_find_and_inputs (void **state)
{
  struct fx *f = *state;
  zagent_runtime *rt = NULL;
  zagent_container *c = NULL;
  zagent_options *o;
  zagent_error *err = NULL;
  char p[PATH_MAX];

  /* not executable / not on PATH: input errors */
  snprintf (p, sizeof p, "%s/calls-none", f->dir);
  assert_int_equal (zagent_runtime_find (&rt, p, &err), -1);
  assert_null (rt);
  assert_err (&err, true, "not an executable file");
  assert_int_equal (zagent_runtime_find (&rt, "no-such-runtime-zagent", &err), -1);
  assert_err (&err, true, "not found on PATH");

  /* $ZAGENT_RUNTIME when no name is given */
  setenv ("ZAGENT_RUNTIME", f->rtpath, 1);
  assert_int_equal (zagent_runtime_find (&rt, NULL, &err), 0);
  assert_null (err);
  assert_string_equal (zagent_runtime_name (rt), "fake-rt");
  zagent_runtime_free (rt);
  rt = NULL;
  unsetenv ("ZAGENT_RUNTIME");

  /* a bad timeout is an input error */
  setenv ("ZAGENT_RUNTIME_TIMEOUT", "soon", 1);
  assert_int_equal (zagent_runtime_find (&rt, f->rtpath, &err), -1);
  assert_err (&err, true, "ZAGENT_RUNTIME_TIMEOUT");
  unsetenv ("ZAGENT_RUNTIME_TIMEOUT");

  /* no root filesystem: refused before anything is made */
  o = zagent_options_new ();
  assert_non_null (o);
  assert_int_equal (zagent_container_create (f->spec, o, f->rt, NULL, 0, NULL, &c, NULL, &err), -1);
  assert_null (c);
  assert_err (&err, true, "root filesystem");
  zagent_options_free (o);
  assert_int_equal (zagent_container_create (f->spec, f->o, f->rt, "", 0, NULL, &c, NULL, &err), -1);
  assert_err (&err, true, "empty");
  assert_no_trace (f, ID1);
  assert_int_equal (count_calls (f, "create"), 0);
}


/* An id the runtime has but zagent never recorded is refused and the
   runtime's container left alone.  */
static void
test_foreign_runtime_id (void **state)
{
  struct fx *f = *state;
  zagent_container *c = NULL;
  zagent_record **v = NULL;
  zagent_error *err = NULL, *warn = NULL, *notices = NULL;
  size_t n = 9;
  char p[PATH_MAX];

  snprintf (p, sizeof p, "%s/" ID1, f->rtroot);
  assert_int_equal (za_mkdir_p (p, 0700, NULL), 0);
  write_in (p, "mine", "not zagent's");
  set_replica (f, 1);
  assert_int_equal (zagent_container_create (f->spec, f->o, f->rt, NULL, 0, NULL, &c, &warn, &err), -1);
  assert_null (c);
  assert_err (&err, true, "already has a container `" ID1 "` that zagent did not start");
  zagent_error_free (&warn);
  assert_true (exists_in (p, "mine"));
  assert_false (record_exists (f, ID1));
  assert_false (exists_in (f->bundles, ID1));
  assert_int_equal (count_calls (f, ""), 0); /* the runtime was not even asked */
  /* nothing to list, nothing to say */
  assert_int_equal (zagent_record_list (&v, &n, &notices, &err), 0);
  assert_null (err);
  assert_null (notices);
  assert_int_equal (n, 0);
  zagent_record_list_free (v, n);
  assert_true (exists_in (p, "mine"));
}

/* BUNDLE_DIR given: the container's bundle is there, and goes with it;
   a directory that is not a bundle is refused and kept.  */
static void
test_bundle_dir (void **state)
{
  struct fx *f = *state;
  zagent_container *c = NULL;
  zagent_error *err = NULL, *warn = NULL;
  char b[PATH_MAX], cwd[PATH_MAX];
  pid_t pid;

  snprintf (b, sizeof b, "%s/mybundle", f->dir);
  set_replica (f, 1);
  assert_int_equal (zagent_container_create (f->spec, f->o, f->rt, b, ZAGENT_CONTAINER_REAP, NULL, &c, &warn, &err),
                    0);
  assert_null (err);
  zagent_error_free (&warn);
  assert_string_equal (zagent_container_bundle (c), b);
  assert_true (exists_in (b, "config.json"));
  assert_false (exists_in (f->bundles, ID1));
  pid = zagent_container_pid (c);
  assert_int_equal (zagent_container_start (c, &err), 0);
  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_killed (pid);
  assert_false (exists (b));
  assert_no_trace (f, ID1);

  /* relative: made absolute against the cwd of the call */
  assert_non_null (getcwd (cwd, sizeof cwd));
  assert_int_equal (chdir (f->dir), 0);
  assert_int_equal (
      zagent_container_create (f->spec, f->o, f->rt, "rel", ZAGENT_CONTAINER_REAP, NULL, &c, &warn, &err), 0);
  assert_int_equal (chdir (cwd), 0);
  assert_null (err);
  zagent_error_free (&warn);
  snprintf (b, sizeof b, "%s/rel", f->dir);
  assert_string_equal (zagent_container_bundle (c), b);
  pid = zagent_container_pid (c);
  assert_int_equal (zagent_container_destroy (c, &err), 0);
  assert_null (err);
  assert_killed (pid);
  assert_false (exists (b));

  /* not a bundle: refused before the runtime is asked, left as it was */
  snprintf (b, sizeof b, "%s/mine", f->dir);
  write_in (b, "keep.txt", "x");
  assert_int_equal (zagent_container_create (f->spec, f->o, f->rt, b, 0, NULL, &c, &warn, &err), -1);
  assert_null (c);
  assert_err (&err, true, "not a zagent bundle");
  zagent_error_free (&warn);
  assert_true (exists_in (b, "keep.txt"));
  assert_no_trace (f, ID1);
  assert_int_equal (count_calls (f, "create"), 2);
}

/* ---- one runtime process: zagent_container_run (issue 15) -------------------- */

static void
test_run_one_process (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL, *warn = NULL;
  int status = -1;
  pid_t pid;
  double t0;

  /* foreground: the runtime's run alone; the init's status; nothing left */
  setenv ("FAKE_RT_INIT_EXIT", "7", 1);
  assert_int_equal (zagent_container_run (f->spec, f->o, f->rt, NULL, ZAGENT_CONTAINER_REAP, NULL, -1, &status,
                                          &warn, &err),
                    0);
  unsetenv ("FAKE_RT_INIT_EXIT");
  assert_null (err);
  assert_null (warn);
  assert_int_equal (status, 7);
  assert_int_equal (count_calls (f, "run --bundle"), 1);
  assert_int_equal (count_calls (f, "create") + count_calls (f, "start") + count_calls (f, "delete"), 0);
  assert_int_equal (waitpid (last_init (f), NULL, WNOHANG), -1); /* reaped */
  assert_no_trace (f, ID1);

  /* detached: running, its record handed over; rm -f is one delete --force */
  assert_int_equal (zagent_container_run (f->spec, f->o, f->rt, NULL, ZAGENT_CONTAINER_REAP | ZAGENT_CONTAINER_DETACH,
                                          NULL, -1, &status, &warn, &err),
                    0);
  assert_null (err);
  assert_int_equal (status, 0);
  assert_int_equal (count_calls (f, "run --detach --bundle"), 1);
  pid = last_init (f);
  assert_true (alive (pid));
  assert_status (ID1, "running");
  assert_int_equal (zagent_container_remove (ID1, true, &err), 0);
  assert_null (err);
  assert_int_equal (count_calls (f, "delete --force " ID1), 1);
  assert_killed (pid);
  assert_no_trace (f, ID1);

  /* the runtime cannot exec the command: 127, undone, its message kept
     (and -2: a foreground runtime wrote it to our stderr itself) */
  setenv ("FAKE_RT_FAIL", "run", 1);
  assert_int_equal (zagent_container_run (f->spec, f->o, f->rt, NULL, ZAGENT_CONTAINER_REAP, NULL, -1, &status,
                                          &warn, &err),
                    -2);
  unsetenv ("FAKE_RT_FAIL");
  assert_int_equal (status, ZAGENT_RUN_NOT_FOUND);
  assert_err (&err, true, "/bin/app: no such file or directory");
  assert_no_trace (f, ID1);

  /* a runtime that never starts the container: bounded, 125, undone */
  setenv ("ZAGENT_RUNTIME_TIMEOUT", "300ms", 1);
  setenv ("FAKE_RT_HANG", "run", 1);
  t0 = now_s ();
  assert_int_equal (zagent_container_run (f->spec, f->o, f->rt, NULL, ZAGENT_CONTAINER_REAP, NULL, -1, &status,
                                          &warn, &err),
                    -1);
  if (now_s () - t0 > 5.0)
    fail_msg ("a hung run took %.1f s with a 300 ms runtime timeout", now_s () - t0);
  clear_knobs ();
  assert_int_equal (status, ZAGENT_RUN_FAILED);
  assert_err (&err, false, "no answer");
  zagent_error_free (&warn);
  kill_reap (last_init (f));
  assert_no_trace (f, ID1);
}

#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)

int
main (void)
{
  const struct CMUnitTest tests[] = {
    T (test_create_start_list),
    T (test_wait_exit_status),
    T (test_destroy),
    T (test_create_twice),
    T (test_runtime_create_fails),
    T (test_hung_runtime),
    T (test_remove),
    T (test_forgotten_by_runtime),
    T (test_interrupted_creation_killed),
    T (test_interrupted_creation_record),
    T (test_runtime_find_and_inputs),
    T (test_foreign_runtime_id),
    T (test_bundle_dir),
    T (test_run_one_process),
  };
  return cmocka_run_group_tests (tests, group_setup, NULL);
}
