/*
 * check_ledger.c: the hash-chained ledger (ledger.c) on its SQLite backend
 * (store/sqlite.c).  Each test gets a fresh directory from the fixture;
 * tampering goes through a second, plain sqlite3 connection, as an
 * attacker with write access to the file would.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "milepost.h"
#include "check_milepost.h"

#define T0	(INT64_C(1751537300) * INT64_C(1000000))

static char		 dir[64];
static char		 dbpath[128];
static char		 url[160];
static struct ledger	*l;
static char		 err[MP_ERRLEN];

static void
ledger_setup(void)
{
	strlcpy(dir, "/tmp/check_milepost_ledger.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL)
		ck_abort_msg("mkdtemp %s", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/l.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", dbpath);
	l = NULL;
	err[0] = '\0';
}

static void
ledger_teardown(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];

	ledger_close(l);
	l = NULL;
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

static struct ledger *
open_rw(void)
{
	struct ledger	*h;

	h = ledger_open(url, 0, err, sizeof(err));
	ck_assert_msg(h != NULL, "ledger_open %s: %s", url, err);
	return (h);
}

/* A BuildStartedEvent from source with idempotency id. */
static struct evidence *
mkev(const char *source, const char *id)
{
	struct evidence	*ev;
	char		 props[128];

	ev = evidence_new();
	ev->id = xstrdup(id);
	ev->source = xstrdup(source);
	ev->type = xstrdup("BuildStartedEvent");
	ev->subject = xstrdup(id);
	ev->time = T0;
	ev->recorded_at = T0 + 1000;
	snprintf(props, sizeof(props), "{\"buildId\":\"%s\"}", id);
	ev->properties = xstrdup(props);
	ev->links = xstrdup("{\"branch\":\"main\"}");
	return (ev);
}

/* Append one evidence inside the open transaction; returns its rc. */
static int
append(const char *source, const char *id, int64_t *seq, char *hash)
{
	struct evidence	*ev;
	int		 rc;

	ev = mkev(source, id);
	rc = ledger_append(l, ev);
	if (seq != NULL)
		*seq = ev->seq;
	if (hash != NULL)
		strlcpy(hash, ev->hash, MP_HASHLEN);
	evidence_free(ev);
	return (rc);
}

/* Store ids "e1".."e<n>" from "agent" in one transaction. */
static void
append_n(int n)
{
	char	id[32];
	int64_t	seq;
	int	i;

	ck_assert_int_eq(ledger_begin(l), 0);
	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		ck_assert_int_eq(append("agent", id, &seq, NULL), 0);
		ck_assert_int_eq(seq, l->last_seq + i);
	}
	ck_assert_msg(ledger_commit(l) == 0, "commit: %s", ledger_error(l));
}

/* Run sql on a separate connection; 0 (TSQL_OK) when it succeeded. */
static int
tamper(const char *sql)
{
	return (tsql_run(dbpath, sql, NULL, 0));
}

struct collect {
	int64_t	seq[16];
	char	id[16][32];
	char	hash[16][MP_HASHLEN];
	size_t	n;
};

static int
collect_one(const struct evidence *ev, void *arg)
{
	struct collect	*c = arg;

	if (c->n >= 16)
		return (-1);
	c->seq[c->n] = ev->seq;
	strlcpy(c->id[c->n], ev->id, sizeof(c->id[0]));
	strlcpy(c->hash[c->n], ev->hash, sizeof(c->hash[0]));
	c->n++;
	return (0);
}

static int
stop_one(const struct evidence *ev, void *arg)
{
	return (-1);
}

static void
expect_intact(struct ledger *h, int64_t n)
{
	struct ledger_verify	v;

	ck_assert_msg(ledger_verify(h, &v) == 0, "not intact: %s", v.reason);
	ck_assert_int_eq(v.checked, n);
	ck_assert_int_eq(v.bad_seq, 0);
}

static void
expect_broken(struct ledger *h, int64_t bad)
{
	struct ledger_verify	v;

	ck_assert_int_eq(ledger_verify(h, &v), 1);
	ck_assert_msg(v.bad_seq == bad, "bad_seq %lld, not %lld (%s)",
	    (long long)v.bad_seq, (long long)bad, v.reason);
	ck_assert_msg(v.reason[0] != '\0', "no reason given");
}

