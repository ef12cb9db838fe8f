/* zbench: zagent's benchmark program (make bench).  Prints a table of
   medians, each next to a baseline measured in the same run:
     - in-process: parse + validate + build + serialise one config.json
       for a small spec, a full-service-sized spec and an 8-GPU CDI spec;
     - CLI: `zagent spec` vs `runc spec`;
     - CDI registry load+resolve for 10 … 10,000 spec files vs the
       reference oracle (cdi-oracle, Go library 0.5.2);
     - `zagent run` vs `runc run` (the floor), `run -d` + `rm -f` vs
       `runc run -d` + `runc delete -f`, zagent over crun vs `crun run`,
       and podman (the peer); `zagent --version` vs `/bin/true`;
     - peak RSS of every child (wait4).  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bundle/build.h"
#include "bundle/pipeline.h"
#include "spec/spec.h"

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
cmp_d (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Run ARGV (shell command) quietly; wall seconds, peak RSS in KiB.  */
static int
run_cmd (const char *cmd, double *secs, long *rss_kib)
{
  double t0 = now ();
  struct rusage ru;
  int st;
  pid_t pid = fork ();
  if (pid == 0)
    {
      int nul = open ("/dev/null", O_RDWR);
      dup2 (nul, 1);
      dup2 (nul, 2);
      execl ("/bin/sh", "sh", "-c", cmd, (char *) NULL);
      _exit (127);
    }
  if (pid < 0 || wait4 (pid, &st, 0, &ru) < 0)
    return -1;
  *secs = now () - t0;
  *rss_kib = ru.ru_maxrss;
  return WIFEXITED (st) && WEXITSTATUS (st) == 0 ? 0 : -1;
}

struct cmd_result
{
  double med;
  long rss;
  bool ok;
};

static struct cmd_result
measure (const char *cmd, const char *before, int reps)
{
  double t[64];
  struct cmd_result r = { 0, 0, true };
  if (reps > 64)
    reps = 64;
  for (int i = 0; i < reps; i++)
    {
      long rss = 0;
      if (before && system (before) != 0)
        {
          r.ok = false;
          return r;
        }
      if (run_cmd (cmd, &t[i], &rss) < 0)
        {
          r.ok = false;
          return r;
        }
      if (rss > r.rss)
        r.rss = rss;
    }
  r.med = median (t, reps);
  return r;
}

/* A and B alternately, REPS times each (BEFORE_A/B: untimed setup, may
   be NULL): on a shared machine a load spike then hits both sides, not
   one.  */
static void
measure_pair (const char *a, const char *before_a, const char *b, const char *before_b, int reps,
              struct cmd_result *ra, struct cmd_result *rb)
{
  double ta[64], tb[64];
  if (reps > 64)
    reps = 64;
  *ra = (struct cmd_result) { 0, 0, true };
  *rb = (struct cmd_result) { 0, 0, true };
  for (int i = 0; i < reps; i++)
    {
      long rss = 0;
      if ((before_a && system (before_a) != 0) || run_cmd (a, &ta[i], &rss) < 0)
        ra->ok = false;
      if (rss > ra->rss)
        ra->rss = rss;
      rss = 0;
      if ((before_b && system (before_b) != 0) || run_cmd (b, &tb[i], &rss) < 0)
        rb->ok = false;
      if (rss > rb->rss)
        rb->rss = rss;
    }
  if (ra->ok)
    ra->med = median (ta, reps);
  if (rb->ok)
    rb->med = median (tb, reps);
}

static const char *small_spec = "version: v1\ndeployment: bench\nservices:\n  web:\n    image: {name: nginx:alpine}\n"
                                "    env: {A: \"1\", B: two}\n    resources: {cpu: 0.5, memory: 256Mi}\n";

