/* Unit tests for image/layout.c: OCI image layouts built here, in each
   test's own mkdtemp directory (tars written with libarchive, digests
   with OpenSSL), unpacked into a cache beside them.  Covers manifest
   choice (tags, image indexes), whiteouts, the cache, corrupt and
   malicious layouts (each must fail naming the blob or entry and leave
   nothing in the cache), and a real busybox rootfs.  */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "image/layout.h"
#include "image/unpack.h"
#include "oci/image_config.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/rmtree.h"

#include "testutil.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_TAR "application/vnd.oci.image.layer.v1.tar"
#define MT_TGZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_D_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_D_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_D_TGZ "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* no architecture: no warning on any machine */
#define CONFIG_MIN "{\"os\":\"linux\",\"config\":{}}"

struct fx
{
  char dir[64];
  char layout[128];
  char cache[128];
  char outside[128];
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  if (!f
      || make_tmpdir_sub (f->dir, sizeof f->dir, "/tmp/za-image-XXXXXX", f->outside, sizeof f->outside,
                          "outside") < 0)
    {
      free (f);
      return -1;
    }
  snprintf (f->layout, sizeof f->layout, "%s/layout", f->dir);
  snprintf (f->cache, sizeof f->cache, "%s/cache", f->dir);
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

/* ---- building layouts ---------------------------------------------- */

struct blob
{
  char hex[65];
  size_t size;
  const char *media_type;
};

/* A tar entry: 'f' file (data), 'd' dir, 'l' symlink (data = target),
   'h' hardlink (data = target), 'c' char device, 'p' FIFO, 'X' empty file
   with the xattrs in data ("name=value;name=value").  LEN 0 means
   strlen (data).  */
struct ent
{
  char type;
  const char *path;
  const char *data;
  unsigned mode;
  size_t len;
};
#define END { 0, NULL, NULL, 0, 0 }

static void
sha256_hex (const void *data, size_t len, char out[65])
{
  unsigned char sum[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  assert_int_equal (EVP_Digest (data, len, sum, &n, EVP_sha256 (), NULL), 1);
  assert_int_equal (n, 32);
  for (unsigned i = 0; i < n; i++)
    snprintf (out + 2 * i, 3, "%02x", sum[i]);
}

static void
init_layout (const char *layout)
{
  char p[PATH_MAX];
  struct za_err *err = NULL;
  snprintf (p, sizeof p, "%s/blobs/sha256", layout);
  assert_int_equal (za_mkdir_p (p, 0755, &err), 0);
  snprintf (p, sizeof p, "%s/oci-layout", layout);
  write_file (p, "{\"imageLayoutVersion\": \"1.0.0\"}");
}

static void
blob_path (const char *layout, const struct blob *b, char *out, size_t n)
{
  snprintf (out, n, "%s/blobs/sha256/%s", layout, b->hex);
}

static void
put_blob (const char *layout, const void *data, size_t len, const char *mt, struct blob *b)
{
  char p[PATH_MAX];
  sha256_hex (data, len, b->hex);
  b->size = len;
  b->media_type = mt;
  blob_path (layout, b, p, sizeof p);
  write_data (p, data, len, 0644);
}

static void
put_json_blob (const char *layout, json_t *j, const char *mt, struct blob *b)
{
  char *s = json_dumps (j, JSON_COMPACT);
  assert_non_null (s);
  put_blob (layout, s, strlen (s), mt, b);
  free (s);
  json_decref (j);
}

static void
make_tar (const struct ent *e, bool gz, char **out, size_t *len)
{
  struct archive *a = archive_write_new ();
  size_t cap = 1u << 20, used = 0;
  char *buf;

  for (const struct ent *it = e; it->type; it++)
    cap += (it->len ? it->len : (it->data ? strlen (it->data) : 0)) * 2 + 4096;
  buf = malloc (cap);
  assert_non_null (a);
  assert_non_null (buf);
  assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
  assert_int_equal (gz ? archive_write_add_filter_gzip (a) : archive_write_add_filter_none (a),
                    ARCHIVE_OK);
  assert_int_equal (archive_write_open_memory (a, buf, cap, &used), ARCHIVE_OK);
  for (; e->type; e++)
    {
      struct archive_entry *ae = archive_entry_new ();
      size_t dlen = e->len ? e->len : (e->data ? strlen (e->data) : 0);
      archive_entry_set_pathname (ae, e->path);
      archive_entry_set_mtime (ae, 1700000000, 0);
      archive_entry_set_uid (ae, 0);
      archive_entry_set_gid (ae, 0);
      switch (e->type)
        {
        case 'f':
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_perm (ae, e->mode ? e->mode : 0644);
          archive_entry_set_size (ae, (la_int64_t) dlen);
          break;
        case 'd':
          archive_entry_set_filetype (ae, AE_IFDIR);
          archive_entry_set_perm (ae, e->mode ? e->mode : 0755);
          break;
        case 'l':
          archive_entry_set_filetype (ae, AE_IFLNK);
          archive_entry_set_perm (ae, 0777);
          archive_entry_set_symlink (ae, e->data);
          break;
        case 'h':
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_perm (ae, 0644);
          archive_entry_set_hardlink (ae, e->data);
          archive_entry_set_size (ae, 0);
          break;
        case 'c':
          archive_entry_set_filetype (ae, AE_IFCHR);
          archive_entry_set_perm (ae, 0666);
          archive_entry_set_rdevmajor (ae, 1);
          archive_entry_set_rdevminor (ae, 3);
          break;
        case 'p':
          archive_entry_set_filetype (ae, AE_IFIFO);
          archive_entry_set_perm (ae, 0644);
          break;
        case 'X':
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_perm (ae, 0644);
          archive_entry_set_size (ae, 0);
          for (const char *x = e->data; x && *x;)
            {
              const char *end = strchrnul (x, ';'), *eq = memchr (x, '=', (size_t) (end - x));
              char name[128];
              assert_non_null (eq);
              snprintf (name, sizeof name, "%.*s", (int) (eq - x), x);
              archive_entry_xattr_add_entry (ae, name, eq + 1, (size_t) (end - eq - 1));
              x = *end ? end + 1 : end;
            }
          break;
        default:
          fail_msg ("bad entry type %c", e->type);
        }
      assert_int_equal (archive_write_header (a, ae), ARCHIVE_OK);
      if (e->type == 'f' && dlen)
        assert_int_equal (archive_write_data (a, e->data, dlen), (la_ssize_t) dlen);
      archive_entry_free (ae);
    }
  assert_int_equal (archive_write_close (a), ARCHIVE_OK);
  archive_write_free (a);
  *out = buf;
  *len = used;
}

static json_t *
desc_json (const struct blob *b)
{
  char dg[80];
  snprintf (dg, sizeof dg, "sha256:%.64s", b->hex);
  return json_pack ("{s:s, s:s, s:I}", "mediaType", b->media_type, "digest", dg, "size",
                    (json_int_t) b->size);
}

struct layer
{
  const struct ent *ents;
  bool gz;
};

/* Config, layers and manifest blobs; DOCKER picks Docker media types.  */
static void
make_image (const char *layout, const char *config, const struct layer *layers, size_t n,
            bool docker, struct blob *manifest, struct blob *layer_blobs)
{
  struct blob cfg, lb[8];
  json_t *arr = json_array (), *m;

  assert_true (n <= 8);
  put_blob (layout, config, strlen (config), docker ? MT_D_CONFIG : MT_CONFIG, &cfg);
  for (size_t i = 0; i < n; i++)
    {
      char *tar;
      size_t len;
      make_tar (layers[i].ents, layers[i].gz, &tar, &len);
      put_blob (layout, tar, len, docker ? MT_D_TGZ : layers[i].gz ? MT_TGZ : MT_TAR, &lb[i]);
      free (tar);
      json_array_append_new (arr, desc_json (&lb[i]));
      if (layer_blobs)
        layer_blobs[i] = lb[i];
    }
  m = json_pack ("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                 docker ? MT_D_MANIFEST : MT_MANIFEST, "config", desc_json (&cfg), "layers", arr);
  assert_non_null (m);
  put_json_blob (layout, m, docker ? MT_D_MANIFEST : MT_MANIFEST, manifest);
}

struct ref
{
  const struct blob *b;
  const char *tag;  /* NULL: no ref.name annotation */
  const char *os;   /* NULL: no platform */
  const char *arch;
};

static json_t *
refs_json (const struct ref *r, size_t n)
{
  json_t *arr = json_array ();
  for (size_t i = 0; i < n; i++)
    {
      json_t *d = desc_json (r[i].b);
      if (r[i].tag)
        json_object_set_new (d, "annotations",
                             json_pack ("{s:s}", "org.opencontainers.image.ref.name", r[i].tag));
      if (r[i].os)
        json_object_set_new (d, "platform",
                             json_pack ("{s:s, s:s}", "os", r[i].os, "architecture", r[i].arch));
      json_array_append_new (arr, d);
    }
  return arr;
}

static void
write_index (const char *layout, const struct ref *r, size_t n)
{
  char p[PATH_MAX];
  json_t *j = json_pack ("{s:i, s:o}", "schemaVersion", 2, "manifests", refs_json (r, n));
  char *s = json_dumps (j, JSON_INDENT (2));
  snprintf (p, sizeof p, "%s/index.json", layout);
  write_file (p, s);
  free (s);
  json_decref (j);
}

/* One image, untagged, the only entry of index.json.  */
static void
simple_image (const char *layout, const char *config, const struct layer *layers, size_t n,
              struct blob *manifest, struct blob *layer_blobs)
{
  struct ref r;
  init_layout (layout);
  make_image (layout, config, layers, n, false, manifest, layer_blobs);
  r = (struct ref){ manifest, NULL, NULL, NULL };
  write_index (layout, &r, 1);
}

/* ---- checking results ---------------------------------------------- */

static void
assert_content (const char *rootfs, const char *rel, const char *want)
{
  char *got = slurp_in (rootfs, rel);
  if (strcmp (got, want) != 0)
    fail_msg ("%s: got `%s`, want `%s`", rel, got, want);
  free (got);
}

static size_t
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  size_t n = 0;
  if (!d)
    return 0; /* a cache never created is empty */
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

static int whiteouts_found;

static int
find_wh (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  if (strncmp (path + ftw->base, ".wh.", 4) == 0)
    whiteouts_found++;
  return 0;
}

static int
prep (struct fx *f, const char *ref, char **rootfs, struct za_image_config **cfg,
      struct za_err **warn, struct za_err **err)
{
  return za_image_layout_prepare (ref ? ref : f->layout, f->cache, rootfs, cfg, warn, err);
}

static void
expect_ok (struct fx *f, const char *ref, char **rootfs, struct za_image_config **cfg,
           struct za_err **warn)
{
  struct za_err *err = NULL;
  if (prep (f, ref, rootfs, cfg, warn, &err) < 0)
    {
      char *m = za_err_format (err);
      fail_msg ("prepare `%s` failed: %s", ref ? ref : f->layout, m);
    }
  assert_non_null (*rootfs);
  assert_non_null (*cfg);
  assert_true ((*rootfs)[0] == '/');
}

/* Fails as invalid input, with every NEEDLE in the message, and leaves
   nothing behind in the cache.  */
static void
expect_fail (struct fx *f, const char *ref, ...)
{
  struct za_err *err = NULL;
  struct za_image_config *cfg = NULL;
  char *rootfs = NULL, *m;
  const char *needle;
  va_list ap;

  assert_int_equal (prep (f, ref, &rootfs, &cfg, NULL, &err), -1);
  assert_null (rootfs);
  assert_null (cfg);
  assert_non_null (err);
  m = za_err_format (err);
  assert_non_null (m);
  if (err->code != ZA_EINPUT)
    fail_msg ("not an input error (%d): %s", err->code, m);
  va_start (ap, ref);
  while ((needle = va_arg (ap, const char *)))
    if (!strstr (m, needle))
      fail_msg ("`%s` not in error: %s", needle, m);
  va_end (ap);
  if (count_entries (f->cache) != 0)
    fail_msg ("cache not empty after: %s", m);
  free (m);
  za_err_free (&err);
}

static void
flip_byte (const char *path, off_t at)
{
  int fd = open (path, O_RDWR | O_CLOEXEC);
  unsigned char c;
  assert_true (fd >= 0);
  assert_int_equal (pread (fd, &c, 1, at), 1);
  c ^= 0x20;
  assert_int_equal (pwrite (fd, &c, 1, at), 1);
  close (fd);
}

/* ---- tests ---------------------------------------------------------- */

static const struct ent L1[] = {
  { 'd', "./", NULL, 0755, 0 },
  { 'd', "./etc", NULL, 0755, 0 },
  { 'f', "./etc/hostname", "one\n", 0644, 0 },
  { 'd', "a", NULL, 0755, 0 },
  { 'f', "a/keep", "v1", 0644, 0 },
  { 'f', "a/gone", "x", 0644, 0 },
  { 'd', "opq", NULL, 0755, 0 },
  { 'f', "opq/old1", "o1", 0644, 0 },
  { 'd', "opq/sub", NULL, 0755, 0 },
  { 'f', "opq/sub/old2", "o2", 0644, 0 },
  { 'f', "rm_me", "r", 0644, 0 },
  { 'd', "rmdir", NULL, 0755, 0 },
  { 'f', "rmdir/x", "x", 0644, 0 },
  { 'd', "usr", NULL, 0755, 0 },
  { 'd', "usr/lib", NULL, 0755, 0 },
  { 'l', "lib", "usr/lib", 0, 0 },
  { 'l', "l2", "nowhere/../lib", 0, 0 },
  { 'f', "bin/tool", "#!/bin/sh\n", 04755, 0 },
  { 'c', "dev/null", NULL, 0, 0 },
  { 'p', "fifo", NULL, 0, 0 },
  END,
};
static const struct ent L2[] = {
  { 'f', "a/.wh.gone", "", 0644, 0 },
  { 'f', ".wh.rm_me", "", 0644, 0 },
  { 'f', "./.wh.rmdir", "", 0644, 0 },
  { 'd', "opq", NULL, 0755, 0 },
  /* before the opaque marker: the same layer's entries stay either way */
  { 'f', "opq/new2", "n2", 0644, 0 },
  { 'f', "opq/.wh..wh..opq", "", 0644, 0 },
  { 'f', "opq/new", "n", 0644, 0 },
  /* through lib -> usr/lib, a symlink that stays inside */
  { 'f', "lib/libfoo.so", "foo", 0644, 0 },
  { 'f', "l2/libbar.so", "bar", 0644, 0 },
  END,
};
static const struct ent L3[] = {
  { 'f', "a/keep", "v3", 0644, 0 },
  { 'd', "c", NULL, 0755, 0 },
  { 'l', "c/lnk", "../a/keep", 0, 0 },
  { 'h', "c/hl", "a/keep", 0, 0 },
  { 'f', "a/.wh.never-existed", "", 0644, 0 },
  END,
};
static const struct layer THREE[] = { { L1, true }, { L2, false }, { L3, true } };

static void
test_three_layers (void **state)
{
  struct fx *f = *state;
  struct blob man;
  char *rootfs = NULL, *m, want[PATH_MAX], *real;
  struct za_image_config *cfg = NULL;
  struct za_err *warn = NULL;
  struct stat a, b;

  simple_image (f->layout, CONFIG_MIN, THREE, 3, &man, NULL);
  expect_ok (f, NULL, &rootfs, &cfg, &warn);

  real = realpath (f->cache, NULL);
  snprintf (want, sizeof want, "%s/%s/rootfs", real, man.hex);
  assert_string_equal (rootfs, want);
  free (real);
  assert_int_equal (stat (f->cache, &a), 0);
  assert_int_equal (a.st_mode & 07777, 0700);
  assert_int_equal (count_entries (f->cache), 1);

  assert_content (rootfs, "etc/hostname", "one\n");
  assert_content (rootfs, "a/keep", "v3");
  assert_false (exists_in (rootfs, "a/gone"));
  assert_false (exists_in (rootfs, "rm_me"));
  assert_false (exists_in (rootfs, "rmdir"));
  assert_false (exists_in (rootfs, "opq/old1"));
  assert_false (exists_in (rootfs, "opq/sub"));
  assert_content (rootfs, "opq/new", "n");
  assert_content (rootfs, "opq/new2", "n2");
  assert_content (rootfs, "usr/lib/libfoo.so", "foo");
  assert_content (rootfs, "usr/lib/libbar.so", "bar");
  assert_false (exists_in (rootfs, "dev/null"));
  assert_false (exists_in (rootfs, "fifo"));

  snprintf (want, sizeof want, "%s/lib", rootfs);
  assert_int_equal (lstat (want, &a), 0);
  assert_true (S_ISLNK (a.st_mode));
  snprintf (want, sizeof want, "%s/c/lnk", rootfs);
  {
    char t[64] = "";
    assert_int_equal (readlink (want, t, sizeof t - 1), 9);
    assert_string_equal (t, "../a/keep");
  }
  snprintf (want, sizeof want, "%s/c/hl", rootfs);
  assert_int_equal (stat (want, &a), 0);
  snprintf (want, sizeof want, "%s/a/keep", rootfs);
  assert_int_equal (stat (want, &b), 0);
  assert_int_equal (a.st_ino, b.st_ino);
  assert_int_equal (b.st_mtime, 1700000000);
  snprintf (want, sizeof want, "%s/bin/tool", rootfs);
  assert_int_equal (stat (want, &a), 0);
  if (geteuid () == 0)
    assert_int_equal (a.st_mode & 07777, 04755);

  whiteouts_found = 0;
  assert_int_equal (nftw (rootfs, find_wh, 16, FTW_PHYS), 0);
  assert_int_equal (whiteouts_found, 0);

  /* one warning for layer 1's device and FIFO */
  assert_non_null (warn);
  m = za_err_format (warn);
  assert_non_null (strstr (m, "layer 1 of 3"));
  assert_non_null (strstr (m, "skipped 2 device/FIFO entries"));
  free (m);
  if (geteuid () == 0) /* others get a warning for the setuid bit, too */
    assert_int_equal (za_err_count (warn), 1);

  za_err_free (&warn);
  za_image_config_free (cfg);
  free (rootfs);
}

static const struct ent V1[] = { { 'f', "which", "v1", 0644, 0 }, END };
static const struct ent V2[] = { { 'f', "which", "v2", 0644, 0 }, END };

/* Two tagged images in a directory whose name has a ':' in it.  */
static void
two_tags (struct fx *f, char *dir, size_t n)
{
  static const struct layer l1[] = { { V1, true } }, l2[] = { { V2, true } };
  struct blob m1, m2;
  struct ref r[2];
  snprintf (dir, n, "%s/lay:out", f->dir);
  init_layout (dir);
  make_image (dir, CONFIG_MIN, l1, 1, false, &m1, NULL);
  make_image (dir, CONFIG_MIN, l2, 1, true, &m2, NULL); /* Docker media types */
  r[0] = (struct ref){ &m1, "v1", NULL, NULL };
  r[1] = (struct ref){ &m2, "v2", NULL, NULL };
  write_index (dir, r, 2);
}

static void
test_tag_selection (void **state)
{
  struct fx *f = *state;
  char dir[PATH_MAX], ref[PATH_MAX + 16];
  char *rootfs = NULL;
  struct za_image_config *cfg = NULL;

  two_tags (f, dir, sizeof dir);
  snprintf (ref, sizeof ref, "%s:v2", dir);
  expect_ok (f, ref, &rootfs, &cfg, NULL);
  assert_content (rootfs, "which", "v2");
  free (rootfs);
  za_image_config_free (cfg);

  snprintf (ref, sizeof ref, "%s:v1", dir);
  expect_ok (f, ref, &rootfs, &cfg, NULL);
  assert_content (rootfs, "which", "v1");
  free (rootfs);
  za_image_config_free (cfg);
  assert_int_equal (count_entries (f->cache), 2);

  rm_rf (f->cache);
  snprintf (ref, sizeof ref, "%s:nope", dir);
  expect_fail (f, ref, "no manifest is tagged `nope`", "tags: v1, v2", NULL);
}

static void
test_several_without_tag (void **state)
{
  struct fx *f = *state;
  char dir[PATH_MAX], ref[PATH_MAX + 16];
  two_tags (f, dir, sizeof dir);
  /* "…/lay:out/": what follows the last ':' has a '/', so no tag */
  snprintf (ref, sizeof ref, "%s/", dir);
  expect_fail (f, ref, "index.json lists 2 manifests", "DIR:TAG", "tags: v1, v2", NULL);
}

static void
test_image_index (void **state)
{
  struct fx *f = *state;
  const char *host = za_image_host_arch (NULL);
  const char *other = host && strcmp (host, "arm64") == 0 ? "amd64" : "arm64";
  struct ent eh[] = { { 'f', "arch", host, 0644, 0 }, END };
  struct ent eo[] = { { 'f', "arch", other, 0644, 0 }, END };
  struct ent ew[] = { { 'f', "arch", "windows", 0644, 0 }, END };
  struct layer lh[] = { { eh, true } }, lo[] = { { eo, true } }, lw[] = { { ew, false } };
  struct blob mh, mo, mw, idx, idx2;
  struct ref r[3], top[2];
  char ref[PATH_MAX + 16], avail[64], *rootfs = NULL;
  struct za_image_config *cfg = NULL;

  if (!host)
    skip ();
  init_layout (f->layout);
  make_image (f->layout, CONFIG_MIN, lh, 1, false, &mh, NULL);
  make_image (f->layout, CONFIG_MIN, lo, 1, false, &mo, NULL);
  make_image (f->layout, CONFIG_MIN, lw, 1, false, &mw, NULL);
  r[0] = (struct ref){ &mo, NULL, "linux", other };
  r[1] = (struct ref){ &mw, NULL, "windows", host };
  r[2] = (struct ref){ &mh, NULL, "linux", host };
  put_json_blob (f->layout,
                 json_pack ("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_INDEX,
                            "manifests", refs_json (r, 3)),
                 MT_INDEX, &idx);
  put_json_blob (f->layout,
                 json_pack ("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_INDEX,
                            "manifests", refs_json (r, 2)),
                 MT_INDEX, &idx2);
  top[0] = (struct ref){ &idx, "multi", NULL, NULL };
  top[1] = (struct ref){ &idx2, "nohost", NULL, NULL };
  write_index (f->layout, top, 2);

  snprintf (ref, sizeof ref, "%s:multi", f->layout);
  expect_ok (f, ref, &rootfs, &cfg, NULL);
  assert_content (rootfs, "arch", host);
  /* cached under the platform manifest's digest */
  assert_non_null (strstr (rootfs, mh.hex));
  free (rootfs);
  za_image_config_free (cfg);

  rm_rf (f->cache);
  snprintf (ref, sizeof ref, "%s:nohost", f->layout);
  snprintf (avail, sizeof avail, "available: linux/%s, windows/%s", other, host);
  expect_fail (f, ref, "no manifest for linux/", host, avail, "(image index)", NULL);
}

static void
test_cache_reuse (void **state)
{
  struct fx *f = *state;
  struct blob man, lb[3];
  char *r1 = NULL, *r2 = NULL, p[PATH_MAX];
  struct za_image_config *c1 = NULL, *c2 = NULL;
  struct za_err *err = NULL;
  struct stat a, b;

  simple_image (f->layout, CONFIG_MIN, THREE, 3, &man, lb);
  expect_ok (f, NULL, &r1, &c1, NULL);
  snprintf (p, sizeof p, "%s/a/keep", r1);
  assert_int_equal (stat (p, &a), 0);
  /* a marker an unpack would not produce */
  snprintf (p, sizeof p, "%s/marker", r1);
  write_file (p, "m");
  /* layers are not read again: damage one */
  blob_path (f->layout, &lb[1], p, sizeof p);
  flip_byte (p, 700);

  expect_ok (f, NULL, &r2, &c2, NULL);
  assert_string_equal (r1, r2);
  assert_true (exists_in (r2, "marker"));
  snprintf (p, sizeof p, "%s/a/keep", r2);
  assert_int_equal (stat (p, &b), 0);
  assert_int_equal (a.st_ino, b.st_ino);
  assert_int_equal (a.st_mtime, b.st_mtime);
  assert_int_equal (a.st_ctime, b.st_ctime);
  assert_int_equal (count_entries (f->cache), 1);
  free (r2);
  za_image_config_free (c2);

  /* but the config still is */
  {
    char cfgp[PATH_MAX];
    struct blob cb;
    sha256_hex (CONFIG_MIN, strlen (CONFIG_MIN), cb.hex);
    blob_path (f->layout, &cb, cfgp, sizeof cfgp);
    flip_byte (cfgp, 3);
  }
  r2 = NULL;
  c2 = NULL;
  assert_int_equal (prep (f, NULL, &r2, &c2, NULL, &err), -1);
  assert_non_null (strstr (err->msg, "(config): digest mismatch"));
  za_err_free (&err);
  assert_true (exists_in (r1, "marker")); /* a good cache entry stays */

  free (r1);
  za_image_config_free (c1);
}

static void
test_corrupt_blob (void **state)
{
  struct fx *f = *state;
  struct blob man, lb[3];
  char p[PATH_MAX], want[128];

  simple_image (f->layout, CONFIG_MIN, THREE, 3, &man, lb);
  /* uncompressed layer: the tar still parses, only the digest tells */
  blob_path (f->layout, &lb[1], p, sizeof p);
  flip_byte (p, 600);
  snprintf (want, sizeof want, "blob sha256:%s (layer 2 of 3): digest mismatch", lb[1].hex);
  expect_fail (f, NULL, want, NULL);
  flip_byte (p, 600);

  /* gzip layer: libarchive fails on it, the digest is what is reported */
  blob_path (f->layout, &lb[2], p, sizeof p);
  flip_byte (p, (off_t) lb[2].size / 2);
  snprintf (want, sizeof want, "blob sha256:%s (layer 3 of 3): digest mismatch", lb[2].hex);
  expect_fail (f, NULL, want, NULL);
  flip_byte (p, (off_t) lb[2].size / 2);

  /* the manifest */
  blob_path (f->layout, &man, p, sizeof p);
  flip_byte (p, 5);
  snprintf (want, sizeof want, "blob sha256:%s (manifest): digest mismatch", man.hex);
  expect_fail (f, NULL, want, NULL);
}

static void
test_truncated_layer (void **state)
{
  struct fx *f = *state;
  struct blob man, lb[3];
  char p[PATH_MAX], want[160];

  simple_image (f->layout, CONFIG_MIN, THREE, 3, &man, lb);
  blob_path (f->layout, &lb[2], p, sizeof p);
  assert_int_equal (truncate (p, (off_t) lb[2].size / 2), 0);
  snprintf (want, sizeof want, "blob sha256:%s (layer 3 of 3): size %zu does not match descriptor size %zu",
            lb[2].hex, lb[2].size / 2, lb[2].size);
  expect_fail (f, NULL, want, NULL);
}

static void
test_missing_blob (void **state)
{
  struct fx *f = *state;
  struct blob man, lb[3];
  char p[PATH_MAX], want[128];

  simple_image (f->layout, CONFIG_MIN, THREE, 3, &man, lb);
  blob_path (f->layout, &lb[0], p, sizeof p);
  assert_int_equal (unlink (p), 0);
  snprintf (want, sizeof want, "blob sha256:%s (layer 1 of 3) is missing", lb[0].hex);
  expect_fail (f, NULL, want, NULL);
}

/* A one-layer image whose layer is ENTS; the error names layer and entry.  */
static void
bad_layer (struct fx *f, const struct ent *ents, const char *entry, const char *why)
{
  struct layer l[] = { { ents, false } };
  struct blob man, lb[1];
  char want[160];
  size_t outside = count_entries (f->outside);
  rm_rf (f->layout);
  simple_image (f->layout, CONFIG_MIN, l, 1, &man, lb);
  snprintf (want, sizeof want, "blob sha256:%s (layer 1 of 1): entry `%s`", lb[0].hex, entry);
  expect_fail (f, NULL, want, why, NULL);
  assert_int_equal (count_entries (f->outside), outside); /* nothing written there */
}

static void
test_dotdot_entry (void **state)
{
  struct fx *f = *state;
  struct ent e1[] = { { 'd', "a", NULL, 0755, 0 }, { 'f', "a/../../evil", "x", 0644, 0 }, END };
  struct ent e2[] = { { 'f', "../outside/evil", "x", 0644, 0 }, END };
  struct ent e3[] = { { 'f', ".wh.ok", "", 0644, 0 }, { 'f', "x/../.wh.y", "", 0644, 0 }, END };
  bad_layer (f, e1, "a/../../evil", "`..`");
  bad_layer (f, e2, "../outside/evil", "`..`");
  bad_layer (f, e3, "x/../.wh.y", "`..`");
  assert_false (exists_in (f->dir, "evil"));
}

static void
test_absolute_entry (void **state)
{
  struct fx *f = *state;
  char abs[PATH_MAX];
  struct ent e1[] = { { 'f', "/za-image-test-evil", "x", 0644, 0 }, END };
  struct ent e2[] = { { 'f', abs, "x", 0644, 0 }, END };
  snprintf (abs, sizeof abs, "%s/evil", f->outside);
  bad_layer (f, e1, "/za-image-test-evil", "absolute path");
  bad_layer (f, e2, abs, "absolute path");
  assert_false (exists_in ("/", "za-image-test-evil"));
}

static void
test_symlink_escape (void **state)
{
  struct fx *f = *state;
  /* link -> <a host directory> then link/passwd: the host directory is
     the test's own, so a regression cannot hurt the machine */
  struct ent e1[] = { { 'l', "link", f->outside, 0, 0 }, { 'f', "link/passwd", "x", 0644, 0 }, END };
  struct ent e2[] = { { 'd', "d", NULL, 0755, 0 },
                      { 'l', "d/up", "../../../../../../../../..", 0, 0 },
                      { 'f', "d/up/tmp/x", "x", 0644, 0 },
                      END };
  /* a chain: a -> b, b -> <outside> */
  struct ent e3[] = { { 'l', "b", f->outside, 0, 0 },
                      { 'l', "a", "b", 0, 0 },
                      { 'd', "a/sub", NULL, 0755, 0 },
                      END };
  /* whiteouts resolve their directory too */
  struct ent e4[] = { { 'l', "w", f->outside, 0, 0 }, { 'f', "w/.wh.keep", "", 0644, 0 }, END };
  char keep[PATH_MAX];

  snprintf (keep, sizeof keep, "%s/keep", f->outside);
  bad_layer (f, e1, "link/passwd", "symlink `link`");
  bad_layer (f, e2, "d/up/tmp/x", "outside the rootfs");
  bad_layer (f, e3, "a/sub/", "outside the rootfs"); /* libarchive writes dirs with a '/' */
  write_file (keep, "k");
  {
    struct layer l[] = { { e4, false } };
    struct blob man;
    rm_rf (f->layout);
    simple_image (f->layout, CONFIG_MIN, l, 1, &man, NULL);
    expect_fail (f, NULL, "entry `w/.wh.keep`", "outside the rootfs", NULL);
  }
  assert_true (exists_in (f->outside, "keep"));
}

static void
test_hardlink_outside (void **state)
{
  struct fx *f = *state;
  char secret[PATH_MAX];
  struct ent e1[] = { { 'h', "hl", "../outside/secret", 0, 0 }, END };
  struct ent e2[] = { { 'h', "hl", secret, 0, 0 }, END };
  struct ent e3[] = { { 'l', "ln", f->outside, 0, 0 }, { 'h', "hl", "ln/secret", 0, 0 }, END };
  struct ent e4[] = { { 'h', "hl", "does/not/exist", 0, 0 }, END };
  struct stat st;

  snprintf (secret, sizeof secret, "%s/secret", f->outside);
  write_file (secret, "s");
  bad_layer (f, e1, "hl", "hardlink target `../outside/secret` is outside the rootfs");
  bad_layer (f, e2, "hl", "is outside the rootfs");
  bad_layer (f, e3, "hl", "symlink `ln`");
  bad_layer (f, e4, "hl", "hardlink target `does/not/exist`");
  assert_int_equal (stat (secret, &st), 0);
  assert_int_equal (st.st_nlink, 1);
}

/* A manifest whose single layer is DATA; DIGEST, when not NULL, replaces
   the layer descriptor's digest.  */
static void
manifest_with_layer (struct fx *f, const char *data, const char *digest, struct blob *man)
{
  struct blob cfg, lay;
  json_t *l, *m;
  struct ref r = { man, NULL, NULL, NULL };
  init_layout (f->layout);
  put_blob (f->layout, CONFIG_MIN, strlen (CONFIG_MIN), MT_CONFIG, &cfg);
  put_blob (f->layout, data, strlen (data), MT_TAR, &lay);
  l = desc_json (&lay);
  if (digest)
    json_object_set_new (l, "digest", json_string (digest));
  m = json_pack ("{s:i, s:s, s:o, s:[o]}", "schemaVersion", 2, "mediaType", MT_MANIFEST,
                 "config", desc_json (&cfg), "layers", l);
  put_json_blob (f->layout, m, MT_MANIFEST, man);
  write_index (f->layout, &r, 1);
}

static void
test_bad_digest (void **state)
{
  struct fx *f = *state;
  struct blob man;
  char p[PATH_MAX], sha512[140] = "sha512:";
  json_t *j;
  char *s;

  manifest_with_layer (f, "x", "sha256:../../x", &man);
  expect_fail (f, NULL, "layers[0]: invalid digest `sha256:../../x`", "(manifest)", NULL);
  manifest_with_layer (
      f, "x", "sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", &man);
  expect_fail (f, NULL, "64 lowercase hex digits", NULL);
  for (int i = 0; i < 128; i++)
    strcat (sha512, "a");
  manifest_with_layer (f, "x", sha512, &man);
  expect_fail (f, NULL, "unsupported algorithm `sha512`", NULL);

  /* index.json itself */
  j = json_pack ("{s:i, s:[{s:s, s:s, s:i}]}", "schemaVersion", 2, "manifests", "mediaType",
                 MT_MANIFEST, "digest", "sha256:../../../../etc/passwd", "size", 10);
  s = json_dumps (j, 0);
  snprintf (p, sizeof p, "%s/index.json", f->layout);
  write_file (p, s);
  free (s);
  json_decref (j);
  expect_fail (f, NULL, "index.json: manifests[0]: invalid digest", NULL);
}

/* Entries replace what lower layers had (a directory by a file, a file
   or a symlink by a directory); whiteouts after the layer's own entries
   still only remove lower content.  */
static void
test_replace_and_order (void **state)
{
  struct fx *f = *state;
  struct ent la[] = {
    { 'd', "o", NULL, 0755, 0 },        { 'd', "o/s", NULL, 0755, 0 },
    { 'f', "o/s/old", "old", 0644, 0 }, { 'f', "o/f", "f", 0644, 0 },
    { 'd', "dir2file", NULL, 0755, 0 }, { 'f', "dir2file/x", "x", 0644, 0 },
    { 'f', "file2dir", "x", 0644, 0 },  { 'l', "sym2dir", f->outside, 0, 0 },
    { 'f', "again", "lower", 0644, 0 }, END,
  };
  struct ent lb[] = {
    { 'd', "o", NULL, 0755, 0 },
    { 'd', "o/s", NULL, 0700, 0 },
    { 'f', "o/s/new", "new", 0644, 0 },
    { 'f', "o/.wh..wh..opq", "", 0644, 0 },
    { 'f', "dir2file", "now a file", 0644, 0 },
    { 'd', "file2dir", NULL, 0755, 0 },
    { 'f', "file2dir/y", "y", 0644, 0 },
    { 'd', "sym2dir", NULL, 0755, 0 },
    { 'f', "sym2dir/z", "z", 0644, 0 },
    { 'f', "again", "upper", 0644, 0 },
    { 'f', ".wh.again", "", 0644, 0 },
    END,
  };
  struct ent empty[] = { END };
  struct layer l[] = { { la, true }, { lb, false }, { empty, false }, { empty, true } };
  struct blob man;
  char *rootfs = NULL, p[PATH_MAX];
  struct za_image_config *cfg = NULL;
  struct stat st;

  simple_image (f->layout, CONFIG_MIN, l, 4, &man, NULL);
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  assert_false (exists_in (rootfs, "o/s/old"));
  assert_false (exists_in (rootfs, "o/f"));
  assert_content (rootfs, "o/s/new", "new");
  snprintf (p, sizeof p, "%s/o/s", rootfs);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0700);
  assert_content (rootfs, "dir2file", "now a file");
  assert_content (rootfs, "file2dir/y", "y");
  assert_content (rootfs, "sym2dir/z", "z");
  snprintf (p, sizeof p, "%s/sym2dir", rootfs);
  assert_int_equal (lstat (p, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
  assert_content (rootfs, "again", "upper");
  assert_int_equal (count_entries (f->outside), 0);
  free (rootfs);
  za_image_config_free (cfg);
}

/* A blob that matches its digest but is no tar is the image's fault.  */
static void
test_not_a_tar (void **state)
{
  struct fx *f = *state;
  struct blob man;
  char want[128], hex[65];
  const char *junk = "this is not a tar archive, not at all, no........";
  char *rootfs = NULL;
  struct za_image_config *cfg = NULL;
  manifest_with_layer (f, junk, NULL, &man);
  sha256_hex (junk, strlen (junk), hex);
  snprintf (want, sizeof want, "blob sha256:%s (layer 1 of 1): ", hex);
  expect_fail (f, NULL, want, NULL);

  /* an empty blob is an empty layer, though */
  rm_rf (f->layout);
  manifest_with_layer (f, "", NULL, &man);
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  assert_int_equal (count_entries (rootfs), 0);
  free (rootfs);
  za_image_config_free (cfg);
}

static void
test_config_fields (void **state)
{
  struct fx *f = *state;
  static const struct ent e[] = { { 'f', "srv/app", "x", 0755, 0 }, END };
  static const struct layer l[] = { { e, true } };
  const char *config = "{\"architecture\":\"zz80\",\"os\":\"linux\",\"config\":{"
                       "\"User\":\"1000:1000\",\"Env\":[\"PATH=/usr/bin\",\"A=b\"],"
                       "\"WorkingDir\":\"/srv\",\"Entrypoint\":[\"/srv/app\"],"
                       "\"Cmd\":[\"--flag\",\"x\"]},\"rootfs\":{\"type\":\"layers\"}}";
  struct blob man;
  char *rootfs = NULL;
  struct za_image_config *cfg = NULL;

  struct za_err *warn = NULL;

  simple_image (f->layout, config, l, 1, &man, NULL);
  expect_ok (f, NULL, &rootfs, &cfg, &warn);
  /* an image for another architecture is a warning: binfmt_misc may run it */
  assert_non_null (warn);
  assert_non_null (strstr (warn->msg, "image is for linux/zz80; this machine is linux/"));
  za_err_free (&warn);
  assert_string_equal (cfg->user, "1000:1000");
  assert_string_equal (cfg->working_dir, "/srv");
  assert_true (cfg->has_env);
  assert_int_equal (cfg->env.n, 2);
  assert_string_equal (cfg->env.v[0], "PATH=/usr/bin");
  assert_string_equal (cfg->env.v[1], "A=b");
  assert_true (cfg->has_entrypoint);
  assert_int_equal (cfg->entrypoint.n, 1);
  assert_string_equal (cfg->entrypoint.v[0], "/srv/app");
  assert_true (cfg->has_cmd);
  assert_int_equal (cfg->cmd.n, 2);
  assert_string_equal (cfg->cmd.v[1], "x");
  assert_content (rootfs, "srv/app", "x");
  free (rootfs);
  za_image_config_free (cfg);
}

static void
test_layout_errors (void **state)
{
  struct fx *f = *state;
  char p[PATH_MAX];
  struct blob man;
  static const struct layer l[] = { { V1, false } };

  expect_fail (f, NULL, "open layout directory", NULL);
  simple_image (f->layout, CONFIG_MIN, l, 1, &man, NULL);
  snprintf (p, sizeof p, "%s/oci-layout", f->layout);
  write_file (p, "{\"imageLayoutVersion\": \"2.0.0\"}");
  expect_fail (f, NULL, "unsupported imageLayoutVersion `2.0.0`", NULL);
  assert_int_equal (unlink (p), 0);
  expect_fail (f, NULL, "not an OCI image layout", "oci-layout", NULL);
  init_layout (f->layout);
  snprintf (p, sizeof p, "%s/index.json", f->layout);
  write_file (p, "{\"manifests\": [], \"manifests\": []}");
  expect_fail (f, NULL, "index.json: invalid JSON", "duplicate", NULL);
  write_file (p, "{\"schemaVersion\": 2, \"manifests\": []}");
  expect_fail (f, NULL, "lists no manifests", NULL);
  snprintf (p, sizeof p, "%s:", f->layout);
  expect_fail (f, p, "empty tag", NULL);
}

static void
test_concurrent (void **state)
{
  struct fx *f = *state;
  struct ent big[] = { { 'f', "a", NULL, 0644, 0 }, { 'f', "b", NULL, 0644, 0 }, END };
  struct layer l[] = { { big, true }, { V1, false } };
  struct blob man;
  size_t n = 4u << 20;
  char *data = malloc (n), *rootfs = NULL;
  struct za_image_config *cfg = NULL;
  pid_t kids[4];

  assert_non_null (data);
  for (size_t i = 0; i < n; i++)
    data[i] = (char) ((i * 2654435761u) >> 13);
  big[0].data = big[1].data = data;
  big[0].len = big[1].len = n;
  simple_image (f->layout, CONFIG_MIN, l, 2, &man, NULL);
  free (data);

  for (int i = 0; i < 4; i++)
    {
      kids[i] = fork ();
      assert_true (kids[i] >= 0);
      if (kids[i] == 0)
        {
          struct za_err *err = NULL;
          int r = prep (f, NULL, &rootfs, &cfg, NULL, &err);
          if (r < 0)
            {
              char *m = za_err_format (err);
              fprintf (stderr, "child: %s\n", m ? m : "?");
            }
          _exit (r < 0 ? 1 : 0);
        }
    }
  for (int i = 0; i < 4; i++)
    {
      int st;
      assert_int_equal (waitpid (kids[i], &st, 0), kids[i]);
      assert_true (WIFEXITED (st) && WEXITSTATUS (st) == 0);
    }
  /* one entry, no temporary directories left */
  assert_int_equal (count_entries (f->cache), 1);
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  assert_content (rootfs, "which", "v1");
  free (rootfs);
  za_image_config_free (cfg);
}

/* Temporary directories of preparers that died are swept; those of live
   ones (locked) and young ones are not.  */
static void
test_stale_tmp (void **state)
{
  struct fx *f = *state;
  static const struct layer l[] = { { V1, false } };
  const char *names[] = { ".tmp-dead-1-00000000", ".tmp-young-2-00000000",
                          ".tmp-locked-3-00000000" };
  struct timespec old[2] = { { time (NULL) - 3600, 0 }, { time (NULL) - 3600, 0 } };
  struct za_err *err = NULL;
  struct za_image_config *cfg = NULL;
  char p[PATH_MAX], *rootfs = NULL;
  struct blob man;
  int lockfd;

  simple_image (f->layout, CONFIG_MIN, l, 1, &man, NULL);
  for (int i = 0; i < 3; i++)
    {
      snprintf (p, sizeof p, "%s/%s/rootfs/junk", f->cache, names[i]);
      assert_int_equal (za_mkdir_p (p, 0755, &err), 0);
      if (i != 1)
        {
          snprintf (p, sizeof p, "%s/%s", f->cache, names[i]);
          assert_int_equal (utimensat (AT_FDCWD, p, old, 0), 0);
        }
    }
  lockfd = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (lockfd >= 0);
  assert_int_equal (flock (lockfd, LOCK_EX), 0);

  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  assert_false (exists_in (f->cache, names[0]));
  assert_true (exists_in (f->cache, names[1]));
  assert_true (exists_in (f->cache, names[2]));
  assert_int_equal (count_entries (f->cache), 3);
  close (lockfd);
  free (rootfs);
  za_image_config_free (cfg);
}

static void
test_busybox (void **state)
{
  struct fx *f = *state;
  char *bb = NULL, *rootfs = NULL, p[PATH_MAX];
  size_t len = 0;
  struct za_err *err = NULL;
  struct za_image_config *cfg = NULL;
  struct stat st;
  struct blob man;
  pid_t pid;
  int status;

  if (access ("/bin/busybox", R_OK) != 0)
    skip ();
  assert_int_equal (za_read_file ("/bin/busybox", 64u << 20, &bb, &len, &err), 0);
  {
    struct ent e[] = { { 'd', "bin", NULL, 0755, 0 },
                       { 'f', "bin/busybox", bb, 0755, len },
                       { 'l', "bin/sh", "busybox", 0, 0 },
                       END };
    struct layer l[] = { { e, true } };
    simple_image (f->layout,
                  "{\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]}}", l, 1, &man, NULL);
  }
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  snprintf (p, sizeof p, "%s/bin/busybox", rootfs);
  assert_int_equal (stat (p, &st), 0);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (st.st_mode & 0777, 0755);
  assert_int_equal ((size_t) st.st_size, len);
  assert_int_equal (access (p, X_OK), 0);
  {
    char *got = slurp_in (rootfs, "bin/busybox");
    assert_non_null (got);
    assert_memory_equal (got, bb, len);
    free (got);
  }
  /* and it runs */
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      int null = open ("/dev/null", O_WRONLY);
      dup2 (null, 1);
      execl (p, "busybox", "true", (char *) NULL);
      _exit (127);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  assert_string_equal (cfg->cmd.v[0], "/bin/sh");
  free (bb);
  free (rootfs);
  za_image_config_free (cfg);
}


/* ---- the unpacker: hostile layers, bounds ---------------------------- */

static void
stat_mode_mtime (const char *path, unsigned *mode, time_t *mtime)
{
  struct stat st;
  assert_int_equal (lstat (path, &st), 0);
  *mode = st.st_mode & 07777;
  *mtime = st.st_mtime;
}

/* A layer makes a/ and a/victim (mode 0777 or 02777), then replaces a
   with a symlink to a host directory: the deferred mode and time of
   a/victim must not reach the host's victim, whichever way the symlink
   is written.  */
static void
test_swap_dir_for_symlink (void **state)
{
  struct fx *f = *state;
  char victim[PATH_MAX], rel[PATH_MAX] = "", p[PATH_MAX];
  struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
  const char *targets[3];
  unsigned modes[] = { 0777, 02777 };

  for (int i = 0; i < 20; i++)
    strcat (rel, "../");
  strcat (rel, f->outside + 1);
  targets[0] = f->outside;
  targets[1] = rel;
  targets[2] = f->outside; /* after a whiteout of a */
  snprintf (victim, sizeof victim, "%s/victim", f->outside);
  assert_int_equal (mkdir (victim, 0700), 0);
  for (int t = 0; t < 3; t++)
    for (int m = 0; m < 2; m++)
      {
        struct ent e[] = {
          { 'd', "a", NULL, 0755, 0 },
          { 'd', "a/victim", NULL, modes[m], 0 },
          { 'f', "a/victim/f", "x", 0644, 0 },
          { t == 2 ? 'f' : 'd', t == 2 ? ".wh.a" : "other", t == 2 ? "" : NULL, 0755, 0 },
          { 'l', "a", targets[t], 0, 0 },
          END,
        };
        struct layer l[] = { { e, t == 1 } };
        struct blob man;
        char *rootfs = NULL;
        struct za_image_config *cfg = NULL;
        unsigned mode;
        time_t mtime;

        assert_int_equal (chmod (victim, 0700), 0);
        assert_int_equal (utimensat (AT_FDCWD, victim, old, 0), 0);
        rm_rf (f->layout);
        rm_rf (f->cache);
        simple_image (f->layout, CONFIG_MIN, l, 1, &man, NULL);
        expect_ok (f, NULL, &rootfs, &cfg, NULL);
        stat_mode_mtime (victim, &mode, &mtime);
        if (mode != 0700 || mtime != 1000000000)
          fail_msg ("target %d mode %o: host victim became %o, mtime %ld", t, modes[m], mode,
                    (long) mtime);
        assert_false (exists_in (victim, "f"));
        snprintf (p, sizeof p, "%s/a", rootfs);
        {
          struct stat st;
          assert_int_equal (lstat (p, &st), 0);
          assert_true (S_ISLNK (st.st_mode));
        }
        free (rootfs);
        za_image_config_free (cfg);
      }
}

/* The same inside the rootfs: x/y's fix-up must not land on real/y once
   x is a symlink to real.  */
static void
test_swap_inside (void **state)
{
  struct fx *f = *state;
  struct ent e[] = {
    { 'd', "x", NULL, 0700, 0 },     { 'd', "x/y", NULL, 0700, 0 },
    { 'd', "real", NULL, 0755, 0 },  { 'd', "real/y", NULL, 0751, 0 },
    { 'l', "x", "real", 0, 0 },      END,
  };
  struct layer l[] = { { e, false } };
  struct blob man;
  char *rootfs = NULL, p[PATH_MAX];
  struct za_image_config *cfg = NULL;
  unsigned mode;
  time_t mtime;

  simple_image (f->layout, CONFIG_MIN, l, 1, &man, NULL);
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  snprintf (p, sizeof p, "%s/real/y", rootfs);
  stat_mode_mtime (p, &mode, &mtime);
  assert_int_equal (mode, 0751);
  free (rootfs);
  za_image_config_free (cfg);
}

/* Directory modes and times are applied once the layer is complete:
   read-only and mode 000 directories can be filled, and their mtime is
   the entry's, not that of the last file made in them.  */
static void
test_dir_modes_deferred (void **state)
{
  struct fx *f = *state;
  struct ent e[] = {
    { 'd', "ro", NULL, 0555, 0 },      { 'f', "ro/f", "x", 0644, 0 },
    { 'd', "ro/sub", NULL, 0500, 0 },  { 'f', "ro/sub/g", "y", 0600, 0 },
    { 'd', "zero", NULL, 0100, 0 },    { 'd', "sticky", NULL, 01777, 0 },
    { 'f', "sticky/s", "s", 0644, 0 }, END,
  };
  struct ent e2[] = { { 'f', "ro/later", "z", 0644, 0 }, END };
  struct layer l[] = { { e, true }, { e2, false } };
  struct blob man;
  char *rootfs = NULL, p[PATH_MAX];
  struct za_image_config *cfg = NULL;
  const struct
  {
    const char *rel;
    unsigned mode;
  } want[] = { { "ro/sub", 0500 }, { "zero", 0100 }, { "sticky", 01777 } };

  if (geteuid () != 0)
    skip (); /* mode 000 and 0500 directories are not writable otherwise */
  simple_image (f->layout, CONFIG_MIN, l, 2, &man, NULL);
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    {
      unsigned mode;
      time_t mtime;
      snprintf (p, sizeof p, "%s/%s", rootfs, want[i].rel);
      stat_mode_mtime (p, &mode, &mtime);
      assert_int_equal (mode, want[i].mode);
      assert_int_equal (mtime, 1700000000);
    }
  snprintf (p, sizeof p, "%s/ro", rootfs);
  {
    unsigned mode;
    time_t mtime;
    stat_mode_mtime (p, &mode, &mtime);
    assert_int_equal (mode, 0555);
  }
  assert_content (rootfs, "ro/sub/g", "y");
  assert_content (rootfs, "ro/later", "z");
  free (rootfs);
  za_image_config_free (cfg);
}

/* N nested directories "d/d/…" (below PREFIX when it is not ""), then a
   file at the bottom; the array and its paths are malloc'd.  */
static struct ent *
nested (size_t n, const char *prefix)
{
  struct ent *e = calloc (n + 2, sizeof *e);
  char *buf = malloc (strlen (prefix) + 2 * n + 16);
  assert_non_null (e);
  assert_non_null (buf);
  strcpy (buf, prefix);
  for (size_t i = 0; i < n; i++)
    {
      strcat (buf, *buf ? "/d" : "d");
      e[i] = (struct ent){ 'd', strdup (buf), NULL, 0755, 0 };
    }
  strcat (buf, "/bottom");
  e[n] = (struct ent){ 'f', strdup (buf), "b", 0644, 0 };
  free (buf);
  return e;
}

static void
free_nested (struct ent *e)
{
  for (struct ent *it = e; it->type; it++)
    free ((char *) it->path);
  free (e);
}

static void
test_depth_limit (void **state)
{
  struct fx *f = *state;
  char want[128];
  struct ent *ok_ents = nested (255, ""), *deep = nested (300, "");
  struct layer l1[] = { { ok_ents, true } }, l2[] = { { deep, true } };
  struct blob man, lb[1];
  char *rootfs = NULL;
  struct za_image_config *cfg = NULL;

  /* 256 components is the limit, and fine */
  simple_image (f->layout, CONFIG_MIN, l1, 1, &man, NULL);
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  free (rootfs);
  za_image_config_free (cfg);
  assert_int_equal (za_rmtree_at (AT_FDCWD, f->cache, NULL), 0);

  rm_rf (f->layout);
  simple_image (f->layout, CONFIG_MIN, l2, 1, &man, lb);
  snprintf (want, sizeof want, "blob sha256:%s (layer 1 of 1)", lb[0].hex);
  expect_fail (f, NULL, want, "nested more than 256 directories deep", NULL);
  free_nested (ok_ents);
  free_nested (deep);

  /* the same depth reached through a symlink: s -> 200 levels, then 60
     more below s */
  {
    struct ent *chain = nested (200, "");
    struct ent *below = nested (60, "s");
    struct ent *all = calloc (300, sizeof *all);
    char target[512] = "d";
    size_t k = 0;
    for (int i = 1; i < 200; i++)
      strcat (target, "/d");
    for (struct ent *it = chain; it->type; it++)
      all[k++] = *it;
    all[k++] = (struct ent){ 'l', "s", target, 0, 0 };
    for (struct ent *it = below; it->type; it++)
      all[k++] = *it;
    {
      struct layer l3[] = { { all, true } };
      rm_rf (f->layout);
      simple_image (f->layout, CONFIG_MIN, l3, 1, &man, NULL);
    }
    expect_fail (f, NULL, "entry `s/d", "nested more than 256 directories deep", NULL);
    free (all);
    free_nested (chain);
    free_nested (below);
  }
}

static void
test_size_and_entry_limits (void **state)
{
  struct fx *f = *state;
  static char big[2000];
  struct ent e[] = {
    { 'f', "small", "s", 0644, 0 }, { 'f', "big", big, 0644, sizeof big },
    { 'd', "d1", NULL, 0755, 0 },   { 'd', "d2", NULL, 0755, 0 },
    { 'd', "d3", NULL, 0755, 0 },   END,
  };
  struct layer l[] = { { e, true } };
  struct blob man;
  char *rootfs = NULL;
  struct za_image_config *cfg = NULL;

  memset (big, 'b', sizeof big);
  simple_image (f->layout, CONFIG_MIN, l, 1, &man, NULL);
  setenv ("ZAGENT_IMAGE_MAX_SIZE", "1000", 1);
  expect_fail (f, NULL, "entry `big`", "more than 1000 bytes", "ZAGENT_IMAGE_MAX_SIZE", NULL);
  setenv ("ZAGENT_IMAGE_MAX_SIZE", "2001", 1);
  setenv ("ZAGENT_IMAGE_MAX_ENTRIES", "4", 1);
  expect_fail (f, NULL, "more than 4 entries", "ZAGENT_IMAGE_MAX_ENTRIES", NULL);
  setenv ("ZAGENT_IMAGE_MAX_ENTRIES", "5", 1);
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  free (rootfs);
  za_image_config_free (cfg);
  assert_int_equal (za_rmtree_at (AT_FDCWD, f->cache, NULL), 0);
  setenv ("ZAGENT_IMAGE_MAX_SIZE", "1X", 1);
  expect_fail (f, NULL, "ZAGENT_IMAGE_MAX_SIZE: invalid value `1X`", NULL);
  setenv ("ZAGENT_IMAGE_MAX_SIZE", "0", 1);
  expect_fail (f, NULL, "ZAGENT_IMAGE_MAX_SIZE: invalid value `0`", NULL);
  unsetenv ("ZAGENT_IMAGE_MAX_SIZE");
  unsetenv ("ZAGENT_IMAGE_MAX_ENTRIES");
}

static void
test_parse_byte_size (void **state)
{
  static const struct
  {
    const char *s;
    int rc;
    uint64_t v;
  } cases[] = {
    { "0", 0, 0 },
    { "1", 0, 1 },
    { "64K", 0, 65536 },
    { "10m", 0, 10u << 20 },
    { "64G", 0, UINT64_C (64) << 30 },
    { "1TiB", 0, UINT64_C (1) << 40 },
    { "2GB", 0, UINT64_C (2) << 30 },
    { "3kb", 0, 3072 },
    { "18446744073709551615", 0, UINT64_MAX },
    { "18446744073709551616", -1, 0 },
    { "17179869184G", -1, 0 },
    { "", -1, 0 },
    { "K", -1, 0 },
    { "-1", -1, 0 },
    { "1X", -1, 0 },
    { "1KK", -1, 0 },
    { "1 K", -1, 0 },
    { "1iB", -1, 0 },
  };
  (void) state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      uint64_t v = 12345;
      int rc = za_parse_byte_size (cases[i].s, &v);
      if (rc != cases[i].rc || (rc == 0 && v != cases[i].v))
        fail_msg ("`%s`: rc %d value %ju", cases[i].s, rc, (uintmax_t) v);
    }
}

/* za_rmtree_at holds a few descriptors whatever the depth, never
   follows a symlink, and empties directories without permissions.  */
static void
test_rmtree_deep (void **state)
{
  struct fx *f = *state;
  char top[PATH_MAX], keep[PATH_MAX];
  struct rlimit old, low;
  struct za_err *err = NULL;
  int fd;

  snprintf (top, sizeof top, "%s/deep", f->dir);
  snprintf (keep, sizeof keep, "%s/keep", f->outside);
  write_file (keep, "k");
  assert_int_equal (mkdir (top, 0755), 0);
  fd = open (top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  for (int i = 0; i < 3000; i++)
    {
      int nfd;
      assert_int_equal (mkdirat (fd, "d", 0755), 0);
      if (i % 500 == 0)
        {
          assert_int_equal (symlinkat (f->outside, fd, "out"), 0);
          assert_int_equal (mkfifoat (fd, "fifo", 0600), 0);
          assert_int_equal (mkdirat (fd, "locked", 0), 0);
          assert_int_equal (mkdirat (fd, "e", 0755), 0);
        }
      nfd = openat (fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      assert_true (nfd >= 0);
      close (fd);
      fd = nfd;
    }
  close (fd);
  assert_int_equal (getrlimit (RLIMIT_NOFILE, &old), 0);
  low = old;
  low.rlim_cur = 16;
  assert_int_equal (setrlimit (RLIMIT_NOFILE, &low), 0);
  {
    int r = za_rmtree_at (AT_FDCWD, top, &err);
    assert_int_equal (setrlimit (RLIMIT_NOFILE, &old), 0);
    if (r < 0)
      fail_msg ("za_rmtree_at: %s", err ? err->msg : "?");
  }
  assert_false (exists (top));
  assert_true (exists (keep));
  /* a missing name is not an error, a file is removed */
  assert_int_equal (za_rmtree_at (AT_FDCWD, top, NULL), 0);
  assert_int_equal (za_rmtree_at (AT_FDCWD, keep, NULL), 0);
  assert_false (exists (keep));
}

static void
test_fifo_blobs (void **state)
{
  struct fx *f = *state;
  static const struct layer l[] = { { V1, false } };
  struct blob man, lb[1];
  char p[PATH_MAX], want[160];

  simple_image (f->layout, CONFIG_MIN, l, 1, &man, lb);
  blob_path (f->layout, &lb[0], p, sizeof p);
  assert_int_equal (unlink (p), 0);
  assert_int_equal (mkfifo (p, 0644), 0);
  snprintf (want, sizeof want, "blob sha256:%s (layer 1 of 1) is not a regular file", lb[0].hex);
  expect_fail (f, NULL, want, NULL);

  blob_path (f->layout, &man, p, sizeof p);
  assert_int_equal (unlink (p), 0);
  assert_int_equal (mkfifo (p, 0644), 0);
  snprintf (want, sizeof want, "blob sha256:%s (manifest) is not a regular file", man.hex);
  expect_fail (f, NULL, want, NULL);
}

/* Opaque markers repeated, and after the layer's own entries in a
   subdirectory of the opaque one: lower content goes, the layer's stays.  */
static void
test_opaque_repeated (void **state)
{
  struct fx *f = *state;
  struct ent lower[] = {
    { 'f', "o/lower1", "1", 0644, 0 }, { 'f', "o/sub/lower2", "2", 0644, 0 },
    { 'f', "o/sub/deep/lower3", "3", 0644, 0 }, { 'f', "p/lower4", "4", 0644, 0 }, END,
  };
  struct ent upper[] = {
    { 'f', "o/sub/new", "n", 0644, 0 },  { 'f', "o/.wh..wh..opq", "", 0644, 0 },
    { 'f', "o/.wh..wh..opq", "", 0644, 0 }, { 'f', "o/sub/.wh..wh..opq", "", 0644, 0 },
    { 'f', "o/new2", "m", 0644, 0 },     { 'f', "o/.wh..wh..opq", "", 0644, 0 },
    { 'f', "p/.wh..wh..opq", "", 0644, 0 }, { 'f', "p/mine", "p", 0644, 0 },
    END,
  };
  struct layer l[] = { { lower, true }, { upper, false } };
  struct blob man;
  char *rootfs = NULL;
  struct za_image_config *cfg = NULL;

  simple_image (f->layout, CONFIG_MIN, l, 2, &man, NULL);
  expect_ok (f, NULL, &rootfs, &cfg, NULL);
  assert_false (exists_in (rootfs, "o/lower1"));
  assert_false (exists_in (rootfs, "o/sub/lower2"));
  assert_false (exists_in (rootfs, "o/sub/deep"));
  assert_false (exists_in (rootfs, "p/lower4"));
  assert_content (rootfs, "o/sub/new", "n");
  assert_content (rootfs, "o/new2", "m");
  assert_content (rootfs, "p/mine", "p");
  free (rootfs);
  za_image_config_free (cfg);
}

/* A write that fails part-way (here RLIMIT_FSIZE: a short write, then
   EFBIG) fails the unpack; nothing is published.  */
static void
test_short_write (void **state)
{
  struct fx *f = *state;
  static char data[256 * 1024];
  struct ent e[] = { { 'f', "big", data, 0644, sizeof data }, END };
  struct layer l[] = { { e, true } };
  struct blob man;
  struct rlimit old, low;
  struct za_err *err = NULL;
  struct za_image_config *cfg = NULL;
  char *rootfs = NULL, *m;
  int rc;

  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (char) (i * 7);
  simple_image (f->layout, CONFIG_MIN, l, 1, &man, NULL);
  signal (SIGXFSZ, SIG_IGN);
  assert_int_equal (getrlimit (RLIMIT_FSIZE, &old), 0);
  low = old;
  low.rlim_cur = 100000;
  assert_int_equal (setrlimit (RLIMIT_FSIZE, &low), 0);
  rc = prep (f, NULL, &rootfs, &cfg, NULL, &err);
  assert_int_equal (setrlimit (RLIMIT_FSIZE, &old), 0);
  signal (SIGXFSZ, SIG_DFL);
  assert_int_equal (rc, -1);
  m = za_err_format (err);
  if (!strstr (m, "entry `big`: write"))
    fail_msg ("unexpected error: %s", m);
  free (m);
  za_err_free (&err);
  assert_int_equal (count_entries (f->cache), 0);
}

/* xattrs are restored (as root), except overlayfs's own.  */
static void
test_xattrs (void **state)
{
  struct fx *f = *state;
  struct ent e[] = { { 'X', "x", "user.za=v1;trusted.overlay.opaque=y", 0644, 0 }, END };
  struct layer l[] = { { e, false } };
  struct blob man;
  struct za_err *warn = NULL;
  char *rootfs = NULL, p[PATH_MAX], v[16] = "";
  struct za_image_config *cfg = NULL;

  if (geteuid () != 0)
    skip ();
  simple_image (f->layout, CONFIG_MIN, l, 1, &man, NULL);
  expect_ok (f, NULL, &rootfs, &cfg, &warn);
  snprintf (p, sizeof p, "%s/x", rootfs);
  if (getxattr (p, "user.za", v, sizeof v - 1) < 0 && errno != ENOTSUP)
    fail_msg ("user.za: %s", strerror (errno));
  if (v[0])
    assert_string_equal (v, "v1");
  assert_true (getxattr (p, "trusted.overlay.opaque", v, sizeof v) < 0);
  assert_true (chain_has (warn, "xattr `trusted.overlay.opaque` ignored"));
  za_err_free (&warn);
  free (rootfs);
  za_image_config_free (cfg);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_three_layers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_tag_selection, setup, teardown),
    cmocka_unit_test_setup_teardown (test_several_without_tag, setup, teardown),
    cmocka_unit_test_setup_teardown (test_image_index, setup, teardown),
    cmocka_unit_test_setup_teardown (test_cache_reuse, setup, teardown),
    cmocka_unit_test_setup_teardown (test_corrupt_blob, setup, teardown),
    cmocka_unit_test_setup_teardown (test_truncated_layer, setup, teardown),
    cmocka_unit_test_setup_teardown (test_missing_blob, setup, teardown),
    cmocka_unit_test_setup_teardown (test_dotdot_entry, setup, teardown),
    cmocka_unit_test_setup_teardown (test_absolute_entry, setup, teardown),
    cmocka_unit_test_setup_teardown (test_symlink_escape, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hardlink_outside, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_digest, setup, teardown),
    cmocka_unit_test_setup_teardown (test_replace_and_order, setup, teardown),
    cmocka_unit_test_setup_teardown (test_not_a_tar, setup, teardown),
    cmocka_unit_test_setup_teardown (test_config_fields, setup, teardown),
    cmocka_unit_test_setup_teardown (test_layout_errors, setup, teardown),
    cmocka_unit_test_setup_teardown (test_concurrent, setup, teardown),
    cmocka_unit_test_setup_teardown (test_stale_tmp, setup, teardown),
    cmocka_unit_test_setup_teardown (test_busybox, setup, teardown),
    cmocka_unit_test_setup_teardown (test_swap_dir_for_symlink, setup, teardown),
    cmocka_unit_test_setup_teardown (test_swap_inside, setup, teardown),
    cmocka_unit_test_setup_teardown (test_dir_modes_deferred, setup, teardown),
    cmocka_unit_test_setup_teardown (test_depth_limit, setup, teardown),
    cmocka_unit_test_setup_teardown (test_size_and_entry_limits, setup, teardown),
    cmocka_unit_test (test_parse_byte_size),
    cmocka_unit_test_setup_teardown (test_rmtree_deep, setup, teardown),
    cmocka_unit_test_setup_teardown (test_fifo_blobs, setup, teardown),
    cmocka_unit_test_setup_teardown (test_opaque_repeated, setup, teardown),
    cmocka_unit_test_setup_teardown (test_short_write, setup, teardown),
    cmocka_unit_test_setup_teardown (test_xattrs, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
