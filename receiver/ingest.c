/*
 * ingest.c: the writer thread and its group commit.
 *
 * The event loop submits requests (already verified and validated); the
 * writer takes everything that has queued, up to batch_max evidence,
 * appends it in one transaction and commits with fsync, then hands the
 * batch back as completions and wakes the loop, which replies.  Batches
 * therefore grow with load and no timer is involved: under light load a
 * request is committed alone, at once.  The loop never waits on disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milepostd.h"

struct ingest {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct ingest_queue	 queue;		/* loop -> writer */
	struct ingest_queue	 done;		/* writer -> loop */
	struct ingest_jobq	 jobs;		/* loop -> writer */
	struct ingest_jobq	 jobs_done;	/* writer -> loop */
	size_t			 queued;	/* evidence in queue */
	size_t			 inflight;	/* requests, loop side */
	int			 stop;
	int			 started;
	const struct limits	*limits;
	struct ledger		*ledger;	/* writer thread only */
	struct derive		*derive;	/* writer thread only */
	struct config		*cur;		/* loop: set by a reload */
	struct config		*next;		/* mtx: for the writer to take */
	struct config		*wcf;		/* writer: what derive uses */
	struct metrics		*metrics;
	struct buf		 zbuf;		/* writer: a compressed payload */
	struct event		*ev_done;
	ingest_done_cb		 cb;
	void			*cbarg;
};

void
ingest_req_free(struct ingest_req *ir)
{
	size_t	i;

	if (ir == NULL)
		return;
	for (i = 0; i < ir->nev; i++)
		evidence_free(ir->ev[i]);
	free(ir->ev);
	free(ir->dup);
	free(ir->raw_delivery);
	free(ir->raw);
	free(ir->ctx);
	free(ir->warn);
	config_free(ir->cf);
	free(ir);
}

/*
 * On the loop, after a reload: cf (a reference is taken) is what new
 * requests hold on to, and what the writer takes at its next batch.
 */
void
ingest_set_config(struct ingest *in, struct config *cf)
{
	struct config	*old;

	config_free(in->cur);
	in->cur = config_ref(cf);
	pthread_mutex_lock(&in->mtx);
	old = in->next;
	in->next = config_ref(cf);
	pthread_mutex_unlock(&in->mtx);
	config_free(old);
}

/*
 * On the writer, between batches: take the configuration a reload left
 * (derivation rebuilt on its rules; its caches reload from the ledger, as
 * after a rolled-back batch).  Called with mtx held; drops it meanwhile.
 */
static void
ingest_take_config(struct ingest *in)
{
	struct config	*cf = in->next, *old = in->wcf;

	in->next = NULL;
	in->limits = &cf->limits;
	pthread_mutex_unlock(&in->mtx);
	derive_free(in->derive);
	in->derive = derive_new(cf->rules, cf->milestones);
	in->wcf = cf;
	config_free(old);
	pthread_mutex_lock(&in->mtx);
}

/* Keep a source's raw payload, compressed (payload.c), beside its evidence. */
static int
ingest_raw(struct ingest *in, struct ingest_req *ir, int64_t now, int ifnew)
{
	if (payload_compress(ir->raw, ir->rawlen, &in->zbuf) == -1)
		return (-1);
	return (ledger_raw_put(in->ledger, ir->raw_source,
	    ir->raw_delivery, now, PAYLOAD_ENCODING, in->zbuf.data,
	    in->zbuf.len, ifnew));
}

static int64_t
ingest_monotonic_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/*
 * Append and commit one batch.  On any storage error the whole batch is
 * rolled back and every request in it is marked failed (the clients get a
 * 503 and retry); nothing of it was acknowledged.
 */
static void
ingest_commit(struct ingest *in, struct ingest_queue *batch, size_t nev,
    struct ingest_jobq *jobs)
{
	struct ingest_req	*ir;
	struct ingest_job	*job;
	int64_t			 t0, now;
	size_t			 i;
	int			 rc, fresh, failed = 0;

