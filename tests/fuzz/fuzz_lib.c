/*
 * fuzz_lib.c: what the libFuzzer targets share: the input format, the
 * configuration they load, the checks that every stored evidence must
 * pass, and the receiver's own handlers of POST /v1/evidence and POST
 * /hooks/{source}.
 *
 * The handlers are static in receiver/http.c, so that file is compiled
 * into this one.  A request that they accept reaches fuzz_ingest_submit
 * instead of the writer: it checks the evidence as the writer would store
 * it and refuses, so the handler replies 503 and frees the request.  A
 * request has no connection, so libevent frees it once it is answered;
 * one that is never answered is a leak, which LeakSanitizer reports.
 */
#include <sys/mman.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "fuzz.h"

#define ingest_submit	fuzz_ingest_submit
#include "../../receiver/http.c"
#undef ingest_submit

struct config		*fuzz_cf;
void			(*fuzz_accepted)(const struct evidence *);
static struct server	 fuzz_srv;
static int		 fuzz_errfd = 2;

/*
 * reload.c is linked (push.c calls it) but never runs here: no SIGHUP
 * reaches a fuzz target.  It calls server.c's server_outbox, and server.c
 * (the loop, the listeners, the signals) is left out of the fuzz build.
 */
struct outbox *
server_outbox(struct config *cf, struct ledger *l, char *err, size_t errlen)
{
	fuzz_fail("server_outbox: a reload inside a fuzz target");
	return (NULL);
}

/*
 * An invariant is broken: say which, and crash so that libFuzzer keeps the
 * input.  Said on a copy of stderr, which -close_fd_mask=2 leaves open.
 */
void
fuzz_fail(const char *fmt, ...)
{
	va_list	ap;

	dprintf(fuzz_errfd, "fuzz: invariant broken: ");
	va_start(ap, fmt);
	vdprintf(fuzz_errfd, fmt, ap);
	va_end(ap);
	dprintf(fuzz_errfd, "\n");
	abort();
}

/*
 * Load text as a configuration file, through config_load itself (a
 * memfd stands in for the file).  Returns what config_load returns.
 */
struct config *
fuzz_config_text(const char *text, size_t len, char *err, size_t errlen)
{
	struct config	*cf;
	char		 path[64];
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = memfd_create("fuzz-config", MFD_CLOEXEC)) == -1)
		fatal("memfd_create");
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) <= 0)
			fatal("write");
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cf = config_load(path, err, errlen);
	close(fd);
	return (cf);
}

/*
 * The configuration: the agent's key, a declared type with a property of
 * every kind, and every source with every credential it takes.
 */
void
fuzz_init(void)
{
	const struct mp_source	*src;
	struct buf		 b;
	char			 err[MP_ERRLEN];
	size_t			 i;

	if (fuzz_cf != NULL)
		return;
	if ((fuzz_errfd = dup(2)) == -1)
		fuzz_errfd = 2;
	log_init("fuzz", -1);
	buf_init(&b);
	buf_printf(&b, "agent_secret: \"%s\"\n", FUZZ_WHSEC);
	buf_adds(&b,
	    "evidence_types:\n"
	    "  FuzzAll:\n"
	    "    properties:\n"
	    "      text: { type: text }\n"
	    "      choice: { type: enum, options: [low, high, 1, true] }\n"
	    "      flag: { type: boolean }\n"
	    "      count: { type: integer }\n"
	    "      ratio: { type: number }\n"
	    "      pct: { type: percentage }\n"
	    "      wait: { type: timespan }\n"
	    "      at: { type: timestamp }\n"
	    "      tags: { type: text, list: true }\n"
	    "      counts: { type: integer, list: true }\n"
	    "      ratios: { type: number, list: true }\n"
	    "      pcts: { type: percentage, list: true }\n"
	    "      waits: { type: timespan, list: true }\n"
	    "      ats: { type: timestamp, list: true }\n"
	    "  FuzzRequired:\n"
	    "    properties:\n"
	    "      need: { type: text, required: true }\n"
	    "      flags: { type: boolean, list: true, required: true }\n"
	    "sources:\n");
	for (i = 0; (src = source_table[i]) != NULL; i++) {
		buf_printf(&b, "  %s:\n", src->name);
		if (src->auth & SRC_AUTH_SECRET)
			buf_printf(&b, "    secret: \"%s\"\n", FUZZ_SECRET);
		if (src->auth & SRC_AUTH_TOKEN)
			buf_printf(&b, "    token: \"%s\"\n", FUZZ_TOKEN);
		if (src->auth & SRC_AUTH_BEARER)
			buf_printf(&b, "    bearer: \"%s\"\n", FUZZ_BEARER);
		if (src->auth & SRC_AUTH_BASIC)
			buf_printf(&b, "    basic: { username: \"%s\", "
			    "password: \"%s\" }\n", FUZZ_USER, FUZZ_PASSWORD);
		if (src->auth & SRC_AUTH_SIGNING)
			buf_printf(&b, "    signing_secret: \"%s\"\n",
			    FUZZ_WHSEC);
	}
	if ((fuzz_cf = fuzz_config_text(b.data, b.len, err,
	    sizeof(err))) == NULL)
		fatalx("the fuzz configuration does not load: %s", err);
	buf_free(&b);
	fuzz_srv.cf = fuzz_cf;
}

