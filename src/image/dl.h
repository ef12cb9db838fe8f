/* libarchive and libcrypto are loaded on demand (dlopen), only when an
   image layout is unpacked: linked at start-up they made every zagent
   invocation pay ~15 ms of dynamic relocations (libarchive drags in
   libxml2, ICU and libstdc++), for commands that never touch an image.
   Include after <archive.h>, <archive_entry.h> and <openssl/evp.h>: the
   names below then refer to pointers filled by za_image_dl_load.  */
#ifndef ZA_IMAGE_DL_H
#define ZA_IMAGE_DL_H

#include "util/err.h"

#define ZA_ARCHIVE_SYMS(X)                                                                    \
  X (archive_read_new) X (archive_read_free) X (archive_read_open) X (archive_read_next_header) \
  X (archive_read_data_block) X (archive_read_support_format_tar)                             \
  X (archive_read_support_format_gnutar) X (archive_read_support_format_empty)                \
  X (archive_read_support_filter_gzip) X (archive_read_support_filter_zstd)                   \
  X (archive_write_disk_new) X (archive_write_disk_set_options) X (archive_write_header)       \
  X (archive_write_data_block) X (archive_write_finish_entry) X (archive_write_close)          \
  X (archive_write_free) X (archive_set_error) X (archive_error_string) X (archive_errno)     \
  X (archive_entry_set_pathname) X (archive_entry_set_hardlink) X (archive_entry_pathname)    \
  X (archive_entry_hardlink) X (archive_entry_filetype)
#define ZA_CRYPTO_SYMS(X)                                                                     \
  X (EVP_sha256) X (EVP_MD_CTX_new) X (EVP_MD_CTX_free) X (EVP_DigestInit_ex)                 \
  X (EVP_DigestUpdate) X (EVP_DigestFinal_ex)

#define ZA_DL_EXTERN(f) extern __typeof__ (f) *za_dl_##f;
ZA_ARCHIVE_SYMS (ZA_DL_EXTERN)
ZA_CRYPTO_SYMS (ZA_DL_EXTERN)

/* 0, or a system error naming the library that could not be loaded.  */
int za_image_dl_load (struct za_err **err);

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
#define archive_write_disk_new za_dl_archive_write_disk_new
#define archive_write_disk_set_options za_dl_archive_write_disk_set_options
#define archive_write_header za_dl_archive_write_header
#define archive_write_data_block za_dl_archive_write_data_block
#define archive_write_finish_entry za_dl_archive_write_finish_entry
#define archive_write_close za_dl_archive_write_close
#define archive_write_free za_dl_archive_write_free
#define archive_set_error za_dl_archive_set_error
#define archive_error_string za_dl_archive_error_string
#define archive_errno za_dl_archive_errno
#define archive_entry_set_pathname za_dl_archive_entry_set_pathname
#define archive_entry_set_hardlink za_dl_archive_entry_set_hardlink
#define archive_entry_pathname za_dl_archive_entry_pathname
#define archive_entry_hardlink za_dl_archive_entry_hardlink
#define archive_entry_filetype za_dl_archive_entry_filetype
#define EVP_sha256 za_dl_EVP_sha256
#define EVP_MD_CTX_new za_dl_EVP_MD_CTX_new
#define EVP_MD_CTX_free za_dl_EVP_MD_CTX_free
#define EVP_DigestInit_ex za_dl_EVP_DigestInit_ex
#define EVP_DigestUpdate za_dl_EVP_DigestUpdate
#define EVP_DigestFinal_ex za_dl_EVP_DigestFinal_ex
#endif

#endif
