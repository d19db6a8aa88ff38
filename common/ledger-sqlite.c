/*
 * ledger-sqlite.c: the embedded SQLite ledger backend.
 *
 * WAL mode with synchronous=FULL: a COMMIT returns only after fsync, so an
 * acknowledged batch survives kill -9 and power loss.  Automatic
 * checkpoints are off; the writer calls maintain() between batches so that
 * checkpoint I/O never lands on a reader or inside a commit.  Triggers
 * refuse UPDATE and DELETE on evidence: the ledger is append-only by
 * construction, and the hash chain catches anyone who drops them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "milepost.h"

#define SQLITE_CKPT_PAGES	2000	/* checkpoint when the WAL is larger */

struct sqlite_ledger {
	sqlite3		*db;
	sqlite3_stmt	*insert;
	sqlite3_stmt	*lookup;
	sqlite3_stmt	*sethead;
	int		 wal_pages;
	char		 err[MP_ERRLEN];
};

static const char *sqlite_schema =
	"CREATE TABLE IF NOT EXISTS evidence ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" type TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" time INTEGER NOT NULL,"		/* event time, microseconds */
	" recorded_at INTEGER NOT NULL,"	/* transaction time */
	" properties TEXT NOT NULL,"
	" links TEXT NOT NULL,"
	" hash TEXT NOT NULL,"
	" UNIQUE (source, id));"
	"CREATE TABLE IF NOT EXISTS ledger_head ("
	" k INTEGER PRIMARY KEY CHECK (k = 1),"
	" seq INTEGER NOT NULL,"
	" hash TEXT NOT NULL);"
	"CREATE TRIGGER IF NOT EXISTS evidence_no_update BEFORE UPDATE ON "
	" evidence BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS evidence_no_delete BEFORE DELETE ON "
	" evidence BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;"
	"PRAGMA user_version = 1;";

#define SQ(l)	((struct sqlite_ledger *)(l)->priv)

static const char *
sqlite_error(struct ledger *l)
{
	struct sqlite_ledger	*sq = SQ(l);

	if (sq->err[0] != '\0')
		return (sq->err);
	return (sqlite3_errmsg(sq->db));
}

static int
sqlite_exec(struct ledger *l, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(SQ(l)->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(SQ(l)->err, sizeof(SQ(l)->err), "%s: %s", sql,
		    msg ? msg : "error");
		sqlite3_free(msg);
		return (-1);
	}
	SQ(l)->err[0] = '\0';
	return (0);
}

static int
sqlite_walhook(void *arg, sqlite3 *db, const char *name, int pages)
{
	((struct sqlite_ledger *)arg)->wal_pages = pages;
	return (SQLITE_OK);
}

