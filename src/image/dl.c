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
static char why[512];

static void *
open_first (const char *const *names)
{
  for (int i = 0; names[i]; i++)
    {
      void *h = dlopen (names[i], RTLD_NOW | RTLD_LOCAL);
      if (h)
        return h;
    }
  return NULL;
}

static void
load (void)
{
  static const char *const archive_names[] = { "libarchive.so.13", "libarchive.so", NULL };
  static const char *const crypto_names[] = { "libcrypto.so.3", "libcrypto.so", NULL };
  void *ha = open_first (archive_names), *hc = open_first (crypto_names);
  const char *e;
  if (!ha || !hc)
    {
      failed = !ha ? "libarchive" : "libcrypto";
      e = dlerror ();
      snprintf (why, sizeof why, "%s", e ? e : "not found");
      return;
    }
#define ZA_DL_LOAD(f)                                                                        \
  if (!failed && !(za_dl_##f = (__typeof__ (f) *) dlsym (ha, #f)))                           \
    failed = #f;
#define ZA_DL_LOAD_C(f)                                                                      \
  if (!failed && !(za_dl_##f = (__typeof__ (f) *) dlsym (hc, #f)))                           \
    failed = #f;
  ZA_ARCHIVE_SYMS (ZA_DL_LOAD)
  ZA_CRYPTO_SYMS (ZA_DL_LOAD_C)
  if (failed)
    snprintf (why, sizeof why, "symbol missing");
}

int
za_image_dl_load (struct za_err **err)
{
  pthread_once (&once, load);
  if (failed)
    return za_err_set (err, ENOSYS, "cannot load %s (needed to unpack images): %s; install libarchive13 and libssl3",
                       failed, why);
  return 0;
}
