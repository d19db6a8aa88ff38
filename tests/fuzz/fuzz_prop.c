/*
 * fuzz_prop.c: "milepost emit"'s property arguments, PROP=VALUE and
 * PROP:=JSON (cmd_emit_prop).  The input, up to its first NUL, is one
 * argument.  Invariants: it is refused as a form (-1) exactly when it has
 * no '=', an empty PROP, or is ":=..."; when taken, props holds exactly
 * one member, named the argument's PROP; a PROP=VALUE is the string
 * VALUE; a PROP:=JSON value, printed as JSON, parses back strictly (the
 * receiver's own parse, util/strict.c) to an equal value.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "agent/agent.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct json_tokener	*tok;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	tok = strict_new(64);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object	*props, *v, *back;
	const char	*eq, *text;
	char		*arg, *key, *wrap, why[MP_ERRLEN];
	int		 rc, json;

	arg = xstrndup((const char *)data, size);
	props = json_object_new_object();
	rc = cmd_emit_prop(arg, props);
	eq = strchr(arg, '=');
	if ((rc == -1) != (eq == NULL || eq == arg ||
	    strncmp(arg, ":=", 2) == 0))
		fuzz_fail("[%s]: cmd_emit_prop says %d", arg, rc);
	if (rc != 0) {
		if (json_object_object_length(props) != 0)
			fuzz_fail("[%s]: refused (%d) but props changed", arg,
			    rc);
		goto out;
	}
	json = eq[-1] == ':';
	key = xstrndup(arg, (size_t)(eq - arg) - (json ? 1 : 0));
	if (json_object_object_length(props) != 1 ||
	    !json_object_object_get_ex(props, key, &v))
		fuzz_fail("[%s]: props lacks [%s]", arg, key);
	if (!json) {
		if (!json_object_is_type(v, json_type_string) ||
		    strcmp(json_object_get_string(v), eq + 1) != 0)
			fuzz_fail("[%s]: [%s] is not the string after '='",
			    arg, key);
	} else if (v != NULL) {
		/* In an array, as it travels in "properties". */
		text = json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN);
		xasprintf(&wrap, "[%s]", text);
		if ((back = strict_parse(tok, wrap, strlen(wrap), why,
		    sizeof(why))) == NULL)
			fuzz_fail("[%s]: sent as %s, which the receiver "
			    "refuses: %s", arg, text, why);
		free(wrap);
		if (!json_object_equal(v, json_object_array_get_idx(back, 0)))
			fuzz_fail("[%s]: %s does not parse back to itself",
			    arg, text);
		json_object_put(back);
	}
	free(key);
out:
	json_object_put(props);
	free(arg);
	return (0);
}
