/* zagent gpu list, over the public GPU API (include/zagent.h).  */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zagent.h"
#include "cli/cli.h"

static int
cmd_list (int argc, char **argv)
{
  zagent_gpu_list *l = NULL;
  zagent_error *err = NULL;
  struct cli_list o = { 0 };
  const char *root = getenv ("ZAGENT_HOST_ROOT");
  size_t n;
  int ret = cli_parse_list ("gpu list", argc, argv,
                            "Usage: zagent gpu list [-q] [--format json|table] [--json]\n"
                            "The GPUs on this host: vendor, index, device nodes, PCI address, model, driver.\n"
                            "Probes $ZAGENT_HOST_ROOT (default /): /sys/bus/pci, /sys/class/drm, /proc/driver/nvidia, /dev.\n"
                            "  -q, --quiet      PCI addresses only (VENDOR:INDEX without one), one per line\n"
                            "      --format F   json or table (default); --json = --format json\n",
                            &o);
  if (ret >= 0)
    return ret;
  cli_debug ("probing GPUs under `%s`", root && *root ? root : "/");
  if (zagent_gpu_list_load (&l, NULL, &err) < 0)
    return cli_exit_for (err);
  n = zagent_gpu_list_count (l);
  if (o.quiet)
    for (size_t i = 0; i < n; i++)
      {
        const zagent_gpu *g = zagent_gpu_list_get (l, i);
        if (zagent_gpu_pci (g))
          puts (zagent_gpu_pci (g));
        else
          printf ("%s:%u\n", zagent_gpu_vendor (g), zagent_gpu_index (g));
      }
  else if (o.format == CLI_FORMAT_JSON)
    {
      json_t *a = json_array ();
      char *s;
      for (size_t i = 0; i < n; i++)
        {
          const zagent_gpu *g = zagent_gpu_list_get (l, i);
          json_t *nodes = json_array ();
          for (size_t k = 0; k < zagent_gpu_node_count (g); k++)
            json_array_append_new (nodes, json_string (zagent_gpu_node (g, k)));
          json_array_append_new (a, json_pack ("{s:s, s:i, s:s?, s:s?, s:s?, s:s?, s:s?, s:o}", "vendor",
                                               zagent_gpu_vendor (g), "index", (int) zagent_gpu_index (g), "pci",
                                               zagent_gpu_pci (g), "model", zagent_gpu_model (g), "uuid",
                                               zagent_gpu_uuid (g), "driver", zagent_gpu_driver (g),
                                               "driverVersion", zagent_gpu_driver_version (g), "nodes", nodes));
        }
      s = json_dumps (a, JSON_INDENT (2));
      if (s)
        puts (s);
      free (s);
      json_decref (a);
    }
  else if (n == 0)
    fputs ("zagent: no GPUs found\n", stderr); /* a note, not a row of the table */
  else
    {
      printf ("%-8s %-5s %-14s %-32s %-18s %s\n", "VENDOR", "INDEX", "PCI", "MODEL", "DRIVER", "NODES");
      for (size_t i = 0; i < n; i++)
        {
          const zagent_gpu *g = zagent_gpu_list_get (l, i);
          const char *driver = zagent_gpu_driver (g), *version = zagent_gpu_driver_version (g);
          const char *pci = zagent_gpu_pci (g), *model = zagent_gpu_model (g);
          char drv[64];
          snprintf (drv, sizeof drv, "%s%s%s", driver ? driver : "-", version ? " " : "", version ? version : "");
          printf ("%-8s %-5u %-14s %-32s %-18s", zagent_gpu_vendor (g), zagent_gpu_index (g), pci ? pci : "-",
                  model ? model : "-", drv);
          for (size_t k = 0; k < zagent_gpu_node_count (g); k++)
            printf ("%s%s", k ? "," : " ", zagent_gpu_node (g, k));
          putchar ('\n');
        }
    }
  zagent_gpu_list_free (l);
  return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

int
cli_cmd_gpu (int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp (sub, "-h") || !strcmp (sub, "--help"))
    {
      fputs ("Usage: zagent gpu list [-q] [--format json|table]\n", sub ? stdout : stderr);
      return sub ? 0 : EXIT_INPUT;
    }
  if (!strcmp (sub, "list"))
    return cmd_list (argc - 1, argv + 1);
  fprintf (stderr, "zagent gpu: unknown command `%s`\n", sub);
  return EXIT_INPUT;
}
