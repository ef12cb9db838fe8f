/* libzagent: ZLayer deployment specs -> OCI runtime bundles.
 *
 * Every function that can fail takes `zagent_error **err` as its last
 * argument, returns a negative value (or NULL) on failure and appends one
 * or more errors to *err; on success *err is left untouched.  Errors
 * carry a message and, where known, the input file, 1-based line and
 * column, and the dotted field path ("services.web.resources.cpu").
 * Free them with zagent_error_free.  The library never exits or aborts.
 */
#ifndef ZAGENT_H
#define ZAGENT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ZAGENT_BUILDING)
#define ZAGENT_PUBLIC __attribute__ ((visibility ("default")))
#else
#define ZAGENT_PUBLIC
#endif

/* ---- errors ------------------------------------------------------- */

typedef struct za_err zagent_error;

/* The message, without location.  */
ZAGENT_PUBLIC const char *zagent_error_message (const zagent_error *e);
/* Input file name, or NULL.  */
ZAGENT_PUBLIC const char *zagent_error_file (const zagent_error *e);
/* 1-based position, 0 when unknown.  */
ZAGENT_PUBLIC unsigned zagent_error_line (const zagent_error *e);
ZAGENT_PUBLIC unsigned zagent_error_column (const zagent_error *e);
/* Dotted field path, or NULL.  */
ZAGENT_PUBLIC const char *zagent_error_path (const zagent_error *e);
/* true: invalid input (spec, image config, options); false: a system
   failure (I/O, out of memory), errno in zagent_error_errno.  */
ZAGENT_PUBLIC bool zagent_error_is_input (const zagent_error *e);
ZAGENT_PUBLIC int zagent_error_errno (const zagent_error *e);
/* The next error of a chain, or NULL.  */
ZAGENT_PUBLIC const zagent_error *zagent_error_next (const zagent_error *e);
/* "file:line:col: path: message"; caller frees.  NULL on OOM.  */
ZAGENT_PUBLIC char *zagent_error_format (const zagent_error *e);
/* Frees the whole chain and sets *err to NULL.  */
ZAGENT_PUBLIC void zagent_error_free (zagent_error **err);

ZAGENT_PUBLIC const char *zagent_version (void);

/* A ZLayer duration ("30s", "1m30s", "500ms") in nanoseconds; an input
   error "invalid duration: REASON" otherwise.  */
ZAGENT_PUBLIC int zagent_duration_parse (const char *text, unsigned long long *ns_out, zagent_error **err);

/* ---- deployment specs --------------------------------------------- */

typedef struct zagent_spec zagent_spec;

/* Parse a ZLayer deployment spec (YAML, `version: v1`).  PATH "-" reads
   stdin.  Parsing checks types, unknown and missing keys; it does not run
   the semantic validation.  */
ZAGENT_PUBLIC int zagent_spec_load_file (zagent_spec **out, const char *path,
                                         zagent_error **err);
ZAGENT_PUBLIC int zagent_spec_load_buffer (zagent_spec **out, const char *name,
                                           const char *data, size_t len,
                                           zagent_error **err);
/* Semantic validation; every problem is appended to *err.  */
ZAGENT_PUBLIC int zagent_spec_validate (const zagent_spec *spec, zagent_error **err);
ZAGENT_PUBLIC const char *zagent_spec_deployment (const zagent_spec *spec);
ZAGENT_PUBLIC size_t zagent_spec_service_count (const zagent_spec *spec);
/* Service names in document order.  */
ZAGENT_PUBLIC const char *zagent_spec_service_name (const zagent_spec *spec, size_t i);
ZAGENT_PUBLIC void zagent_spec_free (zagent_spec *spec);

/* ---- build options ------------------------------------------------ */

typedef struct zagent_options zagent_options;

ZAGENT_PUBLIC zagent_options *zagent_options_new (void);
ZAGENT_PUBLIC void zagent_options_free (zagent_options *o);

