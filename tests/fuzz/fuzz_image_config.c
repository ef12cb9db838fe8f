/* Fuzz target: an OCI image config blob (or the bare inner object),
   za_image_config_parse, then za_image_config_full_command.  */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include "oci/image_config.h"
#include "util/err.h"
#include "util/strv.h"

#include "fuzz_replay.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct za_image_config *ic = NULL;
  struct za_err *err = NULL;
  struct za_strv argv = { 0 };

  if (za_image_config_parse ("config.json", (const char *) data, size, &ic, &err) < 0)
    {
      for (struct za_err *e = err; e; e = e->next)
        za_fuzz_note ("error", za_err_format (e));
      za_err_free (&err);
      return 0;
    }
  za_image_config_full_command (ic, &argv);
  za_strv_clear (&argv);
  za_image_config_free (ic);
  return 0;
}
