/* update-ldcache and enable-cuda-compat.

   The container's ld.so.cache is rebuilt by the host's ldconfig, the way
   nvidia-cdi-hook does it since its CVE-2025-23267 fix: never by a binary
   of the image, and never on host paths.  We run the host binary opened
   here by fd, in a child that chroots into the rootfs fd first, with a
   fixed environment; ldconfig then sees only the container's files.
   Running a binary after chroot means its dynamic loader would come from
   the image, so the ldconfig must be static (glibc builds it so; Ubuntu's
   /sbin/ldconfig is a script around /sbin/ldconfig.real, which we take).
   Before that, the paths ldconfig writes are checked from the rootfs fd
   without following symlinks: a planted link fails the hook.  */
#define _GNU_SOURCE
#include "hook/hook.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define LDCONF_NAME "00-zagent-cdi.conf"
#define COMPAT_NAME "00-compat-zagent.conf"
#define COMPAT_DIR "/usr/local/cuda/compat"
#define LDCONFIG_TIMEOUT_MS 30000

/* Whether the ELF on FD has a program interpreter (is dynamic).  1 yes,
   0 no (static), -1 not an ELF we can read.  */
static int
elf_has_interp (int fd)
{
  Elf64_Ehdr eh;
  if (pread (fd, &eh, sizeof eh, 0) != (ssize_t) sizeof eh || memcmp (eh.e_ident, ELFMAG, SELFMAG)
      || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof (Elf64_Phdr) || eh.e_phnum > 256)
    return -1;
  for (unsigned i = 0; i < eh.e_phnum; i++)
    {
      Elf64_Phdr ph;
      if (pread (fd, &ph, sizeof ph, (off_t) (eh.e_phoff + i * sizeof ph)) != (ssize_t) sizeof ph)
        return -1;
      if (ph.p_type == PT_INTERP)
        return 1;
    }
  return 0;
}

/* The host ldconfig as an fd: a root-owned regular file nobody else can
   write, statically linked.  PATH.real wins where it exists (Ubuntu).  */
