/*
 * push.c: sends the outbox to the sinks with libcurl multi on the
 * daemon's event base (curl's hiperfifo pattern): the socket callback
 * keeps one event per socket, the timer callback arms one evtimer, and
 * both drive curl_multi_socket_action; finished transfers are read with
 * curl_multi_info_read and found again through CURLINFO_PRIVATE.  Nothing
 * here blocks: the outbox is read through the loop's read-only ledger
 * connection (WAL), and every outcome is written by the writer thread as
 * an ingest job, in its next transaction.
 *
 * Per sink: at most max_in_flight pushes (HTTP requests plus outcomes not
 * yet committed), a token bucket (rate, burst), a timeout per request.
 * Per object and sink: one push at a time (the busy set), so pushes leave
 * in order, and each is the merge patch from the acknowledged state to
 * the newest wanted one.  A slow or dead sink only fills its own slots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <curl/curl.h>

#include "milepostd.h"

#define PUSH_POLL_MS		250	/* rescan: backoffs due, CLI changes */
#define PUSH_RESP_MAX		(1024 * 1024)
#define PUSH_CONFLICTS_MAX	3	/* 412 refetches per push */
#define PUSH_FILL_BATCH		256	/* feed entries per fill job */
#define PUSH_PENDING_MAX	1024	/* no more fills above this */
#define PUSH_LAT_BUCKETS	11	/* push_lat_bounds */

/* Push latency bucket bounds, in microseconds. */
static const int64_t push_lat_bounds[PUSH_LAT_BUCKETS] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000,
};

struct push;

struct push_sink {
	struct push		*p;
	const struct sinkconf	*sc;
	struct rate_bucket	 tb;		/* the sink's rate and burst */
	unsigned		 inflight;
	int			 disabled;	/* 410, until retry/replay */
	char			**busy;		/* "type\037id" per push */
	size_t			 nbusy;
	/* Taking the change feed into outbox rows (outbox_fill). */
	struct ingest_job	 fill;
	struct outbox_fill	 fres;		/* written by the writer */
	int			 filling;	/* a fill job is queued */
	int64_t			 pending;	/* rows waiting, as last counted */
	int64_t			 seen_head;	/* feed taken up to here */
	int64_t			 fill_head;	/* the head when filling */
	/* Request latency, for /metrics (loop thread only). */
	uint64_t		 lat_bucket[PUSH_LAT_BUCKETS];
	uint64_t		 lat_count;
	int64_t			 lat_sum;	/* microseconds */
};

struct push_req {
	TAILQ_ENTRY(push_req)	 entry;
	struct push_sink	*ps;
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct sink_http	 http;
	struct buf		 resp;
	char			 etag[256];
	char			 retry_after[64];
	struct outbox_row	 row;
	json_object		*want, *acked, *patch, *links;
	char			 msgid[48];
	char			*key;
	int			 refetching;
	int			 conflicts;
	int64_t			 t0;		/* the request started */
	struct ingest_job	 job;
	struct outbox_ack	 ack;
};
TAILQ_HEAD(push_reqs, push_req);

struct push {
	struct server		*srv;
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;		/* curl's */
	struct event		*kick;		/* scan now */
	struct event		*later;		/* scan at kick_at */
	struct event		*poll;		/* scan every PUSH_POLL_MS */
	struct push_sink	*sinks;
	size_t			 nsinks;
	struct push_reqs	 reqs;
	int64_t			 kick_at;	/* kick armed for, or 0 */
	/* A reload changed sinks or subscriptions (reload.c). */
	int			 draining;	/* start nothing new */
	int			 drained;	/* reload_push_drained is queued */
	int64_t			 db_head;	/* the feed's head, all replicas */
	struct event		*wake;		/* another replica committed */
	int			 wake_fd;
};

static void	push_scan(struct push *);
static void	push_send(struct push_req *);
static void	push_reset_http(struct push_req *);
static void	push_kick_at(struct push *, int64_t);
static void	push_wake_watch(struct push *);

static int64_t
push_now(void)
{
	return (tf_now());
}

