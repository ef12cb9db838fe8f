/* Linux capability names: the 41 the kernel knows, in kernel order.  */
#ifndef ZA_CAPS_H
#define ZA_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#define ZA_CAP_COUNT 41

extern const char *const za_cap_names[ZA_CAP_COUNT]; /* "CAP_CHOWN", … */

/* Look NAME up case-insensitively, with or without (any number of)
   leading "CAP_".  Returns the capability number or -1.  */
int za_cap_lookup (const char *name);
/* "ALL" (any case, optionally CAP_ALL) */
bool za_cap_is_all (const char *name);

/* Docker's 14 default capabilities as a bit set.  */
uint64_t za_cap_default_set (void);
static inline uint64_t
za_cap_all_set (void)
{
  return (UINT64_C (1) << ZA_CAP_COUNT) - 1;
}

#endif
