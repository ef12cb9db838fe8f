/* OCI distribution client (registry API v2, as Docker Hub, GHCR, Quay,
   Harbor and distribution speak it) on libcurl: references and their
   normalisation, manifests (OCI manifest and index, Docker schema 2 and
   manifest list) resolved to this machine's platform, blobs streamed and
   verified, auth (anonymous, Bearer from the WWW-Authenticate challenge,
   Basic) from the files podman/skopeo/Docker users already have, TLS with
   the per-registry certificate dirs, mirrors and insecure registries from
   zagent's registries config.

   This header is the contract between the registry client
   (image/registry*.c, image/ref.c) and the layer store (image/store*.c):
   the store decides where bytes go, the client fetches and verifies them.
   Errors: ZA_EINPUT for bad input (a bad reference, an unknown image or
   tag, a digest or size mismatch, a schema-1 or foreign-platform-only
   image); any other code for system or network failures.  Credentials
   never appear in an error, a log line or a request to another host.  */
#ifndef ZA_IMAGE_REGISTRY_H
#define ZA_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* A normalised reference: "nginx" → host "docker.io", repo
   "library/nginx", tag "latest", digest NULL.  With a digest the tag may
   be NULL ("busybox@sha256:…" keeps tag NULL; "busybox:1@sha256:…" keeps
   both, the digest pins the content).  */
struct za_image_ref
{
  char *host;   /* "docker.io", "localhost:5000", "127.0.0.1:41234" */
  char *repo;   /* "library/nginx" */
  char *tag;    /* "latest"; NULL only when digest is set */
  char *digest; /* "sha256:<64 hex>" or NULL */
};

/* Parse and normalise S; ZA_EINPUT naming S and what is wrong.  */
int za_image_ref_parse (const char *s, struct za_image_ref *out, struct za_err **err);
/* "host/repo:tag" or "host/repo@digest" (or both); caller frees.  */
char *za_image_ref_string (const struct za_image_ref *r);
void za_image_ref_clear (struct za_image_ref *r);

struct za_reg_opts
{
  const char *authfile;  /* --authfile; NULL = $REGISTRY_AUTH_FILE, then
                            ${XDG_RUNTIME_DIR}/containers/auth.json, then
                            ~/.docker/config.json */
  const char *cert_dir;  /* --cert-dir; NULL = /etc/containers/certs.d/HOST
                            and /etc/docker/certs.d/HOST */
  int tls_verify;        /* -1 = default (verify unless the config marks the
                            registry insecure), 0 = --tls-verify=false
                            (plain HTTP allowed), 1 = force verify */
  const char *config;    /* registries config path; NULL = the default
                            (documented in docs/images.md) */
  uint64_t timeout_ns;   /* bound on a stalled transfer; 0 = default */
};

/* A manifest as fetched: its raw bytes (what the digest is over), media
   type and digest.  */
struct za_reg_manifest
{
  char *media_type;
  char *digest;        /* "sha256:…" of BYTES */
  unsigned char *bytes;
  size_t len;
};
void za_reg_manifest_clear (struct za_reg_manifest *m);

struct za_reg;

/* A session for REF's repository: mirrors (from the config) are tried in
   order before the registry itself, on the first request that needs
   them.  */
int za_reg_open (struct za_reg **out, const struct za_image_ref *ref, const struct za_reg_opts *o,
                 struct za_err **err);
void za_reg_close (struct za_reg *r);

/* The manifest for this machine's platform: REF's digest, else its tag;
   an index or manifest list is resolved (os/architecture/variant of this
   machine).  *TOP gets the top-level manifest (the index when there is
   one, else the same manifest as *IMAGE); either may be NULL.  */
int za_reg_resolve (struct za_reg *r, struct za_reg_manifest *top, struct za_reg_manifest *image,
                    struct za_err **err);

/* The digest a tag currently points to (HEAD, for pull_policy "newer");
   *DIGEST_OUT caller frees.  */
int za_reg_head (struct za_reg *r, char **digest_out, struct za_err **err);

/* Progress: BYTES of TOTAL fetched so far for DIGEST.  */
typedef void (*za_reg_progress_fn) (void *arg, const char *digest, uint64_t bytes, uint64_t total);

/* Stream blob DIGEST (SIZE bytes, from the manifest) into FD, verifying
   size and sha256 as it streams; a mismatch is ZA_EINPUT naming the
   blob, and FD's content is then garbage the caller discards.  Transient
   failures are retried with backoff, a bounded number of times (the
   caller truncates nothing: the client rewinds FD itself).  Safe to call
   from several threads at once on one session.  */
int za_reg_fetch_blob (struct za_reg *r, const char *digest, uint64_t size, int fd, za_reg_progress_fn progress,
                       void *arg, struct za_err **err);

#endif
