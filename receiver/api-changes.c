/*
 * api-changes.c: GET /v1/changes?after=CURSOR&limit=N, the differential change
 * feed that clients poll instead of receiving webhooks.  Each entry is one
 * claim revision that changed something: {cursor, type, id, revision,
 * recorded_at, patch}, where patch is the RFC 7396 merge patch of
 * {properties, links} against the claim's previous revision (the whole
 * document for a new claim).  Cursors increase and are never reused;
 * "next" is the cursor to ask after.  A client token sees only the
 * changes of claims whose tenant link is its tenant, and each patch is
 * computed between the presented revisions (access/present.c), so that
 * it holds only what the client view holds (a field the view leaves out
 * is neither sent nor shown as deleted) and names the public id.
 * With ?wait=S it long-polls: see feed_wait_park.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define FEED_LIMIT_DEFAULT	100
#define FEED_LIMIT_MAX		1000

/* {properties, links} of the client view of revision rev (prev: the one before). */
static json_object *
feed_doc(struct server *srv, const struct token *tok, const char *type,
    const char *id, int64_t rev, int prev, int *err)
{
	struct claim	 c;
	json_object	*o, *d, *v;
	int		 rc;

	memset(&c, 0, sizeof(c));
	if ((rc = ledger_claim_rev(srv->reader, type, id, rev, prev, &c)) !=
	    1) {
		*err = rc == -1;
		claim_clear(&c);
		return (NULL);
	}
	o = claim_to_json(&c);
	claim_clear(&c);
	if (api_present(srv, tok, o) == -1) {
		json_object_put(o);
		return (NULL);
	}
	d = json_object_new_object();
	if (json_object_object_get_ex(o, "properties", &v))
		json_object_object_add(d, "properties", json_object_get(v));
	if (json_object_object_get_ex(o, "links", &v))
		json_object_object_add(d, "links", json_object_get(v));
	json_object_put(o);
	return (d);
}

/*
 * The client's feed: each entry's patch between the presented revisions,
 * its public id; entries the client view does not change (or a type it
 * never sees) are left out, though the cursor moves past them.  Returns
 * a new array, or NULL on a storage error.
 */
static json_object *
feed_present(struct server *srv, const struct token *tok, json_object *arr)
{
	json_object	*out, *e, *v, *cur, *old, *patch;
	const char	*type, *id;
	char		 pub[MP_IDMAX * 2];
	int64_t		 rev;
	size_t		 i;
	int		 err = 0;

	out = json_object_new_array();
	for (i = 0; i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		type = json_object_get_string(json_object_object_get(e,
		    "type"));
		id = json_object_get_string(json_object_object_get(e, "id"));
		rev = json_object_get_int64(json_object_object_get(e,
		    "revision"));
		if (type == NULL || id == NULL)
			continue;
		if ((cur = feed_doc(srv, tok, type, id, rev, 0, &err)) ==
		    NULL) {
			if (err)
				goto fail;
			continue;
		}
		old = feed_doc(srv, tok, type, id, rev, 1, &err);
		if (err) {
			json_object_put(cur);
			goto fail;
		}
		patch = mergepatch_diff(old, cur);
		json_object_put(cur);
		if (old != NULL && mergepatch_empty(patch)) {
			json_object_put(old);
			json_object_put(patch);
			continue;	/* nothing the client sees changed */
		}
		json_object_put(old);
		v = json_object_new_object();
		json_object_object_foreach(e, k, val) {
			if (strcmp(k, "patch") != 0 && strcmp(k, "id") != 0)
				json_object_object_add(v, k,
				    json_object_get(val));
		}
		present_public_id(type, id, pub, sizeof(pub));
		json_object_object_add(v, "id", json_object_new_string(pub));
		json_object_object_add(v, "patch", patch);
		json_object_array_add(out, v);
	}
	return (out);
fail:
	json_object_put(out);
	return (NULL);
}