/* Four services with most of the blocks of examples/full-service.yaml.  */
static char *
full_spec (void)
{
  char *out = NULL;
  size_t sz = 0;
  FILE *f = open_memstream (&out, &sz);
  fputs ("version: v1\ndeployment: full-bench\nservices:\n", f);
  for (int s = 0; s < 4; s++)
    {
      fprintf (f, "  svc%d:\n    rtype: service\n    image: {name: \"ghcr.io/example/svc%d:1.2.3\", pull_policy: always}\n", s, s);
      fprintf (f, "    resources: {cpu: 1.5, memory: 512Mi}\n    env:\n");
      for (int e = 0; e < 12; e++)
        fprintf (f, "      VAR_%d_%d: value-%d\n", s, e, e);
      fprintf (f, "    network:\n      overlays:\n        service: {enabled: true, encrypted: true, isolated: true}\n"
                  "      join: {mode: token, scope: service}\n"
                  "    endpoints:\n      - {name: http, protocol: https, port: 443, target_port: 8080, path: /api, expose: public}\n"
                  "      - {name: metrics, protocol: http, port: 9090}\n"
                  "    scale: {mode: adaptive, min: 2, max: 20, cooldown: 30s, targets: {cpu: 70, memory: 80, rps: 1000}}\n"
                  "    health: {start_grace: 10s, interval: 15s, timeout: 5s, retries: 3, check: {type: http, url: \"http://localhost:8080/health\", expect_status: 200}}\n"
                  "    init: {steps: [{id: wait-db, uses: init.wait_tcp, with: {host: db, port: 5432}, timeout: 60s}]}\n"
                  "    errors: {on_init_failure: {action: fail}, on_panic: {action: restart}}\n"
                  "    capabilities: [net_bind_service, kill]\n"
                  "    storage:\n      - {type: tmpfs, target: /tmp, size: 64Mi, mode: 0o1777}\n"
                  "    ulimits: {nofile: {soft: 1024, hard: 1024}}\n");
      if (s > 0)
        fprintf (f, "    depends: [{service: svc0, condition: healthy, timeout: 300s, on_timeout: fail}]\n");
    }
  fclose (f);
  return out;
}

static const char *gpu_spec = "version: v1\ndeployment: gpubench\nservices:\n  train:\n    image: {name: pytorch}\n"
                              "    resources:\n      gpu: {count: 8, vendor: nvidia, distributed: {backend: nccl}}\n";

/* An nvidia.com/gpu spec with 8 GPUs (device nodes on /dev/null so no
   host lookup fails) and spec-level mounts like nvidia-ctk writes.  */
static void
write_gpu_cdi (const char *dir)
{
  char path[1024];
  FILE *f;
  snprintf (path, sizeof path, "%s/nvidia.yaml", dir);
  f = fopen (path, "w");
  fputs ("cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ncontainerEdits:\n  env: [NVIDIA_VISIBLE_DEVICES=void]\n"
         "  deviceNodes: [{path: /dev/nvidiactl, hostPath: /dev/null}, {path: /dev/nvidia-uvm, hostPath: /dev/zero}]\n  mounts:\n", f);
  for (int i = 0; i < 20; i++)
    fprintf (f, "    - {hostPath: /usr/lib/x86_64-linux-gnu/libnv%d.so.1, containerPath: /usr/lib/x86_64-linux-gnu/libnv%d.so.1, options: [ro, nosuid, nodev, bind]}\n", i, i);
  fputs ("devices:\n", f);
  for (int i = 0; i < 8; i++)
    fprintf (f, "  - name: \"%d\"\n    containerEdits:\n      deviceNodes: [{path: /dev/nvidia%d, hostPath: /dev/null, type: c, major: 195, minor: %d}]\n", i, i, i);
  fclose (f);
}

/* One in-process bundle config: parse, then the pipeline (validate,
   devices, config, CDI edits), then serialise.  */
