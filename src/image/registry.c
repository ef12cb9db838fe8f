/* The registry client's session and its three operations: resolve a
   reference to this machine's manifest, HEAD a tag, stream a blob.  Each
   goes to the endpoint that answered before, or tries the mirrors and
   then the registry in order (registry_conf.c).  */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/blob.h"
#include "image/dl.h"
#include "image/platform.h"
#include "image/registry_int.h"
#include "util/cleanup.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1"
#define ACCEPT MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST
#define MAX_INDEX_DEPTH 4

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

void
za_reg_manifest_clear (struct za_reg_manifest *m)
{
  free (m->media_type);
  free (m->digest);
  free (m->bytes);
  memset (m, 0, sizeof *m);
}

/* ---- session ---------------------------------------------------------- */

static void
share_lock (CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
  struct za_reg *r = u;
  (void) h;
  (void) a;
  pthread_mutex_lock (&r->share_lock[d]);
}

static void
share_unlock (CURL *h, curl_lock_data d, void *u)
{
  struct za_reg *r = u;
  (void) h;
  pthread_mutex_unlock (&r->share_lock[d]);
}

static int
copy_ref (struct za_image_ref *dst, const struct za_image_ref *src)
{
  dst->host = strdup (src->host);
  dst->repo = strdup (src->repo);
  dst->tag = src->tag ? strdup (src->tag) : NULL;
  dst->digest = src->digest ? strdup (src->digest) : NULL;
  return dst->host && dst->repo && (dst->tag || !src->tag) && (dst->digest || !src->digest) ? 0 : -1;
}

int
za_reg_open (struct za_reg **out, const struct za_image_ref *ref, const struct za_reg_opts *o,
             struct za_err **err)
{
  struct za_reg *r;
  uint64_t t = o && o->timeout_ns ? o->timeout_ns : ZA_REG_DEFAULT_TIMEOUT_S * 1000000000ull;

