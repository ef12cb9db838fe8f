/* A bump allocator: the parsed spec owns one arena and every string, list
   and struct of the spec lives in it, so the whole model is freed at once
   and nothing inside it needs an owner of its own.  */
#ifndef ZA_ARENA_H
#define ZA_ARENA_H

#include <stddef.h>

struct za_arena_block;

struct za_arena
{
  struct za_arena_block *head;
  size_t next_block; /* size of the next regular block; 0 = first */
};

/* Zeroed memory, or NULL on OOM (or when N*SIZE overflows).  */
void *za_arena_calloc (struct za_arena *a, size_t n, size_t size);
char *za_arena_strndup (struct za_arena *a, const char *s, size_t len);
char *za_arena_strdup (struct za_arena *a, const char *s);
char *za_arena_printf (struct za_arena *a, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void za_arena_release (struct za_arena *a);

#endif
