/* Unit tests for the CDI implementation (src/cdi): spec parsing in the
   reference's dialect (JSON and YAML through one YAML 1.1 path, Go's
   case-insensitive keys), versions and the minimum-version rule, names,
   every validation message with its position, the registry (directory
   priority, file order, conflicts), resolution and applying edits to an
   OCI config (cdi-reference.md §1-§5; library v1.1.0).

   Device-node tests that need real nodes build a fake host root with
   mknod (root only; skipped otherwise) and point za_host at it.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#include "cdi/cdi.h"
#include "util/err.h"

#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

#define SPEC_HEAD(ver) "cdiVersion: \"" ver "\"\nkind: vendor.com/gpu\n"
/* One device with one env entry: a valid minimal device list.  */
#define ONE_DEV "devices:\n- name: d\n  containerEdits:\n    env: [A=1]\n"

static char *
errs_text (const struct za_err *e)
{
  char *out = NULL;
  size_t sz = 0;
  FILE *f = open_memstream (&out, &sz);
  assert_non_null (f);
  for (; e; e = e->next)
    {
      char *l = za_err_format (e);
      fprintf (f, "%s\n", l ? l : "(oom)");
      free (l);
    }
  fclose (f);
  return out;
}

static struct za_cdi_file *
parse_ok_at (const char *name, const char *text, int line)
{
  struct za_cdi_file *f = NULL;
  struct za_err *err = NULL;
  if (za_cdi_file_parse (name, text, strlen (text), 0, &f, &err) < 0)
    {
      char *t = errs_text (err);
      print_error ("line %d: %s rejected:\n%s---\n%s\n", line, name, t, text);
      free (t);
      za_err_free (&err);
      fail ();
    }
  assert_null (err);
  return f;
}
#define PARSE_OK(text) parse_ok_at ("t.yaml", text, __LINE__)

/* All error lines ("FILE:L:C: msg\n"...) of a file that must be rejected. */
static char *
parse_err_at (const char *name, const char *text, int line)
{
  struct za_cdi_file *f = NULL;
  struct za_err *err = NULL;
  char *t;
  if (za_cdi_file_parse (name, text, strlen (text), 0, &f, &err) == 0)
    {
      za_cdi_file_free (f);
      fail_msg ("line %d: accepted:\n%s", line, text);
    }
  assert_null (f);
  assert_non_null (err);
  assert_true (za_err_is_input (err));
  t = errs_text (err);
  za_err_free (&err);
  return t;
}
#define PARSE_ERR(text) parse_err_at ("t.yaml", text, __LINE__)

/* TEXT is rejected and one error line is exactly WANT.  */
static void
expect_error_at (const char *text, const char *want, int line)
{
  char *t = parse_err_at ("t.yaml", text, line);
  char *hit = strstr (t, want);
  if (!hit || (hit != t && hit[-1] != '\n') || hit[strlen (want)] != '\n')
    {
      print_error ("line %d: want the error line\n  %s\ngot:\n%s---\n%s\n", line, want, t, text);
      free (t);
      fail ();
    }
  free (t);
}
#define EXPECT_ERROR(text, want) expect_error_at (text, want, __LINE__)

static const struct za_cdi_device *
dev (const struct za_cdi_file *f, size_t i)
{
  assert_true (i < f->spec.devices.n);
  return (const struct za_cdi_device *) f->spec.devices.v + i;
}

static const struct za_cdi_device_node *
node (const struct za_cdi_edits *e, size_t i)
{
  assert_true (i < e->device_nodes.n);
  return (const struct za_cdi_device_node *) e->device_nodes.v + i;
}

/* Temp directories (make_tmpdir), removed (rm_rf) at the end of each
   test that makes one.  */
#define TMPDIR_TMPL "/tmp/zagent-test-cdi.XXXXXX"

static char *
subdir (const char *dir, const char *name)
{
  char *p = NULL;
  assert_true (asprintf (&p, "%s/%s", dir, name) > 0);
  assert_int_equal (mkdir (p, 0755), 0);
  return p;
}

static struct za_cdi_registry *
load (const char *const *dirs, size_t n)
{
  struct za_cdi_registry *r = NULL;
  struct za_err *err = NULL;
  assert_int_equal (za_cdi_registry_load (dirs, n, &r, &err), 0);
  assert_null (err);
  assert_non_null (r);
  return r;
}

static const char *
env0 (const struct za_cdi_edits *e)
{
  return e->env.n ? e->env.v[0].s : "(none)";
}

/* Inject NAMES from SPEC (one file in a fresh spec dir) into BASE (JSON
   text).  HOSTROOT "" = the real host.  Returns the config, or NULL with
   the error text in *ERRTXT.  */
static json_t *
inject (const char *spec, const char *base, const char *const *names, size_t n,
        const char *hostroot, char **errtxt)
{
  char d[64];
  const char *dirs[] = { d };
  struct za_cdi_registry *r;
  struct za_cdi_plan plan = { 0 };
  struct za_err *err = NULL;
  struct za_host host = { .root = hostroot ? hostroot : "" };
  json_error_t jerr;
  json_t *cfg;
  assert_non_null (make_tmpdir (d, sizeof d, TMPDIR_TMPL));
  cfg = json_loads (base, 0, &jerr);
  if (!cfg)
    fail_msg ("bad base config: %s", jerr.text);
  write_in (d, "spec.yaml", spec);
  r = load (dirs, 1);
  if (r->errors)
    {
      char *t = errs_text (r->errors);
      print_error ("spec rejected:\n%s", t);
      free (t);
      fail ();
    }
  if (za_cdi_resolve (r, names, n, &plan, &err) < 0 || za_cdi_apply (cfg, &plan, &host, &err) < 0)
    {
      assert_non_null (err);
      if (errtxt)
        *errtxt = errs_text (err);
      za_err_free (&err);
      json_decref (cfg);
      cfg = NULL;
    }
  za_cdi_plan_clear (&plan);
  za_cdi_registry_free (r);
  rm_rf (d);
  return cfg;
}

static json_t *
inject_ok_at (const char *spec, const char *base, const char *const *names, size_t n,
              const char *hostroot, int line)
{
  char *e = NULL;
  json_t *cfg = inject (spec, base, names, n, hostroot, &e);
  if (!cfg)
    {
      print_error ("line %d: injection failed: %s\n", line, e);
      free (e);
      fail ();
    }
  return cfg;
}
#define NAMES(...) ((const char *const[]){ __VA_ARGS__ }), sizeof ((const char *const[]){ __VA_ARGS__ }) / sizeof (char *)
#define INJECT_OK(spec, base, ...) inject_ok_at (spec, base, NAMES (__VA_ARGS__), NULL, __LINE__)
#define INJECT_HOST_OK(root, spec, base, ...) inject_ok_at (spec, base, NAMES (__VA_ARGS__), root, __LINE__)