static uint32_t
push_random(void)
{
	uint32_t	r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)rand();
	return (r);
}

static int
push_busy(struct push_sink *ps, const char *key)
{
	size_t	i;

	for (i = 0; i < ps->nbusy; i++)
		if (strcmp(ps->busy[i], key) == 0)
			return (1);
	return (0);
}

static void
push_unbusy(struct push_sink *ps, const char *key)
{
	size_t	i;

	for (i = 0; i < ps->nbusy; i++)
		if (strcmp(ps->busy[i], key) == 0) {
			ps->busy[i] = ps->busy[--ps->nbusy];
			return;
		}
}

static void
push_req_free(struct push_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->ps->p->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->hdrs);
	sink_http_clear(&r->http);
	buf_free(&r->resp);
	ledger_row_clear(&r->row);
	json_object_put(r->want);
	json_object_put(r->acked);
	json_object_put(r->patch);
	json_object_put(r->links);
	ledger_ack_clear(&r->ack);
	free(r->key);
	free(r);
}

/* The writer committed (or not) the outcome: free the slot, rescan. */
static void
push_job_done(struct ingest_job *job, void *arg)
{
	struct push_req		*r = arg;
	struct push_sink	*ps = r->ps;
	struct push		*p = ps->p;

	if (job->failed)
		log_warnx("%s: %s: the outcome of %s/%s was not stored; it "
		    "will be sent again", __func__, ps->sc->name, r->row.type,
		    r->row.id);
	push_unbusy(ps, r->key);
	ps->inflight--;
	if (!job->failed && (r->ack.result == OUTBOX_DONE ||
	    r->ack.result == OUTBOX_DEAD) && ps->pending > 0)
		ps->pending--;
	if (!job->failed && r->ack.result == OUTBOX_RETRY)
		push_kick_at(p, r->ack.next_at);	/* not a poll later */
	TAILQ_REMOVE(&p->reqs, r, entry);
	push_req_free(r);
	event_active(p->kick, EV_TIMEOUT, 0);
}

/* Scan at time at (microseconds), unless a scan is armed earlier. */
static void
push_kick_at(struct push *p, int64_t at)
{
	int64_t		wait = at - push_now();
	struct timeval	tv;

	if (p->kick_at != 0 && p->kick_at <= at &&
	    evtimer_pending(p->later, NULL))
		return;
	if (wait < 0)
		wait = 0;
	wait += 2000;	/* the loop's clock may fire a hair early */
	tv.tv_sec = wait / 1000000;
	tv.tv_usec = wait % 1000000;
	p->kick_at = at;
	evtimer_add(p->later, &tv);
}

static int
push_job_run(struct ledger *l, void *arg)
{
	struct push_req	*r = arg;

	return (ledger_outbox_ack(l, &r->ack));
}

/* Hand the outcome in r->ack to the writer. */
static void
push_outcome(struct push_req *r, enum outbox_result res, const char *error)
{
	struct outbox_ack	*a = &r->ack;
	int64_t			 delay;

	push_reset_http(r);	/* the connection goes back to the cache */
	ledger_ack_clear(a);
	a->result = res;
	a->sink = xstrdup(r->ps->sc->name);
	a->type = xstrdup(r->row.type);
	a->id = xstrdup(r->row.id);
	a->now = push_now();
	a->attempts = r->row.attempts + 1;
	if (error != NULL)
		a->error = xstrdup(error);
	switch (res) {
	case OUTBOX_DONE:
		a->sent = xstrdup(r->row.want);
		a->sent_rev = r->row.want_rev;
		a->attempts = 0;
		if (r->etag[0] != '\0')
			a->etag = xstrdup(r->etag);
		break;
	case OUTBOX_RETRY:
		delay = outbox_retry_after(r->retry_after[0] ? r->retry_after :
		    NULL, a->now);
		if (delay < 0)
			delay = outbox_backoff(r->ps->sc->retry_base,
			    r->ps->sc->retry_max, a->attempts, push_random());
		a->next_at = a->now + delay;
		log_info("push: %s: %s/%s: %s; attempt %lld, next in %.3fs",
		    r->ps->sc->name, r->row.type, r->row.id, error,
		    (long long)a->attempts, (double)delay / 1e6);
		break;
	case OUTBOX_DEAD:
		log_warnx("push: %s: %s/%s: dead-lettered after %lld "
		    "attempts: %s", r->ps->sc->name, r->row.type, r->row.id,
		    (long long)a->attempts, error);
		break;
	case OUTBOX_DISABLE:
		r->ps->disabled = 1;
		log_warnx("push: %s: 410 Gone: the sink is disabled until "
		    "milepost outbox retry --sink %s", r->ps->sc->name,
		    r->ps->sc->name);
		break;
	}
	r->job.run = push_job_run;
	r->job.done = push_job_done;
	r->job.arg = r;
	ingest_job_submit(r->ps->p->srv->ingest, &r->job);
}

