#define _GNU_SOURCE
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

/* (uid_t)-1 / (gid_t)-1 mean "no change" to chown/setresuid, so the largest
   usable id is one below it.  */
#define ID_MAX (UINT32_MAX - 1)

/* Fields per line in the two database formats.  */
#define PASSWD_FIELDS 7 /* name:pw:uid:gid:gecos:home:shell */
#define GROUP_FIELDS 4  /* name:pw:gid:members */
#define SUBID_FIELDS 3  /* owner:start:count */
#define MAX_FIELDS PASSWD_FIELDS

/* A slice of the file buffer: lines are not NUL-terminated in place, and a
   stray NUL byte inside a file must not silently shorten a field.  */
struct field
{
  const char *p;
  size_t n;
};

static bool
all_digits (const char *s, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

/* Decimal, digits only (no sign, no spaces: strtoul would accept both),
   at most MAX.  */
static bool
parse_u32 (const char *s, size_t n, uint32_t max, uint32_t *out)
{
  uint64_t v = 0;
  if (!all_digits (s, n))
    return false;
  for (size_t i = 0; i < n; i++)
    {
      v = v * 10 + (uint64_t) (s[i] - '0');
      if (v > max) /* checked every digit, so v never overflows uint64 */
        return false;
    }
  *out = (uint32_t) v;
  return true;
}

static bool
field_eq (const struct field *f, const char *s)
{
  size_t n = strlen (s);
  return f->n == n && memcmp (f->p, s, n) == 0;
}

/* Split LINE at ':' into at most MAX_FIELDS slices; returns the real field
   count, which may be larger than MAX_FIELDS (the line is then malformed for
   every format we read, so the extra fields need not be stored).  */
static size_t
split_fields (const char *line, size_t len, struct field *f)
{
  size_t nf = 0;
  const char *p = line, *end = line + len;
  for (;;)
    {
      const char *c = memchr (p, ':', (size_t) (end - p));
      const char *fe = c ? c : end;
      if (nf < MAX_FIELDS)
        f[nf] = (struct field){ p, (size_t) (fe - p) };
      nf++;
      if (!c)
        return nf;
      p = c + 1;
    }
}

/* Calls FN on every line that is neither blank nor a comment; stops early
   when FN returns true and then returns true.  */
static bool
for_each_line (const char *buf, size_t len,
               bool (*fn) (const struct field *f, size_t nf, void *data),
               void *data)
{
  const char *p = buf, *end = buf + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
      struct field f[MAX_FIELDS];
      if (n > 0 && p[0] != '#')
        {
          size_t nf = split_fields (p, n, f);
          if (fn (f, nf, data))
            return true;
        }
      p += n + 1;
    }
  return false;
}

/* A passwd or group lookup: by NAME when non-NULL, else by numeric ID.  */
struct db_query
{
  size_t nfields;
  const char *name;
  uint32_t id;
  uint32_t id_out, gid_out;
};

static bool
db_match (const struct field *f, size_t nf, void *data)
{
  struct db_query *q = data;
  uint32_t id, gid = 0;
  /* Malformed lines are skipped rather than fatal: images ship odd files
     (NIS "+" entries, hand edits), and the line we need may come later.  */
  if (nf != q->nfields || f[0].n == 0 || !parse_u32 (f[2].p, f[2].n, ID_MAX, &id))
    return false;
  if (q->nfields == PASSWD_FIELDS && !parse_u32 (f[3].p, f[3].n, ID_MAX, &gid))
    return false;
  if (q->name ? !field_eq (&f[0], q->name) : id != q->id)
    return false;
  q->id_out = id;
  q->gid_out = gid;
  return true;
}

/* Read at most MAX bytes of FD into a NUL-terminated buffer.  Returns 0, or
   -1 with errno set (EFBIG when the file is larger than MAX).  */
