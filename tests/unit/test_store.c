/* Unit tests of the layer store (image/store*.c): chain ids, pull
   policies, blobs verified before they get their name, image records
   and their lookup by name or digest prefix, lower dirs top first.  */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>

#include "image/dl.h"
#include "image/store_int.h"
#include "util/rmtree.h"

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HELLO "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static char dir[] = "/tmp/zagent-test-store.XXXXXX";

static int
setup (void **state)
{
  (void) state;
  if (!mkdtemp (dir))
    return -1;
  setenv ("ZLAYER_DATA_DIR", dir, 1);
  return 0;
}

static int
teardown (void **state)
{
  (void) state;
  za_rmtree_at (AT_FDCWD, dir, NULL);
  return 0;
}

static void
chain_ids (void **state)
{
  struct za_strv d = { 0 }, c = { 0 };
  struct za_err *err = NULL;
  (void) state;
  za_strv_push (&d, A64);
  za_strv_push (&d, B64);
  assert_int_equal (za_st_chain_ids (&d, &c, &err), 0);
  assert_int_equal (c.n, 2);
  /* ChainID(0) = DiffID(0); ChainID(1) = sha256("sha256:A sha256:B") */
  assert_string_equal (c.v[0], A64);
  assert_string_equal (c.v[1], "ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
  za_strv_clear (&d);
  za_strv_clear (&c);
}

static void
policies (void **state)
{
  enum za_pull_policy p;
  struct za_err *err = NULL;
  (void) state;
  assert_int_equal (za_pull_policy_parse ("always", &p, NULL), 0);
  assert_int_equal (p, ZA_PULL_ALWAYS);
  assert_int_equal (za_pull_policy_parse ("newer", &p, NULL), 0);
  assert_int_equal (p, ZA_PULL_NEWER);
  assert_int_equal (za_pull_policy_parse ("if_not_present", &p, NULL), 0);
  assert_int_equal (p, ZA_PULL_IF_NOT_PRESENT);
  assert_int_equal (za_pull_policy_parse ("never", &p, NULL), 0);
  assert_int_equal (p, ZA_PULL_NEVER);
  assert_int_equal (za_pull_policy_parse ("sometimes", &p, &err), -1);
  assert_true (za_err_is_input (err));
  assert_non_null (strstr (err->msg, "sometimes"));
  za_err_free (&err);
  assert_null (za_st_digest_hex ("sha256:abc"));
  assert_null (za_st_digest_hex ("sha512:" A64));
  assert_string_equal (za_st_digest_hex ("sha256:" A64), A64);
}

static size_t
count_entries (const char *path)
{
  DIR *d = opendir (path);
  struct dirent *de;
  size_t n = 0;
  assert_non_null (d);
  while ((de = readdir (d)))
    n += strcmp (de->d_name, ".") && strcmp (de->d_name, "..");
  closedir (d);
  return n;
}

static void
blobs (void **state)
{
  struct za_store *s = NULL;
  struct za_err *err = NULL;
  struct za_desc d = { .size = 5 };
  char path[512];
  (void) state;
  assert_int_equal (za_store_open (&s, &err), 0);
  /* wrong content for the digest: refused, nothing named */
  memcpy (d.hex, A64, 65);
  assert_int_equal (za_st_blob_put (s, &d, "hello", 5, &err), -1);
  assert_true (za_err_is_input (err));
  za_err_free (&err);
  assert_false (za_st_blob_present (s, &d));
  /* wrong size */
  memcpy (d.hex, HELLO, 65);
  d.size = 6;
  assert_int_equal (za_st_blob_put (s, &d, "hello", 5, &err), -1);
  za_err_free (&err);
  d.size = 5;
  assert_int_equal (za_st_blob_put (s, &d, "hello", 5, &err), 0);
  assert_true (za_st_blob_present (s, &d));
  assert_int_equal (za_st_blob_put (s, &d, "hello", 5, &err), 0); /* again: already there */
  snprintf (path, sizeof path, "%s/blobs/sha256", za_store_root (s));
  assert_int_equal (count_entries (path), 1); /* no temp names */
  za_store_close (s);
}

static void
record (struct za_store *s, const char *name, const char *digest_hex, const char *layer)
{
  struct za_store_image im = { 0 };
  struct za_err *err = NULL;
  im.name = strdup (name);
  assert_true (asprintf (&im.digest, "sha256:%s", digest_hex) > 0);
  assert_true (asprintf (&im.config, "sha256:%s", B64) > 0);
  za_strv_push (&im.layers, B64);
  za_strv_push (&im.layers, layer);
  assert_int_equal (za_st_record (s, &im, &err), 0);
  za_store_image_clear (&im);
}

static void
records (void **state)
{
  struct za_store *s = NULL;
  struct za_err *err = NULL;
  struct za_store_image im = { 0 }, *v = NULL;
  char *lowers = NULL, path[512];
  size_t n = 0;
  bool found = false;
  (void) state;
  assert_int_equal (za_store_open (&s, &err), 0);
  record (s, "docker.io/library/b:1", "abcdef0123456789aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", A64);
  record (s, "docker.io/library/a:1", "abcdef0123459999aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", A64);
  record (s, "docker.io/library/a:1", HELLO, A64); /* replaces the name */
  assert_int_equal (za_store_list (s, &v, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_string_equal (v[0].name, "docker.io/library/a:1"); /* name order */
  assert_string_equal (v[0].digest, "sha256:" HELLO);
  za_store_list_free (v, n);

  assert_int_equal (za_store_lookup (s, "docker.io/library/b:1", &im, &found, &err), 0);
  assert_true (found);
  za_store_image_clear (&im);
  assert_int_equal (za_store_lookup (s, "2cf24dba5fb0", &im, &found, &err), 0);
  assert_true (found);
  assert_string_equal (im.name, "docker.io/library/a:1");
  za_store_image_clear (&im);
  assert_int_equal (za_store_lookup (s, "2cf24dba5f", &im, &found, &err), 0);
  assert_false (found); /* under 12 digits: not a digest */
  assert_int_equal (za_store_lookup (s, "abcdef012345", &im, &found, &err), 0);
  assert_true (found); /* the only one left with that prefix */
  za_store_image_clear (&im);
  record (s, "docker.io/library/c:1", "abcdef0123450000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", A64);
  assert_int_equal (za_store_lookup (s, "abcdef012345", &im, &found, &err), -1);
  assert_true (za_err_is_input (err)); /* two images */
  za_err_free (&err);
  assert_int_equal (za_store_lookup (s, "nosuch", &im, &found, &err), 0);
  assert_false (found);

  /* lower dirs: every layer must be there; top first */
  assert_int_equal (za_store_lookup (s, "docker.io/library/b:1", &im, &found, &err), 0);
  assert_int_equal (za_store_lowers (s, &im, &lowers, &err), -1);
  assert_non_null (strstr (err->msg, "missing"));
  za_err_free (&err);
  snprintf (path, sizeof path, "%s/layers/" A64, za_store_root (s));
  assert_int_equal (mkdir (path, 0755), 0);
  snprintf (path, sizeof path, "%s/layers/" B64, za_store_root (s));
  assert_int_equal (mkdir (path, 0755), 0);
  assert_int_equal (za_store_lowers (s, &im, &lowers, &err), 0);
  snprintf (path, sizeof path, "%s/layers/" A64 ":%s/layers/" B64, za_store_root (s), za_store_root (s));
  assert_string_equal (lowers, path);
  free (lowers);
  za_store_image_clear (&im);
  za_store_close (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (chain_ids),
    cmocka_unit_test (policies),
    cmocka_unit_test (blobs),
    cmocka_unit_test (records),
  };
  if (za_image_dl_load (NULL) < 0)
    return 1;
  return cmocka_run_group_tests (tests, setup, teardown);
}
