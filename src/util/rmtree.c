#define _GNU_SOURCE
#include "rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "strv.h"

/* One directory on the way down: its name in its parent, its identity
   (to check ".." on the way back up) and the subdirectories still to
   empty.  Only names are kept per level, never descriptors.  */
struct frame
{
  char *name;
  dev_t dev;
  ino_t ino;
  struct za_strv subdirs;
  size_t next;
};

static void
frame_clear (struct frame *f)
{
  free (f->name);
  za_strv_clear (&f->subdirs);
  memset (f, 0, sizeof *f);
}

/* Open directory PARENT/NAME (ST: its lstat) for listing.  */
static int
open_dir (int parent, const char *name, const struct stat *st, struct za_err **err)
{
  struct stat fst;
  int fd;
  /* A tree we own may hold directories without read, write or search
     permission for us (an image layer's mode 000 directory): without root
     they could be neither listed nor emptied.  */
  if ((st->st_mode & 0700) != 0700 && st->st_uid == geteuid ())
    fchmodat (parent, name, (st->st_mode & 07777) | 0700, 0);
  fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return za_err_sys (err, errno, "open `%s`", name);
  if (fstat (fd, &fst) < 0 || fst.st_dev != st->st_dev || fst.st_ino != st->st_ino)
    {
      close (fd);
      return za_err_set (err, EBUSY, "`%s` changed while it was being removed", name);
    }
  return fd;
}

/* Remove the non-directories in FD now; its subdirectories go to F.  The
   names are read first: removing while reading may skip entries.  */
static int
scan (int fd, const char *name, struct frame *f, struct za_err **err)
{
  cleanup_strv struct za_strv files = { 0 };
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  int lfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (lfd < 0 || !(d = fdopendir (lfd)))
    {
      int e = errno;
      if (lfd >= 0)
        close (lfd);
      return za_err_sys (err, e, "opendir `%s`", name);
    }
  for (errno = 0; (de = readdir (d)); errno = 0)
    {
      bool dir = de->d_type == DT_DIR;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (de->d_type == DT_UNKNOWN)
        {
          struct stat st;
          dir = fstatat (fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
        }
      if (za_strv_push (dir ? &f->subdirs : &files, de->d_name) < 0)
        return za_err_set (err, ENOMEM, "out of memory");
    }
  if (errno)
    return za_err_sys (err, errno, "readdir `%s`", name);
  for (size_t i = 0; i < files.n; i++)
    if (unlinkat (fd, files.v[i], 0) < 0 && errno != ENOENT)
      {
        /* a directory that appeared under the same name: take it too */
        if (errno == EISDIR && za_strv_push (&f->subdirs, files.v[i]) == 0)
          continue;
        return za_err_sys (err, errno, "unlink `%s`", files.v[i]);
      }
  return 0;
}

int
za_rmtree_at (int dirfd, const char *name, struct za_err **err)
{
  struct frame *stack = NULL;
  size_t depth = 0, cap = 0;
  cleanup_close int cur = -1;
  struct stat st;
  dev_t dev;
  int rc = -1;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : za_err_sys (err, errno, "stat `%s`", name);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dirfd, name, 0) < 0 && errno != ENOENT)
        return za_err_sys (err, errno, "unlink `%s`", name);
      return 0;
    }
  dev = st.st_dev;
  cur = open_dir (dirfd, name, &st, err);
  if (cur < 0)
    return -1;
  for (;;)
    {
      struct frame *top;
      if (depth == cap || !stack)
        {
          size_t ncap = cap ? 2 * cap : 16;
          struct frame *ns = realloc (stack, ncap * sizeof *ns);
          if (!ns)
            {
              za_err_set (err, ENOMEM, "out of memory");
              goto out;
            }
          stack = ns;
          cap = ncap;
        }
      /* push the directory CUR: NAME, or the parent's subdirectory
         just entered */
      top = &stack[depth++];
      memset (top, 0, sizeof *top);
      top->dev = st.st_dev;
      top->ino = st.st_ino;
      top->name = strdup (depth == 1 ? name : top[-1].subdirs.v[top[-1].next - 1]);
      if (!top->name)
        {
          za_err_set (err, ENOMEM, "out of memory");
          goto out;
        }
      if (scan (cur, top->name, top, err) < 0)
        goto out;
      /* descend into the next subdirectory left, or climb back up */
      for (;;)
        {
          top = &stack[depth - 1];
          if (top->next < top->subdirs.n)
            {
              const char *child = top->subdirs.v[top->next++];
              int nfd;
              if (fstatat (cur, child, &st, AT_SYMLINK_NOFOLLOW) < 0)
                {
                  if (errno == ENOENT)
                    continue;
                  za_err_sys (err, errno, "stat `%s`", child);
                  goto out;
                }
              if (!S_ISDIR (st.st_mode))
                {
                  if (unlinkat (cur, child, 0) < 0 && errno != ENOENT)
                    {
                      za_err_sys (err, errno, "unlink `%s`", child);
                      goto out;
                    }
                  continue;
                }
              if (st.st_dev != dev)
                {
                  za_err_set (err, EBUSY, "`%s` is a mount point; not removing it", child);
                  goto out;
                }
              nfd = open_dir (cur, child, &st, err);
              if (nfd < 0)
                goto out;
              close (cur);
              cur = nfd;
              break; /* push it */
            }
          /* TOP is empty now */
          if (depth == 1)
            {
              close (cur);
              cur = -1;
              if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                {
                  za_err_sys (err, errno, "rmdir `%s`", name);
                  goto out;
                }
              rc = 0;
              goto out;
            }
          {
            struct stat pst;
            int pfd = openat (cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd < 0 || fstat (pfd, &pst) < 0 || pst.st_dev != stack[depth - 2].dev
                || pst.st_ino != stack[depth - 2].ino)
              {
                int e = pfd < 0 ? errno : EBUSY;
                if (pfd >= 0)
                  close (pfd);
                za_err_set (err, e, "`%s` moved while it was being removed", top->name);
                goto out;
              }
            close (cur);
            cur = pfd;
          }
          if (unlinkat (cur, top->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            {
              za_err_sys (err, errno, "rmdir `%s`", top->name);
              goto out;
            }
          frame_clear (top);
          depth--;
        }
    }
out:
  while (depth > 0)
    frame_clear (&stack[--depth]);
  free (stack);
  return rc;
}
