/* Unit tests for spec/validate.c: every message of zlayer-reference.md
   §1.6 with its path and position, the checks added beyond the reference
   (capabilities, container paths, volume names, ulimits, secret reference
   syntax, devices), and the real examples against INDEX.md.  */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec/spec.h"
#include "util/err.h"

#include "testutil.h"

#define FILE_NAME "v.yaml"
#define PRE SPEC_PRE

static struct za_spec *g_spec;
static struct za_err *g_err;

static int
teardown (void **state)
{
  (void) state;
  spec_reset (&g_spec, &g_err);
  return 0;
}

/* Parse (must succeed) and validate; returns the validation result.  */
static int
validate_at (const char *yaml, int line)
{
  spec_reset (&g_spec, &g_err);
  g_spec = spec_parse_ok_at (FILE_NAME, yaml, line);
  return za_spec_validate (g_spec, &g_err);
}

static void
valid_at (const char *yaml, int line)
{
  if (validate_at (yaml, line) != 0 || g_err)
    {
      print_error ("line %d: spec should validate:\n", line);
      dump_errors (g_err);
      fail ();
    }
}
#define VALID(y) valid_at (y, __LINE__)

#define check_err(e, path, l, c, msg) check_err_at (e, FILE_NAME, path, l, c, msg, __LINE__)

/* Validation fails with exactly this one error.  */
static void
invalid1_at (const char *yaml, const char *path, unsigned l, unsigned c, const char *msg, int line)
{
  if (validate_at (yaml, line) != -1)
    fail_msg ("line %d: spec validated", line);
  check_one_err_at (g_err, FILE_NAME, path, l, c, msg, line);
}
#define INVALID1(y, path, l, c, msg) invalid1_at (y, path, l, c, msg, __LINE__)

/* ---- top level ------------------------------------------------------- */

static void
test_validate_minimal_ok (void **state)
{
  (void) state;
  VALID (PRE);
  VALID ("version: v1\ndeployment: abc\n");
}

static void
test_validate_version (void **state)
{
  char *s;
  (void) state;
  INVALID1 ("version: v2\ndeployment: demo\n", "version", 1, 10, "version must be 'v1', found 'v2'");
  s = za_err_format (g_err);
  assert_string_equal (s, "v.yaml:1:10: version: version must be 'v1', found 'v2'");
  free (s);
  INVALID1 ("version: V1\ndeployment: demo\n", "version", 1, 10, "version must be 'v1', found 'V1'");
  INVALID1 ("version: 1\ndeployment: demo\n", "version", 1, 10, "version must be 'v1', found '1'");
}

static void
test_validate_deployment_name (void **state)
{
  char doc[256];
  (void) state;
  INVALID1 ("version: v1\ndeployment: ab\n", "deployment", 2, 13, "deployment name must be 3-63 characters");
  INVALID1 ("version: v1\ndeployment: ''\n", "deployment", 2, 13, "deployment name must be 3-63 characters");
  snprintf (doc, sizeof doc, "version: v1\ndeployment: %s\n",
            "a123456789012345678901234567890123456789012345678901234567890123"); /* 64 */
  INVALID1 (doc, "deployment", 2, 13, "deployment name must be 3-63 characters");
  snprintf (doc, sizeof doc, "version: v1\ndeployment: %s\n",
            "a12345678901234567890123456789012345678901234567890123456789012"); /* 63 */
  VALID (doc);
  INVALID1 ("version: v1\ndeployment: -abc\n", "deployment", 2, 13,
            "deployment name must start with alphanumeric character");
  INVALID1 ("version: v1\ndeployment: my_app\n", "deployment", 2, 13,
            "deployment name can only contain alphanumeric characters and hyphens");
  INVALID1 ("version: v1\ndeployment: my.app\n", "deployment", 2, 13,
            "deployment name can only contain alphanumeric characters and hyphens");
  /* the length rule wins over the others */
  INVALID1 ("version: v1\ndeployment: _a\n", "deployment", 2, 13, "deployment name must be 3-63 characters");
  VALID ("version: v1\ndeployment: My-App-2\n");
  VALID ("version: v1\ndeployment: 123\n");
  VALID ("version: v1\ndeployment: abc-\n");
}

