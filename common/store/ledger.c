/*
 * ledger.c: the append-only, hash-chained evidence ledger, and the facade
 * over its backend.  This file owns the chain (sequence numbers and
 * hashes) and the verify walk; storage is a backend found by the URL's
 * scheme in ledger_backends[], and every other ledger_… function passes
 * straight to it.
 *
 * A ledger handle belongs to one thread.  The receiver's writer thread owns
 * the read-write handle; readers open their own with LEDGER_RDONLY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"

static const struct ledger_backend *ledger_backends[] = {
	&ledger_sqlite,
	&ledger_postgresql,
	&ledger_postgres,
	NULL,
};

/*
 * url for messages and logs: a password in it ("scheme://user:pw@…")
 * becomes "***".  Returns a new string.
 */
char *
ledger_url_safe(const char *url)
{
	const char	*auth, *at, *colon;
	char		*s;

	if ((auth = strstr(url, "://")) == NULL)
		return (xstrdup(url));
	auth += 3;
	at = strrchr(auth, '@');
	colon = strchr(auth, ':');
	if (at == NULL || colon == NULL || colon > at)
		return (xstrdup(url));
	xasprintf(&s, "%.*s:***%s", (int)(colon - url), url, at);
	return (s);
}

struct tip_walk {
	const struct ledger	*l;
	int			 seen;	/* the tip seen */
	int			 bad;
	char			 prev[MP_HASHLEN];	/* its predecessor's hash */
};

static int
ledger_tip_one(const struct evidence *ev, void *arg)
{
	struct tip_walk	*w = arg;
	char		 h[MP_HASHLEN];

	if (!w->seen && ev->seq == w->l->last_seq - 1) {
		memcpy(w->prev, ev->hash, MP_HASHLEN);
		return (0);
	}
	if (w->seen++ > 0 || ev->seq != w->l->last_seq ||
	    strcmp(ev->hash, w->l->last_hash) != 0) {
		w->bad = 1;
		return (-1);
	}
	/* The tip's content must still give its hash: an edit shows here. */
	evidence_hash(ev, w->prev, h);
	if (strcmp(h, ev->hash) != 0) {
		w->bad = 1;
		return (-1);
	}
	return (0);
}

/*
 * Check that the recorded tip is the last stored entry: the entry with
 * the tip's sequence number and hash, whose content still hashes (over
 * its predecessor's hash) to that hash, and none after it (none at all
 * for an empty tip).  Returns 0 when it is, 1 when not, -1 on a storage
 * error.
 */
static int
ledger_tip_check(struct ledger *l)
{
	struct tip_walk	w = { l, 0, 0, LEDGER_GENESIS };

	if (l->be->scan(l, l->last_seq > 1 ? l->last_seq - 2 : 0, 3,
	    ledger_tip_one, &w) == -1)
		return (w.bad ? 1 : -1);
	return (w.seen == (l->last_seq > 0 ? 1 : 0) ? 0 : 1);
}

/*
 * Open the ledger at url ("sqlite:PATH").  Returns a new handle, or NULL
 * with err set.  A writable handle loads the chain tip and refuses a ledger
 * whose tip disagrees with its last row or whose last row was edited;
 * with LEDGER_VERIFY it walks the whole chain first.  LEDGER_GROUP makes
 * a new ledger's files group-readable (0640 instead of 0600).
 */
