/* A container in one runtime process: `RUNTIME run` (foreground) or
   `RUNTIME run --detach`, as `runc run` does it, instead of create,
   start and delete (three runtime processes, each a Go start of ~10 ms).  */
#ifndef ZA_RUN_H
#define ZA_RUN_H

#include <stdbool.h>

#include "runtime/state.h"
#include "util/err.h"

/* Exit statuses of a run that did not get to the container's own status
   (podman's and Docker's convention).  */
#define ZA_RUN_FAILED 125       /* zagent or the runtime failed */
#define ZA_RUN_CANNOT_INVOKE 126 /* the command exists but cannot be executed */
#define ZA_RUN_NOT_FOUND 127    /* the command was not found */

struct za_run
{
  struct za_cstate *cs; /* the saved record, still creating; gets the pid */
  int *lock;            /* its held lock: let go once the container runs */
  bool detach;          /* `run --detach`: return once it runs */
  bool reap;            /* foreground: reap every child that comes our way */
  const int *fds;       /* the container's stdin, stdout, stderr (NULL = ours) */
  int signal_fd;        /* signals to forward (a signalfd; -1 = none) */
  /* out */
  int status;   /* the container's exit status (128+signal), or ZA_RUN_* */
  bool started; /* the runtime wrote the pid file: the container ran */
  bool shown;   /* the runtime wrote its error to the container's stderr */
};

/* Run R->cs in its runtime with the bundle R->cs->bundle; the pid file
   is <bundle>/init.pid.  Until the container runs, the wait is bounded by
   the runtime timeout and forwarded signals are held; once it runs, the
   record gets its pid and `creating: false`, the lock is let go (stop,
   rm and ps may act on it), and held signals are delivered to its init.
   Foreground: wait for the runtime (which waits for the container and
   deletes it), forwarding every signal read from R->signal_fd but
   SIGCHLD to the container's init.  0: R->status is the container's
   exit status (foreground) or 0 (detached).  -1: the runtime or zagent
   failed, R->status is ZA_RUN_FAILED, or ZA_RUN_NOT_FOUND /
   ZA_RUN_CANNOT_INVOKE when the runtime said it could not exec the
   command.  The runtime process is always reaped before this returns;
   the caller undoes what the record says.  */
int za_container_run (struct za_run *r, struct za_err **err);

#endif
