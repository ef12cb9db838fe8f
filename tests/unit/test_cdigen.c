/* Unit tests for issue 14's CDI pieces of src/gpu: MIG devices, IMEX
   channels, naming strategies, the "all" device, the zagent-cdi-hook
   hooks, YAML output and the check against the host.  The fake hosts
   here need no root: device nodes are symlinks to /dev/null (host paths
   are stat()ed, so they count as character devices), and NVIDIA GPUs
   are found by their /dev/nvidiaN nodes (no PCI sysfs).  */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cdi/cdi.h"
#include "gpu/gpu.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#include "testutil.h"

struct fx
{
  char dir[PATH_MAX];
  struct za_host h;
};

/* DIR/REL -> /dev/null, after mkdir -p.  */
static void
node (const char *dir, const char *rel)
{
  char p[PATH_MAX];
  pjoin (p, sizeof p, dir, rel);
  write_file (p, "");
  assert_int_equal (unlink (p), 0);
  assert_int_equal (symlink ("/dev/null", p), 0);
}

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  assert_non_null (f);
  assert_non_null (make_tmpdir (f->dir, sizeof f->dir, "/tmp/za-cdigen-XXXXXX"));
  f->h.root = f->dir;
  node (f->dir, "dev/nvidia0");
  node (f->dir, "dev/nvidia1");
  node (f->dir, "dev/nvidiactl");
  /* GPU 0 (minor 0) in MIG mode: GI 1 and 2 with CI 0 each.  */
  write_in (f->dir, "proc/driver/nvidia/capabilities/gpu0/mig/gi1/access", "DeviceFileMinor: 12\nDeviceFileMode: 292\n");
  write_in (f->dir, "proc/driver/nvidia/capabilities/gpu0/mig/gi1/ci0/access", "DeviceFileMinor: 13\n");
  write_in (f->dir, "proc/driver/nvidia/capabilities/gpu0/mig/gi2/access", "DeviceFileMinor: 21\n");
  write_in (f->dir, "proc/driver/nvidia/capabilities/gpu0/mig/gi2/ci0/access", "");
  write_in (f->dir, "proc/driver/nvidia-caps/mig-minors", "config 1\nmonitor 2\ngpu0/gi2/ci0/access 22\n");
  node (f->dir, "dev/nvidia-caps/nvidia-cap12");
  node (f->dir, "dev/nvidia-caps/nvidia-cap13");
  node (f->dir, "dev/nvidia-caps/nvidia-cap21");
  node (f->dir, "dev/nvidia-caps/nvidia-cap22");
  write_in (f->dir, "usr/lib64/libcuda.so.1", "elf");
  write_in (f->dir, "proc/driver/nvidia/version",
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n");
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  return fixture_free (f, f->dir);
}

static json_t *
gen (struct fx *f, struct za_cdi_gen_opts *o, struct za_err **warn)
{
  json_t *spec = NULL;
  struct za_err *err = NULL;
  if (za_gpu_cdi_generate_opts (&f->h, o, &spec, warn, &err) < 0)
    {
      dump_errors (err);
      fail_msg ("generate failed");
    }
  return spec;
}

/* The device names, space-separated.  */
static void
names_are (json_t *spec, const char *want)
{
  char got[2048] = "";
  json_t *d;
  size_t i;
  json_array_foreach (json_object_get (spec, "devices"), i, d)
    {
      strcat (got, i ? " " : "");
      strcat (got, json_string_value (json_object_get (d, "name")));
    }
  assert_string_equal (got, want);
}

static void
test_mig_names (void **state)
{
  struct za_cdi_gen_opts o = { .vendor = ZA_GPU_NVIDIA, .names = ZA_CDI_NAME_INDEX | ZA_CDI_NAME_TYPE_INDEX };
  struct za_err *warn = NULL;
  json_t *spec = gen (*state, &o, &warn), *mig;
  names_are (spec, "0 gpu0 0:0 mig0:0 0:1 mig0:1 1 gpu1 all");
  /* 0:1 = GI 2 (minor 21 from its access file) / CI 0 (minor 22 from
     mig-minors: its access file says nothing).  */
  mig = json_object_get (json_object_get (json_array_get (json_object_get (spec, "devices"), 4), "containerEdits"),
                         "deviceNodes");
  assert_int_equal (json_array_size (mig), 3);
  assert_string_equal (json_string_value (json_object_get (json_array_get (mig, 1), "path")),
                       "/dev/nvidia-caps/nvidia-cap21");
  assert_string_equal (json_string_value (json_object_get (json_array_get (mig, 2), "path")),
                       "/dev/nvidia-caps/nvidia-cap22");
  assert_null (warn);
  json_decref (spec);
}

