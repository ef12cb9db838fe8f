/* What the bundle needs to know about the host, read through one
   injectable root (ZAGENT_HOST_ROOT, default "/") so tests can build fake
   hosts: the cgroup layout, sub-id files, device nodes.  */
#ifndef ZA_HOST_H
#define ZA_HOST_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/err.h"

struct za_host
{
  const char *root; /* "" means the real root */
};

/* Host root from $ZAGENT_HOST_ROOT (or "").  */
struct za_host za_host_default (void);

/* ROOT + PATH (PATH absolute).  Returns malloc'd string or NULL.  */
char *za_host_path (const struct za_host *h, const char *path);

/* The process's own cgroup-v2 path from /proc/self/cgroup ("0::" line),
   NULL when absent or "/".  */
char *za_cgroup_own_v2_path (const struct za_host *h);
/* /sys/fs/cgroup is a unified cgroup-v2 mount (not v1 or hybrid).  */
bool za_cgroup_is_unified (const struct za_host *h);
bool za_cgroup_root_writable (const struct za_host *h);

/* stat a host device node (through the host root).  0, or -1 with errno.  */
int za_host_stat (const struct za_host *h, const char *path, struct stat *st);

#endif
