/* Unit tests for spec/yaml.c: the libyaml event stream turned into a node
   tree with 1-based marks, the plain/quoted flag, shared alias nodes, and
   the limits that turn hostile input into an input error.  */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "yaml/yaml.h"
#include "util/arena.h"
#include "util/err.h"

/* One parse per test: the arena and the error chain live in a fixture so
   a failing assertion still frees them in teardown.  */
struct fx
{
  struct za_arena arena;
  struct za_err *err;
  struct za_node *root;
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  if (!f)
    return -1;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  za_arena_release (&f->arena);
  za_err_free (&f->err);
  free (f);
  return 0;
}

static int
parse_lim (struct fx *f, const char *text, size_t len, const struct za_yaml_limits *lim)
{
  za_arena_release (&f->arena);
  za_err_free (&f->err);
  f->root = (struct za_node *) 0x1; /* must be reset by the parser */
  return za_yaml_parse (&f->arena, "in.yaml", text, len, lim, &f->root, &f->err);
}

static int
parse (struct fx *f, const char *text)
{
  return parse_lim (f, text, strlen (text), NULL);
}

#define PARSE_OK(f, text)                                                          \
  do                                                                               \
    {                                                                              \
      if (parse (f, text) != 0)                                                    \
        fail_msg ("parse failed: %s", (f)->err ? (f)->err->msg : "(no error)");    \
      assert_null ((f)->err);                                                      \
    }                                                                              \
  while (0)

/* Exactly one input error with this message at LINE:COL, file "in.yaml",
   no path, and a NULL root.  */
static void
expect_error (struct fx *f, const char *msg, unsigned line, unsigned col)
{
  assert_non_null (f->err);
  assert_int_equal (za_err_count (f->err), 1);
  assert_int_equal (f->err->code, ZA_EINPUT);
  assert_string_equal (f->err->msg, msg);
  assert_string_equal (f->err->file, "in.yaml");
  assert_null (f->err->path);
  assert_int_equal (f->err->line, line);
  assert_int_equal (f->err->col, col);
}

static const struct za_node *
map_get (const struct za_node *m, const char *key)
{
  assert_int_equal (m->type, ZA_NODE_MAP);
  for (size_t i = 0; i < m->n; i++)
    if (strcmp (za_map_key (m, i)->value, key) == 0)
      return za_map_val (m, i);
  fail_msg ("key `%s` not found", key);
  return NULL;
}

static void
assert_mark (const struct za_node *n, unsigned line, unsigned col)
{
  if (n->mark.line != line || n->mark.col != col)
    fail_msg ("mark %u:%u, want %u:%u", n->mark.line, n->mark.col, line, col);
}

/* ---- tree shape and marks ----------------------------------------- */

static void
test_yaml_marks_are_one_based (void **state)
{
  struct fx *f = *state;
  const struct za_node *b, *x;
  PARSE_OK (f, "a: 1\n"
               "b:\n"
               "  - x\n"
               "  - 'y'\n"
               "c: {k: v}\n");
  assert_non_null (f->root);
  assert_int_equal (f->root->type, ZA_NODE_MAP);
  assert_int_equal (f->root->n, 3);
  assert_mark (f->root, 1, 1);
  assert_mark (za_map_key (f->root, 0), 1, 1);
  assert_string_equal (za_map_key (f->root, 0)->value, "a");
  assert_mark (za_map_val (f->root, 0), 1, 4);
  assert_string_equal (za_map_val (f->root, 0)->value, "1");
  assert_int_equal (za_map_val (f->root, 0)->len, 1);
  assert_mark (za_map_key (f->root, 1), 2, 1);
  b = map_get (f->root, "b");
  assert_int_equal (b->type, ZA_NODE_SEQ);
  assert_int_equal (b->n, 2);
  assert_mark (b, 3, 3);
  assert_mark (b->items[0], 3, 5);
  assert_string_equal (b->items[0]->value, "x");
  assert_mark (b->items[1], 4, 5); /* the opening quote */
  assert_string_equal (b->items[1]->value, "y");
  x = map_get (f->root, "c");
  assert_int_equal (x->type, ZA_NODE_MAP);
  assert_mark (x, 5, 4);
  assert_mark (za_map_key (x, 0), 5, 5);
  assert_mark (za_map_val (x, 0), 5, 8);
  /* weight: root + 3 keys + 1 + (seq + 2) + (map + 2) */
  assert_int_equal (f->root->weight, 1 + 3 + 1 + 3 + 3);
}