/* ---- resources ------------------------------------------------------- */

static void
test_validate_cpu (void **state)
{
  (void) state;
  VALID (PRE "    resources:\n      cpu: 0.5\n");
  VALID (PRE "    resources:\n      cpu: 4\n");
  INVALID1 (PRE "    resources:\n      cpu: 0\n", "services.web.resources.cpu", 8, 12,
            "CPU limit must be > 0, found 0");
  INVALID1 (PRE "    resources:\n      cpu: -1.5\n", "services.web.resources.cpu", 8, 12,
            "CPU limit must be > 0, found -1.5");
  /* upstream lets non-finite values through; they break the quota */
  INVALID1 (PRE "    resources:\n      cpu: .nan\n", "services.web.resources.cpu", 8, 12,
            "CPU limit must be a finite number, found nan");
  INVALID1 (PRE "    resources:\n      cpu: .inf\n", "services.web.resources.cpu", 8, 12,
            "CPU limit must be a finite number, found inf");
  INVALID1 (PRE "    resources:\n      cpu: -.inf\n", "services.web.resources.cpu", 8, 12,
            "CPU limit must be a finite number, found -inf");
}

static void
test_validate_memory (void **state)
{
  (void) state;
  VALID (PRE "    resources:\n      memory: 512Mi\n");
  VALID (PRE "    resources:\n      memory: 1Ki\n");
  VALID (PRE "    resources:\n      memory: 2Gi\n");
  VALID (PRE "    resources:\n      memory: 8388607Ti\n");
  INVALID1 (PRE "    resources:\n      memory: 2G\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: '2G' (use Ki, Mi, Gi, or Ti suffix)");
  INVALID1 (PRE "    resources:\n      memory: 1024\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: '1024' (use Ki, Mi, Gi, or Ti suffix)");
  INVALID1 (PRE "    resources:\n      memory: 512mi\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: '512mi' (use Ki, Mi, Gi, or Ti suffix)");
  INVALID1 (PRE "    resources:\n      memory: abc\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: 'abc' (use Ki, Mi, Gi, or Ti suffix)");
  INVALID1 (PRE "    resources:\n      memory: 1.5Gi\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: '1.5Gi' (use Ki, Mi, Gi, or Ti suffix)");
  INVALID1 (PRE "    resources:\n      memory: \"\"\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: '' (use Ki, Mi, Gi, or Ti suffix)");
  INVALID1 (PRE "    resources:\n      memory: 0Mi\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: '0Mi'");
  INVALID1 (PRE "    resources:\n      memory: 99999999999Ti\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: '99999999999Ti' (does not fit in a signed 64-bit byte count)");
  INVALID1 (PRE "    resources:\n      memory: 8388608Ti\n", "services.web.resources.memory", 8, 15,
            "invalid memory format: '8388608Ti' (does not fit in a signed 64-bit byte count)");
}

/* ---- endpoints, scale, replica groups, depends ------------------------ */

static void
test_validate_endpoints (void **state)
{
  (void) state;
  VALID (PRE "    endpoints:\n      - {name: http, protocol: http, port: 80}\n"
             "      - {name: admin, protocol: tcp, port: 65535}\n");
  INVALID1 (PRE "    endpoints:\n      - name: \"\"\n        protocol: http\n        port: 80\n",
            "services.web.endpoints[0].name", 8, 15, "endpoint name cannot be empty");
  INVALID1 (PRE "    endpoints:\n      - name: a\n        protocol: http\n        port: 80\n"
                "      - name: b\n        protocol: tcp\n        port: 0\n",
            "services.web.endpoints[1].port", 13, 15, "port must be between 1-65535");
  INVALID1 (PRE "    endpoints:\n      - {name: http, protocol: http, port: 80}\n"
                "      - {name: other, protocol: http, port: 81}\n"
                "      - {name: http, protocol: tcp, port: 82}\n",
            "services.web.endpoints", 10, 16, "duplicate endpoint 'http'");
  /* endpoints of an external may share names */
  VALID (PRE "externals:\n  x:\n    backends: [a:1]\n    endpoints:\n"
             "      - {name: e, protocol: tcp, port: 1}\n      - {name: e, protocol: tcp, port: 2}\n");
  INVALID1 (PRE "externals:\n  x:\n    backends: [a:1]\n    endpoints:\n"
                "      - {name: e, protocol: tcp, port: 0}\n",
            "externals.x.endpoints[0].port", 11, 40, "port must be between 1-65535");
}

