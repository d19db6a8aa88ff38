/*
 * outbox.c: the transactional outbox and the change feed.
 *
 * outbox_on_claim is the ledger's on_claim hook.  It runs on the writer
 * thread, inside the transaction that stores the claim revision, and
 * writes one row of `changes`: a cursor (AUTOINCREMENT: increasing, never
 * reused), the claim's type, id and revision, and the merge patch of
 * {properties, links} against the previous revision (GET /v1/changes).
 * That row is the durable queue: nothing per sink is written at ingest.
 *
 * outbox_fill, a writer job that push.c submits per sink, takes the feed
 * after the sink's cursor (outbox_cursors) into the rows
 * `outbox(sink, type, id)`: the state the sink should reach (`want`, the
 * subscription's fields) beside the state it last acknowledged (`acked`).
 * A newer state overwrites `want`, so it supersedes a queued older one,
 * and the patch push.c sends is always computed from what the sink
 * acknowledged.  A change outside the subscription's fields leaves the row
 * alone: nothing to send.  The cursor moves in the same transaction, so
 * each change is taken once, and a crash loses none between commit and
 * send.  Rows are acknowledged (outbox_ack_apply) on the writer thread
 * too; milepost outbox retry/replay update them from another process, in
 * short transactions.
 */
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "milepost.h"

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
	"DROP INDEX IF EXISTS outbox_due;"
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

struct outbox {
	const struct config	*cf;
	sqlite3			*db;		/* the writer's, borrowed */
	sqlite3_stmt		*prev;
	sqlite3_stmt		*change;
	sqlite3_stmt		*upsert;
	sqlite3_stmt		*rev;		/* a claim revision, for fill */
	struct buf		 b;
	_Atomic int64_t		 head;		/* the last change's cursor */
};

static sqlite3_stmt	*outbox_prepare(sqlite3 *, const char *);

static sqlite3 *
outbox_db(struct ledger *l)
{
	sqlite3	*db;

	if ((db = ledger_sqlite_db(l)) == NULL)
		log_warnx("%s: the outbox needs an SQLite ledger", __func__);
	return (db);
}

/* Create the outbox tables if missing (a read-write handle). */
int
outbox_schema(struct ledger *l, char *err, size_t errlen)
{
	sqlite3	*db;
	char	*msg = NULL;

	if ((db = outbox_db(l)) == NULL) {
		snprintf(err, errlen, "the outbox needs an SQLite ledger");
		return (-1);
	}
	if (sqlite3_exec(db, outbox_sql_schema, NULL, NULL, &msg) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "outbox schema: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return (-1);
	}
	return (0);
}

/*
 * Forget the change-feed cursor of every sink that is no longer
 * configured, so that no backlog grows for it.  Its outbox rows stay (a
 * dead letter can still be read); if it comes back, it takes the feed from
 * the start and sends only what differs from what it acknowledged.
 */
