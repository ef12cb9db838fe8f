#define _GNU_SOURCE
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "strv.h"

static int
read_fd (int fd, const char *name, size_t max, char **out, size_t *len_out,
         struct za_err **err)
{
  size_t cap = 4096, len = 0;
  cleanup_free char *buf = malloc (cap + 1);
  if (!buf)
    return za_err_set (err, ENOMEM, "reading `%s`: out of memory", name);
  for (;;)
    {
      ssize_t n;
      if (len == cap)
        {
          char *nb;
          if (cap > max)
            return za_err_set (err, ZA_EINPUT, "%s: file is larger than the limit of %zu bytes",
                               name, max);
          cap *= 2;
          nb = realloc (buf, cap + 1);
          if (!nb)
            return za_err_set (err, ENOMEM, "reading `%s`: out of memory", name);
          buf = nb;
        }
      n = read (fd, buf + len, cap - len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return za_err_sys (err, errno, "read `%s`", name);
        }
      if (n == 0)
        break;
      len += (size_t) n;
    }
  if (len > max)
    return za_err_set (err, ZA_EINPUT, "%s: file is larger than the limit of %zu bytes",
                       name, max);
  buf[len] = '\0';
  *out = steal_pointer (&buf);
  if (len_out)
    *len_out = len;
  return 0;
}

int
za_read_fd (int fd, const char *name, size_t max, char **out, size_t *len_out, struct za_err **err)
{
  return read_fd (fd, name, max, out, len_out, err);
}

/* Open NAME for reading without blocking on a FIFO (a FIFO planted as a
   layout's index.json or a secret would otherwise hang the reader until
   someone writes to it), then refuse anything but a regular file.  */
