/*
 * check_milestone.c: milestones (milestone-conf.c, milestone.c) and the
 * DORA arithmetic (access/dora.c).  Mapping rules, cardinality and the
 * state prediction are pure functions; the claim path runs against a real
 * SQLite ledger the way the writer does (begin, append, apply, flush,
 * commit), with Deployment claims stored through ledger_claim_put.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milepost.h"
#include "check_milepost.h"

#define DAY	(86400LL * 1000000)

static const char conf_yaml[] =
	"milestones:\n"
	"  - id: M-42\n"
	"    tenant: acme\n"
	"    start: \"2025-08-01\"\n"
	"    due: \"2025-08-31\"\n"
	"    scope: { services: [shop], issues: [SHOP-7], commits: [abcdef1] }\n"
	"  - { id: M-43, client: acme, due: \"2025-09-30T12:00:00Z\", "
	"environment: staging }\n"
	"  - { id: M-44, tenant: b, due: \"2025-09-30\", scope: { artifacts: "
	"[shop-img] } }\n"
	"  - { id: M-45, tenant: b, due: \"2025-09-30\" }\n"
	"milestone_rules:\n"
	"  max_per_deployment: 2\n"
	"  issue_keys: [ { pattern: \"PAY-*\", milestone: M-42 } ]\n"
	"  services: [ { service: \"shop*\", milestone: M-45 } ]\n"
	"  branches: [ { pattern: \"release/m43/*\", milestone: M-43 } ]\n"
	"  severity_weights: { critical: 30, SEV9: 1 }\n";

static struct milestone_conf *
conf(const char *yaml, char *err)
{
	json_object		*tree;
	struct milestone_conf	*mc;

	tree = yaml_parse(yaml, strlen(yaml), "m.yaml", err,
	    MP_ERRLEN);
	ck_assert_msg(tree != NULL, "%s", err);
	mc = milestone_conf_load(tree, "m.yaml", err, MP_ERRLEN);
	json_object_put(tree);
	return (mc);
}

START_TEST(test_conf)
{
	struct milestone_conf	*mc;
	char			 err[MP_ERRLEN];
	int64_t			 t;

	mc = conf(conf_yaml, err);
	ck_assert_msg(mc != NULL, "%s", err);
	ck_assert_uint_eq(mc->nms, 4);
	ck_assert_str_eq(mc->ms[0].environment, "production");
	ck_assert_str_eq(mc->ms[1].tenant, "acme");	/* client: */
	tf_parse("2025-08-31T23:59:59Z", &t);
	ck_assert_int_eq(mc->ms[0].due, t);		/* a date: its end */
	tf_parse("2025-08-01T00:00:00Z", &t);
	ck_assert_int_eq(mc->ms[0].start, t);
	ck_assert_uint_eq(mc->max_per_deployment, 2);
	ck_assert_uint_eq(mc->nrules, 3);
	ck_assert_int_eq(milestone_conf_index(mc, "M-44"), 2);
	ck_assert_int_eq(mc->clock, 1);			/* on by default */
	milestone_conf_free(mc);
	mc = conf("milestone_rules: { clock: false }\n", err);
	ck_assert_msg(mc != NULL, "%s", err);
	ck_assert_int_eq(mc->clock, 0);
	milestone_conf_free(mc);
}
END_TEST

START_TEST(test_conf_errors)
{
	static const struct {
		const char	*yaml;
		const char	*want;
	} bad[] = {
		{ "milestones: [ { tenant: a, due: \"2025-01-01\" } ]\n",
		    "id: is required" },
		{ "milestones: [ { id: \"M 1\", tenant: a, due: x } ]\n",
		    "id: is required" },
		{ "milestones: [ { id: M-1, due: \"2025-01-01\" } ]\n",
		    "tenant: M-1" },
		{ "milestones: [ { id: M-1, tenant: a, due: soon } ]\n",
		    "due: M-1: must be" },
		{ "milestones: [ { id: M-1, tenant: a, due: \"2025-01-01\", "
		    "start: \"2025-02-01\" } ]\n", "start: M-1" },
		{ "milestones: [ { id: M-1, tenant: a, due: \"2025-01-01\" }, "
		    "{ id: M-1, tenant: b, due: \"2025-01-01\" } ]\n",
		    "declared twice" },
		{ "milestones: [ { id: M-1, tenant: a, due: \"2025-01-01\", "
		    "scope: { people: [x] } } ]\n", "people: unknown scope" },
		{ "milestone_rules: { issue_keys: [ { pattern: \"A-*\", "
		    "milestone: M-9 } ] }\n", "M-9 is not declared" },
		{ "milestone_rules: { max_per_deployment: 0 }\n",
		    "max_per_deployment: must be" },
		{ "milestone_rules: { colour: red }\n", "unknown milestone rule" },
		{ "milestone_rules: { clock: maybe }\n",
		    "clock: must be true or false" },
	};
	struct milestone_conf	*mc;
	char			 err[MP_ERRLEN];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		mc = conf(bad[i].yaml, err);
		ck_assert_msg(mc == NULL, "accepted: %s", bad[i].yaml);
		ck_assert_msg(strstr(err, bad[i].want) != NULL, "%s: got %s",
		    bad[i].want, err);
	}
}
END_TEST

