/* CDI spec files: model, parsing in the reference's dialect, validation
   (cdi-reference.md §1, §2, §4.2; library v1.1.0).  */
#define _GNU_SOURCE
#include "cdi/cdi.h"
#include "cdi/name.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "yaml/yaml.h"
#include "util/fs.h"
#include "util/strv.h"

#define F ZA_FIELD
#define NF(a) (sizeof (a) / sizeof (a)[0])
#define I64 .min = INT64_MIN, .max = INT64_MAX, .tname = "int64"
#define U32 .min = 0, .max = UINT32_MAX, .tname = "uint32"
#define INT .min = INT64_MIN, .max = INT64_MAX, .tname = "int"

#define ZA_CDI_MAX_FILE (4u << 20)

/* additionalGids: a list of uint32 (YAML 1.1 integers).  */
static int
decode_gids (struct za_dctx *c, const struct za_node *n, void *dst)
{
  struct za_cdi_gids *g = dst;
  char buf[160];
  int ret = 0;
  g->m = n->mark;
  if (n->type == ZA_NODE_SCALAR && za_scalar_classify11 (n) == ZA_SK_NULL)
    return 0;
  if (n->type != ZA_NODE_SEQ)
    return za_dctx_error (c, n, "expected a list, got %s", za_dctx_describe (c, n, buf, sizeof buf));
  g->v = za_arena_calloc (c->arena, n->n ? n->n : 1, sizeof *g->v);
  if (!g->v)
    return za_errs_set (&c->errs, ENOMEM, "out of memory");
  for (size_t i = 0; i < n->n; i++)
    {
      const struct za_node *it = n->items[i];
      const char *canon = it->type == ZA_NODE_SCALAR && za_scalar_classify11 (it) == ZA_SK_INT
                              ? za_scalar_canonical11 (c->arena, it) : NULL;
      char *end = NULL;
      unsigned long long v = canon && canon[0] != '-' ? strtoull (canon, &end, 10) : ULLONG_MAX;
      if (!canon || canon[0] == '-' || *end || v > UINT32_MAX)
        {
          size_t old = za_dctx_push_index (c, i);
          ret = za_dctx_error (c, it, "expected an integer (uint32), got %s",
                               za_dctx_describe (c, it, buf, sizeof buf));
          za_dctx_pop (c, old);
          continue;
        }
      g->v[g->n++] = (uint32_t) v;
    }
  return ret;
}

static const struct za_field node_fields[] = {
  F (struct za_cdi_device_node, "path", ZA_FT_STR, path),
  F (struct za_cdi_device_node, "hostPath", ZA_FT_STR, host_path),
  F (struct za_cdi_device_node, "type", ZA_FT_STR, type),
  F (struct za_cdi_device_node, "major", ZA_FT_INT, major, I64),
  F (struct za_cdi_device_node, "minor", ZA_FT_INT, minor, I64),
  F (struct za_cdi_device_node, "fileMode", ZA_FT_INT, file_mode, U32),
  F (struct za_cdi_device_node, "permissions", ZA_FT_STR, permissions),
  F (struct za_cdi_device_node, "uid", ZA_FT_INT, uid, U32),
  F (struct za_cdi_device_node, "gid", ZA_FT_INT, gid, U32),
};
static const struct za_schema node_schema
    = ZA_SCHEMA (struct za_cdi_device_node, "deviceNode", node_fields);

static const struct za_field mount_fields[] = {
  F (struct za_cdi_mount, "hostPath", ZA_FT_STR, host_path),
  F (struct za_cdi_mount, "containerPath", ZA_FT_STR, container_path),
  F (struct za_cdi_mount, "options", ZA_FT_STRLIST, options),
  F (struct za_cdi_mount, "type", ZA_FT_STR, type),
};
static const struct za_schema mount_schema = ZA_SCHEMA (struct za_cdi_mount, "mount", mount_fields);

static const struct za_field hook_fields[] = {
  F (struct za_cdi_hook, "hookName", ZA_FT_STR, hook_name),
  F (struct za_cdi_hook, "path", ZA_FT_STR, path),
  F (struct za_cdi_hook, "args", ZA_FT_STRLIST, args),
  F (struct za_cdi_hook, "env", ZA_FT_STRLIST, env),
  F (struct za_cdi_hook, "timeout", ZA_FT_INT, timeout, INT),
};
static const struct za_schema hook_schema = ZA_SCHEMA (struct za_cdi_hook, "hook", hook_fields);

