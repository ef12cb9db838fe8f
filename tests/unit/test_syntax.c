#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spec/syntax.h"

#define SEC UINT64_C (1000000000)

/* A success must leave *reason exactly as it was, so the helpers hand in
   a sentinel rather than NULL.  */
static char sentinel;

static void
check_dur_ok (const char *s, uint64_t want, int line)
{
  char *reason = &sentinel;
  uint64_t ns = 0;
  if (za_duration_parse (s, &ns, &reason) != 0)
    fail_msg ("line %d: duration \"%s\" rejected: %s", line, s,
              reason != &sentinel && reason ? reason : "(no reason)");
  if (reason != &sentinel)
    fail_msg ("line %d: duration \"%s\": reason touched on success", line, s);
  if (ns != want)
    fail_msg ("line %d: duration \"%s\" = %llu ns, want %llu", line, s,
              (unsigned long long) ns, (unsigned long long) want);
}

static void
check_dur_err (const char *s, const char *want, int line)
{
  char *reason = NULL;
  uint64_t ns = 0;
  if (za_duration_parse (s, &ns, &reason) != -1)
    fail_msg ("line %d: duration \"%s\" accepted as %llu ns", line, s,
              (unsigned long long) ns);
  if (!reason)
    fail_msg ("line %d: duration \"%s\": no reason", line, s);
  if (want && strcmp (reason, want) != 0)
    {
      print_error ("line %d: duration \"%s\"\n  got:  %s\n  want: %s\n", line,
                   s, reason, want);
      free (reason);
      fail ();
    }
  free (reason);
}

#define DUR_OK(s, ns) check_dur_ok (s, ns, __LINE__)
#define DUR_ERR(s, why) check_dur_err (s, why, __LINE__)

static void
check_ok (int (*fn) (const char *, char **), const char *what, const char *s,
          int line)
{
  char *reason = &sentinel;
  if (fn (s, &reason) != 0)
    fail_msg ("line %d: %s \"%s\" rejected: %s", line, what, s,
              reason != &sentinel && reason ? reason : "(no reason)");
  if (reason != &sentinel)
    fail_msg ("line %d: %s \"%s\": reason touched on success", line, what, s);
}

static void
check_err (int (*fn) (const char *, char **), const char *what, const char *s,
           const char *want, int line)
{
  char *reason = NULL;
  if (fn (s, &reason) != -1)
    fail_msg ("line %d: %s \"%s\" accepted", line, what, s);
  if (!reason)
    fail_msg ("line %d: %s \"%s\": no reason", line, what, s);
  if (want && strcmp (reason, want) != 0)
    {
      print_error ("line %d: %s \"%s\"\n  got:  %s\n  want: %s\n", line, what,
                   s, reason, want);
      free (reason);
      fail ();
    }
  free (reason);
}

#define CRON_OK(s) check_ok (za_cron_check, "cron", s, __LINE__)
#define CRON_ERR(s, why) check_err (za_cron_check, "cron", s, why, __LINE__)
#define REF_OK(s) check_ok (za_image_ref_check, "ref", s, __LINE__)
#define REF_ERR(s, why) check_err (za_image_ref_check, "ref", s, why, __LINE__)

/* ---- durations ---- */

static void
test_duration_brief_examples (void **state)
{
  (void) state;
  DUR_OK ("30s", 30 * SEC);
  DUR_OK ("1m", 60 * SEC);
  DUR_OK ("5m30s", 330 * SEC);
  DUR_OK ("100ms", 100000000);
  DUR_OK ("1h", 3600 * SEC);
  DUR_OK ("1h 30m", 5400 * SEC);
  DUR_OK ("2days", 2 * 86400 * SEC);
}

