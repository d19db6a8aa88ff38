/*
 * postgresql-outbox.c: the PostgreSQL backend's change feed, outbox rows
 * and sink cursors; the same tables and answers as sqlite-outbox.c (the
 * policy that fills and drains them is outbox/outbox.c).
 *
 * The change feed's cursor is a BIGSERIAL.  Sequence values are taken at
 * INSERT, so two transactions could commit their cursors out of order and
 * a reader would skip the later-committed lower one; here every writer
 * transaction that appends to the feed holds the chain head's row lock
 * (postgresql.c, pg_begin) from its first statement to COMMIT, so cursors
 * are taken in commit order, on every replica.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgresql.h"

/* Part of schema version 1 (postgresql.c runs it in its migration). */
const char *pgob_schema_v1 =
	"CREATE TABLE changes ("
	" cursor BIGSERIAL PRIMARY KEY,"
	" type TEXT COLLATE \"C\" NOT NULL,"
	" id TEXT COLLATE \"C\" NOT NULL,"
	" revision BIGINT NOT NULL,"
	" recorded_at BIGINT NOT NULL,"
	" tenant TEXT COLLATE \"C\","
	" patch TEXT NOT NULL);"
	"CREATE TABLE outbox ("
	" sink TEXT COLLATE \"C\" NOT NULL,"
	" type TEXT COLLATE \"C\" NOT NULL,"
	" id TEXT COLLATE \"C\" NOT NULL,"
	" want TEXT NOT NULL,"
	" want_rev BIGINT NOT NULL,"
	" want_at BIGINT NOT NULL,"
	" links TEXT NOT NULL,"
	" acked TEXT,"
	" acked_rev BIGINT NOT NULL DEFAULT 0,"
	" etag TEXT,"
	" acked_at BIGINT,"
	" status TEXT COLLATE \"C\" NOT NULL,"
	" attempts BIGINT NOT NULL DEFAULT 0,"
	" next_at BIGINT NOT NULL DEFAULT 0,"
	" gen BIGINT NOT NULL DEFAULT 0,"
	" last_error TEXT,"
	" dead_at BIGINT,"
	" UNIQUE (sink, type, id));"
	"CREATE INDEX outbox_next ON outbox (sink, status, next_at, want_at);"
	"CREATE TABLE outbox_cursors ("
	" sink TEXT COLLATE \"C\" PRIMARY KEY,"
	" cursor BIGINT NOT NULL,"
	" subs TEXT NOT NULL);"
	"CREATE TABLE outbox_sinks ("
	" sink TEXT COLLATE \"C\" PRIMARY KEY,"
	" disabled_at BIGINT NOT NULL,"
	" reason TEXT NOT NULL);";

#define PGOB_ROW_COLS "sink, type, id, want, want_rev, want_at, links, " \
	"acked, acked_rev, etag, status, attempts, next_at, last_error, gen"

int64_t
pgob_feed_append(struct ledger *l, const struct change *ch)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int64_t		 cursor;

	pg_arg_text(&a, ch->type);
	pg_arg_text(&a, ch->id);
	pg_arg_int(&a, ch->revision);
	pg_arg_int(&a, ch->recorded_at);
	pg_arg_text(&a, ch->tenant);
	pg_arg_text(&a, ch->patch);
	if ((res = pg_run(l, "INSERT INTO changes (type, id, revision, "
	    "recorded_at, tenant, patch) VALUES ($1, $2, $3, $4, $5, $6) "
	    "RETURNING cursor", &a, 1)) == NULL)
		return (-1);
	cursor = pg_int(res, 0, 0);
	PQclear(res);
	pg_feed_changed(l);
	return (cursor);
}

/* The last cursor committed, by any replica; -1 on error. */
int64_t
pgob_feed_head(struct ledger *l)
{
	PGresult	*res;
	int64_t		 n;

	if ((res = pg_run(l, "SELECT coalesce(max(cursor), 0) FROM changes",
	    NULL, 1)) == NULL)
		return (-1);
	n = pg_int(res, 0, 0);
	PQclear(res);
	return (n);
}

int
pgob_feed_scan(struct ledger *l, int64_t after, size_t limit,
    const char *tenant, int (*cb)(const struct change *, void *), void *arg)
{
	struct pgargs	 a = { .n = 0 };
	struct change	 ch;
	PGresult	*res;
	int		 i, n;

	pg_arg_int(&a, after);
	pg_arg_int(&a, (int64_t)limit);
	pg_arg_text(&a, tenant);
	if ((res = pg_run(l, "SELECT cursor, type, id, revision, recorded_at, "
	    "tenant, patch FROM changes WHERE cursor > $1 AND ($3::text IS "
	    "NULL OR tenant = $3::text) ORDER BY cursor LIMIT $2", &a, 1)) ==
	    NULL) {
		log_warnx("%s: %s", __func__, ledger_error(l));
		return (-1);
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		ch.cursor = pg_int(res, i, 0);
		ch.type = PQgetvalue(res, i, 1);
		ch.id = PQgetvalue(res, i, 2);
		ch.revision = pg_int(res, i, 3);
		ch.recorded_at = pg_int(res, i, 4);
		ch.tenant = pg_val(res, i, 5);
		ch.patch = PQgetvalue(res, i, 6);
		if (cb(&ch, arg) != 0)
			break;
	}
	PQclear(res);
	return (0);
}

