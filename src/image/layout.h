/* OCI image layouts (image-spec v1.0+, `skopeo copy … oci:DIR:TAG`) on
   local disk: choose a manifest, verify every blob it needs, and unpack
   its layers into a cached root filesystem that runc can use directly.

   Cache: CACHE_DIR/<manifest-digest-hex>/rootfs.  Entries are immutable
   once published (rename of a complete tree), so a later prepare of the
   same manifest reuses the tree without reading any layer, and concurrent
   preparers of one image never see or produce a half-unpacked rootfs.
   CACHE_DIR is created 0700: it holds images' setuid binaries and device
   permissions, which must not be reachable by other host users.  */
#ifndef ZA_IMAGE_LAYOUT_H
#define ZA_IMAGE_LAYOUT_H

#include "image/platform.h" /* za_image_host_arch, once declared here */
#include "oci/image_config.h"
#include "util/err.h"

/* REF is "DIR" or "DIR:TAG"; it is split at the last ':' only when what
   follows contains no '/', so "./a:b/c" is a directory.  TAG selects the
   index.json entry annotated org.opencontainers.image.ref.name=TAG; with no
   TAG the layout must hold one manifest.  An image index (or Docker
   manifest list) is resolved to the linux/<this machine's architecture>
   manifest.

   On success *ROOTFS_OUT is the absolute path of the unpacked rootfs
   (caller frees) and *CONFIG_OUT the parsed image config (caller frees
   with za_image_config_free).  Warnings (skipped device nodes, an image
   for another architecture, dropped setuid bits or xattrs) are appended
   to *WARN, which may be NULL.  Invalid or corrupt layouts and unsafe layer entries
   are ZA_EINPUT errors naming the blob (and entry); nothing is left in
   CACHE_DIR after a failure.

   Several processes (or threads) may prepare the same image at once.
   Layers are unpacked by image/unpack.c relative to a descriptor of the
   new rootfs (never through a host path, never changing the working
   directory or the umask), within the bounds described there
   (ZAGENT_IMAGE_MAX_SIZE, ZAGENT_IMAGE_MAX_ENTRIES, 256 levels); a
   failed write fails the prepare, and only a complete tree, synced to
   disk, is published.  Layout files and blobs are opened without
   blocking: a FIFO or device in their place is an input error.  */
int za_image_layout_prepare (const char *ref, const char *cache_dir, char **rootfs_out,
                             struct za_image_config **config_out, struct za_err **warn,
                             struct za_err **err);

/* An image manifest: its digest, config and layers (verified JSON).  */
#include "image/blob.h"
struct za_manifest
{
  char hex[65];
  struct za_desc config;
  struct za_desc *layers;
  size_t n_layers;
};
void za_manifest_clear (struct za_manifest *m);
/* Parse DATA, the verified bytes of the image manifest D (OCI image
   manifest or Docker schema 2): schema version, config media type and
   every layer's media type are checked.  */
int za_manifest_parse (const char *data, size_t len, const struct za_desc *d, struct za_manifest *m,
                       struct za_err **err);
/* In the layout DIRFD, the image manifest that TAG (NULL: the only one)
   names, an index resolved to this machine's platform: its descriptor,
   verified (the blob's digest and size checked).  */
int za_image_layout_resolve (int dirfd, const char *tag, struct za_desc *manifest_out,
                             struct za_err **err);

#endif