static void
test_duration_units (void **state)
{
  (void) state;
  DUR_OK ("17nsec", 17);
  DUR_OK ("17nanos", 17);
  DUR_OK ("33ns", 33);
  DUR_OK ("3usec", 3000);
  DUR_OK ("78us", 78000);
  DUR_OK ("163\xc2\xb5s", 163000); /* U+00B5 MICRO SIGN */
  DUR_OK ("31msec", 31000000);
  DUR_OK ("31millis", 31000000);
  DUR_OK ("6ms", 6000000);
  DUR_OK ("3000s", 3000 * SEC);
  DUR_OK ("300sec", 300 * SEC);
  DUR_OK ("300secs", 300 * SEC);
  DUR_OK ("50seconds", 50 * SEC);
  DUR_OK ("1second", 1 * SEC);
  DUR_OK ("100m", 6000 * SEC);
  DUR_OK ("12min", 720 * SEC);
  DUR_OK ("12mins", 720 * SEC);
  DUR_OK ("1minute", 60 * SEC);
  DUR_OK ("7minutes", 420 * SEC);
  DUR_OK ("2h", 7200 * SEC);
  DUR_OK ("7hr", 25200 * SEC);
  DUR_OK ("7hrs", 25200 * SEC);
  DUR_OK ("1hour", 3600 * SEC);
  DUR_OK ("24hours", 86400 * SEC);
  DUR_OK ("1day", 86400 * SEC);
  DUR_OK ("365d", 31536000 * SEC);
  DUR_OK ("1week", 604800 * SEC);
  DUR_OK ("7weeks", 4233600 * SEC);
  DUR_OK ("100wk", 60480000 * SEC);
  DUR_OK ("104wks", 2 * 31449600 * SEC);
  DUR_OK ("52w", 31449600 * SEC);
  DUR_OK ("1month", 2630016 * SEC);
  DUR_OK ("3months", 3 * 2630016 * SEC);
  DUR_OK ("12M", 31560192 * SEC);
  DUR_OK ("1year", 31557600 * SEC);
  DUR_OK ("7years", 7 * 31557600 * SEC);
  DUR_OK ("15yrs", 15 * 31557600 * SEC);
  DUR_OK ("10yr", 10 * 31557600 * SEC);
  DUR_OK ("17y", 536479200 * SEC);
}

static void
test_duration_combinations (void **state)
{
  (void) state;
  DUR_OK ("20 min 17 nsec ", 1200 * SEC + 17);
  DUR_OK ("2h 15m", 8100 * SEC);
  DUR_OK ("1h30m15s500ms", 5415 * SEC + 500000000);
  DUR_OK ("  5 m  ", 300 * SEC);
  /* humantime skips blanks inside a number, so this is ten seconds */
  DUR_OK ("1 0s", 10 * SEC);
  DUR_OK ("1s1s1s", 3 * SEC);
  DUR_OK ("999ms 1ms", 1 * SEC);
  DUR_OK ("1\xc2\xa0h", 3600 * SEC); /* NO-BREAK SPACE is white space */
  /* "M" is months, "m" minutes */
  DUR_OK ("1M 1m", 2630016 * SEC + 60 * SEC);
}

static void
test_duration_zero (void **state)
{
  (void) state;
  /* humantime 2.3 accepts a string of zeros without a unit */
  DUR_OK ("0", 0);
  DUR_OK ("000", 0);
  DUR_OK ("0s", 0);
  DUR_OK ("0ns 0h", 0);
  DUR_ERR (" 0", "time unit needed, for example 0sec or 0ms");
}

static void
test_duration_limits (void **state)
{
  (void) state;
  DUR_OK ("18446744073709551615ns", UINT64_MAX);
  DUR_OK ("18446744073s", 18446744073 * SEC);
  DUR_ERR ("18446744073709551616ns", "number is too large");
  DUR_ERR ("100000000000000000000s", "number is too large");
  /* fits humantime's seconds but not u64 nanoseconds */
  DUR_ERR ("18446744074s", "number is too large");
  DUR_ERR ("600000y", "number is too large");
  DUR_ERR ("18446744073709551615ns 1ns", "number is too large");
}

