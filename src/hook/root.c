/* Paths inside a container rootfs, reached from its directory fd only.  */
#define _GNU_SOURCE
#include "hook/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

bool
za_hook_path_ok (const char *p)
{
  return p && za_path_is_absolute_clean (p) && strspn (p, "/") < strlen (p) && strlen (p) < 4096;
}

int
za_hook_open (int rootfd, const char *path, int flags, mode_t mode, struct za_err **err)
{
  /* RESOLVE_IN_ROOT keeps ".." and absolute names inside; NO_SYMLINKS
     refuses every link on the way, even one that would stay inside, so a
     planted ld.so.cache -> /etc/shadow style link is an error, never a
     write through.  No fallback for kernels without openat2: fail.  */
  struct open_how how = { .flags = (uint64_t) flags | O_CLOEXEC | O_NOFOLLOW, .mode = mode,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
  const char *rel = path + strspn (path, "/");
  int fd;
  if (!za_hook_path_ok (path))
    {
      errno = EINVAL;
      return za_err_set (err, ZA_EINPUT, "`%s` is not a clean absolute path", path);
    }
  if (flags & O_PATH)
    how.flags &= ~(uint64_t) O_NOFOLLOW; /* O_PATH|O_NOFOLLOW would open the link itself */
  fd = (int) syscall (SYS_openat2, rootfd, rel, &how, sizeof how);
  if (fd >= 0)
    return fd;
  {
    int e = errno;
    if (e == ELOOP || e == EXDEV)
      za_err_set (err, ZA_EINPUT, "`%s` in the container goes through a symlink; refused", path);
    else if (e == ENOSYS)
      za_err_set (err, ENOSYS, "openat2 is not available (Linux 5.6 or later needed)");
    else
      za_err_sys (err, e, "open `%s` in the container", path);
    errno = e;
  }
  return -1;
}

int
za_hook_exists (int rootfd, const char *path, struct za_err **err)
{
  struct za_err *e = NULL;
  int fd = za_hook_open (rootfd, path, O_PATH, 0, &e);
  if (fd >= 0)
    {
      close (fd);
      return 1;
    }
  if (errno == ENOENT)
    {
      za_err_free (&e);
      return 0;
    }
  za_err_append (err, &e);
  return -1;
}

int
za_hook_mkdir_p (int rootfd, const char *path, struct za_err **err)
{
  char buf[4096];
  size_t len;
  if (!za_hook_path_ok (path))
    return za_err_set (err, ZA_EINPUT, "`%s` is not a clean absolute path", path);
  len = strlen (path);
  memcpy (buf, path, len + 1);
  /* Each prefix in turn: open it, or create it and open it then.  */
  for (size_t i = 1; i <= len; i++)
    {
      struct za_err *e = NULL;
      int fd;
      if (buf[i] != '/' && buf[i] != '\0')
        continue;
      buf[i] = '\0';
      fd = za_hook_open (rootfd, buf, O_RDONLY | O_DIRECTORY, 0, &e);
      if (fd < 0 && errno == ENOENT)
        {
          cleanup_free char *name = NULL;
          char *slash = strrchr (buf, '/');
          cleanup_close int pfd = -1;
          za_err_free (&e);
          name = strdup (slash + 1);
          *slash = '\0';
          pfd = slash == buf ? fcntl (rootfd, F_DUPFD_CLOEXEC, 0)
                             : za_hook_open (rootfd, buf, O_RDONLY | O_DIRECTORY, 0, err);
          *slash = '/';
          if (pfd < 0 || !name)
            return pfd < 0 ? -1 : za_err_set (err, ENOMEM, "out of memory");
          if (mkdirat (pfd, name, 0755) < 0 && errno != EEXIST)
            return za_err_sys (err, errno, "create `%s` in the container", buf);
          fd = za_hook_open (rootfd, buf, O_RDONLY | O_DIRECTORY, 0, err);
        }
      else if (fd < 0)
        za_err_append (err, &e);
      if (fd < 0)
        return -1;
      if (i == len)
        return fd;
      close (fd);
      buf[i] = '/';
    }
  return za_err_set (err, ZA_EINPUT, "`%s` is not a clean absolute path", path);
}

int
za_hook_write_ldconf (int rootfd, const char *name, const struct za_strv *dirs, struct za_err **err)
{
  cleanup_close int dfd = -1;
  cleanup_free char *text = NULL;
  size_t len = 0;
  int ret;
  /* ld.so.conf and ld.so.conf.d must not be links: a link could be made
     to point anywhere once the image runs ldconfig itself.  */
  if (za_hook_exists (rootfd, "/etc/ld.so.conf", err) < 0)
    return -1;
  dfd = za_hook_mkdir_p (rootfd, "/etc/ld.so.conf.d", err);
  if (dfd < 0)
    return -1;
  for (size_t i = 0; i < dirs->n; i++)
    len += strlen (dirs->v[i]) + 1;
  text = malloc (len + 1);
  if (!text)
    return za_err_set (err, ENOMEM, "out of memory");
  text[0] = '\0';
  for (size_t i = 0; i < dirs->n; i++)
    strcat (strcat (text, dirs->v[i]), "\n");
  ret = za_write_file_atomic_at (dfd, name, text, len, 0644, err);
  return ret;
}