static int
one_config (const char *name, const char *text, const char *cdi_dir)
{
  struct za_spec *s = NULL;
  struct za_err *err = NULL;
  struct za_build_result res = { 0 };
  const char *dirs[] = { cdi_dir };
  struct za_bundle_request req = { .opts = { .replica = 1, .rootless = 0, .host = { .root = "" } },
                                   .cdi_dirs = dirs, .ncdi_dirs = cdi_dir ? 1 : 0 };
  char *json;
  int ret = -1;
  if (za_spec_parse (name, text, strlen (text), &s, &err) < 0)
    goto out;
  req.service = s->d.services.n > 0 ? s->d.services.v[0].key.s : NULL; /* the first */
  if (za_bundle_build (s, &req, &res, &err) < 0)
    goto out;
  json = za_config_dump (res.config, NULL);
  ret = json ? 0 : -1;
  free (json);
out:
  if (err)
    {
      char *m = za_err_format (err);
      fprintf (stderr, "zbench: %s: %s\n", name, m ? m : "error");
      free (m);
    }
  za_err_free (&err);
  za_build_result_clear (&res);
  za_spec_free (s);
  return ret;
}

static void
inproc (const char *label, const char *name, const char *text, const char *cdi_dir, int iters)
{
  double t[9];
  for (int r = 0; r < 9; r++)
    {
      double t0 = now ();
      for (int i = 0; i < iters; i++)
        if (one_config (name, text, cdi_dir) < 0)
          return;
      t[r] = (now () - t0) / iters;
    }
  double m = median (t, 9);
  printf ("| in-process config: %-28s | %9.1f µs/bundle | %9.0f bundles/s | |\n", label, m * 1e6, 1.0 / m);
}

static void
make_registry (const char *dir, int files)
{
  char path[1024];
  mkdir (dir, 0755);
  for (int i = 0; i < files; i++)
    {
      FILE *f;
      snprintf (path, sizeof path, "%s/vendor%05d.yaml", dir, i);
      f = fopen (path, "w");
      fprintf (f, "cdiVersion: 0.5.0\nkind: vendor%d.example.com/dev\ncontainerEdits:\n  env: [V%d=1]\ndevices:\n", i, i);
      for (int d = 0; d < 8; d++)
        fprintf (f, "  - name: d%d\n    containerEdits:\n      env: [DEV=%d]\n      deviceNodes: [{path: /dev/v%d-%d, hostPath: /dev/null}]\n", d, d, i, d);
      fclose (f);
    }
}

static void
row (const char *what, struct cmd_result a, const char *base, struct cmd_result b)
{
  if (!a.ok)
    {
      printf ("| %-46s | failed | | |\n", what);
      return;
    }
  if (!b.ok)
    printf ("| %-46s | %9.2f ms (%ld KiB) | %s: n/a | |\n", what, a.med * 1e3, a.rss, base);
  else
    printf ("| %-46s | %9.2f ms (%ld KiB) | %s %9.2f ms (%ld KiB) | %.2fx |\n", what, a.med * 1e3, a.rss, base,
            b.med * 1e3, b.rss, a.med / b.med);
}

/* Where crun works on this host: cgroup v1 with a cgroup2 mount at
   /sys/fs/cgroup/unified, which crun 1.8 takes for the unified
   hierarchy; in a mount namespace without it, crun uses v1.  */
#define CRUN_NS "unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\"' "

/* zagent run (one runtime process) against the runtime alone, the same
   bundle, pairs interleaved; then podman, the peer.  */
