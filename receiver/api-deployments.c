/*
 * api-deployments.c: the deployment endpoints and the stall timer.
 *
 *   GET  /v1/deployments[?service=&environment=&state=&limit=]
 *   GET  /v1/deployments/{id}          state, history, refused attempts
 *   POST /v1/deployments/{id}/status   a manual override (admin, operator)
 *   GET  /v1/releases[/{id}]
 *
 * Reads run on the loop against the read-only ledger, like api-claims.c.  An
 * override is not a write of state: it is DeploymentOverride evidence
 * (source "api"), queued to the writer like any other, and the state
 * machine (common/derive/deploy.c) decides; the reply, sent once the batch is
 * durable, says what it decided.  The stall timer likewise appends
 * DeploymentStalled evidence (source "milepostd") for every deployment
 * with no progress within its environment's timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/rand.h>

#include "milepostd.h"

#define DEPLOYMENTS_PAGE	1000
#define DEPLOYMENTS_JSON_DEPTH	8
#define DEPLOYMENTS_SHA_MIN	7	/* characters of a commit prefix */
#define DEPLOYMENTS_CANDIDATES	10	/* listed in an ambiguous reply */

static int
deployments_prop_eq(json_object *props, const char *key, const char *want)
{
	json_object	*v;

	if (want == NULL)
		return (1);
	return (json_object_object_get_ex(props, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), want) == 0);
}

struct deployments_list {
	struct server		*srv;
	const struct token	*tok;	/* the reader: tenant and redaction */
	json_object	*arr;
	const char	*service, *environment, *state;
	size_t		 limit;
	char		 last[MP_IDMAX * 2];
	size_t		 seen;
};

static int
deployments_list_one(const struct claim *c, void *arg)
{
	struct deployments_list	*dl = arg;
	json_object		*p;

	dl->seen++;
	snprintf(dl->last, sizeof(dl->last), "%s", c->id);
	if (json_object_array_length(dl->arr) >= dl->limit)
		return (0);
	if ((p = json_tokener_parse(c->properties)) == NULL)
		return (0);
	if (deployments_prop_eq(p, "service", dl->service) &&
	    deployments_prop_eq(p, "environment", dl->environment) &&
	    deployments_prop_eq(p, "state", dl->state)) {
		json_object *o = claim_to_json(c);

		/* Another tenant's (for a client token): skipped. */
		if (api_present(dl->srv, dl->tok, o) == -1)
			json_object_put(o);
		else
			json_object_array_add(dl->arr, o);
	}
	json_object_put(p);
	return (0);
}

/* GET /v1/deployments and /v1/releases: every claim, filtered. */
static void
deployments_list(struct server *srv, struct evhttp_request *req,
    const struct token *tok, const char *type, const char *key)
{
	struct deployments_list	 dl;
	struct evkeyvalq	 q;
	const char		*v;
	json_object		*o;
	long			 limit = 100;
	char			*end;

	if (api_query(srv, req, &q) == -1)
		return;
	memset(&dl, 0, sizeof(dl));
	dl.srv = srv;
	dl.tok = tok;
	dl.service = evhttp_find_header(&q, "service");
	dl.environment = evhttp_find_header(&q, "environment");
	dl.state = evhttp_find_header(&q, "state");
	if ((v = evhttp_find_header(&q, "limit")) != NULL) {
		limit = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || limit < 1 || limit > 1000) {
			http_error(srv, req, 400, REJECT_SYNTAX, "limit must be "
			    "1 to 1000", "limit");
			goto out;
		}
	}
	if (dl.state != NULL && strcmp(type, "Deployment") == 0) {
		enum dstate	s;
		char		*why;

		if (deploy_state_parse(dl.state, &s) == -1) {
			why = deploy_state_unknown(dl.state);
			http_error(srv, req, 400, REJECT_SYNTAX, why, "state");
			free(why);
			goto out;
		}
	}
	dl.limit = (size_t)limit;
	dl.arr = json_object_new_array();
	/* Page through every claim; filters apply to the latest revision. */
	do {
		dl.seen = 0;
		/* A client's: its tenant's claims only, by the index. */
		if (ledger_claim_list_tenant(srv->reader, type,
		    tok->role == ROLE_CLIENT ? (tok->tenant != NULL ?
		    tok->tenant : "") : NULL, dl.last, DEPLOYMENTS_PAGE,
		    INT64_MAX, deployments_list_one, &dl) == -1) {
			json_object_put(dl.arr);
			api_unreadable(srv, req);
			goto out;
		}
	} while (dl.seen == DEPLOYMENTS_PAGE &&
	    json_object_array_length(dl.arr) < dl.limit);
	o = json_object_new_object();
	json_object_object_add(o, key, dl.arr);
	api_reply_etag(req, o);
	json_object_put(o);
