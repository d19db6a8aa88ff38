/*
 * postgresql.c: the PostgreSQL ledger backend, through libpq (the change
 * feed and outbox rows are postgresql-outbox.c's).  Same tables, same
 * answers as sqlite.c, so that any number of milepostd replicas can share
 * one database.
 *
 * - Every statement is parameterised (PQprepare once per connection,
 *   then PQexecPrepared); no value is ever spliced into SQL text.
 * - The schema is versioned (milepost_schema) and migrated at start,
 *   under an advisory lock so that replicas starting together migrate
 *   once; `milepost ledger migrate` runs the same code.
 * - Triggers refuse UPDATE, DELETE and TRUNCATE on evidence and raw
 *   payloads; the hash chain catches anyone who drops them.
 * - The chain has one total order across replicas: a writer's begin()
 *   locks the one ledger_head row (SELECT … FOR UPDATE) for the whole
 *   transaction and takes the tip from it.  Its version column moves at
 *   every writer commit, so a replica whose last commit is not the
 *   version it finds knows another replica wrote in between, and says so
 *   in l->moved (the writer then drops its derivation caches).
 * - Text columns that are ordered or compared are COLLATE "C", so that
 *   keys sort byte-wise as in SQLite and in memory.
 * - A connection lost outside a transaction is reset at the next
 *   statement; inside one the transaction fails (the batch gets a 503).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/postgresql.h"

#define PG_SCHEMA_VERSION	2
#define PG_LOCK_MIGRATE		0x6d696c65706f7301LL	/* advisory keys */
#define PG_LOCK_LEADER		0x6d696c65706f7302LL
#define PG_PAGE			1000	/* rows per scan query */
#define PG_NSTMT		96

/* Version 1: the tables of sqlite.c's schema (user_version 3). */
static const char *pg_schema_v1 =
	"CREATE OR REPLACE FUNCTION milepost_append_only() RETURNS trigger "
	" LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;"
	"CREATE TABLE evidence ("
	" seq BIGINT PRIMARY KEY,"
	" id TEXT COLLATE \"C\" NOT NULL,"
	" source TEXT COLLATE \"C\" NOT NULL,"
	" type TEXT COLLATE \"C\" NOT NULL,"
	" subject TEXT COLLATE \"C\" NOT NULL,"
	" time BIGINT NOT NULL,"
	" recorded_at BIGINT NOT NULL,"
	" properties TEXT NOT NULL,"
	" links TEXT NOT NULL,"
	" hash TEXT NOT NULL,"
	" UNIQUE (source, id));"
	"CREATE TABLE ledger_head ("
	" k INTEGER PRIMARY KEY CHECK (k = 1),"
	" seq BIGINT NOT NULL,"
	" hash TEXT NOT NULL,"
	" version BIGINT NOT NULL DEFAULT 0);"
	"INSERT INTO ledger_head (k, seq, hash) VALUES (1, 0, "
	" '" LEDGER_GENESIS "');"
	"CREATE TRIGGER evidence_append_only BEFORE UPDATE OR DELETE ON "
	" evidence FOR EACH ROW EXECUTE FUNCTION "
	" milepost_append_only('the ledger is append-only');"
	"CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence "
	" FOR EACH STATEMENT EXECUTE FUNCTION "
	" milepost_append_only('the ledger is append-only');"
	"CREATE INDEX evidence_type_time ON evidence (type, time);"
	"CREATE INDEX evidence_subject ON evidence (type, subject);"
	"CREATE TABLE claim_revisions ("
	" type TEXT COLLATE \"C\" NOT NULL,"
	" id TEXT COLLATE \"C\" NOT NULL,"
	" revision BIGINT NOT NULL,"
	" anchor BIGINT NOT NULL,"
	" time BIGINT NOT NULL,"
	" recorded_at BIGINT NOT NULL,"
	" properties TEXT NOT NULL,"
	" links TEXT NOT NULL,"
	" basis TEXT NOT NULL,"
	" about TEXT,"
	" PRIMARY KEY (type, id, revision));"
	"CREATE INDEX claim_anchor ON claim_revisions (type, anchor);"
	"CREATE INDEX claim_recorded ON claim_revisions (type, recorded_at);"
	"CREATE TABLE claim_pending ("
	" ctype TEXT COLLATE \"C\" NOT NULL,"
	" subject TEXT COLLATE \"C\" NOT NULL,"
	" seq BIGINT NOT NULL,"
	" PRIMARY KEY (ctype, subject, seq));"
	"CREATE TABLE raw_payloads ("
	" n BIGSERIAL PRIMARY KEY,"		/* arrival order */
	" source TEXT COLLATE \"C\" NOT NULL,"
	" delivery TEXT COLLATE \"C\" NOT NULL,"
	" recorded_at BIGINT NOT NULL,"
	" encoding TEXT NOT NULL,"
	" body BYTEA NOT NULL);"
	"CREATE INDEX raw_payloads_delivery ON raw_payloads (source, delivery);"
	"CREATE TRIGGER raw_payloads_append_only BEFORE UPDATE OR DELETE ON "
	" raw_payloads FOR EACH ROW EXECUTE FUNCTION "
	" milepost_append_only('raw payloads are append-only');"
	"CREATE TRIGGER raw_payloads_no_truncate BEFORE TRUNCATE ON "
	" raw_payloads FOR EACH STATEMENT EXECUTE FUNCTION "
	" milepost_append_only('raw payloads are append-only');";

/* Version 2: a client's reads use an index on its tenant (as sqlite.c's
 * claim_tenant does), never a scan of every tenant's claims. */
static const char *pg_schema_v2 =
	"CREATE INDEX claim_tenant ON claim_revisions "
	" (type, ((links::jsonb) ->> 'tenant'), id);";

/* The migrations, in order: migration i takes version i to i + 1. */
static const char **pg_migrations[PG_SCHEMA_VERSION] = {
	&pg_schema_v1,
	&pg_schema_v2,
};

/* The claim tables again, as TEMP shadows for "claims rebuild". */
static const char *pg_shadow =
	"CREATE TEMP TABLE claim_revisions ("
	" type TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
	" revision BIGINT NOT NULL, anchor BIGINT NOT NULL,"
	" time BIGINT NOT NULL, recorded_at BIGINT NOT NULL,"
	" properties TEXT NOT NULL, links TEXT NOT NULL, basis TEXT NOT NULL,"
	" about TEXT, PRIMARY KEY (type, id, revision)) ON COMMIT DROP;"
	"CREATE INDEX ON pg_temp.claim_revisions (type, anchor);"
	"CREATE TEMP TABLE claim_pending (ctype TEXT COLLATE \"C\" NOT NULL,"
	" subject TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL,"
	" PRIMARY KEY (ctype, subject, seq)) ON COMMIT DROP;"
	"CREATE TEMP TABLE rebuild_types (type TEXT COLLATE \"C\" PRIMARY KEY)"
	" ON COMMIT DROP;";

#define PG_EV_COLS "seq, id, source, type, subject, time, recorded_at, " \
	"properties, links, hash"
#define PG_CL_COLS "revision, anchor, time, recorded_at, properties, " \
	"links, basis, about"

struct pgstmt {
	const char	*sql;		/* a literal: its address is the key */
	int		 n;
};