START_TEST(test_append_commit)
{
	struct collect	c;
	char		prev[MP_HASHLEN], h[MP_HASHLEN];
	struct evidence	*ev;
	size_t		i;

	l = open_rw();
	ck_assert_int_eq(l->last_seq, 0);
	ck_assert_str_eq(l->last_hash, LEDGER_GENESIS);
	append_n(3);
	ck_assert_int_eq(l->last_seq, 3);

	/* Each stored hash chains onto its predecessor's. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(l, 0, 0, collect_one, &c), 3);
	ck_assert_uint_eq(c.n, 3);
	strlcpy(prev, LEDGER_GENESIS, sizeof(prev));
	for (i = 0; i < c.n; i++) {
		ck_assert_int_eq(c.seq[i], (int64_t)i + 1);
		ev = mkev("agent", c.id[i]);
		ev->seq = c.seq[i];
		evidence_hash(ev, prev, h);
		evidence_free(ev);
		ck_assert_str_eq(c.hash[i], h);
		strlcpy(prev, h, sizeof(prev));
	}
	ck_assert_str_eq(l->last_hash, prev);
	expect_intact(l, 3);
}
END_TEST

START_TEST(test_empty_verify)
{
	l = open_rw();
	expect_intact(l, 0);
}
END_TEST

START_TEST(test_duplicate)
{
	struct collect	c;
	struct evidence	*ev;
	char		stored[MP_HASHLEN];
	int64_t		seq;

	l = open_rw();
	append_n(3);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(l, 1, 1, collect_one, &c), 1);
	strlcpy(stored, c.hash[0], sizeof(stored));

	ck_assert_int_eq(ledger_begin(l), 0);
	ev = mkev("agent", "e2");
	ev->recorded_at = T0 + 999999;
	ck_assert_int_eq(ledger_append(l, ev), 1);
	/* The stored entry is reported, not the would-be new one. */
	ck_assert_int_eq(ev->seq, 2);
	ck_assert_int_eq(ev->recorded_at, T0 + 1000);
	ck_assert_str_eq(ev->hash, stored);
	evidence_free(ev);
	ck_assert_int_eq(ledger_commit(l), 0);
	ck_assert_int_eq(l->last_seq, 3);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(l, 0, 0, collect_one, &c), 3);

	/* A duplicate inside the same transaction as its original. */
	ck_assert_int_eq(ledger_begin(l), 0);
	ck_assert_int_eq(append("agent", "e4", &seq, NULL), 0);
	ck_assert_int_eq(seq, 4);
	ck_assert_int_eq(append("agent", "e4", &seq, NULL), 1);
	ck_assert_int_eq(seq, 4);
	ck_assert_int_eq(append("agent", "e5", &seq, NULL), 0);
	ck_assert_int_eq(seq, 5);
	ck_assert_int_eq(ledger_commit(l), 0);
	expect_intact(l, 5);
}
END_TEST

START_TEST(test_same_id_other_source)
{
	int64_t	seq;

	l = open_rw();
	append_n(3);
	ck_assert_int_eq(ledger_begin(l), 0);
	ck_assert_int_eq(append("github", "e2", &seq, NULL), 0);
	ck_assert_int_eq(seq, 4);
	ck_assert_int_eq(ledger_commit(l), 0);
	expect_intact(l, 4);
}
END_TEST

