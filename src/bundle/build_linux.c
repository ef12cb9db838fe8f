/* config.json's `linux`: device nodes and their cgroup rules (`devices:`
   and the GPU plan), resources, id mappings, the cgroup path,
   namespaces, masked and read-only paths.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bundle/build_int.h"
#include "bundle/users.h"
#include "oci/device.h"
#include "spec/units.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Default cgroup parent when the host gives us none to use (cgroup v1 or
   hybrid hosts, or a process at the v2 root): one visible subtree for all
   zagent containers, like Docker's /docker.  */
#define ZA_DEFAULT_CGROUP_PARENT "/zlayer"

static json_t *
cgroup_rule (struct gen *g, bool allow, char type, int64_t major, int64_t minor, const char *access)
{
  return jcheck (g, za_oci_cgroup_rule (allow, type, major, minor, access));
}

static json_t *
id_mapping (struct gen *g, uint32_t host, uint32_t cont, uint32_t size)
{
  json_t *m = jcheck (g, json_object ());
  if (m)
    {
      jset (g, m, "hostID", JINT (host));
      jset (g, m, "containerID", JINT (cont));
      jset (g, m, "size", JINT (size));
    }
  return m;
}

/* The caller's range in /etc/subuid (GID: /etc/subgid), mapped from
   container id 1 up, as podman and `runc spec --rootless` + newuidmap do.
   Only when the setuid helper that writes such a mapping is installed
   (Debian's uidmap; runc and crun call it): an unprivileged process can
   map nothing but its own id, so without it the container gets the
   single-id mapping rather than a config the runtime cannot apply.  */
bool
za_gen_subid (struct gen *g, bool gid, uint32_t *start, uint32_t *count)
{
  struct passwd *pw = getpwuid (geteuid ());
  cleanup_free char *file = za_host_path (&g->o->host, gid ? "/etc/subgid" : "/etc/subuid");
  cleanup_free char *tool = za_path_lookup (gid ? "newgidmap" : "newuidmap", NULL);
  char uidstr[16];
  snprintf (uidstr, sizeof uidstr, "%u", (unsigned) geteuid ());
  return g->rootless && file && pw && tool && za_subid_lookup (file, pw->pw_name, uidstr, start, count) == 1;
}

static json_t *
rootless_mappings (struct gen *g, bool gid)
{
  uint32_t id = gid ? getegid () : geteuid ();
  json_t *a = jcheck (g, json_array ());
  uint32_t start, count;
  jpush (g, a, id_mapping (g, id, 0, 1));
  if (za_gen_subid (g, gid, &start, &count))
    jpush (g, a, id_mapping (g, start, 1, count));
  return a;
}

/* Device nodes of `devices:`, stat'ed on the host with a correct dev_t
   decoding (the seed's (rdev >> 8) & 0xff broke majors/minors > 255).  */
static int
spec_devices (struct gen *g, json_t *rules, json_t *devices)
{
  const struct za_list *dl = &g->svc->devices;
  char path[1200];
  int ret = 0;
  for (size_t i = 0; i < dl->n; i++)
    {
      const struct za_device *d = (const struct za_device *) dl->v + i;
      struct stat st;
      struct za_oci_device dev = { .path = d->path.s, .has_mode = true, .file_mode = 0666,
                                   .has_uid = true, .has_gid = true };
      char access[4];
      size_t n = 0;
      snprintf (path, sizeof path, "%s.devices[%zu].path", g->base, i);
      if (d->path.s && d->path.s[0] != '/')
        continue; /* a CDI device name: injected through the CDI plan */
      if (!za_path_is_absolute_clean (d->path.s))
        {
          ret = za_errs_at (&g->errs, g->file, &d->path.m, path,
                            "device path `%s` must be an absolute path without `..`", d->path.s);
          continue;
        }
      if (za_host_stat (&g->o->host, d->path.s, &st) < 0)
        {
          za_errs_at (&g->warns, g->file, &d->path.m, path, "Failed to get device info for %s, skipping (%s)",
                      d->path.s, strerror (errno));
          continue;
        }
      if (S_ISCHR (st.st_mode))
        dev.type = "c";
      else if (S_ISBLK (st.st_mode))
        dev.type = "b";
      else
        {
          ret = za_errs_at (&g->errs, g->file, &d->path.m, path, "`%s` is not a device node", d->path.s);
          continue;
        }
      dev.major = major (st.st_rdev);
      dev.minor = minor (st.st_rdev);
      if (d->read.v)
        access[n++] = 'r';
      if (d->write.v)
        access[n++] = 'w';
      if (d->mknod.v)
        access[n++] = 'm';
      access[n] = '\0';
      /* read/write/mknod all false: the node exists but gets no access.  */
      if (za_oci_device_add (devices, n == 0 || g->privileged ? NULL : rules, &dev, access) < 0)
        g->oom = true;
      if (n == 0)
        za_errs_at (&g->warns, g->file, &d->path.m, path,
                    "device %s has read, write and mknod all false: no access granted", d->path.s);
    }
  return ret;
}

