/* The public API (include/zagent.h) over the internal modules.  */
#define _GNU_SOURCE
#define ZAGENT_BUILDING 1
#include "zagent.h"
#include "api_types.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/build.h"
#include "bundle/pipeline.h"
#include "bundle/write.h"
#include "cdi/name.h"
#include "image/layout.h"
#include "runtime/runtime.h"
#include "oci/image_config.h"
#include "spec/spec.h"
#include "spec/syntax.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/strv.h"
#include "util/utf8.h"

#ifndef ZAGENT_VERSION
#define ZAGENT_VERSION "0.0.0"
#endif

/* ---- errors ------------------------------------------------------- */

const char *zagent_error_message (const zagent_error *e) { return e ? e->msg : NULL; }
const char *zagent_error_file (const zagent_error *e) { return e ? e->file : NULL; }
unsigned zagent_error_line (const zagent_error *e) { return e ? e->line : 0; }
unsigned zagent_error_column (const zagent_error *e) { return e ? e->col : 0; }
const char *zagent_error_path (const zagent_error *e) { return e ? e->path : NULL; }
bool zagent_error_is_input (const zagent_error *e) { return e && e->code == ZA_EINPUT; }
int zagent_error_errno (const zagent_error *e) { return e && e->code > 0 ? e->code : 0; }
const zagent_error *zagent_error_next (const zagent_error *e) { return e ? e->next : NULL; }
char *zagent_error_format (const zagent_error *e) { return za_err_format (e); }
void zagent_error_free (zagent_error **err) { za_err_free (err); }
const char *zagent_version (void) { return ZAGENT_VERSION; }

int
zagent_duration_parse (const char *text, unsigned long long *ns_out, zagent_error **err)
{
  cleanup_free char *reason = NULL;
  uint64_t ns = 0;
  if (za_duration_parse (text, &ns, &reason) < 0)
    return za_err_set (err, ZA_EINPUT, "invalid duration%s%s", reason ? ": " : "", reason ? reason : "");
  *ns_out = ns;
  return 0;
}

/* ---- specs -------------------------------------------------------- */

