#define _GNU_SOURCE
#define ZA_DL_NO_RENAME
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "image/dl.h"

#define ZA_DL_DEFINE(f) __typeof__ (f) *za_dl_##f;
ZA_ARCHIVE_SYMS (ZA_DL_DEFINE)
ZA_CRYPTO_SYMS (ZA_DL_DEFINE)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *failed; /* what could not be loaded, or NULL */
static const char *package; /* the Debian package that provides it */
static char why[512];

/* The first of NAMES that loads; else NULL with the loader's reason for
   the first name (the versioned one a package installs) in WHY.  */
static void *
open_first (const char *const *names)
{
  for (int i = 0; names[i]; i++)
    {
      void *h = dlopen (names[i], RTLD_NOW | RTLD_LOCAL);
      const char *e = h ? NULL : dlerror ();
      if (h)
        return h;
      if (i == 0)
        snprintf (why, sizeof why, "%s", e ? e : "not found");
    }
  return NULL;
}

static void
load (void)
{
  static const char *const archive_names[] = { "libarchive.so.13", "libarchive.so", NULL };
  static const char *const crypto_names[] = { "libcrypto.so.3", "libcrypto.so", NULL };
  void *ha = open_first (archive_names), *hc = ha ? open_first (crypto_names) : NULL;
  if (!ha || !hc)
    {
      failed = !ha ? "libarchive.so.13" : "libcrypto.so.3";
      package = !ha ? "libarchive13" : "libssl3";
      if (ha)
        dlclose (ha);
      return;
    }
#define ZA_DL_LOAD(f)                                                                        \
  if (!failed && !(za_dl_##f = (__typeof__ (f) *) dlsym (ha, #f)))                           \
    failed = #f, package = "libarchive13";
#define ZA_DL_LOAD_C(f)                                                                      \
  if (!failed && !(za_dl_##f = (__typeof__ (f) *) dlsym (hc, #f)))                           \
    failed = #f, package = "libssl3";
  ZA_ARCHIVE_SYMS (ZA_DL_LOAD)
  ZA_CRYPTO_SYMS (ZA_DL_LOAD_C)
  if (failed)
    snprintf (why, sizeof why, "symbol missing, the library is too old");
}

int
za_image_dl_load (struct za_err **err)
{
  pthread_once (&once, load);
  if (failed)
    return za_err_set (err, ENOSYS, "cannot load %s (needed to unpack images): %s; install the Debian package %s",
                       failed, why, package);
  return 0;
}
