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