int
pgob_cursor_get(struct ledger *l, const char *sink, int64_t *cursor,
    char subs[MP_HASHLEN])
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 found;

	pg_arg_text(&a, sink);
	if ((res = pg_run(l, "SELECT cursor, subs FROM outbox_cursors WHERE "
	    "sink = $1", &a, 1)) == NULL)
		return (-1);
	if ((found = PQntuples(res) == 1)) {
		*cursor = pg_int(res, 0, 0);
		snprintf(subs, MP_HASHLEN, "%s", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return (found);
}

int
pgob_cursor_set(struct ledger *l, const char *sink, int64_t cursor,
    const char *subs)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, sink);
	pg_arg_int(&a, cursor);
	pg_arg_text(&a, subs);
	return (pg_cmd(l, "INSERT INTO outbox_cursors (sink, cursor, subs) "
	    "VALUES ($1, $2, $3) ON CONFLICT (sink) DO UPDATE SET "
	    "cursor = excluded.cursor, subs = excluded.subs", &a) == -1 ?
	    -1 : 0);
}

/* Drop the cursor of every sink not in names (a JSON array). */
int
pgob_cursor_forget(struct ledger *l, const char *names,
    void (*cb)(const char *))
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 i, n;

	pg_arg_text(&a, names);
	if ((res = pg_run(l, "DELETE FROM outbox_cursors WHERE sink NOT IN "
	    "(SELECT json_array_elements_text($1::json)) RETURNING sink", &a,
	    1)) == NULL)
		return (-1);
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		cb(PQgetvalue(res, i, 0));
	PQclear(res);
	return (0);
}

int
pgob_upsert(struct ledger *l, const char *sink, const char *type,
    const char *id, const char *want, size_t wantlen, int64_t rev, int64_t at,
    const char *links)
{
	struct pgargs	 a = { .n = 0 };
	char		*w;
	int		 rc;

	w = xmalloc(wantlen + 1);
	memcpy(w, want, wantlen);
	w[wantlen] = '\0';
	pg_arg_text(&a, sink);
	pg_arg_text(&a, type);
	pg_arg_text(&a, id);
	pg_arg_text(&a, w);
	pg_arg_int(&a, rev);
	pg_arg_int(&a, at);
	pg_arg_text(&a, links != NULL ? links : "{}");
	rc = pg_cmd(l, "INSERT INTO outbox AS o (sink, type, id, want, "
	    "want_rev, want_at, links, status) VALUES ($1, $2, $3, $4, $5, $6, "
	    "$7, 'pending') ON CONFLICT (sink, type, id) DO UPDATE SET "
	    "want = excluded.want, want_rev = excluded.want_rev, "
	    "want_at = excluded.want_at, links = excluded.links, "
	    "status = CASE WHEN o.status = 'dead' THEN 'dead' ELSE 'pending' "
	    "END, next_at = CASE WHEN o.status = 'done' THEN 0 ELSE o.next_at "
	    "END, attempts = CASE WHEN o.status = 'done' THEN 0 ELSE "
	    "o.attempts END WHERE o.want IS DISTINCT FROM excluded.want AND "
	    "excluded.want_rev >= o.want_rev", &a);
	free(w);
	if (rc == -1) {
		log_warnx("%s: %s", __func__, ledger_error(l));
		return (-1);
	}
	return (0);
}

/* Run sql (bound) and call cb for each row; non-zero stops.  0 or -1. */
static int
pgob_rows(struct ledger *l, const char *sql, struct pgargs *a,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	struct outbox_row	 r;
	PGresult		*res;
	int			 i, n, rc = 0;

	if ((res = pg_run(l, sql, a, 1)) == NULL) {
		log_warnx("outbox: %s", ledger_error(l));
		return (-1);
	}
	n = PQntuples(res);
	for (i = 0; i < n && rc == 0; i++) {
		memset(&r, 0, sizeof(r));
		r.sink = pg_dup(res, i, 0);
		r.type = pg_dup(res, i, 1);
		r.id = pg_dup(res, i, 2);
		r.want = pg_dup(res, i, 3);
		r.want_rev = pg_int(res, i, 4);
		r.want_at = pg_int(res, i, 5);
		r.links = pg_dup(res, i, 6);
		r.acked = pg_dup(res, i, 7);
		r.acked_rev = pg_int(res, i, 8);
		r.etag = pg_dup(res, i, 9);
		r.status = pg_dup(res, i, 10);
		r.attempts = pg_int(res, i, 11);
		r.next_at = pg_int(res, i, 12);
		r.last_error = pg_dup(res, i, 13);
		r.gen = pg_int(res, i, 14);
		rc = cb(&r, arg);
		ledger_row_clear(&r);
	}
	PQclear(res);
	return (0);
}

