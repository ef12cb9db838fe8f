#define _GNU_SOURCE
#include "bundle/build.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bundle/users.h"
#include "gpu/gpu.h"
#include "spec/caps.h"
#include "spec/env.h"
#include "spec/units.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Default cgroup parent when the host gives us none to use (cgroup v1 or
   hybrid hosts, or a process at the v2 root): one visible subtree for all
   zagent containers, like Docker's /docker.  */
#define ZA_DEFAULT_CGROUP_PARENT "/zlayer"

struct gen
{
  const struct za_spec *spec;
  const struct za_service *svc;
  const struct za_build_opts *o;
  struct za_err **err, **warn;
  const char *file;
  const char *id;
  char base[1100]; /* "services.<name>" */
  bool rootless, privileged, host_network;
  bool oom;
  struct za_gpu_plan gpu; /* empty without resources.gpu */
  size_t nerr, nwarn;     /* reported through inerr and warnf */
};

/* At most this many errors and warnings each (as the decoder): every one
   is appended at the end of its chain, so thousands would be quadratic.  */
#define MAX_REPORTED 100

/* jansson helpers: any allocation failure latches g->oom.  */
static json_t *
jcheck (struct gen *g, json_t *v)
{
  if (!v)
    g->oom = true;
  return v;
}
#define JSTR(s) jcheck (g, json_string (s))
#define JINT(i) jcheck (g, json_integer ((json_int_t) (i)))
#define JBOOL(b) json_boolean (b)
#define JSTR_(g, s) jcheck (g, json_string (s))
static void
jset (struct gen *g, json_t *obj, const char *key, json_t *v)
{
  if (!v || json_object_set_new (obj, key, v) < 0)
    g->oom = true;
}
static void
jpush (struct gen *g, json_t *arr, json_t *v)
{
  if (!v || json_array_append_new (arr, v) < 0)
    g->oom = true;
}
static json_t *
jstrv (struct gen *g, char *const *v, size_t n)
{
  json_t *a = jcheck (g, json_array ());
  for (size_t i = 0; a && i < n; i++)
    jpush (g, a, JSTR (v[i]));
  return a;
}

static void __attribute__ ((format (printf, 4, 5)))
warnf (struct gen *g, const struct za_mark *m, const char *path, const char *fmt, ...)
{
  va_list ap;
  if (++g->nwarn > MAX_REPORTED)
    return;
  va_start (ap, fmt);
  za_err_set_atv (g->warn, ZA_EINPUT, m ? g->file : NULL, m, path, fmt, ap);
  va_end (ap);
}

static int __attribute__ ((format (printf, 4, 5)))
inerr (struct gen *g, const struct za_mark *m, const char *path, const char *fmt, ...)
{
  va_list ap;
  if (++g->nerr > MAX_REPORTED)
    return -1;
  va_start (ap, fmt);
  za_err_set_atv (g->err, ZA_EINPUT, m ? g->file : NULL, m, path, fmt, ap);
  va_end (ap);
  return -1;
}

char *
za_container_id (const char *service, unsigned replica)
{
  char *id = NULL;
  if (asprintf (&id, "%s-rep-%u", service, replica ? replica : 1) < 0)
    return NULL;
  return id;
}

/* ---- process ------------------------------------------------------- */

