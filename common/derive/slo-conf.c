/*
 * slo-conf.c: the slos: section, and what an SLO's numbers mean.
 *
 *   slos:
 *     checkout-availability:
 *       service: checkout
 *       environment: production
 *       objective: 99.9             # percent
 *       window: 28d                 # rolling; or { calendar: month | week }
 *       budgeting: occurrences      # or timeslices (slice: 1m)
 *       indicator:
 *         ratio:
 *           good:  { type: DeploymentSucceeded, links: { environment: production } }
 *           total: { type: DeploymentStarted, links: { environment: production } }
 *         # or alerts: { labels: { severity: critical } }
 *         # or reported: {}
 *       alerting:                   # optional: the scaled workbook table
 *         - { severity: page, long: 1h, short: 5m, burn_rate: 14.4 }
 *
 * Every value is checked here (services and environments against the
 * catalog in config/config-slos.c, which owns the catalog's names); an
 * error is "file:line: key: reason", unknown names with "did you mean".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive/derive.h"

#define SLO_DAY		86400LL
#define SLO_WINDOW_MAX	(90 * SLO_DAY)	/* the ring's memory: 2 MB at 1m */
#define SLO_NAME_MAX	128
#define SLO_MATCH_MAX	32
#define SLO_ALERTS_MAX	8

/* The SRE workbook's table, for a 30-day window (DOMAIN.md §5). */
static const struct slo_alert slo_workbook[] = {
	{ 1, 3600, 300, 14.4 },
	{ 1, 6 * 3600, 1800, 6 },
	{ 0, SLO_DAY, 2 * 3600, 3 },
	{ 0, 3 * SLO_DAY, 6 * 3600, 1 },
};
#define SLO_WORKBOOK_N	(sizeof(slo_workbook) / sizeof(slo_workbook[0]))

static const char *const slo_keys[] = { "service", "environment",
    "objective", "window", "budgeting", "slice", "slice_target",
    "indicator", "alerting", "description" };
static const char *const slo_filter_keys[] = { "type", "properties",
    "links" };
static const char *const slo_op_keys[] = { "lt", "le", "gt", "ge" };
static const char *const slo_alert_keys[] = { "severity", "long", "short",
    "burn_rate" };
static const char *const slo_kinds[] = { "ratio", "alerts", "reported" };

struct sloctx {
	const char	*file;
	char		*err;
	size_t		 errlen;
	const struct types *types;
};

static int
slo_unknown(struct sloctx *c, json_object *o, const char *key,
    const char *noun, const char *s, const char *const *names, size_t n)
{
	char	*why;

	why = suggest_unknown(noun, s, names, n);
	yaml_errf(c->err, c->errlen, c->file, o, key, "%s", why);
	free(why);
	return (-1);
}

static int
slo_in(const char *s, const char *const *names, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (1);
	return (0);
}

/*
 * A window or slice: a timespan of whole seconds in [min, max].
 * Returns 0, or -1 with the error written.
 */
static int
slo_span(struct sloctx *c, json_object *v, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
	double	d;

	if ((!json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_int)) ||
	    ts_parse(json_object_get_string(v), &d) == -1 || d != floor(d) ||
	    d < (double)min || d > (double)max)
		return (yaml_errf(c->err, c->errlen, c->file, v, key, "must be "
		    "a timespan of whole seconds from %llds to %llds (e.g. 28d, "
		    "6h, 5m)", (long long)min, (long long)max));
	*out = (int64_t)d;
	return (0);
}

static void
slo_match_free(struct slo_match *m, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(m[i].key);
		strv_free(m[i].values, m[i].nvalues);
	}
	free(m);
}

/* A scalar as the canonical JSON stores it, for equality. */
static char *
slo_scalar(json_object *v)
{
	if (json_object_is_type(v, json_type_string) ||
	    json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_boolean))
		return (xstrdup(json_object_get_string(v)));
	if (json_object_is_type(v, json_type_double)) {
		char	b[64];

		snprintf(b, sizeof(b), "%.17g", json_object_get_double(v));
		return (xstrdup(b));
	}
	return (NULL);
}

/*
 * Matchers from a mapping key: value | [values] | { lt|le|gt|ge: N },
 * appended to *m.  pt (may be NULL) is the evidence type whose properties
 * are named.  Returns 0 or -1.
 */