struct pg {
	PGconn		*conn;
	char		*url;		/* as libpq takes it */
	char		*safe;		/* for messages: no password */
	char		*schema;	/* quoted identifier of the tables */
	int64_t		 version;	/* ledger_head.version last seen */
	int		 in_txn;
	int		 noprep;	/* rebuild: TEMP shadows, no plans */
	int		 leader;	/* holds PG_LOCK_LEADER */
	time_t		 reset_at;	/* the last reconnection tried */
	int		 notify;	/* this transaction changed the feed */
	int		 listening;	/* LISTEN milepost_changes done */
	struct pgstmt	 st[PG_NSTMT];
	int		 nst;
	char		 err[MP_ERRLEN];
};

#define PG(l)	((struct pg *)(l)->priv)

/* Parameters: text, integers (as text), NULL (no value), and blobs. */
void
pg_arg_text(struct pgargs *a, const char *s)
{
	a->v[a->n] = s;
	a->len[a->n] = 0;
	a->fmt[a->n] = 0;
	a->n++;
}

void
pg_arg_int(struct pgargs *a, int64_t v)
{
	snprintf(a->num[a->n], sizeof(a->num[a->n]), "%" PRId64, v);
	pg_arg_text(a, a->num[a->n]);
}

void
pg_arg_bin(struct pgargs *a, const void *p, size_t len)
{
	a->v[a->n] = p;
	a->len[a->n] = (int)len;
	a->fmt[a->n] = 1;
	a->n++;
}

/* The first line of a libpq message, into dst. */
static void
pg_line(char *dst, size_t len, const char *msg)
{
	size_t	n;

	if (msg == NULL || *msg == '\0')
		msg = "error";
	snprintf(dst, len, "%s", msg);
	n = strcspn(dst, "\r\n");
	dst[n] = '\0';
}

static const char *
pg_error(struct ledger *l)
{
	struct pg	*pg = PG(l);

	if (pg->err[0] == '\0')
		pg_line(pg->err, sizeof(pg->err), PQerrorMessage(pg->conn));
	return (pg->err);
}

/*
 * A connection that broke outside a transaction is reset, and its
 * prepared statements and advisory lock are gone with it.  Returns 0 when
 * the connection is usable, -1 with the error set.
 */
static int
pg_alive(struct ledger *l)
{
	struct pg	*pg = PG(l);

	if (PQstatus(pg->conn) == CONNECTION_OK)
		return (0);
	if (pg->in_txn) {
		snprintf(pg->err, sizeof(pg->err), "the connection to the "
		    "database was lost");
		return (-1);
	}
	/* At most one attempt a second: a reset blocks its thread. */
	if (time(NULL) == pg->reset_at) {
		snprintf(pg->err, sizeof(pg->err), "no connection to the "
		    "database (retrying)");
		return (-1);
	}
	pg->reset_at = time(NULL);
	PQreset(pg->conn);
	pg->nst = 0;
	pg->leader = 0;
	pg->listening = 0;
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_line(pg->err, sizeof(pg->err), PQerrorMessage(pg->conn));
		return (-1);
	}
	PQclear(PQexec(pg->conn, "SET lock_timeout = '5s'; SET "
	    "statement_timeout = '60s'"));
	if (l->readonly)
		PQclear(PQexec(pg->conn, "SET default_transaction_read_only = "
		    "on"));
	log_info("%s: reconnected to %s", __func__, pg->safe);
	return (0);
}

/* The prepared statement of sql (a literal), prepared on first use. */
static const char *
pg_prepared(struct ledger *l, const char *sql, int nargs, char *name,
    size_t len)
{
	struct pg	*pg = PG(l);
	PGresult	*res;
	int		 i, ok;

	for (i = 0; i < pg->nst; i++)
		if (pg->st[i].sql == sql) {
			snprintf(name, len, "mp%d", pg->st[i].n);
			return (name);
		}
	if (pg->nst == PG_NSTMT)
		return (NULL);		/* unprepared: still correct */
	snprintf(name, len, "mp%d", pg->nst);
	res = PQprepare(pg->conn, name, sql, nargs, NULL);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		pg_line(pg->err, sizeof(pg->err), PQresultErrorMessage(res));
	PQclear(res);
	if (!ok)
		return ("");
	pg->st[pg->nst].sql = sql;
	pg->st[pg->nst].n = pg->nst;
	pg->nst++;
	return (name);
}

/*
 * Run sql with the parameters a (may be NULL), prepared once when prep
 * is set (sql must then be a literal).  Returns the result (the caller
 * clears it), or NULL with the error set.
 */
PGresult *
pg_run(struct ledger *l, const char *sql, struct pgargs *a, int prep)
{
	struct pg	*pg = PG(l);
	struct pgargs	 none = { .n = 0 };
	PGresult	*res;
	const char	*name = NULL;
	char		 nbuf[16];
	ExecStatusType	 st;

	if (a == NULL)
		a = &none;
	pg->err[0] = '\0';
	if (pg_alive(l) == -1)
		return (NULL);
	if (prep && !pg->noprep &&
	    (name = pg_prepared(l, sql, a->n, nbuf, sizeof(nbuf))) != NULL &&
	    *name == '\0')
		return (NULL);
	if (name != NULL && prep && !pg->noprep)
		res = PQexecPrepared(pg->conn, name, a->n, a->v, a->len,
		    a->fmt, 0);
	else
		res = PQexecParams(pg->conn, sql, a->n, NULL, a->v, a->len,
		    a->fmt, 0);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		pg_line(pg->err, sizeof(pg->err), res != NULL ?
		    PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
		PQclear(res);
		return (NULL);
	}
	return (res);
}

/* Run a statement for its effect: the rows it changed, or -1. */
int
pg_cmd(struct ledger *l, const char *sql, struct pgargs *a)
{
	PGresult	*res;
	int		 n;

	if ((res = pg_run(l, sql, a, 1)) == NULL)
		return (-1);
	n = atoi(PQcmdTuples(res));
	PQclear(res);
	return (n);
}

/* Several statements without parameters (the schema, BEGIN …). */
/* Is a transaction open on l (ledger_begin's, or a store operation's)? */
int
pg_in_txn(struct ledger *l)
{
	return (PG(l)->in_txn);
}

