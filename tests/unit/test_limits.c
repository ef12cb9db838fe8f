/* Input limits: hostile or oversized input is an input error with a
   position, never a hang or an out-of-memory.  One test per limit, each
   through the loader that applies it: the YAML tree (depth 64, 1,000,000
   nodes after alias expansion, 1 MiB per scalar, 100,000 items per
   sequence, 16 MiB per document), deployment specs, CDI spec files (the
   same YAML limits, 4 MiB per file) and image configs (8 MiB per file,
   JSON nesting 2048).  Every expected message and position is exact.

   Within those limits nothing may be quadratic: the last tests take
   lists and maps of 100,000 entries (env, storage, endpoints, CDI devices
   and netDevices) through validation and config generation, which took
   minutes (or ran out of memory) before duplicate checks were sorted,
   env replacement was settled in one pass and error lists were capped at
   100 per stage.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bundle/build.h"
#include "cdi/cdi.h"
#include "oci/image_config.h"
#include "spec/spec.h"
#include "yaml/yaml.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/strv.h"

#define MiB (1024u * 1024u)

struct fx
{
  char dir[64];
  struct za_err *err;
  struct za_arena arena;
  struct za_spec *spec;
  struct za_cdi_file *cdi;
  struct za_image_config *ic;
  char *buf; /* a generated document */
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  if (!f)
    return -1;
  strcpy (f->dir, "/tmp/za-limits-XXXXXX");
  if (!mkdtemp (f->dir))
    {
      free (f);
      return -1;
    }
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  struct za_err *e = NULL;
  int r = za_rm_rf_at (AT_FDCWD, f->dir, &e);
  za_err_free (&e);
  za_err_free (&f->err);
  za_arena_release (&f->arena);
  za_spec_free (f->spec);
  za_cdi_file_free (f->cdi);
  za_image_config_free (f->ic);
  free (f->buf);
  free (f);
  return r;
}

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* The chain is exactly one input error that formats as WANT.  */
static void
expect_one (const struct za_err *e, const char *want)
{
  char *got;
  if (!e)
    fail_msg ("no error, want: %s", want);
  got = za_err_format (e);
  assert_non_null (got);
  if (strcmp (got, want) != 0 || e->next)
    {
      fprintf (stderr, "got:  %s%s\nwant: %s\n", got, e->next ? " (and more)" : "", want);
      free (got);
      fail ();
    }
  free (got);
  assert_int_equal (e->code, ZA_EINPUT);
}

/* A malloc'd string of LEN bytes: PREFIX, then FILL up to LEN - strlen
   (SUFFIX), then SUFFIX.  */
static char *
make (const char *prefix, char fill, size_t len, const char *suffix)
{
  size_t p = strlen (prefix), s = strlen (suffix);
  char *b = malloc (len + 1);
  assert_non_null (b);
  assert_true (p + s <= len);
  memcpy (b, prefix, p);
  memset (b + p, fill, len - p - s);
  memcpy (b + len - s, suffix, s);
  b[len] = '\0';
  return b;
}

static void
write_file (const char *path, const char *data, size_t len)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail_msg ("create %s: %s", path, strerror (errno));
  assert_int_equal (za_write_all (fd, data, len), 0);
  assert_int_equal (close (fd), 0);
}

static int
spec_parse (struct fx *f, const char *data, size_t len)
{
  za_spec_free (f->spec);
  f->spec = NULL;
  za_err_free (&f->err);
  return za_spec_parse ("limits.yaml", data, len, &f->spec, &f->err);
}

static int
cdi_parse (struct fx *f, const char *data, size_t len)
{
  za_cdi_file_free (f->cdi);
  f->cdi = NULL;
  za_err_free (&f->err);
  return za_cdi_file_parse ("vendor.yaml", data, len, 0, &f->cdi, &f->err);
}

static int
yaml_parse (struct fx *f, const char *data, size_t len, const struct za_yaml_limits *lim,
            struct za_node **root)
{
  za_arena_release (&f->arena);
  za_err_free (&f->err);
  return za_yaml_parse (&f->arena, "in.yaml", data, len, lim, root, &f->err);
}

