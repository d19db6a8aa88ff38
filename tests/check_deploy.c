/*
 * check_deploy.c: the deployment state machine (deploy.c): its transition
 * table, the composite release state, the "deployments" configuration,
 * and evidence applied through the engine in real SQLite transactions,
 * exactly as the writer does (one evidence per transaction here), with
 * the resulting Deployment, DeploymentRejection and Release claims read
 * back, and a rebuild that must reproduce them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milepost.h"
#include "check_milepost.h"

#define CFGFILE	"deploy.yaml"
#define SHA_A	"1111111111111111111111111111111111111111"
#define SHA_B	"2222222222222222222222222222222222222222"

static char		 dir[64], dbpath[128], url[160], err[MP_ERRLEN];
static struct ledger	*l;
static struct types	*ty;
static struct rules	*ru;		/* claims, computed claims, deployments */
static struct engine	*en;
static int		 nextid;
static int64_t		 txn;

static void
dep_setup(void)
{
	strlcpy(dir, "/tmp/check_milepost_deploy.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL)
		ck_abort_msg("mkdtemp %s", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/l.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", dbpath);
	ck_assert_ptr_nonnull(l = ledger_open(url, 0, err, sizeof(err)));
	ty = NULL;
	en = NULL;
	nextid = 0;
	tf_parse("2025-09-01T00:00:00Z", &txn);
}

static void
dep_teardown(void)
{
	char	path[256];

	engine_free(en);
	en = NULL;
	ledger_close(l);
	l = NULL;
	rules_free(ru);
	ru = NULL;
	types_free(ty);
	ty = NULL;
	snprintf(path, sizeof(path), "%s-wal", dbpath);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", dbpath);
	unlink(path);
	unlink(dbpath);
	rmdir(dir);
}

static void
configure(const char *text)
{
	json_object	*tree, *v;

	tree = yaml_parse(text, strlen(text), CFGFILE, err, sizeof(err));
	ck_assert_msg(tree != NULL, "%s", err);
	ty = types_new();
	ru = rules_new(ty);
	ck_assert_msg(claims_load(ru, NULL, CFGFILE, err, sizeof(err)) == 0 &&
	    computed_load(ru, NULL, CFGFILE, err, sizeof(err)) == 0 &&
	    deploy_load(ru, json_object_object_get_ex(tree, "deployments",
	    &v) ? v : NULL, CFGFILE, err, sizeof(err)) == 0, "%s", err);
	json_object_put(tree);
	en = engine_new(ru);
}

/* Append one evidence from source in its own transaction and apply it. */
static void
ev(const char *source, const char *type, const char *time, const char *props,
    const char *links)
{
	struct evidence	*e = NULL;
	json_object	*o;
	char		 text[2048], prop[64];

	snprintf(text, sizeof(text), "{\"id\":\"ev-%d\",\"type\":\"%s\","
	    "\"subject\":\"s\",\"time\":\"%s\",\"properties\":%s,"
	    "\"links\":%s}", ++nextid, type, time, props, links ? links : "{}");
	ck_assert_ptr_nonnull(o = json_tokener_parse(text));
	ck_assert_msg(evidence_from_json(o, ty, source, NULL, txn, &e, err,
	    sizeof(err), prop, sizeof(prop)) == EV_OK, "%s: %s", text, err);
	json_object_put(o);
	ck_assert_int_eq(ledger_begin(l), 0);
	e->recorded_at = txn;
	ck_assert_int_eq(ledger_append(l, e), 0);
	ck_assert_msg(engine_apply(en, l, e) == 0, "%s", ledger_error(l));
	ck_assert_msg(engine_flush(en, l, txn) == 0, "%s", ledger_error(l));
	ck_assert_int_eq(ledger_commit(l), 0);
	evidence_free(e);
	txn += 1000000;
}

/* A deployment event of the test's own tool. */
static void
dev(const char *type, const char *svc, const char *env, const char *region,
    const char *rev, const char *rel, const char *time)
{
	char	p[512];

	snprintf(p, sizeof(p), "{\"deploymentId\":\"%s-%s-%s\","
	    "\"service\":\"%s\",\"environment\":\"%s\",\"region\":\"%s\","
	    "\"revision\":\"%s\",\"release\":\"%s\"}", svc, region, rev, svc,
	    env, region, rev, rel);
	ev("agent", type, time, p, NULL);
}

/* A property of the latest revision of a claim, or "" (static buffer). */
static const char *
prop(const char *type, const char *id, const char *key)
{
	static char	 out[1024];
	struct claim	 c;
	json_object	*p, *v;

	out[0] = '\0';
	memset(&c, 0, sizeof(c));
	if (ledger_claim_get(l, type, id, INT64_MAX, &c) == 1 &&
	    (p = json_tokener_parse(c.properties)) != NULL) {
		if (json_object_object_get_ex(p, key, &v))
			snprintf(out, sizeof(out), "%s",
			    json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) :
			    json_object_to_json_string_ext(v,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(p);
	}
	claim_clear(&c);
	return (out);
}

static int64_t
revisions(const char *type, const char *id)
{
	struct claim	c;
	int64_t		n = 0;

	memset(&c, 0, sizeof(c));
	if (ledger_claim_get(l, type, id, INT64_MAX, &c) == 1)
		n = c.revision;
	claim_clear(&c);
	return (n);
}

static int
count_one(const struct claim *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return (0);
}

static int
rejections(void)
{
	int	n = 0;

	ck_assert_int_ge(ledger_claim_list(l, "DeploymentRejection", NULL, 0,
	    INT64_MAX, count_one, &n), 0);
	return (n);
}

/* The stored claims equal a replay of the ledger. */
static void
rebuild_equal(void)
{
	struct claims_rebuild	 r;
	struct ledger		*ro;

	ck_assert_ptr_nonnull(ro = ledger_open(url, LEDGER_RDONLY, err,
	    sizeof(err)));
	ck_assert_msg(derive_rebuild(ro, ru, NULL, &r) == 0, "rebuild: %s",
	    r.diff);
	ledger_close(ro);
}

#define DEP_A	"shop/production/" SHA_A
#define DEP_B	"shop/production/" SHA_B

START_TEST(test_table)
{
	enum dstate	s;
	int		i;

	for (i = 0; i < DS_MAX; i++) {
		ck_assert_int_eq(deploy_state_parse(deploy_state_name(i), &s),
		    0);
		ck_assert_int_eq(s, i);
		ck_assert(!deploy_transition_ok(i, i));
	}
	ck_assert_int_eq(deploy_state_parse("done", &s), -1);
	/* The document's paths. */
	ck_assert(deploy_transition_ok(DS_NONE, DS_IN_PROGRESS));
	ck_assert(deploy_transition_ok(DS_PLANNED, DS_IN_PROGRESS));
	ck_assert(deploy_transition_ok(DS_IN_PROGRESS, DS_DEPLOYED));
	ck_assert(deploy_transition_ok(DS_DEPLOYED, DS_VERIFIED));
	ck_assert(deploy_transition_ok(DS_IN_PROGRESS, DS_FAILED));
	ck_assert(deploy_transition_ok(DS_FAILED, DS_ROLLING_BACK));
	ck_assert(deploy_transition_ok(DS_ROLLING_BACK, DS_REVERTED));
	ck_assert(deploy_transition_ok(DS_ROLLING_BACK,
	    DS_PARTIALLY_RESTORED));
	ck_assert(deploy_transition_ok(DS_REVERTED, DS_RECOVERED));
	ck_assert(deploy_transition_ok(DS_PARTIALLY_RESTORED, DS_RECOVERED));
	ck_assert(deploy_transition_ok(DS_ROLLING_BACK, DS_ROLLBACK_FAILED));
	ck_assert(deploy_transition_ok(DS_ROLLBACK_FAILED,
	    DS_MANUAL_INTERVENTION));
	ck_assert(deploy_transition_ok(DS_IN_PROGRESS, DS_STALLED));
	ck_assert(deploy_transition_ok(DS_DEPLOYED, DS_BLOCKED));
	ck_assert(deploy_transition_ok(DS_BLOCKED, DS_VERIFIED));
	/* And what is refused. */
	ck_assert(!deploy_transition_ok(DS_NONE, DS_VERIFIED));
	ck_assert(!deploy_transition_ok(DS_IN_PROGRESS, DS_VERIFIED));
	ck_assert(!deploy_transition_ok(DS_PLANNED, DS_VERIFIED));
	ck_assert(!deploy_transition_ok(DS_FAILED, DS_VERIFIED));
	/* An incident's resolution recovers what the incident failed. */
	ck_assert(deploy_transition_ok(DS_FAILED, DS_RECOVERED));
	ck_assert(deploy_transition_ok(DS_RECOVERED, DS_FAILED));
	ck_assert(deploy_transition_ok(DS_REVERTED, DS_PARTIALLY_RESTORED));
	ck_assert(!deploy_transition_ok(DS_DEPLOYED, DS_RECOVERED));
	ck_assert(!deploy_transition_ok(DS_VERIFIED, DS_REVERTED));
	ck_assert(!deploy_transition_ok(DS_IN_PROGRESS, DS_ROLLING_BACK));
	ck_assert(!deploy_transition_ok(DS_RECOVERED, DS_VERIFIED));
	ck_assert(!deploy_transition_ok(DS_VERIFIED, DS_DEPLOYED));
	ck_assert(!deploy_transition_ok(DS_DEPLOYED, DS_MAX));
	ck_assert(!deploy_transition_ok(DS_MAX, DS_DEPLOYED));
	ck_assert(deploy_state_expects_progress(DS_IN_PROGRESS));
	ck_assert(!deploy_state_expects_progress(DS_VERIFIED));
	ck_assert(!deploy_state_expects_progress(DS_FAILED));
}
END_TEST

START_TEST(test_release_state)
{
	enum dstate	v1[] = { DS_VERIFIED, DS_RECOVERED };
	enum dstate	v2[] = { DS_VERIFIED, DS_FAILED };
	enum dstate	v3[] = { DS_FAILED, DS_ROLLBACK_FAILED };
	enum dstate	v4[] = { DS_VERIFIED, DS_ROLLING_BACK };
	enum dstate	v5[] = { DS_VERIFIED, DS_IN_PROGRESS };
	enum dstate	v6[] = { DS_PLANNED, DS_PLANNED };

	ck_assert_str_eq(deploy_release_state(v1, 2), "verified");
	ck_assert_str_eq(deploy_release_state(v2, 2), "partially_deployed");
	ck_assert_str_eq(deploy_release_state(v3, 2), "failed");
	ck_assert_str_eq(deploy_release_state(v4, 2), "rolling_back");
	ck_assert_str_eq(deploy_release_state(v5, 2), "in_progress");
	ck_assert_str_eq(deploy_release_state(v6, 2), "planned");
}
END_TEST

START_TEST(test_config)
{
	struct types	*t;
	struct rules	*r;
	json_object	*tree, *v;
	const char	*bad[][2] = {
		{ "deployments: { verify_by: [smoke] }", "unknown check smoke" },
		{ "deployments: { timeout: soon }", "timeout" },
		{ "deployments: { overrides: { forbid: [production] } }",
		    "forbid" },
		{ "deployments: { pipelines: [ { name: x } ] }",
		    "name, service and environment are required" },
		{ "deployments: { colour: red }", "colour: unknown setting" },
	};
	size_t		 i;

	configure("deployments:\n"
	    "  timeout: 10m\n"
	    "  environments: { production: { timeout: 1h, verify_by: [test] }, "
	    "staging: { timeout: 2s } }\n"
	    "  overrides: { forbid_in: [production] }\n");
	ck_assert(deploy_timeout(ru, "production") == 3600);
	ck_assert(deploy_timeout(ru, "staging") == 2);
	ck_assert(deploy_timeout(ru, "qa") == 600);
	ck_assert(deploy_timeout(NULL, "qa") == 1800);
	ck_assert(deploy_override_forbidden(ru, "production"));
	ck_assert(!deploy_override_forbidden(ru, "staging"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tree = yaml_parse(bad[i][0], strlen(bad[i][0]), CFGFILE,
		    err, sizeof(err));
		ck_assert_ptr_nonnull(tree);
		t = types_new();
		r = rules_new(t);
		json_object_object_get_ex(tree, "deployments", &v);
		ck_assert_int_eq(deploy_load(r, v, CFGFILE, err, sizeof(err)),
		    -1);
		ck_assert_msg(strstr(err, bad[i][1]) != NULL, "%s: %s",
		    bad[i][0], err);
		ck_assert_msg(strncmp(err, CFGFILE ":1:", 13) == 0, "%s", err);
		rules_free(r);
		types_free(t);
		json_object_put(tree);
	}
}
END_TEST

/* Argo CD's path; production verifies on a test only. */
START_TEST(test_verify_by_test)
{
	configure("deployments: { environments: { production: "
	    "{ verify_by: [test] } } }");
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:00:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "in_progress");
	ck_assert_str_eq(prop("Deployment", DEP_A, "previous_state"), "");
	ck_assert_str_eq(prop("Deployment", DEP_A, "actor"), "agent");
	/* A passing test now is refused, and recorded. */
	ev("agent", "TestRun", "2025-09-01T10:00:30Z",
	    "{\"status\":\"passed\",\"service\":\"shop\","
	    "\"environment\":\"production\"}", NULL);
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "in_progress");
	ck_assert_int_eq(rejections(), 1);
	ck_assert_str_eq(prop("DeploymentRejection", DEP_A
	    "#00000000000000000002", "rule"), "verify_after_deployed");
	dev("DeploymentSucceeded", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:01:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "deployed");
	ck_assert_str_eq(prop("Deployment", DEP_A, "since"),
	    "2025-09-01T10:01:00Z");
	ev("agent", "DeploymentHealth", "2025-09-01T10:02:00Z",
	    "{\"deploymentId\":\"x\",\"health\":\"Healthy\","
	    "\"service\":\"shop\",\"environment\":\"production\","
	    "\"revision\":\"" SHA_A "\"}", NULL);
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "deployed");
	ev("agent", "TestRun", "2025-09-01T10:03:00Z",
	    "{\"status\":\"passed\",\"suite\":\"smoke\"}",
	    "{\"deployment\":\"" DEP_A "\"}");
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "verified");
	ck_assert_str_eq(prop("Deployment", DEP_A, "previous_state"),
	    "deployed");
	ck_assert_int_eq(revisions("Deployment", DEP_A), 3);
	rebuild_equal();
}
END_TEST

