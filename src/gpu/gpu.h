/* GPUs: detection through sysfs/procfs (under the injectable host root),
   direct passthrough when CDI does not cover the request, sharing (MPS,
   time slicing) and distributed-training env (zlayer-reference.md §5.5,
   §8, §11.3, §11.5–11.7, §12.1).  */
#ifndef ZA_GPU_H
#define ZA_GPU_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/host.h"
#include "spec/spec.h"
#include "util/err.h"
#include "util/strv.h"

enum za_gpu_vendor
{
  ZA_GPU_NVIDIA,
  ZA_GPU_AMD,
  ZA_GPU_INTEL,
  ZA_GPU_OTHER,
};

/* The one mapping of vendors: `resources.gpu.vendor` names (exact,
   case-sensitive), display names and CDI kinds.  */
enum za_gpu_vendor za_gpu_vendor_parse (const char *name);
const char *za_gpu_vendor_name (enum za_gpu_vendor v);
/* nvidia.com/gpu, amd.com/gpu, intel.com/gpu; NULL for ZA_GPU_OTHER.  */
const char *za_gpu_vendor_cdi_kind (enum za_gpu_vendor v);

struct za_gpu_info
{
  enum za_gpu_vendor vendor;
  unsigned index;      /* per vendor, PCI address order */
  char *pci;           /* "0000:01:00.0", or NULL when found by node only */
  char *model;         /* or NULL */
  char *uuid;          /* NVIDIA "GPU-…", or NULL */
  char *driver;        /* kernel driver name (nvidia, amdgpu, i915, xe) */
  char *driver_version;
  struct za_strv nodes; /* /dev/nvidia0, /dev/dri/card1, /dev/dri/renderD129 */
};

struct za_gpu_list
{
  struct za_gpu_info *v;
  size_t n;
};

/* Every GPU on the host: PCI display controllers (class 0x03xxxx) and AMD
   processing accelerators (0x1200xx, Instinct MI300+)
   with their nodes; NVIDIA details from /proc/driver/nvidia, AMD/Intel
   from DRM sysfs.  Without sysfs PCI entries, NVIDIA GPUs are found by
   their /dev/nvidiaN nodes.  */
int za_gpu_detect (const struct za_host *h, struct za_gpu_list *out, struct za_err **err);
void za_gpu_list_clear (struct za_gpu_list *l);
size_t za_gpu_count (const struct za_gpu_list *l, enum za_gpu_vendor v);
const struct za_gpu_info *za_gpu_nth (const struct za_gpu_list *l, enum za_gpu_vendor v, unsigned i);

/* Character-device major of a driver from /proc/devices, or -1.  */
int64_t za_proc_devices_major (const struct za_host *h, const char *driver);

/* What a GPU request adds to the config, in order.  */
struct za_gpu_mount
{
  char *dst, *src, *opts; /* opts comma-separated */
};
struct za_gpu_node
{
  char *path;
  char type;
  int64_t major, minor;
};
struct za_gpu_rule
{
  char type;
  int64_t major, minor; /* minor -1 = any */
  char access[4];
};
struct za_gpu_plan
{
  struct za_strv env; /* KEY=VALUE, each replacing earlier same keys */
  struct za_gpu_mount *mounts;
  size_t nmounts;
  struct za_gpu_node *nodes;
  size_t nnodes;
  struct za_gpu_rule *rules;
  size_t nrules;
};

/* How a GPU request is satisfied (reference §5.5).  */
enum za_gpu_via
{
  ZA_GPU_VIA_NONE,        /* no request, or count 0: no GPU at all (§12 #17) */
  ZA_GPU_VIA_PASSTHROUGH, /* the host's nodes, cgroup rules and visibility env */
  ZA_GPU_VIA_CDI,         /* the vendor's CDI devices KIND=0 … KIND=count-1 */
};

struct za_gpu_route
{
  enum za_gpu_via via;
  struct za_strv cdi_names; /* with ZA_GPU_VIA_CDI: the devices to inject */
};

struct za_cdi_registry;

/* The one place that decides how GPU (NULL: no request) is satisfied.
   A vendor with a CDI kind goes through CDI when the registry resolves
   all of KIND=0 … KIND=count-1; the registry is loaded into *REG from
   DIRS (none: auto-discovery) when first needed, and the caller frees
   it.  When it does not resolve: with DIRS given (--cdi-dir) that is an
   input error; otherwise the GPUs are passed through, quietly when no
   spec of the kind exists (a host without CDI), with a warning when one
   lacks the devices.  REG NULL: no CDI at all, passthrough.  */
int za_gpu_route (const struct za_gpu_spec *gpu, const char *const *dirs, size_t ndirs,
                  struct za_cdi_registry **reg, struct za_gpu_route *out,
                  struct za_err **warn, struct za_err **err);
