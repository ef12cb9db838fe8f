/* Unit tests for util/err.c: the error value, wrapping, the errno
   setters, the collector and its cap, and the out-of-memory sentinel
   (docs/errors.md).  */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"

/* Out of memory on demand: err.c formats every message with vasprintf,
   so the next FAIL_VASPRINTF calls of it fail as they would without
   memory.  Everything else goes to the real one.  */
static int fail_vasprintf;

int
vasprintf (char **strp, const char *fmt, va_list ap)
{
  static int (*real) (char **, const char *, va_list);
  if (fail_vasprintf > 0)
    {
      fail_vasprintf--;
      errno = ENOMEM;
      return -1;
    }
  if (!real)
    *(void **) &real = dlsym (RTLD_NEXT, "vasprintf");
  if (!real)
    abort ();
  return real (strp, fmt, ap);
}

static struct za_err *g_err;

static int
teardown (void **state)
{
  (void) state;
  za_err_free (&g_err);
  fail_vasprintf = 0;
  return 0;
}

static const struct za_err *
nth (const struct za_err *e, size_t i)
{
  while (e && i--)
    e = e->next;
  assert_non_null (e);
  return e;
}

static void
expect_format (const struct za_err *e, const char *want)
{
  char *s = za_err_format (e);
  assert_non_null (s);
  if (strcmp (s, want) != 0)
    fail_msg ("got:  %s\nwant: %s", s, want);
  free (s);
}

/* ---- wrap ---------------------------------------------------------- */

/* A caller that collected an error earlier and then wraps the failure of
   its next call: only that failure gets the context.  */
static void
test_errors_wrap_touches_only_the_last (void **state)
{
  struct za_mark m = { 3, 7 };
  (void) state;
  za_err_set_at (&g_err, "deploy.yaml", &m, "services.web.image", "must not be empty");
  za_err_set (&g_err, ENOENT, "open `x`");
  assert_int_equal (za_err_wrap (&g_err, "bundle `%s`", "/b"), -1);
  assert_string_equal (g_err->msg, "must not be empty");
  expect_format (g_err, "deploy.yaml:3:7: services.web.image: must not be empty");
  assert_string_equal (nth (g_err, 1)->msg, "bundle `/b`: open `x`");
  assert_int_equal (nth (g_err, 1)->code, ENOENT);
  /* twice: the context nests, still on the last one only */
  za_err_wrap (&g_err, "remove");
  assert_string_equal (g_err->msg, "must not be empty");
  assert_string_equal (nth (g_err, 1)->msg, "remove: bundle `/b`: open `x`");
}

static void
test_errors_wrap_all_prefixes_a_local_chain (void **state)
{
  struct za_err *e = NULL;
  (void) state;
  za_err_set (&g_err, ZA_EINPUT, "earlier");
  za_err_set (&e, EBUSY, "runtime delete");
  za_err_set (&e, EACCES, "remove bundle");
  assert_int_equal (za_err_wrap_all (&e, "cleanup"), -1);
  za_err_append (&g_err, &e);
  assert_null (e);
  assert_int_equal (za_err_count (g_err), 3);
  assert_string_equal (g_err->msg, "earlier");
  assert_string_equal (nth (g_err, 1)->msg, "cleanup: runtime delete");
  assert_string_equal (nth (g_err, 2)->msg, "cleanup: remove bundle");
}

static void
test_errors_wrap_empty (void **state)
{
  (void) state;
  assert_int_equal (za_err_wrap (NULL, "x"), -1);
  assert_int_equal (za_err_wrap (&g_err, "x"), -1);
  assert_int_equal (za_err_wrap_all (&g_err, "x"), -1);
  assert_null (g_err);
}

/* ---- errno text ---------------------------------------------------- */

static void
test_errors_sys_appends_strerror (void **state)
{
  char want[256];
  (void) state;
  assert_int_equal (za_err_sys (&g_err, ENOENT, "open `%s`", "/nope"), -1);
  snprintf (want, sizeof want, "open `/nope`: %s", strerror (ENOENT));
  assert_string_equal (g_err->msg, want);
  assert_int_equal (g_err->code, ENOENT);
  assert_null (g_err->file);
  assert_false (za_err_is_input (g_err));

  /* a missing input file is the caller's mistake: exit status 2 */
  assert_int_equal (za_err_sys_as (&g_err, ZA_EINPUT, EACCES, "open `%s`", "in.yaml"), -1);
  snprintf (want, sizeof want, "open `in.yaml`: %s", strerror (EACCES));
  assert_string_equal (nth (g_err, 1)->msg, want);
  assert_int_equal (nth (g_err, 1)->code, ZA_EINPUT);
  assert_true (za_err_is_input (nth (g_err, 1)));
}

