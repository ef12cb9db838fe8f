/* The public container API (include/zagent.h, "containers") over the
   runtime layer: records, locks, writable layers and the runtime driver.  */
#define _GNU_SOURCE
#define ZAGENT_BUILDING 1
#include "zagent.h"
#include "api_types.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle/write.h"
#include "runtime/container.h"
#include "runtime/run.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/strv.h"

struct zagent_runtime
{
  struct za_runtime rt;
};

struct zagent_container
{
  struct za_cstate cs; /* owned */
  int lock;            /* held from reservation until start */
  bool started;
};

struct zagent_record
{
  struct za_cstate cs;
  const char *status;
  json_t *state; /* the runtime's, or NULL */
};

/* ---- runtimes ------------------------------------------------------ */

int
zagent_runtime_find (zagent_runtime **out, const char *name_or_path, zagent_error **err)
{
  zagent_runtime *r = calloc (1, sizeof *r);
  *out = NULL;
  if (!r)
    return za_err_set (err, ENOMEM, "out of memory");
  if (za_runtime_find (name_or_path, NULL, &r->rt, err) < 0)
    {
      free (r);
      return -1;
    }
  *out = r;
  return 0;
}

const char *zagent_runtime_name (const zagent_runtime *rt) { return rt ? rt->rt.name : NULL; }

void
zagent_runtime_free (zagent_runtime *rt)
{
  if (!rt)
    return;
  za_runtime_clear (&rt->rt);
  free (rt);
}

/* ---- creating a container ------------------------------------------ */

/* The bundle directory, absolute, known before anything is created so
   the record can name it.  */
static char *
bundle_path (const char *given, const char *id)
{
  char *out = NULL;
  cleanup_free char *cwd = NULL;
  if (!given)
    return za_default_bundle_dir (id);
  if (given[0] == '/')
    return strdup (given);
  cwd = getcwd (NULL, 0);
  return cwd && asprintf (&out, "%s/%s", cwd, given) >= 0 ? out : NULL;
}

