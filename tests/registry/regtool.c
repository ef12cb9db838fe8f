/* regtool: the registry client (image/registry.h) from the command line,
   for the tests in tests/registry and the benchmark.

     regtool [OPTIONS] ref REF              normalised parts of REF
     regtool [OPTIONS] resolve REF          top and image manifest: type digest
     regtool [OPTIONS] manifest REF         the image manifest's bytes
     regtool [OPTIONS] head REF             the digest REF's tag points to
     regtool [OPTIONS] fetch REF DIGEST OUT one blob (size from the manifest or --size)
     regtool [OPTIONS] pull REF DIR         config and every layer, in parallel threads

   OPTIONS: --authfile F, --cert-dir D, --tls-verify=true|false,
   --config F (registries config), --timeout SECONDS, --size N.
   Errors: one line each; exit 2 for input errors, 1 otherwise.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/registry.h"

static struct za_reg_opts opts = { .tls_verify = -1 };
static uint64_t size_opt;

static int
fail (struct za_err **err)
{
  int input = za_err_is_input (*err);
  for (struct za_err *e = *err; e; e = e->next)
    {
      char *s = za_err_format (e);
      fprintf (stderr, "regtool: %s\n", s ? s : "out of memory");
      free (s);
    }
  za_err_free (err);
  return input ? 2 : 1;
}

static int
open_ref (const char *s, struct za_image_ref *ref, struct za_reg **r, struct za_err **err)
{
  if (za_image_ref_parse (s, ref, err) < 0)
    return -1;
  return za_reg_open (r, ref, &opts, err);
}

/* SIZE of DIGEST among the image manifest's config and layers.  */
static int
find_size (const struct za_reg_manifest *m, const char *digest, uint64_t *size)
{
  json_t *j = json_loadb ((const char *) m->bytes, m->len, 0, NULL), *d;
  size_t i;
  int rc = -1;
  d = json_object_get (j, "config");
  if (d && strcmp (json_string_value (json_object_get (d, "digest")) ?: "", digest) == 0)
    rc = 0;
  else
    json_array_foreach (json_object_get (j, "layers"), i, d)
      if (strcmp (json_string_value (json_object_get (d, "digest")) ?: "", digest) == 0)
        {
          rc = 0;
          break;
        }
  if (rc == 0)
    *size = (uint64_t) json_integer_value (json_object_get (d, "size"));
  json_decref (j);
  return rc;
}

struct job
{
  struct za_reg *r;
  const char *digest, *dir;
  uint64_t size;
  struct za_err *err;
};

static void *
fetch_job (void *arg)
{
  struct job *j = arg;
  char path[4096];
  int fd;
  snprintf (path, sizeof path, "%s/%s", j->dir, j->digest + 7);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    za_err_sys (&j->err, errno, "open `%s`", path);
  else
    {
      za_reg_fetch_blob (j->r, j->digest, j->size, fd, NULL, NULL, &j->err);
      close (fd);
    }
  return NULL;
}

static int
pull (struct za_reg *r, const struct za_reg_manifest *m, const char *dir, struct za_err **err)
{
  json_t *j = json_loadb ((const char *) m->bytes, m->len, 0, NULL), *layers, *d;
  size_t n, i;
  struct job *jobs;
  pthread_t *t;
  int rc = 0;

  layers = json_object_get (j, "layers");
  n = json_array_size (layers) + 1;
  jobs = calloc (n, sizeof *jobs);
  t = calloc (n, sizeof *t);
  for (i = 0; i < n; i++)
    {
      d = i == 0 ? json_object_get (j, "config") : json_array_get (layers, i - 1);
      jobs[i] = (struct job) { r, json_string_value (json_object_get (d, "digest")), dir,
                               (uint64_t) json_integer_value (json_object_get (d, "size")), NULL };
      if (!jobs[i].digest)
        jobs[i].digest = "?";
      pthread_create (&t[i], NULL, fetch_job, &jobs[i]);
    }
  for (i = 0; i < n; i++)
    {
      pthread_join (t[i], NULL);
      if (jobs[i].err)
        rc = -1;
      za_err_append (err, &jobs[i].err);
    }
  if (rc == 0)
    printf ("%zu blobs\n", n);
  free (jobs);
  free (t);
  json_decref (j);
  return rc;
}

