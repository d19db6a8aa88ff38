/* plugins.c: the table of inbound sources, one file per tool. */
#include <stddef.h>

#include "plugins/source.h"

extern const struct mp_source source_alertmanager;
extern const struct mp_source source_argocd;
extern const struct mp_source source_cdevents;
extern const struct mp_source source_github;
extern const struct mp_source source_gitlab;
extern const struct mp_source source_jenkins;
extern const struct mp_source source_pagerduty;

const struct mp_source *source_table[] = {
	&source_alertmanager,
	&source_argocd,
	&source_cdevents,
	&source_github,
	&source_gitlab,
	&source_jenkins,
	&source_pagerduty,
	NULL,
};
