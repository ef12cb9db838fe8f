/* Applying CDI edits to an OCI config (cdi-reference.md §5, library
   v1.1.0): one pass per category over the whole plan — env, device
   nodes, net devices, mounts, hooks, intelRdt, additionalGids.  */
#define _GNU_SOURCE
#include "cdi/cdi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "oci/device.h"
#include "util/cleanup.h"

/* Run the body (the variadic tail) for every element of one edits list
   across the whole plan, in order.  */
#define EACH_LIST(plan, field, T, var, ...)                                                   \
  for (size_t _p = 0; _p < (plan)->n; _p++)                                                   \
    for (size_t _i = 0; _i < (plan)->edits[_p]->field.n; _i++)                                 \
      {                                                                                       \
        const T *var = (const T *) (plan)->edits[_p]->field.v + _i;                           \
        __VA_ARGS__                                                                           \
      }

/* obj[key] as an object/array, created when missing or null (Go decodes
   a JSON null as the zero value).  NULL with *ERR set on OOM, or when an
   existing value has another type.  */
static json_t *
child (json_t *obj, const char *key, bool array, struct za_err **err)
{
  json_t *v = json_object_get (obj, key);
  if (v && !json_is_null (v))
    {
      if (array ? json_is_array (v) : json_is_object (v))
        return v;
      za_err_set (err, ZA_EINPUT, "config.json: `%s` is not %s", key, array ? "an array" : "an object");
      return NULL;
    }
  v = array ? json_array () : json_object ();
  if (!v || json_object_set_new (obj, key, v) < 0)
    {
      za_err_set (err, ENOMEM, "out of memory applying CDI edits");
      return NULL;
    }
  return v;
}

/* Insert KEY before BEFORE (keeps oci-spec key order for `hooks`).  */
static int
set_before (json_t *obj, const char *key, json_t *val, const char *before)
{
  json_t *copy;
  const char *k;
  json_t *v;
  if (!json_object_get (obj, before))
    return json_object_set_new (obj, key, val);
  copy = json_object ();
  if (!copy)
    {
      json_decref (val);
      return -1;
    }
  json_object_foreach (obj, k, v)
    {
      if (!strcmp (k, before))
        json_object_set (copy, key, val);
      json_object_set (copy, k, v);
    }
  json_decref (val);
  json_object_clear (obj);
  json_object_update (obj, copy);
  json_decref (copy);
  return 0;
}

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory applying CDI edits");
}

/* env: replace by name among CDI entries; entries already in the config
   are keyed by their whole text (runtime-tools generator, used by every
   released library), so CDI never replaces a pre-existing FOO=y.  */
static int
apply_env (json_t *cfg, const struct za_cdi_plan *plan, struct za_err **err)
{
  json_t *proc, *env, *keys;
  int ret = 0;
  bool any = false;
  for (size_t p = 0; p < plan->n; p++)
    any |= plan->edits[p]->env.n > 0;
  if (!any)
    return 0;
  if (!(proc = child (cfg, "process", false, err)) || !(env = child (proc, "env", true, err)))
    return -1;
  /* key -> index, as the generator's cache: each key maps to its last
     index (with a bare name twice in the config, the later one is
     replaced).  A hash keeps 100k-entry specs linear.  */
  keys = json_object ();
  if (!keys)
    return oom (err);
  for (size_t i = 0; i < json_array_size (env) && ret == 0; i++)
    {
      const char *e = json_string_value (json_array_get (env, i));
      ret = json_object_set_new (keys, e ? e : "", json_integer ((json_int_t) i));
    }
  for (size_t p = 0; p < plan->n && ret == 0; p++)
    for (size_t i = 0; i < plan->edits[p]->env.n && ret == 0; i++)
      {
        const char *e = plan->edits[p]->env.v[i].s;
        const char *eq = strchr (e, '=');
        size_t kl = eq ? (size_t) (eq - e) : strlen (e);
        json_t *idx = json_object_getn (keys, e, kl);
        if (idx)
          ret = json_array_set_new (env, (size_t) json_integer_value (idx), json_string (e));
        else
          {
            ret = json_object_setn_new (keys, e, kl, json_integer ((json_int_t) json_array_size (env)));
            if (ret == 0)
              ret = json_array_append_new (env, json_string (e));
          }
      }
  json_decref (keys);
  return ret < 0 ? oom (err) : 0;
}

