#define _GNU_SOURCE
#include "image/unpack_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/dl.h"
#include "util/cleanup.h"

#define READ_CHUNK (128u * 1024)

static int
oom (struct za_err **err)
{
  return za_err_set (err, ENOMEM, "out of memory");
}

/* ---- limits ------------------------------------------------------- */

int
za_parse_byte_size (const char *s, uint64_t *out)
{
  uint64_t v = 0, mul = 1;
  const char *p = s;
  if (!s || !isdigit ((unsigned char) *p))
    return -1;
  for (; isdigit ((unsigned char) *p); p++)
    {
      if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
        return -1;
      v = v * 10 + (uint64_t) (*p - '0');
    }
  if (*p && strchr ("kKmMgGtT", *p))
    {
      static const char units[] = "kmgt";
      mul = UINT64_C (1) << (10 * (1 + (strchr (units, tolower ((unsigned char) *p)) - units)));
      p++;
    }
  if (mul > 1 && *p == 'i')
    p++;
  if (*p == 'B' || *p == 'b')
    p++;
  if (*p || (mul > 1 && v > UINT64_MAX / mul))
    return -1;
  *out = v * mul;
  return 0;
}

static int
limit_from_env (const char *var, uint64_t *v, struct za_err **err)
{
  const char *s = getenv (var);
  if (!s || !*s)
    return 0;
  if (za_parse_byte_size (s, v) < 0 || *v == 0)
    return za_err_set (err, ZA_EINPUT,
                       "%s: invalid value `%s` (a positive count with an optional K, M, G or T "
                       "suffix)",
                       var, s);
  return 0;
}

int
za_unpack_limits_from_env (struct za_unpack_limits *lim, struct za_err **err)
{
  lim->max_bytes = ZA_IMAGE_MAX_SIZE_DEFAULT;
  lim->max_entries = ZA_IMAGE_MAX_ENTRIES_DEFAULT;
  if (limit_from_env ("ZAGENT_IMAGE_MAX_SIZE", &lim->max_bytes, err) < 0
      || limit_from_env ("ZAGENT_IMAGE_MAX_ENTRIES", &lim->max_entries, err) < 0)
    return -1;
  return 0;
}

static void
note (size_t *count, char **first, const char *entry, const char *msg)
{
  if ((*count)++ == 0 && asprintf (first, "`%s`%s%s", entry, msg ? ": " : "", msg ? msg : "") < 0)
    *first = NULL;
}

/* ---- writing entries ---------------------------------------------- */

struct src
{
  int fd;
  EVP_MD_CTX *md;
  /* diff_id check: OUTER decompresses the blob (libarchive's raw format
     behind its gzip/zstd filters); the tar reader reads the plain stream
     through here, and DMD hashes it */
  struct archive *outer;
  EVP_MD_CTX *dmd;
  bool outer_eof, outer_failed;
  unsigned char dbuf[READ_CHUNK];
  uint64_t left; /* bytes of the blob not read yet */
  int read_errno;
  bool short_read;
  bool md_failed;
  unsigned char buf[READ_CHUNK];
};

static ssize_t
src_chunk (struct src *s)
{
  ssize_t n;
  if (s->left == 0)
    return 0;
  n = za_read_retry (s->fd, s->buf, s->left < sizeof s->buf ? (size_t) s->left : sizeof s->buf);
  if (n < 0)
    {
      s->read_errno = errno;
      return -1;
    }
  if (n == 0)
    {
      s->short_read = true;
      return 0;
    }
  if (EVP_DigestUpdate (s->md, s->buf, (size_t) n) != 1)
    s->md_failed = true;
  s->left -= (uint64_t) n;
  return n;
}

/* libarchive reads the blob through here, so every byte it unpacks is
   also hashed: one pass, and no window in which the file could change
   between verifying and unpacking.  */
static la_ssize_t
src_read (struct archive *a, void *data, const void **buf)
{
  struct src *s = data;
  ssize_t n = src_chunk (s);
  if (n < 0)
    archive_set_error (a, s->read_errno, "read: %s", strerror (s->read_errno));
  *buf = s->buf;
  return n;
}

