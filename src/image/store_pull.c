/* Getting images into the layer store: from a registry (pull policies,
   concurrent layer downloads, a progress display) or from a local OCI
   layout, both through one path: manifest, config, then each missing
   layer fetched into the blob store and unpacked once, a few layers at
   a time.  */
#define _GNU_SOURCE
#include "image/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/dl.h"
#include "image/layout.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MAX_MANIFEST (4u << 20)
/* Layers fetched and unpacked at once: enough to fill a link with a few
   large layers, few enough not to thrash a small disk.  */
#define PULL_THREADS 4
#define COPY_CHUNK (256u * 1024)

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

/* ---- progress ----------------------------------------------------- */

struct progress
{
  pthread_mutex_t mu;
  bool on, drawn;
  size_t n;
  uint64_t *done, *total;
  char (*label)[20];
  struct timespec last;
};

static void
fmt_bytes (char *buf, size_t len, uint64_t v)
{
  if (v >= (UINT64_C (1) << 20))
    snprintf (buf, len, "%.1f MB", (double) v / (1 << 20));
  else
    snprintf (buf, len, "%.1f kB", (double) v / 1024);
}

/* One line per layer, redrawn in place; called with MU held.  */
static void
progress_draw (struct progress *p, bool force)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  if (!force && p->drawn
      && (now.tv_sec - p->last.tv_sec) * 1000000000L + (now.tv_nsec - p->last.tv_nsec) < 100000000L)
    return;
  p->last = now;
  if (p->drawn)
    fprintf (stderr, "\033[%zuA", p->n);
  for (size_t i = 0; i < p->n; i++)
    {
      char a[32], b[32];
      fmt_bytes (a, sizeof a, p->done[i]);
      fmt_bytes (b, sizeof b, p->total[i]);
      fprintf (stderr, "\r\033[K%s  %s / %s%s\n", p->label[i], a, b,
               p->done[i] >= p->total[i] ? "  done" : "");
    }
  p->drawn = true;
  fflush (stderr);
}

static void
progress_set (struct progress *p, size_t i, uint64_t bytes)
{
  if (!p->on)
    return;
  pthread_mutex_lock (&p->mu);
  p->done[i] = bytes;
  progress_draw (p, bytes >= p->total[i]);
  pthread_mutex_unlock (&p->mu);
}

static int
progress_init (struct progress *p, bool quiet, const struct za_manifest *m, struct za_err **err)
{
  memset (p, 0, sizeof *p);
  pthread_mutex_init (&p->mu, NULL);
  p->on = !quiet && isatty (STDERR_FILENO) && m->n_layers > 0;
  if (!p->on)
    return 0;
  p->n = m->n_layers;
  p->done = calloc (p->n, sizeof *p->done);
  p->total = calloc (p->n, sizeof *p->total);
  p->label = calloc (p->n, sizeof *p->label);
  if (!p->done || !p->total || !p->label)
    return oom (err);
  for (size_t i = 0; i < p->n; i++)
    {
      p->total[i] = m->layers[i].size;
      snprintf (p->label[i], sizeof p->label[i], "%.12s", m->layers[i].hex);
    }
  return 0;
}

static void
progress_clear (struct progress *p)
{
  free (p->done);
  free (p->total);
  free (p->label);
  pthread_mutex_destroy (&p->mu);
}

/* ---- sources ------------------------------------------------------ */

struct source
{
  struct za_reg *reg; /* a registry, or */
  int layout_fd;      /* an OCI layout */
  struct progress *pg;
};

struct fetch_ctx
{
  struct source *src;
  size_t index; /* layer index for progress; (size_t) -1 for others */
};

static void
reg_progress (void *arg, const char *digest, uint64_t bytes, uint64_t total)
{
  struct fetch_ctx *c = arg;
  (void) digest;
  (void) total;
  if (c->index != (size_t) -1)
    progress_set (c->src->pg, c->index, bytes);
}

