/*
 * types.c: the registry of evidence types, with typed properties, and the
 * coercion of incoming values to their canonical stored form:
 *   text, enum      JSON string
 *   boolean         true/false (also "true"/"false")
 *   integer         JSON integer (also a decimal string)
 *   number          JSON number (also a decimal string)
 *   percentage      JSON number 0..100 (also "12.5" or "12.5%")
 *   timespan        JSON number of seconds (also "8m20s", "PT8M20S", ...)
 *   timestamp       RFC 3339 UTC string (any RFC 3339 offset accepted)
 * A list property takes a JSON array of such values (one bare value is
 * taken as a list of one).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record.h"

static const char *ptype_names[] = {
	[PT_TEXT] = "text",
	[PT_ENUM] = "enum",
	[PT_BOOLEAN] = "boolean",
	[PT_INTEGER] = "integer",
	[PT_NUMBER] = "number",
	[PT_PERCENTAGE] = "percentage",
	[PT_TIMESPAN] = "timespan",
	[PT_TIMESTAMP] = "timestamp",
};

/*
 * The built-in types: the agent's build evidence, and what the inbound
 * sources (plugins/) normalize into, so that all of it works with no
 * declaration.  Links are not declared: see docs/sources.md, "Built-in types".
 */
struct builtin_prop {
	const char	*type, *name;
	enum ptype	 ptype;
	int		 required;
	int		 list;
	const char	*options;	/* enum, comma-separated */
};
#define DEPLOY_PROPS(t)							\
	{ t, "deploymentId", PT_TEXT, 1, 0, NULL },			\
	{ t, "service", PT_TEXT, 0, 0, NULL },				\
	{ t, "environment", PT_TEXT, 0, 0, NULL },			\
	{ t, "region", PT_TEXT, 0, 0, NULL },				\
	{ t, "revision", PT_TEXT, 0, 0, NULL },				\
	{ t, "tool", PT_TEXT, 0, 0, NULL },				\
	{ t, "url", PT_TEXT, 0, 0, NULL },				\
	{ t, "reason", PT_TEXT, 0, 0, NULL },				\
	{ t, "duration", PT_TIMESPAN, 0, 0, NULL },			\
	{ t, "release", PT_TEXT, 0, 0, NULL }
#define DEPLOY_STATES "planned,in_progress,deployed,verified,failed,"	\
	"stalled,blocked,rolling_back,reverted,partially_restored,"	\
	"recovered,rollback_failed,manual_intervention"
#define INCIDENT_PROPS(t)						\
	{ t, "incidentId", PT_TEXT, 1, 0, NULL },			\
	{ t, "title", PT_TEXT, 0, 0, NULL },				\
	{ t, "service", PT_TEXT, 0, 0, NULL },				\
	{ t, "urgency", PT_TEXT, 0, 0, NULL },				\
	{ t, "priority", PT_TEXT, 0, 0, NULL },				\
	{ t, "severity", PT_TEXT, 0, 0, NULL },				\
	{ t, "status", PT_TEXT, 0, 0, NULL },				\
	{ t, "url", PT_TEXT, 0, 0, NULL },				\
	{ t, "tool", PT_TEXT, 0, 0, NULL }
#define ALERT_PROPS(t)							\
	{ t, "alertname", PT_TEXT, 1, 0, NULL },			\
	{ t, "fingerprint", PT_TEXT, 0, 0, NULL },			\
	{ t, "severity", PT_TEXT, 0, 0, NULL },				\
	{ t, "service", PT_TEXT, 0, 0, NULL },				\
	{ t, "environment", PT_TEXT, 0, 0, NULL },			\
	{ t, "summary", PT_TEXT, 0, 0, NULL },				\
	{ t, "startsAt", PT_TIMESTAMP, 0, 0, NULL },			\
	{ t, "endsAt", PT_TIMESTAMP, 0, 0, NULL },			\
	{ t, "url", PT_TEXT, 0, 0, NULL }
