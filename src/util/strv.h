/* Growable NULL-terminated vector of owned strings (env, args, options).  */
#ifndef ZA_STRV_H
#define ZA_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct za_strv
{
  char **v; /* NULL-terminated once anything was added */
  size_t n, cap;
};

/* 0 or -1 on OOM.  */
int za_strv_push (struct za_strv *s, const char *str);
int za_strv_push_take (struct za_strv *s, char *str);
int za_strv_pushf (struct za_strv *s, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
bool za_strv_contains (const struct za_strv *s, const char *str);
void za_strv_remove_at (struct za_strv *s, size_t i);
void za_strv_clear (struct za_strv *s);

/* Environment helpers: KEY is the text before the first '='.  */
bool za_env_has_key (const struct za_strv *env, const char *key, size_t keylen);
/* Remove every KEY=… entry, then append ENTRY ("KEY=VALUE").  */
int za_env_replace (struct za_strv *env, const char *entry);
void za_env_remove_key (struct za_strv *env, const char *key, size_t keylen);
/* The same with KEY and VALUE apart.  */
int za_env_replace_kv (struct za_strv *env, const char *key, const char *value);
/* The entries from index FIRST on were appended in order, each meant to
   replace every earlier entry with its key (as za_env_replace would have):
   remove those earlier entries.  O(n log n) where a za_env_replace per
   entry is quadratic.  0, or -1 on OOM (ENV unchanged).  */
int za_env_settle (struct za_strv *env, size_t first);

/* Duplicate names in O(n log n): a malloc'd array where [i] is true when
   NAMES[i] is not NULL and equals an earlier NAMES[j].  NULL on OOM.  */
bool *za_dup_flags (const char *const *names, size_t n);

/* A growable byte buffer, NUL-terminated once anything was added.  */
struct za_strbuf
{
  char *data;
  size_t len, cap;
};
/* 0 or -1 on OOM.  */
int za_strbuf_add (struct za_strbuf *b, const void *p, size_t n);
void za_strbuf_clear (struct za_strbuf *b);

/* S[0..SLEN) as messages quote input: '"', '\\' and control bytes escaped
   (a newline must not forge a second error line), at most 64 bytes, then
   "...".  Writes at most LEN bytes to BUF, NUL included (LEN >= 8).  */
void za_escape_into (char *buf, size_t len, const char *s, size_t slen);

static inline void
za_strv_clearp (struct za_strv *s)
{
  za_strv_clear (s);
}
#define cleanup_strv __attribute__ ((cleanup (za_strv_clearp)))

#endif