/* "[[[…]]]" with DEPTH levels after PREFIX.  */
static char *
nested (const char *prefix, unsigned depth)
{
  size_t p = strlen (prefix);
  char *b = malloc (p + 2 * depth + 2);
  assert_non_null (b);
  memcpy (b, prefix, p);
  memset (b + p, '[', depth);
  memset (b + p + depth, ']', depth);
  strcpy (b + p + 2 * depth, "\n");
  return b;
}

/* ---- depth ---------------------------------------------------------- */

static void
test_depth_spec (void **state)
{
  struct fx *f = *state;
  char doc[8192];
  size_t o = 0;

  /* flow: the 65th collection (the root mapping is the first) is the
     64th bracket, column 67 of "a: [[[…" */
  f->buf = nested ("a: ", 64);
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), -1);
  expect_one (f->err, "limits.yaml:1:67: document nested deeper than the limit");
  assert_null (f->spec);

  /* block: k0 … k64, each mapping two columns deeper; the 65th mapping
     starts at line 65, column 129 */
  for (int i = 0; i <= 64; i++)
    o += (size_t) snprintf (doc + o, sizeof doc - o, "%*sk%d:\n", 2 * i, "", i);
  o += (size_t) snprintf (doc + o, sizeof doc - o, "%*sleaf: 1\n", 2 * 65, "");
  assert_true (o < sizeof doc);
  assert_int_equal (spec_parse (f, doc, o), -1);
  expect_one (f->err, "limits.yaml:65:129: document nested deeper than the limit");
}

static void
test_depth_exactly_64_is_fine (void **state)
{
  struct fx *f = *state;
  struct za_node *root = NULL;
  f->buf = nested ("", 64);
  assert_int_equal (yaml_parse (f, f->buf, strlen (f->buf), NULL, &root), 0);
  assert_null (f->err);
  assert_non_null (root);
  free (f->buf);
  f->buf = nested ("", 65);
  assert_int_equal (yaml_parse (f, f->buf, strlen (f->buf), NULL, &root), -1);
  expect_one (f->err, "in.yaml:1:65: document nested deeper than the limit");
  assert_null (root);
}

static void
test_depth_cdi (void **state)
{
  struct fx *f = *state;
  f->buf = nested ("cdiVersion: 0.6.0\nkind: vendor.com/class\ndevices: ", 70);
  assert_int_equal (cdi_parse (f, f->buf, strlen (f->buf)), -1);
  /* root mapping + 64 brackets; the 65th bracket (column 73) is one too many */
  expect_one (f->err, "vendor.yaml:3:73: document nested deeper than the limit");
  assert_null (f->cdi);
}

/* ---- node count after alias expansion ("billion laughs") ----------- */

/* Ten levels of ten aliases: 10^10 nodes once expanded.  */
static char *
laughs (const char *prefix)
{
  size_t cap = 4096, o = strlen (prefix);
  char *b = malloc (cap);
  assert_non_null (b);
  memcpy (b, prefix, o);
  o += (size_t) snprintf (b + o, cap - o, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
  for (int i = 1; i < 10; i++)
    {
      o += (size_t) snprintf (b + o, cap - o, "l%d: &l%d [", i, i);
      for (int j = 0; j < 10; j++)
        o += (size_t) snprintf (b + o, cap - o, "%s*l%d", j ? ", " : "", i - 1);
      o += (size_t) snprintf (b + o, cap - o, "]\n");
    }
  assert_true (o < cap);
  return b;
}

/* The root mapping, 5 keys and l0..l4 (11 + 111 + … + 111111 nodes) make
   123471; l5's key and sequence 123473; each *l4 adds 111111, so the 8th
   alias of l5 (line 6, column 10 + 7 * 5 = 45) crosses 1,000,000.  */
static void
test_billion_laughs_spec (void **state)
{
  struct fx *f = *state;
  double t0, secs;
  f->buf = laughs ("");
  t0 = now ();
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), -1);
  secs = now () - t0;
  expect_one (f->err, "limits.yaml:6:45: document too large: more than the limit of nodes "
                      "(aliases are counted expanded)");
  if (secs > 1.0)
    fail_msg ("billion laughs took %.3f s", secs);
}

