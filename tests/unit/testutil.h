/* Helpers shared by the unit tests (tests/unit/test_*.c).  Header-only
   and every function static inline, so each test binary stays one .c
   file and a test includes only what it calls.  The including file
   defines _GNU_SOURCE before its first #include.  */
#ifndef ZA_TESTUTIL_H
#define ZA_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "spec/spec.h"
#include "util/err.h"
#include "util/fs.h"

/* ---- spec documents ------------------------------------------------------ */

/* Six lines; service keys added after it start on line 7, column 5.  */
#define SPEC_PRE                                                                   \
  "version: v1\n"                                                                  \
  "deployment: demo\n"                                                             \
  "services:\n"                                                                    \
  "  web:\n"                                                                       \
  "    image:\n"                                                                   \
  "      name: nginx\n"

/* The same six lines for deployment demo-app and image nginx:latest.  */
#define SPEC_PRE_APP                                                               \
  "version: v1\n"                                                                  \
  "deployment: demo-app\n"                                                         \
  "services:\n"                                                                    \
  "  web:\n"                                                                       \
  "    image:\n"                                                                   \
  "      name: nginx:latest\n"

/* ---- error chains -------------------------------------------------------- */

/* Every error of E, formatted, one per line through print_error.  */
static inline void
dump_errors (const struct za_err *e)
{
  for (; e; e = e->next)
    {
      char *s = za_err_format (e);
      print_error ("  %s\n", s ? s : "(oom)");
      free (s);
    }
}

/* Every error of E, formatted, one per line through print_message with
   WHAT in front ("error", "warning").  */
static inline void
dump_chain (const char *what, const struct za_err *e)
{
  for (; e; e = e->next)
    {
      char *m = za_err_format (e);
      print_message ("%s: %s\n", what, m ? m : "?");
      free (m);
    }
}

/* The first error of E whose message contains NEEDLE, or NULL.  */
static inline const struct za_err *
chain_find (const struct za_err *e, const char *needle)
{
  for (; e; e = e->next)
    if (e->msg && strstr (e->msg, needle))
      return e;
  return NULL;
}

static inline bool
chain_has (const struct za_err *e, const char *needle)
{
  return chain_find (e, needle) != NULL;
}

/* chain_find that fails the test when nothing matches, after dumping E
   (each line tagged WHAT); the failure names the case CTX when given.  */
static inline const struct za_err *
require_chain_has (const char *ctx, const struct za_err *e, const char *what, const char *needle)
{
  const struct za_err *hit = chain_find (e, needle);
  if (!hit)
    {
      dump_chain (what, e);
      if (ctx)
        fail_msg ("[%s] no %s contains `%s`", ctx, what, needle);
      fail_msg ("no %s contains `%s`", what, needle);
    }
  return hit;
}

/* E is an input error of FILE at L:C with PATH (NULL: none) and exactly
   the message MSG; LINE is the caller's, for the report.  */
static inline void
check_err_at (const struct za_err *e, const char *file, const char *path, unsigned l, unsigned c,
              const char *msg, int line)
{
  if (!e)
    fail_msg ("line %d: no error", line);
  if ((path == NULL) != (e->path == NULL) || (path && strcmp (path, e->path) != 0) || strcmp (msg, e->msg) != 0
      || e->line != l || e->col != c || !e->file || strcmp (e->file, file) != 0 || e->code != ZA_EINPUT)
    {
      print_error ("line %d: error mismatch\n  want: %s:%u:%u: %s: %s\n  got:\n", line, file, l, c,
                   path ? path : "(null)", msg);
      dump_errors (e);
      fail ();
    }
}

/* E is exactly one error, and that one passes check_err_at.  */
static inline void
check_one_err_at (const struct za_err *e, const char *file, const char *path, unsigned l, unsigned c,
                  const char *msg, int line)
{
  if (za_err_count (e) != 1)
    {
      print_error ("line %d: want 1 error, got %zu\n", line, za_err_count (e));
      dump_errors (e);
      fail ();
    }
  check_err_at (e, file, path, l, c, msg, line);
}

/* ---- specs --------------------------------------------------------------- */

/* Free *SPEC and the chain *ERR; both end up NULL.  */
static inline void
spec_reset (struct za_spec **spec, struct za_err **err)
{
  za_spec_free (*spec);
  *spec = NULL;
  za_err_free (err);
}

/* YAML parsed as FILE (no validation); a document that does not parse
   fails the test, reporting the caller's LINE (when > 0), the errors and
   the document.  */
static inline struct za_spec *
spec_parse_ok_at (const char *file, const char *yaml, int line)
{
  struct za_spec *spec = NULL;
  struct za_err *err = NULL;
  if (za_spec_parse (file, yaml, strlen (yaml), &spec, &err) != 0 || !spec)
    {
      if (line > 0)
        print_error ("line %d: ", line);
      print_error ("spec does not parse:\n");
      dump_errors (err);
      print_error ("---\n%s\n", yaml);
      za_err_free (&err);
      fail ();
    }
  assert_null (err);
  return spec;
}

/* The directory of the real ZLayer examples (malloc'd), under $SHARED
   (default ../shared).  */
static inline char *
examples_dir (void)
{
  const char *shared = getenv ("SHARED");
  char *dir = NULL;
  if (asprintf (&dir, "%s/testdata/zlayer-examples", shared ? shared : "../shared") < 0)
    return NULL;
  return dir;
}

/* The YAML rows of DIR/INDEX.md (at most MAX): file name, and whether its
   'parses' and 'validates' columns say "yes" (not "no (…)", "n/a (…)" or
   "-").  The row count, or -1 when there is no index.  */
