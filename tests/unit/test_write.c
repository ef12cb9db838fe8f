/* Unit tests for bundle/write.c: writing a bundle directory atomically,
   refusing unsafe targets (symlinked components, directories another user
   owns or may write to, directories that are not bundles), leaving an
   existing bundle as it was on failure, cleanup, log files, the default
   bundle location; and for util/safepath.c, which all of it opens paths
   with.  Every test works in its own mkdtemp directory, removed in the
   teardown.  */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "bundle/build.h"
#include "bundle/write.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/safepath.h"

#include "testutil.h"

#define SPEC SPEC_PRE_APP
#define SPEC_DNS SPEC "    dns: [10.0.0.2]\n"

struct fx
{
  char dir[64];
  char host[128];
};

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  if (!f
      || make_tmpdir_sub (f->dir, sizeof f->dir, "/tmp/za-write-XXXXXX", f->host, sizeof f->host, "host") < 0)
    {
      free (f);
      return -1;
    }
  unsetenv ("ZLAYER_CGROUP_PARENT");
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  if (!f)
    return 0;
  /* a test may have made things read-only or odd: rm -rf copes */
  return fixture_free (f, f->dir);
}

/* ---- helpers ------------------------------------------------------- */

static void
path_in (char *out, size_t n, struct fx *f, const char *rel)
{
  pjoin (out, n, f->dir, rel);
}

/* Build a config for SPEC with HOSTNAME into R; BUNDLE is where the
   resolv.conf mount points.  */
static void
make_result (struct fx *f, const char *yaml, const char *bundle, const char *hostname, const char *rootfs,
             struct za_build_result *r)
{
  struct za_spec *spec = NULL;
  struct za_err *err = NULL;
  struct za_build_opts o = { 0 };
  o.replica = 1;
  o.rootless = 0;
  o.host.root = f->host;
  o.hostname = hostname;
  o.bundle_dir = bundle;
  o.rootfs = rootfs;
  spec = spec_parse_ok_at ("t.yaml", yaml, 0);
  if (za_build_config (spec, spec->d.services.v[0].val, &o, r, &err) < 0)
    fail_msg ("build: %s", err->msg);
  za_spec_free (spec);
}

static mode_t
mode_of (const char *dir, const char *name)
{
  char p[PATH_MAX];
  struct stat st;
  if (name)
    pjoin (p, sizeof p, dir, name);
  else
    assert_true (snprintf (p, sizeof p, "%s", dir) < (int) sizeof p);
  if (lstat (p, &st) < 0)
    fail_msg ("lstat `%s`: %s", p, strerror (errno));
  return st.st_mode;
}

/* The directory holds exactly these names (sorted list, NULL-ended).  */
static void
assert_entries_v (const char *dir, const char *const *want)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  char got[1024] = "", exp[1024] = "";
  char *names[64];
  size_t n = 0;
  assert_non_null (d);
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      {
        assert_true (n < 64);
        names[n++] = strdup (de->d_name);
      }
  closedir (d);
  /* simple sort */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp (names[i], names[j]) > 0)
        {
          char *t = names[i];
          names[i] = names[j];
          names[j] = t;
        }
  for (size_t i = 0; i < n; i++)
    {
      strcat (got, names[i]);
      strcat (got, " ");
      free (names[i]);
    }
  for (size_t i = 0; want[i]; i++)
    {
      strcat (exp, want[i]);
      strcat (exp, " ");
    }
  if (strcmp (got, exp) != 0)
    fail_msg ("`%s` holds [%s], expected [%s]", dir, got, exp);
}
#define assert_entries(dir, ...) assert_entries_v ((dir), (const char *const[]) { __VA_ARGS__, NULL })
#define assert_empty_dir(dir) assert_entries_v ((dir), (const char *const[]) { NULL })

/* ---- za_bundle_write --------------------------------------------------- */

static void
test_write_new_bundle (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX];
  cleanup_free char *json = NULL, *cfg = NULL, *resolv = NULL;
  size_t len, cfglen = 0;
  mode_t old = umask (0);

  path_in (bundle, sizeof bundle, f, "data/bundles/web-rep-1"); /* parents missing */
  make_result (f, SPEC_DNS, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  assert_null (err);
  umask (old);

  assert_true (S_ISDIR (mode_of (bundle, NULL)));
  assert_int_equal (mode_of (bundle, NULL) & 07777, 0700);
  assert_true (S_ISDIR (mode_of (bundle, "rootfs")));
  assert_true (S_ISREG (mode_of (bundle, "config.json")));
  assert_int_equal (mode_of (bundle, "config.json") & 07777, 0600);
  assert_true (S_ISREG (mode_of (bundle, "resolv.conf")));
  assert_int_equal (mode_of (bundle, "resolv.conf") & 07777, 0644);
  assert_entries (bundle, "config.json", "resolv.conf", "rootfs");

  json = za_config_dump (r.config, &len);
  {
    char p[PATH_MAX];
    pjoin (p, sizeof p, bundle, "config.json");
    cfg = slurp (p, &cfglen);
  }
  assert_int_equal (cfglen, len);
  assert_memory_equal (cfg, json, len);
  assert_int_not_equal (cfg[cfglen - 1], '\n');
  resolv = slurp_in (bundle, "resolv.conf");
  assert_string_equal (resolv, "nameserver 10.0.0.2\noptions edns0\n");
  /* the mount in config.json points at that file */
  {
    char want[PATH_MAX + 64];
    snprintf (want, sizeof want, "\"source\": \"%s/resolv.conf\"", bundle);
    assert_non_null (strstr (cfg, want));
  }
  za_build_result_clear (&r);
}

static void
test_write_modes_under_umask_077 (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX];
  mode_t old = umask (077);
  path_in (bundle, sizeof bundle, f, "b");
  make_result (f, SPEC_DNS, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  umask (old);
  assert_int_equal (mode_of (bundle, NULL) & 07777, 0700);
  assert_int_equal (mode_of (bundle, "config.json") & 07777, 0600);
  assert_int_equal (mode_of (bundle, "resolv.conf") & 07777, 0644);
  za_build_result_clear (&r);
}

