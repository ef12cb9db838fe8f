/* libarchive (only as a tar reader: entries are written by
   image/unpack.c) and libcrypto are loaded on demand (dlopen), only when an
   image layout is unpacked: linked at start-up they made every zagent
   invocation pay ~15 ms of dynamic relocations (libarchive drags in
   libxml2, ICU and libstdc++), for commands that never touch an image.
   After this header, the libarchive and libcrypto names below refer to
   pointers filled by za_image_dl_load.  */
#ifndef ZA_IMAGE_DL_H
#define ZA_IMAGE_DL_H

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "util/err.h"

#define ZA_ARCHIVE_SYMS(X)                                                                    \
  X (archive_read_new) X (archive_read_free) X (archive_read_open)                            \
  X (archive_read_next_header) X (archive_read_data_block)                                    \
  X (archive_read_support_format_tar) X (archive_read_support_format_gnutar)                  \
  X (archive_read_support_format_empty) X (archive_read_support_filter_gzip)                  \
  X (archive_read_support_filter_zstd) X (archive_set_error) X (archive_error_string)         \
  X (archive_errno) X (archive_entry_pathname) X (archive_entry_hardlink)                     \
  X (archive_entry_filetype) X (archive_entry_symlink) X (archive_entry_perm)                 \
  X (archive_entry_uid) X (archive_entry_gid) X (archive_entry_mtime)                         \
  X (archive_entry_mtime_nsec) X (archive_entry_mtime_is_set) X (archive_entry_atime)         \
  X (archive_entry_atime_nsec) X (archive_entry_atime_is_set) X (archive_entry_size)          \
  X (archive_entry_size_is_set) X (archive_entry_xattr_reset) X (archive_entry_xattr_next)        \
  X (archive_read_support_format_raw) X (archive_read_data)
#define ZA_CRYPTO_SYMS(X)                                                                     \
  X (EVP_sha256) X (EVP_MD_CTX_new) X (EVP_MD_CTX_free) X (EVP_DigestInit_ex)                 \
  X (EVP_DigestUpdate) X (EVP_DigestFinal_ex) X (EVP_DecodeBlock)

#define ZA_DL_EXTERN(f) extern __typeof__ (f) *za_dl_##f;
ZA_ARCHIVE_SYMS (ZA_DL_EXTERN)
ZA_CRYPTO_SYMS (ZA_DL_EXTERN)

/* 0, or a system error naming the library that could not be loaded.  */
int za_image_dl_load (struct za_err **err);
/* libcrypto only (blob verification, no unpacking).  */
int za_image_dl_load_crypto (struct za_err **err);
/* dlopen the first of NAMES that loads; when none does, *FAILED = LIB and
   WHY (WLEN bytes) the loader's reason.  The one loader behind libcrypto,
   libarchive and libcurl.  */
#include <stddef.h>
void *za_dl_open_first (const char *const *names, const char *lib, const char **failed, char *why, size_t wlen);

#ifndef ZA_DL_NO_RENAME
#define archive_read_new za_dl_archive_read_new
#define archive_read_free za_dl_archive_read_free
#define archive_read_open za_dl_archive_read_open
#define archive_read_next_header za_dl_archive_read_next_header
#define archive_read_data_block za_dl_archive_read_data_block
#define archive_read_support_format_tar za_dl_archive_read_support_format_tar
#define archive_read_support_format_gnutar za_dl_archive_read_support_format_gnutar
#define archive_read_support_format_empty za_dl_archive_read_support_format_empty
#define archive_read_support_filter_gzip za_dl_archive_read_support_filter_gzip
#define archive_read_support_filter_zstd za_dl_archive_read_support_filter_zstd
#define archive_set_error za_dl_archive_set_error
#define archive_error_string za_dl_archive_error_string
#define archive_errno za_dl_archive_errno
#define archive_entry_pathname za_dl_archive_entry_pathname
#define archive_entry_hardlink za_dl_archive_entry_hardlink
#define archive_entry_filetype za_dl_archive_entry_filetype
#define archive_entry_symlink za_dl_archive_entry_symlink
#define archive_entry_perm za_dl_archive_entry_perm
#define archive_entry_uid za_dl_archive_entry_uid
#define archive_entry_gid za_dl_archive_entry_gid
#define archive_entry_mtime za_dl_archive_entry_mtime
#define archive_entry_mtime_nsec za_dl_archive_entry_mtime_nsec
#define archive_entry_mtime_is_set za_dl_archive_entry_mtime_is_set
#define archive_entry_atime za_dl_archive_entry_atime
#define archive_entry_atime_nsec za_dl_archive_entry_atime_nsec
#define archive_entry_atime_is_set za_dl_archive_entry_atime_is_set
#define archive_entry_size za_dl_archive_entry_size
#define archive_entry_size_is_set za_dl_archive_entry_size_is_set
#define archive_entry_xattr_reset za_dl_archive_entry_xattr_reset
#define archive_entry_xattr_next za_dl_archive_entry_xattr_next
#define archive_read_support_format_raw za_dl_archive_read_support_format_raw
#define archive_read_data za_dl_archive_read_data
#define EVP_sha256 za_dl_EVP_sha256
#define EVP_MD_CTX_new za_dl_EVP_MD_CTX_new
#define EVP_MD_CTX_free za_dl_EVP_MD_CTX_free
#define EVP_DigestInit_ex za_dl_EVP_DigestInit_ex
#define EVP_DigestUpdate za_dl_EVP_DigestUpdate
#define EVP_DigestFinal_ex za_dl_EVP_DigestFinal_ex
#define EVP_DecodeBlock za_dl_EVP_DecodeBlock
#endif

#endif
