/* One container's lifecycle pieces that several commands share: the
   private writable rootfs over a cached image, and undoing whatever a
   record says was created (after a failure, a kill, or for rm).  */
#ifndef ZA_CONTAINER_H
#define ZA_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/runtime.h"
#include "runtime/state.h"
#include "util/err.h"

/* <data dir>/containers/<id>: where the container's writable layer lives.  */
char *za_layer_dir (const char *id);

/* Give a container its own copy-on-write view of IMAGE_ROOTFS (a cached,
   shared tree that no container may write to): an overlay mount at
   DIR/rootfs with DIR/diff as the upper and DIR/work as the work dir when
   the kernel lets us mount (root), else a private copy (cp -a) at
   DIR/rootfs.  DIR must not exist.  *ROOTFS_OUT = DIR/rootfs.  */
int za_layer_create (const char *image_rootfs, const char *dir, char **rootfs_out, struct za_err **err);
/* Unmount and remove DIR (no-op when missing).  */
int za_layer_remove (const char *dir, struct za_err **err);

/* Undo what CS records: the runtime's container (force-deleted when the
   runtime knows it), the writable layer, the bundle (unless kept; only a
   zagent bundle is removed), then the record.  The caller holds the
   record's lock.  Every step runs; errors are collected.  */
int za_container_undo (const struct za_cstate *cs, struct za_err **err);

/* The runtime a record names.  */
int za_runtime_from_record (const struct za_cstate *cs, struct za_runtime *rt, struct za_err **err);

#endif

/* How long teardown and rm wait for another command's hold on a record
   (a foreground run's own teardown, a concurrent rm).  */
#define ZA_LOCK_WAIT_NS (30ull * 1000000000ull)
#define ZA_DEFAULT_STOP_GRACE_NS (10ull * 1000000000ull)

/* Reserve ID for a new container on RT: its record's lock, taken at once
   or not at all, so of two creators of one id exactly one goes on.  What
   a killed creator left behind (a record still marked creating, whose
   lock died with it) is undone first; a record of a container the
   runtime definitely no longer has is cleared.  An id the runtime has
   but zagent never recorded is refused and left alone.  *LOCK_OUT is the
   held lock.  */
int za_container_reserve (const struct za_runtime *rt, const char *id, int *lock_out, struct za_err **err);

/* The pid in PIDFILE (the runtime's --pid-file).  */
int za_read_pid (const char *pidfile, pid_t *pid, struct za_err **err);

/* Wait for the container's init PID (a child of ours: we are its
   subreaper), forwarding every signal but SIGCHLD read from SIGNAL_FD (a
   signalfd; -1 = none) and reaping every child that comes our way.
   *STATUS = its exit status, or 128+signal.  */
int za_container_wait (pid_t pid, int signal_fd, int *status, struct za_err **err);

/* Under the record's lock (waiting up to ZA_LOCK_WAIT_NS), undo what the
   record of ID says, unless another command already did.  */
int za_container_undo_id (const char *id, struct za_err **err);

/* The runtime's status of a record: "created", "running", "stopped", …;
   "creating" while its creator lives; "gone" when the runtime
   definitely no longer has it; NULL with an error when it cannot tell.
   *STATE_OUT (may be NULL) gets the runtime's state document.  */
const char *za_container_status (const struct za_cstate *cs, json_t **state_out, struct za_err **err);

/* Clear a record nobody is working on: take its lock without waiting, re-
   read it under the lock, undo it.  true when cleared.  */
bool za_container_clear (const char *id, struct za_err **err);

/* SIGTERM, then SIGKILL to every process after GRACE_NS (0 = the
   record's stop_grace_period, else 10 s).  */
int za_container_stop (const char *id, uint64_t grace_ns, struct za_err **err);

/* Remove ID: refuses a running container unless FORCE (then SIGKILL);
   undoes an interrupted creation; nothing is removed when the runtime
   cannot answer.  */
int za_container_remove (const char *id, bool force, struct za_err **err);
