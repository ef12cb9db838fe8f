/* Unit tests for the public CDI and GPU API (include/zagent.h): name
   checks, spec files, the registry and resolution, injection into a
   bundle (the one function behind `zagent cdi inject` and the
   zagent-runtime shim, and its strictness: duplicate keys, symlinks, the
   kept mode, atomic replacement), spec generation and writing, and the
   GPU list on a fake host (tests/fakehost/mkhost.sh; needs root for
   mknod, else that test is skipped).  Calls go through the public header
   only; testutil.h helps with files.  */
#define _GNU_SOURCE
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

#include "zagent.h"

#include "testutil.h"

#define MKHOST "tests/fakehost/mkhost.sh"

#define SPEC_GPU                                                                                   \
  "cdiVersion: \"0.5.0\"\n"                                                                        \
  "kind: example.com/gpu\n"                                                                        \
  "containerEdits:\n"                                                                              \
  "  env: [EX_GLOBAL=1]\n"                                                                         \
  "devices:\n"                                                                                     \
  "- name: dev0\n"                                                                                 \
  "  containerEdits:\n"                                                                            \
  "    env: [EX_DEV=0]\n"                                                                          \
  "    deviceNodes:\n"                                                                             \
  "    - {path: /dev/ex0, type: c, major: 1, minor: 5, permissions: rw}\n"                       \
  "- name: dev1\n"                                                                                 \
  "  containerEdits:\n"                                                                            \
  "    env: [EX_DEV=1]\n"

#define SPEC_NET                                                                                   \
  "{\"cdiVersion\": \"0.3.0\", \"kind\": \"example.com/net\",\n"                                   \
  " \"devices\": [{\"name\": \"nic\", \"containerEdits\": {\"env\": [\"NIC=1\"]}}]}\n"

#define CONFIG                                                                                     \
  "{\n"                                                                                            \
  "  \"ociVersion\": \"1.0.2\",\n"                                                                 \
  "  \"process\": {\"args\": [\"/bin/sh\"], \"cwd\": \"/\", \"env\": [\"PATH=/bin\"]},\n"          \
  "  \"root\": {\"path\": \"rootfs\"},\n"                                                          \
  "  \"linux\": {}\n"                                                                              \
  "}\n"

struct fx
{
  char dir[64];
  char cdi[128];    /* spec dir: gpu.yaml, net.json */
  char bundle[128]; /* config.json (CONFIG, mode 0640) */
  char config[160];
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  if (!f)
    return -1;
  if (make_tmpdir_sub (f->dir, sizeof f->dir, "/tmp/za-apicdi-XXXXXX", f->cdi, sizeof f->cdi, "cdi") < 0)
    {
      free (f);
      return -1;
    }
  unsetenv ("ZAGENT_HOST_ROOT");
  unsetenv ("CDI_SPEC_DIRS");
  snprintf (f->bundle, sizeof f->bundle, "%s/bundle", f->dir);
  snprintf (f->config, sizeof f->config, "%s/config.json", f->bundle);
  write_in (f->cdi, "gpu.yaml", SPEC_GPU);
  write_in (f->cdi, "net.json", SPEC_NET);
  write_data (f->config, CONFIG, strlen (CONFIG), 0640);
  assert_int_equal (chmod (f->config, 0640), 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  return f ? fixture_free (f, f->dir) : 0;
}

/* The formatted errors of E, one per line, for a failure message.  */
static void
dump (const zagent_error *e)
{
  for (; e; e = zagent_error_next (e))
    {
      char *s = zagent_error_format (e);
      print_message ("  %s\n", s ? s : "?");
      free (s);
    }
}

/* E is one input error whose message contains NEEDLE.  */
static void
expect_input (const zagent_error *e, const char *needle)
{
  if (!e || zagent_error_next (e) || !zagent_error_is_input (e) || !strstr (zagent_error_message (e), needle))
    {
      dump (e);
      fail_msg ("want one input error containing `%s`", needle);
    }
}

static json_t *
load_json (const char *path)
{
  json_error_t je;
  json_t *o = json_load_file (path, 0, &je);
  if (!o)
    fail_msg ("%s: %s", path, je.text);
  return o;
}

static struct stat
stat_of (const char *path)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    fail_msg ("stat `%s`: %s", path, strerror (errno));
  return st;
}

