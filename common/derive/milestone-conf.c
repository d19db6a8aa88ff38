/*
 * milestone-conf.c: the "milestones:" list and "milestone_rules:" of the
 * configuration, and the pure mapping rules that tie a commit, a
 * deployment or an incident to milestones.  No storage here: milestone.c
 * applies these to the ledger in the writer's transaction.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "derive/derive.h"

#define MSC_DEFAULT_K		3
#define MSC_DEFAULT_CHECKPOINTS	1000
#define MSC_DEFAULT_MARGIN	(7LL * 86400 * 1000000)
#define MSC_DEFAULT_ROLLBACK	10.0
#define MSC_DEFAULT_WEIGHT	5.0
#define MSC_MAX_MILESTONES	1000

/* Severity weights, in percentage points of progress, case-insensitive. */
static const struct {
	const char	*name;
	double		 weight;
} msc_default_weights[] = {
	{ "critical", 20 }, { "sev1", 20 }, { "p1", 20 },
	{ "high", 10 }, { "sev2", 10 }, { "p2", 10 }, { "error", 10 },
	{ "medium", 5 }, { "moderate", 5 }, { "sev3", 5 }, { "p3", 5 },
	{ "warning", 5 },
	{ "low", 2 }, { "sev4", 2 }, { "p4", 2 },
	{ "info", 1 }, { "sev5", 1 }, { "p5", 1 },
};

void
milestone_conf_free(struct milestone_conf *mc)
{
	size_t	i;

	if (mc == NULL)
		return;
	for (i = 0; i < mc->nms; i++) {
		struct milestone_def *d = &mc->ms[i];

		free(d->id);
		free(d->tenant);
		free(d->title);
		free(d->description);
		free(d->environment);
		strv_free(d->services, d->nservices);
		strv_free(d->issues, d->nissues);
		strv_free(d->commits, d->ncommits);
		strv_free(d->artifacts, d->nartifacts);
	}
	free(mc->ms);
	for (i = 0; i < mc->nrules; i++) {
		free(mc->rules[i].pattern);
		free(mc->rules[i].milestone);
	}
	free(mc->rules);
	strv_free(mc->sev_names, mc->nsev);
	free(mc->sev_weights);
	free(mc);
}

/* An id: letters, digits, '.', '_', '-'; so it is safe in a URL path. */
int
milestone_id_ok(const char *s)
{
	size_t	n;

	if (s == NULL || *s == '\0' || strlen(s) > 128)
		return (0);
	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' &&
		    s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return (0);
	return (1);
}

/*
 * A time: RFC 3339, or a date YYYY-MM-DD meaning the end of that day
 * (23:59:59 UTC) when end is set and its start otherwise.
 */
static int
msc_time(const char *s, int end, int64_t *t)
{
	char	buf[48];

	if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
		snprintf(buf, sizeof(buf), "%sT%s", s, end ? "23:59:59Z" :
		    "00:00:00Z");
		return (tf_parse(buf, t));
	}
	return (tf_parse(s, t));
}