static inline int
read_index (const char *dir, char names[][128], bool *parses, bool *validates, size_t max)
{
  char *path = NULL, line[1024];
  FILE *f;
  size_t n = 0;
  if (asprintf (&path, "%s/INDEX.md", dir) < 0)
    return -1;
  f = fopen (path, "r");
  free (path);
  if (!f)
    return -1;
  while (fgets (line, sizeof line, f) && n < max)
    {
      char name[128], p[512], v[512];
      if (sscanf (line, "| %127[^ |] | %511[^|]| %511[^|]|", name, p, v) != 3)
        continue;
      if (!strstr (name, ".yaml") && !strstr (name, ".yml"))
        continue;
      snprintf (names[n], 128, "%s", name);
      parses[n] = strncmp (p, "yes", 3) == 0;
      validates[n] = strncmp (v, "yes", 3) == 0;
      n++;
    }
  fclose (f);
  return (int) n;
}

/* ---- files --------------------------------------------------------------- */

/* OUT = A/B, checked.  */
static inline void
pjoin (char *out, size_t n, const char *a, const char *b)
{
  int k = snprintf (out, n, "%s/%s", a, b);
  assert_true (k > 0 && (size_t) k < n);
}

/* A fresh directory from TMPL ("/tmp/za-x-XXXXXX") in BUF (N bytes):
   BUF, or NULL with errno set.  */
static inline char *
make_tmpdir (char *buf, size_t n, const char *tmpl)
{
  if (snprintf (buf, n, "%s", tmpl) >= (int) n)
    {
      errno = ENAMETOOLONG;
      return NULL;
    }
  return mkdtemp (buf);
}

/* rm -rf PATH (nothing there is fine); 0 or -1.  */
static inline int
rm_rf (const char *path)
{
  struct za_err *err = NULL;
  int r = za_rm_rf_at (AT_FDCWD, path, &err);
  za_err_free (&err);
  return r;
}

/* make_tmpdir into DIR, then SUBPATH (SN bytes) = DIR/SUB, a directory
   made 0755.  0, or -1 with nothing left behind.  */
static inline int
make_tmpdir_sub (char *dir, size_t dn, const char *tmpl, char *subpath, size_t sn, const char *sub)
{
  if (!make_tmpdir (dir, dn, tmpl))
    return -1;
  if (snprintf (subpath, sn, "%s/%s", dir, sub) >= (int) sn || mkdir (subpath, 0755) < 0)
    {
      rm_rf (dir);
      return -1;
    }
  return 0;
}

/* The end of a malloc'd fixture F that works in the temp directory DIR
   (a member of F): rm -rf DIR, free F.  rm_rf's result.  */
static inline int
fixture_free (void *f, const char *dir)
{
  int r = rm_rf (dir);
  free (f);
  return r;
}

/* Something (a dangling symlink too) is at PATH.  */
static inline bool
exists (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0;
}

static inline bool
exists_in (const char *dir, const char *rel)
{
  char p[PATH_MAX];
  pjoin (p, sizeof p, dir, rel);
  return exists (p);
}

/* PATH := the LEN bytes at DATA, created with MODE or truncated, after
   mkdir -p of its directory.  Never through a symlink at PATH: several
   tests plant one where the code under test must not write through it.  */
static inline void
write_data (const char *path, const void *data, size_t len, mode_t mode)
{
  char *dir = strdup (path);
  char *slash;
  int fd;
  assert_non_null (dir);
  slash = strrchr (dir, '/');
  if (slash && slash != dir)
    {
      *slash = '\0';
      assert_int_equal (za_mkdir_p (dir, 0755, NULL), 0);
    }
  free (dir);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    fail_msg ("create `%s`: %s", path, strerror (errno));
  assert_int_equal (za_write_all (fd, data, len), 0);
  assert_int_equal (close (fd), 0);
}

/* PATH := TEXT, mode 0644 (write_data).  */
static inline void
write_file (const char *path, const char *text)
{
  write_data (path, text, strlen (text), 0644);
}

/* DIR/REL := TEXT (write_file).  */
static inline void
write_in (const char *dir, const char *rel, const char *text)
{
  char path[PATH_MAX];
  pjoin (path, sizeof path, dir, rel);
  write_file (path, text);
}

/* The whole file (at most 16 MiB), NUL-terminated and malloc'd, its
   length in *LEN when given; a file that cannot be read fails the test.  */
static inline char *
slurp (const char *path, size_t *len)
{
  char *data = NULL;
  struct za_err *err = NULL;
  if (za_read_file (path, 1 << 24, &data, len, &err) < 0)
    fail_msg ("read `%s`: %s", path, err ? err->msg : "?");
  return data;
}

static inline char *
slurp_in (const char *dir, const char *name)
{
  char p[PATH_MAX];
  pjoin (p, sizeof p, dir, name);
  return slurp (p, NULL);
}

/* ---- JSON ---------------------------------------------------------------- */

/* The value at "a.b.3.c" (object keys and array indexes), or NULL.  */
static inline json_t *
jp (json_t *root, const char *path)
{
  char *copy = strdup (path);
  char *save = NULL;
  json_t *cur = root;
  assert_non_null (copy);
  for (char *t = strtok_r (copy, ".", &save); cur && t; t = strtok_r (NULL, ".", &save))
    {
      if (json_is_array (cur))
        {
          char *end;
          unsigned long i = strtoul (t, &end, 10);
          cur = *end ? NULL : json_array_get (cur, i);
        }
      else if (json_is_object (cur))
        cur = json_object_get (cur, t);
      else
        cur = NULL;
    }
  free (copy);
  return cur;
}

#endif /* ZA_TESTUTIL_H */