static void
test_mig_missing_node (void **state)
{
  struct fx *f = *state;
  struct za_cdi_gen_opts o = { .vendor = ZA_GPU_NVIDIA, .names = ZA_CDI_NAME_INDEX, .no_all = true };
  struct za_err *warn = NULL;
  char p[PATH_MAX];
  json_t *spec;
  pjoin (p, sizeof p, f->dir, "dev/nvidia-caps/nvidia-cap13");
  assert_int_equal (unlink (p), 0);
  spec = gen (f, &o, &warn);
  names_are (spec, "0 0:1 1");
  assert_true (chain_has (warn, "MIG device 0:0 (GI 1, CI 0) has no capability device nodes"));
  za_err_free (&warn);
  json_decref (spec);
}

static void
test_imex (void **state)
{
  struct fx *f = *state;
  struct za_cdi_gen_opts o = { .vendor = ZA_GPU_NVIDIA, .imex = true };
  struct za_err *err = NULL;
  json_t *spec = NULL;
  assert_int_equal (za_gpu_cdi_generate_opts (&f->h, &o, &spec, NULL, &err), -1);
  assert_true (chain_has (err, "no IMEX channels"));
  assert_true (za_err_is_input (err));
  za_err_free (&err);
  node (f->dir, "dev/nvidia-caps-imex-channels/channel0");
  node (f->dir, "dev/nvidia-caps-imex-channels/channel10");
  node (f->dir, "dev/nvidia-caps-imex-channels/channel2");
  write_in (f->dir, "dev/nvidia-caps-imex-channels/channel3", "not a device");
  spec = gen (f, &o, NULL);
  assert_string_equal (json_string_value (json_object_get (spec, "kind")), "nvidia.com/imex-channel");
  names_are (spec, "0 2 10 all");
  assert_null (json_object_get (spec, "containerEdits"));
  json_decref (spec);
  o.vendor = ZA_GPU_AMD;
  assert_int_equal (za_gpu_cdi_generate_opts (&f->h, &o, &spec, NULL, &err), -1);
  za_err_free (&err);
}

static void
test_hooks (void **state)
{
  struct za_cdi_gen_opts o = { .vendor = ZA_GPU_NVIDIA, .hook = "/opt/z/zagent-cdi-hook" };
  json_t *spec = gen (*state, &o, NULL), *edits = json_object_get (spec, "containerEdits");
  json_t *hooks = json_object_get (edits, "hooks");
  char *args;
  assert_int_equal (json_array_size (hooks), 3);
  args = json_dumps (json_object_get (json_array_get (hooks, 2), "args"), JSON_COMPACT);
  assert_string_equal (args, "[\"zagent-cdi-hook\",\"update-ldcache\",\"--folder\",\"/usr/lib64\"]");
  free (args);
  args = json_dumps (json_object_get (json_array_get (hooks, 1), "args"), JSON_COMPACT);
  assert_string_equal (args, "[\"zagent-cdi-hook\",\"create-symlinks\",\"--link\",\"libcuda.so.1::/usr/lib64/libcuda.so\"]");
  free (args);
  assert_string_equal (json_string_value (json_object_get (json_array_get (hooks, 0), "path")), "/opt/z/zagent-cdi-hook");
  /* With the hook, no multiarch copy: one mount for the one library.  */
  assert_int_equal (json_array_size (json_object_get (edits, "mounts")), 1);
  json_decref (spec);
  o.hook = NULL;
  spec = gen (*state, &o, NULL);
  edits = json_object_get (spec, "containerEdits");
  assert_null (json_object_get (edits, "hooks"));
  assert_int_equal (json_array_size (json_object_get (edits, "mounts")), 2);
  json_decref (spec);
}