static void
test_duration_errors (void **state)
{
  (void) state;
  DUR_ERR ("", "value was empty");
  DUR_ERR ("   ", "value was empty");
  DUR_ERR ("30", "time unit needed, for example 30sec or 30ms");
  DUR_ERR ("30 ", "time unit needed, for example 30sec or 30ms");
  DUR_ERR ("1h 2", "time unit needed, for example 2sec or 2ms");
  DUR_ERR ("1xx",
           "unknown time unit \"xx\", supported units: ns, us/\xc2\xb5s, ms, "
           "sec, min, hours, days, weeks, months, years (and few variations)");
  DUR_ERR ("5Sec", NULL);
  DUR_ERR ("x", "expected number at 0");
  DUR_ERR (" x", "expected number at 0");
  DUR_ERR ("-5s", "expected number at 0");
  DUR_ERR ("+5s", "expected number at 0");
  DUR_ERR ("5s x", "expected number at 3");
  /* humantime reports where the blanks began, not the letter */
  DUR_ERR ("5s  x", "expected number at 3");
  DUR_ERR ("5 sec min", "expected number at 6");
  DUR_ERR ("1.5h", "invalid character at 1");
  DUR_ERR ("5s!", "invalid character at 2");
  DUR_ERR ("10m,5s", "invalid character at 3");
  DUR_ERR ("5\xce\xbcs", "invalid character at 1"); /* Greek mu, not micro */
  DUR_ERR ("5\xffs", "invalid character at 1");
  DUR_ERR ("5s\xce\xbc", "invalid character at 2");
}

static void
test_duration_null_reason (void **state)
{
  uint64_t ns = 7;
  (void) state;
  assert_int_equal (za_duration_parse ("bogus", &ns, NULL), -1);
  assert_int_equal (za_duration_parse ("1s", &ns, NULL), 0);
  assert_true (ns == SEC);
}

/* ---- cron ---- */

static void
test_cron_valid (void **state)
{
  (void) state;
  CRON_OK ("0 30 9,12,15 1,15 May-Aug Mon,Wed,Fri 2018/2");
  CRON_OK ("* * * * * *");
  CRON_OK ("0 0 12 * * MON-FRI");
  CRON_OK ("0 0 12 * * mon-fri");
  CRON_OK ("*/5 * * * * *");
  CRON_OK ("0 0/15 * * * *");
  CRON_OK ("1-30/2 * * * * *");
  CRON_OK ("0 0 3 * * ?");
  CRON_OK ("0 0 0 ? * SUN");
  CRON_OK ("0 0 0 ? * ?");
  CRON_OK ("0 0 0 ?/2 * *");
  CRON_OK ("0 15 10 ? * 2-6");
  CRON_OK ("0 0 0 1 JAN *");
  CRON_OK ("0 0 0 1 jan-DEC * 2025");
  CRON_OK ("0 0 0 * * 7");
  CRON_OK ("59 59 23 31 12 * 2100");
  CRON_OK ("0 0 0 1 1 * 1970-2100/2100");
  CRON_OK ("0 0 12 * * MON-FRI 2020-2030");
  CRON_OK ("0 0 0 * * Sunday,TUES,thurs");
  CRON_OK ("0 0 0 1 January,september *");
  CRON_OK ("0,15,30,45 * * * * *");
  CRON_OK ("*,5 * * * * *");
  CRON_OK ("  0 0 * * * *  ");
  CRON_OK ("0\t0\t*\t*\t*\t*");
  CRON_OK ("00 05 * * * *");
}

/* Corners of the crate's combinator grammar: numbers and names absorb
   the blanks around them, and fields need no blank between them.  */
static void
test_cron_crate_quirks (void **state)
{
  (void) state;
  CRON_OK ("0 0 12 1 - 5 * ?"); /* day-of-month "1 - 5" is a range */
  CRON_OK ("0 0 12 1 ,2 * ?");  /* and "1 ,2" a list */
  CRON_OK ("** * * * *");       /* six fields: "*" "*" "*" "*" "*" "*" */
  CRON_ERR ("0 0 12 1, * * ?", NULL); /* "*" may not follow ", " */
}

