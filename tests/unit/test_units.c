/* Unit tests for spec/units.c: the one memory-size parser shared by the
   validator and the bundle (zlayer-reference.md §11.6 and §12 #8-9).  */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "spec/units.h"

static void
check_ok (const char *s, int64_t want, bool want_bin, int line)
{
  int64_t bytes = -42;
  bool bin = !want_bin;
  enum za_mem_status st = za_parse_memory (s, &bytes, &bin);
  if (st != ZA_MEM_OK)
    fail_msg ("line %d: \"%s\" rejected (status %d)", line, s, (int) st);
  if (bytes != want)
    fail_msg ("line %d: \"%s\" = %lld, want %lld", line, s, (long long) bytes, (long long) want);
  if (bin != want_bin)
    fail_msg ("line %d: \"%s\": binary suffix %d, want %d", line, s, bin, want_bin);
  /* the flag is optional */
  bytes = -42;
  if (za_parse_memory (s, &bytes, NULL) != ZA_MEM_OK || bytes != want)
    fail_msg ("line %d: \"%s\" without a flag pointer", line, s);
}
#define MEM_OK(s, v, b) check_ok (s, v, b, __LINE__)

static void
check_err (const char *s, enum za_mem_status want, int line)
{
  int64_t bytes = -42;
  bool bin = true;
  enum za_mem_status st = za_parse_memory (s, &bytes, &bin);
  if (st != want)
    fail_msg ("line %d: \"%s\": status %d, want %d", line, s, (int) st, (int) want);
  /* nothing is written on failure */
  if (bytes != -42)
    fail_msg ("line %d: \"%s\": bytes written on failure", line, s);
}
#define MEM_ERR(s, st) check_err (s, st, __LINE__)

static void
test_units_reference_examples (void **state)
{
  (void) state;
  MEM_OK ("512Mi", 536870912, true);
  MEM_OK ("1Gi", 1073741824, true);
  MEM_OK ("2G", 2000000000, false);
  MEM_OK ("1024", 1024, false);
  MEM_OK ("512Ki", 524288, true);
  MEM_ERR ("", ZA_MEM_EMPTY);
  MEM_ERR ("abc", ZA_MEM_BAD_NUMBER);
  MEM_ERR ("12.5Mi", ZA_MEM_BAD_NUMBER);
}

static void
test_units_every_suffix (void **state)
{
  (void) state;
  MEM_OK ("3Ki", 3 * 1024, true);
  MEM_OK ("3Mi", 3 * 1048576, true);
  MEM_OK ("3Gi", INT64_C (3) << 30, true);
  MEM_OK ("3Ti", INT64_C (3) << 40, true);
  MEM_OK ("3K", 3000, false);
  MEM_OK ("3k", 3000, false);
  MEM_OK ("3M", 3000000, false);
  MEM_OK ("3m", 3000000, false); /* mega, not Kubernetes milli */
  MEM_OK ("3G", 3000000000, false);
  MEM_OK ("3g", 3000000000, false);
  MEM_OK ("3T", INT64_C (3000000000000), false);
  MEM_OK ("3t", INT64_C (3000000000000), false);
  MEM_OK ("0", 0, false);
  MEM_OK ("0Mi", 0, true);
  MEM_OK ("+5", 5, false);
  MEM_OK ("+5Mi", 5 * 1048576, true);
  MEM_OK ("007Ki", 7 * 1024, true);
}

static void
test_units_trimming (void **state)
{
  (void) state;
  MEM_OK ("  64Mi  ", 64 * 1048576, true);
  MEM_OK ("\t2Gi\n", INT64_C (2) << 30, true);
  MEM_ERR ("   ", ZA_MEM_EMPTY);
  MEM_ERR ("\n", ZA_MEM_EMPTY);
  MEM_ERR ("1 Mi", ZA_MEM_BAD_NUMBER);
  MEM_OK ("5 ", 5, false);
}

static void
test_units_bad_numbers (void **state)
{
  static const char *const bad[] = { "Mi",  "Ki",  "+",   "+Mi", "-5",    "-5Mi", "1.5", "0x10", "1KiB",
                                     "5mi", "5ki", "5MI", "1e3", "1_000", "++1",  "Mi5", "1,5Gi", "5 5" };
  (void) state;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    check_err (bad[i], ZA_MEM_BAD_NUMBER, __LINE__);
}

static void
test_units_overflow (void **state)
{
  (void) state;
  MEM_OK ("9223372036854775807", INT64_MAX, false);
  MEM_ERR ("9223372036854775808", ZA_MEM_OVERFLOW);
  MEM_ERR ("18446744073709551615", ZA_MEM_OVERFLOW);
  MEM_ERR ("18446744073709551616", ZA_MEM_OVERFLOW);
  MEM_ERR ("99999999999999999999999", ZA_MEM_OVERFLOW);
  MEM_ERR ("20000000Ti", ZA_MEM_OVERFLOW); /* wraps in the seed */
  MEM_OK ("8388607Ti", INT64_C (8388607) << 40, true);
  MEM_ERR ("8388608Ti", ZA_MEM_OVERFLOW); /* exactly 2^63 */
  MEM_OK ("9007199254740991Ki", INT64_MAX - 1023, true); /* 2^63 - 1024 */
  MEM_ERR ("9007199254740992Ki", ZA_MEM_OVERFLOW);
  MEM_OK ("9223372T", INT64_C (9223372000000000000), false);
  MEM_ERR ("9223373T", ZA_MEM_OVERFLOW);
  MEM_ERR ("99999999999Ti", ZA_MEM_OVERFLOW);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_units_reference_examples),
    cmocka_unit_test (test_units_every_suffix),
    cmocka_unit_test (test_units_trimming),
    cmocka_unit_test (test_units_bad_numbers),
    cmocka_unit_test (test_units_overflow),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
