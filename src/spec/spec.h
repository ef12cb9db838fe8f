/* The ZLayer deployment spec model (`version: v1`), every key of
   DeploymentSpec and ServiceSpec (zlayer-reference.md §1).  Strings and
   lists point into the spec's arena; maps keep document order.  */
#ifndef ZA_SPEC_H
#define ZA_SPEC_H

#include "yaml/decode.h"

/* The most GPUs one service may ask for (resources.gpu.count): far above
   any node, low enough that counts never overflow what uses them.  */
#define ZA_GPU_MAX_COUNT 1024

enum za_rtype { ZA_RTYPE_SERVICE, ZA_RTYPE_JOB, ZA_RTYPE_CRON };
enum za_pull_policy { ZA_PULL_ALWAYS, ZA_PULL_NEWER, ZA_PULL_IF_NOT_PRESENT, ZA_PULL_NEVER };
enum za_sharing { ZA_SHARING_EXCLUSIVE, ZA_SHARING_MPS, ZA_SHARING_TIME_SLICE };
enum za_storage_type { ZA_STORAGE_BIND, ZA_STORAGE_NAMED, ZA_STORAGE_ANONYMOUS,
                       ZA_STORAGE_TMPFS, ZA_STORAGE_S3 };
enum za_tier { ZA_TIER_LOCAL, ZA_TIER_CACHED, ZA_TIER_NETWORK };
enum za_scale_mode { ZA_SCALE_FIXED, ZA_SCALE_MANUAL, ZA_SCALE_ADAPTIVE };
enum za_check_type { ZA_CHECK_TCP, ZA_CHECK_HTTP, ZA_CHECK_COMMAND };
enum za_service_type { ZA_ST_STANDARD, ZA_ST_WASM_HTTP, ZA_ST_WASM_PLUGIN,
                       ZA_ST_WASM_TRANSFORMER, ZA_ST_WASM_AUTHENTICATOR,
                       ZA_ST_WASM_RATE_LIMITER, ZA_ST_WASM_MIDDLEWARE,
                       ZA_ST_WASM_ROUTER, ZA_ST_JOB };
enum za_ep_protocol { ZA_EP_HTTP, ZA_EP_HTTPS, ZA_EP_TCP, ZA_EP_UDP, ZA_EP_WEBSOCKET };
enum za_network_mode_kind { ZA_NET_DEFAULT, ZA_NET_HOST, ZA_NET_NONE, ZA_NET_BRIDGE,
                            ZA_NET_CONTAINER };

extern const char *const za_service_type_names[];

struct za_image_spec
{
  struct za_str name;
  struct za_enum pull_policy;
  struct za_enum source_policy;
};

struct za_distributed
{
  struct za_str backend; /* default "nccl" */
  struct za_int master_port; /* default 29500 */
};

struct za_gpu_spec
{
  struct za_int count; /* default 1 */
  struct za_str vendor; /* default "nvidia" */
  struct za_str mode, model;
  struct za_enum scheduling;
  struct za_distributed *distributed;
  struct za_enum sharing;
  struct za_str mps_pipe_dir, mps_log_dir;
  struct za_int time_slice_index;
  struct za_str time_slicing_config_path;
};

struct za_resources
{
  struct za_float cpu;
  struct za_str memory;
  struct za_gpu_spec *gpu;
  struct za_int pids_limit;
  struct za_str cpuset;
  struct za_int cpu_shares;
  struct za_str memory_swap, memory_reservation;
  struct za_int memory_swappiness, oom_score_adj;
  struct za_bool oom_kill_disable;
  struct za_int blkio_weight;
};

struct za_command
{
  struct za_strlist entrypoint, args;
  struct za_str workdir;
};

struct za_overlay_settings
{
  struct za_bool enabled, encrypted, isolated;
};

struct za_overlays
{
  struct za_overlay_settings service, global;
};

struct za_join
{
  struct za_enum mode, scope;
};

struct za_service_network
{
  struct za_overlays overlays;
  struct za_join join;
};

struct za_stream_health
{
  struct za_enum type; /* tcp_connect | udp_probe */
  struct za_str request, expect;
};

