/* Field tables for every struct of the ZLayer spec format, and the
   defaults serde fills in (zlayer-reference.md §1.2–1.5).  */
#define _GNU_SOURCE
#include "spec/spec.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/syntax.h"
#include "util/fs.h"

#define F ZA_FIELD
#define U8 .min = 0, .max = UINT8_MAX, .tname = "u8"
#define U16 .min = 0, .max = UINT16_MAX, .tname = "u16"
#define U32 .min = 0, .max = UINT32_MAX, .tname = "u32"
#define I32 .min = INT32_MIN, .max = INT32_MAX, .tname = "i32"
#define I64 .min = INT64_MIN, .max = INT64_MAX, .tname = "i64"
#define REQ .flags = ZA_F_REQ
#define OPT .flags = ZA_F_OPT
#define NAMES(...) .names = (const char *const[]) { __VA_ARGS__, NULL }

static const char *const tier_names[] = { "local", "cached", "network", NULL };
static const char *const expose_names[] = { "public", "internal", NULL };
static const char *const proto_names[] = { "tcp", "udp", NULL };
const char *const za_service_type_names[]
    = { "standard", "wasm_http", "wasm_plugin", "wasm_transformer", "wasm_authenticator",
        "wasm_rate_limiter", "wasm_middleware", "wasm_router", "job", NULL };

/* ---- image ---------------------------------------------------------- */

/* The reference keeps the text verbatim but rejects what the OCI
   reference grammar rejects.  */
static int
decode_image_name (struct za_dctx *c, const struct za_node *n, void *dst)
{
  struct za_str *out = dst;
  char *reason = NULL;
  char buf[160];
  if (n->type != ZA_NODE_SCALAR)
    return za_dctx_error (c, n, "expected a string, got %s", za_node_describe (n, buf, sizeof buf));
  if (strlen (n->value) != n->len)
    return za_dctx_error (c, n, "string contains a NUL byte");
  if (za_image_ref_check (n->value, &reason) < 0)
    {
      int r = za_dctx_error (c, n, "invalid image reference `%s`: %s", n->value, reason);
      free (reason);
      return r;
    }
  out->s = n->value;
  out->m = n->mark;
  return 0;
}

static void
image_defaults (void *o)
{
  struct za_image_spec *i = o;
  i->pull_policy.v = ZA_PULL_IF_NOT_PRESENT;
}

static const struct za_field image_fields[] = {
  F (struct za_image_spec, "name", ZA_FT_CUSTOM, name, REQ, .custom = decode_image_name),
  F (struct za_image_spec, "pull_policy", ZA_FT_ENUM, pull_policy,
     NAMES ("always", "newer", "if_not_present", "never")),
  F (struct za_image_spec, "source_policy", ZA_FT_ENUM, source_policy, OPT,
     NAMES ("local_first", "s3_first", "remote_only", "local_only")),
};
static const struct za_schema image_schema
    = ZA_SCHEMA (struct za_image_spec, "image", image_fields, .defaults = image_defaults);

/* ---- resources / gpu ------------------------------------------------ */

static void
distributed_defaults (void *o)
{
  struct za_distributed *d = o;
  d->backend.s = "nccl";
  d->master_port.v = 29500;
}

static const struct za_field distributed_fields[] = {
  F (struct za_distributed, "backend", ZA_FT_STR, backend),
  F (struct za_distributed, "master_port", ZA_FT_INT, master_port, U16),
};
static const struct za_schema distributed_schema
    = ZA_SCHEMA (struct za_distributed, "distributed", distributed_fields,
                 .defaults = distributed_defaults);

static void
gpu_defaults (void *o)
{
  struct za_gpu_spec *g = o;
  g->count.v = 1;
  g->vendor.s = "nvidia";
}

static const struct za_field gpu_fields[] = {
  F (struct za_gpu_spec, "count", ZA_FT_INT, count, U32),
  F (struct za_gpu_spec, "vendor", ZA_FT_STR, vendor),
  F (struct za_gpu_spec, "mode", ZA_FT_STR, mode, OPT),
  F (struct za_gpu_spec, "model", ZA_FT_STR, model, OPT),
  F (struct za_gpu_spec, "scheduling", ZA_FT_ENUM, scheduling, OPT,
     NAMES ("best-effort", "gang", "spread")),
  F (struct za_gpu_spec, "distributed", ZA_FT_OPT_STRUCT, distributed, OPT,
     .sub = &distributed_schema),
  F (struct za_gpu_spec, "sharing", ZA_FT_ENUM, sharing, OPT,
     NAMES ("exclusive", "mps", "time-slice")),
  F (struct za_gpu_spec, "mps_pipe_dir", ZA_FT_STR, mps_pipe_dir, OPT),
  F (struct za_gpu_spec, "mps_log_dir", ZA_FT_STR, mps_log_dir, OPT),
  F (struct za_gpu_spec, "time_slice_index", ZA_FT_INT, time_slice_index, OPT, U32),
  F (struct za_gpu_spec, "time_slicing_config_path", ZA_FT_STR, time_slicing_config_path, OPT),
};
static const struct za_schema gpu_schema
    = ZA_SCHEMA (struct za_gpu_spec, "gpu", gpu_fields, .defaults = gpu_defaults);