static int
open_regular (int dirfd, const char *name, int extra_flags, struct za_err **err)
{
  cleanup_close int fd = -1;
  struct stat st;
  int fl;
  /* Look before opening: opening a device (a watchdog, a tape) planted
     in place of a file can act on it.  fstat below closes the race.  */
  if (fstatat (dirfd, name, &st, (extra_flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0 && !S_ISREG (st.st_mode)
      && !S_ISDIR (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is not a regular file", name);
  fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | extra_flags);
  if (fd < 0)
    {
      int e = errno;
      /* A missing or unreadable input file is the caller's mistake.  */
      return za_err_sys_as (err, (e == ENOENT || e == EACCES || e == ENOTDIR || e == ELOOP) ? ZA_EINPUT : e, e,
                            "open `%s`", name);
    }
  if (fstat (fd, &st) < 0)
    return za_err_sys (err, errno, "stat `%s`", name);
  if (S_ISDIR (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is a directory", name);
  if (!S_ISREG (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is not a regular file", name);
  fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return za_err_sys (err, errno, "fcntl `%s`", name);
  return steal_fd (&fd);
}

int
za_read_file_at (int dirfd, const char *name, size_t max, char **out,
                 size_t *len_out, struct za_err **err)
{
  cleanup_close int fd = -1;
  if (strcmp (name, "-") == 0)
    return read_fd (STDIN_FILENO, "<stdin>", max, out, len_out, err);
  fd = open_regular (dirfd, name, 0, err);
  if (fd < 0)
    return -1;
  return read_fd (fd, name, max, out, len_out, err);
}

int
za_read_file_nofollow_at (int dirfd, const char *name, size_t max, char **out, size_t *len_out,
                          struct za_err **err)
{
  cleanup_close int fd = open_regular (dirfd, name, O_NOFOLLOW, err);
  if (fd < 0)
    return -1;
  return read_fd (fd, name, max, out, len_out, err);
}

int
za_read_file (const char *path, size_t max, char **out, size_t *len_out,
              struct za_err **err)
{
  return za_read_file_at (AT_FDCWD, path, max, out, len_out, err);
}

int
za_read_input (const char *path, size_t max, char **out, size_t *len_out, struct za_err **err)
{
  cleanup_close int fd = -1;
  struct stat st;
  if (strcmp (path, "-") == 0)
    return read_fd (STDIN_FILENO, "<stdin>", max, out, len_out, err);
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      return za_err_sys_as (err, (e == ENOENT || e == EACCES || e == ENOTDIR || e == ELOOP) ? ZA_EINPUT : e, e,
                            "open `%s`", path);
    }
  if (fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s` is a directory", path);
  return read_fd (fd, path, max, out, len_out, err);
}

int
za_write_all (int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
za_write_file_atomic_at (int dirfd, const char *name, const void *data,
                         size_t len, mode_t mode, struct za_err **err)
{
  return za_write_file_atomic_flags_at (dirfd, name, data, len, mode, 0, err);
}

int
za_write_file_atomic_flags_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                               unsigned flags, struct za_err **err)
{
  char tmp[NAME_MAX + 1];
  cleanup_close int fd = -1;
  int ret = 0;

  for (int attempt = 0; fd < 0; attempt++)
    {
      unsigned r = (unsigned) getpid () ^ ((unsigned) attempt * 2654435761u)
                   ^ (unsigned) (size_t) &tmp;
      if (snprintf (tmp, sizeof tmp, ".%s.%08x.tmp", name, r) >= (int) sizeof tmp)
        return za_err_set (err, ENAMETOOLONG, "file name `%s` too long", name);
      fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
      if (fd < 0 && (errno != EEXIST || attempt > 100))
        return za_err_sys (err, errno, "create `%s`", tmp);
      /* The lock marks the temp file as live for za_remove_stale_temps_at;
         the kernel drops it when we die.  A cleaner that got in between
         the create and the lock has unlinked the name: take another.  */
      if (fd >= 0)
        {
          struct stat a, b;
          /* Without flock support (ENOLCK, EOPNOTSUPP) no cleaner can lock
             it either, so it never removes the file: go on unlocked.  */
          while (flock (fd, LOCK_EX) < 0 && errno == EINTR)
            ;
          if (fstat (fd, &a) < 0 || fstatat (dirfd, tmp, &b, AT_SYMLINK_NOFOLLOW) < 0 || a.st_dev != b.st_dev
              || a.st_ino != b.st_ino)
            {
              close (fd);
              fd = -1;
              if (attempt > 100)
                return za_err_set (err, EAGAIN, "create `%s`: temp file removed under us", tmp);
            }
        }
    }
  /* The umask must not widen or narrow what we promise (0600 for config).  */
  if (fchmod (fd, mode) < 0)
    ret = za_err_sys (err, errno, "chmod `%s`", tmp);
  if (ret == 0 && za_write_all (fd, data, len) < 0)
    ret = za_err_sys (err, errno, "write `%s`", tmp);
  if (ret == 0 && !(flags & ZA_WRITE_NOSYNC) && fsync (fd) < 0)
    ret = za_err_sys (err, errno, "fsync `%s`", tmp);
  if (ret == 0 && renameat (dirfd, tmp, dirfd, name) < 0)
    ret = za_err_sys (err, errno, "rename `%s` to `%s`", tmp, name);
  if (ret < 0)
    unlinkat (dirfd, tmp, 0);
  return ret;
}

/* ".NAME.XXXXXXXX.tmp" with 8 lowercase hex digits, as made above.  */
bool
za_is_temp_of (const char *f, const char *name)
{
  size_t n = strlen (name);
  if (f[0] != '.' || strncmp (f + 1, name, n) != 0 || f[1 + n] != '.')
    return false;
  f += 2 + n;
  for (int i = 0; i < 8; i++)
    if (!((f[i] >= '0' && f[i] <= '9') || (f[i] >= 'a' && f[i] <= 'f')))
      return false;
  return strcmp (f + 8, ".tmp") == 0;
}

void
za_remove_stale_temps_at (int dirfd, const char *const *names, const struct timespec *before)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int fd2 = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd2 < 0)
    return;
  d = fdopendir (fd2);
  if (!d)
    {
      close (fd2);
      return;
    }
  while ((de = readdir (d)))
    {
      struct stat a, b;
      bool match = false;
      int fd;
      for (const char *const *n = names; *n && !match; n++)
        match = za_is_temp_of (de->d_name, *n);
      if (!match || fstatat (dirfd, de->d_name, &a, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (a.st_mode))
        continue;
      /* Only files last written before this write began ...  */
      if (a.st_mtim.tv_sec > before->tv_sec
          || (a.st_mtim.tv_sec == before->tv_sec && a.st_mtim.tv_nsec >= before->tv_nsec))
        continue;
      /* ... and whose writer is gone (it holds the lock while alive).  */
      fd = openat (dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      if (fd < 0)
        continue;
      if (fstat (fd, &b) == 0 && b.st_dev == a.st_dev && b.st_ino == a.st_ino && flock (fd, LOCK_EX | LOCK_NB) == 0
          && fstatat (dirfd, de->d_name, &a, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev
          && a.st_ino == b.st_ino)
        unlinkat (dirfd, de->d_name, 0);
      close (fd);
    }
}

int
za_mkdir_p (const char *path, mode_t mode, struct za_err **err)
{
  cleanup_free char *p = strdup (path);
  size_t len;
  if (!p)
    return za_err_set (err, ENOMEM, "out of memory");
  len = strlen (p);
  while (len > 1 && p[len - 1] == '/')
    p[--len] = '\0';
  for (char *s = p + 1; *s; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (p, 0755) < 0 && errno != EEXIST)
        return za_err_sys (err, errno, "mkdir `%s`", p);
      *s = '/';
    }
  if (mkdir (p, mode) < 0)
    {
      struct stat st;
      if (errno != EEXIST)
        return za_err_sys (err, errno, "mkdir `%s`", p);
      if (stat (p, &st) < 0 || !S_ISDIR (st.st_mode))
        return za_err_set (err, ZA_EINPUT, "`%s` exists and is not a directory", p);
    }
  return 0;
}

static int
rm_rf_fd (int dfd, const char *name, dev_t dev, struct za_err **err)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return za_err_sys (err, errno, "stat `%s`", name);
    }
  if (S_ISDIR (st.st_mode))
    {
      cleanup_dir DIR *d = NULL;
      struct dirent *de;
      int fd;
      if (st.st_dev != dev)
        return za_err_set (err, EBUSY, "`%s` is a mount point; not removing it", name);
      /* A tree we own may hold directories without read, write or search
         permission for us (an image layer's mode 000 directory): without
         root they could be neither listed nor emptied.  */
      if ((st.st_mode & 0700) != 0700 && st.st_uid == geteuid ())
        fchmodat (dfd, name, (st.st_mode & 07777) | 0700, 0);
      fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return za_err_sys (err, errno, "open `%s`", name);
      d = fdopendir (fd);
      if (!d)
        {
          close (fd);
          return za_err_sys (err, errno, "opendir `%s`", name);
        }
      while ((de = readdir (d)))
        {
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          if (rm_rf_fd (dirfd (d), de->d_name, dev, err) < 0)
            return -1;
        }
      if (unlinkat (dfd, name, AT_REMOVEDIR) < 0)
        return za_err_sys (err, errno, "rmdir `%s`", name);
      return 0;
    }
  if (unlinkat (dfd, name, 0) < 0 && errno != ENOENT)
    return za_err_sys (err, errno, "unlink `%s`", name);
  return 0;
}

int
za_rm_rf_at (int dirfd, const char *name, struct za_err **err)
{
  struct stat st;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : za_err_sys (err, errno, "stat `%s`", name);
  return rm_rf_fd (dirfd, name, st.st_dev, err);
}

bool
za_path_has_dotdot (const char *p)
{
  for (const char *s = p; *s;)
    {
      const char *e = strchrnul (s, '/');
      if (e - s == 2 && s[0] == '.' && s[1] == '.')
        return true;
      s = *e ? e + 1 : e;
    }
  return false;
}

bool
za_path_is_absolute_clean (const char *p)
{
  return p && p[0] == '/' && !za_path_has_dotdot (p);
}

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
list_dir (DIR *d, bool (*keep) (int dfd, const char *name, void *ud), void *ud, struct za_strv *out, int *err_no)
{
  struct dirent *de;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..") && keep (dirfd (d), de->d_name, ud)
        && za_strv_push (out, de->d_name) < 0)
      {
        za_strv_clear (out);
        *err_no = ENOMEM;
        return -1;
      }
  if (out->n > 1)
    qsort (out->v, out->n, sizeof *out->v, cmp_names);
  return 0;
}

int
za_dir_list (const char *dir, bool (*keep) (int dfd, const char *name, void *ud), void *ud,
             struct za_strv *out, int *err_no)
{
  cleanup_dir DIR *d = opendir (dir);
  if (!d)
    {
      if (errno == ENOENT)
        return 0;
      *err_no = errno;
      return -1;
    }
  return list_dir (d, keep, ud, out, err_no);
}

int
za_dir_list_at (int dfd, bool (*keep) (int dfd, const char *name, void *ud), void *ud, struct za_strv *out,
                int *err_no)
{
  cleanup_dir DIR *d = NULL;
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || !(d = fdopendir (fd)))
    {
      *err_no = errno;
      if (fd >= 0)
        close (fd);
      return -1;
    }
  return list_dir (d, keep, ud, out, err_no);
}

char *
za_path_lookup (const char *name, const char *exclude)
{
  const char *path = getenv ("PATH");
  cleanup_free char *copy = strdup (path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  char *save = NULL;
  for (char *d = copy ? strtok_r (copy, ":", &save) : NULL; d; d = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *p = NULL;
      char *real;
      if (asprintf (&p, "%s/%s", d, name) < 0)
        return NULL;
      if (access (p, X_OK) < 0 || !(real = realpath (p, NULL)))
        continue;
      if (!exclude || strcmp (real, exclude))
        return real;
      free (real);
    }
  return NULL;
}
