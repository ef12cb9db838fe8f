/* Paths inside the rootfs being unpacked: every directory an entry
   goes into is reached from the rootfs's descriptor one component at a
   time, symlinks are followed by hand and only inside, and removals
   (whiteouts, replaced entries) go through za_rmtree_at on the parent's
   descriptor.  Nothing here takes a host path.  */
#define _GNU_SOURCE
#include "image/unpack_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/rmtree.h"
#include "util/strv.h"

#define MAX_SYMLINK_FOLLOWS 40 /* the kernel's MAXSYMLINKS */
/* Memory for one layer's bookkeeping (the paths it wrote, directories
   to fix up): millions of long names compress to a small layer, and must
   not exhaust memory.  */
#define MAX_LAYER_META (UINT64_C (1) << 30)

struct pnode
{
  const char *key;
  unsigned flags;
  char buf[];
};

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

int
za_up_meta_charge (struct za_unpack *u, size_t n, struct za_err **err)
{
  u->meta += n;
  if (u->meta > MAX_LAYER_META)
    return za_err_set (err, ZA_EINPUT, "%s: too many or too long paths in one layer", u->blob);
  return 0;
}

/* ---- errors ------------------------------------------------------- */

/* Failures writing to disk: out of space and the like are the system's;
   the rest (a link to a directory, a name too long) the image's.  */
int
za_up_fs_err (struct za_unpack *u, const char *entry, const char *what, int e,
              struct za_err **err)
{
  bool sys = e == ENOSPC || e == EDQUOT || e == EIO || e == EROFS || e == ENOMEM || e == EMFILE
             || e == ENFILE || e == ENOSYS || ((e == EPERM || e == EACCES) && !u->root);
  return za_err_set (err, sys ? e : ZA_EINPUT, "%s: entry `%s`: %s: %s", u->blob, entry, what,
                     strerror (e));
}

/* ---- paths -------------------------------------------------------- */

/* Drop "." and empty components; fail on an absolute path or "..".  */
int
za_up_normalise (const char *raw, char **out, unsigned *depth, const char **why)
{
  cleanup_free char *s = malloc (strlen (raw) + 1);
  char *d = s;
  *why = NULL;
  *depth = 0;
  if (!s)
    return -1;
  if (raw[0] == '/')
    {
      *why = "absolute path";
      return -1;
    }
  for (const char *p = raw; *p;)
    {
      const char *e = strchrnul (p, '/');
      size_t len = (size_t) (e - p);
      if (len == 2 && p[0] == '.' && p[1] == '.')
        {
          *why = "path contains `..`";
          return -1;
        }
      if (len && !(len == 1 && p[0] == '.'))
        {
          if (d != s)
            *d++ = '/';
          memcpy (d, p, len);
          d += len;
          ++*depth;
        }
      p = *e ? e + 1 : e;
    }
  *d = '\0';
  *out = steal_pointer (&s);
  return 0;
}

/* REL → its parent (malloc'd, "" at the top) and its last component.  */
char *
za_up_split_path (const char *rel, const char **base)
{
  const char *slash = strrchr (rel, '/');
  *base = slash ? slash + 1 : rel;
  return strndup (rel, slash ? (size_t) (slash - rel) : 0);
}

char *
za_up_join (const char *a, const char *b)
{
  char *s = NULL;
  if (asprintf (&s, "%s%s%s", a, *a && *b ? "/" : "", b) < 0)
    return NULL;
  return s;
}

unsigned
za_up_count_depth (const char *rel)
{
  unsigned n = *rel ? 1 : 0;
  for (; *rel; rel++)
    n += *rel == '/';
  return n;
}

static int
pcmp (const void *a, const void *b)
{
  return strcmp (((const struct pnode *) a)->key, ((const struct pnode *) b)->key);
}

static unsigned
paths_get (struct za_unpack *u, const char *key)
{
  struct pnode k = { .key = key };
  void *r = tfind (&k, &u->paths, pcmp);
  return r ? (*(struct pnode **) r)->flags : 0;
}

/* Add FLAG to KEY; *OLD: its flags before.  A balanced tree, not a hash
   table: names chosen to collide cannot make it quadratic.  */