static void
test_yaml_roundtrip (void **state)
{
  struct za_cdi_gen_opts o = { .vendor = ZA_GPU_NVIDIA, .hook = "/opt/z/zagent-cdi-hook" };
  json_t *spec = gen (*state, &o, NULL);
  struct za_cdi_file *cf = NULL;
  struct za_err *err = NULL;
  char *text = NULL;
  assert_int_equal (za_gpu_cdi_format (spec, true, &text, &err), 0);
  assert_non_null (strstr (text, "kind: \"nvidia.com/gpu\"\n"));
  assert_non_null (strstr (text, "- name: \"0\"\n"));
  assert_true (text[0] != '{' && text[strlen (text) - 1] != '\n');
  if (za_cdi_file_parse ("gen.yaml", text, strlen (text), 0, &cf, &err) < 0)
    {
      dump_errors (err);
      fail_msg ("YAML output does not parse back");
    }
  assert_int_equal (cf->spec.devices.n, json_array_size (json_object_get (spec, "devices")));
  assert_int_equal (cf->spec.edits.hooks.n, 3);
  za_cdi_file_free (cf);
  free (text);
  json_decref (spec);
}

static void
test_check (void **state)
{
  struct fx *f = *state;
  char path[PATH_MAX];
  json_t *report = json_array ();
  struct za_err *err = NULL;
  struct za_host real = { .root = "" };
  char *s;
  pjoin (path, sizeof path, f->dir, "spec.json");
  write_file (path, "{\"cdiVersion\": \"0.6.0\", \"kind\": \"x.com/y\", \"devices\": [{\"name\": \"a\", \"containerEdits\": {"
                    "\"deviceNodes\": [{\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1, \"minor\": 3},"
                    " {\"path\": \"/dev/zero\", \"major\": 2, \"minor\": 5}, {\"path\": \"/dev/full\", \"type\": \"b\"},"
                    " {\"path\": \"/dev/za-gone-node\"}]}}],"
                    " \"containerEdits\": {\"mounts\": [{\"hostPath\": \"/dev/null\", \"containerPath\": \"/x\"},"
                    " {\"hostPath\": \"/za-gone/lib.so\", \"containerPath\": \"/y\"},"
                    " {\"hostPath\": \"tmpfs\", \"containerPath\": \"/t\", \"type\": \"tmpfs\"}],"
                    " \"hooks\": [{\"hookName\": \"createContainer\", \"path\": \"/bin/sh\"},"
                    " {\"hookName\": \"createContainer\", \"path\": \"/za-gone/hook\"},"
                    " {\"hookName\": \"poststop\", \"path\": \"/za-gone/hook\"}]}}");
  assert_int_equal (za_gpu_cdi_check_file (&real, path, report, &err), 5);
  s = json_dumps (report, JSON_COMPACT);
  assert_non_null (strstr (s, "\"device\":\"x.com/y=a\",\"what\":\"node-number\",\"path\":\"/dev/zero\""));
  assert_non_null (strstr (s, "\"what\":\"node-type\",\"path\":\"/dev/full\""));
  assert_non_null (strstr (s, "\"what\":\"node-gone\",\"path\":\"/dev/za-gone-node\""));
  assert_non_null (strstr (s, "\"what\":\"mount-gone\",\"path\":\"/za-gone/lib.so\""));
  assert_non_null (strstr (s, "\"what\":\"hook-gone\",\"path\":\"/za-gone/hook\""));
  assert_non_null (strstr (s, "2:5 in the spec, 1:5 on the host"));
  free (s);
  /* Invalid and missing files are differences, not failures.  */
  write_file (path, "{\"cdiVersion\": \"0.6.0\", \"kind\": \"x.com/y\", \"devices\": []}");
  assert_int_equal (za_gpu_cdi_check_file (&real, path, report, &err), 1);
  pjoin (path, sizeof path, f->dir, "none.json");
  assert_int_equal (za_gpu_cdi_check_file (&real, path, report, &err), 1);
  assert_null (err);
  json_decref (report);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_mig_names, setup, teardown),
    cmocka_unit_test_setup_teardown (test_mig_missing_node, setup, teardown),
    cmocka_unit_test_setup_teardown (test_imex, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hooks, setup, teardown),
    cmocka_unit_test_setup_teardown (test_yaml_roundtrip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_check, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