START_TEST(test_rollback)
{
	struct collect	c;
	char		tip[MP_HASHLEN];
	int64_t		seq;

	l = open_rw();
	append_n(3);
	strlcpy(tip, l->last_hash, sizeof(tip));

	ck_assert_int_eq(ledger_begin(l), 0);
	ck_assert_int_eq(append("agent", "lost-1", &seq, NULL), 0);
	ck_assert_int_eq(seq, 4);
	ck_assert_int_eq(append("agent", "lost-2", &seq, NULL), 0);
	ck_assert_int_eq(seq, 5);
	ledger_rollback(l);
	ck_assert_int_eq(l->last_seq, 3);
	ck_assert_str_eq(l->last_hash, tip);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(l, 0, 0, collect_one, &c), 3);

	/* The next append takes the sequence number the rollback freed. */
	ck_assert_int_eq(ledger_begin(l), 0);
	ck_assert_int_eq(append("agent", "kept", &seq, NULL), 0);
	ck_assert_int_eq(seq, 4);
	/* A rolled-back id is not a duplicate. */
	ck_assert_int_eq(append("agent", "lost-1", &seq, NULL), 0);
	ck_assert_int_eq(seq, 5);
	ck_assert_int_eq(ledger_commit(l), 0);
	expect_intact(l, 5);
}
END_TEST

START_TEST(test_tamper_update)
{
	l = open_rw();
	append_n(3);
	expect_intact(l, 3);
	ck_assert_int_eq(tamper("DROP TRIGGER evidence_no_update;"
	    "UPDATE evidence SET properties='{\"x\":1}' WHERE seq=2;"),
	    TSQL_OK);
	expect_broken(l, 2);
}
END_TEST

/* Rewriting an entry's hash to match its new content moves the break on. */
START_TEST(test_tamper_rehash)
{
	struct evidence	*ev;
	struct collect	 c;
	char		 h[MP_HASHLEN], sql[256];

	l = open_rw();
	append_n(3);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(l, 0, 1, collect_one, &c), 1);
	ev = mkev("agent", "e2");
	ev->seq = 2;
	free(ev->subject);
	ev->subject = xstrdup("forged");
	evidence_hash(ev, c.hash[0], h);
	evidence_free(ev);
	snprintf(sql, sizeof(sql), "DROP TRIGGER evidence_no_update;"
	    "UPDATE evidence SET subject='forged', hash='%s' WHERE seq=2;", h);
	ck_assert_int_eq(tamper(sql), TSQL_OK);
	expect_broken(l, 3);
}
END_TEST

/* The last entry has no successor: the recorded tip vouches for it. */
START_TEST(test_tamper_rehash_last)
{
	struct evidence	*ev;
	struct collect	 c;
	char		 h[MP_HASHLEN], sql[256];

	l = open_rw();
	append_n(3);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(l, 1, 1, collect_one, &c), 1);
	ev = mkev("agent", "e3");
	ev->seq = 3;
	free(ev->subject);
	ev->subject = xstrdup("forged");
	evidence_hash(ev, c.hash[0], h);
	evidence_free(ev);
	snprintf(sql, sizeof(sql), "DROP TRIGGER evidence_no_update;"
	    "UPDATE evidence SET subject='forged', hash='%s' WHERE seq=3;", h);
	ck_assert_int_eq(tamper(sql), TSQL_OK);
	expect_broken(l, 3);
}
END_TEST

/* An entry slipped in past the tip, with a well-formed chain hash. */
START_TEST(test_tamper_insert_past_tip)
{
	struct evidence	*ev;
	char		 sql[512];

	l = open_rw();
	append_n(3);
	ev = mkev("agent", "forged");
	ev->seq = 4;
	evidence_hash(ev, l->last_hash, ev->hash);
	snprintf(sql, sizeof(sql), "INSERT INTO evidence (seq, id, source, "
	    "type, subject, time, recorded_at, properties, links, hash) "
	    "VALUES (4, '%s', '%s', '%s', '%s', %lld, %lld, '%s', '%s', '%s');",
	    ev->id, ev->source, ev->type, ev->subject, (long long)ev->time,
	    (long long)ev->recorded_at, ev->properties, ev->links, ev->hash);
	evidence_free(ev);
	ck_assert_int_eq(tamper(sql), TSQL_OK);
	expect_broken(l, 4);
}
END_TEST

START_TEST(test_tamper_delete_middle)
{
	l = open_rw();
	append_n(4);
	ck_assert_int_eq(tamper("DROP TRIGGER evidence_no_delete;"
	    "DELETE FROM evidence WHERE seq=2;"), TSQL_OK);
	expect_broken(l, 2);
}
END_TEST

