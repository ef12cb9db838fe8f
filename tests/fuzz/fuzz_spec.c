/* Fuzz target: a deployment spec through the whole in-memory pipeline.

   za_spec_parse (YAML tree + schema decoder), za_spec_validate, and for
   every service of a spec that parses (valid or not) za_build_config +
   za_config_dump.  Side-effect free: the host root is empty (a removed
   temporary directory, za_fuzz_empty_root), rootless is off, the cgroup parent is
   explicit (ZLAYER_CGROUP_PARENT, unless the spec sets cgroup_parent) so
   nothing about the real host's cgroups is probed, there is no rootfs and
   no secrets store, and no bundle is written.  */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bundle/build.h"
#include "oci/image_config.h"
#include "spec/spec.h"
#include "util/err.h"

#include "fuzz_replay.h"

static char host_root[64];
static struct za_image_config *image;

static void
cleanup (void)
{
  za_image_config_free (image);
}

static void
init_once (void)
{
  static const char ic[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"},"
                           "\"config\":{\"User\":\"1000:1000\",\"WorkingDir\":\"/app\","
                           "\"Env\":[\"PATH=/usr/bin:/bin\",\"LANG=C.UTF-8\"],"
                           "\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"exec app\"],"
                           "\"StopSignal\":\"SIGTERM\"}}";
  struct za_err *err = NULL;
  if (host_root[0])
    return;
  za_fuzz_empty_root (host_root, sizeof host_root);
  if (za_image_config_parse ("image.json", ic, sizeof ic - 1, &image, &err) < 0)
    abort ();
  setenv ("ZLAYER_CGROUP_PARENT", "/zagent-fuzz", 1);
  unsetenv ("ZLAYER_DATA_DIR");
  atexit (cleanup);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct za_spec *spec = NULL;
  struct za_err *err = NULL;

  init_once ();
  if (za_spec_parse ("fuzz.yaml", (const char *) data, size, &spec, &err) < 0)
    {
      /* every error must format */
      for (struct za_err *e = err; e; e = e->next)
        za_fuzz_note ("error", za_err_format (e));
      za_err_free (&err);
      return 0;
    }
  za_spec_validate (spec, &err);
  for (struct za_err *e = err; e; e = e->next)
    za_fuzz_note ("invalid", za_err_format (e));
  za_err_free (&err);

  /* a few services are enough to reach every code path; thousands would
     only make each run slow */
  for (size_t i = 0; i < spec->d.services.n && i < 16; i++)
    {
      const struct za_service *svc = spec->d.services.v[i].val;
      struct za_build_opts o = { 0 };
      struct za_build_result r;
      o.replica = (unsigned) i + 1;
      o.rootless = 0;
      o.host.root = host_root;
      o.image = (i % 2) ? image : NULL;
      if (za_build_config (spec, svc, &o, &r, &err) == 0)
        {
          size_t len = 0;
          free (za_config_dump (r.config, &len));
          za_fuzz_note ("built", strdup (r.container_id));
        }
      for (struct za_err *e = err; e; e = e->next)
        za_fuzz_note ("build", za_err_format (e));
      za_build_result_clear (&r);
      za_err_free (&err);
    }
  za_spec_free (spec);
  return 0;
}
