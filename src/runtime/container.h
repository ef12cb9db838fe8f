/* One container's lifecycle pieces that several commands share: the
   private writable rootfs over a cached image, and undoing whatever a
   record says was created (after a failure, a kill, or for rm).  */
#ifndef ZA_CONTAINER_H
#define ZA_CONTAINER_H

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