START_TEST(test_map_commit)
{
	struct milestone_conf	*mc;
	json_object		*ms, *issues;
	unsigned		 via[4];
	char			 err[MP_ERRLEN];

	mc = conf(conf_yaml, err);
	ms = json_tokener_parse("[\"M-42\",\"M-99\"]");
	issues = json_tokener_parse("[\"PAY-3\",\"OPS-1\"]");
	/* A trailer (the unknown M-99 is ignored), and a mapped issue key. */
	ck_assert_uint_eq(milestone_map_commit(mc, "1234567", "main", ms,
	    issues, via), 1);
	ck_assert_uint_eq(via[0], MS_VIA_TRAILER | MS_VIA_ISSUE);
	/* An issue declared in scope; a declared, abbreviated commit. */
	json_object_put(issues);
	issues = json_tokener_parse("[\"SHOP-7\"]");
	ck_assert_uint_eq(milestone_map_commit(mc, "abcdef1234", NULL, NULL,
	    issues, via), 1);
	ck_assert_uint_eq(via[0], MS_VIA_COMMIT | MS_VIA_ISSUE);
	/* A branch rule. */
	ck_assert_uint_eq(milestone_map_commit(mc, "99", "release/m43/rc1",
	    NULL, NULL, via), 1);
	ck_assert_uint_eq(via[1], MS_VIA_BRANCH);
	ck_assert_uint_eq(milestone_map_commit(mc, "99", "release/m44/rc1",
	    NULL, NULL, via), 0);
	/* Three milestones named: over max_per_deployment 2. */
	json_object_put(ms);
	ms = json_tokener_parse("[\"M-44\",\"M-45\"]");
	ck_assert_uint_eq(milestone_map_commit(mc, "1234567",
	    "release/m43/x", ms, NULL, via), 3);
	json_object_put(ms);
	json_object_put(issues);
	milestone_conf_free(mc);
}
END_TEST

START_TEST(test_map_deployment)
{
	struct milestone_conf	*mc;
	const char		*links[] = { "M-43", NULL };
	unsigned		 via[4];
	char			 err[MP_ERRLEN];

	mc = conf(conf_yaml, err);
	/* shop in production: M-42 (scope) and M-45 (rule "shop*"). */
	ck_assert_uint_eq(milestone_map_deployment(mc, "shop", "production",
	    NULL, via), 2);
	ck_assert_uint_eq(via[0], MS_VIA_SERVICE);
	ck_assert_uint_eq(via[3], MS_VIA_RULE);
	/* An artifact in scope maps like a service. */
	ck_assert_uint_eq(milestone_map_deployment(mc, "shop-img",
	    "production", NULL, via), 2);
	ck_assert_uint_eq(via[2], MS_VIA_SERVICE);
	/* A link (annotation) to M-43 counts only in M-43's environment. */
	ck_assert_uint_eq(milestone_map_deployment(mc, "other", "production",
	    links, via), 0);
	ck_assert_uint_eq(milestone_map_deployment(mc, "other", "staging",
	    links, via), 1);
	ck_assert_uint_eq(via[1], MS_VIA_LINK);
	/* shop-img with an M-43 link in production: M-42? no; 44, 45. */
	ck_assert_uint_eq(milestone_map_deployment(mc, "shop", "staging",
	    NULL, via), 0);
	milestone_conf_free(mc);
}
END_TEST

