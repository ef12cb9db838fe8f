/* MIG devices and IMEX channels for `zagent cdi generate`, read from
   procfs and /dev under the host root, without NVML.  */
#define _GNU_SOURCE
#include "gpu/gpu.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* Numbers N of the entries PREFIX<N> of host directory REL, sorted;
   at most MAX.  Returns how many.  */
static size_t
numbered (const struct za_host *h, const char *rel, const char *prefix, unsigned *out, size_t max)
{
  cleanup_free char *dir = za_host_path (h, rel);
  cleanup_dir DIR *d = dir ? opendir (dir) : NULL;
  struct dirent *de;
  size_t n = 0, pl = strlen (prefix);
  while (d && (de = readdir (d)) && n < max)
    {
      const char *p = de->d_name + pl;
      char *end;
      unsigned long v;
      if (strncmp (de->d_name, prefix, pl) || !isdigit ((unsigned char) *p))
        continue;
      v = strtoul (p, &end, 10);
      if (*end || v > 1000000)
        continue;
      out[n++] = (unsigned) v;
    }
  for (size_t i = 1; i < n; i++) /* insertion sort: a handful of entries */
    for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--)
      {
        unsigned t = out[j];
        out[j] = out[j - 1];
        out[j - 1] = t;
      }
  return n;
}

/* The minor of a MIG capability: "DeviceFileMinor: N" in its access file,
   else the "gpuM/giG[/ciC]/access N" line of mig-minors; -1 if neither.  */