static void
test_validate_endpoint_tunnel_ttl (void **state)
{
  (void) state;
  VALID (PRE "    endpoints:\n      - name: ssh\n        protocol: tcp\n        port: 22\n"
             "        tunnel:\n          enabled: true\n          access:\n            max_ttl: 4h\n");
  INVALID1 (PRE "    endpoints:\n      - name: ssh\n        protocol: tcp\n        port: 22\n"
                "        tunnel:\n          access:\n            max_ttl: forever\n",
            "services.web.endpoints[0].tunnel.access.max_ttl", 13, 22,
            "invalid tunnel max_ttl 'forever': invalid TTL format 'forever': expected number at 0");
}

static void
test_validate_scale (void **state)
{
  (void) state;
  VALID (PRE "    scale: {mode: adaptive, min: 3, max: 3}\n");
  INVALID1 (PRE "    scale:\n      mode: adaptive\n      min: 5\n      max: 2\n", "services.web.scale", 9, 12,
            "scale min (5) cannot be greater than max (2)");
  /* a fixed scale has no range to check */
  VALID (PRE "    scale: {mode: fixed, replicas: 0}\n");
}

static void
test_validate_replica_groups (void **state)
{
  char doc[512];
  (void) state;
  VALID (PRE "    replica_groups:\n      - {role: a, count: 1}\n      - {role: worker-2, count: 3}\n");
  snprintf (doc, sizeof doc, PRE "    replica_groups:\n      - {role: %s, count: 1}\n",
            "abcdefghijklmnopqrstuvwxyz0123"); /* 30 */
  VALID (doc);
  snprintf (doc, sizeof doc, PRE "    replica_groups:\n      - {role: %s, count: 1}\n",
            "abcdefghijklmnopqrstuvwxyz01234"); /* 31 */
  INVALID1 (doc, "services.web.replica_groups[0].role", 8, 16,
            "role must be 1-30 characters matching ^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$");
  static const char *const bad[] = { "Worker", "1st", "a-", "-a", "a_b", "\"\"", "a.b" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      snprintf (doc, sizeof doc, PRE "    replica_groups:\n      - {role: %s, count: 1}\n", bad[i]);
      INVALID1 (doc, "services.web.replica_groups[0].role", 8, 16,
                "role must be 1-30 characters matching ^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$");
    }
  INVALID1 (PRE "    replica_groups:\n      - role: w\n        count: 0\n", "services.web.replica_groups[0].count",
            9, 16, "count must be at least 1");
  INVALID1 (PRE "    replica_groups:\n      - role: w\n        count: 1\n        resources: {memory: 1G}\n",
            "services.web.replica_groups[0].resources.memory", 10, 29,
            "invalid memory format: '1G' (use Ki, Mi, Gi, or Ti suffix)");
}

static void
test_validate_depends (void **state)
{
  (void) state;
  VALID (PRE "    depends:\n      - service: db\n  db:\n    image: {name: postgres}\n");
  VALID (PRE "    depends:\n      - service: web\n"); /* itself: exists */
  INVALID1 (PRE "    depends:\n      - service: db\n", "services.web.depends", 8, 18,
            "dependency references unknown service 'db'");
}

