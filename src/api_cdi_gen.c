/* The public API of issue 14's CDI pieces: generation with options,
   refresh (rewrite only on change) and the check against the host.  */
#define _GNU_SOURCE
#define ZAGENT_BUILDING 1
#include "zagent.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/gpu.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/host.h"
#include "util/strv.h"

/* The public naming flags are the internal ones (masked with 0x7).  */
_Static_assert (ZAGENT_CDI_GEN_NAME_INDEX == ZA_CDI_NAME_INDEX && ZAGENT_CDI_GEN_NAME_UUID == ZA_CDI_NAME_UUID
                    && ZAGENT_CDI_GEN_NAME_TYPE_INDEX == ZA_CDI_NAME_TYPE_INDEX,
                "naming flags differ");

int
zagent_cdi_generate_ex (const char *vendor, const char *host_root, unsigned flags, const char *hook_path,
                        char **text_out, zagent_error **warnings, zagent_error **err)
{
  struct za_host h = za_host_default ();
  struct za_cdi_gen_opts o = { .vendor = za_gpu_vendor_parse (vendor),
                               .imex = flags & ZAGENT_CDI_GEN_IMEX,
                               .names = flags & 0x7u,
                               .no_all = flags & ZAGENT_CDI_GEN_NO_ALL,
                               .hook = hook_path };
  struct za_err *warn = NULL;
  json_t *spec = NULL;
  int ret;
  *text_out = NULL;
  if (host_root)
    h.root = host_root;
  if (o.vendor == ZA_GPU_OTHER)
    return za_err_set (err, ZA_EINPUT, "unknown vendor `%s` (nvidia, amd or intel)", vendor ? vendor : "");
  if (flags & ~0x77u)
    return za_err_set (err, EINVAL, "unknown flags %#x", flags);
  if (hook_path && hook_path[0] != '/')
    return za_err_set (err, ZA_EINPUT, "hook path `%s` is not absolute", hook_path);
  ret = za_gpu_cdi_generate_opts (&h, &o, &spec, &warn, err);
  if (warnings)
    za_err_append (warnings, &warn);
  za_err_free (&warn);
  if (ret == 0)
    ret = za_gpu_cdi_format (spec, flags & ZAGENT_CDI_GEN_YAML, text_out, err);
  json_decref (spec);
  return ret;
}

int
zagent_cdi_spec_refresh (const char *path, const char *text, bool *changed, zagent_error **err)
{
  cleanup_free char *old = NULL;
  struct za_err *e = NULL;
  size_t len = 0, tl = strlen (text);
  *changed = false;
  if (path && za_read_file (path, 64 << 20, &old, &len, &e) == 0 && len == tl + 1 && !memcmp (old, text, tl)
      && old[tl] == '\n')
    return 0;
  za_err_free (&e);
  if (zagent_cdi_spec_write (path, text, err) < 0)
    return -1;
  *changed = true;
  return 0;
}

static bool
is_spec_name (int dfd, const char *name, void *ud)
{
  const char *dot = strrchr (name, '.');
  struct stat st;
  (void) ud;
  return name[0] != '.' && dot && (!strcmp (dot, ".json") || !strcmp (dot, ".yaml") || !strcmp (dot, ".yml"))
         && fstatat (dfd, name, &st, 0) == 0 && S_ISREG (st.st_mode);
}

/* PATHS with every directory replaced by its spec files, sorted.  */
static int
expand (const char *const *paths, size_t n, struct za_strv *files, struct za_err **err)
{
  for (size_t i = 0; i < n; i++)
    {
      struct stat st;
      struct za_strv names = { 0 };
      int e = 0;
      if (stat (paths[i], &st) < 0 || !S_ISDIR (st.st_mode))
        {
          if (za_strv_push (files, paths[i]) < 0)
            return za_err_set (err, ENOMEM, "out of memory");
          continue;
        }
      if (za_dir_list (paths[i], is_spec_name, NULL, &names, &e) < 0)
        return za_err_sys (err, e, "read CDI directory `%s`", paths[i]);
      for (size_t k = 0; k < names.n; k++)
        if (za_strv_pushf (files, "%s/%s", paths[i], names.v[k]) < 0)
          {
            za_strv_clear (&names);
            return za_err_set (err, ENOMEM, "out of memory");
          }
      za_strv_clear (&names);
    }
  if (files->n == 0)
    return za_err_set (err, ZA_EINPUT, "no CDI spec files to check");
  return 0;
}

int
zagent_cdi_check (const char *const *paths, size_t n, const char *host_root, char **json_out, zagent_error **err)
{
  struct za_host h = za_host_default ();
  cleanup_strv struct za_strv files = { 0 };
  json_t *report = json_array ();
  int total = 0;
  *json_out = NULL;
  if (host_root)
    h.root = host_root;
  if (!report)
    return za_err_set (err, ENOMEM, "out of memory");
  if (expand (paths, n, &files, err) < 0)
    {
      json_decref (report);
      return -1;
    }
  for (size_t i = 0; i < files.n && total >= 0; i++)
    {
      int r = za_gpu_cdi_check_file (&h, files.v[i], report, err);
      total = r < 0 ? -1 : total + r;
    }
  if (total >= 0 && !(*json_out = json_dumps (report, JSON_INDENT (2))))
    total = za_err_set (err, ENOMEM, "out of memory");
  json_decref (report);
  return total;
}
