/*
 * computed.c: computed claims.
 *
 *   computed_claims:
 *     BuildLifeCycleSLA:
 *       id: "$MonthName-$YYYY"
 *       about: BuildService
 *       trigger: BuildCompleted
 *       collectors:
 *         c: { type: BuildCompleted, property: duration, count: 1000,
 *              exact: false, date_offset: CurrentMonth,
 *              filter: { subject: "b-*", links: { service: checkout } } }
 *       properties:
 *         metSLA: { type: percentage, expression: percentLessThanTimeSpan,
 *                   collector: c, threshold: 500s }
 *
 * Everything that can be wrong is caught here, when the configuration
 * loads: unknown types, properties, expressions, offsets and template
 * variables, and thresholds on anything but a timespan.  The engine
 * (engine.c) keeps the collected items; this file computes periods, ids
 * and expressions over them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "derive/derive.h"

#define DAY_US	(86400LL * 1000000)

static const char *offset_names[] = {
	[DO_CURRENT_MONTH] = "CurrentMonth",
	[DO_PREVIOUS_MONTH] = "PreviousMonth",
	[DO_CURRENT_WEEK] = "CurrentWeek",
	[DO_CURRENT_QUARTER] = "CurrentQuarter",
	[DO_LAST_7_DAYS] = "Last7Days",
	[DO_LAST_14_DAYS] = "Last14Days",
	[DO_LAST_28_DAYS] = "Last28Days",
	[DO_ALL] = "All",
};
static const char *expr_names[] = {
	[EX_COUNT] = "count",
	[EX_TRUECOUNT] = "trueCount",
	[EX_FALSECOUNT] = "falseCount",
	[EX_SUM] = "sum",
	[EX_AVG] = "avg",
	[EX_MIN] = "min",
	[EX_MAX] = "max",
	[EX_PERCENTILE] = "percentile",
	[EX_PERCENTTRUE] = "percentTrue",
	[EX_PCT_LT_TS] = "percentLessThanTimeSpan",
	[EX_PCT_GT_TS] = "percentGreaterThanTimeSpan",
};
static const char *month_names[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *template_vars[] = {
	"YYYY", "MM", "DD", "MonthName", "WW", "Quarter", NULL,
};

const char *
computed_expr_name(enum expr e)
{
	return (expr_names[e]);
}

/* Calendar pieces of t (microseconds, UTC). */
static void
cc_tm(int64_t us, struct tm *tm)
{
	time_t	t = (time_t)(us / 1000000);

	if (us < 0 && us % 1000000)
		t--;
	gmtime_r(&t, tm);
}

static int64_t
cc_mktime(int year, int mon, int mday)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = mday;
	return ((int64_t)timegm(&tm) * 1000000);
}

/* ISO 8601 week number and week-based year of t. */
static void
cc_isoweek(int64_t us, int *week, int *year)
{
	struct tm	tm;
	char		b[8];

	cc_tm(us, &tm);
	strftime(b, sizeof(b), "%V", &tm);
	*week = atoi(b);
	strftime(b, sizeof(b), "%G", &tm);
	*year = atoi(b);
}

/* The start of the bucket holding t, for offset's granularity. */
int64_t
computed_bucket_start(enum date_offset o, int64_t t)
{
	struct tm	tm;
	int64_t		day;

	if (o == DO_ALL)
		return (INT64_MIN);
	cc_tm(t, &tm);
	switch (o) {
	case DO_CURRENT_MONTH:
	case DO_PREVIOUS_MONTH:
		return (cc_mktime(tm.tm_year + 1900, tm.tm_mon, 1));
	case DO_CURRENT_QUARTER:
		return (cc_mktime(tm.tm_year + 1900, tm.tm_mon / 3 * 3, 1));
	case DO_CURRENT_WEEK:
		day = cc_mktime(tm.tm_year + 1900, tm.tm_mon, tm.tm_mday);
		return (day - (int64_t)((tm.tm_wday + 6) % 7) * DAY_US);
	default:	/* the rolling windows: day buckets */
		return (cc_mktime(tm.tm_year + 1900, tm.tm_mon, tm.tm_mday));
	}
}

