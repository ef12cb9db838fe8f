/* Unit tests for spec/env.c: the $S: reference grammar (zlayer-reference.md
   §2), $E: host variables, secrets read from a file-backed store in a
   mkdtemp directory, JSON field extraction, replace-append into the
   container env, and that no secret value ever reaches a message.  */
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
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spec/env.h"
#include "spec/spec.h"
#include "util/err.h"
#include "util/strv.h"

#include "testutil.h"

#define FILE_NAME "e.yaml"
#define SECRET "s3cr3t-value"
#define ENV_PATH "services.web.env"

/* SPEC_PRE's six lines, then `env:` on line 7; its entries start on line 8.  */
#define PRE SPEC_PRE "    env:\n"

static char g_dir[64];              /* the secrets store */
static struct za_spec *g_spec;
static struct za_err *g_err, *g_warn;
static struct za_strv g_out;

/* ---- fixture ------------------------------------------------------------ */

/* A secret: G_DIR/REL := the LEN bytes at DATA, mode 0600.  */
static void
put_secret (const char *rel, const char *data, size_t len)
{
  char path[256];
  pjoin (path, sizeof path, g_dir, rel);
  write_data (path, data, len, 0600);
}

static void
make_dir (const char *rel)
{
  char path[256];
  snprintf (path, sizeof path, "%s/%s", g_dir, rel);
  assert_int_equal (mkdir (path, 0700), 0);
}

static const char DB_JSON[]
    = "{\"user\": \"admin\", \"port\": 5432, \"tls\": true, \"off\": false, \"none\": null, "
      "\"obj\": {\"a\": [1, 2], \"b\": \"x\"}, \"list\": [1, \"two\"], \"f\": 1.5, \"pw\": \"" SECRET "\"}";

static int
group_setup (void **state)
{
  (void) state;
  if (!make_tmpdir (g_dir, sizeof g_dir, "/tmp/za-test-env-XXXXXX"))
    return -1;
  make_dir ("demo");
  make_dir ("demo/api");
  make_dir ("demo/isdir");
  put_secret ("demo/jwt", SECRET, strlen (SECRET));
  put_secret ("demo/db", DB_JSON, strlen (DB_JSON));
  put_secret ("demo/arr", "[1, 2]", 6);
  put_secret ("demo/bin", SECRET "\0tail", strlen (SECRET) + 5);
  put_secret ("demo/empty", "", 0);
  put_secret ("demo/api/key", "api-" SECRET, strlen (SECRET) + 4);
  put_secret ("demo/api/cfg", "{\"k\": \"v\"}", 10);
  /* a same-named secret in the plain scope must not be used for @api */
  put_secret ("demo/key", "wrong-scope", 11);
  return 0;
}

static int
group_teardown (void **state)
{
  (void) state;
  return rm_rf (g_dir);
}

static int
teardown (void **state)
{
  (void) state;
  za_spec_free (g_spec);
  g_spec = NULL;
  za_err_free (&g_err);
  za_err_free (&g_warn);
  za_strv_clear (&g_out);
  unsetenv ("ZA_T_SET");
  unsetenv ("ZA_T_EMPTY");
  unsetenv ("ZA_T_UNSET");
  return 0;
}

static const struct za_strmap *
env_of (const char *entries)
{
  char *doc = NULL;
  struct za_service *svc;
  assert_true (asprintf (&doc, PRE "%s", entries) > 0);
  za_spec_free (g_spec);
  g_spec = NULL;
  g_spec = spec_parse_ok_at (FILE_NAME, doc, 0);
  free (doc);
  svc = za_spec_find_service (g_spec, "web");
  assert_non_null (svc);
  return &svc->env;
}

static const struct za_secrets g_store = { .dir = g_dir, .scope = "demo", .service = "demo/web" };

/* Resolve ENTRIES (YAML lines under env:) against the store, adding to
   whatever g_out and g_err already hold.  */
static int
resolve (const char *entries, const struct za_secrets *sec)
{
  const struct za_strmap *env = env_of (entries);
  return za_env_resolve (env, sec, FILE_NAME, ENV_PATH, &g_out, &g_warn, &g_err);
}