static const struct za_field resources_fields[] = {
  F (struct za_resources, "cpu", ZA_FT_FLOAT, cpu, OPT),
  F (struct za_resources, "memory", ZA_FT_STR, memory, OPT),
  F (struct za_resources, "gpu", ZA_FT_OPT_STRUCT, gpu, OPT, .sub = &gpu_schema),
  F (struct za_resources, "pids_limit", ZA_FT_INT, pids_limit, OPT, I64),
  F (struct za_resources, "cpuset", ZA_FT_STR, cpuset, OPT),
  F (struct za_resources, "cpu_shares", ZA_FT_INT, cpu_shares, OPT, U32),
  F (struct za_resources, "memory_swap", ZA_FT_STR, memory_swap, OPT),
  F (struct za_resources, "memory_reservation", ZA_FT_STR, memory_reservation, OPT),
  F (struct za_resources, "memory_swappiness", ZA_FT_INT, memory_swappiness, OPT, U8),
  F (struct za_resources, "oom_score_adj", ZA_FT_INT, oom_score_adj, OPT, I32),
  F (struct za_resources, "oom_kill_disable", ZA_FT_BOOL, oom_kill_disable, OPT),
  F (struct za_resources, "blkio_weight", ZA_FT_INT, blkio_weight, OPT, U16),
};
static const struct za_schema resources_schema
    = ZA_SCHEMA (struct za_resources, "resources", resources_fields);

/* ---- command -------------------------------------------------------- */

static const struct za_field command_fields[] = {
  F (struct za_command, "entrypoint", ZA_FT_STRLIST, entrypoint, OPT),
  F (struct za_command, "args", ZA_FT_STRLIST, args, OPT),
  F (struct za_command, "workdir", ZA_FT_STR, workdir, OPT),
};
static const struct za_schema command_schema
    = ZA_SCHEMA (struct za_command, "command", command_fields);

/* ---- network -------------------------------------------------------- */

static void
overlay_settings_defaults (void *o)
{
  struct za_overlay_settings *s = o;
  s->enabled.v = true;
  s->encrypted.v = true;
  s->isolated.v = false;
}

static const struct za_field overlay_settings_fields[] = {
  F (struct za_overlay_settings, "enabled", ZA_FT_BOOL, enabled),
  F (struct za_overlay_settings, "encrypted", ZA_FT_BOOL, encrypted),
  F (struct za_overlay_settings, "isolated", ZA_FT_BOOL, isolated),
};
static const struct za_schema overlay_settings_schema
    = ZA_SCHEMA (struct za_overlay_settings, "overlay settings", overlay_settings_fields,
                 .defaults = overlay_settings_defaults);

/* A present `overlays` block fills an omitted service/global with the
   struct default (all false), not the per-field defaults.  */
static void
overlays_defaults (void *o)
{
  struct za_overlays *s = o;
  memset (s, 0, sizeof *s);
}

static const struct za_field overlays_fields[] = {
  F (struct za_overlays, "service", ZA_FT_STRUCT, service, .sub = &overlay_settings_schema),
  F (struct za_overlays, "global", ZA_FT_STRUCT, global, .sub = &overlay_settings_schema),
};
static const struct za_schema overlays_schema
    = ZA_SCHEMA (struct za_overlays, "overlays", overlays_fields, .defaults = overlays_defaults);

static void
join_defaults (void *o)
{
  struct za_join *j = o;
  j->mode.v = 1; /* token */
  j->scope.v = 0; /* service */
}

static const struct za_field join_fields[] = {
  F (struct za_join, "mode", ZA_FT_ENUM, mode, NAMES ("open", "token", "closed")),
  F (struct za_join, "scope", ZA_FT_ENUM, scope, NAMES ("service", "global")),
};
static const struct za_schema join_schema
    = ZA_SCHEMA (struct za_join, "join", join_fields, .defaults = join_defaults);

static void
network_defaults (void *o)
{
  struct za_service_network *n = o;
  n->overlays.service.enabled.v = true;
  n->overlays.service.encrypted.v = true;
  n->overlays.service.isolated.v = true;
  n->overlays.global.enabled.v = true;
  n->overlays.global.encrypted.v = true;
  n->overlays.global.isolated.v = false;
}

static const struct za_field network_fields[] = {
  F (struct za_service_network, "overlays", ZA_FT_STRUCT, overlays, .sub = &overlays_schema),
  F (struct za_service_network, "join", ZA_FT_STRUCT, join, .sub = &join_schema),
};
static const struct za_schema network_schema
    = ZA_SCHEMA (struct za_service_network, "network", network_fields,
                 .defaults = network_defaults);

/* ---- endpoints ------------------------------------------------------ */

static const struct za_field sh_udp_fields[] = {
  F (struct za_stream_health, "request", ZA_FT_STR, request, REQ),
  F (struct za_stream_health, "expect", ZA_FT_STR, expect, OPT),
};
static const struct za_variant sh_variants[] = {
  { "tcp_connect", NULL, 0 },
  { "udp_probe", sh_udp_fields, 2 },
};
static const struct za_schema stream_health_schema
    = { .name = "health_check", .size = sizeof (struct za_stream_health),
        .allow_unknown = true, .tag = "type",
        .tag_off = offsetof (struct za_stream_health, type), .variants = sh_variants,
        .nvariants = 2 };

static const struct za_field stream_fields[] = {
  F (struct za_stream, "tls", ZA_FT_BOOL, tls),
  F (struct za_stream, "proxy_protocol", ZA_FT_BOOL, proxy_protocol),
  F (struct za_stream, "session_timeout", ZA_FT_STR, session_timeout, OPT),
  F (struct za_stream, "health_check", ZA_FT_OPT_STRUCT, health_check, OPT,
     .sub = &stream_health_schema),
};
static const struct za_schema stream_schema
    = ZA_SCHEMA (struct za_stream, "stream", stream_fields);