static size_t
push_write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct push_req	*r = arg;

	if (r->resp.len + size * n > PUSH_RESP_MAX)
		return (0);	/* a failed transfer: retried */
	buf_add(&r->resp, ptr, size * n);
	return (size * n);
}

/* Keep the reply's ETag and Retry-After; nothing else is needed. */
static size_t
push_header_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct push_req	*r = arg;
	size_t		 len = size * n, vl;
	char		*dst;
	const char	*v;

	if (len > 5 && strncasecmp(ptr, "ETag:", 5) == 0) {
		dst = r->etag;
		v = ptr + 5;
	} else if (len > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		dst = r->retry_after;
		v = ptr + 12;
	} else
		return (len);
	while (v < ptr + len && (*v == ' ' || *v == '\t'))
		v++;
	vl = (size_t)(ptr + len - v);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
	    v[vl - 1] == ' '))
		vl--;
	if (vl < (dst == r->etag ? sizeof(r->etag) : sizeof(r->retry_after))) {
		memcpy(dst, v, vl);
		dst[vl] = '\0';
	}
	return (len);
}

/* The sink_msg of r, borrowing from it. */
static void
push_msg(struct push_req *r, struct sink_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->sc = r->ps->sc;
	m->ctype = r->row.type;
	m->id = r->row.id;
	m->msgid = r->msgid;
	m->revision = r->row.want_rev;
	m->base = r->row.acked_rev;
	m->want = r->want;
	m->acked = r->acked;
	m->patch = r->patch;
	m->links = r->links;
	m->etag = r->row.etag;
	m->now = push_now();
}

/* Start r->http on the multi handle. */
static int
push_start(struct push_req *r)
{
	struct push	*p = r->ps->p;
	size_t		 i;
	long		 ms = (long)(r->ps->sc->timeout * 1000);

	if ((r->easy = curl_easy_init()) == NULL)
		return (-1);
	for (i = 0; i < r->http.nhdr; i++)
		r->hdrs = curl_slist_append(r->hdrs, r->http.hdr[i]);
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	buf_reset(&r->resp);
	r->etag[0] = r->retry_after[0] = '\0';
	curl_easy_setopt(r->easy, CURLOPT_URL, r->http.url);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "milepost/" VERSION);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, push_write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, push_header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	if (strcmp(r->http.method, "GET") == 0)
		curl_easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->http.body.len ?
		    r->http.body.data : "");
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE,
		    (long)r->http.body.len);
		if (strcmp(r->http.method, "POST") != 0)
			curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST,
			    r->http.method);
	}
	r->t0 = metrics_monotonic();
	if (curl_multi_add_handle(p->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		return (-1);
	}
	return (0);
}

static void
push_reset_http(struct push_req *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->ps->p->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	sink_http_clear(&r->http);
}

/* Build and start the push of r's row (the patch is computed). */
static void
push_send(struct push_req *r)
{
	struct sink_msg	m;
	char		err[MP_ERRLEN];

	push_reset_http(r);
	push_msg(r, &m);
	if (r->ps->sc->impl->build(&m, &r->http, err, sizeof(err)) == -1 ||
	    sink_url_check(r->http.url, err, sizeof(err)) == -1) {
		push_outcome(r, OUTBOX_DEAD, err);	/* never retried */
		return;
	}
	if (push_start(r) == -1)
		push_outcome(r, OUTBOX_RETRY, "cannot start the request");
}

