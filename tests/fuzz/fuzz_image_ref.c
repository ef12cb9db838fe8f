/* Fuzz target: image references (image/ref.c over spec/syntax.c).

   The input (up to its first NUL) is parsed with za_image_ref_parse; a
   reference that parses must print (za_image_ref_string) as a reference
   that parses to the same parts, and print the same again; a rejected one
   must leave no parts and carry exactly one input error.  */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry.h"

#include "fuzz_replay.h"

static int
same (const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = strndup ((const char *) data, size), *p, *q;
  struct za_image_ref r, r2;
  struct za_err *err = NULL;

  if (!s)
    return 0;
  if (za_image_ref_parse (s, &r, &err) < 0)
    {
      if (r.host || r.repo || r.tag || r.digest || !err || err->next
          || (err->code != ZA_EINPUT && err->code != 12 /* ENOMEM */))
        abort ();
      za_err_free (&err);
      free (s);
      return 0;
    }
  if (!r.host || !r.repo || (!r.tag && !r.digest))
    abort ();
  p = za_image_ref_string (&r);
  if (p)
    {
      if (za_image_ref_parse (p, &r2, NULL) < 0)
        abort ();
      if (!same (r.host, r2.host) || !same (r.repo, r2.repo) || !same (r.tag, r2.tag)
          || !same (r.digest, r2.digest))
        abort ();
      q = za_image_ref_string (&r2);
      if (q && strcmp (p, q) != 0)
        abort ();
      free (q);
      za_image_ref_clear (&r2);
    }
  free (p);
  za_image_ref_clear (&r);
  free (s);
  return 0;
}
