#define _GNU_SOURCE
#define ZA_CURL_NO_RENAME
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "image/dl.h"
#include "image/registry_dl.h"

#define ZA_CURL_DEFINE(f) __typeof__ (f) *za_dl_##f;
ZA_CURL_SYMS (ZA_CURL_DEFINE)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *failed; /* what could not be loaded, or NULL */
static char why[512];

static void
load (void)
{
  /* Debian's libcurl4 (OpenSSL); the GnuTLS flavour lacks
     CURLOPT_CAINFO_BLOB, which the per-registry CAs need.  */
  static const char *const names[] = { "libcurl.so.4", "libcurl.so", NULL };
  void *h = za_dl_open_first (names, "libcurl", &failed, why, sizeof why);
  CURLcode rc;
  if (!h)
    return;
#define ZA_CURL_LOAD(f)                                                                      \
  if (!failed && !(za_dl_##f = (__typeof__ (f) *) dlsym (h, #f)))                            \
    failed = #f;
  ZA_CURL_SYMS (ZA_CURL_LOAD)
  if (failed)
    {
      snprintf (why, sizeof why, "symbol missing (libcurl older than 7.84?)");
      return;
    }
  rc = za_dl_curl_global_init (CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    {
      failed = "libcurl";
      snprintf (why, sizeof why, "curl_global_init: %s", za_dl_curl_easy_strerror (rc));
    }
}

int
za_reg_curl_load (struct za_err **err)
{
  pthread_once (&once, load);
  if (failed)
    return za_err_set (err, ENOSYS, "cannot load %s (needed to pull images): %s; install the Debian package libcurl4",
                       failed, why);
  return 0;
}