out:
	evhttp_clear_headers(&q);
}

struct deployments_hist {
	struct server		*srv;
	const struct token	*tok;
	json_object		*arr;
};

/*
 * One revision of the history.  A client gets each revision as the
 * presentation builds it (a claim-shaped client view: never copied field
 * by field here, so nothing the view leaves out, such as an actor or a
 * reason, reaches it); other tokens get the transition with its basis.
 */
static int
deployments_history_one(const struct claim *c, void *arg)
{
	struct deployments_hist	*dh = arg;
	json_object		*p, *h, *b;
	const char		*keys[] = { "state", "previous_state", "since",
				    "actor", "reason" };
	char			 t[MP_TIMELEN];
	size_t			 i;

	if (dh->tok != NULL && dh->tok->role == ROLE_CLIENT) {
		h = claim_to_json(c);
		if (api_present(dh->srv, dh->tok, h) == -1)
			json_object_put(h);
		else
			json_object_array_add(dh->arr, h);
		return (0);
	}
	if ((p = json_tokener_parse(c->properties)) == NULL)
		return (0);
	h = json_object_new_object();
	json_object_object_add(h, "revision", json_object_new_int64(
	    c->revision));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_object *v;

		if (json_object_object_get_ex(p, keys[i], &v))
			json_object_object_add(h, keys[i], json_object_get(v));
	}
	if ((b = json_tokener_parse(c->basis)) != NULL)
		json_object_object_add(h, "basis", b);
	tf_format(c->recorded_at, t);
	json_object_object_add(h, "recorded_at", json_object_new_string(t));
	json_object_array_add(dh->arr, h);
	json_object_put(p);
	return (0);
}

struct deployments_rej {
	json_object	*arr;
	char		 prefix[MP_IDMAX * 2 + 2];
	size_t		 plen;
};

static int
deployments_rej_one(const struct claim *c, void *arg)
{
	struct deployments_rej	*r = arg;
	json_object		*o, *b;

	if (strncmp(c->id, r->prefix, r->plen) != 0)
		return (0);
	if ((o = json_tokener_parse(c->properties)) == NULL)
		return (0);
	json_object_object_del(o, "deployment");
	if ((b = json_tokener_parse(c->basis)) != NULL)
		json_object_object_add(o, "basis", b);
	json_object_array_add(r->arr, o);
	return (0);
}

/*
 * The view of one deployment (id: its stored id): its latest revision as
 * a claim, the state and since at the top, every transition with its
 * basis, and every refused attempt.  A client token gets the presented
 * claim, its state and since, and each revision presented (no refused
 * attempts: their reasons and actors are internal).  Returns a new
 * object, NULL when there is no such deployment, or sets *err on a
 * storage error.
 */
