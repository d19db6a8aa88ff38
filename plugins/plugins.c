/* plugins.c: the table of inbound sources, one file per tool. */
#include <stddef.h>

#include "milepost.h"

extern const struct mp_source source_github;

const struct mp_source *source_table[] = {
	&source_github,
	NULL,
};