int
pgob_due(struct ledger *l, const char *sink, int64_t now, size_t limit,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, sink);
	pg_arg_int(&a, now);
	pg_arg_int(&a, (int64_t)limit);
	return (pgob_rows(l, "SELECT " PGOB_ROW_COLS " FROM outbox WHERE "
	    "sink = $1 AND status = 'pending' AND next_at <= $2 ORDER BY "
	    "next_at, want_at LIMIT $3", &a, cb, arg));
}

int
pgob_list(struct ledger *l, const char *sink, const char *status,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, sink);
	pg_arg_text(&a, status);
	return (pgob_rows(l, "SELECT " PGOB_ROW_COLS " FROM outbox WHERE "
	    "($1::text IS NULL OR sink = $1::text) AND (CASE WHEN $2::text IS "
	    "NULL THEN status <> 'done' WHEN $2::text = 'all' THEN true ELSE "
	    "status = $2::text END) ORDER BY sink, want_at, type, id", &a, cb,
	    arg));
}

int
pgob_disabled(struct ledger *l, const char *sink)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 n;

	pg_arg_text(&a, sink);
	if ((res = pg_run(l, "SELECT 1 FROM outbox_sinks WHERE sink = $1", &a,
	    1)) == NULL)
		return (-1);
	n = PQntuples(res);
	PQclear(res);
	return (n > 0);
}

int
pgob_ack(struct ledger *l, const struct outbox_ack *a)
{
	struct pgargs	 p = { .n = 0 };
	const char	*sql;

	pg_arg_text(&p, a->sink);
	switch (a->result) {
	case OUTBOX_DONE:
		sql = "UPDATE outbox SET acked = $4, acked_rev = $5, etag = $6, "
		    "acked_at = $7, attempts = 0, next_at = 0, last_error = NULL, "
		    "status = CASE WHEN want_rev = $5 AND want = $4 THEN 'done' "
		    "ELSE 'pending' END WHERE sink = $1 AND type = $2 AND id = $3";
		break;
	case OUTBOX_RETRY:
		sql = "UPDATE outbox SET attempts = $4, next_at = $6, "
		    "last_error = $5 WHERE sink = $1 AND type = $2 AND id = $3 "
		    "AND status = 'pending'";
		break;
	case OUTBOX_DEAD:
		sql = "UPDATE outbox SET attempts = $4, status = 'dead', "
		    "dead_at = $6, last_error = $5 WHERE sink = $1 AND "
		    "type = $2 AND id = $3 AND status = 'pending'";
		break;
	case OUTBOX_DISABLE:
		sql = "INSERT INTO outbox_sinks (sink, disabled_at, reason) "
		    "VALUES ($1, $3, $2) ON CONFLICT (sink) DO UPDATE SET "
		    "disabled_at = excluded.disabled_at, "
		    "reason = excluded.reason";
		break;
	default:
		return (-1);
	}
	if (a->result != OUTBOX_DISABLE) {
		pg_arg_text(&p, a->type);
		pg_arg_text(&p, a->id);
	}
	if (a->result == OUTBOX_DONE) {
		pg_arg_text(&p, a->sent);
		pg_arg_int(&p, a->sent_rev);
		pg_arg_text(&p, a->etag);
		pg_arg_int(&p, a->now);
	} else {
		if (a->result != OUTBOX_DISABLE)
			pg_arg_int(&p, a->attempts);
		pg_arg_text(&p, a->error ? a->error : "");
		pg_arg_int(&p, a->result == OUTBOX_RETRY ? a->next_at :
		    a->now);
	}
	if (pg_cmd(l, sql, &p) == -1) {
		log_warnx("%s: %s", __func__, ledger_error(l));
		return (-1);
	}
	return (0);
}

/*
 * Statements of retry and replay: $1 sink, then $2 type and $3 id
 * (nargs 3), or $2 since (nargs 2); text may be NULL.
 */
static int64_t
pgob_exec(struct ledger *l, const char *sql, const char *sink,
    const char *type, const char *id, int64_t since, int nargs)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, sink);
	if (nargs == 2)
		pg_arg_int(&a, since);
	if (nargs == 3) {
		pg_arg_text(&a, type);
		pg_arg_text(&a, id);
	}
	return (pg_cmd(l, sql, &a));
}