/* A layout blob copied into FD, hashed as it goes.  */
static int
copy_from_layout (struct fetch_ctx *c, const struct za_desc *d, int fd, struct za_err **err)
{
  cleanup_free char *name = za_blob_name (d, "blob"), *buf = malloc (COPY_CHUNK);
  cleanup_close int in = -1;
  EVP_MD_CTX *md = NULL;
  uint64_t got = 0;
  int rc = 0;
  if (!name || !buf)
    return oom (err);
  if (za_blob_open (c->src->layout_fd, d, name, &in, err) < 0 || za_digest_init (&md, err) < 0)
    return -1;
  for (;;)
    {
      ssize_t n = za_read_retry (in, buf, COPY_CHUNK);
      if (n < 0)
        {
          rc = za_err_sys (err, errno, "%s: read", name);
          break;
        }
      if (n == 0)
        break;
      got += (uint64_t) n;
      if (got > d->size)
        break;
      if (EVP_DigestUpdate (md, buf, (size_t) n) != 1)
        {
          rc = za_err_set (err, ENOMEM, "SHA-256 failed");
          break;
        }
      if (za_write_all (fd, buf, (size_t) n) < 0)
        {
          rc = za_err_sys (err, errno, "store %s", name);
          break;
        }
      if (c->index != (size_t) -1)
        progress_set (c->src->pg, c->index, got);
    }
  if (rc == 0 && got != d->size)
    rc = za_err_set (err, ZA_EINPUT, "%s: size does not match descriptor size %ju", name,
                     (uintmax_t) d->size);
  if (rc == 0)
    rc = za_digest_check (md, d, name, err);
  za_digest_free (&md);
  return rc;
}

static int
source_write (void *ctx, const struct za_desc *d, int fd, struct za_err **err)
{
  struct fetch_ctx *c = ctx;
  char digest[80];
  if (!c->src->reg)
    return copy_from_layout (c, d, fd, err);
  snprintf (digest, sizeof digest, "sha256:%s", d->hex);
  return za_reg_fetch_blob (c->src->reg, digest, d->size, fd, reg_progress, c, err);
}

/* ---- layers, a few at a time -------------------------------------- */

struct job
{
  struct za_store *s;
  struct source *src;
  const struct za_desc *d;
  const char *diff_hex, *chain_hex;
  size_t index, n;
  struct za_err *err, *warn;
};

struct pool
{
  struct job *jobs;
  size_t n, next;
  pthread_mutex_t mu;
  bool failed;
};

static void
run_job (struct job *j)
{
  struct fetch_ctx c = { j->src, j->index };
  char role[64];
  snprintf (role, sizeof role, "layer %zu of %zu", j->index + 1, j->n);
  if (za_st_layer_present (j->s, j->chain_hex))
    {
      progress_set (j->src->pg, j->index, j->d->size);
      return;
    }
  if (za_st_blob_ingest (j->s, j->d, source_write, &c, &j->err) < 0
      || za_st_layer_ensure (j->s, j->d, j->diff_hex, j->chain_hex, role, &j->warn, &j->err) < 0)
    return;
  progress_set (j->src->pg, j->index, j->d->size);
}

static void *
worker (void *arg)
{
  struct pool *p = arg;
  for (;;)
    {
      struct job *j = NULL;
      pthread_mutex_lock (&p->mu);
      /* after a failure, start nothing new */
      if (p->next < p->n && !p->failed)
        j = &p->jobs[p->next++];
      pthread_mutex_unlock (&p->mu);
      if (!j)
        return NULL;
      run_job (j);
      if (j->err)
        {
          pthread_mutex_lock (&p->mu);
          p->failed = true;
          pthread_mutex_unlock (&p->mu);
        }
    }
}

static int
run_jobs (struct job *jobs, size_t n, struct za_err **warn, struct za_err **err)
{
  struct pool p = { .jobs = jobs, .n = n };
  pthread_t th[PULL_THREADS];
  size_t started = 0;
  int rc = 0;
  pthread_mutex_init (&p.mu, NULL);
  for (size_t i = 0; i < PULL_THREADS && i < n; i++)
    if (pthread_create (&th[started], NULL, worker, &p) == 0)
      started++;
  if (started == 0)
    worker (&p); /* no thread to be had: do it here */
  for (size_t i = 0; i < started; i++)
    pthread_join (th[i], NULL);
  pthread_mutex_destroy (&p.mu);
  for (size_t i = 0; i < n; i++)
    {
      if (jobs[i].err)
        rc = -1;
      za_err_append (err, &jobs[i].err);
      za_err_append (warn, &jobs[i].warn);
    }
  return rc;
}

/* ---- one image ---------------------------------------------------- */

/* MDESC's manifest is in the store; get its config and layers there and
   record the image as NAME.  */
