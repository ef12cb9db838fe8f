/* zagent: the command line over libzagent.  Exit status: 0 ok, 2 invalid
   input (spec, image config, options), 1 system failure.  */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
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
    "  pull     pull an image into the layer store\n"
    "  images   list stored images\n"
    "  rmi      remove stored images\n"
    "  image    image prune [--all]\n"
    "\n"
    "Run 'zagent COMMAND --help' for a command's options. Options may follow operands;\n"
    "'--' ends the options. List commands (ps, cdi list, gpu list) take -q (ids only)\n"
    "and --format json|table (--json = --format json).\n"
    "  -h, --help               show this help\n"
    "  -V, --version            print the version\n"
    "      --log-level LEVEL    error, warn (default), info or debug; on stderr\n"
    "      --debug              --log-level debug\n"
    "  (--log-level and --debug may come before or after COMMAND)\n"
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
  /* issue 11: pull settings (cmd_image.c) */
  OPT_PULL,
  OPT_AUTHFILE,
  OPT_CERT_DIR,
  OPT_TLS_VERIFY,
  OPT_QUIET,
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
  { "pull", required_argument, NULL, OPT_PULL },
  { "authfile", required_argument, NULL, OPT_AUTHFILE },
  { "cert-dir", required_argument, NULL, OPT_CERT_DIR },
  { "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
  { "quiet", no_argument, NULL, OPT_QUIET },
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
  if (cli_log_level < CLI_LOG_WARN && strncmp (prefix, "warning", 7) == 0)
    return;
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

/* ---- option parsing (cli.h) ------------------------------------------ */

/* getopt_long in RETURN_IN_ORDER mode ("-" first): operands come back as
   option 1, in order, whatever POSIXLY_CORRECT says, and `--` stops the
   scan with optind just past it.  That is GNU permutation without
   reordering ARGV, and it tells "--" from an option value "--".  */
int
cli_opts_next (struct cli_opts *p)
{
  int opt;
  if (p->next_ < 0)
    {
      optind = 0; /* glibc: full reinitialisation */
      opterr = 0;
      p->operands = p->argv + 1;
      p->noperands = 0;
      p->next_ = 1;
    }
  for (;;)
    {
      p->next_ = optind > 1 ? optind : 1;
      opt = getopt_long (p->argc, p->argv, p->optstring, p->longopts, NULL);
      p->arg = optarg;
      if (opt != 1)
        break;
      /* Slot 1 + noperands was consumed before this operand: safe.  */
      p->operands[p->noperands++] = optarg;
    }
  if (opt == -1)
    {
      /* Past `--` only when this call consumed it.  */
      p->dashdash = optind > p->next_ && optind <= p->argc && strcmp (p->argv[optind - 1], "--") == 0;
      p->rest = p->argv + (optind < p->argc ? optind : p->argc);
      p->nrest = p->dashdash ? p->argc - optind : 0;
    }
  return opt;
}

int
cli_opts_error (const struct cli_opts *p, int opt)
{
  return cli_bad_option (p->cmd, opt, p->argv);
}

int
cli_list_option (const struct cli_opts *p, int opt, struct cli_list *l)
{
  switch (opt)
    {
    case 'q':
      l->quiet = true;
      return -1;
    case CLI_OPT_JSON:
      l->format = CLI_FORMAT_JSON;
      return -1;
    case CLI_OPT_FORMAT:
      if (strcmp (p->arg, "json") == 0)
        l->format = CLI_FORMAT_JSON;
      else if (strcmp (p->arg, "table") == 0)
        l->format = CLI_FORMAT_TABLE;
      else
        return cli_usage_error (p->cmd, "--format `%s`: expected json or table", p->arg);
      return -1;
    default:
      return 0;
    }
}

int
cli_list_done (const struct cli_opts *p, const struct cli_list *l)
{
  if (l->quiet && l->format == CLI_FORMAT_JSON)
    return cli_usage_error (p->cmd, "%s", "-q and --format json cannot be combined");
  return -1;
}

int
cli_parse_list (const char *cmd, int argc, char **argv, const char *help, struct cli_list *l)
{
  static const struct option longopts[] = { CLI_LIST_LONGOPTS,
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  struct cli_opts p = CLI_OPTS_INIT (cmd, argc, argv, CLI_LIST_SHORTOPTS "h", longopts);
  int opt, r;
  while ((opt = cli_opts_next (&p)) != -1)
    {
      if ((r = cli_list_option (&p, opt, l)) < 0)
        continue;
      if (r > 0)
        return r;
      if (opt == 'h')
        {
          fputs (help, stdout);
          return 0;
        }
      return cli_opts_error (&p, opt);
    }
  if (p.noperands > 0 || p.nrest > 0)
    return cli_usage_error (cmd, "unexpected argument `%s`", p.noperands ? p.operands[0] : p.rest[0]);
  return cli_list_done (&p, l);
}

int
cli_parse_json_only (const char *cmd, int argc, char **argv, const char *help, bool *json)
{
  struct cli_list l = { 0 };
  int r = cli_parse_list (cmd, argc, argv, help, &l);
  *json = l.format == CLI_FORMAT_JSON;
  return r;
}

/* ---- logging ----------------------------------------------------------- */

enum cli_log_level cli_log_level = CLI_LOG_WARN;

void
cli_debug (const char *fmt, ...)
{
  va_list ap;
  if (cli_log_level < CLI_LOG_DEBUG)
    return;
  va_start (ap, fmt);
  fputs ("zagent: debug: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
}

static int
set_log_level (const char *v)
{
  static const char *const names[] = { "error", "warn", "info", "debug" };
  for (int i = 0; i < 4; i++)
    if (strcmp (v, names[i]) == 0)
      {
        cli_log_level = (enum cli_log_level) i;
        return 0;
      }
  fprintf (stderr, "zagent: --log-level `%s`: expected error, warn, info or debug\n", v);
  return -1;
}

/* Take the global options out of ARGV, wherever they are before `--`, so
   that every command (and a new one) gets them without knowing them.
   -1 to go on, else the exit status.  */
static int
take_global_options (int *argc, char **argv)
{
  int out = 1, i = 1;
  for (; i < *argc && strcmp (argv[i], "--") != 0; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--debug") == 0)
        cli_log_level = CLI_LOG_DEBUG;
      else if (strncmp (a, "--log-level=", 12) == 0)
        {
          if (set_log_level (a + 12) < 0)
            return EXIT_INPUT;
        }
      else if (strcmp (a, "--log-level") == 0)
        {
          if (i + 1 >= *argc)
            {
              fputs ("zagent: option `--log-level` needs a value\n", stderr);
              return EXIT_INPUT;
            }
          if (set_log_level (argv[++i]) < 0)
            return EXIT_INPUT;
        }
      else
        argv[out++] = argv[i];
    }
  for (; i < *argc; i++)
    argv[out++] = argv[i];
  argv[out] = NULL;
  *argc = out;
  return -1;
}

/* Parse the options shared by spec, bundle and run.  Returns -1 on
   success, else an exit status.  */
int
cli_parse_build (const char *cmd, int argc, char **argv, struct build_cli *c, bool allow_bundle,
                 const char *usage_head)
{
  zagent_error *err = NULL;
  struct cli_opts p = CLI_OPTS_INIT (cmd, argc, argv, "f:s:r:b:dh", build_longopts);
  int opt, r = 0;
  while ((opt = cli_opts_next (&p)) != -1)
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
            return cli_opts_error (&p, '?');
          if (opt == OPT_RUNTIME)
            c->runtime = optarg;
          else if (opt == OPT_IMAGE)
            c->image = optarg;
          else if (opt == OPT_KEEP)
            c->keep = true;
          else
            c->detach = true;
          break;
        case OPT_PULL:
        case OPT_AUTHFILE:
        case OPT_CERT_DIR:
        case OPT_TLS_VERIFY:
        case OPT_QUIET:
          {
            static const char *const names[] = { "pull", "authfile", "cert-dir", "tls-verify", "quiet" };
            if (!c->run)
              return cli_usage_error (cmd, "unknown option `%s`", argv[optind - 1]);
            r = cli_pull_option (cmd, names[opt - OPT_PULL], optarg, c->o, &err);
            if (r > 0)
              return r;
          }
          break;
        case 'h':
          printf ("%s\n%s", usage_head, usage_build_opts);
          if (allow_bundle)
            printf ("  -b, --bundle DIR         bundle directory (default: <data dir>/bundles/<id>,\n"
                    "                           data dir = $ZLAYER_DATA_DIR, /var/lib/zlayer or ~/.zlayer)\n");
          if (c->run)
            printf ("      --image REF          image: a registry reference, oci:DIR[:TAG] (layer store),\n"
                    "                           or DIR[:TAG] of an existing OCI layout; default: the\n"
                    "                           service's image.name when no --rootfs is given\n"
                    "%s", cli_pull_usage);
          if (c->run)
            printf ("      --runtime NAME|PATH  OCI runtime (default $ZAGENT_RUNTIME, else runc, crun, youki)\n"
                    "  -d, --detach             leave the container running and print its id\n"
                    "      --keep               keep the bundle directory after the container is removed\n");
          return 0;
        default:
          return cli_opts_error (&p, opt);
        }
      if (r < 0)
        return cli_exit_for (err);
    }
  if (p.noperands > 0)
    return cli_usage_error (cmd, "unexpected argument `%s` (put the process args after --)", p.operands[0]);
  /* `--` alone: no args at all (the image's or the spec's are replaced).  */
  if (p.dashdash && zagent_options_set_args (c->o, (const char *const *) p.rest, (size_t) p.nrest, &err) < 0)
    return cli_exit_for (err);
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
  struct cli_opts p = CLI_OPTS_INIT ("check", argc, argv, "f:h", longopts);
  int opt;
  while ((opt = cli_opts_next (&p)) != -1)
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
        return cli_opts_error (&p, opt);
      }
  if (p.noperands > 0 || p.nrest > 0)
    return cli_usage_error ("check", "unexpected argument `%s`", p.noperands ? p.operands[0] : p.rest[0]);
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
  struct cli_opts p = CLI_OPTS_INIT ("cleanup", argc, argv, "b:h", longopts);
  int opt;
  while ((opt = cli_opts_next (&p)) != -1)
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
        return cli_opts_error (&p, opt);
      }
  if (p.noperands > 0 || p.nrest > 0)
    return cli_usage_error ("cleanup", "unexpected argument `%s`", p.noperands ? p.operands[0] : p.rest[0]);
  if (!dir)
    return cli_usage_error ("cleanup", "%s", "missing -b DIR");
  if (zagent_bundle_cleanup (dir, &err) < 0)
    return cli_exit_for (err);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *cmd;
  int r = take_global_options (&argc, argv);
  if (r >= 0)
    return r;
  cmd = argc > 1 ? argv[1] : NULL;
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
  if (!strcmp (cmd, "pull") || !strcmp (cmd, "images") || !strcmp (cmd, "rmi") || !strcmp (cmd, "image"))
    return cli_cmd_image (cmd, argc - 1, argv + 1);
  fprintf (stderr, "zagent: unknown command `%s`\nRun 'zagent --help' for the list of commands.\n", cmd);
  return EXIT_INPUT;
}
