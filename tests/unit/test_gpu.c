/* Unit tests for src/gpu (detection, passthrough plan, sharing,
   distributed env, CDI spec generation) and its use by bundle/build.c
   and bundle/cdi_devices.c (zlayer-reference.md §5.5, §8, §11.3,
   §11.5–11.7, §12.1).

   Every test works on fake hosts made by tests/fakehost/mkhost.sh in a
   mkdtemp directory (mknod needs root: without it the tests are skipped
   with a message).  Host probing goes through `struct za_host { .root }`;
   builds use rootless = 0 and an explicit cgroup_parent so nothing
   depends on this machine's cgroups.

   mkhost.sh numbering (the expectations below are written from it, not
   from stat): GPU i of a vendor has PCI address 0000:BB:DD.0 with
   BB = bus + i/32 (nvidia 1, amd 3, intel 5) and DD = i%32; NVIDIA GPU i
   is /dev/nvidia<i> = c 195:i, /dev/nvidiactl 195:255,
   /dev/nvidia-modeset 195:254, /dev/nvidia-uvm UVM:0, -tools UVM:1 with
   UVM = 509 by default (nvidia-caps UVM-1, kfd UVM-2 in /proc/devices,
   /dev/kfd = c UVM-2:0); AMD/Intel GPU i is /dev/dri/card<c> = 226:c and
   /dev/dri/renderD<128+c> = 226:128+c, c counting on from cards already
   on the host.  */
#define _GNU_SOURCE
/* Paths are built from mkdtemp roots far below PATH_MAX.  */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "bundle/build.h"
#include "bundle/cdi_devices.h"
#include "bundle/pipeline.h"
#include "cdi/cdi.h"
#include "gpu/gpu.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#include "testutil.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MKHOST "tests/fakehost/mkhost.sh"
#define UVM 509

static const char *const vendors[] = { "nvidia", "amd", "intel" };
static const int pci_bus[] = { 1, 3, 5 };

/* ---- fixture ------------------------------------------------------- */

struct fx
{
  char dir[64]; /* mkdtemp root; fake hosts are subdirectories */
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  if (!f || !make_tmpdir (f->dir, sizeof f->dir, "/tmp/za-gpu-XXXXXX"))
    {
      free (f);
      return -1;
    }
  unsetenv ("ZLAYER_CGROUP_PARENT");
  unsetenv ("CDI_SPEC_DIRS");
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  if (!f)
    return 0;
  return fixture_free (f, f->dir);
}

/* Skip (with the reason) unless fake hosts can be made here: root for
   mknod, and mkhost.sh reachable (tests run from the source root).  */
static void
need_fakehost (struct fx *f)
{
  char probe[PATH_MAX];
  if (geteuid () != 0)
    {
      print_message ("SKIP: fake GPU hosts need root (mknod of device nodes); run the tests as root\n");
      skip ();
    }
  if (access (MKHOST, R_OK) != 0)
    {
      print_message ("SKIP: %s not found from %s (run from the source root)\n", MKHOST, getcwd (probe, sizeof probe));
      skip ();
    }
  snprintf (probe, sizeof probe, "%s/.mknod-probe", f->dir);
  if (mknod (probe, S_IFCHR | 0600, makedev (1, 3)) < 0)
    {
      print_message ("SKIP: mknod is not permitted here (%s)\n", strerror (errno));
      skip ();
    }
  unlink (probe);
}

/* ROOT, created by mkhost.sh with COUNT GPUs of VENDOR (nvidia-uvm major UVM).  */
static void
run_mkhost (const char *root, const char *vendor, int count, int uvm)
{
  char cmd[PATH_MAX + 256];
  int rc;
  snprintf (cmd, sizeof cmd, "bash %s '%s' %s %d %d", MKHOST, root, vendor, count, uvm);
  rc = system (cmd);
  if (rc != 0)
    fail_msg ("`%s` failed (status %d)", cmd, rc);
}

/* F->dir/NAME, created by mkhost.sh with COUNT GPUs of VENDOR.  */
static void
mkhost (char *out, size_t outsz, struct fx *f, const char *name, const char *vendor, int count, int uvm)
{
  snprintf (out, outsz, "%s/%s", f->dir, name);
  run_mkhost (out, vendor, count, uvm);
}

/* Hosts that tests only read, made once per run: VENDOR with COUNT GPUs
   (UVM major 509) under the group's directory.  */
static char shared_dir[64];

static int
group_setup (void **state)
{
  (void) state;
  return make_tmpdir (shared_dir, sizeof shared_dir, "/tmp/za-gpu-hosts-XXXXXX") ? 0 : -1;
}

static int
group_teardown (void **state)
{
  (void) state;
  return rm_rf (shared_dir);
}

static void
shared_host (char *out, size_t outsz, const char *vendor, int count)
{
  struct stat st;
  snprintf (out, outsz, "%s/%s-%d", shared_dir, vendor, count);
  if (stat (out, &st) == 0)
    return;
  run_mkhost (out, vendor, count, UVM);
}

static void __attribute__ ((format (printf, 3, 4)))
put (const char *root, const char *content, const char *relfmt, ...)
{
  char rel[PATH_MAX], path[PATH_MAX];
  va_list ap;
  va_start (ap, relfmt);
  vsnprintf (rel, sizeof rel, relfmt, ap);
  va_end (ap);
  snprintf (path, sizeof path, "%s%s", root, rel);
  write_file (path, content);
}

static void
mkdir_in (const char *root, const char *rel)
{
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s%s", root, rel);
  assert_int_equal (za_mkdir_p (path, 0755, NULL), 0);
}

static void
mknod_in (const char *root, const char *rel, unsigned maj, unsigned min)
{
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s%s", root, rel);
  unlink (path);
  if (mknod (path, S_IFCHR | 0666, makedev (maj, min)) < 0)
    fail_msg ("mknod %s: %s", path, strerror (errno));
}

static void
unlink_in (const char *root, const char *rel)
{
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s%s", root, rel);
  assert_int_equal (unlink (path), 0);
}

/* rm -rf ROOT REL (REL starts with a slash).  */
static void
rm_in (const char *root, const char *rel)
{
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s%s", root, rel);
  assert_int_equal (rm_rf (path), 0);
}

/* ---- errors and JSON ------------------------------------------------- */

static const char *current_case = "";

/* Some message of chain E contains NEEDLE (E dumped as WHAT otherwise).  */
#define assert_chain_has(e, what, needle) require_chain_has (current_case, e, what, needle)

static void
assert_json_eq (const char *what, const json_t *got, const json_t *want)
{
  if (!json_equal ((json_t *) got, (json_t *) want))
    {
      cleanup_free char *g = got ? json_dumps (got, JSON_INDENT (1)) : strdup ("(null)");
      cleanup_free char *w = json_dumps (want, JSON_INDENT (1));
      fail_msg ("[%s] %s differs\n--- got:\n%s\n--- want:\n%s", current_case, what, g ? g : "?", w ? w : "?");
    }
}

static void __attribute__ ((format (printf, 2, 3)))
jstr (json_t *arr, const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;
  va_start (ap, fmt);
  assert_true (vasprintf (&s, fmt, ap) >= 0);
  va_end (ap);
  assert_int_equal (json_array_append_new (arr, json_string (s)), 0);
  free (s);
}

/* process.env semantics: drop every entry with KV's key, append KV.  */
static void __attribute__ ((format (printf, 2, 3)))
env_replace (json_t *env, const char *fmt, ...)
{
  char *kv = NULL;
  size_t kl;
  va_list ap;
  va_start (ap, fmt);
  assert_true (vasprintf (&kv, fmt, ap) >= 0);
  va_end (ap);
  kl = (size_t) (strchr (kv, '=') - kv);
  for (size_t i = json_array_size (env); i-- > 0;)
    {
      const char *s = json_string_value (json_array_get (env, i));
      if (!strncmp (s, kv, kl) && s[kl] == '=')
        json_array_remove (env, i);
    }
  json_array_append_new (env, json_string (kv));
  free (kv);
}

static json_t *
mount_j (const char *dst, const char *type, const char *src, const char *opts)
{
  json_t *m = json_object (), *o = json_array ();
  cleanup_free char *copy = strdup (opts);
  char *save = NULL;
  json_object_set_new (m, "destination", json_string (dst));
  if (type)
    json_object_set_new (m, "type", json_string (type));
  json_object_set_new (m, "source", json_string (src));
  for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
    json_array_append_new (o, json_string (t));
  json_object_set_new (m, "options", o);
  return m;
}

