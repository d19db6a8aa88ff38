/*
 * check_engine.c: the claims engine (engine.c) against a real SQLite
 * ledger in a fresh directory per test.  Evidence goes through the ledger
 * exactly as the receiver's writer sends it (ingest.c): ledger_begin,
 * ledger_append with recorded_at set, engine_apply, engine_flush and
 * ledger_commit; or ledger_rollback then engine_abort.  Claims are read
 * back through the backend, and most tests end by replaying the ledger
 * with ledger_claims_rebuild on a read-only handle, which must agree.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "milepost.h"
#include "check_milepost.h"

#define CFGFILE		"engine.yaml"
#define BATCH_MAX	32

static char		 dir[64];
static char		 dbpath[128];
static char		 url[160];
static struct ledger	*l;
static struct types	*ty;
static struct rules	*ru;		/* claims, computed claims, deployments */
static struct engine	*en;
static char		 err[MP_ERRLEN];
static int64_t		 txn;	/* the next batch's recorded_at */
static int		 nextid;

/* The batch being built, and what the last one stored. */
static struct evidence	*batch[BATCH_MAX];
static size_t		 nbatch;
static char		 last_id[BATCH_MAX][32];
static int64_t		 last_seq[BATCH_MAX];
static size_t		 nlast;
static int64_t		 last_txn;

/* Document 002, as INTERFACE.md and examples/build-lifecycle.yaml. */
static const char doc002[] =
	"evidence_types:\n"
	"  BuildStartedEvent:\n"
	"    properties:\n"
	"      buildId: { type: text, required: true }\n"
	"  BuildCompleted:\n"
	"    properties:\n"
	"      buildStatus: { type: enum, options: [success, failure], "
	"required: true }\n"
	"      duration: { type: timespan, required: true }\n"
	"      exitCode: { type: integer }\n"
	"claim_types:\n"
	"  BuildLifecycle:\n"
	"    properties:\n"
	"      completed: { type: boolean, required: true }\n"
	"      duration: { type: timespan }\n"
	"    created_by: { evidence: BuildStartedEvent, set: { completed: "
	"false } }\n"
	"    revised_by:\n"
	"      - { evidence: BuildCompleted, set: { completed: true, "
	"duration: $duration } }\n"
	"computed_claims:\n"
	"  BuildCompletion:\n"
	"    id: \"$MonthName-$YYYY\"\n"
	"    trigger: BuildLifecycle\n"
	"    collectors:\n"
	"      dependantStatusCollector: { type: BuildLifecycle, count: 1000, "
	"exact: false, date_offset: CurrentMonth, property: completed }\n"
	"    properties:\n"
	"      totalCount:      { type: integer, expression: count }\n"
	"      completedCount:  { type: integer, expression: trueCount }\n"
	"      incompleteCount: { type: integer, expression: falseCount }\n"
	"  BuildLifeCycleSLA:\n"
	"    id: \"$MonthName-$YYYY\"\n"
	"    about: BuildService\n"
	"    trigger: BuildCompleted\n"
	"    collectors:\n"
	"      buildLifecycleCollector: { type: BuildCompleted, count: 1000, "
	"exact: false, date_offset: CurrentMonth, property: duration }\n"
	"    properties:\n"
	"      metSLA: { type: percentage, expression: "
	"percentLessThanTimeSpan, collector: buildLifecycleCollector, "
	"threshold: 500s }\n";

static int64_t
T(const char *s)
{
	int64_t	us;

	ck_assert_msg(tf_parse(s, &us) == 0, "tf_parse %s", s);
	return (us);
}

