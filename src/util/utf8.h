/* UTF-8 validation: config.json is JSON, so every string that reaches it
   from the host (env, secrets, options) must be valid UTF-8.  */
#ifndef ZA_UTF8_H
#define ZA_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Well-formed UTF-8 (no overlongs, surrogates or code points above
   U+10FFFF) and no NUL in the first LEN bytes.  */
bool za_utf8_valid (const char *s, size_t len);

#endif