static json_object *
deployments_view(struct server *srv, const struct token *tok, const char *id,
    int *err)
{
	struct deployments_rej	 r;
	struct deployments_hist	 dh;
	struct claim		 c;
	json_object		*o, *hist, *p, *v;
	int			 rc, client;

	*err = 0;
	client = tok != NULL && tok->role == ROLE_CLIENT;
	memset(&c, 0, sizeof(c));
	if ((rc = ledger_claim_get(srv->reader, "Deployment", id,
	    INT64_MAX, &c)) != 1) {
		*err = rc == -1;
		claim_clear(&c);
		return (NULL);
	}
	/* Another tenant's deployment does not exist for a client. */
	v = claim_to_json(&c);
	if (api_present(srv, tok, v) == -1) {
		json_object_put(v);
		claim_clear(&c);
		return (NULL);
	}
	o = json_object_new_object();
	/* The state and since at the top: the presented claim's. */
	if (json_object_object_get_ex(v, "id", &p))
		json_object_object_add(o, "id", json_object_get(p));
	json_object_object_add(o, "deployment", v);
	if (json_object_object_get_ex(v, "properties", &p)) {
		if (json_object_object_get_ex(p, "state", &v))
			json_object_object_add(o, "state", json_object_get(v));
		if (json_object_object_get_ex(p, "since", &v))
			json_object_object_add(o, "since", json_object_get(v));
	}
	claim_clear(&c);
	hist = json_object_new_array();
	memset(&dh, 0, sizeof(dh));
	dh.srv = srv;
	dh.tok = tok;
	dh.arr = hist;
	memset(&r, 0, sizeof(r));
	r.arr = json_object_new_array();
	snprintf(r.prefix, sizeof(r.prefix), "%s#", id);
	r.plen = strlen(r.prefix);
	if (ledger_claim_history(srv->reader, "Deployment", id,
	    INT64_MAX, deployments_history_one, &dh) == -1 ||
	    (!client && ledger_claim_list(srv->reader, "DeploymentRejection",
	    r.prefix, DEPLOYMENTS_PAGE, INT64_MAX, deployments_rej_one,
	    &r) == -1)) {
		*err = 1;
		json_object_put(hist);
		json_object_put(r.arr);
		json_object_put(o);
		return (NULL);
	}
	json_object_object_add(o, "history", hist);
	if (client) {
		json_object_put(r.arr);
		return (o);
	}
	json_object_object_add(o, "rejected", r.arr);
	/* The transitions carry actors and reasons too: redact them all. */
	redact_claim(srv->cf->redaction, tok, o);
	return (o);
}

/* After an override's batch: what the state machine made of it. */
static void
deployments_override_done(struct server *srv, struct ingest_req *ir)
{
	struct claim	 c;
	json_object	*o, *p, *v;
	char		 rid[MP_IDMAX * 2 + 32], seq[32];
	const char	*rule = "";
	int		 err, rc;

	if (ir->failed) {
		http_error(srv, ir->req, 503, REJECT_STORAGE, "the ledger could "
		    "not commit; retry", NULL);
		return;
	}
	atomic_fetch_add(&srv->metrics.accepted, 1);
	snprintf(rid, sizeof(rid), "%s#%020lld", ir->ctx,
	    (long long)ir->ev[0]->seq);
	memset(&c, 0, sizeof(c));
	rc = ledger_claim_get(srv->reader, "DeploymentRejection",
	    rid, INT64_MAX, &c);
	if (rc == 1) {
		p = json_tokener_parse(c.properties);
		o = json_object_new_object();
		if (p != NULL && json_object_object_get_ex(p, "rule", &v))
			rule = json_object_get_string(v);
		json_object_object_add(o, "error", json_object_new_string(
		    p != NULL && json_object_object_get_ex(p, "reason", &v) ?
		    json_object_get_string(v) : "refused"));
		json_object_object_add(o, "rule", json_object_new_string(rule));
		json_object_object_add(o, "rejected",
		    json_object_new_boolean(1));
		json_object_object_add(o, "evidence",
		    json_object_new_string(ir->ev[0]->id));
		metrics_reject(&srv->metrics, REJECT_AUTH);
		http_reply_json(ir->req, strcmp(rule, "override_forbidden") ==
		    0 ? 403 : 409, o);
		json_object_put(o);
		json_object_put(p);
		claim_clear(&c);
		return;
	}
	claim_clear(&c);
	if ((o = deployments_view(srv, ir->tok, ir->ctx, &err)) == NULL) {
		http_error(srv, ir->req, 503, REJECT_STORAGE, "the ledger could "
		    "not be read; retry", NULL);
		return;
	}
	snprintf(seq, sizeof(seq), "%lld", (long long)ir->ev[0]->seq);
	json_object_object_add(o, "evidence",
	    json_object_new_string(ir->ev[0]->id));
	http_reply_json(ir->req, 200, o);
	json_object_put(o);
}