static int
paths_mark (struct za_unpack *u, const char *key, unsigned flag, unsigned *old,
            struct za_err **err)
{
  struct pnode k = { .key = key }, *n;
  void *r = tfind (&k, &u->paths, pcmp);
  if (!r)
    {
      size_t len = strlen (key);
      if (za_up_meta_charge (u, sizeof *n + len + 1 + 4 * sizeof (void *), err) < 0)
        return -1;
      n = malloc (sizeof *n + len + 1);
      if (!n)
        return oom (err);
      memcpy (n->buf, key, len + 1);
      n->key = n->buf;
      n->flags = 0;
      r = tsearch (n, &u->paths, pcmp);
      if (!r)
        {
          free (n);
          return oom (err);
        }
    }
  n = *(struct pnode **) r;
  if (old)
    *old = n->flags;
  n->flags |= flag;
  return 0;
}

/* Each ancestor is marked once per layer: the walk up stops at the first
   one already marked, so deep trees cost linear time.  */
int
za_up_record_written (struct za_unpack *u, const char *rel, struct za_err **err)
{
  cleanup_free char *copy = NULL;
  if (!*rel)
    return 0;
  if (paths_mark (u, rel, PS_WRITTEN, NULL, err) < 0)
    return -1;
  if (!(copy = strdup (rel)))
    return oom (err);
  for (char *s = strrchr (copy, '/'); s; s = strrchr (copy, '/'))
    {
      unsigned old = 0;
      *s = '\0';
      if (paths_mark (u, copy, PS_ANCESTOR, &old, err) < 0)
        return -1;
      if (old & PS_ANCESTOR)
        break;
    }
  return 0;
}

void
za_up_paths_clear (struct za_unpack *u)
{
  tdestroy (u->paths, free);
  u->paths = NULL;
  u->meta = 0;
}

/* ---- resolving inside the rootfs ---------------------------------- */

#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/* set once openat2 gave ENOSYS (old kernel, seccomp filter): then the
   same walks are made with O_NOFOLLOW one component at a time */
static int no_openat2;

static int
openat2_ (int dfd, const char *path, int flags, uint64_t resolve)
{
  struct open_how how = { .flags = (uint64_t) (flags | O_NOFOLLOW | O_CLOEXEC),
                          .resolve = resolve };
  long r;
  if (__atomic_load_n (&no_openat2, __ATOMIC_RELAXED))
    {
      errno = ENOSYS;
      return -1;
    }
  do
    r = syscall (SYS_openat2, dfd, path, &how, sizeof how);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno == ENOSYS)
    __atomic_store_n (&no_openat2, 1, __ATOMIC_RELAXED);
  return (int) r;
}

