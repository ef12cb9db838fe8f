#define _GNU_SOURCE
#include "runtime/state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

bool
za_container_id_valid (const char *id)
{
  if (!id || !isalnum ((unsigned char) id[0]) || strlen (id) > 1024)
    return false;
  for (const char *p = id; *p; p++)
    if (!isalnum ((unsigned char) *p) && !strchr ("_.+-", *p))
      return false;
  return true;
}

char *
za_state_dir (void)
{
  cleanup_free char *rd = za_run_dir ();
  char *out = NULL;
  if (!rd || asprintf (&out, "%s/containers", rd) < 0)
    return NULL;
  return out;
}

void
za_cstate_clear (struct za_cstate *s)
{
  free (s->id);
  free (s->runtime_name);
  free (s->runtime_path);
  free (s->runtime_root);
  free (s->bundle);
  free (s->layer);
  *s = (struct za_cstate) { 0 };
}

int
za_state_save (const struct za_cstate *s, struct za_err **err)
{
  cleanup_free char *base = za_state_dir (), *dir = NULL, *text = NULL;
  cleanup_close int dfd = -1;
  json_t *j;
  if (!za_container_id_valid (s->id))
    return za_err_set (err, ZA_EINPUT, "invalid container id `%s`", s->id);
  if (!base || asprintf (&dir, "%s/%s", base, s->id) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  j = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:b, s:b, s:b, s:i, s:s?}", "id", s->id,
                 "runtime", s->runtime_name, "runtimePath", s->runtime_path, "runtimeRoot", s->runtime_root,
                 "bundle", s->bundle, "pid", (int) s->pid, "created", (json_int_t) s->created,
                 "stopGraceNs", (json_int_t) s->stop_grace_ns, "keepBundle", s->keep_bundle, "detached",
                 s->detached, "creating", s->creating, "creator", (int) s->creator, "layer", s->layer);
  text = j ? json_dumps (j, JSON_INDENT (2)) : NULL;
  json_decref (j);
  if (!text)
    return za_err_set (err, ENOMEM, "out of memory");
  /* The record's lock made the dir: make it only when it is missing
     (one open instead of a mkdir per path component, twice per run).  */
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 && errno == ENOENT)
    {
      if (za_mkdir_p (dir, 0700, err) < 0)
        return -1;
      dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
  if (dfd < 0)
    return za_err_set (err, errno, "open `%s`: %s", dir, strerror (errno));
  /* A record describes processes, which a reboot ends: the run dir is a
     tmpfs, and an fsync (1-20 ms on a busy disk, twice per run) would buy
     nothing.  The rename keeps it whole against a killed writer.  */
  return za_write_file_atomic_flags_at (dfd, "state.json", text, strlen (text), 0600, ZA_WRITE_NOSYNC, err);
}

static char *
dupstr (json_t *o, const char *k)
{
  const char *v = json_string_value (json_object_get (o, k));
  return v ? strdup (v) : NULL;
}

