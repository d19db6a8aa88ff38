/*
 * http.c: the routes, and POST /v1/evidence.
 *
 * Checks come in the order INTERFACE.md fixes: size (413), signature
 * (401), syntax (400), types (422); only then is the request queued for
 * the writer, and it is answered once its batch is durable.  Every handler
 * ends in exactly one reply, now or from the completion callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define HTTP_JSON_DEPTH		32
#define HTTP_BATCH_MAX		1000

static const char *
http_reason(int code)
{
	switch (code) {
	case 200: return ("OK");
	case 202: return ("Accepted");
	case 304: return ("Not Modified");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 409: return ("Conflict");
	case 413: return ("Payload Too Large");
	case 422: return ("Unprocessable Entity");
	case 429: return ("Too Many Requests");
	case 503: return ("Service Unavailable");
	}
	return ("");
}

/* Reply with o (borrowed) as the JSON body. */
void
http_reply_json(struct evhttp_request *req, int code, json_object *o)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	http_reply_bytes(req, code, s, len);
}

/* Reply with the JSON text s of len bytes (a newline is added). */
void
http_reply_bytes(struct evhttp_request *req, int code, const char *s,
    size_t len)
{
	struct evbuffer	*b = evhttp_request_get_output_buffer(req);

	evbuffer_add(b, s, len);
	evbuffer_add(b, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, http_reason(code), NULL);
}

/*
 * The inbound source a request speaks for: a hook's source ("other" for
 * a name no source has), "agent" for POST /v1/evidence, NULL for the rest
 * (the read API).  Static strings.
 */
const char *
http_source(struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const struct mp_source	*src;
	const char		*path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (path == NULL)
		return (NULL);
	if (strncmp(path, "/hooks/", 7) == 0)
		return ((src = source_find(path + 7)) != NULL ? src->name :
		    "other");
	if (strcmp(path, "/v1/evidence") == 0 &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST)
		return ("agent");
	return (NULL);
}

/* Reply {"error": msg[, "property": prop]} and count the rejection. */
void
http_error(struct server *srv, struct evhttp_request *req, int code,
    enum reject_reason why, const char *msg, const char *prop)
{
	json_object	*o;

	metrics_reject_source(&srv->metrics, http_source(req), why);
	log_debug("%s: %d %s%s%s", __func__, code, msg, prop ? ": " : "",
	    prop ? prop : "");
	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(msg));
	if (prop != NULL && *prop != '\0')
		json_object_object_add(o, "property",
		    json_object_new_string(prop));
	if ((code == 503 || code == 429) && evhttp_find_header(
	    evhttp_request_get_output_headers(req), "Retry-After") == NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
	if (code == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", why == REJECT_AUTH ? "Bearer" :
		    "Standard-Webhooks");
	http_reply_json(req, code, o);
	json_object_put(o);
}

/*
 * Parse body strictly: one JSON value, nothing after it but white space.
 * Returns a new object (taken) or NULL with err set.
 */
static json_object *
http_parse_json(struct server *srv, const char *body, size_t len, char *err,
    size_t errlen)
{
	/* One tokener, reset per body: the loop is one thread. */
	if (srv->tok == NULL)
		srv->tok = strict_new(HTTP_JSON_DEPTH);
	return (strict_parse(srv->tok, body, len, err, errlen));
}

/*
 * What the receiver admits beyond the evidence's type (4.: time you can
 * trust): no source writes milepostd's own evidence types, whatever its
 * properties (o is the evidence object as received, checked before its
 * type is), and no event time is more than limits.max_future_skew ahead
 * of milepostd's clock (now; ev is NULL before parsing).  Returns 0, or
 * -1 with msg saying why and *prop the field (a 422 either way).
 */
