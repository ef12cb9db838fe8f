/* Field tables for every struct of the ZLayer spec format, and the
   defaults serde fills in (zlayer-reference.md §1.2–1.5): the service
   and the deployment here, their blocks in model_run.c, model_net.c and
   model_storage.c; loading a spec.  */
#define _GNU_SOURCE
#include "spec/model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

const char *const za_service_type_names[]
    = { "standard", "wasm_http", "wasm_plugin", "wasm_transformer", "wasm_authenticator",
        "wasm_rate_limiter", "wasm_middleware", "wasm_router", "job", NULL };

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
  SV ("image", ZA_FT_STRUCT, image, REQ, .sub = &za_spec_image_schema),
  SV ("resources", ZA_FT_STRUCT, resources, .sub = &za_spec_resources_schema),
  SV ("env", ZA_FT_STRMAP, env),
  SV ("command", ZA_FT_STRUCT, command, .sub = &za_spec_command_schema),
  SV ("network", ZA_FT_STRUCT, network, .sub = &za_spec_network_schema),
  SV ("endpoints", ZA_FT_LIST, endpoints, .sub = &za_spec_endpoint_schema),
  SV ("scale", ZA_FT_STRUCT, scale, .sub = &za_spec_scale_schema),
  SV ("replica_groups", ZA_FT_LIST, replica_groups, OPT, .sub = &za_spec_replica_group_schema),
  SV ("depends", ZA_FT_LIST, depends, .sub = &za_spec_depends_schema),
  SV ("health", ZA_FT_STRUCT, health, .sub = &za_spec_health_schema),
  SV ("init", ZA_FT_STRUCT, init, .sub = &za_spec_init_schema),
  SV ("errors", ZA_FT_STRUCT, errors, .sub = &za_spec_errors_schema),
  SV ("lifecycle", ZA_FT_STRUCT, lifecycle, .sub = &za_spec_lifecycle_schema),
  SV ("isolation", ZA_FT_ENUM, isolation, OPT, NAMES ("auto", "process", "hyperv")),
  SV ("devices", ZA_FT_LIST, devices, .sub = &za_spec_device_schema),
  SV ("storage", ZA_FT_LIST, storage, .sub = &za_spec_storage_schema),
  SV ("port_mappings", ZA_FT_LIST, port_mappings, .sub = &za_spec_port_schema),
  SV ("capabilities", ZA_FT_STRLIST, capabilities, .alias = "cap_add"),
  SV ("cap_drop", ZA_FT_STRLIST, cap_drop),
  SV ("privileged", ZA_FT_BOOL, privileged),
  SV ("node_mode", ZA_FT_ENUM, node_mode, NAMES ("shared", "dedicated", "exclusive")),
  SV ("node_selector", ZA_FT_OPT_STRUCT, node_selector, OPT, .sub = &za_spec_node_selector_schema),
  SV ("affinity", ZA_FT_CUSTOM, affinity, OPT, .custom = za_spec_decode_affinity),
  SV ("platform", ZA_FT_OPT_STRUCT, platform, OPT, .sub = &za_spec_platform_schema),
  SV ("service_type", ZA_FT_ENUM, service_type, .names = za_service_type_names),
  SV ("wasm", ZA_FT_OPT_STRUCT, wasm, OPT, .alias = "wasm_http", .sub = &za_spec_wasm_schema),
  SV ("logs", ZA_FT_OPT_STRUCT, logs, OPT, .sub = &za_spec_logs_schema),
  SV ("host_network", ZA_FT_BOOL, host_network),
  SV ("hostname", ZA_FT_STR, hostname, OPT),
  SV ("dns", ZA_FT_STRLIST, dns),
  SV ("extra_hosts", ZA_FT_STRLIST, extra_hosts),
  SV ("restart_policy", ZA_FT_OPT_STRUCT, restart_policy, OPT, .sub = &za_spec_restart_schema),
  SV ("labels", ZA_FT_STRMAP, labels),
  SV ("user", ZA_FT_STR, user, OPT),
  SV ("stop_signal", ZA_FT_STR, stop_signal, OPT),
  SV ("stop_grace_period", ZA_FT_DUR, stop_grace_period, OPT),
  SV ("sysctls", ZA_FT_STRMAP, sysctls),
  SV ("ulimits", ZA_FT_MAP, ulimits, .sub = &za_spec_ulimit_schema),
  SV ("security_opt", ZA_FT_STRLIST, security_opt),
  SV ("pid_mode", ZA_FT_STR, pid_mode, OPT),
  SV ("ipc_mode", ZA_FT_STR, ipc_mode, OPT),
  SV ("network_mode", ZA_FT_CUSTOM, network_mode, .custom = za_spec_decode_network_mode),
  SV ("extra_groups", ZA_FT_STRLIST, extra_groups),
  SV ("read_only_root_fs", ZA_FT_BOOL, read_only_root_fs),
  SV ("init_container", ZA_FT_BOOL, init_container, OPT),
  SV ("tty", ZA_FT_BOOL, tty),
  SV ("stdin_open", ZA_FT_BOOL, stdin_open),
  SV ("userns_mode", ZA_FT_STR, userns_mode, OPT),
  SV ("cgroup_parent", ZA_FT_STR, cgroup_parent, OPT),
  SV ("expose", ZA_FT_STRLIST, expose),
  SV ("overlay", ZA_FT_OPT_STRUCT, overlay, OPT, .sub = &za_spec_overlay_cfg_schema),
  SV ("localhost_reachability", ZA_FT_ENUM, localhost_reachability,
      NAMES ("auto", "always", "never")),
};
static const struct za_schema service_schema
    = ZA_SCHEMA (struct za_service, "service", service_fields, .defaults = service_defaults);

/* ---- externals, tunnels, api, deployment --------------------------- */

static const struct za_field external_fields[] = {
  F (struct za_external, "backends", ZA_FT_STRLIST, backends),
  F (struct za_external, "endpoints", ZA_FT_LIST, endpoints, .sub = &za_spec_endpoint_schema),
  F (struct za_external, "health", ZA_FT_OPT_STRUCT, health, OPT, .sub = &za_spec_health_schema),
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
  F (struct za_tunnel, "protocol", ZA_FT_ENUM, protocol, .names = za_spec_proto_names),
  F (struct za_tunnel, "expose", ZA_FT_ENUM, expose, .names = za_spec_expose_names),
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
  c = (struct za_dctx) { .arena = &s->arena, .file = s->file, .errs = ZA_ERRS_INIT (ZA_ERRS_MAX) };
  za_decode (&c, &za_deployment_schema, root, &s->d);
  if (za_errs_finish (&c.errs, err) < 0)
    {
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