/* VALUE (compact JSON, sorted keys) equals WANT.  */
static void
json_is_at (const json_t *v, const char *want, int line)
{
  char *got = v ? json_dumps (v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup ("(missing)");
  if (strcmp (got, want))
    {
      print_error ("line %d:\n  got:  %s\n  want: %s\n", line, got, want);
      free (got);
      fail ();
    }
  free (got);
}
#define JSON_IS(v, want) json_is_at (v, want, __LINE__)

#define BASE_MIN "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": 0, \"gid\": 0}, \"env\": []}}"

/* ---- parsing -------------------------------------------------------- */

static void
test_parse_json_and_yaml (void **state)
{
  (void) state;
  static const char *json
      = "{\"cdiVersion\": \"0.5.0\", \"kind\": \"vendor.com/gpu\",\n"
        " \"containerEdits\": {\"env\": [\"G=1\"]},\n"
        " \"devices\": [{\"name\": \"gpu0\", \"containerEdits\": {\n"
        "   \"deviceNodes\": [{\"path\": \"/dev/gpu0\", \"hostPath\": \"/dev/h0\", \"type\": \"c\",\n"
        "     \"major\": 195, \"minor\": 7, \"fileMode\": 438, \"permissions\": \"rw\", \"uid\": 1, \"gid\": 2}],\n"
        "   \"mounts\": [{\"hostPath\": \"/h\", \"containerPath\": \"/c\", \"options\": [\"ro\", \"bind\"], \"type\": \"bind\"}],\n"
        "   \"hooks\": [{\"hookName\": \"createContainer\", \"path\": \"/bin/hook\", \"args\": [\"hook\", \"x\"],\n"
        "     \"env\": [\"H=1\"], \"timeout\": 5}]}}]}\n";
  static const char *yaml
      = "cdiVersion: \"0.5.0\"\nkind: vendor.com/gpu\ncontainerEdits:\n  env: [G=1]\ndevices:\n"
        "- name: gpu0\n  containerEdits:\n    deviceNodes:\n"
        "    - {path: /dev/gpu0, hostPath: /dev/h0, type: c, major: 195, minor: 7, fileMode: 438,\n"
        "       permissions: rw, uid: 1, gid: 2}\n"
        "    mounts:\n    - hostPath: /h\n      containerPath: /c\n      options: [ro, bind]\n      type: bind\n"
        "    hooks:\n    - hookName: createContainer\n      path: /bin/hook\n      args: [hook, x]\n"
        "      env: [H=1]\n      timeout: 5\n";
  for (int k = 0; k < 2; k++)
    {
      struct za_cdi_file *f = parse_ok_at (k ? "s.json" : "s.yaml", k ? json : yaml, __LINE__);
      const struct za_cdi_device *d = dev (f, 0);
      const struct za_cdi_device_node *n = node (&d->edits, 0);
      const struct za_cdi_mount *m = d->edits.mounts.v;
      const struct za_cdi_hook *h = d->edits.hooks.v;
      assert_string_equal (f->spec.cdi_version.s, "0.5.0");
      assert_string_equal (f->spec.kind.s, "vendor.com/gpu");
      assert_string_equal (f->vendor, "vendor.com");
      assert_string_equal (f->class, "gpu");
      assert_string_equal (env0 (&f->spec.edits), "G=1");
      assert_string_equal (d->name.s, "gpu0");
      assert_string_equal (n->path.s, "/dev/gpu0");
      assert_string_equal (n->host_path.s, "/dev/h0");
      assert_string_equal (n->type.s, "c");
      assert_true (n->major.set && n->major.v == 195 && n->minor.v == 7);
      assert_true (n->file_mode.set && n->file_mode.v == 438);
      assert_string_equal (n->permissions.s, "rw");
      assert_true (n->uid.v == 1 && n->gid.v == 2);
      assert_int_equal (d->edits.mounts.n, 1);
      assert_string_equal (m->host_path.s, "/h");
      assert_string_equal (m->container_path.s, "/c");
      assert_int_equal (m->options.n, 2);
      assert_string_equal (m->options.v[1].s, "bind");
      assert_string_equal (m->type.s, "bind");
      assert_int_equal (d->edits.hooks.n, 1);
      assert_string_equal (h->hook_name.s, "createContainer");
      assert_string_equal (h->args.v[1].s, "x");
      assert_string_equal (h->env.v[0].s, "H=1");
      assert_true (h->timeout.set && h->timeout.v == 5);
      za_cdi_file_free (f);
    }
  /* a .json file may hold YAML and vice versa: one parser */
  za_cdi_file_free (parse_ok_at ("y.json", SPEC_HEAD ("0.3.0") ONE_DEV, __LINE__));
}

static const char *
dev_name_of (const char *scalar, int line)
{
  static char buf[128];
  char *text = NULL;
  struct za_cdi_file *f;
  assert_true (asprintf (&text, SPEC_HEAD ("0.5.0") "devices:\n- name: %s\n  containerEdits: {env: [A=1]}\n",
                         scalar) > 0);
  f = parse_ok_at ("t.yaml", text, line);
  snprintf (buf, sizeof buf, "%s", dev (f, 0)->name.s);
  za_cdi_file_free (f);
  free (text);
  return buf;
}
#define NAME_IS(scalar, want) assert_string_equal (dev_name_of (scalar, __LINE__), want)

static void
test_yaml11_canonical (void **state)
{
  (void) state;
  /* YAML 1.1 scalars turned into Go's spelling of the value (verified
     against the oracle).  */
  NAME_IS ("010", "8");
  NAME_IS ("on", "true");
  NAME_IS ("0x1F", "31");
  NAME_IS ("1e3", "1000");
  NAME_IS ("0", "0");
  NAME_IS ("n", "false");
  NAME_IS ("Yes", "true");
  NAME_IS ("0o17", "15");
  NAME_IS ("0b101", "5");
  NAME_IS ("1_000", "1000");
  NAME_IS ("+12", "12");
  NAME_IS ("0777", "511");
  NAME_IS ("0.1", "0.1");
  NAME_IS ("1e-7", "1e-07");
  NAME_IS ("12345678901234567890", "12345678901234567890");
  /* floats go through a float32 (sigs.k8s.io/yaml FormatFloat(…, 32)) */
  NAME_IS ("3.14159265358979", "3.1415927");
  NAME_IS ("0.000123456789", "0.00012345679");
  NAME_IS ("1e-46", "0");
  /* an overflowing float is not a float: the text stays */
  NAME_IS ("1e400", "1e400");
  NAME_IS (".1_0", "0.1");
  /* quoted or tagged: kept as written; plain non-numbers too */
  NAME_IS ("\"010\"", "010");
  NAME_IS ("'on'", "on");
  NAME_IS ("!!str 010", "010");
  NAME_IS ("0x", "0x");
  NAME_IS ("1:30", "1:30");
  NAME_IS ("2001-12-14", "2001-12-14");
  /* annotation values too (cdiVersion 0.6.0) */
  {
    struct za_cdi_file *f = PARSE_OK ("cdiVersion: 0.6.0\nkind: vendor.com/gpu\n"
                                      "annotations: {autoallow: true, n: 010}\n" ONE_DEV);
    assert_int_equal (f->spec.annotations.n, 2);
    assert_string_equal (f->spec.annotations.v[0].key.s, "autoallow");
    assert_string_equal (f->spec.annotations.v[0].val.s, "true");
    assert_string_equal (f->spec.annotations.v[1].val.s, "8");
    /* an unquoted cdiVersion is a float 0.6 … written back as "0.6"? No:
       go-yaml keeps "0.6.0" a string; only the text matters. */
    assert_string_equal (f->spec.cdi_version.s, "0.6.0");
    za_cdi_file_free (f);
  }
  /* env entries and hook args are strings too */
  {
    struct za_cdi_file *f = PARSE_OK (SPEC_HEAD ("0.3.0") "devices:\n- name: d\n  containerEdits:\n"
                                      "    hooks: [{hookName: prestart, path: /h, args: [h, 010, off]}]\n");
    const struct za_cdi_hook *h = dev (f, 0)->edits.hooks.v;
    assert_string_equal (h->args.v[1].s, "8");
    assert_string_equal (h->args.v[2].s, "false");
    za_cdi_file_free (f);
  }
}

static void
test_case_insensitive_keys (void **state)
{
  (void) state;
  struct za_cdi_file *f = PARSE_OK ("CDIVersion: \"0.5.0\"\nKIND: vendor.com/gpu\nDevices:\n"
                                    "- NAME: d\n  containeredits:\n    ENV: [A=1]\n"
                                    "    DeviceNodes: [{PATH: /dev/x, HOSTPATH: /dev/y, Type: c, MAJOR: 1}]\n");
  assert_string_equal (f->spec.cdi_version.s, "0.5.0");
  assert_string_equal (f->spec.kind.s, "vendor.com/gpu");
  assert_string_equal (dev (f, 0)->name.s, "d");
  assert_string_equal (env0 (&dev (f, 0)->edits), "A=1");
  assert_string_equal (node (&dev (f, 0)->edits, 0)->host_path.s, "/dev/y");
  za_cdi_file_free (f);
  /* the same key twice in two spellings is refused (encoding/json would
     silently keep the later one; see docs/cdi.md) */
  EXPECT_ERROR (SPEC_HEAD ("0.3.0") "Kind: other.com/x\n" ONE_DEV, "t.yaml:3:1: kind: duplicate field `kind`");
}

static void
test_unknown_and_duplicate_keys (void **state)
{
  (void) state;
  EXPECT_ERROR (SPEC_HEAD ("0.3.0") "devices:\n- name: d\n  containerEdits:\n    deviceNode: []\n",
                "t.yaml:6:5: devices[0].containerEdits: unknown field (name not shown), expected one of "
                "`env`, `deviceNodes`, `mounts`, `hooks`, `intelRdt`, `additionalGids`, `netDevices`");
  EXPECT_ERROR (SPEC_HEAD ("0.3.0") "vendor: x\n" ONE_DEV, "t.yaml:3:1: unknown field (name not shown), expected one of "
                "`cdiVersion`, `kind`, `annotations`, `devices`, `containerEdits`");
  /* v1.1.0 dropped enableCMT/enableMBM */
  {
    char *t = PARSE_ERR (SPEC_HEAD ("0.7.0") "devices:\n- name: d\n  containerEdits:\n    intelRdt: {enableCMT: true}\n");
    assert_non_null (strstr (t, "t.yaml:6:16: devices[0].containerEdits.intelRdt: unknown field (name not shown)"));
    free (t);
  }
  EXPECT_ERROR (SPEC_HEAD ("0.3.0") "kind: other.com/x\n" ONE_DEV,
                "t.yaml:3:1: kind: duplicate key `kind` (first at line 2)");
  /* duplicates in JSON are found too, at any depth */
  {
    char *t = PARSE_ERR ("{\"cdiVersion\": \"0.3.0\", \"kind\": \"a.com/bb\",\n\"devices\": [{\"name\": \"x\", "
                         "\"name\": \"y\", \"containerEdits\": {\"env\": [\"A=1\"]}}]}\n");
    assert_non_null (strstr (t, "t.yaml:2:27: devices[0].name: duplicate key `name` (first at line 2)"));
    free (t);
  }
  /* a key of the schema, misplaced, is named */
  EXPECT_ERROR (SPEC_HEAD ("0.3.0") "devices:\n- name: d\n  path: x\n  containerEdits: {env: [A=1]}\n",
                "t.yaml:5:3: devices[0]: unknown field `path`, expected one of `name`, `annotations`, `containerEdits`");
  /* wrong types name the field and the kind of value, never its text */
  EXPECT_ERROR (SPEC_HEAD ("0.3.0") "devices:\n- name: d\n  containerEdits:\n    deviceNodes: [{path: /x, major: \"1\"}]\n",
                "t.yaml:6:37: devices[0].containerEdits.deviceNodes[0].major: expected an integer (int64), got a string");
  EXPECT_ERROR (SPEC_HEAD ("0.3.0") "devices:\n- name: d\n  containerEdits:\n    deviceNodes: [{path: /x, uid: -1}]\n",
                "t.yaml:6:35: devices[0].containerEdits.deviceNodes[0].uid: expected an integer between 0 and "
                "4294967295 (uint32)");
  EXPECT_ERROR ("cdiVersion: \"0.3.0\"\nkind: [a]\n" ONE_DEV, "t.yaml:2:7: kind: expected a string, got a list");
  EXPECT_ERROR ("- a\n", "t.yaml:1:1: expected a mapping, got a list");
  /* an array for containerEdits (SPEC.md's sketch) is rejected */
  {
    char *t = PARSE_ERR (SPEC_HEAD ("0.3.0") "containerEdits: [{env: [A=1]}]\n" ONE_DEV);
    assert_non_null (strstr (t, "t.yaml:3:17: containerEdits: "));
    free (t);
  }
}

static void
test_versions (void **state)
{
  (void) state;
  static const char *const good[] = { "0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0",
                                      "0.8.0", "1.0.0", "1.1.0", "v0.3.0", "v1.1.0", NULL };
  static const char *const bad[] = { "0.0.0", "0.5", "0.5.1", "1.2.0", "", "vv0.3.0", "0.3.0 ", "1", NULL };
  for (int i = 0; good[i]; i++)
    {
      char *t = NULL;
      assert_true (za_cdi_version_known (good[i]));
      /* device named "dev" so 0.3.0 and 0.4.0 need nothing newer */
      assert_true (asprintf (&t, "cdiVersion: \"%s\"\nkind: vendor.com/gpu\ndevices:\n- name: dev\n"
                                 "  containerEdits: {env: [A=1]}\n", good[i]) > 0);
      za_cdi_file_free (parse_ok_at ("t.yaml", t, __LINE__));
      free (t);
    }
  for (int i = 0; bad[i]; i++)
    {
      char *t = NULL, *want = NULL;
      assert_false (za_cdi_version_known (bad[i]));
      assert_true (asprintf (&t, "cdiVersion: \"%s\"\nkind: vendor.com/gpu\n" ONE_DEV, bad[i]) > 0);
      assert_true (asprintf (&want, "t.yaml:1:13: invalid version \"%s\"", bad[i]) > 0);
      expect_error_at (t, want, __LINE__);
      free (t);
      free (want);
    }
  /* 0.1.0 and 0.2.0 are known versions, but no content needs less than
     0.3.0 (vEarliest), so declaring them always fails (v0.5.4+) */
  assert_true (za_cdi_version_known ("0.1.0") && za_cdi_version_known ("v0.2.0"));
  EXPECT_ERROR ("cdiVersion: \"0.1.0\"\nkind: vendor.com/gpu\n" ONE_DEV,
                "t.yaml:1:13: the spec version must be at least v0.3.0");
  EXPECT_ERROR ("cdiVersion: v0.2.0\nkind: vendor.com/gpu\n" ONE_DEV,
                "t.yaml:1:13: the spec version must be at least v0.3.0");
  /* missing (or null) version: reported at the top of the document */
  EXPECT_ERROR ("kind: vendor.com/gpu\n" ONE_DEV, "t.yaml:1:1: invalid version \"\"");
  EXPECT_ERROR ("cdiVersion: ~\nkind: vendor.com/gpu\n" ONE_DEV, "t.yaml:1:1: invalid version \"\"");
  EXPECT_ERROR ("{}", "t.yaml:1:1: invalid version \"\"");
  EXPECT_ERROR ("", "t.yaml:1:1: failed to parse CDI Spec, no Spec data");
  EXPECT_ERROR ("# only a comment\n", "t.yaml:1:1: failed to parse CDI Spec, no Spec data");
  assert_true (za_cdi_version_cmp ("0.10.0", "0.9.0") > 0);
  assert_true (za_cdi_version_cmp ("v1.0.0", "1.0.0") == 0);
  assert_true (za_cdi_version_cmp ("0.5.0", "0.6.0") < 0);
}

struct min_case
{
  const char *body; /* after cdiVersion + kind lines */
  const char *kind;
  const char *need;
};

static void
test_min_version (void **state)
{
  (void) state;
  static const struct min_case cases[] = {
    { "devices:\n- name: d\n  containerEdits:\n    netDevices: [{hostInterfaceName: eth0, name: c0}]\n", NULL, "1.1.0" },
    { "containerEdits:\n  netDevices: [{hostInterfaceName: eth0, name: c0}]\n" ONE_DEV, NULL, "1.1.0" },
    { "devices:\n- name: d\n  containerEdits:\n    intelRdt: {schemata: [L3:0=ff]}\n", NULL, "1.1.0" },
    { "devices:\n- name: d\n  containerEdits:\n    intelRdt: {schemata: []}\n", NULL, "1.1.0" },
    { "devices:\n- name: d\n  containerEdits:\n    intelRdt: {enableMonitoring: true}\n", NULL, "1.1.0" },
    { "devices:\n- name: d\n  containerEdits:\n    intelRdt: {}\n", NULL, "0.7.0" },
    { "devices:\n- name: d\n  containerEdits:\n    intelRdt: {closID: c, enableMonitoring: false}\n", NULL, "0.7.0" },
    { "devices:\n- name: d\n  containerEdits:\n    additionalGids: [5]\n", NULL, "0.7.0" },
    { "containerEdits:\n  additionalGids: [0]\n" ONE_DEV, NULL, "0.7.0" },
    { "annotations: {a: b}\n" ONE_DEV, NULL, "0.6.0" },
    { "devices:\n- name: d\n  annotations: {a: b}\n  containerEdits: {env: [A=1]}\n", NULL, "0.6.0" },
    { ONE_DEV, "vendor.com/gpu.v2", "0.6.0" },
    { "devices:\n- name: 0gpu\n  containerEdits: {env: [A=1]}\n", NULL, "0.5.0" },
    { "devices:\n- name: d\n  containerEdits:\n    deviceNodes: [{path: /dev/x, hostPath: /dev/y}]\n", NULL, "0.5.0" },
    { "containerEdits:\n  deviceNodes: [{path: /dev/x, hostPath: /dev/y}]\n" ONE_DEV, NULL, "0.5.0" },
    { "devices:\n- name: d\n  containerEdits:\n    mounts: [{hostPath: /a, containerPath: /b, type: bind}]\n", NULL, "0.4.0" },
    /* things that need nothing newer */
    { "annotations: {}\n" ONE_DEV, NULL, "0.3.0" },
    { "devices:\n- name: d\n  containerEdits:\n    intelRdt: {schemata: ~}\n    env: [A=1]\n", NULL, "0.7.0" },
    { "devices:\n- name: d\n  containerEdits:\n    additionalGids: []\n    env: [A=1]\n", NULL, "0.3.0" },
    { "devices:\n- name: d\n  containerEdits:\n    netDevices: []\n    env: [A=1]\n", NULL, "0.3.0" },
    { "devices:\n- name: d\n  containerEdits:\n    mounts: [{hostPath: /a, containerPath: /b, type: \"\"}]\n", NULL, "0.3.0" },
    { ONE_DEV, NULL, "0.3.0" },
  };
  static const char *const order[] = { "0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0", NULL };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      const struct min_case *c = &cases[i];
      char *t = NULL;
      struct za_cdi_file *f;
      /* at the highest version: accepted, and the computed minimum */
      assert_true (asprintf (&t, "cdiVersion: \"1.1.0\"\nkind: %s\n%s", c->kind ? c->kind : "vendor.com/gpu",
                             c->body) > 0);
      f = parse_ok_at ("t.yaml", t, (int) i);
      if (strcmp (za_cdi_required_version (&f->spec), c->need))
        fail_msg ("case %zu: required %s, want %s\n%s", i, za_cdi_required_version (&f->spec), c->need, t);
      za_cdi_file_free (f);
      free (t);
      /* declared exactly the minimum: accepted; one step lower: refused */
      for (int k = 0; order[k]; k++)
        {
          bool lower = za_cdi_version_cmp (order[k], c->need) < 0;
          assert_true (asprintf (&t, "cdiVersion: \"%s\"\nkind: %s\n%s", order[k],
                                 c->kind ? c->kind : "vendor.com/gpu", c->body) > 0);
          if (!lower)
            za_cdi_file_free (parse_ok_at ("t.yaml", t, (int) i));
          else
            {
              char *want = NULL;
              assert_true (asprintf (&want, "t.yaml:1:13: the spec version must be at least v%s", c->need) > 0);
              expect_error_at (t, want, (int) i);
              free (want);
            }
          free (t);
        }
    }
  /* the highest requirement is reported */
  EXPECT_ERROR ("cdiVersion: 0.2.0\nkind: vendor.com/gpu\n"
                "devices:\n- name: \"0\"\n  containerEdits: {env: [A=1]}\n",
                "t.yaml:1:13: the spec version must be at least v0.5.0");
}