static void
test_billion_laughs_cdi (void **state)
{
  struct fx *f = *state;
  double t0, secs;
  /* two more entries (4 nodes) and lines before the laughs: l5 is on
     line 8, and its 8th alias still crosses the limit */
  f->buf = laughs ("cdiVersion: 0.6.0\nkind: vendor.com/class\n");
  t0 = now ();
  assert_int_equal (cdi_parse (f, f->buf, strlen (f->buf)), -1);
  secs = now () - t0;
  expect_one (f->err, "vendor.yaml:8:45: document too large: more than the limit of nodes "
                      "(aliases are counted expanded)");
  if (secs > 1.0)
    fail_msg ("billion laughs took %.3f s", secs);
}

/* ---- input size ----------------------------------------------------- */

static void
test_input_size_spec (void **state)
{
  struct fx *f = *state;
  char path[128];

  /* 16 MiB + 1: rejected before libyaml sees a byte */
  f->buf = make ("#", 'x', 16 * MiB + 1, "\n");
  assert_int_equal (spec_parse (f, f->buf, 16 * MiB + 1), -1);
  expect_one (f->err, "limits.yaml:1:1: input is larger than the limit of 16777216 bytes");

  /* exactly 16 MiB gets past the limit (a comment: the document is empty) */
  f->buf[16 * MiB - 1] = '\n';
  assert_int_equal (spec_parse (f, f->buf, 16 * MiB), -1);
  expect_one (f->err, "limits.yaml:1:1: the document is empty (expected a deployment spec mapping)");

  /* the file loader stops reading at the same size */
  snprintf (path, sizeof path, "%s/big.yaml", f->dir);
  write_file (path, f->buf, 16 * MiB + 1);
  za_err_free (&f->err);
  assert_int_equal (za_spec_load_file (path, &f->spec, &f->err), -1);
  {
    char want[256];
    snprintf (want, sizeof want, "%s: file is larger than the limit of 16777216 bytes", path);
    expect_one (f->err, want);
  }
  assert_null (f->spec);
}

static void
test_input_size_cdi (void **state)
{
  struct fx *f = *state;
  char path[128], want[256];

  snprintf (path, sizeof path, "%s/big.yaml", f->dir);
  f->buf = make ("#", 'x', 4 * MiB + 1, "\n");
  write_file (path, f->buf, 4 * MiB + 1);
  assert_int_equal (za_cdi_file_load (path, 0, &f->cdi, &f->err), -1);
  snprintf (want, sizeof want, "%s: file is larger than the limit of 4194304 bytes", path);
  expect_one (f->err, want);
  assert_null (f->cdi);

  /* 4 MiB exactly is read (and is then an empty spec) */
  f->buf[4 * MiB - 1] = '\n';
  write_file (path, f->buf, 4 * MiB);
  za_err_free (&f->err);
  assert_int_equal (za_cdi_file_load (path, 0, &f->cdi, &f->err), -1);
  snprintf (want, sizeof want, "%s:1:1: failed to parse CDI Spec, no Spec data", path);
  expect_one (f->err, want);
}

static void
test_input_size_image_config (void **state)
{
  struct fx *f = *state;
  char path[128], want[256];

  snprintf (path, sizeof path, "%s/config.json", f->dir);
  f->buf = make ("{\"config\":{\"User\":\"1\"}}", ' ', 8 * MiB + 1, "\n");
  write_file (path, f->buf, 8 * MiB + 1);
  assert_int_equal (za_image_config_load_file (path, &f->ic, &f->err), -1);
  snprintf (want, sizeof want, "%s: file is larger than the limit of 8388608 bytes", path);
  expect_one (f->err, want);
  assert_null (f->ic);

  /* 8 MiB exactly loads */
  write_file (path, f->buf, 8 * MiB);
  za_err_free (&f->err);
  assert_int_equal (za_image_config_load_file (path, &f->ic, &f->err), 0);
  assert_null (f->err);
  assert_string_equal (f->ic->user, "1");
}

