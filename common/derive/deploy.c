/*
 * deploy.c: the deployment state machine and composite release status.
 *
 * A deployment is one (service, environment, region, revision); its id is
 * "service/environment/region/revision", or "service/environment/revision"
 * without a region.  deploy_apply() runs in the writer's transaction (from
 * engine_apply, so "claims rebuild" replays it too), maps each evidence
 * onto a wanted transition of one deployment, checks it against the
 * transition table and the configured criteria, and stores either a new
 * revision of the Deployment claim (one revision per transition, basis =
 * the evidence that caused it) or a DeploymentRejection claim saying why
 * it was refused.  deploy_flush() writes one Release revision per release
 * whose components changed in the transaction.
 *
 * The current state of every deployment is kept in memory, loaded from
 * storage the first time it is needed and dropped when a transaction
 * rolls back; storage is the truth.  Nothing here reads the clock: timeouts
 * arrive as DeploymentStalled evidence from the daemon's timer, overrides
 * as DeploymentOverride evidence from the API, so a replay is exact.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive/derive.h"

#define DEPLOY_TIMEOUT_DEFAULT	1800.0	/* seconds without progress */
#define DEPLOY_BASIS_MAX	16

static const char *deploy_state_names[DS_MAX] = {
	[DS_PLANNED] = "planned",
	[DS_IN_PROGRESS] = "in_progress",
	[DS_DEPLOYED] = "deployed",
	[DS_VERIFIED] = "verified",
	[DS_FAILED] = "failed",
	[DS_STALLED] = "stalled",
	[DS_BLOCKED] = "blocked",
	[DS_ROLLING_BACK] = "rolling_back",
	[DS_REVERTED] = "reverted",
	[DS_PARTIALLY_RESTORED] = "partially_restored",
	[DS_RECOVERED] = "recovered",
	[DS_ROLLBACK_FAILED] = "rollback_failed",
	[DS_MANUAL_INTERVENTION] = "manual_intervention",
};

#define B(s)	(1u << (s))
/* The transitions evidence may cause: to-states allowed from each state. */
static const unsigned deploy_allowed[DS_MAX] = {
	[DS_PLANNED] = B(DS_IN_PROGRESS) | B(DS_DEPLOYED) | B(DS_FAILED) |
	    B(DS_STALLED) | B(DS_BLOCKED),
	[DS_IN_PROGRESS] = B(DS_DEPLOYED) | B(DS_FAILED) | B(DS_STALLED) |
	    B(DS_BLOCKED),
	[DS_DEPLOYED] = B(DS_IN_PROGRESS) | B(DS_VERIFIED) | B(DS_FAILED) |
	    B(DS_STALLED) | B(DS_BLOCKED) | B(DS_ROLLING_BACK),
	[DS_VERIFIED] = B(DS_IN_PROGRESS) | B(DS_FAILED) | B(DS_ROLLING_BACK),
	[DS_FAILED] = B(DS_IN_PROGRESS) | B(DS_ROLLING_BACK) |
	    B(DS_MANUAL_INTERVENTION) | B(DS_RECOVERED),
	[DS_STALLED] = B(DS_IN_PROGRESS) | B(DS_DEPLOYED) | B(DS_VERIFIED) |
	    B(DS_FAILED) | B(DS_ROLLING_BACK) | B(DS_MANUAL_INTERVENTION),
	[DS_BLOCKED] = B(DS_IN_PROGRESS) | B(DS_VERIFIED) | B(DS_FAILED) |
	    B(DS_STALLED),
	[DS_ROLLING_BACK] = B(DS_REVERTED) | B(DS_PARTIALLY_RESTORED) |
	    B(DS_ROLLBACK_FAILED) | B(DS_STALLED),
	[DS_REVERTED] = B(DS_IN_PROGRESS) | B(DS_RECOVERED) |
	    B(DS_PARTIALLY_RESTORED) | B(DS_ROLLBACK_FAILED),
	[DS_PARTIALLY_RESTORED] = B(DS_RECOVERED) | B(DS_ROLLBACK_FAILED) |
	    B(DS_MANUAL_INTERVENTION),
	[DS_RECOVERED] = B(DS_IN_PROGRESS) | B(DS_FAILED),
	[DS_ROLLBACK_FAILED] = B(DS_ROLLING_BACK) | B(DS_MANUAL_INTERVENTION),
	[DS_MANUAL_INTERVENTION] = B(DS_IN_PROGRESS) | B(DS_ROLLING_BACK),
};
/* A deployment's first state. */
static const unsigned deploy_initial = B(DS_PLANNED) | B(DS_IN_PROGRESS) |
    B(DS_DEPLOYED) | B(DS_FAILED);
#undef B

/* The built-in deployments configuration. */
static const struct deployconf deploy_defaults = {
	.timeout = DEPLOY_TIMEOUT_DEFAULT,
	.verify_by = DCHK_HEALTH | DCHK_TEST,
};

struct dep {
	char		*id;
	json_object	*props;		/* the current revision's, owned */
	json_object	*links;
	int64_t		 revision;
	int64_t		 anchor;
	int64_t		 started;	/* last entry into in_progress */
	enum dstate	 state;
};

struct drel {				/* a release changed in this txn */
	char		*id;
	int64_t		 time;
	struct basis	 basis;		/* at most DEPLOY_BASIS_MAX */
	int64_t		 lastseq;
};

struct deploy {
	const struct deployconf	*cf;
	struct dep		*deps;
	size_t			 ndeps;
	int			 loaded;
	struct drel		*rels;
	size_t			 nrels;
};

/* Names, the table, and the configuration. */

const char *
deploy_state_name(enum dstate s)
{
	return (s >= 0 && s < DS_MAX ? deploy_state_names[s] : "");
}

int
deploy_state_parse(const char *s, enum dstate *out)
{
	int	i;

	for (i = 0; s != NULL && i < DS_MAX; i++) {
		if (strcmp(s, deploy_state_names[i]) == 0) {
			*out = (enum dstate)i;
			return (0);
		}
	}
	return (-1);
}

/* May evidence move a deployment from `from` (DS_NONE: new) to `to`? */
/*
 * Why s is not a deployment state, naming the nearest and the valid ones
 * (taken): "unknown deployment state deploied (did you mean deployed?;
 * valid: planned, ...)".
 */
char *
deploy_state_unknown(const char *s)
{
	struct buf	 b;
	const char	*near;

	buf_init(&b);
	buf_printf(&b, "unknown deployment state %.64s (", s);
	if ((near = suggest_nearest(s, deploy_state_names, DS_MAX)) != NULL)
		buf_printf(&b, "did you mean %s?; ", near);
	buf_adds(&b, "valid: ");
	suggest_list(&b, deploy_state_names, DS_MAX);
	buf_addc(&b, ')');
	return (buf_steal(&b));
}

int
deploy_transition_ok(enum dstate from, enum dstate to)
{
	if (to < 0 || to >= DS_MAX)
		return (0);
	if (from == DS_NONE)
		return ((deploy_initial >> to) & 1);
	if (from < 0 || from >= DS_MAX)
		return (0);
	return ((deploy_allowed[from] >> to) & 1);
}

static const struct deployconf *
deploy_conf(const struct rules *t)
{
	return (t != NULL && t->deploy != NULL ? t->deploy : &deploy_defaults);
}

static const struct deployenv *
deploy_env(const struct deployconf *cf, const char *env)
{
	size_t	i;

	for (i = 0; env != NULL && i < cf->nenvs; i++)
		if (strcmp(cf->envs[i].name, env) == 0)
			return (&cf->envs[i]);
	return (NULL);
}

static double
deploy_timeout_conf(const struct deployconf *cf, const char *env)
{
	const struct deployenv	*e = deploy_env(cf, env);

	return (e != NULL && e->timeout > 0 ? e->timeout : cf->timeout);
}

/* The no-progress timeout of an environment, in seconds. */
double
deploy_timeout(const struct rules *t, const char *env)
{
	return (deploy_timeout_conf(deploy_conf(t), env));
}

static unsigned
deploy_verify_by(const struct deployconf *cf, const char *env)
{
	const struct deployenv	*e = deploy_env(cf, env);

	return (e != NULL && e->verify_by != 0 ? e->verify_by : cf->verify_by);
}

/* Is a state one the timer watches (it expects progress)? */
int
deploy_state_expects_progress(enum dstate s)
{
	return (s == DS_PLANNED || s == DS_IN_PROGRESS || s == DS_DEPLOYED ||
	    s == DS_ROLLING_BACK);
}

