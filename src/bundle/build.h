/* Service spec (+ image config, options, host) -> OCI runtime config
   (zlayer-reference.md §11), as a jansson tree in the exact key order the
   reference serialiser writes.  Nothing is written to disk here.  */
#ifndef ZA_BUILD_H
#define ZA_BUILD_H

#include <jansson.h>
#include <stdbool.h>

#include "util/host.h"
#include "oci/image_config.h"
#include "spec/spec.h"
#include "util/err.h"

struct za_gpu_route;

struct za_volume
{
  const char *key;  /* volume name, _anon_<target>, _s3_<bucket>_<prefix> */
  const char *path; /* prepared host path */
};

struct za_build_opts
{
  unsigned replica; /* 0 means 1 */
  const char *hostname, *cwd;
  const char *const *env; /* KEY=VALUE, applied after the spec env */
  size_t nenv;
  bool host_network;
  const struct za_volume *volumes;
  size_t nvolumes;
  const char *socket_path; /* host socket to mount read-only */
  const char *secrets_dir, *scope;
  int rootless; /* -1 auto (euid != 0), 0 no, 1 yes */
  const char *const *args;
  size_t nargs;
  bool args_set;
  const char *rootfs; /* host rootfs dir, or NULL for BUNDLE/rootfs */
  const struct za_image_config *image;
  struct za_host host;
  const char *bundle_dir; /* absolute; source of the resolv.conf mount */
  /* How the GPU request is satisfied (gpu/, decided by the pipeline's
     devices step); NULL: without CDI.  */
  const struct za_gpu_route *gpu_route;
};

struct za_build_result
{
  json_t *config;
  char *container_id;
  char *resolv_conf; /* content to write as BUNDLE/resolv.conf, or NULL */
  char *rootfs_real; /* realpath of opts.rootfs, or NULL */
  struct za_err *warnings;
};

/* The config step of the pipeline (pipeline.h): CDI edits are not
   applied here.  Every problem found is reported (at most ZA_ERRS_MAX);
   warnings stay in OUT->warnings even on failure.  */
int za_build_config (const struct za_spec *spec, const struct za_service *svc,
                     const struct za_build_opts *o, struct za_build_result *out,
                     struct za_err **err);
void za_build_result_clear (struct za_build_result *r);

/* The canonical id "<service>-rep-<replica>".  */
char *za_container_id (const char *service, unsigned replica);

/* Serialise like serde_json's pretty printer: 2-space indent, no trailing
   newline.  Returns malloc'd text.  */
char *za_config_dump (const json_t *config, size_t *len);

#endif