static void
test_validate_schedule (void **state)
{
  (void) state;
  VALID (PRE "    rtype: cron\n    schedule: \"0 0 3 * * *\"\n");
  VALID (PRE "    rtype: cron\n    schedule: \"@daily\"\n");
  INVALID1 (PRE "    rtype: cron\n", "services.web.schedule", 7, 12, "rtype: cron requires a schedule field");
  INVALID1 (PRE "    schedule: \"0 0 3 * * *\"\n", "services.web.schedule", 7, 15,
            "schedule field is only valid for rtype: cron");
  INVALID1 (PRE "    rtype: job\n    schedule: \"0 0 3 * * *\"\n", "services.web.schedule", 8, 15,
            "schedule field is only valid for rtype: cron");
  /* classic 5-field cron is not the cron crate's syntax */
  INVALID1 (PRE "    rtype: cron\n    schedule: \"0 3 * * *\"\n", "services.web.schedule", 8, 15,
            "invalid cron schedule '0 3 * * *': expected 6 or 7 fields, found 5");
}

/* ---- tunnels, externals ---------------------------------------------- */

static void
test_validate_tunnels (void **state)
{
  const struct za_err *e;
  (void) state;
  VALID ("version: v1\ndeployment: demo\ntunnels:\n  db:\n    from: a\n    to: b\n    local_port: 1\n"
         "    remote_port: 65535\n");
  INVALID1 ("version: v1\ndeployment: demo\ntunnels:\n  db:\n    from: a\n    to: b\n    local_port: 0\n"
            "    remote_port: 5432\n",
            "tunnels.db.local_port", 7, 17, "invalid tunnel local_port port: 0 (must be 0 or 1-65535)");
  assert_int_equal (validate_at ("version: v1\ndeployment: demo\ntunnels:\n  db:\n    from: a\n    to: b\n"
                                 "    local_port: 0\n    remote_port: 0\n",
                                 __LINE__),
                    -1);
  e = g_err;
  assert_int_equal (za_err_count (e), 2);
  check_err (e, "tunnels.db.local_port", 7, 17, "invalid tunnel local_port port: 0 (must be 0 or 1-65535)");
  check_err (e->next, "tunnels.db.remote_port", 8, 18,
             "invalid tunnel remote_port port: 0 (must be 0 or 1-65535)");
}

static void
test_validate_externals (void **state)
{
  (void) state;
  VALID ("version: v1\ndeployment: demo\nexternals:\n  legacy:\n    backends: [10.0.0.1:8080]\n");
  INVALID1 ("version: v1\ndeployment: demo\nexternals:\n  legacy:\n    endpoints: []\n",
            "externals.legacy.backends", 4, 3, "at least one backend address is required");
  INVALID1 ("version: v1\ndeployment: demo\nexternals:\n  legacy:\n    backends: []\n",
            "externals.legacy.backends", 5, 15, "at least one backend address is required");
}

/* ---- wasm -------------------------------------------------------------- */

static void
test_validate_wasm (void **state)
{
  (void) state;
  VALID (PRE "    service_type: wasm_plugin\n    wasm:\n      min_instances: 1\n      max_memory: 64Mi\n");
  VALID (PRE "    service_type: wasm_http\n    endpoints:\n      - {name: h, protocol: https, port: 443}\n");
  VALID (PRE "    service_type: wasm_http\n    endpoints:\n      - {name: h, protocol: websocket, port: 1}\n");
  /* without a service_type the service itself is the position */
  INVALID1 (PRE "    wasm:\n      max_instances: 2\n", "services.web.wasm", 4, 3,
            "wasm config provided but service_type is not a WASM type");
  INVALID1 (PRE "    service_type: job\n    wasm: {}\n", "services.web.wasm", 7, 19,
            "wasm config provided but service_type is not a WASM type");
  INVALID1 (PRE "    service_type: wasm_router\n    wasm:\n      min_instances: 5\n      max_instances: 2\n",
            "services.web.wasm", 9, 22, "wasm min_instances (5) > max_instances (2)");
  INVALID1 (PRE "    service_type: wasm_router\n    wasm:\n      max_memory: 64MB\n",
            "services.web.wasm.max_memory", 9, 19, "memory format '64MB' is invalid");
  INVALID1 (PRE "    service_type: wasm_router\n    wasm:\n      max_memory: 64M\n",
            "services.web.wasm.max_memory", 9, 19, "memory format '64M' is invalid");
  INVALID1 (PRE "    service_type: wasm_router\n    wasm:\n      preopens:\n        - {source: \"\", target: /d}\n",
            "services.web.wasm.preopens[0]", 10, 20, "wasm preopen[0].source cannot be empty");
  INVALID1 (PRE "    service_type: wasm_router\n    wasm:\n      preopens:\n        - {source: /s, target: /d}\n"
                "        - {source: /s, target: ''}\n",
            "services.web.wasm.preopens[1]", 11, 32, "wasm preopen[1].target cannot be empty");
  INVALID1 (PRE "    service_type: wasm_http\n", "services.web.endpoints", 7, 19,
            "wasm_http service type should have at least one HTTP endpoint");
  INVALID1 (PRE "    service_type: wasm_http\n    wasm: {}\n    endpoints:\n      - {name: t, protocol: tcp, port: 1}\n",
            "services.web.endpoints", 7, 19, "wasm_http service type should have at least one HTTP endpoint");
}

