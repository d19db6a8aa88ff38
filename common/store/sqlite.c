/*
 * sqlite.c: the embedded SQLite ledger backend (the evidence, the chain,
 * claims, raw payloads; the change feed and outbox rows are
 * sqlite-outbox.c's).
 *
 * WAL mode with synchronous=FULL: a COMMIT returns only after fsync, so an
 * acknowledged batch survives kill -9 and power loss.  Automatic
 * checkpoints are off; the writer calls maintain() between batches so that
 * checkpoint I/O never lands on a reader or inside a commit.  Triggers
 * refuse UPDATE and DELETE on evidence: the ledger is append-only by
 * construction, and the hash chain catches anyone who drops them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqlite.h"

#define SQLITE_CACHE_KB		"16384"	/* the writer's page cache, KiB */
#define SQLITE_CKPT_PAGES	8000	/* checkpoint when the WAL is larger */


static const char *lite_schema =
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
	"CREATE INDEX IF NOT EXISTS evidence_type_time ON evidence (type, time);"
	"CREATE TABLE IF NOT EXISTS claim_revisions ("
	" type TEXT NOT NULL,"
	" id TEXT NOT NULL,"
	" revision INTEGER NOT NULL,"
	" anchor INTEGER NOT NULL,"		/* event time placing it in a period */
	" time INTEGER NOT NULL,"		/* event time of its cause */
	" recorded_at INTEGER NOT NULL,"	/* transaction time */
	" properties TEXT NOT NULL,"
	" links TEXT NOT NULL,"
	" basis TEXT NOT NULL,"
	" about TEXT,"
	" PRIMARY KEY (type, id, revision)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS claim_anchor ON claim_revisions "
	" (type, anchor);"
	/* A client's reads: its tenant's claims only (lite_claim_list_tenant). */
	"CREATE INDEX IF NOT EXISTS claim_tenant ON claim_revisions "
	" (type, json_extract(links, '$.tenant'), id);"
	"CREATE TABLE IF NOT EXISTS claim_pending ("
	" ctype TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" PRIMARY KEY (ctype, subject, seq)) WITHOUT ROWID;"
	/*
	 * Raw payloads in arrival order (rowid), found by (source,
	 * delivery) through a small index: keyed by the random delivery ids
	 * themselves, the ~1 KB rows were inserted all over the B-tree and
	 * cost more page writes than the evidence.  A delivery with new
	 * evidence is stored at once; one whose evidence is all duplicates
	 * only if its (source, delivery) is not kept yet (ST_RAW_PUT_NEW),
	 * so a redelivery keeps the first.
	 */
	"CREATE TABLE IF NOT EXISTS raw_payloads ("
	" source TEXT NOT NULL,"
	" delivery TEXT NOT NULL,"
	" recorded_at INTEGER NOT NULL,"
	" encoding TEXT NOT NULL,"		/* "lz4": payload.c */
	" body BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS raw_payloads_delivery ON raw_payloads "
	" (source, delivery);"
	"CREATE TRIGGER IF NOT EXISTS raw_payloads_no_update BEFORE UPDATE ON "
	" raw_payloads BEGIN SELECT RAISE(ABORT, 'raw payloads are "
	"append-only'); END;"
	"CREATE TRIGGER IF NOT EXISTS raw_payloads_no_delete BEFORE DELETE ON "
	" raw_payloads BEGIN SELECT RAISE(ABORT, 'raw payloads are "
	"append-only'); END;"
	/* Milestones: a batch's claim revisions; a commit by its SHA. */
	"CREATE INDEX IF NOT EXISTS claim_recorded ON claim_revisions "
	" (type, recorded_at);"
	"CREATE INDEX IF NOT EXISTS evidence_subject ON evidence "
	" (type, subject);"
	"PRAGMA user_version = 3;";

/* The claim tables again, as TEMP shadows for "claims rebuild". */
static const char *lite_shadow =
	"CREATE TEMP TABLE claim_revisions ("
	" type TEXT NOT NULL, id TEXT NOT NULL, revision INTEGER NOT NULL,"
	" anchor INTEGER NOT NULL, time INTEGER NOT NULL,"
	" recorded_at INTEGER NOT NULL, properties TEXT NOT NULL,"
	" links TEXT NOT NULL, basis TEXT NOT NULL, about TEXT,"
	" PRIMARY KEY (type, id, revision)) WITHOUT ROWID;"
	"CREATE INDEX temp.claim_anchor ON claim_revisions (type, anchor);"
	"CREATE TEMP TABLE claim_pending (ctype TEXT NOT NULL,"
	" subject TEXT NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY (ctype, subject, seq)) WITHOUT ROWID;";

