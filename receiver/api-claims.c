/*
 * api-claims.c: the read endpoints.  They run on the loop thread against the
 * read-only ledger connection (WAL lets them read beside the writer); each
 * is bounded (at most 1000 entries) so that no read stalls ingest.  Each
 * starts with api_authorize, passes every object it returns through
 * api_present and answers with api_reply_etag (api-access.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define API_LIMIT_DEFAULT	100
#define API_LIMIT_MAX		1000

static int
api_collect(const struct evidence *ev, void *arg)
{
	json_object_array_add(arg, evidence_to_json(ev));
	return (0);
}

/* GET /v1/evidence?after=SEQ&limit=N: entries in ledger order. */
void
api_evidence_list(struct server *srv, struct evhttp_request *req)
{
	struct evkeyvalq	 q;
	json_object		*o, *arr, *last;
	long long		 after, limit, next;
	char			 msg[128];
	size_t			 n;

	if (api_authorize(srv, req, ACCESS_EVIDENCE_READ, NULL) == -1)
		return;
	if (api_query(srv, req, &q) == -1)
		return;
	if (api_query_int(&q, "after", 0, 0, INT64_MAX, &after) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "after must be a "
		    "sequence number (0 or more)", "after");
		goto out;
	}
	if (api_query_int(&q, "limit", API_LIMIT_DEFAULT, 1, API_LIMIT_MAX,
	    &limit) == -1) {
		snprintf(msg, sizeof(msg), "limit must be 1 to %d",
		    API_LIMIT_MAX);
		http_error(srv, req, 400, REJECT_SYNTAX, msg, "limit");
		goto out;
	}
	arr = json_object_new_array();
	if (ledger_scan(srv->reader, after, (size_t)limit, api_collect,
	    arr) == -1) {
		log_warnx("%s: %s", __func__, ledger_error(srv->reader));
		json_object_put(arr);
		api_unreadable(srv, req);
		goto out;
	}
	next = after;
	if ((n = json_object_array_length(arr)) > 0) {
		json_object_object_get_ex(json_object_array_get_idx(arr,
		    n - 1), "seq", &last);
		next = json_object_get_int64(last);
	}
	o = json_object_new_object();
	json_object_object_add(o, "evidence", arr);
	json_object_object_add(o, "next", json_object_new_int64(next));
	api_reply_etag(req, o);
	json_object_put(o);
out:
	evhttp_clear_headers(&q);
}

/*
 * GET /healthz, liveness: 200 while the daemon serves and can commit; 503
 * while it stops or while commits fail (a full disk, an I/O error), until
 * one succeeds again.
 */
void
api_healthz(struct server *srv, struct evhttp_request *req)
{
	json_object	*o;
	int		 failing = atomic_load(&srv->metrics.commit_failing);

	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string(
	    srv->stopping ? "stopping" : failing ? "failing" : "ok"));
	json_object_object_add(o, "seq", json_object_new_int64(
	    atomic_load(&srv->metrics.ledger_seq)));
	if (failing)
		json_object_object_add(o, "error", json_object_new_string(
		    "commits to the ledger fail (see the log)"));
	if (srv->stopping || failing)
		http_reply_json(req, 503, o);
	else
		api_reply_etag(req, o);
	json_object_put(o);
}

/*
 * GET /readyz, readiness: 200 {"ready":true} when the daemon should be
 * sent traffic now: it is live (as /healthz) and its ingest queue has
 * room.  Else 503 {"ready":false,"reasons":[…]}; a full queue is not a
 * reason to restart it, only to send the traffic elsewhere for a while.
 */
void
api_readyz(struct server *srv, struct evhttp_request *req)
{
	json_object	*o, *why;
	uint64_t	 depth = atomic_load(&srv->metrics.queue_depth);
	size_t		 max = srv->cf->limits.queue_max;
	char		 s[128];

	o = json_object_new_object();
	why = json_object_new_array();
	if (srv->stopping)
		json_object_array_add(why, json_object_new_string("stopping"));
	if (atomic_load(&srv->metrics.commit_failing))
		json_object_array_add(why, json_object_new_string("commits to "
		    "the ledger fail"));
	if (depth >= max) {
		snprintf(s, sizeof(s), "the ingest queue is full (%llu of "
		    "%zu)", (unsigned long long)depth, max);
		json_object_array_add(why, json_object_new_string(s));
	}
	json_object_object_add(o, "ready", json_object_new_boolean(
	    json_object_array_length(why) == 0));
	if (json_object_array_length(why) == 0) {
		json_object_put(why);
		http_reply_json(req, 200, o);
	} else {
		json_object_object_add(o, "reasons", why);
		http_reply_json(req, 503, o);
	}
	json_object_put(o);
}

