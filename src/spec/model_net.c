/* Field tables of the spec model: networking (network, endpoints and
   their streams and tunnels, port mappings, network_mode, overlay).  */
#define _GNU_SOURCE
#include "spec/model_int.h"

#include <string.h>

const char *const za_spec_expose_names[] = { "public", "internal", NULL };
const char *const za_spec_proto_names[] = { "tcp", "udp", NULL };

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
const struct za_schema za_spec_network_schema
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
  F (struct za_ep_tunnel, "expose", ZA_FT_ENUM, expose, OPT, .names = za_spec_expose_names),
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
  F (struct za_endpoint, "expose", ZA_FT_ENUM, expose, .names = za_spec_expose_names),
  F (struct za_endpoint, "stream", ZA_FT_OPT_STRUCT, stream, OPT, .sub = &stream_schema),
  F (struct za_endpoint, "target_role", ZA_FT_STR, target_role, OPT),
  F (struct za_endpoint, "tunnel", ZA_FT_OPT_STRUCT, tunnel, OPT, .sub = &ep_tunnel_schema),
};
const struct za_schema za_spec_endpoint_schema
    = ZA_SCHEMA (struct za_endpoint, "endpoint", endpoint_fields, .defaults = endpoint_defaults);

/* ---- ports, network_mode, overlay ----------------------------------- */

static void
port_defaults (void *o)
{
  struct za_port_mapping *p = o;
  p->host_ip.s = "0.0.0.0";
}

static const struct za_field port_fields[] = {
  F (struct za_port_mapping, "host_port", ZA_FT_INT, host_port, OPT, U16),
  F (struct za_port_mapping, "container_port", ZA_FT_INT, container_port, REQ, U16),
  F (struct za_port_mapping, "protocol", ZA_FT_ENUM, protocol, .names = za_spec_proto_names),
  F (struct za_port_mapping, "host_ip", ZA_FT_STR, host_ip),
};
const struct za_schema za_spec_port_schema
    = ZA_SCHEMA (struct za_port_mapping, "port mapping", port_fields, .allow_unknown = true,
                 .defaults = port_defaults);

/* network_mode: "default" | "host" | "none" | "bridge" | "bridge:<name>" |
   "container:<id>", or the tagged map forms {bridge: {name}} and
   {container: {id}}.  */
int
za_spec_decode_network_mode (struct za_dctx *c, const struct za_node *n, void *dst)
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
const struct za_schema za_spec_overlay_cfg_schema
    = ZA_SCHEMA (struct za_overlay_cfg, "overlay", overlay_cfg_fields, .allow_unknown = true);