static int
run (int argc, char **argv, struct za_err **err)
{
  const char *cmd = argv[0];
  struct za_image_ref ref = { 0 };
  struct za_reg *r = NULL;
  struct za_reg_manifest top = { 0 }, image = { 0 };
  char *s = NULL;
  int rc = -1;

  if (strcmp (cmd, "ref") == 0 && argc == 2)
    {
      if (za_image_ref_parse (argv[1], &ref, err) < 0)
        return -1;
      s = za_image_ref_string (&ref);
      printf ("host=%s repo=%s tag=%s digest=%s\n%s\n", ref.host, ref.repo, ref.tag ?: "",
              ref.digest ?: "", s);
      rc = 0;
    }
  else if (argc >= 2 && open_ref (argv[1], &ref, &r, err) < 0)
    ;
  else if (strcmp (cmd, "head") == 0 && argc == 2)
    {
      if ((rc = za_reg_head (r, &s, err)) == 0)
        printf ("%s\n", s);
    }
  else if ((strcmp (cmd, "resolve") == 0 || strcmp (cmd, "manifest") == 0) && argc == 2)
    {
      if ((rc = za_reg_resolve (r, &top, &image, err)) == 0 && cmd[0] == 'r')
        printf ("top %s %s\nimage %s %s\n", top.media_type, top.digest, image.media_type,
                image.digest);
      else if (rc == 0)
        fwrite (image.bytes, 1, image.len, stdout);
    }
  else if (strcmp (cmd, "fetch") == 0 && argc == 4)
    {
      uint64_t size = size_opt;
      int fd;
      if (!size && za_reg_resolve (r, NULL, &image, err) < 0)
        goto out;
      if (!size && find_size (&image, argv[2], &size) < 0)
        {
          za_err_set (err, ZA_EINPUT, "%s is not in the manifest (give --size)", argv[2]);
          goto out;
        }
      fd = open (argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0)
        {
          za_err_sys (err, errno, "open `%s`", argv[3]);
          goto out;
        }
      rc = za_reg_fetch_blob (r, argv[2], size, fd, NULL, NULL, err);
      close (fd);
    }
  else if (strcmp (cmd, "pull") == 0 && argc == 3)
    {
      if (za_reg_resolve (r, NULL, &image, err) == 0)
        rc = pull (r, &image, argv[2], err);
    }
  else if (r || argc < 2)
    za_err_set (err, ZA_EINPUT, "usage: regtool [OPTIONS] ref|resolve|manifest|head|fetch|pull ARGS");
out:
  free (s);
  za_reg_manifest_clear (&top);
  za_reg_manifest_clear (&image);
  za_reg_close (r);
  za_image_ref_clear (&ref);
  return rc;
}

int
main (int argc, char **argv)
{
  struct za_err *err = NULL;
  int i = 1;
  for (; i < argc && strncmp (argv[i], "--", 2) == 0; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--tls-verify=false") == 0)
        opts.tls_verify = 0;
      else if (strcmp (a, "--tls-verify=true") == 0)
        opts.tls_verify = 1;
      else if (i + 1 < argc && strcmp (a, "--authfile") == 0)
        opts.authfile = argv[++i];
      else if (i + 1 < argc && strcmp (a, "--cert-dir") == 0)
        opts.cert_dir = argv[++i];
      else if (i + 1 < argc && strcmp (a, "--config") == 0)
        opts.config = argv[++i];
      else if (i + 1 < argc && strcmp (a, "--timeout") == 0)
        opts.timeout_ns = strtoull (argv[++i], NULL, 10) * 1000000000ull;
      else if (i + 1 < argc && strcmp (a, "--size") == 0)
        size_opt = strtoull (argv[++i], NULL, 10);
      else
        {
          fprintf (stderr, "regtool: unknown option `%s`\n", a);
          return 2;
        }
    }
  if (i >= argc)
    {
      fprintf (stderr, "regtool: usage: regtool [OPTIONS] COMMAND ARGS\n");
      return 2;
    }
  if (run (argc - i, argv + i, &err) < 0)
    return fail (&err);
  return 0;
}