/* The seven default mounts of a non-privileged container.  */
static json_t *
default_mounts (void)
{
  json_t *a = json_array ();
  json_array_append_new (a, mount_j ("/proc", "proc", "proc", "nosuid,noexec,nodev"));
  json_array_append_new (a, mount_j ("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
  json_array_append_new (a, mount_j ("/dev/pts", "devpts", "devpts",
                                     "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
  json_array_append_new (a, mount_j ("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
  json_array_append_new (a, mount_j ("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  json_array_append_new (a, mount_j ("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
  json_array_append_new (a, mount_j ("/sys/fs/cgroup", "cgroup2", "cgroup", "nosuid,noexec,nodev,relatime,ro"));
  return a;
}

static json_t *
rule_j (bool allow, char type, int64_t major, int64_t minor, const char *access)
{
  json_t *r = json_object ();
  char t[2] = { type, 0 };
  json_object_set_new (r, "allow", json_boolean (allow));
  if (type)
    json_object_set_new (r, "type", json_string (t));
  if (major >= 0)
    json_object_set_new (r, "major", json_integer (major));
  if (minor >= 0)
    json_object_set_new (r, "minor", json_integer (minor));
  json_object_set_new (r, "access", json_string (access));
  return r;
}

/* The deny-all rule and the standard allow rules (§11.6).  */
static json_t *
std_rules (void)
{
  static const int64_t std[][2] = { { 1, 3 }, { 1, 5 }, { 1, 7 }, { 1, 8 }, { 1, 9 },
                                    { 5, 0 }, { 5, 1 }, { 5, 2 }, { 136, -1 } };
  json_t *a = json_array ();
  json_array_append_new (a, rule_j (false, 0, -1, -1, "rwm"));
  for (size_t i = 0; i < sizeof std / sizeof *std; i++)
    json_array_append_new (a, rule_j (true, 'c', std[i][0], std[i][1], "rwm"));
  return a;
}

/* A linux.devices entry as the passthrough writes it.  */
static json_t *
node_j (const char *path, int64_t major, int64_t minor)
{
  return json_pack ("{s:s, s:s, s:I, s:I, s:i, s:i, s:i}", "path", path, "type", "c", "major", (json_int_t) major,
                    "minor", (json_int_t) minor, "fileMode", 0666, "uid", 0, "gid", 0);
}

/* The same node injected through CDI: fileMode is the host node's mode,
   uid/gid only for a non-root process.  */
static json_t *
cdi_node_j (const char *root, const char *path, int64_t major, int64_t minor)
{
  char hp[PATH_MAX];
  struct stat st;
  snprintf (hp, sizeof hp, "%s%s", root, path);
  assert_int_equal (stat (hp, &st), 0);
  return json_pack ("{s:s, s:s, s:I, s:I, s:i}", "path", path, "type", "c", "major", (json_int_t) major, "minor",
                    (json_int_t) minor, "fileMode", (int) (st.st_mode & 0777));
}

/* ---- spec + build ---------------------------------------------------- */

struct run
{
  struct za_spec *spec;
  const struct za_service *svc;
  struct za_build_result r; /* r.warnings: the devices step's, then the config's */
  struct za_cdi_outcome cdi; /* the devices step alone (devices_of) */
  struct za_err *err, *warn; /* pipeline error; warnings of devices_of */
  int ret;
};

static void
parse (struct run *x, const char *yaml)
{
  memset (x, 0, sizeof *x);
  x->spec = spec_parse_ok_at ("test.yaml", yaml, 0);
  assert_true (x->spec->d.services.n >= 1);
  x->svc = x->spec->d.services.v[0].val;
}

static void
run_clear (struct run *x)
{
  za_build_result_clear (&x->r);
  za_cdi_outcome_clear (&x->cdi);
  za_err_free (&x->err);
  za_err_free (&x->warn);
  za_spec_free (x->spec);
  memset (x, 0, sizeof *x);
}

static struct za_build_opts
opts_for (const char *host)
{
  struct za_build_opts o = { 0 };
  o.replica = 1;
  o.rootless = 0;
  o.host.root = host;
  return o;
}

/* Parse YAML and build through the pipeline (za_bundle_build), with
   CDI_DIR as --cdi-dir (strict) when given.  */
static int
build (struct run *x, const char *yaml, const char *host, const char *cdi_dir, struct za_build_opts *o)
{
  const char *dirs[] = { cdi_dir };
  struct za_bundle_request req = { .cdi_dirs = dirs, .ncdi_dirs = cdi_dir ? 1 : 0 };
  parse (x, yaml);
  req.opts = o ? *o : opts_for (host);
  req.opts.host.root = host;
  x->ret = za_bundle_build (x->spec, &req, &x->r, &x->err);
  return x->ret;
}

/* The pipeline's devices step alone for X's service, with CDI_DIR as
   --cdi-dir or (NULL) auto-discovery: what gpu/ decided and the CDI
   names, in x->cdi; its warnings in x->warn.  */
static void
devices_of (struct run *x, const char *cdi_dir)
{
  const char *dirs[] = { cdi_dir };
  struct za_cdi_request req = { .dirs = dirs, .ndirs = cdi_dir ? 1 : 0 };
  struct za_err *e = NULL;
  za_cdi_outcome_clear (&x->cdi);
  za_err_free (&x->warn);
  if (za_cdi_devices_plan (x->svc, &req, &x->cdi, &x->warn, &e) < 0)
    {
      dump_chain ("error", e);
      fail_msg ("[%s] the devices step failed", current_case);
    }
}

static json_t *
build_ok (struct run *x, const char *yaml, const char *host, const char *cdi_dir, struct za_build_opts *o)
{
  if (build (x, yaml, host, cdi_dir, o) != 0)
    {
      dump_chain ("error", x->err);
      fail_msg ("[%s] build failed", current_case);
    }
  assert_null (x->err);
  assert_non_null (x->r.config);
  return x->r.config;
}

/* The build (or CDI planning) fails with one input error containing
   NEEDLE at dotted path PATH (when given).  */
static void
build_fail (struct run *x, const char *yaml, const char *host, const char *cdi_dir, const char *needle,
            const char *path)
{
  const struct za_err *e;
  assert_int_equal (build (x, yaml, host, cdi_dir, NULL), -1);
  assert_null (x->r.config);
  e = require_chain_has (current_case, x->err, "error", needle);
  assert_int_equal (e->code, ZA_EINPUT);
  if (path)
    assert_string_equal (e->path ? e->path : "(none)", path);
}

/* The generated CDI spec of HOST for VENDOR, written to DIR/<vendor>.json.  */
static json_t *
cdi_generate_into (const char *host, enum za_gpu_vendor v, const char *dir)
{
  struct za_host h = { .root = host };
  struct za_err *err = NULL, *warn = NULL;
  json_t *spec = NULL;
  char path[PATH_MAX];
  if (za_gpu_cdi_generate (&h, v, &spec, &warn, &err) < 0)
    {
      dump_chain ("error", err);
      fail_msg ("[%s] za_gpu_cdi_generate failed", current_case);
    }
  za_err_free (&warn);
  assert_non_null (spec);
  if (dir)
    {
      assert_int_equal (za_mkdir_p (dir, 0755, NULL), 0);
      snprintf (path, sizeof path, "%s/%s.json", dir, za_gpu_vendor_name (v));
      assert_int_equal (json_dump_file (spec, path, JSON_INDENT (2)), 0);
    }
  return spec;
}

/* ---- detection ------------------------------------------------------- */

static void
expect_gpu (const struct za_gpu_info *g, int vi, unsigned i, unsigned card)
{
  char want[128];
  assert_non_null (g);
  assert_int_equal (g->vendor, (enum za_gpu_vendor) vi);
  assert_int_equal (g->index, i);
  snprintf (want, sizeof want, "0000:%02x:%02x.0", pci_bus[vi] + i / 32, i % 32);
  assert_string_equal (g->pci, want);
  switch (vi)
    {
    case ZA_GPU_NVIDIA:
      assert_string_equal (g->driver, "nvidia");
      assert_string_equal (g->model, "NVIDIA H100 80GB HBM3");
      snprintf (want, sizeof want, "GPU-%08x-1111-2222-3333-44444444444%u", 0xabc0 + i, i % 10);
      assert_string_equal (g->uuid, want);
      assert_string_equal (g->driver_version, "550.54.15");
      assert_int_equal (g->nodes.n, 1);
      snprintf (want, sizeof want, "/dev/nvidia%u", i);
      assert_string_equal (g->nodes.v[0], want);
      break;
    case ZA_GPU_AMD:
    case ZA_GPU_INTEL:
      assert_string_equal (g->driver, vi == ZA_GPU_AMD ? "amdgpu" : "i915");
      if (vi == ZA_GPU_AMD)
        assert_string_equal (g->model, "AMD Instinct MI300X");
      else
        {
          snprintf (want, sizeof want, "PCI device 0x%04x", 0x2330 + i);
          assert_string_equal (g->model, want);
        }
      assert_null (g->uuid);
      assert_null (g->driver_version); /* no /sys/module/<driver>/version */
      assert_int_equal (g->nodes.n, 2);
      snprintf (want, sizeof want, "/dev/dri/card%u", card);
      assert_string_equal (g->nodes.v[0], want);
      snprintf (want, sizeof want, "/dev/dri/renderD%u", 128 + card);
      assert_string_equal (g->nodes.v[1], want);
      break;
    }
}

/* 0, 1, 2 and 8 GPUs of each vendor.  */
static void
test_detect_counts (void **state)
{
  static const int counts[] = { 0, 1, 2, 8 };
  struct fx *f = *state;
  need_fakehost (f);
  for (int vi = 0; vi < 3; vi++)
    for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++)
      {
        char host[PATH_MAX], name[64];
        struct za_gpu_list l;
        struct za_err *err = NULL;
        struct za_host h;
        snprintf (name, sizeof name, "detect-%s-%d", vendors[vi], counts[ci]);
        current_case = name;
        shared_host (host, sizeof host, vendors[vi], counts[ci]);
        h.root = host;
        assert_int_equal (za_gpu_detect (&h, &l, &err), 0);
        assert_null (err);
        assert_int_equal (l.n, counts[ci]);
        for (int v = 0; v < 4; v++)
          assert_int_equal (za_gpu_count (&l, (enum za_gpu_vendor) v), v == vi ? (size_t) counts[ci] : 0);
        for (int i = 0; i < counts[ci]; i++)
          {
            expect_gpu (&l.v[i], vi, (unsigned) i, (unsigned) i);
            assert_ptr_equal (za_gpu_nth (&l, (enum za_gpu_vendor) vi, (unsigned) i), &l.v[i]);
          }
        assert_null (za_gpu_nth (&l, (enum za_gpu_vendor) vi, (unsigned) counts[ci]));
        za_gpu_list_clear (&l);
        assert_int_equal (l.n, 0);
        assert_null (l.v);
      }
}

/* One host with every vendor: vendor order, per-vendor indexes, DRM
   nodes matched to their PCI device through /sys/class/drm/<n>/device.  */
static void
test_detect_mixed (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_gpu_list l;
  struct za_err *err = NULL;
  struct za_host h;
  need_fakehost (f);
  current_case = "mixed";
  /* intel first: its cards get the low numbers, AMD's follow */
  mkhost (host, sizeof host, f, "mixed", "intel", 2, UVM);
  mkhost (host, sizeof host, f, "mixed", "nvidia", 2, UVM);
  mkhost (host, sizeof host, f, "mixed", "amd", 3, UVM);
  h.root = host;
  assert_int_equal (za_gpu_detect (&h, &l, &err), 0);
  assert_int_equal (l.n, 7);
  assert_int_equal (za_gpu_count (&l, ZA_GPU_NVIDIA), 2);
  assert_int_equal (za_gpu_count (&l, ZA_GPU_AMD), 3);
  assert_int_equal (za_gpu_count (&l, ZA_GPU_INTEL), 2);
  assert_int_equal (za_gpu_count (&l, ZA_GPU_OTHER), 0);
  expect_gpu (&l.v[0], ZA_GPU_NVIDIA, 0, 0);
  expect_gpu (&l.v[1], ZA_GPU_NVIDIA, 1, 0);
  for (unsigned i = 0; i < 3; i++)
    expect_gpu (&l.v[2 + i], ZA_GPU_AMD, i, 2 + i);
  for (unsigned i = 0; i < 2; i++)
    expect_gpu (&l.v[5 + i], ZA_GPU_INTEL, i, i);
  assert_ptr_equal (za_gpu_nth (&l, ZA_GPU_AMD, 2), &l.v[4]);
  za_gpu_list_clear (&l);
}

/* Non-display PCI devices are ignored; a VGA controller of another
   vendor is "unknown"; a kernel-version file gives AMD/Intel versions;
   product_name is preferred over the PCI id.  */
static void
test_detect_details (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_gpu_list l;
  struct za_err *err = NULL;
  struct za_host h;
  need_fakehost (f);
  current_case = "details";
  mkhost (host, sizeof host, f, "details", "amd", 1, UVM);
  put (host, "0x020000\n", "/sys/bus/pci/devices/0000:07:00.0/class"); /* a NIC */
  put (host, "0x10de\n", "/sys/bus/pci/devices/0000:07:00.0/vendor");
  put (host, "0x030000\n", "/sys/bus/pci/devices/0000:08:00.0/class"); /* ASPEED VGA */
  put (host, "0x1a03\n", "/sys/bus/pci/devices/0000:08:00.0/vendor");
  put (host, "0x2000\n", "/sys/bus/pci/devices/0000:08:00.0/device");
  put (host, "0x030000\n", "/sys/bus/pci/devices/0000:09:00.0/class"); /* no vendor file */
  put (host, "6.10.5\n", "/sys/module/amdgpu/version");
  h.root = host;
  assert_int_equal (za_gpu_detect (&h, &l, &err), 0);
  assert_int_equal (l.n, 2);
  assert_int_equal (l.v[0].vendor, ZA_GPU_AMD);
  assert_string_equal (l.v[0].driver_version, "6.10.5");
  assert_string_equal (l.v[0].model, "AMD Instinct MI300X");
  assert_int_equal (l.v[1].vendor, ZA_GPU_OTHER);
  assert_string_equal (l.v[1].pci, "0000:08:00.0");
  assert_string_equal (l.v[1].model, "PCI device 0x2000");
  assert_null (l.v[1].driver);
  assert_int_equal (l.v[1].nodes.n, 0);
  assert_string_equal (za_gpu_vendor_name (l.v[1].vendor), "unknown");
  za_gpu_list_clear (&l);

  /* no host at all: nothing found, no error */
  h.root = "/nonexistent-za-host";
  assert_int_equal (za_gpu_detect (&h, &l, &err), 0);
  assert_int_equal (l.n, 0);
  za_gpu_list_clear (&l);
}

/* Which PCI classes are GPUs: every display controller (0x03xxxx:
   VGA, 3D, "other" as AMD Instinct MI50-MI250 and Intel Data Center GPU
   Max report) and AMD processing accelerators (0x1200xx, Instinct
   MI300+); not an Intel NPU (0x1200xx), an NVSwitch (0x0680xx) or audio.  */
static void
test_detect_classes (void **state)
{
  static const struct
  {
    const char *pci, *cls, *ven;
    int vendor; /* -1: not a GPU */
  } devs[] = {
    { "0000:03:00.0", "0x038000", "0x1002", ZA_GPU_AMD },   /* MI250X */
    { "0000:03:01.0", "0x120000", "0x1002", ZA_GPU_AMD },   /* MI300X */
    { "0000:03:02.0", "0x030100", "0x1002", ZA_GPU_AMD },   /* XGA */
    { "0000:03:03.0", "0x040300", "0x1002", -1 },           /* HDMI audio */
    { "0000:05:00.0", "0x038000", "0x8086", ZA_GPU_INTEL }, /* Max 1550 */
    { "0000:05:01.0", "0x120000", "0x8086", -1 },           /* NPU */
    { "0000:01:00.0", "0x030200", "0x10de", ZA_GPU_NVIDIA },
    { "0000:01:01.0", "0x068000", "0x10de", -1 },           /* NVSwitch */
    { "0000:01:02.0", "0x120000", "0x10de", -1 },
  };
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_gpu_list l;
  struct za_err *err = NULL;
  struct za_host h;
  size_t want = 0;
  need_fakehost (f);
  current_case = "classes";
  snprintf (host, sizeof host, "%s/classes", f->dir);
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++)
    {
      put (host, devs[i].cls, "/sys/bus/pci/devices/%s/class", devs[i].pci);
      put (host, devs[i].ven, "/sys/bus/pci/devices/%s/vendor", devs[i].pci);
      want += devs[i].vendor >= 0;
    }
  h.root = host;
  assert_int_equal (za_gpu_detect (&h, &l, &err), 0);
  assert_int_equal (l.n, want);
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++)
    {
      bool found = false;
      for (size_t k = 0; k < l.n; k++)
        if (!strcmp (l.v[k].pci, devs[i].pci))
          {
            found = true;
            assert_int_equal (l.v[k].vendor, devs[i].vendor);
          }
      if (found != (devs[i].vendor >= 0))
        fail_msg ("%s class %s vendor %s: detected %d", devs[i].pci, devs[i].cls, devs[i].ven, found);
    }
  assert_int_equal (za_gpu_count (&l, ZA_GPU_AMD), 3);
  assert_int_equal (za_gpu_count (&l, ZA_GPU_INTEL), 1);
  assert_int_equal (za_gpu_count (&l, ZA_GPU_NVIDIA), 1);
  za_gpu_list_clear (&l);
}

static void
test_vendor_names (void **state)
{
  (void) state;
  assert_int_equal (za_gpu_vendor_parse ("nvidia"), ZA_GPU_NVIDIA);
  assert_int_equal (za_gpu_vendor_parse ("amd"), ZA_GPU_AMD);
  assert_int_equal (za_gpu_vendor_parse ("intel"), ZA_GPU_INTEL);
  assert_int_equal (za_gpu_vendor_parse ("NVIDIA"), ZA_GPU_OTHER); /* case-sensitive, §5.3 */
  assert_int_equal (za_gpu_vendor_parse ("apple"), ZA_GPU_OTHER);
  assert_int_equal (za_gpu_vendor_parse (NULL), ZA_GPU_OTHER);
  assert_string_equal (za_gpu_vendor_name (ZA_GPU_NVIDIA), "nvidia");
  assert_string_equal (za_gpu_vendor_name (ZA_GPU_AMD), "amd");
  assert_string_equal (za_gpu_vendor_name (ZA_GPU_INTEL), "intel");
  assert_string_equal (za_gpu_vendor_name (ZA_GPU_OTHER), "unknown");
  assert_string_equal (za_gpu_vendor_cdi_kind (za_gpu_vendor_parse ("nvidia")), "nvidia.com/gpu");
  assert_string_equal (za_gpu_vendor_cdi_kind (za_gpu_vendor_parse ("amd")), "amd.com/gpu");
  assert_string_equal (za_gpu_vendor_cdi_kind (za_gpu_vendor_parse ("intel")), "intel.com/gpu");
  assert_null (za_gpu_vendor_cdi_kind (za_gpu_vendor_parse ("apple")));
  assert_null (za_gpu_vendor_cdi_kind (za_gpu_vendor_parse (NULL)));
}

/* The real H100 host of tests/data/hosts/h100-probe.txt: open kernel
   module version line, PCI 0000:00:06.0, dynamic majors 238/241, no DRM.  */
static void
test_detect_h100_probe (void **state)
{
  static const char devices[]
      = "Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n  5 /dev/tty\n 10 misc\n128 ptm\n136 pts\n"
        "195 nvidia\n195 nvidiactl\n203 cpu/cpuid\n231 infiniband_mad\n238 nvidia-uvm\n239 nvidia-nvswitch\n"
        "240 nvidia-nvlink\n241 nvidia-caps\n242 nvidia-caps-imex-channels\n254 ndctl\n\n"
        "Block devices:\n  7 loop\n253 zram\n254 virtblk\n259 blkext\n";
  static const char info[] = "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 41\n"
                             "GPU UUID: \t GPU-11b1f9b6-394f-163d-caf4-07f33fd65cd4\nVideo BIOS: \t 96.00.da.00.0c\n"
                             "Bus Type: \t PCIe\nDMA Size: \t 52 bits\nDMA Mask: \t 0xfffffffffffff\n"
                             "Bus Location: \t 0000:00:06.0\nDevice Minor: \t 0\nGPU Firmware: \t 580.159.04\n"
                             "GPU Excluded:\t No\n";
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_gpu_list l;
  struct za_err *err = NULL, *warn = NULL;
  struct za_host h;
  struct za_gpu_spec gpu = { 0 };
  struct za_gpu_ctx c = { 0 };
  struct za_gpu_route route = { .via = ZA_GPU_VIA_PASSTHROUGH };
  struct za_gpu_plan p;
  need_fakehost (f);
  current_case = "h100";
  snprintf (host, sizeof host, "%s/h100", f->dir);
  put (host, devices, "/proc/devices");
  put (host, "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (nixbld@)  \n"
             "GCC version:  gcc version 15.3.0 (GCC) \n",
       "/proc/driver/nvidia/version");
  put (host, info, "/proc/driver/nvidia/gpus/0000:00:06.0/information");
  put (host, "0x030200\n", "/sys/bus/pci/devices/0000:00:06.0/class");
  put (host, "0x10de\n", "/sys/bus/pci/devices/0000:00:06.0/vendor");
  put (host, "0x2330\n", "/sys/bus/pci/devices/0000:00:06.0/device");
  put (host, "0x060000\n", "/sys/bus/pci/devices/0000:00:00.0/class"); /* host bridge */
  put (host, "0x8086\n", "/sys/bus/pci/devices/0000:00:00.0/vendor");
  mkdir_in (host, "/sys/bus/pci/drivers/nvidia");
  {
    char link[PATH_MAX];
    snprintf (link, sizeof link, "%s/sys/bus/pci/devices/0000:00:06.0/driver", host);
    assert_int_equal (symlink ("../../../bus/pci/drivers/nvidia", link), 0);
  }
  mkdir_in (host, "/dev");
  mknod_in (host, "/dev/nvidia0", 195, 0);
  mknod_in (host, "/dev/nvidiactl", 195, 255);
  mknod_in (host, "/dev/nvidia-uvm", 238, 0);
  mknod_in (host, "/dev/nvidia-uvm-tools", 238, 1);
  h.root = host;

  assert_int_equal (za_gpu_detect (&h, &l, &err), 0);
  assert_int_equal (l.n, 1);
  assert_int_equal (l.v[0].vendor, ZA_GPU_NVIDIA);
  assert_int_equal (l.v[0].index, 0);
  assert_string_equal (l.v[0].pci, "0000:00:06.0");
  assert_string_equal (l.v[0].model, "NVIDIA H100 80GB HBM3");
  assert_string_equal (l.v[0].uuid, "GPU-11b1f9b6-394f-163d-caf4-07f33fd65cd4");
  assert_string_equal (l.v[0].driver, "nvidia");
  assert_string_equal (l.v[0].driver_version, "580.159.04");
  assert_int_equal (l.v[0].nodes.n, 1);
  assert_string_equal (l.v[0].nodes.v[0], "/dev/nvidia0");
  za_gpu_list_clear (&l);

  /* /proc/devices: character section only, exact names */
  assert_int_equal (za_proc_devices_major (&h, "nvidia-uvm"), 238);
  assert_int_equal (za_proc_devices_major (&h, "nvidia-caps"), 241);
  assert_int_equal (za_proc_devices_major (&h, "nvidia"), 195);
  assert_int_equal (za_proc_devices_major (&h, "nvidiactl"), 195);
  assert_int_equal (za_proc_devices_major (&h, "cpu/cpuid"), 203);
  assert_int_equal (za_proc_devices_major (&h, "mem"), 1);
  assert_int_equal (za_proc_devices_major (&h, "nvidia-cap"), -1);
  assert_int_equal (za_proc_devices_major (&h, "kfd"), -1);
  assert_int_equal (za_proc_devices_major (&h, "loop"), -1);    /* block */
  assert_int_equal (za_proc_devices_major (&h, "blkext"), -1);  /* block */
  {
    struct za_host none = { .root = "/nonexistent-za-host" };
    assert_int_equal (za_proc_devices_major (&none, "nvidia-uvm"), -1);
  }

  /* The plan's rules use the real dynamic majors, not the seed's 510.  */
  gpu.count.v = 1;
  gpu.vendor.s = "nvidia";
  c.host = &h;
  c.base = "services.train";
  c.service = "train";
  c.replica = 1;
  c.world_size = 1;
  assert_int_equal (za_gpu_plan_build (&c, &gpu, &route, &p, &warn, &err), 0);
  assert_null (err);
  assert_null (warn);
  assert_int_equal (p.nrules, 3);
  assert_int_equal (p.rules[0].major, 195);
  assert_int_equal (p.rules[1].major, 238);
  assert_int_equal (p.rules[2].major, 241);
  for (size_t i = 0; i < 3; i++)
    {
      assert_int_equal (p.rules[i].type, 'c');
      assert_int_equal (p.rules[i].minor, -1);
      assert_string_equal (p.rules[i].access, "rwm");
    }
  assert_int_equal (p.nnodes, 4);
  assert_string_equal (p.nodes[1].path, "/dev/nvidia-uvm");
  assert_int_equal (p.nodes[1].major, 238);
  assert_string_equal (p.nodes[3].path, "/dev/nvidia0");
  za_gpu_plan_clear (&p);

  /* The generated spec for it: 0, the UUID, all; cdiVersion 0.5.0.  */
  {
    json_t *spec = cdi_generate_into (host, ZA_GPU_NVIDIA, NULL);
    assert_string_equal (json_string_value (jp (spec, "cdiVersion")), "0.5.0");
    assert_int_equal (json_array_size (jp (spec, "devices")), 3);
    assert_string_equal (json_string_value (jp (spec, "devices.1.name")),
                         "GPU-11b1f9b6-394f-163d-caf4-07f33fd65cd4");
    assert_int_equal (json_array_size (jp (spec, "containerEdits.deviceNodes")), 3);
    assert_null (jp (spec, "containerEdits.mounts")); /* no driver libraries in this fake */
    json_decref (spec);
  }
}

/* The driver version from both /proc/driver/nvidia/version wordings.  */
static void
test_detect_nvidia_version (void **state)
{
  static const struct
  {
    const char *line, *want;
  } cases[] = {
    { "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (dvs-builder@U16-I1-N07-12-3)  Thu May  1 2025\n",
      "580.159.04" },
    { "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n", "550.54.15" },
    { "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  570.86.15  Release Build\n", "570.86.15" },
    { "NVRM version: something else entirely\n", NULL },
    { "", NULL },
  };
  struct fx *f = *state;
  char host[PATH_MAX];
  need_fakehost (f);
  mkhost (host, sizeof host, f, "version", "nvidia", 1, UVM);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      struct za_gpu_list l;
      struct za_err *err = NULL;
      struct za_host h = { .root = host };
      current_case = cases[i].line;
      put (host, cases[i].line, "/proc/driver/nvidia/version");
      assert_int_equal (za_gpu_detect (&h, &l, &err), 0);
      assert_int_equal (l.n, 1);
      if (cases[i].want)
        assert_string_equal (l.v[0].driver_version, cases[i].want);
      else
        assert_null (l.v[0].driver_version);
      za_gpu_list_clear (&l);
    }
}

/* Without PCI sysfs (inside a container), NVIDIA GPUs are found by their
   /dev/nvidiaN nodes; /dev/nvidiactl and friends are not GPUs.  */
static void
test_detect_node_fallback (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_gpu_list l;
  struct za_err *err = NULL;
  struct za_host h;
  need_fakehost (f);
  current_case = "fallback";
  mkhost (host, sizeof host, f, "fallback", "nvidia", 3, UVM);
  rm_in (host, "/sys");
  unlink_in (host, "/dev/nvidia1"); /* gaps keep the node names */
  mknod_in (host, "/dev/nvidia5", 195, 5);
  h.root = host;
  assert_int_equal (za_gpu_detect (&h, &l, &err), 0);
  assert_int_equal (l.n, 3);
  {
    const char *want[] = { "/dev/nvidia0", "/dev/nvidia2", "/dev/nvidia5" };
    for (unsigned i = 0; i < 3; i++)
      {
        assert_int_equal (l.v[i].vendor, ZA_GPU_NVIDIA);
        assert_int_equal (l.v[i].index, i);
        assert_null (l.v[i].pci);
        assert_null (l.v[i].uuid);
        assert_null (l.v[i].model);
        assert_string_equal (l.v[i].driver_version, "550.54.15");
        assert_int_equal (l.v[i].nodes.n, 1);
        assert_string_equal (l.v[i].nodes.v[0], want[i]);
      }
  }
  za_gpu_list_clear (&l);

  /* the generated spec then has no UUID names */
  {
    json_t *spec = cdi_generate_into (host, ZA_GPU_NVIDIA, NULL);
    assert_int_equal (json_array_size (jp (spec, "devices")), 4);
    assert_string_equal (json_string_value (jp (spec, "devices.0.name")), "0");
    assert_string_equal (json_string_value (jp (spec, "devices.1.name")), "1");
    assert_string_equal (json_string_value (jp (spec, "devices.1.containerEdits.deviceNodes.0.path")),
                         "/dev/nvidia2");
    assert_string_equal (json_string_value (jp (spec, "devices.3.name")), "all");
    assert_int_equal (json_array_size (jp (spec, "devices.3.containerEdits.deviceNodes")), 3);
    json_decref (spec);
  }

  /* a passthrough of 2 GPUs uses the first two nodes found */
  {
    struct run x;
    json_t *c = build_ok (&x,
                          "version: v1\ndeployment: gpu-test\nservices:\n  train:\n    image: {name: busybox}\n"
                          "    cgroup_parent: /zt\n    resources:\n      gpu: {count: 2}\n",
                          host, NULL, NULL);
    json_t *want = json_array ();
    json_array_append_new (want, node_j ("/dev/nvidiactl", 195, 255));
    json_array_append_new (want, node_j ("/dev/nvidia-uvm", UVM, 0));
    json_array_append_new (want, node_j ("/dev/nvidia-uvm-tools", UVM, 1));
    json_array_append_new (want, node_j ("/dev/nvidia0", 195, 0));
    json_array_append_new (want, node_j ("/dev/nvidia2", 195, 2));
    assert_json_eq ("linux.devices", jp (c, "linux.devices"), want);
    json_decref (want);
    run_clear (&x);
  }
}

/* ---- the build matrix: vendor × count × sharing × CDI ---------------- */

enum share
{
  SH_NONE,
  SH_MPS,
  SH_TS,
};
static const char *const share_names[] = { "none", "mps", "time-slice" };
/* The visibility variable a user sets in the spec env (replaced by the
   passthrough, left alone with CDI).  */
static const char *const user_key[] = { "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ZE_AFFINITY_MASK" };

struct mcase
{
  int v; /* enum za_gpu_vendor */
  int count;
  enum share sh;
  bool cdi;
};

static const char *
pipe_dir (int v)
{
  return v == ZA_GPU_NVIDIA ? "/tmp/nvidia-mps" : "/run/mps/pipe";
}
static const char *
log_dir (int v)
{
  return v == ZA_GPU_NVIDIA ? "/tmp/nvidia-log" : "/run/mps/log";
}

static char *
matrix_yaml (const struct mcase *c)
{
  char *s = NULL;
  size_t n = 0;
  FILE *f = open_memstream (&s, &n);
  assert_non_null (f);
  fprintf (f,
           "version: v1\ndeployment: gpu-test\nservices:\n  train:\n    image:\n      name: busybox:latest\n"
           "    cgroup_parent: /zt\n    env:\n      %s: \"7\"\n      FOO: bar\n    resources:\n      gpu:\n"
           "        count: %d\n        vendor: %s\n",
           user_key[c->v], c->count, vendors[c->v]);
  if (c->sh == SH_MPS)
    {
      fputs ("        sharing: mps\n", f);
      if (c->v != ZA_GPU_NVIDIA) /* nvidia: the defaults */
        fprintf (f, "        mps_pipe_dir: %s\n        mps_log_dir: %s\n", pipe_dir (c->v), log_dir (c->v));
    }
  else if (c->sh == SH_TS)
    fprintf (f, "        sharing: time-slice\n        time_slice_index: %d\n"
                "        time_slicing_config_path: /etc/zt/time-slicing.yaml\n",
             c->count - 1);
  /* nvidia: distributed with the defaults; amd: gloo on another port;
     intel: not distributed */
  if (c->v == ZA_GPU_NVIDIA)
    fputs ("        distributed: {}\n", f);
  else if (c->v == ZA_GPU_AMD)
    fputs ("        distributed:\n          backend: gloo\n          master_port: 29600\n", f);
  assert_int_equal (fclose (f), 0);
  return s;
}

static json_t *
matrix_env (const struct mcase *c)
{
  json_t *env = json_array ();
  char list[256] = "";
  for (int i = 0; i < c->count; i++)
    snprintf (list + strlen (list), sizeof list - strlen (list), "%s%d", i ? "," : "", i);
  jstr (env, DEFAULT_PATH);
  jstr (env, "TERM=xterm");
  env_replace (env, "%s=7", user_key[c->v]);
  env_replace (env, "FOO=bar");
  env_replace (env, "BAR=baz"); /* --env */
  if (!c->cdi)
    switch (c->v)
      {
      case ZA_GPU_NVIDIA:
        env_replace (env, "NVIDIA_VISIBLE_DEVICES=%s", list);
        env_replace (env, "CUDA_VISIBLE_DEVICES=%s", list);
        break;
      case ZA_GPU_AMD:
        env_replace (env, "ROCR_VISIBLE_DEVICES=%s", list);
        env_replace (env, "HIP_VISIBLE_DEVICES=%s", list);
        break;
      case ZA_GPU_INTEL:
        env_replace (env, "ZE_AFFINITY_MASK=%s", list);
        break;
      }
  if (c->sh == SH_MPS)
    {
      env_replace (env, "CUDA_MPS_PIPE_DIRECTORY=%s", pipe_dir (c->v));
      env_replace (env, "CUDA_MPS_LOG_DIRECTORY=%s", log_dir (c->v));
    }
  if (c->sh == SH_TS)
    env_replace (env, "CUDA_VISIBLE_DEVICES=%d", c->count - 1);
  if (c->v == ZA_GPU_NVIDIA)
    {
      env_replace (env, "MASTER_PORT=29500");
      env_replace (env, "MASTER_ADDR=train");
      env_replace (env, "WORLD_SIZE=1");
      env_replace (env, "RANK=0");
      env_replace (env, "LOCAL_RANK=0");
      env_replace (env, "NCCL_SOCKET_IFNAME=eth0");
    }
  else if (c->v == ZA_GPU_AMD)
    {
      env_replace (env, "MASTER_PORT=29600");
      env_replace (env, "MASTER_ADDR=train");
      env_replace (env, "WORLD_SIZE=1");
      env_replace (env, "RANK=0");
      env_replace (env, "LOCAL_RANK=0");
      env_replace (env, "GLOO_SOCKET_IFNAME=eth0");
    }
  /* CDI env last (the spec-level entry of the generated NVIDIA spec) */
  if (c->cdi && c->v == ZA_GPU_NVIDIA)
    jstr (env, "NVIDIA_VISIBLE_DEVICES=void");
  return env;
}

static int
depth (const char *p)
{
  int n = 0;
  for (; *p; p++)
    n += *p == '/';
  return n;
}

static json_t *
matrix_mounts (const struct mcase *c)
{
  static const char *const nv_cdi_mounts[] = {
    "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
    "/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15",
    "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
    "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15",
    "/usr/lib/x86_64-linux-gnu/libnvidia-ptxjitcompiler.so.1",
    "/usr/lib/x86_64-linux-gnu/libnvidia-ptxjitcompiler.so.550.54.15",
    "/usr/bin/nvidia-smi",
    "/lib/firmware/nvidia/550.54.15/gsp_ga10x.bin",
    NULL,
  };
  json_t *m = default_mounts ();
  if (c->sh == SH_MPS)
    {
      json_array_append_new (m, mount_j (pipe_dir (c->v), "bind", pipe_dir (c->v), "rbind,rw"));
      json_array_append_new (m, mount_j (log_dir (c->v), "bind", log_dir (c->v), "rbind,rw"));
    }
  if (c->sh == SH_TS)
    json_array_append_new (m, mount_j ("/etc/nvidia/gpu-time-slicing.yaml", "bind", "/etc/zt/time-slicing.yaml",
                                       "rbind,ro"));
  if (c->cdi && c->v == ZA_GPU_NVIDIA)
    {
      /* CDI mounts (no type), then the library's stable sort of the
         whole list by destination depth (parents before children).  */
      json_t *sorted = json_array ();
      for (int i = 0; nv_cdi_mounts[i]; i++)
        json_array_append_new (m, mount_j (nv_cdi_mounts[i], NULL, nv_cdi_mounts[i], "ro,nosuid,nodev,bind"));
      for (int d = 0; d < 16; d++)
        for (size_t i = 0; i < json_array_size (m); i++)
          if (depth (json_string_value (json_object_get (json_array_get (m, i), "destination"))) == d)
            json_array_append (sorted, json_array_get (m, i));
      json_decref (m);
      m = sorted;
    }
  return m;
}

/* The GPU nodes in the order they are injected, with mkhost's numbers.  */
static json_t *
matrix_nodes (const struct mcase *c, const char *host)
{
  json_t *a = json_array ();
  char p[64];
#define NODE(path, ma, mi)                                                                                         \
  json_array_append_new (a, c->cdi ? cdi_node_j (host, path, ma, mi) : node_j (path, ma, mi))
  if (c->v == ZA_GPU_NVIDIA)
    {
      NODE ("/dev/nvidiactl", 195, 255);
      NODE ("/dev/nvidia-uvm", UVM, 0);
      NODE ("/dev/nvidia-uvm-tools", UVM, 1);
      if (c->cdi)
        NODE ("/dev/nvidia-modeset", 195, 254);
      for (int i = 0; i < c->count; i++)
        {
          snprintf (p, sizeof p, "/dev/nvidia%d", i);
          NODE (p, 195, i);
        }
    }
  else
    {
      if (c->v == ZA_GPU_AMD)
        NODE ("/dev/kfd", UVM - 2, 0);
      if (c->cdi) /* a CDI spec: device by device */
        for (int i = 0; i < c->count; i++)
          {
            snprintf (p, sizeof p, "/dev/dri/card%d", i);
            NODE (p, 226, i);
            snprintf (p, sizeof p, "/dev/dri/renderD%d", 128 + i);
            NODE (p, 226, 128 + i);
          }
      else /* passthrough, the seed's order (§11.7): every renderD*, then every card* */
        for (int pass = 0; pass < 2; pass++)
          for (int i = 0; i < c->count; i++)
            {
              snprintf (p, sizeof p, pass ? "/dev/dri/card%d" : "/dev/dri/renderD%d", pass ? i : 128 + i);
              NODE (p, 226, pass ? i : 128 + i);
            }
    }
#undef NODE
  return a;
}

static json_t *
matrix_rules (const struct mcase *c, const json_t *nodes)
{
  json_t *r = std_rules ();
  if (c->v == ZA_GPU_NVIDIA)
    {
      json_array_append_new (r, rule_j (true, 'c', 195, -1, "rwm"));
      json_array_append_new (r, rule_j (true, 'c', UVM, -1, "rwm"));     /* nvidia-uvm */
      json_array_append_new (r, rule_j (true, 'c', UVM - 1, -1, "rwm")); /* nvidia-caps */
    }
  else
    {
      json_array_append_new (r, rule_j (true, 'c', 226, -1, "rwm"));
      if (c->v == ZA_GPU_AMD)
        json_array_append_new (r, rule_j (true, 'c', UVM - 2, -1, "rwm")); /* kfd */
    }
  /* CDI nodes get exact rules of their own */
  for (size_t i = 0; c->cdi && i < json_array_size (nodes); i++)
    {
      json_t *n = json_array_get ((json_t *) nodes, i);
      json_array_append_new (r, rule_j (true, 'c', json_integer_value (json_object_get (n, "major")),
                                        json_integer_value (json_object_get (n, "minor")), "rwm"));
    }
  return r;
}

static void
matrix_vendor (struct fx *f, int v)
{
  static const int counts[] = { 1, 2, 8 };
  for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++)
    {
      char host[PATH_MAX], cdidir[PATH_MAX];
      shared_host (host, sizeof host, vendors[v], counts[ci]);
      mkdir_in (host, "/tmp/nvidia-mps");
      mkdir_in (host, "/tmp/nvidia-log");
      mkdir_in (host, "/run/mps/pipe");
      mkdir_in (host, "/run/mps/log");
      put (host, "version: v1\nsharing:\n  timeSlicing:\n    resources:\n    - name: nvidia.com/gpu\n      replicas: 4\n",
           "/etc/zt/time-slicing.yaml");
      snprintf (cdidir, sizeof cdidir, "%s/cdi-%s-%d", f->dir, vendors[v], counts[ci]);
      json_decref (cdi_generate_into (host, (enum za_gpu_vendor) v, cdidir));
      for (int sh = SH_NONE; sh <= SH_TS; sh++)
        for (int cdi = 0; cdi < 2; cdi++)
          {
            struct mcase c = { .v = v, .count = counts[ci], .sh = (enum share) sh, .cdi = cdi };
            char label[128];
            cleanup_free char *yaml = matrix_yaml (&c);
            struct za_build_opts o = opts_for (host);
            const char *env_extra[] = { "BAR=baz" };
            struct run x;
            json_t *cfg, *want;
            json_t *nodes;
            size_t nwarn = 0;
            snprintf (label, sizeof label, "%s count=%d sharing=%s %s", vendors[v], c.count, share_names[sh],
                      cdi ? "cdi" : "passthrough");
            current_case = label;
            o.env = env_extra;
            o.nenv = 1;
            cfg = build_ok (&x, yaml, host, cdi ? cdidir : NULL, &o);

            devices_of (&x, cdi ? cdidir : NULL);
            assert_null (x.warn);
            if (cdi)
              {
                assert_int_equal (x.cdi.gpu.via, ZA_GPU_VIA_CDI);
                assert_int_equal (x.cdi.names.n, (size_t) c.count);
                for (int i = 0; i < c.count; i++)
                  {
                    char want_name[64];
                    snprintf (want_name, sizeof want_name, "%s=%d", za_gpu_vendor_cdi_kind ((enum za_gpu_vendor) v), i);
                    assert_string_equal (x.cdi.names.v[i], want_name);
                  }
              }

            want = matrix_env (&c);
            assert_json_eq ("process.env", jp (cfg, "process.env"), want);
            json_decref (want);

            want = matrix_mounts (&c);
            assert_json_eq ("mounts", jp (cfg, "mounts"), want);
            json_decref (want);

            nodes = matrix_nodes (&c, host);
            assert_json_eq ("linux.devices", jp (cfg, "linux.devices"), nodes);
            want = matrix_rules (&c, nodes);
            assert_json_eq ("linux.resources.devices", jp (cfg, "linux.resources.devices"), want);
            json_decref (want);
            json_decref (nodes);

            assert_string_equal (json_string_value (jp (cfg, "linux.cgroupsPath")), "/zt/train-rep-1");
            assert_null (jp (cfg, "hooks"));

            /* warnings: only MPS on a non-NVIDIA vendor */
            for (const struct za_err *w = x.r.warnings; w; w = w->next)
              nwarn++;
            if (sh == SH_MPS && v != ZA_GPU_NVIDIA)
              {
                assert_chain_has (x.r.warnings, "warning", "sharing: mps is an NVIDIA feature; vendor is");
                assert_int_equal (nwarn, 1);
              }
            else if (nwarn)
              {
                dump_chain ("warning", x.r.warnings);
                fail_msg ("[%s] unexpected warnings", label);
              }
            run_clear (&x);
          }
    }
}

static void
test_matrix_nvidia (void **state)
{
  need_fakehost (*state);
  matrix_vendor (*state, ZA_GPU_NVIDIA);
}

static void
test_matrix_amd (void **state)
{
  need_fakehost (*state);
  matrix_vendor (*state, ZA_GPU_AMD);
}

static void
test_matrix_intel (void **state)
{
  need_fakehost (*state);
  matrix_vendor (*state, ZA_GPU_INTEL);
}

/* ---- requests the host cannot satisfy -------------------------------- */

#define SVC_HEAD                                                                                                   \
  "version: v1\ndeployment: gpu-test\nservices:\n  train:\n    image:\n      name: busybox:latest\n"           \
  "    cgroup_parent: /zt\n"

/* More GPUs than detected: an input error at services.train.resources.gpu,
   for each vendor and host size (0 GPUs included).  */
static void
test_too_many (void **state)
{
  static const int counts[] = { 0, 1, 2, 8 };
  struct fx *f = *state;
  need_fakehost (f);
  for (int v = 0; v < 3; v++)
    for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++)
      {
        char host[PATH_MAX], name[64], yaml[512], msg[128];
        struct run x;
        int want = counts[ci] + 1;
        snprintf (name, sizeof name, "many-%s-%d", vendors[v], counts[ci]);
        current_case = name;
        shared_host (host, sizeof host, vendors[v], counts[ci]);
        snprintf (yaml, sizeof yaml, SVC_HEAD "    resources:\n      gpu:\n        count: %d\n        vendor: %s\n",
                  want, vendors[v]);
        snprintf (msg, sizeof msg, "requested %d %s GPU%s but the host has %d", want, vendors[v],
                  want == 1 ? "" : "s", counts[ci]);
        build_fail (&x, yaml, host, NULL, msg, "services.train.resources.gpu");
        {
          const struct za_err *e = chain_find (x.err, msg);
          assert_int_equal (e->line, 10); /* the count value */
          assert_int_equal (e->col, 16);
        }
        run_clear (&x);
      }
}

/* count 0 means no GPU at all: no env, nodes, rules, sharing checks (the
   MPS directories do not exist here), distributed env or CDI.  */
static void
test_count_zero (void **state)
{
  struct fx *f = *state;
  need_fakehost (f);
  for (int v = 0; v < 3; v++)
    for (int cdi = 0; cdi < 2; cdi++)
      {
        char host[PATH_MAX], name[64], yaml[1024], cdidir[PATH_MAX];
        struct run x;
        json_t *cfg, *want;
        snprintf (name, sizeof name, "zero-%s", vendors[v]);
        current_case = name;
        if (cdi == 0)
          mkhost (host, sizeof host, f, name, vendors[v], 2, UVM);
        else
          snprintf (host, sizeof host, "%s/%s", f->dir, name);
        snprintf (cdidir, sizeof cdidir, "%s/cdi-%s", f->dir, name);
        if (cdi == 0)
          json_decref (cdi_generate_into (host, (enum za_gpu_vendor) v, cdidir));
        snprintf (yaml, sizeof yaml,
                  SVC_HEAD "    resources:\n      gpu:\n        count: 0\n        vendor: %s\n        sharing: mps\n"
                           "        mps_pipe_dir: /nonexistent/pipe\n        distributed: {}\n",
                  vendors[v]);
        cfg = build_ok (&x, yaml, host, cdi ? cdidir : NULL, NULL);
        devices_of (&x, cdi ? cdidir : NULL);
        assert_int_equal (x.cdi.gpu.via, ZA_GPU_VIA_NONE);
        assert_null (x.cdi.reg); /* no registry loaded for no GPU */
        assert_int_equal (x.cdi.names.n, 0);
        assert_null (x.r.warnings);
        want = json_pack ("[s,s]", DEFAULT_PATH, "TERM=xterm");
        assert_json_eq ("process.env", jp (cfg, "process.env"), want);
        json_decref (want);
        want = default_mounts ();
        assert_json_eq ("mounts", jp (cfg, "mounts"), want);
        json_decref (want);
        assert_null (jp (cfg, "linux.devices"));
        want = std_rules ();
        assert_json_eq ("linux.resources.devices", jp (cfg, "linux.resources.devices"), want);
        json_decref (want);
        run_clear (&x);
      }
}

/* A missing node is a warning and is skipped; a driver missing from
   /proc/devices is a warning and gets no rule.  */
static void
test_missing_nodes_and_drivers (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct run x;
  json_t *cfg, *want;
  need_fakehost (f);
  current_case = "missing";
  mkhost (host, sizeof host, f, "missing", "nvidia", 2, UVM);
  unlink_in (host, "/dev/nvidia-uvm-tools");
  unlink_in (host, "/dev/nvidia1");
  put (host, "Character devices:\n195 nvidia\n509 nvidia-uvm\n\nBlock devices:\n  8 sd\n", "/proc/devices");
  cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 2}\n", host, NULL, NULL);
  assert_chain_has (x.r.warnings, "warning", "GPU device /dev/nvidia-uvm-tools not found on host, skipping");
  assert_chain_has (x.r.warnings, "warning", "GPU device /dev/nvidia1 not found on host, skipping");
  assert_chain_has (x.r.warnings, "warning", "nvidia-caps not in /proc/devices");
  want = json_array ();
  json_array_append_new (want, node_j ("/dev/nvidiactl", 195, 255));
  json_array_append_new (want, node_j ("/dev/nvidia-uvm", UVM, 0));
  json_array_append_new (want, node_j ("/dev/nvidia0", 195, 0));
  assert_json_eq ("linux.devices", jp (cfg, "linux.devices"), want);
  json_decref (want);
  want = std_rules ();
  json_array_append_new (want, rule_j (true, 'c', 195, -1, "rwm"));
  json_array_append_new (want, rule_j (true, 'c', UVM, -1, "rwm"));
  assert_json_eq ("linux.resources.devices", jp (cfg, "linux.resources.devices"), want);
  json_decref (want);
  run_clear (&x);

  /* AMD without kfd: no kfd node, no kfd rule, two warnings */
  mkhost (host, sizeof host, f, "missing-amd", "amd", 1, UVM);
  unlink_in (host, "/dev/kfd");
  put (host, "Character devices:\n226 drm\n", "/proc/devices");
  cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 1, vendor: amd}\n", host, NULL, NULL);
  assert_chain_has (x.r.warnings, "warning", "GPU device /dev/kfd not found on host, skipping");
  assert_chain_has (x.r.warnings, "warning", "kfd not in /proc/devices");
  /* the seed's order: render nodes, then cards (§11.7) */
  want = json_array ();
  json_array_append_new (want, node_j ("/dev/dri/renderD128", 226, 128));
  json_array_append_new (want, node_j ("/dev/dri/card0", 226, 0));
  assert_json_eq ("linux.devices", jp (cfg, "linux.devices"), want);
  json_decref (want);
  want = std_rules ();
  json_array_append_new (want, rule_j (true, 'c', 226, -1, "rwm"));
  assert_json_eq ("linux.resources.devices", jp (cfg, "linux.resources.devices"), want);
  json_decref (want);
  run_clear (&x);
}