void
deploy_free_conf(struct rules *t)
{
	struct deployconf	*cf;
	size_t			 i;

	if (t == NULL || (cf = t->deploy) == NULL)
		return;
	for (i = 0; i < cf->nenvs; i++)
		free(cf->envs[i].name);
	free(cf->envs);
	for (i = 0; i < cf->ndeps; i++) {
		free(cf->deps[i].service);
		strv_free(cf->deps[i].upstream, cf->deps[i].nupstream);
	}
	free(cf->deps);
	for (i = 0; i < cf->npipes; i++) {
		free(cf->pipes[i].name);
		free(cf->pipes[i].service);
		free(cf->pipes[i].environment);
		free(cf->pipes[i].region);
	}
	free(cf->pipes);
	strv_free(cf->forbid, cf->nforbid);
	free(cf);
	t->deploy = NULL;
}

static int
deploy_checks(json_object *v, const char *file, const char *key,
    unsigned *out, char *err, size_t errlen)
{
	char	**names = NULL;
	size_t	  n = 0, i;
	int	  rc = 0;

	*out = 0;
	if (yaml_strlist(v, file, key, 1, 0, &names, &n, err, errlen) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++) {
		if (strcmp(names[i], "health") == 0)
			*out |= DCHK_HEALTH;
		else if (strcmp(names[i], "test") == 0)
			*out |= DCHK_TEST;
		else
			rc = yaml_errf(err, errlen, file, v, key, "unknown "
			    "check %s (health, test)", names[i]);
	}
	if (rc == 0 && *out == 0)
		rc = yaml_errf(err, errlen, file, v, key, "%s",
		    "needs at least one of health, test");
	strv_free(names, n);
	return (rc);
}

static int
deploy_seconds(json_object *v, const char *file, const char *key,
    double *out, char *err, size_t errlen)
{
	if (v == NULL || ts_parse(json_object_get_string(v), out) == -1 ||
	    *out <= 0)
		return (yaml_errf(err, errlen, file, v, key, "%s", "must be "
		    "a positive duration, e.g. 30m or 2s"));
	return (0);
}

static int
deploy_load_env(struct deployenv *e, json_object *v, const char *file,
    char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_object))
		return (yaml_errf(err, errlen, file, v, e->name, "%s",
		    "must be a mapping (timeout, verify_by)"));
	json_object_object_foreach(v, k, val) {
		if (strcmp(k, "timeout") == 0) {
			if (deploy_seconds(val, file, "timeout", &e->timeout,
			    err, errlen) == -1)
				return (-1);
		} else if (strcmp(k, "verify_by") == 0) {
			if (deploy_checks(val, file, "verify_by",
			    &e->verify_by, err, errlen) == -1)
				return (-1);
		} else
			return (yaml_errf(err, errlen, file, val ? val : v, k,
			    "%s", "unknown setting (timeout, verify_by)"));
	}
	return (0);
}

static int
deploy_load_pipe(struct deploypipe *p, json_object *v, const char *file,
    char *err, size_t errlen)
{
	char	**slot;

	if (!json_object_is_type(v, json_type_object))
		return (yaml_errf(err, errlen, file, v, "pipelines", "%s",
		    "each is {name, service, environment[, region]}"));
	json_object_object_foreach(v, k, val) {
		if (strcmp(k, "name") == 0)
			slot = &p->name;
		else if (strcmp(k, "service") == 0)
			slot = &p->service;
		else if (strcmp(k, "environment") == 0)
			slot = &p->environment;
		else if (strcmp(k, "region") == 0)
			slot = &p->region;
		else
			return (yaml_errf(err, errlen, file, val ? val : v, k,
			    "%s", "unknown setting (name, service, "
			    "environment, region)"));
		if (!json_object_is_type(val, json_type_string))
			return (yaml_errf(err, errlen, file, val ? val : v,
			    k, "%s", "must be a string"));
		free(*slot);
		*slot = xstrdup(json_object_get_string(val));
	}
	if (p->name == NULL || p->service == NULL || p->environment == NULL ||
	    *p->name == '\0' || *p->service == '\0' ||
	    *p->environment == '\0')
		return (yaml_errf(err, errlen, file, v, "pipelines", "%s",
		    "name, service and environment are required"));
	return (0);
}

/*
 * Load the "deployments" section (may be NULL: the built-in defaults).
 * Returns 0, or -1 with err as "file:line: key: reason".
 */
int
deploy_load(struct rules *t, json_object *v, const char *file, char *err,
    size_t errlen)
{
	struct deployconf	*cf;
	json_object		*o;
	size_t			 i, n;

	if (v == NULL)
		return (0);
	if (!json_object_is_type(v, json_type_object))
		return (yaml_errf(err, errlen, file, v, "deployments", "%s",
		    "must be a mapping"));
	deploy_free_conf(t);
	cf = t->deploy = xcalloc(1, sizeof(*cf));
	*cf = deploy_defaults;
	json_object_object_foreach(v, k, val) {
		if (strcmp(k, "timeout") == 0) {
			if (deploy_seconds(val, file, k, &cf->timeout, err,
			    errlen) == -1)
				return (-1);
		} else if (strcmp(k, "verify_by") == 0) {
			if (deploy_checks(val, file, k, &cf->verify_by, err,
			    errlen) == -1)
				return (-1);
		} else if (strcmp(k, "environments") == 0) {
			if (!json_object_is_type(val, json_type_object))
				return (yaml_errf(err, errlen, file, val ?
				    val : v, k, "%s", "must be a mapping of "
				    "environment to {timeout, verify_by}"));
			n = (size_t)json_object_object_length(val);
			cf->envs = xcalloc(n, sizeof(*cf->envs));
			json_object_object_foreach(val, ek, ev) {
				struct deployenv *e = &cf->envs[cf->nenvs++];

				e->name = xstrdup(ek);
				if (deploy_load_env(e, ev, file, err,
				    errlen) == -1)
					return (-1);
			}
		} else if (strcmp(k, "dependencies") == 0) {
			if (!json_object_is_type(val, json_type_object))
				return (yaml_errf(err, errlen, file, val ?
				    val : v, k, "%s", "must be a mapping of "
				    "service to its upstream services"));
			log_warnx("%s:%d: deployments.dependencies: deprecated; "
			    "declare services.NAME.depends_on instead", file,
			    yaml_line(val));
			n = (size_t)json_object_object_length(val);
			cf->deps = xcalloc(n, sizeof(*cf->deps));
			json_object_object_foreach(val, dk, dv) {
				struct deploydep *d = &cf->deps[cf->ndeps++];

				d->service = xstrdup(dk);
				if (yaml_strlist(dv, file, dk, 1, 0, &d->upstream,
				    &d->nupstream, err, errlen) == -1)
					return (-1);
			}
		} else if (strcmp(k, "overrides") == 0) {
			if (!json_object_is_type(val, json_type_object))
				return (yaml_errf(err, errlen, file, val ?
				    val : v, k, "%s", "must be a mapping "
				    "(forbid_in)"));
			json_object_object_foreach(val, ok, ov) {
				if (strcmp(ok, "forbid_in") != 0)
					return (yaml_errf(err, errlen, file,
					    ov ? ov : val, ok, "%s", "unknown "
					    "setting (forbid_in)"));
				if (yaml_strlist(ov, file, ok, 1, 0, &cf->forbid,
				    &cf->nforbid, err, errlen) == -1)
					return (-1);
			}
		} else if (strcmp(k, "pipelines") == 0) {
			if (!json_object_is_type(val, json_type_array))
				return (yaml_errf(err, errlen, file, val ?
				    val : v, k, "%s", "must be a list of "
				    "{name, service, environment[, region]}"));
			n = json_object_array_length(val);
			cf->pipes = xcalloc(n, sizeof(*cf->pipes));
			for (i = 0; i < n; i++) {
				o = json_object_array_get_idx(val, i);
				if (deploy_load_pipe(&cf->pipes[cf->npipes++],
				    o, file, err, errlen) == -1)
					return (-1);
			}
		} else
			return (yaml_errf(err, errlen, file, val ? val : v, k,
			    "%s", "unknown setting (timeout, verify_by, "
			    "environments, dependencies, overrides, "
			    "pipelines)"));
	}
	return (0);
}

/*
 * The catalog's depends_on of service svc (copied), added to what
 * deployments.dependencies (deprecated) declared for it.
 */
void
deploy_add_dependency(struct rules *t, const char *svc, char *const *up,
    size_t n)
{
	struct deployconf	*cf;
	struct deploydep	*d = NULL;
	size_t			 i;

	if (t->deploy == NULL) {
		cf = t->deploy = xcalloc(1, sizeof(*cf));
		*cf = deploy_defaults;
	}
	cf = t->deploy;
	for (i = 0; i < cf->ndeps; i++)
		if (strcmp(cf->deps[i].service, svc) == 0)
			d = &cf->deps[i];
	if (d == NULL) {
		cf->deps = xreallocarray(cf->deps, cf->ndeps + 1,
		    sizeof(*cf->deps));
		d = &cf->deps[cf->ndeps++];
		memset(d, 0, sizeof(*d));
		d->service = xstrdup(svc);
	}
	for (i = 0; i < n; i++) {
		d->upstream = xreallocarray(d->upstream, d->nupstream + 1,
		    sizeof(*d->upstream));
		d->upstream[d->nupstream++] = xstrdup(up[i]);
	}
}

