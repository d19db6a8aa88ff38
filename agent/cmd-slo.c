/*
 * cmd-slo.c: "milepost sli report", which posts an SLI computed elsewhere
 * (a Prometheus recording rule, a load balancer's counters) as one
 * SliReported evidence: good and total events over an interval, for one
 * SLO of the receiver's slos: with `indicator: { reported: {} }`.
 */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int	cmd_slo_sli_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_sli_entry = {
	.name = "sli",
	.usage = "report --slo NAME --good N --total M [--start RFC3339] "
	    "[--end RFC3339] [--id ID]",
	.summary = "report good and total events of an SLO measured elsewhere",
	.help =
	    "options:\n"
	    "  --slo NAME       the SLO (slos: in the receiver's "
	    "configuration)\n"
	    "  --good N         good events in the interval (N >= 0)\n"
	    "  --total M        all events in the interval (M >= N)\n"
	    "  --start RFC3339  the interval's start (default: its end)\n"
	    "  --end RFC3339    the interval's end (default: now); the "
	    "evidence's time\n"
	    "  --id ID          the idempotency id (default: a new "
	    "sli-<hex>)\n"
	    "\nexit status: 0 accepted, duplicate or spooled; 2 refused, or "
	    "a usage\nerror; 1 neither delivered nor spooled.\n",
	.exec = cmd_slo_sli_exec,
};

/* A count: a finite number >= 0.  Returns 0 or -1. */
static int
cmd_slo_count(const char *s, double *out)
{
	char	*end;

	*out = strtod(s, &end);
	return (*s == '\0' || *end != '\0' || !isfinite(*out) || *out < 0 ?
	    -1 : 0);
}

static int
cmd_slo_sli_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slo", required_argument, NULL, 's' },
		{ "good", required_argument, NULL, 'g' },
		{ "total", required_argument, NULL, 't' },
		{ "start", required_argument, NULL, 'a' },
		{ "end", required_argument, NULL, 'e' },
		{ "id", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*slo = NULL, *good = NULL, *total = NULL;
	const char		*start = NULL, *end = NULL, *id = NULL;
	char			 hex[41], gen[64], now[MP_TIMELEN];
	struct client_reply	 r;
	json_object		*ev, *props;
	double			 g, t;
	int64_t			 ts, te;
	int			 c, spooled = 0, rc;

	if (argc < 2 || strcmp(argv[1], "report") != 0)
		return (cmd_usage_error(ce, "%s", argc < 2 ? "a subcommand is "
		    "required: report" : "unknown subcommand (valid: "
		    "report)"));
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': slo = optarg; break;
		case 'g': good = optarg; break;
		case 't': total = optarg; break;
		case 'a': start = optarg; break;
		case 'e': end = optarg; break;
		case 'i': id = optarg; break;
		case 'h': return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "unknown option %s",
			    argv[optind - 1]));
		}
	}
	if (optind != argc)
		return (cmd_usage_error(ce, "unexpected argument %s",
		    argv[optind]));
	if (slo == NULL || *slo == '\0' || !ident_valid(slo))
		return (cmd_usage_error(ce, "%s", "--slo NAME is required"));
	if (good == NULL || cmd_slo_count(good, &g) == -1)
		return (cmd_usage_error(ce, "%s", "--good must be a number of "
		    "events, 0 or more"));
	if (total == NULL || cmd_slo_count(total, &t) == -1)
		return (cmd_usage_error(ce, "%s", "--total must be a number of "
		    "events, 0 or more"));
	if (g > t)
		return (cmd_usage_error(ce, "--good (%s) must not exceed "
		    "--total (%s)", good, total));
	if (start != NULL && tf_parse(start, &ts) == -1)
		return (cmd_usage_error(ce, "--start: not an RFC 3339 time: "
		    "%s", start));
	if (end != NULL && tf_parse(end, &te) == -1)
		return (cmd_usage_error(ce, "--end: not an RFC 3339 time: %s",
		    end));
	if (end == NULL) {
		te = tf_now();
		tf_format(te, now);
		end = now;
	}
	if (start != NULL && ts > te)
		return (cmd_usage_error(ce, "%s", "--start must not be after "
		    "--end"));
	if (client_key() != CLIENT_KEY_OK) {
		log_warnx("sli: MILEPOST_SECRET is %s: nothing was sent or "
		    "spooled", client_key() == CLIENT_KEY_BAD ? "not a valid "
		    "Standard Webhooks secret (whsec_<base64>)" : "not set");
		return (CMD_EXIT_USAGE);
	}
	if (id == NULL) {
		cmd_random_hex(hex, 20);
		snprintf(gen, sizeof(gen), "sli-%s", hex);
		id = gen;
	}
	ev = cmd_evidence_new(id, "SliReported", slo, end);
	json_object_object_get_ex(ev, "properties", &props);
	json_object_object_add(props, "slo", json_object_new_string(slo));
	json_object_object_add(props, "good", json_object_new_double(g));
	json_object_object_add(props, "total", json_object_new_double(t));
	if (start != NULL)
		json_object_object_add(props, "start",
		    json_object_new_string(start));
	json_object_object_add(props, "end", json_object_new_string(end));
	switch (client_post(ev, 0, &r, &spooled)) {
	case CLIENT_DELIVERED:
		cmd_spool_hint();
		rc = CMD_EXIT_OK;
		break;
	case CLIENT_RETRY:
	case CLIENT_NOKEY:
		rc = spooled ? CMD_EXIT_OK : CMD_EXIT_FAIL;
		break;
	default:
		client_reply_print("sli", &r);
		rc = CMD_EXIT_USAGE;
		break;
	}
	json_object_put(ev);
	return (rc);
}

