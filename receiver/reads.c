/*
 * reads.c: reads too large for the event loop (DORA and the delivery
 * metrics over long periods) run on a thread of their own, with a
 * read-only ledger handle of their own (WAL: it reads beside the
 * writer).  The loop hands a job over with reads_submit and replies when
 * the job comes back (event_active wakes it), so one slow read never
 * stalls ingest, the other reads or /healthz.
 *
 * Ownership: a job belongs to the loop until reads_submit queues it, to
 * the reader thread until it is on the done queue, then to the loop,
 * which calls its done callback (the reply) and frees it.  Jobs queued
 * beyond READS_QUEUE_MAX are refused (the caller answers 503).
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milepostd.h"

#define READS_QUEUE_MAX	64	/* jobs waiting; beyond: 503 */

struct reads_job {
	TAILQ_ENTRY(reads_job)	 entry;
	reads_run_cb		 run;
	reads_done_cb		 done;
	void			*arg;
	struct evhttp_request	*req;
	json_object		*result;	/* run's, taken by done */
};
TAILQ_HEAD(reads_queue, reads_job);

struct reads {
	struct server		*srv;
	struct ledger		*ledger;	/* the thread's, read-only */
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct reads_queue	 todo;		/* loop -> thread */
	struct reads_queue	 done;		/* thread -> loop */
	size_t			 queued;	/* loop only: waiting or running */
	uint64_t		 total;		/* loop only: answered */
	int			 stopping;
	struct event		*ev;		/* wakes the loop */
};

/* The reader thread: run each job, hand it back, wake the loop. */
static void *
reads_main(void *arg)
{
	struct reads		*r = arg;
	struct reads_job	*job;

	pthread_mutex_lock(&r->mtx);
	for (;;) {
		while (!r->stopping && TAILQ_EMPTY(&r->todo))
			pthread_cond_wait(&r->cond, &r->mtx);
		if (r->stopping)
			break;
		job = TAILQ_FIRST(&r->todo);
		TAILQ_REMOVE(&r->todo, job, entry);
		pthread_mutex_unlock(&r->mtx);
		job->result = job->run(r->ledger, job->arg);
		pthread_mutex_lock(&r->mtx);
		TAILQ_INSERT_TAIL(&r->done, job, entry);
		event_active(r->ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&r->mtx);
	return (NULL);
}

/* On the loop: reply to every job that came back. */
static void
reads_ready(evutil_socket_t fd, short what, void *arg)
{
	struct reads		*r = arg;
	struct reads_queue	 done;
	struct reads_job	*job;

	TAILQ_INIT(&done);
	pthread_mutex_lock(&r->mtx);
	TAILQ_CONCAT(&done, &r->done, entry);
	pthread_mutex_unlock(&r->mtx);
	while ((job = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, job, entry);
		r->queued--;
		r->total++;
		job->done(r->srv, job->req, job->result, job->arg);
		free(job);
	}
}

/*
 * Start the reader thread with its own read-only handle on url.  Returns
 * the reads, or NULL with err set.
 */
struct reads *
reads_new(struct server *srv, const char *url, char *err, size_t errlen)
{
	struct reads	*r;

	r = xcalloc(1, sizeof(*r));
	r->srv = srv;
	TAILQ_INIT(&r->todo);
	TAILQ_INIT(&r->done);
	if ((r->ledger = ledger_open(url, LEDGER_RDONLY, err, errlen)) ==
	    NULL) {
		free(r);
		return (NULL);
	}
	pthread_mutex_init(&r->mtx, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->ev = event_new(srv->base, -1, 0, reads_ready, r);
	if (r->ev == NULL || pthread_create(&r->thread, NULL, reads_main,
	    r) != 0) {
		snprintf(err, errlen, "cannot start the reader thread");
		if (r->ev != NULL)
			event_free(r->ev);
		ledger_close(r->ledger);
		pthread_mutex_destroy(&r->mtx);
		pthread_cond_destroy(&r->cond);
		free(r);
		return (NULL);
	}
	return (r);
}

/*
 * Queue run(ledger, arg) for the reader thread; done(srv, req, result,
 * arg) is called on the loop with run's result (taken), and must reply
 * and free arg.  Returns 0, or -1 when READS_QUEUE_MAX jobs wait already
 * (nothing is queued; arg stays the caller's).
 */
int
reads_submit(struct reads *r, struct evhttp_request *req, reads_run_cb run,
    reads_done_cb done, void *arg)
{
	struct reads_job	*job;

	if (r->queued >= READS_QUEUE_MAX)
		return (-1);
	job = xcalloc(1, sizeof(*job));
	job->run = run;
	job->done = done;
	job->arg = arg;
	job->req = req;
	r->queued++;
	pthread_mutex_lock(&r->mtx);
	TAILQ_INSERT_TAIL(&r->todo, job, entry);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
	return (0);
}

/*
 * Stop the thread (after the job it runs, if any) and drop what was not
 * answered: done is called with a NULL request, to free its argument and
 * the result.
 */
void
reads_free(struct reads *r)
{
	struct reads_job	*job;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mtx);
	r->stopping = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
	pthread_join(r->thread, NULL);
	TAILQ_CONCAT(&r->todo, &r->done, entry);
	while ((job = TAILQ_FIRST(&r->todo)) != NULL) {
		TAILQ_REMOVE(&r->todo, job, entry);
		job->done(r->srv, NULL, job->result, job->arg);
		free(job);
	}
	event_free(r->ev);
	ledger_close(r->ledger);
	pthread_mutex_destroy(&r->mtx);
	pthread_cond_destroy(&r->cond);
	free(r);
}

/* The reader thread's series for GET /metrics (on the loop). */
void
reads_metrics(struct reads *r, struct buf *b)
{
	buf_printf(b, "# HELP milepost_reads_in_flight Large reads (metrics) "
	    "queued or running off the event loop.\n"
	    "# TYPE milepost_reads_in_flight gauge\n"
	    "milepost_reads_in_flight %zu\n", r->queued);
	buf_printf(b, "# HELP milepost_reads_total Large reads answered from "
	    "the reader thread.\n# TYPE milepost_reads_total counter\n"
	    "milepost_reads_total %llu\n", (unsigned long long)r->total);
}
