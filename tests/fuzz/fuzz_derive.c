/*
 * fuzz_derive.c: the writer's derivation on a real ledger.
 *
 * The input is a program: each byte pair is one evidence, drawn from a
 * small vocabulary of services, environments, deployments, commits,
 * incidents and builds so that the fuzzer reaches deep states of the claims
 * engine, the deployment machine and milestones (raw JSON would mostly be
 * refused by validation, which fuzz-evidence covers).  A byte with its high
 * bit set also ends the transaction.  Every evidence goes through the
 * receiver's validation (evidence_from_json), then, as the writer does,
 * ledger_append, derive_apply and per batch derive_flush and COMMIT on an
 * SQLite ledger in /dev/shm, with the outbox's change feed on.
 *
 * Invariants, after the program: no crash or leak; `claims rebuild`
 * (derive_rebuild on a read-only handle) equals what was stored; and no
 * Deployment revision caused by evidence other than an override takes a
 * transition the state machine's table forbids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FDR_MAXOPS	96	/* evidence per input */

static struct config	*dcf;
static char		 dpath[128];

static const char *fdr_config =
	"agent_secret: \"" FUZZ_WHSEC "\"\n"
	"claim_types:\n"
	"  BuildLifecycle:\n"
	"    properties:\n"
	"      completed: { type: boolean, required: true }\n"
	"      duration: { type: timespan }\n"
	"    created_by: { evidence: BuildStartedEvent, set: { completed: false } }\n"
	"    revised_by:\n"
	"      - { evidence: BuildCompleted, set: { completed: true, duration: $duration } }\n"
	"computed_claims:\n"
	"  BuildCompletion:\n"
	"    id: \"$MonthName-$YYYY\"\n"
	"    trigger: BuildLifecycle\n"
	"    collectors:\n"
	"      c: { type: BuildLifecycle, count: 50, exact: false, date_offset: CurrentMonth, property: completed }\n"
	"    properties:\n"
	"      totalCount: { type: integer, expression: count }\n"
	"      completedCount: { type: integer, expression: trueCount }\n"
	"  BuildLifeCycleSLA:\n"
	"    id: \"$MonthName-$YYYY\"\n"
	"    trigger: BuildCompleted\n"
	"    collectors:\n"
	"      c: { type: BuildCompleted, count: 50, exact: false, date_offset: CurrentMonth, property: duration }\n"
	"    properties:\n"
	"      metSLA: { type: percentage, expression: percentLessThanTimeSpan, threshold: 500s }\n"
	"deployments:\n"
	"  verify_by: [health, test]\n"
	"  environments: { production: { verify_by: [test] }, staging: { timeout: 2s } }\n"
	"  dependencies: { cart: [shop] }\n"
	"  overrides: { forbid_in: [production] }\n"
	"milestones:\n"
	"  - { id: M-1, tenant: acme, start: \"2025-07-01\", due: \"2025-07-20\", environment: production, scope: { services: [shop], issues: [SHOP-7] } }\n"
	"  - { id: M-2, tenant: other, due: \"2025-08-31\", scope: { services: [cart] } }\n"
	"milestone_rules: { max_per_deployment: 2, severity_weights: { critical: 25 }, clock: false }\n";

static const char *fdr_service[] = { "shop", "cart", "pay" };
static const char *fdr_env[] = { "production", "staging" };
static const char *fdr_rev[] = { "1111111aaaa", "2222222bbbb", "3333333cccc",
	"4444444dddd" };
static const char *fdr_state[] = { "planned", "in_progress", "deployed",
	"verified", "failed", "stalled", "blocked", "rolling_back", "reverted",
	"partially_restored", "recovered", "rollback_failed",
	"manual_intervention", "bogus" };
