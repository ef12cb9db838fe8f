/* The CDI registry: every *.json / *.yaml directly inside the spec
   directories, in name order; later directories win; same-priority
   duplicates are conflicts and are removed (cdi-reference.md §3, §4.3).  */
#define _GNU_SOURCE
#include "cdi/cdi.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

static const char *const default_dirs[] = { "/etc/cdi", "/var/run/cdi" };

void
za_cdi_registry_free (struct za_cdi_registry *r)
{
  if (!r)
    return;
  for (size_t i = 0; i < r->nfiles; i++)
    za_cdi_file_free (r->files[i]);
  free (r->files);
  for (size_t i = 0; i < r->ndevs; i++)
    free (r->devs[i].qname);
  free (r->devs);
  for (size_t i = 0; i < r->ndirs; i++)
    free (r->dirs[i]);
  free (r->dirs);
  za_err_free (&r->errors);
  free (r);
}

static bool
has_spec_ext (const char *n)
{
  size_t l = strlen (n);
  return (l > 5 && !strcmp (n + l - 5, ".json")) || (l > 5 && !strcmp (n + l - 5, ".yaml"));
}

static int
add_dir (struct za_cdi_registry *r, const char *d)
{
  char **nd = realloc (r->dirs, (r->ndirs + 1) * sizeof *nd);
  if (!nd)
    return -1;
  r->dirs = nd;
  if (!(r->dirs[r->ndirs] = strdup (d)))
    return -1;
  r->ndirs++;
  return 0;
}

static int
set_dirs (struct za_cdi_registry *r, const char *const *dirs, size_t ndirs)
{
  const char *env = getenv ("CDI_SPEC_DIRS");
  if (ndirs > 0)
    {
      for (size_t i = 0; i < ndirs; i++)
        if (add_dir (r, dirs[i]) < 0)
          return -1;
      return 0;
    }
  if (env && *env)
    {
      cleanup_free char *copy = strdup (env);
      char *save = NULL;
      if (!copy)
        return -1;
      for (char *t = strtok_r (copy, ":", &save); t; t = strtok_r (NULL, ":", &save))
        if (*t && add_dir (r, t) < 0)
          return -1;
      if (r->ndirs > 0)
        return 0;
    }
  for (size_t i = 0; i < 2; i++)
    if (add_dir (r, default_dirs[i]) < 0)
      return -1;
  return 0;
}

/* Spec files: *.json and *.yaml directly inside, regular files or
   symlinks to them; no subdirectories.  */
static bool
is_spec_file (int dfd, const char *name, void *ud)
{
  struct stat st;
  (void) ud;
  return has_spec_ext (name) && fstatat (dfd, name, &st, 0) == 0 && S_ISREG (st.st_mode);
}

/* Sorted names of spec files in DIR; a missing directory is empty.  */
static int
list_dir (const char *dir, struct za_strv *names, struct za_err **reg_errors)
{
  int e = 0;
  if (za_dir_list (dir, is_spec_file, NULL, names, &e) < 0)
    {
      if (e == ENOMEM)
        return -1;
      if (e != ENOTDIR)
        za_err_set_at (reg_errors, dir, NULL, NULL, "cannot read CDI spec directory: %s", strerror (e));
    }
  return 0;
}

static int
cmp_entry (const void *a, const void *b)
{
  const struct za_cdi_entry *x = a, *y = b;
  int r = strcmp (x->qname, y->qname);
  if (r)
    return r;
  /* same name: lower priority first, then file order */
  if (x->file->priority != y->file->priority)
    return x->file->priority < y->file->priority ? -1 : 1;
  return strcmp (x->file->path, y->file->path);
}

/* Keep one entry per name: the highest priority wins; two at the same
   (highest or lower) priority conflict and the name is removed for good,
   even if a higher directory defines it too (what the reference does).  */
static int
resolve_conflicts (struct za_cdi_registry *r)
{
  size_t out = 0;
  if (r->ndevs > 1)
    qsort (r->devs, r->ndevs, sizeof *r->devs, cmp_entry);
  for (size_t i = 0; i < r->ndevs;)
    {
      size_t j = i;
      bool conflict = false;
      while (j < r->ndevs && !strcmp (r->devs[j].qname, r->devs[i].qname))
        j++;
      /* As the reference scans: a device of a higher priority replaces the
         one held; at the same priority it conflicts with the one held (the
         first at that priority), and both files get the error.  */
      for (size_t k = i + 1, held = i; k < j; k++)
        if (r->devs[k].file->priority > r->devs[held].file->priority)
          held = k;
        else
          {
            const char *newer = r->devs[k].file->path, *older = r->devs[held].file->path;
            za_err_set_at (&r->errors, newer, NULL, NULL, "conflicting device \"%s\" (specs \"%s\", \"%s\")",
                           r->devs[k].qname, newer, older);
            za_err_set_at (&r->errors, older, NULL, NULL, "conflicting device \"%s\" (specs \"%s\", \"%s\")",
                           r->devs[k].qname, newer, older);
            conflict = true;
          }
      for (size_t k = i; k < j; k++)
        if (conflict || k != j - 1)
          free (r->devs[k].qname);
      if (!conflict)
        r->devs[out++] = r->devs[j - 1];
      i = j;
    }
  r->ndevs = out;
  return 0;
}

