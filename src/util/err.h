/* The error value: a message plus where it came from (file, line, column,
   dotted field path).  Errors chain through `next`, so a checker can report
   every problem it found, one line each.  */
#ifndef ZA_ERR_H
#define ZA_ERR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* code for invalid input (spec, image config, CLI options): exit status 2.
   Any other code is an errno value: a system failure, exit status 1.  */
#define ZA_EINPUT (-1000)

struct za_mark
{
  unsigned line, col; /* 1-based; 0 when unknown */
};

struct za_err
{
  int code;
  char *msg;
  char *path; /* dotted field path, NULL if none */
  char *file; /* input file name, NULL if not from a file */
  unsigned line, col;
  struct za_err *next;
};

/* All setters append a new error at the end of the chain in *ERR and
   return -1, so a failure path is one line:
     return za_err_set (err, errno, "open `%s`", path);  */
int za_err_set (struct za_err **err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int za_err_setv (struct za_err **err, int code, const char *fmt, va_list ap);
int za_err_set_at (struct za_err **err, const char *file,
                   const struct za_mark *at, const char *path, const char *fmt,
                   ...) __attribute__ ((format (printf, 5, 6)));
int za_err_set_atv (struct za_err **err, int code, const char *file,
                    const struct za_mark *at, const char *path,
                    const char *fmt, va_list ap);

/* Prefix the message of every error in the chain with "CONTEXT: ".  */
int za_err_wrap (struct za_err **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Move the whole chain of *SRC to the end of *DST.  */
void za_err_append (struct za_err **dst, struct za_err **src);

/* "file:line:col: path: message" (parts that are unknown are left out).
   Returns a malloc'd string or NULL on OOM.  */
char *za_err_format (const struct za_err *e);

/* 1 if any error in the chain is a system failure, else 0.  */
bool za_err_is_input (const struct za_err *e);
size_t za_err_count (const struct za_err *e);

void za_err_free (struct za_err **err);

/* A collector of input errors for checkers that report every problem
   they find (validation, the decoder, the bundle build, CDI specs): O(1)
   per error (it keeps the tail), at most MAX kept; the ones past MAX are
   counted, and finishing adds one line saying how many were left out.

     struct za_errs c = ZA_ERRS_INIT (ZA_ERRS_MAX);
     za_errs_at (&c, file, &mark, "services.web.image", "must not be empty");
     …
     return za_errs_finish (&c, err);   // -1 if anything was collected  */
#define ZA_ERRS_MAX 100
struct za_errs
{
  struct za_err *head, **tail;
  size_t count, max;
};
#define ZA_ERRS_INIT(m) { NULL, NULL, 0, (m) }
int za_errs_at (struct za_errs *c, const char *file, const struct za_mark *at, const char *path,
                const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
int za_errs_atv (struct za_errs *c, int code, const char *file, const struct za_mark *at, const char *path,
                 const char *fmt, va_list ap);
/* Move every error of *E into the collector (counted against MAX).  */
void za_errs_take (struct za_errs *c, struct za_err **e);
/* Move what was collected to the end of *ERR; -1 if anything was, else 0.  */
int za_errs_finish (struct za_errs *c, struct za_err **err);
void za_errs_clear (struct za_errs *c);

static inline void
za_err_freep (struct za_err **e)
{
  za_err_free (e);
}
#define cleanup_err __attribute__ ((cleanup (za_err_freep)))

#endif