int
pg_exec(struct ledger *l, const char *sql)
{
	struct pg	*pg = PG(l);
	PGresult	*res;
	int		 ok;

	pg->err[0] = '\0';
	if (pg_alive(l) == -1)
		return (-1);
	res = PQexec(pg->conn, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		pg_line(pg->err, sizeof(pg->err), res != NULL ?
		    PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
	PQclear(res);
	return (ok ? 0 : -1);
}

int64_t
pg_int(const PGresult *res, int row, int col)
{
	return (strtoll(PQgetvalue(res, row, col), NULL, 10));
}

char *
pg_dup(const PGresult *res, int row, int col)
{
	return (PQgetisnull(res, row, col) ? NULL :
	    xstrdup(PQgetvalue(res, row, col)));
}

const char *
pg_val(const PGresult *res, int row, int col)
{
	return (PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col));
}

static void
pg_notice(void *arg, const char *msg)
{
	/* CREATE … IF NOT EXISTS and friends: nothing to tell. */
}

/*
 * Bring the schema to PG_SCHEMA_VERSION, under the migration lock, in
 * one transaction.  Returns the version, or -1 with the error set.
 */
static int
pg_migrate(struct ledger *l)
{
	struct pg	*pg = PG(l);
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 v;

	if (pg_exec(l, "BEGIN") == -1)
		return (-1);
	pg->in_txn = 1;
	pg_arg_int(&a, PG_LOCK_MIGRATE);
	if ((res = pg_run(l, "SELECT pg_advisory_xact_lock($1)", &a, 0)) ==
	    NULL)
		goto fail;
	PQclear(res);
	if (pg_exec(l, "CREATE TABLE IF NOT EXISTS milepost_schema ("
	    "k INTEGER PRIMARY KEY CHECK (k = 1), version INTEGER NOT NULL);"
	    "INSERT INTO milepost_schema VALUES (1, 0) ON CONFLICT DO "
	    "NOTHING") == -1 ||
	    (res = pg_run(l, "SELECT version FROM milepost_schema", NULL,
	    0)) == NULL)
		goto fail;
	v = (int)pg_int(res, 0, 0);
	PQclear(res);
	if (v > PG_SCHEMA_VERSION) {
		snprintf(pg->err, sizeof(pg->err), "the schema is version %d, "
		    "newer than this milepost knows (%d)", v,
		    PG_SCHEMA_VERSION);
		goto fail;
	}
	for (; v < PG_SCHEMA_VERSION; v++) {
		a.n = 0;
		pg_arg_int(&a, v + 1);
		if (pg_exec(l, *pg_migrations[v]) == -1 ||
		    (v == 0 && pg_exec(l, pgob_schema_v1) == -1) ||
		    pg_cmd(l, "UPDATE milepost_schema SET version = $1",
		    &a) == -1)
			goto fail;
		log_info("%s: %s: schema version %d", __func__, pg->safe,
		    v + 1);
	}
	pg->in_txn = 0;
	if (pg_exec(l, "COMMIT") == -1)
		return (-1);
	return (v);
fail:
	pg->in_txn = 0;
	PQclear(PQexec(pg->conn, "ROLLBACK"));
	return (-1);
}

/* A read-only handle: the schema must be the one this milepost knows. */
static int
pg_schema_check(struct ledger *l)
{
	struct pg	*pg = PG(l);
	PGresult	*res;
	int		 v = 0;

	if ((res = pg_run(l, "SELECT version FROM milepost_schema WHERE "
	    "to_regclass('milepost_schema') IS NOT NULL", NULL, 0)) == NULL) {
		if ((res = pg_run(l, "SELECT 1", NULL, 0)) == NULL)
			return (-1);
		PQclear(res);
		v = 0;
	} else {
		v = PQntuples(res) == 1 ? (int)pg_int(res, 0, 0) : 0;
		PQclear(res);
	}
	if (v != PG_SCHEMA_VERSION) {
		snprintf(pg->err, sizeof(pg->err), v == 0 ? "not a milepost "
		    "ledger (no schema; run milepost ledger migrate)" :
		    "schema version %d, this milepost needs %d (run milepost "
		    "ledger migrate)", v, PG_SCHEMA_VERSION);
		return (-1);
	}
	return (0);
}

static void
pg_close(struct ledger *l)
{
	struct pg	*pg = PG(l);

	if (pg == NULL)
		return;
	PQfinish(pg->conn);
	free(pg->url);
	free(pg->safe);
	free(pg->schema);
	free(pg);
	l->priv = NULL;
}

/*
 * Connect to url's rest ("//user@host:port/db…", after the scheme),
 * migrate (read-write) or check (read-only) the schema.  0, or -1 with
 * err set to one line naming the URL without its password.
 */
static int
pg_open(struct ledger *l, const char *rest, int readonly, char *err,
    size_t errlen)
{
	static const char	*kw[] = { "connect_timeout", "application_name",
				    "dbname", NULL };
	const char		*val[4];
	struct pg		*pg;
	PGresult		*res;
	char			*q;

	pg = xcalloc(1, sizeof(*pg));
	l->priv = pg;
	xasprintf(&pg->url, "postgresql:%s", rest);
	pg->safe = ledger_url_safe(pg->url);
	val[0] = "5";
	val[1] = readonly ? "milepost-reader" : "milepost";
	val[2] = pg->url;
	val[3] = NULL;
	pg->conn = PQconnectdbParams(kw, val, 1);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		pg_line(pg->err, sizeof(pg->err), pg->conn ?
		    PQerrorMessage(pg->conn) : "out of memory");
		goto fail;
	}
	PQsetNoticeProcessor(pg->conn, pg_notice, NULL);
	/*
	 * Bounded waits: the writer gives up on a lock after 5 s (SQLite's
	 * busy timeout) and its batch gets a 503; no statement runs longer
	 * than a minute.
	 */
	if (pg_exec(l, "SET lock_timeout = '5s'; SET statement_timeout = "
	    "'60s'") == -1)
		goto fail;
	if (readonly) {
		if (pg_exec(l, "SET default_transaction_read_only = on") == -1 ||
		    pg_schema_check(l) == -1)
			goto fail;
	} else if (pg_migrate(l) == -1)
		goto fail;
	if ((res = pg_run(l, "SELECT current_schema(), (SELECT version FROM "
	    "ledger_head WHERE k = 1)", NULL, 0)) == NULL)
		goto fail;
	q = PQescapeIdentifier(pg->conn, PQgetvalue(res, 0, 0),
	    strlen(PQgetvalue(res, 0, 0)));
	pg->schema = xstrdup(q != NULL ? q : "public");
	PQfreemem(q);
	pg->version = pg_int(res, 0, 1);
	PQclear(res);
	return (0);
fail:
	snprintf(err, errlen, "%s: %s", pg->safe, pg->err);
	pg_close(l);
	return (-1);
}

/*
 * A writer's transaction: lock the chain head, the one row every writer
 * of every replica updates, and take the tip from it.  The lock is held
 * to COMMIT, so batches of different replicas follow each other whole.
 */
static int
pg_begin(struct ledger *l)
{
	struct pg	*pg = PG(l);
	PGresult	*res;
	int64_t		 version;

	l->moved = 0;
	if (pg_exec(l, "BEGIN") == -1)
		return (-1);
	pg->in_txn = 1;
	if ((res = pg_run(l, "SELECT seq, hash, version FROM ledger_head "
	    "WHERE k = 1 FOR UPDATE", NULL, 1)) == NULL)
		return (-1);
	if (PQntuples(res) != 1) {
		snprintf(pg->err, sizeof(pg->err), "the ledger has no head row");
		PQclear(res);
		return (-1);
	}
	version = pg_int(res, 0, 2);
	if (version != pg->version) {
		l->moved = 1;
		l->last_seq = pg_int(res, 0, 0);
		snprintf(l->last_hash, sizeof(l->last_hash), "%s",
		    PQgetvalue(res, 0, 1));
		pg->version = version;
	}
	PQclear(res);
	return (0);
}

