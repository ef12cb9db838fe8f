/* Scalar typing: what a plain scalar is under the YAML 1.2 core schema
   that serde_yaml 0.9 uses (the ZLayer spec), and under YAML 1.1 as
   go-yaml v2 resolves it (CDI specs), with Go's canonical spelling.  */
#define _GNU_SOURCE
#include "yaml/decode_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scalar typing (serde_yaml 0.9 / YAML 1.2 core) ---------------- */

bool
za_yaml_is_core_tag (const char *tag, const char *what)
{
  return tag && strncmp (tag, "tag:yaml.org,2002:", 18) == 0 && strcmp (tag + 18, what) == 0;
}

/* "Leading zero(s) followed by digits is a string" (YAML 1.2): 01777.  */
static bool
digits_but_not_number (const char *s)
{
  if (*s == '-' || *s == '+')
    s++;
  if (s[0] != '0' || s[1] == '\0')
    return false;
  for (s++; *s; s++)
    if (!isdigit ((unsigned char) *s))
      return false;
  return true;
}

static bool
all_in (const char *s, int base)
{
  if (!*s)
    return false;
  for (; *s; s++)
    {
      int c = (unsigned char) *s, d;
      if (isdigit (c))
        d = c - '0';
      else if (isxdigit (c))
        d = 10 + tolower (c) - 'a';
      else
        return false;
      if (d >= base)
        return false;
    }
  return true;
}

/* Parse an integer the way serde_yaml does: optional sign, then 0x/0o/0b
   or decimal.  Sets *MAG and *NEG; false when the text is not an integer.
   *FITS tells whether the magnitude fits in 64 bits.  */
static bool
parse_yaml_int (const char *s, uint64_t *mag, bool *neg, bool *fits)
{
  const char *p = s;
  int base = 10;
  *neg = false;
  if (*p == '+' || *p == '-')
    {
      *neg = *p == '-';
      p++;
    }
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b'))
    {
      base = p[1] == 'x' ? 16 : p[1] == 'o' ? 8 : 2;
      p += 2;
    }
  else if (digits_but_not_number (s))
    return false;
  if (!all_in (p, base))
    return false;
  *fits = true;
  *mag = 0;
  for (; *p; p++)
    {
      int c = (unsigned char) *p;
      uint64_t d = (uint64_t) (isdigit (c) ? c - '0' : 10 + tolower (c) - 'a');
      if (__builtin_mul_overflow (*mag, (uint64_t) base, mag)
          || __builtin_add_overflow (*mag, d, mag))
        *fits = false;
    }
  return true;
}

/* Rust's f64 grammar without inf/nan words; serde_yaml only accepts finite
   results, plus the YAML spellings .inf/-.inf/.nan.  */
bool
za_yaml_parse_float (const char *s, double *out)
{
  const char *p = s;
  bool digits = false;
  static const char *const inf[] = { ".inf", ".Inf", ".INF" };
  static const char *const nan_[] = { ".nan", ".NaN", ".NAN" };
  const char *u = *s == '+' ? s + 1 : s;
  for (int i = 0; i < 3; i++)
    {
      if (strcmp (u, inf[i]) == 0)
        return *out = INFINITY, true;
      if (s[0] == '-' && strcmp (s + 1, inf[i]) == 0)
        return *out = -INFINITY, true;
      if (strcmp (s, nan_[i]) == 0)
        return *out = NAN, true;
    }
  if (*p == '+' || *p == '-')
    p++;
  while (isdigit ((unsigned char) *p))
    p++, digits = true;
  if (*p == '.')
    {
      p++;
      while (isdigit ((unsigned char) *p))
        p++, digits = true;
    }
  if (!digits)
    return false;
  if (*p == 'e' || *p == 'E')
    {
      bool ed = false;
      p++;
      if (*p == '+' || *p == '-')
        p++;
      while (isdigit ((unsigned char) *p))
        p++, ed = true;
      if (!ed)
        return false;
    }
  if (*p)
    return false;
  errno = 0;
  *out = strtod (s, NULL);
  return isfinite (*out);
}

