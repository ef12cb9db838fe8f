/* Internals of image/unpack.c shared with image/tree.c (paths inside
   the rootfs under construction: resolving, recording, removing).  */
#ifndef ZA_IMAGE_UNPACK_INT_H
#define ZA_IMAGE_UNPACK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "image/unpack.h"

/* Paths (relative to the rootfs) that the current layer created, with
   their ancestors: whiteouts remove what lower layers put there and
   nothing of the layer's own, whatever the order of its tar entries.
   CLEAN: the directory holds nothing of lower layers any more (an opaque
   marker or a whiteout emptied it), so it is never listed again.  */
enum
{
  PS_WRITTEN = 1,
  PS_ANCESTOR = 2,
  PS_CLEAN = 4,
};

/* A directory's mode and times, applied once the layer is complete.  */
struct fixup
{
  char *rel;
  unsigned depth;
  size_t seq;
  mode_t mode;
  dev_t dev;
  ino_t ino;
  struct timespec ts[2];
};

struct za_unpack
{
  int rootfd;
  bool root; /* running as root: owners and xattrs are restored */
  /* diff mode (za_unpack_set_diff): one layer alone in its own directory,
     whiteouts written as overlayfs reads them instead of applied */
  bool diff;
  struct za_unpack_limits lim;
  uint64_t bytes, entries; /* so far, all layers */
  const char *blob;        /* "blob sha256:… (layer 2 of 3)" for messages */
  void *paths;             /* tsearch tree of struct pnode */
  uint64_t meta;           /* bytes held for the current layer */
  struct fixup *fix;
  size_t nfix, capfix;
  /* the last parent directory walked: tar entries come directory by
     directory.  Dropped whenever anything is removed or a symlink made,
     the only changes that can make DIR resolve elsewhere.  */
  char *wc_dir, *wc_res;
  int wc_fd;
  size_t skipped, setid, warnings;
  char *first_skipped, *first_setid, *first_warning;
};

/* Failures on the rootfs: out of space and the like are the system's,
   the rest (a link to a directory, a name too long) the image's.  */
int za_up_fs_err (struct za_unpack *u, const char *entry, const char *what, int e,
                  struct za_err **err);
/* Count N bytes of bookkeeping against the layer's memory bound.  */
int za_up_meta_charge (struct za_unpack *u, size_t n, struct za_err **err);

/* Drop "." and empty components (*DEPTH: how many are left); fail on an
   absolute path or ".." with *WHY set (NULL: out of memory).  */
int za_up_normalise (const char *raw, char **out, unsigned *depth, const char **why);
/* REL → its parent (malloc'd, "" at the top) and its last component.  */
char *za_up_split_path (const char *rel, const char **base);
char *za_up_join (const char *a, const char *b);
unsigned za_up_count_depth (const char *rel);

/* Mark REL written by the current layer, and its ancestors.  */
int za_up_record_written (struct za_unpack *u, const char *rel, struct za_err **err);
void za_up_paths_clear (struct za_unpack *u);

/* Open the one component NAME of DFD, never through a symlink (openat2
   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or O_NOFOLLOW).  */
int za_up_open_comp (int dfd, const char *name, int flags);
/* Open REL (symlink-free, relative to the rootfs, "" the root) inside
   the rootfs: openat2 RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS.  */
int za_up_open_in_root (struct za_unpack *u, const char *rel, int flags);

/* Resolve directory DIR of ENTRY inside the rootfs (see tree.c).
   za_up_walk: 1 found (*FD_OUT, *RES_OUT), 0 missing (only without
   CREATE), -1 error.  za_up_walk_parent: with CREATE, through a one-entry
   cache; 0 or -1.  */
int za_up_walk (struct za_unpack *u, const char *entry, const char *dir, bool create,
                int *fd_out, char **res_out, struct za_err **err);
int za_up_walk_parent (struct za_unpack *u, const char *entry, const char *dir, int *fd_out,
                       char **res_out, struct za_err **err);
void za_up_wcache_drop (struct za_unpack *u);

/* rm -rf DFD/NAME (za_rmtree_at), dropping the walk cache.  */
int za_up_remove_at (struct za_unpack *u, int dfd, const char *name, const char *entry,
                     struct za_err **err);
/* Apply the whiteout DIR/.wh.NAME (NAME ".wh..opq": DIR is opaque).  */
int za_up_whiteout (struct za_unpack *u, const char *entry, const char *dir, const char *name,
                    struct za_err **err);

#endif
