#define _GNU_SOURCE
#include "spec/units.h"

#include <ctype.h>
#include <string.h>

enum za_mem_status
za_parse_memory (const char *s, int64_t *bytes, bool *binary_suffix)
{
  static const struct
  {
    const char *sfx;
    uint64_t mul;
    bool bin;
  } units[] = {
    { "Ki", 1ull << 10, true }, { "Mi", 1ull << 20, true }, { "Gi", 1ull << 30, true },
    { "Ti", 1ull << 40, true }, { "K", 1000ull, false },     { "k", 1000ull, false },
    { "M", 1000000ull, false }, { "m", 1000000ull, false },  { "G", 1000000000ull, false },
    { "g", 1000000000ull, false }, { "T", 1000000000000ull, false },
    { "t", 1000000000000ull, false },
  };
  size_t len, b = 0;
  uint64_t mul = 1, num = 0;
  bool bin = false;

  while (*s && isspace ((unsigned char) *s))
    s++;
  len = strlen (s);
  while (len && isspace ((unsigned char) s[len - 1]))
    len--;
  if (!len)
    return ZA_MEM_EMPTY;
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    {
      size_t sl = strlen (units[i].sfx);
      if (len >= sl && memcmp (s + len - sl, units[i].sfx, sl) == 0)
        {
          len -= sl;
          mul = units[i].mul;
          bin = units[i].bin;
          break;
        }
    }
  if (len && s[0] == '+')
    b = 1;
  if (b == len)
    return ZA_MEM_BAD_NUMBER;
  for (size_t i = b; i < len; i++)
    {
      if (!isdigit ((unsigned char) s[i]))
        return ZA_MEM_BAD_NUMBER;
      if (__builtin_mul_overflow (num, 10, &num) || __builtin_add_overflow (num, (uint64_t) (s[i] - '0'), &num))
        return ZA_MEM_OVERFLOW;
    }
  if (__builtin_mul_overflow (num, mul, &num) || num > (uint64_t) INT64_MAX)
    return ZA_MEM_OVERFLOW;
  *bytes = (int64_t) num;
  if (binary_suffix)
    *binary_suffix = bin;
  return ZA_MEM_OK;
}
