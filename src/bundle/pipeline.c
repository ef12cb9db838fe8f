#define _GNU_SOURCE
#include "bundle/pipeline.h"

#include <stdio.h>

#include "bundle/cdi_devices.h"
#include "cdi/cdi.h"

int
za_bundle_pick_service (const struct za_spec *spec, const char *name, const struct za_service **out,
                        struct za_err **err)
{
  const struct za_deployment *d = &spec->d;
  char list[512] = "";
  size_t n = 0;
  if (name)
    {
      *out = za_spec_find_service (spec, name);
      if (!*out)
        return za_err_set (err, ZA_EINPUT, "%s: no service `%s` in deployment `%s`", spec->file, name,
                           d->deployment.s);
      return 0;
    }
  if (d->services.n == 1)
    {
      *out = d->services.v[0].val;
      return 0;
    }
  if (d->services.n == 0)
    return za_err_set (err, ZA_EINPUT, "%s: the deployment has no services", spec->file);
  for (size_t i = 0; i < d->services.n && n + 2 < sizeof list; i++)
    n += (size_t) snprintf (list + n, sizeof list - n, "%s%s", i ? ", " : "", d->services.v[i].key.s);
  return za_err_set (err, ZA_EINPUT, "%s: the deployment has several services (%s); choose one with -s",
                     spec->file, list);
}

int
za_bundle_build (const struct za_spec *spec, const struct za_bundle_request *req,
                 struct za_build_result *out, struct za_err **err)
{
  const struct za_service *svc = NULL;
  struct za_cdi_request dreq = { .dirs = req->cdi_dirs, .ndirs = req->ncdi_dirs,
                                 .devices = req->devices, .ndevices = req->ndevices };
  struct za_cdi_outcome dev;
  struct za_build_opts o = req->opts;
  struct za_err *warn = NULL;
  int ret = -1;

  *out = (struct za_build_result) { 0 };
  /* validate */
  if (za_spec_validate (spec, err) < 0 || za_bundle_pick_service (spec, req->service, &svc, err) < 0)
    return -1;
  /* devices */
  if (za_cdi_devices_plan (svc, &dreq, &dev, &warn, err) < 0)
    {
      out->warnings = warn;
      za_cdi_outcome_clear (&dev);
      return -1;
    }
  /* config */
  o.gpu_route = &dev.gpu;
  if (za_build_config (spec, svc, &o, out, err) < 0)
    goto done;
  /* CDI edits go onto the finished config, as the reference library
     applies them to a runtime's spec.  */
  if (dev.plan.n > 0 && za_cdi_apply (out->config, &dev.plan, &o.host, err) < 0)
    {
      struct za_err *w = out->warnings;
      out->warnings = NULL;
      za_build_result_clear (out);
      out->warnings = w;
      goto done;
    }
  ret = 0;
done:
  za_err_append (&warn, &out->warnings);
  out->warnings = warn;
  za_cdi_outcome_clear (&dev);
  return ret;
}