/* ---- checks beyond the reference ------------------------------------- */

static void
test_validate_capabilities (void **state)
{
  const struct za_err *e;
  (void) state;
  VALID (PRE "    capabilities: [NET_ADMIN, cap_sys_time, CAP_NET_RAW, ALL, all, CAP_ALL]\n"
             "    cap_drop: [MKNOD, ALL]\n");
  INVALID1 (PRE "    capabilities: [net_admn]\n", "services.web.capabilities[0]", 7, 20,
            "unknown capability `net_admn`");
  INVALID1 (PRE "    cap_add:\n      - NET_ADMIN\n      - CAP_FOO\n", "services.web.capabilities[1]", 9, 9,
            "unknown capability `CAP_FOO`");
  INVALID1 (PRE "    cap_drop: [\"\"]\n", "services.web.cap_drop[0]", 7, 16, "unknown capability ``");
  assert_int_equal (validate_at (PRE "    capabilities: [X, NET_ADMIN, Y]\n    cap_drop: [Z]\n", __LINE__), -1);
  e = g_err;
  assert_int_equal (za_err_count (e), 3);
  check_err (e, "services.web.capabilities[0]", 7, 20, "unknown capability `X`");
  check_err (e->next, "services.web.capabilities[2]", 7, 34, "unknown capability `Y`");
  check_err (e->next->next, "services.web.cap_drop[0]", 8, 16, "unknown capability `Z`");
}

static void
test_validate_storage_paths (void **state)
{
  (void) state;
  VALID (PRE "    storage:\n      - {type: bind, source: /srv/data, target: /data}\n"
             "      - {type: named, name: my-vol-1, target: /v}\n      - {type: anonymous, target: /cache}\n"
             "      - {type: tmpfs, target: /tmp, size: 64Mi}\n"
             "      - {type: s3, bucket: my-bucket, prefix: a/b/, target: /s3}\n");
  INVALID1 (PRE "    storage:\n      - type: anonymous\n        target: data\n", "services.web.storage[0].target", 9,
            17, "mount target `data` must be an absolute path");
  INVALID1 (PRE "    storage:\n      - type: anonymous\n        target: /data/../etc\n",
            "services.web.storage[0].target", 9, 17, "mount target `/data/../etc` must not contain `..`");
  INVALID1 (PRE "    storage:\n      - type: tmpfs\n        target: /..\n", "services.web.storage[0].target", 9, 17,
            "mount target `/..` must not contain `..`");
  /* `..` only as a whole component */
  VALID (PRE "    storage:\n      - type: tmpfs\n        target: /a..b/..c\n");
  INVALID1 (PRE "    storage:\n      - type: bind\n        source: ./data\n        target: /data\n",
            "services.web.storage[0].source", 9, 17, "bind source `./data` must be an absolute host path");
  INVALID1 (PRE "    storage:\n      - type: named\n        name: My_Vol\n        target: /v\n",
            "services.web.storage[0].name", 9, 15,
            "Invalid volume name: My_Vol (1-63 characters a-z, 0-9 and '-', starting and ending with a letter or "
            "digit)");
  INVALID1 (PRE "    storage:\n      - type: named\n        name: -vol\n        target: /v\n",
            "services.web.storage[0].name", 9, 15,
            "Invalid volume name: -vol (1-63 characters a-z, 0-9 and '-', starting and ending with a letter or "
            "digit)");
  INVALID1 (PRE "    storage:\n      - type: tmpfs\n        target: /t\n        size: lots\n",
            "services.web.storage[0].size", 10, 15, "invalid tmpfs size `lots`");
  INVALID1 (PRE "    storage:\n      - type: tmpfs\n        target: /t\n        size: \"0\"\n",
            "services.web.storage[0].size", 10, 15, "invalid tmpfs size `0`");
  INVALID1 (PRE "    storage:\n      - type: s3\n        bucket: a/b\n        target: /s\n",
            "services.web.storage[0].bucket", 9, 17, "invalid bucket name `a/b`");
  INVALID1 (PRE "    storage:\n      - type: s3\n        bucket: b\n        prefix: x/../y\n        target: /s\n",
            "services.web.storage[0].prefix", 10, 17, "prefix `x/../y` must not contain `..`");
}

