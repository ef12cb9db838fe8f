/* zagent cdi generate | check (issue 14), over the public API.  */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zagent.h"
#include "cli/cli.h"

#ifndef ZAGENT_CDI_HOOK_PATH
#define ZAGENT_CDI_HOOK_PATH "/usr/local/libexec/zagent-cdi-hook"
#endif

static const char usage_generate[] =
    "Usage: zagent cdi generate --vendor nvidia|amd|intel [OPTIONS]\n"
    "Write a CDI spec for this host's GPUs (stdout without -o): one device per GPU,\n"
    "MIG devices (NVIDIA), `all`, the control nodes, and for NVIDIA the driver\n"
    "libraries, binaries and firmware mounted read-only with zagent-cdi-hook\n"
    "createContainer hooks (update-ldcache, create-symlinks, enable-cuda-compat).\n"
    "\n"
    "  -o, --output FILE             write FILE atomically (format from .json/.yaml/.yml)\n"
    "  --format json|yaml            output format (default: from FILE, else json)\n"
    "  --device-name-strategy S      index, uuid or type-index; repeatable\n"
    "                                (default: index and uuid, as nvidia-ctk)\n"
    "  --class gpu|imex-channel      imex-channel: the IMEX channels (nvidia.com/imex-channel)\n"
    "  --no-all-device               no `all` device\n"
    "  --hook-path PATH              the zagent-cdi-hook the spec runs (default: installed one,\n"
    "                                else the one beside this zagent)\n"
    "  --no-hooks                    no hooks; libraries also mounted in the multiarch dir\n"
    "  --refresh                     with -o: rewrite FILE only when the spec changed\n"
    "  --use-nvidia-ctk              delegate to `nvidia-ctk cdi generate`\n";

static const char usage_check[] =
    "Usage: zagent cdi check [FILE|DIR]... [--cdi-dir DIR]... [--json]\n"
    "Compare CDI specs with the live host: device nodes gone or renumbered, mounted\n"
    "host files gone, hook binaries missing. One line per difference; exit 2 when\n"
    "there is any. Default: the CDI spec directories ($CDI_SPEC_DIRS, else /etc/cdi\n"
    "and /var/run/cdi).\n";