static void
test_names (void **state)
{
  (void) state;
  static const char *const vendors_ok[] = { "a", "vendor.com", "Vendor-1.com", "a_b", "a1", "x.y.z", NULL };
  static const char *const vendors_bad[] = { "", "1a", "-a", ".a", "a-", "a.", "a_", "a/b", "a b", "a=b", "ä", NULL };
  static const char *const names_ok[] = { "0", "a", "gpu0", "0gpu", "a:b", "a.b", "a_b-c", "GPU", "1.2:3", NULL };
  static const char *const names_bad[] = { "", "-a", ":a", "_a", ".a", "a-", "a:", "a.", "a b", "a/b", "a=b", "é", NULL };
  for (int i = 0; vendors_ok[i]; i++)
    {
      if (!za_cdi_vendor_valid (vendors_ok[i]) || !za_cdi_class_valid (vendors_ok[i]))
        fail_msg ("vendor/class \"%s\" refused", vendors_ok[i]);
    }
  for (int i = 0; vendors_bad[i]; i++)
    if (za_cdi_vendor_valid (vendors_bad[i]) || za_cdi_class_valid (vendors_bad[i]))
      fail_msg ("vendor/class \"%s\" accepted", vendors_bad[i]);
  for (int i = 0; names_ok[i]; i++)
    if (!za_cdi_device_name_valid (names_ok[i]))
      fail_msg ("device name \"%s\" refused", names_ok[i]);
  for (int i = 0; names_bad[i]; i++)
    if (za_cdi_device_name_valid (names_bad[i]))
      fail_msg ("device name \"%s\" accepted", names_bad[i]);

  /* qualified names */
  assert_true (za_cdi_is_qualified ("vendor.com/gpu=0"));
  assert_true (za_cdi_is_qualified ("a/b=c"));
  assert_true (za_cdi_is_qualified ("nvidia.com/gpu=all"));
  assert_true (za_cdi_is_qualified ("vendor.com/gpu.v2=a:b"));
  {
    static const char *const bad[] = { "", "/dev/null", "vendor.com/gpu", "vendor.com/gpu=", "=x",
                                       "vendor.com=x", "/a/b=c", "vendor.com/=x", "/=x", NULL };
    for (int i = 0; bad[i]; i++)
      if (za_cdi_is_qualified (bad[i]))
        fail_msg ("\"%s\" taken as a qualified name", bad[i]);
  }
  {
    char buf[256];
    assert_null (za_cdi_qualified_problem ("a.com/b=c", buf, sizeof buf));
    assert_string_equal (za_cdi_qualified_problem ("/dev/null", buf, sizeof buf),
                         "\"/dev/null\" is not a qualified device name (vendor/class=name)");
    assert_string_equal (za_cdi_qualified_problem ("a.com/gpu", buf, sizeof buf),
                         "\"a.com/gpu\" is not a qualified device name (vendor/class=name)");
    assert_string_equal (za_cdi_qualified_problem ("a.com=x/y", buf, sizeof buf),
                         "\"a.com=x/y\" is not a qualified device name (vendor/class=name)");
    assert_string_equal (za_cdi_qualified_problem ("1a.com/gpu=0", buf, sizeof buf),
                         "invalid vendor \"1a.com\", should start with letter");
    assert_string_equal (za_cdi_qualified_problem ("a.com/gp/u=0", buf, sizeof buf),
                         "invalid character '/' in class name \"gp/u\"");
    assert_string_equal (za_cdi_qualified_problem ("a.com/=0", buf, sizeof buf), "invalid (empty) class name");
    assert_string_equal (za_cdi_qualified_problem ("a.com/gpu-=0", buf, sizeof buf),
                         "invalid class \"gpu-\", should end with a letter or digit");
    assert_string_equal (za_cdi_qualified_problem ("a.com/gpu=-0", buf, sizeof buf),
                         "invalid name \"-0\", should start with a letter or digit");
    assert_string_equal (za_cdi_qualified_problem ("a.com/gpu=a b", buf, sizeof buf),
                         "invalid character ' ' in device name \"a b\"");
    assert_string_equal (za_cdi_qualified_problem ("a.com/gpu=a.", buf, sizeof buf),
                         "invalid name \"a.\", should end with a letter or digit");
  }
  /* one-letter vendor and class load (0.5.2 … v1.1.0 panic on them) */
  {
    struct za_cdi_file *f = PARSE_OK ("cdiVersion: 0.3.0\nkind: a/b\n" ONE_DEV);
    assert_string_equal (f->vendor, "a");
    assert_string_equal (f->class, "b");
    za_cdi_file_free (f);
  }
  /* kind is split at the first '/' */
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: vendor.com/foo/bar\n" ONE_DEV,
                "t.yaml:2:7: invalid character '/' in class name \"foo/bar\"");
}

/* ---- never echo file content ------------------------------------------ */

#define MARK "ZaMarker7Q"

/* Every error of every document below is free of MARK: a spec file may be
   a symlink to any file (say /etc/shadow), so the decoder quotes no input
   text but key names of the CDI schema.  */
static void
test_errors_never_quote_content (void **state)
{
  static const char *const docs[] = {
    /* /etc/shadow: two "mapping keys" */
    "root:$6$" MARK ":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    MARK "\n",
    "- " MARK "\n",
    "root:$6$" MARK ": 1\n",
    "{\"" MARK "\": 1, \"x\": [\"" MARK "\"]}\n",
    SPEC_HEAD ("0.5.0") MARK ": x\n" ONE_DEV,
    SPEC_HEAD ("0.5.0") "devices: " MARK "\n",
    SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  " MARK ": 1\n  containerEdits:\n    env: \"A=" MARK "\"\n",
    SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits:\n    deviceNodes:\n"
    "    - {path: /x, major: " MARK ", minor: \"" MARK "\", fileMode: 0x" MARK ", uid: -1" MARK ", gid: 1.5e" MARK "}\n",
    SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits:\n    deviceNodes: [{path: /x, major: 99999999999999999999}]\n"
    "    hooks: [{hookName: prestart, path: /h, timeout: 0x7fffffffffffffff" "1}]\n",
    SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits:\n    deviceNodes: [{path: !" MARK " /x}]\n",
    SPEC_HEAD ("0.6.0") "annotations: {" MARK ": [1], " MARK "2: x, " MARK "2: y}\n" ONE_DEV,
    SPEC_HEAD ("0.7.0") "devices:\n- name: d\n  containerEdits:\n    additionalGids: [" MARK ", -1]\n"
    "    intelRdt: {enableMonitoring: " MARK ", schemata: " MARK "}\n",
    /* syntax errors: libyaml's messages are fixed text */
    "a: [" MARK "\n",
    "a: \"" MARK "\n",
    "{" MARK ": }: x\n",
    "\t" MARK ": x\n",
    "a: *" MARK "\n",
    "%" MARK " x\n---\na: 1\n",
  };
  (void) state;
  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
    {
      char *t = parse_err_at ("t.yaml", docs[i], (int) i);
      if (strstr (t, MARK) || strstr (t, "root:") || strstr (t, "daemon"))
        fail_msg ("document %zu: content quoted:\n%s", i, t);
      free (t);
    }
  /* what may be said: kinds, positions, schema key names */
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices: " MARK "\n", "t.yaml:3:10: devices: expected a list, got a string");
  EXPECT_ERROR (SPEC_HEAD ("0.6.0") "annotations: {" MARK ": [1]}\n" ONE_DEV,
                "t.yaml:3:27: annotations.<key>: expected a string, got a list");
  EXPECT_ERROR (SPEC_HEAD ("0.6.0") "annotations: {a: 1, a: 2}\n" ONE_DEV,
                "t.yaml:3:21: annotations.<key>: duplicate key (first at line 3)");
  EXPECT_ERROR (SPEC_HEAD ("0.6.0") "annotations: {kind: 1, kind: 2}\n" ONE_DEV,
                "t.yaml:3:24: annotations.kind: duplicate key `kind` (first at line 3)");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits:\n    deviceNodes: [{path: !x /x}]\n",
                "t.yaml:6:26: devices[0].containerEdits.deviceNodes[0].path: unsupported YAML tag");
  EXPECT_ERROR (SPEC_HEAD ("0.7.0") "devices:\n- name: d\n  containerEdits:\n    additionalGids: [7, x]\n",
                "t.yaml:6:25: devices[0].containerEdits.additionalGids[1]: expected an integer (uint32), got a string");
}