/* dev_t decoded with major()/minor(): a UVM major > 255 (the seed's
   (rdev >> 8) & 0xff turned 509 into 253) and a minor > 255.  */
static void
test_big_device_numbers (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct run x;
  json_t *cfg, *want;
  need_fakehost (f);
  current_case = "big numbers";
  mkhost (host, sizeof host, f, "big", "nvidia", 1, 3000);
  put (host, "Model: \t\t NVIDIA H100\nGPU UUID: \t GPU-00000000-1111-2222-3333-444444444444\nDevice Minor: \t 300\n",
       "/proc/driver/nvidia/gpus/0000:01:00.0/information");
  unlink_in (host, "/dev/nvidia0");
  mknod_in (host, "/dev/nvidia300", 195, 300);
  cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 1}\n", host, NULL, NULL);
  want = json_array ();
  json_array_append_new (want, node_j ("/dev/nvidiactl", 195, 255));
  json_array_append_new (want, node_j ("/dev/nvidia-uvm", 3000, 0));
  json_array_append_new (want, node_j ("/dev/nvidia-uvm-tools", 3000, 1));
  json_array_append_new (want, node_j ("/dev/nvidia300", 195, 300));
  assert_json_eq ("linux.devices", jp (cfg, "linux.devices"), want);
  json_decref (want);
  want = std_rules ();
  json_array_append_new (want, rule_j (true, 'c', 195, -1, "rwm"));
  json_array_append_new (want, rule_j (true, 'c', 3000, -1, "rwm"));
  json_array_append_new (want, rule_j (true, 'c', 2999, -1, "rwm"));
  assert_json_eq ("linux.resources.devices", jp (cfg, "linux.resources.devices"), want);
  json_decref (want);
  run_clear (&x);

  /* the same numbers through CDI */
  {
    char cdidir[PATH_MAX];
    snprintf (cdidir, sizeof cdidir, "%s/cdi-big", f->dir);
    json_decref (cdi_generate_into (host, ZA_GPU_NVIDIA, cdidir));
    cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 1}\n", host, cdidir, NULL);
    devices_of (&x, cdidir);
    assert_int_equal (x.cdi.gpu.via, ZA_GPU_VIA_CDI);
    want = json_array ();
    json_array_append_new (want, cdi_node_j (host, "/dev/nvidiactl", 195, 255));
    json_array_append_new (want, cdi_node_j (host, "/dev/nvidia-uvm", 3000, 0));
    json_array_append_new (want, cdi_node_j (host, "/dev/nvidia-uvm-tools", 3000, 1));
    json_array_append_new (want, cdi_node_j (host, "/dev/nvidia-modeset", 195, 254));
    json_array_append_new (want, cdi_node_j (host, "/dev/nvidia300", 195, 300));
    assert_json_eq ("linux.devices (CDI)", jp (cfg, "linux.devices"), want);
    json_decref (want);
    assert_int_equal (json_integer_value (jp (cfg, "linux.resources.devices.17.major")), 195);
    assert_int_equal (json_integer_value (jp (cfg, "linux.resources.devices.17.minor")), 300);
    run_clear (&x);
  }
}

