/* Unit tests for the zagent-runtime shim's library side: the device
   requests of an OCI config (cdi/request.c: NVIDIA_VISIBLE_DEVICES values,
   the volume-mount list, privileged as the toolkit decides it, the
   precedence of annotations, mounts and the variable) and the config file
   (api_shim.c: keys, defaults, errors with positions, the lookup order
   and the environment's overrides), and zagent_shim_inject end to end on
   a bundle.  */
#define _GNU_SOURCE
#include <errno.h>
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

#include "zagent.h"
#include "cdi/cdi.h"
#include "util/strv.h"

#include "testutil.h"

/* VALUE as NVIDIA_VISIBLE_DEVICES gives exactly WANT ("a b", "" = none).  */
static void
check_visible (const char *value, const char *want)
{
  struct za_strv out = { 0 };
  struct za_err *err = NULL;
  char got[1024] = "";
  assert_int_equal (za_cdi_visible_devices (value, "nvidia.com/gpu", &out, &err), 0);
  assert_null (err);
  for (size_t i = 0; i < out.n; i++)
    snprintf (got + strlen (got), sizeof got - strlen (got), "%s%s", i ? " " : "", out.v[i]);
  if (strcmp (got, want))
    fail_msg ("NVIDIA_VISIBLE_DEVICES=%s: got [%s], want [%s]", value, got, want);
  za_strv_clear (&out);
}

static void
test_visible_devices (void **state)
{
  (void) state;
  check_visible ("0", "nvidia.com/gpu=0");
  check_visible ("0,1", "nvidia.com/gpu=0 nvidia.com/gpu=1");
  check_visible (" 1 , 0 ,1,", "nvidia.com/gpu=1 nvidia.com/gpu=0");
  check_visible ("GPU-0f5a3c1e-1111-2222-3333-444455556666", "nvidia.com/gpu=GPU-0f5a3c1e-1111-2222-3333-444455556666");
  check_visible ("MIG-0f5a3c1e-1111-2222-3333-444455556666", "nvidia.com/gpu=MIG-0f5a3c1e-1111-2222-3333-444455556666");
  check_visible ("0:1", "nvidia.com/gpu=0:1");
  check_visible ("all", "nvidia.com/gpu=all");
  check_visible ("0,all", "nvidia.com/gpu=all");
  check_visible ("example.com/dev=a,1", "example.com/dev=a nvidia.com/gpu=1");
  /* none and void: nothing; void > none > all.  */
  check_visible ("none", "");
  check_visible ("void", "");
  check_visible ("all,none", "");
  check_visible ("0,void", "");
  check_visible ("", "");
  check_visible (" , ", "");
}

static void
test_visible_devices_invalid (void **state)
{
  struct za_strv out = { 0 };
  struct za_err *err = NULL;
  (void) state;
  assert_int_equal (za_cdi_visible_devices ("0,bad name", "nvidia.com/gpu", &out, &err), -1);
  assert_non_null (err);
  assert_true (zagent_error_is_input (err));
  assert_non_null (strstr (zagent_error_message (err), "NVIDIA_VISIBLE_DEVICES: invalid device \"bad name\""));
  za_err_free (&err);
  za_strv_clear (&out);
}

static void
check_mount (const char *src, const char *dst, const char *want)
{
  struct za_strv out = { 0 };
  struct za_err *err = NULL;
  assert_int_equal (za_cdi_mount_request (src, dst, "nvidia.com/gpu", &out, &err), 0);
  assert_null (err);
  if (!want)
    assert_int_equal (out.n, 0);
  else
    {
      assert_int_equal (out.n, 1);
      assert_string_equal (out.v[0], want);
    }
  za_strv_clear (&out);
}