static void
test_cron_shorthand (void **state)
{
  (void) state;
  CRON_OK ("@yearly");
  CRON_OK ("@monthly");
  CRON_OK ("@weekly");
  CRON_OK ("@daily");
  CRON_OK ("@hourly");
  CRON_OK (" @daily\n");
  CRON_ERR ("@annually", "unknown cron shorthand `@annually` (expected "
                         "@yearly, @monthly, @weekly, @daily or @hourly)");
  CRON_ERR ("@reboot", NULL);
  CRON_ERR ("@dailyx", NULL);
  CRON_ERR ("@daily 5", NULL);
  CRON_ERR ("@DAILY", NULL);
}

static void
test_cron_field_count (void **state)
{
  (void) state;
  CRON_ERR ("", "cron expression is empty");
  CRON_ERR (" \t ", "cron expression is empty");
  CRON_ERR ("0 3 * * *", "expected 6 or 7 fields, found 5");
  CRON_ERR ("*/5 * * * *", "expected 6 or 7 fields, found 5");
  CRON_ERR ("* * * * * * * *", "expected 6 or 7 fields, found 8");
  CRON_ERR ("* * * *", "expected 6 or 7 fields, found 4");
  CRON_ERR ("0 3 * * MON/2", "expected 6 or 7 fields, found 5");
}

static void
test_cron_values (void **state)
{
  (void) state;
  CRON_ERR ("60 * * * * *", "value 60 out of range 0-59 in seconds field");
  CRON_ERR ("0 60 * * * *", "value 60 out of range 0-59 in minutes field");
  CRON_ERR ("0 0 24 * * *", "value 24 out of range 0-23 in hours field");
  CRON_ERR ("0 0 0 0 * *", "value 0 out of range 1-31 in day-of-month field");
  CRON_ERR ("0 0 0 32 * *", "value 32 out of range 1-31 in day-of-month field");
  CRON_ERR ("0 0 0 * 13 *", "value 13 out of range 1-12 in month field");
  CRON_ERR ("0 0 0 * * 0", "value 0 out of range 1-7 in day-of-week field");
  CRON_ERR ("0 0 0 * * 8", "value 8 out of range 1-7 in day-of-week field");
  CRON_ERR ("0 0 0 * * * 1969", "value 1969 out of range 1970-2100 in year field");
  CRON_ERR ("0-65 * * * * *", "value 65 out of range 0-59 in seconds field");
  CRON_ERR ("0-5,102 * * * * *", "value 102 out of range 0-59 in seconds field");
  CRON_ERR ("99999999999999999999999 * * * * *",
            "value 99999999999999999999999 out of range 0-59 in seconds field");
  CRON_ERR ("0 0 5-3 * * *", "invalid range 5-3 in hours field");
  CRON_ERR ("0 0 0 * * FRI-MON", "invalid range FRI-MON in day-of-week field");
  CRON_ERR ("0 0 0 * NOV-FEB *", "invalid range NOV-FEB in month field");
  CRON_ERR ("*/0 * * * * *", "invalid step 0 in seconds field (must be 1-59)");
  CRON_ERR ("*/60 * * * * *", "invalid step 60 in seconds field (must be 1-59)");
  CRON_ERR ("0 0 0 * * * 2020/3000", "invalid step 3000 in year field (must be 1-2100)");
  CRON_ERR ("0 0 0 * * 9/2", "value 9 out of range 1-7 in day-of-week field");
}