/* The start of the bucket after the one starting at b. */
int64_t
computed_bucket_next(enum date_offset o, int64_t b)
{
	struct tm	tm;

	if (o == DO_ALL)
		return (INT64_MAX);
	cc_tm(b, &tm);
	switch (o) {
	case DO_CURRENT_MONTH:
	case DO_PREVIOUS_MONTH:
		return (cc_mktime(tm.tm_year + 1900, tm.tm_mon + 1, 1));
	case DO_CURRENT_QUARTER:
		return (cc_mktime(tm.tm_year + 1900, tm.tm_mon + 3, 1));
	case DO_CURRENT_WEEK:
		return (b + 7 * DAY_US);
	default:
		return (cc_mktime(tm.tm_year + 1900, tm.tm_mon,
		    tm.tm_mday + 1));
	}
}

/*
 * The window [*from, *to) that offset o selects for a computation anchored
 * at a: calendar periods contain a; the rolling ones end at a, inclusive.
 */
void
computed_period(enum date_offset o, int64_t a, int64_t *from, int64_t *to)
{
	int64_t	b;

	switch (o) {
	case DO_ALL:
		*from = INT64_MIN;
		*to = INT64_MAX;
		return;
	case DO_PREVIOUS_MONTH:
		b = computed_bucket_start(o, a);
		*to = b;
		*from = computed_bucket_start(o, b - 1);
		return;
	case DO_LAST_7_DAYS:
		*from = a - 7 * DAY_US + 1;
		*to = a + 1;
		return;
	case DO_LAST_14_DAYS:
		*from = a - 14 * DAY_US + 1;
		*to = a + 1;
		return;
	case DO_LAST_28_DAYS:
		*from = a - 28 * DAY_US + 1;
		*to = a + 1;
		return;
	default:
		*from = computed_bucket_start(o, a);
		*to = computed_bucket_next(o, *from);
		return;
	}
}

/* Check that every $variable of tmpl exists; err names the first that not. */
int
computed_template_ok(const char *tmpl, char *bad, size_t badlen)
{
	const char	*p, **v;
	size_t		 n;

	for (p = tmpl; (p = strchr(p, '$')) != NULL; p += n) {
		p++;
		for (n = 0; (p[n] >= 'A' && p[n] <= 'Z') ||
		    (p[n] >= 'a' && p[n] <= 'z'); n++)
			;
		for (v = template_vars; *v != NULL; v++)
			if (strlen(*v) == n && strncmp(*v, p, n) == 0)
				break;
		if (*v == NULL) {
			snprintf(bad, badlen, "$%.*s", (int)(n ? n : 1), p);
			return (-1);
		}
	}
	return (0);
}

/*
 * Expand an id template at anchor a.  $YYYY is the ISO week-based year when
 * the template also uses $WW, so that "$YYYY-W$WW" is always right.
 */
