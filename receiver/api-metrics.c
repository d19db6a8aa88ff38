/*
 * api-metrics.c: Prometheus counters and histograms.  All fields are atomics,
 * bumped by the loop (requests) and the writer (batches) without locks.
 *
 * Label values are bounded by construction: a source is one of the source
 * table's names, agent, milepostd (the daemon's own evidence) or api (the
 * read endpoints); an evidence type is one of the configured types; any
 * other name is counted as "other".  Labelled series appear once non-zero.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milepostd.h"

static const char *reject_names[REJECT_MAX] = {
	[REJECT_SIZE] = "size",
	[REJECT_SIGNATURE] = "signature",
	[REJECT_SYNTAX] = "syntax",
	[REJECT_TYPE] = "type",
	[REJECT_OVERLOAD] = "overload",
	[REJECT_AUTH] = "auth",
	[REJECT_NOTFOUND] = "not_found",
	[REJECT_METHOD] = "method",
	[REJECT_STORAGE] = "storage",
	[REJECT_UNCONFIGURED] = "unconfigured_source",
	[REJECT_RATE] = "rate",
	[REJECT_AMBIGUOUS] = "ambiguous",
	[REJECT_ALIAS] = "unknown_alias",
};

/* Commit latency bucket bounds, in microseconds. */
static const uint64_t lat_bounds[METRICS_LAT_BUCKETS] = {
	250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000,
	500000, 1000000,
};

/* The sources named before the source table's; "other" comes last. */
static const char *const metrics_own_sources[] = { "agent", "milepostd",
    "api" };
#define METRICS_NOWN	(sizeof(metrics_own_sources) / \
			    sizeof(metrics_own_sources[0]))

static const char *metrics_timer_names[METRICS_TIMER_MAX] = {
	[METRICS_TIMER_STALL] = "stall",
	[METRICS_TIMER_CLOCK] = "milestone_clock",
};