/* PATH's bytes equal TEXT.  */
static void
expect_content (const char *path, const char *text)
{
  char *data = slurp (path, NULL);
  assert_string_equal (data, text);
  free (data);
}

/* ---- names and spec files ------------------------------------------ */

static void
test_name_check (void **state)
{
  zagent_error *err = NULL;
  (void) state;
  assert_int_equal (zagent_cdi_name_check ("example.com/gpu=0", &err), 0);
  assert_null (err);
  assert_int_equal (zagent_cdi_name_check ("dev0", &err), -1);
  expect_input (err, "is not a qualified device name");
  zagent_error_free (&err);
  assert_int_equal (zagent_cdi_name_check ("example.com/gpu=", &err), -1);
  expect_input (err, "is not a qualified device name");
  zagent_error_free (&err);
}

static void
test_spec_load (void **state)
{
  struct fx *f = *state;
  zagent_cdi_spec *s = NULL;
  zagent_error *err = NULL;
  char path[PATH_MAX], bad[PATH_MAX];

  pjoin (path, sizeof path, f->cdi, "gpu.yaml");
  assert_int_equal (zagent_cdi_spec_load (&s, path, &err), 0);
  assert_null (err);
  assert_string_equal (zagent_cdi_spec_version (s), "0.5.0");
  assert_string_equal (zagent_cdi_spec_kind (s), "example.com/gpu");
  assert_int_equal (zagent_cdi_spec_device_count (s), 2);
  assert_string_equal (zagent_cdi_spec_device_name (s, 0), "dev0");
  assert_string_equal (zagent_cdi_spec_device_name (s, 1), "dev1");
  assert_null (zagent_cdi_spec_device_name (s, 2));
  zagent_cdi_spec_free (s);

  /* Every error names the file; errors append to what was there.  */
  pjoin (bad, sizeof bad, f->dir, "broken.yaml");
  write_file (bad, "cdiVersion: \"0.3.0\"\nkind: example.com/broken\ndevices:\n- name: nothing\n");
  assert_int_equal (zagent_cdi_name_check ("x", &err), -1);
  s = (zagent_cdi_spec *) 1;
  assert_int_equal (zagent_cdi_spec_load (&s, bad, &err), -1);
  assert_null (s);
  assert_non_null (zagent_error_next (err));
  for (const zagent_error *e = zagent_error_next (err); e; e = zagent_error_next (e))
    {
      assert_non_null (zagent_error_file (e));
      assert_string_equal (zagent_error_file (e), bad);
      assert_true (zagent_error_is_input (e));
    }
  zagent_error_free (&err);

  pjoin (bad, sizeof bad, f->dir, "missing.yaml");
  assert_int_equal (zagent_cdi_spec_load (&s, bad, &err), -1);
  assert_non_null (err);
  assert_string_equal (zagent_error_file (err), bad);
  zagent_error_free (&err);
}

/* ---- registry and resolution --------------------------------------- */

