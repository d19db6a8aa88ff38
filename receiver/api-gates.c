/*
 * api-gates.c: change gates over HTTP.
 *
 *   GET  /v1/gates/{service}/{environment}[?at=RFC3339]
 *	200 {"service", "environment", "at", "open", "reasons": [{"policy",
 *	"reason", …}], "exception"?}; a closed gate is an answer, not an
 *	error.  An unknown service or environment is 404 naming the nearest
 *	valid ones, so that a typo never reads as an open gate.
 *   POST /v1/gates/{service}/{environment}/exceptions
 *	{"exception"?: ID, "reason": TEXT}: one approval of an exception, by
 *	the token's identity and role (operator or admin; the chain's roles,
 *	gates.exceptions.roles): GateApproval evidence, hash-chained like
 *	every evidence, through the writer.  202 {"exception", "id", "seq"}.
 *
 * The evaluation is derive/gate.c's gate_evaluate over the read-only
 * ledger handle: bounded reads (the SLOs' claims, incidents and approvals
 * in their windows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/rand.h>

#include "milepostd.h"

#define GATES_NAME_MAX	128

/* Split "{service}/{environment}[/exceptions]"; -1 when it is not. */
static int
gates_path(const char *rest, char *svc, char *env, int *exc)
{
	const char	*a, *b;
	size_t		 ls, le;

	*exc = 0;
	if ((a = strchr(rest, '/')) == NULL)
		return (-1);
	ls = (size_t)(a - rest);
	a++;
	b = strchr(a, '/');
	le = b != NULL ? (size_t)(b - a) : strlen(a);
	if (b != NULL) {
		if (strcmp(b, "/exceptions") != 0)
			return (-1);
		*exc = 1;
	}
	if (ls == 0 || le == 0 || ls >= GATES_NAME_MAX || le >= GATES_NAME_MAX)
		return (-1);
	memcpy(svc, rest, ls);
	svc[ls] = '\0';
	memcpy(env, a, le);
	env[le] = '\0';
	return (0);
}

static void
gates_get(struct server *srv, struct evhttp_request *req, const char *svc,
    const char *env)
{
	const struct token	*tok;
	struct evkeyvalq	 q;
	json_object		*o;
	const char		*at;
	char			*why;
	int64_t			 now;

	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	if (tok->role == ROLE_CLIENT) {
		http_error(srv, req, 403, REJECT_AUTH, "gates are for "
		    "pipelines and staff, not client tokens", NULL);
		return;
	}
	if ((why = gate_name_check(srv->cf->rules, srv->cf->catalog, svc,
	    env)) != NULL) {
		http_error(srv, req, 404, REJECT_NOTFOUND, why, NULL);
		free(why);
		return;
	}
	if (api_query(srv, req, &q) == -1)
		return;
	now = tf_now();
	if ((at = evhttp_find_header(&q, "at")) != NULL &&
	    tf_parse(at, &now) == -1) {
		evhttp_clear_headers(&q);
		http_error(srv, req, 400, REJECT_SYNTAX, "at must be an RFC "
		    "3339 time", "at");
		return;
	}
	evhttp_clear_headers(&q);
	if (gate_evaluate(srv->cf->rules, srv->reader, svc, env, now, NULL,
	    &o) == -1) {
		api_unreadable(srv, req);
		return;
	}
	api_reply_etag(req, o);
	json_object_put(o);
}

static void
gates_approve_done(struct server *srv, struct ingest_req *ir)
{
	json_object	*o;

	if (ir->failed) {
		http_error(srv, ir->req, 503, REJECT_STORAGE, "the ledger could "
		    "not commit; retry", NULL);
		return;
	}
	atomic_fetch_add(&srv->metrics.accepted, 1);
	o = json_object_new_object();
	json_object_object_add(o, "exception", json_object_new_string(
	    ir->ctx));
	json_object_object_add(o, "id", json_object_new_string(ir->ev[0]->id));
	json_object_object_add(o, "seq", json_object_new_int64(ir->ev[0]->seq));
	if (ir->dup[0])
		json_object_object_add(o, "duplicate",
		    json_object_new_boolean(1));
	http_reply_json(ir->req, ir->dup[0] ? 200 : 202, o);
	json_object_put(o);
}

