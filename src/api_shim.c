/* The public API (include/zagent.h) of the runtime shim zagent-runtime:
   its configuration file and its `create`.

   The file is YAML, read by the same schema-driven decoder as the
   deployment spec (unknown keys and wrong types are errors with
   file:line:col), so no second parser comes in for it.  Its keys are
   nvidia-container-runtime's where one exists (docs/shim.md).  An empty
   default file and no file at the default path both mean the defaults;
   a file the caller names must exist.  The environment overrides the
   file: conmon drops the environment, so under podman the file is the
   way in; a test or a user running the shim by hand can still override
   one setting.  */
#define _GNU_SOURCE
#define ZAGENT_BUILDING 1
#include "zagent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdi/cdi.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "yaml/decode.h"

#define SHIM_CONFIG_MAX (1u << 20)

struct shim_file
{
  struct za_str runtime, log_file, default_kind;
  struct za_enum log_level;
  struct za_strlist spec_dirs, annotation_prefixes;
  struct za_bool env_unprivileged, volume_mounts, device_requests;
};

#define F(nm, ty, member, ...) ZA_FIELD (struct shim_file, nm, ty, member, __VA_ARGS__)
static const struct za_field shim_fields[] = {
  F ("runtime", ZA_FT_STR, runtime),
  F ("cdi-spec-dirs", ZA_FT_STRLIST, spec_dirs),
  F ("log-file", ZA_FT_STR, log_file),
  F ("log-level", ZA_FT_ENUM, log_level, .names = (const char *const[]) { "error", "warning", "info", "debug", NULL }),
  F ("annotation-prefixes", ZA_FT_STRLIST, annotation_prefixes),
  F ("default-kind", ZA_FT_STR, default_kind),
  F ("nvidia-device-requests", ZA_FT_BOOL, device_requests),
  F ("accept-nvidia-visible-devices-envvar-when-unprivileged", ZA_FT_BOOL, env_unprivileged),
  F ("accept-nvidia-visible-devices-as-volume-mounts", ZA_FT_BOOL, volume_mounts),
};
#undef F
static const struct za_schema shim_schema = ZA_SCHEMA (struct shim_file, "zagent-runtime config", shim_fields);

struct zagent_shim_config
{
  struct za_arena arena;
  char *file; /* the file read, or NULL */
  const char *runtime, *log_file;
  int log_level;
  const char **dirs, **prefixes;
  size_t ndirs, nprefixes;
  struct za_cdi_request_opts req;
};

/* The file may choose the program run as root: it must be root's (or
   ours) and writable by nobody else, as sudoers or a systemd unit.  */
