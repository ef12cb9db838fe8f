/* Unit tests for bundle/build.c: spec (+ image config, options, fake host)
   -> OCI config tree.  Every test parses an inline YAML spec with
   za_spec_parse, calls za_build_config directly and inspects the jansson
   tree.  Host probing always goes through a fake host root in a mkdtemp
   directory (never the real cgroup layout), and every temp dir is removed
   in the teardown.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "bundle/build.h"
#include "bundle/pipeline.h"
#include "oci/image_config.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#include "testutil.h"

#define HEAD SPEC_PRE_APP

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- fixture ------------------------------------------------------- */

struct fx
{
  char dir[64];   /* mkdtemp root */
  char host[128]; /* DIR/host: the fake host root (no cgroup.controllers: v1) */
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  if (!f
      || make_tmpdir_sub (f->dir, sizeof f->dir, "/tmp/za-build-XXXXXX", f->host, sizeof f->host, "host") < 0)
    {
      free (f);
      return -1;
    }
  unsetenv ("ZLAYER_CGROUP_PARENT");
  unsetenv ("ZLAYER_DATA_DIR");
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  if (!f)
    return 0;
  unsetenv ("ZLAYER_CGROUP_PARENT");
  unsetenv ("ZLAYER_DATA_DIR");
  return fixture_free (f, f->dir);
}

static struct za_build_opts
opts (struct fx *f)
{
  struct za_build_opts o = { 0 };
  o.replica = 1;
  o.rootless = 0;
  o.host.root = f->host;
  return o;
}

/* ---- build helpers --------------------------------------------------- */

struct run
{
  struct za_spec *spec;
  struct za_build_result r;
  struct za_err *err;
  int ret;
};

static void
run_build (struct run *x, const char *yaml, const struct za_build_opts *o)
{
  const struct za_service *svc;
  memset (x, 0, sizeof *x);
  x->spec = spec_parse_ok_at ("test.yaml", yaml, 0);
  assert_true (x->spec->d.services.n >= 1);
  svc = x->spec->d.services.v[0].val;
  x->ret = za_build_config (x->spec, svc, o, &x->r, &x->err);
}

static void
run_clear (struct run *x)
{
  za_build_result_clear (&x->r);
  za_err_free (&x->err);
  za_spec_free (x->spec);
  x->spec = NULL;
}

static json_t *
build_ok (struct run *x, const char *yaml, const struct za_build_opts *o)
{
  run_build (x, yaml, o);
  if (x->ret != 0)
    {
      cleanup_free char *m = za_err_format (x->err);
      fail_msg ("build failed: %s", m ? m : "?");
    }
  assert_null (x->err);
  assert_non_null (x->r.config);
  assert_true (json_is_object (x->r.config));
  return x->r.config;
}

/* The build must fail with an input error whose message contains NEEDLE,
   and produce no config.  */
static void
build_fail (struct run *x, const char *yaml, const struct za_build_opts *o, const char *needle)
{
  const struct za_err *e;
  run_build (x, yaml, o);
  assert_int_equal (x->ret, -1);
  assert_null (x->r.config);
  assert_null (x->r.container_id);
  assert_null (x->r.resolv_conf);
  assert_null (x->r.rootfs_real);
  assert_non_null (x->err);
  e = require_chain_has (NULL, x->err, "error", needle);
  assert_int_equal (e->code, ZA_EINPUT);
  assert_true (za_err_is_input (x->err));
}

static void
assert_warning (const struct run *x, const char *needle)
{
  require_chain_has (NULL, x->r.warnings, "warning", needle);
}

/* ---- JSON helpers ---------------------------------------------------- */

static json_t *
jreq (json_t *root, const char *path)
{
  json_t *v = jp (root, path);
  if (!v)
    fail_msg ("missing `%s`", path);
  return v;
}

static const char *
jstr (json_t *root, const char *path)
{
  json_t *v = jreq (root, path);
  if (!json_is_string (v))
    fail_msg ("`%s` is not a string", path);
  return json_string_value (v);
}

static json_int_t
jint (json_t *root, const char *path)
{
  json_t *v = jreq (root, path);
  if (!json_is_integer (v))
    fail_msg ("`%s` is not an integer", path);
  return json_integer_value (v);
}

static bool
jbool (json_t *root, const char *path)
{
  json_t *v = jreq (root, path);
  if (!json_is_boolean (v))
    fail_msg ("`%s` is not a boolean", path);
  return json_is_true (v);
}

/* Object keys in exactly this order (NULL-terminated).  */
static void
assert_keys_v (json_t *obj, const char *what, const char *const *keys)
{
  size_t i = 0;
  void *it;
  if (!json_is_object (obj))
    fail_msg ("%s is not an object", what);
  for (it = json_object_iter (obj); it; it = json_object_iter_next (obj, it), i++)
    {
      const char *k = json_object_iter_key (it);
      if (!keys[i])
        fail_msg ("%s: unexpected extra key `%s` at %zu", what, k, i);
      if (strcmp (k, keys[i]) != 0)
        fail_msg ("%s: key %zu is `%s`, expected `%s`", what, i, k, keys[i]);
    }
  if (keys[i])
    fail_msg ("%s: missing key `%s` at %zu", what, keys[i], i);
}
#define assert_keys(obj, ...)                                                                      \
  assert_keys_v ((obj), #obj, (const char *const[]) { __VA_ARGS__, NULL })

/* Array of exactly these strings.  */
static void
assert_strs_v (json_t *arr, const char *what, const char *const *v)
{
  size_t n = 0;
  if (!json_is_array (arr))
    fail_msg ("%s is not an array", what);
  while (v[n])
    n++;
  if (json_array_size (arr) != n)
    {
      cleanup_free char *s = json_dumps (arr, JSON_COMPACT);
      fail_msg ("%s has %zu elements, expected %zu: %s", what, json_array_size (arr), n, s ? s : "?");
    }
  for (size_t i = 0; i < n; i++)
    {
      json_t *e = json_array_get (arr, i);
      if (!json_is_string (e) || strcmp (json_string_value (e), v[i]) != 0)
        {
          cleanup_free char *s = json_dumps (arr, JSON_COMPACT);
          fail_msg ("%s[%zu] != `%s`: %s", what, i, v[i], s ? s : "?");
        }
    }
}
#define assert_strs(arr, ...) assert_strs_v ((arr), #arr, (const char *const[]) { __VA_ARGS__, NULL })
#define assert_empty_array(arr)                                                                    \
  do                                                                                               \
    {                                                                                              \
      json_t *a_ = (arr);                                                                          \
      assert_true (json_is_array (a_));                                                            \
      assert_int_equal (json_array_size (a_), 0);                                                  \
    }                                                                                              \
  while (0)

/* Compare a JSON value with compact JSON text (keys in order).  */
static void
assert_json (json_t *v, const char *expected)
{
  cleanup_free char *s = NULL;
  assert_non_null (v);
  s = json_dumps (v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
  assert_non_null (s);
  if (strcmp (s, expected) != 0)
    fail_msg ("JSON mismatch\n got: %s\nwant: %s", s, expected);
}

static void
assert_mount (json_t *m, const char *dst, const char *type, const char *src, const char *opts_json)
{
  char want[1024];
  snprintf (want, sizeof want, "{\"destination\":\"%s\",\"type\":\"%s\",\"source\":\"%s\",\"options\":%s}", dst,
            type, src, opts_json);
  assert_json (m, want);
}

static json_t *
find_mount (json_t *cfg, const char *dst)
{
  json_t *mounts = jreq (cfg, "mounts"), *m;
  size_t i;
  json_array_foreach (mounts, i, m)
    if (strcmp (jstr (m, "destination"), dst) == 0)
      return m;
  return NULL;
}

static bool
has_namespace (json_t *cfg, const char *type)
{
  json_t *ns = jreq (cfg, "linux.namespaces"), *e;
  size_t i;
  json_array_foreach (ns, i, e)
    if (strcmp (jstr (e, "type"), type) == 0)
      return true;
  return false;
}

static bool
has_option (json_t *mount, const char *opt)
{
  json_t *o = jreq (mount, "options"), *e;
  size_t i;
  json_array_foreach (o, i, e)
    if (strcmp (json_string_value (e), opt) == 0)
      return true;
  return false;
}

static struct za_image_config *
image (const char *json)
{
  struct za_image_config *ic = NULL;
  struct za_err *err = NULL;
  if (za_image_config_parse ("image.json", json, strlen (json), &ic, &err) < 0)
    fail_msg ("image config: %s", err ? err->msg : "?");
  return ic;
}

/* The std cgroup rules for a non-privileged container, as compact JSON.  */
#define STD_RULES                                                                                  \
  "{\"allow\":false,\"access\":\"rwm\"},"                                                          \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":7,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":8,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":9,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":0,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":1,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":2,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":136,\"access\":\"rwm\"}"

/* ---- key order (§11.11) ------------------------------------------------ */

static void
test_top_level_defaults (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD, &o);

  assert_keys (c, "ociVersion", "root", "mounts", "process", "hostname", "annotations", "linux");
  assert_string_equal (jstr (c, "ociVersion"), "1.0.2");
  assert_json (jreq (c, "root"), "{\"path\":\"rootfs\",\"readonly\":false}");
  assert_string_equal (jstr (c, "hostname"), "web-rep-1");
  assert_json (jreq (c, "annotations"), "{}");
  assert_string_equal (x.r.container_id, "web-rep-1");
  assert_null (x.r.resolv_conf);
  assert_null (x.r.rootfs_real);
  assert_null (x.r.warnings);

  /* The whole default process, as the reference prints it for mock_spec().  */
  assert_json (jreq (c, "process.user"), "{\"uid\":0,\"gid\":0}");
  assert_strs (jreq (c, "process.args"), "/bin/sh");
  assert_strs (jreq (c, "process.env"), DEFAULT_PATH, "TERM=xterm");
  assert_string_equal (jstr (c, "process.cwd"), "/");
  assert_false (jbool (c, "process.terminal"));
  assert_true (jbool (c, "process.noNewPrivileges"));
  assert_json (jreq (c, "process.rlimits"), "[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}]");
  run_clear (&x);
}

static void
test_read_only_root (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD "    read_only_root_fs: true\n", &o);
  assert_json (jreq (c, "root"), "{\"path\":\"rootfs\",\"readonly\":true}");
  run_clear (&x);
}

