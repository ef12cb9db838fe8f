/* zagent gpu list; zagent cdi generate  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "gpu/gpu.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int
cmd_list (int argc, char **argv)
{
  struct za_host h = za_host_default ();
  struct za_gpu_list l;
  struct za_err *err = NULL;
  bool json = false;
  int ret = cli_parse_json_only ("gpu list", argc, argv,
                                 "Usage: zagent gpu list [--json]\n"
                                 "The GPUs on this host: vendor, index, device nodes, PCI address, model, driver.\n"
                                 "Probes $ZAGENT_HOST_ROOT (default /): /sys/bus/pci, /sys/class/drm, /proc/driver/nvidia, /dev.\n",
                                 &json);
  if (ret >= 0)
    return ret;
  if (za_gpu_detect (&h, &l, &err) < 0)
    return cli_exit_for (err);
  if (json)
    {
      json_t *a = json_array ();
      char *s;
      for (size_t i = 0; i < l.n; i++)
        {
          const struct za_gpu_info *g = &l.v[i];
          json_t *nodes = json_array ();
          for (size_t k = 0; k < g->nodes.n; k++)
            json_array_append_new (nodes, json_string (g->nodes.v[k]));
          json_array_append_new (a, json_pack ("{s:s, s:i, s:s?, s:s?, s:s?, s:s?, s:s?, s:o}", "vendor",
                                               za_gpu_vendor_name (g->vendor), "index", (int) g->index, "pci",
                                               g->pci, "model", g->model, "uuid", g->uuid, "driver", g->driver,
                                               "driverVersion", g->driver_version, "nodes", nodes));
        }
      s = json_dumps (a, JSON_INDENT (2));
      if (s)
        puts (s);
      free (s);
      json_decref (a);
    }
  else if (l.n == 0)
    puts ("no GPUs found");
  else
    {
      printf ("%-8s %-5s %-14s %-32s %-18s %s\n", "VENDOR", "INDEX", "PCI", "MODEL", "DRIVER", "NODES");
      for (size_t i = 0; i < l.n; i++)
        {
          const struct za_gpu_info *g = &l.v[i];
          char drv[64];
          snprintf (drv, sizeof drv, "%s%s%s", g->driver ? g->driver : "-", g->driver_version ? " " : "",
                    g->driver_version ? g->driver_version : "");
          printf ("%-8s %-5u %-14s %-32s %-18s", za_gpu_vendor_name (g->vendor), g->index, g->pci ? g->pci : "-",
                  g->model ? g->model : "-", drv);
          for (size_t k = 0; k < g->nodes.n; k++)
            printf ("%s%s", k ? "," : " ", g->nodes.v[k]);
          putchar ('\n');
        }
    }
  za_gpu_list_clear (&l);
  return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

int
cli_cmd_gpu (int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp (sub, "-h") || !strcmp (sub, "--help"))
    {
      fputs ("Usage: zagent gpu list [--json]\n", sub ? stdout : stderr);
      return sub ? 0 : EXIT_INPUT;
    }
  if (!strcmp (sub, "list"))
    return cmd_list (argc - 1, argv + 1);
  fprintf (stderr, "zagent gpu: unknown command `%s`\n", sub);
  return EXIT_INPUT;
}

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

int
cli_cdi_generate (int argc, char **argv)
{
  static const struct option longopts[] = { { "vendor", required_argument, NULL, 'v' },
                                             { "output", required_argument, NULL, 'o' },
                                             { "use-nvidia-ctk", no_argument, NULL, 'n' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  const char *vendor = NULL, *output = NULL;
  bool ctk = false;
  struct za_host h = za_host_default ();
  struct za_err *err = NULL, *warn = NULL;
  json_t *spec = NULL;
  cleanup_free char *text = NULL;
  enum za_gpu_vendor v;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+:o:h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'v':
        vendor = optarg;
        break;
      case 'o':
        output = optarg;
        break;
      case 'n':
        ctk = true;
        break;
      case 'h':
        printf ("Usage: zagent cdi generate --vendor nvidia|amd|intel [-o FILE] [--use-nvidia-ctk]\n"
                "Write a CDI spec for this host's GPUs (stdout without -o): one device per GPU\n"
                "(0, 1, ..., NVIDIA also by UUID) and `all`, the control nodes, and for NVIDIA the\n"
                "driver libraries, binaries and firmware mounted read-only. No vendor tool needed;\n"
                "--use-nvidia-ctk delegates to `nvidia-ctk cdi generate`.\n");
        return 0;
      default:
        return cli_bad_option ("cdi generate", opt, argv);
      }
  if (optind < argc)
    return cli_usage_error ("cdi generate", "unexpected argument `%s`", argv[optind]);
  if (!vendor)
    return cli_usage_error ("cdi generate", "%s", "missing --vendor nvidia|amd|intel");
  v = za_gpu_vendor_parse (vendor);
  if (v == ZA_GPU_OTHER)
    return cli_usage_error ("cdi generate", "unknown vendor `%s` (nvidia, amd or intel)", vendor);
  if (ctk)
    {
      if (v != ZA_GPU_NVIDIA)
        return cli_usage_error ("cdi generate", "%s", "--use-nvidia-ctk is for --vendor nvidia");
      return run_nvidia_ctk (output);
    }
  if (za_gpu_cdi_generate (&h, v, &spec, &warn, &err) < 0)
    {
      if (warn)
        cli_print_errors (warn, "warning: ");
      za_err_free (&warn);
      return cli_exit_for (err);
    }
  if (warn)
    cli_print_errors (warn, "warning: ");
  za_err_free (&warn);
  text = json_dumps (spec, JSON_INDENT (2));
  json_decref (spec);
  if (!text)
    {
      fputs ("zagent: out of memory\n", stderr);
      return EXIT_SYSTEM;
    }
  if (!output)
    {
      puts (text);
      return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
    }
  {
    cleanup_free char *copy = strdup (output), *copy2 = strdup (output);
    cleanup_close int dfd = -1;
    size_t len = strlen (text);
    if (!copy || !copy2)
      return EXIT_SYSTEM;
    dfd = open (dirname (copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
      {
        za_err_set (&err, errno == ENOENT ? ZA_EINPUT : errno, "open directory of `%s`: %s", output, strerror (errno));
        return cli_exit_for (err);
      }
    text[len] = '\n';
    if (za_write_file_atomic_at (dfd, basename (copy2), text, len + 1, 0644, &err) < 0)
      return cli_exit_for (err);
  }
  return 0;
}