static int
pg_commit(struct ledger *l)
{
	struct pg	*pg = PG(l);
	PGresult	*res;
	int64_t		 version;

	/* Wake the pushers of every replica (delivered at COMMIT). */
	if (pg->notify && (res = pg_run(l, "SELECT pg_notify("
	    "'milepost_changes', '')", NULL, 1)) == NULL)
		return (-1);
	if (pg->notify)
		PQclear(res);
	pg->notify = 0;
	if ((res = pg_run(l, "UPDATE ledger_head SET version = version + 1 "
	    "WHERE k = 1 RETURNING version", NULL, 1)) == NULL)
		return (-1);
	version = pg_int(res, 0, 0);
	PQclear(res);
	if (pg_exec(l, "COMMIT") == -1)
		return (-1);
	pg->in_txn = 0;
	pg->version = version;
	return (0);
}

static void
pg_rollback(struct ledger *l)
{
	struct pg	*pg = PG(l);
	char		 saved[MP_ERRLEN];

	memcpy(saved, pg->err, sizeof(saved));
	if (PQstatus(pg->conn) == CONNECTION_OK &&
	    PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
		PQclear(PQexec(pg->conn, "ROLLBACK"));
	pg->in_txn = 0;
	pg->notify = 0;
	memcpy(pg->err, saved, sizeof(saved));
}

/* Between batches: reconnect a lost connection, before the next batch. */
static void
pg_maintain(struct ledger *l)
{
	if (PQstatus(PG(l)->conn) != CONNECTION_OK && !PG(l)->in_txn &&
	    pg_alive(l) == -1)
		log_warnx("%s: %s", __func__, PG(l)->err);
}

static int
pg_append(struct ledger *l, struct evidence *ev)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 n;

	pg_arg_int(&a, ev->seq);
	pg_arg_text(&a, ev->id);
	pg_arg_text(&a, ev->source);
	pg_arg_text(&a, ev->type);
	pg_arg_text(&a, ev->subject);
	pg_arg_int(&a, ev->time);
	pg_arg_int(&a, ev->recorded_at);
	pg_arg_text(&a, ev->properties);
	pg_arg_text(&a, ev->links);
	pg_arg_text(&a, ev->hash);
	if ((n = pg_cmd(l, "INSERT INTO evidence (" PG_EV_COLS ") VALUES "
	    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (source, id) "
	    "DO NOTHING", &a)) == -1)
		return (-1);
	if (n == 1)
		return (0);

	/* A duplicate: report the stored entry. */
	a.n = 0;
	pg_arg_text(&a, ev->source);
	pg_arg_text(&a, ev->id);
	if ((res = pg_run(l, "SELECT seq, recorded_at, hash FROM evidence "
	    "WHERE source = $1 AND id = $2", &a, 1)) == NULL)
		return (-1);
	if ((n = PQntuples(res)) == 1) {
		ev->seq = pg_int(res, 0, 0);
		ev->recorded_at = pg_int(res, 0, 1);
		snprintf(ev->hash, sizeof(ev->hash), "%s",
		    PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return (n == 1 ? 1 : -1);
}

static int
pg_head(struct ledger *l, int64_t *seq, char hash[MP_HASHLEN])
{
	PGresult	*res;

	*seq = 0;
	strlcpy(hash, LEDGER_GENESIS, MP_HASHLEN);
	if ((res = pg_run(l, "SELECT seq, hash FROM ledger_head WHERE k = 1",
	    NULL, 1)) == NULL)
		return (-1);
	if (PQntuples(res) == 1) {
		*seq = pg_int(res, 0, 0);
		strlcpy(hash, PQgetvalue(res, 0, 1), MP_HASHLEN);
	}
	PQclear(res);
	return (0);
}

static int
pg_set_head(struct ledger *l, int64_t seq, const char *hash)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_int(&a, seq);
	pg_arg_text(&a, hash);
	return (pg_cmd(l, "UPDATE ledger_head SET seq = $1, hash = $2 WHERE "
	    "k = 1", &a) == 1 ? 0 : -1);
}

/* Row i of res (PG_EV_COLS) as evidence borrowed from res. */
static void
pg_ev_row(const PGresult *res, int i, struct evidence *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = pg_int(res, i, 0);
	ev->id = PQgetvalue(res, i, 1);
	ev->source = PQgetvalue(res, i, 2);
	ev->type = PQgetvalue(res, i, 3);
	ev->subject = PQgetvalue(res, i, 4);
	ev->time = pg_int(res, i, 5);
	ev->recorded_at = pg_int(res, i, 6);
	ev->properties = PQgetvalue(res, i, 7);
	ev->links = PQgetvalue(res, i, 8);
	snprintf(ev->hash, sizeof(ev->hash), "%s", PQgetvalue(res, i, 9));
}

/*
 * Entries after seq in order, up to limit (0: all), PG_PAGE rows per
 * query so that a walk of the whole chain stays bounded in memory.
 */
static int
pg_scan(struct ledger *l, int64_t after, size_t limit, ledger_scan_cb cb,
    void *arg)
{
	struct pgargs	 a;
	struct evidence	 ev;
	PGresult	*res;
	size_t		 total = 0, page;
	int		 i, n;

	for (;;) {
		page = limit && limit - total < PG_PAGE ? limit - total :
		    PG_PAGE;
		a.n = 0;
		pg_arg_int(&a, after);
		pg_arg_int(&a, (int64_t)page);
		if ((res = pg_run(l, "SELECT " PG_EV_COLS " FROM evidence "
		    "WHERE seq > $1 ORDER BY seq LIMIT $2", &a, 1)) == NULL)
			return (-1);
		n = PQntuples(res);
		for (i = 0; i < n; i++) {
			pg_ev_row(res, i, &ev);
			after = ev.seq;
			if (cb(&ev, arg) == -1) {
				PQclear(res);
				return (-1);
			}
		}
		PQclear(res);
		total += (size_t)n;
		if ((size_t)n < page || (limit && total >= limit))
			break;
	}
	return ((int)total);
}

static int
pg_get(struct ledger *l, int64_t seq, struct evidence **evp)
{
	struct pgargs	 a = { .n = 0 };
	struct evidence	 tmp, *ev;
	PGresult	*res;
	int		 n;

	*evp = NULL;
	pg_arg_int(&a, seq);
	if ((res = pg_run(l, "SELECT " PG_EV_COLS " FROM evidence WHERE "
	    "seq = $1", &a, 1)) == NULL)
		return (-1);
	if ((n = PQntuples(res)) == 1) {
		pg_ev_row(res, 0, &tmp);
		ev = evidence_new();
		ev->seq = tmp.seq;
		ev->id = xstrdup(tmp.id);
		ev->source = xstrdup(tmp.source);
		ev->type = xstrdup(tmp.type);
		ev->subject = xstrdup(tmp.subject);
		ev->time = tmp.time;
		ev->recorded_at = tmp.recorded_at;
		ev->properties = xstrdup(tmp.properties);
		ev->links = xstrdup(tmp.links);
		memcpy(ev->hash, tmp.hash, sizeof(ev->hash));
		*evp = ev;
	}
	PQclear(res);
	return (n == 1 ? 1 : 0);
}

/* Columns base… of row i (PG_CL_COLS) into c (taken). */
static void
pg_claim_row(const PGresult *res, int i, int base, struct claim *c)
{
	c->revision = pg_int(res, i, base);
	c->anchor = pg_int(res, i, base + 1);
	c->time = pg_int(res, i, base + 2);
	c->recorded_at = pg_int(res, i, base + 3);
	c->properties = pg_dup(res, i, base + 4);
	c->links = pg_dup(res, i, base + 5);
	c->basis = pg_dup(res, i, base + 6);
	c->about = pg_dup(res, i, base + 7);
}

/*
 * cb for each row of res (taken: cleared here), (id, PG_CL_COLS) when id
 * is NULL, else PG_CL_COLS of that id.  Returns the rows seen, or -1.
 */
static int
pg_claim_each(PGresult *res, const char *type, const char *id,
    int (*cb)(const struct claim *, void *), void *arg)
{
	struct claim	c;
	int		i, n, rc = 0;

	if (res == NULL)
		return (-1);
	n = PQntuples(res);
	for (i = 0; i < n && rc != -1; i++) {
		memset(&c, 0, sizeof(c));
		c.type = xstrdup(type);
		c.id = id != NULL ? xstrdup(id) : pg_dup(res, i, 0);
		pg_claim_row(res, i, id != NULL ? 0 : 1, &c);
		rc = cb(&c, arg);
		claim_clear(&c);
	}
	PQclear(res);
	return (rc == -1 ? -1 : i);
}

/* One revision of (type, id) by sql, whose $3 is n, into c. 1, 0, -1. */
static int
pg_claim_one(struct ledger *l, const char *sql, const char *type,
    const char *id, int64_t n, struct claim *c)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 found;

	pg_arg_text(&a, type);
	pg_arg_text(&a, id);
	pg_arg_int(&a, n);
	if ((res = pg_run(l, sql, &a, 1)) == NULL)
		return (-1);
	if ((found = PQntuples(res) == 1)) {
		c->type = xstrdup(type);
		c->id = xstrdup(id);
		pg_claim_row(res, 0, 0, c);
	}
	PQclear(res);
	return (found);
}

