/* zagent-cdi-hook: the OCI createContainer hooks that generated CDI specs
   reference (update-ldcache, create-symlinks, enable-cuda-compat, chmod).
   They run as root on the host side with the container's rootfs as
   input, so the rootfs is hostile: every path inside it is reached from
   a directory fd with openat2 (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
   RESOLVE_NO_MAGICLINKS), a symlink on the way is refused (fail closed),
   and the process's own environment is never the container's.

   This layer sits on util/ only: the hook links neither libyaml nor the
   rest of libzagent.  */
#ifndef ZA_HOOK_H
#define ZA_HOOK_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/strv.h"

/* What every subcommand gets: the container's rootfs as an fd.  */
struct za_hook_ctx
{
  int rootfd;
  char *rootfs; /* for messages */
};

/* The OCI state on FD (stdin) → bundle → config.json → root.path, opened
   as a directory.  A rootfs that is the host's "/" is refused.  */
int za_hook_ctx_load (int fd, struct za_hook_ctx *c, struct za_err **err);
void za_hook_ctx_clear (struct za_hook_ctx *c);

/* Open PATH (absolute, container view) below ROOTFD with FLAGS, never
   following a symlink (ELOOP/EXDEV become input errors naming PATH).
   -1 with errno set and *ERR filled, ENOENT included.  */
int za_hook_open (int rootfd, const char *path, int flags, mode_t mode, struct za_err **err);
/* The directory PATH below ROOTFD, created (0755) component by component
   where missing, never through a symlink.  */
int za_hook_mkdir_p (int rootfd, const char *path, struct za_err **err);
/* Whether PATH exists below ROOTFD as something other than a symlink on
   the way: 1 yes, 0 no (ENOENT), -1 a symlink or other failure (*ERR).  */
int za_hook_exists (int rootfd, const char *path, struct za_err **err);
/* A clean absolute container path: starts with '/', no "..", not "/".  */
bool za_hook_path_ok (const char *p);

int za_hook_update_ldcache (const struct za_hook_ctx *c, int argc, char **argv, struct za_err **err);
int za_hook_cuda_compat (const struct za_hook_ctx *c, int argc, char **argv, struct za_err **err);
int za_hook_create_symlinks (const struct za_hook_ctx *c, int argc, char **argv, struct za_err **err);
int za_hook_chmod (const struct za_hook_ctx *c, int argc, char **argv, struct za_err **err);

/* The line ldconfig gets for DIRS in /etc/ld.so.conf.d/NAME, written
   atomically (0644) below ROOTFD.  */
int za_hook_write_ldconf (int rootfd, const char *name, const struct za_strv *dirs, struct za_err **err);

#endif