static void
engine_setup(void)
{
	strlcpy(dir, "/tmp/check_milepost_engine.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL)
		ck_abort_msg("mkdtemp %s", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/l.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", dbpath);
	err[0] = '\0';
	l = ledger_open(url, 0, err, sizeof(err));
	ck_assert_msg(l != NULL, "ledger_open %s: %s", url, err);
	ty = NULL;
	en = NULL;
	txn = T("2025-09-01T00:00:00Z");
	nextid = 0;
	nbatch = nlast = 0;
}

static void
engine_teardown(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];
	size_t		 i;

	for (i = 0; i < nbatch; i++)
		evidence_free(batch[i]);
	nbatch = 0;
	engine_free(en);
	en = NULL;
	ledger_close(l);
	l = NULL;
	rules_free(ru);
	ru = NULL;
	types_free(ty);
	ty = NULL;
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

static json_object *
cfg_get(json_object *tree, const char *key)
{
	json_object	*v;

	return (json_object_object_get_ex(tree, key, &v) ? v : NULL);
}

/* Load the types of a configuration and start an engine on them. */
static void
configure(const char *text)
{
	json_object	*tree;

	tree = yaml_parse(text, strlen(text), CFGFILE, err, sizeof(err));
	ck_assert_msg(tree != NULL, "%s", err);
	ty = types_new();
	ru = rules_new(ty);
	ck_assert_msg(types_load(ty, cfg_get(tree, "evidence_types"), CFGFILE,
	    err, sizeof(err)) == 0 && claims_load(ru, cfg_get(tree,
	    "claim_types"), CFGFILE, err, sizeof(err)) == 0 &&
	    computed_load(ru, cfg_get(tree, "computed_claims"), CFGFILE, err,
	    sizeof(err)) == 0, "%s", err);
	json_object_put(tree);
	en = engine_new(ru);
	ck_assert(engine_active(en));
}

/* Queue one evidence for the next batch; props and links are JSON. */
static void
add(const char *type, const char *subject, const char *time,
    const char *props, const char *links)
{
	json_object	*o;
	enum ev_error	 rc;
	char		 text[1024], prop[64];

	ck_assert_uint_lt(nbatch, BATCH_MAX);
	snprintf(text, sizeof(text), "{\"id\":\"ev-%d\",\"type\":\"%s\","
	    "\"subject\":\"%s\",\"time\":\"%s\",\"properties\":%s,"
	    "\"links\":%s}", ++nextid, type, subject, time, props,
	    links ? links : "{}");
	ck_assert_ptr_nonnull(o = json_tokener_parse(text));
	rc = evidence_from_json(o, ty, "agent", NULL, T(time),
	    &batch[nbatch], err, sizeof(err), prop, sizeof(prop));
	json_object_put(o);
	ck_assert_msg(rc == EV_OK, "%s: %s", text, err);
	nbatch++;
}

static void
start(const char *build, const char *time, const char *links)
{
	char	props[128];

	snprintf(props, sizeof(props), "{\"buildId\":\"%s\"}", build);
	add("BuildStartedEvent", build, time, props, links);
}

static void
complete(const char *build, const char *time, const char *duration,
    const char *links)
{
	char	props[128];

	snprintf(props, sizeof(props), "{\"buildStatus\":\"success\","
	    "\"duration\":\"%s\"}", duration);
	add("BuildCompleted", build, time, props, links);
}

/* Append the batch in one transaction and apply it, as ingest.c does. */
static int
run_batch(void)
{
	size_t	i;
	int	rc = 0;

	ck_assert_int_eq(ledger_begin(l), 0);
	for (i = 0; i < nbatch && rc == 0; i++) {
		batch[i]->recorded_at = txn;
		ck_assert_int_eq(ledger_append(l, batch[i]), 0);
		rc = engine_apply(en, l, batch[i]);
		ck_assert_msg(rc == 0, "engine_apply: %s", ledger_error(l));
	}
	ck_assert_msg(engine_flush(en, l, txn) == 0, "engine_flush: %s",
	    ledger_error(l));
	nlast = nbatch;
	for (i = 0; i < nbatch; i++) {
		strlcpy(last_id[i], batch[i]->id, sizeof(last_id[i]));
		last_seq[i] = batch[i]->seq;
		evidence_free(batch[i]);
	}
	nbatch = 0;
	last_txn = txn;
	txn += 1000000;
	return (rc);
}

static void
commit(void)
{
	run_batch();
	ck_assert_msg(ledger_commit(l) == 0, "commit: %s", ledger_error(l));
}

/* The batch fails after the engine ran: roll back, then engine_abort. */
static void
rollback(void)
{
	run_batch();
	ledger_rollback(l);
	engine_abort(en);
}

/* The latest revision of (type, id) into c; 1 found, 0 not. */
static int
claim(const char *type, const char *id, struct claim *c)
{
	int	rc;

	memset(c, 0, sizeof(*c));
	rc = ledger_claim_get(l, type, id, INT64_MAX, c);
	ck_assert_msg(rc != -1, "claim_get: %s", ledger_error(l));
	return (rc);
}

/* (type, id) is at revision rev (0: any) with these properties. */
static void
expect_claim(const char *type, const char *id, int64_t rev,
    const char *props)
{
	struct claim	c;

	ck_assert_msg(claim(type, id, &c) == 1, "no claim %s/%s", type, id);
	ck_assert_msg(rev == 0 || c.revision == rev, "%s/%s: revision %lld, "
	    "not %lld", type, id, (long long)c.revision, (long long)rev);
	ck_assert_msg(strcmp(c.properties, props) == 0, "%s/%s: %s, not %s",
	    type, id, c.properties, props);
	claim_clear(&c);
}

static void
expect_no_claim(const char *type, const char *id)
{
	struct claim	c;

	ck_assert_msg(claim(type, id, &c) == 0, "%s/%s exists: %s", type, id,
	    c.properties);
	claim_clear(&c);
}

/* One integer from sql on a separate connection. */
static int64_t
sql_int(const char *sql)
{
	return (tsql_int(dbpath, sql));
}

/* Run sql on a separate connection; 0 (TSQL_OK) when it succeeded. */
static int
tamper(const char *sql)
{
	return (tsql_run(dbpath, sql, NULL, 0));
}

static int64_t
nrevisions(const char *type)
{
	char	sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM claim_revisions "
	    "WHERE type = '%s'", type);
	return (sql_int(sql));
}

/* Replay the ledger on a read-only handle: rc want, diff naming want_diff. */
static void
expect_rebuild(int want, const char *want_diff)
{
	struct ledger		*ro;
	struct claims_rebuild	 r;
	int			 rc;

	ro = ledger_open(url, LEDGER_RDONLY, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	rc = derive_rebuild(ro, ru, NULL, &r);
	ledger_close(ro);
	ck_assert_msg(rc == want, "rebuild returned %d, not %d: %s", rc, want,
	    r.diff);
	ck_assert_int_gt(r.evidence, 0);
	ck_assert_int_gt(r.revisions, 0);
	if (want == 0)
		ck_assert_str_eq(r.diff, "");
	if (want_diff != NULL)
		ck_assert_msg(strstr(r.diff, want_diff) != NULL,
		    "diff \"%s\" does not name %s", r.diff, want_diff);
}

/* Does the basis of c list exactly the last batch's evidence [i, j)? */
static void
expect_basis(const struct claim *c, size_t i, size_t j)
{
	json_object	*a, *o, *v;
	size_t		 k;

	ck_assert_ptr_nonnull(a = json_tokener_parse(c->basis));
	ck_assert_msg(json_object_is_type(a, json_type_array), "%s",
	    c->basis);
	ck_assert_msg(json_object_array_length(a) == j - i, "basis %s: not "
	    "%zu entries", c->basis, j - i);
	for (k = i; k < j; k++) {
		o = json_object_array_get_idx(a, k - i);
		ck_assert(json_object_object_get_ex(o, "id", &v));
		ck_assert_str_eq(json_object_get_string(v), last_id[k]);
		ck_assert(json_object_object_get_ex(o, "seq", &v));
		ck_assert_int_eq(json_object_get_int64(v), last_seq[k]);
	}
	json_object_put(a);
}

#define JULY_COUNTS(total, done, notdone)				\
	"{\"completedCount\":" #done ",\"incompleteCount\":" #notdone	\
	",\"totalCount\":" #total "}"

/*
 * Document 002: ten builds start in July 2025, eight complete, one of
 * those in under 500 s; each evidence in its own transaction.
 */
START_TEST(test_doc002)
{
	static const char *durations[] = {
		"420s", "500s", "9m", "600", "PT15M", "1h", "700s", "8m21s",
	};
	struct claim	 c;
	char		 b[16], t[32];
	int64_t		 from, to;
	int		 i;

	configure(doc002);
	for (i = 1; i <= 10; i++) {
		snprintf(b, sizeof(b), "b-%02d", i);
		snprintf(t, sizeof(t), "2025-07-%02dT08:00:00Z", i * 3);
		start(b, t, "{\"service\":\"checkout\"}");
		commit();
	}
	expect_claim("BuildCompletion", "July-2025", 10,
	    JULY_COUNTS(10, 0, 10));
	expect_no_claim("BuildLifeCycleSLA", "July-2025");
	for (i = 1; i <= 8; i++) {
		snprintf(b, sizeof(b), "b-%02d", i);
		snprintf(t, sizeof(t), "2025-07-%02dT08:%02d:00Z", i * 3,
		    10 + i);
		complete(b, t, durations[i - 1], NULL);
		commit();
	}
	expect_claim("BuildCompletion", "July-2025", 18, JULY_COUNTS(10, 8, 2));
	expect_claim("BuildLifeCycleSLA", "July-2025", 8, "{\"metSLA\":12.5}");

	/* The lifecycle claims themselves. */
	expect_claim("BuildLifecycle", "b-01", 2,
	    "{\"completed\":true,\"duration\":420}");
	expect_claim("BuildLifecycle", "b-05", 2,
	    "{\"completed\":true,\"duration\":900}");
	expect_claim("BuildLifecycle", "b-10", 1, "{\"completed\":false}");
	ck_assert_int_eq(claim("BuildLifecycle", "b-01", &c), 1);
	ck_assert_int_eq(c.anchor, T("2025-07-03T08:00:00Z"));
	ck_assert_int_eq(c.time, T("2025-07-03T08:11:00Z"));
	ck_assert_str_eq(c.links, "{\"service\":\"checkout\"}");
	claim_clear(&c);

	/* The SLA claim: about, times and basis of the last revision. */
	ck_assert_int_eq(claim("BuildLifeCycleSLA", "July-2025", &c), 1);
	ck_assert_str_eq(c.about, "BuildService");
	ck_assert_int_eq(c.recorded_at, last_txn);
	ck_assert_int_eq(c.time, T("2025-07-24T08:18:00Z"));
	computed_period(DO_CURRENT_MONTH, T("2025-07-15T00:00:00Z"), &from,
	    &to);
	ck_assert(c.anchor >= from && c.anchor < to);
	expect_basis(&c, 0, 1);
	claim_clear(&c);
	ck_assert_int_eq(claim("BuildCompletion", "July-2025", &c), 1);
	ck_assert_ptr_null(c.about);
	claim_clear(&c);

	expect_rebuild(0, NULL);
}
END_TEST

/* August builds make August's claims; July's are not touched. */
START_TEST(test_other_month)
{
	configure(doc002);
	start("b-1", "2025-07-30T10:00:00Z", NULL);
	start("b-2", "2025-07-31T23:59:59.999999Z", NULL);
	complete("b-1", "2025-07-30T10:05:00Z", "300s", NULL);
	commit();
	expect_claim("BuildCompletion", "July-2025", 1, JULY_COUNTS(2, 1, 1));
	expect_claim("BuildLifeCycleSLA", "July-2025", 1, "{\"metSLA\":100}");

	start("b-3", "2025-08-01T00:00:00Z", NULL);
	commit();
	complete("b-3", "2025-08-01T00:10:00Z", "600s", NULL);
	commit();
	expect_claim("BuildCompletion", "August-2025", 2, JULY_COUNTS(1, 1, 0));
	expect_claim("BuildLifeCycleSLA", "August-2025", 1, "{\"metSLA\":0}");
	expect_claim("BuildCompletion", "July-2025", 1, JULY_COUNTS(2, 1, 1));
	expect_claim("BuildLifeCycleSLA", "July-2025", 1, "{\"metSLA\":100}");

	/*
	 * b-2 started in July and completes in August: its lifecycle claim
	 * stays in July's period, the completion evidence is August's.
	 */
	complete("b-2", "2025-08-01T00:20:00Z", "450s", NULL);
	commit();
	expect_claim("BuildCompletion", "July-2025", 2, JULY_COUNTS(2, 2, 0));
	expect_claim("BuildCompletion", "August-2025", 2, JULY_COUNTS(1, 1, 0));
	expect_claim("BuildLifeCycleSLA", "August-2025", 2, "{\"metSLA\":50}");
	expect_claim("BuildLifeCycleSLA", "July-2025", 1, "{\"metSLA\":100}");

	/* Backfilled July evidence lands in July, whenever it arrives. */
	start("b-0", "2025-07-01T00:00:00Z", NULL);
	complete("b-0", "2025-07-01T00:10:00Z", "700s", NULL);
	commit();
	expect_claim("BuildCompletion", "July-2025", 3, JULY_COUNTS(3, 3, 0));
	expect_claim("BuildLifeCycleSLA", "July-2025", 2, "{\"metSLA\":50}");
	expect_claim("BuildCompletion", "August-2025", 2, JULY_COUNTS(1, 1, 0));
	expect_claim("BuildLifeCycleSLA", "August-2025", 2, "{\"metSLA\":50}");

	expect_rebuild(0, NULL);
}
END_TEST

/* A revision that arrives before its claim's creation is held. */
START_TEST(test_held_revision)
{
	struct claim	c;

	configure(doc002);
	complete("b-9", "2025-07-10T10:05:00Z", "420s", NULL);
	commit();
	expect_no_claim("BuildLifecycle", "b-9");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM claim_pending WHERE "
	    "ctype = 'BuildLifecycle' AND subject = 'b-9'"), 1);
	/* The evidence is collected all the same. */
	expect_claim("BuildLifeCycleSLA", "July-2025", 1, "{\"metSLA\":100}");
	expect_no_claim("BuildCompletion", "July-2025");

	start("b-9", "2025-07-10T10:00:00Z", NULL);
	commit();
	ck_assert_int_eq(claim("BuildLifecycle", "b-9", &c), 1);
	ck_assert_int_eq(c.revision, 2);
	ck_assert_str_eq(c.properties, "{\"completed\":true,\"duration\":420}");
	/* Period of the creation; time of the held revision; basis its own. */
	ck_assert_int_eq(c.anchor, T("2025-07-10T10:00:00Z"));
	ck_assert_int_eq(c.time, T("2025-07-10T10:05:00Z"));
	ck_assert_int_eq(c.recorded_at, last_txn);
	ck_assert_str_eq(c.basis, "[{\"id\":\"ev-1\",\"seq\":1}]");
	claim_clear(&c);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_claim_get(l, "BuildLifecycle", "b-9",
	    last_txn - 1, &c), 0);
	claim_clear(&c);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM claim_pending"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM claim_revisions WHERE "
	    "type = 'BuildLifecycle' AND id = 'b-9' AND revision = 1 AND "
	    "properties = '{\"completed\":false}'"), 1);
	/* One computed revision, with the completion in it. */
	expect_claim("BuildCompletion", "July-2025", 1, JULY_COUNTS(1, 1, 0));
	ck_assert_int_eq(claim("BuildCompletion", "July-2025", &c), 1);
	ck_assert_str_eq(c.basis, "[{\"id\":\"ev-2\",\"seq\":2},"
	    "{\"id\":\"ev-1\",\"seq\":1}]");
	claim_clear(&c);

	/* Both in one transaction, the completion first. */
	complete("b-10", "2025-07-11T10:05:00Z", "600s", NULL);
	complete("b-11", "2025-07-11T11:05:00Z", "300s", NULL);
	start("b-10", "2025-07-11T10:00:00Z", NULL);
	commit();
	expect_claim("BuildLifecycle", "b-10", 2,
	    "{\"completed\":true,\"duration\":600}");
	expect_no_claim("BuildLifecycle", "b-11");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM claim_pending WHERE "
	    "subject = 'b-11'"), 1);
	expect_claim("BuildCompletion", "July-2025", 2, JULY_COUNTS(2, 2, 0));
	expect_claim("BuildLifeCycleSLA", "July-2025", 2,
	    "{\"metSLA\":66.67}");

	expect_rebuild(0, NULL);
}
END_TEST

