/* Edit distance for suggestions (the optimal string alignment variant of
   Damerau-Levenshtein, as git's and cargo's "did you mean" use).  */
#include "util/suggest.h"

#include <ctype.h>
#include <string.h>

#define SUGGEST_MAX 64

/* The distance between A and B (both at most SUGGEST_MAX bytes), or
   LIMIT + 1 once it exceeds LIMIT.  */
static size_t
distance (const char *a, size_t la, const char *b, size_t lb, size_t limit)
{
  size_t d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
  if ((la > lb ? la - lb : lb - la) > limit)
    return limit + 1;
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++)
      {
        size_t cost = tolower ((unsigned char) a[i - 1]) != tolower ((unsigned char) b[j - 1]);
        size_t v = d[i - 1][j - 1] + cost;
        if (d[i - 1][j] + 1 < v)
          v = d[i - 1][j] + 1;
        if (d[i][j - 1] + 1 < v)
          v = d[i][j - 1] + 1;
        if (i > 1 && j > 1 && tolower ((unsigned char) a[i - 1]) == tolower ((unsigned char) b[j - 2])
            && tolower ((unsigned char) a[i - 2]) == tolower ((unsigned char) b[j - 1]) && d[i - 2][j - 2] + 1 < v)
          v = d[i - 2][j - 2] + 1;
        d[i][j] = v;
      }
  return d[la][lb];
}

const char *
za_suggest (const char *word, const void *arr, size_t n, const char *(*name) (const void *arr, size_t i))
{
  size_t lw = strlen (word), best_d = (size_t) -1;
  const char *best = NULL;
  if (lw == 0 || lw > SUGGEST_MAX)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      const char *c = name (arr, i);
      size_t lc = strlen (c), limit = lc <= 5 ? 1 : lc <= 9 ? 2 : 3, dist;
      if (limit >= lw)
        limit = lw - 1;
      if (lc > SUGGEST_MAX)
        continue;
      dist = distance (word, lw, c, lc, limit);
      if (dist <= limit && dist < best_d)
        {
          best = c;
          best_d = dist;
        }
    }
  return best;
}

static const char *
str_at (const void *arr, size_t i)
{
  return ((const char *const *) arr)[i];
}

const char *
za_suggest_str (const char *word, const char *const *names)
{
  size_t n = 0;
  while (names[n])
    n++;
  return za_suggest (word, names, n, str_at);
}