/*
 * 412 answered, then the GET: the sink's current state, limited to the
 * fields we manage (those we want and those we had sent), becomes the
 * base of a new patch.
 */
static void
push_refetched(struct push_req *r, long status)
{
	json_object	*cur, *base, *v;

	if (status < 200 || status >= 300 ||
	    (cur = json_tokener_parse(buf_cstr(&r->resp))) == NULL ||
	    !json_object_is_type(cur, json_type_object)) {
		push_outcome(r, OUTBOX_RETRY, "412, and the current state "
		    "could not be read");
		return;
	}
	base = json_object_new_object();
	json_object_object_foreach(cur, k, val) {
		if (json_object_object_get_ex(r->want, k, &v) ||
		    (r->acked != NULL &&
		    json_object_object_get_ex(r->acked, k, &v)))
			json_object_object_add(base, k, json_object_get(val));
	}
	json_object_put(cur);
	json_object_put(r->acked);
	r->acked = base;
	free(r->row.etag);
	r->row.etag = r->etag[0] ? xstrdup(r->etag) : NULL;
	json_object_put(r->patch);
	r->patch = mergepatch_diff(r->acked, r->want);
	r->refetching = 0;
	if (mergepatch_empty(r->patch)) {
		push_outcome(r, OUTBOX_DONE, NULL);
		return;
	}
	push_send(r);
}

/* One request to ps took us microseconds. */
static void
push_latency(struct push_sink *ps, int64_t us)
{
	size_t	i;

	ps->lat_count++;
	ps->lat_sum += us;
	for (i = 0; i < PUSH_LAT_BUCKETS; i++)
		if (us <= push_lat_bounds[i]) {
			ps->lat_bucket[i]++;
			break;
		}
}

/* One transfer finished: classify and record. */
static void
push_finished(struct push_req *r, CURLcode cc)
{
	struct sink_msg	 m;
	long		 status = 0;
	char		 why[MP_ERRLEN];

	push_latency(r->ps, metrics_monotonic() - r->t0);
	if (cc == CURLE_OK)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->refetching) {
		push_refetched(r, status);
		return;
	}
	if (cc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(cc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", status);
	switch (cc != CURLE_OK ? sink_classify_curl(cc) :
	    sink_classify(status)) {
	case SINK_OK:
		push_outcome(r, OUTBOX_DONE, NULL);
		break;
	case SINK_CONFLICT:
		if (r->ps->sc->impl->refetch != NULL &&
		    r->conflicts++ < PUSH_CONFLICTS_MAX) {
			push_reset_http(r);
			push_msg(r, &m);
			if (r->ps->sc->impl->refetch(&m, &r->http) == -1) {
				push_outcome(r, OUTBOX_DEAD, "412, and the "
				    "object's URL cannot be built");
				break;
			}
			r->refetching = 1;
			if (push_start(r) == -1)
				push_outcome(r, OUTBOX_RETRY, "cannot start "
				    "the request");
			break;
		}
		/* FALLTHROUGH */
	case SINK_RETRY:
		if (r->row.attempts + 1 >= r->ps->sc->max_attempts)
			push_outcome(r, OUTBOX_DEAD, why);
		else
			push_outcome(r, OUTBOX_RETRY, why);
		break;
	case SINK_GONE:
		push_outcome(r, OUTBOX_DISABLE, why);
		break;
	case SINK_FAIL:
		push_outcome(r, OUTBOX_DEAD, why);
		break;
	}
}

static void
push_check_multi(struct push *p)
{
	CURLMsg		*msg;
	struct push_req	*r;
	int		 left;

	while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		push_finished(r, msg->data.result);
	}
}