static int
slo_matchers(struct sloctx *c, json_object *o, const char *key, int link,
    const struct evtype *et, struct slo_match **m, size_t *nm)
{
	struct slo_match *x;
	const char	**names;
	char		 sub[512], *s;
	size_t		 i, n;
	double		 d;

	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "must be "
		    "a mapping of %s to the value to match",
		    link ? "link" : "property"));
	json_object_object_foreach(o, k, v) {
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (*nm >= SLO_MATCH_MAX)
			return (yaml_errf(c->err, c->errlen, c->file, v, sub,
			    "at most %d matchers", SLO_MATCH_MAX));
		if (!link && et != NULL && types_prop(et, k) == NULL) {
			names = xcalloc(et->nprops + 1, sizeof(*names));
			for (i = 0; i < et->nprops; i++)
				names[i] = et->props[i].name;
			slo_unknown(c, v, sub, "property", k, names,
			    et->nprops);
			free(names);
			return (-1);
		}
		*m = xreallocarray(*m, *nm + 1, sizeof(**m));
		x = &(*m)[(*nm)++];
		memset(x, 0, sizeof(*x));
		x->key = xstrdup(k);
		x->link = link;
		if (json_object_is_type(v, json_type_object)) {
			if (link || json_object_object_length(v) != 1)
				goto bad;
			json_object_object_foreach(v, op, nv) {
				if (!slo_in(op, slo_op_keys, 4))
					return (slo_unknown(c, v, sub,
					    "comparison", op, slo_op_keys, 4));
				if (nv == NULL || ts_parse(
				    json_object_get_string(nv), &d) == -1)
					return (yaml_errf(c->err, c->errlen,
					    c->file, v, sub, "%s: must be a "
					    "number or a timespan", op));
				x->op = strcmp(op, "lt") == 0 ? '<' :
				    strcmp(op, "le") == 0 ? 'l' :
				    strcmp(op, "gt") == 0 ? '>' : 'g';
				x->num = d;
			}
			continue;
		}
		if (json_object_is_type(v, json_type_array)) {
			n = json_object_array_length(v);
			if (n == 0)
				goto bad;
			for (i = 0; i < n; i++) {
				if ((s = slo_scalar(json_object_array_get_idx(v,
				    i))) == NULL)
					goto bad;
				x->values = xreallocarray(x->values,
				    x->nvalues + 1, sizeof(*x->values));
				x->values[x->nvalues++] = s;
			}
			continue;
		}
		if ((s = slo_scalar(v)) == NULL)
			goto bad;
		x->values = xcalloc(1, sizeof(*x->values));
		x->values[0] = s;
		x->nvalues = 1;
		continue;
bad:
		return (yaml_errf(c->err, c->errlen, c->file, v ? v : o, sub,
		    "must be a value, a list of values%s",
		    link ? "" : ", or { lt | le | gt | ge: N }"));
	}
	return (0);
}

static int
slo_filter(struct sloctx *c, json_object *o, const char *key,
    struct slo_filter *f)
{
	const struct evtype *et = NULL;
	const char	**names;
	json_object	*v;
	char		 sub[512];
	size_t		 i;

	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "must be "
		    "{ type: T, properties: {…}, links: {…} }"));
	json_object_object_foreach(o, k, val) {
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (!slo_in(k, slo_filter_keys, 3))
			return (slo_unknown(c, val ? val : o, sub, "key", k,
			    slo_filter_keys, 3));
	}
	snprintf(sub, sizeof(sub), "%s.type", key);
	if (!json_object_object_get_ex(o, "type", &v) ||
	    !json_object_is_type(v, json_type_string))
		return (yaml_errf(c->err, c->errlen, c->file, v ? v : o, sub,
		    "an evidence type is required"));
	if ((et = types_find(c->types, json_object_get_string(v))) == NULL) {
		names = xcalloc(c->types->nev + 1, sizeof(*names));
		for (i = 0; i < c->types->nev; i++)
			names[i] = c->types->ev[i].name;
		slo_unknown(c, v, sub, "evidence type",
		    json_object_get_string(v), names, c->types->nev);
		free(names);
		return (-1);
	}
	f->type = xstrdup(et->name);
	snprintf(sub, sizeof(sub), "%s.properties", key);
	if (json_object_object_get_ex(o, "properties", &v) &&
	    slo_matchers(c, v, sub, 0, et, &f->m, &f->nm) == -1)
		return (-1);
	snprintf(sub, sizeof(sub), "%s.links", key);
	if (json_object_object_get_ex(o, "links", &v) &&
	    slo_matchers(c, v, sub, 1, NULL, &f->m, &f->nm) == -1)
		return (-1);
	return (0);
}