static void
test_mount_requests (void **state)
{
  (void) state;
  check_mount ("/dev/null", "/var/run/nvidia-container-devices/0", "nvidia.com/gpu=0");
  check_mount ("/dev//null", "/var/run/nvidia-container-devices/./GPU-1/", "nvidia.com/gpu=GPU-1");
  check_mount ("/dev/null", "/var/run/nvidia-container-devices/all", "nvidia.com/gpu=all");
  check_mount ("/dev/null", "/var/run/nvidia-container-devices/cdi/example.com/dev/a", "example.com/dev=a");
  check_mount ("/dev/null", "/var/run/nvidia-container-devices/cdi/example.com/dev=b", "example.com/dev=b");
  /* not requests */
  check_mount ("/not/dev/null", "/var/run/nvidia-container-devices/0", NULL);
  check_mount ("/dev/null", "/other/prefix/0", NULL);
  check_mount ("/dev/null", "/var/run/nvidia-container-devices", NULL);
  check_mount ("/dev/null", "/var/run/nvidia-container-devices/", NULL);
  check_mount ("/dev/null", "/var/run/nvidia-container-devicesX/0", NULL);
  check_mount ("/dev/null", "/var/run/nvidia-container-devices/../x/0", NULL);
  check_mount ("/dev/null", "/var/run/nvidia-container-devices/imex/0", NULL);
  check_mount (NULL, "/var/run/nvidia-container-devices/0", NULL);
  check_mount ("/dev/null", NULL, NULL);
}

static json_t *
config (const char *text)
{
  json_error_t je;
  json_t *c = json_loads (text, 0, &je);
  if (!c)
    fail_msg ("bad test JSON: %s", je.text);
  return c;
}

static void
test_privileged (void **state)
{
  json_t *c;
  (void) state;
  c = config ("{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_SYS_ADMIN\"],"
              "\"effective\":[\"CAP_CHOWN\"]}}}");
  assert_true (za_cdi_config_privileged (c));
  json_decref (c);
  /* SYS_ADMIN elsewhere than in the bounding set does not count.  */
  c = config ("{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"],\"effective\":[\"CAP_SYS_ADMIN\"]}}}");
  assert_false (za_cdi_config_privileged (c));
  json_decref (c);
  /* runtime-spec before 1.0.0-rc5: one list.  */
  c = config ("{\"process\":{\"capabilities\":[\"CAP_SYS_ADMIN\"]}}");
  assert_true (za_cdi_config_privileged (c));
  json_decref (c);
  c = config ("{\"process\":{}}");
  assert_false (za_cdi_config_privileged (c));
  json_decref (c);
  c = config ("{\"process\":{\"capabilities\":{\"bounding\":\"CAP_SYS_ADMIN\"}}}");
  assert_false (za_cdi_config_privileged (c));
  json_decref (c);
}

#define PRIV "\"capabilities\":{\"bounding\":[\"CAP_SYS_ADMIN\"]}"
#define UNPRIV "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"]}"

/* The requests of CFG under O: "a b" or "" in WANT, NOTES notes.  */
static void
check_requests (const char *cfg, const struct za_cdi_request_opts *o, const char *want, size_t notes)
{
  struct za_strv out = { 0 };
  struct za_err *err = NULL, *note = NULL;
  json_t *c = config (cfg);
  char got[1024] = "";
  assert_int_equal (za_cdi_requests (c, o, &out, &note, &err), 0);
  assert_null (err);
  for (size_t i = 0; i < out.n; i++)
    snprintf (got + strlen (got), sizeof got - strlen (got), "%s%s", i ? " " : "", out.v[i]);
  if (strcmp (got, want))
    fail_msg ("%s: got [%s], want [%s]", cfg, got, want);
  assert_int_equal (za_err_count (note), notes);
  za_err_free (&note);
  za_strv_clear (&out);
  json_decref (c);
}

