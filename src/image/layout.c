#define _GNU_SOURCE
#include "image/layout.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "image/dl.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"

/* The image spec asks registries to accept manifests up to 4 MiB; image
   configs (with long histories) are bounded like oci/image_config.c.  */
#define MAX_MANIFEST (4u << 20)
#define MAX_CONFIG (8u << 20)
#define MAX_INDEX_DEPTH 4
#define MAX_SYMLINK_FOLLOWS 40 /* the kernel's MAXSYMLINKS */
#define READ_CHUNK (128u * 1024)

/* Layer media types: everything libarchive can read as a (compressed)
   tar.  Encrypted layers and foreign artifacts are refused by name.  */
static const char *const layer_types[] = {
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  NULL,
};

/* json_decrefp comes with jansson */
#define cleanup_json __attribute__ ((cleanup (json_decrefp)))

static void
md_freep (EVP_MD_CTX **m)
{
  EVP_MD_CTX_free (*m);
}
#define cleanup_md __attribute__ ((cleanup (md_freep)))

static void
archive_read_freep (struct archive **a)
{
  if (*a)
    archive_read_free (*a);
}
#define cleanup_archive_read __attribute__ ((cleanup (archive_read_freep)))

static void
archive_write_freep (struct archive **a)
{
  if (*a)
    archive_write_free (*a);
}
#define cleanup_archive_write __attribute__ ((cleanup (archive_write_freep)))

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

static const char *
aerr (struct archive *a)
{
  const char *s = archive_error_string (a);
  return s ? s : "unknown libarchive error";
}

/* ---- host platform ------------------------------------------------ */

const char *
za_image_host_arch (const char **variant)
{
  static const struct
  {
    const char *machine, *arch, *variant;
  } map[] = {
    { "x86_64", "amd64", NULL },    { "amd64", "amd64", NULL },   { "aarch64", "arm64", NULL },
    { "arm64", "arm64", NULL },     { "armv7l", "arm", "v7" },    { "armv6l", "arm", "v6" },
    { "i686", "386", NULL },        { "i586", "386", NULL },      { "i386", "386", NULL },
    { "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },   { "riscv64", "riscv64", NULL },
    { "loongarch64", "loong64", NULL },
  };
  struct utsname u;
  if (variant)
    *variant = NULL;
  if (uname (&u) < 0)
    return NULL;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp (u.machine, map[i].machine) == 0)
      {
        if (variant)
          *variant = map[i].variant;
        return map[i].arch;
      }
  return NULL;
}

/* ---- descriptors and blobs ---------------------------------------- */

struct desc
{
  char *media_type; /* NULL when the descriptor has none */
  char hex[65];     /* sha256, lowercase */
  uint64_t size;
};

static void
desc_clear (struct desc *d)
{
  free (d->media_type);
  d->media_type = NULL;
}