/* Service to build; required when the spec has several.  */
ZAGENT_PUBLIC int zagent_options_set_service (zagent_options *o, const char *name, zagent_error **err);
/* Replica number (default 1): container id "<service>-rep-<N>".  */
ZAGENT_PUBLIC int zagent_options_set_replica (zagent_options *o, unsigned replica, zagent_error **err);
/* Image config JSON: the whole blob or its "config" object.  */
ZAGENT_PUBLIC int zagent_options_set_image_config_file (zagent_options *o, const char *path,
                                                        zagent_error **err);
ZAGENT_PUBLIC int zagent_options_set_hostname (zagent_options *o, const char *hostname, zagent_error **err);
ZAGENT_PUBLIC int zagent_options_set_cwd (zagent_options *o, const char *cwd, zagent_error **err);
/* "KEY=VALUE", applied after the spec env (replacing same keys).  */
ZAGENT_PUBLIC int zagent_options_add_env (zagent_options *o, const char *kv, zagent_error **err);
ZAGENT_PUBLIC int zagent_options_set_host_network (zagent_options *o, bool on, zagent_error **err);
/* Prepared volume: NAME is a named volume, `_anon_<target>` or
   `_s3_<bucket>_<prefix>`; PATH an absolute host path.  */
ZAGENT_PUBLIC int zagent_options_add_volume (zagent_options *o, const char *name, const char *path,
                                             zagent_error **err);
/* Host socket mounted read-only at the ZLayer socket path.  */
ZAGENT_PUBLIC int zagent_options_set_socket (zagent_options *o, const char *path, zagent_error **err);
/* File-backed secrets: DIR/<scope>/<name>, DIR/<scope>/<service>/<name>.
   SCOPE NULL = the deployment name.  */
ZAGENT_PUBLIC int zagent_options_set_secrets (zagent_options *o, const char *dir, const char *scope,
                                              zagent_error **err);
/* -1 auto (euid != 0), 0 off, 1 on.  */
ZAGENT_PUBLIC int zagent_options_set_rootless (zagent_options *o, int mode, zagent_error **err);
/* Replace the process args (N may be 0 for an explicit empty list).  */
ZAGENT_PUBLIC int zagent_options_set_args (zagent_options *o, const char *const *args, size_t n,
                                           zagent_error **err);
/* Existing root filesystem directory (used as root.path by real path, and
   for resolving user names).  */
ZAGENT_PUBLIC int zagent_options_set_rootfs (zagent_options *o, const char *dir, zagent_error **err);
/* Whether a rootfs was set.  */
ZAGENT_PUBLIC bool zagent_options_has_rootfs (const zagent_options *o);
/* Host root for probing (/proc, /sys, /dev, /etc/sub[ug]id); default
   $ZAGENT_HOST_ROOT or "/".  */
ZAGENT_PUBLIC int zagent_options_set_host_root (zagent_options *o, const char *dir, zagent_error **err);

/* A CDI device "vendor/class=name" to inject (repeatable).  */
ZAGENT_PUBLIC int zagent_options_add_device (zagent_options *o, const char *name, zagent_error **err);
/* CDI spec directory (repeatable; later wins).  Given any, GPU requests
   that cannot be resolved through CDI are errors instead of falling back
   to direct passthrough.  Default: $CDI_SPEC_DIRS, else /etc/cdi and
   /var/run/cdi.  */
ZAGENT_PUBLIC int zagent_options_add_cdi_dir (zagent_options *o, const char *dir, zagent_error **err);

/* ---- outputs ------------------------------------------------------ */

/* Generate config.json text (no trailing newline) for the chosen service.
   Non-fatal warnings are appended to *warnings (may be NULL).
   BUNDLE_DIR, when not NULL, is where resolv.conf would live.  */
ZAGENT_PUBLIC int zagent_config_generate (const zagent_spec *spec, const zagent_options *o,
                                          const char *bundle_dir, char **json_out,
                                          size_t *len_out, zagent_error **warnings,
                                          zagent_error **err);

/* Validate, generate and write a bundle.  BUNDLE_DIR NULL = the default
   <data dir>/bundles/<container id>.  The bundle path is returned in
   *path_out (caller frees).  A failure leaves an existing bundle as it
   was.  */
ZAGENT_PUBLIC int zagent_bundle_create (const zagent_spec *spec, const zagent_options *o,
                                        const char *bundle_dir, char **path_out,
                                        zagent_error **warnings, zagent_error **err);