static void
test_write_replaces_atomically (void **state)
{
  struct fx *f = *state;
  struct za_build_result r1, r2;
  struct za_err *err = NULL;
  char bundle[PATH_MAX];
  cleanup_free char *c1 = NULL, *c2 = NULL, *j2 = NULL;
  struct stat st1, st2;
  char cfgpath[PATH_MAX];

  path_in (bundle, sizeof bundle, f, "bundle");
  pjoin (cfgpath, sizeof cfgpath, bundle, "config.json");
  make_result (f, SPEC, bundle, "first", NULL, &r1);
  make_result (f, SPEC_DNS, bundle, "second", NULL, &r2);

  assert_int_equal (za_bundle_write (bundle, &r1, &err), 0);
  c1 = slurp_in (bundle, "config.json");
  assert_non_null (strstr (c1, "\"hostname\": \"first\""));
  assert_entries (bundle, "config.json", "rootfs");
  assert_int_equal (stat (cfgpath, &st1), 0);

  /* a file in rootfs/ survives a rewrite */
  {
    char p[PATH_MAX];
    pjoin (p, sizeof p, bundle, "rootfs/keep");
    write_file (p, "x");
  }
  assert_int_equal (za_bundle_write (bundle, &r2, &err), 0);
  assert_null (err);
  c2 = slurp_in (bundle, "config.json");
  j2 = za_config_dump (r2.config, NULL);
  assert_string_equal (c2, j2);
  assert_non_null (strstr (c2, "\"hostname\": \"second\""));
  /* replaced by rename: a new inode, no temp file left behind */
  assert_int_equal (stat (cfgpath, &st2), 0);
  assert_true (st1.st_ino != st2.st_ino);
  assert_int_equal (st2.st_mode & 07777, 0600);
  assert_entries (bundle, "config.json", "resolv.conf", "rootfs");
  {
    char p[PATH_MAX];
    pjoin (p, sizeof p, bundle, "rootfs");
    assert_entries (p, "keep");
  }

  /* and once more with the same result: idempotent */
  assert_int_equal (za_bundle_write (bundle, &r2, &err), 0);
  free (c2);
  c2 = slurp_in (bundle, "config.json");
  assert_string_equal (c2, j2);
  assert_entries (bundle, "config.json", "resolv.conf", "rootfs");
  za_build_result_clear (&r1);
  za_build_result_clear (&r2);
}

/* A build killed mid-write leaves its temp file behind; the next build
   removes such files, but only stale ones: a name of the temp pattern, a
   regular file, last written before the build began and not locked by a
   live writer.  */
static void
make_temp (const char *bundle, const char *name, long age_s, bool dir)
{
  char p[PATH_MAX];
  struct timespec ts[2];
  pjoin (p, sizeof p, bundle, name);
  if (dir)
    assert_int_equal (mkdir (p, 0700), 0);
  else
    write_file (p, "partial");
  clock_gettime (CLOCK_REALTIME, &ts[0]);
  ts[0].tv_sec -= age_s;
  ts[1] = ts[0];
  assert_int_equal (utimensat (AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void
test_write_removes_stale_temps (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], locked[PATH_MAX];
  int lfd;

  path_in (bundle, sizeof bundle, f, "bundle");
  make_result (f, SPEC_DNS, bundle, "h", NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);

  make_temp (bundle, ".config.json.0000abcd.tmp", 3600, false);   /* stale: removed */
  make_temp (bundle, ".resolv.conf.1234abcd.tmp", 1, false);      /* stale: removed */
  make_temp (bundle, ".resolv.conf.deadbeef.tmp", 3600, false);   /* a live writer's */
  make_temp (bundle, ".config.json.12345678.tmp", -3600, false);  /* newer than the build */
  make_temp (bundle, ".config.json.XYZ.tmp", 3600, false);        /* not the pattern */
  make_temp (bundle, ".config.json.0000ABCD.tmp", 3600, false);   /* not the pattern */
  make_temp (bundle, ".other.0000abcd.tmp", 3600, false);         /* another file's */
  make_temp (bundle, ".config.json.0000beef.tmp", 3600, true);    /* not a regular file */
  pjoin (locked, sizeof locked, bundle, ".resolv.conf.deadbeef.tmp");
  lfd = open (locked, O_RDONLY | O_CLOEXEC);
  assert_true (lfd >= 0);
  assert_int_equal (flock (lfd, LOCK_EX), 0);

  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  assert_null (err);
  assert_entries (bundle, ".config.json.0000ABCD.tmp", ".config.json.0000beef.tmp", ".config.json.12345678.tmp",
                  ".config.json.XYZ.tmp", ".other.0000abcd.tmp", ".resolv.conf.deadbeef.tmp", "config.json",
                  "resolv.conf", "rootfs");
  /* once its writer is gone, it goes too */
  close (lfd);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  assert_entries (bundle, ".config.json.0000ABCD.tmp", ".config.json.0000beef.tmp", ".config.json.12345678.tmp",
                  ".config.json.XYZ.tmp", ".other.0000abcd.tmp", "config.json", "resolv.conf", "rootfs");
  za_build_result_clear (&r);
}

static void
test_write_existing_empty_dir (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX];
  path_in (bundle, sizeof bundle, f, "pre");
  assert_int_equal (mkdir (bundle, 0750), 0);
  make_result (f, SPEC, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  assert_entries (bundle, "config.json", "rootfs");
  /* an existing directory keeps its mode */
  assert_int_equal (mode_of (bundle, NULL) & 07777, 0750);
  za_build_result_clear (&r);
}

static void
test_write_with_rootfs_option (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], rootfs[PATH_MAX], link[PATH_MAX];
  cleanup_free char *cfg = NULL, *real = NULL;
  json_t *back;

  path_in (bundle, sizeof bundle, f, "bundle");
  path_in (rootfs, sizeof rootfs, f, "images/real-root");
  path_in (link, sizeof link, f, "root-link");
  assert_int_equal (za_mkdir_p (rootfs, 0755, NULL), 0);
  assert_int_equal (symlink (rootfs, link), 0);
  real = realpath (rootfs, NULL);
  make_result (f, SPEC, bundle, NULL, link, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  /* no BUNDLE/rootfs: root.path is the rootfs's real path */
  assert_entries (bundle, "config.json");
  cfg = slurp_in (bundle, "config.json");
  back = json_loads (cfg, 0, NULL);
  assert_non_null (back);
  assert_string_equal (json_string_value (json_object_get (json_object_get (back, "root"), "path")), real);
  json_decref (back);
  za_build_result_clear (&r);
}

static void
test_write_refuses_symlink (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], target[PATH_MAX];

  path_in (target, sizeof target, f, "elsewhere");
  path_in (bundle, sizeof bundle, f, "bundle-link");
  assert_int_equal (mkdir (target, 0755), 0);
  assert_int_equal (symlink (target, bundle), 0);
  make_result (f, SPEC_DNS, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), -1);
  assert_non_null (err);
  assert_int_equal (err->code, ZA_EINPUT);
  assert_non_null (strstr (err->msg, "symlink"));
  za_err_free (&err);
  /* nothing written through it, the link itself kept */
  assert_empty_dir (target);
  assert_true (S_ISLNK (mode_of (bundle, NULL)));

  /* a dangling symlink too */
  assert_int_equal (unlink (bundle), 0);
  assert_int_equal (symlink ("/nonexistent/za-test", bundle), 0);
  assert_int_equal (za_bundle_write (bundle, &r, &err), -1);
  assert_int_equal (err->code, ZA_EINPUT);
  za_err_free (&err);
  assert_false (exists ("/nonexistent/za-test"));
  za_build_result_clear (&r);
}