/*
 * Long polling (?wait=S, 1 to 30 s): a request that finds nothing after
 * its cursor is parked instead of answered, and a 200 ms timer runs it
 * again once the writer has committed a batch of evidence since it read
 * (metrics.batches, counted after each COMMIT and loaded before the read,
 * so no commit falls between; the feed only grows with evidence), which
 * answers it or parks it again; at its deadline, or when the daemon
 * stops, it is answered with the empty page.  At most FEED_WAIT_MAX
 * are parked (beyond, the empty page at once); a parked request whose
 * connection closes is forgotten (the connection's close callback).
 * Re-running a parked request authorizes it again, as a new request.
 */
#define FEED_WAIT_MAX		256
#define FEED_WAIT_SECS		30
#define FEED_WAIT_TICK_US	200000

struct feed_wait {
	TAILQ_ENTRY(feed_wait)	 entry;
	struct server		*srv;
	struct evhttp_request	*req;
	int64_t			 after;
	int64_t			 deadline;	/* tf_now() µs */
	uint64_t		 batches;	/* committed before its read */
};
TAILQ_HEAD(feed_waitq, feed_wait);
struct feed_waits {
	struct feed_waitq	 q;
	size_t			 n;
	struct event		*tick;
};

static void	feed_run(struct server *, struct evhttp_request *, int,
		    int64_t);

static void
feed_wait_drop(struct server *srv, struct feed_wait *w)
{
	evhttp_connection_set_closecb(evhttp_request_get_connection(w->req),
	    NULL, NULL);
	TAILQ_REMOVE(&srv->feed_waits->q, w, entry);
	srv->feed_waits->n--;
}

/* The connection of a parked request closed: libevent frees the request. */
static void
feed_wait_closed(struct evhttp_connection *evcon, void *arg)
{
	struct feed_wait	*w = arg;

	TAILQ_REMOVE(&w->srv->feed_waits->q, w, entry);
	w->srv->feed_waits->n--;
	free(w);
}

static void
feed_wait_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server		*srv = arg;
	struct feed_waits	*fw = srv->feed_waits;
	struct feed_wait	*w, *nw, *last = TAILQ_LAST(&fw->q, feed_waitq);
	struct timeval		 tv = { 0, FEED_WAIT_TICK_US };
	int64_t			 now = tf_now();
	uint64_t		 batches = atomic_load(&srv->metrics.batches);
	int			 end = 0;

	/* Those parked before this tick only: a re-run may park again. */
	for (w = TAILQ_FIRST(&fw->q); w != NULL && !end; w = nw) {
		nw = TAILQ_NEXT(w, entry);
		end = w == last;
		if (srv->stopping || now >= w->deadline) {
			feed_wait_drop(srv, w);
			feed_run(srv, w->req, 0, w->deadline);
			free(w);
		} else if (batches != w->batches) {
			feed_wait_drop(srv, w);
			feed_run(srv, w->req, 1, w->deadline);
			free(w);
		}
	}
	if (fw->n > 0)
		evtimer_add(fw->tick, &tv);
}

/*
 * Park req (nothing after cursor after, read after batches commits) until
 * deadline (µs).  0, or -1: full.
 */
static int
feed_wait_park(struct server *srv, struct evhttp_request *req, int64_t after,
    uint64_t batches, int64_t deadline)
{
	struct feed_wait	*w;
	struct timeval		 tv = { 0, FEED_WAIT_TICK_US };

	if (srv->feed_waits == NULL) {
		srv->feed_waits = xcalloc(1, sizeof(*srv->feed_waits));
		TAILQ_INIT(&srv->feed_waits->q);
		srv->feed_waits->tick = evtimer_new(srv->base, feed_wait_tick,
		    srv);
	}
	if (srv->stopping || srv->feed_waits->n >= FEED_WAIT_MAX)
		return (-1);
	w = xcalloc(1, sizeof(*w));
	w->srv = srv;
	w->req = req;
	w->after = after;
	w->batches = batches;
	w->deadline = deadline;
	TAILQ_INSERT_TAIL(&srv->feed_waits->q, w, entry);
	if (srv->feed_waits->n++ == 0)
		evtimer_add(srv->feed_waits->tick, &tv);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    feed_wait_closed, w);
	return (0);
}