static const struct za_field access_fields[] = {
  F (struct za_tunnel_access, "enabled", ZA_FT_BOOL, enabled),
  F (struct za_tunnel_access, "max_ttl", ZA_FT_STR, max_ttl, OPT),
  F (struct za_tunnel_access, "audit", ZA_FT_BOOL, audit),
};
static const struct za_schema access_schema
    = ZA_SCHEMA (struct za_tunnel_access, "access", access_fields);

static const struct za_field ep_tunnel_fields[] = {
  F (struct za_ep_tunnel, "enabled", ZA_FT_BOOL, enabled),
  F (struct za_ep_tunnel, "from", ZA_FT_STR, from, OPT),
  F (struct za_ep_tunnel, "to", ZA_FT_STR, to, OPT),
  F (struct za_ep_tunnel, "remote_port", ZA_FT_INT, remote_port, U16),
  F (struct za_ep_tunnel, "expose", ZA_FT_ENUM, expose, OPT, .names = expose_names),
  F (struct za_ep_tunnel, "access", ZA_FT_OPT_STRUCT, access, OPT, .sub = &access_schema),
};
static const struct za_schema ep_tunnel_schema
    = ZA_SCHEMA (struct za_ep_tunnel, "tunnel", ep_tunnel_fields);

static void
endpoint_defaults (void *o)
{
  struct za_endpoint *e = o;
  e->expose.v = 1; /* internal */
}

static const struct za_field endpoint_fields[] = {
  F (struct za_endpoint, "name", ZA_FT_STR, name, REQ),
  F (struct za_endpoint, "protocol", ZA_FT_ENUM, protocol, REQ,
     NAMES ("http", "https", "tcp", "udp", "websocket")),
  F (struct za_endpoint, "port", ZA_FT_INT, port, REQ, U16),
  F (struct za_endpoint, "target_port", ZA_FT_INT, target_port, OPT, U16),
  F (struct za_endpoint, "path", ZA_FT_STR, path, OPT),
  F (struct za_endpoint, "host", ZA_FT_STR, host, OPT),
  F (struct za_endpoint, "expose", ZA_FT_ENUM, expose, .names = expose_names),
  F (struct za_endpoint, "stream", ZA_FT_OPT_STRUCT, stream, OPT, .sub = &stream_schema),
  F (struct za_endpoint, "target_role", ZA_FT_STR, target_role, OPT),
  F (struct za_endpoint, "tunnel", ZA_FT_OPT_STRUCT, tunnel, OPT, .sub = &ep_tunnel_schema),
};
static const struct za_schema endpoint_schema
    = ZA_SCHEMA (struct za_endpoint, "endpoint", endpoint_fields, .defaults = endpoint_defaults);

/* ---- scale ---------------------------------------------------------- */

static const struct za_field targets_fields[] = {
  F (struct za_scale_targets, "cpu", ZA_FT_INT, cpu, OPT, U8),
  F (struct za_scale_targets, "memory", ZA_FT_INT, memory, OPT, U8),
  F (struct za_scale_targets, "rps", ZA_FT_INT, rps, OPT, U32),
};
static const struct za_schema targets_schema
    = ZA_SCHEMA (struct za_scale_targets, "targets", targets_fields);

static const struct za_field scale_fixed_fields[] = {
  F (struct za_scale, "replicas", ZA_FT_INT, replicas, REQ, U32),
};
static const struct za_field scale_adaptive_fields[] = {
  F (struct za_scale, "min", ZA_FT_INT, min, REQ, U32),
  F (struct za_scale, "max", ZA_FT_INT, max, REQ, U32),
  F (struct za_scale, "cooldown", ZA_FT_DUR, cooldown, OPT),
  F (struct za_scale, "targets", ZA_FT_OPT_STRUCT, targets, OPT, .sub = &targets_schema),
};
static const struct za_variant scale_variants[] = {
  { "fixed", scale_fixed_fields, 1 },
  { "manual", NULL, 0 },
  { "adaptive", scale_adaptive_fields, 4 },
};

static void
scale_defaults (void *o)
{
  struct za_scale *s = o;
  memset (s, 0, sizeof *s);
}

static const struct za_schema scale_schema
    = { .name = "scale", .size = sizeof (struct za_scale), .defaults = scale_defaults,
        .tag = "mode", .tag_off = offsetof (struct za_scale, mode), .variants = scale_variants,
        .nvariants = 3 };

/* ---- replica groups, depends, health, init, errors ----------------- */

static int
decode_affinity (struct za_dctx *c, const struct za_node *n, void *dst)
{
  struct za_affinity *a = dst;
  char buf[160];
  a->m = n->mark;
  if (n->type == ZA_NODE_SCALAR)
    {
      if (strcmp (n->value, "spread") == 0 || strcmp (n->value, "pack") == 0)
        {
          a->set = true;
          a->kind = n->value[0] == 'p';
          return 0;
        }
      return za_dctx_error (c, n, "unknown variant `%s`, expected one of `spread`, `pack`, `pin`",
                            n->value);
    }
  if (n->type == ZA_NODE_MAP && n->n == 1 && za_map_key (n, 0)->type == ZA_NODE_SCALAR
      && strcmp (za_map_key (n, 0)->value, "pin") == 0)
    {
      const struct za_node *v = za_map_val (n, 0);
      if (v->type != ZA_NODE_SCALAR)
        return za_dctx_error (c, v, "expected a string, got %s", za_node_describe (v, buf, sizeof buf));
      a->set = true;
      a->kind = 2;
      a->pin = v->value;
      return 0;
    }
  return za_dctx_error (c, n, "expected `spread`, `pack` or `{pin: ...}`, got %s",
                        za_node_describe (n, buf, sizeof buf));
}

