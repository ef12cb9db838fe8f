/* The layer store: images pulled from registries or imported from OCI
   layouts, under <data dir>/images:

     blobs/sha256/<hex>   content-addressed blobs (manifests, configs,
                          compressed layers), verified before they get
                          their name (O_TMPFILE + linkat, or a temp name
                          + rename)
     layers/<chain hex>   each layer unpacked once, alone, as an overlayfs
                          lower dir (whiteouts in overlay form), keyed by
                          its OCI chain id: a base layer shared by ten
                          images is stored once
     repos.json           name → manifest digest, config, chain ids
     gc.lock              shared by every pull and container mount,
                          exclusive for rmi and prune
     locks/<hex>          one per blob or layer being made, so that of
                          several processes pulling it, one makes it and
                          the others wait and reuse it

   A pull killed at any moment leaves at most temp names (.tmp-*), which
   are never read and are swept by the next pull that finds no other
   pull or mount in progress (it gets gc.lock exclusively).  */
#ifndef ZA_IMAGE_STORE_H
#define ZA_IMAGE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "image/blob.h"
#include "image/registry.h"
#include "oci/image_config.h"
#include "spec/spec.h" /* enum za_pull_policy */
#include "util/err.h"
#include "util/strv.h"

/* "always", "newer", "if_not_present" (also "if-not-present",
   "missing"), "never"; anything else is an input error.  */
int za_pull_policy_parse (const char *s, enum za_pull_policy *out, struct za_err **err);

struct za_store_image
{
  char *name;   /* "docker.io/library/busybox:latest", "oci:/abs/dir:tag" */
  char *digest; /* manifest, "sha256:…" */
  char *config; /* config blob, "sha256:…" */
  struct za_strv layers; /* chain id hex, bottom first */
  uint64_t size;         /* compressed layer bytes */
  int64_t created;       /* when stored (unix seconds) */
};
void za_store_image_clear (struct za_store_image *im);

struct za_store;

/* Open (create 0700) <data dir>/images.  */
int za_store_open (struct za_store **out, struct za_err **err);
void za_store_close (struct za_store *s);
const char *za_store_root (const struct za_store *s);

/* The image recorded as NAME (a normalised name) or whose manifest
   digest (or a unique prefix of its hex, at least 12 digits) is NAME.  */
int za_store_lookup (struct za_store *s, const char *name, struct za_store_image *out, bool *found,
                     struct za_err **err);
/* Every recorded image, in name order.  */
int za_store_list (struct za_store *s, struct za_store_image **v, size_t *n, struct za_err **err);
void za_store_list_free (struct za_store_image *v, size_t n);

/* The overlay lower dirs of IM, top layer first, joined with ':'
   (absolute paths; each is checked to be there).  */
int za_store_lowers (struct za_store *s, const struct za_store_image *im, char **out,
                     struct za_err **err);
/* IM's image config, read from its verified blob.  */
int za_store_config (struct za_store *s, const struct za_store_image *im,
                     struct za_image_config **out, struct za_err **warn, struct za_err **err);

/* Progress of a pull: BYTES of TOTAL of layer INDEX (of N).  */
struct za_store_progress;

struct za_pull_opts
{
  int policy; /* enum za_pull_policy; -1: if_not_present */
  struct za_reg_opts reg;
  bool quiet; /* no progress display (there is none when stderr is no terminal) */
};

/* Pull REF (a registry reference) into the store by O's policy and record
   it under its normalised name; *OUT is the stored image.  Layers are
   fetched (za_reg_fetch_blob) and unpacked by a few threads at once.  */
int za_store_pull (struct za_store *s, const char *ref, const struct za_pull_opts *o,
                   struct za_store_image *out, struct za_err **warn, struct za_err **err);

/* Import the image TAG (NULL: the only one) of the OCI layout DIR into the
   store, recorded as "oci:<absolute DIR>[:TAG]": blobs are copied and
   verified, layers unpacked once like pulled ones (with the progress
   display of a pull unless QUIET).  */
int za_store_import_layout (struct za_store *s, const char *dir, const char *tag, bool quiet,
                            struct za_store_image *out, struct za_err **warn, struct za_err **err);

/* Remove the image NAME (a name or digest, as za_store_lookup): its
   record, then every layer and blob no other image and no container
   uses.  An image a container uses is refused unless FORCE (then only
   the name goes; its layers stay while the container uses them).  */
int za_store_remove (struct za_store *s, const char *name, bool force, struct za_err **err);

/* Remove layers and blobs no image record uses (and no container), temp
   data of dead pulls; with ALL, also every image no container uses.
   *FREED: bytes of blobs and layer dirs removed (may be NULL).  */
int za_store_prune (struct za_store *s, bool all, struct za_strv *removed, uint64_t *freed,
                    struct za_err **err);

/* Shared hold on the store (gc.lock) while a container's overlay is
   mounted and its lower dirs recorded: prune and rmi wait for it.
   *FD_OUT is released by closing it.  */
int za_store_hold (const char *lowers, int *fd_out, struct za_err **err);

/* The chain ids a container's "lowers" file (written by za_layer_create)
   names.  */
#define ZA_STORE_LOWERS_FILE "lowers"

#endif
