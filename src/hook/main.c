/* zagent-cdi-hook SUBCOMMAND [OPTIONS]: an OCI createContainer hook.  The
   OCI state comes on stdin; the container's rootfs is found through the
   bundle's config.json.  Exit 0 on success, 1 on any failure (the
   runtime then fails the container: fail closed), 2 on bad usage.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hook/hook.h"
#include "util/cleanup.h"
#include "util/fs.h"

extern char **environ;

static const char usage[] =
    "Usage: zagent-cdi-hook COMMAND [OPTIONS] < OCI-STATE\n"
    "\n"
    "OCI createContainer hooks for CDI specs made by `zagent cdi generate`:\n"
    "  update-ldcache [--folder DIR]... [--ldconfig-path PATH]\n"
    "                         add DIRs to the container's ld.so.cache (host ldconfig, static, chrooted)\n"
    "  create-symlinks --link TARGET::LINK...\n"
    "                         create symlinks in the container (never replaces an entry)\n"
    "  enable-cuda-compat --host-driver-version VERSION\n"
    "                         prefer /usr/local/cuda/compat when it is newer than the host driver\n"
    "  chmod --mode OCTAL --path PATH...\n"
    "                         change the mode of paths in the container\n";

/* The environment of a hook is the runtime's (CDI hooks carry their
   own env), never the container's; a loader variable here means someone
   tried to get code into a root process (CVE-2025-23266).  A static
   build never loads them; a dynamic one has already run them, so the
   hook stops before touching anything.  */
static int
check_env (void)
{
  /* The loader's variables, and the two that make even a static glibc
     load code or data from a path (iconv modules, locales).  Allocator
     knobs (MALLOC_PERTURB_, which test harnesses set) load nothing.  */
  static const char *const bad[] = { "LD_", "GCONV_PATH=", "LOCPATH=", NULL };
  for (char **e = environ; e && *e; e++)
    for (int i = 0; bad[i]; i++)
      if (!strncmp (*e, bad[i], strlen (bad[i])))
        {
          fprintf (stderr, "zagent-cdi-hook: refusing to run with %.*s in the environment\n",
                   (int) strcspn (*e, "="), *e);
          return -1;
        }
  return clearenv ();
}

/* The bundle's root.path, relative to the bundle or absolute.  */
static int
open_rootfs (int bfd, const char *bundle, struct za_hook_ctx *c, struct za_err **err)
{
  cleanup_free char *cfg = NULL;
  json_t *o;
  json_error_t je;
  const char *root;
  struct stat a, b;
  if (za_read_file_nofollow_at (bfd, "config.json", 16 << 20, &cfg, NULL, err) < 0)
    return za_err_wrap (err, "bundle `%s`", bundle);
  o = json_loads (cfg, JSON_REJECT_DUPLICATES, &je);
  root = json_string_value (json_object_get (json_object_get (o, "root"), "path"));
  if (!root || !*root)
    {
      json_decref (o);
      return za_err_set (err, ZA_EINPUT, "%s/config.json: no root.path", bundle);
    }
  c->rootfd = openat (bfd, root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->rootfd < 0)
    za_err_sys (err, errno, "open rootfs `%s`", root);
  else if (asprintf (&c->rootfs, "%s", root) < 0)
    c->rootfs = NULL;
  json_decref (o);
  if (c->rootfd < 0)
    return -1;
  /* The host's own root would make every "container" path a host path.  */
  if (fstat (c->rootfd, &a) < 0 || stat ("/", &b) < 0 || (a.st_dev == b.st_dev && a.st_ino == b.st_ino))
    return za_err_set (err, ZA_EINPUT, "the container's rootfs is the host's /; refused");
  return 0;
}

int
za_hook_ctx_load (int fd, struct za_hook_ctx *c, struct za_err **err)
{
  cleanup_free char *state = NULL;
  cleanup_close int bfd = -1;
  json_error_t je;
  json_t *o;
  const char *bundle;
  int ret;
  *c = (struct za_hook_ctx) { .rootfd = -1 };
  if (za_read_fd (fd, "OCI state", 1 << 20, &state, NULL, err) < 0)
    return -1;
  o = json_loads (state, JSON_REJECT_DUPLICATES, &je);
  if (!o)
    return za_err_set (err, ZA_EINPUT, "OCI state on stdin: %s", je.text);
  bundle = json_string_value (json_object_get (o, "bundle"));
  if (!bundle || bundle[0] != '/')
    {
      json_decref (o);
      return za_err_set (err, ZA_EINPUT, "OCI state on stdin: no absolute `bundle`");
    }
  bfd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (bfd < 0)
    ret = za_err_sys (err, errno, "open bundle `%s`", bundle);
  else
    ret = open_rootfs (bfd, bundle, c, err);
  json_decref (o);
  return ret;
}

void
za_hook_ctx_clear (struct za_hook_ctx *c)
{
  if (c->rootfd >= 0)
    close (c->rootfd);
  free (c->rootfs);
  *c = (struct za_hook_ctx) { .rootfd = -1 };
}

int
main (int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*fn) (const struct za_hook_ctx *, int, char **, struct za_err **);
  } cmds[] = {
    { "update-ldcache", za_hook_update_ldcache },
    { "create-symlinks", za_hook_create_symlinks },
    { "enable-cuda-compat", za_hook_cuda_compat },
    { "chmod", za_hook_chmod },
  };
  struct za_hook_ctx c;
  struct za_err *err = NULL;
  int ret = -1;
  if (argc < 2 || !strcmp (argv[1], "-h") || !strcmp (argv[1], "--help"))
    {
      fputs (usage, argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (check_env () < 0)
    return 1;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (!strcmp (argv[1], cmds[i].name))
      {
        if (za_hook_ctx_load (STDIN_FILENO, &c, &err) == 0)
          {
            ret = cmds[i].fn (&c, argc - 1, argv + 1, &err);
            za_hook_ctx_clear (&c);
          }
        if (ret < 0)
          {
            char *line = err ? za_err_format (err) : NULL;
            fprintf (stderr, "zagent-cdi-hook %s: %s\n", argv[1], line ? line : "failed");
            free (line);
            za_err_free (&err);
            return 1;
          }
        return 0;
      }
  fprintf (stderr, "zagent-cdi-hook: unknown command `%s`\n%s", argv[1], usage);
  return 2;
}