START_TEST(test_rollback)
{
	configure("deployments: {}");
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:00:00Z");
	dev("DeploymentSucceeded", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:01:00Z");
	dev("DeploymentStarted", "shop", "production", "", SHA_B, "",
	    "2025-09-02T10:00:00Z");
	dev("DeploymentFailed", "shop", "production", "", SHA_B, "",
	    "2025-09-02T10:01:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "failed");
	/* An incident on a failed deployment is only listed on it. */
	ev("pagerduty", "IncidentOpened", "2025-09-02T10:02:00Z",
	    "{\"incidentId\":\"P1\",\"service\":\"shop\"}", NULL);
	ck_assert_int_eq(revisions("Deployment", DEP_A), 2);
	ck_assert_int_eq(revisions("Deployment", DEP_B), 3);
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "failed");
	ck_assert_str_eq(prop("Deployment", DEP_B, "incidents"), "[\"P1\"]");
	ck_assert_str_eq(prop("Deployment", DEP_B, "since"),
	    "2025-09-02T10:01:00Z");
	/* A test cannot recover what was never rolled back. */
	ev("agent", "TestRun", "2025-09-02T10:03:00Z",
	    "{\"status\":\"passed\"}", "{\"deployment\":\"" DEP_B "\"}");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "failed");
	ck_assert_int_eq(rejections(), 1);
	/* Redeploying A is the rollback. */
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-02T10:05:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "rolling_back");
	ck_assert_str_eq(prop("Deployment", DEP_A, "rollback_of"), DEP_B);
	dev("DeploymentSucceeded", "shop", "production", "", SHA_A, "",
	    "2025-09-02T10:06:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "reverted");
	ck_assert_str_eq(prop("Deployment", DEP_B, "since"),
	    "2025-09-02T10:06:00Z");
	ev("agent", "TestRun", "2025-09-02T10:07:00Z",
	    "{\"status\":\"passed\",\"service\":\"shop\","
	    "\"environment\":\"production\"}", NULL);
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "verified");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "recovered");
	ck_assert_str_eq(prop("Deployment", DEP_B, "since"),
	    "2025-09-02T10:07:00Z");
	/* An incident on the verified deployment fails it. */
	ev("pagerduty", "IncidentOpened", "2025-09-03T10:00:00Z",
	    "{\"incidentId\":\"P2\",\"service\":\"shop\"}", NULL);
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "failed");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "recovered");
	rebuild_equal();
}
END_TEST