static const char *
msc_str(json_object *o, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

static int
msc_one(const char *file, json_object *o, struct milestone_def *d,
    char *err, size_t errlen)
{
	const char	*s;
	json_object	*scope;

	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(err, errlen, file, o, "milestones", "each "
		    "milestone must be a mapping with id, tenant and due"));
	json_object_object_foreach(o, key, val) {
		if (strcmp(key, "id") != 0 && strcmp(key, "tenant") != 0 &&
		    strcmp(key, "client") != 0 && strcmp(key, "due") != 0 &&
		    strcmp(key, "start") != 0 &&
		    strcmp(key, "environment") != 0 &&
		    strcmp(key, "scope") != 0 && strcmp(key, "title") != 0 &&
		    strcmp(key, "description") != 0)
			return (yaml_errf(err, errlen, file, val ? val : o,
			    key, "unknown milestone setting (id, title, "
			    "description, tenant or client, due, start, "
			    "environment, scope)"));
	}
	if ((s = msc_str(o, "id")) == NULL || !milestone_id_ok(s))
		return (yaml_errf(err, errlen, file, o, "id", "is required: "
		    "letters, digits, '.', '_' or '-' (e.g. M-42)"));
	d->id = xstrdup(s);
	if (json_object_object_get_ex(o, "title", NULL) && ((s = msc_str(o,
	    "title")) == NULL || *s == '\0'))
		return (yaml_errf(err, errlen, file, o, "title", "%s: must be "
		    "a non-empty string", d->id));
	if (json_object_object_get_ex(o, "description", NULL) &&
	    (s = msc_str(o, "description")) == NULL)
		return (yaml_errf(err, errlen, file, o, "description", "%s: "
		    "must be a string", d->id));
	if ((s = msc_str(o, "title")) != NULL)
		d->title = xstrdup(s);
	if ((s = msc_str(o, "description")) != NULL)
		d->description = xstrdup(s);
	if ((s = msc_str(o, "tenant")) == NULL && (s = msc_str(o,
	    "client")) == NULL)
		return (yaml_errf(err, errlen, file, o, "tenant", "%s: the "
		    "milestone's tenant (or client) is required", d->id));
	d->tenant = xstrdup(s);
	if ((s = msc_str(o, "due")) == NULL || msc_time(s, 1, &d->due) == -1)
		return (yaml_errf(err, errlen, file, o, "due", "%s: must be "
		    "an RFC 3339 time or a date YYYY-MM-DD", d->id));
	d->start = 0;
	if (json_object_object_get_ex(o, "start", NULL) && ((s = msc_str(o,
	    "start")) == NULL || msc_time(s, 0, &d->start) == -1 ||
	    d->start >= d->due))
		return (yaml_errf(err, errlen, file, o, "start", "%s: must be "
		    "an RFC 3339 time or a date, before due", d->id));
	d->environment = xstrdup((s = msc_str(o, "environment")) != NULL ?
	    s : "production");
	if (!json_object_object_get_ex(o, "scope", &scope))
		return (0);
	if (!json_object_is_type(scope, json_type_object))
		return (yaml_errf(err, errlen, file, scope ? scope : o,
		    "scope", "must be a mapping (services, issues, commits, "
		    "artifacts)"));
	json_object_object_foreach(scope, k, v) {
		if (strcmp(k, "services") == 0) {
			if (yaml_strlist(v, file, k, 1, 0, &d->services, &d->nservices,
			    err, errlen) == -1)
				return (-1);
		} else if (strcmp(k, "issues") == 0) {
			if (yaml_strlist(v, file, k, 1, 0, &d->issues, &d->nissues, err,
			    errlen) == -1)
				return (-1);
		} else if (strcmp(k, "commits") == 0) {
			if (yaml_strlist(v, file, k, 1, 0, &d->commits, &d->ncommits, err,
			    errlen) == -1)
				return (-1);
		} else if (strcmp(k, "artifacts") == 0) {
			if (yaml_strlist(v, file, k, 1, 0, &d->artifacts, &d->nartifacts,
			    err, errlen) == -1)
				return (-1);
		} else
			return (yaml_errf(err, errlen, file, v ? v : scope, k,
			    "unknown scope (services, issues, commits, "
			    "artifacts)"));
	}
	return (0);
}

static int
msc_find(const struct milestone_conf *mc, const char *id)
{
	size_t	i;

	for (i = 0; i < mc->nms; i++)
		if (strcmp(mc->ms[i].id, id) == 0)
			return ((int)i);
	return (-1);
}