static int
slo_indicator(struct sloctx *c, json_object *o, const char *key,
    struct slo_def *d)
{
	json_object	*r, *v;
	char		 sub[512];

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 1)
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "must be "
		    "one of { ratio: { good, total } }, { alerts: { labels } } "
		    "or { reported: {} }"));
	json_object_object_foreach(o, kind, val) {
		snprintf(sub, sizeof(sub), "%s.%s", key, kind);
		if (!slo_in(kind, slo_kinds, 3))
			return (slo_unknown(c, val ? val : o, sub,
			    "indicator kind", kind, slo_kinds, 3));
		r = val;
		if (r != NULL && !json_object_is_type(r, json_type_object))
			return (yaml_errf(c->err, c->errlen, c->file, r, sub,
			    "%s", "must be a mapping"));
		if (strcmp(kind, "ratio") == 0) {
			d->kind = SLO_RATIO;
			json_object_object_foreach(r, rk, rv) {
				static const char *const rkeys[] = { "good",
				    "total" };
				char	rsub[600];

				snprintf(rsub, sizeof(rsub), "%s.%s", sub, rk);
				if (!slo_in(rk, rkeys, 2))
					return (slo_unknown(c, rv ? rv : r,
					    rsub, "key", rk, rkeys, 2));
			}
			snprintf(sub, sizeof(sub), "%s.ratio.good", key);
			if (!json_object_object_get_ex(r, "good", &v))
				return (yaml_errf(c->err, c->errlen, c->file,
				    r, sub, "%s", "is required"));
			if (slo_filter(c, v, sub, &d->good) == -1)
				return (-1);
			snprintf(sub, sizeof(sub), "%s.ratio.total", key);
			if (!json_object_object_get_ex(r, "total", &v))
				return (yaml_errf(c->err, c->errlen, c->file,
				    r, sub, "%s", "is required"));
			if (slo_filter(c, v, sub, &d->total) == -1)
				return (-1);
		} else if (strcmp(kind, "alerts") == 0) {
			d->kind = SLO_ALERTS;
			json_object_object_foreach(r, ak, av) {
				char	asub[600];

				snprintf(asub, sizeof(asub), "%s.%s", sub, ak);
				if (strcmp(ak, "labels") != 0)
					return (slo_unknown(c, av ? av : r,
					    asub, "key", ak,
					    (const char *const[]){ "labels" },
					    1));
				if (slo_matchers(c, av, asub, 1, NULL,
				    &d->labels, &d->nlabels) == -1)
					return (-1);
			}
		} else {
			d->kind = SLO_REPORTED;
			if (r != NULL && json_object_object_length(r) != 0)
				return (yaml_errf(c->err, c->errlen, c->file,
				    r, sub, "%s", "takes no settings: {}"));
		}
	}
	return (0);
}

/*
 * The workbook's windows for an SLO window of `window` seconds, scaled
 * as Pyrra does (pyrra-dev/pyrra, slo/rules.go, Windows): each long and
 * short window is the 30-day one times window / 30d, rounded to the
 * minute (at least one minute, and at least one slice); the burn rates
 * stay.  out has room for 4.
 */
void
slo_default_alerts(int64_t window, int64_t slice, struct slo_alert *out)
{
	double	scale = (double)window / (30.0 * SLO_DAY);
	size_t	i;
	int64_t	v;

	for (i = 0; i < SLO_WORKBOOK_N; i++) {
		out[i] = slo_workbook[i];
		v = (int64_t)llround(slo_workbook[i].long_win * scale / 60) * 60;
		out[i].long_win = v < 60 ? 60 : v;
		v = (int64_t)llround(slo_workbook[i].short_win * scale / 60) *
		    60;
		out[i].short_win = v < 60 ? 60 : v;
		if (out[i].long_win < slice)
			out[i].long_win = slice;
		if (out[i].short_win < slice)
			out[i].short_win = slice;
	}
}

