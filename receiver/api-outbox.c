/*
 * api-outbox.c: the outbox over HTTP, for operator and admin tokens
 * (ACCESS_OUTBOX in access.c).
 *
 *   GET  /v1/outbox[?sink=S&status=pending|dead|done|all]
 *        {"outbox":[{sink,status,type,id,attempts,next_at,last_error}],
 *         "truncated":bool}, at most API_OUTBOX_MAX rows
 *   POST /v1/outbox/retry   {"sink"?: S, "object"?: "TYPE/ID"}
 *   POST /v1/outbox/replay  {"since": RFC 3339 or a timespan ago,
 *                            "sink"?: S}
 *        200 {"queued":N,"evidence":ID,"seq":N}
 *   GET  /v1/outbox/sinks   each configured sink's health (the dashboard):
 *        {"sinks":[{sink,pending,dead,backlog,oldest_pending,disabled}]};
 *        backlog is the feed entries the sink has not taken into rows yet
 *
 * Retry and replay are writes: each is a writer job (ingest_job_submit,
 * atomic) that changes the rows and appends its audit evidence
 * (OutboxRetried, OutboxReplayed: outbox_op_apply) in one transaction, so
 * both commit or neither does.  Bad bodies get 400 (not JSON) or 422
 * naming the field and its valid values, and change nothing.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milepostd.h"

#define API_OUTBOX_MAX		1000	/* rows listed */
#define API_OUTBOX_DEPTH	4	/* JSON depth of a body */

struct api_outbox_list {
	json_object	*rows;
	size_t		 n;
	int		 truncated;
};

struct api_outbox_job {
	struct ingest_job	 job;
	struct server		*srv;
	struct evhttp_request	*req;
	struct outbox_op	 op;
	char			*sink, *type;	/* op's, taken */
	char			 actor[128];
	struct outbox_op_result	 res;
};

static int	api_outbox_row(const struct outbox_row *, void *);
static void	api_outbox_sinks(struct server *, struct evhttp_request *);
static int	api_outbox_sink(struct server *, struct evhttp_request *,
		    const char *);
static void	api_outbox_list(struct server *, struct evhttp_request *);
static void	api_outbox_write(struct server *, struct evhttp_request *,
		    int);
static int	api_outbox_run(struct ledger *, void *);
static void	api_outbox_done(struct ingest_job *, void *);
static void	api_outbox_job_free(struct api_outbox_job *);

/* Route /v1/outbox and below (path is what follows "/v1/outbox"). */
void
api_outbox_route(struct server *srv, struct evhttp_request *req,
    const char *path)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	const char		*allow;

	if (*path == '\0') {
		allow = "GET";
		if (m == EVHTTP_REQ_GET) {
			api_outbox_list(srv, req);
			return;
		}
	} else if (strcmp(path, "/sinks") == 0) {
		allow = "GET";
		if (m == EVHTTP_REQ_GET) {
			api_outbox_sinks(srv, req);
			return;
		}
	} else if (strcmp(path, "/retry") == 0 || strcmp(path, "/replay") ==
	    0) {
		allow = "POST";
		if (m == EVHTTP_REQ_POST) {
			api_outbox_write(srv, req, path[3] == 'p');
			return;
		}
	} else {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such endpoint "
		    "(/v1/outbox, /v1/outbox/sinks, /v1/outbox/retry, "
		    "/v1/outbox/replay)", NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
	http_error(srv, req, 405, REJECT_METHOD, "method not allowed", NULL);
}

/* Is name a configured sink?  If not, a 422 naming "sink"; returns -1. */
static int
api_outbox_sink(struct server *srv, struct evhttp_request *req,
    const char *name)
{
	const char	**names;
	char		 *why;
	size_t		  i;

	if (config_sink(srv->cf, name) != NULL)
		return (0);
	names = xcalloc(srv->cf->nsinks + 1, sizeof(*names));
	for (i = 0; i < srv->cf->nsinks; i++)
		names[i] = srv->cf->sinks[i].name;
	why = suggest_unknown("sink", name, names, srv->cf->nsinks);
	http_error(srv, req, 422, REJECT_TYPE, why, "sink");
	free(why);
	free(names);
	return (-1);
}

static int
api_outbox_row(const struct outbox_row *r, void *arg)
{
	struct api_outbox_list	*ol = arg;
	json_object		*o;
	char			 t[MP_TIMELEN];

	if (ol->n == API_OUTBOX_MAX) {
		ol->truncated = 1;	/* counted on, not kept */
		return (0);
	}
	o = json_object_new_object();
	json_object_object_add(o, "sink", json_object_new_string(r->sink));
	json_object_object_add(o, "status", json_object_new_string(r->status));
	json_object_object_add(o, "type", json_object_new_string(r->type));
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "attempts",
	    json_object_new_int64(r->attempts));
	if (r->next_at > 0 && strcmp(r->status, "pending") == 0) {
		tf_format(r->next_at, t);
		json_object_object_add(o, "next_at", json_object_new_string(t));
	}
	if (r->last_error != NULL && *r->last_error != '\0')
		json_object_object_add(o, "last_error",
		    json_object_new_string(r->last_error));
	json_object_array_add(ol->rows, o);
	ol->n++;
	return (0);
}