/* An OCI array whose elements are replaced by a string key (device
   `path`, mount `destination`): for each edit, remove the first element
   with that key, then append — what the reference does.  Done in place
   that is quadratic (a 4 MiB spec holds ~90k nodes); here the elements
   sit in a side array, with a hash from each key to its live positions,
   and the OCI array is rebuilt once at the end.  */
struct keyed
{
  json_t *arr;
  const char *field;
  json_t **items; /* NULL = removed */
  size_t n, cap;
  json_t *index; /* key -> [position, ...] in order */
};

static int
keyed_put (struct keyed *k, json_t *obj)
{
  const char *key = json_string_value (json_object_get (obj, k->field));
  json_t *q;
  if (k->n == k->cap)
    {
      size_t cap = k->cap ? k->cap * 2 : 16;
      json_t **v = realloc (k->items, cap * sizeof *v);
      if (!v)
        {
          json_decref (obj);
          return -1;
        }
      k->items = v;
      k->cap = cap;
    }
  if (key)
    {
      q = json_object_get (k->index, key);
      if (!q && json_object_set_new (k->index, key, q = json_array ()) < 0)
        q = NULL;
      if (!q || json_array_append_new (q, json_integer ((json_int_t) k->n)) < 0)
        {
          json_decref (obj);
          return -1;
        }
    }
  k->items[k->n++] = obj;
  return 0;
}

static int
keyed_begin (struct keyed *k, json_t *arr, const char *field)
{
  *k = (struct keyed) { .arr = arr, .field = field, .index = json_object () };
  if (!k->index)
    return -1;
  for (size_t i = 0; i < json_array_size (arr); i++)
    if (keyed_put (k, json_incref (json_array_get (arr, i))) < 0)
      return -1;
  return 0;
}

/* Remove the first live element keyed like OBJ, then append OBJ (owned).  */
static int
keyed_replace (struct keyed *k, json_t *obj)
{
  const char *key = json_string_value (json_object_get (obj, k->field));
  json_t *q = key ? json_object_get (k->index, key) : NULL;
  if (q && json_array_size (q) > 0)
    {
      size_t pos = (size_t) json_integer_value (json_array_get (q, 0));
      json_decref (k->items[pos]);
      k->items[pos] = NULL;
      json_array_remove (q, 0);
    }
  return keyed_put (k, obj);
}

static int
keyed_finish (struct keyed *k, bool commit)
{
  int ret = 0;
  if (commit)
    json_array_clear (k->arr);
  for (size_t i = 0; i < k->n; i++)
    if (k->items[i])
      {
        if (commit && json_array_append (k->arr, k->items[i]) < 0)
          ret = -1;
        json_decref (k->items[i]);
      }
  free (k->items);
  json_decref (k->index);
  return ret;
}

static const char *
host_type (mode_t m)
{
  return S_ISBLK (m) ? "b" : S_ISCHR (m) ? "c" : S_ISFIFO (m) ? "p" : NULL;
}

static int
apply_device_nodes (json_t *cfg, const struct za_cdi_plan *plan, const struct za_host *host,
                    struct za_err **err)
{
  json_t *proc = json_object_get (cfg, "process");
  json_t *user = proc ? json_object_get (proc, "user") : NULL;
  json_int_t puid = user ? json_integer_value (json_object_get (user, "uid")) : 0;
  json_int_t pgid = user ? json_integer_value (json_object_get (user, "gid")) : 0;
  json_t *lx = NULL, *devs = NULL, *rules = NULL;
  struct keyed kd;
  bool any = false;
  int ret = 0;