static int
slo_alerting(struct sloctx *c, json_object *o, const char *key,
    struct slo_def *d)
{
	json_object	*a, *v;
	struct slo_alert *x;
	char		 sub[400], sub2[512];
	size_t		 i, n;
	double		 f;

	if (!json_object_is_type(o, json_type_array) ||
	    (n = json_object_array_length(o)) == 0 || n > SLO_ALERTS_MAX)
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "must be "
		    "a list of 1 to %d { severity, long, short, burn_rate }",
		    SLO_ALERTS_MAX));
	d->alerts = xcalloc(n, sizeof(*d->alerts));
	for (i = 0; i < n; i++) {
		a = json_object_array_get_idx(o, i);
		snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
		if (!json_object_is_type(a, json_type_object))
			return (yaml_errf(c->err, c->errlen, c->file, a ? a : o,
			    sub, "%s", "must be { severity, long, short, "
			    "burn_rate }"));
		json_object_object_foreach(a, k, val) {
			snprintf(sub2, sizeof(sub2), "%s.%s", sub, k);
			if (!slo_in(k, slo_alert_keys, 4))
				return (slo_unknown(c, val ? val : a, sub2,
				    "key", k, slo_alert_keys, 4));
		}
		x = &d->alerts[d->nalerts++];
		snprintf(sub2, sizeof(sub2), "%s.severity", sub);
		if (!json_object_object_get_ex(a, "severity", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    (strcmp(json_object_get_string(v), "page") != 0 &&
		    strcmp(json_object_get_string(v), "ticket") != 0))
			return (slo_unknown(c, v ? v : a, sub2, "severity",
			    v ? json_object_get_string(v) : "(none)",
			    (const char *const[]){ "page", "ticket" }, 2));
		x->page = strcmp(json_object_get_string(v), "page") == 0;
		snprintf(sub2, sizeof(sub2), "%s.long", sub);
		if (!json_object_object_get_ex(a, "long", &v) ||
		    slo_span(c, v, sub2, d->slice, d->window, &x->long_win) ==
		    -1)
			return (v ? -1 : yaml_errf(c->err, c->errlen, c->file,
			    a, sub2, "%s", "is required"));
		snprintf(sub2, sizeof(sub2), "%s.short", sub);
		if (!json_object_object_get_ex(a, "short", &v) ||
		    slo_span(c, v, sub2, d->slice, x->long_win,
		    &x->short_win) == -1)
			return (v ? -1 : yaml_errf(c->err, c->errlen, c->file,
			    a, sub2, "%s", "is required (and at most long)"));
		snprintf(sub2, sizeof(sub2), "%s.burn_rate", sub);
		if (!json_object_object_get_ex(a, "burn_rate", &v) ||
		    (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double)) ||
		    (f = json_object_get_double(v)) <= 0 || f > 1000)
			return (yaml_errf(c->err, c->errlen, c->file, v ? v : a,
			    sub2, "%s", "must be a number above 0 and at most "
			    "1000"));
		x->factor = f;
	}
	return (0);
}

static int
slo_one(struct sloctx *c, const char *name, json_object *o,
    struct slo_def *d)
{
	json_object	*v;
	const char	*s;
	char		 key[256];
	double		 f;
	size_t		 i;

	d->name = xstrdup(name);
	d->slice = 60;
	d->window = 28 * SLO_DAY;
	snprintf(key, sizeof(key), "slos.%s", name);
	if (!ident_valid(name) || strlen(name) > SLO_NAME_MAX ||
	    strchr(name, '/') != NULL)
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "the "
		    "name must be 1 to %d printable characters without spaces "
		    "or '/'", SLO_NAME_MAX));
	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "%s",
		    "must be a mapping (service, environment, objective, "
		    "window, budgeting, indicator)"));
	json_object_object_foreach(o, k, val) {
		snprintf(key, sizeof(key), "slos.%s.%s", name, k);
		if (!slo_in(k, slo_keys, sizeof(slo_keys) / sizeof(*slo_keys)))
			return (slo_unknown(c, val ? val : o, key, "key", k,
			    slo_keys, sizeof(slo_keys) / sizeof(*slo_keys)));
	}
