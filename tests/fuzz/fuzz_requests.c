/* Fuzz target: the device requests the runtime shim reads from an OCI
   config.json a container engine wrote (cdi/request.c).

   The input is parsed as JSON; when it is an object, za_cdi_requests runs
   on it under every combination of the policy switches (annotation
   prefixes, mounts, the unprivileged variable), and every string of its
   process.env and mounts goes to za_cdi_visible_devices and
   za_cdi_mount_request directly.  */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/cdi.h"
#include "util/strv.h"

#include "fuzz_replay.h"

static void
direct (json_t *cfg)
{
  json_t *v;
  size_t i;
  json_array_foreach (json_object_get (json_object_get (cfg, "process"), "env"), i, v)
    {
      struct za_strv out = { 0 };
      struct za_err *err = NULL;
      const char *s = json_string_value (v), *eq = s ? strchr (s, '=') : NULL;
      (void) za_cdi_visible_devices (eq ? eq + 1 : s, "nvidia.com/gpu", &out, &err);
      za_err_free (&err);
      za_strv_clear (&out);
    }
  json_array_foreach (json_object_get (cfg, "mounts"), i, v)
    {
      struct za_strv out = { 0 };
      struct za_err *err = NULL;
      (void) za_cdi_mount_request (json_string_value (json_object_get (v, "source")),
                                   json_string_value (json_object_get (v, "destination")), "example.com/x", &out,
                                   &err);
      za_err_free (&err);
      za_strv_clear (&out);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const prefixes[] = { "cdi.k8s.io/", "", "x" };
  json_t *cfg = json_loadb ((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object (cfg))
    {
      json_decref (cfg);
      return 0;
    }
  for (unsigned mode = 0; mode < 8; mode++)
    {
      struct za_cdi_request_opts o = { .annotation_prefixes = prefixes, .nprefixes = 1 + (mode & 1) * 2,
                                       .device_requests = true, .volume_mounts = mode & 2,
                                       .env_unprivileged = mode & 4 };
      struct za_strv out = { 0 };
      struct za_err *err = NULL, *notes = NULL;
      (void) za_cdi_requests (cfg, &o, &out, &notes, &err);
      za_err_free (&err);
      za_err_free (&notes);
      za_strv_clear (&out);
    }
  direct (cfg);
  json_decref (cfg);
  return 0;
}
