/* Field tables of the spec model: what runs and how (image, resources
   and GPUs, command, scale, replica groups, depends, health, init,
   errors, lifecycle, node selector, platform, wasm, logs, restart policy,
   ulimits), with the defaults serde fills in (zlayer-reference.md
   §1.2–1.5).  */
#define _GNU_SOURCE
#include "spec/model_int.h"

#include <stdlib.h>
#include <string.h>

#include "spec/syntax.h"

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
const struct za_schema za_spec_image_schema
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
const struct za_schema za_spec_resources_schema
    = ZA_SCHEMA (struct za_resources, "resources", resources_fields);

/* ---- command -------------------------------------------------------- */

static const struct za_field command_fields[] = {
  F (struct za_command, "entrypoint", ZA_FT_STRLIST, entrypoint, OPT),
  F (struct za_command, "args", ZA_FT_STRLIST, args, OPT),
  F (struct za_command, "workdir", ZA_FT_STR, workdir, OPT),
};
/* A list or a string is Compose's `command:`; ZLayer splits it.  */
const struct za_schema za_spec_command_schema
    = ZA_SCHEMA (struct za_command, "command", command_fields,
                 .hint = "write `command: {entrypoint: [...], args: [...]}` (a mapping: the process runs "
                         "entrypoint then args)");

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

const struct za_schema za_spec_scale_schema
    = { .name = "scale", .size = sizeof (struct za_scale), .defaults = scale_defaults,
        .tag = "mode", .tag_off = offsetof (struct za_scale, mode), .variants = scale_variants,
        .nvariants = 3 };

/* ---- replica groups, depends, health, init, errors ----------------- */

int
za_spec_decode_affinity (struct za_dctx *c, const struct za_node *n, void *dst)
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
  F (struct za_replica_group, "image", ZA_FT_OPT_STRUCT, image, OPT, .sub = &za_spec_image_schema),
  F (struct za_replica_group, "env", ZA_FT_STRMAP, env),
  F (struct za_replica_group, "command", ZA_FT_OPT_STRUCT, command, OPT, .sub = &za_spec_command_schema),
  F (struct za_replica_group, "resources", ZA_FT_OPT_STRUCT, resources, OPT,
     .sub = &za_spec_resources_schema),
  F (struct za_replica_group, "affinity", ZA_FT_CUSTOM, affinity, .custom = za_spec_decode_affinity),
};
const struct za_schema za_spec_replica_group_schema
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
const struct za_schema za_spec_depends_schema
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
const struct za_schema za_spec_health_schema
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
const struct za_schema za_spec_init_schema = ZA_SCHEMA (struct za_init, "init", init_fields);

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
const struct za_schema za_spec_errors_schema = ZA_SCHEMA (struct za_errors, "errors", errors_fields);

static const struct za_field lifecycle_fields[] = {
  F (struct za_lifecycle, "delete_on_exit", ZA_FT_BOOL, delete_on_exit),
};
const struct za_schema za_spec_lifecycle_schema
    = ZA_SCHEMA (struct za_lifecycle, "lifecycle", lifecycle_fields);

/* ---- node selector, platform, wasm, logs, restart, ulimits ---------- */

static const struct za_field node_selector_fields[] = {
  F (struct za_node_selector, "labels", ZA_FT_STRMAP, labels),
  F (struct za_node_selector, "prefer_labels", ZA_FT_STRMAP, prefer_labels),
};
const struct za_schema za_spec_node_selector_schema
    = ZA_SCHEMA (struct za_node_selector, "node_selector", node_selector_fields);

static const struct za_field platform_fields[] = {
  F (struct za_platform, "os", ZA_FT_ENUM, os, OPT, NAMES ("linux", "windows", "macos")),
  F (struct za_platform, "arch", ZA_FT_ENUM, arch, OPT, NAMES ("amd64", "arm64")),
  F (struct za_platform, "osVersion", ZA_FT_STR, os_version, OPT),
};
const struct za_schema za_spec_platform_schema
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
const struct za_schema za_spec_wasm_schema
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
const struct za_schema za_spec_logs_schema
    = ZA_SCHEMA (struct za_logs, "logs", logs_fields, .allow_unknown = true,
                 .defaults = logs_defaults);

static const struct za_field restart_fields[] = {
  F (struct za_restart_policy, "kind", ZA_FT_ENUM, kind, REQ,
     NAMES ("no", "always", "unless_stopped", "on_failure")),
  F (struct za_restart_policy, "max_attempts", ZA_FT_INT, max_attempts, OPT, U32),
  F (struct za_restart_policy, "delay", ZA_FT_STR, delay, OPT),
};
const struct za_schema za_spec_restart_schema
    = ZA_SCHEMA (struct za_restart_policy, "restart_policy", restart_fields);

static const struct za_field ulimit_fields[] = {
  F (struct za_ulimit, "soft", ZA_FT_INT, soft, I64),
  F (struct za_ulimit, "hard", ZA_FT_INT, hard, I64),
};
const struct za_schema za_spec_ulimit_schema = ZA_SCHEMA (struct za_ulimit, "ulimit", ulimit_fields);
