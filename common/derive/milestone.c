/*
 * milestone.c: Milestone claims, derived in the writer's transaction.
 *
 * A milestone's whole state is its claim's properties: the checkpoints in
 * scope (commits and issue keys, each verified or not, and by what), the
 * negative deltas (incidents, rollbacks), the cardinality rejections and
 * the verified deployments that mapped to it.  So every change is a claim
 * revision (ledger_claim_put: bitemporal, with basis, ETag and outbox),
 * and nothing else is stored.
 *
 * Per batch: milestone_apply sees each new evidence (CommitPushed maps
 * commits to checkpoints; IncidentOpened/Resolved open and close deltas);
 * milestone_flush then reads the Deployment claim revisions written in
 * the same transaction (they share its recorded_at): a revision entering
 * "verified" in a milestone's target environment verifies the
 * checkpoints its revision contains, one entering rolling_back, reverted
 * or rollback_failed opens a rollback delta.  Each touched milestone is
 * re-evaluated (milestone_evaluate) at the batch's event time, and a
 * revision is written when its properties changed.
 *
 * A revision R "contains" a commit C when C is R (an abbreviated SHA
 * matches); when C is an ancestor of R through the `parents` that
 * CommitPushed evidence lists (the git hook sends them: a commit merged
 * from another branch is contained in the merge; ms_ancestors); or when C
 * was pushed to the same repository and branch no later than R was
 * (ledger order), which takes branch history as linear where no parents
 * are known (GitHub and GitLab push payloads do not carry them).  A
 * deployment whose revision was never pushed (no CommitPushed) contains
 * only itself.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive/derive.h"

#define MS_BASIS_MAX		32
#define MS_DEPLOYMENTS_MAX	200
#define MS_REJECTIONS_MAX	50
#define MS_DELTAS_MAX		200
#define MS_DAY			(86400LL * 1000000)
#define MS_TRUST_AHEAD		MS_DAY	/* limits.max_future_skew's most */
#define MS_ANCESTORS_MAX	10000	/* commits walked per deployment */
#define MS_BATCH_SLACK		1000	/* a push's batch, in any order */

struct ms_state {
	json_object	*props;		/* owned */
	char		*stored;	/* canonical JSON of the last revision */
	int64_t		 revision;
	int64_t		 anchor;
	int64_t		 time;		/* event time last evaluated at */
	int		 loaded;
	int		 dirty;
	struct basis	 basis;		/* at most MS_BASIS_MAX */
};

struct milestones {
	const struct milestone_conf *mc;
	struct ms_state	*st;
	unsigned	*via;		/* scratch, one per milestone */
	int64_t		 now;		/* watermark: latest event time */
	int64_t		 committed_now;
	char		*last_id;	/* the batch's last evidence */
	int64_t		 last_seq;
};

/* A revision being delivered: its SHA and where it was pushed. */
struct ms_rev {
	char		 sha[128];
	char		 repo[256];
	char		 branch[256];
	int64_t		 seq;		/* its CommitPushed, 0 if none */
	json_object	*parents;	/* its CommitPushed's, or NULL */
	char		**anc;		/* known ancestors, sorted */
	size_t		 nanc;
};

struct milestones *
milestone_new(const struct milestone_conf *mc)
{
	struct milestones	*ms;
	size_t			 i;

	ms = xcalloc(1, sizeof(*ms));
	ms->mc = mc;
	ms->st = xcalloc(mc->nms ? mc->nms : 1, sizeof(*ms->st));
	ms->via = xcalloc(mc->nms ? mc->nms : 1, sizeof(*ms->via));
	for (i = 0; i < mc->nms; i++)
		basis_init(&ms->st[i].basis, MS_BASIS_MAX);
	return (ms);
}

static void
ms_state_drop(struct ms_state *s)
{
	json_object_put(s->props);
	free(s->stored);
	basis_free(&s->basis);
	memset(s, 0, sizeof(*s));
	basis_init(&s->basis, MS_BASIS_MAX);
}

void
milestone_free(struct milestones *ms)
{
	size_t	i;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->mc->nms; i++)
		ms_state_drop(&ms->st[i]);
	free(ms->st);
	free(ms->via);
	free(ms->last_id);
	free(ms);
}

/* The batch rolled back: forget everything cached; reload from storage. */
void
milestone_abort(struct milestones *ms)
{
	size_t	i;

	for (i = 0; i < ms->mc->nms; i++)
		ms_state_drop(&ms->st[i]);
	ms->now = ms->committed_now;
}

/*
 * May event time t, recorded at transaction time rec, move the milestone
 * clock?  Only when it is at most MS_TRUST_AHEAD past rec: the largest
 * limits.max_future_skew allowed, so every time the receiver admits
 * counts whatever the setting, and a rebuild after the setting changed
 * gives the same answers (both times are stored).  Evidence stored before
 * that check (a commit dated 2099), and revisions evaluated at such a
 * time, are kept but move no clock, across restarts and rebuilds alike.
 */
static int
ms_trusted(int64_t t, int64_t rec)
{
	return (t <= rec + MS_TRUST_AHEAD);
}

static json_object *
ms_get(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return (NULL);
	return (v);
}