static long
cap_minor (const struct za_host *h, const char *cap)
{
  char rel[512];
  cleanup_free char *p = NULL, *data = NULL;
  struct za_err *e = NULL;
  const char *k;
  snprintf (rel, sizeof rel, "/proc/driver/nvidia/capabilities/%.*s/mig/%s", (int) strcspn (cap, "/"), cap,
            cap + strcspn (cap, "/") + 1);
  p = za_host_path (h, rel);
  if (p && za_read_file (p, 1 << 16, &data, NULL, &e) == 0 && (k = strstr (data, "DeviceFileMinor:")))
    return strtol (k + 16, NULL, 10);
  za_err_free (&e);
  free (data);
  data = NULL;
  free (p);
  p = za_host_path (h, "/proc/driver/nvidia-caps/mig-minors");
  if (p && za_read_file (p, 1 << 20, &data, NULL, &e) == 0)
    {
      size_t cl = strlen (cap);
      for (const char *l = data; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
        if (!strncmp (l, cap, cl) && l[cl] == ' ')
          return strtol (l + cl + 1, NULL, 10);
    }
  za_err_free (&e);
  return -1;
}

/* The GPU's minor, from its first node /dev/nvidiaM.  */
static long
gpu_minor (const struct za_gpu_info *g)
{
  const char *n = g->nodes.n ? g->nodes.v[0] : "";
  if (strncmp (n, "/dev/nvidia", 11) || !isdigit ((unsigned char) n[11]))
    return -1;
  return strtol (n + 11, NULL, 10);
}

static int
mig_device (json_t *devices, const char *name, const char *const nodes[3])
{
  json_t *a = json_array ();
  for (int i = 0; a && i < 3; i++)
    json_array_append_new (a, json_pack ("{s:s}", "path", nodes[i]));
  return json_array_append_new (devices, json_pack ("{s:s, s:{s:o}}", "name", name, "containerEdits", "deviceNodes", a));
}

int
za_gpu_cdi_mig (const struct za_host *h, const struct za_gpu_info *g, unsigned names, json_t *devices,
                struct za_strv *all, struct za_err **warn)
{
  long m = gpu_minor (g);
  unsigned gis[64], cis[64];
  size_t ngi, k = 0;
  char rel[256];
  if (m < 0)
    return 0;
  snprintf (rel, sizeof rel, "/proc/driver/nvidia/capabilities/gpu%ld/mig", m);
  ngi = numbered (h, rel, "gi", gis, 64);
  for (size_t i = 0; i < ngi; i++)
    {
      size_t nci;
      snprintf (rel, sizeof rel, "/proc/driver/nvidia/capabilities/gpu%ld/mig/gi%u", m, gis[i]);
      nci = numbered (h, rel, "ci", cis, 64);
      for (size_t j = 0; j < nci; j++, k++)
        {
          char cap[128], gin[64], cin[64], name[64];
          const char *nodes[3] = { g->nodes.v[0], gin, cin };
          struct stat st;
          long gim, cim;
          snprintf (cap, sizeof cap, "gpu%ld/gi%u/access", m, gis[i]);
          gim = cap_minor (h, cap);
          snprintf (cap, sizeof cap, "gpu%ld/gi%u/ci%u/access", m, gis[i], cis[j]);
          cim = cap_minor (h, cap);
          snprintf (gin, sizeof gin, "/dev/nvidia-caps/nvidia-cap%ld", gim);
          snprintf (cin, sizeof cin, "/dev/nvidia-caps/nvidia-cap%ld", cim);
          if (gim < 0 || cim < 0 || za_host_stat (h, gin, &st) < 0 || za_host_stat (h, cin, &st) < 0)
            {
              za_err_set (warn, ZA_EINPUT, "MIG device %u:%zu (GI %u, CI %u) has no capability device nodes; left out",
                          g->index, k, gis[i], cis[j]);
              continue;
            }
          if ((names & ZA_CDI_NAME_INDEX) && (snprintf (name, sizeof name, "%u:%zu", g->index, k), mig_device (devices, name, nodes) < 0))
            return -1;
          if ((names & ZA_CDI_NAME_TYPE_INDEX)
              && (snprintf (name, sizeof name, "mig%u:%zu", g->index, k), mig_device (devices, name, nodes) < 0))
            return -1;
          for (int n = 1; n < 3; n++)
            if (!za_strv_contains (all, nodes[n]) && za_strv_push (all, nodes[n]) < 0)
              return -1;
        }
    }
  /* Without NVML there is no MIG UUID to name a device by.  */
  if (k && names == ZA_CDI_NAME_UUID)
    za_err_set (warn, ZA_EINPUT, "GPU %u has MIG devices; they have no UUID here and are named by no strategy asked",
                g->index);
  return 0;
}

int
za_gpu_cdi_imex (const struct za_host *h, bool no_all, json_t *devices, struct za_err **err)
{
  unsigned ch[2048];
  size_t n = numbered (h, "/dev/nvidia-caps-imex-channels", "channel", ch, 2048);
  json_t *all = json_array ();
  size_t used = 0;
  if (!all)
    return za_err_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    {
      char path[96], name[16];
      struct stat st;
      snprintf (path, sizeof path, "/dev/nvidia-caps-imex-channels/channel%u", ch[i]);
      if (za_host_stat (h, path, &st) < 0 || !S_ISCHR (st.st_mode))
        continue;
      snprintf (name, sizeof name, "%u", ch[i]);
      if (json_array_append_new (devices, json_pack ("{s:s, s:{s:[{s:s}]}}", "name", name, "containerEdits",
                                                     "deviceNodes", "path", path)) < 0
          || json_array_append_new (all, json_pack ("{s:s}", "path", path)) < 0)
        {
          json_decref (all);
          return za_err_set (err, ENOMEM, "out of memory");
        }
      used++;
    }
  if (used == 0)
    {
      json_decref (all);
      return za_err_set (err, ZA_EINPUT, "no IMEX channels on this host (/dev/nvidia-caps-imex-channels/channelN)");
    }
  if (no_all)
    json_decref (all);
  else if (json_array_append_new (devices, json_pack ("{s:s, s:{s:o}}", "name", "all", "containerEdits", "deviceNodes", all)) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  return 0;
}
