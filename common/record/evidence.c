/*
 * evidence.c: the evidence record.  Parsing checks the envelope (400 on
 * failure) and then the type and its properties (422), producing the
 * canonical stored form.  The canonical encoding that the hash chain covers
 * is a sequence of netstrings ("<len>:<bytes>,") of the stored fields, in a
 * fixed order, so verification needs no JSON parsing.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "record/record.h"

#define EV_SUBJECT_MAX	1024
#define EV_LINKS_MAX	64
#define EV_LINK_MAX	2048

struct evidence *
evidence_new(void)
{
	return (xcalloc(1, sizeof(struct evidence)));
}

void
evidence_free(struct evidence *ev)
{
	if (ev == NULL)
		return;
	free(ev->id);
	free(ev->source);
	free(ev->type);
	free(ev->subject);
	free(ev->properties);
	free(ev->links);
	free(ev);
}

/*
 * Is v a JSON string without a NUL inside?  The fields kept as C strings
 * would be cut at one, so "a\u0000b" would be checked and stored as "a".
 */
static int
evidence_is_str(json_object *v)
{
	return (json_object_is_type(v, json_type_string) &&
	    strlen(json_object_get_string(v)) ==
	    (size_t)json_object_get_string_len(v));
}

struct evidence_member {
	const char	*key;
	json_object	*val;
};

static void	evidence_canonical_members(struct evidence_member *, size_t,
		    struct buf *);

static int
evidence_cmpkey(const void *a, const void *b)
{
	return (strcmp(((const struct evidence_member *)a)->key,
	    ((const struct evidence_member *)b)->key));
}

/*
 * Append s as a JSON string.  json-c escapes '"', '\\' and bytes below
 * 0x20 (and, with NOSLASHESCAPE, nothing else), so a string with none of
 * those is its own JSON text between quotes; anything else is left to
 * json-c.  The common case then costs no allocation.
 */
