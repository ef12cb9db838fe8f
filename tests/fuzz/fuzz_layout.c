/* Fuzz target: an OCI image layout whose one layer blob is the input.

   Each run builds, in a fresh temporary directory (under /dev/shm when it
   exists), a minimal layout — oci-layout, index.json, a manifest, an image
   config for this machine's architecture and the input as the layer blob
   with its correct sha256 and size — calls za_image_layout_prepare into a
   cache directory beside it, checks that nothing was written outside the
   cache (a layer must never escape its rootfs; a directory "victim"
   beside the cache, which a symlink "../../.." in the rootfs reaches,
   keeps its mode and time) and that a failure leaves the cache empty,
   then removes everything.  libarchive detects gzip and
   zstd by content, so one media type covers every compression.  */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/layout.h"
#include "oci/image_config.h"
#include "util/err.h"
#include "util/fs.h"

#include "fuzz_replay.h"

static void
sha256_hex (const void *data, size_t len, char hex[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest (data, len, md, &n, EVP_sha256 (), NULL) || n != 32)
    abort ();
  for (unsigned i = 0; i < 32; i++)
    sprintf (hex + 2 * i, "%02x", md[i]);
  hex[64] = '\0';
}

static void
put (int dfd, const char *name, const void *data, size_t len)
{
  int fd = openat (dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || za_write_all (fd, data, len) < 0 || close (fd) < 0)
    {
      fprintf (stderr, "fuzz_layout: write %s: %s\n", name, strerror (errno));
      abort ();
    }
}

/* Write a blob under blobs/sha256 and return its descriptor fields.  */
static void
put_blob (int dfd, const void *data, size_t len, char hex[65])
{
  char path[96];
  sha256_hex (data, len, hex);
  snprintf (path, sizeof path, "blobs/sha256/%s", hex);
  if (faccessat (dfd, path, F_OK, 0) == 0)
    return; /* the same content twice (an input equal to the config) */
  put (dfd, path, data, len);
}

/* The names in DIR other than "." and ".."; abort when one is not in
   ALLOWED (NULL-terminated), or more than MAX are there.  */
static size_t
expect_only (const char *dir, const char *const *allowed, size_t max)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  size_t n = 0;
  if (!d)
    {
      if (errno == ENOENT)
        return 0;
      fprintf (stderr, "fuzz_layout: opendir %s: %s\n", dir, strerror (errno));
      abort ();
    }
  while ((de = readdir (d)))
    {
      bool ok = false;
      if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
        continue;
      for (size_t i = 0; allowed && allowed[i]; i++)
        ok = ok || strcmp (de->d_name, allowed[i]) == 0;
      if (!ok || ++n > max)
        {
          fprintf (stderr, "fuzz_layout: unexpected `%s` in %s\n", de->d_name, dir);
          abort ();
        }
    }
  closedir (d);
  return n;
}

/* rm -rf that also works without root: a layer may leave directories
   without write or search permission (mode 000), so each directory is
   made 0700 before it is emptied.  */
