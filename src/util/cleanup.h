/* Cleanup attributes: every owned local is released on every path.  */
#ifndef ZA_CLEANUP_H
#define ZA_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void
za_freep (void *p)
{
  free (*(void **) p);
}

static inline void
za_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

static inline void
za_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

static inline void
za_closedirp (DIR **d)
{
  if (*d)
    closedir (*d);
}

#define cleanup_free __attribute__ ((cleanup (za_freep)))
#define cleanup_close __attribute__ ((cleanup (za_closep)))
#define cleanup_file __attribute__ ((cleanup (za_fclosep)))
#define cleanup_dir __attribute__ ((cleanup (za_closedirp)))

/* Hand ownership out of a cleanup-managed local: *out = steal_pointer (&p). */
static inline void *
za_steal_ptr (void *pp)
{
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}
#define steal_pointer(pp) za_steal_ptr (pp)

/* The same for a cleanup_close descriptor.  */
static inline int
steal_fd (int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

#endif
