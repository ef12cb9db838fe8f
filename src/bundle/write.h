/* The bundle directory on disk: BUNDLE/config.json (0600, atomic),
   BUNDLE/rootfs (unless --rootfs: then root.path is the rootfs's real
   path, because runc refuses a rootfs reached through a symlink) and
   BUNDLE/resolv.conf.  A failed write leaves an existing bundle as it was
   and removes a bundle directory it created.  */
#ifndef ZA_BUNDLE_WRITE_H
#define ZA_BUNDLE_WRITE_H

#include "bundle/build.h"
#include "util/err.h"

int za_bundle_write (const char *bundle_dir, const struct za_build_result *r,
                     struct za_err **err);

/* rm -rf BUNDLE, refusing anything that does not look like a bundle (a
   directory holding config.json, or empty), and never following
   symlinks or crossing into mounts.  */
int za_bundle_cleanup (const char *bundle_dir, struct za_err **err);

/* <data dir>/bundles/<id> (zlayer-paths: $ZLAYER_DATA_DIR, else
   /var/lib/zlayer for root, else $HOME/.zlayer).  */
char *za_default_bundle_dir (const char *container_id);

#endif
