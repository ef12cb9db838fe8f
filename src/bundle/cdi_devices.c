#define _GNU_SOURCE
#include "bundle/cdi_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

void
za_cdi_outcome_clear (struct za_cdi_outcome *o)
{
  za_cdi_plan_clear (&o->plan);
  za_cdi_registry_free (o->reg);
  za_gpu_route_clear (&o->gpu);
  za_strv_clear (&o->names);
  *o = (struct za_cdi_outcome) { 0 };
}

int
za_cdi_devices_plan (const struct za_service *svc,
                     const struct za_cdi_request *req, struct za_cdi_outcome *out,
                     struct za_err **warn, struct za_err **err)
{
  cleanup_strv struct za_strv explicit_names = { 0 };

  *out = (struct za_cdi_outcome) { 0 };
  for (size_t i = 0; i < svc->devices.n; i++)
    {
      const struct za_device *d = (const struct za_device *) svc->devices.v + i;
      if (d->path.s && d->path.s[0] != '/' && za_strv_push (&explicit_names, d->path.s) < 0)
        return za_err_set (err, ENOMEM, "out of memory");
    }
  for (size_t i = 0; i < req->ndevices; i++)
    {
      char buf[512];
      const char *problem = za_cdi_qualified_problem (req->devices[i], buf, sizeof buf);
      if (problem)
        return za_err_set (err, ZA_EINPUT, "--device %s: %s", req->devices[i], problem);
      if (za_strv_push (&explicit_names, req->devices[i]) < 0)
        return za_err_set (err, ENOMEM, "out of memory");
    }
  /* GPUs first: gpu/ says whether they go through CDI (loading the
     registry when it needs one).  */
  if (za_gpu_route (svc->resources.gpu, req->dirs, req->ndirs, &out->reg, &out->gpu, warn, err) < 0)
    return -1;
  if (explicit_names.n > 0 && !out->reg && za_cdi_registry_load (req->dirs, req->ndirs, &out->reg, err) < 0)
    return -1;
  for (size_t i = 0; i < out->gpu.cdi_names.n; i++)
    if (za_strv_push (&out->names, out->gpu.cdi_names.v[i]) < 0)
      return za_err_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < explicit_names.n; i++)
    if (za_strv_push (&out->names, explicit_names.v[i]) < 0)
      return za_err_set (err, ENOMEM, "out of memory");
  if (out->names.n == 0)
    return 0;
  return za_cdi_resolve (out->reg, (const char *const *) out->names.v, out->names.n, &out->plan, err);
}
