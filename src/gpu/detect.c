/* GPU detection from sysfs and procfs under the host root.  */
#define _GNU_SOURCE
#include "gpu/gpu.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* Indexed by enum za_gpu_vendor.  */
static const struct
{
  const char *name, *cdi_kind;
} vendors[] = {
  [ZA_GPU_NVIDIA] = { "nvidia", "nvidia.com/gpu" },
  [ZA_GPU_AMD] = { "amd", "amd.com/gpu" },
  [ZA_GPU_INTEL] = { "intel", "intel.com/gpu" },
  [ZA_GPU_OTHER] = { "unknown", NULL },
};

enum za_gpu_vendor
za_gpu_vendor_parse (const char *name)
{
  for (int v = 0; name && v < ZA_GPU_OTHER; v++)
    if (!strcmp (name, vendors[v].name))
      return (enum za_gpu_vendor) v;
  return ZA_GPU_OTHER;
}

const char *
za_gpu_vendor_name (enum za_gpu_vendor v)
{
  return vendors[v].name;
}

const char *
za_gpu_vendor_cdi_kind (enum za_gpu_vendor v)
{
  return vendors[v].cdi_kind;
}

void
za_gpu_list_clear (struct za_gpu_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      free (l->v[i].pci);
      free (l->v[i].model);
      free (l->v[i].uuid);
      free (l->v[i].driver);
      free (l->v[i].driver_version);
      za_strv_clear (&l->v[i].nodes);
    }
  free (l->v);
  l->v = NULL;
  l->n = 0;
}

size_t
za_gpu_count (const struct za_gpu_list *l, enum za_gpu_vendor v)
{
  size_t n = 0;
  for (size_t i = 0; i < l->n; i++)
    n += l->v[i].vendor == v;
  return n;
}

const struct za_gpu_info *
za_gpu_nth (const struct za_gpu_list *l, enum za_gpu_vendor v, unsigned idx)
{
  for (size_t i = 0; i < l->n; i++)
    if (l->v[i].vendor == v && l->v[i].index == idx)
      return &l->v[i];
  return NULL;
}

/* First line of a small file, trimmed; NULL when unreadable.  */
static char *
read_line (const struct za_host *h, const char *fmt, ...)
{
  char rel[1024];
  cleanup_free char *p = NULL, *data = NULL;
  struct za_err *e = NULL;
  va_list ap;
  char *nl;
  va_start (ap, fmt);
  vsnprintf (rel, sizeof rel, fmt, ap);
  va_end (ap);
  p = za_host_path (h, rel);
  if (!p || za_read_file (p, 1 << 16, &data, NULL, &e) < 0)
    {
      za_err_free (&e);
      return NULL;
    }
  nl = strchr (data, '\n');
  if (nl)
    *nl = '\0';
  for (size_t n = strlen (data); n && isspace ((unsigned char) data[n - 1]);)
    data[--n] = '\0';
  return steal_pointer (&data);
}

/* Value of "Key:   value" in a /proc/driver/nvidia style file.  */
static char *
keyed_value (const char *text, const char *key)
{
  size_t kl = strlen (key);
  for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    if (!strncmp (l, key, kl) && l[kl] == ':')
      {
        const char *v = l + kl + 1, *e = strchrnul (v, '\n');
        while (v < e && isspace ((unsigned char) *v))
          v++;
        while (e > v && isspace ((unsigned char) e[-1]))
          e--;
        return strndup (v, (size_t) (e - v));
      }
  return NULL;
}

