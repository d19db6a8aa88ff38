/*
 * api-access.c: what every bearer-authenticated read or action shares.
 *
 *	api_authorize	who is asking: the bearer token (401), its request
 *			rate (429 with Retry-After), the permission table
 *			(403); every endpoint calls it first
 *	api_present	what they may see: a client token sees only its
 *			tenant's objects (the caller answers 404 otherwise),
 *			as built by the one presentation (access/present.c);
 *			every other token gets its role's redaction
 *	api_reply_etag	how a read is answered: a strong ETag over the
 *			exact bytes sent, 304 when If-None-Match names it
 *
 * All of it runs on the loop thread; the rate buckets (one per configured
 * token, srv->rates) are touched nowhere else.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

static int64_t
api_monotonic(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* A token's name for logs: its configured name, or its index. */
static void
api_token_label(const struct config *cf, const struct token *tok, char *out,
    size_t len)
{
	if (tok->name != NULL)
		snprintf(out, len, "%s", tok->name);
	else
		snprintf(out, len, "tokens[%zu]", (size_t)(tok - cf->tokens));
}

/*
 * The presented bearer token (or, for a GET or HEAD without one, the
 * token a live session cookie was signed in with: session.c), charged one
 * request against its bucket.
 * Returns the token, or NULL after replying 401 (no or unknown token) or
 * 429 (over its rate, with Retry-After in whole seconds).
 */
static const struct token *
api_identify(struct server *srv, struct evhttp_request *req)
{
	const struct token	*tok;
	const char		*h;
	char			 msg[192], rate[32], label[64], ra[24];
	int64_t			 retry_us, secs;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	/* A read with no Authorization may be a dashboard's session. */
	if (h == NULL && (tok = session_token(srv, req)) != NULL)
		goto charge;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		http_error(srv, req, 401, REJECT_AUTH, "a bearer token is "
		    "required", NULL);
		return (NULL);
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (config_token_role(srv->cf, h, &tok) == ROLE_NONE || tok == NULL) {
		http_error(srv, req, 401, REJECT_AUTH, "unknown token", NULL);
		return (NULL);
	}
charge:
	if (rate_take(&srv->rates[tok - srv->cf->tokens], &tok->rate,
	    api_monotonic(), &retry_us) == -1) {
		secs = (retry_us + 999999) / 1000000;
		if (secs < 1)
			secs = 1;
		snprintf(ra, sizeof(ra), "%lld", (long long)secs);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", ra);
		rate_format(tok->rate.per_sec, rate, sizeof(rate));
		api_token_label(srv->cf, tok, label, sizeof(label));
		log_info("%s: %s over its rate of %s (burst %g)", __func__,
		    label, rate, tok->rate.burst);
		snprintf(msg, sizeof(msg), "this token is over its rate of %s "
		    "(burst %g); retry after %lld s", rate, tok->rate.burst,
		    (long long)secs);
		http_error(srv, req, 429, REJECT_RATE, msg, NULL);
		return (NULL);
	}
	return (tok);
}

/*
 * Authorize a request for action need: a known bearer token (401), within
 * its rate (429), whose role the permission table allows (403).  Returns
 * 0 with *tok (borrowed from the configuration) set, or -1 after replying;
 * the caller then returns.  Every bearer endpoint starts with this.
 */
int
api_authorize(struct server *srv, struct evhttp_request *req,
    enum access need, const struct token **tok)
{
	const struct token	*t;
	char			 msg[128];

	if (tok != NULL)
		*tok = NULL;
	if ((t = api_identify(srv, req)) == NULL)
		return (-1);
	if (!access_allowed(t->role, need)) {
		snprintf(msg, sizeof(msg), "a %s token may not %s",
		    access_role_name(t->role), access_name(need));
		http_error(srv, req, 403, REJECT_AUTH, msg, NULL);
		return (-1);
	}
	if (tok != NULL)
		*tok = t;
	return (0);
}

/*
 * The older check by role order (client < reader < writer < operator <
 * admin), with the same 401 and 429.  Returns the role, or ROLE_NONE after
 * replying.  New endpoints use api_authorize with an action.
 */
