/* Durations as ZLayer writes them (humantime 2.3's parse_duration): a
   value syntax the generic YAML decoder and the CLI both read.  Returns 0,
   or -1 with *REASON a malloc'd message (NULL on OOM; REASON may be NULL).  */
#ifndef ZA_UTIL_DURATION_H
#define ZA_UTIL_DURATION_H

#include <stdint.h>

/* humantime's parse_duration: "30s", "5m30s", "1h 30m", "2days", "100ms".
   Months are 30.44 days and years 365.25 days, as in humantime.  The
   result is in nanoseconds; a total that does not fit in u64 is an error
   even where humantime (which counts seconds) would still accept it.  */
int za_duration_parse (const char *s, uint64_t *out_ns, char **reason);

/* For syntax checkers that explain with a malloc'd *REASON: set it (when
   REASON is not NULL) and return -1.  */
int za_reasonf (char **reason, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#endif