/* The container id ("<service>-rep-<N>") and the service's
   stop_grace_period in nanoseconds (0 when unset) for these options.  */
ZAGENT_PUBLIC int zagent_container_info (const zagent_spec *spec, const zagent_options *o, char **id_out,
                                         unsigned long long *stop_grace_ns, zagent_error **err);

/* Remove a bundle directory (refuses non-bundles and symlinks).  */
ZAGENT_PUBLIC int zagent_bundle_cleanup (const char *bundle_dir, zagent_error **err);

/* ---- images --------------------------------------------------------- */

/* Use the OCI image layout REF ("DIR" or "DIR:TAG", as `skopeo copy …
   oci:DIR:TAG` writes): its config becomes the image config, and its
   layers are verified and unpacked into the shared cache under the data
   dir.  The cache is never a container's root: zagent_container_create
   gives each container its own copy-on-write rootfs over it.  Warnings
   (skipped device nodes, a foreign platform) go to *WARNINGS.  */
ZAGENT_PUBLIC int zagent_options_set_image_layout (zagent_options *o, const char *ref,
                                                   zagent_error **warnings, zagent_error **err);

/* ---- the layer store (issue 11: pull, images, rmi, prune) ------------ */

/* Pull settings used by zagent_options_set_image, _set_spec_image and
   zagent_image_pull.  POLICY: "always", "newer", "if_not_present",
   "never" (NULL: the spec's image.pull_policy, else if_not_present).  */
ZAGENT_PUBLIC int zagent_options_set_pull_policy (zagent_options *o, const char *policy, zagent_error **err);
/* AUTHFILE, CERT_DIR: NULL leaves the setting (default: docs/images.md).
   TLS_VERIFY: -1 default, 0 --tls-verify=false, 1 force, -2 leave it.  */
ZAGENT_PUBLIC int zagent_options_set_registry (zagent_options *o, const char *authfile, const char *cert_dir,
                                               int tls_verify, zagent_error **err);
/* No progress display (there is none when stderr is not a terminal).  */
ZAGENT_PUBLIC void zagent_options_set_quiet (zagent_options *o, bool quiet);

/* Use image REF: "oci:DIR[:TAG]" (a local OCI layout, imported into the
   layer store; DIR ends at the first ':', the rest is the TAG, which may
   hold '/' and ':'), "DIR[:TAG]" with an existing DIR (the layout,
   unpacked into the shared cache as zagent_options_set_image_layout
   does), else a registry reference pulled into the layer store by the
   pull policy.  Containers get an overlay over the image's layers.  */
ZAGENT_PUBLIC int zagent_options_set_image (zagent_options *o, const char *ref, zagent_error **warnings,
                                            zagent_error **err);
/* The same for the service's image.name (and its pull_policy unless one
   was set).  */
ZAGENT_PUBLIC int zagent_options_set_spec_image (zagent_options *o, const zagent_spec *spec,
                                                 zagent_error **warnings, zagent_error **err);
/* Whether an image (or rootfs) was set.  */
ZAGENT_PUBLIC bool zagent_options_has_image (const zagent_options *o);

/* Pull REF (or import "oci:DIR[:TAG]") into the store with O's pull
   settings (O may be NULL); *DIGEST_OUT (may be NULL) gets the manifest
   digest, caller frees.  */
ZAGENT_PUBLIC int zagent_image_pull (const zagent_options *o, const char *ref, char **digest_out,
                                     zagent_error **warnings, zagent_error **err);
/* The stored images as a JSON array of {name, digest, config, size,
   created, layers}; caller frees.  */
ZAGENT_PUBLIC int zagent_image_list_json (char **json_out, zagent_error **err);
/* rmi: by name or digest (or a unique digest prefix of 12+ digits).  */
ZAGENT_PUBLIC int zagent_image_remove (const char *ref, bool force, zagent_error **err);
/* prune: {"removed": [...], "freed": BYTES} as JSON; caller frees.  */
ZAGENT_PUBLIC int zagent_image_prune (bool all, char **json_out, zagent_error **err);

/* ---- containers ----------------------------------------------------- */

