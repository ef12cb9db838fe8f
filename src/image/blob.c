#define _GNU_SOURCE
#include "image/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/dl.h"
#include "util/cleanup.h"

void
za_desc_clear (struct za_desc *d)
{
  free (d->media_type);
  d->media_type = NULL;
}

static bool
is_lower_hex64 (const char *s)
{
  size_t i;
  for (i = 0; s[i]; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return i == 64;
}

int
za_desc_parse (json_t *o, const char *what, struct za_desc *d, struct za_err **err)
{
  json_t *dg, *sz, *mt;
  const char *s;

  memset (d, 0, sizeof *d);
  if (!json_is_object (o))
    return za_err_set (err, ZA_EINPUT, "%s: expected a descriptor object", what);
  dg = json_object_get (o, "digest");
  if (!json_is_string (dg))
    return za_err_set (err, ZA_EINPUT, "%s: missing \"digest\"", what);
  s = json_string_value (dg);
  if (strncmp (s, "sha256:", 7) != 0)
    {
      const char *colon = strchr (s, ':');
      if (colon && colon != s && !strchr (colon + 1, '/'))
        return za_err_set (err, ZA_EINPUT,
                           "%s: digest `%s`: unsupported algorithm `%.*s` (only sha256 is supported)",
                           what, s, (int) (colon - s), s);
      return za_err_set (err, ZA_EINPUT, "%s: invalid digest `%s`", what, s);
    }
  /* The hex becomes a file name under blobs/sha256: nothing but 64
     lowercase hex digits may get there ("../../x" must not).  */
  if (!is_lower_hex64 (s + 7))
    return za_err_set (err, ZA_EINPUT,
                       "%s: invalid digest `%s`: expected sha256: and 64 lowercase hex digits",
                       what, s);
  memcpy (d->hex, s + 7, 65);
  sz = json_object_get (o, "size");
  if (!json_is_integer (sz) || json_integer_value (sz) < 0)
    return za_err_set (err, ZA_EINPUT, "%s: \"size\" must be a non-negative integer", what);
  d->size = (uint64_t) json_integer_value (sz);
  mt = json_object_get (o, "mediaType");
  if (mt && !json_is_string (mt))
    return za_err_set (err, ZA_EINPUT, "%s: \"mediaType\" must be a string", what);
  if (mt && !(d->media_type = strdup (json_string_value (mt))))
    return za_err_set (err, ENOMEM, "out of memory");
  return 0;
}

char *
za_blob_name (const struct za_desc *d, const char *role)
{
  char *s = NULL;
  if (asprintf (&s, "blob sha256:%s (%s)", d->hex, role) < 0)
    return NULL;
  return s;
}

int
za_blob_open (int layout_fd, const struct za_desc *d, const char *name, int *fd_out,
              struct za_err **err)
{
  char path[96];
  cleanup_close int fd = -1;
  struct stat st;
  int fl;

  snprintf (path, sizeof path, "blobs/sha256/%s", d->hex);
  /* Only a regular file is opened at all: opening a device can have
     effects of its own (a watchdog, a tape), and a FIFO would wait for
     a writer (O_NONBLOCK covers one swapped in after the stat).  */
  if (fstatat (layout_fd, path, &st, 0) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return za_err_set (err, ZA_EINPUT, "%s is missing", name);
      return za_err_set (err, errno, "%s: stat %s: %s", name, path, strerror (errno));
    }
  if (!S_ISREG (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "%s is not a regular file", name);
  fd = openat (layout_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return za_err_set (err, ZA_EINPUT, "%s is missing", name);
      return za_err_set (err, errno, "%s: open %s: %s", name, path, strerror (errno));
    }
  if (fstat (fd, &st) < 0)
    return za_err_set (err, errno, "%s: stat: %s", name, strerror (errno));
  if (!S_ISREG (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "%s is not a regular file", name);
  if ((uint64_t) st.st_size != d->size)
    return za_err_set (err, ZA_EINPUT, "%s: size %jd does not match descriptor size %ju", name,
                       (intmax_t) st.st_size, (uintmax_t) d->size);
  fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return za_err_set (err, errno, "%s: fcntl: %s", name, strerror (errno));
  *fd_out = steal_fd (&fd);
  return 0;
}

int
za_digest_init (EVP_MD_CTX **md, struct za_err **err)
{
  *md = EVP_MD_CTX_new ();
  if (!*md || EVP_DigestInit_ex (*md, EVP_sha256 (), NULL) != 1)
    return za_err_set (err, ENOMEM, "cannot initialise SHA-256");
  return 0;
}

void
za_digest_free (EVP_MD_CTX **md)
{
  if (*md)
    EVP_MD_CTX_free (*md);
  *md = NULL;
}

int
za_digest_check (EVP_MD_CTX *md, const struct za_desc *d, const char *name, struct za_err **err)
{
  unsigned char sum[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  if (EVP_DigestFinal_ex (md, sum, &len) != 1 || len != 32)
    return za_err_set (err, ENOMEM, "%s: SHA-256 failed", name);
  for (unsigned i = 0; i < len; i++)
    snprintf (hex + 2 * i, 3, "%02x", sum[i]);
  if (strcmp (hex, d->hex) != 0)
    return za_err_set (err, ZA_EINPUT, "%s: digest mismatch (content is sha256:%s)", name, hex);
  return 0;
}

ssize_t
za_read_retry (int fd, void *buf, size_t len)
{
  ssize_t n;
  do
    n = read (fd, buf, len);
  while (n < 0 && errno == EINTR);
  return n;
}

int
za_blob_read (int layout_fd, const struct za_desc *d, const char *role, size_t max,
              char **data_out, size_t *len_out, struct za_err **err)
{
  cleanup_free char *name = za_blob_name (d, role);
  cleanup_free char *buf = NULL;
  cleanup_close int fd = -1;
  EVP_MD_CTX *md = NULL;
  size_t got = 0;
  int rc = -1;

  if (!name)
    return za_err_set (err, ENOMEM, "out of memory");
  if (d->size > max)
    return za_err_set (err, ZA_EINPUT, "%s: size %ju is larger than the limit of %zu bytes",
                       name, (uintmax_t) d->size, max);
  if (za_blob_open (layout_fd, d, name, &fd, err) < 0 || za_digest_init (&md, err) < 0)
    goto out;
  buf = malloc (d->size + 1);
  if (!buf)
    {
      za_err_set (err, ENOMEM, "out of memory");
      goto out;
    }
  while (got < d->size)
    {
      ssize_t n = za_read_retry (fd, buf + got, d->size - got);
      if (n < 0)
        {
          za_err_set (err, errno, "%s: read: %s", name, strerror (errno));
          goto out;
        }
      if (n == 0)
        {
          za_err_set (err, ZA_EINPUT, "%s: size %zu does not match descriptor size %ju", name,
                      got, (uintmax_t) d->size);
          goto out;
        }
      got += (size_t) n;
    }
  buf[got] = '\0';
  if (EVP_DigestUpdate (md, buf, got) != 1)
    {
      za_err_set (err, ENOMEM, "%s: SHA-256 failed", name);
      goto out;
    }
  if (za_digest_check (md, d, name, err) < 0)
    goto out;
  *data_out = steal_pointer (&buf);
  if (len_out)
    *len_out = got;
  rc = 0;
out:
  za_digest_free (&md);
  return rc;
}