static bool
is_lower_hex64 (const char *s)
{
  size_t i;
  for (i = 0; s[i]; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return i == 64;
}

/* WHAT names the descriptor in messages ("index.json: manifests[1]").  */
static int
parse_desc (json_t *o, const char *what, struct desc *d, struct za_err **err)
{
  json_t *dg, *sz, *mt;
  const char *s;

  memset (d, 0, sizeof *d);
  if (!json_is_object (o))
    return za_err_set (err, ZA_EINPUT, "%s: expected a descriptor object", what);
  dg = json_object_get (o, "digest");
  if (!json_is_string (dg))
    return za_err_set (err, ZA_EINPUT, "%s: missing \"digest\"", what);
  s = json_string_value (dg);
  if (strncmp (s, "sha256:", 7) != 0)
    {
      const char *colon = strchr (s, ':');
      if (colon && colon != s && !strchr (colon + 1, '/'))
        return za_err_set (err, ZA_EINPUT,
                           "%s: digest `%s`: unsupported algorithm `%.*s` (only sha256 is supported)",
                           what, s, (int) (colon - s), s);
      return za_err_set (err, ZA_EINPUT, "%s: invalid digest `%s`", what, s);
    }
  /* The hex becomes a file name under blobs/sha256: nothing but 64
     lowercase hex digits may get there ("../../x" must not).  */
  if (!is_lower_hex64 (s + 7))
    return za_err_set (err, ZA_EINPUT,
                       "%s: invalid digest `%s`: expected sha256: and 64 lowercase hex digits",
                       what, s);
  memcpy (d->hex, s + 7, 65);
  sz = json_object_get (o, "size");
  if (!json_is_integer (sz) || json_integer_value (sz) < 0)
    return za_err_set (err, ZA_EINPUT, "%s: \"size\" must be a non-negative integer", what);
  d->size = (uint64_t) json_integer_value (sz);
  mt = json_object_get (o, "mediaType");
  if (mt && !json_is_string (mt))
    return za_err_set (err, ZA_EINPUT, "%s: \"mediaType\" must be a string", what);
  if (mt && !(d->media_type = strdup (json_string_value (mt))))
    return oom (err);
  return 0;
}

struct layout
{
  int dirfd;
};

static char *
blob_name (const struct desc *d, const char *role)
{
  char *s = NULL;
  if (asprintf (&s, "blob sha256:%s (%s)", d->hex, role) < 0)
    return NULL;
  return s;
}

/* Open blobs/sha256/<hex> and check that it is a regular file of the
   descriptor's size: a truncated or padded blob is reported as such
   before any of it is read.  */
static int
open_blob (const struct layout *l, const struct desc *d, const char *name, int *fd_out,
           struct za_err **err)
{
  char path[96];
  cleanup_close int fd = -1;
  struct stat st;

  snprintf (path, sizeof path, "blobs/sha256/%s", d->hex);
  fd = openat (l->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return za_err_set (err, ZA_EINPUT, "%s is missing", name);
      return za_err_set (err, errno, "%s: open %s: %s", name, path, strerror (errno));
    }
  if (fstat (fd, &st) < 0)
    return za_err_set (err, errno, "%s: stat: %s", name, strerror (errno));
  if (!S_ISREG (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "%s is not a regular file", name);
  if ((uint64_t) st.st_size != d->size)
    return za_err_set (err, ZA_EINPUT, "%s: size %jd does not match descriptor size %ju", name,
                       (intmax_t) st.st_size, (uintmax_t) d->size);
  *fd_out = fd;
  fd = -1;
  return 0;
}

static int
digest_init (EVP_MD_CTX **md, struct za_err **err)
{
  *md = EVP_MD_CTX_new ();
  if (!*md || EVP_DigestInit_ex (*md, EVP_sha256 (), NULL) != 1)
    return za_err_set (err, ENOMEM, "cannot initialise SHA-256");
  return 0;
}

static int
digest_check (EVP_MD_CTX *md, const struct desc *d, const char *name, struct za_err **err)
{
  unsigned char sum[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  if (EVP_DigestFinal_ex (md, sum, &len) != 1 || len != 32)
    return za_err_set (err, ENOMEM, "%s: SHA-256 failed", name);
  for (unsigned i = 0; i < len; i++)
    snprintf (hex + 2 * i, 3, "%02x", sum[i]);
  if (strcmp (hex, d->hex) != 0)
    return za_err_set (err, ZA_EINPUT, "%s: digest mismatch (content is sha256:%s)", name, hex);
  return 0;
}

static ssize_t
read_retry (int fd, void *buf, size_t len)
{
  ssize_t n;
  do
    n = read (fd, buf, len);
  while (n < 0 && errno == EINTR);
  return n;
}

/* A small blob (index, manifest, config), verified before anyone looks
   at its content.  */
static int
read_blob (const struct layout *l, const struct desc *d, const char *role, size_t max,
           char **data_out, size_t *len_out, struct za_err **err)
{
  cleanup_free char *name = blob_name (d, role);
  cleanup_free char *buf = NULL;
  cleanup_close int fd = -1;
  cleanup_md EVP_MD_CTX *md = NULL;
  size_t got = 0;

  if (!name)
    return oom (err);
  if (d->size > max)
    return za_err_set (err, ZA_EINPUT, "%s: size %ju is larger than the limit of %zu bytes",
                       name, (uintmax_t) d->size, max);
  if (open_blob (l, d, name, &fd, err) < 0 || digest_init (&md, err) < 0)
    return -1;
  buf = malloc (d->size + 1);
  if (!buf)
    return oom (err);
  while (got < d->size)
    {
      ssize_t n = read_retry (fd, buf + got, d->size - got);
      if (n < 0)
        return za_err_set (err, errno, "%s: read: %s", name, strerror (errno));
      if (n == 0)
        return za_err_set (err, ZA_EINPUT, "%s: size %zu does not match descriptor size %ju",
                           name, got, (uintmax_t) d->size);
      got += (size_t) n;
    }
  buf[got] = '\0';
  if (EVP_DigestUpdate (md, buf, got) != 1)
    return za_err_set (err, ENOMEM, "%s: SHA-256 failed", name);
  if (digest_check (md, d, name, err) < 0)
    return -1;
  *data_out = steal_pointer (&buf);
  if (len_out)
    *len_out = got;
  return 0;
}

static int
load_json (const char *name, const char *data, size_t len, json_t **out, struct za_err **err)
{
  json_error_t jerr;
  json_t *j = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!j)
    return za_err_set (err, ZA_EINPUT, "%s: invalid JSON (line %d): %s", name, jerr.line,
                       jerr.text);
  if (!json_is_object (j))
    {
      json_decref (j);
      return za_err_set (err, ZA_EINPUT, "%s: expected a JSON object", name);
    }
  *out = j;
  return 0;
}

static int
load_json_blob (const struct layout *l, const struct desc *d, const char *role, json_t **out,
                struct za_err **err)
{
  cleanup_free char *data = NULL, *name = blob_name (d, role);
  size_t len = 0;
  if (!name)
    return oom (err);
  if (read_blob (l, d, role, MAX_MANIFEST, &data, &len, err) < 0)
    return -1;
  return load_json (name, data, len, out, err);
}

/* ---- choosing the manifest ---------------------------------------- */

static const char *
ref_name (json_t *desc)
{
  json_t *ann = json_object_get (desc, "annotations");
  return json_string_value (json_object_get (ann, ANN_REF_NAME));
}

static bool
is_index_type (const char *mt)
{
  return mt && (strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0);
}

/* "tags: a, b, 1 untagged", for the error that asks the user to choose.  */
static char *
list_tags (json_t *manifests)
{
  char *s = NULL;
  size_t len = 0, untagged = 0, tags = 0, i;
  json_t *m;
  FILE *f = open_memstream (&s, &len);
  if (!f)
    return NULL;
  fputs ("tags: ", f);
  json_array_foreach (manifests, i, m)
    {
      const char *t = ref_name (m);
      if (!t)
        untagged++;
      else
        fprintf (f, "%s%s", tags++ ? ", " : "", t);
    }
  if (untagged)
    fprintf (f, "%s%zu untagged", tags ? ", " : "", untagged);
  else if (!tags)
    fputs ("none", f);
  if (fclose (f) != 0)
    {
      free (s);
      return NULL;
    }
  return s;
}

static bool
platform_matches (json_t *desc, const char *arch, const char *variant)
{
  json_t *p = json_object_get (desc, "platform");
  const char *os = json_string_value (json_object_get (p, "os"));
  const char *a = json_string_value (json_object_get (p, "architecture"));
  const char *v = json_string_value (json_object_get (p, "variant"));
  if (!os || !a || strcmp (os, "linux") != 0 || strcmp (a, arch) != 0)
    return false;
  /* arm64 images are "v8" or unmarked; 32-bit arm must match exactly.  */
  if (strcmp (arch, "arm64") == 0)
    return !v || strcmp (v, "v8") == 0;
  return !variant || !v || strcmp (v, variant) == 0;
}

/* Pick the linux/<host> entry among CAND (indexes into MANIFESTS).  */
static int
pick_platform (json_t *manifests, const size_t *cand, size_t n, const char *what,
               size_t *chosen, struct za_err **err)
{
  const char *variant = NULL, *arch = za_image_host_arch (&variant);
  char *avail = NULL;
  size_t alen = 0;
  FILE *f;

  if (!arch)
    return za_err_set (err, ZA_EINPUT, "%s: cannot tell which platform this machine is", what);
  for (size_t i = 0; i < n; i++)
    if (platform_matches (json_array_get (manifests, cand[i]), arch, variant))
      {
        *chosen = cand[i];
        return 0;
      }
  f = open_memstream (&avail, &alen);
  if (!f)
    return oom (err);
  for (size_t i = 0; i < n; i++)
    {
      json_t *p = json_object_get (json_array_get (manifests, cand[i]), "platform");
      const char *os = json_string_value (json_object_get (p, "os"));
      const char *a = json_string_value (json_object_get (p, "architecture"));
      const char *v = json_string_value (json_object_get (p, "variant"));
      fprintf (f, "%s%s/%s%s%s", i ? ", " : "", os ? os : "?", a ? a : "?", v ? "/" : "",
               v ? v : "");
    }
  if (fclose (f) != 0)
    {
      free (avail);
      return oom (err);
    }
  za_err_set (err, ZA_EINPUT, "%s: no manifest for linux/%s%s%s (available: %s)", what, arch,
              variant ? "/" : "", variant ? variant : "", n ? avail : "none");
  free (avail);
  return -1;
}

/* The index.json entry named by TAG, or the only one.  */
static int
choose_top (json_t *index, const char *tag, struct desc *out, struct za_err **err)
{
  json_t *manifests = json_object_get (index, "manifests"), *m;
  cleanup_free size_t *cand = NULL;
  cleanup_free char *tags = NULL;
  size_t n = 0, i, chosen = 0;
  bool all_platform = true;
  char what[64];

  if (!json_is_array (manifests))
    return za_err_set (err, ZA_EINPUT, "index.json: \"manifests\" must be a list");
  cand = calloc (json_array_size (manifests) + 1, sizeof *cand);
  if (!cand)
    return oom (err);
  json_array_foreach (manifests, i, m)
    {
      const char *t;
      if (!json_is_object (m))
        return za_err_set (err, ZA_EINPUT, "index.json: manifests[%zu]: expected an object", i);
      t = ref_name (m);
      if (!tag || (t && strcmp (t, tag) == 0))
        {
          cand[n++] = i;
          all_platform = all_platform && json_is_object (json_object_get (m, "platform"));
        }
    }
  if (n != 1 && !(n > 1 && all_platform))
    {
      tags = list_tags (manifests);
      if (!tags)
        return oom (err);
      if (n == 0 && tag)
        return za_err_set (err, ZA_EINPUT, "index.json: no manifest is tagged `%s` (%s)", tag,
                           tags);
      if (n == 0)
        return za_err_set (err, ZA_EINPUT, "index.json lists no manifests");
      if (tag)
        return za_err_set (err, ZA_EINPUT, "index.json: %zu manifests are tagged `%s`", n, tag);
      return za_err_set (err, ZA_EINPUT,
                         "index.json lists %zu manifests; name one as DIR:TAG (%s)", n, tags);
    }
  /* Several entries that all carry a platform are one multi-platform
     image spelled out in index.json rather than in an image index.  */
  if (n > 1 && pick_platform (manifests, cand, n, "index.json", &chosen, err) < 0)
    return -1;
  if (n == 1)
    chosen = cand[0];
  snprintf (what, sizeof what, "index.json: manifests[%zu]", chosen);
  return parse_desc (json_array_get (manifests, chosen), what, out, err);
}

/* Follow image indexes from D down to the image manifest; D is replaced
   by the manifest's descriptor and *MANIFEST_OUT is its verified JSON.  */
static int
resolve_manifest (const struct layout *l, struct desc *d, json_t **manifest_out,
                  struct za_err **err)
{
  for (unsigned depth = 0;; depth++)
    {
      cleanup_json json_t *j = NULL;
      cleanup_free char *name = NULL;
      cleanup_free size_t *cand = NULL;
      const char *role = is_index_type (d->media_type) ? "image index" : "manifest";
      const char *mt;
      json_t *manifests;
      size_t chosen, n;
      struct desc child;
      char what[64];

      name = blob_name (d, role);
      if (!name)
        return oom (err);
      if (load_json_blob (l, d, role, &j, err) < 0)
        return -1;
      mt = d->media_type ? d->media_type : json_string_value (json_object_get (j, "mediaType"));
      manifests = json_object_get (j, "manifests");
      if (!mt)
        mt = manifests ? MT_OCI_INDEX : MT_OCI_MANIFEST;
      if (strcmp (mt, MT_OCI_MANIFEST) == 0 || strcmp (mt, MT_DOCKER_MANIFEST) == 0)
        {
          *manifest_out = steal_pointer (&j);
          return 0;
        }
      if (!is_index_type (mt))
        return za_err_set (err, ZA_EINPUT, "%s: unsupported media type `%s`", name, mt);
      if (depth >= MAX_INDEX_DEPTH)
        return za_err_set (err, ZA_EINPUT, "%s: image indexes nested too deeply", name);
      if (!json_is_array (manifests))
        return za_err_set (err, ZA_EINPUT, "%s: \"manifests\" must be a list", name);
      n = json_array_size (manifests);
      cand = calloc (n + 1, sizeof *cand);
      if (!cand)
        return oom (err);
      for (size_t i = 0; i < n; i++)
        cand[i] = i;
      if (pick_platform (manifests, cand, n, name, &chosen, err) < 0)
        return -1;
      snprintf (what, sizeof what, "manifests[%zu]", chosen);
      if (parse_desc (json_array_get (manifests, chosen), what, &child, err) < 0)
        {
          desc_clear (&child);
          return za_err_wrap (err, "%s", name);
        }
      desc_clear (d);
      *d = child;
    }
}

struct manifest
{
  char hex[65];
  struct desc config;
  struct desc *layers;
  size_t n_layers;
};

static void
manifest_clear (struct manifest *m)
{
  desc_clear (&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    desc_clear (&m->layers[i]);
  free (m->layers);
  m->layers = NULL;
  m->n_layers = 0;
}

static int
parse_manifest (json_t *j, const struct desc *d, struct manifest *m, struct za_err **err)
{
  cleanup_free char *name = blob_name (d, "manifest");
  json_t *layers, *sv = json_object_get (j, "schemaVersion"), *it;
  const char *cmt;
  size_t i;

  if (!name)
    return oom (err);
  memcpy (m->hex, d->hex, sizeof m->hex);
  if (!json_is_integer (sv) || json_integer_value (sv) != 2)
    return za_err_set (err, ZA_EINPUT, "%s: schemaVersion must be 2", name);
  if (parse_desc (json_object_get (j, "config"), "config", &m->config, err) < 0)
    return za_err_wrap (err, "%s", name);
  cmt = m->config.media_type;
  if (!cmt || (strcmp (cmt, MT_OCI_CONFIG) != 0 && strcmp (cmt, MT_DOCKER_CONFIG) != 0))
    return za_err_set (err, ZA_EINPUT, "%s: not a container image (config media type `%s`)",
                       name, cmt ? cmt : "none");
  layers = json_object_get (j, "layers");
  if (!json_is_array (layers))
    return za_err_set (err, ZA_EINPUT, "%s: \"layers\" must be a list", name);
  m->layers = calloc (json_array_size (layers) + 1, sizeof *m->layers);
  if (!m->layers)
    return oom (err);
  json_array_foreach (layers, i, it)
    {
      char what[48];
      bool known = false;
      snprintf (what, sizeof what, "layers[%zu]", i);
      m->n_layers = i + 1;
      if (parse_desc (it, what, &m->layers[i], err) < 0)
        return za_err_wrap (err, "%s", name);
      for (size_t k = 0; m->layers[i].media_type && layer_types[k]; k++)
        known = known || strcmp (m->layers[i].media_type, layer_types[k]) == 0;
      if (!known)
        return za_err_set (err, ZA_EINPUT, "%s: layers[%zu]: unsupported media type `%s`", name,
                           i, m->layers[i].media_type ? m->layers[i].media_type : "none");
    }
  return 0;
}

/* ---- unpacking ---------------------------------------------------- */

/* Paths (relative to the rootfs) that the current layer created, with
   their ancestors: whiteouts remove what lower layers put there and
   nothing of the layer's own, whatever the order of its tar entries.  */
enum
{
  PS_WRITTEN = 1,
  PS_ANCESTOR = 2,
};

struct pathset
{
  char **keys;
  unsigned char *flags;
  size_t n, cap;
};

static void
pathset_clear (struct pathset *s)
{
  for (size_t i = 0; i < s->cap; i++)
    free (s->keys[i]);
  free (s->keys);
  free (s->flags);
  memset (s, 0, sizeof *s);
}

static size_t
path_hash (const char *s, size_t len)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char) s[i]) * 1099511628211ull;
  return (size_t) h;
}

