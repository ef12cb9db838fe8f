/* Unit tests for the spec decoder (spec/decode.c + spec/model.c): scalar
   typing per zlayer-reference.md §1.1, every default of §1.3-1.5, the
   tagged enums, the custom decoders (tmpfs mode, network_mode, affinity),
   error texts and positions, and the real ZLayer examples.  */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "yaml/decode.h"
#include "spec/spec.h"
#include "yaml/yaml.h"
#include "util/arena.h"
#include "util/err.h"

#include "testutil.h"

#define FILE_NAME "t.yaml"
#define SEC UINT64_C (1000000000)
#define PRE SPEC_PRE

/* State freed in teardown, so a failed assertion leaks nothing.  */
static struct za_spec *g_spec;
static struct za_err *g_err;

static int
teardown (void **state)
{
  (void) state;
  spec_reset (&g_spec, &g_err);
  return 0;
}

static struct za_spec *
parse_ok_at (const char *yaml, int line)
{
  spec_reset (&g_spec, &g_err);
  g_spec = spec_parse_ok_at (FILE_NAME, yaml, line);
  return g_spec;
}
#define parse_ok(y) parse_ok_at (y, __LINE__)

static const struct za_err *
parse_fail_at (const char *yaml, int line)
{
  spec_reset (&g_spec, &g_err);
  if (za_spec_parse (FILE_NAME, yaml, strlen (yaml), &g_spec, &g_err) != -1)
    fail_msg ("line %d: spec accepted", line);
  assert_null (g_spec);
  assert_non_null (g_err);
  assert_true (za_err_is_input (g_err));
  return g_err;
}
#define parse_fail(y) parse_fail_at (y, __LINE__)

#define check_err(e, path, l, c, msg) check_err_at (e, FILE_NAME, path, l, c, msg, __LINE__)

/* The spec must fail with exactly one error.  */
static void
expect_one_at (const char *yaml, const char *path, unsigned l, unsigned c, const char *msg, int line)
{
  check_one_err_at (parse_fail_at (yaml, line), FILE_NAME, path, l, c, msg, line);
}
#define expect_one(y, path, l, c, msg) expect_one_at (y, path, l, c, msg, __LINE__)

static struct za_service *
web (void)
{
  struct za_service *s = za_spec_find_service (g_spec, "web");
  assert_non_null (s);
  return s;
}

/* ---- za_scalar_classify on parsed nodes ----------------------------- */

static enum za_scalar_kind
classify (const char *text)
{
  struct za_arena a = { 0 };
  struct za_node *root = NULL;
  struct za_err *err = NULL;
  char *doc = NULL;
  enum za_scalar_kind k;
  assert_true (asprintf (&doc, "k: %s\n", text) > 0);
  if (za_yaml_parse (&a, "c.yaml", doc, strlen (doc), NULL, &root, &err) != 0)
    fail_msg ("`%s` does not parse: %s", text, err ? err->msg : "?");
  free (doc);
  assert_non_null (root);
  k = za_scalar_classify (za_map_val (root, 0));
  za_arena_release (&a);
  return k;
}

static void
check_kind (const char *text, enum za_scalar_kind want, int line)
{
  static const char *const names[] = { "null", "bool", "int", "float", "str" };
  enum za_scalar_kind got = classify (text);
  if (got != want)
    fail_msg ("line %d: `%s` classified %s, want %s", line, text, names[got], names[want]);
}
#define KIND(t, k) check_kind (t, k, __LINE__)

static void
test_scalar_classify_null (void **state)
{
  (void) state;
  KIND ("", ZA_SK_NULL);
  KIND ("~", ZA_SK_NULL);
  KIND ("null", ZA_SK_NULL);
  KIND ("Null", ZA_SK_NULL);
  KIND ("NULL", ZA_SK_NULL);
  KIND ("nULL", ZA_SK_STR);
  KIND ("'~'", ZA_SK_STR);
  KIND ("\"null\"", ZA_SK_STR);
  KIND ("''", ZA_SK_STR);
}

static void
test_scalar_classify_bool (void **state)
{
  (void) state;
  static const char *const yes[] = { "true", "True", "TRUE", "false", "False", "FALSE" };
  static const char *const no[] = { "yes", "no", "on", "off", "y", "n", "Yes", "tRUE", "FaLsE",
                                    "'true'", "\"false\"" };
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
    KIND (yes[i], ZA_SK_BOOL);
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    KIND (no[i], ZA_SK_STR);
}

static void
test_scalar_classify_int (void **state)
{
  (void) state;
  static const char *const ints[] = { "0", "42", "-7", "+5", "-0", "0x1F", "0xff", "-0x10", "+0x10",
                                      "0o755", "0o0", "0b101", "-0b1", "18446744073709551616" };
  static const char *const strs[] = { "01777", "00", "-01", "+007", "1_000", "0x", "0o", "0b",
                                      "0X1F", "0O7", "0o8", "0b2", "0xg", "0x-1", "++5", "+-5",
                                      "1 000", "'5'", "\"0x1F\"", "12abc", "!!str 5" };
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
    KIND (ints[i], ZA_SK_INT);
  for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
    KIND (strs[i], ZA_SK_STR);
}

static void
test_scalar_classify_float (void **state)
{
  (void) state;
  static const char *const floats[] = { "1.5", "-0.5", "+2.5", ".5", "5.", "1e3", "1E-3", "2.5e+2",
                                        ".inf", ".Inf", ".INF", "+.inf", "-.inf", "-.Inf", "-.INF",
                                        ".nan", ".NaN", ".NAN", "01.5", "1e-400" };
  static const char *const strs[] = { "inf", "-inf", "nan", "NaN", "infinity", ".iNf", "-.nan",
                                      "+.nan", ".", "e5", "1e", "1e+", "1.5.5", "1e400", "-1e400",
                                      "1,5", "0.5'", "'1.5'", "8.8.8.8" };
  for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
    KIND (floats[i], ZA_SK_FLOAT);
  for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
    KIND (strs[i], ZA_SK_STR);
}

static void
test_scalar_classify_collections_are_not_scalars (void **state)
{
  (void) state;
  KIND ("[1]", ZA_SK_STR);
  KIND ("{a: 1}", ZA_SK_STR);
}