void za_gpu_route_clear (struct za_gpu_route *r);

struct za_gpu_ctx
{
  const struct za_host *host;
  const char *file;     /* spec file, for error positions */
  const char *base;     /* "services.<name>" */
  const char *service;
  unsigned replica;     /* 1-based */
  unsigned world_size;  /* replicas of the service (>= 1) */
  bool privileged;      /* no extra cgroup rules needed */
};

/* The plan for GPU satisfied as ROUTE says: nothing for
   ZA_GPU_VIA_NONE; visibility and nodes only with passthrough (CDI
   brings its own); driver cgroup rules, sharing and distributed env
   either way.  Passthrough compares the count with the host's GPUs.  */
int za_gpu_plan_build (const struct za_gpu_ctx *c, const struct za_gpu_spec *gpu,
                       const struct za_gpu_route *route, struct za_gpu_plan *out,
                       struct za_err **warn, struct za_err **err);
void za_gpu_plan_clear (struct za_gpu_plan *p);

/* Tests only: when non-zero, the plan's Nth allocation from now on
   fails (as if out of memory); counts down to 0.  */
extern unsigned za_gpu_plan_fail_alloc;

/* A CDI spec for this host's GPUs of VENDOR (without vendor tools): one
   device per GPU ("0", "1", …, NVIDIA also by UUID) and "all"; the
   control nodes; for NVIDIA the user-space driver libraries, binaries and
   firmware mounted read-only.  cdiVersion is the lowest the content
   needs.  Input error when the host has no such GPU.  */
int za_gpu_cdi_generate (const struct za_host *h, enum za_gpu_vendor vendor, json_t **out,
                         struct za_err **warn, struct za_err **err);

/* Device naming strategies of `cdi generate` (nvidia-ctk's): "0",
   "GPU-<uuid>", "gpu0"; MIG devices "0:1" and "mig0:1".  */
#define ZA_CDI_NAME_INDEX 0x1u
#define ZA_CDI_NAME_UUID 0x2u
#define ZA_CDI_NAME_TYPE_INDEX 0x4u

struct za_cdi_gen_opts
{
  enum za_gpu_vendor vendor;
  bool imex;       /* kind nvidia.com/imex-channel: the IMEX channels */
  unsigned names;  /* ZA_CDI_NAME_*; 0 = index and uuid (nvidia-ctk's default) */
  bool no_all;     /* no "all" device */
  const char *hook; /* zagent-cdi-hook for the NVIDIA library hooks; NULL: none
                       (and the multiarch copies of the libraries instead) */
};

/* za_gpu_cdi_generate with options (the function above is this with
   defaults and no hooks).  */
int za_gpu_cdi_generate_opts (const struct za_host *h, const struct za_cdi_gen_opts *o, json_t **out,
                              struct za_err **warn, struct za_err **err);

/* MIG devices of NVIDIA GPU G (gpu/cdimig.c), from
   /proc/driver/nvidia/capabilities/gpuM/mig/giG/ciC/access (else
   /proc/driver/nvidia-caps/mig-minors): one device per GI/CI pair, named
   "<gpu>:<n>" (index) or "mig<gpu>:<n>" (type-index), n counting the
   GPU's MIG devices in (GI, CI) order; nodes /dev/nvidiaM and the
   /dev/nvidia-caps/nvidia-cap<minor> of the GI and the CI.  Their nodes
   go to ALL too.  A pair whose nodes are missing on the host is left out
   with a warning.  */
int za_gpu_cdi_mig (const struct za_host *h, const struct za_gpu_info *g, unsigned names, json_t *devices,
                    struct za_strv *all, struct za_err **warn);
/* IMEX channels /dev/nvidia-caps-imex-channels/channelN as devices "N"
   (and "all" unless NO_ALL); an input error when there is none.  */
int za_gpu_cdi_imex (const struct za_host *h, bool no_all, json_t *devices, struct za_err **err);

/* Compare the spec file PATH with the host: each difference (a device
   node gone, of another type or renumbered where the spec gives numbers;
   a mounted host file gone; a hook binary missing or not executable; the
   file itself not a valid spec) is appended to REPORT as {file, device,
   what, path, message}, once per file, what and path.  Returns how many,
   or -1 on a system failure.  */
int za_gpu_cdi_check_file (const struct za_host *h, const char *path, json_t *report, struct za_err **err);

/* The text of SPEC as JSON (two-space indent) or, with YAML, as a YAML
   document; no trailing newline.  */
int za_gpu_cdi_format (json_t *spec, bool yaml, char **out, struct za_err **err);

#endif