/* Are overrides forbidden in env? */
int
deploy_override_forbidden(const struct rules *t, const char *env)
{
	const struct deployconf	*cf = deploy_conf(t);
	size_t			 i;

	for (i = 0; env != NULL && i < cf->nforbid; i++)
		if (strcmp(cf->forbid[i], env) == 0)
			return (1);
	return (0);
}

/* Small helpers over json-c. */

static const char *
deploy_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* A property, else the link of the same name, else NULL; never "". */
static const char *
deploy_field(json_object *props, json_object *links, const char *key)
{
	const char	*s;

	if ((s = deploy_str(props, key)) != NULL && *s != '\0')
		return (s);
	if ((s = deploy_str(links, key)) != NULL && *s != '\0')
		return (s);
	return (NULL);
}

static const char *
deploy_pstr(const struct dep *d, const char *key)
{
	const char	*s = deploy_str(d->props, key);

	return (s != NULL ? s : "");
}

static void
deploy_set(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val ? val : ""));
}

static char *
deploy_canonical(json_object *o)
{
	struct buf	b;

	buf_init(&b);
	evidence_canonical_json(o, &b);
	return (buf_steal(&b));
}

/* The in-memory deployments: load, find, drop. */

static void
deploy_dep_clear(struct dep *d)
{
	free(d->id);
	json_object_put(d->props);
	json_object_put(d->links);
}

static void
deploy_drop(struct deploy *dp)
{
	size_t	i;

	for (i = 0; i < dp->ndeps; i++)
		deploy_dep_clear(&dp->deps[i]);
	free(dp->deps);
	dp->deps = NULL;
	dp->ndeps = 0;
	dp->loaded = 0;
	for (i = 0; i < dp->nrels; i++) {
		free(dp->rels[i].id);
		basis_free(&dp->rels[i].basis);
	}
	free(dp->rels);
	dp->rels = NULL;
	dp->nrels = 0;
}

static struct dep *
deploy_add(struct deploy *dp, const char *id)
{
	struct dep	*d;

	dp->deps = xreallocarray(dp->deps, dp->ndeps + 1, sizeof(*dp->deps));
	d = &dp->deps[dp->ndeps++];
	memset(d, 0, sizeof(*d));
	d->id = xstrdup(id);
	d->state = DS_NONE;
	return (d);
}

static void
deploy_dep_sync(struct dep *d)
{
	const char	*s;
	int64_t		 t;

	if (deploy_state_parse(deploy_str(d->props, "state"), &d->state) == -1)
		d->state = DS_NONE;
	if ((s = deploy_str(d->props, "started")) != NULL &&
	    tf_parse(s, &t) == 0)
		d->started = t;
}

static int
deploy_load_one(const struct claim *c, void *arg)
{
	struct deploy	*dp = arg;
	struct dep	*d;

	d = deploy_add(dp, c->id);
	d->props = json_tokener_parse(c->properties);
	d->links = json_tokener_parse(c->links);
	if (d->props == NULL)
		d->props = json_object_new_object();
	if (d->links == NULL)
		d->links = json_object_new_object();
	d->revision = c->revision;
	d->anchor = c->anchor;
	deploy_dep_sync(d);
	return (0);
}

static int
deploy_load_all(struct deploy *dp, struct ledger *l)
{
	if (dp->loaded)
		return (0);
	if (ledger_claim_list(l, "Deployment", NULL, 0, INT64_MAX,
	    deploy_load_one, dp) == -1) {
		deploy_drop(dp);
		return (-1);
	}
	dp->loaded = 1;
	return (0);
}

static struct dep *
deploy_find(struct deploy *dp, const char *id)
{
	size_t	i;

	for (i = 0; id != NULL && i < dp->ndeps; i++)
		if (strcmp(dp->deps[i].id, id) == 0)
			return (&dp->deps[i]);
	return (NULL);
}

/* The deployment a tool's own deployment id names, latest first. */
static struct dep *
deploy_find_tool(struct deploy *dp, const char *tid)
{
	struct dep	*best = NULL;
	size_t		 i;

	for (i = 0; tid != NULL && i < dp->ndeps; i++)
		if (strcmp(deploy_pstr(&dp->deps[i], "tool_deployment"),
		    tid) == 0 && (best == NULL ||
		    dp->deps[i].started > best->started ||
		    (dp->deps[i].started == best->started &&
		    strcmp(dp->deps[i].id, best->id) > 0)))
			best = &dp->deps[i];
	return (best);
}

static int
deploy_same_slot(const struct dep *d, const char *svc, const char *env,
    const char *region)
{
	return (strcmp(deploy_pstr(d, "service"), svc) == 0 &&
	    (env == NULL || strcmp(deploy_pstr(d, "environment"), env) == 0) &&
	    (region == NULL || strcmp(deploy_pstr(d, "region"), region) == 0));
}

/* The latest deployment (last started) in a slot; region NULL: any. */
static struct dep *
deploy_slot_latest(struct deploy *dp, const char *svc, const char *env,
    const char *region, const struct dep *except)
{
	struct dep	*best = NULL;
	size_t		 i;

	for (i = 0; i < dp->ndeps; i++) {
		if (&dp->deps[i] == except || dp->deps[i].state == DS_NONE ||
		    !deploy_same_slot(&dp->deps[i], svc, env, region))
			continue;
		if (best == NULL || dp->deps[i].started > best->started ||
		    (dp->deps[i].started == best->started &&
		    strcmp(dp->deps[i].id, best->id) > 0))
			best = &dp->deps[i];
	}
	return (best);
}

/* "service/environment[/region]/revision" into buf. */
static void
deploy_make_id(char *buf, size_t len, const char *svc, const char *env,
    const char *region, const char *rev)
{
	if (region != NULL && *region != '\0')
		snprintf(buf, len, "%s/%s/%s/%s", svc, env, region, rev);
	else
		snprintf(buf, len, "%s/%s/%s", svc, env, rev);
}

/*
 * The deployment an evidence refers to without being a deployment event
 * (a test, an override, a stall): its deployment link or deploymentId
 * (ours or the tool's), else service + environment [+ region] [+
 * revision]: that revision, or the slot's latest.
 */
static struct dep *
deploy_resolve(struct deploy *dp, json_object *props, json_object *links)
{
	const char	*id, *svc, *env, *region, *rev;
	char		 key[MP_IDMAX * 2];
	struct dep	*d;

	if ((id = deploy_str(links, "deployment")) != NULL &&
	    ((d = deploy_find(dp, id)) != NULL ||
	    (d = deploy_find_tool(dp, id)) != NULL))
		return (d);
	if ((id = deploy_str(props, "deploymentId")) != NULL &&
	    ((d = deploy_find(dp, id)) != NULL ||
	    (d = deploy_find_tool(dp, id)) != NULL))
		return (d);
	if ((svc = deploy_field(props, links, "service")) == NULL ||
	    (env = deploy_field(props, links, "environment")) == NULL)
		return (NULL);
	region = deploy_field(props, links, "region");
	if ((rev = deploy_field(props, links, "revision")) != NULL ||
	    (rev = deploy_str(links, "commit")) != NULL) {
		deploy_make_id(key, sizeof(key), svc, env, region, rev);
		if ((d = deploy_find(dp, key)) != NULL)
			return (d);
	}
	return (deploy_slot_latest(dp, svc, env, region, NULL));
}

/* Transitions, refusals and their side effects. */

struct cause {				/* why a transition is wanted */
	const struct evidence	*ev;
	json_object		*props;	/* the evidence's, borrowed */
	json_object		*links;
	const char		*actor;
	char			 reason[MP_ERRLEN];
	struct basis		 basis;	/* extra basis, before ev */
	int			 note;	/* a revision in the same state */
};

static int	deploy_move(struct deploy *, struct ledger *, struct dep *,
		    enum dstate, struct cause *, json_object *);

static void
deploy_release_touch(struct deploy *dp, const struct dep *d,
    const struct evidence *ev)
{
	const char	*rel = deploy_pstr(d, "release");
	struct drel	*r = NULL;
	size_t		 i;

	if (*rel == '\0')
		return;
	for (i = 0; i < dp->nrels; i++)
		if (strcmp(dp->rels[i].id, rel) == 0)
			r = &dp->rels[i];
	if (r == NULL) {
		dp->rels = xreallocarray(dp->rels, dp->nrels + 1,
		    sizeof(*dp->rels));
		r = &dp->rels[dp->nrels++];
		memset(r, 0, sizeof(*r));
		r->id = xstrdup(rel);
		basis_init(&r->basis, DEPLOY_BASIS_MAX);
	}
	if (ev->time > r->time)
		r->time = ev->time;
	if (r->lastseq != ev->seq) {
		basis_add_ev(&r->basis, ev->id, ev->seq);
		r->lastseq = ev->seq;
	}
}

