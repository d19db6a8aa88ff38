/*
 * ledger.c: the append-only, hash-chained evidence ledger.  This file owns
 * the chain (sequence numbers and hashes) and the verify walk; storage is a
 * backend found by the URL's scheme in ledger_backends[].
 *
 * A ledger handle belongs to one thread.  The receiver's writer thread owns
 * the read-write handle; readers open their own with LEDGER_RDONLY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milepost.h"

static const struct ledger_backend *ledger_backends[] = {
	&ledger_sqlite,
	NULL,
};

struct tip_walk {
	const struct ledger	*l;
	int			 seen;
	int			 bad;
};

static int
ledger_tip_one(const struct evidence *ev, void *arg)
{
	struct tip_walk	*w = arg;

	if (w->seen++ > 0 || ev->seq != w->l->last_seq ||
	    strcmp(ev->hash, w->l->last_hash) != 0) {
		w->bad = 1;
		return (-1);
	}
	return (0);
}

/*
 * Check that the recorded tip is the last stored entry: the entry with
 * the tip's sequence number and hash, and none after it (none at all for
 * an empty tip).  Returns 0 when it is, 1 when not, -1 on a storage error.
 */
static int
ledger_tip_check(struct ledger *l)
{
	struct tip_walk	w = { l, 0, 0 };

	if (l->be->scan(l, l->last_seq > 0 ? l->last_seq - 1 : 0, 2,
	    ledger_tip_one, &w) == -1)
		return (w.bad ? 1 : -1);
	return (w.seen == (l->last_seq > 0 ? 1 : 0) ? 0 : 1);
}

/*
 * Open the ledger at url ("sqlite:PATH").  Returns a new handle, or NULL
 * with err set.  A writable handle loads the chain tip and refuses a ledger
 * whose tip disagrees with its last row.
 */
struct ledger *
ledger_open(const char *url, int flags, char *err, size_t errlen)
{
	const struct ledger_backend	**be;
	struct ledger			 *l;
	const char			 *colon;
	size_t				  n;
	int				  rc;

	if ((colon = strchr(url, ':')) == NULL) {
		snprintf(err, errlen, "%s: not a ledger URL (sqlite:PATH)",
		    url);
		return (NULL);
	}
	n = (size_t)(colon - url);
	for (be = ledger_backends; *be != NULL; be++)
		if (strlen((*be)->scheme) == n &&
		    strncmp((*be)->scheme, url, n) == 0)
			break;
	if (*be == NULL) {
		snprintf(err, errlen, "%s: unknown ledger scheme (sqlite:PATH)",
		    url);
		return (NULL);
	}
	l = xcalloc(1, sizeof(*l));
	l->be = *be;
	l->readonly = (flags & LEDGER_RDONLY) != 0;
	strlcpy(l->last_hash, LEDGER_GENESIS, sizeof(l->last_hash));
	if (l->be->open(l, colon + 1, l->readonly, err, errlen) == -1) {
		free(l);
		return (NULL);
	}
	if (!l->readonly && l->be->head(l, &l->last_seq, l->last_hash) == -1) {
		snprintf(err, errlen, "%s: %s", url, l->be->error(l));
		ledger_close(l);
		return (NULL);
	}
	if (!l->readonly && (rc = ledger_tip_check(l)) != 0) {
		if (rc == 1)
			snprintf(err, errlen, "%s: the ledger's tip (entry "
			    "%lld) is not its last entry; run milepost ledger "
			    "verify", url, (long long)l->last_seq);
		else
			snprintf(err, errlen, "%s: %s", url, l->be->error(l));
		ledger_close(l);
		return (NULL);
	}
	l->pending_seq = l->last_seq;
	memcpy(l->pending_hash, l->last_hash, MP_HASHLEN);
	return (l);
}

void
ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	l->be->close(l);
	free(l);
}

int
ledger_begin(struct ledger *l)
{
	l->pending_seq = l->last_seq;
	memcpy(l->pending_hash, l->last_hash, MP_HASHLEN);
	return (l->be->begin(l));
}

/*
 * Append ev inside the open transaction: assign its sequence number and
 * chain hash, unless (source, id) is already stored.  Returns 0 when
 * stored, 1 for a duplicate (ev->seq is then the stored entry's), -1 on a
 * storage error.  ev->recorded_at must be set by the caller.
 */