int
computed_expand_id(const char *tmpl, int64_t a, char *out, size_t outlen)
{
	struct tm	 tm;
	struct buf	 b;
	const char	*p;
	int		 week, wyear, useweek;
	size_t		 n;

	cc_tm(a, &tm);
	cc_isoweek(a, &week, &wyear);
	useweek = strstr(tmpl, "$WW") != NULL;
	buf_init(&b);
	for (p = tmpl; *p != '\0'; p += n) {
		if (*p != '$') {
			buf_addc(&b, *p);
			n = 1;
			continue;
		}
		p++;
		for (n = 0; (p[n] >= 'A' && p[n] <= 'Z') ||
		    (p[n] >= 'a' && p[n] <= 'z'); n++)
			;
		if (n == 4 && strncmp(p, "YYYY", 4) == 0)
			buf_printf(&b, "%04d", useweek ? wyear :
			    tm.tm_year + 1900);
		else if (n == 2 && strncmp(p, "MM", 2) == 0)
			buf_printf(&b, "%02d", tm.tm_mon + 1);
		else if (n == 2 && strncmp(p, "DD", 2) == 0)
			buf_printf(&b, "%02d", tm.tm_mday);
		else if (n == 2 && strncmp(p, "WW", 2) == 0)
			buf_printf(&b, "%02d", week);
		else if (n == 9 && strncmp(p, "MonthName", 9) == 0)
			buf_adds(&b, month_names[tm.tm_mon]);
		else if (n == 7 && strncmp(p, "Quarter", 7) == 0)
			buf_printf(&b, "Q%d", tm.tm_mon / 3 + 1);
		else {
			buf_free(&b);
			return (-1);
		}
	}
	if (b.len == 0 || b.len >= outlen) {
		buf_free(&b);
		return (-1);
	}
	memcpy(out, buf_cstr(&b), b.len + 1);
	buf_free(&b);
	return (0);
}

static int
cc_numeric(enum ptype t)
{
	return (t == PT_INTEGER || t == PT_NUMBER || t == PT_PERCENTAGE ||
	    t == PT_TIMESPAN);
}

static int
cc_cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Evaluate one property over n items.  Returns 0 with *out (new), or 1
 * when the expression has no value (no items, or no numbers to average).
 */
int
computed_eval(const struct cpropdef *cp, const struct citem **items,
    size_t n, json_object **out)
{
	double	 v = 0, *vals;
	size_t	 i, k = 0, hits = 0;

	*out = NULL;
	switch (cp->expr) {
	case EX_COUNT:
		v = (double)n;
		break;
	case EX_TRUECOUNT:
	case EX_FALSECOUNT:
		for (i = 0; i < n; i++)
			if (items[i]->kind == 1 && (items[i]->num != 0) ==
			    (cp->expr == EX_TRUECOUNT))
				hits++;
		v = (double)hits;
		break;
	case EX_PERCENTTRUE:
		for (i = 0; i < n; i++)
			if (items[i]->kind == 1) {
				k++;
				hits += items[i]->num != 0;
			}
		if (k == 0)
			return (1);
		v = 100.0 * (double)hits / (double)k;
		break;
	case EX_PCT_LT_TS:
	case EX_PCT_GT_TS:
		for (i = 0; i < n; i++)
			if (items[i]->kind == 2) {
				k++;
				if (cp->expr == EX_PCT_LT_TS ?
				    items[i]->num < cp->threshold :
				    items[i]->num > cp->threshold)
					hits++;
			}
		if (k == 0)
			return (1);
		v = 100.0 * (double)hits / (double)k;
		break;
	case EX_SUM:
	case EX_AVG:
	case EX_MIN:
	case EX_MAX: {
		double	sum = 0, mn = 0, mx = 0, x;

		for (i = 0; i < n; i++) {
			if (items[i]->kind != 2)
				continue;
			x = items[i]->num;
			if (k == 0 || x < mn)
				mn = x;
			if (k == 0 || x > mx)
				mx = x;
			sum += x;
			k++;
		}
		if (k == 0 && cp->expr != EX_SUM)
			return (1);
		v = cp->expr == EX_SUM ? sum : cp->expr == EX_AVG ?
		    sum / (double)k : cp->expr == EX_MIN ? mn : mx;
		break;
	}
	case EX_PERCENTILE:
		vals = xcalloc(n ? n : 1, sizeof(*vals));
		for (i = 0; i < n; i++)
			if (items[i]->kind == 2)
				vals[k++] = items[i]->num;
		if (k == 0) {
			free(vals);
			return (1);
		}
		/* Nearest rank: the smallest value with p% at or below it. */
		qsort(vals, k, sizeof(*vals), cc_cmp_double);
		i = (size_t)ceil(cp->p * (double)k / 100.0);
		v = vals[i == 0 ? 0 : i - 1];
		free(vals);
		break;
	}
	/*
	 * Rounded for people here, before the value is stored, so that a
	 * rebuild computes the same bytes (util/number.c, docs/metrics.md).
	 */
	if (cp->type == PT_INTEGER)
		*out = json_object_new_int64((int64_t)llround(v));
	else if ((*out = num_json(v, cp->type == PT_PERCENTAGE ? NUM_PERCENT :
	    cp->type == PT_TIMESPAN ? NUM_SECONDS : NUM_RATE)) == NULL)
		return (1);
	return (0);
}