static void
expect_out_at (const char *const *want, size_t n, int line)
{
  bool ok = g_out.n == n;
  for (size_t i = 0; ok && i < n; i++)
    ok = strcmp (g_out.v[i], want[i]) == 0;
  if (!ok)
    {
      print_error ("line %d: env mismatch\n  want:", line);
      for (size_t i = 0; i < n; i++)
        print_error (" [%s]", want[i]);
      print_error ("\n  got: ");
      for (size_t i = 0; i < g_out.n; i++)
        print_error (" [%s]", g_out.v[i]);
      print_error ("\n");
      fail ();
    }
  if (n)
    assert_null (g_out.v[n]);
}
#define EXPECT_OUT(...)                                                                            \
  do                                                                                               \
    {                                                                                              \
      static const char *const want_[] = { __VA_ARGS__ };                                         \
      expect_out_at (want_, sizeof want_ / sizeof *want_, __LINE__);                              \
    }                                                                                              \
  while (0)

#define check_err(e, path, l, c, msg) check_err_at (e, FILE_NAME, path, l, c, msg, __LINE__)

/* A failed resolution with exactly one error at entry line 8, column 10
   (a one-letter key: "      A: …").  */
static void
expect_one_at (const char *entries, const struct za_secrets *sec, const char *msg, int line)
{
  za_err_free (&g_err);
  za_err_free (&g_warn);
  za_strv_clear (&g_out);
  if (resolve (entries, sec) != -1)
    fail_msg ("line %d: resolution succeeded", line);
  check_one_err_at (g_err, FILE_NAME, ENV_PATH ".A", 8, 10, msg, line);
}
#define EXPECT_ONE(entries, sec, msg) expect_one_at (entries, sec, msg, __LINE__)

/* ---- za_secret_ref_parse ------------------------------------------------ */

static void
test_env_secret_ref_parse_valid (void **state)
{
  static const struct
  {
    const char *ref, *service, *project, *env, *name, *field;
  } cases[] = {
    { "name", NULL, NULL, NULL, "name", NULL },
    { "name/field", NULL, NULL, NULL, "name", "field" },
    { "@svc/name", "svc", NULL, NULL, "name", NULL },
    { "@svc/name/field", "svc", NULL, NULL, "name", "field" },
    { "@svc/name/", "svc", NULL, NULL, "name", NULL }, /* empty field: none */
    { ":env/name", NULL, NULL, "env", "name", NULL },
    { ":env/name/field", NULL, NULL, "env", "name", "field" },
    { "proj:env/name", NULL, "proj", "env", "name", NULL },
    { "proj:env/name/field", NULL, "proj", "env", "name", "field" },
    { "a/b:c", NULL, NULL, NULL, "a", "b:c" }, /* ':' after the first '/' */
    { "db-password", NULL, NULL, NULL, "db-password", NULL },
  };
  (void) state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      struct za_secret_ref r;
      const char *want[] = { cases[i].service, cases[i].project, cases[i].env, cases[i].name, cases[i].field };
      const char *got[5];
      if (!za_secret_ref_parse (cases[i].ref, &r))
        fail_msg ("`%s` rejected", cases[i].ref);
      got[0] = r.service, got[1] = r.project, got[2] = r.env, got[3] = r.name, got[4] = r.field;
      for (int k = 0; k < 5; k++)
        if ((want[k] == NULL) != (got[k] == NULL) || (want[k] && strcmp (want[k], got[k]) != 0))
          fail_msg ("`%s`: part %d is %s, want %s", cases[i].ref, k, got[k] ? got[k] : "(null)",
                    want[k] ? want[k] : "(null)");
      za_secret_ref_clear (&r);
      assert_null (r.name);
      assert_null (r.service);
    }
}

static void
test_env_secret_ref_parse_invalid (void **state)
{
  static const char *const bad[] = { "", "/x", "@/x", "@svc/", "@svc", "@", "@svc//f", "a:b", "name/", "a/b/c",
                                     ":", ":/name", "p:e:x/name", ":env/", ":env//f", ":env/a/b/c", "p:env",
                                     "/" };
  (void) state;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      struct za_secret_ref r = { .name = (char *) "garbage" };
      if (za_secret_ref_parse (bad[i], &r))
        fail_msg ("`%s` accepted", bad[i]);
      /* nothing is left to free */
      assert_null (r.name);
      assert_null (r.service);
      assert_null (r.field);
      assert_null (r.env);
      assert_null (r.project);
    }
  {
    struct za_secret_ref r;
    assert_false (za_secret_ref_parse (NULL, &r));
  }
}