static void
test_requests_precedence (void **state)
{
  static const char *const prefixes[] = { "cdi.k8s.io/", "example.com/req." };
  struct za_cdi_request_opts o = { .annotation_prefixes = prefixes, .nprefixes = 2, .device_requests = true };
  const char *env0 = "\"env\":[\"NVIDIA_VISIBLE_DEVICES=9\",\"NVIDIA_VISIBLE_DEVICES=0\"]";
  const char *mnt = "\"mounts\":[{\"source\":\"/dev/null\",\"destination\":\"/var/run/nvidia-container-devices/3\"}]";
  char cfg[1024];
  (void) state;

  /* the last entry of the variable counts; privileged only by default */
  snprintf (cfg, sizeof cfg, "{\"process\":{%s,%s}}", env0, PRIV);
  check_requests (cfg, &o, "nvidia.com/gpu=0", 0);
  snprintf (cfg, sizeof cfg, "{\"process\":{%s,%s}}", env0, UNPRIV);
  check_requests (cfg, &o, "", 1);
  o.env_unprivileged = true;
  check_requests (cfg, &o, "nvidia.com/gpu=0", 0);
  o.env_unprivileged = false;
  /* a variable that asks for nothing is no refusal */
  check_requests ("{\"process\":{\"env\":[\"NVIDIA_VISIBLE_DEVICES=void\"]," UNPRIV "}}", &o, "", 0);
  /* mounts, when accepted, come before the variable, privileged or not */
  snprintf (cfg, sizeof cfg, "{\"process\":{%s,%s},%s}", env0, UNPRIV, mnt);
  check_requests (cfg, &o, "", 1);
  o.volume_mounts = true;
  check_requests (cfg, &o, "nvidia.com/gpu=3", 0);
  /* annotations (any configured prefix, keys sorted) before everything */
  snprintf (cfg, sizeof cfg,
            "{\"process\":{%s,%s},%s,\"annotations\":{\"example.com/req.z\":\"a.com/b=1\","
            "\"cdi.k8s.io/y\":\"a.com/b=2,a.com/b=1\",\"other\":\"a.com/b=3\"}}",
            env0, PRIV, mnt);
  check_requests (cfg, &o, "a.com/b=2 a.com/b=1", 0);
  /* another default kind; requests other than annotations turned off */
  o.default_kind = "example.com/accel";
  snprintf (cfg, sizeof cfg, "{\"process\":{%s,%s}}", env0, PRIV);
  check_requests (cfg, &o, "example.com/accel=0", 0);
  o.device_requests = false;
  check_requests (cfg, &o, "", 0);
}

/* ---- the config file ---------------------------------------------------- */

static char dir[PATH_MAX];

static int
setup (void **state)
{
  (void) state;
  make_tmpdir (dir, sizeof dir, "/tmp/zagent-test-shim.XXXXXX");
  unsetenv ("ZAGENT_RUNTIME_CONFIG");
  unsetenv ("ZAGENT_SHIM_RUNTIME");
  unsetenv ("ZAGENT_RUNTIME_LOG_LEVEL");
  unsetenv ("CDI_SPEC_DIRS");
  unsetenv ("XDG_CONFIG_HOME");
  setenv ("HOME", dir, 1);
  return 0;
}

static int
teardown (void **state)
{
  (void) state;
  rm_rf (dir);
  return 0;
}

static char *
conf_file (const char *name, const char *text)
{
  static char p[PATH_MAX];
  pjoin (p, sizeof p, dir, name);
  write_file (p, text);
  chmod (p, 0644);
  return p;
}

static void
test_config_keys (void **state)
{
  zagent_shim_config *c = NULL;
  zagent_error *err = NULL;
  const char *p = conf_file ("rt.yaml", "runtime: /usr/bin/crun\n"
                                        "cdi-spec-dirs: [/a, /b]\n"
                                        "log-file: /var/log/zagent-runtime.log\n"
                                        "log-level: debug\n"
                                        "annotation-prefixes: [x.io/]\n"
                                        "default-kind: example.com/gpu\n"
                                        "accept-nvidia-visible-devices-envvar-when-unprivileged: true\n"
                                        "accept-nvidia-visible-devices-as-volume-mounts: true\n"
                                        "nvidia-device-requests: true\n");
  (void) state;
  assert_int_equal (zagent_shim_config_load (&c, p, &err), 0);
  assert_null (err);
  assert_string_equal (zagent_shim_config_file (c), p);
  assert_string_equal (zagent_shim_config_runtime (c), "/usr/bin/crun");
  assert_string_equal (zagent_shim_config_log_file (c), "/var/log/zagent-runtime.log");
  assert_int_equal (zagent_shim_config_log_level (c), ZAGENT_LOG_DEBUG);
  zagent_shim_config_free (c);

  /* the environment overrides the file */
  setenv ("ZAGENT_SHIM_RUNTIME", "runc", 1);
  setenv ("ZAGENT_RUNTIME_LOG_LEVEL", "error", 1);
  assert_int_equal (zagent_shim_config_load (&c, p, &err), 0);
  assert_string_equal (zagent_shim_config_runtime (c), "runc");
  assert_int_equal (zagent_shim_config_log_level (c), ZAGENT_LOG_ERROR);
  zagent_shim_config_free (c);
  setenv ("ZAGENT_RUNTIME_LOG_LEVEL", "loud", 1);
  assert_int_equal (zagent_shim_config_load (&c, p, &err), -1);
  assert_non_null (strstr (zagent_error_message (err), "ZAGENT_RUNTIME_LOG_LEVEL"));
  zagent_error_free (&err);
}