/* ---- the collector ------------------------------------------------- */

static void
test_errors_collector_cap (void **state)
{
  struct za_errs c = ZA_ERRS_INIT (ZA_ERRS_MAX);
  (void) state;
  za_err_set (&g_err, ZA_EINPUT, "before");
  for (unsigned i = 1; i <= 150; i++)
    {
      struct za_mark m = { i, 5 };
      assert_int_equal (za_errs_at (&c, "d.yaml", &m, "services.web.env", "problem %u", i), -1);
    }
  assert_int_equal (c.count, 150);
  assert_int_equal (za_errs_finish (&c, &g_err), -1);
  /* emptied, same cap */
  assert_false (za_errs_any (&c));
  assert_int_equal (c.max, ZA_ERRS_MAX);
  assert_int_equal (za_err_count (g_err), 1 + 100 + 1);
  assert_string_equal (g_err->msg, "before");
  /* the first 100 are exactly what za_err_set_at makes */
  for (unsigned i = 1; i <= 100; i++)
    {
      struct za_err *e = NULL;
      struct za_mark m = { i, 5 };
      za_err_set_at (&e, "d.yaml", &m, "services.web.env", "problem %u", i);
      char *a = za_err_format (nth (g_err, i)), *b = za_err_format (e);
      assert_string_equal (a, b);
      free (a);
      free (b);
      za_err_free (&e);
    }
  expect_format (nth (g_err, 101), "d.yaml: 50 more problems not shown");
  assert_int_equal (nth (g_err, 101)->line, 0);
  assert_true (za_err_is_input (g_err));
}

static void
test_errors_collector_singular_and_default_cap (void **state)
{
  struct za_errs c = { 0 }; /* max 0: ZA_ERRS_MAX */
  (void) state;
  for (int i = 0; i < ZA_ERRS_MAX + 1; i++)
    za_errs_at (&c, NULL, NULL, NULL, "p%d", i);
  assert_int_equal (za_errs_finish (&c, &g_err), -1);
  assert_int_equal (za_err_count (g_err), ZA_ERRS_MAX + 1);
  /* no file: the line has none either */
  expect_format (nth (g_err, ZA_ERRS_MAX), "1 more problem not shown");
}

static void
test_errors_collector_keeps_system_errors (void **state)
{
  struct za_errs c = ZA_ERRS_INIT (2);
  struct za_err *chain = NULL;
  (void) state;
  za_errs_at (&c, "f", NULL, NULL, "a");
  za_errs_at (&c, "f", NULL, NULL, "b");
  za_errs_at (&c, "f", NULL, NULL, "c"); /* past the cap */
  za_errs_set (&c, EIO, "read `f`");      /* kept all the same */
  za_err_set_at (&chain, "f", NULL, NULL, "d");
  za_err_set (&chain, ENOSPC, "write `g`");
  za_errs_take (&c, &chain);
  assert_null (chain);
  assert_int_equal (c.count, 4); /* input errors only */
  assert_int_equal (za_errs_finish (&c, &g_err), -1);
  assert_int_equal (za_err_count (g_err), 5);
  assert_string_equal (g_err->msg, "a");
  assert_string_equal (nth (g_err, 1)->msg, "b");
  assert_string_equal (nth (g_err, 2)->msg, "read `f`");
  assert_int_equal (nth (g_err, 2)->code, EIO);
  assert_string_equal (nth (g_err, 3)->msg, "write `g`");
  expect_format (nth (g_err, 4), "f: 2 more problems not shown");
  /* a system error anywhere: exit status 1 */
  assert_false (za_err_is_input (g_err));
}

static void
test_errors_collector_empty_and_clear (void **state)
{
  struct za_errs c = ZA_ERRS_INIT (10);
  struct za_errs d;
  (void) state;
  assert_false (za_errs_any (&c));
  assert_int_equal (za_errs_finish (&c, &g_err), 0);
  assert_null (g_err);
  /* a system error alone counts as something collected */
  za_errs_set (&c, ENOMEM, "out of memory");
  assert_int_equal (c.count, 0);
  assert_true (za_errs_any (&c));
  za_errs_clear (&c);
  assert_false (za_errs_any (&c));
  assert_int_equal (c.max, 10);
  /* finishing into nowhere frees what was collected (ASan: no leak) */
  for (int i = 0; i < 20; i++)
    za_errs_at (&c, "f", NULL, "p", "x");
  assert_int_equal (za_errs_finish (&c, NULL), -1);
  /* the collector holds no pointer to itself: a copy works */
  za_errs_at (&c, "f", NULL, NULL, "y");
  d = c;
  za_errs_at (&d, "f", NULL, NULL, "z");
  assert_int_equal (za_errs_finish (&d, &g_err), -1);
  assert_int_equal (za_err_count (g_err), 2);
  assert_string_equal (nth (g_err, 1)->msg, "z");
}