static void
test_process_key_order (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD, &o);
  json_t *p = jreq (c, "process");
  assert_keys (p, "terminal", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges");
  assert_keys (jreq (p, "user"), "uid", "gid");
  assert_keys (jreq (p, "capabilities"), "bounding", "effective", "inheritable", "permitted", "ambient");
  assert_keys (jreq (p, "rlimits.0"), "type", "hard", "soft");
  assert_keys (jreq (c, "mounts.0"), "destination", "type", "source", "options");
  run_clear (&x);

  /* oci-spec's Process puts oomScoreAdj after noNewPrivileges (and
     apparmorProfile): serde follows the struct order.  */
  c = build_ok (&x, HEAD "    resources:\n      oom_score_adj: -500\n", &o);
  p = jreq (c, "process");
  assert_keys (p, "terminal", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges",
               "oomScoreAdj");
  assert_int_equal (jint (p, "oomScoreAdj"), -500);
  run_clear (&x);
}

static void
test_linux_key_order_minimal (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD, &o);
  json_t *lx = jreq (c, "linux");
  assert_keys (lx, "resources", "cgroupsPath", "namespaces", "rootfsPropagation", "maskedPaths",
               "readonlyPaths");
  assert_keys (jreq (lx, "resources"), "devices");
  assert_keys (jreq (lx, "resources.devices.0"), "allow", "access");
  assert_keys (jreq (lx, "resources.devices.1"), "allow", "type", "major", "minor", "access");
  assert_keys (jreq (lx, "resources.devices.9"), "allow", "type", "major", "access");
  assert_keys (jreq (lx, "namespaces.0"), "type");
  assert_string_equal (jstr (lx, "rootfsPropagation"), "private");
  run_clear (&x);
}

static void
test_linux_key_order_full (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  char dev[PATH_MAX];
  json_t *c, *lx;

  snprintf (dev, sizeof dev, "%s/dev", f->host);
  assert_int_equal (za_mkdir_p (dev, 0755, NULL), 0);
  snprintf (dev, sizeof dev, "%s/dev/null0", f->host);
  if (mknod (dev, S_IFCHR | 0600, makedev (1, 3)) < 0)
    skip ();
  o.rootless = 1;
  c = build_ok (&x,
                HEAD "    sysctls:\n      net.core.somaxconn: \"1024\"\n"
                     "    devices:\n      - path: /dev/null0\n"
                     "    resources:\n"
                     "      cpu: 1.5\n      cpu_shares: 512\n      cpuset: \"0-1\"\n"
                     "      memory: 1Gi\n      memory_reservation: 512Mi\n      memory_swap: 2Gi\n"
                     "      memory_swappiness: 10\n      oom_kill_disable: true\n"
                     "      pids_limit: 100\n      blkio_weight: 300\n",
                &o);
  lx = jreq (c, "linux");
  /* oci-spec's Linux: uidMappings, gidMappings, sysctl, resources,
     cgroupsPath, namespaces, devices, (seccomp), rootfsPropagation,
     maskedPaths, readonlyPaths.  */
  assert_keys (lx, "uidMappings", "gidMappings", "sysctl", "resources", "cgroupsPath", "namespaces", "devices",
               "rootfsPropagation", "maskedPaths", "readonlyPaths");
  assert_keys (jreq (lx, "uidMappings.0"), "hostID", "containerID", "size");
  assert_keys (jreq (lx, "resources"), "devices", "memory", "cpu", "pids", "blockIO");
  assert_keys (jreq (lx, "resources.memory"), "limit", "reservation", "swap", "swappiness", "disableOOMKiller");
  /* LinuxCpu: shares, quota, period, realtime…, cpus, mems.  */
  assert_keys (jreq (lx, "resources.cpu"), "shares", "quota", "period", "cpus");
  assert_keys (jreq (lx, "devices.0"), "path", "type", "major", "minor", "fileMode", "uid", "gid");
  assert_json (jreq (lx, "resources.memory"),
               "{\"limit\":1073741824,\"reservation\":536870912,\"swap\":2147483648,\"swappiness\":10,"
               "\"disableOOMKiller\":true}");
  assert_json (jreq (lx, "resources.cpu"), "{\"shares\":512,\"quota\":150000,\"period\":100000,\"cpus\":\"0-1\"}");
  assert_json (jreq (lx, "resources.pids"), "{\"limit\":100}");
  assert_json (jreq (lx, "resources.blockIO"), "{\"weight\":300}");
  assert_json (jreq (lx, "sysctl"), "{\"net.core.somaxconn\":\"1024\"}");
  run_clear (&x);
}

/* ---- hostname / id --------------------------------------------------- */

static void
test_hostname (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  o.replica = 3;
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "hostname"), "web-rep-3");
  assert_string_equal (x.r.container_id, "web-rep-3");
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/zlayer/web-rep-3");
  run_clear (&x);

  o.replica = 0; /* means 1 */
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "hostname"), "web-rep-1");
  assert_string_equal (x.r.container_id, "web-rep-1");
  run_clear (&x);

  /* spec hostname, then the option over it; the id is unchanged.  */
  o.replica = 2;
  c = build_ok (&x, HEAD "    hostname: frontend\n", &o);
  assert_string_equal (jstr (c, "hostname"), "frontend");
  assert_string_equal (x.r.container_id, "web-rep-2");
  run_clear (&x);
  o.hostname = "override";
  c = build_ok (&x, HEAD "    hostname: frontend\n", &o);
  assert_string_equal (jstr (c, "hostname"), "override");
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/zlayer/web-rep-2");
  run_clear (&x);
}

static void
test_container_id (void **state)
{
  (void) state;
  cleanup_free char *a = za_container_id ("svc", 1);
  cleanup_free char *b = za_container_id ("svc", 0);
  cleanup_free char *c = za_container_id ("my-api", 42);
  assert_string_equal (a, "svc-rep-1");
  assert_string_equal (b, "svc-rep-1");
  assert_string_equal (c, "my-api-rep-42");
}

/* ---- args (§11.4) ------------------------------------------------------ */

static void
args_case (struct fx *f, const char *extra, const char *img, const char *const *want)
{
  struct za_build_opts o = opts (f);
  struct run x;
  char yaml[2048];
  struct za_image_config *ic = img ? image (img) : NULL;
  json_t *c;
  o.image = ic;
  snprintf (yaml, sizeof yaml, "%s%s", HEAD, extra);
  c = build_ok (&x, yaml, &o);
  assert_strs_v (jreq (c, "process.args"), extra, want);
  run_clear (&x);
  za_image_config_free (ic);
}
#define ARGS(f, extra, img, ...) args_case ((f), (extra), (img), (const char *const[]) { __VA_ARGS__, NULL })

static void
test_args_rules (void **state)
{
  struct fx *f = *state;
  const char *img = "{\"config\":{\"Entrypoint\":[\"/docker-entrypoint.sh\"],\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"]}}";

  /* entrypoint + args */
  ARGS (f, "    command:\n      entrypoint: [/bin/app]\n      args: [--port, \"80\"]\n", img, "/bin/app", "--port",
        "80");
  /* only entrypoint: the image CMD is not appended */
  ARGS (f, "    command:\n      entrypoint: [/bin/app, -v]\n", img, "/bin/app", "-v");
  /* only args: the whole image command is replaced (seed semantics) */
  ARGS (f, "    command:\n      args: [echo, hi]\n", img, "echo", "hi");
  /* empty args, no entrypoint: the image's full command */
  ARGS (f, "    command:\n      args: []\n", img, "/docker-entrypoint.sh", "nginx", "-g", "daemon off;");
  /* no command: image full_command (entrypoint + cmd) */
  ARGS (f, "", img, "/docker-entrypoint.sh", "nginx", "-g", "daemon off;");
  /* image with only Cmd / only Entrypoint */
  ARGS (f, "", "{\"config\":{\"Cmd\":[\"redis-server\"]}}", "redis-server");
  ARGS (f, "", "{\"Entrypoint\":[\"/init\"]}", "/init");
  /* workdir only: command still from the image */
  ARGS (f, "    command:\n      workdir: /srv\n", img, "/docker-entrypoint.sh", "nginx", "-g", "daemon off;");
  /* no image command at all, or an empty one: /bin/sh */
  ARGS (f, "", NULL, "/bin/sh");
  ARGS (f, "", "{\"config\":{\"Cmd\":[]}}", "/bin/sh");
  ARGS (f, "", "{\"config\":{\"Env\":[\"A=1\"]}}", "/bin/sh");
  /* empty entrypoint with args: just the args */
  ARGS (f, "    command:\n      entrypoint: []\n      args: [run]\n", img, "run");
}

static void
test_args_option_override (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  const char *const a[] = { "/usr/bin/env", "FOO=1", "sh" };
  json_t *c;

  o.args = a;
  o.nargs = 3;
  o.args_set = true;
  c = build_ok (&x, HEAD "    command:\n      entrypoint: [/bin/app]\n      args: [x]\n", &o);
  assert_strs (jreq (c, "process.args"), "/usr/bin/env", "FOO=1", "sh");
  run_clear (&x);

  /* args not marked as set are ignored */
  o.args_set = false;
  c = build_ok (&x, HEAD "    command:\n      entrypoint: [/bin/app]\n", &o);
  assert_strs (jreq (c, "process.args"), "/bin/app");
  run_clear (&x);

  /* an explicitly empty argument list cannot run anything */
  o.args_set = true;
  o.nargs = 0;
  build_fail (&x, HEAD, &o, "the container command is empty");
  run_clear (&x);
}

static void
test_args_empty_entrypoint (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  build_fail (&x, HEAD "    command:\n      entrypoint: []\n", &o, "the container command is empty");
  assert_non_null (x.err->path);
  assert_string_equal (x.err->path, "services.web.command");
  assert_true (x.err->line > 0);
  run_clear (&x);

  /* an empty args list does not help */
  build_fail (&x, HEAD "    command:\n      entrypoint: []\n      args: []\n", &o, "the container command is empty");
  run_clear (&x);
}

/* ---- cwd --------------------------------------------------------------- */

static void
cwd_case (struct fx *f, const char *extra, const char *img, const char *opt_cwd, const char *want)
{
  struct za_build_opts o = opts (f);
  struct run x;
  char yaml[1024];
  struct za_image_config *ic = img ? image (img) : NULL;
  json_t *c;
  o.image = ic;
  o.cwd = opt_cwd;
  snprintf (yaml, sizeof yaml, "%s%s", HEAD, extra);
  c = build_ok (&x, yaml, &o);
  assert_string_equal (jstr (c, "process.cwd"), want);
  run_clear (&x);
  za_image_config_free (ic);
}

