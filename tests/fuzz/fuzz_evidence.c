/*
 * fuzz_evidence.c: POST /v1/evidence.  The input is the body, one evidence
 * or {"evidence": [...]}; the target signs it with the agent's key and
 * hands it to the receiver's own handler (fuzz_lib.c), which parses it
 * strictly and checks every evidence against the types of the fuzz
 * configuration (the built-in ones, FuzzAll with a property of each kind,
 * FuzzRequired).  Whatever it accepts is checked as the writer stores it,
 * and here against what was sent: the id, type, subject and time that
 * were accepted are the strings that came, whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static json_object	*sent;		/* the body, parsed here too */
static size_t		 nth;		/* evidence accepted so far */

/* A string field of an accepted item must not have lost a part. */
static void
check_field(const struct evidence *ev, json_object *item, const char *key)
{
	json_object	*v;

	if (json_object_object_get_ex(item, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		fuzz_fail("%s %s: accepted a %s that holds a NUL, stored cut "
		    "short", ev->type, ev->id, key);
}

static void
accepted(const struct evidence *ev)
{
	json_object	*item = sent, *list;

	if (sent == NULL)
		return;
	if (json_object_object_get_ex(sent, "evidence", &list))
		item = json_object_array_get_idx(list, nth);
	nth++;
	check_field(ev, item, "id");
	check_field(ev, item, "type");
	check_field(ev, item, "subject");
	check_field(ev, item, "time");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	fuzz_accepted = accepted;
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	err[MP_ERRLEN];

	sent = fuzz_parse_json((const char *)data, size, err, sizeof(err));
	nth = 0;
	fuzz_http_evidence((const char *)data, size);
	json_object_put(sent);
	sent = NULL;
	return (0);
}
