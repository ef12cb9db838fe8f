/* `zagent cdi generate`: a CDI spec for the host's GPUs, built from what
   detection sees, without nvidia-ctk or other vendor tools.  */
#define _GNU_SOURCE
#include "gpu/gpu.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "cdi/cdi.h"
#include "util/cleanup.h"

/* User-space driver pieces nvidia-ctk also mounts (compute/utility).  */
static const char *const nvidia_libs[] = {
  "libcuda.so.*", "libcudadebugger.so.*", "libnvidia-ml.so.*", "libnvidia-ptxjitcompiler.so.*",
  "libnvidia-nvvm.so.*", "libnvidia-opencl.so.*", "libnvidia-cfg.so.*", "libnvidia-gpucomp.so.*",
  "libnvidia-allocator.so.*", "libnvidia-pkcs11*.so.*", "libnvidia-encode.so.*", "libnvcuvid.so.*",
  "libnvidia-opticalflow.so.*", NULL,
};
static const char *const lib_dirs[] = {
  "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
  "/lib/x86_64-linux-gnu", "/lib64", "/usr/local/nvidia/lib64", NULL,
};
static const char *const nvidia_bins[] = {
  "nvidia-smi", "nvidia-debugdump", "nvidia-persistenced", "nvidia-cuda-mps-control",
  "nvidia-cuda-mps-server", NULL,
};
static const char *const bin_dirs[] = { "/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/usr/local/nvidia/bin", NULL };

static int
add_mount (json_t *mounts, const char *host, const char *container)
{
  for (size_t i = 0; i < json_array_size (mounts); i++)
    if (!strcmp (json_string_value (json_object_get (json_array_get (mounts, i), "containerPath")), container))
      return 0;
  return json_array_append_new (mounts, json_pack ("{s:s, s:s, s:[s,s,s,s]}", "hostPath", host,
                                                   "containerPath", container, "options", "ro", "nosuid",
                                                   "nodev", "bind"));
}

/* The directory the loader of a Debian/Ubuntu image searches without an
   ld.so.cache entry.  Without vendor hooks nothing updates the container's
   cache, so libraries found elsewhere on the host (e.g. the
   /usr/local/nvidia/lib64 of a real H100 host) are mounted there too.  */
static const char *
multiarch_dir (void)
{
  struct utsname u;
  if (uname (&u) == 0 && !strcmp (u.machine, "aarch64"))
    return "/usr/lib/aarch64-linux-gnu";
  return "/usr/lib/x86_64-linux-gnu";
}

/* Library files matching the patterns in the usual directories, mounted
   at their host path and, from other directories, in the multiarch
   directory as well.  Real directories only: /lib -> /usr/lib style
   links would list twice.  */
static int
find_libs (const struct za_host *h, json_t *mounts)
{
  const char *ma = multiarch_dir ();
  int ret = 0;
  for (int d = 0; lib_dirs[d]; d++)
    {
      cleanup_free char *dir = za_host_path (h, lib_dirs[d]);
      struct stat st;
      struct dirent **ents = NULL;
      int n;
      if (!dir || lstat (dir, &st) < 0 || !S_ISDIR (st.st_mode))
        continue;
      n = scandir (dir, &ents, NULL, alphasort);
      for (int i = 0; i < n; i++)
        {
          for (int p = 0; ret == 0 && nvidia_libs[p]; p++)
            if (!fnmatch (nvidia_libs[p], ents[i]->d_name, 0))
              {
                char path[4096], alt[4096];
                snprintf (path, sizeof path, "%s/%s", lib_dirs[d], ents[i]->d_name);
                snprintf (alt, sizeof alt, "%s/%s", ma, ents[i]->d_name);
                if (add_mount (mounts, path, path) < 0
                    || (strcmp (lib_dirs[d], ma) && add_mount (mounts, path, alt) < 0))
                  ret = -1;
                break;
              }
          free (ents[i]);
        }
      free (ents);
    }
  return ret;
}

