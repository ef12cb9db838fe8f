/* OCI image config (zlayer-reference.md §4): the full image-config blob
   ({"config": {...}}) or the bare inner object.  */
#ifndef ZA_IMAGE_CONFIG_H
#define ZA_IMAGE_CONFIG_H

#include <stdbool.h>

#include "util/err.h"
#include "util/strv.h"

struct za_image_config
{
  char *user;        /* NULL when absent */
  char *working_dir; /* NULL when absent */
  struct za_strv env;
  struct za_strv entrypoint, cmd;
  bool has_entrypoint, has_cmd, has_env;
  char *stop_signal;
};

int za_image_config_parse (const char *name, const char *data, size_t len,
                           struct za_image_config **out, struct za_err **err);
int za_image_config_load_file (const char *path, struct za_image_config **out,
                               struct za_err **err);
void za_image_config_free (struct za_image_config *ic);

/* full_command(): entrypoint + cmd, or either, or neither (false).  */
bool za_image_config_full_command (const struct za_image_config *ic, struct za_strv *out);

#endif