/* Several evidence in one transaction make one computed revision. */
START_TEST(test_one_revision_per_transaction)
{
	struct claim	c;

	configure(doc002);
	start("b-1", "2025-07-05T10:00:00Z", NULL);
	start("b-2", "2025-07-06T10:00:00Z", NULL);
	complete("b-1", "2025-07-05T10:07:00Z", "420s", NULL);
	start("b-3", "2025-07-04T10:00:00Z", NULL);
	complete("b-2", "2025-07-06T10:09:00Z", "540s", NULL);
	commit();

	ck_assert_int_eq(claim("BuildCompletion", "July-2025", &c), 1);
	ck_assert_int_eq(c.revision, 1);
	ck_assert_str_eq(c.properties, JULY_COUNTS(3, 2, 1));
	ck_assert_int_eq(c.recorded_at, last_txn);
	/* The latest event time among its causes. */
	ck_assert_int_eq(c.time, T("2025-07-06T10:09:00Z"));
	expect_basis(&c, 0, 5);
	claim_clear(&c);

	ck_assert_int_eq(claim("BuildLifeCycleSLA", "July-2025", &c), 1);
	ck_assert_int_eq(c.revision, 1);
	ck_assert_str_eq(c.properties, "{\"metSLA\":50}");
	ck_assert_str_eq(c.basis, "[{\"id\":\"ev-3\",\"seq\":3},"
	    "{\"id\":\"ev-5\",\"seq\":5}]");
	claim_clear(&c);
	ck_assert_int_eq(nrevisions("BuildCompletion"), 1);
	ck_assert_int_eq(nrevisions("BuildLifeCycleSLA"), 1);
	/* Lifecycle claims are revised per evidence. */
	ck_assert_int_eq(nrevisions("BuildLifecycle"), 5);

	/* The next transaction's revision lists only its own evidence. */
	complete("b-3", "2025-07-04T10:01:00Z", "60s", NULL);
	commit();
	ck_assert_int_eq(claim("BuildCompletion", "July-2025", &c), 1);
	ck_assert_int_eq(c.revision, 2);
	ck_assert_str_eq(c.properties, JULY_COUNTS(3, 3, 0));
	expect_basis(&c, 0, 1);
	claim_clear(&c);
	expect_claim("BuildLifeCycleSLA", "July-2025", 2,
	    "{\"metSLA\":66.67}");

	expect_rebuild(0, NULL);
}
END_TEST

