/* Fuzz target: secret references and env value resolution.

   The input (up to its first NUL) is parsed with za_secret_ref_parse as
   the text after "$S:" (and again without a leading "$S:" when it has
   one), then resolved as the value of a one-entry env map with
   za_env_resolve, without a secrets store (so every $S: value is an input
   error) and with $E: reading the process environment.  */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/env.h"
#include "util/err.h"
#include "util/strv.h"

#include "fuzz_replay.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = strndup ((const char *) data, size);
  struct za_secret_ref ref;
  struct za_kv kv;
  struct za_strmap env = { .n = 1, .v = &kv, .m = { 1, 1 } };
  struct za_secrets sec = { .dir = NULL, .scope = "fuzz", .service = "web" };
  struct za_strv out = { 0 };
  struct za_err *warn = NULL, *err = NULL;

  if (!s)
    return 0;
  if (za_secret_ref_parse (s, &ref))
    {
      (void) za_secret_name_valid (ref.name);
      if (ref.service)
        (void) za_secret_name_valid (ref.service);
      za_secret_ref_clear (&ref);
    }
  if (strncmp (s, "$S:", 3) == 0 && za_secret_ref_parse (s + 3, &ref))
    za_secret_ref_clear (&ref);

  kv.key = (struct za_str) { .s = "FUZZ_VAR", .m = { 2, 3 } };
  kv.val = (struct za_str) { .s = s, .m = { 2, 13 } };
  za_env_resolve (&env, &sec, "fuzz.yaml", "services.web.env", &out, &warn, &err);
  for (struct za_err *e = err; e; e = e->next)
    za_fuzz_note ("error", za_err_format (e));
  za_err_free (&warn);
  za_err_free (&err);
  za_strv_clear (&out);
  za_env_check_refs (&env, "fuzz.yaml", "services.web.env", &err);
  za_err_free (&err);
  free (s);
  return 0;
}