static void
replica_group_defaults (void *o)
{
  struct za_replica_group *g = o;
  g->affinity.kind = 0;
}

static const struct za_field replica_group_fields[] = {
  F (struct za_replica_group, "role", ZA_FT_STR, role, REQ),
  F (struct za_replica_group, "count", ZA_FT_INT, count, REQ, U32),
  F (struct za_replica_group, "image", ZA_FT_OPT_STRUCT, image, OPT, .sub = &image_schema),
  F (struct za_replica_group, "env", ZA_FT_STRMAP, env),
  F (struct za_replica_group, "command", ZA_FT_OPT_STRUCT, command, OPT, .sub = &command_schema),
  F (struct za_replica_group, "resources", ZA_FT_OPT_STRUCT, resources, OPT,
     .sub = &resources_schema),
  F (struct za_replica_group, "affinity", ZA_FT_CUSTOM, affinity, .custom = decode_affinity),
};
static const struct za_schema replica_group_schema
    = ZA_SCHEMA (struct za_replica_group, "replica group", replica_group_fields,
                 .defaults = replica_group_defaults);

static void
depends_defaults (void *o)
{
  struct za_depends *d = o;
  d->condition.v = 1; /* healthy */
  d->timeout.ns = 300ull * 1000000000ull;
  d->timeout.text = "300s";
  d->on_timeout.v = 0; /* fail */
}

static const struct za_field depends_fields[] = {
  F (struct za_depends, "service", ZA_FT_STR, service, REQ),
  F (struct za_depends, "condition", ZA_FT_ENUM, condition, NAMES ("started", "healthy", "ready")),
  F (struct za_depends, "timeout", ZA_FT_DUR, timeout, OPT),
  F (struct za_depends, "on_timeout", ZA_FT_ENUM, on_timeout, NAMES ("fail", "warn", "continue")),
};
static const struct za_schema depends_schema
    = ZA_SCHEMA (struct za_depends, "depends", depends_fields, .defaults = depends_defaults);

static const struct za_field check_tcp_fields[] = {
  F (struct za_health_check, "port", ZA_FT_INT, port, REQ, U16),
};
static const struct za_field check_http_fields[] = {
  F (struct za_health_check, "url", ZA_FT_STR, url, REQ),
  F (struct za_health_check, "expect_status", ZA_FT_INT, expect_status, U16),
};
static const struct za_field check_command_fields[] = {
  F (struct za_health_check, "command", ZA_FT_STR, command, REQ),
};
static const struct za_variant check_variants[] = {
  { "tcp", check_tcp_fields, 1 },
  { "http", check_http_fields, 2 },
  { "command", check_command_fields, 1 },
};

static void
check_defaults (void *o)
{
  struct za_health_check *h = o;
  memset (h, 0, sizeof *h);
  h->expect_status.v = 200;
}

static const struct za_schema check_schema
    = { .name = "check", .size = sizeof (struct za_health_check), .allow_unknown = true,
        .defaults = check_defaults, .tag = "type",
        .tag_off = offsetof (struct za_health_check, type), .variants = check_variants,
        .nvariants = 3 };

static void
health_defaults (void *o)
{
  struct za_health *h = o;
  memset (h, 0, sizeof *h);
  h->retries.v = 3;
  h->present = true;
}

static const struct za_field health_fields[] = {
  F (struct za_health, "start_grace", ZA_FT_DUR, start_grace, OPT),
  F (struct za_health, "interval", ZA_FT_DUR, interval, OPT),
  F (struct za_health, "timeout", ZA_FT_DUR, timeout, OPT),
  F (struct za_health, "retries", ZA_FT_INT, retries, U32),
  F (struct za_health, "check", ZA_FT_STRUCT, check, REQ, .sub = &check_schema),
};
static const struct za_schema health_schema
    = ZA_SCHEMA (struct za_health, "health", health_fields, .defaults = health_defaults);

static const struct za_field init_step_fields[] = {
  F (struct za_init_step, "id", ZA_FT_STR, id, REQ),
  F (struct za_init_step, "uses", ZA_FT_STR, uses, REQ),
  F (struct za_init_step, "with", ZA_FT_ANY, with),
  F (struct za_init_step, "retry", ZA_FT_INT, retry, OPT, U32),
  F (struct za_init_step, "timeout", ZA_FT_DUR, timeout, OPT),
  F (struct za_init_step, "on_failure", ZA_FT_ENUM, on_failure, NAMES ("fail", "warn", "continue")),
};
static const struct za_schema init_step_schema
    = ZA_SCHEMA (struct za_init_step, "init step", init_step_fields);

static const struct za_field init_fields[] = {
  F (struct za_init, "steps", ZA_FT_LIST, steps, .sub = &init_step_schema),
};
static const struct za_schema init_schema = ZA_SCHEMA (struct za_init, "init", init_fields);

static const struct za_field on_init_fields[] = {
  F (struct za_action, "action", ZA_FT_ENUM, action, NAMES ("fail", "restart", "backoff")),
};
static const struct za_schema on_init_schema
    = ZA_SCHEMA (struct za_action, "on_init_failure", on_init_fields);
static const struct za_field on_panic_fields[] = {
  F (struct za_action, "action", ZA_FT_ENUM, action, NAMES ("restart", "shutdown", "isolate")),
};
static const struct za_schema on_panic_schema
    = ZA_SCHEMA (struct za_action, "on_panic", on_panic_fields);

static const struct za_field errors_fields[] = {
  F (struct za_errors, "on_init_failure", ZA_FT_STRUCT, on_init_failure, .sub = &on_init_schema),
  F (struct za_errors, "on_panic", ZA_FT_STRUCT, on_panic, .sub = &on_panic_schema),
};
static const struct za_schema errors_schema = ZA_SCHEMA (struct za_errors, "errors", errors_fields);

