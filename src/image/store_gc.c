/* Removing from the layer store: rmi and prune, under gc.lock held
   exclusively (no pull and no container mount in progress), never
   touching a layer that a container's overlay uses.  */
#define _GNU_SOURCE
#include "image/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layout.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/paths.h"
#include "util/rmtree.h"

#define MAX_MANIFEST (4u << 20)
#define MAX_LOWERS (1u << 20)

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

/* Chain ids of the layers some container's overlay uses: the "lowers"
   file za_layer_create leaves in <data dir>/containers/<id>.  */
static bool
any_name (int dfd, const char *name, void *ud)
{
  (void) dfd;
  (void) ud;
  return name[0] != '.';
}

static int
used_layers (struct za_store *s, struct za_strv *out, struct za_err **err)
{
  cleanup_free char *data = za_data_dir (), *dir = NULL, *prefix = NULL;
  cleanup_strv struct za_strv ids = { 0 };
  int e = 0;
  if (!data || asprintf (&dir, "%s/containers", data) < 0
      || asprintf (&prefix, "%s/layers/", s->root) < 0)
    return oom (err);
  if (za_dir_list (dir, any_name, NULL, &ids, &e) < 0 && e != ENOENT)
    return za_err_sys (err, e, "list `%s`", dir);
  for (size_t i = 0; i < ids.n; i++)
    {
      cleanup_free char *path = NULL, *text = NULL;
      char *save = NULL;
      if (asprintf (&path, "%s/%s/%s", dir, ids.v[i], ZA_STORE_LOWERS_FILE) < 0)
        return oom (err);
      if (za_read_file (path, MAX_LOWERS, &text, NULL, NULL) < 0)
        continue;
      for (char *p = strtok_r (text, ":\n", &save); p; p = strtok_r (NULL, ":\n", &save))
        if (strncmp (p, prefix, strlen (prefix)) == 0 && za_strv_push (out, p + strlen (prefix)) < 0)
          return oom (err);
    }
  return 0;
}

static bool
image_used (const struct za_store_image *im, const struct za_strv *used)
{
  return im->layers.n > 0 && za_strv_contains (used, im->layers.v[im->layers.n - 1]);
}

/* Blob hexes IM needs: manifest, config, layers.  */
static int
image_blobs (struct za_store *s, const struct za_store_image *im, struct za_strv *out,
             struct za_err **err)
{
  cleanup_free char *data = NULL;
  struct za_desc d = { 0 };
  struct za_manifest m = { 0 };
  const char *mh = za_st_digest_hex (im->digest), *ch = za_st_digest_hex (im->config);
  struct stat st;
  size_t len = 0;
  if (!mh || !ch)
    return 0;
  if (za_strv_push (out, mh) < 0 || za_strv_push (out, ch) < 0)
    return oom (err);
  snprintf (d.hex, sizeof d.hex, "%s", mh);
  if (fstatat (s->blobs_fd, mh, &st, 0) < 0)
    return 0; /* lost: its layers' blobs can go, the layers stay */
  d.size = (uint64_t) st.st_size;
  if (za_blob_read (s->fd, &d, "manifest", MAX_MANIFEST, &data, &len, NULL) < 0
      || za_manifest_parse (data, len, &d, &m, NULL) < 0)
    {
      za_manifest_clear (&m);
      return 0;
    }
  for (size_t i = 0; i < m.n_layers; i++)
    if (za_strv_push (out, m.layers[i].hex) < 0)
      {
        za_manifest_clear (&m);
        return oom (err);
      }
  za_manifest_clear (&m);
  return 0;
}

static bool
not_kept (int dfd, const char *n, void *keep)
{
  (void) dfd;
  return n[0] != '.' && !za_strv_contains (keep, n);
}

/* Remove every entry of DFD not in KEEP (and not a temp: swept apart).  */
static int
remove_unkept (int dfd, const struct za_strv *keep, const char *what, struct za_strv *removed,
               uint64_t *freed, struct za_err **err)
{
  cleanup_strv struct za_strv names = { 0 };
  int e;
  if (za_dir_list_at (dfd, not_kept, (void *) keep, &names, &e) < 0)
    return za_err_sys_as (err, e, e, "list %s", what);
  for (size_t i = 0; i < names.n; i++)
    {
      struct stat st;
      if (fstatat (dfd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode) && freed)
        *freed += (uint64_t) st.st_size;
      if (za_rmtree_at (dfd, names.v[i], err) < 0)
        return -1;
      if (removed)
        za_strv_pushf (removed, "%s %s", what, names.v[i]);
    }
  return 0;
}

