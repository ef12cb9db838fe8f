/* What a `resources.gpu` request adds to the config (env, mounts, device
   nodes, cgroup rules), reference §11.3, §11.5–11.7, with the seed's
   defects fixed: dev_t decoded with major()/minor(), dynamic majors read
   from /proc/devices, the env replaces earlier values instead of
   duplicating keys, and more GPUs than the host has is an error.  */
#define _GNU_SOURCE
#include "gpu/gpu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util/cleanup.h"

unsigned za_gpu_plan_fail_alloc;

/* The plan's allocations, failing on request (za_gpu_plan_fail_alloc).  */
static bool
alloc_fails (void)
{
  return za_gpu_plan_fail_alloc && --za_gpu_plan_fail_alloc == 0;
}

static void *
plan_realloc (void *p, size_t n)
{
  return alloc_fails () ? NULL : realloc (p, n);
}

static char *
plan_strdup (const char *s)
{
  return alloc_fails () ? NULL : strdup (s);
}

/* One plan being made: its problems go to collectors, handed to the
   caller at the end.  */
struct planner
{
  const struct za_gpu_ctx *c;
  struct za_gpu_plan *p;
  struct za_errs warn, err;
};

static int
oom (struct planner *x)
{
  return za_errs_set (&x->err, ENOMEM, "out of memory");
}

static void __attribute__ ((format (printf, 2, 3)))
plan_warn (struct planner *x, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_errs_atv (&x->warn, ZA_EINPUT, NULL, NULL, NULL, fmt, ap);
  va_end (ap);
}

/* An input error at `<base>.resources.gpu`, at M when known.  */
static int __attribute__ ((format (printf, 3, 4)))
input_err (struct planner *x, const struct za_mark *m, const char *fmt, ...)
{
  char path[1200];
  va_list ap;
  bool at = m && m->line;
  snprintf (path, sizeof path, "%s.resources.gpu", x->c->base);
  va_start (ap, fmt);
  za_errs_atv (&x->err, ZA_EINPUT, at ? x->c->file : NULL, at ? m : NULL, path, fmt, ap);
  va_end (ap);
  return -1;
}

void
za_gpu_plan_clear (struct za_gpu_plan *p)
{
  za_strv_clear (&p->env);
  for (size_t i = 0; i < p->nmounts; i++)
    {
      free (p->mounts[i].dst);
      free (p->mounts[i].src);
      free (p->mounts[i].opts);
    }
  free (p->mounts);
  for (size_t i = 0; i < p->nnodes; i++)
    free (p->nodes[i].path);
  free (p->nodes);
  free (p->rules);
  *p = (struct za_gpu_plan) { 0 };
}

static int
add_mount (struct planner *x, const char *dst, const char *src, const char *opts)
{
  struct za_gpu_plan *p = x->p;
  struct za_gpu_mount *m = plan_realloc (p->mounts, (p->nmounts + 1) * sizeof *m);
  if (!m)
    return oom (x);
  p->mounts = m;
  m = &p->mounts[p->nmounts];
  m->dst = plan_strdup (dst);
  m->src = plan_strdup (src);
  m->opts = plan_strdup (opts);
  p->nmounts++;
  return m->dst && m->src && m->opts ? 0 : oom (x);
}

static int
add_rule (struct planner *x, char type, int64_t major, int64_t minor, const char *access)
{
  struct za_gpu_plan *p = x->p;
  struct za_gpu_rule *r;
  for (size_t i = 0; i < p->nrules; i++)
    if (p->rules[i].type == type && p->rules[i].major == major && p->rules[i].minor == minor)
      return 0;
  r = plan_realloc (p->rules, (p->nrules + 1) * sizeof *r);
  if (!r)
    return oom (x);
  p->rules = r;
  p->rules[p->nrules] = (struct za_gpu_rule) { .type = type, .major = major, .minor = minor };
  snprintf (p->rules[p->nrules].access, sizeof p->rules[p->nrules].access, "%s", access);
  p->nrules++;
  return 0;
}

/* A host node becomes a linux.devices entry if it exists, else a warning
   (as the seed).  */
static int
add_node (struct planner *x, const char *path)
{
  struct za_gpu_plan *p = x->p;
  struct stat st;
  struct za_gpu_node *n;
  for (size_t i = 0; i < p->nnodes; i++)
    if (!strcmp (p->nodes[i].path, path))
      return 0;
  if (za_host_stat (x->c->host, path, &st) < 0 || !(S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode)))
    {
      plan_warn (x, "GPU device %s not found on host, skipping", path);
      return 0;
    }
  n = plan_realloc (p->nodes, (p->nnodes + 1) * sizeof *n);
  if (!n)
    return oom (x);
  p->nodes = n;
  p->nodes[p->nnodes] = (struct za_gpu_node) { .path = plan_strdup (path), .type = S_ISCHR (st.st_mode) ? 'c' : 'b',
                                               .major = major (st.st_rdev), .minor = minor (st.st_rdev) };
  if (!p->nodes[p->nnodes].path)
    return oom (x);
  p->nnodes++;
  return 0;
}