static const struct za_field lifecycle_fields[] = {
  F (struct za_lifecycle, "delete_on_exit", ZA_FT_BOOL, delete_on_exit),
};
static const struct za_schema lifecycle_schema
    = ZA_SCHEMA (struct za_lifecycle, "lifecycle", lifecycle_fields);

/* ---- devices, storage, ports --------------------------------------- */

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
static const struct za_schema device_schema
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
static const struct za_schema storage_schema
    = { .name = "storage", .size = sizeof (struct za_storage), .tag = "type",
        .tag_off = offsetof (struct za_storage, type), .variants = storage_variants,
        .nvariants = NF (storage_variants) };

static void
port_defaults (void *o)
{
  struct za_port_mapping *p = o;
  p->host_ip.s = "0.0.0.0";
}

static const struct za_field port_fields[] = {
  F (struct za_port_mapping, "host_port", ZA_FT_INT, host_port, OPT, U16),
  F (struct za_port_mapping, "container_port", ZA_FT_INT, container_port, REQ, U16),
  F (struct za_port_mapping, "protocol", ZA_FT_ENUM, protocol, .names = proto_names),
  F (struct za_port_mapping, "host_ip", ZA_FT_STR, host_ip),
};
static const struct za_schema port_schema
    = ZA_SCHEMA (struct za_port_mapping, "port mapping", port_fields, .allow_unknown = true,
                 .defaults = port_defaults);

/* ---- misc service blocks ------------------------------------------- */

static const struct za_field node_selector_fields[] = {
  F (struct za_node_selector, "labels", ZA_FT_STRMAP, labels),
  F (struct za_node_selector, "prefer_labels", ZA_FT_STRMAP, prefer_labels),
};
static const struct za_schema node_selector_schema
    = ZA_SCHEMA (struct za_node_selector, "node_selector", node_selector_fields);

static const struct za_field platform_fields[] = {
  F (struct za_platform, "os", ZA_FT_ENUM, os, OPT, NAMES ("linux", "windows", "macos")),
  F (struct za_platform, "arch", ZA_FT_ENUM, arch, OPT, NAMES ("amd64", "arm64")),
  F (struct za_platform, "osVersion", ZA_FT_STR, os_version, OPT),
};
static const struct za_schema platform_schema
    = ZA_SCHEMA (struct za_platform, "platform", platform_fields, .allow_unknown = true);

static const struct za_field wasm_caps_fields[] = {
  F (struct za_wasm_caps, "config", ZA_FT_BOOL, config),
  F (struct za_wasm_caps, "keyvalue", ZA_FT_BOOL, keyvalue),
  F (struct za_wasm_caps, "logging", ZA_FT_BOOL, logging),
  F (struct za_wasm_caps, "secrets", ZA_FT_BOOL, secrets),
  F (struct za_wasm_caps, "metrics", ZA_FT_BOOL, metrics),
  F (struct za_wasm_caps, "http_client", ZA_FT_BOOL, http_client),
  F (struct za_wasm_caps, "cli", ZA_FT_BOOL, cli),
  F (struct za_wasm_caps, "filesystem", ZA_FT_BOOL, filesystem),
  F (struct za_wasm_caps, "sockets", ZA_FT_BOOL, sockets),
};
static const struct za_schema wasm_caps_schema
    = ZA_SCHEMA (struct za_wasm_caps, "capabilities", wasm_caps_fields);

static const struct za_field preopen_fields[] = {
  F (struct za_preopen, "source", ZA_FT_STR, source, REQ),
  F (struct za_preopen, "target", ZA_FT_STR, target, REQ),
  F (struct za_preopen, "readonly", ZA_FT_BOOL, readonly),
};
static const struct za_schema preopen_schema
    = ZA_SCHEMA (struct za_preopen, "preopen", preopen_fields);

static void
wasm_defaults (void *o)
{
  struct za_wasm *w = o;
  w->max_instances.v = 10;
  w->idle_timeout.ns = 300ull * 1000000000ull;
  w->idle_timeout.text = "300s";
  w->request_timeout.ns = 30ull * 1000000000ull;
  w->request_timeout.text = "30s";
  w->allow_http_outgoing.v = true;
  w->kv_enabled.v = true;
  w->kv_max_value_size.v = 1048576;
  w->precompile.v = true;
}

static const struct za_field wasm_fields[] = {
  F (struct za_wasm, "min_instances", ZA_FT_INT, min_instances, U32),
  F (struct za_wasm, "max_instances", ZA_FT_INT, max_instances, U32),
  F (struct za_wasm, "idle_timeout", ZA_FT_DUR, idle_timeout),
  F (struct za_wasm, "request_timeout", ZA_FT_DUR, request_timeout),
  F (struct za_wasm, "max_memory", ZA_FT_STR, max_memory, OPT),
  F (struct za_wasm, "max_fuel", ZA_FT_UINT, max_fuel),
  F (struct za_wasm, "epoch_interval", ZA_FT_DUR, epoch_interval, OPT),
  F (struct za_wasm, "capabilities", ZA_FT_OPT_STRUCT, capabilities, OPT, .sub = &wasm_caps_schema),
  F (struct za_wasm, "allow_http_outgoing", ZA_FT_BOOL, allow_http_outgoing),
  F (struct za_wasm, "allowed_hosts", ZA_FT_STRLIST, allowed_hosts),
  F (struct za_wasm, "allow_tcp", ZA_FT_BOOL, allow_tcp),
  F (struct za_wasm, "allow_udp", ZA_FT_BOOL, allow_udp),
  F (struct za_wasm, "preopens", ZA_FT_LIST, preopens, .sub = &preopen_schema),
  F (struct za_wasm, "kv_enabled", ZA_FT_BOOL, kv_enabled),
  F (struct za_wasm, "kv_namespace", ZA_FT_STR, kv_namespace, OPT),
  F (struct za_wasm, "kv_max_value_size", ZA_FT_UINT, kv_max_value_size),
  F (struct za_wasm, "secrets", ZA_FT_STRLIST, secrets),
  F (struct za_wasm, "precompile", ZA_FT_BOOL, precompile),
};
static const struct za_schema wasm_schema
    = ZA_SCHEMA (struct za_wasm, "wasm", wasm_fields, .defaults = wasm_defaults);

