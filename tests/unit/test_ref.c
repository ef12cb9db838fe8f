/* Image references (image/ref.c): normalisation, round trips, rejects;
   and the platform choice of an index (image/platform.c) that the
   registry client and local layouts share.  */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/platform.h"
#include "image/registry.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
check_ref (const char *in, const char *host, const char *repo, const char *tag, const char *digest,
           const char *str, int line)
{
  struct za_image_ref r;
  struct za_err *err = NULL;
  char *s;
  if (za_image_ref_parse (in, &r, &err) != 0)
    fail_msg ("line %d: `%s` rejected: %s", line, in, err ? err->msg : "?");
  if (strcmp (r.host, host) != 0 || strcmp (r.repo, repo) != 0)
    fail_msg ("line %d: `%s`: host %s repo %s, want %s %s", line, in, r.host, r.repo, host, repo);
  if ((tag == NULL) != (r.tag == NULL) || (tag && strcmp (tag, r.tag) != 0))
    fail_msg ("line %d: `%s`: tag %s, want %s", line, in, r.tag ? r.tag : "NULL", tag ? tag : "NULL");
  if ((digest == NULL) != (r.digest == NULL) || (digest && strcmp (digest, r.digest) != 0))
    fail_msg ("line %d: `%s`: digest %s", line, in, r.digest ? r.digest : "NULL");
  s = za_image_ref_string (&r);
  if (!s || strcmp (s, str) != 0)
    fail_msg ("line %d: `%s` prints as %s, want %s", line, in, s ? s : "NULL", str);
  /* the printed form is itself a reference that means the same */
  za_image_ref_clear (&r);
  assert_int_equal (za_image_ref_parse (s, &r, NULL), 0);
  free (s);
  s = za_image_ref_string (&r);
  if (strcmp (s, str) != 0)
    fail_msg ("line %d: `%s` does not round-trip (%s)", line, str, s);
  free (s);
  za_image_ref_clear (&r);
}
#define REF(in, h, rp, t, d, s) check_ref (in, h, rp, t, d, s, __LINE__)

static void
check_bad (const char *in, const char *want, int line)
{
  struct za_image_ref r;
  struct za_err *err = NULL;
  if (za_image_ref_parse (in, &r, &err) == 0)
    fail_msg ("line %d: `%s` accepted", line, in);
  if (!err || err->code != ZA_EINPUT || err->next || !strstr (err->msg, want))
    fail_msg ("line %d: `%s`: error `%s`, want one input error with `%s`", line, in,
              err ? err->msg : "none", want);
  if (r.host || r.repo || r.tag || r.digest)
    fail_msg ("line %d: `%s`: parts left after a failure", line, in);
  za_err_free (&err);
}
#define BAD(in, want) check_bad (in, want, __LINE__)

static void
test_normalise (void **state)
{
  (void) state;
  REF ("nginx", "docker.io", "library/nginx", "latest", NULL, "docker.io/library/nginx:latest");
  REF ("nginx:alpine", "docker.io", "library/nginx", "alpine", NULL, "docker.io/library/nginx:alpine");
  REF ("library/nginx", "docker.io", "library/nginx", "latest", NULL, "docker.io/library/nginx:latest");
  REF ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", NULL, "docker.io/bitnami/redis:7");
  REF ("docker.io/nginx", "docker.io", "library/nginx", "latest", NULL, "docker.io/library/nginx:latest");
  REF ("index.docker.io/nginx", "docker.io", "library/nginx", "latest", NULL,
       "docker.io/library/nginx:latest");
  REF ("registry-1.docker.io/org/x:1", "docker.io", "org/x", "1", NULL, "docker.io/org/x:1");
  REF ("ghcr.io/org/app:v1.2", "ghcr.io", "org/app", "v1.2", NULL, "ghcr.io/org/app:v1.2");
  REF ("quay.io/a/b/c", "quay.io", "a/b/c", "latest", NULL, "quay.io/a/b/c:latest");
  REF ("localhost/app", "localhost", "app", "latest", NULL, "localhost/app:latest");
  REF ("localhost:5000/app:dev", "localhost:5000", "app", "dev", NULL, "localhost:5000/app:dev");
  REF ("127.0.0.1:41234/x/y:z", "127.0.0.1:41234", "x/y", "z", NULL, "127.0.0.1:41234/x/y:z");
  REF ("[::1]:5000/app", "[::1]:5000", "app", "latest", NULL, "[::1]:5000/app:latest");
  REF ("Registry.Example.com/app", "Registry.Example.com", "app", "latest", NULL,
       "Registry.Example.com/app:latest");
  /* a first component that is not a host stays in the path */
  REF ("a_b.c/d", "docker.io", "a_b.c/d", "latest", NULL, "docker.io/a_b.c/d:latest");
  REF ("foo/bar", "docker.io", "foo/bar", "latest", NULL, "docker.io/foo/bar:latest");
}

