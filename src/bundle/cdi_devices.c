#define _GNU_SOURCE
#include "bundle/cdi_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
za_gpu_vendor_kind (const char *vendor)
{
  if (!vendor)
    return NULL;
  if (!strcmp (vendor, "nvidia"))
    return "nvidia.com/gpu";
  if (!strcmp (vendor, "amd"))
    return "amd.com/gpu";
  if (!strcmp (vendor, "intel"))
    return "intel.com/gpu";
  return NULL;
}

void
za_cdi_outcome_clear (struct za_cdi_outcome *o)
{
  za_cdi_plan_clear (&o->plan);
  za_cdi_registry_free (o->reg);
  za_strv_clear (&o->names);
  *o = (struct za_cdi_outcome) { 0 };
}

static bool
kind_present (const struct za_cdi_registry *r, const char *kind)
{
  size_t kl = strlen (kind);
  for (size_t i = 0; i < r->ndevs; i++)
    if (!strncmp (r->devs[i].qname, kind, kl) && r->devs[i].qname[kl] == '=')
      return true;
  return false;
}

/* Names for `count` GPUs of KIND: "0" … "count-1" (never `all`).  */
static int
gpu_names (const char *kind, int64_t count, struct za_strv *out)
{
  for (int64_t i = 0; i < count; i++)
    if (za_strv_pushf (out, "%s=%lld", kind, (long long) i) < 0)
      return -1;
  return 0;
}

int
za_cdi_devices_plan (const struct za_service *svc,
                     const struct za_cdi_request *req, struct za_cdi_outcome *out,
                     struct za_err **warn, struct za_err **err)
{
  const struct za_gpu_spec *gpu = svc->resources.gpu;
  const char *kind = gpu ? za_gpu_vendor_kind (gpu->vendor.s) : NULL;
  bool strict = req->ndirs > 0;
  struct za_strv explicit_names = { 0 };
  int ret = 0;

  *out = (struct za_cdi_outcome) { 0 };
  for (size_t i = 0; i < svc->devices.n; i++)
    {
      const struct za_device *d = (const struct za_device *) svc->devices.v + i;
      if (d->path.s && d->path.s[0] != '/' && za_strv_push (&explicit_names, d->path.s) < 0)
        goto oom;
    }
  for (size_t i = 0; i < req->ndevices; i++)
    {
      char buf[512];
      const char *problem = za_cdi_qualified_problem (req->devices[i], buf, sizeof buf);
      if (problem)
        {
          za_strv_clear (&explicit_names);
          return za_err_set (err, ZA_EINPUT, "--device %s: %s", req->devices[i], problem);
        }
      if (za_strv_push (&explicit_names, req->devices[i]) < 0)
        goto oom;
    }
  /* count 0 is "no GPU" (§12 #17), not an empty CDI request.  */
  if (gpu && gpu->count.v == 0)
    kind = NULL;
  if (!kind && explicit_names.n == 0)
    return 0;

  if (za_cdi_registry_load (req->dirs, req->ndirs, &out->reg, err) < 0)
    {
      za_strv_clear (&explicit_names);
      return -1;
    }
  if (kind)
    {
      struct za_strv g = { 0 };
      struct za_cdi_plan probe;
      struct za_err *e = NULL;
      if (gpu_names (kind, gpu->count.v, &g) < 0)
        goto oom;
      if (za_cdi_resolve (out->reg, (const char *const *) g.v, g.n, &probe, &e) == 0)
        {
          out->gpu_via_cdi = true;
          za_cdi_plan_clear (&probe);
          for (size_t i = 0; i < g.n; i++)
            if (za_strv_push (&out->names, g.v[i]) < 0)
              {
                za_strv_clear (&g);
                goto oom;
              }
        }
      else if (strict || (e && e->code != ZA_EINPUT))
        {
          za_err_wrap (&e, "CDI resolution failed for vendor '%s'", gpu->vendor.s);
          za_err_append (err, &e);
          ret = -1;
        }
      else
        {
          /* No spec of that kind at all is the normal case on hosts
             without CDI and stays quiet, as in the reference; a spec that
             lacks the devices is worth a warning.  */
          if (kind_present (out->reg, kind))
            za_err_set (warn, ZA_EINPUT,
                        "CDI resolution failed for vendor '%s' (%s); falling back to direct GPU device passthrough",
                        gpu->vendor.s, e ? e->msg : "no spec");
          za_err_free (&e);
        }
      za_strv_clear (&g);
    }
  for (size_t i = 0; ret == 0 && i < explicit_names.n; i++)
    if (za_strv_push (&out->names, explicit_names.v[i]) < 0)
      goto oom;
  za_strv_clear (&explicit_names);
  if (ret == 0 && out->names.n > 0)
    ret = za_cdi_resolve (out->reg, (const char *const *) out->names.v, out->names.n, &out->plan, err);
  return ret;
oom:
  za_strv_clear (&explicit_names);
  return za_err_set (err, ENOMEM, "out of memory");
}