/* Privileged containers get no GPU cgroup rules (allow-all already), but
   still the nodes and env.  */
static void
test_privileged (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX], cdidir[PATH_MAX];
  struct run x;
  json_t *cfg, *want;
  need_fakehost (f);
  current_case = "privileged";
  mkhost (host, sizeof host, f, "priv", "amd", 2, UVM);
  cfg = build_ok (&x, SVC_HEAD "    privileged: true\n    resources:\n      gpu: {count: 2, vendor: amd}\n", host,
                  NULL, NULL);
  want = json_pack ("[{s:b, s:s}]", "allow", 1, "access", "rwm");
  assert_json_eq ("linux.resources.devices", jp (cfg, "linux.resources.devices"), want);
  json_decref (want);
  assert_int_equal (json_array_size (jp (cfg, "linux.devices")), 5);
  assert_string_equal (json_string_value (jp (cfg, "process.env.2")), "ROCR_VISIBLE_DEVICES=0,1");
  run_clear (&x);

  /* with CDI the library still adds exact rules for its nodes */
  snprintf (cdidir, sizeof cdidir, "%s/cdi-priv", f->dir);
  json_decref (cdi_generate_into (host, ZA_GPU_AMD, cdidir));
  cfg = build_ok (&x, SVC_HEAD "    privileged: true\n    resources:\n      gpu: {count: 1, vendor: amd}\n", host,
                  cdidir, NULL);
  want = json_pack ("[{s:b, s:s}, {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s}]",
                    "allow", 1, "access", "rwm", "allow", 1, "type", "c", "major", UVM - 2, "minor", 0, "access",
                    "rwm", "allow", 1, "type", "c", "major", 226, "minor", 0, "access", "rwm", "allow", 1, "type",
                    "c", "major", 226, "minor", 128, "access", "rwm");
  assert_json_eq ("linux.resources.devices (CDI)", jp (cfg, "linux.resources.devices"), want);
  json_decref (want);
  run_clear (&x);
}