static void
test_write_refuses_regular_file (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX];
  cleanup_free char *after = NULL;

  path_in (bundle, sizeof bundle, f, "not-a-dir");
  write_file (bundle, "precious\n");
  make_result (f, SPEC, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), -1);
  assert_int_equal (err->code, ZA_EINPUT);
  assert_non_null (strstr (err->msg, "is not a directory"));
  za_err_free (&err);
  after = slurp (bundle, NULL);
  assert_string_equal (after, "precious\n");
  za_build_result_clear (&r);
}

/* An existing bundle; a rewrite that fails part-way must leave every
   byte as it was.  */
static void
write_first (struct fx *f, const char *bundle, char **cfg, char **resolv)
{
  struct za_build_result r;
  struct za_err *err = NULL;
  make_result (f, SPEC_DNS, bundle, "old", NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  za_build_result_clear (&r);
  *cfg = slurp_in (bundle, "config.json");
  *resolv = slurp_in (bundle, "resolv.conf");
  assert_non_null (strstr (*cfg, "\"hostname\": \"old\""));
}

static void
test_write_failure_rootfs_not_dir (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], rootfs[PATH_MAX];
  cleanup_free char *cfg = NULL, *resolv = NULL, *cfg2 = NULL, *resolv2 = NULL;

  path_in (bundle, sizeof bundle, f, "bundle");
  write_first (f, bundle, &cfg, &resolv);
  pjoin (rootfs, sizeof rootfs, bundle, "rootfs");
  assert_int_equal (rmdir (rootfs), 0);
  write_file (rootfs, "file");

  make_result (f, SPEC "    dns: [9.9.9.9]\n", bundle, "new", NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), -1);
  assert_non_null (err);
  assert_non_null (strstr (err->msg, "rootfs"));
  za_err_free (&err);
  cfg2 = slurp_in (bundle, "config.json");
  resolv2 = slurp_in (bundle, "resolv.conf");
  assert_string_equal (cfg2, cfg);
  assert_string_equal (resolv2, resolv);
  assert_entries (bundle, "config.json", "resolv.conf", "rootfs");
  za_build_result_clear (&r);
}

static void
test_write_failure_config_rename (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], cfgdir[PATH_MAX];
  cleanup_free char *resolv = NULL;

  /* config.json is a directory: the final rename fails, after
     resolv.conf was already replaced -> the old resolv.conf comes back */
  path_in (bundle, sizeof bundle, f, "bundle");
  assert_int_equal (za_mkdir_p (bundle, 0700, NULL), 0);
  {
    char p[PATH_MAX];
    pjoin (p, sizeof p, bundle, "resolv.conf");
    write_file (p, "nameserver 192.0.2.1\n");
  }
  pjoin (cfgdir, sizeof cfgdir, bundle, "config.json");
  assert_int_equal (mkdir (cfgdir, 0755), 0);

  make_result (f, SPEC_DNS, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), -1);
  assert_non_null (err);
  assert_false (za_err_is_input (err)); /* a system failure */
  assert_non_null (strstr (err->msg, "failed to write config.json"));
  za_err_free (&err);
  resolv = slurp_in (bundle, "resolv.conf");
  assert_string_equal (resolv, "nameserver 192.0.2.1\n");
  assert_true (S_ISDIR (mode_of (bundle, "config.json")));
  assert_entries (bundle, "config.json", "resolv.conf", "rootfs");
  za_build_result_clear (&r);
}

/* Run za_bundle_write in a child whose files may not grow beyond LIMIT
   bytes (write() then fails with EFBIG).  Returns the child's result:
   0 success, 1 failure, other = test error.  */
static int
write_with_fsize_limit (const char *bundle, const struct za_build_result *r, rlim_t limit)
{
  pid_t pid = fork ();
  int status;
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct rlimit rl = { limit, limit };
      struct za_err *err = NULL;
      int ret;
      signal (SIGXFSZ, SIG_IGN);
      if (setrlimit (RLIMIT_FSIZE, &rl) < 0)
        _exit (3);
      ret = za_bundle_write (bundle, r, &err);
      if (ret == 0)
        _exit (0);
      /* a system error (EFBIG) naming config.json */
      if (!err || za_err_is_input (err) || !strstr (err->msg, "config.json"))
        _exit (4);
      _exit (1);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_write_failure_existing_bundle_unchanged (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  char bundle[PATH_MAX];
  cleanup_free char *cfg = NULL, *resolv = NULL, *cfg2 = NULL, *resolv2 = NULL;

  path_in (bundle, sizeof bundle, f, "bundle");
  write_first (f, bundle, &cfg, &resolv);
  make_result (f, SPEC "    dns: [9.9.9.9, 8.8.4.4]\n", bundle, "new", NULL, &r);
  /* resolv.conf (~50 bytes) fits, config.json (KiBs) does not */
  assert_int_equal (write_with_fsize_limit (bundle, &r, 512), 1);
  cfg2 = slurp_in (bundle, "config.json");
  resolv2 = slurp_in (bundle, "resolv.conf");
  assert_string_equal (cfg2, cfg);
  assert_string_equal (resolv2, resolv);
  assert_entries (bundle, "config.json", "resolv.conf", "rootfs");
  za_build_result_clear (&r);

  /* an old bundle without resolv.conf gets none after a failed write */
  {
    char p[PATH_MAX];
    pjoin (p, sizeof p, bundle, "resolv.conf");
    assert_int_equal (unlink (p), 0);
  }
  make_result (f, SPEC_DNS, bundle, "new", NULL, &r);
  assert_int_equal (write_with_fsize_limit (bundle, &r, 512), 1);
  assert_entries (bundle, "config.json", "rootfs");
  free (cfg2);
  cfg2 = slurp_in (bundle, "config.json");
  assert_string_equal (cfg2, cfg);
  za_build_result_clear (&r);
}

static void
test_write_failure_removes_new_dir (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  char bundle[PATH_MAX], parent[PATH_MAX];

  path_in (parent, sizeof parent, f, "bundles");
  path_in (bundle, sizeof bundle, f, "bundles/web-rep-1");
  make_result (f, SPEC_DNS, bundle, NULL, NULL, &r);
  assert_int_equal (write_with_fsize_limit (bundle, &r, 512), 1);
  assert_false (exists (bundle));
  assert_empty_dir (parent);
  /* the same write without the limit works */
  assert_int_equal (write_with_fsize_limit (bundle, &r, RLIM_INFINITY), 0);
  assert_entries (bundle, "config.json", "resolv.conf", "rootfs");
  za_build_result_clear (&r);
}

static void
test_write_parent_is_file (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char file[PATH_MAX], bundle[PATH_MAX];
  path_in (file, sizeof file, f, "file");
  write_file (file, "x");
  path_in (bundle, sizeof bundle, f, "file/bundle");
  make_result (f, SPEC, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), -1);
  assert_non_null (err);
  assert_false (za_err_is_input (err));
  assert_int_equal (err->code, ENOTDIR);
  za_err_free (&err);
  za_build_result_clear (&r);
}

