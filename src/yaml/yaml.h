/* YAML text -> a tree of nodes with source marks, built from libyaml's
   event stream.  The tree lives in an arena owned by the caller.

   Limits make hostile input an input error instead of a hang: nesting
   depth, node count counted *after* alias expansion (so "billion laughs"
   is rejected while it is still small), scalar length, sequence length,
   input size.  */
#ifndef ZA_YAML_H
#define ZA_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"
#include "util/err.h"

enum za_node_type
{
  ZA_NODE_SCALAR,
  ZA_NODE_SEQ,
  ZA_NODE_MAP,
};

struct za_node
{
  enum za_node_type type;
  bool plain;        /* scalar written without quotes or block style */
  struct za_mark mark;
  const char *tag;   /* explicit tag ("tag:yaml.org,2002:str"), or NULL */
  const char *value; /* scalar text, NUL-terminated */
  size_t len;        /* scalar length (may contain NUL bytes) */
  struct za_node **items; /* seq: n items; map: 2n (key, value, ...) */
  size_t n;
  size_t weight;     /* nodes in this subtree once aliases are expanded */
};

struct za_yaml_limits
{
  size_t max_input;   /* bytes */
  unsigned max_depth; /* capped at 128 */
  size_t max_nodes;   /* after alias expansion */
  size_t max_scalar;  /* bytes per scalar */
  size_t max_seq;     /* items per sequence (aliases count as one); 0 = 100000 */
};

extern const struct za_yaml_limits za_yaml_default_limits;

/* Parse exactly one document.  FILE names the input in errors.  An empty
   stream yields *OUT = NULL.  More than one document is an error.  */
int za_yaml_parse (struct za_arena *arena, const char *file, const char *data,
                   size_t len, const struct za_yaml_limits *limits,
                   struct za_node **out, struct za_err **err);

static inline struct za_node *
za_map_key (const struct za_node *m, size_t i)
{
  return m->items[2 * i];
}
static inline struct za_node *
za_map_val (const struct za_node *m, size_t i)
{
  return m->items[2 * i + 1];
}

#endif