/* JSON nesting: jansson's parser stops at depth 2048.  */
static void
test_depth_image_config (void **state)
{
  struct fx *f = *state;
  size_t n = 3000;
  char *doc = malloc (2 * n + 1);
  assert_non_null (doc);
  memset (doc, '[', n);
  memset (doc + n, ']', n);
  doc[2 * n] = '\0';
  f->buf = doc;
  assert_int_equal (za_image_config_parse ("config.json", doc, 2 * n, &f->ic, &f->err), -1);
  expect_one (f->err, "config.json:1:2049: invalid image config JSON: maximum parsing depth reached near '['");
  assert_null (f->ic);
}

/* ---- scalar length -------------------------------------------------- */

#define SPEC_HEAD "version: v1\ndeployment: big-scalar\nservices:\n  web:\n    image:\n      name: nginx\n    env:\n      A: "

static void
test_scalar_length_spec (void **state)
{
  struct fx *f = *state;
  size_t head = strlen (SPEC_HEAD);

  /* a value of 1 MiB + 1 bytes at line 8, column 10 */
  f->buf = make (SPEC_HEAD, 'v', head + MiB + 1 + 1, "\n");
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), -1);
  expect_one (f->err, "limits.yaml:8:10: scalar longer than the limit");

  /* exactly 1 MiB is fine */
  free (f->buf);
  f->buf = make (SPEC_HEAD, 'v', head + MiB + 1, "\n");
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), 0);
  assert_null (f->err);
  {
    const struct za_service *svc = f->spec->d.services.v[0].val;
    assert_int_equal (svc->env.n, 1);
    assert_int_equal (strlen (svc->env.v[0].val.s), MiB);
  }
}

static void
test_scalar_length_quoted_and_keys (void **state)
{
  struct fx *f = *state;
  struct za_node *root = NULL;
  /* a double-quoted scalar counts its decoded length: 2^19 "\x41\x41"
     escapes are 4 MiB of text but exactly 1 MiB of value */
  size_t reps = MiB / 2;
  char *b = malloc (reps * 8 + 16), *p = b;
  assert_non_null (b);
  p += sprintf (p, "a: \"");
  for (size_t i = 0; i < reps; i++)
    p += sprintf (p, "\\x41\\x41");
  p += sprintf (p, "\"\n");
  f->buf = b;
  assert_int_equal (yaml_parse (f, b, (size_t) (p - b), NULL, &root), 0);
  assert_int_equal (root->items[1]->len, MiB);
  /* one more character and it is too long */
  memcpy (p - 2, "x\"\n", 4);
  assert_int_equal (yaml_parse (f, b, (size_t) (p + 1 - b), NULL, &root), -1);
  expect_one (f->err, "in.yaml:1:4: scalar longer than the limit");

  /* keys are scalars too (a CDI file this time; an implicit key is
     limited to 1024 characters by YAML itself, so an explicit one) */
  free (f->buf);
  f->buf = make ("cdiVersion: 0.6.0\n? ", 'k', 20 + MiB + 1 + 5, "\n: 1\n");
  assert_int_equal (cdi_parse (f, f->buf, strlen (f->buf)), -1);
  expect_one (f->err, "vendor.yaml:2:3: scalar longer than the limit");
}

/* ---- sequence length ------------------------------------------------ */

/* "a: [1, 1, …]" with N items.  */
static char *
flow_list (const char *prefix, size_t n)
{
  size_t p = strlen (prefix);
  char *b = malloc (p + 3 * n + 8), *q;
  assert_non_null (b);
  memcpy (b, prefix, p);
  q = b + p;
  *q++ = '[';
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        *q++ = ',', *q++ = ' ';
      *q++ = '1';
    }
  strcpy (q, "]\n");
  return b;
}

