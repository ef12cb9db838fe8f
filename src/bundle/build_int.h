/* What the parts of the config generator share (build.c assembles;
   build_process.c, build_mounts.c and build_linux.c each write one
   top-level block of config.json).  Not a public interface.  */
#ifndef ZA_BUILD_INT_H
#define ZA_BUILD_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/build.h"
#include "gpu/gpu.h"
#include "util/err.h"

struct gen
{
  const struct za_spec *spec;
  const struct za_service *svc;
  const struct za_build_opts *o;
  /* every input error and warning of the build, in order */
  struct za_errs errs, warns;
  const char *file;
  const char *id;
  char base[1100]; /* "services.<name>" */
  bool rootless, privileged, host_network;
  bool oom;
  struct za_gpu_plan gpu; /* empty without a GPU request */
};

/* jansson helpers: any allocation failure latches g->oom.  */
static inline json_t *
jcheck (struct gen *g, json_t *v)
{
  if (!v)
    g->oom = true;
  return v;
}
#define JSTR(s) jcheck (g, json_string (s))
#define JINT(i) jcheck (g, json_integer ((json_int_t) (i)))
#define JBOOL(b) json_boolean (b)
#define JSTR_(g, s) jcheck (g, json_string (s))
static inline void
jset (struct gen *g, json_t *obj, const char *key, json_t *v)
{
  if (!v || json_object_set_new (obj, key, v) < 0)
    g->oom = true;
}
static inline void
jpush (struct gen *g, json_t *arr, json_t *v)
{
  if (!v || json_array_append_new (arr, v) < 0)
    g->oom = true;
}

/* An error without a position in the spec (an option, the host, out of
   memory) into the build's collector; returns -1.  */
int za_gen_error (struct gen *g, int code, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* Move a chain of errors or warnings from a callee into G's collector.  */
void za_gen_take (struct gen *g, struct za_err **errs, struct za_err **warns);

/* The blocks of config.json.  Each reports its problems to G and returns
   -1 when it found any; OOM in jansson only latches g->oom.  */
int za_gen_process (struct gen *g, json_t **out);
int za_gen_mounts (struct gen *g, json_t **out, char **resolv);
int za_gen_linux (struct gen *g, json_t **out);

/* Rootless: the caller's sub-id range (START, COUNT) when the container
   gets one (build_linux.c); false otherwise.  */
bool za_gen_subid (struct gen *g, bool gid, uint32_t *start, uint32_t *count);

#endif