/* Unknown vendors: no env, renderD{128+i} nodes (warnings), DRI rule,
   no CDI kind, no "too many" check.  */
static void
test_unknown_vendor (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX], cdidir[PATH_MAX];
  struct run x;
  json_t *cfg, *want;
  need_fakehost (f);
  current_case = "unknown vendor";
  mkhost (host, sizeof host, f, "apple", "intel", 1, UVM);
  /* a BMC's VGA (an "unknown" vendor) with a DRM card is not used */
  put (host, "0x030000\n", "/sys/bus/pci/devices/0000:08:00.0/class");
  put (host, "0x1a03\n", "/sys/bus/pci/devices/0000:08:00.0/vendor");
  mkdir_in (host, "/sys/class/drm/card1");
  {
    char link[PATH_MAX];
    snprintf (link, sizeof link, "%s/sys/class/drm/card1/device", host);
    assert_int_equal (symlink ("../../../bus/pci/devices/0000:08:00.0", link), 0);
  }
  mknod_in (host, "/dev/dri/card1", 226, 1);
  snprintf (cdidir, sizeof cdidir, "%s/cdi-apple", f->dir);
  json_decref (cdi_generate_into (host, ZA_GPU_INTEL, cdidir));
  for (int cdi = 0; cdi < 2; cdi++)
    {
      cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 2, vendor: apple}\n", host,
                      cdi ? cdidir : NULL, NULL);
      devices_of (&x, cdi ? cdidir : NULL);
      assert_int_equal (x.cdi.gpu.via, ZA_GPU_VIA_PASSTHROUGH);
      assert_chain_has (x.r.warnings, "warning", "Unknown GPU vendor 'apple', attempting DRI device passthrough");
      assert_chain_has (x.r.warnings, "warning", "Unknown GPU vendor 'apple', allowing DRI devices (major 226)");
      assert_chain_has (x.r.warnings, "warning", "GPU device /dev/dri/renderD129 not found on host, skipping");
      want = json_pack ("[s,s]", DEFAULT_PATH, "TERM=xterm");
      assert_json_eq ("process.env", jp (cfg, "process.env"), want);
      json_decref (want);
      want = json_array ();
      json_array_append_new (want, node_j ("/dev/dri/renderD128", 226, 128));
      assert_json_eq ("linux.devices", jp (cfg, "linux.devices"), want);
      json_decref (want);
      want = std_rules ();
      json_array_append_new (want, rule_j (true, 'c', 226, -1, "rwm"));
      assert_json_eq ("linux.resources.devices", jp (cfg, "linux.resources.devices"), want);
      json_decref (want);
      run_clear (&x);
    }
}

