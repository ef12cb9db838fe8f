/* Container Device Interface: spec files, the registry of spec
   directories, name resolution and applying edits to an OCI config.
   Behaviour follows the reference Go library's newest release, v1.1.0
   (../shared/docs/cdi-reference.md); deliberate differences are listed in
   docs/cdi.md.  */
#ifndef ZA_CDI_H
#define ZA_CDI_H

#include <jansson.h>
#include <stdbool.h>

#include "util/host.h"
#include "yaml/decode.h"
#include "util/arena.h"
#include "cdi/name.h"
#include "util/err.h"
#include "util/strv.h"

struct za_cdi_device_node
{
  struct za_str path, host_path, type, permissions;
  struct za_int major, minor, file_mode, uid, gid;
  struct za_mark m; /* the entry itself, for errors about missing keys */
};

struct za_cdi_mount
{
  struct za_str host_path, container_path, type;
  struct za_strlist options;
  struct za_mark m;
};

struct za_cdi_hook
{
  struct za_str hook_name, path;
  struct za_strlist args, env;
  struct za_int timeout;
  struct za_mark m;
};

struct za_cdi_intel_rdt
{
  struct za_str clos_id, l3_cache_schema, mem_bw_schema;
  struct za_strlist schemata;
  struct za_bool enable_monitoring;
};

struct za_cdi_net_device
{
  struct za_str host_interface_name, name;
  struct za_mark m;
};

struct za_cdi_gids
{
  size_t n;
  uint32_t *v;
  struct za_mark m;
};

struct za_cdi_edits
{
  struct za_strlist env;
  struct za_list device_nodes; /* struct za_cdi_device_node */
  struct za_list mounts;       /* struct za_cdi_mount */
  struct za_list hooks;        /* struct za_cdi_hook */
  struct za_cdi_intel_rdt *intel_rdt;
  struct za_cdi_gids additional_gids;
  struct za_list net_devices;  /* struct za_cdi_net_device */
};

struct za_cdi_device
{
  struct za_str name;
  struct za_strmap annotations;
  struct za_cdi_edits edits;
  struct za_mark m;
};

struct za_cdi_spec
{
  struct za_str cdi_version, kind;
  struct za_strmap annotations;
  struct za_list devices; /* struct za_cdi_device */
  struct za_cdi_edits edits;
  bool has_edits;
  struct za_mark m; /* the document's top-level mapping */
};

/* A loaded spec file; owns its arena.  */
struct za_cdi_file
{
  struct za_arena arena;
  char *path;
  int priority; /* index of its directory; later wins */
  struct za_cdi_spec spec;
  const char *vendor, *class; /* split of kind */
};

/* Parse and validate one spec file (JSON or YAML, both through the YAML
   path as the reference does).  Errors carry file:line:col.  */
int za_cdi_file_load (const char *path, int priority, struct za_cdi_file **out,
                      struct za_err **err);
/* The same for a file the caller opened (PATH names it in errors).  */
int za_cdi_file_load_fd (int fd, const char *path, int priority, struct za_cdi_file **out,
                         struct za_err **err);
int za_cdi_file_parse (const char *name, const char *data, size_t len, int priority,
                       struct za_cdi_file **out, struct za_err **err);
void za_cdi_file_free (struct za_cdi_file *f);

/* The lowest cdiVersion the content needs (§1.10), e.g. "0.5.0".  */
const char *za_cdi_required_version (const struct za_cdi_spec *s);
/* 0.1.0 … 1.1.0 with an optional leading 'v'.  */
bool za_cdi_version_known (const char *v);
int za_cdi_version_cmp (const char *a, const char *b);

/* ---- registry ------------------------------------------------------ */

struct za_cdi_entry
{
  char *qname;
  struct za_cdi_file *file;
  const struct za_cdi_device *dev;
};

struct za_cdi_registry
{
  struct za_cdi_file **files;
  size_t nfiles;
  struct za_cdi_entry *devs; /* sorted by qname */
  size_t ndevs;
  struct za_err *errors; /* per broken file / conflict, with the file name */
  char **dirs;
  size_t ndirs;
};

/* Directories: DIRS if given, else $CDI_SPEC_DIRS (':'-separated), else
   /etc/cdi then /var/run/cdi.  Later directories have priority.  Broken
   files are recorded in reg->errors and skipped; only system failures
   (OOM) fail the load.  */