/* A list of {pattern|service: …, milestone: …} into rules of kind. */
static int
msc_rules(const char *file, struct milestone_conf *mc, json_object *o,
    const char *key, enum milestone_rule_kind kind, char *err, size_t errlen)
{
	json_object	*e;
	const char	*pat, *m, *pkey;
	size_t		 i, n;
	int		 idx;

	if (!json_object_is_type(o, json_type_array))
		return (yaml_errf(err, errlen, file, o, key, "must be a list "
		    "of {pattern, milestone}"));
	n = json_object_array_length(o);
	pkey = kind == MR_SERVICE ? "service" : "pattern";
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(o, i);
		if (!json_object_is_type(e, json_type_object) ||
		    ((pat = msc_str(e, pkey)) == NULL && (pat = msc_str(e,
		    "pattern")) == NULL) || *pat == '\0')
			return (yaml_errf(err, errlen, file, e ? e : o, key,
			    "entry %zu needs %s and milestone", i + 1, pkey));
		if ((m = msc_str(e, "milestone")) == NULL ||
		    (idx = msc_find(mc, m)) == -1)
			return (yaml_errf(err, errlen, file, e, key, "entry "
			    "%zu: milestone %s is not declared in milestones",
			    i + 1, m ? m : "(missing)"));
		mc->rules = xreallocarray(mc->rules, mc->nrules + 1,
		    sizeof(*mc->rules));
		mc->rules[mc->nrules].kind = kind;
		mc->rules[mc->nrules].pattern = xstrdup(pat);
		mc->rules[mc->nrules].milestone = xstrdup(m);
		mc->rules[mc->nrules].index = (size_t)idx;
		mc->nrules++;
	}
	return (0);
}

static int
msc_number(const char *file, json_object *v, const char *key, double min,
    double max, double *out, char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return (yaml_errf(err, errlen, file, v, key, "must be a "
		    "number from %g to %g", min, max));
	*out = json_object_get_double(v);
	if (*out < min || *out > max)
		return (yaml_errf(err, errlen, file, v, key, "must be a "
		    "number from %g to %g", min, max));
	return (0);
}

static void
msc_weight_set(struct milestone_conf *mc, const char *name, double w)
{
	size_t	i;

	for (i = 0; i < mc->nsev; i++)
		if (strcasecmp(mc->sev_names[i], name) == 0) {
			mc->sev_weights[i] = w;
			return;
		}
	mc->sev_names = xreallocarray(mc->sev_names, mc->nsev + 1,
	    sizeof(*mc->sev_names));
	mc->sev_weights = xreallocarray(mc->sev_weights, mc->nsev + 1,
	    sizeof(*mc->sev_weights));
	mc->sev_names[mc->nsev] = xstrdup(name);
	mc->sev_weights[mc->nsev++] = w;
}

