#define _GNU_SOURCE
#include "syntax.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define fail za_reasonf

/* The <ctype.h> classes follow the locale; these grammars are ASCII.  */
static bool
is_digit (int c)
{
  return c >= '0' && c <= '9';
}

static bool
is_lower (int c)
{
  return c >= 'a' && c <= 'z';
}

static bool
is_upper (int c)
{
  return c >= 'A' && c <= 'Z';
}

static bool
is_alpha (int c)
{
  return is_lower (c) || is_upper (c);
}

static bool
is_alnum (int c)
{
  return is_alpha (c) || is_digit (c);
}


/* ---- cron schedules (cron 0.15 Schedule::from_str) --------------------

   The crate parses with nom combinators in which every number and name
   swallows the blanks around it, and fields end wherever the next token
   cannot continue the list -- not necessarily at a blank.  The parser
   below reproduces those combinators one for one, so that it splits and
   accepts exactly the same strings.  It runs twice: the first pass only
   splits the fields (so that a 5-field line is reported as such rather
   than by whatever its fifth field trips over), the second checks the
   values the way the crate's from_field does.  */

enum
{
  F_SEC,
  F_MIN,
  F_HOUR,
  F_DOM,
  F_MON,
  F_DOW,
  F_YEAR,
  F_COUNT
};

static const struct
{
  const char *name;
  unsigned lo, hi;
} cron_fields[F_COUNT] = {
  { "seconds", 0, 59 }, { "minutes", 0, 59 },     { "hours", 0, 23 },
  { "day-of-month", 1, 31 }, { "month", 1, 12 }, { "day-of-week", 1, 7 },
  { "year", 1970, 2100 },
};

/* The crate's names, matched without regard to case.  */
struct cron_name
{
  const char *name;
  unsigned value;
};

static const struct cron_name cron_months[] = {
  { "jan", 1 },  { "january", 1 },  { "feb", 2 },  { "february", 2 },
  { "mar", 3 },  { "march", 3 },    { "apr", 4 },  { "april", 4 },
  { "may", 5 },  { "jun", 6 },      { "june", 6 }, { "jul", 7 },
  { "july", 7 }, { "aug", 8 },      { "august", 8 }, { "sep", 9 },
  { "september", 9 }, { "oct", 10 }, { "october", 10 }, { "nov", 11 },
  { "november", 11 }, { "dec", 12 }, { "december", 12 },
};

static const struct cron_name cron_days[] = {
  { "sun", 1 },  { "sunday", 1 },   { "mon", 2 },  { "monday", 2 },
  { "tue", 3 },  { "tues", 3 },     { "tuesday", 3 }, { "wed", 4 },
  { "wednesday", 4 }, { "thu", 5 }, { "thurs", 5 }, { "thursday", 5 },
  { "fri", 6 },  { "friday", 6 },   { "sat", 7 },  { "saturday", 7 },
};

/* The crate has no @annually (nor @reboot, @midnight).  */
static const char *const cron_shorthands[] = {
  "@yearly", "@monthly", "@weekly", "@daily", "@hourly",
};

#define NOPE ((size_t) -1)