static int
store_image (struct za_store *s, struct source *src, const char *name, const struct za_desc *mdesc,
             bool quiet, struct za_store_image *out, struct za_err **warn, struct za_err **err)
{
  cleanup_free char *data = NULL;
  cleanup_strv struct za_strv diff_ids = { 0 }, chains = { 0 };
  cleanup_free struct job *jobs = NULL;
  struct za_manifest m = { 0 };
  struct progress pg;
  struct fetch_ctx cfg = { src, (size_t) -1 };
  struct za_store_image im = { 0 };
  size_t len = 0;
  int rc = -1;

  if (za_blob_read (s->fd, mdesc, "manifest", MAX_MANIFEST, &data, &len, err) < 0
      || za_manifest_parse (data, len, mdesc, &m, err) < 0)
    {
      za_manifest_clear (&m);
      return -1;
    }
  if (progress_init (&pg, quiet, &m, err) < 0)
    goto out;
  src->pg = &pg;
  if (za_st_blob_ingest (s, &m.config, source_write, &cfg, err) < 0
      || za_st_config_diff_ids (s, &m.config, &diff_ids, err) < 0)
    goto out;
  if (diff_ids.n != m.n_layers)
    {
      za_err_set (err, ZA_EINPUT, "manifest sha256:%s has %zu layers, its config %zu diff_ids",
                  m.hex, m.n_layers, diff_ids.n);
      goto out;
    }
  if (za_st_chain_ids (&diff_ids, &chains, err) < 0)
    goto out;
  if (!(jobs = calloc (m.n_layers + 1, sizeof *jobs)))
    {
      oom (err);
      goto out;
    }
  for (size_t i = 0; i < m.n_layers; i++)
    {
      jobs[i] = (struct job) { .s = s, .src = src, .d = &m.layers[i], .diff_hex = diff_ids.v[i],
                               .chain_hex = chains.v[i], .index = i, .n = m.n_layers };
      im.size += m.layers[i].size;
    }
  if (run_jobs (jobs, m.n_layers, warn, err) < 0)
    goto out;
  im.name = strdup (name);
  if (asprintf (&im.digest, "sha256:%s", mdesc->hex) < 0)
    im.digest = NULL;
  if (asprintf (&im.config, "sha256:%s", m.config.hex) < 0)
    im.config = NULL;
  im.created = (int64_t) time (NULL);
  if (!im.name || !im.digest || !im.config)
    {
      oom (err);
      goto out;
    }
  for (size_t i = 0; i < chains.n; i++)
    if (za_strv_push (&im.layers, chains.v[i]) < 0)
      {
        oom (err);
        goto out;
      }
  if (za_st_record (s, &im, err) < 0)
    goto out;
  *out = im;
  memset (&im, 0, sizeof im);
  rc = 0;
out:
  za_store_image_clear (&im);
  za_manifest_clear (&m);
  progress_clear (&pg);
  src->pg = NULL;
  return rc;
}

/* The shared hold every pull keeps; first, when nobody else holds the
   store, the sweep of what dead pulls left.  */
static int
begin (struct za_store *s, int *hold, struct za_err **err)
{
  int fd = -1, r = za_st_gc (s, true, true, &fd, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      za_st_sweep (s);
      close (fd);
    }
  return za_st_gc (s, false, false, hold, err) < 0 ? -1 : 0;
}

/* Whether IM's layers are all there.  */
static bool
complete (struct za_store *s, const struct za_store_image *im)
{
  for (size_t i = 0; i < im->layers.n; i++)
    if (!za_st_layer_present (s, im->layers.v[i]))
      return false;
  return im->layers.n > 0;
}

int
za_store_import_layout (struct za_store *s, const char *dir, const char *tag, bool quiet,
                        struct za_store_image *out, struct za_err **warn, struct za_err **err)
{
  cleanup_free char *abs = NULL, *name = NULL;
  cleanup_close int dfd = -1, hold = -1;
  struct za_desc md = { 0 };
  struct source src = { .layout_fd = -1 };
  struct fetch_ctx mc = { &src, (size_t) -1 };
  struct za_store_image have = { 0 };
  bool found = false;
  int rc;

  if (za_image_dl_load_crypto (err) < 0)
    return -1;
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
  if (dfd < 0)
    return za_err_sys_as (err, (errno == ENOENT || errno == ENOTDIR) ? ZA_EINPUT : errno, errno,
                          "open layout directory `%s`", dir);
  if (!(abs = realpath (dir, NULL)))
    return za_err_sys (err, errno, "realpath `%s`", dir);
  if (asprintf (&name, "oci:%s%s%s", abs, tag ? ":" : "", tag ? tag : "") < 0)
    return oom (err);
  src.layout_fd = dfd;
  if (za_image_layout_resolve (dfd, tag, &md, err) < 0)
    return -1;
  if (begin (s, &hold, err) < 0)
    {
      za_desc_clear (&md);
      return -1;
    }
  /* the same manifest already stored under this name: nothing to do */
  if (za_store_lookup (s, name, &have, &found, NULL) == 0 && found
      && za_st_digest_hex (have.digest) && strcmp (za_st_digest_hex (have.digest), md.hex) == 0
      && complete (s, &have))
    {
      *out = have;
      za_desc_clear (&md);
      return 0;
    }
  za_store_image_clear (&have);
  rc = za_st_blob_ingest (s, &md, source_write, &mc, err);
  if (rc == 0)
    rc = store_image (s, &src, name, &md, quiet, out, warn, err);
  za_desc_clear (&md);
  return rc;
}