static void
test_registry (void **state)
{
  struct fx *f = *state;
  zagent_cdi_registry *r = NULL;
  zagent_error *err = NULL, *warn = NULL;
  char other[PATH_MAX], path[PATH_MAX];
  const char *dirs[2];

  /* A second directory with a broken file and an override of dev1.  */
  pjoin (other, sizeof other, f->dir, "cdi2");
  write_in (other, "broken.yaml", "cdiVersion: \"0.3.0\"\nkind: example.com/broken\ndevices:\n- name: x\n");
  write_in (other, "gpu.yaml", "cdiVersion: \"0.3.0\"\nkind: example.com/gpu\ndevices:\n"
                               "- {name: dev1, containerEdits: {env: [OVERRIDE=1]}}\n");
  dirs[0] = f->cdi;
  dirs[1] = other;
  assert_int_equal (zagent_cdi_registry_load (&r, dirs, 2, &warn, &err), 0);
  assert_null (err);
  assert_int_equal (zagent_cdi_registry_dir_count (r), 2);
  assert_string_equal (zagent_cdi_registry_dir (r, 0), f->cdi);
  assert_string_equal (zagent_cdi_registry_dir (r, 1), other);
  assert_null (zagent_cdi_registry_dir (r, 2));
  assert_int_equal (zagent_cdi_registry_device_count (r), 3);
  assert_string_equal (zagent_cdi_registry_device_name (r, 0), "example.com/gpu=dev0");
  assert_string_equal (zagent_cdi_registry_device_name (r, 1), "example.com/gpu=dev1");
  assert_string_equal (zagent_cdi_registry_device_name (r, 2), "example.com/net=nic");
  pjoin (path, sizeof path, f->cdi, "gpu.yaml");
  assert_string_equal (zagent_cdi_registry_device_spec (r, 0), path);
  assert_int_equal (zagent_cdi_registry_device_priority (r, 0), 0);
  pjoin (path, sizeof path, other, "gpu.yaml");
  assert_string_equal (zagent_cdi_registry_device_spec (r, 1), path);
  assert_int_equal (zagent_cdi_registry_device_priority (r, 1), 1);
  assert_null (zagent_cdi_registry_device_name (r, 3));
  assert_int_equal (zagent_cdi_registry_device_priority (r, 3), -1);
  /* The broken file is a warning that names it.  */
  assert_non_null (warn);
  pjoin (path, sizeof path, other, "broken.yaml");
  assert_string_equal (zagent_error_file (warn), path);
  zagent_error_free (&warn);
  zagent_cdi_registry_free (r);

  /* Warnings NULL: dropped.  */
  assert_int_equal (zagent_cdi_registry_load (&r, dirs, 2, NULL, &err), 0);
  assert_null (err);
  zagent_cdi_registry_free (r);
}

static void
test_resolve (void **state)
{
  struct fx *f = *state;
  zagent_cdi_registry *r = NULL;
  zagent_error *err = NULL;
  const char *dirs[] = { f->cdi };
  const char *names[] = { "example.com/gpu=dev1", "example.com/net=nic" };
  const char *unknown[] = { "example.com/gpu=dev0", "example.com/gpu=nope", "other.com/x=y" };
  const char *invalid[] = { "example.com/gpu=dev0", "/dev/null" };
  char *text = NULL;
  json_t *o;
  json_error_t je;

  assert_int_equal (zagent_cdi_registry_load (&r, dirs, 1, NULL, &err), 0);
  assert_int_equal (zagent_cdi_resolve (r, names, 2, &text, &err), 0);
  assert_null (err);
  assert_non_null (text);
  assert_int_not_equal (text[strlen (text) - 1], '\n');
  assert_non_null (strstr (text, "\n  \"env\""));
  o = json_loads (text, 0, &je);
  assert_non_null (o);
  /* spec-level edits, then the device's, per file */
  assert_string_equal (json_string_value (jp (o, "env.0")), "EX_GLOBAL=1");
  assert_string_equal (json_string_value (jp (o, "env.1")), "EX_DEV=1");
  assert_string_equal (json_string_value (jp (o, "env.2")), "NIC=1");
  assert_null (jp (o, "env.3"));
  json_decref (o);
  free (text);

  text = (char *) 1;
  assert_int_equal (zagent_cdi_resolve (r, unknown, 3, &text, &err), -1);
  assert_null (text);
  expect_input (err, "unresolvable CDI devices example.com/gpu=nope, other.com/x=y");
  zagent_error_free (&err);
  assert_int_equal (zagent_cdi_resolve (r, invalid, 2, &text, &err), -1);
  expect_input (err, "\"/dev/null\" is not a qualified device name");
  zagent_error_free (&err);
  zagent_cdi_registry_free (r);
}