static const struct za_field rdt_fields[] = {
  F (struct za_cdi_intel_rdt, "closID", ZA_FT_STR, clos_id),
  F (struct za_cdi_intel_rdt, "l3CacheSchema", ZA_FT_STR, l3_cache_schema),
  F (struct za_cdi_intel_rdt, "memBwSchema", ZA_FT_STR, mem_bw_schema),
  F (struct za_cdi_intel_rdt, "schemata", ZA_FT_STRLIST, schemata),
  F (struct za_cdi_intel_rdt, "enableMonitoring", ZA_FT_BOOL, enable_monitoring),
};
static const struct za_schema rdt_schema = ZA_SCHEMA (struct za_cdi_intel_rdt, "intelRdt", rdt_fields);

static const struct za_field netdev_fields[] = {
  F (struct za_cdi_net_device, "hostInterfaceName", ZA_FT_STR, host_interface_name),
  F (struct za_cdi_net_device, "name", ZA_FT_STR, name),
};
static const struct za_schema netdev_schema
    = ZA_SCHEMA (struct za_cdi_net_device, "netDevice", netdev_fields);

static const struct za_field edits_fields[] = {
  F (struct za_cdi_edits, "env", ZA_FT_STRLIST, env),
  F (struct za_cdi_edits, "deviceNodes", ZA_FT_LIST, device_nodes, .sub = &node_schema),
  F (struct za_cdi_edits, "mounts", ZA_FT_LIST, mounts, .sub = &mount_schema),
  F (struct za_cdi_edits, "hooks", ZA_FT_LIST, hooks, .sub = &hook_schema),
  F (struct za_cdi_edits, "intelRdt", ZA_FT_OPT_STRUCT, intel_rdt, ZA_F_OPT, .sub = &rdt_schema),
  F (struct za_cdi_edits, "additionalGids", ZA_FT_CUSTOM, additional_gids, .custom = decode_gids),
  F (struct za_cdi_edits, "netDevices", ZA_FT_LIST, net_devices, .sub = &netdev_schema),
};
static const struct za_schema edits_schema
    = ZA_SCHEMA (struct za_cdi_edits, "containerEdits", edits_fields);

static const struct za_field device_fields[] = {
  F (struct za_cdi_device, "name", ZA_FT_STR, name),
  F (struct za_cdi_device, "annotations", ZA_FT_STRMAP, annotations),
  F (struct za_cdi_device, "containerEdits", ZA_FT_STRUCT, edits, .sub = &edits_schema),
};
static const struct za_schema device_schema = ZA_SCHEMA (struct za_cdi_device, "device", device_fields);

static const struct za_field spec_fields[] = {
  F (struct za_cdi_spec, "cdiVersion", ZA_FT_STR, cdi_version),
  F (struct za_cdi_spec, "kind", ZA_FT_STR, kind),
  F (struct za_cdi_spec, "annotations", ZA_FT_STRMAP, annotations),
  F (struct za_cdi_spec, "devices", ZA_FT_LIST, devices, .sub = &device_schema),
  F (struct za_cdi_spec, "containerEdits", ZA_FT_STRUCT, edits, .sub = &edits_schema),
};
static const struct za_schema spec_schema = ZA_SCHEMA (struct za_cdi_spec, "CDI spec", spec_fields);



/* ---- versions -------------------------------------------------------- */

static const char *const known_versions[]
    = { "0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0", NULL };

bool
za_cdi_version_known (const char *v)
{
  if (!v)
    return false;
  if (v[0] == 'v')
    v++;
  for (int i = 0; known_versions[i]; i++)
    if (!strcmp (v, known_versions[i]))
      return true;
  return false;
}

int
za_cdi_version_cmp (const char *a, const char *b)
{
  unsigned x[3] = { 0 }, y[3] = { 0 };
  sscanf (a + (a[0] == 'v'), "%u.%u.%u", &x[0], &x[1], &x[2]);
  sscanf (b + (b[0] == 'v'), "%u.%u.%u", &y[0], &y[1], &y[2]);
  for (int i = 0; i < 3; i++)
    if (x[i] != y[i])
      return x[i] < y[i] ? -1 : 1;
  return 0;
}