static void
test_env_secret_name_valid (void **state)
{
  (void) state;
  assert_true (za_secret_name_valid ("a"));
  assert_true (za_secret_name_valid ("Jwt_secret-2"));
  assert_false (za_secret_name_valid (NULL));
  assert_false (za_secret_name_valid (""));
  assert_false (za_secret_name_valid ("1abc"));
  assert_false (za_secret_name_valid ("_a"));
  assert_false (za_secret_name_valid ("-a"));
  assert_false (za_secret_name_valid ("a.b"));
  assert_false (za_secret_name_valid ("a b"));
  assert_false (za_secret_name_valid ("a/b"));
  assert_false (za_secret_name_valid (".."));
}

/* ---- za_env_resolve: literals and $E: ------------------------------------ */

static void
test_env_resolve_literals (void **state)
{
  (void) state;
  assert_int_equal (resolve ("      A: hello\n      B: prefix$E:HOME\n      C: $E\n      D: \"$S\"\n"
                             "      E: ''\n      F: 8080\n      G: x$S:jwt\n      H: \" $E:HOME\"\n",
                             NULL),
                    0);
  assert_null (g_err);
  assert_null (g_warn);
  EXPECT_OUT ("A=hello", "B=prefix$E:HOME", "C=$E", "D=$S", "E=", "F=8080", "G=x$S:jwt", "H= $E:HOME");
}

static void
test_env_resolve_host_var (void **state)
{
  (void) state;
  setenv ("ZA_T_SET", "from host", 1);
  setenv ("ZA_T/B", "slash", 1);
  assert_int_equal (resolve ("      A: $E:ZA_T_SET\n      B: $E:ZA_T/B\n", NULL), 0);
  unsetenv ("ZA_T/B");
  assert_null (g_err);
  assert_null (g_warn);
  EXPECT_OUT ("A=from host", "B=slash");
}

static void
test_env_resolve_host_var_unset (void **state)
{
  char *s;
  (void) state;
  unsetenv ("ZA_T_UNSET");
  EXPECT_ONE ("      A: $E:ZA_T_UNSET\n      B: after\n", NULL,
              "environment variable 'ZA_T_UNSET' referenced by $E:ZA_T_UNSET is not set");
  s = za_err_format (g_err);
  assert_string_equal (s, "e.yaml:8:10: services.web.env.A: environment variable 'ZA_T_UNSET' referenced by "
                          "$E:ZA_T_UNSET is not set");
  free (s);
  /* the other entries are still resolved */
  EXPECT_OUT ("B=after");
  assert_null (g_warn);
}

static void
test_env_resolve_host_var_empty (void **state)
{
  (void) state;
  setenv ("ZA_T_EMPTY", "", 1);
  assert_int_equal (resolve ("      A: $E:ZA_T_EMPTY\n", NULL), 0);
  assert_null (g_err);
  EXPECT_OUT ("A=");
  assert_non_null (g_warn);
  assert_int_equal (za_err_count (g_warn), 1);
  check_err (g_warn, ENV_PATH ".A", 8, 10, "environment variable 'ZA_T_EMPTY' is set but empty");
}

static void
test_env_resolve_bad_key (void **state)
{
  (void) state;
  assert_int_equal (resolve ("      A=B: x\n      \"\": y\n      C: z\n", NULL), -1);
  assert_int_equal (za_err_count (g_err), 2);
  check_err (g_err, ENV_PATH ".A=B", 8, 7, "invalid environment variable name `A=B`");
  check_err (g_err->next, ENV_PATH ".", 9, 7, "invalid environment variable name ``");
  EXPECT_OUT ("C=z");
}

/* ---- $S: ------------------------------------------------------------------ */

static void
test_env_resolve_secret_without_store (void **state)
{
  const struct za_secrets nodir = { .dir = NULL, .scope = "demo" };
  (void) state;
  EXPECT_ONE ("      A: $S:jwt\n", NULL,
              "environment variable A references secret $S:jwt but no secrets store is configured (use "
              "--secrets-dir DIR)");
  EXPECT_OUT ();
  EXPECT_ONE ("      A: $S:@api/key/f\n", &nodir,
              "environment variable A references secret $S:@api/key/f but no secrets store is configured "
              "(use --secrets-dir DIR)");
  /* syntax is checked first */
  EXPECT_ONE ("      A: $S:a/b/c\n", NULL, "invalid secret reference syntax: $S:a/b/c");
  EXPECT_ONE ("      A: $S:1abc\n", NULL,
              "invalid secret name in $S:1abc (names start with a letter, then letters, digits, '_' or '-')");
  EXPECT_ONE ("      A: $S:@../x\n", &g_store,
              "invalid secret name in $S:@../x (names start with a letter, then letters, digits, '_' or '-')");
  EXPECT_ONE ("      A: \"$S:\"\n", &g_store, "invalid secret reference syntax: $S:");
}