/* GET /metrics: Prometheus text format. */
void
api_metrics(struct server *srv, struct evhttp_request *req)
{
	struct buf	b;

	buf_init(&b);
	metrics_render(&srv->metrics, &b);
	push_metrics(srv->push, &b);
	reads_metrics(srv->reads, &b);
	gates_metrics(srv, &b);
	api_reply_etag_bytes(req, "text/plain; version=0.0.4", b.data, b.len);
	buf_free(&b);
}

static int
api_claim_known(struct server *srv, const char *type)
{
	size_t	i;

	if (claims_find(srv->cf->rules, type) != NULL)
		return (1);
	if (strcmp(type, "Milestone") == 0)	/* built in: milestone.c */
		return (1);
	if (strcmp(type, "Slo") == 0 && srv->cf->rules->slos != NULL &&
	    srv->cf->rules->slos->nslo > 0)
		return (1);	/* slo.c */
	if (strcmp(type, "GateViolation") == 0)
		return (1);	/* gate.c */
	if (strcmp(type, "Deployment") == 0 || strcmp(type, "Release") == 0 ||
	    strcmp(type, "DeploymentRejection") == 0)
		return (1);	/* deploy.c */
	for (i = 0; i < srv->cf->rules->ncc; i++)
		if (strcmp(srv->cf->rules->cc[i].name, type) == 0)
			return (1);
	return (0);
}

/* A page of claims, as the list endpoint scans it. */
struct api_page {
	struct server		*srv;
	const struct token	*tok;
	json_object		*arr;
	size_t			 scanned;
	char			*last;		/* the last id scanned */
};

/* Keep c when the token may see it, redacted for it. */
static int
api_claim_collect(const struct claim *c, void *arg)
{
	struct api_page	*pg = arg;
	json_object	*o;

	pg->scanned++;
	free(pg->last);
	pg->last = xstrdup(c->id);
	o = claim_to_json(c);
	if (api_present(pg->srv, pg->tok, o) == -1) {
		json_object_put(o);
		return (0);
	}
	json_object_array_add(pg->arr, o);
	return (0);
}

#define API_TYPES_SCAN	10000	/* claims a client's count reads, per type */

/* Count what a client token may see of one type, by pages. */
struct api_count {
	const struct token	*tok;
	int64_t			 n, scanned;
	char			*last;
};

static int
api_count_one(const struct claim *c, void *arg)
{
	struct api_count	*ac = arg;

	ac->scanned++;
	free(ac->last);
	ac->last = xstrdup(c->id);
	if (access_claim_visible(ac->tok, c))
		ac->n++;
	return (0);
}

/*
 * One entry of GET /v1/claims: {"type", "kind", "count"}.  A client's
 * count is of its tenant's claims, read by pages, at most API_TYPES_SCAN
 * of them ("partial": true beyond); others count by the store's index.
 * Returns -1 when the ledger cannot be read.
 */
static int
api_claim_type(struct server *srv, const struct token *tok, json_object *arr,
    const char *type, const char *kind)
{
	struct api_count	 ac;
	json_object		*o;
	int64_t			 seen;

	memset(&ac, 0, sizeof(ac));
	ac.tok = tok;
	if (tok->role != ROLE_CLIENT) {
		if ((ac.n = ledger_claim_count(srv->reader, type)) == -1)
			return (-1);
	} else {
		do {
			seen = ac.scanned;
			if (ledger_claim_list(srv->reader, type, ac.last,
			    API_LIMIT_MAX, INT64_MAX, api_count_one, &ac) ==
			    -1) {
				free(ac.last);
				return (-1);
			}
		} while (ac.scanned - seen == API_LIMIT_MAX &&
		    ac.scanned < API_TYPES_SCAN);
		free(ac.last);
	}
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "kind", json_object_new_string(kind));
	json_object_object_add(o, "count", json_object_new_int64(ac.n));
	if (tok->role == ROLE_CLIENT && ac.scanned >= API_TYPES_SCAN)
		json_object_object_add(o, "partial",
		    json_object_new_boolean(1));
	json_object_array_add(arr, o);
	return (0);
}

/*
 * GET /v1/claims: every claim type the daemon derives, in the order of
 * the configuration (claim types, computed claims, then the built-in
 * Deployment, DeploymentRejection, Release and Milestone), each with how
 * many claims it has: {"claim_types": [{"type", "kind", "count"}, …]}.
 */