/* Hand over to nvidia-ctk (when installed and asked for).  */
static int
run_nvidia_ctk (const char *output)
{
  pid_t pid = fork ();
  int status;
  if (pid < 0)
    {
      fprintf (stderr, "zagent: fork: %s\n", strerror (errno));
      return EXIT_SYSTEM;
    }
  if (pid == 0)
    {
      if (output)
        execlp ("nvidia-ctk", "nvidia-ctk", "cdi", "generate", "--output", output, (char *) NULL);
      else
        execlp ("nvidia-ctk", "nvidia-ctk", "cdi", "generate", (char *) NULL);
      fprintf (stderr, "zagent: cannot run nvidia-ctk: %s\n", strerror (errno));
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return EXIT_SYSTEM;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return EXIT_INPUT;
  fprintf (stderr, "zagent: nvidia-ctk cdi generate failed\n");
  return EXIT_SYSTEM;
}

/* The installed hook, else the one beside this binary (a build tree),
   else the installed path anyway (with a warning: `cdi check` will say
   it is missing).  Caller frees.  */
static char *
default_hook (void)
{
  char self[4096];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  char *p = NULL;
  if (access (ZAGENT_CDI_HOOK_PATH, X_OK) == 0)
    return strdup (ZAGENT_CDI_HOOK_PATH);
  if (n > 0)
    {
      self[n] = '\0';
      if (asprintf (&p, "%s/zagent-cdi-hook", dirname (self)) < 0)
        p = NULL;
      if (p && access (p, X_OK) == 0)
        return p;
      free (p);
    }
  fprintf (stderr, "zagent: warning: %s is not installed; the spec's hooks will fail\n", ZAGENT_CDI_HOOK_PATH);
  return strdup (ZAGENT_CDI_HOOK_PATH);
}

struct gen_cli
{
  const char *vendor, *output, *format, *hook, *cls;
  unsigned flags;
  bool ctk, refresh, no_hooks;
};

static int
parse_generate (int argc, char **argv, struct gen_cli *g)
{
  static const struct option longopts[] = {
    { "vendor", required_argument, NULL, 'v' },       { "output", required_argument, NULL, 'o' },
    { "format", required_argument, NULL, 'f' },       { "device-name-strategy", required_argument, NULL, 's' },
    { "class", required_argument, NULL, 'c' },        { "no-all-device", no_argument, NULL, 'A' },
    { "hook-path", required_argument, NULL, 'k' },    { "no-hooks", no_argument, NULL, 'K' },
    { "refresh", no_argument, NULL, 'r' },            { "use-nvidia-ctk", no_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },               { NULL, 0, NULL, 0 }
  };
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+:o:h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'v': g->vendor = optarg; break;
      case 'o': g->output = optarg; break;
      case 'f': g->format = optarg; break;
      case 'c': g->cls = optarg; break;
      case 'k': g->hook = optarg; break;
      case 'K': g->no_hooks = true; break;
      case 'A': g->flags |= ZAGENT_CDI_GEN_NO_ALL; break;
      case 'r': g->refresh = true; break;
      case 'n': g->ctk = true; break;
      case 's':
        if (!strcmp (optarg, "index"))
          g->flags |= ZAGENT_CDI_GEN_NAME_INDEX;
        else if (!strcmp (optarg, "uuid"))
          g->flags |= ZAGENT_CDI_GEN_NAME_UUID;
        else if (!strcmp (optarg, "type-index"))
          g->flags |= ZAGENT_CDI_GEN_NAME_TYPE_INDEX;
        else
          return cli_usage_error ("cdi generate", "unknown device name strategy `%s` (index, uuid or type-index)",
                                  optarg);
        break;
      case 'h': fputs (usage_generate, stdout); return 0;
      default: return cli_bad_option ("cdi generate", opt, argv);
      }
  if (optind < argc)
    return cli_usage_error ("cdi generate", "unexpected argument `%s`", argv[optind]);
  if (!g->vendor)
    return cli_usage_error ("cdi generate", "%s", "missing --vendor nvidia|amd|intel");
  if (strcmp (g->vendor, "nvidia") && strcmp (g->vendor, "amd") && strcmp (g->vendor, "intel"))
    return cli_usage_error ("cdi generate", "unknown vendor `%s` (nvidia, amd or intel)", g->vendor);
  if (g->cls && strcmp (g->cls, "gpu") && strcmp (g->cls, "imex-channel"))
    return cli_usage_error ("cdi generate", "unknown class `%s` (gpu or imex-channel)", g->cls);
  if (g->cls && !strcmp (g->cls, "imex-channel"))
    g->flags |= ZAGENT_CDI_GEN_IMEX;
  if (g->format && strcmp (g->format, "json") && strcmp (g->format, "yaml"))
    return cli_usage_error ("cdi generate", "unknown format `%s` (json or yaml)", g->format);
  if (g->refresh && !g->output)
    return cli_usage_error ("cdi generate", "%s", "--refresh needs -o FILE");
  if (g->hook && g->hook[0] != '/')
    return cli_usage_error ("cdi generate", "--hook-path `%s` is not absolute", g->hook);
  if (g->format ? !strcmp (g->format, "yaml")
                : g->output && strrchr (g->output, '.')
                      && (!strcmp (strrchr (g->output, '.'), ".yaml") || !strcmp (strrchr (g->output, '.'), ".yml")))
    g->flags |= ZAGENT_CDI_GEN_YAML;
  return -1;
}