/* A recomputation that changes nothing writes no revision. */
START_TEST(test_unchanged)
{
	configure(doc002);
	start("b-1", "2025-07-05T10:00:00Z", NULL);
	complete("b-1", "2025-07-05T10:08:20Z", "500s", NULL);
	commit();
	expect_claim("BuildCompletion", "July-2025", 1, JULY_COUNTS(1, 1, 0));
	expect_claim("BuildLifeCycleSLA", "July-2025", 1, "{\"metSLA\":0}");

	/* The completion again, under another id: the same values. */
	complete("b-1", "2025-07-05T10:08:21Z", "8m20s", NULL);
	commit();
	expect_claim("BuildLifecycle", "b-1", 3,
	    "{\"completed\":true,\"duration\":500}");
	expect_claim("BuildCompletion", "July-2025", 1, JULY_COUNTS(1, 1, 0));
	expect_claim("BuildLifeCycleSLA", "July-2025", 1, "{\"metSLA\":0}");
	ck_assert_int_eq(nrevisions("BuildCompletion"), 1);
	ck_assert_int_eq(nrevisions("BuildLifeCycleSLA"), 1);

	/* And from a cold engine, which must load what is stored. */
	engine_free(en);
	en = engine_new(ru);
	complete("b-1", "2025-07-05T10:08:22Z", "501s", NULL);
	commit();
	expect_claim("BuildCompletion", "July-2025", 1, JULY_COUNTS(1, 1, 0));
	expect_claim("BuildLifeCycleSLA", "July-2025", 1, "{\"metSLA\":0}");
	/*
	 * Every later completion of b-1 is another witness of one build:
	 * its basis, not another SLA item.  Another build is.
	 */
	expect_claim("BuildLifecycle", "b-1", 4,
	    "{\"completed\":true,\"duration\":500}");
	complete("b-2", "2025-07-05T10:08:23Z", "1s", NULL);
	commit();
	expect_claim("BuildLifeCycleSLA", "July-2025", 2, "{\"metSLA\":50}");

	expect_rebuild(0, NULL);
}
END_TEST

