/* Environment value resolution (zlayer-reference.md §2): literals,
   $E:NAME from the host environment, $S: secret references read from a
   file-backed secrets store.  Secret values never appear in messages.  */
#ifndef ZA_ENV_H
#define ZA_ENV_H

#include <stdbool.h>

#include "yaml/decode.h"
#include "util/err.h"
#include "util/strv.h"

struct za_secret_ref
{
  char *service; /* @service form, else NULL */
  char *project, *env; /* [project]:env form (parsed, then ignored) */
  char *name;
  char *field; /* /field, else NULL */
};

/* Parse the text after "$S:".  false = invalid syntax.  */
bool za_secret_ref_parse (const char *ref, struct za_secret_ref *out);
void za_secret_ref_clear (struct za_secret_ref *r);
/* Secret and service names: a letter, then [A-Za-z0-9_-].  */
bool za_secret_name_valid (const char *name);

struct za_secrets
{
  const char *dir;     /* NULL: no store configured */
  const char *scope;   /* deployment scope */
  const char *service; /* for @service refs: scope/service */
};

/* Resolve every entry of ENV (document order) and replace-append
   "KEY=VALUE" into OUT.  FILE/PATH locate errors ("services.web.env").
   Warnings (empty $E: values) are appended to *WARN.  */
int za_env_resolve (const struct za_strmap *env, const struct za_secrets *sec,
                    const char *file, const char *path, struct za_strv *out,
                    struct za_err **warn, struct za_err **err);

/* Check $S: syntax of every value without resolving (validation).  */
int za_env_check_refs (const struct za_strmap *env, const char *file, const char *path,
                       struct za_err **err);
/* The same, into a checker's collector; -1 if it found a problem.  */
int za_env_check_refs_into (const struct za_strmap *env, const char *file, const char *path,
                            struct za_errs *c);

#endif