/* ---- za_bundle_cleanup --------------------------------------------------- */

static void
test_cleanup_real_bundle (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], p[PATH_MAX];
  path_in (bundle, sizeof bundle, f, "bundle");
  make_result (f, SPEC_DNS, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  pjoin (p, sizeof p, bundle, "rootfs/etc");
  assert_int_equal (za_mkdir_p (p, 0755, NULL), 0);
  pjoin (p, sizeof p, bundle, "rootfs/etc/hosts");
  write_file (p, "127.0.0.1 localhost\n");
  assert_int_equal (za_bundle_cleanup (bundle, &err), 0);
  assert_null (err);
  assert_false (exists (bundle));
  assert_entries (f->dir, "host");
  za_build_result_clear (&r);
}

static void
test_cleanup_missing_is_noop (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char bundle[PATH_MAX];
  path_in (bundle, sizeof bundle, f, "never-created");
  assert_int_equal (za_bundle_cleanup (bundle, &err), 0);
  assert_null (err);
  assert_false (exists (bundle));
}

static void
test_cleanup_empty_dir (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char bundle[PATH_MAX];
  path_in (bundle, sizeof bundle, f, "empty");
  assert_int_equal (mkdir (bundle, 0700), 0);
  assert_int_equal (za_bundle_cleanup (bundle, &err), 0);
  assert_false (exists (bundle));
}

static void
test_cleanup_refuses_symlink (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], link[PATH_MAX];
  path_in (bundle, sizeof bundle, f, "bundle");
  path_in (link, sizeof link, f, "link");
  make_result (f, SPEC, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  assert_int_equal (symlink (bundle, link), 0);
  assert_int_equal (za_bundle_cleanup (link, &err), -1);
  assert_non_null (err);
  assert_int_equal (err->code, ZA_EINPUT);
  assert_non_null (strstr (err->msg, "symlink"));
  za_err_free (&err);
  /* neither the link nor what it points at was touched */
  assert_true (S_ISLNK (mode_of (link, NULL)));
  assert_entries (bundle, "config.json", "rootfs");
  za_build_result_clear (&r);
}

static void
test_cleanup_refuses_non_bundle (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char dir[PATH_MAX], p[PATH_MAX];
  path_in (dir, sizeof dir, f, "home");
  assert_int_equal (mkdir (dir, 0755), 0);
  pjoin (p, sizeof p, dir, "notes.txt");
  write_file (p, "keep me");
  assert_int_equal (za_bundle_cleanup (dir, &err), -1);
  assert_non_null (err);
  assert_int_equal (err->code, ZA_EINPUT);
  assert_non_null (strstr (err->msg, "does not look like a bundle"));
  za_err_free (&err);
  assert_entries (dir, "notes.txt");

  /* a regular file is refused as well */
  assert_int_equal (za_bundle_cleanup (p, &err), -1);
  assert_int_equal (err->code, ZA_EINPUT);
  za_err_free (&err);
  assert_true (exists (p));
}

static void
test_cleanup_does_not_follow_inner_symlinks (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], outside[PATH_MAX], p[PATH_MAX];
  path_in (bundle, sizeof bundle, f, "bundle");
  path_in (outside, sizeof outside, f, "outside");
  assert_int_equal (mkdir (outside, 0755), 0);
  pjoin (p, sizeof p, outside, "important");
  write_file (p, "data");
  make_result (f, SPEC, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  pjoin (p, sizeof p, bundle, "rootfs/escape");
  assert_int_equal (symlink (outside, p), 0);
  assert_int_equal (za_bundle_cleanup (bundle, &err), 0);
  assert_false (exists (bundle));
  assert_entries (outside, "important");
  za_build_result_clear (&r);
}

/* ---- util/safepath ------------------------------------------------------- */

