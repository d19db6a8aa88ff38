/*
 * api-outbox.c: GET /v1/outbox (manage the outbox: an operator or admin
 * token), each configured sink's health for the dashboard:
 *
 *   {"sinks": [{"sink": "acme-status", "pending": 3, "dead": 1,
 *     "backlog": 12, "oldest_pending": "2025-07-03T10:08:20Z",
 *     "disabled": false}]}
 *
 * pending and dead are its outbox rows, backlog the feed entries it has
 * not taken into rows yet; read on the loop's read-only connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "milepostd.h"

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

void
api_outbox(struct server *srv, struct evhttp_request *req)
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
