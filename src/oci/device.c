#include "oci/device.h"

#include <string.h>

json_t *
za_oci_device_entry (const struct za_oci_device *d)
{
  json_t *o = json_object ();
  if (!o || json_object_set_new (o, "path", json_string (d->path)) < 0
      || json_object_set_new (o, "type", json_string (d->type)) < 0
      || json_object_set_new (o, "major", json_integer ((json_int_t) d->major)) < 0
      || json_object_set_new (o, "minor", json_integer ((json_int_t) d->minor)) < 0
      || (d->has_mode && json_object_set_new (o, "fileMode", json_integer ((json_int_t) d->file_mode)) < 0)
      || (d->has_uid && json_object_set_new (o, "uid", json_integer ((json_int_t) d->uid)) < 0)
      || (d->has_gid && json_object_set_new (o, "gid", json_integer ((json_int_t) d->gid)) < 0))
    {
      json_decref (o);
      return NULL;
    }
  return o;
}

/* TYPE NULL or "" leaves `type` out; HAS_MAJOR / HAS_MINOR say whether
   the numbers are written.  */
static json_t *
rule (bool allow, const char *type, bool has_major, int64_t major, bool has_minor, int64_t minor,
      const char *access)
{
  json_t *r = json_object ();
  if (!r || json_object_set_new (r, "allow", json_boolean (allow)) < 0
      || (type && *type && json_object_set_new (r, "type", json_string (type)) < 0)
      || (has_major && json_object_set_new (r, "major", json_integer ((json_int_t) major)) < 0)
      || (has_minor && json_object_set_new (r, "minor", json_integer ((json_int_t) minor)) < 0)
      || json_object_set_new (r, "access", json_string (access)) < 0)
    {
      json_decref (r);
      return NULL;
    }
  return r;
}

json_t *
za_oci_cgroup_rule (bool allow, char type, int64_t major, int64_t minor, const char *access)
{
  char t[2] = { type, 0 };
  return rule (allow, t, major >= 0, major, minor >= 0, minor, access);
}

json_t *
za_oci_device_rule (const struct za_oci_device *d, const char *access)
{
  /* The rule's type is one letter (a cgroup device type).  */
  char t[2] = { d->type ? d->type[0] : 0, 0 };
  return rule (true, t, true, d->major, true, d->minor, access);
}

int
za_oci_device_add (json_t *devices, json_t *rules, const struct za_oci_device *d, const char *access)
{
  if (json_array_append_new (devices, za_oci_device_entry (d)) < 0)
    return -1;
  if (rules && access && json_array_append_new (rules, za_oci_device_rule (d, access)) < 0)
    return -1;
  return 0;
}
