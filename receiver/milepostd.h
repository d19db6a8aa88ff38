/*
 * milepostd.h: the receiver.  One event-loop thread (libevent evhttp) does
 * HTTP, verification, parsing and validation; one writer thread owns the
 * read-write ledger and commits whatever has queued as one transaction
 * (group commit).  Requests cross to the writer through the ingest queue
 * and come back through the completion queue; each item has one owner at
 * a time.
 */
#ifndef MILEPOSTD_H
#define MILEPOSTD_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>

#include <event2/event.h>
#include <event2/http.h>

#include <openssl/ssl.h>

#include "milepost.h"

struct ingest;
struct evconnlistener;
struct push;
struct conns;
struct bufferevent;
struct sessions;
struct feed_waits;

/* metrics.c: Prometheus counters, safe to bump from either thread */
enum reject_reason {
	REJECT_SIZE = 0,
	REJECT_SIGNATURE,
	REJECT_SYNTAX,
	REJECT_TYPE,
	REJECT_OVERLOAD,
	REJECT_AUTH,
	REJECT_NOTFOUND,
	REJECT_METHOD,
	REJECT_STORAGE,
	REJECT_UNCONFIGURED,
	REJECT_RATE,
	REJECT_AMBIGUOUS,
	REJECT_ALIAS,		/* a name the catalog lacks, refused */
	REJECT_MAX
};
enum metrics_timer {
	METRICS_TIMER_STALL = 0,	/* api-deployments.c */
	METRICS_TIMER_CLOCK,		/* clock.c */
	METRICS_TIMER_MAX
};
#define METRICS_BATCH_BUCKETS	14	/* 1, 2, 4, ... 8192 */
#define METRICS_LAT_BUCKETS	12
struct metrics {
	atomic_uint_fast64_t	accepted;
	atomic_uint_fast64_t	duplicates;
	atomic_uint_fast64_t	rejected[REJECT_MAX];
	atomic_uint_fast64_t	batches;
	atomic_uint_fast64_t	batch_sum;
	atomic_uint_fast64_t	batch_bucket[METRICS_BATCH_BUCKETS];
	atomic_uint_fast64_t	commit_us_sum;
	atomic_uint_fast64_t	commit_bucket[METRICS_LAT_BUCKETS];
	atomic_uint_fast64_t	commit_failures;
	atomic_int		commit_failing;	/* the last commit failed */
	atomic_int_fast64_t	ledger_seq;
	atomic_uint_fast64_t	queue_depth;
	atomic_uint_fast64_t	connections;
	atomic_uint_fast64_t	shed;		/* conn.c: closed at a cap/deadline */
	atomic_uint_fast64_t	reloads;	/* reload.c: applied */
	atomic_uint_fast64_t	reload_failures;
	atomic_uint_fast64_t	hooks_ignored;
	/*
	 * Labelled series, sized by metrics_init: sources are the source
	 * table plus agent, milepostd and api; types are the configured
	 * evidence types; anything else folds into "other".
	 */
	const struct types	*types;		/* borrowed */
	size_t			 nsrc, ntype;	/* with "other" */
	atomic_uint_fast64_t	*rej_src;	/* [nsrc][REJECT_MAX] */
	atomic_uint_fast64_t	*ev_src;	/* [nsrc][ntype] */
	atomic_uint_fast64_t	*alias_miss;	/* [nsrc] */
	atomic_int_fast64_t	*last_delivery;	/* [nsrc]: unix s, 0 none */
	/* The loop's timers: when each last ran, and how late it was. */
	atomic_int_fast64_t	 timer_last[METRICS_TIMER_MAX];
	atomic_int_fast64_t	 timer_lag[METRICS_TIMER_MAX];
	atomic_int_fast64_t	 timer_lag_max[METRICS_TIMER_MAX];
	atomic_uint_fast64_t	 timer_ticks[METRICS_TIMER_MAX];
	/* access-log.c */
	atomic_uint_fast64_t	 alog_lines;
	atomic_uint_fast64_t	 alog_dropped;
};
void	metrics_init(struct metrics *, const struct types *);
void	metrics_free(struct metrics *);
void	metrics_reject(struct metrics *, enum reject_reason);
void	metrics_reject_source(struct metrics *, const char *,
	    enum reject_reason);