static int
http_admit(struct server *srv, json_object *o, const struct evidence *ev,
    int64_t now, char *msg, size_t len, const char **prop)
{
	static const char *const own[] = { "MilestoneClock",
	    "DeploymentStalled", "OutboxRetried", "OutboxReplayed" };
	json_object	*v;
	int64_t		 skew = srv->cf->limits.max_future_skew;
	char		 t[MP_TIMELEN], b[32];
	size_t		 i;

	if (ev == NULL) {
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "type", &v) ||
		    !json_object_is_type(v, json_type_string))
			return (0);	/* evidence_from_json says why */
		for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
			if (strcmp(json_object_get_string(v), own[i]) == 0) {
				snprintf(msg, len, "%s is written only by "
				    "milepostd itself; no source may send it",
				    own[i]);
				*prop = "type";
				return (-1);
			}
		return (0);
	}
	if (ev->time > now + skew) {
		tf_format(ev->time, t);
		if (skew % 60000000 == 0)
			snprintf(b, sizeof(b), "%lldm", (long long)(skew /
			    60000000));
		else
			snprintf(b, sizeof(b), "%llds", (long long)(skew /
			    1000000));
		snprintf(msg, len, "time %s is in the future: more than %s "
		    "(limits.max_future_skew) ahead of the receiver's clock",
		    t, b);
		*prop = "time";
		return (-1);
	}
	if (gates_watermark(srv, ev->source, ev->time, msg, len) == -1) {
		*prop = "time";
		return (-1);
	}
	return (0);
}

/*
 * The milestones that the CommitPushed evidence of ir names (Milestone:
 * trailers) and the configuration does not declare, with the number of
 * commits naming each, as the reply's "unknown_milestones" (ir->warn), so
 * that the git hook can say so.  Nothing when no milestone is declared.
 */