#define SLO_KEY(k) snprintf(key, sizeof(key), "slos.%s.%s", name, k)
	SLO_KEY("service");
	if (!json_object_object_get_ex(o, "service", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    *json_object_get_string(v) == '\0')
		return (yaml_errf(c->err, c->errlen, c->file, v ? v : o, key,
		    "%s", "a service is required"));
	d->service = xstrdup(json_object_get_string(v));
	SLO_KEY("environment");
	if (!json_object_object_get_ex(o, "environment", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    *json_object_get_string(v) == '\0')
		return (yaml_errf(c->err, c->errlen, c->file, v ? v : o, key,
		    "%s", "an environment is required"));
	d->environment = xstrdup(json_object_get_string(v));
	SLO_KEY("description");
	if (json_object_object_get_ex(o, "description", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return (yaml_errf(c->err, c->errlen, c->file, v, key,
			    "%s", "must be text"));
		d->description = xstrdup(json_object_get_string(v));
	}
	SLO_KEY("objective");
	if (!json_object_object_get_ex(o, "objective", &v) ||
	    (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)) ||
	    (f = json_object_get_double(v)) <= 0 || f >= 100)
		return (yaml_errf(c->err, c->errlen, c->file, v ? v : o, key,
		    "%s", "must be a percentage above 0 and below 100, e.g. "
		    "99.9"));
	d->objective = f;
	SLO_KEY("budgeting");
	if (json_object_object_get_ex(o, "budgeting", &v)) {
		s = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) ||
		    (strcmp(s, "occurrences") != 0 &&
		    strcmp(s, "timeslices") != 0))
			return (slo_unknown(c, v, key, "budgeting", s ? s : "",
			    (const char *const[]){ "occurrences",
			    "timeslices" }, 2));
		d->timeslices = strcmp(s, "timeslices") == 0;
	}
	SLO_KEY("slice");
	if (json_object_object_get_ex(o, "slice", &v)) {
		if (!d->timeslices)
			return (yaml_errf(c->err, c->errlen, c->file, v, key,
			    "%s", "only with budgeting: timeslices"));
		if (slo_span(c, v, key, 10, 3600, &d->slice) == -1)
			return (-1);
	}
	SLO_KEY("window");
	if (json_object_object_get_ex(o, "window", &v)) {
		if (json_object_is_type(v, json_type_object)) {
			json_object	*cv;

			if (json_object_object_length(v) != 1 ||
			    !json_object_object_get_ex(v, "calendar", &cv) ||
			    (s = json_object_get_string(cv)) == NULL ||
			    (strcmp(s, "month") != 0 && strcmp(s, "week") != 0))
				return (yaml_errf(c->err, c->errlen, c->file, v,
				    key, "%s", "must be a rolling timespan "
				    "(28d) or { calendar: month | week }"));
			d->calendar = strcmp(s, "month") == 0 ? BURN_MONTH :
			    BURN_WEEK;
			d->window = d->calendar == BURN_MONTH ? 30 * SLO_DAY :
			    7 * SLO_DAY;
		} else if (slo_span(c, v, key, 3600, SLO_WINDOW_MAX,
		    &d->window) == -1)
			return (-1);
	}
	SLO_KEY("indicator");
	if (!json_object_object_get_ex(o, "indicator", &v))
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "%s",
		    "an indicator is required: { ratio: { good, total } }, "
		    "{ alerts: { labels } } or { reported: {} }"));
	if (slo_indicator(c, v, key, d) == -1)
		return (-1);
	if (d->kind == SLO_ALERTS) {
		SLO_KEY("budgeting");
		if (json_object_object_get_ex(o, "budgeting", &v) &&
		    !d->timeslices)
			return (yaml_errf(c->err, c->errlen, c->file, v, key,
			    "%s", "an alerts indicator counts time slices: "
			    "budgeting must be timeslices"));
		d->timeslices = 1;
	}
	d->slice_target = d->objective / 100;
	SLO_KEY("slice_target");
	if (json_object_object_get_ex(o, "slice_target", &v)) {
		if (!d->timeslices || d->kind == SLO_ALERTS)
			return (yaml_errf(c->err, c->errlen, c->file, v, key,
			    "%s", "only with budgeting: timeslices over a "
			    "ratio or reported indicator"));
		if ((!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double)) ||
		    (f = json_object_get_double(v)) <= 0 || f > 100)
			return (yaml_errf(c->err, c->errlen, c->file, v, key,
			    "%s", "must be a percentage above 0, at most 100"));
		d->slice_target = f / 100;
	}
	SLO_KEY("alerting");
	if (json_object_object_get_ex(o, "alerting", &v)) {
		if (slo_alerting(c, v, key, d) == -1)
			return (-1);
	} else {
		d->alerts = xcalloc(SLO_WORKBOOK_N, sizeof(*d->alerts));
		d->nalerts = SLO_WORKBOOK_N;
		d->alerts_default = 1;
		slo_default_alerts(d->window, d->slice, d->alerts);
	}
	for (i = 0; i < d->nalerts; i++)
		if (d->alerts[i].long_win > SLO_WINDOW_MAX)
			d->alerts[i].long_win = SLO_WINDOW_MAX;