static void
test_sequence_length_yaml (void **state)
{
  struct fx *f = *state;
  struct za_node *root = NULL;
  struct za_yaml_limits lim = za_yaml_default_limits;

  assert_int_equal (za_yaml_default_limits.max_seq, 100000);

  /* 100000 items are fine */
  f->buf = flow_list ("a: ", 100000);
  assert_int_equal (yaml_parse (f, f->buf, strlen (f->buf), NULL, &root), 0);
  assert_int_equal (root->items[1]->n, 100000);

  /* item 100001 (column 5 + 3 * 100000) is one too many */
  free (f->buf);
  f->buf = flow_list ("a: ", 100001);
  assert_int_equal (yaml_parse (f, f->buf, strlen (f->buf), NULL, &root), -1);
  expect_one (f->err, "in.yaml:1:300005: sequence longer than the limit of 100000 items");
  assert_null (root);

  /* block sequences: the item's own line */
  free (f->buf);
  f->buf = malloc (4 * 100001 + 1);
  assert_non_null (f->buf);
  for (size_t i = 0; i < 100001; i++)
    memcpy (f->buf + 4 * i, "- x\n", 4);
  f->buf[4 * 100001] = '\0';
  assert_int_equal (yaml_parse (f, f->buf, 4 * 100001, NULL, &root), -1);
  expect_one (f->err, "in.yaml:100001:3: sequence longer than the limit of 100000 items");

  /* a custom limit; aliases and nested collections are items too; a
     mapping is not limited by it */
  lim.max_seq = 3;
  {
    const char *ok = "x: &x [1, 2, 3]\ny: [*x, [a], {b: c}]\nz: {a: 1, b: 2, c: 3, d: 4}\n";
    const char *bad1 = "x: &x 1\ny: [*x, *x, *x, *x]\n";
    const char *bad2 = "y: [1, 2, 3, [4]]\n";
    const char *bad3 = "y: [1, 2, 3, {a: b}]\n";
    assert_int_equal (yaml_parse (f, ok, strlen (ok), &lim, &root), 0);
    assert_int_equal (yaml_parse (f, bad1, strlen (bad1), &lim, &root), -1);
    expect_one (f->err, "in.yaml:2:17: sequence longer than the limit of 3 items");
    assert_int_equal (yaml_parse (f, bad2, strlen (bad2), &lim, &root), -1);
    expect_one (f->err, "in.yaml:1:14: sequence longer than the limit of 3 items");
    assert_int_equal (yaml_parse (f, bad3, strlen (bad3), &lim, &root), -1);
    expect_one (f->err, "in.yaml:1:14: sequence longer than the limit of 3 items");
  }
  /* 0 means the default */
  lim.max_seq = 0;
  assert_int_equal (yaml_parse (f, f->buf, 4 * 100000, &lim, &root), 0);
  assert_int_equal (root->n, 100000);
}

static void
test_sequence_length_spec_and_cdi (void **state)
{
  struct fx *f = *state;
  f->buf = flow_list ("version: v1\ndeployment: long-list\nservices:\n  web:\n    image:\n      name: nginx\n"
                      "    command:\n      args: ",
                      100001);
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), -1);
  expect_one (f->err, "limits.yaml:8:300014: sequence longer than the limit of 100000 items");

  free (f->buf);
  f->buf = flow_list ("cdiVersion: 0.6.0\nkind: vendor.com/class\ncontainerEdits:\n  env: ", 100001);
  assert_int_equal (cdi_parse (f, f->buf, strlen (f->buf)), -1);
  expect_one (f->err, "vendor.yaml:4:300009: sequence longer than the limit of 100000 items");
}

/* ---- nothing quadratic within the limits ---------------------------- */

/* Generous: each of these took minutes before; now well under a second
   (a few under ASan on a loaded machine).  */
#ifdef __SANITIZE_ADDRESS__
#define QUICK 30.0
#else
#define QUICK 10.0
#endif

#define BIG_HEAD "version: v1\ndeployment: big-lists\nservices:\n  web:\n    image:\n      name: nginx\n"

/* BIG_HEAD, then SECTION, then N lines of FMT (with %zu = the index).  */
static char *
big_spec (const char *section, const char *fmt, size_t n)
{
  char *b = NULL;
  size_t len = 0;
  FILE *m = open_memstream (&b, &len);
  assert_non_null (m);
  fputs (BIG_HEAD, m);
  fputs (section, m);
  for (size_t i = 0; i < n; i++)
    fprintf (m, fmt, i);
  assert_int_equal (fclose (m), 0);
  return b;
}