static void
test_cron_tokens (void **state)
{
  (void) state;
  CRON_ERR ("0 x * * * *", "invalid token `x` in minutes field");
  CRON_ERR ("0 0 MON * * *", "invalid token `MON` in hours field");
  CRON_ERR ("0 0 0 * FOO *", "invalid token `FOO` in month field");
  CRON_ERR ("0 0 0 * * MON,TURTLE", "invalid token `TURTLE` in day-of-week field");
  CRON_ERR ("0 0 0 * * BEAR-OWL", "invalid token `BEAR` in day-of-week field");
  CRON_ERR ("0 0 0 * * * foo", "invalid token `foo` in year field");
  CRON_ERR ("0 0 0 * * MON FRI", "invalid token `FRI` in year field");
  CRON_ERR ("0 0 0 * * MON/2", "invalid token `MON/2` in day-of-week field");
  CRON_ERR ("1,2, * * * * *", "invalid token `1,2,` in seconds field");
  CRON_ERR ("0 0 0 * * 1-", "invalid token `1-` in day-of-week field");
  CRON_ERR ("0 0 0 * * #", "invalid token `#` in day-of-week field");
  CRON_ERR ("0 0 0 L * ?", "invalid token `L` in day-of-month field");
  CRON_ERR ("? * * * * *", "invalid token `?` in seconds field (only allowed "
                           "in the day-of-month and day-of-week fields)");
  CRON_ERR ("* * * * ? *", "invalid token `?` in month field (only allowed "
                           "in the day-of-month and day-of-week fields)");
  CRON_ERR ("* * * * * * ?", NULL);
  CRON_ERR ("10-12/10-12 * * * * ?", NULL);
  CRON_ERR ("* * * * * *foo *", NULL);
}

static void
test_cron_null_reason (void **state)
{
  (void) state;
  assert_int_equal (za_cron_check ("0 3 * * *", NULL), -1);
  assert_int_equal (za_cron_check ("0 0 3 * * *", NULL), 0);
}

/* ---- image references ---- */

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
test_ref_valid (void **state)
{
  (void) state;
  REF_OK ("nginx");
  REF_OK ("nginx:alpine");
  REF_OK ("nginx:1.29-alpine");
  REF_OK ("library/nginx:latest");
  REF_OK ("docker.io/library/nginx");
  REF_OK ("ghcr.io/blackleafdigital/zlayer/zlayer-web:latest");
  REF_OK ("localhost:5000/app");
  REF_OK ("localhost/app:v1");
  REF_OK ("registry.example.com:5000/a/b/c:tag");
  REF_OK ("postgres:16-alpine");
  REF_OK ("busybox@sha256:" HEX64);
  REF_OK ("a/b__c/d-e.f:x");
  REF_OK ("[::1]:5000/app");
  REF_OK ("[::1]/app");
  REF_OK ("busybox:1.36@sha256:" HEX64);
  REF_OK ("app@sha512:" HEX64 HEX64);
  REF_OK ("app@sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564=");
  REF_OK ("a--b---c_d.e/f");
  REF_OK ("a_b.c/d"); /* not a host, so the whole name is the path */
  REF_OK ("Registry.Example.COM/app");
  REF_OK ("my-registry.local:443/team/app:2024.01_rc-1");
  REF_OK ("localhost:5000"); /* the repository "localhost", tag "5000" */
  REF_OK ("a:_");
  REF_OK ("nginx:LATEST");
}