static void
sqlite_close(struct ledger *l)
{
	struct sqlite_ledger	*sq = SQ(l);

	if (sq == NULL)
		return;
	sqlite3_finalize(sq->insert);
	sqlite3_finalize(sq->lookup);
	sqlite3_finalize(sq->sethead);
	if (sq->db != NULL && !l->readonly)
		sqlite3_wal_checkpoint_v2(sq->db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(sq->db);
	free(sq);
	l->priv = NULL;
}

static int
sqlite_open(struct ledger *l, const char *path, int readonly, char *err,
    size_t errlen)
{
	struct sqlite_ledger	*sq;
	int			 flags;

	if (strncmp(path, "//", 2) == 0)	/* sqlite://PATH */
		path += 2;
	sq = xcalloc(1, sizeof(*sq));
	l->priv = sq;
	flags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (sqlite3_open_v2(path, &sq->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite:%s: %s", path,
		    sq->db ? sqlite3_errmsg(sq->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(sq->db, 5000);
	if (readonly) {
		if (sqlite_exec(l, "PRAGMA query_only = 1;") == -1)
			goto failmsg;
		return (0);
	}
	if (sqlite_exec(l, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA wal_autocheckpoint = 0;") == -1 ||
	    sqlite_exec(l, sqlite_schema) == -1)
		goto failmsg;
	sqlite3_wal_hook(sq->db, sqlite_walhook, sq);
	if (sqlite3_prepare_v3(sq->db,
	    "INSERT INTO evidence (seq, id, source, type, subject, time, "
	    "recorded_at, properties, links, hash) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, id) DO NOTHING",
	    -1, SQLITE_PREPARE_PERSISTENT, &sq->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(sq->db,
	    "SELECT seq, recorded_at, hash FROM evidence WHERE source = ? AND "
	    "id = ?", -1, SQLITE_PREPARE_PERSISTENT, &sq->lookup, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v3(sq->db,
	    "INSERT INTO ledger_head (k, seq, hash) VALUES (1, ?, ?) "
	    "ON CONFLICT (k) DO UPDATE SET seq = excluded.seq, "
	    "hash = excluded.hash", -1, SQLITE_PREPARE_PERSISTENT,
	    &sq->sethead, NULL) != SQLITE_OK)
		goto failmsg;
	return (0);
failmsg:
	snprintf(err, errlen, "sqlite:%s: %s", path, sqlite_error(l));
fail:
	sqlite_close(l);
	return (-1);
}

static int
sqlite_begin(struct ledger *l)
{
	return (sqlite_exec(l, "BEGIN IMMEDIATE;"));
}

static int
sqlite_commit(struct ledger *l)
{
	return (sqlite_exec(l, "COMMIT;"));
}

static void
sqlite_rollback(struct ledger *l)
{
	char	saved[MP_ERRLEN];

	memcpy(saved, SQ(l)->err, sizeof(saved));
	if (sqlite3_get_autocommit(SQ(l)->db) == 0)
		sqlite_exec(l, "ROLLBACK;");
	memcpy(SQ(l)->err, saved, sizeof(saved));
}

static int
sqlite_append(struct ledger *l, struct evidence *ev)
{
	struct sqlite_ledger	*sq = SQ(l);
	sqlite3_stmt		*st = sq->insert;
	int			 rc;

	sq->err[0] = '\0';
	sqlite3_bind_int64(st, 1, ev->seq);
	sqlite3_bind_text(st, 2, ev->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ev->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ev->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, ev->time);
	sqlite3_bind_int64(st, 7, ev->recorded_at);
	sqlite3_bind_text(st, 8, ev->properties, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, ev->links, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, ev->hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return (-1);
	if (sqlite3_changes(sq->db) == 1)
		return (0);

	/* A duplicate: report the stored entry. */
	st = sq->lookup;
	sqlite3_bind_text(st, 1, ev->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev->seq = sqlite3_column_int64(st, 0);
		ev->recorded_at = sqlite3_column_int64(st, 1);
		strlcpy(ev->hash, (const char *)sqlite3_column_text(st, 2),
		    sizeof(ev->hash));
	}
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? 1 : -1);
}

static int
sqlite_head(struct ledger *l, int64_t *seq, char hash[MP_HASHLEN])
{
	sqlite3_stmt	*st;
	int		 rc;

	*seq = 0;
	strlcpy(hash, LEDGER_GENESIS, MP_HASHLEN);
	if (sqlite3_prepare_v2(SQ(l)->db,
	    "SELECT seq, hash FROM ledger_head WHERE k = 1", -1, &st, NULL) !=
	    SQLITE_OK)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		strlcpy(hash, (const char *)sqlite3_column_text(st, 1),
		    MP_HASHLEN);
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1);
}

static int
sqlite_set_head(struct ledger *l, int64_t seq, const char *hash)
{
	sqlite3_stmt	*st = SQ(l)->sethead;
	int		 rc;

	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

static int
sqlite_scan(struct ledger *l, int64_t after, size_t limit, ledger_scan_cb cb,
    void *arg)
{
	struct evidence	 ev;
	sqlite3_stmt	*st;
	int		 rc, n = 0;

	if (sqlite3_prepare_v2(SQ(l)->db,
	    "SELECT seq, id, source, type, subject, time, recorded_at, "
	    "properties, links, hash FROM evidence WHERE seq > ? "
	    "ORDER BY seq LIMIT ?", -1, &st, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		ev.seq = sqlite3_column_int64(st, 0);
		ev.id = (char *)sqlite3_column_text(st, 1);
		ev.source = (char *)sqlite3_column_text(st, 2);
		ev.type = (char *)sqlite3_column_text(st, 3);
		ev.subject = (char *)sqlite3_column_text(st, 4);
		ev.time = sqlite3_column_int64(st, 5);
		ev.recorded_at = sqlite3_column_int64(st, 6);
		ev.properties = (char *)sqlite3_column_text(st, 7);
		ev.links = (char *)sqlite3_column_text(st, 8);
		strlcpy(ev.hash, (const char *)sqlite3_column_text(st, 9),
		    sizeof(ev.hash));
		n++;
		if (cb(&ev, arg) == -1) {
			sqlite3_finalize(st);
			return (-1);
		}
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? n : -1);
}

/* Between batches: checkpoint the WAL once it has grown. */
static void
sqlite_maintain(struct ledger *l)
{
	struct sqlite_ledger	*sq = SQ(l);

	if (sq->wal_pages < SQLITE_CKPT_PAGES)
		return;
	if (sqlite3_wal_checkpoint_v2(sq->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL) != SQLITE_OK)
		log_warnx("%s: %s", __func__, sqlite3_errmsg(sq->db));
	sq->wal_pages = 0;
}

const struct ledger_backend ledger_sqlite = {
	.scheme = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.begin = sqlite_begin,
	.append = sqlite_append,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.head = sqlite_head,
	.set_head = sqlite_set_head,
	.scan = sqlite_scan,
	.maintain = sqlite_maintain,
	.error = sqlite_error,
};