/* Device-cgroup rules for a vendor's drivers: the fixed majors (195
   nvidia, 226 DRM) and the dynamic ones from /proc/devices.  */
static int
vendor_rules (struct planner *x, enum za_gpu_vendor v)
{
  static const char *const nvidia_dyn[] = { "nvidia-uvm", "nvidia-caps", NULL };
  static const char *const amd_dyn[] = { "kfd", NULL };
  const char *const *dyn = v == ZA_GPU_NVIDIA ? nvidia_dyn : v == ZA_GPU_AMD ? amd_dyn : NULL;
  if (add_rule (x, 'c', v == ZA_GPU_NVIDIA ? 195 : 226, -1, "rwm") < 0)
    return -1;
  if (v == ZA_GPU_AMD && add_rule (x, 'c', 226, -1, "rwm") < 0)
    return -1;
  for (int i = 0; dyn && dyn[i]; i++)
    {
      int64_t major = za_proc_devices_major (x->c->host, dyn[i]);
      if (major < 0)
        {
          plan_warn (x, "driver %s not in /proc/devices; no device-cgroup rule for it", dyn[i]);
          continue;
        }
      if (add_rule (x, 'c', major, -1, "rwm") < 0)
        return -1;
    }
  return 0;
}

static int
visibility (struct planner *x, enum za_gpu_vendor v, int64_t count)
{
  struct za_strv *env = &x->p->env;
  char list[4096] = "";
  size_t n = 0;
  int ret = 0;
  for (int64_t i = 0; i < count && n + 12 < sizeof list; i++)
    n += (size_t) snprintf (list + n, sizeof list - n, "%s%lld", i ? "," : "", (long long) i);
  switch (v)
    {
    case ZA_GPU_NVIDIA:
      ret = za_env_replace_kv (env, "NVIDIA_VISIBLE_DEVICES", list) < 0
                    || za_env_replace_kv (env, "CUDA_VISIBLE_DEVICES", list) < 0 ? -1 : 0;
      break;
    case ZA_GPU_AMD:
      ret = za_env_replace_kv (env, "ROCR_VISIBLE_DEVICES", list) < 0
                    || za_env_replace_kv (env, "HIP_VISIBLE_DEVICES", list) < 0 ? -1 : 0;
      break;
    case ZA_GPU_INTEL:
      ret = za_env_replace_kv (env, "ZE_AFFINITY_MASK", list);
      break;
    case ZA_GPU_OTHER:
      break;
    }
  return ret < 0 ? oom (x) : 0;
}

static bool
is_render_node (const char *path)
{
  const char *base = strrchr (path, '/');
  return strncmp (base ? base + 1 : path, "renderD", 7) == 0;
}

/* G's render nodes (RENDER) or its other nodes (card*).  */
static int
add_dri_nodes (struct planner *x, const struct za_gpu_info *g, bool render)
{
  for (size_t k = 0; g && k < g->nodes.n; k++)
    if (is_render_node (g->nodes.v[k]) == render && add_node (x, g->nodes.v[k]) < 0)
      return -1;
  return 0;
}