static size_t
pathset_slot (const struct pathset *s, const char *key, size_t len)
{
  size_t i = path_hash (key, len) & (s->cap - 1);
  while (s->keys[i] && !(strncmp (s->keys[i], key, len) == 0 && s->keys[i][len] == '\0'))
    i = (i + 1) & (s->cap - 1);
  return i;
}

static int
pathset_mark (struct pathset *s, const char *key, size_t len, unsigned char flag)
{
  size_t i;
  if (2 * (s->n + 1) > s->cap)
    {
      struct pathset g = { 0 };
      g.cap = s->cap ? 2 * s->cap : 256;
      g.keys = calloc (g.cap, sizeof *g.keys);
      g.flags = calloc (g.cap, 1);
      if (!g.keys || !g.flags)
        {
          free (g.keys);
          free (g.flags);
          return -1;
        }
      for (size_t k = 0; k < s->cap; k++)
        if (s->keys[k])
          {
            size_t j = pathset_slot (&g, s->keys[k], strlen (s->keys[k]));
            g.keys[j] = s->keys[k];
            g.flags[j] = s->flags[k];
          }
      g.n = s->n;
      free (s->keys);
      free (s->flags);
      *s = g;
    }
  i = pathset_slot (s, key, len);
  if (!s->keys[i])
    {
      if (!(s->keys[i] = strndup (key, len)))
        return -1;
      s->n++;
    }
  s->flags[i] |= flag;
  return 0;
}