#define INC(id)	"{\"incidentId\":\"" id "\",\"service\":\"shop\"}"
#define ENV(e)	"{\"environment\":\"" e "\"}"
#define DEP_S	"shop/staging/" SHA_A

/*
 * Incidents where they happen: only the deployment of that environment
 * current when the incident began; listed on it; recovered on resolution
 * with no new deployment, and not when a newer deployment came since.
 */
START_TEST(test_incident_scope)
{
	configure("{}");
	dev("DeploymentStarted", "shop", "staging", "", SHA_A, "",
	    "2025-09-01T09:00:00Z");
	dev("DeploymentSucceeded", "shop", "staging", "", SHA_A, "",
	    "2025-09-01T09:01:00Z");
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:00:00Z");
	dev("DeploymentSucceeded", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:01:00Z");
	/* A production incident: production only. */
	ev("pagerduty", "IncidentOpened", "2025-09-01T11:00:00Z", INC("P7"),
	    ENV("production"));
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "failed");
	ck_assert_str_eq(prop("Deployment", DEP_A, "incidents"), "[\"P7\"]");
	ck_assert_str_eq(prop("Deployment", DEP_A, "open_incidents"),
	    "[\"P7\"]");
	ck_assert_str_eq(prop("Deployment", DEP_S, "state"), "deployed");
	ck_assert_int_eq(revisions("Deployment", DEP_S), 2);
	/* A second one, then the first resolves: still failed. */
	ev("pagerduty", "IncidentOpened", "2025-09-01T11:05:00Z", INC("P8"),
	    ENV("production"));
	ck_assert_str_eq(prop("Deployment", DEP_A, "incidents"),
	    "[\"P7\",\"P8\"]");
	ev("pagerduty", "IncidentResolved", "2025-09-01T11:30:00Z",
	    INC("P7"), ENV("production"));
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "failed");
	ck_assert_str_eq(prop("Deployment", DEP_A, "open_incidents"),
	    "[\"P8\"]");
	/* The last one resolves: recovered, at the resolution's time. */
	ev("pagerduty", "IncidentResolved", "2025-09-01T12:00:00Z",
	    INC("P8"), ENV("production"));
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "recovered");
	ck_assert_str_eq(prop("Deployment", DEP_A, "since"),
	    "2025-09-01T12:00:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_A, "previous_state"),
	    "failed");
	ck_assert_str_eq(prop("Deployment", DEP_A, "open_incidents"), "[]");
	ck_assert_str_eq(prop("Deployment", DEP_S, "state"), "deployed");
	/* Attributed to the deployment current when it began (late news). */
	dev("DeploymentStarted", "shop", "production", "", SHA_B, "",
	    "2025-09-02T10:00:00Z");
	ev("pagerduty", "IncidentOpened", "2025-09-01T13:00:00Z", INC("P9"),
	    ENV("production"));
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "failed");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "in_progress");
	ck_assert_str_eq(prop("Deployment", DEP_B, "incidents"), "");
	/* A newer deployment since: the resolution recovers nothing. */
	ev("pagerduty", "IncidentResolved", "2025-09-02T10:30:00Z",
	    INC("P9"), ENV("production"));
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "failed");
	ck_assert_str_eq(prop("Deployment", DEP_A, "open_incidents"), "[]");
	/* A deployment that failed by itself is not recovered either. */
	dev("DeploymentFailed", "shop", "staging", "", SHA_A, "",
	    "2025-09-02T11:00:00Z");
	ev("pagerduty", "IncidentOpened", "2025-09-02T11:01:00Z", INC("P10"),
	    ENV("staging"));
	ev("pagerduty", "IncidentResolved", "2025-09-02T11:02:00Z",
	    INC("P10"), ENV("staging"));
	ck_assert_str_eq(prop("Deployment", DEP_S, "state"), "failed");
	ck_assert_str_eq(prop("Deployment", DEP_S, "incidents"), "[\"P10\"]");
	rebuild_equal();
}
END_TEST