static void
gates_approve(struct server *srv, struct evhttp_request *req, const char *svc,
    const char *env)
{
	const struct gate_conf	*g = srv->cf->rules->gates;
	const struct token	*tok;
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct ingest_req	*ir = NULL;
	struct json_tokener	*jt;
	json_object		*body = NULL, *ev, *p, *l, *v, *why = NULL;
	unsigned char		 rnd[12];
	char			 hex[2 * sizeof(rnd) + 1], dh[MP_HASHLEN];
	char			 actor[256], eid[MP_IDMAX], exc[MP_IDMAX];
	char			 err[MP_ERRLEN], prop[64], *w;
	const char		*role;
	size_t			 len, i;

	if (api_authorize(srv, req, ACCESS_OVERRIDE, &tok) == -1)
		return;
	role = access_role_name(tok->role);
	if (g != NULL && g->nroles > 0) {
		for (i = 0; i < g->nroles; i++)
			if (strcmp(g->roles[i], role) == 0)
				break;
		if (i == g->nroles) {
			http_error(srv, req, 403, REJECT_AUTH, "this token's "
			    "role is not in the approval chain "
			    "(gates.exceptions.roles)", NULL);
			return;
		}
	}
	if ((w = gate_name_check(srv->cf->rules, srv->cf->catalog, svc,
	    env)) != NULL) {
		http_error(srv, req, 404, REJECT_NOTFOUND, w, NULL);
		free(w);
		return;
	}
	len = evbuffer_get_length(in);
	if (len > srv->cf->limits.max_body) {
		http_error(srv, req, 413, REJECT_SIZE, "body too large", NULL);
		return;
	}
	jt = strict_new(8);
	body = strict_parse(jt, (const char *)evbuffer_pullup(in, -1), len,
	    err, sizeof(err));
	json_tokener_free(jt);
	if (body == NULL || !json_object_is_type(body, json_type_object)) {
		http_error(srv, req, 400, REJECT_SYNTAX, "the body must be a "
		    "JSON object {\"reason\":…, \"exception\":…}", NULL);
		goto out;
	}
	json_object_object_foreach(body, k, val) {
		(void)val;
		if (strcmp(k, "exception") != 0 && strcmp(k, "reason") != 0) {
			http_error(srv, req, 422, REJECT_TYPE, "unknown field "
			    "(exception, reason)", k);
			goto out;
		}
	}
	if (!json_object_object_get_ex(body, "reason", &why) ||
	    !json_object_is_type(why, json_type_string) ||
	    *json_object_get_string(why) == '\0') {
		http_error(srv, req, 422, REJECT_TYPE, "reason must be a "
		    "non-empty string: exceptions are audited", "reason");
		goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("%s: RAND_bytes", __func__);
	hmac_hex(rnd, sizeof(rnd), hex);
	if (json_object_object_get_ex(body, "exception", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !ident_valid(json_object_get_string(v)) ||
		    strlen(json_object_get_string(v)) > 64) {
			http_error(srv, req, 422, REJECT_TYPE, "exception must "
			    "be an id of 1 to 64 printable characters",
			    "exception");
			goto out;
		}
		snprintf(exc, sizeof(exc), "%s", json_object_get_string(v));
	} else
		snprintf(exc, sizeof(exc), "exc-%.12s", hex);
	/* The approver: the token's name, or its role and digest prefix. */
	hmac_hex(tok->digest, 4, dh);
	snprintf(actor, sizeof(actor), "%s token %s%s%s", role,
	    tok->name != NULL ? tok->name : dh, tok->tenant ? " tenant " : "",
	    tok->tenant ? tok->tenant : "");
	snprintf(eid, sizeof(eid), "approval.%s", hex);
	ev = json_object_new_object();
	json_object_object_add(ev, "type", json_object_new_string(
	    "GateApproval"));
	json_object_object_add(ev, "subject", json_object_new_string(exc));
	p = json_object_new_object();
	json_object_object_add(p, "service", json_object_new_string(svc));
	json_object_object_add(p, "environment", json_object_new_string(env));
	json_object_object_add(p, "exception", json_object_new_string(exc));
	json_object_object_add(p, "reason", json_object_get(why));
	json_object_object_add(p, "actor", json_object_new_string(actor));
	json_object_object_add(p, "role", json_object_new_string(role));
	json_object_object_add(ev, "properties", p);
	l = json_object_new_object();
	json_object_object_add(l, "service", json_object_new_string(svc));
	json_object_object_add(l, "environment", json_object_new_string(env));
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
	ir->done = gates_approve_done;
	ir->ctx = xstrdup(exc);
	ir->tok = tok;
	if (ingest_submit(srv->ingest, ir) == -1) {
		ir->req = NULL;
		http_error(srv, req, 503, REJECT_OVERLOAD, "the ingest queue is "
		    "full; retry", NULL);
		goto out;
	}
	log_info("%s: %s approves exception %s for %s in %s", __func__, actor,
	    exc, svc, env);
	ir = NULL;
out:
	if (ir != NULL)
		ingest_req_free(ir);
	json_object_put(body);
}

/* /v1/gates/… : rest is what follows "/v1/gates/". */
void
gates_route(struct server *srv, struct evhttp_request *req, const char *rest)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	char			 svc[GATES_NAME_MAX], env[GATES_NAME_MAX];
	int			 exc;

	if (gates_path(rest, svc, env, &exc) == -1) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such endpoint "
		    "(/v1/gates/{service}/{environment}[/exceptions])", NULL);
		return;
	}
	if (!exc && m == EVHTTP_REQ_GET) {
		gates_get(srv, req, svc, env);
		return;
	}
	if (exc && m == EVHTTP_REQ_POST) {
		gates_approve(srv, req, svc, env);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    exc ? "POST" : "GET");
	http_error(srv, req, 405, REJECT_METHOD, "method not allowed", NULL);
}

