/*
 * sqlite-outbox.c: the SQLite backend's change feed, outbox rows and sink
 * cursors (the policy that fills and drains them is outbox/outbox.c).
 *
 * `changes` is the durable queue: one row per claim revision that changed
 * something visible, a cursor (AUTOINCREMENT: increasing, never reused),
 * the claim's type, id, revision, tenant and the merge patch.  The rows
 * `outbox(sink, type, id)` hold the state a sink should reach (`want`)
 * beside the state it last acknowledged (`acked`); `outbox_cursors` how
 * far each sink has taken the feed, and for which subscriptions;
 * `outbox_sinks` the sinks a 410 disabled.  The writer's statements are
 * prepared once (persistent); milepost outbox retry/replay update rows
 * from another process, in short transactions of their own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite.h"

static const char *outbox_sql_schema =
	"CREATE TABLE IF NOT EXISTS changes ("
	" cursor INTEGER PRIMARY KEY AUTOINCREMENT,"
	" type TEXT NOT NULL,"
	" id TEXT NOT NULL,"
	" revision INTEGER NOT NULL,"
	" recorded_at INTEGER NOT NULL,"
	" tenant TEXT,"
	" patch TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS outbox ("
	" sink TEXT NOT NULL,"
	" type TEXT NOT NULL,"
	" id TEXT NOT NULL,"
	" want TEXT NOT NULL,"			/* JSON: the state to reach */
	" want_rev INTEGER NOT NULL,"
	" want_at INTEGER NOT NULL,"		/* transaction time of want */
	" links TEXT NOT NULL,"
	" acked TEXT,"				/* JSON: what the sink has */
	" acked_rev INTEGER NOT NULL DEFAULT 0,"
	" etag TEXT,"
	" acked_at INTEGER,"
	" status TEXT NOT NULL,"		/* pending, done, dead */
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL DEFAULT 0,"
	" gen INTEGER NOT NULL DEFAULT 0,"	/* replays of a delivered row */
	" last_error TEXT,"
	" dead_at INTEGER,"
	/*
	 * A rowid table: new rows land at its end; only the small unique
	 * index takes the (random) object ids.  As WITHOUT ROWID, every
	 * claim revision inserted its whole row mid-tree.
	 */
	" UNIQUE (sink, type, id));"
	/*
	 * The due scan's order (next_at, want_at) is the index's, so a scan
	 * reads only the rows it returns, however many are pending.
	 */
	"DROP INDEX IF EXISTS liteob_due;"
	"CREATE INDEX IF NOT EXISTS outbox_next ON outbox (sink, status, "
	" next_at, want_at);"
	/*
	 * How far each sink has taken the change feed into its outbox rows,
	 * and for which subscriptions: when they change, the sink takes the
	 * feed again from the start (a new subscriber gets every object).
	 */
	"CREATE TABLE IF NOT EXISTS outbox_cursors ("
	" sink TEXT PRIMARY KEY,"
	" cursor INTEGER NOT NULL,"
	" subs TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS outbox_sinks ("
	" sink TEXT PRIMARY KEY,"
	" disabled_at INTEGER NOT NULL,"
	" reason TEXT NOT NULL);";

#define OUTBOX_ROW_COLS "sink, type, id, want, want_rev, want_at, links, " \
	"acked, acked_rev, etag, status, attempts, next_at, last_error, gen"


/* The writer's persistent statements, prepared on first use. */
enum liteob_stmt_id {
	OB_CHANGE = 0,
	OB_UPSERT,
	OB_MAX
};
static const char *liteob_sql[OB_MAX] = {
	[OB_CHANGE] = "INSERT INTO changes (type, id, revision, recorded_at, "
	    "tenant, patch) VALUES (?, ?, ?, ?, ?, ?)",
	[OB_UPSERT] = "INSERT INTO outbox (sink, type, id, "
	    "want, want_rev, want_at, links, status) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, 'pending') ON CONFLICT (sink, type, id) DO UPDATE SET "
	    "want = excluded.want, want_rev = excluded.want_rev, "
	    "want_at = excluded.want_at, links = excluded.links, "
	    "status = CASE WHEN status = 'dead' THEN 'dead' ELSE 'pending' END, "
	    "next_at = CASE WHEN status = 'done' THEN 0 ELSE next_at END, "
	    "attempts = CASE WHEN status = 'done' THEN 0 ELSE attempts END "
	    "WHERE want IS NOT excluded.want AND excluded.want_rev >= "
	    "want_rev",
};
struct liteob {
	sqlite3_stmt	*st[OB_MAX];
};

