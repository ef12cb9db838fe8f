#define _GNU_SOURCE
#include "util/utf8.h"

#include <stdint.h>

bool
za_utf8_valid (const char *str, size_t len)
{
  const unsigned char *s = (const unsigned char *) str;
  size_t i = 0;
  while (i < len)
    {
      unsigned char c = s[i];
      uint32_t cp;
      size_t n;
      if (c == 0)
        return false;
      if (c < 0x80)
        {
          i++;
          continue;
        }
      if (c >= 0xC2 && c <= 0xDF)
        n = 1, cp = c & 0x1F;
      else if (c >= 0xE0 && c <= 0xEF)
        n = 2, cp = c & 0x0F;
      else if (c >= 0xF0 && c <= 0xF4)
        n = 3, cp = c & 0x07;
      else
        return false;
      for (size_t k = 1; k <= n; k++)
        {
          if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
            return false;
          cp = (cp << 6) | (s[i + k] & 0x3F);
        }
      if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF
          || (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
      i += n + 1;
    }
  return true;
}