static int
cc_find_type(const struct rules *t, const char *name, const struct evtype **et,
    int *is_claim)
{
	const struct claimdef	*cd;

	if ((*et = types_find(t->types, name)) != NULL) {
		*is_claim = 0;
		return (0);
	}
	if ((cd = claims_find(t, name)) != NULL) {
		*et = &cd->t;
		*is_claim = 1;
		return (0);
	}
	return (-1);
}

static int
cc_load_collector(const struct rules *t, struct collectordef *c,
    const char *name, json_object *decl, const char *file, const char *path,
    char *err, size_t errlen)
{
	const struct evtype	*et;
	const struct propdef	*pd;
	json_object		*v, *links;
	char			 key[768];
	size_t			 i;

	memset(c, 0, sizeof(*c));
	c->name = xstrdup(name);
	c->count = 1000;
	c->offset = DO_ALL;
	if (!json_object_is_type(decl, json_type_object))
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "a collector is a mapping with at least type"));
	json_object_object_foreach(decl, k, kv) {
		if (strcmp(k, "type") && strcmp(k, "property") &&
		    strcmp(k, "count") && strcmp(k, "exact") &&
		    strcmp(k, "date_offset") && strcmp(k, "filter") &&
		    strcmp(k, "description")) {
			snprintf(key, sizeof(key), "%s.%s", path, k);
			return (yaml_errf(err, errlen, file, kv ? kv : decl, key,
			    "%s", "unknown key (expected type, property, "
			    "count, exact, date_offset or filter)"));
		}
	}
	snprintf(key, sizeof(key), "%s.type", path);
	if (!json_object_object_get_ex(decl, "type", &v) ||
	    !json_object_is_type(v, json_type_string))
		return (yaml_errf(err, errlen, file, v ? v : decl, key, "%s",
		    "missing, or not a type name"));
	if (cc_find_type(t, json_object_get_string(v), &et, &c->of_claims) ==
	    -1)
		return (yaml_errf(err, errlen, file, v, key, "unknown evidence or "
		    "claim type \"%.128s\"", json_object_get_string(v)));
	c->type = xstrdup(et->name);
	if (json_object_object_get_ex(decl, "property", &v) && v != NULL) {
		snprintf(key, sizeof(key), "%s.property", path);
		if (!json_object_is_type(v, json_type_string))
			return (yaml_errf(err, errlen, file, v, key, "%s",
			    "must be a property name"));
		if ((pd = types_prop(et, json_object_get_string(v))) == NULL)
			return (yaml_errf(err, errlen, file, v, key, "the type has "
			    "no property \"%.64s\"", json_object_get_string(v)));
		c->property = xstrdup(pd->name);
		c->ptype = pd->type;
	}
	if (json_object_object_get_ex(decl, "count", &v) && v != NULL) {
		snprintf(key, sizeof(key), "%s.count", path);
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > 100000)
			return (yaml_errf(err, errlen, file, v, key, "%s",
			    "must be an integer from 1 to 100000"));
		c->count = (size_t)json_object_get_int64(v);
	}
	if (json_object_object_get_ex(decl, "exact", &v) && v != NULL) {
		snprintf(key, sizeof(key), "%s.exact", path);
		if (!json_object_is_type(v, json_type_boolean))
			return (yaml_errf(err, errlen, file, v, key, "%s",
			    "must be true or false"));
		c->exact = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(decl, "date_offset", &v) && v != NULL) {
		snprintf(key, sizeof(key), "%s.date_offset", path);
		for (i = 0; i <= DO_ALL; i++)
			if (json_object_is_type(v, json_type_string) &&
			    strcmp(json_object_get_string(v),
			    offset_names[i]) == 0)
				break;
		if (i > DO_ALL)
			return (yaml_errf(err, errlen, file, v, key, "%s",
			    "must be CurrentMonth, PreviousMonth, CurrentWeek, "
			    "CurrentQuarter, Last7Days, Last14Days, Last28Days "
			    "or All"));
		c->offset = (enum date_offset)i;
	}
	if (json_object_object_get_ex(decl, "filter", &v) && v != NULL) {
		snprintf(key, sizeof(key), "%s.filter", path);
		if (!json_object_is_type(v, json_type_object))
			return (yaml_errf(err, errlen, file, v, key, "%s",
			    "must be a mapping with subject and/or links"));
		json_object_object_foreach(v, fk, fv) {
			if (strcmp(fk, "subject") == 0 && fv != NULL &&
			    json_object_is_type(fv, json_type_string)) {
				c->filter_subject =
				    xstrdup(json_object_get_string(fv));
				continue;
			}
			if (strcmp(fk, "links") != 0 || fv == NULL ||
			    !json_object_is_type(fv, json_type_object))
				return (yaml_errf(err, errlen, file, fv ? fv : v,
				    key, "%s", "expected subject: STRING and "
				    "links: { NAME: VALUE }"));
			links = fv;
			json_object_object_foreach(links, lk, lv) {
				if (lv == NULL || !json_object_is_type(lv,
				    json_type_string))
					return (yaml_errf(err, errlen, file, links,
					    key, "%s", "link values must be "
					    "strings"));
				c->filter_keys = xreallocarray(c->filter_keys,
				    c->nfilter + 1, sizeof(char *));
				c->filter_vals = xreallocarray(c->filter_vals,
				    c->nfilter + 1, sizeof(char *));
				c->filter_keys[c->nfilter] = xstrdup(lk);
				c->filter_vals[c->nfilter] =
				    xstrdup(json_object_get_string(lv));
				c->nfilter++;
			}
		}
	}
	return (0);
}

