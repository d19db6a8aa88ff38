/*
 * dora.c: delivery metrics computed on read from the ledger (a
 * read-only handle): the DORA four keys with a weekly trend, deployment
 * state metrics (time in each state, MTTSR) from Deployment claim
 * revisions, and incident metrics (MTTR, MTTA, MTTD).  Every read is
 * bounded (DORA_LIMIT items per evidence type); when a bound is hit the
 * answer says "truncated": true.
 *
 * The four keys, as FORMATS.md recommends:
 *  - a deploy is a DeploymentSucceeded in the period, one per
 *    deploymentId (the earliest); failed deploys (DeploymentFailed) are
 *    never deploys, and neither is a rollback (reason "rollback"), which
 *    instead marks the previous deploy of its service and environment as
 *    failed.  A deploy without a revision still counts.
 *  - deployment frequency = deploys / days of the period;
 *  - lead time = median over deploys of deploy time - commit time, the
 *    commit being the CommitPushed of the deployed revision (authorTime,
 *    else the push's time); deploys whose commit is unknown are counted
 *    apart (missing_commit), not dropped from the frequency;
 *  - change failure rate = deploys linked to an incident or a rollback /
 *    deploys.  An incident links to a deploy by its deployment or commit
 *    link, or else (same service, environment if both name one) by being
 *    opened between that deploy and the service's next one.  Incidents
 *    count once per incidentId, however many updates were sent;
 *  - time to restore = median over incidents opened in the period of
 *    resolved - opened (first IncidentOpened, first IncidentResolved).
 * Medians of an even count are the mean of the two middle values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/access.h"

#define DORA_LIMIT	20000
#define DORA_WEEK	(7LL * 86400 * 1000000)
#define DORA_DAY	(86400LL * 1000000)
#define DORA_DETECT	(86400LL * 1000000)	/* alerts this long before */

struct dora_item {
	char		*id;		/* deploymentId or incidentId */
	char		*service;
	char		*environment;
	char		*revision;
	char		*deployment;	/* incident's deployment link */
	char		*commit;	/* incident's commit link */
	int64_t		 time;
	int64_t		 end;		/* resolved, 0 if not */
	int64_t		 ack;		/* acknowledged, 0 if not */
	int64_t		 commit_time;	/* deploys: 0 if unknown */
	int		 rollback;
	int		 failed;
};

struct dora_set {
	struct dora_item *v;
	size_t		  n;
	int		  truncated;
	const struct dora_query *q;
	int		  kind;		/* DK_* */
};
enum { DK_DEPLOY = 0, DK_INCIDENT, DK_RESOLVED, DK_ACK, DK_ALERT };

static const char *
dora_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

static char *
dora_dup(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

static void
dora_set_free(struct dora_set *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].id);
		free(s->v[i].service);
		free(s->v[i].environment);
		free(s->v[i].revision);
		free(s->v[i].deployment);
		free(s->v[i].commit);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static struct dora_item *
dora_find(struct dora_set *s, const char *id)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].id, id) == 0)
			return (&s->v[i]);
	return (NULL);
}

/* Does an item's service/environment pass the query's filters? */
static int
dora_match(const struct dora_query *q, const char *svc, const char *env,
    int env_required)
{
	if (q->service != NULL && (svc == NULL || strcmp(q->service, svc) !=
	    0))
		return (0);
	if (q->environment != NULL) {
		if (env == NULL)
			return (!env_required);
		return (strcmp(q->environment, env) == 0);
	}
	return (1);
}

