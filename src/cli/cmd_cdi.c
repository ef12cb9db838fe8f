/* zagent cdi list | validate | resolve | inject  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdi/cdi.h"
#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

static const char *const usage_cdi =
    "Usage: zagent cdi COMMAND [OPTIONS]\n"
    "\n"
    "Container Device Interface (CDI 0.1.0 - 1.1.0).\n"
    "\n"
    "  list     [--cdi-dir DIR]... [--json]        every resolvable device, plus each broken file\n"
    "  validate FILE...                            check spec files; one line per problem\n"
    "  resolve  [--cdi-dir DIR]... NAME...         the merged container edits as JSON\n"
    "  inject   -b BUNDLE [--cdi-dir DIR]... NAME... apply devices to BUNDLE/config.json\n"
    "  generate --vendor nvidia|amd|intel [-o FILE] [--use-nvidia-ctk]\n"
    "                                              a CDI spec for this host's GPUs\n"
    "\n"
    "  --cdi-dir DIR  spec directory (repeatable, later wins); default $CDI_SPEC_DIRS\n"
    "                 (':'-separated), else /etc/cdi then /var/run/cdi\n"
    "  NAME           a qualified device name: vendor/class=name\n";

struct cdi_cli
{
  struct za_strv dirs;
  const char *bundle;
  bool json;
};

static int
parse (const char *cmd, int argc, char **argv, struct cdi_cli *c, bool allow_bundle, bool allow_json)
{
  static const struct option longopts[] = { { "cdi-dir", required_argument, NULL, 'd' },
                                             { "bundle", required_argument, NULL, 'b' },
                                             { "json", no_argument, NULL, 'j' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, "+:b:h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'd':
        if (za_strv_push (&c->dirs, optarg) < 0)
          return EXIT_SYSTEM;
        break;
      case 'b':
        if (!allow_bundle)
          return cli_usage_error (cmd, "unknown option `%s`", "-b");
        c->bundle = optarg;
        break;
      case 'j':
        if (!allow_json)
          return cli_usage_error (cmd, "unknown option `%s`", "--json");
        c->json = true;
        break;
      case 'h':
        fputs (usage_cdi, stdout);
        return 0;
      default:
        return cli_bad_option (cmd, opt, argv);
      }
  return -1;
}

static void
print_registry_errors (const struct za_cdi_registry *r)
{
  if (r->errors)
    cli_print_errors (r->errors, "warning: ");
}

static int
cmd_list (int argc, char **argv)
{
  cleanup_strv struct za_strv dirs = { 0 };
  struct cdi_cli c = { 0 };
  struct za_cdi_registry *reg = NULL;
  struct za_err *err = NULL;
  int ret = parse ("cdi list", argc, argv, &c, false, true);
  dirs = c.dirs;
  if (ret >= 0)
    return ret;
  if (optind < argc)
    return cli_usage_error ("cdi list", "unexpected argument `%s`", argv[optind]);
  if (za_cdi_registry_load ((const char *const *) dirs.v, dirs.n, &reg, &err) < 0)
    return cli_exit_for (err);
  if (c.json)
    {
      json_t *o = json_object (), *devs = json_array (), *errs = json_array (), *d = json_array ();
      char *s;
      for (size_t i = 0; i < reg->ndirs; i++)
        json_array_append_new (d, json_string (reg->dirs[i]));
      for (size_t i = 0; i < reg->ndevs; i++)
        json_array_append_new (devs, json_pack ("{s:s, s:s, s:i}", "name", reg->devs[i].qname, "spec",
                                                reg->devs[i].file->path, "priority",
                                                reg->devs[i].file->priority));
      for (const struct za_err *e = reg->errors; e; e = e->next)
        {
          char *line = za_err_format (e);
          json_t *eo = json_pack ("{s:s?, s:i, s:i, s:s, s:s}", "file", e->file, "line", (int) e->line,
                                  "column", (int) e->col, "message", e->msg, "error", line ? line : e->msg);
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
  else
    {
      for (size_t i = 0; i < reg->ndevs; i++)
        puts (reg->devs[i].qname);
      print_registry_errors (reg);
    }
  za_cdi_registry_free (reg);
  return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

static int
cmd_validate (int argc, char **argv)
{
  struct cdi_cli c = { 0 };
  struct za_err *all = NULL;
  int ret = parse ("cdi validate", argc, argv, &c, false, false);
  za_strv_clear (&c.dirs);
  if (ret >= 0)
    return ret;
  if (optind >= argc)
    return cli_usage_error ("cdi validate", "%s", "missing FILE");
  for (int i = optind; i < argc; i++)
    {
      struct za_cdi_file *f = NULL;
      struct za_err *e = NULL;
      if (za_cdi_file_load (argv[i], 0, &f, &e) < 0)
        {
          /* name the file even for errors that came without one */
          for (struct za_err *x = e; x; x = x->next)
            if (!x->file)
              x->file = strdup (argv[i]);
          za_err_append (&all, &e);
          continue;
        }
      printf ("%s: valid (cdiVersion %s, kind %s, %zu device%s)\n", argv[i], f->spec.cdi_version.s,
              f->spec.kind.s, f->spec.devices.n, f->spec.devices.n == 1 ? "" : "s");
      za_cdi_file_free (f);
    }
  fflush (stdout);
  return all ? cli_exit_for (all) : 0;
}