static int
read_bounded (int fd, size_t max, char **out, size_t *len_out)
{
  size_t cap = 4096, len = 0;
  cleanup_free char *buf = malloc (cap + 1);
  if (!buf)
    return -1;
  for (;;)
    {
      ssize_t n;
      if (len == cap)
        {
          char *nb;
          /* Reading one byte past MAX is how we tell "exactly MAX" from
             "larger", so grow up to MAX + 1 and no further.  */
          if (cap > max)
            {
              errno = EFBIG;
              return -1;
            }
          cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
          nb = realloc (buf, cap + 1);
          if (!nb)
            return -1;
          buf = nb;
        }
      n = read (fd, buf + len, cap - len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      len += (size_t) n;
    }
  if (len > max)
    {
      errno = EFBIG;
      return -1;
    }
  buf[len] = '\0';
  *out = steal_pointer (&buf);
  *len_out = len;
  return 0;
}

/* O_NONBLOCK: a FIFO planted at etc/passwd would otherwise block open()
   forever; we refuse anything that is not a regular file right after.
   O_NOCTTY: a tty there must not become our controlling terminal.  */
#define READ_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* Without openat2: walk REL one component at a time refusing every symlink.
   Stricter than RESOLVE_IN_ROOT (a symlinked etc/passwd fails with ELOOP)
   but it can never escape the rootfs.  */
static int
open_nofollow_walk (int rootfs_fd, const char *rel)
{
  char path[PATH_MAX];
  int dfd = rootfs_fd;
  cleanup_close int owned = -1;
  char *comp, *save = NULL;

  if (strlen (rel) >= sizeof path)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  strcpy (path, rel);
  comp = strtok_r (path, "/", &save);
  while (comp)
    {
      char *next = strtok_r (NULL, "/", &save);
      int fd;
      if (!next)
        return openat (dfd, comp, READ_FLAGS | O_NOFOLLOW);
      fd = openat (dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return -1;
      if (owned >= 0)
        close (owned);
      owned = dfd = fd;
      comp = next;
    }
  errno = EINVAL;
  return -1;
}

/* Open REL (relative, e.g. "etc/passwd") inside the rootfs as if the rootfs
   were "/": absolute symlinks and ".." stay inside it, so an image cannot
   make us read host files.  Returns an fd or -1 with errno set.  */
static int
open_in_root (int rootfs_fd, const char *rel)
{
  struct open_how how = {
    .flags = READ_FLAGS,
    /* Magic links (/proc/self/fd/...) jump outside any root; an image has no
       business pointing its passwd at one.  */
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  for (int attempt = 0;; attempt++)
    {
      long fd = syscall (SYS_openat2, rootfs_fd, rel, &how, sizeof how);
      if (fd >= 0)
        return (int) fd;
      /* EAGAIN: the kernel saw a concurrent rename/mount during an
         in-root lookup and refused to guess; retrying is the documented
         answer.  */
      if ((errno == EAGAIN || errno == EINTR) && attempt < 16)
        continue;
      /* ENOSYS: kernel before 5.6.  EPERM: older container seccomp
         profiles deny syscalls they do not know with EPERM; a genuine EPERM
         (an LSM denying the read) comes back from openat in the walk and is
         reported from there.  */
      if (errno == ENOSYS || errno == EPERM)
        return open_nofollow_walk (rootfs_fd, rel);
      return -1;
    }
}

/* How to name the lookup in messages: "cannot resolve user name `x`".  */
struct ctx
{
  const char *what;
  const char *val;
};

/* Load <rootfs>/REL.  Returns 1 with *OUT set, 0 when the file does not
   exist, -1 with an error.  */
static int
load_db (int rootfs_fd, const char *rel, const struct ctx *c, char **out,
         size_t *len_out, struct za_err **err)
{
  cleanup_close int fd = open_in_root (rootfs_fd, rel);
  struct stat st;

  if (fd < 0)
    {
      int e = errno;
      /* ENOTDIR: etc is a file, so there is no etc/passwd either.  */
      if (e == ENOENT || e == ENOTDIR)
        return 0;
      /* Problems with what the image put there are input errors; anything
         else (EIO, EMFILE, ENOMEM) is ours and keeps its errno.  */
      return za_err_set (err,
                         (e == EACCES || e == ELOOP || e == ENXIO || e == EPERM
                          || e == ENAMETOOLONG)
                             ? ZA_EINPUT
                             : e,
                         "cannot resolve %s `%s`: cannot open the rootfs's /%s: %s",
                         c->what, c->val, rel, strerror (e));
    }
  if (fstat (fd, &st) < 0)
    return za_err_set (err, errno, "cannot resolve %s `%s`: stat the rootfs's /%s: %s",
                       c->what, c->val, rel, strerror (errno));
  if (!S_ISREG (st.st_mode))
    return za_err_set (err, ZA_EINPUT,
                       "cannot resolve %s `%s`: the rootfs's /%s is not a regular file",
                       c->what, c->val, rel);
  if (read_bounded (fd, ZA_USERS_MAX_FILE, out, len_out) < 0)
    {
      int e = errno;
      if (e == EFBIG)
        return za_err_set (err, ZA_EINPUT,
                           "cannot resolve %s `%s`: the rootfs's /%s is larger than "
                           "the limit of %u bytes",
                           c->what, c->val, rel, ZA_USERS_MAX_FILE);
      return za_err_set (err, e, "cannot resolve %s `%s`: read the rootfs's /%s: %s",
                         c->what, c->val, rel, strerror (e));
    }
  return 1;
}

/* Resolve a user name: needs the rootfs and its passwd, no exceptions.  */
static int
resolve_user_name (int rootfs_fd, const char *name, uint32_t *uid, uint32_t *gid,
                   struct za_err **err)
{
  const struct ctx c = { "user name", name };
  struct db_query q = { .nfields = PASSWD_FIELDS, .name = name };
  cleanup_free char *buf = NULL;
  size_t len = 0;
  int r;

  if (rootfs_fd < 0)
    return za_err_set (err, ZA_EINPUT,
                       "cannot resolve user name `%s`: no rootfs given (use --rootfs)", name);
  r = load_db (rootfs_fd, "etc/passwd", &c, &buf, &len, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return za_err_set (err, ZA_EINPUT,
                       "cannot resolve user name `%s`: the rootfs has no /etc/passwd", name);
  if (!for_each_line (buf, len, db_match, &q))
    return za_err_set (err, ZA_EINPUT, "user `%s` not found in the rootfs's /etc/passwd",
                       name);
  *uid = q.id_out;
  *gid = q.gid_out;
  return 0;
}

/* Primary gid of a numeric uid with no group given: the passwd entry's gid
   if there is one, else gid = uid, as the reference implementation does.
   A missing passwd is normal (scratch images) and not an error; a passwd
   that exists but cannot be read is, since guessing could pick the wrong
   group.  */
static int
primary_gid_of_uid (int rootfs_fd, const char *uid_str, uint32_t uid, uint32_t *gid,
                    struct za_err **err)
{
  const struct ctx c = { "the primary group of uid", uid_str };
  struct db_query q = { .nfields = PASSWD_FIELDS, .id = uid };
  cleanup_free char *buf = NULL;
  size_t len = 0;
  int r;

  *gid = uid;
  if (rootfs_fd < 0)
    return 0;
  r = load_db (rootfs_fd, "etc/passwd", &c, &buf, &len, err);
  if (r <= 0)
    return r;
  if (for_each_line (buf, len, db_match, &q))
    *gid = q.gid_out;
  return 0;
}

static int
resolve_group_name (int rootfs_fd, const char *name, uint32_t *gid, struct za_err **err)
{
  const struct ctx c = { "group name", name };
  struct db_query q = { .nfields = GROUP_FIELDS, .name = name };
  cleanup_free char *buf = NULL;
  size_t len = 0;
  int r;

  if (rootfs_fd < 0)
    return za_err_set (err, ZA_EINPUT,
                       "cannot resolve group name `%s`: no rootfs given (use --rootfs)", name);
  r = load_db (rootfs_fd, "etc/group", &c, &buf, &len, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return za_err_set (err, ZA_EINPUT,
                       "cannot resolve group name `%s`: the rootfs has no /etc/group", name);
  if (!for_each_line (buf, len, db_match, &q))
    return za_err_set (err, ZA_EINPUT, "group `%s` not found in the rootfs's /etc/group",
                       name);
  *gid = q.id_out;
  return 0;
}

int
za_user_resolve (int rootfs_fd, const char *user, uint32_t *uid_out, uint32_t *gid_out,
                 struct za_err **err)
{
  cleanup_free char *upart = NULL;
  cleanup_free char *gpart = NULL;
  const char *colon;
  uint32_t uid, gid;

  if (!uid_out || !gid_out)
    return za_err_set (err, EINVAL, "za_user_resolve: NULL output pointer");
  /* No USER in the image config means root, as in every runtime.  */
  if (!user || !*user)
    {
      *uid_out = 0;
      *gid_out = 0;
      return 0;
    }
  colon = strchr (user, ':');
  if (colon && strchr (colon + 1, ':'))
    return za_err_set (err, ZA_EINPUT,
                       "invalid user `%s`: expected USER or USER:GROUP (more than one ':')",
                       user);
  upart = colon ? strndup (user, (size_t) (colon - user)) : strdup (user);
  gpart = colon ? strdup (colon + 1) : NULL;
  if (!upart || (colon && !gpart))
    return za_err_set (err, ENOMEM, "resolving user `%s`: out of memory", user);
  /* "nginx:" or ":1" is almost certainly a templating mistake; treating the
     empty half as root would hide it.  */
  if (!*upart || (gpart && !*gpart))
    return za_err_set (err, ZA_EINPUT,
                       "invalid user `%s`: the user and group parts must not be empty", user);

  /* An all-digit string is always a number, never a name, so "99999999999"
     is an out-of-range uid rather than a user name to look up.  */
  if (all_digits (upart, strlen (upart)))
    {
      if (!parse_u32 (upart, strlen (upart), ID_MAX, &uid))
        return za_err_set (err, ZA_EINPUT, "invalid user `%s`: uid %s is larger than %u",
                           user, upart, ID_MAX);
    }
  else if (resolve_user_name (rootfs_fd, upart, &uid, &gid, err) < 0)
    return -1;

  if (gpart && all_digits (gpart, strlen (gpart)))
    {
      if (!parse_u32 (gpart, strlen (gpart), ID_MAX, &gid))
        return za_err_set (err, ZA_EINPUT, "invalid user `%s`: gid %s is larger than %u",
                           user, gpart, ID_MAX);
    }
  else if (gpart)
    {
      if (resolve_group_name (rootfs_fd, gpart, &gid, err) < 0)
        return -1;
    }
  else if (all_digits (upart, strlen (upart)))
    {
      if (primary_gid_of_uid (rootfs_fd, upart, uid, &gid, err) < 0)
        return -1;
    }
  /* else: gid is the named user's primary gid from its passwd line.  */

  *uid_out = uid;
  *gid_out = gid;
  return 0;
}

struct subid_query
{
  const char *name, *uid_str;
  bool matched, valid;
  uint32_t start, count;
};

static bool
subid_match (const struct field *f, size_t nf, void *data)
{
  struct subid_query *q = data;
  uint64_t end;
  /* Empty NAME/UID_STR never match: an owner-less line ":100000:65536"
     belongs to nobody.  */
  if (!((q->name && *q->name && field_eq (&f[0], q->name))
        || (q->uid_str && *q->uid_str && field_eq (&f[0], q->uid_str))))
    return false;
  /* The first line for the owner decides, as in shadow-utils: a broken
     entry means "no range", not "look further" (a later line could be
     stale and overlap someone else's range).  */
  q->matched = true;
  if (nf != SUBID_FIELDS || !parse_u32 (f[1].p, f[1].n, ID_MAX, &q->start)
      || !parse_u32 (f[2].p, f[2].n, UINT32_MAX, &q->count) || q->count == 0)
    return true;
  /* The last id of the range must still be a usable id (<= UINT32_MAX-1).  */
  end = (uint64_t) q->start + q->count;
  q->valid = end <= UINT32_MAX;
  return true;
}

int
za_subid_lookup (const char *path, const char *name, const char *uid_str,
                 uint32_t *start, uint32_t *count)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  struct subid_query q = { .name = name, .uid_str = uid_str };
  struct stat st;
  size_t len = 0;

  if (!path || !start || !count)
    return 0;
  /* A host file by design (subuid ranges are host policy), so a plain open;
     the callers fall back to no mapping when it cannot be read.  */
  fd = open (path, READ_FLAGS);
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    return 0;
  if (read_bounded (fd, ZA_USERS_MAX_FILE, &buf, &len) < 0)
    return 0;
  for_each_line (buf, len, subid_match, &q);
  if (!q.matched || !q.valid)
    return 0;
  *start = q.start;
  *count = q.count;
  return 1;
}
