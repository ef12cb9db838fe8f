/* One device in an OCI config: its `linux.devices` entry and its
   `linux.resources.devices` cgroup rule, in oci-spec's key order
   (LinuxDevice: path, type, major, minor, fileMode, uid, gid;
   LinuxDeviceCgroup: allow, type, major, minor, access).  The bundle
   builder (spec devices, GPU passthrough) and CDI (device nodes) write
   devices through here only.  */
#ifndef ZA_OCI_DEVICE_H
#define ZA_OCI_DEVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct za_oci_device
{
  const char *path;
  const char *type; /* "c", "b", "p"; CDI may leave it empty */
  int64_t major, minor;
  /* fileMode, uid and gid are written only when set */
  bool has_mode, has_uid, has_gid;
  int64_t file_mode, uid, gid;
};

/* The `linux.devices` entry for D; NULL on OOM (or a path that is not
   UTF-8).  */
json_t *za_oci_device_entry (const struct za_oci_device *d);

/* A cgroup rule: TYPE 0 is every type, MAJOR or MINOR < 0 any (the key
   is left out).  NULL on OOM.  */
json_t *za_oci_cgroup_rule (bool allow, char type, int64_t major, int64_t minor, const char *access);

/* The rule allowing ACCESS to exactly device D (type, major and minor
   always written).  NULL on OOM.  */
json_t *za_oci_device_rule (const struct za_oci_device *d, const char *access);

/* Append D's entry to DEVICES and, when RULES and ACCESS are given, its
   rule to RULES.  -1 on OOM.  */
int za_oci_device_add (json_t *devices, json_t *rules, const struct za_oci_device *d, const char *access);

#endif