  *out = NULL;
  if (za_image_dl_load (err) < 0 || za_reg_curl_load (err) < 0)
    return -1;
  if (!(r = calloc (1, sizeof *r)))
    return oom (err);
  r->active = -1;
  r->timeout_s = (long) ((t + 999999999ull) / 1000000000ull);
  pthread_mutex_init (&r->lock, NULL);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init (&r->share_lock[i], NULL);
  if (copy_ref (&r->ref, ref) < 0 || !(r->name = za_image_ref_string (ref))
      || !(r->share = curl_share_init ()))
    {
      za_reg_close (r);
      return oom (err);
    }
  curl_share_setopt (r->share, CURLSHOPT_LOCKFUNC, share_lock);
  curl_share_setopt (r->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
  curl_share_setopt (r->share, CURLSHOPT_USERDATA, r);
  curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt (r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  if (za_reg_endpoints (r, o, err) < 0)
    {
      za_err_wrap (err, "%s", r->name);
      za_reg_close (r);
      return -1;
    }
  *out = r;
  return 0;
}

void
za_reg_close (struct za_reg *r)
{
  if (!r)
    return;
  for (size_t i = 0; i < r->n_ep; i++)
    {
      struct za_reg_ep *ep = &r->ep[i];
      free (ep->host);
      free (ep->name);
      free (ep->repo);
      free (ep->ca_pem);
      free (ep->cert_dirs);
      free (ep->client_cert);
      free (ep->client_key);
      free (ep->cred_src);
      za_reg_secret_free (&ep->user);
      za_reg_secret_free (&ep->pass);
      za_reg_secret_free (&ep->token);
    }
  free (r->ep);
  if (r->share)
    curl_share_cleanup (r->share);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy (&r->share_lock[i]);
  pthread_mutex_destroy (&r->lock);
  za_image_ref_clear (&r->ref);
  free (r->name);
  free (r);
}

typedef int (*ep_fn) (struct za_reg *r, struct za_reg_ep *ep, void *arg, struct za_err **err);

/* FN on the endpoint that answered before, else on each in order until
   one succeeds; the error is the last endpoint's (the registry's).  */
static int
with_endpoints (struct za_reg *r, ep_fn fn, void *arg, struct za_err **err)
{
  struct za_err *last = NULL;
  long active;
  pthread_mutex_lock (&r->lock);
  active = r->active;
  pthread_mutex_unlock (&r->lock);
  if (active >= 0)
    return fn (r, &r->ep[active], arg, err);
  for (size_t i = 0; i < r->n_ep; i++)
    {
      za_err_free (&last);
      if (fn (r, &r->ep[i], arg, &last) == 0)
        {
          pthread_mutex_lock (&r->lock);
          if (r->active < 0)
            r->active = (long) i;
          pthread_mutex_unlock (&r->lock);
          return 0;
        }
    }
  za_err_append (err, &last);
  return -1;
}

/* ---- responses -------------------------------------------------------- */

static int
status_error (const struct za_reg_ep *ep, const struct za_reg_resp *resp, const char *what,
              const char *thing, struct za_err **err)
{
  char code[64] = "";
  if (resp->errcode[0])
    snprintf (code, sizeof code, " (%s)", resp->errcode);
  switch (resp->status)
    {
    case 404:
      return za_err_set (err, ZA_EINPUT, "%s: %s not found on %s%s", what, thing, ep->host, code);
    case 401:
      if (ep->user)
        return za_err_set (err, EACCES, "%s: %s refused the credentials for %s from `%s`%s", what,
                           ep->host, ep->name, ep->cred_src, code);
      return za_err_set (err, EACCES,
                         "%s: %s requires authentication and no credentials for %s were found "
                         "(--authfile, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, "
                         "~/.docker/config.json)%s",
                         what, ep->host, ep->name, code);
    case 403:
      return za_err_set (err, EACCES, "%s: %s denied access%s", what, ep->host, code);
    default:
      return za_err_set (err, EIO, "%s: %s answered HTTP %ld for %s%s", what, ep->host,
                         resp->status, thing, code);
    }
}

static int
sha256_hex (const void *p, size_t len, char hex[65], struct za_err **err)
{
  struct evp_md_ctx_st *md = NULL;
  unsigned char sum[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  int rc = -1;
  if (za_digest_init (&md, err) < 0)
    return -1;
  if (EVP_DigestUpdate (md, p, len) == 1 && EVP_DigestFinal_ex (md, sum, &n) == 1 && n == 32)
    {
      for (unsigned i = 0; i < n; i++)
        snprintf (hex + 2 * i, 3, "%02x", sum[i]);
      rc = 0;
    }
  else
    za_err_set (err, ENOMEM, "SHA-256 failed");
  za_digest_free (&md);
  return rc;
}

static bool
is_sha256 (const char *d)
{
  size_t i;
  if (!d || strncmp (d, "sha256:", 7) != 0)
    return false;
  for (i = 7; d[i]; i++)
    if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
      return false;
  return i == 71;
}

/* ---- manifests -------------------------------------------------------- */

/* The manifest type CT names (any case, parameters ignored), or NULL.  */
static const char *
known_type (const char *ct)
{
  static const char *const types[] = { MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST,
                                       MT_DOCKER_LIST };
  size_t len = strcspn (ct, "; ");
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strlen (types[i]) == len && strncasecmp (ct, types[i], len) == 0)
      return types[i];
  return NULL;
}

/* The manifest REFPART (a tag or digest) of EP; EXPECT (or a digest
   REFPART) pins its digest and size.  */
static int
fetch_manifest (struct za_reg *r, struct za_reg_ep *ep, const char *refpart,
                const struct za_desc *expect, struct za_reg_manifest *out, struct za_err **err)
{
  struct za_reg_sink sink = { .fd = -1, .max = ZA_REG_MAX_MANIFEST };
  struct za_reg_resp resp = { 0 };
  cleanup_free char *path = NULL, *thing = NULL;
  char hex[65];
  const char *want = expect ? expect->hex : is_sha256 (refpart) ? refpart + 7 : NULL;
  const char *ct, *mt;
  json_t *j = NULL;
  int rc = -1;

  memset (out, 0, sizeof *out);
  if (asprintf (&path, "manifests/%s", refpart) < 0 || asprintf (&thing, "manifest %s", refpart) < 0)
    return oom (err);
  if (za_reg_request (r, ep, "GET", path, ACCEPT, &sink, &resp, r->name, err) < 0)
    goto out;
  if (sink.too_big)
    {
      za_err_set (err, ZA_EINPUT, "%s: %s is larger than %u MiB", r->name, thing,
                  ZA_REG_MAX_MANIFEST >> 20);
      goto out;
    }
  if (resp.status != 200)
    {
      status_error (ep, &resp, r->name, thing, err);
      goto out;
    }
  if (sha256_hex (sink.mem.data ? sink.mem.data : "", sink.mem.len, hex, err) < 0)
    goto out;
  if ((want && strcmp (want, hex) != 0)
      || (!want && is_sha256 (resp.docker_digest) && strcmp (resp.docker_digest + 7, hex) != 0))
    {
      za_err_set (err, ZA_EINPUT, "%s: %s: digest mismatch (content is sha256:%s)", r->name, thing, hex);
      goto out;
    }
  if (expect && expect->size != sink.mem.len)
    {
      za_err_set (err, ZA_EINPUT, "%s: %s: %zu bytes, the index says %ju", r->name, thing,
                  sink.mem.len, (uintmax_t) expect->size);
      goto out;
    }
  j = json_loadb (sink.mem.data ? sink.mem.data : "", sink.mem.len, 0, NULL);
  ct = resp.content_type;
  if (!json_is_object (j))
    {
      za_err_set (err, ZA_EINPUT, "%s: %s is not a JSON object", r->name, thing);
      goto out;
    }
  if (json_integer_value (json_object_get (j, "schemaVersion")) == 1
      || (ct && strncasecmp (ct, MT_DOCKER_V1, strlen (MT_DOCKER_V1)) == 0))
    {
      za_err_set (err, ZA_EINPUT,
                  "%s: %s is a Docker schema 1 manifest, which is not supported; push the image "
                  "again with a current client (schema 2 or OCI)",
                  r->name, thing);
      goto out;
    }
  /* the document's own mediaType, else the index entry's, else a
     Content-Type that names a manifest type ("application/json" does
     not), else what the document looks like */
  mt = json_string_value (json_object_get (j, "mediaType"));
  if (!mt && expect && expect->media_type)
    mt = expect->media_type;
  if (!mt && ct)
    mt = known_type (ct);
  out->media_type = strdup (mt ? mt : json_object_get (j, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST);
  if (asprintf (&out->digest, "sha256:%s", hex) < 0)
    out->digest = NULL;
  out->len = sink.mem.len;
  out->bytes = (unsigned char *) steal_pointer (&sink.mem.data);
  if (!out->media_type || !out->digest || (!out->bytes && !(out->bytes = calloc (1, 1))))
    {
      oom (err);
      goto out;
    }
  rc = 0;
out:
  if (rc < 0)
    za_reg_manifest_clear (out);
  json_decref (j);
  za_strbuf_clear (&sink.mem);
  za_reg_resp_clear (&resp);
  return rc;
}

static bool
is_index (const char *mt)
{
  return strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0;
}

static bool
is_image (const char *mt)
{
  return strcmp (mt, MT_OCI_MANIFEST) == 0 || strcmp (mt, MT_DOCKER_MANIFEST) == 0;
}

/* The descriptor INDEX offers for this machine.  */
static int
pick_child (struct za_reg *r, const struct za_reg_manifest *index, struct za_desc *child,
            struct za_err **err)
{
  json_t *j = json_loadb ((const char *) index->bytes, index->len, 0, NULL);
  json_t *manifests = json_object_get (j, "manifests");
  cleanup_free size_t *cand = NULL;
  cleanup_free char *what = NULL;
  size_t n = json_array_size (manifests), chosen;
  int rc = -1;

  memset (child, 0, sizeof *child);
  if (asprintf (&what, "%s: image index %s", r->name, index->digest) < 0)
    what = NULL;
  if (!what || !(cand = calloc (n + 1, sizeof *cand)))
    oom (err);
  else if (!json_is_array (manifests))
    za_err_set (err, ZA_EINPUT, "%s: \"manifests\" must be a list", what);
  else
    {
      for (size_t i = 0; i < n; i++)
        cand[i] = i;
      if (za_image_pick_platform (manifests, cand, n, what, &chosen, err) == 0)
        rc = za_desc_parse (json_array_get (manifests, chosen), what, child, err);
    }
  json_decref (j);
  return rc;
}

static int
manifest_dup (struct za_reg_manifest *dst, const struct za_reg_manifest *src)
{
  dst->media_type = strdup (src->media_type);
  dst->digest = strdup (src->digest);
  dst->bytes = malloc (src->len + 1);
  dst->len = src->len;
  if (!dst->media_type || !dst->digest || !dst->bytes)
    {
      za_reg_manifest_clear (dst);
      return -1;
    }
  memcpy (dst->bytes, src->bytes, src->len);
  return 0;
}

struct resolve_out
{
  struct za_reg_manifest *top, *image;
};

static int
resolve_at (struct za_reg *r, struct za_reg_ep *ep, void *arg, struct za_err **err)
{
  struct resolve_out *o = arg;
  struct za_reg_manifest cur, top = { 0 };
  const char *refpart = r->ref.digest ? r->ref.digest : r->ref.tag;

  if (fetch_manifest (r, ep, refpart, NULL, &cur, err) < 0)
    return -1;
  for (unsigned depth = 0;; depth++)
    {
      struct za_desc child;
      char digest[72];
      int rc;
      if (depth == 0 && o->top && manifest_dup (&top, &cur) < 0)
        break;
      if (is_image (cur.media_type))
        {
          if (o->top)
            *o->top = top;
          if (o->image)
            *o->image = cur;
          else
            za_reg_manifest_clear (&cur);
          return 0;
        }
      if (!is_index (cur.media_type))
        za_err_set (err, ZA_EINPUT, "%s: manifest %s has the unsupported media type `%s`", r->name,
                    cur.digest, cur.media_type);
      else if (depth >= MAX_INDEX_DEPTH)
        za_err_set (err, ZA_EINPUT, "%s: image indexes nested too deeply", r->name);
      else if (pick_child (r, &cur, &child, err) == 0)
        {
          snprintf (digest, sizeof digest, "sha256:%s", child.hex);
          za_reg_manifest_clear (&cur);
          rc = fetch_manifest (r, ep, digest, &child, &cur, err);
          za_desc_clear (&child);
          if (rc == 0)
            continue;
          za_reg_manifest_clear (&top);
          return -1;
        }
      else
        za_desc_clear (&child);
      break;
    }
  za_reg_manifest_clear (&cur);
  za_reg_manifest_clear (&top);
  return -1;
}

int
za_reg_resolve (struct za_reg *r, struct za_reg_manifest *top, struct za_reg_manifest *image,
                struct za_err **err)
{
  struct resolve_out o = { top, image };
  if (top)
    memset (top, 0, sizeof *top);
  if (image)
    memset (image, 0, sizeof *image);
  return with_endpoints (r, resolve_at, &o, err);
}

static int
head_at (struct za_reg *r, struct za_reg_ep *ep, void *arg, struct za_err **err)
{
  char **out = arg;
  struct za_reg_sink sink = { .fd = -1, .max = 0 };
  struct za_reg_resp resp = { 0 };
  struct za_reg_manifest m;
  cleanup_free char *path = NULL, *thing = NULL;
  int rc = -1;

  if (asprintf (&path, "manifests/%s", r->ref.tag) < 0 || asprintf (&thing, "tag %s", r->ref.tag) < 0)
    return oom (err);
  if (za_reg_request (r, ep, "HEAD", path, ACCEPT, &sink, &resp, r->name, err) < 0)
    goto out;
  if (resp.status != 200)
    status_error (ep, &resp, r->name, thing, err);
  else if (is_sha256 (resp.docker_digest))
    rc = (*out = strdup (resp.docker_digest)) ? 0 : oom (err);
  /* a registry that does not say the digest: fetch and hash it */
  else if (fetch_manifest (r, ep, r->ref.tag, NULL, &m, err) == 0)
    {
      *out = steal_pointer (&m.digest);
      za_reg_manifest_clear (&m);
      rc = 0;
    }
out:
  za_reg_resp_clear (&resp);
  return rc;
}

int
za_reg_head (struct za_reg *r, char **digest_out, struct za_err **err)
{
  *digest_out = NULL;
  if (!r->ref.tag)
    return (*digest_out = strdup (r->ref.digest)) ? 0 : oom (err);
  return with_endpoints (r, head_at, digest_out, err);
}

/* ---- blobs ------------------------------------------------------------ */

struct blob_job
{
  const char *digest, *what;
  struct za_reg_sink *sink;
};

static int
blob_at (struct za_reg *r, struct za_reg_ep *ep, void *arg, struct za_err **err)
{
  struct blob_job *b = arg;
  struct za_reg_resp resp = { 0 };
  cleanup_free char *path = NULL;
  struct za_desc d = { 0 };
  int rc = -1;

  if (asprintf (&path, "blobs/%s", b->digest) < 0)
    return oom (err);
  if (za_reg_request (r, ep, "GET", path, NULL, b->sink, &resp, b->what, err) < 0)
    goto out;
  if (b->sink->too_big)
    za_err_set (err, ZA_EINPUT, "%s: larger than the %ju bytes the manifest says", b->what,
                (uintmax_t) b->sink->expect);
  else if (resp.status != 200)
    status_error (ep, &resp, b->what, "the blob", err);
  else if (b->sink->got != b->sink->expect)
    za_err_set (err, ZA_EINPUT, "%s: %ju bytes, the manifest says %ju", b->what,
                (uintmax_t) b->sink->got, (uintmax_t) b->sink->expect);
  else
    {
      memcpy (d.hex, b->digest + 7, 64);
      rc = za_digest_check (b->sink->md, &d, b->what, err);
    }
out:
  za_reg_resp_clear (&resp);
  return rc;
}

int
za_reg_fetch_blob (struct za_reg *r, const char *digest, uint64_t size, int fd,
                   za_reg_progress_fn progress, void *arg, struct za_err **err)
{
  struct za_reg_sink sink = { .fd = fd, .expect = size, .progress = progress,
                              .progress_arg = arg, .digest = digest };
  cleanup_free char *what = NULL;
  struct blob_job b = { .digest = digest, .sink = &sink };
  int rc;

  if (!is_sha256 (digest))
    return za_err_set (err, ZA_EINPUT, "%s: blob `%s`: not a sha256 digest", r->name,
                       digest ? digest : "");
  if (asprintf (&what, "%s: blob %s", r->name, digest) < 0)
    return oom (err);
  b.what = what;
  if (za_digest_init (&sink.md, err) < 0)
    return -1;
  rc = with_endpoints (r, blob_at, &b, err);
  za_digest_free (&sink.md);
  return rc;
}