/*
 * "milepost slo import FILE…": OpenSLO v1 (kinds SLO, SLI, AlertPolicy and
 * AlertCondition; documents separated by "---" lines) into the slos:
 * section, printed as JSON (which milepost.yaml accepts as it is).
 *
 * The mapping, and what is refused rather than guessed:
 *  - SLO spec.service -> service; the environment from metadata.labels.
 *    environment, else --environment; neither: refused.
 *  - objectives: exactly one, target (0..1) or targetPercent -> objective;
 *    several (or a composite SLO): refused, Milepost has one per SLO.
 *  - timeWindow: rolling d/h/w durations (1h to 90d) -> window; calendar
 *    1M or 1w in UTC -> { calendar: month | week }; any other calendar,
 *    a time zone but UTC, or M/Q/Y rolling: refused.
 *  - budgetingMethod: Occurrences -> occurrences; Timeslices ->
 *    timeslices with timeSliceWindow -> slice and timeSliceTarget ->
 *    slice_target; RatioTimeslices (an average of slice ratios): refused.
 *  - indicator or indicatorRef (an SLI of the files): ratioMetric good (or
 *    bad) / total from a metric source of type Milepost, whose spec is a
 *    FILTER { type, properties, links }, -> ratio; from any other source
 *    (Prometheus, Datadog, …: computed elsewhere) -> reported, to be fed
 *    with `milepost sli report`; bad/total, raw, and thresholdMetric:
 *    refused.
 *  - alertPolicies (inline, or alertPolicyRef to an AlertPolicy of the
 *    files) with one burnrate AlertCondition (inline or conditionRef),
 *    op gte or gt, severity page or ticket -> alerting { severity, long:
 *    lookbackWindow, short: lookbackWindow / 12 (the SRE workbook's
 *    ratio), burn_rate: threshold }; any other op or severity: refused.
 * Absent optional fields take Milepost's defaults, said on stderr.  Exit
 * 0 with the section on stdout; 2 when anything could not be mapped, each
 * reason on stderr, nothing on stdout.
 */
#define CMD_SLO_FILE_MAX	(4 << 20)
#define CMD_SLO_DOCS_MAX	1000

static int	cmd_slo_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_slo_entry = {
	.name = "slo",
	.usage = "import [--environment E] FILE...",
	.summary = "import OpenSLO v1 SLOs into the slos: section",
	.help =
	    "options:\n"
	    "  --environment E   the environment of SLOs whose metadata.labels "
	    "name none\n"
	    "\nprints the slos: section as JSON; what cannot be mapped is "
	    "printed on\nstderr, and nothing is imported (exit 2).\n",
	.exec = cmd_slo_exec,
};

struct cmd_slo_imp {
	json_object	*docs;		/* every document, in order */
	json_object	*out;		/* slos: */
	const char	*env;
	int		 refused;
};