static void
logs_defaults (void *o)
{
  struct za_logs *l = o;
  l->max_size_bytes.v = 104857600;
  l->retention_secs.v = 604800;
}

static const struct za_field logs_fields[] = {
  F (struct za_logs, "destination", ZA_FT_ENUM, destination, NAMES ("disk", "memory")),
  F (struct za_logs, "max_size_bytes", ZA_FT_UINT, max_size_bytes),
  F (struct za_logs, "retention_secs", ZA_FT_UINT, retention_secs),
};
static const struct za_schema logs_schema
    = ZA_SCHEMA (struct za_logs, "logs", logs_fields, .allow_unknown = true,
                 .defaults = logs_defaults);

static const struct za_field restart_fields[] = {
  F (struct za_restart_policy, "kind", ZA_FT_ENUM, kind, REQ,
     NAMES ("no", "always", "unless_stopped", "on_failure")),
  F (struct za_restart_policy, "max_attempts", ZA_FT_INT, max_attempts, OPT, U32),
  F (struct za_restart_policy, "delay", ZA_FT_STR, delay, OPT),
};
static const struct za_schema restart_schema
    = ZA_SCHEMA (struct za_restart_policy, "restart_policy", restart_fields);

static const struct za_field ulimit_fields[] = {
  F (struct za_ulimit, "soft", ZA_FT_INT, soft, I64),
  F (struct za_ulimit, "hard", ZA_FT_INT, hard, I64),
};
static const struct za_schema ulimit_schema = ZA_SCHEMA (struct za_ulimit, "ulimit", ulimit_fields);

/* network_mode: "default" | "host" | "none" | "bridge" | "bridge:<name>" |
   "container:<id>", or the tagged map forms {bridge: {name}} and
   {container: {id}}.  */
static int
decode_network_mode (struct za_dctx *c, const struct za_node *n, void *dst)
{
  struct za_network_mode *nm = dst;
  char buf[160];
  nm->m = n->mark;
  if (n->type == ZA_NODE_SCALAR)
    {
      const char *v = n->value;
      nm->set = true;
      if (!strcmp (v, "default"))
        nm->kind = ZA_NET_DEFAULT;
      else if (!strcmp (v, "host"))
        nm->kind = ZA_NET_HOST;
      else if (!strcmp (v, "none"))
        nm->kind = ZA_NET_NONE;
      else if (!strcmp (v, "bridge"))
        nm->kind = ZA_NET_BRIDGE;
      else if (!strncmp (v, "bridge:", 7))
        nm->kind = ZA_NET_BRIDGE, nm->arg = v + 7;
      else if (!strncmp (v, "container:", 10))
        {
          nm->kind = ZA_NET_CONTAINER;
          nm->arg = v + 10;
          if (!*nm->arg)
            return za_dctx_error (c, n, "network mode \"container:<id>\" requires a non-empty id");
        }
      else
        return za_dctx_error (c, n, "unknown network mode: %s", v);
      return 0;
    }
  if (n->type == ZA_NODE_MAP && n->n == 1 && za_map_key (n, 0)->type == ZA_NODE_SCALAR)
    {
      const char *k = za_map_key (n, 0)->value;
      const struct za_node *v = za_map_val (n, 0);
      const char *want = !strcmp (k, "bridge") ? "name" : !strcmp (k, "container") ? "id" : NULL;
      if (!want)
        return za_dctx_error (c, za_map_key (n, 0), "unknown network mode: %s", k);
      nm->set = true;
      nm->kind = want[0] == 'n' ? ZA_NET_BRIDGE : ZA_NET_CONTAINER;
      if (v->type == ZA_NODE_MAP)
        for (size_t i = 0; i < v->n; i++)
          if (za_map_key (v, i)->type == ZA_NODE_SCALAR && !strcmp (za_map_key (v, i)->value, want)
              && za_map_val (v, i)->type == ZA_NODE_SCALAR)
            nm->arg = za_map_val (v, i)->value;
      if (nm->kind == ZA_NET_CONTAINER && (!nm->arg || !*nm->arg))
        return za_dctx_error (c, n, "network mode \"container:<id>\" requires a non-empty id");
      return 0;
    }
  return za_dctx_error (c, n, "expected a network mode, got %s", za_node_describe (n, buf, sizeof buf));
}

static const struct za_field overlay_cfg_fields[] = {
  F (struct za_overlay_cfg, "mode", ZA_FT_ENUM, mode, OPT, NAMES ("auto", "shared", "dedicated")),
  F (struct za_overlay_cfg, "parent", ZA_FT_STR, parent, OPT),
};
static const struct za_schema overlay_cfg_schema
    = ZA_SCHEMA (struct za_overlay_cfg, "overlay", overlay_cfg_fields, .allow_unknown = true);

/* ---- service -------------------------------------------------------- */