static int
pg_claim_get(struct ledger *l, const char *type, const char *id,
    int64_t as_of, struct claim *c)
{
	return (pg_claim_one(l, "SELECT " PG_CL_COLS " FROM claim_revisions "
	    "WHERE type = $1 AND id = $2 AND recorded_at <= $3 ORDER BY "
	    "revision DESC LIMIT 1", type, id, as_of, c));
}

static int
pg_claim_rev(struct ledger *l, const char *type, const char *id,
    int64_t rev, int before, struct claim *c)
{
	if (before)
		return (pg_claim_one(l, "SELECT " PG_CL_COLS " FROM "
		    "claim_revisions WHERE type = $1 AND id = $2 AND "
		    "revision < $3 ORDER BY revision DESC LIMIT 1", type, id,
		    rev, c));
	return (pg_claim_one(l, "SELECT " PG_CL_COLS " FROM claim_revisions "
	    "WHERE type = $1 AND id = $2 AND revision = $3", type, id, rev, c));
}

static int
pg_claim_put(struct ledger *l, const struct claim *c)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, c->type);
	pg_arg_text(&a, c->id);
	pg_arg_int(&a, c->revision);
	pg_arg_int(&a, c->anchor);
	pg_arg_int(&a, c->time);
	pg_arg_int(&a, c->recorded_at);
	pg_arg_text(&a, c->properties);
	pg_arg_text(&a, c->links ? c->links : "{}");
	pg_arg_text(&a, c->basis ? c->basis : "[]");
	pg_arg_text(&a, c->about);
	return (pg_cmd(l, "INSERT INTO claim_revisions (type, id, "
	    PG_CL_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
	    &a) == 1 ? 0 : -1);
}

static int
pg_claim_list(struct ledger *l, const char *type, const char *after,
    size_t limit, int64_t as_of, int (*cb)(const struct claim *, void *),
    void *arg)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, type);
	pg_arg_text(&a, after ? after : "");
	pg_arg_int(&a, as_of);
	if (limit)
		pg_arg_int(&a, (int64_t)limit);
	else
		pg_arg_text(&a, NULL);
	return (pg_claim_each(pg_run(l, "SELECT DISTINCT ON (id) id, "
	    PG_CL_COLS " FROM claim_revisions WHERE type = $1 AND id > $2 AND "
	    "recorded_at <= $3 ORDER BY id, revision DESC LIMIT $4::bigint",
	    &a, 1), type, NULL, cb, arg));
}

/* A client's list: the latest revision of its tenant's claims only. */
static int
pg_claim_list_tenant(struct ledger *l, const char *type, const char *tenant,
    const char *after, size_t limit, int64_t as_of,
    int (*cb)(const struct claim *, void *), void *arg)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, type);
	pg_arg_text(&a, after ? after : "");
	pg_arg_int(&a, as_of);
	if (limit)
		pg_arg_int(&a, (int64_t)limit);
	else
		pg_arg_text(&a, NULL);
	pg_arg_text(&a, tenant);
	return (pg_claim_each(pg_run(l, "SELECT DISTINCT ON (id) id, "
	    PG_CL_COLS " FROM claim_revisions c WHERE type = $1 AND "
	    "((links::jsonb) ->> 'tenant') = $5 AND id > $2 AND "
	    "recorded_at <= $3 AND revision = (SELECT max(revision) FROM "
	    "claim_revisions r WHERE r.type = $1 AND r.id = c.id AND "
	    "r.recorded_at <= $3) ORDER BY id, revision DESC LIMIT $4::bigint",
	    &a, 1), type, NULL, cb, arg));
}

static int64_t
pg_claim_count(struct ledger *l, const char *type)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int64_t		 n;

	pg_arg_text(&a, type);
	if ((res = pg_run(l, "SELECT count(DISTINCT id) FROM claim_revisions "
	    "WHERE type = $1", &a, 1)) == NULL)
		return (-1);
	n = pg_int(res, 0, 0);
	PQclear(res);
	return (n);
}

static int
pg_claim_scan(struct ledger *l, const char *type, int by, int64_t from,
    int64_t to, size_t limit, int (*cb)(const struct claim *, void *),
    void *arg)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, type);
	pg_arg_int(&a, from);
	pg_arg_int(&a, to);
	if (limit)
		pg_arg_int(&a, (int64_t)limit);
	else
		pg_arg_text(&a, NULL);
	return (pg_claim_each(pg_run(l, by ?
	    "SELECT id, " PG_CL_COLS " FROM claim_revisions WHERE type = $1 "
	    "AND anchor >= $2 AND anchor < $3 ORDER BY id, revision "
	    "LIMIT $4::bigint" :
	    "SELECT id, " PG_CL_COLS " FROM claim_revisions WHERE type = $1 "
	    "AND recorded_at >= $2 AND recorded_at < $3 ORDER BY id, revision "
	    "LIMIT $4::bigint", &a, 1), type, NULL, cb, arg));
}

static int
pg_claim_history(struct ledger *l, const char *type, const char *id,
    int64_t as_of, int (*cb)(const struct claim *, void *), void *arg)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, type);
	pg_arg_text(&a, id);
	pg_arg_int(&a, as_of);
	return (pg_claim_each(pg_run(l, "SELECT " PG_CL_COLS " FROM "
	    "claim_revisions WHERE type = $1 AND id = $2 AND recorded_at <= $3 "
	    "ORDER BY revision", &a, 1), type, id, cb, arg) == -1 ? -1 : 0);
}