/*
 * Split an input into headers and body.  The headers are "Name: value"
 * lines up to the first empty line ("\n" or "\r\n"); the body is the rest.
 * An input without an empty line is all body.  Lines without a ':' are
 * skipped, as are headers after the FUZZ_MAXHDR-th.
 */
void
fuzz_input_parse(const uint8_t *data, size_t size, struct fuzz_input *in)
{
	const char	*p = (const char *)data, *end = p + size, *line, *eol;
	const char	*body = NULL, *colon, *v, *e;

	memset(in, 0, sizeof(*in));
	for (line = p; line < end; line = eol + 1) {
		if ((eol = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break;
		if (eol == line || (eol == line + 1 && *line == '\r')) {
			body = eol + 1;
			break;
		}
	}
	if (body == NULL)
		body = p;
	for (line = p; line < body && in->nh < FUZZ_MAXHDR; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(body - line));
		for (e = eol; e > line && (e[-1] == '\r' || e[-1] == ' ' ||
		    e[-1] == '\t'); e--)
			;
		if ((colon = memchr(line, ':', (size_t)(e - line))) == NULL ||
		    colon == line)
			continue;
		for (v = colon + 1; v < e && (*v == ' ' || *v == '\t'); v++)
			;
		in->name[in->nh] = xstrndup(line, (size_t)(colon - line));
		in->value[in->nh] = xstrndup(v, (size_t)(e - v));
		in->nh++;
	}
	/* A copy of exactly len bytes, so that ASan sees any read past it. */
	if ((in->len = (size_t)(end - body)) > 0) {
		in->body = xmalloc(in->len);
		memcpy(in->body, body, in->len);
	}
}

void
fuzz_input_free(struct fuzz_input *in)
{
	size_t	i;

	for (i = 0; i < in->nh; i++) {
		free(in->name[i]);
		free(in->value[i]);
	}
	free(in->body);
	memset(in, 0, sizeof(*in));
}

/* The first header of that name, in any case, as evhttp_find_header. */
const char *
fuzz_input_header(const struct fuzz_input *in, const char *name)
{
	size_t	i;

	for (i = 0; i < in->nh; i++)
		if (strcasecmp(in->name[i], name) == 0)
			return (in->value[i]);
	return (NULL);
}

/* The receiver's strict parse of a body, with its reused tokener. */
json_object *
fuzz_parse_json(const char *body, size_t len, char *err, size_t errlen)
{
	return (http_parse_json(&fuzz_srv, body, len, err, errlen));
}

/* Why v, stored for a property pd, breaks pd's type, or NULL. */
static const char *
fuzz_conforms(const struct propdef *pd, json_object *v)
{
	char		**o, t[MP_TIMELEN];
	const char	 *s;
	double		  d;
	int64_t		  us;
	int		  num;

	num = json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double);
	d = num ? json_object_get_double(v) : 0;
	switch (pd->type) {
	case PT_TEXT:
		return (json_object_is_type(v, json_type_string) ? NULL :
		    "text that is not a string");
	case PT_ENUM:
		if (!json_object_is_type(v, json_type_string))
			return ("an enum that is not a string");
		s = json_object_get_string(v);
		for (o = pd->options; o != NULL && *o != NULL; o++)
			if ((size_t)json_object_get_string_len(v) ==
			    strlen(*o) && strcmp(s, *o) == 0)
				return (NULL);
		return ("an enum value that is not one of the options");
	case PT_BOOLEAN:
		return (json_object_is_type(v, json_type_boolean) ? NULL :
		    "a boolean that is not true or false");
	case PT_INTEGER:
		return (json_object_is_type(v, json_type_int) ? NULL :
		    "an integer that is not a JSON integer");
	case PT_NUMBER:
		return (num && isfinite(d) ? NULL : "a number that is not "
		    "a finite JSON number");
	case PT_PERCENTAGE:
		return (num && d >= 0 && d <= 100 ? NULL : "a percentage "
		    "that is not a number from 0 to 100");
	case PT_TIMESPAN:
		return (num && isfinite(d) && d >= 0 ? NULL : "a timespan "
		    "that is not a number of seconds");
	case PT_TIMESTAMP:
		if (!json_object_is_type(v, json_type_string) ||
		    tf_parse(json_object_get_string(v), &us) == -1)
			return ("a timestamp that does not parse");
		tf_format(us, t);
		return (strcmp(t, json_object_get_string(v)) == 0 ? NULL :
		    "a timestamp that is not RFC 3339 UTC as printed");
	}
	return ("an unknown type");
}

