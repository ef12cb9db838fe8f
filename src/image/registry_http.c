/* One exchange with a registry endpoint on libcurl: curl never follows a
   redirect itself (a blob is often redirected to a storage host, and the
   Authorization header must not go there), so each hop is a request of
   ours that carries credentials only to the endpoint's own origin.  A 401
   is answered once through registry_auth.c; transient failures are
   retried with a capped backoff, a bounded number of times.  */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "image/dl.h"
#include "image/registry_int.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MAX_HEADER 8192
#define MAX_ERRBODY 16384

void
za_reg_resp_clear (struct za_reg_resp *resp)
{
  free (resp->content_type);
  free (resp->docker_digest);
  free (resp->location);
  free (resp->challenge);
  za_strbuf_clear (&resp->errbody);
  memset (resp, 0, sizeof *resp);
}

int
za_reg_sink_reset (struct za_reg_sink *s, struct za_err **err)
{
  s->mem.len = 0;
  s->got = 0;
  s->too_big = false;
  s->write_errno = 0;
  if (s->fd >= 0 && (ftruncate (s->fd, 0) < 0 || lseek (s->fd, 0, SEEK_SET) < 0))
    return za_err_sys (err, errno, "rewind the blob file");
  if (s->md && EVP_DigestInit_ex (s->md, EVP_sha256 (), NULL) != 1)
    return za_err_set (err, ENOMEM, "cannot initialise SHA-256");
  return 0;
}

/* ---- callbacks ------------------------------------------------------ */

struct xfer
{
  CURL *c;
  struct za_reg_sink *sink;
  struct za_reg_resp *resp;
};

static void
set_header (char **slot, const char *v, size_t len)
{
  if (*slot)
    return; /* the first one counts */
  *slot = strndup (v, len);
}

static size_t
header_cb (char *buf, size_t size, size_t n, void *ud)
{
  struct xfer *x = ud;
  size_t len = size * n, nlen;
  const char *colon, *v;

  x->resp->header_bytes += len;
  if (x->resp->header_bytes > ZA_REG_MAX_HEADERS)
    {
      x->resp->headers_too_big = true;
      return 0;
    }
  if (len >= 5 && memcmp (buf, "HTTP/", 5) == 0)
    {
      /* a new response (after 100 Continue): forget the last headers */
      char **slots[] = { &x->resp->content_type, &x->resp->docker_digest, &x->resp->location,
                         &x->resp->challenge };
      for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        {
          free (*slots[i]);
          *slots[i] = NULL;
        }
      return len;
    }
  colon = memchr (buf, ':', len);
  if (!colon || len > MAX_HEADER)
    return len;
  nlen = (size_t) (colon - buf);
  v = colon + 1;
  while (v < buf + len && (*v == ' ' || *v == '\t'))
    v++;
  len = (size_t) (buf + len - v);
  while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
    len--;
  if (nlen == 12 && strncasecmp (buf, "content-type", 12) == 0)
    set_header (&x->resp->content_type, v, len);
  else if (nlen == 21 && strncasecmp (buf, "docker-content-digest", 21) == 0)
    set_header (&x->resp->docker_digest, v, len);
  else if (nlen == 8 && strncasecmp (buf, "location", 8) == 0)
    set_header (&x->resp->location, v, len);
  else if (nlen == 16 && strncasecmp (buf, "www-authenticate", 16) == 0)
    {
      /* Bearer is preferred over Basic when a server offers both */
      if (x->resp->challenge && strncasecmp (x->resp->challenge, "bearer ", 7) != 0
          && len > 7 && strncasecmp (v, "bearer ", 7) == 0)
        {
          free (x->resp->challenge);
          x->resp->challenge = NULL;
        }
      set_header (&x->resp->challenge, v, len);
    }
  return size * n;
}