#define PIPELINE_PROPS(t)						\
	{ t, "pipelineId", PT_TEXT, 1, 0, NULL },			\
	{ t, "name", PT_TEXT, 0, 0, NULL },				\
	{ t, "ref", PT_TEXT, 0, 0, NULL },				\
	{ t, "url", PT_TEXT, 0, 0, NULL },				\
	{ t, "tool", PT_TEXT, 0, 0, NULL },				\
	{ t, "kind", PT_ENUM, 0, 0, "pipeline,job,task,build" }
static const struct builtin_prop builtin_props[] = {
	{ "BuildStartedEvent", "buildId", PT_TEXT, 1, 0, NULL },
	{ "BuildStartedEvent", "service", PT_TEXT, 0, 0, NULL },
	{ "BuildCompleted", "buildStatus", PT_ENUM, 1, 0, "success,failure" },
	{ "BuildCompleted", "duration", PT_TIMESPAN, 1, 0, NULL },
	{ "BuildCompleted", "exitCode", PT_INTEGER, 0, 0, NULL },
	{ "BuildCompleted", "service", PT_TEXT, 0, 0, NULL },

	{ "CommitPushed", "sha", PT_TEXT, 1, 0, NULL },
	{ "CommitPushed", "ref", PT_TEXT, 0, 0, NULL },
	{ "CommitPushed", "message", PT_TEXT, 0, 0, NULL },
	{ "CommitPushed", "author", PT_TEXT, 0, 0, NULL },
	{ "CommitPushed", "authorTime", PT_TIMESTAMP, 0, 0, NULL },
	{ "CommitPushed", "milestones", PT_TEXT, 0, 1, NULL },
	{ "CommitPushed", "issueKeys", PT_TEXT, 0, 1, NULL },
	{ "CommitPushed", "parents", PT_TEXT, 0, 1, NULL },
	{ "CommitPushed", "merged", PT_TEXT, 0, 1, NULL },
	{ "CommitPushed", "forced", PT_BOOLEAN, 0, 0, NULL },
	{ "CommitPushed", "tool", PT_TEXT, 0, 0, NULL },

	PIPELINE_PROPS("PipelineQueued"),
	PIPELINE_PROPS("PipelineStarted"),
	PIPELINE_PROPS("PipelineCompleted"),
	{ "PipelineCompleted", "status", PT_ENUM, 1, 0,
	    "success,failure,cancelled,error,skipped,unstable" },
	{ "PipelineCompleted", "duration", PT_TIMESPAN, 0, 0, NULL },

	DEPLOY_PROPS("DeploymentPlanned"),
	DEPLOY_PROPS("DeploymentStarted"),
	DEPLOY_PROPS("DeploymentSucceeded"),
	DEPLOY_PROPS("DeploymentFailed"),
	DEPLOY_PROPS("DeploymentHealth"),
	{ "DeploymentHealth", "health", PT_ENUM, 1, 0,
	    "Healthy,Progressing,Degraded,Suspended,Missing,Unknown" },

	/* deploy.c: checks, overrides (API) and stalls (the timer). */
	{ "TestRun", "status", PT_ENUM, 1, 0, "passed,failed" },
	{ "TestRun", "suite", PT_TEXT, 0, 0, NULL },
	{ "TestRun", "deploymentId", PT_TEXT, 0, 0, NULL },
	{ "TestRun", "service", PT_TEXT, 0, 0, NULL },
	{ "TestRun", "environment", PT_TEXT, 0, 0, NULL },
	{ "TestRun", "region", PT_TEXT, 0, 0, NULL },
	{ "TestRun", "revision", PT_TEXT, 0, 0, NULL },
	{ "TestRun", "duration", PT_TIMESPAN, 0, 0, NULL },
	{ "TestRun", "url", PT_TEXT, 0, 0, NULL },
	{ "DeploymentOverride", "deploymentId", PT_TEXT, 1, 0, NULL },
	{ "DeploymentOverride", "state", PT_ENUM, 1, 0, DEPLOY_STATES },
	{ "DeploymentOverride", "reason", PT_TEXT, 1, 0, NULL },
	{ "DeploymentOverride", "actor", PT_TEXT, 1, 0, NULL },
	{ "DeploymentOverride", "role", PT_TEXT, 0, 0, NULL },
	{ "DeploymentStalled", "deploymentId", PT_TEXT, 1, 0, NULL },
	{ "DeploymentStalled", "state", PT_ENUM, 1, 0, DEPLOY_STATES },
	{ "DeploymentStalled", "since", PT_TIMESTAMP, 1, 0, NULL },
	{ "DeploymentStalled", "timeout", PT_TIMESPAN, 0, 0, NULL },

	/*
	 * outbox/outbox-ops.c: the audit of outbox writes (milepostd's and
	 * milepost outbox's own; no source may send them).
	 */
	{ "OutboxRetried", "actor", PT_TEXT, 1, 0, NULL },
	{ "OutboxRetried", "role", PT_TEXT, 0, 0, NULL },
	{ "OutboxRetried", "via", PT_ENUM, 1, 0, "http,cli" },
	{ "OutboxRetried", "sink", PT_TEXT, 0, 0, NULL },
	{ "OutboxRetried", "object", PT_TEXT, 0, 0, NULL },
	{ "OutboxRetried", "queued", PT_INTEGER, 1, 0, NULL },
	{ "OutboxReplayed", "actor", PT_TEXT, 1, 0, NULL },
	{ "OutboxReplayed", "role", PT_TEXT, 0, 0, NULL },
	{ "OutboxReplayed", "via", PT_ENUM, 1, 0, "http,cli" },
	{ "OutboxReplayed", "sink", PT_TEXT, 0, 0, NULL },
	{ "OutboxReplayed", "since", PT_TIMESTAMP, 1, 0, NULL },
	{ "OutboxReplayed", "queued", PT_INTEGER, 1, 0, NULL },

	/* receiver/clock.c: time passing, for milestones. */
	{ "MilestoneClock", "at", PT_ENUM, 1, 0, "day,at_risk,due" },
	{ "MilestoneClock", "milestone", PT_TEXT, 0, 0, NULL },

	INCIDENT_PROPS("IncidentOpened"),
	INCIDENT_PROPS("IncidentAcknowledged"),
	INCIDENT_PROPS("IncidentResolved"),

	ALERT_PROPS("AlertFiring"),
	ALERT_PROPS("AlertResolved"),

	/* derive/slo.c: an SLI computed elsewhere, for one SLO. */
	{ "SliReported", "slo", PT_TEXT, 1, 0, NULL },
	{ "SliReported", "good", PT_NUMBER, 1, 0, NULL },
	{ "SliReported", "total", PT_NUMBER, 1, 0, NULL },
	{ "SliReported", "start", PT_TIMESTAMP, 0, 0, NULL },
	{ "SliReported", "end", PT_TIMESTAMP, 0, 0, NULL },

	/* receiver/api-gates.c: one approval of a gate exception. */
	{ "GateApproval", "service", PT_TEXT, 1, 0, NULL },
	{ "GateApproval", "environment", PT_TEXT, 1, 0, NULL },
	{ "GateApproval", "exception", PT_TEXT, 1, 0, NULL },
	{ "GateApproval", "reason", PT_TEXT, 1, 0, NULL },
	{ "GateApproval", "actor", PT_TEXT, 1, 0, NULL },
	{ "GateApproval", "role", PT_TEXT, 1, 0, NULL },

	{ "ReleasePublished", "tag", PT_TEXT, 1, 0, NULL },
	{ "ReleasePublished", "name", PT_TEXT, 0, 0, NULL },
	{ "ReleasePublished", "prerelease", PT_BOOLEAN, 0, 0, NULL },
	{ "ReleasePublished", "url", PT_TEXT, 0, 0, NULL },
	{ "ReleasePublished", "tool", PT_TEXT, 0, 0, NULL },
};