static void
test_env_resolve_secret_plain_and_service (void **state)
{
  (void) state;
  assert_int_equal (resolve ("      A: $S:jwt\n      B: $S:@api/key\n      C: $S::prod/jwt\n"
                             "      D: $S:proj:prod/db/user\n      E: $S:empty\n      F: $S:@api/cfg/k\n",
                             &g_store),
                    0);
  if (g_err)
    dump_errors (g_err);
  assert_null (g_err);
  assert_null (g_warn);
  EXPECT_OUT ("A=" SECRET, "B=api-" SECRET, "C=" SECRET, "D=admin", "E=", "F=v");
}

static void
test_env_resolve_secret_json_fields (void **state)
{
  (void) state;
  assert_int_equal (resolve ("      S: $S:db/user\n      N: $S:db/port\n      T: $S:db/tls\n      O: $S:db/off\n"
                             "      Z: $S:db/none\n      J: $S:db/obj\n      L: $S:db/list\n      F: $S:db/f\n",
                             &g_store),
                    0);
  assert_null (g_err);
  EXPECT_OUT ("S=admin", "N=5432", "T=true", "O=false", "Z=", "J={\"a\":[1,2],\"b\":\"x\"}", "L=[1,\"two\"]",
              "F=1.5");
}

static void
test_env_resolve_secret_missing (void **state)
{
  char want[PATH_MAX + 256];
  (void) state;
  /* the reference's words, then the file looked for */
  snprintf (want, sizeof want,
            "secret 'nope' referenced by $S:nope was not found in scope 'demo' (looked for `%s/demo/nope`)", g_dir);
  EXPECT_ONE ("      A: $S:nope\n", &g_store, want);
  snprintf (want, sizeof want,
            "secret 'nope' referenced by $S:@api/nope was not found in scope 'demo/api' (looked for "
            "`%s/demo/api/nope`)",
            g_dir);
  EXPECT_ONE ("      A: $S:@api/nope\n", &g_store, want);
  snprintf (want, sizeof want,
            "secret 'jwt' referenced by $S:@other/jwt was not found in scope 'demo/other' (looked for "
            "`%s/demo/other/jwt`)",
            g_dir);
  EXPECT_ONE ("      A: $S:@other/jwt\n", &g_store, want);
  {
    const struct za_secrets other = { .dir = g_dir, .scope = "elsewhere" };
    snprintf (want, sizeof want,
              "secret 'jwt' referenced by $S:jwt was not found in scope 'elsewhere' (looked for "
              "`%s/elsewhere/jwt`)",
              g_dir);
    EXPECT_ONE ("      A: $S:jwt\n", &other, want);
  }
  {
    /* a secrets directory that does not exist: said too */
    const struct za_secrets none = { .dir = "/nonexistent/zagent-secrets", .scope = "demo" };
    EXPECT_ONE ("      A: $S:jwt\n", &none,
                "secret 'jwt' referenced by $S:jwt was not found in scope 'demo' (looked for "
                "`/nonexistent/zagent-secrets/demo/jwt`; `/nonexistent/zagent-secrets` does not exist)");
  }
  assert_true (za_err_is_input (g_err));
}

static void
test_env_resolve_secret_bad_content (void **state)
{
  char want[512];
  (void) state;
  EXPECT_ONE ("      A: $S:db/nope\n", &g_store, "field `nope` not found in secret `db`");
  EXPECT_ONE ("      A: $S:arr/x\n", &g_store, "field `x` not found in secret `arr`");
  EXPECT_ONE ("      A: $S:jwt/x\n", &g_store,
              "secret resolution error: failed to parse secret `jwt` as JSON (line 1 column 1)");
  EXPECT_ONE ("      A: $S:bin\n", &g_store, "secret `bin` contains a NUL byte");
  snprintf (want, sizeof want, "`%s/demo/isdir` is a directory", g_dir);
  EXPECT_ONE ("      A: $S:isdir\n", &g_store, want);
}

