/* Unit tests for the public API (include/zagent.h): spec loading, options,
   config generation, bundle creation and cleanup, and the error
   accessors.  Only the public header is used for the calls; jansson parses
   the generated text.  Temp dirs live under /tmp and are removed in the
   teardown.  */
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
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "zagent.h"

#include "util/err.h"
#include "util/fs.h"

#include "testutil.h"

#define ONE                                                                                        \
  SPEC_PRE_APP                                                                                     \
  "    env:\n"                                                                                     \
  "      MODE: prod\n"                                                                             \
  "    command:\n"                                                                                 \
  "      entrypoint: [/bin/app]\n"                                                                 \
  "      args: [--port, \"80\"]\n"                                                                 \
  "    dns: [10.0.0.2]\n"

#define TWO                                                                                        \
  SPEC_PRE_APP                                                                                     \
  "  db:\n"                                                                                        \
  "    image:\n"                                                                                   \
  "      name: postgres:16\n"                                                                      \
  "  cache:\n"                                                                                     \
  "    image:\n"                                                                                   \
  "      name: redis:7\n"

struct fx
{
  char dir[64];
  char host[128];
  zagent_options *o;
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  zagent_error *err = NULL;
  if (!f)
    return -1;
  if (make_tmpdir_sub (f->dir, sizeof f->dir, "/tmp/za-api-XXXXXX", f->host, sizeof f->host, "host") < 0)
    {
      free (f);
      return -1;
    }
  unsetenv ("ZLAYER_CGROUP_PARENT");
  unsetenv ("ZLAYER_DATA_DIR");
  unsetenv ("ZAGENT_HOST_ROOT");
  f->o = zagent_options_new ();
  if (!f->o)
    return -1;
  /* a fake host (cgroup v1 layout: /zlayer parent), not rootless */
  if (zagent_options_set_host_root (f->o, f->host, &err) < 0
      || zagent_options_set_rootless (f->o, 0, &err) < 0)
    return -1;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  if (!f)
    return 0;
  zagent_options_free (f->o);
  unsetenv ("ZLAYER_DATA_DIR");
  return fixture_free (f, f->dir);
}

static zagent_spec *
load (const char *yaml)
{
  zagent_spec *s = NULL;
  zagent_error *err = NULL;
  if (zagent_spec_load_buffer (&s, "deploy.yaml", yaml, strlen (yaml), &err) < 0)
    {
      char *m = zagent_error_format (err);
      fail_msg ("load: %s", m ? m : "?");
    }
  assert_null (err);
  assert_non_null (s);
  return s;
}

static json_t *
generate_ok (zagent_spec *s, zagent_options *o, const char *bundle, char **text)
{
  char *json = NULL;
  size_t len = 0;
  zagent_error *err = NULL, *warn = NULL;
  json_error_t je;
  json_t *root;
  if (zagent_config_generate (s, o, bundle, &json, &len, &warn, &err) < 0)
    {
      char *m = zagent_error_format (err);
      fail_msg ("generate: %s", m ? m : "?");
    }
  assert_null (err);
  assert_non_null (json);
  assert_int_equal (len, strlen (json));
  assert_int_equal (json[len - 1], '}');
  zagent_error_free (&warn);
  root = json_loads (json, 0, &je);
  assert_non_null (root);
  if (text)
    *text = json;
  else
    free (json);
  return root;
}

/* ---- specs ------------------------------------------------------------- */

static void
test_version_and_spec_accessors (void **state)
{
  (void) state;
  zagent_spec *s;
  assert_non_null (zagent_version ());
  assert_true (strlen (zagent_version ()) > 0);
  s = load (TWO);
  assert_string_equal (zagent_spec_deployment (s), "demo-app");
  assert_int_equal (zagent_spec_service_count (s), 3);
  assert_string_equal (zagent_spec_service_name (s, 0), "web");
  assert_string_equal (zagent_spec_service_name (s, 1), "db");
  assert_string_equal (zagent_spec_service_name (s, 2), "cache");
  assert_null (zagent_spec_service_name (s, 3));
  zagent_spec_free (s);
  zagent_spec_free (NULL);
}

