/* The public API (include/zagent.h) of CDI and GPUs: spec files, the
   registry, resolution, injection into a bundle, spec generation and the
   host's GPU list.  */
#define _GNU_SOURCE
#define ZAGENT_BUILDING 1
#include "zagent.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdi/cdi.h"
#include "gpu/gpu.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/host.h"

/* The host under ROOT, or the default ($ZAGENT_HOST_ROOT).  */
static struct za_host
host_at (const char *root)
{
  struct za_host h = za_host_default ();
  if (root)
    h.root = root;
  return h;
}

/* JSON text as the CLI prints it: two-space indent, no newline.  */
static int
dump_json (json_t *o, char **out, zagent_error **err)
{
  *out = o ? json_dumps (o, JSON_INDENT (2)) : NULL;
  if (!*out)
    return za_err_set (err, ENOMEM, "out of memory");
  return 0;
}

/* ---- names and spec files ------------------------------------------ */

int
zagent_cdi_name_check (const char *name, zagent_error **err)
{
  char buf[512];
  const char *p = za_cdi_qualified_problem (name ? name : "", buf, sizeof buf);
  if (p)
    return za_err_set (err, ZA_EINPUT, "%s", p);
  return 0;
}

struct zagent_cdi_spec
{
  struct za_cdi_file *f;
};