struct za_stream
{
  struct za_bool tls, proxy_protocol;
  struct za_str session_timeout;
  struct za_stream_health *health_check;
};

struct za_tunnel_access
{
  struct za_bool enabled, audit;
  struct za_str max_ttl;
};

struct za_ep_tunnel
{
  struct za_bool enabled;
  struct za_str from, to;
  struct za_int remote_port;
  struct za_enum expose;
  struct za_tunnel_access *access;
};

struct za_endpoint
{
  struct za_str name;
  struct za_enum protocol;
  struct za_int port, target_port;
  struct za_str path, host;
  struct za_enum expose;
  struct za_stream *stream;
  struct za_str target_role;
  struct za_ep_tunnel *tunnel;
};

struct za_scale_targets
{
  struct za_int cpu, memory, rps;
};

struct za_scale
{
  struct za_enum mode;
  struct za_int replicas, min, max;
  struct za_dur cooldown;
  struct za_scale_targets *targets;
};

struct za_affinity
{
  bool set;
  int kind; /* 0 spread, 1 pack, 2 pin */
  const char *pin;
  struct za_mark m;
};

struct za_replica_group
{
  struct za_str role;
  struct za_int count;
  struct za_image_spec *image;
  struct za_strmap env;
  struct za_command *command;
  struct za_resources *resources;
  struct za_affinity affinity;
};

struct za_depends
{
  struct za_str service;
  struct za_enum condition;
  struct za_dur timeout;
  struct za_enum on_timeout;
};

struct za_health_check
{
  struct za_enum type;
  struct za_int port, expect_status;
  struct za_str url, command;
};

struct za_health
{
  struct za_dur start_grace, interval, timeout;
  struct za_int retries;
  struct za_health_check check;
  bool present;
};

struct za_init_step
{
  struct za_str id, uses;
  const struct za_node *with;
  struct za_int retry;
  struct za_dur timeout;
  struct za_enum on_failure;
};

struct za_init
{
  struct za_list steps; /* struct za_init_step */
};

struct za_action
{
  struct za_enum action;
};

struct za_errors
{
  struct za_action on_init_failure, on_panic;
};

struct za_lifecycle
{
  struct za_bool delete_on_exit;
};

struct za_device
{
  struct za_str path;
  struct za_bool read, write, mknod;
};

struct za_storage
{
  struct za_enum type;
  struct za_str source, target, name, tier_text, size, bucket, prefix, endpoint, credentials;
  struct za_enum tier;
  struct za_bool readonly;
  /* tmpfs mode as the user meant it (octal digits), see model.c */
  struct za_int mode;
  bool mode_was_decimal; /* `mode: 1777` read as octal: warn */
};

struct za_port_mapping
{
  struct za_int host_port, container_port;
  struct za_enum protocol;
  struct za_str host_ip;
};

struct za_node_selector
{
  struct za_strmap labels, prefer_labels;
};

struct za_platform
{
  struct za_enum os, arch;
  struct za_str os_version;
};

struct za_wasm_caps
{
  struct za_bool config, keyvalue, logging, secrets, metrics, http_client, cli, filesystem,
      sockets;
};

struct za_preopen
{
  struct za_str source, target;
  struct za_bool readonly;
};

struct za_wasm
{
  struct za_int min_instances, max_instances;
  struct za_dur idle_timeout, request_timeout, epoch_interval;
  struct za_str max_memory, kv_namespace;
  struct za_uint max_fuel, kv_max_value_size;
  struct za_wasm_caps *capabilities;
  struct za_bool allow_http_outgoing, allow_tcp, allow_udp, kv_enabled, precompile;
  struct za_strlist allowed_hosts, secrets;
  struct za_list preopens; /* struct za_preopen */
};

struct za_logs
{
  struct za_enum destination;
  struct za_uint max_size_bytes, retention_secs;
};

struct za_restart_policy
{
  struct za_enum kind;
  struct za_int max_attempts;
  struct za_str delay;
};

struct za_ulimit
{
  struct za_int soft, hard;
};

