#define _GNU_SOURCE
#include "spec/env.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/utf8.h"

#define ZA_SECRET_MAX (1u << 20)

bool
za_secret_name_valid (const char *name)
{
  if (!name || !isalpha ((unsigned char) name[0]))
    return false;
  for (const char *p = name; *p; p++)
    if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '-')
      return false;
  return true;
}

void
za_secret_ref_clear (struct za_secret_ref *r)
{
  free (r->service);
  free (r->project);
  free (r->env);
  free (r->name);
  free (r->field);
  *r = (struct za_secret_ref) { 0 };
}

static char *
dupn (const char *s, size_t n)
{
  return strndup (s, n);
}

/* Grammar of SecretRef::parse: "name", "name/field", "@svc/name[/field]",
   "[project]:env/name[/field]".  */
bool
za_secret_ref_parse (const char *ref, struct za_secret_ref *out)
{
  const char *slash, *colon;
  *out = (struct za_secret_ref) { 0 };
  if (!ref || !*ref || ref[0] == '/')
    return false;
  if (ref[0] == '@')
    {
      const char *s1 = strchr (ref + 1, '/'), *s2;
      if (!s1 || s1 == ref + 1 || !s1[1])
        return false;
      s2 = strchr (s1 + 1, '/');
      if (s2 == s1 + 1)
        return false;
      out->service = dupn (ref + 1, (size_t) (s1 - ref - 1));
      out->name = s2 ? dupn (s1 + 1, (size_t) (s2 - s1 - 1)) : strdup (s1 + 1);
      if (s2 && s2[1])
        out->field = strdup (s2 + 1);
      if (!out->service || !out->name || (s2 && s2[1] && !out->field))
        goto fail;
      return true;
    }
  slash = strchr (ref, '/');
  colon = strchr (ref, ':');
  if (colon && (!slash || colon < slash))
    {
      const char *envs = colon + 1, *name, *s2;
      if (!slash)
        return false;
      if (slash == envs || memchr (envs, ':', (size_t) (slash - envs)))
        return false;
      name = slash + 1;
      s2 = strchr (name, '/');
      if (!*name || s2 == name)
        return false;
      if (s2 && strchr (s2 + 1, '/'))
        return false;
      out->project = colon > ref ? dupn (ref, (size_t) (colon - ref)) : NULL;
      out->env = dupn (envs, (size_t) (slash - envs));
      out->name = s2 ? dupn (name, (size_t) (s2 - name)) : strdup (name);
      if (s2 && s2[1])
        out->field = strdup (s2 + 1);
      if (!out->env || !out->name)
        goto fail;
      return true;
    }
  if (slash)
    {
      if (!slash[1] || strchr (slash + 1, '/') || slash == ref)
        return false;
      out->name = dupn (ref, (size_t) (slash - ref));
      out->field = strdup (slash + 1);
      if (!out->name || !out->field)
        goto fail;
      return true;
    }
  if (colon)
    return false;
  out->name = strdup (ref);
  return out->name != NULL;
fail:
  za_secret_ref_clear (out);
  return false;
}

/* The same walk as open_beneath, by hand, one component at a time with
   O_NOFOLLOW, for kernels without openat2 (before 5.6, or a seccomp
   filter that answers ENOSYS/EPERM for it).  */