static int
msc_rules_block(const char *file, struct milestone_conf *mc, json_object *o,
    char *err, size_t errlen)
{
	double	 d;

	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(err, errlen, file, o, "milestone_rules",
		    "must be a mapping"));
	json_object_object_foreach(o, key, val) {
		if (strcmp(key, "issue_keys") == 0) {
			if (msc_rules(file, mc, val, key, MR_ISSUE, err,
			    errlen) == -1)
				return (-1);
		} else if (strcmp(key, "services") == 0) {
			if (msc_rules(file, mc, val, key, MR_SERVICE, err,
			    errlen) == -1)
				return (-1);
		} else if (strcmp(key, "branches") == 0) {
			if (msc_rules(file, mc, val, key, MR_BRANCH, err,
			    errlen) == -1)
				return (-1);
		} else if (strcmp(key, "max_per_deployment") == 0) {
			if (msc_number(file, val, key, 1, 100, &d, err,
			    errlen) == -1)
				return (-1);
			mc->max_per_deployment = (size_t)d;
		} else if (strcmp(key, "max_checkpoints") == 0) {
			if (msc_number(file, val, key, 1, 100000, &d, err,
			    errlen) == -1)
				return (-1);
			mc->max_checkpoints = (size_t)d;
		} else if (strcmp(key, "rollback_weight") == 0) {
			if (msc_number(file, val, key, 0, 100,
			    &mc->rollback_weight, err, errlen) == -1)
				return (-1);
		} else if (strcmp(key, "slo_weights") == 0) {
			/* A burning SLO's delta, per class (slo.c, milestone.c). */
			if (!json_object_is_type(val, json_type_object))
				return (yaml_errf(err, errlen, file, val ? val : o,
				    key, "%s", "must be { page: N, ticket: N }"));
			json_object_object_foreach(val, ck, cv) {
				if (strcmp(ck, "page") != 0 &&
				    strcmp(ck, "ticket") != 0)
					return (yaml_errf(err, errlen, file, cv ?
					    cv : val, key, "unknown class %s "
					    "(page or ticket)", ck));
				if (msc_number(file, cv, key, 0, 100, &d, err,
				    errlen) == -1)
					return (-1);
				if (strcmp(ck, "page") == 0)
					mc->slo_page_weight = d;
				else
					mc->slo_ticket_weight = d;
			}
		} else if (strcmp(key, "default_weight") == 0) {
			if (msc_number(file, val, key, 0, 100,
			    &mc->default_weight, err, errlen) == -1)
				return (-1);
		} else if (strcmp(key, "at_risk_margin") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    ts_parse(json_object_get_string(val), &d) == -1) {
				if (msc_number(file, val, key, 0, 1e9, &d, err,
				    errlen) == -1)
					return (yaml_errf(err, errlen, file,
					    val, key, "must be a timespan "
					    "such as 7d"));
			}
			mc->at_risk_margin = (int64_t)(d * 1e6);
		} else if (strcmp(key, "clock") == 0) {
			if (!json_object_is_type(val, json_type_boolean))
				return (yaml_errf(err, errlen, file, val ?
				    val : o, key, "must be true or false"));
			mc->clock = json_object_get_boolean(val);
		} else if (strcmp(key, "severity_weights") == 0) {
			if (!json_object_is_type(val, json_type_object))
				return (yaml_errf(err, errlen, file, val, key,
				    "must map severities to weights, e.g. "
				    "{ critical: 20 }"));
			json_object_object_foreach(val, sk, sv) {
				if (msc_number(file, sv, sk, 0, 100, &d, err,
				    errlen) == -1)
					return (-1);
				msc_weight_set(mc, sk, d);
			}
		} else
			return (yaml_errf(err, errlen, file, val ? val : o,
			    key, "unknown milestone rule (issue_keys, services, "
			    "branches, max_per_deployment, max_checkpoints, "
			    "severity_weights, default_weight, rollback_weight, "
			    "slo_weights, at_risk_margin, clock)"));
	}
	return (0);
}

/*
 * Read "milestones" and "milestone_rules" from the whole configuration
 * tree (borrowed).  Returns a new conf (empty when neither is set), or
 * NULL with err as "file:line: key: reason".
 */
struct milestone_conf *
milestone_conf_load(json_object *tree, const char *file, char *err,
    size_t errlen)
{
	struct milestone_conf	*mc;
	json_object		*list, *rules;
	size_t			 i, j, n;

	mc = xcalloc(1, sizeof(*mc));
	mc->max_per_deployment = MSC_DEFAULT_K;
	mc->max_checkpoints = MSC_DEFAULT_CHECKPOINTS;
	mc->at_risk_margin = MSC_DEFAULT_MARGIN;
	mc->clock = 1;
	mc->rollback_weight = MSC_DEFAULT_ROLLBACK;
	mc->default_weight = MSC_DEFAULT_WEIGHT;
	mc->slo_page_weight = 20;
	mc->slo_ticket_weight = 5;
	for (i = 0; i < sizeof(msc_default_weights) /
	    sizeof(msc_default_weights[0]); i++)
		msc_weight_set(mc, msc_default_weights[i].name,
		    msc_default_weights[i].weight);
	if (json_object_object_get_ex(tree, "milestones", &list)) {
		if (!json_object_is_type(list, json_type_array) ||
		    (n = json_object_array_length(list)) >
		    MSC_MAX_MILESTONES) {
			yaml_errf(err, errlen, file, list ? list : tree,
			    "milestones", "must be a list (at most %d) of "
			    "{id, tenant, due, environment, scope}",
			    MSC_MAX_MILESTONES);
			goto fail;
		}
		mc->ms = xcalloc(n ? n : 1, sizeof(*mc->ms));
		for (i = 0; i < n; i++) {
			mc->nms = i + 1;
			if (msc_one(file, json_object_array_get_idx(list, i),
			    &mc->ms[i], err, errlen) == -1)
				goto fail;
			for (j = 0; j < i; j++)
				if (strcmp(mc->ms[j].id, mc->ms[i].id) == 0) {
					yaml_errf(err, errlen, file,
					    json_object_array_get_idx(list, i),
					    "id", "%s is declared twice",
					    mc->ms[i].id);
					goto fail;
				}
		}
	}
	if (json_object_object_get_ex(tree, "milestone_rules", &rules) &&
	    msc_rules_block(file, mc, rules, err, errlen) == -1)
		goto fail;
	return (mc);
fail:
	milestone_conf_free(mc);
	return (NULL);
}

