/* Helpers shared by the zagent subcommands.  */
#ifndef ZA_CLI_H
#define ZA_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "zagent.h"

#define EXIT_INPUT 2
#define EXIT_SYSTEM 1

/* ---- option parsing: one helper for every command -------------------
   getopt_long with GNU permutation semantics: options may come before or
   after operands (`zagent stop ID --time 1s`), `--` ends the options and
   nothing after it is parsed (`run … -- CMD --flag`), operands come back
   in order.  SHORTOPTS is getopt's string without a leading '+', '-' or
   ':' and must be a string literal; ARGV[0] is the command word (main
   passes argv + 1, a subcommand argv + 2).

     static const struct option longopts[] = { { "time", required_argument, NULL, 't' },
                                                { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
     struct cli_opts p = CLI_OPTS_INIT ("stop", argc, argv, "t:h", longopts);
     int opt;
     while ((opt = cli_opts_next (&p)) != -1)
       switch (opt)
         {
         case 't': grace = p.arg; break;           // the option's value (also in optarg)
         case 'h': fputs (help, stdout); return 0;
         default: return cli_opts_error (&p, opt);  // unknown option / missing value: exit 2
         }
     if (p.noperands != 1)
       return cli_usage_error ("stop", "%s", "expected one container ID");
     id = p.operands[0];

   operands point into ARGV (compacted in place; nothing is allocated);
   after the loop rest/nrest are the words after `--` and dashdash says
   whether `--` was given.  The global options (--log-level, --debug) are
   taken out by main before a command sees ARGV.  */
struct cli_opts
{
  const char *cmd;
  int argc;
  char **argv;
  const char *optstring; /* "-:" SHORTOPTS */
  const struct option *longopts;
  const char *arg;       /* the value of the option just returned */
  char **operands;       /* the operands before `--`, in order */
  int noperands;
  char **rest;           /* the words after `--` */
  int nrest;
  bool dashdash;
  int next_;             /* internal: optind before the last call */
};
#define CLI_OPTS_INIT(cmd_, argc_, argv_, shortopts, longopts_)                                                  \
  { .cmd = (cmd_), .argc = (argc_), .argv = (argv_), .optstring = "-:" shortopts, .longopts = (longopts_),  \
    .next_ = -1 }
/* The next option (getopt_long's value: its short letter or its long
   option's val), ':' for a missing value, '?' for an unknown option, -1
   at the end.  */
int cli_opts_next (struct cli_opts *p);
/* The usage error for what cli_opts_next returned as OPT; exit status 2.  */
int cli_opts_error (const struct cli_opts *p, int opt);

/* ---- list commands: -q and --format --------------------------------
   Every command that lists things takes the same options: -q/--quiet
   (ids or names only, one per line), --format json|table (table is the
   default) and --json (= --format json).  -q with --format json is a usage
   error.  Errors and warnings go to stderr in every format.

     static const struct option longopts[] = { CLI_LIST_LONGOPTS, { "help", … }, { NULL, 0, NULL, 0 } };
     struct cli_list l = { 0 };
     struct cli_opts p = CLI_OPTS_INIT ("images", argc, argv, CLI_LIST_SHORTOPTS "h", longopts);
     while ((opt = cli_opts_next (&p)) != -1)
       if ((r = cli_list_option (&p, opt, &l)) < 0)  // one of the list options: handled
         continue;
       else if (r > 0) return r;                     // a bad --format value: its exit status
       else switch (opt) { … }                       // the command's own options
     if ((r = cli_list_done (&p, &l)) >= 0) return r;

   A command whose only options are these (and -h) calls cli_parse_list.  */
enum cli_format
{
  CLI_FORMAT_TABLE,
  CLI_FORMAT_JSON,
};
struct cli_list
{
  enum cli_format format;
  bool quiet;
};
enum
{
  CLI_OPT_FORMAT = 0x4000,
  CLI_OPT_JSON,
};
#define CLI_LIST_SHORTOPTS "q"
#define CLI_LIST_LONGOPTS                                                                                        \
  { "quiet", no_argument, NULL, 'q' }, { "format", required_argument, NULL, CLI_OPT_FORMAT },                   \
      { "json", no_argument, NULL, CLI_OPT_JSON }
/* -1 when OPT was a list option (recorded in L), 0 when it is not one, else
   the exit status of a bad value (message printed).  */
int cli_list_option (const struct cli_opts *p, int opt, struct cli_list *l);
/* After the loop: -1 to go on, else the exit status (-q with json).  */
int cli_list_done (const struct cli_opts *p, const struct cli_list *l);
/* The options of a command that has only the list options: HELP for
   --help, no operand.  -1 to go on, else the exit status.  */
int cli_parse_list (const char *cmd, int argc, char **argv, const char *help, struct cli_list *l);
/* Deprecated: cli_parse_list (kept so that older callers build).  */
int cli_parse_json_only (const char *cmd, int argc, char **argv, const char *help, bool *json);

/* ---- logging: the global --log-level error|warn|info|debug, --debug ---
   Everything goes to stderr.  Warnings (cli_print_errors with a prefix
   starting "warning") are shown at warn and above (the default), debug
   lines ("zagent: debug: …") at debug.  */
enum cli_log_level
{
  CLI_LOG_ERROR,
  CLI_LOG_WARN,
  CLI_LOG_INFO,
  CLI_LOG_DEBUG,
};
extern enum cli_log_level cli_log_level;
void cli_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* One line per error, sorted by file position, each prefixed.  */
void cli_print_errors (const zagent_error *err, const char *prefix);
/* Print and free ERR; the exit status it calls for (2 input, 1 system).  */
int cli_exit_for (zagent_error *err);
int cli_usage_error (const char *cmd, const char *fmt, const char *arg);
/* The usage error for what getopt_long returned as OPT (':' = missing
   value, else unknown option).  */
int cli_bad_option (const char *cmd, int opt, char **argv);

struct build_cli
{
  const char *file, *bundle, *secrets_dir, *scope;
  zagent_options *o;
  /* run only */
  bool run, detach, keep;
  const char *runtime, *image;
};

int cli_parse_build (const char *cmd, int argc, char **argv, struct build_cli *c, bool allow_bundle,
                     const char *usage_head);
void cli_print_warnings (zagent_error **w);

int cli_cmd_cdi (int argc, char **argv);
/* cdi generate and cdi check (cmd_cdi_gen.c).  */
int cli_cmd_cdi_generate (int argc, char **argv);
int cli_cmd_cdi_check (int argc, char **argv);
int cli_cmd_run (int argc, char **argv);
int cli_cmd_ps (int argc, char **argv);
int cli_cmd_stop (int argc, char **argv);
int cli_cmd_rm (int argc, char **argv);
int cli_cmd_state (int argc, char **argv);
int cli_cmd_gpu (int argc, char **argv);
/* issue 11 (cmd_image.c): pull, images, rmi, image prune; the pull
   options of run (--pull, --authfile, --cert-dir, --tls-verify, --quiet):
   0 applied, -1 error in *ERR, >0 an exit status (usage error).  */
int cli_cmd_image (const char *cmd, int argc, char **argv);
int cli_pull_option (const char *cmd, const char *name, const char *arg, zagent_options *o, zagent_error **err);
extern const char *const cli_pull_usage;

#endif
