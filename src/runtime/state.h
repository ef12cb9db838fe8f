/* What zagent remembers about containers it started: one record per
   container id under <run dir>/containers/<id>/state.json (0600).  */
#ifndef ZA_STATE_H
#define ZA_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

struct za_cstate
{
  char *id;
  char *runtime_name, *runtime_path, *runtime_root;
  char *bundle;
  pid_t pid;
  int64_t created;          /* unix seconds */
  uint64_t stop_grace_ns;   /* 0 = default (10 s) */
  bool keep_bundle;
  bool detached;
  /* Written before anything is created, so a later command can undo what
     a killed one started (as podman does): CREATING until the container
     was started; the private writable rootfs (overlay) dir, or NULL.  */
  bool creating;
  pid_t creator;
  char *layer;
};

char *za_state_dir (void); /* <run dir>/containers */

int za_state_save (const struct za_cstate *s, struct za_err **err);
/* 0 and *OUT filled, or ZA_EINPUT error "no such container".  */
int za_state_load (const char *id, struct za_cstate *out, struct za_err **err);
int za_state_remove (const char *id, struct za_err **err);

/* Serialise every command that creates or removes container ID: an
   exclusive flock on <state dir>/<id>/lock, created (with the record dir)
   when missing.  WAIT_NS 0 = fail at once when another process holds it
   (an input error "busy").  Close *FD_OUT to release.  The lock file
   lives inside the record dir, which za_state_remove deletes: a lock taken
   on a file that was unlinked meanwhile is dropped and taken again.  */
int za_state_lock (const char *id, uint64_t wait_ns, int *fd_out, struct za_err **err);
/* The same lock on an existing record only: never creates the record
   dir or its lock; 0 with *FD_OUT -1 when there is none (or it was
   removed while we waited).  */
int za_state_lock_existing (const char *id, uint64_t wait_ns, int *fd_out, struct za_err **err);
/* Whether a record (state.json) exists for ID.  */
bool za_state_exists (const char *id);
/* Ids with a record, sorted, appended to IDS.  */
struct za_strv;
int za_state_list (struct za_strv *ids, struct za_err **err);
void za_cstate_clear (struct za_cstate *s);

/* Container ids are used as file names: the runtime's own rule
   ([A-Za-z0-9][A-Za-z0-9_.+-]*).  */
bool za_container_id_valid (const char *id);

#endif
