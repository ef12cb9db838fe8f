/* The one build pipeline, from a parsed spec to a finished config:
     validate (the spec, then the service choice)
     → devices (cdi_devices.h: gpu/ decides how the GPU request is
       satisfied, CDI names are resolved into one plan)
     → config (build.h: za_build_config, with the GPU plan)
     → CDI edits (cdi/: za_cdi_apply onto the finished config).
   The public API, the unit tests and the benchmark all build through
   here.  */
#ifndef ZA_BUNDLE_PIPELINE_H
#define ZA_BUNDLE_PIPELINE_H

#include "bundle/build.h"
#include "spec/spec.h"
#include "util/err.h"

struct za_bundle_request
{
  const char *service;       /* NULL: the deployment's only service */
  struct za_build_opts opts; /* opts.gpu_route is set by the pipeline */
  const char *const *cdi_dirs; /* --cdi-dir; none: auto-discovery */
  size_t ncdi_dirs;
  const char *const *devices; /* --device names */
  size_t ndevices;
};

/* Build the config of REQ->service.  Warnings (devices first, then the
   config's) are left in OUT->warnings, also on failure.  */
int za_bundle_build (const struct za_spec *spec, const struct za_bundle_request *req,
                     struct za_build_result *out, struct za_err **err);

/* The service called NAME, or with NAME NULL the only one; an input
   error naming the choices otherwise.  */
int za_bundle_pick_service (const struct za_spec *spec, const char *name, const struct za_service **out,
                            struct za_err **err);

#endif