static struct za_build_opts
build_opts (struct fx *f)
{
  struct za_build_opts o = { 0 };
  o.replica = 1;
  o.rootless = 0;
  o.host.root = f->dir; /* empty: no devices, no cgroup files */
  setenv ("ZLAYER_CGROUP_PARENT", "/zagent-limits", 1);
  return o;
}

/* The last line of chain E, formatted, is LAST.  */
static void
expect_last (const struct za_err *e, const char *last)
{
  char *m;
  assert_non_null (e);
  while (e->next)
    e = e->next;
  m = za_err_format (e);
  assert_non_null (m);
  if (strcmp (m, last) != 0)
    fail_msg ("last error: %s\nwant: %s", m, last);
  free (m);
}

static void
expect_count (const struct za_err *e, size_t n, const char *first)
{
  char *m;
  assert_int_equal (za_err_count (e), n);
  m = za_err_format (e);
  assert_non_null (m);
  if (strcmp (m, first) != 0)
    fail_msg ("first error: %s\nwant: %s", m, first);
  free (m);
}

static void
test_env_100k_entries (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = build_opts (f);
  struct za_build_result r;
  struct za_image_config *ic = NULL;
  json_t *env;
  double t0, secs;
  const char *cfg = "{\"config\":{\"Env\":[\"K000007=image\",\"X=1\",\"X=2\",\"K099999=image\"]}}";

  assert_int_equal (za_image_config_parse ("c.json", cfg, strlen (cfg), &ic, &f->err), 0);
  o.image = ic;
  f->buf = big_spec ("    env:\n", "      K%06zu: v\n", 100000);
  t0 = now ();
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), 0);
  assert_int_equal (za_spec_validate (f->spec, &f->err), 0);
  assert_int_equal (za_build_config (f->spec, f->spec->d.services.v[0].val, &o, &r, &f->err), 0);
  secs = now () - t0;
  /* image X=1 X=2 (kept: nothing replaces them), PATH, TERM, then the
     spec's 100000 in document order; K000007 and K099999 replaced */
  env = json_object_get (json_object_get (r.config, "process"), "env");
  assert_int_equal (json_array_size (env), 100004);
  assert_string_equal (json_string_value (json_array_get (env, 0)), "X=1");
  assert_string_equal (json_string_value (json_array_get (env, 1)), "X=2");
  assert_string_equal (json_string_value (json_array_get (env, 2)),
                       "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  assert_string_equal (json_string_value (json_array_get (env, 3)), "TERM=xterm");
  assert_string_equal (json_string_value (json_array_get (env, 4)), "K000000=v");
  assert_string_equal (json_string_value (json_array_get (env, 11)), "K000007=v");
  assert_string_equal (json_string_value (json_array_get (env, 100003)), "K099999=v");
  za_build_result_clear (&r);
  za_image_config_free (ic);
  if (secs > QUICK)
    fail_msg ("100000 env entries took %.3f s", secs);
}

static void
test_env_settle_semantics (void **state)
{
  struct za_strv env = { 0 };
  (void) state;
  /* as za_env_replace for each entry from index 4 on */
  const char *in[] = { "A=1", "B=1", "A=2", "C", "B=new", "D=1", "C=x", "D=2", NULL };
  for (size_t i = 0; in[i]; i++)
    assert_int_equal (za_strv_push (&env, in[i]), 0);
  assert_int_equal (za_env_settle (&env, 4), 0);
  assert_int_equal (env.n, 5);
  assert_string_equal (env.v[0], "A=1");
  assert_string_equal (env.v[1], "A=2");
  assert_string_equal (env.v[2], "B=new");
  assert_string_equal (env.v[3], "C=x");
  assert_string_equal (env.v[4], "D=2");
  assert_null (env.v[5]);
  assert_int_equal (za_env_settle (&env, 5), 0); /* nothing appended */
  assert_int_equal (env.n, 5);
  za_strv_clear (&env);
}

