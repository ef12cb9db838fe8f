/* Internals of the decoder shared by yaml/decode.c (the walker),
   yaml/scalar.c (scalar typing) and yaml/dctx.c (errors, paths and what
   messages may quote).  */
#ifndef ZA_YAML_DECODE_INT_H
#define ZA_YAML_DECODE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yaml/decode.h"

/* TAG is the core-schema tag "tag:yaml.org,2002:WHAT".  */
bool za_yaml_is_core_tag (const char *tag, const char *what);
/* A YAML 1.2 core float (".inf", ".nan" spelled as the schema allows).  */
bool za_yaml_parse_float (const char *s, double *out);
/* Value of a ZA_SK_BOOL scalar (YAML 1.2).  */
bool za_scalar_bool (const struct za_node *n);
/* YAML 1.1 (go-yaml v2): 1 true, 0 false, -1 not a bool.  */
int za_scalar_bool11 (const char *v);
/* A YAML 1.1 int; with BUF, its decimal text.  */
bool za_scalar_int11 (const char *v, char *buf, size_t len, int64_t *iv, uint64_t *uv, bool *neg);
bool za_scalar_float11 (const char *v, double *out);

/* S (SLEN bytes) quoted and escaped into BUF, cut after 64 bytes.  */
void za_yaml_quote_into (char *buf, size_t len, const char *s, size_t slen);
/* A free-form key for the dotted path: "<key>" when it is redacted.  */
const char *za_dctx_path_key (const struct za_dctx *c, const char *key);

#endif
