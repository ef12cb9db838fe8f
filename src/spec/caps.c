#define _GNU_SOURCE
#include "spec/caps.h"

#include <strings.h>

const char *const za_cap_names[ZA_CAP_COUNT] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
  "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
  "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
  "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON",
  "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

static const char *
strip_prefix (const char *name)
{
  while (strncasecmp (name, "CAP_", 4) == 0)
    name += 4;
  return name;
}

int
za_cap_lookup (const char *name)
{
  const char *n = strip_prefix (name);
  if (!*n)
    return -1;
  for (int i = 0; i < ZA_CAP_COUNT; i++)
    if (strcasecmp (n, za_cap_names[i] + 4) == 0)
      return i;
  return -1;
}

bool
za_cap_is_all (const char *name)
{
  return strcasecmp (strip_prefix (name), "ALL") == 0;
}

uint64_t
za_cap_default_set (void)
{
  static const int def[] = { 0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 4 /* FSETID */, 3 /* FOWNER */,
                             27 /* MKNOD */, 13 /* NET_RAW */, 6 /* SETGID */, 7 /* SETUID */,
                             31 /* SETFCAP */, 8 /* SETPCAP */, 10 /* NET_BIND_SERVICE */,
                             18 /* SYS_CHROOT */, 5 /* KILL */, 29 /* AUDIT_WRITE */ };
  uint64_t s = 0;
  for (unsigned i = 0; i < sizeof def / sizeof *def; i++)
    s |= UINT64_C (1) << def[i];
  return s;
}