static void
service_defaults (void *o)
{
  struct za_service *s = o;
  s->scale.mode.v = ZA_SCALE_ADAPTIVE;
  s->scale.min.v = 1;
  s->scale.max.v = 10;
  s->scale.cooldown.ns = 30ull * 1000000000ull;
  s->scale.cooldown.text = "30s";
  /* Absent `health` is {start_grace: 5s, retries: 3, check: tcp port 0}.  */
  s->health.present = false;
  s->health.start_grace.ns = 5ull * 1000000000ull;
  s->health.start_grace.text = "5s";
  s->health.check.type.v = ZA_CHECK_TCP;
}

#define SV(name, ty, member, ...) F (struct za_service, name, ty, member, __VA_ARGS__)
static const struct za_field service_fields[] = {
  SV ("rtype", ZA_FT_ENUM, rtype, NAMES ("service", "job", "cron")),
  SV ("schedule", ZA_FT_STR, schedule, OPT),
  SV ("image", ZA_FT_STRUCT, image, REQ, .sub = &image_schema),
  SV ("resources", ZA_FT_STRUCT, resources, .sub = &resources_schema),
  SV ("env", ZA_FT_STRMAP, env),
  SV ("command", ZA_FT_STRUCT, command, .sub = &command_schema),
  SV ("network", ZA_FT_STRUCT, network, .sub = &network_schema),
  SV ("endpoints", ZA_FT_LIST, endpoints, .sub = &endpoint_schema),
  SV ("scale", ZA_FT_STRUCT, scale, .sub = &scale_schema),
  SV ("replica_groups", ZA_FT_LIST, replica_groups, OPT, .sub = &replica_group_schema),
  SV ("depends", ZA_FT_LIST, depends, .sub = &depends_schema),
  SV ("health", ZA_FT_STRUCT, health, .sub = &health_schema),
  SV ("init", ZA_FT_STRUCT, init, .sub = &init_schema),
  SV ("errors", ZA_FT_STRUCT, errors, .sub = &errors_schema),
  SV ("lifecycle", ZA_FT_STRUCT, lifecycle, .sub = &lifecycle_schema),
  SV ("isolation", ZA_FT_ENUM, isolation, OPT, NAMES ("auto", "process", "hyperv")),
  SV ("devices", ZA_FT_LIST, devices, .sub = &device_schema),
  SV ("storage", ZA_FT_LIST, storage, .sub = &storage_schema),
  SV ("port_mappings", ZA_FT_LIST, port_mappings, .sub = &port_schema),
  SV ("capabilities", ZA_FT_STRLIST, capabilities, .alias = "cap_add"),
  SV ("cap_drop", ZA_FT_STRLIST, cap_drop),
  SV ("privileged", ZA_FT_BOOL, privileged),
  SV ("node_mode", ZA_FT_ENUM, node_mode, NAMES ("shared", "dedicated", "exclusive")),
  SV ("node_selector", ZA_FT_OPT_STRUCT, node_selector, OPT, .sub = &node_selector_schema),
  SV ("affinity", ZA_FT_CUSTOM, affinity, OPT, .custom = decode_affinity),
  SV ("platform", ZA_FT_OPT_STRUCT, platform, OPT, .sub = &platform_schema),
  SV ("service_type", ZA_FT_ENUM, service_type, .names = za_service_type_names),
  SV ("wasm", ZA_FT_OPT_STRUCT, wasm, OPT, .alias = "wasm_http", .sub = &wasm_schema),
  SV ("logs", ZA_FT_OPT_STRUCT, logs, OPT, .sub = &logs_schema),
  SV ("host_network", ZA_FT_BOOL, host_network),
  SV ("hostname", ZA_FT_STR, hostname, OPT),
  SV ("dns", ZA_FT_STRLIST, dns),
  SV ("extra_hosts", ZA_FT_STRLIST, extra_hosts),
  SV ("restart_policy", ZA_FT_OPT_STRUCT, restart_policy, OPT, .sub = &restart_schema),
  SV ("labels", ZA_FT_STRMAP, labels),
  SV ("user", ZA_FT_STR, user, OPT),
  SV ("stop_signal", ZA_FT_STR, stop_signal, OPT),
  SV ("stop_grace_period", ZA_FT_DUR, stop_grace_period, OPT),
  SV ("sysctls", ZA_FT_STRMAP, sysctls),
  SV ("ulimits", ZA_FT_MAP, ulimits, .sub = &ulimit_schema),
  SV ("security_opt", ZA_FT_STRLIST, security_opt),
  SV ("pid_mode", ZA_FT_STR, pid_mode, OPT),
  SV ("ipc_mode", ZA_FT_STR, ipc_mode, OPT),
  SV ("network_mode", ZA_FT_CUSTOM, network_mode, .custom = decode_network_mode),
  SV ("extra_groups", ZA_FT_STRLIST, extra_groups),
  SV ("read_only_root_fs", ZA_FT_BOOL, read_only_root_fs),
  SV ("init_container", ZA_FT_BOOL, init_container, OPT),
  SV ("tty", ZA_FT_BOOL, tty),
  SV ("stdin_open", ZA_FT_BOOL, stdin_open),
  SV ("userns_mode", ZA_FT_STR, userns_mode, OPT),
  SV ("cgroup_parent", ZA_FT_STR, cgroup_parent, OPT),
  SV ("expose", ZA_FT_STRLIST, expose),
  SV ("overlay", ZA_FT_OPT_STRUCT, overlay, OPT, .sub = &overlay_cfg_schema),
  SV ("localhost_reachability", ZA_FT_ENUM, localhost_reachability,
      NAMES ("auto", "always", "never")),
};
static const struct za_schema service_schema
    = ZA_SCHEMA (struct za_service, "service", service_fields, .defaults = service_defaults);