/* ---- sharing errors ---------------------------------------------------- */

static void
test_mps_errors (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct run x;
  need_fakehost (f);
  mkhost (host, sizeof host, f, "mps", "nvidia", 1, UVM);
  current_case = "mps default pipe missing";
  build_fail (&x, SVC_HEAD "    resources:\n      gpu: {sharing: mps}\n", host, NULL,
              "GPU sharing mode 'mps' is unavailable: MPS pipe directory /tmp/nvidia-mps does not exist; ensure "
              "nvidia-cuda-mps-control is running",
              "services.train.resources.gpu");
  run_clear (&x);
  /* the pipe dir is checked first, then the log dir */
  mkdir_in (host, "/tmp/nvidia-mps");
  current_case = "mps default log missing";
  build_fail (&x, SVC_HEAD "    resources:\n      gpu: {sharing: mps}\n", host, NULL,
              "GPU sharing mode 'mps' is unavailable: MPS log directory /tmp/nvidia-log does not exist; ensure "
              "nvidia-cuda-mps-control is running",
              "services.train.resources.gpu");
  run_clear (&x);
  /* a file is not a directory */
  put (host, "x", "/tmp/nvidia-log");
  build_fail (&x, SVC_HEAD "    resources:\n      gpu: {sharing: mps}\n", host, NULL,
              "MPS log directory /tmp/nvidia-log does not exist", NULL);
  run_clear (&x);
  /* custom dirs: checked under the host root, mounted at the same path */
  current_case = "mps custom";
  build_fail (&x,
              SVC_HEAD "    resources:\n      gpu:\n        sharing: mps\n        mps_pipe_dir: /srv/mps\n"
                       "        mps_log_dir: /srv/mps-log\n",
              host, NULL, "MPS pipe directory /srv/mps does not exist", NULL);
  {
    const struct za_err *e = chain_find (x.err, "/srv/mps");
    assert_int_equal (e->line, 11); /* at the mps_pipe_dir value */
  }
  run_clear (&x);
  mkdir_in (host, "/srv/mps");
  mkdir_in (host, "/srv/mps-log");
  {
    json_t *cfg = build_ok (&x,
                            SVC_HEAD "    resources:\n      gpu:\n        sharing: mps\n        mps_pipe_dir: /srv/mps\n"
                                     "        mps_log_dir: /srv/mps-log\n",
                            host, NULL, NULL);
    json_t *want = default_mounts ();
    json_array_append_new (want, mount_j ("/srv/mps", "bind", "/srv/mps", "rbind,rw"));
    json_array_append_new (want, mount_j ("/srv/mps-log", "bind", "/srv/mps-log", "rbind,rw"));
    assert_json_eq ("mounts", jp (cfg, "mounts"), want);
    json_decref (want);
    run_clear (&x);
  }
  /* relative directories are rejected */
  build_fail (&x, SVC_HEAD "    resources:\n      gpu: {sharing: mps, mps_pipe_dir: srv/mps}\n", host, NULL,
              "must be an absolute path", NULL);
  run_clear (&x);
}

/* MPS mounts go after the resolv.conf mount.  */
static void
test_mps_after_resolv (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct run x;
  json_t *cfg;
  need_fakehost (f);
  current_case = "mps + dns";
  mkhost (host, sizeof host, f, "dns", "nvidia", 1, UVM);
  mkdir_in (host, "/tmp/nvidia-mps");
  mkdir_in (host, "/tmp/nvidia-log");
  cfg = build_ok (&x, SVC_HEAD "    dns: [10.0.0.2]\n    resources:\n      gpu: {sharing: mps}\n", host, NULL, NULL);
  assert_int_equal (json_array_size (jp (cfg, "mounts")), 10);
  assert_string_equal (json_string_value (jp (cfg, "mounts.7.destination")), "/etc/resolv.conf");
  assert_string_equal (json_string_value (jp (cfg, "mounts.8.destination")), "/tmp/nvidia-mps");
  assert_string_equal (json_string_value (jp (cfg, "mounts.9.destination")), "/tmp/nvidia-log");
  run_clear (&x);
}

