/* Memory sizes (one parser for the validator and the bundle).  */
#ifndef ZA_UNITS_H
#define ZA_UNITS_H

#include <stdbool.h>
#include <stdint.h>

enum za_mem_status
{
  ZA_MEM_OK,
  ZA_MEM_EMPTY,
  ZA_MEM_BAD_NUMBER,
  ZA_MEM_OVERFLOW, /* does not fit a signed 64-bit byte count */
};

/* Grammar of the reference bundle parser: trimmed; digits (optional '+')
   followed by Ki Mi Gi Ti (binary), K M G T / k m g t (decimal; `m` is
   mega, not Kubernetes milli) or nothing (bytes).  *BINARY_SUFFIX tells
   whether the suffix was one of Ki/Mi/Gi/Ti (the only ones the spec
   validator accepts).  */
enum za_mem_status za_parse_memory (const char *s, int64_t *bytes, bool *binary_suffix);

#endif