/* Validation quotes CDI values (names, paths, env entries) the user must
   see, but escaped and bounded: a newline must not forge an error line.  */
static void
test_validation_quotes_are_escaped (void **state)
{
  char *t;
  (void) state;
  t = PARSE_ERR (SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits:\n"
                 "    env: [\"=x\\nt.yaml:1:1: forged\"]\n    hooks: [{hookName: \"pre\\u001b[2Jstart\", path: /h}]\n");
  assert_non_null (strstr (t, "invalid environment variable \"=x\\x0at.yaml:1:1: forged\"\n"));
  assert_non_null (strstr (t, "invalid hook name \"pre\\x1b[2Jstart\"\n"));
  assert_null (strstr (t, "\nt.yaml:1:1: forged"));
  free (t);
  /* at most 64 bytes of a value */
  t = PARSE_ERR (SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits:\n    env: [\"=0123456789abcdef0123456789abcdef"
                 "0123456789abcdef0123456789abcdeTAIL-NOT-SHOWN\"]\n");
  assert_non_null (strstr (t, "invalid environment variable \"=0123456789abcdef0123456789abcdef0123456789abcdef"
                              "0123456789abcde...\"\n"));
  assert_null (strstr (t, "TAIL"));
  free (t);
  /* names in CLI arguments and annotations too */
  {
    char buf[512];
    assert_string_equal (za_cdi_qualified_problem ("a\nb/c=d", buf, sizeof buf),
                         "invalid character '\\x0a' in vendor name \"a\\x0ab\"");
  }
}

/* DIR/NAME := a symlink to TARGET.  */
static void
link_in (const char *dir, const char *name, const char *target)
{
  char path[PATH_MAX];
  pjoin (path, sizeof path, dir, name);
  assert_int_equal (symlink (target, path), 0);
}

/* A spec file that is a symlink: anywhere inside its directory is fine;
   out of it only when root or the caller owns the link; a FIFO never
   hangs the scan.  */
static void
test_registry_symlinked_specs (void **state)
{
  char root[64], *d, *outside, *p = NULL, *t;
  const char *dirs[1];
  struct za_cdi_registry *r;
  (void) state;
  assert_non_null (make_tmpdir (root, sizeof root, TMPDIR_TMPL));
  d = subdir (root, "cdi");
  outside = subdir (root, "elsewhere");
  dirs[0] = d;
  write_in (d, "sub/in.yaml", "cdiVersion: 0.3.0\nkind: in.com/x\n" ONE_DEV);
  write_in (outside, "out.yaml", "cdiVersion: 0.3.0\nkind: out.com/x\n" ONE_DEV);
  write_in (outside, "shadow", "root:$6$" MARK ":19000:0:99999:7:::\n");
  assert_int_equal (chmod (outside, 0700), 0);
  link_in (d, "a.yaml", "sub/in.yaml");
  assert_true (asprintf (&p, "%s/out.yaml", outside) > 0);
  link_in (d, "b.yaml", p);
  free (p);
  link_in (d, "c.yaml", "../elsewhere/shadow");
  assert_true (asprintf (&p, "%s/fifo.yaml", d) > 0);
  assert_int_equal (mkfifo (p, 0600), 0);
  free (p);

  /* the caller's own links are followed, in or out of the directory */
  r = load (dirs, 1);
  assert_int_equal (r->ndevs, 2);
  assert_non_null (za_cdi_registry_find (r, "in.com/x=d"));
  assert_non_null (za_cdi_registry_find (r, "out.com/x=d"));
  t = errs_text (r->errors);
  assert_non_null (strstr (t, "/cdi/c.yaml:1:1: unknown field (name not shown)"));
  assert_null (strstr (t, MARK));
  assert_null (strstr (t, "fifo"));
  free (t);
  za_cdi_registry_free (r);

  /* someone else's links out of the directory are not */
  if (geteuid () == 0)
    {
      for (const char *const *n = (const char *const[]) { "a.yaml", "b.yaml", "c.yaml", NULL }; *n; n++)
        {
          assert_true (asprintf (&p, "%s/%s", d, *n) > 0);
          assert_int_equal (lchown (p, 65534, 65534), 0);
          free (p);
        }
      r = load (dirs, 1);
      assert_int_equal (r->ndevs, 1);
      assert_non_null (za_cdi_registry_find (r, "in.com/x=d"));
      t = errs_text (r->errors);
      assert_non_null (strstr (t, "/cdi/b.yaml: CDI spec file is a symlink out of its directory owned by uid "
                                  "65534; not followed"));
      assert_non_null (strstr (t, "/cdi/c.yaml: CDI spec file is a symlink out of its directory"));
      assert_null (strstr (t, MARK));
      free (t);
      za_cdi_registry_free (r);
    }
  free (d);
  free (outside);
  rm_rf (root);
}

/* Every validation message, with where it is reported.  */
static void
test_validation_messages (void **state)
{
  (void) state;
#define DEVX(edits) SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits:\n" edits
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: gpu\n" ONE_DEV, "t.yaml:2:7: invalid (empty) vendor name");
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: vendor.com/\n" ONE_DEV, "t.yaml:2:7: invalid (empty) vendor name");
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: /gpu\n" ONE_DEV, "t.yaml:2:7: invalid (empty) vendor name");
  EXPECT_ERROR ("cdiVersion: 0.3.0\n" ONE_DEV, "t.yaml:1:1: invalid (empty) vendor name");
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: 1vendor/gpu\n" ONE_DEV,
                "t.yaml:2:7: invalid vendor \"1vendor\", should start with letter");
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: vendor.com-/gpu\n" ONE_DEV,
                "t.yaml:2:7: invalid vendor \"vendor.com-\", should end with a letter or digit");
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: ven+dor/gpu\n" ONE_DEV,
                "t.yaml:2:7: invalid character '+' in vendor name \"ven+dor\"");
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: vendor/_gpu\n" ONE_DEV,
                "t.yaml:2:7: invalid class \"_gpu\", should start with letter");
  EXPECT_ERROR ("cdiVersion: 0.3.0\nkind: vendor/device=\n" ONE_DEV,
                "t.yaml:2:7: invalid class \"device=\", should end with a letter or digit");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices:\n- name: -d\n  containerEdits: {env: [A=1]}\n",
                "t.yaml:4:9: failed add device \"-d\": invalid name \"-d\", should start with a letter or digit");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices:\n- name: d-\n  containerEdits: {env: [A=1]}\n",
                "t.yaml:4:9: failed add device \"d-\": invalid name \"d-\", should end with a letter or digit");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices:\n- name: d/e\n  containerEdits: {env: [A=1]}\n",
                "t.yaml:4:9: failed add device \"d/e\": invalid character '/' in device name \"d/e\"");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices:\n- containerEdits: {env: [A=1]}\n",
                "t.yaml:4:3: failed add device \"\": invalid (empty) device name");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices:\n- name: d\n",
                "t.yaml:4:9: failed add device \"d\": invalid device, empty device edits");
  /* spec-level edits do not make up for empty device edits (issue #250) */
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "containerEdits: {env: [A=1]}\ndevices:\n- name: d\n  containerEdits: {}\n",
                "t.yaml:5:9: failed add device \"d\": invalid device, empty device edits");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits: {env: [A=1]}\n"
                "- name: d\n  containerEdits: {env: [A=2]}\n",
                "t.yaml:6:9: invalid spec, multiple device \"d\"");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "devices: []\n", "t.yaml:3:10: invalid spec, no devices");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0"), "t.yaml:1:1: invalid spec, no devices");
  /* edits, at device and at spec level */
  EXPECT_ERROR (DEVX ("    env: [=x]\n"), "t.yaml:6:11: failed add device \"d\": invalid environment variable \"=x\"");
  EXPECT_ERROR (DEVX ("    env: [FOO]\n"), "t.yaml:6:11: failed add device \"d\": invalid environment variable \"FOO\"");
  za_cdi_file_free (PARSE_OK (DEVX ("    env: [FOO=]\n")));
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "containerEdits: {env: [X]}\n" ONE_DEV,
                "t.yaml:3:24: invalid environment variable \"X\"");
  EXPECT_ERROR (DEVX ("    deviceNodes: [{type: c}]\n"),
                "t.yaml:6:19: failed add device \"d\": invalid (empty) device path");
  EXPECT_ERROR (DEVX ("    deviceNodes: [{path: /dev/x, type: x}]\n"),
                "t.yaml:6:40: failed add device \"d\": device \"/dev/x\": invalid device type \"x\"");
  EXPECT_ERROR (DEVX ("    deviceNodes: [{path: /dev/x, permissions: rwx}]\n"),
                "t.yaml:6:47: failed add device \"d\": device \"/dev/x\": invalid permissions \"rwx\"");
  EXPECT_ERROR (DEVX ("    deviceNodes: [{path: /dev/x, permissions: none}]\n"),
                "t.yaml:6:47: failed add device \"d\": device \"/dev/x\": invalid permissions \"none\"");
  za_cdi_file_free (PARSE_OK (DEVX ("    deviceNodes: [{path: x, type: u, major: 1}, {path: /p, type: p},"
                                    " {path: /b, type: b, major: 8, permissions: mrw}]\n")));
  EXPECT_ERROR (DEVX ("    mounts: [{containerPath: /c}]\n"),
                "t.yaml:6:14: failed add device \"d\": invalid mount, empty host path");
  EXPECT_ERROR (DEVX ("    mounts:\n    - hostPath: /h\n"),
                "t.yaml:7:7: failed add device \"d\": invalid mount, empty container path");
  za_cdi_file_free (PARSE_OK (DEVX ("    mounts: [{hostPath: rel, containerPath: rel/c}]\n")));
  EXPECT_ERROR (DEVX ("    hooks: [{hookName: preStart, path: /h}]\n"),
                "t.yaml:6:24: failed add device \"d\": invalid hook name \"preStart\"");
  EXPECT_ERROR (DEVX ("    hooks: [{path: /h}]\n"), "t.yaml:6:13: failed add device \"d\": invalid hook name \"\"");
  EXPECT_ERROR (DEVX ("    hooks: [{hookName: poststop}]\n"),
                "t.yaml:6:13: failed add device \"d\": invalid hook \"poststop\" with empty path");
  EXPECT_ERROR (DEVX ("    hooks: [{hookName: poststop, path: /h, env: [BAD]}]\n"),
                "t.yaml:6:50: failed add device \"d\": invalid hook environment variable \"BAD\"");
  /* not enforced by any library: timeout <= 0 */
  za_cdi_file_free (PARSE_OK (DEVX ("    hooks: [{hookName: poststop, path: /h, timeout: -1}]\n")));
  /* the OCI runtime spec wants absolute hook paths (a deliberate difference) */
  EXPECT_ERROR (DEVX ("    hooks: [{hookName: poststop, path: h}]\n"),
                "t.yaml:6:40: failed add device \"d\": invalid hook \"poststop\": path \"h\" is not absolute");
  EXPECT_ERROR (DEVX ("    hooks: [{hookName: prestart, path: ./bin/hook}]\n"),
                "t.yaml:6:40: failed add device \"d\": invalid hook \"prestart\": path \"./bin/hook\" is not absolute");
  EXPECT_ERROR (SPEC_HEAD ("0.5.0") "containerEdits: {hooks: [{hookName: createRuntime, path: \"bin/x\"}]}\n" ONE_DEV,
                "t.yaml:3:58: invalid hook \"createRuntime\": path \"bin/x\" is not absolute");
  EXPECT_ERROR (SPEC_HEAD ("0.7.0") "devices:\n- name: d\n  containerEdits:\n    intelRdt: {closID: a/b}\n",
                "t.yaml:6:24: failed add device \"d\": invalid intelRdt closID \"a/b\"");
  EXPECT_ERROR (SPEC_HEAD ("0.7.0") "devices:\n- name: d\n  containerEdits:\n    intelRdt: {closID: ..}\n",
                "t.yaml:6:24: failed add device \"d\": invalid intelRdt closID \"..\"");
  za_cdi_file_free (PARSE_OK (SPEC_HEAD ("0.7.0") "devices:\n- name: d\n  containerEdits:\n    intelRdt: {closID: /}\n"));
  EXPECT_ERROR (SPEC_HEAD ("1.1.0") "devices:\n- name: d\n  containerEdits:\n    netDevices: [{name: c0}]\n",
                "t.yaml:6:18: failed add device \"d\": invalid (empty) netDevice hostInterfaceName");
  EXPECT_ERROR (SPEC_HEAD ("1.1.0") "devices:\n- name: d\n  containerEdits:\n    netDevices: [{hostInterfaceName: e}]\n",
                "t.yaml:6:18: failed add device \"d\": invalid (empty) netDevice name");
  EXPECT_ERROR (SPEC_HEAD ("1.1.0") "devices:\n- name: d\n  containerEdits:\n    netDevices:\n"
                "    - {hostInterfaceName: e0, name: c0}\n    - {hostInterfaceName: e0, name: c1}\n",
                "t.yaml:8:27: failed add device \"d\": duplicate netDevice hostInterfaceName \"e0\"");
  EXPECT_ERROR (SPEC_HEAD ("1.1.0") "devices:\n- name: d\n  containerEdits:\n    netDevices:\n"
                "    - {hostInterfaceName: e0, name: c0}\n    - {hostInterfaceName: e1, name: c0}\n",
                "t.yaml:8:37: failed add device \"d\": duplicate netDevice name \"c0\"");
  /* annotations are not checked (the reference's check is a no-op) */
  za_cdi_file_free (PARSE_OK (SPEC_HEAD ("0.6.0") "annotations: {\"not a/valid key!\": x}\n" ONE_DEV));
  /* YAML syntax errors */
  {
    char *t = PARSE_ERR ("{\"cdiVersion\": \"0.3.0\" \"kind\": 1}\n");
    assert_non_null (strstr (t, "t.yaml:1:"));
    free (t);
  }
  /* every problem is reported, not just the first */
  {
    char *t = PARSE_ERR (SPEC_HEAD ("0.5.0") "devices:\n- name: d\n  containerEdits:\n    env: [X]\n"
                         "    hooks: [{hookName: x, path: /h}]\n- name: e-\n  containerEdits: {env: [Y]}\n");
    size_t lines = 0;
    for (const char *p = t; *p; p++)
      lines += *p == '\n';
    assert_int_equal (lines, 4);
    free (t);
  }