/* The uncompressed tar stream, hashed as the tar reader takes it.  */
static la_ssize_t
diff_read (struct archive *a, void *data, const void **buf)
{
  struct src *s = data;
  la_ssize_t n;
  *buf = s->dbuf;
  if (s->outer_eof)
    return 0;
  n = archive_read_data (s->outer, s->dbuf, sizeof s->dbuf);
  if (n < 0)
    {
      s->outer_failed = true;
      archive_set_error (a, s->read_errno ? s->read_errno : EINVAL, "decompress: %s",
                         archive_error_string (s->outer) ? archive_error_string (s->outer) : "?");
      return -1;
    }
  if (n == 0)
    s->outer_eof = true;
  else if (EVP_DigestUpdate (s->dmd, s->dbuf, (size_t) n) != 1)
    s->md_failed = true;
  return n;
}

static const char *
aerr (struct archive *a)
{
  const char *s = archive_error_string (a);
  return s ? s : "unknown libarchive error";
}

static int
pwrite_all (int fd, const char *p, size_t len, off_t off)
{
  while (len > 0)
    {
      ssize_t n = pwrite (fd, p, len, off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return -1;
        }
      p += n;
      len -= (size_t) n;
      off += n;
    }
  return 0;
}

/* Count N more bytes of file content against ZAGENT_IMAGE_MAX_SIZE.  */
static int
charge (struct za_unpack *u, uint64_t n, const char *entry, struct za_err **err)
{
  if (n > u->lim.max_bytes - u->bytes)
    return za_err_set (err, ZA_EINPUT,
                       "%s: entry `%s`: the image unpacks to more than %ju bytes (limit set by "
                       "ZAGENT_IMAGE_MAX_SIZE)",
                       u->blob, entry, (uintmax_t) u->lim.max_bytes);
  u->bytes += n;
  return 0;
}

/* The entry's data into FD.  Its size counts against the size limit
   before anything is written (a sparse file's holes included: a copy of
   the rootfs would fill them), then anything past it, and every write
   must complete: a short write or ENOSPC fails the unpack, it never
   leaves a truncated file behind.  */
static int
write_data (struct za_unpack *u, struct src *s, struct archive *a, struct archive_entry *e,
            int fd, const char *entry, struct za_err **err)
{
  la_int64_t declared = archive_entry_size_is_set (e) ? archive_entry_size (e) : 0;
  uint64_t charged = declared > 0 ? (uint64_t) declared : 0;
  off_t end = 0;

  if (charge (u, charged, entry, err) < 0)
    return -1;
  for (;;)
    {
      const void *buf;
      size_t size;
      la_int64_t off;
      int r = archive_read_data_block (a, &buf, &size, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return za_err_set (err, s->read_errno ? s->read_errno : ZA_EINPUT, "%s: entry `%s`: %s",
                           u->blob, entry, aerr (a));
      if (off < 0)
        off = end;
      if ((uint64_t) off + size > charged)
        {
          if (charge (u, (uint64_t) off + size - charged, entry, err) < 0)
            return -1;
          charged = (uint64_t) off + size;
        }
      if (pwrite_all (fd, buf, size, (off_t) off) < 0)
        return za_up_fs_err (u, entry, "write", errno, err);
      if ((off_t) off + (off_t) size > end)
        end = (off_t) off + (off_t) size;
    }
  /* a sparse file's hole at its end */
  if (declared > end && ftruncate (fd, (off_t) declared) < 0)
    return za_up_fs_err (u, entry, "truncate", errno, err);
  return 0;
}

static void
entry_times (struct archive_entry *e, struct timespec ts[2])
{
  ts[0] = (struct timespec){ 0, UTIME_OMIT };
  ts[1] = (struct timespec){ 0, UTIME_OMIT };
  if (archive_entry_atime_is_set (e))
    ts[0] = (struct timespec){ archive_entry_atime (e), archive_entry_atime_nsec (e) };
  if (archive_entry_mtime_is_set (e))
    ts[1] = (struct timespec){ archive_entry_mtime (e), archive_entry_mtime_nsec (e) };
}

/* Owner (numeric: the host's user database is not the image's) and
   xattrs (file capabilities), only when we can set them.  */
static int
set_owner_xattrs (struct za_unpack *u, struct archive_entry *e, int fd, const char *entry,
                  struct za_err **err)
{
  la_int64_t uid = archive_entry_uid (e), gid = archive_entry_gid (e);
  const char *name;
  const void *value;
  size_t size;

  if (!u->root)
    return 0;
  if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: invalid owner %jd:%jd", u->blob, entry,
                       (intmax_t) uid, (intmax_t) gid);
  if (fchown (fd, (uid_t) uid, (gid_t) gid) < 0)
    return za_up_fs_err (u, entry, "chown", errno, err);
  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      char msg[160];
      /* POSIX ACLs (GNU tar stores them as system.posix_acl_* xattrs)
         were never restored, as libarchive without ARCHIVE_EXTRACT_ACL */
      if (!name || strncmp (name, "system.posix_acl_", 17) == 0)
        continue;
      /* overlayfs reads these on its lower layers (redirects, opaque and
         metacopy markers), and the cached rootfs is one: an image must not
         steer the container's overlay */
      if (strncmp (name, "trusted.overlay.", 16) == 0 || strncmp (name, "user.overlay.", 13) == 0)
        {
          snprintf (msg, sizeof msg, "xattr `%.64s` ignored", name);
          note (&u->warnings, &u->first_warning, entry, msg);
          continue;
        }
      if (fsetxattr (fd, name, value, size, 0) == 0)
        continue;
      if (errno == ENOSPC || errno == EDQUOT || errno == EIO)
        return za_up_fs_err (u, entry, "set xattr", errno, err);
      snprintf (msg, sizeof msg, "cannot set xattr `%.64s`: %s", name, strerror (errno));
      note (&u->warnings, &u->first_warning, entry, msg);
    }
  return 0;
}