static bool
edits_any (const struct za_cdi_spec *s, bool (*pred) (const struct za_cdi_edits *))
{
  if (pred (&s->edits))
    return true;
  for (size_t i = 0; i < s->devices.n; i++)
    if (pred (&((const struct za_cdi_device *) s->devices.v)[i].edits))
      return true;
  return false;
}

static bool
needs_110 (const struct za_cdi_edits *e)
{
  return e->net_devices.n > 0
         || (e->intel_rdt && (e->intel_rdt->schemata.set || e->intel_rdt->enable_monitoring.v));
}
static bool
needs_070 (const struct za_cdi_edits *e)
{
  return e->intel_rdt || e->additional_gids.n > 0;
}
static bool
needs_050 (const struct za_cdi_edits *e)
{
  for (size_t i = 0; i < e->device_nodes.n; i++)
    {
      const struct za_cdi_device_node *d = (const struct za_cdi_device_node *) e->device_nodes.v + i;
      if (d->host_path.s && *d->host_path.s)
        return true;
    }
  return false;
}
static bool
needs_040 (const struct za_cdi_edits *e)
{
  for (size_t i = 0; i < e->mounts.n; i++)
    {
      const struct za_cdi_mount *m = (const struct za_cdi_mount *) e->mounts.v + i;
      if (m->type.s && *m->type.s)
        return true;
    }
  return false;
}

const char *
za_cdi_required_version (const struct za_cdi_spec *s)
{
  const char *slash = s->kind.s ? strchr (s->kind.s, '/') : NULL;
  if (edits_any (s, needs_110))
    return "1.1.0";
  if (edits_any (s, needs_070))
    return "0.7.0";
  if (s->annotations.n > 0 || (slash && strchr (slash + 1, '.')))
    return "0.6.0";
  for (size_t i = 0; i < s->devices.n; i++)
    if (((const struct za_cdi_device *) s->devices.v)[i].annotations.n > 0)
      return "0.6.0";
  for (size_t i = 0; i < s->devices.n; i++)
    {
      const char *n = ((const struct za_cdi_device *) s->devices.v)[i].name.s;
      if (n && *n && !(isascii ((unsigned char) n[0]) && isalpha ((unsigned char) n[0])))
        return "0.5.0";
    }
  if (edits_any (s, needs_050))
    return "0.5.0";
  if (edits_any (s, needs_040))
    return "0.4.0";
  return "0.3.0";
}

/* ---- validation ------------------------------------------------------ */

struct vctx
{
  const char *file;
  struct za_errs errs;
};

static int __attribute__ ((format (printf, 3, 4)))
verr (struct vctx *v, const struct za_mark *m, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_errs_atv (&v->errs, ZA_EINPUT, v->file, m && m->line ? m : NULL, NULL, fmt, ap);
  va_end (ap);
  return -1;
}

/* Where to report a problem with a key: the key's value, else (the key is
   missing) the entry that lacks it.  */
static const struct za_mark *
at (const struct za_mark *field, const struct za_mark *entry)
{
  return field->line ? field : entry;
}

static bool
env_valid (const char *e)
{
  const char *eq = strchr (e, '=');
  return eq && eq > e;
}

static bool
edits_empty (const struct za_cdi_edits *e)
{
  return e->env.n == 0 && e->device_nodes.n == 0 && e->mounts.n == 0 && e->hooks.n == 0
         && !e->intel_rdt && e->additional_gids.n == 0 && e->net_devices.n == 0;
}

static const char *const hook_names[]
    = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL };

static void
validate_edits (struct vctx *v, const struct za_cdi_edits *e, const char *ctx)
{
  for (size_t i = 0; i < e->env.n; i++)
    if (!env_valid (e->env.v[i].s))
      verr (v, &e->env.v[i].m, "%sinvalid environment variable \"%s\"", ctx, ZA_CDI_Q (e->env.v[i].s));
  for (size_t i = 0; i < e->device_nodes.n; i++)
    {
      const struct za_cdi_device_node *d = (const struct za_cdi_device_node *) e->device_nodes.v + i;
      const char *t = d->type.s ? d->type.s : "";
      if (!d->path.s || !*d->path.s)
        verr (v, at (&d->path.m, &d->m), "%sinvalid (empty) device path", ctx);
      if (*t && strcmp (t, "b") && strcmp (t, "c") && strcmp (t, "u") && strcmp (t, "p"))
        verr (v, &d->type.m, "%sdevice \"%s\": invalid device type \"%s\"", ctx, ZA_CDI_Q (d->path.s ? d->path.s : ""),
              ZA_CDI_Q (t));
      if (d->permissions.s && strspn (d->permissions.s, "rwm") != strlen (d->permissions.s))
        verr (v, &d->permissions.m, "%sdevice \"%s\": invalid permissions \"%s\"", ctx,
              ZA_CDI_Q (d->path.s ? d->path.s : ""), ZA_CDI_Q (d->permissions.s));
    }
  for (size_t i = 0; i < e->mounts.n; i++)
    {
      const struct za_cdi_mount *m = (const struct za_cdi_mount *) e->mounts.v + i;
      if (!m->host_path.s || !*m->host_path.s)
        verr (v, at (&m->host_path.m, &m->m), "%sinvalid mount, empty host path", ctx);
      if (!m->container_path.s || !*m->container_path.s)
        verr (v, at (&m->container_path.m, &m->m), "%sinvalid mount, empty container path", ctx);
    }
  for (size_t i = 0; i < e->hooks.n; i++)
    {
      const struct za_cdi_hook *h = (const struct za_cdi_hook *) e->hooks.v + i;
      const char *hn = h->hook_name.s ? h->hook_name.s : "";
      bool ok = false;
      for (int k = 0; hook_names[k]; k++)
        ok |= !strcmp (hn, hook_names[k]);
      if (!ok)
        verr (v, at (&h->hook_name.m, &h->m), "%sinvalid hook name \"%s\"", ctx, ZA_CDI_Q (hn));
      if (!h->path.s || !*h->path.s)
        verr (v, at (&h->path.m, &h->m), "%sinvalid hook \"%s\" with empty path", ctx, ZA_CDI_Q (hn));
      /* The OCI runtime spec wants an absolute hook path, and a relative
         one would resolve against whatever directory the runtime runs
         in.  The reference library does not check it (docs/cdi.md).  */
      else if (h->path.s[0] != '/')
        verr (v, &h->path.m, "%sinvalid hook \"%s\": path \"%s\" is not absolute", ctx, ZA_CDI_Q (hn), ZA_CDI_Q (h->path.s));
      for (size_t k = 0; k < h->env.n; k++)
        if (!env_valid (h->env.v[k].s))
          verr (v, &h->env.v[k].m, "%sinvalid hook environment variable \"%s\"", ctx, ZA_CDI_Q (h->env.v[k].s));
    }
  if (e->intel_rdt && e->intel_rdt->clos_id.s)
    {
      const char *c = e->intel_rdt->clos_id.s;
      if (strcmp (c, "/") && (strlen (c) >= 4096 || !strcmp (c, ".") || !strcmp (c, "..")
                              || strpbrk (c, "/\n")))
        verr (v, &e->intel_rdt->clos_id.m, "%sinvalid intelRdt closID \"%s\"", ctx, ZA_CDI_Q (c));
    }
  /* duplicates by sorting: a pairwise check is quadratic in long lists */
  const char **hn = calloc (e->net_devices.n + 1, sizeof *hn);
  const char **nn = calloc (e->net_devices.n + 1, sizeof *nn);
  bool *hdup = NULL, *ndup = NULL;
  for (size_t i = 0; hn && nn && i < e->net_devices.n; i++)
    {
      hn[i] = ((const struct za_cdi_net_device *) e->net_devices.v + i)->host_interface_name.s;
      nn[i] = ((const struct za_cdi_net_device *) e->net_devices.v + i)->name.s;
    }
  if (!hn || !nn || !(hdup = za_dup_flags (hn, e->net_devices.n)) || !(ndup = za_dup_flags (nn, e->net_devices.n)))
    za_errs_set (&v->errs, ENOMEM, "out of memory");
  for (size_t i = 0; hdup && ndup && i < e->net_devices.n; i++)
    {
      const struct za_cdi_net_device *d = (const struct za_cdi_net_device *) e->net_devices.v + i;
      if (!d->host_interface_name.s || !*d->host_interface_name.s)
        verr (v, at (&d->host_interface_name.m, &d->m), "%sinvalid (empty) netDevice hostInterfaceName", ctx);
      if (!d->name.s || !*d->name.s)
        verr (v, at (&d->name.m, &d->m), "%sinvalid (empty) netDevice name", ctx);
      if (hdup[i])
        verr (v, &d->host_interface_name.m, "%sduplicate netDevice hostInterfaceName \"%s\"", ctx,
              ZA_CDI_Q (d->host_interface_name.s));
      if (ndup[i])
        verr (v, &d->name.m, "%sduplicate netDevice name \"%s\"", ctx, ZA_CDI_Q (d->name.s));
    }
  free (hn);
  free (nn);
  free (hdup);
  free (ndup);
}