static void
test_ref_brief_failures (void **state)
{
  char tag[160];
  (void) state;
  REF_ERR ("", "reference is empty");
  REF_ERR ("Nginx", "repository name must be lowercase");
  REF_ERR ("nginx:", "invalid tag ``: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  REF_ERR ("nginx:-bad", "invalid tag `-bad`: must match "
                         "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  REF_ERR ("nginx@sha256:abc", "invalid digest `sha256:abc`: sha256 needs 64 "
                               "lowercase hex characters");
  REF_ERR ("a//b", "invalid reference format: empty path component");
  REF_ERR ("-a", "invalid reference format: invalid path component `-a`");
  REF_ERR ("a-", "invalid reference format: invalid path component `a-`");
  REF_ERR ("nginx:tag with space", "invalid tag `tag with space`: must match "
                                   "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  REF_ERR ("UPPER/case", "repository name must be lowercase");

  strcpy (tag, "nginx:");
  memset (tag + 6, 'a', 129);
  tag[6 + 129] = '\0';
  REF_ERR (tag, NULL);
  tag[6 + 128] = '\0';
  REF_OK (tag);
}

static void
test_ref_more_failures (void **state)
{
  char name[300];
  (void) state;
  REF_ERR ("a/b/", "invalid reference format: empty path component");
  REF_ERR ("/a", "invalid reference format: empty path component");
  REF_ERR ("docker.io/", "invalid reference format: empty path component");
  REF_ERR ("a..b", "invalid reference format: invalid path component `a..b`");
  REF_ERR ("a___b", "invalid reference format: invalid path component `a___b`");
  REF_ERR ("a b", "invalid reference format: invalid path component `a b`");
  REF_ERR ("library/Nginx", "repository name must be lowercase");
  REF_ERR ("docker.io/Library/nginx", "repository name must be lowercase");
  REF_ERR ("localhost:abc/app", "invalid reference format: invalid domain "
                                "`localhost:abc`");
  REF_ERR ("-bad.com/app", "invalid reference format: invalid domain `-bad.com`");
  REF_ERR ("bad-.com/app", NULL);
  REF_ERR ("a..com/app", NULL);
  REF_ERR ("host:/app", NULL);
  REF_ERR ("[::1/app", NULL);
  REF_ERR ("[]:5000/app", NULL);
  REF_ERR ("[::g]/app", NULL);
  REF_ERR ("a:b:c", NULL);
  REF_ERR (":tag", "invalid reference format: repository name is empty");
  REF_ERR ("@sha256:" HEX64, "invalid reference format: repository name is empty");
  REF_ERR ("nginx@", "invalid digest ``: must be algorithm:encoded");
  REF_ERR ("nginx@sha256:" HEX64 "@x", NULL);
  REF_ERR ("nginx@SHA256:" HEX64, "invalid digest `SHA256:" HEX64
                                  "`: must be algorithm:encoded");
  REF_ERR ("nginx@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef"
           "0123456789abcdef",
           NULL);
  REF_ERR ("nginx@sha256:" HEX64 "0", NULL);
  REF_ERR ("nginx@sha512:" HEX64, NULL);
  REF_ERR ("nginx@foo:", NULL);
  REF_ERR ("nginx@foo-:abc", NULL);
  REF_ERR ("nginx@foo:a/b", NULL);
  REF_ERR ("nginx:a@b", NULL);
  REF_ERR ("nginx:tag/x", NULL);

  memset (name, 'a', 255);
  name[255] = '\0';
  REF_OK (name);
  name[255] = 'a';
  name[256] = '\0';
  REF_ERR (name, "repository name must not be more than 255 characters");
}

static void
test_ref_null_reason (void **state)
{
  (void) state;
  assert_int_equal (za_image_ref_check ("Nginx", NULL), -1);
  assert_int_equal (za_image_ref_check ("nginx", NULL), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_duration_brief_examples),
    cmocka_unit_test (test_duration_units),
    cmocka_unit_test (test_duration_combinations),
    cmocka_unit_test (test_duration_zero),
    cmocka_unit_test (test_duration_limits),
    cmocka_unit_test (test_duration_errors),
    cmocka_unit_test (test_duration_null_reason),
    cmocka_unit_test (test_cron_valid),
    cmocka_unit_test (test_cron_crate_quirks),
    cmocka_unit_test (test_cron_shorthand),
    cmocka_unit_test (test_cron_field_count),
    cmocka_unit_test (test_cron_values),
    cmocka_unit_test (test_cron_tokens),
    cmocka_unit_test (test_cron_null_reason),
    cmocka_unit_test (test_ref_valid),
    cmocka_unit_test (test_ref_brief_failures),
    cmocka_unit_test (test_ref_more_failures),
    cmocka_unit_test (test_ref_null_reason),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
