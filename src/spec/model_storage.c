/* Field tables of the spec model: devices and storage (bind, named,
   anonymous, tmpfs, s3), with the tmpfs mode quirk.  */
#define _GNU_SOURCE
#include "spec/model_int.h"

#include <string.h>

static const char *const tier_names[] = { "local", "cached", "network", NULL };

/* ---- devices, storage ---------------------------------------------- */

static void
device_defaults (void *o)
{
  struct za_device *d = o;
  d->read.v = true;
  d->write.v = true;
}

static const struct za_field device_fields[] = {
  F (struct za_device, "path", ZA_FT_STR, path, REQ),
  F (struct za_device, "read", ZA_FT_BOOL, read),
  F (struct za_device, "write", ZA_FT_BOOL, write),
  F (struct za_device, "mknod", ZA_FT_BOOL, mknod),
};
const struct za_schema za_spec_device_schema
    = ZA_SCHEMA (struct za_device, "device", device_fields, .defaults = device_defaults);

/* tmpfs `mode`.  serde_yaml reads `mode: 1777` as the decimal number 1777
   (the seed then printed mode=3361).  Everyone who writes 1777 means the
   octal mode, so a decimal integer made only of octal digits is re-read
   as octal (with a warning that says so); `0o1777` is octal already; a
   quoted or leading-zero string ("1777", 01777) is read as octal too.
   Anything that cannot be an octal mode, or exceeds 07777, is an error.  */
static int
decode_tmpfs_mode (struct za_dctx *c, const struct za_node *n, void *dst)
{
  struct za_int *out = dst;
  struct za_storage *st = (struct za_storage *) ((char *) dst - offsetof (struct za_storage, mode));
  const char *v = n->value;
  char buf[160];
  uint64_t mode = 0;
  bool decimal = false;

  if (n->type != ZA_NODE_SCALAR || za_scalar_classify (n) == ZA_SK_NULL)
    {
      if (n->type == ZA_NODE_SCALAR)
        return 0; /* Option: absent */
      return za_dctx_error (c, n, "expected an octal file mode, got %s",
                            za_node_describe (n, buf, sizeof buf));
    }
  switch (za_scalar_classify (n))
    {
    case ZA_SK_INT:
      if (strncmp (v, "0o", 2) == 0)
        v += 2;
      else if (strncmp (v, "0x", 2) == 0 || strncmp (v, "0b", 2) == 0)
        {
          int64_t i;
          uint64_t u;
          bool neg;
          if (!za_scalar_int (n, &i, &u, &neg) || neg)
            return za_dctx_error (c, n, "expected an octal file mode, got %s", n->value);
          mode = u;
          v = NULL;
        }
      else
        decimal = true;
      break;
    case ZA_SK_STR:
      if (strncmp (v, "0o", 2) == 0)
        v += 2;
      break;
    default:
      return za_dctx_error (c, n, "expected an octal file mode, got %s",
                            za_node_describe (n, buf, sizeof buf));
    }
  if (v)
    {
      if (!*v)
        return za_dctx_error (c, n, "expected an octal file mode, got %s", za_node_describe (n, buf, sizeof buf));
      for (; *v; v++)
        {
          if (*v < '0' || *v > '7')
            return za_dctx_error (c, n,
                                  "tmpfs mode `%s` is not an octal number; write it as 0o1777 or \"1777\"",
                                  n->value);
          mode = mode * 8 + (uint64_t) (*v - '0');
          if (mode > 07777)
            break;
        }
    }
  if (mode > 07777)
    return za_dctx_error (c, n, "tmpfs mode `%s` is larger than 07777", n->value);
  out->set = true;
  out->v = (int64_t) mode;
  out->m = n->mark;
  st->mode_was_decimal = decimal;
  return 0;
}

#define ST(name, ty, member, ...) F (struct za_storage, name, ty, member, __VA_ARGS__)
static const struct za_field st_bind_fields[] = {
  ST ("source", ZA_FT_STR, source, REQ),
  ST ("target", ZA_FT_STR, target, REQ),
  ST ("readonly", ZA_FT_BOOL, readonly),
};
static const struct za_field st_named_fields[] = {
  ST ("name", ZA_FT_STR, name, REQ),
  ST ("target", ZA_FT_STR, target, REQ),
  ST ("readonly", ZA_FT_BOOL, readonly),
  ST ("tier", ZA_FT_ENUM, tier, .names = tier_names),
  ST ("size", ZA_FT_STR, size, OPT),
};
static const struct za_field st_anon_fields[] = {
  ST ("target", ZA_FT_STR, target, REQ),
  ST ("tier", ZA_FT_ENUM, tier, .names = tier_names),
};
static const struct za_field st_tmpfs_fields[] = {
  ST ("target", ZA_FT_STR, target, REQ),
  ST ("size", ZA_FT_STR, size, OPT),
  ST ("mode", ZA_FT_CUSTOM, mode, OPT, .custom = decode_tmpfs_mode),
};
static const struct za_field st_s3_fields[] = {
  ST ("bucket", ZA_FT_STR, bucket, REQ),
  ST ("prefix", ZA_FT_STR, prefix, OPT),
  ST ("target", ZA_FT_STR, target, REQ),
  ST ("readonly", ZA_FT_BOOL, readonly),
  ST ("endpoint", ZA_FT_STR, endpoint, OPT),
  ST ("credentials", ZA_FT_STR, credentials, OPT),
};
#define NF(a) (sizeof (a) / sizeof (a)[0])
static const struct za_variant storage_variants[] = {
  { "bind", st_bind_fields, NF (st_bind_fields) },
  { "named", st_named_fields, NF (st_named_fields) },
  { "anonymous", st_anon_fields, NF (st_anon_fields) },
  { "tmpfs", st_tmpfs_fields, NF (st_tmpfs_fields) },
  { "s3", st_s3_fields, NF (st_s3_fields) },
};
const struct za_schema za_spec_storage_schema
    = { .name = "storage", .size = sizeof (struct za_storage), .tag = "type",
        .tag_off = offsetof (struct za_storage, type), .variants = storage_variants,
        .nvariants = NF (storage_variants) };