static int
check_owner (int fd, const char *path, struct za_err **err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return za_err_sys (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is not a regular file", path);
  if ((st.st_uid != 0 && st.st_uid != geteuid ()) || (st.st_mode & 022))
    return za_err_set (err, ZA_EINPUT, "`%s` must be owned by root (or uid %u) and writable only by its owner",
                       path, (unsigned) geteuid ());
  return 0;
}

/* Read and decode PATH into F; a missing file is fine when OPTIONAL.
   Problems of the content go to *BAD (so that the value checks can add
   theirs: every problem at once), others fail at once.  */
static int
read_file (zagent_shim_config *c, const char *path, bool optional, struct shim_file *f, struct za_err **bad,
           struct za_err **err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  cleanup_free char *data = NULL;
  struct za_node *root = NULL;
  struct za_dctx dc;
  size_t len = 0;
  if (fd < 0 && errno == ENOENT && optional)
    return 0;
  if (fd < 0)
    return za_err_sys_as (err, errno == ENOENT ? ZA_EINPUT : errno, errno, "open `%s`", path);
  if (check_owner (fd, path, err) < 0 || za_read_fd (fd, path, SHIM_CONFIG_MAX, &data, &len, err) < 0)
    return -1;
  if (!(c->file = strdup (path)))
    return za_err_set (err, ENOMEM, "out of memory");
  if (za_yaml_parse (&c->arena, c->file, data, len, NULL, &root, err) < 0)
    return -1;
  if (!root)
    return 0;
  dc = (struct za_dctx) { .arena = &c->arena, .file = c->file, .errs = ZA_ERRS_INIT (ZA_ERRS_MAX) };
  za_decode (&dc, &shim_schema, root, f);
  za_errs_finish (&dc.errs, bad);
  return 0;
}

/* A list of the file as a NULL-free array in the arena.  */
static const char **
list_of (struct za_arena *a, const struct za_strlist *l)
{
  const char **v = za_arena_calloc (a, l->n + 1, sizeof *v);
  for (size_t i = 0; v && i < l->n; i++)
    v[i] = l->v[i].s;
  return v;
}

static int
check_values (const struct shim_file *f, const char *file, struct za_err **err)
{
  struct za_errs e = ZA_ERRS_INIT (ZA_ERRS_MAX);
  char buf[512];
  if (f->spec_dirs.set && f->spec_dirs.n == 0)
    za_errs_at (&e, file, &f->spec_dirs.m, "cdi-spec-dirs", "must name at least one directory");
  for (size_t i = 0; i < f->spec_dirs.n; i++)
    if (!f->spec_dirs.v[i].s || f->spec_dirs.v[i].s[0] != '/')
      za_errs_at (&e, file, &f->spec_dirs.v[i].m, "cdi-spec-dirs", "must be an absolute path");
  if (f->runtime.s && !*f->runtime.s)
    za_errs_at (&e, file, &f->runtime.m, "runtime", "must not be empty");
  if (f->log_file.s && f->log_file.s[0] != '/')
    za_errs_at (&e, file, &f->log_file.m, "log-file", "must be an absolute path");
  for (size_t i = 0; i < f->annotation_prefixes.n; i++)
    if (!f->annotation_prefixes.v[i].s || !*f->annotation_prefixes.v[i].s)
      za_errs_at (&e, file, &f->annotation_prefixes.v[i].m, "annotation-prefixes", "must not be empty");
  /* A kind is checked as the kind of a device name would be.  */
  if (f->default_kind.s)
    {
      cleanup_free char *q = NULL;
      const char *why = asprintf (&q, "%s=x", f->default_kind.s) < 0 ? "out of memory"
                                                                     : za_cdi_qualified_problem (q, buf, sizeof buf);
      if (why)
        za_errs_at (&e, file, &f->default_kind.m, "default-kind", "invalid kind: %s", why);
    }
  return za_errs_finish (&e, err);
}

static int
apply_file (zagent_shim_config *c, const struct shim_file *f)
{
  static const char *const cdi_prefix[] = { "cdi.k8s.io/", NULL };
  c->runtime = f->runtime.s;
  c->log_file = f->log_file.s;
  c->log_level = f->log_level.set ? f->log_level.v : ZAGENT_LOG_WARNING;
  c->ndirs = f->spec_dirs.n;
  c->prefixes = f->annotation_prefixes.set ? list_of (&c->arena, &f->annotation_prefixes) : (const char **) cdi_prefix;
  c->nprefixes = f->annotation_prefixes.set ? f->annotation_prefixes.n : 1;
  if (!c->prefixes || !(c->dirs = list_of (&c->arena, &f->spec_dirs)))
    return -1;
  c->req = (struct za_cdi_request_opts) {
    .annotation_prefixes = c->prefixes,
    .nprefixes = c->nprefixes,
    .device_requests = f->device_requests.set ? f->device_requests.v : true,
    .volume_mounts = f->volume_mounts.set && f->volume_mounts.v,
    .env_unprivileged = f->env_unprivileged.set && f->env_unprivileged.v,
    .default_kind = f->default_kind.s ? f->default_kind.s : ZA_CDI_DEFAULT_KIND,
  };
  return 0;
}

/* The environment's overrides.  CDI_SPEC_DIRS is left to the registry,
   which reads it itself when no directory is given.  */
static int
apply_env (zagent_shim_config *c, struct za_err **err)
{
  static const char *const levels[] = { "error", "warning", "info", "debug" };
  const char *rt = getenv ("ZAGENT_SHIM_RUNTIME"), *lv = getenv ("ZAGENT_RUNTIME_LOG_LEVEL");
  const char *dirs = getenv ("CDI_SPEC_DIRS");
  if (rt && *rt)
    c->runtime = rt;
  if (dirs && *dirs)
    c->ndirs = 0;
  if (lv && *lv)
    {
      for (int i = 0; i < 4; i++)
        if (!strcmp (lv, levels[i]))
          {
            c->log_level = i;
            return 0;
          }
      return za_err_set (err, ZA_EINPUT, "ZAGENT_RUNTIME_LOG_LEVEL: expected error, warning, info or debug");
    }
  return 0;
}

/* The user's file, as XDG says ($XDG_CONFIG_HOME, else $HOME/.config),
   in the arena; NULL when neither is an absolute path.  conmon keeps
   HOME where it drops everything else, so this is how podman users
   without /etc reach the shim (nvidia-container-runtime reads
   $XDG_CONFIG_HOME the same way).  */
static const char *
user_file (struct za_arena *a)
{
  const char *x = getenv ("XDG_CONFIG_HOME"), *home = getenv ("HOME");
  if (x && x[0] == '/')
    return za_arena_printf (a, "%s/zagent/runtime.yaml", x);
  if (home && home[0] == '/')
    return za_arena_printf (a, "%s/.config/zagent/runtime.yaml", home);
  return NULL;
}

int
zagent_shim_config_load (zagent_shim_config **out, const char *path, zagent_error **err)
{
  const char *env = getenv ("ZAGENT_RUNTIME_CONFIG");
  struct shim_file f = { 0 };
  zagent_shim_config *c = calloc (1, sizeof *c);
  cleanup_err struct za_err *bad = NULL;
  *out = NULL;
  if (!c)
    return za_err_set (err, ENOMEM, "out of memory");
  if (!path && env && *env)
    path = env;
  if (path)
    {
      if (read_file (c, path, false, &f, &bad, err) < 0)
        goto fail;
    }
  else
    {
      /* The first that exists: the user's, then the system's.  */
      const char *user = user_file (&c->arena);
      if ((user && read_file (c, user, true, &f, &bad, err) < 0)
          || (!c->file && read_file (c, ZAGENT_SHIM_CONFIG_DEFAULT, true, &f, &bad, err) < 0))
        goto fail;
    }
  check_values (&f, c->file, &bad);
  if (bad)
    {
      za_err_append (err, &bad);
      goto fail;
    }
  if (apply_file (c, &f) < 0)
    {
      za_err_set (err, ENOMEM, "out of memory");
      goto fail;
    }
  if (apply_env (c, err) < 0)
    goto fail;
  *out = c;
  return 0;
fail:
  zagent_shim_config_free (c);
  return -1;
}

const char *zagent_shim_config_file (const zagent_shim_config *c) { return c->file; }
const char *zagent_shim_config_runtime (const zagent_shim_config *c) { return c->runtime; }
const char *zagent_shim_config_log_file (const zagent_shim_config *c) { return c->log_file; }
int zagent_shim_config_log_level (const zagent_shim_config *c) { return c->log_level; }

void
zagent_shim_config_free (zagent_shim_config *c)
{
  if (!c)
    return;
  za_arena_release (&c->arena);
  free (c->file);
  free (c);
}

int
zagent_shim_inject (const zagent_shim_config *c, const char *bundle_dir, zagent_error **warnings,
                    zagent_error **err)
{
  if (!bundle_dir)
    return za_err_set (err, ZA_EINPUT, "no bundle directory");
  return za_cdi_inject_bundle (bundle_dir, NULL, 0, c->ndirs ? c->dirs : NULL, c->ndirs, &c->req, warnings, err);
}