int
milestone_conf_index(const struct milestone_conf *mc, const char *id)
{
	return (msc_find(mc, id));
}

static int
msc_in(char **v, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return (1);
	return (0);
}

/*
 * Is issue key k in scope of milestone i: declared in its scope, or
 * matching an issue_keys rule for it?
 */
int
milestone_issue_in(const struct milestone_conf *mc, size_t i, const char *k)
{
	size_t	r;

	if (msc_in(mc->ms[i].issues, mc->ms[i].nissues, k))
		return (1);
	for (r = 0; r < mc->nrules; r++)
		if (mc->rules[r].kind == MR_ISSUE && mc->rules[r].index == i &&
		    fnmatch(mc->rules[r].pattern, k, 0) == 0)
			return (1);
	return (0);
}

/* Is service s in scope of milestone i (services, artifacts, rules)? */
int
milestone_service_in(const struct milestone_conf *mc, size_t i,
    const char *s)
{
	size_t	r;

	if (s == NULL || *s == '\0')
		return (0);
	if (msc_in(mc->ms[i].services, mc->ms[i].nservices, s) ||
	    msc_in(mc->ms[i].artifacts, mc->ms[i].nartifacts, s))
		return (MS_VIA_SERVICE);
	for (r = 0; r < mc->nrules; r++)
		if (mc->rules[r].kind == MR_SERVICE &&
		    mc->rules[r].index == i &&
		    fnmatch(mc->rules[r].pattern, s, 0) == 0)
			return (MS_VIA_RULE);
	return (0);
}

/*
 * Which milestones does a commit name?  via[i] gets MS_VIA_* flags for
 * each milestone i (via has mc->nms entries): trailers ("Milestone:
 * M-42", the list milestones, borrowed), scope.commits, branch rules, and
 * issue keys (the list issues) in scope.  Returns how many milestones
 * are named; more than max_per_deployment is a cardinality violation.
 */
size_t
milestone_map_commit(const struct milestone_conf *mc, const char *sha,
    const char *branch, json_object *milestones, json_object *issues,
    unsigned *via)
{
	size_t	i, j, r, n = 0;
	int	idx;

	memset(via, 0, mc->nms * sizeof(*via));
	for (j = 0; milestones != NULL &&
	    json_object_is_type(milestones, json_type_array) &&
	    j < json_object_array_length(milestones); j++) {
		idx = msc_find(mc, json_object_get_string(
		    json_object_array_get_idx(milestones, j)));
		if (idx >= 0)
			via[idx] |= MS_VIA_TRAILER;
	}
	for (i = 0; i < mc->nms; i++) {
		for (j = 0; sha != NULL && j < mc->ms[i].ncommits; j++)
			if (ident_sha_eq(mc->ms[i].commits[j], sha))
				via[i] |= MS_VIA_COMMIT;
		for (j = 0; issues != NULL &&
		    json_object_is_type(issues, json_type_array) &&
		    j < json_object_array_length(issues); j++)
			if (milestone_issue_in(mc, i, json_object_get_string(
			    json_object_array_get_idx(issues, j))))
				via[i] |= MS_VIA_ISSUE;
	}
	for (r = 0; branch != NULL && r < mc->nrules; r++)
		if (mc->rules[r].kind == MR_BRANCH &&
		    fnmatch(mc->rules[r].pattern, branch, 0) == 0)
			via[mc->rules[r].index] |= MS_VIA_BRANCH;
	for (i = 0; i < mc->nms; i++)
		if (via[i])
			n++;
	return (n);
}

