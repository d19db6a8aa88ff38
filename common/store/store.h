/*
 * store/store.h: the ledger facade.  Everything that is stored — the
 * hash-chained evidence, claim revisions (bitemporal), out-of-order holds,
 * raw payloads, the change feed, each sink's outbox rows and cursors — is
 * read and written through the ledger_… functions below, whatever the
 * backend.  A handle belongs to one thread: the receiver's writer owns the
 * read-write handle; readers open their own with LEDGER_RDONLY.
 *
 * Rule: store/ includes util/, record/ and its backends' libraries
 * (SQLite, libpq); it never calls derivation, the outbox's policy,
 * access or configuration.  The backend table (store/backend.h) is private
 * to this folder, and only this folder includes sqlite3.h and libpq-fe.h.
 */
#ifndef MP_STORE_H
#define MP_STORE_H

#include "record/record.h"

struct ledger_backend;			/* store/backend.h: private */

/* A handle.  The chain tip is the facade's; callers may read it. */
struct ledger {
	const struct ledger_backend *be;
	void		*priv;
	int		 readonly;
	int		 flags;		/* LEDGER_… given to ledger_open */
	int64_t		 last_seq;	/* chain tip, writer only */
	char		 last_hash[MP_HASHLEN];
	int64_t		 pending_seq;	/* tip inside an open transaction */
	char		 pending_hash[MP_HASHLEN];
	/*
	 * Set by ledger_begin when another replica committed since this
	 * handle's last commit (the tip was reloaded): caches built on
	 * what this handle read before are stale.
	 */
	int		 moved;
	/* Called for every claim revision stored, in its transaction. */
	int		(*on_claim)(struct ledger *, const struct claim *,
			    void *);
	void		*on_claim_arg;
	/* Told every LEDGER_PROGRESS entries of a full scan (or NULL). */
	void		(*progress)(int64_t, int64_t, void *);
	void		*progress_arg;
};
#define LEDGER_PROGRESS	1024
typedef int (*ledger_scan_cb)(const struct evidence *, void *);
typedef int (*ledger_claim_cb)(const struct claim *, void *);

#define LEDGER_GENESIS	"0000000000000000000000000000000000000000000000000000000000000000"
#define LEDGER_RDONLY	0x1
#define LEDGER_VERIFY	0x2	/* walk the whole chain at open */
#define LEDGER_GROUP	0x4	/* new files 0640, not 0600 */

/* ledger.c: the chain, and the facade over the backend */
struct ledger	*ledger_open(const char *, int, char *, size_t);
void		 ledger_close(struct ledger *);
/* url with its password, if any, as "***" (for logs); a new string. */
char		*ledger_url_safe(const char *);
int		 ledger_begin(struct ledger *);
int		 ledger_append(struct ledger *, struct evidence *);
int		 ledger_commit(struct ledger *);
void		 ledger_rollback(struct ledger *);
int		 ledger_scan(struct ledger *, int64_t, size_t, ledger_scan_cb,
		    void *);
void		 ledger_maintain(struct ledger *);
const char	*ledger_error(struct ledger *);
/* Does this handle's process run the timers (one replica does)? 1, 0. */
int		 ledger_leader(struct ledger *);
/* The schema version of the backend (its migrations applied). */
int		 ledger_schema(struct ledger *);
void		 ledger_on_claim(struct ledger *, int (*)(struct ledger *,
		    const struct claim *, void *), void *);
/* One evidence by sequence number: 1 found (taken), 0 not, -1 error. */
int		 ledger_get(struct ledger *, int64_t, struct evidence **);
struct ledger_verify {
	int64_t		 checked;
	int64_t		 bad_seq;	/* 0 when intact */
	char		 reason[MP_ERRLEN];
};
int		 ledger_verify(struct ledger *, struct ledger_verify *);
/* fn(done, total, arg) during ledger_verify and full ledger_scans. */
void		 ledger_progress(struct ledger *,
		    void (*)(int64_t, int64_t, void *), void *);

/* Claims: revisions, out-of-order holds, and collector loads. */
int		 ledger_claim_put(struct ledger *, const struct claim *);
/* The revision current at as_of: 1 found (c filled, taken), 0 not, -1. */
int		 ledger_claim_get(struct ledger *, const char *, const char *,
		    int64_t, struct claim *);
/* Revision rev (before: the newest before rev): 1 found, 0 not, -1. */
int		 ledger_claim_rev(struct ledger *, const char *, const char *,
		    int64_t, int, struct claim *);