static void
push_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct push	*p = arg;
	int		 running, action;

	action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(p->multi, fd, action, &running);
	/*
	 * Unlike hiperfifo, no evtimer_del when nothing runs: finishing a
	 * transfer may start the next (a resend after 412), whose timer
	 * curl has just armed.
	 */
	push_check_multi(p);
}

static void
push_timeout_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct push	*p = arg;
	int		 running;

	curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	push_check_multi(p);
}

/* CURLMOPT_TIMERFUNCTION: one evtimer; never call curl from here. */
static int
push_timer_cb(CURLM *multi, long ms, void *arg)
{
	struct push	*p = arg;
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(p->timer);
		return (0);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
	return (0);
}

/* CURLMOPT_SOCKETFUNCTION: one persistent event per socket. */
static int
push_sock_cb(CURL *e, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct push	*p = arg;
	struct event	*ev = sockp;
	short		 kind;

	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL) {
			event_free(ev);
			curl_multi_assign(p->multi, s, NULL);
		}
		return (0);
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ev != NULL) {
		event_del(ev);
		event_assign(ev, p->base, s, kind, push_event_cb, p);
	} else {
		ev = event_new(p->base, s, kind, push_event_cb, p);
		curl_multi_assign(p->multi, s, ev);
	}
	event_add(ev, NULL);
	return (0);
}

/* One due row: compute its patch, then send it or acknowledge it. */
static int
push_row(const struct outbox_row *row, void *arg)
{
	struct push_sink	*ps = arg;
	struct push		*p = ps->p;
	struct push_req		*r;
	struct sink_msg		 m;
	char			*key;
	int64_t			 wait;
	int			 send;

	if (ps->inflight >= ps->sc->max_in_flight)
		return (1);
	xasprintf(&key, "%s\037%s", row->type, row->id);
	if (push_busy(ps, key)) {
		free(key);
		return (0);
	}
	r = xcalloc(1, sizeof(*r));
	r->ps = ps;
	r->key = key;
	buf_init(&r->resp);
	r->row = *row;		/* steal the strings: see push_scan_row */
	r->want = json_tokener_parse(row->want);
	r->acked = row->acked != NULL ? json_tokener_parse(row->acked) : NULL;
	r->links = json_tokener_parse(row->links ? row->links : "{}");
	r->patch = mergepatch_diff(r->acked, r->want);
	outbox_msgid(row, r->msgid, sizeof(r->msgid));
	push_msg(r, &m);
	send = r->acked == NULL || !mergepatch_empty(r->patch);
	if (send && ps->sc->impl->wants != NULL)
		send = ps->sc->impl->wants(&m);
	if (send && rate_take(&ps->tb, &ps->sc->rate, push_now(), &wait) ==
	    -1) {
		/* Rate-limited: leave the row due; look again later. */
		memset(&r->row, 0, sizeof(r->row));
		push_req_free(r);
		push_kick_at(p, push_now() + wait);
		return (1);
	}
	memset((struct outbox_row *)row, 0, sizeof(*row));
	ps->busy = xreallocarray(ps->busy, ps->nbusy + 1, sizeof(*ps->busy));
	ps->busy[ps->nbusy++] = r->key;
	ps->inflight++;
	TAILQ_INSERT_TAIL(&p->reqs, r, entry);
	if (!send)
		push_outcome(r, OUTBOX_DONE, NULL);	/* nothing to say */
	else
		push_send(r);
	return (0);
}

static int
push_fill_run(struct ledger *l, void *arg)
{
	struct push_sink	*ps = arg;

	return (outbox_fill(l, ps->p->srv->outbox, ps->sc->name,
	    PUSH_FILL_BATCH, PUSH_PENDING_MAX, &ps->fres));
}

/* The writer took (or failed to take) feed entries into the outbox. */
static void
push_fill_done(struct ingest_job *job, void *arg)
{
	struct push_sink	*ps = arg;

	ps->filling = 0;
	if (job->failed) {
		log_warnx("push: %s: could not take the change feed; will "
		    "try again", ps->sc->name);
		return;
	}
	ps->pending = ps->fres.pending;
	if (!ps->fres.more)
		ps->seen_head = ps->fill_head;
	event_active(ps->p->kick, EV_TIMEOUT, 0);
}