static void
test_digest (void **state)
{
  (void) state;
  REF ("busybox@sha256:" HEX64, "docker.io", "library/busybox", NULL, "sha256:" HEX64,
       "docker.io/library/busybox@sha256:" HEX64);
  REF ("busybox:1@sha256:" HEX64, "docker.io", "library/busybox", "1", "sha256:" HEX64,
       "docker.io/library/busybox:1@sha256:" HEX64);
  REF ("localhost:5000/a@sha256:" HEX64, "localhost:5000", "a", NULL, "sha256:" HEX64,
       "localhost:5000/a@sha256:" HEX64);
}

static void
test_bad (void **state)
{
  (void) state;
  BAD ("", "empty");
  BAD ("Nginx", "lowercase");
  BAD ("nginx:", "invalid tag");
  BAD ("nginx:-x", "invalid tag");
  BAD ("nginx@sha256:abc", "sha256 needs 64");
  BAD ("nginx@sha512:" HEX64 HEX64, "only sha256");
  BAD ("a//b", "empty path component");
  BAD ("nginx latest", "invalid");
  BAD ("http://nginx", "invalid");
}

/* ---- platform choice ---------------------------------------------------- */

static json_t *
entries (const char *const *plats)
{
  json_t *a = json_array ();
  for (; *plats; plats++)
    {
      char os[16], arch[16], variant[16] = "";
      json_t *p;
      sscanf (*plats, "%15[^/]/%15[^/]/%15s", os, arch, variant);
      p = json_pack ("{s:s, s:s}", "os", os, "architecture", arch);
      if (variant[0])
        json_object_set_new (p, "variant", json_string (variant));
      json_array_append_new (a, json_pack ("{s:o}", "platform", p));
    }
  return a;
}

static int
pick (const char *const *plats, size_t *chosen, struct za_err **err)
{
  json_t *a = entries (plats);
  size_t n = json_array_size (a), cand[16];
  int rc;
  for (size_t i = 0; i < n; i++)
    cand[i] = i;
  rc = za_image_pick_platform (a, cand, n, "index", chosen, err);
  json_decref (a);
  return rc;
}

static void
test_platform (void **state)
{
  const char *variant, *arch = za_image_host_arch (&variant);
  char mine[64];
  size_t chosen = 99;
  struct za_err *err = NULL;
  (void) state;
  if (!arch)
    skip ();
  snprintf (mine, sizeof mine, "linux/%s%s%s", arch, variant ? "/" : "", variant ? variant : "");
  {
    const char *p[] = { "linux/s390x", "windows/amd64", "linux/arm64/v8", "linux/ppc64le", mine, NULL };
    const char *q[] = { mine, "linux/s390x", NULL };
    /* a foreign OS with this machine's architecture is not it */
    assert_int_equal (pick (p, &chosen, NULL), 0);
    assert_int_equal (chosen, 4);
    assert_int_equal (pick (q, &chosen, NULL), 0);
    assert_int_equal (chosen, 0);
  }
  {
    const char *p[] = { "linux/riscv64", "windows/s390x", NULL };
    if (strcmp (arch, "riscv64") == 0 || strcmp (arch, "s390x") == 0)
      skip ();
    assert_int_equal (pick (p, &chosen, &err), -1);
    assert_non_null (err);
    assert_int_equal (err->code, ZA_EINPUT);
    assert_non_null (strstr (err->msg, "no manifest for linux/"));
    assert_non_null (strstr (err->msg, "available: linux/riscv64, windows/s390x"));
    za_err_free (&err);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_normalise),
    cmocka_unit_test (test_digest),
    cmocka_unit_test (test_bad),
    cmocka_unit_test (test_platform),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