static mode_t
entry_mode (struct za_unpack *u, struct archive_entry *e, bool dir, const char *entry)
{
  mode_t mode = archive_entry_perm (e) & 07777;
  /* without root the file is ours, not the image's owner's: a setuid
     bit would make it setuid to the user unpacking */
  if (!u->root && !dir && (mode & (S_ISUID | S_ISGID)))
    {
      mode &= ~(mode_t) (S_ISUID | S_ISGID);
      note (&u->setid, &u->first_setid, entry, NULL);
    }
  return mode;
}

static int
make_file (struct za_unpack *u, struct src *s, struct archive *a, struct archive_entry *e,
           int pfd, const char *base, const char *entry, struct za_err **err)
{
  struct timespec ts[2];
  int fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int rc;
  if (fd < 0)
    return za_up_fs_err (u, entry, "create", errno, err);
  entry_times (e, ts);
  rc = write_data (u, s, a, e, fd, entry, err);
  if (rc == 0)
    rc = set_owner_xattrs (u, e, fd, entry, err);
  /* after chown, which clears setuid bits */
  if (rc == 0 && fchmod (fd, entry_mode (u, e, false, entry)) < 0)
    rc = za_up_fs_err (u, entry, "chmod", errno, err);
  if (rc == 0 && futimens (fd, ts) < 0)
    rc = za_up_fs_err (u, entry, "set times", errno, err);
  if (close (fd) < 0 && rc == 0)
    rc = za_up_fs_err (u, entry, "close", errno, err);
  return rc;
}

