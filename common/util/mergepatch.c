/*
 * mergepatch.c: JSON merge patches (RFC 7396), computed and applied with
 * json-c.  A patch names every member that changed: a new or changed value
 * as itself (objects recursively), a removed member as null.  Arrays and
 * scalars are replaced whole, as the RFC has it; a null inside a document
 * cannot be expressed and is treated as absent.
 */
#include <string.h>

#include "util/util.h"

/* Is patch an object with no members, i.e. no change? */
int
mergepatch_empty(json_object *patch)
{
	return (json_object_is_type(patch, json_type_object) &&
	    json_object_object_length(patch) == 0);
}

/* A deep copy of o (taken); NULL stays NULL. */
static json_object *
mergepatch_copy(json_object *o)
{
	json_object	*c = NULL;

	if (o != NULL && json_object_deep_copy(o, &c, NULL) != 0)
		fatalx("%s: json_object_deep_copy", __func__);
	return (c);
}

/*
 * The patch that turns from into to (both borrowed; either may be NULL,
 * meaning "nothing").  Returns a new object (taken): {} when equal.
 */
json_object *
mergepatch_diff(json_object *from, json_object *to)
{
	json_object	*patch, *fv, *sub;

	if (!json_object_is_type(to, json_type_object))
		return (to == NULL ? json_object_new_object() :
		    mergepatch_copy(to));
	if (!json_object_is_type(from, json_type_object)) {
		/* Everything is new: to itself, without its nulls. */
		return (mergepatch_apply(NULL, to));
	}
	patch = json_object_new_object();
	json_object_object_foreach(from, k, v) {
		json_object *tv;

		if (v != NULL && (!json_object_object_get_ex(to, k, &tv) ||
		    tv == NULL))
			json_object_object_add(patch, k, NULL);
	}
	json_object_object_foreach(to, k2, tv2) {
		if (tv2 == NULL)
			continue;
		if (!json_object_object_get_ex(from, k2, &fv) || fv == NULL) {
			json_object_object_add(patch, k2,
			    mergepatch_diff(NULL, tv2));
			continue;
		}
		if (json_object_equal(fv, tv2))
			continue;
		if (json_object_is_type(fv, json_type_object) &&
		    json_object_is_type(tv2, json_type_object)) {
			sub = mergepatch_diff(fv, tv2);
			if (mergepatch_empty(sub))
				json_object_put(sub);
			else
				json_object_object_add(patch, k2, sub);
		} else
			json_object_object_add(patch, k2,
			    mergepatch_copy(tv2));
	}
	return (patch);
}

/*
 * RFC 7396 MergePatch(target, patch) over copies: returns a new document
 * (taken).  target may be NULL.
 */
json_object *
mergepatch_apply(json_object *target, json_object *patch)
{
	json_object	*out, *cur;

	if (!json_object_is_type(patch, json_type_object))
		return (mergepatch_copy(patch));
	out = json_object_is_type(target, json_type_object) ?
	    mergepatch_copy(target) : json_object_new_object();
	json_object_object_foreach(patch, k, v) {
		if (v == NULL) {
			json_object_object_del(out, k);
			continue;
		}
		cur = NULL;
		json_object_object_get_ex(out, k, &cur);
		json_object_object_add(out, k, mergepatch_apply(cur, v));
	}
	return (out);
}
