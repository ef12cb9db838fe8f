/* Schema-driven decoding of a YAML node tree into C structs.

   Every struct the spec format knows is described once by a table of
   fields (name, type, offset, flags); one generic walker does the typing,
   defaults, unknown/duplicate/missing-key checks and error positions for
   all of them, so the ~200 keys of the ZLayer format share one code path.

   Scalar typing follows serde_yaml 0.9 (YAML 1.2 core schema), see
   za_scalar_classify.  Decoding does not stop at the first problem: errors
   are collected (up to a cap) so `zagent check` can report all of them.  */
#ifndef ZA_DECODE_H
#define ZA_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "yaml/yaml.h"
#include "util/arena.h"
#include "util/err.h"

/* Field value holders.  `set` is true when the key was present (and not
   null for Option fields); `m` is where the value was written.  */
struct za_str
{
  const char *s; /* NULL when absent */
  struct za_mark m;
};
struct za_bool
{
  bool set, v;
  struct za_mark m;
};
struct za_int
{
  bool set;
  int64_t v;
  struct za_mark m;
};
struct za_uint
{
  bool set;
  uint64_t v;
  struct za_mark m;
};
struct za_float
{
  bool set;
  double v;
  struct za_mark m;
};
struct za_dur
{
  bool set;
  uint64_t ns;
  const char *text;
  struct za_mark m;
};
struct za_enum
{
  bool set;
  int v; /* index into the field's names table */
  struct za_mark m;
};
struct za_strlist
{
  bool set;
  size_t n;
  struct za_str *v;
  struct za_mark m;
};
struct za_kv
{
  struct za_str key, val;
};
struct za_strmap
{
  size_t n;
  struct za_kv *v; /* document order */
  struct za_mark m;
};
struct za_list
{
  bool set;
  size_t n;
  void *v; /* n elements of the schema's size */
  struct za_mark m;
};
struct za_map_entry
{
  struct za_str key;
  void *val;
};
struct za_map
{
  size_t n;
  struct za_map_entry *v; /* document order */
  struct za_mark m;
};

enum za_ftype
{
  ZA_FT_STR,
  ZA_FT_BOOL,
  ZA_FT_INT,   /* za_int, range in min/max */
  ZA_FT_UINT,  /* za_uint (u64) */
  ZA_FT_FLOAT,
  ZA_FT_DUR,
  ZA_FT_ENUM,
  ZA_FT_STRLIST,
  ZA_FT_STRMAP,
  ZA_FT_STRUCT,     /* embedded struct */
  ZA_FT_OPT_STRUCT, /* pointer to struct, NULL when absent */
  ZA_FT_LIST,       /* za_list of sub */
  ZA_FT_MAP,        /* za_map of sub */
  ZA_FT_ANY,        /* const struct za_node * kept as is */
  ZA_FT_CUSTOM,
};

enum
{
  ZA_F_REQ = 1 << 0, /* missing key is an error */
  ZA_F_OPT = 1 << 1, /* Option<T>: a null value means absent */
};

struct za_dctx;
struct za_schema;

typedef int (*za_custom_fn) (struct za_dctx *c, const struct za_node *n,
                             void *dst);

struct za_field
{
  const char *name;
  enum za_ftype type;
  size_t off;
  unsigned flags;
  const char *alias;
  const struct za_schema *sub;
  const char *const *names; /* enum spellings, NULL-terminated */
  int64_t min, max;         /* ZA_FT_INT range */
  const char *tname;        /* "u32", … for messages */
  za_custom_fn custom;
};

struct za_variant
{
  const char *name;
  const struct za_field *fields;
  size_t nfields;
};

struct za_schema
{
  const char *name;
  size_t size;
  const struct za_field *fields;
  size_t nfields;
  bool allow_unknown;
  void (*defaults) (void *obj);
  /* Internally tagged enum: TAG names the key, the variant's index is
     stored as a za_enum at TAG_OFF, and each variant has its own fields
     (all pointing into the same flat struct).  */
  const char *tag;
  size_t tag_off;
  const struct za_variant *variants;
  size_t nvariants;
  /* What to write instead, added to "expected a mapping, got …" (the
     shapes users bring from Docker Compose).  */
  const char *hint;
};

