/* "Did you mean …?": the known name nearest to a misspelt one.  */
#ifndef ZA_UTIL_SUGGEST_H
#define ZA_UTIL_SUGGEST_H

#include <stddef.h>

/* The name among N (NAME (ARR, i) is the i-th) nearest to WORD by edit
   distance (insertions, deletions, substitutions and swaps of two
   neighbours each count one; case is ignored), when it is close enough to
   be a typo of it: at most 1 edit for a name of up to 5 characters, 2 up
   to 9, 3 beyond, and fewer edits than WORD has characters.  NULL when
   none is (or WORD is longer than 64 bytes).  Ties go to the first.  */
const char *za_suggest (const char *word, const void *arr, size_t n, const char *(*name) (const void *arr, size_t i));

/* The same over a NULL-terminated array of strings.  */
const char *za_suggest_str (const char *word, const char *const *names);

#endif