static void
http_unknown_milestones(struct server *srv, struct ingest_req *ir)
{
	const struct milestone_conf	*mc = srv->cf->milestones;
	json_object			*p, *ms, *unk = NULL, *v;
	const char			*name;
	size_t				 i, j;

	if (mc == NULL || mc->nms == 0)
		return;
	for (i = 0; i < ir->nev; i++) {
		if (strcmp(ir->ev[i]->type, "CommitPushed") != 0 ||
		    strstr(ir->ev[i]->properties, "\"milestones\"") == NULL ||
		    (p = json_tokener_parse(ir->ev[i]->properties)) == NULL)
			continue;
		if (json_object_object_get_ex(p, "milestones", &ms) &&
		    json_object_is_type(ms, json_type_array))
			for (j = 0; j < json_object_array_length(ms); j++) {
				name = json_object_get_string(
				    json_object_array_get_idx(ms, j));
				if (name == NULL ||
				    milestone_conf_index(mc, name) != -1)
					continue;
				if (unk == NULL)
					unk = json_object_new_object();
				v = json_object_object_get_ex(unk, name, &v) ?
				    v : NULL;
				json_object_object_add(unk, name,
				    json_object_new_int64(v ?
				    json_object_get_int64(v) + 1 : 1));
			}
		json_object_put(p);
	}
	if (unk != NULL) {
		xasprintf(&ir->warn, "\"unknown_milestones\":%s",
		    json_object_to_json_string_ext(unk,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(unk);
	}
}

/*
 * Resolution before storage: evidence item (JSON, changed in place) from
 * src (NULL: the agent) gets the catalog's canonical service and its
 * environment, tenant and team links.  A name the catalog lacks is kept
 * and counted, or refused with a 422 naming the alias to add when the
 * source says unknown_alias: refuse.  Returns 0, or -1 once replied.
 */
static int
http_resolve(struct server *srv, struct evhttp_request *req,
    const struct mp_source *src, json_object *item, const char *where)
{
	char	miss[MP_ERRLEN], msg[MP_ERRLEN * 2];

	if (catalog_resolve(srv->cf->catalog, src != NULL ? src->name :
	    "agent", item, miss, sizeof(miss)) != CAT_MISS)
		return (0);
	metrics_alias_miss(&srv->metrics, src != NULL ? src->name : "agent");
	if (!config_alias_refuse(srv->cf, src))
		return (0);
	snprintf(msg, sizeof(msg), "%s%sno service of the catalog has this "
	    "alias; add %s to a service's aliases", where ? where : "",
	    where ? ": " : "", miss);
	http_error(srv, req, 422, REJECT_ALIAS, msg, "links.service");
	return (-1);
}

static void
http_evidence_post(struct server *srv, struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct ingest_req	*ir = NULL;
	json_object		*root = NULL, *list = NULL, *item;
	enum stdwh_result	 sr;
	enum ev_error		 er;
	const char		*wid, *body, *aprop;
	char			 err[MP_ERRLEN], prop[128], msg[MP_ERRLEN + 64];
	char			 idbuf[MP_IDMAX + 16];
	size_t			 len, i, n;
	int64_t			 now;

	if (srv->stopping) {
		http_error(srv, req, 503, REJECT_OVERLOAD, "shutting down",
		    NULL);
		return;
	}
	/* 413: size. */
	len = evbuffer_get_length(in);
	if (len > srv->cf->limits.max_body) {
		snprintf(msg, sizeof(msg), "body of %zu bytes is over the "
		    "limit of %zu", len, srv->cf->limits.max_body);
		http_error(srv, req, 413, REJECT_SIZE, msg, NULL);
		return;
	}
	body = (const char *)evbuffer_pullup(in, -1);
	if (body == NULL)
		body = "";

	/* 401: Standard Webhooks signature over the raw bytes. */
	now = tf_now();
	wid = evhttp_find_header(h, "webhook-id");
	if (srv->cf->nagent_keys == 0) {
		http_error(srv, req, 401, REJECT_SIGNATURE, "no agent_secret is "
		    "configured on this receiver", NULL);
		return;
	}
	sr = stdwh_verify(srv->cf->agent_keys, srv->cf->nagent_keys, wid,
	    evhttp_find_header(h, "webhook-timestamp"),
	    evhttp_find_header(h, "webhook-signature"), body, len,
	    now / 1000000);
	if (sr != STDWH_OK) {
		http_error(srv, req, 401, REJECT_SIGNATURE, stdwh_strerror(sr),
		    NULL);
		return;
	}
	if (!ident_valid(wid)) {
		http_error(srv, req, 400, REJECT_SYNTAX, "webhook-id must be 1 "
		    "to 256 printable characters without spaces", NULL);
		return;
	}

	/* 400 then 422: one evidence, or {"evidence": [...]}. */
	if ((root = http_parse_json(srv, body, len, err, sizeof(err))) == NULL) {
		http_error(srv, req, 400, REJECT_SYNTAX, err, NULL);
		return;
	}
	ir = xcalloc(1, sizeof(*ir));
	ir->req = req;
	if (json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "evidence", &list)) {
		if (json_object_object_length(root) != 1 ||
		    !json_object_is_type(list, json_type_array) ||
		    (n = json_object_array_length(list)) == 0 ||
		    n > HTTP_BATCH_MAX) {
			snprintf(msg, sizeof(msg), "a batch is {\"evidence\": "
			    "[...]} with 1 to %d items and nothing else",
			    HTTP_BATCH_MAX);
			http_error(srv, req, 400, REJECT_SYNTAX, msg,
			    "evidence");
			goto out;
		}
		ir->batch = 1;
	} else
		n = 1;
	ir->ev = xcalloc(n, sizeof(*ir->ev));
	ir->dup = xcalloc(n, sizeof(*ir->dup));
	for (i = 0; i < n; i++) {
		item = ir->batch ? json_object_array_get_idx(list, i) : root;
		if (ir->batch)
			snprintf(idbuf, sizeof(idbuf), "%s.%zu", wid, i);
		snprintf(msg, sizeof(msg), "evidence[%zu]", i);
		if (http_resolve(srv, req, NULL, item, ir->batch ? msg :
		    NULL) == -1)
			goto out;
		aprop = NULL;
		if (http_admit(srv, item, NULL, now, err, sizeof(err),
		    &aprop) == -1)
			er = EV_TYPE;
		else if ((er = evidence_from_json(item, srv->cf->types,
		    "agent", ir->batch ? idbuf : wid, now, &ir->ev[i], err,
		    sizeof(err), prop, sizeof(prop))) == EV_OK) {
			ir->nev++;	/* freed with the request */
			if (http_admit(srv, item, ir->ev[i], now, err,
			    sizeof(err), &aprop) == 0)
				continue;
			er = EV_TYPE;
		}
		if (aprop != NULL)
			snprintf(prop, sizeof(prop), "%s", aprop);
		if (ir->batch)
			snprintf(msg, sizeof(msg), "evidence[%zu]: %s", i, err);
		else
			snprintf(msg, sizeof(msg), "%s", err);
		if (er == EV_SYNTAX)
			http_error(srv, req, 400, REJECT_SYNTAX, msg,
			    prop[0] ? prop : NULL);
		else
			http_error(srv, req, 422, REJECT_TYPE, msg, prop);
		goto out;
	}
	http_unknown_milestones(srv, ir);
	if (ingest_submit(srv->ingest, ir) == -1) {
		http_error(srv, req, 503, REJECT_OVERLOAD, "the ingest queue is "
		    "full; retry", NULL);
		goto out;
	}
	ir = NULL;		/* the writer's now; replied on completion */
out:
	if (ir != NULL) {
		ir->req = NULL;
		ingest_req_free(ir);
	}
	json_object_put(root);
}

static const char *
http_source_header(const struct source_req *r, const char *name)
{
	return (evhttp_find_header(r->hctx, name));
}

/*
 * POST /hooks/{source}: the same order of checks as /v1/evidence, each
 * step through the source's table.  A genuine event that Milepost does
 * not use is acknowledged (200 {"ignored": why}), never refused.
 */
static void
http_hook_post(struct server *srv, struct evhttp_request *req,
    const char *name)
{
	const struct mp_source		*src;
	const struct source_conf	*sc;
	struct source_req		 sr;
	struct ingest_req		*ir = NULL;
	struct evbuffer			*in = evhttp_request_get_input_buffer(req);
	json_object			*payload = NULL, *out = NULL, *o;
	enum ev_error			 er;
	const char			*aprop;
	char				 why[MP_ERRLEN], prop[128];
	char				 msg[MP_ERRLEN + 64], delivery[MP_IDMAX];
	size_t				 i, n;
	int				 rc;

	if ((src = source_find(name)) == NULL) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such source",
		    NULL);
		return;
	}
	if ((sc = config_source(srv->cf, src)) == NULL) {
		snprintf(msg, sizeof(msg), "source %s is not configured on "
		    "this receiver", src->name);
		http_error(srv, req, 404, REJECT_UNCONFIGURED, msg, NULL);
		return;
	}
	if (srv->stopping) {
		http_error(srv, req, 503, REJECT_OVERLOAD, "shutting down",
		    NULL);
		return;
	}
	memset(&sr, 0, sizeof(sr));
	sr.len = evbuffer_get_length(in);
	if (sr.len > srv->cf->limits.max_body) {
		snprintf(msg, sizeof(msg), "body of %zu bytes is over the "
		    "limit of %zu", sr.len, srv->cf->limits.max_body);
		http_error(srv, req, 413, REJECT_SIZE, msg, NULL);
		return;
	}
	if ((sr.body = (const char *)evbuffer_pullup(in, -1)) == NULL)
		sr.body = "";
	sr.header = http_source_header;
	sr.hctx = evhttp_request_get_input_headers(req);
	sr.now = tf_now();
	if (src->verify(sc, &sr, why, sizeof(why)) == -1) {
		http_error(srv, req, 401, REJECT_SIGNATURE, why, NULL);
		return;
	}
	metrics_delivery(&srv->metrics, src->name);	/* a genuine one */
	/* Parsed once, here; a raw_body source also takes a non-JSON body. */
	if ((payload = http_parse_json(srv, sr.body, sr.len, why, sizeof(why))) ==
	    NULL && !src->raw_body) {
		http_error(srv, req, 400, REJECT_SYNTAX, why, NULL);
		return;
	}
	if (src->delivery_id(&sr, payload, delivery, sizeof(delivery)) ==
	    -1 || !ident_valid(delivery)) {
		http_error(srv, req, 400, REJECT_SYNTAX, "no usable delivery "
		    "id (see the source's documentation)", NULL);
		goto out;
	}
	out = json_object_new_array();
	why[0] = '\0';
	if ((rc = src->normalize(&sr, payload, delivery, out, why,
	    sizeof(why))) == 1) {
		atomic_fetch_add(&srv->metrics.hooks_ignored, 1);
		log_debug("%s: %s: ignored: %s", __func__, src->name, why);
		o = json_object_new_object();
		json_object_object_add(o, "ignored",
		    json_object_new_string(why));
		http_reply_json(req, 200, o);
		json_object_put(o);
		goto out;
	}
	if (rc == -1 || (n = json_object_array_length(out)) == 0) {
		http_error(srv, req, 400, REJECT_SYNTAX, rc == -1 ? why :
		    "the payload holds no event", NULL);
		goto out;
	}
	ir = xcalloc(1, sizeof(*ir));
	ir->req = req;
	ir->batch = 1;
	ir->ev = xcalloc(n, sizeof(*ir->ev));
	ir->dup = xcalloc(n, sizeof(*ir->dup));
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(out, i);
		if (http_resolve(srv, req, src, o, NULL) == -1)
			goto out;
		aprop = NULL;
		if (http_admit(srv, o, NULL, sr.now, why, sizeof(why),
		    &aprop) == 0) {
			er = evidence_from_json(o, srv->cf->types, src->name,
			    NULL, sr.now, &ir->ev[i], why, sizeof(why), prop,
			    sizeof(prop));
			if (er != EV_OK) {
				/* The payload broke the normalizer's
				 * assumptions. */
				log_warnx("%s: %s delivery %s: %s", __func__,
				    src->name, delivery, why);
				http_error(srv, req, er == EV_SYNTAX ? 400 :
				    422, er == EV_SYNTAX ? REJECT_SYNTAX :
				    REJECT_TYPE, why, prop[0] ? prop : NULL);
				goto out;
			}
			ir->nev++;
			if (http_admit(srv, o, ir->ev[i], sr.now, why,
			    sizeof(why), &aprop) == 0)
				continue;
		}
		/* Not the normalizer's doing: what the tool sent. */
		log_info("%s: %s delivery %s: %s", __func__, src->name,
		    delivery, why);
		http_error(srv, req, 422, REJECT_TYPE, why, aprop);
		goto out;
	}
	ir->raw_source = src->name;
	ir->raw_delivery = xstrdup(delivery);
	ir->raw = xmalloc(sr.len ? sr.len : 1);
	memcpy(ir->raw, sr.body, sr.len);
	ir->rawlen = sr.len;
	if (ingest_submit(srv->ingest, ir) == -1) {
		http_error(srv, req, 503, REJECT_OVERLOAD, "the ingest queue is "
		    "full; retry", NULL);
		goto out;
	}
	ir = NULL;