static int
cgroups_path (struct gen *g, char **out)
{
  const struct za_str *cp = &g->svc->cgroup_parent;
  const char *env = getenv ("ZLAYER_CGROUP_PARENT");
  cleanup_free char *own = NULL;
  const char *parent = NULL;
  char path[1200];
  size_t len;

  snprintf (path, sizeof path, "%s.cgroup_parent", g->base);
  if (cp->s && *cp->s)
    parent = cp->s;
  else if (env && *env)
    parent = env;
  if (parent)
    {
      if (za_path_has_dotdot (parent) || strchr (parent, ':'))
        return za_errs_at (&g->errs, cp->s && *cp->s ? g->file : NULL, cp->s && *cp->s ? &cp->m : NULL,
                           cp->s && *cp->s ? path : "ZLAYER_CGROUP_PARENT",
                           "cgroup parent `%s` must be a cgroupfs path without `..` or `:`", parent);
    }
  /* Explicit parent given: probe nothing.  Otherwise, on a unified v2
     host, nest under our own cgroup (without moving this process); on v1
     or hybrid hosts the v2 path says nothing about where the v1
     controllers put us, so use the default parent.  */
  else if (za_cgroup_is_unified (&g->o->host))
    {
      own = za_cgroup_own_v2_path (&g->o->host);
      if (own)
        parent = own;
      else if (!za_cgroup_root_writable (&g->o->host))
        return za_errs_at (&g->errs, NULL, NULL, NULL,
                           "cannot create container %s: no writable cgroup parent. /proc/self/cgroup reports the "
                           "cgroup-v2 root, and /sys/fs/cgroup is read-only to this process. Fix one of: (a) run the "
                           "daemon's outer container with --cgroupns=host so /proc/self/cgroup reports a real parent; "
                           "(b) set ZLAYER_CGROUP_PARENT=/path/to/writable/cgroup; (c) grant the daemon write access "
                           "to /sys/fs/cgroup.",
                           g->id);
      else
        parent = ZA_DEFAULT_CGROUP_PARENT;
    }
  else
    parent = ZA_DEFAULT_CGROUP_PARENT;
  len = strlen (parent);
  while (len > 0 && parent[len - 1] == '/')
    len--;
  if (asprintf (out, "%.*s/%s", (int) len, parent, g->id) < 0)
    return za_gen_error (g, ENOMEM, "out of memory");
  return 0;
}

/* A rootless container gets its own cgroup only where one was delegated
   to us: cgroup v2 with our own cgroup writable (systemd's user@.service
   does that).  Elsewhere (cgroup v1, no delegation) runc refuses an
   explicit cgroupsPath it cannot create and any limit it cannot set, so,
   as podman does, the container stays in our cgroup without limits.  */
static bool
rootless_without_cgroup (struct gen *g)
{
  cleanup_free char *own = NULL, *rel = NULL, *dir = NULL;
  if (!g->rootless || geteuid () == 0)
    return false;
  if (!za_cgroup_is_unified (&g->o->host) || !(own = za_cgroup_own_v2_path (&g->o->host)))
    return true;
  if (asprintf (&rel, "/sys/fs/cgroup%s", own) < 0 || !(dir = za_host_path (&g->o->host, rel)))
    return true;
  return faccessat (AT_FDCWD, dir, W_OK, AT_EACCESS) != 0;
}

/* Keep only the device rules (runc ignores those rootless); warn when
   limits of the spec are dropped.  */