/* Direct passthrough of the first COUNT GPUs of the vendor.  */
static int
passthrough (struct planner *x, const struct za_gpu_spec *gpu, enum za_gpu_vendor v)
{
  struct za_gpu_list l;
  struct za_err *e = NULL;
  int ret = 0;
  if (za_gpu_detect (x->c->host, &l, &e) < 0)
    {
      za_errs_take (&x->err, &e);
      return -1;
    }
  /* The one comparison of the count with the host.  An unknown vendor's
     GPUs are not counted: the bound is what any host has (validation
     says the same; this keeps an unvalidated spec from probing 4 billion
     render nodes).  */
  if (v == ZA_GPU_OTHER ? gpu->count.v > ZA_GPU_MAX_COUNT : (uint64_t) gpu->count.v > za_gpu_count (&l, v))
    {
      if (v == ZA_GPU_OTHER)
        ret = input_err (x, &gpu->count.m, "requested %lld GPUs; at most %d can be passed through",
                         (long long) gpu->count.v, ZA_GPU_MAX_COUNT);
      else
        ret = input_err (x, &gpu->count.m, "requested %lld %s GPU%s but the host has %zu", (long long) gpu->count.v,
                         za_gpu_vendor_name (v), gpu->count.v == 1 ? "" : "s", za_gpu_count (&l, v));
      goto out;
    }
  if (v == ZA_GPU_NVIDIA)
    {
      const char *ctl[] = { "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools" };
      for (int i = 0; i < 3 && ret == 0; i++)
        ret = add_node (x, ctl[i]);
    }
  else if (v == ZA_GPU_AMD)
    ret = add_node (x, "/dev/kfd");
  else if (v == ZA_GPU_OTHER)
    plan_warn (x, "Unknown GPU vendor '%s', attempting DRI device passthrough", gpu->vendor.s);
  for (int64_t i = 0; ret == 0 && i < gpu->count.v; i++)
    {
      const struct za_gpu_info *g = v == ZA_GPU_OTHER ? NULL : za_gpu_nth (&l, v, (unsigned) i);
      if (g && g->nodes.n == 0)
        plan_warn (x, "%s GPU %lld (%s, driver %s) has no device nodes; nothing to pass through",
                   za_gpu_vendor_name (v), (long long) i, g->pci ? g->pci : "?", g->driver ? g->driver : "none");
      if (g && v == ZA_GPU_NVIDIA)
        for (size_t k = 0; ret == 0 && k < g->nodes.n; k++)
          ret = add_node (x, g->nodes.v[k]);
      else if (g)
        ret = add_dri_nodes (x, g, true);
      else if (v == ZA_GPU_OTHER)
        {
          /* Unknown vendors keep the seed's renderD{128+i} convention:
             "the i-th unknown-vendor display device" is typically the
             BMC's VGA.  */
          char path[64];
          snprintf (path, sizeof path, "/dev/dri/renderD%lld", (long long) (128 + i));
          ret = add_node (x, path);
        }
    }
  /* The seed lists DRI nodes by kind, not by GPU: every renderD* first,
     then every card* (§11.7).  */
  for (int64_t i = 0; ret == 0 && (v == ZA_GPU_AMD || v == ZA_GPU_INTEL) && i < gpu->count.v; i++)
    ret = add_dri_nodes (x, za_gpu_nth (&l, v, (unsigned) i), false);
out:
  za_gpu_list_clear (&l);
  return ret;
}

static int
mps (struct planner *x, const struct za_gpu_spec *gpu)
{
  const char *pipe = gpu->mps_pipe_dir.s ? gpu->mps_pipe_dir.s : "/tmp/nvidia-mps";
  const char *log = gpu->mps_log_dir.s ? gpu->mps_log_dir.s : "/tmp/nvidia-log";
  const char *dirs[2] = { pipe, log };
  const char *what[2] = { "pipe", "log" };
  const struct za_mark *marks[2] = { &gpu->mps_pipe_dir.m, &gpu->mps_log_dir.m };
  if (za_gpu_vendor_parse (gpu->vendor.s) != ZA_GPU_NVIDIA)
    plan_warn (x, "sharing: mps is an NVIDIA feature; vendor is '%s'", gpu->vendor.s);
  for (int i = 0; i < 2; i++)
    {
      struct stat st;
      if (dirs[i][0] != '/')
        return input_err (x, marks[i], "MPS %s directory `%s` must be an absolute path", what[i], dirs[i]);
      if (za_host_stat (x->c->host, dirs[i], &st) < 0 || !S_ISDIR (st.st_mode))
        return input_err (x, marks[i],
                          "GPU sharing mode 'mps' is unavailable: MPS %s directory %s does not exist; ensure "
                          "nvidia-cuda-mps-control is running",
                          what[i], dirs[i]);
    }
  if (za_env_replace_kv (&x->p->env, "CUDA_MPS_PIPE_DIRECTORY", pipe) < 0
      || za_env_replace_kv (&x->p->env, "CUDA_MPS_LOG_DIRECTORY", log) < 0)
    return oom (x);
  if (add_mount (x, pipe, pipe, "rbind,rw") < 0 || add_mount (x, log, log, "rbind,rw") < 0)
    return -1;
  return 0;
}