int
ledger_append(struct ledger *l, struct evidence *ev)
{
	int	rc;

	ev->seq = l->pending_seq + 1;
	evidence_hash(ev, l->pending_hash, ev->hash);
	if ((rc = l->be->append(l, ev)) == 0) {
		l->pending_seq = ev->seq;
		memcpy(l->pending_hash, ev->hash, MP_HASHLEN);
	}
	return (rc);
}

/*
 * Store one claim revision in the open transaction.  Every derived state
 * change (computed and lifecycle claims, deployments, releases,
 * milestones) goes through here, so the on_claim hook, when set, sees all
 * of them in the same transaction: that is where an outbox or a change
 * feed records them.  A hook that fails fails the transaction.
 */
int
ledger_claim_put(struct ledger *l, const struct claim *c)
{
	if (l->be->claim_put(l, c) == -1)
		return (-1);
	if (l->on_claim != NULL && l->on_claim(l, c, l->on_claim_arg) == -1)
		return (-1);
	return (0);
}

/* Commit the transaction durably; the chain tip moves only on success. */
int
ledger_commit(struct ledger *l)
{
	if (l->pending_seq != l->last_seq &&
	    l->be->set_head(l, l->pending_seq, l->pending_hash) == -1) {
		ledger_rollback(l);
		return (-1);
	}
	if (l->be->commit(l) == -1) {
		ledger_rollback(l);
		return (-1);
	}
	l->last_seq = l->pending_seq;
	memcpy(l->last_hash, l->pending_hash, MP_HASHLEN);
	return (0);
}

void
ledger_rollback(struct ledger *l)
{
	l->be->rollback(l);
	l->pending_seq = l->last_seq;
	memcpy(l->pending_hash, l->last_hash, MP_HASHLEN);
}

/* Call cb for up to limit entries after seq, in order (0: no limit). */
int
ledger_scan(struct ledger *l, int64_t after, size_t limit, ledger_scan_cb cb,
    void *arg)
{
	return (l->be->scan(l, after, limit, cb, arg));
}

void
ledger_maintain(struct ledger *l)
{
	if (l->be->maintain != NULL)
		l->be->maintain(l);
}

const char *
ledger_error(struct ledger *l)
{
	return (l->be->error(l));
}

struct verify_walk {
	struct ledger_verify	*v;
	int64_t			 expect;
	char			 prev[MP_HASHLEN];
};

static int
ledger_verify_one(const struct evidence *ev, void *arg)
{
	struct verify_walk	*w = arg;
	char			 h[MP_HASHLEN];

	if (ev->seq != w->expect) {
		w->v->bad_seq = w->expect;
		snprintf(w->v->reason, sizeof(w->v->reason), "entry %lld is "
		    "missing (next stored entry is %lld)",
		    (long long)w->expect, (long long)ev->seq);
		return (-1);
	}
	evidence_hash(ev, w->prev, h);
	if (strcmp(h, ev->hash) != 0) {
		w->v->bad_seq = ev->seq;
		snprintf(w->v->reason, sizeof(w->v->reason), "entry %lld does "
		    "not match its hash (edited, or its predecessor was)",
		    (long long)ev->seq);
		return (-1);
	}
	memcpy(w->prev, ev->hash, MP_HASHLEN);
	w->expect++;
	w->v->checked++;
	return (0);
}

/*
 * Walk the whole chain.  Returns 0 when intact, 1 with v->bad_seq set to
 * the first bad sequence number, -1 on a storage error.  Entries removed
 * from the end are caught through the recorded tip.
 */
int
ledger_verify(struct ledger *l, struct ledger_verify *v)
{
	struct verify_walk	w;
	int64_t			head_seq;
	char			head_hash[MP_HASHLEN];

	memset(v, 0, sizeof(*v));
	w.v = v;
	w.expect = 1;
	strlcpy(w.prev, LEDGER_GENESIS, sizeof(w.prev));
	if (l->be->scan(l, 0, 0, ledger_verify_one, &w) == -1 &&
	    v->bad_seq == 0) {
		snprintf(v->reason, sizeof(v->reason), "%s", ledger_error(l));
		return (-1);
	}
	if (v->bad_seq != 0)
		return (1);
	if (l->be->head(l, &head_seq, head_hash) == -1) {
		snprintf(v->reason, sizeof(v->reason), "%s", ledger_error(l));
		return (-1);
	}
	if (head_seq != w.expect - 1 || strcmp(head_hash, w.prev) != 0) {
		/* The first entry that the tip does not vouch for. */
		if (head_seq > w.expect - 1)
			v->bad_seq = w.expect;		/* removed at the end */
		else if (head_seq < w.expect - 1)
			v->bad_seq = head_seq + 1;	/* added past the tip */
		else
			v->bad_seq = head_seq > 0 ? head_seq : 1; /* rewritten */
		snprintf(v->reason, sizeof(v->reason), "the ledger's tip is "
		    "entry %lld but the chain ends at %lld%s (entries removed, "
		    "added or rewritten at the end)", (long long)head_seq,
		    (long long)(w.expect - 1), head_seq == w.expect - 1 ?
		    " with another hash" : "");
		return (1);
	}
	return (0);
}

