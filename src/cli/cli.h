/* Helpers shared by the zagent subcommands.  */
#ifndef ZA_CLI_H
#define ZA_CLI_H

#include <stdbool.h>

#include "zagent.h"

#define EXIT_INPUT 2
#define EXIT_SYSTEM 1

/* One line per error, sorted by file position, each prefixed.  */
void cli_print_errors (const zagent_error *err, const char *prefix);
/* Print and free ERR; the exit status it calls for (2 input, 1 system).  */
int cli_exit_for (zagent_error *err);
int cli_usage_error (const char *cmd, const char *fmt, const char *arg);
/* The usage error for what getopt_long returned as OPT (':' = missing
   value, else unknown option).  */
int cli_bad_option (const char *cmd, int opt, char **argv);
/* Options of a command whose only option is --json (HELP for --help).
   -1 to go on, else the exit status.  */
int cli_parse_json_only (const char *cmd, int argc, char **argv, const char *help, bool *json);

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