/* FD is the directory at PATH.  */
static void
assert_fd_is (int fd, const char *path)
{
  struct stat a, b;
  assert_true (fd >= 0);
  assert_int_equal (fstat (fd, &a), 0);
  assert_int_equal (stat (path, &b), 0);
  assert_true (a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

static void
expect_input_error (struct za_err **err, const char *needle)
{
  assert_non_null (*err);
  if ((*err)->code != ZA_EINPUT || !strstr ((*err)->msg, needle))
    fail_msg ("want an input error with `%s`, got %d: %s", needle, (*err)->code, (*err)->msg);
  za_err_free (err);
}

static uid_t
nobody_uid (void)
{
  struct passwd *pw = getpwnam ("nobody");
  return pw ? pw->pw_uid : 65534;
}

static void
test_safepath_opens_real_path (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char p[PATH_MAX];
  cleanup_free char *name = NULL;
  int fd;

  path_in (p, sizeof p, f, "a/b");
  assert_int_equal (za_mkdir_p (p, 0755, NULL), 0);
  fd = za_safepath_open_dir (p, ZA_SAFEPATH_TRUSTED, &err);
  assert_null (err);
  assert_fd_is (fd, p);
  close (fd);

  path_in (p, sizeof p, f, "a/b/c");
  fd = za_safepath_open_parent (p, ZA_SAFEPATH_TRUSTED, &name, &err);
  assert_null (err);
  assert_string_equal (name, "c");
  path_in (p, sizeof p, f, "a/b");
  assert_fd_is (fd, p);
  close (fd);
}

static void
test_safepath_refuses_symlink_components (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char real[PATH_MAX], link[PATH_MAX], p[PATH_MAX];
  cleanup_free char *name = NULL;
  int fd;

  path_in (real, sizeof real, f, "real/sub");
  assert_int_equal (za_mkdir_p (real, 0755, NULL), 0);
  path_in (real, sizeof real, f, "real");
  path_in (link, sizeof link, f, "link");
  assert_int_equal (symlink (real, link), 0);

  /* in the middle, last, and with creation asked for */
  path_in (p, sizeof p, f, "link/sub");
  assert_int_equal (za_safepath_open_dir (p, 0, &err), -1);
  expect_input_error (&err, "link` is a symlink");
  assert_int_equal (za_safepath_open_dir (link, 0, &err), -1);
  expect_input_error (&err, "symlink");
  path_in (p, sizeof p, f, "link/new/deeper");
  assert_int_equal (za_safepath_open_dir (p, ZA_SAFEPATH_CREATE, &err), -1);
  expect_input_error (&err, "symlink");
  assert_int_equal (za_safepath_open_parent (p, ZA_SAFEPATH_CREATE, &name, &err), -1);
  expect_input_error (&err, "symlink");
  assert_null (name);
  assert_entries (real, "sub");

  /* a dangling one is not created through either */
  path_in (p, sizeof p, f, "dangle");
  assert_int_equal (symlink ("nowhere", p), 0);
  path_in (p, sizeof p, f, "dangle/x");
  assert_int_equal (za_safepath_open_dir (p, ZA_SAFEPATH_CREATE, &err), -1);
  expect_input_error (&err, "symlink");
  assert_false (exists_in (f->dir, "nowhere"));

  /* the last component of open_parent is not looked at */
  fd = za_safepath_open_parent (link, 0, &name, &err);
  assert_null (err);
  assert_string_equal (name, "link");
  assert_fd_is (fd, f->dir);
  close (fd);
}

static void
test_safepath_create (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char p[PATH_MAX];
  mode_t old;
  int fd;

  /* a umask of 002 must not leave our own new parents group-writable */
  old = umask (002);
  path_in (p, sizeof p, f, "n1/n2/n3");
  fd = za_safepath_open_dir (p, ZA_SAFEPATH_CREATE | ZA_SAFEPATH_TRUSTED, &err);
  umask (old);
  assert_null (err);
  assert_fd_is (fd, p);
  close (fd);
  assert_int_equal (mode_of (p, NULL) & 07777, 0755);
  path_in (p, sizeof p, f, "n1");
  assert_int_equal (mode_of (p, NULL) & 07777, 0755);

  old = umask (077);
  path_in (p, sizeof p, f, "m1/m2");
  fd = za_safepath_open_dir (p, ZA_SAFEPATH_CREATE, &err);
  umask (old);
  assert_fd_is (fd, p);
  close (fd);
  assert_int_equal (mode_of (p, NULL) & 07777, 0700);

  /* without CREATE a missing component is the system's ENOENT */
  path_in (p, sizeof p, f, "missing/x");
  assert_int_equal (za_safepath_open_dir (p, 0, &err), -1);
  assert_non_null (err);
  assert_int_equal (err->code, ENOENT);
  za_err_free (&err);
  assert_false (exists_in (f->dir, "missing"));

  /* a file on the way: ENOTDIR */
  path_in (p, sizeof p, f, "file");
  write_file (p, "x");
  path_in (p, sizeof p, f, "file/x");
  assert_int_equal (za_safepath_open_dir (p, ZA_SAFEPATH_CREATE, &err), -1);
  assert_non_null (err);
  assert_int_equal (err->code, ENOTDIR);
  za_err_free (&err);
}

static void
test_safepath_parent_names (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char p[PATH_MAX], cwd[PATH_MAX];
  char *name = NULL;
  int fd;

  assert_int_equal (za_safepath_open_parent ("/", 0, &name, &err), -1);
  expect_input_error (&err, "does not end in a name");
  assert_int_equal (za_safepath_open_parent ("", 0, &name, &err), -1);
  expect_input_error (&err, "empty path");
  path_in (p, sizeof p, f, "x/..");
  assert_int_equal (za_safepath_open_parent (p, 0, &name, &err), -1);
  expect_input_error (&err, "does not end in a name");
  assert_null (name);

  /* "." and empty components add nothing */
  path_in (p, sizeof p, f, "x/./");
  fd = za_safepath_open_parent (p, 0, &name, &err);
  assert_null (err);
  assert_string_equal (name, "x");
  assert_fd_is (fd, f->dir);
  close (fd);
  free (name);
  name = NULL;

  /* a relative path starts at the working directory */
  assert_non_null (getcwd (cwd, sizeof cwd));
  assert_int_equal (chdir (f->dir), 0);
  fd = za_safepath_open_parent ("rel/b", ZA_SAFEPATH_CREATE, &name, &err);
  assert_int_equal (chdir (cwd), 0);
  assert_null (err);
  assert_string_equal (name, "b");
  path_in (p, sizeof p, f, "rel");
  assert_fd_is (fd, p);
  close (fd);
  free (name);
}

static void
test_safepath_trusted (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char p[PATH_MAX], ww[PATH_MAX];
  int fd;

  /* a directory anyone may write to can be swapped under us */
  path_in (ww, sizeof ww, f, "ww");
  assert_int_equal (mkdir (ww, 0755), 0);
  assert_int_equal (chmod (ww, 0777), 0);
  path_in (p, sizeof p, f, "ww/x");
  assert_int_equal (za_safepath_open_dir (p, ZA_SAFEPATH_TRUSTED | ZA_SAFEPATH_CREATE, &err), -1);
  expect_input_error (&err, "writable by group or others");
  assert_empty_dir (ww);
  assert_int_equal (chmod (ww, 0770), 0);
  assert_int_equal (za_safepath_open_dir (ww, ZA_SAFEPATH_TRUSTED, &err), -1);
  expect_input_error (&err, "mode 0770");
  /* untrusted paths still open without the flag */
  fd = za_safepath_open_dir (ww, 0, &err);
  assert_fd_is (fd, ww);
  /* ... and the checks say why on their own */
  assert_int_equal (za_safepath_check_private (fd, ww, &err), -1);
  expect_input_error (&err, "writable by group or others");
  close (fd);

  /* sticky (as /tmp): others cannot rename what is ours */
  assert_int_equal (chmod (ww, 01777), 0);
  fd = za_safepath_open_dir (p, ZA_SAFEPATH_TRUSTED | ZA_SAFEPATH_CREATE, &err);
  assert_null (err);
  assert_fd_is (fd, p);
  assert_int_equal (za_safepath_check_private (fd, p, &err), 0);
  close (fd);

  if (geteuid () == 0)
    {
      path_in (p, sizeof p, f, "theirs");
      assert_int_equal (mkdir (p, 0755), 0);
      assert_int_equal (chown (p, nobody_uid (), (gid_t) -1), 0);
      path_in (p, sizeof p, f, "theirs/x");
      assert_int_equal (za_safepath_open_dir (p, ZA_SAFEPATH_TRUSTED | ZA_SAFEPATH_CREATE, &err), -1);
      expect_input_error (&err, "not to you or root");
      assert_false (exists (p));
    }
  else
    print_message ("# not root: a directory owned by another user not tried\n");
}

/* ---- bundle directories zagent did not make -------------------------------- */

static bool
has_marker_xattr (const char *dir)
{
  return getxattr (dir, "user.zagent.bundle", NULL, 0) >= 0;
}

static void
test_write_refuses_non_bundle_dir (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char dir[PATH_MAX], p[PATH_MAX];
  cleanup_free char *keep = NULL;

  path_in (dir, sizeof dir, f, "home");
  assert_int_equal (mkdir (dir, 0700), 0);
  write_in (dir, "important.txt", "keep me\n");
  write_in (dir, "sub/notes", "and me\n");
  make_result (f, SPEC_DNS, dir, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (dir, &r, &err), -1);
  expect_input_error (&err, "not a zagent bundle");
  assert_entries (dir, "important.txt", "sub");
  assert_false (has_marker_xattr (dir));
  keep = slurp_in (dir, "important.txt");
  assert_string_equal (keep, "keep me\n");

  /* one file a bundle never holds is enough, even beside bundle files */
  pjoin (p, sizeof p, dir, "important.txt");
  assert_int_equal (unlink (p), 0);
  pjoin (p, sizeof p, dir, "config.json");
  write_file (p, "{\"mine\": true}\n");
  assert_int_equal (za_bundle_write (dir, &r, &err), -1);
  expect_input_error (&err, "holds `sub`");
  free (keep);
  keep = slurp_in (dir, "config.json");
  assert_string_equal (keep, "{\"mine\": true}\n");
  assert_int_equal (za_bundle_cleanup (dir, &err), -1);
  expect_input_error (&err, "does not look like a bundle");
  assert_entries (dir, "config.json", "sub");
  za_build_result_clear (&r);
}

static void
test_write_marks_new_and_adopted_dirs (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], empty[PATH_MAX];

  path_in (bundle, sizeof bundle, f, "new");
  make_result (f, SPEC, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), 0);
  assert_true (has_marker_xattr (bundle));
  za_build_result_clear (&r);

  path_in (empty, sizeof empty, f, "empty");
  assert_int_equal (mkdir (empty, 0700), 0);
  make_result (f, SPEC, empty, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (empty, &r, &err), 0);
  assert_true (has_marker_xattr (empty));
  assert_entries (empty, "config.json", "rootfs");

  /* a failed first write gives an adopted directory back unmarked */
  path_in (empty, sizeof empty, f, "empty2");
  assert_int_equal (mkdir (empty, 0700), 0);
  assert_int_equal (write_with_fsize_limit (empty, &r, 512), 1);
  assert_false (has_marker_xattr (empty));
  path_in (empty, sizeof empty, f, "empty");

  /* what lands in a marked bundle later goes with it */
  write_in (empty, "notes", "x");
  assert_int_equal (za_bundle_write (empty, &r, &err), 0);
  assert_int_equal (za_bundle_cleanup (empty, &err), 0);
  assert_null (err);
  assert_false (exists (empty));
  za_build_result_clear (&r);
}