static void
test_validate_volume_name_rules (void **state)
{
  char name[80];
  (void) state;
  assert_true (za_volume_name_valid ("a"));
  assert_true (za_volume_name_valid ("0"));
  assert_true (za_volume_name_valid ("my-vol-2"));
  assert_false (za_volume_name_valid (""));
  assert_false (za_volume_name_valid ("vol-"));
  assert_false (za_volume_name_valid ("Vol"));
  assert_false (za_volume_name_valid ("v_l"));
  assert_false (za_volume_name_valid ("v.l"));
  assert_false (za_volume_name_valid ("a/b"));
  memset (name, 'a', 63);
  name[63] = '\0';
  assert_true (za_volume_name_valid (name));
  name[63] = 'a';
  name[64] = '\0';
  assert_false (za_volume_name_valid (name));
}

static void
test_validate_ulimits (void **state)
{
  (void) state;
  VALID (PRE "    ulimits:\n      nofile: {soft: 1024, hard: 4096}\n      NPROC: {soft: 5}\n"
             "      core: {hard: 0}\n");
  INVALID1 (PRE "    ulimits:\n      files: {soft: 1}\n", "services.web.ulimits.files", 8, 7,
            "unknown ulimit name `files` (expected one of: cpu, fsize, data, stack, core, rss, nproc, nofile, "
            "memlock, as, locks, sigpending, msgqueue, nice, rtprio, rttime)");
  INVALID1 (PRE "    ulimits:\n      nofile: {soft: 10, hard: 5}\n", "services.web.ulimits.nofile", 8, 7,
            "soft limit 10 is larger than hard limit 5");
  /* negative values clamp to 0 first */
  VALID (PRE "    ulimits:\n      nofile: {soft: -5, hard: 0}\n");
}

static void
test_validate_secret_refs (void **state)
{
  const struct za_err *e;
  (void) state;
  VALID (PRE "    env:\n      A: $S:jwt\n      B: $S:db/password\n      C: $S:@api/key\n      D: $S::prod/key/f\n"
             "      E: $E:HOME\n      F: plain$S:x/y/z\n");
  INVALID1 (PRE "    env:\n      TOKEN: $S:a/b/c\n", "services.web.env.TOKEN", 8, 14,
            "invalid secret reference syntax: $S:a/b/c");
  INVALID1 (PRE "    env:\n      TOKEN: \"$S:\"\n", "services.web.env.TOKEN", 8, 14,
            "invalid secret reference syntax: $S:");
  INVALID1 (PRE "    env:\n      TOKEN: $S:1abc\n", "services.web.env.TOKEN", 8, 14,
            "invalid secret name in $S:1abc (names start with a letter, then letters, digits, '_' or '-')");
  INVALID1 (PRE "    env:\n      TOKEN: $S:@9svc/name\n", "services.web.env.TOKEN", 8, 14,
            "invalid secret name in $S:@9svc/name (names start with a letter, then letters, digits, '_' or '-')");
  assert_int_equal (validate_at (PRE "    env:\n      A: $S:/x\n      B: ok\n      C: $S:a:b\n", __LINE__), -1);
  e = g_err;
  assert_int_equal (za_err_count (e), 2);
  check_err (e, "services.web.env.A", 8, 10, "invalid secret reference syntax: $S:/x");
  check_err (e->next, "services.web.env.C", 10, 10, "invalid secret reference syntax: $S:a:b");
}

