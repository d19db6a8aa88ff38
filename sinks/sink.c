/*
 * sink.c: the table of outbound sinks and what they share: classifying
 * the sink's answer, building requests (headers, JSON bodies, URL
 * templates) and the Standard Webhooks ed25519 (v1a) signature.
 *
 * Each sink is one file beside this one, exporting a const struct sink.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "sinks/sink.h"

const struct sink *sink_table[] = {
	&sink_webhook,
	&sink_mergepatch,
	&sink_github,
	&sink_opslevel,
	&sink_cortex,
	NULL,
};

/* The sink called name, or NULL. */
const struct sink *
sink_find(const char *name)
{
	const struct sink	**s;

	for (s = sink_table; *s != NULL; s++)
		if (strcmp((*s)->name, name) == 0)
			return (*s);
	return (NULL);
}

/*
 * What an HTTP status means for a push: 2xx delivered; 412 a conflict
 * (the sink's state is not the one we patched); 410 the endpoint is gone;
 * 408, 425, 429 and 5xx transient; 0 (no answer) transient.  Everything
 * else, redirects included (they are never followed), is permanent.
 */
enum sink_verdict
sink_classify(long status)
{
	if (status >= 200 && status < 300)
		return (SINK_OK);
	if (status == 412)
		return (SINK_CONFLICT);
	if (status == 410)
		return (SINK_GONE);
	if (status == 0 || status == 408 || status == 425 || status == 429 ||
	    status >= 500)
		return (SINK_RETRY);
	return (SINK_FAIL);
}

/*
 * Is url, as it will be sent (templates expanded), one that libcurl takes?
 * A URL it rejects (a bad port, a space in the host, an unknown scheme)
 * will never work, however often it is retried.  Returns 0, or -1 with
 * the reason, naming the URL, in err.
 */
int
sink_url_check(const char *url, char *err, size_t errlen)
{
	CURLU		*u;
	CURLUcode	 uc;

	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "malformed sink URL: empty");
		return (-1);
	}
	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "malformed sink URL: out of memory");
		return (-1);
	}
	uc = curl_url_set(u, CURLUPART_URL, url, 0);
	curl_url_cleanup(u);
	if (uc != CURLUE_OK) {
		snprintf(err, errlen, "malformed sink URL %.200s: %s", url,
		    curl_url_strerror(uc));
		return (-1);
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) !=
	    0) {
		snprintf(err, errlen, "malformed sink URL %.200s: not http:// "
		    "or https://", url);
		return (-1);
	}
	return (0);
}

/*
 * What a libcurl failure means for a push: a URL or option that libcurl
 * refuses is permanent (SINK_FAIL: dead-lettered at once, with its
 * reason); a connection, DNS, TLS or timeout failure is transient.
 */
enum sink_verdict
sink_classify_curl(int code)
{
	switch (code) {
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_NOT_BUILT_IN:
		return (SINK_FAIL);
	default:
		return (SINK_RETRY);
	}
}

void
sink_http_clear(struct sink_http *h)
{
	size_t	i;

	free(h->url);
	for (i = 0; i < h->nhdr; i++)
		free(h->hdr[i]);
	buf_free(&h->body);
	memset(h, 0, sizeof(*h));
}

/* Add one "Name: value" header; a full table is a bug. */
void
sink_http_header(struct sink_http *h, const char *fmt, ...)
{
	va_list	ap;

	if (h->nhdr == SINK_HDRMAX)
		fatalx("%s: too many headers", __func__);
	va_start(ap, fmt);
	xvasprintf(&h->hdr[h->nhdr++], fmt, ap);
	va_end(ap);
}

/* The body: o (borrowed) as compact JSON. */
void
sink_body_json(struct sink_http *h, json_object *o)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	buf_reset(&h->body);
	buf_add(&h->body, s, len);
}

static const char *
sink_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return (NULL);
	if (json_object_is_type(v, json_type_object) ||
	    json_object_is_type(v, json_type_array))
		return (NULL);
	return (json_object_get_string(v));
}

/* A property of the wanted state as a string (borrowed), or NULL. */
const char *
sink_prop(const struct sink_msg *m, const char *key)
{
	return (sink_str(m->want, key));
}

/* A link of the claim (borrowed), or NULL. */
const char *
sink_link(const struct sink_msg *m, const char *key)
{
	return (sink_str(m->links, key));
}

/*
 * v percent-encoded for one path segment or query value (taken; free
 * with free): every byte but RFC 3986's unreserved ones is encoded, '/'
 * included, so a value never leaves its segment.  NULL when v is "." or
 * "..", which would stay a dot segment however encoded (servers decode
 * %2E), when v is NULL, or when encoding fails.
 */
