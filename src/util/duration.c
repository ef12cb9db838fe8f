#define _GNU_SOURCE
#include "duration.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail za_reasonf

/* The <ctype.h> classes follow the locale; this grammar is ASCII.  */
static bool
is_alpha (int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ---- durations (humantime 2.3 parse_duration) ------------------------

   The scanner below walks the input the way humantime's does, character
   by character with the same two loops, so that the byte offsets in its
   messages and the odd corners (digits split by blanks, "5 m", an all-zero
   string without a unit) come out the same.  */

/* Decode one UTF-8 character at S[I].  A byte that does not start a valid
   sequence decodes as -1 with length 1: Rust strings cannot hold one, so
   any reading that makes it an invalid character is faithful enough.  */
static size_t
utf8_decode (const unsigned char *s, size_t len, size_t i, long *cp)
{
  unsigned char c = s[i];
  size_t n;
  long v;

  if (c < 0x80)
    {
      *cp = c;
      return 1;
    }
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, v = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, v = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, v = c & 0x07;
  else
    {
      *cp = -1;
      return 1;
    }
  if (len - i < n)
    {
      *cp = -1;
      return 1;
    }
  for (size_t k = 1; k < n; k++)
    {
      if ((s[i + k] & 0xc0) != 0x80)
        {
          *cp = -1;
          return 1;
        }
      v = (v << 6) | (s[i + k] & 0x3f);
    }
  if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff))
      || (v >= 0xd800 && v <= 0xdfff))
    {
      *cp = -1;
      return 1;
    }
  *cp = v;
  return n;
}

