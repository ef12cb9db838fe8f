#define _GNU_SOURCE
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct za_arena_block
{
  struct za_arena_block *next;
  size_t used, cap;
  max_align_t data[];
};

/* Blocks start small and double: a 300-byte CDI spec must not cost 32 KiB
   (10,000 of them did: 260 MB), a big deployment spec still ends up in a
   few large blocks.  */
#define ZA_ARENA_FIRST (2 * 1024)
#define ZA_ARENA_MAX (64 * 1024)

void *
za_arena_calloc (struct za_arena *a, size_t n, size_t size)
{
  const size_t align = _Alignof (max_align_t);
  size_t bytes;
  struct za_arena_block *b = a->head;

  if (__builtin_mul_overflow (n, size, &bytes) || bytes > SIZE_MAX / 2)
    return NULL;
  bytes = (bytes + align - 1) & ~(align - 1);
  if (bytes == 0)
    bytes = align;
  if (!b || b->cap - b->used < bytes)
    {
      size_t regular = a->next_block ? a->next_block : ZA_ARENA_FIRST;
      size_t cap = bytes > regular ? bytes : regular;
      b = malloc (sizeof *b + cap);
      if (!b)
        return NULL;
      b->used = 0;
      b->cap = cap;
      if (cap == regular)
        a->next_block = regular < ZA_ARENA_MAX ? regular * 2 : regular;
      /* Big one-off blocks go second so the current block keeps filling.  */
      if (a->head && cap > regular)
        {
          b->next = a->head->next;
          a->head->next = b;
        }
      else
        {
          b->next = a->head;
          a->head = b;
        }
    }
  void *p = (char *) b->data + b->used;
  b->used += bytes;
  memset (p, 0, bytes);
  return p;
}

char *
za_arena_strndup (struct za_arena *a, const char *s, size_t len)
{
  char *p;
  if (len == SIZE_MAX)
    return NULL;
  p = za_arena_calloc (a, 1, len + 1);
  if (p && len)
    memcpy (p, s, len);
  return p;
}

char *
za_arena_strdup (struct za_arena *a, const char *s)
{
  return s ? za_arena_strndup (a, s, strlen (s)) : NULL;
}

char *
za_arena_printf (struct za_arena *a, const char *fmt, ...)
{
  char *tmp = NULL, *out;
  va_list ap;
  int n;
  va_start (ap, fmt);
  n = vasprintf (&tmp, fmt, ap);
  va_end (ap);
  if (n < 0)
    return NULL;
  out = za_arena_strndup (a, tmp, (size_t) n);
  free (tmp);
  return out;
}

void
za_arena_release (struct za_arena *a)
{
  struct za_arena_block *b = a->head;
  while (b)
    {
      struct za_arena_block *next = b->next;
      free (b);
      b = next;
    }
  a->head = NULL;
}