/* An OCI runtime (runc, crun, youki) driven through its command line.
   NAME_OR_PATH NULL = $ZAGENT_RUNTIME, else the first of runc, crun, youki
   on PATH.  Every runtime call is bounded by $ZAGENT_RUNTIME_TIMEOUT
   (a duration, default 120s): a runtime that passes it is killed.  */
typedef struct zagent_runtime zagent_runtime;
ZAGENT_PUBLIC int zagent_runtime_find (zagent_runtime **out, const char *name_or_path, zagent_error **err);
ZAGENT_PUBLIC const char *zagent_runtime_name (const zagent_runtime *rt);
ZAGENT_PUBLIC void zagent_runtime_free (zagent_runtime *rt);

/* A container this process created.  Each container id has one record
   under <run dir>/containers/<id>/, written before anything else is
   created, so that any later call can finish or undo what a killed
   process started; an id is reserved under the record's lock.  */
typedef struct zagent_container zagent_container;

/* Leave the bundle in place when the container is removed.  */
#define ZAGENT_CONTAINER_KEEP_BUNDLE 0x1u
/* Detached: stdin /dev/null, stdout and stderr appended to
   BUNDLE/logs/stdout.log and stderr.log (STDIO is ignored).  */
#define ZAGENT_CONTAINER_DETACH 0x2u
/* Make the calling process a child subreaper (PR_SET_CHILD_SUBREAPER), so
   the container's init becomes its child and zagent_container_wait can
   reap it.  */
#define ZAGENT_CONTAINER_REAP 0x4u

/* Reserve the id ("<service>-rep-<N>"), write the record, give an image
   container its own rootfs, build the bundle (BUNDLE_DIR NULL = the
   default), and create the container in RT with STDIO (NULL = ours) as
   its stdin/stdout/stderr.  A failure undoes exactly what this call
   created.  The id stays reserved until zagent_container_start.  */
ZAGENT_PUBLIC int zagent_container_create (const zagent_spec *spec, const zagent_options *o,
                                           const zagent_runtime *rt, const char *bundle_dir, unsigned flags,
                                           const int stdio[3], zagent_container **out,
                                           zagent_error **warnings, zagent_error **err);
ZAGENT_PUBLIC const char *zagent_container_id (const zagent_container *c);
ZAGENT_PUBLIC const char *zagent_container_bundle (const zagent_container *c);
/* The container's init pid (as the host sees it).  */
ZAGENT_PUBLIC int zagent_container_pid (const zagent_container *c);
/* Start it; from then on other processes may stop or remove it.  */
ZAGENT_PUBLIC int zagent_container_start (zagent_container *c, zagent_error **err);
/* Wait for its init to exit (needs ZAGENT_CONTAINER_REAP), forwarding
   every signal read from SIGNAL_FD (a signalfd, or -1) but SIGCHLD, and
   reaping every child that comes our way.  *STATUS = the exit status, or
   128+signal.  */
ZAGENT_PUBLIC int zagent_container_wait (zagent_container *c, int signal_fd, int *status,
                                         zagent_error **err);
/* Delete it in the runtime, remove its rootfs, its bundle (unless kept)
   and its record, and free C.  */
ZAGENT_PUBLIC int zagent_container_destroy (zagent_container *c, zagent_error **err);
/* Free C and leave the container as it is (a detached container keeps
   running; its record stays).  An unstarted container is destroyed.  */
ZAGENT_PUBLIC void zagent_container_free (zagent_container *c);

/* ---- one runtime process per container (issue 15) ---- */
/* Statuses of zagent_container_run that are not the container's own
   (podman's and Docker's convention for `run`).  */
