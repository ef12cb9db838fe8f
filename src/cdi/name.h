/* CDI device names, a leaf of the cdi module: only libc below it, so the
   spec layer can check `devices:` entries without the rest of cdi/.  */
#ifndef ZA_CDI_NAME_H
#define ZA_CDI_NAME_H

#include <stdbool.h>
#include <stddef.h>

bool za_cdi_vendor_valid (const char *v);
bool za_cdi_class_valid (const char *c);
bool za_cdi_device_name_valid (const char *n);
/* "vendor/class=name" with all parts valid.  */
bool za_cdi_is_qualified (const char *name);
/* Reason text for an invalid qualified name (in BUF), or NULL when valid.  */
const char *za_cdi_qualified_problem (const char *name, char *buf, size_t len);

/* Why vendor or class (WHAT names which) S, or device name S, is invalid
   (in BUF), or NULL.  */
const char *za_cdi_vc_problem (const char *what, const char *s, char *buf, size_t len);
const char *za_cdi_name_problem (const char *s, char *buf, size_t len);

/* S as CDI messages quote it, in BUF: quotes, backslashes and control
   bytes escaped, at most 64 bytes then "...".  */
#define ZA_CDI_QUOTE_MAX 300
const char *za_cdi_quote (char *buf, size_t len, const char *s);
/* A fresh buffer per use: the compound literal lives until the end of the
   enclosing block, i.e. across the call that prints it.  */
#define ZA_CDI_Q(s) za_cdi_quote ((char[ZA_CDI_QUOTE_MAX]) { 0 }, ZA_CDI_QUOTE_MAX, (s))

#endif
