/* Where a repository is fetched from and how: zagent's registries config
   (mirrors, insecure registries; docs/images.md "## Registries"), the
   per-registry certificate dirs, and the curl options every request of a
   session shares.  */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/registry_int.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define DEFAULT_CONFIG "/etc/zagent/registries.json"
#define MAX_CA_FILE (1u << 20)
#define MAX_SYSTEM_CAS (16u << 20)
#define MAX_MIRRORS 16

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

/* ---- certificates ----------------------------------------------------- */

static bool
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a > b && strcmp (s + a - b, suffix) == 0;
}

/* A client certificate NAME.cert of DIR needs its key NAME.key, as for
   podman; curl reads both when it connects.  */
static int
client_pair (struct za_reg_ep *ep, const char *dir, const char *cert, struct za_err **err)
{
  int n = (int) (strlen (cert) - 5);
  if (asprintf (&ep->client_cert, "%s/%s", dir, cert) < 0)
    ep->client_cert = NULL;
  if (asprintf (&ep->client_key, "%s/%.*s.key", dir, n, cert) < 0)
    ep->client_key = NULL;
  if (!ep->client_cert || !ep->client_key)
    return oom (err);
  if (access (ep->client_key, R_OK) < 0)
    return za_err_set (err, ZA_EINPUT, "%s: client certificate `%s` has no key `%.*s.key` beside it",
                       ep->host, ep->client_cert, n, cert);
  return 0;
}

/* Every DIR/NAME.crt appended to EP's CA certificates (and the first
   NAME.cert with its NAME.key as the client certificate).  A missing DIR is
   fine unless REQUIRED (--cert-dir).  */
static int
load_ca_dir (struct za_reg_ep *ep, const char *dir, bool required, struct za_strbuf *pem,
             struct za_err **err)
{
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *e;
  if (!d)
    {
      if (errno == ENOENT && !required)
        return 0;
      return za_err_sys_as (err, required ? ZA_EINPUT : errno, errno, "certificate dir `%s`", dir);
    }
  while ((e = readdir (d)))
    {
      cleanup_free char *path = NULL, *data = NULL;
      size_t len;
      if (e->d_name[0] != '.' && ends_with (e->d_name, ".cert") && !ep->client_cert
          && client_pair (ep, dir, e->d_name, err) < 0)
        return -1;
      if (e->d_name[0] == '.' || !ends_with (e->d_name, ".crt"))
        continue;
      if (asprintf (&path, "%s/%s", dir, e->d_name) < 0)
        return oom (err);
      if (za_read_file (path, MAX_CA_FILE, &data, &len, err) < 0)
        return za_err_wrap (err, "%s: CA certificate", ep->host);
      if (za_strbuf_add (pem, data, len) < 0 || za_strbuf_add (pem, "\n", 1) < 0)
        return oom (err);
    }
  return 0;
}

/* The system bundle curl would load.  CURLOPT_CAINFO_BLOB may replace the
   default file rather than add to it, so the blob carries both (OpenSSL
   accepts a certificate that is already in the store).  */
static int
add_system_cas (struct za_strbuf *pem, struct za_err **err)
{
  CURL *c = curl_easy_init ();
  char *path = NULL;
  cleanup_free char *data = NULL;
  size_t len;
  int rc = 0;
  if (c)
    curl_easy_getinfo (c, CURLINFO_CAINFO, &path);
  if (!path)
    path = "/etc/ssl/certs/ca-certificates.crt";
  if (access (path, F_OK) == 0)
    {
      if (za_read_file (path, MAX_SYSTEM_CAS, &data, &len, err) < 0)
        rc = za_err_wrap (err, "system CA certificates");
      else if (za_strbuf_add (pem, data, len) < 0 || za_strbuf_add (pem, "\n", 1) < 0)
        rc = oom (err);
    }
  if (c)
    curl_easy_cleanup (c);
  return rc;
}