static unsigned
pathset_get (const struct pathset *s, const char *key)
{
  size_t i;
  if (!s->cap)
    return 0;
  i = pathset_slot (s, key, strlen (key));
  return s->keys[i] ? s->flags[i] : 0;
}

struct unpack
{
  int rootfd;             /* the rootfs being built */
  const char *root;       /* its absolute, symlink-free path, for libarchive */
  const char *blob;       /* "blob sha256:… (layer 2 of 3)" for messages */
  struct pathset written; /* what the current layer created */
  size_t skipped;         /* device and FIFO entries of the current layer */
  char *first_skipped;
  size_t warnings; /* libarchive warnings of the current layer */
  char *first_warning;
};

/* Drop "." and empty components; fail on an absolute path or "..".  */
static int
normalise (const char *raw, char **out, const char **why)
{
  cleanup_free char *s = malloc (strlen (raw) + 1);
  char *d = s;
  *why = NULL;
  if (!s)
    return -1;
  if (raw[0] == '/')
    {
      *why = "absolute path";
      return -1;
    }
  for (const char *p = raw; *p;)
    {
      const char *e = strchrnul (p, '/');
      size_t len = (size_t) (e - p);
      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          *why = "path contains `..`";
          return -1;
        }
      if (len && !(len == 1 && p[0] == '.'))
        {
          if (d != s)
            *d++ = '/';
          memcpy (d, p, len);
          d += len;
        }
      p = *e ? e + 1 : e;
    }
  *d = '\0';
  *out = steal_pointer (&s);
  return 0;
}

/* REL → its parent (malloc'd, "" at the top) and its last component.  */
static char *
split_path (const char *rel, const char **base)
{
  const char *slash = strrchr (rel, '/');
  *base = slash ? slash + 1 : rel;
  return strndup (rel, slash ? (size_t) (slash - rel) : 0);
}

static char *
join (const char *a, const char *b)
{
  char *s = NULL;
  if (asprintf (&s, "%s%s%s", a, *a && *b ? "/" : "", b) < 0)
    return NULL;
  return s;
}

static int
readlink_alloc (int dfd, const char *path, size_t hint, char **out)
{
  for (size_t cap = hint + 2;; cap *= 2)
    {
      cleanup_free char *buf = malloc (cap);
      ssize_t n;
      if (!buf)
        {
          errno = ENOMEM;
          return -1;
        }
      n = readlinkat (dfd, path, buf, cap);
      if (n < 0)
        return -1;
      if ((size_t) n < cap)
        {
          buf[n] = '\0';
          *out = steal_pointer (&buf);
          return 0;
        }
    }
}

/* Resolve DIR (normalised, relative to the rootfs) the way the kernel
   would if the rootfs were the host's root: symlinks are followed, and
   the walk must stay inside the rootfs, so an absolute target (which on
   the host names a host path) or one that climbs above the rootfs is
   refused.  The result names no symlink, so libarchive writing to
   ROOT/result cannot be redirected.  Components that do not exist yet
   are kept as they are: libarchive creates them.  ENTRY is for
   messages.  */
static int
resolve (struct unpack *u, const char *entry, const char *dir, char **out, struct za_err **err)
{
  cleanup_free char *res = strdup (""), *rest = strdup (dir);
  cleanup_free char *link = NULL, *target = NULL;
  unsigned follows = 0;
  bool missing = false;
  const char *p = rest;

  if (!res || !rest)
    return oom (err);
  while (*p)
    {
      const char *slash = strchrnul (p, '/');
      size_t len = (size_t) (slash - p);
      const char *next = *slash ? slash + 1 : slash;
      cleanup_free char *cand = NULL;
      struct stat st;

      if (len == 0 || (len == 1 && p[0] == '.'))
        {
          p = next;
          continue;
        }
      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          /* only symlink targets bring ".." here: entries were refused */
          char *cut = strrchr (res, '/');
          if (!*res)
            return za_err_set (err, ZA_EINPUT,
                               "%s: entry `%s`: goes through symlink `%s` -> `%s`, which points "
                               "outside the rootfs",
                               u->blob, entry, link ? link : "?", target ? target : "?");
          *(cut ? cut : res) = '\0';
          missing = false; /* back where things exist: check them again */
          p = next;
          continue;
        }
      if (asprintf (&cand, "%s%s%.*s", res, *res ? "/" : "", (int) len, p) < 0)
        return oom (err);
      if (!missing && fstatat (u->rootfd, cand, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno != ENOENT && errno != ENOTDIR)
            return za_err_set (err, errno, "%s: stat `%s`: %s", u->blob, cand, strerror (errno));
          missing = true;
        }
      else if (!missing && S_ISLNK (st.st_mode))
        {
          char *nrest = NULL;
          free (target);
          target = NULL;
          if (++follows > MAX_SYMLINK_FOLLOWS)
            return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: too many levels of symlinks",
                               u->blob, entry);
          if (readlink_alloc (u->rootfd, cand, (size_t) st.st_size, &target) < 0)
            return za_err_set (err, errno, "%s: readlink `%s`: %s", u->blob, cand,
                               strerror (errno));
          free (link);
          link = steal_pointer (&cand);
          if (target[0] == '/')
            return za_err_set (err, ZA_EINPUT,
                               "%s: entry `%s`: goes through symlink `%s` -> `%s`, which points "
                               "outside the rootfs",
                               u->blob, entry, link, target);
          if (asprintf (&nrest, "%s/%s", target, next) < 0)
            return oom (err);
          free (rest);
          rest = nrest;
          p = rest;
          continue;
        }
      else if (!missing && !S_ISDIR (st.st_mode))
        missing = true; /* a file where a directory goes: libarchive replaces it */
      free (res);
      res = steal_pointer (&cand);
      p = next;
    }
  *out = steal_pointer (&res);
  return 0;
}

