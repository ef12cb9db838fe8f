/* zagent run, ps, stop, rm, state: containers over an OCI runtime, through
   the public container API (include/zagent.h).

   `run` drives one runtime process (`RUNTIME run`, docs/run.md); zagent
   makes itself a child subreaper, so whatever the runtime leaves (the
   container's init if the runtime dies) is re-parented to zagent and
   reaped: no zombie is left behind.  */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "zagent.h"
#include "cli/cli.h"

static void
warn_errors (zagent_error **e, const char *prefix)
{
  if (*e)
    cli_print_errors (*e, prefix);
  zagent_error_free (e);
}

/* The errors of a failed run, printed once: a runtime that already
   wrote its message to our stderr (the container's) is not repeated
   (RET -2), only what zagent adds (cleanup).  */
static void
run_errors (int ret, zagent_error **err)
{
  if (ret == -2)
    zagent_error_free (err);
  else
    warn_errors (err, "");
}

/* Run the container with one runtime process; a foreground run forwards
   SIGINT, SIGTERM and SIGHUP to it, waits, and removes it.  */
static int
run_container (struct build_cli *c, zagent_spec *spec, zagent_runtime *rt)
{
  zagent_error *err = NULL, *warn = NULL;
  unsigned flags = (c->keep ? ZAGENT_CONTAINER_KEEP_BUNDLE : 0) | (c->detach ? ZAGENT_CONTAINER_DETACH : 0)
                   | ZAGENT_CONTAINER_REAP;
  sigset_t mask, old;
  int sfd, status = ZAGENT_RUN_FAILED, ret;

  /* Block the forwarded signals before the container exists: one that
     arrives in between is then read from the signalfd, not lost.  */
  sigemptyset (&mask);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGHUP);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, &old);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  ret = zagent_container_run (spec, c->o, rt, c->bundle, flags, NULL, sfd, &status, &warn, &err);
  run_errors (ret, &err);
  cli_print_warnings (&warn);
  if (ret == 0 && c->detach)
    {
      char *id = NULL;
      unsigned long long grace;
      if (zagent_container_info (spec, c->o, &id, &grace, NULL) == 0)
        printf ("%s\n", id);
      free (id);
    }
  if (sfd >= 0)
    close (sfd);
  sigprocmask (SIG_SETMASK, &old, NULL);
  return status;
}

int
cli_cmd_run (int argc, char **argv)
{
  struct build_cli c = { .run = true };
  zagent_runtime *rt = NULL;
  zagent_spec *spec = NULL;
  zagent_error *err = NULL, *warn = NULL;
  int ret;

  c.o = zagent_options_new ();
  if (!c.o)
    return ZAGENT_RUN_FAILED;
  ret = cli_parse_build ("run", argc, argv, &c, true,
                         "Usage: zagent run -f FILE [-s SERVICE] [--rootfs DIR | --image REF] [options] [-- ARG...]\n"
                         "Build the bundle, run the container with an OCI runtime (one `RUNTIME run` process),\n"
                         "pass its output through, forward SIGINT/SIGTERM/SIGHUP, then delete it.\n"
                         "Exit status: the container's (128+signal when killed); 125 when zagent or the runtime\n"
                         "failed, 126 when the command cannot be executed, 127 when it is not found.");
  if (ret > 0)
    ret = ZAGENT_RUN_FAILED; /* usage errors too, as podman and Docker */
  if (ret >= 0)
    goto out;
  ret = ZAGENT_RUN_FAILED;
  /* The cheap checks first: a bad spec must not cost an image unpack.  */
  if (zagent_spec_load_file (&spec, c.file, &err) < 0 || zagent_spec_validate (spec, &err) < 0)
    {
      cli_exit_for (err);
      goto out;
    }
  /* The image: --image, else the service's image.name (unless --rootfs).  */
  if ((c.image && zagent_options_set_image (c.o, c.image, &warn, &err) < 0)
      || (!c.image && !zagent_options_has_rootfs (c.o) && zagent_options_set_spec_image (c.o, spec, &warn, &err) < 0))
    {
      cli_print_warnings (&warn);
      cli_exit_for (err);
      goto out;
    }
  cli_print_warnings (&warn);
  if (zagent_runtime_find (&rt, c.runtime, &err) < 0)
    {
      cli_exit_for (err);
      goto out;
    }
  cli_debug ("runtime `%s`", zagent_runtime_name (rt));
  ret = run_container (&c, spec, rt);
out:
  zagent_spec_free (spec);
  zagent_options_free (c.o);
  zagent_runtime_free (rt);
  fflush (stdout);
  return ret;
}

/* ---- lifecycle of detached containers ------------------------------ */

static void
ps_print_text (const zagent_record *r)
{
  char when[32];
  struct tm tm;
  time_t t = (time_t) zagent_record_created (r);
  strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r (&t, &tm));
  printf ("%-28s %-10s %-8d %-6s %-20s %s\n", zagent_record_id (r), zagent_record_status (r), zagent_record_pid (r),
          zagent_record_runtime (r), when, zagent_record_bundle (r));
}