static void
test_cwd_rules (void **state)
{
  struct fx *f = *state;
  const char *img = "{\"config\":{\"WorkingDir\":\"/app\"}}";
  const char *wd = "    command:\n      workdir: /srv/www\n";
  struct za_build_opts o = opts (f);
  struct run x;
  struct za_image_config *ic;

  cwd_case (f, "", NULL, NULL, "/");
  cwd_case (f, "", img, NULL, "/app");
  cwd_case (f, "", "{\"config\":{\"WorkingDir\":\"\"}}", NULL, "/");
  cwd_case (f, wd, img, NULL, "/srv/www");
  cwd_case (f, wd, img, "/opt", "/opt");
  cwd_case (f, "", img, "/opt", "/opt");

  /* a relative --cwd, or a relative image WorkingDir, is refused */
  o.cwd = "rel/dir";
  build_fail (&x, HEAD, &o, "--cwd `rel/dir` must be an absolute path");
  run_clear (&x);
  o.cwd = NULL;
  ic = image ("{\"config\":{\"WorkingDir\":\"app\"}}");
  o.image = ic;
  build_fail (&x, HEAD, &o, "working directory `app`");
  run_clear (&x);
  za_image_config_free (ic);
}

/* ---- env ----------------------------------------------------------------- */

static void
test_env_order (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  struct za_image_config *ic = image ("{\"config\":{\"Env\":[\"A=1\",\"PATH=/x\",\"B=2\",\"DUP=1\",\"DUP=2\"]}}");
  const char *const cli[] = { "C=9", "D=1", "A=last" };
  json_t *c;

  o.image = ic;
  /* No spec env, no options: image env verbatim (duplicates kept), then
     TERM only (PATH is there).  */
  c = build_ok (&x, HEAD, &o);
  assert_strs (jreq (c, "process.env"), "A=1", "PATH=/x", "B=2", "DUP=1", "DUP=2", "TERM=xterm");
  run_clear (&x);

  /* spec env in document order, each replacing (remove + append); then
     the options, replacing too.  Build twice: the order is stable.  */
  o.env = cli;
  o.nenv = 3;
  for (int round = 0; round < 2; round++)
    {
      c = build_ok (&x,
                    HEAD "    env:\n      Z_FIRST: z\n      B: \"3\"\n      C: \"4\"\n      A: \"5\"\n"
                         "      DUP: x\n      TERM: dumb\n",
                    &o);
      assert_strs (jreq (c, "process.env"), "PATH=/x", "Z_FIRST=z", "B=3", "DUP=x", "TERM=dumb", "C=9", "D=1",
                   "A=last");
      run_clear (&x);
    }
  za_image_config_free (ic);

  /* No image: PATH and TERM defaults come first, spec env after.  */
  o.image = NULL;
  o.nenv = 0;
  c = build_ok (&x, HEAD "    env:\n      ZZ: \"1\"\n      AA: \"2\"\n      PORT: 8080\n", &o);
  assert_strs (jreq (c, "process.env"), DEFAULT_PATH, "TERM=xterm", "ZZ=1", "AA=2", "PORT=8080");
  run_clear (&x);
}

static void
test_env_host_refs (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  setenv ("ZA_TEST_HOST_VALUE", "from-host", 1);
  setenv ("ZA_TEST_EMPTY", "", 1);
  unsetenv ("ZA_TEST_UNSET");
  c = build_ok (&x, HEAD "    env:\n      V: $E:ZA_TEST_HOST_VALUE\n      E: $E:ZA_TEST_EMPTY\n      L: x$E:Y\n", &o);
  assert_strs (jreq (c, "process.env"), DEFAULT_PATH, "TERM=xterm", "V=from-host", "E=", "L=x$E:Y");
  assert_warning (&x, "environment variable 'ZA_TEST_EMPTY' is set but empty");
  run_clear (&x);

  build_fail (&x, HEAD "    env:\n      V: $E:ZA_TEST_UNSET\n", &o,
              "environment variable 'ZA_TEST_UNSET' referenced by $E:ZA_TEST_UNSET is not set");
  run_clear (&x);
  unsetenv ("ZA_TEST_HOST_VALUE");
  unsetenv ("ZA_TEST_EMPTY");
}

static void
test_env_option_invalid (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  const char *const bad1[] = { "NOEQUALS" };
  const char *const bad2[] = { "=value" };
  const char *const utf[] = { "BAD=\xff\xfe" };
  o.env = bad1;
  o.nenv = 1;
  build_fail (&x, HEAD, &o, "--env `NOEQUALS`: expected KEY=VALUE");
  run_clear (&x);
  o.env = bad2;
  build_fail (&x, HEAD, &o, "expected KEY=VALUE");
  run_clear (&x);
  o.env = utf;
  build_fail (&x, HEAD, &o, "environment variable BAD: value is not valid UTF-8");
  run_clear (&x);
}

static void
test_env_secrets (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  char sdir[PATH_MAX];
  const char *yaml = HEAD "    env:\n      PASS: $S:db_pass\n      TOKEN: $S:@web/token\n      USER: $S:creds/user\n";
  json_t *c;

  snprintf (sdir, sizeof sdir, "%s/secrets", f->dir);
  write_in (sdir, "demo-app/db_pass", "s3cret");
  write_in (sdir, "demo-app/web/token", "tok-123");
  write_in (sdir, "demo-app/creds", "{\"user\":\"admin\",\"n\":5}");

  /* no secrets store: error, naming the variable, never a literal $S: */
  build_fail (&x, yaml, &o, "no secrets store is configured");
  run_clear (&x);

  o.secrets_dir = sdir;
  c = build_ok (&x, yaml, &o);
  assert_strs (jreq (c, "process.env"), DEFAULT_PATH, "TERM=xterm", "PASS=s3cret", "TOKEN=tok-123", "USER=admin");
  run_clear (&x);

  /* explicit scope */
  write_in (sdir, "other/db_pass", "other-pass");
  o.scope = "other";
  c = build_ok (&x, HEAD "    env:\n      PASS: $S:db_pass\n", &o);
  assert_strs (jreq (c, "process.env"), DEFAULT_PATH, "TERM=xterm", "PASS=other-pass");
  run_clear (&x);

  /* missing secret, bad scope */
  build_fail (&x, HEAD "    env:\n      P: $S:nope\n", &o, "secret 'nope' referenced by $S:nope was not found");
  run_clear (&x);
  o.scope = "../etc";
  build_fail (&x, HEAD "    env:\n      PASS: $S:db_pass\n", &o, "invalid secrets scope");
  run_clear (&x);
}

/* ---- user ---------------------------------------------------------------- */

static void
test_user_resolution (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  char rootfs[PATH_MAX];
  struct za_image_config *ic;
  json_t *c;

  snprintf (rootfs, sizeof rootfs, "%s/rootfs", f->dir);
  write_in (rootfs, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnginx:x:101:102:nginx:/var/cache/nginx:/sbin/nologin\n");
  write_in (rootfs, "etc/group", "root:x:0:\nwww:x:33:\nnginx:x:102:\n");
  o.rootfs = rootfs;

  ic = image ("{\"config\":{\"User\":\"nginx\"}}");
  o.image = ic;
  c = build_ok (&x, HEAD, &o);
  assert_json (jreq (c, "process.user"), "{\"uid\":101,\"gid\":102}");
  run_clear (&x);
  za_image_config_free (ic);

  ic = image ("{\"config\":{\"User\":\"nginx:www\"}}");
  o.image = ic;
  c = build_ok (&x, HEAD, &o);
  assert_json (jreq (c, "process.user"), "{\"uid\":101,\"gid\":33}");
  run_clear (&x);
  za_image_config_free (ic);

  ic = image ("{\"config\":{\"User\":\"1000:www\"}}");
  o.image = ic;
  c = build_ok (&x, HEAD, &o);
  assert_json (jreq (c, "process.user"), "{\"uid\":1000,\"gid\":33}");
  run_clear (&x);

  /* spec user wins over the image's */
  c = build_ok (&x, HEAD "    user: nginx\n", &o);
  assert_json (jreq (c, "process.user"), "{\"uid\":101,\"gid\":102}");
  run_clear (&x);
  za_image_config_free (ic);

  /* numeric without passwd entry: gid = uid */
  ic = image ("{\"config\":{\"User\":\"4242\"}}");
  o.image = ic;
  c = build_ok (&x, HEAD, &o);
  assert_json (jreq (c, "process.user"), "{\"uid\":4242,\"gid\":4242}");
  run_clear (&x);
  za_image_config_free (ic);

  /* unknown name: an error, never uid 0 */
  ic = image ("{\"config\":{\"User\":\"ghost\"}}");
  o.image = ic;
  build_fail (&x, HEAD, &o, "ghost");
  run_clear (&x);
  za_image_config_free (ic);

  /* a user name and no rootfs to look it up in: an error */
  ic = image ("{\"config\":{\"User\":\"nginx\"}}");
  o.image = ic;
  o.rootfs = NULL;
  build_fail (&x, HEAD, &o, "nginx");
  run_clear (&x);
  /* spec user that is unknown is reported at the spec */
  o.rootfs = rootfs;
  build_fail (&x, HEAD "    user: nobody-here\n", &o, "nobody-here");
  assert_non_null (x.err->path);
  assert_string_equal (x.err->path, "services.web.user");
  run_clear (&x);
  za_image_config_free (ic);
}

/* ---- rootfs ------------------------------------------------------------ */

static void
test_rootfs_realpath (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  char real[PATH_MAX], link[PATH_MAX], missing[PATH_MAX];
  cleanup_free char *want = NULL;
  json_t *c;

  snprintf (real, sizeof real, "%s/real-rootfs", f->dir);
  snprintf (link, sizeof link, "%s/rootfs-link", f->dir);
  assert_int_equal (mkdir (real, 0755), 0);
  assert_int_equal (symlink (real, link), 0);
  want = realpath (real, NULL);
  assert_non_null (want);

  o.rootfs = link;
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "root.path"), want);
  assert_string_not_equal (jstr (c, "root.path"), link);
  assert_non_null (x.r.rootfs_real);
  assert_string_equal (x.r.rootfs_real, want);
  run_clear (&x);

  snprintf (missing, sizeof missing, "%s/no-such-rootfs", f->dir);
  o.rootfs = missing;
  build_fail (&x, HEAD, &o, "--rootfs");
  run_clear (&x);
}

/* ---- capabilities -------------------------------------------------------- */

#define DEFAULT_CAPS                                                                               \
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",       \
      "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD",           \
      "CAP_AUDIT_WRITE", "CAP_SETFCAP"