static void
test_storage_100k_anonymous (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = build_opts (f);
  struct za_build_result r;
  struct za_volume vol = { "_anon_a_b", "/srv/ab" };
  double t0, secs;
  const char *three = BIG_HEAD "    storage:\n"
                               "      - {type: anonymous, target: /a/b}\n"
                               "      - {type: anonymous, target: /a_b}\n"
                               "      - {type: anonymous, target: //a/b}\n";

  /* one error per later target, naming the first */
  o.volumes = &vol;
  o.nvolumes = 1;
  assert_int_equal (spec_parse (f, three, strlen (three)), 0);
  assert_int_equal (za_build_config (f->spec, f->spec->d.services.v[0].val, &o, &r, &f->err), -1);
  expect_count (f->err, 2,
                "limits.yaml:9:35: services.web.storage[1]: anonymous volume targets `/a/b` and `/a_b` "
                "map to the same volume key `_anon_a_b`");
  assert_string_equal (f->err->next->msg,
                       "anonymous volume targets `/a/b` and `//a/b` map to the same volume key `_anon_a_b`");
  za_build_result_clear (&r);

  /* 100000 distinct targets, none prepared: 100 errors and a line for
     the rest, quickly; the same target 100000 times: each unprepared,
     all but the first colliding (199999 problems), the same */
  o.volumes = NULL;
  o.nvolumes = 0;
  f->buf = big_spec ("    storage:\n", "      - {type: anonymous, target: /a%zu}\n", 100000);
  t0 = now ();
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), 0);
  assert_int_equal (za_build_config (f->spec, f->spec->d.services.v[0].val, &o, &r, &f->err), -1);
  expect_count (f->err, 101,
                "limits.yaml:8:35: services.web.storage[0]: anonymous volume for '/a0' not prepared "
                "(pass --volume _anon_a0=PATH)");
  expect_last (f->err, "limits.yaml: 99900 more problems not shown");
  za_build_result_clear (&r);
  free (f->buf);
  f->buf = big_spec ("    storage:\n", "      - {type: anonymous, target: /same}\n", 100000);
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), 0);
  assert_int_equal (za_build_config (f->spec, f->spec->d.services.v[0].val, &o, &r, &f->err), -1);
  assert_int_equal (za_err_count (f->err), 101);
  expect_last (f->err, "limits.yaml: 199899 more problems not shown");
  za_build_result_clear (&r);
  secs = now () - t0;
  if (secs > QUICK)
    fail_msg ("100000 anonymous volumes took %.3f s", secs);
}

static void
test_endpoints_100k (void **state)
{
  struct fx *f = *state;
  double t0, secs;
  const char *dup = BIG_HEAD "    endpoints:\n"
                             "      - {name: a, protocol: http, port: 80}\n"
                             "      - {name: b, protocol: http, port: 81}\n"
                             "      - {name: a, protocol: http, port: 82}\n"
                             "      - {name: a, protocol: http, port: 83}\n";

  assert_int_equal (spec_parse (f, dup, strlen (dup)), 0);
  assert_int_equal (za_spec_validate (f->spec, &f->err), -1);
  expect_count (f->err, 2, "limits.yaml:10:16: services.web.endpoints: duplicate endpoint 'a'");
  assert_int_equal (f->err->next->line, 11);

  t0 = now ();
  f->buf = big_spec ("    endpoints:\n", "      - {name: e%zu, protocol: http, port: 80}\n", 100000);
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), 0);
  assert_int_equal (za_spec_validate (f->spec, &f->err), 0);
  assert_null (f->err);
  /* all invalid: 100 reported, then one line for the rest (each has
     port 0, all but the first a duplicate name: 199999 problems) */
  free (f->buf);
  f->buf = big_spec ("    endpoints:\n", "      - {name: e, protocol: http, port: 0}\n", 100000);
  assert_int_equal (spec_parse (f, f->buf, strlen (f->buf)), 0);
  assert_int_equal (za_spec_validate (f->spec, &f->err), -1);
  expect_count (f->err, 101, "limits.yaml:8:41: services.web.endpoints[0].port: port must be between 1-65535");
  expect_last (f->err, "limits.yaml: 199899 more problems not shown");
  secs = now () - t0;
  if (secs > QUICK)
    fail_msg ("100000 endpoints took %.3f s", secs);
}

