/* Credentials and auth challenges.  Credentials come from the files
   podman, skopeo and Docker users already have (auths.<key>.auth, base64
   "user:password"); they are kept only in memory, wiped when freed, and
   never appear in an error.  A registry's 401 names its scheme: Basic is
   answered with the registry's own credentials, Bearer with a token from
   the challenge's realm (scope repository:<repo>:pull), fetched with the
   credentials only over HTTPS.  */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "image/dl.h"
#include "image/registry_int.h"
#include "util/cleanup.h"
#include "util/fs.h"

void
za_reg_secret_free (char **s)
{
  if (*s)
    {
      explicit_bzero (*s, strlen (*s));
      free (*s);
    }
  *s = NULL;
}
#define cleanup_secret __attribute__ ((cleanup (za_reg_secret_free)))

/* ---- auth files ----------------------------------------------------- */

/* base64 "user:password" into *USER and *PASS.  */
static int
decode_auth (const char *b64, char **user, char **pass)
{
  size_t len = strlen (b64), pad = 0;
  cleanup_secret char *raw = NULL;
  char *colon;
  int n;
  if (len == 0 || len % 4 != 0 || len > 8192)
    return -1;
  raw = calloc (len / 4 * 3 + 1, 1);
  if (!raw)
    return -1;
  n = EVP_DecodeBlock ((unsigned char *) raw, (const unsigned char *) b64, (int) len);
  if (n < 0)
    return -1;
  pad = (b64[len - 1] == '=') + (b64[len - 2] == '=');
  raw[n - (int) pad] = '\0';
  if (strlen (raw) != (size_t) n - pad || !(colon = strchr (raw, ':')))
    return -1;
  *user = strndup (raw, (size_t) (colon - raw));
  *pass = strdup (colon + 1);
  if (!*user || !*pass)
    {
      za_reg_secret_free (user);
      za_reg_secret_free (pass);
      return -1;
    }
  return 0;
}

/* The keys an entry for EP may be under, most specific first: podman's
   "host/namespace" keys, "host", Docker's URL forms.  */
static int
lookup (json_t *auths, const struct za_reg_ep *ep, const char **b64)
{
  cleanup_free char *key = NULL;
  char *slash;
  static const char *const hub[] = { "https://index.docker.io/v1/", "index.docker.io",
                                     "registry-1.docker.io", "https://registry-1.docker.io", NULL };
  if (asprintf (&key, "%s/%s", ep->name, ep->repo) < 0)
    return -1;
  for (;;)
    {
      *b64 = json_string_value (json_object_get (json_object_get (auths, key), "auth"));
      if (*b64 || !(slash = strrchr (key, '/')))
        break;
      *slash = '\0';
    }
  for (const char *const *p = (const char *const[]) { "https://", "http://", NULL }; !*b64 && *p; p++)
    {
      free (key);
      key = NULL;
      if (asprintf (&key, "%s%s", *p, ep->name) < 0)
        return -1;
      *b64 = json_string_value (json_object_get (json_object_get (auths, key), "auth"));
    }
  for (size_t i = 0; !*b64 && strcmp (ep->name, "docker.io") == 0 && hub[i]; i++)
    *b64 = json_string_value (json_object_get (json_object_get (auths, hub[i]), "auth"));
  return 0;
}

/* Look EP up in FILE; *FOUND when it has an entry.  A missing file is
   no entry unless REQUIRED.  */
static int
creds_from (struct za_reg_ep *ep, const char *file, bool required, bool *found,
            struct za_err **err)
{
  cleanup_secret char *data = NULL;
  size_t len;
  json_t *j;
  const char *b64 = NULL;
  int rc = 0;

  *found = false;
  if (!required && access (file, F_OK) < 0)
    return 0;
  if (za_read_file (file, ZA_REG_MAX_AUTHFILE, &data, &len, err) < 0)
    return za_err_wrap (err, "credentials");
  /* jansson's message quotes the text near the error: not for a secrets
     file.  */
  j = json_loadb (data, len, 0, NULL);
  explicit_bzero (data, len);
  if (!json_is_object (j))
    rc = za_err_set (err, ZA_EINPUT, "credentials file `%s` is not a JSON object", file);
  else if (lookup (json_object_get (j, "auths"), ep, &b64) < 0)
    rc = za_err_set (err, ENOMEM, "out of memory");
  else if (b64 && decode_auth (b64, &ep->user, &ep->pass) < 0)
    rc = za_err_set (err, ZA_EINPUT, "credentials file `%s`: the entry for %s is not base64 user:password",
                     file, ep->name);
  else if (b64 && !(ep->cred_src = strdup (file)))
    rc = za_err_set (err, ENOMEM, "out of memory");
  else
    *found = b64 != NULL;
  /* wipe the decoded strings jansson holds before freeing them */
  if (j)
    {
      const char *k;
      json_t *v, *a;
      json_object_foreach (json_object_get (j, "auths"), k, v)
        if ((a = json_object_get (v, "auth")) && json_is_string (a))
          explicit_bzero ((char *) json_string_value (a), json_string_length (a));
    }
  json_decref (j);
  return rc;
}

