/*
 * claim.c: one revision of a claim, as stored, and its JSON form.
 */
#include <stdlib.h>
#include <string.h>

#include "record/record.h"


void
claim_clear(struct claim *c)
{
	free(c->type);
	free(c->id);
	free(c->properties);
	free(c->links);
	free(c->basis);
	free(c->about);
	memset(c, 0, sizeof(*c));
}

/* The API's form of a claim revision. */
json_object *
claim_to_json(const struct claim *c)
{
	json_object	*o, *p;
	char		 t[MP_TIMELEN];

	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(c->type));
	json_object_object_add(o, "id", json_object_new_string(c->id));
	if (c->about != NULL)
		json_object_object_add(o, "about",
		    json_object_new_string(c->about));
	p = json_tokener_parse(c->properties);
	json_object_object_add(o, "properties", p ? p :
	    json_object_new_object());
	json_object_object_add(o, "revision",
	    json_object_new_int64(c->revision));
	p = json_tokener_parse(c->basis);
	json_object_object_add(o, "basis", p ? p : json_object_new_array());
	if (c->links != NULL && strcmp(c->links, "{}") != 0 &&
	    (p = json_tokener_parse(c->links)) != NULL)
		json_object_object_add(o, "links", p);
	tf_format(c->time, t);
	json_object_object_add(o, "time", json_object_new_string(t));
	tf_format(c->recorded_at, t);
	json_object_object_add(o, "recorded_at", json_object_new_string(t));
	tf_format(c->anchor, t);
	json_object_object_add(o, "period_anchor", json_object_new_string(t));
	return (o);
}