/*
 * Queue a fill job for ps when the feed has moved past what it took and
 * it has room: a sink with PUSH_PENDING_MAX rows waiting (a dead or slow
 * one) takes nothing more until they drain, so ingest pays nothing for it.
 */
static void
push_fill(struct push_sink *ps)
{
	struct push	*p = ps->p;
	int64_t		 head;

	if (ps->disabled || ps->filling || ps->pending >= PUSH_PENDING_MAX ||
	    p->srv->outbox == NULL)
		return;
	/* Another replica's changes count too (a shared ledger). */
	if ((head = outbox_head(p->srv->outbox)) < p->db_head)
		head = p->db_head;
	if (head <= ps->seen_head)
		return;
	ps->filling = 1;
	ps->fill_head = head;
	ps->fill.run = push_fill_run;
	ps->fill.done = push_fill_done;
	ps->fill.arg = ps;
	ingest_job_submit(p->srv->ingest, &ps->fill);
}

static void
push_scan(struct push *p)
{
	struct push_sink	*ps;
	int64_t			 now = push_now();
	size_t			 i;

	/*
	 * Of the replicas sharing a ledger, the one that holds the leader
	 * lock pushes, so that one object's pushes are never out of order
	 * nor twice at once (docs/ARCHITECTURE.md).
	 */
	if (p->srv->stopping || !ledger_leader(p->srv->reader))
		return;
	if (p->draining) {
		/* Once nothing is in flight, reload.c swaps push and outbox. */
		for (i = 0; i < p->nsinks; i++)
			if (p->sinks[i].filling)
				return;
		if (TAILQ_EMPTY(&p->reqs) && !p->drained) {
			p->drained = 1;
			event_base_once(p->base, -1, EV_TIMEOUT,
			    reload_push_drained, p->srv, NULL);
		}
		return;
	}
	for (i = 0; i < p->nsinks; i++) {
		ps = &p->sinks[i];
		push_fill(ps);
		if (ps->disabled || ps->inflight >= ps->sc->max_in_flight)
			continue;
		if (ledger_outbox_due(p->srv->reader, ps->sc->name, now,
		    ps->sc->max_in_flight - ps->inflight + ps->nbusy,
		    push_row, ps) == -1)
			log_warnx("%s: %s: cannot read the outbox", __func__,
			    ps->sc->name);
	}
}

static void
push_kick_cb(evutil_socket_t fd, short kind, void *arg)
{
	push_scan(arg);
}

static void
push_later_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct push	*p = arg;

	p->kick_at = 0;
	push_scan(p);
}

/*
 * A shared ledger's wake-up (PostgreSQL's NOTIFY at another replica's
 * commit that changed the feed): read the feed's head and scan now, not
 * at the next poll.
 */
static void
push_wake_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct push	*p = arg;
	int64_t		 n;

	if (ledger_wake_drain(p->srv->reader) == 0)
		return;
	if ((n = ledger_feed_head(p->srv->reader)) > p->db_head)
		p->db_head = n;
	push_scan(p);
}

/* Watch the wake-up socket; a reset connection has another. */
static void
push_wake_watch(struct push *p)
{
	int	fd = ledger_wake_fd(p->srv->reader);

	if (fd == p->wake_fd)
		return;
	if (p->wake != NULL)
		event_free(p->wake);
	p->wake = NULL;
	p->wake_fd = fd;
	if (fd >= 0 && (p->wake = event_new(p->base, fd, EV_READ | EV_PERSIST,
	    push_wake_cb, p)) != NULL)
		event_add(p->wake, NULL);
}