START_TEST(test_weights)
{
	struct milestone_conf	*mc;
	const char		*m;
	char			 err[MP_ERRLEN];

	mc = conf(conf_yaml, err);
	ck_assert(milestone_weight(mc, "CRITICAL", NULL, NULL, &m) == 30);
	ck_assert_str_eq(m, "CRITICAL");
	ck_assert(milestone_weight(mc, "odd", "P2", "high", &m) == 10);
	ck_assert_str_eq(m, "P2");
	ck_assert(milestone_weight(mc, NULL, NULL, "low", NULL) == 2);
	ck_assert(milestone_weight(mc, "sev9", NULL, NULL, NULL) == 1);
	ck_assert(milestone_weight(mc, "weird", NULL, NULL, &m) == 5);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(ident_sha_eq("abcdef1", "ABCDEF1234"), 1);
	ck_assert_int_eq(ident_sha_eq("abc", "abcdef1"), 0);
	milestone_conf_free(mc);
}
END_TEST

START_TEST(test_evaluate)
{
	struct milestone_eval	e;
	int64_t			start, due;

	tf_parse("2025-08-01T00:00:00Z", &start);
	tf_parse("2025-08-31T00:00:00Z", &due);
	memset(&e, 0, sizeof(e));
	e.start = start;
	e.due = due;
	e.margin = 7 * DAY;
	/* 3 of 10 in 10 days: 0.3 a day, 7 left: 23.3 days: Sep 2: late. */
	e.total = 10;
	e.done = 3;
	e.now = start + 10 * DAY;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "slipping");
	ck_assert(e.progress == 30);
	ck_assert(e.cadence == 0.3);
	ck_assert_int_eq(e.predicted, e.now + (int64_t)(7 / 0.3 * 86400e6));
	/* 6 of 10 in 10 days: 0.6 a day, 4 left: ~6.7 days: Aug 17. */
	e.done = 6;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "on_track");
	/* 4 of 10: 0.4 a day, 15 days more: Aug 26, within 7 of due. */
	e.done = 4;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "at_risk");
	/* An active delta: progress drops, and on_track becomes at_risk. */
	e.done = 6;
	e.active = 1;
	e.delta = -25;
	milestone_evaluate(&e);
	ck_assert(e.progress == 35);
	ck_assert_str_eq(e.state, "at_risk");
	e.delta = -90;
	milestone_evaluate(&e);
	ck_assert(e.progress == 0);		/* clamped */
	/* All done: delivered only without an active delta. */
	e.done = 10;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "at_risk");
	e.active = 0;
	e.delta = 0;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "delivered");
	ck_assert(e.progress == 100);
	/* Past due, not delivered: slipping.  Delivered stays delivered. */
	e.done = 9;
	e.now = due + 1;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "slipping");
	e.done = 10;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "delivered");
	/* Nothing verified yet: no cadence; at risk only near due. */
	e.done = 0;
	e.now = start + 2 * DAY;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "on_track");
	ck_assert_int_eq(e.predicted, 0);
	e.now = due - 3 * DAY;
	milestone_evaluate(&e);
	ck_assert_str_eq(e.state, "at_risk");
	/* No scope at all is never delivered. */
	e.total = 0;
	milestone_evaluate(&e);
	ck_assert_str_ne(e.state, "delivered");
	/* 2 of 3, to one decimal. */
	e.total = 3;
	e.done = 2;
	milestone_evaluate(&e);
	ck_assert(e.progress == 66.7);
}
END_TEST

START_TEST(test_dora_arith)
{
	double	a[] = { 86400, 1800, 14400, 3600, 43200, 7200, 21600 };
	double	b[] = { 7200, 3600 };
	double	c[] = { 5 };
	int64_t	t, w;

	ck_assert(dora_median(a, 7) == 14400);
	ck_assert(dora_median(b, 2) == 5400);	/* mean of the middle two */
	ck_assert(dora_median(c, 1) == 5);
	ck_assert(isnan(dora_median(c, 0)));
	tf_parse("2025-07-01T13:00:00Z", &t);		/* a Tuesday */
	tf_parse("2025-06-30T00:00:00Z", &w);		/* its Monday */
	ck_assert_int_eq(dora_week_start(t), w);
	ck_assert_int_eq(dora_week_start(w), w);
	tf_parse("1970-01-01T00:00:00Z", &t);		/* a Thursday */
	tf_parse("1969-12-29T00:00:00Z", &w);
	ck_assert_int_eq(dora_week_start(t), w);
}
END_TEST