/* ---- injection ----------------------------------------------------- */

static void
test_inject (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL, *warn = NULL;
  const char *dirs[] = { f->cdi };
  const char *names[] = { "example.com/gpu=dev0", "example.com/net=nic" };
  struct stat before = stat_of (f->config), after;
  json_t *c;
  char *data;

  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, names, 2, dirs, 1, 0, &warn, &err), 0);
  assert_null (err);
  assert_null (warn);
  after = stat_of (f->config);
  /* replaced by rename, keeping its mode */
  assert_int_not_equal (after.st_ino, before.st_ino);
  assert_int_equal (after.st_mode & 07777, 0640);
  c = load_json (f->config);
  assert_string_equal (json_string_value (jp (c, "process.env.0")), "PATH=/bin");
  assert_string_equal (json_string_value (jp (c, "process.env.1")), "EX_GLOBAL=1");
  assert_string_equal (json_string_value (jp (c, "process.env.2")), "EX_DEV=0");
  assert_string_equal (json_string_value (jp (c, "process.env.3")), "NIC=1");
  assert_string_equal (json_string_value (jp (c, "linux.devices.0.path")), "/dev/ex0");
  assert_int_equal (json_integer_value (jp (c, "linux.devices.0.major")), 1);
  json_decref (c);
  /* two-space JSON, no trailing newline, no temp file left */
  data = slurp (f->config, NULL);
  assert_int_equal (strncmp (data, "{\n  \"", 5), 0);
  assert_int_equal (data[strlen (data) - 1], '}');
  free (data);
  {
    char tmpl[PATH_MAX];
    snprintf (tmpl, sizeof tmpl, "ls -A '%s' | grep -qv '^config.json$'", f->bundle);
    assert_int_not_equal (system (tmpl), 0);
  }

  /* Another mode is kept too.  */
  assert_int_equal (chmod (f->config, 0600), 0);
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, names + 1, 1, dirs, 1, 0, NULL, &err), 0);
  assert_int_equal (stat_of (f->config).st_mode & 07777, 0600);
}

static void
test_inject_failure_leaves_config (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;
  const char *dirs[] = { f->cdi };
  const char *unknown[] = { "example.com/gpu=dev0", "example.com/gpu=nope" };
  const char *invalid[] = { "dev0" };
  const char *missing_node[] = { "example.com/stale=gone" };
  char stale[PATH_MAX];
  struct stat before = stat_of (f->config);

  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, unknown, 2, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "unresolvable CDI devices example.com/gpu=nope");
  zagent_error_free (&err);
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, invalid, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "\"dev0\" is not a qualified device name");
  zagent_error_free (&err);
  /* A failure while applying (env already merged in memory) writes
     nothing.  */
  pjoin (stale, sizeof stale, f->cdi, "stale.yaml");
  write_file (stale, "cdiVersion: \"0.3.0\"\nkind: example.com/stale\ndevices:\n- name: gone\n"
                     "  containerEdits:\n    env: [STALE=1]\n    deviceNodes: [{path: /dev/zagent-no-such-node}]\n");
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, missing_node, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "failed to stat CDI host device \"/dev/zagent-no-such-node\"");
  zagent_error_free (&err);
  assert_int_equal (stat_of (f->config).st_ino, before.st_ino);
  expect_content (f->config, CONFIG);

  /* No device: the bundle is read and checked, not rewritten.  */
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, NULL, 0, dirs, 1, 0, NULL, &err), 0);
  assert_null (err);
  assert_int_equal (stat_of (f->config).st_ino, before.st_ino);
}