	t0 = ingest_monotonic_us();
	now = tf_now();
	if (ledger_begin(in->ledger) == -1) {
		log_warnx("%s: begin: %s", __func__, ledger_error(in->ledger));
		failed = 1;
	} else if (in->ledger->moved)
		derive_abort(in->derive);	/* another replica wrote */
	TAILQ_FOREACH(ir, batch, entry) {
		fresh = 0;
		for (i = 0; !failed && i < ir->nev; i++) {
			ir->ev[i]->recorded_at = now;
			if ((rc = ledger_append(in->ledger, ir->ev[i])) == -1) {
				log_warnx("%s: append: %s", __func__,
				    ledger_error(in->ledger));
				failed = 1;
			}
			ir->dup[i] = rc == 1;
			fresh |= rc == 0;
			/* Claims change in the evidence's transaction. */
			if (rc == 0 && derive_apply(in->derive, in->ledger,
			    ir->ev[i]) == -1) {
				log_warnx("%s: claims: %s", __func__,
				    ledger_error(in->ledger));
				failed = 1;
			}
		}
		/*
		 * The raw payload: at once when its evidence is new, else
		 * only if this delivery id is not kept yet (a redelivery
		 * keeps the first; another delivery of the same events, such
		 * as Jenkins' FINALIZED after COMPLETED, is kept too).
		 */
		if (!failed && ir->raw != NULL &&
		    ingest_raw(in, ir, now, !fresh) == -1) {
			log_warnx("%s: raw payload: %s", __func__,
			    ledger_error(in->ledger));
			failed = 1;
		}
	}
	if (!failed && derive_flush(in->derive, in->ledger, now) == -1) {
		log_warnx("%s: claims: %s", __func__, ledger_error(in->ledger));
		failed = 1;
	}
	/*
	 * Jobs (outbox acknowledgements): a failed one fails only itself,
	 * unless it is atomic (an outbox write and its audit evidence),
	 * whose half-done work must not commit.
	 */
	TAILQ_FOREACH(job, jobs, entry) {
		job->failed = failed || job->run(in->ledger, job->arg) == -1;
		if (job->failed && job->atomic)
			failed = 1;
	}
	if (failed)
		ledger_rollback(in->ledger);
	else if (ledger_commit(in->ledger) == -1) {
		log_warnx("%s: commit: %s", __func__, ledger_error(in->ledger));
		failed = 1;
	}
	if (failed) {
		derive_abort(in->derive);
		atomic_fetch_add(&in->metrics->commit_failures, 1);
		/* /healthz answers 503 until a commit succeeds again. */
		atomic_store(&in->metrics->commit_failing, 1);
		TAILQ_FOREACH(ir, batch, entry)
			ir->failed = 1;
		TAILQ_FOREACH(job, jobs, entry)
			job->failed = 1;
		return;
	}
	atomic_store(&in->metrics->ledger_seq, in->ledger->last_seq);
	atomic_store(&in->metrics->commit_failing, 0);
	if (nev > 0)
		metrics_batch(in->metrics, nev, ingest_monotonic_us() - t0);
	TAILQ_FOREACH(ir, batch, entry)
		for (i = 0; i < ir->nev; i++)
			if (!ir->dup[i])
				metrics_evidence(in->metrics, ir->ev[i]->source,
				    ir->ev[i]->type);
}

