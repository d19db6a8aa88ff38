/*
 * store/backend.h: what a ledger backend provides.  Private to store/:
 * nothing outside this folder includes it, so callers cannot reach past
 * the ledger_… facade (store.h) into a backend.
 *
 * A backend is one const struct ledger_backend, found by the URL's scheme
 * in ledger.c's table.  Every operation runs on the handle's own
 * connection; the read-write handle's writes happen between begin and
 * commit (or rollback), in one transaction, so that evidence, claims, the
 * change feed and outbox rows commit together.  Operations return 0 (or a
 * count) on success and -1 on a storage error, with error() saying why.
 * A PostgreSQL backend is another file and another table entry.
 */
#ifndef MP_STORE_BACKEND_H
#define MP_STORE_BACKEND_H

#include "store/store.h"

struct ledger_backend {
	const char	*scheme;	/* "sqlite" */

	/* Connection and transactions. */
	int	(*open)(struct ledger *, const char *, int, char *, size_t);
	void	(*close)(struct ledger *);
	int	(*begin)(struct ledger *);
	int	(*commit)(struct ledger *);
	void	(*rollback)(struct ledger *);
	void	(*maintain)(struct ledger *);	/* checkpoint, may block */
	const char *(*error)(struct ledger *);

	/* The chain: append (0 stored, 1 duplicate with seq set), tip, scan. */
	int	(*append)(struct ledger *, struct evidence *);
	int	(*head)(struct ledger *, int64_t *, char [MP_HASHLEN]);
	int	(*set_head)(struct ledger *, int64_t, const char *);
	int	(*scan)(struct ledger *, int64_t, size_t, ledger_scan_cb,
		    void *);
	int	(*get)(struct ledger *, int64_t, struct evidence **);
	int	(*source_times)(struct ledger *, int64_t, int64_t,
		    void (*)(const char *, int64_t, void *), void *);
	int	(*subject_find)(struct ledger *, const char *, const char *,
		    int64_t, size_t, ledger_scan_cb, void *);
	int	(*raw_put)(struct ledger *, const char *, const char *,
		    int64_t, const char *, const void *, size_t, int);
	int	(*raw_get)(struct ledger *, const char *, const char *,
		    int64_t *, struct buf *, struct buf *);

	/* Claims (see store.h for each one's contract). */
	int	(*claim_get)(struct ledger *, const char *, const char *,
		    int64_t, struct claim *);
	int	(*claim_rev)(struct ledger *, const char *, const char *,
		    int64_t, int, struct claim *);
	int	(*claim_put)(struct ledger *, const struct claim *);
	int64_t	(*claim_count)(struct ledger *, const char *);
	int	(*claim_list)(struct ledger *, const char *, const char *,
		    size_t, int64_t, ledger_claim_cb, void *);
	int	(*claim_list_tenant)(struct ledger *, const char *,
		    const char *, const char *, size_t, int64_t,
		    ledger_claim_cb, void *);
	int	(*claim_scan)(struct ledger *, const char *, int, int64_t,
		    int64_t, size_t, ledger_claim_cb, void *);
	int	(*claim_history)(struct ledger *, const char *, const char *,
		    int64_t, ledger_claim_cb, void *);
	int	(*pending_put)(struct ledger *, const char *, const char *,
		    int64_t);
	int	(*pending_take)(struct ledger *, const char *, const char *,
		    int64_t **, size_t *);
	int	(*collect)(struct ledger *, const char *, int, int64_t,
		    int64_t, int64_t, size_t,
		    int (*)(const char *, int64_t, const char *, const char *,
		    const char *, void *), void *);
	int	(*rebuild_begin)(struct ledger *);	/* shadow claims */
	int	(*rebuild_diff)(struct ledger *, const char *const *, char *,
		    size_t, char *, size_t);

	/* The change feed, and the outbox rows and cursors of each sink. */
	int64_t	(*feed_append)(struct ledger *, const struct change *);
	int	(*feed_scan)(struct ledger *, int64_t, size_t, const char *,
		    int (*)(const struct change *, void *), void *);
	int	(*cursor_get)(struct ledger *, const char *, int64_t *,
		    char [MP_HASHLEN]);
	int	(*cursor_set)(struct ledger *, const char *, int64_t,
		    const char *);
	int	(*cursor_forget)(struct ledger *, const char *,
		    void (*)(const char *));
	int	(*outbox_upsert)(struct ledger *, const char *, const char *,
		    const char *, const char *, size_t, int64_t, int64_t,
		    const char *);
	int64_t	(*outbox_pending)(struct ledger *, const char *, int64_t);
	int	(*outbox_stats)(struct ledger *, const char *,
		    struct outbox_stats *);
	int	(*outbox_backlog)(struct ledger *, const char *,
		    void (*)(const char *, int64_t, void *), void *);
	int	(*outbox_due)(struct ledger *, const char *, int64_t, size_t,
		    ledger_row_cb, void *);
	int	(*outbox_list)(struct ledger *, const char *, const char *,
		    ledger_row_cb, void *);
	int	(*outbox_disabled)(struct ledger *, const char *);
	int	(*outbox_ack)(struct ledger *, const struct outbox_ack *);
	int64_t	(*outbox_retry)(struct ledger *, const char *, const char *,
		    const char *);
	int64_t	(*outbox_replay)(struct ledger *, const char *, int64_t);

	/* Replicas (NULL: one process, always the leader; no versions). */
	int	(*leader)(struct ledger *);	/* runs the timers: 1, 0 */
	int	(*schema)(struct ledger *);	/* the schema's version */
	int64_t	(*feed_head)(struct ledger *);	/* the last cursor */
	/* Wake-ups when any replica's commit changed the feed. */
	int	(*wake_fd)(struct ledger *);	/* a socket to watch, or -1 */
	int	(*wake_drain)(struct ledger *);	/* wake-ups read: N, or 0 */
	/* milepost ledger copy: everything else, in storage order. */
	int	(*raw_scan)(struct ledger *, ledger_raw_cb, void *);
	int	(*claim_all)(struct ledger *, ledger_claim_cb, void *);
	int	(*pending_all)(struct ledger *, int (*)(const char *,
		    const char *, int64_t, void *), void *);
	/* One read snapshot from on (1) to off (0), for verify's walk. */
	int	(*snapshot)(struct ledger *, int);
};

extern const struct ledger_backend ledger_sqlite;
extern const struct ledger_backend ledger_postgresql;
extern const struct ledger_backend ledger_postgres;

#endif /* MP_STORE_BACKEND_H */