/* ---- externals, tunnels, api, deployment --------------------------- */

static const struct za_field external_fields[] = {
  F (struct za_external, "backends", ZA_FT_STRLIST, backends),
  F (struct za_external, "endpoints", ZA_FT_LIST, endpoints, .sub = &endpoint_schema),
  F (struct za_external, "health", ZA_FT_OPT_STRUCT, health, OPT, .sub = &health_schema),
};
static const struct za_schema external_schema
    = ZA_SCHEMA (struct za_external, "external", external_fields);

static void
tunnel_defaults (void *o)
{
  struct za_tunnel *t = o;
  t->protocol.v = 0; /* tcp */
  t->expose.v = 1;   /* internal */
}

static const struct za_field tunnel_fields[] = {
  F (struct za_tunnel, "from", ZA_FT_STR, from, REQ),
  F (struct za_tunnel, "to", ZA_FT_STR, to, REQ),
  F (struct za_tunnel, "local_port", ZA_FT_INT, local_port, REQ, U16),
  F (struct za_tunnel, "remote_port", ZA_FT_INT, remote_port, REQ, U16),
  F (struct za_tunnel, "protocol", ZA_FT_ENUM, protocol, .names = proto_names),
  F (struct za_tunnel, "expose", ZA_FT_ENUM, expose, .names = expose_names),
};
static const struct za_schema tunnel_schema
    = ZA_SCHEMA (struct za_tunnel, "tunnel", tunnel_fields, .defaults = tunnel_defaults);

static void
api_defaults (void *o)
{
  struct za_api *a = o;
  a->enabled.v = true;
  a->swagger.v = true;
  a->bind.s = "0.0.0.0:3669";
}

static const struct za_field api_fields[] = {
  F (struct za_api, "enabled", ZA_FT_BOOL, enabled),
  F (struct za_api, "bind", ZA_FT_STR, bind),
  F (struct za_api, "jwt_secret", ZA_FT_STR, jwt_secret, OPT),
  F (struct za_api, "swagger", ZA_FT_BOOL, swagger),
};
static const struct za_schema api_schema
    = ZA_SCHEMA (struct za_api, "api", api_fields, .allow_unknown = true, .defaults = api_defaults);

static const struct za_field deployment_fields[] = {
  F (struct za_deployment, "version", ZA_FT_STR, version, REQ),
  F (struct za_deployment, "deployment", ZA_FT_STR, deployment, REQ),
  F (struct za_deployment, "services", ZA_FT_MAP, services, .sub = &service_schema),
  F (struct za_deployment, "externals", ZA_FT_MAP, externals, .sub = &external_schema),
  F (struct za_deployment, "tunnels", ZA_FT_MAP, tunnels, .sub = &tunnel_schema),
  F (struct za_deployment, "api", ZA_FT_STRUCT, api, .sub = &api_schema),
};
const struct za_schema za_deployment_schema
    = ZA_SCHEMA (struct za_deployment, "deployment", deployment_fields);

/* ---- loading -------------------------------------------------------- */

void
za_spec_free (struct za_spec *s)
{
  if (!s)
    return;
  za_arena_release (&s->arena);
  free (s->file);
  free (s);
}

int
za_spec_parse (const char *name, const char *data, size_t len, struct za_spec **out,
               struct za_err **err)
{
  struct za_spec *s = calloc (1, sizeof *s);
  struct za_node *root = NULL;
  struct za_err *errs = NULL;
  struct za_dctx c;

  *out = NULL;
  if (!s || !(s->file = strdup (name)))
    {
      free (s);
      return za_err_set (err, ENOMEM, "out of memory");
    }
  if (za_yaml_parse (&s->arena, s->file, data, len, NULL, &root, err) < 0)
    {
      za_spec_free (s);
      return -1;
    }
  if (!root)
    {
      struct za_mark m = { 1, 1 };
      za_spec_free (s);
      return za_err_set_at (err, name, &m, NULL, "the document is empty (expected a deployment spec mapping)");
    }
  c = (struct za_dctx) { .arena = &s->arena, .file = s->file, .err = &errs, .max_err = 100 };
  za_decode (&c, &za_deployment_schema, root, &s->d);
  if (errs)
    {
      za_err_append (err, &errs);
      za_spec_free (s);
      return -1;
    }
  for (size_t i = 0; i < s->d.services.n; i++)
    {
      struct za_service *svc = s->d.services.v[i].val;
      svc->name = s->d.services.v[i].key.s;
      svc->name_mark = s->d.services.v[i].key.m;
    }
  *out = s;
  return 0;
}

int
za_spec_load_file (const char *path, struct za_spec **out, struct za_err **err)
{
  char *data = NULL;
  size_t len = 0;
  int ret;
  *out = NULL;
  if (za_read_input (path, za_yaml_default_limits.max_input, &data, &len, err) < 0)
    return -1;
  ret = za_spec_parse (strcmp (path, "-") == 0 ? "<stdin>" : path, data, len, out, err);
  free (data);
  return ret;
}

struct za_service *
za_spec_find_service (const struct za_spec *s, const char *name)
{
  for (size_t i = 0; i < s->d.services.n; i++)
    if (strcmp (s->d.services.v[i].key.s, name) == 0)
      return s->d.services.v[i].val;
  return NULL;
}

bool
za_service_host_network (const struct za_service *svc)
{
  return svc->host_network.v || (svc->network_mode.set && svc->network_mode.kind == ZA_NET_HOST);
}