/* nom's multispace: exactly these four.  */
static bool
is_blank (int c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t
skip_blank (const char *s, size_t i)
{
  while (is_blank ((unsigned char) s[i]))
    i++;
  return i;
}

struct tok
{
  size_t start, end;
};

enum spec_kind
{
  SP_ALL,
  SP_ANY,
  SP_POINT,
  SP_RANGE,
  SP_NAMED_RANGE,
  SP_NAMED_POINT
};

struct spec
{
  enum spec_kind kind;
  struct tok a, b; /* the number or name, and a range's end */
  bool period;
  struct tok step;
};

/* A run of DIGITS or letters with the blanks on both sides, like the
   crate's ordinal and name parsers.  Returns the position after it.  */
static size_t
lex_run (const char *s, size_t i, bool digits, struct tok *t)
{
  size_t j = skip_blank (s, i), k = j;
  while (digits ? is_digit ((unsigned char) s[k]) : is_alpha ((unsigned char) s[k]))
    k++;
  if (k == j)
    return NOPE;
  t->start = j;
  t->end = k;
  return skip_blank (s, k);
}

/* "*", "?", "a-b", "a", "NAME-NAME", in the crate's order of trial.
   "*" and "?" take no blanks before them, unlike numbers and names.  */
static size_t
cron_specifier (const char *s, size_t i, struct spec *sp)
{
  size_t j, k;

  if (s[i] == '?')
    {
      sp->kind = SP_ANY;
      return i + 1;
    }
  if (s[i] == '*')
    {
      sp->kind = SP_ALL;
      return i + 1;
    }
  j = lex_run (s, i, true, &sp->a);
  if (j != NOPE)
    {
      if (s[j] == '-' && (k = lex_run (s, j + 1, true, &sp->b)) != NOPE)
        {
          sp->kind = SP_RANGE;
          return k;
        }
      sp->kind = SP_POINT;
      return j;
    }
  j = lex_run (s, i, false, &sp->a);
  if (j != NOPE && s[j] == '-'
      && (k = lex_run (s, j + 1, false, &sp->b)) != NOPE)
    {
      sp->kind = SP_NAMED_RANGE;
      return k;
    }
  return NOPE;
}

/* A list item: a specifier with an optional "/step", or a lone name.  A
   lone name takes no step, so "MON/2" does not parse.  */
static size_t
cron_item (const char *s, size_t i, struct spec *sp)
{
  size_t j = cron_specifier (s, i, sp), k;

  sp->period = false;
  if (j != NOPE)
    {
      if (s[j] == '/' && (k = lex_run (s, j + 1, true, &sp->step)) != NOPE)
        {
          sp->period = true;
          return k;
        }
      return j;
    }
  j = lex_run (s, i, false, &sp->a);
  if (j != NOPE)
    sp->kind = SP_NAMED_POINT;
  return j;
}

struct cron
{
  const char *s;
  int field;
  bool check; /* second pass: validate values */
  char **reason;
};

static int
cron_bad_token (struct cron *c, struct tok t)
{
  return fail (c->reason, "invalid token `%.*s` in %s field",
               (int) (t.end - t.start), c->s + t.start,
               cron_fields[c->field].name);
}

/* Saturates, so an absurdly long number still reads as out of range.  */
static uint64_t
tok_number (const struct cron *c, struct tok t)
{
  uint64_t v = 0;
  for (size_t i = t.start; i < t.end; i++)
    if (__builtin_mul_overflow (v, 10, &v)
        || __builtin_add_overflow (v, (uint64_t) (c->s[i] - '0'), &v))
      return UINT64_MAX;
  return v;
}

static int
cron_number (struct cron *c, struct tok t, uint64_t *v)
{
  *v = tok_number (c, t);
  if (*v < cron_fields[c->field].lo || *v > cron_fields[c->field].hi)
    return fail (c->reason, "value %.*s out of range %u-%u in %s field",
                 (int) (t.end - t.start), c->s + t.start,
                 cron_fields[c->field].lo, cron_fields[c->field].hi,
                 cron_fields[c->field].name);
  return 0;
}

static int
cron_name (struct cron *c, struct tok t, uint64_t *v)
{
  size_t len = t.end - t.start, n = 0;
  const char *name = c->s + t.start;
  const struct cron_name *table = NULL;

  if (c->field == F_MON)
    table = cron_months, n = sizeof cron_months / sizeof cron_months[0];
  else if (c->field == F_DOW)
    table = cron_days, n = sizeof cron_days / sizeof cron_days[0];
  for (size_t i = 0; i < n; i++)
    if (strlen (table[i].name) == len
        && strncasecmp (table[i].name, name, len) == 0)
      {
        *v = table[i].value;
        return 0;
      }
  return cron_bad_token (c, t);
}

/* One list item against the field's range, in the crate's order: a step
   of 0, a step past the field's maximum, then the values.  */
static int
cron_validate (struct cron *c, const struct spec *sp)
{
  uint64_t a = 0, b = 0;

  if (sp->kind == SP_ANY && c->field != F_DOM && c->field != F_DOW)
    return fail (c->reason,
                 "invalid token `?` in %s field (only allowed in the "
                 "day-of-month and day-of-week fields)",
                 cron_fields[c->field].name);
  if (sp->period)
    {
      uint64_t step = tok_number (c, sp->step);
      if (step < 1 || step > cron_fields[c->field].hi)
        return fail (c->reason, "invalid step %.*s in %s field (must be 1-%u)",
                     (int) (sp->step.end - sp->step.start),
                     c->s + sp->step.start, cron_fields[c->field].name,
                     cron_fields[c->field].hi);
    }
  switch (sp->kind)
    {
    case SP_ALL:
    case SP_ANY:
      return 0;
    case SP_POINT:
      return cron_number (c, sp->a, &a);
    case SP_NAMED_POINT:
      return cron_name (c, sp->a, &a);
    case SP_RANGE:
      if (cron_number (c, sp->a, &a) < 0 || cron_number (c, sp->b, &b) < 0)
        return -1;
      break;
    case SP_NAMED_RANGE:
      if (cron_name (c, sp->a, &a) < 0 || cron_name (c, sp->b, &b) < 0)
        return -1;
      break;
    }
  if (a > b)
    return fail (c->reason, "invalid range %.*s in %s field",
                 (int) (sp->b.end - sp->a.start), c->s + sp->a.start,
                 cron_fields[c->field].name);
  return 0;
}

/* One field: items separated by ",", blanks around it.  Returns 1 and
   sets *NEXT, 0 if no item parses at I, -1 after a failed check.  A comma
   not followed by an item ends the list before the comma, as nom's
   separated_list1 does; the next field then fails on it.  */
static int
cron_field (struct cron *c, size_t i, size_t *next)
{
  struct spec sp;
  size_t k = cron_item (c->s, skip_blank (c->s, i), &sp);

  if (k == NOPE)
    return 0;
  for (;;)
    {
      size_t m;
      if (c->check && cron_validate (c, &sp) < 0)
        return -1;
      if (c->s[k] != ',')
        break;
      m = cron_item (c->s, k + 1, &sp);
      if (m == NOPE)
        break;
      k = m;
    }
  *next = skip_blank (c->s, k);
  return 1;
}

static size_t
count_words (const char *s)
{
  size_t n = 0, i = skip_blank (s, 0);
  while (s[i])
    {
      n++;
      while (s[i] && !is_blank ((unsigned char) s[i]))
        i++;
      i = skip_blank (s, i);
    }
  return n;
}

/* Field N failed to start at POS.  Name the blank-delimited word around
   POS; when the word began in the previous field ("MON/2", "5-"), that
   field is the one at fault.  */
static int
cron_syntax_error (struct cron *c, size_t pos, int n)
{
  size_t start = pos, end = pos, words = count_words (c->s);
  int field = n;

  if (words < 6 || words > 7)
    return fail (c->reason, "expected 6 or 7 fields, found %zu", words);
  while (start > 0 && !is_blank ((unsigned char) c->s[start - 1]))
    start--;
  while (c->s[end] && !is_blank ((unsigned char) c->s[end]))
    end++;
  if (start < pos && field > 0)
    field--;
  if (field >= F_COUNT)
    return fail (c->reason, "unexpected `%.*s` after the year field",
                 (int) (end - start), c->s + start);
  c->field = field;
  return cron_bad_token (c, (struct tok){ start, end });
}

static int
cron_shorthand (const char *s, char **reason)
{
  size_t end = strlen (s);

  while (end > 0 && is_blank ((unsigned char) s[end - 1]))
    end--;
  for (size_t i = 0; i < sizeof cron_shorthands / sizeof cron_shorthands[0];
       i++)
    if (strlen (cron_shorthands[i]) == end
        && memcmp (cron_shorthands[i], s, end) == 0)
      return 0;
  return fail (reason,
               "unknown cron shorthand `%.*s` (expected @yearly, @monthly, "
               "@weekly, @daily or @hourly)",
               (int) end, s);
}

int
za_cron_check (const char *expr, char **reason)
{
  struct cron c = { expr, 0, false, reason };
  size_t first = skip_blank (expr, 0), pos;
  int n = 0;

  if (!expr[first])
    return fail (reason, "cron expression is empty");
  if (expr[first] == '@')
    return cron_shorthand (expr + first, reason);

  for (pos = first; expr[pos]; n++)
    {
      c.field = n < F_COUNT ? n : F_YEAR;
      if (cron_field (&c, pos, &pos) == 0)
        return cron_syntax_error (&c, pos, n);
    }
  if (n != 6 && n != 7)
    return fail (reason, "expected 6 or 7 fields, found %d", n);

  c.check = true;
  pos = first;
  for (c.field = 0; c.field < n; c.field++)
    if (cron_field (&c, pos, &pos) < 0)
      return -1;
  return 0;
}

/* ---- image references (docker/distribution reference grammar) -------- */

#define NAME_TOTAL_LENGTH_MAX 255
#define TAG_LENGTH_MAX 128

/* domain-component ("." domain-component)*, each alnum at both ends with
   alnums and "-" between.  */
static bool
valid_domain_name (const char *s, size_t len)
{
  size_t i = 0;
  for (;;)
    {
      size_t start = i;
      while (i < len && (is_alnum ((unsigned char) s[i]) || s[i] == '-'))
        i++;
      if (i == start || s[start] == '-' || s[i - 1] == '-')
        return false;
      if (i == len)
        return true;
      if (s[i] != '.')
        return false;
      i++;
    }
}

/* (domain-name | "[" ipv6 "]") [":" port]  */
static bool
valid_domain (const char *s, size_t len)
{
  size_t host_end;

  if (len > 0 && s[0] == '[')
    {
      size_t i = 1;
      while (i < len && (is_digit ((unsigned char) s[i])
                         || (s[i] >= 'a' && s[i] <= 'f')
                         || (s[i] >= 'A' && s[i] <= 'F') || s[i] == ':'))
        i++;
      if (i == 1 || i == len || s[i] != ']')
        return false;
      host_end = i + 1;
    }
  else
    {
      const char *colon = memchr (s, ':', len);
      host_end = colon ? (size_t) (colon - s) : len;
      if (!valid_domain_name (s, host_end))
        return false;
    }
  if (host_end == len)
    return true;
  if (s[host_end] != ':' || host_end + 1 == len)
    return false;
  for (size_t i = host_end + 1; i < len; i++)
    if (!is_digit ((unsigned char) s[i]))
      return false;
  return true;
}

/* [a-z0-9]+ separated by ".", "_", "__" or a run of "-".  */
static bool
valid_path_component (const char *s, size_t len)
{
  size_t i = 0;
  for (;;)
    {
      size_t start = i;
      while (i < len && (is_lower ((unsigned char) s[i])
                         || is_digit ((unsigned char) s[i])))
        i++;
      if (i == start)
        return false;
      if (i == len)
        return true;
      start = i;
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < len && s[i] == '-')
          i++;
      else
        return false;
      if (i == len)
        return false;
    }
}