#define ZAGENT_RUN_FAILED 125        /* zagent or the runtime failed */
#define ZAGENT_RUN_CANNOT_INVOKE 126 /* the command cannot be executed */
#define ZAGENT_RUN_NOT_FOUND 127     /* the command was not found */
/* Reserve, write the record, make the rootfs and bundle as
   zagent_container_create, then run the container with one runtime
   process (`RUNTIME run`, or `run --detach` with ZAGENT_CONTAINER_DETACH)
   with STDIO (NULL = ours).  Foreground: forward the signals read from
   SIGNAL_FD (a signalfd, or -1; SIGCHLD is not forwarded) to the
   container's init once it runs, wait for it, remove everything; 0 and
   *STATUS = its exit status (128+signal).  Detached: 0 once it runs (its
   record stays for ps, stop, rm).  On failure everything this call made
   is undone and *STATUS is ZAGENT_RUN_FAILED, or _NOT_FOUND /
   _CANNOT_INVOKE when the runtime could not exec the command; -2 instead
   of -1 when the runtime itself already wrote its error to STDIO's
   stderr (print it again only if that is not where you print).  */
ZAGENT_PUBLIC int zagent_container_run (const zagent_spec *spec, const zagent_options *o,
                                        const zagent_runtime *rt, const char *bundle_dir, unsigned flags,
                                        const int stdio[3], int signal_fd, int *status,
                                        zagent_error **warnings, zagent_error **err);

/* What zagent knows of a container id: its record and the runtime's
   status.  */
typedef struct zagent_record zagent_record;

/* Every record, in id order.  A record whose creator died before it was
   complete is undone, and one the runtime definitely no longer has is
   cleared; each such one is reported in *NOTICES instead of listed.
   Status "unknown" when the runtime could not answer (its error goes to
   *NOTICES; the record stays).  */
ZAGENT_PUBLIC int zagent_record_list (zagent_record ***out, size_t *n, zagent_error **notices,
                                      zagent_error **err);
/* The record of ID with the runtime's status and state.  A record the
   runtime definitely no longer has is cleared and is an input error.  */
ZAGENT_PUBLIC int zagent_record_get (zagent_record **out, const char *id, zagent_error **err);
ZAGENT_PUBLIC const char *zagent_record_id (const zagent_record *r);
/* "creating", "created", "running", "paused", "stopped" or "unknown".  */
ZAGENT_PUBLIC const char *zagent_record_status (const zagent_record *r);
ZAGENT_PUBLIC int zagent_record_pid (const zagent_record *r);
ZAGENT_PUBLIC const char *zagent_record_runtime (const zagent_record *r);
ZAGENT_PUBLIC const char *zagent_record_bundle (const zagent_record *r);
/* Unix seconds.  */
ZAGENT_PUBLIC long long zagent_record_created (const zagent_record *r);
/* The record and the runtime's state as JSON (caller frees).  */
ZAGENT_PUBLIC char *zagent_record_to_json (const zagent_record *r);
ZAGENT_PUBLIC void zagent_record_free (zagent_record *r);
ZAGENT_PUBLIC void zagent_record_list_free (zagent_record **v, size_t n);

/* SIGTERM, then SIGKILL to all its processes after GRACE_NS (0 = the
   service's stop_grace_period, default 10 s).  */
ZAGENT_PUBLIC int zagent_container_stop (const char *id, unsigned long long grace_ns, zagent_error **err);
/* Remove a stopped container (FORCE: kill a running one first), its
   rootfs, record and (unless kept) bundle.  Nothing is removed when the
   runtime cannot answer.  */
ZAGENT_PUBLIC int zagent_container_remove (const char *id, bool force, zagent_error **err);

/* ---- CDI ------------------------------------------------------------ */

/* Container Device Interface specs (cdiVersion 0.1.0 to 1.1.0), as the
   reference library v1.1.0 reads them.  Spec directories DIRS (NDIRS of
   them; later ones win): NDIRS 0 = $CDI_SPEC_DIRS (':'-separated), else
   /etc/cdi then /var/run/cdi.  */

/* 0 if NAME is a qualified device name "vendor/class=name" with every
   part valid; else an input error saying why.  */
ZAGENT_PUBLIC int zagent_cdi_name_check (const char *name, zagent_error **err);

/* One spec file, parsed and validated.  */
typedef struct zagent_cdi_spec zagent_cdi_spec;
/* Load the spec file PATH (JSON or YAML).  Every problem is appended to
   *ERR, each naming PATH (and its line and column where known).  */