static int
dora_collect_one(const char *key, int64_t t, const char *subject,
    const char *props, const char *links, void *arg)
{
	struct dora_set		*s = arg;
	struct dora_item	*it;
	json_object		*p, *l;
	const char		*id, *svc, *env, *reason;

	if (s->n >= DORA_LIMIT) {
		s->truncated = 1;
		return (-1);
	}
	p = json_tokener_parse(props);
	l = json_tokener_parse(links);
	if ((svc = dora_str(p, "service")) == NULL)
		svc = dora_str(l, "service");
	if ((env = dora_str(p, "environment")) == NULL)
		env = dora_str(l, "environment");
	id = dora_str(p, s->kind == DK_DEPLOY ? "deploymentId" :
	    s->kind == DK_ALERT ? "fingerprint" : "incidentId");
	if (id == NULL)
		id = subject;
	if (s->kind == DK_RESOLVED || s->kind == DK_ACK) {
		/* Matched to incidents by id later; no filter here. */
	} else if (!dora_match(s->q, svc, env, s->kind == DK_DEPLOY))
		goto out;
	if ((it = dora_find(s, id)) != NULL) {
		/* Rows come newest first: keep the earliest. */
		if (t <= it->time)
			it->time = t;
		goto out;
	}
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	it = &s->v[s->n++];
	memset(it, 0, sizeof(*it));
	it->id = xstrdup(id);
	it->service = dora_dup(svc);
	it->environment = dora_dup(env);
	it->revision = dora_dup(dora_str(p, "revision"));
	it->deployment = dora_dup(dora_str(l, "deployment"));
	it->commit = dora_dup(dora_str(l, "commit"));
	it->time = t;
	if (s->kind == DK_ALERT && (reason = dora_str(p, "startsAt")) !=
	    NULL)
		tf_parse(reason, &it->time);
	if (s->kind == DK_DEPLOY && (reason = dora_str(p, "reason")) != NULL &&
	    strcmp(reason, "rollback") == 0)
		it->rollback = 1;
out:
	json_object_put(p);
	json_object_put(l);
	(void)key;
	return (0);
}

static int
dora_collect(struct ledger *l, const char *type, int kind,
    const struct dora_query *q, int64_t from, int64_t to, struct dora_set *s)
{
	s->q = q;
	s->kind = kind;
	return (ledger_collect(l, type, 0, from, to, INT64_MAX, DORA_LIMIT + 1,
	    dora_collect_one, s));
}

static int
dora_cmp_time(const void *a, const void *b)
{
	const struct dora_item	*x = a, *y = b;

	if (x->time != y->time)
		return (x->time < y->time ? -1 : 1);
	return (strcmp(x->id, y->id));
}