static int
outbox_forget(struct ledger *l, const struct config *cf, char *err,
    size_t errlen)
{
	static const char	*sql[] = {
		"SELECT sink FROM outbox_cursors WHERE sink NOT IN "
		"(SELECT value FROM json_each(?))",
		"DELETE FROM outbox_cursors WHERE sink NOT IN "
		"(SELECT value FROM json_each(?))"
	};
	sqlite3		*db = ledger_sqlite_db(l);
	sqlite3_stmt	*st;
	json_object	*names = json_object_new_array();
	const char	*js;
	size_t		 i;
	int		 rc = SQLITE_ERROR;

	for (i = 0; i < cf->nsinks; i++)
		json_object_array_add(names,
		    json_object_new_string(cf->sinks[i].name));
	js = json_object_to_json_string_ext(names, JSON_C_TO_STRING_PLAIN);
	for (i = 0; i < 2; i++) {
		if ((st = outbox_prepare(db, sql[i])) == NULL)
			break;
		sqlite3_bind_text(st, 1, js, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			log_info("outbox: sink %s is no longer configured: "
			    "its change-feed cursor is dropped",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			break;
	}
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "outbox: %s", sqlite3_errmsg(db));
	json_object_put(names);
	return (rc == SQLITE_DONE ? 0 : -1);
}

/*
 * The writer's outbox on ledger l (borrowed, read-write): creates the
 * tables and prepares the hook's statements.  Set l->on_claim to
 * outbox_on_claim and l->on_claim_arg to the result.
 */
struct outbox *
outbox_new(const struct config *cf, struct ledger *l, char *err,
    size_t errlen)
{
	struct outbox	*ob;

	if (outbox_schema(l, err, errlen) == -1 || outbox_forget(l, cf, err,
	    errlen) == -1)
		return (NULL);
	ob = xcalloc(1, sizeof(*ob));
	ob->cf = cf;
	ob->db = ledger_sqlite_db(l);
	buf_init(&ob->b);
	if (sqlite3_prepare_v3(ob->db, "SELECT properties, links FROM "
	    "claim_revisions WHERE type = ? AND id = ? AND revision < ? "
	    "ORDER BY revision DESC LIMIT 1", -1, SQLITE_PREPARE_PERSISTENT,
	    &ob->prev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(ob->db, "INSERT INTO changes (type, id, "
	    "revision, recorded_at, tenant, patch) VALUES (?, ?, ?, ?, ?, ?)",
	    -1, SQLITE_PREPARE_PERSISTENT, &ob->change, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(ob->db, "INSERT INTO outbox (sink, type, id, "
	    "want, want_rev, want_at, links, status) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, 'pending') ON CONFLICT (sink, type, id) DO UPDATE SET "
	    "want = excluded.want, want_rev = excluded.want_rev, "
	    "want_at = excluded.want_at, links = excluded.links, "
	    "status = CASE WHEN status = 'dead' THEN 'dead' ELSE 'pending' END, "
	    "next_at = CASE WHEN status = 'done' THEN 0 ELSE next_at END, "
	    "attempts = CASE WHEN status = 'done' THEN 0 ELSE attempts END "
	    "WHERE want IS NOT excluded.want AND excluded.want_rev >= "
	    "want_rev", -1, SQLITE_PREPARE_PERSISTENT,
	    &ob->upsert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(ob->db, "SELECT properties, links, recorded_at "
	    "FROM claim_revisions WHERE type = ? AND id = ? AND revision = ?",
	    -1, SQLITE_PREPARE_PERSISTENT, &ob->rev, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "outbox: %s", sqlite3_errmsg(ob->db));
		outbox_free(ob);
		return (NULL);
	}
	return (ob);
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	sqlite3_finalize(ob->prev);
	sqlite3_finalize(ob->change);
	sqlite3_finalize(ob->upsert);
	sqlite3_finalize(ob->rev);
	buf_free(&ob->b);
	free(ob);
}

static json_object *
outbox_parse(const char *s)
{
	return (s == NULL ? NULL : json_tokener_parse(s));
}

/* {"properties": …, "links": …} of a stored revision (taken). */
static json_object *
outbox_doc(const char *props, const char *links)
{
	json_object	*d;

	d = json_object_new_object();
	json_object_object_add(d, "properties", outbox_parse(props));
	json_object_object_add(d, "links", outbox_parse(links));
	return (d);
}

/* Does the subscription take this claim? */
static int
outbox_match(const struct subscription *s, const struct claim *c,
    const char *tenant)
{
	size_t	i, n;
	int	ok;

	for (i = 0, ok = 0; i < s->ntypes && !ok; i++)
		ok = strcmp(s->types[i], c->type) == 0;
	if (!ok)
		return (0);
	if (s->tenant != NULL && (tenant == NULL ||
	    strcmp(s->tenant, tenant) != 0))
		return (0);
	if (s->nids == 0)
		return (1);
	for (i = 0; i < s->nids; i++) {
		n = strlen(s->ids[i]);
		if (n > 0 && s->ids[i][n - 1] == '*' ?
		    strncmp(s->ids[i], c->id, n - 1) == 0 :
		    strcmp(s->ids[i], c->id) == 0)
			return (1);
	}
	return (0);
}

/* The subscription's view of props: its fields only (taken). */
static json_object *
outbox_select(const struct subscription *s, json_object *props)
{
	json_object	*o, *v;
	size_t		 i;

	o = json_object_new_object();
	if (!json_object_is_type(props, json_type_object))
		return (o);
	if (s->nfields == 0) {
		json_object_object_foreach(props, k, val)
			if (val != NULL)
				json_object_object_add(o, k,
				    json_object_get(val));
		return (o);
	}
	for (i = 0; i < s->nfields; i++)
		if (json_object_object_get_ex(props, s->fields[i], &v) &&
		    v != NULL)
			json_object_object_add(o, s->fields[i],
			    json_object_get(v));
	return (o);
}

static int
outbox_change(struct outbox *ob, const struct claim *c, json_object *doc,
    const char *tenant)
{
	json_object	*old = NULL, *patch;
	const char	*s;
	size_t		 len;
	int		 rc, ok = 0;

	sqlite3_bind_text(ob->prev, 1, c->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(ob->prev, 2, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ob->prev, 3, c->revision);
	if ((rc = sqlite3_step(ob->prev)) == SQLITE_ROW)
		old = outbox_doc((const char *)sqlite3_column_text(ob->prev, 0),
		    (const char *)sqlite3_column_text(ob->prev, 1));
	sqlite3_reset(ob->prev);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (-1);
	patch = mergepatch_diff(old, doc);
	json_object_put(old);
	if (old != NULL && mergepatch_empty(patch)) {
		json_object_put(patch);
		return (0);	/* a revision that changed nothing visible */
	}
	s = json_object_to_json_string_length(patch, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	sqlite3_bind_text(ob->change, 1, c->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(ob->change, 2, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ob->change, 3, c->revision);
	sqlite3_bind_int64(ob->change, 4, c->recorded_at);
	if (tenant != NULL)
		sqlite3_bind_text(ob->change, 5, tenant, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(ob->change, 5);
	sqlite3_bind_text(ob->change, 6, s, (int)len, SQLITE_STATIC);
	ok = sqlite3_step(ob->change) == SQLITE_DONE;
	if (ok)
		atomic_store(&ob->head, sqlite3_last_insert_rowid(ob->db));
	sqlite3_reset(ob->change);
	sqlite3_clear_bindings(ob->change);
	json_object_put(patch);
	return (ok ? 0 : -1);
}

/*
 * The on_claim hook (writer thread, in the claim's transaction): the
 * change feed's row, and nothing per sink.  The sinks take the feed into
 * their outbox rows at their own pace (outbox_fill), so a sink that is
 * slow or dead adds no work to ingest.  Returns -1 on a storage error,
 * which fails the transaction.
 */
int
outbox_on_claim(struct ledger *l, const struct claim *c, void *arg)
{
	struct outbox		*ob = arg;
	json_object		*props, *links, *doc, *t;
	const char		*tenant = NULL;
	int			 rc;

	props = outbox_parse(c->properties);
	links = outbox_parse(c->links);
	if (json_object_object_get_ex(links, "tenant", &t) &&
	    json_object_is_type(t, json_type_string))
		tenant = json_object_get_string(t);
	doc = json_object_new_object();
	json_object_object_add(doc, "properties", props);
	json_object_object_add(doc, "links", links);
	rc = outbox_change(ob, c, doc, tenant);
	json_object_put(doc);
	return (rc);
}

/* The last change's cursor the writer recorded (any thread). */
int64_t
outbox_head(struct outbox *ob)
{
	return (atomic_load(&ob->head));
}

/*
 * A fingerprint of sink's subscriptions (types, ids, tenant, fields, in
 * configuration order), so that a change of them is noticed.
 */
static void
outbox_subs_hash(const struct config *cf, size_t sink, char out[MP_HASHLEN])
{
	const struct subscription	*s;
	struct buf			 b;
	size_t				 i, j;

	buf_init(&b);
	for (i = 0; i < cf->nsubs; i++) {
		s = &cf->subs[i];
		if (s->sink != sink)
			continue;
		buf_adds(&b, "sub\036");
		for (j = 0; j < s->ntypes; j++)
			buf_printf(&b, "t%s\037", s->types[j]);
		for (j = 0; j < s->nids; j++)
			buf_printf(&b, "i%s\037", s->ids[j]);
		if (s->tenant != NULL)
			buf_printf(&b, "n%s\037", s->tenant);
		for (j = 0; j < s->nfields; j++)
			buf_printf(&b, "f%s\037", s->fields[j]);
	}
	sha256_hex(b.data != NULL ? b.data : "", b.len, out);
	buf_free(&b);
}

/*
 * Upsert the outbox row of sink for claim revision (type, id, rev) if a
 * subscription of that sink takes it.  Returns 0 or -1.
 */
static int
outbox_fill_one(struct outbox *ob, size_t sink, const char *type,
    const char *id, int64_t rev, const char *tenant)
{
	const struct subscription	*s = NULL;
	struct claim			 c;
	sqlite3_stmt			*st;
	json_object			*props, *want;
	size_t				 i;
	int				 rc;

	memset(&c, 0, sizeof(c));
	c.type = (char *)type;
	c.id = (char *)id;
	for (i = 0; i < ob->cf->nsubs; i++)	/* the first one wins */
		if (ob->cf->subs[i].sink == sink &&
		    outbox_match(&ob->cf->subs[i], &c, tenant)) {
			s = &ob->cf->subs[i];
			break;
		}
	if (s == NULL)
		return (0);
	st = ob->rev;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, rev);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return (rc == SQLITE_DONE ? 0 : -1);
	}
	props = outbox_parse((const char *)sqlite3_column_text(st, 0));
	want = outbox_select(s, props);
	json_object_put(props);
	buf_reset(&ob->b);
	evidence_canonical_json(want, &ob->b);
	json_object_put(want);
	sqlite3_bind_text(ob->upsert, 1, ob->cf->sinks[sink].name, -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(ob->upsert, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(ob->upsert, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ob->upsert, 4, ob->b.data, (int)ob->b.len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(ob->upsert, 5, rev);
	sqlite3_bind_int64(ob->upsert, 6, sqlite3_column_int64(st, 2));
	sqlite3_bind_text(ob->upsert, 7, sqlite3_column_text(st, 1) != NULL ?
	    (const char *)sqlite3_column_text(st, 1) : "{}", -1,
	    SQLITE_TRANSIENT);
	rc = sqlite3_step(ob->upsert);
	sqlite3_reset(ob->upsert);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ob->db));
		return (-1);
	}
	return (0);
}

/*
 * Take up to limit more entries of the change feed into the outbox rows
 * of sink (writer thread, in its transaction): each revision a
 * subscription of the sink takes becomes the state the sink should reach
 * (a newer revision supersedes a queued one; an older one never replaces
 * a newer).  The sink's cursor moves in the same transaction, so every
 * change is taken exactly once; when its subscriptions changed, it starts
 * again from the beginning of the feed.  Sets f: entries read, whether
 * more may follow, and the sink's pending rows (counted up to
 * pending_cap).  Returns 0 or -1.
 */
int
outbox_fill(struct ledger *l, struct outbox *ob, const char *sinkname,
    size_t limit, int64_t pending_cap, struct outbox_fill *f)
{
	sqlite3_stmt	*st;
	char		 subs[MP_HASHLEN];
	int64_t		 cursor = 0;
	size_t		 sink;
	int		 rc;

	memset(f, 0, sizeof(*f));
	for (sink = 0; sink < ob->cf->nsinks; sink++)
		if (strcmp(ob->cf->sinks[sink].name, sinkname) == 0)
			break;
	if (sink == ob->cf->nsinks || outbox_db(l) != ob->db)
		return (-1);
	outbox_subs_hash(ob->cf, sink, subs);
	if ((st = outbox_prepare(ob->db, "SELECT cursor, subs FROM "
	    "outbox_cursors WHERE sink = ?")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sinkname, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (strcmp((const char *)sqlite3_column_text(st, 1), subs) == 0)
			cursor = sqlite3_column_int64(st, 0);
		else
			log_info("outbox: %s: its subscriptions changed; "
			    "taking the change feed again from the start",
			    sinkname);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (-1);
	if ((st = outbox_prepare(ob->db, "SELECT cursor, type, id, revision, "
	    "tenant FROM changes WHERE cursor > ? ORDER BY cursor "
	    "LIMIT ?")) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, cursor);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cursor = sqlite3_column_int64(st, 0);
		f->read++;
		if (outbox_fill_one(ob, sink,
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    sqlite3_column_int64(st, 3),
		    (const char *)sqlite3_column_text(st, 4)) == -1) {
			rc = SQLITE_ERROR;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (-1);
	f->more = f->read == limit;
	f->cursor = cursor;
	if ((st = outbox_prepare(ob->db, "INSERT INTO outbox_cursors (sink, "
	    "cursor, subs) VALUES (?, ?, ?) ON CONFLICT (sink) DO UPDATE SET "
	    "cursor = excluded.cursor, subs = excluded.subs")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sinkname, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cursor);
	sqlite3_bind_text(st, 3, subs, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (-1);
	return ((f->pending = outbox_pending(l, sinkname, pending_cap)) ==
	    -1 ? -1 : 0);
}

/* The pending rows of sink, counted up to cap (any handle); -1 on error. */
int64_t
outbox_pending(struct ledger *l, const char *sink, int64_t cap)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	if ((db = outbox_db(l)) == NULL || (st = outbox_prepare(db,
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
 * For each sink with a cursor (or only sink), how many entries of the
 * change feed it has not taken into its outbox yet: cb(sink, n, arg).  A
 * read-only handle will do.  Returns 0 or -1.
 */
int
outbox_backlog(struct ledger *l, const char *sink,
    void (*cb)(const char *, int64_t, void *), void *arg)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 rc;

	if ((db = outbox_db(l)) == NULL || (st = outbox_prepare(db,
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

static char *
outbox_coltext(sqlite3_stmt *st, int i)
{
	const unsigned char	*s = sqlite3_column_text(st, i);

	return (s == NULL ? NULL : xstrdup((const char *)s));
}

static void
outbox_row_read(sqlite3_stmt *st, struct outbox_row *r)
{
	memset(r, 0, sizeof(*r));
	r->sink = outbox_coltext(st, 0);
	r->type = outbox_coltext(st, 1);
	r->id = outbox_coltext(st, 2);
	r->want = outbox_coltext(st, 3);
	r->want_rev = sqlite3_column_int64(st, 4);
	r->want_at = sqlite3_column_int64(st, 5);
	r->links = outbox_coltext(st, 6);
	r->acked = outbox_coltext(st, 7);
	r->acked_rev = sqlite3_column_int64(st, 8);
	r->etag = outbox_coltext(st, 9);
	r->status = outbox_coltext(st, 10);
	r->attempts = sqlite3_column_int64(st, 11);
	r->next_at = sqlite3_column_int64(st, 12);
	r->last_error = outbox_coltext(st, 13);
	r->gen = sqlite3_column_int64(st, 14);
}

void
outbox_row_clear(struct outbox_row *r)
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

/* Run st (bound, taken) and call cb for each row; -1 on error. */
static int
outbox_rows(sqlite3 *db, sqlite3_stmt *st,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	struct outbox_row	r;
	int			rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		outbox_row_read(st, &r);
		rc = cb(&r, arg);
		outbox_row_clear(&r);
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
outbox_prepare(sqlite3 *db, const char *sql)
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
outbox_due(struct ledger *l, const char *sink, int64_t now, size_t limit,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	sqlite3		*db;
	sqlite3_stmt	*st;

	if ((db = outbox_db(l)) == NULL || (st = outbox_prepare(db,
	    "SELECT " OUTBOX_ROW_COLS " FROM outbox WHERE sink = ? AND "
	    "status = 'pending' AND next_at <= ? ORDER BY next_at, want_at "
	    "LIMIT ?")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (int64_t)limit);
	return (outbox_rows(db, st, cb, arg));
}

/* Every row of sink (or all sinks) with status (or any but done). */
int
outbox_list(struct ledger *l, const char *sink, const char *status,
    int (*cb)(const struct outbox_row *, void *), void *arg)
{
	sqlite3		*db;
	sqlite3_stmt	*st;

	if ((db = outbox_db(l)) == NULL || (st = outbox_prepare(db,
	    "SELECT " OUTBOX_ROW_COLS " FROM outbox WHERE (?1 IS NULL OR "
	    "sink = ?1) AND (CASE WHEN ?2 IS NULL THEN status != 'done' "
	    "WHEN ?2 = 'all' THEN 1 ELSE status = ?2 END) "
	    "ORDER BY sink, want_at, type, id")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	return (outbox_rows(db, st, cb, arg));
}

/* Is sink disabled (410)?  1 yes, 0 no, -1 error. */
int
outbox_disabled(struct ledger *l, const char *sink)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 rc;

	if ((db = outbox_db(l)) == NULL || (st = outbox_prepare(db,
	    "SELECT 1 FROM outbox_sinks WHERE sink = ?")) == NULL)
		return (-1);
	sqlite3_bind_text(st, 1, sink, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/* Run one statement with up to 3 text and 2 integer parameters. */
static int64_t
outbox_exec(sqlite3 *db, const char *sql, const char *t1, const char *t2,
    const char *t3, int64_t i4, int64_t i5)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = outbox_prepare(db, sql)) == NULL)
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
outbox_ack_apply(struct ledger *l, const struct outbox_ack *a)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 rc;

	if ((db = outbox_db(l)) == NULL)
		return (-1);
	switch (a->result) {
	case OUTBOX_DONE:
		st = outbox_prepare(db, "UPDATE outbox SET acked = ?4, "
		    "acked_rev = ?5, etag = ?6, acked_at = ?7, attempts = 0, "
		    "next_at = 0, last_error = NULL, status = CASE WHEN "
		    "want_rev = ?5 AND want = ?4 THEN 'done' ELSE 'pending' END "
		    "WHERE sink = ?1 AND type = ?2 AND id = ?3");
		break;
	case OUTBOX_RETRY:
		st = outbox_prepare(db, "UPDATE outbox SET attempts = ?5, "
		    "next_at = ?7, last_error = ?6 WHERE sink = ?1 AND "
		    "type = ?2 AND id = ?3 AND status = 'pending'");
		break;
	case OUTBOX_DEAD:
		st = outbox_prepare(db, "UPDATE outbox SET attempts = ?5, "
		    "status = 'dead', dead_at = ?7, last_error = ?6 WHERE "
		    "sink = ?1 AND type = ?2 AND id = ?3 AND status = 'pending'");
		break;
	case OUTBOX_DISABLE:
		st = outbox_prepare(db, "INSERT INTO outbox_sinks (sink, "
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

void
outbox_ack_clear(struct outbox_ack *a)
{
	free(a->sink);
	free(a->type);
	free(a->id);
	free(a->sent);
	free(a->etag);
	free(a->error);
	memset(a, 0, sizeof(*a));
}

/*
 * The end of retry and replay: enable sink (or all) again if a 410
 * disabled it, and commit the transaction they began, or roll it back
 * when n, the rows they queued, is -1.  Returns n, or -1.
 */
static int64_t
outbox_enable(sqlite3 *db, const char *sink, int64_t n)
{
	if (n == -1 || outbox_exec(db, "DELETE FROM outbox_sinks WHERE "
	    "?1 IS NULL OR sink = ?1", sink, NULL, NULL, 0, 0) == -1 ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return (-1);
	}
	return (n);
}

/*
 * milepost outbox retry: dead-lettered pushes of sink (or all sinks),
 * or of one "TYPE/ID", go back to pending, and the sink is enabled again
 * if a 410 disabled it.  Its own transaction.  Returns the rows revived.
 */
int64_t
outbox_retry(struct ledger *l, const char *sink, const char *type,
    const char *id)
{
	sqlite3	*db;
	int64_t	 n;

	if ((db = outbox_db(l)) == NULL ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return (-1);
	n = outbox_exec(db, "UPDATE outbox SET status = 'pending', "
	    "attempts = 0, next_at = 0 WHERE status = 'dead' AND (?1 IS NULL "
	    "OR sink = ?1) AND (?2 IS NULL OR type = ?2) AND (?3 IS NULL OR "
	    "id = ?3)", sink, type, id, 0, 0);
	if (n != -1 && outbox_exec(db, "UPDATE outbox SET next_at = 0 WHERE "
	    "status = 'pending' AND (?1 IS NULL OR sink = ?1)", sink, NULL,
	    NULL, 0, 0) == -1)
		n = -1;
	return (outbox_enable(db, sink, n));
}

/*
 * milepost outbox replay --since: every object of sink (or all) whose
 * state changed at or after since is sent again: a dead-lettered push is
 * retried (same webhook-id), a delivered one is resent as a full snapshot
 * (a new webhook-id).  Returns the rows queued.
 */
int64_t
outbox_replay(struct ledger *l, const char *sink, int64_t since)
{
	sqlite3	*db;
	int64_t	 n;

	if ((db = outbox_db(l)) == NULL ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return (-1);
	n = outbox_exec(db, "UPDATE outbox SET "
	    "gen = gen + (status = 'done'), "
	    "acked = CASE WHEN status = 'done' THEN NULL ELSE acked END, "
	    "acked_rev = CASE WHEN status = 'done' THEN 0 ELSE acked_rev END, "
	    "etag = CASE WHEN status = 'done' THEN NULL ELSE etag END, "
	    "status = 'pending', attempts = 0, next_at = 0 "
	    "WHERE want_at >= ?4 AND (?1 IS NULL OR sink = ?1)", sink, NULL,
	    NULL, since, 0);
	return (outbox_enable(db, sink, n));
}

/*
 * The change feed after cursor: at most limit entries appended to arr
 * (borrowed) as {cursor, type, id, revision, recorded_at, tenant, patch};
 * *next is the last cursor returned, or after.  tenant, when not NULL,
 * keeps only that tenant's entries.
 */
int
outbox_changes(struct ledger *l, int64_t after, size_t limit,
    const char *tenant, json_object *arr, int64_t *next)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	json_object	*o;
	char		 t[MP_TIMELEN];
	int		 rc;

	*next = after;
	if ((db = outbox_db(l)) == NULL || (st = outbox_prepare(db,
	    "SELECT cursor, type, id, revision, recorded_at, tenant, patch "
	    "FROM changes WHERE cursor > ?1 AND (?3 IS NULL OR tenant = ?3) "
	    "ORDER BY cursor LIMIT ?2")) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	if (tenant != NULL)
		sqlite3_bind_text(st, 3, tenant, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		o = json_object_new_object();
		*next = sqlite3_column_int64(st, 0);
		json_object_object_add(o, "cursor", json_object_new_int64(*next));
		json_object_object_add(o, "type", json_object_new_string(
		    (const char *)sqlite3_column_text(st, 1)));
		json_object_object_add(o, "id", json_object_new_string(
		    (const char *)sqlite3_column_text(st, 2)));
		json_object_object_add(o, "revision", json_object_new_int64(
		    sqlite3_column_int64(st, 3)));
		tf_format(sqlite3_column_int64(st, 4), t);
		json_object_object_add(o, "recorded_at",
		    json_object_new_string(t));
		json_object_object_add(o, "patch", outbox_parse(
		    (const char *)sqlite3_column_text(st, 6)));
		json_object_array_add(arr, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(db));
		return (-1);
	}
	return (0);
}

/*
 * The webhook-id of a push: the same for the same sink, object, target
 * revision, base revision and replay generation, so that a resend after a
 * crash or a timeout is recognisably the same message.
 */
void
outbox_msgid(const struct outbox_row *r, char *out, size_t outlen)
{
	struct buf	b;
	char		hex[MP_HASHLEN];

	buf_init(&b);
	buf_printf(&b, "%s%c%s%c%s%c%" PRId64 "%c%" PRId64 "%c%" PRId64,
	    r->sink, 0, r->type, 0, r->id, 0, r->want_rev, 0, r->acked_rev, 0,
	    r->gen);
	sha256_hex(b.data, b.len, hex);
	buf_free(&b);
	snprintf(out, outlen, "msg_%.32s", hex);
}

/*
 * The delay before attempt number attempt+1 (attempt >= 1 failed so
 * far), in microseconds: base * 2^(attempt-1), at most max, with "equal
 * jitter": half of it fixed, half uniformly random from rnd.
 */
int64_t
outbox_backoff(double base, double max, int64_t attempt, uint32_t rnd)
{
	double	d;

	if (attempt < 1)
		attempt = 1;
	d = base * ldexp(1.0, (int)(attempt > 60 ? 60 : attempt - 1));
	if (d > max)
		d = max;
	d = d / 2 + (d / 2) * ((double)rnd / (double)UINT32_MAX);
	return ((int64_t)(d * 1e6));
}

/*
 * A Retry-After value (seconds, or an HTTP date) as a delay from now in
 * microseconds, at most one hour; -1 when absent or unreadable.
 */
int64_t
outbox_retry_after(const char *v, int64_t now)
{
	char		*end;
	long long	 secs;
	time_t		 t;

	if (v == NULL)
		return (-1);
	while (*v == ' ')
		v++;
	secs = strtoll(v, &end, 10);
	if (end != v && (*end == '\0' || *end == ' ' || *end == '\r')) {
		if (secs < 0)
			return (-1);
	} else {
		if ((t = curl_getdate(v, NULL)) == -1)
			return (-1);
		secs = (long long)t - now / 1000000;
		if (secs < 0)
			secs = 0;
	}
	if (secs > 3600)
		secs = 3600;
	return ((int64_t)secs * 1000000);
}

/* A token bucket of burst tokens refilled at rate per second. */
void
tbucket_init(struct tbucket *b, double rate, double burst, int64_t now)
{
	b->rate = rate;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last = now;
}

/*
 * Take one token at now (microseconds).  Returns 0 when taken, or how
 * long to wait (microseconds) until one is there.
 */
int64_t
tbucket_take(struct tbucket *b, int64_t now)
{
	if (b->rate <= 0)
		return (0);
	if (now > b->last) {
		b->tokens += (double)(now - b->last) / 1e6 * b->rate;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last = now;
	}
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return (0);
	}
	return ((int64_t)((1 - b->tokens) / b->rate * 1e6) + 1);
}