static void
assert_caps3 (json_t *c, const char *const *want)
{
  assert_strs_v (jreq (c, "process.capabilities.bounding"), "bounding", want);
  assert_strs_v (jreq (c, "process.capabilities.effective"), "effective", want);
  assert_strs_v (jreq (c, "process.capabilities.permitted"), "permitted", want);
  assert_empty_array (jreq (c, "process.capabilities.inheritable"));
  assert_empty_array (jreq (c, "process.capabilities.ambient"));
}
#define ASSERT_CAPS(c, ...) assert_caps3 ((c), (const char *const[]) { __VA_ARGS__, NULL })

static void
test_caps_default (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD, &o);
  ASSERT_CAPS (c, DEFAULT_CAPS);
  assert_true (jbool (c, "process.noNewPrivileges"));
  run_clear (&x);
}

static void
test_caps_user_list (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  /* The seed dropped every user capability (and the defaults with them).  */
  c = build_ok (&x, HEAD "    capabilities: [net_admin, CAP_SYS_TIME]\n", &o);
  ASSERT_CAPS (c, "CAP_NET_ADMIN", "CAP_SYS_TIME");
  assert_false (jbool (c, "process.noNewPrivileges"));
  run_clear (&x);

  /* the cap_add alias, mixed spellings, duplicates */
  c = build_ok (&x, HEAD "    cap_add: [Sys_Admin, cap_cap_net_raw, NET_RAW]\n", &o);
  ASSERT_CAPS (c, "CAP_NET_RAW", "CAP_SYS_ADMIN");
  run_clear (&x);
}

static void
test_caps_unknown (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  build_fail (&x, HEAD "    capabilities: [NET_ADMIN, NET_FOO]\n", &o, "unknown capability `NET_FOO`");
  assert_string_equal (x.err->path, "services.web.capabilities[1]");
  assert_string_equal (x.err->file, "test.yaml");
  assert_int_equal (x.err->line, 7);
  run_clear (&x);

  build_fail (&x, HEAD "    cap_drop: [CHOWN, BOGUS]\n", &o, "unknown capability `BOGUS`");
  assert_string_equal (x.err->path, "services.web.cap_drop[1]");
  run_clear (&x);
}

static void
test_caps_drop (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  c = build_ok (&x, HEAD "    cap_drop: [chown, CAP_KILL, NET_ADMIN]\n", &o);
  ASSERT_CAPS (c, "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
               "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
               "CAP_SETFCAP");
  assert_true (jbool (c, "process.noNewPrivileges"));
  run_clear (&x);

  c = build_ok (&x, HEAD "    capabilities: [NET_ADMIN, SYS_TIME]\n    cap_drop: [sys_time]\n", &o);
  ASSERT_CAPS (c, "CAP_NET_ADMIN");
  run_clear (&x);

  c = build_ok (&x, HEAD "    cap_drop: [ALL]\n", &o);
  assert_empty_array (jreq (c, "process.capabilities.bounding"));
  assert_empty_array (jreq (c, "process.capabilities.effective"));
  assert_empty_array (jreq (c, "process.capabilities.permitted"));
  run_clear (&x);

  c = build_ok (&x, HEAD "    capabilities: [all]\n    cap_drop: [SYS_ADMIN]\n", &o);
  assert_int_equal (json_array_size (jreq (c, "process.capabilities.bounding")), 40);
  assert_int_equal (json_array_size (jreq (c, "process.capabilities.permitted")), 40);
  {
    json_t *e;
    size_t i;
    json_array_foreach (jreq (c, "process.capabilities.effective"), i, e)
      assert_string_not_equal (json_string_value (e), "CAP_SYS_ADMIN");
  }
  run_clear (&x);
}

static void
test_caps_privileged (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD "    privileged: true\n", &o);
  static const char *const all[]
      = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
          "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
          "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
          "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
          "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
          "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
          "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
          "CAP_CHECKPOINT_RESTORE", NULL };
  assert_caps3 (c, all);
  assert_int_equal (json_array_size (jreq (c, "process.capabilities.bounding")), 41);
  assert_false (jbool (c, "process.noNewPrivileges"));
  run_clear (&x);
}

/* ---- rlimits --------------------------------------------------------------- */

static void
test_rlimits (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  c = build_ok (&x,
                HEAD "    ulimits:\n      nofile:\n        soft: 100\n        hard: 200\n"
                     "      NPROC:\n        soft: 50\n      core:\n        hard: 7\n"
                     "      memlock:\n        soft: -1\n        hard: -1\n",
                &o);
  assert_json (jreq (c, "process.rlimits"),
               "[{\"type\":\"RLIMIT_NOFILE\",\"hard\":200,\"soft\":100},"
               "{\"type\":\"RLIMIT_NPROC\",\"hard\":50,\"soft\":50},"
               "{\"type\":\"RLIMIT_CORE\",\"hard\":7,\"soft\":7},"
               "{\"type\":\"RLIMIT_MEMLOCK\",\"hard\":0,\"soft\":0}]");
  run_clear (&x);
}

static void
test_rlimits_unknown (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  /* Never silently dropped, even when the caller skipped validation.  */
  build_fail (&x, HEAD "    ulimits:\n      nofile:\n        soft: 1\n      bogus:\n        soft: 1\n", &o,
              "unknown ulimit name `bogus`");
  assert_string_equal (x.err->path, "services.web.ulimits.bogus");
  run_clear (&x);
}

/* ---- mounts ------------------------------------------------------------------ */

static void
assert_default_mounts (json_t *c, bool privileged)
{
  json_t *m = jreq (c, "mounts");
  assert_true (json_array_size (m) >= 7);
  assert_mount (json_array_get (m, 0), "/proc", "proc", "proc", "[\"nosuid\",\"noexec\",\"nodev\"]");
  assert_mount (json_array_get (m, 1), "/dev", "tmpfs", "tmpfs",
                "[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]");
  assert_mount (json_array_get (m, 2), "/dev/pts", "devpts", "devpts",
                "[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]");
  assert_mount (json_array_get (m, 3), "/dev/shm", "tmpfs", "shm",
                "[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]");
  assert_mount (json_array_get (m, 4), "/dev/mqueue", "mqueue", "mqueue", "[\"nosuid\",\"noexec\",\"nodev\"]");
  if (privileged)
    {
      assert_mount (json_array_get (m, 5), "/sys", "sysfs", "sysfs", "[\"nosuid\",\"noexec\",\"nodev\"]");
      assert_mount (json_array_get (m, 6), "/sys/fs/cgroup", "cgroup2", "cgroup",
                    "[\"nosuid\",\"noexec\",\"nodev\",\"relatime\"]");
    }
  else
    {
      assert_mount (json_array_get (m, 5), "/sys", "sysfs", "sysfs", "[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]");
      assert_mount (json_array_get (m, 6), "/sys/fs/cgroup", "cgroup2", "cgroup",
                    "[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]");
    }
}

static void
test_default_mounts (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD, &o);
  assert_int_equal (json_array_size (jreq (c, "mounts")), 7);
  assert_default_mounts (c, false);
  run_clear (&x);
}

static void
test_privileged_shape (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD "    privileged: true\n", &o);
  assert_int_equal (json_array_size (jreq (c, "mounts")), 7);
  assert_default_mounts (c, true);
  assert_false (has_option (find_mount (c, "/sys"), "ro"));
  assert_false (has_option (find_mount (c, "/sys/fs/cgroup"), "ro"));
  /* present, empty */
  assert_empty_array (jreq (c, "linux.maskedPaths"));
  assert_empty_array (jreq (c, "linux.readonlyPaths"));
  assert_json (jreq (c, "linux.resources.devices"), "[{\"allow\":true,\"access\":\"rwm\"}]");
  /* no own cgroup namespace when privileged (and not rootless) */
  assert_json (jreq (c, "linux.namespaces"),
               "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"network\"}]");
  run_clear (&x);
}

static void
test_nonprivileged_shape (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD, &o);
  assert_true (has_option (find_mount (c, "/sys"), "ro"));
  assert_true (has_option (find_mount (c, "/sys/fs/cgroup"), "ro"));
  assert_true (has_namespace (c, "cgroup"));
  assert_strs (jreq (c, "linux.maskedPaths"), "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
               "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
               "/sys/firmware");
  assert_strs (jreq (c, "linux.readonlyPaths"), "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
               "/proc/sysrq-trigger");
  assert_json (jreq (c, "linux.resources.devices"), "[" STD_RULES "]");
  assert_null (jp (c, "linux.devices"));
  run_clear (&x);
}

static const char STORAGE_YAML[] = HEAD "    storage:\n"
                                        "      - type: bind\n        source: /srv/data\n        target: /data\n"
                                        "        readonly: true\n"
                                        "      - type: bind\n        source: /srv/rw\n        target: /rw\n"
                                        "      - type: named\n        name: cache-vol\n        target: /cache\n"
                                        "      - type: named\n        name: ro-vol\n        target: /ro\n"
                                        "        readonly: true\n"
                                        "      - type: anonymous\n        target: /app/cache\n"
                                        "      - type: tmpfs\n        target: /scratch\n        size: \"64Mi\"\n"
                                        "        mode: 0o1777\n"
                                        "      - type: tmpfs\n        target: /t2\n"
                                        "      - type: s3\n        bucket: bucket\n        prefix: prefix/\n"
                                        "        target: /s3\n"
                                        "      - type: s3\n        bucket: b2\n        target: /s3b\n"
                                        "        readonly: true\n";

static void
test_storage_mounts (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  const struct za_volume vols[] = {
    { "cache-vol", "/vol/cache" }, { "ro-vol", "/vol/ro" }, { "_anon_app_cache", "/vol/anon" },
    { "_s3_bucket_prefix/", "/vol/s3" }, { "_s3_b2_", "/vol/s3b" },
  };
  json_t *c, *m;
  o.volumes = vols;
  o.nvolumes = 5;
  c = build_ok (&x, STORAGE_YAML, &o);
  m = jreq (c, "mounts");
  assert_int_equal (json_array_size (m), 7 + 9);
  assert_default_mounts (c, false);
  assert_mount (json_array_get (m, 7), "/data", "none", "/srv/data", "[\"rbind\",\"ro\"]");
  assert_mount (json_array_get (m, 8), "/rw", "none", "/srv/rw", "[\"rbind\",\"rw\"]");
  assert_mount (json_array_get (m, 9), "/cache", "none", "/vol/cache", "[\"rbind\",\"rw\"]");
  assert_mount (json_array_get (m, 10), "/ro", "none", "/vol/ro", "[\"rbind\",\"ro\"]");
  assert_mount (json_array_get (m, 11), "/app/cache", "none", "/vol/anon", "[\"rbind\",\"rw\"]");
  assert_mount (json_array_get (m, 12), "/scratch", "tmpfs", "tmpfs",
                "[\"nosuid\",\"nodev\",\"size=64Mi\",\"mode=1777\"]");
  assert_mount (json_array_get (m, 13), "/t2", "tmpfs", "tmpfs", "[\"nosuid\",\"nodev\"]");
  assert_mount (json_array_get (m, 14), "/s3", "none", "/vol/s3", "[\"rbind\",\"rw\"]");
  assert_mount (json_array_get (m, 15), "/s3b", "none", "/vol/s3b", "[\"rbind\",\"ro\"]");
  /* 0o1777 is exactly what the user meant: no warning about the mode */
  assert_false (chain_has (x.r.warnings, "read as octal"));
  assert_warning (&x, "S3 storage is NOT SQLite-safe. Use for read-heavy workloads only.");
  assert_int_equal (za_err_count (x.r.warnings), 2); /* one per s3 entry */
  run_clear (&x);
}