/*
 * Which milestones does a deployment of service to environment map to?
 * Those targeting that environment whose scope or service rules name the
 * service, or that links (NULL-terminated milestone ids, e.g. from an
 * Argo CD annotation) name.  Flags go to via[i]; returns the count.
 */
size_t
milestone_map_deployment(const struct milestone_conf *mc, const char *service,
    const char *environment, const char *const *links, unsigned *via)
{
	size_t	i, n = 0;
	int	idx;

	memset(via, 0, mc->nms * sizeof(*via));
	for (i = 0; i < mc->nms; i++) {
		if (environment == NULL ||
		    strcmp(mc->ms[i].environment, environment) != 0)
			continue;
		via[i] |= (unsigned)milestone_service_in(mc, i, service);
	}
	for (; links != NULL && *links != NULL; links++)
		if ((idx = msc_find(mc, *links)) >= 0 && environment != NULL &&
		    strcmp(mc->ms[idx].environment, environment) == 0)
			via[idx] |= MS_VIA_LINK;
	for (i = 0; i < mc->nms; i++)
		if (via[i])
			n++;
	return (n);
}

/*
 * The weight (positive percentage points) of an incident: the first of
 * severity, priority, urgency found in severity_weights, else
 * default_weight.  *matched (may be NULL) is the value that matched.
 */
double
milestone_weight(const struct milestone_conf *mc, const char *severity,
    const char *priority, const char *urgency, const char **matched)
{
	const char	*cand[3] = { severity, priority, urgency };
	size_t		 c, i;

	for (c = 0; c < 3; c++) {
		if (cand[c] == NULL || *cand[c] == '\0')
			continue;
		for (i = 0; i < mc->nsev; i++)
			if (strcasecmp(mc->sev_names[i], cand[c]) == 0) {
				if (matched != NULL)
					*matched = cand[c];
				return (mc->sev_weights[i]);
			}
	}
	if (matched != NULL)
		*matched = NULL;
	return (mc->default_weight);
}

/*
 * Progress and state from counts and times (all microseconds), filling
 * e's outputs.  The rules, documented in docs/milestones.md:
 *  - progress = 100 * done / total + the active deltas (negative),
 *    clamped to 0..100, to one decimal;
 *  - delivered: every checkpoint verified (total > 0) and no active delta;
 *  - slipping: past due and not delivered; or, from the cadence (done per
 *    day since start, at least one day), the predicted finish is after due;
 *  - at_risk: the prediction falls within at_risk_margin of due; with no
 *    cadence yet (nothing verified), due is within the margin; or an
 *    active negative delta (an open incident, an unrecovered rollback);
 *  - on_track otherwise.
 */
void
milestone_evaluate(struct milestone_eval *e)
{
	double	p, days, need;
	int64_t	start;

	e->predicted = 0;
	e->cadence = 0;
	p = e->total > 0 ? 100.0 * (double)e->done / (double)e->total : 0;
	p += e->delta;
	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	e->progress = (double)(int64_t)(p * 10 + 0.5) / 10;
	if (e->total > 0 && e->done >= e->total && !e->active) {
		e->state = "delivered";
		return;
	}
	if (e->now > e->due) {
		e->state = "slipping";
		return;
	}
	start = e->start > 0 && e->start < e->now ? e->start : e->now;
	days = (double)(e->now - start) / 86400e6;
	if (days < 1)
		days = 1;
	if (e->done > 0) {
		e->cadence = (double)e->done / days;
		e->cadence = (double)(int64_t)(e->cadence * 100 + 0.5) / 100;
		need = (double)(e->total - e->done) / ((double)e->done / days);
		e->predicted = e->now + (int64_t)(need * 86400e6);
		if (e->predicted > e->due)
			e->state = "slipping";
		else if (e->predicted > e->due - e->margin)
			e->state = "at_risk";
		else
			e->state = "on_track";
	} else
		e->state = e->due - e->now <= e->margin ? "at_risk" :
		    "on_track";
	if (e->active && strcmp(e->state, "on_track") == 0)
		e->state = "at_risk";
	if (e->total > 0 && e->done >= e->total && strcmp(e->state,
	    "slipping") != 0)
		e->state = "at_risk";	/* all verified, a delta open */
}