static void
test_config_defaults_and_lookup (void **state)
{
  zagent_shim_config *c = NULL;
  zagent_error *err = NULL;
  char sub[PATH_MAX], p[PATH_MAX];
  (void) state;
  /* the empty file: the defaults */
  assert_int_equal (zagent_shim_config_load (&c, conf_file ("empty.yaml", ""), &err), 0);
  assert_null (zagent_shim_config_runtime (c));
  assert_null (zagent_shim_config_log_file (c));
  assert_int_equal (zagent_shim_config_log_level (c), ZAGENT_LOG_WARNING);
  zagent_shim_config_free (c);

  /* $ZAGENT_RUNTIME_CONFIG must exist */
  pjoin (p, sizeof p, dir, "missing.yaml");
  setenv ("ZAGENT_RUNTIME_CONFIG", p, 1);
  assert_int_equal (zagent_shim_config_load (&c, NULL, &err), -1);
  assert_true (zagent_error_is_input (err));
  assert_non_null (strstr (zagent_error_message (err), "No such file"));
  zagent_error_free (&err);
  setenv ("ZAGENT_RUNTIME_CONFIG", conf_file ("named.yaml", "runtime: named\n"), 1);
  assert_int_equal (zagent_shim_config_load (&c, NULL, &err), 0);
  assert_string_equal (zagent_shim_config_runtime (c), "named");
  zagent_shim_config_free (c);
  unsetenv ("ZAGENT_RUNTIME_CONFIG");

  /* then the user's: $HOME/.config/zagent, or $XDG_CONFIG_HOME/zagent */
  conf_file (".config/zagent/runtime.yaml", "runtime: from-home\n");
  assert_int_equal (zagent_shim_config_load (&c, NULL, &err), 0);
  assert_string_equal (zagent_shim_config_runtime (c), "from-home");
  zagent_shim_config_free (c);
  conf_file ("xdg/zagent/runtime.yaml", "runtime: from-xdg\n");
  pjoin (sub, sizeof sub, dir, "xdg");
  setenv ("XDG_CONFIG_HOME", sub, 1);
  assert_int_equal (zagent_shim_config_load (&c, NULL, &err), 0);
  assert_string_equal (zagent_shim_config_runtime (c), "from-xdg");
  zagent_shim_config_free (c);
}

static void
test_config_errors (void **state)
{
  zagent_shim_config *c = NULL;
  zagent_error *err = NULL;
  const struct za_err *e;
  const char *p;
  (void) state;
  p = conf_file ("bad.yaml", "runtime: runc\nlog-level: loud\ncdi-spec-dirs: [relative]\n"
                             "default-kind: not-a-kind\nlog-file: rel.log\nspec-dirs: [/x]\n");
  assert_int_equal (zagent_shim_config_load (&c, p, &err), -1);
  assert_null (c);
  /* every problem, with its position */
  e = require_chain_has ("log-level", err, "error", "loud");
  assert_string_equal (e->file, p);
  assert_int_equal (e->line, 2);
  assert_int_equal (e->col, 12);
  assert_true (chain_has (err, "unknown field `spec-dirs`"));
  assert_true (chain_has (err, "must be an absolute path"));
  assert_true (chain_has (err, "invalid kind"));
  zagent_error_free (&err);

  p = conf_file ("empty-dirs.yaml", "cdi-spec-dirs: []\n");
  assert_int_equal (zagent_shim_config_load (&c, p, &err), -1);
  assert_true (chain_has (err, "must name at least one directory"));
  zagent_error_free (&err);

  /* writable by others: refused (it picks the program run as root) */
  p = conf_file ("open.yaml", "runtime: runc\n");
  chmod (p, 0664);
  assert_int_equal (zagent_shim_config_load (&c, p, &err), -1);
  assert_true (chain_has (err, "writable only by its owner"));
  zagent_error_free (&err);
}