int
za_reg_creds_load (struct za_reg_ep *ep, const struct za_reg_opts *o, struct za_err **err)
{
  const char *env = getenv ("REGISTRY_AUTH_FILE"), *xdg = getenv ("XDG_RUNTIME_DIR");
  const char *home = getenv ("HOME");
  cleanup_free char *a = NULL, *b = NULL;
  bool found = false;

  if (o && o->authfile)
    return creds_from (ep, o->authfile, true, &found, err);
  if (env && *env)
    return creds_from (ep, env, true, &found, err);
  if (xdg && *xdg && asprintf (&a, "%s/containers/auth.json", xdg) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  if (a && creds_from (ep, a, false, &found, err) < 0)
    return -1;
  if (found)
    return 0;
  if (home && *home && asprintf (&b, "%s/.docker/config.json", home) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  if (b && creds_from (ep, b, false, &found, err) < 0)
    return -1;
  return 0;
}

/* ---- challenges ----------------------------------------------------- */

struct challenge
{
  char *realm, *service, *scope;
};

static void
challenge_clear (struct challenge *c)
{
  free (c->realm);
  free (c->service);
  free (c->scope);
}

/* realm="…",service="…",scope="…" (RFC 7235 auth-params: token or
   quoted-string with backslash escapes).  */
static int
parse_params (const char *p, struct challenge *c)
{
  while (*p)
    {
      const char *k = p;
      size_t klen;
      struct za_strbuf v = { 0 };
      char **slot = NULL;
      while (*p && *p != '=')
        p++;
      if (*p != '=')
        return -1;
      klen = (size_t) (p - k);
      p++;
      if (*p == '"')
        {
          for (p++; *p && *p != '"'; p++)
            {
              if (*p == '\\' && p[1])
                p++;
              if (za_strbuf_add (&v, p, 1) < 0)
                return -1;
            }
          if (*p != '"')
            {
              za_strbuf_clear (&v);
              return -1;
            }
          p++;
        }
      else
        {
          const char *s = p;
          while (*p && *p != ',')
            p++;
          if (za_strbuf_add (&v, s, (size_t) (p - s)) < 0)
            return -1;
        }
      if (za_strbuf_add (&v, "", 1) < 0)
        return -1;
      if (klen == 5 && strncasecmp (k, "realm", 5) == 0)
        slot = &c->realm;
      else if (klen == 7 && strncasecmp (k, "service", 7) == 0)
        slot = &c->service;
      else if (klen == 5 && strncasecmp (k, "scope", 5) == 0)
        slot = &c->scope;
      if (slot && !*slot)
        *slot = v.data;
      else
        za_strbuf_clear (&v);
      while (*p == ',' || *p == ' ')
        p++;
    }
  return 0;
}

/* ---- tokens --------------------------------------------------------- */

struct tokbuf
{
  struct za_strbuf b;
  bool too_big;
};

static size_t
tok_write (char *buf, size_t size, size_t n, void *ud)
{
  struct tokbuf *t = ud;
  if (t->b.len + size * n > ZA_REG_MAX_TOKEN)
    {
      t->too_big = true;
      return 0;
    }
  return za_strbuf_add (&t->b, buf, size * n) < 0 ? 0 : size * n;
}

/* A token must be one header-safe word.  */
static bool
token_ok (const char *t)
{
  if (!t || !*t || strlen (t) > 16384)
    return false;
  for (; *t; t++)
    if (!isgraph ((unsigned char) *t))
      return false;
  return true;
}

static int
fetch_token (struct za_reg *r, struct za_reg_ep *ep, const struct challenge *ch, char **token,
             struct za_err **err)
{
  cleanup_free char *url = NULL;
  char *svc = NULL, errbuf[CURL_ERROR_SIZE] = "";
  struct tokbuf t = { 0 };
  CURL *c = curl_easy_init ();
  CURLcode cc;
  long status = 0;
  json_t *j = NULL;
  const char *tok;
  bool https = strncasecmp (ch->realm, "https://", 8) == 0;
  int rc = -1;

  if (!c)
    return za_err_set (err, ENOMEM, "out of memory");
  if (!https && strncasecmp (ch->realm, "http://", 7) != 0)
    {
      za_err_set (err, EPROTO, "%s: %s: token realm is not an HTTP URL", r->name, ep->host);
      goto out;
    }
  svc = curl_easy_escape (c, ch->service ? ch->service : "", 0);
  if (!svc
      || asprintf (&url, "%s%cservice=%s&scope=repository:%s:pull", ch->realm,
                   strchr (ch->realm, '?') ? '&' : '?', svc, ep->repo) < 0)
    {
      url = NULL;
      za_err_set (err, ENOMEM, "out of memory");
      goto out;
    }
  za_reg_curl_setup (r, ep, c, !ep->insecure);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, tok_write);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt (c, CURLOPT_TIMEOUT, 10 * r->timeout_s);
  /* credentials travel to the token service only over TLS */
  if (ep->user && https)
    {
      curl_easy_setopt (c, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
      curl_easy_setopt (c, CURLOPT_USERNAME, ep->user);
      curl_easy_setopt (c, CURLOPT_PASSWORD, ep->pass);
    }
  cc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  if (cc != CURLE_OK && !t.too_big)
    {
      za_reg_curl_error (ep, cc, errbuf, r->name, err);
      za_err_wrap (err, "token");
      goto out;
    }
  if (t.too_big || status != 200)
    {
      za_err_set (err, EACCES, "%s: %s: the token service refused %s (HTTP %ld)", r->name, ep->host,
                  !ep->user ? "anonymous access"
                  : https   ? "the credentials"
                            : "anonymous access (credentials go to a token service only over HTTPS)",
                  status);
      goto out;
    }
  j = json_loadb (t.b.data, t.b.len, 0, NULL);
  tok = json_string_value (json_object_get (j, "token"));
  if (!tok)
    tok = json_string_value (json_object_get (j, "access_token"));
  if (!token_ok (tok))
    {
      za_err_set (err, EPROTO, "%s: %s: the token service sent no usable token", r->name, ep->host);
      goto out;
    }
  if (!(*token = strdup (tok)))
    {
      za_err_set (err, ENOMEM, "out of memory");
      goto out;
    }
  rc = 0;
out:
  if (t.b.data)
    explicit_bzero (t.b.data, t.b.len);
  za_strbuf_clear (&t.b);
  json_decref (j);
  curl_free (svc);
  curl_easy_cleanup (c);
  return rc;
}

int
za_reg_auth_answer (struct za_reg *r, struct za_reg_ep *ep, const struct za_reg_resp *resp,
                    struct za_err **err)
{
  struct challenge ch = { 0 };
  char *token = NULL;
  const char *h = resp->challenge;
  int rc = 1;

  if (h && strncasecmp (h, "basic", 5) == 0 && (h[5] == ' ' || !h[5]))
    {
      if (!ep->user)
        return 1;
      /* the caller repeats a request once: a second 401 is a refusal */
      pthread_mutex_lock (&r->lock);
      ep->auth = ZA_REG_AUTH_BASIC;
      pthread_mutex_unlock (&r->lock);
      return 0;
    }
  if (!h || strncasecmp (h, "bearer ", 7) != 0)
    return 1;
  if (parse_params (h + 7, &ch) < 0 || !ch.realm)
    {
      challenge_clear (&ch);
      return za_err_set (err, EPROTO, "%s: %s: malformed WWW-Authenticate challenge", r->name,
                         ep->host);
    }
  /* Concurrent fetches that met a 401 each fetch a token; the last one
     stored is used by later requests (they are equivalent).  */
  if (fetch_token (r, ep, &ch, &token, err) < 0)
    rc = -1;
  else
    {
      pthread_mutex_lock (&r->lock);
      za_reg_secret_free (&ep->token);
      ep->token = token;
      ep->auth = ZA_REG_AUTH_BEARER;
      pthread_mutex_unlock (&r->lock);
      rc = 0;
    }
  challenge_clear (&ch);
  return rc;
}
