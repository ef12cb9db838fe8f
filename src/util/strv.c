#define _GNU_SOURCE
#include "strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
za_strv_push_take (struct za_strv *s, char *str)
{
  if (!str)
    return -1;
  if (s->n + 2 > s->cap)
    {
      size_t cap = s->cap ? s->cap * 2 : 8;
      char **v = realloc (s->v, cap * sizeof *v);
      if (!v)
        {
          free (str);
          return -1;
        }
      s->v = v;
      s->cap = cap;
    }
  s->v[s->n++] = str;
  s->v[s->n] = NULL;
  return 0;
}

int
za_strv_push (struct za_strv *s, const char *str)
{
  return za_strv_push_take (s, strdup (str));
}

int
za_strv_pushf (struct za_strv *s, const char *fmt, ...)
{
  char *p = NULL;
  va_list ap;
  int n;
  va_start (ap, fmt);
  n = vasprintf (&p, fmt, ap);
  va_end (ap);
  return za_strv_push_take (s, n < 0 ? NULL : p);
}

bool
za_strv_contains (const struct za_strv *s, const char *str)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcmp (s->v[i], str) == 0)
      return true;
  return false;
}

void
za_strv_remove_at (struct za_strv *s, size_t i)
{
  if (i >= s->n)
    return;
  free (s->v[i]);
  memmove (&s->v[i], &s->v[i + 1], (s->n - i) * sizeof *s->v);
  s->n--;
}

void
za_strv_clear (struct za_strv *s)
{
  for (size_t i = 0; i < s->n; i++)
    free (s->v[i]);
  free (s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

static bool
key_matches (const char *entry, const char *key, size_t keylen)
{
  return strncmp (entry, key, keylen) == 0
         && (entry[keylen] == '=' || entry[keylen] == '\0');
}

bool
za_env_has_key (const struct za_strv *env, const char *key, size_t keylen)
{
  for (size_t i = 0; i < env->n; i++)
    if (key_matches (env->v[i], key, keylen))
      return true;
  return false;
}

void
za_env_remove_key (struct za_strv *env, const char *key, size_t keylen)
{
  for (size_t i = env->n; i-- > 0;)
    if (key_matches (env->v[i], key, keylen))
      za_strv_remove_at (env, i);
}

int
za_env_replace (struct za_strv *env, const char *entry)
{
  const char *eq = strchr (entry, '=');
  za_env_remove_key (env, entry, eq ? (size_t) (eq - entry) : strlen (entry));
  return za_strv_push (env, entry);
}

int
za_env_replace_kv (struct za_strv *env, const char *key, const char *value)
{
  za_env_remove_key (env, key, strlen (key));
  return za_strv_pushf (env, "%s=%s", key, value);
}

/* za_env_settle: KEY is the text before the first '=' (all of it without
   one).  */
struct env_key
{
  const char *s;
  size_t len, idx;
};

static size_t
env_key_len (const char *e)
{
  const char *eq = strchr (e, '=');
  return eq ? (size_t) (eq - e) : strlen (e);
}

static int
env_key_cmp_only (const struct env_key *x, const struct env_key *y)
{
  int r = memcmp (x->s, y->s, x->len < y->len ? x->len : y->len);
  return r ? r : (x->len > y->len) - (x->len < y->len);
}

static int
env_key_cmp (const void *a, const void *b)
{
  const struct env_key *x = a, *y = b;
  int r = env_key_cmp_only (x, y);
  return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

static int
env_key_search (const void *a, const void *b)
{
  return env_key_cmp_only (a, b);
}

int
za_env_settle (struct za_strv *env, size_t first)
{
  size_t n = env->n > first ? env->n - first : 0, out = 0;
  struct env_key *k;
  bool *drop;

  if (n == 0)
    return 0;
  k = malloc (n * sizeof *k);
  drop = calloc (env->n, sizeof *drop);
  if (!k || !drop)
    {
      free (k);
      free (drop);
      return -1;
    }
  for (size_t i = 0; i < n; i++)
    k[i] = (struct env_key) { env->v[first + i], env_key_len (env->v[first + i]), first + i };
  qsort (k, n, sizeof *k, env_key_cmp);
  /* an appended entry set again later is dropped ...  */
  for (size_t i = 0; i + 1 < n; i++)
    if (env_key_cmp_only (&k[i], &k[i + 1]) == 0)
      drop[k[i].idx] = true;
  /* ... and so is an earlier entry whose key was appended  */
  for (size_t i = 0; i < first; i++)
    {
      struct env_key q = { env->v[i], env_key_len (env->v[i]), i };
      drop[i] = bsearch (&q, k, n, sizeof *k, env_key_search) != NULL;
    }
  for (size_t i = 0; i < env->n; i++)
    if (drop[i])
      free (env->v[i]);
    else
      env->v[out++] = env->v[i];
  env->n = out;
  env->v[out] = NULL;
  free (k);
  free (drop);
  return 0;
}

struct name_ref
{
  const char *s;
  size_t idx;
};

static int
name_ref_cmp (const void *a, const void *b)
{
  const struct name_ref *x = a, *y = b;
  int r = strcmp (x->s, y->s);
  return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

bool *
za_dup_flags (const char *const *names, size_t n)
{
  bool *dup = calloc (n ? n : 1, sizeof *dup);
  struct name_ref *r = calloc (n ? n : 1, sizeof *r);
  size_t m = 0;
  if (!dup || !r)
    {
      free (dup);
      free (r);
      return NULL;
    }
  for (size_t i = 0; i < n; i++)
    if (names[i])
      r[m++] = (struct name_ref) { names[i], i };
  qsort (r, m, sizeof *r, name_ref_cmp);
  for (size_t i = 1; i < m; i++)
    if (strcmp (r[i].s, r[i - 1].s) == 0)
      dup[r[i].idx] = true;
  free (r);
  return dup;
}

int
za_strbuf_add (struct za_strbuf *b, const void *p, size_t n)
{
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 256;
      char *nd;
      while (cap < b->len + n + 1)
        cap *= 2;
      nd = realloc (b->data, cap);
      if (!nd)
        return -1;
      b->data = nd;
      b->cap = cap;
    }
  memcpy (b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

void
za_strbuf_clear (struct za_strbuf *b)
{
  free (b->data);
  *b = (struct za_strbuf) { 0 };
}

void
za_escape_into (char *buf, size_t len, const char *s, size_t slen)
{
  size_t o = 0;
  for (size_t i = 0; i < slen && o + 8 < len; i++)
    {
      unsigned char c = (unsigned char) s[i];
      if (i == 64)
        {
          memcpy (buf + o, "...", 3);
          o += 3;
          break;
        }
      if (c == '"' || c == '\\')
        {
          buf[o++] = '\\';
          buf[o++] = (char) c;
        }
      else if (c < 0x20 || c == 0x7f)
        o += (size_t) snprintf (buf + o, len - o, "\\x%02x", c);
      else
        buf[o++] = (char) c;
    }
  buf[o] = '\0';
}
