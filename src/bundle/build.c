/* The config generator's assembly: options checked, the GPU plan made,
   then each block of config.json (build_process.c, build_mounts.c,
   build_linux.c) put together in the reference serialiser's key order.  */
#define _GNU_SOURCE
#include "bundle/build.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/build_int.h"

int
za_gen_error (struct gen *g, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_errs_atv (&g->errs, code, NULL, NULL, NULL, fmt, ap);
  va_end (ap);
  return -1;
}

void
za_gen_take (struct gen *g, struct za_err **errs, struct za_err **warns)
{
  if (errs)
    za_errs_take (&g->errs, errs);
  if (warns)
    za_errs_take (&g->warns, warns);
}

char *
za_container_id (const char *service, unsigned replica)
{
  char *id = NULL;
  if (asprintf (&id, "%s-rep-%u", service, replica ? replica : 1) < 0)
    return NULL;
  return id;
}

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


/* The GPU plan for the service's request, satisfied as O->gpu_route says
   (without one: no CDI, gpu/ decides between passthrough and nothing).  */
static int
gpu_plan (struct gen *g)
{
  const struct za_service *svc = g->svc;
  const struct za_gpu_route *route = g->o->gpu_route;
  struct za_gpu_route direct = { 0 };
  struct za_err *e = NULL, *w = NULL;
  struct za_gpu_ctx gc = {
    .host = &g->o->host, .file = g->file, .base = g->base, .service = svc->name,
    .replica = g->o->replica ? g->o->replica : 1,
    .world_size = svc->scale.mode.v == ZA_SCALE_FIXED && svc->scale.replicas.v > 0
                      ? (unsigned) svc->scale.replicas.v : 1,
    .privileged = g->privileged,
  };
  int ret = 0;

  if (!route)
    {
      ret = za_gpu_route (svc->resources.gpu, NULL, 0, NULL, &direct, &w, &e);
      route = &direct;
    }
  if (ret == 0)
    ret = za_gpu_plan_build (&gc, svc->resources.gpu, route, &g->gpu, &w, &e);
  za_gpu_route_clear (&direct);
  za_gen_take (g, &e, &w);
  return ret;
}

int
za_build_config (const struct za_spec *spec, const struct za_service *svc,
                 const struct za_build_opts *o, struct za_build_result *out, struct za_err **err)
{
  struct gen g = { .spec = spec, .svc = svc, .o = o, .file = spec->file,
                   .errs = ZA_ERRS_INIT (ZA_ERRS_MAX), .warns = ZA_ERRS_INIT (ZA_ERRS_MAX) };
  json_t *cfg = NULL, *process = NULL, *mounts = NULL, *lx = NULL, *root;
  int ret = 0;

  *out = (struct za_build_result) { 0 };
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
        {
          struct za_err *e = NULL;
          za_err_sys_as (&e, errno == ENOENT || errno == ENOTDIR ? ZA_EINPUT : errno, errno, "--rootfs `%s`", o->rootfs);
          za_gen_take (&g, &e, NULL);
        }
      else if (stat (out->rootfs_real, &rst) == 0 && !S_ISDIR (rst.st_mode))
        za_gen_error (&g, ZA_EINPUT, "--rootfs `%s` is not a directory", o->rootfs);
    }
  /* A relative bind source is taken relative to the bundle by runc.  */
  if (o->socket_path && o->socket_path[0] != '/')
    za_gen_error (&g, ZA_EINPUT, "--socket `%s` must be an absolute path", o->socket_path);
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
          za_errs_at (&g.errs, g.file, &svc->hostname.m, hpath, "hostname `%s` must be 1-64 bytes long", hn);
        else
          za_gen_error (&g, ZA_EINPUT, "%s `%s` must be 1-64 bytes long",
                        o->hostname ? "--hostname" : "hostname (the container id)", hn);
      }
  }
  if (o->cwd && o->cwd[0] != '/')
    za_gen_error (&g, ZA_EINPUT, "--cwd `%s` must be an absolute path", o->cwd);
  if (svc->resources.gpu && gpu_plan (&g) < 0)
    goto fail;
  if (za_gen_process (&g, &process) < 0)
    ret = -1;
  if (za_gen_mounts (&g, &mounts, &out->resolv_conf) < 0)
    ret = -1;
  if (za_gen_linux (&g, &lx) < 0)
    ret = -1;
  if (ret == 0 && !za_errs_any (&g.errs) && process)
    {
      const char *cwd = json_string_value (json_object_get (process, "cwd"));
      if (cwd && cwd[0] != '/')
        za_gen_error (&g, ZA_EINPUT, "working directory `%s` must be an absolute path", cwd);
    }
  if (ret < 0 || za_errs_any (&g.errs))
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
      goto fail;
    }
  out->config = cfg;
  za_gpu_plan_clear (&g.gpu);
  za_errs_finish (&g.warns, &out->warnings);
  return 0;
fail:
  za_gpu_plan_clear (&g.gpu);
  json_decref (process);
  json_decref (mounts);
  json_decref (lx);
  /* A part that failed on a jansson allocation only latched g.oom.  */
  if (!za_errs_any (&g.errs))
    za_gen_error (&g, ENOMEM, "out of memory building config.json");
  za_errs_finish (&g.errs, err);
  {
    struct za_err *w = NULL;
    za_errs_finish (&g.warns, &w);
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