static int
make_symlink (struct za_unpack *u, struct archive_entry *e, int pfd, const char *base,
              const char *entry, struct za_err **err)
{
  const char *target = archive_entry_symlink (e);
  struct timespec ts[2];
  la_int64_t uid = archive_entry_uid (e), gid = archive_entry_gid (e);

  if (!target || !*target)
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: symlink without a target", u->blob,
                       entry);
  /* it may now redirect a path that resolved elsewhere */
  za_up_wcache_drop (u);
  if (symlinkat (target, pfd, base) < 0)
    return za_up_fs_err (u, entry, "symlink", errno, err);
  if (u->root)
    {
      if (uid < 0 || gid < 0 || uid >= UINT32_MAX || gid >= UINT32_MAX)
        return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: invalid owner %jd:%jd", u->blob,
                           entry, (intmax_t) uid, (intmax_t) gid);
      if (fchownat (pfd, base, (uid_t) uid, (gid_t) gid, AT_SYMLINK_NOFOLLOW) < 0)
        return za_up_fs_err (u, entry, "chown", errno, err);
    }
  entry_times (e, ts);
  if (utimensat (pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return za_up_fs_err (u, entry, "set times", errno, err);
  return 0;
}

/* A directory now (owner, xattrs); its mode and times once the layer is
   complete, so that a read-only directory can still be filled and its
   mtime is not changed by what goes into it.  */
static int
make_dir (struct za_unpack *u, struct archive_entry *e, int pfd, const char *base,
          const char *rpath, bool exists, const char *entry, struct za_err **err)
{
  cleanup_close int fd = -1;
  struct fixup *f;
  struct stat st;

  if (!exists && mkdirat (pfd, base, 0700) < 0)
    return za_up_fs_err (u, entry, "mkdir", errno, err);
  if (*base)
    fd = za_up_open_comp (pfd, base, O_RDONLY | O_DIRECTORY);
  else
    fd = za_up_open_in_root (u, "", O_RDONLY | O_DIRECTORY);
  if (fd < 0 || fstat (fd, &st) < 0)
    return za_up_fs_err (u, entry, "open directory", errno, err);
  if (set_owner_xattrs (u, e, fd, entry, err) < 0)
    return -1;
  if (u->nfix == u->capfix)
    {
      size_t ncap = u->capfix ? 2 * u->capfix : 64;
      struct fixup *nf = realloc (u->fix, ncap * sizeof *nf);
      if (!nf)
        return oom (err);
      u->fix = nf;
      u->capfix = ncap;
    }
  if (za_up_meta_charge (u, sizeof *f + strlen (rpath) + 1, err) < 0)
    return -1;
  f = &u->fix[u->nfix];
  if (!(f->rel = strdup (rpath)))
    return oom (err);
  f->depth = za_up_count_depth (rpath);
  f->seq = u->nfix++;
  f->mode = entry_mode (u, e, true, entry);
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  entry_times (e, f->ts);
  return 0;
}

static int
fixup_cmp (const void *a, const void *b)
{
  const struct fixup *x = a, *y = b;
  if (x->depth != y->depth)
    return x->depth > y->depth ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Deepest first, so that a parent made read-only does not block its
   children.  Each directory is found again inside the rootfs, never
   through a symlink, and must still be the inode its entry made: one
   replaced since (by a symlink to a host directory, say) is skipped.  */
static int
apply_fixups (struct za_unpack *u, struct za_err **err)
{
  if (u->nfix > 1)
    qsort (u->fix, u->nfix, sizeof *u->fix, fixup_cmp);
  for (size_t i = 0; i < u->nfix; i++)
    {
      struct fixup *f = &u->fix[i];
      cleanup_close int fd = za_up_open_in_root (u, f->rel, O_RDONLY | O_DIRECTORY);
      struct stat st;
      if (fd < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)
            continue;
          return za_up_fs_err (u, f->rel, "open directory", errno, err);
        }
      if (fstat (fd, &st) < 0)
        return za_up_fs_err (u, f->rel, "stat", errno, err);
      if (st.st_dev != f->dev || st.st_ino != f->ino)
        continue;
      if (fchmod (fd, f->mode) < 0)
        return za_up_fs_err (u, f->rel, "chmod", errno, err);
      if (futimens (fd, f->ts) < 0)
        return za_up_fs_err (u, f->rel, "set times", errno, err);
    }
  return 0;
}

static void
fixups_clear (struct za_unpack *u)
{
  for (size_t i = 0; i < u->nfix; i++)
    free (u->fix[i].rel);
  u->nfix = 0;
}

static int
apply_entry (struct za_unpack *u, struct src *s, struct archive *a, struct archive_entry *e,
             struct za_err **err)
{
  const char *raw = archive_entry_pathname (e), *hl = archive_entry_hardlink (e);
  cleanup_free char *rel = NULL, *dir = NULL, *rdir = NULL, *rpath = NULL;
  cleanup_free char *hrel = NULL, *hdir = NULL, *hrdir = NULL;
  cleanup_close int pfd = -1, hfd = -1;
  const char *base, *hbase = NULL, *why;
  mode_t type = archive_entry_filetype (e);
  unsigned depth;
  struct stat st;
  bool exists;

  if (!raw || !*raw)
    return za_err_set (err, ZA_EINPUT, "%s: entry without a name", u->blob);
  if (++u->entries > u->lim.max_entries)
    return za_err_set (err, ZA_EINPUT,
                       "%s: the image has more than %ju entries (limit set by "
                       "ZAGENT_IMAGE_MAX_ENTRIES)",
                       u->blob, (uintmax_t) u->lim.max_entries);
  if (za_up_normalise (raw, &rel, &depth, &why) < 0)
    return why ? za_err_set (err, ZA_EINPUT, "%s: entry `%s`: %s", u->blob, raw, why)
               : oom (err);
  if (depth > ZA_IMAGE_MAX_DEPTH)
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: nested more than %d directories deep",
                       u->blob, raw, ZA_IMAGE_MAX_DEPTH);
  if (!(dir = za_up_split_path (rel, &base)))
    return oom (err);
  if (strncmp (base, ".wh.", 4) == 0)
    return za_up_whiteout (u, raw, dir, base + 4, err);
  if (!hl && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO))
    {
      /* the runtime mounts its own /dev; a device node from an image
         would only be a way around the device cgroup */
      note (&u->skipped, &u->first_skipped, raw, NULL);
      return 0;
    }
  if (!hl && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: unsupported file type 0%o", u->blob, raw,
                       (unsigned) type);
  if (hl)
    {
      int r;
      if (za_up_normalise (hl, &hrel, &depth, &why) < 0)
        return why ? za_err_set (err, ZA_EINPUT,
                                 "%s: entry `%s`: hardlink target `%s` is outside the rootfs",
                                 u->blob, raw, hl)
                   : oom (err);
      if (!*hrel)
        return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: invalid hardlink target `%s`",
                           u->blob, raw, hl);
      if (!(hdir = za_up_split_path (hrel, &hbase)))
        return oom (err);
      r = za_up_walk (u, raw, hdir, false, &hfd, &hrdir, err);
      if (r < 0)
        return -1;
      if (r == 0 || fstatat (hfd, hbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: hardlink target `%s`: %s", u->blob,
                           raw, hl, strerror (r == 0 ? ENOENT : errno));
      if (S_ISDIR (st.st_mode))
        return za_err_set (err, ZA_EINPUT,
                           "%s: entry `%s`: hardlink target `%s` is a directory", u->blob, raw,
                           hl);
    }
  if (!*base && (type != AE_IFDIR || hl))
    return za_err_set (err, ZA_EINPUT, "%s: entry `%s`: the root can only be a directory",
                       u->blob, raw);
  if (za_up_walk_parent (u, raw, dir, &pfd, &rdir, err) < 0)
    return -1;
  if (!(rpath = za_up_join (rdir, base)))
    return oom (err);
  if (hl)
    {
      cleanup_free char *htarget = za_up_join (hrdir, hbase);
      if (!htarget)
        return oom (err);
      if (strcmp (htarget, rpath) == 0)
        return 0; /* a link to itself: it is already there */
    }
  /* An entry replaces what lower layers had there, unless both are
     directories (then they merge).  */
  exists = !*base;
  if (*base && fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      exists = S_ISDIR (st.st_mode) && type == AE_IFDIR && !hl;
      if (!exists && za_up_remove_at (u, pfd, base, raw, err) < 0)
        return -1;
    }
  else if (*base && errno != ENOENT)
    return za_up_fs_err (u, raw, "stat", errno, err);

  if (hl)
    {
      /* a link to a symlink is a symlink, too */
      za_up_wcache_drop (u);
      if (linkat (hfd, hbase, pfd, base, 0) < 0)
        return za_up_fs_err (u, raw, "link", errno, err);
    }
  else if (type == AE_IFREG)
    {
      if (make_file (u, s, a, e, pfd, base, raw, err) < 0)
        return -1;
    }
  else if (type == AE_IFLNK)
    {
      if (make_symlink (u, e, pfd, base, raw, err) < 0)
        return -1;
    }
  else if (make_dir (u, e, pfd, base, rpath, exists, raw, err) < 0)
    return -1;
  return za_up_record_written (u, rpath, err);
}