/* Under the exclusive hold: drop records (DROP says which), then what
   no record and no container uses.  */
static int
collect (struct za_store *s, bool (*drop) (const struct za_store_image *, void *), void *ud,
         struct za_strv *removed, uint64_t *freed, struct za_err **err)
{
  cleanup_close int rlock = -1;
  cleanup_strv struct za_strv used = { 0 }, keep_layers = { 0 }, keep_blobs = { 0 }, none = { 0 };
  json_t *repos = NULL, *arr, *kept, *it;
  size_t i;
  int rc = -1;

  if (used_layers (s, &used, err) < 0 || za_st_repos_lock (s, &rlock, err) < 0
      || za_st_repos_load (s, &repos, err) < 0)
    return -1;
  arr = json_object_get (repos, "images");
  if (!(kept = json_array ()))
    {
      oom (err);
      goto out;
    }
  json_array_foreach (arr, i, it)
    {
      struct za_store_image im;
      if (za_st_image_from_json (it, &im, NULL) < 0)
        continue;
      if (drop && drop (&im, ud))
        {
          if (removed)
            za_strv_pushf (removed, "image %s", im.name);
        }
      else
        {
          json_array_append (kept, it);
          for (size_t k = 0; k < im.layers.n; k++)
            za_strv_push (&keep_layers, im.layers.v[k]);
          if (image_blobs (s, &im, &keep_blobs, err) < 0)
            {
              za_store_image_clear (&im);
              goto out;
            }
        }
      za_store_image_clear (&im);
    }
  if (json_object_set_new (repos, "images", kept) < 0)
    {
      oom (err);
      goto out;
    }
  if (za_st_repos_save (s, repos, err) < 0)
    goto out;
  for (i = 0; i < used.n; i++)
    za_strv_push (&keep_layers, used.v[i]);
  za_st_sweep (s);
  if (remove_unkept (s->layers_fd, &keep_layers, "layer", removed, NULL, err) < 0
      || remove_unkept (s->blobs_fd, &keep_blobs, "blob", NULL, freed, err) < 0
      || remove_unkept (s->locks_fd, &none, "lock", NULL, NULL, err) < 0)
    goto out;
  rc = 0;
out:
  json_decref (repos);
  return rc;
}

struct rmi
{
  const char *digest, *name;
  bool by_digest;
};

static bool
drop_named (const struct za_store_image *im, void *ud)
{
  const struct rmi *r = ud;
  return r->by_digest ? strcmp (im->digest, r->digest) == 0 : strcmp (im->name, r->name) == 0;
}

int
za_store_remove (struct za_store *s, const char *name, bool force, struct za_err **err)
{
  cleanup_close int hold = -1;
  cleanup_strv struct za_strv used = { 0 };
  struct za_store_image im = { 0 };
  struct rmi r;
  bool found = false;
  int rc = -1;

  if (za_store_lookup (s, name, &im, &found, err) < 0)
    return -1;
  if (!found)
    return za_err_set (err, ZA_EINPUT, "no such image `%s`", name);
  r = (struct rmi) { im.digest, im.name, strcmp (im.name, name) != 0 };
  if (za_st_gc (s, true, false, &hold, err) < 0 || used_layers (s, &used, err) < 0)
    goto out;
  if (image_used (&im, &used) && !force)
    {
      za_err_set (err, ZA_EINPUT, "image `%s` is used by a container (remove it first, or rmi -f)",
                  im.name);
      goto out;
    }
  rc = collect (s, drop_named, &r, NULL, NULL, err);
out:
  za_store_image_clear (&im);
  return rc;
}

static bool
drop_unused (const struct za_store_image *im, void *ud)
{
  return !image_used (im, ud);
}

int
za_store_prune (struct za_store *s, bool all, struct za_strv *removed, uint64_t *freed,
                struct za_err **err)
{
  cleanup_close int hold = -1;
  cleanup_strv struct za_strv used = { 0 };
  if (freed)
    *freed = 0;
  if (za_st_gc (s, true, false, &hold, err) < 0 || used_layers (s, &used, err) < 0)
    return -1;
  return collect (s, all ? drop_unused : NULL, &used, removed, freed, err);
}