void
evidence_json_string(struct buf *out, const char *s, size_t len)
{
	json_object	*js;
	size_t		 i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '"' || c == '\\')
			break;
	}
	if (i == len) {
		buf_addc(out, '"');
		buf_add(out, s, len);
		buf_addc(out, '"');
		return;
	}
	js = json_object_new_string_len(s, (int)len);
	buf_adds(out, json_object_to_json_string_ext(js,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(js);
}

/* Append an object of the n members m (sorted here) in canonical form. */
static void
evidence_canonical_members(struct evidence_member *m, size_t n,
    struct buf *out)
{
	size_t	i;

	qsort(m, n, sizeof(*m), evidence_cmpkey);
	buf_addc(out, '{');
	for (i = 0; i < n; i++) {
		if (i)
			buf_addc(out, ',');
		evidence_json_string(out, m[i].key, strlen(m[i].key));
		buf_addc(out, ':');
		evidence_canonical_json(m[i].val, out);
	}
	buf_addc(out, '}');
}

/*
 * Append the canonical JSON of o to out: objects with keys sorted by byte
 * value, no white space, scalars as json-c prints them.
 */
void
evidence_canonical_json(json_object *o, struct buf *out)
{
	struct evidence_member	 small[16], *m;
	size_t			 i, n;

	switch (json_object_get_type(o)) {
	case json_type_object:
		n = (size_t)json_object_object_length(o);
		m = n <= 16 ? small : xcalloc(n, sizeof(*m));
		i = 0;
		json_object_object_foreach(o, k, val) {
			m[i].key = k;
			m[i++].val = val;
		}
		evidence_canonical_members(m, n, out);
		if (m != small)
			free(m);
		break;
	case json_type_array:
		n = json_object_array_length(o);
		buf_addc(out, '[');
		for (i = 0; i < n; i++) {
			if (i)
				buf_addc(out, ',');
			evidence_canonical_json(json_object_array_get_idx(o, i),
			    out);
		}
		buf_addc(out, ']');
		break;
	case json_type_null:
		buf_adds(out, "null");
		break;
	case json_type_string:
		evidence_json_string(out, json_object_get_string(o),
		    (size_t)json_object_get_string_len(o));
		break;
	default:
		buf_adds(out, json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		break;
	}
}

/* Append the netstring "<len>:<s>," (the length in decimal, no printf). */
static void
evidence_netstring(struct buf *b, const char *s)
{
	char	num[24];
	size_t	len = strlen(s), v = len, i = sizeof(num);

	do
		num[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	buf_add(b, num + i, sizeof(num) - i);
	buf_addc(b, ':');
	buf_add(b, s, len);
	buf_addc(b, ',');
}

static const EVP_MD	*evidence_sha256;
static pthread_once_t	 evidence_once = PTHREAD_ONCE_INIT;

/* SHA-256 looked up once: EVP_sha256() is looked up by name per use. */
static void
evidence_hash_init(void)
{
	if ((evidence_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		fatalx("%s: EVP_MD_fetch", __func__);
}

/*
 * The chain hash of ev given the previous entry's hash: SHA-256 over the
 * netstrings of "milepost-ledger-v1", seq, id, source, type, subject, time,
 * recorded_at, properties, links and prev.  The netstrings are written
 * into one buffer and hashed in one call.
 */
void
evidence_hash(const struct evidence *ev, const char *prev,
    char out[MP_HASHLEN])
{
	struct buf	 b;
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned int	 dlen;
	char		 num[32];

	pthread_once(&evidence_once, evidence_hash_init);
	buf_init(&b);
	buf_reserve(&b, 256 + strlen(ev->properties) + strlen(ev->links));
	evidence_netstring(&b, "milepost-ledger-v1");
	snprintf(num, sizeof(num), "%" PRId64, ev->seq);
	evidence_netstring(&b, num);
	evidence_netstring(&b, ev->id);
	evidence_netstring(&b, ev->source);
	evidence_netstring(&b, ev->type);
	evidence_netstring(&b, ev->subject);
	snprintf(num, sizeof(num), "%" PRId64, ev->time);
	evidence_netstring(&b, num);
	snprintf(num, sizeof(num), "%" PRId64, ev->recorded_at);
	evidence_netstring(&b, num);
	evidence_netstring(&b, ev->properties);
	evidence_netstring(&b, ev->links);
	evidence_netstring(&b, prev);
	if (EVP_Digest(b.data, b.len, d, &dlen, evidence_sha256, NULL) != 1)
		fatalx("%s: EVP_Digest", __func__);
	buf_free(&b);
	hmac_hex(d, dlen, out);
}

static enum ev_error
evidence_fail(enum ev_error e, char *err, size_t errlen, char *prop,
    size_t proplen, const char *p, const char *fmt, ...) MP_PRINTF(7, 8);

static enum ev_error
evidence_fail(enum ev_error e, char *err, size_t errlen, char *prop,
    size_t proplen, const char *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (prop != NULL)
		snprintf(prop, proplen, "%s", p ? p : "");
	return (e);
}

#define FAIL(e, p, ...) do {						\
	rc = evidence_fail((e), err, errlen, prop, proplen, (p),	\
	    __VA_ARGS__);						\
	goto out;							\
} while (0)

/*
 * Parse one evidence object o (borrowed) received from source.  default_id
 * is used when o has no "id" (may be NULL); now is the time of receipt.
 * On EV_OK *evp is a new record (taken by the caller).  Otherwise err says
 * why, and for EV_TYPE prop names the offending property ("type" for an
 * unknown type).
 */
enum ev_error
evidence_from_json(json_object *o, const struct types *types,
    const char *source, const char *default_id, int64_t now,
    struct evidence **evp, char *err, size_t errlen, char *prop,
    size_t proplen)
{
	const struct evtype	*et;
	struct evidence		*ev = NULL;
	struct evidence_member	*norm = NULL, *m;
	json_object		*v, *props = NULL, *links = NULL, *cv;
	struct buf		 b;
	const char		*id = default_id, *s;
	enum ev_error		 rc = EV_OK;
	size_t			 i, n, nlinks = 0;
	char			 why[MP_ERRLEN];

	*evp = NULL;
	if (prop != NULL && proplen > 0)
		prop[0] = '\0';
	buf_init(&b);
	if (!json_object_is_type(o, json_type_object))
		FAIL(EV_SYNTAX, NULL, "evidence must be a JSON object");
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, "id") && strcmp(key, "type") &&
		    strcmp(key, "subject") && strcmp(key, "time") &&
		    strcmp(key, "properties") && strcmp(key, "links"))
			FAIL(EV_SYNTAX, key, "unknown field \"%.64s\" (expected "
			    "id, type, subject, time, properties, links)", key);
	}
	ev = evidence_new();
	if (json_object_object_get_ex(o, "id", &v)) {
		if (!json_object_is_type(v, json_type_string))
			FAIL(EV_SYNTAX, "id", "id must be a string");
		if (!evidence_is_str(v))
			FAIL(EV_SYNTAX, "id", "id must be 1 to %d printable "
			    "characters without spaces", MP_IDMAX);
		id = json_object_get_string(v);
	}
	if (id == NULL)
		FAIL(EV_SYNTAX, "id", "evidence has no id and the request no "
		    "webhook-id");
	if (!ident_valid(id))
		FAIL(EV_SYNTAX, "id", "id must be 1 to %d printable "
		    "characters without spaces", MP_IDMAX);
	if (!json_object_object_get_ex(o, "type", &v) ||
	    !evidence_is_str(v) || *json_object_get_string(v) == '\0')
		FAIL(EV_SYNTAX, "type", "type is missing or not a string");
	s = json_object_get_string(v);
	if ((et = types_find(types, s)) == NULL)
		FAIL(EV_TYPE, "type", "unknown evidence type \"%.128s\"", s);
	ev->id = xstrdup(id);
	ev->source = xstrdup(source);
	ev->type = xstrdup(et->name);
	if (json_object_object_get_ex(o, "subject", &v) && v != NULL) {
		if (!evidence_is_str(v) ||
		    strlen(json_object_get_string(v)) > EV_SUBJECT_MAX)
			FAIL(EV_SYNTAX, "subject", "subject must be a string of "
			    "at most %d bytes", EV_SUBJECT_MAX);
		ev->subject = xstrdup(json_object_get_string(v));
	} else
		ev->subject = xstrdup("");
	ev->time = now;
	if (json_object_object_get_ex(o, "time", &v) && v != NULL) {
		if (!evidence_is_str(v) ||
		    tf_parse(json_object_get_string(v), &ev->time) == -1)
			FAIL(EV_SYNTAX, "time", "time must be an RFC 3339 "
			    "timestamp such as 2025-07-03T10:08:20Z");
	}
	if (json_object_object_get_ex(o, "links", &links) && links != NULL) {
		if (!json_object_is_type(links, json_type_object))
			FAIL(EV_SYNTAX, "links", "links must be an object of "
			    "strings");
		json_object_object_foreach(links, lk, lv) {
			if (++nlinks > EV_LINKS_MAX)
				FAIL(EV_SYNTAX, "links", "more than %d links",
				    EV_LINKS_MAX);
			if (*lk == '\0' || strlen(lk) > 64)
				FAIL(EV_SYNTAX, "links", "link names are 1 to 64 "
				    "bytes");
			if (!evidence_is_str(lv) ||
			    strlen(json_object_get_string(lv)) > EV_LINK_MAX)
				FAIL(EV_SYNTAX, lk, "link \"%.64s\" must be a "
				    "string of at most %d bytes", lk,
				    EV_LINK_MAX);
		}
	}
	if (json_object_object_get_ex(o, "properties", &props) &&
	    props != NULL && !json_object_is_type(props, json_type_object))
		FAIL(EV_SYNTAX, "properties", "properties must be an object");

	/*
	 * Types: every property declared and well-typed, required present.
	 * The coerced values are kept by declaration (no json-c object is
	 * built for them) and written out in canonical order.
	 */
	norm = xcalloc(et->nprops ? et->nprops : 1, sizeof(*norm));
	if (props != NULL) {
		json_object_object_foreach(props, pk, pv) {
			for (i = 0; i < et->nprops; i++)
				if (strcmp(et->props[i].name, pk) == 0)
					break;
			if (i == et->nprops)
				FAIL(EV_TYPE, pk, "%.128s has no property "
				    "\"%.64s\"", et->name, pk);
			if (types_coerce(&et->props[i], pv, &cv, why,
			    sizeof(why)) == -1)
				FAIL(EV_TYPE, pk, "%s", why);
			norm[i].key = et->props[i].name;
			norm[i].val = cv;
		}
	}
	for (i = 0; i < et->nprops; i++)
		if (et->props[i].required && norm[i].key == NULL)
			FAIL(EV_TYPE, et->props[i].name, "required property "
			    "%s is missing", et->props[i].name);
	m = xcalloc(et->nprops ? et->nprops : 1, sizeof(*m));
	for (i = n = 0; i < et->nprops; i++)
		if (norm[i].key != NULL)
			m[n++] = norm[i];
	evidence_canonical_members(m, n, &b);
	free(m);
	ev->properties = buf_steal(&b);
	if (links != NULL)
		evidence_canonical_json(links, &b);
	else
		buf_adds(&b, "{}");
	ev->links = buf_steal(&b);
	*evp = ev;
	ev = NULL;
out:
	if (norm != NULL) {
		for (i = 0; i < et->nprops; i++)
			json_object_put(norm[i].val);
		free(norm);
	}
	buf_free(&b);
	evidence_free(ev);
	return (rc);
}

/* The JSON form of a stored record, as GET /v1/evidence returns it. */
json_object *
evidence_to_json(const struct evidence *ev)
{
	json_object	*o, *p;
	char		 t[MP_TIMELEN];

	o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64(ev->seq));
	json_object_object_add(o, "id", json_object_new_string(ev->id));
	json_object_object_add(o, "type", json_object_new_string(ev->type));
	json_object_object_add(o, "subject",
	    json_object_new_string(ev->subject));
	tf_format(ev->time, t);
	json_object_object_add(o, "time", json_object_new_string(t));
	tf_format(ev->recorded_at, t);
	json_object_object_add(o, "recorded_at", json_object_new_string(t));
	json_object_object_add(o, "source",
	    json_object_new_string(ev->source));
	p = json_tokener_parse(ev->properties);
	json_object_object_add(o, "properties", p ? p :
	    json_object_new_object());
	p = json_tokener_parse(ev->links);
	json_object_object_add(o, "links", p ? p : json_object_new_object());
	json_object_object_add(o, "hash", json_object_new_string(ev->hash));
	return (o);
}