static size_t
write_cb (char *buf, size_t size, size_t n, void *ud)
{
  struct xfer *x = ud;
  struct za_reg_sink *s = x->sink;
  size_t len = size * n;
  long code = 0;

  curl_easy_getinfo (x->c, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300)
    {
      /* an error or redirect body: kept for its error code, and cut off
         at the bound (the status is all that matters) */
      if (x->resp->errbody.len + len > MAX_ERRBODY || za_strbuf_add (&x->resp->errbody, buf, len) < 0)
        {
          x->resp->body_cut = true;
          return 0;
        }
      return len;
    }
  if (s->fd < 0)
    {
      if (s->mem.len + len > s->max)
        {
          s->too_big = true;
          return 0;
        }
      if (za_strbuf_add (&s->mem, buf, len) < 0)
        {
          s->write_errno = ENOMEM;
          return 0;
        }
    }
  else
    {
      if (s->got + len > s->expect)
        {
          s->too_big = true;
          return 0;
        }
      if (za_write_all (s->fd, buf, len) < 0)
        {
          s->write_errno = errno ? errno : EIO;
          return 0;
        }
    }
  if (s->md && EVP_DigestUpdate (s->md, buf, len) != 1)
    {
      s->write_errno = ENOMEM;
      return 0;
    }
  s->got += len;
  if (s->progress)
    s->progress (s->progress_arg, s->digest, s->got, s->expect);
  return len;
}

/* errors[0].code of a distribution error body, when it is a plain code  */
static void
error_code (struct za_reg_resp *resp)
{
  json_t *j, *e;
  const char *code;
  size_t i;
  if (resp->errbody.len == 0)
    return;
  j = json_loadb (resp->errbody.data, resp->errbody.len, 0, NULL);
  e = json_array_get (json_object_get (j, "errors"), 0);
  code = json_string_value (json_object_get (e, "code"));
  if (code && strlen (code) < sizeof resp->errcode)
    {
      for (i = 0; code[i]; i++)
        if (!((code[i] >= 'A' && code[i] <= 'Z') || code[i] == '_'))
          break;
      if (!code[i])
        strcpy (resp->errcode, code);
    }
  json_decref (j);
}

/* ---- one hop -------------------------------------------------------- */

static void
free_secret_slist (struct curl_slist **h, char **auth_line)
{
  curl_slist_free_all (*h);
  za_reg_secret_free (auth_line);
}

static int
perform (struct za_reg *r, struct za_reg_ep *ep, const char *method, const char *url,
         const char *accept, bool send_auth, struct za_reg_sink *sink, struct za_reg_resp *resp,
         CURLcode *cc, char *errbuf, struct za_err **err)
{
  struct curl_slist *h = NULL, *t;
  char *auth_line = NULL, *acc = NULL;
  struct xfer x = { .sink = sink, .resp = resp };
  CURL *c = curl_easy_init ();
  int rc = -1;

  if (!c)
    return za_err_set (err, ENOMEM, "cannot create an HTTP handle");
  x.c = c;
  errbuf[0] = '\0';
  if (accept && asprintf (&acc, "Accept: %s", accept) < 0)
    acc = NULL;
  if (accept && (!acc || !(t = curl_slist_append (h, acc))))
    goto oom;
  if (accept)
    h = t;
  if (send_auth)
    {
      enum za_reg_auth auth;
      pthread_mutex_lock (&r->lock);
      auth = ep->auth;
      if (auth == ZA_REG_AUTH_BEARER && ep->token
          && asprintf (&auth_line, "Authorization: Bearer %s", ep->token) < 0)
        auth_line = NULL;
      pthread_mutex_unlock (&r->lock);
      if (auth == ZA_REG_AUTH_BASIC && ep->user)
        {
          curl_easy_setopt (c, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
          curl_easy_setopt (c, CURLOPT_USERNAME, ep->user);
          curl_easy_setopt (c, CURLOPT_PASSWORD, ep->pass);
        }
      if (auth_line)
        {
          if (!(t = curl_slist_append (h, auth_line)))
            goto oom;
          h = t;
        }
    }
  za_reg_curl_setup (r, ep, c, !ep->insecure);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &x);
  if (strcmp (method, "HEAD") == 0)
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  /* small documents (manifests) also get a bound on the whole exchange:
     1 KiB/s would still let 4 MiB take an hour */
  if (sink->fd < 0)
    curl_easy_setopt (c, CURLOPT_TIMEOUT, 10 * r->timeout_s);
  *cc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &resp->status);
  error_code (resp);
  rc = 0;
  goto out;