ZAGENT_PUBLIC int zagent_cdi_spec_load (zagent_cdi_spec **out, const char *path, zagent_error **err);
/* "0.5.0", as the file says.  */
ZAGENT_PUBLIC const char *zagent_cdi_spec_version (const zagent_cdi_spec *s);
/* "vendor/class".  */
ZAGENT_PUBLIC const char *zagent_cdi_spec_kind (const zagent_cdi_spec *s);
ZAGENT_PUBLIC size_t zagent_cdi_spec_device_count (const zagent_cdi_spec *s);
/* Device names (without vendor/class=) in file order.  */
ZAGENT_PUBLIC const char *zagent_cdi_spec_device_name (const zagent_cdi_spec *s, size_t i);
ZAGENT_PUBLIC void zagent_cdi_spec_free (zagent_cdi_spec *s);

/* Every spec file of a list of directories, and the devices they define.  */
typedef struct zagent_cdi_registry zagent_cdi_registry;
/* Load the registry of DIRS.  A broken file, an unreadable directory or
   a device that two files of one directory define is reported in
   *WARNINGS (NULL: dropped), naming the file, and left out; only system
   failures (out of memory) fail.  */
ZAGENT_PUBLIC int zagent_cdi_registry_load (zagent_cdi_registry **out, const char *const *dirs, size_t ndirs,
                                            zagent_error **warnings, zagent_error **err);
/* The directories searched, lowest priority first.  */
ZAGENT_PUBLIC size_t zagent_cdi_registry_dir_count (const zagent_cdi_registry *r);
ZAGENT_PUBLIC const char *zagent_cdi_registry_dir (const zagent_cdi_registry *r, size_t i);
/* The resolvable devices, sorted by qualified name.  */
ZAGENT_PUBLIC size_t zagent_cdi_registry_device_count (const zagent_cdi_registry *r);
/* "vendor/class=name".  */
ZAGENT_PUBLIC const char *zagent_cdi_registry_device_name (const zagent_cdi_registry *r, size_t i);
/* The spec file that defines it.  */
ZAGENT_PUBLIC const char *zagent_cdi_registry_device_spec (const zagent_cdi_registry *r, size_t i);
/* Its file's priority: the index of the file's directory.  */
ZAGENT_PUBLIC int zagent_cdi_registry_device_priority (const zagent_cdi_registry *r, size_t i);
/* The edits of devices NAMES (N of them) merged in the reference order,
   as a CDI containerEdits JSON object: text indented by two spaces,
   without a trailing newline (caller frees).  An invalid name, and names
   no spec defines (one error listing them), are input errors.  */
ZAGENT_PUBLIC int zagent_cdi_resolve (const zagent_cdi_registry *r, const char *const *names, size_t n,
                                      char **json_out, zagent_error **err);
ZAGENT_PUBLIC void zagent_cdi_registry_free (zagent_cdi_registry *r);

/* Also inject the devices named in the config's `cdi.k8s.io/...`
   annotations (comma-separated; keys in sorted order), as an OCI runtime
   shim does.  */
#define ZAGENT_CDI_INJECT_ANNOTATIONS 0x1u

/* Apply CDI devices DEVICES (N of them, each "vendor/class=name") to
   BUNDLE_DIR/config.json, resolved through the registry of CDI_DIRS.
   BUNDLE_DIR is reached without following a symlink and must be private
   (owned by us, not writable by group or others); config.json must be a
   regular file, not a symlink, holding JSON without duplicate keys.  It
   is replaced atomically and keeps its mode; a failure leaves it as it
   was, and with no device to inject it is not rewritten.  The registry's
   warnings go to *WARNINGS (NULL: dropped).  */
ZAGENT_PUBLIC int zagent_cdi_inject_bundle (const char *bundle_dir, const char *const *devices, size_t n,
                                            const char *const *cdi_dirs, size_t ndirs, unsigned flags,
                                            zagent_error **warnings, zagent_error **err);

/* A CDI spec for this host's GPUs of VENDOR ("nvidia", "amd" or "intel"),
   without vendor tools: one device per GPU ("0", "1", ..., NVIDIA also by
   UUID) and "all", the control nodes, and for NVIDIA the driver
   libraries, binaries and firmware mounted read-only.  JSON text indented
   by two spaces, without a trailing newline (caller frees).  HOST_ROOT
   NULL = $ZAGENT_HOST_ROOT, else "/".  An unknown vendor, or a host
   without such a GPU, is an input error.  */