int za_cdi_registry_load (const char *const *dirs, size_t ndirs, struct za_cdi_registry **out,
                          struct za_err **err);
void za_cdi_registry_free (struct za_cdi_registry *r);
const struct za_cdi_entry *za_cdi_registry_find (const struct za_cdi_registry *r, const char *qname);

/* The edits to apply for NAMES, in the reference order: for each device,
   its file's spec-level edits the first time the file is seen, then the
   device's edits.  Unknown names → one input error listing them.  */
struct za_cdi_plan
{
  const struct za_cdi_edits **edits;
  size_t n;
};
int za_cdi_resolve (const struct za_cdi_registry *r, const char *const *names, size_t n,
                    struct za_cdi_plan *out, struct za_err **err);
void za_cdi_plan_clear (struct za_cdi_plan *p);

/* Apply a plan to an OCI config (jansson), by category: env, device nodes,
   net devices, mounts, hooks, intelRdt, additionalGids.  Host device
   nodes are looked up through HOST.  */
int za_cdi_apply (json_t *config, const struct za_cdi_plan *plan, const struct za_host *host,
                  struct za_err **err);

/* The concatenated edits as a CDI containerEdits JSON object.  */
json_t *za_cdi_plan_to_json (const struct za_cdi_plan *plan);

/* ---- device requests of an OCI config (request.c) --------------------- */

/* The kind of a request that names no kind (NVIDIA_VISIBLE_DEVICES=0),
   as nvidia-container-runtime's default.  */
#define ZA_CDI_DEFAULT_KIND "nvidia.com/gpu"

struct za_cdi_request_opts
{
  /* Annotations whose keys start with one of these name CDI devices
     (comma-separated, fully qualified).  */
  const char *const *annotation_prefixes;
  size_t nprefixes;
  /* Also read the requests of images and orchestrators (when no
     annotation asked): the volume-mount list (with VOLUME_MOUNTS) and
     NVIDIA_VISIBLE_DEVICES (from an unprivileged container only with
     ENV_UNPRIVILEGED); unqualified names get DEFAULT_KIND (NULL:
     ZA_CDI_DEFAULT_KIND).  */
  bool device_requests, volume_mounts, env_unprivileged;
  const char *default_kind;
};

/* Append to OUT (each name once) the devices config CFG requests under O,
   in nvidia-container-runtime's precedence: annotations, else mounts,
   else the variable.  A request ignored by policy adds a note to *NOTES
   (NULL: dropped); a malformed one is an input error.  */
int za_cdi_requests (json_t *cfg, const struct za_cdi_request_opts *o, struct za_strv *out, struct za_err **notes,
                     struct za_err **err);
/* An NVIDIA_VISIBLE_DEVICES value as CDI names: "all", indexes, UUIDs or
   qualified names, comma-separated; unqualified ones get KIND.  Empty,
   "void" or "none" anywhere: no device.  */
int za_cdi_visible_devices (const char *value, const char *kind, struct za_strv *out, struct za_err **err);
/* A mount of /dev/null at /var/run/nvidia-container-devices/ID (or
   .../cdi/VENDOR/CLASS/NAME) as a CDI name into OUT; other mounts add
   nothing.  */
int za_cdi_mount_request (const char *source, const char *destination, const char *kind, struct za_strv *out,
                          struct za_err **err);
/* Privileged as the toolkit decides it: CAP_SYS_ADMIN in the bounding
   capability set.  */
bool za_cdi_config_privileged (json_t *cfg);

/* ---- injection into a bundle ---------------------------------------- */

/* Resolve NAMES (N of them; with REQ, also the devices the config
   requests, za_cdi_requests) through the registry of DIRS
   (za_cdi_registry_load) and apply them to BUNDLE/config.json.  The one
   injection of the CLI and the runtime shim, strict about what it reads
   and writes: BUNDLE is reached without following a symlink (za_safepath)
   and must be private to us; config.json is opened O_NOFOLLOW relative to
   it, must be a regular file and JSON without duplicate keys; the result
   replaces it atomically with the mode it had.  A failure leaves it as it
   was; with no device to inject it is not rewritten.  The registry's
   problems (broken files, conflicts) and ignored requests go to
   *WARNINGS (NULL: dropped).  */
int za_cdi_inject_bundle (const char *bundle, const char *const *names, size_t n, const char *const *dirs,
                          size_t ndirs, const struct za_cdi_request_opts *req, struct za_err **warnings,
                          struct za_err **err);

#endif
