/* Unpacking image layers into a root filesystem under construction.

   libarchive only reads the tar; every entry is written here, relative to
   a descriptor of the rootfs, never through a host path:

   - each parent directory is reached one component at a time with
     openat2 (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
     a symlink on the way is followed by hand, only when it is relative
     and stays inside the rootfs (an absolute target, or one that climbs
     above the root, is refused: on the host it names a host path);
   - the entry itself is made with mkdirat, openat (O_CREAT | O_EXCL |
     O_NOFOLLOW), symlinkat or linkat on that parent's descriptor, and its
     owner, mode and times are set on the new file's descriptor
     (fchown, fchmod, futimens; *at with AT_SYMLINK_NOFOLLOW for
     symlinks);
   - directory modes and times, which must wait until the layer's last
     entry, are applied by resolving the directory again inside the rootfs
     (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS) and checking that it
     is still the inode the entry made: a directory replaced by a symlink
     (to anywhere) is left alone.

   Every failed write (short write, ENOSPC, EIO) fails the layer.

   Bounds, for all layers of one image together:
   - ZAGENT_IMAGE_MAX_SIZE: bytes of file content (default 64G; a byte
     count with an optional K, M, G or T suffix, powers of 1024);
   - ZAGENT_IMAGE_MAX_ENTRIES: tar entries (default 4000000);
   - paths resolve to at most ZA_IMAGE_MAX_DEPTH (256) components.
   Going over one is an input error naming the variable.  Whiteouts and
   opaque directories cost time linear in what they remove.  */
#ifndef ZA_IMAGE_UNPACK_H
#define ZA_IMAGE_UNPACK_H

#include <stdint.h>

#include "image/blob.h"
#include "util/err.h"

#define ZA_IMAGE_MAX_SIZE_DEFAULT (UINT64_C (64) << 30)
#define ZA_IMAGE_MAX_ENTRIES_DEFAULT UINT64_C (4000000)
#define ZA_IMAGE_MAX_DEPTH 256

struct za_unpack_limits
{
  uint64_t max_bytes;   /* file content */
  uint64_t max_entries; /* tar entries, whiteouts included */
};

/* The defaults, overridden by ZAGENT_IMAGE_MAX_SIZE and
   ZAGENT_IMAGE_MAX_ENTRIES; an invalid value is an input error.  */
int za_unpack_limits_from_env (struct za_unpack_limits *lim, struct za_err **err);

/* "123", "64K", "10m", "64G", "1TiB", "2GB": powers of 1024.  0, or -1
   when S is not such a size or it overflows 64 bits.  */
int za_parse_byte_size (const char *s, uint64_t *out);

struct za_unpack;

/* An unpacker writing into the directory ROOTFD (not taken over).  NULL
   on OOM.  */
struct za_unpack *za_unpack_new (int rootfd, const struct za_unpack_limits *lim);
void za_unpack_free (struct za_unpack *u);

/* Apply layer D (role "layer 2 of 3" for messages) of the layout
   LAYOUT_FD: its blob is read once, hashed as libarchive reads it, and
   must match D.  Whiteouts remove what lower layers put there.
   Warnings (skipped device nodes, dropped setuid bits, xattrs that could
   not be set) go to *WARN.  After a failure the rootfs is half-written:
   the caller throws it away.  */
int za_unpack_layer (struct za_unpack *u, int layout_fd, const struct za_desc *d,
                     const char *role, struct za_err **warn, struct za_err **err);

/* Diff mode, for the layer store: U's directory gets one layer alone (an
   overlayfs lower dir).  A whiteout `.wh.NAME` becomes an overlay
   whiteout (a 0:0 character device NAME; mknod of one needs no
   privilege since Linux 5.8) unless this layer itself wrote NAME, and an
   opaque marker `.wh..wh..opq` sets trusted.overlay.opaque=y on its
   directory (user.overlay.opaque when not root: such a store is mounted
   with userxattr).  Nothing of lower layers is there to remove.  */
void za_unpack_set_diff (struct za_unpack *u);

/* za_unpack_layer, also checking the uncompressed tar stream against
   DIFF_HEX (the sha256 hex of the image config's rootfs.diff_ids entry),
   in the same single pass: the layer store keys a layer by its chain
   id, which is computed from diff_ids, so a layer whose content does not
   match its diff_id must never be stored under that key.  */
int za_unpack_layer_diff (struct za_unpack *u, int layout_fd, const struct za_desc *d,
                          const char *diff_hex, const char *role, struct za_err **warn,
                          struct za_err **err);

#endif