static void
run_bench (const char *zagent, const char *w, int quick)
{
  char rootfs[512], spec[512], cmd[4096], cmd2[4096];
  struct cmd_result a, b;
  int reps = quick ? 5 : 21;
  FILE *f;

  snprintf (rootfs, sizeof rootfs, "%s/rootfs", w);
  snprintf (cmd, sizeof cmd, "scripts/mkrootfs.sh %s >/dev/null", rootfs);
  if (system (cmd) != 0)
    return;
  for (int i = 0; i < 2; i++)
    {
      snprintf (spec, sizeof spec, "%s/run%d.yaml", w, i);
      f = fopen (spec, "w");
      fprintf (f, "version: v1\ndeployment: runbench\nservices:\n  r%d:\n    image: {name: busybox}\n"
                  "    command: {entrypoint: [%s]}\n",
               i, i ? "/bin/sleep, \"600\"" : "/bin/true");
      fclose (f);
      /* The runtime's bundle: what zagent run writes, made by zagent bundle.  */
      snprintf (cmd, sizeof cmd, "%s bundle -f %s --rootfs %s -b %s/rb%d >/dev/null", zagent, spec, rootfs, w, i);
      if (system (cmd) != 0)
        return;
    }
  snprintf (cmd, sizeof cmd, "%s --version", zagent);
  measure_pair (cmd, NULL, "/bin/true", NULL, reps, &a, &b);
  row ("`zagent --version` (process start)", a, "`/bin/true`", b);

  snprintf (spec, sizeof spec, "%s/run0.yaml", w);
  snprintf (cmd, sizeof cmd, "%s run -f %s --rootfs %s", zagent, spec, rootfs);
  snprintf (cmd2, sizeof cmd2, "cd %s/rb0 && runc --root %s/runcroot run zb-$$", w, w);
  measure_pair (cmd, NULL, cmd2, NULL, reps, &a, &b);
  row ("`zagent run` (/bin/true)", a, "`runc run`", b);

  /* Detached, then removed while it runs (rm -f kills it: runc's
     delete --force waits 100 ms steps for the kill), and once stopped.  */
  for (int i = 1; i >= 0; i--)
    {
      snprintf (spec, sizeof spec, "%s/run%d.yaml", w, i);
      snprintf (cmd, sizeof cmd, "%s run -d -f %s --rootfs %s && %s rm -f r%d-rep-1", zagent, spec, rootfs, zagent, i);
      snprintf (cmd2, sizeof cmd2,
                "cd %s/rb%d && runc --root %s/runcroot run -d zd-$$ </dev/null && runc --root %s/runcroot delete -f zd-$$",
                w, i, w, w);
      measure_pair (cmd, NULL, cmd2, NULL, reps, &a, &b);
      row (i ? "`zagent run -d` + `rm -f` (running: sleep)" : "`zagent run -d` + `rm -f` (/bin/true, exited)", a,
           "`runc run -d` + `runc delete -f`", b);
    }

  snprintf (spec, sizeof spec, "%s/run0.yaml", w);
  snprintf (cmd, sizeof cmd, CRUN_NS "crun --root %s/crunroot run --bundle %s/rb0 zc-probe", w, w);
  if (system ("command -v crun >/dev/null") == 0 && system (cmd) == 0)
    {
      snprintf (cmd, sizeof cmd, CRUN_NS "%s run --runtime crun -f %s --rootfs %s", zagent, spec, rootfs);
      snprintf (cmd2, sizeof cmd2, CRUN_NS "crun --root %s/crunroot run --bundle %s/rb0 zc-$$", w, w);
      measure_pair (cmd, NULL, cmd2, NULL, reps, &a, &b);
      row ("`zagent run --runtime crun` (/bin/true)", a, "`crun run`", b);
      snprintf (cmd, sizeof cmd, "%s run -f %s --rootfs %s", zagent, spec, rootfs);
      measure_pair (cmd, NULL, cmd2, NULL, reps, &a, &b);
      row ("`zagent run` (runc, /bin/true)", a, "`crun run`", b);
    }
  else
    printf ("| crun run | n/a (crun missing or not working here) | | |\n");
  if (system ("command -v podman >/dev/null") == 0)
    {
      snprintf (cmd, sizeof cmd, "%s run -f %s --rootfs %s", zagent, spec, rootfs);
      snprintf (cmd2, sizeof cmd2,
                "podman --runtime runc run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "
                "--rootfs %s /bin/true",
                rootfs);
      measure_pair (cmd, NULL, cmd2, NULL, quick ? 3 : 11, &a, &b);
      row ("`zagent run` (/bin/true)", a, "`podman run`", b);
    }
}

