/* The layer store on disk: directories, locks, blobs, layers, the image
   records (see image/store.h).  */
#define _GNU_SOURCE
#include "image/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/dl.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/rmtree.h"

#define MAX_REPOS (64u << 20)
#define MAX_CONFIG (8u << 20)
#define COPY_CHUNK (256u * 1024)

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

const char *
za_st_digest_hex (const char *digest)
{
  const char *h;
  if (!digest || strncmp (digest, "sha256:", 7) != 0)
    return NULL;
  h = digest + 7;
  if (strlen (h) != 64 || strspn (h, "0123456789abcdef") != 64)
    return NULL;
  return h;
}

int
za_pull_policy_parse (const char *s, enum za_pull_policy *out, struct za_err **err)
{
  static const struct
  {
    const char *name;
    enum za_pull_policy p;
  } names[] = { { "always", ZA_PULL_ALWAYS },         { "newer", ZA_PULL_NEWER },
                { "if_not_present", ZA_PULL_IF_NOT_PRESENT },
                { "if-not-present", ZA_PULL_IF_NOT_PRESENT },
                { "missing", ZA_PULL_IF_NOT_PRESENT }, { "never", ZA_PULL_NEVER } };
  for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
    if (strcmp (s, names[i].name) == 0)
      {
        *out = names[i].p;
        return 0;
      }
  return za_err_set (err, ZA_EINPUT,
                     "pull policy `%s`: expected always, newer, if_not_present or never",
                     s ? s : "");
}

void
za_store_image_clear (struct za_store_image *im)
{
  free (im->name);
  free (im->digest);
  free (im->config);
  za_strv_clear (&im->layers);
  memset (im, 0, sizeof *im);
}

/* ---- opening ------------------------------------------------------ */

static int
open_sub (int dfd, const char *name, const char *root, int *out, struct za_err **err)
{
  if (mkdirat (dfd, name, 0700) < 0 && errno != EEXIST)
    return za_err_sys (err, errno, "mkdir `%s/%s`", root, name);
  *out = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*out < 0)
    return za_err_sys (err, errno, "open `%s/%s`", root, name);
  return 0;
}

int
za_store_open (struct za_store **out, struct za_err **err)
{
  cleanup_free char *data = za_data_dir (), *dir = NULL;
  cleanup_close int bfd = -1;
  struct za_store *s;

  *out = NULL;
  /* libcrypto: every blob read is verified */
  if (za_image_dl_load_crypto (err) < 0)
    return -1;
  if (!data || asprintf (&dir, "%s/images", data) < 0)
    return oom (err);
  if (za_mkdir_p (dir, 0700, err) < 0)
    return -1;
  if (!(s = calloc (1, sizeof *s)))
    return oom (err);
  s->fd = s->blobs_fd = s->layers_fd = s->locks_fd = -1;
  /* overlay and runc get paths below it: free of symlinks */
  if (!(s->root = realpath (dir, NULL)))
    {
      za_err_sys (err, errno, "realpath `%s`", dir);
      za_store_close (s);
      return -1;
    }
  s->fd = open (s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->fd < 0 || fchmod (s->fd, 0700) < 0)
    {
      za_err_sys (err, errno, "open `%s`", s->root);
      za_store_close (s);
      return -1;
    }
  if (open_sub (s->fd, "blobs", s->root, &bfd, err) < 0
      || open_sub (bfd, "sha256", s->root, &s->blobs_fd, err) < 0
      || open_sub (s->fd, "layers", s->root, &s->layers_fd, err) < 0
      || open_sub (s->fd, "locks", s->root, &s->locks_fd, err) < 0)
    {
      za_store_close (s);
      return -1;
    }
  *out = s;
  return 0;
}

void
za_store_close (struct za_store *s)
{
  if (!s)
    return;
  for (int *fd = &s->fd; fd <= &s->locks_fd; fd++)
    if (*fd >= 0)
      close (*fd);
  free (s->root);
  free (s);
}

const char *
za_store_root (const struct za_store *s)
{
  return s->root;
}

/* ---- locks -------------------------------------------------------- */