static int
record_written (struct unpack *u, const char *rel)
{
  if (!*rel)
    return 0;
  for (const char *s = strchr (rel, '/'); s; s = strchr (s + 1, '/'))
    if (pathset_mark (&u->written, rel, (size_t) (s - rel), PS_ANCESTOR) < 0)
      return -1;
  return pathset_mark (&u->written, rel, strlen (rel), PS_WRITTEN);
}

static int prune (struct unpack *u, const char *rel, struct za_err **err);

/* Remove what lower layers put under REL, keeping this layer's work.  */
static int
prune_children (struct unpack *u, const char *rel, struct za_err **err)
{
  cleanup_strv struct za_strv names = { 0 };
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd = openat (u->rootfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    {
      /* a file or symlink written by this layer: nothing below it */
      if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT)
        return 0;
      return za_err_set (err, errno, "%s: open `%s`: %s", u->blob, rel, strerror (errno));
    }
  d = fdopendir (fd);
  if (!d)
    {
      close (fd);
      return za_err_set (err, errno, "%s: opendir `%s`: %s", u->blob, rel, strerror (errno));
    }
  /* names first: removing while reading a directory may skip entries */
  errno = 0;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (za_strv_push (&names, de->d_name) < 0)
        return oom (err);
      errno = 0;
    }
  if (errno)
    return za_err_set (err, errno, "%s: readdir `%s`: %s", u->blob, rel, strerror (errno));
  for (size_t i = 0; i < names.n; i++)
    {
      cleanup_free char *child = join (rel, names.v[i]);
      if (!child)
        return oom (err);
      if (prune (u, child, err) < 0)
        return -1;
    }
  return 0;
}

static int
prune (struct unpack *u, const char *rel, struct za_err **err)
{
  if (!pathset_get (&u->written, rel))
    return za_rm_rf_at (u->rootfd, rel, err);
  return prune_children (u, rel, err);
}

static int
apply_whiteout (struct unpack *u, const char *entry, const char *dir, const char *name,
                struct za_err **err)
{
  cleanup_free char *rdir = NULL, *target = NULL;
  struct stat st;