static void
test_time_slice_errors (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX], link[PATH_MAX];
  struct run x;
  json_t *cfg;
  need_fakehost (f);
  mkhost (host, sizeof host, f, "ts", "nvidia", 2, UVM);
  current_case = "time-slice config missing";
  build_fail (&x,
              SVC_HEAD "    resources:\n      gpu:\n        count: 2\n        sharing: time-slice\n"
                       "        time_slicing_config_path: /etc/ts.yaml\n",
              host, NULL,
              "GPU sharing mode 'time-slice' is unavailable: time-slicing config /etc/ts.yaml is not a regular "
              "file on the host",
              "services.train.resources.gpu");
  run_clear (&x);
  current_case = "time-slice config is a directory";
  mkdir_in (host, "/etc/ts.d");
  build_fail (&x,
              SVC_HEAD "    resources:\n      gpu:\n        sharing: time-slice\n"
                       "        time_slicing_config_path: /etc/ts.d\n",
              host, NULL, "time-slicing config /etc/ts.d is not a regular file on the host", NULL);
  run_clear (&x);
  current_case = "time-slice index out of range";
  build_fail (&x,
              SVC_HEAD "    resources:\n      gpu:\n        count: 2\n        sharing: time-slice\n"
                       "        time_slice_index: 2\n",
              host, NULL, "time_slice_index 2 is out of range for 2 GPUs", "services.train.resources.gpu");
  run_clear (&x);

  /* a symlink to a regular file is followed; the index without a config
     path only sets CUDA_VISIBLE_DEVICES; the config without an index only
     mounts it */
  current_case = "time-slice symlink";
  put (host, "x: 1\n", "/etc/ts-real.yaml");
  snprintf (link, sizeof link, "%s/etc/ts-link.yaml", host);
  assert_int_equal (symlink ("ts-real.yaml", link), 0);
  cfg = build_ok (&x,
                  SVC_HEAD "    resources:\n      gpu:\n        count: 2\n        sharing: time-slice\n"
                           "        time_slicing_config_path: /etc/ts-link.yaml\n",
                  host, NULL, NULL);
  assert_string_equal (json_string_value (jp (cfg, "mounts.7.destination")), "/etc/nvidia/gpu-time-slicing.yaml");
  assert_string_equal (json_string_value (jp (cfg, "mounts.7.source")), "/etc/ts-link.yaml");
  assert_string_equal (json_string_value (jp (cfg, "process.env.3")), "CUDA_VISIBLE_DEVICES=0,1");
  run_clear (&x);
  cfg = build_ok (&x,
                  SVC_HEAD "    resources:\n      gpu:\n        count: 2\n        sharing: time-slice\n"
                           "        time_slice_index: 1\n",
                  host, NULL, NULL);
  assert_int_equal (json_array_size (jp (cfg, "mounts")), 7);
  {
    json_t *want = json_pack ("[s,s,s,s]", DEFAULT_PATH, "TERM=xterm", "NVIDIA_VISIBLE_DEVICES=0,1",
                              "CUDA_VISIBLE_DEVICES=1");
    assert_json_eq ("process.env", jp (cfg, "process.env"), want);
    json_decref (want);
  }
  run_clear (&x);
  /* time-slice settings under another sharing mode are ignored */
  cfg = build_ok (&x,
                  SVC_HEAD "    resources:\n      gpu:\n        count: 2\n        time_slice_index: 1\n"
                           "        time_slicing_config_path: /nonexistent\n",
                  host, NULL, NULL);
  assert_string_equal (json_string_value (jp (cfg, "process.env.3")), "CUDA_VISIBLE_DEVICES=0,1");
  assert_int_equal (json_array_size (jp (cfg, "mounts")), 7);
  run_clear (&x);
}

/* ---- distributed ----------------------------------------------------- */

static void
test_distributed (void **state)
{
  static const struct
  {
    const char *gpu_extra, *scale;
    unsigned replica;
    const char *want[7];
  } cases[] = {
    { "distributed: {}", "", 1,
      { "MASTER_PORT=29500", "MASTER_ADDR=train", "WORLD_SIZE=1", "RANK=0", "LOCAL_RANK=0", "NCCL_SOCKET_IFNAME=eth0" } },
    { "distributed: {backend: gloo, master_port: 1234}", "    scale: {mode: fixed, replicas: 4}\n", 3,
      { "MASTER_PORT=1234", "MASTER_ADDR=train", "WORLD_SIZE=4", "RANK=2", "LOCAL_RANK=0", "GLOO_SOCKET_IFNAME=eth0" } },
    { "distributed: {backend: mpi}", "    scale: {mode: fixed, replicas: 2}\n", 1,
      { "MASTER_PORT=29500", "MASTER_ADDR=train", "WORLD_SIZE=2", "RANK=0", "LOCAL_RANK=0" } },
    /* adaptive scale: world size 1 */
    { "distributed: {backend: NCCL}", "    scale: {mode: adaptive, min: 1, max: 4}\n", 1,
      { "MASTER_PORT=29500", "MASTER_ADDR=train", "WORLD_SIZE=1", "RANK=0", "LOCAL_RANK=0" } },
    /* a replica beyond the fixed count still gets a consistent world */
    { "distributed: {}", "    scale: {mode: fixed, replicas: 2}\n", 5,
      { "MASTER_PORT=29500", "MASTER_ADDR=train", "WORLD_SIZE=5", "RANK=4", "LOCAL_RANK=0", "NCCL_SOCKET_IFNAME=eth0" } },
  };
  struct fx *f = *state;
  char host[PATH_MAX];
  need_fakehost (f);
  mkhost (host, sizeof host, f, "dist", "nvidia", 1, UVM);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char yaml[1024];
      struct run x;
      struct za_build_opts o = opts_for (host);
      json_t *cfg, *want;
      current_case = cases[i].gpu_extra;
      o.replica = cases[i].replica;
      /* user values for the same keys are replaced, not duplicated */
      snprintf (yaml, sizeof yaml,
                SVC_HEAD "%s    env:\n      RANK: \"9\"\n      MASTER_ADDR: elsewhere\n    resources:\n"
                         "      gpu: {count: 1, %s}\n",
                cases[i].scale, cases[i].gpu_extra);
      cfg = build_ok (&x, yaml, host, NULL, &o);
      want = json_pack ("[s,s,s,s]", DEFAULT_PATH, "TERM=xterm", "NVIDIA_VISIBLE_DEVICES=0", "CUDA_VISIBLE_DEVICES=0");
      for (int k = 0; k < 7 && cases[i].want[k]; k++)
        jstr (want, "%s", cases[i].want[k]);
      assert_json_eq ("process.env", jp (cfg, "process.env"), want);
      json_decref (want);
      run_clear (&x);
    }
}

/* ---- the plan on its own ------------------------------------------------ */

static void
test_plan_direct (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_host h;
  struct za_gpu_spec gpu = { 0 };
  struct za_distributed dist = { 0 };
  struct za_gpu_ctx c = { 0 };
  struct za_gpu_route route = { 0 };
  struct za_gpu_plan p;
  struct za_err *err = NULL, *warn = NULL;
  need_fakehost (f);
  current_case = "plan";
  mkhost (host, sizeof host, f, "plan", "nvidia", 2, UVM);
  h.root = host;
  c.host = &h;
  c.base = "services.train";
  c.service = "train";
  c.replica = 2;
  c.world_size = 3;
  gpu.count.v = 2;
  gpu.vendor.s = "nvidia";
  dist.backend.s = "nccl";
  dist.master_port.v = 29500;
  gpu.distributed = &dist;

  /* via CDI: no visibility env, no nodes; rules and distributed env stay */
  route.via = ZA_GPU_VIA_CDI;
  assert_int_equal (za_gpu_plan_build (&c, &gpu, &route, &p, &warn, &err), 0);
  assert_null (warn);
  assert_int_equal (p.nnodes, 0);
  assert_int_equal (p.nmounts, 0);
  assert_int_equal (p.nrules, 3);
  assert_int_equal (p.env.n, 6);
  assert_string_equal (p.env.v[0], "MASTER_PORT=29500");
  assert_string_equal (p.env.v[2], "WORLD_SIZE=3");
  assert_string_equal (p.env.v[3], "RANK=1");
  za_gpu_plan_clear (&p);
  assert_int_equal (p.env.n, 0);
  assert_null (p.nodes);

  /* privileged: no rules */
  route.via = ZA_GPU_VIA_PASSTHROUGH;
  c.privileged = true;
  assert_int_equal (za_gpu_plan_build (&c, &gpu, &route, &p, &warn, &err), 0);
  assert_int_equal (p.nrules, 0);
  assert_int_equal (p.nnodes, 5);
  assert_string_equal (p.env.v[0], "NVIDIA_VISIBLE_DEVICES=0,1");
  assert_string_equal (p.env.v[1], "CUDA_VISIBLE_DEVICES=0,1");
  za_gpu_plan_clear (&p);

  /* an error leaves an empty plan */
  gpu.count.v = 3;
  assert_int_equal (za_gpu_plan_build (&c, &gpu, &route, &p, &warn, &err), -1);
  assert_non_null (err);
  assert_int_equal (err->code, ZA_EINPUT);
  assert_string_equal (err->msg, "requested 3 nvidia GPUs but the host has 2");
  assert_string_equal (err->path, "services.train.resources.gpu");
  assert_int_equal (p.env.n, 0);
  assert_int_equal (p.nnodes, 0);
  assert_null (p.nodes);
  za_err_free (&err);
  za_err_free (&warn);
}

/* Every allocation of the plan that fails is reported as out of memory
   (ENOMEM), never as a bare -1 (add_node and add_rule used to return -1
   with no error: the CLI exited 2 without a message), and leaves an
   empty plan.  */
static void
test_plan_out_of_memory (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_host h;
  struct za_gpu_spec gpu = { 0 };
  struct za_gpu_ctx c = { 0 };
  struct za_gpu_route route = { .via = ZA_GPU_VIA_PASSTHROUGH };
  struct za_gpu_plan p;
  unsigned failed = 0;
  need_fakehost (f);
  current_case = "plan oom";
  mkhost (host, sizeof host, f, "oom", "nvidia", 2, UVM);
  mkdir_in (host, "/tmp/nvidia-mps");
  mkdir_in (host, "/tmp/nvidia-log");
  h.root = host;
  c.host = &h;
  c.base = "services.train";
  c.service = "train";
  c.replica = 1;
  c.world_size = 1;
  gpu.count.v = 2;
  gpu.vendor.s = "nvidia";
  gpu.sharing.set = true;
  gpu.sharing.v = ZA_SHARING_MPS; /* mounts too */
  for (unsigned n = 1; n < 1000; n++)
    {
      struct za_err *err = NULL, *warn = NULL;
      unsigned left;
      int ret;
      za_gpu_plan_fail_alloc = n;
      ret = za_gpu_plan_build (&c, &gpu, &route, &p, &warn, &err);
      left = za_gpu_plan_fail_alloc;
      za_gpu_plan_fail_alloc = 0;
      za_err_free (&warn);
      if (ret == 0)
        {
          /* past the plan's last allocation: the whole plan */
          assert_true (left > 0);
          assert_null (err);
          assert_int_equal (p.nnodes, 5);
          assert_int_equal (p.nrules, 3);
          assert_int_equal (p.nmounts, 2);
          za_gpu_plan_clear (&p);
          break;
        }
      if (!err)
        fail_msg ("allocation %u failed and za_gpu_plan_build returned -1 without an error", n);
      assert_int_equal (err->code, ENOMEM);
      assert_null (err->next);
      assert_string_equal (err->msg, "out of memory");
      assert_int_equal (p.nnodes + p.nrules + p.nmounts + p.env.n, 0);
      za_err_free (&err);
      failed++;
    }
  /* nodes (realloc + path), rules, mounts (realloc + 3 strings) */
  assert_true (failed >= 5 * 2 + 3 + 2 * 4);
}

/* ---- CDI ---------------------------------------------------------------- */

