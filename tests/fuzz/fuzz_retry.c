/*
 * fuzz_retry.c: a sink's Retry-After header (outbox_retry_after: seconds,
 * or an HTTP date through libcurl's curl_getdate).  Invariants: the delay
 * is -1 (absent or unreadable) or within [0, 1 hour]; a plain number of
 * seconds N gives min(N, 3600) seconds exactly.
 */
#include <stdlib.h>
#include <string.h>

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
	char		 v[256], *end;
	int64_t		 d, now = (int64_t)FUZZ_NOW * 1000000;
	long long	 n;
	size_t		 len = size < sizeof(v) - 1 ? size : sizeof(v) - 1;
	int		 digits;

	memcpy(v, data, len);
	v[len] = '\0';
	d = outbox_retry_after(v, now);
	if (d != -1 && (d < 0 || d > 3600LL * 1000000))
		fuzz_fail("Retry-After [%s]: a delay of %lld us", v,
		    (long long)d);
	digits = len > 0 && len < 18 && strspn(v, "0123456789") == len;
	if (digits) {
		n = strtoll(v, &end, 10);
		if (d != (n > 3600 ? 3600 : n) * 1000000LL)
			fuzz_fail("Retry-After [%s]: %lld us, not %lld s", v,
			    (long long)d, n > 3600 ? 3600 : n);
	}
	return (0);
}