static int
open_ldconfig (const char *path, struct za_err **err)
{
  cleanup_free char *real = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  int dyn;
  if (path[0] != '/')
    return za_err_set (err, ZA_EINPUT, "--ldconfig-path `%s` is not absolute", path);
  if (asprintf (&real, "%s.real", path) < 0)
    return za_err_set (err, ENOMEM, "out of memory");
  fd = open (real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    fd = open (path, O_RDONLY | O_CLOEXEC);
  else
    path = real;
  if (fd < 0)
    return za_err_sys (err, errno, "open ldconfig `%s`", path);
  if (fstat (fd, &st) < 0)
    return za_err_sys (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
    return za_err_set (err, ZA_EINPUT, "ldconfig `%s` must be a regular file owned by root, writable by root only",
                       path);
  dyn = elf_has_interp (fd);
  if (dyn != 0)
    return za_err_set (err, ZA_EINPUT,
                       dyn > 0 ? "ldconfig `%s` is dynamically linked; it would load the image's libraries"
                               : "ldconfig `%s` is not a 64-bit ELF executable",
                       path);
  return steal_fd (&fd);
}

/* "\040"-style octal escapes of a mountinfo field, in place.  */
static void
unescape (char *s)
{
  char *o = s;
  for (; *s; s++)
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7')
      {
        *o++ = (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
        s += 3;
      }
    else
      *o++ = *s;
  *o = '\0';
}

/* In our own mount namespace: detach every proc mount inside the rootfs,
   and return the rootfs opened again there (ROOTFD, opened before the
   unshare, still pins the old namespace's mounts, proc included); the
   same directory or -1.
   When createContainer hooks run, the runtime has mounted the
   container's /proc there, and /proc/<pid>/root of a process outside the
   chroot leads back to the host: an image's ld.so.conf naming
   /proc/1/root/usr/lib would have ldconfig scan a host directory and
   write soname links into it.  */
static int
detach_procs (int rootfd)
{
  struct stat a, b;
  int fd;
  char self[64], root[4096];
  cleanup_free char *info = NULL;
  struct za_err *e = NULL;
  size_t rl;
  ssize_t n;
  snprintf (self, sizeof self, "/proc/self/fd/%d", rootfd);
  n = readlink (self, root, sizeof root - 1);
  if (n <= 0 || za_read_file ("/proc/self/mountinfo", 16 << 20, &info, NULL, &e) < 0)
    {
      za_err_free (&e);
      return -1;
    }
  root[n] = '\0';
  rl = (size_t) n;
  for (char *save = NULL, *l = strtok_r (info, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      char *f[5], *sep = strstr (l, " - "), *fs, *sv = NULL;
      int i = 0;
      if (!sep)
        continue;
      *sep = '\0';
      fs = strtok_r (sep + 3, " ", &sv);
      for (char *s2 = NULL, *t = strtok_r (l, " ", &s2); t && i < 5; t = strtok_r (NULL, " ", &s2))
        f[i++] = t;
      if (i < 5 || !fs || strcmp (fs, "proc"))
        continue;
      unescape (f[4]);
      if (strncmp (f[4], root, rl) || f[4][rl] != '/')
        continue;
      if (umount2 (f[4], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
        return -1;
    }
  fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &a) < 0 || fstat (rootfd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
    {
      if (fd >= 0)
        close (fd);
      errno = EXDEV;
      return -1;
    }
  return fd;
}

/* Child: in a private mount namespace without the container's proc,
   chroot into the rootfs, then exec ldconfig with a fixed env.  */
static void __attribute__ ((noreturn))
run_child (int rootfd, int exefd, char **args)
{
  static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
  const char *step = "unshare";
  int fd = -1;
  if (unshare (CLONE_NEWNS) < 0 || (step = "make mounts private", mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) < 0
      || (step = "detach the container's proc", fd = detach_procs (rootfd)) < 0
      || (step = "chroot into the rootfs", fchdir (fd)) < 0 || chroot (".") < 0 || chdir ("/") < 0)
    {
      fprintf (stderr, "zagent-cdi-hook: %s: %s\n", step, strerror (errno));
      _exit (126);
    }
  /* Fail closed if some proc is still reachable (stacked mounts).  */
  if (access ("/proc/self", F_OK) == 0)
    {
      fputs ("zagent-cdi-hook: a proc filesystem is still visible in the rootfs; refused\n", stderr);
      _exit (126);
    }
  prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  syscall (SYS_execveat, exefd, "", args, env, AT_EMPTY_PATH);
  fprintf (stderr, "zagent-cdi-hook: exec ldconfig: %s\n", strerror (errno));
  _exit (127);
}

static int
status_ok (int status, struct za_err **err)
{
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  return za_err_set (err, ZA_EINPUT, "ldconfig in the container failed (%s %d)",
                     WIFEXITED (status) ? "exit" : "signal", WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status));
}

/* Wait for PID at most LDCONFIG_TIMEOUT_MS, killing it after: poll on a
   pidfd (no sleep granularity added to every container start), else
   (kernels before 5.3) a 10 ms poll of waitpid.  */
static int
wait_bounded (pid_t pid, struct za_err **err)
{
  int status = 0, pfd = (int) syscall (SYS_pidfd_open, pid, 0);
  bool done = false;
  if (pfd >= 0)
    {
      struct pollfd p = { .fd = pfd, .events = POLLIN };
      int r;
      while ((r = poll (&p, 1, LDCONFIG_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
      close (pfd);
      done = r > 0;
    }
  else
    for (int ms = 0; ms < LDCONFIG_TIMEOUT_MS && !done; ms += 10)
      {
        pid_t r = waitpid (pid, &status, WNOHANG);
        if (r == pid)
          return status_ok (status, err);
        if (r < 0 && errno != EINTR)
          return za_err_sys (err, errno, "wait for ldconfig");
        nanosleep (&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
      }
  if (!done)
    kill (pid, SIGKILL);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return za_err_sys (err, errno, "wait for ldconfig");
  if (!done)
    return za_err_set (err, ETIMEDOUT, "ldconfig took more than %d s; killed", LDCONFIG_TIMEOUT_MS / 1000);
  return status_ok (status, err);
}


/* Every path ldconfig writes must be a plain file or directory in the
   rootfs, or absent; /etc is created when missing.  */
static int
check_targets (int rootfd, struct za_err **err)
{
  static const char *const paths[] = { "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                                       "/var/cache/ldconfig", NULL };
  cleanup_close int etc = za_hook_mkdir_p (rootfd, "/etc", err);
  if (etc < 0)
    return -1;
  for (int i = 0; paths[i]; i++)
    if (za_hook_exists (rootfd, paths[i], err) < 0)
      return -1;
  return 0;
}

int
za_hook_update_ldcache (const struct za_hook_ctx *c, int argc, char **argv, struct za_err **err)
{
  static const struct option longopts[] = { { "folder", required_argument, NULL, 'f' },
                                             { "ldconfig-path", required_argument, NULL, 'l' },
                                             { NULL, 0, NULL, 0 } };
  const char *ldconfig = "/sbin/ldconfig";
  struct za_strv dirs = { 0 }, args = { 0 };
  cleanup_close int exefd = -1;
  pid_t pid;
  int opt, ret = -1;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    {
      if (opt == 'f' && za_hook_path_ok (optarg))
        {
          if (!za_strv_contains (&dirs, optarg) && za_strv_push (&dirs, optarg) < 0)
            goto oom;
        }
      else if (opt == 'l')
        ldconfig = optarg;
      else
        {
          za_err_set (err, ZA_EINPUT, "bad option or folder `%s`", argv[optind - 1]);
          goto out;
        }
    }
  if (optind < argc)
    {
      za_err_set (err, ZA_EINPUT, "unexpected argument `%s`", argv[optind]);
      goto out;
    }
  if ((exefd = open_ldconfig (ldconfig, err)) < 0 || check_targets (c->rootfd, err) < 0)
    goto out;
  if (dirs.n && za_hook_write_ldconf (c->rootfd, LDCONF_NAME, &dirs, err) < 0)
    goto out;
  /* -f and -C name the defaults explicitly: the host's ldconfig may be
     built with others.  The folders also go on the command line, for
     images whose ld.so.conf does not include ld.so.conf.d, and the
     non-Debian system directories for a Debian-built ldconfig.  */
  if (za_strv_push (&args, "ldconfig") < 0 || za_strv_push (&args, "-f") < 0
      || za_strv_push (&args, "/etc/ld.so.conf") < 0 || za_strv_push (&args, "-C") < 0
      || za_strv_push (&args, "/etc/ld.so.cache") < 0)
    goto oom;
  for (size_t i = 0; i < dirs.n; i++)
    if (za_hook_exists (c->rootfd, dirs.v[i], NULL) == 1 && za_strv_push (&args, dirs.v[i]) < 0)
      goto oom;
  if (za_hook_exists (c->rootfd, COMPAT_DIR, NULL) == 1 && za_hook_exists (c->rootfd, "/etc/ld.so.conf.d/" COMPAT_NAME, NULL) == 1
      && za_strv_push (&args, COMPAT_DIR) < 0)
    goto oom;
  for (int i = 0; i < 2; i++)
    {
      const char *sys = i ? "/usr/lib64" : "/lib64";
      if (!za_strv_contains (&args, sys) && za_hook_exists (c->rootfd, sys, NULL) == 1 && za_strv_push (&args, sys) < 0)
        goto oom;
    }
  fflush (NULL);
  pid = fork ();
  if (pid < 0)
    {
      za_err_sys (err, errno, "fork");
      goto out;
    }
  if (pid == 0)
    run_child (c->rootfd, exefd, args.v);
  ret = wait_bounded (pid, err);
  goto out;
oom:
  za_err_set (err, ENOMEM, "out of memory");
out:
  za_strv_clear (&dirs);
  za_strv_clear (&args);
  return ret;
}

/* The major of a "550.54.15" style version, or -1.  */
static long
major_of (const char *v)
{
  char *end;
  long m = strtol (v, &end, 10);
  return end == v || m < 0 ? -1 : m;
}

int
za_hook_cuda_compat (const struct za_hook_ctx *c, int argc, char **argv, struct za_err **err)
{
  static const struct option longopts[] = { { "host-driver-version", required_argument, NULL, 'v' },
                                             { NULL, 0, NULL, 0 } };
  const char *host = NULL;
  cleanup_close int dfd = -1;
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  long compat = -1;
  int opt, n = 0, ex;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    if (opt == 'v')
      host = optarg;
    else
      return za_err_set (err, ZA_EINPUT, "bad option `%s`", argv[optind - 1]);
  if (!host || major_of (host) < 0)
    return za_err_set (err, ZA_EINPUT, "missing or bad --host-driver-version");
  /* As the toolkit: a no-op without compat libraries, an ld.so.cache or
     ld.so.conf.d in the image.  */
  {
    struct za_err *e = NULL;
    dfd = za_hook_open (c->rootfd, COMPAT_DIR, O_RDONLY | O_DIRECTORY, 0, &e);
    if (dfd < 0 && errno == ENOENT)
      {
        za_err_free (&e);
        return 0;
      }
    if (dfd < 0)
      {
        za_err_append (err, &e);
        return -1;
      }
  }
  if ((ex = za_hook_exists (c->rootfd, "/etc/ld.so.cache", err)) <= 0
      || (ex = za_hook_exists (c->rootfd, "/etc/ld.so.conf.d", err)) <= 0)
    return ex;
  d = fdopendir (dfd);
  if (!d)
    return za_err_sys (err, errno, "read %s", COMPAT_DIR);
  dfd = -1; /* owned by d now */
  while ((de = readdir (d)))
    if (!strncmp (de->d_name, "libcuda.so.", 11) && strchr (de->d_name + 11, '.'))
      {
        compat = major_of (de->d_name + 11);
        n++;
      }
  if (n != 1 || compat <= major_of (host))
    return 0;
  {
    struct za_strv dirs = { .v = (char *[]) { (char *) COMPAT_DIR, NULL }, .n = 1 };
    return za_hook_write_ldconf (c->rootfd, COMPAT_NAME, &dirs, err);
  }
}