struct za_dctx
{
  struct za_arena *arena;
  const char *file;
  /* Every problem found, ZA_ERRS_INIT (cap); the caller moves them to
     its chain with za_errs_finish once za_decode returns.  */
  struct za_errs errs;
  bool strict;   /* inside a tagged enum: scalars keep their inferred type */
  /* CDI dialect (sigs.k8s.io/yaml over go-yaml v2, then encoding/json):
     YAML 1.1 scalars, plain scalars into string fields take their
     canonical spelling (`010` -> "8", `on` -> "true"), keys match
     case-insensitively, null is the Go zero value everywhere.  */
  bool yaml11;
  /* Copy every decoded string into ARENA, so the node tree (in another
     arena) can be dropped after decoding: a registry keeps thousands of
     CDI files, and their trees were 10x the size of what they hold.  */
  bool copy_strings;
  /* Set for input that may be any file at all (a CDI spec can be a
     symlink to /etc/shadow): messages then quote no input text but key
     names that are field names somewhere in this schema; other keys,
     scalar values and tags are named by kind and position only.  NULL
     (the ZLayer spec, the user's own file): input is quoted as usual.  */
  const struct za_schema *redact;
  char path[1024];
  size_t plen;
};

/* What a scalar is under the YAML 1.2 core rules serde_yaml uses.  */
enum za_scalar_kind
{
  ZA_SK_NULL,
  ZA_SK_BOOL,
  ZA_SK_INT,
  ZA_SK_FLOAT,
  ZA_SK_STR,
};
enum za_scalar_kind za_scalar_classify (const struct za_node *n);
/* The same under YAML 1.1 as go-yaml v2 resolves it.  */
enum za_scalar_kind za_scalar_classify11 (const struct za_node *n);
/* Canonical text of a plain YAML 1.1 scalar as Go would print the value
   (bools "true"/"false", ints in decimal, floats as strconv 'g' -1, null
   ""); NULL when the text is kept as is.  Result in the arena.  */
const char *za_scalar_canonical11 (struct za_arena *a, const struct za_node *n);
/* Integer value of a ZA_SK_INT scalar; false if it does not fit.  */
bool za_scalar_int (const struct za_node *n, int64_t *i, uint64_t *u, bool *neg);

int za_decode (struct za_dctx *c, const struct za_schema *s,
               const struct za_node *n, void *obj);

/* Collect an input error at N (at no position when N is NULL), at the
   current path.  Returns -1.  */
int za_dctx_error (struct za_dctx *c, const struct za_node *n, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
int za_dctx_error_at (struct za_dctx *c, const struct za_mark *m, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Describe a node for "got …" messages.  */
const char *za_node_describe (const struct za_node *n, char *buf, size_t len);
/* The same, honouring C->redact (the kind of a scalar, not its text).  */
const char *za_dctx_describe (const struct za_dctx *c, const struct za_node *n, char *buf, size_t len);
/* KEY if messages may quote it (no redaction, or a field name of the
   redaction schema), else NULL.  */
const char *za_dctx_shown_key (const struct za_dctx *c, const char *key);

/* Path stack helpers.  */
size_t za_dctx_push_key (struct za_dctx *c, const char *key);
size_t za_dctx_push_index (struct za_dctx *c, size_t i);
void za_dctx_pop (struct za_dctx *c, size_t old);

/* Field table helpers.  */
#define ZA_FIELD(T, nm, ty, member, ...) \
  { .name = nm, .type = ty, .off = offsetof (T, member), __VA_ARGS__ }
#define ZA_SCHEMA(T, nm, tbl, ...) \
  { .name = nm, .size = sizeof (T), .fields = tbl, \
    .nfields = sizeof (tbl) / sizeof (tbl)[0], __VA_ARGS__ }

#endif
