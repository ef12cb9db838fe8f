/* Hooks between the CLI and the library that are not public API.  */
#ifndef ZA_API_INTERNAL_H
#define ZA_API_INTERNAL_H

#include "oci/image_config.h"
#include "zagent.h"

/* Use IC (ownership taken) as the image config.  */
void za_api_options_take_image_config (zagent_options *o, struct za_image_config *ic);

#endif
