#define _GNU_SOURCE
#include "image/platform.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* ---- host platform ------------------------------------------------ */

const char *
za_image_host_arch (const char **variant)
{
  static const struct
  {
    const char *machine, *arch, *variant;
  } map[] = {
    { "x86_64", "amd64", NULL },    { "amd64", "amd64", NULL },   { "aarch64", "arm64", NULL },
    { "arm64", "arm64", NULL },     { "armv7l", "arm", "v7" },    { "armv6l", "arm", "v6" },
    { "i686", "386", NULL },        { "i586", "386", NULL },      { "i386", "386", NULL },
    { "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },   { "riscv64", "riscv64", NULL },
    { "loongarch64", "loong64", NULL },
  };
  struct utsname u;
  if (variant)
    *variant = NULL;
  if (uname (&u) < 0)
    return NULL;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp (u.machine, map[i].machine) == 0)
      {
        if (variant)
          *variant = map[i].variant;
        return map[i].arch;
      }
  return NULL;
}

static bool
platform_matches (json_t *desc, const char *arch, const char *variant)
{
  json_t *p = json_object_get (desc, "platform");
  const char *os = json_string_value (json_object_get (p, "os"));
  const char *a = json_string_value (json_object_get (p, "architecture"));
  const char *v = json_string_value (json_object_get (p, "variant"));
  if (!os || !a || strcmp (os, "linux") != 0 || strcmp (a, arch) != 0)
    return false;
  /* arm64 images are "v8" or unmarked; 32-bit arm must match exactly.  */
  if (strcmp (arch, "arm64") == 0)
    return !v || strcmp (v, "v8") == 0;
  return !variant || !v || strcmp (v, variant) == 0;
}

int
za_image_pick_platform (json_t *manifests, const size_t *cand, size_t n, const char *what,
                        size_t *chosen, struct za_err **err)
{
  const char *variant = NULL, *arch = za_image_host_arch (&variant);
  char *avail = NULL;
  size_t alen = 0;
  FILE *f;

  if (!arch)
    return za_err_set (err, ZA_EINPUT, "%s: cannot tell which platform this machine is", what);
  for (size_t i = 0; i < n; i++)
    if (platform_matches (json_array_get (manifests, cand[i]), arch, variant))
      {
        *chosen = cand[i];
        return 0;
      }
  f = open_memstream (&avail, &alen);
  if (!f)
    return za_err_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    {
      json_t *p = json_object_get (json_array_get (manifests, cand[i]), "platform");
      const char *os = json_string_value (json_object_get (p, "os"));
      const char *a = json_string_value (json_object_get (p, "architecture"));
      const char *v = json_string_value (json_object_get (p, "variant"));
      fprintf (f, "%s%s/%s%s%s", i ? ", " : "", os ? os : "?", a ? a : "?", v ? "/" : "",
               v ? v : "");
    }
  if (fclose (f) != 0)
    {
      free (avail);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  za_err_set (err, ZA_EINPUT, "%s: no manifest for linux/%s%s%s (available: %s)", what, arch,
              variant ? "/" : "", variant ? variant : "", n ? avail : "none");
  free (avail);
  return -1;
}
