#define _GNU_SOURCE
#include "runtime/container.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle/write.h"
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

static int
mount_overlay (const char *lower, const char *dir, const char *target)
{
  cleanup_free char *opts = NULL;
  if (geteuid () != 0 || !overlay_safe (lower) || !overlay_safe (dir))
    return -1;
  if (asprintf (&opts, "lowerdir=%s,upperdir=%s/diff,workdir=%s/work", lower, dir, dir) < 0)
    return -1;
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
      prctl (PR_SET_PDEATHSIG, SIGKILL);
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

int
za_layer_create (const char *image_rootfs, const char *dir, char **rootfs_out, struct za_err **err)
{
  cleanup_free char *rootfs = NULL, *sub = NULL;
  cleanup_free char *parent = strdup (dir);
  char *slash = parent ? strrchr (parent, '/') : NULL;
  if (!parent || asprintf (&rootfs, "%s/rootfs", dir) < 0)
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
      free (sub);
      sub = NULL;
      if (asprintf (&sub, "%s/%s", dir, names[i]) < 0)
        {
          za_layer_remove (dir, NULL);
          return za_err_set (err, ENOMEM, "out of memory");
        }
      if (mkdir (sub, i == 2 ? 0755 : 0700) < 0)
        {
          int e = errno;
          za_layer_remove (dir, NULL);
          return za_err_set (err, e, "create `%s`: %s", sub, strerror (e));
        }
    }
  /* The overlay's root takes its owner and mode from the upper dir: give
     it the image's, or a 0700 "/" locks out every non-root user.  */
  {
    struct stat st;
    free (sub);
    sub = NULL;
    if (stat (image_rootfs, &st) < 0 || asprintf (&sub, "%s/diff", dir) < 0 || chmod (sub, st.st_mode & 07777) < 0
        || chown (sub, st.st_uid, st.st_gid) < 0)
      {
        int e = errno;
        za_layer_remove (dir, NULL);
        return za_err_set (err, e, "prepare `%s/diff`: %s", dir, strerror (e));
      }
  }
  if (mount_overlay (image_rootfs, dir, rootfs) < 0 && copy_tree (image_rootfs, rootfs, err) < 0)
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
     still there, so the shared image below is safe either way.  */
  if (umount2 (rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
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