oom:
  za_err_set (err, ENOMEM, "out of memory");
out:
  curl_easy_cleanup (c);
  free_secret_slist (&h, &auth_line);
  free (acc);
  return rc;
}

/* ---- origins and redirects ------------------------------------------ */

struct origin
{
  char *scheme, *host, *port;
};

static void
origin_clear (struct origin *o)
{
  curl_free (o->scheme);
  curl_free (o->host);
  curl_free (o->port);
}

static int
origin_of (const char *url, struct origin *o)
{
  CURLU *u = curl_url ();
  int rc = -1;
  memset (o, 0, sizeof *o);
  if (u && curl_url_set (u, CURLUPART_URL, url, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_SCHEME, &o->scheme, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_HOST, &o->host, 0) == CURLUE_OK
      && curl_url_get (u, CURLUPART_PORT, &o->port, CURLU_DEFAULT_PORT) == CURLUE_OK)
    rc = 0;
  curl_url_cleanup (u);
  return rc;
}

static bool
same_origin (const char *a, const char *b)
{
  struct origin x, y;
  bool same = origin_of (a, &x) == 0 && origin_of (b, &y) == 0 && strcmp (x.scheme, y.scheme) == 0
              && strcasecmp (x.host, y.host) == 0 && strcmp (x.port, y.port) == 0;
  origin_clear (&x);
  origin_clear (&y);
  return same;
}

/* LOCATION relative to URL; only http(s), and https never downgraded
   unless EP is insecure.  */
static int
follow (struct za_reg_ep *ep, const char *url, const char *location, char **next, const char *what,
        struct za_err **err)
{
  CURLU *u = curl_url ();
  char *s = NULL, *scheme = NULL;
  int rc = -1;
  if (!u)
    return za_err_set (err, ENOMEM, "out of memory");
  if (curl_url_set (u, CURLUPART_URL, url, 0) != CURLUE_OK
      || curl_url_set (u, CURLUPART_URL, location, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_URL, &s, 0) != CURLUE_OK)
    za_err_set (err, EPROTO, "%s: %s: redirected to an invalid URL", what, ep->host);
  else if (strcmp (scheme, "https") != 0 && strcmp (scheme, "http") != 0)
    za_err_set (err, EPROTO, "%s: %s: redirected to a `%s` URL", what, ep->host, scheme);
  else if (strcmp (scheme, "http") == 0 && strncmp (url, "https:", 6) == 0 && !ep->insecure)
    za_err_set (err, EPROTO, "%s: %s: redirected from HTTPS to plain HTTP", what, ep->host);
  else if (!(*next = strdup (s)))
    za_err_set (err, ENOMEM, "out of memory");
  else
    rc = 0;
  curl_free (s);
  curl_free (scheme);
  curl_url_cleanup (u);
  return rc;
}

