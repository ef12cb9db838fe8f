/* zagent: the command line over libzagent.  Exit status: 0 ok, 2 invalid
   input (spec, image config, options), 1 system failure.  */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zagent.h"
#include "cli/cli.h"


static const char *const usage_main =
    "Usage: zagent COMMAND [OPTIONS]\n"
    "\n"
    "Turn a ZLayer deployment spec into an OCI runtime bundle.\n"
    "\n"
    "Commands:\n"
    "  spec     print the OCI config.json for a service\n"
    "  bundle   create the bundle directory (config.json, rootfs, resolv.conf)\n"
    "  cleanup  remove a bundle directory\n"
    "  check    validate a deployment spec\n"
    "  run      build the bundle and run it with an OCI runtime (runc, crun, youki)\n"
    "  ps       list containers started with zagent run --detach\n"
    "  stop     stop a container (SIGTERM, then SIGKILL after the grace period)\n"
    "  rm       remove a stopped container (and its bundle)\n"
    "  state    show a container's state as JSON\n"
    "  cdi      Container Device Interface: list, validate, resolve, inject, generate\n"
    "  gpu      list the host's GPUs\n"
    "\n"
    "Run 'zagent COMMAND --help' for a command's options.\n"
    "  -h, --help     show this help\n"
    "  -V, --version  print the version\n"
    "\n"
    "Exit status: 0 ok, 2 invalid input, 1 system failure; run: the container's status,\n"
    "or 125 (zagent or the runtime failed), 126 (cannot execute), 127 (not found).\n";

static const char *const usage_build_opts =
    "  -f, --file FILE          deployment spec ('-' = stdin)\n"
    "  -s, --service NAME       service to build (required if the spec has several)\n"
    "  -r, --replica N          replica number (default 1): container id <service>-rep-<N>\n"
    "      --image-config FILE  OCI image config JSON (blob or its \"config\" object)\n"
    "      --hostname NAME      container hostname (default: spec hostname, else the id)\n"
    "      --cwd DIR            working directory (absolute)\n"
    "      --env KEY=VALUE      extra environment variable (repeatable; wins over the spec)\n"
    "      --host-network       share the host's network namespace\n"
    "      --volume NAME=PATH   prepared volume path (repeatable): NAME is a named volume,\n"
    "                           _anon_<target> or _s3_<bucket>_<prefix>\n"
    "      --socket PATH        host socket to mount read-only at the ZLayer socket path\n"
    "      --secrets-dir DIR    file-backed secrets: DIR/<scope>/<name>,\n"
    "                           DIR/<scope>/<service>/<name> for $S:@service/name\n"
    "      --scope NAME         secrets scope (default: the deployment name)\n"
    "      --rootless           user namespace + uid/gid mappings (default when euid != 0)\n"
    "      --no-rootless        no user namespace (default when euid == 0)\n"
    "      --rootfs DIR         existing root filesystem (root.path = its real path)\n"
    "      --device NAME        CDI device vendor/class=name to inject (repeatable)\n"
    "      --cdi-dir DIR        CDI spec directory (repeatable; later wins). Given any, GPUs\n"
    "                           must resolve through CDI; default $CDI_SPEC_DIRS, else\n"
    "                           /etc/cdi and /var/run/cdi (GPU fallback: passthrough)\n"
    "  -- ARG...                replace the process args\n"
    "  -h, --help               show this help\n";

enum
{
  OPT_IMAGE_CONFIG = 1000,
  OPT_HOSTNAME,
  OPT_CWD,
  OPT_ENV,
  OPT_HOST_NETWORK,
  OPT_VOLUME,
  OPT_SOCKET,
  OPT_SECRETS_DIR,
  OPT_SCOPE,
  OPT_ROOTLESS,
  OPT_NO_ROOTLESS,
  OPT_ROOTFS,
  OPT_DEVICE,
  OPT_CDI_DIR,
  OPT_DETACH,
  OPT_KEEP,
  OPT_RUNTIME,
  OPT_IMAGE,
};

