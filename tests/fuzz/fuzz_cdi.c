/* Fuzz target: a CDI spec file (JSON or YAML), za_cdi_file_parse.  When
   it is valid, the plan "every device of the file" (the spec-level edits
   first, then each device's, the order za_cdi_resolve produces) is
   applied with za_cdi_apply to a small base OCI config, with host device
   lookups going to an empty temporary host root.  */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "util/host.h"
#include "cdi/cdi.h"
#include "util/err.h"

#include "fuzz_replay.h"

static const char base_config[]
    = "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\",\"A=1\"],"
      "\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},"
      "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
      "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\"]}],"
      "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]},"
      "\"linux\":{\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}],"
      "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
      "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}]}}";

static char host_root[64];

static void
init_once (void)
{
  if (host_root[0])
    return;
  za_fuzz_empty_root (host_root, sizeof host_root);
}

static void
drop_errors (struct za_err **err)
{
  for (struct za_err *e = *err; e; e = e->next)
    za_fuzz_note ("error", za_err_format (e));
  za_err_free (err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct za_cdi_file *f = NULL;
  struct za_err *err = NULL;
  struct za_cdi_plan plan = { 0 };
  struct za_host host;
  json_t *cfg, *edits;
  size_t n;
  char buf[256];

  init_once ();
  if (za_cdi_file_parse ("fuzz.yaml", (const char *) data, size, 0, &f, &err) < 0)
    {
      drop_errors (&err);
      return 0;
    }
  (void) za_cdi_required_version (&f->spec);
  n = f->spec.devices.n;
  plan.edits = calloc (n + 1, sizeof *plan.edits);
  if (!plan.edits)
    abort ();
  plan.edits[plan.n++] = &f->spec.edits;
  for (size_t i = 0; i < n; i++)
    {
      const struct za_cdi_device *d = (const struct za_cdi_device *) f->spec.devices.v + i;
      char *q = NULL;
      plan.edits[plan.n++] = &d->edits;
      if (f->spec.kind.s && d->name.s && asprintf (&q, "%s=%s", f->spec.kind.s, d->name.s) >= 0)
        {
          (void) za_cdi_is_qualified (q);
          (void) za_cdi_qualified_problem (q, buf, sizeof buf);
          free (q);
        }
    }
  cfg = json_loads (base_config, 0, NULL);
  if (!cfg)
    abort ();
  host.root = host_root;
  if (za_cdi_apply (cfg, &plan, &host, &err) == 0)
    za_fuzz_note ("applied", json_dumps (cfg, JSON_COMPACT));
  drop_errors (&err);
  json_decref (cfg);
  edits = za_cdi_plan_to_json (&plan);
  json_decref (edits);
  za_cdi_plan_clear (&plan);
  za_cdi_file_free (f);
  return 0;
}