START_TEST(test_tamper_delete_last)
{
	struct ledger	*ro;

	l = open_rw();
	append_n(3);
	ck_assert_int_eq(tamper("DROP TRIGGER evidence_no_delete;"
	    "DELETE FROM evidence WHERE seq=3;"), TSQL_OK);
	expect_broken(l, 3);
	/* The same from a read-only handle, as "milepost ledger verify". */
	ro = ledger_open(url, LEDGER_RDONLY, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	expect_broken(ro, 3);
	ledger_close(ro);
}
END_TEST

/* A writable open checks that the recorded tip is the last row. */
START_TEST(test_open_refuses_bad_tip)
{
	l = open_rw();
	append_n(3);
	ledger_close(l);
	l = NULL;
	ck_assert_int_eq(tamper("DROP TRIGGER evidence_no_delete;"
	    "DELETE FROM evidence WHERE seq=3;"), TSQL_OK);
	ck_assert_ptr_null(ledger_open(url, 0, err, sizeof(err)));
	ck_assert_msg(strstr(err, "tip") != NULL, "%s", err);

	/* Rows beyond the tip, or a tip that vanished, are refused too. */
	ck_assert_int_eq(tamper("DELETE FROM ledger_head;"), TSQL_OK);
	ck_assert_ptr_null(ledger_open(url, 0, err, sizeof(err)));
}
END_TEST

/* A one-byte edit of the tip's content, its hash left: refused at open. */
START_TEST(test_open_refuses_edited_tip)
{
	l = open_rw();
	append_n(3);
	ledger_close(l);
	l = NULL;
	ck_assert_int_eq(tamper("DROP TRIGGER evidence_no_update;"
	    "UPDATE evidence SET properties = '{\"buildId\":\"e4\"}' "
	    "WHERE seq=3;"), TSQL_OK);
	ck_assert_ptr_null(ledger_open(url, 0, err, sizeof(err)));
	ck_assert_msg(strstr(err, "does not match its hash") != NULL &&
	    strstr(err, "milepost ledger verify") != NULL, "%s", err);
	/* Restored, it opens; an edit deeper down needs LEDGER_VERIFY. */
	ck_assert_int_eq(tamper("DROP TRIGGER IF EXISTS evidence_no_update;"
	    "UPDATE evidence SET properties = "
	    "'{\"buildId\":\"e3\"}' WHERE seq=3;"
	    "UPDATE evidence SET properties = '{\"buildId\":\"x\"}' "
	    "WHERE seq=1;"), TSQL_OK);
	l = ledger_open(url, 0, err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	ledger_close(l);
	l = NULL;
	ck_assert_ptr_null(ledger_open(url, LEDGER_VERIFY, err, sizeof(err)));
	ck_assert_msg(strstr(err, "broken at entry 1") != NULL &&
	    strstr(err, "milepost ledger verify") != NULL, "%s", err);
}
END_TEST

struct tenant_seen {
	char	ids[8][32];
	int	n;
};

static int
tenant_one(const struct claim *c, void *arg)
{
	struct tenant_seen	*t = arg;

	if (t->n < 8)
		snprintf(t->ids[t->n], sizeof(t->ids[0]), "%s#%lld", c->id,
		    (long long)c->revision);
	t->n++;
	return (0);
}

static void
put_claim(const char *id, int64_t rev, const char *tenant)
{
	struct claim	c;
	char		links[64];

	memset(&c, 0, sizeof(c));
	c.type = (char *)"Deployment";
	c.id = (char *)id;
	c.revision = rev;
	c.anchor = c.time = T0;
	c.recorded_at = T0 + rev;
	c.properties = (char *)"{}";
	snprintf(links, sizeof(links), "{\"tenant\":\"%s\"}", tenant);
	c.links = links;
	c.basis = (char *)"[]";
	ck_assert_int_eq(ledger_claim_put(l, &c), 0);
}

/*
 * ledger_claim_list_tenant: only the claims whose latest revision is the
 * tenant's, latest revision each, in id order, paged by after and limit.
 */
START_TEST(test_claim_list_tenant)
{
	struct tenant_seen	t;

	l = open_rw();
	ck_assert_int_eq(ledger_begin(l), 0);
	put_claim("a1", 1, "acme");
	put_claim("a1", 2, "acme");
	put_claim("g1", 1, "globex");
	put_claim("m1", 1, "acme");	/* moved to globex since */
	put_claim("m1", 2, "globex");
	put_claim("a2", 1, "acme");
	ck_assert_int_eq(ledger_commit(l), 0);
	memset(&t, 0, sizeof(t));
	ck_assert_int_ge(ledger_claim_list_tenant(l, "Deployment", "acme",
	    NULL, 0, INT64_MAX, tenant_one, &t), 0);
	ck_assert_int_eq(t.n, 2);
	ck_assert_str_eq(t.ids[0], "a1#2");
	ck_assert_str_eq(t.ids[1], "a2#1");
	/* As of before m1 moved, it was acme's. */
	memset(&t, 0, sizeof(t));
	ck_assert_int_ge(ledger_claim_list_tenant(l, "Deployment", "acme",
	    NULL, 0, T0 + 1, tenant_one, &t), 0);
	ck_assert_int_eq(t.n, 3);
	ck_assert_str_eq(t.ids[2], "m1#1");
	/* Paged. */
	memset(&t, 0, sizeof(t));
	ck_assert_int_ge(ledger_claim_list_tenant(l, "Deployment", "acme",
	    "a1", 1, INT64_MAX, tenant_one, &t), 0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(t.ids[0], "a2#1");
	memset(&t, 0, sizeof(t));
	ck_assert_int_ge(ledger_claim_list_tenant(l, "Deployment", "globex",
	    NULL, 0, INT64_MAX, tenant_one, &t), 0);
	ck_assert_int_eq(t.n, 2);
	memset(&t, 0, sizeof(t));
	ck_assert_int_ge(ledger_claim_list_tenant(l, "Deployment", NULL,
	    NULL, 0, INT64_MAX, tenant_one, &t), 0);
	ck_assert_int_eq(t.n, 4);
}
END_TEST

/*
 * Every query that runs per evidence or per request has its index; a
 * schema edit that drops one would still pass every functional test and
 * only be slow at scale.  The plan of each hot lookup must name it.
 */
START_TEST(test_indexes)
{
	static const struct {
		const char	*sql;
		const char	*index;
	} plans[] = {
		{ "SELECT seq FROM evidence WHERE source = 'a' AND id = 'b'",
		    "sqlite_autoindex_evidence_1" },
		{ "SELECT seq FROM evidence WHERE type = 'a' AND time >= 1 "
		    "AND time < 2", "evidence_type_time" },
		{ "SELECT seq FROM evidence WHERE type = 'a' AND subject = 'b'",
		    "evidence_subject" },
		{ "SELECT rowid FROM raw_payloads WHERE source = 'a' AND "
		    "delivery = 'b'", "raw_payloads_delivery" },
		{ "SELECT id FROM claim_revisions WHERE type = 'a' AND "
		    "recorded_at = 1", "claim_recorded" },
		{ "SELECT id FROM claim_revisions WHERE type = 'a' AND "
		    "anchor >= 1 AND anchor < 2", "claim_anchor" },
		/* A client's list: its tenant's rows, not everyone's. */
		{ "SELECT id FROM claim_revisions INDEXED BY claim_tenant "
		    "WHERE type = 'a' AND json_extract(links, '$.tenant') = "
		    "'b' AND id > ''", "claim_tenant" },
	};
	char		 q[512], plan[4096];
	size_t		 i;
	int		 found;

	l = open_rw();
	for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s;", plans[i].sql);
		ck_assert_int_eq(tsql_run(dbpath, q, plan, sizeof(plan)),
		    TSQL_OK);
		found = strstr(plan, plans[i].index) != NULL;
		ck_assert_msg(found, "%s: not by %s", plans[i].sql,
		    plans[i].index);
	}
}
END_TEST

START_TEST(test_triggers)
{
	l = open_rw();
	append_n(3);
	ck_assert_int_ne(tamper("UPDATE evidence SET subject='x' WHERE seq=2;"),
	    TSQL_OK);
	ck_assert_int_ne(tamper("DELETE FROM evidence WHERE seq=3;"),
	    TSQL_OK);
	ck_assert_int_ne(tamper("DELETE FROM evidence;"), TSQL_OK);
	expect_intact(l, 3);
}
END_TEST

START_TEST(test_reopen)
{
	char	tip[MP_HASHLEN];
	int64_t	seq;

	l = open_rw();
	append_n(3);
	strlcpy(tip, l->last_hash, sizeof(tip));
	ledger_close(l);

	l = open_rw();
	ck_assert_int_eq(l->last_seq, 3);
	ck_assert_str_eq(l->last_hash, tip);
	ck_assert_int_eq(ledger_begin(l), 0);
	ck_assert_int_eq(append("agent", "after-reopen", &seq, NULL), 0);
	ck_assert_int_eq(seq, 4);
	/* Dedup survives the reopen. */
	ck_assert_int_eq(append("agent", "e1", &seq, NULL), 1);
	ck_assert_int_eq(seq, 1);
	ck_assert_int_eq(ledger_commit(l), 0);
	expect_intact(l, 4);
}
END_TEST

START_TEST(test_readonly_scan)
{
	struct ledger	*ro;
	struct collect	 c;
	int64_t		 seq;

	l = open_rw();
	append_n(5);

	/* Alongside the writer. */
	ro = ledger_open(url, LEDGER_RDONLY, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(ro, 0, 0, collect_one, &c), 5);
	ck_assert_str_eq(c.id[0], "e1");
	ck_assert_str_eq(c.id[4], "e5");
	/* after and limit page through in order. */
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(ro, 2, 2, collect_one, &c), 2);
	ck_assert_int_eq(c.seq[0], 3);
	ck_assert_int_eq(c.seq[1], 4);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(ro, 5, 10, collect_one, &c), 0);
	expect_intact(ro, 5);

	/* It sees what the writer commits later. */
	ck_assert_int_eq(ledger_begin(l), 0);
	ck_assert_int_eq(append("agent", "e6", &seq, NULL), 0);
	ck_assert_int_eq(ledger_commit(l), 0);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(ro, 5, 0, collect_one, &c), 1);
	ck_assert_str_eq(c.id[0], "e6");

	ledger_close(ro);

	/* And on its own, once the writer has gone. */
	ledger_close(l);
	l = NULL;
	ro = ledger_open(url, LEDGER_RDONLY, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_scan(ro, 0, 0, collect_one, &c), 6);
	expect_intact(ro, 6);
	ledger_close(ro);
}
END_TEST

