/*
 * fuzz_urltemplate.c: a sink's URL template (sinks/sink.c:
 * sink_template_check, which the configuration runs, and sink_expand,
 * which every push runs).  The input is the template, then up to four
 * values separated by NUL bytes: the claim's type, its id, a link value
 * (links "repo", "host" and "x") and a property value (properties
 * "state", "service" and "x").
 *
 * Invariants, whether the check takes the template or not: expansion
 * never crashes or reads or writes out of bounds (ASan); it refuses
 * (NULL) only when a value is "." or ".."; a value adds only RFC 3986
 * unreserved bytes and %XX escapes, so the template's own '/', '?', '&',
 * '#' ... are exactly those of the URL (compared with the expansion in
 * which every value is missing); each value decodes back to itself.  When
 * the check takes the template: the scheme and host are the template's,
 * byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fuzz.h"
#include "sinks/sink.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUT_SAFE	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789-._~%"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return (0);
}

/* s without the bytes a value may add (taken). */
static char *
fut_skeleton(const char *s)
{
	char	*out = xstrdup(s), *o = out;

	for (; *s != '\0'; s++)
		if (strchr(FUT_SAFE, *s) == NULL)
			*o++ = *s;
	*o = '\0';
	return (out);
}

/* Where the path starts, as sink.c says: after scheme://host[:port]. */
static size_t
fut_path_start(const char *url)
{
	const char	*p;

	if ((p = strstr(url, "://")) == NULL)
		return (strlen(url));
	p += 3;
	return ((size_t)(p - url) + strcspn(p, "/?#"));
}

static int
fut_dot(const char *v)
{
	return (v != NULL && (strcmp(v, ".") == 0 || strcmp(v, "..") == 0));
}

/* sink_encode(v) decodes back to v. */
static void
fut_roundtrip(const char *v)
{
	char	*enc, *dec;
	int	 n;

	if (v == NULL || fut_dot(v))
		return;
	if ((enc = sink_encode(v)) == NULL)
		fuzz_fail("sink_encode refused [%s]", v);
	if (strspn(enc, FUT_SAFE) != strlen(enc))
		fuzz_fail("sink_encode [%s] is [%s]", v, enc);
	if ((dec = curl_easy_unescape(NULL, enc, 0, &n)) == NULL ||
	    (size_t)n != strlen(v) || memcmp(dec, v, (size_t)n) != 0)
		fuzz_fail("[%s] encoded as [%s] decodes differently", v, enc);
	curl_free(dec);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sinkconf	 sc;
	struct sink_msg	 m, none;
	json_object	*links, *want;
	const char	*v[5] = { NULL };
	char		*in, *p, *full, *bare, *sf, *sb, err[MP_ERRLEN];
	size_t		 i, k, start;
	int		 ok;

	in = xmalloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	for (p = in, i = 0; i < 5 && p <= in + size; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	links = json_object_new_object();
	want = json_object_new_object();
	if (v[3] != NULL) {
		json_object_object_add(links, "repo", json_object_new_string(v[3]));
		json_object_object_add(links, "host", json_object_new_string(v[3]));
		json_object_object_add(links, "x", json_object_new_string(v[3]));
	}
	if (v[4] != NULL) {
		json_object_object_add(want, "state", json_object_new_string(v[4]));
		json_object_object_add(want, "service", json_object_new_string(v[4]));
		json_object_object_add(want, "x", json_object_new_string(v[4]));
	}
	memset(&sc, 0, sizeof(sc));
	memset(&m, 0, sizeof(m));
	m.sc = &sc;
	m.ctype = v[1];
	m.id = v[2];
	m.msgid = "msg_fuzz";
	m.links = links;
	m.want = want;
	none = m;
	none.ctype = none.id = NULL;
	none.links = none.want = NULL;

	ok = sink_template_check(in, err, sizeof(err)) == 0;
	if (!ok && err[0] == '\0')
		fuzz_fail("[%s] refused without a reason", in);
	full = sink_expand(in, &m);
	if ((bare = sink_expand(in, &none)) == NULL)
		fuzz_fail("[%s] with no values expands to NULL", in);
	for (k = 1; k < 5; k++)
		fut_roundtrip(v[k]);
	if (full == NULL) {
		for (k = 1; k < 5; k++)
			if (fut_dot(v[k]))
				break;
		if (k == 5)
			fuzz_fail("[%s] refused with no dot value", in);
		goto out;
	}
	sf = fut_skeleton(full);
	sb = fut_skeleton(bare);
	if (strcmp(sf, sb) != 0)
		fuzz_fail("a value left its segment: [%s] is [%s]", in, full);
	free(sf);
	free(sb);
	if (ok) {
		start = fut_path_start(in);
		if (strncmp(full, in, start) != 0 ||
		    fut_path_start(full) != start)
			fuzz_fail("[%s]: the host changed: [%s]", in, full);
	}
out:
	free(full);
	free(bare);
	json_object_put(links);
	json_object_put(want);
	free(in);
	return (0);
}
