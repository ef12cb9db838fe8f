/* The schema walker: one generic decoder for every field table
   (yaml/decode.h).  Scalar typing is in yaml/scalar.c, errors and paths
   in yaml/dctx.c.  */
#define _GNU_SOURCE
#include "yaml/decode_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/duration.h"
#include "util/suggest.h"

/* ---- the walker ---------------------------------------------------- */

static int decode_value (struct za_dctx *c, const struct za_field *f,
                         const struct za_node *n, void *dst);

static bool
is_null (const struct za_node *n)
{
  return n->type == ZA_NODE_SCALAR && za_scalar_classify (n) == ZA_SK_NULL;
}

/* serde_yaml reads an empty plain scalar as an empty list/map.  */
static bool
is_empty_plain (const struct za_node *n)
{
  return n->type == ZA_NODE_SCALAR && n->plain && n->len == 0 && !n->tag;
}

static int
type_error (struct za_dctx *c, const struct za_node *n, const char *expected)
{
  char buf[192];
  return za_dctx_error (c, n, "expected %s, got %s", expected, za_dctx_describe (c, n, buf, sizeof buf));
}

static int
check_tag (struct za_dctx *c, const struct za_node *n)
{
  static const char *const ok[] = { "str", "int", "float", "bool", "null", "seq", "map" };
  if (!n->tag || !*n->tag)
    return 0;
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
    if (za_yaml_is_core_tag (n->tag, ok[i]))
      return 0;
  if (c->redact)
    return za_dctx_error (c, n, "unsupported YAML tag");
  return za_dctx_error (c, n, "unsupported YAML tag `%s`", n->tag);
}

/* A scalar's text as the decoded struct keeps it (see copy_strings).  */
static const char *
keep_str (struct za_dctx *c, const struct za_node *n)
{
  return c->copy_strings ? za_arena_strndup (c->arena, n->value, n->len) : n->value;
}

static int
decode_string (struct za_dctx *c, const struct za_node *n, bool opt, struct za_str *out)
{
  if (n->type != ZA_NODE_SCALAR)
    return type_error (c, n, "a string");
  if (opt && is_null (n))
    return 0;
  if (c->strict && za_scalar_classify (n) != ZA_SK_STR)
    return type_error (c, n, "a string");
  if (strlen (n->value) != n->len)
    return za_dctx_error (c, n, "string contains a NUL byte");
  out->s = keep_str (c, n);
  out->m = n->mark;
  if (!out->s)
    return za_errs_set (&c->errs, ENOMEM, "out of memory");
  if (c->yaml11)
    {
      const char *canon = za_scalar_canonical11 (c->arena, n);
      if (canon)
        out->s = canon;
    }
  return 0;
}

static void apply_defaults (const struct za_schema *s, void *obj);

static int
decode_strlist (struct za_dctx *c, const struct za_node *n, struct za_strlist *out)
{
  int ret = 0;
  out->m = n->mark;
  if (is_empty_plain (n))
    {
      out->set = true;
      return 0;
    }
  if (n->type != ZA_NODE_SEQ)
    return type_error (c, n, "a list");
  out->v = za_arena_calloc (c->arena, n->n ? n->n : 1, sizeof *out->v);
  if (!out->v)
    return za_errs_set (&c->errs, ENOMEM, "out of memory");
  out->set = true;
  out->n = n->n;
  for (size_t i = 0; i < n->n; i++)
    {
      size_t old = za_dctx_push_index (c, i);
      if (decode_string (c, n->items[i], false, &out->v[i]) < 0)
        ret = -1;
      za_dctx_pop (c, old);
    }
  return ret;
}

static int
key_cmp (const void *a, const void *b)
{
  const struct za_node *x = *(const struct za_node *const *) a;
  const struct za_node *y = *(const struct za_node *const *) b;
  int r = strcmp (x->value, y->value);
  if (r)
    return r;
  /* Equal keys: keep document order so the later one is reported.  */
  return x->mark.line != y->mark.line ? (x->mark.line < y->mark.line ? -1 : 1)
                                      : (x->mark.col < y->mark.col ? -1 : x->mark.col > y->mark.col);
}