enum za_scalar_kind
za_scalar_classify (const struct za_node *n)
{
  const char *v = n->value;
  uint64_t mag;
  bool neg, fits;
  double d;

  if (n->type != ZA_NODE_SCALAR)
    return ZA_SK_STR;
  if (n->tag && za_yaml_is_core_tag (n->tag, "str"))
    return ZA_SK_STR;
  if (!n->plain)
    return ZA_SK_STR;
  if (!*v || !strcmp (v, "~") || !strcmp (v, "null") || !strcmp (v, "Null") || !strcmp (v, "NULL"))
    return ZA_SK_NULL;
  if (!strcmp (v, "true") || !strcmp (v, "True") || !strcmp (v, "TRUE") || !strcmp (v, "false")
      || !strcmp (v, "False") || !strcmp (v, "FALSE"))
    return ZA_SK_BOOL;
  if (parse_yaml_int (v, &mag, &neg, &fits))
    return ZA_SK_INT;
  /* serde_yaml checks digits_but_not_number before the float parse too:
     01777 is a string, not the float 1777.  */
  if (!digits_but_not_number (v) && za_yaml_parse_float (v, &d))
    return ZA_SK_FLOAT;
  return ZA_SK_STR;
}

bool
za_scalar_int (const struct za_node *n, int64_t *i, uint64_t *u, bool *neg)
{
  uint64_t mag;
  bool fits;
  if (!parse_yaml_int (n->value, &mag, neg, &fits) || !fits)
    return false;
  *u = mag;
  if (*neg)
    {
      if (mag > (uint64_t) INT64_MAX + 1)
        return false;
      *i = mag == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) mag;
      *u = 0;
    }
  else
    *i = mag > INT64_MAX ? INT64_MAX : (int64_t) mag;
  return true;
}

bool
za_scalar_bool (const struct za_node *n)
{
  return n->value[0] == 't' || n->value[0] == 'T';
}

/* ---- YAML 1.1 (go-yaml v2) ------------------------------------------ */

static const char *const bool11_true[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                           "on", "On", "ON", NULL };
static const char *const bool11_false[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
                                            "off", "Off", "OFF", NULL };

int
za_scalar_bool11 (const char *v)
{
  for (int i = 0; bool11_true[i]; i++)
    if (!strcmp (v, bool11_true[i]))
      return 1;
  for (int i = 0; bool11_false[i]; i++)
    if (!strcmp (v, bool11_false[i]))
      return 0;
  return -1;
}

/* go-yaml v2: underscores removed, then strconv.ParseInt (base 0: 0x, 0o,
   0b, leading 0 = octal), then ParseUint; "0b…" also explicitly.  Writes
   the decimal text into BUF.  */
bool
za_scalar_int11 (const char *v, char *buf, size_t len, int64_t *iv, uint64_t *uv, bool *neg)
{
  char plain[96];
  size_t n = 0;
  const char *p;
  int base = 10;
  uint64_t mag = 0;
  for (p = v; *p && n + 1 < sizeof plain; p++)
    if (*p != '_')
      plain[n++] = *p;
  if (*p)
    return false;
  plain[n] = '\0';
  p = plain;
  *neg = false;
  if (*p == '+' || *p == '-')
    *neg = *p++ == '-';
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    base = 16, p += 2;
  else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
    base = 8, p += 2;
  else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
    base = 2, p += 2;
  else if (p[0] == '0' && p[1])
    base = 8, p += 1;
  if (!all_in (p, base))
    return false;
  for (; *p; p++)
    {
      int c = (unsigned char) *p;
      uint64_t d = (uint64_t) (isdigit (c) ? c - '0' : 10 + tolower (c) - 'a');
      if (__builtin_mul_overflow (mag, (uint64_t) base, &mag) || __builtin_add_overflow (mag, d, &mag))
        return false;
    }
  if (*neg && mag > (uint64_t) INT64_MAX + 1)
    return false;
  *uv = mag;
  *iv = *neg ? (mag == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) mag)
             : (mag > INT64_MAX ? INT64_MAX : (int64_t) mag);
  if (*neg && mag == 0)
    *neg = false;
  if (buf)
    snprintf (buf, len, "%s%" PRIu64, *neg ? "-" : "", mag);
  return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (after removing
   underscores), plus the .inf/.nan spellings.  */