/* A GPU vendor a typo away from a known one is an error with the
   suggestion; one far from all stays the seed's "unknown vendor".  */
static void
test_validate_gpu_vendor (void **state)
{
  (void) state;
  VALID (PRE "    resources:\n      gpu: {count: 1, vendor: amd}\n");
  VALID (PRE "    resources:\n      gpu: {count: 1, vendor: apple}\n");
  VALID (PRE "    resources:\n      gpu: {count: 1, vendor: acme}\n");
  VALID (PRE "    resources:\n      gpu: {count: 1}\n");
  INVALID1 (PRE "    resources:\n      gpu: {count: 1, vendor: nvida}\n", "services.web.resources.gpu.vendor", 8, 31,
            "unknown GPU vendor `nvida`, did you mean \"nvidia\"?");
  INVALID1 (PRE "    resources:\n      gpu: {count: 1, vendor: NVIDIA}\n", "services.web.resources.gpu.vendor", 8, 31,
            "unknown GPU vendor `NVIDIA`, did you mean \"nvidia\"?");
  INVALID1 (PRE "    resources:\n      gpu: {count: 1, vendor: itnel}\n", "services.web.resources.gpu.vendor", 8, 31,
            "unknown GPU vendor `itnel`, did you mean \"intel\"?");
}

static void
test_validate_devices_and_workdir (void **state)
{
  (void) state;
  VALID (PRE "    devices:\n      - path: /dev/fuse\n    command:\n      workdir: /srv\n");
  /* a relative path is read as a CDI device name */
  VALID (PRE "    devices:\n      - path: nvidia.com/gpu=all\n");
  INVALID1 (PRE "    devices:\n      - path: dev/fuse\n", "services.web.devices[0].path", 8, 15,
            "device `dev/fuse` is neither an absolute path nor a CDI device name (vendor/class=name): "
            "\"dev/fuse\" is not a qualified device name (vendor/class=name)");
  INVALID1 (PRE "    devices:\n      - path: /dev/../etc/shadow\n", "services.web.devices[0].path", 8, 15,
            "device path `/dev/../etc/shadow` must not contain `..`");
  assert_int_equal (validate_at (PRE "    devices:\n      - path: \"\"\n", __LINE__), -1);
  assert_int_equal (za_err_count (g_err), 1);
  assert_string_equal (g_err->path, "services.web.devices[0].path");
  assert_int_equal (g_err->line, 8);
  assert_int_equal (g_err->col, 15);
  assert_true (strncmp (g_err->msg, "device `` is neither an absolute path nor a CDI device name", 59) == 0);
  INVALID1 (PRE "    command:\n      workdir: srv\n", "services.web.command.workdir", 8, 16,
            "workdir `srv` must be an absolute path");
}

/* ---- collecting, chaining -------------------------------------------- */