static int
new_container (const char *id, const struct za_runtime *rt, const char *bundle, bool image, unsigned flags,
               unsigned long long grace, zagent_container **out, struct za_err **err)
{
  zagent_container *c = calloc (1, sizeof *c);
  if (!c)
    return za_err_set (err, ENOMEM, "out of memory");
  c->lock = -1;
  c->cs = (struct za_cstate) { .id = strdup (id), .runtime_name = strdup (rt->name), .runtime_path = strdup (rt->path),
                               .runtime_root = strdup (rt->root), .bundle = bundle_path (bundle, id),
                               .created = time (NULL), .stop_grace_ns = grace,
                               .keep_bundle = flags & ZAGENT_CONTAINER_KEEP_BUNDLE,
                               .detached = flags & ZAGENT_CONTAINER_DETACH, .creating = true, .creator = getpid (),
                               .layer = image ? za_layer_dir (id) : NULL };
  if (!c->cs.id || !c->cs.runtime_name || !c->cs.runtime_path || !c->cs.runtime_root || !c->cs.bundle
      || (image && !c->cs.layer))
    {
      za_cstate_clear (&c->cs);
      free (c);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  *out = c;
  return 0;
}

/* Undo C's creation (it holds the lock) and free it.  BUNDLE_MADE false:
   the bundle is not ours to remove (bundle_create rolled back what it
   made, and a directory that was there stays).  */
static int
undo_created (zagent_container *c, bool bundle_made, struct za_err **err)
{
  int ret;
  if (!bundle_made)
    {
      free (c->cs.bundle);
      c->cs.bundle = NULL;
    }
  ret = za_container_undo (&c->cs, err);
  if (c->lock >= 0)
    close (c->lock);
  za_cstate_clear (&c->cs);
  free (c);
  return ret;
}

/* The container's files, with the id reserved and the record written:
   its own rootfs over an image, the bundle, and for a detached one the
   log files that become its stdout and stderr (FDS, OUT_FD, ERR_FD).  */
static int
prepare_files (zagent_container *c, const zagent_spec *spec, const zagent_options *o, unsigned flags,
               const int stdio[3], int fds[3], int *out_fd, int *err_fd, bool *bundle_made,
               zagent_error **warnings, struct za_err **err)
{
  cleanup_free char *rootfs = NULL, *made = NULL;

  fds[0] = STDIN_FILENO;
  fds[1] = STDOUT_FILENO;
  fds[2] = STDERR_FILENO;
  if (o->image_rootfs)
    {
      /* The container writes to its own layer, never to the cache.  */
      if (za_layer_create (o->image_rootfs, c->cs.layer, &rootfs, err) < 0)
        return -1;
    }
  if (stdio)
    memcpy (fds, stdio, 3 * sizeof *fds);
  if (za_api_bundle_create (spec, o, rootfs ? rootfs : o->rootfs, c->cs.bundle, &made, warnings, err) < 0)
    return -1;
  *bundle_made = true;
  if (flags & ZAGENT_CONTAINER_DETACH)
    {
      /* A detached container must not hold our stdout (a caller reading
         it to the end would wait for the container).  */
      *out_fd = za_bundle_open_log (c->cs.bundle, "stdout.log", err);
      if (*out_fd < 0 || (*err_fd = za_bundle_open_log (c->cs.bundle, "stderr.log", err)) < 0)
        return -1;
      fds[0] = -1;
      fds[1] = *out_fd;
      fds[2] = *err_fd;
    }
  /* Between the bundle and the runtime: the place for what must exist
     before the container starts (and be named in the record, so that
     za_container_undo removes it).  */
  if (flags & ZAGENT_CONTAINER_REAP)
    prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  return 0;
}

/* Bundle, logs and the runtime's create, with the id reserved and the
   record written.  */
static int
create_in_runtime (zagent_container *c, const zagent_spec *spec, const zagent_options *o,
                   const struct za_runtime *rt, unsigned flags, const int stdio[3], bool *bundle_made,
                   zagent_error **warnings, struct za_err **err)
{
  cleanup_free char *pidfile = NULL;
  cleanup_close int out_fd = -1, err_fd = -1;
  int fds[3];

  if (prepare_files (c, spec, o, flags, stdio, fds, &out_fd, &err_fd, bundle_made, warnings, err) < 0)
    return -1;
  if (asprintf (&pidfile, "%s/init.pid", c->cs.bundle) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  if (za_runtime_create (rt, c->cs.id, c->cs.bundle, pidfile, fds, err) < 0
      || za_read_pid (pidfile, &c->cs.pid, err) < 0)
    return -1;
  c->cs.creating = false;
  return za_state_save (&c->cs, err);
}

/* Reserve the id and write the record: C, ready for its files.  */
static int
reserve_new (const zagent_spec *spec, const zagent_options *o, const zagent_runtime *rt, const char *bundle_dir,
             unsigned flags, zagent_container **out, bool *bundle_existed, struct za_err **err)
{
  cleanup_free char *id = NULL;
  zagent_container *c = NULL;
  unsigned long long grace = 0;
  struct stat st;

  *out = NULL;
  if (!o->rootfs && !o->image_rootfs)
    return za_err_set (err, ZA_EINPUT, "a container needs a root filesystem (rootfs or image layout)");
  if (zagent_container_info (spec, o, &id, &grace, err) < 0)
    return -1;
  if (bundle_dir && !*bundle_dir)
    return za_err_set (err, ZA_EINPUT, "the bundle directory path is empty");
  if (new_container (id, &rt->rt, bundle_dir, o->image_rootfs != NULL, flags, grace, &c, err) < 0)
    return -1;
  /* One container per id, reserved before anything is created.  */
  if (za_container_reserve (&rt->rt, id, &c->lock, err) < 0)
    {
      za_cstate_clear (&c->cs);
      free (c);
      return -1;
    }
  /* A bundle dir that was there before (zagent bundle made it) is not
     ours to remove, on failure or at the end.  */
  *bundle_existed = lstat (c->cs.bundle, &st) == 0;
  if (*bundle_existed)
    c->cs.keep_bundle = true;
  /* The record comes first: a call after a kill at any later point finds
     what to undo.  */
  if (za_state_save (&c->cs, err) < 0)
    {
      struct za_err *e = NULL;
      undo_created (c, false, &e);
      za_err_free (&e);
      return -1;
    }
  *out = c;
  return 0;
}

/* Undo a creation that failed, the cleanup's errors as warnings.  */
static void
undo_failed (zagent_container *c, bool bundle_ours, zagent_error **warnings)
{
  struct za_err *e = NULL;
  if (undo_created (c, bundle_ours, &e) < 0)
    za_err_wrap_all (&e, "cleanup");
  za_err_append (warnings, &e);
}

_Static_assert (ZA_RUN_FAILED == ZAGENT_RUN_FAILED && ZA_RUN_CANNOT_INVOKE == ZAGENT_RUN_CANNOT_INVOKE
                    && ZA_RUN_NOT_FOUND == ZAGENT_RUN_NOT_FOUND, "one convention");

int
zagent_container_run (const zagent_spec *spec, const zagent_options *o, const zagent_runtime *rt,
                      const char *bundle_dir, unsigned flags, const int stdio[3], int signal_fd, int *status,
                      zagent_error **warnings, zagent_error **err)
{
  zagent_container *c = NULL;
  cleanup_close int out_fd = -1, err_fd = -1;
  bool bundle_made = false, bundle_existed = false, detach = flags & ZAGENT_CONTAINER_DETACH;
  struct za_run r = { .detach = detach, .reap = (flags & ZAGENT_CONTAINER_REAP) && !detach,
                      .signal_fd = signal_fd };
  int fds[3], ret;

  *status = ZA_RUN_FAILED;
  if (reserve_new (spec, o, rt, bundle_dir, flags, &c, &bundle_existed, err) < 0)
    return -1;
  if (prepare_files (c, spec, o, flags, stdio, fds, &out_fd, &err_fd, &bundle_made, warnings, err) < 0)
    {
      undo_failed (c, bundle_made && !bundle_existed, warnings);
      return -1;
    }
  r.cs = &c->cs;
  r.lock = &c->lock;
  r.fds = fds;
  ret = za_container_run (&r, err);
  *status = r.status;
  if (ret == 0 && detach)
    {
      /* Running: its record stays for ps, stop and rm.  */
      za_cstate_clear (&c->cs);
      free (c);
      return 0;
    }
  if (c->lock >= 0)
    /* Never handed over (it failed, or ended before we saw it run).  */
    undo_failed (c, bundle_made && !bundle_existed, warnings);
  else
    {
      struct za_err *e = NULL;
      /* Another process (rm -f) may have removed it meanwhile: under the
         lock, undo what the record still says.  */
      if (za_container_undo_id (c->cs.id, &e) < 0)
        za_err_wrap_all (&e, "cleanup");
      za_err_append (warnings, &e);
      za_cstate_clear (&c->cs);
      free (c);
    }
  if (ret < 0)
    return r.shown ? -2 : -1;
  return 0;
}

int
zagent_container_create (const zagent_spec *spec, const zagent_options *o, const zagent_runtime *rt,
                         const char *bundle_dir, unsigned flags, const int stdio[3], zagent_container **out,
                         zagent_error **warnings, zagent_error **err)
{
  zagent_container *c = NULL;
  bool bundle_made = false, bundle_existed = false;

  *out = NULL;
  if (reserve_new (spec, o, rt, bundle_dir, flags, &c, &bundle_existed, err) < 0)
    return -1;
  if (create_in_runtime (c, spec, o, &rt->rt, flags, stdio, &bundle_made, warnings, err) < 0)
    {
      undo_failed (c, bundle_made && !bundle_existed, warnings);
      return -1;
    }
  *out = c;
  return 0;
}

const char *zagent_container_id (const zagent_container *c) { return c->cs.id; }
const char *zagent_container_bundle (const zagent_container *c) { return c->cs.bundle; }
int zagent_container_pid (const zagent_container *c) { return (int) c->cs.pid; }

int
zagent_container_start (zagent_container *c, zagent_error **err)
{
  struct za_runtime rt = { 0 };
  int ret;
  if (c->started)
    return za_err_set (err, ZA_EINPUT, "container `%s` is already started", c->cs.id);
  if (za_runtime_from_record (&c->cs, &rt, err) < 0)
    return -1;
  ret = za_runtime_start (&rt, c->cs.id, err);
  za_runtime_clear (&rt);
  if (ret < 0)
    return -1;
  c->started = true;
  /* Created and started: from here on, rm and stop may act on it.  */
  close (c->lock);
  c->lock = -1;
  return 0;
}

int
zagent_container_wait (zagent_container *c, int signal_fd, int *status, zagent_error **err)
{
  return za_container_wait (c->cs.pid, signal_fd, status, err);
}

int
zagent_container_destroy (zagent_container *c, zagent_error **err)
{
  int ret;
  if (!c)
    return 0;
  if (!c->started)
    return undo_created (c, true, err);
  /* Another process (rm -f) may have removed it meanwhile: under the
     lock, undo what the record still says.  */
  ret = za_container_undo_id (c->cs.id, err);
  za_cstate_clear (&c->cs);
  free (c);
  return ret;
}

void
zagent_container_free (zagent_container *c)
{
  struct za_err *e = NULL;
  if (!c)
    return;
  if (!c->started)
    {
      undo_created (c, true, &e);
      za_err_free (&e);
      return;
    }
  za_cstate_clear (&c->cs);
  free (c);
}

/* ---- records ------------------------------------------------------- */

static void
record_free (zagent_record *r)
{
  if (!r)
    return;
  json_decref (r->state);
  za_cstate_clear (&r->cs);
  free (r);
}

void zagent_record_free (zagent_record *r) { record_free (r); }

void
zagent_record_list_free (zagent_record **v, size_t n)
{
  for (size_t i = 0; i < n && v; i++)
    record_free (v[i]);
  free (v);
}

static void
notice (struct za_err **notices, const char *id, const char *what)
{
  za_err_set (notices, ZA_EINPUT, "%s: %s", id, what);
}

/* One record for the list: NULL when there is none to show (cleared, or
   unreadable: then the reason is in *NOTICES).  */
static zagent_record *
list_one (const char *id, struct za_err **notices)
{
  zagent_record *r;
  if (!za_state_exists (id))
    {
      za_container_clear (id, NULL); /* killed before its record was written */
      return NULL;
    }
  r = calloc (1, sizeof *r);
  if (!r)
    return NULL;
  if (za_state_load (id, &r->cs, notices) < 0)
    {
      record_free (r);
      return NULL;
    }
  r->status = za_container_status (&r->cs, &r->state, notices);
  if (r->status && !strcmp (r->status, "creating") && za_container_clear (id, notices))
    {
      notice (notices, id, "undid an interrupted creation");
      record_free (r);
      return NULL;
    }
  if (r->status && !strcmp (r->status, "gone") && za_container_clear (id, notices))
    {
      notice (notices, id, "the runtime no longer knows it; cleared stale state");
      record_free (r);
      return NULL;
    }
  if (!r->status)
    r->status = "unknown";
  return r;
}

int
zagent_record_list (zagent_record ***out, size_t *n, zagent_error **notices, zagent_error **err)
{
  cleanup_strv struct za_strv ids = { 0 };
  zagent_record **v;
  size_t k = 0;
  *out = NULL;
  *n = 0;
  if (za_state_list (&ids, err) < 0)
    return -1;
  v = calloc (ids.n + 1, sizeof *v);
  if (!v)
    return za_err_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < ids.n; i++)
    {
      zagent_record *r = list_one (ids.v[i], notices);
      if (r)
        v[k++] = r;
    }
  *out = v;
  *n = k;
  return 0;
}

int
zagent_record_get (zagent_record **out, const char *id, zagent_error **err)
{
  zagent_record *r = calloc (1, sizeof *r);
  *out = NULL;
  if (!r)
    return za_err_set (err, ENOMEM, "out of memory");
  if (za_state_load (id, &r->cs, err) < 0 || !(r->status = za_container_status (&r->cs, &r->state, err)))
    {
      record_free (r);
      return -1;
    }
  if (!strcmp (r->status, "gone"))
    {
      za_container_clear (id, NULL);
      record_free (r);
      return za_err_set (err, ZA_EINPUT,
                         "container `%s` is gone (the runtime no longer knows it); cleared its state", id);
    }
  *out = r;
  return 0;
}

const char *zagent_record_id (const zagent_record *r) { return r->cs.id; }
const char *zagent_record_status (const zagent_record *r) { return r->status; }
int zagent_record_pid (const zagent_record *r) { return (int) r->cs.pid; }
const char *zagent_record_runtime (const zagent_record *r) { return r->cs.runtime_name; }
const char *zagent_record_bundle (const zagent_record *r) { return r->cs.bundle; }
long long zagent_record_created (const zagent_record *r) { return (long long) r->cs.created; }

char *
zagent_record_to_json (const zagent_record *r)
{
  json_t *o = json_pack ("{s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:b, s:O?}", "id", r->cs.id, "status", r->status,
                         "pid", (int) r->cs.pid, "bundle", r->cs.bundle, "runtime", r->cs.runtime_name,
                         "runtimeRoot", r->cs.runtime_root, "created", (json_int_t) r->cs.created, "keepBundle",
                         r->cs.keep_bundle, "runtimeState", r->state);
  char *text = o ? json_dumps (o, JSON_INDENT (2)) : NULL;
  json_decref (o);
  return text;
}

/* ---- by id ---------------------------------------------------------- */

int
zagent_container_stop (const char *id, unsigned long long grace_ns, zagent_error **err)
{
  return za_container_stop (id, grace_ns, err);
}

int
zagent_container_remove (const char *id, bool force, zagent_error **err)
{
  return za_container_remove (id, force, err);
}