struct za_network_mode
{
  bool set;
  int kind; /* enum za_network_mode_kind */
  const char *arg; /* bridge name / container id */
  struct za_mark m;
};

struct za_overlay_cfg
{
  struct za_enum mode;
  struct za_str parent;
};

struct za_service
{
  const char *name; /* the key under `services` */
  struct za_mark name_mark;
  struct za_enum rtype;
  struct za_str schedule;
  struct za_image_spec image;
  struct za_resources resources;
  struct za_strmap env;
  struct za_command command;
  struct za_service_network network;
  struct za_list endpoints;      /* struct za_endpoint */
  struct za_scale scale;
  struct za_list replica_groups; /* struct za_replica_group */
  struct za_list depends;        /* struct za_depends */
  struct za_health health;
  struct za_init init;
  struct za_errors errors;
  struct za_lifecycle lifecycle;
  struct za_enum isolation;
  struct za_list devices;        /* struct za_device */
  struct za_list storage;        /* struct za_storage */
  struct za_list port_mappings;  /* struct za_port_mapping */
  struct za_strlist capabilities, cap_drop;
  struct za_bool privileged;
  struct za_enum node_mode;
  struct za_node_selector *node_selector;
  struct za_affinity affinity;
  struct za_platform *platform;
  struct za_enum service_type;
  struct za_wasm *wasm;
  struct za_logs *logs;
  struct za_bool host_network;
  struct za_str hostname;
  struct za_strlist dns, extra_hosts;
  struct za_restart_policy *restart_policy;
  struct za_strmap labels;
  struct za_str user, stop_signal;
  struct za_dur stop_grace_period;
  struct za_strmap sysctls;
  struct za_map ulimits;         /* name -> struct za_ulimit */
  struct za_strlist security_opt;
  struct za_str pid_mode, ipc_mode, userns_mode;
  struct za_network_mode network_mode;
  struct za_strlist extra_groups;
  struct za_bool read_only_root_fs, init_container, tty, stdin_open;
  struct za_str cgroup_parent;
  struct za_strlist expose;
  struct za_overlay_cfg *overlay;
  struct za_enum localhost_reachability;
};

struct za_external
{
  struct za_strlist backends;
  struct za_list endpoints; /* struct za_endpoint */
  struct za_health *health;
};

struct za_tunnel
{
  struct za_str from, to;
  struct za_int local_port, remote_port;
  struct za_enum protocol, expose;
};

struct za_api
{
  struct za_bool enabled, swagger;
  struct za_str bind, jwt_secret;
};

struct za_deployment
{
  struct za_str version, deployment;
  struct za_map services;  /* name -> struct za_service */
  struct za_map externals; /* name -> struct za_external */
  struct za_map tunnels;   /* name -> struct za_tunnel */
  struct za_api api;
};

/* A loaded spec file: owns its arena (and so everything above).  */
struct za_spec
{
  struct za_arena arena;
  char *file;
  struct za_deployment d;
};

extern const struct za_schema za_deployment_schema;

/* Parse (no validation).  NAME names the input in errors.  */
int za_spec_parse (const char *name, const char *data, size_t len,
                   struct za_spec **out, struct za_err **err);
int za_spec_load_file (const char *path, struct za_spec **out, struct za_err **err);
void za_spec_free (struct za_spec *s);

/* Semantic validation (§1.6); appends every problem to *ERR.  */
int za_spec_validate (const struct za_spec *s, struct za_err **err);

struct za_service *za_spec_find_service (const struct za_spec *s, const char *name);

/* The effective host-network flag (host_network or network_mode: host).  */
bool za_service_host_network (const struct za_service *svc);

/* Helpers shared by validation and the bundle.  */
extern const char *const za_ulimit_names[];
int za_ulimit_index (const char *name);
void za_ulimit_effective (const struct za_ulimit *u, int64_t *soft, int64_t *hard);
bool za_volume_name_valid (const char *name);
/* Capability and ulimit names of one service (part of za_spec_validate).  */
int za_service_check_names (const struct za_spec *spec, const struct za_service *svc, struct za_err **err);

#endif