static int
dora_cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* The median of v[0..n) (sorted in place); NAN when n is 0. */
double
dora_median(double *v, size_t n)
{
	if (n == 0)
		return (NAN);
	qsort(v, n, sizeof(*v), dora_cmp_double);
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

/* v as JSON, rounded for people (util/number.c); NULL for NaN. */
static json_object *
dora_num(double v, enum num_kind kind)
{
	return (num_json(v, kind));
}

static int
dora_commit_one(const struct evidence *ev, void *arg)
{
	int64_t		*t = arg;
	json_object	*p;
	const char	*a;

	*t = ev->time;
	if ((p = json_tokener_parse(ev->properties)) != NULL) {
		if ((a = dora_str(p, "authorTime")) != NULL)
			tf_parse(a, t);
		json_object_put(p);
	}
	return (-1);
}

static int
dora_same(const char *a, const char *b)
{
	return (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Mark deploys failed: rollbacks fail the previous deploy of their
 * service and environment; incidents fail the deploy they link to, or the
 * latest deploy of their service before them.  deploys is sorted by time.
 */
static void
dora_failures(struct dora_set *deploys, struct dora_set *inc)
{
	struct dora_item	*d, *best;
	size_t			 i, j;

	for (i = 0; i < deploys->n; i++) {
		if (!deploys->v[i].rollback)
			continue;
		for (j = i; j-- > 0;) {
			d = &deploys->v[j];
			if (!d->rollback && dora_same(d->service,
			    deploys->v[i].service) && ((d->environment ==
			    NULL && deploys->v[i].environment == NULL) ||
			    dora_same(d->environment,
			    deploys->v[i].environment))) {
				d->failed = 1;
				break;
			}
		}
	}
	for (i = 0; i < inc->n; i++) {
		best = NULL;
		for (j = 0; j < deploys->n; j++) {
			d = &deploys->v[j];
			if (d->rollback)
				continue;
			if (dora_same(inc->v[i].deployment, d->id) ||
			    (inc->v[i].commit != NULL && d->revision != NULL &&
			    ident_sha_eq(inc->v[i].commit, d->revision))) {
				best = d;
				break;
			}
		}
		if (best == NULL && inc->v[i].deployment == NULL &&
		    inc->v[i].commit == NULL) {
			for (j = 0; j < deploys->n; j++) {
				d = &deploys->v[j];
				if (d->rollback || d->time > inc->v[i].time ||
				    !dora_same(d->service, inc->v[i].service) ||
				    (inc->v[i].environment != NULL &&
				    d->environment != NULL && strcmp(
				    inc->v[i].environment, d->environment) !=
				    0))
					continue;
				best = d;	/* the latest before it */
			}
		}
		if (best != NULL)
			best->failed = 1;
	}
}

/* The four keys over [from, to) into a new object. */
static json_object *
dora_keys(struct dora_set *deploys, struct dora_set *inc, int64_t from,
    int64_t to)
{
	json_object	*o, *k;
	double		*lead, *restore, days;
	size_t		 i, n = 0, nlead = 0, missing = 0, failed = 0;
	size_t		 ninc = 0, nres = 0, unresolved = 0;
	char		 t[MP_TIMELEN];

	lead = xcalloc(deploys->n + 1, sizeof(*lead));
	restore = xcalloc(inc->n + 1, sizeof(*restore));
	for (i = 0; i < deploys->n; i++) {
		struct dora_item *d = &deploys->v[i];

		if (d->rollback || d->time < from || d->time >= to)
			continue;
		n++;
		if (d->failed)
			failed++;
		if (d->commit_time != 0 && d->commit_time <= d->time)
			lead[nlead++] = (double)(d->time - d->commit_time) /
			    1e6;
		else
			missing++;
	}
	for (i = 0; i < inc->n; i++) {
		if (inc->v[i].time < from || inc->v[i].time >= to)
			continue;
		ninc++;
		if (inc->v[i].end >= inc->v[i].time && inc->v[i].end != 0)
			restore[nres++] = (double)(inc->v[i].end -
			    inc->v[i].time) / 1e6;
		else
			unresolved++;
	}
	days = (double)(to - from) / 86400e6;
	o = json_object_new_object();
	tf_format(from, t);
	json_object_object_add(o, "from", json_object_new_string(t));
	tf_format(to, t);
	json_object_object_add(o, "to", json_object_new_string(t));

	k = json_object_new_object();
	json_object_object_add(k, "deploys", json_object_new_int64((int64_t)n));
	json_object_object_add(k, "days", dora_num(days, NUM_RATE));
	json_object_object_add(k, "per_day", dora_num(days > 0 ? (double)n /
	    days : NAN, NUM_RATE));
	json_object_object_add(k, "per_week", dora_num(days > 0 ? (double)n *
	    7 / days : NAN, NUM_RATE));
	json_object_object_add(o, "deployment_frequency", k);

	k = json_object_new_object();
	json_object_object_add(k, "median_seconds", dora_num(dora_median(lead,
	    nlead), NUM_SECONDS));
	json_object_object_add(k, "samples", json_object_new_int64(
	    (int64_t)nlead));
	json_object_object_add(k, "missing_commit", json_object_new_int64(
	    (int64_t)missing));
	json_object_object_add(o, "lead_time", k);

	k = json_object_new_object();
	json_object_object_add(k, "failed", json_object_new_int64(
	    (int64_t)failed));
	json_object_object_add(k, "deploys", json_object_new_int64((int64_t)n));
	json_object_object_add(k, "percent", dora_num(n ? 100.0 *
	    (double)failed / (double)n : NAN, NUM_PERCENT));
	json_object_object_add(o, "change_failure_rate", k);

	k = json_object_new_object();
	json_object_object_add(k, "median_seconds", dora_num(dora_median(
	    restore, nres), NUM_SECONDS));
	json_object_object_add(k, "incidents", json_object_new_int64(
	    (int64_t)ninc));
	json_object_object_add(k, "unresolved", json_object_new_int64(
	    (int64_t)unresolved));
	json_object_object_add(o, "time_to_restore", k);
	free(lead);
	free(restore);
	return (o);
}

/* Load incidents opened in [from, to) with their first resolution/ack. */
static int
dora_incidents_load(struct ledger *l, const struct dora_query *q,
    int64_t from, int64_t to, struct dora_set *inc, int *truncated)
{
	struct dora_set	 res, ack;
	struct dora_item *it;
	size_t		 i;
	int		 rc = -1;

	memset(&res, 0, sizeof(res));
	memset(&ack, 0, sizeof(ack));
	if (dora_collect(l, "IncidentOpened", DK_INCIDENT, q, from, to,
	    inc) == -1 || dora_collect(l, "IncidentResolved", DK_RESOLVED, q,
	    from, INT64_MAX, &res) == -1 || dora_collect(l,
	    "IncidentAcknowledged", DK_ACK, q, from, INT64_MAX, &ack) == -1)
		goto out;
	for (i = 0; i < res.n; i++)
		if ((it = dora_find(inc, res.v[i].id)) != NULL &&
		    res.v[i].time >= it->time)
			it->end = res.v[i].time;
	for (i = 0; i < ack.n; i++)
		if ((it = dora_find(inc, ack.v[i].id)) != NULL &&
		    ack.v[i].time >= it->time)
			it->ack = ack.v[i].time;
	*truncated |= inc->truncated | res.truncated | ack.truncated;
	rc = 0;
out:
	dora_set_free(&res);
	dora_set_free(&ack);
	return (rc);
}

static void
dora_head(json_object *o, const struct dora_query *q)
{
	char	t[MP_TIMELEN];

	json_object_object_add(o, "service", q->service ?
	    json_object_new_string(q->service) : NULL);
	json_object_object_add(o, "environment", q->environment ?
	    json_object_new_string(q->environment) : NULL);
	tf_format(q->from, t);
	json_object_object_add(o, "from", json_object_new_string(t));
	tf_format(q->to, t);
	json_object_object_add(o, "to", json_object_new_string(t));
}

/* Monday 00:00 UTC of t's ISO week. */
int64_t
dora_week_start(int64_t t)
{
	int64_t	day = t >= 0 ? t / DORA_DAY : (t - DORA_DAY + 1) / DORA_DAY;

	/* 1970-01-01 was a Thursday: day 0 is weekday 3 (Monday 0). */
	return ((day - (((day + 3) % 7) + 7) % 7) * DORA_DAY);
}

/*
 * GET /v1/metrics/dora: the four keys over [q->from, q->to), and with
 * q->weekly one entry per ISO week overlapping it.  Returns a new object,
 * or NULL on a storage error.
 */
json_object *
dora_compute(struct ledger *l, const struct dora_query *q)
{
	struct dora_set	 deploys, inc;
	json_object	*o, *k, *weeks;
	int64_t		 ws, a, b;
	size_t		 i;
	int		 truncated = 0;
	char		 name[32];
	time_t		 tt;
	struct tm	 tm;

	memset(&deploys, 0, sizeof(deploys));
	memset(&inc, 0, sizeof(inc));
	o = NULL;
	if (dora_collect(l, "DeploymentSucceeded", DK_DEPLOY, q, q->from,
	    q->to, &deploys) == -1)
		goto out;
	/* Incidents from the period on: a later one still fails a deploy. */
	if (dora_incidents_load(l, q, q->from, INT64_MAX, &inc,
	    &truncated) == -1)
		goto out;
	truncated |= deploys.truncated;
	qsort(deploys.v, deploys.n, sizeof(*deploys.v), dora_cmp_time);
	qsort(inc.v, inc.n, sizeof(*inc.v), dora_cmp_time);
	for (i = 0; i < deploys.n; i++) {
		if (deploys.v[i].revision == NULL ||
		    deploys.v[i].revision[0] == '\0')
			continue;
		if (ledger_subject_find(l, "CommitPushed",
		    deploys.v[i].revision, 0, 1, dora_commit_one,
		    &deploys.v[i].commit_time) == -1)
			goto out;
	}
	dora_failures(&deploys, &inc);
	o = dora_keys(&deploys, &inc, q->from, q->to);
	dora_head(o, q);
	if (q->weekly) {
		weeks = json_object_new_array();
		for (ws = dora_week_start(q->from); ws < q->to;
		    ws += DORA_WEEK) {
			a = ws < q->from ? q->from : ws;
			b = ws + DORA_WEEK > q->to ? q->to : ws + DORA_WEEK;
			k = dora_keys(&deploys, &inc, a, b);
			tt = (time_t)(ws / 1000000 + 3 * 86400);  /* Thursday */
			gmtime_r(&tt, &tm);
			strftime(name, sizeof(name), "%G-W%V", &tm);
			json_object_object_add(k, "week",
			    json_object_new_string(name));
			json_object_array_add(weeks, k);
		}
		json_object_object_add(o, "weeks", weeks);
	}
	json_object_object_add(o, "truncated", json_object_new_boolean(
	    truncated));
out:
	dora_set_free(&deploys);
	dora_set_free(&inc);
	return (o);
}

/*
 * GET /v1/metrics/incidents: incidents opened in the period, MTTR
 * (resolved - opened), MTTA (acknowledged - opened) and MTTD (opened -
 * the start of the earliest AlertFiring of the same service in the day
 * before it), each as mean and median seconds.
 */
json_object *
dora_incidents(struct ledger *l, const struct dora_query *q)
{
	struct dora_set	 inc, alerts;
	json_object	*o, *k;
	double		*r, *a, *d, sum[3] = { 0, 0, 0 };
	size_t		 i, j, n[3] = { 0, 0, 0 };
	int64_t		 start;
	int		 truncated = 0;
	const char	*names[3] = { "mttr", "mtta", "mttd" };

	memset(&inc, 0, sizeof(inc));
	memset(&alerts, 0, sizeof(alerts));
	if (dora_incidents_load(l, q, q->from, q->to, &inc, &truncated) ==
	    -1 || dora_collect(l, "AlertFiring", DK_ALERT, q, q->from -
	    DORA_DETECT, q->to, &alerts) == -1) {
		dora_set_free(&inc);
		dora_set_free(&alerts);
		return (NULL);
	}
	truncated |= alerts.truncated;
	r = xcalloc(inc.n + 1, sizeof(*r));
	a = xcalloc(inc.n + 1, sizeof(*a));
	d = xcalloc(inc.n + 1, sizeof(*d));
	for (i = 0; i < inc.n; i++) {
		if (inc.v[i].end != 0) {
			r[n[0]] = (double)(inc.v[i].end - inc.v[i].time) / 1e6;
			sum[0] += r[n[0]++];
		}
		if (inc.v[i].ack != 0) {
			a[n[1]] = (double)(inc.v[i].ack - inc.v[i].time) / 1e6;
			sum[1] += a[n[1]++];
		}
		start = 0;
		for (j = 0; j < alerts.n; j++)
			if (dora_same(alerts.v[j].service, inc.v[i].service) &&
			    alerts.v[j].time <= inc.v[i].time &&
			    alerts.v[j].time >= inc.v[i].time - DORA_DETECT &&
			    (start == 0 || alerts.v[j].time < start))
				start = alerts.v[j].time;
		if (start != 0) {
			d[n[2]] = (double)(inc.v[i].time - start) / 1e6;
			sum[2] += d[n[2]++];
		}
	}
	o = json_object_new_object();
	dora_head(o, q);
	json_object_object_add(o, "incidents", json_object_new_int64(
	    (int64_t)inc.n));
	for (i = 0; i < 3; i++) {
		double *v = i == 0 ? r : i == 1 ? a : d;

		k = json_object_new_object();
		json_object_object_add(k, "samples", json_object_new_int64(
		    (int64_t)n[i]));
		json_object_object_add(k, "mean_seconds", dora_num(n[i] ?
		    sum[i] / (double)n[i] : NAN, NUM_SECONDS));
		json_object_object_add(k, "median_seconds", dora_num(
		    dora_median(v, n[i]), NUM_SECONDS));
		json_object_object_add(o, names[i], k);
	}
	json_object_object_add(o, "truncated", json_object_new_boolean(
	    truncated));
	free(r);
	free(a);
	free(d);
	dora_set_free(&inc);
	dora_set_free(&alerts);
	return (o);
}

/* Deployment claim revisions, grouped by claim (they come in id order). */
struct dora_deps {
	const struct dora_query *q;
	json_object	*in_state;	/* state -> seconds */
	double		*mttsr[2];	/* failed, stalled */
	size_t		 n[2], cap[2];
	size_t		 deployments, revisions;
	char		*cur;		/* the claim being walked */
	int		 skip;		/* it fails the filters */
	char		 state[32];
	int64_t		 since;
	int64_t		 bad_since[2];	/* entered failed/stalled, 0 */
	int		 truncated;
};

static int
dora_resolved_state(const char *s)
{
	return (strcmp(s, "deployed") == 0 || strcmp(s, "verified") == 0 ||
	    strcmp(s, "reverted") == 0 || strcmp(s, "recovered") == 0);
}

static void
dora_mttsr_add(struct dora_deps *w, int k, double v)
{
	if (w->n[k] == w->cap[k]) {
		w->cap[k] = w->cap[k] ? w->cap[k] * 2 : 16;
		w->mttsr[k] = xreallocarray(w->mttsr[k], w->cap[k],
		    sizeof(double));
	}
	w->mttsr[k][w->n[k]++] = v;
}

static int
dora_dep_one(const struct claim *c, void *arg)
{
	struct dora_deps	*w = arg;
	json_object		*p, *v;
	const char		*st, *s;
	int64_t			 since;
	double			 prev;
	int			 k;

	w->revisions++;
	if (w->revisions > DORA_LIMIT) {
		w->truncated = 1;
		return (-1);
	}
	p = json_tokener_parse(c->properties);
	if (w->cur == NULL || strcmp(w->cur, c->id) != 0) {
		free(w->cur);
		w->cur = xstrdup(c->id);
		w->state[0] = '\0';
		w->bad_since[0] = w->bad_since[1] = 0;
		w->skip = !dora_match(w->q, dora_str(p, "service"),
		    dora_str(p, "environment"), 1);
		if (!w->skip)
			w->deployments++;
	}
	if (w->skip || (st = dora_str(p, "state")) == NULL) {
		json_object_put(p);
		return (0);
	}
	since = c->time;
	if ((s = dora_str(p, "since")) != NULL)
		tf_parse(s, &since);
	if (w->state[0] != '\0' && strcmp(w->state, st) != 0 &&
	    since >= w->since) {
		prev = 0;
		if (json_object_object_get_ex(w->in_state, w->state, &v))
			prev = json_object_get_double(v);
		json_object_object_add(w->in_state, w->state,
		    json_object_new_double(prev + (double)(since - w->since) /
		    1e6));
	}
	if (w->state[0] == '\0' || strcmp(w->state, st) != 0) {
		for (k = 0; k < 2; k++) {
			if (w->bad_since[k] != 0 && dora_resolved_state(st)) {
				dora_mttsr_add(w, k, (double)(since -
				    w->bad_since[k]) / 1e6);
				w->bad_since[k] = 0;
			}
		}
		if (strcmp(st, "failed") == 0 && w->bad_since[0] == 0)
			w->bad_since[0] = since;
		if (strcmp(st, "stalled") == 0 && w->bad_since[1] == 0)
			w->bad_since[1] = since;
		strlcpy(w->state, st, sizeof(w->state));
		w->since = since;
	}
	json_object_put(p);
	return (0);
}

/*
 * GET /v1/metrics/deployments: over the Deployment claims created in the
 * period, the seconds spent in each state (closed intervals: a state
 * still current is not counted) and MTTSR: from entering failed or
 * stalled to the first later state among deployed, verified, reverted and
 * recovered.
 */
json_object *
dora_deployments(struct ledger *l, const struct dora_query *q)
{
	struct dora_deps	 w;
	json_object		*o, *k, *r;
	const char		*names[2] = { "failed", "stalled" };
	double			 sum;
	size_t			 i, j;

	memset(&w, 0, sizeof(w));
	w.q = q;
	w.in_state = json_object_new_object();
	if (ledger_claim_scan(l, "Deployment", 1, q->from, q->to,
	    DORA_LIMIT + 1, dora_dep_one, &w) == -1 && !w.truncated) {
		json_object_put(w.in_state);
		free(w.cur);
		free(w.mttsr[0]);
		free(w.mttsr[1]);
		return (NULL);
	}
	o = json_object_new_object();
	dora_head(o, q);
	json_object_object_add(o, "deployments", json_object_new_int64(
	    (int64_t)w.deployments));
	/* Seconds, as numbers, to the millisecond. */
	k = json_object_new_object();
	json_object_object_foreach(w.in_state, st, v)
		json_object_object_add(k, st, dora_num(
		    json_object_get_double(v), NUM_SECONDS));
	json_object_object_add(o, "seconds_in_state", k);
	r = json_object_new_object();
	for (i = 0; i < 2; i++) {
		k = json_object_new_object();
		sum = 0;
		for (j = 0; j < w.n[i]; j++)
			sum += w.mttsr[i][j];
		json_object_object_add(k, "resolved", json_object_new_int64(
		    (int64_t)w.n[i]));
		json_object_object_add(k, "mean_seconds", dora_num(w.n[i] ?
		    sum / (double)w.n[i] : NAN, NUM_SECONDS));
		json_object_object_add(k, "median_seconds", dora_num(
		    dora_median(w.mttsr[i], w.n[i]), NUM_SECONDS));
		json_object_object_add(r, names[i], k);
	}
	json_object_object_add(o, "mttsr", r);
	json_object_object_add(o, "truncated", json_object_new_boolean(
	    w.truncated));
	json_object_put(w.in_state);
	free(w.cur);
	free(w.mttsr[0]);
	free(w.mttsr[1]);
	return (o);
}