/* zagent_shim_inject on a bundle: the config's spec dirs, prefixes and
   request policy.  */
static void
test_shim_inject (void **state)
{
  zagent_shim_config *c = NULL;
  zagent_error *err = NULL, *warn = NULL;
  char cdi[PATH_MAX], b[PATH_MAX], cfgp[PATH_MAX], text[PATH_MAX + 128];
  const char *p;
  json_t *cfg;
  (void) state;
  pjoin (cdi, sizeof cdi, dir, "cdi");
  pjoin (b, sizeof b, dir, "bundle");
  assert_int_equal (za_mkdir_p (cdi, 0755, NULL), 0);
  assert_int_equal (za_mkdir_p (b, 0700, NULL), 0);
  chmod (b, 0700);
  conf_file ("cdi/gpu.yaml", "cdiVersion: \"0.5.0\"\nkind: nvidia.com/gpu\ndevices:\n"
                             "- {name: \"0\", containerEdits: {env: [GPU=0]}}\n"
                             "- {name: x, containerEdits: {env: [GPU=x]}}\n");
  snprintf (text, sizeof text, "cdi-spec-dirs: [%s]\nannotation-prefixes: [my.io/]\n", cdi);
  p = conf_file ("rt.yaml", text);
  assert_int_equal (zagent_shim_config_load (&c, p, &err), 0);

  pjoin (cfgp, sizeof cfgp, b, "config.json");
  /* cdi.k8s.io/ is not among this config's prefixes; my.io/ is */
  write_file (cfgp, "{\"ociVersion\":\"1.0.2\",\"process\":{\"env\":[\"NVIDIA_VISIBLE_DEVICES=0\"]},"
                    "\"annotations\":{\"cdi.k8s.io/a\":\"nvidia.com/gpu=0\",\"my.io/a\":\"nvidia.com/gpu=x\"}}");
  assert_int_equal (zagent_shim_inject (c, b, &warn, &err), 0);
  assert_null (err);
  cfg = json_load_file (cfgp, 0, NULL);
  assert_non_null (cfg);
  assert_string_equal (json_string_value (json_array_get (json_object_get (json_object_get (cfg, "process"), "env"), 1)),
                       "GPU=x");
  assert_int_equal (json_array_size (json_object_get (json_object_get (cfg, "process"), "env")), 2);
  json_decref (cfg);

  /* no annotation, unprivileged: refused with a warning, untouched */
  write_file (cfgp, "{\"ociVersion\":\"1.0.2\",\"process\":{\"env\":[\"NVIDIA_VISIBLE_DEVICES=0\"]}}");
  assert_int_equal (zagent_shim_inject (c, b, &warn, &err), 0);
  assert_true (chain_has (warn, "NVIDIA_VISIBLE_DEVICES ignored"));
  zagent_error_free (&warn);
  cfg = json_load_file (cfgp, 0, NULL);
  assert_int_equal (json_array_size (json_object_get (json_object_get (cfg, "process"), "env")), 1);
  json_decref (cfg);
  zagent_shim_config_free (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_visible_devices),
    cmocka_unit_test (test_visible_devices_invalid),
    cmocka_unit_test (test_mount_requests),
    cmocka_unit_test (test_privileged),
    cmocka_unit_test (test_requests_precedence),
    cmocka_unit_test_setup_teardown (test_config_keys, setup, teardown),
    cmocka_unit_test_setup_teardown (test_config_defaults_and_lookup, setup, teardown),
    cmocka_unit_test_setup_teardown (test_config_errors, setup, teardown),
    cmocka_unit_test_setup_teardown (test_shim_inject, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