static int
cc_expr_parse(const char *s, enum expr *e, double *p)
{
	size_t	i, n;
	char	*end;

	for (i = 0; i <= EX_PCT_GT_TS; i++) {
		n = strlen(expr_names[i]);
		if (strncmp(s, expr_names[i], n) != 0)
			continue;
		if (s[n] == '\0') {
			*e = (enum expr)i;
			return (0);
		}
		if (i == EX_PERCENTILE && s[n] == '(') {
			*p = strtod(s + n + 1, &end);
			if (end != s + n + 1 && strcmp(end, ")") == 0) {
				*e = EX_PERCENTILE;
				return (0);
			}
		}
	}
	return (-1);
}

static int
cc_load_prop(const struct computeddef *cc, struct cpropdef *cp,
    const char *name, json_object *decl, const char *file, const char *path,
    char *err, size_t errlen)
{
	const struct collectordef *c;
	json_object	*v, *thr = NULL;
	char		 key[768];
	size_t		 i;
	int		 need_bool, need_num, need_ts;

	memset(cp, 0, sizeof(*cp));
	cp->name = xstrdup(name);
	cp->p = -1;
	if (!json_object_is_type(decl, json_type_object))
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "a property is a mapping with type and expression"));
	json_object_object_foreach(decl, k, kv) {
		if (strcmp(k, "type") && strcmp(k, "expression") &&
		    strcmp(k, "collector") && strcmp(k, "threshold") &&
		    strcmp(k, "percentile") && strcmp(k, "required") &&
		    strcmp(k, "list") && strcmp(k, "description")) {
			snprintf(key, sizeof(key), "%s.%s", path, k);
			return (yaml_errf(err, errlen, file, kv ? kv : decl, key,
			    "%s", "unknown key (expected type, expression, "
			    "collector, threshold or percentile)"));
		}
	}
	snprintf(key, sizeof(key), "%s.type", path);
	if (!json_object_object_get_ex(decl, "type", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    types_ptype_parse(json_object_get_string(v), &cp->type) == -1 ||
	    !cc_numeric(cp->type))
		return (yaml_errf(err, errlen, file, v ? v : decl, key, "%s",
		    "must be integer, number, percentage or timespan"));
	snprintf(key, sizeof(key), "%s.expression", path);
	if (!json_object_object_get_ex(decl, "expression", &v) ||
	    !json_object_is_type(v, json_type_string))
		return (yaml_errf(err, errlen, file, v ? v : decl, key, "%s",
		    "missing"));
	if (cc_expr_parse(json_object_get_string(v), &cp->expr, &cp->p) == -1)
		return (yaml_errf(err, errlen, file, v, key, "unknown expression "
		    "\"%.64s\" (count, trueCount, falseCount, sum, avg, min, "
		    "max, percentile, percentTrue, percentLessThanTimeSpan, "
		    "percentGreaterThanTimeSpan)", json_object_get_string(v)));
	snprintf(key, sizeof(key), "%s.collector", path);
	if (json_object_object_get_ex(decl, "collector", &v) && v != NULL) {
		for (i = 0; i < cc->ncoll; i++)
			if (json_object_is_type(v, json_type_string) &&
			    strcmp(cc->coll[i].name,
			    json_object_get_string(v)) == 0)
				break;
		if (i == cc->ncoll)
			return (yaml_errf(err, errlen, file, v, key, "no collector "
			    "named \"%.64s\"", json_object_get_string(v)));
		cp->collector = i;
	} else if (cc->ncoll != 1)
		return (yaml_errf(err, errlen, file, decl, key, "%s", "name the "
		    "collector: this claim has more than one"));
	c = &cc->coll[cp->collector];

	need_bool = cp->expr == EX_TRUECOUNT || cp->expr == EX_FALSECOUNT ||
	    cp->expr == EX_PERCENTTRUE;
	need_ts = cp->expr == EX_PCT_LT_TS || cp->expr == EX_PCT_GT_TS;
	need_num = cp->expr == EX_SUM || cp->expr == EX_AVG ||
	    cp->expr == EX_MIN || cp->expr == EX_MAX ||
	    cp->expr == EX_PERCENTILE;
	snprintf(key, sizeof(key), "%s.expression", path);
	if ((need_bool || need_ts || need_num) && c->property == NULL)
		return (yaml_errf(err, errlen, file, decl, key, "%s needs a "
		    "collector with a property", expr_names[cp->expr]));
	if (need_bool && c->ptype != PT_BOOLEAN)
		return (yaml_errf(err, errlen, file, decl, key, "%s needs a boolean "
		    "property", expr_names[cp->expr]));
	if (need_num && !cc_numeric(c->ptype))
		return (yaml_errf(err, errlen, file, decl, key, "%s needs a numeric "
		    "property", expr_names[cp->expr]));
	json_object_object_get_ex(decl, "threshold", &thr);
	snprintf(key, sizeof(key), "%s.threshold", path);
	if (need_ts) {
		if (c->ptype != PT_TIMESPAN)
			return (yaml_errf(err, errlen, file, thr ? thr : decl, key,
			    "a threshold applies to a timespan property, and "
			    "%s is not one", c->property));
		if (thr == NULL)
			return (yaml_errf(err, errlen, file, decl, key, "%s",
			    "missing (e.g. 500s)"));
		if (json_object_is_type(thr, json_type_int) ||
		    json_object_is_type(thr, json_type_double))
			cp->threshold = json_object_get_double(thr);
		else if (!json_object_is_type(thr, json_type_string) ||
		    ts_parse(json_object_get_string(thr), &cp->threshold) == -1)
			return (yaml_errf(err, errlen, file, thr, key, "%s",
			    "must be a timespan such as 500s or 8m20s"));
	} else if (thr != NULL)
		return (yaml_errf(err, errlen, file, thr, key, "%s", "only "
		    "percentLessThanTimeSpan and percentGreaterThanTimeSpan "
		    "take a threshold"));
	if (json_object_object_get_ex(decl, "percentile", &v) && v != NULL) {
		snprintf(key, sizeof(key), "%s.percentile", path);
		if (cp->expr != EX_PERCENTILE || (!json_object_is_type(v,
		    json_type_int) && !json_object_is_type(v,
		    json_type_double)))
			return (yaml_errf(err, errlen, file, v, key, "%s",
			    "a number, for the percentile expression"));
		cp->p = json_object_get_double(v);
	}
	if (cp->expr == EX_PERCENTILE && !(cp->p > 0 && cp->p <= 100))
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "percentile needs p in (0, 100]: percentile(95), or "
		    "percentile: 95"));
	return (0);
}