/* Map keys must be scalars and unique.  serde_yaml lets a later duplicate
   win in free-form maps; we reject it, because a silently ignored env
   entry is a configuration bug.  */
static int
check_map_keys (struct za_dctx *c, const struct za_node *n)
{
  int ret = 0;
  struct za_node **keys;
  for (size_t i = 0; i < n->n; i++)
    {
      const struct za_node *k = za_map_key (n, i);
      if (k->type != ZA_NODE_SCALAR)
        ret = za_dctx_error (c, k, "expected a string key, got %s", k->type == ZA_NODE_SEQ ? "a list" : "a mapping");
      else if (strlen (k->value) != k->len)
        ret = za_dctx_error (c, k, "key contains a NUL byte");
    }
  if (ret < 0 || n->n < 2)
    return ret;
  keys = malloc (n->n * sizeof *keys);
  if (!keys)
    return za_errs_set (&c->errs, ENOMEM, "out of memory");
  for (size_t i = 0; i < n->n; i++)
    keys[i] = za_map_key (n, i);
  qsort (keys, n->n, sizeof *keys, key_cmp);
  /* Equal keys are adjacent, in document order: every repeat is
     reported against the first of its run.  */
  for (size_t i = 1, first = 0; i < n->n; i++)
    if (strcmp (keys[first]->value, keys[i]->value) == 0)
      {
        const char *shown = za_dctx_shown_key (c, keys[i]->value);
        size_t old = za_dctx_push_key (c, za_dctx_path_key (c, keys[i]->value));
        if (shown)
          ret = za_dctx_error (c, keys[i], "duplicate key `%s` (first at line %u)", shown,
                               keys[first]->mark.line);
        else
          ret = za_dctx_error (c, keys[i], "duplicate key (first at line %u)", keys[first]->mark.line);
        za_dctx_pop (c, old);
      }
    else
      first = i;
  free (keys);
  return ret;
}

/* The start every map-valued field shares: an empty plain scalar is an
   empty map; else a mapping with unique scalar keys, and an array of its
   entries.  1 when there are entries to decode, 0 when empty, -1 on error.  */
static int
map_begin (struct za_dctx *c, const struct za_node *n, size_t size, void **out)
{
  *out = NULL;
  if (is_empty_plain (n))
    return 0;
  if (n->type != ZA_NODE_MAP)
    return type_error (c, n, "a mapping");
  if (check_map_keys (c, n) < 0)
    return -1;
  *out = za_arena_calloc (c->arena, n->n ? n->n : 1, size);
  if (!*out)
    return za_errs_set (&c->errs, ENOMEM, "out of memory");
  return 1;
}

static int
decode_strmap (struct za_dctx *c, const struct za_node *n, struct za_strmap *out)
{
  int ret;
  void *v;
  out->m = n->mark;
  if ((ret = map_begin (c, n, sizeof *out->v, &v)) <= 0)
    return ret;
  ret = 0;
  out->v = v;
  out->n = n->n;
  for (size_t i = 0; i < n->n; i++)
    {
      const struct za_node *k = za_map_key (n, i);
      size_t old = za_dctx_push_key (c, za_dctx_path_key (c, k->value));
      out->v[i].key.s = keep_str (c, k);
      out->v[i].key.m = k->mark;
      if (c->yaml11 && za_scalar_canonical11 (c->arena, k))
        out->v[i].key.s = za_scalar_canonical11 (c->arena, k);
      if (decode_string (c, za_map_val (n, i), false, &out->v[i].val) < 0)
        ret = -1;
      za_dctx_pop (c, old);
    }
  return ret;
}

/* encoding/json matches keys case-insensitively (CDI dialect).  */
static const struct za_field *
find_field (const struct za_field *fields, size_t nfields, const char *key, size_t *idx, bool ci)
{
  int (*cmp) (const char *, const char *) = ci ? strcasecmp : strcmp;
  for (size_t i = 0; i < nfields; i++)
    if (cmp (fields[i].name, key) == 0 || (fields[i].alias && cmp (fields[i].alias, key) == 0))
      {
        *idx = i;
        return &fields[i];
      }
  return NULL;
}