static void
drop_limits (struct gen *g, json_t *res)
{
  json_t *devices = json_incref (json_object_get (res, "devices"));
  bool any = json_object_size (res) > (devices ? 1 : 0);
  json_object_clear (res);
  if (devices)
    jset (g, res, "devices", devices);
  if (any)
    za_errs_at (&g->warns, NULL, NULL, NULL,
                "rootless without a delegated cgroup (cgroup v1, or cgroup v2 without a writable own cgroup): "
                "the resource limits of container %s are not applied", g->id);
}

static int
build_resources (struct gen *g, json_t *rules, json_t **out)
{
  const struct za_resources *r = &g->svc->resources;
  json_t *res = jcheck (g, json_object ());
  char path[1200];
  if (!res)
    return -1;
  jset (g, res, "devices", json_incref (rules));
  if (r->memory.s || r->memory_reservation.s || r->memory_swap.s || r->memory_swappiness.set
      || r->oom_kill_disable.set)
    {
      json_t *mem = jcheck (g, json_object ());
      struct
      {
        const struct za_str *s;
        const char *key, *name;
      } fields[] = { { &r->memory, "limit", "memory" },
                     { &r->memory_reservation, "reservation", "memory_reservation" },
                     { &r->memory_swap, "swap", "memory_swap" } };
      for (size_t i = 0; mem && i < 3; i++)
        {
          int64_t b;
          enum za_mem_status st;
          if (!fields[i].s->s)
            continue;
          snprintf (path, sizeof path, "%s.resources.%s", g->base, fields[i].name);
          st = za_parse_memory (fields[i].s->s, &b, NULL);
          if (st != ZA_MEM_OK || b <= 0)
            {
              json_decref (mem);
              json_decref (res);
              return za_errs_at (&g->errs, g->file, &fields[i].s->m, path, "invalid memory limit: %s `%s`",
                                 st == ZA_MEM_OVERFLOW ? "number too large to fit in a signed 64-bit byte count"
                                 : st == ZA_MEM_EMPTY  ? "empty memory string"
                                 : "invalid number",
                                 fields[i].s->s);
            }
          jset (g, mem, fields[i].key, JINT (b));
        }
      if (mem && r->memory_swappiness.set)
        jset (g, mem, "swappiness", JINT (r->memory_swappiness.v));
      if (mem && r->oom_kill_disable.set)
        jset (g, mem, "disableOOMKiller", JBOOL (r->oom_kill_disable.v));
      jset (g, res, "memory", mem);
    }
  if (r->cpu.set || r->cpu_shares.set || r->cpuset.s)
    {
      json_t *cpu = jcheck (g, json_object ());
      /* oci-spec's LinuxCpu: shares, quota, period, …, cpus.  */
      if (cpu && r->cpu_shares.set)
        jset (g, cpu, "shares", JINT (r->cpu_shares.v));
      if (cpu && r->cpu.set)
        {
          /* Round (not truncate) and keep at least the kernel's 1 ms
             minimum quota; non-finite values never get here (validation).  */
          double q = round (r->cpu.v * 100000.0);
          int64_t quota = !isfinite (q) ? 0 : q >= 9.2e18 ? INT64_MAX : (int64_t) q;
          if (quota < 1000)
            quota = 1000;
          jset (g, cpu, "quota", JINT (quota));
          jset (g, cpu, "period", JINT (100000));
        }
      if (cpu && r->cpuset.s)
        jset (g, cpu, "cpus", JSTR (r->cpuset.s));
      jset (g, res, "cpu", cpu);
    }
  if (r->pids_limit.set)
    {
      json_t *p = jcheck (g, json_object ());
      if (p)
        jset (g, p, "limit", JINT (r->pids_limit.v));
      jset (g, res, "pids", p);
    }
  if (r->blkio_weight.set)
    {
      json_t *b = jcheck (g, json_object ());
      if (b)
        jset (g, b, "weight", JINT (r->blkio_weight.v));
      jset (g, res, "blockIO", b);
    }
  *out = res;
  return 0;
}

static json_t *
str_array (struct gen *g, const char *const *v)
{
  json_t *a = jcheck (g, json_array ());
  for (; a && *v; v++)
    jpush (g, a, JSTR (*v));
  return a;
}