static sqlite3_stmt	*liteob_prepare(sqlite3 *, const char *);

static sqlite3_stmt *
liteob_st(struct ledger *l, enum liteob_stmt_id id)
{
	void		**pp = lite_outbox_priv(l);
	struct liteob	 *ob;

	if ((ob = *pp) == NULL)
		ob = *pp = xcalloc(1, sizeof(*ob));
	if (ob->st[id] == NULL && sqlite3_prepare_v3(lite_db(l),
	    liteob_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &ob->st[id],
	    NULL) != SQLITE_OK) {
		log_warnx("outbox: %s", sqlite3_errmsg(lite_db(l)));
		return (NULL);
	}
	return (ob->st[id]);
}

void
liteob_close(struct ledger *l)
{
	void		**pp = lite_outbox_priv(l);
	struct liteob	 *ob = *pp;
	int		  i;

	if (ob == NULL)
		return;
	for (i = 0; i < OB_MAX; i++)
		sqlite3_finalize(ob->st[i]);
	free(ob);
	*pp = NULL;
}

/* Create the outbox tables if missing (a read-write handle). */
int
liteob_schema(struct ledger *l)
{
	return (sqlite3_exec(lite_db(l), outbox_sql_schema, NULL, NULL,
	    NULL) == SQLITE_OK ? 0 : -1);
}