int
za_state_load (const char *id, struct za_cstate *out, struct za_err **err)
{
  cleanup_free char *base = za_state_dir (), *path = NULL, *data = NULL;
  struct za_err *e = NULL;
  size_t len;
  json_t *j;
  *out = (struct za_cstate) { 0 };
  if (!za_container_id_valid (id))
    return za_err_set (err, ZA_EINPUT, "invalid container id `%s`", id);
  if (!base || asprintf (&path, "%s/%s/state.json", base, id) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  if (access (path, F_OK) < 0)
    return za_err_set (err, ZA_EINPUT, "no such container `%s`", id);
  if (za_read_file_nofollow_at (AT_FDCWD, path, 1 << 20, &data, &len, &e) < 0)
    {
      za_err_append (err, &e);
      return -1;
    }
  j = json_loadb (data, len, 0, NULL);
  if (!j)
    return za_err_set (err, EPROTO, "%s: corrupt state file", path);
  out->id = dupstr (j, "id");
  out->runtime_name = dupstr (j, "runtime");
  out->runtime_path = dupstr (j, "runtimePath");
  out->runtime_root = dupstr (j, "runtimeRoot");
  out->bundle = dupstr (j, "bundle");
  out->pid = (pid_t) json_integer_value (json_object_get (j, "pid"));
  out->created = json_integer_value (json_object_get (j, "created"));
  out->stop_grace_ns = (uint64_t) json_integer_value (json_object_get (j, "stopGraceNs"));
  out->keep_bundle = json_is_true (json_object_get (j, "keepBundle"));
  out->detached = json_is_true (json_object_get (j, "detached"));
  out->creating = json_is_true (json_object_get (j, "creating"));
  out->creator = (pid_t) json_integer_value (json_object_get (j, "creator"));
  out->layer = dupstr (j, "layer");
  json_decref (j);
  if (!out->id || !out->runtime_path || !out->runtime_root || !out->bundle)
    {
      za_cstate_clear (out);
      return za_err_set (err, EPROTO, "%s: incomplete state file", path);
    }
  return 0;
}

int
za_state_remove (const char *id, struct za_err **err)
{
  cleanup_free char *base = za_state_dir (), *rec = NULL;
  cleanup_close int dfd = -1;
  if (!za_container_id_valid (id))
    return za_err_set (err, ZA_EINPUT, "invalid container id `%s`", id);
  if (!base)
    return za_err_set (err, ENOMEM, "out of memory");
  dfd = open (base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return errno == ENOENT ? 0 : za_err_set (err, errno, "open `%s`: %s", base, strerror (errno));
  /* The record before its lock: a waiter that finds no lock and no
     record knows it is gone (za_state_lock_existing).  */
  if (asprintf (&rec, "%s/state.json", id) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  if (unlinkat (dfd, rec, 0) < 0 && errno != ENOENT && errno != ENOTDIR)
    return za_err_sys (err, errno, "remove `%s/%s`", base, rec);
  return za_rm_rf_at (dfd, id, err);
}

bool
za_state_exists (const char *id)
{
  cleanup_free char *base = za_state_dir (), *path = NULL;
  if (!za_container_id_valid (id) || !base || asprintf (&path, "%s/%s/state.json", base, id) < 0)
    return false;
  return access (path, F_OK) == 0;
}

static int lock_record (const char *id, uint64_t wait_ns, bool create, int *fd_out, struct za_err **err);

int
za_state_lock (const char *id, uint64_t wait_ns, int *fd_out, struct za_err **err)
{
  return lock_record (id, wait_ns, true, fd_out, err);
}

int
za_state_lock_existing (const char *id, uint64_t wait_ns, int *fd_out, struct za_err **err)
{
  return lock_record (id, wait_ns, false, fd_out, err);
}

/* CREATE false: a record (dir and lock) removed while we wait is not
   made again; 0 with *FD_OUT -1 then.  A waiter that re-created it would
   leave an empty record behind, or make its remover's rmdir fail.  */
static int
lock_record (const char *id, uint64_t wait_ns, bool create, int *fd_out, struct za_err **err)
{
  cleanup_free char *base = za_state_dir (), *dir = NULL;
  uint64_t end = za_now_ns () + wait_ns;
  *fd_out = -1;
  if (!za_container_id_valid (id))
    return za_err_set (err, ZA_EINPUT, "invalid container id `%s`", id);
  if (!base || asprintf (&dir, "%s/%s", base, id) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  for (;;)
    {
      cleanup_close int dfd = -1, fd = -1;
      struct stat a, b;
      if (create && za_mkdir_p (dir, 0700, err) < 0)
        return -1;
      dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dfd >= 0)
        fd = openat (dfd, "lock", O_RDWR | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          /* A record without its lock file (written by an older zagent,
             or by hand) gets one; with neither, the record is gone.  */
          if (errno == ENOENT && !create && dfd >= 0 && faccessat (dfd, "state.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            fd = openat (dfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
          if (fd >= 0)
            goto locked;
          if (errno == ENOENT && !create)
            return 0; /* gone */
          if (errno == ENOENT)
            continue; /* removed under us: make it again */
          return za_err_set (err, errno, "open `%s/lock`: %s", dir, strerror (errno));
        }
    locked:
      if (flock (fd, LOCK_EX | LOCK_NB) < 0)
        {
          if (errno != EWOULDBLOCK && errno != EINTR)
            return za_err_set (err, errno, "lock `%s/lock`: %s", dir, strerror (errno));
          if (za_now_ns () >= end)
            return za_err_set (err, ZA_EINPUT,
                               "container `%s` is busy: another zagent command is creating or removing it", id);
          nanosleep (&(struct timespec) { 0, 20 * 1000 * 1000 }, NULL);
          continue;
        }
      /* Still the file the path names?  The holder before us may have
         removed the record (and its lock) before it let go.  */
      if (fstat (fd, &a) == 0 && fstatat (dfd, "lock", &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino
          && a.st_dev == b.st_dev)
        {
          *fd_out = steal_fd (&fd);
          return 0;
        }
    }
}

static bool
is_record (int dfd, const char *name, void *ud)
{
  (void) dfd;
  (void) ud;
  return za_container_id_valid (name);
}

int
za_state_list (struct za_strv *ids, struct za_err **err)
{
  cleanup_free char *base = za_state_dir ();
  int e = 0;
  if (!base)
    return za_err_set (err, ENOMEM, "out of memory");
  if (za_dir_list (base, is_record, NULL, ids, &e) < 0)
    return za_err_set (err, e, "read `%s`: %s", base, strerror (e));
  return 0;
}