static void
test_storage_not_prepared (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;

  build_fail (&x, HEAD "    storage:\n      - type: named\n        name: data\n        target: /data\n", &o,
              "volume 'data' not prepared - ensure StorageManager.ensure_volume() was called");
  assert_string_equal (x.err->path, "services.web.storage[0]");
  run_clear (&x);
  build_fail (&x, HEAD "    storage:\n      - type: anonymous\n        target: /app/cache\n", &o,
              "anonymous volume for '/app/cache' not prepared");
  assert_true (chain_has (x.err, "_anon_app_cache"));
  run_clear (&x);
  build_fail (&x, HEAD "    storage:\n      - type: s3\n        bucket: bkt\n        prefix: p/\n        target: /s\n",
              &o, "S3 volume for bucket 'bkt' not mounted - ensure StorageManager.mount_s3() was called");
  assert_true (chain_has (x.err, "_s3_bkt_p/"));
  run_clear (&x);

  /* every missing volume is reported, not just the first */
  build_fail (&x,
              HEAD "    storage:\n      - type: named\n        name: one\n        target: /one\n"
                   "      - type: named\n        name: two\n        target: /two\n",
              &o, "volume 'one' not prepared");
  assert_true (chain_has (x.err, "volume 'two' not prepared"));
  run_clear (&x);

  /* a prepared path must be absolute */
  {
    const struct za_volume v[] = { { "data", "relative/path" } };
    o.volumes = v;
    o.nvolumes = 1;
    build_fail (&x, HEAD "    storage:\n      - type: named\n        name: data\n        target: /data\n", &o,
                "prepared volume path `relative/path` must be absolute");
    run_clear (&x);
  }
}

static void
test_storage_anon_collision (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  const struct za_volume vols[] = { { "_anon_a_b", "/vol/ab" } };
  o.volumes = vols;
  o.nvolumes = 1;
  build_fail (&x,
              HEAD "    storage:\n      - type: anonymous\n        target: /a/b\n"
                   "      - type: anonymous\n        target: /a_b\n",
              &o, "map to the same volume key `_anon_a_b`");
  assert_string_equal (x.err->path, "services.web.storage[1]");
  run_clear (&x);
}

static void
test_storage_bad_paths (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  build_fail (&x, HEAD "    storage:\n      - type: bind\n        source: /srv\n        target: relative\n", &o,
              "mount target `relative` must be an absolute path");
  run_clear (&x);
  build_fail (&x, HEAD "    storage:\n      - type: bind\n        source: /srv/../etc\n        target: /x\n", &o,
              "bind source `/srv/../etc`");
  run_clear (&x);
  build_fail (&x, HEAD "    storage:\n      - type: tmpfs\n        target: /t\n        size: \"1Mi,exec\"\n", &o,
              "invalid tmpfs size");
  run_clear (&x);
}

static void
test_storage_network_tier_warning (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  const struct za_volume vols[] = { { "db", "/vol/db" }, { "_anon_x", "/vol/x" } };
  o.volumes = vols;
  o.nvolumes = 2;
  build_ok (&x,
            HEAD "    storage:\n      - type: named\n        name: db\n        target: /db\n        tier: network\n"
                 "      - type: anonymous\n        target: /x\n        tier: network\n",
            &o);
  assert_warning (&x, "Network storage tier is NOT SQLite-safe. Avoid using SQLite databases on this volume.");
  assert_int_equal (za_err_count (x.r.warnings), 2);
  run_clear (&x);
}

static void
test_tmpfs_mode (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  /* `mode: 1777` is meant as octal: mode=1777 (the seed printed 3361),
     with a warning saying how it was read.  */
  c = build_ok (&x, HEAD "    storage:\n      - type: tmpfs\n        target: /tmp\n        mode: 1777\n", &o);
  assert_mount (jreq (c, "mounts.7"), "/tmp", "tmpfs", "tmpfs", "[\"nosuid\",\"nodev\",\"mode=1777\"]");
  assert_non_null (x.r.warnings);
  assert_warning (&x, "1777");
  assert_warning (&x, "octal");
  assert_string_equal (x.r.warnings->path, "services.web.storage[0]");
  run_clear (&x);

  c = build_ok (&x, HEAD "    storage:\n      - type: tmpfs\n        target: /tmp\n        mode: 0o1777\n", &o);
  assert_mount (jreq (c, "mounts.7"), "/tmp", "tmpfs", "tmpfs", "[\"nosuid\",\"nodev\",\"mode=1777\"]");
  assert_null (x.r.warnings);
  run_clear (&x);

  c = build_ok (&x, HEAD "    storage:\n      - type: tmpfs\n        target: /tmp\n        mode: \"0755\"\n", &o);
  assert_mount (jreq (c, "mounts.7"), "/tmp", "tmpfs", "tmpfs", "[\"nosuid\",\"nodev\",\"mode=755\"]");
  assert_null (x.r.warnings);
  run_clear (&x);
}

static void
test_socket_mount (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  char longdir[200];
  json_t *c;

  o.socket_path = "/run/host/zlayer.sock";
  c = build_ok (&x, HEAD, &o);
  assert_int_equal (json_array_size (jreq (c, "mounts")), 8);
  assert_mount (jreq (c, "mounts.7"), "/var/run/zlayer.sock", "bind", "/run/host/zlayer.sock",
                "[\"rbind\",\"ro\"]");
  run_clear (&x);

  setenv ("ZLAYER_DATA_DIR", "/srv/zl", 1);
  c = build_ok (&x, HEAD, &o);
  assert_mount (jreq (c, "mounts.7"), "/srv/zl/run/zlayer.sock", "bind", "/run/host/zlayer.sock",
                "[\"rbind\",\"ro\"]");
  run_clear (&x);

  /* The platform default data dir (root: /var/lib/zlayer) given
     explicitly still means the platform socket path (§3.2).  */
  if (geteuid () == 0)
    {
      setenv ("ZLAYER_DATA_DIR", "/var/lib/zlayer", 1);
      c = build_ok (&x, HEAD, &o);
      assert_mount (jreq (c, "mounts.7"), "/var/run/zlayer.sock", "bind", "/run/host/zlayer.sock",
                    "[\"rbind\",\"ro\"]");
      run_clear (&x);
    }

  /* longer than 103 bytes: /tmp/zlayer-daemon-<fnv1a64>.sock */
  snprintf (longdir, sizeof longdir, "/tmp/%0100d", 0);
  memset (longdir + 5, 'x', 100);
  setenv ("ZLAYER_DATA_DIR", longdir, 1);
  c = build_ok (&x, HEAD, &o);
  assert_mount (jreq (c, "mounts.7"), "/tmp/zlayer-daemon-269ed7d368d9b5b0.sock", "bind", "/run/host/zlayer.sock",
                "[\"rbind\",\"ro\"]");
  run_clear (&x);
  unsetenv ("ZLAYER_DATA_DIR");
}

/* ---- resolv.conf ----------------------------------------------------------- */

static void
test_resolv_conf (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  const char *dns = "    dns: [1.1.1.1, \"8.8.8.8\", \"2001:4860:4860::8888\"]\n";
  char yaml[512];
  json_t *c;

  o.bundle_dir = "/var/lib/zlayer/bundles/web-rep-1";
  snprintf (yaml, sizeof yaml, "%s%s", HEAD, dns);
  c = build_ok (&x, yaml, &o);
  assert_non_null (x.r.resolv_conf);
  assert_string_equal (x.r.resolv_conf,
                       "nameserver 1.1.1.1\nnameserver 8.8.8.8\nnameserver 2001:4860:4860::8888\noptions edns0\n");
  assert_int_equal (json_array_size (jreq (c, "mounts")), 8);
  assert_mount (jreq (c, "mounts.7"), "/etc/resolv.conf", "bind", "/var/lib/zlayer/bundles/web-rep-1/resolv.conf",
                "[\"rbind\",\"ro\"]");
  run_clear (&x);

  /* after storage and socket mounts */
  {
    const struct za_volume v[] = { { "data", "/vol/data" } };
    char y2[1024];
    o.volumes = v;
    o.nvolumes = 1;
    o.socket_path = "/run/s.sock";
    snprintf (y2, sizeof y2, "%s%s    storage:\n      - type: named\n        name: data\n        target: /d\n", HEAD,
              dns);
    c = build_ok (&x, y2, &o);
    assert_int_equal (json_array_size (jreq (c, "mounts")), 10);
    assert_string_equal (jstr (c, "mounts.7.destination"), "/d");
    assert_string_equal (jstr (c, "mounts.8.destination"), "/var/run/zlayer.sock");
    assert_string_equal (jstr (c, "mounts.9.destination"), "/etc/resolv.conf");
    run_clear (&x);
    o.volumes = NULL;
    o.nvolumes = 0;
    o.socket_path = NULL;
  }

  /* no dns: nothing */
  c = build_ok (&x, HEAD "    dns: []\n", &o);
  assert_null (x.r.resolv_conf);
  assert_null (find_mount (c, "/etc/resolv.conf"));
  run_clear (&x);

  /* host network, three ways: no resolv.conf, no network namespace */
  snprintf (yaml, sizeof yaml, "%s%s    host_network: true\n", HEAD, dns);
  c = build_ok (&x, yaml, &o);
  assert_null (x.r.resolv_conf);
  assert_null (find_mount (c, "/etc/resolv.conf"));
  assert_false (has_namespace (c, "network"));
  run_clear (&x);
  snprintf (yaml, sizeof yaml, "%s%s    network_mode: host\n", HEAD, dns);
  c = build_ok (&x, yaml, &o);
  assert_null (x.r.resolv_conf);
  assert_null (find_mount (c, "/etc/resolv.conf"));
  assert_false (has_namespace (c, "network"));
  run_clear (&x);
  snprintf (yaml, sizeof yaml, "%s%s", HEAD, dns);
  o.host_network = true;
  c = build_ok (&x, yaml, &o);
  assert_null (x.r.resolv_conf);
  assert_null (find_mount (c, "/etc/resolv.conf"));
  assert_false (has_namespace (c, "network"));
  run_clear (&x);
  o.host_network = false;

  /* a nameserver that would inject resolv.conf text */
  build_fail (&x, HEAD "    dns: [\"1.1.1.1 options rotate\"]\n", &o, "invalid nameserver");
  assert_string_equal (x.err->path, "services.web.dns[0]");
  run_clear (&x);
}