void	metrics_evidence(struct metrics *, const char *, const char *);
void	metrics_alias_miss(struct metrics *, const char *);
void	metrics_delivery(struct metrics *, const char *);
void	metrics_timer(struct metrics *, enum metrics_timer, int64_t);
void	metrics_batch(struct metrics *, size_t, int64_t);
void	metrics_render(struct metrics *, struct buf *);
int64_t	metrics_monotonic(void);

/* server.c: one listener: its own evhttp (its bevcb knows its TLS) */
struct listener {
	struct server		*srv;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct evconnlistener	*lev;
	SSL_CTX			*ctx;		/* TLS, or NULL: plain */
	char			*address;	/* as configured */
	char			 addr[128];	/* as bound */
};

/* server.c: the daemon's state, set-up, signals and shutdown */
struct server {
	struct event_base	*base;
	struct listener		*ls;
	size_t			 nls;
	struct conns		*conns;		/* conn.c */
	/*
	 * The configuration.  cf is the current one (the loop's reference;
	 * reload.c swaps it); cf0 the one the daemon started with, borrowed
	 * from main, which what is built once at start (push, outbox,
	 * metrics labels, the access log) keeps using.
	 */
	struct config		*cf;
	struct config		*cf0;
	struct config		*cf_push;	/* push and the outbox's: a ref
						   once a reload swapped them */
	struct config		*push_next;	/* reload.c: waiting to drain */
	struct event		*ev_hup;
	struct ingest		*ingest;
	struct ledger		*reader;	/* read-only, loop thread */
	struct reads		*reads;		/* large reads, off the loop */
	struct gates_wm		*wm;		/* api-gates.c: each source's
						   watermark, loop thread */
	size_t			 nwm;
	int			 wm_loaded;
	struct json_tokener	*tok;		/* request bodies, loop thread */
	struct rate_bucket	*rates;		/* one per cf->tokens, loop */
	struct outbox		*outbox;	/* the writer's on_claim hook */
	struct push		*push;		/* outbox -> sinks */
	struct alog		*alog;		/* access log, or NULL: off */
	struct sessions		*sessions;	/* session.c, loop; lazily */
	struct feed_waits	*feed_waits;	/* api-changes.c: long polls */
	struct metrics		 metrics;
	int			 paused;	/* listeners off at the cap */
	int			 stopping;
	struct event		*ev_term, *ev_int, *ev_exit;
	struct event		*ev_stall;	/* deployments.c */
	int64_t			 stall_us;	/* its interval */
	struct event		*ev_clock;	/* clock.c */
	int64_t			 clock_last;	/* clock.c: point stored */
	int			 clock_busy;	/* clock.c: one in flight */
	char			 addr[128];
};
struct server	*server_new(struct config *, char *, size_t);
int		 server_run(struct server *);
void		 server_free(struct server *);
void		 server_check_stop(struct server *);
int		 server_drop(struct server *, const char *, char *, size_t);
struct outbox	*server_outbox(struct config *, struct ledger *, char *, size_t);

/* conn.c: connections, their deadlines and caps (slow clients) */
struct conns	*conn_new(struct server *);
void		 conn_accepted(struct conns *, struct bufferevent *, int);
void		 conn_dispatch(struct conns *, struct evhttp_request *);
void		 conn_complete(struct conns *, struct evhttp_request *);
unsigned	 conn_count(const struct conns *);
void		 conn_free(struct conns *);