/* The claim path, against a real ledger. */
static char		 dir[64], url[160];
static struct ledger	*l;
static struct milestone_conf *mc;
static struct milestones *ms;
static struct types	*ty;
static struct rules	*ru;		/* claims, computed claims, deployments */
static int64_t		 txn = 4102444800000000;	/* 2100: after every event time */
static int		 nextseq;

static void
setup(void)
{
	char	err[MP_ERRLEN];

	snprintf(dir, sizeof(dir), "/tmp/mp-check-ms.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/l.db", dir);
	l = ledger_open(url, 0, err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	mc = conf(conf_yaml, err);
	ms = milestone_new(mc);
	ty = types_new();
	ru = rules_new(ty);
}

static void
teardown(void)
{
	char	path[128];

	milestone_free(ms);
	milestone_conf_free(mc);
	rules_free(ru);
	ru = NULL;
	types_free(ty);
	ledger_close(l);
	snprintf(path, sizeof(path), "%s/l.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/l.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/l.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

/* One batch: optional evidence, optional Deployment claim revision. */
static void
batch(const char *type, const char *subject, const char *time,
    const char *props, const char *links, const char *dep_id,
    const char *dep_props)
{
	struct evidence	*ev = NULL;
	struct claim	 c;
	json_object	*o;
	char		 id[32], err[MP_ERRLEN], e2[MP_ERRLEN];
	int64_t		 t;

	txn += 1000000;
	ck_assert_int_eq(ledger_begin(l), 0);
	if (type != NULL) {
		o = json_object_new_object();
		snprintf(id, sizeof(id), "e%d", ++nextseq);
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_object_add(o, "type", json_object_new_string(type));
		json_object_object_add(o, "subject",
		    json_object_new_string(subject));
		json_object_object_add(o, "time", json_object_new_string(time));
		json_object_object_add(o, "properties",
		    json_tokener_parse(props));
		json_object_object_add(o, "links", json_tokener_parse(links ?
		    links : "{}"));
		ck_assert_msg(evidence_from_json(o, ty, "agent", id, txn,
		    &ev, err, sizeof(err), e2, sizeof(e2)) == EV_OK, "%s", err);
		json_object_put(o);
		ev->recorded_at = txn;
		ck_assert_int_eq(ledger_append(l, ev), 0);
		ck_assert_int_eq(milestone_apply(ms, l, ev), 0);
		evidence_free(ev);
	}
	if (dep_id != NULL) {
		memset(&c, 0, sizeof(c));
		tf_parse(time, &t);
		c.type = (char *)"Deployment";
		c.id = (char *)dep_id;
		c.revision = ++nextseq;
		c.anchor = c.time = t;
		c.recorded_at = txn;
		c.properties = (char *)dep_props;
		c.links = (char *)"{}";
		c.basis = (char *)"[]";
		ck_assert_int_eq(ledger_claim_put(l, &c), 0);
	}
	ck_assert_int_eq(milestone_flush(ms, l, txn), 0);
	ck_assert_int_eq(ledger_commit(l), 0);
}

/* A property of milestone id's latest revision, as a string. */
static const char *
mprop(const char *id, const char *expr)
{
	static char	 out[512];
	struct claim	 c;
	json_object	*p, *v;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ledger_claim_get(l, "Milestone", id, INT64_MAX,
	    &c), 1);
	p = json_tokener_parse(c.properties);
	ck_assert(json_object_object_get_ex(p, expr, &v));
	snprintf(out, sizeof(out), "%s", json_object_get_string(v));
	json_object_put(p);
	claim_clear(&c);
	return (out);
}

static const char *
m42(const char *expr)
{
	return (mprop("M-42", expr));
}

START_TEST(test_claims)
{
	static const char shop_c2[] = "{\"state\":\"verified\",\"service\":"
	    "\"shop\",\"environment\":\"production\",\"revision\":"
	    "\"2222222\",\"since\":\"2025-08-04T10:00:00Z\"}";

	/* Declared: SHOP-7 and commit abcdef1. */
	batch("CommitPushed", "abcdef1999", "2025-08-02T09:00:00Z",
	    "{\"sha\":\"abcdef1999\"}", "{\"repo\":\"r\",\"branch\":\"main\"}",
	    NULL, NULL);
	ck_assert_str_eq(m42("total"), "2");
	batch("CommitPushed", "2222222", "2025-08-03T09:00:00Z",
	    "{\"sha\":\"2222222\",\"issueKeys\":[\"SHOP-7\",\"PAY-1\"]}",
	    "{\"repo\":\"r\",\"branch\":\"main\"}", NULL, NULL);
	ck_assert_str_eq(m42("total"), "3");	/* + PAY-1 by the rule */
	ck_assert_str_eq(m42("done"), "0");
	/* Verified in staging: not M-42's environment. */
	batch(NULL, NULL, "2025-08-04T09:00:00Z", NULL, NULL,
	    "shop/staging/2222222", "{\"state\":\"verified\",\"service\":"
	    "\"shop\",\"environment\":\"staging\",\"revision\":\"2222222\"}");
	ck_assert_str_eq(m42("done"), "0");
	/*
	 * Verified in production: it maps to M-42 and M-45 (2, the limit),
	 * and contains both commits: all three checkpoints verified.
	 */
	batch(NULL, NULL, "2025-08-04T10:00:00Z", NULL, NULL,
	    "shop/production/2222222", shop_c2);
	ck_assert_str_eq(m42("done"), "3");
	ck_assert_str_eq(m42("state"), "delivered");
	/* A rollback of shop: a delta; no longer delivered. */
	batch(NULL, NULL, "2025-08-05T10:00:00Z", NULL, NULL,
	    "shop/production/2222222", "{\"state\":\"rolling_back\","
	    "\"service\":\"shop\",\"environment\":\"production\","
	    "\"revision\":\"2222222\"}");
	ck_assert_str_eq(m42("state"), "at_risk");
	ck_assert_str_eq(m42("progress"), "90.0");
	/* A later verified deployment of shop ends the rollback delta. */
	batch(NULL, NULL, "2025-08-06T10:00:00Z", NULL, NULL,
	    "shop/production/3333333", "{\"state\":\"verified\",\"service\":"
	    "\"shop\",\"environment\":\"production\",\"revision\":"
	    "\"3333333\"}");
	ck_assert_str_eq(m42("state"), "delivered");
	/* A commit and a deployment named by 3 milestones: rejected. */
	batch("CommitPushed", "4444444", "2025-08-07T09:00:00Z",
	    "{\"sha\":\"4444444\",\"milestones\":[\"M-42\",\"M-44\","
	    "\"M-45\"]}", NULL, NULL, NULL);
	ck_assert_str_eq(m42("total"), "3");
	ck_assert_ptr_nonnull(strstr(m42("rejections"), "commit 4444444 maps "
	    "to 3 milestones (M-42, M-44, M-45)"));
	batch(NULL, NULL, "2025-08-08T10:00:00Z", NULL, NULL,
	    "shop-img/production/5", "{\"state\":\"verified\",\"service\":"
	    "\"shop-img\",\"environment\":\"production\",\"revision\":\"5\"}");
	/* shop-img: M-44 (artifact), M-45 (rule); 2: accepted, not M-42. */
	ck_assert_ptr_null(strstr(m42("deployments"), "shop-img"));
	/*
	 * The clock (receiver/clock.c's MilestoneClock evidence) alone moves
	 * time: M-43 (due 2025-09-30T12:00Z, margin 7 d, nothing in scope)
	 * is at_risk at midnight, and slipping just after its due time the
	 * same day: crossing due re-evaluates it, not only a new day.
	 */
	batch("MilestoneClock", "milestones", "2025-09-30T00:00:00Z",
	    "{\"at\":\"day\"}", NULL, NULL, NULL);
	ck_assert_str_eq(mprop("M-43", "state"), "at_risk");
	batch("MilestoneClock", "M-43", "2025-09-30T12:00:00.000001Z",
	    "{\"at\":\"due\",\"milestone\":\"M-43\"}", NULL, NULL, NULL);
	ck_assert_str_eq(mprop("M-43", "state"), "slipping");
}
END_TEST

Suite *
make_milestone_suite(void)
{
	Suite	*s = suite_create("milestone");
	TCase	*tc = tcase_create("conf");

	tcase_add_test(tc, test_conf);
	tcase_add_test(tc, test_conf_errors);
	tcase_add_test(tc, test_map_commit);
	tcase_add_test(tc, test_map_deployment);
	tcase_add_test(tc, test_weights);
	tcase_add_test(tc, test_evaluate);
	tcase_add_test(tc, test_dora_arith);
	suite_add_tcase(s, tc);
	tc = tcase_create("claims");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_claims);
	suite_add_tcase(s, tc);
	return (s);
}
