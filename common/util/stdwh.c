/*
 * stdwh.c: Standard Webhooks v1.0.0, symmetric scheme.
 *
 * The signed content is "<webhook-id>.<webhook-timestamp>.<raw body>", the
 * MAC is HMAC-SHA256 keyed with the base64 part of "whsec_<base64>", and
 * the header carries one or more space-separated "v1,<base64 MAC>".
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define STDWH_PREFIX	"whsec_"
#define STDWH_CONTENT_MAX (1024 * 1024 * 64)

/* Decode "whsec_<base64>" (the prefix is optional) into k. */
int
stdwh_key_parse(const char *s, struct stdwh_key *k)
{
	unsigned char	tmp[STDWH_KEYMAX + 3];

	if (strncmp(s, STDWH_PREFIX, strlen(STDWH_PREFIX)) == 0)
		s += strlen(STDWH_PREFIX);
	if (b64_decode(s, tmp, sizeof(tmp), &k->len) == -1 ||
	    k->len < 1 || k->len > STDWH_KEYMAX)
		return (-1);
	memcpy(k->key, tmp, k->len);
	return (0);
}

/* The raw MAC of id.ts.body. */
static void
stdwh_mac(const struct stdwh_key *k, const char *id, const char *ts,
    const void *body, size_t len, unsigned char mac[HMAC_SHA256_LEN])
{
	struct buf	content;

	buf_init(&content);
	buf_adds(&content, id);
	buf_addc(&content, '.');
	buf_adds(&content, ts);
	buf_addc(&content, '.');
	buf_add(&content, body, len);
	hmac_sha256(k->key, k->len, content.data, content.len, mac);
	buf_free(&content);
}

/* Write "v1,<base64>" for id, timestamp and body into sig. */
void
stdwh_sign(const struct stdwh_key *k, const char *id, int64_t ts,
    const void *body, size_t len, char sig[STDWH_SIGLEN])
{
	unsigned char	mac[HMAC_SHA256_LEN];
	char		tsbuf[32];

	snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, ts);
	stdwh_mac(k, id, tsbuf, body, len, mac);
	memcpy(sig, "v1,", 3);
	b64_encode(mac, sizeof(mac), sig + 3, STDWH_SIGLEN - 3);
}

/*
 * Verify the webhook-id, webhook-timestamp and webhook-signature headers
 * against any of nkeys keys, with now in seconds.  Every v1 signature in
 * the header is tried against every key, and compared in constant time.
 */
enum stdwh_result
stdwh_verify(const struct stdwh_key *keys, size_t nkeys, const char *id,
    const char *ts, const char *sigs, const void *body, size_t len,
    int64_t now)
{
	unsigned char	 mac[HMAC_SHA256_LEN], want[HMAC_SHA256_LEN + 3];
	const char	*p, *end;
	char		 one[STDWH_SIGLEN + 8], *ep;
	long long	 t;
	size_t		 i, n, wlen;
	int		 ok = 0;

	if (id == NULL || *id == '\0' || ts == NULL || *ts == '\0' ||
	    sigs == NULL || *sigs == '\0')
		return (STDWH_MISSING);
	errno = 0;
	t = strtoll(ts, &ep, 10);
	if (errno != 0 || *ep != '\0' || !isdigit((unsigned char)*ts))
		return (STDWH_BADTIME);
	if (t < now - STDWH_TOLERANCE || t > now + STDWH_TOLERANCE)
		return (STDWH_BADTIME);

	for (i = 0; i < nkeys; i++) {
		stdwh_mac(&keys[i], id, ts, body, len, mac);
		for (p = sigs; *p != '\0'; p = end) {
			while (*p == ' ')
				p++;
			if (*p == '\0')
				break;
			if ((end = strchr(p, ' ')) == NULL)
				end = p + strlen(p);
			n = (size_t)(end - p);
			if (n < 4 || n >= sizeof(one) ||
			    strncmp(p, "v1,", 3) != 0)
				continue;
			memcpy(one, p + 3, n - 3);
			one[n - 3] = '\0';
			if (b64_decode(one, want, sizeof(want), &wlen) == -1 ||
			    wlen != sizeof(mac))
				continue;
			/* No early exit: every candidate costs the same. */
			ok |= hmac_equal(mac, want, sizeof(mac));
		}
	}
	return (ok ? STDWH_OK : STDWH_MISMATCH);
}

const char *
stdwh_strerror(enum stdwh_result r)
{
	switch (r) {
	case STDWH_OK:
		return ("ok");
	case STDWH_MISSING:
		return ("missing webhook-id, webhook-timestamp or "
		    "webhook-signature header");
	case STDWH_BADTIME:
		return ("webhook-timestamp is malformed or outside the "
		    "5 minute tolerance");
	case STDWH_MISMATCH:
		return ("no webhook-signature matches");
	}
	return ("unknown");
}