static void
test_load_error_accessors (void **state)
{
  (void) state;
  zagent_spec *s = (zagent_spec *) 1;
  zagent_error *err = NULL;
  const char *yaml = "version: v1\n"
                     "deployment: demo-app\n"
                     "services:\n"
                     "  web:\n"
                     "    image:\n"
                     "      name: nginx:latest\n"
                     "    resources:\n"
                     "      cpu: \"2\"\n";
  char *m;
  assert_int_equal (zagent_spec_load_buffer (&s, "deploy.yaml", yaml, strlen (yaml), &err), -1);
  assert_null (s);
  assert_non_null (err);
  assert_true (zagent_error_is_input (err));
  assert_int_equal (zagent_error_errno (err), 0);
  assert_string_equal (zagent_error_file (err), "deploy.yaml");
  assert_int_equal (zagent_error_line (err), 8);
  assert_int_equal (zagent_error_column (err), 12);
  assert_string_equal (zagent_error_path (err), "services.web.resources.cpu");
  assert_non_null (zagent_error_message (err));
  m = zagent_error_format (err);
  assert_non_null (m);
  assert_true (strncmp (m, "deploy.yaml:8:12: services.web.resources.cpu: ", 46) == 0);
  free (m);
  zagent_error_free (&err);
  assert_null (err);

  /* NULL-safe accessors */
  assert_null (zagent_error_message (NULL));
  assert_null (zagent_error_file (NULL));
  assert_null (zagent_error_path (NULL));
  assert_int_equal (zagent_error_line (NULL), 0);
  assert_int_equal (zagent_error_column (NULL), 0);
  assert_false (zagent_error_is_input (NULL));
  assert_null (zagent_error_next (NULL));
}

static void
test_load_default_name (void **state)
{
  (void) state;
  zagent_spec *s = NULL;
  zagent_error *err = NULL;
  const char *yaml = "version: v1\nbogus: 1\n";
  assert_int_equal (zagent_spec_load_buffer (&s, NULL, yaml, strlen (yaml), &err), -1);
  assert_non_null (err);
  assert_string_equal (zagent_error_file (err), "<buffer>");
  assert_int_equal (zagent_error_line (err), 2);
  zagent_error_free (&err);
}

static void
test_validate (void **state)
{
  (void) state;
  zagent_spec *s;
  zagent_error *err = NULL;
  const char *yaml = "version: v2\n"
                     "deployment: x\n"
                     "services:\n"
                     "  web:\n"
                     "    image:\n"
                     "      name: nginx\n"
                     "    capabilities: [NOT_A_CAP]\n";
  s = load (yaml);
  assert_int_equal (zagent_spec_validate (s, &err), -1);
  assert_true (zagent_error_is_input (err));
  assert_true (chain_has (err, "version must be 'v1', found 'v2'"));
  assert_true (chain_has (err, "deployment name must be 3-63 characters"));
  assert_true (chain_has (err, "NOT_A_CAP"));
  assert_true (zagent_error_next (err) != NULL);
  zagent_error_free (&err);
  zagent_spec_free (s);

  s = load (ONE);
  assert_int_equal (zagent_spec_validate (s, &err), 0);
  assert_null (err);
  zagent_spec_free (s);
}

/* ---- options ------------------------------------------------------------ */

