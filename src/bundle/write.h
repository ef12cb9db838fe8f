/* The bundle directory on disk: BUNDLE/config.json (0600, atomic),
   BUNDLE/rootfs (unless --rootfs: then root.path is the rootfs's real
   path, because runc refuses a rootfs reached through a symlink) and
   BUNDLE/resolv.conf.  A failed write leaves an existing bundle as it was
   and removes a bundle directory it created.

   Every function here reaches BUNDLE through za_safepath (no symlink on
   the path, every directory on it changeable only by the caller or root)
   and then works by fd.  BUNDLE itself must belong to the caller and not
   be writable by group or others.  A directory zagent creates, or adopts
   while it is empty, carries a marker (the user.zagent.bundle xattr, or a
   .zagent-bundle file where the file system has no user xattrs); one
   without it counts as a bundle only while it holds nothing but bundle
   files (config.json, resolv.conf, rootfs, logs, init.pid, temp files),
   as bundles written before the marker do.  */
#ifndef ZA_BUNDLE_WRITE_H
#define ZA_BUNDLE_WRITE_H

#include "bundle/build.h"
#include "util/err.h"

/* Write R into BUNDLE_DIR, creating it (0700) and missing parents (0755).
   Writing into an existing directory that holds anything but bundle files
   and is not marked is an input error: teardown removes the whole bundle
   directory.  */
int za_bundle_write (const char *bundle_dir, const struct za_build_result *r,
                     struct za_err **err);

/* rm -rf BUNDLE, refusing anything that is not a bundle (marked, empty,
   or unmarked holding only bundle files with config.json among them), and
   never following symlinks or crossing into mounts.  A missing BUNDLE is
   not an error.  */
int za_bundle_cleanup (const char *bundle_dir, struct za_err **err);

/* Open BUNDLE/logs/NAME for appending (O_WRONLY | O_CREAT | O_APPEND,
   0600, close-on-exec), creating BUNDLE/logs (0700) when missing.  Neither
   logs/ nor NAME may be a symlink, and NAME must be a regular file with a
   single link: a planted link would make us append to a file elsewhere.
   Returns the fd, or -1 with *ERR set (ZA_EINPUT for a refused file).  */
int za_bundle_open_log (const char *bundle_dir, const char *name, struct za_err **err);

/* <data dir>/bundles/<id> (zlayer-paths: $ZLAYER_DATA_DIR, else
   /var/lib/zlayer for root, else $HOME/.zlayer).  */
char *za_default_bundle_dir (const char *container_id);

#endif
