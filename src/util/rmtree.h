/* rm -rf for trees an attacker may have shaped (image layers, stale
   unpack directories): no recursion and no descriptor per level, so a
   tree thousands of directories deep is removed under any RLIMIT_NOFILE
   and stack size, in time linear in its size.  */
#ifndef ZA_RMTREE_H
#define ZA_RMTREE_H

#include "err.h"

/* Remove DIRFD/NAME and everything below it.  Symlinks are removed, never
   followed; a directory on another device (a mount point) is not entered
   and fails the removal with EBUSY.  At most three descriptors are open
   at any time; parents are reached again through "..", checked against
   the device and inode seen on the way down.  Directories the caller owns
   without read, write or search permission are made 0700 first (needed
   without root).  A missing NAME is not an error.  */
int za_rmtree_at (int dirfd, const char *name, struct za_err **err);

#endif