/*
 * The rollback states: a rollback that fails is rollback_failed; one
 * that deploys and then fails leaves the deployment partially_restored,
 * which a passing check still recovers.
 */
START_TEST(test_rollback_states)
{
	configure("{}");
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:00:00Z");
	dev("DeploymentSucceeded", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:01:00Z");
	dev("DeploymentStarted", "shop", "production", "", SHA_B, "",
	    "2025-09-02T10:00:00Z");
	dev("DeploymentFailed", "shop", "production", "", SHA_B, "",
	    "2025-09-02T10:01:00Z");
	/* Roll back to A; it fails: rollback_failed. */
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-02T10:05:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "rolling_back");
	dev("DeploymentFailed", "shop", "production", "", SHA_A, "",
	    "2025-09-02T10:06:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"),
	    "rollback_failed");
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "failed");
	/* Again: it deploys (reverted), then fails: partially_restored. */
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-02T10:10:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_A, "rollback_of"), DEP_B);
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "rolling_back");
	dev("DeploymentSucceeded", "shop", "production", "", SHA_A, "",
	    "2025-09-02T10:11:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"), "reverted");
	ev("agent", "DeploymentHealth", "2025-09-02T10:12:00Z",
	    "{\"deploymentId\":\"x\",\"service\":\"shop\",\"environment\":"
	    "\"production\",\"revision\":\"" SHA_A "\",\"health\":"
	    "\"Degraded\"}", NULL);
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "failed");
	ck_assert_str_eq(prop("Deployment", DEP_B, "state"),
	    "partially_restored");
	ck_assert_str_eq(prop("Deployment", DEP_B, "previous_state"),
	    "reverted");
	rebuild_equal();
}
END_TEST