static const char *
field_name (const void *a, size_t i)
{
  return ((const struct za_field *) a)[i].name;
}
static const char *
string_name (const void *a, size_t i)
{
  return ((const char *const *) a)[i];
}
static const char *
variant_name (const void *a, size_t i)
{
  return ((const struct za_variant *) a)[i].name;
}

/* serde's OneOf wording: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
   Malloc'd, NULL on OOM.  */
static char *
one_of (const void *arr, size_t count, const char *(*name) (const void *, size_t))
{
  char *list = NULL;
  size_t sz = 0;
  FILE *f = open_memstream (&list, &sz);
  if (!f)
    return NULL;
  fputs (count > 2 ? "one of " : "", f);
  for (size_t i = 0; i < count; i++)
    fprintf (f, "%s`%s`", i == 0 ? "" : count == 2 ? " or " : ", ", name (arr, i));
  fclose (f);
  return list;
}

/* Up to this many fields, an unknown one is answered with the list.  */
#define ZA_LIST_FIELDS_MAX 16

static int
unknown_field (struct za_dctx *c, const struct za_node *k, const struct za_field *fields,
               size_t nfields)
{
  const char *shown = za_dctx_shown_key (c, k->value);
  char *list;
  int ret;
  if (nfields == 0)
    return shown ? za_dctx_error (c, k, "unknown field `%s`, there are no fields", shown)
                 : za_dctx_error (c, k, "unknown field (name not shown), there are no fields");
  /* The caller's own spec: the nearest field rather than a list of 57
     (redacted input keeps serde's list: a suggestion would say what the
     hidden name looks like).  */
  if (shown)
    {
      const char *near = za_suggest (shown, fields, nfields, field_name);
      if (near)
        return za_dctx_error (c, k, "unknown field `%s`, did you mean `%s`?", shown, near);
      if (nfields > ZA_LIST_FIELDS_MAX)
        return za_dctx_error (c, k, "unknown field `%s` (no field of the %zu here is close)", shown, nfields);
    }
  if (!(list = one_of (fields, nfields, field_name)))
    return za_errs_set (&c->errs, ENOMEM, "out of memory");
  if (shown)
    ret = za_dctx_error (c, k, "unknown field `%s`, expected %s", shown, list);
  else
    ret = za_dctx_error (c, k, "unknown field (name not shown), expected %s", list);
  free (list);
  return ret;
}

static int
decode_fields (struct za_dctx *c, const struct za_field *fields, size_t nfields,
               bool allow_unknown, const char *skip_key, const struct za_node *n, void *obj)
{
  bool seen_small[64] = { false };
  bool *seen = nfields <= 64 ? seen_small : calloc (nfields, sizeof *seen);
  int ret = 0;

  if (!seen)
    return za_errs_set (&c->errs, ENOMEM, "out of memory");
  if (n->type == ZA_NODE_MAP)
    {
      for (size_t i = 0; i < n->n; i++)
        {
          const struct za_node *k = za_map_key (n, i), *v = za_map_val (n, i);
          const struct za_field *f;
          size_t idx, old;
          if (k->type != ZA_NODE_SCALAR)
            {
              ret = type_error (c, k, "a field name");
              continue;
            }
          f = find_field (fields, nfields, k->value, &idx, c->yaml11);
          if (!f)
            {
              if (skip_key && strcmp (k->value, skip_key) == 0)
                continue;
              if (!allow_unknown)
                ret = unknown_field (c, k, fields, nfields);
              continue;
            }
          old = za_dctx_push_key (c, f->name);
          if (seen[idx])
            ret = za_dctx_error (c, k, "duplicate field `%s`", f->name);
          else
            {
              seen[idx] = true;
              if (decode_value (c, f, v, (char *) obj + f->off) < 0)
                ret = -1;
            }
          za_dctx_pop (c, old);
        }
    }
  for (size_t i = 0; i < nfields; i++)
    if ((fields[i].flags & ZA_F_REQ) && !seen[i])
      ret = za_dctx_error (c, n, "missing field `%s`", fields[i].name);
  if (seen != seen_small)
    free (seen);
  return ret;
}