static int
open_beneath_walk (int dirfd, const char *rel)
{
  cleanup_free char *copy = strdup (rel);
  cleanup_close int cur = -1;
  char *save = NULL, *comp, *next;
  if (!copy)
    {
      errno = ENOMEM;
      return -1;
    }
  for (comp = strtok_r (copy, "/", &save); comp; comp = next)
    {
      int at = cur >= 0 ? cur : dirfd, fd;
      next = strtok_r (NULL, "/", &save);
      if (!strcmp (comp, ".") || !strcmp (comp, ".."))
        {
          errno = EXDEV;
          return -1;
        }
      fd = openat (at, comp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (next ? O_DIRECTORY : O_NONBLOCK | O_NOCTTY));
      if (fd < 0)
        {
          struct stat st;
          int e = errno;
          /* O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR; openat2
             says ELOOP, and so do we.  */
          if (e == ENOTDIR && fstatat (at, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
            e = ELOOP;
          errno = e;
          return -1;
        }
      if (cur >= 0)
        close (cur);
      cur = fd;
    }
  if (cur < 0)
    errno = ENOENT;
  return steal_fd (&cur);
}

/* Open REL (scope/[service/]name) beneath DIRFD for reading, refusing any
   symlink on the way and any way out of DIRFD.  Whoever can write below
   the secrets directory must not be able to make us read another file
   (a symlink to /etc/shadow would put it into the container's env).
   O_NONBLOCK: a FIFO planted as a secret must not hang us; the caller
   refuses everything but a regular file.  -1 with errno set.  */
static int
open_beneath (int dirfd, const char *rel)
{
  struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                          .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
  int fd = (int) syscall (SYS_openat2, dirfd, rel, &how, sizeof how);
  if (fd < 0 && (errno == ENOSYS || errno == EPERM))
    return open_beneath_walk (dirfd, rel);
  return fd;
}

/* Where secret R lives below the secrets directory: SCOPE/NAME, or
   SCOPE/SERVICE/NAME for $S:@service/name.  Malloc'd, NULL on OOM.  */
static char *
secret_rel (const struct za_secrets *sec, const struct za_secret_ref *r)
{
  char *rel = NULL;
  int n = r->service ? asprintf (&rel, "%s/%s/%s", sec->scope, r->service, r->name)
                     : asprintf (&rel, "%s/%s", sec->scope, r->name);
  return n < 0 ? NULL : rel;
}

/* Read the secret file; returns 1 found, 0 not found, -1 error.  Messages
   name the secret and its path, never its content.  */
static int
read_secret (const struct za_secrets *sec, const struct za_secret_ref *r, char **value,
             struct za_err **err)
{
  cleanup_free char *rel = secret_rel (sec, r);
  cleanup_close int dfd = -1, fd = -1;
  struct za_err *e = NULL;
  struct stat st;
  size_t len = 0;
  if (!rel)
    return za_err_set (err, ENOMEM, "out of memory");
  /* The directory itself is named by the caller (--secrets-dir), who is
     trusted and may reach it through a symlink; only what lies below it
     is resolved strictly.  */
  dfd = open (sec->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    {
      int en = errno;
      if (en == ENOENT)
        return 0;
      return za_err_sys_as (err, en == ENOTDIR || en == EACCES ? ZA_EINPUT : en, en, "open secrets directory `%s`",
                            sec->dir);
    }
  fd = open_beneath (dfd, rel);
  if (fd < 0)
    {
      int en = errno;
      switch (en)
        {
        case ENOENT:
          return 0;
        case ELOOP:
          return za_err_set (err, ZA_EINPUT,
                             "secret `%s`: `%s/%s` is or passes through a symlink; secrets are read only from "
                             "regular files below the secrets directory",
                             r->name, sec->dir, rel);
        case EXDEV:
          return za_err_set (err, ZA_EINPUT, "secret `%s`: `%s/%s` leads out of the secrets directory", r->name,
                             sec->dir, rel);
        case ENOMEM:
          return za_err_set (err, ENOMEM, "out of memory");
        default:
          return za_err_sys_as (err, en == ENOTDIR || en == EACCES ? ZA_EINPUT : en, en, "open `%s/%s`", sec->dir,
                                rel);
        }
    }
  if (fstat (fd, &st) < 0)
    return za_err_sys (err, errno, "stat `%s/%s`", sec->dir, rel);
  if (S_ISDIR (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "`%s/%s` is a directory", sec->dir, rel);
  if (!S_ISREG (st.st_mode))
    return za_err_set (err, ZA_EINPUT, "secret `%s`: `%s/%s` is not a regular file", r->name, sec->dir, rel);
  {
    cleanup_free char *path = NULL;
    if (asprintf (&path, "%s/%s", sec->dir, rel) < 0)
      return za_err_set (err, ENOMEM, "out of memory");
    if (za_read_fd (fd, path, ZA_SECRET_MAX, value, &len, &e) < 0)
      {
        /* The error text names the path, never the content.  */
        za_err_append (err, &e);
        return -1;
      }
  }
  if (strlen (*value) != len)
    {
      free (*value);
      *value = NULL;
      return za_err_set (err, ZA_EINPUT, "secret `%s` contains a NUL byte", r->name);
    }
  if (!za_utf8_valid (*value, len))
    {
      free (*value);
      *value = NULL;
      return za_err_set (err, ZA_EINPUT, "secret `%s` is not valid UTF-8", r->name);
    }
  return 1;
}

static int
extract_field (const char *secret, const char *field, char **out, const char *name,
               struct za_err **err)
{
  json_error_t jerr;
  json_t *root = json_loads (secret, JSON_DECODE_ANY, &jerr), *v;
  int ret = 0;
  if (!root)
    /* jansson's message may quote the input: say only where it failed.  */
    return za_err_set (err, ZA_EINPUT,
                       "secret resolution error: failed to parse secret `%s` as JSON (line %d column %d)",
                       name, jerr.line, jerr.column);
  v = json_is_object (root) ? json_object_get (root, field) : NULL;
  if (!v)
    ret = za_err_set (err, ZA_EINPUT, "field `%s` not found in secret `%s`", field, name);
  else if (json_is_string (v))
    *out = strdup (json_string_value (v));
  else if (json_is_null (v))
    *out = strdup ("");
  else
    *out = json_dumps (v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (ret == 0 && !*out)
    ret = za_err_set (err, ENOMEM, "out of memory");
  json_decref (root);
  return ret;
}

/* Locate input errors at the env entry; system errors (which carry no
   position) get the entry's path in front of their message.  ENOMEM is
   left alone: it may be the static out-of-memory error.  */
static void
locate_errors (struct za_err *e, const char *file, const char *path, const struct za_mark *m)
{
  for (; e; e = e->next)
    {
      if (e->code == ZA_EINPUT && !e->file)
        {
          e->file = file ? strdup (file) : NULL;
          e->path = path ? strdup (path) : NULL;
          e->line = m->line;
          e->col = m->col;
        }
      else if (e->code != ZA_EINPUT && e->code != ENOMEM && path && e->msg)
        {
          char *msg = NULL;
          if (asprintf (&msg, "%s: %s", path, e->msg) >= 0)
            {
              free (e->msg);
              e->msg = msg;
            }
        }
    }
}

static int
resolve_secret (const struct za_kv *kv, const char *ref, const struct za_secrets *sec,
                const char *file, const char *path, char **value, struct za_err **err)
{
  struct za_secret_ref r;
  cleanup_free char *raw = NULL;
  struct za_err *local = NULL;
  int found, ret = 0;

  if (!za_secret_ref_parse (ref, &r))
    return za_err_set_at (err, file, &kv->val.m, path, "invalid secret reference syntax: $S:%s", ref);
  if (!za_secret_name_valid (r.name) || (r.service && !za_secret_name_valid (r.service)))
    {
      za_secret_ref_clear (&r);
      return za_err_set_at (err, file, &kv->val.m, path,
                            "invalid secret name in $S:%s (names start with a letter, then letters, digits, '_' or '-')",
                            ref);
    }
  if (!sec || !sec->dir)
    {
      za_secret_ref_clear (&r);
      return za_err_set_at (err, file, &kv->val.m, path,
                            "environment variable %s references secret $S:%s but no secrets store is configured (use --secrets-dir DIR)",
                            kv->key.s, ref);
    }
  /* Problems of this entry go to a chain of their own first, so that
     locating them cannot touch the errors of earlier entries.  */
  found = read_secret (sec, &r, &raw, &local);
  if (found == 0)
    {
      /* The reference's words, then the file that was looked for.  */
      cleanup_free char *rel = secret_rel (sec, &r);
      struct stat st;
      bool no_dir = stat (sec->dir, &st) < 0;
      ret = za_err_set_at (err, file, &kv->val.m, path,
                           "secret '%s' referenced by $S:%s was not found in scope '%s%s%s' (looked for `%s/%s`%s%s%s)",
                           r.name, ref, sec->scope, r.service ? "/" : "", r.service ? r.service : "", sec->dir,
                           rel ? rel : "?", no_dir ? "; `" : "", no_dir ? sec->dir : "",
                           no_dir ? "` does not exist" : "");
    }
  else if (found < 0)
    ret = -1;
  else if (r.field)
    {
      if (extract_field (raw, r.field, value, r.name, &local) < 0)
        ret = -1;
    }
  else
    *value = steal_pointer (&raw);
  locate_errors (local, file, path, &kv->val.m);
  za_err_append (err, &local);
  za_secret_ref_clear (&r);
  return ret;
}

int
za_env_resolve (const struct za_strmap *env, const struct za_secrets *sec, const char *file,
                const char *path, struct za_strv *out, struct za_err **warn, struct za_err **err)
{
  struct za_errs errs = ZA_ERRS_INIT (ZA_ERRS_MAX), warns = ZA_ERRS_INIT (ZA_ERRS_MAX);
  size_t first = out->n;
  char p[1200];
  for (size_t i = 0; i < env->n; i++)
    {
      const struct za_kv *kv = &env->v[i];
      const char *v = kv->val.s;
      cleanup_free char *owned = NULL;

      snprintf (p, sizeof p, "%s.%s", path, kv->key.s);
      if (!*kv->key.s || strchr (kv->key.s, '='))
        {
          za_errs_at (&errs, file, &kv->key.m, p, "invalid environment variable name `%s`", kv->key.s);
          continue;
        }
      if (strncmp (v, "$E:", 3) == 0)
        {
          const char *name = v + 3;
          const char *hv = getenv (name);
          /* Not valid UTF-8 counts as unset, as in the reference.  */
          if (hv && !za_utf8_valid (hv, strlen (hv)))
            hv = NULL;
          if (!hv)
            {
              za_errs_at (&errs, file, &kv->val.m, p, "environment variable '%s' referenced by $E:%s is not set",
                          name, name);
              continue;
            }
          if (!*hv)
            za_errs_at (&warns, file, &kv->val.m, p, "environment variable '%s' is set but empty", name);
          v = hv;
        }
      else if (strncmp (v, "$S:", 3) == 0)
        {
          struct za_err *e = NULL;
          int r = resolve_secret (kv, v + 3, sec, file, p, &owned, &e);
          za_errs_take (&errs, &e);
          if (r < 0)
            continue;
          v = owned;
        }
      {
        char *entry = NULL;
        /* replaces earlier entries with this key: za_env_settle below */
        if (asprintf (&entry, "%s=%s", kv->key.s, v) < 0 || za_strv_push_take (out, entry) < 0)
          {
            za_errs_set (&errs, ENOMEM, "out of memory");
            goto done;
          }
      }
    }
  if (za_env_settle (out, first) < 0)
    za_errs_set (&errs, ENOMEM, "out of memory");
done:
  za_errs_finish (&warns, warn);
  return za_errs_finish (&errs, err);
}

int
za_env_check_refs (const struct za_strmap *env, const char *file, const char *path,
                   struct za_err **err)
{
  struct za_errs c = ZA_ERRS_INIT (ZA_ERRS_MAX);
  za_env_check_refs_into (env, file, path, &c);
  return za_errs_finish (&c, err);
}

int
za_env_check_refs_into (const struct za_strmap *env, const char *file, const char *path,
                        struct za_errs *c)
{
  int ret = 0;
  char p[1200];
  for (size_t i = 0; i < env->n; i++)
    {
      const struct za_kv *kv = &env->v[i];
      struct za_secret_ref r;
      if (strncmp (kv->val.s, "$S:", 3) != 0)
        continue;
      snprintf (p, sizeof p, "%s.%s", path, kv->key.s);
      if (!za_secret_ref_parse (kv->val.s + 3, &r))
        {
          ret = za_errs_at (c, file, &kv->val.m, p, "invalid secret reference syntax: %s", kv->val.s);
          continue;
        }
      if (!za_secret_name_valid (r.name) || (r.service && !za_secret_name_valid (r.service)))
        ret = za_errs_at (c, file, &kv->val.m, p,
                          "invalid secret name in %s (names start with a letter, then letters, digits, '_' or '-')",
                          kv->val.s);
      za_secret_ref_clear (&r);
    }
  return ret;
}