/* At exit (server_free, after evhttp_free has closed every connection). */
void
feed_wait_free(struct server *srv)
{
	struct feed_wait	*w;

	if (srv->feed_waits == NULL)
		return;
	while ((w = TAILQ_FIRST(&srv->feed_waits->q)) != NULL) {
		TAILQ_REMOVE(&srv->feed_waits->q, w, entry);
		free(w);
	}
	event_free(srv->feed_waits->tick);
	free(srv->feed_waits);
	srv->feed_waits = NULL;
}

void
feed_changes(struct server *srv, struct evhttp_request *req)
{
	feed_run(srv, req, 1, 0);
}

/*
 * Answer req, or park it (may_park, ?wait=) when nothing follows its
 * cursor; deadline (µs) is a parked request's, 0 for a new one.
 */
static void
feed_run(struct server *srv, struct evhttp_request *req, int may_park,
    int64_t deadline)
{
	struct evkeyvalq	 q;
	const struct token	*tok;
	const char		*tenant = NULL;
	json_object		*o, *arr, *patch;
	long long		 after, limit, wait;
	int64_t			 next;
	uint64_t		 batches;
	size_t			 i;

	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	/* A client sees its tenant's changes; without a tenant, none. */
	if (tok->role == ROLE_CLIENT)
		tenant = tok->tenant != NULL ? tok->tenant : "\001none";
	if (api_query(srv, req, &q) == -1)
		return;
	if (api_query_int(&q, "after", 0, 0, INT64_MAX, &after) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "after must be a "
		    "cursor (0 or more)", "after");
		goto out;
	}
	if (api_query_int(&q, "limit", FEED_LIMIT_DEFAULT, 1, FEED_LIMIT_MAX,
	    &limit) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "limit must be 1 to "
		    "1000", "limit");
		goto out;
	}
	if (api_query_int(&q, "wait", 0, 0, FEED_WAIT_SECS, &wait) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "wait must be 0 to 30 "
		    "(seconds)", "wait");
		goto out;
	}
	/* Before the read: a commit after it is one the read may miss. */
	batches = atomic_load(&srv->metrics.batches);
	arr = json_object_new_array();
	if (outbox_changes(srv->reader, after, (size_t)limit, tenant, arr,
	    &next) == -1) {
		json_object_put(arr);
		api_unreadable(srv, req);
		goto out;
	}
	if (tok->role == ROLE_CLIENT) {
		json_object *pres = feed_present(srv, tok, arr);

		json_object_put(arr);
		if ((arr = pres) == NULL) {
			api_unreadable(srv, req);
			goto out;
		}
	} else {
		/*
		 * A patch has the shape of the claim ({properties, links}),
		 * so the token's redaction policy applies to it as to the
		 * claim: a removed field is neither sent nor shown as deleted.
		 */
		for (i = 0; i < json_object_array_length(arr); i++)
			if (json_object_object_get_ex(
			    json_object_array_get_idx(arr, i), "patch", &patch))
				redact_claim(srv->cf->redaction, tok, patch);
	}
	/* Nothing, not even a cursor to move past: wait for the feed. */
	if (may_park && wait > 0 && json_object_array_length(arr) == 0 &&
	    next == after && feed_wait_park(srv, req, after, batches,
	    deadline ? deadline : tf_now() + wait * 1000000) == 0) {
		json_object_put(arr);
		goto out;
	}
	o = json_object_new_object();
	json_object_object_add(o, "changes", arr);
	json_object_object_add(o, "next", json_object_new_int64(next));
	api_reply_etag(req, o);
	json_object_put(o);
out:
	evhttp_clear_headers(&q);
}