bool
za_scalar_float11 (const char *v, double *out)
{
  char plain[128];
  size_t n = 0;
  const char *p;
  static const char *const inf[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
  static const char *const ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };
  static const char *const nan_[] = { ".nan", ".NaN", ".NAN", NULL };
  for (int i = 0; inf[i]; i++)
    if (!strcmp (v, inf[i]))
      return *out = INFINITY, true;
  for (int i = 0; ninf[i]; i++)
    if (!strcmp (v, ninf[i]))
      return *out = -INFINITY, true;
  for (int i = 0; nan_[i]; i++)
    if (!strcmp (v, nan_[i]))
      return *out = NAN, true;
  /* A scalar starting with '.' goes straight to strconv.ParseFloat, which
     takes an underscore only between two digits; others have all their
     underscores removed first.  */
  if (v[0] == '.')
    for (p = strchr (v, '_'); p; p = strchr (p + 1, '_'))
      if (!isdigit ((unsigned char) p[-1]) || !isdigit ((unsigned char) p[1]))
        return false;
  for (p = v; *p && n + 1 < sizeof plain; p++)
    if (*p != '_')
      plain[n++] = *p;
  if (*p)
    return false;
  plain[n] = '\0';
  p = plain;
  if (*p == '+' || *p == '-')
    p++;
  if (*p == '.')
    {
      p++;
      if (!isdigit ((unsigned char) *p))
        return false;
      while (isdigit ((unsigned char) *p))
        p++;
    }
  else
    {
      if (!isdigit ((unsigned char) *p))
        return false;
      while (isdigit ((unsigned char) *p))
        p++;
      if (*p == '.')
        for (p++; isdigit ((unsigned char) *p); p++)
          ;
    }
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      if (!isdigit ((unsigned char) *p))
        return false;
      while (isdigit ((unsigned char) *p))
        p++;
    }
  if (*p)
    return false;
  /* ParseFloat fails on overflow (1e400): go-yaml then keeps the text as
     a string.  Underflow is not an error (1e-400 is 0).  */
  *out = strtod (plain, NULL);
  return !isinf (*out);
}

enum za_scalar_kind
za_scalar_classify11 (const struct za_node *n)
{
  const char *v = n->value;
  int64_t i;
  uint64_t u;
  bool neg;
  double d;
  if (n->type != ZA_NODE_SCALAR || !n->plain || (n->tag && za_yaml_is_core_tag (n->tag, "str")))
    return ZA_SK_STR;
  if (!*v || !strcmp (v, "~") || !strcmp (v, "null") || !strcmp (v, "Null") || !strcmp (v, "NULL"))
    return ZA_SK_NULL;
  if (za_scalar_bool11 (v) >= 0)
    return ZA_SK_BOOL;
  if (za_scalar_int11 (v, NULL, 0, &i, &u, &neg))
    return ZA_SK_INT;
  if (za_scalar_float11 (v, &d))
    return ZA_SK_FLOAT;
  return ZA_SK_STR;
}

/* strconv.FormatFloat (f, 'g', -1, 32), what sigs.k8s.io/yaml uses to turn
   a YAML float into a string field: the value is first rounded to a
   float32 (1e39 -> +Inf, 1e-46 -> 0), then printed with the shortest
   digits that round trip as a float32; for that shortest form Go switches
   to the exponent notation when the exponent is < -4 or >= 6.  */
static void
go_format_g (double d, char *buf, size_t len)
{
  char e[64];
  int prec, exp;
  float f = (float) d;
  if (isnan (f))
    {
      snprintf (buf, len, "NaN");
      return;
    }
  if (isinf (f))
    {
      snprintf (buf, len, f > 0 ? "+Inf" : "-Inf");
      return;
    }
  for (prec = 0; prec < 9; prec++)
    {
      snprintf (e, sizeof e, "%.*e", prec, (double) f);
      if (strtof (e, NULL) == f)
        break;
    }
  exp = atoi (strchr (e, 'e') + 1);
  if (exp < -4 || exp >= 6)
    snprintf (buf, len, "%.*e", prec, (double) f);
  else
    snprintf (buf, len, "%.*f", prec - exp > 0 ? prec - exp : 0, (double) f);
}

const char *
za_scalar_canonical11 (struct za_arena *a, const struct za_node *n)
{
  char buf[64];
  int64_t i;
  uint64_t u;
  bool neg;
  double d;
  switch (za_scalar_classify11 (n))
    {
    case ZA_SK_NULL:
      return "";
    case ZA_SK_BOOL:
      return za_scalar_bool11 (n->value) ? "true" : "false";
    case ZA_SK_INT:
      za_scalar_int11 (n->value, buf, sizeof buf, &i, &u, &neg);
      return za_arena_strdup (a, buf);
    case ZA_SK_FLOAT:
      za_scalar_float11 (n->value, &d);
      go_format_g (d, buf, sizeof buf);
      return za_arena_strdup (a, buf);
    case ZA_SK_STR:
      break;
    }
  return NULL;
}