static int
pull_from_registry (struct za_store *s, const struct za_image_ref *ref, const char *name,
                    const struct za_pull_opts *o, struct za_store_image *out,
                    struct za_err **warn, struct za_err **err)
{
  struct za_reg_manifest top = { 0 }, image = { 0 };
  struct source src = { .layout_fd = -1 };
  struct za_desc md = { 0 };
  const char *hex;
  int rc = -1;

  if (za_reg_open (&src.reg, ref, &o->reg, err) < 0)
    return -1;
  if (za_reg_resolve (src.reg, &top, &image, err) < 0)
    goto out;
  if (!(hex = za_st_digest_hex (image.digest)))
    {
      za_err_set (err, ZA_EINPUT, "image `%s`: manifest digest `%s` is not sha256", name,
                  image.digest ? image.digest : "");
      goto out;
    }
  snprintf (md.hex, sizeof md.hex, "%s", hex);
  md.size = image.len;
  if (za_st_blob_put (s, &md, image.bytes, image.len, err) < 0)
    goto out;
  rc = store_image (s, &src, name, &md, o->quiet, out, warn, err);
out:
  za_reg_manifest_clear (&top);
  za_reg_manifest_clear (&image);
  za_reg_close (src.reg);
  return rc;
}

static int
pull (struct za_store *s, const char *refs, const struct za_pull_opts *o,
      struct za_store_image *out, struct za_err **warn, struct za_err **err)
{
  struct za_image_ref ref = { 0 };
  cleanup_free char *name = NULL;
  cleanup_close int hold = -1;
  struct za_store_image have = { 0 };
  enum za_pull_policy policy = o->policy < 0 ? ZA_PULL_IF_NOT_PRESENT : (enum za_pull_policy) o->policy;
  bool found = false;
  int rc = -1;

  memset (out, 0, sizeof *out);
  if (za_image_dl_load_crypto (err) < 0 || za_image_ref_parse (refs, &ref, err) < 0)
    return -1;
  if (!(name = za_image_ref_string (&ref)))
    {
      za_image_ref_clear (&ref);
      return oom (err);
    }
  if (begin (s, &hold, err) < 0 || za_store_lookup (s, name, &have, &found, err) < 0)
    goto out;
  found = found && complete (s, &have);
  if (policy == ZA_PULL_NEVER && !found)
    {
      za_err_set (err, ZA_EINPUT, "not in the store (as `%s`) and the pull policy is never", name);
      goto out;
    }
  if (found && (policy == ZA_PULL_NEVER || policy == ZA_PULL_IF_NOT_PRESENT
                || (ref.digest && strcmp (ref.digest, have.digest) == 0)))
    {
      *out = have;
      memset (&have, 0, sizeof have);
      rc = 0;
      goto out;
    }
  if (found && policy == ZA_PULL_NEWER)
    {
      struct za_reg *r = NULL;
      char *now = NULL;
      bool same;
      struct za_err *e = NULL;
      if (za_reg_open (&r, &ref, &o->reg, &e) < 0 || za_reg_head (r, &now, &e) < 0)
        {
          za_reg_close (r);
          /* as podman's "newer": a registry that cannot be asked keeps
             the stored image (a bad reference or tag is still an error) */
          if (za_err_is_input (e))
            {
              za_err_append (err, &e);
              goto out;
            }
          za_err_wrap_all (&e, "image `%s`: cannot check for a newer image; using the stored one", name);
          za_err_append (warn, &e);
          za_err_free (&e);
          now = strdup (have.digest);
        }
      else
        za_reg_close (r);
      same = now && strcmp (now, have.digest) == 0;
      free (now);
      if (same)
        {
          *out = have;
          memset (&have, 0, sizeof have);
          rc = 0;
          goto out;
        }
    }
  rc = pull_from_registry (s, &ref, name, o, out, warn, err);
out:
  za_store_image_clear (&have);
  za_image_ref_clear (&ref);
  return rc;
}

int
za_store_pull (struct za_store *s, const char *ref, const struct za_pull_opts *o,
               struct za_store_image *out, struct za_err **warn, struct za_err **err)
{
  struct za_err *e = NULL;
  if (pull (s, ref, o, out, warn, &e) == 0)
    return 0;
  za_err_wrap_all (&e, "image `%s`", ref);
  za_err_append (err, &e);
  return -1;
}
