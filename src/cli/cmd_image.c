/* zagent pull, images, rmi, image prune: the layer store, in the
   conventions podman users know; and the pull options of run.  */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zagent.h"
#include "cli/cli.h"

const char *const cli_pull_usage
    = "      --pull POLICY        always, newer, if_not_present (default) or never;\n"
      "                           default: the service's image.pull_policy\n"
      "      --authfile FILE      registry credentials (default $REGISTRY_AUTH_FILE,\n"
      "                           $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)\n"
      "      --cert-dir DIR       CA certificates (*.crt) for the registry\n"
      "      --tls-verify[=BOOL]  false: allow plain HTTP and unverified TLS\n"
      "      --quiet              no progress display\n";

int
cli_pull_option (const char *cmd, const char *name, const char *arg, zagent_options *o, zagent_error **err)
{
  if (!strcmp (name, "pull"))
    return zagent_options_set_pull_policy (o, arg, err);
  if (!strcmp (name, "authfile"))
    return zagent_options_set_registry (o, arg, NULL, -2, err);
  if (!strcmp (name, "cert-dir"))
    return zagent_options_set_registry (o, NULL, arg, -2, err);
  if (!strcmp (name, "tls-verify"))
    {
      if (!arg || !strcmp (arg, "true"))
        return zagent_options_set_registry (o, NULL, NULL, 1, err);
      if (!strcmp (arg, "false"))
        return zagent_options_set_registry (o, NULL, NULL, 0, err);
      return cli_usage_error (cmd, "--tls-verify `%s`: expected true or false", arg);
    }
  zagent_options_set_quiet (o, true);
  return 0;
}

