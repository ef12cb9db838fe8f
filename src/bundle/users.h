/* Resolving an image's USER string to numeric ids, and reading subordinate
   id ranges.  User and group names are looked up in the container's own
   /etc/passwd and /etc/group, never the host's: the same name can mean a
   different uid on the host, and guessing wrong runs the workload as the
   wrong user (or as root).  */
#ifndef ZA_USERS_H
#define ZA_USERS_H

#include <stdint.h>

#include "util/err.h"

/* Largest file we read from a rootfs; a real passwd/group file is a few KiB,
   so anything bigger is refused rather than slurped.  */
#define ZA_USERS_MAX_FILE (4u * 1024 * 1024)

/* Resolve an image/spec USER string ("name", "uid", "name:group", "uid:gid",
   "name:gid", "uid:group") against the container rootfs's /etc/passwd and
   /etc/group.
   ROOTFS_FD: an O_PATH/O_DIRECTORY fd of the rootfs, or -1 when no rootfs is
   known.
   - empty/NULL user -> uid 0 gid 0.
   - numeric user part (decimal, at most UINT32_MAX-1): uid = that number; with
     no group part, gid = the gid of the first passwd line with that uid, else
     gid = uid (also when there is no rootfs or it has no /etc/passwd).
   - non-numeric user part: looked up by name in <rootfs>/etc/passwd.  Unknown
     name, no rootfs, or a missing/unreadable passwd file is a ZA_EINPUT error;
     there is never a silent fallback to root.
   - group part: numeric -> gid; a name -> looked up in <rootfs>/etc/group,
     unknown -> ZA_EINPUT.
   - numbers above UINT32_MAX-1, empty parts ("nginx:", ":1") and more than
     one ':' -> ZA_EINPUT.
   Files are opened with openat2 (RESOLVE_IN_ROOT) so symlinks in the rootfs
   resolve inside it.  *UID_OUT and *GID_OUT are written only on success.
   Returns 0, or -1 with an error appended to *ERR.  */
int za_user_resolve (int rootfs_fd, const char *user, uint32_t *uid_out,
                     uint32_t *gid_out, struct za_err **err);

/* Look up the subordinate-id range of an owner in a file in /etc/subuid
   format ("owner:start:count") at PATH.  The owner field matches when it
   equals NAME or UID_STR (either may be NULL).  The first matching line
   decides: if its start/count are missing, not numbers, a zero count, or a
   range that does not fit in 32 bits, the owner counts as not found.
   Returns 1 and fills *START and *COUNT when found; 0 when not found, or
   when the file is missing or unreadable.  Never an error.  */
int za_subid_lookup (const char *path, const char *name, const char *uid_str,
                     uint32_t *start, uint32_t *count);

#endif