/* path-component ("/" path-component)*.  On failure *BAD is the
   offending component, empty for "a//b".  */
static bool
valid_path (const char *s, size_t len, struct tok *bad)
{
  for (size_t i = 0; i <= len;)
    {
      const char *end = memchr (s + i, '/', len - i);
      size_t clen = end ? (size_t) (end - (s + i)) : len - i;
      if (clen == 0 || !valid_path_component (s + i, clen))
        {
          if (bad)
            *bad = (struct tok){ i, i + clen };
          return false;
        }
      i += clen + 1;
    }
  return true;
}

static int
path_error (const char *s, size_t len, char **reason)
{
  struct tok bad = { 0, 0 };

  valid_path (s, len, &bad);
  if (bad.start == bad.end)
    return fail (reason, "invalid reference format: empty path component");
  return fail (reason, "invalid reference format: invalid path component "
                       "`%.*s`", (int) (bad.end - bad.start), s + bad.start);
}

static bool
is_word (int c)
{
  return is_alnum (c) || c == '_';
}

static bool
valid_tag (const char *s, size_t len)
{
  if (len == 0 || len > TAG_LENGTH_MAX || !is_word ((unsigned char) s[0]))
    return false;
  for (size_t i = 1; i < len; i++)
    if (!is_word ((unsigned char) s[i]) && s[i] != '.' && s[i] != '-')
      return false;
  return true;
}