/* Where the file system has no user xattrs the marker is a file.  */
static void
test_cleanup_marker_file (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char dir[PATH_MAX];

  path_in (dir, sizeof dir, f, "marked");
  assert_int_equal (mkdir (dir, 0700), 0);
  write_in (dir, ".zagent-bundle", "");
  write_in (dir, "config.json", "{}");
  write_in (dir, "extra", "x");
  assert_int_equal (za_bundle_cleanup (dir, &err), 0);
  assert_null (err);
  assert_false (exists (dir));

  /* as a symlink it marks nothing */
  assert_int_equal (mkdir (dir, 0700), 0);
  write_in (f->dir, "target", "");
  {
    char p[PATH_MAX], t[PATH_MAX];
    pjoin (p, sizeof p, dir, ".zagent-bundle");
    path_in (t, sizeof t, f, "target");
    assert_int_equal (symlink (t, p), 0);
  }
  write_in (dir, "extra", "x");
  assert_int_equal (za_bundle_cleanup (dir, &err), -1);
  expect_input_error (&err, "holds `extra`");
  assert_entries (dir, ".zagent-bundle", "extra");
}

/* Bundles written before the marker: no marker, only bundle files.  */
static void
test_write_legacy_bundle (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char dir[PATH_MAX], prep[PATH_MAX], p[PATH_MAX];

  path_in (dir, sizeof dir, f, "old");
  assert_int_equal (mkdir (dir, 0700), 0);
  write_in (dir, "config.json", "{}");
  write_in (dir, "resolv.conf", "nameserver 192.0.2.1\n");
  write_in (dir, "rootfs/etc/hosts", "x");
  write_in (dir, "logs/stdout.log", "x");
  write_in (dir, "init.pid", "1");
  write_in (dir, ".config.json.0000abcd.tmp", "x");
  make_result (f, SPEC_DNS, dir, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (dir, &r, &err), 0);
  assert_null (err);
  assert_false (has_marker_xattr (dir));
  assert_int_equal (za_bundle_cleanup (dir, &err), 0);
  assert_null (err);
  assert_false (exists (dir));

  /* a rootfs prepared runc-style before the first build */
  path_in (prep, sizeof prep, f, "prep");
  assert_int_equal (mkdir (prep, 0700), 0);
  write_in (prep, "rootfs/bin/sh", "x");
  assert_int_equal (za_bundle_write (prep, &r, &err), 0);
  assert_true (exists_in (prep, "rootfs/bin/sh"));

  /* without the marker and without config.json it is not a bundle */
  pjoin (p, sizeof p, prep, "config.json");
  assert_int_equal (unlink (p), 0);
  assert_int_equal (za_bundle_cleanup (prep, &err), -1);
  expect_input_error (&err, "no config.json");
  assert_true (exists_in (prep, "rootfs/bin/sh"));
  za_build_result_clear (&r);
}