/* Each source's latest trusted event time up to max_seq (one pass). */
static int
pg_source_times(struct ledger *l, int64_t max_seq, int64_t ahead,
    void (*cb)(const char *, int64_t, void *), void *arg)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 i, n;

	pg_arg_int(&a, max_seq);
	pg_arg_int(&a, ahead);
	if ((res = pg_run(l, "SELECT source, max(time) FROM evidence WHERE "
	    "seq <= $1 AND time <= recorded_at + $2 GROUP BY source", &a,
	    1)) == NULL)
		return (-1);
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		cb(PQgetvalue(res, i, 0), pg_int(res, i, 1), arg);
	PQclear(res);
	return (0);
}

/*
 * Evidence of type whose subject is s, or (s of 7 characters or more,
 * with no GLOB metacharacters, as in sqlite.c) starts with s; newest
 * first.  The prefix is a LIKE pattern with its own metacharacters
 * escaped.  A cb returning -1 stops (the rows so far).
 */
static int
pg_subject_find(struct ledger *l, const char *type, const char *s,
    int64_t max_seq, size_t limit, ledger_scan_cb cb, void *arg)
{
	struct pgargs	 a = { .n = 0 };
	struct evidence	 ev;
	struct buf	 pat;
	PGresult	*res;
	const char	*p;
	int		 i, n, prefix;

	prefix = strlen(s) >= 7 && strpbrk(s, "*?[]") == NULL;
	buf_init(&pat);
	if (prefix) {
		for (p = s; *p != '\0'; p++) {
			if (*p == '\\' || *p == '%' || *p == '_')
				buf_add(&pat, "\\", 1);
			buf_add(&pat, p, 1);
		}
		buf_adds(&pat, "%");
	}
	pg_arg_text(&a, type);
	pg_arg_text(&a, prefix ? buf_cstr(&pat) : s);
	if (limit)
		pg_arg_int(&a, (int64_t)limit);
	else
		pg_arg_text(&a, NULL);
	pg_arg_int(&a, max_seq > 0 ? max_seq : INT64_MAX);
	res = pg_run(l, prefix ?
	    "SELECT " PG_EV_COLS " FROM evidence WHERE type = $1 AND "
	    "subject LIKE $2 AND seq <= $4 ORDER BY seq DESC LIMIT $3::bigint" :
	    "SELECT " PG_EV_COLS " FROM evidence WHERE type = $1 AND "
	    "subject = $2 AND seq <= $4 ORDER BY seq DESC LIMIT $3::bigint",
	    &a, 1);
	buf_free(&pat);
	if (res == NULL)
		return (-1);
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		pg_ev_row(res, i, &ev);
		if (cb(&ev, arg) == -1) {
			i++;
			break;
		}
	}
	PQclear(res);
	return (i);
}

static int
pg_pending_put(struct ledger *l, const char *ctype, const char *subject,
    int64_t seq)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, ctype);
	pg_arg_text(&a, subject);
	pg_arg_int(&a, seq);
	return (pg_cmd(l, "INSERT INTO claim_pending (ctype, subject, seq) "
	    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &a) == -1 ? -1 : 0);
}

/* Take (return and delete) the held sequence numbers of (ctype, subject). */
static int
pg_pending_take(struct ledger *l, const char *ctype, const char *subject,
    int64_t **seqs, size_t *n)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	int		 i, rows;

	*seqs = NULL;
	*n = 0;
	pg_arg_text(&a, ctype);
	pg_arg_text(&a, subject);
	if ((res = pg_run(l, "SELECT seq FROM claim_pending WHERE ctype = $1 "
	    "AND subject = $2 ORDER BY seq", &a, 1)) == NULL)
		return (-1);
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		*seqs = xreallocarray(*seqs, *n + 1, sizeof(**seqs));
		(*seqs)[(*n)++] = pg_int(res, i, 0);
	}
	PQclear(res);
	if (*n == 0)
		return (0);
	return (pg_cmd(l, "DELETE FROM claim_pending WHERE ctype = $1 AND "
	    "subject = $2", &a) == -1 ? -1 : 0);
}

/* Collector items (store.h); the same keys and order as sqlite.c. */
static int
pg_collect(struct ledger *l, const char *type, int claims, int64_t from,
    int64_t to, int64_t max_seq, size_t limit,
    int (*cb)(const char *, int64_t, const char *, const char *,
    const char *, void *), void *arg)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	const char	*sql;
	int		 i, n;

	pg_arg_text(&a, type);
	pg_arg_int(&a, from);
	pg_arg_int(&a, to);
	if (limit)
		pg_arg_int(&a, (int64_t)limit);
	else
		pg_arg_text(&a, NULL);
	if (claims != 1)
		pg_arg_int(&a, max_seq);
	if (claims == 1)
		sql = "SELECT c.id, c.anchor, c.id, c.properties, c.links "
		    "FROM claim_revisions c WHERE c.type = $1 AND "
		    "c.anchor >= $2 AND c.anchor < $3 AND c.revision = (SELECT "
		    "max(revision) FROM claim_revisions m WHERE m.type = c.type "
		    "AND m.id = c.id) ORDER BY c.anchor DESC, c.id DESC "
		    "LIMIT $4::bigint";
	else if (claims == 2)
		sql = "SELECT '#' || lpad(e.seq::text, 20, '0'), e.time, "
		    "e.subject, e.properties, e.links FROM evidence e WHERE "
		    "e.type = $1 AND e.time >= $2 AND e.time < $3 AND "
		    "e.seq <= $5 AND (e.subject = '' OR NOT EXISTS (SELECT 1 "
		    "FROM evidence w WHERE w.type = e.type AND "
		    "w.subject = e.subject AND w.seq < e.seq)) "
		    "ORDER BY e.time DESC, e.seq DESC LIMIT $4::bigint";
	else
		sql = "SELECT '#' || lpad(seq::text, 20, '0'), time, subject, "
		    "properties, links FROM evidence WHERE type = $1 AND "
		    "time >= $2 AND time < $3 AND seq <= $5 ORDER BY time DESC, "
		    "seq DESC LIMIT $4::bigint";
	if ((res = pg_run(l, sql, &a, 1)) == NULL)
		return (-1);
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		if (cb(PQgetvalue(res, i, 0), pg_int(res, i, 1),
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
		    PQgetvalue(res, i, 4), arg) == -1)
			break;
	PQclear(res);
	return (0);
}

static int
pg_raw_put(struct ledger *l, const char *source, const char *delivery,
    int64_t recorded_at, const char *encoding, const void *body, size_t len,
    int ifnew)
{
	struct pgargs	a = { .n = 0 };

	pg_arg_text(&a, source);
	pg_arg_text(&a, delivery);
	pg_arg_int(&a, recorded_at);
	pg_arg_text(&a, encoding);
	pg_arg_bin(&a, body, len);
	return (pg_cmd(l, ifnew ?
	    "INSERT INTO raw_payloads (source, delivery, recorded_at, "
	    "encoding, body) SELECT $1::text, $2::text, $3::bigint, $4::text, "
	    "$5::bytea WHERE NOT EXISTS (SELECT 1 FROM raw_payloads WHERE "
	    "source = $1::text AND delivery = $2::text)" :
	    "INSERT INTO raw_payloads (source, delivery, recorded_at, "
	    "encoding, body) VALUES ($1, $2, $3, $4, $5::bytea)",
	    &a) == -1 ? -1 : 0);
}

