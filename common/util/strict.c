/*
 * strict.c: strict JSON for network input.  json-c's tokener with
 * JSON_TOKENER_STRICT and a depth limit, and nothing but white space
 * after the value: "{} x" is as malformed as "{".  One wording for every
 * caller (the receiver's bodies, the CloudEvents source, the override
 * endpoint).
 */
#include <limits.h>
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
	return (o);
}