static int
unknown_variant (struct za_dctx *c, const struct za_node *n, const char *const *names,
                 const struct za_variant *vars, size_t nvars)
{
  char q[160], *list;
  size_t count = 0;
  int ret;
  while (names ? names[count] != NULL : count < nvars)
    count++;
  list = names ? one_of (names, count, string_name) : one_of (vars, count, variant_name);
  if (!list)
    return za_errs_set (&c->errs, ENOMEM, "out of memory");
  za_yaml_quote_into (q, sizeof q, n->value, n->len);
  /* serde prints the variant in backticks; keep control bytes escaped.  */
  q[strlen (q) - 1] = '\0';
  if (c->redact && !za_dctx_shown_key (c, n->value))
    ret = za_dctx_error (c, n, "unknown variant, expected %s", list);
  else
    ret = za_dctx_error (c, n, "unknown variant `%s`, expected %s", q + 1, list);
  free (list);
  return ret;
}

static int
decode_tagged (struct za_dctx *c, const struct za_schema *s, const struct za_node *n, void *obj)
{
  const struct za_node *tagv = NULL;
  struct za_enum *kind = (struct za_enum *) ((char *) obj + s->tag_off);
  bool strict = c->strict;
  int ret;

  if (n->type != ZA_NODE_MAP)
    return type_error (c, n, "a mapping");
  if (check_map_keys (c, n) < 0)
    return -1;
  for (size_t i = 0; i < n->n; i++)
    if (strcmp (za_map_key (n, i)->value, s->tag) == 0)
      tagv = za_map_val (n, i);
  if (!tagv)
    return za_dctx_error (c, n, "missing field `%s`", s->tag);
  if (tagv->type != ZA_NODE_SCALAR || za_scalar_classify (tagv) != ZA_SK_STR)
    return type_error (c, tagv, "a string");
  for (size_t v = 0; v < s->nvariants; v++)
    if (strcmp (s->variants[v].name, tagv->value) == 0)
      {
        kind->set = true;
        kind->v = (int) v;
        kind->m = tagv->mark;
        /* serde buffers internally tagged enums with inferred scalar
           types, so `size: 1024` is an integer there.  */
        c->strict = true;
        ret = decode_fields (c, s->variants[v].fields, s->variants[v].nfields, s->allow_unknown,
                             s->tag, n, obj);
        c->strict = strict;
        return ret;
      }
  {
    size_t old = za_dctx_push_key (c, s->tag);
    ret = unknown_variant (c, tagv, NULL, s->variants, s->nvariants);
    za_dctx_pop (c, old);
  }
  return ret;
}

static void
apply_defaults (const struct za_schema *s, void *obj)
{
  for (size_t i = 0; i < s->nfields; i++)
    if (s->fields[i].type == ZA_FT_STRUCT)
      apply_defaults (s->fields[i].sub, (char *) obj + s->fields[i].off);
  if (s->defaults)
    s->defaults (obj);
}

int
za_decode (struct za_dctx *c, const struct za_schema *s, const struct za_node *n, void *obj)
{
  apply_defaults (s, obj);
  if (check_tag (c, n) < 0)
    return -1;
  if (s->variants)
    return decode_tagged (c, s, n, obj);
  if (is_empty_plain (n))
    return decode_fields (c, s->fields, s->nfields, s->allow_unknown, NULL, n, obj);
  if (n->type != ZA_NODE_MAP && s->hint)
    {
      char buf[192];
      return za_dctx_error (c, n, "expected a mapping, got %s; %s", za_dctx_describe (c, n, buf, sizeof buf),
                            s->hint);
    }
  if (n->type != ZA_NODE_MAP)
    return type_error (c, n, "a mapping");
  if (check_map_keys (c, n) < 0)
    return -1;
  return decode_fields (c, s->fields, s->nfields, s->allow_unknown, NULL, n, obj);
}