static void
cc_def_clear(struct computeddef *cc)
{
	size_t	i, j;

	free(cc->name);
	free(cc->idtmpl);
	free(cc->about);
	free(cc->trigger);
	for (i = 0; i < cc->ncoll; i++) {
		struct collectordef *c = &cc->coll[i];

		free(c->name);
		free(c->type);
		free(c->property);
		free(c->filter_subject);
		for (j = 0; j < c->nfilter; j++) {
			free(c->filter_keys[j]);
			free(c->filter_vals[j]);
		}
		free(c->filter_keys);
		free(c->filter_vals);
	}
	free(cc->coll);
	for (i = 0; i < cc->nprops; i++)
		free(cc->props[i].name);
	free(cc->props);
	memset(cc, 0, sizeof(*cc));
}

void
computed_free_defs(struct rules *t)
{
	size_t	i;

	for (i = 0; i < t->ncc; i++)
		cc_def_clear(&t->cc[i]);
	free(t->cc);
	t->cc = NULL;
	t->ncc = 0;
}

static int
cc_load_one(const struct rules *t, struct computeddef *cc, const char *name,
    json_object *decl, const char *file, char *err, size_t errlen)
{
	const struct evtype	*et;
	json_object		*v, *colls, *props;
	char			 path[512], key[640], bad[64];

	memset(cc, 0, sizeof(*cc));
	cc->name = xstrdup(name);
	snprintf(path, sizeof(path), "computed_claims.%s", name);
	if (!types_name_ok(name))
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "names are letters, digits, '_', '-' or '.'"));
	if (types_find(t->types, name) != NULL || claims_find(t, name) != NULL)
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "an evidence or claim type has this name already"));
	if (!json_object_is_type(decl, json_type_object))
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "must be a mapping with id, trigger, collectors and "
		    "properties"));
	json_object_object_foreach(decl, k, kv) {
		if (strcmp(k, "id") && strcmp(k, "about") &&
		    strcmp(k, "trigger") && strcmp(k, "collectors") &&
		    strcmp(k, "properties") && strcmp(k, "description")) {
			snprintf(key, sizeof(key), "%s.%s", path, k);
			return (yaml_errf(err, errlen, file, kv ? kv : decl, key,
			    "%s", "unknown key (expected id, about, trigger, "
			    "collectors or properties)"));
		}
	}
	snprintf(key, sizeof(key), "%s.id", path);
	if (!json_object_object_get_ex(decl, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    *json_object_get_string(v) == '\0')
		return (yaml_errf(err, errlen, file, v ? v : decl, key, "%s",
		    "missing: an id template such as \"$MonthName-$YYYY\""));
	if (computed_template_ok(json_object_get_string(v), bad,
	    sizeof(bad)) == -1)
		return (yaml_errf(err, errlen, file, v, key, "unknown template "
		    "variable %s ($YYYY, $MM, $DD, $MonthName, $WW, $Quarter)",
		    bad));
	cc->idtmpl = xstrdup(json_object_get_string(v));
	if (json_object_object_get_ex(decl, "about", &v) && v != NULL) {
		snprintf(key, sizeof(key), "%s.about", path);
		if (!json_object_is_type(v, json_type_string))
			return (yaml_errf(err, errlen, file, v, key, "%s",
			    "must be a string"));
		cc->about = xstrdup(json_object_get_string(v));
	}
	snprintf(key, sizeof(key), "%s.trigger", path);
	if (!json_object_object_get_ex(decl, "trigger", &v) ||
	    !json_object_is_type(v, json_type_string))
		return (yaml_errf(err, errlen, file, v ? v : decl, key, "%s",
		    "missing: the evidence or claim type that recomputes it"));
	if (cc_find_type(t, json_object_get_string(v), &et,
	    &cc->trigger_is_claim) == -1)
		return (yaml_errf(err, errlen, file, v, key, "unknown evidence or "
		    "claim type \"%.128s\"", json_object_get_string(v)));
	cc->trigger = xstrdup(et->name);

	snprintf(key, sizeof(key), "%s.collectors", path);
	if (!json_object_object_get_ex(decl, "collectors", &colls) ||
	    !json_object_is_type(colls, json_type_object) ||
	    json_object_object_length(colls) == 0)
		return (yaml_errf(err, errlen, file, colls ? colls : decl, key,
		    "%s", "must be a mapping of collector name to collector"));
	json_object_object_foreach(colls, cn, cd) {
		snprintf(key, sizeof(key), "%s.collectors.%s", path, cn);
		cc->coll = xreallocarray(cc->coll, cc->ncoll + 1,
		    sizeof(*cc->coll));
		cc->ncoll++;
		if (cc_load_collector(t, &cc->coll[cc->ncoll - 1], cn,
		    cd ? cd : colls, file, key, err, errlen) == -1)
			return (-1);
	}
	snprintf(key, sizeof(key), "%s.properties", path);
	if (!json_object_object_get_ex(decl, "properties", &props) ||
	    !json_object_is_type(props, json_type_object) ||
	    json_object_object_length(props) == 0)
		return (yaml_errf(err, errlen, file, props ? props : decl, key,
		    "%s", "must be a mapping of property name to expression"));
	json_object_object_foreach(props, pn, pd) {
		snprintf(key, sizeof(key), "%s.properties.%s", path, pn);
		cc->props = xreallocarray(cc->props, cc->nprops + 1,
		    sizeof(*cc->props));
		cc->nprops++;
		if (cc_load_prop(cc, &cc->props[cc->nprops - 1], pn,
		    pd ? pd : props, file, key, err, errlen) == -1)
			return (-1);
	}
	return (0);
}

/* Load "computed_claims" (may be NULL); types and claims come first. */
int
computed_load(struct rules *t, json_object *decls, const char *file,
    char *err, size_t errlen)
{
	struct computeddef	cc;

	if (decls == NULL)
		return (0);
	if (!json_object_is_type(decls, json_type_object))
		return (yaml_errf(err, errlen, file, decls, "computed_claims", "%s",
		    "must be a mapping of claim name to declaration"));
	json_object_object_foreach(decls, name, decl) {
		if (cc_load_one(t, &cc, name, decl ? decl : decls, file, err,
		    errlen) == -1) {
			cc_def_clear(&cc);
			return (-1);
		}
		t->cc = xreallocarray(t->cc, t->ncc + 1, sizeof(*t->cc));
		t->cc[t->ncc++] = cc;
	}
	return (0);
}
