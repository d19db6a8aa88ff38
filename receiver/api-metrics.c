/*
 * api-metrics.c: Prometheus counters and histograms.  All fields are atomics,
 * bumped by the loop (requests) and the writer (batches) without locks.
 */
#include <stdio.h>

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
	[REJECT_ALIAS] = "unknown_alias",
};

/* Commit latency bucket bounds, in microseconds. */
static const uint64_t lat_bounds[METRICS_LAT_BUCKETS] = {
	250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000,
	500000, 1000000,
};

void
metrics_reject(struct metrics *m, enum reject_reason r)
{
	atomic_fetch_add(&m->rejected[r], 1);
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
	buf_printf(b, "# HELP milepost_alias_misses_total Evidence naming a "
	    "service the catalog has no alias for, by source.\n"
	    "# TYPE milepost_alias_misses_total counter\n");
	for (i = 0; i <= source_count() && i < METRICS_SOURCES; i++)
		buf_printf(b, "milepost_alias_misses_total{source=\"%s\"} %llu\n",
		    i < source_count() ? source_table[i]->name : "agent",
		    (unsigned long long)atomic_load(&m->alias_misses[i ==
		    source_count() ? METRICS_SOURCES : i]));
	buf_printf(b, "# HELP milepost_connections Open client connections.\n"
	    "# TYPE milepost_connections gauge\nmilepost_connections %llu\n",
	    (unsigned long long)atomic_load(&m->connections));
}