static int
load_cas (struct za_reg_ep *ep, const struct za_reg_opts *o, struct za_err **err)
{
  struct za_strbuf pem = { 0 };
  cleanup_free char *a = NULL, *b = NULL;
  int rc;

  if (o && o->cert_dir)
    {
      rc = load_ca_dir (ep, o->cert_dir, true, &pem, err);
      ep->cert_dirs = strdup (o->cert_dir);
    }
  else
    {
      if (asprintf (&a, "/etc/containers/certs.d/%s", ep->host) < 0
          || asprintf (&b, "/etc/docker/certs.d/%s", ep->host) < 0)
        return oom (err);
      rc = load_ca_dir (ep, a, false, &pem, err) < 0 || load_ca_dir (ep, b, false, &pem, err) < 0
               ? -1
               : 0;
      if (asprintf (&ep->cert_dirs, "%s, %s", a, b) < 0)
        ep->cert_dirs = NULL;
    }
  if (rc == 0 && pem.len > 0 && add_system_cas (&pem, err) < 0)
    rc = -1;
  if (rc < 0 || !ep->cert_dirs)
    {
      za_strbuf_clear (&pem);
      return rc < 0 ? -1 : oom (err);
    }
  ep->ca_pem = pem.data;
  ep->ca_len = pem.len;
  return 0;
}

/* ---- endpoints -------------------------------------------------------- */

static int
add_ep (struct za_reg *r, const char *name, const char *repo, bool insecure,
        const struct za_reg_opts *o, struct za_err **err)
{
  struct za_reg_ep *ep;
  if (o && o->tls_verify == 0)
    insecure = true;
  else if (o && o->tls_verify == 1)
    insecure = false;
  ep = &r->ep[r->n_ep++];
  /* Docker Hub's API lives on another name than the one users write */
  ep->host = strdup (strcmp (name, "docker.io") == 0 ? "registry-1.docker.io" : name);
  ep->name = strdup (name);
  ep->repo = strdup (repo);
  ep->insecure = insecure;
  if (!ep->host || !ep->name || !ep->repo)
    return oom (err);
  if (load_cas (ep, o, err) < 0 || za_reg_creds_load (ep, o, err) < 0)
    return -1;
  return 0;
}

static int
load_config (const struct za_reg_opts *o, json_t **out, const char **path_out, struct za_err **err)
{
  const char *env = getenv ("ZAGENT_REGISTRIES_CONF");
  bool required = (o && o->config) || (env && *env);
  const char *path = o && o->config ? o->config : env && *env ? env : DEFAULT_CONFIG;
  cleanup_free char *data = NULL;
  size_t len;
  json_error_t je;

  *out = NULL;
  *path_out = path;
  if (!required && access (path, F_OK) < 0)
    return 0;
  if (za_read_file (path, ZA_REG_MAX_CONFIG, &data, &len, err) < 0)
    return za_err_wrap (err, "registries config");
  *out = json_loadb (data, len, 0, &je);
  if (!*out)
    return za_err_set (err, ZA_EINPUT, "%s:%d:%d: %s", path, je.line, je.column, je.text);
  if (!json_is_object (*out) || (json_object_get (*out, "registries")
                                  && !json_is_object (json_object_get (*out, "registries"))))
    return za_err_set (err, ZA_EINPUT, "%s: expected {\"registries\": {HOST: {…}}}", path);
  return 0;
}

static bool
flag (json_t *o, const char *key)
{
  return json_is_true (json_object_get (o, key));
}

/* A mirror location "host[:port][/namespace]" read with the reference
   grammar, so that "LOCATION/REPO" is a reference on that host.  */
static int
add_mirror (struct za_reg *r, json_t *m, size_t i, json_t *registries, const char *cfg,
            const struct za_reg_opts *o, struct za_err **err)
{
  const char *loc = json_is_string (m) ? json_string_value (m)
                                       : json_string_value (json_object_get (m, "location"));
  cleanup_free char *full = NULL;
  struct za_image_ref mr;
  bool insecure;
  int rc;

  if (!loc)
    return za_err_set (err, ZA_EINPUT, "%s: registries.%s.mirrors[%zu]: needs a \"location\"", cfg,
                       r->ref.host, i);
  if (asprintf (&full, "%s/%s", loc, r->ref.repo) < 0)
    return oom (err);
  if (za_image_ref_parse (full, &mr, NULL) < 0 || strcmp (mr.host, "docker.io") == 0)
    {
      za_image_ref_clear (&mr);
      return za_err_set (err, ZA_EINPUT,
                         "%s: registries.%s.mirrors[%zu]: location `%s` is not host[:port][/path]",
                         cfg, r->ref.host, i, loc);
    }
  insecure = flag (m, "insecure") || flag (json_object_get (registries, mr.host), "insecure");
  rc = add_ep (r, mr.host, mr.repo, insecure, o, err);
  za_image_ref_clear (&mr);
  return rc;
}

