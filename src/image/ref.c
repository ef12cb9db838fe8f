/* Image references: the grammar is spec/syntax.c's (the one spec
   validation uses), normalised the way docker and podman read a short
   name: no registry is docker.io, a one-component path on docker.io is
   under library/, no tag and no digest is :latest.  */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry.h"
#include "spec/syntax.h"
#include "util/cleanup.h"

#define DOCKER_HUB "docker.io"

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

/* Docker Hub's other names are the same registry.  */
static char *
normalise_host (const char *s, size_t len)
{
  if (len == 0 || (len == 15 && memcmp (s, "index.docker.io", 15) == 0)
      || (len == 20 && memcmp (s, "registry-1.docker.io", 20) == 0))
    return strdup (DOCKER_HUB);
  return strndup (s, len);
}

int
za_image_ref_parse (const char *s, struct za_image_ref *out, struct za_err **err)
{
  struct za_image_ref_split p;
  cleanup_free char *reason = NULL;
  size_t plen;
  const char *path;

  memset (out, 0, sizeof *out);
  if (za_image_ref_split (s ? s : "", &p, &reason) < 0)
    {
      if (!reason)
        return oom (err);
      return za_err_set (err, ZA_EINPUT, "invalid image reference `%s`: %s", s ? s : "", reason);
    }
  path = s + p.path_start;
  plen = p.name_len - p.path_start;
  out->host = normalise_host (s, p.domain_len);
  if (out->host && strcmp (out->host, DOCKER_HUB) == 0 && !memchr (path, '/', plen))
    {
      if (asprintf (&out->repo, "library/%.*s", (int) plen, path) < 0)
        out->repo = NULL;
    }
  else
    out->repo = strndup (path, plen);
  if (p.tag_end > p.tag_start)
    out->tag = strndup (s + p.tag_start, p.tag_end - p.tag_start);
  else if (!p.digest_start)
    out->tag = strdup ("latest");
  if (p.digest_start)
    out->digest = strdup (s + p.digest_start);
  if (!out->host || !out->repo || (!out->tag && !p.digest_start) || (p.digest_start && !out->digest))
    {
      za_image_ref_clear (out);
      return oom (err);
    }
  /* The grammar admits sha384/sha512 and unregistered algorithms; blobs
     are verified with SHA-256 only, so a pin must be one.  */
  if (out->digest && strncmp (out->digest, "sha256:", 7) != 0)
    {
      za_err_set (err, ZA_EINPUT, "invalid image reference `%s`: only sha256 digests are supported", s);
      za_image_ref_clear (out);
      return -1;
    }
  return 0;
}

char *
za_image_ref_string (const struct za_image_ref *r)
{
  char *s = NULL;
  if (asprintf (&s, "%s/%s%s%s%s%s", r->host, r->repo, r->tag ? ":" : "", r->tag ? r->tag : "",
                r->digest ? "@" : "", r->digest ? r->digest : "")
      < 0)
    return NULL;
  return s;
}

void
za_image_ref_clear (struct za_image_ref *r)
{
  free (r->host);
  free (r->repo);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof *r);
}