/*
 * What the writer and the read API do with an accepted evidence: chain
 * it, and print it back.  The stored properties and links must parse back
 * to objects whose canonical form is themselves; every property must be
 * declared by the evidence's type, hold what its type says, and be there
 * when required; every link must be a string.
 */
void
fuzz_evidence_check(struct evidence *ev)
{
	const struct evtype	*et;
	const struct propdef	*pd;
	const char		*stored[2], *why;
	json_object		*o[2], *v;
	struct buf		 b;
	size_t			 i, n;

	ev->seq = 1;
	ev->recorded_at = (int64_t)FUZZ_NOW * 1000000;
	evidence_hash(ev, LEDGER_GENESIS, ev->hash);
	stored[0] = ev->properties;
	stored[1] = ev->links;
	for (i = 0; i < 2; i++) {
		if ((o[i] = json_tokener_parse(stored[i])) == NULL ||
		    !json_object_is_type(o[i], json_type_object))
			fuzz_fail("%s %s: stored %s do not parse back: %s",
			    ev->type, ev->id, i ? "links" : "properties",
			    stored[i]);
		buf_init(&b);
		evidence_canonical_json(o[i], &b);
		if (strcmp(buf_cstr(&b), stored[i]) != 0)
			fuzz_fail("%s %s: stored %s are not canonical: %s, "
			    "then %s", ev->type, ev->id, i ? "links" :
			    "properties", stored[i], buf_cstr(&b));
		buf_free(&b);
	}
	if ((et = types_find(fuzz_cf->types, ev->type)) == NULL)
		fuzz_fail("%s %s: stored with an unknown type", ev->type,
		    ev->id);
	json_object_object_foreach(o[0], k, pv) {
		if ((pd = types_prop(et, k)) == NULL)
			fuzz_fail("%s %s: property %s is not declared",
			    ev->type, ev->id, k);
		if (!pd->list)
			why = fuzz_conforms(pd, pv);
		else if (!json_object_is_type(pv, json_type_array))
			why = "a list that is not an array";
		else
			for (why = NULL, n = 0; why == NULL && n <
			    json_object_array_length(pv); n++)
				why = fuzz_conforms(pd,
				    json_object_array_get_idx(pv, n));
		if (why != NULL)
			fuzz_fail("%s %s: property %s holds %s: %s", ev->type,
			    ev->id, k, why, stored[0]);
	}
	for (i = 0; i < et->nprops; i++)
		if (et->props[i].required && !json_object_object_get_ex(o[0],
		    et->props[i].name, NULL))
			fuzz_fail("%s %s: required property %s is missing",
			    ev->type, ev->id, et->props[i].name);
	json_object_object_foreach(o[1], lk, lv) {
		if (!json_object_is_type(lv, json_type_string))
			fuzz_fail("%s %s: link %s is not a string", ev->type,
			    ev->id, lk);
	}
	json_object_put(o[0]);
	json_object_put(o[1]);
	if (!ident_valid(ev->id))
		fuzz_fail("%s: stored with an invalid id", ev->type);
	v = evidence_to_json(ev);
	(void)json_object_to_json_string(v);
	json_object_put(v);
	if (fuzz_accepted != NULL)
		fuzz_accepted(ev);
}

