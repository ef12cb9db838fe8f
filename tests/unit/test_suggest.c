/* Unit tests for util/suggest.c: the "did you mean" of unknown fields and
   GPU vendors.  */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/suggest.h"

static const char *const fields[] = { "image", "resources", "host_network", "stop_grace_period", "cpu", "env", NULL };
static const char *const vendors[] = { "nvidia", "amd", "intel", "apple", NULL };

static void
expect (const char *word, const char *const *names, const char *want, int line)
{
  const char *got = za_suggest_str (word, names);
  if (want ? !got || strcmp (got, want) : got != NULL)
    fail_msg ("line %d: `%s` suggested `%s`, want `%s`", line, word, got ? got : "(none)", want ? want : "(none)");
}
#define EXPECT(w, names, want) expect (w, names, want, __LINE__)

static void
test_suggest_typos (void **state)
{
  (void) state;
  EXPECT ("nvida", vendors, "nvidia");       /* a deletion */
  EXPECT ("nvidiaa", vendors, "nvidia");     /* an insertion */
  EXPECT ("nvidja", vendors, "nvidia");      /* a substitution */
  EXPECT ("itnel", vendors, "intel");        /* a swap counts one */
  EXPECT ("NVIDIA", vendors, "nvidia");      /* case is ignored */
  EXPECT ("hostNetwork", fields, "host_network");
  EXPECT ("stop_grace_periods", fields, "stop_grace_period");
  EXPECT ("cpus", fields, "cpu");
  EXPECT ("imagee", fields, "image");
}

static void
test_suggest_far_names (void **state)
{
  (void) state;
  EXPECT ("acme", vendors, NULL);            /* 2 edits from `amd`: too many for 3 letters */
  EXPECT ("volumes", fields, NULL);
  EXPECT ("x", vendors, NULL);               /* never all of the word */
  EXPECT ("ev", fields, "env");
  EXPECT ("e", fields, NULL);
  EXPECT ("", vendors, NULL);
  {
    char long_word[200];
    memset (long_word, 'a', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = '\0';
    EXPECT (long_word, vendors, NULL);       /* longer than 64 bytes: no table */
  }
}

static void
test_suggest_nearest_wins (void **state)
{
  static const char *const names[] = { "abcdef", "abcdxy", "abcdex", NULL };
  (void) state;
  EXPECT ("abcdez", names, "abcdef");        /* 1 edit from two: the first */
  EXPECT ("abcdxz", names, "abcdxy");        /* 1 edit beats 2 */
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_suggest_typos),
    cmocka_unit_test (test_suggest_far_names),
    cmocka_unit_test (test_suggest_nearest_wins),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