static void
test_yaml_document_order_kept (void **state)
{
  struct fx *f = *state;
  static const char *const keys[] = { "zeta", "alpha", "mid", "beta" };
  PARSE_OK (f, "zeta: 1\nalpha: 2\nmid: 3\nbeta: 4\n");
  assert_int_equal (f->root->n, 4);
  for (size_t i = 0; i < 4; i++)
    assert_string_equal (za_map_key (f->root, i)->value, keys[i]);
}

static void
test_yaml_plain_vs_quoted (void **state)
{
  struct fx *f = *state;
  PARSE_OK (f, "p: 123\n"
               "s: '123'\n"
               "d: \"123\"\n"
               "l: |\n"
               "  text\n"
               "g: >\n"
               "  folded\n"
               "e:\n"
               "t: !!str 5\n");
  assert_true (map_get (f->root, "p")->plain);
  assert_null (map_get (f->root, "p")->tag);
  assert_false (map_get (f->root, "s")->plain);
  assert_string_equal (map_get (f->root, "s")->value, "123");
  assert_false (map_get (f->root, "d")->plain);
  assert_false (map_get (f->root, "l")->plain);
  assert_string_equal (map_get (f->root, "l")->value, "text\n");
  assert_mark (map_get (f->root, "l"), 4, 4);
  assert_false (map_get (f->root, "g")->plain);
  assert_string_equal (map_get (f->root, "g")->value, "folded\n");
  /* an empty value is a plain empty scalar */
  assert_true (map_get (f->root, "e")->plain);
  assert_string_equal (map_get (f->root, "e")->value, "");
  assert_int_equal (map_get (f->root, "e")->len, 0);
  assert_true (map_get (f->root, "t")->plain);
  assert_string_equal (map_get (f->root, "t")->tag, "tag:yaml.org,2002:str");
  /* all keys are plain */
  for (size_t i = 0; i < f->root->n; i++)
    assert_true (za_map_key (f->root, i)->plain);
}

static void
test_yaml_scalar_with_nul_keeps_length (void **state)
{
  struct fx *f = *state;
  const struct za_node *v;
  PARSE_OK (f, "k: \"a\\0b\"\n");
  v = map_get (f->root, "k");
  assert_int_equal (v->len, 3);
  assert_int_equal (v->value[0], 'a');
  assert_int_equal (v->value[1], '\0');
  assert_int_equal (v->value[2], 'b');
  assert_int_equal (v->value[3], '\0');
}

static void
test_yaml_aliases_share_nodes (void **state)
{
  struct fx *f = *state;
  const struct za_node *a, *b, *c, *s1, *s2;
  PARSE_OK (f, "a: &x {k: v, j: [1, 2]}\n"
               "b: *x\n"
               "c: *x\n"
               "s1: &s hello\n"
               "s2: *s\n");
  a = map_get (f->root, "a");
  b = map_get (f->root, "b");
  c = map_get (f->root, "c");
  assert_ptr_equal (a, b);
  assert_ptr_equal (a, c);
  assert_int_equal (a->weight, 1 + 2 + 1 + 3);
  /* the shared subtree is counted once per use */
  assert_int_equal (f->root->weight, 1 + 5 + 3 * a->weight + 2);
  s1 = map_get (f->root, "s1");
  s2 = map_get (f->root, "s2");
  assert_ptr_equal (s1, s2);
  assert_string_equal (s2->value, "hello");
}

static void
test_yaml_anchor_redefinition_shadows (void **state)
{
  struct fx *f = *state;
  PARSE_OK (f, "a: &x first\nb: &x second\nc: *x\n");
  assert_ptr_equal (map_get (f->root, "c"), map_get (f->root, "b"));
  assert_string_equal (map_get (f->root, "c")->value, "second");
}

static void
test_yaml_unknown_anchor_rejected (void **state)
{
  struct fx *f = *state;
  assert_int_equal (parse (f, "a: 1\nb: *nope\n"), -1);
  /* libyaml itself rejects undefined aliases only in its loader; here the
     builder reports it at the alias */
  expect_error (f, "unknown anchor", 2, 4);
  assert_null (f->root);
}