  if (strcmp (name, ".wh..opq") == 0)
    {
      /* opaque directory: it exists in this layer, emptied of the
         lower layers' entries */
      if (resolve (u, entry, dir, &rdir, err) < 0)
        return -1;
      if (*rdir)
        {
          cleanup_free char *abs = join (u->root, rdir);
          if (!abs)
            return oom (err);
          if (fstatat (u->rootfd, rdir, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (st.st_mode)
              && za_rm_rf_at (u->rootfd, rdir, err) < 0)
            return -1;
          if (za_mkdir_p (abs, 0755, err) < 0)
            return -1;
          if (record_written (u, rdir) < 0)
            return oom (err);
        }
      return prune_children (u, rdir, err);
    }
  /* other AUFS metadata (.wh..wh.plnk, …) carries no content */
  if (strncmp (name, ".wh.", 4) == 0)
    return 0;
  if (!*name || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: invalid whiteout", u->blob, entry);
  if (resolve (u, entry, dir, &rdir, err) < 0)
    return -1;
  target = join (rdir, name);
  if (!target)
    return oom (err);
  if (fstatat (u->rootfd, target, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return za_err_set (err, errno, "%s: stat `%s`: %s", u->blob, target, strerror (errno));
    }
  return prune (u, target, err);
}

/* Failures writing to disk: out of space and the like are the system's;
   the rest (a link to a directory, a name too long) the image's.  */
static int
disk_error (struct unpack *u, struct archive *w, const char *entry, struct za_err **err)
{
  int e = archive_errno (w);
  const char *msg = aerr (w);
  bool sys = e == ENOSPC || e == EDQUOT || e == EIO || e == EROFS || e == ENOMEM || e == EMFILE
             || e == ENFILE || ((e == EPERM || e == EACCES) && geteuid () != 0);
  if (entry)
    return za_err_set (err, sys ? e : ZA_EINPUT, "%s: entry `%s`: %s", u->blob, entry, msg);
  return za_err_set (err, sys ? e : ZA_EINPUT, "%s: %s", u->blob, msg);
}

struct src
{
  int fd;
  EVP_MD_CTX *md;
  uint64_t left; /* bytes of the blob not read yet */
  int read_errno;
  bool short_read;
  bool md_failed;
  unsigned char buf[READ_CHUNK];
};

static ssize_t
src_chunk (struct src *s)
{
  ssize_t n;
  if (s->left == 0)
    return 0;
  n = read_retry (s->fd, s->buf, s->left < sizeof s->buf ? (size_t) s->left : sizeof s->buf);
  if (n < 0)
    {
      s->read_errno = errno;
      return -1;
    }
  if (n == 0)
    {
      s->short_read = true;
      return 0;
    }
  if (EVP_DigestUpdate (s->md, s->buf, (size_t) n) != 1)
    s->md_failed = true;
  s->left -= (uint64_t) n;
  return n;
}

/* libarchive reads the blob through here, so every byte it unpacks is
   also hashed: one pass, and no window in which the file could change
   between verifying and unpacking.  */
static la_ssize_t
src_read (struct archive *a, void *data, const void **buf)
{
  struct src *s = data;
  ssize_t n = src_chunk (s);
  if (n < 0)
    archive_set_error (a, s->read_errno, "read: %s", strerror (s->read_errno));
  *buf = s->buf;
  return n;
}

static int
copy_data (struct unpack *u, struct src *s, struct archive *a, struct archive *w,
           const char *entry, struct za_err **err)
{
  for (;;)
    {
      const void *buf;
      size_t size;
      la_int64_t off;
      int r = archive_read_data_block (a, &buf, &size, &off);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return za_err_set (err, s->read_errno ? s->read_errno : ZA_EINPUT, "%s: entry `%s`: %s",
                           u->blob, entry, aerr (a));
      if (archive_write_data_block (w, buf, size, off) < ARCHIVE_WARN)
        return disk_error (u, w, entry, err);
    }
}

static void
note_warning (struct unpack *u, const char *entry, const char *msg)
{
  if (u->warnings++ == 0 && asprintf (&u->first_warning, "entry `%s`: %s", entry,
                                       msg ? msg : "warning") < 0)
    u->first_warning = NULL;
}

static int
apply_entry (struct unpack *u, struct src *s, struct archive *a, struct archive *w,
             struct archive_entry *e, struct za_err **err)
{
  const char *raw = archive_entry_pathname (e), *hl = archive_entry_hardlink (e);
  cleanup_free char *rel = NULL, *dir = NULL, *rdir = NULL, *rpath = NULL, *apath = NULL;
  cleanup_free char *habs = NULL, *raw_owned = NULL;
  const char *base, *why;
  mode_t type = archive_entry_filetype (e);
  struct stat st;
  int r;

  if (!raw || !*raw)
    return za_err_set (err, ZA_EINPUT, "%s: entry without a name", u->blob);
  /* archive_entry_set_pathname below frees the entry's copy of the name,
     which messages after it still use */
  if (!(raw_owned = strdup (raw)))
    return oom (err);
  raw = raw_owned;
  if (normalise (raw, &rel, &why) < 0)
    return why ? za_err_set (err, ZA_EINPUT, "%s: entry `%s`: %s", u->blob, raw, why)
               : oom (err);
  if (!(dir = split_path (rel, &base)))
    return oom (err);
  if (strncmp (base, ".wh.", 4) == 0)
    return apply_whiteout (u, raw, dir, base + 4, err);
  if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO)
    {
      /* the runtime mounts its own /dev; a device node from an image
         would only be a way around the device cgroup */
      if (u->skipped++ == 0 && !(u->first_skipped = strdup (raw)))
        return oom (err);
      return 0;
    }
  if (resolve (u, raw, dir, &rdir, err) < 0)
    return -1;
  if (!(rpath = join (rdir, base)))
    return oom (err);
  if (hl)
    {
      cleanup_free char *hrel = NULL, *hdir = NULL, *hrdir = NULL, *htarget = NULL;
      const char *hbase;
      if (normalise (hl, &hrel, &why) < 0)
        return why ? za_err_set (err, ZA_EINPUT,
                                 "%s: entry `%s`: hardlink target `%s` is outside the rootfs",
                                 u->blob, raw, hl)
                   : oom (err);
      if (!*hrel)
        return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: invalid hardlink target `%s`",
                           u->blob, raw, hl);
      if (!(hdir = split_path (hrel, &hbase)))
        return oom (err);
      if (resolve (u, raw, hdir, &hrdir, err) < 0)
        return -1;
      if (!(htarget = join (hrdir, hbase)))
        return oom (err);
      if (fstatat (u->rootfd, htarget, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: hardlink target `%s`: %s", u->blob,
                           raw, hl, strerror (errno));
      if (S_ISDIR (st.st_mode))
        return za_err_set (err, ZA_EINPUT,
                           "%s: entry `%s`: hardlink target `%s` is a directory", u->blob, raw,
                           hl);
      if (strcmp (htarget, rpath) == 0)
        return 0; /* a link to itself: it is already there */
      if (!(habs = join (u->root, htarget)))
        return oom (err);
      archive_entry_set_hardlink (e, habs);
    }
  if (!*rpath && (type != AE_IFDIR || hl))
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: the root can only be a directory",
                       u->blob, raw);
  /* An entry replaces what lower layers had there, unless both are
     directories (then they merge).  libarchive would refuse to replace a
     non-empty directory, and must never write through a symlink.  */
  if (*rpath && fstatat (u->rootfd, rpath, &st, AT_SYMLINK_NOFOLLOW) == 0
      && !(S_ISDIR (st.st_mode) && type == AE_IFDIR && !hl)
      && za_rm_rf_at (u->rootfd, rpath, err) < 0)
    return -1;
  if (!(apath = join (u->root, rpath)))
    return oom (err);
  archive_entry_set_pathname (e, apath);
  r = archive_write_header (w, e);
  if (r < ARCHIVE_WARN)
    return disk_error (u, w, raw, err);
  if (r == ARCHIVE_WARN)
    note_warning (u, raw, aerr (w));
  if (copy_data (u, s, a, w, raw, err) < 0)
    return -1;
  r = archive_write_finish_entry (w);
  if (r < ARCHIVE_WARN)
    return disk_error (u, w, raw, err);
  if (r == ARCHIVE_WARN)
    note_warning (u, raw, aerr (w));
  if (record_written (u, rpath) < 0)
    return oom (err);
  return 0;
}

static void
unpack_reset (struct unpack *u)
{
  pathset_clear (&u->written);
  free (u->first_skipped);
  free (u->first_warning);
  u->first_skipped = u->first_warning = NULL;
  u->skipped = u->warnings = 0;
}

static int
apply_layer (const struct layout *l, struct unpack *u, const struct desc *d, const char *role,
             struct za_err **warn, struct za_err **err)
{
  cleanup_free char *name = blob_name (d, role);
  cleanup_free struct src *s = NULL;
  cleanup_md EVP_MD_CTX *md = NULL;
  cleanup_close int fd = -1;
  cleanup_err struct za_err *lerr = NULL;
  cleanup_archive_read struct archive *a = NULL;
  cleanup_archive_write struct archive *w = NULL;
  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT
              | ARCHIVE_EXTRACT_SECURE_SYMLINKS;
  int rc = 0;

  if (!name)
    return oom (err);
  if (open_blob (l, d, name, &fd, err) < 0 || digest_init (&md, err) < 0)
    return -1;
  if (!(s = calloc (1, sizeof *s)))
    return oom (err);
  s->fd = fd;
  s->md = md;
  s->left = d->size;
  unpack_reset (u);
  u->blob = name;

  /* Owners and xattrs (file capabilities) only when we can set them;
     numeric ids throughout, the host's user database is not the
     image's.  */
  if (geteuid () == 0)
    flags |= ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR;
  a = archive_read_new ();
  w = archive_write_disk_new ();
  if (!a || !w)
    return oom (err);
  /* gzip and zstd are the compressions OCI layers may use; naming them
     keeps libarchive's external-program filters out of reach.  */
  if (archive_read_support_filter_gzip (a) < ARCHIVE_WARN
      || archive_read_support_filter_zstd (a) < ARCHIVE_WARN
      || archive_read_support_format_tar (a) < ARCHIVE_WARN
      || archive_read_support_format_gnutar (a) < ARCHIVE_WARN
      || archive_read_support_format_empty (a) < ARCHIVE_WARN
      || archive_write_disk_set_options (w, flags) < ARCHIVE_WARN)
    return za_err_set (err, ENOMEM, "%s: libarchive setup failed: %s", name, aerr (a));

