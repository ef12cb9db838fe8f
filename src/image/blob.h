/* Descriptors and blobs of an OCI image layout: blobs/sha256/<hex> is
   opened without following it into a FIFO or device, checked against its
   descriptor's size, and every byte read is hashed.  */
#ifndef ZA_IMAGE_BLOB_H
#define ZA_IMAGE_BLOB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

struct za_desc
{
  char *media_type; /* NULL when the descriptor has none */
  char hex[65];     /* sha256, lowercase */
  uint64_t size;
};

void za_desc_clear (struct za_desc *d);

/* Parse a descriptor object; WHAT names it in messages
   ("index.json: manifests[1]").  Only sha256 digests of 64 lowercase hex
   digits are accepted: the hex becomes a file name.  */
int za_desc_parse (json_t *o, const char *what, struct za_desc *d, struct za_err **err);

/* "blob sha256:<hex> (ROLE)", malloc'd; NULL on OOM.  */
char *za_blob_name (const struct za_desc *d, const char *role);

/* Open blobs/sha256/<hex> of the layout LAYOUT_FD for reading.  The open
   never blocks (a FIFO planted as a blob would hang it) and anything but
   a regular file of the descriptor's size is an input error naming NAME.
   *FD_OUT is blocking again.  */
int za_blob_open (int layout_fd, const struct za_desc *d, const char *name, int *fd_out,
                  struct za_err **err);

/* A small blob (index, manifest, config) of at most MAX bytes, read whole
   and verified before anyone looks at its content; NUL-terminated.  */
int za_blob_read (int layout_fd, const struct za_desc *d, const char *role, size_t max,
                  char **data_out, size_t *len_out, struct za_err **err);

/* SHA-256 contexts (libcrypto is loaded by za_image_dl_load).  */
struct evp_md_ctx_st;
int za_digest_init (struct evp_md_ctx_st **md, struct za_err **err);
/* Finish MD and compare it with D's digest: a mismatch is an input
   error naming NAME and the actual digest.  */
int za_digest_check (struct evp_md_ctx_st *md, const struct za_desc *d, const char *name,
                     struct za_err **err);
void za_digest_free (struct evp_md_ctx_st **md);

ssize_t za_read_retry (int fd, void *buf, size_t len);

#endif