  for (size_t p = 0; p < plan->n; p++)
    any |= plan->edits[p]->device_nodes.n > 0;
  if (!any)
    return 0;
  if (!(lx = child (cfg, "linux", false, err)) || !(devs = child (lx, "devices", true, err)))
    return -1;
  {
    json_t *res = child (lx, "resources", false, err);
    if (!res || !(rules = child (res, "devices", true, err)))
      return -1;
  }
  if (keyed_begin (&kd, devs, "path") < 0)
    {
      keyed_finish (&kd, false);
      return oom (err);
    }
  EACH_LIST (plan, device_nodes, struct za_cdi_device_node, d, {
    const char *hp = d->host_path.s && *d->host_path.s ? d->host_path.s : d->path.s;
    const char *type = d->type.s ? d->type.s : "";
    int64_t major = d->major.set ? d->major.v : 0, minor = d->minor.set ? d->minor.v : 0;
    bool minimal = *type && (major != 0 || !strcmp (type, "p"));
    bool have_mode = d->file_mode.set;
    int64_t mode = d->file_mode.v;
    struct stat st;
    cleanup_free char *hpath = za_host_path (host, hp);
    struct za_oci_device dev;
    json_t *node;
    int serr = 0;

    if (!hpath)
      goto oom;
    if (lstat (hpath, &st) < 0)
      serr = errno;
    else if (!host_type (st.st_mode))
      serr = -1;
    if (serr && !minimal)
      {
        ret = za_err_set (err, serr > 0 && serr != ENOENT && serr != EACCES ? serr : ZA_EINPUT,
                          "failed to stat CDI host device \"%s\": %s", hp,
                          serr > 0 ? strerror (serr) : "not a device node");
        goto out;
      }
    if (!serr)
      {
        if (!have_mode)
          {
            mode = st.st_mode & 0777;
            have_mode = true;
          }
        if (!minimal)
          {
            const char *ht = host_type (st.st_mode);
            if (!*type)
              type = ht;
            else if (strcmp (type, ht))
              {
                ret = za_err_set (err, ZA_EINPUT, "CDI device (\"%s\", \"%s\"), host type mismatch (%s, %s)",
                                  d->path.s, hp, type, ht);
                goto out;
              }
            if (major == 0 && strcmp (type, "p"))
              {
                major = major (st.st_rdev);
                minor = minor (st.st_rdev);
              }
          }
      }
    dev = (struct za_oci_device) {
      .path = d->path.s, .type = type, .major = major, .minor = minor,
      .has_mode = have_mode, .file_mode = mode,
      .has_uid = d->uid.set || puid > 0, .uid = d->uid.set ? d->uid.v : puid,
      .has_gid = d->gid.set || pgid > 0, .gid = d->gid.set ? d->gid.v : pgid,
    };
    if (!(node = za_oci_device_entry (&dev)))
      goto oom;
    /* A node with the same container path is replaced (moves to the end).  */
    if (keyed_replace (&kd, node) < 0)
      goto oom;
    if (!strcmp (type, "b") || !strcmp (type, "c"))
      {
        const char *access = d->permissions.s && *d->permissions.s ? d->permissions.s : "rwm";
        if (json_array_append_new (rules, za_oci_device_rule (&dev, access)) < 0)
          goto oom;
      }
  })
out:
  if (keyed_finish (&kd, ret == 0) < 0)
    return oom (err);
  return ret;
oom:
  ret = oom (err);
  goto out;
}

static int
apply_net_devices (json_t *cfg, const struct za_cdi_plan *plan, struct za_err **err)
{
  json_t *lx, *nd;
  bool any = false;
  for (size_t p = 0; p < plan->n; p++)
    any |= plan->edits[p]->net_devices.n > 0;
  if (!any)
    return 0;
  if (!(lx = child (cfg, "linux", false, err)) || !(nd = child (lx, "netDevices", false, err)))
    return -1;
  EACH_LIST (plan, net_devices, struct za_cdi_net_device, d, {
    if (json_object_set_new (nd, d->host_interface_name.s, json_pack ("{s:s}", "name", d->name.s)) < 0)
      return oom (err);
  })
  return 0;
}