enum lite_stmt_id {
	ST_GET = 0,
	ST_CLAIM_GET,
	ST_CLAIM_PUT,
	ST_PENDING_PUT,
	ST_PENDING_SEL,
	ST_PENDING_DEL,
	ST_COLLECT_EV,
	ST_COLLECT_EV1,
	ST_COLLECT_CL,
	ST_RAW_PUT,
	ST_RAW_PUT_NEW,
	ST_RAW_GET,
	ST_CLAIM_REV,
	ST_CLAIM_BEFORE,
	ST_MAX
};
static const char *lite_sql[ST_MAX] = {
	[ST_GET] = "SELECT seq, id, source, type, subject, time, recorded_at, "
	    "properties, links, hash FROM evidence WHERE seq = ?",
	[ST_CLAIM_GET] = "SELECT revision, anchor, time, recorded_at, "
	    "properties, links, basis, about FROM claim_revisions "
	    "WHERE type = ? AND id = ? AND recorded_at <= ? "
	    "ORDER BY revision DESC LIMIT 1",
	[ST_CLAIM_PUT] = "INSERT INTO claim_revisions (type, id, revision, "
	    "anchor, time, recorded_at, properties, links, basis, about) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_PENDING_PUT] = "INSERT OR IGNORE INTO claim_pending (ctype, "
	    "subject, seq) VALUES (?, ?, ?)",
	[ST_PENDING_SEL] = "SELECT seq FROM claim_pending WHERE ctype = ? AND "
	    "subject = ? ORDER BY seq",
	[ST_PENDING_DEL] = "DELETE FROM claim_pending WHERE ctype = ? AND "
	    "subject = ?",
	[ST_COLLECT_EV] = "SELECT printf('#%020d', seq), time, subject, "
	    "properties, links FROM evidence WHERE type = ? AND time >= ? AND "
	    "time < ? AND seq <= ? ORDER BY time DESC, seq DESC LIMIT ?",
	/* The first of each subject (a later one is another witness). */
	[ST_COLLECT_EV1] = "SELECT printf('#%020d', e.seq), e.time, "
	    "e.subject, e.properties, e.links FROM evidence e WHERE "
	    "e.type = ?1 AND e.time >= ?2 AND e.time < ?3 AND e.seq <= ?4 AND "
	    "(e.subject = '' OR NOT EXISTS (SELECT 1 FROM evidence w WHERE "
	    "w.type = e.type AND w.subject = e.subject AND w.seq < e.seq)) "
	    "ORDER BY e.time DESC, e.seq DESC LIMIT ?5",
	[ST_COLLECT_CL] = "SELECT c.id, c.anchor, c.id, c.properties, c.links "
	    "FROM claim_revisions c WHERE c.type = ?1 AND c.anchor >= ?2 AND "
	    "c.anchor < ?3 AND ?4 = ?4 AND c.revision = (SELECT max(revision) "
	    "FROM claim_revisions m WHERE m.type = c.type AND m.id = c.id) "
	    "ORDER BY c.anchor DESC, c.id DESC LIMIT ?5",
	[ST_RAW_PUT] = "INSERT INTO raw_payloads (source, delivery, "
	    "recorded_at, encoding, body) VALUES (?, ?, ?, ?, ?)",
	[ST_RAW_PUT_NEW] = "INSERT INTO raw_payloads (source, delivery, "
	    "recorded_at, encoding, body) SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT "
	    "EXISTS (SELECT 1 FROM raw_payloads WHERE source = ?1 AND "
	    "delivery = ?2)",
	[ST_RAW_GET] = "SELECT recorded_at, encoding, body FROM raw_payloads "
	    "WHERE source = ? AND delivery = ? ORDER BY rowid LIMIT 1",
	[ST_CLAIM_REV] = "SELECT revision, anchor, time, recorded_at, "
	    "properties, links, basis, about FROM claim_revisions WHERE "
	    "type = ? AND id = ? AND revision = ?",
	[ST_CLAIM_BEFORE] = "SELECT revision, anchor, time, recorded_at, "
	    "properties, links, basis, about FROM claim_revisions WHERE "
	    "type = ? AND id = ? AND revision < ? ORDER BY revision DESC "
	    "LIMIT 1",
};

struct lite {
	sqlite3		*db;
	sqlite3_stmt	*insert;
	sqlite3_stmt	*lookup;
	sqlite3_stmt	*sethead;
	sqlite3_stmt	*st[ST_MAX];
	int		 wal_pages;
	char		 err[MP_ERRLEN];
	void		*outbox;	/* sqlite-outbox.c's statements */
};

#define SQ(l)	((struct lite *)(l)->priv)

static const char *
lite_error(struct ledger *l)
{
	struct lite	*sq = SQ(l);

	if (sq->err[0] != '\0')
		return (sq->err);
	return (sqlite3_errmsg(sq->db));
}

static int
lite_exec(struct ledger *l, const char *sql)
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
lite_walhook(void *arg, sqlite3 *db, const char *name, int pages)
{
	((struct lite *)arg)->wal_pages = pages;
	return (SQLITE_OK);
}

static void
lite_close(struct ledger *l)
{
	struct lite	*sq = SQ(l);

	if (sq == NULL)
		return;
	sqlite3_finalize(sq->insert);
	sqlite3_finalize(sq->lookup);
	sqlite3_finalize(sq->sethead);
	for (int i = 0; i < ST_MAX; i++)
		sqlite3_finalize(sq->st[i]);
	liteob_close(l);
	if (sq->db != NULL && !l->readonly)
		sqlite3_wal_checkpoint_v2(sq->db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(sq->db);
	free(sq);
	l->priv = NULL;
}

/*
 * Create the database file, if it is not there, with mode (0600, or 0640
 * with a group) whatever the umask: SQLite gives its WAL and shared-memory
 * files the database file's mode, so they stay as private as it is.
 * Returns 0, or -1 with err set.
 */
static int
lite_create(const char *path, mode_t mode, char *err, size_t errlen)
{
	struct stat	st;
	int		fd;

	if (strcmp(path, ":memory:") == 0 || path[0] == '\0')
		return (0);
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		if (errno == EEXIST && lstat(path, &st) == 0) {
			if ((st.st_mode & 007) != 0)
				log_warn("%s: sqlite:%s is readable or "
				    "writable by others (mode %04o); it holds "
				    "raw payloads: chmod 600 it", __func__,
				    path, (unsigned)(st.st_mode & 07777));
			return (0);
		}
		snprintf(err, errlen, "sqlite:%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fchmod(fd, mode) == -1) {
		snprintf(err, errlen, "sqlite:%s: chmod: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return (-1);
	}
	close(fd);
	return (0);
}

static int
lite_open(struct ledger *l, const char *path, int readonly, char *err,
    size_t errlen)
{
	struct lite	*sq;
	int			 flags;

	if (strncmp(path, "//", 2) == 0)	/* sqlite://PATH */
		path += 2;
	if (!readonly && lite_create(path, (l->flags & LEDGER_GROUP) != 0 ?
	    0640 : 0600, err, errlen) == -1)
		return (-1);
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
		if (lite_exec(l, "PRAGMA query_only = 1;") == -1)
			goto failmsg;
		return (0);
	}
	/*
	 * The writer's page cache: the dedup index (source, id) and the
	 * subject index take random keys (delivery UUIDs, commit SHAs), so
	 * with SQLite's default 2 MB most inserts read their index page back
	 * from the kernel.  SQLITE_CACHE_KB bounds it (RSS: bench/rss).
	 */
	if (lite_exec(l, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA wal_autocheckpoint = 0;"
	    "PRAGMA cache_size = -" SQLITE_CACHE_KB ";") == -1 ||
	    lite_exec(l, lite_schema) == -1 || liteob_schema(l) == -1)
		goto failmsg;
	sqlite3_wal_hook(sq->db, lite_walhook, sq);
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
	snprintf(err, errlen, "sqlite:%s: %s", path, lite_error(l));
fail:
	lite_close(l);
	return (-1);
}

static int
lite_begin(struct ledger *l)
{
	return (lite_exec(l, "BEGIN IMMEDIATE;"));
}

static int
lite_commit(struct ledger *l)
{
	return (lite_exec(l, "COMMIT;"));
}

static void
lite_rollback(struct ledger *l)
{
	char	saved[MP_ERRLEN];

	memcpy(saved, SQ(l)->err, sizeof(saved));
	if (sqlite3_get_autocommit(SQ(l)->db) == 0)
		lite_exec(l, "ROLLBACK;");
	memcpy(SQ(l)->err, saved, sizeof(saved));
}

static int
lite_append(struct ledger *l, struct evidence *ev)
{
	struct lite	*sq = SQ(l);
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
lite_head(struct ledger *l, int64_t *seq, char hash[MP_HASHLEN])
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
lite_set_head(struct ledger *l, int64_t seq, const char *hash)
{
	sqlite3_stmt	*st = SQ(l)->sethead;
	int		 rc;

	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * Call cb for each row of st, whose columns are seq, id, source, type,
 * subject, time, recorded_at, properties, links, hash; the evidence it
 * gets is borrowed from st.  A cb that returns -1 stops the loop: an error
 * (-1), or, with stop_ok, the caller's wish (the rows so far).  Returns
 * the number of rows given to cb, or -1.
 */
static int
lite_evidence_each(sqlite3_stmt *st, ledger_scan_cb cb, void *arg,
    int stop_ok)
{
	struct evidence	 ev;
	int		 rc, n = 0;

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
		if (cb(&ev, arg) == -1)
			return (stop_ok ? n : -1);
	}
	return (rc == SQLITE_DONE ? n : -1);
}

static int
lite_scan(struct ledger *l, int64_t after, size_t limit, ledger_scan_cb cb,
    void *arg)
{
	sqlite3_stmt	*st;
	int		 n;

	if (sqlite3_prepare_v2(SQ(l)->db,
	    "SELECT seq, id, source, type, subject, time, recorded_at, "
	    "properties, links, hash FROM evidence WHERE seq > ? "
	    "ORDER BY seq LIMIT ?", -1, &st, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
	n = lite_evidence_each(st, cb, arg, 0);
	sqlite3_finalize(st);
	return (n);
}

/* Between batches: checkpoint the WAL once it has grown. */
static void
lite_maintain(struct ledger *l)
{
	struct lite	*sq = SQ(l);

	if (sq->wal_pages < SQLITE_CKPT_PAGES)
		return;
	if (sqlite3_wal_checkpoint_v2(sq->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL) != SQLITE_OK)
		log_warnx("%s: %s", __func__, sqlite3_errmsg(sq->db));
	sq->wal_pages = 0;
}


/* A cached statement, prepared on first use (after any TEMP shadows). */
static sqlite3_stmt *
lite_st(struct ledger *l, enum lite_stmt_id id)
{
	struct lite	*sq = SQ(l);

	if (sq->st[id] == NULL && sqlite3_prepare_v3(sq->db, lite_sql[id],
	    -1, SQLITE_PREPARE_PERSISTENT, &sq->st[id], NULL) != SQLITE_OK)
		return (NULL);
	sqlite3_reset(sq->st[id]);
	sqlite3_clear_bindings(sq->st[id]);
	return (sq->st[id]);
}

static char *
lite_coltext(sqlite3_stmt *st, int i)
{
	const unsigned char	*t = sqlite3_column_text(st, i);

	return (t ? xstrdup((const char *)t) : NULL);
}

/* One evidence by sequence number: 1 found (*evp new), 0 not, -1. */
static int
lite_get(struct ledger *l, int64_t seq, struct evidence **evp)
{
	struct evidence	*ev;
	sqlite3_stmt	*st;
	int		 rc;

	*evp = NULL;
	if ((st = lite_st(l, ST_GET)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev = evidence_new();
		ev->seq = sqlite3_column_int64(st, 0);
		ev->id = lite_coltext(st, 1);
		ev->source = lite_coltext(st, 2);
		ev->type = lite_coltext(st, 3);
		ev->subject = lite_coltext(st, 4);
		ev->time = sqlite3_column_int64(st, 5);
		ev->recorded_at = sqlite3_column_int64(st, 6);
		ev->properties = lite_coltext(st, 7);
		ev->links = lite_coltext(st, 8);
		strlcpy(ev->hash, (const char *)sqlite3_column_text(st, 9),
		    sizeof(ev->hash));
		*evp = ev;
	}
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

static void
lite_claim_row(sqlite3_stmt *st, int base, struct claim *c)
{
	c->revision = sqlite3_column_int64(st, base);
	c->anchor = sqlite3_column_int64(st, base + 1);
	c->time = sqlite3_column_int64(st, base + 2);
	c->recorded_at = sqlite3_column_int64(st, base + 3);
	c->properties = lite_coltext(st, base + 4);
	c->links = lite_coltext(st, base + 5);
	c->basis = lite_coltext(st, base + 6);
	c->about = lite_coltext(st, base + 7);
}

/*
 * Step st (taken: finalized here) over claim revisions of type, calling
 * cb with each; the row is (id, revision, …) when id is NULL, else
 * (revision, …) of that id.  cb returning -1 stops with an error.
 * Returns the rows seen, or -1.
 */
static int
lite_claim_each(sqlite3_stmt *st, const char *type, const char *id,
    int (*cb)(const struct claim *, void *), void *arg)
{
	struct claim	c;
	int		rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		c.type = xstrdup(type);
		c.id = id != NULL ? xstrdup(id) : lite_coltext(st, 0);
		lite_claim_row(st, id != NULL ? 0 : 1, &c);
		n++;
		rc = cb(&c, arg);
		claim_clear(&c);
		if (rc == -1)
			break;
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? n : -1);
}

/*
 * One revision of (type, id) by statement sid, whose third parameter is n
 * (as_of or a revision), into c.  1 found, 0 not, -1.
 */
static int
lite_claim_one(struct ledger *l, enum lite_stmt_id sid, const char *type,
    const char *id, int64_t n, struct claim *c)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = lite_st(l, sid)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c->type = xstrdup(type);
		c->id = xstrdup(id);
		lite_claim_row(st, 0, c);
	}
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/*
 * The revision of (type, id) believed at transaction time as_of (INT64_MAX:
 * the latest) into c (cleared by the caller).  1 found, 0 not, -1.
 */
static int
lite_claim_get(struct ledger *l, const char *type, const char *id,
    int64_t as_of, struct claim *c)
{
	return (lite_claim_one(l, ST_CLAIM_GET, type, id, as_of, c));
}

/*
 * Revision rev of (type, id), or with before the newest revision before
 * rev, into c (cleared by the caller).  1 found, 0 not, -1.
 */
static int
lite_claim_rev(struct ledger *l, const char *type, const char *id,
    int64_t rev, int before, struct claim *c)
{
	return (lite_claim_one(l, before ? ST_CLAIM_BEFORE : ST_CLAIM_REV,
	    type, id, rev, c));
}

static int
lite_claim_put(struct ledger *l, const struct claim *c)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = lite_st(l, ST_CLAIM_PUT)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, c->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->revision);
	sqlite3_bind_int64(st, 4, c->anchor);
	sqlite3_bind_int64(st, 5, c->time);
	sqlite3_bind_int64(st, 6, c->recorded_at);
	sqlite3_bind_text(st, 7, c->properties, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, c->links ? c->links : "{}", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 9, c->basis ? c->basis : "[]", -1,
	    SQLITE_STATIC);
	if (c->about != NULL)
		sqlite3_bind_text(st, 10, c->about, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * The latest revision (at as_of) of each claim of type with id > after,
 * in id order, at most limit; cb for each.  Returns the count or -1.
 */
static int
lite_claim_list(struct ledger *l, const char *type, const char *after,
    size_t limit, int64_t as_of, int (*cb)(const struct claim *, void *),
    void *arg)
{
	sqlite3_stmt	*st;

	/*
	 * One pass in primary key order: with max(), SQLite takes the bare
	 * columns from the row holding the maximum, so no subquery per row.
	 */
	if (sqlite3_prepare_v2(SQ(l)->db,
	    "SELECT id, max(revision), anchor, time, recorded_at, properties, "
	    "links, basis, about FROM claim_revisions WHERE type = ?1 AND "
	    "id > ?2 AND recorded_at <= ?3 GROUP BY id ORDER BY id LIMIT ?4",
	    -1, &st, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, as_of);
	sqlite3_bind_int64(st, 4, limit ? (sqlite3_int64)limit : -1);
	return (lite_claim_each(st, type, NULL, cb, arg));
}

/*
 * As lite_claim_list, for the claims whose latest revision (at as_of)
 * carries links.tenant = tenant: the claim_tenant index finds the
 * tenant's rows (INDEXED BY: never a scan of every tenant's, whatever
 * the planner guesses), so the cost follows the tenant's claims.
 * A claim whose tenant changed is taken only if its latest revision
 * still has this one (the HAVING).
 */
static int
lite_claim_list_tenant(struct ledger *l, const char *type,
    const char *tenant, const char *after, size_t limit, int64_t as_of,
    int (*cb)(const struct claim *, void *), void *arg)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(SQ(l)->db,
	    "SELECT id, max(revision), anchor, time, recorded_at, properties, "
	    "links, basis, about FROM claim_revisions c INDEXED BY "
	    "claim_tenant WHERE type = ?1 AND "
	    "json_extract(links, '$.tenant') = ?5 AND id > ?2 AND "
	    "recorded_at <= ?3 GROUP BY id HAVING max(revision) = (SELECT "
	    "max(revision) FROM claim_revisions r WHERE r.type = ?1 AND "
	    "r.id = c.id AND r.recorded_at <= ?3) ORDER BY id LIMIT ?4",
	    -1, &st, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, as_of);
	sqlite3_bind_int64(st, 4, limit ? (sqlite3_int64)limit : -1);
	sqlite3_bind_text(st, 5, tenant, -1, SQLITE_STATIC);
	return (lite_claim_each(st, type, NULL, cb, arg));
}

/* How many claims of type there are, by the primary key; -1 on error. */
static int64_t
lite_claim_count(struct ledger *l, const char *type)
{
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	if (sqlite3_prepare_v2(SQ(l)->db, "SELECT count(*) FROM (SELECT "
	    "DISTINCT id FROM claim_revisions WHERE type = ?1)", -1, &st,
	    NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (n);
}

/*
 * Every revision of type's claims with recorded_at (by 0) or anchor (by 1)
 * in [from, to), in (id, revision) order, at most limit.  Returns the
 * count or -1.
 */
static int
lite_claim_scan(struct ledger *l, const char *type, int by, int64_t from,
    int64_t to, size_t limit, int (*cb)(const struct claim *, void *),
    void *arg)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(SQ(l)->db, by ?
	    "SELECT id, revision, anchor, time, recorded_at, properties, "
	    "links, basis, about FROM claim_revisions WHERE type = ?1 AND "
	    "anchor >= ?2 AND anchor < ?3 ORDER BY id, revision LIMIT ?4" :
	    "SELECT id, revision, anchor, time, recorded_at, properties, "
	    "links, basis, about FROM claim_revisions WHERE type = ?1 AND "
	    "recorded_at >= ?2 AND recorded_at < ?3 ORDER BY id, revision "
	    "LIMIT ?4", -1, &st, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, limit ? (sqlite3_int64)limit : -1);
	return (lite_claim_each(st, type, NULL, cb, arg));
}

/* Each source's latest trusted event time up to max_seq (one pass). */
static int
lite_source_times(struct ledger *l, int64_t max_seq, int64_t ahead,
    void (*cb)(const char *, int64_t, void *), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(SQ(l)->db, "SELECT source, max(time) FROM "
	    "evidence WHERE seq <= ?1 AND time <= recorded_at + ?2 GROUP BY "
	    "source", -1, &st, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_int64(st, 1, max_seq);
	sqlite3_bind_int64(st, 2, ahead);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1), arg);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * Evidence of type whose subject is s, or (s of 7 characters or more,
 * with no GLOB metacharacters) starts with s; newest first.
 */
static int
lite_subject_find(struct ledger *l, const char *type, const char *s,
    int64_t max_seq, size_t limit, ledger_scan_cb cb, void *arg)
{
	sqlite3_stmt	*st;
	char		*pat = NULL;
	int		 n, prefix;

	prefix = strlen(s) >= 7 && strpbrk(s, "*?[]") == NULL;
	if (sqlite3_prepare_v2(SQ(l)->db, prefix ?
	    "SELECT seq, id, source, type, subject, time, recorded_at, "
	    "properties, links, hash FROM evidence WHERE type = ?1 AND "
	    "subject GLOB ?2 AND seq <= ?4 ORDER BY seq DESC LIMIT ?3" :
	    "SELECT seq, id, source, type, subject, time, recorded_at, "
	    "properties, links, hash FROM evidence WHERE type = ?1 AND "
	    "subject = ?2 AND seq <= ?4 ORDER BY seq DESC LIMIT ?3", -1, &st,
	    NULL) !=
	    SQLITE_OK)
		return (-1);
	if (prefix)
		xasprintf(&pat, "%s*", s);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, prefix ? pat : s, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit ? (sqlite3_int64)limit : -1);
	sqlite3_bind_int64(st, 4, max_seq > 0 ? max_seq : INT64_MAX);
	n = lite_evidence_each(st, cb, arg, 1);
	sqlite3_finalize(st);
	free(pat);
	return (n);
}

static int
lite_pending_put(struct ledger *l, const char *ctype, const char *subject,
    int64_t seq)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = lite_st(l, ST_PENDING_PUT)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, ctype, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/* Take (return and delete) the held sequence numbers for (ctype, subject). */
static int
lite_pending_take(struct ledger *l, const char *ctype, const char *subject,
    int64_t **seqs, size_t *n)
{
	sqlite3_stmt	*st;
	int		 rc;

	*seqs = NULL;
	*n = 0;
	if ((st = lite_st(l, ST_PENDING_SEL)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, ctype, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*seqs = xreallocarray(*seqs, *n + 1, sizeof(**seqs));
		(*seqs)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return (-1);
	if (*n == 0)
		return (0);
	if ((st = lite_st(l, ST_PENDING_DEL)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, ctype, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * The `limit` (0: all) most recent items of type in [from, to), newest
 * first: evidence up to max_seq (key "#<seq>") (claims 0; 2: only the
 * first evidence of its type for each subject), or the latest revision of
 * each claim anchored there (key = claim id) (claims 1).  cb(key, time, subject,
 * properties, links) returns 0, or -1 to stop there.
 */
static int
lite_collect(struct ledger *l, const char *type, int claims, int64_t from,
    int64_t to, int64_t max_seq, size_t limit,
    int (*cb)(const char *, int64_t, const char *, const char *,
    const char *, void *), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = lite_st(l, claims == 1 ? ST_COLLECT_CL : claims == 2 ?
	    ST_COLLECT_EV1 : ST_COLLECT_EV)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	sqlite3_bind_int64(st, 4, max_seq);
	sqlite3_bind_int64(st, 5, limit ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb((const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4), arg) == -1)
			break;
	}
	sqlite3_reset(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1);
}

/*
 * Keep a raw payload (already compressed); with ifnew, only when no
 * payload of (source, delivery) is kept yet.
 */
static int
lite_raw_put(struct ledger *l, const char *source, const char *delivery,
    int64_t recorded_at, const char *encoding, const void *body, size_t len,
    int ifnew)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = lite_st(l, ifnew ? ST_RAW_PUT_NEW : ST_RAW_PUT)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, delivery, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, recorded_at);
	sqlite3_bind_text(st, 4, encoding, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, body, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/* A stored raw payload, still compressed: 1 found, 0 not, -1 error. */
static int
lite_raw_get(struct ledger *l, const char *source, const char *delivery,
    int64_t *recorded_at, struct buf *encoding, struct buf *body)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = lite_st(l, ST_RAW_GET)) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, delivery, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*recorded_at = sqlite3_column_int64(st, 0);
		buf_reset(encoding);
		buf_adds(encoding, (const char *)sqlite3_column_text(st, 1));
		buf_reset(body);
		buf_add(body, sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2));
	}
	sqlite3_reset(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/* Shadow the claim tables with empty TEMP ones, for a rebuild. */
static int
lite_rebuild_begin(struct ledger *l)
{
	struct lite	*sq = SQ(l);
	int			 i;

	for (i = 0; i < ST_MAX; i++) {
		sqlite3_finalize(sq->st[i]);
		sq->st[i] = NULL;
	}
	/* One transaction for the whole replay; only TEMP is written. */
	if (lite_exec(l, "PRAGMA query_only = 0;") == -1 ||
	    lite_exec(l, lite_shadow) == -1)
		return (-1);
	return (lite_exec(l, "BEGIN;"));
}

/*
 * Order two rows of a merge by their first nkey columns (text or integer,
 * as the primary keys are), then say whether all ncol columns are equal.
 */
static int
lite_keycmp(sqlite3_stmt *a, sqlite3_stmt *b, int nkey)
{
	sqlite3_int64	x, y;
	int		i, na, nb, c;

	for (i = 0; i < nkey; i++) {
		if (sqlite3_column_type(a, i) == SQLITE_INTEGER &&
		    sqlite3_column_type(b, i) == SQLITE_INTEGER) {
			x = sqlite3_column_int64(a, i);
			y = sqlite3_column_int64(b, i);
			if (x != y)
				return (x < y ? -1 : 1);
			continue;
		}
		sqlite3_column_text(a, i);
		sqlite3_column_text(b, i);
		na = sqlite3_column_bytes(a, i);
		nb = sqlite3_column_bytes(b, i);
		if ((c = memcmp(sqlite3_column_text(a, i),
		    sqlite3_column_text(b, i), na < nb ? na : nb)) != 0)
			return (c);
		if (na != nb)
			return (na < nb ? -1 : 1);
	}
	return (0);
}

static int
lite_roweq(sqlite3_stmt *a, sqlite3_stmt *b, int ncol)
{
	int	i, t, n;

	for (i = 0; i < ncol; i++) {
		if ((t = sqlite3_column_type(a, i)) != sqlite3_column_type(b, i))
			return (0);
		switch (t) {
		case SQLITE_NULL:
			break;
		case SQLITE_INTEGER:
			if (sqlite3_column_int64(a, i) !=
			    sqlite3_column_int64(b, i))
				return (0);
			break;
		case SQLITE_FLOAT:
			if (sqlite3_column_double(a, i) !=
			    sqlite3_column_double(b, i))
				return (0);
			break;
		default:
			n = sqlite3_column_bytes(a, i);
			if (n != sqlite3_column_bytes(b, i) || memcmp(
			    sqlite3_column_blob(a, i), sqlite3_column_blob(b, i),
			    n) != 0)
				return (0);
			break;
		}
	}
	return (1);
}

/*
 * Merge main.table against temp.table, both read in primary key order (no
 * sort, no temporary index): the first stored row that was not rebuilt
 * identically, else the first rebuilt row not stored, as "what: k1/k2
 * revision k3" in diff.  Rows of both are those whose tcol is one of
 * temp.rebuild_types.  Returns 0 (diff empty when equal) or -1.
 */
static int
lite_merge_diff(struct ledger *l, const char *cols, const char *key,
    int nkey, int ncol, const char *table, const char *tcol,
    const char *gone, const char *added, char *diff, size_t len)
{
	sqlite3_stmt	*a = NULL, *b = NULL, *which = NULL;
	const char	*what = NULL;
	char		 sql[768], extra[MP_ERRLEN];
	int		 ra, rb, c, rc = -1;

	/* Only the types the rebuild derives (temp.rebuild_types). */
	diff[0] = extra[0] = '\0';
	snprintf(sql, sizeof(sql), "SELECT %s FROM main.%s WHERE %s IN "
	    "(SELECT type FROM temp.rebuild_types) ORDER BY %s", cols, table,
	    tcol, key);
	if (sqlite3_prepare_v2(SQ(l)->db, sql, -1, &a, NULL) != SQLITE_OK)
		goto out;
	snprintf(sql, sizeof(sql), "SELECT %s FROM temp.%s WHERE %s IN "
	    "(SELECT type FROM temp.rebuild_types) ORDER BY %s", cols, table,
	    tcol, key);
	if (sqlite3_prepare_v2(SQ(l)->db, sql, -1, &b, NULL) != SQLITE_OK)
		goto out;
	ra = sqlite3_step(a);
	rb = sqlite3_step(b);
	while (ra == SQLITE_ROW || rb == SQLITE_ROW) {
		c = ra != SQLITE_ROW ? 1 : rb != SQLITE_ROW ? -1 :
		    lite_keycmp(a, b, nkey);
		if (c <= 0 && (c < 0 || !lite_roweq(a, b, ncol))) {
			which = a;	/* stored, not rebuilt: reported first */
			what = gone;
			break;
		}
		if (c > 0 && extra[0] == '\0')
			snprintf(extra, sizeof(extra), "%s: %s/%s revision "
			    "%lld", added, sqlite3_column_text(b, 0),
			    sqlite3_column_text(b, 1),
			    (long long)sqlite3_column_int64(b, 2));
		if (c >= 0)
			rb = sqlite3_step(b);
		if (c <= 0)
			ra = sqlite3_step(a);
	}
	if (which != NULL)
		snprintf(diff, len, "%s: %s/%s revision %lld", what,
		    sqlite3_column_text(which, 0),
		    sqlite3_column_text(which, 1),
		    (long long)sqlite3_column_int64(which, 2));
	else if ((ra != SQLITE_DONE && ra != SQLITE_ROW) ||
	    (rb != SQLITE_DONE && rb != SQLITE_ROW))
		goto out;
	else
		snprintf(diff, len, "%s", extra);
	rc = 0;
out:
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	return (rc);
}

/*
 * Compare the rebuilt (temp) claim tables with the stored (main) ones, by
 * merging each pair in primary key order: linear, where EXCEPT built a
 * temporary index of each side.
 */
static int
lite_rebuild_diff(struct ledger *l, const char *const *types, char *diff,
    size_t len, char *skipped, size_t slen)
{
	sqlite3_stmt	*st;
	size_t		 n = 0;
	int		 rc;

	diff[0] = skipped[0] = '\0';
	if (lite_exec(l, "CREATE TEMP TABLE IF NOT EXISTS rebuild_types "
	    "(type TEXT PRIMARY KEY); DELETE FROM temp.rebuild_types;") == -1)
		return (-1);
	if (sqlite3_prepare_v2(SQ(l)->db, "INSERT OR IGNORE INTO "
	    "temp.rebuild_types VALUES (?1)", -1, &st, NULL) != SQLITE_OK)
		return (-1);
	for (rc = SQLITE_DONE; types != NULL && *types != NULL &&
	    rc == SQLITE_DONE; types++) {
		sqlite3_bind_text(st, 1, *types, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (-1);
	if (lite_merge_diff(l, "type, id, revision, anchor, time, "
	    "recorded_at, properties, links, basis, about",
	    "type, id, revision", 3, 10, "claim_revisions", "type",
	    "stored but not rebuilt", "rebuilt but not stored", diff,
	    len) == -1)
		return (-1);
	if (diff[0] == '\0' && lite_merge_diff(l, "ctype, subject, seq",
	    "ctype, subject, seq", 3, 3, "claim_pending", "ctype",
	    "held revision differs", "held revision differs", diff,
	    len) == -1)
		return (-1);
	/* What was stored under types this configuration does not derive. */
	if (sqlite3_prepare_v2(SQ(l)->db, "SELECT type, count(DISTINCT id) "
	    "FROM main.claim_revisions WHERE type NOT IN (SELECT type FROM "
	    "temp.rebuild_types) GROUP BY type ORDER BY type", -1, &st,
	    NULL) != SQLITE_OK)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = strlen(skipped);
		snprintf(skipped + n, slen - n, "%s%s (%lld claim%s)", n ?
		    ", " : "", sqlite3_column_text(st, 0),
		    (long long)sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 1) == 1 ? "" : "s");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (-1);
	return (lite_exec(l, "ROLLBACK;"));
}

/* Every revision of (type, id) recorded up to as_of, oldest first. */
static int
lite_claim_history(struct ledger *l, const char *type, const char *id,
    int64_t as_of, int (*cb)(const struct claim *, void *), void *arg)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(SQ(l)->db, "SELECT revision, anchor, time, "
	    "recorded_at, properties, links, basis, about FROM "
	    "claim_revisions WHERE type = ?1 AND id = ?2 AND recorded_at <= ?3 "
	    "ORDER BY revision", -1, &st, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, as_of);
	return (lite_claim_each(st, type, id, cb, arg) == -1 ? -1 : 0);
}

/* Every raw payload in arrival order (ledger copy). */
static int
lite_raw_scan(struct ledger *l, ledger_raw_cb cb, void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(SQ(l)->db, "SELECT source, delivery, "
	    "recorded_at, encoding, body FROM raw_payloads ORDER BY rowid", -1,
	    &st, NULL) != SQLITE_OK)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb((const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    sqlite3_column_int64(st, 2),
		    (const char *)sqlite3_column_text(st, 3),
		    sqlite3_column_blob(st, 4),
		    (size_t)sqlite3_column_bytes(st, 4), arg) == -1)
			break;
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/* Every claim revision, in (type, id, revision) order (ledger copy). */
static int
lite_claim_all(struct ledger *l, ledger_claim_cb cb, void *arg)
{
	sqlite3_stmt	*st;
	struct claim	 c;
	int		 rc;

	if (sqlite3_prepare_v2(SQ(l)->db, "SELECT type, id, revision, anchor, "
	    "time, recorded_at, properties, links, basis, about FROM "
	    "claim_revisions ORDER BY type, id, revision", -1, &st, NULL) !=
	    SQLITE_OK)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		c.type = lite_coltext(st, 0);
		c.id = lite_coltext(st, 1);
		lite_claim_row(st, 2, &c);
		rc = cb(&c, arg);
		claim_clear(&c);
		if (rc == -1)
			break;
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/* Every held revision (ledger copy). */
static int
lite_pending_all(struct ledger *l, int (*cb)(const char *, const char *,
    int64_t, void *), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(SQ(l)->db, "SELECT ctype, subject, seq FROM "
	    "claim_pending ORDER BY ctype, subject, seq", -1, &st, NULL) !=
	    SQLITE_OK)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb((const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    sqlite3_column_int64(st, 2), arg) == -1)
			break;
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/* The schema's version (PRAGMA user_version, set by lite_schema). */
static int
lite_schema_version(struct ledger *l)
{
	return (3);
}

const struct ledger_backend ledger_sqlite = {
	.scheme = "sqlite",
	.open = lite_open,
	.close = lite_close,
	.begin = lite_begin,
	.append = lite_append,
	.commit = lite_commit,
	.rollback = lite_rollback,
	.head = lite_head,
	.set_head = lite_set_head,
	.scan = lite_scan,
	.maintain = lite_maintain,
	.error = lite_error,
	.get = lite_get,
	.claim_get = lite_claim_get,
	.claim_put = lite_claim_put,
	.claim_count = lite_claim_count,
	.claim_list = lite_claim_list,
	.claim_list_tenant = lite_claim_list_tenant,
	.pending_put = lite_pending_put,
	.pending_take = lite_pending_take,
	.collect = lite_collect,
	.raw_put = lite_raw_put,
	.raw_get = lite_raw_get,
	.claim_scan = lite_claim_scan,
	.source_times = lite_source_times,
	.subject_find = lite_subject_find,
	.rebuild_begin = lite_rebuild_begin,
	.rebuild_diff = lite_rebuild_diff,
	.claim_history = lite_claim_history,
	.claim_rev = lite_claim_rev,
	.feed_append = liteob_feed_append,
	.feed_scan = liteob_feed_scan,
	.cursor_get = liteob_cursor_get,
	.cursor_set = liteob_cursor_set,
	.cursor_forget = liteob_cursor_forget,
	.outbox_upsert = liteob_upsert,
	.outbox_pending = liteob_pending,
	.outbox_stats = liteob_stats,
	.outbox_backlog = liteob_backlog,
	.outbox_due = liteob_due,
	.outbox_list = liteob_list,
	.outbox_disabled = liteob_disabled,
	.outbox_ack = liteob_ack,
	.outbox_retry = liteob_retry,
	.outbox_replay = liteob_replay,
	.schema = lite_schema_version,
	.raw_scan = lite_raw_scan,
	.claim_all = lite_claim_all,
	.pending_all = lite_pending_all,
};

/* The connection (sqlite-outbox.c shares it, in the same transaction). */
sqlite3 *
lite_db(struct ledger *l)
{
	return (SQ(l)->db);
}

void **
lite_outbox_priv(struct ledger *l)
{
	return (&SQ(l)->outbox);
}
