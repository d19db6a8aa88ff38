/*
 * fuzz_mergepatch.c: JSON merge patches (RFC 7396, util/mergepatch.c), the
 * outbox's differential pushes.  The input is two JSON documents a and b
 * separated by the first NUL byte (or a alone, b = {}), each parsed
 * strictly.  A null member cannot be expressed by a merge patch (null
 * deletes), so mergepatch.c treats it as absent, and documents are
 * compared without their null members.  Invariants: apply(a, diff(a, b))
 * equals b; the patch is empty exactly when a and b are equal objects;
 * applying a patch never crashes on any document.
 */
#include <string.h>

#include "fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct json_tokener	*tok;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	tok = strict_new(32);
	return (0);
}

/* Are a and b equal, once their null members are dropped? */
static int
fmp_equal(json_object *a, json_object *b)
{
	json_object	*sa, *sb;
	int		 eq;

	sa = mergepatch_apply(NULL, a);
	sb = mergepatch_apply(NULL, b);
	eq = json_object_equal(sa, sb);
	json_object_put(sa);
	json_object_put(sb);
	return (eq);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *nul;
	json_object	*a, *b, *p, *c, *q;
	char		 why[MP_ERRLEN];
	size_t		 la;

	nul = memchr(s, '\0', size);
	la = nul != NULL ? (size_t)(nul - s) : size;
	if ((a = strict_parse(tok, s, la, why, sizeof(why))) == NULL)
		return (0);
	b = nul != NULL ? strict_parse(tok, nul + 1, size - la - 1, why,
	    sizeof(why)) : json_object_new_object();
	if (b == NULL && nul != NULL) {
		json_object_put(a);
		return (0);
	}
	p = mergepatch_diff(a, b);
	c = mergepatch_apply(a, p);
	if (!fmp_equal(c, b))
		fuzz_fail("apply(a, diff(a, b)) != b: a %s, b %s, patch %s, "
		    "got %s", json_object_to_json_string(a),
		    json_object_to_json_string(b),
		    json_object_to_json_string(p),
		    json_object_to_json_string(c));
	if (json_object_is_type(a, json_type_object) &&
	    json_object_is_type(b, json_type_object) &&
	    mergepatch_empty(p) != fmp_equal(a, b))
		fuzz_fail("diff of %s and %s is %s, but they are %s",
		    json_object_to_json_string(a),
		    json_object_to_json_string(b),
		    json_object_to_json_string(p),
		    fmp_equal(a, b) ? "equal" : "not equal");
	/* b as a patch over a: any document, any patch. */
	q = mergepatch_apply(a, b);
	json_object_put(q);
	json_object_put(c);
	json_object_put(p);
	json_object_put(a);
	json_object_put(b);
	return (0);
}