static void
cmd_slo_refuse(struct cmd_slo_imp *im, const char *name, const char *fmt, ...)
    MP_PRINTF(3, 4);

static void
cmd_slo_refuse(struct cmd_slo_imp *im, const char *name, const char *fmt, ...)
{
	va_list	ap;
	char	msg[MP_ERRLEN];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "milepost: slo import: %s: cannot map %s\n", name,
	    msg);
	im->refused = 1;
}

static json_object *
cmd_slo_get(json_object *o, const char *path)
{
	char		 key[128];
	const char	*dot;
	json_object	*v = o;

	while (v != NULL && *path != '\0') {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - path) :
		    (int)strlen(path), path);
		if (!json_object_object_get_ex(v, key, &v))
			return (NULL);
		path = dot ? dot + 1 : "";
	}
	return (v);
}

static const char *
cmd_slo_str(json_object *o, const char *path)
{
	json_object	*v = cmd_slo_get(o, path);

	return (json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL);
}

/* The document of kind with metadata.name name, or NULL. */
static json_object *
cmd_slo_find(struct cmd_slo_imp *im, const char *kind, const char *name)
{
	json_object	*d;
	size_t		 i;

	for (i = 0; i < json_object_array_length(im->docs); i++) {
		d = json_object_array_get_idx(im->docs, i);
		if (cmd_slo_str(d, "kind") != NULL && name != NULL &&
		    strcmp(cmd_slo_str(d, "kind"), kind) == 0 &&
		    cmd_slo_str(d, "metadata.name") != NULL &&
		    strcmp(cmd_slo_str(d, "metadata.name"), name) == 0)
			return (d);
	}
	return (NULL);
}

/*
 * An OpenSLO duration-shorthand as Milepost writes it ("2w" -> "14d"):
 * m, h, d, w only; NULL (and *months, *weeks set) otherwise.
 */
static char *
cmd_slo_duration(const char *s, long *seconds, int *months)
{
	char	*end, *out;
	long	 n;

	*months = 0;
	*seconds = 0;
	if (s == NULL || (n = strtol(s, &end, 10)) <= 0 || end[0] == '\0' ||
	    end[1] != '\0')
		return (NULL);
	switch (*end) {
	case 'm': *seconds = n * 60; break;
	case 'h': *seconds = n * 3600; break;
	case 'd': *seconds = n * 86400; break;
	case 'w': *seconds = n * 7 * 86400; break;
	case 'M': *months = (int)n; return (NULL);
	default: return (NULL);
	}
	if (*seconds % 86400 == 0)
		xasprintf(&out, "%ldd", *seconds / 86400);
	else if (*seconds % 3600 == 0)
		xasprintf(&out, "%ldh", *seconds / 3600);
	else
		xasprintf(&out, "%ldm", *seconds / 60);
	return (out);
}

/* ratioMetric -> a Milepost indicator (taken), or NULL when refused. */
static json_object *
cmd_slo_indicator(struct cmd_slo_imp *im, const char *name, json_object *sli)
{
	json_object	*rm, *ind, *r, *f;
	const char	*tg, *tt;
	static const char *const sides[] = { "good", "total" };
	size_t		 i;

	if (cmd_slo_get(sli, "spec.thresholdMetric") != NULL) {
		cmd_slo_refuse(im, name, "a thresholdMetric (each value against "
		    "a threshold): Milepost counts good and total events");
		return (NULL);
	}
	if ((rm = cmd_slo_get(sli, "spec.ratioMetric")) == NULL) {
		cmd_slo_refuse(im, name, "an SLI without a ratioMetric");
		return (NULL);
	}
	if (cmd_slo_get(rm, "bad") != NULL || cmd_slo_get(rm, "raw") != NULL) {
		cmd_slo_refuse(im, name, "a ratioMetric of bad or raw values: "
		    "only good and total");
		return (NULL);
	}
	if (cmd_slo_get(rm, "good") == NULL || cmd_slo_get(rm, "total") == NULL) {
		cmd_slo_refuse(im, name, "a ratioMetric without good and total");
		return (NULL);
	}
	tg = cmd_slo_str(rm, "good.metricSource.type");
	tt = cmd_slo_str(rm, "total.metricSource.type");
	ind = json_object_new_object();
	if (tg != NULL && tt != NULL && strcmp(tg, "Milepost") == 0 &&
	    strcmp(tt, "Milepost") == 0) {
		r = json_object_new_object();
		for (i = 0; i < 2; i++) {
			char	path[64];

			snprintf(path, sizeof(path), "%s.metricSource.spec",
			    sides[i]);
			f = cmd_slo_get(rm, path);
			json_object_object_add(r, sides[i], json_object_get(f));
		}
		json_object_object_add(ind, "ratio", r);
		return (ind);
	}
	if ((tg != NULL && strcmp(tg, "Milepost") == 0) ||
	    (tt != NULL && strcmp(tt, "Milepost") == 0)) {
		json_object_put(ind);
		cmd_slo_refuse(im, name, "a ratioMetric whose good and total come "
		    "from different sources (one of them Milepost)");
		return (NULL);
	}
	fprintf(stderr, "milepost: slo import: %s: its SLI is computed by "
	    "%s: indicator reported (send it with milepost sli report --slo "
	    "%s)\n", name, tg ? tg : "its data source", name);
	json_object_object_add(ind, "reported", json_object_new_object());
	return (ind);
}