/* For GET /metrics: policy violations recorded (GateViolation claims). */
void
gates_metrics(struct server *srv, struct buf *b)
{
	int64_t	n;

	if ((n = ledger_claim_count(srv->reader, "GateViolation")) < 0)
		return;
	buf_adds(b, "# HELP milepost_gate_violations_total Deployments "
	    "started while their gate was closed, without an approved "
	    "exception.\n# TYPE milepost_gate_violations_total counter\n");
	buf_printf(b, "milepost_gate_violations_total %lld\n", (long long)n);
}

/*
 * GET /v1/slos/{name}/simulate?burn_rate=X&for=DURATION: what-if
 * (derive/slo-sim.c); reads the ledger, writes nothing.
 */
void
gates_simulate(struct server *srv, struct evhttp_request *req,
    const char *rest)
{
	const struct token	*tok;
	struct evkeyvalq	 q;
	json_object		*o;
	const char		*xs, *fs, *slash;
	char			 name[GATES_NAME_MAX], err[MP_ERRLEN], *end;
	double			 x, f;
	size_t			 n;
	int			 rc;

	if ((slash = strchr(rest, '/')) == NULL ||
	    strcmp(slash, "/simulate") != 0 ||
	    (n = (size_t)(slash - rest)) == 0 || n >= sizeof(name)) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such endpoint "
		    "(/v1/slos/{name}/simulate)", NULL);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		http_error(srv, req, 405, REJECT_METHOD, "method not allowed",
		    NULL);
		return;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	if (tok->role == ROLE_CLIENT) {
		http_error(srv, req, 403, REJECT_AUTH, "simulations are for "
		    "staff, not client tokens", NULL);
		return;
	}
	if (api_query(srv, req, &q) == -1)
		return;
	xs = evhttp_find_header(&q, "burn_rate");
	fs = evhttp_find_header(&q, "for");
	x = xs != NULL ? strtod(xs, &end) : -1;
	if (xs == NULL || *xs == '\0' || *end != '\0' || !(x >= 0) ||
	    x > 1e6) {
		evhttp_clear_headers(&q);
		http_error(srv, req, 400, REJECT_SYNTAX, "burn_rate must be a "
		    "number from 0 to 1000000", "burn_rate");
		return;
	}
	if (fs == NULL || ts_parse(fs, &f) == -1 || f <= 0 ||
	    f > 366.0 * 86400) {
		evhttp_clear_headers(&q);
		http_error(srv, req, 400, REJECT_SYNTAX, "for must be a "
		    "timespan up to 366d, e.g. 6h", "for");
		return;
	}
	evhttp_clear_headers(&q);
	rc = slo_simulate(srv->cf->rules, srv->cf->milestones, srv->reader,
	    name, x, (int64_t)f, tf_now(), &o, err, sizeof(err));
	if (rc == -1) {
		api_unreadable(srv, req);
		return;
	}
	if (rc == 1) {
		http_error(srv, req, 404, REJECT_NOTFOUND, err, NULL);
		return;
	}
	api_reply_etag(req, o);
	json_object_put(o);
}