static int
decode_int (struct za_dctx *c, const struct za_field *f, const struct za_node *n, struct za_int *out)
{
  int64_t i;
  uint64_t u;
  bool neg;
  char exp[96];
  snprintf (exp, sizeof exp, "an integer (%s)", f->tname ? f->tname : "i64");
  if (c->yaml11)
    {
      double d;
      enum za_scalar_kind k = n->type == ZA_NODE_SCALAR ? za_scalar_classify11 (n) : ZA_SK_STR;
      bool ok = false;
      if (k == ZA_SK_INT)
        ok = za_scalar_int11 (n->value, NULL, 0, &i, &u, &neg);
      else if (k == ZA_SK_FLOAT && za_scalar_float11 (n->value, &d) && d == floor (d) && fabs (d) < 9.2e18)
        {
          /* YAML -> JSON turns 2.0 into 2, which encoding/json accepts.  */
          i = (int64_t) d;
          neg = i < 0;
          u = neg ? 0 : (uint64_t) i;
          ok = true;
        }
      if (!ok)
        return type_error (c, n, exp);
    }
  else if (n->type != ZA_NODE_SCALAR || za_scalar_classify (n) != ZA_SK_INT)
    return type_error (c, n, exp);
  else if (!za_scalar_int (n, &i, &u, &neg))
    i = 0, u = UINT64_MAX, neg = false;
  if (((!neg && u > (uint64_t) INT64_MAX) || i < f->min || i > f->max) && c->redact)
    return za_dctx_error (c, n, "expected an integer between %" PRId64 " and %" PRId64 " (%s)", f->min, f->max,
                          f->tname ? f->tname : "i64");
  if ((!neg && u > (uint64_t) INT64_MAX) || i < f->min
      || i > f->max)
    return za_dctx_error (c, n, "expected an integer between %" PRId64 " and %" PRId64
                          " (%s), got %s", f->min, f->max, f->tname ? f->tname : "i64", n->value);
  out->set = true;
  out->v = i;
  out->m = n->mark;
  return 0;
}