enum role
api_auth(struct server *srv, struct evhttp_request *req, enum role need)
{
	const struct token	*t;

	if ((t = api_identify(srv, req)) == NULL)
		return (ROLE_NONE);
	if (t->role < need) {
		http_error(srv, req, 403, REJECT_AUTH, "this token's role may "
		    "not do this", NULL);
		return (ROLE_NONE);
	}
	return (t->role);
}

/*
 * Prepare o (a claim-shaped object: a claim, a deployment's revision, a
 * release, a milestone or a change's object; borrowed, replaced in place
 * by what tok may see) for tok.  Returns -1 when tok may not see it at
 * all (a client token and another tenant's object, one without a tenant
 * link, or a type no client sees): the caller answers 404 for a single
 * object, as for one that does not exist, and skips it in a list.
 * Otherwise o becomes present_view's view for tok's role: for a client,
 * the client view with the client redaction on it; for any other role,
 * o with its role's redaction.  The tenant is read before, so a policy
 * may hide the link.
 */
int
api_present(struct server *srv, const struct token *tok, json_object *o)
{
	json_object	*links = NULL;

	json_object_object_get_ex(o, "links", &links);
	if (!access_tenant_visible(tok, links))
		return (-1);
	if (tok == NULL)
		return (0);
	return (present_inplace(srv->cf->redaction, tok->role, o));
}

struct api_find {
	const char	*want;		/* the public id */
	size_t		 plen;		/* its prefix up to the last '/' */
	char		*found;
	char		 last[MP_IDMAX * 2];
	size_t		 seen;
	int		 done;
};

static int
api_find_one(const struct claim *c, void *arg)
{
	struct api_find	*f = arg;
	char		 pub[MP_IDMAX * 2];

	f->seen++;
	snprintf(f->last, sizeof(f->last), "%s", c->id);
	if (strncmp(c->id, f->want, f->plen) != 0) {
		f->done = 1;	/* past the prefix: ids are in order */
		return (-1);
	}
	present_public_id(c->type, c->id, pub, sizeof(pub));
	if (strcmp(pub, f->want) == 0) {
		f->found = xstrdup(c->id);
		return (-1);
	}
	return (0);
}

/*
 * The stored id of claim (type, id) as tok names it (taken): a client
 * names a Deployment by its public id (present_public_id), found among
 * the Deployments of the same service and environment; everyone else by
 * its id.  Returns NULL when there is no such claim (the caller answers
 * 404), with *err set on a storage error.
 */
char *
api_claim_id(struct server *srv, const struct token *tok, const char *type,
    const char *id, int *err)
{
	struct api_find	 f;
	const char	*slash;

	*err = 0;
	if (tok == NULL || tok->role != ROLE_CLIENT ||
	    strcmp(type, "Deployment") != 0)
		return (xstrdup(id));
	if (!present_is_public_id(id) || (slash = strrchr(id, '/')) == NULL)
		return (NULL);	/* a client never names the SHA */
	memset(&f, 0, sizeof(f));
	f.want = id;
	f.plen = (size_t)(slash - id + 1);
	snprintf(f.last, sizeof(f.last), "%.*s", (int)f.plen, id);
	do {
		f.seen = 0;
		if (ledger_claim_list(srv->reader, type, f.last, 1000,
		    INT64_MAX, api_find_one, &f) == -1 && f.found == NULL &&
		    !f.done) {
			*err = 1;
			return (NULL);
		}
	} while (f.found == NULL && !f.done && f.seen == 1000);
	return (f.found);
}

/* Does the If-None-Match list inm name etag (weak or strong), or "*"? */
static int
api_etag_matches(const char *inm, const char *etag)
{
	const char	*p, *end;
	size_t		 len, elen = strlen(etag);

	for (p = inm; *p != '\0'; p = *end ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 1 && *p == '*')
			return (1);
		if (len > 2 && strncmp(p, "W/", 2) == 0) {
			p += 2;
			len -= 2;
		}
		if (len == elen && strncmp(p, etag, len) == 0)
			return (1);
	}
	return (0);
}

/*
 * Answer a read with data (len bytes of ctype, borrowed) and a strong ETag
 * computed over exactly those bytes; 304 without a body when the request's
 * If-None-Match names it.  Vary: Authorization, because what a token
 * receives depends on its role and tenant.
 */