#undef DEVX
}

static void
test_errors_carry_positions (void **state)
{
  (void) state;
  static const char *const texts[] = {
    "{}",
    "kind: a.com/b\n" ONE_DEV,
    SPEC_HEAD ("0.3.0") "devices:\n- name: d\n  containerEdits:\n    mounts: [{}]\n",
    SPEC_HEAD ("0.3.0") "devices:\n- name: d\n  containerEdits:\n    deviceNodes: [{}]\n    hooks: [{}]\n",
    SPEC_HEAD ("1.1.0") "devices:\n- name: d\n  containerEdits:\n    netDevices: [{}]\n",
    SPEC_HEAD ("0.3.0") "devices:\n- {}\n",
    SPEC_HEAD ("0.3.0"),
    "cdiVersion: 0.3.0\n" ONE_DEV,
    "cdiVersion: [\n",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    {
      char *t = parse_err_at ("dir/f.json", texts[i], (int) i);
      for (char *l = t; *l;)
        {
          char *nl = strchr (l, '\n');
          unsigned a, b;
          int n = 0;
          if (sscanf (l, "dir/f.json:%u:%u: %n", &a, &b, &n) != 2 || n == 0 || a == 0 || b == 0)
            fail_msg ("case %zu: error without file:line:col: %.*s", i, (int) (nl - l), l);
          l = nl + 1;
        }
      free (t);
    }
  /* loading from disk names the path */
  {
    char d[64];
    assert_non_null (make_tmpdir (d, sizeof d, TMPDIR_TMPL));
    char *p = NULL;
    struct za_cdi_file *f = NULL;
    struct za_err *err = NULL;
    char *t;
    write_in (d, "x.yaml", "cdiVersion: 9.9.9\n");
    assert_true (asprintf (&p, "%s/x.yaml", d) > 0);
    assert_int_equal (za_cdi_file_load (p, 0, &f, &err), -1);
    t = errs_text (err);
    assert_non_null (strstr (t, "/x.yaml:1:13: invalid version \"9.9.9\""));
    assert_string_equal (err->file, p);
    free (t);
    za_err_free (&err);
    free (p);
    rm_rf (d);
  }
}

/* ---- registry -------------------------------------------------------- */

#define NIC(name, env) "  - name: " name "\n    containerEdits: {env: [" env "]}\n"
#define NICSPEC(spec_env, devs) "cdiVersion: 0.3.0\nkind: example.com/nic\ncontainerEdits: {env: [" spec_env "]}\ndevices:\n" devs

static void
test_registry_priority_and_order (void **state)
{
  (void) state;
  char root[64];
  assert_non_null (make_tmpdir (root, sizeof root, TMPDIR_TMPL));
  char *lo = subdir (root, "etc"), *hi = subdir (root, "run");
  const char *dirs[] = { lo, hi, "/nonexistent/cdi" };
  struct za_cdi_registry *r;
  const struct za_cdi_entry *e;

  write_in (lo, "b.yaml", NICSPEC ("S=lo-b", NIC ("eth0", "D=lo-eth0") NIC ("eth9", "D=lo-eth9")));
  write_in (lo, "a.json", "{\"cdiVersion\": \"0.3.0\", \"kind\": \"example.com/nic\", \"devices\": "
                          "[{\"name\": \"a0\", \"containerEdits\": {\"env\": [\"D=a0\"]}}]}");
  write_in (hi, "x.yaml", NICSPEC ("S=hi", NIC ("eth0", "D=hi-eth0")));
  /* ignored: wrong extensions, subdirectories */
  write_in (lo, "c.yml", NICSPEC ("S=yml", NIC ("yml", "D=1")));
  write_in (lo, "d.JSON", NICSPEC ("S=JSON", NIC ("upper", "D=1")));
  write_in (lo, "e.json.bak", NICSPEC ("S=bak", NIC ("bak", "D=1")));
  write_in (lo, "json", NICSPEC ("S=noext", NIC ("noext", "D=1")));
  free (subdir (lo, "sub.yaml"));
  {
    char *sd = subdir (lo, "sub");
    write_in (sd, "f.yaml", NICSPEC ("S=sub", NIC ("sub", "D=1")));
    free (sd);
  }
  /* a symlink to a spec file is followed */
  {
    char *target = NULL, *link = NULL;
    assert_true (asprintf (&target, "%s/elsewhere.txt", root) > 0);
    assert_true (asprintf (&link, "%s/link.yaml", lo) > 0);
    write_in (root, "elsewhere.txt", NICSPEC ("S=link", NIC ("linked", "D=1")));
    assert_int_equal (symlink (target, link), 0);
    free (target);
    free (link);
  }

  r = load (dirs, 3);
  assert_null (r->errors);
  assert_int_equal (r->ndirs, 3);
  /* files: lexical within a directory, directories in order */
  assert_int_equal (r->nfiles, 4);
  assert_non_null (strstr (r->files[0]->path, "/etc/a.json"));
  assert_non_null (strstr (r->files[1]->path, "/etc/b.yaml"));
  assert_non_null (strstr (r->files[2]->path, "/etc/link.yaml"));
  assert_non_null (strstr (r->files[3]->path, "/run/x.yaml"));
  assert_int_equal (r->files[0]->priority, 0);
  assert_int_equal (r->files[3]->priority, 1);
  /* devices sorted by name; the later directory wins */
  assert_int_equal (r->ndevs, 4);
  assert_string_equal (r->devs[0].qname, "example.com/nic=a0");
  assert_string_equal (r->devs[1].qname, "example.com/nic=eth0");
  assert_string_equal (r->devs[2].qname, "example.com/nic=eth9");
  assert_string_equal (r->devs[3].qname, "example.com/nic=linked");
  e = za_cdi_registry_find (r, "example.com/nic=eth0");
  assert_non_null (e);
  assert_string_equal (env0 (&e->dev->edits), "D=hi-eth0");
  assert_string_equal (env0 (&e->file->spec.edits), "S=hi");
  assert_null (za_cdi_registry_find (r, "example.com/nic=yml"));
  assert_null (za_cdi_registry_find (r, "example.com/nic=sub"));
  assert_null (za_cdi_registry_find (r, "example.com/nic=upper"));
  assert_null (za_cdi_registry_find (r, "example.com/nic"));
  za_cdi_registry_free (r);

  /* reversed: the etc copy wins */
  {
    const char *rev[] = { hi, lo };
    r = load (rev, 2);
    e = za_cdi_registry_find (r, "example.com/nic=eth0");
    assert_string_equal (env0 (&e->dev->edits), "D=lo-eth0");
    za_cdi_registry_free (r);
  }
  /* $CDI_SPEC_DIRS when no directories are given */
  {
    char *env = NULL;
    struct za_err *err = NULL;
    assert_true (asprintf (&env, "%s:%s", hi, lo) > 0);
    setenv ("CDI_SPEC_DIRS", env, 1);
    assert_int_equal (za_cdi_registry_load (NULL, 0, &r, &err), 0);
    unsetenv ("CDI_SPEC_DIRS");
    assert_int_equal (r->ndirs, 2);
    assert_string_equal (r->dirs[0], hi);
    e = za_cdi_registry_find (r, "example.com/nic=eth0");
    assert_string_equal (env0 (&e->dev->edits), "D=lo-eth0");
    za_cdi_registry_free (r);
    free (env);
  }
  free (lo);
  free (hi);
  rm_rf (root);
}

static void
test_registry_conflicts_and_broken_files (void **state)
{
  (void) state;
  char root[64];
  assert_non_null (make_tmpdir (root, sizeof root, TMPDIR_TMPL));
  char *lo = subdir (root, "etc"), *hi = subdir (root, "run");
  const char *dirs[] = { lo, hi };
  struct za_cdi_registry *r;
  char *t;

  /* the oracle's samples/conflict layout */
  write_in (lo, "nic.yaml", NICSPEC ("S=nic", NIC ("eth0", "D=etc-eth0") NIC ("eth1", "D=etc-eth1")
                                                   NIC ("shared", "D=etc-shared") NIC ("only-here", "D=x")));
  write_in (lo, "nic-dup.json", NICSPEC ("S=dup", NIC ("eth1", "D=dup-eth1") NIC ("shared", "D=dup-shared")
                                                       NIC ("extra", "D=dup-extra")));
  write_in (hi, "nic-override.yaml", NICSPEC ("S=run", NIC ("eth0", "D=run-eth0") NIC ("shared", "D=run-shared")));
  write_in (lo, "broken.yaml", "cdiVersion: 0.3.0\nkind: example.com/nic\ndevices:\n- name: bad\n");
  write_in (lo, "one-char.yaml", "cdiVersion: 0.3.0\nkind: a/b\n" ONE_DEV);
  r = load (dirs, 2);
  /* nic-dup.json sorts before nic.yaml ('-' < '.') */
  assert_int_equal (r->nfiles, 4);
  assert_non_null (strstr (r->files[0]->path, "/etc/nic-dup.json"));
  assert_non_null (strstr (r->files[1]->path, "/etc/nic.yaml"));
  assert_int_equal (r->ndevs, 4);
  assert_string_equal (r->devs[0].qname, "a/b=d");
  assert_string_equal (r->devs[1].qname, "example.com/nic=eth0");
  assert_string_equal (r->devs[2].qname, "example.com/nic=extra");
  assert_string_equal (r->devs[3].qname, "example.com/nic=only-here");
  assert_null (za_cdi_registry_find (r, "example.com/nic=eth1"));
  /* removed although run-cdi (higher priority) defines it too */
  assert_null (za_cdi_registry_find (r, "example.com/nic=shared"));
  assert_string_equal (env0 (&za_cdi_registry_find (r, "example.com/nic=eth0")->dev->edits), "D=run-eth0");
  /* errors: the broken file, and each conflict on both files */
  t = errs_text (r->errors);
  assert_non_null (strstr (t, "/etc/broken.yaml:4:9: failed add device \"bad\": invalid device, empty device edits\n"));
  assert_non_null (strstr (t, "/etc/nic.yaml: conflicting device \"example.com/nic=eth1\" (specs \""));
  assert_non_null (strstr (t, "/etc/nic-dup.json: conflicting device \"example.com/nic=eth1\" (specs \""));
  assert_non_null (strstr (t, "/etc/nic.yaml: conflicting device \"example.com/nic=shared\""));
  assert_null (strstr (t, "nic-override"));
  free (t);
  za_cdi_registry_free (r);
  /* a directory we cannot read is reported and skipped (as root, a file
     in place of the directory stands in for it: ENOTDIR is skipped
     silently, as a missing directory) */
  {
    char *f = NULL;
    const char *d2[] = { hi, "/proc/self/fd/999999/x" };
    assert_true (asprintf (&f, "%s/afile", root) > 0);
    write_in (root, "afile", "x");
    {
      const char *d3[] = { f, hi };
      r = load (d3, 2);
      assert_null (r->errors);
      assert_int_equal (r->ndevs, 2);
      za_cdi_registry_free (r);
    }
    r = load (d2, 2);
    assert_int_equal (r->ndevs, 2);
    za_cdi_registry_free (r);
    free (f);
  }
  /* three copies in one directory: each later one conflicts with the
     first (the one the reference holds) */
  {
    char *d3 = subdir (root, "three");
    const char *dd[] = { d3 };
    write_in (d3, "a.yaml", NICSPEC ("S=a", NIC ("x", "D=a")));
    write_in (d3, "b.yaml", NICSPEC ("S=b", NIC ("x", "D=b")));
    write_in (d3, "c.yaml", NICSPEC ("S=c", NIC ("x", "D=c") NIC ("z", "D=c")));
    r = load (dd, 1);
    assert_int_equal (r->ndevs, 1);
    assert_string_equal (r->devs[0].qname, "example.com/nic=z");
    t = errs_text (r->errors);
    assert_int_equal (za_err_count (r->errors), 4);
    {
      char *ca = NULL, *ba = NULL, *cb = NULL;
      assert_true (asprintf (&ca, "(specs \"%s/c.yaml\", \"%s/a.yaml\")", d3, d3) > 0);
      assert_true (asprintf (&ba, "(specs \"%s/b.yaml\", \"%s/a.yaml\")", d3, d3) > 0);
      assert_true (asprintf (&cb, "(specs \"%s/c.yaml\", \"%s/b.yaml\")", d3, d3) > 0);
      assert_non_null (strstr (t, ca));
      assert_non_null (strstr (t, ba));
      assert_null (strstr (t, cb));
      free (ca);
      free (ba);
      free (cb);
    }
    free (t);
    za_cdi_registry_free (r);
    free (d3);
  }
  free (lo);
  free (hi);
  rm_rf (root);
}

/* ---- resolve ----------------------------------------------------------- */

static void
test_resolve_order (void **state)
{
  (void) state;
  char d[64];
  assert_non_null (make_tmpdir (d, sizeof d, TMPDIR_TMPL));
  const char *dirs[] = { d };
  struct za_cdi_registry *r;
  struct za_cdi_plan plan = { 0 };
  struct za_err *err = NULL;
  const struct za_cdi_file *f1, *f2;

  write_in (d, "one.yaml", "cdiVersion: 0.3.0\nkind: vendor.com/one\ncontainerEdits: {env: [S=one]}\n"
                           "devices:\n" NIC ("a", "D=a") NIC ("b", "D=b"));
  write_in (d, "two.yaml", "cdiVersion: 0.3.0\nkind: vendor.com/two\ncontainerEdits: {env: [S=two]}\n"
                           "devices:\n" NIC ("c", "D=c"));
  r = load (dirs, 1);
  f1 = za_cdi_registry_find (r, "vendor.com/one=a")->file;
  f2 = za_cdi_registry_find (r, "vendor.com/two=c")->file;
  {
    const char *names[] = { "vendor.com/two=c", "vendor.com/one=b", "vendor.com/one=a", "vendor.com/two=c" };
    assert_int_equal (za_cdi_resolve (r, names, 4, &plan, &err), 0);
    /* two's spec edits, c, one's spec edits, b, a, c again (no spec edits) */
    assert_int_equal (plan.n, 6);
    assert_ptr_equal (plan.edits[0], &f2->spec.edits);
    assert_string_equal (env0 (plan.edits[1]), "D=c");
    assert_ptr_equal (plan.edits[2], &f1->spec.edits);
    assert_string_equal (env0 (plan.edits[3]), "D=b");
    assert_string_equal (env0 (plan.edits[4]), "D=a");
    assert_string_equal (env0 (plan.edits[5]), "D=c");
    /* as containerEdits JSON */
    {
      json_t *o = za_cdi_plan_to_json (&plan);
      JSON_IS (json_object_get (o, "env"), "[\"S=two\",\"D=c\",\"S=one\",\"D=b\",\"D=a\",\"D=c\"]");
      json_decref (o);
    }
    za_cdi_plan_clear (&plan);
  }
  {
    const char *names[] = { "vendor.com/one=a", "vendor.com/one=zz", "vendor.com/two=c", "other.com/x=y" };
    assert_int_equal (za_cdi_resolve (r, names, 4, &plan, &err), -1);
    assert_int_equal (err->code, ZA_EINPUT);
    /* the reference's words, then where it looked */
    {
      char want[PATH_MAX + 128];
      snprintf (want, sizeof want, "unresolvable CDI devices vendor.com/one=zz, other.com/x=y (searched `%s`)", d);
      assert_string_equal (err->msg, want);
    }
    assert_null (err->next);
    assert_int_equal (plan.n, 0);
    za_err_free (&err);
  }
  {
    /* names are looked up verbatim: no wildcard, no normalisation */
    const char *names[] = { "vendor.com/one=*" };
    assert_int_equal (za_cdi_resolve (r, names, 1, &plan, &err), -1);
    za_err_free (&err);
  }
  za_cdi_registry_free (r);
  /* a broken file: the error says so and carries the file's own error,
     positioned, so that `zagent run` shows the cause */
  write_in (d, "three.yaml", "cdiVersion: 0.3.0\nkind: vendor.com/three\ndevices:\n- name: x\n");
  r = NULL;
  assert_int_equal (za_cdi_registry_load (dirs, 1, &r, &err), 0);
  {
    const char *names[] = { "vendor.com/three=x" };
    char file[PATH_MAX + 16];
    assert_int_equal (za_cdi_resolve (r, names, 1, &plan, &err), -1);
    assert_int_equal (err->code, ZA_EINPUT);
    assert_non_null (strstr (err->msg, "(searched `"));
    assert_non_null (strstr (err->msg, "; the problems found there follow)"));
    assert_non_null (err->next);
    snprintf (file, sizeof file, "%s/three.yaml", d);
    assert_string_equal (err->next->file, file);
    assert_true (err->next->line > 0);
    assert_true (za_err_is_input (err->next));
    assert_null (err->next->next);
    za_err_free (&err);
  }
  za_cdi_registry_free (r);
  rm_rf (d);
}

/* ---- apply ---------------------------------------------------------------- */

static void
test_apply_env (void **state)
{
  (void) state;
  static const char *spec
      = "cdiVersion: 0.3.0\nkind: vendor.com/gpu\ncontainerEdits: {env: [FOO=cdi, BAR=cdi, NEW=1]}\n"
        "devices:\n" NIC ("a", "NEW=2, FOO=cdi2") NIC ("b", "BAZ=b");
  json_t *cfg = INJECT_OK (spec, "{\"process\": {\"env\": [\"FOO=y\", \"BAR\", \"PATH=/bin\"]}}", "vendor.com/gpu=a",
                           "vendor.com/gpu=b");
  /* FOO=y is never replaced; CDI FOO= entries replace each other in
     place; the bare BAR is replaced; NEW=2 replaces NEW=1 in place */
  JSON_IS (jp (cfg, "process.env"),
           "[\"FOO=y\",\"BAR=cdi\",\"PATH=/bin\",\"FOO=cdi2\",\"NEW=2\",\"BAZ=b\"]");
  json_decref (cfg);
  /* no process at all: created */
  cfg = INJECT_OK (spec, "{}", "vendor.com/gpu=b");
  JSON_IS (jp (cfg, "process.env"), "[\"FOO=cdi\",\"BAR=cdi\",\"NEW=1\",\"BAZ=b\"]");
  json_decref (cfg);
  /* a bare name twice: the later one is replaced (the generator's cache
     keeps the last index) */
  cfg = INJECT_OK (spec, "{\"process\": {\"env\": [\"BAR\", \"X=1\", \"BAR\"]}}", "vendor.com/gpu=b");
  JSON_IS (jp (cfg, "process.env"), "[\"BAR\",\"X=1\",\"BAR=cdi\",\"FOO=cdi\",\"NEW=1\",\"BAZ=b\"]");
  json_decref (cfg);
  /* identical strings are not deduplicated */
  cfg = INJECT_OK (spec, "{\"process\": {\"env\": [\"BAZ=b\"]}}", "vendor.com/gpu=b");
  JSON_IS (jp (cfg, "process.env"), "[\"BAZ=b\",\"FOO=cdi\",\"BAR=cdi\",\"NEW=1\",\"BAZ=b\"]");
  json_decref (cfg);
}

#define DEVSPEC(nodes)                                                                                  \
  "cdiVersion: 0.5.0\nkind: vendor.com/gpu\ndevices:\n- name: d\n  containerEdits:\n    deviceNodes:\n" nodes

static void
test_apply_device_nodes_no_host (void **state)
{
  (void) state;
  char *e = NULL;
  json_t *cfg;
  /* minimally specified nodes are not stat'ed fatally */
  cfg = INJECT_OK (DEVSPEC ("    - {path: /dev/gpu0, hostPath: /nonexistent/gpu0, type: c, major: 300, minor: 70000,"
                            " permissions: rw}\n"
                            "    - {path: /dev/fifo, hostPath: /nonexistent/fifo, type: p}\n"
                            "    - {path: /dev/u, hostPath: /nonexistent/u, type: u, major: 7, minor: 1}\n"
                            "    - {path: /dev/b, hostPath: /nonexistent/b, type: b, major: 8, minor: 1, fileMode: 432,"
                            " uid: 0, gid: 5}\n"),
                   BASE_MIN, "vendor.com/gpu=d");
  JSON_IS (jp (cfg, "linux.devices"),
           "[{\"major\":300,\"minor\":70000,\"path\":\"/dev/gpu0\",\"type\":\"c\"},"
           "{\"major\":0,\"minor\":0,\"path\":\"/dev/fifo\",\"type\":\"p\"},"
           "{\"major\":7,\"minor\":1,\"path\":\"/dev/u\",\"type\":\"u\"},"
           "{\"fileMode\":432,\"gid\":5,\"major\":8,\"minor\":1,\"path\":\"/dev/b\",\"type\":\"b\",\"uid\":0}]");
  /* cgroup rules for b and c only; rwm when permissions are empty */
  JSON_IS (jp (cfg, "linux.resources.devices"),
           "[{\"access\":\"rw\",\"allow\":true,\"major\":300,\"minor\":70000,\"type\":\"c\"},"
           "{\"access\":\"rwm\",\"allow\":true,\"major\":8,\"minor\":1,\"type\":\"b\"}]");
  json_decref (cfg);
  /* not minimally specified and missing on the host: an error */
  assert_null (inject (DEVSPEC ("    - {path: /dev/x, hostPath: /nonexistent/x, type: c}\n"), BASE_MIN,
                       NAMES ("vendor.com/gpu=d"), "", &e));
  assert_non_null (strstr (e, "failed to stat CDI host device \"/nonexistent/x\": No such file or directory"));
  free (e);
  e = NULL;
  assert_null (inject (DEVSPEC ("    - {path: /nonexistent/y}\n"), BASE_MIN, NAMES ("vendor.com/gpu=d"), "", &e));
  assert_non_null (strstr (e, "failed to stat CDI host device \"/nonexistent/y\""));
  free (e);
  e = NULL;
  /* a regular file is not a device node */
  assert_null (inject (DEVSPEC ("    - {path: /dev/x, hostPath: /etc/passwd}\n"), BASE_MIN, NAMES ("vendor.com/gpu=d"),
                       "", &e));
  assert_non_null (strstr (e, "failed to stat CDI host device \"/etc/passwd\": not a device node"));
  free (e);
  /* uid/gid from process.user when > 0, explicit values kept */
  cfg = INJECT_OK (DEVSPEC ("    - {path: /dev/a, type: c, major: 1, minor: 9}\n"
                            "    - {path: /dev/b, type: c, major: 1, minor: 9, uid: 0, gid: 7}\n"),
                   "{\"process\": {\"user\": {\"uid\": 1000, \"gid\": 1001}}}", "vendor.com/gpu=d");
  JSON_IS (jp (cfg, "linux.devices"),
           "[{\"gid\":1001,\"major\":1,\"minor\":9,\"path\":\"/dev/a\",\"type\":\"c\",\"uid\":1000},"
           "{\"gid\":7,\"major\":1,\"minor\":9,\"path\":\"/dev/b\",\"type\":\"c\",\"uid\":0}]");
  json_decref (cfg);
  cfg = INJECT_OK (DEVSPEC ("    - {path: /dev/a, type: c, major: 1, minor: 9}\n"),
                   "{\"process\": {\"user\": {\"uid\": 0, \"gid\": 44}}}", "vendor.com/gpu=d");
  JSON_IS (jp (cfg, "linux.devices"),
           "[{\"gid\":44,\"major\":1,\"minor\":9,\"path\":\"/dev/a\",\"type\":\"c\"}]");
  json_decref (cfg);
  /* same path: the old entry is removed and the node moves to the end;
     rules are appended, never removed or merged */
  cfg = INJECT_OK (DEVSPEC ("    - {path: /dev/a, type: c, major: 1, minor: 9}\n"),
                   "{\"linux\": {\"devices\": [{\"path\": \"/dev/a\", \"type\": \"c\", \"major\": 5, \"minor\": 5},"
                   " {\"path\": \"/dev/z\", \"type\": \"c\", \"major\": 6, \"minor\": 6}],"
                   " \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                   " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 9, \"access\": \"rwm\"}]}}}",
                   "vendor.com/gpu=d", "vendor.com/gpu=d");
  JSON_IS (jp (cfg, "linux.devices"),
           "[{\"major\":6,\"minor\":6,\"path\":\"/dev/z\",\"type\":\"c\"},"
           "{\"major\":1,\"minor\":9,\"path\":\"/dev/a\",\"type\":\"c\"}]");
  JSON_IS (jp (cfg, "linux.resources.devices"),
           "[{\"access\":\"rwm\",\"allow\":false},"
           "{\"access\":\"rwm\",\"allow\":true,\"major\":1,\"minor\":9,\"type\":\"c\"},"
           "{\"access\":\"rwm\",\"allow\":true,\"major\":1,\"minor\":9,\"type\":\"c\"},"
           "{\"access\":\"rwm\",\"allow\":true,\"major\":1,\"minor\":9,\"type\":\"c\"}]");
  json_decref (cfg);
}

/* A fake host root with real device nodes in ROOT (N bytes); false when
   mknod is not permitted (not root).  */
static bool
fake_host (char *root, size_t n)
{
  char *dev, *p = NULL;
  struct
  {
    const char *name;
    mode_t mode;
    unsigned maj, min;
  } nodes[] = {
    { "big", S_IFCHR | 0620, 511, 70000 }, { "blk", S_IFBLK | 0660, 8, 1 }, { "fifo", S_IFIFO | 0644, 0, 0 },
    { "null", S_IFCHR | 0666, 1, 3 },
  };
  assert_non_null (make_tmpdir (root, n, TMPDIR_TMPL));
  dev = subdir (root, "dev");
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
    {
      assert_true (asprintf (&p, "%s/%s", dev, nodes[i].name) > 0);
      if (mknod (p, nodes[i].mode, makedev (nodes[i].maj, nodes[i].min)) < 0)
        {
          free (p);
          free (dev);
          rm_rf (root);
          return false;
        }
      chmod (p, nodes[i].mode & 07777);
      free (p);
    }
  assert_true (asprintf (&p, "%s/link", dev) > 0);
  assert_int_equal (symlink ("null", p), 0);
  free (p);
  free (dev);
  return true;
}

static void
test_apply_device_nodes_host (void **state)
{
  (void) state;
  char host[64];
  char *e = NULL;
  json_t *cfg;
  if (!fake_host (host, sizeof host))
    {
      print_message ("# mknod not permitted (needs root): skipped\n");
      skip ();
    }
  /* type/major/minor from the host (major/minor > 255), fileMode from
     the host permission bits when unset (v1.1.0) */
  cfg = INJECT_HOST_OK (host,
                        DEVSPEC ("    - {path: /dev/gpu0, hostPath: /dev/big}\n"
                                 "    - {path: /dev/blk}\n"
                                 "    - {path: /dev/myfifo, hostPath: /dev/fifo}\n"
                                 "    - {path: /dev/n, hostPath: /dev/null, type: c, minor: 77, fileMode: 384}\n"
                                 "    - {path: /dev/min, hostPath: /dev/big, type: c, major: 9, minor: 9}\n"
                                 "    - {path: /dev/mis, hostPath: /dev/blk, type: c, major: 9, minor: 9}\n"),
                        BASE_MIN, "vendor.com/gpu=d");
  JSON_IS (jp (cfg, "linux.devices"),
           "[{\"fileMode\":400,\"major\":511,\"minor\":70000,\"path\":\"/dev/gpu0\",\"type\":\"c\"},"
           "{\"fileMode\":432,\"major\":8,\"minor\":1,\"path\":\"/dev/blk\",\"type\":\"b\"},"
           "{\"fileMode\":420,\"major\":0,\"minor\":0,\"path\":\"/dev/myfifo\",\"type\":\"p\"},"
           "{\"fileMode\":384,\"major\":1,\"minor\":3,\"path\":\"/dev/n\",\"type\":\"c\"},"
           "{\"fileMode\":400,\"major\":9,\"minor\":9,\"path\":\"/dev/min\",\"type\":\"c\"},"
           "{\"fileMode\":432,\"major\":9,\"minor\":9,\"path\":\"/dev/mis\",\"type\":\"c\"}]");
  JSON_IS (jp (cfg, "linux.resources.devices"),
           "[{\"access\":\"rwm\",\"allow\":true,\"major\":511,\"minor\":70000,\"type\":\"c\"},"
           "{\"access\":\"rwm\",\"allow\":true,\"major\":8,\"minor\":1,\"type\":\"b\"},"
           "{\"access\":\"rwm\",\"allow\":true,\"major\":1,\"minor\":3,\"type\":\"c\"},"
           "{\"access\":\"rwm\",\"allow\":true,\"major\":9,\"minor\":9,\"type\":\"c\"},"
           "{\"access\":\"rwm\",\"allow\":true,\"major\":9,\"minor\":9,\"type\":\"c\"}]");
  json_decref (cfg);
  /* a given type that differs from the host's */
  assert_null (inject (DEVSPEC ("    - {path: /dev/x, hostPath: /dev/blk, type: c}\n"), BASE_MIN,
                       NAMES ("vendor.com/gpu=d"), host, &e));
  assert_non_null (strstr (e, "CDI device (\"/dev/x\", \"/dev/blk\"), host type mismatch (c, b)"));
  free (e);
  e = NULL;
  /* `u` never matches the host's `c` without an explicit major */
  assert_null (inject (DEVSPEC ("    - {path: /dev/x, hostPath: /dev/null, type: u}\n"), BASE_MIN,
                       NAMES ("vendor.com/gpu=d"), host, &e));
  assert_non_null (strstr (e, "host type mismatch (u, c)"));
  free (e);
  e = NULL;
  /* lstat: a symlink is not a device node */
  assert_null (inject (DEVSPEC ("    - {path: /dev/x, hostPath: /dev/link}\n"), BASE_MIN,
                       NAMES ("vendor.com/gpu=d"), host, &e));
  assert_non_null (strstr (e, "failed to stat CDI host device \"/dev/link\": not a device node"));
  free (e);
  /* uid/gid of the process user */
  cfg = INJECT_HOST_OK (host, DEVSPEC ("    - {path: /dev/gpu0, hostPath: /dev/big}\n"),
                        "{\"process\": {\"user\": {\"uid\": 1000, \"gid\": 0}}}", "vendor.com/gpu=d");
  JSON_IS (jp (cfg, "linux.devices"),
           "[{\"fileMode\":400,\"major\":511,\"minor\":70000,\"path\":\"/dev/gpu0\",\"type\":\"c\",\"uid\":1000}]");
  json_decref (cfg);
  rm_rf (host);
}

static void
test_apply_mounts (void **state)
{
  (void) state;
  static const char *base
      = "{\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
        " {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
        " {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\"},"
        " {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\"},"
        " {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\"},"
        " {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\"}]}";
  static const char *spec
      = "cdiVersion: 0.4.0\nkind: vendor.com/gpu\ncontainerEdits:\n  mounts:\n"
        "  - {hostPath: /usr/lib/libx.so, containerPath: /usr/lib/libx.so, options: [ro, bind]}\n"
        "devices:\n- name: d\n  containerEdits:\n    mounts:\n"
        "    - {hostPath: shm, containerPath: /dev/shm, type: tmpfs, options: [size=1g]}\n"
        "    - {hostPath: /a, containerPath: /a}\n"
        "    - {hostPath: /pts2, containerPath: /dev/pts/}\n"
        "    - {hostPath: /r, containerPath: ./rel/x/../y}\n"
        "    - {hostPath: /r0, containerPath: rel0}\n"
        "- name: e\n  containerEdits: {env: [A=1]}\n";
  json_t *cfg = INJECT_OK (spec, base, "vendor.com/gpu=d");
  json_t *m = json_object_get (cfg, "mounts");
  /* depth = slashes in the cleaned path: rel0 0, ./rel/x/../y (rel/y) 1 */
  const char *want[] = { "rel0", "/proc", "/dev", "/sys", "/a", "./rel/x/../y", "/dev/pts", "/dev/mqueue",
                         "/dev/shm", "/dev/pts/", "/usr/lib/libx.so" };
  /* replaced by destination (string equal: /dev/pts/ is another one), then
     a stable sort by depth: base order kept, injected after */
  assert_int_equal (json_array_size (m), sizeof want / sizeof want[0]);
  for (size_t i = 0; i < json_array_size (m); i++)
    assert_string_equal (json_string_value (json_object_get (json_array_get (m, i), "destination")), want[i]);
  JSON_IS (json_array_get (m, 8), "{\"destination\":\"/dev/shm\",\"options\":[\"size=1g\"],\"source\":\"shm\",\"type\":\"tmpfs\"}");
  /* no type and no options invented */
  JSON_IS (json_array_get (m, 4), "{\"destination\":\"/a\",\"source\":\"/a\"}");
  JSON_IS (json_array_get (m, 10),
           "{\"destination\":\"/usr/lib/libx.so\",\"options\":[\"ro\",\"bind\"],\"source\":\"/usr/lib/libx.so\"}");
  json_decref (cfg);
  /* no mount edits: the base order is left alone (even if unsorted) */
  cfg = INJECT_OK ("cdiVersion: 0.3.0\nkind: vendor.com/gpu\n" ONE_DEV,
                   "{\"mounts\": [{\"destination\": \"/a/b\"}, {\"destination\": \"/a\"}]}", "vendor.com/gpu=d");
  JSON_IS (json_object_get (cfg, "mounts"), "[{\"destination\":\"/a/b\"},{\"destination\":\"/a\"}]");
  json_decref (cfg);
}

static void
test_apply_hooks (void **state)
{
  (void) state;
  static const char *spec
      = "cdiVersion: 0.3.0\nkind: vendor.com/gpu\ncontainerEdits:\n  hooks:\n"
        "  - {hookName: createContainer, path: /bin/h, args: [h, ldcache], env: [X=1]}\n"
        "devices:\n- name: d\n  containerEdits:\n    hooks:\n"
        "    - {hookName: prestart, path: /bin/p}\n"
        "    - {hookName: createRuntime, path: /bin/cr}\n"
        "    - {hookName: startContainer, path: /bin/sc, timeout: 0}\n"
        "    - {hookName: poststart, path: /bin/ps, timeout: 5}\n"
        "    - {hookName: poststop, path: /bin/pst}\n"
        "    - {hookName: createContainer, path: /bin/cc2}\n";
  json_t *cfg = INJECT_OK (spec, "{\"ociVersion\": \"1.0.2\", \"process\": {}, \"annotations\": {\"a\": \"b\"}}",
                           "vendor.com/gpu=d");
  char *text = json_dumps (cfg, JSON_COMPACT);
  JSON_IS (json_object_get (cfg, "hooks"),
           "{\"createContainer\":[{\"args\":[\"h\",\"ldcache\"],\"env\":[\"X=1\"],\"path\":\"/bin/h\"},"
           "{\"path\":\"/bin/cc2\"}],"
           "\"createRuntime\":[{\"path\":\"/bin/cr\"}],"
           "\"poststart\":[{\"path\":\"/bin/ps\",\"timeout\":5}],"
           "\"poststop\":[{\"path\":\"/bin/pst\"}],"
           "\"prestart\":[{\"path\":\"/bin/p\"}],"
           "\"startContainer\":[{\"path\":\"/bin/sc\",\"timeout\":0}]}");
  /* `hooks` is inserted before `annotations` (OCI key order) */
  assert_non_null (strstr (text, "\"hooks\""));
  assert_true (strstr (text, "\"hooks\"") < strstr (text, "\"annotations\""));
  assert_true (strstr (text, "\"process\"") < strstr (text, "\"hooks\""));
  free (text);
  json_decref (cfg);
  /* appended to existing lists */
  cfg = INJECT_OK (spec, "{\"hooks\": {\"prestart\": [{\"path\": \"/old\"}]}}", "vendor.com/gpu=d");
  JSON_IS (jp (cfg, "hooks.prestart"), "[{\"path\":\"/old\"},{\"path\":\"/bin/p\"}]");
  json_decref (cfg);
  /* no annotations key: hooks simply added */
  cfg = INJECT_OK (spec, "{}", "vendor.com/gpu=d");
  assert_int_equal (json_array_size (jp (cfg, "hooks.createContainer")), 2);
  json_decref (cfg);
}

static void
test_apply_rdt_gids_netdevices (void **state)
{
  (void) state;
  static const char *spec
      = "cdiVersion: 1.1.0\nkind: vendor.com/gpu\ncontainerEdits:\n  additionalGids: [0, 44, 5]\n"
        "devices:\n"
        "- name: a\n  containerEdits:\n    intelRdt: {closID: one, l3CacheSchema: \"L3:0=f\"}\n"
        "    additionalGids: [5, 7, 7, 0]\n"
        "    netDevices: [{hostInterfaceName: eth1, name: ceth1}, {hostInterfaceName: eth2, name: ceth2}]\n"
        "- name: b\n  containerEdits:\n    intelRdt: {closID: two, schemata: [\"L3:0=1\"], enableMonitoring: true}\n"
        "    netDevices: [{hostInterfaceName: eth1, name: other}]\n";
  json_t *cfg = INJECT_OK (spec, "{\"process\": {\"user\": {\"uid\": 0, \"gid\": 0, \"additionalGids\": [44]}}}",
                           "vendor.com/gpu=a", "vendor.com/gpu=b");
  /* the last intelRdt wins, wholesale */
  JSON_IS (jp (cfg, "linux.intelRdt"),
           "{\"closID\":\"two\",\"enableMonitoring\":true,\"schemata\":[\"L3:0=1\"]}");
  /* non-zero, not already present */
  JSON_IS (jp (cfg, "process.user.additionalGids"), "[44,5,7]");
  /* map by host interface; later wins */
  JSON_IS (jp (cfg, "linux.netDevices"), "{\"eth1\":{\"name\":\"other\"},\"eth2\":{\"name\":\"ceth2\"}}");
  json_decref (cfg);
  cfg = INJECT_OK (spec, "{}", "vendor.com/gpu=a");
  JSON_IS (jp (cfg, "linux.intelRdt"), "{\"closID\":\"one\",\"l3CacheSchema\":\"L3:0=f\"}");
  JSON_IS (jp (cfg, "process.user.additionalGids"), "[44,5,7]");
  json_decref (cfg);
  /* a config that is not an object */
  {
    struct za_cdi_plan plan = { 0 };
    struct za_err *err = NULL;
    struct za_host host = { "" };
    json_t *arr = json_array ();
    assert_int_equal (za_cdi_apply (arr, &plan, &host, &err), -1);
    assert_string_equal (err->msg, "config.json is not a JSON object");
    za_err_free (&err);
    json_decref (arr);
  }
}

static void
test_apply_null_and_wrong_types (void **state)
{
  (void) state;
  static const char *spec
      = "cdiVersion: 0.7.0\nkind: vendor.com/gpu\ndevices:\n- name: d\n  containerEdits:\n"
        "    env: [A=1]\n    deviceNodes: [{path: /dev/x, type: c, major: 1, minor: 3}]\n"
        "    mounts: [{hostPath: /h, containerPath: /c}]\n    hooks: [{hookName: prestart, path: /p}]\n"
        "    additionalGids: [9]\n";
  char *e = NULL;
  /* JSON nulls are Go zero values: filled like missing keys */
  json_t *cfg = INJECT_OK (spec,
                           "{\"process\": {\"env\": null, \"user\": null}, \"mounts\": null, \"hooks\": null,"
                           " \"linux\": {\"devices\": null, \"resources\": {\"devices\": null}}, \"annotations\": null}",
                           "vendor.com/gpu=d");
  JSON_IS (jp (cfg, "process.env"), "[\"A=1\"]");
  JSON_IS (jp (cfg, "process.user.additionalGids"), "[9]");
  JSON_IS (json_object_get (cfg, "mounts"), "[{\"destination\":\"/c\",\"source\":\"/h\"}]");
  JSON_IS (json_object_get (cfg, "hooks"), "{\"prestart\":[{\"path\":\"/p\"}]}");
  JSON_IS (jp (cfg, "linux.devices"), "[{\"major\":1,\"minor\":3,\"path\":\"/dev/x\",\"type\":\"c\"}]");
  assert_int_equal (json_array_size (jp (cfg, "linux.resources.devices")), 1);
  json_decref (cfg);
  /* a value of another type is an input error, not "out of memory" */
  assert_null (inject (spec, "{\"process\": {\"env\": \"A=1\"}}", NAMES ("vendor.com/gpu=d"), "", &e));
  assert_non_null (strstr (e, "config.json: `env` is not an array"));
  free (e);
  e = NULL;
  assert_null (inject (spec, "{\"linux\": []}", NAMES ("vendor.com/gpu=d"), "", &e));
  assert_non_null (strstr (e, "config.json: `linux` is not an object"));
  free (e);
  e = NULL;
  assert_null (inject (spec, "{\"hooks\": {\"prestart\": {}}}", NAMES ("vendor.com/gpu=d"), "", &e));
  assert_non_null (strstr (e, "config.json: `prestart` is not an array"));
  free (e);
  e = NULL;
  assert_null (inject (spec, "{\"hooks\": []}", NAMES ("vendor.com/gpu=d"), "", &e));
  assert_non_null (strstr (e, "config.json: `hooks` is not an object"));
  free (e);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_json_and_yaml),
    cmocka_unit_test (test_yaml11_canonical),
    cmocka_unit_test (test_case_insensitive_keys),
    cmocka_unit_test (test_unknown_and_duplicate_keys),
    cmocka_unit_test (test_versions),
    cmocka_unit_test (test_min_version),
    cmocka_unit_test (test_names),
    cmocka_unit_test (test_validation_messages),
    cmocka_unit_test (test_errors_carry_positions),
    cmocka_unit_test (test_registry_priority_and_order),
    cmocka_unit_test (test_registry_conflicts_and_broken_files),
    cmocka_unit_test (test_errors_never_quote_content),
    cmocka_unit_test (test_validation_quotes_are_escaped),
    cmocka_unit_test (test_registry_symlinked_specs),
    cmocka_unit_test (test_resolve_order),
    cmocka_unit_test (test_apply_env),
    cmocka_unit_test (test_apply_device_nodes_no_host),
    cmocka_unit_test (test_apply_device_nodes_host),
    cmocka_unit_test (test_apply_mounts),
    cmocka_unit_test (test_apply_hooks),
    cmocka_unit_test (test_apply_rdt_gids_netdevices),
    cmocka_unit_test (test_apply_null_and_wrong_types),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
