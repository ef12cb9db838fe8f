#define _GNU_SOURCE
#include "oci/image_config.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

#define ZA_IMAGE_CONFIG_MAX (8u << 20)

void
za_image_config_free (struct za_image_config *ic)
{
  if (!ic)
    return;
  free (ic->user);
  free (ic->working_dir);
  free (ic->stop_signal);
  za_strv_clear (&ic->env);
  za_strv_clear (&ic->entrypoint);
  za_strv_clear (&ic->cmd);
  free (ic);
}

static int
get_string (const char *file, json_t *obj, const char *key, char **out, struct za_err **err)
{
  json_t *v = json_object_get (obj, key);
  if (!v || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return za_err_set_at (err, file, NULL, NULL, "config.%s: expected a string", key);
  *out = strdup (json_string_value (v));
  return *out ? 0 : za_err_set (err, ENOMEM, "out of memory");
}

static int
get_strv (const char *file, json_t *obj, const char *key, struct za_strv *out, bool *present,
          struct za_err **err)
{
  json_t *v = json_object_get (obj, key), *it;
  size_t i;
  if (!v || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return za_err_set_at (err, file, NULL, NULL, "config.%s: expected a list of strings", key);
  json_array_foreach (v, i, it)
    {
      if (!json_is_string (it))
        return za_err_set_at (err, file, NULL, NULL, "config.%s[%zu]: expected a string", key, i);
      if (za_strv_push (out, json_string_value (it)) < 0)
        return za_err_set (err, ENOMEM, "out of memory");
    }
  *present = true;
  return 0;
}

int
za_image_config_parse (const char *name, const char *data, size_t len,
                       struct za_image_config **out, struct za_err **err)
{
  json_error_t jerr;
  json_t *root, *cfg;
  struct za_image_config *ic;
  int ret = 0;

  *out = NULL;
  root = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    {
      struct za_mark m = { (unsigned) (jerr.line > 0 ? jerr.line : 1),
                           (unsigned) (jerr.column > 0 ? jerr.column : 1) };
      return za_err_set_at (err, name, &m, NULL, "invalid image config JSON: %s", jerr.text);
    }
  if (!json_is_object (root))
    {
      json_decref (root);
      return za_err_set_at (err, name, NULL, NULL, "image config: expected a JSON object");
    }
  /* The blob has "config" (and architecture/os/rootfs); the bare form is
     the inner object itself.  */
  cfg = json_object_get (root, "config");
  if (cfg && json_is_null (cfg))
    cfg = NULL;
  if (cfg && !json_is_object (cfg))
    {
      json_decref (root);
      return za_err_set_at (err, name, NULL, NULL, "config: expected an object");
    }
  if (!cfg && !json_object_get (root, "rootfs") && !json_object_get (root, "architecture"))
    cfg = root;
  ic = calloc (1, sizeof *ic);
  if (!ic)
    {
      json_decref (root);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  if (cfg)
    {
      if (get_string (name, cfg, "User", &ic->user, err) < 0
          || get_string (name, cfg, "WorkingDir", &ic->working_dir, err) < 0
          || get_string (name, cfg, "StopSignal", &ic->stop_signal, err) < 0
          || get_strv (name, cfg, "Env", &ic->env, &ic->has_env, err) < 0
          || get_strv (name, cfg, "Entrypoint", &ic->entrypoint, &ic->has_entrypoint, err) < 0
          || get_strv (name, cfg, "Cmd", &ic->cmd, &ic->has_cmd, err) < 0)
        ret = -1;
      /* Entries are VARNAME=VARVALUE (image-spec); runc refuses the
         container at start for anything else.  */
      for (size_t i = 0; ret == 0 && i < ic->env.n; i++)
        if (ic->env.v[i][0] == '=' || !strchr (ic->env.v[i], '='))
          ret = za_err_set_at (err, name, NULL, NULL, "config.Env[%zu]: `%s` is not KEY=VALUE", i, ic->env.v[i]);
    }
  json_decref (root);
  if (ret < 0)
    {
      za_image_config_free (ic);
      return -1;
    }
  *out = ic;
  return 0;
}

int
za_image_config_load_file (const char *path, struct za_image_config **out, struct za_err **err)
{
  char *data = NULL;
  size_t len = 0;
  int ret;
  *out = NULL;
  if (za_read_input (path, ZA_IMAGE_CONFIG_MAX, &data, &len, err) < 0)
    return -1;
  ret = za_image_config_parse (path, data, len, out, err);
  free (data);
  return ret;
}

bool
za_image_config_full_command (const struct za_image_config *ic, struct za_strv *out)
{
  if (!ic || (!ic->has_entrypoint && !ic->has_cmd))
    return false;
  for (size_t i = 0; ic->has_entrypoint && i < ic->entrypoint.n; i++)
    if (za_strv_push (out, ic->entrypoint.v[i]) < 0)
      return false;
  for (size_t i = 0; ic->has_cmd && i < ic->cmd.n; i++)
    if (za_strv_push (out, ic->cmd.v[i]) < 0)
      return false;
  return true;
}