static int
wrap_spec (zagent_spec **out, struct za_spec *s, zagent_error **err)
{
  *out = calloc (1, sizeof **out);
  if (!*out)
    {
      za_spec_free (s);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  (*out)->s = s;
  return 0;
}

int
zagent_spec_load_file (zagent_spec **out, const char *path, zagent_error **err)
{
  struct za_spec *s = NULL;
  *out = NULL;
  if (za_spec_load_file (path, &s, err) < 0)
    return -1;
  return wrap_spec (out, s, err);
}

int
zagent_spec_load_buffer (zagent_spec **out, const char *name, const char *data, size_t len,
                         zagent_error **err)
{
  struct za_spec *s = NULL;
  *out = NULL;
  if (za_spec_parse (name ? name : "<buffer>", data, len, &s, err) < 0)
    return -1;
  return wrap_spec (out, s, err);
}

int zagent_spec_validate (const zagent_spec *spec, zagent_error **err) { return za_spec_validate (spec->s, err); }
const char *zagent_spec_deployment (const zagent_spec *spec) { return spec->s->d.deployment.s; }
size_t zagent_spec_service_count (const zagent_spec *spec) { return spec->s->d.services.n; }

const char *
zagent_spec_service_name (const zagent_spec *spec, size_t i)
{
  return i < spec->s->d.services.n ? spec->s->d.services.v[i].key.s : NULL;
}

void
zagent_spec_free (zagent_spec *spec)
{
  if (!spec)
    return;
  za_spec_free (spec->s);
  free (spec);
}

/* ---- options ------------------------------------------------------ */

zagent_options *
zagent_options_new (void)
{
  zagent_options *o = calloc (1, sizeof *o);
  if (o)
    {
      o->replica = 1;
      o->rootless = -1;
    }
  return o;
}

void
zagent_options_free (zagent_options *o)
{
  if (!o)
    return;
  free (o->service);
  za_image_config_free (o->image);
  free (o->hostname);
  free (o->cwd);
  free (o->socket);
  free (o->secrets_dir);
  free (o->scope);
  free (o->rootfs);
  free (o->host_root);
  free (o->image_rootfs);
  za_strv_clear (&o->env);
  za_strv_clear (&o->vol_keys);
  za_strv_clear (&o->vol_paths);
  za_strv_clear (&o->args);
  za_strv_clear (&o->devices);
  za_strv_clear (&o->cdi_dirs);
  za_api_pull_free (o->pull);
  free (o);
}

static int
set_str (char **dst, const char *v, zagent_error **err)
{
  char *c;
  if (v && !za_utf8_valid (v, strlen (v)))
    return za_err_set (err, ZA_EINPUT, "option value is not valid UTF-8");
  c = v ? strdup (v) : NULL;
  if (v && !c)
    return za_err_set (err, ENOMEM, "out of memory");
  free (*dst);
  *dst = c;
  return 0;
}

int zagent_options_set_service (zagent_options *o, const char *n, zagent_error **err) { return set_str (&o->service, n, err); }
int zagent_options_set_hostname (zagent_options *o, const char *n, zagent_error **err) { return set_str (&o->hostname, n, err); }
int zagent_options_set_cwd (zagent_options *o, const char *n, zagent_error **err) { return set_str (&o->cwd, n, err); }
int zagent_options_set_socket (zagent_options *o, const char *n, zagent_error **err) { return set_str (&o->socket, n, err); }
int zagent_options_set_rootfs (zagent_options *o, const char *n, zagent_error **err) { return set_str (&o->rootfs, n, err); }
int zagent_options_set_host_root (zagent_options *o, const char *n, zagent_error **err) { return set_str (&o->host_root, n, err); }

int
zagent_options_set_replica (zagent_options *o, unsigned replica, zagent_error **err)
{
  if (replica == 0)
    return za_err_set (err, ZA_EINPUT, "replica must be at least 1");
  o->replica = replica;
  return 0;
}

int
zagent_options_set_image_config_file (zagent_options *o, const char *path, zagent_error **err)
{
  struct za_image_config *ic = NULL;
  if (za_image_config_load_file (path, &ic, err) < 0)
    return -1;
  za_image_config_free (o->image);
  o->image = ic;
  return 0;
}

bool
zagent_options_has_rootfs (const zagent_options *o)
{
  return o->rootfs != NULL;
}

int
zagent_options_set_image_layout (zagent_options *o, const char *ref, zagent_error **warnings, zagent_error **err)
{
  cleanup_free char *data = za_data_dir (), *cache = NULL, *rootfs = NULL;
  struct za_image_config *ic = NULL;
  if (!data || asprintf (&cache, "%s/rootfs", data) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  if (za_image_layout_prepare (ref, cache, &rootfs, &ic, warnings, err) < 0)
    return -1;
  za_image_config_free (o->image);
  o->image = ic;
  free (o->image_rootfs);
  o->image_rootfs = steal_pointer (&rootfs);
  return 0;
}

int
zagent_options_add_env (zagent_options *o, const char *kv, zagent_error **err)
{
  if (!kv || !strchr (kv, '=') || kv[0] == '=')
    return za_err_set (err, ZA_EINPUT, "--env `%s`: expected KEY=VALUE", kv ? kv : "");
  if (!za_utf8_valid (kv, strlen (kv)))
    return za_err_set (err, ZA_EINPUT, "--env: value is not valid UTF-8");
  return za_strv_push (&o->env, kv) < 0 ? za_err_set (err, ENOMEM, "out of memory") : 0;
}

int
zagent_options_set_host_network (zagent_options *o, bool on, zagent_error **err)
{
  (void) err;
  o->host_network = on;
  return 0;
}

int
zagent_options_add_volume (zagent_options *o, const char *name, const char *path, zagent_error **err)
{
  if (!name || !*name)
    return za_err_set (err, ZA_EINPUT, "--volume: empty volume name");
  if (!path || path[0] != '/')
    return za_err_set (err, ZA_EINPUT, "--volume %s: path `%s` must be absolute", name, path ? path : "");
  if (!za_utf8_valid (name, strlen (name)) || !za_utf8_valid (path, strlen (path)))
    return za_err_set (err, ZA_EINPUT, "--volume: not valid UTF-8");
  if (za_strv_push (&o->vol_keys, name) < 0 || za_strv_push (&o->vol_paths, path) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  return 0;
}

int
zagent_options_set_secrets (zagent_options *o, const char *dir, const char *scope, zagent_error **err)
{
  if (set_str (&o->secrets_dir, dir, err) < 0)
    return -1;
  return set_str (&o->scope, scope, err);
}

int
zagent_options_set_rootless (zagent_options *o, int mode, zagent_error **err)
{
  if (mode < -1 || mode > 1)
    return za_err_set (err, ZA_EINPUT, "rootless mode must be -1, 0 or 1");
  o->rootless = mode;
  return 0;
}

int
zagent_options_set_args (zagent_options *o, const char *const *args, size_t n, zagent_error **err)
{
  za_strv_clear (&o->args);
  for (size_t i = 0; i < n; i++)
    if (za_strv_push (&o->args, args[i]) < 0)
      return za_err_set (err, ENOMEM, "out of memory");
  o->args_set = true;
  return 0;
}

int
zagent_options_add_device (zagent_options *o, const char *name, zagent_error **err)
{
  char buf[512];
  const char *p = name ? za_cdi_qualified_problem (name, buf, sizeof buf) : "empty device name";
  if (p)
    return za_err_set (err, ZA_EINPUT, "--device %s: %s", name ? name : "", p);
  return za_strv_push (&o->devices, name) < 0 ? za_err_set (err, ENOMEM, "out of memory") : 0;
}

int
zagent_options_add_cdi_dir (zagent_options *o, const char *dir, zagent_error **err)
{
  if (!dir || !*dir)
    return za_err_set (err, ZA_EINPUT, "--cdi-dir: empty directory name");
  return za_strv_push (&o->cdi_dirs, dir) < 0 ? za_err_set (err, ENOMEM, "out of memory") : 0;
}

/* ---- generation --------------------------------------------------- */

static int
pick_service (const zagent_spec *spec, const zagent_options *o, const struct za_service **out,
              zagent_error **err)
{
  return za_bundle_pick_service (spec->s, o->service, out, err);
}

/* The options as a pipeline request (bundle/pipeline.h) and the build.  */
static int
generate (const zagent_spec *spec, const zagent_options *o, const char *rootfs, const char *bundle_dir,
          struct za_build_result *res, zagent_error **warnings, zagent_error **err)
{
  struct za_volume vols[64];
  cleanup_free struct za_volume *heap = NULL;
  struct za_volume *v = vols;
  struct za_bundle_request req;
  int ret;

  if (o->vol_keys.n > 64)
    {
      heap = calloc (o->vol_keys.n, sizeof *heap);
      if (!heap)
        return za_err_set (err, ENOMEM, "out of memory");
      v = heap;
    }
  for (size_t i = 0; i < o->vol_keys.n; i++)
    v[i] = (struct za_volume) { o->vol_keys.v[i], o->vol_paths.v[i] };
  req = (struct za_bundle_request) {
    .service = o->service,
    .opts = {
      .replica = o->replica, .hostname = o->hostname, .cwd = o->cwd,
      .env = (const char *const *) o->env.v, .nenv = o->env.n, .host_network = o->host_network,
      .volumes = v, .nvolumes = o->vol_keys.n, .socket_path = o->socket,
      .secrets_dir = o->secrets_dir, .scope = o->scope, .rootless = o->rootless,
      .args = (const char *const *) o->args.v, .nargs = o->args.n, .args_set = o->args_set,
      .rootfs = rootfs, .image = o->image, .bundle_dir = bundle_dir,
      .host = za_host_default (),
    },
    .cdi_dirs = (const char *const *) o->cdi_dirs.v, .ncdi_dirs = o->cdi_dirs.n,
    .devices = (const char *const *) o->devices.v, .ndevices = o->devices.n,
  };
  if (o->host_root)
    req.opts.host.root = o->host_root;
  ret = za_bundle_build (spec->s, &req, res, err);
  if (warnings)
    za_err_append (warnings, &res->warnings);
  za_err_free (&res->warnings);
  return ret;
}

int
zagent_config_generate (const zagent_spec *spec, const zagent_options *o, const char *bundle_dir,
                        char **json_out, size_t *len_out, zagent_error **warnings, zagent_error **err)
{
  struct za_build_result res = { 0 };
  int ret;
  *json_out = NULL;
  if (generate (spec, o, o->rootfs, bundle_dir, &res, warnings, err) < 0)
    {
      za_build_result_clear (&res);
      return -1;
    }
  *json_out = za_config_dump (res.config, len_out);
  ret = *json_out ? 0 : za_err_set (err, ENOMEM, "out of memory");
  za_build_result_clear (&res);
  return ret;
}

static char *
absolute (const char *p)
{
  char cwd[PATH_MAX], *out = NULL;
  if (p[0] == '/')
    return strdup (p);
  if (!getcwd (cwd, sizeof cwd))
    return NULL;
  if (asprintf (&out, "%s/%s", cwd, p) < 0)
    return NULL;
  return out;
}

int
zagent_bundle_create (const zagent_spec *spec, const zagent_options *o, const char *bundle_dir,
                      char **path_out, zagent_error **warnings, zagent_error **err)
{
  return za_api_bundle_create (spec, o, o->rootfs, bundle_dir, path_out, warnings, err);
}

int
za_api_bundle_create (const zagent_spec *spec, const zagent_options *o, const char *rootfs, const char *bundle_dir,
                      char **path_out, zagent_error **warnings, zagent_error **err)
{
  struct za_build_result res = { 0 };
  cleanup_free char *dir = NULL;
  const struct za_service *svc = NULL;

  *path_out = NULL;
  /* "" would make the working directory the bundle.  */
  if (bundle_dir && !*bundle_dir)
    return za_err_set (err, ZA_EINPUT, "the bundle directory path is empty");
  if (bundle_dir)
    dir = absolute (bundle_dir);
  else
    {
      cleanup_free char *id = NULL;
      struct za_err *tmp = NULL;
      /* generate() reports a bad service choice after validation.  */
      if (pick_service (spec, o, &svc, &tmp) < 0)
        za_err_free (&tmp);
      else
        {
          id = za_container_id (svc->name, o->replica);
          dir = id ? za_default_bundle_dir (id) : NULL;
        }
    }
  if (!dir && (bundle_dir || svc))
    return za_err_set (err, ENOMEM, "out of memory");
  if (generate (spec, o, rootfs, dir, &res, warnings, err) < 0)
    {
      za_build_result_clear (&res);
      return -1;
    }
  if (za_bundle_write (dir, &res, err) < 0)
    {
      za_build_result_clear (&res);
      return -1;
    }
  za_build_result_clear (&res);
  *path_out = steal_pointer (&dir);
  return 0;
}

int
zagent_container_info (const zagent_spec *spec, const zagent_options *o, char **id_out,
                       unsigned long long *stop_grace_ns, zagent_error **err)
{
  const struct za_service *svc = NULL;
  *id_out = NULL;
  if (pick_service (spec, o, &svc, err) < 0)
    return -1;
  *id_out = za_container_id (svc->name, o->replica);
  if (!*id_out)
    return za_err_set (err, ENOMEM, "out of memory");
  if (stop_grace_ns)
    *stop_grace_ns = svc->stop_grace_period.set ? svc->stop_grace_period.ns : 0;
  return 0;
}

int
zagent_bundle_cleanup (const char *bundle_dir, zagent_error **err)
{
  return za_bundle_cleanup (bundle_dir, err);
}