static int
find_bins (const struct za_host *h, json_t *mounts)
{
  for (int b = 0; nvidia_bins[b]; b++)
    for (int d = 0; bin_dirs[d]; d++)
      {
        char path[512];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", bin_dirs[d], nvidia_bins[b]);
        if (za_host_stat (h, path, &st) == 0 && S_ISREG (st.st_mode))
          {
            char in_container[512];
            /* Binaries land on the container's PATH (/usr/bin).  */
            snprintf (in_container, sizeof in_container, "/usr/bin/%s", nvidia_bins[b]);
            if (add_mount (mounts, path, in_container) < 0)
              return -1;
            break;
          }
      }
  return 0;
}

/* GSP firmware of the running driver (/lib/firmware/nvidia/<version>).  */
static int
find_firmware (const struct za_host *h, const char *version, json_t *mounts)
{
  char rel[512];
  cleanup_free char *dir = NULL;
  struct dirent **ents = NULL;
  bool fail = false;
  int n;
  if (!version)
    return 0;
  snprintf (rel, sizeof rel, "/lib/firmware/nvidia/%s", version);
  dir = za_host_path (h, rel);
  n = dir ? scandir (dir, &ents, NULL, alphasort) : -1;
  for (int i = 0; i < n; i++)
    {
      char path[1024];
      if (ents[i]->d_name[0] != '.')
        {
          snprintf (path, sizeof path, "%s/%s", rel, ents[i]->d_name);
          if (add_mount (mounts, path, path) < 0)
            fail = true;
        }
      free (ents[i]);
    }
  free (ents);
  return fail ? -1 : 0;
}

static json_t *
node_list (const struct za_strv *nodes)
{
  json_t *a = json_array ();
  for (size_t i = 0; a && i < nodes->n; i++)
    json_array_append_new (a, json_pack ("{s:s}", "path", nodes->v[i]));
  return a;
}

static int
add_device (json_t *devices, const char *name, const struct za_strv *nodes)
{
  return json_array_append_new (devices, json_pack ("{s:s, s:{s:o}}", "name", name, "containerEdits",
                                                    "deviceNodes", node_list (nodes)));
}

/* The lowest cdiVersion for what we emit: parse it back as a spec.  */
static int
set_version (json_t *spec, struct za_err **err)
{
  cleanup_free char *text = NULL;
  struct za_cdi_file *f = NULL;
  const char *need;
  json_object_set_new (spec, "cdiVersion", json_string ("1.1.0"));
  text = json_dumps (spec, 0);
  if (!text)
    return za_err_set (err, ENOMEM, "out of memory");
  if (za_cdi_file_parse ("<generated>", text, strlen (text), 0, &f, err) < 0)
    return za_err_wrap (err, "generated CDI spec is invalid");
  need = za_cdi_required_version (&f->spec);
  json_object_set_new (spec, "cdiVersion", json_string (need));
  za_cdi_file_free (f);
  return 0;
}

int
za_gpu_cdi_generate (const struct za_host *h, enum za_gpu_vendor vendor, json_t **out,
                     struct za_err **warn, struct za_err **err)
{
  struct za_gpu_list l;
  json_t *spec = NULL, *devices, *edits, *nodes, *mounts, *env;
  struct za_strv all = { 0 }, ctl = { 0 };
  const char *version = NULL;
  int ret = 0;