/* The writer's side of an accepted request; see the top of this file. */
int
fuzz_ingest_submit(struct ingest *unused, struct ingest_req *ir)
{
	size_t	i;

	for (i = 0; i < ir->nev; i++)
		fuzz_evidence_check(ir->ev[i]);
	return (-1);
}

/* POST /v1/evidence with body, signed with the agent's key. */
void
fuzz_http_evidence(const char *body, size_t len)
{
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	char			 sig[STDWH_SIGLEN], ts[32];
	int64_t			 now = tf_now() / 1000000;

	if ((req = evhttp_request_new(NULL, NULL)) == NULL)
		fatalx("evhttp_request_new");
	h = evhttp_request_get_input_headers(req);
	stdwh_sign(&fuzz_cf->agent_keys[0], FUZZ_WEBHOOK_ID, now, body, len,
	    sig);
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	evhttp_add_header(h, "webhook-id", FUZZ_WEBHOOK_ID);
	evhttp_add_header(h, "webhook-timestamp", ts);
	evhttp_add_header(h, "webhook-signature", sig);
	evhttp_add_header(h, "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_input_buffer(req), body, len);
	http_evidence_post(&fuzz_srv, req);
}

/*
 * POST /hooks/{source} with the input's headers and body, after headers
 * that authenticate it to any source (the first of a name wins), so that
 * the handler goes past the check of credentials.
 */
void
fuzz_http_hook(const struct mp_source *src, const struct fuzz_input *in)
{
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	unsigned char		 mac[HMAC_SHA256_LEN];
	char			 hex[2 * HMAC_SHA256_LEN + 1], v[128];
	size_t			 i;

	if ((req = evhttp_request_new(NULL, NULL)) == NULL)
		fatalx("evhttp_request_new");
	h = evhttp_request_get_input_headers(req);
	hmac_sha256(FUZZ_SECRET, strlen(FUZZ_SECRET), in->body ? in->body : "",
	    in->len, mac);
	hmac_hex(mac, sizeof(mac), hex);
	snprintf(v, sizeof(v), "sha256=%s", hex);
	evhttp_add_header(h, "X-Hub-Signature-256", v);
	snprintf(v, sizeof(v), "v1=%s", hex);
	evhttp_add_header(h, "X-PagerDuty-Signature", v);
	evhttp_add_header(h, "X-Gitlab-Token", FUZZ_TOKEN);
	evhttp_add_header(h, "Authorization", "Bearer " FUZZ_BEARER);
	for (i = 0; i < in->nh; i++)
		evhttp_add_header(h, in->name[i], in->value[i]);
	if (in->len > 0)
		evbuffer_add(evhttp_request_get_input_buffer(req), in->body,
		    in->len);
	http_hook_post(&fuzz_srv, req, src->name);
}
