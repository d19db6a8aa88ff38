/*
 * fuzz_source.c: the target of one inbound source, compiled once per
 * source with -DFUZZ_SOURCE='"github"' (and so on) into fuzz-github.
 *
 * The input is headers and a body (fuzz_input_parse in fuzz_lib.c).  Each
 * step runs whatever the one before it said, since a normalizer must
 * survive anything that reaches it:
 *   1. the source's verify, with the input's headers (mostly refused);
 *   2. the receiver's strict parse of the body (a raw_body source also
 *      takes one that is not JSON, as NULL), then
 *      delivery_id and normalize, with a fixed delivery id when it has
 *      none, and evidence_from_json on every evidence normalized, each
 *      then checked as the writer stores it;
 *   3. the receiver's POST /hooks/{source} handler with the same request
 *      plus credentials that pass, so the same path runs end to end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_SOURCE
#error "build with -DFUZZ_SOURCE='\"name\"'"
#endif

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct mp_source	*src;
static const struct source_conf	*sc;
static int			 verbose;	/* FUZZ_VERBOSE set */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	if ((src = source_find(FUZZ_SOURCE)) == NULL ||
	    (sc = config_source(fuzz_cf, src)) == NULL)
		fatalx("no configured source %s", FUZZ_SOURCE);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	return (0);
}

static const char *
fuzz_header(const struct source_req *r, const char *name)
{
	return (fuzz_input_header(r->hctx, name));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input	 in;
	struct source_req	 sr;
	struct evidence		*ev;
	json_object		*payload = NULL, *out;
	char			 why[MP_ERRLEN], prop[128], delivery[MP_IDMAX];
	enum ev_error		 er;
	size_t			 i, n;
	int			 rc;

	fuzz_input_parse(data, size, &in);
	memset(&sr, 0, sizeof(sr));
	sr.body = in.body != NULL ? in.body : "";
	sr.len = in.len;
	sr.header = fuzz_header;
	sr.hctx = &in;
	sr.now = (int64_t)FUZZ_NOW * 1000000;

	rc = src->verify(sc, &sr, why, sizeof(why));
	if (verbose)
		fprintf(stderr, "fuzz: verify %d %s\n", rc, rc ? why : "");

	if ((payload = fuzz_parse_json(sr.body, sr.len, why,
	    sizeof(why))) == NULL && !src->raw_body) {
		if (verbose)
			fprintf(stderr, "fuzz: parse: %s\n", why);
		goto http;
	}
	/* Unterminated, so that an id left without its NUL shows. */
	memset(delivery, 'x', sizeof(delivery));
	if (src->delivery_id(&sr, payload, delivery, sizeof(delivery)) == -1 ||
	    !ident_valid(delivery))
		snprintf(delivery, sizeof(delivery), "fuzz-delivery");
	out = json_object_new_array();
	why[0] = '\0';
	rc = src->normalize(&sr, payload, delivery, out, why, sizeof(why));
	if (verbose)
		fprintf(stderr, "fuzz: delivery %s, normalize %d %s\n",
		    delivery, rc, why);
	if (rc == 0) {
		n = json_object_array_length(out);
		for (i = 0; i < n; i++) {
			er = evidence_from_json(json_object_array_get_idx(out,
			    i), fuzz_cf->types, src->name, NULL, sr.now, &ev,
			    why, sizeof(why), prop, sizeof(prop));
			if (verbose)
				fprintf(stderr, "fuzz: evidence %zu: %s\n", i,
				    er == EV_OK ? "ok" : why);
			if (er != EV_OK)
				continue;
			fuzz_evidence_check(ev);
			evidence_free(ev);
		}
	}
	json_object_put(out);
	json_object_put(payload);
http:
	fuzz_http_hook(src, &in);
	fuzz_input_free(&in);
	return (0);
}