static void
test_write_refuses_untrusted_bundle_dir (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char dir[PATH_MAX];

  path_in (dir, sizeof dir, f, "open");
  assert_int_equal (mkdir (dir, 0700), 0);
  assert_int_equal (chmod (dir, 0777), 0);
  make_result (f, SPEC_DNS, dir, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (dir, &r, &err), -1);
  expect_input_error (&err, "writable by group or others");
  assert_empty_dir (dir);
  assert_int_equal (za_bundle_cleanup (dir, &err), -1);
  expect_input_error (&err, "writable by group or others");
  assert_true (exists (dir));
  assert_int_equal (za_bundle_open_log (dir, "stdout.log", &err), -1);
  expect_input_error (&err, "writable by group or others");
  assert_empty_dir (dir);

  /* a world-writable parent: the bundle could be renamed away */
  path_in (dir, sizeof dir, f, "open/b");
  assert_int_equal (za_bundle_write (dir, &r, &err), -1);
  expect_input_error (&err, "writable by group or others");
  assert_false (exists (dir));

  if (geteuid () == 0)
    {
      path_in (dir, sizeof dir, f, "theirs");
      assert_int_equal (mkdir (dir, 0700), 0);
      assert_int_equal (chown (dir, nobody_uid (), (gid_t) -1), 0);
      assert_int_equal (za_bundle_write (dir, &r, &err), -1);
      expect_input_error (&err, "not to you");
      assert_empty_dir (dir);
      write_in (dir, "config.json", "{}");
      assert_int_equal (za_bundle_cleanup (dir, &err), -1);
      expect_input_error (&err, "not to you");
      assert_entries (dir, "config.json");
    }
  za_build_result_clear (&r);
}

/* DIR/link -> DIR/secret: nothing is written or removed behind it.  */
static void
test_write_refuses_symlinked_parent (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char secret[PATH_MAX], inside[PATH_MAX], link[PATH_MAX], via[PATH_MAX];
  cleanup_free char *before = NULL, *after = NULL;

  path_in (secret, sizeof secret, f, "secret");
  path_in (inside, sizeof inside, f, "secret/b");
  path_in (link, sizeof link, f, "link");
  assert_int_equal (mkdir (secret, 0700), 0);
  make_result (f, SPEC, inside, "inside", NULL, &r);
  assert_int_equal (za_bundle_write (inside, &r, &err), 0);
  za_build_result_clear (&r);
  before = slurp_in (inside, "config.json");
  assert_int_equal (symlink (secret, link), 0);

  path_in (via, sizeof via, f, "link/b");
  make_result (f, SPEC, via, "via", NULL, &r);
  assert_int_equal (za_bundle_write (via, &r, &err), -1);
  expect_input_error (&err, "symlink");
  path_in (via, sizeof via, f, "link/new");
  assert_int_equal (za_bundle_write (via, &r, &err), -1);
  expect_input_error (&err, "symlink");
  path_in (via, sizeof via, f, "link/b");
  assert_int_equal (za_bundle_cleanup (via, &err), -1);
  expect_input_error (&err, "symlink");
  assert_int_equal (za_bundle_open_log (via, "stdout.log", &err), -1);
  expect_input_error (&err, "symlink");
  assert_entries (secret, "b");
  assert_entries (inside, "config.json", "rootfs");
  after = slurp_in (inside, "config.json");
  assert_string_equal (after, before);
  za_build_result_clear (&r);
}

/* config.json cannot be written (a directory): the rollback puts
   resolv.conf back as it was, never copying what a symlink points at.  */
static void
test_write_rollback_never_reads_through_symlink (void **state)
{
  struct fx *f = *state;
  struct za_build_result r;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], secret[PATH_MAX], p[PATH_MAX], target[PATH_MAX];
  cleanup_free char *back = NULL;
  ssize_t n;

  path_in (secret, sizeof secret, f, "shadow");
  write_data (secret, "TOPSECRET\n", 10, 0600);
  path_in (bundle, sizeof bundle, f, "bundle");
  assert_int_equal (mkdir (bundle, 0700), 0);
  pjoin (p, sizeof p, bundle, "resolv.conf");
  assert_int_equal (symlink (secret, p), 0);
  pjoin (p, sizeof p, bundle, "config.json");
  assert_int_equal (mkdir (p, 0755), 0);

  make_result (f, SPEC_DNS, bundle, NULL, NULL, &r);
  assert_int_equal (za_bundle_write (bundle, &r, &err), -1);
  assert_non_null (err);
  assert_false (za_err_is_input (err));
  za_err_free (&err);
  /* the link is back, as a link to the same file */
  assert_true (S_ISLNK (mode_of (bundle, "resolv.conf")));
  pjoin (p, sizeof p, bundle, "resolv.conf");
  n = readlink (p, target, sizeof target - 1);
  assert_true (n > 0);
  target[n] = '\0';
  assert_string_equal (target, secret);
  assert_entries (bundle, "config.json", "resolv.conf", "rootfs");
  back = slurp (secret, NULL);
  assert_string_equal (back, "TOPSECRET\n");
  assert_int_equal (mode_of (secret, NULL) & 07777, 0600);

  /* a regular file comes back with its content and its mode */
  assert_int_equal (unlink (p), 0);
  write_data (p, "nameserver 192.0.2.9\n", 21, 0640);
  assert_int_equal (za_bundle_write (bundle, &r, &err), -1);
  za_err_free (&err);
  free (back);
  back = slurp_in (bundle, "resolv.conf");
  assert_string_equal (back, "nameserver 192.0.2.9\n");
  assert_int_equal (mode_of (bundle, "resolv.conf") & 07777, 0640);
  za_build_result_clear (&r);
}

/* ---- za_bundle_open_log ------------------------------------------------------ */