/* Open the one component NAME of DFD, never through a symlink.  */
int
za_up_open_comp (int dfd, const char *name, int flags)
{
  int fd = openat2_ (dfd, name, flags, BENEATH);
  if (fd < 0 && errno == ENOSYS)
    fd = openat (dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
  return fd;
}

/* Open REL (normalised, symlink-free, relative to the rootfs; "" is the
   root) inside the rootfs: it can name nothing outside, whatever was
   renamed or replaced by a symlink since it was recorded.  */
int
za_up_open_in_root (struct za_unpack *u, const char *rel, int flags)
{
  cleanup_free char *copy = NULL;
  cleanup_close int cur = -1;
  char *p, *slash;
  int fd = openat2_ (u->rootfd, *rel ? rel : ".", flags, IN_ROOT);
  if (fd >= 0 || errno != ENOSYS)
    return fd;
  if (!*rel)
    return openat (u->rootfd, ".", flags | O_CLOEXEC);
  if (!(copy = strdup (rel)))
    return -1;
  cur = openat (u->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0)
    return -1;
  for (p = copy; (slash = strchr (p, '/')); p = slash + 1)
    {
      int nfd;
      *slash = '\0';
      nfd = za_up_open_comp (cur, p, O_PATH | O_DIRECTORY);
      if (nfd < 0)
        return -1;
      close (cur);
      cur = nfd;
    }
  return za_up_open_comp (cur, p, flags);
}

static int
readlink_alloc (int dfd, const char *name, size_t hint, char **out)
{
  for (size_t cap = hint + 2;; cap *= 2)
    {
      cleanup_free char *buf = malloc (cap);
      ssize_t n;
      if (!buf)
        {
          errno = ENOMEM;
          return -1;
        }
      n = readlinkat (dfd, name, buf, cap);
      if (n < 0)
        return -1;
      if ((size_t) n < cap)
        {
          buf[n] = '\0';
          *out = steal_pointer (&buf);
          return 0;
        }
    }
}

void
za_up_wcache_drop (struct za_unpack *u)
{
  free (u->wc_dir);
  free (u->wc_res);
  u->wc_dir = u->wc_res = NULL;
  if (u->wc_fd >= 0)
    close (u->wc_fd);
  u->wc_fd = -1;
}

static int
outside (struct za_unpack *u, const char *entry, const char *link, const char *target,
         struct za_err **err)
{
  return za_err_set (err, ZA_EINPUT,
                     "%s: entry `%s`: goes through symlink `%s` -> `%s`, which points outside "
                     "the rootfs",
                     u->blob, entry, link ? link : "?", target ? target : "?");
}

/* Open directory DIR (normalised, relative to the rootfs) the way the
   kernel would if the rootfs were the host's root, one component at a
   time from the rootfs's descriptor.  Symlinks are followed by hand, and
   only inside: an absolute target (on the host, a host path) or one that
   climbs above the root is refused.  Components that do not exist, or are
   not directories, are taken lexically (".." after them cancels them, as
   libarchive did); with CREATE they are then made (a non-directory in the
   way is replaced), without it DIR is missing.

   1: *FD_OUT (O_PATH or O_RDONLY) is the directory and *RES_OUT its
   symlink-free path ("" for the root); 0: missing; -1: error.  ENTRY is
   for messages.  */
int
za_up_walk (struct za_unpack *u, const char *entry, const char *dir, bool create, int *fd_out,
            char **res_out, struct za_err **err)
{
  cleanup_close int cur = -1;
  cleanup_free char *rest = strdup (dir), *res = NULL, *link = NULL, *target = NULL;
  size_t rlen = 0, rcap = strlen (dir) + 2, depth = 0, missing = 0;
  unsigned follows = 0;
  const char *p;

  if (!rest || !(res = malloc (rcap)))
    return oom (err);
  /* One call for the usual case: every component there, a directory,
     and no symlink on the way (then the path resolves to itself).  A
     miss takes the walk below, one component at a time.  */
  if (*dir)
    {
      int fd = za_up_open_in_root (u, dir, O_PATH | O_DIRECTORY);
      if (fd >= 0)
        {
          memcpy (res, dir, strlen (dir) + 1);
          *fd_out = fd;
          *res_out = steal_pointer (&res);
          return 1;
        }
    }
  res[0] = '\0';
  cur = openat (u->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0)
    return za_up_fs_err (u, entry, "open rootfs", errno, err);
  for (p = rest; *p;)
    {
      const char *slash = strchrnul (p, '/');
      size_t len = (size_t) (slash - p);
      char comp[NAME_MAX + 1];
      struct stat st;
      char *nrest = NULL;
      int nfd;

      if (len == 0 || (len == 1 && p[0] == '.'))
        {
          p = *slash ? slash + 1 : slash;
          continue;
        }
      if (len > NAME_MAX)
        return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: a name is longer than %d bytes",
                           u->blob, entry, NAME_MAX);
      memcpy (comp, p, len);
      comp[len] = '\0';
      p = *slash ? slash + 1 : slash;
      if (len == 2 && comp[0] == '.' && comp[1] == '.')
        {
          /* only symlink targets bring ".." here: entries were refused */
          char *cut = strrchr (res, '/');
          if (depth == 0)
            return outside (u, entry, link, target, err);
          rlen = cut ? (size_t) (cut - res) : 0;
          res[rlen] = '\0';
          depth--;
          if (missing)
            missing--;
          else
            {
              nfd = openat (cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
              if (nfd < 0)
                return za_up_fs_err (u, entry, "open `..`", errno, err);
              close (cur);
              cur = nfd;
            }
          continue;
        }
      if (rlen + len + 2 > rcap)
        {
          char *nr;
          rcap = 2 * (rlen + len + 2);
          if (!(nr = realloc (res, rcap)))
            return oom (err);
          res = nr;
        }
      if (rlen)
        res[rlen++] = '/';
      memcpy (res + rlen, comp, len + 1);
      rlen += len;
      if (++depth > ZA_IMAGE_MAX_DEPTH)
        return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: nested more than %d directories deep",
                           u->blob, entry, ZA_IMAGE_MAX_DEPTH);
      if (missing)
        {
          missing++;
          continue;
        }
      nfd = za_up_open_comp (cur, comp, O_PATH | O_DIRECTORY);
      if (nfd >= 0)
        {
          close (cur);
          cur = nfd;
          continue;
        }
      if (errno == ENOENT)
        {
          missing = 1;
          continue;
        }
      if (errno != ENOTDIR && errno != ELOOP)
        return za_up_fs_err (u, entry, "open directory", errno, err);
      if (fstatat (cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return za_up_fs_err (u, entry, "stat", errno, err);
      if (!S_ISLNK (st.st_mode))
        {
          missing = 1; /* a file where a directory goes */
          continue;
        }
      if (++follows > MAX_SYMLINK_FOLLOWS)
        return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: too many levels of symlinks", u->blob,
                           entry);
      free (target);
      target = NULL;
      if (readlink_alloc (cur, comp, (size_t) st.st_size, &target) < 0)
        return za_up_fs_err (u, entry, "readlink", errno, err);
      free (link);
      if (!(link = strdup (res)))
        return oom (err);
      /* the link itself is not part of the resolved path */
      {
        char *cut = strrchr (res, '/');
        rlen = cut ? (size_t) (cut - res) : 0;
        res[rlen] = '\0';
        depth--;
      }
      if (target[0] == '/')
        return outside (u, entry, link, target, err);
      if (asprintf (&nrest, "%s/%s", target, p) < 0)
        return oom (err);
      free (rest);
      rest = nrest;
      p = rest;
    }
  if (missing)
    {
      char *q = res + rlen;
      if (!create)
        return 0;
      /* the last MISSING components of RES */
      for (size_t k = 0; k < missing && q > res; q--)
        if (q[-1] == '/' && ++k == missing)
          break;
      while (*q)
        {
          char *e = strchrnul (q, '/');
          char save = *e;
          int nfd;
          *e = '\0';
          if (mkdirat (cur, q, 0755) < 0)
            {
              /* a non-directory in the way: libarchive replaced it too */
              if (errno != EEXIST)
                return za_up_fs_err (u, entry, "mkdir", errno, err);
              za_up_wcache_drop (u);
              if (unlinkat (cur, q, 0) < 0 || mkdirat (cur, q, 0755) < 0)
                return za_up_fs_err (u, entry, "replace with a directory", errno, err);
            }
          nfd = za_up_open_comp (cur, q, O_RDONLY | O_DIRECTORY);
          /* the umask must not narrow it */
          if (nfd < 0 || fchmod (nfd, 0755) < 0)
            {
              int e2 = errno;
              if (nfd >= 0)
                close (nfd);
              return za_up_fs_err (u, entry, "open new directory", e2, err);
            }
          close (cur);
          cur = nfd;
          *e = save;
          q = *e ? e + 1 : e;
        }
    }
  *fd_out = steal_fd (&cur);
  *res_out = steal_pointer (&res);
  return 1;
}

/* za_up_walk (CREATE) through the one-entry cache.  */
int
za_up_walk_parent (struct za_unpack *u, const char *entry, const char *dir, int *fd_out,
                   char **res_out, struct za_err **err)
{
  int fd;
  char *res;
  if (u->wc_dir && strcmp (u->wc_dir, dir) == 0)
    {
      fd = fcntl (u->wc_fd, F_DUPFD_CLOEXEC, 0);
      if (fd < 0)
        return za_up_fs_err (u, entry, "dup", errno, err);
      if (!(*res_out = strdup (u->wc_res)))
        {
          close (fd);
          return oom (err);
        }
      *fd_out = fd;
      return 0;
    }
  if (za_up_walk (u, entry, dir, true, &fd, &res, err) < 0)
    return -1;
  za_up_wcache_drop (u);
  u->wc_fd = fcntl (fd, F_DUPFD_CLOEXEC, 0);
  u->wc_dir = strdup (dir);
  u->wc_res = strdup (res);
  if (u->wc_fd < 0 || !u->wc_dir || !u->wc_res)
    za_up_wcache_drop (u);
  *fd_out = fd;
  *res_out = res;
  return 0;
}

/* ---- removing ----------------------------------------------------- */

int
za_up_remove_at (struct za_unpack *u, int dfd, const char *name, const char *entry,
                 struct za_err **err)
{
  cleanup_err struct za_err *e = NULL;
  za_up_wcache_drop (u);
  if (za_rmtree_at (dfd, name, &e) == 0)
    return 0;
  za_err_wrap_all (&e, "%s: entry `%s`", u->blob, entry);
  za_err_append (err, &e);
  return -1;
}

/* Remove what lower layers put under REL (a directory), keeping this
   layer's work.  Directories are listed one at a time, each at most once
   per layer (PS_CLEAN): repeated opaque markers cost nothing more.  */
static int
prune_children (struct za_unpack *u, const char *entry, const char *rel, struct za_err **err)
{
  cleanup_strv struct za_strv todo = { 0 };
  if (za_strv_push (&todo, rel) < 0)
    return oom (err);
  while (todo.n > 0)
    {
      cleanup_free char *cur = todo.v[--todo.n];
      cleanup_strv struct za_strv names = { 0 };
      cleanup_close int fd = -1;
      cleanup_dir DIR *d = NULL;
      struct dirent *de;
      int lfd;

      todo.v[todo.n] = NULL;
      if (paths_get (u, cur) & PS_CLEAN)
        continue;
      fd = za_up_open_in_root (u, cur, O_RDONLY | O_DIRECTORY);
      if (fd < 0)
        {
          /* a file or symlink written by this layer: nothing below it */
          if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT)
            continue;
          return za_up_fs_err (u, entry, "open directory", errno, err);
        }
      if ((lfd = fcntl (fd, F_DUPFD_CLOEXEC, 0)) < 0 || !(d = fdopendir (lfd)))
        {
          int e = errno;
          if (lfd >= 0)
            close (lfd);
          return za_up_fs_err (u, entry, "opendir", e, err);
        }
      /* names first: removing while reading a directory may skip entries */
      for (errno = 0; (de = readdir (d)); errno = 0)
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0
            && za_strv_push (&names, de->d_name) < 0)
          return oom (err);
      if (errno)
        return za_up_fs_err (u, entry, "readdir", errno, err);
      for (size_t i = 0; i < names.n; i++)
        {
          cleanup_free char *child = za_up_join (cur, names.v[i]);
          if (!child)
            return oom (err);
          if (!paths_get (u, child))
            {
              if (za_up_remove_at (u, fd, names.v[i], entry, err) < 0)
                return -1;
            }
          else if (za_strv_push (&todo, child) < 0)
            return oom (err);
        }
      if (paths_mark (u, cur, PS_CLEAN, NULL, err) < 0)
        return -1;
    }
  return 0;
}

