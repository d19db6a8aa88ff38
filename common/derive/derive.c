/*
 * derive.c: the one entry point of derivation.
 *
 * The receiver's writer calls derive_apply for each evidence it stores,
 * derive_flush once per batch before COMMIT, and derive_abort when the
 * batch rolls back; `milepost claims rebuild` calls derive_rebuild, which
 * replays the ledger through the same three calls.  The batch order is
 * stated here and nowhere else: the claims engine first (lifecycle and
 * computed claims, and the deployment machine it drives), then milestones,
 * which read the Deployment revisions the engine wrote in that batch and
 * the Slo revisions slo.c wrote before them (SLOs read only evidence).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive/derive.h"

struct derive {
	const struct rules	*rules;
	struct engine		*engine;
	struct milestones	*milestones;	/* NULL: none declared */
	struct slos		*slos;		/* NULL: none declared */
};

/*
 * Derivation over rules and mc (both borrowed; they must outlive it; mc
 * may be NULL).  The caches it keeps belong to one ledger handle's
 * thread.
 */
struct derive *
derive_new(const struct rules *rules, const struct milestone_conf *mc)
{
	struct derive	*d;

	d = xcalloc(1, sizeof(*d));
	d->rules = rules;
	d->engine = engine_new(rules);
	d->milestones = mc != NULL && mc->nms > 0 ? milestone_new(mc) : NULL;
	d->slos = rules->slos != NULL && rules->slos->nslo > 0 ?
	    slo_new(rules->slos) : NULL;
	return (d);
}

void
derive_free(struct derive *d)
{
	if (d == NULL)
		return;
	engine_free(d->engine);
	milestone_free(d->milestones);
	slo_free(d->slos);
	free(d);
}

/* One stored evidence, in the open transaction.  Returns 0 or -1. */
int
derive_apply(struct derive *d, struct ledger *l, const struct evidence *ev)
{
	if (engine_apply(d->engine, l, ev) == -1)
		return (-1);
	if (d->milestones != NULL && milestone_apply(d->milestones, l, ev) == -1)
		return (-1);
	if (d->slos != NULL && slo_apply(d->slos, l, ev) == -1)
		return (-1);
	if (gate_apply(d->rules, l, ev) == -1)
		return (-1);
	return (0);
}

/*
 * The end of a batch whose transaction time is recorded_at, before
 * COMMIT: computed claims and releases, then milestones.  Returns 0 or -1.
 */
int
derive_flush(struct derive *d, struct ledger *l, int64_t recorded_at)
{
	if (engine_flush(d->engine, l, recorded_at) == -1)
		return (-1);
	/* SLOs read only evidence; milestones read their revisions. */
	if (d->slos != NULL && slo_flush(d->slos, l, recorded_at) == -1)
		return (-1);
	/* Milestones last: they read this batch's Deployment and Slo revisions. */
	if (d->milestones != NULL &&
	    milestone_flush(d->milestones, l, recorded_at) == -1)
		return (-1);
	return (0);
}

/* The batch rolled back: drop every cache that may hold its state. */
void
derive_abort(struct derive *d)
{
	engine_abort(d->engine);
	if (d->milestones != NULL)
		milestone_abort(d->milestones);
	if (d->slos != NULL)
		slo_abort(d->slos);
}

/* Does any claim depend on evidence (lifecycle or computed claims)? */
int
derive_active(const struct derive *d)
{
	return (engine_active(d->engine) || d->milestones != NULL ||
	    d->slos != NULL || (d->rules->gates != NULL &&
	    d->rules->gates->declared));
}

struct rebuild_walk {
	struct ledger		*l;
	struct derive		*d;
	struct claims_rebuild	*r;
	int64_t			 txn;		/* recorded_at of the group */
	int			 failed;
};

static int
derive_rebuild_one(const struct evidence *ev, void *arg)
{
	struct rebuild_walk	*w = arg;

	/* One daemon transaction = the evidence sharing a recorded_at. */
	if (w->r->evidence > 0 && ev->recorded_at != w->txn &&
	    derive_flush(w->d, w->l, w->txn) == -1)
		goto fail;
	w->txn = ev->recorded_at;
	ledger_rebuild_seq(w->l, ev->seq);
	if (derive_apply(w->d, w->l, ev) == -1)
		goto fail;
	w->r->evidence++;
	return (0);
fail:
	w->failed = 1;
	return (-1);
}

static int
derive_count_rev(const struct claim *c, void *arg)
{
	(*(int64_t *)arg) += c->revision;
	return (0);
}

/*
 * Recompute every claim from the ledger, replaying it transaction by
 * transaction into shadow tables, and compare with what is stored,
 * deriving the Milestone claims of mc (may be NULL) too.  Returns 0 when
 * they are equal, 1 with r->diff naming the first difference, -1 on a
 * storage error.  Nothing stored is changed; l may be (and should be) a
 * read-only handle.
 */
int
derive_rebuild(struct ledger *l, const struct rules *t,
    const struct milestone_conf *mc, struct claims_rebuild *r)
{
	struct rebuild_walk	w;
	const char		**types;
	size_t			i, n = 0;
	int			rc;

	memset(r, 0, sizeof(*r));
	if (ledger_rebuild_begin(l) == -1) {
		snprintf(r->diff, sizeof(r->diff), "%s", ledger_error(l));
		return (-1);
	}
	memset(&w, 0, sizeof(w));
	w.l = l;
	w.d = derive_new(t, mc);
	w.r = r;
	if (ledger_scan(l, 0, 0, derive_rebuild_one, &w) == -1 ||
	    (r->evidence > 0 && derive_flush(w.d, l, w.txn) == -1)) {
		snprintf(r->diff, sizeof(r->diff), "%s", ledger_error(l));
		derive_free(w.d);
		return (-1);
	}
	derive_free(w.d);
	for (i = 0; i < t->ncl; i++)
		ledger_claim_list(l, t->cl[i].t.name, NULL, 0, INT64_MAX,
		    derive_count_rev, &r->revisions);
	for (i = 0; i < t->ncc; i++)
		ledger_claim_list(l, t->cc[i].name, NULL, 0, INT64_MAX,
		    derive_count_rev, &r->revisions);
	/*
	 * Compare only the types this configuration derives: a claim type
	 * it does not declare (a computed claim of another file, given
	 * --ledger alone) cannot be rebuilt, and is not a difference.
	 */
	types = xcalloc(t->ncl + t->ncc + 8, sizeof(*types));
	for (i = 0; i < t->ncl; i++)
		types[n++] = t->cl[i].t.name;
	for (i = 0; i < t->ncc; i++)
		types[n++] = t->cc[i].name;
	types[n++] = "Deployment";
	types[n++] = "DeploymentRejection";
	types[n++] = "Release";
	if (mc != NULL && mc->nms > 0) {
		types[n++] = "Milestone";
		types[n++] = "MilestoneUnknown";
	}
	if (t->slos != NULL && t->slos->nslo > 0)
		types[n++] = "Slo";
	if (t->gates != NULL && t->gates->declared)
		types[n++] = "GateViolation";
	rc = ledger_rebuild_diff(l, types, r->diff, sizeof(r->diff),
	    r->skipped, sizeof(r->skipped));
	free(types);
	if (rc == -1) {
		snprintf(r->diff, sizeof(r->diff), "%s", ledger_error(l));
		return (-1);
	}
	return (r->diff[0] != '\0');
}
