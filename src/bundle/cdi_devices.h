/* The pipeline's devices step: how the service's GPU request is
   satisfied (gpu/ decides: its vendor's CDI kind or passthrough,
   zlayer-reference.md §5.5), `devices:` entries whose path is a
   qualified CDI name, and `--device` names — resolved in one CDI plan so
   spec-level edits are applied once per spec file.  */
#ifndef ZA_BUNDLE_CDI_DEVICES_H
#define ZA_BUNDLE_CDI_DEVICES_H

#include <stdbool.h>

#include "cdi/cdi.h"
#include "gpu/gpu.h"
#include "spec/spec.h"
#include "util/strv.h"

struct za_cdi_request
{
  const char *const *dirs; /* --cdi-dir; none = auto-discovery */
  size_t ndirs;
  const char *const *devices; /* --device names */
  size_t ndevices;
};

struct za_cdi_outcome
{
  struct za_cdi_registry *reg; /* NULL when nothing needed CDI */
  struct za_cdi_plan plan;
  struct za_gpu_route gpu; /* how the GPU request is satisfied */
  struct za_strv names; /* the CDI names injected, in order */
};

/* Work out and resolve the devices of SVC.  GPU resolution is strict (an
   input error) when --cdi-dir was given, lenient (a warning and
   passthrough) with auto-discovered specs.  Explicit device names are
   always strict.  */
int za_cdi_devices_plan (const struct za_service *svc,
                         const struct za_cdi_request *req, struct za_cdi_outcome *out,
                         struct za_err **warn, struct za_err **err);
void za_cdi_outcome_clear (struct za_cdi_outcome *o);

#endif