static json_object *
deployments_parse(const char *body, size_t len, char *err, size_t errlen)
{
	struct json_tokener	*tok;
	json_object		*o;
	char			 why[MP_ERRLEN];

	tok = strict_new(DEPLOYMENTS_JSON_DEPTH);
	o = strict_parse(tok, body, len, why, sizeof(why));
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "the body must be a JSON object "
		    "{\"state\":…,\"reason\":…}");
		json_object_put(o);
		return (NULL);
	}
	return (o);
}

/* POST /v1/deployments/{id}/status {"state":…,"reason":…}. */
static void
deployments_override(struct server *srv, struct evhttp_request *req,
    const char *id)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	const struct token	*tok = NULL;
	struct ingest_req	*ir = NULL;
	struct claim		 c;
	json_object		*body = NULL, *ev, *p, *l, *st, *why;
	enum role		 role;
	enum dstate		 s;
	unsigned char		 rnd[12];
	char			 err[MP_ERRLEN], prop[64], eid[64], actor[96];
	char			 hex[2 * sizeof(rnd) + 1], dh[MP_HASHLEN];
	char			*why_s;
	size_t			 len;
	int			 rc;

	/* 401, 429, or 403 unless admin or operator (access.c). */
	if (api_authorize(srv, req, ACCESS_OVERRIDE, &tok) == -1)
		return;
	role = tok->role;
	len = evbuffer_get_length(in);
	if (len > srv->cf->limits.max_body) {
		http_error(srv, req, 413, REJECT_SIZE, "body too large", NULL);
		return;
	}
	if ((body = deployments_parse((const char *)evbuffer_pullup(in, -1),
	    len, err, sizeof(err))) == NULL) {
		http_error(srv, req, 400, REJECT_SYNTAX, err, NULL);
		return;
	}
	if (!json_object_object_get_ex(body, "state", &st) ||
	    !json_object_is_type(st, json_type_string) ||
	    deploy_state_parse(json_object_get_string(st), &s) == -1) {
		why_s = deploy_state_unknown(json_object_is_type(st,
		    json_type_string) ? json_object_get_string(st) : "(none)");
		http_error(srv, req, 422, REJECT_TYPE, why_s, "state");
		free(why_s);
		goto out;
	}
	if (!json_object_object_get_ex(body, "reason", &why) ||
	    !json_object_is_type(why, json_type_string) ||
	    *json_object_get_string(why) == '\0') {
		http_error(srv, req, 422, REJECT_TYPE, "reason must be a "
		    "non-empty string: overrides are audited", "reason");
		goto out;
	}
	json_object_object_foreach(body, k, val) {
		(void)val;
		if (strcmp(k, "state") != 0 && strcmp(k, "reason") != 0) {
			http_error(srv, req, 422, REJECT_TYPE, "unknown field "
			    "(state, reason)", k);
			goto out;
		}
	}
	memset(&c, 0, sizeof(c));
	rc = ledger_claim_get(srv->reader, "Deployment", id,
	    INT64_MAX, &c);
	claim_clear(&c);
	if (rc == -1) {
		api_unreadable(srv, req);
		goto out;
	}
	if (rc != 1) {
		http_error(srv, req, 404, REJECT_NOTFOUND,
		    "no such deployment", NULL);
		goto out;
	}
	/* The actor: the role and a digest prefix naming the token. */
	hmac_hex(tok->digest, 4, dh);
	snprintf(actor, sizeof(actor), "%s token %s%s%s",
	    access_role_name(role), dh, tok->tenant ? " tenant " : "",
	    tok->tenant ? tok->tenant : "");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("%s: RAND_bytes", __func__);
	hmac_hex(rnd, sizeof(rnd), hex);
	snprintf(eid, sizeof(eid), "override.%s", hex);
	ev = json_object_new_object();
	json_object_object_add(ev, "type",
	    json_object_new_string("DeploymentOverride"));
	json_object_object_add(ev, "subject", json_object_new_string(id));
	p = json_object_new_object();
	json_object_object_add(p, "deploymentId", json_object_new_string(id));
	json_object_object_add(p, "state", json_object_get(st));
	json_object_object_add(p, "reason", json_object_get(why));
	json_object_object_add(p, "actor", json_object_new_string(actor));
	json_object_object_add(p, "role",
	    json_object_new_string(access_role_name(role)));
	json_object_object_add(ev, "properties", p);
	l = json_object_new_object();
	json_object_object_add(l, "deployment", json_object_new_string(id));
	json_object_object_add(ev, "links", l);
	ir = xcalloc(1, sizeof(*ir));
	ir->ev = xcalloc(1, sizeof(*ir->ev));
	ir->dup = xcalloc(1, sizeof(*ir->dup));
	if (evidence_from_json(ev, srv->cf->types, "api", eid, tf_now(),
	    &ir->ev[0], err, sizeof(err), prop, sizeof(prop)) != EV_OK) {
		json_object_put(ev);
		http_error(srv, req, 422, REJECT_TYPE, err, prop);
		goto out;
	}
	json_object_put(ev);
	ir->nev = 1;
	ir->req = req;
	ir->done = deployments_override_done;
	ir->ctx = xstrdup(id);
	ir->tok = tok;
	if (ingest_submit(srv->ingest, ir) == -1) {
		ir->req = NULL;
		http_error(srv, req, 503, REJECT_OVERLOAD, "the ingest queue is "
		    "full; retry", NULL);
		goto out;
	}
	log_info("%s: %s asks %s -> %s", __func__, actor, id,
	    json_object_get_string(st));
	ir = NULL;