static bool
is_lower_hex (int c)
{
  return is_digit (c) || (c >= 'a' && c <= 'f');
}

/* OCI image-spec digest: algorithm ":" encoded, where the algorithms
   with registered encodings must be lowercase hex of their exact size.  */
static bool
valid_digest (const char *s, size_t len, const char **why)
{
  static const struct
  {
    const char *alg;
    size_t hexlen;
  } known[] = { { "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 } };
  const char *colon = memchr (s, ':', len);
  size_t alen, elen, i = 0;

  *why = "must be algorithm:encoded";
  if (!colon)
    return false;
  alen = (size_t) (colon - s);
  elen = len - alen - 1;
  /* [a-z0-9]+ ([+._-] [a-z0-9]+)*  */
  for (;;)
    {
      size_t start = i;
      while (i < alen && (is_lower ((unsigned char) s[i])
                          || is_digit ((unsigned char) s[i])))
        i++;
      if (i == start)
        return false;
      if (i == alen)
        break;
      if (!strchr ("+._-", s[i]))
        return false;
      i++;
    }
  if (elen == 0)
    return false;
  for (i = alen + 1; i < len; i++)
    if (!is_alnum ((unsigned char) s[i]) && !strchr ("=_-", s[i]))
      return false;
  for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
    {
      if (strlen (known[k].alg) != alen || memcmp (known[k].alg, s, alen) != 0)
        continue;
      *why = known[k].hexlen == 64 ? "sha256 needs 64 lowercase hex characters"
             : known[k].hexlen == 96
                 ? "sha384 needs 96 lowercase hex characters"
                 : "sha512 needs 128 lowercase hex characters";
      if (elen != known[k].hexlen)
        return false;
      for (i = alen + 1; i < len; i++)
        if (!is_lower_hex ((unsigned char) s[i]))
          return false;
    }
  return true;
}

int
za_image_ref_check (const char *ref, char **reason)
{
  size_t len, name_len, path_start = 0;
  const char *at, *slash, *colon, *why;

  /* (the NULL test also keeps GCC's -Wnonnull quiet under -fsanitize) */
  if (!ref || (len = strlen (ref)) == 0)
    return fail (reason, "reference is empty");

  /* Neither the name nor the tag may hold "@", so the first one starts
     the digest; likewise the tag is the text after the last ":" that
     follows the last "/", since a ":" before a "/" is a registry port.  */
  at = memchr (ref, '@', len);
  name_len = at ? (size_t) (at - ref) : len;
  slash = memrchr (ref, '/', name_len);
  colon = memrchr (slash ? slash + 1 : ref, ':',
                   name_len - (slash ? (size_t) (slash + 1 - ref) : 0));
  if (colon)
    {
      size_t tag_len = name_len - (size_t) (colon + 1 - ref);
      if (!valid_tag (colon + 1, tag_len))
        return fail (reason,
                     "invalid tag `%.*s`: must match "
                     "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
                     (int) tag_len, colon + 1);
      name_len = (size_t) (colon - ref);
    }
  if (name_len == 0)
    return fail (reason, "invalid reference format: repository name is "
                         "empty");

  /* The first component names a registry only if it looks like a host:
     it has a "." or a ":" or is "localhost".  Otherwise it is part of
     the repository path, where uppercase is not allowed.  */
  slash = memchr (ref, '/', name_len);
  if (slash)
    {
      size_t first = (size_t) (slash - ref);
      if (memchr (ref, '.', first) || memchr (ref, ':', first)
          || (first == 9 && memcmp (ref, "localhost", 9) == 0))
        path_start = first + 1;
    }
  for (size_t i = path_start; i < name_len; i++)
    if (is_upper ((unsigned char) ref[i]))
      return fail (reason, "repository name must be lowercase");

  /* The grammar itself does not care which reading applies: the name
     matches if it is a domain plus a path, or a path alone.  So
     "a_b.c/d", not a valid host, is still the repository "a_b.c/d".  */
  if (path_start > 0)
    {
      bool domain_ok = valid_domain (ref, path_start - 1);
      if (domain_ok
          && valid_path (ref + path_start, name_len - path_start, NULL))
        ;
      else if (valid_path (ref, name_len, NULL))
        ;
      else if (!domain_ok)
        return fail (reason, "invalid reference format: invalid domain "
                             "`%.*s`", (int) (path_start - 1), ref);
      else
        return path_error (ref + path_start, name_len - path_start, reason);
    }
  else if (!valid_path (ref, name_len, NULL))
    return path_error (ref, name_len, reason);
  if (name_len > NAME_TOTAL_LENGTH_MAX)
    return fail (reason, "repository name must not be more than %d "
                         "characters", NAME_TOTAL_LENGTH_MAX);
  if (at)
    {
      const char *d = at + 1;
      size_t dlen = len - (size_t) (d - ref);
      if (!valid_digest (d, dlen, &why))
        return fail (reason, "invalid digest `%.*s`: %s", (int) dlen, d, why);
    }
  return 0;
}

int
za_image_ref_split (const char *ref, struct za_image_ref_split *out, char **reason)
{
  size_t len, first;
  const char *at, *slash, *colon;

  if (za_image_ref_check (ref, reason) < 0)
    return -1;
  /* The same reading as the check above: digest after the first "@", tag
     after a ":" past the last "/", and a first component that looks like
     a host (".", ":" or "localhost") and is a valid one names the
     registry when what follows is a valid path.  */
  memset (out, 0, sizeof *out);
  len = strlen (ref);
  at = strchr (ref, '@');
  out->name_len = at ? (size_t) (at - ref) : len;
  out->digest_start = at ? (size_t) (at + 1 - ref) : 0;
  slash = memrchr (ref, '/', out->name_len);
  colon = memrchr (slash ? slash + 1 : ref, ':',
                   out->name_len - (slash ? (size_t) (slash + 1 - ref) : 0));
  if (colon)
    {
      out->tag_start = (size_t) (colon + 1 - ref);
      out->tag_end = out->name_len;
      out->name_len = (size_t) (colon - ref);
    }
  slash = memchr (ref, '/', out->name_len);
  if (!slash)
    return 0;
  first = (size_t) (slash - ref);
  if ((memchr (ref, '.', first) || memchr (ref, ':', first)
       || (first == 9 && memcmp (ref, "localhost", 9) == 0))
      && valid_domain (ref, first)
      && valid_path (ref + first + 1, out->name_len - first - 1, NULL))
    {
      out->domain_len = first;
      out->path_start = first + 1;
    }
  return 0;
}
