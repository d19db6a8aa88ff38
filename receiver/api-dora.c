/*
 * api-dora.c: GET /v1/metrics/dora, /v1/metrics/deployments and
 * /v1/metrics/incidents.  Computed on read by access/dora.c over the
 * read-only ledger connection (bounded reads); ETag and 304 as for
 * claims.  Query: service, environment, from, to (RFC 3339; to defaults
 * to now, from to 30 days before to), and for dora period=week to add the
 * weekly trend.  A reader token (or stronger) is needed.
 *
 * Over long periods these read up to DORA_LIMIT items a type: the
 * computation runs on the reader thread (reads.c), never on the loop,
 * and the reply is sent when it comes back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define API_DORA_DEFAULT	(30LL * 86400 * 1000000)
#define API_DORA_MAX		(3700LL * 86400 * 1000000)	/* ~10 years */

/* One request's computation, owned by the reads job. */
struct api_dora_job {
	struct dora_query	 dq;
	char			*service, *environment;	/* dq's, owned */
	char			 what;	/* 'd'ora, de'p'loyments, 'i'ncidents */
};

static void
api_dora_job_free(struct api_dora_job *j)
{
	free(j->service);
	free(j->environment);
	free(j);
}

/* On the reader thread, with its own read-only handle. */
static json_object *
api_dora_run(struct ledger *l, void *arg)
{
	struct api_dora_job	*j = arg;
	json_object		*o;

	if (j->what == 'd')
		o = dora_compute(l, &j->dq);
	else if (j->what == 'p')
		o = dora_deployments(l, &j->dq);
	else
		o = dora_incidents(l, &j->dq);
	if (o == NULL)
		log_warnx("%s: %s", __func__, ledger_error(l));
	return (o);
}

/* Back on the loop: reply (req NULL: the daemon stops; only free). */
static void
api_dora_done(struct server *srv, struct evhttp_request *req, json_object *o,
    void *arg)
{
	if (req != NULL) {
		if (o == NULL)
			api_unreadable(srv, req);
		else
			api_reply_etag(req, o);
	}
	json_object_put(o);
	api_dora_job_free(arg);
}

static int
api_dora_name_ok(const char *s)
{
	return (s != NULL && *s != '\0' && strlen(s) <= 256);
}

void
api_dora(struct server *srv, struct evhttp_request *req, const char *what)
{
	struct evkeyvalq	 q;
	struct dora_query	 dq;
	struct api_dora_job	*j;
	const char		*v;

	if (strcmp(what, "dora") != 0 && strcmp(what, "deployments") != 0 &&
	    strcmp(what, "incidents") != 0) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such metrics "
		    "(dora, deployments, incidents)", NULL);
		return;
	}
	if (api_auth(srv, req, ROLE_READER) == ROLE_NONE)
		return;
	if (api_query(srv, req, &q) == -1)
		return;
	memset(&dq, 0, sizeof(dq));
	dq.to = tf_now();
	if ((v = evhttp_find_header(&q, "to")) != NULL &&
	    tf_parse(v, &dq.to) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "to must be an RFC "
		    "3339 timestamp", "to");
		goto out;
	}
	dq.from = dq.to - API_DORA_DEFAULT;
	if ((v = evhttp_find_header(&q, "from")) != NULL &&
	    tf_parse(v, &dq.from) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "from must be an RFC "
		    "3339 timestamp", "from");
		goto out;
	}
	if (dq.from >= dq.to || dq.to - dq.from > API_DORA_MAX) {
		http_error(srv, req, 400, REJECT_SYNTAX, "from must be before "
		    "to, at most about ten years apart", "from");
		goto out;
	}
	if ((v = evhttp_find_header(&q, "service")) != NULL) {
		if (!api_dora_name_ok(v)) {
			http_error(srv, req, 400, REJECT_SYNTAX, "service must "
			    "be a non-empty name", "service");
			goto out;
		}
		dq.service = v;
	}
	if ((v = evhttp_find_header(&q, "environment")) != NULL) {
		if (!api_dora_name_ok(v)) {
			http_error(srv, req, 400, REJECT_SYNTAX, "environment "
			    "must be a non-empty name", "environment");
			goto out;
		}
		dq.environment = v;
	}
	if ((v = evhttp_find_header(&q, "period")) != NULL) {
		if (strcmp(v, "week") != 0) {
			http_error(srv, req, 400, REJECT_SYNTAX, "period must "
			    "be week", "period");
			goto out;
		}
		dq.weekly = 1;
	}
	j = xcalloc(1, sizeof(*j));
	j->dq = dq;
	j->service = dq.service != NULL ? xstrdup(dq.service) : NULL;
	j->environment = dq.environment != NULL ? xstrdup(dq.environment) :
	    NULL;
	j->dq.service = j->service;
	j->dq.environment = j->environment;
	j->what = strcmp(what, "dora") == 0 ? 'd' :
	    strcmp(what, "deployments") == 0 ? 'p' : 'i';
	if (reads_submit(srv->reads, req, api_dora_run, api_dora_done,
	    j) == -1) {
		api_dora_job_free(j);
		http_error(srv, req, 503, REJECT_OVERLOAD, "too many metrics "
		    "reads waiting; retry", NULL);
	}
out:
	evhttp_clear_headers(&q);
}