static bool
is_redirect (long status)
{
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* ---- one request (auth, redirects, scheme fallback) ----------------- */

static char *
endpoint_url (const struct za_reg_ep *ep, enum za_reg_scheme scheme, const char *path)
{
  char *s = NULL;
  if (asprintf (&s, "%s://%s/v2/%s%s%s", scheme == ZA_REG_HTTP ? "http" : "https", ep->host,
                path ? ep->repo : "", path && *path ? "/" : "", path ? path : "")
      < 0)
    return NULL;
  return s;
}

static int
exchange (struct za_reg *r, struct za_reg_ep *ep, const char *method, const char *path,
          const char *accept, struct za_reg_sink *sink, struct za_reg_resp *resp, CURLcode *cc,
          char *errbuf, const char *what, struct za_err **err)
{
  cleanup_free char *url = NULL, *home = NULL;
  enum za_reg_scheme scheme;
  bool fallback, answered = false;

  pthread_mutex_lock (&r->lock);
  scheme = ep->scheme;
  pthread_mutex_unlock (&r->lock);
  /* An insecure registry may speak TLS (unverified) or plain HTTP: try
     TLS first, as podman does, and remember what worked.  */
  fallback = scheme == ZA_REG_UNKNOWN && ep->insecure;
  if (scheme == ZA_REG_UNKNOWN)
    scheme = ZA_REG_HTTPS;
  if (!(url = endpoint_url (ep, scheme, path)) || !(home = strdup (url)))
    return za_err_set (err, ENOMEM, "out of memory");
  for (int hop = 0; hop <= ZA_REG_MAX_REDIRECTS; hop++)
    {
      bool own = same_origin (url, home);
      char *next = NULL;
      za_reg_resp_clear (resp);
      if (za_reg_sink_reset (sink, err) < 0
          || perform (r, ep, method, url, accept, own, sink, resp, cc, errbuf, err) < 0)
        return -1;
      if (*cc == CURLE_SSL_CONNECT_ERROR && fallback && hop == 0)
        {
          fallback = false;
          scheme = ZA_REG_HTTP;
          free (url);
          free (home);
          home = NULL;
          if (!(url = endpoint_url (ep, scheme, path)) || !(home = strdup (url)))
            return za_err_set (err, ENOMEM, "out of memory");
          hop = -1;
          continue;
        }
      if (*cc == CURLE_WRITE_ERROR && resp->body_cut)
        *cc = CURLE_OK;
      if (resp->headers_too_big)
        return za_err_set (err, EPROTO, "%s: %s sent more than %u KiB of headers", what, ep->host,
                           ZA_REG_MAX_HEADERS >> 10);
      if (*cc != CURLE_OK)
        return 0;
      if (hop == 0)
        {
          pthread_mutex_lock (&r->lock);
          ep->scheme = scheme;
          pthread_mutex_unlock (&r->lock);
        }
      if (resp->status == 401 && own && !answered)
        {
          int a = za_reg_auth_answer (r, ep, resp, err);
          if (a < 0)
            return -1;
          if (a == 0)
            {
              answered = true;
              hop--;
              continue;
            }
          return 0;
        }
      if (!is_redirect (resp->status) || !resp->location)
        return 0;
      if (follow (ep, url, resp->location, &next, what, err) < 0)
        return -1;
      free (url);
      url = next;
    }
  return za_err_set (err, EPROTO, "%s: %s: more than %d redirects", what, ep->host,
                     ZA_REG_MAX_REDIRECTS);
}

static bool
transient (CURLcode cc)
{
  switch (cc)
    {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
    }
}

static void
backoff (int attempt)
{
  long ms = 250L << attempt;
  struct timespec ts;
  if (ms > 4000)
    ms = 4000;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

int
za_reg_request (struct za_reg *r, struct za_reg_ep *ep, const char *method, const char *path,
                const char *accept, struct za_reg_sink *sink, struct za_reg_resp *resp,
                const char *what, struct za_err **err)
{
  char errbuf[CURL_ERROR_SIZE];
  for (int attempt = 0;; attempt++)
    {
      CURLcode cc = CURLE_OK;
      if (exchange (r, ep, method, path, accept, sink, resp, &cc, errbuf, what, err) < 0)
        return -1;
      if (cc == CURLE_OK)
        {
          bool retry = resp->status == 429 || resp->status == 500 || resp->status == 502
                       || resp->status == 503 || resp->status == 504;
          if (!retry || attempt >= ZA_REG_RETRIES)
            return 0;
        }
      else if (cc == CURLE_WRITE_ERROR && sink->write_errno)
        return za_err_sys (err, sink->write_errno, "%s: write", what);
      else if (cc == CURLE_WRITE_ERROR && sink->too_big)
        return 0; /* the caller names the bound */
      else if (!transient (cc) || attempt >= ZA_REG_RETRIES)
        return za_reg_curl_error (ep, cc, errbuf, what, err);
      backoff (attempt);
    }
}