/* The generated spec for each vendor and host size.  */
static void
test_cdi_generate (void **state)
{
  static const int counts[] = { 1, 2, 8 };
  struct fx *f = *state;
  need_fakehost (f);
  for (int v = 0; v < 3; v++)
    for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++)
      {
        char host[PATH_MAX], name[64];
        json_t *spec, *want_devices, *all_nodes, *edits;
        cleanup_free char *text = NULL;
        struct za_cdi_file *file = NULL;
        struct za_err *err = NULL;
        int n = counts[ci];
        snprintf (name, sizeof name, "gen-%s-%d", vendors[v], n);
        current_case = name;
        shared_host (host, sizeof host, vendors[v], n);
        spec = cdi_generate_into (host, (enum za_gpu_vendor) v, NULL);
        assert_string_equal (json_string_value (jp (spec, "cdiVersion")), "0.5.0");
        assert_string_equal (json_string_value (jp (spec, "kind")), za_gpu_vendor_cdi_kind ((enum za_gpu_vendor) v));

        want_devices = json_array ();
        all_nodes = json_array ();
        for (int i = 0; i < n; i++)
          {
            json_t *nodes = json_array ();
            char p[64], nm[64];
            if (v == ZA_GPU_NVIDIA)
              {
                snprintf (p, sizeof p, "/dev/nvidia%d", i);
                json_array_append_new (nodes, json_pack ("{s:s}", "path", p));
              }
            else
              {
                snprintf (p, sizeof p, "/dev/dri/card%d", i);
                json_array_append_new (nodes, json_pack ("{s:s}", "path", p));
                snprintf (p, sizeof p, "/dev/dri/renderD%d", 128 + i);
                json_array_append_new (nodes, json_pack ("{s:s}", "path", p));
              }
            json_array_extend (all_nodes, nodes);
            snprintf (nm, sizeof nm, "%d", i);
            json_array_append_new (want_devices,
                                   json_pack ("{s:s, s:{s:O}}", "name", nm, "containerEdits", "deviceNodes", nodes));
            if (v == ZA_GPU_NVIDIA)
              {
                snprintf (nm, sizeof nm, "GPU-%08x-1111-2222-3333-44444444444%d", 0xabc0 + i, i % 10);
                json_array_append_new (want_devices, json_pack ("{s:s, s:{s:O}}", "name", nm, "containerEdits",
                                                                "deviceNodes", nodes));
              }
            json_decref (nodes);
          }
        json_array_append_new (want_devices,
                               json_pack ("{s:s, s:{s:o}}", "name", "all", "containerEdits", "deviceNodes", all_nodes));
        assert_json_eq ("devices", jp (spec, "devices"), want_devices);
        json_decref (want_devices);

        edits = jp (spec, "containerEdits");
        switch (v)
          {
          case ZA_GPU_NVIDIA:
            {
              json_t *want = json_pack ("[{s:s},{s:s},{s:s},{s:s}]", "path", "/dev/nvidiactl", "path",
                                        "/dev/nvidia-uvm", "path", "/dev/nvidia-uvm-tools", "path",
                                        "/dev/nvidia-modeset");
              assert_json_eq ("spec deviceNodes", jp (edits, "deviceNodes"), want);
              json_decref (want);
              want = json_pack ("[s]", "NVIDIA_VISIBLE_DEVICES=void");
              assert_json_eq ("spec env", jp (edits, "env"), want);
              json_decref (want);
              assert_int_equal (json_array_size (jp (edits, "mounts")), 8);
              for (size_t i = 0; i < 8; i++)
                {
                  json_t *m = json_array_get (jp (edits, "mounts"), i);
                  json_t *o = json_pack ("[s,s,s,s]", "ro", "nosuid", "nodev", "bind");
                  assert_json_eq ("mount options", json_object_get (m, "options"), o);
                  json_decref (o);
                  assert_string_equal (json_string_value (json_object_get (m, "hostPath")),
                                       json_string_value (json_object_get (m, "containerPath")));
                }
              assert_string_equal (json_string_value (jp (edits, "mounts.0.hostPath")),
                                   "/usr/lib/x86_64-linux-gnu/libcuda.so.1");
              assert_string_equal (json_string_value (jp (edits, "mounts.6.hostPath")), "/usr/bin/nvidia-smi");
              assert_string_equal (json_string_value (jp (edits, "mounts.7.hostPath")),
                                   "/lib/firmware/nvidia/550.54.15/gsp_ga10x.bin");
              break;
            }
          case ZA_GPU_AMD:
            {
              json_t *want = json_pack ("{s:[{s:s}]}", "deviceNodes", "path", "/dev/kfd");
              assert_json_eq ("spec containerEdits", edits, want);
              json_decref (want);
              break;
            }
          case ZA_GPU_INTEL:
            assert_null (edits);
            break;
          }

        /* it parses back as a CDI spec of that version */
        text = json_dumps (spec, 0);
        assert_int_equal (za_cdi_file_parse ("gen.json", text, strlen (text), 0, &file, &err), 0);
        assert_string_equal (za_cdi_required_version (&file->spec), "0.5.0");
        za_cdi_file_free (file);
        json_decref (spec);
      }
}

static void
test_cdi_generate_errors (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_host h;
  json_t *spec = (json_t *) 1;
  struct za_err *err = NULL, *warn = NULL;
  need_fakehost (f);
  current_case = "generate errors";
  mkhost (host, sizeof host, f, "gen-err", "nvidia", 0, UVM);
  mkhost (host, sizeof host, f, "gen-err", "intel", 1, UVM);
  h.root = host;
  for (int v = 0; v < 2; v++) /* nvidia (count 0) and amd (none) */
    {
      char msg[64];
      assert_int_equal (za_gpu_cdi_generate (&h, (enum za_gpu_vendor) v, &spec, &warn, &err), -1);
      assert_null (spec);
      snprintf (msg, sizeof msg, "no %s GPUs found on this host", vendors[v]);
      assert_non_null (err);
      assert_int_equal (err->code, ZA_EINPUT);
      assert_string_equal (err->msg, msg);
      za_err_free (&err);
      spec = (json_t *) 1;
    }
  assert_int_equal (za_gpu_cdi_generate (&h, ZA_GPU_OTHER, &spec, &warn, &err), -1);
  assert_int_equal (err->code, ZA_EINPUT);
  za_err_free (&err);
  za_err_free (&warn);

  /* NVIDIA without driver libraries: a warning, no mounts */
  {
    mkhost (host, sizeof host, f, "gen-nolibs", "nvidia", 1, UVM);
    rm_in (host, "/usr");
    rm_in (host, "/lib");
    h.root = host;
    assert_int_equal (za_gpu_cdi_generate (&h, ZA_GPU_NVIDIA, &spec, &warn, &err), 0);
    assert_null (err);
    assert_chain_has (warn, "warning", "no NVIDIA driver libraries found");
    assert_null (jp (spec, "containerEdits.mounts"));
    json_decref (spec);
    za_err_free (&warn);
  }
}

/* A GPU without device nodes (e.g. bound to vfio-pci): left out of the
   generated spec with a warning (a device with empty edits would make
   the whole spec invalid); the passthrough warns.  */
static void
test_gpu_without_nodes (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX];
  struct za_host h;
  json_t *spec = NULL;
  struct za_err *err = NULL, *warn = NULL;
  struct run x;
  json_t *cfg;
  need_fakehost (f);
  current_case = "no nodes";
  mkhost (host, sizeof host, f, "vfio", "amd", 2, UVM);
  rm_in (host, "/sys/class/drm/card1");
  rm_in (host, "/sys/class/drm/renderD129");
  h.root = host;
  assert_int_equal (za_gpu_cdi_generate (&h, ZA_GPU_AMD, &spec, &warn, &err), 0);
  assert_null (err);
  assert_chain_has (warn, "warning", "amd GPU 1 (0000:03:01.0, driver amdgpu) has no device nodes; left out of the spec");
  za_err_free (&warn);
  assert_int_equal (json_array_size (jp (spec, "devices")), 2);
  assert_string_equal (json_string_value (jp (spec, "devices.0.name")), "0");
  assert_string_equal (json_string_value (jp (spec, "devices.1.name")), "all");
  assert_int_equal (json_array_size (jp (spec, "devices.1.containerEdits.deviceNodes")), 2);
  {
    cleanup_free char *text = json_dumps (spec, 0);
    struct za_cdi_file *file = NULL;
    assert_int_equal (za_cdi_file_parse ("gen.json", text, strlen (text), 0, &file, &err), 0);
    za_cdi_file_free (file);
  }
  json_decref (spec);

  cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 2, vendor: amd}\n", host, NULL, NULL);
  assert_chain_has (x.r.warnings, "warning", "amd GPU 1 (0000:03:01.0, driver amdgpu) has no device nodes");
  assert_int_equal (json_array_size (jp (cfg, "linux.devices")), 3);
  run_clear (&x);

  /* no GPU with nodes at all: an input error */
  rm_in (host, "/sys/class/drm");
  spec = NULL;
  assert_int_equal (za_gpu_cdi_generate (&h, ZA_GPU_AMD, &spec, &warn, &err), -1);
  assert_null (spec);
  assert_int_equal (err->code, ZA_EINPUT);
  assert_string_equal (err->msg, "no amd GPU on this host has device nodes");
  za_err_free (&err);
  za_err_free (&warn);
}

/* Strict (--cdi-dir) vs lenient (CDI_SPEC_DIRS) resolution failures, and
   spec-level edits applied once for several GPUs.  */
static void
test_cdi_strict_lenient (void **state)
{
  struct fx *f = *state;
  char host[PATH_MAX], cdidir[PATH_MAX], empty[PATH_MAX];
  struct run x;
  json_t *cfg;
  need_fakehost (f);
  mkhost (host, sizeof host, f, "strict", "nvidia", 2, UVM);
  snprintf (cdidir, sizeof cdidir, "%s/cdi-strict", f->dir);
  snprintf (empty, sizeof empty, "%s/cdi-empty", f->dir);
  mkdir_in ("", empty);
  json_decref (cdi_generate_into (host, ZA_GPU_NVIDIA, cdidir));

  /* strict: AMD GPUs are not in the directory → error */
  current_case = "strict";
  {
    char h2[PATH_MAX];
    mkhost (h2, sizeof h2, f, "strict", "amd", 1, UVM);
  }
  build_fail (&x, SVC_HEAD "    resources:\n      gpu: {count: 1, vendor: amd}\n", host, cdidir,
              "CDI resolution failed for vendor 'amd'", NULL);
  run_clear (&x);

  /* lenient (auto-discovery) with no spec of the kind at all: quietly
     passthrough, as the reference (a CDI-less host is the normal case) */
  current_case = "lenient";
  setenv ("CDI_SPEC_DIRS", empty, 1);
  cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 2}\n", host, NULL, NULL);
  for (const struct za_err *w = x.r.warnings; w; w = w->next)
    assert_null (strstr (w->msg, "falling back"));
  assert_string_equal (json_string_value (jp (cfg, "process.env.2")), "NVIDIA_VISIBLE_DEVICES=0,1");
  assert_int_equal (json_array_size (jp (cfg, "linux.devices")), 5);
  devices_of (&x, NULL);
  assert_int_equal (x.cdi.gpu.via, ZA_GPU_VIA_PASSTHROUGH);
  assert_null (x.warn);
  run_clear (&x);
  /* lenient with the spec there: through CDI, no warning */
  setenv ("CDI_SPEC_DIRS", cdidir, 1);
  cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 2}\n", host, NULL, NULL);
  assert_null (x.r.warnings);
  assert_int_equal (json_array_size (jp (cfg, "linux.devices")), 6);
  devices_of (&x, NULL);
  assert_int_equal (x.cdi.gpu.via, ZA_GPU_VIA_CDI);
  assert_null (x.warn);
  /* spec-level edits once, then each device's */
  assert_int_equal (x.cdi.plan.n, 3);
  run_clear (&x);
  unsetenv ("CDI_SPEC_DIRS");

  /* strict, found: 2 GPUs carry the spec-level nodes once */
  current_case = "strict ok";
  cfg = build_ok (&x, SVC_HEAD "    resources:\n      gpu: {count: 2}\n", host, cdidir, NULL);
  assert_int_equal (json_array_size (jp (cfg, "linux.devices")), 6);
  assert_int_equal (json_array_size (jp (cfg, "mounts")), 15);
  {
    size_t nvoid = 0;
    for (size_t i = 0; i < json_array_size (jp (cfg, "process.env")); i++)
      nvoid += !strcmp (json_string_value (json_array_get (jp (cfg, "process.env"), i)), "NVIDIA_VISIBLE_DEVICES=void");
    assert_int_equal (nvoid, 1);
  }
  run_clear (&x);

  /* more GPUs than the spec declares: strict error */
  current_case = "strict too many";
  build_fail (&x, SVC_HEAD "    resources:\n      gpu: {count: 3}\n", host, cdidir,
              "CDI resolution failed for vendor 'nvidia'", NULL);
  run_clear (&x);
}

int
main (void)
{
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T (test_vendor_names),
    T (test_detect_counts),
    T (test_detect_mixed),
    T (test_detect_classes),
    T (test_detect_details),
    T (test_detect_h100_probe),
    T (test_detect_nvidia_version),
    T (test_detect_node_fallback),
    T (test_matrix_nvidia),
    T (test_matrix_amd),
    T (test_matrix_intel),
    T (test_too_many),
    T (test_count_zero),
    T (test_missing_nodes_and_drivers),
    T (test_big_device_numbers),
    T (test_privileged),
    T (test_unknown_vendor),
    T (test_mps_errors),
    T (test_mps_after_resolv),
    T (test_time_slice_errors),
    T (test_distributed),
    T (test_plan_direct),
    T (test_plan_out_of_memory),
    T (test_cdi_generate),
    T (test_cdi_generate_errors),
    T (test_gpu_without_nodes),
    T (test_cdi_strict_lenient),
  };
  return cmocka_run_group_tests (tests, group_setup, group_teardown);
}
