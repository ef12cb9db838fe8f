/* Unit tests for bundle/users.c: USER resolution against fake rootfs trees
   and subordinate-id lookups.  Every test builds its own tree in a mkdtemp
   directory and removes it afterwards.  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cmocka.h>

#include "bundle/users.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#include "testutil.h"

static const char PASSWD[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "# nginx:x:1:1:commented out:/:/bin/false\n"
    "\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "broken:x:abc:1:bad uid:/:/bin/false\n"          /* non-numeric uid */
    "short:x:5:5\n"                                  /* too few fields */
    "toomany:x:6:6:a:b:c:d\n"                        /* too many fields */
    "huge:x:4294967295:1:uid -1:/:/bin/false\n"      /* reserved id */
    "nginx:x:101:101:nginx user:/var/cache/nginx:/sbin/nologin\n"
    "nginx:x:999:999:second nginx, never used:/:/bin/false\n"
    "broken:x:77:78:fixed later:/:/bin/false\n"
    "alice:x:1000:1500:Alice:/home/alice:/bin/sh\n"
    ":x:2000:2000:no name:/:/bin/false\n"
    "last:x:3000:3001:no trailing newline:/:/bin/sh";

static const char GROUP[] =
    "root:x:0:\n"
    "#www:x:1:\n"
    "daemon:x:1:\n"
    "bad:x:nope:\n"
    "bad:x:44:\n"
    "onlythree:x:9\n"
    "www:x:33:nginx,alice\n"
    "www:x:34:second\n"
    "nginx:x:101:\n";

struct fixture
{
  char dir[64];      /* temp dir; the rootfs is DIR/rootfs */
  char rootfs[128];
  int rootfs_fd;     /* O_PATH | O_DIRECTORY */
};