void
api_reply_etag_bytes(struct evhttp_request *req, const char *ctype,
    const void *data, size_t len)
{
	struct evkeyvalq	*oh = evhttp_request_get_output_headers(req);
	const char		*inm;
	char			 hash[MP_HASHLEN], etag[48];

	sha256_hex(data, len, hash);
	snprintf(etag, sizeof(etag), "\"%.32s\"", hash);
	evhttp_add_header(oh, "ETag", etag);
	evhttp_add_header(oh, "Cache-Control", "no-cache");
	evhttp_add_header(oh, "Vary", "Authorization");
	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	if (inm != NULL && api_etag_matches(inm, etag)) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), data, len);
	evhttp_add_header(oh, "Content-Type", ctype);
	evhttp_send_reply(req, 200, "OK", NULL);
}

/* 503 for a read of the ledger that failed (the caller logs why). */
void
api_unreadable(struct server *srv, struct evhttp_request *req)
{
	http_error(srv, req, 503, REJECT_STORAGE, "the ledger could not be "
	    "read; retry", NULL);
}

/*
 * Answer a read with body (borrowed, already presented with api_present)
 * as JSON, serialised once; the ETag covers the bytes sent, so a change in
 * redaction changes it too.
 */
void
api_reply_etag(struct evhttp_request *req, json_object *body)
{
	const char	*s;
	char		*b;
	size_t		 len;

	s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	b = xmalloc(len + 1);
	memcpy(b, s, len);
	b[len] = '\n';
	api_reply_etag_bytes(req, "application/json", b, len + 1);
	free(b);
}

/*
 * GET /v1/tokens (admin): every configured token's name, role, tenant,
 * rate, burst and the requests its bucket holds now; never the token.
 */
void
api_tokens(struct server *srv, struct evhttp_request *req)
{
	const struct token	*t;
	json_object		*o, *arr, *one;
	char			 rate[32];
	int64_t			 now;
	size_t			 i;

	if (api_authorize(srv, req, ACCESS_TOKENS, NULL) == -1)
		return;
	now = api_monotonic();
	arr = json_object_new_array();
	for (i = 0; i < srv->cf->ntokens; i++) {
		t = &srv->cf->tokens[i];
		one = json_object_new_object();
		json_object_object_add(one, "name", t->name ?
		    json_object_new_string(t->name) : NULL);
		json_object_object_add(one, "role",
		    json_object_new_string(access_role_name(t->role)));
		json_object_object_add(one, "tenant", t->tenant ?
		    json_object_new_string(t->tenant) : NULL);
		rate_format(t->rate.per_sec, rate, sizeof(rate));
		json_object_object_add(one, "rate",
		    json_object_new_string(rate));
		json_object_object_add(one, "burst",
		    json_object_new_int64((int64_t)t->rate.burst));
		json_object_object_add(one, "available",
		    json_object_new_int64((int64_t)floor(rate_level(
		    &srv->rates[i], &t->rate, now))));
		json_object_array_add(arr, one);
	}
	o = json_object_new_object();
	json_object_object_add(o, "tokens", arr);
	api_reply_etag(req, o);
	json_object_put(o);
}

/*
 * Parse req's query string into q (initialised here; the caller clears it
 * with evhttp_clear_headers).  On a malformed one, answers 400 and
 * returns -1 (q is then empty).
 */
int
api_query(struct server *srv, struct evhttp_request *req,
    struct evkeyvalq *q)
{
	const char	*query;

	TAILQ_INIT(q);
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query != NULL && evhttp_parse_query_str(query, q) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "malformed query "
		    "string", NULL);
		return (-1);
	}
	return (0);
}

/*
 * The integer parameter key of q in [min, max] into *out, or dflt when it
 * is absent.  Returns -1 when it is not such an integer.
 */
int
api_query_int(struct evkeyvalq *q, const char *key, long long dflt,
    long long min, long long max, long long *out)
{
	const char	*v;
	char		*end;

	if ((v = evhttp_find_header(q, key)) == NULL) {
		*out = dflt;
		return (0);
	}
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || *out < min ||
	    *out > max)
		return (-1);
	return (0);
}