static void
test_option_errors (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;

  assert_int_equal (zagent_options_set_replica (f->o, 0, &err), -1);
  assert_true (zagent_error_is_input (err));
  zagent_error_free (&err);
  assert_int_equal (zagent_options_set_rootless (f->o, 2, &err), -1);
  assert_true (zagent_error_is_input (err));
  zagent_error_free (&err);
  assert_int_equal (zagent_options_add_env (f->o, "NOEQ", &err), -1);
  assert_true (chain_has (err, "expected KEY=VALUE"));
  zagent_error_free (&err);
  assert_int_equal (zagent_options_add_env (f->o, "=x", &err), -1);
  zagent_error_free (&err);
  assert_int_equal (zagent_options_add_volume (f->o, "data", "relative", &err), -1);
  assert_true (chain_has (err, "must be absolute"));
  zagent_error_free (&err);
  assert_int_equal (zagent_options_add_volume (f->o, "", "/x", &err), -1);
  zagent_error_free (&err);

  /* a missing image config file is an input error with the file name */
  {
    char p[PATH_MAX];
    snprintf (p, sizeof p, "%s/nope.json", f->dir);
    assert_int_equal (zagent_options_set_image_config_file (f->o, p, &err), -1);
    assert_true (zagent_error_is_input (err));
    assert_true (chain_has (err, "nope.json"));
    zagent_error_free (&err);
  }

  /* the failures above changed nothing: success calls still work */
  assert_int_equal (zagent_options_set_replica (f->o, 5, &err), 0);
  assert_int_equal (zagent_options_set_rootless (f->o, -1, &err), 0);
  assert_int_equal (zagent_options_set_rootless (f->o, 0, &err), 0);
  assert_null (err);
  zagent_options_free (NULL);
}

/* ---- config generation ----------------------------------------------------- */

