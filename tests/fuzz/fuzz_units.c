/* Fuzz target: the small value parsers, one input line at a time.

   Each line (split at '\n'; a NUL byte ends the line's C string early) is
   given to za_parse_memory, za_duration_parse, za_cron_check,
   za_image_ref_check, za_cap_lookup and za_cap_is_all.  */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/caps.h"
#include "spec/syntax.h"
#include "spec/units.h"

#include "fuzz_replay.h"

static void
one (const char *s)
{
  int64_t bytes;
  bool binary;
  uint64_t ns;
  char *reason = NULL;

  (void) za_parse_memory (s, &bytes, &binary);
  if (za_duration_parse (s, &ns, &reason) < 0)
    free (reason);
  reason = NULL;
  if (za_cron_check (s, &reason) < 0)
    free (reason);
  reason = NULL;
  if (za_image_ref_check (s, &reason) < 0)
    free (reason);
  /* the verdict alone (REASON NULL) takes other paths */
  (void) za_duration_parse (s, &ns, NULL);
  (void) za_cron_check (s, NULL);
  (void) za_image_ref_check (s, NULL);
  (void) za_cap_lookup (s);
  (void) za_cap_is_all (s);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *p = (const char *) data, *end = p + size;
  while (p <= end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
      char *line = strndup (p, len);
      if (!line)
        return 0;
      one (line);
      free (line);
      if (!nl)
        break;
      p = nl + 1;
    }
  return 0;
}