static void
push_poll_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct push	*p = arg;
	int64_t		 n;
	size_t		 i;

	/*
	 * milepost outbox retry/replay may have enabled a sink again, or
	 * changed what waits: a sink that stopped taking the feed counts its
	 * pending rows again (a bounded count), so it resumes once they drain.
	 */
	for (i = 0; i < p->nsinks; i++) {
		struct push_sink *ps = &p->sinks[i];

		/*
		 * Not while an outcome waits for the writer: the 410 that
		 * disabled it may not be committed yet, and reading the old
		 * row would enable the sink again and send the push once more.
		 */
		if (ps->disabled && ps->inflight == 0)
			ps->disabled = ledger_outbox_disabled(p->srv->reader,
			    ps->sc->name) == 1;
		if (ps->pending >= PUSH_PENDING_MAX && !ps->filling &&
		    (n = ledger_outbox_pending(p->srv->reader, ps->sc->name,
		    PUSH_PENDING_MAX)) != -1)
			ps->pending = n;
	}
	/* The backstop for changes other replicas made (-1: none can). */
	push_wake_watch(p);
	ledger_wake_drain(p->srv->reader);
	if ((n = ledger_feed_head(p->srv->reader)) > p->db_head)
		p->db_head = n;
	push_scan(p);
}

/*
 * The per-sink series of GET /metrics (loop thread): rows pending and
 * dead, the age of the oldest pending one (read from the outbox, by its
 * index), pushes in flight, and the request latency histogram.
 */
void
push_metrics(struct push *p, struct buf *b)
{
	struct outbox_stats	*st;
	struct push_sink	*ps;
	int64_t			 now = push_now(), age;
	uint64_t		 cum;
	size_t			 i, j;

	if (p == NULL || p->nsinks == 0)
		return;
	st = xcalloc(p->nsinks, sizeof(*st));
	for (i = 0; i < p->nsinks; i++)
		if (ledger_outbox_stats(p->srv->reader, p->sinks[i].sc->name,
		    &st[i]) == -1)
			log_warnx("%s: %s: cannot read the outbox", __func__,
			    p->sinks[i].sc->name);
	buf_adds(b, "# HELP milepost_sink_pending Outbox rows waiting to be "
	    "pushed.\n# TYPE milepost_sink_pending gauge\n");
	for (i = 0; i < p->nsinks; i++)
		buf_printf(b, "milepost_sink_pending{sink=\"%s\"} %lld\n",
		    p->sinks[i].sc->name, (long long)st[i].pending);
	buf_adds(b, "# HELP milepost_sink_dead Outbox rows dead-lettered.\n"
	    "# TYPE milepost_sink_dead gauge\n");
	for (i = 0; i < p->nsinks; i++)
		buf_printf(b, "milepost_sink_dead{sink=\"%s\"} %lld\n",
		    p->sinks[i].sc->name, (long long)st[i].dead);
	buf_adds(b, "# HELP milepost_sink_oldest_pending_seconds Age of the "
	    "oldest waiting row (0: none).\n"
	    "# TYPE milepost_sink_oldest_pending_seconds gauge\n");
	for (i = 0; i < p->nsinks; i++) {
		age = st[i].oldest_at > 0 && now > st[i].oldest_at ?
		    now - st[i].oldest_at : 0;
		buf_printf(b, "milepost_sink_oldest_pending_seconds"
		    "{sink=\"%s\"} %.3f\n", p->sinks[i].sc->name,
		    (double)age / 1e6);
	}
	buf_adds(b, "# HELP milepost_sink_in_flight Pushes sent and not yet "
	    "settled.\n# TYPE milepost_sink_in_flight gauge\n");
	for (i = 0; i < p->nsinks; i++)
		buf_printf(b, "milepost_sink_in_flight{sink=\"%s\"} %u\n",
		    p->sinks[i].sc->name, p->sinks[i].inflight);
	free(st);
	buf_adds(b, "# HELP milepost_push_seconds Time of one request to a "
	    "sink.\n# TYPE milepost_push_seconds histogram\n");
	for (i = 0; i < p->nsinks; i++) {
		ps = &p->sinks[i];
		for (j = 0, cum = 0; j < PUSH_LAT_BUCKETS; j++) {
			cum += ps->lat_bucket[j];
			buf_printf(b, "milepost_push_seconds_bucket"
			    "{sink=\"%s\",le=\"%g\"} %llu\n", ps->sc->name,
			    (double)push_lat_bounds[j] / 1e6,
			    (unsigned long long)cum);
		}
		buf_printf(b, "milepost_push_seconds_bucket{sink=\"%s\","
		    "le=\"+Inf\"} %llu\n", ps->sc->name,
		    (unsigned long long)ps->lat_count);
		buf_printf(b, "milepost_push_seconds_sum{sink=\"%s\"} %.6f\n",
		    ps->sc->name, (double)ps->lat_sum / 1e6);
		buf_printf(b, "milepost_push_seconds_count{sink=\"%s\"} %llu\n",
		    ps->sc->name, (unsigned long long)ps->lat_count);
	}
}