int
types_ptype_parse(const char *s, enum ptype *t)
{
	size_t	i;

	for (i = 0; i < sizeof(ptype_names) / sizeof(ptype_names[0]); i++) {
		if (strcasecmp(s, ptype_names[i]) == 0) {
			*t = (enum ptype)i;
			return (0);
		}
	}
	return (-1);
}

const char *
types_ptype_name(enum ptype t)
{
	return (ptype_names[t]);
}

static void
types_prop_free(struct propdef *p)
{
	char	**o;

	free(p->name);
	if (p->options != NULL) {
		for (o = p->options; *o != NULL; o++)
			free(*o);
		free(p->options);
	}
}

static struct evtype *
types_add(struct types *t, const char *name)
{
	struct evtype	*e;

	t->ev = xreallocarray(t->ev, t->nev + 1, sizeof(*t->ev));
	e = &t->ev[t->nev++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	return (e);
}

/* Add or replace the property named p->name; p is taken. */
static void
types_setprop(struct evtype *e, struct propdef *p)
{
	size_t	i;

	for (i = 0; i < e->nprops; i++) {
		if (strcmp(e->props[i].name, p->name) == 0) {
			types_prop_free(&e->props[i]);
			e->props[i] = *p;
			return;
		}
	}
	e->props = xreallocarray(e->props, e->nprops + 1, sizeof(*e->props));
	e->props[e->nprops++] = *p;
}

static char **
types_split(const char *csv)
{
	char	**v = NULL, *copy, *tok, *save;
	size_t	  n = 0;

	copy = xstrdup(csv);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrdup(tok);
	}
	free(copy);
	if (v != NULL)
		v[n] = NULL;
	return (v);
}