char *
sink_encode(const char *v)
{
	char	*enc, *out;

	if (v == NULL || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return (NULL);
	if ((enc = curl_easy_escape(NULL, v, 0)) == NULL)
		return (NULL);
	out = xstrdup(enc);
	curl_free(enc);
	return (out);
}

/*
 * Where a URL's path starts: just after "scheme://host[:port]" (the first
 * '/', '?' or '#' after "://"), or the whole of it when it has no "://".
 */
static size_t
sink_path_start(const char *url)
{
	const char	*p;

	if ((p = strstr(url, "://")) == NULL)
		return (strlen(url));
	p += 3;
	return ((size_t)(p - url) + strcspn(p, "/?#"));
}

/* The value of template key key for m (borrowed), or NULL; -1: not a key. */
static int
sink_key(const char *key, const struct sink_msg *m, const char **v)
{
	*v = NULL;
	if (strcmp(key, "type") == 0)
		*v = m != NULL ? m->ctype : NULL;
	else if (strcmp(key, "id") == 0)
		*v = m != NULL ? m->id : NULL;
	else if (strncmp(key, "link:", 5) == 0 && key[5] != '\0')
		*v = m != NULL ? sink_link(m, key + 5) : NULL;
	else if (strncmp(key, "prop:", 5) == 0 && key[5] != '\0')
		*v = m != NULL ? sink_prop(m, key + 5) : NULL;
	else
		return (-1);
	return (0);
}

/*
 * Is tmpl a closed URL template?  Its placeholders ({type}, {id},
 * {link:NAME}, {prop:NAME}) may stand only in the path and the query,
 * never in the scheme or the host, and no other {...} is allowed.
 * Returns 0, or -1 with why in err.
 */
int
sink_template_check(const char *tmpl, char *err, size_t errlen)
{
	const char	*p, *end, *v;
	char		 key[128];
	size_t		 start = sink_path_start(tmpl), n, q;

	q = strcspn(tmpl, "#");
	for (p = tmpl; (p = strchr(p, '{')) != NULL; p++) {
		if ((size_t)(p - tmpl) < start) {
			snprintf(err, errlen, "a placeholder may stand only in "
			    "the path or the query, never in the scheme or "
			    "the host");
			return (-1);
		}
		if ((size_t)(p - tmpl) > q) {
			snprintf(err, errlen, "a placeholder may stand only in "
			    "the path or the query, not in the fragment");
			return (-1);
		}
		if ((end = strchr(p, '}')) == NULL ||
		    (n = (size_t)(end - p - 1)) >= sizeof(key)) {
			snprintf(err, errlen, "an unclosed { (placeholders "
			    "are {type}, {id}, {link:NAME}, {prop:NAME})");
			return (-1);
		}
		memcpy(key, p + 1, n);
		key[n] = '\0';
		if (sink_key(key, NULL, &v) == -1) {
			snprintf(err, errlen, "unknown placeholder {%s} "
			    "({type}, {id}, {link:NAME}, {prop:NAME})", key);
			return (-1);
		}
	}
	return (0);
}

/*
 * Expand a URL template (taken result): {type} and {id} are the claim's,
 * {link:NAME} and {prop:NAME} its links and properties, each encoded for
 * one segment (sink_encode); a missing value expands to nothing.  Only
 * the path and the query are expanded: a brace in the scheme or the host
 * is copied as it is (and refused when the configuration loads).  NULL
 * when a value cannot stay in its segment ("." or "..").
 */
char *
sink_expand(const char *tmpl, const struct sink_msg *m)
{
	struct buf	 b;
	const char	*p, *end, *v;
	char		 key[128], *enc;
	size_t		 n, start = sink_path_start(tmpl);

	buf_init(&b);
	for (p = tmpl; *p != '\0'; p++) {
		if (*p != '{' || (size_t)(p - tmpl) < start ||
		    (end = strchr(p, '}')) == NULL ||
		    (n = (size_t)(end - p - 1)) >= sizeof(key)) {
			buf_addc(&b, *p);
			continue;
		}
		memcpy(key, p + 1, n);
		key[n] = '\0';
		if (sink_key(key, m, &v) == -1) {
			buf_addc(&b, *p);
			continue;
		}
		if (v != NULL) {
			if ((enc = sink_encode(v)) == NULL) {
				buf_free(&b);
				return (NULL);
			}
			buf_adds(&b, enc);
			free(enc);
		}
		p = end;
	}
	return (buf_steal(&b));
}

/*
 * Standard Webhooks asymmetric signature: "v1a,<base64 ed25519 signature
 * of id.ts.body>" into out, with the 32-byte private key seed.
 */
int
sink_ed25519_sign(const unsigned char *seed, const char *id, int64_t ts,
    const void *body, size_t len, char *out, size_t outlen)
{
	EVP_PKEY	*pk;
	EVP_MD_CTX	*md = NULL;
	struct buf	 content;
	unsigned char	 sig[64];
	size_t		 siglen = sizeof(sig);
	int		 rc = -1;

	if (outlen < 4 + 89)
		return (-1);
	buf_init(&content);
	buf_printf(&content, "%s.%" PRId64 ".", id, ts);
	buf_add(&content, body, len);
	if ((pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    32)) == NULL || (md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)content.data,
	    content.len) != 1)
		goto out;
	memcpy(out, "v1a,", 4);
	b64_encode(sig, siglen, out + 4, outlen - 4);
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	buf_free(&content);
	return (rc);
}

/*
 * Did this push change the object's "state" (or is it the first)?  The
 * event sinks (deploy events, deployment statuses) speak only then.
 */
int
sink_state_changed(const struct sink_msg *m)
{
	json_object	*v;

	if (sink_prop(m, "state") == NULL)
		return (0);
	return (m->acked == NULL || (m->patch != NULL &&
	    json_object_object_get_ex(m->patch, "state", &v)));
}