/* Takes ownership of F, also on failure.  */
static int
add_file (struct za_cdi_registry *r, struct za_cdi_file *f)
{
  struct za_cdi_file **nf = realloc (r->files, (r->nfiles + 1) * sizeof *nf);
  struct za_cdi_entry *nd;
  if (!nf)
    {
      za_cdi_file_free (f);
      return -1;
    }
  r->files = nf;
  r->files[r->nfiles++] = f;
  nd = realloc (r->devs, (r->ndevs + f->spec.devices.n + 1) * sizeof *nd);
  if (!nd)
    return -1;
  r->devs = nd;
  for (size_t i = 0; i < f->spec.devices.n; i++)
    {
      const struct za_cdi_device *d = (const struct za_cdi_device *) f->spec.devices.v + i;
      struct za_cdi_entry *e = &r->devs[r->ndevs];
      if (asprintf (&e->qname, "%s/%s=%s", f->vendor, f->class, d->name.s) < 0)
        return -1;
      e->file = f;
      e->dev = d;
      r->ndevs++;
    }
  return 0;
}

/* Open NAME in the spec directory DFD (PATH names it in errors).  A
   symlink may point anywhere inside the directory; one that leads out of
   it is followed only when root or the caller owns the link, the rule of
   fs.protected_symlinks: whoever can write a --cdi-dir must not make root
   read (and list, resolve, inject) some other file, say /etc/shadow.
   Root's own links (/etc/cdi/x.yaml -> /opt/vendor/x.yaml) still work, as
   in the reference library.  Without openat2 (old kernels, seccomp) every
   symlink goes by that owner rule.  O_NONBLOCK and the S_ISREG check: a
   FIFO must not hang the scan.  */
static int
open_spec (int dfd, const char *path, const char *name, struct za_err **err)
{
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  struct open_how how = { .flags = flags, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
  cleanup_close int fd = (int) syscall (SYS_openat2, dfd, name, &how, sizeof how);
  struct stat st;
  int e;
  if (fd < 0 && (errno == EXDEV || errno == ENOSYS || errno == EPERM))
    {
      if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode) && st.st_uid != 0
          && st.st_uid != geteuid ())
        return za_err_set_at (err, path, NULL, NULL,
                              "CDI spec file is a symlink out of its directory owned by uid %u; not followed "
                              "(only links owned by root or the caller are)",
                              (unsigned) st.st_uid);
      fd = openat (dfd, name, flags);
    }
  if (fd < 0)
    {
      e = errno;
      if (e == ENOMEM)
        return za_err_set (err, ENOMEM, "out of memory");
      return za_err_set_at (err, path, NULL, NULL, "cannot open CDI spec file: %s", strerror (e));
    }
  if (fstat (fd, &st) < 0)
    return za_err_set_at (err, path, NULL, NULL, "cannot stat CDI spec file: %s", strerror (errno));
  if (!S_ISREG (st.st_mode))
    return za_err_set_at (err, path, NULL, NULL, "CDI spec file is not a regular file");
  return steal_fd (&fd);
}

/* Load one file; a broken file is recorded and skipped.  -1 only on OOM.  */
static int
load_one (struct za_cdi_registry *r, int dfd, const char *dir, const char *name, int priority)
{
  cleanup_free char *p = NULL;
  cleanup_close int fd = -1;
  struct za_cdi_file *f = NULL;
  struct za_err *e = NULL;
  if (asprintf (&p, "%s/%s", dir, name) < 0)
    return -1;
  fd = open_spec (dfd, p, name, &e);
  if (fd < 0 || za_cdi_file_load_fd (fd, p, priority, &f, &e) < 0)
    {
      bool oom = e && e->code == ENOMEM;
      za_err_append (&r->errors, &e);
      return oom ? -1 : 0;
    }
  return add_file (r, f);
}