static void
test_scalar_int_values (void **state)
{
  (void) state;
  static const struct
  {
    const char *text;
    int64_t i;
    uint64_t u;
    bool neg;
  } cases[] = {
    { "0o755", 493, 493, false },
    { "0x1F", 31, 31, false },
    { "+5", 5, 5, false },
    { "-0x10", -16, 0, true },
    { "0b101", 5, 5, false },
    { "9223372036854775807", INT64_MAX, INT64_MAX, false },
    { "-9223372036854775808", INT64_MIN, 0, true },
    { "18446744073709551615", INT64_MAX, UINT64_MAX, false },
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
    {
      struct za_arena a = { 0 };
      struct za_node *root = NULL;
      struct za_err *err = NULL;
      char doc[64];
      int64_t i = 0;
      uint64_t u = 1;
      bool neg = !cases[k].neg;
      snprintf (doc, sizeof doc, "k: %s\n", cases[k].text);
      assert_int_equal (za_yaml_parse (&a, "c", doc, strlen (doc), NULL, &root, &err), 0);
      if (!za_scalar_int (za_map_val (root, 0), &i, &u, &neg))
        fail_msg ("%s: not an integer", cases[k].text);
      if (i != cases[k].i || u != cases[k].u || neg != cases[k].neg)
        fail_msg ("%s: got %lld/%llu/%d", cases[k].text, (long long) i, (unsigned long long) u, neg);
      za_arena_release (&a);
    }
  /* does not fit: too large, too negative */
  {
    static const char *const big[] = { "18446744073709551616", "-9223372036854775809" };
    for (size_t k = 0; k < 2; k++)
      {
        struct za_arena a = { 0 };
        struct za_node *root = NULL;
        struct za_err *err = NULL;
        char doc[64];
        int64_t i;
        uint64_t u;
        bool neg;
        snprintf (doc, sizeof doc, "k: %s\n", big[k]);
        assert_int_equal (za_yaml_parse (&a, "c", doc, strlen (doc), NULL, &root, &err), 0);
        assert_false (za_scalar_int (za_map_val (root, 0), &i, &u, &neg));
        za_arena_release (&a);
      }
  }
}

/* ---- scalar typing end to end --------------------------------------- */

static void
test_spec_minimal (void **state)
{
  struct za_service *s;
  (void) state;
  parse_ok (PRE);
  assert_string_equal (g_spec->file, FILE_NAME);
  assert_string_equal (g_spec->d.version.s, "v1");
  assert_int_equal (g_spec->d.version.m.line, 1);
  assert_int_equal (g_spec->d.version.m.col, 10);
  assert_string_equal (g_spec->d.deployment.s, "demo");
  assert_int_equal (g_spec->d.services.n, 1);
  s = web ();
  assert_string_equal (s->name, "web");
  assert_int_equal (s->name_mark.line, 4);
  assert_int_equal (s->name_mark.col, 3);
  assert_string_equal (s->image.name.s, "nginx");
  assert_int_equal (s->image.pull_policy.v, ZA_PULL_IF_NOT_PRESENT);
  assert_false (s->image.pull_policy.set);
  assert_int_equal (s->rtype.v, ZA_RTYPE_SERVICE);
  assert_int_equal (s->service_type.v, ZA_ST_STANDARD);
  assert_false (s->resources.cpu.set);
  assert_null (s->resources.memory.s);
  assert_null (s->resources.gpu);
  assert_int_equal (s->env.n, 0);
  assert_int_equal (s->endpoints.n, 0);
  assert_false (s->privileged.v);
  assert_false (s->network_mode.set);
  assert_false (s->affinity.set);
  assert_null (s->wasm);
  assert_null (s->logs);
  assert_null (s->hostname.s);
  assert_false (za_service_host_network (s));
  assert_null (za_spec_find_service (g_spec, "nope"));
  /* api defaults */
  assert_true (g_spec->d.api.enabled.v);
  assert_true (g_spec->d.api.swagger.v);
  assert_string_equal (g_spec->d.api.bind.s, "0.0.0.0:3669");
  assert_null (g_spec->d.api.jwt_secret.s);
  assert_int_equal (g_spec->d.externals.n, 0);
  assert_int_equal (g_spec->d.tunnels.n, 0);
}

static void
test_spec_quoted_number_is_string (void **state)
{
  char *s;
  (void) state;
  expect_one (PRE "    resources:\n"
                  "      cpu: \"2\"\n",
              "services.web.resources.cpu", 8, 12, "expected a number, got string \"2\"");
  s = za_err_format (g_err);
  assert_string_equal (s, "t.yaml:8:12: services.web.resources.cpu: expected a number, got string \"2\"");
  free (s);

  expect_one (PRE "    scale:\n"
                  "      mode: fixed\n"
                  "      replicas: '3'\n",
              "services.web.scale.replicas", 9, 17, "expected an integer (u32), got string \"3\"");
  expect_one (PRE "    resources:\n"
                  "      cpu: !!str 2\n",
              "services.web.resources.cpu", 8, 12, "expected a number, got string \"2\"");
}

static void
test_spec_bool_field (void **state)
{
  (void) state;
  expect_one (PRE "    privileged: yes\n", "services.web.privileged", 7, 17,
              "expected a boolean, got string \"yes\"");
  expect_one (PRE "    privileged: \"true\"\n", "services.web.privileged", 7, 17,
              "expected a boolean, got string \"true\"");
  expect_one (PRE "    privileged: 1\n", "services.web.privileged", 7, 17,
              "expected a boolean, got integer 1");
  expect_one (PRE "    privileged: [true]\n", "services.web.privileged", 7, 17,
              "expected a boolean, got a list");
  parse_ok (PRE "    privileged: True\n    tty: FALSE\n    stdin_open: false\n");
  assert_true (web ()->privileged.set);
  assert_true (web ()->privileged.v);
  assert_int_equal (web ()->privileged.m.line, 7);
  assert_true (web ()->tty.set);
  assert_false (web ()->tty.v);
  assert_false (web ()->stdin_open.v);
}

static void
test_spec_integer_forms (void **state)
{
  struct za_resources *r;
  (void) state;
  parse_ok (PRE "    resources:\n"
                "      cpu_shares: 0o755\n"
                "      blkio_weight: 0x1F\n"
                "      pids_limit: +5\n"
                "      oom_score_adj: -1000\n"
                "      memory_swappiness: 255\n");
  r = &web ()->resources;
  assert_true (r->cpu_shares.set);
  assert_int_equal (r->cpu_shares.v, 493);
  assert_int_equal (r->blkio_weight.v, 31);
  assert_int_equal (r->pids_limit.v, 5);
  assert_int_equal (r->oom_score_adj.v, -1000);
  assert_int_equal (r->memory_swappiness.v, 255);
  assert_int_equal (r->cpu_shares.m.line, 8);
  assert_int_equal (r->cpu_shares.m.col, 19);

  expect_one (PRE "    resources:\n      cpu_shares: 1_000\n", "services.web.resources.cpu_shares", 8,
              19, "expected an integer (u32), got string \"1_000\"");
  expect_one (PRE "    resources:\n      cpu_shares: 01777\n", "services.web.resources.cpu_shares", 8,
              19, "expected an integer (u32), got string \"01777\"");
  expect_one (PRE "    resources:\n      cpu_shares: 1.5\n", "services.web.resources.cpu_shares", 8,
              19, "expected an integer (u32), got floating point 1.5");
  expect_one (PRE "    resources:\n      cpu_shares: -1\n", "services.web.resources.cpu_shares", 8,
              19, "expected an integer between 0 and 4294967295 (u32), got -1");
  expect_one (PRE "    resources:\n      memory_swappiness: 256\n",
              "services.web.resources.memory_swappiness", 8, 26,
              "expected an integer between 0 and 255 (u8), got 256");
  expect_one (PRE "    resources:\n      oom_score_adj: 2147483648\n",
              "services.web.resources.oom_score_adj", 8, 22,
              "expected an integer between -2147483648 and 2147483647 (i32), got 2147483648");
  expect_one (PRE "    resources:\n      pids_limit: 9223372036854775808\n",
              "services.web.resources.pids_limit", 8, 19,
              "expected an integer between -9223372036854775808 and 9223372036854775807 (i64), got "
              "9223372036854775808");
  parse_ok (PRE "    resources:\n      pids_limit: -9223372036854775808\n");
  assert_true (web ()->resources.pids_limit.v == INT64_MIN);
}

static void
test_spec_u16_range (void **state)
{
  (void) state;
  expect_one (PRE "    endpoints:\n"
                  "      - name: http\n"
                  "        protocol: http\n"
                  "        port: 70000\n",
              "services.web.endpoints[0].port", 10, 15,
              "expected an integer between 0 and 65535 (u16), got 70000");
  parse_ok (PRE "    endpoints:\n"
                "      - name: http\n"
                "        protocol: http\n"
                "        port: 65535\n"
                "        target_port: 0x50\n");
  {
    const struct za_endpoint *e = web ()->endpoints.v;
    assert_int_equal (e->port.v, 65535);
    assert_int_equal (e->target_port.v, 80);
    assert_int_equal (e->expose.v, 1); /* internal */
    assert_int_equal (e->protocol.v, ZA_EP_HTTP);
  }
}

static void
test_spec_u64_fields (void **state)
{
  (void) state;
  parse_ok (PRE "    logs:\n      max_size_bytes: 18446744073709551615\n");
  assert_true (web ()->logs->max_size_bytes.v == UINT64_MAX);
  assert_int_equal (web ()->logs->retention_secs.v, 604800);
  assert_int_equal (web ()->logs->destination.v, 0);
  expect_one (PRE "    logs:\n      max_size_bytes: -1\n", "services.web.logs.max_size_bytes", 8, 23,
              "expected an integer between 0 and 18446744073709551615 (u64), got -1");
  expect_one (PRE "    logs:\n      max_size_bytes: 18446744073709551616\n",
              "services.web.logs.max_size_bytes", 8, 23,
              "expected an integer between 0 and 18446744073709551615 (u64), got 18446744073709551616");
  expect_one (PRE "    logs:\n      max_size_bytes: \"5\"\n", "services.web.logs.max_size_bytes", 8, 23,
              "expected an integer (u64), got string \"5\"");
  /* logs allows unknown keys */
  parse_ok (PRE "    logs:\n      whatever: 1\n");
  assert_int_equal (web ()->logs->max_size_bytes.v, 104857600);
}

static void
test_spec_float_forms (void **state)
{
  static const struct
  {
    const char *text;
    double v;
  } ok[] = { { "2", 2.0 }, { "0.5", 0.5 }, { "+1.5", 1.5 }, { "1e3", 1000.0 }, { "0x10", 16.0 },
             { "-3", -3.0 }, { "18446744073709551615", 18446744073709551615.0 } };
  char doc[256];
  (void) state;
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    {
      snprintf (doc, sizeof doc, PRE "    resources:\n      cpu: %s\n", ok[i].text);
      parse_ok (doc);
      assert_true (web ()->resources.cpu.set);
      if (web ()->resources.cpu.v != ok[i].v)
        fail_msg ("cpu: %s = %g, want %g", ok[i].text, web ()->resources.cpu.v, ok[i].v);
    }
  parse_ok (PRE "    resources:\n      cpu: .inf\n");
  assert_true (isinf (web ()->resources.cpu.v) && web ()->resources.cpu.v > 0);
  parse_ok (PRE "    resources:\n      cpu: -.Inf\n");
  assert_true (isinf (web ()->resources.cpu.v) && web ()->resources.cpu.v < 0);
  parse_ok (PRE "    resources:\n      cpu: .NaN\n");
  assert_true (isnan (web ()->resources.cpu.v));
  expect_one (PRE "    resources:\n      cpu: inf\n", "services.web.resources.cpu", 8, 12,
              "expected a number, got string \"inf\"");
  expect_one (PRE "    resources:\n      cpu: nan\n", "services.web.resources.cpu", 8, 12,
              "expected a number, got string \"nan\"");
  expect_one (PRE "    resources:\n      cpu: true\n", "services.web.resources.cpu", 8, 12,
              "expected a number, got boolean true");
  /* Option: null is absent */
  parse_ok (PRE "    resources:\n      cpu: ~\n      memory:\n");
  assert_false (web ()->resources.cpu.set);
  assert_null (web ()->resources.memory.s);
}

static void
test_spec_string_fields_take_any_scalar (void **state)
{
  (void) state;
  parse_ok (PRE "    hostname: 123\n    user: true\n    stop_signal: 0x1F\n");
  assert_string_equal (web ()->hostname.s, "123");
  assert_string_equal (web ()->user.s, "true");
  assert_string_equal (web ()->stop_signal.s, "0x1F");
  assert_int_equal (web ()->hostname.m.line, 7);
  assert_int_equal (web ()->hostname.m.col, 15);
  /* Option<String>: null is None */
  parse_ok (PRE "    hostname: ~\n    user:\n");
  assert_null (web ()->hostname.s);
  assert_null (web ()->user.s);
  /* a required String takes `~` literally */
  parse_ok ("version: v1\ndeployment: ~\n");
  assert_string_equal (g_spec->d.deployment.s, "~");
  expect_one (PRE "    hostname: [a]\n", "services.web.hostname", 7, 15, "expected a string, got a list");
  expect_one (PRE "    hostname: {a: 1}\n", "services.web.hostname", 7, 15,
              "expected a string, got a mapping");
  expect_one (PRE "    hostname: \"a\\0b\"\n", "services.web.hostname", 7, 15,
              "string contains a NUL byte");
  expect_one (PRE "    hostname: !custom x\n", "services.web.hostname", 7, 15,
              "unsupported YAML tag `!custom`");
}

static void
test_spec_env_values_become_text (void **state)
{
  static const char *const keys[] = { "PORT", "X", "Y", "B", "F", "Q", "H", "Z", "E" };
  static const char *const vals[] = { "8080", "~", "", "true", "1.5", "quoted", "0x1F", "01777", "" };
  const struct za_strmap *env;
  (void) state;
  parse_ok (PRE "    env:\n"
                "      PORT: 8080\n"
                "      X: ~\n"
                "      Y:\n"
                "      B: true\n"
                "      F: 1.5\n"
                "      Q: \"quoted\"\n"
                "      H: 0x1F\n"
                "      Z: 01777\n"
                "      E: ''\n");
  env = &web ()->env;
  assert_int_equal (env->n, 9);
  for (size_t i = 0; i < env->n; i++)
    {
      assert_string_equal (env->v[i].key.s, keys[i]);
      assert_string_equal (env->v[i].val.s, vals[i]);
      assert_int_equal (env->v[i].key.m.line, 8 + i);
      assert_int_equal (env->v[i].key.m.col, 7);
    }
  assert_int_equal (env->v[0].val.m.col, 13);
  expect_one (PRE "    env:\n      A: [1]\n", "services.web.env.A", 8, 10, "expected a string, got a list");
  expect_one (PRE "    env: [A=1]\n", "services.web.env", 7, 10, "expected a mapping, got a list");
  /* an empty `env:` is an empty map */
  parse_ok (PRE "    env:\n");
  assert_int_equal (web ()->env.n, 0);
}

static void
test_spec_env_keeps_document_order (void **state)
{
  static const char *const keys[] = { "ZED", "alpha", "Mid", "_b", "AAA" };
  (void) state;
  parse_ok (PRE "    env:\n      ZED: 1\n      alpha: 2\n      Mid: 3\n      _b: 4\n      AAA: 5\n");
  assert_int_equal (web ()->env.n, 5);
  for (size_t i = 0; i < 5; i++)
    assert_string_equal (web ()->env.v[i].key.s, keys[i]);
}

static void
test_spec_unknown_field (void **state)
{
  (void) state;
  /* 54 fields: not listed; the nearest one when it is a typo away */
  expect_one (PRE "    volumes:\n      - data:/data\n", "services.web", 7, 5,
              "unknown field `volumes` (no field of the 54 here is close)");
  expect_one (PRE "    imagee: {name: b}\n", "services.web", 7, 5, "unknown field `imagee`, did you mean `image`?");
  expect_one (PRE "    hostNetwork: true\n", "services.web", 7, 5,
              "unknown field `hostNetwork`, did you mean `host_network`?");
  expect_one (PRE "    stop_grace_periods: 1s\n", "services.web", 7, 5,
              "unknown field `stop_grace_periods`, did you mean `stop_grace_period`?");
  expect_one (PRE "    resources: {cpus: 1}\n", "services.web.resources", 7, 17,
              "unknown field `cpus`, did you mean `cpu`?");
  /* a short list is still given in full (serde's words) */
  expect_one (PRE "    resources: {gpu: {memory: 1}}\n", "services.web.resources.gpu", 7, 23,
              "unknown field `memory`, expected one of `count`, `vendor`, `mode`, `model`, `scheduling`, "
              "`distributed`, `sharing`, `mps_pipe_dir`, `mps_log_dir`, `time_slice_index`, "
              "`time_slicing_config_path`");
  expect_one (PRE "      tag: latest\n", "services.web.image", 7, 7,
              "unknown field `tag`, expected one of `name`, `pull_policy`, `source_policy`");
  expect_one (PRE "    lifecycle:\n      delete: true\n", "services.web.lifecycle", 8, 7,
              "unknown field `delete`, expected `delete_on_exit`");
  expect_one ("version: v1\ndeployment: demo\nkind: Deployment\n", NULL, 3, 1,
              "unknown field `kind`, expected one of `version`, `deployment`, `services`, `externals`, "
              "`tunnels`, `api`");
  /* kebab-case is not snake_case */
  expect_one (PRE "      pull-policy: always\n", "services.web.image", 7, 7,
              "unknown field `pull-policy`, did you mean `pull_policy`?");
  /* structs that allow unknown keys */
  parse_ok (PRE "    platform:\n      os: linux\n      variant: v8\n"
                "    port_mappings:\n      - container_port: 80\n        foo: bar\n"
                "    overlay:\n      mode: shared\n      extra: 1\n"
                "api:\n  enabled: false\n  extra: x\n");
  assert_int_equal (web ()->platform->os.v, 0);
  assert_false (g_spec->d.api.enabled.v);
  {
    const struct za_port_mapping *p = web ()->port_mappings.v;
    assert_int_equal (p->container_port.v, 80);
    assert_string_equal (p->host_ip.s, "0.0.0.0");
    assert_false (p->host_port.set);
    assert_int_equal (p->protocol.v, 0);
  }
}

static void
test_spec_cap_add_alias (void **state)
{
  (void) state;
  parse_ok (PRE "    cap_add: [NET_ADMIN, SYS_TIME]\n    cap_drop: [MKNOD]\n");
  assert_true (web ()->capabilities.set);
  assert_int_equal (web ()->capabilities.n, 2);
  assert_string_equal (web ()->capabilities.v[0].s, "NET_ADMIN");
  assert_string_equal (web ()->capabilities.v[1].s, "SYS_TIME");
  assert_int_equal (web ()->capabilities.v[1].m.col, 26);
  assert_string_equal (web ()->cap_drop.v[0].s, "MKNOD");
  parse_ok (PRE "    capabilities:\n      - NET_RAW\n");
  assert_string_equal (web ()->capabilities.v[0].s, "NET_RAW");
  /* the name and its alias are the same field */
  expect_one (PRE "    capabilities: [NET_RAW]\n    cap_add: [NET_ADMIN]\n", "services.web.capabilities", 8,
              5, "duplicate field `capabilities`");
  expect_one (PRE "    capabilities: [1, [x]]\n", "services.web.capabilities[1]", 7, 23,
              "expected a string, got a list");
}

static void
test_spec_wasm_http_alias (void **state)
{
  (void) state;
  parse_ok (PRE "    service_type: wasm_http\n    wasm_http:\n      max_instances: 4\n");
  assert_int_equal (web ()->service_type.v, ZA_ST_WASM_HTTP);
  assert_non_null (web ()->wasm);
  assert_int_equal (web ()->wasm->max_instances.v, 4);
  /* WasmConfig defaults */
  assert_int_equal (web ()->wasm->min_instances.v, 0);
  assert_true (web ()->wasm->idle_timeout.ns == 300 * SEC);
  assert_true (web ()->wasm->request_timeout.ns == 30 * SEC);
  assert_true (web ()->wasm->allow_http_outgoing.v);
  assert_true (web ()->wasm->kv_enabled.v);
  assert_true (web ()->wasm->kv_max_value_size.v == 1048576);
  assert_true (web ()->wasm->precompile.v);
  assert_false (web ()->wasm->allow_tcp.v);
  parse_ok (PRE "    wasm: {}\n");
  assert_non_null (web ()->wasm);
  assert_int_equal (web ()->wasm->max_instances.v, 10);
  expect_one (PRE "    wasm: {}\n    wasm_http: {}\n", "services.web.wasm", 8, 5, "duplicate field `wasm`");
}

static void
test_spec_missing_required (void **state)
{
  (void) state;
  expect_one ("version: v1\ndeployment: demo\nservices:\n  web:\n    rtype: job\n", "services.web", 5, 5,
              "missing field `image`");
  expect_one (PRE "    endpoints:\n      - name: a\n        port: 80\n", "services.web.endpoints[0]", 8,
              9, "missing field `protocol`");
  expect_one ("version: v1\nservices: {}\n", NULL, 1, 1, "missing field `deployment`");
  {
    const struct za_err *e = parse_fail ("services: {}\n");
    assert_int_equal (za_err_count (e), 2);
    check_err (e, NULL, 1, 1, "missing field `version`");
    check_err (e->next, NULL, 1, 1, "missing field `deployment`");
  }
  expect_one (PRE "    image:\n      pull_policy: always\n", "services.web.image", 7, 5,
              "duplicate key `image` (first at line 5)");
  expect_one ("version: v1\ndeployment: demo\nservices:\n  web:\n    image:\n      pull_policy: never\n",
              "services.web.image", 6, 7, "missing field `name`");
}

static void
test_spec_document_shape_errors (void **state)
{
  (void) state;
  expect_one ("", NULL, 1, 1, "the document is empty (expected a deployment spec mapping)");
  expect_one ("# nothing\n", NULL, 1, 1, "the document is empty (expected a deployment spec mapping)");
  expect_one ("- a\n- b\n", NULL, 1, 1, "expected a mapping, got a list");
  expect_one ("just text\n", NULL, 1, 1, "expected a mapping, got string \"just text\"");
  expect_one ("version: v1\ndeployment: demo\nservices: [web]\n", "services", 3, 11,
              "expected a mapping, got a list");
  expect_one ("version: v1\ndeployment: demo\nservices:\n  web: nginx\n", "services.web", 4, 8,
              "expected a mapping, got string \"nginx\"");
  expect_one (PRE "    image: nginx\n", "services.web.image", 7, 5, "duplicate key `image` (first at line 5)");
  expect_one ("version: v1\ndeployment: demo\nservices:\n  web:\n    image: nginx\n", "services.web.image", 5,
              12, "expected a mapping, got string \"nginx\"");
}

static void
test_spec_duplicate_keys (void **state)
{
  (void) state;
  expect_one (PRE "    env:\n      A: 1\n      B: 2\n      A: 3\n", "services.web.env.A", 10, 7,
              "duplicate key `A` (first at line 8)");
  expect_one (PRE "    privileged: true\n    privileged: false\n", "services.web.privileged", 8, 5,
              "duplicate key `privileged` (first at line 7)");
  expect_one ("version: v1\nversion: v1\ndeployment: demo\n", "version", 2, 1,
              "duplicate key `version` (first at line 1)");
  expect_one ("version: v1\ndeployment: demo\nservices:\n  web:\n    image: {name: a}\n  web:\n"
              "    image: {name: b}\n",
              "services.web", 6, 3, "duplicate key `web` (first at line 4)");
  expect_one (PRE "    labels: {a: 1, a: 2}\n", "services.web.labels.a", 7, 20, "duplicate key `a` (first at line 7)");
  expect_one (PRE "    ulimits:\n      nofile: {soft: 1}\n      nofile: {hard: 2}\n", "services.web.ulimits.nofile",
              9, 7, "duplicate key `nofile` (first at line 8)");
  /* three copies: two reports, both against the first */
  {
    const struct za_err *e = parse_fail (PRE "    env:\n      A: 1\n      A: 2\n      A: 3\n");
    assert_int_equal (za_err_count (e), 2);
    check_err (e, "services.web.env.A", 9, 7, "duplicate key `A` (first at line 8)");
    check_err (e->next, "services.web.env.A", 10, 7, "duplicate key `A` (first at line 8)");
  }
  /* interleaved duplicates of two keys */
  {
    const struct za_err *e
        = parse_fail (PRE "    env:\n      B: 1\n      A: 1\n      B: 2\n      A: 2\n      B: 3\n");
    assert_int_equal (za_err_count (e), 3);
    check_err (e, "services.web.env.A", 11, 7, "duplicate key `A` (first at line 9)");
    check_err (e->next, "services.web.env.B", 10, 7, "duplicate key `B` (first at line 8)");
    check_err (e->next->next, "services.web.env.B", 12, 7, "duplicate key `B` (first at line 8)");
  }
  /* serde_yaml has no merge keys: `<<` is an ordinary (unknown) key */
  {
    const struct za_err *e = parse_fail ("version: v1\ndeployment: demo\nservices:\n  web:\n"
                                         "    <<: {image: {name: a}}\n    image: {name: b}\n");
    assert_int_equal (za_err_count (e), 1);
    assert_string_equal (e->path, "services.web");
    assert_int_equal (e->line, 5);
    assert_int_equal (e->col, 5);
    assert_string_equal (e->msg, "unknown field `<<` (no field of the 54 here is close)");
  }
  /* a non-scalar key */
  expect_one (PRE "    env:\n      [a]: 1\n", "services.web.env", 8, 7, "expected a string key, got a list");
}

static void
test_spec_enum_errors (void **state)
{
  (void) state;
  expect_one (PRE "      pull_policy: Always\n", "services.web.image.pull_policy", 7, 20,
              "unknown variant `Always`, expected one of `always`, `newer`, `if_not_present`, `never`");
  expect_one (PRE "    rtype: daemon\n", "services.web.rtype", 7, 12,
              "unknown variant `daemon`, expected one of `service`, `job`, `cron`");
  parse_ok (PRE "      pull_policy: never\n      source_policy: s3_first\n    rtype: cron\n"
                "    isolation: hyperv\n    node_mode: exclusive\n    localhost_reachability: never\n");
  assert_int_equal (web ()->image.pull_policy.v, ZA_PULL_NEVER);
  assert_true (web ()->image.source_policy.set);
  assert_int_equal (web ()->image.source_policy.v, 1);
  assert_int_equal (web ()->rtype.v, ZA_RTYPE_CRON);
  assert_int_equal (web ()->isolation.v, 2);
  assert_int_equal (web ()->node_mode.v, 2);
  assert_int_equal (web ()->localhost_reachability.v, 2);
}

static void
test_spec_image_reference (void **state)
{
  (void) state;
  parse_ok ("version: v1\ndeployment: demo\nservices:\n  web:\n    image:\n"
            "      name: ghcr.io/org/app:v1.2\n");
  assert_string_equal (web ()->image.name.s, "ghcr.io/org/app:v1.2");
  {
    const struct za_err *e = parse_fail ("version: v1\ndeployment: demo\nservices:\n  web:\n    image:\n"
                                         "      name: \"nginx:\"\n");
    assert_int_equal (za_err_count (e), 1);
    assert_string_equal (e->path, "services.web.image.name");
    assert_int_equal (e->line, 6);
    assert_int_equal (e->col, 13);
    assert_true (strncmp (e->msg, "invalid image reference `nginx:`: ", 34) == 0);
  }
  expect_one ("version: v1\ndeployment: demo\nservices:\n  web:\n    image:\n      name: [x]\n",
              "services.web.image.name", 6, 13, "expected a string, got a list");
}

static void
test_spec_aliases_decode_into_each_user (void **state)
{
  const struct za_service *a, *b;
  (void) state;
  parse_ok ("version: v1\ndeployment: demo\nservices:\n"
            "  a:\n    image: &img {name: nginx, pull_policy: always}\n    env: &env {X: 1, Y: two}\n"
            "  b:\n    image: *img\n    env: *env\n    dns: [&ns 10.0.0.1, *ns]\n");
  a = za_spec_find_service (g_spec, "a");
  b = za_spec_find_service (g_spec, "b");
  assert_non_null (a);
  assert_non_null (b);
  assert_string_equal (b->image.name.s, "nginx");
  assert_int_equal (b->image.pull_policy.v, ZA_PULL_ALWAYS);
  assert_int_equal (b->env.n, 2);
  assert_string_equal (b->env.v[1].key.s, "Y");
  assert_string_equal (b->env.v[1].val.s, "two");
  /* positions are those of the anchored node */
  assert_int_equal (b->env.v[0].key.m.line, a->env.v[0].key.m.line);
  assert_int_equal (b->dns.n, 2);
  assert_string_equal (b->dns.v[1].s, "10.0.0.1");
  /* an error inside an aliased node is reported once per use, each at
     the path of that use */
  {
    const struct za_err *e = parse_fail ("version: v1\ndeployment: demo\nservices:\n"
                                         "  a:\n    image: {name: x}\n    resources: &r {cpu: \"1\"}\n"
                                         "  b:\n    image: {name: x}\n    resources: *r\n");
    assert_int_equal (za_err_count (e), 2);
    check_err (e, "services.a.resources.cpu", 6, 25, "expected a number, got string \"1\"");
    check_err (e->next, "services.b.resources.cpu", 6, 25, "expected a number, got string \"1\"");
  }
}

/* ---- storage --------------------------------------------------------- */

static const struct za_storage *
storage (size_t i)
{
  assert_true (i < web ()->storage.n);
  return (const struct za_storage *) web ()->storage.v + i;
}

static void
test_spec_storage_variants (void **state)
{
  (void) state;
  parse_ok (PRE "    storage:\n"
                "      - type: bind\n        source: /host\n        target: /data\n        readonly: true\n"
                "      - type: named\n        name: vol\n        target: /v\n        tier: cached\n        size: 1Gi\n"
                "      - type: anonymous\n        target: /cache\n"
                "      - type: tmpfs\n        target: /tmp\n        size: 64Mi\n"
                "      - type: s3\n        bucket: b\n        prefix: p/\n        target: /s3\n"
                "        endpoint: http://minio:9000\n        credentials: creds\n");
  assert_int_equal (web ()->storage.n, 5);
  assert_int_equal (storage (0)->type.v, ZA_STORAGE_BIND);
  assert_true (storage (0)->type.set);
  assert_int_equal (storage (0)->type.m.line, 8);
  assert_int_equal (storage (0)->type.m.col, 15);
  assert_string_equal (storage (0)->source.s, "/host");
  assert_string_equal (storage (0)->target.s, "/data");
  assert_true (storage (0)->readonly.v);
  assert_int_equal (storage (1)->type.v, ZA_STORAGE_NAMED);
  assert_string_equal (storage (1)->name.s, "vol");
  assert_int_equal (storage (1)->tier.v, ZA_TIER_CACHED);
  assert_string_equal (storage (1)->size.s, "1Gi");
  assert_false (storage (1)->readonly.v);
  assert_int_equal (storage (2)->type.v, ZA_STORAGE_ANONYMOUS);
  assert_int_equal (storage (2)->tier.v, ZA_TIER_LOCAL);
  assert_int_equal (storage (3)->type.v, ZA_STORAGE_TMPFS);
  assert_string_equal (storage (3)->size.s, "64Mi");
  assert_false (storage (3)->mode.set);
  assert_int_equal (storage (4)->type.v, ZA_STORAGE_S3);
  assert_string_equal (storage (4)->bucket.s, "b");
  assert_string_equal (storage (4)->prefix.s, "p/");
  assert_string_equal (storage (4)->endpoint.s, "http://minio:9000");
  assert_string_equal (storage (4)->credentials.s, "creds");
}

static void
test_spec_storage_tag_errors (void **state)
{
  (void) state;
  expect_one (PRE "    storage:\n      - target: /data\n", "services.web.storage[0]", 8, 9,
              "missing field `type`");
  expect_one (PRE "    storage:\n      - type: exec\n        target: /x\n", "services.web.storage[0].type", 8, 15,
              "unknown variant `exec`, expected one of `bind`, `named`, `anonymous`, `tmpfs`, `s3`");
  expect_one (PRE "    storage:\n      - type: Bind\n        target: /x\n", "services.web.storage[0].type", 8, 15,
              "unknown variant `Bind`, expected one of `bind`, `named`, `anonymous`, `tmpfs`, `s3`");
  expect_one (PRE "    storage:\n      - type: 5\n", "services.web.storage[0]", 8, 15,
              "expected a string, got integer 5");
  /* a field of another variant is unknown here */
  expect_one (PRE "    storage:\n      - type: anonymous\n        target: /x\n        readonly: true\n",
              "services.web.storage[0]", 10, 9, "unknown field `readonly`, expected `target` or `tier`");
  expect_one (PRE "    storage:\n      - type: bind\n        target: /x\n", "services.web.storage[0]", 8, 9,
              "missing field `source`");
  expect_one (PRE "    storage: /data\n", "services.web.storage", 7, 14, "expected a list, got string \"/data\"");
}

static void
test_spec_storage_strict_typing (void **state)
{
  (void) state;
  expect_one (PRE "    storage:\n      - type: tmpfs\n        target: /tmp\n        size: 1024\n",
              "services.web.storage[0].size", 10, 15, "expected a string, got integer 1024");
  parse_ok (PRE "    storage:\n      - type: tmpfs\n        target: /tmp\n        size: \"1024\"\n");
  assert_string_equal (storage (0)->size.s, "1024");
  expect_one (PRE "    storage:\n      - type: s3\n        bucket: true\n        target: /s\n",
              "services.web.storage[0].bucket", 9, 17, "expected a string, got boolean true");
  expect_one (PRE "    storage:\n      - type: named\n        name: vol\n        target: /v\n        tier: 1\n",
              "services.web.storage[0].tier", 11, 15, "expected a string, got integer 1");
  /* null for an Option stays absent */
  parse_ok (PRE "    storage:\n      - type: s3\n        bucket: b\n        target: /s\n        prefix: ~\n");
  assert_null (storage (0)->prefix.s);
  /* outside tagged enums a plain number is fine for a string field */
  parse_ok (PRE "    hostname: 1024\n");
  assert_string_equal (web ()->hostname.s, "1024");
}

static void
check_mode_ok (const char *text, int64_t want, bool decimal, int line)
{
  char doc[512];
  snprintf (doc, sizeof doc, PRE "    storage:\n      - type: tmpfs\n        target: /tmp\n        mode: %s\n",
            text);
  parse_ok_at (doc, line);
  if (!storage (0)->mode.set || storage (0)->mode.v != want || storage (0)->mode_was_decimal != decimal)
    fail_msg ("line %d: mode %s = %s%lld (decimal %d), want %lld (decimal %d)", line, text,
              storage (0)->mode.set ? "" : "unset ", (long long) storage (0)->mode.v,
              storage (0)->mode_was_decimal, (long long) want, decimal);
  assert_int_equal (storage (0)->mode.m.line, 10);
  assert_int_equal (storage (0)->mode.m.col, 15);
}
#define MODE_OK(t, v, d) check_mode_ok (t, v, d, __LINE__)

static void
check_mode_err (const char *text, const char *msg, int line)
{
  char doc[512];
  snprintf (doc, sizeof doc, PRE "    storage:\n      - type: tmpfs\n        target: /tmp\n        mode: %s\n",
            text);
  expect_one_at (doc, "services.web.storage[0].mode", 10, 15, msg, line);
}
#define MODE_ERR(t, m) check_mode_err (t, m, __LINE__)

static void
test_spec_tmpfs_mode (void **state)
{
  (void) state;
  MODE_OK ("1777", 01777, true);
  MODE_OK ("755", 0755, true);
  MODE_OK ("0", 0, true);
  MODE_OK ("7777", 07777, true);
  MODE_OK ("0o1777", 01777, false);
  MODE_OK ("0o755", 0755, false);
  MODE_OK ("\"1777\"", 01777, false);
  MODE_OK ("'0o700'", 0700, false);
  MODE_OK ("01777", 01777, false);
  MODE_OK ("0x1FF", 0777, false);
  MODE_OK ("0b111", 7, false);
  MODE_ERR ("493", "tmpfs mode `493` is not an octal number; write it as 0o1777 or \"1777\"");
  MODE_ERR ("\"1779\"", "tmpfs mode `1779` is not an octal number; write it as 0o1777 or \"1777\"");
  MODE_ERR ("-1", "tmpfs mode `-1` is not an octal number; write it as 0o1777 or \"1777\"");
  MODE_ERR ("0o17777", "tmpfs mode `0o17777` is larger than 07777");
  MODE_ERR ("17777", "tmpfs mode `17777` is larger than 07777");
  MODE_ERR ("0x1000", "tmpfs mode `0x1000` is larger than 07777");
  MODE_ERR ("77777777777777777777777777", "tmpfs mode `77777777777777777777777777` is larger than 07777");
  MODE_ERR ("true", "expected an octal file mode, got boolean true");
  MODE_ERR ("1.5", "expected an octal file mode, got floating point 1.5");
  MODE_ERR ("\"\"", "expected an octal file mode, got string \"\"");
  MODE_ERR ("\"0o\"", "expected an octal file mode, got string \"0o\"");
  MODE_ERR ("[1]", "expected an octal file mode, got a list");
  MODE_ERR ("-0x1", "tmpfs mode `-0x1` is not an octal number; write it as 0o1777 or \"1777\"");
  /* null: absent */
  parse_ok (PRE "    storage:\n      - type: tmpfs\n        target: /tmp\n        mode: ~\n");
  assert_false (storage (0)->mode.set);
  assert_false (storage (0)->mode_was_decimal);
}

/* ---- health ---------------------------------------------------------- */

static void
test_spec_health_defaults (void **state)
{
  const struct za_health *h;
  (void) state;
  parse_ok (PRE);
  h = &web ()->health;
  assert_false (h->present);
  assert_true (h->start_grace.ns == 5 * SEC);
  assert_string_equal (h->start_grace.text, "5s");
  assert_int_equal (h->retries.v, 3);
  assert_int_equal (h->check.type.v, ZA_CHECK_TCP);
  assert_int_equal (h->check.port.v, 0);
  assert_false (h->interval.set);
  assert_false (h->timeout.set);

  parse_ok (PRE "    health:\n      interval: 10s\n      check:\n        type: tcp\n        port: 8080\n");
  h = &web ()->health;
  assert_true (h->present);
  assert_false (h->start_grace.set);
  assert_true (h->start_grace.ns == 0);
  assert_null (h->start_grace.text);
  assert_true (h->interval.set);
  assert_true (h->interval.ns == 10 * SEC);
  assert_string_equal (h->interval.text, "10s");
  assert_int_equal (h->retries.v, 3);
  assert_true (h->check.type.set);
  assert_int_equal (h->check.type.v, ZA_CHECK_TCP);
  assert_true (h->check.port.set);
  assert_int_equal (h->check.port.v, 8080);

  parse_ok (PRE "    health:\n      start_grace: 1m30s\n      retries: 7\n      timeout: 100ms\n"
                "      check: {type: tcp, port: 0}\n");
  h = &web ()->health;
  assert_true (h->start_grace.ns == 90 * SEC);
  assert_true (h->timeout.ns == 100000000);
  assert_int_equal (h->retries.v, 7);
}

static void
test_spec_health_check_variants (void **state)
{
  const struct za_health_check *c;
  (void) state;
  parse_ok (PRE "    health:\n      check:\n        type: http\n        url: http://localhost:8080/health\n");
  c = &web ()->health.check;
  assert_int_equal (c->type.v, ZA_CHECK_HTTP);
  assert_string_equal (c->url.s, "http://localhost:8080/health");
  assert_int_equal (c->expect_status.v, 200);
  assert_false (c->expect_status.set);
  parse_ok (PRE "    health:\n      check: {type: http, url: /h, expect_status: 204, extra: 1}\n");
  assert_int_equal (web ()->health.check.expect_status.v, 204);
  parse_ok (PRE "    health:\n      check:\n        type: command\n        command: \"pg_isready -U app\"\n");
  c = &web ()->health.check;
  assert_int_equal (c->type.v, ZA_CHECK_COMMAND);
  assert_string_equal (c->command.s, "pg_isready -U app");

  expect_one (PRE "    health:\n      check:\n        type: exec\n        command: [pg_isready]\n",
              "services.web.health.check.type", 9, 15,
              "unknown variant `exec`, expected one of `tcp`, `http`, `command`");
  expect_one (PRE "    health:\n      check:\n        port: 80\n", "services.web.health.check", 9, 9,
              "missing field `type`");
  expect_one (PRE "    health:\n      check:\n        type: tcp\n", "services.web.health.check", 9, 9,
              "missing field `port`");
  expect_one (PRE "    health:\n      retries: 2\n", "services.web.health", 8, 7, "missing field `check`");
  /* strict typing inside the tagged check */
  expect_one (PRE "    health:\n      check: {type: command, command: true}\n",
              "services.web.health.check.command", 8, 39, "expected a string, got boolean true");
  expect_one (PRE "    health:\n      start_grace: 30\n      check: {type: tcp, port: 1}\n",
              "services.web.health.start_grace", 8, 20,
              "invalid duration: time unit needed, for example 30sec or 30ms");
}

/* ---- scale ----------------------------------------------------------- */

static void
test_spec_scale (void **state)
{
  const struct za_scale *s;
  (void) state;
  parse_ok (PRE);
  s = &web ()->scale;
  assert_int_equal (s->mode.v, ZA_SCALE_ADAPTIVE);
  assert_false (s->mode.set);
  assert_int_equal (s->min.v, 1);
  assert_int_equal (s->max.v, 10);
  assert_true (s->cooldown.ns == 30 * SEC);
  assert_string_equal (s->cooldown.text, "30s");
  assert_null (s->targets);

  parse_ok (PRE "    scale:\n      mode: fixed\n      replicas: 3\n");
  s = &web ()->scale;
  assert_int_equal (s->mode.v, ZA_SCALE_FIXED);
  assert_int_equal (s->replicas.v, 3);

  parse_ok (PRE "    scale: {mode: manual}\n");
  assert_int_equal (web ()->scale.mode.v, ZA_SCALE_MANUAL);

  parse_ok (PRE "    scale:\n      mode: adaptive\n      min: 2\n      max: 5\n      cooldown: 1m\n"
                "      targets:\n        cpu: 70\n        rps: 1000\n");
  s = &web ()->scale;
  assert_int_equal (s->mode.v, ZA_SCALE_ADAPTIVE);
  assert_int_equal (s->min.v, 2);
  assert_int_equal (s->max.v, 5);
  assert_true (s->cooldown.ns == 60 * SEC);
  assert_non_null (s->targets);
  assert_int_equal (s->targets->cpu.v, 70);
  assert_false (s->targets->memory.set);
  assert_int_equal (s->targets->rps.v, 1000);

  /* a present adaptive block without cooldown has none */
  parse_ok (PRE "    scale: {mode: adaptive, min: 1, max: 2}\n");
  assert_false (web ()->scale.cooldown.set);

  expect_one (PRE "    scale:\n      mode: adaptive\n      min: 1\n", "services.web.scale", 8, 7,
              "missing field `max`");
  expect_one (PRE "    scale:\n      mode: auto\n", "services.web.scale.mode", 8, 13,
              "unknown variant `auto`, expected one of `fixed`, `manual`, `adaptive`");
  expect_one (PRE "    scale:\n      replicas: 2\n", "services.web.scale", 8, 7, "missing field `mode`");
  expect_one (PRE "    scale:\n      mode: fixed\n      replicas: 2\n      min: 1\n", "services.web.scale", 10,
              7, "unknown field `min`, expected `replicas`");
  expect_one (PRE "    scale:\n      mode: adaptive\n      min: 1\n      max: 2\n      targets: {cpu: 300}\n",
              "services.web.scale.targets.cpu", 11, 22, "expected an integer between 0 and 255 (u8), got 300");
}

/* ---- network, depends, gpu ------------------------------------------ */

static void
check_overlay (const struct za_overlay_settings *o, bool en, bool enc, bool iso, int line)
{
  if (o->enabled.v != en || o->encrypted.v != enc || o->isolated.v != iso)
    fail_msg ("line %d: overlay {%d,%d,%d}, want {%d,%d,%d}", line, o->enabled.v, o->encrypted.v,
              o->isolated.v, en, enc, iso);
}
#define OVERLAY(o, a, b, c) check_overlay (o, a, b, c, __LINE__)

static void
test_spec_network_defaults (void **state)
{
  const struct za_service_network *n;
  (void) state;
  parse_ok (PRE);
  n = &web ()->network;
  OVERLAY (&n->overlays.service, true, true, true);
  OVERLAY (&n->overlays.global, true, true, false);
  assert_int_equal (n->join.mode.v, 1);  /* token */
  assert_int_equal (n->join.scope.v, 0); /* service */

  /* network present, overlays absent: same defaults */
  parse_ok (PRE "    network:\n      join: {mode: open}\n");
  n = &web ()->network;
  OVERLAY (&n->overlays.service, true, true, true);
  OVERLAY (&n->overlays.global, true, true, false);
  assert_int_equal (n->join.mode.v, 0);
  assert_int_equal (n->join.scope.v, 0);

  /* overlays present with global omitted: global is all false, service
     gets the per-field defaults */
  parse_ok (PRE "    network:\n      overlays:\n        service:\n          encrypted: false\n");
  n = &web ()->network;
  OVERLAY (&n->overlays.service, true, false, false);
  OVERLAY (&n->overlays.global, false, false, false);

  parse_ok (PRE "    network:\n      overlays:\n        global: {}\n");
  n = &web ()->network;
  OVERLAY (&n->overlays.service, false, false, false);
  OVERLAY (&n->overlays.global, true, true, false);

  parse_ok (PRE "    network:\n      overlays: {}\n");
  OVERLAY (&web ()->network.overlays.service, false, false, false);
  OVERLAY (&web ()->network.overlays.global, false, false, false);

  parse_ok (PRE "    network:\n      join: {mode: closed, scope: global}\n");
  assert_int_equal (web ()->network.join.mode.v, 2);
  assert_int_equal (web ()->network.join.scope.v, 1);
}

static void
test_spec_depends_defaults (void **state)
{
  const struct za_depends *d;
  (void) state;
  parse_ok (PRE "    depends:\n      - service: db\n      - service: cache\n        condition: ready\n"
                "        timeout: 10s\n        on_timeout: continue\n");
  assert_int_equal (web ()->depends.n, 2);
  d = web ()->depends.v;
  assert_string_equal (d[0].service.s, "db");
  assert_int_equal (d[0].condition.v, 1); /* healthy */
  assert_true (d[0].timeout.ns == 300 * SEC);
  assert_string_equal (d[0].timeout.text, "300s");
  assert_false (d[0].timeout.set);
  assert_int_equal (d[0].on_timeout.v, 0); /* fail */
  assert_string_equal (d[1].service.s, "cache");
  assert_int_equal (d[1].condition.v, 2);
  assert_true (d[1].timeout.ns == 10 * SEC);
  assert_int_equal (d[1].on_timeout.v, 2);
  expect_one (PRE "    depends:\n      - condition: started\n", "services.web.depends[0]", 8, 9,
              "missing field `service`");
  expect_one (PRE "    depends:\n      - service: db\n        condition: alive\n",
              "services.web.depends[0].condition", 9, 20,
              "unknown variant `alive`, expected one of `started`, `healthy`, `ready`");
}

static void
test_spec_gpu (void **state)
{
  const struct za_gpu_spec *g;
  (void) state;
  parse_ok (PRE "    resources:\n      gpu: {}\n");
  g = web ()->resources.gpu;
  assert_non_null (g);
  assert_int_equal (g->count.v, 1);
  assert_false (g->count.set);
  assert_string_equal (g->vendor.s, "nvidia");
  assert_null (g->distributed);
  assert_false (g->sharing.set);
  assert_null (g->mode.s);

  parse_ok (PRE "    resources:\n      gpu:\n        count: 4\n        vendor: amd\n        distributed: {}\n"
                "        sharing: time-slice\n        time_slice_index: 2\n        scheduling: best-effort\n");
  g = web ()->resources.gpu;
  assert_int_equal (g->count.v, 4);
  assert_string_equal (g->vendor.s, "amd");
  assert_non_null (g->distributed);
  assert_string_equal (g->distributed->backend.s, "nccl");
  assert_int_equal (g->distributed->master_port.v, 29500);
  assert_int_equal (g->sharing.v, ZA_SHARING_TIME_SLICE);
  assert_int_equal (g->time_slice_index.v, 2);
  assert_int_equal (g->scheduling.v, 0);

  parse_ok (PRE "    resources:\n      gpu:\n        sharing: mps\n        mps_pipe_dir: /p\n"
                "        distributed: {backend: gloo, master_port: 1234}\n");
  g = web ()->resources.gpu;
  assert_int_equal (g->sharing.v, ZA_SHARING_MPS);
  assert_string_equal (g->mps_pipe_dir.s, "/p");
  assert_string_equal (g->distributed->backend.s, "gloo");
  assert_int_equal (g->distributed->master_port.v, 1234);

  /* `gpu:` with nothing is None */
  parse_ok (PRE "    resources:\n      gpu:\n");
  assert_null (web ()->resources.gpu);

  expect_one (PRE "    resources:\n      gpu:\n        sharing: time_slice\n", "services.web.resources.gpu.sharing",
              9, 18, "unknown variant `time_slice`, expected one of `exclusive`, `mps`, `time-slice`");
  expect_one (PRE "    resources:\n      gpu:\n        scheduling: best_effort\n",
              "services.web.resources.gpu.scheduling", 9, 21,
              "unknown variant `best_effort`, expected one of `best-effort`, `gang`, `spread`");
  expect_one (PRE "    resources:\n      gpu:\n        memory: 8Gi\n", "services.web.resources.gpu", 9, 9,
              "unknown field `memory`, expected one of `count`, `vendor`, `mode`, `model`, `scheduling`, "
              "`distributed`, `sharing`, `mps_pipe_dir`, `mps_log_dir`, `time_slice_index`, "
              "`time_slicing_config_path`");
  expect_one (PRE "    resources:\n      gpu:\n        distributed: {master_port: 70000}\n",
              "services.web.resources.gpu.distributed.master_port", 9, 36,
              "expected an integer between 0 and 65535 (u16), got 70000");
}

/* ---- network_mode, affinity, ulimits -------------------------------- */

static void
check_netmode (const char *yaml_value, int kind, const char *arg, int line)
{
  char doc[512];
  snprintf (doc, sizeof doc, PRE "    network_mode: %s\n", yaml_value);
  parse_ok_at (doc, line);
  if (!web ()->network_mode.set || web ()->network_mode.kind != kind)
    fail_msg ("line %d: network_mode %s: kind %d, want %d", line, yaml_value, web ()->network_mode.kind, kind);
  if ((arg == NULL) != (web ()->network_mode.arg == NULL)
      || (arg && strcmp (arg, web ()->network_mode.arg) != 0))
    fail_msg ("line %d: network_mode %s: arg %s, want %s", line, yaml_value,
              web ()->network_mode.arg ? web ()->network_mode.arg : "(null)", arg ? arg : "(null)");
  assert_int_equal (web ()->network_mode.m.line, 7);
  assert_int_equal (web ()->network_mode.m.col, 19);
}
#define NETMODE(v, k, a) check_netmode (v, k, a, __LINE__)

static void
test_spec_network_mode (void **state)
{
  (void) state;
  parse_ok (PRE);
  assert_false (web ()->network_mode.set);
  NETMODE ("default", ZA_NET_DEFAULT, NULL);
  NETMODE ("host", ZA_NET_HOST, NULL);
  assert_true (za_service_host_network (web ()));
  NETMODE ("none", ZA_NET_NONE, NULL);
  NETMODE ("bridge", ZA_NET_BRIDGE, NULL);
  NETMODE ("bridge:br0", ZA_NET_BRIDGE, "br0");
  NETMODE ("container:abc123", ZA_NET_CONTAINER, "abc123");
  NETMODE ("{bridge: {name: br1}}", ZA_NET_BRIDGE, "br1");
  NETMODE ("{bridge: {}}", ZA_NET_BRIDGE, NULL);
  NETMODE ("{container: {id: c1}}", ZA_NET_CONTAINER, "c1");
  assert_false (za_service_host_network (web ()));

  parse_ok (PRE "    host_network: true\n");
  assert_true (za_service_host_network (web ()));

  expect_one (PRE "    network_mode: \"container:\"\n", "services.web.network_mode", 7, 19,
              "network mode \"container:<id>\" requires a non-empty id");
  expect_one (PRE "    network_mode: {container: {}}\n", "services.web.network_mode", 7, 19,
              "network mode \"container:<id>\" requires a non-empty id");
  expect_one (PRE "    network_mode: {container: {id: ''}}\n", "services.web.network_mode", 7, 19,
              "network mode \"container:<id>\" requires a non-empty id");
  expect_one (PRE "    network_mode: overlay\n", "services.web.network_mode", 7, 19,
              "unknown network mode: overlay");
  expect_one (PRE "    network_mode: Host\n", "services.web.network_mode", 7, 19, "unknown network mode: Host");
  expect_one (PRE "    network_mode: {macvlan: {name: x}}\n", "services.web.network_mode", 7, 20,
              "unknown network mode: macvlan");
  expect_one (PRE "    network_mode: [host]\n", "services.web.network_mode", 7, 19,
              "expected a network mode, got a list");
}

static void
test_spec_affinity (void **state)
{
  const struct za_replica_group *g;
  (void) state;
  parse_ok (PRE "    affinity: spread\n");
  assert_true (web ()->affinity.set);
  assert_int_equal (web ()->affinity.kind, 0);
  parse_ok (PRE "    affinity: pack\n");
  assert_int_equal (web ()->affinity.kind, 1);
  parse_ok (PRE "    affinity:\n      pin: \"id=2\"\n");
  assert_int_equal (web ()->affinity.kind, 2);
  assert_string_equal (web ()->affinity.pin, "id=2");
  /* Option<Affinity>: null is None */
  parse_ok (PRE "    affinity: ~\n");
  assert_false (web ()->affinity.set);
  expect_one (PRE "    affinity: random\n", "services.web.affinity", 7, 15,
              "unknown variant `random`, expected one of `spread`, `pack`, `pin`");
  expect_one (PRE "    affinity: [spread]\n", "services.web.affinity", 7, 15,
              "expected `spread`, `pack` or `{pin: ...}`, got a list");
  expect_one (PRE "    affinity: {pin: [1]}\n", "services.web.affinity", 7, 21, "expected a string, got a list");
  expect_one (PRE "    affinity: {pin: a, pack: b}\n", "services.web.affinity", 7, 15,
              "expected `spread`, `pack` or `{pin: ...}`, got a mapping");

  /* replica groups: affinity defaults to spread */
  parse_ok (PRE "    replica_groups:\n      - role: worker\n        count: 2\n        env: {A: b}\n"
                "      - role: head\n        count: 1\n        affinity: {pin: node-1}\n");
  assert_int_equal (web ()->replica_groups.n, 2);
  g = web ()->replica_groups.v;
  assert_string_equal (g[0].role.s, "worker");
  assert_int_equal (g[0].count.v, 2);
  assert_int_equal (g[0].affinity.kind, 0);
  assert_string_equal (g[0].env.v[0].val.s, "b");
  assert_null (g[0].image);
  assert_int_equal (g[1].affinity.kind, 2);
  assert_string_equal (g[1].affinity.pin, "node-1");
}

static void
test_spec_ulimits (void **state)
{
  const struct za_ulimit *u;
  int64_t s, h;
  (void) state;
  parse_ok (PRE "    ulimits:\n      nofile: {soft: 1024, hard: 4096}\n      nproc:\n        soft: 64\n"
                "      core: {hard: 0}\n      memlock: {}\n      stack: {soft: -1, hard: 8}\n");
  assert_int_equal (web ()->ulimits.n, 5);
  assert_string_equal (web ()->ulimits.v[0].key.s, "nofile");
  assert_int_equal (web ()->ulimits.v[0].key.m.line, 8);
  assert_string_equal (web ()->ulimits.v[1].key.s, "nproc");
  assert_string_equal (web ()->ulimits.v[2].key.s, "core");
  u = web ()->ulimits.v[0].val;
  assert_true (u->soft.set && u->hard.set);
  assert_int_equal (u->soft.v, 1024);
  assert_int_equal (u->hard.v, 4096);
  za_ulimit_effective (u, &s, &h);
  assert_int_equal (s, 1024);
  assert_int_equal (h, 4096);
  /* soft only: hard = soft */
  u = web ()->ulimits.v[1].val;
  assert_false (u->hard.set);
  za_ulimit_effective (u, &s, &h);
  assert_int_equal (s, 64);
  assert_int_equal (h, 64);
  /* hard only: soft = hard */
  za_ulimit_effective (web ()->ulimits.v[2].val, &s, &h);
  assert_int_equal (s, 0);
  assert_int_equal (h, 0);
  /* neither: 0/0 */
  za_ulimit_effective (web ()->ulimits.v[3].val, &s, &h);
  assert_int_equal (s, 0);
  assert_int_equal (h, 0);
  /* negatives clamp to 0 */
  za_ulimit_effective (web ()->ulimits.v[4].val, &s, &h);
  assert_int_equal (s, 0);
  assert_int_equal (h, 8);

  assert_int_equal (za_ulimit_index ("nofile"), 7);
  assert_int_equal (za_ulimit_index ("NOFILE"), 7);
  assert_int_equal (za_ulimit_index ("cpu"), 0);
  assert_int_equal (za_ulimit_index ("rttime"), 15);
  assert_int_equal (za_ulimit_index ("files"), -1);

  expect_one (PRE "    ulimits:\n      nofile: {soft: 1, max: 2}\n", "services.web.ulimits.nofile", 8, 25,
              "unknown field `max`, expected `soft` or `hard`");
  expect_one (PRE "    ulimits:\n      nofile: 1024\n", "services.web.ulimits.nofile", 8, 15,
              "expected a mapping, got integer 1024");
  expect_one (PRE "    ulimits:\n      nofile: {soft: \"1\"}\n", "services.web.ulimits.nofile.soft", 8, 22,
              "expected an integer (i64), got string \"1\"");
}

/* ---- misc blocks ----------------------------------------------------- */

static void
test_spec_command_and_lists (void **state)
{
  (void) state;
  parse_ok (PRE "    command:\n      entrypoint: [/bin/sh, -c]\n      args:\n        - echo hi\n"
                "      workdir: /srv\n    dns: []\n    extra_hosts:\n");
  assert_int_equal (web ()->command.entrypoint.n, 2);
  assert_string_equal (web ()->command.entrypoint.v[0].s, "/bin/sh");
  assert_string_equal (web ()->command.entrypoint.v[1].s, "-c");
  assert_string_equal (web ()->command.args.v[0].s, "echo hi");
  assert_string_equal (web ()->command.workdir.s, "/srv");
  assert_true (web ()->dns.set);
  assert_int_equal (web ()->dns.n, 0);
  assert_true (web ()->extra_hosts.set);
  assert_int_equal (web ()->extra_hosts.n, 0);
  assert_false (web ()->security_opt.set);
  /* Compose's list or string form: say what to write */
  expect_one (PRE "    command: [sh, -c, sleep infinity]\n", "services.web.command", 7, 14,
              "expected a mapping, got a list; write `command: {entrypoint: [...], args: [...]}` (a mapping: "
              "the process runs entrypoint then args)");
  expect_one (PRE "    command: sh -c true\n", "services.web.command", 7, 14,
              "expected a mapping, got string \"sh -c true\"; write `command: {entrypoint: [...], args: [...]}` "
              "(a mapping: the process runs entrypoint then args)");
  expect_one (PRE "    dns: 8.8.8.8\n", "services.web.dns", 7, 10, "expected a list, got string \"8.8.8.8\"");
}

static void
test_spec_devices_ports_misc (void **state)
{
  const struct za_device *d;
  (void) state;
  parse_ok (PRE "    devices:\n      - path: /dev/fuse\n      - path: /dev/net/tun\n        read: false\n"
                "        mknod: true\n"
                "    stop_grace_period: 20s\n"
                "    restart_policy: {kind: on_failure, max_attempts: 3}\n"
                "    node_selector:\n      labels: {zone: a}\n"
                "    init:\n      steps:\n        - id: wait\n          uses: init.wait_tcp\n"
                "          with: {host: db, port: 5432}\n"
                "    errors:\n      on_panic: {action: isolate}\n");
  d = web ()->devices.v;
  assert_int_equal (web ()->devices.n, 2);
  assert_true (d[0].read.v && d[0].write.v && !d[0].mknod.v);
  assert_false (d[1].read.v);
  assert_true (d[1].write.v);
  assert_true (d[1].mknod.v);
  assert_true (web ()->stop_grace_period.ns == 20 * SEC);
  assert_int_equal (web ()->restart_policy->kind.v, 3);
  assert_int_equal (web ()->restart_policy->max_attempts.v, 3);
  assert_string_equal (web ()->node_selector->labels.v[0].key.s, "zone");
  {
    const struct za_init_step *st = web ()->init.steps.v;
    assert_int_equal (web ()->init.steps.n, 1);
    assert_string_equal (st->id.s, "wait");
    assert_non_null (st->with);
    assert_int_equal (st->with->type, ZA_NODE_MAP);
    assert_int_equal (st->with->n, 2);
    assert_int_equal (st->on_failure.v, 0);
  }
  assert_int_equal (web ()->errors.on_panic.action.v, 2);
  assert_int_equal (web ()->errors.on_init_failure.action.v, 0);
  expect_one (PRE "    restart_policy: {max_attempts: 3}\n", "services.web.restart_policy", 7, 21,
              "missing field `kind`");
  expect_one (PRE "    stop_grace_period: soon\n", "services.web.stop_grace_period", 7, 24,
              "invalid duration: expected number at 0");
}

static void
test_spec_externals_tunnels (void **state)
{
  const struct za_tunnel *t;
  const struct za_external *x;
  (void) state;
  parse_ok (PRE "externals:\n  legacy:\n    backends: [10.0.0.1:80]\n    endpoints:\n"
                "      - {name: http, protocol: http, port: 80}\n"
                "tunnels:\n  db:\n    from: a\n    to: b\n    local_port: 5432\n    remote_port: 5433\n");
  x = g_spec->d.externals.v[0].val;
  assert_string_equal (g_spec->d.externals.v[0].key.s, "legacy");
  assert_int_equal (x->backends.n, 1);
  assert_int_equal (x->endpoints.n, 1);
  assert_null (x->health);
  t = g_spec->d.tunnels.v[0].val;
  assert_int_equal (t->local_port.v, 5432);
  assert_int_equal (t->protocol.v, 0);
  assert_int_equal (t->expose.v, 1);
  expect_one (PRE "tunnels:\n  db:\n    from: a\n    to: b\n    local_port: 1\n", "tunnels.db", 9, 5,
              "missing field `remote_port`");
}

/* ---- several errors, multi-document ------------------------------- */

static void
test_spec_multi_document (void **state)
{
  (void) state;
  expect_one (PRE "---\nversion: v1\n", NULL, 7, 1,
              "deserializing from YAML containing more than one document is not supported");
}

static void
test_spec_collects_several_errors (void **state)
{
  const struct za_err *e;
  (void) state;
  e = parse_fail (PRE "    resources:\n      cpu: \"2\"\n"      /* 7-8 */
                      "    privileged: yes\n"                  /* 9 */
                      "    volumes: []\n"                      /* 10 */
                      "    env:\n      A: [x]\n"               /* 11-12 */
                      "  api:\n    image: {name: x}\n"         /* 13-14 */
                      "    scale: {mode: fixed}\n");           /* 15 */
  assert_int_equal (za_err_count (e), 5);
  check_err (e, "services.web.resources.cpu", 8, 12, "expected a number, got string \"2\"");
  e = e->next;
  check_err (e, "services.web.privileged", 9, 17, "expected a boolean, got string \"yes\"");
  e = e->next;
  assert_string_equal (e->path, "services.web");
  assert_int_equal (e->line, 10);
  assert_int_equal (e->col, 5);
  assert_string_equal (e->msg, "unknown field `volumes` (no field of the 54 here is close)");
  e = e->next;
  check_err (e, "services.web.env.A", 12, 10, "expected a string, got a list");
  e = e->next;
  check_err (e, "services.api.scale", 15, 12, "missing field `replicas`");
}

static void
test_spec_error_cap (void **state)
{
  char *doc;
  size_t o;
  (void) state;
  doc = malloc (16384);
  assert_non_null (doc);
  o = (size_t) snprintf (doc, 16384, PRE "    env:\n");
  for (int i = 0; i < 150; i++)
    o += (size_t) snprintf (doc + o, 16384 - o, "      K%d: [x]\n", i);
  parse_fail (doc);
  free (doc);
  /* decoding stops reporting after 100 problems, and says how many it
     left out in one more line (in the file, at no position) */
  assert_int_equal (za_err_count (g_err), 101);
  {
    const struct za_err *e = g_err;
    for (int i = 0; i < 100; i++, e = e->next)
      assert_int_not_equal (e->line, 0);
    assert_string_equal (e->msg, "50 more problems not shown");
    assert_string_equal (e->file, FILE_NAME);
    assert_null (e->path);
    assert_int_equal (e->line, 0);
    assert_true (za_err_is_input (e));
  }
}

/* ---- the real ZLayer examples ----------------------------------------- */

static void
test_spec_examples_parse_per_index (void **state)
{
  char *dir = examples_dir ();
  char names[64][128];
  bool parses[64], validates[64];
  int n;
  size_t seen_files = 0, yes = 0;
  DIR *d;
  struct dirent *de;
  (void) state;
  assert_non_null (dir);
  n = read_index (dir, names, parses, validates, 64);
  if (n < 0)
    {
      free (dir);
      skip ();
    }
  assert_int_equal (n, 19);
  for (int i = 0; i < n; i++)
    {
      char *path = NULL;
      struct za_spec *s = NULL;
      struct za_err *err = NULL;
      int r;
      assert_true (asprintf (&path, "%s/%s", dir, names[i]) > 0);
      r = za_spec_load_file (path, &s, &err);
      if (parses[i] && r != 0)
        {
          print_error ("%s should parse:\n", names[i]);
          dump_errors (err);
        }
      if (!parses[i] && r == 0)
        print_error ("%s should not parse\n", names[i]);
      assert_int_equal (r, parses[i] ? 0 : -1);
      if (r == 0)
        {
          assert_non_null (s);
          assert_null (err);
          assert_string_equal (s->file, path);
          assert_true (s->d.services.n >= 1);
          yes++;
        }
      else
        {
          assert_null (s);
          assert_non_null (err);
          assert_true (za_err_is_input (err));
          /* every problem is located in the file */
          for (const struct za_err *e = err; e; e = e->next)
            {
              assert_string_equal (e->file, path);
              assert_true (e->line >= 1);
              assert_true (e->col >= 1);
            }
        }
      if (strcmp (names[i], "examples__containers__redis-cache__deployment.yaml") == 0)
        assert_string_equal (err->msg,
                             "deserializing from YAML containing more than one document is not supported");
      if (strcmp (names[i], "examples__python__hello.zlayer.yaml") == 0)
        {
          assert_string_equal (err->path, "services.hello.command");
          assert_true (strncmp (err->msg, "expected a mapping, got a list; write `command: {entrypoint: ", 61) == 0);
        }
      if (strcmp (names[i], "examples__docker-compose.yaml") == 0)
        {
          bool found = false;
          for (const struct za_err *e = err; e; e = e->next)
            found |= strcmp (e->msg, "missing field `version`") == 0 && !e->path;
          assert_true (found);
        }
      za_err_free (&err);
      za_spec_free (s);
      free (path);
    }
  assert_int_equal (yes, 13);
  /* INDEX.md lists every example file there is */
  d = opendir (dir);
  assert_non_null (d);
  while ((de = readdir (d)))
    {
      size_t l = strlen (de->d_name);
      bool listed = false;
      if (!(l > 5 && strcmp (de->d_name + l - 5, ".yaml") == 0) && !(l > 4 && strcmp (de->d_name + l - 4, ".yml") == 0))
        continue;
      seen_files++;
      for (int i = 0; i < n; i++)
        listed |= strcmp (names[i], de->d_name) == 0;
      if (!listed)
        fail_msg ("%s is not in INDEX.md", de->d_name);
    }
  closedir (d);
  assert_int_equal (seen_files, (size_t) n);
  free (dir);
}

static void
test_spec_load_file_errors (void **state)
{
  struct za_spec *s = (struct za_spec *) 0x1;
  (void) state;
  assert_int_equal (za_spec_load_file ("/nonexistent/dir/spec.yaml", &s, &g_err), -1);
  assert_null (s);
  assert_non_null (g_err);
  /* a missing spec file is the user's input problem (exit status 2) */
  assert_int_equal (g_err->code, ZA_EINPUT);
  assert_true (za_err_is_input (g_err));
  assert_non_null (strstr (g_err->msg, "/nonexistent/dir/spec.yaml"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_teardown (fn, teardown)
    T (test_scalar_classify_null),
    T (test_scalar_classify_bool),
    T (test_scalar_classify_int),
    T (test_scalar_classify_float),
    T (test_scalar_classify_collections_are_not_scalars),
    T (test_scalar_int_values),
    T (test_spec_minimal),
    T (test_spec_quoted_number_is_string),
    T (test_spec_bool_field),
    T (test_spec_integer_forms),
    T (test_spec_u16_range),
    T (test_spec_u64_fields),
    T (test_spec_float_forms),
    T (test_spec_string_fields_take_any_scalar),
    T (test_spec_env_values_become_text),
    T (test_spec_env_keeps_document_order),
    T (test_spec_unknown_field),
    T (test_spec_cap_add_alias),
    T (test_spec_wasm_http_alias),
    T (test_spec_missing_required),
    T (test_spec_document_shape_errors),
    T (test_spec_duplicate_keys),
    T (test_spec_enum_errors),
    T (test_spec_image_reference),
    T (test_spec_aliases_decode_into_each_user),
    T (test_spec_storage_variants),
    T (test_spec_storage_tag_errors),
    T (test_spec_storage_strict_typing),
    T (test_spec_tmpfs_mode),
    T (test_spec_health_defaults),
    T (test_spec_health_check_variants),
    T (test_spec_scale),
    T (test_spec_network_defaults),
    T (test_spec_depends_defaults),
    T (test_spec_gpu),
    T (test_spec_network_mode),
    T (test_spec_affinity),
    T (test_spec_ulimits),
    T (test_spec_command_and_lists),
    T (test_spec_devices_ports_misc),
    T (test_spec_externals_tunnels),
    T (test_spec_multi_document),
    T (test_spec_collects_several_errors),
    T (test_spec_error_cap),
    T (test_spec_examples_parse_per_index),
    T (test_spec_load_file_errors),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