/* Store a refused attempt as a DeploymentRejection claim. */
static int
deploy_reject(struct ledger *l, struct dep *d, const char *from,
    const char *to, const char *rule, struct cause *c)
{
	struct claim	 cl;
	json_object	*p;
	char		 id[MP_IDMAX * 2 + 32], t[MP_TIMELEN];
	char		*props, *basis;
	struct basis	 bs;
	int		 rc;

	log_debug("%s: %s: %s -> %s refused: %s", __func__, d ? d->id : "?",
	    from, to, c->reason);
	snprintf(id, sizeof(id), "%s#%020lld", d->id, (long long)c->ev->seq);
	p = json_object_new_object();
	deploy_set(p, "deployment", d->id);
	deploy_set(p, "state", from);
	deploy_set(p, "attempted", to);
	deploy_set(p, "rule", rule);
	deploy_set(p, "reason", c->reason);
	deploy_set(p, "actor", c->actor);
	deploy_set(p, "evidence_type", c->ev->type);
	tf_format(c->ev->time, t);
	deploy_set(p, "time", t);
	props = deploy_canonical(p);
	json_object_put(p);
	basis_init(&bs, DEPLOY_BASIS_MAX);
	basis_add_ev(&bs, c->ev->id, c->ev->seq);
	basis = basis_json(&bs, 0);
	basis_free(&bs);
	memset(&cl, 0, sizeof(cl));
	cl.type = (char *)"DeploymentRejection";
	cl.id = id;
	cl.revision = 1;
	cl.anchor = c->ev->time;
	cl.time = c->ev->time;
	cl.recorded_at = c->ev->recorded_at;
	cl.properties = props;
	cl.links = (char *)"{}";
	cl.basis = basis;
	rc = ledger_claim_put(l, &cl);
	free(props);
	free(basis);
	return (rc);
}

/*
 * Is d waiting for an upstream service?  Each declared upstream of d's
 * service must have a deployment of the same release (or, without a
 * release, its latest) in the same environment (and region, where the
 * upstream has one there), all of them verified or recovered.  Returns 1
 * with the waits in *why (an array, new), 0 when free to verify.
 */
static int
deploy_waiting(struct deploy *dp, const struct dep *d, json_object **why)
{
	const struct deploydep	*dd = NULL;
	const char		*svc = deploy_pstr(d, "service");
	const char		*env = deploy_pstr(d, "environment");
	const char		*rel = deploy_pstr(d, "release");
	const char		*reg = deploy_pstr(d, "region");
	struct dep		*u;
	size_t			 i, j, found;
	char			 msg[MP_ERRLEN];

	*why = NULL;
	for (i = 0; i < dp->cf->ndeps; i++)
		if (strcmp(dp->cf->deps[i].service, svc) == 0)
			dd = &dp->cf->deps[i];
	if (dd == NULL)
		return (0);
	for (i = 0; i < dd->nupstream; i++) {
		found = 0;
		for (j = 0; j < dp->ndeps; j++) {
			u = &dp->deps[j];
			if (u->state == DS_NONE || !deploy_same_slot(u,
			    dd->upstream[i], env, NULL))
				continue;
			if (*rel != '\0' ? strcmp(deploy_pstr(u, "release"),
			    rel) != 0 : u != deploy_slot_latest(dp,
			    dd->upstream[i], env, deploy_pstr(u, "region"),
			    NULL))
				continue;
			if (*reg != '\0' && *deploy_pstr(u, "region") != '\0' &&
			    strcmp(deploy_pstr(u, "region"), reg) != 0)
				continue;
			found++;
			if (u->state == DS_VERIFIED || u->state == DS_RECOVERED)
				continue;
			if (*why == NULL)
				*why = json_object_new_array();
			snprintf(msg, sizeof(msg), "%s (%s) is %s",
			    dd->upstream[i], u->id, deploy_state_name(u->state));
			json_object_array_add(*why, json_object_new_string(msg));
		}
		if (found == 0) {
			if (*why == NULL)
				*why = json_object_new_array();
			snprintf(msg, sizeof(msg), "%s has no deployment%s%s in "
			    "%s", dd->upstream[i], *rel ? " of release " : "",
			    rel, env);
			json_object_array_add(*why, json_object_new_string(msg));
		}
	}
	return (*why != NULL);
}

/*
 * A passing check (kind DCHK_*) for d: verified when the environment
 * accepts that kind and no upstream holds it, blocked while one does;
 * after a rollback, the deployment it rolled back becomes recovered.
 */
static int
deploy_check(struct deploy *dp, struct ledger *l, struct dep *d,
    unsigned kind, struct cause *c)
{
	json_object	*why, *extra, *pc;
	const char	*prev = deploy_pstr(d, "previous_state");
	char		 t[MP_TIMELEN];
	int		 ok;

	if (d->state == DS_REVERTED || d->state == DS_PARTIALLY_RESTORED) {
		snprintf(c->reason, sizeof(c->reason), "validated after the "
		    "rollback (%s)", c->ev->type);
		return (deploy_move(dp, l, d, DS_RECOVERED, c, NULL));
	}
	if (d->state == DS_VERIFIED || d->state == DS_RECOVERED)
		return (0);
	if (!(deploy_verify_by(dp->cf, deploy_pstr(d, "environment")) & kind))
		return (0);	/* not a criterion in this environment */
	ok = d->state == DS_DEPLOYED || d->state == DS_BLOCKED ||
	    (d->state == DS_STALLED && strcmp(prev, "deployed") == 0);
	if (!ok) {
		snprintf(c->reason, sizeof(c->reason), "verified needs the "
		    "deployment to be deployed first; it is %s",
		    deploy_state_name(d->state));
		return (deploy_reject(l, d, deploy_state_name(d->state),
		    "verified", "verify_after_deployed", c));
	}
	if (deploy_waiting(dp, d, &why)) {
		extra = json_object_new_object();
		json_object_object_add(extra, "waiting_for", why);
		pc = json_object_new_object();
		json_object_object_add(pc, "id",
		    json_object_new_string(c->ev->id));
		json_object_object_add(pc, "seq",
		    json_object_new_int64(c->ev->seq));
		tf_format(c->ev->time, t);
		json_object_object_add(pc, "time", json_object_new_string(t));
		json_object_object_add(extra, "pending_check", pc);
		snprintf(c->reason, sizeof(c->reason), "%s passed; waiting "
		    "for upstream: %s", c->ev->type, json_object_get_string(
		    json_object_array_get_idx(why, 0)));
		ok = deploy_move(dp, l, d, DS_BLOCKED, c, extra);
		json_object_put(extra);
		return (ok);
	}
	snprintf(c->reason, sizeof(c->reason), "%s passed after the deploy",
	    c->ev->type);
	return (deploy_move(dp, l, d, DS_VERIFIED, c, NULL));
}

/* d just became verified: release the deployments waiting for it. */
static int
deploy_unblock(struct deploy *dp, struct ledger *l, const struct dep *up,
    struct cause *uc)
{
	struct cause	 c;
	json_object	*why, *pc, *v;
	struct dep	*d;
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < dp->ndeps && rc == 0; i++) {
		d = &dp->deps[i];
		if (d->state != DS_BLOCKED || d == up)
			continue;
		if (deploy_waiting(dp, d, &why)) {
			json_object_put(why);
			continue;
		}
		memset(&c, 0, sizeof(c));
		c.ev = uc->ev;
		c.props = uc->props;
		c.links = uc->links;
		c.actor = uc->actor;
		basis_init(&c.basis, DEPLOY_BASIS_MAX);
		if (json_object_object_get_ex(d->props, "pending_check", &pc) &&
		    json_object_object_get_ex(pc, "seq", &v))
			basis_add_ev(&c.basis,
			    deploy_str(pc, "id") ? deploy_str(pc, "id") : "",
			    json_object_get_int64(v));
		snprintf(c.reason, sizeof(c.reason), "upstream %s (%s) is "
		    "verified; its check had passed", deploy_pstr(up,
		    "service"), up->id);
		rc = deploy_move(dp, l, d, DS_VERIFIED, &c, NULL);
		basis_free(&c.basis);
		/* d moved: the array may have grown; indices stay valid. */
	}
	return (rc);
}

/*
 * Store d's next revision in state `to`, caused by c, with extra
 * properties (borrowed, may be NULL), then its consequences: a rollback's
 * effect on the deployment it rolls back, the deployments waiting for d,
 * and d's release.  Refuses (and records) what the table does not allow.
 */