static int
decode_value (struct za_dctx *c, const struct za_field *f, const struct za_node *n, void *dst)
{
  bool opt = f->flags & ZA_F_OPT;
  if (check_tag (c, n) < 0)
    return -1;
  /* Option<T>: null is None, for every T; in Go every null is the zero
     value.  */
  if ((opt || c->yaml11) && is_null (n) && (f->type != ZA_FT_CUSTOM || opt))
    return 0;
  switch (f->type)
    {
    case ZA_FT_STR:
      return decode_string (c, n, opt, dst);
    case ZA_FT_BOOL:
      {
        struct za_bool *b = dst;
        if (c->yaml11)
          {
            if (n->type != ZA_NODE_SCALAR || za_scalar_classify11 (n) != ZA_SK_BOOL)
              return type_error (c, n, "a boolean");
            b->v = za_scalar_bool11 (n->value) == 1;
          }
        else if (n->type != ZA_NODE_SCALAR || za_scalar_classify (n) != ZA_SK_BOOL)
          return type_error (c, n, "a boolean");
        else
          b->v = za_scalar_bool (n);
        b->set = true;
        b->m = n->mark;
        return 0;
      }
    case ZA_FT_INT:
      return decode_int (c, f, n, dst);
    case ZA_FT_UINT:
      {
        struct za_uint *u = dst;
        int64_t i;
        uint64_t v;
        bool neg;
        if (n->type != ZA_NODE_SCALAR || za_scalar_classify (n) != ZA_SK_INT)
          return type_error (c, n, "an integer (u64)");
        if ((!za_scalar_int (n, &i, &v, &neg) || neg) && c->redact)
          return za_dctx_error (c, n, "expected an integer between 0 and 18446744073709551615 (u64)");
        if (!za_scalar_int (n, &i, &v, &neg) || neg)
          return za_dctx_error (c, n, "expected an integer between 0 and 18446744073709551615 (u64), got %s",
                                n->value);
        u->set = true;
        u->v = v;
        u->m = n->mark;
        return 0;
      }
    case ZA_FT_FLOAT:
      {
        struct za_float *fl = dst;
        enum za_scalar_kind k = n->type == ZA_NODE_SCALAR ? za_scalar_classify (n) : ZA_SK_STR;
        if (n->type != ZA_NODE_SCALAR || (k != ZA_SK_INT && k != ZA_SK_FLOAT))
          return type_error (c, n, "a number");
        if (k == ZA_SK_INT)
          {
            int64_t i;
            uint64_t u;
            bool neg;
            if (za_scalar_int (n, &i, &u, &neg))
              fl->v = neg ? (double) i : (double) u;
            else
              fl->v = n->value[0] == '-' ? -HUGE_VAL : HUGE_VAL;
          }
        else
          za_yaml_parse_float (n->value, &fl->v);
        fl->set = true;
        fl->m = n->mark;
        return 0;
      }
    case ZA_FT_DUR:
      {
        struct za_dur *d = dst;
        struct za_str s = { 0 };
        char *reason = NULL;
        if (decode_string (c, n, opt, &s) < 0)
          return -1;
        if (!s.s)
          return 0;
        if (za_duration_parse (s.s, &d->ns, &reason) < 0)
          {
            int r = c->redact ? za_dctx_error (c, n, "invalid duration")
                              : za_dctx_error (c, n, "invalid duration: %s", reason ? reason : "invalid");
            free (reason);
            return r;
          }
        d->set = true;
        d->text = s.s;
        d->m = n->mark;
        return 0;
      }
    case ZA_FT_ENUM:
      {
        struct za_enum *e = dst;
        if (n->type != ZA_NODE_SCALAR)
          return type_error (c, n, "a string");
        if (c->strict && za_scalar_classify (n) != ZA_SK_STR)
          return type_error (c, n, "a string");
        for (int i = 0; f->names[i]; i++)
          if (strcmp (f->names[i], n->value) == 0)
            {
              e->set = true;
              e->v = i;
              e->m = n->mark;
              return 0;
            }
        return unknown_variant (c, n, f->names, NULL, 0);
      }
    case ZA_FT_STRLIST:
      return decode_strlist (c, n, dst);
    case ZA_FT_STRMAP:
      return decode_strmap (c, n, dst);
    case ZA_FT_STRUCT:
      return za_decode (c, f->sub, n, dst);
    case ZA_FT_OPT_STRUCT:
      {
        void *obj = za_arena_calloc (c->arena, 1, f->sub->size);
        if (!obj)
          return za_errs_set (&c->errs, ENOMEM, "out of memory");
        *(void **) dst = obj;
        return za_decode (c, f->sub, n, obj);
      }
    case ZA_FT_LIST:
      {
        struct za_list *l = dst;
        int ret = 0;
        l->m = n->mark;
        l->set = true;
        if (is_empty_plain (n))
          return 0;
        if (n->type != ZA_NODE_SEQ)
          return type_error (c, n, "a list");
        l->v = za_arena_calloc (c->arena, n->n ? n->n : 1, f->sub->size);
        if (!l->v)
          return za_errs_set (&c->errs, ENOMEM, "out of memory");
        l->n = n->n;
        for (size_t i = 0; i < n->n; i++)
          {
            size_t old = za_dctx_push_index (c, i);
            if (za_decode (c, f->sub, n->items[i], (char *) l->v + i * f->sub->size) < 0)
              ret = -1;
            za_dctx_pop (c, old);
          }
        return ret;
      }
    case ZA_FT_MAP:
      {
        struct za_map *m = dst;
        void *v;
        int ret;
        m->m = n->mark;
        if ((ret = map_begin (c, n, sizeof *m->v, &v)) <= 0)
          return ret;
        ret = 0;
        m->v = v;
        m->n = n->n;
        for (size_t i = 0; i < n->n; i++)
          {
            const struct za_node *k = za_map_key (n, i);
            size_t old = za_dctx_push_key (c, za_dctx_path_key (c, k->value));
            m->v[i].key.s = keep_str (c, k);
            m->v[i].key.m = k->mark;
            m->v[i].val = za_arena_calloc (c->arena, 1, f->sub->size);
            if (!m->v[i].val)
              ret = za_errs_set (&c->errs, ENOMEM, "out of memory");
            else if (za_decode (c, f->sub, za_map_val (n, i), m->v[i].val) < 0)
              ret = -1;
            za_dctx_pop (c, old);
          }
        return ret;
      }
    case ZA_FT_ANY:
      *(const struct za_node **) dst = n;
      return 0;
    case ZA_FT_CUSTOM:
      return f->custom (c, n, dst);
    }
  return 0;
}
