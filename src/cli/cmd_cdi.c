/* zagent cdi list | validate | resolve | inject | generate, over the
   public CDI API (include/zagent.h).  */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zagent.h"
#include "cli/cli.h"

static const char *const usage_cdi =
    "Usage: zagent cdi COMMAND [OPTIONS]\n"
    "\n"
    "Container Device Interface (CDI 0.1.0 - 1.1.0).\n"
    "\n"
    "  list     [--cdi-dir DIR]... [-q] [--format json|table]\n"
    "                                              every resolvable device; each broken file on\n"
    "                                              stderr (exit 2 when any file failed)\n"
    "  validate FILE...                            check spec files; one line per problem\n"
    "  resolve  [--cdi-dir DIR]... NAME...         the merged container edits as JSON\n"
    "  inject   -b BUNDLE [--cdi-dir DIR]... NAME... apply devices to BUNDLE/config.json\n"
    "  generate --vendor nvidia|amd|intel [-o FILE] [OPTIONS]\n"
    "                                              a CDI spec for this host's GPUs (--help)\n"
    "  check    [FILE|DIR]... [--cdi-dir DIR]... [--json]\n"
    "                                              specs against the live host; exit 2 if stale\n"
    "\n"
    "  --cdi-dir DIR  spec directory (repeatable, later wins); default $CDI_SPEC_DIRS\n"
    "                 (':'-separated), else /etc/cdi then /var/run/cdi\n"
    "  NAME           a qualified device name: vendor/class=name\n";

struct cdi_cli
{
  const char **dirs; /* into argv */
  size_t ndirs;
  const char *bundle;
  struct cli_list list;
  char **names; /* the operands (options may follow them), into argv */
  int nnames;
};

