/* Driving an OCI runtime (runc, crun, youki) through the command line they
   all share: create, start, state, kill, delete.  Each call is a child
   with the parent-death signal set and its own JSON log file, from which
   the runtime's own error text is read back.  */
#ifndef ZA_RUNTIME_H
#define ZA_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/paths.h"

struct za_runtime
{
  char *name; /* basename: runc, crun, youki */
  char *path; /* absolute executable */
  char *root; /* --root state directory of the runtime */
  uint64_t timeout_ns; /* bound of every runtime call; 0 = the default */
};

/* Every runtime call is bounded: generous by default, ZAGENT_RUNTIME_TIMEOUT
   (a duration: "90s", "5m") overrides.  A runtime that passes the bound is
   killed and the call fails with ETIMEDOUT.  */
#define ZA_RUNTIME_DEFAULT_TIMEOUT_NS (120ull * 1000000000ull)
/* The most a runtime may print on stdout (state documents).  */
#define ZA_RUNTIME_MAX_OUTPUT (16 << 20)
int za_runtime_timeout_from_env (uint64_t *out, struct za_err **err);
uint64_t za_now_ns (void); /* CLOCK_MONOTONIC */

/* WANT: NAME or PATH; NULL = $ZAGENT_RUNTIME, else the first of runc,
   crun, youki on PATH.  ROOT NULL = <run dir>/<name>.  */
int za_runtime_find (const char *want, const char *root, struct za_runtime *out, struct za_err **err);
void za_runtime_clear (struct za_runtime *rt);


/* Run `RUNTIME --root R --log L --log-format json ARGS...`.  FDS are the
   child's stdin/stdout/stderr (-1 = /dev/null).  *STATUS gets the wait
   status.  On a non-zero exit, an error carrying the runtime's own message
   is appended to *ERR (unless ERR is NULL) and -1 returned.  */
int za_runtime_call (const struct za_runtime *rt, const char *const *args, const int fds[3],
                     int *status, struct za_err **err);

/* A runtime process started in the background (za_runtime_spawn): its
   pid, a pidfd (-1 on kernels without one) and its JSON log file.  */
struct za_runtime_proc
{
  pid_t pid;
  int pidfd;
  char log[40];
};

/* Start `RUNTIME --root R --log L --log-format json ARGS...` as a child
   (parent-death signal SIGKILL, all signals unblocked) and return at
   once.  FDS as for za_runtime_call; OUT_FD >= 0 replaces its stdout.  */
int za_runtime_spawn (const struct za_runtime *rt, const char *const *args, const int fds[3], int out_fd,
                      struct za_runtime_proc *p, struct za_err **err);
/* Close the pidfd and remove the log file.  */
void za_runtime_proc_clear (struct za_runtime_proc *p);
/* 0 when wait status ST is success; else -1 with the error a runtime
   call reports (the runtime's own message from LOGFILE when it wrote
   one).  */
int za_runtime_failed (const struct za_runtime *rt, const char *verb, int st, const char *logfile,
                       struct za_err **err);
/* "RUNTIME VERB: MSG", or MSG alone when it already names the runtime
   (runc: "runc run failed: …").  A thread-local buffer, valid until the
   next call.  */
const char *za_runtime_say (const struct za_runtime *rt, const char *verb, const char *msg);
/* The last error the runtime wrote to LOGFILE, or NULL.  */
char *za_runtime_log_error (const char *logfile);
/* 127 when MSG (the runtime's error) says the container's command was
   not found, 126 when it could not be executed, else 0.  */
int za_runtime_exec_status (const char *msg);

int za_runtime_create (const struct za_runtime *rt, const char *id, const char *bundle,
                       const char *pidfile, const int fds[3], struct za_err **err);
int za_runtime_start (const struct za_runtime *rt, const char *id, struct za_err **err);
int za_runtime_kill (const struct za_runtime *rt, const char *id, int sig, bool all, struct za_err **err);
int za_runtime_delete (const struct za_runtime *rt, const char *id, bool force, struct za_err **err);
/* The runtime's state JSON; 0 and *OUT NULL when the runtime definitely
   does not know the id (it ran to its end, failed, and keeps no state
   directory for it).  Any other failure (killed, timed out) is an error:
   callers must not take it for "gone".  */
int za_runtime_state (const struct za_runtime *rt, const char *id, json_t **out, struct za_err **err);

/* Whether the runtime keeps state for ID (runc, crun and youki all keep
   a directory <root>/<id>): a stat instead of a runtime process.  */
bool za_runtime_known (const struct za_runtime *rt, const char *id);

/* "created", "running", "stopped", … or NULL.  */
const char *za_runtime_status (const json_t *state);

#endif