/*
 * The end of retry and replay: enable sink (or all) again, and commit,
 * or roll back when n is -1.  Their own transaction, read-write even on
 * a read-only handle.  Returns n, or -1.
 */
static int64_t
pgob_enable(struct ledger *l, const char *sink, int64_t n, int own)
{
	if (n == -1 || pgob_exec(l, "DELETE FROM outbox_sinks WHERE $1::text "
	    "IS NULL OR sink = $1::text", sink, NULL, NULL, 0, 1) == -1 ||
	    (own && pg_exec(l, "COMMIT") == -1)) {
		if (own)
			pg_exec(l, "ROLLBACK");
		return (-1);	/* the caller's transaction: it rolls back */
	}
	return (n);
}

/* Its own transaction, or the caller's when one is open (outbox-ops.c
 * appends the audit evidence in the same one): 1 own, 0 joined, -1. */
static int
pgob_begin(struct ledger *l)
{
	if (pg_in_txn(l))
		return (0);
	return (pg_exec(l, "BEGIN READ WRITE") == -1 ? -1 : 1);
}

int64_t
pgob_retry(struct ledger *l, const char *sink, const char *type,
    const char *id)
{
	int64_t	n;
	int	own;

	if ((own = pgob_begin(l)) == -1)
		return (-1);
	n = pgob_exec(l, "UPDATE outbox SET status = 'pending', attempts = 0, "
	    "next_at = 0 WHERE status = 'dead' AND ($1::text IS NULL OR "
	    "sink = $1::text) AND ($2::text IS NULL OR type = $2::text) AND "
	    "($3::text IS NULL OR id = $3::text)", sink, type, id, 0, 3);
	if (n != -1 && pgob_exec(l, "UPDATE outbox SET next_at = 0 WHERE "
	    "status = 'pending' AND ($1::text IS NULL OR sink = $1::text)",
	    sink, NULL, NULL, 0, 1) == -1)
		n = -1;
	return (pgob_enable(l, sink, n, own));
}

int64_t
pgob_replay(struct ledger *l, const char *sink, int64_t since)
{
	int64_t	n;
	int	own;

	if ((own = pgob_begin(l)) == -1)
		return (-1);
	n = pgob_exec(l, "UPDATE outbox SET "
	    "gen = gen + CASE WHEN status = 'done' THEN 1 ELSE 0 END, "
	    "acked = CASE WHEN status = 'done' THEN NULL ELSE acked END, "
	    "acked_rev = CASE WHEN status = 'done' THEN 0 ELSE acked_rev END, "
	    "etag = CASE WHEN status = 'done' THEN NULL ELSE etag END, "
	    "status = 'pending', attempts = 0, next_at = 0 "
	    "WHERE want_at >= $2 AND ($1::text IS NULL OR sink = $1::text)",
	    sink, NULL, NULL, since, 2);
	return (pgob_enable(l, sink, n, own));
}

int64_t
pgob_pending(struct ledger *l, const char *sink, int64_t cap)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int64_t		 n;

	pg_arg_text(&a, sink);
	pg_arg_int(&a, cap);
	if ((res = pg_run(l, "SELECT count(*) FROM (SELECT 1 FROM outbox "
	    "WHERE sink = $1 AND status = 'pending' LIMIT $2) p", &a, 1)) ==
	    NULL)
		return (-1);
	n = pg_int(res, 0, 0);
	PQclear(res);
	return (n);
}

int
pgob_stats(struct ledger *l, const char *sink, struct outbox_stats *os)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 i, n;

	memset(os, 0, sizeof(*os));
	pg_arg_text(&a, sink);
	if ((res = pg_run(l, "SELECT status, count(*), min(want_at) FROM "
	    "outbox WHERE sink = $1 AND status IN ('pending', 'dead') GROUP BY "
	    "status", &a, 1)) == NULL)
		return (-1);
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		if (strcmp(PQgetvalue(res, i, 0), "pending") == 0) {
			os->pending = pg_int(res, i, 1);
			os->oldest_at = pg_int(res, i, 2);
		} else
			os->dead = pg_int(res, i, 1);
	}
	PQclear(res);
	return (0);
}

int
pgob_backlog(struct ledger *l, const char *sink,
    void (*cb)(const char *, int64_t, void *), void *arg)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 i, n;

	pg_arg_text(&a, sink);
	if ((res = pg_run(l, "SELECT sink, (SELECT count(*) FROM changes c "
	    "WHERE c.cursor > o.cursor) FROM outbox_cursors o WHERE $1::text "
	    "IS NULL OR sink = $1::text ORDER BY sink", &a, 1)) == NULL)
		return (-1);
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		cb(PQgetvalue(res, i, 0), pg_int(res, i, 1), arg);
	PQclear(res);
	return (0);
}