static void
test_validate_collects_everything (void **state)
{
  const struct za_err *e;
  struct za_err *chain = NULL;
  (void) state;
  assert_int_equal (validate_at ("version: v2\ndeployment: x\nservices:\n  web:\n    image: {name: a}\n"
                                 "    resources: {cpu: 0, memory: 1G}\n    capabilities: [nope]\n"
                                 "  db:\n    image: {name: b}\n    rtype: cron\n",
                                 __LINE__),
                    -1);
  e = g_err;
  assert_int_equal (za_err_count (e), 6);
  check_err (e, "version", 1, 10, "version must be 'v1', found 'v2'");
  e = e->next;
  check_err (e, "deployment", 2, 13, "deployment name must be 3-63 characters");
  e = e->next;
  check_err (e, "services.web.resources.cpu", 6, 22, "CPU limit must be > 0, found 0");
  e = e->next;
  check_err (e, "services.web.resources.memory", 6, 33, "invalid memory format: '1G' (use Ki, Mi, Gi, or Ti suffix)");
  e = e->next;
  check_err (e, "services.web.capabilities[0]", 7, 20, "unknown capability `nope`");
  e = e->next;
  check_err (e, "services.db.schedule", 10, 12, "rtype: cron requires a schedule field");

  /* errors are appended to an existing chain, and a valid spec adds none */
  za_err_set (&chain, ZA_EINPUT, "earlier");
  assert_int_equal (za_spec_validate (g_spec, &chain), -1);
  assert_int_equal (za_err_count (chain), 7);
  assert_string_equal (chain->msg, "earlier");
  za_err_free (&chain);
  VALID (PRE);
  za_err_set (&chain, ZA_EINPUT, "earlier");
  assert_int_equal (za_spec_validate (g_spec, &chain), 0);
  assert_int_equal (za_err_count (chain), 1);
  za_err_free (&chain);
}

/* ---- the real examples -------------------------------------------------- */

static void
test_validate_examples_per_index (void **state)
{
  char *dir = examples_dir ();
  char names[64][128];
  bool parses[64], validates_col[64];
  int rows, n = 0, valid = 0;
  (void) state;
  assert_non_null (dir);
  rows = read_index (dir, names, parses, validates_col, 64);
  if (rows < 0)
    {
      free (dir);
      skip ();
    }
  for (int i = 0; i < rows; i++)
    {
      const char *name = names[i];
      char *path = NULL;
      struct za_spec *s = NULL;
      struct za_err *err = NULL;
      bool validates;
      int r;
      if (!parses[i])
        continue;
      validates = validates_col[i];
      assert_true (asprintf (&path, "%s/%s", dir, name) > 0);
      if (za_spec_load_file (path, &s, &err) != 0)
        {
          dump_errors (err);
          fail_msg ("%s does not parse", name);
        }
      r = za_spec_validate (s, &err);
      if (validates && r != 0)
        {
          print_error ("%s should validate:\n", name);
          dump_errors (err);
        }
      assert_int_equal (r, validates ? 0 : -1);
      if (validates)
        {
          assert_null (err);
          valid++;
        }
      else
        {
          /* full-service fails for exactly one reason */
          assert_string_equal (name, "examples__full-service.yaml");
          assert_int_equal (za_err_count (err), 1);
          assert_string_equal (err->path, "services.cleanup.schedule");
          assert_string_equal (err->msg, "rtype: cron requires a schedule field");
          assert_string_equal (err->file, path);
          assert_int_equal (err->line, 137);
          assert_int_equal (err->col, 12);
        }
      n++;
      za_err_free (&err);
      za_spec_free (s);
      free (path);
    }
  free (dir);
  assert_int_equal (n, 13);
  assert_int_equal (valid, 12);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_teardown (fn, teardown)
    T (test_validate_minimal_ok),
    T (test_validate_version),
    T (test_validate_deployment_name),
    T (test_validate_cpu),
    T (test_validate_memory),
    T (test_validate_endpoints),
    T (test_validate_endpoint_tunnel_ttl),
    T (test_validate_scale),
    T (test_validate_replica_groups),
    T (test_validate_depends),
    T (test_validate_schedule),
    T (test_validate_tunnels),
    T (test_validate_externals),
    T (test_validate_wasm),
    T (test_validate_capabilities),
    T (test_validate_storage_paths),
    T (test_validate_volume_name_rules),
    T (test_validate_ulimits),
    T (test_validate_secret_refs),
    T (test_validate_gpu_vendor),
    T (test_validate_devices_and_workdir),
    T (test_validate_collects_everything),
    T (test_validate_examples_per_index),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