static void
test_inject_rejects_duplicate_keys (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;
  const char *dirs[] = { f->cdi };
  const char *names[] = { "example.com/gpu=dev0" };
  static const char dup[] = "{\"ociVersion\": \"1.0.2\",\n \"process\": {\"env\": []},\n \"process\": {}}\n";
  static const char dup_ann[] = "{\"ociVersion\": \"1.0.2\", \"annotations\": {\n"
                                "  \"cdi.k8s.io/a\": \"example.com/gpu=dev0\",\n"
                                "  \"cdi.k8s.io/a\": \"example.com/net=nic\"}}\n";

  write_data (f->config, dup, strlen (dup), 0640);
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "invalid JSON: duplicate object key");
  assert_non_null (strstr (zagent_error_file (err), "/bundle/config.json"));
  assert_int_equal (zagent_error_line (err), 3);
  zagent_error_free (&err);
  expect_content (f->config, dup);

  /* The shim's way (annotations): which of two equal keys counts would
     be a guess; refused.  */
  write_data (f->config, dup_ann, strlen (dup_ann), 0640);
  assert_int_equal (
      zagent_cdi_inject_bundle (f->bundle, NULL, 0, dirs, 1, ZAGENT_CDI_INJECT_ANNOTATIONS, NULL, &err), -1);
  expect_input (err, "duplicate object key");
  zagent_error_free (&err);
  expect_content (f->config, dup_ann);
}

