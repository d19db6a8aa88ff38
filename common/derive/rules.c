/*
 * rules.c: the definitions derivation runs on, apart from the evidence
 * types they refer to (record/ knows nothing of them).
 */
#include <stdlib.h>

#include "derive/derive.h"

/* Empty rules over types (borrowed: it must outlive them). */
struct rules *
rules_new(const struct types *types)
{
	struct rules	*r;

	r = xcalloc(1, sizeof(*r));
	r->types = types;
	return (r);
}

void
rules_free(struct rules *r)
{
	if (r == NULL)
		return;
	claims_free_defs(r);
	computed_free_defs(r);
	deploy_free_conf(r);
	slo_conf_free(r);
	gate_conf_free(r);
	free(r);
}
