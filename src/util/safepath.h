/* Opening directories by path without following symlinks.

   A path names a directory only as long as nobody changes its components
   between our check and our use.  These helpers walk PATH one component
   at a time from `/` (or the working directory for a relative path), each
   with O_NOFOLLOW | O_DIRECTORY relative to the previous directory's fd,
   so a component that is, or becomes, a symlink is refused instead of
   followed, and the caller then works only through the fd it gets.

   With ZA_SAFEPATH_TRUSTED every directory on the way must also be one
   that only the caller or root can change: owned by the effective uid or
   by root, and not writable by group or others unless sticky (then others
   cannot rename or replace what they do not own).  Otherwise another user
   could swap a component for a directory of theirs after the walk.

   Refusals (a symlink component, an untrusted directory, a path without
   a last name) are input errors (ZA_EINPUT); a missing or unreadable
   component is a system error with its errno (ENOENT, ENOTDIR, EACCES).  */
#ifndef ZA_SAFEPATH_H
#define ZA_SAFEPATH_H

#include "err.h"

/* Create missing directories on the way (mode 0755, as mkdir -p).  */
#define ZA_SAFEPATH_CREATE (1 << 0)
/* Require every directory on the way to be changeable by us or root only.  */
#define ZA_SAFEPATH_TRUSTED (1 << 1)

/* An O_RDONLY | O_DIRECTORY | O_CLOEXEC fd of directory PATH, or -1.  */
int za_safepath_open_dir (const char *path, int flags, struct za_err **err);

/* The fd of the directory that holds PATH's last component, which goes
   to *NAME_OUT (malloc'd; never "", "." or ".."), or -1.  The last
   component itself is not opened, checked or created.  */
int za_safepath_open_parent (const char *path, int flags, char **name_out, struct za_err **err);

/* 0 if the directory open on FD is owned by the effective uid or root and
   not writable by group or others unless sticky; else an input error
   naming SHOWN.  */
int za_safepath_check_trusted (int fd, const char *shown, struct za_err **err);

/* 0 if the directory open on FD is owned by the effective uid and not
   writable by group or others: a directory whose entries only the caller
   (and root) can add, rename or replace.  Else an input error naming
   SHOWN.  */
int za_safepath_check_private (int fd, const char *shown, struct za_err **err);

#endif