static int
validate_spec (struct za_cdi_file *f, struct za_err **err)
{
  struct vctx v = { .file = f->path, .errs = ZA_ERRS_INIT (ZA_ERRS_MAX) };
  struct za_cdi_spec *s = &f->spec;
  const char *ver = s->cdi_version.s ? s->cdi_version.s : "";
  char buf[512], *kind, *slash;
  const char *p;
  bool *dup;

  if (!za_cdi_version_known (ver))
    {
      verr (&v, at (&s->cdi_version.m, &s->m), "invalid version \"%s\"", ZA_CDI_Q (ver));
      return za_errs_finish (&v.errs, err);
    }
  {
    const char *need = za_cdi_required_version (s);
    if (za_cdi_version_cmp (ver, need) < 0)
      verr (&v, &s->cdi_version.m, "the spec version must be at least v%s", need);
  }
  kind = za_arena_strdup (&f->arena, s->kind.s ? s->kind.s : "");
  if (!kind)
    {
      za_errs_set (&v.errs, ENOMEM, "out of memory");
      return za_errs_finish (&v.errs, err);
    }
  slash = strchr (kind, '/');
  if (slash)
    *slash = '\0';
  f->vendor = kind;
  f->class = slash ? slash + 1 : "";
  if (!slash || !*f->class)
    verr (&v, at (&s->kind.m, &s->m), "invalid (empty) vendor name");
  else if ((p = za_cdi_vc_problem ("vendor", f->vendor, buf, sizeof buf)) || (p = za_cdi_vc_problem ("class", f->class, buf, sizeof buf)))
    verr (&v, &s->kind.m, "%s", p);
  validate_edits (&v, &s->edits, "");
  {
    const char **names = calloc (s->devices.n + 1, sizeof *names);
    for (size_t i = 0; names && i < s->devices.n; i++)
      names[i] = ((const struct za_cdi_device *) s->devices.v + i)->name.s;
    dup = names ? za_dup_flags (names, s->devices.n) : NULL;
    free (names);
    if (!dup)
      {
        za_errs_set (&v.errs, ENOMEM, "out of memory");
        return za_errs_finish (&v.errs, err);
      }
  }
  for (size_t i = 0; i < s->devices.n; i++)
    {
      const struct za_cdi_device *d = (const struct za_cdi_device *) s->devices.v + i;
      char ctx[300];
      const char *nm = d->name.s ? d->name.s : "";
      snprintf (ctx, sizeof ctx, "failed add device \"%s\": ", ZA_CDI_Q (nm));
      if ((p = za_cdi_name_problem (nm, buf, sizeof buf)))
        verr (&v, d->name.s ? &d->name.m : &d->m, "%s%s", ctx, p);
      if (edits_empty (&d->edits))
        verr (&v, d->name.s ? &d->name.m : &d->m, "%sinvalid device, empty device edits", ctx);
      validate_edits (&v, &d->edits, ctx);
      if (dup[i])
        verr (&v, &d->name.m, "invalid spec, multiple device \"%s\"", ZA_CDI_Q (nm));
    }
  free (dup);
  if (s->devices.n == 0)
    verr (&v, at (&s->devices.m, &s->m), "invalid spec, no devices");
  return za_errs_finish (&v.errs, err);
}

/* ---- loading --------------------------------------------------------- */

void
za_cdi_file_free (struct za_cdi_file *f)
{
  if (!f)
    return;
  za_arena_release (&f->arena);
  free (f->path);
  free (f);
}

/* The position of every list entry, for errors about keys they lack.
   Keys match case-insensitively, as in the decoder.  */
