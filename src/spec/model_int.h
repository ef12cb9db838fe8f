/* Internals of the spec model shared by its field tables: spec/model.c
   (service, deployment, loading), spec/model_run.c (image, resources,
   command, scale, replica groups, health, init, wasm, logs, restart,
   ulimits), spec/model_net.c (network, endpoints, ports, network_mode)
   and spec/model_storage.c (devices, storage).  */
#ifndef ZA_SPEC_MODEL_INT_H
#define ZA_SPEC_MODEL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "spec/spec.h"

#define F ZA_FIELD
#define U8 .min = 0, .max = UINT8_MAX, .tname = "u8"
#define U16 .min = 0, .max = UINT16_MAX, .tname = "u16"
#define U32 .min = 0, .max = UINT32_MAX, .tname = "u32"
#define I32 .min = INT32_MIN, .max = INT32_MAX, .tname = "i32"
#define I64 .min = INT64_MIN, .max = INT64_MAX, .tname = "i64"
#define REQ .flags = ZA_F_REQ
#define OPT .flags = ZA_F_OPT
#define NAMES(...) .names = (const char *const[]) { __VA_ARGS__, NULL }

extern const char *const za_spec_expose_names[]; /* public, internal */
extern const char *const za_spec_proto_names[];  /* tcp, udp */

/* model_run.c */
extern const struct za_schema za_spec_image_schema, za_spec_resources_schema, za_spec_command_schema,
    za_spec_scale_schema, za_spec_replica_group_schema, za_spec_depends_schema, za_spec_health_schema,
    za_spec_init_schema, za_spec_errors_schema, za_spec_lifecycle_schema, za_spec_node_selector_schema,
    za_spec_platform_schema, za_spec_wasm_schema, za_spec_logs_schema, za_spec_restart_schema,
    za_spec_ulimit_schema;
int za_spec_decode_affinity (struct za_dctx *c, const struct za_node *n, void *dst);

/* model_net.c */
extern const struct za_schema za_spec_network_schema, za_spec_endpoint_schema, za_spec_port_schema,
    za_spec_overlay_cfg_schema;
int za_spec_decode_network_mode (struct za_dctx *c, const struct za_node *n, void *dst);

/* model_storage.c */
extern const struct za_schema za_spec_device_schema, za_spec_storage_schema;

#endif
