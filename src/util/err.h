/* The error value: a message plus where it came from (file, line, column,
   dotted field path).  Errors chain through `next`, so a checker can report
   every problem it found, one line each.  docs/errors.md describes the
   model: codes and exit statuses, wrapping, the collector, out of memory.  */
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

/* All setters append a new error at the end of the chain in *ERR (ERR
   may be NULL: the error is dropped) and return -1, so a failure path is
   one line:
     return za_err_set (err, ZA_EINPUT, "`%s` is not a directory", path);
   Out of memory never aborts: the chain then ends in a static "out of
   memory" error (code ENOMEM) that za_err_free leaves alone; nothing is
   appended after it.  */
int za_err_set (struct za_err **err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int za_err_setv (struct za_err **err, int code, const char *fmt, va_list ap);
/* An input error (ZA_EINPUT) at a position of FILE and a field PATH;
   AT and PATH may be NULL.  */
int za_err_set_at (struct za_err **err, const char *file,
                   const struct za_mark *at, const char *path, const char *fmt,
                   ...) __attribute__ ((format (printf, 5, 6)));
int za_err_set_atv (struct za_err **err, int code, const char *file,
                    const struct za_mark *at, const char *path,
                    const char *fmt, va_list ap);

/* A failed system call: the code is the errno value CODE, and the message
   FMT followed by ": " and strerror (CODE), so no caller formats errno
   text itself:
     return za_err_sys (err, errno, "open `%s`", path);
     -> "open `x`: No such file or directory"  */
int za_err_sys (struct za_err **err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* The same text for ERRNUM, with CODE as the error's code: a system
   call that failed because of the caller's input (a missing input file
   is ZA_EINPUT, exit status 2).  */
int za_err_sys_as (struct za_err **err, int code, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Prefix the message of the LAST error of the chain *ERR (the one the
   call that just failed appended) with "CONTEXT: ".  Errors collected
   earlier in the chain are left alone:
     if (za_rm_rf_at (AT_FDCWD, dir, err) < 0)
       return za_err_wrap (err, "remove `%s`", dir);
   Does nothing to an empty chain or one that ends in out of memory, nor
   when formatting CONTEXT runs out of memory (the error stays as it was).
   Returns -1.  */
int za_err_wrap (struct za_err **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Prefix every error of CHAIN.  For a chain that holds only what one call
   reported (possibly several problems), collected locally before
   za_err_append moves it to the caller's chain:
     struct za_err *e = NULL;
     if (undo (c, &e) < 0)
       za_err_wrap_all (&e, "cleanup");
     za_err_append (warnings, &e);  */
int za_err_wrap_all (struct za_err **chain, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Move the whole chain of *SRC to the end of *DST (DST NULL: free it).  */
void za_err_append (struct za_err **dst, struct za_err **src);

/* "file:line:col: path: message" (parts that are unknown are left out).
   Returns a malloc'd string or NULL on OOM.  */
char *za_err_format (const struct za_err *e);

/* true if every error in the chain is an input error (ZA_EINPUT).  */
bool za_err_is_input (const struct za_err *e);
size_t za_err_count (const struct za_err *e);

/* Free the chain and set *ERR to NULL.  */
void za_err_free (struct za_err **err);

/* A collector of input errors for checkers that report every problem
   they find (the decoder, validation, the bundle build, CDI specs).  O(1)
   per error: it keeps the last one, where appending to a chain walks it.
   At most MAX input errors are kept (0: ZA_ERRS_MAX); the ones past MAX
   are counted, not formatted, and za_errs_finish adds one line saying how
   many were left out.  System errors (any other code: out of memory) are
   always kept and not counted against MAX.

     struct za_errs c = ZA_ERRS_INIT (ZA_ERRS_MAX);
     za_errs_at (&c, file, &mark, "services.web.image", "must not be empty");
     …
     return za_errs_finish (&c, err);   // -1 if anything was collected

   A collector owns what it holds until za_errs_finish or za_errs_clear;
   it holds no pointer to itself, so it may be copied while empty.  */
#define ZA_ERRS_MAX 100
struct za_errs
{
  struct za_err *head, *tail; /* kept errors, first and last */
  size_t count;               /* input errors collected, kept or not */
  size_t max;                 /* input errors kept at most; 0: ZA_ERRS_MAX */
};
#define ZA_ERRS_INIT(m) { NULL, NULL, 0, (m) }
/* An input error (ZA_EINPUT) at a position of FILE; AT, PATH may be NULL.  */
int za_errs_at (struct za_errs *c, const char *file, const struct za_mark *at, const char *path,
                const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
int za_errs_atv (struct za_errs *c, int code, const char *file, const struct za_mark *at, const char *path,
                 const char *fmt, va_list ap);
/* An error with CODE and no position (ENOMEM: out of memory).  */
int za_errs_set (struct za_errs *c, int code, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* Move every error of *E into the collector (input errors counted
   against MAX).  */
void za_errs_take (struct za_errs *c, struct za_err **e);
/* true once anything was collected (count alone misses system errors).  */
static inline bool
za_errs_any (const struct za_errs *c)
{
  return c->head || c->count;
}
/* Move what was collected to the end of *ERR, with the line "N more
   problems not shown" (in the file of the last kept input error) when
   input errors were left out; -1 if anything was collected, else 0.  The
   collector is empty again afterwards, with the same MAX.  */
int za_errs_finish (struct za_errs *c, struct za_err **err);
/* Drop what was collected.  */
void za_errs_clear (struct za_errs *c);

static inline void
za_err_freep (struct za_err **e)
{
  za_err_free (e);
}
#define cleanup_err __attribute__ ((cleanup (za_err_freep)))

#endif