out:
	if (ir != NULL) {
		ir->req = NULL;
		ingest_req_free(ir);
	}
	json_object_put(out);
	json_object_put(payload);
}

/* A reply is written: its connection is idle again (conn.c). */
static void
http_complete(struct evhttp_request *req, void *arg)
{
	struct server	*srv = arg;

	conn_complete(srv->conns, req);
}

/* The one request callback: dispatch on path, then method. */
void
http_route(struct evhttp_request *req, void *arg)
{
	struct server		*srv = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	const char		*allow = "GET";

	if (path == NULL)
		path = "/";
	conn_dispatch(srv->conns, req);
	evhttp_request_set_on_complete_cb(req, http_complete, srv);
	if (srv->alog != NULL)
		alog_start(srv->alog, req);
	/* A session cookie only reads (session.c): writes need a token. */
	if (strncmp(path, "/v1/", 4) == 0 && m != EVHTTP_REQ_GET &&
	    m != EVHTTP_REQ_HEAD && session_has_cookie(req)) {
		http_error(srv, req, 403, REJECT_AUTH, "a session cookie is "
		    "read-only: changing anything needs a bearer token (send "
		    "no cookie)", NULL);
		return;
	}
	if (strcmp(path, "/v1/evidence") == 0) {
		allow = "GET, POST";
		if (m == EVHTTP_REQ_POST) {
			http_evidence_post(srv, req);
			return;
		}
		if (m == EVHTTP_REQ_GET) {
			api_evidence_list(srv, req);
			return;
		}
	} else if (strncmp(path, "/hooks/", 7) == 0 && path[7] != '\0' &&
	    strchr(path + 7, '/') == NULL) {
		allow = "POST";
		if (m == EVHTTP_REQ_POST) {
			http_hook_post(srv, req, path + 7);
			return;
		}
	} else if (strncmp(path, "/v1/claims/", 11) == 0 ||
	    strcmp(path, "/v1/claims") == 0) {
		if (m == EVHTTP_REQ_GET) {
			api_claims(srv, req, path[10] ? path + 11 : "");
			return;
		}
	} else if (strcmp(path, "/v1/tokens") == 0) {
		if (m == EVHTTP_REQ_GET) {
			api_tokens(srv, req);
			return;
		}
	} else if (strcmp(path, "/v1/milestones") == 0 ||
	    strncmp(path, "/v1/milestones/", 15) == 0) {
		if (m == EVHTTP_REQ_GET) {
			api_milestones(srv, req, path[14] ? path + 15 : "");
			return;
		}
	} else if (strcmp(path, "/v1/services") == 0) {
		if (m == EVHTTP_REQ_GET) {
			api_services(srv, req);
			return;
		}
	} else if (strncmp(path, "/v1/metrics/", 12) == 0) {
		if (m == EVHTTP_REQ_GET) {
			api_dora(srv, req, path + 12);
			return;
		}
	} else if (strncmp(path, "/v1/deployments", 15) == 0 &&
	    (path[15] == '\0' || path[15] == '/')) {
		deployments_route(srv, req, path + 15);
		return;
	} else if (strncmp(path, "/v1/releases", 12) == 0 &&
	    (path[12] == '\0' || path[12] == '/')) {
		deployments_release_route(srv, req, path + 12);
		return;
	} else if (strncmp(path, "/v1/gates/", 10) == 0) {
		gates_route(srv, req, path + 10);
		return;
	} else if (strncmp(path, "/v1/slos/", 9) == 0) {
		gates_simulate(srv, req, path + 9);
		return;
	} else if (strncmp(path, "/v1/outbox", 10) == 0 &&
	    (path[10] == '\0' || path[10] == '/')) {
		api_outbox_route(srv, req, path + 10);
		return;
	} else if (strcmp(path, "/v1/changes") == 0) {
		if (m == EVHTTP_REQ_GET) {
			feed_changes(srv, req);
			return;
		}
	} else if (strcmp(path, "/healthz") == 0) {
		if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) {
			api_healthz(srv, req);
			return;
		}
	} else if (strcmp(path, "/readyz") == 0) {
		if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) {
			api_readyz(srv, req);
			return;
		}
	} else if (strcmp(path, "/metrics") == 0) {
		if (m == EVHTTP_REQ_GET) {
			api_metrics(srv, req);
			return;
		}
	} else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
	    strncmp(path, "/assets/", 8) == 0) {
		web_route(srv, req, path);
		return;
	} else if (strncmp(path, "/status/", 8) == 0) {
		status_route(srv, req, path + 8);
		return;
	} else if (strcmp(path, "/session") == 0) {
		session_route(srv, req);
		return;
	} else {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such endpoint",
		    NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
	http_error(srv, req, 405, REJECT_METHOD, "method not allowed", NULL);
}