ZAGENT_PUBLIC int zagent_cdi_generate (const char *vendor, const char *host_root, char **json_out,
                                       zagent_error **warnings, zagent_error **err);
/* Install TEXT plus a newline as the spec file PATH, mode 0644, atomically
   (a temp file in PATH's directory, then rename).  A missing directory is
   an input error.  */
ZAGENT_PUBLIC int zagent_cdi_spec_write (const char *path, const char *text, zagent_error **err);

/* ---- CDI generation options, spec refresh and check (issue 14) ------- */

/* Device names for zagent_cdi_generate_ex (repeatable, as nvidia-ctk's
   --device-name-strategy): "0", "GPU-<uuid>", "gpu0"; MIG devices "0:1",
   "mig0:1".  None given: index and uuid (nvidia-ctk's default).  */
#define ZAGENT_CDI_GEN_NAME_INDEX 0x1u
#define ZAGENT_CDI_GEN_NAME_UUID 0x2u
#define ZAGENT_CDI_GEN_NAME_TYPE_INDEX 0x4u
/* No "all" device.  */
#define ZAGENT_CDI_GEN_NO_ALL 0x10u
/* YAML text instead of JSON.  */
#define ZAGENT_CDI_GEN_YAML 0x20u
/* Kind nvidia.com/imex-channel: the host's IMEX channels.  */
#define ZAGENT_CDI_GEN_IMEX 0x40u

/* zagent_cdi_generate with FLAGS (ZAGENT_CDI_GEN_*) and, for NVIDIA,
   createContainer hooks running HOOK_PATH (the zagent-cdi-hook binary,
   absolute; NULL: no hooks, and the libraries also mounted in the
   multiarch directory instead): enable-cuda-compat, create-symlinks
   (libcuda.so) and update-ldcache for the mounted library directories.
   MIG devices and IMEX channels come from procfs and /dev.  */
ZAGENT_PUBLIC int zagent_cdi_generate_ex (const char *vendor, const char *host_root, unsigned flags,
                                          const char *hook_path, char **text_out, zagent_error **warnings,
                                          zagent_error **err);
/* zagent_cdi_spec_write, but only when PATH does not already hold TEXT
   plus a newline; *CHANGED says whether it was written.  */
ZAGENT_PUBLIC int zagent_cdi_spec_refresh (const char *path, const char *text, bool *changed, zagent_error **err);
/* Compare spec files with the live host under HOST_ROOT (NULL =
   $ZAGENT_HOST_ROOT, else "/"): PATHS are files or directories (their
   *.json, *.yaml and *.yml).  Every difference — a device node gone, of
   another type or renumbered, a mounted host file gone, a hook binary
   missing, an invalid file — goes to *JSON_OUT as an array of {file,
   device, what, path, message} (caller frees).  Returns the number of
   differences, or -1 (an unreadable directory, no spec file at all).  */
ZAGENT_PUBLIC int zagent_cdi_check (const char *const *paths, size_t n, const char *host_root, char **json_out,
                                    zagent_error **err);

/* ---- GPUs ----------------------------------------------------------- */

typedef struct zagent_gpu_list zagent_gpu_list;
typedef struct zagent_gpu zagent_gpu;

/* Every GPU of the host under HOST_ROOT (NULL = $ZAGENT_HOST_ROOT, else
   "/"): PCI display controllers and AMD accelerators with their device
   nodes, details from /proc/driver/nvidia and DRM sysfs; without sysfs
   PCI entries, NVIDIA GPUs found by their /dev/nvidiaN nodes.  */
