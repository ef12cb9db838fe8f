/* Internals of the registry client shared by image/registry*.c: the
   session, its endpoints (mirrors first, then the registry), one HTTP
   exchange with auth and redirects, credentials, config and TLS.  */
#ifndef ZA_IMAGE_REGISTRY_INT_H
#define ZA_IMAGE_REGISTRY_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "image/registry.h"
#include "image/registry_dl.h"
#include "util/strv.h"

#define ZA_REG_MAX_MANIFEST (4u << 20) /* the distribution spec's bound */
#define ZA_REG_MAX_TOKEN (1u << 20)
#define ZA_REG_MAX_AUTHFILE (1u << 20)
#define ZA_REG_MAX_CONFIG (1u << 20)
#define ZA_REG_MAX_HEADERS (1u << 20)
#define ZA_REG_MAX_REDIRECTS 5
#define ZA_REG_RETRIES 4             /* attempts after the first */
#define ZA_REG_DEFAULT_TIMEOUT_S 30

enum za_reg_scheme { ZA_REG_UNKNOWN, ZA_REG_HTTPS, ZA_REG_HTTP };
enum za_reg_auth { ZA_REG_AUTH_NONE, ZA_REG_AUTH_BASIC, ZA_REG_AUTH_BEARER };

/* A place the repository can be fetched from: a mirror or the registry.  */
struct za_reg_ep
{
  char *host;     /* host[:port] connected to ("registry-1.docker.io") */
  char *name;     /* host as users name it, for credentials ("docker.io") */
  char *repo;     /* repository on this endpoint (a mirror may prefix it) */
  bool insecure;  /* plain HTTP or unverified TLS allowed */
  char *ca_pem;   /* extra CA certificates from the cert dirs, or NULL */
  size_t ca_len;
  char *cert_dirs; /* "DIR, DIR" searched, for certificate errors */
  char *client_cert, *client_key; /* NAME.cert and NAME.key of a cert dir */
  char *user, *pass; /* credentials for NAME, or NULL */
  char *cred_src;  /* the file they came from */
  /* guarded by za_reg.lock */
  enum za_reg_scheme scheme;
  enum za_reg_auth auth;
  char *token;
};

struct za_reg
{
  struct za_image_ref ref;
  char *name;  /* the reference as errors show it */
  struct za_reg_ep *ep;
  size_t n_ep;
  long active; /* endpoint that answered, -1 until one did (lock) */
  long timeout_s;
  pthread_mutex_t lock;
  CURLSH *share;
  pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
};

/* Where a response body goes: memory (bounded) or a file descriptor,
   hashed and bounded to the expected size as it streams.  */
struct za_reg_sink
{
  struct za_strbuf mem;
  size_t max;
  int fd;                 /* -1: memory */
  struct evp_md_ctx_st *md;
  uint64_t got, expect;
  bool too_big;
  int write_errno;
  za_reg_progress_fn progress;
  void *progress_arg;
  const char *digest;
};

struct za_reg_resp
{
  long status;
  char *content_type, *docker_digest, *location, *challenge;
  char errcode[48];       /* errors[0].code of a registry error body */
  size_t header_bytes;
  bool headers_too_big;   /* more than ZA_REG_MAX_HEADERS: aborted */
  bool body_cut;          /* an error body past its bound: dropped */
  struct za_strbuf errbody;
};
void za_reg_resp_clear (struct za_reg_resp *resp);

/* One request to EP for PATH (after "/v2/<repo>/"), METHOD "GET" or
   "HEAD", retried with backoff on transient failures: auth challenges
   answered, redirects followed by hand (credentials only to EP's own
   host).  0 with RESP->status set (any status), or -1 with a transport
   error naming WHAT.  SINK is reset before each try.  */
int za_reg_request (struct za_reg *r, struct za_reg_ep *ep, const char *method, const char *path,
                    const char *accept, struct za_reg_sink *sink, struct za_reg_resp *resp,
                    const char *what, struct za_err **err);
int za_reg_sink_reset (struct za_reg_sink *s, struct za_err **err);

/* Credentials for EP (from O's authfile chain) into EP->user/pass.  */
int za_reg_creds_load (struct za_reg_ep *ep, const struct za_reg_opts *o, struct za_err **err);
/* Answer the challenge of RESP for EP: a Bearer token fetched (with EP's
   credentials only over HTTPS), or Basic when EP has credentials.  0 when
   the request may be repeated, 1 when it cannot be answered.  */
int za_reg_auth_answer (struct za_reg *r, struct za_reg_ep *ep, const struct za_reg_resp *resp,
                        struct za_err **err);
void za_reg_secret_free (char **s);

/* The endpoints of REF: mirrors from the config, then the registry.  */
int za_reg_endpoints (struct za_reg *r, const struct za_reg_opts *o, struct za_err **err);
/* Common options of every easy handle of R (timeouts, TLS for EP).  */
int za_reg_curl_setup (struct za_reg *r, struct za_reg_ep *ep, CURL *c, bool verify);
/* Errno-like code and one line for a curl failure CC talking to EP.  */
int za_reg_curl_error (struct za_reg_ep *ep, CURLcode cc, const char *errbuf, const char *what,
                       struct za_err **err);

#endif
