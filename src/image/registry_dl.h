/* libcurl is loaded on demand (dlopen), as image/dl.h loads libarchive
   and libcrypto: linked at start-up, its ~30 libraries (OpenSSL, nghttp2,
   libssh2, LDAP, Kerberos, …) made every zagent invocation pay for their
   relocations, for the many commands that never talk to a registry.
   Include this instead of <curl/curl.h>; after it the curl_* names below
   refer to pointers filled by za_reg_curl_load.  */
#ifndef ZA_IMAGE_REGISTRY_DL_H
#define ZA_IMAGE_REGISTRY_DL_H

/* curl's type-checking macros would wrap the renamed functions */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "util/err.h"

#define ZA_CURL_SYMS(X)                                                                       \
  X (curl_global_init) X (curl_easy_init) X (curl_easy_setopt) X (curl_easy_getinfo)          \
  X (curl_easy_perform) X (curl_easy_cleanup) X (curl_easy_strerror) X (curl_easy_escape)     \
  X (curl_free) X (curl_slist_append) X (curl_slist_free_all) X (curl_share_init)             \
  X (curl_share_setopt) X (curl_share_cleanup) X (curl_url) X (curl_url_set)                  \
  X (curl_url_get) X (curl_url_cleanup)

#define ZA_CURL_EXTERN(f) extern __typeof__ (f) *za_dl_##f;
ZA_CURL_SYMS (ZA_CURL_EXTERN)

/* Load libcurl and run curl_global_init, once per process; 0, or a
   system error naming what is missing.  */
int za_reg_curl_load (struct za_err **err);

#ifndef ZA_CURL_NO_RENAME
/* curl.h checks these three take exactly three arguments */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt
#define curl_global_init za_dl_curl_global_init
#define curl_easy_init za_dl_curl_easy_init
#define curl_easy_setopt za_dl_curl_easy_setopt
#define curl_easy_getinfo za_dl_curl_easy_getinfo
#define curl_easy_perform za_dl_curl_easy_perform
#define curl_easy_cleanup za_dl_curl_easy_cleanup
#define curl_easy_strerror za_dl_curl_easy_strerror
#define curl_easy_escape za_dl_curl_easy_escape
#define curl_free za_dl_curl_free
#define curl_slist_append za_dl_curl_slist_append
#define curl_slist_free_all za_dl_curl_slist_free_all
#define curl_share_init za_dl_curl_share_init
#define curl_share_setopt za_dl_curl_share_setopt
#define curl_share_cleanup za_dl_curl_share_cleanup
#define curl_url za_dl_curl_url
#define curl_url_set za_dl_curl_url_set
#define curl_url_get za_dl_curl_url_get
#define curl_url_cleanup za_dl_curl_url_cleanup
#endif

#endif
