#define _GNU_SOURCE
#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

int
za_safepath_check_trusted (int fd, const char *shown, struct za_err **err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return za_err_sys (err, errno, "stat `%s`", shown);
  if (st.st_uid != 0 && st.st_uid != geteuid ())
    return za_err_set (err, ZA_EINPUT,
                       "`%s` belongs to uid %u, not to you or root; refusing a path another user can change",
                       shown, (unsigned) st.st_uid);
  /* In a sticky directory others may add entries but not rename or
     replace ours (/tmp); what they add is refused by the owner check of
     the next component.  */
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
    return za_err_set (err, ZA_EINPUT,
                       "`%s` is writable by group or others (mode %04o); refusing a path another user can change",
                       shown, (unsigned) (st.st_mode & 07777));
  return 0;
}

int
za_safepath_check_private (int fd, const char *shown, struct za_err **err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return za_err_sys (err, errno, "stat `%s`", shown);
  if (st.st_uid != geteuid ())
    return za_err_set (err, ZA_EINPUT, "`%s` belongs to uid %u, not to you (uid %u); refusing to trust it", shown,
                       (unsigned) st.st_uid, (unsigned) geteuid ());
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return za_err_set (err, ZA_EINPUT, "`%s` is writable by group or others (mode %04o); refusing to trust it",
                       shown, (unsigned) (st.st_mode & 07777));
  return 0;
}

/* Why openat (DFD, NAME) failed with E: a symlink is the caller's input,
   anything else the system's answer.  SHOWN/LEN is the path so far.  */
static int
open_error (int dfd, const char *name, const char *shown, int len, int e, struct za_err **err)
{
  struct stat st;
  if ((e == ELOOP || e == ENOTDIR) && fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%.*s` is a symlink; refusing to follow it", len, shown);
  return za_err_sys (err, e, "open `%.*s`", len, shown);
}

/* Open DFD/NAME as a directory, creating it when asked.  A directory we
   create gets 0755 narrowed by the umask, but never group or other write:
   a umask of 002 would otherwise make our own new parent untrusted.  */
static int
open_component (int dfd, const char *name, int flags, const char *shown, int len, struct za_err **err)
{
  int fd = openat (dfd, name, DIR_FLAGS);
  bool made = false;
  if (fd < 0 && errno == ENOENT && (flags & ZA_SAFEPATH_CREATE))
    {
      if (mkdirat (dfd, name, 0755) == 0)
        made = true;
      else if (errno != EEXIST)
        return za_err_sys (err, errno, "mkdir `%.*s`", len, shown);
      fd = openat (dfd, name, DIR_FLAGS);
    }
  if (fd < 0)
    return open_error (dfd, name, shown, len, errno, err);
  if (made)
    {
      struct stat st;
      if (fstat (fd, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
        fchmod (fd, st.st_mode & 0755);
    }
  return fd;
}

/* Walk PATH; with LAST_OUT, stop before the last component and return it
   there.  */
static int
walk (const char *path, int flags, char **last_out, struct za_err **err)
{
  cleanup_free char *copy = NULL;
  cleanup_free char **names = NULL;
  cleanup_free int *ends = NULL;
  cleanup_close int fd = -1;
  const char *top;
  size_t n = 0, stop;

  if (!path || !*path)
    return za_err_set (err, ZA_EINPUT, "empty path");
  copy = strdup (path);
  names = calloc (strlen (path) / 2 + 1, sizeof *names);
  ends = calloc (strlen (path) / 2 + 1, sizeof *ends);
  if (!copy || !names || !ends)
    return za_err_set (err, ENOMEM, "out of memory");
  /* Components are the non-empty names between slashes; "." adds
     nothing.  ".." is the real parent of the directory reached so far,
     which, with no symlink on the way, is also the lexical one.  */
  for (char *p = copy; *p;)
    {
      char *name = p, *end = strchrnul (p, '/');
      p = *end ? end + 1 : end;
      *end = '\0';
      if (!*name || strcmp (name, ".") == 0)
        continue;
      names[n] = name;
      ends[n++] = (int) (end - copy);
    }
  if (last_out && (n == 0 || strcmp (names[n - 1], "..") == 0))
    return za_err_set (err, ZA_EINPUT, "`%s` does not end in a name", path);

  top = path[0] == '/' ? "/" : ".";
  fd = open (top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return za_err_sys (err, errno, "open `%s`", top);
  if ((flags & ZA_SAFEPATH_TRUSTED) && za_safepath_check_trusted (fd, top, err) < 0)
    return -1;
  stop = last_out ? n - 1 : n;
  for (size_t i = 0; i < stop; i++)
    {
      int nfd = open_component (fd, names[i], flags, path, ends[i], err);
      if (nfd < 0)
        return -1;
      close (fd);
      fd = nfd;
      if (flags & ZA_SAFEPATH_TRUSTED)
        {
          cleanup_free char *shown = strndup (path, (size_t) ends[i]);
          if (za_safepath_check_trusted (fd, shown ? shown : path, err) < 0)
            return -1;
        }
    }
  if (last_out)
    {
      *last_out = strdup (names[n - 1]);
      if (!*last_out)
        return za_err_set (err, ENOMEM, "out of memory");
    }
  return steal_fd (&fd);
}

int
za_safepath_open_dir (const char *path, int flags, struct za_err **err)
{
  return walk (path, flags, NULL, err);
}

int
za_safepath_open_parent (const char *path, int flags, char **name_out, struct za_err **err)
{
  *name_out = NULL;
  return walk (path, flags, name_out, err);
}