/* ---- layers ------------------------------------------------------- */

struct za_unpack *
za_unpack_new (int rootfd, const struct za_unpack_limits *lim)
{
  struct za_unpack *u = calloc (1, sizeof *u);
  if (!u)
    return NULL;
  u->rootfd = rootfd;
  u->root = geteuid () == 0;
  u->lim = *lim;
  u->wc_fd = -1;
  return u;
}

static void
layer_reset (struct za_unpack *u)
{
  za_up_paths_clear (u);
  fixups_clear (u);
  za_up_wcache_drop (u);
  free (u->first_skipped);
  free (u->first_setid);
  free (u->first_warning);
  u->first_skipped = u->first_setid = u->first_warning = NULL;
  u->skipped = u->setid = u->warnings = 0;
  u->blob = NULL;
}

void
za_unpack_free (struct za_unpack *u)
{
  if (!u)
    return;
  layer_reset (u);
  free (u->fix);
  free (u);
}

static void
archive_read_freep (struct archive **a)
{
  if (*a)
    archive_read_free (*a);
}
#define cleanup_archive_read __attribute__ ((cleanup (archive_read_freep)))

static void
md_freep (EVP_MD_CTX **m)
{
  za_digest_free (m);
}
#define cleanup_md __attribute__ ((cleanup (md_freep)))

