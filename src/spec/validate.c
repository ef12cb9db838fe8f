/* Semantic validation of a parsed deployment (zlayer-reference.md §1.6),
   plus the checks the seed left to runtime failures (capability names,
   container paths, volume names, ulimits, secret references).  Every
   problem is reported, each at the position of the offending value.  */
#define _GNU_SOURCE
#include "spec/spec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdi/name.h"

#include "spec/caps.h"
#include "spec/env.h"
#include "spec/syntax.h"
#include "spec/units.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/suggest.h"

struct vctx
{
  const struct za_spec *spec;
  struct za_errs errs; /* every problem, up to ZA_ERRS_MAX */
  char path[1024];
};

static int __attribute__ ((format (printf, 4, 5)))
verr (struct vctx *v, const struct za_mark *m, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_errs_atv (&v->errs, ZA_EINPUT, v->spec->file, m, path, fmt, ap);
  va_end (ap);
  return -1;
}

#define P(...) (snprintf (p, sizeof p, __VA_ARGS__), p)

static void
check_memory_field (struct vctx *v, const struct za_str *mem, const char *path)
{
  int64_t bytes;
  bool bin = false;
  enum za_mem_status st;
  if (!mem->s)
    return;
  st = za_parse_memory (mem->s, &bytes, &bin);
  if (st == ZA_MEM_OVERFLOW)
    verr (v, &mem->m, path, "invalid memory format: '%s' (does not fit in a signed 64-bit byte count)", mem->s);
  else if (st != ZA_MEM_OK || !bin)
    verr (v, &mem->m, path, "invalid memory format: '%s' (use Ki, Mi, Gi, or Ti suffix)", mem->s);
  else if (bytes <= 0)
    verr (v, &mem->m, path, "invalid memory format: '%s'", mem->s);
}

/* The vendors of the reference (§ gpu.vendor).  Any other name is the
   seed's "unknown vendor" (DRI passthrough, with a warning), but one a
   typo away from a known vendor (`nvida`, `NVIDIA`) is an error: the seed
   would quietly give the container no NVIDIA GPU.  */
static void
check_gpu_vendor (struct vctx *v, const struct za_gpu_spec *g, const char *base)
{
  static const char *const known[] = { "nvidia", "amd", "intel", "apple", NULL };
  const char *near;
  char p[1200];
  if (!g->vendor.s)
    return;
  for (size_t i = 0; known[i]; i++)
    if (strcmp (g->vendor.s, known[i]) == 0)
      return;
  near = za_suggest_str (g->vendor.s, known);
  if (near)
    verr (v, &g->vendor.m, P ("%s.gpu.vendor", base), "unknown GPU vendor `%s`, did you mean \"%s\"?", g->vendor.s,
          near);
}