out:
	if (ir != NULL)
		ingest_req_free(ir);
	json_object_put(body);
}

/* Deployments whose commit starts with a prefix, scanned by pages. */
struct deployments_sha {
	const struct token	*tok;
	const char		*prefix;
	const char		*service, *environment;	/* filters, or NULL */
	json_object		*cands;		/* {id, service, environment} */
	size_t			 n;
	char			*first;		/* the first match's id */
	char			 last[MP_IDMAX * 2];
	size_t			 seen;
};

static int
deployments_sha_one(const struct claim *c, void *arg)
{
	struct deployments_sha	*ds = arg;
	json_object		*p, *l = NULL, *v, *o;
	const char		*rev = NULL;

	ds->seen++;
	snprintf(ds->last, sizeof(ds->last), "%s", c->id);
	if (!access_claim_visible(ds->tok, c) ||
	    (p = json_tokener_parse(c->properties)) == NULL)
		return (0);
	if (json_object_object_get_ex(p, "revision", &v) &&
	    json_object_is_type(v, json_type_string))
		rev = json_object_get_string(v);
	else if ((l = json_tokener_parse(c->links)) != NULL &&
	    json_object_object_get_ex(l, "commit", &v) &&
	    json_object_is_type(v, json_type_string))
		rev = json_object_get_string(v);
	if (rev != NULL && strlen(rev) >= strlen(ds->prefix) &&
	    strncasecmp(rev, ds->prefix, strlen(ds->prefix)) == 0 &&
	    deployments_prop_eq(p, "service", ds->service) &&
	    deployments_prop_eq(p, "environment", ds->environment)) {
		if (ds->n++ == 0)
			ds->first = xstrdup(c->id);
		if (ds->n <= DEPLOYMENTS_CANDIDATES) {
			o = json_object_new_object();
			json_object_object_add(o, "id",
			    json_object_new_string(c->id));
			if (json_object_object_get_ex(p, "service", &v))
				json_object_object_add(o, "service",
				    json_object_get(v));
			if (json_object_object_get_ex(p, "environment", &v))
				json_object_object_add(o, "environment",
				    json_object_get(v));
			json_object_object_add(o, "revision",
			    json_object_new_string(rev));
			json_object_array_add(ds->cands, o);
		}
	}
	json_object_put(l);
	json_object_put(p);
	return (0);
}

