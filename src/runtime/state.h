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
};

char *za_state_dir (void); /* <run dir>/containers */

int za_state_save (const struct za_cstate *s, struct za_err **err);
/* 0 and *OUT filled, or ZA_EINPUT error "no such container".  */
int za_state_load (const char *id, struct za_cstate *out, struct za_err **err);
int za_state_remove (const char *id, struct za_err **err);
/* Ids with a record, sorted, appended to IDS.  */
struct za_strv;
int za_state_list (struct za_strv *ids, struct za_err **err);
void za_cstate_clear (struct za_cstate *s);

/* Container ids are used as file names: the runtime's own rule
   ([A-Za-z0-9][A-Za-z0-9_.+-]*).  */
bool za_container_id_valid (const char *id);

#endif