/* How many claims of type there are (ids, any revision); -1 error. */
int64_t		 ledger_claim_count(struct ledger *, const char *);
int		 ledger_claim_list(struct ledger *, const char *, const char *,
		    size_t, int64_t, ledger_claim_cb, void *);
/*
 * As ledger_claim_list, only the claims whose latest revision has
 * links.tenant = tenant (NULL: all), through an index on the tenant: a
 * client's list costs its own claims, not every tenant's.
 */
int		 ledger_claim_list_tenant(struct ledger *, const char *,
		    const char *, const char *, size_t, int64_t,
		    ledger_claim_cb, void *);
/*
 * Every revision of the claims of a type whose recorded_at (by 0) or
 * anchor (by 1) is in [from, to), in (id, revision) order, at most limit
 * (0: all).  Returns the count, or -1.
 */
int		 ledger_claim_scan(struct ledger *, const char *, int, int64_t,
		    int64_t, size_t, ledger_claim_cb, void *);
/* Every revision of one claim up to as_of, oldest first. */
int		 ledger_claim_history(struct ledger *, const char *,
		    const char *, int64_t, ledger_claim_cb, void *);
int		 ledger_pending_put(struct ledger *, const char *, const char *,
		    int64_t);
int		 ledger_pending_take(struct ledger *, const char *,
		    const char *, int64_t **, size_t *);
/*
 * Collector items of a type in [from, to), newest first: evidence up to
 * max_seq (mode 0), only the first evidence of its type for each subject
 * (mode 2: a later one is another witness), or the latest revision of
 * each lifecycle claim (mode 1).
 */
int		 ledger_collect(struct ledger *, const char *, int, int64_t,
		    int64_t, int64_t, size_t, int (*)(const char *, int64_t,
		    const char *, const char *, const char *, void *), void *);
/*
 * Each source's latest event time among the evidence stored at or before
 * max_seq whose time is at most ahead microseconds past its recorded_at
 * (a time trusted as derivation trusts it): cb(source, time, arg) once a
 * source.  The watermarks of late events (derive/slo.c, receiver/api-
 * gates.c) start from it after a restart.  Returns 0 or -1.
 */
int		 ledger_source_times(struct ledger *, int64_t, int64_t,
		    void (*)(const char *, int64_t, void *), void *);
/*
 * Evidence of a type whose subject is s, or starts with s when s has 7 or
 * more characters (an abbreviated SHA), stored at or before max_seq (0:
 * any); newest first, at most limit.  Derivation passes the entry it is
 * at, so that `claims rebuild`, which replays a ledger that already holds
 * later evidence, sees what the writer saw.  Returns the count, or -1.
 */
int		 ledger_subject_find(struct ledger *, const char *,
		    const char *, int64_t, size_t, ledger_scan_cb, void *);
/* Raw payloads; raw_put's last argument: only if (source, delivery) is new. */
int		 ledger_raw_put(struct ledger *, const char *, const char *,
		    int64_t, const char *, const void *, size_t, int);
int		 ledger_raw_get(struct ledger *, const char *, const char *,
		    int64_t *, struct buf *, struct buf *);
/*
 * For milepost ledger copy, everything beside the chain in storage order:
 * every raw payload (source, delivery, recorded_at, encoding, body, len:
 * borrowed), every claim revision in (type, id, revision) order, every
 * held revision.  A cb returning -1 stops with an error.  0 or -1.
 */
typedef int (*ledger_raw_cb)(const char *, const char *, int64_t,
		    const char *, const void *, size_t, void *);
int		 ledger_raw_scan(struct ledger *, ledger_raw_cb, void *);
int		 ledger_claim_all(struct ledger *, ledger_claim_cb, void *);
int		 ledger_pending_all(struct ledger *, int (*)(const char *,
		    const char *, int64_t, void *), void *);
/*
 * claims rebuild: claim writes go to shadow tables from rebuild_begin on;
 * rebuild_diff compares them with the stored claims of the types named
 * (a NULL-terminated list: those the replay derives) (0 equal, 1 with the
 * first difference written, -1), and lists in skipped the stored types
 * it did not compare, as "Type (N claims), …".  The replay itself is
 * derivation's.
 */
int		 ledger_rebuild_begin(struct ledger *);
int		 ledger_rebuild_diff(struct ledger *, const char *const *,
		    char *, size_t, char *, size_t);
