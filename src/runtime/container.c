#define _GNU_SOURCE
#include "runtime/container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bundle/write.h"
#include "image/store.h"
#include "util/strv.h"
#include "util/cleanup.h"
#include "util/fs.h"

char *
za_layer_dir (const char *id)
{
  cleanup_free char *data = za_data_dir ();
  char *out = NULL;
  if (!data || asprintf (&out, "%s/containers/%s", data, id) < 0)
    return NULL;
  return out;
}

/* The overlay option string cannot quote ',', ':' or '\'; such paths get
   the copy instead.  */
static bool
overlay_safe (const char *p)
{
  return !strpbrk (p, ",:\\");
}

/* LOWERS ("a:b:c", top first) split into its dirs.  */
static int
split_lowers (const char *lowers, struct za_strv *out)
{
  cleanup_free char *copy = strdup (lowers);
  char *save = NULL;
  if (!copy)
    return -1;
  for (char *p = strtok_r (copy, ":", &save); p; p = strtok_r (NULL, ":", &save))
    if (za_strv_push (out, p) < 0)
      return -1;
  return out->n ? 0 : -1;
}

/* The new mount API takes the lower dirs one at a time ("lowerdir+",
   Linux 6.8), so an image of any number of layers fits: the old option
   string is bounded by a page.  -1 with errno EINVAL when the kernel
   lacks it.  */
