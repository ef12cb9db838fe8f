#define _GNU_SOURCE
#include "yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

const struct za_yaml_limits za_yaml_default_limits = {
  .max_input = 16u << 20,
  .max_depth = 64,
  .max_nodes = 1000000,
  .max_scalar = 1u << 20,
  .max_seq = 100000,
};

struct anchor
{
  const char *name;
  struct za_node *node;
};

struct builder
{
  struct za_arena *arena;
  const char *file;
  const struct za_yaml_limits *lim;
  struct za_err **err;
  struct anchor *anchors;
  size_t nanchors, capanchors;
  size_t total; /* expanded node count so far */
  const char *data; /* the input, for positions of reader errors */
  size_t len;
};

/* A growable child list used while a collection is open.  */
struct frame
{
  struct za_node *node;
  struct za_node **items;
  size_t n, cap;
};

static struct za_mark
mark_of (const yaml_mark_t *m)
{
  return (struct za_mark) { .line = (unsigned) m->line + 1, .col = (unsigned) m->column + 1 };
}

static int __attribute__ ((format (printf, 5, 6)))
set_at (struct za_err **err, int code, const char *file, const struct za_mark *at, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_err_set_atv (err, code, file, at, NULL, fmt, ap);
  va_end (ap);
  return -1;
}

static int
fail_at (struct builder *b, const yaml_mark_t *m, int code, const char *msg)
{
  struct za_mark mk = mark_of (m);
  return set_at (b->err, code, b->file, &mk, "%s", msg);
}

/* Line and column (in characters, as libyaml counts them) of byte OFF;
   everything before it is valid UTF-8, the reader checked it.  */
static yaml_mark_t
reader_mark (const struct builder *b, size_t off)
{
  yaml_mark_t m = { .index = off };
  size_t i = 0;
  if (off > b->len)
    off = b->len;
  if (off >= 3 && memcmp (b->data, "\xEF\xBB\xBF", 3) == 0)
    i = 3; /* a BOM is not a character */
  for (; i < off; i++)
    {
      unsigned char c = (unsigned char) b->data[i];
      if (c == '\n' || (c == '\r' && (i + 1 >= off || b->data[i + 1] != '\n')))
        m.line++, m.column = 0;
      else if (c == '\r')
        continue; /* the \n of \r\n breaks the line */
      else if ((c & 0xC0) != 0x80)
        m.column++;
    }
  return m;
}

static int
count (struct builder *b, size_t w, const yaml_mark_t *m)
{
  if (__builtin_add_overflow (b->total, w, &b->total) || b->total > b->lim->max_nodes)
    return fail_at (b, m, ZA_EINPUT,
                    "document too large: more than the limit of nodes (aliases are counted expanded)");
  return 0;
}

static const char *
tag_of (struct builder *b, const yaml_char_t *tag)
{
  if (!tag)
    return "";
  return za_arena_strdup (b->arena, (const char *) tag);
}

static int
add_anchor (struct builder *b, const yaml_char_t *name, struct za_node *n)
{
  if (!name)
    return 0;
  /* Later definitions shadow earlier ones, as in the YAML spec.  */
  if (b->nanchors == b->capanchors)
    {
      size_t cap = b->capanchors ? b->capanchors * 2 : 16;
      struct anchor *a = realloc (b->anchors, cap * sizeof *a);
      if (!a)
        return za_err_set (b->err, ENOMEM, "out of memory");
      b->anchors = a;
      b->capanchors = cap;
    }
  b->anchors[b->nanchors].name = za_arena_strdup (b->arena, (const char *) name);
  b->anchors[b->nanchors].node = n;
  if (!b->anchors[b->nanchors].name)
    return za_err_set (b->err, ENOMEM, "out of memory");
  b->nanchors++;
  return 0;
}

static struct za_node *
find_anchor (struct builder *b, const char *name)
{
  for (size_t i = b->nanchors; i-- > 0;)
    if (strcmp (b->anchors[i].name, name) == 0)
      return b->anchors[i].node;
  return NULL;
}

static int
frame_push (struct builder *b, struct frame *f, struct za_node *child)
{
  if (f->n == f->cap)
    {
      size_t cap = f->cap ? f->cap * 2 : 8;
      struct za_node **it = realloc (f->items, cap * sizeof *it);
      if (!it)
        return za_err_set (b->err, ENOMEM, "out of memory");
      f->items = it;
      f->cap = cap;
    }
  f->items[f->n++] = child;
  return 0;
}