/* A rolled-back batch leaves nothing, and the engine forgets it. */
START_TEST(test_rollback)
{
	configure(doc002);
	start("b-1", "2025-07-05T10:00:00Z", NULL);
	commit();
	expect_claim("BuildCompletion", "July-2025", 1, JULY_COUNTS(1, 0, 1));

	start("b-2", "2025-07-06T10:00:00Z", NULL);
	start("b-3", "2025-07-07T10:00:00Z", NULL);
	complete("b-1", "2025-07-05T10:05:00Z", "300s", NULL);
	complete("b-4", "2025-07-08T10:05:00Z", "300s", NULL);
	rollback();
	expect_no_claim("BuildLifecycle", "b-2");
	expect_no_claim("BuildLifecycle", "b-3");
	expect_claim("BuildLifecycle", "b-1", 1, "{\"completed\":false}");
	expect_claim("BuildCompletion", "July-2025", 1, JULY_COUNTS(1, 0, 1));
	expect_no_claim("BuildLifeCycleSLA", "July-2025");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM claim_pending"), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM claim_revisions"), 2);

	/* The next batch sees storage, not the rolled-back items. */
	start("b-5", "2025-07-09T10:00:00Z", NULL);
	commit();
	expect_claim("BuildCompletion", "July-2025", 2, JULY_COUNTS(2, 0, 2));
	complete("b-1", "2025-07-05T10:05:00Z", "600s", NULL);
	commit();
	expect_claim("BuildCompletion", "July-2025", 3, JULY_COUNTS(2, 1, 1));
	expect_claim("BuildLifeCycleSLA", "July-2025", 1, "{\"metSLA\":0}");
	/* The sequence numbers freed by the rollback were reused. */
	ck_assert_int_eq(l->last_seq, 3);

	expect_rebuild(0, NULL);
}
END_TEST