  *out = NULL;
  if (vendor == ZA_GPU_OTHER)
    return za_err_set (err, ZA_EINPUT, "unknown vendor: use nvidia, amd or intel");
  if (za_gpu_detect (h, &l, err) < 0)
    return -1;
  if (za_gpu_count (&l, vendor) == 0)
    {
      za_gpu_list_clear (&l);
      return za_err_set (err, ZA_EINPUT, "no %s GPUs found on this host", za_gpu_vendor_name (vendor));
    }
  spec = json_pack ("{s:s, s:s, s:[], s:{s:[], s:[], s:[]}}", "cdiVersion", "", "kind",
                    za_gpu_vendor_cdi_kind (vendor), "devices", "containerEdits", "env", "deviceNodes", "mounts");
  if (!spec)
    goto oom;
  devices = json_object_get (spec, "devices");
  edits = json_object_get (spec, "containerEdits");
  env = json_object_get (edits, "env");
  nodes = json_object_get (edits, "deviceNodes");
  mounts = json_object_get (edits, "mounts");
  for (size_t i = 0; i < l.n; i++)
    {
      const struct za_gpu_info *g = &l.v[i];
      char name[32];
      if (g->vendor != vendor)
        continue;
      /* A GPU without nodes (e.g. bound to vfio-pci) would be a device
         with empty edits, which makes the whole spec invalid.  */
      if (g->nodes.n == 0)
        {
          za_err_set (warn, ZA_EINPUT, "%s GPU %u (%s, driver %s) has no device nodes; left out of the spec",
                      za_gpu_vendor_name (vendor), g->index, g->pci ? g->pci : "?", g->driver ? g->driver : "none");
          continue;
        }
      snprintf (name, sizeof name, "%u", g->index);
      if (add_device (devices, name, &g->nodes) < 0)
        goto oom;
      if (g->uuid && za_cdi_device_name_valid (g->uuid) && add_device (devices, g->uuid, &g->nodes) < 0)
        goto oom;
      for (size_t k = 0; k < g->nodes.n; k++)
        if (za_strv_push (&all, g->nodes.v[k]) < 0)
          goto oom;
      if (!version)
        version = g->driver_version;
    }
  if (all.n == 0)
    {
      ret = za_err_set (err, ZA_EINPUT, "no %s GPU on this host has device nodes", za_gpu_vendor_name (vendor));
      goto done;
    }
  if (add_device (devices, "all", &all) < 0)
    goto oom;
  if (vendor == ZA_GPU_NVIDIA)
    {
      const char *c[] = { "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset" };
      struct stat st;
      for (int i = 0; i < 4; i++)
        if (za_host_stat (h, c[i], &st) == 0 && S_ISCHR (st.st_mode) && za_strv_push (&ctl, c[i]) < 0)
          goto oom;
      /* As nvidia-ctk: the legacy runtime hook must not inject again.  */
      json_array_append_new (env, json_string ("NVIDIA_VISIBLE_DEVICES=void"));
      if (find_libs (h, mounts) < 0 || find_bins (h, mounts) < 0 || find_firmware (h, version, mounts) < 0)
        goto oom;
      if (json_array_size (mounts) == 0)
        za_err_set (warn, ZA_EINPUT, "no NVIDIA driver libraries found (libcuda.so.*, libnvidia-ml.so.*)");
    }
  else if (vendor == ZA_GPU_AMD)
    {
      struct stat st;
      if (za_host_stat (h, "/dev/kfd", &st) == 0 && S_ISCHR (st.st_mode) && za_strv_push (&ctl, "/dev/kfd") < 0)
        goto oom;
    }
  for (size_t i = 0; i < ctl.n; i++)
    json_array_append_new (nodes, json_pack ("{s:s}", "path", ctl.v[i]));
  if (json_array_size (env) == 0)
    json_object_del (edits, "env");
  if (json_array_size (nodes) == 0)
    json_object_del (edits, "deviceNodes");
  if (json_array_size (mounts) == 0)
    json_object_del (edits, "mounts");
  if (json_object_size (edits) == 0)
    json_object_del (spec, "containerEdits");
  ret = set_version (spec, err);
  goto done;
oom:
  ret = za_err_set (err, ENOMEM, "out of memory");
done:
  za_strv_clear (&all);
  za_strv_clear (&ctl);
  za_gpu_list_clear (&l);
  if (ret < 0)
    json_decref (spec);
  else
    *out = spec;
  return ret;
}
