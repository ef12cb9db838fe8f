/* File helpers: bounded reads, atomic writes, safe recursive removal.  */
#ifndef ZA_FS_H
#define ZA_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Read a whole regular file into a NUL-terminated malloc'd buffer (PATH
   "-" = stdin).  The open never blocks (O_NONBLOCK) and anything but a
   regular file (FIFO, device, socket, directory) is an input error: files
   these read may be planted by an image, a layout or another user.  Files
   larger than MAX are an input error.  */
int za_read_file (const char *path, size_t max, char **out, size_t *len_out,
                  struct za_err **err);
int za_read_file_at (int dirfd, const char *name, size_t max, char **out,
                     size_t *len_out, struct za_err **err);
/* The same, refusing a symlink as the last component of NAME.  */
int za_read_file_nofollow_at (int dirfd, const char *name, size_t max, char **out,
                              size_t *len_out, struct za_err **err);
/* A file the caller named on the command line (spec, image config): also
   a pipe or /dev/stdin, as `-f <(gen)` gives; blocking reads.  */
int za_read_input (const char *path, size_t max, char **out, size_t *len_out, struct za_err **err);
/* Everything from FD until EOF (a pipe), at most MAX bytes.  */
int za_read_fd (int fd, const char *name, size_t max, char **out, size_t *len_out, struct za_err **err);

/* Replace DIRFD/NAME atomically with DATA: temp file in the same directory,
   fsync, rename.  A failure leaves the previous file untouched.  */
int za_write_file_atomic_at (int dirfd, const char *name, const void *data,
                             size_t len, mode_t mode, struct za_err **err);

/* The same with FLAGS: ZA_WRITE_NOSYNC skips the fsync, for files that
   need atomicity against a killed writer but not durability across a
   power loss (what lives on a tmpfs run dir anyway).  */
#define ZA_WRITE_NOSYNC 0x1u
int za_write_file_atomic_flags_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                                   unsigned flags, struct za_err **err);

/* Remove the temp files that za_write_file_atomic_at left in DIRFD for
   any of NAMES (NULL-terminated) when its process died: regular files
   ".NAME.XXXXXXXX.tmp" last modified before BEFORE and not locked by a
   live writer.  Best effort; errors are ignored.  */
struct timespec;
void za_remove_stale_temps_at (int dirfd, const char *const *names, const struct timespec *before);

/* Whether file name F is a temp file of za_write_file_atomic_at for NAME
   (".NAME.XXXXXXXX.tmp").  */
bool za_is_temp_of (const char *f, const char *name);

int za_write_all (int fd, const void *data, size_t len);

/* mkdir -p; the last component gets MODE, missing parents 0755.  */
int za_mkdir_p (const char *path, mode_t mode, struct za_err **err);

/* rm -rf of DIRFD/NAME without following symlinks or crossing mounts.  */
int za_rm_rf_at (int dirfd, const char *name, struct za_err **err);

/* Names in DIR for which KEEP (dirfd, name, UD) holds, sorted.  A missing
   directory has none.  -1 with *ERR_NO set (ENOMEM included) when it
   cannot be read.  */
struct za_strv;
int za_dir_list (const char *dir, bool (*keep) (int dfd, const char *name, void *ud), void *ud,
                 struct za_strv *out, int *err_no);
/* The same for the directory DFD (its own open file description, so
   DFD's offset is untouched).  */
int za_dir_list_at (int dfd, bool (*keep) (int dfd, const char *name, void *ud), void *ud, struct za_strv *out,
                    int *err_no);

/* The real path of the first executable NAME on $PATH (default PATH when
   unset) that is not EXCLUDE (a real path, or NULL); NULL if none.  */
char *za_path_lookup (const char *name, const char *exclude);

/* Lexical checks for container-side paths.  */
bool za_path_is_absolute_clean (const char *p); /* starts with '/', no ".." component */
bool za_path_has_dotdot (const char *p);

#endif