/* One burnrate condition -> an alerting rule (taken), or NULL. */
static json_object *
cmd_slo_rule(struct cmd_slo_imp *im, const char *name, json_object *cond)
{
	json_object	*c, *rule;
	const char	*sev, *op, *kind;
	char		*lw, *sw;
	long		 secs;
	int		 months;

	sev = cmd_slo_str(cond, "spec.severity");
	c = cmd_slo_get(cond, "spec.condition");
	kind = cmd_slo_str(c, "kind");
	op = cmd_slo_str(c, "op");
	if (kind != NULL && strcmp(kind, "burnrate") != 0) {
		cmd_slo_refuse(im, name, "an alert condition of kind %s (only "
		    "burnrate)", kind);
		return (NULL);
	}
	if (op == NULL || (strcmp(op, "gte") != 0 && strcmp(op, "gt") != 0)) {
		cmd_slo_refuse(im, name, "a burn-rate condition with op %s: "
		    "Milepost alerts when the burn is at or above a rate",
		    op ? op : "(none)");
		return (NULL);
	}
	if (sev == NULL || (strcmp(sev, "page") != 0 &&
	    strcmp(sev, "ticket") != 0)) {
		cmd_slo_refuse(im, name, "the severity %s (page or ticket)",
		    sev ? sev : "(none)");
		return (NULL);
	}
	if (cmd_slo_get(c, "threshold") == NULL ||
	    json_object_get_double(cmd_slo_get(c, "threshold")) <= 0) {
		cmd_slo_refuse(im, name, "%s", "a burn-rate condition without a "
		    "positive threshold");
		return (NULL);
	}
	if ((lw = cmd_slo_duration(cmd_slo_str(c, "lookbackWindow"), &secs,
	    &months)) == NULL || secs < 12 * 60) {
		free(lw);
		cmd_slo_refuse(im, name, "the lookbackWindow %s (12m or more, "
		    "in m, h, d or w)", cmd_slo_str(c, "lookbackWindow") ?
		    cmd_slo_str(c, "lookbackWindow") : "(none)");
		return (NULL);
	}
	xasprintf(&sw, "%ldm", secs / 12 / 60);
	rule = json_object_new_object();
	json_object_object_add(rule, "severity", json_object_new_string(sev));
	json_object_object_add(rule, "long", json_object_new_string(lw));
	json_object_object_add(rule, "short", json_object_new_string(sw));
	json_object_object_add(rule, "burn_rate",
	    json_object_get(cmd_slo_get(c, "threshold")));
	fprintf(stderr, "milepost: slo import: %s: a burn-rate condition over "
	    "%s: the short window is %s (a twelfth, as the SRE workbook "
	    "advises)\n", name, lw, sw);
	free(lw);
	free(sw);
	return (rule);
}

