#define _GNU_SOURCE
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory must never abort: errors fall back to this static object,
   which za_err_free recognises and leaves alone.  Nothing follows it in a
   chain, so its `next` stays NULL.  */
static struct za_err za_err_oom = { .code = ENOMEM, .msg = (char *) "out of memory" };

static void
free_one (struct za_err *e)
{
  if (!e || e == &za_err_oom)
    return;
  free (e->msg);
  free (e->path);
  free (e->file);
  free (e);
}

/* Append the chain E at the end of *ERR.  Nothing follows the OOM
   sentinel: what would is freed.  */
static void
append (struct za_err **err, struct za_err *e)
{
  if (!err)
    {
      za_err_free (&e);
      return;
    }
  while (*err)
    {
      if (*err == &za_err_oom)
        {
          za_err_free (&e);
          return;
        }
      err = &(*err)->next;
    }
  *err = e;
}

/* A new error, or the OOM sentinel.  With SYS, ": strerror (ERRNUM)"
   follows the formatted message.  */
static struct za_err *
make (int code, const char *file, const struct za_mark *at, const char *path, bool sys, int errnum,
      const char *fmt, va_list ap)
{
  struct za_err *e = calloc (1, sizeof *e);
  char *msg = NULL;
  if (!e)
    return &za_err_oom;
  e->code = code;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  if (msg && sys)
    {
      char buf[256];
      /* GNU strerror_r: thread-safe, returns the text (maybe not in BUF).  */
      const char *text = strerror_r (errnum, buf, sizeof buf);
      if (asprintf (&e->msg, "%s: %s", msg, text) < 0)
        e->msg = NULL;
      free (msg);
    }
  else
    e->msg = msg;
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
      free_one (e);
      return &za_err_oom;
    }
  return e;
}

int
za_err_set_atv (struct za_err **err, int code, const char *file,
                const struct za_mark *at, const char *path, const char *fmt,
                va_list ap)
{
  append (err, make (code, file, at, path, false, 0, fmt, ap));
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
za_err_sys (struct za_err **err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  append (err, make (code, NULL, NULL, NULL, true, code, fmt, ap));
  va_end (ap);
  return -1;
}

int
za_err_sys_as (struct za_err **err, int code, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  append (err, make (code, NULL, NULL, NULL, true, errnum, fmt, ap));
  va_end (ap);
  return -1;
}

/* Prefix "CTX: " to the messages of FIRST and what follows it (all of
   them) or FIRST alone.  */
static void
prefix (struct za_err *first, bool all, const char *fmt, va_list ap)
{
  char *ctx = NULL;
  if (!first || first == &za_err_oom)
    return;
  if (vasprintf (&ctx, fmt, ap) < 0)
    return;
  for (struct za_err *e = first; e && e != &za_err_oom; e = all ? e->next : NULL)
    {
      char *m = NULL;
      if (asprintf (&m, "%s: %s", ctx, e->msg) >= 0)
        {
          free (e->msg);
          e->msg = m;
        }
    }
  free (ctx);
}

int
za_err_wrap (struct za_err **err, const char *fmt, ...)
{
  struct za_err *last;
  va_list ap;
  if (!err || !*err)
    return -1;
  for (last = *err; last->next; last = last->next)
    ;
  va_start (ap, fmt);
  prefix (last, false, fmt, ap);
  va_end (ap);
  return -1;
}

int
za_err_wrap_all (struct za_err **chain, const char *fmt, ...)
{
  va_list ap;
  if (!chain || !*chain)
    return -1;
  va_start (ap, fmt);
  prefix (*chain, true, fmt, ap);
  va_end (ap);
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
      free_one (e);
      e = next;
    }
  *err = NULL;
}

/* ---- the collector ------------------------------------------------- */

static size_t
errs_max (const struct za_errs *c)
{
  return c->max ? c->max : ZA_ERRS_MAX;
}

/* Keep E (one error, or the OOM sentinel), or count and free it.  */
static void
errs_push (struct za_errs *c, struct za_err *e)
{
  if (e != &za_err_oom && e->code == ZA_EINPUT && c->count++ >= errs_max (c))
    {
      free_one (e); /* counted, not kept */
      return;
    }
  if (c->tail == &za_err_oom)
    {
      free_one (e); /* nothing follows out of memory */
      return;
    }
  if (e != &za_err_oom)
    e->next = NULL;
  if (c->tail)
    c->tail->next = e;
  else
    c->head = e;
  c->tail = e;
}

int
za_errs_atv (struct za_errs *c, int code, const char *file, const struct za_mark *at, const char *path,
             const char *fmt, va_list ap)
{
  if (code == ZA_EINPUT && c->count >= errs_max (c))
    {
      c->count++; /* past the cap: count without formatting */
      return -1;
    }
  errs_push (c, make (code, file, at, path, false, 0, fmt, ap));
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

int
za_errs_set (struct za_errs *c, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  za_errs_atv (c, code, NULL, NULL, NULL, fmt, ap);
  va_end (ap);
  return -1;
}

void
za_errs_take (struct za_errs *c, struct za_err **e)
{
  struct za_err *chain = *e;
  *e = NULL;
  while (chain)
    {
      struct za_err *next = chain == &za_err_oom ? NULL : chain->next;
      errs_push (c, chain);
      chain = next;
    }
}

int
za_errs_finish (struct za_errs *c, struct za_err **err)
{
  size_t max = errs_max (c), left_out = c->count > max ? c->count - max : 0;
  struct za_err *head = c->head, *tail = c->tail;
  if (!za_errs_any (c))
    return 0;
  *c = (struct za_errs) ZA_ERRS_INIT (c->max);
  if (left_out)
    {
      /* In the file of the last kept input error, at no position: the
         ones left out are anywhere in it.  */
      const char *file = NULL;
      struct za_err *more = NULL;
      for (struct za_err *e = head; e && e != &za_err_oom; e = e->next)
        if (e->code == ZA_EINPUT && e->file)
          file = e->file;
      za_err_set_at (&more, file, NULL, NULL, "%zu more problem%s not shown", left_out, left_out == 1 ? "" : "s");
      if (tail)
        append (&tail, more); /* O(1): TAIL is the last of HEAD */
      else
        head = more;
    }
  za_err_append (err, &head);
  return -1;
}

void
za_errs_clear (struct za_errs *c)
{
  za_err_free (&c->head);
  *c = (struct za_errs) ZA_ERRS_INIT (c->max);
}