  if (archive_read_open (a, s, NULL, src_read, NULL) != ARCHIVE_OK)
    rc = za_err_set (&lerr, s->read_errno ? s->read_errno : ZA_EINPUT, "%s: %s", name,
                     aerr (a));
  while (rc == 0)
    {
      struct archive_entry *e;
      int r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      /* ARCHIVE_WARN: a name that does not convert to the current locale;
         its raw bytes are what a Linux file name is anyway */
      if (r < ARCHIVE_WARN)
        rc = za_err_set (&lerr, s->read_errno ? s->read_errno : ZA_EINPUT, "%s: %s", name,
                         aerr (a));
      else
        rc = apply_entry (u, s, a, w, e, &lerr);
    }
  /* directory modes and times are set here, deepest first */
  if (archive_write_close (w) < ARCHIVE_WARN && rc == 0)
    rc = disk_error (u, w, NULL, &lerr);

  /* The rest of the blob (tar padding, trailing bytes) counts too.  A
     digest mismatch or a short read explains any failure above better
     than what libarchive made of the bad bytes.  */
  while (s->left > 0 && src_chunk (s) > 0)
    ;
  if (s->read_errno)
    return za_err_set (err, s->read_errno, "%s: read: %s", name, strerror (s->read_errno));
  if (s->short_read)
    return za_err_set (err, ZA_EINPUT, "%s: size %ju does not match descriptor size %ju", name,
                       (uintmax_t) (d->size - s->left), (uintmax_t) d->size);
  if (s->md_failed)
    return za_err_set (err, ENOMEM, "%s: SHA-256 failed", name);
  if (digest_check (md, d, name, err) < 0)
    return -1;
  if (rc < 0)
    {
      za_err_append (err, &lerr);
      return -1;
    }
  if (u->skipped)
    za_err_set (warn, ZA_EINPUT,
                "%s: skipped %zu device/FIFO entr%s (first `%s`): the runtime provides /dev",
                name, u->skipped, u->skipped == 1 ? "y" : "ies", u->first_skipped);
  if (u->warnings)
    za_err_set (warn, ZA_EINPUT, "%s: %s%s", name,
                u->first_warning ? u->first_warning : "libarchive warning",
                u->warnings > 1 ? " (and more)" : "");
  return 0;
}

/* ---- cache -------------------------------------------------------- */

/* A temporary directory older than this whose owner holds no lock on it
   was left by a preparer that died (killed, out of memory, power loss).
   The age covers the moment between mkdir and flock.  */
#define STALE_TMP_SECONDS 600

/* Create CACHE/.tmp-<hex>-<pid>-<random>, locked (flock) for as long as
   *FD_OUT stays open, so that sweep_stale_tmp never takes it for a dead
   preparer's, in this pid namespace or another.  */
static int
make_tmp_dir (int cachefd, const char *hex, char **name_out, int *fd_out, struct za_err **err)
{
  for (unsigned attempt = 0;; attempt++)
    {
      cleanup_free char *name = NULL;
      int fd;
      uint32_t r = 0;
      if (getrandom (&r, sizeof r, GRND_NONBLOCK) != (ssize_t) sizeof r)
        r = (uint32_t) time (NULL) ^ (attempt * 2654435761u) ^ (uint32_t) (uintptr_t) &r;
      if (asprintf (&name, ".tmp-%s-%ld-%08x", hex, (long) getpid (), (unsigned) r) < 0)
        return oom (err);
      if (mkdirat (cachefd, name, 0700) < 0)
        {
          if (errno != EEXIST || attempt > 100)
            return za_err_set (err, errno, "mkdir `%s`: %s", name, strerror (errno));
          continue;
        }
      fd = openat (cachefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) < 0)
        {
          int e = errno;
          if (fd >= 0)
            close (fd);
          unlinkat (cachefd, name, AT_REMOVEDIR);
          return za_err_set (err, e, "lock `%s`: %s", name, strerror (e));
        }
      *name_out = steal_pointer (&name);
      *fd_out = fd;
      return 0;
    }
}