/* A source that announces a deployment before it starts: planned. */
START_TEST(test_planned)
{
	configure("{}");
	dev("DeploymentPlanned", "shop", "production", "", SHA_A, "",
	    "2025-09-01T09:59:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "planned");
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:00:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "in_progress");
	ck_assert_str_eq(prop("Deployment", DEP_A, "previous_state"),
	    "planned");
	/* Announced again once running (a redelivery): nothing changes. */
	dev("DeploymentPlanned", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:01:00Z");
	ck_assert_int_eq(revisions("Deployment", DEP_A), 2);
	ck_assert_int_eq(rejections(), 0);
	rebuild_equal();
}
END_TEST

START_TEST(test_overrides_and_stalls)
{
	configure("deployments: { overrides: { forbid_in: [production] } }");
	dev("DeploymentStarted", "shop", "production", "", SHA_A, "",
	    "2025-09-01T10:00:00Z");
	dev("DeploymentStarted", "shop", "staging", "", SHA_A, "",
	    "2025-09-01T10:00:00Z");
	/* Only the API may override, and not in production. */
	ev("agent", "DeploymentOverride", "2025-09-01T10:01:00Z",
	    "{\"deploymentId\":\"shop/staging/" SHA_A "\",\"state\":\"failed\","
	    "\"reason\":\"x\",\"actor\":\"me\"}", NULL);
	ck_assert_str_eq(prop("Deployment", "shop/staging/" SHA_A, "state"),
	    "in_progress");
	ev("api", "DeploymentOverride", "2025-09-01T10:02:00Z",
	    "{\"deploymentId\":\"" DEP_A "\",\"state\":\"failed\","
	    "\"reason\":\"x\",\"actor\":\"admin token 1\"}", NULL);
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "in_progress");
	ck_assert_int_eq(rejections(), 2);
	ck_assert_str_eq(prop("DeploymentRejection", DEP_A
	    "#00000000000000000004", "rule"), "override_forbidden");
	ev("api", "DeploymentOverride", "2025-09-01T10:03:00Z",
	    "{\"deploymentId\":\"shop/staging/" SHA_A "\",\"state\":"
	    "\"manual_intervention\",\"reason\":\"paged\",\"actor\":"
	    "\"operator token 2\"}", NULL);
	ck_assert_str_eq(prop("Deployment", "shop/staging/" SHA_A, "state"),
	    "manual_intervention");
	ck_assert_str_eq(prop("Deployment", "shop/staging/" SHA_A, "actor"),
	    "operator token 2");
	ck_assert_str_eq(prop("Deployment", "shop/staging/" SHA_A, "reason"),
	    "manual override: paged");
	/* A stall seen for an older state is refused; a current one holds. */
	ev("milepostd", "DeploymentStalled", "2025-09-01T11:00:00Z",
	    "{\"deploymentId\":\"" DEP_A "\",\"state\":\"in_progress\","
	    "\"since\":\"2025-09-01T09:00:00Z\"}", NULL);
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "in_progress");
	ck_assert_int_eq(rejections(), 3);
	ev("agent", "DeploymentStalled", "2025-09-01T11:00:00Z",
	    "{\"deploymentId\":\"" DEP_A "\",\"state\":\"in_progress\","
	    "\"since\":\"2025-09-01T10:00:00Z\"}", NULL);
	ck_assert_int_eq(rejections(), 4);
	ev("milepostd", "DeploymentStalled", "2025-09-01T11:00:00Z",
	    "{\"deploymentId\":\"" DEP_A "\",\"state\":\"in_progress\","
	    "\"since\":\"2025-09-01T10:00:00Z\"}", NULL);
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "stalled");
	ck_assert_str_eq(prop("Deployment", DEP_A, "actor"), "milepostd");
	/* A late success still counts. */
	dev("DeploymentSucceeded", "shop", "production", "", SHA_A, "",
	    "2025-09-01T11:05:00Z");
	ck_assert_str_eq(prop("Deployment", DEP_A, "state"), "deployed");
	rebuild_equal();
}
END_TEST