/* tls.c: TLS listeners through bufferevent_openssl */
SSL_CTX		*tls_ctx_new(const struct listen_conf *, char *, size_t);
struct bufferevent *tls_bev_new(struct event_base *, SSL_CTX *);
int		 tls_check(const struct config *, char *, size_t);
int		 tls_request(struct evhttp_request *);

/* reload.c: SIGHUP: a new configuration and certificates, swapped in */
void		 reload_signal(evutil_socket_t, short, void *);
void		 reload_push_drained(evutil_socket_t, short, void *);
int		 reload_apply(struct server *, struct config *, char *,
		    size_t);

/* http.c: routes, limits and replies */
void	http_route(struct evhttp_request *, void *);
void	http_reply_json(struct evhttp_request *, int, json_object *);
void	http_reply_bytes(struct evhttp_request *, int, const char *, size_t);
void	http_error(struct server *, struct evhttp_request *, int,
	    enum reject_reason, const char *, const char *);
const char *http_source(struct evhttp_request *);

/* access-log.c: one line per request, written by its own thread */
struct alog;
struct alog	*alog_new(const struct access_log_conf *, struct metrics *,
		    char *, size_t);
void		 alog_start(struct alog *, struct evhttp_request *);
void		 alog_free(struct alog *);

/* ingest.c: the writer thread and its group commit */
struct ingest_req {
	TAILQ_ENTRY(ingest_req)	 entry;
	struct evhttp_request	*req;
	struct evidence		**ev;
	int			*dup;
	size_t			 nev;
	int			 batch;		/* reply with a list */
	int			 failed;	/* storage error: 503 */
	const char		*raw_source;	/* a source's payload, kept */
	char			*raw_delivery;	/* compressed by the writer */
	char			*raw;
	size_t			 rawlen;
	/* Set: replies (or not, req NULL) instead of the evidence reply. */
	void			(*done)(struct server *, struct ingest_req *);
	char			*ctx;		/* for done, freed with ir */
	const struct token	*tok;		/* for done: who asked */
	struct config		*cf;		/* a reference, for tok & co */
	char			*warn;		/* JSON members for the reply */
};
TAILQ_HEAD(ingest_queue, ingest_req);
typedef void (*ingest_done_cb)(struct ingest_req *, void *);
struct ingest_job {
	TAILQ_ENTRY(ingest_job)	 entry;
	int			(*run)(struct ledger *, void *);  /* writer */
	void			(*done)(struct ingest_job *, void *); /* loop */
	void			*arg;
	int			 failed;
	int			 atomic;	/* a failure fails the batch */
};
TAILQ_HEAD(ingest_jobq, ingest_job);
void		 ingest_job_submit(struct ingest *, struct ingest_job *);
struct ingest	*ingest_new(struct event_base *, struct ledger *,
		    struct derive *, const struct limits *,
		    struct metrics *, ingest_done_cb, void *);
int		 ingest_submit(struct ingest *, struct ingest_req *);
int		 ingest_submit_own(struct server *, json_object *, const char *,
		    int64_t, void (*)(struct server *, struct ingest_req *));
size_t		 ingest_inflight(struct ingest *);
void		 ingest_stop(struct ingest *);
void		 ingest_free(struct ingest *);
void		 ingest_req_free(struct ingest_req *);
void		 ingest_set_config(struct ingest *, struct config *);

/* push.c: the outbox to the sinks, libcurl multi on the loop */
struct push	*push_new(struct server *, char *, size_t);
void		 push_kick(struct push *);
void		 push_metrics(struct push *, struct buf *);
void		 push_free(struct push *);
void		 push_drain(struct push *);

/* feed.c: GET /v1/changes, the differential change feed */
void	feed_changes(struct server *, struct evhttp_request *);
void	feed_wait_free(struct server *);

/* api.c: the read API */
void	api_evidence_list(struct server *, struct evhttp_request *);
/* reads.c: large reads on a thread of their own */
typedef json_object *(*reads_run_cb)(struct ledger *, void *);
typedef void (*reads_done_cb)(struct server *, struct evhttp_request *,
	    json_object *, void *);
