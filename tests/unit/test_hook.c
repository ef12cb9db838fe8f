/* Unit tests for src/hook/root.c: paths inside a container rootfs are
   reached from its fd without following any symlink, "..", or absolute
   name out of it.  */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wformat-truncation"
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hook/hook.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

#include "testutil.h"

struct fx
{
  char dir[PATH_MAX], root[PATH_MAX + 8], host[PATH_MAX + 8];
  int rootfd;
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  assert_non_null (f);
  assert_non_null (make_tmpdir (f->dir, sizeof f->dir, "/tmp/za-hook-XXXXXX"));
  snprintf (f->root, sizeof f->root, "%s/root", f->dir);
  snprintf (f->host, sizeof f->host, "%s/host", f->dir);
  assert_int_equal (mkdir (f->root, 0755), 0);
  assert_int_equal (mkdir (f->host, 0755), 0);
  f->rootfd = open (f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (f->rootfd >= 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  close (f->rootfd);
  return fixture_free (f, f->dir);
}

static void
test_path_ok (void **state)
{
  (void) state;
  assert_true (za_hook_path_ok ("/usr/lib64"));
  assert_false (za_hook_path_ok ("usr/lib64"));
  assert_false (za_hook_path_ok ("/"));
  assert_false (za_hook_path_ok ("//"));
  assert_false (za_hook_path_ok ("/usr/../etc"));
  assert_false (za_hook_path_ok (NULL));
}

static void
test_symlinks_refused (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char p[PATH_MAX * 2];
  snprintf (p, sizeof p, "%s/etc", f->root);
  assert_int_equal (symlink (f->host, p), 0);
  /* Through the link: refused, even for a name that does not exist.  */
  assert_int_equal (za_hook_open (f->rootfd, "/etc/ld.so.cache", O_RDONLY, 0, &err), -1);
  assert_true (chain_has (err, "goes through a symlink"));
  assert_true (za_err_is_input (err));
  za_err_free (&err);
  assert_int_equal (za_hook_exists (f->rootfd, "/etc", &err), -1);
  za_err_free (&err);
  assert_int_equal (za_hook_mkdir_p (f->rootfd, "/etc/ld.so.conf.d", &err), -1);
  za_err_free (&err);
  snprintf (p, sizeof p, "%s/ld.so.conf.d", f->host);
  assert_false (exists (p));
  /* A relative link that stays inside is refused too: fail closed.  */
  snprintf (p, sizeof p, "%s/etc", f->root);
  assert_int_equal (unlink (p), 0);
  assert_int_equal (mkdir (p, 0755), 0);
  snprintf (p, sizeof p, "%s/etc/ld.so.cache", f->root);
  assert_int_equal (symlink ("ld.so.cache.real", p), 0);
  assert_int_equal (za_hook_exists (f->rootfd, "/etc/ld.so.cache", &err), -1);
  za_err_free (&err);
}

static void
test_mkdir_and_write (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  struct za_strv dirs = { 0 };
  cleanup_free char *data = NULL;
  char p[PATH_MAX * 2];
  int fd = za_hook_mkdir_p (f->rootfd, "/a/b/c", &err);
  assert_true (fd >= 0);
  close (fd);
  snprintf (p, sizeof p, "%s/a/b/c", f->root);
  assert_true (exists (p));
  assert_int_equal (za_hook_exists (f->rootfd, "/a/b", &err), 1);
  assert_int_equal (za_hook_exists (f->rootfd, "/a/x", &err), 0);
  assert_null (err);
  assert_int_equal (za_strv_push (&dirs, "/usr/lib64"), 0);
  assert_int_equal (za_strv_push (&dirs, "/opt/x"), 0);
  assert_int_equal (za_hook_write_ldconf (f->rootfd, "00-t.conf", &dirs, &err), 0);
  snprintf (p, sizeof p, "%s/etc/ld.so.conf.d/00-t.conf", f->root);
  assert_int_equal (za_read_file (p, 4096, &data, NULL, &err), 0);
  assert_string_equal (data, "/usr/lib64\n/opt/x\n");
  za_strv_clear (&dirs);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_path_ok),
    cmocka_unit_test_setup_teardown (test_symlinks_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_mkdir_and_write, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