static int
pg_raw_get(struct ledger *l, const char *source, const char *delivery,
    int64_t *recorded_at, struct buf *encoding, struct buf *body)
{
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;
	unsigned char	*raw;
	size_t		 len;
	int		 found;

	pg_arg_text(&a, source);
	pg_arg_text(&a, delivery);
	if ((res = pg_run(l, "SELECT recorded_at, encoding, body FROM "
	    "raw_payloads WHERE source = $1 AND delivery = $2 ORDER BY n "
	    "LIMIT 1", &a, 1)) == NULL)
		return (-1);
	if ((found = PQntuples(res) == 1)) {
		*recorded_at = pg_int(res, 0, 0);
		buf_reset(encoding);
		buf_adds(encoding, PQgetvalue(res, 0, 1));
		if ((raw = PQunescapeBytea((const unsigned char *)
		    PQgetvalue(res, 0, 2), &len)) == NULL) {
			PQclear(res);
			return (-1);
		}
		buf_reset(body);
		buf_add(body, raw, len);
		PQfreemem(raw);
	}
	PQclear(res);
	return (found);
}

/*
 * Shadow the claim tables with empty TEMP ones (pg_temp comes first in
 * the search path) in one read-write transaction that rebuild_diff rolls
 * back; plans made before would still name the stored tables, so from
 * here on nothing is prepared.
 */
static int
pg_rebuild_begin(struct ledger *l)
{
	struct pg	*pg = PG(l);

	if (pg_exec(l, "DEALLOCATE ALL") == -1)
		return (-1);
	pg->nst = 0;
	pg->noprep = 1;
	/* One snapshot: evidence committed meanwhile is neither side's. */
	if (pg_exec(l, "BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE") ==
	    -1)
		return (-1);
	pg->in_txn = 1;
	return (pg_exec(l, pg_shadow));
}

/*
 * The first row (by key) of the stored table that the rebuilt one lacks
 * or has otherwise, else the first rebuilt row not stored, as "what:
 * k1/k2 revision k3" in diff (empty when equal).  0 or -1.
 */
static int
pg_table_diff(struct ledger *l, const char *cols, const char *key,
    const char *table, const char *tcol, const char *gone,
    const char *added, char *diff, size_t len)
{
	struct pg	*pg = PG(l);
	PGresult	*res;
	char		 sql[1024];
	int		 pass;

	diff[0] = '\0';
	for (pass = 0; pass < 2 && diff[0] == '\0'; pass++) {
		snprintf(sql, sizeof(sql), "SELECT %s FROM (SELECT %s FROM "
		    "%s.%s WHERE %s IN (SELECT type FROM pg_temp.rebuild_types) "
		    "EXCEPT SELECT %s FROM pg_temp.%s WHERE %s IN (SELECT type "
		    "FROM pg_temp.rebuild_types)) d ORDER BY %s LIMIT 1", key,
		    cols, pass == 0 ? pg->schema : "pg_temp", table, tcol, cols,
		    table, tcol, key);
		if (pass == 1)
			snprintf(sql, sizeof(sql), "SELECT %s FROM (SELECT %s "
			    "FROM pg_temp.%s WHERE %s IN (SELECT type FROM "
			    "pg_temp.rebuild_types) EXCEPT SELECT %s FROM %s.%s "
			    "WHERE %s IN (SELECT type FROM "
			    "pg_temp.rebuild_types)) d ORDER BY %s LIMIT 1", key,
			    cols, table, tcol, cols, pg->schema, table, tcol,
			    key);
		if ((res = pg_run(l, sql, NULL, 0)) == NULL)
			return (-1);
		if (PQntuples(res) == 1)
			snprintf(diff, len, "%s: %s/%s revision %s", pass == 0 ?
			    gone : added, PQgetvalue(res, 0, 0),
			    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		PQclear(res);
	}
	return (0);
}

static int
pg_rebuild_diff(struct ledger *l, const char *const *types, char *diff,
    size_t len, char *skipped, size_t slen)
{
	struct pg	*pg = PG(l);
	struct pgargs	 a;
	PGresult	*res;
	char		 sql[512];
	size_t		 n;
	int		 i, rows;

	diff[0] = skipped[0] = '\0';
	for (; types != NULL && *types != NULL; types++) {
		a.n = 0;
		pg_arg_text(&a, *types);
		if (pg_cmd(l, "INSERT INTO pg_temp.rebuild_types VALUES ($1) "
		    "ON CONFLICT DO NOTHING", &a) == -1)
			return (-1);
	}
	if (pg_table_diff(l, "type, id, revision, anchor, time, recorded_at, "
	    "properties, links, basis, about", "type, id, revision",
	    "claim_revisions", "type", "stored but not rebuilt",
	    "rebuilt but not stored", diff, len) == -1)
		return (-1);
	if (diff[0] == '\0' && pg_table_diff(l, "ctype, subject, seq",
	    "ctype, subject, seq", "claim_pending", "ctype",
	    "held revision differs", "held revision differs", diff,
	    len) == -1)
		return (-1);
	snprintf(sql, sizeof(sql), "SELECT type, count(DISTINCT id) FROM "
	    "%s.claim_revisions WHERE type NOT IN (SELECT type FROM "
	    "pg_temp.rebuild_types) GROUP BY type ORDER BY type", pg->schema);
	if ((res = pg_run(l, sql, NULL, 0)) == NULL)
		return (-1);
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		n = strlen(skipped);
		snprintf(skipped + n, slen - n, "%s%s (%s claim%s)", n ?
		    ", " : "", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    pg_int(res, i, 1) == 1 ? "" : "s");
	}
	PQclear(res);
	pg->in_txn = 0;
	return (pg_exec(l, "ROLLBACK"));
}

/*
 * Leadership for the timers (stall, milestone clock): a session advisory
 * lock, tried at each tick, held while the connection lives.  A replica
 * that dies drops its connection and so its lock; the next tick of a
 * live one takes it.  1 leader, 0 not.
 */
static int
pg_leader(struct ledger *l)
{
	struct pg	*pg = PG(l);
	struct pgargs	 a = { .n = 0 };
	PGresult	*res;

	if (pg_alive(l) == -1)
		return (0);
	if (pg->leader)
		return (1);
	pg_arg_int(&a, PG_LOCK_LEADER);
	if ((res = pg_run(l, "SELECT pg_try_advisory_lock($1)", &a, 1)) ==
	    NULL)
		return (0);
	pg->leader = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (pg->leader)
		log_info("%s: this replica now runs the timers", __func__);
	return (pg->leader);
}

