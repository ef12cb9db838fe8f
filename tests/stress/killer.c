/* Crash-test helper: run a command and SIGKILL it after a delay.

     killer measure N -- CMD [ARG...]
         run CMD N times to completion; print the median wall time in
         microseconds (exit 1 if any run fails).
     killer kill DELAY_US -- CMD [ARG...]
         fork/exec CMD, sleep DELAY_US microseconds, SIGKILL it, reap it;
         print "killed" when the signal ended it, "exited N" when it had
         already finished (exit status N).  CMD's stdout goes to /dev/null.
     killer reap GRACE_MS -- CMD [ARG...]
         run CMD as a child subreaper: every process CMD's tree leaves
         behind is reparented to us.  After CMD exits, reap them for up to
         GRACE_MS; then print "orphans N" and one line "orphan PID COMM
         exited|running" each (running ones are SIGKILLed and reaped).
         The exit status is CMD's (128+signal when killed).

   Otherwise the exit status is 0 unless the helper itself failed
   (2 = usage).  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The child reports a failed exec through a close-on-exec pipe, so that
   "exited 127" cannot be mistaken for the command's own status.  */
static int exec_pipe = -1;

static pid_t
spawn_out (char **argv, bool quiet)
{
  int p[2];
  pid_t pid;
  if (pipe2 (p, O_CLOEXEC) < 0)
    return -1;
  pid = fork ();
  if (pid == 0)
    {
      int fd = quiet ? open ("/dev/null", O_WRONLY) : -1;
      if (fd >= 0)
        dup2 (fd, STDOUT_FILENO);
      execvp (argv[0], argv);
      fd = errno;
      (void) !write (p[1], &fd, sizeof fd);
      _exit (127);
    }
  close (p[1]);
  if (pid < 0)
    close (p[0]);
  else
    exec_pipe = p[0];
  return pid;
}

static pid_t
spawn (char **argv)
{
  return spawn_out (argv, true);
}

/* After the child is reaped: 0, or the errno of its failed exec.  */
static int
exec_failed (void)
{
  int e = 0;
  if (read (exec_pipe, &e, sizeof e) != (ssize_t) sizeof e)
    e = 0;
  close (exec_pipe);
  exec_pipe = -1;
  return e;
}