static int
open_rootfs (struct fixture *fx)
{
  if (fx->rootfs_fd >= 0)
    close (fx->rootfs_fd);
  fx->rootfs_fd = open (fx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fx->rootfs_fd;
}

/* An empty rootfs: tests add what they need.  */
static int
setup_empty (void **state)
{
  struct fixture *fx = calloc (1, sizeof *fx);
  if (!fx)
    return -1;
  fx->rootfs_fd = -1;
  if (make_tmpdir_sub (fx->dir, sizeof fx->dir, "/tmp/za-users-XXXXXX", fx->rootfs, sizeof fx->rootfs,
                       "rootfs") < 0)
    {
      free (fx);
      return -1;
    }
  if (open_rootfs (fx) < 0)
    {
      rm_rf (fx->dir);
      free (fx);
      return -1;
    }
  *state = fx;
  return 0;
}

/* The standard rootfs with PASSWD and GROUP.  */
static int
setup_std (void **state)
{
  struct fixture *fx;
  if (setup_empty (state) < 0)
    return -1;
  fx = *state;
  write_in (fx->rootfs, "etc/passwd", PASSWD);
  write_in (fx->rootfs, "etc/group", GROUP);
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *fx = *state;
  if (!fx)
    return 0;
  if (fx->rootfs_fd >= 0)
    close (fx->rootfs_fd);
  return fixture_free (fx, fx->dir);
}

/* Resolve and expect success.  */
static void
expect_ok (int fd, const char *user, uint32_t uid, uint32_t gid)
{
  struct za_err *err = NULL;
  uint32_t u = 12345, g = 12345;
  int r = za_user_resolve (fd, user, &u, &g, &err);
  if (r != 0)
    fail_msg ("resolving `%s` failed: %s", user ? user : "(null)",
              err && err->msg ? err->msg : "?");
  assert_null (err);
  assert_int_equal (u, uid);
  assert_int_equal (g, gid);
}

/* Resolve and expect one error with CODE whose message contains NEEDLE (or
   equals it exactly when EXACT); the outputs must be left untouched.  */
static void
expect_fail (int fd, const char *user, int code, const char *needle, int exact)
{
  struct za_err *err = NULL;
  uint32_t u = 12345, g = 54321;
  assert_int_equal (za_user_resolve (fd, user, &u, &g, &err), -1);
  assert_non_null (err);
  assert_int_equal (za_err_count (err), 1);
  assert_int_equal (err->code, code);
  assert_non_null (err->msg);
  if (exact)
    assert_string_equal (err->msg, needle);
  else if (!strstr (err->msg, needle))
    fail_msg ("message `%s` does not contain `%s`", err->msg, needle);
  assert_int_equal (u, 12345);
  assert_int_equal (g, 54321);
  za_err_free (&err);
}

/* ---- za_user_resolve ---- */

static void
test_root_and_empty (void **state)
{
  struct fixture *fx = *state;
  expect_ok (fx->rootfs_fd, NULL, 0, 0);
  expect_ok (fx->rootfs_fd, "", 0, 0);
  expect_ok (-1, NULL, 0, 0);
  expect_ok (-1, "", 0, 0);
  expect_ok (fx->rootfs_fd, "root", 0, 0);
  expect_ok (fx->rootfs_fd, "0", 0, 0);
  expect_ok (fx->rootfs_fd, "root:root", 0, 0);
}

static void
test_numeric_with_passwd_entry (void **state)
{
  struct fixture *fx = *state;
  expect_ok (fx->rootfs_fd, "1000", 1000, 1500);
  expect_ok (fx->rootfs_fd, "101", 101, 101);
  /* first valid line with the uid wins; the malformed "broken" line with
     uid "abc" is skipped and the later uid 77 line is found.  */
  expect_ok (fx->rootfs_fd, "77", 77, 78);
  /* last line without a trailing newline is still read */
  expect_ok (fx->rootfs_fd, "3000", 3000, 3001);
  /* leading zeros are still a number */
  expect_ok (fx->rootfs_fd, "01000", 1000, 1500);
}

static void
test_numeric_without_passwd_entry (void **state)
{
  struct fixture *fx = *state;
  /* no line with the uid: gid = uid */
  expect_ok (fx->rootfs_fd, "4242", 4242, 4242);
  /* uid 5 only appears on a malformed (short) line */
  expect_ok (fx->rootfs_fd, "5", 5, 5);
  /* uid 2000 only appears on a line with an empty name */
  expect_ok (fx->rootfs_fd, "2000", 2000, 2000);
  expect_ok (fx->rootfs_fd, "4294967294", 4294967294u, 4294967294u);
}

static void
test_numeric_no_passwd_file (void **state)
{
  struct fixture *fx = *state; /* empty rootfs */
  expect_ok (fx->rootfs_fd, "1000", 1000, 1000);
  expect_ok (fx->rootfs_fd, "0", 0, 0);
  /* etc exists as a file: still "no passwd", not an error */
  write_in (fx->rootfs, "etc", "not a dir");
  expect_ok (fx->rootfs_fd, "7", 7, 7);
}

static void
test_no_rootfs_numeric (void **state)
{
  (void) state;
  expect_ok (-1, "1000", 1000, 1000);
  expect_ok (-1, "1000:2000", 1000, 2000);
  expect_ok (-1, "0:0", 0, 0);
  expect_ok (AT_FDCWD, "33", 33, 33);
}

static void
test_names (void **state)
{
  struct fixture *fx = *state;
  expect_ok (fx->rootfs_fd, "nginx", 101, 101); /* first of two lines */
  expect_ok (fx->rootfs_fd, "alice", 1000, 1500);
  expect_ok (fx->rootfs_fd, "daemon", 1, 1);
  expect_ok (fx->rootfs_fd, "broken", 77, 78); /* malformed first line skipped */
  expect_ok (fx->rootfs_fd, "last", 3000, 3001);
}

static void
test_name_and_group (void **state)
{
  struct fixture *fx = *state;
  expect_ok (fx->rootfs_fd, "nginx:www", 101, 33); /* first www line */
  expect_ok (fx->rootfs_fd, "alice:daemon", 1000, 1);
  expect_ok (fx->rootfs_fd, "alice:bad", 1000, 44); /* malformed "bad" skipped */
  expect_ok (fx->rootfs_fd, "nginx:5", 101, 5);
  expect_ok (fx->rootfs_fd, "alice:0", 1000, 0);
  expect_ok (fx->rootfs_fd, "1000:www", 1000, 33);
  expect_ok (fx->rootfs_fd, "4242:nginx", 4242, 101);
  expect_ok (fx->rootfs_fd, "1:2", 1, 2);
  /* explicit gid overrides the passwd entry's gid */
  expect_ok (fx->rootfs_fd, "1000:1000", 1000, 1000);
}

static void
test_unknown_user (void **state)
{
  struct fixture *fx = *state;
  expect_fail (fx->rootfs_fd, "postgres", ZA_EINPUT,
               "user `postgres` not found in the rootfs's /etc/passwd", 1);
  /* commented-out entries do not count */
  write_in (fx->rootfs, "etc/passwd", "# ghost:x:5:5:::\nroot:x:0:0:::\n");
  expect_fail (fx->rootfs_fd, "ghost", ZA_EINPUT,
               "user `ghost` not found in the rootfs's /etc/passwd", 1);
  /* a line that is malformed everywhere is never a match */
  expect_fail (fx->rootfs_fd, "short", ZA_EINPUT, "not found", 0);
  expect_fail (fx->rootfs_fd, "nginx:www", ZA_EINPUT, "user `nginx` not found", 0);
  /* a group *name* is not a user name */
  expect_fail (fx->rootfs_fd, "www", ZA_EINPUT, "user `www` not found", 0);
}

static void
test_unknown_group (void **state)
{
  struct fixture *fx = *state;
  expect_fail (fx->rootfs_fd, "nginx:staff", ZA_EINPUT,
               "group `staff` not found in the rootfs's /etc/group", 1);
  expect_fail (fx->rootfs_fd, "1000:staff", ZA_EINPUT,
               "group `staff` not found in the rootfs's /etc/group", 1);
  expect_fail (fx->rootfs_fd, "0:onlythree", ZA_EINPUT, "group `onlythree` not found", 0);
}

static void
test_name_without_rootfs (void **state)
{
  (void) state;
  expect_fail (-1, "nginx", ZA_EINPUT,
               "cannot resolve user name `nginx`: no rootfs given (use --rootfs)", 1);
  expect_fail (-1, "nginx:0", ZA_EINPUT, "no rootfs given", 0);
  expect_fail (-1, "root", ZA_EINPUT, "no rootfs given", 0); /* even root */
  expect_fail (-1, "0:www", ZA_EINPUT,
               "cannot resolve group name `www`: no rootfs given (use --rootfs)", 1);
}

static void
test_name_missing_files (void **state)
{
  struct fixture *fx = *state; /* empty rootfs */
  expect_fail (fx->rootfs_fd, "nginx", ZA_EINPUT,
               "cannot resolve user name `nginx`: the rootfs has no /etc/passwd", 1);
  expect_fail (fx->rootfs_fd, "0:www", ZA_EINPUT,
               "cannot resolve group name `www`: the rootfs has no /etc/group", 1);
  /* passwd present, group missing */
  write_in (fx->rootfs, "etc/passwd", PASSWD);
  expect_ok (fx->rootfs_fd, "nginx", 101, 101);
  expect_fail (fx->rootfs_fd, "nginx:www", ZA_EINPUT, "has no /etc/group", 0);
}

static void
test_passwd_not_regular (void **state)
{
  struct fixture *fx = *state;
  char path[PATH_MAX];

  /* a directory */
  snprintf (path, sizeof path, "%s/etc/passwd", fx->rootfs);
  assert_int_equal (za_mkdir_p (path, 0755, NULL), 0);
  expect_fail (fx->rootfs_fd, "nginx", ZA_EINPUT, "is not a regular file", 0);
  /* a numeric uid may not silently guess around a broken passwd */
  expect_fail (fx->rootfs_fd, "1000", ZA_EINPUT, "is not a regular file", 0);
  assert_int_equal (rmdir (path), 0);

  /* a FIFO: must not block */
  assert_int_equal (mkfifo (path, 0644), 0);
  expect_fail (fx->rootfs_fd, "nginx", ZA_EINPUT, "is not a regular file", 0);
}

static void
test_passwd_too_large (void **state)
{
  struct fixture *fx = *state;
  char path[PATH_MAX];
  size_t n = ZA_USERS_MAX_FILE;
  cleanup_free char *big = malloc (n + 1);
  const char line[] = "nginx:x:101:101:::\n";

  assert_non_null (big);
  memset (big, '#', n + 1);
  memcpy (big, line, sizeof line - 1);
  big[n - 1] = '\n';
  snprintf (path, sizeof path, "%s/etc/passwd", fx->rootfs);
  /* exactly the limit is fine */
  write_data (path, big, n, 0644);
  expect_ok (fx->rootfs_fd, "nginx", 101, 101);
  /* one byte more is refused */
  write_data (path, big, n + 1, 0644);
  expect_fail (fx->rootfs_fd, "nginx", ZA_EINPUT, "larger than the limit", 0);
}

static void
test_overflow (void **state)
{
  struct fixture *fx = *state;
  expect_ok (fx->rootfs_fd, "4294967294:4294967294", 4294967294u, 4294967294u);
  expect_fail (fx->rootfs_fd, "4294967295", ZA_EINPUT, "uid 4294967295 is larger than", 0);
  expect_fail (fx->rootfs_fd, "4294967296", ZA_EINPUT, "uid", 0);
  expect_fail (fx->rootfs_fd, "99999999999999999999999", ZA_EINPUT, "larger than", 0);
  expect_fail (fx->rootfs_fd, "0:4294967295", ZA_EINPUT, "gid 4294967295 is larger than", 0);
  expect_fail (fx->rootfs_fd, "nginx:18446744073709551616", ZA_EINPUT, "gid", 0);
  expect_fail (-1, "4294967295", ZA_EINPUT, "larger than", 0);
  /* the passwd line with uid 4294967295 is malformed, so the name is unknown */
  expect_fail (fx->rootfs_fd, "huge", ZA_EINPUT, "user `huge` not found", 0);
  /* signs and spaces are not numbers, so these are (unknown) names */
  expect_fail (fx->rootfs_fd, "-1", ZA_EINPUT, "user `-1` not found", 0);
  expect_fail (fx->rootfs_fd, "+5", ZA_EINPUT, "user `+5` not found", 0);
  expect_fail (fx->rootfs_fd, " 5", ZA_EINPUT, "not found", 0);
}

static void
test_empty_parts_and_colons (void **state)
{
  struct fixture *fx = *state;
  const char *bad[] = { "nginx:", ":1", ":", ":www", "0:", "a:b:c", "1:2:3", "nginx::", "::" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      expect_fail (fx->rootfs_fd, bad[i], ZA_EINPUT, "invalid user", 0);
      expect_fail (-1, bad[i], ZA_EINPUT, "invalid user", 0);
    }
  expect_fail (fx->rootfs_fd, "a:b:c", ZA_EINPUT, "more than one ':'", 0);
  expect_fail (fx->rootfs_fd, "nginx:", ZA_EINPUT, "must not be empty", 0);
}

/* rootfs/etc/passwd is an absolute symlink to a host path outside the
   rootfs.  The same path also exists inside the rootfs with different
   content; the inside one must be used.  */
static void
test_symlink_resolves_in_rootfs (void **state)
{
  struct fixture *fx = *state;
  const char *hostpw = "nginx:x:6666:7777:HOST:/:/bin/sh\n";
  const char *inpw = "nginx:x:101:102:INSIDE:/:/bin/sh\n";
  char host[PATH_MAX], inside[sizeof ((struct fixture *) 0)->rootfs + PATH_MAX];
  char link[PATH_MAX], etc[PATH_MAX];

  snprintf (host, sizeof host, "%s/host/passwd", fx->dir);
  write_file (host, hostpw);
  snprintf (inside, sizeof inside, "%s%s", fx->rootfs, host);
  write_file (inside, inpw);
  snprintf (etc, sizeof etc, "%s/etc", fx->rootfs);
  assert_int_equal (za_mkdir_p (etc, 0755, NULL), 0);
  snprintf (link, sizeof link, "%s/etc/passwd", fx->rootfs);
  assert_int_equal (symlink (host, link), 0);

  expect_ok (fx->rootfs_fd, "nginx", 101, 102);
  expect_ok (fx->rootfs_fd, "101", 101, 102);
  /* the host's uid 6666 line (gid 7777) is invisible */
  expect_ok (fx->rootfs_fd, "6666", 6666, 6666);
}

static void
test_symlink_target_only_on_host (void **state)
{
  struct fixture *fx = *state;
  char host[PATH_MAX], link[PATH_MAX], etc[PATH_MAX];
  const char *hostpw = "nginx:x:6666:7777:HOST:/:/bin/sh\n";

  snprintf (host, sizeof host, "%s/host/passwd", fx->dir);
  write_file (host, hostpw);
  snprintf (etc, sizeof etc, "%s/etc", fx->rootfs);
  assert_int_equal (za_mkdir_p (etc, 0755, NULL), 0);
  snprintf (link, sizeof link, "%s/etc/passwd", fx->rootfs);
  assert_int_equal (symlink (host, link), 0);

  /* the target does not exist inside the rootfs: no passwd, not the host's */
  expect_fail (fx->rootfs_fd, "nginx", ZA_EINPUT, "the rootfs has no /etc/passwd", 0);
  expect_ok (fx->rootfs_fd, "6666", 6666, 6666);

  /* a relative symlink climbing out with ".." stops at the rootfs root:
     rootfs/etc/group -> ../../host/group resolves to rootfs/host/group,
     not to DIR/host/group (which is what following it naively would read).  */
  {
    char hostgrp[PATH_MAX], glink[PATH_MAX];
    snprintf (hostgrp, sizeof hostgrp, "%s/host/group", fx->dir);
    write_file (hostgrp, "www:x:6666:\n");
    snprintf (glink, sizeof glink, "%s/etc/group", fx->rootfs);
    assert_int_equal (symlink ("../../host/group", glink), 0);
    expect_fail (fx->rootfs_fd, "0:www", ZA_EINPUT, "the rootfs has no /etc/group", 0);
    write_in (fx->rootfs, "host/group", "www:x:33:\n");
    expect_ok (fx->rootfs_fd, "0:www", 0, 33);
  }
}

/* A symlinked /etc directory (common in distroless-like layouts) works.  */
static void
test_symlinked_etc_dir (void **state)
{
  struct fixture *fx = *state;
  char link[PATH_MAX];
  write_in (fx->rootfs, "usr/etc/passwd", "app:x:500:501:::\n");
  snprintf (link, sizeof link, "%s/etc", fx->rootfs);
  assert_int_equal (symlink ("/usr/etc", link), 0);
  expect_ok (fx->rootfs_fd, "app", 500, 501);
}

static void
test_o_directory_fd (void **state)
{
  struct fixture *fx = *state;
  cleanup_close int fd = open (fx->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  expect_ok (fd, "nginx:www", 101, 33);
}

static void
test_error_appends_to_chain (void **state)
{
  struct fixture *fx = *state;
  struct za_err *err = NULL;
  uint32_t u, g;
  za_err_set (&err, ZA_EINPUT, "earlier problem");
  assert_int_equal (za_user_resolve (fx->rootfs_fd, "nobody", &u, &g, &err), -1);
  assert_int_equal (za_err_count (err), 2);
  assert_string_equal (err->msg, "earlier problem");
  assert_string_equal (err->next->msg, "user `nobody` not found in the rootfs's /etc/passwd");
  assert_true (za_err_is_input (err));
  za_err_free (&err);
  /* a NULL error pointer is allowed */
  assert_int_equal (za_user_resolve (fx->rootfs_fd, "nobody", &u, &g, NULL), -1);
}

/* Kernels before 5.6 (ENOSYS) and old seccomp profiles (EPERM) have no
   openat2: the fallback walk must still read plain files and refuse
   symlinks instead of following them to the host.  Run in a child with a
   seccomp filter that fails openat2, since the filter cannot be removed.  */
#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef TEST_AUDIT_ARCH
static int
deny_openat2 (int errno_value)
{
  struct sock_filter filter[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned) errno_value & SECCOMP_RET_DATA)),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { .len = sizeof filter / sizeof *filter, .filter = filter };
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -1;
  return prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* Child body: returns the number of the first failed check, 0 if all pass.  */
static int
fallback_checks (struct fixture *fx, int errno_value)
{
  struct za_err *err = NULL;
  uint32_t u = 0, g = 0;
  char link[PATH_MAX], outside[PATH_MAX];

  if (deny_openat2 (errno_value) < 0)
    return 100;
  if (syscall (SYS_openat2, AT_FDCWD, "/", NULL, 0) != -1 || errno != errno_value)
    return 101; /* the filter did not take */
  if (za_user_resolve (fx->rootfs_fd, "nginx:www", &u, &g, &err) != 0 || u != 101 || g != 33)
    return 1;
  if (za_user_resolve (fx->rootfs_fd, "1000", &u, &g, &err) != 0 || u != 1000 || g != 1500)
    return 2;
  if (za_user_resolve (fx->rootfs_fd, "0:nosuch", &u, &g, &err) != -1 || !err
      || err->code != ZA_EINPUT)
    return 3;
  za_err_free (&err);
  /* replace etc/passwd by an absolute symlink to a file outside the rootfs
     (in the temp dir, never a real host file): refused, never followed */
  snprintf (outside, sizeof outside, "%s/outside-passwd", fx->dir);
  snprintf (link, sizeof link, "%s/etc/passwd", fx->rootfs);
  if (unlink (link) < 0 || symlink (outside, link) < 0)
    return 4;
  if (za_user_resolve (fx->rootfs_fd, "root", &u, &g, &err) != -1 || !err
      || err->code != ZA_EINPUT || !strstr (err->msg, "cannot open"))
    return 5;
  za_err_free (&err);
  return 0;
}
#endif

static void
test_openat2_unavailable_fallback (void **state)
{
#ifdef TEST_AUDIT_ARCH
  struct fixture *fx = *state;
  const int errnos[] = { ENOSYS, EPERM };
  for (size_t i = 0; i < sizeof errnos / sizeof *errnos; i++)
    {
      int status = 0;
      pid_t pid;
      char path[PATH_MAX];
      char outside[PATH_MAX];
      /* a readable target for the child's symlink, so only the refusal to
         follow it can make the lookup fail */
      snprintf (outside, sizeof outside, "%s/outside-passwd", fx->dir);
      write_file (outside, PASSWD);
      /* the previous child left a symlink there */
      snprintf (path, sizeof path, "%s/etc/passwd", fx->rootfs);
      assert_true (unlink (path) == 0 || errno == ENOENT);
      write_in (fx->rootfs, "etc/passwd", PASSWD);
      pid = fork ();
      assert_true (pid >= 0);
      if (pid == 0)
        _exit (fallback_checks (fx, errnos[i]));
      assert_int_equal (waitpid (pid, &status, 0), pid);
      assert_true (WIFEXITED (status));
      if (WEXITSTATUS (status) != 0)
        fail_msg ("fallback with errno %d: check %d failed", errnos[i], WEXITSTATUS (status));
    }
#else
  (void) state;
  skip ();
#endif
}

/* ---- za_subid_lookup ---- */

static void
subid_file (struct fixture *fx, const char *content, char *path, size_t size)
{
  snprintf (path, size, "%s/subuid", fx->dir);
  write_file (path, content);
}

static void
test_subid_first_match (void **state)
{
  struct fixture *fx = *state;
  char path[PATH_MAX];
  uint32_t start = 7, count = 7;
  subid_file (fx,
              "# alice:1:1\n"
              "\n"
              "bob:100000:65536\n"
              "alice:165536:65536\n"
              "alice:300000:1000\n"
              "carol:4294901759:65536\n",
              path, sizeof path);
  assert_int_equal (za_subid_lookup (path, "alice", NULL, &start, &count), 1);
  assert_int_equal (start, 165536);
  assert_int_equal (count, 65536);
  assert_int_equal (za_subid_lookup (path, "bob", "1000", &start, &count), 1);
  assert_int_equal (start, 100000);
  assert_int_equal (count, 65536);
  /* the range may end exactly at UINT32_MAX - 1 */
  assert_int_equal (za_subid_lookup (path, "carol", NULL, &start, &count), 1);
  assert_int_equal (start, 4294901759u);
  assert_int_equal (count, 65536);
  /* unknown, prefix of a name, NULL and empty owners */
  start = count = 7;
  assert_int_equal (za_subid_lookup (path, "dave", NULL, &start, &count), 0);
  assert_int_equal (za_subid_lookup (path, "ali", NULL, &start, &count), 0);
  assert_int_equal (za_subid_lookup (path, NULL, NULL, &start, &count), 0);
  assert_int_equal (za_subid_lookup (path, "", "", &start, &count), 0);
  assert_int_equal (start, 7);
  assert_int_equal (count, 7);
}

static void
test_subid_numeric_owner (void **state)
{
  struct fixture *fx = *state;
  char path[PATH_MAX];
  uint32_t start = 0, count = 0;
  subid_file (fx,
              "1000:200000:65536\n"
              "dave:300000:65536\n"
              "1001:400000:10\n",
              path, sizeof path);
  /* matched by uid string */
  assert_int_equal (za_subid_lookup (path, "dave2", "1000", &start, &count), 1);
  assert_int_equal (start, 200000);
  assert_int_equal (count, 65536);
  assert_int_equal (za_subid_lookup (path, NULL, "1001", &start, &count), 1);
  assert_int_equal (start, 400000);
  assert_int_equal (count, 10);
  /* the first line matching either name or uid wins */
  assert_int_equal (za_subid_lookup (path, "dave", "1000", &start, &count), 1);
  assert_int_equal (start, 200000);
  assert_int_equal (za_subid_lookup (path, "dave", "1001", &start, &count), 1);
  assert_int_equal (start, 300000);
  /* an all-digit NAME matches directly too */
  assert_int_equal (za_subid_lookup (path, "1001", NULL, &start, &count), 1);
  assert_int_equal (start, 400000);
  /* no partial match of the uid string */
  assert_int_equal (za_subid_lookup (path, NULL, "100", &start, &count), 0);
}

static void
test_subid_malformed_first_match (void **state)
{
  struct fixture *fx = *state;
  char path[PATH_MAX];
  uint32_t start = 7, count = 7;
  const char *cases[] = {
    "alice:100000\nalice:200000:65536\n",          /* missing count */
    "alice:100000:\nalice:200000:65536\n",         /* empty count */
    "alice:abc:65536\nalice:200000:65536\n",       /* non-numeric start */
    "alice:100000:0\nalice:200000:65536\n",        /* zero count */
    "alice:-1:65536\nalice:200000:65536\n",        /* sign */
    "alice:100000:65536:x\nalice:200000:65536\n",  /* extra field */
    "alice:4294967295:1\nalice:200000:65536\n",    /* start is id -1 */
    "alice:4294967290:10\nalice:200000:65536\n",   /* range past UINT32_MAX-1 */
    "alice:1:99999999999\nalice:200000:65536\n",   /* count overflow */
    "alice\nalice:200000:65536\n",                 /* owner only */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      subid_file (fx, cases[i], path, sizeof path);
      if (za_subid_lookup (path, "alice", NULL, &start, &count) != 0)
        fail_msg ("case %zu: malformed first match was accepted", i);
      assert_int_equal (start, 7);
      assert_int_equal (count, 7);
    }
  /* malformed lines of *other* owners do not matter */
  subid_file (fx, "bob:x:y\n:1:2\nalice:200000:65536\n", path, sizeof path);
  assert_int_equal (za_subid_lookup (path, "alice", NULL, &start, &count), 1);
  assert_int_equal (start, 200000);
  assert_int_equal (count, 65536);
  /* no trailing newline */
  subid_file (fx, "alice:5:6", path, sizeof path);
  assert_int_equal (za_subid_lookup (path, "alice", NULL, &start, &count), 1);
  assert_int_equal (start, 5);
  assert_int_equal (count, 6);
}

static void
test_subid_missing_file (void **state)
{
  struct fixture *fx = *state;
  char path[PATH_MAX];
  uint32_t start = 7, count = 7;
  snprintf (path, sizeof path, "%s/does-not-exist", fx->dir);
  assert_int_equal (za_subid_lookup (path, "alice", "1000", &start, &count), 0);
  /* a directory is not a subid file */
  assert_int_equal (za_subid_lookup (fx->dir, "alice", "1000", &start, &count), 0);
  assert_int_equal (za_subid_lookup (NULL, "alice", "1000", &start, &count), 0);
  /* "-" is a file name, never stdin */
  assert_int_equal (za_subid_lookup ("-", "alice", "1000", &start, &count), 0);
  assert_int_equal (start, 7);
  assert_int_equal (count, 7);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_root_and_empty, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_numeric_with_passwd_entry, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_numeric_without_passwd_entry, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_numeric_no_passwd_file, setup_empty, teardown),
    cmocka_unit_test (test_no_rootfs_numeric),
    cmocka_unit_test_setup_teardown (test_names, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_name_and_group, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_unknown_user, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_unknown_group, setup_std, teardown),
    cmocka_unit_test (test_name_without_rootfs),
    cmocka_unit_test_setup_teardown (test_name_missing_files, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_passwd_not_regular, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_passwd_too_large, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_overflow, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_empty_parts_and_colons, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_symlink_resolves_in_rootfs, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_symlink_target_only_on_host, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_symlinked_etc_dir, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_o_directory_fd, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_error_appends_to_chain, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_openat2_unavailable_fallback, setup_std, teardown),
    cmocka_unit_test_setup_teardown (test_subid_first_match, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_subid_numeric_owner, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_subid_malformed_first_match, setup_empty, teardown),
    cmocka_unit_test_setup_teardown (test_subid_missing_file, setup_empty, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