static const struct za_node *
map_get (const struct za_node *map, const char *key)
{
  if (!map || map->type != ZA_NODE_MAP)
    return NULL;
  for (size_t i = 0; i < map->n; i++)
    {
      const struct za_node *k = za_map_key (map, i);
      if (k->type == ZA_NODE_SCALAR && !strcasecmp (k->value, key))
        return za_map_val (map, i);
    }
  return NULL;
}

#define ITEM_MARKS(seq, list, T)                                                          \
  do                                                                                      \
    {                                                                                     \
      const struct za_node *s_ = (seq);                                                   \
      if (s_ && s_->type == ZA_NODE_SEQ)                                                  \
        for (size_t j_ = 0; j_ < s_->n && j_ < (list).n; j_++)                            \
          ((T *) (list).v)[j_].m = s_->items[j_]->mark;                                   \
    }                                                                                     \
  while (0)

static void
record_edits_marks (const struct za_node *n, struct za_cdi_edits *e)
{
  ITEM_MARKS (map_get (n, "deviceNodes"), e->device_nodes, struct za_cdi_device_node);
  ITEM_MARKS (map_get (n, "mounts"), e->mounts, struct za_cdi_mount);
  ITEM_MARKS (map_get (n, "hooks"), e->hooks, struct za_cdi_hook);
  ITEM_MARKS (map_get (n, "netDevices"), e->net_devices, struct za_cdi_net_device);
}

static void
record_marks (const struct za_node *root, struct za_cdi_spec *s)
{
  const struct za_node *devs = map_get (root, "devices");
  s->m = root->mark;
  if (!s->m.line)
    s->m = (struct za_mark) { 1, 1 };
  record_edits_marks (map_get (root, "containerEdits"), &s->edits);
  ITEM_MARKS (devs, s->devices, struct za_cdi_device);
  for (size_t j = 0; devs && devs->type == ZA_NODE_SEQ && j < devs->n && j < s->devices.n; j++)
    record_edits_marks (map_get (devs->items[j], "containerEdits"),
                        &((struct za_cdi_device *) s->devices.v)[j].edits);
}

int
za_cdi_file_parse (const char *name, const char *data, size_t len, int priority,
                   struct za_cdi_file **out, struct za_err **err)
{
  struct za_cdi_file *f = calloc (1, sizeof *f);
  struct za_arena tree = { 0 };
  struct za_node *root = NULL;
  struct za_dctx c;

  *out = NULL;
  if (!f || !(f->path = strdup (name)))
    {
      free (f);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  f->priority = priority;
  /* The node tree lives only while decoding; the file keeps its strings.  */
  if (za_yaml_parse (&tree, f->path, data, len, NULL, &root, err) < 0)
    goto fail;
  if (!root)
    {
      struct za_mark m = { 1, 1 };
      za_err_set_at (err, f->path, &m, NULL, "failed to parse CDI Spec, no Spec data");
      goto fail;
    }
  /* A spec file may be a symlink to any file, or named by a caller who
     cannot read it: decode errors quote none of its text (redact).  */
  c = (struct za_dctx) { .arena = &f->arena, .file = f->path, .errs = ZA_ERRS_INIT (50), .yaml11 = true,
                         .copy_strings = true, .redact = &spec_schema };
  za_decode (&c, &spec_schema, root, &f->spec);
  if (za_errs_finish (&c.errs, err) < 0)
    goto fail;
  record_marks (root, &f->spec);
  za_arena_release (&tree);
  if (validate_spec (f, err) < 0)
    goto fail;
  *out = f;
  return 0;
fail:
  za_arena_release (&tree);
  za_cdi_file_free (f);
  return -1;
}

int
za_cdi_file_load_fd (int fd, const char *path, int priority, struct za_cdi_file **out, struct za_err **err)
{
  char *data = NULL;
  size_t len = 0;
  int ret;
  *out = NULL;
  if (za_read_fd (fd, path, ZA_CDI_MAX_FILE, &data, &len, err) < 0)
    return -1;
  ret = za_cdi_file_parse (path, data, len, priority, out, err);
  free (data);
  return ret;
}

int
za_cdi_file_load (const char *path, int priority, struct za_cdi_file **out, struct za_err **err)
{
  char *data = NULL;
  size_t len = 0;
  int ret;
  *out = NULL;
  if (za_read_file (path, ZA_CDI_MAX_FILE, &data, &len, err) < 0)
    return -1;
  ret = za_cdi_file_parse (path, data, len, priority, out, err);
  free (data);
  return ret;
}