/* A registry holding the built-in types. */
struct types *
types_new(void)
{
	struct types		*t;
	struct evtype		*e;
	struct propdef		 p;
	size_t			 i;

	t = xcalloc(1, sizeof(*t));
	for (i = 0; i < sizeof(builtin_props) / sizeof(builtin_props[0]);
	    i++) {
		const struct builtin_prop *b = &builtin_props[i];

		if ((e = (struct evtype *)types_find(t, b->type)) == NULL) {
			e = types_add(t, b->type);
			e->builtin = 1;
		}
		memset(&p, 0, sizeof(p));
		p.name = xstrdup(b->name);
		p.type = b->ptype;
		p.required = b->required;
		p.list = b->list;
		if (b->options != NULL)
			p.options = types_split(b->options);
		types_setprop(e, &p);
	}
	return (t);
}

void
types_free(struct types *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nev; i++)
		types_evtype_clear(&t->ev[i]);
	free(t->ev);
	free(t);
}

const struct evtype *
types_find(const struct types *t, const char *name)
{
	size_t	i;

	for (i = 0; i < t->nev; i++)
		if (strcmp(t->ev[i].name, name) == 0)
			return (&t->ev[i]);
	return (NULL);
}

int
types_name_ok(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 128)
		return (0);
	for (; *s != '\0'; s++)
		if (!(*s == '_' || *s == '-' || *s == '.' ||
		    (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z')))
			return (0);
	return (1);
}

/* Load one property declaration into p. */
static int
types_load_prop(const char *file, const char *path, const char *name,
    json_object *decl, struct propdef *p, char *err, size_t errlen)
{
	json_object	*v, *opt;
	char		 key[1024], *why;
	size_t		 i, n;

	memset(p, 0, sizeof(*p));
	if (!types_name_ok(name))
		return (yaml_errf(err, errlen, file, decl, path,
		    "property names are letters, digits, '_', '-' or '.'"));
	if (!json_object_is_type(decl, json_type_object))
		return (yaml_errf(err, errlen, file, decl, path,
		    "a property is a mapping with at least 'type'"));
	json_object_object_foreach(decl, k, val) {
		if (strcmp(k, "type") && strcmp(k, "required") &&
		    strcmp(k, "list") && strcmp(k, "options") &&
		    strcmp(k, "description")) {
			snprintf(key, sizeof(key), "%s.%s", path, k);
			return (yaml_errf(err, errlen, file, val ? val : decl,
			    key, "unknown key (expected type, required, list, "
			    "options or description)"));
		}
	}
	snprintf(key, sizeof(key), "%s.type", path);
	if (!json_object_object_get_ex(decl, "type", &v) ||
	    !json_object_is_type(v, json_type_string))
		return (yaml_errf(err, errlen, file, v ? v : decl, key,
		    "missing or not a string"));
	if (types_ptype_parse(json_object_get_string(v), &p->type) == -1) {
		why = suggest_unknown("type", json_object_get_string(v),
		    ptype_names, sizeof(ptype_names) / sizeof(ptype_names[0]));
		yaml_errf(err, errlen, file, v, key, "%s", why);
		free(why);
		return (-1);
	}
	if (json_object_object_get_ex(decl, "required", &v)) {
		snprintf(key, sizeof(key), "%s.required", path);
		if (!json_object_is_type(v, json_type_boolean))
			return (yaml_errf(err, errlen, file, v ? v : decl,
			    key, "must be true or false"));
		p->required = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(decl, "list", &v)) {
		snprintf(key, sizeof(key), "%s.list", path);
		if (!json_object_is_type(v, json_type_boolean))
			return (yaml_errf(err, errlen, file, v ? v : decl,
			    key, "must be true or false"));
		p->list = json_object_get_boolean(v);
	}
	snprintf(key, sizeof(key), "%s.options", path);
	if (json_object_object_get_ex(decl, "options", &v)) {
		if (p->type != PT_ENUM)
			return (yaml_errf(err, errlen, file, v ? v : decl,
			    key, "options are only for enum properties"));
		if (!json_object_is_type(v, json_type_array) ||
		    (n = json_object_array_length(v)) == 0)
			return (yaml_errf(err, errlen, file, v ? v : decl,
			    key, "must be a non-empty list of strings"));
		p->options = xcalloc(n + 1, sizeof(char *));
		for (i = 0; i < n; i++) {
			opt = json_object_array_get_idx(v, i);
			if (!json_object_is_type(opt, json_type_string) &&
			    !json_object_is_type(opt, json_type_int) &&
			    !json_object_is_type(opt, json_type_boolean)) {
				types_prop_free(p);
				return (yaml_errf(err, errlen, file, v, key,
				    "must be a non-empty list of strings"));
			}
			p->options[i] = xstrdup(json_object_get_string(opt));
		}
	} else if (p->type == PT_ENUM)
		return (yaml_errf(err, errlen, file, decl, key,
		    "an enum property needs options"));
	p->name = xstrdup(name);
	return (0);
}

/*
 * Load a "properties" mapping (borrowed) into e, naming errors under path.
 */
int
types_load_props(struct evtype *e, json_object *props, const char *file,
    const char *path, char *err, size_t errlen)
{
	struct propdef	p;
	char		ppath[640];

	if (!json_object_is_type(props, json_type_object))
		return (yaml_errf(err, errlen, file, props, path,
		    "must be a mapping of property name to declaration"));
	json_object_object_foreach(props, pname, pdecl) {
		snprintf(ppath, sizeof(ppath), "%s.%s", path, pname);
		if (types_load_prop(file, ppath, pname, pdecl ? pdecl : props,
		    &p, err, errlen) == -1)
			return (-1);
		types_setprop(e, &p);
	}
	return (0);
}

const struct propdef *
types_prop(const struct evtype *e, const char *name)
{
	size_t	i;

	for (i = 0; i < e->nprops; i++)
		if (strcmp(e->props[i].name, name) == 0)
			return (&e->props[i]);
	return (NULL);
}

void
types_evtype_clear(struct evtype *e)
{
	size_t	i;

	for (i = 0; i < e->nprops; i++)
		types_prop_free(&e->props[i]);
	free(e->props);
	free(e->name);
	memset(e, 0, sizeof(*e));
}

/*
 * Load "evidence_types" (a mapping of name -> {properties: {...}}) from
 * the configuration tree into t.  Declaring a built-in type extends it.
 */
int
types_load(struct types *t, json_object *decls, const char *file,
    char *err, size_t errlen)
{
	json_object	*props;
	struct evtype	*e;
	struct propdef	 p;
	char		 path[512];

	if (decls == NULL)
		return (0);
	if (!json_object_is_type(decls, json_type_object))
		return (yaml_errf(err, errlen, file, decls, "evidence_types",
		    "must be a mapping of type name to declaration"));
	json_object_object_foreach(decls, name, decl) {
		snprintf(path, sizeof(path), "evidence_types.%s", name);
		if (!types_name_ok(name))
			return (yaml_errf(err, errlen, file, decl ? decl :
			    decls, path, "type names are letters, digits, "
			    "'_', '-' or '.'"));
		if (decl != NULL && !json_object_is_type(decl,
		    json_type_object))
			return (yaml_errf(err, errlen, file, decl, path,
			    "must be a mapping with 'properties'"));
		props = NULL;
		if (decl != NULL) {
			json_object_object_foreach(decl, k, v) {
				if (strcmp(k, "properties") == 0 ||
				    strcmp(k, "description") == 0)
					continue;
				snprintf(path, sizeof(path),
				    "evidence_types.%s.%s", name, k);
				return (yaml_errf(err, errlen, file, v ? v :
				    decl, path, "unknown key (expected "
				    "properties or description)"));
			}
			json_object_object_get_ex(decl, "properties", &props);
		}
		if (props != NULL && !json_object_is_type(props,
		    json_type_object)) {
			snprintf(path, sizeof(path),
			    "evidence_types.%s.properties", name);
			return (yaml_errf(err, errlen, file, props, path,
			    "must be a mapping of property name to "
			    "declaration"));
		}
		if ((e = (struct evtype *)types_find(t, name)) == NULL)
			e = types_add(t, name);
		if (props == NULL)
			continue;
		json_object_object_foreach(props, pname, pdecl) {
			snprintf(path, sizeof(path),
			    "evidence_types.%s.properties.%s", name, pname);
			if (pdecl == NULL)
				return (yaml_errf(err, errlen, file, props, path,
				    "a property is a mapping with at least "
				    "'type'"));
			if (types_load_prop(file, path, pname, pdecl, &p, err,
			    errlen) == -1)
				return (-1);
			types_setprop(e, &p);
		}
	}
	return (0);
}

static int
types_cerr(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return (-1);
}

/* Coerce one scalar value; *out is a new object (taken by the caller). */
static int
types_coerce1(const struct propdef *p, json_object *in, json_object **out,
    char *err, size_t errlen)
{
	const char	*s;
	char		*end, *why, tbuf[MP_TIMELEN];
	double		 d;
	long long	 ll;
	int64_t		 us;
	size_t		 n;
	char		**o;
	enum json_type	 jt = json_object_get_type(in);

	/* Text may hold a NUL; a value read as a C string may not. */
	if (jt == json_type_string && p->type != PT_TEXT &&
	    strlen(json_object_get_string(in)) !=
	    (size_t)json_object_get_string_len(in))
		return (types_cerr(err, errlen, "%s holds a NUL character",
		    p->name));
	switch (p->type) {
	case PT_TEXT:
		if (jt != json_type_string)
			return (types_cerr(err, errlen, "%s must be a string",
			    p->name));
		*out = json_object_get(in);
		return (0);
	case PT_ENUM:
		if (jt != json_type_string)
			return (types_cerr(err, errlen, "%s must be a string",
			    p->name));
		s = json_object_get_string(in);
		for (o = p->options; o != NULL && *o != NULL; o++)
			if (strcmp(*o, s) == 0) {
				*out = json_object_get(in);
				return (0);
			}
		/* "buildStatus: unknown value succes (did you mean ...)" */
		why = suggest_unknown("value", s, (const char *const *)
		    p->options, (size_t)(o - p->options));
		snprintf(err, errlen, "%s: %s", p->name, why);
		free(why);
		return (-1);
	case PT_BOOLEAN:
		if (jt == json_type_boolean) {
			*out = json_object_get(in);
			return (0);
		}
		if (jt == json_type_string) {
			s = json_object_get_string(in);
			if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
				*out = json_object_new_boolean(s[0] == 't');
				return (0);
			}
		}
		return (types_cerr(err, errlen, "%s must be true or false",
		    p->name));
	case PT_INTEGER:
		if (jt == json_type_int) {
			*out = json_object_get(in);
			return (0);
		}
		if (jt == json_type_string) {
			s = json_object_get_string(in);
			errno = 0;
			ll = strtoll(s, &end, 10);
			if (*s != '\0' && *end == '\0' && errno == 0) {
				*out = json_object_new_int64(ll);
				return (0);
			}
		}
		return (types_cerr(err, errlen, "%s must be an integer",
		    p->name));
	case PT_NUMBER:
	case PT_PERCENTAGE:
		if (jt == json_type_int || jt == json_type_double)
			d = json_object_get_double(in);
		else if (jt == json_type_string) {
			s = json_object_get_string(in);
			d = strtod(s, &end);
			n = strlen(s);
			if (*s == '\0' || (*end != '\0' && !(p->type ==
			    PT_PERCENTAGE && end == s + n - 1 && *end == '%')))
				return (types_cerr(err, errlen,
				    "%s must be a number", p->name));
		} else
			return (types_cerr(err, errlen, "%s must be a number",
			    p->name));
		if (!isfinite(d))
			return (types_cerr(err, errlen, "%s must be finite",
			    p->name));
		if (p->type == PT_PERCENTAGE && (d < 0 || d > 100))
			return (types_cerr(err, errlen, "%s must be a "
			    "percentage between 0 and 100", p->name));
		/* An integer as it came: as a double it could lose digits. */
		if (jt == json_type_int)
			*out = json_object_get(in);
		else if (jt != json_type_double && fabs(d) < 9e15 &&
		    d == (double)(long long)d)
			*out = json_object_new_int64((int64_t)d);
		else
			*out = json_object_new_double(d);
		return (0);
	case PT_TIMESPAN:
		if (jt == json_type_int || jt == json_type_double)
			d = json_object_get_double(in);
		else if (jt != json_type_string || ts_parse(
		    json_object_get_string(in), &d) == -1)
			return (types_cerr(err, errlen, "%s must be a timespan "
			    "(500s, 8m20s, 1h, PT8M20S or seconds)", p->name));
		if (d < 0 || !isfinite(d))
			return (types_cerr(err, errlen, "%s must not be "
			    "negative", p->name));
		if (d < 9e15 && d == (double)(int64_t)d)	/* in range first */
			*out = json_object_new_int64((int64_t)d);
		else
			*out = json_object_new_double(d);
		return (0);
	case PT_TIMESTAMP:
		if (jt != json_type_string || tf_parse(
		    json_object_get_string(in), &us) == -1)
			return (types_cerr(err, errlen, "%s must be an RFC 3339 "
			    "timestamp", p->name));
		tf_format(us, tbuf);
		*out = json_object_new_string(tbuf);
		return (0);
	}
	return (types_cerr(err, errlen, "%s has an unknown type", p->name));
}

/*
 * Coerce in (borrowed) to p's canonical form in *out (taken by the
 * caller).  Returns -1 with err naming the property when in breaks p.
 */
int
types_coerce(const struct propdef *p, json_object *in, json_object **out,
    char *err, size_t errlen)
{
	json_object	*arr, *one;
	size_t		 i, n;

	*out = NULL;
	if (in == NULL)
		return (types_cerr(err, errlen, "%s must not be null",
		    p->name));
	if (!p->list) {
		if (json_object_is_type(in, json_type_array))
			return (types_cerr(err, errlen, "%s is not a list",
			    p->name));
		return (types_coerce1(p, in, out, err, errlen));
	}
	arr = json_object_new_array();
	if (!json_object_is_type(in, json_type_array)) {
		if (types_coerce1(p, in, &one, err, errlen) == -1) {
			json_object_put(arr);
			return (-1);
		}
		json_object_array_add(arr, one);
		*out = arr;
		return (0);
	}
	n = json_object_array_length(in);
	for (i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(in, i);

		if (item == NULL || types_coerce1(p, item, &one, err,
		    errlen) == -1) {
			if (item == NULL)
				types_cerr(err, errlen,
				    "%s must not hold null", p->name);
			json_object_put(arr);
			return (-1);
		}
		json_object_array_add(arr, one);
	}
	*out = arr;
	return (0);
}
