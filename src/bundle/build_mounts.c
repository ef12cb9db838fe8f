/* config.json's `mounts`: the default set, `storage` (bind, named,
   anonymous, tmpfs, S3 volumes), the ZLayer socket, resolv.conf and the
   GPU plan's mounts.  */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/paths.h"
#include "bundle/build_int.h"
#include "spec/units.h"
#include "util/cleanup.h"
#include "util/fs.h"

static json_t *
mount_obj (struct gen *g, const char *dst, const char *type, const char *src, const char *opts)
{
  json_t *m = jcheck (g, json_object ()), *o;
  cleanup_free char *copy = strdup (opts);
  char *save = NULL;
  if (!m || !copy)
    {
      g->oom = true;
      json_decref (m);
      return NULL;
    }
  jset (g, m, "destination", JSTR (dst));
  jset (g, m, "type", JSTR (type));
  jset (g, m, "source", JSTR (src));
  o = jcheck (g, json_array ());
  for (char *t = strtok_r (copy, ",", &save); o && t; t = strtok_r (NULL, ",", &save))
    jpush (g, o, JSTR (t));
  jset (g, m, "options", o);
  return m;
}

static void
default_mounts (struct gen *g, json_t *mounts)
{
  bool ro = !g->privileged;
  jpush (g, mounts, mount_obj (g, "/proc", "proc", "proc", "nosuid,noexec,nodev"));
  jpush (g, mounts, mount_obj (g, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
  uint32_t start, count;
  /* gid=5 (tty) only where the container maps gid 5: the kernel refuses
     an unmapped gid, so rootless with one id drops it (runc spec
     --rootless drops every uid=/gid=).  */
  bool tty_gid = !g->rootless || (za_gen_subid (g, true, &start, &count) && count >= 5);
  jpush (g, mounts, mount_obj (g, "/dev/pts", "devpts", "devpts",
                               tty_gid ? "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"
                                       : "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"));
  jpush (g, mounts, mount_obj (g, "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
  jpush (g, mounts, mount_obj (g, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  jpush (g, mounts, mount_obj (g, "/sys", "sysfs", "sysfs", ro ? "nosuid,noexec,nodev,ro" : "nosuid,noexec,nodev"));
  /* Read-only for non-privileged containers: with the host's cgroup2
     hierarchy mounted read-write, a container could move itself out of
     its cgroup by writing the root cgroup.procs (Docker mounts it ro).  */
  jpush (g, mounts, mount_obj (g, "/sys/fs/cgroup", "cgroup2", "cgroup",
                               ro ? "nosuid,noexec,nodev,relatime,ro" : "nosuid,noexec,nodev,relatime"));
}

static const char *
volume_path (const struct za_build_opts *o, const char *key)
{
  for (size_t i = 0; i < o->nvolumes; i++)
    if (strcmp (o->volumes[i].key, key) == 0)
      return o->volumes[i].path;
  return NULL;
}

/* Storage manager key for an anonymous volume: leading '/' dropped,
   '/' -> '_' (so /app/cache is _anon_app_cache).  */
static char *
anon_key (const char *target)
{
  char *k = NULL;
  while (*target == '/')
    target++;
  if (asprintf (&k, "_anon_%s", target) < 0)
    return NULL;
  for (char *p = k + 6; *p; p++)
    if (*p == '/')
      *p = '_';
  return k;
}

struct anon_ref
{
  char *key;
  size_t idx;
};

static int
anon_ref_cmp (const void *a, const void *b)
{
  const struct anon_ref *x = a, *y = b;
  int r = strcmp (x->key, y->key);
  return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/* For each anonymous storage entry, the index of the first earlier one
   with the same volume key, or SIZE_MAX.  Sorting keeps a long storage
   list O(n log n) (a pairwise check was quadratic, with an error per
   pair).  NULL on OOM.  */
static size_t *
anon_first_same_key (const struct za_list *sl)
{
  size_t *first = malloc ((sl->n ? sl->n : 1) * sizeof *first);
  struct anon_ref *r = calloc (sl->n ? sl->n : 1, sizeof *r);
  size_t n = 0;
  bool ok = first && r;
  for (size_t i = 0; ok && i < sl->n; i++)
    {
      const struct za_storage *st = (const struct za_storage *) sl->v + i;
      first[i] = SIZE_MAX;
      if (st->type.v == ZA_STORAGE_ANONYMOUS && st->target.s)
        {
          r[n].idx = i;
          ok = (r[n++].key = anon_key (st->target.s)) != NULL;
        }
    }
  if (ok)
    {
      qsort (r, n, sizeof *r, anon_ref_cmp);
      for (size_t i = 1; i < n; i++)
        if (strcmp (r[i].key, r[i - 1].key) == 0)
          first[r[i].idx] = first[r[i - 1].idx] != SIZE_MAX ? first[r[i - 1].idx] : r[i - 1].idx;
    }
  for (size_t i = 0; r && i < n; i++)
    free (r[i].key);
  free (r);
  if (!ok)
    {
      free (first);
      return NULL;
    }
  return first;
}

static int
storage_mounts (struct gen *g, json_t *mounts)
{
  const struct za_list *sl = &g->svc->storage;
  char path[1200];
  int ret = 0;
  cleanup_free size_t *anon_first = anon_first_same_key (sl);
  if (!anon_first)
    return za_gen_error (g, ENOMEM, "out of memory");
  for (size_t i = 0; i < sl->n; i++)
    {
      const struct za_storage *st = (const struct za_storage *) sl->v + i;
      cleanup_free char *key = NULL;
      const char *src = NULL;
      char opts[128];
      const char *rw = st->readonly.v ? "ro" : "rw";
      snprintf (path, sizeof path, "%s.storage[%zu]", g->base, i);
      if (!za_path_is_absolute_clean (st->target.s))
        {
          ret = za_errs_at (&g->errs, g->file, &st->target.m, path,
                            "mount target `%s` must be an absolute path without `..`", st->target.s);
          continue;
        }
      switch (st->type.v)
        {
        case ZA_STORAGE_BIND:
          if (!za_path_is_absolute_clean (st->source.s))
            {
              ret = za_errs_at (&g->errs, g->file, &st->source.m, path,
                                "bind source `%s` must be an absolute host path without `..`", st->source.s);
              continue;
            }
          snprintf (opts, sizeof opts, "rbind,%s", rw);
          jpush (g, mounts, mount_obj (g, st->target.s, "none", st->source.s, opts));
          break;
        case ZA_STORAGE_NAMED:
          if (!za_volume_name_valid (st->name.s))
            {
              ret = za_errs_at (&g->errs, g->file, &st->name.m, path, "Invalid volume name: %s", st->name.s);
              continue;
            }
          if (st->tier.v == ZA_TIER_NETWORK)
            za_errs_at (&g->warns, g->file, &st->type.m, path,
                        "Network storage tier is NOT SQLite-safe. Avoid using SQLite databases on this volume.");
          src = volume_path (g->o, st->name.s);
          if (!src)
            {
              ret = za_errs_at (&g->errs, g->file, &st->name.m, path,
                                "volume '%s' not prepared - ensure StorageManager.ensure_volume() was called (pass --volume %s=PATH)",
                                st->name.s, st->name.s);
              continue;
            }
          snprintf (opts, sizeof opts, "rbind,%s", rw);
          jpush (g, mounts, mount_obj (g, st->target.s, "none", src, opts));
          break;
        case ZA_STORAGE_ANONYMOUS:
          key = anon_key (st->target.s);
          if (!key)
            return za_gen_error (g, ENOMEM, "out of memory");
          /* Two targets with one key (/a/b and /a_b) would share a
             volume: refuse instead of silently aliasing them (one error
             per later target, naming the first).  */
          if (anon_first[i] != SIZE_MAX)
            ret = za_errs_at (&g->errs, g->file, &st->target.m, path,
                              "anonymous volume targets `%s` and `%s` map to the same volume key `%s`",
                              ((const struct za_storage *) sl->v + anon_first[i])->target.s, st->target.s, key);
          if (st->tier.v == ZA_TIER_NETWORK)
            za_errs_at (&g->warns, g->file, &st->type.m, path, "Network storage tier is NOT SQLite-safe.");
          src = volume_path (g->o, key);
          if (!src)
            {
              ret = za_errs_at (&g->errs, g->file, &st->target.m, path,
                                "anonymous volume for '%s' not prepared (pass --volume %s=PATH)", st->target.s, key);
              continue;
            }
          jpush (g, mounts, mount_obj (g, st->target.s, "none", src, "rbind,rw"));
          break;
        case ZA_STORAGE_TMPFS:
          {
            char o2[256];
            int n = snprintf (o2, sizeof o2, "nosuid,nodev");
            if (st->size.s)
              {
                int64_t b;
                if (strchr (st->size.s, ',') || za_parse_memory (st->size.s, &b, NULL) != ZA_MEM_OK)
                  {
                    ret = za_errs_at (&g->errs, g->file, &st->size.m, path, "invalid tmpfs size `%s`", st->size.s);
                    continue;
                  }
                n += snprintf (o2 + n, sizeof o2 - (size_t) n, ",size=%s", st->size.s);
              }
            if (st->mode.set)
              {
                if (st->mode_was_decimal)
                  za_errs_at (&g->warns, g->file, &st->mode.m, path,
                              "tmpfs mode %" PRIo64 " read as octal 0%" PRIo64 " (write 0o%" PRIo64
                              " or \"%" PRIo64 "\" to say so)",
                              (uint64_t) st->mode.v, (uint64_t) st->mode.v, (uint64_t) st->mode.v,
                              (uint64_t) st->mode.v);
                snprintf (o2 + n, sizeof o2 - (size_t) n, ",mode=%" PRIo64, (uint64_t) st->mode.v);
              }
            jpush (g, mounts, mount_obj (g, st->target.s, "tmpfs", "tmpfs", o2));
          }
          break;
        case ZA_STORAGE_S3:
          za_errs_at (&g->warns, g->file, &st->type.m, path,
                      "S3 storage is NOT SQLite-safe. Use for read-heavy workloads only.");
          if (asprintf (&key, "_s3_%s_%s", st->bucket.s, st->prefix.s ? st->prefix.s : "") < 0)
            return za_gen_error (g, ENOMEM, "out of memory");
          src = volume_path (g->o, key);
          if (!src)
            {
              ret = za_errs_at (&g->errs, g->file, &st->bucket.m, path,
                                "S3 volume for bucket '%s' not mounted - ensure StorageManager.mount_s3() was called (pass --volume %s=PATH)",
                                st->bucket.s, key);
              continue;
            }
          snprintf (opts, sizeof opts, "rbind,%s", rw);
          jpush (g, mounts, mount_obj (g, st->target.s, "none", src, opts));
          break;
        }
      if (src && src[0] != '/')
        ret = za_errs_at (&g->errs, NULL, NULL, path, "prepared volume path `%s` must be absolute", src);
    }
  return ret;
}

/* Collapse repeated '/' and drop trailing ones (not a lone "/"), in
   place: Rust's Path equality ignores both.  */
static void
path_normalize (char *p)
{
  char *w = p;
  for (const char *r = p; *r; r++)
    if (!(*r == '/' && w > p && w[-1] == '/'))
      *w++ = *r;
  while (w - p > 1 && w[-1] == '/')
    w--;
  *w = '\0';
}

/* FNV-1a 64 over the data dir and "daemon" (zlayer-paths).  The data dir
   equal to the platform default (even when given through the variable)
   means the platform socket.  */
static char *
default_socket_path (void)
{
  const char *d = getenv ("ZLAYER_DATA_DIR");
  cleanup_free char *plat = NULL;
  char *out = NULL;
  if (!d || !*d)
    return strdup ("/var/run/zlayer.sock");
  {
    cleanup_free char *dn = strdup (d);
    plat = za_platform_data_dir ();
    if (!plat || !dn)
      return NULL;
    path_normalize (dn);
    path_normalize (plat);
    if (strcmp (dn, plat) == 0)
      return strdup ("/var/run/zlayer.sock");
  }
  if (asprintf (&out, "%s/run/zlayer.sock", d) < 0)
    return NULL;
  if (strlen (out) > 103)
    {
      uint64_t h = 0xcbf29ce484222325ull;
      for (const char *p = d; *p; p++)
        h = (h ^ (unsigned char) *p) * 0x100000001b3ull;
      for (const char *p = "daemon"; *p; p++)
        h = (h ^ (unsigned char) *p) * 0x100000001b3ull;
      free (out);
      if (asprintf (&out, "/tmp/zlayer-daemon-%016" PRIx64 ".sock", h) < 0)
        return NULL;
    }
  return out;
}

int
za_gen_mounts (struct gen *g, json_t **out, char **resolv)
{
  json_t *mounts = jcheck (g, json_array ());
  const struct za_strlist *dns = &g->svc->dns;
  if (!mounts)
    return -1;
  default_mounts (g, mounts);
  if (storage_mounts (g, mounts) < 0)
    {
      json_decref (mounts);
      return -1;
    }
  if (g->o->socket_path)
    {
      cleanup_free char *dst = default_socket_path ();
      if (!dst)
        g->oom = true;
      else
        jpush (g, mounts, mount_obj (g, dst, "bind", g->o->socket_path, "rbind,ro"));
    }
  if (!g->host_network && dns->n > 0)
    {
      cleanup_free char *text = NULL, *src = NULL;
      size_t sz = 0;
      FILE *f = open_memstream (&text, &sz);
      if (!f)
        return za_gen_error (g, ENOMEM, "out of memory");
      for (size_t i = 0; i < dns->n; i++)
        {
          if (strpbrk (dns->v[i].s, " \t\r\n#;") || !*dns->v[i].s)
            {
              char path[1200];
              fclose (f);
              json_decref (mounts);
              snprintf (path, sizeof path, "%s.dns[%zu]", g->base, i);
              return za_errs_at (&g->errs, g->file, &dns->v[i].m, path, "invalid nameserver `%s`", dns->v[i].s);
            }
          fprintf (f, "nameserver %s\n", dns->v[i].s);
        }
      fputs ("options edns0\n", f);
      fclose (f);
      if (asprintf (&src, "%s/resolv.conf", g->o->bundle_dir ? g->o->bundle_dir : ".") < 0)
        return za_gen_error (g, ENOMEM, "out of memory");
      jpush (g, mounts, mount_obj (g, "/etc/resolv.conf", "bind", src, "rbind,ro"));
      *resolv = steal_pointer (&text);
    }
  for (size_t i = 0; i < g->gpu.nmounts; i++)
    jpush (g, mounts, mount_obj (g, g->gpu.mounts[i].dst, "bind", g->gpu.mounts[i].src, g->gpu.mounts[i].opts));
  *out = mounts;
  return 0;
}