static int
flock_wait (int fd, int op, unsigned wait_s)
{
  struct timespec end, now;
  clock_gettime (CLOCK_MONOTONIC, &end);
  end.tv_sec += wait_s;
  for (unsigned ms = 1;; ms = ms < 100 ? 2 * ms : 100)
    {
      if (flock (fd, op | LOCK_NB) == 0)
        return 0;
      if (errno != EWOULDBLOCK && errno != EINTR)
        return -1;
      clock_gettime (CLOCK_MONOTONIC, &now);
      if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
        {
          errno = ETIMEDOUT;
          return -1;
        }
      nanosleep (&(struct timespec) { 0, (long) ms * 1000000L }, NULL);
    }
}

static int
lock_at (int dfd, const char *name, const char *shown, int op, bool try, int *fd_out,
         struct za_err **err)
{
  cleanup_close int fd = openat (dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return za_err_sys (err, errno, "open lock `%s`", shown);
  if (try)
    {
      if (flock (fd, op | LOCK_NB) < 0)
        {
          if (errno == EWOULDBLOCK)
            return 0;
          return za_err_sys (err, errno, "lock `%s`", shown);
        }
    }
  else if (flock_wait (fd, op, ZA_STORE_LOCK_WAIT_S) < 0)
    return za_err_sys (err, errno, "lock `%s`", shown);
  *fd_out = steal_fd (&fd);
  return 1;
}

int
za_st_lock (struct za_store *s, const char *name, int *fd_out, struct za_err **err)
{
  return lock_at (s->locks_fd, name, name, LOCK_EX, false, fd_out, err) < 0 ? -1 : 0;
}

int
za_st_gc (struct za_store *s, bool exclusive, bool try, int *fd_out, struct za_err **err)
{
  *fd_out = -1;
  return lock_at (s->fd, "gc.lock", "gc.lock", exclusive ? LOCK_EX : LOCK_SH, try, fd_out, err);
}

int
za_st_repos_lock (struct za_store *s, int *fd_out, struct za_err **err)
{
  return lock_at (s->fd, "repos.lock", "repos.lock", LOCK_EX, false, fd_out, err) < 0 ? -1 : 0;
}

int
za_store_hold (const char *lowers, int *fd_out, struct za_err **err)
{
  struct za_store *s = NULL;
  int r;
  (void) lowers;
  *fd_out = -1;
  if (za_store_open (&s, err) < 0)
    return -1;
  r = za_st_gc (s, false, false, fd_out, err);
  za_store_close (s);
  return r < 0 ? -1 : 0;
}

/* Temp names of this store: .tmp-* (blobs without O_TMPFILE, layers
   being unpacked) and za_write_file_atomic_at's for repos.json.  */
static bool
is_tmp (int dfd, const char *n, void *ud)
{
  (void) dfd, (void) ud;
  return strncmp (n, ".tmp-", 5) == 0 || za_is_temp_of (n, "repos.json");
}

static void
sweep_dir (int dfd)
{
  cleanup_strv struct za_strv names = { 0 };
  int e;
  if (za_dir_list_at (dfd, is_tmp, NULL, &names, &e) < 0)
    return;
  for (size_t i = 0; i < names.n; i++)
    za_rmtree_at (dfd, names.v[i], NULL);
}

void
za_st_sweep (struct za_store *s)
{
  sweep_dir (s->blobs_fd);
  sweep_dir (s->layers_fd);
  sweep_dir (s->fd);
}

/* ---- blobs -------------------------------------------------------- */

bool
za_st_blob_present (struct za_store *s, const struct za_desc *d)
{
  struct stat st;
  return fstatat (s->blobs_fd, d->hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode)
         && (uint64_t) st.st_size == d->size;
}

static char *
tmp_name (const char *hex)
{
  char *name = NULL;
  uint32_t r = 0;
  if (getrandom (&r, sizeof r, GRND_NONBLOCK) != (ssize_t) sizeof r)
    r = (uint32_t) time (NULL) ^ (uint32_t) (uintptr_t) &r;
  if (asprintf (&name, ".tmp-%.16s-%ld-%08x", hex, (long) getpid (), (unsigned) r) < 0)
    return NULL;
  return name;
}

/* Give the complete file FD its name HEX: an O_TMPFILE is linked (it
   never had a name before), a temp name renamed.  */
static int
publish_blob (struct za_store *s, int fd, const char *tmp, const char *hex, struct za_err **err)
{
  if (fsync (fd) < 0)
    return za_err_sys (err, errno, "fsync blob sha256:%s", hex);
  if (!tmp)
    {
      char proc[64];
      snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
      if (linkat (AT_FDCWD, proc, s->blobs_fd, hex, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
        return za_err_sys (err, errno, "store blob sha256:%s", hex);
    }
  else if (renameat (s->blobs_fd, tmp, s->blobs_fd, hex) < 0)
    return za_err_sys (err, errno, "store blob sha256:%s", hex);
  fsync (s->blobs_fd);
  return 0;
}

int
za_st_blob_ingest (struct za_store *s, const struct za_desc *d, za_st_writer write, void *ctx,
                   struct za_err **err)
{
  cleanup_close int lock = -1, fd = -1;
  cleanup_free char *tmp = NULL, *lname = NULL;
  int rc;

  if (za_st_blob_present (s, d))
    return 0;
  if (asprintf (&lname, "%s", d->hex) < 0)
    return oom (err);
  if (za_st_lock (s, lname, &lock, err) < 0)
    return -1;
  if (za_st_blob_present (s, d))
    return 0; /* another pull stored it while we waited */
  fd = openat (s->blobs_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      /* no O_TMPFILE here: a temp name the sweep knows */
      if (!(tmp = tmp_name (d->hex)))
        return oom (err);
      fd = openat (s->blobs_fd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        return za_err_sys (err, errno, "create blob sha256:%s", d->hex);
    }
  rc = write (ctx, d, fd, err);
  if (rc == 0)
    rc = publish_blob (s, fd, tmp, d->hex, err);
  if (rc < 0 && tmp)
    unlinkat (s->blobs_fd, tmp, 0);
  return rc;
}

struct bytes
{
  const void *data;
  size_t len;
};

static int
write_bytes (void *ctx, const struct za_desc *d, int fd, struct za_err **err)
{
  const struct bytes *b = ctx;
  if (za_write_all (fd, b->data, b->len) < 0)
    return za_err_sys (err, errno, "write blob sha256:%s", d->hex);
  return 0;
}

int
za_st_blob_put (struct za_store *s, const struct za_desc *d, const void *data, size_t len,
                struct za_err **err)
{
  struct bytes b = { data, len };
  EVP_MD_CTX *md = NULL;
  int rc;
  if (len != d->size)
    return za_err_set (err, ZA_EINPUT, "blob sha256:%s: size %zu does not match %ju", d->hex, len,
                       (uintmax_t) d->size);
  if (za_image_dl_load_crypto (err) < 0 || za_digest_init (&md, err) < 0)
    return -1;
  rc = EVP_DigestUpdate (md, data, len) == 1 ? 0 : za_err_set (err, ENOMEM, "SHA-256 failed");
  if (rc == 0)
    rc = za_digest_check (md, d, "manifest", err);
  za_digest_free (&md);
  if (rc < 0)
    return -1;
  return za_st_blob_ingest (s, d, write_bytes, &b, err);
}

/* ---- layers ------------------------------------------------------- */

bool
za_st_layer_present (struct za_store *s, const char *chain_hex)
{
  struct stat st;
  return fstatat (s->layers_fd, chain_hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

static int
unpack_into (struct za_store *s, int dirfd, const struct za_desc *d, const char *diff_hex,
             const char *role, struct za_err **warn, struct za_err **err)
{
  struct za_unpack_limits lim;
  struct za_unpack *u;
  int rc;
  if (za_image_dl_load (err) < 0 || za_unpack_limits_from_env (&lim, err) < 0)
    return -1;
  if (!(u = za_unpack_new (dirfd, &lim)))
    return oom (err);
  za_unpack_set_diff (u);
  rc = za_unpack_layer_diff (u, s->fd, d, diff_hex, role, warn, err);
  za_unpack_free (u);
  /* durable before it gets its name: a crash must not leave a complete-
     looking layer with lost file contents */
  if (rc == 0 && syncfs (dirfd) < 0)
    rc = za_err_sys (err, errno, "syncfs");
  return rc;
}

int
za_st_layer_ensure (struct za_store *s, const struct za_desc *d, const char *diff_hex,
                    const char *chain_hex, const char *role, struct za_err **warn,
                    struct za_err **err)
{
  cleanup_close int lock = -1, dfd = -1;
  cleanup_free char *tmp = NULL, *lname = NULL;
  int rc;

  if (za_st_layer_present (s, chain_hex))
    return 0;
  if (asprintf (&lname, "layer-%s", chain_hex) < 0)
    return oom (err);
  if (za_st_lock (s, lname, &lock, err) < 0)
    return -1;
  if (za_st_layer_present (s, chain_hex))
    return 0;
  if (!(tmp = tmp_name (chain_hex)))
    return oom (err);
  if (mkdirat (s->layers_fd, tmp, 0755) < 0)
    return za_err_sys (err, errno, "mkdir `%s/layers/%s`", s->root, tmp);
  dfd = openat (s->layers_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    rc = za_err_sys (err, errno, "open `%s/layers/%s`", s->root, tmp);
  else
    rc = unpack_into (s, dfd, d, diff_hex, role, warn, err);
  if (rc == 0 && renameat (s->layers_fd, tmp, s->layers_fd, chain_hex) < 0)
    rc = za_err_sys (err, errno, "rename `%s/layers/%s`", s->root, tmp);
  if (rc == 0)
    {
      fsync (s->layers_fd);
      return 0;
    }
  za_rmtree_at (s->layers_fd, tmp, NULL);
  return -1;
}

/* ---- chain ids and configs ---------------------------------------- */

int
za_st_chain_ids (const struct za_strv *diff_ids, struct za_strv *out, struct za_err **err)
{
  char prev[65] = "";
  if (za_image_dl_load_crypto (err) < 0)
    return -1;
  for (size_t i = 0; i < diff_ids->n; i++)
    {
      char cur[65];
      if (i == 0)
        snprintf (cur, sizeof cur, "%s", diff_ids->v[0]);
      else
        {
          /* ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n)) */
          char in[2 * 72 + 2];
          unsigned char sum[EVP_MAX_MD_SIZE];
          unsigned len = 0;
          EVP_MD_CTX *md = NULL;
          int n = snprintf (in, sizeof in, "sha256:%s sha256:%s", prev, diff_ids->v[i]);
          if (za_digest_init (&md, err) < 0)
            return -1;
          if (EVP_DigestUpdate (md, in, (size_t) n) != 1 || EVP_DigestFinal_ex (md, sum, &len) != 1
              || len != 32)
            {
              za_digest_free (&md);
              return za_err_set (err, ENOMEM, "SHA-256 failed");
            }
          za_digest_free (&md);
          for (unsigned k = 0; k < 32; k++)
            snprintf (cur + 2 * k, 3, "%02x", sum[k]);
        }
      if (za_strv_push (out, cur) < 0)
        return oom (err);
      memcpy (prev, cur, sizeof prev);
    }
  return 0;
}

int
za_st_config_diff_ids (struct za_store *s, const struct za_desc *d, struct za_strv *out,
                       struct za_err **err)
{
  cleanup_free char *data = NULL, *name = za_blob_name (d, "config");
  json_t *j, *ids, *it;
  size_t len = 0, i;
  int rc = 0;
  if (!name)
    return oom (err);
  if (za_blob_read (s->fd, d, "config", MAX_CONFIG, &data, &len, err) < 0)
    return -1;
  if (!(j = json_loadb (data, len, 0, NULL)))
    return za_err_set (err, ZA_EINPUT, "%s: invalid JSON", name);
  ids = json_object_get (json_object_get (j, "rootfs"), "diff_ids");
  if (!json_is_array (ids))
    rc = za_err_set (err, ZA_EINPUT, "%s: no rootfs.diff_ids list", name);
  json_array_foreach (ids, i, it)
    {
      const char *h = za_st_digest_hex (json_string_value (it));
      if (rc < 0)
        break;
      if (!h)
        rc = za_err_set (err, ZA_EINPUT, "%s: rootfs.diff_ids[%zu] is not a sha256 digest", name, i);
      else if (za_strv_push (out, h) < 0)
        rc = oom (err);
    }
  json_decref (j);
  return rc;
}

int
za_store_config (struct za_store *s, const struct za_store_image *im,
                 struct za_image_config **out, struct za_err **warn, struct za_err **err)
{
  cleanup_free char *data = NULL, *name = NULL;
  struct za_desc d = { 0 };
  const char *hex = za_st_digest_hex (im->config);
  struct stat st;
  size_t len = 0;
  (void) warn;
  if (!hex)
    return za_err_set (err, EINVAL, "image `%s`: bad config digest in the store", im->name);
  snprintf (d.hex, sizeof d.hex, "%s", hex);
  if (fstatat (s->blobs_fd, hex, &st, 0) < 0)
    return za_err_sys (err, errno, "image `%s`: config blob", im->name);
  d.size = (uint64_t) st.st_size;
  if (!(name = za_blob_name (&d, "config")))
    return oom (err);
  if (za_blob_read (s->fd, &d, "config", MAX_CONFIG, &data, &len, err) < 0)
    return -1;
  return za_image_config_parse (name, data, len, out, err);
}

int
za_store_lowers (struct za_store *s, const struct za_store_image *im, char **out,
                 struct za_err **err)
{
  char *buf = NULL;
  size_t blen = 0;
  FILE *f;
  *out = NULL;
  if (im->layers.n == 0)
    return za_err_set (err, ZA_EINPUT, "image `%s` has no layers", im->name);
  for (size_t i = 0; i < im->layers.n; i++)
    if (!za_st_layer_present (s, im->layers.v[i]))
      return za_err_set (err, ENOENT, "image `%s`: layer %s is missing from the store (pull it again)",
                         im->name, im->layers.v[i]);
  if (!(f = open_memstream (&buf, &blen)))
    return oom (err);
  for (size_t i = im->layers.n; i-- > 0;)
    fprintf (f, "%s%s/layers/%s", i + 1 == im->layers.n ? "" : ":", s->root, im->layers.v[i]);
  if (fclose (f) != 0)
    {
      free (buf);
      return oom (err);
    }
  *out = buf;
  return 0;
}

/* ---- image records ------------------------------------------------ */

int
za_st_repos_load (struct za_store *s, json_t **out, struct za_err **err)
{
  cleanup_free char *data = NULL;
  cleanup_err struct za_err *e = NULL;
  size_t len = 0;
  json_t *j;
  if (za_read_file_at (s->fd, "repos.json", MAX_REPOS, &data, &len, &e) < 0)
    {
      struct stat st;
      if (fstatat (s->fd, "repos.json", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        {
          *out = json_pack ("{s:[]}", "images");
          return *out ? 0 : oom (err);
        }
      za_err_append (err, &e);
      return -1;
    }
  j = json_loadb (data, len, 0, NULL);
  if (!j || !json_is_array (json_object_get (j, "images")))
    {
      json_decref (j);
      return za_err_set (err, EINVAL, "%s/repos.json: not an image list", s->root);
    }
  *out = j;
  return 0;
}

int
za_st_repos_save (struct za_store *s, json_t *repos, struct za_err **err)
{
  cleanup_free char *text = json_dumps (repos, JSON_INDENT (1) | JSON_SORT_KEYS);
  if (!text)
    return oom (err);
  return za_write_file_atomic_at (s->fd, "repos.json", text, strlen (text), 0600, err);
}

int
za_st_image_from_json (json_t *o, struct za_store_image *im, struct za_err **err)
{
  const char *name = json_string_value (json_object_get (o, "name"));
  const char *digest = json_string_value (json_object_get (o, "digest"));
  const char *config = json_string_value (json_object_get (o, "config"));
  json_t *layers = json_object_get (o, "layers"), *it;
  size_t i;
  memset (im, 0, sizeof *im);
  if (!name || !digest || !config || !json_is_array (layers))
    return za_err_set (err, EINVAL, "repos.json: an incomplete image record");
  im->name = strdup (name);
  im->digest = strdup (digest);
  im->config = strdup (config);
  im->size = (uint64_t) json_integer_value (json_object_get (o, "size"));
  im->created = json_integer_value (json_object_get (o, "created"));
  if (!im->name || !im->digest || !im->config)
    {
      za_store_image_clear (im);
      return oom (err);
    }
  json_array_foreach (layers, i, it)
    {
      const char *h = json_string_value (it);
      if (!h || strlen (h) != 64 || strspn (h, "0123456789abcdef") != 64)
        {
          za_store_image_clear (im);
          return za_err_set (err, EINVAL, "repos.json: image `%s`: bad layer id", name);
        }
      if (za_strv_push (&im->layers, h) < 0)
        {
          za_store_image_clear (im);
          return oom (err);
        }
    }
  return 0;
}

json_t *
za_st_image_to_json (const struct za_store_image *im)
{
  json_t *layers = json_array (), *o;
  for (size_t i = 0; layers && i < im->layers.n; i++)
    json_array_append_new (layers, json_string (im->layers.v[i]));
  o = json_pack ("{s:s, s:s, s:s, s:o, s:I, s:I}", "name", im->name, "digest", im->digest,
                 "config", im->config, "layers", layers, "size", (json_int_t) im->size,
                 "created", (json_int_t) im->created);
  return o;
}

int
za_st_record (struct za_store *s, const struct za_store_image *im, struct za_err **err)
{
  cleanup_close int lock = -1;
  json_t *repos = NULL, *arr, *it, *o;
  size_t i;
  int rc;
  if (za_st_repos_lock (s, &lock, err) < 0 || za_st_repos_load (s, &repos, err) < 0)
    return -1;
  arr = json_object_get (repos, "images");
  json_array_foreach (arr, i, it)
    if (json_is_string (json_object_get (it, "name"))
        && strcmp (json_string_value (json_object_get (it, "name")), im->name) == 0)
      {
        json_array_remove (arr, i);
        break;
      }
  if (!(o = za_st_image_to_json (im)) || json_array_append_new (arr, o) < 0)
    rc = oom (err);
  else
    rc = za_st_repos_save (s, repos, err);
  json_decref (repos);
  return rc;
}

static int
cmp_images (const void *a, const void *b)
{
  return strcmp (((const struct za_store_image *) a)->name, ((const struct za_store_image *) b)->name);
}

int
za_store_list (struct za_store *s, struct za_store_image **v, size_t *n, struct za_err **err)
{
  json_t *repos = NULL, *arr, *it;
  struct za_store_image *out;
  size_t i, k = 0;
  *v = NULL;
  *n = 0;
  if (za_st_repos_load (s, &repos, err) < 0)
    return -1;
  arr = json_object_get (repos, "images");
  if (!(out = calloc (json_array_size (arr) + 1, sizeof *out)))
    {
      json_decref (repos);
      return oom (err);
    }
  json_array_foreach (arr, i, it)
    if (za_st_image_from_json (it, &out[k], NULL) == 0)
      k++;
  json_decref (repos);
  qsort (out, k, sizeof *out, cmp_images);
  *v = out;
  *n = k;
  return 0;
}

void
za_store_list_free (struct za_store_image *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    za_store_image_clear (&v[i]);
  free (v);
}

int
za_store_lookup (struct za_store *s, const char *name, struct za_store_image *out, bool *found,
                 struct za_err **err)
{
  struct za_store_image *v = NULL;
  size_t n = 0, hits = 0, hit = 0;
  const char *p = strncmp (name, "sha256:", 7) == 0 ? name + 7 : name;
  size_t plen = strlen (p);
  bool hexish = plen >= 12 && plen <= 64 && strspn (p, "0123456789abcdef") == plen;
  *found = false;
  memset (out, 0, sizeof *out);
  if (za_store_list (s, &v, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n && !*found; i++)
    if (strcmp (v[i].name, name) == 0)
      {
        *found = true;
        hit = i;
      }
  for (size_t i = 0; i < n && !*found && hexish; i++)
    if (strncmp (v[i].digest + 7, p, plen) == 0)
      {
        /* several names of one digest are one image */
        if (!hits || strcmp (v[hit].digest, v[i].digest) != 0)
          hits++;
        hit = i;
      }
  if (!*found && hits > 1)
    {
      za_store_list_free (v, n);
      return za_err_set (err, ZA_EINPUT, "`%s` names more than one image", name);
    }
  if (hits == 1)
    *found = true;
  if (*found)
    {
      *out = v[hit];
      memset (&v[hit], 0, sizeof v[hit]);
    }
  za_store_list_free (v, n);
  return 0;
}