static int
frame_close (struct builder *b, struct frame *f)
{
  struct za_node *n = f->node;
  n->items = za_arena_calloc (b->arena, f->n ? f->n : 1, sizeof *n->items);
  if (!n->items)
    return za_err_set (b->err, ENOMEM, "out of memory");
  if (f->n)
    memcpy (n->items, f->items, f->n * sizeof *n->items);
  n->n = n->type == ZA_NODE_MAP ? f->n / 2 : f->n;
  n->weight = 1;
  for (size_t i = 0; i < f->n; i++)
    n->weight += f->items[i]->weight;
  free (f->items);
  f->items = NULL;
  return 0;
}

/* The byte at libyaml's mark M (0-based line, column in characters) of
   the input, or -1 past its end.  */
static int
byte_at (const struct builder *b, const yaml_mark_t *m)
{
  size_t i = 0, line = 0, col = 0;
  for (; i < b->len && line < m->line; i++)
    line += b->data[i] == '\n';
  for (; i < b->len && col < m->column; i++)
    col += i + 1 >= b->len || ((unsigned char) b->data[i + 1] & 0xC0) != 0x80; /* a character ends at i */
  return i < b->len ? (unsigned char) b->data[i] : -1;
}

static int
build (struct builder *b, yaml_parser_t *p, struct za_node **root)
{
  struct frame stack[128];
  size_t depth = 0;
  int docs = 0, ret = -1;
  bool done = false;
  unsigned maxd = b->lim->max_depth < 128 ? b->lim->max_depth : 128;
  size_t maxseq = b->lim->max_seq ? b->lim->max_seq : za_yaml_default_limits.max_seq;

  *root = NULL;
  while (!done)
    {
      yaml_event_t ev;
      struct za_node *node = NULL;

      if (!yaml_parser_parse (p, &ev))
        {
          char msg[512];
          /* libyaml's contexts already read "while parsing a …".  */
          if (p->context)
            snprintf (msg, sizeof msg, "%s (%s started at %zu:%zu)",
                      p->problem ? p->problem : "syntax error", p->context,
                      p->context_mark.line + 1, p->context_mark.column + 1);
          else
            snprintf (msg, sizeof msg, "%s", p->problem ? p->problem : "syntax error");
          /* libyaml's words for a tab say nothing of tabs.  */
          if (p->error == YAML_SCANNER_ERROR && byte_at (b, &p->problem_mark) == '\t')
            snprintf (msg, sizeof msg, "a tab character cannot indent YAML; use spaces");
          if (p->error == YAML_MEMORY_ERROR)
            za_err_set (b->err, ENOMEM, "out of memory");
          else if (p->error == YAML_READER_ERROR)
            {
              /* Reader errors (bad UTF-8) only set problem_offset.  */
              yaml_mark_t m = reader_mark (b, p->problem_offset);
              fail_at (b, &m, ZA_EINPUT, msg);
            }
          else
            fail_at (b, &p->problem_mark, ZA_EINPUT, msg);
          goto out;
        }

      /* One more item in an open sequence: the limit is checked before
         the item is built, at the item's own position.  */
      if (depth > 0 && stack[depth - 1].node->type == ZA_NODE_SEQ
          && stack[depth - 1].n >= maxseq
          && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT
              || ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT))
        {
          char msg[96];
          snprintf (msg, sizeof msg, "sequence longer than the limit of %zu items", maxseq);
          fail_at (b, &ev.start_mark, ZA_EINPUT, msg);
          yaml_event_delete (&ev);
          goto out;
        }
      switch (ev.type)
        {
        case YAML_STREAM_END_EVENT:
          done = true;
          break;
        case YAML_DOCUMENT_START_EVENT:
          if (++docs > 1)
            {
              fail_at (b, &ev.start_mark, ZA_EINPUT,
                       "deserializing from YAML containing more than one document is not supported");
              yaml_event_delete (&ev);
              goto out;
            }
          break;
        case YAML_SCALAR_EVENT:
          if (ev.data.scalar.length > b->lim->max_scalar)
            {
              fail_at (b, &ev.start_mark, ZA_EINPUT, "scalar longer than the limit");
              yaml_event_delete (&ev);
              goto out;
            }
          node = za_arena_calloc (b->arena, 1, sizeof *node);
          if (node)
            {
              node->type = ZA_NODE_SCALAR;
              node->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
              node->value = za_arena_strndup (b->arena, (const char *) ev.data.scalar.value,
                                              ev.data.scalar.length);
              node->len = ev.data.scalar.length;
              node->weight = 1;
              node->tag = ev.data.scalar.tag ? tag_of (b, ev.data.scalar.tag) : NULL;
            }
          if (!node || !node->value)
            {
              za_err_set (b->err, ENOMEM, "out of memory");
              yaml_event_delete (&ev);
              goto out;
            }
          node->mark = mark_of (&ev.start_mark);
          if (add_anchor (b, ev.data.scalar.anchor, node) < 0 || count (b, 1, &ev.start_mark) < 0)
            {
              yaml_event_delete (&ev);
              goto out;
            }
          break;
        case YAML_ALIAS_EVENT:
          node = find_anchor (b, (const char *) ev.data.alias.anchor);
          if (!node)
            {
              fail_at (b, &ev.start_mark, ZA_EINPUT, "unknown anchor");
              yaml_event_delete (&ev);
              goto out;
            }
          /* An alias to a collection that is still open would make the
             tree cyclic.  */
          if (node->type != ZA_NODE_SCALAR && !node->items)
            {
              fail_at (b, &ev.start_mark, ZA_EINPUT, "recursive alias");
              yaml_event_delete (&ev);
              goto out;
            }
          if (count (b, node->weight, &ev.start_mark) < 0)
            {
              yaml_event_delete (&ev);
              goto out;
            }
          break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
          {
            bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
            if (depth >= maxd)
              {
                fail_at (b, &ev.start_mark, ZA_EINPUT, "document nested deeper than the limit");
                yaml_event_delete (&ev);
                goto out;
              }
            node = za_arena_calloc (b->arena, 1, sizeof *node);
            if (!node)
              {
                za_err_set (b->err, ENOMEM, "out of memory");
                yaml_event_delete (&ev);
                goto out;
              }
            node->type = seq ? ZA_NODE_SEQ : ZA_NODE_MAP;
            node->mark = mark_of (&ev.start_mark);
            {
              const yaml_char_t *t = seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag;
              node->tag = t ? tag_of (b, t) : NULL;
            }
            if (add_anchor (b, seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor, node) < 0
                || count (b, 1, &ev.start_mark) < 0)
              {
                yaml_event_delete (&ev);
                goto out;
              }
            stack[depth++] = (struct frame) { .node = node };
            node = NULL; /* attached to its parent when it ends */
          }
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
          depth--;
          if (frame_close (b, &stack[depth]) < 0)
            {
              yaml_event_delete (&ev);
              goto out;
            }
          node = stack[depth].node;
          break;
        default:
          break;
        }
      yaml_event_delete (&ev);

      if (node)
        {
          if (depth > 0)
            {
              if (frame_push (b, &stack[depth - 1], node) < 0)
                goto out;
            }
          else
            *root = node;
        }
    }
  ret = 0;
out:
  while (depth > 0)
    free (stack[--depth].items);
  return ret;
}

int
za_yaml_parse (struct za_arena *arena, const char *file, const char *data,
               size_t len, const struct za_yaml_limits *limits,
               struct za_node **out, struct za_err **err)
{
  yaml_parser_t parser;
  struct builder b = { .arena = arena, .file = file, .err = err,
                       .lim = limits ? limits : &za_yaml_default_limits,
                       .data = data, .len = len };
  int ret;

  *out = NULL;
  if (len > b.lim->max_input)
    {
      struct za_mark m = { 1, 1 };
      return za_err_set_at (err, file, &m, NULL, "input is larger than the limit of %zu bytes",
                            b.lim->max_input);
    }
  if (!yaml_parser_initialize (&parser))
    return za_err_set (err, ENOMEM, "out of memory");
  yaml_parser_set_input_string (&parser, (const unsigned char *) data, len);
  ret = build (&b, &parser, out);
  if (ret < 0)
    *out = NULL; /* e.g. the first of several documents */
  yaml_parser_delete (&parser);
  free (b.anchors);
  return ret;
}