/* Depth of a mount destination: slashes in its lexically cleaned form.  */
static int
mount_depth (const char *p)
{
  int n = 0;
  bool abs = p[0] == '/';
  for (const char *s = p; *s;)
    {
      const char *e = strchrnul (s, '/');
      size_t l = (size_t) (e - s);
      if (l == 2 && s[0] == '.' && s[1] == '.')
        n = n > 0 ? n - 1 : 0;
      else if (l > 0 && !(l == 1 && s[0] == '.'))
        n++;
      s = *e ? e + 1 : e;
    }
  return abs ? (n > 0 ? n : 1) : (n > 0 ? n - 1 : 0);
}

struct sorted_mount
{
  int depth;
  size_t idx;
  json_t *m;
};

static int
cmp_mount (const void *a, const void *b)
{
  const struct sorted_mount *x = a, *y = b;
  if (x->depth != y->depth)
    return x->depth < y->depth ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
apply_mounts (json_t *cfg, const struct za_cdi_plan *plan, struct za_err **err)
{
  json_t *mounts;
  struct sorted_mount *v;
  struct keyed km;
  size_t n;
  bool any = false;
  for (size_t p = 0; p < plan->n; p++)
    any |= plan->edits[p]->mounts.n > 0;
  if (!any)
    return 0;
  if (!(mounts = child (cfg, "mounts", true, err)))
    return -1;
  if (keyed_begin (&km, mounts, "destination") < 0)
    {
      keyed_finish (&km, false);
      return oom (err);
    }
  EACH_LIST (plan, mounts, struct za_cdi_mount, m, {
    json_t *o = json_object (), *opts = json_array ();
    if (!o || !opts)
      {
        json_decref (o);
        json_decref (opts);
        keyed_finish (&km, false);
        return oom (err);
      }
    json_object_set_new (o, "destination", json_string (m->container_path.s));
    if (m->type.s && *m->type.s)
      json_object_set_new (o, "type", json_string (m->type.s));
    json_object_set_new (o, "source", json_string (m->host_path.s));
    for (size_t k = 0; k < m->options.n; k++)
      json_array_append_new (opts, json_string (m->options.v[k].s));
    if (m->options.n)
      json_object_set_new (o, "options", opts);
    else
      json_decref (opts);
    /* The first mount with the same destination is replaced.  */
    if (keyed_replace (&km, o) < 0)
      {
        keyed_finish (&km, false);
        return oom (err);
      }
  })
  if (keyed_finish (&km, true) < 0)
    return oom (err);
  /* Stable sort of all mounts by depth (v1.0.0+, PR #241): parents are
     mounted before their children, the base order is kept otherwise.  */
  n = json_array_size (mounts);
  v = calloc (n ? n : 1, sizeof *v);
  if (!v)
    return oom (err);
  for (size_t i = 0; i < n; i++)
    {
      const char *d = json_string_value (json_object_get (json_array_get (mounts, i), "destination"));
      v[i] = (struct sorted_mount) { mount_depth (d ? d : ""), i, json_incref (json_array_get (mounts, i)) };
    }
  qsort (v, n, sizeof *v, cmp_mount);
  json_array_clear (mounts);
  for (size_t i = 0; i < n; i++)
    json_array_append_new (mounts, v[i].m);
  free (v);
  return 0;
}

static json_t *
strlist_json (const struct za_strlist *l)
{
  json_t *a = json_array ();
  for (size_t i = 0; a && i < l->n; i++)
    json_array_append_new (a, json_string (l->v[i].s));
  return a;
}

static json_t *
hook_json (const struct za_cdi_hook *h)
{
  json_t *o = json_object ();
  if (!o)
    return NULL;
  json_object_set_new (o, "path", json_string (h->path.s));
  if (h->args.n)
    json_object_set_new (o, "args", strlist_json (&h->args));
  if (h->env.n)
    json_object_set_new (o, "env", strlist_json (&h->env));
  if (h->timeout.set)
    json_object_set_new (o, "timeout", json_integer (h->timeout.v));
  return o;
}

static int
apply_hooks (json_t *cfg, const struct za_cdi_plan *plan, struct za_err **err)
{
  json_t *hooks;
  bool any = false;
  for (size_t p = 0; p < plan->n; p++)
    any |= plan->edits[p]->hooks.n > 0;
  if (!any)
    return 0;
  hooks = json_object_get (cfg, "hooks");
  if (hooks && json_is_null (hooks))
    {
      json_object_del (cfg, "hooks");
      hooks = NULL;
    }
  if (!hooks)
    {
      hooks = json_object ();
      if (!hooks || set_before (cfg, "hooks", json_incref (hooks), "annotations") < 0)
        {
          json_decref (hooks);
          return oom (err);
        }
      json_decref (hooks);
      hooks = json_object_get (cfg, "hooks");
    }
  if (!json_is_object (hooks))
    return za_err_set (err, ZA_EINPUT, "config.json: `hooks` is not an object");
  EACH_LIST (plan, hooks, struct za_cdi_hook, h, {
    json_t *list = child (hooks, h->hook_name.s, true, err);
    if (!list)
      return -1;
    if (json_array_append_new (list, hook_json (h)) < 0)
      return oom (err);
  })
  return 0;
}

static json_t *
rdt_json (const struct za_cdi_intel_rdt *r)
{
  json_t *o = json_object ();
  if (!o)
    return NULL;
  if (r->clos_id.s && *r->clos_id.s)
    json_object_set_new (o, "closID", json_string (r->clos_id.s));
  if (r->l3_cache_schema.s && *r->l3_cache_schema.s)
    json_object_set_new (o, "l3CacheSchema", json_string (r->l3_cache_schema.s));
  if (r->mem_bw_schema.s && *r->mem_bw_schema.s)
    json_object_set_new (o, "memBwSchema", json_string (r->mem_bw_schema.s));
  if (r->schemata.set)
    json_object_set_new (o, "schemata", strlist_json (&r->schemata));
  if (r->enable_monitoring.v)
    json_object_set_new (o, "enableMonitoring", json_true ());
  return o;
}

static int
apply_rdt_gids (json_t *cfg, const struct za_cdi_plan *plan, struct za_err **err)
{
  const struct za_cdi_intel_rdt *last = NULL;
  for (size_t p = 0; p < plan->n; p++)
    if (plan->edits[p]->intel_rdt)
      last = plan->edits[p]->intel_rdt;
  if (last)
    {
      json_t *lx = child (cfg, "linux", false, err);
      if (!lx)
        return -1;
      if (json_object_set_new (lx, "intelRdt", rdt_json (last)) < 0)
        return oom (err);
    }
  for (size_t p = 0; p < plan->n; p++)
    for (size_t i = 0; i < plan->edits[p]->additional_gids.n; i++)
      {
        uint32_t g = plan->edits[p]->additional_gids.v[i];
        json_t *proc, *user, *gids;
        bool present = false;
        if (g == 0)
          continue;
        if (!(proc = child (cfg, "process", false, err)) || !(user = child (proc, "user", false, err))
            || !(gids = child (user, "additionalGids", true, err)))
          return -1;
        for (size_t k = 0; k < json_array_size (gids); k++)
          present |= json_integer_value (json_array_get (gids, k)) == (json_int_t) g;
        if (!present && json_array_append_new (gids, json_integer (g)) < 0)
          return oom (err);
      }
  return 0;
}

int
za_cdi_apply (json_t *config, const struct za_cdi_plan *plan, const struct za_host *host,
              struct za_err **err)
{
  if (!json_is_object (config))
    return za_err_set (err, ZA_EINPUT, "config.json is not a JSON object");
  if (apply_env (config, plan, err) < 0 || apply_device_nodes (config, plan, host, err) < 0
      || apply_net_devices (config, plan, err) < 0 || apply_mounts (config, plan, err) < 0
      || apply_hooks (config, plan, err) < 0 || apply_rdt_gids (config, plan, err) < 0)
    return -1;
  return 0;
}

/* ---- plan as a containerEdits object ------------------------------ */

json_t *
za_cdi_plan_to_json (const struct za_cdi_plan *plan)
{
  json_t *o = json_object (), *env = json_array (), *nodes = json_array (), *mounts = json_array (),
         *hooks = json_array (), *gids = json_array (), *net = json_array ();
  const struct za_cdi_intel_rdt *rdt = NULL;
  if (!o || !env || !nodes || !mounts || !hooks || !gids || !net)
    goto fail;
  for (size_t p = 0; p < plan->n; p++)
    {
      const struct za_cdi_edits *e = plan->edits[p];
      for (size_t i = 0; i < e->env.n; i++)
        json_array_append_new (env, json_string (e->env.v[i].s));
      if (e->intel_rdt)
        rdt = e->intel_rdt;
      for (size_t i = 0; i < e->additional_gids.n; i++)
        json_array_append_new (gids, json_integer (e->additional_gids.v[i]));
    }
  EACH_LIST (plan, device_nodes, struct za_cdi_device_node, d, {
    json_t *n = json_object ();
    json_object_set_new (n, "path", json_string (d->path.s));
    if (d->host_path.s && *d->host_path.s)
      json_object_set_new (n, "hostPath", json_string (d->host_path.s));
    if (d->type.s && *d->type.s)
      json_object_set_new (n, "type", json_string (d->type.s));
    if (d->major.set)
      json_object_set_new (n, "major", json_integer (d->major.v));
    if (d->minor.set)
      json_object_set_new (n, "minor", json_integer (d->minor.v));
    if (d->file_mode.set)
      json_object_set_new (n, "fileMode", json_integer (d->file_mode.v));
    if (d->permissions.s && *d->permissions.s)
      json_object_set_new (n, "permissions", json_string (d->permissions.s));
    if (d->uid.set)
      json_object_set_new (n, "uid", json_integer (d->uid.v));
    if (d->gid.set)
      json_object_set_new (n, "gid", json_integer (d->gid.v));
    json_array_append_new (nodes, n);
  })
  EACH_LIST (plan, mounts, struct za_cdi_mount, m, {
    json_t *n = json_object ();
    json_object_set_new (n, "hostPath", json_string (m->host_path.s));
    json_object_set_new (n, "containerPath", json_string (m->container_path.s));
    if (m->options.n)
      json_object_set_new (n, "options", strlist_json (&m->options));
    if (m->type.s && *m->type.s)
      json_object_set_new (n, "type", json_string (m->type.s));
    json_array_append_new (mounts, n);
  })
  EACH_LIST (plan, hooks, struct za_cdi_hook, h, {
    json_t *n = hook_json (h);
    json_object_set_new (n, "hookName", json_string (h->hook_name.s));
    json_array_append_new (hooks, n);
  })
  EACH_LIST (plan, net_devices, struct za_cdi_net_device, d, {
    json_array_append_new (net, json_pack ("{s:s, s:s}", "hostInterfaceName", d->host_interface_name.s,
                                           "name", d->name.s));
  })
  json_object_set_new (o, "env", env);
  json_object_set_new (o, "deviceNodes", nodes);
  json_object_set_new (o, "mounts", mounts);
  json_object_set_new (o, "hooks", hooks);
  if (rdt)
    json_object_set_new (o, "intelRdt", rdt_json (rdt));
  json_object_set_new (o, "additionalGids", gids);
  json_object_set_new (o, "netDevices", net);
  return o;
fail:
  json_decref (o);
  json_decref (env);
  json_decref (nodes);
  json_decref (mounts);
  json_decref (hooks);
  json_decref (gids);
  json_decref (net);
  return NULL;
}
