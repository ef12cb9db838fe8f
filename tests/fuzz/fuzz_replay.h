/* Shared by every tests/fuzz/fuzz_<target>.c.

   Built with libFuzzer (meson -Dfuzz=true, CC=clang) the target file is
   only LLVMFuzzerTestOneInput.  Built with -DZA_FUZZ_REPLAY (the default
   `make check` builds, gcc, plain and ASan+UBSan) this header adds a main
   that replays each file named on the command line, or every regular file
   under a directory named there (sorted, recursively), and reports one TAP
   line per input:

     1..N
     ok 1 - tests/fuzz/corpus/spec/hello.yaml

   An input that crashes aborts the run (meson reports the test as failed
   with the sanitizer's report); inputs are copied into buffers of exactly
   their size so a read past the end is caught.  */
#ifndef ZA_FUZZ_REPLAY_H
#define ZA_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#include <fcntl.h>
#include <unistd.h>

/* An empty host root that leaves nothing behind however the process ends
   (libFuzzer leaves with _Exit on timeouts and crashes): a new temporary
   directory, removed at once and reached through /proc/self/fd.  Every
   lookup under it fails with ENOENT, as in an empty directory.  */
static inline void
za_fuzz_empty_root (char *out, size_t size)
{
  char dir[] = "/tmp/za-fuzz-root-XXXXXX";
  int fd;
  if (!mkdtemp (dir) || (fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || rmdir (dir) < 0)
    {
      perror ("za_fuzz_empty_root");
      abort ();
    }
  snprintf (out, size, "/proc/self/fd/%d", fd);
}

/* ZA_FUZZ_VERBOSE=1 in the environment: the targets print each error and
   warning they format to stderr (to see which paths a corpus reaches).  */
static inline void
za_fuzz_note (const char *what, char *msg)
{
  static int verbose = -1;
  if (verbose < 0)
    verbose = getenv ("ZA_FUZZ_VERBOSE") != NULL;
  if (verbose && msg)
    fprintf (stderr, "  %s: %s\n", what, msg);
  free (msg);
}

#ifdef ZA_FUZZ_REPLAY

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct za_fuzz_files
{
  char **v;
  size_t n, cap;
};

static int
za_fuzz_add (struct za_fuzz_files *f, const char *path)
{
  if (f->n == f->cap)
    {
      size_t cap = f->cap ? f->cap * 2 : 64;
      char **v = realloc (f->v, cap * sizeof *v);
      if (!v)
        return -1;
      f->v = v;
      f->cap = cap;
    }
  if (!(f->v[f->n] = strdup (path)))
    return -1;
  f->n++;
  return 0;
}

static int
za_fuzz_cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
za_fuzz_collect (struct za_fuzz_files *f, const char *path)
{
  struct stat st;
  DIR *d;
  struct dirent *de;
  size_t first = f->n;
  int ret = 0;

  if (stat (path, &st) < 0)
    {
      fprintf (stderr, "%s: %s\n", path, strerror (errno));
      return -1;
    }
  if (!S_ISDIR (st.st_mode))
    return za_fuzz_add (f, path);
  if (!(d = opendir (path)))
    {
      fprintf (stderr, "%s: %s\n", path, strerror (errno));
      return -1;
    }
  while (ret == 0 && (de = readdir (d)))
    {
      char *sub;
      if (de->d_name[0] == '.')
        continue; /* ".", "..", and hidden files such as .gitkeep */
      if (asprintf (&sub, "%s/%s", path, de->d_name) < 0)
        {
          ret = -1;
          break;
        }
      if (stat (sub, &st) == 0 && S_ISDIR (st.st_mode))
        ret = za_fuzz_collect (f, sub);
      else
        ret = za_fuzz_add (f, sub);
      free (sub);
    }
  closedir (d);
  if (ret == 0)
    qsort (f->v + first, f->n - first, sizeof *f->v, za_fuzz_cmp);
  return ret;
}

/* The whole file in a buffer of exactly its size (at least one byte is
   allocated, but SIZE is 0 then).  */
static uint8_t *
za_fuzz_read (const char *path, size_t *size)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  uint8_t *buf;
  size_t len = 0;

  if (fd < 0 || fstat (fd, &st) < 0)
    {
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  buf = malloc (st.st_size > 0 ? (size_t) st.st_size : 1);
  while (buf && len < (size_t) st.st_size)
    {
      ssize_t n = read (fd, buf + len, (size_t) st.st_size - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          free (buf);
          buf = NULL;
          break;
        }
      len += (size_t) n;
    }
  close (fd);
  *size = len;
  return buf;
}

int
main (int argc, char **argv)
{
  struct za_fuzz_files files = { 0 };
  int status = 0;

  for (int i = 1; i < argc; i++)
    if (za_fuzz_collect (&files, argv[i]) < 0)
      {
        printf ("Bail out! cannot list %s\n", argv[i]);
        return 1;
      }
  printf ("1..%zu\n", files.n);
  fflush (stdout);
  for (size_t i = 0; i < files.n; i++)
    {
      size_t size = 0;
      uint8_t *data = za_fuzz_read (files.v[i], &size);
      if (!data)
        {
          printf ("not ok %zu - %s # cannot read: %s\n", i + 1, files.v[i], strerror (errno));
          status = 1;
        }
      else
        {
          LLVMFuzzerTestOneInput (data, size);
          free (data);
          printf ("ok %zu - %s\n", i + 1, files.v[i]);
        }
      fflush (stdout);
      free (files.v[i]);
    }
  free (files.v);
  return status;
}

#endif /* ZA_FUZZ_REPLAY */
#endif