#undef SLO_KEY
	return (0);
}

static void
slo_def_clear(struct slo_def *d)
{
	free(d->name);
	free(d->service);
	free(d->environment);
	free(d->tenant);
	free(d->description);
	free(d->good.type);
	slo_match_free(d->good.m, d->good.nm);
	free(d->total.type);
	slo_match_free(d->total.m, d->total.nm);
	slo_match_free(d->labels, d->nlabels);
	free(d->alerts);
}

/*
 * Load slos: (o; may be NULL) into r->slos.  Evidence types must be
 * loaded already.  Returns 0, or -1 with err "file:line: key: reason".
 */
int
slo_conf_load(struct rules *r, json_object *o, const char *file, char *err,
    size_t errlen)
{
	struct sloctx	 c = { file, err, errlen, r->types };
	struct slo_conf	*sc;

	if (r->slos == NULL)
		r->slos = xcalloc(1, sizeof(*r->slos));
	if (o == NULL)
		return (0);
	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(err, errlen, file, o, "slos", "%s", "must be a "
		    "mapping of SLO name to its settings"));
	sc = r->slos;
	sc->slo = xcalloc((size_t)json_object_object_length(o) + 1,
	    sizeof(*sc->slo));
	json_object_object_foreach(o, name, val) {
		if (slo_one(&c, name, val, &sc->slo[sc->nslo++]) == -1)
			return (-1);
	}
	return (0);
}

void
slo_conf_free(struct rules *r)
{
	size_t	i;

	if (r->slos == NULL)
		return;
	for (i = 0; i < r->slos->nslo; i++)
		slo_def_clear(&r->slos->slo[i]);
	free(r->slos->slo);
	free(r->slos);
	r->slos = NULL;
}

const struct slo_def *
slo_conf_find(const struct rules *r, const char *name)
{
	size_t	i;

	if (r == NULL || r->slos == NULL || name == NULL)
		return (NULL);
	for (i = 0; i < r->slos->nslo; i++)
		if (strcmp(r->slos->slo[i].name, name) == 0)
			return (&r->slos->slo[i]);
	return (NULL);
}

const char *
slo_state_name(enum slo_state s)
{
	static const char *const names[] = { "ok", "ticket", "page",
	    "exhausted" };

	return (names[s]);
}

/* A window as people write it: "28d", "6h", "5m", "90s" (taken). */
char *
slo_window_name(int64_t s)
{
	char	*out;

	if (s > 0 && s % SLO_DAY == 0)
		xasprintf(&out, "%lldd", (long long)(s / SLO_DAY));
	else if (s > 0 && s % 3600 == 0)
		xasprintf(&out, "%lldh", (long long)(s / 3600));
	else if (s > 0 && s % 60 == 0)
		xasprintf(&out, "%lldm", (long long)(s / 60));
	else
		xasprintf(&out, "%llds", (long long)s);
	return (out);
}

static int
slo_match_one(const struct slo_match *m, json_object *v)
{
	const char	*s;
	char		*sv;
	size_t		 i;
	double		 d;
	int		 ok = 0;

	if (v == NULL)
		return (0);
	if (m->op != 0) {
		if (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double))
			return (0);
		d = json_object_get_double(v);
		return (m->op == '<' ? d < m->num : m->op == 'l' ?
		    d <= m->num : m->op == '>' ? d > m->num : d >= m->num);
	}
	if (json_object_is_type(v, json_type_string)) {
		/* The common case, without a copy. */
		s = json_object_get_string(v);
		for (i = 0; i < m->nvalues; i++)
			if (strcmp(s, m->values[i]) == 0)
				return (1);
		return (0);
	}
	if ((sv = slo_scalar(v)) == NULL)
		return (0);
	s = sv;
	for (i = 0; i < m->nvalues && !ok; i++)
		ok = strcmp(s, m->values[i]) == 0;
	free(sv);
	return (ok);
}