struct ledger *
ledger_open(const char *url, int flags, char *err, size_t errlen)
{
	const struct ledger_backend	**be;
	struct ledger			 *l;
	const char			 *colon;
	struct ledger_verify		  v;
	char				 *safe;
	size_t				  n;
	int				  rc;

	if ((colon = strchr(url, ':')) == NULL) {
		snprintf(err, errlen, "%s: not a ledger URL (sqlite:PATH or "
		    "postgresql://…)", url);
		return (NULL);
	}
	n = (size_t)(colon - url);
	for (be = ledger_backends; *be != NULL; be++)
		if (strlen((*be)->scheme) == n &&
		    strncmp((*be)->scheme, url, n) == 0)
			break;
	if (*be == NULL) {
		snprintf(err, errlen, "%.*s: unknown ledger scheme (sqlite:PATH "
		    "or postgresql://…)", (int)n, url);
		return (NULL);
	}
	l = xcalloc(1, sizeof(*l));
	l->be = *be;
	l->readonly = (flags & LEDGER_RDONLY) != 0;
	l->flags = flags;
	strlcpy(l->last_hash, LEDGER_GENESIS, sizeof(l->last_hash));
	if (l->be->open(l, colon + 1, l->readonly, err, errlen) == -1) {
		free(l);
		return (NULL);
	}
	safe = ledger_url_safe(url);
	if (!l->readonly && l->be->head(l, &l->last_seq, l->last_hash) == -1) {
		snprintf(err, errlen, "%s: %s", safe, l->be->error(l));
		free(safe);
		ledger_close(l);
		return (NULL);
	}
	if (!l->readonly && (rc = ledger_tip_check(l)) != 0) {
		if (rc == 1)
			snprintf(err, errlen, "%s: the ledger's tip (entry "
			    "%lld) is not its last entry, or does not match "
			    "its hash; refusing to append to a broken chain: "
			    "run milepost ledger verify", safe,
			    (long long)l->last_seq);
		else
			snprintf(err, errlen, "%s: %s", safe, l->be->error(l));
		free(safe);
		ledger_close(l);
		return (NULL);
	}
	if (!l->readonly && (flags & LEDGER_VERIFY) != 0 &&
	    (rc = ledger_verify(l, &v)) != 0) {
		if (rc == 1)
			snprintf(err, errlen, "%s: the chain is broken at "
			    "entry %lld (%s); refusing to append to it: run "
			    "milepost ledger verify", safe,
			    (long long)v.bad_seq, v.reason);
		else
			snprintf(err, errlen, "%s: %s", safe, v.reason);
		free(safe);
		ledger_close(l);
		return (NULL);
	}
	free(safe);
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

/*
 * Open a write transaction.  The head is taken inside it, where the
 * write lock is held: a shared backend (PostgreSQL) locks the chain head
 * in its begin and may move last_seq/last_hash to what another replica
 * committed; a backend of one process (SQLite, no leader operation) reads
 * the head again here, because another writer of the same file (such as
 * "milepost outbox retry" appending its audit evidence beside a running
 * milepostd) may have moved it.  Either way l->moved says so, and the
 * writer drops its derivation caches.  Returns 0 or -1.
 */
int
ledger_begin(struct ledger *l)
{
	int64_t	seq;
	char	hash[MP_HASHLEN];

	l->moved = 0;
	if (l->be->begin(l) == -1)
		return (-1);
	if (!l->readonly && l->be->leader == NULL) {
		if (l->be->head(l, &seq, hash) == -1) {
			l->be->rollback(l);
			return (-1);
		}
		if (seq != l->last_seq || strcmp(hash, l->last_hash) != 0) {
			l->moved = 1;
			l->last_seq = seq;
			memcpy(l->last_hash, hash, MP_HASHLEN);
		}
	}
	l->pending_seq = l->last_seq;
	memcpy(l->pending_hash, l->last_hash, MP_HASHLEN);
	return (0);
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
/* A full scan that tells l->progress how far it got (ledger_progress). */
struct scan_told {
	struct ledger	*l;
	ledger_scan_cb	 cb;
	void		*arg;
	int64_t		 done, total;
};

static int
ledger_scan_told(const struct evidence *ev, void *arg)
{
	struct scan_told	*t = arg;

	if (++t->done % LEDGER_PROGRESS == 0)
		t->l->progress(t->done, t->total, t->l->progress_arg);
	return (t->cb(ev, t->arg));
}

static int
ledger_scan_all(struct ledger *l, ledger_scan_cb cb, void *arg)
{
	struct scan_told	t = { l, cb, arg, 0, 0 };
	char			h[MP_HASHLEN];
	int			rc;

	if (l->progress == NULL)
		return (l->be->scan(l, 0, 0, cb, arg));
	if (l->be->head(l, &t.total, h) == -1)
		t.total = 0;
	rc = l->be->scan(l, 0, 0, ledger_scan_told, &t);
	l->progress(t.done, t.total, l->progress_arg);
	return (rc);
}

/*
 * Have fn(done, total, arg) told every LEDGER_PROGRESS entries, and once
 * at the end, of ledger_verify and of a full ledger_scan (total: the
 * chain's recorded tip).  fn NULL stops it.
 */
void
ledger_progress(struct ledger *l, void (*fn)(int64_t, int64_t, void *),
    void *arg)
{
	l->progress = fn;
	l->progress_arg = arg;
}

int
ledger_scan(struct ledger *l, int64_t after, size_t limit, ledger_scan_cb cb,
    void *arg)
{
	if (after == 0 && limit == 0)
		return (ledger_scan_all(l, cb, arg));
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

static int	ledger_verify_walk(struct ledger *, struct ledger_verify *);

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
	int	rc;

	memset(v, 0, sizeof(*v));
	/* The walk and the tip in one snapshot, beside running writers. */
	if (l->be->snapshot != NULL && l->be->snapshot(l, 1) == -1) {
		snprintf(v->reason, sizeof(v->reason), "%s", ledger_error(l));
		return (-1);
	}
	rc = ledger_verify_walk(l, v);
	if (l->be->snapshot != NULL)
		l->be->snapshot(l, 0);
	return (rc);
}

static int
ledger_verify_walk(struct ledger *l, struct ledger_verify *v)
{
	struct verify_walk	w;
	int64_t			head_seq;
	char			head_hash[MP_HASHLEN];

	w.v = v;
	w.expect = 1;
	strlcpy(w.prev, LEDGER_GENESIS, sizeof(w.prev));
	if (ledger_scan_all(l, ledger_verify_one, &w) == -1 &&
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

int
ledger_leader(struct ledger *l)
{
	return (l->be->leader != NULL ? l->be->leader(l) : 1);
}

int
ledger_schema(struct ledger *l)
{
	return (l->be->schema != NULL ? l->be->schema(l) : 0);
}

/* The hook every claim revision stored passes through (NULL: none). */
void
ledger_on_claim(struct ledger *l, int (*fn)(struct ledger *,
    const struct claim *, void *), void *arg)
{
	l->on_claim = fn;
	l->on_claim_arg = arg;
}

/*
 * claims rebuild replays stored evidence: the sequence number of the
 * entry being replayed stands for the open transaction's tip.
 */
void
ledger_rebuild_seq(struct ledger *l, int64_t seq)
{
	l->pending_seq = seq;
}

/* The rest of the facade: each passes to the backend (store.h). */
int
ledger_get(struct ledger *l, int64_t seq, struct evidence **evp)
{
	return (l->be->get(l, seq, evp));
}

int
ledger_claim_get(struct ledger *l, const char *type, const char *id,
    int64_t as_of, struct claim *c)
{
	return (l->be->claim_get(l, type, id, as_of, c));
}

int
ledger_claim_rev(struct ledger *l, const char *type, const char *id,
    int64_t rev, int before, struct claim *c)
{
	return (l->be->claim_rev(l, type, id, rev, before, c));
}

int64_t
ledger_claim_count(struct ledger *l, const char *type)
{
	return (l->be->claim_count(l, type));
}

int
ledger_claim_list(struct ledger *l, const char *type, const char *after,
    size_t limit, int64_t as_of, ledger_claim_cb cb, void *arg)
{
	return (l->be->claim_list(l, type, after, limit, as_of, cb, arg));
}

/* ledger_claim_list, only the claims of tenant (NULL: every claim). */
int
ledger_claim_list_tenant(struct ledger *l, const char *type,
    const char *tenant, const char *after, size_t limit, int64_t as_of,
    ledger_claim_cb cb, void *arg)
{
	if (tenant == NULL)
		return (l->be->claim_list(l, type, after, limit, as_of, cb,
		    arg));
	return (l->be->claim_list_tenant(l, type, tenant, after, limit, as_of,
	    cb, arg));
}

int
ledger_claim_scan(struct ledger *l, const char *type, int by, int64_t from,
    int64_t to, size_t limit, ledger_claim_cb cb, void *arg)
{
	return (l->be->claim_scan(l, type, by, from, to, limit, cb, arg));
}

int
ledger_claim_history(struct ledger *l, const char *type, const char *id,
    int64_t as_of, ledger_claim_cb cb, void *arg)
{
	return (l->be->claim_history(l, type, id, as_of, cb, arg));
}

int
ledger_pending_put(struct ledger *l, const char *ctype, const char *subject,
    int64_t seq)
{
	return (l->be->pending_put(l, ctype, subject, seq));
}

int
ledger_pending_take(struct ledger *l, const char *ctype, const char *subject,
    int64_t **seqs, size_t *n)
{
	return (l->be->pending_take(l, ctype, subject, seqs, n));
}

int
ledger_collect(struct ledger *l, const char *type, int claims, int64_t from,
    int64_t to, int64_t as_of, size_t limit, int (*cb)(const char *, int64_t,
    const char *, const char *, const char *, void *), void *arg)
{
	return (l->be->collect(l, type, claims, from, to, as_of, limit, cb,
	    arg));
}

int
ledger_source_times(struct ledger *l, int64_t max_seq, int64_t ahead,
    void (*cb)(const char *, int64_t, void *), void *arg)
{
	return (l->be->source_times(l, max_seq, ahead, cb, arg));
}

int
ledger_subject_find(struct ledger *l, const char *type, const char *s,
    int64_t max_seq, size_t limit, ledger_scan_cb cb, void *arg)
{
	return (l->be->subject_find(l, type, s, max_seq, limit, cb, arg));
}

int
ledger_raw_put(struct ledger *l, const char *source, const char *delivery,
    int64_t at, const char *enc, const void *body, size_t len, int once)
{
	return (l->be->raw_put(l, source, delivery, at, enc, body, len, once));
}

int
ledger_raw_get(struct ledger *l, const char *source, const char *delivery,
    int64_t *at, struct buf *enc, struct buf *body)
{
	return (l->be->raw_get(l, source, delivery, at, enc, body));
}

int
ledger_raw_scan(struct ledger *l, ledger_raw_cb cb, void *arg)
{
	return (l->be->raw_scan(l, cb, arg));
}

int
ledger_claim_all(struct ledger *l, ledger_claim_cb cb, void *arg)
{
	return (l->be->claim_all(l, cb, arg));
}

int
ledger_pending_all(struct ledger *l, int (*cb)(const char *, const char *,
    int64_t, void *), void *arg)
{
	return (l->be->pending_all(l, cb, arg));
}

int
ledger_rebuild_begin(struct ledger *l)
{
	return (l->be->rebuild_begin(l));
}

int
ledger_rebuild_diff(struct ledger *l, const char *const *types, char *diff,
    size_t len, char *skipped, size_t slen)
{
	return (l->be->rebuild_diff(l, types, diff, len, skipped, slen));
}

int64_t
ledger_feed_append(struct ledger *l, const struct change *ch)
{
	return (l->be->feed_append(l, ch));
}

int
ledger_wake_fd(struct ledger *l)
{
	return (l->be->wake_fd != NULL ? l->be->wake_fd(l) : -1);
}

int
ledger_wake_drain(struct ledger *l)
{
	return (l->be->wake_drain != NULL ? l->be->wake_drain(l) : 0);
}

int64_t
ledger_feed_head(struct ledger *l)
{
	return (l->be->feed_head != NULL ? l->be->feed_head(l) : -1);
}

int
ledger_feed_scan(struct ledger *l, int64_t after, size_t limit,
    const char *tenant, int (*cb)(const struct change *, void *), void *arg)
{
	return (l->be->feed_scan(l, after, limit, tenant, cb, arg));
}

int
ledger_cursor_get(struct ledger *l, const char *sink, int64_t *cursor,
    char subs[MP_HASHLEN])
{
	return (l->be->cursor_get(l, sink, cursor, subs));
}

int
ledger_cursor_set(struct ledger *l, const char *sink, int64_t cursor,
    const char *subs)
{
	return (l->be->cursor_set(l, sink, cursor, subs));
}

int
ledger_cursor_forget(struct ledger *l, const char *names,
    void (*cb)(const char *))
{
	return (l->be->cursor_forget(l, names, cb));
}

int
ledger_outbox_upsert(struct ledger *l, const char *sink, const char *type,
    const char *id, const char *want, size_t wantlen, int64_t rev, int64_t at,
    const char *links)
{
	return (l->be->outbox_upsert(l, sink, type, id, want, wantlen, rev, at,
	    links));
}

int64_t
ledger_outbox_pending(struct ledger *l, const char *sink, int64_t cap)
{
	return (l->be->outbox_pending(l, sink, cap));
}

int
ledger_outbox_stats(struct ledger *l, const char *sink, struct outbox_stats *st)
{
	return (l->be->outbox_stats(l, sink, st));
}

int
ledger_outbox_backlog(struct ledger *l, const char *sink,
    void (*cb)(const char *, int64_t, void *), void *arg)
{
	return (l->be->outbox_backlog(l, sink, cb, arg));
}

int
ledger_outbox_due(struct ledger *l, const char *sink, int64_t now,
    size_t limit, ledger_row_cb cb, void *arg)
{
	return (l->be->outbox_due(l, sink, now, limit, cb, arg));
}

int
ledger_outbox_list(struct ledger *l, const char *sink, const char *status,
    ledger_row_cb cb, void *arg)
{
	return (l->be->outbox_list(l, sink, status, cb, arg));
}

int
ledger_outbox_disabled(struct ledger *l, const char *sink)
{
	return (l->be->outbox_disabled(l, sink));
}

int
ledger_outbox_ack(struct ledger *l, const struct outbox_ack *a)
{
	return (l->be->outbox_ack(l, a));
}

int64_t
ledger_outbox_retry(struct ledger *l, const char *sink, const char *type,
    const char *id)
{
	return (l->be->outbox_retry(l, sink, type, id));
}

int64_t
ledger_outbox_replay(struct ledger *l, const char *sink, int64_t since)
{
	return (l->be->outbox_replay(l, sink, since));
}

void
ledger_row_clear(struct outbox_row *r)
{
	free(r->sink);
	free(r->type);
	free(r->id);
	free(r->want);
	free(r->links);
	free(r->acked);
	free(r->etag);
	free(r->status);
	free(r->last_error);
	memset(r, 0, sizeof(*r));
}

void
ledger_ack_clear(struct outbox_ack *a)
{
	free(a->sink);
	free(a->type);
	free(a->id);
	free(a->sent);
	free(a->etag);
	free(a->error);
	memset(a, 0, sizeof(*a));
}