/*
 * id is no deployment's: when it is a commit prefix (7 to 40 hex digits)
 * of exactly one deployment the token may see (narrowed by ?service= and
 * ?environment=), *full is that deployment's id (taken) and 1 is
 * returned.  0: no match (or not a prefix; or a client token, which never
 * sees commits).  -1: replied, 409 with the candidates when several
 * match, or an error.
 */
static int
deployments_by_sha(struct server *srv, struct evhttp_request *req,
    const struct token *tok, const char *id, char **full)
{
	struct deployments_sha	 ds;
	struct evkeyvalq	 q;
	struct buf		 msg;
	json_object		*o, *v;
	size_t			 i, n = strlen(id);
	int			 rc = 0;

	*full = NULL;
	if (tok->role == ROLE_CLIENT || n < DEPLOYMENTS_SHA_MIN || n > 40 ||
	    strspn(id, "0123456789abcdefABCDEF") != n)
		return (0);
	if (api_query(srv, req, &q) == -1)
		return (-1);
	memset(&ds, 0, sizeof(ds));
	ds.tok = tok;
	ds.prefix = id;
	ds.service = evhttp_find_header(&q, "service");
	ds.environment = evhttp_find_header(&q, "environment");
	ds.cands = json_object_new_array();
	do {
		ds.seen = 0;
		if (ledger_claim_list(srv->reader, "Deployment", ds.last,
		    DEPLOYMENTS_PAGE, INT64_MAX, deployments_sha_one, &ds) ==
		    -1) {
			api_unreadable(srv, req);
			rc = -1;
			goto out;
		}
	} while (ds.seen == DEPLOYMENTS_PAGE);
	if (ds.n == 1) {
		*full = ds.first;
		ds.first = NULL;
		rc = 1;
	} else if (ds.n > 1) {
		buf_init(&msg);
		buf_printf(&msg, "commit prefix %s names %zu deployments:", id,
		    ds.n);
		for (i = 0; i < json_object_array_length(ds.cands); i++) {
			v = json_object_object_get(json_object_array_get_idx(
			    ds.cands, i), "id");
			buf_printf(&msg, "%s %s", i ? "," : "",
			    json_object_get_string(v));
		}
		buf_printf(&msg, "%s; give more of the commit, ?environment= "
		    "or ?service=, or the deployment's id", ds.n >
		    DEPLOYMENTS_CANDIDATES ? ", ..." : "");
		metrics_reject_source(&srv->metrics, NULL, REJECT_AMBIGUOUS);
		o = json_object_new_object();
		json_object_object_add(o, "error",
		    json_object_new_string(buf_cstr(&msg)));
		json_object_object_add(o, "count",
		    json_object_new_int64((int64_t)ds.n));
		json_object_object_add(o, "candidates", ds.cands);
		ds.cands = NULL;
		http_reply_json(req, 409, o);
		json_object_put(o);
		buf_free(&msg);
		rc = -1;
	}
out:
	json_object_put(ds.cands);
	free(ds.first);
	evhttp_clear_headers(&q);
	return (rc);
}

/*
 * /v1/deployments...: rest is the path after "/v1/deployments" ("" or
 * "/{id}" or "/{id}/status"); the id may hold '/' raw or as %2F.
 */