ZAGENT_PUBLIC int zagent_gpu_list_load (zagent_gpu_list **out, const char *host_root, zagent_error **err);
ZAGENT_PUBLIC size_t zagent_gpu_list_count (const zagent_gpu_list *l);
/* The I-th GPU, valid until the list is freed.  */
ZAGENT_PUBLIC const zagent_gpu *zagent_gpu_list_get (const zagent_gpu_list *l, size_t i);
ZAGENT_PUBLIC void zagent_gpu_list_free (zagent_gpu_list *l);
/* "nvidia", "amd", "intel" or "unknown".  */
ZAGENT_PUBLIC const char *zagent_gpu_vendor (const zagent_gpu *g);
/* Per vendor, in PCI address order.  */
ZAGENT_PUBLIC unsigned zagent_gpu_index (const zagent_gpu *g);
/* PCI address ("0000:01:00.0"), model, NVIDIA UUID ("GPU-..."), kernel
   driver (nvidia, amdgpu, i915, xe) and its version: NULL when unknown.  */
ZAGENT_PUBLIC const char *zagent_gpu_pci (const zagent_gpu *g);
ZAGENT_PUBLIC const char *zagent_gpu_model (const zagent_gpu *g);
ZAGENT_PUBLIC const char *zagent_gpu_uuid (const zagent_gpu *g);
ZAGENT_PUBLIC const char *zagent_gpu_driver (const zagent_gpu *g);
ZAGENT_PUBLIC const char *zagent_gpu_driver_version (const zagent_gpu *g);
/* Its device nodes (/dev/nvidia0, /dev/dri/card1, /dev/dri/renderD129).  */
ZAGENT_PUBLIC size_t zagent_gpu_node_count (const zagent_gpu *g);
ZAGENT_PUBLIC const char *zagent_gpu_node (const zagent_gpu *g, size_t i);

/* ---- the runtime shim (zagent-runtime) ------------------------------ */

/* Its configuration file (YAML; docs/shim.md): PATH, else
   $ZAGENT_RUNTIME_CONFIG (both must exist), else the first that exists of
   $XDG_CONFIG_HOME/zagent/runtime.yaml (or $HOME/.config/zagent/...) and
   ZAGENT_SHIM_CONFIG_DEFAULT; none: the defaults.  The file must be root's (or the
   caller's) and writable only by its owner.  The environment overrides
   it: ZAGENT_SHIM_RUNTIME (the runtime), CDI_SPEC_DIRS (the spec
   directories), ZAGENT_RUNTIME_LOG_LEVEL.  */
#define ZAGENT_SHIM_CONFIG_DEFAULT "/etc/zagent/runtime.yaml"
typedef struct zagent_shim_config zagent_shim_config;
ZAGENT_PUBLIC int zagent_shim_config_load (zagent_shim_config **out, const char *path, zagent_error **err);
/* The file read, or NULL when there was none (the defaults).  */
ZAGENT_PUBLIC const char *zagent_shim_config_file (const zagent_shim_config *c);
/* The real runtime, a path or a name looked up on PATH; NULL: runc,
   crun or youki, the first on PATH.  */
ZAGENT_PUBLIC const char *zagent_shim_config_runtime (const zagent_shim_config *c);
/* The shim's own log file (appended to), or NULL for none.  */
ZAGENT_PUBLIC const char *zagent_shim_config_log_file (const zagent_shim_config *c);
/* The least severe level logged there: one of ZAGENT_LOG_*.  */
enum
{
  ZAGENT_LOG_ERROR,
  ZAGENT_LOG_WARNING,
  ZAGENT_LOG_INFO,
  ZAGENT_LOG_DEBUG
};
ZAGENT_PUBLIC int zagent_shim_config_log_level (const zagent_shim_config *c);
ZAGENT_PUBLIC void zagent_shim_config_free (zagent_shim_config *c);
/* The shim's `create`: inject into BUNDLE_DIR/config.json (as strictly
   as zagent_cdi_inject_bundle) the CDI devices the config requests under
   C: annotations with C's prefixes; else, as nvidia-container-runtime
   reads them, the volume-mount list under
   /var/run/nvidia-container-devices and NVIDIA_VISIBLE_DEVICES (refused
   from unprivileged containers unless C accepts it), unqualified names
   of the default kind.  Requests ignored by policy and broken spec files
   are *WARNINGS (NULL: dropped).  */
ZAGENT_PUBLIC int zagent_shim_inject (const zagent_shim_config *c, const char *bundle_dir, zagent_error **warnings,
                                      zagent_error **err);

#ifdef __cplusplus
}
#endif

#endif