static void
test_errors_append_to_nowhere_frees_the_chain (void **state)
{
  struct za_err *e = NULL;
  (void) state;
  za_err_set (&e, ZA_EINPUT, "one");
  za_err_set (&e, ZA_EINPUT, "two");
  za_err_set (&e, ZA_EINPUT, "three");
  za_err_append (NULL, &e); /* LeakSanitizer fails the test on a leak */
  assert_null (e);
  assert_int_equal (za_err_set (NULL, EIO, "dropped"), -1);
}

/* ---- out of memory ------------------------------------------------- */

static void
test_errors_oom_sentinel (void **state)
{
  struct za_err *oom;
  struct za_errs c = ZA_ERRS_INIT (ZA_ERRS_MAX);
  (void) state;
  za_err_set (&g_err, ZA_EINPUT, "first");
  fail_vasprintf = 1;
  assert_int_equal (za_err_set_at (&g_err, "f", NULL, NULL, "lost"), -1);
  oom = g_err->next;
  assert_non_null (oom);
  assert_string_equal (oom->msg, "out of memory");
  assert_int_equal (oom->code, ENOMEM);
  assert_false (za_err_is_input (g_err));
  /* nothing follows it, and wrapping leaves it alone */
  za_err_set (&g_err, ZA_EINPUT, "after");
  za_err_sys (&g_err, EIO, "after");
  assert_int_equal (za_err_count (g_err), 2);
  za_err_wrap (&g_err, "ctx");
  za_err_wrap_all (&g_err, "ctx");
  assert_string_equal (oom->msg, "out of memory");
  assert_int_equal (oom->code, ENOMEM);
  assert_string_equal (g_err->msg, "ctx: first");

  za_err_free (&g_err);

  /* in a collector (an input error or a system error that could not be
     made): kept, nothing after it, no "more" line */
  for (int sys = 0; sys < 2; sys++)
    {
      struct za_err *e = NULL;
      za_errs_at (&c, "f", NULL, NULL, "kept");
      fail_vasprintf = 1;
      if (sys)
        za_errs_set (&c, EIO, "lost");
      else
        za_errs_at (&c, "f", NULL, NULL, "lost");
      for (int i = 0; i < 200; i++)
        za_errs_at (&c, "f", NULL, NULL, "after %d", i);
      za_errs_set (&c, EIO, "after");
      assert_int_equal (za_errs_finish (&c, &e), -1);
      assert_int_equal (za_err_count (e), 2);
      assert_string_equal (e->msg, "kept");
      assert_string_equal (e->next->msg, "out of memory");
      assert_int_equal (e->next->code, ENOMEM);
      za_err_free (&e);
    }
  /* the sentinel survives being freed, and stays a system error */
  za_err_set (&g_err, ZA_EINPUT, "x");
  fail_vasprintf = 1;
  za_err_set (&g_err, ZA_EINPUT, "y");
  assert_int_equal (za_err_count (g_err), 2);
  assert_int_equal (g_err->next->code, ENOMEM);
}

/* ---- format -------------------------------------------------------- */

static void
test_errors_format (void **state)
{
  struct za_mark m = { 12, 5 };
  (void) state;
  za_err_set_at (&g_err, "spec.yaml", &m, "services.web.ports[1]", "expected integer");
  za_err_set_at (&g_err, "spec.yaml", NULL, NULL, "no position");
  za_err_set (&g_err, EIO, "plain");
  expect_format (g_err, "spec.yaml:12:5: services.web.ports[1]: expected integer");
  expect_format (nth (g_err, 1), "spec.yaml: no position");
  expect_format (nth (g_err, 2), "plain");
  assert_null (za_err_format (NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_errors_wrap_touches_only_the_last, teardown),
    cmocka_unit_test_teardown (test_errors_wrap_all_prefixes_a_local_chain, teardown),
    cmocka_unit_test_teardown (test_errors_wrap_empty, teardown),
    cmocka_unit_test_teardown (test_errors_sys_appends_strerror, teardown),
    cmocka_unit_test_teardown (test_errors_collector_cap, teardown),
    cmocka_unit_test_teardown (test_errors_collector_singular_and_default_cap, teardown),
    cmocka_unit_test_teardown (test_errors_collector_keeps_system_errors, teardown),
    cmocka_unit_test_teardown (test_errors_collector_empty_and_clear, teardown),
    cmocka_unit_test_teardown (test_errors_append_to_nowhere_frees_the_chain, teardown),
    cmocka_unit_test_teardown (test_errors_oom_sentinel, teardown),
    cmocka_unit_test_teardown (test_errors_format, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
