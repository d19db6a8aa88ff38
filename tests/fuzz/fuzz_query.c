/*
 * fuzz_query.c: the read API's query strings: libevent's
 * evhttp_parse_query_str, then the receiver's own readers (api_query_int
 * with the bounds the endpoints use, tf_parse for as_of/from/to).
 * Invariants: an integer accepted is within its bounds; a time accepted
 * formats and parses back to itself.
 */
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "fuzz.h"
#include "milepostd.h"

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
	static const char	*tkeys[] = { "as_of", "from", "to", "since" };
	struct evkeyvalq	 q;
	const char		*v;
	char			 s[2048], t[MP_TIMELEN];
	long long		 n;
	int64_t			 us, back;
	size_t			 len = size < sizeof(s) - 1 ? size : sizeof(s) - 1, i;

	memcpy(s, data, len);
	s[len] = '\0';
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(s, &q) == 0) {
		if (api_query_int(&q, "limit", 100, 1, 1000, &n) == 0 &&
		    (n < 1 || n > 1000))
			fuzz_fail("limit %lld accepted outside [1, 1000]", n);
		if (api_query_int(&q, "after", 0, 0, INT64_MAX, &n) == 0 &&
		    n < 0)
			fuzz_fail("after %lld accepted below 0", n);
		for (i = 0; i < sizeof(tkeys) / sizeof(tkeys[0]); i++) {
			if ((v = evhttp_find_header(&q, tkeys[i])) == NULL ||
			    tf_parse(v, &us) == -1)
				continue;
			tf_format(us, t);
			if (tf_parse(t, &back) == -1 || back != us)
				fuzz_fail("%s=%s: %lld formats as %s, which "
				    "parses to %lld", tkeys[i], v,
				    (long long)us, t, (long long)back);
		}
	}
	evhttp_clear_headers(&q);
	return (0);
}
