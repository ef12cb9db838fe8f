/* How a `resources.gpu` request is satisfied: through the vendor's CDI
   devices or by direct passthrough (zlayer-reference.md §5.5).  */
#define _GNU_SOURCE
#include "gpu/gpu.h"

#include <errno.h>
#include <string.h>

#include "cdi/cdi.h"

void
za_gpu_route_clear (struct za_gpu_route *r)
{
  za_strv_clear (&r->cdi_names);
  *r = (struct za_gpu_route) { 0 };
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

int
za_gpu_route (const struct za_gpu_spec *gpu, const char *const *dirs, size_t ndirs,
              struct za_cdi_registry **reg, struct za_gpu_route *out,
              struct za_err **warn, struct za_err **err)
{
  const char *kind;
  struct za_cdi_plan probe;
  struct za_err *e = NULL;

  *out = (struct za_gpu_route) { 0 };
  /* count 0 is "no GPU" (§12 #17), not an empty CDI request.  */
  if (!gpu || gpu->count.v == 0)
    return 0;
  out->via = ZA_GPU_VIA_PASSTHROUGH;
  kind = za_gpu_vendor_cdi_kind (za_gpu_vendor_parse (gpu->vendor.s));
  if (!reg || !kind)
    return 0;
  if (!*reg && za_cdi_registry_load (dirs, ndirs, reg, err) < 0)
    goto fail;
  /* "0" … "count-1" (never `all`); validation bounds the count.  */
  for (int64_t i = 0; i < gpu->count.v; i++)
    if (za_strv_pushf (&out->cdi_names, "%s=%lld", kind, (long long) i) < 0)
      {
        za_err_set (err, ENOMEM, "out of memory");
        goto fail;
      }
  if (za_cdi_resolve (*reg, (const char *const *) out->cdi_names.v, out->cdi_names.n, &probe, &e) == 0)
    {
      za_cdi_plan_clear (&probe);
      out->via = ZA_GPU_VIA_CDI;
      return 0;
    }
  za_strv_clear (&out->cdi_names);
  if (ndirs > 0 || (e && e->code != ZA_EINPUT))
    {
      za_err_wrap_all (&e, "CDI resolution failed for vendor '%s'", gpu->vendor.s);
      za_err_append (err, &e);
      goto fail;
    }
  /* No spec of that kind at all is the normal case on hosts without CDI
     and stays quiet, as in the reference; a spec that lacks the devices
     is worth a warning.  */
  if (kind_present (*reg, kind))
    za_err_set (warn, ZA_EINPUT,
                "CDI resolution failed for vendor '%s' (%s); falling back to direct GPU device passthrough",
                gpu->vendor.s, e ? e->msg : "no spec");
  za_err_free (&e);
  return 0;
fail:
  za_gpu_route_clear (out);
  return -1;
}