static int
load_and_resolve (const char *cmd, struct cdi_cli *c, int argc, char **argv,
                  struct za_cdi_registry **reg, struct za_cdi_plan *plan, struct za_err **err)
{
  if (optind >= argc)
    return cli_usage_error (cmd, "%s", "missing NAME (vendor/class=name)");
  for (int i = optind; i < argc; i++)
    {
      char buf[512];
      const char *p = za_cdi_qualified_problem (argv[i], buf, sizeof buf);
      if (p)
        {
          za_err_set (err, ZA_EINPUT, "%s", p);
          return cli_exit_for (*err);
        }
    }
  if (za_cdi_registry_load ((const char *const *) c->dirs.v, c->dirs.n, reg, err) < 0)
    return cli_exit_for (*err);
  print_registry_errors (*reg);
  if (za_cdi_resolve (*reg, (const char *const *) argv + optind, (size_t) (argc - optind), plan, err) < 0)
    {
      za_cdi_registry_free (*reg);
      *reg = NULL;
      return cli_exit_for (*err);
    }
  return -1;
}

static int
cmd_resolve (int argc, char **argv)
{
  struct cdi_cli c = { 0 };
  struct za_cdi_registry *reg = NULL;
  struct za_cdi_plan plan = { 0 };
  struct za_err *err = NULL;
  json_t *o;
  char *s;
  int ret = parse ("cdi resolve", argc, argv, &c, false, false);
  if (ret < 0)
    ret = load_and_resolve ("cdi resolve", &c, argc, argv, &reg, &plan, &err);
  za_strv_clear (&c.dirs);
  if (ret >= 0)
    return ret;
  o = za_cdi_plan_to_json (&plan);
  s = o ? json_dumps (o, JSON_INDENT (2)) : NULL;
  if (s)
    puts (s);
  else
    fputs ("zagent: out of memory\n", stderr);
  free (s);
  json_decref (o);
  za_cdi_plan_clear (&plan);
  za_cdi_registry_free (reg);
  return s && fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

static int
cmd_inject (int argc, char **argv)
{
  struct cdi_cli c = { 0 };
  struct za_cdi_registry *reg = NULL;
  struct za_cdi_plan plan = { 0 };
  struct za_err *err = NULL;
  cleanup_close int dfd = -1;
  cleanup_free char *data = NULL, *out = NULL;
  size_t len = 0;
  json_t *cfg = NULL;
  json_error_t jerr;
  struct stat st;
  struct za_host host = za_host_default ();
  int ret = parse ("cdi inject", argc, argv, &c, true, false);

  if (ret >= 0)
    goto done;
  if (!c.bundle)
    {
      ret = cli_usage_error ("cdi inject", "%s", "missing -b BUNDLE");
      goto done;
    }
  if (lstat (c.bundle, &st) == 0 && S_ISLNK (st.st_mode))
    {
      za_err_set (&err, ZA_EINPUT, "bundle directory `%s` is a symlink; refusing to follow it", c.bundle);
      ret = cli_exit_for (err);
      goto done;
    }
  dfd = open (c.bundle, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    {
      za_err_set (&err, errno == ENOENT || errno == ENOTDIR ? ZA_EINPUT : errno, "open bundle `%s`: %s",
                  c.bundle, strerror (errno));
      ret = cli_exit_for (err);
      goto done;
    }
  if (za_read_file_at (dfd, "config.json", 64u << 20, &data, &len, &err) < 0)
    {
      ret = cli_exit_for (err);
      goto done;
    }
  cfg = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!cfg)
    {
      struct za_mark m = { (unsigned) jerr.line, (unsigned) jerr.column };
      cleanup_free char *p = NULL;
      if (asprintf (&p, "%s/config.json", c.bundle) < 0)
        p = NULL;
      za_err_set_at (&err, p ? p : "config.json", &m, NULL, "invalid JSON: %s", jerr.text);
      ret = cli_exit_for (err);
      goto done;
    }
  ret = load_and_resolve ("cdi inject", &c, argc, argv, &reg, &plan, &err);
  if (ret >= 0)
    goto done;
  /* Everything happens in memory; config.json is replaced atomically.  */
  if (za_cdi_apply (cfg, &plan, &host, &err) < 0
      || !(out = json_dumps (cfg, JSON_INDENT (2)))
      || za_write_file_atomic_at (dfd, "config.json", out, strlen (out), 0600, &err) < 0)
    {
      if (!err)
        za_err_set (&err, ENOMEM, "out of memory");
      ret = cli_exit_for (err);
      goto done;
    }
  ret = 0;
done:
  json_decref (cfg);
  za_cdi_plan_clear (&plan);
  za_cdi_registry_free (reg);
  za_strv_clear (&c.dirs);
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
    return cli_cdi_generate (argc - 1, argv + 1);
  fprintf (stderr, "zagent cdi: unknown command `%s`\n%s", sub, usage_cdi);
  return EXIT_INPUT;
}