static int
time_slice (struct planner *x, const struct za_gpu_spec *gpu)
{
  if (gpu->time_slice_index.set)
    {
      char idx[24];
      if (gpu->time_slice_index.v >= gpu->count.v && gpu->count.v > 0)
        return input_err (x, &gpu->time_slice_index.m, "time_slice_index %lld is out of range for %lld GPU%s",
                          (long long) gpu->time_slice_index.v, (long long) gpu->count.v,
                          gpu->count.v == 1 ? "" : "s");
      snprintf (idx, sizeof idx, "%lld", (long long) gpu->time_slice_index.v);
      if (za_env_replace_kv (&x->p->env, "CUDA_VISIBLE_DEVICES", idx) < 0)
        return oom (x);
    }
  if (gpu->time_slicing_config_path.s)
    {
      const char *cfg = gpu->time_slicing_config_path.s;
      struct stat st;
      if (cfg[0] != '/' || za_host_stat (x->c->host, cfg, &st) < 0 || !S_ISREG (st.st_mode))
        return input_err (x, &gpu->time_slicing_config_path.m,
                          "GPU sharing mode 'time-slice' is unavailable: time-slicing config %s is not a regular file "
                          "on the host",
                          cfg);
      if (add_mount (x, "/etc/nvidia/gpu-time-slicing.yaml", cfg, "rbind,ro") < 0)
        return -1;
    }
  return 0;
}

static int
distributed (struct planner *x, const struct za_gpu_spec *gpu)
{
  const struct za_gpu_ctx *c = x->c;
  const struct za_distributed *d = gpu->distributed;
  struct za_strv *env = &x->p->env;
  unsigned world = c->world_size ? c->world_size : 1;
  unsigned rank = c->replica > 0 ? c->replica - 1 : 0;
  char buf[24];
  bool ok = true;
  if (rank >= world)
    world = rank + 1;
  snprintf (buf, sizeof buf, "%lld", (long long) d->master_port.v);
  ok &= za_env_replace_kv (env, "MASTER_PORT", buf) == 0;
  ok &= za_env_replace_kv (env, "MASTER_ADDR", c->service) == 0;
  snprintf (buf, sizeof buf, "%u", world);
  ok &= za_env_replace_kv (env, "WORLD_SIZE", buf) == 0;
  snprintf (buf, sizeof buf, "%u", rank);
  ok &= za_env_replace_kv (env, "RANK", buf) == 0;
  ok &= za_env_replace_kv (env, "LOCAL_RANK", "0") == 0;
  if (d->backend.s && !strcmp (d->backend.s, "nccl"))
    ok &= za_env_replace_kv (env, "NCCL_SOCKET_IFNAME", "eth0") == 0;
  else if (d->backend.s && !strcmp (d->backend.s, "gloo"))
    ok &= za_env_replace_kv (env, "GLOO_SOCKET_IFNAME", "eth0") == 0;
  return ok ? 0 : oom (x);
}

int
za_gpu_plan_build (const struct za_gpu_ctx *c, const struct za_gpu_spec *gpu, const struct za_gpu_route *route,
                   struct za_gpu_plan *out, struct za_err **warn, struct za_err **err)
{
  enum za_gpu_vendor v = za_gpu_vendor_parse (gpu->vendor.s);
  struct planner x = { .c = c, .p = out, .warn = ZA_ERRS_INIT (ZA_ERRS_MAX), .err = ZA_ERRS_INIT (ZA_ERRS_MAX) };
  int ret = 0;
  *out = (struct za_gpu_plan) { 0 };
  /* No GPU at all (count 0, §12 #17), sharing knobs included.  */
  if (route->via == ZA_GPU_VIA_NONE)
    return 0;
  if (route->via == ZA_GPU_VIA_PASSTHROUGH)
    {
      ret = visibility (&x, v, gpu->count.v);
      if (ret == 0)
        ret = passthrough (&x, gpu, v);
    }
  /* The drivers' cgroup rules are added with or without CDI, as the seed
     does: CDI nodes get their own exact rules, these cover the rest
     (nvidia-caps, dynamically created nodes).  */
  if (ret == 0 && !c->privileged)
    ret = vendor_rules (&x, v);
  if (ret == 0 && v == ZA_GPU_OTHER)
    plan_warn (&x, "Unknown GPU vendor '%s', allowing DRI devices (major 226)", gpu->vendor.s);
  if (ret == 0 && gpu->sharing.set && gpu->sharing.v == ZA_SHARING_MPS)
    ret = mps (&x, gpu);
  if (ret == 0 && gpu->sharing.set && gpu->sharing.v == ZA_SHARING_TIME_SLICE)
    ret = time_slice (&x, gpu);
  if (ret == 0 && gpu->distributed)
    ret = distributed (&x, gpu);
  za_errs_finish (&x.warn, warn);
  if (za_errs_finish (&x.err, err) < 0 || ret < 0)
    {
      za_gpu_plan_clear (out);
      return -1;
    }
  return 0;
}