int
zagent_cdi_spec_load (zagent_cdi_spec **out, const char *path, zagent_error **err)
{
  struct za_cdi_file *f = NULL;
  struct za_err *e = NULL;
  *out = NULL;
  if (za_cdi_file_load (path, 0, &f, &e) < 0)
    {
      /* Name the file even in errors that came without one.  */
      for (struct za_err *x = e; x; x = x->next)
        if (!x->file)
          x->file = strdup (path);
      za_err_append (err, &e);
      return -1;
    }
  *out = calloc (1, sizeof **out);
  if (!*out)
    {
      za_cdi_file_free (f);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  (*out)->f = f;
  return 0;
}

const char *zagent_cdi_spec_version (const zagent_cdi_spec *s) { return s->f->spec.cdi_version.s; }
const char *zagent_cdi_spec_kind (const zagent_cdi_spec *s) { return s->f->spec.kind.s; }
size_t zagent_cdi_spec_device_count (const zagent_cdi_spec *s) { return s->f->spec.devices.n; }

const char *
zagent_cdi_spec_device_name (const zagent_cdi_spec *s, size_t i)
{
  const struct za_cdi_device *d = s->f->spec.devices.v;
  return i < s->f->spec.devices.n ? d[i].name.s : NULL;
}

void
zagent_cdi_spec_free (zagent_cdi_spec *s)
{
  if (!s)
    return;
  za_cdi_file_free (s->f);
  free (s);
}

/* ---- the registry -------------------------------------------------- */

struct zagent_cdi_registry
{
  struct za_cdi_registry *r;
};

int
zagent_cdi_registry_load (zagent_cdi_registry **out, const char *const *dirs, size_t ndirs,
                          zagent_error **warnings, zagent_error **err)
{
  struct za_cdi_registry *r = NULL;
  *out = NULL;
  if (za_cdi_registry_load (ndirs ? dirs : NULL, ndirs, &r, err) < 0)
    return -1;
  *out = calloc (1, sizeof **out);
  if (!*out)
    {
      za_cdi_registry_free (r);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  if (warnings)
    za_err_append (warnings, &r->errors);
  (*out)->r = r;
  return 0;
}

size_t zagent_cdi_registry_dir_count (const zagent_cdi_registry *r) { return r->r->ndirs; }
size_t zagent_cdi_registry_device_count (const zagent_cdi_registry *r) { return r->r->ndevs; }

const char *
zagent_cdi_registry_dir (const zagent_cdi_registry *r, size_t i)
{
  return i < r->r->ndirs ? r->r->dirs[i] : NULL;
}

const char *
zagent_cdi_registry_device_name (const zagent_cdi_registry *r, size_t i)
{
  return i < r->r->ndevs ? r->r->devs[i].qname : NULL;
}

const char *
zagent_cdi_registry_device_spec (const zagent_cdi_registry *r, size_t i)
{
  return i < r->r->ndevs ? r->r->devs[i].file->path : NULL;
}

int
zagent_cdi_registry_device_priority (const zagent_cdi_registry *r, size_t i)
{
  return i < r->r->ndevs ? r->r->devs[i].file->priority : -1;
}

int
zagent_cdi_resolve (const zagent_cdi_registry *r, const char *const *names, size_t n, char **json_out,
                    zagent_error **err)
{
  struct za_cdi_plan plan = { 0 };
  json_t *o;
  int ret;
  *json_out = NULL;
  for (size_t i = 0; i < n; i++)
    if (zagent_cdi_name_check (names[i], err) < 0)
      return -1;
  if (za_cdi_resolve (r->r, names, n, &plan, err) < 0)
    return -1;
  o = za_cdi_plan_to_json (&plan);
  ret = dump_json (o, json_out, err);
  json_decref (o);
  za_cdi_plan_clear (&plan);
  return ret;
}

void
zagent_cdi_registry_free (zagent_cdi_registry *r)
{
  if (!r)
    return;
  za_cdi_registry_free (r->r);
  free (r);
}

/* ---- injection ----------------------------------------------------- */

int
zagent_cdi_inject_bundle (const char *bundle_dir, const char *const *devices, size_t n,
                          const char *const *cdi_dirs, size_t ndirs, unsigned flags, zagent_error **warnings,
                          zagent_error **err)
{
  static const char *const prefixes[] = { "cdi.k8s.io/" };
  const struct za_cdi_request_opts ann = { .annotation_prefixes = prefixes, .nprefixes = 1 };
  if (!bundle_dir)
    return za_err_set (err, ZA_EINPUT, "no bundle directory");
  if (flags & ~ZAGENT_CDI_INJECT_ANNOTATIONS)
    return za_err_set (err, EINVAL, "unknown flags %#x", flags);
  return za_cdi_inject_bundle (bundle_dir, devices, n, ndirs ? cdi_dirs : NULL, ndirs,
                               (flags & ZAGENT_CDI_INJECT_ANNOTATIONS) ? &ann : NULL, warnings, err);
}

/* ---- generation ---------------------------------------------------- */

int
zagent_cdi_generate (const char *vendor, const char *host_root, char **json_out, zagent_error **warnings,
                     zagent_error **err)
{
  struct za_host h = host_at (host_root);
  enum za_gpu_vendor v = za_gpu_vendor_parse (vendor);
  struct za_err *warn = NULL;
  json_t *spec = NULL;
  int ret;
  *json_out = NULL;
  if (v == ZA_GPU_OTHER)
    return za_err_set (err, ZA_EINPUT, "unknown vendor `%s` (nvidia, amd or intel)", vendor ? vendor : "");
  ret = za_gpu_cdi_generate (&h, v, &spec, &warn, err);
  if (warnings)
    za_err_append (warnings, &warn);
  za_err_free (&warn);
  if (ret < 0)
    return -1;
  ret = dump_json (spec, json_out, err);
  json_decref (spec);
  return ret;
}

int
zagent_cdi_spec_write (const char *path, const char *text, zagent_error **err)
{
  cleanup_free char *copy = path ? strdup (path) : NULL, *copy2 = path ? strdup (path) : NULL;
  cleanup_free char *data = NULL;
  cleanup_close int dfd = -1;
  size_t len = strlen (text);
  if (!path)
    return za_err_set (err, ZA_EINPUT, "no spec file name");
  if (!copy || !copy2 || !(data = malloc (len + 1)))
    return za_err_set (err, ENOMEM, "out of memory");
  dfd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return za_err_set (err, errno == ENOENT ? ZA_EINPUT : errno, "open directory of `%s`: %s", path,
                       strerror (errno));
  memcpy (data, text, len);
  data[len] = '\n';
  return za_write_file_atomic_at (dfd, basename (copy2), data, len + 1, 0644, err);
}

/* ---- GPUs ---------------------------------------------------------- */

struct zagent_gpu
{
  const struct za_gpu_info *g;
};

struct zagent_gpu_list
{
  struct za_gpu_list l;
  struct zagent_gpu *v;
};

int
zagent_gpu_list_load (zagent_gpu_list **out, const char *host_root, zagent_error **err)
{
  struct za_host h = host_at (host_root);
  zagent_gpu_list *l = calloc (1, sizeof *l);
  *out = NULL;
  if (!l)
    return za_err_set (err, ENOMEM, "out of memory");
  if (za_gpu_detect (&h, &l->l, err) < 0)
    {
      free (l);
      return -1;
    }
  l->v = calloc (l->l.n ? l->l.n : 1, sizeof *l->v);
  if (!l->v)
    {
      zagent_gpu_list_free (l);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  for (size_t i = 0; i < l->l.n; i++)
    l->v[i].g = &l->l.v[i];
  *out = l;
  return 0;
}

size_t zagent_gpu_list_count (const zagent_gpu_list *l) { return l->l.n; }

const zagent_gpu *
zagent_gpu_list_get (const zagent_gpu_list *l, size_t i)
{
  return i < l->l.n ? &l->v[i] : NULL;
}

void
zagent_gpu_list_free (zagent_gpu_list *l)
{
  if (!l)
    return;
  za_gpu_list_clear (&l->l);
  free (l->v);
  free (l);
}

const char *zagent_gpu_vendor (const zagent_gpu *g) { return za_gpu_vendor_name (g->g->vendor); }
unsigned zagent_gpu_index (const zagent_gpu *g) { return g->g->index; }
const char *zagent_gpu_pci (const zagent_gpu *g) { return g->g->pci; }
const char *zagent_gpu_model (const zagent_gpu *g) { return g->g->model; }
const char *zagent_gpu_uuid (const zagent_gpu *g) { return g->g->uuid; }
const char *zagent_gpu_driver (const zagent_gpu *g) { return g->g->driver; }
const char *zagent_gpu_driver_version (const zagent_gpu *g) { return g->g->driver_version; }
size_t zagent_gpu_node_count (const zagent_gpu *g) { return g->g->nodes.n; }

const char *
zagent_gpu_node (const zagent_gpu *g, size_t i)
{
  return i < g->g->nodes.n ? g->g->nodes.v[i] : NULL;
}