static int
read_layer (struct za_unpack *u, struct src *s, struct za_err **err)
{
  cleanup_archive_read struct archive *a = archive_read_new ();
  int rc = 0;

  if (!a)
    return oom (err);
  /* gzip and zstd are the compressions OCI layers may use; naming them
     keeps libarchive's external-program filters out of reach.  With a
     diff_id to check, the outer reader decompresses and this one reads
     plain tar.  */
  if ((!s->outer
       && (archive_read_support_filter_gzip (a) < ARCHIVE_WARN
           || archive_read_support_filter_zstd (a) < ARCHIVE_WARN))
      || archive_read_support_format_tar (a) < ARCHIVE_WARN
      || archive_read_support_format_gnutar (a) < ARCHIVE_WARN
      || archive_read_support_format_empty (a) < ARCHIVE_WARN)
    return za_err_set (err, ENOMEM, "%s: libarchive setup failed: %s", u->blob, aerr (a));
  if (archive_read_open (a, s, NULL, s->outer ? diff_read : src_read, NULL) != ARCHIVE_OK)
    return za_err_set (err, s->read_errno ? s->read_errno : ZA_EINPUT, "%s: %s", u->blob,
                       aerr (a));
  while (rc == 0)
    {
      struct archive_entry *e;
      int r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      /* ARCHIVE_WARN: a name that does not convert to the current locale;
         its raw bytes are what a Linux file name is anyway */
      if (r < ARCHIVE_WARN)
        rc = za_err_set (err, s->read_errno ? s->read_errno : ZA_EINPUT, "%s: %s", u->blob,
                         aerr (a));
      else
        rc = apply_entry (u, s, a, e, err);
    }
  if (rc == 0)
    rc = apply_fixups (u, err);
  return rc;
}

/* The decompressing reader in front of the tar reader (diff_id check).  */
static int
open_outer (struct za_unpack *u, struct src *s, struct za_err **err)
{
  struct archive_entry *e;
  int r;
  if (!(s->outer = archive_read_new ()))
    return oom (err);
  if (archive_read_support_filter_gzip (s->outer) < ARCHIVE_WARN
      || archive_read_support_filter_zstd (s->outer) < ARCHIVE_WARN
      || archive_read_support_format_raw (s->outer) < ARCHIVE_WARN
      || archive_read_support_format_empty (s->outer) < ARCHIVE_WARN)
    return za_err_set (err, ENOMEM, "%s: libarchive setup failed: %s", u->blob, aerr (s->outer));
  if (archive_read_open (s->outer, s, NULL, src_read, NULL) != ARCHIVE_OK)
    return za_err_set (err, s->read_errno ? s->read_errno : ZA_EINPUT, "%s: %s", u->blob,
                       aerr (s->outer));
  r = archive_read_next_header (s->outer, &e);
  if (r == ARCHIVE_EOF)
    s->outer_eof = true; /* an empty blob: an empty tar stream */
  else if (r < ARCHIVE_WARN)
    return za_err_set (err, s->read_errno ? s->read_errno : ZA_EINPUT, "%s: %s", u->blob,
                       aerr (s->outer));
  return 0;
}

