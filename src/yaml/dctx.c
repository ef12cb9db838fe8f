/* The decoding context: errors at a node's position with the dotted field
   path, the path stack, and what messages may quote of input that may be
   any file (redaction).  */
#define _GNU_SOURCE
#include "yaml/decode_int.h"
#include "util/strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- errors and paths ---------------------------------------------- */

void
za_yaml_quote_into (char *buf, size_t len, const char *s, size_t slen)
{
  size_t o;
  if (len < 10)
    {
      if (len)
        buf[0] = '\0';
      return;
    }
  buf[0] = '"';
  za_escape_into (buf + 1, len - 2, s, slen);
  o = strlen (buf);
  buf[o++] = '"';
  buf[o] = '\0';
}

const char *
za_node_describe (const struct za_node *n, char *buf, size_t len)
{
  char q[128];
  if (!n)
    return "nothing";
  switch (n->type)
    {
    case ZA_NODE_SEQ:
      return "a list";
    case ZA_NODE_MAP:
      return "a mapping";
    case ZA_NODE_SCALAR:
      break;
    }
  switch (za_scalar_classify (n))
    {
    case ZA_SK_NULL:
      return "null";
    case ZA_SK_BOOL:
      snprintf (buf, len, "boolean %s", za_scalar_bool (n) ? "true" : "false");
      return buf;
    case ZA_SK_INT:
      snprintf (buf, len, "integer %s", n->value);
      return buf;
    case ZA_SK_FLOAT:
      snprintf (buf, len, "floating point %s", n->value);
      return buf;
    case ZA_SK_STR:
      break;
    }
  za_yaml_quote_into (q, sizeof q, n->value, n->len);
  snprintf (buf, len, "string %s", q);
  return buf;
}

static bool schema_has_key (const struct za_schema *s, const char *key, int depth);

static bool
fields_have_key (const struct za_field *fields, size_t nfields, const char *key, int depth)
{
  for (size_t i = 0; i < nfields; i++)
    if (!strcmp (fields[i].name, key) || (fields[i].alias && !strcmp (fields[i].alias, key))
        || schema_has_key (fields[i].sub, key, depth + 1))
      return true;
  return false;
}

/* Is KEY spelled exactly like a field (or alias, or tag) of S or of a
   schema below it?  Such a key tells nothing about the input but that it
   holds a known word.  DEPTH bounds the walk (schemas nest a few levels).  */
static bool
schema_has_key (const struct za_schema *s, const char *key, int depth)
{
  if (!s || depth > 16)
    return false;
  if (fields_have_key (s->fields, s->nfields, key, depth) || (s->tag && !strcmp (s->tag, key)))
    return true;
  for (size_t v = 0; v < s->nvariants; v++)
    if (!strcmp (s->variants[v].name, key)
        || fields_have_key (s->variants[v].fields, s->variants[v].nfields, key, depth))
      return true;
  return false;
}

const char *
za_dctx_shown_key (const struct za_dctx *c, const char *key)
{
  return !c->redact || schema_has_key (c->redact, key, 0) ? key : NULL;
}

/* A free-form key in the dotted path: redacted keys become a placeholder,
   the position in the error still finds them.  */
const char *
za_dctx_path_key (const struct za_dctx *c, const char *key)
{
  const char *k = za_dctx_shown_key (c, key);
  return k ? k : "<key>";
}

const char *
za_dctx_describe (const struct za_dctx *c, const struct za_node *n, char *buf, size_t len)
{
  if (!c->redact || !n || n->type != ZA_NODE_SCALAR)
    return za_node_describe (n, buf, len);
  /* The kind is enough to fix a type error; the text could be a line of
     whatever file the input turned out to be.  */
  switch (za_scalar_classify (n))
    {
    case ZA_SK_NULL:
      return "null";
    case ZA_SK_BOOL:
      return "a boolean";
    case ZA_SK_INT:
      return "an integer";
    case ZA_SK_FLOAT:
      return "a floating point number";
    case ZA_SK_STR:
      break;
    }
  return "a string";
}

int
za_dctx_error_at (struct za_dctx *c, const struct za_mark *m, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_errs_atv (&c->errs, ZA_EINPUT, c->file, m, c->path, fmt, ap);
  va_end (ap);
  return -1;
}

int
za_dctx_error (struct za_dctx *c, const struct za_node *n, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_errs_atv (&c->errs, ZA_EINPUT, c->file, n ? &n->mark : NULL, c->path, fmt, ap);
  va_end (ap);
  return -1;
}

size_t
za_dctx_push_key (struct za_dctx *c, const char *key)
{
  size_t old = c->plen;
  int n = snprintf (c->path + c->plen, sizeof c->path - c->plen, "%s%s",
                    c->plen ? "." : "", key);
  if (n > 0)
    c->plen = c->plen + (size_t) n < sizeof c->path ? c->plen + (size_t) n : sizeof c->path - 1;
  return old;
}

size_t
za_dctx_push_index (struct za_dctx *c, size_t i)
{
  size_t old = c->plen;
  int n = snprintf (c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);
  if (n > 0)
    c->plen = c->plen + (size_t) n < sizeof c->path ? c->plen + (size_t) n : sizeof c->path - 1;
  return old;
}

void
za_dctx_pop (struct za_dctx *c, size_t old)
{
  c->plen = old;
  c->path[old] = '\0';
}