/* Whatever goes wrong, the value of a secret is never part of a message.  */
static void
test_env_secret_value_never_in_messages (void **state)
{
  static const char *const docs[] = {
    "      A: $S:jwt/field\n",   /* not JSON */
    "      A: $S:db/missing\n",  /* JSON, holds the secret in another field */
    "      A: $S:bin\n",         /* NUL byte after the secret */
    "      A: $S:@api/key/x\n",  /* not JSON, service scope */
    "      A: $S:db/pw\n      B: $E:ZA_T_UNSET\n      C: $E:ZA_T_EMPTY\n      D: $S:jwt/x\n",
  };
  const struct za_secrets nostore = { 0 };
  (void) state;
  setenv ("ZA_T_EMPTY", "", 1);
  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
    for (int store = 0; store < 2; store++)
      {
        size_t nmsg = 0;
        za_err_free (&g_err);
        za_err_free (&g_warn);
        za_strv_clear (&g_out);
        assert_int_equal (resolve (docs[i], store ? &g_store : &nostore), -1);
        for (int w = 0; w < 2; w++)
          for (const struct za_err *e = w ? g_warn : g_err; e; e = e->next)
            {
              char *s = za_err_format (e);
              assert_non_null (s);
              if (strstr (s, SECRET) || strstr (s, "s3cr3t"))
                fail_msg ("secret leaked: %s", s);
              free (s);
              nmsg++;
            }
        assert_true (nmsg >= 1);
      }
  /* … while a successful lookup does return it */
  za_err_free (&g_err);
  za_err_free (&g_warn);
  za_strv_clear (&g_out);
  assert_int_equal (resolve ("      A: $S:db/pw\n", &g_store), 0);
  EXPECT_OUT ("A=" SECRET);
}

/* ---- secrets must be regular files below the store ---------------------- */

#define OUTSIDE_MARK "outside-mark-Q7"

/* A store whose secrets, scope or service directory are symlinks, plus a
   FIFO; OUTSIDE holds the files they point at.  */
static void
make_hostile_store (char *store, size_t n, char *outside, size_t on)
{
  char p[512], t[512];
  assert_non_null (make_tmpdir (store, n, "/tmp/za-test-env-hostile-XXXXXX"));
  assert_non_null (make_tmpdir (outside, on, "/tmp/za-test-env-outside-XXXXXX"));
  pjoin (p, sizeof p, outside, "target");
  write_data (p, OUTSIDE_MARK, strlen (OUTSIDE_MARK), 0600);
  pjoin (p, sizeof p, outside, "svc/key");
  write_data (p, OUTSIDE_MARK, strlen (OUTSIDE_MARK), 0600);
  pjoin (p, sizeof p, store, "demo/plain");
  write_data (p, "ok", 2, 0600);
  pjoin (p, sizeof p, store, "real/key");
  write_data (p, "ok", 2, 0600);
  /* demo/link -> OUTSIDE/target, demo/inner -> plain (inside, still refused) */
  pjoin (p, sizeof p, store, "demo/link");
  pjoin (t, sizeof t, outside, "target");
  assert_int_equal (symlink (t, p), 0);
  pjoin (p, sizeof p, store, "demo/inner");
  assert_int_equal (symlink ("plain", p), 0);
  /* demo/svc -> OUTSIDE/svc (a service directory), lnk -> demo (a scope) */
  pjoin (p, sizeof p, store, "demo/svc");
  pjoin (t, sizeof t, outside, "svc");
  assert_int_equal (symlink (t, p), 0);
  pjoin (p, sizeof p, store, "lnk");
  assert_int_equal (symlink ("demo", p), 0);
  pjoin (p, sizeof p, store, "demo/fifo");
  assert_int_equal (mkfifo (p, 0600), 0);
}

/* ENTRIES fail with one input error whose message holds NEEDLE and no
   message holds the content.  No cmocka assertion (false and a message
   instead): this also runs in a forked child.  */