static void
remove_tree (int dfd, const char *name)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      DIR *d;
      struct dirent *de;
      int fd;
      fchmodat (dfd, name, 0700, 0);
      fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 || !(d = fdopendir (fd)))
        {
          fprintf (stderr, "fuzz_layout: cleanup: open %s: %s\n", name, strerror (errno));
          abort ();
        }
      while ((de = readdir (d)))
        if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
          remove_tree (dirfd (d), de->d_name);
      closedir (d);
    }
  if (unlinkat (dfd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) < 0)
    {
      fprintf (stderr, "fuzz_layout: cleanup: remove %s: %s\n", name, strerror (errno));
      abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char base[64], path[PATH_MAX], cache[PATH_MAX];
  char layer_hex[65], config_hex[65], manifest_hex[65];
  const char *variant = NULL, *arch = za_image_host_arch (&variant);
  char *config = NULL, *manifest = NULL, *index = NULL, *rootfs = NULL;
  struct za_image_config *ic = NULL;
  struct za_err *warn = NULL, *err = NULL;
  struct timespec vt[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
  struct stat vst;
  int dfd, rc, n;

  snprintf (base, sizeof base, "%s/za-fuzz-layout-XXXXXX",
            access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if (!mkdtemp (base))
    abort ();
  snprintf (path, sizeof path, "%s/layout/blobs/sha256", base);
  snprintf (cache, sizeof cache, "%s/cache", base);
  if (za_mkdir_p (path, 0755, NULL) < 0)
    abort ();
  snprintf (path, sizeof path, "%s/victim", base);
  if (mkdir (path, 0700) < 0 || chmod (path, 0700) < 0 || utimensat (AT_FDCWD, path, vt, 0) < 0)
    abort ();
  snprintf (path, sizeof path, "%s/layout", base);
  dfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    abort ();

  put (dfd, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
  put_blob (dfd, data, size, layer_hex);
  n = asprintf (&config,
                "{\"architecture\":\"%s\",%s%s%s\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],"
                "\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%s\"]}}",
                arch ? arch : "amd64", variant ? "\"variant\":\"" : "", variant ? variant : "",
                variant ? "\"," : "", layer_hex);
  if (n < 0)
    abort ();
  put_blob (dfd, config, strlen (config), config_hex);
  n = asprintf (&manifest,
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                "\"digest\":\"sha256:%s\",\"size\":%zu},"
                "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                "\"digest\":\"sha256:%s\",\"size\":%zu}]}",
                config_hex, strlen (config), layer_hex, size);
  if (n < 0)
    abort ();
  put_blob (dfd, manifest, strlen (manifest), manifest_hex);
  n = asprintf (&index,
                "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\","
                "\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"fuzz\"}}]}",
                manifest_hex, strlen (manifest));
  if (n < 0)
    abort ();
  put (dfd, "index.json", index, strlen (index));
  close (dfd);

  snprintf (path, sizeof path, "%s/layout:fuzz", base);
  rc = za_image_layout_prepare (path, cache, &rootfs, &ic, &warn, &err);
  for (struct za_err *e = err; e; e = e->next)
    za_fuzz_note ("error", za_err_format (e));
  for (struct za_err *e = warn; e; e = e->next)
    za_fuzz_note ("warning", za_err_format (e));
  if (rc == 0)
    za_fuzz_note ("prepared", strdup (rootfs));

  /* Nothing outside the cache changed; the cache holds the published
     entry on success and nothing after a failure.  */
  {
    const char *top[] = { "layout", "cache", "victim", NULL };
    const char *lay[] = { "oci-layout", "index.json", "blobs", NULL };
    const char *blobs[] = { "sha256", NULL };
    const char *entry[] = { manifest_hex, NULL };
    const char *sha[] = { layer_hex, config_hex, manifest_hex, NULL };
    expect_only (base, top, 3);
    snprintf (path, sizeof path, "%s/victim", base);
    expect_only (path, NULL, 0);
    if (stat (path, &vst) < 0 || (vst.st_mode & 07777) != 0700 || vst.st_mtime != 1000000000)
      {
        fprintf (stderr, "fuzz_layout: the host directory `victim` was changed\n");
        abort ();
      }
    snprintf (path, sizeof path, "%s/layout", base);
    expect_only (path, lay, 3);
    snprintf (path, sizeof path, "%s/layout/blobs", base);
    expect_only (path, blobs, 1);
    snprintf (path, sizeof path, "%s/layout/blobs/sha256", base);
    expect_only (path, sha, 3);
    if (expect_only (cache, rc == 0 ? entry : NULL, rc == 0 ? 1 : 0) != (rc == 0 ? 1u : 0u))
      abort ();
    if (rc == 0)
      {
        char want[PATH_MAX * 2];
        char *real = realpath (cache, NULL);
        if (!real || !rootfs || !ic)
          abort ();
        snprintf (want, sizeof want, "%s/%s/rootfs", real, manifest_hex);
        if (strcmp (rootfs, want) != 0)
          abort ();
        free (real);
      }
    else if (rootfs || ic)
      abort ();
  }

  free (rootfs);
  za_image_config_free (ic);
  za_err_free (&warn);
  za_err_free (&err);
  free (config);
  free (manifest);
  free (index);
  remove_tree (AT_FDCWD, base);
  return 0;
}