static void *
ingest_main(void *arg)
{
	struct ingest		*in = arg;
	struct ingest_queue	 batch;
	struct ingest_jobq	 jobs;
	struct ingest_req	*ir;
	size_t			 nev;

	pthread_mutex_lock(&in->mtx);
	for (;;) {
		while (TAILQ_EMPTY(&in->queue) && TAILQ_EMPTY(&in->jobs) &&
		    !in->stop)
			pthread_cond_wait(&in->cond, &in->mtx);
		if (TAILQ_EMPTY(&in->queue) && TAILQ_EMPTY(&in->jobs))
			break;		/* stopping, and nothing left */
		if (in->next != NULL)
			ingest_take_config(in);
		TAILQ_INIT(&jobs);
		TAILQ_CONCAT(&jobs, &in->jobs, entry);
		/* Take everything queued, up to batch_max evidence. */
		TAILQ_INIT(&batch);
		nev = 0;
		while ((ir = TAILQ_FIRST(&in->queue)) != NULL &&
		    (nev == 0 || nev + ir->nev <= in->limits->batch_max)) {
			TAILQ_REMOVE(&in->queue, ir, entry);
			TAILQ_INSERT_TAIL(&batch, ir, entry);
			nev += ir->nev;
		}
		in->queued -= nev;
		atomic_store(&in->metrics->queue_depth, in->queued);
		pthread_mutex_unlock(&in->mtx);

		ingest_commit(in, &batch, nev, &jobs);

		pthread_mutex_lock(&in->mtx);
		TAILQ_CONCAT(&in->done, &batch, entry);
		TAILQ_CONCAT(&in->jobs_done, &jobs, entry);
		pthread_mutex_unlock(&in->mtx);
		event_active(in->ev_done, EV_READ, 0);

		/* Checkpoint here, between batches, never on the loop. */
		ledger_maintain(in->ledger);
		pthread_mutex_lock(&in->mtx);
	}
	pthread_mutex_unlock(&in->mtx);
	return (NULL);
}

/* On the loop: reply to every completed request. */
static void
ingest_done(evutil_socket_t fd, short what, void *arg)
{
	struct ingest		*in = arg;
	struct ingest_queue	 done;
	struct ingest_jobq	 jobs;
	struct ingest_req	*ir;
	struct ingest_job	*job;

	TAILQ_INIT(&done);
	TAILQ_INIT(&jobs);
	pthread_mutex_lock(&in->mtx);
	TAILQ_CONCAT(&done, &in->done, entry);
	TAILQ_CONCAT(&jobs, &in->jobs_done, entry);
	pthread_mutex_unlock(&in->mtx);
	while ((job = TAILQ_FIRST(&jobs)) != NULL) {
		TAILQ_REMOVE(&jobs, job, entry);
		job->done(job, job->arg);	/* takes job */
	}
	while ((ir = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, ir, entry);
		in->inflight--;
		in->cb(ir, in->cbarg);	/* takes ir */
	}
}

/*
 * Start the writer thread on ledger and derive (both taken: the writer
 * owns and frees them).  cb runs on base's loop for every completed
 * request.
 */
struct ingest *
ingest_new(struct event_base *base, struct ledger *ledger,
    struct derive *derive, const struct limits *limits,
    struct metrics *metrics, ingest_done_cb cb, void *cbarg)
{
	struct ingest	*in;
	int		 error;

	in = xcalloc(1, sizeof(*in));
	pthread_mutex_init(&in->mtx, NULL);
	pthread_cond_init(&in->cond, NULL);
	TAILQ_INIT(&in->queue);
	TAILQ_INIT(&in->done);
	TAILQ_INIT(&in->jobs);
	TAILQ_INIT(&in->jobs_done);
	in->limits = limits;
	in->ledger = ledger;
	in->derive = derive;
	in->metrics = metrics;
	buf_init(&in->zbuf);
	in->cb = cb;
	in->cbarg = cbarg;
	in->ev_done = event_new(base, -1, EV_PERSIST, ingest_done, in);
	if ((error = pthread_create(&in->thread, NULL, ingest_main, in)) != 0)
		fatalx("%s: pthread_create: %s", __func__, strerror(error));
	in->started = 1;
	return (in);
}

/*
 * Queue ir (taken on success) for the writer.  Returns -1, leaving ir with
 * the caller, when the queue already holds queue_max evidence.
 */