/*
 * Does evidence of type, with props and links (parsed; borrowed; either
 * may be NULL), pass f?  f's type NULL matches any type.
 */
int
slo_filter_match(const struct slo_filter *f, const char *type,
    json_object *props, json_object *links)
{
	json_object	*v;
	size_t		 i;

	if (f->type != NULL && strcmp(f->type, type) != 0)
		return (0);
	for (i = 0; i < f->nm; i++) {
		v = NULL;
		if (!json_object_object_get_ex(f->m[i].link ? links : props,
		    f->m[i].key, &v))
			v = NULL;
		if (!slo_match_one(&f->m[i], v))
			return (0);
	}
	return (1);
}

/*
 * The burn an SLO keeps: window 0 is the SLO's (its calendar period when
 * it has one), 1..3 the rolling 7, 14 and 28 days, then each alerting
 * rule's long and short windows (4 + 2i and 5 + 2i).
 */
struct burn *
slo_burn_new(const struct slo_def *d)
{
	int64_t		spans[4 + 2 * SLO_ALERTS_MAX];
	size_t		i, n = 0;

	spans[n++] = d->calendar ? 0 : d->window;
	spans[n++] = 7 * SLO_DAY;
	spans[n++] = 14 * SLO_DAY;
	spans[n++] = 28 * SLO_DAY;
	for (i = 0; i < d->nalerts && i < SLO_ALERTS_MAX; i++) {
		spans[n++] = d->alerts[i].long_win;
		spans[n++] = d->alerts[i].short_win;
	}
	return (burn_new(d->slice, d->timeslices, d->slice_target,
	    d->kind == SLO_ALERTS, d->calendar, spans, n));
}

static int
slo_fires(double burn, double factor)
{
	return (burn >= factor * (1 - 1e-9));
}

/*
 * The SLO's state now, and its class (cls not NULL: SLO_OK for none),
 * without building anything: what slo.c asks every batch.
 */
enum slo_state
slo_state(const struct slo_def *d, const struct burn *b, enum slo_state *cls)
{
	enum slo_state	st = SLO_OK;
	size_t		i;

	for (i = 0; i < d->nalerts && st != SLO_PAGE; i++)
		if (slo_fires(burn_rate(b, 4 + 2 * i, d->objective),
		    d->alerts[i].factor) && slo_fires(burn_rate(b, 5 + 2 * i,
		    d->objective), d->alerts[i].factor))
			st = d->alerts[i].page ? SLO_PAGE : SLO_TICKET;
	if (cls != NULL)
		*cls = st;
	if (burn_budget_left(b, 0, d->objective) <= 1e-12 &&
	    burn_error_ratio(b, 0) > 0)
		st = SLO_EXHAUSTED;
	return (st);
}

/*
 * The SLO's state now, and (props not NULL) its Slo claim's properties
 * (a new object, taken): budget, burn per window, the 7/14/28-day
 * aggregates, each alerting rule and whether it fires, the class and
 * the state.  A rule fires when the burn rate over both its long and its
 * short window is at or above its factor.
 */
