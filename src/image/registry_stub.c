/* STUB — registry client not built on this branch (i11store).
   The integrator drops this file when the real client (image/ref.c,
   image/registry*.c, branch i11reg) is merged: it only lets the layer
   store link.  Every call fails with "registry client not built";
   za_image_ref_parse is a minimal parser so that names can be shown.  */
#define _GNU_SOURCE
#include "image/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
not_built (struct za_err **err)
{
  return za_err_set (err, ENOSYS, "registry client not built");
}

int
za_image_ref_parse (const char *s, struct za_image_ref *out, struct za_err **err)
{
  const char *slash, *at, *colon, *rest;
  char *repo = NULL;
  memset (out, 0, sizeof *out);
  if (!s || !*s || strpbrk (s, " \t\n"))
    return za_err_set (err, ZA_EINPUT, "invalid image reference `%s`", s ? s : "");
  slash = strchr (s, '/');
  if (slash && (memchr (s, '.', (size_t) (slash - s)) || memchr (s, ':', (size_t) (slash - s))
                || ((size_t) (slash - s) == 9 && !strncmp (s, "localhost", 9))))
    {
      out->host = strndup (s, (size_t) (slash - s));
      rest = slash + 1;
    }
  else
    {
      out->host = strdup ("docker.io");
      rest = s;
    }
  at = strchr (rest, '@');
  if (at)
    out->digest = strdup (at + 1);
  colon = strrchr (rest, ':');
  if (colon && (!at || colon < at) && !strchr (colon, '/'))
    {
      out->tag = at ? strndup (colon + 1, (size_t) (at - colon - 1)) : strdup (colon + 1);
      repo = strndup (rest, (size_t) (colon - rest));
    }
  else
    repo = at ? strndup (rest, (size_t) (at - rest)) : strdup (rest);
  if (!out->tag && !out->digest)
    out->tag = strdup ("latest");
  if (repo && !strchr (repo, '/') && !strcmp (out->host, "docker.io"))
    {
      char *r2 = NULL;
      if (asprintf (&r2, "library/%s", repo) < 0)
        r2 = NULL;
      free (repo);
      repo = r2;
    }
  out->repo = repo;
  if (!out->host || !out->repo || !*out->repo)
    {
      za_image_ref_clear (out);
      return za_err_set (err, ZA_EINPUT, "invalid image reference `%s`", s);
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

void
za_reg_manifest_clear (struct za_reg_manifest *m)
{
  free (m->media_type);
  free (m->digest);
  free (m->bytes);
  memset (m, 0, sizeof *m);
}

int
za_reg_open (struct za_reg **out, const struct za_image_ref *ref, const struct za_reg_opts *o,
             struct za_err **err)
{
  (void) ref;
  (void) o;
  *out = NULL;
  return not_built (err);
}

void
za_reg_close (struct za_reg *r)
{
  (void) r;
}

int
za_reg_resolve (struct za_reg *r, struct za_reg_manifest *top, struct za_reg_manifest *image,
                struct za_err **err)
{
  (void) r;
  (void) top;
  (void) image;
  return not_built (err);
}

int
za_reg_head (struct za_reg *r, char **digest_out, struct za_err **err)
{
  (void) r;
  *digest_out = NULL;
  return not_built (err);
}

int
za_reg_fetch_blob (struct za_reg *r, const char *digest, uint64_t size, int fd,
                   za_reg_progress_fn progress, void *arg, struct za_err **err)
{
  (void) r;
  (void) digest;
  (void) size;
  (void) fd;
  (void) progress;
  (void) arg;
  return not_built (err);
}