/* GET /v1/outbox: the rows, on the read-only connection. */
static void
api_outbox_list(struct server *srv, struct evhttp_request *req)
{
	static const char *const statuses[] = { "pending", "dead", "done",
	    "all" };
	struct api_outbox_list	 ol;
	struct evkeyvalq	 q;
	const struct token	*tok;
	const char		*sink, *status;
	json_object		*o;
	char			*why;
	size_t			 i;

	if (api_authorize(srv, req, ACCESS_OUTBOX, &tok) == -1)
		return;
	if (api_query(srv, req, &q) == -1)
		return;
	sink = evhttp_find_header(&q, "sink");
	status = evhttp_find_header(&q, "status");
	if (sink != NULL && api_outbox_sink(srv, req, sink) == -1)
		goto out;
	if (status != NULL) {
		for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
			if (strcmp(status, statuses[i]) == 0)
				break;
		if (i == sizeof(statuses) / sizeof(statuses[0])) {
			why = suggest_unknown("status", status, statuses, i);
			http_error(srv, req, 422, REJECT_TYPE, why, "status");
			free(why);
			goto out;
		}
	}
	memset(&ol, 0, sizeof(ol));
	ol.rows = json_object_new_array();
	if (ledger_outbox_list(srv->reader, sink, status, api_outbox_row,
	    &ol) == -1) {
		json_object_put(ol.rows);
		api_unreadable(srv, req);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "outbox", ol.rows);
	json_object_object_add(o, "truncated",
	    json_object_new_boolean(ol.truncated));
	http_reply_json(req, 200, o);
	json_object_put(o);
out:
	evhttp_clear_headers(&q);
}

/* POST /v1/outbox/retry (replay 0) or /v1/outbox/replay (replay 1). */
static void
api_outbox_write(struct server *srv, struct evhttp_request *req, int replay)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct json_tokener	*jt;
	const struct token	*tok;
	struct api_outbox_job	*j = NULL;
	json_object		*body = NULL, *v;
	const char		*s, *slash;
	char			 why[MP_ERRLEN], dh[MP_HASHLEN];
	size_t			 len;
	double			 ago;

	if (api_authorize(srv, req, ACCESS_OUTBOX, &tok) == -1)
		return;
	if (srv->stopping) {
		http_error(srv, req, 503, REJECT_OVERLOAD, "shutting down",
		    NULL);
		return;
	}
	if ((len = evbuffer_get_length(in)) > srv->cf->limits.max_body) {
		http_error(srv, req, 413, REJECT_SIZE, "body too large", NULL);
		return;
	}
	jt = strict_new(API_OUTBOX_DEPTH);
	body = strict_parse(jt, (const char *)evbuffer_pullup(in, -1), len,
	    why, sizeof(why));
	json_tokener_free(jt);
	if (body == NULL || !json_object_is_type(body, json_type_object)) {
		http_error(srv, req, 400, REJECT_SYNTAX, replay ?
		    "the body must be a JSON object {\"since\":…,\"sink\":…}" :
		    "the body must be a JSON object {\"sink\":…,\"object\":…}",
		    NULL);
		goto out;
	}
	j = xcalloc(1, sizeof(*j));
	j->srv = srv;
	j->op.replay = replay;
	json_object_object_foreach(body, k, val) {
		if (strcmp(k, "sink") == 0 || (replay && strcmp(k, "since") ==
		    0) || (!replay && strcmp(k, "object") == 0)) {
			if (!json_object_is_type(val, json_type_string) ||
			    *json_object_get_string(val) == '\0') {
				http_error(srv, req, 422, REJECT_TYPE,
				    "must be a non-empty string", k);
				goto out;
			}
			continue;
		}
		snprintf(why, sizeof(why), "unknown field %s (valid: %s)", k,
		    replay ? "since, sink" : "sink, object");
		http_error(srv, req, 422, REJECT_TYPE, why, k);
		goto out;
	}
	if (json_object_object_get_ex(body, "sink", &v)) {
		if (api_outbox_sink(srv, req, json_object_get_string(v)) == -1)
			goto out;
		j->sink = xstrdup(json_object_get_string(v));
	}
	if (!replay && json_object_object_get_ex(body, "object", &v)) {
		s = json_object_get_string(v);
		if ((slash = strchr(s, '/')) == NULL || slash == s ||
		    slash[1] == '\0') {
			http_error(srv, req, 422, REJECT_TYPE, "an object is "
			    "TYPE/ID, such as Deployment/shop-1", "object");
			goto out;
		}
		j->type = xstrdup(s);
		j->type[slash - s] = '\0';
		j->op.type = j->type;
		j->op.id = j->type + (slash - s) + 1;
	}
	if (replay) {
		if (!json_object_object_get_ex(body, "since", &v)) {
			http_error(srv, req, 422, REJECT_TYPE, "since is "
			    "required: RFC 3339, or a timespan ago (2h, 30m)",
			    "since");
			goto out;
		}
		s = json_object_get_string(v);
		if (tf_parse(s, &j->op.since) == -1) {
			if (ts_parse(s, &ago) == -1 || ago < 0) {
				http_error(srv, req, 422, REJECT_TYPE, "since "
				    "is RFC 3339, or a timespan ago (2h, 30m)",
				    "since");
				goto out;
			}
			j->op.since = tf_now() - (int64_t)(ago * 1e6);
		}
	}
	j->op.sink = j->sink;
	hmac_hex(tok->digest, 4, dh);
	snprintf(j->actor, sizeof(j->actor), "%s token %s%s%s%s%s",
	    access_role_name(tok->role), dh, tok->name ? " " : "",
	    tok->name ? tok->name : "", tok->tenant ? " tenant " : "",
	    tok->tenant ? tok->tenant : "");
	j->op.actor = j->actor;
	j->op.role = access_role_name(tok->role);
	j->op.via = "http";
	j->op.source = "milepostd";
	j->req = req;
	j->job.run = api_outbox_run;
	j->job.done = api_outbox_done;
	j->job.arg = j;
	j->job.atomic = 1;
	log_info("%s: %s asks for an outbox %s%s%s", __func__, j->actor,
	    replay ? "replay" : "retry", j->sink ? " of sink " : "",
	    j->sink ? j->sink : "");
	ingest_job_submit(srv->ingest, &j->job);
	j = NULL;
