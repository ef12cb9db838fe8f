#define _GNU_SOURCE
#include "image/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/blob.h"
#include "image/dl.h"
#include "image/platform.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/rmtree.h"
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

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

/* ---- blobs -------------------------------------------------------- */

struct layout
{
  int dirfd;
};

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
load_json_blob (const struct layout *l, const struct za_desc *d, const char *role, json_t **out,
                struct za_err **err)
{
  cleanup_free char *data = NULL, *name = za_blob_name (d, role);
  size_t len = 0;
  if (!name)
    return oom (err);
  if (za_blob_read (l->dirfd, d, role, MAX_MANIFEST, &data, &len, err) < 0)
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

/* The index.json entry named by TAG, or the only one.  */
static int
choose_top (json_t *index, const char *tag, struct za_desc *out, struct za_err **err)
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
  if (n > 1 && za_image_pick_platform (manifests, cand, n, "index.json", &chosen, err) < 0)
    return -1;
  if (n == 1)
    chosen = cand[0];
  snprintf (what, sizeof what, "index.json: manifests[%zu]", chosen);
  return za_desc_parse (json_array_get (manifests, chosen), what, out, err);
}

/* Follow image indexes from D down to the image manifest; D is replaced
   by the manifest's descriptor and *MANIFEST_OUT is its verified JSON.  */
static int
resolve_manifest (const struct layout *l, struct za_desc *d, json_t **manifest_out,
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
      struct za_desc child;
      char what[64];

      name = za_blob_name (d, role);
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
      if (za_image_pick_platform (manifests, cand, n, name, &chosen, err) < 0)
        return -1;
      snprintf (what, sizeof what, "manifests[%zu]", chosen);
      if (za_desc_parse (json_array_get (manifests, chosen), what, &child, err) < 0)
        {
          za_desc_clear (&child);
          return za_err_wrap (err, "%s", name);
        }
      za_desc_clear (d);
      *d = child;
    }
}

void
za_manifest_clear (struct za_manifest *m)
{
  za_desc_clear (&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    za_desc_clear (&m->layers[i]);
  free (m->layers);
  m->layers = NULL;
  m->n_layers = 0;
}

static int
parse_manifest (json_t *j, const struct za_desc *d, struct za_manifest *m, struct za_err **err)
{
  cleanup_free char *name = za_blob_name (d, "manifest");
  json_t *layers, *sv = json_object_get (j, "schemaVersion"), *it;
  const char *cmt;
  size_t i;

  if (!name)
    return oom (err);
  memcpy (m->hex, d->hex, sizeof m->hex);
  if (!json_is_integer (sv) || json_integer_value (sv) != 2)
    return za_err_set (err, ZA_EINPUT, "%s: schemaVersion must be 2", name);
  if (za_desc_parse (json_object_get (j, "config"), "config", &m->config, err) < 0)
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
      if (za_desc_parse (it, what, &m->layers[i], err) < 0)
        return za_err_wrap (err, "%s", name);
      for (size_t k = 0; m->layers[i].media_type && layer_types[k]; k++)
        known = known || strcmp (m->layers[i].media_type, layer_types[k]) == 0;
      if (!known)
        return za_err_set (err, ZA_EINPUT, "%s: layers[%zu]: unsupported media type `%s`", name,
                           i, m->layers[i].media_type ? m->layers[i].media_type : "none");
    }
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
        za_rmtree_at (cachefd, stale.v[i], NULL);
    }
}

/* Unpack every layer into CACHE/TMP/rootfs (CACHE for messages).  */
static int
unpack_all (const struct layout *l, const struct za_manifest *m,
            const struct za_unpack_limits *lim, const char *cache, int tmpfd, const char *tmp,
            struct za_err **warn, struct za_err **err)
{
  cleanup_close int rootfd = -1;
  struct za_unpack *u;
  int rc = 0;

  if (mkdirat (tmpfd, "rootfs", 0755) < 0)
    return za_err_set (err, errno, "mkdir `%s/%s/rootfs`: %s", cache, tmp, strerror (errno));
  rootfd = openat (tmpfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rootfd < 0 || fchmod (rootfd, 0755) < 0)
    return za_err_set (err, errno, "open `%s/%s/rootfs`: %s", cache, tmp, strerror (errno));
  if (!(u = za_unpack_new (rootfd, lim)))
    return oom (err);
  for (size_t i = 0; rc == 0 && i < m->n_layers; i++)
    {
      char role[64];
      snprintf (role, sizeof role, "layer %zu of %zu", i + 1, m->n_layers);
      rc = za_unpack_layer (u, l->dirfd, &m->layers[i], role, warn, err);
    }
  za_unpack_free (u);
  /* durable before it is published: a crash must not leave a complete-
     looking cache entry with lost file contents, and a write error that
     only surfaces at writeback must fail the unpack */
  if (rc == 0 && syncfs (rootfd) < 0)
    rc = za_err_set (err, errno, "syncfs `%s/%s/rootfs`: %s", cache, tmp, strerror (errno));
  return rc;
}

/* Every layer blob is there, a regular file of the right size, before
   anything is created in the cache: a missing blob or a FIFO planted as
   one fails here, without a temporary directory to clean up.  */
