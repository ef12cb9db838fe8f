/* The CDI devices an OCI config asks for, in the languages container
   engines and images already speak: `cdi.k8s.io/...` (and other
   configured) annotations, the NVIDIA_VISIBLE_DEVICES variable of the
   container's environment, and the volume-mount device list under
   /var/run/nvidia-container-devices.  Behaviour and precedence follow
   nvidia-container-runtime's CDI mode (NVIDIA/nvidia-container-toolkit,
   internal/modifier/cdi.go and internal/config/image/): annotations win,
   then mounts (when accepted), then the variable — which an unprivileged
   container may use only where the configuration says so, because images
   that set NVIDIA_VISIBLE_DEVICES=all otherwise reach every GPU of the
   node.  */
#define _GNU_SOURCE
#include "cdi/cdi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strv.h"

#define VISIBLE_DEVICES "NVIDIA_VISIBLE_DEVICES"
#define MOUNT_ROOT "/var/run/nvidia-container-devices"
/* A request longer than this is no device name anyone wrote.  */
#define REQUEST_MAX 4096

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
push_unique (struct za_strv *out, const char *name, struct za_err **err)
{
  if (!za_strv_contains (out, name) && za_strv_push (out, name) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  return 0;
}

/* NAME as a CDI name: as is when qualified, else KIND=NAME (the
   toolkit's default-kind rule), checked.  WHAT names the source in
   errors.  */
static int
push_request (struct za_strv *out, const char *kind, const char *name, const char *what, struct za_err **err)
{
  char buf[512], q[REQUEST_MAX + 256];
  const char *why;
  if (!za_cdi_qualified_problem (name, buf, sizeof buf))
    return push_unique (out, name, err);
  if (strlen (name) > REQUEST_MAX || (size_t) snprintf (q, sizeof q, "%s=%s", kind, name) >= sizeof q)
    return za_err_set (err, ZA_EINPUT, "%s: device request too long", what);
  why = za_cdi_qualified_problem (q, buf, sizeof buf);
  if (why)
    {
      char shown[96];
      za_escape_into (shown, sizeof shown, name, strlen (name));
      return za_err_set (err, ZA_EINPUT, "%s: invalid device \"%s\": %s", what, shown, why);
    }
  return push_unique (out, q, err);
}

int
za_cdi_visible_devices (const char *value, const char *kind, struct za_strv *out, struct za_err **err)
{
  cleanup_strv struct za_strv ids = { 0 };
  cleanup_free char *copy = strdup (value ? value : "");
  bool is_void = false, none = false, all = false;
  char *save = NULL;
  if (!copy)
    return za_err_set (err, ENOMEM, "out of memory");
  for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
    {
      char *e = t + strlen (t);
      while (*t == ' ' || *t == '\t')
        t++;
      while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
      if (!*t)
        continue;
      is_void |= !strcmp (t, "void");
      none |= !strcmp (t, "none");
      all |= !strcmp (t, "all");
      if (za_strv_push (&ids, t) < 0)
        return za_err_set (err, ENOMEM, "out of memory");
    }
  /* Empty or "void": nothing; "none" beats "all"; "all" beats the rest.  */
  if (ids.n == 0 || is_void || none)
    return 0;
  if (all)
    return push_request (out, kind, "all", VISIBLE_DEVICES, err);
  for (size_t i = 0; i < ids.n; i++)
    if (push_request (out, kind, ids.v[i], VISIBLE_DEVICES, err) < 0)
      return -1;
  return 0;
}

bool
za_cdi_config_privileged (json_t *cfg)
{
  json_t *caps = json_object_get (json_object_get (cfg, "process"), "capabilities"), *c;
  size_t i;
  /* Since runtime-spec 1.0.0-rc5 the sets are an object; before, a list.
     The bounding set is the one that says `--privileged` (the toolkit's
     rule): CAP_SYS_ADMIN there.  */
  json_t *set = json_is_array (caps) ? caps : json_object_get (caps, "bounding");
  json_array_foreach (set, i, c)
    if (json_is_string (c) && !strcmp (json_string_value (c), "CAP_SYS_ADMIN"))
      return true;
  return false;
}

/* The value of the last KEY=... of the config's process.env (later
   entries win, as in the environment the process gets); NULL if none.  */
static const char *
config_env (json_t *cfg, const char *key)
{
  json_t *env = json_object_get (json_object_get (cfg, "process"), "env"), *v;
  size_t i, klen = strlen (key);
  const char *found = NULL;
  json_array_foreach (env, i, v)
    {
      const char *s = json_string_value (v);
      if (s && !strncmp (s, key, klen) && s[klen] == '=')
        found = s + klen + 1;
    }
  return found;
}

/* PATH without empty and "." components, in BUF; false when it has a
   ".." component, is relative or does not fit (not a request).  */
static bool
clean_path (const char *path, char *buf, size_t len)
{
  size_t o = 0;
  if (!path || path[0] != '/')
    return false;
  for (const char *p = path; *p;)
    {
      size_t n;
      while (*p == '/')
        p++;
      n = strcspn (p, "/");
      if (n == 0 || (n == 1 && p[0] == '.'))
        {
          p += n;
          continue;
        }
      if (n == 2 && p[0] == '.' && p[1] == '.')
        return false;
      if (o + n + 2 > len)
        return false;
      buf[o++] = '/';
      memcpy (buf + o, p, n);
      o += n;
      p += n;
    }
  if (o == 0)
    buf[o++] = '/';
  buf[o] = '\0';
  return true;
}

int
za_cdi_mount_request (const char *source, const char *destination, const char *kind, struct za_strv *out,
                      struct za_err **err)
{
  char src[64], dst[REQUEST_MAX];
  const char *dev;
  size_t rlen = strlen (MOUNT_ROOT);
  if (!clean_path (source, src, sizeof src) || strcmp (src, "/dev/null")
      || !clean_path (destination, dst, sizeof dst) || strncmp (dst, MOUNT_ROOT "/", rlen + 1))
    return 0;
  dev = dst + rlen + 1;
  if (!strncmp (dev, "imex/", 5))
    return 0; /* IMEX channels are not GPUs */
  if (!strncmp (dev, "cdi/", 4))
    {
      /* cdi/VENDOR/CLASS=NAME or cdi/VENDOR/CLASS/NAME */
      char q[REQUEST_MAX];
      char *slash;
      snprintf (q, sizeof q, "%s", dev + 4);
      slash = strchr (q, '/');
      if (slash && !strchr (q, '=') && (slash = strchr (slash + 1, '/')))
        *slash = '=';
      return push_request (out, kind, q, "volume-mount device request", err);
    }
  return push_request (out, kind, dev, "volume-mount device request", err);
}

/* The requests of the annotations whose keys start with one of O's
   prefixes, keys in sorted order (Go's map order is random; ours is
   stable), each name once; every name must be qualified.  */
static int
annotation_requests (json_t *cfg, const struct za_cdi_request_opts *o, struct za_strv *out, struct za_err **err)
{
  json_t *ann = json_object_get (cfg, "annotations"), *v;
  const char *k;
  cleanup_strv struct za_strv keys = { 0 };
  if (!json_is_object (ann))
    return 0;
  json_object_foreach (ann, k, v)
    for (size_t p = 0; p < o->nprefixes; p++)
      if (!strncmp (k, o->annotation_prefixes[p], strlen (o->annotation_prefixes[p])))
        {
          if (za_strv_push (&keys, k) < 0)
            return za_err_set (err, ENOMEM, "out of memory");
          break;
        }
  if (keys.n)
    qsort (keys.v, keys.n, sizeof *keys.v, cmp_str);
  for (size_t i = 0; i < keys.n; i++)
    {
      const char *val = json_string_value (json_object_get (ann, keys.v[i]));
      cleanup_free char *copy = val ? strdup (val) : NULL;
      char *save = NULL;
      if (!copy)
        return val ? za_err_set (err, ENOMEM, "out of memory")
                   : za_err_set (err, ZA_EINPUT, "annotation %s: not a string", keys.v[i]);
      for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
        {
          char buf[512];
          const char *why = za_cdi_qualified_problem (t, buf, sizeof buf);
          if (why)
            return za_err_set (err, ZA_EINPUT, "annotation %s: invalid CDI device name \"%s\": %s", keys.v[i], t,
                               why);
          if (push_unique (out, t, err) < 0)
            return -1;
        }
    }
  return 0;
}

static int
mount_requests (json_t *cfg, const char *kind, struct za_strv *out, struct za_err **err)
{
  json_t *m;
  size_t i;
  json_array_foreach (json_object_get (cfg, "mounts"), i, m)
    if (za_cdi_mount_request (json_string_value (json_object_get (m, "source")),
                              json_string_value (json_object_get (m, "destination")), kind, out, err)
        < 0)
      return -1;
  return 0;
}

int
za_cdi_requests (json_t *cfg, const struct za_cdi_request_opts *o, struct za_strv *out, struct za_err **notes,
                 struct za_err **err)
{
  cleanup_strv struct za_strv env = { 0 };
  const char *kind = o->default_kind && *o->default_kind ? o->default_kind : ZA_CDI_DEFAULT_KIND;
  const char *value;
  size_t first = out->n;

  if (annotation_requests (cfg, o, out, err) < 0)
    return -1;
  if (out->n > first || !o->device_requests)
    return 0;
  if (o->volume_mounts)
    {
      if (mount_requests (cfg, kind, out, err) < 0)
        return -1;
      if (out->n > first)
        return 0;
    }
  value = config_env (cfg, VISIBLE_DEVICES);
  if (!value)
    return 0;
  if (za_cdi_visible_devices (value, kind, &env, err) < 0)
    return -1;
  if (env.n == 0)
    return 0;
  if (!o->env_unprivileged && !za_cdi_config_privileged (cfg))
    {
      za_err_set (notes, ZA_EINPUT,
                  VISIBLE_DEVICES " ignored: the container is unprivileged and "
                                  "accept-nvidia-visible-devices-envvar-when-unprivileged is false");
      return 0;
    }
  for (size_t i = 0; i < env.n; i++)
    if (push_unique (out, env.v[i], err) < 0)
      return -1;
  return 0;
}