static const char *
ms_str(json_object *o, const char *key)
{
	json_object	*v = ms_get(o, key);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

static int
ms_bool(json_object *o, const char *key)
{
	json_object	*v = ms_get(o, key);

	return (v != NULL && json_object_get_boolean(v));
}

static void
ms_set_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

/* key := v when v is a non-empty string; otherwise no key at all. */
static void
ms_set_opt(json_object *o, const char *key, const char *v)
{
	if (v != NULL && *v != '\0')
		json_object_object_add(o, key, json_object_new_string(v));
	else
		json_object_object_del(o, key);
}

static void
ms_set_time(json_object *o, const char *key, int64_t t)
{
	char	buf[MP_TIMELEN];

	if (t == 0) {
		json_object_object_add(o, key, NULL);
		return;
	}
	tf_format(t, buf);
	json_object_object_add(o, key, json_object_new_string(buf));
}

/* Append o (taken) to the array arr, dropping the oldest beyond max. */
static void
ms_push(json_object *arr, json_object *o, size_t max)
{
	json_object_array_add(arr, o);
	while (json_object_array_length(arr) > max)
		json_object_array_del_idx(arr, 0, 1);
}

static json_object *
ms_checkpoint_new(const char *kind, const char *name)
{
	json_object	*c;
	char		*key;

	c = json_object_new_object();
	xasprintf(&key, "%s:%s", kind, name);
	ms_set_str(c, "key", key);
	free(key);
	ms_set_str(c, "kind", kind);
	ms_set_str(c, strcmp(kind, "issue") == 0 ? "issue" : "sha", name);
	json_object_object_add(c, "verified", json_object_new_boolean(0));
	if (strcmp(kind, "issue") == 0)
		json_object_object_add(c, "commits", json_object_new_array());
	return (c);
}

/*
 * The properties of a milestone before any evidence: its declared
 * checkpoints (issue keys and commits), none verified.
 */
json_object *
milestone_initial(const struct milestone_def *d)
{
	json_object	*p, *cps;
	size_t		 i;

	p = json_object_new_object();
	ms_set_opt(p, "title", d->title);
	ms_set_opt(p, "description", d->description);
	ms_set_str(p, "state", "on_track");
	json_object_object_add(p, "progress", json_object_new_double(0));
	json_object_object_add(p, "done", json_object_new_int(0));
	ms_set_time(p, "due", d->due);
	ms_set_str(p, "environment", d->environment);
	cps = json_object_new_array();
	for (i = 0; i < d->nissues; i++)
		json_object_array_add(cps, ms_checkpoint_new("issue",
		    d->issues[i]));
	for (i = 0; i < d->ncommits; i++)
		json_object_array_add(cps, ms_checkpoint_new("commit",
		    d->commits[i]));
	json_object_object_add(p, "total", json_object_new_int(
	    (int)json_object_array_length(cps)));
	json_object_object_add(p, "checkpoints", cps);
	json_object_object_add(p, "deltas", json_object_new_array());
	json_object_object_add(p, "rejections", json_object_new_array());
	json_object_object_add(p, "deployments", json_object_new_array());
	json_object_object_add(p, "cadence", json_object_new_double(0));
	json_object_object_add(p, "predicted", NULL);
	return (p);
}

/* Make sure milestone i's state is in memory.  Returns 0 or -1. */
static int
ms_load(struct milestones *ms, struct ledger *l, size_t i)
{
	struct ms_state	*s = &ms->st[i];
	struct claim	 c;
	int		 rc;

	if (s->loaded)
		return (0);
	memset(&c, 0, sizeof(c));
	rc = ledger_claim_get(l, "Milestone", ms->mc->ms[i].id, INT64_MAX,
	    &c);
	if (rc == -1)
		return (-1);
	if (rc == 1 && (s->props = json_tokener_parse(c.properties)) !=
	    NULL && json_object_is_type(s->props, json_type_object)) {
		s->stored = xstrdup(c.properties);
		s->revision = c.revision;
		s->anchor = c.anchor;
		s->time = c.time;
		/* A revision evaluated at a future time moves no clock. */
		if (ms_trusted(c.time, c.recorded_at) && c.time > ms->now)
			ms->now = c.time;
	} else {
		json_object_put(s->props);
		s->props = milestone_initial(&ms->mc->ms[i]);
	}
	claim_clear(&c);
	s->loaded = 1;
	return (0);
}

static void
ms_basis_add(struct ms_state *s, const char *json)
{
	s->dirty = 1;
	basis_add_json(&s->basis, json);
}

/* One basis entry's JSON object (taken), as the basis builder writes it. */
static char *
ms_basis_one(const struct evidence *ev, const struct claim *c)
{
	struct basis	bs;

	basis_init(&bs, 1);
	if (ev != NULL)
		basis_add_ev(&bs, ev->id, ev->seq);
	else
		basis_add_claim(&bs, c->type, c->id, c->revision);
	return (buf_steal(&bs.b));
}

static char *
ms_basis_ev(const struct evidence *ev)
{
	return (ms_basis_one(ev, NULL));
}

static char *
ms_basis_claim(const struct claim *c)
{
	return (ms_basis_one(NULL, c));
}

static json_object *
ms_find_key(json_object *arr, const char *field, const char *key)
{
	const char	*k;
	size_t		 i;

	for (i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
		k = ms_str(json_object_array_get_idx(arr, i), field);
		if (k != NULL && strcmp(k, key) == 0)
			return (json_object_array_get_idx(arr, i));
	}
	return (NULL);
}

/* Record a cardinality (or size) rejection with its reason and basis. */
static void
ms_reject(struct ms_state *s, const char *reason, const char *basis,
    int64_t t)
{
	json_object	*r, *b;

	r = json_object_new_object();
	ms_set_str(r, "reason", reason);
	ms_set_time(r, "time", t);
	b = json_tokener_parse(basis);
	json_object_object_add(r, "basis", json_object_new_array());
	if (b != NULL)
		json_object_array_add(ms_get(r, "basis"), b);
	ms_push(ms_get(s->props, "rejections"), r, MS_REJECTIONS_MAX);
	ms_basis_add(s, basis);
}

/* "M-1, M-2 and M-3" of the milestones with via set. */
static void
ms_names(struct milestones *ms, struct buf *b)
{
	size_t	i, n = 0;

	for (i = 0; i < ms->mc->nms; i++) {
		if (!ms->via[i])
			continue;
		if (n++ > 0)
			buf_adds(b, ", ");
		buf_adds(b, ms->mc->ms[i].id);
	}
}

static int
ms_anccmp(const void *a, const void *b)
{
	return (strcasecmp(*(char *const *)a, *(char *const *)b));
}

/* Is sha (abbreviated or not) one of r's known ancestors? */
static int
ms_ancestor(const struct ms_rev *r, const char *sha)
{
	size_t	lo = 0, hi = r->nanc, mid;

	while (lo < hi) {		/* the first one >= sha */
		mid = lo + (hi - lo) / 2;
		if (strcasecmp(r->anc[mid], sha) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < r->nanc && ident_sha_eq(r->anc[lo], sha));
}

/*
 * A commit or deployment (what, id: its first idlen characters) maps to n
 * milestones, more than max_per_deployment: it counts for none of those
 * in ms->via, each keeping the rejection with its reason and basis.
 */
static void
ms_reject_all(struct milestones *ms, const char *what, const char *id,
    int idlen, size_t n, const char *basis, int64_t t)
{
	struct buf	why;
	size_t		i;

	buf_init(&why);
	buf_printf(&why, "%s %.*s maps to %zu milestones (", what, idlen, id,
	    n);
	ms_names(ms, &why);
	buf_printf(&why, "), more than max_per_deployment %zu; it counts for "
	    "none of them", ms->mc->max_per_deployment);
	log_warnx("milestones: %s", buf_cstr(&why));
	for (i = 0; i < ms->mc->nms; i++)
		if (ms->via[i])
			ms_reject(&ms->st[i], buf_cstr(&why), basis, t);
	buf_free(&why);
}

static int
ms_contains(const struct ms_rev *r, json_object *c)
{
	const char	*sha = ms_str(c, "sha");
	json_object	*v;
	int64_t		 seq;

	if (sha != NULL && r->sha[0] != '\0' && ident_sha_eq(sha, r->sha))
		return (1);
	if (sha != NULL && r->nanc > 0 && ms_ancestor(r, sha))
		return (1);
	if (r->seq == 0 || (v = ms_get(c, "seq")) == NULL ||
	    (seq = json_object_get_int64(v)) <= 0 || seq > r->seq)
		return (0);
	return (ms_str(c, "repo") != NULL && ms_str(c, "branch") != NULL &&
	    strcmp(ms_str(c, "repo"), r->repo) == 0 &&
	    strcmp(ms_str(c, "branch"), r->branch) == 0);
}

/*
 * Does r contain an unverified checkpoint of milestone props p?  With
 * mark set, mark those verified by deployment dep at time t; returns how
 * many commits were (or would be) verified.
 */
static size_t
ms_verify(json_object *p, const struct ms_rev *r, int mark, const char *dep,
    int64_t t)
{
	json_object	*cps, *c, *commits, *e;
	size_t		 i, j, n = 0, ok;

	cps = ms_get(p, "checkpoints");
	for (i = 0; cps != NULL && i < json_object_array_length(cps); i++) {
		c = json_object_array_get_idx(cps, i);
		if ((commits = ms_get(c, "commits")) == NULL) {
			if (ms_bool(c, "verified") || !ms_contains(r, c))
				continue;
			n++;
			if (!mark)
				continue;
			json_object_object_add(c, "verified",
			    json_object_new_boolean(1));
			ms_set_time(c, "verified_at", t);
			ms_set_str(c, "deployment", dep);
			continue;
		}
		ok = 0;
		for (j = 0; j < json_object_array_length(commits); j++) {
			e = json_object_array_get_idx(commits, j);
			if (!ms_bool(e, "verified") && ms_contains(r, e)) {
				n++;
				if (mark) {
					json_object_object_add(e, "verified",
					    json_object_new_boolean(1));
					ms_set_time(e, "verified_at", t);
					ms_set_str(e, "deployment", dep);
				}
			}
			if (ms_bool(e, "verified"))
				ok++;
		}
		if (mark && !ms_bool(c, "verified") && ok > 0 &&
		    ok == json_object_array_length(commits)) {
			json_object_object_add(c, "verified",
			    json_object_new_boolean(1));
			ms_set_time(c, "verified_at", t);
			ms_set_str(c, "deployment", dep);
		}
	}
	return (n);
}

static json_object *
ms_commit_ref(const char *sha, const char *repo, const char *branch,
    int64_t seq, int64_t t)
{
	json_object	*e = json_object_new_object();

	ms_set_str(e, "sha", sha);
	ms_set_str(e, "repo", repo);
	ms_set_str(e, "branch", branch);
	json_object_object_add(e, "seq", json_object_new_int64(seq));
	ms_set_time(e, "pushed", t);
	json_object_object_add(e, "verified", json_object_new_boolean(0));
	return (e);
}

static void
ms_commit_fill(json_object *c, const char *repo, const char *branch,
    int64_t seq, int64_t t)
{
	if (ms_get(c, "seq") != NULL && json_object_get_int64(ms_get(c,
	    "seq")) > 0)
		return;
	ms_set_str(c, "repo", repo);
	ms_set_str(c, "branch", branch);
	json_object_object_add(c, "seq", json_object_new_int64(seq));
	ms_set_time(c, "pushed", t);
}

/* Re-check the verified deployments already mapped (a late commit). */
static void
ms_recheck(json_object *p)
{
	json_object	*deps, *d;
	struct ms_rev	 r;
	const char	*s;
	size_t		 i;
	int64_t		 t;

	deps = ms_get(p, "deployments");
	for (i = 0; deps != NULL && i < json_object_array_length(deps); i++) {
		d = json_object_array_get_idx(deps, i);
		memset(&r, 0, sizeof(r));
		if ((s = ms_str(d, "revision")) != NULL)
			strlcpy(r.sha, s, sizeof(r.sha));
		if ((s = ms_str(d, "repo")) != NULL)
			strlcpy(r.repo, s, sizeof(r.repo));
		if ((s = ms_str(d, "branch")) != NULL)
			strlcpy(r.branch, s, sizeof(r.branch));
		r.seq = ms_get(d, "seq") ? json_object_get_int64(ms_get(d,
		    "seq")) : 0;
		t = 0;
		if ((s = ms_str(d, "verified_at")) != NULL)
			tf_parse(s, &t);
		ms_verify(p, &r, 1, ms_str(d, "id"), t);
	}
}

/*
 * A trailer naming a milestone the configuration does not declare is a
 * visible rejection, not a silent drop: each such name is a
 * MilestoneUnknown claim (id: the name), revised by every commit that
 * names it, with the count and the last commit, which GET /v1/milestones
 * lists under "unknown".  It has no tenant link, so no client sees it.
 * Returns 0 or -1.
 */
static int
ms_unknown(struct milestones *ms, struct ledger *l, const struct evidence *ev,
    json_object *props)
{
	json_object	*names, *p, *v;
	struct claim	 cur, c;
	struct buf	 b;
	struct basis	 bs;
	const char	*name, *sha;
	char		 t[MP_TIMELEN];
	int64_t		 commits;
	size_t		 i;
	int		 found, rc = 0;

	names = ms_get(props, "milestones");
	if (!json_object_is_type(names, json_type_array))
		return (0);
	if ((sha = ms_str(props, "sha")) == NULL)
		sha = ev->subject;
	for (i = 0; rc == 0 && i < json_object_array_length(names); i++) {
		name = json_object_get_string(json_object_array_get_idx(names,
		    i));
		if (name == NULL || *name == '\0' || strlen(name) > MP_IDMAX ||
		    milestone_conf_index(ms->mc, name) != -1)
			continue;
		memset(&cur, 0, sizeof(cur));
		if ((found = ledger_claim_get(l, "MilestoneUnknown", name,
		    INT64_MAX, &cur)) == -1)
			return (-1);
		commits = 0;
		if (found == 1 && (p = json_tokener_parse(cur.properties)) !=
		    NULL) {
			if (json_object_object_get_ex(p, "commits", &v))
				commits = json_object_get_int64(v);
			json_object_put(p);
		}
		p = json_object_new_object();
		json_object_object_add(p, "milestone",
		    json_object_new_string(name));
		json_object_object_add(p, "commits",
		    json_object_new_int64(commits + 1));
		json_object_object_add(p, "last_commit",
		    json_object_new_string(sha));
		tf_format(ev->time, t);
		json_object_object_add(p, "last_seen", json_object_new_string(t));
		json_object_object_add(p, "reason", json_object_new_string(
		    "a commit names a milestone that is not declared"));
		buf_init(&b);
		evidence_canonical_json(p, &b);
		json_object_put(p);
		basis_init(&bs, 1);
		basis_add_ev(&bs, ev->id, ev->seq);
		memset(&c, 0, sizeof(c));
		c.type = (char *)"MilestoneUnknown";
		c.id = (char *)name;
		c.revision = found == 1 ? cur.revision + 1 : 1;
		c.anchor = found == 1 ? cur.anchor : ev->time;
		c.time = ev->time;
		c.recorded_at = ev->recorded_at;
		c.properties = buf_cstr(&b);
		c.links = (char *)"{}";
		c.basis = basis_json(&bs, 0);
		rc = ledger_claim_put(l, &c);
		free(c.basis);
		basis_free(&bs);
		buf_free(&b);
		claim_clear(&cur);
	}
	return (rc);
}

/* CommitPushed: map the commit to milestones and record checkpoints. */
static int
ms_commit(struct milestones *ms, struct ledger *l, const struct evidence *ev,
    json_object *props, json_object *links)
{
	const struct milestone_conf	*mc = ms->mc;
	const char			*sha, *repo, *branch, *ref, *key;
	json_object			*issues, *cps, *c;
	struct ms_state			*s;
	char				*basis, *name;
	size_t				 i, j, n;

	if ((sha = ms_str(props, "sha")) == NULL)
		sha = ev->subject;
	repo = ms_str(links, "repo");
	if ((branch = ms_str(links, "branch")) == NULL && (ref = ms_str(props,
	    "ref")) != NULL && strncmp(ref, "refs/heads/", 11) == 0)
		branch = ref + 11;
	issues = ms_get(props, "issueKeys");
	n = milestone_map_commit(mc, sha, branch, ms_get(props, "milestones"),
	    issues, ms->via);
	if (n == 0)
		return (0);
	basis = ms_basis_ev(ev);
	for (i = 0; i < mc->nms; i++)
		if (ms->via[i] && ms_load(ms, l, i) == -1) {
			free(basis);
			return (-1);
		}
	if (n > mc->max_per_deployment) {
		ms_reject_all(ms, "commit", sha, 12, n, basis, ev->time);
		free(basis);
		return (0);
	}
	for (i = 0; i < mc->nms; i++) {
		if (!ms->via[i])
			continue;
		s = &ms->st[i];
		cps = ms_get(s->props, "checkpoints");
		if (ms->via[i] & (MS_VIA_TRAILER | MS_VIA_COMMIT |
		    MS_VIA_BRANCH)) {
			xasprintf(&name, "commit:%s", sha);
			c = ms_find_key(cps, "key", name);
			for (j = 0; c == NULL && j < json_object_array_length(
			    cps); j++) {
				/* A declared, abbreviated commit. */
				key = ms_str(json_object_array_get_idx(cps, j),
				    "sha");
				if (key != NULL && ident_sha_eq(key, sha))
					c = json_object_array_get_idx(cps, j);
			}
			free(name);
			if (c == NULL) {
				if (json_object_array_length(cps) >=
				    mc->max_checkpoints) {
					ms_reject(s, "scope is over "
					    "max_checkpoints; commit not "
					    "counted", basis, ev->time);
					continue;
				}
				c = ms_checkpoint_new("commit", sha);
				json_object_array_add(cps, c);
			}
			ms_commit_fill(c, repo, branch, ev->seq, ev->time);
		}
		for (j = 0; issues != NULL && j < json_object_array_length(
		    issues); j++) {
			key = json_object_get_string(json_object_array_get_idx(
			    issues, j));
			if (!milestone_issue_in(mc, i, key))
				continue;
			xasprintf(&name, "issue:%s", key);
			c = ms_find_key(cps, "key", name);
			free(name);
			if (c == NULL) {
				if (json_object_array_length(cps) >=
				    mc->max_checkpoints)
					continue;
				c = ms_checkpoint_new("issue", key);
				json_object_array_add(cps, c);
			}
			if (ms_find_key(ms_get(c, "commits"), "sha", sha) ==
			    NULL) {
				json_object_array_add(ms_get(c, "commits"),
				    ms_commit_ref(sha, repo, branch, ev->seq,
				    ev->time));
				/* New work on the issue: verified again later. */
				json_object_object_add(c, "verified",
				    json_object_new_boolean(0));
				json_object_object_del(c, "verified_at");
				json_object_object_del(c, "deployment");
			}
		}
		ms_recheck(s->props);
		ms_basis_add(s, basis);
	}
	free(basis);
	return (0);
}

/* IncidentOpened / IncidentResolved: open or close a negative delta. */
static int
ms_incident(struct milestones *ms, struct ledger *l, const struct evidence *ev,
    json_object *props, json_object *links, int opened)
{
	const struct milestone_conf	*mc = ms->mc;
	const char			*id, *svc, *env, *sev, *title;
	json_object			*deltas, *d;
	struct ms_state			*s;
	char				*key, *basis, *reason;
	double				 w;
	size_t				 i;

	if ((id = ms_str(props, "incidentId")) == NULL)
		id = ev->subject;
	if ((svc = ms_str(props, "service")) == NULL)
		svc = ms_str(links, "service");
	env = ms_str(links, "environment");
	xasprintf(&key, "incident:%s", id);
	basis = ms_basis_ev(ev);
	for (i = 0; i < mc->nms; i++) {
		if (opened && (!milestone_service_in(mc, i, svc) ||
		    (env != NULL && strcmp(env, mc->ms[i].environment) != 0)))
			continue;
		if (ms_load(ms, l, i) == -1) {
			free(key);
			free(basis);
			return (-1);
		}
		s = &ms->st[i];
		deltas = ms_get(s->props, "deltas");
		d = ms_find_key(deltas, "key", key);
		if (!opened) {
			if (d == NULL || !ms_bool(d, "active"))
				continue;
			json_object_object_add(d, "active",
			    json_object_new_boolean(0));
			ms_set_time(d, "resolved", ev->time);
			ms_basis_add(s, basis);
			continue;
		}
		if (d != NULL)
			continue;	/* an update of the same incident */
		w = milestone_weight(mc, ms_str(props, "severity"),
		    ms_str(props, "priority"), ms_str(props, "urgency"), &sev);
		title = ms_str(props, "title");
		xasprintf(&reason, "incident %s (%s) opened on %s%s%s", id,
		    sev != NULL ? sev : "severity unknown", svc,
		    title ? ": " : "", title ? title : "");
		d = json_object_new_object();
		ms_set_str(d, "key", key);
		ms_set_str(d, "kind", "incident");
		ms_set_str(d, "reason", reason);
		json_object_object_add(d, "weight", json_object_new_double(-w));
		json_object_object_add(d, "active", json_object_new_boolean(1));
		ms_set_time(d, "time", ev->time);
		json_object_object_add(d, "basis", json_object_new_array());
		json_object_array_add(ms_get(d, "basis"),
		    json_tokener_parse(basis));
		ms_push(deltas, d, MS_DELTAS_MAX);
		ms_basis_add(s, basis);
		free(reason);
	}
	free(key);
	free(basis);
	return (0);
}

/*
 * Apply one stored evidence (in the writer's open transaction).  Returns
 * 0, or -1 on a storage error.
 */
int
milestone_apply(struct milestones *ms, struct ledger *l,
    const struct evidence *ev)
{
	json_object	*props = NULL, *links = NULL;
	int		 rc = 0;

	if (ms->mc->nms == 0)
		return (0);
	if (ms_trusted(ev->time, ev->recorded_at) && ev->time > ms->now)
		ms->now = ev->time;
	free(ms->last_id);
	ms->last_id = xstrdup(ev->id);
	ms->last_seq = ev->seq;
	if (strcmp(ev->type, "CommitPushed") != 0 &&
	    strcmp(ev->type, "IncidentOpened") != 0 &&
	    strcmp(ev->type, "IncidentResolved") != 0)
		return (0);
	props = json_tokener_parse(ev->properties);
	links = json_tokener_parse(ev->links);
	if (strcmp(ev->type, "CommitPushed") == 0) {
		rc = ms_unknown(ms, l, ev, props);
		if (rc == 0)
			rc = ms_commit(ms, l, ev, props, links);
	} else
		rc = ms_incident(ms, l, ev, props, links,
		    strcmp(ev->type, "IncidentOpened") == 0);
	json_object_put(props);
	json_object_put(links);
	return (rc);
}

/*
 * The known ancestors a CommitPushed names (a new array, or NULL): its
 * `parents` (the git hook), and `merged`, the commits that a GitHub push
 * of a merge brought onto the branch (its payload has no parents).
 */
static json_object *
ms_parents(const struct evidence *ev)
{
	static const char	*keys[] = { "parents", "merged" };
	json_object		*p, *v, *out = NULL;
	size_t			 i, j;

	if ((p = json_tokener_parse(ev->properties)) == NULL)
		return (NULL);
	for (i = 0; i < 2; i++) {
		if (!json_object_object_get_ex(p, keys[i], &v) ||
		    !json_object_is_type(v, json_type_array))
			continue;
		if (out == NULL)
			out = json_object_new_array();
		for (j = 0; j < json_object_array_length(v); j++)
			json_object_array_add(out, json_object_get(
			    json_object_array_get_idx(v, j)));
	}
	json_object_put(p);
	return (out);
}

struct ms_walk {
	json_object	*parents;
	int64_t		 seq;
};

static int
ms_walk_one(const struct evidence *ev, void *arg)
{
	struct ms_walk	*w = arg;

	w->seq = ev->seq;
	w->parents = ms_parents(ev);
	return (-1);	/* the newest is enough */
}

/*
 * r's ancestors that the ledger knows of: breadth first from the parents
 * of its CommitPushed (the git hook lists them), through the parents of
 * theirs, at most MS_ANCESTORS_MAX.  A commit pushed well before floor
 * (the oldest unverified checkpoint's push) is not walked past: what it
 * descends from was pushed earlier still.  So a commit merged from another
 * branch is contained in the merge, not only what was pushed to the
 * deployed branch.  Returns 0 or -1.
 */
static int
ms_ancestors(struct ledger *l, struct ms_rev *r, int64_t floor)
{
	json_object	*seen, *cur;
	struct ms_walk	 w;
	const char	*s;
	size_t		 head = 0, i, cap = 0;
	int		 rc = 0;

	if (r->parents == NULL || floor == INT64_MAX)
		return (0);
	seen = json_object_new_object();
	cur = json_object_get(r->parents);
	for (;;) {
		for (i = 0; i < json_object_array_length(cur) &&
		    r->nanc < MS_ANCESTORS_MAX; i++) {
			s = json_object_get_string(json_object_array_get_idx(
			    cur, i));
			if (s == NULL || strlen(s) < 7 ||
			    json_object_object_get_ex(seen, s, NULL))
				continue;
			json_object_object_add(seen, s, NULL);
			if (r->nanc == cap) {
				cap = cap ? cap * 2 : 64;
				r->anc = xreallocarray(r->anc, cap,
				    sizeof(*r->anc));
			}
			r->anc[r->nanc++] = xstrdup(s);
		}
		json_object_put(cur);
		cur = NULL;
		while (cur == NULL && head < r->nanc) {
			memset(&w, 0, sizeof(w));
			if (ledger_subject_find(l, "CommitPushed",
			    r->anc[head++], l->pending_seq, 1, ms_walk_one,
			    &w) == -1) {
				rc = -1;
				break;
			}
			if (w.parents != NULL && w.seq < floor - MS_BATCH_SLACK) {
				json_object_put(w.parents);
				continue;
			}
			cur = w.parents;
		}
		if (cur == NULL)
			break;
	}
	json_object_put(seen);
	if (r->nanc > 1)
		qsort(r->anc, r->nanc, sizeof(*r->anc), ms_anccmp);
	return (rc);
}

/* floor, or the push (seq) of e when e is unverified and older. */
static int64_t
ms_floor_one(json_object *e, int64_t floor)
{
	json_object	*v;
	int64_t		 seq;

	if (!ms_bool(e, "verified") && (v = ms_get(e, "seq")) != NULL &&
	    (seq = json_object_get_int64(v)) > 0 && seq < floor)
		return (seq);
	return (floor);
}

/* floor, or the push of the oldest unverified commit of props p. */
static int64_t
ms_floor(json_object *p, int64_t floor)
{
	json_object	*cps, *c, *commits;
	size_t		 i, j;

	cps = ms_get(p, "checkpoints");
	for (i = 0; cps != NULL && i < json_object_array_length(cps); i++) {
		c = json_object_array_get_idx(cps, i);
		if ((commits = ms_get(c, "commits")) == NULL)
			floor = ms_floor_one(c, floor);
		for (j = 0; commits != NULL &&
		    j < json_object_array_length(commits); j++)
			floor = ms_floor_one(json_object_array_get_idx(commits,
			    j), floor);
	}
	return (floor);
}

static void
ms_rev_clear(struct ms_rev *r)
{
	size_t	i;

	for (i = 0; i < r->nanc; i++)
		free(r->anc[i]);
	free(r->anc);
	json_object_put(r->parents);
	memset(r, 0, sizeof(*r));
}

static int
ms_rev_one(const struct evidence *ev, void *arg)
{
	struct ms_rev	*r = arg;
	json_object	*links;
	const char	*s;

	r->seq = ev->seq;
	r->parents = ms_parents(ev);
	if ((links = json_tokener_parse(ev->links)) != NULL) {
		if ((s = ms_str(links, "repo")) != NULL)
			strlcpy(r->repo, s, sizeof(r->repo));
		if ((s = ms_str(links, "branch")) != NULL)
			strlcpy(r->branch, s, sizeof(r->branch));
		json_object_put(links);
	}
	return (-1);	/* the newest is enough */
}

/* The milestone links of a deployment: its claim's, and its basis's. */
static void
ms_dep_links(struct ledger *l, const struct claim *c, json_object *links,
    char **out, size_t max)
{
	struct evidence	*ev;
	json_object	*basis, *b, *seq, *el;
	const char	*m;
	size_t		 i, n = 0;

	if ((m = ms_str(links, "milestone")) != NULL && n < max)
		out[n++] = xstrdup(m);
	basis = json_tokener_parse(c->basis);
	for (i = 0; basis != NULL && json_object_is_type(basis,
	    json_type_array) && i < json_object_array_length(basis) && i < 8;
	    i++) {
		b = json_object_array_get_idx(basis, i);
		if ((seq = ms_get(b, "seq")) == NULL)
			continue;
		ev = NULL;
		if (ledger_get(l, json_object_get_int64(seq), &ev) != 1 ||
		    ev == NULL) {
			evidence_free(ev);
			continue;
		}
		if ((el = json_tokener_parse(ev->links)) != NULL) {
			if ((m = ms_str(el, "milestone")) != NULL && n < max)
				out[n++] = xstrdup(m);
			json_object_put(el);
		}
		evidence_free(ev);
	}
	json_object_put(basis);
	out[n] = NULL;
}

/* One Deployment claim revision of this batch. */
static int
ms_deployment(struct milestones *ms, struct ledger *l, const struct claim *c)
{
	const struct milestone_conf	*mc = ms->mc;
	json_object			*p, *links, *d, *deltas;
	const char			*state, *svc, *env, *rev;
	const char			*mlinks[10];
	char				*lbuf[10], *basis, *key, *reason;
	struct ms_rev			 r;
	struct ms_state			*s;
	int64_t				 t;
	size_t				 i, j, n;
	int				 rc = -1, rollback;

	p = json_tokener_parse(c->properties);
	links = json_tokener_parse(c->links);
	memset(lbuf, 0, sizeof(lbuf));
	memset(&r, 0, sizeof(r));
	basis = ms_basis_claim(c);
	state = ms_str(p, "state");
	svc = ms_str(p, "service");
	env = ms_str(p, "environment");
	rev = ms_str(p, "revision");
	t = c->time;
	if (ms_str(p, "since") != NULL)
		tf_parse(ms_str(p, "since"), &t);
	rollback = state != NULL && (strcmp(state, "rolling_back") == 0 ||
	    strcmp(state, "reverted") == 0 ||
	    strcmp(state, "rollback_failed") == 0);
	if (state == NULL || env == NULL || (!rollback &&
	    strcmp(state, "verified") != 0)) {
		rc = 0;
		goto out;
	}
	if (rollback) {
		xasprintf(&key, "rollback:%s", c->id);
		for (i = 0; i < mc->nms; i++) {
			if (strcmp(mc->ms[i].environment, env) != 0 ||
			    !milestone_service_in(mc, i, svc))
				continue;
			if (ms_load(ms, l, i) == -1) {
				free(key);
				goto out;
			}
			s = &ms->st[i];
			deltas = ms_get(s->props, "deltas");
			if (ms_find_key(deltas, "key", key) != NULL)
				continue;
			xasprintf(&reason, "rollback of deployment %s (%s, "
			    "revision %s) in %s", c->id, svc, rev ? rev : "?",
			    env);
			d = json_object_new_object();
			ms_set_str(d, "key", key);
			ms_set_str(d, "kind", "rollback");
			ms_set_str(d, "service", svc);
			ms_set_str(d, "reason", reason);
			json_object_object_add(d, "weight",
			    json_object_new_double(-mc->rollback_weight));
			json_object_object_add(d, "active",
			    json_object_new_boolean(1));
			ms_set_time(d, "time", t);
			json_object_object_add(d, "basis",
			    json_object_new_array());
			json_object_array_add(ms_get(d, "basis"),
			    json_tokener_parse(basis));
			ms_push(deltas, d, MS_DELTAS_MAX);
			ms_basis_add(s, basis);
			free(reason);
		}
		free(key);
		rc = 0;
		goto out;
	}

	/* Verified: which milestones does it map to? */
	if (rev != NULL && *rev != '\0') {
		strlcpy(r.sha, rev, sizeof(r.sha));
		if (ledger_subject_find(l, "CommitPushed", rev, l->pending_seq,
		    1, ms_rev_one, &r) == -1)
			goto out;
	}
	if (r.parents != NULL) {
		int64_t	floor = INT64_MAX;

		for (i = 0; i < mc->nms; i++) {
			if (strcmp(mc->ms[i].environment, env) != 0)
				continue;
			if (ms_load(ms, l, i) == -1)
				goto out;
			floor = ms_floor(ms->st[i].props, floor);
		}
		if (ms_ancestors(l, &r, floor) == -1)
			goto out;
	}
	ms_dep_links(l, c, links, lbuf, 9);
	for (i = 0; lbuf[i] != NULL; i++)
		mlinks[i] = lbuf[i];
	mlinks[i] = NULL;
	milestone_map_deployment(mc, svc, env, mlinks, ms->via);
	n = 0;
	for (i = 0; i < mc->nms; i++) {
		if (strcmp(mc->ms[i].environment, env) != 0)
			continue;
		if (ms_load(ms, l, i) == -1)
			goto out;
		if (ms_find_key(ms_get(ms->st[i].props, "deployments"), "id",
		    c->id) != NULL) {
			ms->via[i] = 0;		/* already counted */
			continue;
		}
		if (ms_verify(ms->st[i].props, &r, 0, NULL, 0) > 0)
			ms->via[i] |= MS_VIA_CONTAINS;
		if (ms->via[i])
			n++;
	}
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (n > mc->max_per_deployment) {
		ms_reject_all(ms, "deployment", c->id, INT_MAX, n, basis, t);
		rc = 0;
		goto out;
	}
	for (i = 0; i < mc->nms; i++) {
		if (!ms->via[i])
			continue;
		s = &ms->st[i];
		ms_verify(s->props, &r, 1, c->id, t);
		d = json_object_new_object();
		ms_set_str(d, "id", c->id);
		ms_set_str(d, "service", svc);
		ms_set_str(d, "environment", env);
		ms_set_opt(d, "region", ms_str(p, "region"));
		ms_set_opt(d, "release", ms_str(p, "release"));
		ms_set_str(d, "revision", rev);
		ms_set_str(d, "repo", r.repo[0] ? r.repo : NULL);
		ms_set_str(d, "branch", r.branch[0] ? r.branch : NULL);
		json_object_object_add(d, "seq", json_object_new_int64(r.seq));
		ms_set_time(d, "verified_at", t);
		ms_push(ms_get(s->props, "deployments"), d,
		    MS_DEPLOYMENTS_MAX);
		/* A verified deployment of the service ends its rollbacks. */
		deltas = ms_get(s->props, "deltas");
		for (j = 0; j < json_object_array_length(deltas); j++) {
			d = json_object_array_get_idx(deltas, j);
			if (!ms_bool(d, "active") || ms_str(d, "service") ==
			    NULL || svc == NULL || strcmp(ms_str(d, "service"),
			    svc) != 0)
				continue;
			json_object_object_add(d, "active",
			    json_object_new_boolean(0));
			ms_set_time(d, "resolved", t);
			ms_set_str(d, "resolved_by", c->id);
		}
		ms_basis_add(s, basis);
	}
	rc = 0;
out:
	ms_rev_clear(&r);
	for (i = 0; i < 10; i++)
		free(lbuf[i]);
	free(basis);
	json_object_put(p);
	json_object_put(links);
	return (rc);
}

struct ms_claims {
	struct claim	*c;
	size_t		 n;
};

static int
ms_collect(const struct claim *c, void *arg)
{
	struct ms_claims	*v = arg;
	struct claim		*d;

	v->c = xreallocarray(v->c, v->n + 1, sizeof(*v->c));
	d = &v->c[v->n++];
	memset(d, 0, sizeof(*d));
	d->type = xstrdup(c->type);
	d->id = xstrdup(c->id);
	d->revision = c->revision;
	d->anchor = c->anchor;
	d->time = c->time;
	d->recorded_at = c->recorded_at;
	d->properties = xstrdup(c->properties);
	d->links = xstrdup(c->links ? c->links : "{}");
	d->basis = xstrdup(c->basis ? c->basis : "[]");
	return (0);
}

/*
 * An Slo revision of this batch: a milestone whose scope holds the SLO's
 * service (in its target environment) takes a negative delta while the
 * SLO burns (class page or ticket), weighted by the class's weight times
 * the budget consumed (at least a tenth of it, at most all), naming the
 * SLO and its burn; the delta is updated as the burn moves, and cleared
 * when it stops.  Returns 0 or -1.
 */
static int
ms_slo(struct milestones *ms, struct ledger *l, const struct claim *c)
{
	const struct milestone_conf	*mc = ms->mc;
	json_object			*p, *links, *deltas, *d, *v, *burn;
	const char			*svc, *env, *cls;
	struct ms_state			*s;
	char				*key = NULL, *basis = NULL, *reason = NULL;
	double				 consumed = 0, w, b1 = 0;
	size_t				 i;
	int				 burning, rc = 0;

	p = json_tokener_parse(c->properties);
	links = json_tokener_parse(c->links);
	svc = ms_str(links, "service");
	env = ms_str(links, "environment");
	cls = ms_str(p, "class");
	if (svc == NULL || env == NULL || cls == NULL)
		goto out;
	burning = strcmp(cls, "page") == 0 || strcmp(cls, "ticket") == 0;
	if (json_object_object_get_ex(p, "budget_consumed", &v))
		consumed = json_object_get_double(v);
	if (json_object_object_get_ex(p, "burn", &burn)) {
		json_object_object_foreach(burn, wn, bv) {
			(void)wn;
			if (json_object_get_double(bv) > b1)
				b1 = json_object_get_double(bv);
		}
	}
	w = (strcmp(cls, "page") == 0 ? mc->slo_page_weight :
	    mc->slo_ticket_weight) * (consumed / 100 < 0.1 ? 0.1 :
	    consumed / 100 > 1 ? 1 : consumed / 100);
	xasprintf(&key, "slo:%s", c->id);
	xasprintf(&reason, "SLO %s burning (%s, burn rate up to %.3gx, %.4g%% "
	    "of the error budget consumed) on %s in %s", c->id, cls, b1,
	    consumed, svc, env);
	basis = ms_basis_claim(c);
	for (i = 0; i < mc->nms; i++) {
		if (strcmp(mc->ms[i].environment, env) != 0 ||
		    !milestone_service_in(mc, i, svc))
			continue;
		if ((rc = ms_load(ms, l, i)) == -1)
			goto out;
		s = &ms->st[i];
		deltas = ms_get(s->props, "deltas");
		d = ms_find_key(deltas, "key", key);
		if (d != NULL && ms_bool(d, "active")) {
			if (!burning) {
				json_object_object_add(d, "active",
				    json_object_new_boolean(0));
				ms_set_time(d, "resolved", c->time);
				ms_basis_add(s, basis);
				continue;
			}
			if (fabs(json_object_get_double(ms_get(d, "weight")) +
			    w) < 1e-9 && ms_str(d, "reason") != NULL &&
			    strcmp(ms_str(d, "reason"), reason) == 0)
				continue;
			json_object_object_add(d, "weight",
			    json_object_new_double(-w));
			ms_set_str(d, "reason", reason);
			ms_basis_add(s, basis);
			continue;
		}
		if (!burning)
			continue;
		if (d != NULL) {	/* burning again: the same delta, anew */
			json_object_object_add(d, "active",
			    json_object_new_boolean(1));
			json_object_object_del(d, "resolved");
			json_object_object_add(d, "weight",
			    json_object_new_double(-w));
			ms_set_str(d, "reason", reason);
			ms_set_time(d, "time", c->time);
			ms_basis_add(s, basis);
			continue;
		}
		d = json_object_new_object();
		ms_set_str(d, "key", key);
		ms_set_str(d, "kind", "slo");
		ms_set_str(d, "slo", c->id);
		ms_set_str(d, "service", svc);
		ms_set_str(d, "reason", reason);
		json_object_object_add(d, "weight", json_object_new_double(-w));
		json_object_object_add(d, "active", json_object_new_boolean(1));
		ms_set_time(d, "time", c->time);
		json_object_object_add(d, "basis", json_object_new_array());
		json_object_array_add(ms_get(d, "basis"), json_tokener_parse(
		    basis));
		ms_push(deltas, d, MS_DELTAS_MAX);
		ms_basis_add(s, basis);
	}
out:
	free(key);
	free(reason);
	free(basis);
	json_object_put(p);
	json_object_put(links);
	return (rc);
}

/* Count, sum the deltas and evaluate milestone i at ms->now. */
static void
ms_evaluate(struct milestones *ms, size_t i)
{
	const struct milestone_def	*def = &ms->mc->ms[i];
	struct milestone_eval		 e;
	json_object			*p = ms->st[i].props, *arr, *o;
	const char			*s;
	int64_t				 t, first = 0;
	size_t				 j;

	memset(&e, 0, sizeof(e));
	arr = ms_get(p, "checkpoints");
	for (j = 0; j < json_object_array_length(arr); j++) {
		o = json_object_array_get_idx(arr, j);
		e.total++;
		if (ms_bool(o, "verified"))
			e.done++;
		if ((s = ms_str(o, "pushed")) != NULL && tf_parse(s, &t) == 0 &&
		    (first == 0 || t < first))
			first = t;
	}
	arr = ms_get(p, "deltas");
	for (j = 0; j < json_object_array_length(arr); j++) {
		o = json_object_array_get_idx(arr, j);
		if (!ms_bool(o, "active"))
			continue;
		e.active = 1;
		e.delta += json_object_get_double(ms_get(o, "weight"));
	}
	e.now = ms->now;
	e.start = def->start ? def->start : first;
	e.due = def->due;
	e.margin = ms->mc->at_risk_margin;
	milestone_evaluate(&e);
	ms_set_opt(p, "title", def->title);	/* configuration may change */
	ms_set_opt(p, "description", def->description);
	ms_set_str(p, "state", e.state);
	json_object_object_add(p, "progress",
	    json_object_new_double(e.progress));
	json_object_object_add(p, "done", json_object_new_int((int)e.done));
	json_object_object_add(p, "total", json_object_new_int((int)e.total));
	json_object_object_add(p, "cadence",
	    json_object_new_double(e.cadence));
	if (e.predicted != 0) {
		char	day[MP_TIMELEN];

		tf_format(e.predicted, day);
		day[10] = '\0';		/* to the day: no revision per second */
		ms_set_str(p, "predicted", day);
	} else
		json_object_object_add(p, "predicted", NULL);
}

static int
ms_put(struct milestones *ms, struct ledger *l, size_t i, int64_t now)
{
	struct ms_state	*s = &ms->st[i];
	struct claim	 c;
	struct buf	 props;
	struct basis	 one;
	json_object	*links;
	char		*basis;
	int		 rc;

	buf_init(&props);
	evidence_canonical_json(s->props, &props);
	if (s->stored != NULL && strcmp(s->stored, buf_cstr(&props)) == 0) {
		buf_free(&props);
		return (0);
	}
	if (s->basis.n == 0 && ms->last_id != NULL) {
		/* Only time moved on: the evidence that moved it. */
		basis_init(&one, 1);
		basis_add_ev(&one, ms->last_id, ms->last_seq);
		one.dropped = s->basis.dropped;
		basis = basis_json(&one, 1);
		basis_free(&one);
	} else
		basis = basis_json(&s->basis, 1);
	links = json_object_new_object();
	json_object_object_add(links, "tenant",
	    json_object_new_string(ms->mc->ms[i].tenant));
	memset(&c, 0, sizeof(c));
	c.type = (char *)"Milestone";
	c.id = ms->mc->ms[i].id;
	c.revision = s->revision + 1;
	c.anchor = s->revision > 0 ? s->anchor : ms->now;
	c.time = ms->now;
	c.recorded_at = now;
	c.properties = buf_cstr(&props);
	c.links = (char *)json_object_to_json_string_ext(links,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	c.basis = basis;
	if ((rc = ledger_claim_put(l, &c)) == 0) {
		free(s->stored);
		s->stored = buf_steal(&props);
		s->revision = c.revision;
		s->anchor = c.anchor;
		s->time = c.time;
	}
	json_object_put(links);
	buf_free(&props);
	free(basis);
	return (rc);
}

/*
 * Did time, moving from from to to, cross a point where milestone d's
 * state changes with nothing else happening: due - margin (at_risk from
 * there) or due (slipping after it)?
 */
static int
ms_crossed(const struct milestone_def *d, int64_t margin, int64_t from,
    int64_t to)
{
	return ((from < d->due - margin && d->due - margin <= to) ||
	    (from <= d->due && d->due < to));
}

/*
 * End of a batch whose transaction time is now: apply the batch's
 * Deployment revisions, re-evaluate what changed (and every milestone
 * once per day of event time, or when time passes its due date or its
 * at_risk margin), and write the revisions.  Returns 0 or -1.
 */
int
milestone_flush(struct milestones *ms, struct ledger *l, int64_t now)
{
	struct ms_claims	 v = { NULL, 0 };
	struct ms_state		*s;
	size_t			 i;
	int			 rc = -1;

	if (ms->mc->nms == 0)
		return (0);
	if (ledger_claim_scan(l, "Deployment", 0, now, now + 1, 0, ms_collect,
	    &v) == -1)
		goto out;
	for (i = 0; i < v.n; i++)
		if (ms_deployment(ms, l, &v.c[i]) == -1)
			goto out;
	/* SLOs are flushed before milestones: their revisions of this batch. */
	for (i = 0; i < v.n; i++)
		claim_clear(&v.c[i]);
	v.n = 0;
	if (ledger_claim_scan(l, "Slo", 0, now, now + 1, 0, ms_collect,
	    &v) == -1)
		goto out;
	for (i = 0; i < v.n; i++)
		if (ms_slo(ms, l, &v.c[i]) == -1)
			goto out;
	for (i = 0; i < ms->mc->nms; i++) {
		if (ms_load(ms, l, i) == -1)
			goto out;
		s = &ms->st[i];
		if (ms->now == 0 || (!s->dirty && s->revision > 0 &&
		    s->time / MS_DAY == ms->now / MS_DAY &&
		    !ms_crossed(&ms->mc->ms[i], ms->mc->at_risk_margin,
		    s->time, ms->now)))
			continue;
		ms_evaluate(ms, i);
		if (ms_put(ms, l, i, now) == -1)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < ms->mc->nms; i++) {
		s = &ms->st[i];
		s->dirty = 0;
		basis_reset(&s->basis);
	}
	for (i = 0; i < v.n; i++)
		claim_clear(&v.c[i]);
	free(v.c);
	if (rc == 0)
		ms->committed_now = ms->now;
	return (rc);
}