void		 ledger_rebuild_seq(struct ledger *, int64_t);

/*
 * The change feed: one entry per claim revision that changed something
 * visible, in cursor order (cursors increase, never reused).
 */
struct change {
	int64_t		 cursor;
	const char	*type;
	const char	*id;
	int64_t		 revision;
	int64_t		 recorded_at;
	const char	*tenant;	/* or NULL */
	const char	*patch;		/* JSON merge patch */
};
/* Append one entry (writer, in its transaction); its cursor, or -1. */
int64_t		 ledger_feed_append(struct ledger *, const struct change *);
/* The feed's last cursor, as committed by any replica; -1 (unknown). */
int64_t		 ledger_feed_head(struct ledger *);
/*
 * A read-only handle's wake-up (PostgreSQL: LISTEN, NOTIFY at every
 * commit that changed the feed): the socket to watch for it, or -1 (none:
 * poll), which changes when the connection is reset; drain says how many
 * arrived since (0: a spurious wake).
 */
int		 ledger_wake_fd(struct ledger *);
int		 ledger_wake_drain(struct ledger *);
/* Up to limit entries after cursor (of tenant, unless NULL); -1 error. */
int		 ledger_feed_scan(struct ledger *, int64_t, size_t,
		    const char *, int (*)(const struct change *, void *),
		    void *);

/* Outbox rows: the state each sink should reach, beside what it has. */
struct outbox_row {
	char		*sink;
	char		*type;
	char		*id;
	char		*want;		/* JSON of the state to reach */
	int64_t		 want_rev;
	int64_t		 want_at;
	char		*links;
	char		*acked;		/* JSON, or NULL: never acknowledged */
	int64_t		 acked_rev;
	char		*etag;
	char		*status;	/* pending, done, dead */
	int64_t		 attempts;
	int64_t		 next_at;
	char		*last_error;
	int64_t		 gen;		/* replays of a delivered state */
};
enum outbox_result {
	OUTBOX_DONE = 0,	/* acked := the state sent */
	OUTBOX_RETRY,		/* attempts, next_at, error */
	OUTBOX_DEAD,		/* dead-lettered */
	OUTBOX_DISABLE,		/* 410: the sink is disabled */
};
struct outbox_ack {
	enum outbox_result result;
	char		*sink, *type, *id;
	char		*sent;		/* the state the sink now has */
	int64_t		 sent_rev;
	char		*etag;
	int64_t		 attempts;
	int64_t		 next_at;
	char		*error;
	int64_t		 now;
};
typedef int (*ledger_row_cb)(const struct outbox_row *, void *);
void		 ledger_row_clear(struct outbox_row *);
void		 ledger_ack_clear(struct outbox_ack *);
/* A sink's feed cursor and subscription hash: 1 found, 0 none, -1. */
int		 ledger_cursor_get(struct ledger *, const char *, int64_t *,
		    char [MP_HASHLEN]);
int		 ledger_cursor_set(struct ledger *, const char *, int64_t,
		    const char *);
/* Drop the cursors of sinks not named (a JSON array); cb sees each. */
int		 ledger_cursor_forget(struct ledger *, const char *,
		    void (*)(const char *));
int		 ledger_outbox_upsert(struct ledger *, const char *,
		    const char *, const char *, const char *, size_t, int64_t,
		    int64_t, const char *);
int64_t		 ledger_outbox_pending(struct ledger *, const char *, int64_t);
/* What waits for a sink, for /metrics: counts, and the oldest wanted. */
struct outbox_stats {
	int64_t		 pending;
	int64_t		 dead;
	int64_t		 oldest_at;	/* oldest pending want_at, or 0 */
};
int		 ledger_outbox_stats(struct ledger *, const char *,
		    struct outbox_stats *);
int		 ledger_outbox_backlog(struct ledger *, const char *,
		    void (*)(const char *, int64_t, void *), void *);
int		 ledger_outbox_due(struct ledger *, const char *, int64_t,
		    size_t, ledger_row_cb, void *);
int		 ledger_outbox_list(struct ledger *, const char *, const char *,
		    ledger_row_cb, void *);
int		 ledger_outbox_disabled(struct ledger *, const char *);
int		 ledger_outbox_ack(struct ledger *, const struct outbox_ack *);
int64_t		 ledger_outbox_retry(struct ledger *, const char *,
		    const char *, const char *);
int64_t		 ledger_outbox_replay(struct ledger *, const char *, int64_t);

#endif /* MP_STORE_H */