static void
ps_print_json (zagent_record **v, size_t n)
{
  /* The short form of each record: what `ps` shows, not the runtime's
     whole state (that is `zagent state`).  */
  json_t *arr = json_array ();
  char *text;
  for (size_t i = 0; arr && i < n; i++)
    json_array_append_new (arr, json_pack ("{s:s, s:s, s:i, s:s, s:s, s:I}", "id", zagent_record_id (v[i]), "status",
                                           zagent_record_status (v[i]), "pid", zagent_record_pid (v[i]), "runtime",
                                           zagent_record_runtime (v[i]), "bundle", zagent_record_bundle (v[i]),
                                           "created", (json_int_t) zagent_record_created (v[i])));
  text = arr ? json_dumps (arr, JSON_INDENT (2)) : NULL;
  if (text)
    puts (text);
  free (text);
  json_decref (arr);
}

int
cli_cmd_ps (int argc, char **argv)
{
  zagent_error *err = NULL, *notices = NULL;
  zagent_record **v = NULL;
  size_t n = 0;
  struct cli_list l = { 0 };
  int ret = cli_parse_list ("ps", argc, argv,
                            "Usage: zagent ps [-q] [--format json|table] [--json]\n"
                            "Containers started by zagent run; stale records are cleared.\n"
                            "  -q, --quiet      container ids only, one per line\n"
                            "      --format F   json or table (default); --json = --format json\n",
                            &l);
  if (ret >= 0)
    return ret;
  if (zagent_record_list (&v, &n, &notices, &err) < 0)
    {
      warn_errors (&notices, "");
      return cli_exit_for (err);
    }
  if (l.format == CLI_FORMAT_JSON)
    ps_print_json (v, n);
  else if (l.quiet)
    for (size_t i = 0; i < n; i++)
      puts (zagent_record_id (v[i]));
  else
    {
      printf ("%-28s %-10s %-8s %-6s %-20s %s\n", "CONTAINER ID", "STATUS", "PID", "RT", "CREATED", "BUNDLE");
      for (size_t i = 0; i < n; i++)
        ps_print_text (v[i]);
    }
  zagent_record_list_free (v, n);
  warn_errors (&notices, "");
  return fflush (stdout) == 0 ? 0 : EXIT_SYSTEM;
}

int
cli_cmd_stop (int argc, char **argv)
{
  static const struct option longopts[] = { { "time", required_argument, NULL, 't' },
                                             { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
  zagent_error *err = NULL;
  unsigned long long grace = 0;
  struct cli_opts p = CLI_OPTS_INIT ("stop", argc, argv, "t:h", longopts);
  int opt;
  while ((opt = cli_opts_next (&p)) != -1)
    switch (opt)
      {
      case 't':
        if (zagent_duration_parse (optarg, &grace, &err) < 0)
          {
            fprintf (stderr, "zagent: --time `%s`: %s\n", optarg, zagent_error_message (err));
            zagent_error_free (&err);
            return EXIT_INPUT;
          }
        if (grace == 0)
          grace = 1; /* --time 0: kill at once, not the default */
        break;
      case 'h':
        printf ("Usage: zagent stop ID [--time DURATION]\n"
                "SIGTERM, then SIGKILL after the service's stop_grace_period (default 10s) or --time.\n");
        return 0;
      default:
        return cli_opts_error (&p, opt);
      }
  if (p.noperands + p.nrest != 1)
    return cli_usage_error ("stop", "%s", "expected one container ID");
  if (zagent_container_stop (p.noperands ? p.operands[0] : p.rest[0], grace, &err) < 0)
    return cli_exit_for (err);
  return 0;
}

int
cli_cmd_rm (int argc, char **argv)
{
  static const struct option longopts[] = { { "force", no_argument, NULL, 'f' },
                                             { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
  zagent_error *err = NULL;
  bool force = false;
  struct cli_opts p = CLI_OPTS_INIT ("rm", argc, argv, "fh", longopts);
  int opt;
  while ((opt = cli_opts_next (&p)) != -1)
    switch (opt)
      {
      case 'f':
        force = true;
        break;
      case 'h':
        printf ("Usage: zagent rm [-f] ID\nRemove a stopped container, its record and (unless kept) its bundle;\n"
                "-f kills a running one first.\n");
        return 0;
      default:
        return cli_opts_error (&p, opt);
      }
  if (p.noperands + p.nrest != 1)
    return cli_usage_error ("rm", "%s", "expected one container ID");
  if (zagent_container_remove (p.noperands ? p.operands[0] : p.rest[0], force, &err) < 0)
    return cli_exit_for (err);
  return 0;
}

int
cli_cmd_state (int argc, char **argv)
{
  static const struct option longopts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
  struct cli_opts p = CLI_OPTS_INIT ("state", argc, argv, "h", longopts);
  zagent_error *err = NULL;
  zagent_record *r = NULL;
  char *text;
  int opt;
  while ((opt = cli_opts_next (&p)) != -1)
    {
      if (opt != 'h')
        return cli_opts_error (&p, opt);
      printf ("Usage: zagent state ID\nThe container's record and the runtime's state, as JSON.\n");
      return 0;
    }
  if (p.noperands + p.nrest != 1)
    return cli_usage_error ("state", "%s", "expected one container ID");
  if (zagent_record_get (&r, p.noperands ? p.operands[0] : p.rest[0], &err) < 0)
    return cli_exit_for (err);
  text = zagent_record_to_json (r);
  zagent_record_free (r);
  if (!text)
    return EXIT_SYSTEM;
  puts (text);
  free (text);
  return 0;
}
