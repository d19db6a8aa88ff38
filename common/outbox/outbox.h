/*
 * outbox/outbox.h: the transactional outbox.  outbox_on_claim is the
 * ledger's on_claim hook: in the writer's transaction it records each
 * claim revision that changed something in the change feed.  outbox_fill
 * takes the feed into the state each subscribed sink should reach, at the
 * sink's pace, with a cursor per sink.  The rest is the policy the
 * receiver's push.c applies: backoff, message ids, Retry-After.  The rows
 * themselves are stored behind the ledger facade (store.h).
 *
 * Rule: outbox/ includes util/, record/, store/ (the facade) and the
 * sink contract (sinks/sink.h, for struct sinkconf); never derivation,
 * access or configuration.
 */
#ifndef MP_OUTBOX_H
#define MP_OUTBOX_H

#include "store/store.h"
#include "sinks/sink.h"

/* One subscription: which claims a sink takes, and which of their fields. */
struct subscription {
	size_t		 sink;		/* index in the sinks array */
	char		**types;
	size_t		 ntypes;
	char		**ids;		/* exact, or prefix with '*'; none: all */
	size_t		 nids;
	char		*tenant;	/* only claims whose tenant link is this */
	char		**fields;	/* properties sent; none: all */
	size_t		 nfields;
	int		 client;	/* audience: client (always with tenant) */
};
/*
 * The presentation, injected (outbox/ does not call access/): the client
 * view of a claim-shaped object (borrowed), as a new object, or NULL
 * when no client may receive it.  Installed by the receiver or the
 * configuration with outbox_new.
 */
typedef json_object *(*outbox_present_cb)(json_object *, void *);
struct outbox;
struct outbox_fill {
	size_t		 read;		/* feed entries taken */
	int		 more;		/* the limit was reached */
	int64_t		 cursor;	/* the sink's cursor now */
	int64_t		 pending;	/* its pending rows (capped) */
};
struct outbox	*outbox_new(const struct sinkconf *, size_t,
		    const struct subscription *, size_t, struct ledger *,
		    outbox_present_cb, void *, char *, size_t);
void		 outbox_free(struct outbox *);
int		 outbox_on_claim(struct ledger *, const struct claim *, void *);
int64_t		 outbox_head(struct outbox *);
int		 outbox_fill(struct ledger *, struct outbox *, const char *,
		    size_t, int64_t, struct outbox_fill *);
int		 outbox_changes(struct ledger *, int64_t, size_t,
		    const char *, json_object *, int64_t *);
void		 outbox_msgid(const struct outbox_row *, char *, size_t);
int64_t		 outbox_backoff(double, double, int64_t, uint32_t);
int64_t		 outbox_retry_after(const char *, int64_t);

/* outbox-ops.c: retry and replay, each with its audit evidence */
struct outbox_op {
	int		 replay;	/* 0: retry, 1: replay */
	const char	*sink;		/* NULL: every sink */
	const char	*type, *id;	/* retry: one object, or NULL */
	int64_t		 since;		/* replay: changed since (us) */
	const char	*actor;		/* who asked, for the audit */
	const char	*role;		/* their token's role, or NULL */
	const char	*via;		/* "http" or "cli" */
	const char	*source;	/* the evidence's source */
};
struct outbox_op_result {
	int64_t		 queued;	/* rows queued again */
	int64_t		 seq;		/* the audit evidence's */
	char		 evid[64];	/* its id */
	char		 err[MP_ERRLEN];
};
int		 outbox_op_apply(struct ledger *, const struct types *,
		    const struct outbox_op *, int64_t,
		    struct outbox_op_result *);

#endif /* MP_OUTBOX_H */
