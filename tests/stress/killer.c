/* Crash-test helper: run a command and SIGKILL it after a delay.

     killer measure N -- CMD [ARG...]
         run CMD N times to completion; print the median wall time in
         microseconds (exit 1 if any run fails).
     killer kill DELAY_US -- CMD [ARG...]
         fork/exec CMD, sleep DELAY_US microseconds, SIGKILL it, reap it;
         print "killed" when the signal ended it, "exited N" when it had
         already finished (exit status N).  CMD's stdout goes to /dev/null.

   The exit status is 0 unless the helper itself failed (2 = usage).  */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
spawn (char **argv)
{
  int p[2];
  pid_t pid;
  if (pipe2 (p, O_CLOEXEC) < 0)
    return -1;
  pid = fork ();
  if (pid == 0)
    {
      int fd = open ("/dev/null", O_WRONLY);
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

static int
cmp_ll (const void *a, const void *b)
{
  long long x = *(const long long *) a, y = *(const long long *) b;
  return (x > y) - (x < y);
}

static int
usage (void)
{
  fprintf (stderr, "usage: killer measure N -- CMD...\n       killer kill DELAY_US -- CMD...\n");
  return 2;
}

int
main (int argc, char **argv)
{
  char *end;
  long long n;
  int status;
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
          if ((status = exec_failed ()) != 0)
            return fprintf (stderr, "killer: exec %s: %s\n", argv[4], strerror (status)), 1;
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
  return usage ();
}