void
deployments_route(struct server *srv, struct evhttp_request *req,
    const char *rest)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	const struct token	*tok;
	json_object		*o;
	char			*raw = NULL, *id = NULL, *sid = NULL;
	char			*full = NULL;
	size_t			 n;
	int			 err, rc, status = 0;

	if (*rest == '/')
		rest++;
	raw = xstrdup(rest);
	n = strlen(raw);
	if (n > 7 && strcmp(raw + n - 7, "/status") == 0) {
		raw[n - 7] = '\0';
		status = 1;
	}
	if (*raw != '\0' && ((id = evhttp_uridecode(raw, 0, NULL)) == NULL ||
	    *id == '\0')) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such endpoint",
		    NULL);
		goto out;
	}
	if (status && m == EVHTTP_REQ_POST) {
		deployments_override(srv, req, id);
		goto out;
	}
	if (status || m != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", status ? "POST" : "GET");
		http_error(srv, req, 405, REJECT_METHOD, "method not allowed",
		    NULL);
		goto out;
	}
	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		goto out;
	if (id == NULL) {
		deployments_list(srv, req, tok, "Deployment", "deployments");
		goto out;
	}
	/* A client names a deployment by its public id. */
	o = NULL;
	if ((sid = api_claim_id(srv, tok, "Deployment", id, &err)) != NULL)
		o = deployments_view(srv, tok, sid, &err);
	/* Not an id: perhaps the unique prefix of a deployment's commit. */
	if (o == NULL && !err) {
		if ((rc = deployments_by_sha(srv, req, tok, id, &full)) == -1)
			goto out;
		if (rc == 1)
			o = deployments_view(srv, tok, full, &err);
	}
	if (o == NULL) {
		if (err)
			api_unreadable(srv, req);
		else
			http_error(srv, req, 404, REJECT_NOTFOUND, "no such "
			    "deployment", NULL);
		goto out;
	}
	api_reply_etag(req, o);
	json_object_put(o);
out:
	free(raw);
	free(id);
	free(sid);
	free(full);
}

/* /v1/releases and /v1/releases/{id}. */
void
deployments_release_route(struct server *srv, struct evhttp_request *req,
    const char *rest)
{
	const struct token *tok;
	struct claim	 c;
	json_object	*o;
	char		*id = NULL;
	int		 rc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		http_error(srv, req, 405, REJECT_METHOD, "method not allowed",
		    NULL);
		return;
	}
	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	if (*rest == '/')
		rest++;
	if (*rest == '\0') {
		deployments_list(srv, req, tok, "Release", "releases");
		return;
	}
	if ((id = evhttp_uridecode(rest, 0, NULL)) == NULL) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such release",
		    NULL);
		return;
	}
	memset(&c, 0, sizeof(c));
	rc = ledger_claim_get(srv->reader, "Release", id, INT64_MAX,
	    &c);
	if (rc == -1)
		api_unreadable(srv, req);
	else if (rc == 0)
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such release",
		    NULL);
	else {
		o = claim_to_json(&c);
		if (api_present(srv, tok, o) == -1)
			http_error(srv, req, 404, REJECT_NOTFOUND, "no such "
			    "release", NULL);
		else
			api_reply_etag(req, o);
		json_object_put(o);
	}
	claim_clear(&c);
	free(id);
}

/* The stall timer. */

static void
deployments_stall_done(struct server *srv, struct ingest_req *ir)
{
	if (ir->failed)
		log_warnx("%s: %s: not stored; the next tick retries",
		    __func__, ir->ev[0]->subject);
	else if (!ir->dup[0]) {
		atomic_fetch_add(&srv->metrics.accepted, 1);
		log_info("%s: %s: no progress within its timeout",
		    __func__, ir->ev[0]->subject);
	}
}

struct deployments_scan {
	struct server	*srv;
	int64_t		 now;
	char		 last[MP_IDMAX * 2];
	size_t		 seen;
};