static void
cmd_slo_slo(struct cmd_slo_imp *im, json_object *doc)
{
	const char	*name = cmd_slo_str(doc, "metadata.name"), *s, *env;
	json_object	*spec = cmd_slo_get(doc, "spec"), *o, *v, *sli, *ind;
	json_object	*objs, *obj, *tw, *pols, *pol, *conds, *cond, *rules;
	json_object	*rule;
	char		*w;
	long		 secs;
	int		 months;
	size_t		 i;

	if (name == NULL || spec == NULL) {
		cmd_slo_refuse(im, "(unnamed)", "%s", "an SLO without "
		    "metadata.name or spec");
		return;
	}
	o = json_object_new_object();
	if ((s = cmd_slo_str(spec, "service")) == NULL)
		cmd_slo_refuse(im, name, "%s", "an SLO without spec.service");
	else
		json_object_object_add(o, "service", json_object_new_string(s));
	if ((env = cmd_slo_str(doc, "metadata.labels.environment")) == NULL)
		env = im->env;
	if (env == NULL)
		cmd_slo_refuse(im, name, "%s", "an SLO without an environment "
		    "(metadata.labels.environment, or --environment)");
	else
		json_object_object_add(o, "environment",
		    json_object_new_string(env));
	if ((s = cmd_slo_str(spec, "description")) != NULL)
		json_object_object_add(o, "description",
		    json_object_new_string(s));
	objs = cmd_slo_get(spec, "objectives");
	if (!json_object_is_type(objs, json_type_array) ||
	    json_object_array_length(objs) != 1) {
		cmd_slo_refuse(im, name, "%zu objectives: Milepost has exactly "
		    "one per SLO (import each as its own SLO)",
		    json_object_is_type(objs, json_type_array) ?
		    json_object_array_length(objs) : 0);
		obj = NULL;
	} else
		obj = json_object_array_get_idx(objs, 0);
	if (obj != NULL) {
		if ((v = cmd_slo_get(obj, "target")) != NULL)
			json_object_object_add(o, "objective",
			    json_object_new_double(round(
			    json_object_get_double(v) * 1e8) / 1e6));
		else if ((v = cmd_slo_get(obj, "targetPercent")) != NULL)
			json_object_object_add(o, "objective",
			    json_object_get(v));
		else
			cmd_slo_refuse(im, name, "%s", "an objective without "
			    "target or targetPercent");
		if (cmd_slo_get(obj, "indicator") != NULL ||
		    cmd_slo_get(obj, "indicatorRef") != NULL)
			cmd_slo_refuse(im, name, "%s", "a composite SLO");
		if (cmd_slo_get(obj, "value") != NULL)
			cmd_slo_refuse(im, name, "%s", "an objective with op and "
			    "value (a threshold metric's)");
	}
	tw = cmd_slo_get(spec, "timeWindow");
	if (tw == NULL)
		fprintf(stderr, "milepost: slo import: %s: no timeWindow: "
		    "Milepost's default, 28d rolling\n", name);
	else if (!json_object_is_type(tw, json_type_array) ||
	    json_object_array_length(tw) != 1)
		cmd_slo_refuse(im, name, "%s", "a timeWindow that is not exactly "
		    "one window");
	else {
		v = json_object_array_get_idx(tw, 0);
		w = cmd_slo_duration(cmd_slo_str(v, "duration"), &secs, &months);
		if (cmd_slo_get(v, "calendar") != NULL ||
		    (cmd_slo_get(v, "isRolling") != NULL &&
		    !json_object_get_boolean(cmd_slo_get(v, "isRolling")))) {
			s = cmd_slo_str(v, "calendar.timeZone");
			if (s != NULL && strcmp(s, "UTC") != 0 &&
			    strcmp(s, "Etc/UTC") != 0)
				cmd_slo_refuse(im, name, "a calendar window in "
				    "%s: Milepost's calendar windows are UTC", s);
			else if (months == 1 || (w != NULL && secs == 7 *
			    86400)) {
				json_object	*cal = json_object_new_object();

				json_object_object_add(cal, "calendar",
				    json_object_new_string(months == 1 ?
				    "month" : "week"));
				json_object_object_add(o, "window", cal);
			} else
				cmd_slo_refuse(im, name, "a calendar window of "
				    "%s (1M or 1w)", cmd_slo_str(v, "duration") ?
				    cmd_slo_str(v, "duration") : "(none)");
		} else if (w == NULL || secs < 3600 || secs > 90 * 86400)
			cmd_slo_refuse(im, name, "a rolling window of %s (1h to "
			    "90d, in m, h, d or w)", cmd_slo_str(v, "duration") ?
			    cmd_slo_str(v, "duration") : "(none)");
		else
			json_object_object_add(o, "window",
			    json_object_new_string(w));
		free(w);
	}
	s = cmd_slo_str(spec, "budgetingMethod");
	if (s == NULL)
		fprintf(stderr, "milepost: slo import: %s: no budgetingMethod: "
		    "Milepost's default, occurrences\n", name);
	else if (strcmp(s, "Occurrences") == 0)
		json_object_object_add(o, "budgeting",
		    json_object_new_string("occurrences"));
	else if (strcmp(s, "Timeslices") == 0) {
		json_object_object_add(o, "budgeting",
		    json_object_new_string("timeslices"));
		if (obj != NULL && (w = cmd_slo_duration(cmd_slo_str(obj,
		    "timeSliceWindow"), &secs, &months)) != NULL) {
			json_object_object_add(o, "slice",
			    json_object_new_string(w));
			free(w);
		} else if (obj != NULL && cmd_slo_get(obj, "timeSliceWindow"))
			cmd_slo_refuse(im, name, "the timeSliceWindow %s",
			    cmd_slo_str(obj, "timeSliceWindow"));
		if (obj != NULL && (v = cmd_slo_get(obj, "timeSliceTarget")) !=
		    NULL)
			json_object_object_add(o, "slice_target",
			    json_object_new_double(round(
			    json_object_get_double(v) * 1e8) / 1e6));
	} else
		cmd_slo_refuse(im, name, "the budgetingMethod %s (Occurrences or "
		    "Timeslices; RatioTimeslices averages slice ratios, which "
		    "Milepost does not)", s);
	sli = cmd_slo_get(spec, "indicator");
	if (sli == NULL && (s = cmd_slo_str(spec, "indicatorRef")) != NULL &&
	    (sli = cmd_slo_find(im, "SLI", s)) == NULL)
		cmd_slo_refuse(im, name, "the indicatorRef %s: no SLI of that "
		    "name in the files", s);
	else if (sli == NULL)
		cmd_slo_refuse(im, name, "%s", "an SLO without indicator or "
		    "indicatorRef");
	if (sli != NULL && (ind = cmd_slo_indicator(im, name, sli)) != NULL)
		json_object_object_add(o, "indicator", ind);
	rules = json_object_new_array();
	pols = cmd_slo_get(spec, "alertPolicies");
	for (i = 0; json_object_is_type(pols, json_type_array) &&
	    i < json_object_array_length(pols); i++) {
		pol = json_object_array_get_idx(pols, i);
		if ((s = cmd_slo_str(pol, "alertPolicyRef")) != NULL &&
		    (pol = cmd_slo_find(im, "AlertPolicy", s)) == NULL) {
			cmd_slo_refuse(im, name, "the alertPolicyRef %s: no "
			    "AlertPolicy of that name in the files", s);
			continue;
		}
		conds = cmd_slo_get(pol, "spec.conditions");
		if (!json_object_is_type(conds, json_type_array) ||
		    json_object_array_length(conds) != 1) {
			cmd_slo_refuse(im, name, "%s", "an alert policy without "
			    "exactly one condition");
			continue;
		}
		cond = json_object_array_get_idx(conds, 0);
		if ((s = cmd_slo_str(cond, "conditionRef")) != NULL &&
		    (cond = cmd_slo_find(im, "AlertCondition", s)) == NULL) {
			cmd_slo_refuse(im, name, "the conditionRef %s: no "
			    "AlertCondition of that name in the files", s);
			continue;
		}
		if ((rule = cmd_slo_rule(im, name, cond)) != NULL)
			json_object_array_add(rules, rule);
	}
	if (json_object_array_length(rules) > 0)
		json_object_object_add(o, "alerting", rules);
	else
		json_object_put(rules);
	json_object_object_add(im->out, name, o);
}

