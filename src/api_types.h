/* The public API's objects, shared by the files of the API layer (api.c,
   api_run.c); nothing below the API includes this.  */
#ifndef ZA_API_TYPES_H
#define ZA_API_TYPES_H

#include "zagent.h"
#include "oci/image_config.h"
#include "spec/spec.h"
#include "util/strv.h"

struct zagent_spec
{
  struct za_spec *s;
};

struct zagent_options
{
  char *service;
  unsigned replica;
  struct za_image_config *image;
  char *hostname, *cwd, *socket, *secrets_dir, *scope, *rootfs, *host_root;
  /* The cached image tree of zagent_options_set_image_layout: each
     container created from these options gets its own overlay over it.  */
  char *image_rootfs;
  struct za_strv env;
  struct za_strv vol_keys, vol_paths;
  bool host_network;
  int rootless;
  struct za_strv args;
  bool args_set;
  struct za_strv devices, cdi_dirs;
  /* issue 11: pull settings (api_image.c) */
  struct za_api_pull *pull;
};

/* Free the pull settings (api_image.c).  */
void za_api_pull_free (struct za_api_pull *p);

/* zagent_bundle_create with ROOTFS (a container's own writable layer)
   instead of the options' rootfs.  */
int za_api_bundle_create (const zagent_spec *spec, const zagent_options *o, const char *rootfs,
                          const char *bundle_dir, char **path_out, zagent_error **warnings, zagent_error **err);

#endif