static void
test_inject_refuses_symlinks (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;
  const char *dirs[] = { f->cdi };
  const char *names[] = { "example.com/gpu=dev0" };
  char target[PATH_MAX], link[PATH_MAX], inner[PATH_MAX];

  /* config.json a symlink to a file elsewhere: neither followed nor
     replaced.  */
  pjoin (target, sizeof target, f->dir, "elsewhere.json");
  write_data (target, CONFIG, strlen (CONFIG), 0644);
  assert_int_equal (unlink (f->config), 0);
  assert_int_equal (symlink (target, f->config), 0);
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "config.json` is a symlink; refusing to follow it");
  zagent_error_free (&err);
  assert_true (S_ISLNK (stat_of (f->config).st_mode));
  expect_content (target, CONFIG);
  assert_int_equal (unlink (f->config), 0);
  write_data (f->config, CONFIG, strlen (CONFIG), 0640);

  /* The bundle itself a symlink.  */
  pjoin (link, sizeof link, f->dir, "blink");
  assert_int_equal (symlink (f->bundle, link), 0);
  assert_int_equal (zagent_cdi_inject_bundle (link, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "bundle directory `");
  assert_non_null (strstr (zagent_error_message (err), "is a symlink; refusing to follow it"));
  zagent_error_free (&err);

  /* A symlink further up the path.  */
  pjoin (inner, sizeof inner, link, ".");
  assert_int_equal (zagent_cdi_inject_bundle (inner, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "is a symlink; refusing to follow it");
  zagent_error_free (&err);
  expect_content (f->config, CONFIG);
}

static void
test_inject_bundle_checks (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;
  const char *dirs[] = { f->cdi };
  const char *names[] = { "example.com/gpu=dev0" };
  char path[PATH_MAX];

  /* missing, a file, no config.json: input errors */
  pjoin (path, sizeof path, f->dir, "nobundle");
  assert_int_equal (zagent_cdi_inject_bundle (path, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "open bundle `");
  zagent_error_free (&err);
  pjoin (path, sizeof path, f->dir, "nobundle/deeper");
  assert_int_equal (zagent_cdi_inject_bundle (path, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "No such file or directory");
  zagent_error_free (&err);
  pjoin (path, sizeof path, f->cdi, "gpu.yaml");
  assert_int_equal (zagent_cdi_inject_bundle (path, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "Not a directory");
  zagent_error_free (&err);
  assert_int_equal (zagent_cdi_inject_bundle (f->cdi, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "config.json");
  zagent_error_free (&err);

  /* A bundle that others may write to: refused, nothing written.  */
  assert_int_equal (chmod (f->bundle, 0775), 0);
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, names, 1, dirs, 1, 0, NULL, &err), -1);
  expect_input (err, "is writable by group or others");
  zagent_error_free (&err);
  expect_content (f->config, CONFIG);
  assert_int_equal (chmod (f->bundle, 0755), 0);

  /* A relative path and ".": the same directory.  */
  {
    char cwd[PATH_MAX];
    assert_non_null (getcwd (cwd, sizeof cwd));
    assert_int_equal (chdir (f->bundle), 0);
    assert_int_equal (zagent_cdi_inject_bundle (".", names, 1, dirs, 1, 0, NULL, &err), 0);
    assert_int_equal (chdir (f->dir), 0);
    assert_int_equal (zagent_cdi_inject_bundle ("bundle/", names, 1, dirs, 1, 0, NULL, &err), 0);
    assert_int_equal (chdir (cwd), 0);
    assert_null (err);
  }

  /* Unknown flags: refused before anything is read.  */
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, names, 1, dirs, 1, 0x80u, NULL, &err), -1);
  assert_false (zagent_error_is_input (err));
  zagent_error_free (&err);
}

static void
test_inject_annotations (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;
  const char *dirs[] = { f->cdi };
  static const char ann[] = "{\"ociVersion\": \"1.0.2\", \"process\": {\"env\": []}, \"annotations\": {\n"
                            "  \"cdi.k8s.io/b\": \"example.com/net=nic\",\n"
                            "  \"cdi.k8s.io/a\": \"example.com/gpu=dev1,example.com/net=nic\",\n"
                            "  \"other\": \"example.com/gpu=dev0\"}}\n";
  static const char bad[] = "{\"annotations\": {\"cdi.k8s.io/x\": \"dev0\"}}\n";
  json_t *c;

  write_data (f->config, ann, strlen (ann), 0644);
  assert_int_equal (chmod (f->config, 0644), 0);
  /* without the flag the annotations are not read: nothing to do */
  assert_int_equal (zagent_cdi_inject_bundle (f->bundle, NULL, 0, dirs, 1, 0, NULL, &err), 0);
  expect_content (f->config, ann);
  assert_int_equal (
      zagent_cdi_inject_bundle (f->bundle, NULL, 0, dirs, 1, ZAGENT_CDI_INJECT_ANNOTATIONS, NULL, &err), 0);
  assert_null (err);
  assert_int_equal (stat_of (f->config).st_mode & 07777, 0644);
  c = load_json (f->config);
  /* keys sorted (a, then b), each name once */
  assert_string_equal (json_string_value (jp (c, "process.env.0")), "EX_GLOBAL=1");
  assert_string_equal (json_string_value (jp (c, "process.env.1")), "EX_DEV=1");
  assert_string_equal (json_string_value (jp (c, "process.env.2")), "NIC=1");
  assert_null (jp (c, "process.env.3"));
  json_decref (c);

  write_data (f->config, bad, strlen (bad), 0644);
  assert_int_equal (
      zagent_cdi_inject_bundle (f->bundle, NULL, 0, dirs, 1, ZAGENT_CDI_INJECT_ANNOTATIONS, NULL, &err), -1);
  expect_input (err, "annotation cdi.k8s.io/x: invalid CDI device name \"dev0\"");
  zagent_error_free (&err);
  expect_content (f->config, bad);
}

/* ---- generation and the GPU list ----------------------------------- */

static void
test_spec_write (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;
  char path[PATH_MAX];

  pjoin (path, sizeof path, f->dir, "out.json");
  assert_int_equal (zagent_cdi_spec_write (path, "{\"a\": 1}", &err), 0);
  assert_null (err);
  expect_content (path, "{\"a\": 1}\n");
  assert_int_equal (stat_of (path).st_mode & 07777, 0644);
  pjoin (path, sizeof path, f->dir, "nodir/out.json");
  assert_int_equal (zagent_cdi_spec_write (path, "{}", &err), -1);
  expect_input (err, "open directory of `");
  zagent_error_free (&err);
}

static void
test_gpu_list_and_generate (void **state)
{
  struct fx *f = *state;
  zagent_gpu_list *l = NULL;
  zagent_error *err = NULL, *warn = NULL;
  char host[PATH_MAX], probe[PATH_MAX], cmd[PATH_MAX + 64];
  char *text = NULL;
  const zagent_gpu *g;
  json_t *spec;
  json_error_t je;

  /* A host without GPUs: an empty list, and nothing to generate.  */
  pjoin (host, sizeof host, f->dir, "empty");
  assert_int_equal (mkdir (host, 0755), 0);
  assert_int_equal (zagent_gpu_list_load (&l, host, &err), 0);
  assert_int_equal (zagent_gpu_list_count (l), 0);
  assert_null (zagent_gpu_list_get (l, 0));
  zagent_gpu_list_free (l);
  assert_int_equal (zagent_cdi_generate ("amd", host, &text, &warn, &err), -1);
  assert_null (text);
  assert_true (zagent_error_is_input (err));
  zagent_error_free (&err);
  zagent_error_free (&warn);
  assert_int_equal (zagent_cdi_generate ("matrox", host, &text, NULL, &err), -1);
  expect_input (err, "unknown vendor `matrox`");
  zagent_error_free (&err);

  if (geteuid () != 0 || access (MKHOST, R_OK) != 0)
    {
      print_message ("SKIP: fake GPU hosts need root and %s (run from the source root)\n", MKHOST);
      skip ();
    }
  snprintf (probe, sizeof probe, "%s/.mknod-probe", f->dir);
  if (mknod (probe, S_IFCHR | 0600, makedev (1, 3)) < 0)
    {
      print_message ("SKIP: mknod is not permitted here (%s)\n", strerror (errno));
      skip ();
    }
  unlink (probe);
  pjoin (host, sizeof host, f->dir, "amd");
  snprintf (cmd, sizeof cmd, "bash %s '%s' amd 2", MKHOST, host);
  assert_int_equal (system (cmd), 0);

  assert_int_equal (zagent_gpu_list_load (&l, host, &err), 0);
  assert_null (err);
  assert_int_equal (zagent_gpu_list_count (l), 2);
  g = zagent_gpu_list_get (l, 1);
  assert_string_equal (zagent_gpu_vendor (g), "amd");
  assert_int_equal (zagent_gpu_index (g), 1);
  assert_string_equal (zagent_gpu_pci (g), "0000:03:01.0");
  assert_string_equal (zagent_gpu_driver (g), "amdgpu");
  assert_null (zagent_gpu_uuid (g));
  assert_null (zagent_gpu_driver_version (g));
  assert_non_null (zagent_gpu_model (g));
  assert_int_equal (zagent_gpu_node_count (g), 2);
  assert_string_equal (zagent_gpu_node (g, 0), "/dev/dri/card1");
  assert_string_equal (zagent_gpu_node (g, 1), "/dev/dri/renderD129");
  assert_null (zagent_gpu_node (g, 2));
  zagent_gpu_list_free (l);

  /* $ZAGENT_HOST_ROOT is the default host root.  */
  setenv ("ZAGENT_HOST_ROOT", host, 1);
  assert_int_equal (zagent_gpu_list_load (&l, NULL, &err), 0);
  assert_int_equal (zagent_gpu_list_count (l), 2);
  zagent_gpu_list_free (l);

  assert_int_equal (zagent_cdi_generate ("amd", NULL, &text, &warn, &err), 0);
  unsetenv ("ZAGENT_HOST_ROOT");
  assert_null (err);
  zagent_error_free (&warn);
  assert_int_not_equal (text[strlen (text) - 1], '\n');
  spec = json_loads (text, 0, &je);
  assert_non_null (spec);
  assert_string_equal (json_string_value (json_object_get (spec, "kind")), "amd.com/gpu");
  json_decref (spec);
  free (text);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_name_check),
    T (test_spec_load),
    T (test_registry),
    T (test_resolve),
    T (test_inject),
    T (test_inject_failure_leaves_config),
    T (test_inject_rejects_duplicate_keys),
    T (test_inject_refuses_symlinks),
    T (test_inject_bundle_checks),
    T (test_inject_annotations),
    T (test_spec_write),
    T (test_gpu_list_and_generate),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