/* Read path's documents (separated by "---" lines) into im->docs. */
static int
cmd_slo_read(struct cmd_slo_imp *im, const char *path)
{
	struct buf	 text;
	json_object	*doc;
	char		 err[MP_ERRLEN], *s, *start, *line;
	size_t		 len;

	buf_init(&text);
	if (buf_read_file(&text, path, CMD_SLO_FILE_MAX) == -1) {
		log_warn("slo import: %s", path);
		buf_free(&text);
		return (-1);
	}
	s = buf_cstr(&text);
	start = s;
	for (;;) {
		line = start;
		/* The next "---" line, or the end. */
		while ((line = strstr(line, "---")) != NULL &&
		    !((line == s || line[-1] == '\n') && (line[3] == '\n' ||
		    line[3] == '\0' || line[3] == ' ' || line[3] == '\r')))
			line += 3;
		len = line != NULL ? (size_t)(line - start) : strlen(start);
		if (len > 0 && strspn(start, " \t\r\n") < len) {
			if ((doc = yaml_parse(start, len, path, err,
			    sizeof(err))) == NULL) {
				log_warnx("slo import: %s", err);
				buf_free(&text);
				return (-1);
			}
			if (json_object_array_length(im->docs) >=
			    CMD_SLO_DOCS_MAX) {
				json_object_put(doc);
				log_warnx("slo import: more than %d documents",
				    CMD_SLO_DOCS_MAX);
				buf_free(&text);
				return (-1);
			}
			json_object_array_add(im->docs, doc);
		}
		if (line == NULL)
			break;
		start = line + 3;
		start += strcspn(start, "\n");
	}
	buf_free(&text);
	return (0);
}