static int
parse (const char *cmd, int argc, char **argv, struct cdi_cli *c, bool allow_bundle, bool allow_list)
{
  static const struct option longopts[] = { { "cdi-dir", required_argument, NULL, 'd' },
                                             { "bundle", required_argument, NULL, 'b' },
                                             CLI_LIST_LONGOPTS,
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  struct cli_opts p = CLI_OPTS_INIT (cmd, argc, argv, "b:h" CLI_LIST_SHORTOPTS, longopts);
  int opt, r;
  /* Every --cdi-dir is one of ARGC words at most.  */
  c->dirs = calloc ((size_t) argc + 1, sizeof *c->dirs);
  if (!c->dirs)
    {
      fputs ("zagent: out of memory\n", stderr);
      return EXIT_SYSTEM;
    }
  while ((opt = cli_opts_next (&p)) != -1)
    {
      if (allow_list && (r = cli_list_option (&p, opt, &c->list)) != 0)
        {
          if (r > 0)
            return r;
          continue;
        }
      switch (opt)
        {
        case 'd':
          c->dirs[c->ndirs++] = optarg;
          break;
        case 'b':
          if (!allow_bundle)
            return cli_opts_error (&p, '?');
          c->bundle = optarg;
          break;
        case 'h':
          fputs (usage_cdi, stdout);
          return 0;
        default:
          return cli_opts_error (&p, opt == ':' ? ':' : '?');
        }
    }
  /* Names and files after `--` too (one that starts with '-').  */
  for (int i = 0; i < p.nrest; i++)
    p.operands[p.noperands++] = p.rest[i];
  c->names = p.operands;
  c->nnames = p.noperands;
  return allow_list ? cli_list_done (&p, &c->list) : -1;
}

static void
list_json (const zagent_cdi_registry *reg, const zagent_error *warn)
{
  json_t *o = json_object (), *devs = json_array (), *errs = json_array (), *d = json_array ();
  char *s;
  for (size_t i = 0; i < zagent_cdi_registry_dir_count (reg); i++)
    json_array_append_new (d, json_string (zagent_cdi_registry_dir (reg, i)));
  for (size_t i = 0; i < zagent_cdi_registry_device_count (reg); i++)
    json_array_append_new (devs, json_pack ("{s:s, s:s, s:i}", "name", zagent_cdi_registry_device_name (reg, i),
                                            "spec", zagent_cdi_registry_device_spec (reg, i), "priority",
                                            zagent_cdi_registry_device_priority (reg, i)));
  for (const zagent_error *e = warn; e; e = zagent_error_next (e))
    {
      char *line = zagent_error_format (e);
      const char *msg = zagent_error_message (e);
      json_t *eo = json_pack ("{s:s?, s:i, s:i, s:s, s:s}", "file", zagent_error_file (e), "line",
                              (int) zagent_error_line (e), "column", (int) zagent_error_column (e), "message", msg,
                              "error", line ? line : msg);
      free (line);
      json_array_append_new (errs, eo);
    }
  json_object_set_new (o, "dirs", d);
  json_object_set_new (o, "devices", devs);
  json_object_set_new (o, "errors", errs);
  s = json_dumps (o, JSON_INDENT (2));
  if (s)
    puts (s);
  free (s);
  json_decref (o);
}

/* One line per problem on stderr; the exit status when any spec file
   failed to load or conflicted (2: a CDI spec is input, docs/errors.md;
   1 when reading failed for a system reason), else 0.  */
static int
list_status (zagent_error **warn)
{
  int ret = 0;
  if (*warn)
    {
      cli_print_errors (*warn, "");
      ret = EXIT_INPUT;
      for (const zagent_error *e = *warn; e; e = zagent_error_next (e))
        if (!zagent_error_is_input (e))
          ret = EXIT_SYSTEM;
    }
  zagent_error_free (warn);
  return ret;
}

static int
cmd_list (int argc, char **argv)
{
  struct cdi_cli c = { 0 };
  zagent_cdi_registry *reg = NULL;
  zagent_error *err = NULL, *warn = NULL;
  int ret = parse ("cdi list", argc, argv, &c, false, true);
  if (ret < 0 && c.nnames > 0)
    ret = cli_usage_error ("cdi list", "unexpected argument `%s`", c.names[0]);
  if (ret < 0 && zagent_cdi_registry_load (&reg, c.dirs, c.ndirs, &warn, &err) < 0)
    ret = cli_exit_for (err);
  free (c.dirs);
  if (ret >= 0)
    return ret;
  for (size_t i = 0; i < zagent_cdi_registry_dir_count (reg); i++)
    cli_debug ("CDI spec dir `%s`", zagent_cdi_registry_dir (reg, i));
  /* The good devices are listed even when some file failed (-q and the
     table are the same: one name per line).  */
  if (c.list.format == CLI_FORMAT_JSON)
    list_json (reg, warn);
  else
    for (size_t i = 0; i < zagent_cdi_registry_device_count (reg); i++)
      puts (zagent_cdi_registry_device_name (reg, i));
  zagent_cdi_registry_free (reg);
  if (fflush (stdout) != 0)
    {
      zagent_error_free (&warn);
      return EXIT_SYSTEM;
    }
  return list_status (&warn);
}

static int
cmd_validate (int argc, char **argv)
{
  struct cdi_cli c = { 0 };
  zagent_error *all = NULL;
  int ret = parse ("cdi validate", argc, argv, &c, false, false);
  free (c.dirs);
  if (ret >= 0)
    return ret;
  if (c.nnames == 0)
    return cli_usage_error ("cdi validate", "%s", "missing FILE");
  for (int i = 0; i < c.nnames; i++)
    {
      zagent_cdi_spec *s = NULL;
      size_t n;
      if (zagent_cdi_spec_load (&s, c.names[i], &all) < 0)
        continue;
      n = zagent_cdi_spec_device_count (s);
      printf ("%s: valid (cdiVersion %s, kind %s, %zu device%s)\n", c.names[i], zagent_cdi_spec_version (s),
              zagent_cdi_spec_kind (s), n, n == 1 ? "" : "s");
      zagent_cdi_spec_free (s);
    }
  fflush (stdout);
  return all ? cli_exit_for (all) : 0;
}

/* The first NAME that is not a qualified CDI device name: its error.  */
static int
check_names (const char *cmd, const struct cdi_cli *c)
{
  zagent_error *err = NULL;
  if (c->nnames == 0)
    return cli_usage_error (cmd, "%s", "missing NAME (vendor/class=name)");
  for (int i = 0; i < c->nnames; i++)
    if (zagent_cdi_name_check (c->names[i], &err) < 0)
      return cli_exit_for (err);
  return -1;
}

static int
cmd_resolve (int argc, char **argv)
{
  struct cdi_cli c = { 0 };
  zagent_cdi_registry *reg = NULL;
  zagent_error *err = NULL, *warn = NULL;
  char *s = NULL;
  int ret = parse ("cdi resolve", argc, argv, &c, false, false);
  if (ret < 0)
    ret = check_names ("cdi resolve", &c);
  if (ret < 0 && zagent_cdi_registry_load (&reg, c.dirs, c.ndirs, &warn, &err) < 0)
    ret = cli_exit_for (err);
  free (c.dirs);
  if (ret >= 0)
    return ret;
  for (size_t i = 0; i < zagent_cdi_registry_dir_count (reg); i++)
    cli_debug ("CDI spec dir `%s`", zagent_cdi_registry_dir (reg, i));
  cli_print_warnings (&warn); /* broken files, conflicts */
  if (zagent_cdi_resolve (reg, (const char *const *) c.names, (size_t) c.nnames, &s, &err) < 0)
    ret = cli_exit_for (err);
  else
    {
      puts (s);
      ret = fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
    }
  free (s);
  zagent_cdi_registry_free (reg);
  return ret;
}

static int
cmd_inject (int argc, char **argv)
{
  struct cdi_cli c = { 0 };
  zagent_error *err = NULL, *warn = NULL;
  int ret = parse ("cdi inject", argc, argv, &c, true, false);

  if (ret < 0 && !c.bundle)
    ret = cli_usage_error ("cdi inject", "%s", "missing -b BUNDLE");
  if (ret < 0 && c.nnames == 0)
    ret = cli_usage_error ("cdi inject", "%s", "missing NAME (vendor/class=name)");
  if (ret < 0)
    {
      ret = zagent_cdi_inject_bundle (c.bundle, (const char *const *) c.names, (size_t) c.nnames,
                                      c.dirs, c.ndirs, 0, &warn, &err);
      cli_print_warnings (&warn); /* broken files, conflicts */
      ret = ret < 0 ? cli_exit_for (err) : 0;
    }
  free (c.dirs);
  return ret;
}

int
cli_cmd_cdi (int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (!sub || !strcmp (sub, "-h") || !strcmp (sub, "--help"))
    {
      fputs (usage_cdi, sub ? stdout : stderr);
      return sub ? 0 : EXIT_INPUT;
    }
  if (!strcmp (sub, "list"))
    return cmd_list (argc - 1, argv + 1);
  if (!strcmp (sub, "validate"))
    return cmd_validate (argc - 1, argv + 1);
  if (!strcmp (sub, "resolve"))
    return cmd_resolve (argc - 1, argv + 1);
  if (!strcmp (sub, "inject"))
    return cmd_inject (argc - 1, argv + 1);
  if (!strcmp (sub, "generate"))
    return cli_cmd_cdi_generate (argc - 1, argv + 1);
  if (!strcmp (sub, "check"))
    return cli_cmd_cdi_check (argc - 1, argv + 1);
  fprintf (stderr, "zagent cdi: unknown command `%s`\n%s", sub, usage_cdi);
  return EXIT_INPUT;
}