static int
deploy_move(struct deploy *dp, struct ledger *l, struct dep *d,
    enum dstate to, struct cause *c, json_object *extra)
{
	struct claim	 cl;
	json_object	*np, *nl, *v;
	struct basis	 bs;
	char		 t[MP_TIMELEN], reason[MP_ERRLEN], *props, *links;
	char		*basis, *did;
	enum dstate	 from = d->state;
	struct dep	*p;
	int		 rc, override;

	if (from == to && !c->note)
		return (0);
	override = strcmp(c->ev->type, "DeploymentOverride") == 0;
	if (!override && !c->note && !deploy_transition_ok(from, to)) {
		if (c->reason[0] == '\0' || from != DS_NONE)
			snprintf(c->reason, sizeof(c->reason), "%s: %s -> %s "
			    "is not a transition the state machine allows",
			    c->ev->type, from == DS_NONE ? "(new)" :
			    deploy_state_name(from), deploy_state_name(to));
		return (deploy_reject(l, d, from == DS_NONE ? "" :
		    deploy_state_name(from), deploy_state_name(to),
		    "transition_table", c));
	}
	np = d->props != NULL ? NULL : json_object_new_object();
	if (np == NULL && json_object_deep_copy(d->props, &np, NULL) != 0)
		fatalx("%s: json_object_deep_copy", __func__);
	nl = NULL;
	if (d->links != NULL && json_object_deep_copy(d->links, &nl,
	    NULL) != 0)
		fatalx("%s: json_object_deep_copy", __func__);
	if (nl == NULL)
		nl = json_object_new_object();
	/* Old waits and pending checks hold only while blocked. */
	json_object_object_del(np, "waiting_for");
	json_object_object_del(np, "pending_check");
	/* Only an incident's own failure is undone by its resolution. */
	if (!c->note)
		json_object_object_del(np, "failed_by_incident");
	if (extra != NULL) {
		json_object_object_foreach(extra, k, ev) {
			json_object_object_add(np, k, json_object_get(ev));
		}
	}
	deploy_set(np, "state", deploy_state_name(to));
	tf_format(c->ev->time, t);
	if (from != to) {
		deploy_set(np, "previous_state", from == DS_NONE ? "" :
		    deploy_state_name(from));
		deploy_set(np, "since", t);
	}
	if (to == DS_IN_PROGRESS)
		deploy_set(np, "started", t);
	deploy_set(np, "actor", c->actor);
	deploy_set(np, "reason", c->reason);
	props = deploy_canonical(np);
	links = deploy_canonical(nl);
	basis_init(&bs, DEPLOY_BASIS_MAX);
	basis_append(&bs, &c->basis);
	basis_add_ev(&bs, c->ev->id, c->ev->seq);
	basis = basis_json(&bs, 0);
	basis_free(&bs);
	memset(&cl, 0, sizeof(cl));
	cl.type = (char *)"Deployment";
	cl.id = d->id;
	cl.revision = d->revision + 1;
	cl.anchor = d->revision == 0 ? c->ev->time : d->anchor;
	cl.time = c->ev->time;
	cl.recorded_at = c->ev->recorded_at;
	cl.properties = props;
	cl.links = links;
	cl.basis = basis;
	rc = ledger_claim_put(l, &cl);
	free(props);
	free(links);
	free(basis);
	if (rc == -1) {
		json_object_put(np);
		json_object_put(nl);
		return (-1);
	}
	json_object_put(d->props);
	json_object_put(d->links);
	d->props = np;
	d->links = nl;
	d->anchor = cl.anchor;
	d->revision = cl.revision;
	deploy_dep_sync(d);
	log_debug("%s: %s: %s -> %s (%s)", __func__, d->id,
	    deploy_state_name(from), deploy_state_name(to), c->reason);
	deploy_release_touch(dp, d, c->ev);

	/* A rollback deployment moves the one it rolls back. */
	did = xstrdup(d->id);
	if (!c->note && (v = NULL, json_object_object_get_ex(np,
	    "rollback_of", &v)) &&
	    (p = deploy_find(dp, json_object_get_string(v))) != NULL) {
		enum dstate	 pto = DS_NONE;

		if (to == DS_DEPLOYED && p->state == DS_ROLLING_BACK)
			pto = DS_REVERTED;
		else if (to == DS_FAILED && p->state == DS_ROLLING_BACK)
			pto = DS_ROLLBACK_FAILED;
		else if (to == DS_FAILED && p->state == DS_REVERTED)
			pto = DS_PARTIALLY_RESTORED;
		else if (to == DS_VERIFIED && (p->state == DS_REVERTED ||
		    p->state == DS_PARTIALLY_RESTORED))
			pto = DS_RECOVERED;
		if (pto != DS_NONE) {
			snprintf(reason, sizeof(reason), "%s", c->reason);
			snprintf(c->reason, sizeof(c->reason), "rollback to %s "
			    "is %s", did, deploy_state_name(to));
			rc = deploy_move(dp, l, p, pto, c, NULL);
			snprintf(c->reason, sizeof(c->reason), "%s", reason);
		}
	}
	if (rc == 0 && !c->note && to == DS_VERIFIED &&
	    (d = deploy_find(dp, did)) != NULL)
		rc = deploy_unblock(dp, l, d, c);
	free(did);
	return (rc);
}

/* Mapping evidence onto transitions. */

/*
 * A deployment event's deployment, created (not yet stored) when new:
 * service and environment are needed; the revision is the revision
 * property, else the commit link, else the tool's deployment id.
 */
static struct dep *
deploy_of_event(struct deploy *dp, json_object *props, json_object *links,
    const char *svc, const char *env, const char *region)
{
	const char	*rev, *tid, *rel;
	char		 key[MP_IDMAX * 2];
	struct dep	*d;

	tid = deploy_str(props, "deploymentId");
	if (svc == NULL && (svc = deploy_field(props, links, "service")) ==
	    NULL)
		return (NULL);
	if (env == NULL && (env = deploy_field(props, links,
	    "environment")) == NULL)
		return (NULL);
	if (region == NULL)
		region = deploy_field(props, links, "region");
	if ((rev = deploy_str(props, "revision")) == NULL || *rev == '\0')
		if ((rev = deploy_str(links, "commit")) == NULL || *rev == '\0')
			if ((rev = tid) == NULL || *rev == '\0')
				return (NULL);
	deploy_make_id(key, sizeof(key), svc, env, region, rev);
	if ((d = deploy_find(dp, key)) == NULL) {
		d = deploy_add(dp, key);
		d->props = json_object_new_object();
		d->links = json_object_new_object();
		deploy_set(d->props, "service", svc);
		deploy_set(d->props, "environment", env);
		deploy_set(d->props, "region", region ? region : "");
		deploy_set(d->props, "revision", rev);
		deploy_set(d->props, "release", "");
		deploy_set(d->links, "service", svc);
		deploy_set(d->links, "environment", env);
	}
	/* What the latest event knows, kept on the deployment. */
	if (tid != NULL)
		deploy_set(d->props, "tool_deployment", tid);
	if ((rel = deploy_field(props, links, "release")) != NULL) {
		deploy_set(d->props, "release", rel);
		deploy_set(d->links, "release", rel);
	}
	if (deploy_str(links, "commit") != NULL)
		deploy_set(d->links, "commit", deploy_str(links, "commit"));
	if (deploy_str(links, "tenant") != NULL)
		deploy_set(d->links, "tenant", deploy_str(links, "tenant"));
	return (d);
}

/* A new deployment is dropped again when its first event was refused. */
static void
deploy_forget_new(struct deploy *dp, struct dep *d)
{
	if (d->revision != 0 || d != &dp->deps[dp->ndeps - 1])
		return;
	deploy_dep_clear(d);
	dp->ndeps--;
}

/*
 * After an event that stored no revision of d (revision still `before`):
 * undo what deploy_of_event noted on it (a release, the tool's id), so
 * that memory equals storage, as after a restart or in a rebuild.
 */
static int
deploy_settle(struct deploy *dp, struct ledger *l, struct dep *d,
    int64_t before)
{
	struct claim	c;
	int		rc;

	if (d->revision != before)
		return (0);
	if (before == 0) {
		deploy_forget_new(dp, d);
		return (0);
	}
	memset(&c, 0, sizeof(c));
	if ((rc = ledger_claim_get(l, "Deployment", d->id, INT64_MAX,
	    &c)) == 1) {
		json_object_put(d->props);
		json_object_put(d->links);
		if ((d->props = json_tokener_parse(c.properties)) == NULL)
			d->props = json_object_new_object();
		if ((d->links = json_tokener_parse(c.links)) == NULL)
			d->links = json_object_new_object();
		deploy_dep_sync(d);
	}
	claim_clear(&c);
	return (rc == -1 ? -1 : 0);
}