START_TEST(test_dependencies_and_release)
{
	configure("deployments: { dependencies: { checkout: [payments] } }");
	dev("DeploymentStarted", "checkout", "production", "eu", SHA_A, "R1",
	    "2025-09-01T10:00:00Z");
	dev("DeploymentSucceeded", "checkout", "production", "eu", SHA_A,
	    "R1", "2025-09-01T10:01:00Z");
	dev("DeploymentStarted", "payments", "production", "eu", SHA_B, "R1",
	    "2025-09-01T10:00:00Z");
	ck_assert_str_eq(prop("Release", "R1", "state"), "in_progress");
	ev("agent", "TestRun", "2025-09-01T10:02:00Z",
	    "{\"status\":\"passed\"}",
	    "{\"deployment\":\"checkout/production/eu/" SHA_A "\"}");
	ck_assert_str_eq(prop("Deployment", "checkout/production/eu/" SHA_A,
	    "state"), "blocked");
	dev("DeploymentSucceeded", "payments", "production", "eu", SHA_B,
	    "R1", "2025-09-01T10:03:00Z");
	ev("agent", "TestRun", "2025-09-01T10:04:00Z",
	    "{\"status\":\"passed\"}",
	    "{\"deployment\":\"payments/production/eu/" SHA_B "\"}");
	ck_assert_str_eq(prop("Deployment", "payments/production/eu/" SHA_B,
	    "state"), "verified");
	ck_assert_str_eq(prop("Deployment", "checkout/production/eu/" SHA_A,
	    "state"), "verified");
	ck_assert_str_eq(prop("Release", "R1", "state"), "verified");
	ck_assert_str_eq(prop("Release", "R1", "holding"), "[]");
	/* A second region fails: partially deployed, held by it. */
	dev("DeploymentStarted", "payments", "production", "us", SHA_B, "R1",
	    "2025-09-01T10:05:00Z");
	dev("DeploymentFailed", "payments", "production", "us", SHA_B, "R1",
	    "2025-09-01T10:06:00Z");
	ck_assert_str_eq(prop("Release", "R1", "state"), "partially_deployed");
	ck_assert_str_eq(prop("Release", "R1", "holding"),
	    "[\"payments/production/us/" SHA_B "\"]");
	rebuild_equal();
}
END_TEST