/* Finish DMD and compare it with DIFF_HEX.  */
static int
diff_check (struct src *s, const char *diff_hex, const char *name, struct za_err **err)
{
  struct za_desc dd = { 0 };
  cleanup_free char *what = NULL;
  /* whatever the tar reader left (padding after the end marker) counts */
  while (!s->outer_eof && !s->outer_failed)
    {
      la_ssize_t n = archive_read_data (s->outer, s->dbuf, sizeof s->dbuf);
      if (n < 0)
        s->outer_failed = true;
      else if (n == 0)
        s->outer_eof = true;
      else if (EVP_DigestUpdate (s->dmd, s->dbuf, (size_t) n) != 1)
        s->md_failed = true;
    }
  if (s->outer_failed)
    return za_err_set (err, ZA_EINPUT, "%s: cannot decompress: %s", name,
                       archive_error_string (s->outer) ? archive_error_string (s->outer) : "?");
  snprintf (dd.hex, sizeof dd.hex, "%s", diff_hex);
  if (asprintf (&what, "%s (uncompressed, diff_id sha256:%s)", name, diff_hex) < 0)
    return oom (err);
  return za_digest_check (s->dmd, &dd, what, err);
}

static int
unpack_layer (struct za_unpack *u, int layout_fd, const struct za_desc *d, const char *diff_hex,
              const char *role, struct za_err **warn, struct za_err **err)
{
  cleanup_free char *name = za_blob_name (d, role);
  cleanup_free struct src *s = NULL;
  cleanup_md EVP_MD_CTX *md = NULL, *dmd = NULL;
  cleanup_archive_read struct archive *outer = NULL;
  cleanup_close int fd = -1;
  cleanup_err struct za_err *lerr = NULL;
  int rc;

  if (!name)
    return oom (err);
  if (za_blob_open (layout_fd, d, name, &fd, err) < 0 || za_digest_init (&md, err) < 0
      || (diff_hex && za_digest_init (&dmd, err) < 0))
    return -1;
  if (!(s = calloc (1, sizeof *s)))
    return oom (err);
  s->fd = fd;
  s->md = md;
  s->dmd = dmd;
  s->left = d->size;
  layer_reset (u);
  u->blob = name;
  rc = diff_hex ? open_outer (u, s, &lerr) : 0;
  outer = s->outer;
  if (rc == 0)
    rc = read_layer (u, s, &lerr);
  if (rc == 0 && diff_hex && diff_check (s, diff_hex, name, &lerr) < 0)
    rc = -1;

  /* The rest of the blob (tar padding, trailing bytes) counts too.  A
     digest mismatch or a short read explains any failure above better
     than what libarchive made of the bad bytes.  */
  while (s->left > 0 && src_chunk (s) > 0)
    ;
  if (s->read_errno)
    rc = za_err_set (err, s->read_errno, "%s: read: %s", name, strerror (s->read_errno));
  else if (s->short_read)
    rc = za_err_set (err, ZA_EINPUT, "%s: size %ju does not match descriptor size %ju", name,
                     (uintmax_t) (d->size - s->left), (uintmax_t) d->size);
  else if (s->md_failed)
    rc = za_err_set (err, ENOMEM, "%s: SHA-256 failed", name);
  else if (za_digest_check (md, d, name, err) < 0)
    rc = -1;
  else if (rc < 0)
    za_err_append (err, &lerr);
  else
    {
      if (u->skipped)
        za_err_set (warn, ZA_EINPUT,
                    "%s: skipped %zu device/FIFO entr%s (first %s): the runtime provides /dev",
                    name, u->skipped, u->skipped == 1 ? "y" : "ies",
                    u->first_skipped ? u->first_skipped : "?");
      if (u->setid)
        za_err_set (warn, ZA_EINPUT,
                    "%s: dropped the setuid/setgid bit of %zu file%s (first %s): not running "
                    "as root",
                    name, u->setid, u->setid == 1 ? "" : "s",
                    u->first_setid ? u->first_setid : "?");
      if (u->warnings)
        za_err_set (warn, ZA_EINPUT, "%s: entry %s%s", name,
                    u->first_warning ? u->first_warning : "?",
                    u->warnings > 1 ? " (and more)" : "");
    }
  layer_reset (u);
  return rc < 0 ? -1 : 0;
}

int
za_unpack_layer (struct za_unpack *u, int layout_fd, const struct za_desc *d, const char *role,
                 struct za_err **warn, struct za_err **err)
{
  return unpack_layer (u, layout_fd, d, NULL, role, warn, err);
}

int
za_unpack_layer_diff (struct za_unpack *u, int layout_fd, const struct za_desc *d,
                      const char *diff_hex, const char *role, struct za_err **warn,
                      struct za_err **err)
{
  return unpack_layer (u, layout_fd, d, diff_hex, role, warn, err);
}

void
za_unpack_set_diff (struct za_unpack *u)
{
  u->diff = true;
}
