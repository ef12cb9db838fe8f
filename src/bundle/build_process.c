/* config.json's `process`: user, env, args, cwd, capabilities, rlimits.  */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/build_int.h"
#include "bundle/users.h"
#include "spec/caps.h"
#include "spec/env.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static json_t *
jstrv (struct gen *g, char *const *v, size_t n)
{
  json_t *a = jcheck (g, json_array ());
  for (size_t i = 0; a && i < n; i++)
    jpush (g, a, JSTR (v[i]));
  return a;
}

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
          za_errs_at (&g->errs, m ? g->file : NULL, m, path, "%s", e->msg);
          za_err_free (&e);
        }
      else
        za_gen_take (g, &e, NULL);
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
      return za_gen_error (g, ENOMEM, "out of memory");
  if (!za_env_has_key (env, "PATH", 4) && za_strv_push (env, DEFAULT_PATH) < 0)
    return za_gen_error (g, ENOMEM, "out of memory");
  if (!za_env_has_key (env, "TERM", 4) && za_strv_push (env, "TERM=xterm") < 0)
    return za_gen_error (g, ENOMEM, "out of memory");
  if (sec.dir && (!sec.scope || !*sec.scope || sec.scope[0] == '/' || za_path_has_dotdot (sec.scope)))
    return za_gen_error (g, ZA_EINPUT, "invalid secrets scope `%s`", sec.scope ? sec.scope : "");
  snprintf (path, sizeof path, "%s.env", g->base);
  {
    struct za_err *e = NULL, *w = NULL;
    int r = za_env_resolve (&g->svc->env, &sec, g->file, path, env, &w, &e);
    za_gen_take (g, &e, &w);
    if (r < 0)
      return -1;
  }
  for (size_t i = 0; i < g->o->nenv; i++)
    {
      const char *kv = g->o->env[i];
      if (!strchr (kv, '=') || kv[0] == '=')
        return za_gen_error (g, ZA_EINPUT, "--env `%s`: expected KEY=VALUE", kv);
      if (za_env_replace (env, kv) < 0)
        return za_gen_error (g, ENOMEM, "out of memory");
    }
  /* GPU visibility, MPS, time slicing, distributed training: computed
     from the request and the host, so they replace same-named values set
     earlier (the seed appended duplicates, §12 #19).  */
  for (size_t i = 0; i < g->gpu.env.n; i++)
    if (za_env_replace (env, g->gpu.env.v[i]) < 0)
      return za_gen_error (g, ENOMEM, "out of memory");
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
    return za_gen_error (g, ENOMEM, "out of memory");
  if (args->n == 0)
    {
      char path[1200];
      const struct za_mark *m = c->entrypoint.set ? &c->entrypoint.m : NULL;
      snprintf (path, sizeof path, "%s.command", g->base);
      return za_errs_at (&g->errs, m ? g->file : NULL, m, path,
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


int
za_gen_process (struct gen *g, json_t **out)
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
  {
    struct za_err *e = NULL;
    if (za_service_check_names (g->spec, g->svc, &e) < 0)
      ret = -1;
    za_gen_take (g, &e, NULL);
  }
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
          za_errs_at (&g->errs, NULL, NULL, NULL, "environment variable %.*s: value is not valid UTF-8",
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