/*
 * A deployment starting in a slot whose latest deployment failed (or
 * stalled, or whose rollback failed) is a rollback of it when it is a
 * revision deployed there before, or says so (reason "rollback").
 */
static int
deploy_start(struct deploy *dp, struct ledger *l, struct dep *d,
    struct cause *c)
{
	struct dep	*p;
	json_object	*extra = NULL;
	const char	*why = deploy_str(c->props, "reason");
	char		*pid = NULL;
	int		 rc, rollback;

	p = deploy_slot_latest(dp, deploy_pstr(d, "service"),
	    deploy_pstr(d, "environment"), deploy_pstr(d, "region"), d);
	rollback = p != NULL && (p->state == DS_FAILED ||
	    p->state == DS_STALLED || p->state == DS_ROLLBACK_FAILED ||
	    p->state == DS_MANUAL_INTERVENTION) && (d->revision > 0 ||
	    (why != NULL && strcmp(why, "rollback") == 0));
	if (rollback) {
		pid = xstrdup(p->id);
		extra = json_object_new_object();
		deploy_set(extra, "rollback_of", pid);
		snprintf(c->reason, sizeof(c->reason), "rollback to %s "
		    "started (%s from %s)", deploy_pstr(d, "revision"),
		    c->ev->type, c->ev->source);
	} else if (d->revision > 0) {
		/* A redeploy that is no rollback is no longer one. */
		extra = json_object_new_object();
		deploy_set(extra, "rollback_of", "");
	}
	rc = deploy_move(dp, l, d, DS_IN_PROGRESS, c, extra);
	json_object_put(extra);
	if (rc == 0 && rollback && (p = deploy_find(dp, pid)) != NULL &&
	    (d = deploy_find(dp, pid)) != NULL) {
		snprintf(c->reason, sizeof(c->reason), "rolling back: %s "
		    "started", c->ev->subject);
		rc = deploy_move(dp, l, p, DS_ROLLING_BACK, c, NULL);
	}
	free(pid);
	return (rc);
}

static const struct deploypipe *
deploy_pipe(const struct deployconf *cf, json_object *props)
{
	const char	*name = deploy_str(props, "name");
	size_t		 i;

	for (i = 0; name != NULL && i < cf->npipes; i++)
		if (fnmatch(cf->pipes[i].name, name, 0) == 0)
			return (&cf->pipes[i]);
	return (NULL);
}

static int
deploy_event(struct deploy *dp, struct ledger *l, struct cause *c,
    enum dstate to, const struct deploypipe *pipe)
{
	struct dep	*d;
	int64_t		 before;
	int		 rc;

	d = deploy_of_event(dp, c->props, c->links, pipe ? pipe->service :
	    NULL, pipe ? pipe->environment : NULL, pipe ? pipe->region : NULL);
	if (d == NULL)
		return (0);	/* not keyable: no service or environment */
	before = d->revision;
	if (c->reason[0] == '\0') {
		const char *r = deploy_str(c->props, "reason");

		snprintf(c->reason, sizeof(c->reason), "%s from %s%s%s",
		    c->ev->type, c->ev->source, r ? ": " : "", r ? r : "");
	}
	if (to == DS_PLANNED && d->state != DS_NONE)
		rc = 0;		/* announced after it began: nothing to say */
	else if (to == DS_IN_PROGRESS && d->state != DS_IN_PROGRESS)
		rc = deploy_start(dp, l, d, c);
	else if (to == DS_DEPLOYED && d->state == DS_DEPLOYED)
		rc = 0;
	else
		rc = deploy_move(dp, l, d, to, c, NULL);
	if (rc == 0)
		rc = deploy_settle(dp, l, d, before);
	return (rc);
}

/* Does the string array a (may be NULL) hold s? */
static int
deploy_strv_has(json_object *a, const char *s)
{
	size_t	i;

	for (i = 0; a != NULL && i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(a,
		    i)), s) == 0)
			return (1);
	return (0);
}

/*
 * d's incident lists with iid added (add) or taken from the open ones, as
 * extra properties (new): incidents (every incident attributed to d) and
 * open_incidents (those not resolved yet).
 */
static json_object *
deploy_incident_lists(const struct dep *d, const char *iid, int add)
{
	json_object	*extra, *all, *open, *v, *nall, *nopen;
	size_t		 i;

	if (!json_object_object_get_ex(d->props, "incidents", &all) ||
	    !json_object_is_type(all, json_type_array))
		all = NULL;
	if (!json_object_object_get_ex(d->props, "open_incidents", &open) ||
	    !json_object_is_type(open, json_type_array))
		open = NULL;
	nall = json_object_new_array();
	nopen = json_object_new_array();
	for (i = 0; all != NULL && i < json_object_array_length(all); i++)
		json_object_array_add(nall, json_object_get(
		    json_object_array_get_idx(all, i)));
	for (i = 0; open != NULL && i < json_object_array_length(open); i++) {
		v = json_object_array_get_idx(open, i);
		if (!add && strcmp(json_object_get_string(v), iid) == 0)
			continue;
		json_object_array_add(nopen, json_object_get(v));
	}
	if (add && !deploy_strv_has(all, iid))
		json_object_array_add(nall, json_object_new_string(iid));
	if (add && !deploy_strv_has(open, iid))
		json_object_array_add(nopen, json_object_new_string(iid));
	extra = json_object_new_object();
	json_object_object_add(extra, "incidents", nall);
	json_object_object_add(extra, "open_incidents", nopen);
	if (json_object_object_get_ex(d->props, "failed_by_incident", &v))
		json_object_object_add(extra, "failed_by_incident",
		    json_object_get(v));
	return (extra);
}

/*
 * The deployment of a slot current at time `when`: the one started last
 * at or before it (ties as in deploy_slot_latest).
 */
static struct dep *
deploy_slot_at(struct deploy *dp, const char *svc, const char *env,
    const char *region, int64_t when)
{
	struct dep	*best = NULL;
	size_t		 i;

	for (i = 0; i < dp->ndeps; i++) {
		if (dp->deps[i].state == DS_NONE ||
		    dp->deps[i].started > when ||
		    !deploy_same_slot(&dp->deps[i], svc, env, region))
			continue;
		if (best == NULL || dp->deps[i].started > best->started ||
		    (dp->deps[i].started == best->started &&
		    strcmp(dp->deps[i].id, best->id) > 0))
			best = &dp->deps[i];
	}
	return (best);
}

/*
 * An incident belongs to one service in one environment (the catalog
 * resolved both before storage): it is attributed to the deployment of
 * each slot there that was current when it began, listed in that
 * deployment's incidents, and fails it when it was running or healthy.
 * An incident naming no environment touches every environment of the
 * service.
 */
static int
deploy_incident(struct deploy *dp, struct ledger *l, struct cause *c)
{
	const char	*svc, *env, *title, *iid;
	json_object	*extra;
	struct dep	*d;
	size_t		 i;
	int		 rc = 0, healthy;

	if ((svc = deploy_field(c->props, c->links, "service")) == NULL)
		return (0);
	env = deploy_field(c->props, c->links, "environment");
	title = deploy_str(c->props, "title");
	if ((iid = deploy_str(c->props, "incidentId")) == NULL)
		iid = c->ev->subject;
	for (i = 0; i < dp->ndeps && rc == 0; i++) {
		d = &dp->deps[i];
		if (d->state == DS_NONE || !deploy_same_slot(d, svc, env, NULL) ||
		    d != deploy_slot_at(dp, svc, deploy_pstr(d, "environment"),
		    deploy_pstr(d, "region"), c->ev->time))
			continue;
		extra = deploy_incident_lists(d, iid, 1);
		healthy = d->state == DS_IN_PROGRESS ||
		    d->state == DS_DEPLOYED || d->state == DS_VERIFIED ||
		    d->state == DS_BLOCKED || d->state == DS_RECOVERED;
		if (healthy) {
			json_object_object_add(extra, "failed_by_incident",
			    json_object_new_boolean(1));
			snprintf(c->reason, sizeof(c->reason), "incident %s "
			    "opened%s%s", iid, title ? ": " : "",
			    title ? title : "");
			c->note = 0;
			rc = deploy_move(dp, l, d, DS_FAILED, c, extra);
		} else if (!deploy_strv_has(json_object_object_get(d->props,
		    "incidents"), iid)) {
			snprintf(c->reason, sizeof(c->reason), "incident %s "
			    "attributed (already %s)", iid,
			    deploy_state_name(d->state));
			c->note = 1;
			rc = deploy_move(dp, l, d, d->state, c, extra);
			c->note = 0;
		}
		json_object_put(extra);
	}
	return (rc);
}