static const char last3[] =
	"computed_claims:\n"
	"  Last3:\n"
	"    id: \"$YYYY\"\n"
	"    trigger: BuildCompleted\n"
	"    collectors:\n"
	"      c: { type: BuildCompleted, property: duration, count: 3, "
	"exact: true, date_offset: All }\n"
	"    properties:\n"
	"      n: { type: integer, expression: count }\n"
	"      lo: { type: timespan, expression: min }\n"
	"      hi: { type: timespan, expression: max }\n"
	"  Loose3:\n"
	"    id: \"$YYYY\"\n"
	"    trigger: BuildCompleted\n"
	"    collectors:\n"
	"      c: { type: BuildCompleted, property: duration, count: 3 }\n"
	"    properties:\n"
	"      n: { type: integer, expression: count }\n"
	"      sum: { type: timespan, expression: sum }\n";

/* count: the most recent N items; exact: no claim with fewer. */
START_TEST(test_count_exact)
{
	configure(last3);
	complete("b-1", "2025-07-01T00:00:00Z", "100s", NULL);
	complete("b-2", "2025-07-02T00:00:00Z", "200s", NULL);
	commit();
	expect_no_claim("Last3", "2025");
	expect_claim("Loose3", "2025", 1, "{\"n\":2,\"sum\":300}");

	complete("b-3", "2025-07-03T00:00:00Z", "300s", NULL);
	commit();
	expect_claim("Last3", "2025", 1, "{\"hi\":300,\"lo\":100,\"n\":3}");
	expect_claim("Loose3", "2025", 2, "{\"n\":3,\"sum\":600}");

	/* Older than the three kept: it changes nothing. */
	complete("b-4", "2025-06-01T00:00:00Z", "50s", NULL);
	commit();
	expect_claim("Last3", "2025", 1, "{\"hi\":300,\"lo\":100,\"n\":3}");
	expect_claim("Loose3", "2025", 2, "{\"n\":3,\"sum\":600}");

	/* Newer: the oldest kept drops out. */
	complete("b-5", "2025-07-05T00:00:00Z", "400s", NULL);
	commit();
	expect_claim("Last3", "2025", 2, "{\"hi\":400,\"lo\":200,\"n\":3}");
	expect_claim("Loose3", "2025", 3, "{\"n\":3,\"sum\":900}");

	/* Several at once, from a cold engine: still the 3 most recent. */
	engine_free(en);
	en = engine_new(ru);
	complete("b-6", "2025-07-04T00:00:00Z", "10s", NULL);
	complete("b-7", "2025-07-06T00:00:00Z", "20s", NULL);
	complete("b-8", "2025-01-01T00:00:00Z", "5000s", NULL);
	commit();
	expect_claim("Last3", "2025", 3, "{\"hi\":400,\"lo\":10,\"n\":3}");
	expect_claim("Loose3", "2025", 4, "{\"n\":3,\"sum\":430}");

	expect_rebuild(0, NULL);
}
END_TEST