/* Something was committed: look for pushes now (loop thread). */
void
push_kick(struct push *p)
{
	if (p != NULL && p->nsinks > 0)
		event_active(p->kick, EV_TIMEOUT, 0);
}

/*
 * Start pushing for srv's configured sinks on srv->base, reading the
 * outbox through srv->reader.  Returns NULL with err set on failure.
 */
struct push *
push_new(struct server *srv, char *err, size_t errlen)
{
	struct push	*p;
	struct timeval	 tv = { 0, PUSH_POLL_MS * 1000 };
	size_t		 i;

	p = xcalloc(1, sizeof(*p));
	p->srv = srv;
	p->base = srv->base;
	TAILQ_INIT(&p->reqs);
	if ((p->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "curl_multi_init failed");
		free(p);
		return (NULL);
	}
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, push_sock_cb);
	curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
	curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, push_timer_cb);
	curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
	p->timer = evtimer_new(p->base, push_timeout_cb, p);
	p->kick = evtimer_new(p->base, push_kick_cb, p);
	p->later = evtimer_new(p->base, push_later_cb, p);
	p->poll = event_new(p->base, -1, EV_PERSIST, push_poll_cb, p);
	p->nsinks = srv->cf_push->nsinks;
	p->sinks = xcalloc(p->nsinks + 1, sizeof(*p->sinks));
	for (i = 0; i < p->nsinks; i++) {
		p->sinks[i].p = p;
		p->sinks[i].sc = &srv->cf_push->sinks[i];
		p->sinks[i].seen_head = -1;	/* take any backlog at start */
		p->sinks[i].disabled = ledger_outbox_disabled(srv->reader,
		    p->sinks[i].sc->name) == 1;
		log_info("push: sink %s (%s)%s", p->sinks[i].sc->name,
		    p->sinks[i].sc->impl->name, p->sinks[i].disabled ?
		    ": disabled (410); milepost outbox retry enables it" : "");
	}
	p->wake_fd = -1;
	if (p->nsinks > 0) {
		push_wake_watch(p);
		event_add(p->poll, &tv);
		event_active(p->kick, EV_TIMEOUT, 0);
	}
	return (p);
}

/*
 * Start nothing new: no fill, no push; once every request and fill in
 * flight is done, reload_push_drained runs on the loop (reload.c).
 */
void
push_drain(struct push *p)
{
	p->draining = 1;
	event_active(p->kick, EV_TIMEOUT, 0);
}

/*
 * Stop: in-flight pushes are abandoned (their rows stay pending and are
 * sent again on the next start, with the same webhook-id).  Call after
 * the writer has stopped, since queued jobs point into the requests.
 */
void
push_free(struct push *p)
{
	struct push_req	*r;
	size_t		 i;

	if (p == NULL)
		return;
	while ((r = TAILQ_FIRST(&p->reqs)) != NULL) {
		TAILQ_REMOVE(&p->reqs, r, entry);
		push_req_free(r);
	}
	for (i = 0; i < p->nsinks; i++)
		free(p->sinks[i].busy);	/* the keys were the requests' */
	free(p->sinks);
	curl_multi_cleanup(p->multi);
	event_free(p->timer);
	event_free(p->kick);
	event_free(p->later);
	event_free(p->poll);
	if (p->wake != NULL)
		event_free(p->wake);
	free(p);
}