/*
 * An incident resolved: taken from the open incidents of the deployments
 * it was attributed to.  One it failed, with no other incident open and
 * no newer deployment in its slot, is recovered (basis: the resolution).
 */
static int
deploy_incident_resolved(struct deploy *dp, struct ledger *l,
    struct cause *c)
{
	json_object	*extra, *open, *fbi;
	const char	*iid;
	struct dep	*d;
	size_t		 i;
	int		 rc = 0;

	if ((iid = deploy_str(c->props, "incidentId")) == NULL)
		iid = c->ev->subject;
	for (i = 0; i < dp->ndeps && rc == 0; i++) {
		d = &dp->deps[i];
		if (d->state == DS_NONE || !json_object_object_get_ex(d->props,
		    "open_incidents", &open) || !deploy_strv_has(open, iid))
			continue;
		extra = deploy_incident_lists(d, iid, 0);
		json_object_object_get_ex(extra, "open_incidents", &open);
		if (d->state == DS_FAILED && json_object_array_length(open) ==
		    0 && json_object_object_get_ex(d->props,
		    "failed_by_incident", &fbi) && json_object_get_boolean(fbi) &&
		    d == deploy_slot_latest(dp, deploy_pstr(d, "service"),
		    deploy_pstr(d, "environment"), deploy_pstr(d, "region"),
		    NULL)) {
			json_object_object_del(extra, "failed_by_incident");
			snprintf(c->reason, sizeof(c->reason), "incident %s "
			    "resolved with no new deployment", iid);
			c->note = 0;
			rc = deploy_move(dp, l, d, DS_RECOVERED, c, extra);
		} else {
			snprintf(c->reason, sizeof(c->reason), "incident %s "
			    "resolved", iid);
			c->note = 1;
			rc = deploy_move(dp, l, d, d->state, c, extra);
			c->note = 0;
		}
		json_object_put(extra);
	}
	return (rc);
}

/* A test result or a build tied to a deployment. */
static int
deploy_test(struct deploy *dp, struct ledger *l, struct cause *c, int pass,
    unsigned kind)
{
	struct dep	*d;

	if ((d = deploy_resolve(dp, c->props, c->links)) == NULL)
		return (0);
	if (pass)
		return (deploy_check(dp, l, d, kind, c));
	if (d->state != DS_DEPLOYED && d->state != DS_VERIFIED &&
	    d->state != DS_BLOCKED)
		return (0);
	snprintf(c->reason, sizeof(c->reason), "%s failed%s%s", c->ev->type,
	    deploy_str(c->props, "suite") ? ": " : "",
	    deploy_str(c->props, "suite") ? deploy_str(c->props, "suite") :
	    "");
	return (deploy_move(dp, l, d, DS_FAILED, c, NULL));
}

static int
deploy_override(struct deploy *dp, struct ledger *l, const struct rules *t,
    struct cause *c)
{
	struct dep	*d;
	enum dstate	 to;
	const char	*st = deploy_str(c->props, "state");
	const char	*why = deploy_str(c->props, "reason");
	const char	*env;

	if ((d = deploy_resolve(dp, c->props, c->links)) == NULL ||
	    d->state == DS_NONE)
		return (0);
	if (deploy_state_parse(st, &to) == -1)
		return (0);	/* the type's enum keeps this out */
	c->actor = deploy_str(c->props, "actor") ? deploy_str(c->props,
	    "actor") : c->ev->source;
	env = deploy_pstr(d, "environment");
	if (strcmp(c->ev->source, "api") != 0) {
		snprintf(c->reason, sizeof(c->reason), "overrides are taken "
		    "only through the API (an admin or operator token), not "
		    "from source %s", c->ev->source);
		return (deploy_reject(l, d, deploy_state_name(d->state), st,
		    "override_source", c));
	}
	if (deploy_override_forbidden(t, env)) {
		snprintf(c->reason, sizeof(c->reason), "overrides are forbidden "
		    "in %s (deployments.overrides.forbid_in)", env);
		return (deploy_reject(l, d, deploy_state_name(d->state), st,
		    "override_forbidden", c));
	}
	if (to == d->state) {
		snprintf(c->reason, sizeof(c->reason), "the deployment is "
		    "already %s", st);
		return (deploy_reject(l, d, st, st, "override_same_state", c));
	}
	snprintf(c->reason, sizeof(c->reason), "manual override: %s",
	    why ? why : "");
	return (deploy_move(dp, l, d, to, c, NULL));
}

static int
deploy_stalled(struct deploy *dp, struct ledger *l, struct cause *c)
{
	struct dep	*d;
	const char	*st = deploy_str(c->props, "state");
	const char	*since = deploy_str(c->props, "since");
	int64_t		 a, b;

	if ((d = deploy_resolve(dp, c->props, c->links)) == NULL ||
	    d->state == DS_NONE)
		return (0);
	if (strcmp(c->ev->source, "milepostd") != 0) {
		snprintf(c->reason, sizeof(c->reason), "stalls are detected "
		    "only by milepostd's timer, not by source %s",
		    c->ev->source);
		return (deploy_reject(l, d, deploy_state_name(d->state),
		    "stalled", "stall_source", c));
	}
	if (st == NULL || strcmp(st, deploy_state_name(d->state)) != 0 ||
	    since == NULL || tf_parse(since, &a) == -1 ||
	    tf_parse(deploy_pstr(d, "since"), &b) == -1 || a != b) {
		snprintf(c->reason, sizeof(c->reason), "progress since the "
		    "stall was detected: now %s since %s",
		    deploy_state_name(d->state), deploy_pstr(d, "since"));
		return (deploy_reject(l, d, deploy_state_name(d->state),
		    "stalled", "stall_outdated", c));
	}
	snprintf(c->reason, sizeof(c->reason), "no progress in %s since %s "
	    "(timeout %.0fs in %s)", st, since, deploy_timeout_conf(dp->cf,
	    deploy_pstr(d, "environment")), deploy_pstr(d, "environment"));
	return (deploy_move(dp, l, d, DS_STALLED, c, NULL));
}

/*
 * Apply one stored evidence (in the writer's transaction).  Evidence of
 * other types costs a string compare or two.  Returns 0 or -1 (storage).
 */
