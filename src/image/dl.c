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

static pthread_once_t once_crypto = PTHREAD_ONCE_INIT, once_archive = PTHREAD_ONCE_INIT;
/* what could not be loaded, or NULL; why */
static const char *failed_crypto, *failed_archive;
static char why_crypto[512], why_archive[512];

void *
za_dl_open_first (const char *const *names, const char *lib, const char **failed, char *why, size_t wlen)
{
  const char *e;
  for (int i = 0; names[i]; i++)
    {
      void *h = dlopen (names[i], RTLD_NOW | RTLD_LOCAL);
      if (h)
        return h;
    }
  *failed = lib;
  e = dlerror ();
  snprintf (why, wlen, "%s", e ? e : "not found");
  return NULL;
}

/* libcrypto alone is cheap to load (a few ms): the layer store verifies
   blobs with it on every run; libarchive (libxml2, ICU, libstdc++: ~15
   ms) only when a layer is unpacked.  */
static void
load_crypto (void)
{
  static const char *const crypto_names[] = { "libcrypto.so.3", "libcrypto.so", NULL };
  void *hc = za_dl_open_first (crypto_names, "libcrypto", &failed_crypto, why_crypto, sizeof why_crypto);
  if (!hc)
    return;
#define ZA_DL_LOAD_C(f)                                                                      \
  if (!failed_crypto && !(za_dl_##f = (__typeof__ (f) *) dlsym (hc, #f)))                    \
    failed_crypto = #f;
  ZA_CRYPTO_SYMS (ZA_DL_LOAD_C)
  if (failed_crypto)
    snprintf (why_crypto, sizeof why_crypto, "symbol missing");
}

static void
load_archive (void)
{
  static const char *const archive_names[] = { "libarchive.so.13", "libarchive.so", NULL };
  void *ha = za_dl_open_first (archive_names, "libarchive", &failed_archive, why_archive, sizeof why_archive);
  if (!ha)
    return;
#define ZA_DL_LOAD(f)                                                                        \
  if (!failed_archive && !(za_dl_##f = (__typeof__ (f) *) dlsym (ha, #f)))                   \
    failed_archive = #f;
  ZA_ARCHIVE_SYMS (ZA_DL_LOAD)
  if (failed_archive)
    snprintf (why_archive, sizeof why_archive, "symbol missing");
}

int
za_image_dl_load_crypto (struct za_err **err)
{
  pthread_once (&once_crypto, load_crypto);
  if (failed_crypto)
    return za_err_set (err, ENOSYS, "cannot load %s (needed to verify images): %s; install the Debian package libssl3",
                       failed_crypto, why_crypto);
  return 0;
}

int
za_image_dl_load (struct za_err **err)
{
  if (za_image_dl_load_crypto (err) < 0)
    return -1;
  pthread_once (&once_archive, load_archive);
  if (failed_archive)
    return za_err_set (err, ENOSYS, "cannot load %s (needed to unpack images): %s; install the Debian package libarchive13",
                       failed_archive, why_archive);
  return 0;
}