int
za_cdi_registry_load (const char *const *dirs, size_t ndirs, struct za_cdi_registry **out,
                      struct za_err **err)
{
  struct za_cdi_registry *r = calloc (1, sizeof *r);
  *out = NULL;
  if (!r || set_dirs (r, dirs, ndirs) < 0)
    goto oom;
  for (size_t d = 0; d < r->ndirs; d++)
    {
      struct za_strv names = { 0 };
      /* The directory itself may be reached through a symlink: it is
         named by the caller or the system configuration.  */
      cleanup_close int dfd = open (r->dirs[d], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int ret = 0;
      if (dfd >= 0 && list_dir (r->dirs[d], &names, &r->errors) < 0)
        goto oom;
      if (dfd < 0 && errno != ENOENT && errno != ENOTDIR)
        za_err_set_at (&r->errors, r->dirs[d], NULL, NULL, "cannot read CDI spec directory: %s", strerror (errno));
      for (size_t i = 0; i < names.n && ret == 0; i++)
        ret = load_one (r, dfd, r->dirs[d], names.v[i], (int) d);
      za_strv_clear (&names);
      if (ret < 0)
        goto oom;
    }
  resolve_conflicts (r);
  *out = r;
  return 0;
oom:
  za_cdi_registry_free (r);
  return za_err_set (err, ENOMEM, "out of memory loading CDI specs");
}

const struct za_cdi_entry *
za_cdi_registry_find (const struct za_cdi_registry *r, const char *qname)
{
  size_t lo = 0, hi = r->ndevs;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp (r->devs[mid].qname, qname);
      if (!c)
        return &r->devs[mid];
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

void
za_cdi_plan_clear (struct za_cdi_plan *p)
{
  free (p->edits);
  p->edits = NULL;
  p->n = 0;
}

/* The reference's "unresolvable CDI devices NAMES", plus where it looked
   and, one error each, the files that failed to load or conflict (what
   the caller has not already taken as warnings): the cause is usually
   there.  */
static int
unresolvable (const struct za_cdi_registry *r, const char *missing, struct za_err **err)
{
  cleanup_free char *dirs = NULL;
  size_t sz = 0;
  FILE *f = open_memstream (&dirs, &sz);
  if (!f)
    return za_err_set (err, ENOMEM, "out of memory");
  for (size_t i = 0; i < r->ndirs; i++)
    fprintf (f, "%s`%s`", i ? ", " : "", r->dirs[i]);
  if (fclose (f) != 0)
    return za_err_set (err, ENOMEM, "out of memory");
  za_err_set (err, ZA_EINPUT, "unresolvable CDI devices %s (searched %s%s)", missing, dirs,
              r->errors ? "; the problems found there follow" : "");
  for (const struct za_err *e = r->errors; e; e = e->next)
    za_err_set_at (err, e->file, &(struct za_mark) { e->line, e->col }, e->path, "%s", e->msg);
  return -1;
}

int
za_cdi_resolve (const struct za_cdi_registry *r, const char *const *names, size_t n,
                struct za_cdi_plan *out, struct za_err **err)
{
  const struct za_cdi_entry **ents = calloc (n ? n : 1, sizeof *ents);
  const struct za_cdi_file **seen = calloc (n ? n : 1, sizeof *seen);
  cleanup_free char *missing = NULL;
  size_t msz = 0, nseen = 0;
  FILE *mf = NULL;
  int ret = 0;

  *out = (struct za_cdi_plan) { 0 };
  out->edits = calloc (2 * n + 1, sizeof *out->edits);
  if (!ents || !seen || !out->edits)
    {
      ret = za_err_set (err, ENOMEM, "out of memory");
      goto done;
    }
  for (size_t i = 0; i < n; i++)
    {
      ents[i] = za_cdi_registry_find (r, names[i]);
      if (!ents[i])
        {
          if (!mf && !(mf = open_memstream (&missing, &msz)))
            {
              ret = za_err_set (err, ENOMEM, "out of memory");
              goto done;
            }
          fprintf (mf, "%s%s", ftell (mf) ? ", " : "", names[i]);
        }
    }
  if (mf)
    {
      fclose (mf);
      mf = NULL;
      ret = unresolvable (r, missing, err);
      goto done;
    }
  /* Spec-level edits once, just before the first device of their file.  */
  for (size_t i = 0; i < n; i++)
    {
      bool known = false;
      for (size_t k = 0; k < nseen; k++)
        known |= seen[k] == ents[i]->file;
      if (!known)
        {
          seen[nseen++] = ents[i]->file;
          out->edits[out->n++] = &ents[i]->file->spec.edits;
        }
      out->edits[out->n++] = &ents[i]->dev->edits;
    }
done:
  if (mf)
    fclose (mf);
  free (ents);
  free (seen);
  if (ret < 0)
    za_cdi_plan_clear (out);
  return ret;
}