static void
check_resources (struct vctx *v, const struct za_resources *r, const char *base)
{
  char p[1200];
  if (r->cpu.set)
    {
      if (isnan (r->cpu.v) || isinf (r->cpu.v))
        verr (v, &r->cpu.m, P ("%s.cpu", base), "CPU limit must be a finite number, found %g", r->cpu.v);
      else if (!(r->cpu.v > 0))
        verr (v, &r->cpu.m, P ("%s.cpu", base), "CPU limit must be > 0, found %g", r->cpu.v);
      else if (r->cpu.v > 1e6)
        verr (v, &r->cpu.m, P ("%s.cpu", base), "CPU limit %g is larger than any host (at most 1000000 cores)",
              r->cpu.v);
    }
  check_memory_field (v, &r->memory, P ("%s.memory", base));
  /* The fields zagent passes on (beyond the reference) are checked against
     what the kernel accepts, so runc does not fail at container start.  */
  check_memory_field (v, &r->memory_reservation, P ("%s.memory_reservation", base));
  if (r->memory_swap.s && strcmp (r->memory_swap.s, "-1"))
    check_memory_field (v, &r->memory_swap, P ("%s.memory_swap", base));
  if (r->oom_score_adj.set && (r->oom_score_adj.v < -1000 || r->oom_score_adj.v > 1000))
    verr (v, &r->oom_score_adj.m, P ("%s.oom_score_adj", base), "oom_score_adj must be between -1000 and 1000, found %lld",
          (long long) r->oom_score_adj.v);
  if (r->blkio_weight.set && (r->blkio_weight.v < 10 || r->blkio_weight.v > 1000))
    verr (v, &r->blkio_weight.m, P ("%s.blkio_weight", base), "blkio_weight must be between 10 and 1000, found %lld",
          (long long) r->blkio_weight.v);
  if (r->memory_swappiness.set && r->memory_swappiness.v > 100)
    verr (v, &r->memory_swappiness.m, P ("%s.memory_swappiness", base),
          "memory_swappiness must be between 0 and 100, found %lld", (long long) r->memory_swappiness.v);
  if (r->cpuset.s && (!*r->cpuset.s || strspn (r->cpuset.s, "0123456789,-") != strlen (r->cpuset.s)))
    verr (v, &r->cpuset.m, P ("%s.cpuset", base), "cpuset `%s` is not a CPU list like 0-3,8", r->cpuset.s);
  if (r->pids_limit.set && r->pids_limit.v == 0)
    verr (v, &r->pids_limit.m, P ("%s.pids_limit", base), "pids_limit must not be 0 (use -1 for unlimited)");
  if (r->gpu && r->gpu->count.v > ZA_GPU_MAX_COUNT)
    verr (v, &r->gpu->count.m, P ("%s.gpu.count", base), "GPU count %lld is more than any host has (at most %d)",
          (long long) r->gpu->count.v, ZA_GPU_MAX_COUNT);
  if (r->gpu)
    check_gpu_vendor (v, r->gpu, base);
}

/* sysctl names: dotted or slashed kernel parameter names, never a path
   that could leave /proc/sys.  */