/*
 * Late events (limits.max_lateness): each source's watermark is the
 * largest trusted event time it has sent; at start (or at the first
 * evidence once a reload turned the limit on) it is read from the
 * ledger (ledger_source_times), so a restart does not forget it.
 * Evidence more than max_lateness behind it is refused (422), so that a
 * replay of old history cannot revise closed SLO windows without an
 * operator meaning it.  Below the limit it is admitted, and derivation
 * flags the revisions it causes as late.  The table belongs to the loop
 * thread (struct server).  Returns 0, or -1 with msg.
 */
#define GATES_SOURCES_MAX	64
#define GATES_TRUST_AHEAD	(86400LL * 1000000)	/* as derivation */
struct gates_wm {
	char	name[64];
	int64_t	max;
};

static struct gates_wm *
gates_wm_find(struct server *srv, const char *source, int create)
{
	struct gates_wm	*w;
	size_t		 i;

	for (i = 0; i < srv->nwm; i++)
		if (strcmp(srv->wm[i].name, source) == 0)
			return (&srv->wm[i]);
	if (!create || srv->nwm == GATES_SOURCES_MAX ||
	    strlen(source) >= sizeof(w->name))
		return (NULL);
	if (srv->wm == NULL)
		srv->wm = xcalloc(GATES_SOURCES_MAX, sizeof(*srv->wm));
	w = &srv->wm[srv->nwm++];
	strlcpy(w->name, source, sizeof(w->name));
	w->max = INT64_MIN;
	return (w);
}

static void
gates_wm_load_one(const char *source, int64_t t, void *arg)
{
	struct gates_wm	*w;

	if ((w = gates_wm_find(arg, source, 1)) != NULL && t > w->max)
		w->max = t;
}

/* Read every source's watermark from the ledger (one pass).  0 or -1. */
int
gates_watermark_load(struct server *srv)
{
	if (ledger_source_times(srv->reader, INT64_MAX, GATES_TRUST_AHEAD,
	    gates_wm_load_one, srv) == -1) {
		log_warnx("%s: %s", __func__, ledger_error(srv->reader));
		return (-1);
	}
	srv->wm_loaded = 1;
	return (0);
}

int
gates_watermark(struct server *srv, const char *source, int64_t t, char *msg,
    size_t len)
{
	int64_t		 limit = srv->cf->limits.max_lateness;
	struct gates_wm	*w;
	char		 ts[MP_TIMELEN], ws[MP_TIMELEN];

	if (limit <= 0 || source == NULL)
		return (0);
	if (!srv->wm_loaded && gates_watermark_load(srv) == -1)
		return (0);	/* cannot say: admitted, as before a limit */
	if ((w = gates_wm_find(srv, source, 1)) == NULL)
		return (0);
	if (w->max != INT64_MIN && t < w->max - limit) {
		tf_format(t, ts);
		tf_format(w->max, ws);
		snprintf(msg, len, "time %s is too late: more than "
		    "limits.max_lateness behind the watermark of source %s "
		    "(%s)", ts, source, ws);
		return (-1);
	}
	if (t <= tf_now() + GATES_TRUST_AHEAD && t > w->max)
		w->max = t;
	return (0);
}