/* Diff mode: the whiteout as overlayfs reads it in a lower dir.  */
static int
whiteout_diff (struct za_unpack *u, const char *entry, const char *dir, const char *name,
               struct za_err **err)
{
  cleanup_free char *rdir = NULL, *target = NULL;
  cleanup_close int dfd = -1, ofd = -1;
  struct stat st;

  if (za_up_walk_parent (u, entry, dir, &dfd, &rdir, err) < 0)
    return -1;
  if (strcmp (name, ".wh..opq") == 0)
    {
      const char *x = u->root ? "trusted.overlay.opaque" : "user.overlay.opaque";
      ofd = za_up_open_in_root (u, rdir, O_RDONLY | O_DIRECTORY);
      if (ofd < 0)
        return za_up_fs_err (u, entry, "open directory", errno, err);
      if (fsetxattr (ofd, x, "y", 1, 0) < 0)
        return za_up_fs_err (u, entry, "mark opaque", errno, err);
      return za_up_record_written (u, rdir, err);
    }
  if (strncmp (name, ".wh.", 4) == 0)
    return 0;
  if (!*name || strcmp (name, ".") == 0 || strcmp (name, "..") == 0 || strchr (name, '/'))
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: invalid whiteout", u->blob, entry);
  if (!(target = za_up_join (rdir, name)))
    return oom (err);
  /* what this layer wrote stays: a whiteout hides lower layers only */
  if (paths_get (u, target) || fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  if (mknodat (dfd, name, S_IFCHR | 0, makedev (0, 0)) < 0)
    return za_up_fs_err (u, entry, "make whiteout", errno, err);
  return 0;
}

int
za_up_whiteout (struct za_unpack *u, const char *entry, const char *dir, const char *name,
                struct za_err **err)
{
  cleanup_free char *rdir = NULL, *target = NULL;
  cleanup_close int dfd = -1;
  struct stat st;
  int r;

  if (u->diff)
    return whiteout_diff (u, entry, dir, name, err);
  if (strcmp (name, ".wh..opq") == 0)
    {
      /* opaque directory: it exists in this layer, emptied of the
         lower layers' entries */
      if (za_up_walk_parent (u, entry, dir, &dfd, &rdir, err) < 0
          || za_up_record_written (u, rdir, err) < 0)
        return -1;
      return prune_children (u, entry, rdir, err);
    }
  /* other AUFS metadata (.wh..wh.plnk, …) carries no content */
  if (strncmp (name, ".wh.", 4) == 0)
    return 0;
  if (!*name || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: invalid whiteout", u->blob, entry);
  r = za_up_walk (u, entry, dir, false, &dfd, &rdir, err);
  if (r <= 0)
    return r;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return 0;
      return za_up_fs_err (u, entry, "stat", errno, err);
    }
  if (!(target = za_up_join (rdir, name)))
    return oom (err);
  if (!paths_get (u, target))
    return za_up_remove_at (u, dfd, name, entry, err);
  return prune_children (u, entry, target, err);
}

