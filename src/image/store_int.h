/* Internals of the layer store shared by image/store*.c.  */
#ifndef ZA_IMAGE_STORE_INT_H
#define ZA_IMAGE_STORE_INT_H

#include <jansson.h>

#include "image/store.h"

struct za_store
{
  char *root; /* <data dir>/images, symlink-free (runc and overlay get paths below it) */
  int fd, blobs_fd, layers_fd, locks_fd;
};

/* How long a pull waits for another process's lock on a blob or layer
   (it is downloading or unpacking it), or rmi/prune for running pulls.  */
#define ZA_STORE_LOCK_WAIT_S (30 * 60)

/* flock NAME in locks/ (created), exclusive, waiting at most
   ZA_STORE_LOCK_WAIT_S.  */
int za_st_lock (struct za_store *s, const char *name, int *fd_out, struct za_err **err);
/* gc.lock: shared for pulls and mounts, exclusive for rmi and prune.
   TRY: do not wait (1 when taken, 0 when busy).  */
int za_st_gc (struct za_store *s, bool exclusive, bool try, int *fd_out, struct za_err **err);
/* Remove temp data of dead pulls: only with gc.lock held exclusively.  */
void za_st_sweep (struct za_store *s);

/* Write blob D into FD (a new, empty file); 0 or -1.  The writer
   verifies what it writes (digest and size).  */
typedef int (*za_st_writer) (void *ctx, const struct za_desc *d, int fd, struct za_err **err);

bool za_st_blob_present (struct za_store *s, const struct za_desc *d);
/* Store blob D through WRITE unless it is there: under its lock, into a
   file that gets its name only once complete and synced.  */
int za_st_blob_ingest (struct za_store *s, const struct za_desc *d, za_st_writer write, void *ctx,
                       struct za_err **err);
/* Store the bytes DATA of blob D (a manifest), checked against D.  */
int za_st_blob_put (struct za_store *s, const struct za_desc *d, const void *data, size_t len,
                    struct za_err **err);

bool za_st_layer_present (struct za_store *s, const char *chain_hex);
/* Unpack blob D (diff_id DIFF_HEX) into layers/CHAIN_HEX unless it is
   there; the blob must be in the store.  */
int za_st_layer_ensure (struct za_store *s, const struct za_desc *d, const char *diff_hex,
                        const char *chain_hex, const char *role, struct za_err **warn,
                        struct za_err **err);

/* Chain ids (hex) from diff ids (hex), bottom first.  */
int za_st_chain_ids (const struct za_strv *diff_ids, struct za_strv *out, struct za_err **err);
/* The diff_ids (hex) of the verified config blob D.  */
int za_st_config_diff_ids (struct za_store *s, const struct za_desc *d, struct za_strv *out,
                           struct za_err **err);

/* repos.json, under repos.lock.  */
int za_st_repos_load (struct za_store *s, json_t **out, struct za_err **err);
int za_st_repos_save (struct za_store *s, json_t *repos, struct za_err **err);
int za_st_repos_lock (struct za_store *s, int *fd_out, struct za_err **err);
int za_st_image_from_json (json_t *o, struct za_store_image *im, struct za_err **err);
json_t *za_st_image_to_json (const struct za_store_image *im);
/* Record IM (replacing an image of the same name).  */
int za_st_record (struct za_store *s, const struct za_store_image *im, struct za_err **err);

/* "sha256:<hex>" → the hex (64 lowercase digits), or NULL.  */
const char *za_st_digest_hex (const char *digest);

#endif