/* Best effort: remove temporary directories of preparers that died.  */
static void
sweep_stale_tmp (int cachefd)
{
  cleanup_dir DIR *d = NULL;
  cleanup_strv struct za_strv stale = { 0 };
  struct dirent *de;
  time_t now = time (NULL);
  int fd = openat (cachefd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || !(d = fdopendir (fd)))
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((de = readdir (d)))
    {
      struct stat st;
      if (strncmp (de->d_name, ".tmp-", 5) == 0
          && fstatat (cachefd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISDIR (st.st_mode) && st.st_mtime + STALE_TMP_SECONDS < now)
        za_strv_push (&stale, de->d_name);
    }
  for (size_t i = 0; i < stale.n; i++)
    {
      cleanup_close int tfd
          = openat (cachefd, stale.v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      /* the lock is free only once its owner is gone */
      if (tfd >= 0 && flock (tfd, LOCK_EX | LOCK_NB) == 0)
        za_rm_rf_at (cachefd, stale.v[i], NULL);
    }
}

/* Unpack every layer into CACHE/TMP/rootfs; CACHE is absolute.  */
static int
unpack_all (const struct layout *l, const struct manifest *m, const char *cache, int tmpfd,
            const char *tmp, struct za_err **warn, struct za_err **err)
{
  cleanup_close int rootfd = -1;
  cleanup_free char *root = NULL;
  struct unpack u = { .rootfd = -1 };
  int rc = 0;

  if (mkdirat (tmpfd, "rootfs", 0755) < 0)
    return za_err_set (err, errno, "mkdir `%s/%s/rootfs`: %s", cache, tmp, strerror (errno));
  rootfd = openat (tmpfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rootfd < 0 || fchmod (rootfd, 0755) < 0)
    return za_err_set (err, errno, "open `%s/%s/rootfs`: %s", cache, tmp, strerror (errno));
  if (asprintf (&root, "%s/%s/rootfs", cache, tmp) < 0)
    return oom (err);
  u.rootfd = rootfd;
  u.root = root;
  for (size_t i = 0; rc == 0 && i < m->n_layers; i++)
    {
      char role[64];
      snprintf (role, sizeof role, "layer %zu of %zu", i + 1, m->n_layers);
      rc = apply_layer (l, &u, &m->layers[i], role, warn, err);
    }
  unpack_reset (&u);
  /* durable before it is published: a crash must not leave a complete-
     looking cache entry with lost file contents */
  if (rc == 0 && syncfs (rootfd) < 0)
    rc = za_err_set (err, errno, "syncfs `%s`: %s", root, strerror (errno));
  return rc;
}

static int
cached_rootfs (int cachefd, const char *hex, bool *found, struct za_err **err)
{
  char path[96];
  struct stat st;
  snprintf (path, sizeof path, "%s/rootfs", hex);
  *found = false;
  if (fstatat (cachefd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return za_err_set (err, errno, "stat `%s`: %s", path, strerror (errno));
    }
  if (!S_ISDIR (st.st_mode))
    return za_err_set (err, EEXIST, "cache entry `%s` is not a directory", path);
  *found = true;
  return 0;
}

static int
ensure_rootfs (const struct layout *l, const struct manifest *m, const char *cache_dir,
               char **rootfs_out, struct za_err **warn, struct za_err **err)
{
  cleanup_free char *cache = NULL, *tmp = NULL;
  cleanup_close int cachefd = -1, tmpfd = -1;
  bool found;
  int rc;

  if (za_mkdir_p (cache_dir, 0700, err) < 0)
    return -1;
  /* libarchive gets absolute paths; SECURE_SYMLINKS checks all of them,
     so the cache's own path must be free of symlinks */
  cache = realpath (cache_dir, NULL);
  if (!cache)
    return za_err_set (err, errno, "realpath `%s`: %s", cache_dir, strerror (errno));
  cachefd = open (cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cachefd < 0)
    return za_err_set (err, errno, "open `%s`: %s", cache, strerror (errno));
  if (cached_rootfs (cachefd, m->hex, &found, err) < 0)
    return -1;
  if (!found)
    {
      sweep_stale_tmp (cachefd);
      if (make_tmp_dir (cachefd, m->hex, &tmp, &tmpfd, err) < 0)
        return -1;
      rc = unpack_all (l, m, cache, tmpfd, tmp, warn, err);
      if (rc == 0 && renameat (cachefd, tmp, cachefd, m->hex) < 0)
        {
          int e = errno;
          bool other = false;
          /* another preparer finished first: its tree is as good */
          if ((e == EEXIST || e == ENOTEMPTY) && cached_rootfs (cachefd, m->hex, &other, err) < 0)
            rc = -1;
          else if (!other)
            rc = za_err_set (err, e, "rename `%s/%s` to `%s/%s`: %s", cache, tmp, cache, m->hex,
                             strerror (e));
        }
      else if (rc == 0)
        {
          tmp[0] = '\0'; /* published: nothing to remove */
          fsync (cachefd);
        }
      if (tmp[0] && za_rm_rf_at (cachefd, tmp, err) < 0)
        rc = -1;
      if (rc < 0)
        return -1;
    }
  if (asprintf (rootfs_out, "%s/%s/rootfs", cache, m->hex) < 0)
    {
      *rootfs_out = NULL;
      return oom (err);
    }
  return 0;
}

/* ---- entry point -------------------------------------------------- */

static int
load_config (const struct layout *l, const struct desc *d, struct za_image_config **out,
             struct za_err **warn, struct za_err **err)
{
  cleanup_free char *data = NULL, *name = blob_name (d, "config");
  cleanup_json json_t *j = NULL;
  size_t len = 0;
  const char *variant = NULL, *arch = za_image_host_arch (&variant);
  const char *os, *iarch;

  if (!name)
    return oom (err);
  if (read_blob (l, d, "config", MAX_CONFIG, &data, &len, err) < 0
      || za_image_config_parse (name, data, len, out, err) < 0)
    return -1;
  /* a foreign image may still run (binfmt_misc); say why if it does not */
  j = json_loadb (data, len, 0, NULL);
  os = json_string_value (json_object_get (j, "os"));
  iarch = json_string_value (json_object_get (j, "architecture"));
  if ((os && strcmp (os, "linux") != 0) || (iarch && arch && strcmp (iarch, arch) != 0))
    za_err_set (warn, ZA_EINPUT, "image is for %s/%s; this machine is linux/%s",
                os ? os : "?", iarch ? iarch : "?", arch ? arch : "?");
  return 0;
}

static int
prepare (const char *ref, const char *cache_dir, char **rootfs_out,
         struct za_image_config **config_out, struct za_err **warn, struct za_err **err)
{
  cleanup_free char *dir = NULL, *data = NULL;
  cleanup_close int dirfd = -1;
  cleanup_json json_t *lay = NULL, *index = NULL, *mj = NULL;
  struct manifest m;
  struct desc top = { 0 };
  struct layout l;
  const char *tag = NULL, *colon, *v;
  size_t len = 0;
  int rc = -1;

  memset (&m, 0, sizeof m);

  if (!ref || !*ref)
    return za_err_set (err, ZA_EINPUT, "empty image reference");
  if (!cache_dir || !*cache_dir)
    return za_err_set (err, ZA_EINPUT, "no image cache directory");
  colon = strrchr (ref, ':');
  if (colon && !strchr (colon + 1, '/'))
    {
      tag = colon + 1;
      if (!*tag)
        return za_err_set (err, ZA_EINPUT, "empty tag after `:`");
      dir = strndup (ref, (size_t) (colon - ref));
    }
  else
    dir = strdup (ref);
  if (!dir)
    return oom (err);
  if (!*dir)
    return za_err_set (err, ZA_EINPUT, "no layout directory before `:`");
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return za_err_set (err, (errno == ENOENT || errno == ENOTDIR) ? ZA_EINPUT : errno,
                       "open layout directory `%s`: %s", dir, strerror (errno));
  l.dirfd = dirfd;

  if (za_read_file_at (dirfd, "oci-layout", 64 * 1024, &data, &len, err) < 0)
    return za_err_wrap (err, "not an OCI image layout");
  if (load_json ("oci-layout", data, len, &lay, err) < 0)
    return -1;
  v = json_string_value (json_object_get (lay, "imageLayoutVersion"));
  if (!v || strcmp (v, "1.0.0") != 0)
    return za_err_set (err, ZA_EINPUT, "oci-layout: unsupported imageLayoutVersion `%s`",
                       v ? v : "(none)");
  free (data);
  data = NULL;
  if (za_read_file_at (dirfd, "index.json", MAX_MANIFEST, &data, &len, err) < 0
      || load_json ("index.json", data, len, &index, err) < 0)
    return -1;

  if (choose_top (index, tag, &top, err) == 0 && resolve_manifest (&l, &top, &mj, err) == 0
      && parse_manifest (mj, &top, &m, err) == 0
      && load_config (&l, &m.config, config_out, warn, err) == 0
      && ensure_rootfs (&l, &m, cache_dir, rootfs_out, warn, err) == 0)
    rc = 0;
  desc_clear (&top);
  manifest_clear (&m);
  if (rc < 0)
    {
      za_image_config_free (*config_out);
      *config_out = NULL;
    }
  return rc;
}

int
za_image_layout_prepare (const char *ref, const char *cache_dir, char **rootfs_out,
                         struct za_image_config **config_out, struct za_err **warn,
                         struct za_err **err)
{
  cleanup_err struct za_err *e = NULL, *w = NULL;

  *rootfs_out = NULL;
  *config_out = NULL;
  if (za_image_dl_load (&e) < 0 || prepare (ref, cache_dir, rootfs_out, config_out, &w, &e) < 0)
    {
      za_err_wrap (&e, "image `%s`", ref ? ref : "");
      za_err_append (err, &e);
      return -1;
    }
  if (w)
    za_err_wrap (&w, "image `%s`", ref);
  if (warn)
    za_err_append (warn, &w);
  return 0;
}