static const char *fdr_health[] = { "Healthy", "Degraded", "Progressing",
	"Missing" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	err[MP_ERRLEN];

	fuzz_init();
	if ((dcf = fuzz_config_text(fdr_config, strlen(fdr_config), err,
	    sizeof(err))) == NULL)
		fatalx("the derive fuzz configuration does not load: %s", err);
	snprintf(dpath, sizeof(dpath), "/dev/shm/mp-fuzz-derive-%ld.db",
	    (long)getpid());
	return (0);
}

static void
fdr_unlink(void)
{
	char	p[160];

	unlink(dpath);
	snprintf(p, sizeof(p), "%s-wal", dpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dpath);
	unlink(p);
}

static void
fdr_set(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

/*
 * Evidence number n of the program from bytes a and b (taken by the
 * caller), at time t (seconds).
 */
static json_object *
fdr_evidence(unsigned n, uint8_t a, uint8_t b, int64_t t)
{
	json_object	*o, *p, *l, *arr;
	const char	*svc = fdr_service[b % 3], *env = fdr_env[(b >> 2) & 1];
	const char	*rev = fdr_rev[(b >> 3) & 3];
	char		 id[32], ts[MP_TIMELEN], dep[96], v[64];

	o = json_object_new_object();
	p = json_object_new_object();
	l = json_object_new_object();
	snprintf(id, sizeof(id), "e%u", n);
	fdr_set(o, "id", id);
	tf_format(t * 1000000, ts);
	fdr_set(o, "time", ts);
	snprintf(dep, sizeof(dep), "%s/%s/%s", svc, env, rev);
	fdr_set(l, "service", svc);
	if ((b >> 5) & 1)
		fdr_set(l, "tenant", (b >> 6) & 1 ? "other" : "acme");
	switch (a % 14) {
	case 0:	case 1: case 2:
		fdr_set(o, "type", a % 14 == 0 ? "DeploymentStarted" :
		    a % 14 == 1 ? "DeploymentSucceeded" : "DeploymentFailed");
		fdr_set(o, "subject", dep);
		fdr_set(p, "deploymentId", dep);
		fdr_set(p, "service", svc);
		fdr_set(p, "environment", env);
		fdr_set(p, "revision", rev);
		if ((b >> 6) & 1)
			fdr_set(p, "release", "R-1");
		break;
	case 3:
		fdr_set(o, "type", "DeploymentHealth");
		fdr_set(o, "subject", dep);
		fdr_set(p, "deploymentId", dep);
		fdr_set(p, "service", svc);
		fdr_set(p, "environment", env);
		fdr_set(p, "revision", rev);
		fdr_set(p, "health", fdr_health[(a >> 4) & 3]);
		break;
	case 4:
		fdr_set(o, "type", "TestRun");
		fdr_set(o, "subject", dep);
		fdr_set(p, "deploymentId", dep);
		fdr_set(p, "status", (a >> 4) & 1 ? "failed" : "passed");
		break;
	case 5:
		fdr_set(o, "type", "DeploymentOverride");
		fdr_set(o, "subject", dep);
		fdr_set(p, "deploymentId", dep);
		fdr_set(p, "state", fdr_state[(a >> 4) % 13]);
		fdr_set(p, "reason", "operator says so");
		fdr_set(p, "actor", "fuzz");
		break;
	case 6: case 7:
		fdr_set(o, "type", a % 14 == 6 ? "IncidentOpened" :
		    "IncidentResolved");
		snprintf(v, sizeof(v), "PD-%u", (unsigned)(b & 3));
		fdr_set(o, "subject", v);
		fdr_set(p, "incidentId", v);
		fdr_set(p, "service", svc);
		fdr_set(p, "severity", (a >> 4) & 1 ? "critical" : "low");
		fdr_set(p, "title", "Checkout errors");
		break;
	case 8: case 9:
		fdr_set(o, "type", "CommitPushed");
		fdr_set(o, "subject", rev);
		fdr_set(p, "sha", rev);
		fdr_set(p, "ref", "refs/heads/main");
		fdr_set(p, "message", (a >> 4) & 1 ? "SHOP-7: pay" : "fix");
		arr = json_object_new_array();
		if ((a >> 5) & 1)
			json_object_array_add(arr, json_object_new_string(
			    (a >> 6) & 1 ? "M-2" : "M-1"));
		json_object_object_add(p, "milestones", arr);
		if ((a >> 7) & 1) {
			arr = json_object_new_array();
			json_object_array_add(arr, json_object_new_string(
			    fdr_rev[(b >> 3) & 3 ? ((b >> 3) & 3) - 1 : 3]));
			json_object_object_add(p, "parents", arr);
		}
		fdr_set(l, "repo", "acme/shop");
		fdr_set(l, "branch", "main");
		break;
	case 10: case 11:
		snprintf(v, sizeof(v), "b%u", (unsigned)(b & 7));
		fdr_set(o, "subject", v);
		if (a % 14 == 10) {
			fdr_set(o, "type", "BuildStartedEvent");
			fdr_set(p, "buildId", v);
		} else {
			fdr_set(o, "type", "BuildCompleted");
			fdr_set(p, "buildStatus", (a >> 4) & 1 ? "failure" :
			    "success");
			snprintf(v, sizeof(v), "%us", 100u * ((a >> 4) & 15));
			fdr_set(p, "duration", v);
		}
		break;
	case 12:
		fdr_set(o, "type", "DeploymentStalled");
		fdr_set(o, "subject", dep);
		fdr_set(p, "deploymentId", dep);
		fdr_set(p, "state", fdr_state[(a >> 4) % 3]);
		fdr_set(p, "since", ts);
		break;
	default:
		fdr_set(o, "type", "MilestoneClock");
		fdr_set(o, "subject", "clock");
		fdr_set(p, "at", (a >> 4) & 1 ? "due" : "day");
		break;
	}
	json_object_object_add(o, "properties", p);
	json_object_object_add(o, "links", l);
	return (o);
}

struct fdr_walk {
	struct ledger	*l;
	enum dstate	 prev;
	const char	*id;
};

/* The type of the evidence a revision's basis names last. */
static char *
fdr_cause(struct ledger *l, const struct claim *c)
{
	struct evidence	*ev = NULL;
	json_object	*b, *last, *seq;
	char		*type = NULL;
	size_t		 n;

	if ((b = json_tokener_parse(c->basis)) == NULL)
		fuzz_fail("Deployment %s revision %lld: basis is not JSON: %s",
		    c->id, (long long)c->revision, c->basis);
	n = json_object_array_length(b);
	last = n > 0 ? json_object_array_get_idx(b, n - 1) : NULL;
	if (last != NULL && json_object_object_get_ex(last, "seq", &seq) &&
	    ledger_get(l, json_object_get_int64(seq), &ev) == 1) {
		type = xstrdup(ev->type);
		evidence_free(ev);
	}
	json_object_put(b);
	return (type);
}

static int
fdr_revision(const struct claim *c, void *arg)
{
	struct fdr_walk	*w = arg;
	json_object	*p, *s;
	enum dstate	 to;
	char		*cause;

	if ((p = json_tokener_parse(c->properties)) == NULL ||
	    !json_object_object_get_ex(p, "state", &s) ||
	    deploy_state_parse(json_object_get_string(s), &to) == -1)
		fuzz_fail("Deployment %s revision %lld: no valid state: %s",
		    c->id, (long long)c->revision, c->properties);
	json_object_put(p);
	cause = fdr_cause(w->l, c);
	/* A revision in the same state records something else (incidents). */
	if (w->prev != to &&
	    (cause == NULL || strcmp(cause, "DeploymentOverride") != 0) &&
	    !deploy_transition_ok(w->prev, to))
		fuzz_fail("Deployment %s revision %lld: %s -> %s (by %s) is "
		    "a transition the table forbids", c->id,
		    (long long)c->revision, w->prev == DS_NONE ? "(new)" :
		    deploy_state_name(w->prev), deploy_state_name(to),
		    cause ? cause : "?");
	free(cause);
	w->prev = to;
	return (0);
}

static int
fdr_deployment(const struct claim *c, void *arg)
{
	struct fdr_walk	w = { arg, DS_NONE, c->id };

	if (ledger_claim_history(w.l, "Deployment", c->id, INT64_MAX,
	    fdr_revision, &w) == -1)
		fuzz_fail("claim_history %s: %s", c->id, ledger_error(w.l));
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger		*l, *ro;
	struct derive		*d;
	struct outbox		*ob;
	struct evidence		*ev;
	struct claims_rebuild	 r;
	json_object		*o;
	enum ev_error		 er;
	char			 err[MP_ERRLEN], prop[128], url[160];
	int64_t			 t = FUZZ_NOW, txn = FUZZ_NOW;
	size_t			 i, n;
	int			 rc, open_txn = 0;

	if (size < 2)
		return (0);
	fdr_unlink();
	snprintf(url, sizeof(url), "sqlite:%s", dpath);
	if ((l = ledger_open(url, 0, err, sizeof(err))) == NULL)
		fuzz_fail("ledger_open: %s", err);
	if ((ob = outbox_new(NULL, 0, NULL, 0, l, NULL, NULL, err,
	    sizeof(err))) == NULL)
		fuzz_fail("outbox_new: %s", err);
	ledger_on_claim(l, outbox_on_claim, ob);
	d = derive_new(dcf->rules, dcf->milestones);
	n = size / 2 > FDR_MAXOPS ? FDR_MAXOPS : size / 2;
	for (i = 0; i < n; i++) {
		if (!open_txn) {
			if (ledger_begin(l) == -1)
				fuzz_fail("begin: %s", ledger_error(l));
			open_txn = 1;
			txn += 1000000;
		}
		/* Time moves forward mostly, sometimes back (late evidence). */
		t += (data[2 * i + 1] & 0x80) ? -3600 : 600 * (data[2 * i] & 7);
		o = fdr_evidence((unsigned)i, data[2 * i], data[2 * i + 1], t);
		ev = NULL;
		er = evidence_from_json(o, dcf->types, "agent", NULL,
		    t * 1000000, &ev, err, sizeof(err), prop, sizeof(prop));
		json_object_put(o);
		if (er != EV_OK)
			fuzz_fail("evidence %zu refused: %s (%s)", i, err, prop);
		ev->recorded_at = txn;
		if ((rc = ledger_append(l, ev)) == -1)
			fuzz_fail("append: %s", ledger_error(l));
		if (rc == 0 && derive_apply(d, l, ev) == -1)
			fuzz_fail("derive_apply %s: %s", ev->type,
			    ledger_error(l));
		evidence_free(ev);
		if ((data[2 * i] & 0x80) || i + 1 == n) {
			if (derive_flush(d, l, txn) == -1)
				fuzz_fail("derive_flush: %s", ledger_error(l));
			if (ledger_commit(l) == -1)
				fuzz_fail("commit: %s", ledger_error(l));
			open_txn = 0;
		}
	}
	derive_free(d);
	if ((ro = ledger_open(url, LEDGER_RDONLY, err, sizeof(err))) == NULL)
		fuzz_fail("ledger_open (read-only): %s", err);
	if (ledger_claim_list(ro, "Deployment", NULL, 0, INT64_MAX,
	    fdr_deployment, ro) == -1)
		fuzz_fail("claim_list: %s", ledger_error(ro));
	if ((rc = derive_rebuild(ro, dcf->rules, dcf->milestones, &r)) != 0)
		fuzz_fail("claims rebuild over %lld evidence: %s (%d)",
		    (long long)r.evidence, r.diff, rc);
	ledger_close(ro);
	outbox_free(ob);
	ledger_close(l);
	fdr_unlink();
	return (0);
}