/* Rust's char::is_whitespace: the Unicode White_Space property.  */
static bool
is_uspace (long c)
{
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0
         || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028
         || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

#define MICRO_SIGN 0xb5

static bool
is_unit_char (long c)
{
  return is_alpha ((int) c) || c == MICRO_SIGN;
}

struct dur
{
  const unsigned char *s;
  size_t len, pos;
  uint64_t sec, nsec; /* humantime keeps the sum as seconds + nanoseconds */
};

static long
dur_next (struct dur *d)
{
  long c;
  d->pos += utf8_decode (d->s, d->len, d->pos, &c);
  return c;
}

static const struct
{
  const char *name;
  bool sub;      /* MULT is in nanoseconds, not seconds */
  uint64_t mult;
} dur_units[] = {
  { "nanos", true, 1 },       { "nsec", true, 1 },
  { "ns", true, 1 },          { "usec", true, 1000 },
  { "us", true, 1000 },       { "\xc2\xb5" "s", true, 1000 },
  { "millis", true, 1000000 }, { "msec", true, 1000000 },
  { "ms", true, 1000000 },    { "seconds", false, 1 },
  { "second", false, 1 },     { "secs", false, 1 },
  { "sec", false, 1 },        { "s", false, 1 },
  { "minutes", false, 60 },   { "minute", false, 60 },
  { "min", false, 60 },       { "mins", false, 60 },
  { "m", false, 60 },         { "hours", false, 3600 },
  { "hour", false, 3600 },    { "hr", false, 3600 },
  { "hrs", false, 3600 },     { "h", false, 3600 },
  { "days", false, 86400 },   { "day", false, 86400 },
  { "d", false, 86400 },      { "weeks", false, 604800 },
  { "week", false, 604800 },  { "wk", false, 604800 },
  { "wks", false, 604800 },   { "w", false, 604800 },
  /* 30.44 days and 365.25 days, humantime's definitions */
  { "months", false, 2630016 }, { "month", false, 2630016 },
  { "M", false, 2630016 },    { "years", false, 31557600 },
  { "year", false, 31557600 }, { "yr", false, 31557600 },
  { "yrs", false, 31557600 }, { "y", false, 31557600 },
};

#define NSEC_PER_SEC UINT64_C (1000000000)

static int
dur_overflow (char **reason)
{
  return fail (reason, "number is too large");
}

/* 1 with *DIGIT set, 0 at the end of the input, -1 on error.  humantime
   reports the offset where the blank-skipping began, not the offending
   character, and so does this.  */
static int
dur_first_digit (struct dur *d, uint64_t *digit, char **reason)
{
  size_t off = d->pos;
  while (d->pos < d->len)
    {
      long c = dur_next (d);
      if (c >= '0' && c <= '9')
        {
          *digit = (uint64_t) (c - '0');
          return 1;
        }
      if (!is_uspace (c))
        return fail (reason, "expected number at %zu", off);
    }
  return 0;
}

static bool
dur_all_zeros (const struct dur *d)
{
  for (size_t i = 0; i < d->len; i++)
    if (d->s[i] != '0')
      return false;
  return true;
}

static int
dur_add_unit (struct dur *d, uint64_t n, size_t start, size_t end,
              char **reason)
{
  const char *unit = (const char *) d->s + start;
  size_t ulen = end - start;

  for (size_t i = 0; i < sizeof dur_units / sizeof dur_units[0]; i++)
    {
      uint64_t sec = 0, nsec = 0;
      if (strlen (dur_units[i].name) != ulen
          || memcmp (dur_units[i].name, unit, ulen) != 0)
        continue;
      if (__builtin_mul_overflow (n, dur_units[i].mult,
                                  dur_units[i].sub ? &nsec : &sec))
        return dur_overflow (reason);
      if (__builtin_add_overflow (d->nsec, nsec, &nsec))
        return dur_overflow (reason);
      if (nsec > NSEC_PER_SEC)
        {
          if (__builtin_add_overflow (sec, nsec / NSEC_PER_SEC, &sec))
            return dur_overflow (reason);
          nsec %= NSEC_PER_SEC;
        }
      if (__builtin_add_overflow (d->sec, sec, &sec))
        return dur_overflow (reason);
      d->sec = sec;
      d->nsec = nsec;
      return 0;
    }
  /* humantime 2.3 lets "0", "00", ... through without a unit.  */
  if (dur_all_zeros (d))
    {
      d->sec = d->nsec = 0;
      return 0;
    }
  if (ulen == 0)
    return fail (reason, "time unit needed, for example %" PRIu64 "sec or %"
                 PRIu64 "ms", n, n);
  return fail (reason,
               "unknown time unit \"%.*s\", supported units: ns, us/\xc2\xb5s, "
               "ms, sec, min, hours, days, weeks, months, years (and few "
               "variations)",
               (int) ulen, unit);
}

int
za_duration_parse (const char *s, uint64_t *out_ns, char **reason)
{
  struct dur d = { (const unsigned char *) s, strlen (s), 0, 0, 0 };
  uint64_t n, total;
  int r;

  r = dur_first_digit (&d, &n, reason);
  if (r < 0)
    return -1;
  if (r == 0)
    return fail (reason, "value was empty");
  for (;;)
    {
      size_t off = d.pos, start;
      bool next_number = false;

      /* The number: digits, with blanks between them ignored.  */
      while (d.pos < d.len)
        {
          long c = dur_next (&d);
          if (c >= '0' && c <= '9')
            {
              if (__builtin_mul_overflow (n, 10, &n)
                  || __builtin_add_overflow (n, (uint64_t) (c - '0'), &n))
                return dur_overflow (reason);
            }
          else if (is_unit_char (c))
            break;
          else if (!is_uspace (c))
            return fail (reason, "invalid character at %zu", off);
          off = d.pos;
        }

      /* The unit: letters up to a blank, a digit or the end.  */
      start = off;
      off = d.pos;
      while (d.pos < d.len)
        {
          long c = dur_next (&d);
          if (c >= '0' && c <= '9')
            {
              if (dur_add_unit (&d, n, start, off, reason) < 0)
                return -1;
              n = (uint64_t) (c - '0');
              next_number = true;
              break;
            }
          if (is_uspace (c))
            break;
          if (!is_unit_char (c))
            return fail (reason, "invalid character at %zu", off);
          off = d.pos;
        }
      if (next_number)
        continue;
      if (dur_add_unit (&d, n, start, off, reason) < 0)
        return -1;
      r = dur_first_digit (&d, &n, reason);
      if (r < 0)
        return -1;
      if (r == 0)
        break;
    }
  if (__builtin_mul_overflow (d.sec, NSEC_PER_SEC, &total)
      || __builtin_add_overflow (total, d.nsec, &total))
    return dur_overflow (reason);
  *out_ns = total;
  return 0;
}


int
za_reasonf (char **reason, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;
  if (!reason)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  *reason = msg;
  return -1;
}