int
ingest_submit(struct ingest *in, struct ingest_req *ir)
{
	pthread_mutex_lock(&in->mtx);
	if (in->queued > 0 && in->queued + ir->nev > in->limits->queue_max) {
		pthread_mutex_unlock(&in->mtx);
		return (-1);
	}
	if (in->cur != NULL && ir->cf == NULL)
		ir->cf = config_ref(in->cur);
	TAILQ_INSERT_TAIL(&in->queue, ir, entry);
	in->queued += ir->nev;
	atomic_store(&in->metrics->queue_depth, in->queued);
	pthread_cond_signal(&in->cond);
	pthread_mutex_unlock(&in->mtx);
	in->inflight++;
	return (0);
}

/*
 * Queue ev (a JSON evidence, taken), milepostd's own (source "milepostd",
 * idempotency id id, received at now), for the writer; done runs on the
 * loop once it is stored or found a duplicate.  Returns 0, or -1 (logged)
 * when it is not valid or the queue is full: the timer that made it tries
 * again on its next tick.
 */
int
ingest_submit_own(struct server *srv, json_object *ev, const char *id,
    int64_t now, void (*done)(struct server *, struct ingest_req *))
{
	struct ingest_req	*ir;
	char			 err[MP_ERRLEN], prop[64];
	enum ev_error		 er;

	ir = xcalloc(1, sizeof(*ir));
	ir->ev = xcalloc(1, sizeof(*ir->ev));
	ir->dup = xcalloc(1, sizeof(*ir->dup));
	er = evidence_from_json(ev, srv->cf->types, "milepostd", id, now,
	    &ir->ev[0], err, sizeof(err), prop, sizeof(prop));
	json_object_put(ev);
	if (er != EV_OK) {
		log_warnx("%s: %s: %s %s", __func__, id, err, prop);
		ingest_req_free(ir);
		return (-1);
	}
	ir->nev = 1;
	ir->done = done;
	if (ingest_submit(srv->ingest, ir) == -1) {
		ingest_req_free(ir);
		return (-1);
	}
	return (0);
}

/*
 * Queue job for the writer: job->run runs on the writer inside its next
 * transaction (with or without evidence), then job->done on the loop
 * with job->failed set if that transaction did not commit.  The job
 * belongs to the caller throughout: a job still queued when the writer
 * stops is dropped without a call, and its owner frees it.
 */
void
ingest_job_submit(struct ingest *in, struct ingest_job *job)
{
	job->failed = 0;
	pthread_mutex_lock(&in->mtx);
	TAILQ_INSERT_TAIL(&in->jobs, job, entry);
	pthread_cond_signal(&in->cond);
	pthread_mutex_unlock(&in->mtx);
}

/* Requests submitted and not yet replied to (loop thread). */
size_t
ingest_inflight(struct ingest *in)
{
	return (in->inflight);
}

/* Stop the writer after it has committed everything queued. */
void
ingest_stop(struct ingest *in)
{
	if (in == NULL || !in->started)
		return;
	pthread_mutex_lock(&in->mtx);
	in->stop = 1;
	pthread_cond_signal(&in->cond);
	pthread_mutex_unlock(&in->mtx);
	pthread_join(in->thread, NULL);
	in->started = 0;
}

/* Stop the writer (if not yet) and close its ledger. */
void
ingest_free(struct ingest *in)
{
	struct ingest_req	*ir;

	if (in == NULL)
		return;
	ingest_stop(in);
	while ((ir = TAILQ_FIRST(&in->done)) != NULL) {
		TAILQ_REMOVE(&in->done, ir, entry);
		ingest_req_free(ir);
	}
	derive_free(in->derive);
	config_free(in->wcf);
	config_free(in->next);
	config_free(in->cur);
	buf_free(&in->zbuf);
	ledger_close(in->ledger);
	event_free(in->ev_done);
	pthread_mutex_destroy(&in->mtx);
	pthread_cond_destroy(&in->cond);
	free(in);
}
