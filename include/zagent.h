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

#ifdef __cplusplus
}
#endif

#endif