static bool
refused_at (const char *entries, const struct za_secrets *sec, const char *needle, int line)
{
  bool ok = true;
  za_err_free (&g_err);
  za_err_free (&g_warn);
  za_strv_clear (&g_out);
  if (resolve (entries, sec) != -1 || g_out.n != 0)
    {
      print_error ("line %d: resolution succeeded\n", line);
      return false;
    }
  for (const struct za_err *e = g_err; e; e = e->next)
    {
      char *s = za_err_format (e);
      if (!s || strstr (s, OUTSIDE_MARK))
        {
          print_error ("line %d: content leaked: %s\n", line, s ? s : "(oom)");
          ok = false;
        }
      free (s);
    }
  if (za_err_count (g_err) != 1 || !za_err_is_input (g_err) || !strstr (g_err->msg, needle))
    {
      print_error ("line %d: want one input error with \"%s\", got:\n", line, needle);
      dump_errors (g_err);
      ok = false;
    }
  return ok;
}
#define REFUSED(entries, sec, needle) (refused_at (entries, sec, needle, __LINE__) ? 0 : 1)

/* The number of failed checks against make_hostile_store's store.  */
static int
check_hostile_store (const char *store, const char *outside)
{
  char up[128];
  const struct za_secrets sec = { .dir = store, .scope = "demo" };
  const struct za_secrets lnk = { .dir = store, .scope = "lnk" };
  const struct za_secrets deep = { .dir = store, .scope = up };
  int bad = 0;
  /* a scope with `..` (the CLI refuses it; the library checks anyway) */
  snprintf (up, sizeof up, "real/../../%s", strrchr (outside, '/') + 1);
  bad += REFUSED ("      A: $S:link\n", &sec, "secret `link`: ");
  bad += REFUSED ("      A: $S:link\n", &sec, "/demo/link` is or passes through a symlink");
  bad += REFUSED ("      A: $S:inner\n", &sec, "is or passes through a symlink");
  bad += REFUSED ("      A: $S:@svc/key\n", &sec, "/demo/svc/key` is or passes through a symlink");
  bad += REFUSED ("      A: $S:plain\n", &lnk, "/lnk/plain` is or passes through a symlink");
  bad += REFUSED ("      A: $S:target\n", &deep, "leads out of the secrets directory");
  bad += REFUSED ("      A: $S:fifo\n", &sec, "secret `fifo`: ");
  bad += REFUSED ("      A: $S:fifo\n", &sec, "/demo/fifo` is not a regular file");
  /* the regular file next to them still resolves */
  za_err_free (&g_err);
  za_strv_clear (&g_out);
  if (resolve ("      A: $S:plain\n", &sec) != 0 || g_out.n != 1 || strcmp (g_out.v[0], "A=ok"))
    {
      print_error ("the regular secret did not resolve\n");
      bad++;
    }
  return bad;
}

static void
test_env_secret_symlinks_and_fifos_refused (void **state)
{
  char store[64], outside[64], via[128];
  (void) state;
  make_hostile_store (store, sizeof store, outside, sizeof outside);
  assert_int_equal (check_hostile_store (store, outside), 0);
  /* the store itself may be reached through a symlink: the caller named it */
  snprintf (via, sizeof via, "%s-via", store);
  assert_int_equal (symlink (store, via), 0);
  {
    const struct za_secrets sec = { .dir = via, .scope = "demo" };
    za_err_free (&g_err);
    za_strv_clear (&g_out);
    assert_int_equal (resolve ("      A: $S:plain\n", &sec), 0);
    EXPECT_OUT ("A=ok");
  }
  unlink (via);
  rm_rf (store);
  rm_rf (outside);
}

/* Kernels without openat2 (or a seccomp filter that answers ENOSYS, as
   container runtimes' default profiles did) take the walk by hand: the
   same refusals.  The child installs such a filter.  */
static void
test_env_secret_refusals_without_openat2 (void **state)
{
  char store[64], outside[64];
  pid_t pid;
  int status;
  (void) state;
  make_hostile_store (store, sizeof store, outside, sizeof outside);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct sock_filter filter[] = {
        BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };
      struct sock_fprog prog = { .len = sizeof filter / sizeof *filter, .filter = filter };
      struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_BENEATH };
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        _exit (77);
      if (syscall (SYS_openat2, AT_FDCWD, ".", &how, sizeof how) >= 0 || errno != ENOSYS)
        _exit (3);
      _exit (check_hostile_store (store, outside) == 0 ? 0 : 1);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  rm_rf (store);
  rm_rf (outside);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    skip ();
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
}

/* ---- merge semantics ------------------------------------------------------ */