/* Append one change-feed entry (writer, in its transaction). */
int64_t
liteob_feed_append(struct ledger *l, const struct change *ch)
{
	sqlite3_stmt	*st;
	int64_t		 cursor = -1;

	if ((st = liteob_st(l, OB_CHANGE)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, ch->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ch->revision);
	sqlite3_bind_int64(st, 4, ch->recorded_at);
	if (ch->tenant != NULL)
		sqlite3_bind_text(st, 5, ch->tenant, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_text(st, 6, ch->patch, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		cursor = sqlite3_last_insert_rowid(lite_db(l));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (cursor);
}

/*
 * Up to limit change-feed entries after cursor (of tenant, unless NULL),
 * in cursor order: cb for each (non-zero stops).  Returns 0 or -1.
 */
int
liteob_feed_scan(struct ledger *l, int64_t after, size_t limit,
    const char *tenant, int (*cb)(const struct change *, void *), void *arg)
{
	sqlite3		*db = lite_db(l);
	sqlite3_stmt	*st;
	struct change	 ch;
	int		 rc;

	if ((st = liteob_prepare(db, "SELECT cursor, type, id, revision, "
	    "recorded_at, tenant, patch FROM changes WHERE cursor > ?1 AND "
	    "(?3 IS NULL OR tenant = ?3) ORDER BY cursor LIMIT ?2")) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	if (tenant != NULL)
		sqlite3_bind_text(st, 3, tenant, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ch.cursor = sqlite3_column_int64(st, 0);
		ch.type = (const char *)sqlite3_column_text(st, 1);
		ch.id = (const char *)sqlite3_column_text(st, 2);
		ch.revision = sqlite3_column_int64(st, 3);
		ch.recorded_at = sqlite3_column_int64(st, 4);
		ch.tenant = (const char *)sqlite3_column_text(st, 5);
		ch.patch = (const char *)sqlite3_column_text(st, 6);
		if (cb(&ch, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(db));
		return (-1);
	}
	return (0);
}

/* A sink's cursor and subscription hash: 1 found, 0 none, -1 error. */
int
liteob_cursor_get(struct ledger *l, const char *sink, int64_t *cursor,
    char subs[MP_HASHLEN])
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = liteob_prepare(lite_db(l), "SELECT cursor, subs FROM "
	    "outbox_cursors WHERE sink = ?")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*cursor = sqlite3_column_int64(st, 0);
		snprintf(subs, MP_HASHLEN, "%s",
		    (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

int
liteob_cursor_set(struct ledger *l, const char *sink, int64_t cursor,
    const char *subs)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = liteob_prepare(lite_db(l), "INSERT INTO outbox_cursors "
	    "(sink, cursor, subs) VALUES (?, ?, ?) ON CONFLICT (sink) DO "
	    "UPDATE SET cursor = excluded.cursor, subs = excluded.subs")) ==
	    NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cursor);
	sqlite3_bind_text(st, 3, subs, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * Drop the cursor of every sink not in names (a JSON array of strings);
 * cb sees each sink dropped.  Returns 0 or -1.
 */
int
liteob_cursor_forget(struct ledger *l, const char *names,
    void (*cb)(const char *))
{
	static const char	*sql[] = {
		"SELECT sink FROM outbox_cursors WHERE sink NOT IN "
		"(SELECT value FROM json_each(?))",
		"DELETE FROM outbox_cursors WHERE sink NOT IN "
		"(SELECT value FROM json_each(?))"
	};
	sqlite3		*db = lite_db(l);
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc = SQLITE_ERROR;

	for (i = 0; i < 2; i++) {
		if ((st = liteob_prepare(db, sql[i])) == NULL)
			break;
		sqlite3_bind_text(st, 1, names, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			cb((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			break;
	}
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * The state sink should reach for (type, id): want (canonical JSON) at
 * claim revision rev, recorded at at.  A newer state supersedes a queued
 * one; an older one never replaces a newer.  Returns 0 or -1.
 */
int
liteob_upsert(struct ledger *l, const char *sink, const char *type,
    const char *id, const char *want, size_t wantlen, int64_t rev, int64_t at,
    const char *links)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = liteob_st(l, OB_UPSERT)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, want, (int)wantlen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, rev);
	sqlite3_bind_int64(st, 6, at);
	sqlite3_bind_text(st, 7, links != NULL ? links : "{}", -1,
	    SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(lite_db(l)));
		return (-1);
	}
	return (0);
}

static char *
liteob_coltext(sqlite3_stmt *st, int i)
{
	const unsigned char	*s = sqlite3_column_text(st, i);

	return (s == NULL ? NULL : xstrdup((const char *)s));
}

static void
liteob_row_read(sqlite3_stmt *st, struct outbox_row *r)
{
	memset(r, 0, sizeof(*r));
	r->sink = liteob_coltext(st, 0);
	r->type = liteob_coltext(st, 1);
	r->id = liteob_coltext(st, 2);
	r->want = liteob_coltext(st, 3);
	r->want_rev = sqlite3_column_int64(st, 4);
	r->want_at = sqlite3_column_int64(st, 5);
	r->links = liteob_coltext(st, 6);
	r->acked = liteob_coltext(st, 7);
	r->acked_rev = sqlite3_column_int64(st, 8);
	r->etag = liteob_coltext(st, 9);
	r->status = liteob_coltext(st, 10);
	r->attempts = sqlite3_column_int64(st, 11);
	r->next_at = sqlite3_column_int64(st, 12);
	r->last_error = liteob_coltext(st, 13);
	r->gen = sqlite3_column_int64(st, 14);
}

/* Run st (bound, taken) and call cb for each row; -1 on error. */
static int
liteob_rows(sqlite3 *db, sqlite3_stmt *st,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	struct outbox_row	r;
	int			rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		liteob_row_read(st, &r);
		rc = cb(&r, arg);
		ledger_row_clear(&r);
		if (rc != 0)
			break;
	}
	if (rc != SQLITE_DONE && rc != 0) {
		log_warnx("outbox: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return (-1);
	}
	sqlite3_finalize(st);
	return (0);
}

static sqlite3_stmt *
liteob_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("outbox: %s", sqlite3_errmsg(db));
		return (NULL);
	}
	return (st);
}

/*
 * The rows of sink due at now (pending, not backing off), oldest first,
 * at most limit.  cb returns non-zero to stop.
 */
int
liteob_due(struct ledger *l, const char *sink, int64_t now, size_t limit,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	sqlite3		*db;
	sqlite3_stmt	*st;

	if ((db = lite_db(l)) == NULL || (st = liteob_prepare(db,
	    "SELECT " OUTBOX_ROW_COLS " FROM outbox WHERE sink = ? AND "
	    "status = 'pending' AND next_at <= ? ORDER BY next_at, want_at "
	    "LIMIT ?")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (int64_t)limit);
	return (liteob_rows(db, st, cb, arg));
}

/* Every row of sink (or all sinks) with status (or any but done). */
int
liteob_list(struct ledger *l, const char *sink, const char *status,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	sqlite3		*db;
	sqlite3_stmt	*st;

	if ((db = lite_db(l)) == NULL || (st = liteob_prepare(db,
	    "SELECT " OUTBOX_ROW_COLS " FROM outbox WHERE (?1 IS NULL OR "
	    "sink = ?1) AND (CASE WHEN ?2 IS NULL THEN status != 'done' "
	    "WHEN ?2 = 'all' THEN 1 ELSE status = ?2 END) "
	    "ORDER BY sink, want_at, type, id")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	return (liteob_rows(db, st, cb, arg));
}

/* Is sink disabled (410)?  1 yes, 0 no, -1 error. */
int
liteob_disabled(struct ledger *l, const char *sink)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 rc;

	if ((db = lite_db(l)) == NULL || (st = liteob_prepare(db,
	    "SELECT 1 FROM outbox_sinks WHERE sink = ?")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/* Run one statement with up to 3 text and 2 integer parameters. */
static int64_t
liteob_exec(sqlite3 *db, const char *sql, const char *t1, const char *t2,
    const char *t3, int64_t i4, int64_t i5)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = liteob_prepare(db, sql)) == NULL)
		return (-1);
	if (t1 != NULL)
		sqlite3_bind_text(st, 1, t1, -1, SQLITE_STATIC);
	if (t2 != NULL)
		sqlite3_bind_text(st, 2, t2, -1, SQLITE_STATIC);
	if (t3 != NULL)
		sqlite3_bind_text(st, 3, t3, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, i4);
	sqlite3_bind_int64(st, 5, i5);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("outbox: %s", sqlite3_errmsg(db));
		return (-1);
	}
	return (sqlite3_changes(db));
}

/*
 * Record what a push came to (writer thread, in its transaction).  A
 * delivered push makes the state sent the acknowledged one; the row is
 * done unless a newer state arrived meanwhile.  Returns 0 or -1.
 */
int
liteob_ack(struct ledger *l, const struct outbox_ack *a)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 rc;

	db = lite_db(l);
	switch (a->result) {
	case OUTBOX_DONE:
		st = liteob_prepare(db, "UPDATE outbox SET acked = ?4, "
		    "acked_rev = ?5, etag = ?6, acked_at = ?7, attempts = 0, "
		    "next_at = 0, last_error = NULL, status = CASE WHEN "
		    "want_rev = ?5 AND want = ?4 THEN 'done' ELSE 'pending' END "
		    "WHERE sink = ?1 AND type = ?2 AND id = ?3");
		break;
	case OUTBOX_RETRY:
		st = liteob_prepare(db, "UPDATE outbox SET attempts = ?5, "
		    "next_at = ?7, last_error = ?6 WHERE sink = ?1 AND "
		    "type = ?2 AND id = ?3 AND status = 'pending'");
		break;
	case OUTBOX_DEAD:
		st = liteob_prepare(db, "UPDATE outbox SET attempts = ?5, "
		    "status = 'dead', dead_at = ?7, last_error = ?6 WHERE "
		    "sink = ?1 AND type = ?2 AND id = ?3 AND status = 'pending'");
		break;
	case OUTBOX_DISABLE:
		st = liteob_prepare(db, "INSERT INTO outbox_sinks (sink, "
		    "disabled_at, reason) VALUES (?1, ?7, ?6) ON CONFLICT (sink) "
		    "DO UPDATE SET disabled_at = excluded.disabled_at, "
		    "reason = excluded.reason");
		break;
	default:
		return (-1);
	}
	if (st == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, a->sink, -1, SQLITE_STATIC);
	if (a->result != OUTBOX_DISABLE) {
		sqlite3_bind_text(st, 2, a->type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->id, -1, SQLITE_STATIC);
	}
	if (a->result == OUTBOX_DONE) {
		sqlite3_bind_text(st, 4, a->sent, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, a->sent_rev);
		if (a->etag != NULL)
			sqlite3_bind_text(st, 6, a->etag, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, a->now);
	} else {
		if (a->result != OUTBOX_DISABLE)
			sqlite3_bind_int64(st, 5, a->attempts);
		sqlite3_bind_text(st, 6, a->error ? a->error : "", -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, a->result == OUTBOX_RETRY ?
		    a->next_at : a->now);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(db));
		return (-1);
	}
	return (0);
}

/*
 * The end of retry and replay: enable sink (or all) again if a 410
 * disabled it, and commit the transaction they began, or roll it back
 * when n, the rows they queued, is -1.  Returns n, or -1.
 */
static int64_t
liteob_enable(sqlite3 *db, const char *sink, int64_t n, int own)
{
	if (n == -1 || liteob_exec(db, "DELETE FROM outbox_sinks WHERE "
	    "?1 IS NULL OR sink = ?1", sink, NULL, NULL, 0, 0) == -1 ||
	    (own && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) !=
	    SQLITE_OK)) {
		if (own)
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return (-1);
	}
	return (n);
}

/*
 * Begin the transaction of an outbox update, unless the caller has one
 * open (ledger_begin: the update then commits with what else it writes,
 * such as its audit evidence).  Returns 1 when it is the update's own, 0
 * when it is the caller's, -1 on error.
 */
static int
liteob_begin(sqlite3 *db)
{
	if (sqlite3_get_autocommit(db) == 0)
		return (0);
	return (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
	    SQLITE_OK ? 1 : -1);
}

/*
 * milepost outbox retry: dead-lettered pushes of sink (or all sinks),
 * or of one "TYPE/ID", go back to pending, and the sink is enabled again
 * if a 410 disabled it.  Its own transaction, or the caller's when one is
 * open (liteob_begin).  Returns the rows revived.
 */
int64_t
liteob_retry(struct ledger *l, const char *sink, const char *type,
    const char *id)
{
	sqlite3	*db;
	int64_t	 n;
	int	 own;

	if ((db = lite_db(l)) == NULL || (own = liteob_begin(db)) == -1)
		return (-1);
	n = liteob_exec(db, "UPDATE outbox SET status = 'pending', "
	    "attempts = 0, next_at = 0 WHERE status = 'dead' AND (?1 IS NULL "
	    "OR sink = ?1) AND (?2 IS NULL OR type = ?2) AND (?3 IS NULL OR "
	    "id = ?3)", sink, type, id, 0, 0);
	if (n != -1 && liteob_exec(db, "UPDATE outbox SET next_at = 0 WHERE "
	    "status = 'pending' AND (?1 IS NULL OR sink = ?1)", sink, NULL,
	    NULL, 0, 0) == -1)
		n = -1;
	return (liteob_enable(db, sink, n, own));
}

/*
 * milepost outbox replay --since: every object of sink (or all) whose
 * state changed at or after since is sent again: a dead-lettered push is
 * retried (same webhook-id), a delivered one is resent as a full snapshot
 * (a new webhook-id).  Returns the rows queued.
 */
int64_t
liteob_replay(struct ledger *l, const char *sink, int64_t since)
{
	sqlite3	*db;
	int64_t	 n;
	int	 own;

	if ((db = lite_db(l)) == NULL || (own = liteob_begin(db)) == -1)
		return (-1);
	n = liteob_exec(db, "UPDATE outbox SET "
	    "gen = gen + (status = 'done'), "
	    "acked = CASE WHEN status = 'done' THEN NULL ELSE acked END, "
	    "acked_rev = CASE WHEN status = 'done' THEN 0 ELSE acked_rev END, "
	    "etag = CASE WHEN status = 'done' THEN NULL ELSE etag END, "
	    "status = 'pending', attempts = 0, next_at = 0 "
	    "WHERE want_at >= ?4 AND (?1 IS NULL OR sink = ?1)", sink, NULL,
	    NULL, since, 0);
	return (liteob_enable(db, sink, n, own));
}

/* The pending rows of sink, counted up to cap (any handle); -1 on error. */
int64_t
liteob_pending(struct ledger *l, const char *sink, int64_t cap)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	if ((db = lite_db(l)) == NULL || (st = liteob_prepare(db,
	    "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE sink = ? AND "
	    "status = 'pending' LIMIT ?)")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cap);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (n);
}

/*
 * How many of sink's rows are pending and dead, and the transaction time
 * of the oldest pending one (0: none), by the (sink, status, ...) index.
 * A read-only handle will do.  Returns 0 or -1.
 */
int
liteob_stats(struct ledger *l, const char *sink, struct outbox_stats *os)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	const char	*status;
	int		 rc;

	memset(os, 0, sizeof(*os));
	if ((db = lite_db(l)) == NULL || (st = liteob_prepare(db,
	    "SELECT status, count(*), min(want_at) FROM outbox WHERE sink = ? "
	    "AND status IN ('pending', 'dead') GROUP BY status")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		status = (const char *)sqlite3_column_text(st, 0);
		if (strcmp(status, "pending") == 0) {
			os->pending = sqlite3_column_int64(st, 1);
			os->oldest_at = sqlite3_column_int64(st, 2);
		} else
			os->dead = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * For each sink with a cursor (or only sink), how many entries of the
 * change feed it has not taken into its outbox yet: cb(sink, n, arg).  A
 * read-only handle will do.  Returns 0 or -1.
 */
int
liteob_backlog(struct ledger *l, const char *sink,
    void (*cb)(const char *, int64_t, void *), void *arg)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 rc;

	if ((db = lite_db(l)) == NULL || (st = liteob_prepare(db,
	    "SELECT sink, (SELECT count(*) FROM changes c WHERE c.cursor > "
	    "o.cursor) FROM outbox_cursors o WHERE ?1 IS NULL OR sink = ?1 "
	    "ORDER BY sink")) == NULL)
		return (-1);
	if (sink != NULL)
		sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1), arg);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}
