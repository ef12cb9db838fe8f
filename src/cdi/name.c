#define _DEFAULT_SOURCE
/* CDI names ("vendor/class=name") and how CDI messages quote values: a
   leaf that the spec layer may use without depending on the rest of cdi/.  */
#include "cdi/name.h"
#include "util/strv.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- quoting ---------------------------------------------------------- */

/* S as messages quote it: quotes, backslashes and control bytes escaped
   (a newline in a value must not forge a second error line), at most 64
   bytes, then "...".  Only values of documents that decoded as CDI specs
   get here (validation runs after a clean decode), i.e. names, paths and
   env entries the user has to see to fix them; the decoder, which sees
   whatever the file really is, quotes nothing but schema key names.  */
const char *
za_cdi_quote (char *buf, size_t len, const char *s)
{
  za_escape_into (buf, len, s, strlen (s));
  return buf;
}

#define QC(ch) za_cdi_quote ((char[ZA_CDI_QUOTE_MAX]) { 0 }, ZA_CDI_QUOTE_MAX, (const char[2]) { (ch), '\0' })

/* ---- names ----------------------------------------------------------- */

static bool
is_alnum (char c)
{
  return isascii ((unsigned char) c) && isalnum ((unsigned char) c);
}

static bool
is_letter (char c)
{
  return isascii ((unsigned char) c) && isalpha ((unsigned char) c);
}

/* vendor and class share one rule (v0.6.0+): a letter first, alnum last,
   `_ - .` in between.  A single letter is valid (the reference panicked
   on it before HEAD).  */
const char *
za_cdi_vc_problem (const char *what, const char *s, char *buf, size_t len)
{
  size_t n = strlen (s);
  if (!n)
    return snprintf (buf, len, "invalid (empty) %s name", what), buf;
  if (!is_letter (s[0]))
    return snprintf (buf, len, "invalid %s \"%s\", should start with letter", what, ZA_CDI_Q (s)), buf;
  for (size_t i = 1; i + 1 < n; i++)
    if (!is_alnum (s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
      return snprintf (buf, len, "invalid character '%s' in %s name \"%s\"", QC (s[i]), what, ZA_CDI_Q (s)), buf;
  if (!is_alnum (s[n - 1]))
    return snprintf (buf, len, "invalid %s \"%s\", should end with a letter or digit", what, ZA_CDI_Q (s)), buf;
  return NULL;
}

const char *
za_cdi_name_problem (const char *s, char *buf, size_t len)
{
  size_t n = strlen (s);
  if (!n)
    return snprintf (buf, len, "invalid (empty) device name"), buf;
  if (!is_alnum (s[0]))
    return snprintf (buf, len, "invalid name \"%s\", should start with a letter or digit", ZA_CDI_Q (s)), buf;
  for (size_t i = 1; i + 1 < n; i++)
    if (!is_alnum (s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.' && s[i] != ':')
      return snprintf (buf, len, "invalid character '%s' in device name \"%s\"", QC (s[i]), ZA_CDI_Q (s)), buf;
  if (n > 1 && !is_alnum (s[n - 1]))
    return snprintf (buf, len, "invalid name \"%s\", should end with a letter or digit", ZA_CDI_Q (s)), buf;
  return NULL;
}

bool
za_cdi_vendor_valid (const char *v)
{
  char b[256];
  return !za_cdi_vc_problem ("vendor", v, b, sizeof b);
}

bool
za_cdi_class_valid (const char *c)
{
  char b[256];
  return !za_cdi_vc_problem ("class", c, b, sizeof b);
}

bool
za_cdi_device_name_valid (const char *n)
{
  char b[256];
  return !za_cdi_name_problem (n, b, sizeof b);
}

const char *
za_cdi_qualified_problem (const char *q, char *buf, size_t len)
{
  const char *eq, *slash;
  char part[512];
  const char *p;
  if (!q || !*q || q[0] == '/')
    return snprintf (buf, len, "\"%s\" is not a qualified device name (vendor/class=name)", ZA_CDI_Q (q ? q : "")), buf;
  eq = strchr (q, '=');
  slash = strchr (q, '/');
  if (!eq || eq == q || !eq[1] || !slash || slash > eq)
    return snprintf (buf, len, "\"%s\" is not a qualified device name (vendor/class=name)", ZA_CDI_Q (q)), buf;
  snprintf (part, sizeof part, "%.*s", (int) (slash - q), q);
  if ((p = za_cdi_vc_problem ("vendor", part, buf, len)))
    return p;
  snprintf (part, sizeof part, "%.*s", (int) (eq - slash - 1), slash + 1);
  if ((p = za_cdi_vc_problem ("class", part, buf, len)))
    return p;
  return za_cdi_name_problem (eq + 1, buf, len);
}

bool
za_cdi_is_qualified (const char *name)
{
  char b[512];
  return !za_cdi_qualified_problem (name, b, sizeof b);
}