static void
test_generate_end_to_end (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL;
  zagent_spec *s = load (ONE);
  char *text = NULL;
  char img[PATH_MAX];
  json_t *c;
  const char *const args[] = { "/bin/override", "x" };

  c = generate_ok (s, f->o, "/b/web-rep-1", &text);
  assert_true (strncmp (text, "{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\n", 38) == 0);
  assert_string_equal (json_string_value (json_object_get (c, "hostname")), "web-rep-1");
  assert_string_equal (json_string_value (json_array_get (json_object_get (json_object_get (c, "process"), "args"), 0)),
                       "/bin/app");
  assert_string_equal (json_string_value (json_object_get (json_object_get (c, "linux"), "cgroupsPath")),
                       "/zlayer/web-rep-1");
  /* resolv.conf mount in the given bundle dir */
  assert_non_null (strstr (text, "\"source\": \"/b/web-rep-1/resolv.conf\""));
  json_decref (c);
  free (text);

  /* options reach the config */
  snprintf (img, sizeof img, "%s/image.json", f->dir);
  {
    int fd = open (img, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const char *ic = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"FROM_IMAGE=1\"],"
                     "\"WorkingDir\":\"/srv\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
    assert_true (fd >= 0);
    assert_int_equal (za_write_all (fd, ic, strlen (ic)), 0);
    close (fd);
  }
  assert_int_equal (zagent_options_set_image_config_file (f->o, img, &err), 0);
  assert_int_equal (zagent_options_set_replica (f->o, 4, &err), 0);
  assert_int_equal (zagent_options_set_hostname (f->o, "h1", &err), 0);
  assert_int_equal (zagent_options_add_env (f->o, "MODE=dev", &err), 0);
  assert_int_equal (zagent_options_set_args (f->o, args, 2, &err), 0);
  assert_int_equal (zagent_options_set_host_network (f->o, true, &err), 0);
  assert_null (err);
  c = generate_ok (s, f->o, NULL, NULL);
  {
    json_t *p = json_object_get (c, "process"), *env = json_object_get (p, "env");
    assert_string_equal (json_string_value (json_object_get (c, "hostname")), "h1");
    assert_string_equal (json_string_value (json_array_get (json_object_get (p, "args"), 0)), "/bin/override");
    assert_int_equal (json_array_size (env), 4);
    assert_string_equal (json_string_value (json_array_get (env, 0)), "FROM_IMAGE=1");
    assert_string_equal (json_string_value (json_array_get (env, 3)), "MODE=dev");
    assert_string_equal (json_string_value (json_object_get (p, "cwd")), "/srv");
    assert_string_equal (json_string_value (json_object_get (json_object_get (c, "linux"), "cgroupsPath")),
                         "/zlayer/web-rep-4");
    /* host network: no resolv.conf mount, no network namespace */
    {
      char *dump = json_dumps (c, JSON_COMPACT);
      assert_non_null (dump);
      assert_null (strstr (dump, "resolv.conf"));
      assert_null (strstr (dump, "{\"type\":\"network\"}"));
      assert_non_null (strstr (dump, "{\"type\":\"pid\"}"));
      free (dump);
    }
  }
  json_decref (c);
  zagent_spec_free (s);
}

static void
test_generate_several_services (void **state)
{
  struct fx *f = *state;
  zagent_spec *s = load (TWO);
  zagent_error *err = NULL, *warn = NULL;
  char *json = (char *) 1;
  size_t len = 99;
  json_t *c;

  assert_int_equal (zagent_config_generate (s, f->o, NULL, &json, &len, &warn, &err), -1);
  assert_null (json);
  assert_non_null (err);
  assert_true (zagent_error_is_input (err));
  assert_true (chain_has (err, "several services (web, db, cache)"));
  assert_true (chain_has (err, "deploy.yaml"));
  zagent_error_free (&err);

  /* unknown service name */
  assert_int_equal (zagent_options_set_service (f->o, "nope", &err), 0);
  assert_int_equal (zagent_config_generate (s, f->o, NULL, &json, &len, NULL, &err), -1);
  assert_true (zagent_error_is_input (err));
  assert_true (chain_has (err, "no service `nope` in deployment `demo-app`"));
  zagent_error_free (&err);

  /* with a service chosen it works */
  assert_int_equal (zagent_options_set_service (f->o, "db", &err), 0);
  c = generate_ok (s, f->o, NULL, NULL);
  assert_string_equal (json_string_value (json_object_get (c, "hostname")), "db-rep-1");
  json_decref (c);
  zagent_error_free (&warn);
  zagent_spec_free (s);
}

static void
test_generate_validation_error_and_warnings (void **state)
{
  struct fx *f = *state;
  zagent_error *err = NULL, *warn = NULL;
  char *json = NULL;
  size_t len = 0;
  zagent_spec *s = load ("version: v1\n"
                         "deployment: demo-app\n"
                         "services:\n"
                         "  web:\n"
                         "    image:\n"
                         "      name: nginx\n"
                         "    resources:\n"
                         "      memory: 20000000Ti\n");
  /* validation runs first: an input error at the field */
  assert_int_equal (zagent_config_generate (s, f->o, NULL, &json, &len, &warn, &err), -1);
  assert_null (json);
  assert_true (zagent_error_is_input (err));
  assert_string_equal (zagent_error_path (err), "services.web.resources.memory");
  assert_int_equal (zagent_error_line (err), 8);
  zagent_error_free (&err);
  zagent_error_free (&warn);
  zagent_spec_free (s);

  /* warnings come back through *warnings */
  s = load ("version: v1\n"
            "deployment: demo-app\n"
            "services:\n"
            "  web:\n"
            "    image:\n"
            "      name: nginx\n"
            "    storage:\n"
            "      - type: tmpfs\n"
            "        target: /tmp\n"
            "        mode: 1777\n");
  assert_int_equal (zagent_config_generate (s, f->o, NULL, &json, &len, &warn, &err), 0);
  assert_null (err);
  assert_non_null (warn);
  assert_true (zagent_error_is_input (warn));
  assert_string_equal (zagent_error_file (warn), "deploy.yaml");
  assert_int_equal (zagent_error_line (warn), 10);
  assert_non_null (strstr (json, "\"mode=1777\""));
  free (json);
  zagent_error_free (&warn);
  /* warnings may be NULL */
  assert_int_equal (zagent_config_generate (s, f->o, NULL, &json, &len, NULL, &err), 0);
  free (json);
  zagent_spec_free (s);
}

/* ---- bundles --------------------------------------------------------------- */

static void
test_bundle_create (void **state)
{
  struct fx *f = *state;
  zagent_spec *s = load (ONE);
  zagent_error *err = NULL, *warn = NULL;
  char bundle[PATH_MAX], p[PATH_MAX];
  char *path = NULL, *expected = NULL, *ondisk = NULL, *resolv = NULL;
  size_t len;
  struct stat st;

  snprintf (bundle, sizeof bundle, "%s/bundles/web-rep-1", f->dir);
  assert_int_equal (zagent_bundle_create (s, f->o, bundle, &path, &warn, &err), 0);
  assert_null (err);
  assert_string_equal (path, bundle);
  /* the same text as zagent_config_generate for the same bundle dir */
  assert_int_equal (zagent_config_generate (s, f->o, bundle, &expected, &len, NULL, &err), 0);
  pjoin (p, sizeof p, bundle, "config.json");
  ondisk = slurp (p, NULL);
  assert_string_equal (ondisk, expected);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  assert_int_equal (stat (bundle, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  pjoin (p, sizeof p, bundle, "rootfs");
  assert_int_equal (stat (p, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
  pjoin (p, sizeof p, bundle, "resolv.conf");
  resolv = slurp (p, NULL);
  assert_string_equal (resolv, "nameserver 10.0.0.2\noptions edns0\n");
  free (path);
  free (expected);
  free (ondisk);
  free (resolv);

  /* cleanup through the API */
  assert_int_equal (zagent_bundle_cleanup (bundle, &err), 0);
  assert_int_equal (stat (bundle, &st), -1);
  assert_int_equal (errno, ENOENT);
  assert_int_equal (zagent_bundle_cleanup (bundle, &err), 0); /* missing: no-op */
  assert_null (err);
  zagent_error_free (&warn);
  zagent_spec_free (s);
}

static void
test_bundle_create_relative_and_default (void **state)
{
  struct fx *f = *state;
  zagent_spec *s = load (TWO);
  zagent_error *err = NULL;
  char cwd[PATH_MAX], want[PATH_MAX], data[PATH_MAX];
  char *path = NULL;
  struct stat st;

  assert_int_equal (zagent_options_set_service (f->o, "cache", &err), 0);
  assert_non_null (getcwd (cwd, sizeof cwd));
  assert_int_equal (chdir (f->dir), 0);
  assert_int_equal (zagent_bundle_create (s, f->o, "rel/b", &path, NULL, &err), 0);
  assert_int_equal (chdir (cwd), 0);
  {
    char *real = realpath (f->dir, NULL);
    /* absolute: the cwd at call time + the relative path */
    snprintf (want, sizeof want, "%s/rel/b", real);
    free (real);
  }
  assert_string_equal (path, want);
  snprintf (want, sizeof want, "%s/rel/b/config.json", f->dir);
  assert_int_equal (stat (want, &st), 0);
  free (path);

  /* NULL bundle dir: <data dir>/bundles/<service>-rep-<N> */
  snprintf (data, sizeof data, "%s/data", f->dir);
  setenv ("ZLAYER_DATA_DIR", data, 1);
  assert_int_equal (zagent_options_set_replica (f->o, 2, &err), 0);
  assert_int_equal (zagent_bundle_create (s, f->o, NULL, &path, NULL, &err), 0);
  snprintf (want, sizeof want, "%s/data/bundles/cache-rep-2", f->dir);
  assert_string_equal (path, want);
  snprintf (want, sizeof want, "%s/data/bundles/cache-rep-2/config.json", f->dir);
  assert_int_equal (stat (want, &st), 0);
  free (path);
  unsetenv ("ZLAYER_DATA_DIR");
  zagent_spec_free (s);
}

static void
test_bundle_create_input_error_touches_nothing (void **state)
{
  struct fx *f = *state;
  zagent_spec *good = load (ONE);
  zagent_spec *bad = load ("version: v1\n"
                           "deployment: demo-app\n"
                           "services:\n"
                           "  web:\n"
                           "    image:\n"
                           "      name: nginx\n"
                           "    dns: [9.9.9.9]\n"
                           "    storage:\n"
                           "      - type: named\n"
                           "        name: data\n"
                           "        target: /data\n");
  zagent_error *err = NULL;
  char bundle[PATH_MAX], fresh[PATH_MAX], p[PATH_MAX];
  char *path = NULL, *cfg = NULL, *resolv = NULL, *cfg2 = NULL, *resolv2 = NULL;
  struct stat st;

  snprintf (bundle, sizeof bundle, "%s/b", f->dir);
  assert_int_equal (zagent_bundle_create (good, f->o, bundle, &path, NULL, &err), 0);
  free (path);
  path = NULL;
  pjoin (p, sizeof p, bundle, "config.json");
  cfg = slurp (p, NULL);
  pjoin (p, sizeof p, bundle, "resolv.conf");
  resolv = slurp (p, NULL);

  /* the volume was never prepared: an input error, the bundle untouched */
  assert_int_equal (zagent_bundle_create (bad, f->o, bundle, &path, NULL, &err), -1);
  assert_null (path);
  assert_true (zagent_error_is_input (err));
  assert_true (chain_has (err, "volume 'data' not prepared"));
  zagent_error_free (&err);
  pjoin (p, sizeof p, bundle, "config.json");
  cfg2 = slurp (p, NULL);
  pjoin (p, sizeof p, bundle, "resolv.conf");
  resolv2 = slurp (p, NULL);
  assert_string_equal (cfg2, cfg);
  assert_string_equal (resolv2, resolv);

  /* and a bundle dir that did not exist is not created */
  snprintf (fresh, sizeof fresh, "%s/fresh", f->dir);
  assert_int_equal (zagent_bundle_create (bad, f->o, fresh, &path, NULL, &err), -1);
  zagent_error_free (&err);
  assert_int_equal (stat (fresh, &st), -1);
  free (cfg);
  free (resolv);
  free (cfg2);
  free (resolv2);
  zagent_spec_free (good);
  zagent_spec_free (bad);
}

static void
test_bundle_create_system_error (void **state)
{
  struct fx *f = *state;
  zagent_spec *s = load (ONE);
  zagent_error *err = NULL;
  char file[PATH_MAX], bundle[PATH_MAX];
  char *path = NULL;
  int fd;

  /* the parent is a regular file: mkdir fails with ENOTDIR, a system
     error (not input), errno available */
  snprintf (file, sizeof file, "%s/file", f->dir);
  fd = open (file, O_WRONLY | O_CREAT, 0644);
  assert_true (fd >= 0);
  close (fd);
  snprintf (bundle, sizeof bundle, "%s/file/bundle", f->dir);
  assert_int_equal (zagent_bundle_create (s, f->o, bundle, &path, NULL, &err), -1);
  assert_null (path);
  assert_non_null (err);
  assert_false (zagent_error_is_input (err));
  assert_int_equal (zagent_error_errno (err), ENOTDIR);
  zagent_error_free (&err);

  /* the bundle path is a symlink: refused */
  snprintf (bundle, sizeof bundle, "%s/link", f->dir);
  assert_int_equal (symlink (f->host, bundle), 0);
  assert_int_equal (zagent_bundle_create (s, f->o, bundle, &path, NULL, &err), -1);
  assert_true (chain_has (err, "symlink"));
  zagent_error_free (&err);
  assert_int_equal (zagent_bundle_cleanup (bundle, &err), -1);
  assert_true (chain_has (err, "symlink"));
  zagent_error_free (&err);
  zagent_spec_free (s);
}

static void
test_bundle_create_several_services (void **state)
{
  struct fx *f = *state;
  zagent_spec *s = load (TWO);
  zagent_error *err = NULL;
  char *path = (char *) 1;
  char data[PATH_MAX];
  struct stat st;

  snprintf (data, sizeof data, "%s/data", f->dir);
  setenv ("ZLAYER_DATA_DIR", data, 1);
  assert_int_equal (zagent_bundle_create (s, f->o, NULL, &path, NULL, &err), -1);
  assert_null (path);
  assert_true (zagent_error_is_input (err));
  assert_true (chain_has (err, "(web, db, cache)"));
  zagent_error_free (&err);
  assert_int_equal (stat (data, &st), -1);
  unsetenv ("ZLAYER_DATA_DIR");
  zagent_spec_free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_version_and_spec_accessors),
    T (test_load_error_accessors),
    T (test_load_default_name),
    T (test_validate),
    T (test_option_errors),
    T (test_generate_end_to_end),
    T (test_generate_several_services),
    T (test_generate_validation_error_and_warnings),
    T (test_bundle_create),
    T (test_bundle_create_relative_and_default),
    T (test_bundle_create_input_error_touches_nothing),
    T (test_bundle_create_system_error),
    T (test_bundle_create_several_services),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