out:
	if (j != NULL)
		api_outbox_job_free(j);
	json_object_put(body);
}

/* On the writer, in its transaction: the rows, then the audit. */
static int
api_outbox_run(struct ledger *l, void *arg)
{
	struct api_outbox_job	*j = arg;

	if (outbox_op_apply(l, j->srv->cf->types, &j->op, tf_now(),
	    &j->res) == -1) {
		log_warnx("%s: %s", __func__, j->res.err);
		return (-1);
	}
	return (0);
}

/* On the loop, once the transaction committed (or did not). */
static void
api_outbox_done(struct ingest_job *job, void *arg)
{
	struct api_outbox_job	*j = arg;
	json_object		*o;

	(void)job;
	if (j->job.failed) {
		http_error(j->srv, j->req, 503, REJECT_STORAGE, "the ledger "
		    "could not commit; nothing changed; retry", NULL);
		api_outbox_job_free(j);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "queued", json_object_new_int64(j->res.queued));
	json_object_object_add(o, "evidence",
	    json_object_new_string(j->res.evid));
	json_object_object_add(o, "seq", json_object_new_int64(j->res.seq));
	http_reply_json(j->req, 200, o);
	json_object_put(o);
	if (j->srv->push != NULL)
		push_kick(j->srv->push);
	api_outbox_job_free(j);
}

static void
api_outbox_job_free(struct api_outbox_job *j)
{
	free(j->sink);
	free(j->type);
	free(j);
}

struct outbox_read {
	const char	*sink;
	int64_t		 backlog;
};

static void
api_outbox_backlog(const char *sink, int64_t n, void *arg)
{
	struct outbox_read	*r = arg;

	if (strcmp(sink, r->sink) == 0)
		r->backlog += n;
}

static void
api_outbox_sinks(struct server *srv, struct evhttp_request *req)
{
	struct outbox_stats	 st;
	struct outbox_read	 r;
	json_object		*o, *arr, *one;
	char			 t[MP_TIMELEN];
	size_t			 i;
	int			 dis;

	if (api_authorize(srv, req, ACCESS_OUTBOX, NULL) == -1)
		return;
	arr = json_object_new_array();
	for (i = 0; i < srv->cf->nsinks; i++) {
		memset(&st, 0, sizeof(st));
		r.sink = srv->cf->sinks[i].name;
		r.backlog = 0;
		if (ledger_outbox_stats(srv->reader, r.sink, &st) == -1 ||
		    ledger_outbox_backlog(srv->reader, r.sink,
		    api_outbox_backlog, &r) == -1 ||
		    (dis = ledger_outbox_disabled(srv->reader, r.sink)) == -1) {
			log_warnx("%s: sink %s: %s", __func__, r.sink,
			    ledger_error(srv->reader));
			json_object_put(arr);
			api_unreadable(srv, req);
			return;
		}
		one = json_object_new_object();
		json_object_object_add(one, "sink",
		    json_object_new_string(r.sink));
		json_object_object_add(one, "pending",
		    json_object_new_int64(st.pending));
		json_object_object_add(one, "dead",
		    json_object_new_int64(st.dead));
		json_object_object_add(one, "backlog",
		    json_object_new_int64(r.backlog));
		if (st.oldest_at > 0) {
			tf_format(st.oldest_at, t);
			json_object_object_add(one, "oldest_pending",
			    json_object_new_string(t));
		} else
			json_object_object_add(one, "oldest_pending", NULL);
		json_object_object_add(one, "disabled",
		    json_object_new_boolean(dis > 0));
		json_object_array_add(arr, one);
	}
	o = json_object_new_object();
	json_object_object_add(o, "sinks", arr);
	api_reply_etag(req, o);
	json_object_put(o);
}
