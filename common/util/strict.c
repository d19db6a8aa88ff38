/*
 * strict.c: strict JSON for network input.  json-c's tokener with
 * JSON_TOKENER_STRICT and a depth limit, and nothing but white space
 * after the value: "{} x" is as malformed as "{", and no number that is
 * not finite (json-c's strict mode still takes NaN, Infinity and 1e999,
 * which RFC 8259 does not, and which no JSON text can carry back out).
 * One wording for every
 * caller (the receiver's bodies, the CloudEvents source, the override
 * endpoint).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

/* A strict tokener (taken: json_tokener_free), reusable by one thread. */
struct json_tokener *
strict_new(int depth)
{
	struct json_tokener	*tok;

	if ((tok = json_tokener_new_ex(depth)) == NULL)
		fatalx("%s: json_tokener_new_ex", __func__);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	return (tok);
}

/* Does o hold a number that is not finite, at any depth? */
static int
strict_nonfinite(json_object *o)
{
	size_t	i, n;

	switch (json_object_get_type(o)) {
	case json_type_double:
		return (!isfinite(json_object_get_double(o)));
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (strict_nonfinite(v))
				return (1);
		}
		return (0);
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (strict_nonfinite(json_object_array_get_idx(o, i)))
				return (1);
		return (0);
	default:
		return (0);
	}
}

/*
 * Parse len bytes of body with tok (reset first).  Returns the tree
 * (taken), or NULL with why: "malformed JSON at byte N: reason", or
 * "malformed JSON: trailing data at byte N".
 */
json_object *
strict_parse(struct json_tokener *tok, const char *body, size_t len,
    char *why, size_t wlen)
{
	enum json_tokener_error	 e;
	json_object		*o;
	size_t			 off;

	if (len > INT_MAX) {
		snprintf(why, wlen, "the body is too large");
		return (NULL);
	}
	json_tokener_reset(tok);
	if ((o = json_tokener_parse_ex(tok, body, (int)len)) == NULL) {
		e = json_tokener_get_error(tok);
		snprintf(why, wlen, "malformed JSON at byte %zu: %s",
		    json_tokener_get_parse_end(tok),
		    e == json_tokener_continue ? "unexpected end of input" :
		    json_tokener_error_desc(e));
		return (NULL);
	}
	for (off = json_tokener_get_parse_end(tok); off < len; off++)
		if (strchr(" \t\r\n", body[off]) == NULL) {
			snprintf(why, wlen, "malformed JSON: trailing data at "
			    "byte %zu", off);
			json_object_put(o);
			return (NULL);
		}
	if (strict_nonfinite(o)) {
		snprintf(why, wlen, "malformed JSON: a number that is not "
		    "finite (NaN, Infinity or out of range)");
		json_object_put(o);
		return (NULL);
	}
	return (o);
}
