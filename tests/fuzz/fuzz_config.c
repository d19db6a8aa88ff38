/*
 * fuzz_config.c: a configuration file.  The input is the file's text,
 * loaded by config_load (through a memfd): YAML into a tree, then the
 * settings, sources, evidence types, claim types and computed claims.
 * A configuration that loads is then asked what the receiver asks of it,
 * and its redaction policy, for every role, is applied to a claim with
 * nested objects and arrays.
 */
#include "fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *claim = "{\"type\":\"Milestone\",\"id\":\"M-1\","
	    "\"properties\":{\"state\":\"slipping\",\"message\":\"m\","
	    "\"deltas\":[{\"reason\":\"r\",\"notes\":\"n\",\"basis\":"
	    "[{\"id\":\"e\",\"seq\":1,\"author\":\"a\"}]},[[{\"x\":{}}]]]},"
	    "\"links\":{\"tenant\":\"acme\",\"url\":\"u\"},\"basis\":[]}";
	struct config	*cf;
	json_object	*o;
	char		 err[MP_ERRLEN];
	size_t		 i;
	int		 r;

	if ((cf = fuzz_config_text((const char *)data, size, err,
	    sizeof(err))) == NULL)
		return (0);
	for (i = 0; source_table[i] != NULL; i++)
		(void)config_source(cf, source_table[i]);
	(void)config_token_role(cf, "fuzz-reader-token-0123456789", NULL);
	for (r = ROLE_CLIENT; r <= ROLE_ADMIN; r++) {
		if ((o = json_tokener_parse(claim)) == NULL)
			abort();
		(void)redact_apply(cf->redaction, (enum role)r, o);
		json_object_put(o);
	}
	config_free(cf);
	return (0);
}