static void
api_claim_types(struct server *srv, struct evhttp_request *req,
    const struct token *tok)
{
	static const char *const builtin[] = { "Deployment",
	    "DeploymentRejection", "Release", "Milestone" };
	const struct rules	*r = srv->cf->rules;
	json_object		*o, *arr;
	size_t			 i;
	int			 rc = 0;

	arr = json_object_new_array();
	for (i = 0; rc == 0 && i < r->ncl; i++)
		rc = api_claim_type(srv, tok, arr, r->cl[i].t.name,
		    "lifecycle");
	for (i = 0; rc == 0 && i < r->ncc; i++)
		rc = api_claim_type(srv, tok, arr, r->cc[i].name, "computed");
	for (i = 0; rc == 0 && i < sizeof(builtin) / sizeof(builtin[0]); i++)
		rc = api_claim_type(srv, tok, arr, builtin[i], "builtin");
	/* slo.c and gate.c: only where slos: and gates: are configured. */
	if (rc == 0 && r->slos != NULL && r->slos->nslo > 0)
		rc = api_claim_type(srv, tok, arr, "Slo", "builtin");
	if (rc == 0 && r->gates != NULL && r->gates->declared)
		rc = api_claim_type(srv, tok, arr, "GateViolation", "builtin");
	if (rc == -1) {
		json_object_put(arr);
		api_unreadable(srv, req);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "claim_types", arr);
	api_reply_etag(req, o);
	json_object_put(o);
}

/*
 * GET /v1/claims/{type} and /v1/claims/{type}/{id}, each with ?as_of=RFC3339
 * (what was believed at that transaction time); the list also takes
 * ?after=ID&limit=N.  rest is the path after "/v1/claims/".  A client
 * token gets 404 for another tenant's claim, and a list page holds only
 * its tenant's (so a page may be short: follow next while it is set).
 */
void
api_claims(struct server *srv, struct evhttp_request *req, const char *rest)
{
	struct evkeyvalq	 q;
	struct claim		 c;
	struct api_page		 pg;
	const struct token	*tok;
	json_object		*o, *arr;
	const char		*slash, *v;
	char			*type = NULL, *id = NULL, *after = NULL;
	int64_t			 as_of = INT64_MAX;
	long long		 limit;
	int			 rc;

	memset(&pg, 0, sizeof(pg));
	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	if (api_query(srv, req, &q) == -1)
		return;
	if (*rest == '\0') {		/* GET /v1/claims */
		api_claim_types(srv, req, tok);
		goto out;
	}
	if ((slash = strchr(rest, '/')) != NULL) {
		char *t = xstrndup(rest, (size_t)(slash - rest));

		type = evhttp_uridecode(t, 0, NULL);
		free(t);
		id = evhttp_uridecode(slash + 1, 0, NULL);
	} else
		type = evhttp_uridecode(rest, 0, NULL);
	if (type == NULL || *type == '\0' || (slash != NULL && (id == NULL ||
	    *id == '\0'))) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such endpoint",
		    NULL);
		goto out;
	}
	if (!api_claim_known(srv, type)) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "unknown claim type",
		    "type");
		goto out;
	}
	if ((v = evhttp_find_header(&q, "as_of")) != NULL &&
	    tf_parse(v, &as_of) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "as_of must be an "
		    "RFC 3339 timestamp", "as_of");
		goto out;
	}
	if (id != NULL) {
		char	*sid;
		int	 err;

		memset(&c, 0, sizeof(c));
		/* A client names a deployment by its public id. */
		if ((sid = api_claim_id(srv, tok, type, id, &err)) == NULL)
			rc = err ? -1 : 0;
		else
			rc = ledger_claim_get(srv->reader, type, sid, as_of,
			    &c);
		free(sid);
		if (rc == -1)
			api_unreadable(srv, req);
		else {
			o = rc == 1 ? claim_to_json(&c) : NULL;
			/* Another tenant's claim reads as a missing one. */
			if (o == NULL || api_present(srv, tok, o) == -1)
				http_error(srv, req, 404, REJECT_NOTFOUND,
				    as_of == INT64_MAX ? "no such claim" :
				    "no such claim at that time", NULL);
			else
				api_reply_etag(req, o);
			json_object_put(o);
		}
		claim_clear(&c);
		goto out;
	}
	if (api_query_int(&q, "limit", API_LIMIT_DEFAULT, 1, API_LIMIT_MAX,
	    &limit) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "limit must be 1 to "
		    "1000", "limit");
		goto out;
	}
	if ((v = evhttp_find_header(&q, "after")) != NULL)
		after = xstrdup(v);
	arr = json_object_new_array();
	pg.srv = srv;
	pg.tok = tok;
	pg.arr = arr;
	if (ledger_claim_list(srv->reader, type, after,
	    (size_t)limit, as_of, api_claim_collect, &pg) == -1) {
		json_object_put(arr);
		api_unreadable(srv, req);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "claims", arr);
	if (pg.scanned == (size_t)limit && pg.last != NULL)
		json_object_object_add(o, "next",
		    json_object_new_string(pg.last));
	else
		json_object_object_add(o, "next", NULL);
	api_reply_etag(req, o);
	json_object_put(o);
out:
	free(pg.last);
	free(type);
	free(id);
	free(after);
	evhttp_clear_headers(&q);
}