int
za_reg_endpoints (struct za_reg *r, const struct za_reg_opts *o, struct za_err **err)
{
  json_t *cfg = NULL, *registries, *mine, *mirrors, *m;
  const char *path;
  size_t n, i;
  int rc = -1;

  if (load_config (o, &cfg, &path, err) < 0)
    goto out;
  registries = json_object_get (cfg, "registries");
  mine = json_object_get (registries, r->ref.host);
  mirrors = json_object_get (mine, "mirrors");
  if (mirrors && !json_is_array (mirrors))
    {
      za_err_set (err, ZA_EINPUT, "%s: registries.%s.mirrors: expected a list", path, r->ref.host);
      goto out;
    }
  n = json_array_size (mirrors);
  if (n > MAX_MIRRORS)
    {
      za_err_set (err, ZA_EINPUT, "%s: registries.%s.mirrors: at most %d", path, r->ref.host,
                  MAX_MIRRORS);
      goto out;
    }
  r->ep = calloc (n + 1, sizeof *r->ep);
  if (!r->ep)
    {
      oom (err);
      goto out;
    }
  json_array_foreach (mirrors, i, m)
    if (add_mirror (r, m, i, registries, path, o, err) < 0)
      goto out;
  rc = add_ep (r, r->ref.host, r->ref.repo, flag (mine, "insecure"), o, err);
out:
  json_decref (cfg);
  return rc;
}

/* ---- curl ------------------------------------------------------------- */

int
za_reg_curl_setup (struct za_reg *r, struct za_reg_ep *ep, CURL *c, bool verify)
{
  curl_easy_setopt (c, CURLOPT_SHARE, r->share);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "zagent/" ZAGENT_VERSION);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, r->timeout_s);
  /* a transfer that moves less than 1 KiB/s for the timeout is stalled */
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, r->timeout_s);
  curl_easy_setopt (c, CURLOPT_TCP_KEEPALIVE, 1L);
  /* fewer, larger writes and hash updates for big blobs (default 16 KiB) */
  curl_easy_setopt (c, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  if (ep->client_cert)
    {
      curl_easy_setopt (c, CURLOPT_SSLCERT, ep->client_cert);
      curl_easy_setopt (c, CURLOPT_SSLKEY, ep->client_key);
    }
  if (verify && ep->ca_pem)
    {
      /* the system CAs plus the registry's (load_cas) */
      struct curl_blob b = { .data = ep->ca_pem, .len = ep->ca_len, .flags = CURL_BLOB_NOCOPY };
      curl_easy_setopt (c, CURLOPT_CAINFO_BLOB, &b);
    }
  return 0;
}

int
za_reg_curl_error (struct za_reg_ep *ep, CURLcode cc, const char *errbuf, const char *what,
                   struct za_err **err)
{
  const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror (cc);
  switch (cc)
    {
    case CURLE_COULDNT_RESOLVE_HOST:
      return za_err_set (err, EHOSTUNREACH, "%s: cannot resolve %s", what, ep->host);
    case CURLE_COULDNT_CONNECT:
      return za_err_set (err, ECONNREFUSED, "%s: cannot connect to %s: %s", what, ep->host, why);
    case CURLE_OPERATION_TIMEDOUT:
      return za_err_set (err, ETIMEDOUT, "%s: %s stalled (no progress within the timeout): %s",
                         what, ep->host, why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      return za_err_set (err, EPROTO,
                         "%s: the TLS certificate of %s is not trusted (%s); CA certificates "
                         "searched: the system's, %s",
                         what, ep->host, why, ep->cert_dirs ? ep->cert_dirs : "");
    case CURLE_SSL_CONNECT_ERROR:
      return za_err_set (err, EPROTO,
                         "%s: TLS handshake with %s failed (%s)%s", what, ep->host, why,
                         ep->insecure ? ""
                                      : "; a plain-HTTP registry needs --tls-verify=false or "
                                        "\"insecure\": true in the registries config");
    default:
      return za_err_set (err, EIO, "%s: %s: %s", what, ep->host, why);
    }
}