/* Microseconds of a clock that never steps back. */
int64_t
metrics_monotonic(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* The label of source index i (i < m->nsrc). */
static const char *
metrics_source_name(const struct metrics *m, size_t i)
{
	if (i < METRICS_NOWN)
		return (metrics_own_sources[i]);
	if (i + 1 < m->nsrc)
		return (source_table[i - METRICS_NOWN]->name);
	return ("other");
}

/* The index of source name (NULL: api); unknown names are "other". */
static size_t
metrics_source(const struct metrics *m, const char *name)
{
	const struct mp_source	*src;
	size_t			 i;

	if (name == NULL)
		return (2);
	for (i = 0; i < METRICS_NOWN; i++)
		if (strcmp(name, metrics_own_sources[i]) == 0)
			return (i);
	if ((src = source_find(name)) != NULL)
		return (METRICS_NOWN + source_index(src));
	return (m->nsrc - 1);
}

/*
 * Size the labelled series for the source table and types (borrowed;
 * they must outlive m).  Before this, and after metrics_free, the
 * labelled counters are not kept.
 */
void
metrics_init(struct metrics *m, const struct types *types)
{
	m->types = types;
	m->nsrc = METRICS_NOWN + source_count() + 1;
	m->ntype = (types != NULL ? types->nev : 0) + 1;
	m->rej_src = xcalloc(m->nsrc * REJECT_MAX, sizeof(*m->rej_src));
	m->ev_src = xcalloc(m->nsrc * m->ntype, sizeof(*m->ev_src));
	m->alias_miss = xcalloc(m->nsrc, sizeof(*m->alias_miss));
	m->last_delivery = xcalloc(m->nsrc, sizeof(*m->last_delivery));
}

void
metrics_free(struct metrics *m)
{
	free(m->rej_src);
	free(m->ev_src);
	free(m->alias_miss);
	free(m->last_delivery);
	m->rej_src = m->ev_src = m->alias_miss = NULL;
	m->last_delivery = NULL;
}

void
metrics_reject(struct metrics *m, enum reject_reason r)
{
	metrics_reject_source(m, NULL, r);
}

/* A request from source (NULL: a read endpoint) refused for reason r. */
void
metrics_reject_source(struct metrics *m, const char *source,
    enum reject_reason r)
{
	atomic_fetch_add(&m->rejected[r], 1);
	if (m->rej_src != NULL)
		atomic_fetch_add(&m->rej_src[metrics_source(m, source) *
		    REJECT_MAX + r], 1);
}

/* One evidence of type from source was stored (not a duplicate). */
void
metrics_evidence(struct metrics *m, const char *source, const char *type)
{
	const struct evtype	*et;
	size_t			 t;

	if (m->ev_src == NULL)
		return;
	if ((et = types_find(m->types, type)) != NULL)
		t = (size_t)(et - m->types->ev);
	else
		t = m->ntype - 1;
	atomic_fetch_add(&m->ev_src[metrics_source(m, source) * m->ntype + t],
	    1);
}

/*
 * A genuine delivery (its signature or credential verified) came from
 * source, whatever became of it: stored, a duplicate or ignored.  Read as
 * milepost_source_last_delivery_age_seconds{source}, so that a sender
 * that stopped (PagerDuty disables a failing subscription) shows.
 */
void
metrics_delivery(struct metrics *m, const char *source)
{
	if (m->last_delivery != NULL)
		atomic_store(&m->last_delivery[metrics_source(m, source)],
		    (int_fast64_t)time(NULL));
}

/*
 * A name from source found no alias in the service catalog and was kept
 * as it is (milepost_alias_misses_total{source}).
 */
void
metrics_alias_miss(struct metrics *m, const char *source)
{
	if (m->alias_miss != NULL)
		atomic_fetch_add(&m->alias_miss[metrics_source(m, source)], 1);
}

/*
 * Timer t fires; it is meant to fire every interval microseconds.  Its
 * lag is how much later than that it came (0 for the first tick).
 */
void
metrics_timer(struct metrics *m, enum metrics_timer t, int64_t interval)
{
	int64_t	now = metrics_monotonic(), last, lag = 0;

	last = atomic_exchange(&m->timer_last[t], now);
	if (last != 0 && (lag = now - last - interval) < 0)
		lag = 0;
	atomic_store(&m->timer_lag[t], lag);
	if (lag > atomic_load(&m->timer_lag_max[t]))
		atomic_store(&m->timer_lag_max[t], lag);
	atomic_fetch_add(&m->timer_ticks[t], 1);
}

static void
metrics_render_labelled(struct metrics *m, struct buf *b)
{
	uint64_t	v;
	size_t		i, j;
	int64_t		t, now = (int64_t)time(NULL);

	buf_adds(b, "# HELP milepost_rejections_total Requests refused, by "
	    "source and reason.\n# TYPE milepost_rejections_total counter\n");
	for (i = 0; m->rej_src != NULL && i < m->nsrc; i++)
		for (j = 0; j < REJECT_MAX; j++)
			if ((v = atomic_load(&m->rej_src[i * REJECT_MAX + j])))
				buf_printf(b, "milepost_rejections_total"
				    "{source=\"%s\",reason=\"%s\"} %llu\n",
				    metrics_source_name(m, i), reject_names[j],
				    (unsigned long long)v);
	buf_adds(b, "# HELP milepost_evidence_stored_total Evidence stored, "
	    "by source and type.\n"
	    "# TYPE milepost_evidence_stored_total counter\n");
	for (i = 0; m->ev_src != NULL && i < m->nsrc; i++)
		for (j = 0; j < m->ntype; j++)
			if ((v = atomic_load(&m->ev_src[i * m->ntype + j])))
				buf_printf(b, "milepost_evidence_stored_total{"
				    "source=\"%s\",type=\"%s\"} %llu\n",
				    metrics_source_name(m, i),
				    j + 1 < m->ntype ? m->types->ev[j].name :
				    "other",
				    (unsigned long long)v);
	buf_adds(b, "# HELP milepost_alias_misses_total Names no alias of "
	    "the service catalog matched, kept as they are.\n"
	    "# TYPE milepost_alias_misses_total counter\n");
	for (i = 0; m->alias_miss != NULL && i < m->nsrc; i++)
		if ((v = atomic_load(&m->alias_miss[i])))
			buf_printf(b, "milepost_alias_misses_total{source="
			    "\"%s\"} %llu\n", metrics_source_name(m, i),
			    (unsigned long long)v);
	buf_adds(b, "# HELP milepost_source_last_delivery_age_seconds "
	    "Seconds since the last genuine delivery from the source, since "
	    "start.\n# TYPE milepost_source_last_delivery_age_seconds gauge\n");
	for (i = 0; m->last_delivery != NULL && i < m->nsrc; i++)
		if ((t = atomic_load(&m->last_delivery[i])) > 0)
			buf_printf(b, "milepost_source_last_delivery_age_seconds"
			    "{source=\"%s\"} %lld\n", metrics_source_name(m, i),
			    (long long)(now > t ? now - t : 0));
	buf_adds(b, "# HELP milepost_timer_lag_seconds How late the timer's "
	    "last tick came.\n# TYPE milepost_timer_lag_seconds gauge\n");
	for (i = 0; i < METRICS_TIMER_MAX; i++)
		if (atomic_load(&m->timer_ticks[i]) > 0)
			buf_printf(b, "milepost_timer_lag_seconds{timer="
			    "\"%s\"} %.6f\n", metrics_timer_names[i],
			    (double)atomic_load(&m->timer_lag[i]) / 1e6);
	buf_adds(b, "# HELP milepost_timer_lag_max_seconds The largest lag "
	    "since start.\n# TYPE milepost_timer_lag_max_seconds gauge\n");
	for (i = 0; i < METRICS_TIMER_MAX; i++)
		if (atomic_load(&m->timer_ticks[i]) > 0)
			buf_printf(b, "milepost_timer_lag_max_seconds{timer="
			    "\"%s\"} %.6f\n", metrics_timer_names[i],
			    (double)atomic_load(&m->timer_lag_max[i]) / 1e6);
	buf_adds(b, "# HELP milepost_timer_ticks_total Times the timer ran.\n"
	    "# TYPE milepost_timer_ticks_total counter\n");
	for (i = 0; i < METRICS_TIMER_MAX; i++)
		if ((v = atomic_load(&m->timer_ticks[i])))
			buf_printf(b, "milepost_timer_ticks_total{timer="
			    "\"%s\"} %llu\n", metrics_timer_names[i],
			    (unsigned long long)v);
	buf_printf(b, "# HELP milepost_access_log_lines_total Access log "
	    "lines written.\n# TYPE milepost_access_log_lines_total counter\n"
	    "milepost_access_log_lines_total %llu\n"
	    "# HELP milepost_access_log_dropped_total Access log lines "
	    "dropped: the buffer was full.\n"
	    "# TYPE milepost_access_log_dropped_total counter\n"
	    "milepost_access_log_dropped_total %llu\n",
	    (unsigned long long)atomic_load(&m->alog_lines),
	    (unsigned long long)atomic_load(&m->alog_dropped));
}

/* Record one committed batch of n evidence that took us microseconds. */
void
metrics_batch(struct metrics *m, size_t n, int64_t us)
{
	size_t	i;

	atomic_fetch_add(&m->batches, 1);
	atomic_fetch_add(&m->batch_sum, n);
	for (i = 0; i < METRICS_BATCH_BUCKETS; i++)
		if (n <= ((size_t)1 << i)) {
			atomic_fetch_add(&m->batch_bucket[i], 1);
			break;
		}
	atomic_fetch_add(&m->commit_us_sum, (uint64_t)us);
	for (i = 0; i < METRICS_LAT_BUCKETS; i++)
		if ((uint64_t)us <= lat_bounds[i]) {
			atomic_fetch_add(&m->commit_bucket[i], 1);
			break;
		}
}

void
metrics_render(struct metrics *m, struct buf *b)
{
	uint64_t	cum, count;
	size_t		i;

	buf_adds(b, "# HELP milepost_evidence_accepted_total Evidence stored "
	    "durably.\n# TYPE milepost_evidence_accepted_total counter\n");
	buf_printf(b, "milepost_evidence_accepted_total %llu\n",
	    (unsigned long long)atomic_load(&m->accepted));
	buf_adds(b, "# HELP milepost_evidence_duplicates_total Redeliveries "
	    "of stored evidence.\n"
	    "# TYPE milepost_evidence_duplicates_total counter\n");
	buf_printf(b, "milepost_evidence_duplicates_total %llu\n",
	    (unsigned long long)atomic_load(&m->duplicates));
	buf_adds(b, "# HELP milepost_requests_rejected_total Requests refused, "
	    "by reason.\n# TYPE milepost_requests_rejected_total counter\n");
	for (i = 0; i < REJECT_MAX; i++)
		buf_printf(b, "milepost_requests_rejected_total{reason=\"%s\"} "
		    "%llu\n", reject_names[i],
		    (unsigned long long)atomic_load(&m->rejected[i]));

	buf_adds(b, "# HELP milepost_batch_size Evidence per committed "
	    "transaction.\n# TYPE milepost_batch_size histogram\n");
	count = atomic_load(&m->batches);
	for (i = 0, cum = 0; i < METRICS_BATCH_BUCKETS; i++) {
		cum += atomic_load(&m->batch_bucket[i]);
		buf_printf(b, "milepost_batch_size_bucket{le=\"%zu\"} %llu\n",
		    (size_t)1 << i, (unsigned long long)cum);
	}
	buf_printf(b, "milepost_batch_size_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)count);
	buf_printf(b, "milepost_batch_size_sum %llu\n",
	    (unsigned long long)atomic_load(&m->batch_sum));
	buf_printf(b, "milepost_batch_size_count %llu\n",
	    (unsigned long long)count);

	buf_adds(b, "# HELP milepost_commit_seconds Time to append and commit "
	    "(fsync) one batch.\n# TYPE milepost_commit_seconds histogram\n");
	for (i = 0, cum = 0; i < METRICS_LAT_BUCKETS; i++) {
		cum += atomic_load(&m->commit_bucket[i]);
		buf_printf(b, "milepost_commit_seconds_bucket{le=\"%g\"} %llu\n",
		    (double)lat_bounds[i] / 1e6, (unsigned long long)cum);
	}
	buf_printf(b, "milepost_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)count);
	buf_printf(b, "milepost_commit_seconds_sum %.6f\n",
	    (double)atomic_load(&m->commit_us_sum) / 1e6);
	buf_printf(b, "milepost_commit_seconds_count %llu\n",
	    (unsigned long long)count);
	buf_printf(b, "# HELP milepost_commit_failures_total Batches rolled "
	    "back on a storage error.\n"
	    "# TYPE milepost_commit_failures_total counter\n"
	    "milepost_commit_failures_total %llu\n",
	    (unsigned long long)atomic_load(&m->commit_failures));
	buf_printf(b, "# HELP milepost_ledger_sequence Last committed sequence "
	    "number.\n# TYPE milepost_ledger_sequence gauge\n"
	    "milepost_ledger_sequence %lld\n",
	    (long long)atomic_load(&m->ledger_seq));
	buf_printf(b, "# HELP milepost_queue_depth Evidence waiting for the "
	    "writer.\n# TYPE milepost_queue_depth gauge\n"
	    "milepost_queue_depth %llu\n",
	    (unsigned long long)atomic_load(&m->queue_depth));
	buf_printf(b, "# HELP milepost_hooks_ignored_total Genuine deliveries "
	    "of events Milepost does not use.\n"
	    "# TYPE milepost_hooks_ignored_total counter\n"
	    "milepost_hooks_ignored_total %llu\n",
	    (unsigned long long)atomic_load(&m->hooks_ignored));
	buf_printf(b, "# HELP milepost_connections_shed_total Connections "
	    "closed at a cap or a header/body deadline.\n"
	    "# TYPE milepost_connections_shed_total counter\n"
	    "milepost_connections_shed_total %llu\n"
	    "# HELP milepost_reloads_total Configuration reloads (SIGHUP) "
	    "applied.\n# TYPE milepost_reloads_total counter\n"
	    "milepost_reloads_total %llu\n"
	    "# HELP milepost_reload_failures_total Reloads refused (the "
	    "running configuration kept).\n"
	    "# TYPE milepost_reload_failures_total counter\n"
	    "milepost_reload_failures_total %llu\n",
	    (unsigned long long)atomic_load(&m->shed),
	    (unsigned long long)atomic_load(&m->reloads),
	    (unsigned long long)atomic_load(&m->reload_failures));
	buf_printf(b, "# HELP milepost_connections Open client connections.\n"
	    "# TYPE milepost_connections gauge\nmilepost_connections %llu\n",
	    (unsigned long long)atomic_load(&m->connections));
	metrics_render_labelled(m, b);
}