static void
deployments_stall_submit(struct server *srv, const char *id,
    const char *state, const char *since, json_object *props, double tmo,
    int64_t now)
{
	json_object		*ev, *p, *l, *v;
	char			 eid[MP_IDMAX], h[MP_HASHLEN], t[32];
	int64_t			 s;

	/* One id per (deployment, since): a retry is a duplicate. */
	sha256_hex(id, strlen(id), h);
	tf_parse(since, &s);
	snprintf(eid, sizeof(eid), "stall.%.32s.%lld", h, (long long)s);
	ev = json_object_new_object();
	json_object_object_add(ev, "type",
	    json_object_new_string("DeploymentStalled"));
	json_object_object_add(ev, "subject", json_object_new_string(id));
	p = json_object_new_object();
	json_object_object_add(p, "deploymentId", json_object_new_string(id));
	json_object_object_add(p, "state", json_object_new_string(state));
	json_object_object_add(p, "since", json_object_new_string(since));
	snprintf(t, sizeof(t), "%.3fs", tmo);
	json_object_object_add(p, "timeout", json_object_new_string(t));
	json_object_object_add(ev, "properties", p);
	l = json_object_new_object();
	json_object_object_add(l, "deployment", json_object_new_string(id));
	if (json_object_object_get_ex(props, "service", &v))
		json_object_object_add(l, "service", json_object_get(v));
	if (json_object_object_get_ex(props, "environment", &v))
		json_object_object_add(l, "environment", json_object_get(v));
	json_object_object_add(ev, "links", l);
	ingest_submit_own(srv, ev, eid, now, deployments_stall_done);
}

static int
deployments_scan_one(const struct claim *c, void *arg)
{
	struct deployments_scan	*sc = arg;
	json_object		*p, *v;
	const char		*state, *since, *env = NULL;
	enum dstate		 s;
	double			 tmo;

	sc->seen++;
	snprintf(sc->last, sizeof(sc->last), "%s", c->id);
	if ((p = json_tokener_parse(c->properties)) == NULL)
		return (0);
	if (json_object_object_get_ex(p, "state", &v) &&
	    (state = json_object_get_string(v)) != NULL &&
	    deploy_state_parse(state, &s) == 0 &&
	    deploy_state_expects_progress(s) &&
	    json_object_object_get_ex(p, "since", &v) &&
	    (since = json_object_get_string(v)) != NULL) {
		if (json_object_object_get_ex(p, "environment", &v))
			env = json_object_get_string(v);
		tmo = deploy_timeout(sc->srv->cf->rules, env);
		/*
		 * Measured from when the state was recorded, not from its
		 * event time: backfilled or late evidence is not a stall.
		 */
		if ((double)(sc->now - c->recorded_at) >= tmo * 1e6)
			deployments_stall_submit(sc->srv, c->id, state, since,
			    p, tmo, sc->now);
	}
	json_object_put(p);
	return (0);
}

static void
deployments_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server		*srv = arg;
	struct deployments_scan	 sc;

	metrics_timer(&srv->metrics, METRICS_TIMER_STALL, srv->stall_us);
	/* One replica of those sharing a ledger runs the stall timer. */
	if (srv->stopping || !ledger_leader(srv->reader))
		return;
	memset(&sc, 0, sizeof(sc));
	sc.srv = srv;
	sc.now = tf_now();
	do {
		sc.seen = 0;
		if (ledger_claim_list(srv->reader, "Deployment",
		    sc.last, DEPLOYMENTS_PAGE, INT64_MAX, deployments_scan_one,
		    &sc) == -1) {
			log_warnx("%s: %s", __func__,
			    ledger_error(srv->reader));
			return;
		}
	} while (sc.seen == DEPLOYMENTS_PAGE);
}

/*
 * Start the stall timer: it ticks at a quarter of the shortest configured
 * timeout (between 0.2 s and 5 s), so a stall is seen within a quarter of
 * its timeout, with no request needed.
 */
void
deployments_timer_start(struct server *srv)
{
	const struct deployconf	*cf = srv->cf->rules->deploy;
	struct timeval		 tv;
	double			 min = cf != NULL ? cf->timeout : 1800, s;
	size_t			 i;

	for (i = 0; cf != NULL && i < cf->nenvs; i++)
		if (cf->envs[i].timeout > 0 && cf->envs[i].timeout < min)
			min = cf->envs[i].timeout;
	s = min / 4;
	if (s < 0.2)
		s = 0.2;
	if (s > 5)
		s = 5;
	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	srv->stall_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	srv->ev_stall = event_new(srv->base, -1, EV_PERSIST, deployments_tick,
	    srv);
	evtimer_add(srv->ev_stall, &tv);
}