static int
reap (pid_t pid, int *status)
{
  while (waitpid (pid, status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

static void
comm_of (pid_t pid, char *buf, size_t n)
{
  char p[64];
  FILE *f;
  snprintf (p, sizeof p, "/proc/%d/comm", (int) pid);
  snprintf (buf, n, "?");
  if ((f = fopen (p, "re")))
    {
      if (fgets (buf, (int) n, f))
        buf[strcspn (buf, "\n")] = '\0';
      fclose (f);
    }
}

/* Our children other than those already reaped: scan /proc for ppid.  */
static size_t
children (pid_t *out, size_t max)
{
  DIR *d = opendir ("/proc");
  struct dirent *de;
  size_t n = 0;
  pid_t self = getpid ();
  if (!d)
    return 0;
  while ((de = readdir (d)) && n < max)
    {
      char p[300], buf[512], *rp;
      FILE *f;
      int ppid;
      if (de->d_name[0] < '1' || de->d_name[0] > '9')
        continue;
      snprintf (p, sizeof p, "/proc/%s/stat", de->d_name);
      if (!(f = fopen (p, "re")))
        continue;
      if (fgets (buf, sizeof buf, f) && (rp = strrchr (buf, ')')) && sscanf (rp + 1, " %*c %d", &ppid) == 1
          && ppid == self)
        out[n++] = (pid_t) atoi (de->d_name);
      fclose (f);
    }
  closedir (d);
  return n;
}

static int
reap_mode (long long grace_ms, char **argv)
{
  pid_t pid, kids[256];
  int status, e;
  long long deadline;
  size_t norphans = 0;
  char lines[64][64];

  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    return perror ("killer: PR_SET_CHILD_SUBREAPER"), 1;
  if ((pid = spawn_out (argv, false)) < 0 || reap (pid, &status) < 0)
    return perror ("killer"), 1;
  if ((e = exec_failed ()) != 0)
    return fprintf (stderr, "killer: exec %s: %s\n", argv[0], strerror (e)), 127;
  fflush (stdout);
  deadline = now_us () + grace_ms * 1000;
  for (;;)
    {
      siginfo_t si = { 0 };
      size_t nk;
      /* peek first, so that the zombie's name can still be read */
      if (waitid (P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid > 0)
        {
          char c[32];
          comm_of (si.si_pid, c, sizeof c);
          waitpid (si.si_pid, NULL, 0);
          if (norphans < 64)
            snprintf (lines[norphans], sizeof lines[0], "%d %s exited", (int) si.si_pid, c);
          norphans++;
          continue;
        }
      nk = children (kids, 256);
      if (nk == 0)
        break;
      if (now_us () >= deadline)
        {
          for (size_t i = 0; i < nk; i++)
            {
              char c[32];
              comm_of (kids[i], c, sizeof c);
              kill (kids[i], SIGKILL);
              waitpid (kids[i], NULL, 0);
              if (norphans < 64)
                snprintf (lines[norphans], sizeof lines[0], "%d %s running", (int) kids[i], c);
              norphans++;
            }
          break;
        }
      usleep (10000);
    }
  printf ("orphans %zu\n", norphans);
  for (size_t i = 0; i < norphans && i < 64; i++)
    printf ("orphan %s\n", lines[i]);
  fflush (stdout);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static int
cmp_ll (const void *a, const void *b)
{
  long long x = *(const long long *) a, y = *(const long long *) b;
  return (x > y) - (x < y);
}

static int
usage (void)
{
  fprintf (stderr, "usage: killer measure N -- CMD...\n       killer kill DELAY_US -- CMD...\n"
                   "       killer reap GRACE_MS -- CMD...\n");
  return 2;
}

int
main (int argc, char **argv)
{
  char *end;
  long long n;
  int status, e;
  pid_t pid;

  if (argc < 5 || strcmp (argv[3], "--") != 0)
    return usage ();
  errno = 0;
  n = strtoll (argv[2], &end, 10);
  if (errno || *end || n < 0 || n > 100000000)
    return usage ();
  if (strcmp (argv[1], "measure") == 0)
    {
      long long *t;
      if (n < 1)
        return usage ();
      t = calloc ((size_t) n, sizeof *t);
      if (!t)
        return 1;
      for (long long i = 0; i < n; i++)
        {
          long long t0 = now_us ();
          if ((pid = spawn (argv + 4)) < 0 || reap (pid, &status) < 0)
            return perror ("killer"), 1;
          t[i] = now_us () - t0;
          if ((e = exec_failed ()) != 0)
            return fprintf (stderr, "killer: exec %s: %s\n", argv[4], strerror (e)), 1;
          if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
            return fprintf (stderr, "killer: command failed (status %#x)\n", status), 1;
        }
      qsort (t, (size_t) n, sizeof *t, cmp_ll);
      printf ("%lld\n", t[n / 2]);
      free (t);
      return 0;
    }
  if (strcmp (argv[1], "kill") == 0)
    {
      struct timespec d = { .tv_sec = n / 1000000, .tv_nsec = (n % 1000000) * 1000 };
      if ((pid = spawn (argv + 4)) < 0)
        return perror ("killer: fork"), 1;
      while (nanosleep (&d, &d) < 0 && errno == EINTR)
        ;
      kill (pid, SIGKILL);
      if (reap (pid, &status) < 0)
        return perror ("killer: waitpid"), 1;
      if ((n = exec_failed ()) != 0)
        printf ("exec failed: %s\n", strerror ((int) n));
      else if (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL)
        printf ("killed\n");
      else if (WIFEXITED (status))
        printf ("exited %d\n", WEXITSTATUS (status));
      else
        printf ("status %#x\n", status);
      return 0;
    }
  if (strcmp (argv[1], "reap") == 0)
    return reap_mode (n, argv + 4);
  return usage ();
}