static const char filtered[] =
	"computed_claims:\n"
	"  CheckoutSLA:\n"
	"    id: \"$MonthName-$YYYY\"\n"
	"    trigger: BuildCompleted\n"
	"    collectors:\n"
	"      c: { type: BuildCompleted, property: duration, "
	"date_offset: CurrentMonth,\n"
	"           filter: { subject: \"b-*\", links: { service: checkout } "
	"} }\n"
	"    properties:\n"
	"      n: { type: integer, expression: count }\n"
	"      fast: { type: percentage, expression: percentLessThanTimeSpan, "
	"threshold: 500s }\n"
	"  CheckoutBuilds:\n"
	"    id: \"$MonthName-$YYYY\"\n"
	"    trigger: BuildLifecycle\n"
	"    collectors:\n"
	"      c: { type: BuildLifecycle, property: completed, "
	"date_offset: CurrentMonth,\n"
	"           filter: { links: { service: checkout } } }\n"
	"    properties:\n"
	"      total: { type: integer, expression: count }\n"
	"      done: { type: integer, expression: trueCount }\n";

#define CHECKOUT	"{\"service\":\"checkout\",\"branch\":\"main\"}"
#define PAYMENTS	"{\"service\":\"payments\"}"

/* Collector filters on links.service and on the subject. */
START_TEST(test_filter)
{
	configure(filtered);
	start("b-1", "2025-07-01T10:00:00Z", CHECKOUT);
	complete("b-1", "2025-07-01T10:05:00Z", "400s", CHECKOUT);
	commit();
	expect_claim("CheckoutSLA", "July-2025", 1, "{\"fast\":100,\"n\":1}");
	expect_claim("CheckoutBuilds", "July-2025", 1,
	    "{\"done\":1,\"total\":1}");

	/* Another service: recomputed, unchanged, no revision. */
	start("b-2", "2025-07-02T10:00:00Z", PAYMENTS);
	commit();
	complete("b-2", "2025-07-02T10:05:00Z", "900s", PAYMENTS);
	commit();
	/* A subject that does not match, and no links at all. */
	complete("x-3", "2025-07-03T10:05:00Z", "900s", CHECKOUT);
	complete("b-4", "2025-07-04T10:05:00Z", "900s", NULL);
	commit();
	expect_claim("CheckoutSLA", "July-2025", 1, "{\"fast\":100,\"n\":1}");
	expect_claim("CheckoutBuilds", "July-2025", 1,
	    "{\"done\":1,\"total\":1}");

	/*
	 * A lifecycle claim keeps the links of its creation; the completion
	 * evidence needs its own to be collected.
	 */
	start("b-5", "2025-07-05T10:00:00Z", CHECKOUT);
	commit();
	complete("b-5", "2025-07-05T10:05:00Z", "600s", NULL);
	commit();
	expect_claim("CheckoutBuilds", "July-2025", 3,
	    "{\"done\":2,\"total\":2}");
	expect_claim("CheckoutSLA", "July-2025", 1, "{\"fast\":100,\"n\":1}");
	complete("b-6", "2025-07-06T10:05:00Z", "600s",
	    "{\"service\":\"checkout\"}");
	commit();
	expect_claim("CheckoutSLA", "July-2025", 2, "{\"fast\":50,\"n\":2}");

	expect_rebuild(0, NULL);
}
END_TEST

static const char durations_cfg[] =
	"computed_claims:\n"
	"  Durations:\n"
	"    id: \"$MonthName-$YYYY\"\n"
	"    trigger: BuildLifecycle\n"
	"    collectors:\n"
	"      c: { type: BuildCompleted, property: duration, "
	"date_offset: CurrentMonth }\n"
	"    properties:\n"
	"      n: { type: integer, expression: count }\n"
	"      total: { type: timespan, expression: sum }\n";

/*
 * A claim triggered by a lifecycle claim that collects the evidence that
 * revised it: the evidence must be an item before the trigger fires, cold
 * cache or warm.
 */
