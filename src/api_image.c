/* The public image functions (include/zagent.h, "the layer store"):
   which source an --image names, pulls by policy, images, rmi, prune.  */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api_types.h"
#include "bundle/pipeline.h"
#include "image/layout.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/paths.h"

struct za_api_pull
{
  int policy; /* -1: not set */
  char *authfile, *cert_dir;
  int tls_verify;
  bool quiet;
};

static int
oom (zagent_error **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

void
za_api_pull_free (struct za_api_pull *p)
{
  if (!p)
    return;
  free (p->authfile);
  free (p->cert_dir);
  free (p);
}

static struct za_api_pull *
pull_of (zagent_options *o)
{
  if (!o->pull && (o->pull = calloc (1, sizeof *o->pull)))
    {
      o->pull->policy = -1;
      o->pull->tls_verify = -1;
    }
  return o->pull;
}

int
zagent_options_set_pull_policy (zagent_options *o, const char *policy, zagent_error **err)
{
  enum za_pull_policy p = ZA_PULL_IF_NOT_PRESENT;
  if (!pull_of (o))
    return oom (err);
  if (policy && za_pull_policy_parse (policy, &p, err) < 0)
    return -1;
  o->pull->policy = policy ? (int) p : -1;
  return 0;
}

int
zagent_options_set_registry (zagent_options *o, const char *authfile, const char *cert_dir, int tls_verify,
                             zagent_error **err)
{
  char *a = authfile ? strdup (authfile) : NULL, *c = cert_dir ? strdup (cert_dir) : NULL;
  if (!pull_of (o) || (authfile && !a) || (cert_dir && !c))
    {
      free (a);
      free (c);
      return oom (err);
    }
  if (a)
    {
      free (o->pull->authfile);
      o->pull->authfile = a;
    }
  if (c)
    {
      free (o->pull->cert_dir);
      o->pull->cert_dir = c;
    }
  if (tls_verify >= -1)
    o->pull->tls_verify = tls_verify < 0 ? -1 : tls_verify > 0;
  return 0;
}

void
zagent_options_set_quiet (zagent_options *o, bool quiet)
{
  if (pull_of (o))
    o->pull->quiet = quiet;
}

static void
pull_opts (const zagent_options *o, int spec_policy, struct za_pull_opts *po)
{
  const struct za_api_pull *p = o ? o->pull : NULL;
  *po = (struct za_pull_opts) { .policy = spec_policy, .reg = { .tls_verify = -1 } };
  if (!p)
    return;
  if (p->policy >= 0)
    po->policy = p->policy;
  po->reg.authfile = p->authfile;
  po->reg.cert_dir = p->cert_dir;
  po->reg.tls_verify = p->tls_verify;
  po->quiet = p->quiet;
}

/* "oci:DIR[:TAG]": DIR ends at the first ':' (as the containers/image
   oci transport splits), so a TAG may hold '/' and ':'
   ("oci:/l:localhost/bb:1").  */
static int
split_oci (const char *ref, char **dir, char **tag, zagent_error **err)
{
  const char *rest = ref + 4, *colon = strchr (rest, ':');
  *dir = colon ? strndup (rest, (size_t) (colon - rest)) : strdup (rest);
  *tag = colon ? strdup (colon + 1) : NULL;
  if (!*dir || (colon && !*tag))
    return oom (err);
  if (!**dir)
    return za_err_set (err, ZA_EINPUT, "`%s`: no layout directory after `oci:`", ref);
  if (*tag && !**tag)
    return za_err_set (err, ZA_EINPUT, "`%s`: empty tag after `:`", ref);
  return 0;
}

/* Whether REF is "DIR" or "DIR:TAG" of an existing directory, by the
   layout rule (split at the last ':' when what follows has no '/').  */
static bool
is_layout_dir (const char *ref)
{
  cleanup_free char *dir = NULL;
  const char *colon = strrchr (ref, ':');
  struct stat st;
  if (stat (ref, &st) == 0 && S_ISDIR (st.st_mode))
    return true;
  if (!colon || strchr (colon + 1, '/'))
    return false;
  dir = strndup (ref, (size_t) (colon - ref));
  return dir && *dir && stat (dir, &st) == 0 && S_ISDIR (st.st_mode);
}

/* REF (oci: or a registry reference) into the store; *IM the image.  */
static int
store_get (struct za_store *s, const zagent_options *o, const char *ref, int spec_policy,
           struct za_store_image *im, zagent_error **warnings, zagent_error **err)
{
  struct za_pull_opts po;
  if (strncmp (ref, "oci:", 4) == 0)
    {
      cleanup_free char *dir = NULL, *tag = NULL;
      cleanup_err struct za_err *e = NULL;
      if (split_oci (ref, &dir, &tag, err) < 0)
        return -1;
      if (za_store_import_layout (s, dir, tag, o && o->pull && o->pull->quiet, im, warnings, &e) == 0)
        return 0;
      za_err_wrap_all (&e, "image `%s`", ref);
      za_err_append (err, &e);
      return -1;
    }
  pull_opts (o, spec_policy, &po);
  return za_store_pull (s, ref, &po, im, warnings, err);
}

static int
set_image (zagent_options *o, const char *ref, int spec_policy, zagent_error **warnings, zagent_error **err)
{
  struct za_store *s = NULL;
  struct za_store_image im = { 0 };
  struct za_image_config *ic = NULL;
  char *lowers = NULL;
  int rc = -1;

  if (!ref || !*ref)
    return za_err_set (err, ZA_EINPUT, "empty image reference");
  if (strncmp (ref, "oci:", 4) != 0 && is_layout_dir (ref))
    return zagent_options_set_image_layout (o, ref, warnings, err);
  if (za_store_open (&s, err) < 0)
    return -1;
  if (store_get (s, o, ref, spec_policy, &im, warnings, err) == 0 && za_store_lowers (s, &im, &lowers, err) == 0
      && za_store_config (s, &im, &ic, warnings, err) == 0)
    {
      za_image_config_free (o->image);
      o->image = ic;
      free (o->image_rootfs);
      o->image_rootfs = lowers;
      lowers = NULL;
      rc = 0;
    }
  free (lowers);
  za_store_image_clear (&im);
  za_store_close (s);
  return rc;
}

int
zagent_options_set_image (zagent_options *o, const char *ref, zagent_error **warnings, zagent_error **err)
{
  return set_image (o, ref, -1, warnings, err);
}

int
zagent_options_set_spec_image (zagent_options *o, const zagent_spec *spec, zagent_error **warnings,
                               zagent_error **err)
{
  const struct za_service *svc = NULL;
  if (za_bundle_pick_service (spec->s, o->service, &svc, err) < 0)
    return -1;
  if (!svc->image.name.s || !*svc->image.name.s)
    return za_err_set (err, ZA_EINPUT, "service `%s` names no image", svc->name);
  return set_image (o, svc->image.name.s, svc->image.pull_policy.v, warnings, err);
}

bool
zagent_options_has_image (const zagent_options *o)
{
  return o->image_rootfs != NULL;
}

int
zagent_image_pull (const zagent_options *o, const char *ref, char **digest_out, zagent_error **warnings,
                   zagent_error **err)
{
  struct za_store *s = NULL;
  struct za_store_image im = { 0 };
  int rc;
  if (digest_out)
    *digest_out = NULL;
  if (!ref || !*ref)
    return za_err_set (err, ZA_EINPUT, "empty image reference");
  if (za_store_open (&s, err) < 0)
    return -1;
  rc = store_get (s, o, ref, -1, &im, warnings, err);
  if (rc == 0 && digest_out && !(*digest_out = strdup (im.digest)))
    rc = oom (err);
  za_store_image_clear (&im);
  za_store_close (s);
  return rc;
}

int
zagent_image_list_json (char **json_out, zagent_error **err)
{
  struct za_store *s = NULL;
  struct za_store_image *v = NULL;
  size_t n = 0;
  json_t *arr;
  *json_out = NULL;
  if (za_store_open (&s, err) < 0)
    return -1;
  if (za_store_list (s, &v, &n, err) < 0)
    {
      za_store_close (s);
      return -1;
    }
  za_store_close (s);
  arr = json_array ();
  for (size_t i = 0; arr && i < n; i++)
    json_array_append_new (arr, json_pack ("{s:s, s:s, s:s, s:I, s:I, s:I}", "name", v[i].name, "digest",
                                           v[i].digest, "config", v[i].config, "size", (json_int_t) v[i].size,
                                           "created", (json_int_t) v[i].created, "layers",
                                           (json_int_t) v[i].layers.n));
  za_store_list_free (v, n);
  *json_out = arr ? json_dumps (arr, JSON_INDENT (2)) : NULL;
  json_decref (arr);
  return *json_out ? 0 : oom (err);
}

int
zagent_image_remove (const char *ref, bool force, zagent_error **err)
{
  struct za_store *s = NULL;
  struct za_image_ref r = { 0 };
  cleanup_free char *norm = NULL;
  int rc;
  if (!ref || !*ref)
    return za_err_set (err, ZA_EINPUT, "empty image reference");
  if (za_store_open (&s, err) < 0)
    return -1;
  /* "busybox" is stored as docker.io/library/busybox:latest; an oci:
     name, a digest or a full name is looked up as it is */
  if (strncmp (ref, "oci:", 4) != 0 && za_image_ref_parse (ref, &r, NULL) == 0)
    norm = za_image_ref_string (&r);
  za_image_ref_clear (&r);
  {
    struct za_store_image im = { 0 };
    bool found = false;
    if (norm && za_store_lookup (s, ref, &im, &found, NULL) == 0 && !found)
      {
        za_store_image_clear (&im);
        if (za_store_lookup (s, norm, &im, &found, NULL) == 0 && found)
          ref = norm;
      }
    za_store_image_clear (&im);
  }
  rc = za_store_remove (s, ref, force, err);
  za_store_close (s);
  return rc;
}

int
zagent_image_prune (bool all, char **json_out, zagent_error **err)
{
  struct za_store *s = NULL;
  cleanup_strv struct za_strv removed = { 0 };
  uint64_t freed = 0;
  json_t *o, *arr;
  *json_out = NULL;
  if (za_store_open (&s, err) < 0)
    return -1;
  if (za_store_prune (s, all, &removed, &freed, err) < 0)
    {
      za_store_close (s);
      return -1;
    }
  za_store_close (s);
  arr = json_array ();
  for (size_t i = 0; arr && i < removed.n; i++)
    json_array_append_new (arr, json_string (removed.v[i]));
  o = json_pack ("{s:o, s:I}", "removed", arr, "freed", (json_int_t) freed);
  *json_out = o ? json_dumps (o, JSON_INDENT (2)) : NULL;
  json_decref (o);
  return *json_out ? 0 : oom (err);
}