static int
cmd_pull (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "authfile", required_argument, NULL, 'a' }, { "cert-dir", required_argument, NULL, 'c' },
    { "tls-verify", optional_argument, NULL, 't' }, { "quiet", no_argument, NULL, 'q' },
    { "pull", required_argument, NULL, 'p' },      { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  static const char *const names[] = { ['a'] = "authfile", ['c'] = "cert-dir", ['t'] = "tls-verify",
                                       ['q'] = "quiet", ['p'] = "pull" };
  zagent_options *o = zagent_options_new ();
  zagent_error *err = NULL, *warn = NULL;
  char *digest = NULL;
  int opt, r, ret;

  if (!o)
    return EXIT_SYSTEM;
  /* pull REF always asks the registry unless --pull says otherwise */
  zagent_options_set_pull_policy (o, "always", NULL);
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+:qh", longopts, NULL)) != -1)
    {
      if (opt == 'h')
        {
          printf ("Usage: zagent pull [options] REF\nPull a registry image (or import oci:DIR[:TAG]) into the layer "
                  "store; print its manifest digest.\n%s",
                  cli_pull_usage);
          zagent_options_free (o);
          return 0;
        }
      if (opt == ':' || opt == '?' || opt >= (int) (sizeof names / sizeof names[0]) || !names[opt])
        {
          zagent_options_free (o);
          return cli_bad_option ("pull", opt, argv);
        }
      r = cli_pull_option ("pull", names[opt], optarg, o, &err);
      if (r != 0)
        {
          zagent_options_free (o);
          return r > 0 ? r : cli_exit_for (err);
        }
    }
  if (optind != argc - 1)
    {
      zagent_options_free (o);
      return cli_usage_error ("pull", "%s", "expected one image reference");
    }
  ret = zagent_image_pull (o, argv[optind], &digest, &warn, &err);
  cli_print_warnings (&warn);
  zagent_options_free (o);
  if (ret < 0)
    return cli_exit_for (err);
  printf ("%s\n", digest);
  free (digest);
  return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

static void
print_size (char *buf, size_t len, double v)
{
  const char *u[] = { "B", "kB", "MB", "GB", "TB" };
  int i = 0;
  while (v >= 1000 && i < 4)
    v /= 1000, i++;
  snprintf (buf, len, i ? "%.3g %s" : "%.0f %s", v, u[i]);
}

static int
cmd_images (int argc, char **argv)
{
  static const struct option longopts[] = { { "json", no_argument, NULL, 'j' },
                                             { "format", required_argument, NULL, 'F' },
                                             { "quiet", no_argument, NULL, 'q' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  zagent_error *err = NULL;
  bool json = false, quiet = false;
  char *text = NULL;
  json_t *arr, *it;
  size_t i;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+:qh", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'j':
        json = true;
        break;
      case 'F':
        if (strcmp (optarg, "json") != 0)
          return cli_usage_error ("images", "--format `%s`: only json is supported", optarg);
        json = true;
        break;
      case 'q':
        quiet = true;
        break;
      case 'h':
        printf ("Usage: zagent images [--json|--format json] [-q]\nImages in the layer store.\n");
        return 0;
      default:
        return cli_bad_option ("images", opt, argv);
      }
  if (optind < argc)
    return cli_usage_error ("images", "unexpected argument `%s`", argv[optind]);
  if (zagent_image_list_json (&text, &err) < 0)
    return cli_exit_for (err);
  if (json)
    {
      puts (text);
      free (text);
      return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
    }
  arr = json_loads (text, 0, NULL);
  free (text);
  if (!quiet)
    printf ("%-50s %-14s %-10s %s\n", "IMAGE", "DIGEST", "SIZE", "CREATED");
  json_array_foreach (arr, i, it)
    {
      const char *d = json_string_value (json_object_get (it, "digest"));
      char size[32], when[32];
      time_t t = (time_t) json_integer_value (json_object_get (it, "created"));
      struct tm tm;
      if (quiet)
        {
          printf ("%.12s\n", d + 7);
          continue;
        }
      print_size (size, sizeof size, (double) json_integer_value (json_object_get (it, "size")));
      strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r (&t, &tm));
      printf ("%-50s %-14.12s %-10s %s\n", json_string_value (json_object_get (it, "name")), d + 7, size, when);
    }
  json_decref (arr);
  return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

static int
cmd_rmi (int argc, char **argv)
{
  static const struct option longopts[] = { { "force", no_argument, NULL, 'f' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  bool force = false;
  int opt, ret = 0;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+fh", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'f':
        force = true;
        break;
      case 'h':
        printf ("Usage: zagent rmi [-f] REF|DIGEST...\nRemove images from the layer store (and the layers no other "
                "image uses);\n-f removes one that a container uses (its layers stay while it runs).\n");
        return 0;
      default:
        return cli_bad_option ("rmi", opt, argv);
      }
  if (optind >= argc)
    return cli_usage_error ("rmi", "%s", "expected an image reference or digest");
  for (int i = optind; i < argc; i++)
    {
      zagent_error *err = NULL;
      if (zagent_image_remove (argv[i], force, &err) < 0)
        {
          int r = cli_exit_for (err);
          if (r == EXIT_SYSTEM || ret == 0)
            ret = r;
        }
      else
        printf ("Untagged: %s\n", argv[i]);
    }
  fflush (stdout);
  return ret;
}

static int
cmd_prune (int argc, char **argv)
{
  static const struct option longopts[] = { { "all", no_argument, NULL, 'a' },
                                             { "force", no_argument, NULL, 'f' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  zagent_error *err = NULL;
  bool all = false;
  char *text = NULL;
  json_t *o, *it;
  size_t i;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+afh", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'a':
        all = true;
        break;
      case 'f':
        break; /* podman asks first; zagent never asks */
      case 'h':
        printf ("Usage: zagent image prune [--all]\nRemove layers and blobs no image uses and temp data of dead pulls;\n"
                "--all also removes every image no container uses.\n");
        return 0;
      default:
        return cli_bad_option ("image prune", opt, argv);
      }
  if (optind < argc)
    return cli_usage_error ("image prune", "unexpected argument `%s`", argv[optind]);
  if (zagent_image_prune (all, &text, &err) < 0)
    return cli_exit_for (err);
  o = json_loads (text, 0, NULL);
  free (text);
  json_array_foreach (json_object_get (o, "removed"), i, it)
    printf ("%s\n", json_string_value (it));
  json_decref (o);
  return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

int
cli_cmd_image (const char *cmd, int argc, char **argv)
{
  if (!strcmp (cmd, "pull"))
    return cmd_pull (argc, argv);
  if (!strcmp (cmd, "images"))
    return cmd_images (argc, argv);
  if (!strcmp (cmd, "rmi"))
    return cmd_rmi (argc, argv);
  /* zagent image SUBCOMMAND */
  if (argc < 2 || !strcmp (argv[1], "-h") || !strcmp (argv[1], "--help"))
    {
      printf ("Usage: zagent image prune [--all] | ls | pull REF | rm REF\n");
      return argc < 2 ? EXIT_INPUT : 0;
    }
  if (!strcmp (argv[1], "prune"))
    return cmd_prune (argc - 1, argv + 1);
  if (!strcmp (argv[1], "ls") || !strcmp (argv[1], "list"))
    return cmd_images (argc - 1, argv + 1);
  if (!strcmp (argv[1], "pull"))
    return cmd_pull (argc - 1, argv + 1);
  if (!strcmp (argv[1], "rm"))
    return cmd_rmi (argc - 1, argv + 1);
  return cli_usage_error ("image", "unknown subcommand `%s`", argv[1]);
}