int
main (int argc, char **argv)
{
  const char *zagent = argc > 1 ? argv[1] : "build/zagent";
  const char *oracle = argc > 2 ? argv[2] : "build/tests/cdi-oracle";
  int quick = getenv ("ZBENCH_QUICK") != NULL;
  char tmpl[] = "/tmp/zbench.XXXXXX", *w = mkdtemp (tmpl), buf[600], cmd[8192], before[4096];
  char *full = full_spec ();
  struct cmd_result a, b;

  if (!w)
    return 1;
  setenv ("ZLAYER_DATA_DIR", w, 1);
  setenv ("ZLAYER_CGROUP_PARENT", "/zbench", 1);
  snprintf (buf, sizeof buf, "%s/gpucdi", w);
  mkdir (buf, 0755);
  write_gpu_cdi (buf);

  printf ("| measurement | zagent | baseline | ratio |\n|---|---|---|---|\n");
  if (getenv ("ZBENCH_RUN_ONLY"))
    goto run;
  inproc ("small spec", "small.yaml", small_spec, NULL, quick ? 50 : 500);
  inproc ("full-service-sized spec (4 svc)", "full.yaml", full, NULL, quick ? 20 : 200);
  inproc ("8-GPU spec via CDI", "gpu.yaml", gpu_spec, buf, quick ? 20 : 200);

  /* CLI: zagent spec vs runc spec.  */
  snprintf (buf, sizeof buf, "%s/full.yaml", w);
  {
    FILE *f = fopen (buf, "w");
    fputs (full, f);
    fclose (f);
  }
  snprintf (cmd, sizeof cmd, "%s spec -f %s -s svc1 > %s/out.json", zagent, buf, w);
  a = measure (cmd, NULL, quick ? 5 : 31);
  snprintf (cmd, sizeof cmd, "runc spec --bundle %s/runcspec", w);
  snprintf (before, sizeof before, "rm -rf %s/runcspec && mkdir %s/runcspec", w, w);
  b = measure (cmd, before, quick ? 5 : 31);
  row ("CLI `zagent spec` (full-service-sized)", a, "`runc spec`", b);

  /* CDI registries.  */
  for (int n = 10; n <= (quick ? 100 : 10000); n *= 10)
    {
      char dir[700], label[128];
      snprintf (dir, sizeof dir, "%s/reg%d", w, n);
      make_registry (dir, n);
      snprintf (cmd, sizeof cmd, "%s cdi list --cdi-dir %s", zagent, dir);
      a = measure (cmd, NULL, n >= 10000 ? 3 : 5);
      snprintf (cmd, sizeof cmd, "%s --spec-dirs %s --list", oracle, dir);
      b = access (oracle, X_OK) == 0 ? measure (cmd, NULL, n >= 10000 ? 3 : 5) : (struct cmd_result) { 0 };
      snprintf (label, sizeof label, "CDI list, %d files x 8 devices", n);
      row (label, a, "oracle", b);
      snprintf (cmd, sizeof cmd, "mkdir -p %s/ib && printf '{\"ociVersion\":\"1.0.2\",\"process\":{\"env\":[]},\"linux\":{}}' > %s/ib/config.json && %s cdi inject -b %s/ib --cdi-dir %s vendor%d.example.com/dev=d3",
                w, w, zagent, w, dir, n / 2);
      a = measure (cmd, NULL, n >= 10000 ? 3 : 5);
      snprintf (cmd, sizeof cmd, "%s --spec-dirs %s %s/ib/config.json vendor%d.example.com/dev=d3", oracle, dir, w, n / 2);
      b = access (oracle, X_OK) == 0 ? measure (cmd, NULL, n >= 10000 ? 3 : 5) : (struct cmd_result) { 0 };
      snprintf (label, sizeof label, "CDI load+inject, %d files", n);
      row (label, a, "oracle", b);
    }

run:
  if (geteuid () == 0 && system ("command -v runc >/dev/null") == 0)
    run_bench (zagent, w, quick);
  snprintf (cmd, sizeof cmd, "rm -rf %s", w);
  system (cmd);
  free (full);
  return 0;
}