START_TEST(test_claim_trigger_sees_evidence)
{
	configure(durations_cfg);
	start("b-1", "2025-07-01T10:00:00Z", NULL);
	commit();
	expect_claim("Durations", "July-2025", 1, "{\"n\":0,\"total\":0}");
	complete("b-1", "2025-07-01T10:05:00Z", "300s", NULL);
	commit();
	expect_claim("Durations", "July-2025", 2, "{\"n\":1,\"total\":300}");
	start("b-2", "2025-07-02T10:00:00Z", NULL);
	complete("b-2", "2025-07-02T10:05:00Z", "200s", NULL);
	commit();
	expect_claim("Durations", "July-2025", 3, "{\"n\":2,\"total\":500}");

	expect_rebuild(0, NULL);
}
END_TEST

/* Rebuilding on a read-only reopen: equal, then not after tampering. */
START_TEST(test_rebuild)
{
	struct ledger		*ro;
	struct claims_rebuild	 r;

	configure(doc002);
	start("b-1", "2025-07-01T10:00:00Z", NULL);
	start("b-2", "2025-07-02T10:00:00Z", NULL);
	commit();
	complete("b-3", "2025-07-03T10:05:00Z", "300s", NULL);
	commit();
	complete("b-1", "2025-07-01T10:05:00Z", "600s", NULL);
	commit();
	ledger_close(l);
	l = NULL;

	ro = ledger_open(url, LEDGER_RDONLY, err, sizeof(err));
	ck_assert_msg(ro != NULL, "%s", err);
	ck_assert_msg(derive_rebuild(ro, ru, NULL, &r) == 0, "%s", r.diff);
	ck_assert_int_eq(r.evidence, 4);
	/* b-1: 2, b-2: 1, BuildCompletion: 2, BuildLifeCycleSLA: 2. */
	ck_assert_int_eq(r.revisions, 7);
	ck_assert_str_eq(r.diff, "");
	ledger_close(ro);

	ck_assert_int_eq(tamper("UPDATE claim_revisions SET properties = "
	    "'{\"completedCount\":2,\"incompleteCount\":0,\"totalCount\":2}' "
	    "WHERE type = 'BuildCompletion' AND revision = 2"), TSQL_OK);
	expect_rebuild(1, "BuildCompletion/July-2025 revision 2");
	/* Nothing stored was changed by the rebuild. */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM claim_revisions WHERE "
	    "type = 'BuildCompletion' AND properties LIKE "
	    "'{\"completedCount\":2,%'"), 1);
	ck_assert_int_eq(tamper("UPDATE claim_revisions SET properties = "
	    "'{\"completedCount\":1,\"incompleteCount\":1,\"totalCount\":2}' "
	    "WHERE type = 'BuildCompletion' AND revision = 2"), TSQL_OK);
	expect_rebuild(0, NULL);

	/* A revision gone, a revision added, a hold forged. */
	ck_assert_int_eq(tamper("DELETE FROM claim_revisions WHERE type = "
	    "'BuildLifecycle' AND id = 'b-1' AND revision = 2"), TSQL_OK);
	expect_rebuild(1, "BuildLifecycle/b-1 revision 2");
	ck_assert_int_eq(tamper("INSERT INTO claim_revisions SELECT type, id, "
	    "2, anchor, time, recorded_at, properties, links, basis, about "
	    "FROM claim_revisions WHERE type = 'BuildLifecycle' AND id = 'b-1' "
	    "AND revision = 1"), TSQL_OK);
	expect_rebuild(1, "b-1 revision 2");
	ck_assert_int_eq(tamper("DELETE FROM claim_revisions WHERE type = "
	    "'BuildLifecycle' AND id = 'b-1' AND revision = 2"), TSQL_OK);
	ck_assert_int_eq(tamper("INSERT INTO claim_revisions SELECT type, id, "
	    "2, anchor, time, recorded_at, '{\"completed\":true,"
	    "\"duration\":600}', links, '[{\"id\":\"ev-4\",\"seq\":4}]', about "
	    "FROM claim_revisions WHERE type = 'BuildLifecycle' AND id = 'b-1' "
	    "AND revision = 1"), TSQL_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM claim_revisions WHERE "
	    "type = 'BuildLifecycle' AND id = 'b-1'"), 2);
	ck_assert_int_eq(tamper("UPDATE claim_revisions SET recorded_at = "
	    "recorded_at + 1 WHERE type = 'BuildLifecycle' AND id = 'b-1' AND "
	    "revision = 2"), TSQL_OK);
	expect_rebuild(1, "b-1 revision 2");
}
END_TEST

Suite *
make_engine_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("engine");

	tc = tcase_create("claims");
	tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
	tcase_add_test(tc, test_doc002);
	tcase_add_test(tc, test_other_month);
	tcase_add_test(tc, test_held_revision);
	tcase_add_test(tc, test_one_revision_per_transaction);
	tcase_add_test(tc, test_unchanged);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_count_exact);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_claim_trigger_sees_evidence);
	tcase_add_test(tc, test_rebuild);
	suite_add_tcase(s, tc);

	return (s);
}