int64_t
za_proc_devices_major (const struct za_host *h, const char *driver)
{
  cleanup_free char *p = za_host_path (h, "/proc/devices"), *data = NULL;
  struct za_err *e = NULL;
  bool chr = false;
  char *save = NULL;
  if (!p || za_read_file (p, 1 << 20, &data, NULL, &e) < 0)
    {
      za_err_free (&e);
      return -1;
    }
  for (char *l = strtok_r (data, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      long major;
      char name[128];
      if (!strncmp (l, "Character devices:", 18))
        chr = true;
      else if (!strncmp (l, "Block devices:", 14))
        chr = false;
      else if (chr && sscanf (l, " %ld %127s", &major, name) == 2 && !strcmp (name, driver))
        return major;
    }
  return -1;
}

static bool
exists (const struct za_host *h, const char *path)
{
  struct stat st;
  return za_host_stat (h, path, &st) == 0;
}

static int
cmp_info (const void *a, const void *b)
{
  const struct za_gpu_info *x = a, *y = b;
  if (x->vendor != y->vendor)
    return x->vendor < y->vendor ? -1 : 1;
  return strcmp (x->pci ? x->pci : "", y->pci ? y->pci : "");
}

static int
push (struct za_gpu_list *l, struct za_gpu_info *g)
{
  struct za_gpu_info *nv = realloc (l->v, (l->n + 1) * sizeof *nv);
  if (!nv)
    return -1;
  l->v = nv;
  l->v[l->n++] = *g;
  return 0;
}

/* DRM nodes (card*, renderD*) whose sysfs `device` points at PCI.  */
static int
drm_nodes (const struct za_host *h, const char *pci, struct za_strv *nodes)
{
  cleanup_free char *dir = za_host_path (h, "/sys/class/drm");
  cleanup_dir DIR *d = dir ? opendir (dir) : NULL;
  struct dirent *de;
  struct za_strv names = { 0 };
  int ret = 0;
  if (!d)
    return 0;
  while ((de = readdir (d)))
    {
      char link[512], target[1024];
      ssize_t n;
      const char *base;
      bool card = !strncmp (de->d_name, "card", 4) && !strchr (de->d_name, '-');
      bool render = !strncmp (de->d_name, "renderD", 7);
      if (!card && !render)
        continue;
      snprintf (link, sizeof link, "%s/%s/device", dir, de->d_name);
      n = readlink (link, target, sizeof target - 1);
      if (n < 0)
        continue;
      target[n] = '\0';
      base = strrchr (target, '/') ? strrchr (target, '/') + 1 : target;
      if (!strcmp (base, pci) && za_strv_push (&names, de->d_name) < 0)
        ret = -1;
    }
  /* card before renderD, each in numeric order  */
  for (int pass = 0; pass < 2 && ret == 0; pass++)
    for (int num = 0; num < 4096; num++)
      {
        char want[32];
        snprintf (want, sizeof want, pass == 0 ? "card%d" : "renderD%d", num);
        if (za_strv_contains (&names, want) && za_strv_pushf (nodes, "/dev/dri/%s", want) < 0)
          ret = -1;
      }
  za_strv_clear (&names);
  return ret;
}

static void
nvidia_details (const struct za_host *h, struct za_gpu_info *g, const char *version)
{
  cleanup_free char *p = NULL, *info = NULL;
  struct za_err *e = NULL;
  char rel[512];
  snprintf (rel, sizeof rel, "/proc/driver/nvidia/gpus/%s/information", g->pci);
  p = za_host_path (h, rel);
  if (p && za_read_file (p, 1 << 16, &info, NULL, &e) == 0)
    {
      cleanup_free char *minor = keyed_value (info, "Device Minor");
      g->model = keyed_value (info, "Model");
      g->uuid = keyed_value (info, "GPU UUID");
      if (minor && *minor)
        za_strv_pushf (&g->nodes, "/dev/nvidia%s", minor);
    }
  za_err_free (&e);
  if (version)
    g->driver_version = strdup (version);
}

/* The first dotted number after "Kernel Module" in
   "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue …" or
   "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  …"
   (the open module's wording, seen on a real H100 host).  */
static char *
nvidia_version (const struct za_host *h)
{
  cleanup_free char *line = read_line (h, "/proc/driver/nvidia/version");
  const char *k;
  if (!line || !(k = strstr (line, "Kernel Module")))
    return NULL;
  for (k += strlen ("Kernel Module"); *k; k += strcspn (k, " \t"))
    {
      size_t n;
      k += strspn (k, " \t");
      n = strcspn (k, " \t");
      if (n && isdigit ((unsigned char) *k) && memchr (k, '.', n) && strspn (k, "0123456789.") == n)
        return strndup (k, n);
    }
  return NULL;
}

int
za_gpu_detect (const struct za_host *h, struct za_gpu_list *out, struct za_err **err)
{
  cleanup_free char *dir = za_host_path (h, "/sys/bus/pci/devices");
  cleanup_free char *nvver = nvidia_version (h);
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  unsigned counts[4] = { 0 };

  *out = (struct za_gpu_list) { 0 };
  if (!dir)
    return za_err_set (err, ENOMEM, "out of memory");
  d = opendir (dir);
  while (d && (de = readdir (d)))
    {
      cleanup_free char *cls = NULL, *ven = NULL;
      struct za_gpu_info g = { 0 };
      unsigned long c;
      if (de->d_name[0] == '.')
        continue;
      cls = read_line (h, "/sys/bus/pci/devices/%s/class", de->d_name);
      ven = read_line (h, "/sys/bus/pci/devices/%s/vendor", de->d_name);
      if (!cls || !ven)
        continue;
      c = strtoul (cls, NULL, 16);
      /* Any display controller: 0x0300xx VGA, 0x0302xx 3D controller
         (headless NVIDIA), 0x0380xx other (AMD Instinct MI50-MI250,
         Intel Data Center GPU Max, some Intel iGPUs); and AMD's
         processing accelerators 0x1200xx (Instinct MI300 and later).  */
      if ((c >> 16) != 0x03 && !((c >> 8) == 0x1200 && !strcasecmp (ven, "0x1002")))
        continue;
      g.vendor = !strcasecmp (ven, "0x10de")   ? ZA_GPU_NVIDIA
                 : !strcasecmp (ven, "0x1002") ? ZA_GPU_AMD
                 : !strcasecmp (ven, "0x8086") ? ZA_GPU_INTEL
                                               : ZA_GPU_OTHER;
      g.pci = strdup (de->d_name);
      {
        char link[1024], target[1024];
        cleanup_free char *lp = NULL;
        ssize_t n;
        snprintf (link, sizeof link, "/sys/bus/pci/devices/%s/driver", de->d_name);
        lp = za_host_path (h, link);
        n = lp ? readlink (lp, target, sizeof target - 1) : -1;
        if (n > 0)
          {
            target[n] = '\0';
            g.driver = strdup (strrchr (target, '/') ? strrchr (target, '/') + 1 : target);
          }
      }
      if (!g.pci || push (out, &g) < 0)
        {
          free (g.pci);
          free (g.driver);
          za_gpu_list_clear (out);
          return za_err_set (err, ENOMEM, "out of memory");
        }
    }
  if (out->n > 1) /* out->v is NULL when no GPU was found */
    qsort (out->v, out->n, sizeof *out->v, cmp_info);
  for (size_t i = 0; i < out->n; i++)
    {
      struct za_gpu_info *g = &out->v[i];
      g->index = counts[g->vendor]++;
      if (g->vendor == ZA_GPU_NVIDIA)
        {
          nvidia_details (h, g, nvver);
          if (g->nodes.n == 0)
            za_strv_pushf (&g->nodes, "/dev/nvidia%u", g->index);
        }
      else
        {
          char *v;
          drm_nodes (h, g->pci, &g->nodes);
          g->model = read_line (h, "/sys/bus/pci/devices/%s/product_name", g->pci);
          if (!g->model && (v = read_line (h, "/sys/bus/pci/devices/%s/device", g->pci)))
            {
              if (asprintf (&g->model, "PCI device %s", v) < 0)
                g->model = NULL;
              free (v);
            }
          if (g->driver)
            g->driver_version = read_line (h, "/sys/module/%s/version", g->driver);
        }
    }
  /* No PCI view (e.g. inside a container): NVIDIA nodes still tell.  */
  if (counts[ZA_GPU_NVIDIA] == 0)
    for (unsigned i = 0; i < 64; i++)
      {
        char path[64];
        struct za_gpu_info g = { .vendor = ZA_GPU_NVIDIA, .index = counts[ZA_GPU_NVIDIA] };
        snprintf (path, sizeof path, "/dev/nvidia%u", i);
        if (!exists (h, path))
          continue;
        if (za_strv_push (&g.nodes, path) < 0 || (nvver && !(g.driver_version = strdup (nvver))) || push (out, &g) < 0)
          {
            za_strv_clear (&g.nodes);
            free (g.driver_version);
            za_gpu_list_clear (out);
            return za_err_set (err, ENOMEM, "out of memory");
          }
        counts[ZA_GPU_NVIDIA]++;
      }
  return 0;
}