int
deploy_apply(struct deploy *dp, struct ledger *l, const struct rules *t,
    const struct evidence *ev)
{
	const struct deploypipe	*pipe = NULL;
	struct cause		 c;
	struct dep		*d;
	const char		*s, *ty = ev->type;
	int64_t			 before;
	int			 rc = 0;

	if (strncmp(ty, "Deployment", 10) != 0 && strcmp(ty, "TestRun") != 0 &&
	    strcmp(ty, "IncidentOpened") != 0 &&
	    strcmp(ty, "IncidentResolved") != 0 &&
	    strcmp(ty, "BuildCompleted") != 0 &&
	    ((strcmp(ty, "PipelineQueued") != 0 &&
	    strcmp(ty, "PipelineStarted") != 0 &&
	    strcmp(ty, "PipelineCompleted") != 0) || dp->cf->npipes == 0))
		return (0);
	/*
	 * A build counts only with a deployment link: look for its key in
	 * the canonical links text (a quote inside a value is escaped, so
	 * this never misses one) before parsing anything.  Most builds have
	 * none, and this runs for every one of them.
	 */
	if (strcmp(ty, "BuildCompleted") == 0 &&
	    strstr(ev->links, "\"deployment\":") == NULL)
		return (0);
	if (deploy_load_all(dp, l) == -1)
		return (-1);
	memset(&c, 0, sizeof(c));
	c.ev = ev;
	c.actor = ev->source;
	basis_init(&c.basis, DEPLOY_BASIS_MAX);
	c.props = json_tokener_parse(ev->properties);
	c.links = json_tokener_parse(ev->links);
	if (strcmp(ty, "DeploymentPlanned") == 0)
		rc = deploy_event(dp, l, &c, DS_PLANNED, NULL);
	else if (strcmp(ty, "DeploymentStarted") == 0)
		rc = deploy_event(dp, l, &c, DS_IN_PROGRESS, NULL);
	else if (strcmp(ty, "DeploymentSucceeded") == 0)
		rc = deploy_event(dp, l, &c, DS_DEPLOYED, NULL);
	else if (strcmp(ty, "DeploymentFailed") == 0)
		rc = deploy_event(dp, l, &c, DS_FAILED, NULL);
	else if (strcmp(ty, "DeploymentHealth") == 0) {
		d = deploy_of_event(dp, c.props, c.links, NULL, NULL, NULL);
		s = deploy_str(c.props, "health");
		before = d != NULL ? d->revision : 0;
		if (d == NULL || s == NULL)
			;
		else if (d->state == DS_NONE)
			;
		else if (strcmp(s, "Healthy") == 0) {
			if (d->state == DS_DEPLOYED || d->state == DS_BLOCKED ||
			    d->state == DS_STALLED || d->state == DS_REVERTED ||
			    d->state == DS_PARTIALLY_RESTORED)
				rc = deploy_check(dp, l, d, DCHK_HEALTH, &c);
		} else if ((strcmp(s, "Degraded") == 0 ||
		    strcmp(s, "Missing") == 0) && (d->state == DS_DEPLOYED ||
		    d->state == DS_VERIFIED || d->state == DS_BLOCKED)) {
			snprintf(c.reason, sizeof(c.reason), "health %s "
			    "after the deploy (%s)", s, ev->source);
			rc = deploy_move(dp, l, d, DS_FAILED, &c, NULL);
		}
		if (d != NULL && rc == 0)
			rc = deploy_settle(dp, l, d, before);
	} else if (strcmp(ty, "DeploymentOverride") == 0)
		rc = deploy_override(dp, l, t, &c);
	else if (strcmp(ty, "DeploymentStalled") == 0)
		rc = deploy_stalled(dp, l, &c);
	else if (strcmp(ty, "TestRun") == 0) {
		s = deploy_str(c.props, "status");
		if (s != NULL)
			rc = deploy_test(dp, l, &c, strcmp(s, "passed") == 0,
			    DCHK_TEST);
	} else if (strcmp(ty, "BuildCompleted") == 0) {
		/* A check run with `milepost emit`/`run`, linked to one. */
		s = deploy_str(c.props, "buildStatus");
		if (s != NULL && deploy_str(c.links, "deployment") != NULL)
			rc = deploy_test(dp, l, &c, strcmp(s, "success") == 0,
			    DCHK_TEST);
	} else if (strcmp(ty, "IncidentOpened") == 0)
		rc = deploy_incident(dp, l, &c);
	else if (strcmp(ty, "IncidentResolved") == 0)
		rc = deploy_incident_resolved(dp, l, &c);
	else if ((pipe = deploy_pipe(dp->cf, c.props)) != NULL) {
		s = deploy_str(c.props, "status");
		if (strcmp(ty, "PipelineQueued") == 0)
			rc = deploy_event(dp, l, &c, DS_PLANNED, pipe);
		else if (strcmp(ty, "PipelineStarted") == 0)
			rc = deploy_event(dp, l, &c, DS_IN_PROGRESS, pipe);
		else if (s != NULL && strcmp(s, "success") == 0)
			rc = deploy_event(dp, l, &c, DS_DEPLOYED, pipe);
		else if (s != NULL && (strcmp(s, "failure") == 0 ||
		    strcmp(s, "error") == 0 || strcmp(s, "cancelled") == 0))
			rc = deploy_event(dp, l, &c, DS_FAILED, pipe);
	}
	json_object_put(c.props);
	json_object_put(c.links);
	basis_free(&c.basis);
	return (rc);
}

static int
deploy_cmp_dep(const void *a, const void *b)
{
	return (strcmp((*(const struct dep *const *)a)->id,
	    (*(const struct dep *const *)b)->id));
}

/*
 * A release's composite state from its components:
 *   rolling_back        any component is rolling back;
 *   verified            every component is verified (or recovered);
 *   failed              none is deployed or verified, and one failed;
 *   partially_deployed  some are deployed or verified, some failed;
 *   planned             every component is planned;
 *   in_progress         otherwise (still moving, none failed).
 * "holding" lists the components that are not verified.
 */
const char *
deploy_release_state(const enum dstate *s, size_t n)
{
	size_t	i, ok = 0, bad = 0, planned = 0, back = 0;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case DS_VERIFIED:
		case DS_RECOVERED:
			ok++;
			break;
		case DS_FAILED:
		case DS_STALLED:
		case DS_ROLLBACK_FAILED:
		case DS_MANUAL_INTERVENTION:
		case DS_REVERTED:
		case DS_PARTIALLY_RESTORED:
			bad++;
			break;
		case DS_ROLLING_BACK:
			back++;
			break;
		case DS_PLANNED:
			planned++;
			break;
		default:
			break;
		}
	}
	if (back > 0)
		return ("rolling_back");
	if (n > 0 && ok == n)
		return ("verified");
	if (bad > 0) {
		for (i = 0; i < n; i++)
			if (s[i] == DS_DEPLOYED || s[i] == DS_VERIFIED ||
			    s[i] == DS_RECOVERED || s[i] == DS_BLOCKED)
				return ("partially_deployed");
		return ("failed");
	}
	if (n > 0 && planned == n)
		return ("planned");
	return ("in_progress");
}

static int
deploy_release_put(struct deploy *dp, struct ledger *l, struct drel *r,
    int64_t recorded_at)
{
	struct dep	**v;
	enum dstate	 *st;
	struct claim	  cur, cl;
	json_object	 *p, *comps, *hold, *one;
	const char	 *tenant = NULL, *t;
	char		 *props, *basis;
	size_t		  i, n = 0;
	int		  rc, found, one_tenant = 1;

	v = xcalloc(dp->ndeps + 1, sizeof(*v));
	for (i = 0; i < dp->ndeps; i++)
		if (dp->deps[i].state != DS_NONE &&
		    strcmp(deploy_pstr(&dp->deps[i], "release"), r->id) == 0)
			v[n++] = &dp->deps[i];
	qsort(v, n, sizeof(*v), deploy_cmp_dep);
	st = xcalloc(n + 1, sizeof(*st));
	comps = json_object_new_array();
	hold = json_object_new_array();
	for (i = 0; i < n; i++) {
		st[i] = v[i]->state;
		one = json_object_new_object();
		deploy_set(one, "deployment", v[i]->id);
		deploy_set(one, "service", deploy_pstr(v[i], "service"));
		deploy_set(one, "environment", deploy_pstr(v[i],
		    "environment"));
		deploy_set(one, "region", deploy_pstr(v[i], "region"));
		deploy_set(one, "state", deploy_state_name(v[i]->state));
		json_object_array_add(comps, one);
		if (v[i]->state != DS_VERIFIED && v[i]->state != DS_RECOVERED)
			json_object_array_add(hold,
			    json_object_new_string(v[i]->id));
		/* A release is a tenant's when all its components are. */
		t = deploy_str(v[i]->links, "tenant");
		if (t == NULL || (tenant != NULL && strcmp(t, tenant) != 0))
			one_tenant = 0;
		tenant = t;
	}
	p = json_object_new_object();
	deploy_set(p, "state", deploy_release_state(st, n));
	json_object_object_add(p, "components", comps);
	json_object_object_add(p, "holding", hold);
	props = deploy_canonical(p);
	json_object_put(p);
	free(st);
	free(v);
	memset(&cur, 0, sizeof(cur));
	if ((found = ledger_claim_get(l, "Release", r->id, INT64_MAX,
	    &cur)) == -1) {
		free(props);
		return (-1);
	}
	if (found && strcmp(cur.properties, props) == 0) {
		claim_clear(&cur);
		free(props);
		return (0);
	}
	basis = basis_json(&r->basis, 0);
	memset(&cl, 0, sizeof(cl));
	cl.type = (char *)"Release";
	cl.id = r->id;
	cl.revision = found ? cur.revision + 1 : 1;
	cl.anchor = found ? cur.anchor : r->time;
	cl.time = r->time;
	cl.recorded_at = recorded_at;
	cl.properties = props;
	p = json_object_new_object();
	deploy_set(p, "release", r->id);
	if (one_tenant && tenant != NULL)
		deploy_set(p, "tenant", tenant);
	cl.links = deploy_canonical(p);
	json_object_put(p);
	cl.basis = basis;
	rc = ledger_claim_put(l, &cl);
	claim_clear(&cur);
	free(props);
	free(cl.links);
	free(basis);
	return (rc);
}

/* End of a transaction: one Release revision per changed release. */
int
deploy_flush(struct deploy *dp, struct ledger *l, int64_t recorded_at)
{
	size_t	i;
	int	rc = 0;

	for (i = 0; i < dp->nrels && rc == 0; i++)
		rc = deploy_release_put(dp, l, &dp->rels[i], recorded_at);
	for (i = 0; i < dp->nrels; i++) {
		free(dp->rels[i].id);
		basis_free(&dp->rels[i].basis);
	}
	free(dp->rels);
	dp->rels = NULL;
	dp->nrels = 0;
	return (rc);
}

struct deploy *
deploy_new(const struct rules *t)
{
	struct deploy	*dp;

	dp = xcalloc(1, sizeof(*dp));
	dp->cf = deploy_conf(t);
	return (dp);
}

/* A rolled-back transaction: forget everything; storage is the truth. */
void
deploy_abort(struct deploy *dp)
{
	if (dp != NULL)
		deploy_drop(dp);
}

void
deploy_free(struct deploy *dp)
{
	if (dp == NULL)
		return;
	deploy_drop(dp);
	free(dp);
}