/* A metric of dora_deployments() at a dotted path, as a double. */
static double
dmetric(json_object *o, const char *a, const char *b, const char *c)
{
	json_object	*v = o;

	ck_assert_msg(json_object_object_get_ex(v, a, &v) &&
	    (b == NULL || json_object_object_get_ex(v, b, &v)) &&
	    (c == NULL || json_object_object_get_ex(v, c, &v)),
	    "no %s.%s.%s in %s", a, b ? b : "", c ? c : "",
	    json_object_to_json_string(o));
	return (json_object_get_double(v));
}

/*
 * MTTSR (access/dora.c) walks the Deployment claim revisions that the
 * state machine wrote: from entering failed or stalled to the first later
 * deployed, verified, reverted or recovered; progress in between (in
 * progress again, a second stall) does not end it, and a deployment never
 * resolved is not counted.
 */
START_TEST(test_mttsr_walk)
{
	struct dora_query	 q;
	json_object		*o;
	struct ledger		*ro;
	const char		*stall = "{\"deploymentId\":\"shop/staging/" SHA_A
	    "\",\"state\":\"in_progress\",\"since\":\"%s\"}";
	char			 p[256];

	configure("deployments: { }");
	/*
	 * shop: stalled at 09:30, moving at 09:40, stalled again at 10:10,
	 * deployed at 10:15: MTTSR 45 min from the first stall.
	 */
	dev("DeploymentStarted", "shop", "staging", "", SHA_A, "",
	    "2025-09-01T09:00:00Z");
	snprintf(p, sizeof(p), stall, "2025-09-01T09:00:00Z");
	ev("milepostd", "DeploymentStalled", "2025-09-01T09:30:00Z", p, NULL);
	ck_assert_str_eq(prop("Deployment", "shop/staging/" SHA_A, "state"),
	    "stalled");
	dev("DeploymentStarted", "shop", "staging", "", SHA_A, "",
	    "2025-09-01T09:40:00Z");
	ck_assert_str_eq(prop("Deployment", "shop/staging/" SHA_A, "state"),
	    "in_progress");
	snprintf(p, sizeof(p), stall, "2025-09-01T09:40:00Z");
	ev("milepostd", "DeploymentStalled", "2025-09-01T10:10:00Z", p, NULL);
	ck_assert_str_eq(prop("Deployment", "shop/staging/" SHA_A, "state"),
	    "stalled");
	dev("DeploymentSucceeded", "shop", "staging", "", SHA_A, "",
	    "2025-09-01T10:15:00Z");
	ck_assert_str_eq(prop("Deployment", "shop/staging/" SHA_A, "state"),
	    "deployed");
	/* api: failed at 09:10, retried at 09:20, deployed at 09:50: 40 min. */
	dev("DeploymentStarted", "api", "staging", "", SHA_B, "",
	    "2025-09-01T09:00:00Z");
	dev("DeploymentFailed", "api", "staging", "", SHA_B, "",
	    "2025-09-01T09:10:00Z");
	dev("DeploymentStarted", "api", "staging", "", SHA_B, "",
	    "2025-09-01T09:20:00Z");
	dev("DeploymentSucceeded", "api", "staging", "", SHA_B, "",
	    "2025-09-01T09:50:00Z");
	ck_assert_str_eq(prop("Deployment", "api/staging/" SHA_B, "state"),
	    "deployed");
	/* web: failed and never resolved: not a sample. */
	dev("DeploymentStarted", "web", "staging", "", SHA_A, "",
	    "2025-09-01T09:00:00Z");
	dev("DeploymentFailed", "web", "staging", "", SHA_A, "",
	    "2025-09-01T09:05:00Z");

	ck_assert_ptr_nonnull(ro = ledger_open(url, LEDGER_RDONLY, err,
	    sizeof(err)));
	memset(&q, 0, sizeof(q));
	tf_parse("2025-09-01T00:00:00Z", &q.from);
	tf_parse("2025-09-02T00:00:00Z", &q.to);
	ck_assert_ptr_nonnull(o = dora_deployments(ro, &q));
	ck_assert(dmetric(o, "deployments", NULL, NULL) == 3);
	ck_assert(dmetric(o, "mttsr", "stalled", "resolved") == 1);
	ck_assert(dmetric(o, "mttsr", "stalled", "mean_seconds") == 2700);
	ck_assert(dmetric(o, "mttsr", "failed", "resolved") == 1);
	ck_assert(dmetric(o, "mttsr", "failed", "mean_seconds") == 2400);
	ck_assert(dmetric(o, "mttsr", "failed", "median_seconds") == 2400);
	json_object_put(o);
	/* One service: its own intervals and samples only. */
	q.service = "shop";
	ck_assert_ptr_nonnull(o = dora_deployments(ro, &q));
	ck_assert(dmetric(o, "deployments", NULL, NULL) == 1);
	ck_assert(dmetric(o, "mttsr", "stalled", "mean_seconds") == 2700);
	ck_assert(dmetric(o, "mttsr", "failed", "resolved") == 0);
	ck_assert(dmetric(o, "seconds_in_state", "in_progress", NULL) == 3600);
	ck_assert(dmetric(o, "seconds_in_state", "stalled", NULL) == 900);
	json_object_put(o);
	/* Outside the period (by the deployments' start): nothing. */
	tf_parse("2025-09-02T00:00:00Z", &q.from);
	tf_parse("2025-09-03T00:00:00Z", &q.to);
	ck_assert_ptr_nonnull(o = dora_deployments(ro, &q));
	ck_assert(dmetric(o, "deployments", NULL, NULL) == 0);
	ck_assert(dmetric(o, "mttsr", "stalled", "resolved") == 0);
	json_object_put(o);
	ledger_close(ro);
	rebuild_equal();
}
END_TEST

Suite *
make_deploy_suite(void)
{
	Suite	*s = suite_create("deploy");
	TCase	*tc = tcase_create("deploy");

	tcase_add_checked_fixture(tc, dep_setup, dep_teardown);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_release_state);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_verify_by_test);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_incident_scope);
	tcase_add_test(tc, test_rollback_states);
	tcase_add_test(tc, test_planned);
	tcase_add_test(tc, test_overrides_and_stalls);
	tcase_add_test(tc, test_dependencies_and_release);
	tcase_add_test(tc, test_mttsr_walk);
	suite_add_tcase(s, tc);
	return (s);
}
