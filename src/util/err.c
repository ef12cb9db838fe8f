#define _GNU_SOURCE
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory must never abort: errors fall back to this static object,
   which za_err_free recognises and leaves alone.  */
static struct za_err za_err_oom = { .code = ENOMEM, .msg = (char *) "out of memory" };

static void
append (struct za_err **err, struct za_err *e)
{
  if (!err)
    {
      if (e != &za_err_oom)
        {
          free (e->msg);
          free (e->path);
          free (e->file);
          free (e);
        }
      return;
    }
  while (*err)
    {
      if (*err == &za_err_oom)
        return; /* nothing can follow the OOM sentinel */
      err = &(*err)->next;
    }
  *err = e;
}

int
za_err_set_atv (struct za_err **err, int code, const char *file,
                const struct za_mark *at, const char *path, const char *fmt,
                va_list ap)
{
  struct za_err *e = calloc (1, sizeof *e);
  if (!e)
    {
      append (err, &za_err_oom);
      return -1;
    }
  e->code = code;
  if (vasprintf (&e->msg, fmt, ap) < 0)
    e->msg = NULL;
  if (file)
    e->file = strdup (file);
  if (path && *path)
    e->path = strdup (path);
  if (at)
    {
      e->line = at->line;
      e->col = at->col;
    }
  if (!e->msg || (file && !e->file) || (path && *path && !e->path))
    {
      free (e->msg);
      free (e->file);
      free (e->path);
      free (e);
      append (err, &za_err_oom);
      return -1;
    }
  append (err, e);
  return -1;
}

int
za_err_setv (struct za_err **err, int code, const char *fmt, va_list ap)
{
  return za_err_set_atv (err, code, NULL, NULL, NULL, fmt, ap);
}

int
za_err_set (struct za_err **err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_err_setv (err, code, fmt, ap);
  va_end (ap);
  return -1;
}

int
za_err_set_at (struct za_err **err, const char *file, const struct za_mark *at,
               const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_err_set_atv (err, ZA_EINPUT, file, at, path, fmt, ap);
  va_end (ap);
  return -1;
}

int
za_err_wrap (struct za_err **err, const char *fmt, ...)
{
  char *ctx = NULL;
  va_list ap;
  if (!err || !*err)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end (ap);
  if (!ctx)
    return -1;
  for (struct za_err *e = *err; e && e != &za_err_oom; e = e->next)
    {
      char *m = NULL;
      if (asprintf (&m, "%s: %s", ctx, e->msg) >= 0)
        {
          free (e->msg);
          e->msg = m;
        }
    }
  free (ctx);
  return -1;
}

void
za_err_append (struct za_err **dst, struct za_err **src)
{
  if (!src || !*src)
    return;
  append (dst, *src);
  *src = NULL;
}

char *
za_err_format (const struct za_err *e)
{
  char *out = NULL;
  char loc[64] = "";
  if (!e)
    return NULL;
  if (e->line)
    snprintf (loc, sizeof loc, ":%u:%u", e->line, e->col);
  if (asprintf (&out, "%s%s%s%s%s%s", e->file ? e->file : "", e->file ? loc : "",
                e->file ? ": " : "", e->path ? e->path : "", e->path ? ": " : "",
                e->msg ? e->msg : "unknown error")
      < 0)
    return NULL;
  return out;
}

bool
za_err_is_input (const struct za_err *e)
{
  for (; e; e = e->next)
    if (e->code != ZA_EINPUT)
      return false;
  return true;
}

size_t
za_err_count (const struct za_err *e)
{
  size_t n = 0;
  for (; e; e = e->next)
    n++;
  return n;
}

void
za_err_free (struct za_err **err)
{
  struct za_err *e;
  if (!err)
    return;
  e = *err;
  while (e && e != &za_err_oom)
    {
      struct za_err *next = e->next;
      free (e->msg);
      free (e->path);
      free (e->file);
      free (e);
      e = next;
    }
  *err = NULL;
}

/* ---- the collector ------------------------------------------------- */

static void
errs_push (struct za_errs *c, struct za_err *e)
{
  if (!c->tail)
    c->tail = &c->head;
  while (e)
    {
      struct za_err *next = e == &za_err_oom ? NULL : e->next;
      c->count++;
      if (c->count > c->max && e != &za_err_oom)
        {
          /* counted, not kept */
          free (e->msg);
          free (e->path);
          free (e->file);
          free (e);
        }
      else if (*c->tail != &za_err_oom)
        {
          if (e != &za_err_oom)
            e->next = NULL;
          *c->tail = e;
          if (e != &za_err_oom)
            c->tail = &e->next;
        }
      e = next;
    }
}

int
za_errs_atv (struct za_errs *c, int code, const char *file, const struct za_mark *at, const char *path,
             const char *fmt, va_list ap)
{
  struct za_err *e = NULL;
  if (c->count >= c->max)
    {
      c->count++; /* past the cap: count without formatting */
      return -1;
    }
  za_err_set_atv (&e, code, file, at, path, fmt, ap);
  errs_push (c, e);
  return -1;
}

int
za_errs_at (struct za_errs *c, const char *file, const struct za_mark *at, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_errs_atv (c, ZA_EINPUT, file, at, path, fmt, ap);
  va_end (ap);
  return -1;
}

void
za_errs_take (struct za_errs *c, struct za_err **e)
{
  struct za_err *chain = *e;
  *e = NULL;
  if (chain)
    errs_push (c, chain);
}

int
za_errs_finish (struct za_errs *c, struct za_err **err)
{
  size_t n = c->count, max = c->max;
  struct za_err *head = c->head;
  if (!n)
    return 0;
  *c = (struct za_errs) ZA_ERRS_INIT (max);
  if (n > max)
    za_err_set (&head, ZA_EINPUT, "%zu more problems not shown", n - max);
  za_err_append (err, &head);
  return -1;
}

void
za_errs_clear (struct za_errs *c)
{
  za_err_free (&c->head);
  *c = (struct za_errs) ZA_ERRS_INIT (c->max);
}