/* ---- namespaces / rootless ------------------------------------------------- */

static void
test_namespaces (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  c = build_ok (&x, HEAD, &o);
  assert_json (jreq (c, "linux.namespaces"), "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
                                             "{\"type\":\"mount\"},{\"type\":\"network\"},{\"type\":\"cgroup\"}]");
  assert_null (jp (c, "linux.uidMappings"));
  assert_null (jp (c, "linux.gidMappings"));
  run_clear (&x);

  o.host_network = true;
  c = build_ok (&x, HEAD, &o);
  assert_json (jreq (c, "linux.namespaces"),
               "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}]");
  run_clear (&x);
  o.host_network = false;

  o.rootless = 1;
  c = build_ok (&x, HEAD, &o);
  assert_json (jreq (c, "linux.namespaces"),
               "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},"
               "{\"type\":\"network\"},{\"type\":\"user\"},{\"type\":\"cgroup\"}]");
  run_clear (&x);

  /* rootless + privileged still gets its cgroup namespace */
  c = build_ok (&x, HEAD "    privileged: true\n", &o);
  assert_true (has_namespace (c, "user"));
  assert_true (has_namespace (c, "cgroup"));
  run_clear (&x);
}

static bool
have_idmap_tools (void)
{
  cleanup_free char *u = za_path_lookup ("newuidmap", NULL), *g = za_path_lookup ("newgidmap", NULL);
  return u && g;
}

/* The /dev/pts mount of C carries gid=5.  */
static bool
pts_has_tty_gid (json_t *c)
{
  json_t *m, *opt;
  size_t i, j;
  json_array_foreach (json_object_get (c, "mounts"), i, m)
  {
    if (strcmp (json_string_value (json_object_get (m, "destination")), "/dev/pts"))
      continue;
    json_array_foreach (json_object_get (m, "options"), j, opt)
    {
      if (!strcmp (json_string_value (opt), "gid=5"))
        return true;
    }
  }
  return false;
}

static void
test_rootless_mappings (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  struct passwd *pw = getpwuid (geteuid ());
  char buf[512], want[512];
  json_t *c;

  assert_non_null (pw);
  o.rootless = 1;

  /* no sub-id files: only the identity mapping of the caller */
  c = build_ok (&x, HEAD, &o);
  snprintf (want, sizeof want, "[{\"hostID\":%u,\"containerID\":0,\"size\":1}]", (unsigned) geteuid ());
  assert_json (jreq (c, "linux.uidMappings"), want);
  snprintf (want, sizeof want, "[{\"hostID\":%u,\"containerID\":0,\"size\":1}]", (unsigned) getegid ());
  assert_json (jreq (c, "linux.gidMappings"), want);
  /* gid 5 unmapped: /dev/pts without gid=5, which the kernel refuses */
  assert_false (pts_has_tty_gid (c));
  run_clear (&x);

  snprintf (buf, sizeof buf, "someone:1:2\n%s:100000:65536\n%s:5:5\n", pw->pw_name, pw->pw_name);
  write_in (f->host, "etc/subuid", buf);
  snprintf (buf, sizeof buf, "%s:200000:1000\n", pw->pw_name);
  write_in (f->host, "etc/subgid", buf);
  /* sub-id ranges only where newuidmap/newgidmap can apply them */
  if (!have_idmap_tools ())
    skip ();
  c = build_ok (&x, HEAD, &o);
  snprintf (want, sizeof want,
            "[{\"hostID\":%u,\"containerID\":0,\"size\":1},{\"hostID\":100000,\"containerID\":1,\"size\":65536}]",
            (unsigned) geteuid ());
  assert_json (jreq (c, "linux.uidMappings"), want);
  snprintf (want, sizeof want,
            "[{\"hostID\":%u,\"containerID\":0,\"size\":1},{\"hostID\":200000,\"containerID\":1,\"size\":1000}]",
            (unsigned) getegid ());
  assert_json (jreq (c, "linux.gidMappings"), want);
  assert_keys (jreq (c, "linux"), "uidMappings", "gidMappings", "resources", "cgroupsPath", "namespaces",
               "rootfsPropagation", "maskedPaths", "readonlyPaths");
  assert_true (pts_has_tty_gid (c)); /* container gids 1..1000 mapped */
  run_clear (&x);
}

/* ---- cgroupsPath ------------------------------------------------------------- */

static void
make_unified (struct fx *f, const char *own)
{
  write_in (f->host, "sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n");
  if (own)
    write_in (f->host, "proc/self/cgroup", own);
}

