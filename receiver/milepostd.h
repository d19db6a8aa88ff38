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

#include "milepost.h"

struct ingest;
struct evconnlistener;
struct push;

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
	atomic_int_fast64_t	ledger_seq;
	atomic_uint_fast64_t	queue_depth;
	atomic_uint_fast64_t	connections;
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
void	metrics_timer(struct metrics *, enum metrics_timer, int64_t);
void	metrics_batch(struct metrics *, size_t, int64_t);
void	metrics_render(struct metrics *, struct buf *);
int64_t	metrics_monotonic(void);

/* server.c: the daemon's state, set-up, signals and shutdown */
struct server {
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct evconnlistener	*listener;
	struct config		*cf;
	struct ingest		*ingest;
	struct ledger		*reader;	/* read-only, loop thread */
	struct json_tokener	*tok;		/* request bodies, loop thread */
	struct rate_bucket	*rates;		/* one per cf->tokens, loop */
	struct outbox		*outbox;	/* the writer's on_claim hook */
	struct push		*push;		/* outbox -> sinks */
	struct alog		*alog;		/* access log, or NULL: off */
	struct metrics		 metrics;
	unsigned		 nconns;
	int			 paused;	/* listener off at the cap */
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

/* push.c: the outbox to the sinks, libcurl multi on the loop */
struct push	*push_new(struct server *, char *, size_t);
void		 push_kick(struct push *);
void		 push_metrics(struct push *, struct buf *);
void		 push_free(struct push *);

/* feed.c: GET /v1/changes, the differential change feed */
void	feed_changes(struct server *, struct evhttp_request *);

/* api.c: the read API */
void	api_evidence_list(struct server *, struct evhttp_request *);
void	api_healthz(struct server *, struct evhttp_request *);
void	api_claims(struct server *, struct evhttp_request *, const char *);
void	api_metrics(struct server *, struct evhttp_request *);
enum role api_auth(struct server *, struct evhttp_request *, enum role);

/* api-milestones.c: GET /v1/milestones[/{id}] */
void	api_milestones(struct server *, struct evhttp_request *, const char *);

/* api-gates.c: GET /v1/gates/{service}/{environment}, exceptions */
void	gates_route(struct server *, struct evhttp_request *, const char *);
void	gates_metrics(struct server *, struct buf *);
int	gates_watermark(struct server *, const char *, int64_t, char *,
	    size_t);
void	gates_simulate(struct server *, struct evhttp_request *, const char *);

/* api-services.c: GET /v1/services */
void	api_services(struct server *, struct evhttp_request *);

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

#endif /* MILEPOSTD_H */