static void
check_sysctls (struct vctx *v, const struct za_strmap *m, const char *base)
{
  char p[1200];
  for (size_t i = 0; i < m->n; i++)
    {
      const char *k = m->v[i].key.s;
      if (!*k || k[0] == '/' || k[0] == '.' || za_path_has_dotdot (k) || strstr (k, "..")
          || strspn (k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") != strlen (k))
        verr (v, &m->v[i].key.m, P ("%s.sysctls.%s", base, k), "invalid sysctl name `%s`", k);
    }
}

static bool
role_valid (const char *r)
{
  size_t n = strlen (r);
  if (n < 1 || n > 30 || !islower ((unsigned char) r[0]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!islower ((unsigned char) r[i]) && !isdigit ((unsigned char) r[i]) && r[i] != '-')
      return false;
  return r[n - 1] != '-';
}

static void
check_endpoints (struct vctx *v, const struct za_list *eps, const char *base, bool uniq)
{
  char p[1200];
  bool *dup = NULL;
  if (uniq)
    {
      const char **names = calloc (eps->n ? eps->n : 1, sizeof *names);
      for (size_t i = 0; names && i < eps->n; i++)
        names[i] = ((const struct za_endpoint *) eps->v + i)->name.s;
      dup = names ? za_dup_flags (names, eps->n) : NULL;
      free (names);
      if (!dup)
        {
          za_errs_set (&v->errs, ENOMEM, "out of memory");
          return;
        }
    }
  for (size_t i = 0; i < eps->n; i++)
    {
      const struct za_endpoint *e = (const struct za_endpoint *) eps->v + i;
      if (e->name.s && !*e->name.s)
        verr (v, &e->name.m, P ("%s[%zu].name", base, i), "endpoint name cannot be empty");
      if (e->port.set && e->port.v < 1)
        verr (v, &e->port.m, P ("%s[%zu].port", base, i), "port must be between 1-65535");
      if (dup && dup[i])
        verr (v, &e->name.m, base, "duplicate endpoint '%s'", e->name.s);
      if (e->tunnel && e->tunnel->access && e->tunnel->access->max_ttl.s)
        {
          const struct za_str *t = &e->tunnel->access->max_ttl;
          uint64_t ns;
          char *reason = NULL;
          if (za_duration_parse (t->s, &ns, &reason) < 0)
            verr (v, &t->m, P ("%s[%zu].tunnel.access.max_ttl", base, i),
                  "invalid tunnel max_ttl '%s': invalid TTL format '%s': %s", t->s, t->s,
                  reason ? reason : "invalid");
          free (reason);
        }
    }
  free (dup);
}

/* A container-side path: absolute, no "..".  */
static void
check_container_path (struct vctx *v, const struct za_str *s, const char *path, const char *what)
{
  if (!s->s)
    return;
  if (s->s[0] != '/')
    verr (v, &s->m, path, "%s `%s` must be an absolute path", what, s->s);
  else if (za_path_has_dotdot (s->s))
    verr (v, &s->m, path, "%s `%s` must not contain `..`", what, s->s);
}

bool
za_volume_name_valid (const char *n)
{
  size_t len = strlen (n);
  if (len < 1 || len > 63 || !isalnum ((unsigned char) n[0]) || !isalnum ((unsigned char) n[len - 1]))
    return false;
  for (size_t i = 0; i < len; i++)
    if (!(islower ((unsigned char) n[i]) || isdigit ((unsigned char) n[i]) || n[i] == '-'))
      return false;
  return true;
}

static void
check_storage (struct vctx *v, const struct za_service *svc, const char *base)
{
  char p[1200];
  for (size_t i = 0; i < svc->storage.n; i++)
    {
      const struct za_storage *st = (const struct za_storage *) svc->storage.v + i;
      check_container_path (v, &st->target, P ("%s.storage[%zu].target", base, i), "mount target");
      if (st->type.v == ZA_STORAGE_BIND && st->source.s && st->source.s[0] != '/')
        verr (v, &st->source.m, P ("%s.storage[%zu].source", base, i),
              "bind source `%s` must be an absolute host path", st->source.s);
      if (st->type.v == ZA_STORAGE_NAMED && st->name.s && !za_volume_name_valid (st->name.s))
        verr (v, &st->name.m, P ("%s.storage[%zu].name", base, i),
              "Invalid volume name: %s (1-63 characters a-z, 0-9 and '-', starting and ending with a letter or digit)",
              st->name.s);
      if (st->type.v == ZA_STORAGE_S3 && st->bucket.s
          && (!*st->bucket.s || strchr (st->bucket.s, '/') || za_path_has_dotdot (st->bucket.s)))
        verr (v, &st->bucket.m, P ("%s.storage[%zu].bucket", base, i), "invalid bucket name `%s`",
              st->bucket.s);
      if (st->type.v == ZA_STORAGE_S3 && st->prefix.s && za_path_has_dotdot (st->prefix.s))
        verr (v, &st->prefix.m, P ("%s.storage[%zu].prefix", base, i), "prefix `%s` must not contain `..`",
              st->prefix.s);
      if (st->type.v == ZA_STORAGE_TMPFS && st->size.s)
        {
          int64_t b;
          if (za_parse_memory (st->size.s, &b, NULL) != ZA_MEM_OK || b <= 0)
            verr (v, &st->size.m, P ("%s.storage[%zu].size", base, i), "invalid tmpfs size `%s`", st->size.s);
        }
    }
}

static void
check_caps (struct vctx *v, const struct za_strlist *l, const char *base, const char *key)
{
  char p[1200];
  for (size_t i = 0; i < l->n; i++)
    if (za_cap_lookup (l->v[i].s) < 0 && !za_cap_is_all (l->v[i].s))
      verr (v, &l->v[i].m, P ("%s.%s[%zu]", base, key, i), "unknown capability `%s`", l->v[i].s);
}

const char *const za_ulimit_names[] = { "cpu",   "fsize", "data", "stack",  "core",       "rss",
                                        "nproc", "nofile", "memlock", "as", "locks", "sigpending",
                                        "msgqueue", "nice", "rtprio", "rttime", NULL };

int
za_ulimit_index (const char *name)
{
  for (int i = 0; za_ulimit_names[i]; i++)
    if (strcasecmp (name, za_ulimit_names[i]) == 0)
      return i;
  return -1;
}

void
za_ulimit_effective (const struct za_ulimit *u, int64_t *soft, int64_t *hard)
{
  /* A missing bound takes the other one (HEAD), negatives clamp to 0.  */
  int64_t s = u->soft.set ? u->soft.v : u->hard.set ? u->hard.v : 0;
  int64_t h = u->hard.set ? u->hard.v : u->soft.set ? u->soft.v : 0;
  *soft = s < 0 ? 0 : s;
  *hard = h < 0 ? 0 : h;
}

static void
check_ulimits (struct vctx *v, const struct za_service *svc, const char *base)
{
  char p[1200];
  for (size_t i = 0; i < svc->ulimits.n; i++)
    {
      const struct za_map_entry *e = &svc->ulimits.v[i];
      const struct za_ulimit *u = e->val;
      int64_t s, h;
      if (za_ulimit_index (e->key.s) < 0)
        verr (v, &e->key.m, P ("%s.ulimits.%s", base, e->key.s),
              "unknown ulimit name `%s` (expected one of: cpu, fsize, data, stack, core, rss, nproc, nofile, memlock, as, locks, sigpending, msgqueue, nice, rtprio, rttime)",
              e->key.s);
      za_ulimit_effective (u, &s, &h);
      if (s > h)
        verr (v, &e->key.m, P ("%s.ulimits.%s", base, e->key.s),
              "soft limit %" PRId64 " is larger than hard limit %" PRId64, s, h);
    }
}

/* Capability and ulimit names: checked by validation, and again by the
   config generator for callers that skip validation (a typo must never
   silently drop a capability or a limit).  */
static void
check_names (struct vctx *v, const struct za_service *svc)
{
  char base[1100];
  snprintf (base, sizeof base, "services.%s", svc->name);
  check_caps (v, &svc->capabilities, base, "capabilities");
  check_caps (v, &svc->cap_drop, base, "cap_drop");
  check_ulimits (v, svc, base);
}

int
za_service_check_names (const struct za_spec *spec, const struct za_service *svc, struct za_err **err)
{
  struct vctx v = { .spec = spec, .errs = ZA_ERRS_INIT (ZA_ERRS_MAX) };
  check_names (&v, svc);
  return za_errs_finish (&v.errs, err);
}

static bool
is_wasm_type (int t)
{
  return t >= ZA_ST_WASM_HTTP && t <= ZA_ST_WASM_ROUTER;
}

static void
check_wasm (struct vctx *v, const struct za_service *svc, const char *base)
{
  char p[1200];
  const struct za_wasm *w = svc->wasm;
  if (!w)
    {
      if (svc->service_type.v == ZA_ST_WASM_HTTP)
        goto http;
      return;
    }
  if (!is_wasm_type (svc->service_type.v))
    {
      /* service_type may be absent (standard): then point at the service */
      verr (v, svc->service_type.set ? &svc->service_type.m : &svc->name_mark, P ("%s.wasm", base),
            "wasm config provided but service_type is not a WASM type");
      return;
    }
  if (w->min_instances.v > w->max_instances.v)
    verr (v, &w->min_instances.m, P ("%s.wasm", base), "wasm min_instances (%" PRId64 ") > max_instances (%" PRId64 ")",
          w->min_instances.v, w->max_instances.v);
  if (w->max_memory.s)
    {
      int64_t b;
      bool bin;
      if (za_parse_memory (w->max_memory.s, &b, &bin) != ZA_MEM_OK || !bin || b <= 0)
        verr (v, &w->max_memory.m, P ("%s.wasm.max_memory", base), "memory format '%s' is invalid", w->max_memory.s);
    }
  for (size_t i = 0; i < w->preopens.n; i++)
    {
      const struct za_preopen *po = (const struct za_preopen *) w->preopens.v + i;
      if (po->source.s && !*po->source.s)
        verr (v, &po->source.m, P ("%s.wasm.preopens[%zu]", base, i), "wasm preopen[%zu].source cannot be empty", i);
      if (po->target.s && !*po->target.s)
        verr (v, &po->target.m, P ("%s.wasm.preopens[%zu]", base, i), "wasm preopen[%zu].target cannot be empty", i);
    }
http:
  if (svc->service_type.v == ZA_ST_WASM_HTTP)
    {
      bool http = false;
      for (size_t i = 0; i < svc->endpoints.n; i++)
        {
          int pr = ((const struct za_endpoint *) svc->endpoints.v)[i].protocol.v;
          http |= pr == ZA_EP_HTTP || pr == ZA_EP_HTTPS || pr == ZA_EP_WEBSOCKET;
        }
      if (!http)
        verr (v, &svc->service_type.m, P ("%s.endpoints", base),
              "wasm_http service type should have at least one HTTP endpoint");
    }
}

static void
check_service (struct vctx *v, const struct za_service *svc)
{
  char base[1100], p[1200];
  snprintf (base, sizeof base, "services.%s", svc->name);

  if (svc->schedule.s)
    {
      char *reason = NULL;
      if (za_cron_check (svc->schedule.s, &reason) < 0)
        verr (v, &svc->schedule.m, P ("%s.schedule", base), "invalid cron schedule '%s': %s", svc->schedule.s,
              reason ? reason : "invalid");
      free (reason);
    }
  check_resources (v, &svc->resources, P ("%s.resources", base));
  check_endpoints (v, &svc->endpoints, P ("%s.endpoints", base), true);
  if (svc->scale.mode.v == ZA_SCALE_ADAPTIVE && svc->scale.min.v > svc->scale.max.v)
    verr (v, svc->scale.min.set ? &svc->scale.min.m : &svc->scale.mode.m, P ("%s.scale", base),
          "scale min (%" PRId64 ") cannot be greater than max (%" PRId64 ")", svc->scale.min.v, svc->scale.max.v);
  for (size_t i = 0; i < svc->replica_groups.n; i++)
    {
      const struct za_replica_group *g = (const struct za_replica_group *) svc->replica_groups.v + i;
      if (g->role.s && !role_valid (g->role.s))
        verr (v, &g->role.m, P ("%s.replica_groups[%zu].role", base, i),
              "role must be 1-30 characters matching ^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$");
      if (g->count.set && g->count.v < 1)
        verr (v, &g->count.m, P ("%s.replica_groups[%zu].count", base, i), "count must be at least 1");
      if (g->resources)
        check_resources (v, g->resources, P ("%s.replica_groups[%zu].resources", base, i));
    }
  for (size_t i = 0; i < svc->depends.n; i++)
    {
      const struct za_depends *dep = (const struct za_depends *) svc->depends.v + i;
      if (dep->service.s && !za_spec_find_service (v->spec, dep->service.s))
        verr (v, &dep->service.m, P ("%s.depends", base), "dependency references unknown service '%s'",
              dep->service.s);
    }
  if (svc->schedule.s && svc->rtype.v != ZA_RTYPE_CRON)
    verr (v, &svc->schedule.m, P ("%s.schedule", base), "schedule field is only valid for rtype: cron");
  if (!svc->schedule.s && svc->rtype.v == ZA_RTYPE_CRON)
    verr (v, &svc->rtype.m, P ("%s.schedule", base), "rtype: cron requires a schedule field");
  check_wasm (v, svc, base);

  /* Beyond the reference: what would otherwise fail (or silently go
     wrong) when the bundle is built.  */
  check_names (v, svc);
  check_storage (v, svc, base);
  check_sysctls (v, &svc->sysctls, base);
  za_env_check_refs_into (&svc->env, v->spec->file, P ("%s.env", base), &v->errs);
  for (size_t i = 0; i < svc->devices.n; i++)
    {
      const struct za_device *dv = (const struct za_device *) svc->devices.v + i;
      if (dv->path.s && dv->path.s[0] == '/' && za_path_has_dotdot (dv->path.s))
        verr (v, &dv->path.m, P ("%s.devices[%zu].path", base, i), "device path `%s` must not contain `..`",
              dv->path.s);
      else if (dv->path.s && dv->path.s[0] != '/')
        {
          /* Not a path: a CDI device name, as podman reads --device.  */
          char buf[512];
          const char *why = za_cdi_qualified_problem (dv->path.s, buf, sizeof buf);
          if (why)
            verr (v, &dv->path.m, P ("%s.devices[%zu].path", base, i),
                  "device `%s` is neither an absolute path nor a CDI device name (vendor/class=name): %s",
                  dv->path.s, why);
        }
    }
  if (svc->command.workdir.s && svc->command.workdir.s[0] != '/')
    verr (v, &svc->command.workdir.m, P ("%s.command.workdir", base), "workdir `%s` must be an absolute path",
          svc->command.workdir.s);
}

int
za_spec_validate (const struct za_spec *s, struct za_err **err)
{
  struct vctx v = { .spec = s, .errs = ZA_ERRS_INIT (ZA_ERRS_MAX) };
  const struct za_deployment *d = &s->d;
  char p[1200];

  if (d->version.s && strcmp (d->version.s, "v1") != 0)
    verr (&v, &d->version.m, "version", "version must be 'v1', found '%s'", d->version.s);
  if (d->deployment.s)
    {
      const char *n = d->deployment.s;
      size_t len = strlen (n);
      bool ok = true;
      for (size_t i = 0; i < len; i++)
        ok &= isalnum ((unsigned char) n[i]) || n[i] == '-';
      if (len < 3 || len > 63)
        verr (&v, &d->deployment.m, "deployment", "deployment name must be 3-63 characters");
      else if (!isalnum ((unsigned char) n[0]))
        verr (&v, &d->deployment.m, "deployment", "deployment name must start with alphanumeric character");
      else if (!ok)
        verr (&v, &d->deployment.m, "deployment",
              "deployment name can only contain alphanumeric characters and hyphens");
    }
  for (size_t i = 0; i < d->services.n; i++)
    {
      /* The name becomes the container id <name>-rep-<N>: the default
         bundle directory's name and the cgroup leaf.  A `/` would move
         both (`../../x` escapes the bundles dir and the cgroup parent).  */
      const struct za_str *k = &d->services.v[i].key;
      if (k->s && (!*k->s || strchr (k->s, '/')))
        verr (&v, &k->m, P ("services.%s", k->s), "service name `%s` must be non-empty and must not contain `/`",
              k->s);
      check_service (&v, d->services.v[i].val);
    }
  for (size_t i = 0; i < d->externals.n; i++)
    {
      const struct za_external *e = d->externals.v[i].val;
      if (e->backends.n == 0)
        verr (&v, e->backends.set ? &e->backends.m : &d->externals.v[i].key.m,
              P ("externals.%s.backends", d->externals.v[i].key.s), "at least one backend address is required");
      check_endpoints (&v, &e->endpoints, P ("externals.%s.endpoints", d->externals.v[i].key.s), false);
    }
  for (size_t i = 0; i < d->tunnels.n; i++)
    {
      const struct za_tunnel *t = d->tunnels.v[i].val;
      if (t->local_port.set && t->local_port.v == 0)
        verr (&v, &t->local_port.m, P ("tunnels.%s.local_port", d->tunnels.v[i].key.s),
              "invalid tunnel local_port port: 0 (must be 0 or 1-65535)");
      if (t->remote_port.set && t->remote_port.v == 0)
        verr (&v, &t->remote_port.m, P ("tunnels.%s.remote_port", d->tunnels.v[i].key.s),
              "invalid tunnel remote_port port: 0 (must be 0 or 1-65535)");
    }
  return za_errs_finish (&v.errs, err);
}