static int
build_user (struct gen *g, json_t **out)
{
  const struct za_service *svc = g->svc;
  const char *user = NULL;
  const struct za_mark *m = NULL;
  char path[1200];
  cleanup_close int rootfs_fd = -1;
  uint32_t uid = 0, gid = 0;
  struct za_err *e = NULL;

  /* spec `user` wins over the image's USER (the seed ignored it).  */
  if (svc->user.s && *svc->user.s)
    {
      user = svc->user.s;
      m = &svc->user.m;
      snprintf (path, sizeof path, "%s.user", g->base);
    }
  else if (g->o->image && g->o->image->user && *g->o->image->user)
    {
      user = g->o->image->user;
      snprintf (path, sizeof path, "image config User");
    }
  if (g->o->rootfs)
    rootfs_fd = open (g->o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (user && za_user_resolve (rootfs_fd, user, &uid, &gid, &e) < 0)
    {
      if (e && e->code == ZA_EINPUT)
        {
          inerr (g, m, path, "%s", e->msg);
          za_err_free (&e);
        }
      else
        za_err_append (g->err, &e);
      return -1;
    }
  *out = jcheck (g, json_object ());
  if (*out)
    {
      jset (g, *out, "uid", JINT (uid));
      jset (g, *out, "gid", JINT (gid));
    }
  return 0;
}

static int
build_env (struct gen *g, struct za_strv *env)
{
  const struct za_image_config *ic = g->o->image;
  struct za_secrets sec = { .dir = g->o->secrets_dir,
                            .scope = g->o->scope ? g->o->scope : g->spec->d.deployment.s,
                            .service = g->svc->name };
  char path[1200];

  for (size_t i = 0; ic && i < ic->env.n; i++)
    if (za_strv_push (env, ic->env.v[i]) < 0)
      return za_err_set (g->err, ENOMEM, "out of memory");
  if (!za_env_has_key (env, "PATH", 4) && za_strv_push (env, DEFAULT_PATH) < 0)
    return za_err_set (g->err, ENOMEM, "out of memory");
  if (!za_env_has_key (env, "TERM", 4) && za_strv_push (env, "TERM=xterm") < 0)
    return za_err_set (g->err, ENOMEM, "out of memory");
  if (sec.dir && (!sec.scope || !*sec.scope || sec.scope[0] == '/' || za_path_has_dotdot (sec.scope)))
    return za_err_set (g->err, ZA_EINPUT, "invalid secrets scope `%s`", sec.scope ? sec.scope : "");
  snprintf (path, sizeof path, "%s.env", g->base);
  if (za_env_resolve (&g->svc->env, &sec, g->file, path, env, g->warn, g->err) < 0)
    return -1;
  for (size_t i = 0; i < g->o->nenv; i++)
    {
      const char *kv = g->o->env[i];
      if (!strchr (kv, '=') || kv[0] == '=')
        return za_err_set (g->err, ZA_EINPUT, "--env `%s`: expected KEY=VALUE", kv);
      if (za_env_replace (env, kv) < 0)
        return za_err_set (g->err, ENOMEM, "out of memory");
    }
  /* GPU visibility, MPS, time slicing, distributed training: computed
     from the request and the host, so they replace same-named values set
     earlier (the seed appended duplicates, §12 #19).  */
  for (size_t i = 0; i < g->gpu.env.n; i++)
    if (za_env_replace (env, g->gpu.env.v[i]) < 0)
      return za_err_set (g->err, ENOMEM, "out of memory");
  return 0;
}

static int
build_args (struct gen *g, struct za_strv *args)
{
  const struct za_command *c = &g->svc->command;
  bool ok = true;
  if (g->o->args_set)
    for (size_t i = 0; i < g->o->nargs; i++)
      ok &= za_strv_push (args, g->o->args[i]) == 0;
  else if (c->entrypoint.set || (c->args.set && c->args.n > 0))
    {
      /* Seed semantics (kept): `args` without `entrypoint` replaces the
         whole image command, not only CMD.  */
      for (size_t i = 0; c->entrypoint.set && i < c->entrypoint.n; i++)
        ok &= za_strv_push (args, c->entrypoint.v[i].s) == 0;
      for (size_t i = 0; c->args.set && i < c->args.n; i++)
        ok &= za_strv_push (args, c->args.v[i].s) == 0;
    }
  else if (!za_image_config_full_command (g->o->image, args) || args->n == 0)
    {
      za_strv_clear (args);
      ok = za_strv_push (args, "/bin/sh") == 0;
    }
  if (!ok)
    return za_err_set (g->err, ENOMEM, "out of memory");
  if (args->n == 0)
    {
      char path[1200];
      snprintf (path, sizeof path, "%s.command", g->base);
      return inerr (g, c->entrypoint.set ? &c->entrypoint.m : NULL, path,
                    "the container command is empty (an empty entrypoint and no args)");
    }
  return 0;
}

static const char *
build_cwd (struct gen *g)
{
  if (g->o->cwd)
    return g->o->cwd;
  if (g->svc->command.workdir.s)
    return g->svc->command.workdir.s;
  if (g->o->image && g->o->image->working_dir && *g->o->image->working_dir)
    return g->o->image->working_dir;
  return "/";
}

static uint64_t
cap_set (struct gen *g)
{
  const struct za_service *svc = g->svc;
  uint64_t set;
  if (g->privileged)
    return za_cap_all_set ();
  /* `capabilities` replaces the default set (seed semantics, with the
     names actually honoured); `cap_drop` then removes.  */
  if (svc->capabilities.n == 0)
    set = za_cap_default_set ();
  else
    {
      set = 0;
      for (size_t i = 0; i < svc->capabilities.n; i++)
        {
          const char *n = svc->capabilities.v[i].s;
          int c = za_cap_lookup (n);
          if (za_cap_is_all (n))
            set = za_cap_all_set ();
          else if (c >= 0)
            set |= UINT64_C (1) << c;
        }
    }
  for (size_t i = 0; i < svc->cap_drop.n; i++)
    {
      const char *n = svc->cap_drop.v[i].s;
      int c = za_cap_lookup (n);
      if (za_cap_is_all (n))
        set = 0;
      else if (c >= 0)
        set &= ~(UINT64_C (1) << c);
    }
  return set;
}


static json_t *
build_caps (struct gen *g, uint64_t set)
{
  json_t *caps = jcheck (g, json_object ());
  const char *keys[] = { "bounding", "effective", "inheritable", "permitted", "ambient" };
  if (!caps)
    return NULL;
  for (int k = 0; k < 5; k++)
    {
      json_t *a = jcheck (g, json_array ());
      bool empty = k == 2 || k == 4;
      for (int c = 0; a && !empty && c < ZA_CAP_COUNT; c++)
        if (set & (UINT64_C (1) << c))
          jpush (g, a, JSTR (za_cap_names[c]));
      jset (g, caps, keys[k], a);
    }
  return caps;
}

static json_t *
build_rlimits (struct gen *g)
{
  json_t *a = jcheck (g, json_array ());
  const struct za_map *ul = &g->svc->ulimits;
  if (!a)
    return NULL;
  for (size_t i = 0; i < ul->n; i++)
    {
      int idx = za_ulimit_index (ul->v[i].key.s);
      json_t *r;
      char type[32];
      int64_t soft, hard;
      if (idx < 0)
        continue; /* reported by za_service_check_names */
      r = jcheck (g, json_object ());
      if (!r)
        continue;
      za_ulimit_effective (ul->v[i].val, &soft, &hard);
      snprintf (type, sizeof type, "RLIMIT_%s", za_ulimit_names[idx]);
      for (char *p = type; *p; p++)
        *p = (char) toupper ((unsigned char) *p);
      jset (g, r, "type", JSTR (type));
      jset (g, r, "hard", JINT (hard));
      jset (g, r, "soft", JINT (soft));
      jpush (g, a, r);
    }
  if (ul->n == 0)
    {
      json_t *r = jcheck (g, json_object ());
      if (r)
        {
          jset (g, r, "type", JSTR ("RLIMIT_NOFILE"));
          jset (g, r, "hard", JINT (1024));
          jset (g, r, "soft", JINT (1024));
        }
      jpush (g, a, r);
    }
  return a;
}


static int
build_process (struct gen *g, json_t **out)
{
  json_t *p = jcheck (g, json_object ()), *user = NULL, *env_j, *caps;
  cleanup_strv struct za_strv env = { 0 };
  cleanup_strv struct za_strv args = { 0 };
  uint64_t set;
  int ret = 0;

  if (!p)
    return -1;
  if (build_user (g, &user) < 0)
    ret = -1;
  if (build_env (g, &env) < 0)
    ret = -1;
  if (build_args (g, &args) < 0)
    ret = -1;
  if (za_service_check_names (g->spec, g->svc, g->err) < 0)
    ret = -1;
  if (ret < 0)
    {
      json_decref (user);
      json_decref (p);
      return -1;
    }
  /* env values may come from the host environment or a secret: both
     must be valid UTF-8 to go into config.json.  */
  env_j = jcheck (g, json_array ());
  for (size_t i = 0; env_j && i < env.n; i++)
    {
      json_t *s = json_string (env.v[i]);
      if (!s)
        {
          const char *eq = strchr (env.v[i], '=');
          inerr (g, NULL, NULL, "environment variable %.*s: value is not valid UTF-8",
                 eq ? (int) (eq - env.v[i]) : 0, env.v[i]);
          json_decref (env_j);
          json_decref (user);
          json_decref (p);
          return -1;
        }
      jpush (g, env_j, s);
    }
  set = cap_set (g);
  caps = build_caps (g, set);
  jset (g, p, "terminal", JBOOL (false));
  jset (g, p, "user", user);
  jset (g, p, "args", jstrv (g, args.v, args.n));
  jset (g, p, "env", env_j);
  jset (g, p, "cwd", JSTR (build_cwd (g)));
  jset (g, p, "capabilities", caps);
  jset (g, p, "rlimits", build_rlimits (g));
  jset (g, p, "noNewPrivileges", JBOOL (!g->privileged && g->svc->capabilities.n == 0));
  /* oci-spec's Process: oomScoreAdj comes after noNewPrivileges.  */
  if (g->svc->resources.oom_score_adj.set)
    jset (g, p, "oomScoreAdj", JINT (g->svc->resources.oom_score_adj.v));
  *out = p;
  return 0;
}

/* ---- mounts -------------------------------------------------------- */

static json_t *
mount_obj (struct gen *g, const char *dst, const char *type, const char *src, const char *opts)
{
  json_t *m = jcheck (g, json_object ()), *o;
  cleanup_free char *copy = strdup (opts);
  char *save = NULL;
  if (!m || !copy)
    {
      g->oom = true;
      json_decref (m);
      return NULL;
    }
  jset (g, m, "destination", JSTR (dst));
  jset (g, m, "type", JSTR (type));
  jset (g, m, "source", JSTR (src));
  o = jcheck (g, json_array ());
  for (char *t = strtok_r (copy, ",", &save); o && t; t = strtok_r (NULL, ",", &save))
    jpush (g, o, JSTR (t));
  jset (g, m, "options", o);
  return m;
}

static void
default_mounts (struct gen *g, json_t *mounts)
{
  bool ro = !g->privileged;
  jpush (g, mounts, mount_obj (g, "/proc", "proc", "proc", "nosuid,noexec,nodev"));
  jpush (g, mounts, mount_obj (g, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
  jpush (g, mounts, mount_obj (g, "/dev/pts", "devpts", "devpts",
                               "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
  jpush (g, mounts, mount_obj (g, "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
  jpush (g, mounts, mount_obj (g, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  jpush (g, mounts, mount_obj (g, "/sys", "sysfs", "sysfs", ro ? "nosuid,noexec,nodev,ro" : "nosuid,noexec,nodev"));
  /* Read-only for non-privileged containers: with the host's cgroup2
     hierarchy mounted read-write, a container could move itself out of
     its cgroup by writing the root cgroup.procs (Docker mounts it ro).  */
  jpush (g, mounts, mount_obj (g, "/sys/fs/cgroup", "cgroup2", "cgroup",
                               ro ? "nosuid,noexec,nodev,relatime,ro" : "nosuid,noexec,nodev,relatime"));
}

static const char *
volume_path (const struct za_build_opts *o, const char *key)
{
  for (size_t i = 0; i < o->nvolumes; i++)
    if (strcmp (o->volumes[i].key, key) == 0)
      return o->volumes[i].path;
  return NULL;
}

/* Storage manager key for an anonymous volume: leading '/' dropped,
   '/' -> '_' (so /app/cache is _anon_app_cache).  */
static char *
anon_key (const char *target)
{
  char *k = NULL;
  while (*target == '/')
    target++;
  if (asprintf (&k, "_anon_%s", target) < 0)
    return NULL;
  for (char *p = k + 6; *p; p++)
    if (*p == '/')
      *p = '_';
  return k;
}

struct anon_ref
{
  char *key;
  size_t idx;
};

static int
anon_ref_cmp (const void *a, const void *b)
{
  const struct anon_ref *x = a, *y = b;
  int r = strcmp (x->key, y->key);
  return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/* For each anonymous storage entry, the index of the first earlier one
   with the same volume key, or SIZE_MAX.  Sorting keeps a long storage
   list O(n log n) (a pairwise check was quadratic, with an error per
   pair).  NULL on OOM.  */
static size_t *
anon_first_same_key (const struct za_list *sl)
{
  size_t *first = malloc ((sl->n ? sl->n : 1) * sizeof *first);
  struct anon_ref *r = calloc (sl->n ? sl->n : 1, sizeof *r);
  size_t n = 0;
  bool ok = first && r;
  for (size_t i = 0; ok && i < sl->n; i++)
    {
      const struct za_storage *st = (const struct za_storage *) sl->v + i;
      first[i] = SIZE_MAX;
      if (st->type.v == ZA_STORAGE_ANONYMOUS && st->target.s)
        {
          r[n].idx = i;
          ok = (r[n++].key = anon_key (st->target.s)) != NULL;
        }
    }
  if (ok)
    {
      qsort (r, n, sizeof *r, anon_ref_cmp);
      for (size_t i = 1; i < n; i++)
        if (strcmp (r[i].key, r[i - 1].key) == 0)
          first[r[i].idx] = first[r[i - 1].idx] != SIZE_MAX ? first[r[i - 1].idx] : r[i - 1].idx;
    }
  for (size_t i = 0; r && i < n; i++)
    free (r[i].key);
  free (r);
  if (!ok)
    {
      free (first);
      return NULL;
    }
  return first;
}

static int
storage_mounts (struct gen *g, json_t *mounts)
{
  const struct za_list *sl = &g->svc->storage;
  char path[1200];
  int ret = 0;
  cleanup_free size_t *anon_first = anon_first_same_key (sl);
  if (!anon_first)
    return za_err_set (g->err, ENOMEM, "out of memory");
  for (size_t i = 0; i < sl->n; i++)
    {
      const struct za_storage *st = (const struct za_storage *) sl->v + i;
      cleanup_free char *key = NULL;
      const char *src = NULL;
      char opts[128];
      const char *rw = st->readonly.v ? "ro" : "rw";
      snprintf (path, sizeof path, "%s.storage[%zu]", g->base, i);
      if (!za_path_is_absolute_clean (st->target.s))
        {
          ret = inerr (g, &st->target.m, path, "mount target `%s` must be an absolute path without `..`",
                       st->target.s);
          continue;
        }
      switch (st->type.v)
        {
        case ZA_STORAGE_BIND:
          if (!za_path_is_absolute_clean (st->source.s))
            {
              ret = inerr (g, &st->source.m, path, "bind source `%s` must be an absolute host path without `..`",
                           st->source.s);
              continue;
            }
          snprintf (opts, sizeof opts, "rbind,%s", rw);
          jpush (g, mounts, mount_obj (g, st->target.s, "none", st->source.s, opts));
          break;
        case ZA_STORAGE_NAMED:
          if (!za_volume_name_valid (st->name.s))
            {
              ret = inerr (g, &st->name.m, path, "Invalid volume name: %s", st->name.s);
              continue;
            }
          if (st->tier.v == ZA_TIER_NETWORK)
            warnf (g, &st->type.m, path, "Network storage tier is NOT SQLite-safe. Avoid using SQLite databases on this volume.");
          src = volume_path (g->o, st->name.s);
          if (!src)
            {
              ret = inerr (g, &st->name.m, path,
                           "volume '%s' not prepared - ensure StorageManager.ensure_volume() was called (pass --volume %s=PATH)",
                           st->name.s, st->name.s);
              continue;
            }
          snprintf (opts, sizeof opts, "rbind,%s", rw);
          jpush (g, mounts, mount_obj (g, st->target.s, "none", src, opts));
          break;
        case ZA_STORAGE_ANONYMOUS:
          key = anon_key (st->target.s);
          if (!key)
            return za_err_set (g->err, ENOMEM, "out of memory");
          /* Two targets with one key (/a/b and /a_b) would share a
             volume: refuse instead of silently aliasing them (one error
             per later target, naming the first).  */
          if (anon_first[i] != SIZE_MAX)
            ret = inerr (g, &st->target.m, path,
                         "anonymous volume targets `%s` and `%s` map to the same volume key `%s`",
                         ((const struct za_storage *) sl->v + anon_first[i])->target.s, st->target.s, key);
          if (st->tier.v == ZA_TIER_NETWORK)
            warnf (g, &st->type.m, path, "Network storage tier is NOT SQLite-safe.");
          src = volume_path (g->o, key);
          if (!src)
            {
              ret = inerr (g, &st->target.m, path, "anonymous volume for '%s' not prepared (pass --volume %s=PATH)",
                           st->target.s, key);
              continue;
            }
          jpush (g, mounts, mount_obj (g, st->target.s, "none", src, "rbind,rw"));
          break;
        case ZA_STORAGE_TMPFS:
          {
            char o2[256];
            int n = snprintf (o2, sizeof o2, "nosuid,nodev");
            if (st->size.s)
              {
                int64_t b;
                if (strchr (st->size.s, ',') || za_parse_memory (st->size.s, &b, NULL) != ZA_MEM_OK)
                  {
                    ret = inerr (g, &st->size.m, path, "invalid tmpfs size `%s`", st->size.s);
                    continue;
                  }
                n += snprintf (o2 + n, sizeof o2 - (size_t) n, ",size=%s", st->size.s);
              }
            if (st->mode.set)
              {
                if (st->mode_was_decimal)
                  warnf (g, &st->mode.m, path,
                         "tmpfs mode %" PRIo64 " read as octal 0%" PRIo64 " (write 0o%" PRIo64
                         " or \"%" PRIo64 "\" to say so)",
                         (uint64_t) st->mode.v, (uint64_t) st->mode.v, (uint64_t) st->mode.v,
                         (uint64_t) st->mode.v);
                snprintf (o2 + n, sizeof o2 - (size_t) n, ",mode=%" PRIo64, (uint64_t) st->mode.v);
              }
            jpush (g, mounts, mount_obj (g, st->target.s, "tmpfs", "tmpfs", o2));
          }
          break;
        case ZA_STORAGE_S3:
          warnf (g, &st->type.m, path, "S3 storage is NOT SQLite-safe. Use for read-heavy workloads only.");
          if (asprintf (&key, "_s3_%s_%s", st->bucket.s, st->prefix.s ? st->prefix.s : "") < 0)
            return za_err_set (g->err, ENOMEM, "out of memory");
          src = volume_path (g->o, key);
          if (!src)
            {
              ret = inerr (g, &st->bucket.m, path,
                           "S3 volume for bucket '%s' not mounted - ensure StorageManager.mount_s3() was called (pass --volume %s=PATH)",
                           st->bucket.s, key);
              continue;
            }
          snprintf (opts, sizeof opts, "rbind,%s", rw);
          jpush (g, mounts, mount_obj (g, st->target.s, "none", src, opts));
          break;
        }
      if (src && src[0] != '/')
        ret = inerr (g, NULL, path, "prepared volume path `%s` must be absolute", src);
    }
  return ret;
}

/* Collapse repeated '/' and drop trailing ones (not a lone "/"), in
   place: Rust's Path equality ignores both.  */
static void
path_normalize (char *p)
{
  char *w = p;
  for (const char *r = p; *r; r++)
    if (!(*r == '/' && w > p && w[-1] == '/'))
      *w++ = *r;
  while (w - p > 1 && w[-1] == '/')
    w--;
  *w = '\0';
}

/* The data dir when ZLAYER_DATA_DIR is not set (zlayer-paths, Linux).  */
static char *
platform_data_dir (void)
{
  const char *home = getenv ("HOME");
  char *out = NULL;
  if (geteuid () == 0 || !home || !*home)
    return strdup ("/var/lib/zlayer");
  if (asprintf (&out, "%s/.zlayer", home) < 0)
    return NULL;
  return out;
}

/* FNV-1a 64 over the data dir and "daemon" (zlayer-paths).  The data dir
   equal to the platform default (even when given through the variable)
   means the platform socket.  */
static char *
default_socket_path (void)
{
  const char *d = getenv ("ZLAYER_DATA_DIR");
  cleanup_free char *plat = NULL;
  char *out = NULL;
  if (!d || !*d)
    return strdup ("/var/run/zlayer.sock");
  {
    cleanup_free char *dn = strdup (d);
    plat = platform_data_dir ();
    if (!plat || !dn)
      return NULL;
    path_normalize (dn);
    path_normalize (plat);
    if (strcmp (dn, plat) == 0)
      return strdup ("/var/run/zlayer.sock");
  }
  if (asprintf (&out, "%s/run/zlayer.sock", d) < 0)
    return NULL;
  if (strlen (out) > 103)
    {
      uint64_t h = 0xcbf29ce484222325ull;
      for (const char *p = d; *p; p++)
        h = (h ^ (unsigned char) *p) * 0x100000001b3ull;
      for (const char *p = "daemon"; *p; p++)
        h = (h ^ (unsigned char) *p) * 0x100000001b3ull;
      free (out);
      if (asprintf (&out, "/tmp/zlayer-daemon-%016" PRIx64 ".sock", h) < 0)
        return NULL;
    }
  return out;
}

static int
build_mounts (struct gen *g, json_t **out, char **resolv)
{
  json_t *mounts = jcheck (g, json_array ());
  const struct za_strlist *dns = &g->svc->dns;
  if (!mounts)
    return -1;
  default_mounts (g, mounts);
  if (storage_mounts (g, mounts) < 0)
    {
      json_decref (mounts);
      return -1;
    }
  if (g->o->socket_path)
    {
      cleanup_free char *dst = default_socket_path ();
      if (!dst)
        g->oom = true;
      else
        jpush (g, mounts, mount_obj (g, dst, "bind", g->o->socket_path, "rbind,ro"));
    }
  if (!g->host_network && dns->n > 0)
    {
      cleanup_free char *text = NULL, *src = NULL;
      size_t sz = 0;
      FILE *f = open_memstream (&text, &sz);
      if (!f)
        return za_err_set (g->err, ENOMEM, "out of memory");
      for (size_t i = 0; i < dns->n; i++)
        {
          if (strpbrk (dns->v[i].s, " \t\r\n#;") || !*dns->v[i].s)
            {
              char path[1200];
              fclose (f);
              json_decref (mounts);
              snprintf (path, sizeof path, "%s.dns[%zu]", g->base, i);
              return inerr (g, &dns->v[i].m, path, "invalid nameserver `%s`", dns->v[i].s);
            }
          fprintf (f, "nameserver %s\n", dns->v[i].s);
        }
      fputs ("options edns0\n", f);
      fclose (f);
      if (asprintf (&src, "%s/resolv.conf", g->o->bundle_dir ? g->o->bundle_dir : ".") < 0)
        return za_err_set (g->err, ENOMEM, "out of memory");
      jpush (g, mounts, mount_obj (g, "/etc/resolv.conf", "bind", src, "rbind,ro"));
      *resolv = steal_pointer (&text);
    }
  for (size_t i = 0; i < g->gpu.nmounts; i++)
    jpush (g, mounts, mount_obj (g, g->gpu.mounts[i].dst, "bind", g->gpu.mounts[i].src, g->gpu.mounts[i].opts));
  *out = mounts;
  return 0;
}

/* ---- linux --------------------------------------------------------- */

static json_t *
cgroup_rule (struct gen *g, bool allow, char type, int64_t major, int64_t minor, const char *access)
{
  json_t *r = jcheck (g, json_object ());
  char t[2] = { type, 0 };
  if (!r)
    return NULL;
  jset (g, r, "allow", JBOOL (allow));
  if (type)
    jset (g, r, "type", JSTR (t));
  if (major >= 0)
    jset (g, r, "major", JINT (major));
  if (minor >= 0)
    jset (g, r, "minor", JINT (minor));
  jset (g, r, "access", JSTR (access));
  return r;
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

static json_t *
rootless_mappings (struct gen *g, bool gid)
{
  uint32_t id = gid ? getegid () : geteuid ();
  json_t *a = jcheck (g, json_array ());
  struct passwd *pw = getpwuid (geteuid ());
  cleanup_free char *file = za_host_path (&g->o->host, gid ? "/etc/subgid" : "/etc/subuid");
  char uidstr[16];
  uint32_t start, count;
  snprintf (uidstr, sizeof uidstr, "%u", (unsigned) geteuid ());
  jpush (g, a, id_mapping (g, id, 0, 1));
  if (file && pw && za_subid_lookup (file, pw->pw_name, uidstr, &start, &count) == 1)
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
      char type, access[4];
      size_t n = 0;
      json_t *dev;
      snprintf (path, sizeof path, "%s.devices[%zu].path", g->base, i);
      if (d->path.s && d->path.s[0] != '/')
        continue; /* a CDI device name: injected through the CDI plan */
      if (!za_path_is_absolute_clean (d->path.s))
        {
          ret = inerr (g, &d->path.m, path, "device path `%s` must be an absolute path without `..`", d->path.s);
          continue;
        }
      if (za_host_stat (&g->o->host, d->path.s, &st) < 0)
        {
          warnf (g, &d->path.m, path, "Failed to get device info for %s, skipping (%s)", d->path.s,
                 strerror (errno));
          continue;
        }
      if (S_ISCHR (st.st_mode))
        type = 'c';
      else if (S_ISBLK (st.st_mode))
        type = 'b';
      else
        {
          ret = inerr (g, &d->path.m, path, "`%s` is not a device node", d->path.s);
          continue;
        }
      if (d->read.v)
        access[n++] = 'r';
      if (d->write.v)
        access[n++] = 'w';
      if (d->mknod.v)
        access[n++] = 'm';
      access[n] = '\0';
      dev = jcheck (g, json_object ());
      if (dev)
        {
          char t[2] = { type, 0 };
          jset (g, dev, "path", JSTR (d->path.s));
          jset (g, dev, "type", JSTR (t));
          jset (g, dev, "major", JINT (major (st.st_rdev)));
          jset (g, dev, "minor", JINT (minor (st.st_rdev)));
          jset (g, dev, "fileMode", JINT (0666));
          jset (g, dev, "uid", JINT (0));
          jset (g, dev, "gid", JINT (0));
        }
      jpush (g, devices, dev);
      /* read/write/mknod all false: the node exists but gets no access.  */
      if (n == 0)
        warnf (g, &d->path.m, path, "device %s has read, write and mknod all false: no access granted", d->path.s);
      else if (!g->privileged)
        jpush (g, rules, cgroup_rule (g, true, type, major (st.st_rdev), minor (st.st_rdev), access));
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
        return inerr (g, cp->s && *cp->s ? &cp->m : NULL, cp->s && *cp->s ? path : "ZLAYER_CGROUP_PARENT",
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
        return inerr (g, NULL, NULL,
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
    return za_err_set (g->err, ENOMEM, "out of memory");
  return 0;
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
              return inerr (g, &fields[i].s->m, path, "invalid memory limit: %s `%s`",
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

static int
build_linux (struct gen *g, json_t **out)
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
      json_t *dev = jcheck (g, json_object ());
      if (dev)
        {
          jset (g, dev, "path", JSTR (nd->path));
          jset (g, dev, "type", JSTR (t));
          jset (g, dev, "major", JINT (nd->major));
          jset (g, dev, "minor", JINT (nd->minor));
          jset (g, dev, "fileMode", JINT (0666));
          jset (g, dev, "uid", JINT (0));
          jset (g, dev, "gid", JINT (0));
        }
      jpush (g, devices, dev);
    }
  for (size_t i = 0; i < g->gpu.nrules; i++)
    jpush (g, rules, cgroup_rule (g, true, g->gpu.rules[i].type, g->gpu.rules[i].major, g->gpu.rules[i].minor,
                                  g->gpu.rules[i].access));
  if (cgroups_path (g, &cg) < 0)
    ret = -1;
  if (ret < 0 || build_resources (g, rules, &res) < 0)
    goto fail;

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

/* ---- assembly ------------------------------------------------------ */

void
za_build_result_clear (struct za_build_result *r)
{
  json_decref (r->config);
  free (r->container_id);
  free (r->resolv_conf);
  free (r->rootfs_real);
  za_err_free (&r->warnings);
  *r = (struct za_build_result) { 0 };
}

int
za_build_config (const struct za_spec *spec, const struct za_service *svc,
                 const struct za_build_opts *o, struct za_build_result *out, struct za_err **err)
{
  struct gen g = { .spec = spec, .svc = svc, .o = o, .file = spec->file };
  struct za_err *errs = NULL;
  json_t *cfg = NULL, *process = NULL, *mounts = NULL, *lx = NULL, *root;
  int ret = 0;

  *out = (struct za_build_result) { 0 };
  g.err = &errs;
  g.warn = &out->warnings;
  snprintf (g.base, sizeof g.base, "services.%s", svc->name);
  out->container_id = za_container_id (svc->name, o->replica);
  if (!out->container_id)
    return za_err_set (err, ENOMEM, "out of memory");
  g.id = out->container_id;
  g.privileged = svc->privileged.v;
  /* One host-network flag for namespaces and resolv.conf alike.  */
  g.host_network = o->host_network || za_service_host_network (svc);
  g.rootless = o->rootless < 0 ? geteuid () != 0 : o->rootless;

  if (o->rootfs)
    {
      struct stat rst;
      out->rootfs_real = realpath (o->rootfs, NULL);
      if (!out->rootfs_real)
        za_err_set (&errs, errno == ENOENT || errno == ENOTDIR ? ZA_EINPUT : errno,
                    "--rootfs `%s`: %s", o->rootfs, strerror (errno));
      else if (stat (out->rootfs_real, &rst) == 0 && !S_ISDIR (rst.st_mode))
        za_err_set (&errs, ZA_EINPUT, "--rootfs `%s` is not a directory", o->rootfs);
    }
  /* A relative bind source is taken relative to the bundle by runc.  */
  if (o->socket_path && o->socket_path[0] != '/')
    za_err_set (&errs, ZA_EINPUT, "--socket `%s` must be an absolute path", o->socket_path);
  {
    /* runc skips sethostname for "" (the container keeps the host's
       name) and the kernel refuses more than 64 bytes.  */
    const char *hn = o->hostname ? o->hostname : svc->hostname.s ? svc->hostname.s : g.id;
    size_t hl = strlen (hn);
    if (hl == 0 || hl > 64)
      {
        char hpath[1200];
        snprintf (hpath, sizeof hpath, "%s.hostname", g.base);
        if (!o->hostname && svc->hostname.s)
          inerr (&g, &svc->hostname.m, hpath, "hostname `%s` must be 1-64 bytes long", hn);
        else
          za_err_set (&errs, ZA_EINPUT, "%s `%s` must be 1-64 bytes long",
                      o->hostname ? "--hostname" : "hostname (the container id)", hn);
      }
  }
  if (o->cwd && o->cwd[0] != '/')
    za_err_set (&errs, ZA_EINPUT, "--cwd `%s` must be an absolute path", o->cwd);
  if (svc->resources.gpu)
    {
      struct za_gpu_ctx gc = {
        .host = &o->host, .file = spec->file, .base = g.base, .service = svc->name,
        .replica = o->replica ? o->replica : 1,
        .world_size = svc->scale.mode.v == ZA_SCALE_FIXED && svc->scale.replicas.v > 0
                          ? (unsigned) svc->scale.replicas.v : 1,
        .via_cdi = o->gpu_via_cdi, .privileged = g.privileged,
      };
      if (za_gpu_plan_build (&gc, svc->resources.gpu, &g.gpu, g.warn, &errs) < 0)
        goto fail;
    }
  if (build_process (&g, &process) < 0)
    ret = -1;
  if (build_mounts (&g, &mounts, &out->resolv_conf) < 0)
    ret = -1;
  if (build_linux (&g, &lx) < 0)
    ret = -1;
  if (ret == 0 && !errs && process)
    {
      const char *cwd = json_string_value (json_object_get (process, "cwd"));
      if (cwd && cwd[0] != '/')
        za_err_set (&errs, ZA_EINPUT, "working directory `%s` must be an absolute path", cwd);
    }
  if (ret < 0 || errs)
    goto fail;

  cfg = jcheck (&g, json_object ());
  root = jcheck (&g, json_object ());
  if (root)
    {
      json_object_set_new (root, "path", JSTR_ (&g, out->rootfs_real ? out->rootfs_real : "rootfs"));
      json_object_set_new (root, "readonly", json_boolean (svc->read_only_root_fs.v));
    }
  if (cfg)
    {
      const char *hn = o->hostname ? o->hostname : svc->hostname.s ? svc->hostname.s : g.id;
      jset (&g, cfg, "ociVersion", JSTR_ (&g, "1.0.2"));
      jset (&g, cfg, "root", root);
      jset (&g, cfg, "mounts", mounts);
      jset (&g, cfg, "process", process);
      jset (&g, cfg, "hostname", JSTR_ (&g, hn));
      jset (&g, cfg, "annotations", jcheck (&g, json_object ()));
      jset (&g, cfg, "linux", lx);
      mounts = process = lx = NULL;
    }
  if (g.oom)
    {
      json_decref (cfg);
      cfg = NULL;
      za_err_set (&errs, ENOMEM, "out of memory building config.json");
      goto fail;
    }
  /* CDI edits go onto the finished config, as the reference library
     applies them to a runtime's spec.  */
  if (o->cdi && o->cdi->n > 0 && za_cdi_apply (cfg, o->cdi, &o->host, &errs) < 0)
    {
      json_decref (cfg);
      goto fail;
    }
  out->config = cfg;
  za_gpu_plan_clear (&g.gpu);
  return 0;
fail:
  za_gpu_plan_clear (&g.gpu);
  json_decref (process);
  json_decref (mounts);
  json_decref (lx);
  za_err_append (err, &errs);
  {
    struct za_err *w = out->warnings;
    out->warnings = NULL;
    za_build_result_clear (out);
    out->warnings = w;
  }
  return -1;
}

char *
za_config_dump (const json_t *config, size_t *len)
{
  char *s = json_dumps (config, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  /* jansson writes \u001F, serde_json \u001f.  Outside strings there is
     no backslash, and inside one every backslash starts an escape, so
     skipping each escaped character keeps "\\u" (a literal backslash
     and u) intact.  */
  for (char *p = s; p && *p; p++)
    if (*p == '\\' && p[1])
      {
        if (p[1] == 'u')
          for (int i = 2; i < 6 && p[i]; i++)
            p[i] = (char) tolower ((unsigned char) p[i]);
        p++;
      }
  if (s && len)
    *len = strlen (s);
  return s;
}