static void
test_yaml_recursive_alias_rejected (void **state)
{
  struct fx *f = *state;
  assert_int_equal (parse (f, "a: &x\n  - 1\n  - *x\n"), -1);
  expect_error (f, "recursive alias", 3, 5);
  assert_null (f->root);

  assert_int_equal (parse (f, "a: &m {self: *m}\n"), -1);
  expect_error (f, "recursive alias", 1, 14);
}

/* Nine levels of nine aliases: 9^9 (~387 million) nodes once expanded.
   It must be rejected while the tree is still small, not after expanding
   it (or hanging).  */
static void
test_yaml_billion_laughs_rejected_quickly (void **state)
{
  struct fx *f = *state;
  char doc[4096];
  size_t o = 0;
  struct timespec t0, t1;
  double secs;

  o += (size_t) snprintf (doc + o, sizeof doc - o, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
  for (int i = 1; i <= 8; i++)
    {
      o += (size_t) snprintf (doc + o, sizeof doc - o, "l%d: &l%d [", i, i);
      for (int j = 0; j < 9; j++)
        o += (size_t) snprintf (doc + o, sizeof doc - o, "%s*l%d", j ? ", " : "", i - 1);
      o += (size_t) snprintf (doc + o, sizeof doc - o, "]\n");
    }
  assert_true (o < sizeof doc - 1);

  clock_gettime (CLOCK_MONOTONIC, &t0);
  assert_int_equal (parse (f, doc), -1);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_non_null (f->err);
  assert_int_equal (za_err_count (f->err), 1);
  assert_int_equal (f->err->code, ZA_EINPUT);
  assert_string_equal (f->err->msg,
                       "document too large: more than the limit of nodes (aliases are counted expanded)");
  /* levels l0..l5 expand to 672603 nodes in all; the first alias of l6
     (line 7, 597871 more) crosses the default limit of 1000000 */
  assert_int_equal (f->err->line, 7);
  assert_int_equal (f->err->col, 10);
  assert_null (f->root);
  if (secs > 1.0)
    fail_msg ("billion laughs took %.3f s", secs);
}

static void
test_yaml_node_limit_counts_expanded_aliases (void **state)
{
  struct fx *f = *state;
  struct za_yaml_limits lim = za_yaml_default_limits;
  /* root map, 2 keys, seq of 3 scalars (4 nodes), alias to it (4 more) */
  const char *doc = "a: &x [1, 2, 3]\nb: *x\n";
  lim.max_nodes = 11;
  assert_int_equal (parse_lim (f, doc, strlen (doc), &lim), 0);
  assert_null (f->err);
  assert_int_equal (f->root->weight, 11);
  lim.max_nodes = 10;
  assert_int_equal (parse_lim (f, doc, strlen (doc), &lim), -1);
  expect_error (f, "document too large: more than the limit of nodes (aliases are counted expanded)", 2, 4);
}

static void
test_yaml_depth_limit (void **state)
{
  struct fx *f = *state;
  char doc[512];
  /* 200 nested flow lists: the 65th opening bracket (column 65) is one
     level deeper than the default limit of 64 */
  memset (doc, '[', 200);
  memset (doc + 200, ']', 200);
  doc[400] = '\n';
  doc[401] = '\0';
  assert_int_equal (parse (f, doc), -1);
  expect_error (f, "document nested deeper than the limit", 1, 65);
  assert_null (f->root);

  /* exactly 64 levels are fine */
  memset (doc, '[', 64);
  memset (doc + 64, ']', 64);
  doc[128] = '\0';
  PARSE_OK (f, doc);
  assert_int_equal (f->root->type, ZA_NODE_SEQ);
}

static void
test_yaml_depth_limit_custom (void **state)
{
  struct fx *f = *state;
  struct za_yaml_limits lim = za_yaml_default_limits;
  const char *doc = "a:\n  b:\n    c: 1\n";
  lim.max_depth = 3;
  assert_int_equal (parse_lim (f, doc, strlen (doc), &lim), 0);
  lim.max_depth = 2;
  assert_int_equal (parse_lim (f, doc, strlen (doc), &lim), -1);
  expect_error (f, "document nested deeper than the limit", 3, 5);
}

static void
test_yaml_multi_document_rejected (void **state)
{
  struct fx *f = *state;
  assert_int_equal (parse (f, "a: 1\n---\nb: 2\n"), -1);
  expect_error (f, "deserializing from YAML containing more than one document is not supported", 2, 1);
  assert_null (f->root);

  assert_int_equal (parse (f, "---\na: 1\n...\n---\nb: 2\n"), -1);
  expect_error (f, "deserializing from YAML containing more than one document is not supported", 4, 1);

  /* one explicit document is fine, with or without the end marker */
  PARSE_OK (f, "---\na: 1\n...\n");
  assert_int_equal (f->root->n, 1);
}

static void
test_yaml_syntax_error_unterminated_flow_seq (void **state)
{
  struct fx *f = *state;
  assert_int_equal (parse (f, "a: [1, 2\n"), -1);
  expect_error (f, "did not find expected ',' or ']' (while parsing a flow sequence started at 1:4)", 2, 1);
  assert_null (f->root);
}

static void
test_yaml_syntax_error_bad_indent (void **state)
{
  struct fx *f = *state;
  char *s;
  assert_int_equal (parse (f, "a: 1\n b: 2\n"), -1);
  assert_non_null (f->err);
  assert_int_equal (f->err->code, ZA_EINPUT);
  assert_int_equal (f->err->line, 2);
  assert_int_equal (f->err->col, 3);
  assert_string_equal (f->err->msg, "mapping values are not allowed in this context");
  s = za_err_format (f->err);
  assert_string_equal (s, "in.yaml:2:3: mapping values are not allowed in this context");
  free (s);
}

static void
test_yaml_syntax_error_unclosed_quote (void **state)
{
  struct fx *f = *state;
  assert_int_equal (parse (f, "a: \"open\nb: 2\n"), -1);
  expect_error (f, "found unexpected end of stream (while scanning a quoted scalar started at 1:4)", 3, 1);
}

/* A tab where YAML wants indentation: say so, at the tab (libyaml's
   "found character that cannot start any token" does not).  */
static void
test_yaml_tab_indent (void **state)
{
  struct fx *f = *state;
  assert_int_equal (parse (f, "a:\n\tb: 1\n"), -1);
  expect_error (f, "a tab character cannot indent YAML; use spaces", 2, 1);
  za_err_free (&f->err);
  /* after spaces and a multi-byte character: the column counts characters */
  assert_int_equal (parse (f, "\xc3\xa9:\n  b:\n  \tc: 1\n"), -1);
  expect_error (f, "a tab character cannot indent YAML; use spaces", 3, 3);
  za_err_free (&f->err);
  /* a tab inside a line (after a value, in flow) is fine */
  PARSE_OK (f, "a: 1\t\nb: [1,\t2]\n");
}

static void
test_yaml_empty_input (void **state)
{
  struct fx *f = *state;
  assert_int_equal (parse_lim (f, "", 0, NULL), 0);
  assert_null (f->root);
  assert_null (f->err);

  PARSE_OK (f, "# only a comment\n\n");
  assert_null (f->root);

  PARSE_OK (f, "   \n");
  assert_null (f->root);
}

static void
test_yaml_invalid_utf8_rejected (void **state)
{
  struct fx *f = *state;
  assert_int_equal (parse (f, "a: \xff\n"), -1);
  expect_error (f, "invalid leading UTF-8 octet", 1, 4);
  assert_null (f->root);

  /* the position is that of the offending octet, also on a later line:
     here the '(' that should have continued the 0xC3 lead byte */
  assert_int_equal (parse (f, "a: 1\nb: \"x\xc3\x28\"\n"), -1);
  expect_error (f, "invalid trailing UTF-8 octet", 2, 7);

  /* CRLF counts as one line break */
  assert_int_equal (parse (f, "a: 1\r\nb: 2\r\nc: \xfe\r\n"), -1);
  expect_error (f, "invalid leading UTF-8 octet", 3, 4);

  /* a multi-byte character before the bad byte counts as one column */
  assert_int_equal (parse (f, "k: \xc3\xa9\xff\n"), -1);
  expect_error (f, "invalid leading UTF-8 octet", 1, 5);

  /* valid UTF-8 passes through unchanged */
  PARSE_OK (f, "k: \"\xc3\xa9t\xc3\xa9\"\n");
  assert_string_equal (map_get (f->root, "k")->value, "\xc3\xa9t\xc3\xa9");
}

static void
test_yaml_limit_max_input (void **state)
{
  struct fx *f = *state;
  struct za_yaml_limits lim = za_yaml_default_limits;
  const char *doc = "key: value\n"; /* 11 bytes */
  lim.max_input = 10;
  assert_int_equal (parse_lim (f, doc, strlen (doc), &lim), -1);
  expect_error (f, "input is larger than the limit of 10 bytes", 1, 1);
  assert_null (f->root);
  lim.max_input = 11;
  assert_int_equal (parse_lim (f, doc, strlen (doc), &lim), 0);
  assert_string_equal (map_get (f->root, "key")->value, "value");
}

static void
test_yaml_limit_max_scalar (void **state)
{
  struct fx *f = *state;
  struct za_yaml_limits lim = za_yaml_default_limits;
  const char *doc = "a: abcd\nb: abcde\n";
  lim.max_scalar = 4;
  assert_int_equal (parse_lim (f, doc, strlen (doc), &lim), -1);
  expect_error (f, "scalar longer than the limit", 2, 4);
  assert_null (f->root);
  lim.max_scalar = 5;
  assert_int_equal (parse_lim (f, doc, strlen (doc), &lim), 0);
}

static void
test_yaml_default_limits (void **state)
{
  (void) state;
  assert_int_equal (za_yaml_default_limits.max_input, 16u << 20);
  assert_int_equal (za_yaml_default_limits.max_depth, 64);
  assert_int_equal (za_yaml_default_limits.max_nodes, 1000000);
  assert_int_equal (za_yaml_default_limits.max_scalar, 1u << 20);
}

static void
test_yaml_root_scalar_and_seq (void **state)
{
  struct fx *f = *state;
  PARSE_OK (f, "just text\n");
  assert_int_equal (f->root->type, ZA_NODE_SCALAR);
  assert_string_equal (f->root->value, "just text");
  assert_true (f->root->plain);

  PARSE_OK (f, "- a\n- [b, c]\n- {}\n- []\n");
  assert_int_equal (f->root->type, ZA_NODE_SEQ);
  assert_int_equal (f->root->n, 4);
  assert_int_equal (f->root->items[1]->n, 2);
  assert_int_equal (f->root->items[2]->type, ZA_NODE_MAP);
  assert_int_equal (f->root->items[2]->n, 0);
  assert_non_null (f->root->items[2]->items);
  assert_int_equal (f->root->items[3]->type, ZA_NODE_SEQ);
  assert_int_equal (f->root->items[3]->n, 0);
}

static void
test_yaml_errors_chain_onto_existing (void **state)
{
  struct fx *f = *state;
  struct za_err *e = NULL;
  struct za_node *root = NULL;
  za_err_set (&e, ZA_EINPUT, "earlier");
  assert_int_equal (za_yaml_parse (&f->arena, NULL, "a: [", 4, NULL, &root, &e), -1);
  assert_int_equal (za_err_count (e), 2);
  assert_string_equal (e->msg, "earlier");
  assert_null (e->next->file); /* no file name given */
  assert_int_equal (e->next->line, 2); /* libyaml ends the stream on a new line */
  assert_int_equal (e->next->col, 1);
  za_err_free (&e);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_yaml_marks_are_one_based),
    T (test_yaml_document_order_kept),
    T (test_yaml_plain_vs_quoted),
    T (test_yaml_scalar_with_nul_keeps_length),
    T (test_yaml_aliases_share_nodes),
    T (test_yaml_anchor_redefinition_shadows),
    T (test_yaml_unknown_anchor_rejected),
    T (test_yaml_recursive_alias_rejected),
    T (test_yaml_billion_laughs_rejected_quickly),
    T (test_yaml_node_limit_counts_expanded_aliases),
    T (test_yaml_depth_limit),
    T (test_yaml_depth_limit_custom),
    T (test_yaml_multi_document_rejected),
    T (test_yaml_syntax_error_unterminated_flow_seq),
    T (test_yaml_syntax_error_bad_indent),
    T (test_yaml_syntax_error_unclosed_quote),
    T (test_yaml_tab_indent),
    T (test_yaml_empty_input),
    T (test_yaml_invalid_utf8_rejected),
    T (test_yaml_limit_max_input),
    T (test_yaml_limit_max_scalar),
    T (test_yaml_default_limits),
    T (test_yaml_root_scalar_and_seq),
    T (test_yaml_errors_chain_onto_existing),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