static int
mount_overlay_fsconfig (const struct za_strv *lowers, const char *dir, const char *target)
{
  cleanup_close int fs = -1, mnt = -1;
  cleanup_free char *upper = NULL, *work = NULL;
  if (asprintf (&upper, "%s/diff", dir) < 0 || asprintf (&work, "%s/work", dir) < 0)
    return -1;
  fs = (int) syscall (SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return -1;
  for (size_t i = 0; i < lowers->n; i++)
    if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+", lowers->v[i], 0) < 0)
      return -1;
  if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0
      || syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0
      || syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  mnt = (int) syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return -1;
  return (int) syscall (SYS_move_mount, mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

static int
mount_overlay (const char *lower, const struct za_strv *lowers, const char *dir, const char *target)
{
  cleanup_free char *opts = NULL;
  if (geteuid () != 0 || !overlay_safe (dir))
    return -1;
  for (size_t i = 0; i < lowers->n; i++)
    if (!overlay_safe (lowers->v[i]))
      return -1;
  if (mount_overlay_fsconfig (lowers, dir, target) == 0)
    return 0;
  if (asprintf (&opts, "lowerdir=%s,upperdir=%s/diff,workdir=%s/work", lower, dir, dir) < 0)
    return -1;
  if (strlen (opts) >= (size_t) sysconf (_SC_PAGESIZE))
    return -1; /* too many layers for the option string: the copy */
  return mount ("overlay", target, "overlay", 0, opts);
}

/* cp -a keeps owners, modes, links and times; it is what every host has.  */
static int
copy_tree (const char *from, const char *to, struct za_err **err)
{
  cleanup_free char *src = NULL;
  pid_t pid;
  int st = 0;
  if (asprintf (&src, "%s/.", from) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  pid = fork ();
  if (pid < 0)
    return za_err_set (err, errno, "fork: %s", strerror (errno));
  if (pid == 0)
    {
      sigset_t none;
      int nul = open ("/dev/null", O_RDWR);
      prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      if (nul >= 0)
        dup2 (nul, STDIN_FILENO), dup2 (nul, STDOUT_FILENO);
      execlp ("cp", "cp", "-a", "--reflink=auto", "--", src, to, (char *) NULL);
      _exit (127);
    }
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      return za_err_set (err, errno, "waitpid: %s", strerror (errno));
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    return za_err_set (err, EIO, "copying the image rootfs into `%s` failed", to);
  return 0;
}

/* The copy of a stack of store layers (overlay lower dirs, whiteouts in
   overlay form): bottom up, each layer's whiteouts and opaque dirs
   remove what is below before its files are copied over, and the
   whiteout devices themselves are removed after.  The layers are the
   store's (trusted); nftw walks them, never the rootfs.  */
static const char *copy_layer_dir, *copy_rootfs;
static int copy_pass; /* 0: remove what is hidden, 1: remove the whiteouts */

static bool
is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

static int
copy_visit (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  cleanup_free char *dst = NULL;
  char v[2];
  bool opaque;
  (void) type;
  if (ftw->level == 0)
    return 0;
  if (asprintf (&dst, "%s/%s", copy_rootfs, path + strlen (copy_layer_dir) + 1) < 0)
    return -1;
  opaque = S_ISDIR (st->st_mode)
           && (lgetxattr (path, "trusted.overlay.opaque", v, sizeof v) == 1
               || lgetxattr (path, "user.overlay.opaque", v, sizeof v) == 1)
           && v[0] == 'y';
  if ((copy_pass == 0 && (is_whiteout (st) || opaque)) || (copy_pass == 1 && is_whiteout (st)))
    za_rm_rf_at (AT_FDCWD, dst, NULL);
  return 0;
}

static int
copy_layers (const struct za_strv *lowers, const char *to, struct za_err **err)
{
  if (lowers->n == 1)
    return copy_tree (lowers->v[0], to, err);
  copy_rootfs = to;
  for (size_t i = lowers->n; i-- > 0;)
    {
      copy_layer_dir = lowers->v[i];
      copy_pass = 0;
      if (nftw (lowers->v[i], copy_visit, 16, FTW_PHYS) < 0)
        return za_err_sys (err, errno, "read layer `%s`", lowers->v[i]);
      if (copy_tree (lowers->v[i], to, err) < 0)
        return -1;
      copy_pass = 1;
      if (nftw (lowers->v[i], copy_visit, 16, FTW_PHYS) < 0)
        return za_err_sys (err, errno, "read layer `%s`", lowers->v[i]);
    }
  return 0;
}

static int
make_layer_dirs (const char *dir, struct za_err **err)
{
  cleanup_free char *parent = strdup (dir);
  char *slash = parent ? strrchr (parent, '/') : NULL;
  if (!parent)
    return za_err_set (err, ENOMEM, "out of memory");
  if (slash && slash != parent)
    {
      *slash = '\0';
      if (za_mkdir_p (parent, 0700, err) < 0)
        return -1;
    }
  if (mkdir (dir, 0700) < 0)
    return za_err_set (err, errno, "create `%s`: %s", dir, strerror (errno));
  for (int i = 0; i < 3; i++)
    {
      static const char *const names[] = { "diff", "work", "rootfs" };
      cleanup_free char *sub = NULL;
      if (asprintf (&sub, "%s/%s", dir, names[i]) < 0)
        return za_err_set (err, ENOMEM, "out of memory");
      if (mkdir (sub, i == 2 ? 0755 : 0700) < 0)
        return za_err_set (err, errno, "create `%s`: %s", sub, strerror (errno));
    }
  return 0;
}

/* IMAGE_ROOTFS is one cached tree, or the store's lower dirs of an image
   ("a:b:c", top first).  */
int
za_layer_create (const char *image_rootfs, const char *dir, char **rootfs_out, struct za_err **err)
{
  cleanup_free char *rootfs = NULL, *sub = NULL;
  cleanup_strv struct za_strv lowers = { 0 };
  cleanup_close int hold = -1;
  struct stat st;
  if (asprintf (&rootfs, "%s/rootfs", dir) < 0 || split_lowers (image_rootfs, &lowers) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  /* The store keeps these layers while we hold it: prune and rmi wait
     until the lowers file below says a container uses them.  */
  if (lowers.n > 1 || strstr (image_rootfs, "/images/layers/"))
    if (za_store_hold (image_rootfs, &hold, err) < 0)
      return -1;
  if (make_layer_dirs (dir, err) < 0)
    {
      za_layer_remove (dir, NULL);
      return -1;
    }
  /* What prune must keep while this container lives.  */
  {
    cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0
        || za_write_file_atomic_at (dfd, ZA_STORE_LOWERS_FILE, image_rootfs, strlen (image_rootfs), 0600, err) < 0)
      {
        if (dfd < 0)
          za_err_sys (err, errno, "open `%s`", dir);
        za_layer_remove (dir, NULL);
        return za_err_wrap (err, "record the lower dirs of `%s`", dir);
      }
  }
  /* The overlay's root takes its owner and mode from the upper dir: give
     it the image's, or a 0700 "/" locks out every non-root user.  */
  if (stat (lowers.v[0], &st) < 0 || asprintf (&sub, "%s/diff", dir) < 0 || chmod (sub, st.st_mode & 07777) < 0
      || chown (sub, st.st_uid, st.st_gid) < 0)
    {
      int e = errno;
      za_layer_remove (dir, NULL);
      return za_err_set (err, e, "prepare `%s/diff`: %s", dir, strerror (e));
    }
  if (mount_overlay (image_rootfs, &lowers, dir, rootfs) < 0 && copy_layers (&lowers, rootfs, err) < 0)
    {
      za_layer_remove (dir, NULL);
      return -1;
    }
  *rootfs_out = steal_pointer (&rootfs);
  return 0;
}

int
za_layer_remove (const char *dir, struct za_err **err)
{
  cleanup_free char *rootfs = NULL;
  struct stat st;
  if (lstat (dir, &st) < 0)
    return errno == ENOENT ? 0 : za_err_set (err, errno, "stat `%s`: %s", dir, strerror (errno));
  if (!S_ISDIR (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is not a directory", dir);
  if (asprintf (&rootfs, "%s/rootfs", dir) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  /* Detach: a process still holding the mount must not keep us from
     removing the dir; za_rm_rf_at never crosses into a mount that is
     still there, so the shared image below is safe either way.  EPERM:
     a rootless caller, which could not mount there either (its layer is
     a private copy).  */
  if (umount2 (rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT
      && !(errno == EPERM && geteuid () != 0))
    return za_err_set (err, errno, "unmount `%s`: %s", rootfs, strerror (errno));
  if (za_rm_rf_at (AT_FDCWD, dir, err) < 0)
    return za_err_wrap (err, "remove `%s`", dir);
  return 0;
}

int
za_runtime_from_record (const struct za_cstate *cs, struct za_runtime *rt, struct za_err **err)
{
  *rt = (struct za_runtime) { .name = strdup (cs->runtime_name ? cs->runtime_name : "runtime"),
                              .path = strdup (cs->runtime_path), .root = strdup (cs->runtime_root) };
  if (!rt->name || !rt->path || !rt->root)
    {
      za_runtime_clear (rt);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  if (za_runtime_timeout_from_env (&rt->timeout_ns, err) < 0)
    {
      za_runtime_clear (rt);
      return -1;
    }
  return 0;
}

int
za_container_undo (const struct za_cstate *cs, struct za_err **err)
{
  struct za_runtime rt = { 0 };
  struct za_err *e = NULL;
  int ret = 0;
  /* The steps, in order; what a record names is undone here (a network
     namespace goes between the runtime and the layer).  */
  if (za_runtime_from_record (cs, &rt, &e) == 0)
    {
      /* Each runtime call is a process start (tens of ms for runc):
         delete directly instead of asking first.  */
      if (za_runtime_known (&rt, cs->id) && za_runtime_delete (&rt, cs->id, true, &e) < 0
          && za_runtime_known (&rt, cs->id))
        ret = -1;
      za_runtime_clear (&rt);
    }
  else
    ret = -1;
  if (ret < 0)
    {
      /* The runtime still has it (or cannot say): its rootfs and bundle
         may be in use, and the record is the only way back to it.  */
      za_err_append (err, &e);
      return -1;
    }
  if (cs->layer && za_layer_remove (cs->layer, &e) < 0)
    ret = -1;
  if (!cs->keep_bundle && cs->bundle && za_bundle_cleanup (cs->bundle, &e) < 0)
    ret = -1;
  /* Keep the record while the runtime still has the container: it is
     the only way back to it.  */
  if (ret == 0 && za_state_remove (cs->id, &e) < 0)
    ret = -1;
  za_err_append (err, &e);
  return ret;
}

int
za_container_reserve (const struct za_runtime *rt, const char *id, int *lock_out, struct za_err **err)
{
  cleanup_close int fd = -1;
  *lock_out = -1;
  if (za_state_lock (id, 0, &fd, err) < 0)
    return -1;
  if (za_state_exists (id))
    {
      struct za_cstate cs = { 0 };
      const char *status = NULL;
      json_t *st = NULL;
      int ret = 0;
      if (za_state_load (id, &cs, err) < 0)
        return -1;
      /* A record still marked creating whose lock we hold: its creator
         is dead.  Otherwise only a definite "gone" frees the id.  */
      if (!cs.creating)
        {
          status = za_container_status (&cs, &st, err);
          if (!status)
            ret = -1;
          else if (strcmp (status, "gone") != 0)
            ret = za_err_set (err, ZA_EINPUT, "container `%s` already exists (zagent rm -f %s)", id, id);
        }
      if (ret == 0 && za_container_undo (&cs, err) < 0)
        ret = -1;
      json_decref (st);
      za_cstate_clear (&cs);
      if (ret < 0)
        return -1;
    }
  if (za_runtime_known (rt, id))
    {
      /* Leave nothing in its name: the lock's dir was made for us.  */
      za_state_remove (id, NULL);
      return za_err_set (err, ZA_EINPUT,
                       "%s already has a container `%s` that zagent did not start (%s --root %s delete %s)",
                       rt->name, id, rt->name, rt->root, id);
    }
  *lock_out = steal_fd (&fd);
  return 0;
}

int
za_read_pid (const char *pidfile, pid_t *pid, struct za_err **err)
{
  cleanup_free char *data = NULL;
  long v;
  if (za_read_file (pidfile, 64, &data, NULL, err) < 0)
    return -1;
  v = strtol (data, NULL, 10);
  if (v <= 0)
    return za_err_set (err, EPROTO, "%s: no pid", pidfile);
  *pid = (pid_t) v;
  return 0;
}

int
za_container_wait (pid_t pid, int signal_fd, int *status, struct za_err **err)
{
  for (;;)
    {
      struct pollfd p = { .fd = signal_fd, .events = POLLIN };
      struct signalfd_siginfo si;
      int st;
      pid_t w;
      /* Reap first: the container may have exited before we got here.  */
      while ((w = waitpid (-1, &st, WNOHANG)) > 0)
        if (w == pid)
          {
            *status = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
            return 0;
          }
      if (w < 0 && errno == ECHILD)
        {
          *status = 128 + SIGKILL; /* gone without us seeing it */
          return 0;
        }
      /* Wake at least every 100 ms: a signalfd without SIGCHLD in its
         mask (or none) must not keep us from seeing the exit.  */
      if (poll (&p, signal_fd >= 0 ? 1 : 0, 100) < 0)
        {
          if (errno == EINTR)
            continue;
          return za_err_set (err, errno, "poll: %s", strerror (errno));
        }
      if (signal_fd < 0 || !(p.revents & POLLIN) || read (signal_fd, &si, sizeof si) != sizeof si)
        continue;
      if (si.ssi_signo != SIGCHLD)
        kill (pid, (int) si.ssi_signo);
    }
}

int
za_container_undo_id (const char *id, struct za_err **err)
{
  struct za_cstate cs = { 0 };
  cleanup_close int lock = -1;
  int ret = 0;
  if (za_state_lock_existing (id, ZA_LOCK_WAIT_NS, &lock, err) < 0)
    return -1;
  if (lock >= 0 && za_state_exists (id) && (za_state_load (id, &cs, err) < 0 || za_container_undo (&cs, err) < 0))
    ret = -1;
  za_cstate_clear (&cs);
  return ret;
}

const char *
za_container_status (const struct za_cstate *cs, json_t **state_out, struct za_err **err)
{
  struct za_runtime rt = { 0 };
  json_t *st = NULL;
  const char *s = NULL;
  if (state_out)
    *state_out = NULL;
  if (cs->creating)
    return "creating";
  if (za_runtime_from_record (cs, &rt, err) < 0)
    return NULL;
  if (za_runtime_state (&rt, cs->id, &st, err) == 0)
    {
      /* The status string lives in ST: hand back a static equivalent.  */
      static const char *const known[] = { "creating", "created", "running", "paused", "stopped", NULL };
      const char *v = za_runtime_status (st);
      s = st ? "unknown" : "gone";
      for (int i = 0; v && known[i]; i++)
        if (!strcmp (v, known[i]))
          s = known[i];
    }
  za_runtime_clear (&rt);
  if (state_out)
    *state_out = st;
  else
    json_decref (st);
  return s;
}

bool
za_container_clear (const char *id, struct za_err **err)
{
  cleanup_close int lock = -1;
  struct za_cstate cs = { 0 };
  struct za_err *e = NULL;
  bool done = false;
  if (za_state_lock (id, 0, &lock, &e) == 0)
    {
      if (!za_state_exists (id))
        done = za_state_remove (id, &e) == 0; /* killed before its record was written */
      else if (za_state_load (id, &cs, &e) == 0 && za_container_undo (&cs, &e) == 0)
        done = true;
    }
  else
    za_err_free (&e); /* busy: its holder finishes the job */
  za_err_append (err, &e);
  za_cstate_clear (&cs);
  return done;
}

/* Poll the runtime until the container is stopped or TIMEOUT passes.  */
static bool
wait_stopped (const struct za_cstate *cs, uint64_t timeout_ns)
{
  uint64_t end = za_now_ns () + timeout_ns;
  do
    {
      struct za_err *e = NULL;
      const char *s = za_container_status (cs, NULL, &e);
      za_err_free (&e);
      if (s && (!strcmp (s, "stopped") || !strcmp (s, "gone")))
        return true;
      nanosleep (&(struct timespec) { 0, 100 * 1000 * 1000 }, NULL);
    }
  while (za_now_ns () < end);
  return false;
}

static int
kill_all (const struct za_cstate *cs, int sig, bool all)
{
  struct za_runtime rt = { 0 };
  int ret = -1;
  if (za_runtime_from_record (cs, &rt, NULL) == 0)
    {
      struct za_err *e = NULL;
      ret = za_runtime_kill (&rt, cs->id, sig, all, &e);
      /* `kill --all` walks the container's cgroup; a rootless container
         without a delegated cgroup has none and runc refuses.  Its init
         then: the container has its own pid namespace, whose processes
         all die with it.  (Not after a timeout: a hung runtime gets one
         bounded wait, not two.)  */
      if (ret < 0 && all && !(e && e->code == ETIMEDOUT))
        ret = za_runtime_kill (&rt, cs->id, sig, false, NULL);
      za_err_free (&e);
    }
  za_runtime_clear (&rt);
  return ret;
}

int
za_container_stop (const char *id, uint64_t grace_ns, struct za_err **err)
{
  struct za_cstate cs = { 0 };
  const char *s;
  int ret = 0;
  if (za_state_load (id, &cs, err) < 0)
    return -1;
  if (!grace_ns)
    grace_ns = cs.stop_grace_ns ? cs.stop_grace_ns : ZA_DEFAULT_STOP_GRACE_NS;
  if (cs.creating)
    ret = za_err_set (err, ZA_EINPUT, "container `%s` is being created; try again, or zagent rm -f %s", id, id);
  else if (!(s = za_container_status (&cs, NULL, err)))
    ret = -1;
  else if (!strcmp (s, "running") || !strcmp (s, "created") || !strcmp (s, "paused"))
    {
      if (!(kill_all (&cs, SIGTERM, false) == 0 && wait_stopped (&cs, grace_ns)))
        {
          kill_all (&cs, SIGKILL, true);
          if (!wait_stopped (&cs, 10ull * 1000000000ull))
            ret = za_err_set (err, ETIMEDOUT, "container `%s` did not stop after SIGKILL", id);
        }
    }
  za_cstate_clear (&cs);
  return ret;
}

int
za_container_remove (const char *id, bool force, struct za_err **err)
{
  struct za_cstate cs = { 0 };
  cleanup_close int lock = -1;
  int ret = 0;
  /* Check the id before the lock creates anything in its name.  */
  if (!za_state_exists (id))
    return za_err_set (err, ZA_EINPUT, "no such container `%s`", id);
  if (za_state_lock_existing (id, ZA_LOCK_WAIT_NS, &lock, err) < 0)
    return -1;
  if (lock < 0)
    return za_err_set (err, ZA_EINPUT, "no such container `%s`", id); /* removed meanwhile */
  if (za_state_load (id, &cs, err) < 0)
    return -1;
  /* An interrupted creation (its creator died: we hold the lock) has
     nothing to stop; undo what it made.  Forced, the runtime's `delete
     --force` kills and deletes in one process (as `runc delete -f`):
     asking for the state first would cost a runtime start, and one that
     cannot answer fails the delete the same way, removing nothing.  */
  if (!cs.creating && !force)
    {
      const char *s = za_container_status (&cs, NULL, err);
      if (!s)
        ret = -1;
      else if (strcmp (s, "stopped") && strcmp (s, "gone"))
        ret = za_err_set (err, ZA_EINPUT, "container `%s` is %s; stop it first or use rm -f", id, s);
    }
  if (ret == 0 && za_container_undo (&cs, err) < 0)
    ret = -1;
  za_cstate_clear (&cs);
  return ret;
}