struct reads	*reads_new(struct server *, const char *, char *, size_t);
int		 reads_submit(struct reads *, struct evhttp_request *,
		    reads_run_cb, reads_done_cb, void *);
void		 reads_free(struct reads *);
void		 reads_metrics(struct reads *, struct buf *);

void	api_healthz(struct server *, struct evhttp_request *);
void	api_readyz(struct server *, struct evhttp_request *);
void	api_claims(struct server *, struct evhttp_request *, const char *);
void	api_metrics(struct server *, struct evhttp_request *);
enum role api_auth(struct server *, struct evhttp_request *, enum role);

/* api-milestones.c: GET /v1/milestones[/{id}] */
void	api_milestones(struct server *, struct evhttp_request *, const char *);
json_object *api_milestones_one(struct server *, const struct milestone_def *,
	    int64_t);

/* api-status.c: GET /status/{tenant}[.json], off by default */
void	status_route(struct server *, struct evhttp_request *, const char *);

/* api-gates.c: GET /v1/gates/{service}/{environment}, exceptions */
void	gates_route(struct server *, struct evhttp_request *, const char *);
void	gates_metrics(struct server *, struct buf *);
int	gates_watermark_load(struct server *);
int	gates_watermark(struct server *, const char *, int64_t, char *,
	    size_t);
void	gates_simulate(struct server *, struct evhttp_request *, const char *);

/* api-services.c: GET /v1/services */
void	api_services(struct server *, struct evhttp_request *);

/* api-outbox.c: GET /v1/outbox, POST /v1/outbox/{retry,replay} */
void	api_outbox_route(struct server *, struct evhttp_request *,
	    const char *);

/* api-dora.c: GET /v1/metrics/{dora,deployments,incidents} */
void	api_dora(struct server *, struct evhttp_request *, const char *);

/* deployments.c: deployments, releases, overrides and the stall timer */
void	deployments_route(struct server *, struct evhttp_request *,
	    const char *);
void	deployments_release_route(struct server *, struct evhttp_request *,
	    const char *);
void	deployments_timer_start(struct server *);

/* clock.c: the milestone clock (MilestoneClock evidence) */
void	clock_start(struct server *);
int64_t	clock_point(const struct milestone_conf *, int64_t, const char **,
	    const char **);

/* api-access.c: what every bearer endpoint shares (ARCHITECTURE.md) */
int	api_authorize(struct server *, struct evhttp_request *, enum access,
	    const struct token **);
int	api_present(struct server *, const struct token *, json_object *);
char	*api_claim_id(struct server *, const struct token *, const char *,
	    const char *, int *);
void	api_reply_etag(struct evhttp_request *, json_object *);
void	api_unreadable(struct server *, struct evhttp_request *);
void	api_reply_etag_bytes(struct evhttp_request *, const char *,
	    const void *, size_t);
void	api_tokens(struct server *, struct evhttp_request *);
int	api_query(struct server *, struct evhttp_request *,
	    struct evkeyvalq *);
int	api_query_int(struct evkeyvalq *, const char *, long long, long long,
	    long long, long long *);

/* api-web.c: the dashboard's built-in files (GET /, /assets/…) */
struct web_asset;
void	web_route(struct server *, struct evhttp_request *, const char *);
const struct web_asset *web_asset_find(const char *);
void	web_send(struct evhttp_request *, const struct web_asset *);
void	web_headers(struct evhttp_request *);
void	web_free(void);

/* session.c: sign-in by token, read-only session cookies (/session) */
void	session_route(struct server *, struct evhttp_request *);
const struct token *session_token(struct server *, struct evhttp_request *);
int	session_has_cookie(struct evhttp_request *);
void	session_free(struct sessions *);

#endif /* MILEPOSTD_H */
