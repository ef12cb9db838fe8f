/* Syntax checks for spec values that zlayer hands to Rust crates: durations
   (humantime 2.3), cron schedules (cron 0.15) and image references
   (docker/distribution grammar).  Each one accepts what the crate accepts,
   so a spec that passes here does not fail later at deploy time, and says
   why in words a user can act on.

   All three return 0 on success and leave *REASON alone.  On failure they
   return -1 and set *REASON to a malloc'd message the caller frees; it is
   NULL if that allocation failed.  REASON may be NULL when the caller only
   needs the verdict.  */
#ifndef ZA_SPEC_SYNTAX_H
#define ZA_SPEC_SYNTAX_H

#include <stddef.h>
#include <stdint.h>

#include "util/duration.h"

/* cron's Schedule::from_str: @yearly, @monthly, @weekly, @daily, @hourly,
   or 6 or 7 fields "sec min hour day-of-month month day-of-week [year]".
   Day of week runs 1-7 with 1 = Sunday.  Classic 5-field Unix cron lines
   are rejected, as the crate rejects them.  */
int za_cron_check (const char *expr, char **reason);

/* An image reference "[domain/]path[:tag][@digest]", e.g. "nginx:alpine",
   "ghcr.io/org/app:v1", "localhost:5000/app", "busybox@sha256:<64 hex>".  */
int za_image_ref_check (const char *ref, char **reason);

/* Where the parts of a reference that za_image_ref_check accepted lie
   (byte offsets into REF): the domain is REF[0, domain_len) (0: none, the
   first component does not name a registry), the path REF[path_start,
   name_len), the tag REF[tag_start, tag_end) (tag_start == tag_end: none)
   and the digest REF[digest_start, strlen) (0: none).  image/ref.c
   normalises from this, so checking and pulling read a name alike.  */
struct za_image_ref_split
{
  size_t domain_len, path_start, name_len, tag_start, tag_end, digest_start;
};
int za_image_ref_split (const char *ref, struct za_image_ref_split *out, char **reason);

#endif
