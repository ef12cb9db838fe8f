#define _GNU_SOURCE
#include "util/host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

struct za_host
za_host_default (void)
{
  const char *r = getenv ("ZAGENT_HOST_ROOT");
  if (!r || !strcmp (r, "/"))
    r = "";
  return (struct za_host) { .root = r };
}

char *
za_host_path (const struct za_host *h, const char *path)
{
  char *out = NULL;
  const char *root = h && h->root ? h->root : "";
  size_t rl = strlen (root);
  while (rl > 0 && root[rl - 1] == '/')
    rl--;
  if (asprintf (&out, "%.*s%s", (int) rl, root, path) < 0)
    return NULL;
  return out;
}

char *
za_cgroup_own_v2_path (const struct za_host *h)
{
  cleanup_free char *p = za_host_path (h, "/proc/self/cgroup");
  cleanup_free char *data = NULL;
  struct za_err *e = NULL;
  char *line, *save = NULL;
  if (!p || za_read_file (p, 1 << 20, &data, NULL, &e) < 0)
    {
      za_err_free (&e);
      return NULL;
    }
  for (line = strtok_r (data, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (strncmp (line, "0::", 3) == 0)
      {
        char *v = line + 3;
        size_t n;
        while (*v == ' ' || *v == '\t')
          v++;
        n = strlen (v);
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
          v[--n] = '\0';
        if (!*v || !strcmp (v, "/"))
          return NULL;
        return strdup (v);
      }
  return NULL;
}

bool
za_cgroup_is_unified (const struct za_host *h)
{
  /* On a unified host cgroup.controllers sits at the top of
     /sys/fs/cgroup; on a hybrid host only under /sys/fs/cgroup/unified.  */
  cleanup_free char *p = za_host_path (h, "/sys/fs/cgroup/cgroup.controllers");
  return p && access (p, F_OK) == 0;
}

bool
za_cgroup_root_writable (const struct za_host *h)
{
  cleanup_free char *p = za_host_path (h, "/sys/fs/cgroup/cgroup.subtree_control");
  return p && access (p, W_OK) == 0;
}

int
za_host_stat (const struct za_host *h, const char *path, struct stat *st)
{
  cleanup_free char *p = za_host_path (h, path);
  if (!p)
    {
      errno = ENOMEM;
      return -1;
    }
  return stat (p, st);
}
