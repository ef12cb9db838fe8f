/* This machine's platform and its choice among the entries of an image
   index or Docker manifest list: shared by local layouts (image/layout.c)
   and the registry client (image/registry.c), so both pick the same
   manifest from the same index.  */
#ifndef ZA_IMAGE_PLATFORM_H
#define ZA_IMAGE_PLATFORM_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

/* The OCI architecture name of this machine ("amd64", "arm64", …) and its
   variant ("v7", or NULL), from uname.  NULL when unknown.  */
const char *za_image_host_arch (const char **variant);

/* Pick the linux/<this machine> entry among CAND (N indexes into the
   descriptor array MANIFESTS) into *CHOSEN.  None: an input error
   "WHAT: no manifest for linux/ARCH (available: …)".  */
int za_image_pick_platform (json_t *manifests, const size_t *cand, size_t n, const char *what,
                            size_t *chosen, struct za_err **err);

#endif