static const struct option build_longopts[] = {
  { "file", required_argument, NULL, 'f' },
  { "service", required_argument, NULL, 's' },
  { "replica", required_argument, NULL, 'r' },
  { "bundle", required_argument, NULL, 'b' },
  { "image-config", required_argument, NULL, OPT_IMAGE_CONFIG },
  { "hostname", required_argument, NULL, OPT_HOSTNAME },
  { "cwd", required_argument, NULL, OPT_CWD },
  { "env", required_argument, NULL, OPT_ENV },
  { "host-network", no_argument, NULL, OPT_HOST_NETWORK },
  { "volume", required_argument, NULL, OPT_VOLUME },
  { "socket", required_argument, NULL, OPT_SOCKET },
  { "secrets-dir", required_argument, NULL, OPT_SECRETS_DIR },
  { "scope", required_argument, NULL, OPT_SCOPE },
  { "rootless", no_argument, NULL, OPT_ROOTLESS },
  { "no-rootless", no_argument, NULL, OPT_NO_ROOTLESS },
  { "rootfs", required_argument, NULL, OPT_ROOTFS },
  { "device", required_argument, NULL, OPT_DEVICE },
  { "cdi-dir", required_argument, NULL, OPT_CDI_DIR },
  { "detach", no_argument, NULL, OPT_DETACH },
  { "keep", no_argument, NULL, OPT_KEEP },
  { "runtime", required_argument, NULL, OPT_RUNTIME },
  { "image", required_argument, NULL, OPT_IMAGE },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

struct error_line
{
  const zagent_error *e;
  size_t idx;
};

static int
cmp_errors (const void *a, const void *b)
{
  const struct error_line *x = a, *y = b;
  const char *fx = zagent_error_file (x->e), *fy = zagent_error_file (y->e);
  int r = strcmp (fx ? fx : "", fy ? fy : "");
  if (r)
    return r;
  /* Within a file, what has no position (a summary such as "N more
     problems not shown") comes after what has one.  */
  if ((zagent_error_line (x->e) == 0) != (zagent_error_line (y->e) == 0))
    return zagent_error_line (x->e) == 0 ? 1 : -1;
  if (zagent_error_line (x->e) != zagent_error_line (y->e))
    return zagent_error_line (x->e) < zagent_error_line (y->e) ? -1 : 1;
  if (zagent_error_column (x->e) != zagent_error_column (y->e))
    return zagent_error_column (x->e) < zagent_error_column (y->e) ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* One line per problem, in file order.  */
void
cli_print_errors (const zagent_error *err, const char *prefix)
{
  size_t n = 0;
  struct error_line *lines;
  for (const zagent_error *e = err; e; e = zagent_error_next (e))
    n++;
  lines = calloc (n ? n : 1, sizeof *lines);
  if (!lines)
    {
      fputs ("zagent: out of memory\n", stderr);
      return;
    }
  n = 0;
  for (const zagent_error *e = err; e; e = zagent_error_next (e), n++)
    lines[n] = (struct error_line) { e, n };
  qsort (lines, n, sizeof *lines, cmp_errors);
  for (size_t i = 0; i < n; i++)
    {
      char *s = zagent_error_format (lines[i].e);
      fprintf (stderr, "%s%s%s\n", prefix, zagent_error_file (lines[i].e) ? "" : "zagent: ",
               s ? s : zagent_error_message (lines[i].e));
      free (s);
    }
  free (lines);
}

int
cli_exit_for (zagent_error *err)
{
  int code = EXIT_INPUT;
  for (const zagent_error *e = err; e; e = zagent_error_next (e))
    if (!zagent_error_is_input (e))
      code = EXIT_SYSTEM;
  cli_print_errors (err, "");
  zagent_error_free (&err);
  return code;
}

int
cli_usage_error (const char *cmd, const char *fmt, const char *arg)
{
  fprintf (stderr, "zagent %s: ", cmd);
  fprintf (stderr, fmt, arg);
  fprintf (stderr, "\nTry 'zagent %s --help'.\n", cmd);
  return EXIT_INPUT;
}

int
cli_bad_option (const char *cmd, int opt, char **argv)
{
  return cli_usage_error (cmd, opt == ':' ? "option `%s` needs a value" : "unknown option `%s`", argv[optind - 1]);
}

int
cli_parse_json_only (const char *cmd, int argc, char **argv, const char *help, bool *json)
{
  static const struct option longopts[] = { { "json", no_argument, NULL, 'j' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'j':
        *json = true;
        break;
      case 'h':
        fputs (help, stdout);
        return 0;
      default:
        return cli_bad_option (cmd, opt, argv);
      }
  if (optind < argc)
    return cli_usage_error (cmd, "unexpected argument `%s`", argv[optind]);
  return -1;
}

/* Parse the options shared by spec, bundle and run.  Returns -1 on
   success, else an exit status.  */
int
cli_parse_build (const char *cmd, int argc, char **argv, struct build_cli *c, bool allow_bundle,
                 const char *usage_head)
{
  zagent_error *err = NULL;
  int opt, r = 0;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, c->run ? "+:f:s:r:b:dh" : "+:f:s:r:b:h", build_longopts, NULL)) != -1)
    {
      switch (opt)
        {
        case 'f':
          c->file = optarg;
          break;
        case 's':
          r = zagent_options_set_service (c->o, optarg, &err);
          break;
        case 'r':
          {
            char *end;
            unsigned long v;
            errno = 0;
            v = strtoul (optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-' || v == 0 || v > UINT_MAX)
              return cli_usage_error (cmd, "--replica `%s`: expected a positive integer", optarg);
            r = zagent_options_set_replica (c->o, (unsigned) v, &err);
          }
          break;
        case 'b':
          if (!allow_bundle)
            return cli_usage_error (cmd, "unknown option `%s`", "-b");
          c->bundle = optarg;
          break;
        case OPT_IMAGE_CONFIG:
          r = zagent_options_set_image_config_file (c->o, optarg, &err);
          break;
        case OPT_HOSTNAME:
          r = zagent_options_set_hostname (c->o, optarg, &err);
          break;
        case OPT_CWD:
          r = zagent_options_set_cwd (c->o, optarg, &err);
          break;
        case OPT_ENV:
          r = zagent_options_add_env (c->o, optarg, &err);
          break;
        case OPT_HOST_NETWORK:
          r = zagent_options_set_host_network (c->o, true, &err);
          break;
        case OPT_VOLUME:
          {
            char *eq = strchr (optarg, '=');
            if (!eq || eq == optarg)
              return cli_usage_error (cmd, "--volume `%s`: expected NAME=PATH", optarg);
            *eq = '\0';
            r = zagent_options_add_volume (c->o, optarg, eq + 1, &err);
            *eq = '=';
          }
          break;
        case OPT_SOCKET:
          r = zagent_options_set_socket (c->o, optarg, &err);
          break;
        case OPT_SECRETS_DIR:
        case OPT_SCOPE:
          {
            if (opt == OPT_SECRETS_DIR)
              c->secrets_dir = optarg;
            else
              c->scope = optarg;
            r = zagent_options_set_secrets (c->o, c->secrets_dir, c->scope, &err);
          }
          break;
        case OPT_ROOTLESS:
          r = zagent_options_set_rootless (c->o, 1, &err);
          break;
        case OPT_NO_ROOTLESS:
          r = zagent_options_set_rootless (c->o, 0, &err);
          break;
        case OPT_ROOTFS:
          r = zagent_options_set_rootfs (c->o, optarg, &err);
          break;
        case OPT_DEVICE:
          r = zagent_options_add_device (c->o, optarg, &err);
          break;
        case OPT_CDI_DIR:
          r = zagent_options_add_cdi_dir (c->o, optarg, &err);
          break;
        case 'd':
        case OPT_DETACH:
        case OPT_KEEP:
        case OPT_RUNTIME:
        case OPT_IMAGE:
          if (!c->run)
            return cli_usage_error (cmd, "unknown option `%s`", argv[optind - 1]);
          if (opt == OPT_RUNTIME)
            c->runtime = optarg;
          else if (opt == OPT_IMAGE)
            c->image = optarg;
          else if (opt == OPT_KEEP)
            c->keep = true;
          else
            c->detach = true;
          break;
        case 'h':
          printf ("%s\n%s", usage_head, usage_build_opts);
          if (allow_bundle)
            printf ("  -b, --bundle DIR         bundle directory (default: <data dir>/bundles/<id>,\n"
                    "                           data dir = $ZLAYER_DATA_DIR, /var/lib/zlayer or ~/.zlayer)\n");
          if (c->run)
            printf ("      --image DIR[:TAG]    OCI image layout: rootfs (cached by manifest digest) and config\n"
                    "      --runtime NAME|PATH  OCI runtime (default $ZAGENT_RUNTIME, else runc, crun, youki)\n"
                    "  -d, --detach             leave the container running and print its id\n"
                    "      --keep               keep the bundle directory after the container is removed\n");
          return 0;
        default:
          return cli_bad_option (cmd, opt, argv);
        }
      if (r < 0)
        return cli_exit_for (err);
    }
  if (optind < argc)
    {
      if (strcmp (argv[optind - 1], "--") != 0)
        return cli_usage_error (cmd, "unexpected argument `%s` (put the process args after --)", argv[optind]);
      if (zagent_options_set_args (c->o, (const char *const *) argv + optind, (size_t) (argc - optind), &err) < 0)
        return cli_exit_for (err);
    }
  else if (optind > 1 && strcmp (argv[optind - 1], "--") == 0)
    {
      if (zagent_options_set_args (c->o, NULL, 0, &err) < 0)
        return cli_exit_for (err);
    }
  if (!c->file)
    return cli_usage_error (cmd, "%s", "missing -f FILE");
  return -1;
}

void
cli_print_warnings (zagent_error **w)
{
  if (*w)
    cli_print_errors (*w, "warning: ");
  zagent_error_free (w);
}

static int
cmd_spec_or_bundle (int argc, char **argv, bool bundle)
{
  const char *cmd = bundle ? "bundle" : "spec";
  struct build_cli c = { 0 };
  zagent_spec *spec = NULL;
  zagent_error *err = NULL, *warn = NULL;
  char *out = NULL;
  size_t len = 0;
  int ret;

  c.o = zagent_options_new ();
  if (!c.o)
    {
      fputs ("zagent: out of memory\n", stderr);
      return EXIT_SYSTEM;
    }
  ret = cli_parse_build (cmd, argc, argv, &c, bundle,
                     bundle ? "Usage: zagent bundle -f FILE [-s SERVICE] [-b DIR] [--rootfs DIR] [options] [-- ARG...]\n"
                              "Create the OCI bundle and print its path."
                            : "Usage: zagent spec -f FILE [-s SERVICE] [options] [-- ARG...]\n"
                              "Print the OCI config.json for a service.");
  if (ret >= 0)
    goto out;
  if (zagent_spec_load_file (&spec, c.file, &err) < 0)
    {
      ret = cli_exit_for (err);
      goto out;
    }
  if (bundle)
    {
      if (zagent_bundle_create (spec, c.o, c.bundle, &out, &warn, &err) < 0)
        {
          cli_print_warnings (&warn);
          ret = cli_exit_for (err);
          goto out;
        }
      cli_print_warnings (&warn);
      printf ("%s\n", out);
    }
  else
    {
      if (zagent_config_generate (spec, c.o, NULL, &out, &len, &warn, &err) < 0)
        {
          cli_print_warnings (&warn);
          ret = cli_exit_for (err);
          goto out;
        }
      cli_print_warnings (&warn);
      fwrite (out, 1, len, stdout);
      fputc ('\n', stdout);
    }
  ret = fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
out:
  free (out);
  zagent_spec_free (spec);
  zagent_options_free (c.o);
  return ret;
}

static int
cmd_check (int argc, char **argv)
{
  static const struct option longopts[] = { { "file", required_argument, NULL, 'f' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  const char *file = NULL;
  zagent_spec *spec = NULL;
  zagent_error *err = NULL;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+:f:h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'f':
        file = optarg;
        break;
      case 'h':
        printf ("Usage: zagent check -f FILE\n"
                "Validate a deployment spec; each problem is printed as FILE:LINE:COL: message.\n"
                "  -f, --file FILE  deployment spec ('-' = stdin)\n"
                "  -h, --help       show this help\n");
        return 0;
      default:
        return cli_bad_option ("check", opt, argv);
      }
  if (optind < argc)
    return cli_usage_error ("check", "unexpected argument `%s`", argv[optind]);
  if (!file)
    return cli_usage_error ("check", "%s", "missing -f FILE");
  if (zagent_spec_load_file (&spec, file, &err) < 0)
    return cli_exit_for (err);
  if (zagent_spec_validate (spec, &err) < 0)
    {
      zagent_spec_free (spec);
      return cli_exit_for (err);
    }
  zagent_spec_free (spec);
  return 0;
}

static int
cmd_cleanup (int argc, char **argv)
{
  static const struct option longopts[] = { { "bundle", required_argument, NULL, 'b' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  const char *dir = NULL;
  zagent_error *err = NULL;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+:b:h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'b':
        dir = optarg;
        break;
      case 'h':
        printf ("Usage: zagent cleanup -b DIR\n"
                "Remove a bundle directory (refuses symlinks and directories without config.json).\n"
                "  -b, --bundle DIR  bundle directory\n"
                "  -h, --help        show this help\n");
        return 0;
      default:
        return cli_bad_option ("cleanup", opt, argv);
      }
  if (optind < argc)
    return cli_usage_error ("cleanup", "unexpected argument `%s`", argv[optind]);
  if (!dir)
    return cli_usage_error ("cleanup", "%s", "missing -b DIR");
  if (zagent_bundle_cleanup (dir, &err) < 0)
    return cli_exit_for (err);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *cmd = argc > 1 ? argv[1] : NULL;
  if (!cmd)
    {
      fputs (usage_main, stderr);
      return EXIT_INPUT;
    }
  if (!strcmp (cmd, "-h") || !strcmp (cmd, "--help") || !strcmp (cmd, "help"))
    {
      fputs (usage_main, stdout);
      return 0;
    }
  if (!strcmp (cmd, "-V") || !strcmp (cmd, "--version") || !strcmp (cmd, "version"))
    {
      printf ("zagent %s\n", zagent_version ());
      return 0;
    }
  if (!strcmp (cmd, "spec"))
    return cmd_spec_or_bundle (argc - 1, argv + 1, false);
  if (!strcmp (cmd, "bundle"))
    return cmd_spec_or_bundle (argc - 1, argv + 1, true);
  if (!strcmp (cmd, "check"))
    return cmd_check (argc - 1, argv + 1);
  if (!strcmp (cmd, "cleanup"))
    return cmd_cleanup (argc - 1, argv + 1);
  if (!strcmp (cmd, "cdi"))
    return cli_cmd_cdi (argc - 1, argv + 1);
  if (!strcmp (cmd, "gpu"))
    return cli_cmd_gpu (argc - 1, argv + 1);
  if (!strcmp (cmd, "run"))
    return cli_cmd_run (argc - 1, argv + 1);
  if (!strcmp (cmd, "ps"))
    return cli_cmd_ps (argc - 1, argv + 1);
  if (!strcmp (cmd, "stop"))
    return cli_cmd_stop (argc - 1, argv + 1);
  if (!strcmp (cmd, "rm"))
    return cli_cmd_rm (argc - 1, argv + 1);
  if (!strcmp (cmd, "state"))
    return cli_cmd_state (argc - 1, argv + 1);
  fprintf (stderr, "zagent: unknown command `%s`\nRun 'zagent --help' for the list of commands.\n", cmd);
  return EXIT_INPUT;
}