static int
cmd_slo_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "environment", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_slo_imp	 im;
	struct types	*types;
	struct rules	*rules;
	json_object	*d, *top;
	const char	*kind, *av;
	char		 err[MP_ERRLEN];
	size_t		 i;
	int		 c, rc = CMD_EXIT_OK;

	if (argc < 2 || strcmp(argv[1], "import") != 0)
		return (cmd_usage_error(ce, "%s", argc < 2 ? "a subcommand is "
		    "required: import" : "unknown subcommand (valid: import)"));
	argc--;
	argv++;
	memset(&im, 0, sizeof(im));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': im.env = optarg; break;
		case 'h': return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "unknown option %s",
			    argv[optind - 1]));
		}
	}
	if (optind == argc)
		return (cmd_usage_error(ce, "%s", "at least one FILE"));
	im.docs = json_object_new_array();
	im.out = json_object_new_object();
	for (i = (size_t)optind; i < (size_t)argc; i++)
		if (cmd_slo_read(&im, argv[i]) == -1) {
			rc = CMD_EXIT_USAGE;
			goto out;
		}
	for (i = 0; i < json_object_array_length(im.docs); i++) {
		d = json_object_array_get_idx(im.docs, i);
		kind = cmd_slo_str(d, "kind");
		av = cmd_slo_str(d, "apiVersion");
		if (av == NULL || strcmp(av, "openslo/v1") != 0) {
			cmd_slo_refuse(&im, cmd_slo_str(d, "metadata.name") ?
			    cmd_slo_str(d, "metadata.name") : "(unnamed)",
			    "apiVersion %s (only openslo/v1)", av ? av :
			    "(none)");
			continue;
		}
		if (kind != NULL && strcmp(kind, "SLO") == 0)
			cmd_slo_slo(&im, d);
		else if (kind == NULL || (strcmp(kind, "SLI") != 0 &&
		    strcmp(kind, "AlertPolicy") != 0 &&
		    strcmp(kind, "AlertCondition") != 0))
			fprintf(stderr, "milepost: slo import: %s: kind %s "
			    "skipped (SLO, SLI, AlertPolicy and AlertCondition "
			    "are read)\n", cmd_slo_str(d, "metadata.name") ?
			    cmd_slo_str(d, "metadata.name") : "(unnamed)",
			    kind ? kind : "(none)");
	}
	if (json_object_object_length(im.out) == 0 && !im.refused) {
		log_warnx("slo import: no SLO in the files");
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	if (im.refused) {
		log_warnx("slo import: nothing imported: map what is above by "
		    "hand, or change the files");
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	/* What is printed must load: the same loader as milepostd's. */
	types = types_new();
	rules = rules_new(types);
	if (slo_conf_load(rules, im.out, "(import)", err, sizeof(err)) == -1) {
		log_warnx("slo import: the result does not load: %s", err);
		rc = CMD_EXIT_USAGE;
	}
	rules_free(rules);
	types_free(types);
	if (rc == CMD_EXIT_OK) {
		top = json_object_new_object();
		json_object_object_add(top, "slos", json_object_get(im.out));
		printf("%s\n", json_object_to_json_string_ext(top,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(top);
	}
out:
	json_object_put(im.docs);
	json_object_put(im.out);
	return (rc);
}
