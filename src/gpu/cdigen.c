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
find_libs (const struct za_host *h, json_t *mounts, bool multiarch, struct za_strv *dirs)
{
  const char *ma = multiarch ? multiarch_dir () : NULL;
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
                struct stat lst;
                snprintf (path, sizeof path, "%s/%s", lib_dirs[d], ents[i]->d_name);
                /* A dangling link (the soname link after an upgrade)
                   cannot be mounted.  */
                if (za_host_stat (h, path, &lst) < 0)
                  break;
                snprintf (alt, sizeof alt, "%s/%s", ma ? ma : "", ents[i]->d_name);
                if (add_mount (mounts, path, path) < 0
                    || (ma && strcmp (lib_dirs[d], ma) && add_mount (mounts, path, alt) < 0)
                    || (!za_strv_contains (dirs, lib_dirs[d]) && za_strv_push (dirs, lib_dirs[d]) < 0))
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

/* The createContainer hooks for the mounted driver libraries (issue
   14): CUDA forward compatibility first, then libcuda.so, then the
   loader cache, so the cache sees both.  Each carries its own env: a
   hook never gets the container's (CVE-2025-23266).  */
static int
add_hooks (json_t *edits, const char *hook, const char *version, const struct za_strv *dirs, json_t *mounts)
{
  json_t *hooks = json_array (), *args;
  const char *cuda_dir = NULL;
  if (!hooks || json_object_set_new (edits, "hooks", hooks) < 0)
    return -1;
  for (size_t i = 0; i < json_array_size (mounts); i++)
    {
      const char *c = json_string_value (json_object_get (json_array_get (mounts, i), "containerPath"));
      const char *b = strrchr (c, '/');
      if (b && !strcmp (b, "/libcuda.so.1"))
        cuda_dir = c;
    }
#define HOOK(...)                                                                                                  \
  json_array_append_new (hooks, json_pack ("{s:s, s:s, s:o, s:[s]}", "hookName", "createContainer", "path", hook,  \
                                           "args", __VA_ARGS__, "env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"))
  if (version && HOOK (json_pack ("[s,s,s,s]", "zagent-cdi-hook", "enable-cuda-compat", "--host-driver-version", version)) < 0)
    return -1;
  if (cuda_dir)
    {
      char link[4200];
      snprintf (link, sizeof link, "libcuda.so.1::%.*s/libcuda.so", (int) (strrchr (cuda_dir, '/') - cuda_dir), cuda_dir);
      if (HOOK (json_pack ("[s,s,s,s]", "zagent-cdi-hook", "create-symlinks", "--link", link)) < 0)
        return -1;
    }
  args = json_pack ("[s,s]", "zagent-cdi-hook", "update-ldcache");
  for (size_t i = 0; args && i < dirs->n; i++)
    if (json_array_append_new (args, json_string ("--folder")) < 0 || json_array_append_new (args, json_string (dirs->v[i])) < 0)
      return -1;
  return HOOK (args);
#undef HOOK
}

/* The NVIDIA driver's user-space pieces, shared by every device.  */
static int
nvidia_common (const struct za_host *h, const struct za_cdi_gen_opts *o, const char *version, json_t *edits,
               struct za_err **warn)
{
  json_t *mounts = json_object_get (edits, "mounts"), *env = json_object_get (edits, "env");
  struct za_strv dirs = { 0 };
  int ret = 0;
  /* As nvidia-ctk: the legacy runtime hook must not inject again.  */
  if (json_array_append_new (env, json_string ("NVIDIA_VISIBLE_DEVICES=void")) < 0
      || find_libs (h, mounts, !o->hook, &dirs) < 0 || find_bins (h, mounts) < 0
      || find_firmware (h, version, mounts) < 0)
    ret = -1;
  else if (json_array_size (mounts) == 0)
    za_err_set (warn, ZA_EINPUT, "no NVIDIA driver libraries found (libcuda.so.*, libnvidia-ml.so.*)");
  else if (o->hook && dirs.n && add_hooks (edits, o->hook, version, &dirs, mounts) < 0)
    ret = -1;
  za_strv_clear (&dirs);
  return ret;
}

static int
control_nodes (const struct za_host *h, enum za_gpu_vendor vendor, struct za_strv *ctl)
{
  static const char *const nv[] = { "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset", NULL };
  static const char *const amd[] = { "/dev/kfd", NULL };
  const char *const *c = vendor == ZA_GPU_NVIDIA ? nv : vendor == ZA_GPU_AMD ? amd : NULL;
  for (int i = 0; c && c[i]; i++)
    {
      struct stat st;
      if (za_host_stat (h, c[i], &st) == 0 && S_ISCHR (st.st_mode) && za_strv_push (ctl, c[i]) < 0)
        return -1;
    }
  return 0;
}

/* The devices of one GPU under each naming strategy; its MIG devices.  */
static int
gpu_devices (const struct za_host *h, const struct za_cdi_gen_opts *o, const struct za_gpu_info *g, json_t *devices,
             struct za_strv *all, struct za_err **warn)
{
  unsigned names = o->names ? o->names : ZA_CDI_NAME_INDEX | ZA_CDI_NAME_UUID;
  char name[64];
  if ((names & ZA_CDI_NAME_INDEX) && (snprintf (name, sizeof name, "%u", g->index), add_device (devices, name, &g->nodes) < 0))
    return -1;
  if ((names & ZA_CDI_NAME_UUID) && g->uuid && za_cdi_device_name_valid (g->uuid) && add_device (devices, g->uuid, &g->nodes) < 0)
    return -1;
  if ((names & ZA_CDI_NAME_TYPE_INDEX) && (snprintf (name, sizeof name, "gpu%u", g->index), add_device (devices, name, &g->nodes) < 0))
    return -1;
  for (size_t k = 0; k < g->nodes.n; k++)
    if (za_strv_push (all, g->nodes.v[k]) < 0)
      return -1;
  return g->vendor == ZA_GPU_NVIDIA ? za_gpu_cdi_mig (h, g, names, devices, all, warn) : 0;
}

/* Drop empty lists, then the empty containerEdits.  */
static void
prune_edits (json_t *spec)
{
  json_t *edits = json_object_get (spec, "containerEdits");
  const char *keys[] = { "env", "deviceNodes", "mounts", "hooks" };
  for (int i = 0; i < 4; i++)
    if (json_object_get (edits, keys[i]) && json_array_size (json_object_get (edits, keys[i])) == 0)
      json_object_del (edits, keys[i]);
  if (json_object_size (edits) == 0)
    json_object_del (spec, "containerEdits");
}

static int
gpu_spec (const struct za_host *h, const struct za_cdi_gen_opts *o, const struct za_gpu_list *l, json_t *spec,
          struct za_err **warn, struct za_err **err)
{
  enum za_gpu_vendor vendor = o->vendor;
  json_t *devices = json_object_get (spec, "devices"), *edits = json_object_get (spec, "containerEdits");
  struct za_strv all = { 0 }, ctl = { 0 };
  const char *version = NULL;
  int ret = -1;
  for (size_t i = 0; i < l->n; i++)
    {
      struct za_gpu_info live;
      const struct za_gpu_info *g = &l->v[i];
      int r;
      if (g->vendor != vendor)
        continue;
      /* Only nodes that exist: a spec naming a gone node breaks every
         container that asks for the device (and `cdi check` flags it).  */
      live = *g;
      live.nodes = (struct za_strv) { 0 };
      for (size_t k = 0; k < g->nodes.n; k++)
        {
          struct stat st;
          if (za_host_stat (h, g->nodes.v[k], &st) == 0 && za_strv_push (&live.nodes, g->nodes.v[k]) < 0)
            goto oom;
        }
      /* A GPU without nodes (e.g. bound to vfio-pci) would be a device
         with empty edits, which makes the whole spec invalid.  */
      if (live.nodes.n == 0)
        {
          za_err_set (warn, ZA_EINPUT, "%s GPU %u (%s, driver %s) has no device nodes; left out of the spec",
                      za_gpu_vendor_name (vendor), g->index, g->pci ? g->pci : "?", g->driver ? g->driver : "none");
          continue;
        }
      r = gpu_devices (h, o, &live, devices, &all, warn);
      za_strv_clear (&live.nodes);
      if (r < 0)
        goto oom;
      if (!version)
        version = g->driver_version;
    }
  if (all.n == 0)
    {
      za_err_set (err, ZA_EINPUT, "no %s GPU on this host has device nodes", za_gpu_vendor_name (vendor));
      goto done;
    }
  if (!o->no_all && add_device (devices, "all", &all) < 0)
    goto oom;
  if (control_nodes (h, vendor, &ctl) < 0)
    goto oom;
  for (size_t i = 0; i < ctl.n; i++)
    if (json_array_append_new (json_object_get (edits, "deviceNodes"), json_pack ("{s:s}", "path", ctl.v[i])) < 0)
      goto oom;
  if (vendor == ZA_GPU_NVIDIA && nvidia_common (h, o, version, edits, warn) < 0)
    goto oom;
  ret = 0;
  goto done;
oom:
  za_err_set (err, ENOMEM, "out of memory");
done:
  za_strv_clear (&all);
  za_strv_clear (&ctl);
  return ret;
}

int
za_gpu_cdi_generate_opts (const struct za_host *h, const struct za_cdi_gen_opts *o, json_t **out,
                          struct za_err **warn, struct za_err **err)
{
  struct za_gpu_list l = { 0 };
  json_t *spec = NULL;
  int ret;

  *out = NULL;
  if (o->vendor == ZA_GPU_OTHER)
    return za_err_set (err, ZA_EINPUT, "unknown vendor: use nvidia, amd or intel");
  if (o->imex && o->vendor != ZA_GPU_NVIDIA)
    return za_err_set (err, ZA_EINPUT, "IMEX channels are NVIDIA's (--vendor nvidia)");
  if (!o->imex && za_gpu_detect (h, &l, err) < 0)
    return -1;
  if (!o->imex && za_gpu_count (&l, o->vendor) == 0)
    {
      za_gpu_list_clear (&l);
      return za_err_set (err, ZA_EINPUT, "no %s GPUs found on this host", za_gpu_vendor_name (o->vendor));
    }
  spec = json_pack ("{s:s, s:s, s:[], s:{s:[], s:[], s:[]}}", "cdiVersion", "", "kind",
                    o->imex ? "nvidia.com/imex-channel" : za_gpu_vendor_cdi_kind (o->vendor), "devices",
                    "containerEdits", "env", "deviceNodes", "mounts");
  if (!spec)
    ret = za_err_set (err, ENOMEM, "out of memory");
  else if (o->imex)
    ret = za_gpu_cdi_imex (h, o->no_all, json_object_get (spec, "devices"), err);
  else
    ret = gpu_spec (h, o, &l, spec, warn, err);
  za_gpu_list_clear (&l);
  if (ret == 0 && json_array_size (json_object_get (spec, "devices")) == 0)
    ret = za_err_set (err, ZA_EINPUT, "no device to write: the naming strategies name none of this host's GPUs%s",
                      o->no_all ? " and --no-all-device leaves out `all`" : "");
  if (ret == 0)
    {
      prune_edits (spec);
      ret = set_version (spec, err);
    }
  if (ret < 0)
    json_decref (spec);
  else
    *out = spec;
  return ret;
}

int
za_gpu_cdi_generate (const struct za_host *h, enum za_gpu_vendor vendor, json_t **out,
                     struct za_err **warn, struct za_err **err)
{
  struct za_cdi_gen_opts o = { .vendor = vendor };
  return za_gpu_cdi_generate_opts (h, &o, out, warn, err);
}