static void
test_cgroups_path_explicit (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  c = build_ok (&x, HEAD "    cgroup_parent: /my/parent/\n", &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/my/parent/web-rep-1");
  run_clear (&x);

  setenv ("ZLAYER_CGROUP_PARENT", "/from/env", 1);
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/from/env/web-rep-1");
  run_clear (&x);
  /* the spec wins over the environment */
  c = build_ok (&x, HEAD "    cgroup_parent: /spec\n", &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/spec/web-rep-1");
  run_clear (&x);
  /* an empty cgroup_parent is unset */
  c = build_ok (&x, HEAD "    cgroup_parent: \"\"\n", &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/from/env/web-rep-1");
  run_clear (&x);

  /* an explicit parent is used even where probing would fail (unified,
     v2 root, no writable subtree_control) */
  make_unified (f, "0::/\n");
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/from/env/web-rep-1");
  run_clear (&x);

  setenv ("ZLAYER_CGROUP_PARENT", "/a/../b", 1);
  build_fail (&x, HEAD, &o, "cgroup parent `/a/../b`");
  assert_string_equal (x.err->path, "ZLAYER_CGROUP_PARENT");
  run_clear (&x);
  unsetenv ("ZLAYER_CGROUP_PARENT");

  build_fail (&x, HEAD "    cgroup_parent: /x/../../etc\n", &o, "without `..`");
  assert_string_equal (x.err->path, "services.web.cgroup_parent");
  run_clear (&x);
  build_fail (&x, HEAD "    cgroup_parent: \"system.slice:zlayer:x\"\n", &o, "cgroup parent");
  run_clear (&x);
}

static void
test_cgroups_path_unified (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;
  make_unified (f, "0::/system.slice/zlayer.service\n");
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/system.slice/zlayer.service/web-rep-1");
  run_clear (&x);
}

static void
test_cgroups_path_hybrid (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;
  /* hybrid: the v2 path lives under /sys/fs/cgroup/unified, nothing at
     the top; /proc/self/cgroup's 0:: line must be ignored */
  write_in (f->host, "sys/fs/cgroup/unified/cgroup.controllers", "");
  write_in (f->host, "proc/self/cgroup", "12:memory:/user.slice\n0::/user.slice/session-1.scope\n");
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/zlayer/web-rep-1");
  run_clear (&x);
}

static void
test_cgroups_path_unified_root (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  /* at the v2 root, root cgroup not writable (no subtree_control at all) */
  make_unified (f, "0::/\n");
  build_fail (&x, HEAD, &o, "cannot create container web-rep-1: no writable cgroup parent.");
  assert_true (chain_has (x.err, "(b) set ZLAYER_CGROUP_PARENT=/path/to/writable/cgroup;"));
  run_clear (&x);

  /* writable subtree_control: the default parent */
  write_in (f->host, "sys/fs/cgroup/cgroup.subtree_control", "");
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/zlayer/web-rep-1");
  run_clear (&x);

  /* no 0:: line at all counts as the root too */
  write_in (f->host, "proc/self/cgroup", "1:name=systemd:/\n");
  c = build_ok (&x, HEAD, &o);
  assert_string_equal (jstr (c, "linux.cgroupsPath"), "/zlayer/web-rep-1");
  run_clear (&x);
}

/* ---- resources ------------------------------------------------------------- */

static json_int_t
quota_for (struct fx *f, const char *cpu)
{
  struct za_build_opts o = opts (f);
  struct run x;
  char yaml[512];
  json_int_t q;
  json_t *c;
  snprintf (yaml, sizeof yaml, "%s    resources:\n      cpu: %s\n", HEAD, cpu);
  c = build_ok (&x, yaml, &o);
  assert_int_equal (jint (c, "linux.resources.cpu.period"), 100000);
  assert_keys (jreq (c, "linux.resources.cpu"), "quota", "period");
  q = jint (c, "linux.resources.cpu.quota");
  run_clear (&x);
  return q;
}

static void
test_cpu_quota (void **state)
{
  struct fx *f = *state;
  assert_int_equal (quota_for (f, "0.5"), 50000);
  assert_int_equal (quota_for (f, "2"), 200000);
  assert_int_equal (quota_for (f, "1.5"), 150000);
  assert_int_equal (quota_for (f, "0.001"), 1000);  /* clamped to the kernel minimum */
  assert_int_equal (quota_for (f, "0.00001"), 1000);
  assert_int_equal (quota_for (f, "0.333333"), 33333);
  assert_int_equal (quota_for (f, "0.333337"), 33334); /* rounded, not truncated */
  assert_int_equal (quota_for (f, "0.29"), 29000);     /* 0.29*100000 = 28999.999… */
}

static void
test_memory_limit (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  c = build_ok (&x, HEAD "    resources:\n      memory: 512Mi\n", &o);
  assert_json (jreq (c, "linux.resources.memory"), "{\"limit\":536870912}");
  assert_keys (jreq (c, "linux.resources"), "devices", "memory");
  run_clear (&x);
  c = build_ok (&x, HEAD "    resources:\n      memory: 2G\n      cpu: 0.5\n", &o);
  assert_json (jreq (c, "linux.resources.memory"), "{\"limit\":2000000000}");
  assert_keys (jreq (c, "linux.resources"), "devices", "memory", "cpu");
  run_clear (&x);
  c = build_ok (&x, HEAD "    resources:\n      memory: 1Ti\n", &o);
  assert_int_equal (jint (c, "linux.resources.memory.limit"), INT64_C (1099511627776));
  run_clear (&x);
}

static void
test_memory_invalid (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  /* The seed wrapped 20000000Ti into a (negative) i64.  */
  build_fail (&x, HEAD "    resources:\n      memory: 20000000Ti\n", &o, "invalid memory limit");
  assert_true (chain_has (x.err, "20000000Ti"));
  assert_true (chain_has (x.err, "too large"));
  assert_string_equal (x.err->path, "services.web.resources.memory");
  run_clear (&x);
  build_fail (&x, HEAD "    resources:\n      memory: 9223372036854775808\n", &o, "invalid memory limit");
  run_clear (&x);
  build_fail (&x, HEAD "    resources:\n      memory: 8192Pi\n", &o, "invalid memory limit");
  run_clear (&x);
  build_fail (&x, HEAD "    resources:\n      memory: \"0\"\n", &o, "invalid memory limit");
  run_clear (&x);
  build_fail (&x, HEAD "    resources:\n      memory: 12.5Mi\n", &o, "invalid memory limit");
  run_clear (&x);
  build_fail (&x, HEAD "    resources:\n      memory: \"\"\n", &o, "invalid memory limit");
  run_clear (&x);
  build_fail (&x, HEAD "    resources:\n      memory_swap: 99999999999Ti\n", &o, "invalid memory limit");
  assert_string_equal (x.err->path, "services.web.resources.memory_swap");
  run_clear (&x);
}

static void
test_memory_max (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c = build_ok (&x, HEAD "    resources:\n      memory: \"9223372036854775807\"\n", &o);
  assert_int_equal (jint (c, "linux.resources.memory.limit"), INT64_MAX);
  run_clear (&x);
}

static void
test_extra_resources_only_when_set (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  c = build_ok (&x, HEAD, &o);
  assert_null (jp (c, "linux.resources.pids"));
  assert_null (jp (c, "linux.resources.memory"));
  assert_null (jp (c, "linux.resources.cpu"));
  assert_null (jp (c, "linux.resources.blockIO"));
  assert_null (jp (c, "linux.sysctl"));
  assert_null (jp (c, "process.oomScoreAdj"));
  run_clear (&x);

  c = build_ok (&x, HEAD "    resources:\n      pids_limit: 512\n    sysctls:\n      net.ipv4.ip_forward: \"1\"\n"
                         "      kernel.shm_rmid_forced: 1\n",
                &o);
  assert_json (jreq (c, "linux.resources"), "{\"devices\":[" STD_RULES "],\"pids\":{\"limit\":512}}");
  assert_json (jreq (c, "linux.sysctl"), "{\"net.ipv4.ip_forward\":\"1\",\"kernel.shm_rmid_forced\":\"1\"}");
  run_clear (&x);

  /* memory block from swappiness alone; cpu block from shares alone */
  c = build_ok (&x, HEAD "    resources:\n      memory_swappiness: 0\n      cpu_shares: 1024\n", &o);
  assert_json (jreq (c, "linux.resources.memory"), "{\"swappiness\":0}");
  assert_json (jreq (c, "linux.resources.cpu"), "{\"shares\":1024}");
  run_clear (&x);
}

/* ---- devices ---------------------------------------------------------------- */

static void
mkdev (struct fx *f, const char *rel, mode_t type, dev_t dev)
{
  char path[PATH_MAX], dir[PATH_MAX];
  int k = snprintf (path, sizeof path, "%s%s", f->host, rel);
  assert_true (k > 0 && (size_t) k < sizeof path);
  memcpy (dir, path, sizeof dir);
  *strrchr (dir, '/') = '\0';
  assert_int_equal (za_mkdir_p (dir, 0755, NULL), 0);
  if (mknod (path, type | 0600, dev) < 0)
    {
      print_message ("mknod %s: %s (skipping)\n", path, strerror (errno));
      skip ();
    }
}

static void
test_devices_major_minor (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  /* majors/minors beyond 8 bits: the seed's (rdev >> 8) & 0xff broke
     these (511 -> 255 or so, 300 -> 44).  */
  mkdev (f, "/dev/fake-uvm", S_IFCHR, makedev (511, 300));
  mkdev (f, "/dev/nvidia0", S_IFCHR, makedev (195, 0));
  mkdev (f, "/dev/sdz", S_IFBLK, makedev (259, 65536));
  c = build_ok (&x,
                HEAD "    devices:\n      - path: /dev/fake-uvm\n      - path: /dev/nvidia0\n        mknod: true\n"
                     "      - path: /dev/sdz\n        write: false\n",
                &o);
  assert_json (jreq (c, "linux.devices"),
               "[{\"path\":\"/dev/fake-uvm\",\"type\":\"c\",\"major\":511,\"minor\":300,\"fileMode\":438,"
               "\"uid\":0,\"gid\":0},"
               "{\"path\":\"/dev/nvidia0\",\"type\":\"c\",\"major\":195,\"minor\":0,\"fileMode\":438,"
               "\"uid\":0,\"gid\":0},"
               "{\"path\":\"/dev/sdz\",\"type\":\"b\",\"major\":259,\"minor\":65536,\"fileMode\":438,"
               "\"uid\":0,\"gid\":0}]");
  assert_json (jreq (c, "linux.resources.devices"),
               "[" STD_RULES ","
               "{\"allow\":true,\"type\":\"c\",\"major\":511,\"minor\":300,\"access\":\"rw\"},"
               "{\"allow\":true,\"type\":\"c\",\"major\":195,\"minor\":0,\"access\":\"rwm\"},"
               "{\"allow\":true,\"type\":\"b\",\"major\":259,\"minor\":65536,\"access\":\"r\"}]");
  assert_null (x.r.warnings);
  run_clear (&x);
}

static void
test_devices_access_flags (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c, *rules;

  mkdev (f, "/dev/d1", S_IFCHR, makedev (10, 1));
  c = build_ok (&x,
                HEAD "    devices:\n"
                     "      - path: /dev/d1\n        read: false\n        write: true\n"
                     "      - path: /dev/d1\n        read: false\n        write: false\n        mknod: true\n"
                     "      - path: /dev/d1\n        read: true\n        write: false\n        mknod: true\n"
                     "      - path: /dev/d1\n        read: false\n        write: false\n        mknod: false\n",
                &o);
  rules = jreq (c, "linux.resources.devices");
  assert_int_equal (json_array_size (rules), 10 + 3);
  assert_string_equal (jstr (rules, "10.access"), "w");
  assert_string_equal (jstr (rules, "11.access"), "m");
  assert_string_equal (jstr (rules, "12.access"), "rm");
  /* all false: the node is still listed, but gets no rule (not "rw") */
  assert_int_equal (json_array_size (jreq (c, "linux.devices")), 4);
  assert_warning (&x, "read, write and mknod all false");
  assert_int_equal (za_err_count (x.r.warnings), 1);
  assert_string_equal (x.r.warnings->path, "services.web.devices[3].path");
  run_clear (&x);
}

static void
test_devices_missing_and_invalid (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;

  mkdev (f, "/dev/ok", S_IFCHR, makedev (1, 1));
  write_in (f->host, "dev/regular", "not a device\n");

  /* missing: a warning, skipped everywhere */
  c = build_ok (&x, HEAD "    devices:\n      - path: /dev/absent\n      - path: /dev/ok\n", &o);
  assert_warning (&x, "Failed to get device info for /dev/absent, skipping");
  assert_int_equal (json_array_size (jreq (c, "linux.devices")), 1);
  assert_string_equal (jstr (c, "linux.devices.0.path"), "/dev/ok");
  assert_int_equal (json_array_size (jreq (c, "linux.resources.devices")), 11);
  run_clear (&x);

  /* only missing: no linux.devices key at all */
  c = build_ok (&x, HEAD "    devices:\n      - path: /dev/absent\n", &o);
  assert_null (jp (c, "linux.devices"));
  assert_json (jreq (c, "linux.resources.devices"), "[" STD_RULES "]");
  run_clear (&x);

  /* a regular file is not a device: error (the seed emitted type u) */
  build_fail (&x, HEAD "    devices:\n      - path: /dev/regular\n", &o, "`/dev/regular` is not a device node");
  assert_string_equal (x.err->path, "services.web.devices[0].path");
  run_clear (&x);
  /* so is a directory */
  build_fail (&x, HEAD "    devices:\n      - path: /dev\n", &o, "is not a device node");
  run_clear (&x);
  /* a path with `..` */
  build_fail (&x, HEAD "    devices:\n      - path: /dev/../etc/passwd\n", &o, "must be an absolute path");
  run_clear (&x);
}

/* A `devices:` entry that is not an absolute path is a CDI device name:
   za_build_config leaves it to the CDI plan (opts.cdi) and never stats it
   as a host path.  */
static void
test_devices_cdi_name_not_stat (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;
  c = build_ok (&x, HEAD "    devices:\n      - path: nvidia.com/gpu=0\n", &o);
  assert_null (jp (c, "linux.devices"));
  assert_json (jreq (c, "linux.resources.devices"), "[" STD_RULES "]");
  assert_null (x.r.warnings);
  run_clear (&x);
}

static void
test_devices_privileged (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  json_t *c;
  mkdev (f, "/dev/fake-uvm", S_IFCHR, makedev (511, 300));
  c = build_ok (&x, HEAD "    privileged: true\n    devices:\n      - path: /dev/fake-uvm\n", &o);
  assert_json (jreq (c, "linux.resources.devices"), "[{\"allow\":true,\"access\":\"rwm\"}]");
  assert_int_equal (jint (c, "linux.devices.0.major"), 511);
  assert_int_equal (jint (c, "linux.devices.0.minor"), 300);
  run_clear (&x);
}

/* ---- several errors, warnings kept -------------------------------------------- */

static void
test_errors_collected (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  build_fail (&x,
              HEAD "    capabilities: [NOPE]\n    cgroup_parent: /a/../b\n"
                   "    storage:\n      - type: named\n        name: vol\n        target: /v\n"
                   "      - type: s3\n        bucket: b\n        target: /s\n",
              &o, "unknown capability `NOPE`");
  assert_true (chain_has (x.err, "cgroup parent"));
  assert_true (chain_has (x.err, "volume 'vol' not prepared"));
  assert_true (za_err_count (x.err) >= 4);
  /* warnings found on the way survive the failure */
  assert_warning (&x, "S3 storage is NOT SQLite-safe");
  run_clear (&x);
}

/* Past ZA_ERRS_MAX problems the build keeps the first ones and says how
   many more there were, in one line.  */
static void
test_errors_capped (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  char *yaml = NULL, *m = NULL;
  size_t len = 0;
  const struct za_err *last;
  FILE *mem = open_memstream (&yaml, &len);
  assert_non_null (mem);
  fputs (HEAD "    storage:\n", mem);
  for (int i = 0; i < ZA_ERRS_MAX + 50; i++)
    fprintf (mem, "      - {type: named, name: v%d, target: /v%d}\n", i, i);
  assert_int_equal (fclose (mem), 0);
  build_fail (&x, yaml, &o, "volume 'v0' not prepared");
  assert_int_equal (za_err_count (x.err), ZA_ERRS_MAX + 1);
  for (last = x.err; last->next; last = last->next)
    ;
  m = za_err_format (last);
  assert_non_null (strstr (m, "50 more problems not shown"));
  free (m);
  free (yaml);
  run_clear (&x);
}

/* ---- the pipeline (za_bundle_build) ------------------------------------------ */

static int
pipeline (struct fx *f, struct run *x, const char *yaml, struct za_bundle_request *req)
{
  memset (x, 0, sizeof *x);
  x->spec = spec_parse_ok_at ("test.yaml", yaml, 0);
  req->opts = opts (f);
  x->ret = za_bundle_build (x->spec, req, &x->r, &x->err);
  return x->ret;
}

/* Validation comes first: an invalid spec gets its validation errors
   only, before the service is chosen or any device looked up.  */
static void
test_pipeline_validates_first (void **state)
{
  struct fx *f = *state;
  struct za_bundle_request req = { .service = "nope" };
  struct run x;
  assert_int_equal (pipeline (f, &x, HEAD "    resources:\n      gpu: {count: 4294967295, vendor: acme}\n", &req),
                    -1);
  assert_null (x.r.config);
  assert_int_equal (za_err_count (x.err), 1);
  assert_string_equal (x.err->path, "services.web.resources.gpu.count");
  assert_non_null (strstr (x.err->msg, "more than any host has"));
  run_clear (&x);
}

static void
test_pipeline_service_choice (void **state)
{
  struct fx *f = *state;
  const char *two = HEAD "  api:\n    image:\n      name: busybox\n";
  struct za_bundle_request req = { 0 };
  struct run x;
  assert_int_equal (pipeline (f, &x, two, &req), -1);
  assert_non_null (strstr (x.err->msg, "the deployment has several services (web, api); choose one with -s"));
  run_clear (&x);
  req.service = "db";
  assert_int_equal (pipeline (f, &x, two, &req), -1);
  assert_non_null (strstr (x.err->msg, "no service `db` in deployment `demo-app`"));
  run_clear (&x);
  req.service = "api";
  assert_int_equal (pipeline (f, &x, two, &req), 0);
  assert_string_equal (x.r.container_id, "api-rep-1");
  run_clear (&x);
}

/* CDI edits go onto the finished config: `devices:` names and --device
   names in one plan, the spec-level edits once; an unknown name fails
   the build with no config.  */
static void
test_pipeline_cdi_edits (void **state)
{
  struct fx *f = *state;
  char dir[PATH_MAX], file[PATH_MAX + 16];
  const char *dirs[1];
  struct za_bundle_request req = { 0 };
  struct run x;
  json_t *c;
  FILE *spec;
  mkdev (f, "/dev/fake0", S_IFCHR, makedev (241, 7));
  snprintf (dir, sizeof dir, "%s/cdi", f->dir);
  assert_int_equal (za_mkdir_p (dir, 0755, NULL), 0);
  snprintf (file, sizeof file, "%s/vendor.yaml", dir);
  spec = fopen (file, "w");
  assert_non_null (spec);
  fputs ("cdiVersion: 0.5.0\nkind: vendor.com/dev\ncontainerEdits:\n  env: [SPEC=1]\n"
         "devices:\n  - name: a\n    containerEdits:\n      env: [A=1]\n"
         "      deviceNodes: [{path: /dev/fake0, permissions: rw}]\n"
         "  - name: b\n    containerEdits:\n      env: [B=1]\n",
         spec);
  assert_int_equal (fclose (spec), 0);
  dirs[0] = dir;
  req.cdi_dirs = dirs;
  req.ncdi_dirs = 1;
  req.devices = (const char *const[]) { "vendor.com/dev=b" };
  req.ndevices = 1;
  assert_int_equal (pipeline (f, &x, HEAD "    devices:\n      - path: vendor.com/dev=a\n", &req), 0);
  c = x.r.config;
  assert_json (jreq (c, "process.env"),
               "[\"" DEFAULT_PATH "\",\"TERM=xterm\",\"SPEC=1\",\"A=1\",\"B=1\"]");
  assert_json (jreq (c, "linux.devices"),
               "[{\"path\":\"/dev/fake0\",\"type\":\"c\",\"major\":241,\"minor\":7,\"fileMode\":384}]");
  assert_json (jreq (c, "linux.resources.devices"),
               "[" STD_RULES ",{\"allow\":true,\"type\":\"c\",\"major\":241,\"minor\":7,\"access\":\"rw\"}]");
  run_clear (&x);

  req.devices = (const char *const[]) { "vendor.com/dev=zz" };
  assert_int_equal (pipeline (f, &x, HEAD, &req), -1);
  assert_null (x.r.config);
  require_chain_has (NULL, x.err, "error", "vendor.com/dev=zz");
  run_clear (&x);
}

/* ---- za_config_dump ------------------------------------------------------------ */

static void
test_config_dump_format (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = opts (f);
  struct run x;
  const char *const env[] = { "CTL=a\x01\x1f" "b", "Q=\"q\\\"", "U=caf\xc3\xa9", "NL=1\n2\t3",
                              "BS=\\u001F\\\\u00AB" };
  cleanup_free char *s = NULL;
  size_t len = 0;

  o.env = env;
  o.nenv = 5;
  build_ok (&x, HEAD, &o);
  s = za_config_dump (x.r.config, &len);
  assert_non_null (s);
  assert_int_equal (len, strlen (s));
  assert_true (len > 100);
  /* 2-space indent, "key": value, objects and arrays expanded */
  assert_true (strncmp (s, "{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\n    \"path\": \"rootfs\",\n"
                           "    \"readonly\": false\n  },\n  \"mounts\": [\n    {\n"
                           "      \"destination\": \"/proc\",\n      \"type\": \"proc\",\n",
                        strlen ("{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\n    \"path\": \"rootfs\",\n"
                                "    \"readonly\": false\n  },\n  \"mounts\": [\n    {\n"
                                "      \"destination\": \"/proc\",\n      \"type\": \"proc\",\n"))
              == 0);
  /* no trailing newline, closing brace last */
  assert_int_equal (s[len - 1], '}');
  assert_int_equal (s[len - 2], '\n');
  assert_null (strstr (s, "\\/"));
  assert_non_null (strstr (s, "\"destination\": \"/sys/fs/cgroup\""));
  assert_non_null (strstr (s, "\n  \"annotations\": {},\n"));
  assert_non_null (strstr (s, "\"inheritable\": [],"));
  assert_non_null (strstr (s, "\"ambient\": []\n"));
  assert_non_null (strstr (s, "\"args\": [\n      \"/bin/sh\"\n    ],"));
  assert_non_null (strstr (s, "\"noNewPrivileges\": true\n  },\n  \"hostname\": \"web-rep-1\",\n"));
  /* serde_json escaping: \n \t \" \\ short forms, other controls as
     lower-case \u00xx, non-ASCII raw */
  assert_non_null (strstr (s, "\"CTL=a\\u0001\\u001fb\""));
  assert_non_null (strstr (s, "\"Q=\\\"q\\\\\\\"\""));
  assert_non_null (strstr (s, "\"U=caf\xc3\xa9\""));
  assert_non_null (strstr (s, "\"NL=1\\n2\\t3\""));
  /* literal backslashes followed by "u001F" are text, not escapes: kept */
  assert_non_null (strstr (s, "\"BS=\\\\u001F\\\\\\\\u00AB\""));
  /* round trip */
  {
    json_error_t je;
    json_t *back = json_loads (s, 0, &je);
    assert_non_null (back);
    assert_true (json_equal (back, x.r.config));
    json_decref (back);
  }
  run_clear (&x);
}

static void
test_config_dump_empty_containers (void **state)
{
  (void) state;
  json_t *o = json_object ();
  cleanup_free char *s = NULL;
  size_t len = 0;
  json_object_set_new (o, "b", json_array ());
  json_object_set_new (o, "a", json_object ());
  json_object_set_new (o, "n", json_integer (-5));
  json_object_set_new (o, "p", json_string ("/x/y"));
  s = za_config_dump (o, &len);
  assert_string_equal (s, "{\n  \"b\": [],\n  \"a\": {},\n  \"n\": -5,\n  \"p\": \"/x/y\"\n}");
  assert_int_equal (len, strlen (s));
  json_decref (o);
  /* len may be NULL */
  o = json_object ();
  free (s);
  s = za_config_dump (o, NULL);
  assert_string_equal (s, "{}");
  json_decref (o);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_top_level_defaults),
    T (test_read_only_root),
    T (test_process_key_order),
    T (test_linux_key_order_minimal),
    T (test_linux_key_order_full),
    T (test_hostname),
    T (test_container_id),
    T (test_args_rules),
    T (test_args_option_override),
    T (test_args_empty_entrypoint),
    T (test_cwd_rules),
    T (test_env_order),
    T (test_env_host_refs),
    T (test_env_option_invalid),
    T (test_env_secrets),
    T (test_user_resolution),
    T (test_rootfs_realpath),
    T (test_caps_default),
    T (test_caps_user_list),
    T (test_caps_unknown),
    T (test_caps_drop),
    T (test_caps_privileged),
    T (test_rlimits),
    T (test_rlimits_unknown),
    T (test_default_mounts),
    T (test_privileged_shape),
    T (test_nonprivileged_shape),
    T (test_storage_mounts),
    T (test_storage_not_prepared),
    T (test_storage_anon_collision),
    T (test_storage_bad_paths),
    T (test_storage_network_tier_warning),
    T (test_tmpfs_mode),
    T (test_socket_mount),
    T (test_resolv_conf),
    T (test_namespaces),
    T (test_rootless_mappings),
    T (test_cgroups_path_explicit),
    T (test_cgroups_path_unified),
    T (test_cgroups_path_hybrid),
    T (test_cgroups_path_unified_root),
    T (test_cpu_quota),
    T (test_memory_limit),
    T (test_memory_invalid),
    T (test_memory_max),
    T (test_extra_resources_only_when_set),
    T (test_devices_major_minor),
    T (test_devices_access_flags),
    T (test_devices_missing_and_invalid),
    T (test_devices_cdi_name_not_stat),
    T (test_devices_privileged),
    T (test_errors_collected),
    T (test_errors_capped),
    T (test_pipeline_validates_first),
    T (test_pipeline_service_choice),
    T (test_pipeline_cdi_edits),
    T (test_config_dump_format),
    T (test_config_dump_empty_containers),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
