/* create-symlinks and chmod inside the container's rootfs.  */
#define _GNU_SOURCE
#include "hook/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

/* One TARGET::LINK: LINK's directory is made (never through a symlink)
   and the link created there.  An existing LINK is left as it is: the
   image's own file wins over a convenience link, and a link that is
   already there is what we wanted.  */
static int
make_link (int rootfd, const char *spec, struct za_err **err)
{
  const char *sep = strstr (spec, "::");
  cleanup_free char *target = NULL, *dir = NULL;
  cleanup_close int dfd = -1;
  const char *link, *name;
  if (!sep || sep == spec)
    return za_err_set (err, ZA_EINPUT, "--link `%s`: want TARGET::LINK", spec);
  link = sep + 2;
  if (!za_hook_path_ok (link) || strchr (spec, '\n'))
    return za_err_set (err, ZA_EINPUT, "--link `%s`: LINK must be a clean absolute path", spec);
  target = strndup (spec, (size_t) (sep - spec));
  name = strrchr (link, '/') + 1;
  dir = strndup (link, (size_t) (name - link));
  if (!target || !dir)
    return za_err_set (err, ENOMEM, "out of memory");
  if (strlen (dir) > 1)
    dir[strlen (dir) - 1] = '\0';
  dfd = strcmp (dir, "/") ? za_hook_mkdir_p (rootfd, dir, err) : fcntl (rootfd, F_DUPFD_CLOEXEC, 0);
  if (dfd < 0)
    return -1;
  if (symlinkat (target, dfd, name) == 0 || errno == EEXIST)
    return 0;
  return za_err_sys (err, errno, "create symlink `%s` in the container", link);
}

int
za_hook_create_symlinks (const struct za_hook_ctx *c, int argc, char **argv, struct za_err **err)
{
  static const struct option longopts[] = { { "link", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 } };
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    if (opt != 'l')
      return za_err_set (err, ZA_EINPUT, "bad option `%s`", argv[optind - 1]);
  if (optind < argc)
    return za_err_set (err, ZA_EINPUT, "unexpected argument `%s`", argv[optind]);
  optind = 1;
  while ((opt = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    if (make_link (c->rootfd, optarg, err) < 0)
      return -1;
  return 0;
}

int
za_hook_chmod (const struct za_hook_ctx *c, int argc, char **argv, struct za_err **err)
{
  static const struct option longopts[] = { { "mode", required_argument, NULL, 'm' },
                                             { "path", required_argument, NULL, 'p' },
                                             { NULL, 0, NULL, 0 } };
  long mode = -1;
  int opt, npaths = 0;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    if (opt == 'm')
      {
        char *end;
        mode = strtol (optarg, &end, 8);
        if (*end || end == optarg || mode < 0 || mode > 07777)
          return za_err_set (err, ZA_EINPUT, "--mode `%s` is not an octal mode", optarg);
      }
    else if (opt == 'p')
      npaths++;
    else
      return za_err_set (err, ZA_EINPUT, "bad option `%s`", argv[optind - 1]);
  if (mode < 0 || !npaths || optind < argc)
    return za_err_set (err, ZA_EINPUT, "usage: chmod --mode OCTAL --path PATH...");
  if (mode & (S_ISUID | S_ISGID))
    return za_err_set (err, ZA_EINPUT, "--mode %lo: set-id bits refused", (unsigned long) mode);
  optind = 1;
  while ((opt = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    {
      char proc[64];
      cleanup_close int fd = -1;
      if (opt != 'p')
        continue;
      /* O_PATH never opens a device; the mode changes through the fd's
         /proc link, so nothing can swap the path in between.  */
      fd = za_hook_open (c->rootfd, optarg, O_PATH, 0, err);
      if (fd < 0)
        return -1;
      snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
      if (chmod (proc, (mode_t) mode) < 0)
        return za_err_sys (err, errno, "chmod `%s` in the container", optarg);
    }
  return 0;
}