static void
test_cdi_100k_devices (void **state)
{
  struct fx *f = *state;
  char *b = NULL;
  size_t len = 0;
  FILE *m;
  double t0, secs;
  /* netDevices need cdiVersion 1.1.0 */
  const char *dup = "cdiVersion: 1.1.0\nkind: vendor.com/class\ndevices:\n"
                    "- {name: a, containerEdits: {env: [A=1]}}\n"
                    "- {name: a, containerEdits: {env: [A=1]}}\n"
                    "- {name: a, containerEdits: {env: [A=1]}}\n"
                    "containerEdits:\n  netDevices:\n"
                    "  - {hostInterfaceName: h, name: n1}\n"
                    "  - {hostInterfaceName: h, name: n2}\n"
                    "  - {hostInterfaceName: h, name: n2}\n";

  assert_int_equal (cdi_parse (f, dup, strlen (dup)), -1);
  expect_count (f->err, 5, "vendor.yaml:10:25: duplicate netDevice hostInterfaceName \"h\"");
  assert_string_equal (f->err->next->next->msg, "duplicate netDevice name \"n2\"");
  assert_string_equal (f->err->next->next->next->msg, "invalid spec, multiple device \"a\"");
  assert_int_equal (f->err->next->next->next->line, 5);
  assert_int_equal (f->err->next->next->next->next->line, 6);

  t0 = now ();
  m = open_memstream (&b, &len);
  assert_non_null (m);
  fputs ("cdiVersion: 1.1.0\nkind: vendor.com/class\ncontainerEdits:\n  netDevices:\n", m);
  for (size_t i = 0; i < 50000; i++)
    fprintf (m, "  - {hostInterfaceName: h%zu, name: n%zu}\n", i, i);
  fputs ("devices:\n", m);
  for (size_t i = 0; i < 50000; i++)
    fprintf (m, "- {name: d%zu, containerEdits: {env: [A=1]}}\n", i);
  assert_int_equal (fclose (m), 0);
  f->buf = b;
  assert_int_equal (cdi_parse (f, b, len), 0);
  assert_null (f->err);
  assert_int_equal (f->cdi->spec.devices.n, 50000);
  secs = now () - t0;
  if (secs > QUICK)
    fail_msg ("50000 CDI devices and netDevices took %.3f s", secs);
}

static void
test_gpu_count_bounded (void **state)
{
  struct fx *f = *state;
  struct za_build_opts o = build_opts (f);
  struct za_build_result r;
  double t0 = now (), secs;
  /* an unknown vendor is passed through as renderD128+i for each of
     COUNT GPUs: 4294967295 of them never finished (found by fuzz_spec) */
  const char *doc = BIG_HEAD "    resources:\n      gpu: {count: 4294967295, vendor: acme}\n";

  assert_int_equal (spec_parse (f, doc, strlen (doc)), 0);
  assert_int_equal (za_spec_validate (f->spec, &f->err), -1);
  expect_count (f->err, 1,
                "limits.yaml:8:20: services.web.resources.gpu.count: GPU count 4294967295 is more than any "
                "host has (at most 1024)");
  za_err_free (&f->err);
  /* the config generator refuses it too (it may be called unvalidated) */
  assert_int_equal (za_build_config (f->spec, f->spec->d.services.v[0].val, &o, &r, &f->err), -1);
  expect_count (f->err, 1,
                "limits.yaml:8:20: services.web.resources.gpu: requested 4294967295 GPUs; at most 1024 can be "
                "passed through");
  za_build_result_clear (&r);
  secs = now () - t0;
  if (secs > QUICK)
    fail_msg ("gpu count 4294967295 took %.3f s", secs);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_depth_spec),
    T (test_depth_exactly_64_is_fine),
    T (test_depth_cdi),
    T (test_billion_laughs_spec),
    T (test_billion_laughs_cdi),
    T (test_input_size_spec),
    T (test_input_size_cdi),
    T (test_input_size_image_config),
    T (test_depth_image_config),
    T (test_scalar_length_spec),
    T (test_scalar_length_quoted_and_keys),
    T (test_sequence_length_yaml),
    T (test_sequence_length_spec_and_cdi),
    T (test_env_100k_entries),
    T (test_env_settle_semantics),
    T (test_storage_100k_anonymous),
    T (test_endpoints_100k),
    T (test_cdi_100k_devices),
    T (test_gpu_count_bounded),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