struct rebuild_walk {
	struct ledger		*l;
	struct engine		*e;
	struct milestones	*ms;		/* or NULL */
	struct claims_rebuild	*r;
	int64_t			 txn;		/* recorded_at of the group */
	int			 failed;
};

static int
ledger_rebuild_one(const struct evidence *ev, void *arg)
{
	struct rebuild_walk	*w = arg;

	/* One daemon transaction = the evidence sharing a recorded_at. */
	if (w->r->evidence > 0 && ev->recorded_at != w->txn &&
	    (engine_flush(w->e, w->l, w->txn) == -1 || (w->ms != NULL &&
	    milestone_flush(w->ms, w->l, w->txn) == -1)))
		goto fail;
	w->txn = ev->recorded_at;
	w->l->pending_seq = ev->seq;
	if (engine_apply(w->e, w->l, ev) == -1 || (w->ms != NULL &&
	    milestone_apply(w->ms, w->l, ev) == -1))
		goto fail;
	w->r->evidence++;
	return (0);
fail:
	w->failed = 1;
	return (-1);
}

static int
ledger_count_rev(const struct claim *c, void *arg)
{
	(*(int64_t *)arg) += c->revision;
	return (0);
}

/*
 * Recompute every claim from the ledger, replaying it transaction by
 * transaction into shadow tables, and compare with what is stored.
 * Returns 0 when they are equal, 1 with r->diff naming the first
 * difference, -1 on a storage error.  Nothing stored is changed; l may be
 * (and should be) a read-only handle.
 */
int
ledger_claims_rebuild(struct ledger *l, const struct types *t,
    struct claims_rebuild *r)
{
	return (ledger_claims_rebuild_ms(l, t, NULL, r));
}

/* The same, deriving the Milestone claims of mc (may be NULL) too. */
int
ledger_claims_rebuild_ms(struct ledger *l, const struct types *t,
    const struct milestone_conf *mc, struct claims_rebuild *r)
{
	struct rebuild_walk	w;
	size_t			i;

	memset(r, 0, sizeof(*r));
	if (l->be->rebuild_begin(l) == -1) {
		snprintf(r->diff, sizeof(r->diff), "%s", ledger_error(l));
		return (-1);
	}
	memset(&w, 0, sizeof(w));
	w.l = l;
	w.e = engine_new(t);
	w.ms = mc != NULL && mc->nms > 0 ? milestone_new(mc) : NULL;
	w.r = r;
	if (ledger_scan(l, 0, 0, ledger_rebuild_one, &w) == -1 ||
	    (r->evidence > 0 && (engine_flush(w.e, l, w.txn) == -1 ||
	    (w.ms != NULL && milestone_flush(w.ms, l, w.txn) == -1)))) {
		snprintf(r->diff, sizeof(r->diff), "%s", ledger_error(l));
		engine_free(w.e);
		milestone_free(w.ms);
		return (-1);
	}
	engine_free(w.e);
	milestone_free(w.ms);
	for (i = 0; i < t->ncl; i++)
		l->be->claim_list(l, t->cl[i].t.name, NULL, 0, INT64_MAX,
		    ledger_count_rev, &r->revisions);
	for (i = 0; i < t->ncc; i++)
		l->be->claim_list(l, t->cc[i].name, NULL, 0, INT64_MAX,
		    ledger_count_rev, &r->revisions);
	if (l->be->rebuild_diff(l, r->diff, sizeof(r->diff)) == -1) {
		snprintf(r->diff, sizeof(r->diff), "%s", ledger_error(l));
		return (-1);
	}
	return (r->diff[0] != '\0');
}