static int
check_layer_blobs (const struct layout *l, const struct za_manifest *m, struct za_err **err)
{
  for (size_t i = 0; i < m->n_layers; i++)
    {
      char role[64];
      cleanup_free char *name = NULL;
      int fd = -1;
      snprintf (role, sizeof role, "layer %zu of %zu", i + 1, m->n_layers);
      if (!(name = za_blob_name (&m->layers[i], role)))
        return oom (err);
      if (za_blob_open (l->dirfd, &m->layers[i], name, &fd, err) < 0)
        return -1;
      close (fd);
    }
  return 0;
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
ensure_rootfs (const struct layout *l, const struct za_manifest *m,
               const struct za_unpack_limits *lim, const char *cache_dir, char **rootfs_out,
               struct za_err **warn, struct za_err **err)
{
  cleanup_free char *cache = NULL, *tmp = NULL;
  cleanup_close int cachefd = -1, tmpfd = -1;
  bool found;
  int rc;

  if (za_mkdir_p (cache_dir, 0700, err) < 0)
    return -1;
  /* the rootfs path handed out must be free of symlinks: runc refuses
     a rootfs reached through one */
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
      if (check_layer_blobs (l, m, err) < 0)
        return -1;
      sweep_stale_tmp (cachefd);
      if (make_tmp_dir (cachefd, m->hex, &tmp, &tmpfd, err) < 0)
        return -1;
      rc = unpack_all (l, m, lim, cache, tmpfd, tmp, warn, err);
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
      if (tmp[0] && za_rmtree_at (cachefd, tmp, err) < 0)
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

int
za_manifest_parse (const char *data, size_t len, const struct za_desc *d, struct za_manifest *m,
                   struct za_err **err)
{
  cleanup_json json_t *j = NULL;
  cleanup_free char *name = za_blob_name (d, "manifest");
  const char *mt;
  if (!name)
    return oom (err);
  if (load_json (name, data, len, &j, err) < 0)
    return -1;
  mt = json_string_value (json_object_get (j, "mediaType"));
  if (mt && strcmp (mt, MT_OCI_MANIFEST) != 0 && strcmp (mt, MT_DOCKER_MANIFEST) != 0)
    return za_err_set (err, ZA_EINPUT, "%s: not an image manifest (media type `%s`)", name, mt);
  return parse_manifest (j, d, m, err);
}

/* oci-layout and index.json of DIRFD: the layout's top index.  */
static int
open_index (int dirfd, json_t **index, struct za_err **err)
{
  cleanup_free char *data = NULL;
  cleanup_json json_t *lay = NULL;
  size_t len = 0;
  const char *v;
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
  if (za_read_file_at (dirfd, "index.json", MAX_MANIFEST, &data, &len, err) < 0)
    return -1;
  return load_json ("index.json", data, len, index, err);
}

int
za_image_layout_resolve (int dirfd, const char *tag, struct za_desc *manifest_out,
                         struct za_err **err)
{
  cleanup_json json_t *index = NULL, *mj = NULL;
  struct layout l = { .dirfd = dirfd };
  memset (manifest_out, 0, sizeof *manifest_out);
  if (open_index (dirfd, &index, err) < 0 || choose_top (index, tag, manifest_out, err) < 0
      || resolve_manifest (&l, manifest_out, &mj, err) < 0)
    {
      za_desc_clear (manifest_out);
      return -1;
    }
  return 0;
}

/* ---- entry point -------------------------------------------------- */

static int
load_config (const struct layout *l, const struct za_desc *d, struct za_image_config **out,
             struct za_err **warn, struct za_err **err)
{
  cleanup_free char *data = NULL, *name = za_blob_name (d, "config");
  cleanup_json json_t *j = NULL;
  size_t len = 0;
  const char *variant = NULL, *arch = za_image_host_arch (&variant);
  const char *os, *iarch;

  if (!name)
    return oom (err);
  if (za_blob_read (l->dirfd, d, "config", MAX_CONFIG, &data, &len, err) < 0
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
  cleanup_free char *dir = NULL;
  cleanup_close int dirfd = -1;
  cleanup_json json_t *index = NULL, *mj = NULL;
  struct za_manifest m;
  struct za_desc top = { 0 };
  struct layout l;
  struct za_unpack_limits lim;
  const char *tag = NULL, *colon;
  int rc = -1;

  memset (&m, 0, sizeof m);

  if (!ref || !*ref)
    return za_err_set (err, ZA_EINPUT, "empty image reference");
  if (!cache_dir || !*cache_dir)
    return za_err_set (err, ZA_EINPUT, "no image cache directory");
  if (za_unpack_limits_from_env (&lim, err) < 0)
    return -1;
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
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
  if (dirfd < 0)
    return za_err_set (err, (errno == ENOENT || errno == ENOTDIR) ? ZA_EINPUT : errno,
                       "open layout directory `%s`: %s", dir, strerror (errno));
  l.dirfd = dirfd;

  if (open_index (dirfd, &index, err) < 0)
    return -1;

  if (choose_top (index, tag, &top, err) == 0 && resolve_manifest (&l, &top, &mj, err) == 0
      && parse_manifest (mj, &top, &m, err) == 0
      && load_config (&l, &m.config, config_out, warn, err) == 0
      && ensure_rootfs (&l, &m, &lim, cache_dir, rootfs_out, warn, err) == 0)
    rc = 0;
  za_desc_clear (&top);
  za_manifest_clear (&m);
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
      za_err_wrap_all (&e, "image `%s`", ref ? ref : "");
      za_err_append (err, &e);
      return -1;
    }
  if (w)
    za_err_wrap_all (&w, "image `%s`", ref);
  if (warn)
    za_err_append (warn, &w);
  return 0;
}