static void
test_env_resolve_replaces_and_appends (void **state)
{
  (void) state;
  assert_int_equal (za_strv_push (&g_out, "PATH=/usr/bin"), 0);
  assert_int_equal (za_strv_push (&g_out, "A=image"), 0);
  assert_int_equal (za_strv_push (&g_out, "AB=keep"), 0);
  assert_int_equal (za_strv_push (&g_out, "A=dup"), 0);
  assert_int_equal (za_strv_push (&g_out, "HOME=/root"), 0);
  assert_int_equal (resolve ("      A: spec\n      NEW: n\n      HOME: /srv\n", NULL), 0);
  EXPECT_OUT ("PATH=/usr/bin", "AB=keep", "A=spec", "NEW=n", "HOME=/srv");
}

static void
test_env_resolve_keeps_document_order (void **state)
{
  (void) state;
  setenv ("ZA_T_SET", "h", 1);
  assert_int_equal (resolve ("      Z: 1\n      M: $S:@api/key\n      A: $E:ZA_T_SET\n      Q: 4\n      B: $S:db/tls\n",
                             &g_store),
                    0);
  EXPECT_OUT ("Z=1", "M=api-" SECRET, "A=h", "Q=4", "B=true");
}

/* Errors of one entry never rewrite those of earlier entries (or errors
   the caller already had).  */
static void
test_env_resolve_errors_stay_separate (void **state)
{
  char want[512];
  (void) state;
  za_err_set (&g_err, ZA_EINPUT, "earlier problem");
  unsetenv ("ZA_T_UNSET");
  assert_int_equal (resolve ("      A: $E:ZA_T_UNSET\n      B: $S:isdir\n      C: $S:db/zz\n      D: ok\n",
                             &g_store),
                    -1);
  assert_int_equal (za_err_count (g_err), 4);
  assert_string_equal (g_err->msg, "earlier problem");
  assert_null (g_err->file);
  assert_null (g_err->path);
  check_err (g_err->next, ENV_PATH ".A", 8, 10,
             "environment variable 'ZA_T_UNSET' referenced by $E:ZA_T_UNSET is not set");
  snprintf (want, sizeof want, "`%s/demo/isdir` is a directory", g_dir);
  check_err (g_err->next->next, ENV_PATH ".B", 9, 10, want);
  check_err (g_err->next->next->next, ENV_PATH ".C", 10, 10, "field `zz` not found in secret `db`");
  EXPECT_OUT ("D=ok");
}

/* ---- za_env_check_refs (validation, no store needed) ----------------------- */

static void
test_env_check_refs (void **state)
{
  const struct za_strmap *env;
  (void) state;
  env = env_of ("      A: $S:ok\n      B: $S:a/b/c\n      C: $S:9x\n      D: plain\n      E: $E:X\n"
                "      F: $S:@svc/name/field\n");
  assert_int_equal (za_env_check_refs (env, FILE_NAME, ENV_PATH, &g_err), -1);
  assert_int_equal (za_err_count (g_err), 2);
  check_err (g_err, ENV_PATH ".B", 9, 10, "invalid secret reference syntax: $S:a/b/c");
  check_err (g_err->next, ENV_PATH ".C", 10, 10,
             "invalid secret name in $S:9x (names start with a letter, then letters, digits, '_' or '-')");
  za_err_free (&g_err);
  env = env_of ("      A: $S:ok\n      B: x\n");
  assert_int_equal (za_env_check_refs (env, FILE_NAME, ENV_PATH, &g_err), 0);
  assert_null (g_err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_teardown (fn, teardown)
    T (test_env_secret_ref_parse_valid),
    T (test_env_secret_ref_parse_invalid),
    T (test_env_secret_name_valid),
    T (test_env_resolve_literals),
    T (test_env_resolve_host_var),
    T (test_env_resolve_host_var_unset),
    T (test_env_resolve_host_var_empty),
    T (test_env_resolve_bad_key),
    T (test_env_resolve_secret_without_store),
    T (test_env_resolve_secret_plain_and_service),
    T (test_env_resolve_secret_json_fields),
    T (test_env_resolve_secret_missing),
    T (test_env_resolve_secret_bad_content),
    T (test_env_secret_value_never_in_messages),
    T (test_env_secret_symlinks_and_fifos_refused),
    T (test_env_secret_refusals_without_openat2),
    T (test_env_resolve_replaces_and_appends),
    T (test_env_resolve_keeps_document_order),
    T (test_env_resolve_errors_stay_separate),
    T (test_env_check_refs),
#undef T
  };
  return cmocka_run_group_tests (tests, group_setup, group_teardown);
}