enum slo_state
slo_evaluate(const struct slo_def *d, const struct burn *b,
    json_object **props)
{
	static const char *const agg[] = { "7d", "14d", "28d" };
	json_object	*p, *burns, *aggs, *alerts, *a, *o;
	enum slo_state	 st = SLO_OK, cls;
	double		 g, t, lb, sb, left;
	char		*ln, *sn;
	size_t		 i;
	int		 fires;

	if (props == NULL)
		return (slo_state(d, b, NULL));
	left = burn_budget_left(b, 0, d->objective);
	p = json_object_new_object();
	burns = json_object_new_object();
	alerts = json_object_new_array();
	for (i = 0; i < d->nalerts; i++) {
		lb = burn_rate(b, 4 + 2 * i, d->objective);
		sb = burn_rate(b, 5 + 2 * i, d->objective);
		fires = slo_fires(lb, d->alerts[i].factor) &&
		    slo_fires(sb, d->alerts[i].factor);
		if (fires && d->alerts[i].page)
			st = SLO_PAGE;
		else if (fires && st == SLO_OK)
			st = SLO_TICKET;
		ln = slo_window_name(d->alerts[i].long_win);
		sn = slo_window_name(d->alerts[i].short_win);
		json_object_object_add(burns, ln, num_json(lb, NUM_RATE));
		json_object_object_add(burns, sn, num_json(sb, NUM_RATE));
		a = json_object_new_object();
		json_object_object_add(a, "severity", json_object_new_string(
		    d->alerts[i].page ? "page" : "ticket"));
		json_object_object_add(a, "long", json_object_new_string(ln));
		json_object_object_add(a, "short", json_object_new_string(sn));
		json_object_object_add(a, "burn_rate",
		    num_json(d->alerts[i].factor, NUM_RATE));
		json_object_object_add(a, "long_burn", num_json(lb, NUM_RATE));
		json_object_object_add(a, "short_burn", num_json(sb, NUM_RATE));
		json_object_object_add(a, "firing",
		    json_object_new_boolean(fires));
		json_object_array_add(alerts, a);
		free(ln);
		free(sn);
	}
	cls = st;
	if (left <= 1e-12 && burn_error_ratio(b, 0) > 0)
		st = SLO_EXHAUSTED;
	if (props == NULL) {
		json_object_put(p);
		json_object_put(burns);
		json_object_put(alerts);
		return (st);
	}
	json_object_object_add(p, "service", json_object_new_string(
	    d->service));
	json_object_object_add(p, "environment", json_object_new_string(
	    d->environment));
	json_object_object_add(p, "objective", num_json(d->objective,
	    NUM_RATE));
	if (d->calendar)
		json_object_object_add(p, "window", json_object_new_string(
		    d->calendar == BURN_MONTH ? "calendar month" :
		    "calendar week"));
	else {
		ln = slo_window_name(d->window);
		json_object_object_add(p, "window", json_object_new_string(ln));
		free(ln);
	}
	json_object_object_add(p, "budgeting", json_object_new_string(
	    d->timeslices ? "timeslices" : "occurrences"));
	json_object_object_add(p, "indicator", json_object_new_string(
	    slo_kinds[d->kind]));
	if (b->clocked && b->head != INT64_MIN) {
		char	since[MP_TIMELEN];

		/* Where its slices began: a restart's load starts there. */
		tf_format(b->first * b->slice * 1000000, since);
		json_object_object_add(p, "since", json_object_new_string(
		    since));
	}
	burn_sums(b, 0, &g, &t);
	json_object_object_add(p, "good", num_json(g, NUM_SECONDS));
	json_object_object_add(p, "total", num_json(t, NUM_SECONDS));
	json_object_object_add(p, "sli", num_json(t > 0 ? 100 * g / t : 100,
	    NUM_PERCENT));
	json_object_object_add(p, "budget_remaining", num_json(100 * left,
	    NUM_PERCENT));
	json_object_object_add(p, "budget_consumed", num_json(100 * (1 -
	    left), NUM_PERCENT));
	json_object_object_add(p, "burn", burns);
	aggs = json_object_new_object();
	for (i = 0; i < 3; i++) {
		burn_sums(b, 1 + i, &g, &t);
		o = json_object_new_object();
		json_object_object_add(o, "good", num_json(g, NUM_SECONDS));
		json_object_object_add(o, "total", num_json(t, NUM_SECONDS));
		json_object_object_add(o, "sli", num_json(t > 0 ? 100 * g / t :
		    100, NUM_PERCENT));
		json_object_object_add(o, "burn", num_json(burn_rate(b, 1 + i,
		    d->objective), NUM_RATE));
		json_object_object_add(aggs, agg[i], o);
	}
	json_object_object_add(p, "aggregates", aggs);
	json_object_object_add(p, "alerts", alerts);
	json_object_object_add(p, "class", json_object_new_string(
	    cls == SLO_PAGE ? "page" : cls == SLO_TICKET ? "ticket" :
	    "none"));
	json_object_object_add(p, "state", json_object_new_string(
	    slo_state_name(st)));
	*props = p;
	return (st);
}