static void
test_open_log_appends (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], logs[PATH_MAX];
  cleanup_free char *got = NULL;
  int fd;
  mode_t old = umask (0);

  path_in (bundle, sizeof bundle, f, "b");
  assert_int_equal (mkdir (bundle, 0700), 0);
  fd = za_bundle_open_log (bundle, "stdout.log", &err);
  umask (old);
  assert_null (err);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "one\n", 4), 4);
  close (fd);
  fd = za_bundle_open_log (bundle, "stdout.log", &err);
  assert_true (fd >= 0);
  assert_true (fcntl (fd, F_GETFD) & FD_CLOEXEC);
  assert_int_equal (fcntl (fd, F_GETFL) & (O_APPEND | O_NONBLOCK | O_ACCMODE), O_APPEND | O_WRONLY);
  assert_int_equal (write (fd, "two\n", 4), 4);
  close (fd);
  pjoin (logs, sizeof logs, bundle, "logs");
  assert_int_equal (mode_of (logs, NULL) & 07777, 0700);
  assert_int_equal (mode_of (logs, "stdout.log") & 07777, 0600);
  got = slurp_in (logs, "stdout.log");
  assert_string_equal (got, "one\ntwo\n");

  assert_int_equal (za_bundle_open_log (bundle, "../x", &err), -1);
  expect_input_error (&err, "not a file name");
  assert_int_equal (za_bundle_open_log (bundle, "..", &err), -1);
  expect_input_error (&err, "not a file name");
  assert_int_equal (za_bundle_open_log (bundle, "", &err), -1);
  expect_input_error (&err, "not a file name");
}

static void
test_open_log_refuses_planted_files (void **state)
{
  struct fx *f = *state;
  struct za_err *err = NULL;
  char bundle[PATH_MAX], logs[PATH_MAX], target[PATH_MAX], p[PATH_MAX];
  cleanup_free char *got = NULL;
  struct stat st1, st2;
  pid_t pid;
  int status;

  path_in (target, sizeof target, f, "root-owned");
  write_data (target, "root data\n", 10, 0600);
  assert_int_equal (stat (target, &st1), 0);
  path_in (bundle, sizeof bundle, f, "b");
  pjoin (logs, sizeof logs, bundle, "logs");
  assert_int_equal (za_mkdir_p (logs, 0700, NULL), 0);
  assert_int_equal (chmod (bundle, 0700), 0);

  /* logs/stdout.log -> a file elsewhere */
  pjoin (p, sizeof p, logs, "stdout.log");
  assert_int_equal (symlink (target, p), 0);
  assert_int_equal (za_bundle_open_log (bundle, "stdout.log", &err), -1);
  expect_input_error (&err, "symlink");
  /* a dangling one is not created through either */
  pjoin (p, sizeof p, logs, "stderr.log");
  assert_int_equal (symlink ("../../made-by-log", p), 0);
  assert_int_equal (za_bundle_open_log (bundle, "stderr.log", &err), -1);
  expect_input_error (&err, "symlink");
  assert_false (exists_in (f->dir, "made-by-log"));

  /* a second link to a file elsewhere */
  pjoin (p, sizeof p, logs, "hard.log");
  assert_int_equal (link (target, p), 0);
  assert_int_equal (za_bundle_open_log (bundle, "hard.log", &err), -1);
  expect_input_error (&err, "single link");

  /* a FIFO: refused at once, not a hang (a child, in case it hangs) */
  pjoin (p, sizeof p, logs, "fifo.log");
  assert_int_equal (mkfifo (p, 0600), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct za_err *e = NULL;
      alarm (5);
      _exit (za_bundle_open_log (bundle, "fifo.log", &e) == -1 && e && e->code == ZA_EINPUT ? 0 : 1);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  got = slurp (target, NULL);
  assert_string_equal (got, "root data\n");
  assert_int_equal (stat (target, &st2), 0);
  assert_int_equal (st2.st_size, st1.st_size);
  assert_int_equal (st2.st_mode & 07777, 0600);

  /* logs itself a symlink */
  assert_int_equal (rm_rf (logs), 0);
  path_in (p, sizeof p, f, "elsewhere");
  assert_int_equal (mkdir (p, 0700), 0);
  assert_int_equal (symlink (p, logs), 0);
  assert_int_equal (za_bundle_open_log (bundle, "stdout.log", &err), -1);
  expect_input_error (&err, "symlink");
  assert_empty_dir (p);
}

/* ---- za_default_bundle_dir ------------------------------------------------ */

static void
test_default_bundle_dir (void **state)
{
  (void) state;
  char *d;
  const char *home = getenv ("HOME");
  cleanup_free char *saved_home = home ? strdup (home) : NULL;

  setenv ("ZLAYER_DATA_DIR", "/srv/zlayer-data", 1);
  d = za_default_bundle_dir ("web-rep-2");
  assert_string_equal (d, "/srv/zlayer-data/bundles/web-rep-2");
  free (d);

  /* empty means unset */
  setenv ("ZLAYER_DATA_DIR", "", 1);
  setenv ("HOME", "/home/someone", 1);
  d = za_default_bundle_dir ("api-rep-1");
  if (geteuid () == 0)
    assert_string_equal (d, "/var/lib/zlayer/bundles/api-rep-1");
  else
    assert_string_equal (d, "/home/someone/.zlayer/bundles/api-rep-1");
  free (d);

  unsetenv ("ZLAYER_DATA_DIR");
  unsetenv ("HOME");
  d = za_default_bundle_dir ("x-rep-1");
  assert_string_equal (d, "/var/lib/zlayer/bundles/x-rep-1");
  free (d);

  if (saved_home)
    setenv ("HOME", saved_home, 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_write_new_bundle),
    T (test_write_modes_under_umask_077),
    T (test_write_replaces_atomically),
    T (test_write_removes_stale_temps),
    T (test_write_existing_empty_dir),
    T (test_write_with_rootfs_option),
    T (test_write_refuses_symlink),
    T (test_write_refuses_regular_file),
    T (test_write_failure_rootfs_not_dir),
    T (test_write_failure_config_rename),
    T (test_write_failure_existing_bundle_unchanged),
    T (test_write_failure_removes_new_dir),
    T (test_write_parent_is_file),
    T (test_cleanup_real_bundle),
    T (test_cleanup_missing_is_noop),
    T (test_cleanup_empty_dir),
    T (test_cleanup_refuses_symlink),
    T (test_cleanup_refuses_non_bundle),
    T (test_cleanup_does_not_follow_inner_symlinks),
    T (test_safepath_opens_real_path),
    T (test_safepath_refuses_symlink_components),
    T (test_safepath_create),
    T (test_safepath_parent_names),
    T (test_safepath_trusted),
    T (test_write_refuses_non_bundle_dir),
    T (test_write_marks_new_and_adopted_dirs),
    T (test_cleanup_marker_file),
    T (test_write_legacy_bundle),
    T (test_write_refuses_untrusted_bundle_dir),
    T (test_write_refuses_symlinked_parent),
    T (test_write_rollback_never_reads_through_symlink),
    T (test_open_log_appends),
    T (test_open_log_refuses_planted_files),
    T (test_default_bundle_dir),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
