/* The text of a generated CDI spec: JSON, or YAML (nvidia-ctk's default
   format) through libyaml's emitter.  */
#define _GNU_SOURCE
#include "gpu/gpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/cleanup.h"
#include "util/strv.h"

static int
out_handler (void *data, unsigned char *buf, size_t size)
{
  return za_strbuf_add (data, buf, size) == 0;
}

static int
scalar (yaml_emitter_t *e, const char *s, bool quoted)
{
  yaml_event_t ev;
  /* Values are double-quoted so none reads back as a number or a bool
     ("0", "true"); keys and numbers stay plain.  */
  yaml_scalar_event_initialize (&ev, NULL, NULL, (yaml_char_t *) s, (int) strlen (s), !quoted, quoted,
                                quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE);
  return yaml_emitter_emit (e, &ev) ? 0 : -1;
}

static int
emit (yaml_emitter_t *e, json_t *v)
{
  yaml_event_t ev;
  char num[64];
  switch (json_typeof (v))
    {
    case JSON_OBJECT:
      {
        const char *k;
        json_t *x;
        yaml_mapping_start_event_initialize (&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit (e, &ev))
          return -1;
        json_object_foreach (v, k, x)
          if (scalar (e, k, false) < 0 || emit (e, x) < 0)
            return -1;
        yaml_mapping_end_event_initialize (&ev);
        return yaml_emitter_emit (e, &ev) ? 0 : -1;
      }
    case JSON_ARRAY:
      {
        size_t i;
        json_t *x;
        yaml_sequence_start_event_initialize (&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit (e, &ev))
          return -1;
        json_array_foreach (v, i, x)
          if (emit (e, x) < 0)
            return -1;
        yaml_sequence_end_event_initialize (&ev);
        return yaml_emitter_emit (e, &ev) ? 0 : -1;
      }
    case JSON_STRING:
      return scalar (e, json_string_value (v), true);
    case JSON_INTEGER:
      snprintf (num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value (v));
      return scalar (e, num, false);
    case JSON_TRUE:
    case JSON_FALSE:
      return scalar (e, json_is_true (v) ? "true" : "false", false);
    default:
      return scalar (e, "null", false);
    }
}

static int
to_yaml (json_t *spec, char **out)
{
  struct za_strbuf b = { 0 };
  yaml_emitter_t e;
  yaml_event_t ev;
  int ok;
  if (!yaml_emitter_initialize (&e))
    return -1;
  yaml_emitter_set_output (&e, out_handler, &b);
  yaml_emitter_set_unicode (&e, 1);
  yaml_emitter_set_width (&e, -1);
  yaml_stream_start_event_initialize (&ev, YAML_UTF8_ENCODING);
  ok = yaml_emitter_emit (&e, &ev);
  yaml_document_start_event_initialize (&ev, NULL, NULL, NULL, 1);
  ok = ok && yaml_emitter_emit (&e, &ev) && emit (&e, spec) == 0;
  yaml_document_end_event_initialize (&ev, 1);
  ok = ok && yaml_emitter_emit (&e, &ev);
  yaml_stream_end_event_initialize (&ev);
  ok = ok && yaml_emitter_emit (&e, &ev) && yaml_emitter_flush (&e);
  yaml_emitter_delete (&e);
  if (!ok || !b.data)
    {
      za_strbuf_clear (&b);
      return -1;
    }
  /* No trailing newline, as the JSON text.  */
  while (b.len > 0 && b.data[b.len - 1] == '\n')
    b.data[--b.len] = '\0';
  *out = b.data;
  return 0;
}

int
za_gpu_cdi_format (json_t *spec, bool yaml, char **out, struct za_err **err)
{
  *out = NULL;
  if (yaml ? to_yaml (spec, out) < 0 : !(*out = json_dumps (spec, JSON_INDENT (2))))
    return za_err_set (err, ENOMEM, "cannot format the CDI spec");
  return 0;
}
