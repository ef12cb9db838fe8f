/* `zagent cdi check`: is a CDI spec still true of the live host?  Device
   nodes gone or renumbered (a reloaded nvidia-uvm gets a new dynamic
   major), mounted host files gone (a driver upgrade renames every
   libEGL_nvidia.so.535…), hook binaries gone.  */
#define _GNU_SOURCE
#include "gpu/gpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cdi/cdi.h"
#include "util/cleanup.h"

struct check
{
  const struct za_host *h;
  const char *file;
  json_t *report;
  size_t n;
};

static int
diff (struct check *c, const char *where, const char *what, const char *path, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));

/* One difference, once per file for WHAT and PATH.  */
static int
diff (struct check *c, const char *where, const char *what, const char *path, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;
  int r;
  for (size_t i = 0; i < json_array_size (c->report); i++)
    {
      json_t *o = json_array_get (c->report, i);
      if (!strcmp (json_string_value (json_object_get (o, "file")), c->file)
          && !strcmp (json_string_value (json_object_get (o, "what")), what)
          && !strcmp (json_string_value (json_object_get (o, "path")), path))
        return 0;
    }
  va_start (ap, fmt);
  r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0 || json_array_append_new (c->report, json_pack ("{s:s, s:s, s:s, s:s, s:s}", "file", c->file, "device", where,
                                                            "what", what, "path", path, "message", msg)) < 0)
    return -1;
  c->n++;
  return 0;
}

static char
node_type (mode_t m)
{
  return S_ISCHR (m) ? 'c' : S_ISBLK (m) ? 'b' : S_ISFIFO (m) ? 'p' : '?';
}

static int
check_node (struct check *c, const char *where, const struct za_cdi_device_node *d)
{
  const char *p = d->host_path.s ? d->host_path.s : d->path.s;
  struct stat st;
  char t;
  if (za_host_stat (c->h, p, &st) < 0)
    return diff (c, where, "node-gone", p, "device node %s is gone (%s)", p, strerror (errno));
  t = node_type (st.st_mode);
  if (t == '?')
    return diff (c, where, "node-type", p, "%s is no longer a device node", p);
  if (d->type.s && (d->type.s[0] == 'u' ? 'c' : d->type.s[0]) != t)
    return diff (c, where, "node-type", p, "device node %s: type %s in the spec, %c on the host", p, d->type.s, t);
  if ((d->major.set && d->major.v != (int64_t) major (st.st_rdev))
      || (d->minor.set && d->minor.v != (int64_t) minor (st.st_rdev)))
    return diff (c, where, "node-number", p, "device node %s: %lld:%lld in the spec, %u:%u on the host", p,
                 d->major.set ? (long long) d->major.v : -1LL, d->minor.set ? (long long) d->minor.v : -1LL,
                 major (st.st_rdev), minor (st.st_rdev));
  return 0;
}

static int
check_edits (struct check *c, const char *where, const struct za_cdi_edits *e)
{
  const struct za_cdi_device_node *nodes = e->device_nodes.v;
  const struct za_cdi_mount *mounts = e->mounts.v;
  const struct za_cdi_hook *hooks = e->hooks.v;
  struct stat st;
  for (size_t i = 0; i < e->device_nodes.n; i++)
    if (check_node (c, where, &nodes[i]) < 0)
      return -1;
  for (size_t i = 0; i < e->mounts.n; i++)
    {
      const char *p = mounts[i].host_path.s;
      /* Only host files: tmpfs, proc and the like name no host path.  */
      if (p && p[0] == '/' && za_host_stat (c->h, p, &st) < 0
          && diff (c, where, "mount-gone", p, "mounted host file %s is gone (%s)", p, strerror (errno)) < 0)
        return -1;
    }
  for (size_t i = 0; i < e->hooks.n; i++)
    {
      const char *p = hooks[i].path.s;
      if (!p)
        continue;
      if (za_host_stat (c->h, p, &st) < 0 || !S_ISREG (st.st_mode) || !(st.st_mode & 0111))
        if (diff (c, where, "hook-gone", p, "hook binary %s is missing or not executable", p) < 0)
          return -1;
    }
  return 0;
}

int
za_gpu_cdi_check_file (const struct za_host *h, const char *path, json_t *report, struct za_err **err)
{
  struct check c = { .h = h, .file = path, .report = report };
  struct za_cdi_file *f = NULL;
  const struct za_cdi_device *devs;
  struct za_err *e = NULL;
  int ret = 0;
  if (za_cdi_file_load (path, 0, &f, &e) < 0)
    {
      cleanup_free char *line = NULL;
      if (!za_err_is_input (e) && e->code != ENOENT)
        {
          za_err_append (err, &e);
          return -1;
        }
      line = za_err_format (e);
      za_err_free (&e);
      return diff (&c, "", "invalid", path, "not a valid CDI spec: %s", line ? line : "?") < 0 ? -1 : 1;
    }
  devs = f->spec.devices.v;
  if (check_edits (&c, "", &f->spec.edits) < 0)
    ret = -1;
  for (size_t i = 0; ret == 0 && i < f->spec.devices.n; i++)
    {
      char where[512];
      snprintf (where, sizeof where, "%s=%s", f->spec.kind.s, devs[i].name.s);
      if (check_edits (&c, where, &devs[i].edits) < 0)
        ret = -1;
    }
  za_cdi_file_free (f);
  if (ret < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  return (int) c.n;
}