int
cli_cmd_cdi_generate (int argc, char **argv)
{
  struct gen_cli g = { 0 };
  zagent_error *err = NULL, *warn = NULL;
  char *text = NULL, *hook = NULL;
  bool changed = false;
  int ret = parse_generate (argc, argv, &g);
  if (ret >= 0)
    return ret;
  if (g.ctk)
    {
      if (strcmp (g.vendor, "nvidia"))
        return cli_usage_error ("cdi generate", "%s", "--use-nvidia-ctk is for --vendor nvidia");
      return run_nvidia_ctk (g.output);
    }
  if (!g.no_hooks && !strcmp (g.vendor, "nvidia") && !(g.flags & ZAGENT_CDI_GEN_IMEX))
    hook = g.hook ? strdup (g.hook) : default_hook ();
  ret = zagent_cdi_generate_ex (g.vendor, NULL, g.flags, hook, &text, &warn, &err);
  free (hook);
  cli_print_warnings (&warn);
  if (ret < 0)
    return cli_exit_for (err);
  if (!g.output)
    {
      puts (text);
      ret = fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
    }
  else if (g.refresh)
    {
      ret = zagent_cdi_spec_refresh (g.output, text, &changed, &err) < 0 ? cli_exit_for (err) : 0;
      if (ret == 0)
        fprintf (stderr, "%s: %s\n", g.output, changed ? "updated" : "unchanged");
    }
  else
    ret = zagent_cdi_spec_write (g.output, text, &err) < 0 ? cli_exit_for (err) : 0;
  free (text);
  return ret;
}

/* The default spec directories that exist.  */
static size_t
default_dirs (char **buf, const char **out, size_t max)
{
  const char *env = getenv ("CDI_SPEC_DIRS");
  size_t n = 0;
  *buf = strdup (env && *env ? env : "/etc/cdi:/var/run/cdi");
  for (char *save = NULL, *d = *buf ? strtok_r (*buf, ":", &save) : NULL; d && n < max; d = strtok_r (NULL, ":", &save))
    if (access (d, F_OK) == 0)
      out[n++] = d;
  return n;
}

int
cli_cmd_cdi_check (int argc, char **argv)
{
  static const struct option longopts[] = { { "cdi-dir", required_argument, NULL, 'd' },
                                             { "json", no_argument, NULL, 'j' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  const char **paths = calloc ((size_t) argc + 64, sizeof *paths);
  char *dbuf = NULL, *report = NULL;
  size_t n = 0;
  bool json = false;
  zagent_error *err = NULL;
  int opt, ret = -1, diffs;
  if (!paths)
    return EXIT_SYSTEM;
  optind = 1;
  opterr = 0;
  while (ret < 0 && (opt = getopt_long (argc, argv, "+:h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'd': paths[n++] = optarg; break;
      case 'j': json = true; break;
      case 'h': fputs (usage_check, stdout); ret = 0; break;
      default: ret = cli_bad_option ("cdi check", opt, argv);
      }
  for (int i = optind; ret < 0 && i < argc; i++)
    paths[n++] = argv[i];
  if (ret < 0 && n == 0)
    n = default_dirs (&dbuf, paths, 64);
  if (ret < 0 && n == 0)
    ret = cli_usage_error ("cdi check", "%s", "no spec file or CDI directory to check");
  if (ret < 0)
    {
      diffs = zagent_cdi_check (paths, n, NULL, &report, &err);
      if (diffs < 0)
        ret = cli_exit_for (err);
      else
        {
          json_t *a = json_loads (report, 0, NULL);
          if (json)
            puts (report);
          else if (diffs == 0)
            puts ("no differences: the specs match the host");
          for (size_t i = 0; !json && i < json_array_size (a); i++)
            {
              json_t *o = json_array_get (a, i);
              const char *dev = json_string_value (json_object_get (o, "device"));
              printf ("%s: %s%s%s\n", json_string_value (json_object_get (o, "file")), dev && *dev ? dev : "",
                      dev && *dev ? ": " : "", json_string_value (json_object_get (o, "message")));
            }
          json_decref (a);
          ret = fflush (stdout) != 0 ? EXIT_SYSTEM : diffs ? EXIT_INPUT : 0;
        }
    }
  free (report);
  free (dbuf);
  free (paths);
  return ret;
}
