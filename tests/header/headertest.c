/* The public header compiles alone, under -pedantic, from C and against
   the shared library's exported symbols only (libgit2's headertest).  */
#include <zagent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (void)
{
  static const char y[] = "version: v1\ndeployment: demo\nservices:\n  web:\n    image: {name: nginx}\n";
  zagent_spec *s = NULL;
  zagent_error *e = NULL;
  zagent_options *o = zagent_options_new ();
  char *json = NULL;
  size_t len = 0;
  int ok = o && zagent_options_set_rootless (o, 0, &e) == 0
           && zagent_spec_load_buffer (&s, "inline.yaml", y, strlen (y), &e) == 0
           && zagent_config_generate (s, o, NULL, &json, &len, NULL, &e) == 0 && len > 0;
  printf ("1..1\n%s 1 - public API builds a config through libzagent.so\n", ok ? "ok" : "not ok");
  if (!ok && e)
    {
      char *m = zagent_error_format (e);
      printf ("# %s\n", m ? m : "?");
    }
  free (json);
  zagent_error_free (&e);
  zagent_spec_free (s);
  zagent_options_free (o);
  return ok ? 0 : 1;
}
