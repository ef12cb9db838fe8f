#define _GNU_SOURCE
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
za_platform_data_dir (void)
{
  const char *home = getenv ("HOME");
  char *out = NULL;
  if (geteuid () == 0 || !home || !*home)
    return strdup ("/var/lib/zlayer");
  return asprintf (&out, "%s/.zlayer", home) < 0 ? NULL : out;
}

char *
za_data_dir (void)
{
  const char *d = getenv ("ZLAYER_DATA_DIR");
  if (d && *d)
    return strdup (d);
  return za_platform_data_dir ();
}

char *
za_run_dir (void)
{
  const char *d = getenv ("ZLAYER_DATA_DIR");
  char *out = NULL;
  if (!d || !*d)
    return strdup ("/var/run/zlayer");
  return asprintf (&out, "%s/run", d) < 0 ? NULL : out;
}