int
za_gen_linux (struct gen *g, json_t **out)
{
  static const char *const masked[]
      = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware", NULL };
  static const char *const readonly[]
      = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };
  static const char *const none[] = { NULL };
  static const struct
  {
    int64_t major, minor;
  } std_devs[] = { { 1, 3 }, { 1, 5 }, { 1, 7 }, { 1, 8 }, { 1, 9 }, { 5, 0 }, { 5, 1 }, { 5, 2 }, { 136, -1 } };
  json_t *lx = jcheck (g, json_object ()), *rules = jcheck (g, json_array ()),
         *devices = jcheck (g, json_array ()), *res = NULL, *ns;
  bool nocg;
  cleanup_free char *cg = NULL;
  int ret = 0;

  if (!lx || !rules || !devices)
    goto fail;
  if (g->privileged)
    jpush (g, rules, cgroup_rule (g, true, 0, -1, -1, "rwm"));
  else
    {
      jpush (g, rules, cgroup_rule (g, false, 0, -1, -1, "rwm"));
      for (size_t i = 0; i < sizeof std_devs / sizeof *std_devs; i++)
        jpush (g, rules, cgroup_rule (g, true, 'c', std_devs[i].major, std_devs[i].minor, "rwm"));
    }
  if (spec_devices (g, rules, devices) < 0)
    ret = -1;
  for (size_t i = 0; i < g->gpu.nnodes; i++)
    {
      const struct za_gpu_node *nd = &g->gpu.nodes[i];
      char t[2] = { nd->type, 0 };
      struct za_oci_device dev = { .path = nd->path, .type = t, .major = nd->major, .minor = nd->minor,
                                   .has_mode = true, .file_mode = 0666, .has_uid = true, .has_gid = true };
      if (za_oci_device_add (devices, NULL, &dev, NULL) < 0)
        g->oom = true;
    }
  for (size_t i = 0; i < g->gpu.nrules; i++)
    jpush (g, rules, cgroup_rule (g, true, g->gpu.rules[i].type, g->gpu.rules[i].major, g->gpu.rules[i].minor,
                                  g->gpu.rules[i].access));
  nocg = rootless_without_cgroup (g);
  if (!nocg && cgroups_path (g, &cg) < 0)
    ret = -1;
  if (ret < 0 || build_resources (g, rules, &res) < 0)
    goto fail;
  if (nocg)
    drop_limits (g, res);

  if (g->rootless)
    {
      jset (g, lx, "uidMappings", rootless_mappings (g, false));
      jset (g, lx, "gidMappings", rootless_mappings (g, true));
    }
  /* oci-spec's Linux: sysctl sits between gidMappings and resources.  */
  if (g->svc->sysctls.n > 0)
    {
      json_t *sc = jcheck (g, json_object ());
      for (size_t i = 0; sc && i < g->svc->sysctls.n; i++)
        jset (g, sc, g->svc->sysctls.v[i].key.s, JSTR (g->svc->sysctls.v[i].val.s));
      jset (g, lx, "sysctl", sc);
    }
  jset (g, lx, "resources", res);
  res = NULL;
  if (cg)
    jset (g, lx, "cgroupsPath", JSTR (cg));
  ns = jcheck (g, json_array ());
  {
    const char *types[] = { "pid", "ipc", "uts", "mount", g->host_network ? NULL : "network",
                            g->rootless ? "user" : NULL,
                            /* Own cgroup namespace unless privileged (as
                               Docker on cgroup v2).  */
                            (g->rootless || !g->privileged) ? "cgroup" : NULL };
    for (size_t i = 0; ns && i < sizeof types / sizeof *types; i++)
      if (types[i])
        {
          json_t *o = jcheck (g, json_object ());
          if (o)
            jset (g, o, "type", JSTR (types[i]));
          jpush (g, ns, o);
        }
  }
  jset (g, lx, "namespaces", ns);
  if (json_array_size (devices) > 0)
    jset (g, lx, "devices", json_incref (devices));
  jset (g, lx, "rootfsPropagation", JSTR ("private"));
  jset (g, lx, "maskedPaths", str_array (g, g->privileged ? none : masked));
  jset (g, lx, "readonlyPaths", str_array (g, g->privileged ? none : readonly));
  json_decref (rules);
  json_decref (devices);
  *out = lx;
  return 0;
fail:
  json_decref (res);
  json_decref (rules);
  json_decref (devices);
  json_decref (lx);
  return -1;
}