START_TEST(test_scan_stop)
{
	l = open_rw();
	append_n(3);
	/* A callback's -1 stops the scan and is returned. */
	ck_assert_int_eq(ledger_scan(l, 0, 0, stop_one, NULL), -1);
}
END_TEST

START_TEST(test_open_errors)
{
	ck_assert_ptr_null(ledger_open("no-scheme", 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no-scheme"));
	ck_assert_ptr_null(ledger_open("mysql://db/x", 0, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "unknown ledger scheme"));
	/* PostgreSQL: nothing listens on port 1; one line, no password. */
	ck_assert_ptr_null(ledger_open("postgresql://u:s3cret@127.0.0.1:1/x",
	    0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "postgresql://u:***@127.0.0.1:1/x"));
	ck_assert_ptr_null(strstr(err, "s3cret"));
	ck_assert_ptr_null(strchr(err, '\n'));
	/* Read-only never creates a ledger. */
	ck_assert_ptr_null(ledger_open(url, LEDGER_RDONLY, err, sizeof(err)));
	ck_assert_int_eq(access(dbpath, F_OK), -1);
	/* sqlite://PATH is the same as sqlite:PATH. */
	{
		char	u2[192];

		snprintf(u2, sizeof(u2), "sqlite://%s", dbpath);
		l = ledger_open(u2, 0, err, sizeof(err));
		ck_assert_msg(l != NULL, "%s", err);
		ck_assert_int_eq(access(dbpath, F_OK), 0);
	}
}
END_TEST

/* Raw payloads: payload.c round trips, and refuses what is not its own. */
static void
payload_roundtrip(const char *p, size_t len)
{
	struct buf	z, out;
	char		why[MP_ERRLEN];

	buf_init(&z);
	buf_init(&out);
	ck_assert_int_eq(payload_compress(p, len, &z), 0);
	ck_assert_int_eq(payload_decompress(PAYLOAD_ENCODING, z.data, z.len,
	    &out, why, sizeof(why)), 0);
	ck_assert_uint_eq(out.len, len);
	ck_assert(len == 0 || memcmp(out.data, p, len) == 0);
	buf_free(&z);
	buf_free(&out);
}

START_TEST(test_payload_roundtrip)
{
	static char	big[300 * 1024];
	size_t		i;
	uint32_t	x = 2463534242u;

	payload_roundtrip("", 0);
	payload_roundtrip("{\"zen\":\"Design for failure.\"}", 29);
	/* Over several 64 KB blocks, half of it incompressible. */
	for (i = 0; i < sizeof(big); i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		big[i] = i < sizeof(big) / 2 ? (char)('a' + i % 7) : (char)x;
	}
	payload_roundtrip(big, sizeof(big));
}
END_TEST

START_TEST(test_payload_refuses)
{
	struct buf	z, out;
	char		why[MP_ERRLEN];
	const char	*p = "{\"action\":\"opened\",\"number\":42,"
			    "\"padding\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}";

	buf_init(&z);
	buf_init(&out);
	ck_assert_int_eq(payload_decompress("deflate", "x", 1, &out, why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "unknown payload encoding \"deflate\"");
	ck_assert_int_eq(payload_decompress(PAYLOAD_ENCODING, "not lz4", 7,
	    &out, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "bad LZ4 frame"));
	ck_assert_int_eq(payload_compress(p, strlen(p), &z), 0);
	/* Truncated: the end mark and checksum are missing. */
	ck_assert_int_eq(payload_decompress(PAYLOAD_ENCODING, z.data,
	    z.len - 6, &out, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "truncated LZ4 frame");
	ck_assert_uint_eq(out.len, 0);
	/* One flipped byte of content: the content checksum catches it. */
	z.data[z.len - 10] ^= 0x20;
	ck_assert_int_eq(payload_decompress(PAYLOAD_ENCODING, z.data, z.len,
	    &out, why, sizeof(why)), -1);
	ck_assert_uint_eq(out.len, 0);
	buf_free(&z);
	buf_free(&out);
}
END_TEST

Suite *
make_ledger_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("ledger");

	tc = tcase_create("append");
	tcase_add_checked_fixture(tc, ledger_setup, ledger_teardown);
	tcase_add_test(tc, test_append_commit);
	tcase_add_test(tc, test_open_refuses_edited_tip);
	tcase_add_test(tc, test_claim_list_tenant);
	tcase_add_test(tc, test_empty_verify);
	tcase_add_test(tc, test_duplicate);
	tcase_add_test(tc, test_same_id_other_source);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_readonly_scan);
	tcase_add_test(tc, test_scan_stop);
	tcase_add_test(tc, test_open_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("tamper");
	tcase_add_checked_fixture(tc, ledger_setup, ledger_teardown);
	tcase_add_test(tc, test_tamper_update);
	tcase_add_test(tc, test_tamper_rehash);
	tcase_add_test(tc, test_tamper_rehash_last);
	tcase_add_test(tc, test_tamper_insert_past_tip);
	tcase_add_test(tc, test_tamper_delete_middle);
	tcase_add_test(tc, test_tamper_delete_last);
	tcase_add_test(tc, test_open_refuses_bad_tip);
	tcase_add_test(tc, test_triggers);
	tcase_add_test(tc, test_indexes);
	suite_add_tcase(s, tc);

	tc = tcase_create("payload");
	tcase_add_test(tc, test_payload_roundtrip);
	tcase_add_test(tc, test_payload_refuses);
	suite_add_tcase(s, tc);

	return (s);
}