/* Every raw payload in arrival order, PG_PAGE/10 a query (ledger copy). */
static int
pg_raw_scan(struct ledger *l, ledger_raw_cb cb, void *arg)
{
	struct pgargs	 a;
	PGresult	*res;
	unsigned char	*raw;
	int64_t		 after = 0;
	size_t		 len;
	int		 i, n, rc = 0;

	do {
		a.n = 0;
		pg_arg_int(&a, after);
		if ((res = pg_run(l, "SELECT n, source, delivery, recorded_at, "
		    "encoding, body FROM raw_payloads WHERE n > $1 ORDER BY n "
		    "LIMIT 100", &a, 1)) == NULL)
			return (-1);
		n = PQntuples(res);
		for (i = 0; i < n && rc == 0; i++) {
			after = pg_int(res, i, 0);
			if ((raw = PQunescapeBytea((const unsigned char *)
			    PQgetvalue(res, i, 5), &len)) == NULL) {
				rc = -1;
				break;
			}
			rc = cb(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
			    pg_int(res, i, 3), PQgetvalue(res, i, 4), raw, len,
			    arg);
			PQfreemem(raw);
		}
		PQclear(res);
	} while (rc == 0 && n == 100);
	return (rc);
}

/* Every claim revision in (type, id, revision) order, by pages. */
static int
pg_claim_all(struct ledger *l, ledger_claim_cb cb, void *arg)
{
	struct pgargs	 a;
	struct claim	 c;
	PGresult	*res;
	char		*type = xstrdup(""), *id = xstrdup("");
	int64_t		 rev = 0;
	int		 i, n, rc = 0;

	do {
		a.n = 0;
		pg_arg_text(&a, type);
		pg_arg_text(&a, id);
		pg_arg_int(&a, rev);
		if ((res = pg_run(l, "SELECT type, id, " PG_CL_COLS " FROM "
		    "claim_revisions WHERE (type, id, revision) > ($1, $2, $3) "
		    "ORDER BY type, id, revision LIMIT 1000", &a, 1)) == NULL) {
			rc = -1;
			break;
		}
		n = PQntuples(res);
		for (i = 0; i < n && rc == 0; i++) {
			memset(&c, 0, sizeof(c));
			c.type = pg_dup(res, i, 0);
			c.id = pg_dup(res, i, 1);
			pg_claim_row(res, i, 2, &c);
			rc = cb(&c, arg);
			free(type);
			free(id);
			type = xstrdup(c.type);
			id = xstrdup(c.id);
			rev = c.revision;
			claim_clear(&c);
		}
		PQclear(res);
	} while (rc == 0 && n == 1000);
	free(type);
	free(id);
	return (rc);
}

static int
pg_pending_all(struct ledger *l, int (*cb)(const char *, const char *,
    int64_t, void *), void *arg)
{
	PGresult	*res;
	int		 i, n, rc = 0;

	if ((res = pg_run(l, "SELECT ctype, subject, seq FROM claim_pending "
	    "ORDER BY ctype, subject, seq", NULL, 1)) == NULL)
		return (-1);
	n = PQntuples(res);
	for (i = 0; i < n && rc == 0; i++)
		rc = cb(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    pg_int(res, i, 2), arg);
	PQclear(res);
	return (rc);
}

/* The feed changed in this transaction: NOTIFY at commit. */
void
pg_feed_changed(struct ledger *l)
{
	PG(l)->notify = 1;
}

/*
 * The pushers' wake-up: LISTEN on this (read-only) connection, once per
 * connection; its socket, or -1 while there is none.
 */
static int
pg_wake_fd(struct ledger *l)
{
	struct pg	*pg = PG(l);

	if (pg_alive(l) == -1)
		return (-1);
	if (!pg->listening && pg_exec(l, "LISTEN milepost_changes") == 0)
		pg->listening = 1;
	return (pg->listening ? PQsocket(pg->conn) : -1);
}

/* Read what arrived on the socket: how many notifications. */
static int
pg_wake_drain(struct ledger *l)
{
	struct pg	*pg = PG(l);
	PGnotify	*n;
	int		 count = 0;

	if (PQconsumeInput(pg->conn) == 0)
		return (0);	/* broken: the next statement resets it */
	while ((n = PQnotifies(pg->conn)) != NULL) {
		PQfreemem(n);
		count++;
	}
	return (count);
}

/* verify: the walk and the tip read in one REPEATABLE READ snapshot. */
static int
pg_snapshot(struct ledger *l, int on)
{
	struct pg	*pg = PG(l);
	int		 rc;

	if (on) {
		if ((rc = pg_exec(l, "BEGIN ISOLATION LEVEL REPEATABLE READ "
		    "READ ONLY")) == 0)
			pg->in_txn = 1;
		return (rc);
	}
	pg->in_txn = 0;
	return (pg_exec(l, "COMMIT"));
}

static int
pg_schema(struct ledger *l)
{
	return (PG_SCHEMA_VERSION);
}

#define PG_BACKEND(name) {						\
	.scheme = name,							\
	.open = pg_open,						\
	.close = pg_close,						\
	.begin = pg_begin,						\
	.append = pg_append,						\
	.commit = pg_commit,						\
	.rollback = pg_rollback,					\
	.head = pg_head,						\
	.set_head = pg_set_head,					\
	.scan = pg_scan,						\
	.maintain = pg_maintain,					\
	.error = pg_error,						\
	.get = pg_get,							\
	.claim_get = pg_claim_get,					\
	.claim_put = pg_claim_put,					\
	.claim_count = pg_claim_count,					\
	.claim_list = pg_claim_list,					\
	.claim_list_tenant = pg_claim_list_tenant,			\
	.pending_put = pg_pending_put,					\
	.pending_take = pg_pending_take,				\
	.collect = pg_collect,						\
	.raw_put = pg_raw_put,						\
	.raw_get = pg_raw_get,						\
	.claim_scan = pg_claim_scan,					\
	.source_times = pg_source_times,				\
	.subject_find = pg_subject_find,				\
	.rebuild_begin = pg_rebuild_begin,				\
	.rebuild_diff = pg_rebuild_diff,				\
	.claim_history = pg_claim_history,				\
	.claim_rev = pg_claim_rev,					\
	.feed_append = pgob_feed_append,				\
	.feed_scan = pgob_feed_scan,					\
	.cursor_get = pgob_cursor_get,					\
	.cursor_set = pgob_cursor_set,					\
	.cursor_forget = pgob_cursor_forget,				\
	.outbox_upsert = pgob_upsert,					\
	.outbox_pending = pgob_pending,					\
	.outbox_stats = pgob_stats,					\
	.outbox_backlog = pgob_backlog,					\
	.outbox_due = pgob_due,						\
	.outbox_list = pgob_list,					\
	.outbox_disabled = pgob_disabled,				\
	.outbox_ack = pgob_ack,						\
	.outbox_retry = pgob_retry,					\
	.outbox_replay = pgob_replay,					\
	.leader = pg_leader,						\
	.schema = pg_schema,						\
	.snapshot = pg_snapshot,					\
	.feed_head = pgob_feed_head,					\
	.wake_fd = pg_wake_fd,						\
	.wake_drain = pg_wake_drain,					\
	.raw_scan = pg_raw_scan,					\
	.claim_all = pg_claim_all,					\
	.pending_all = pg_pending_all,					\
}

const struct ledger_backend ledger_postgresql = PG_BACKEND("postgresql");
const struct ledger_backend ledger_postgres = PG_BACKEND("postgres");
