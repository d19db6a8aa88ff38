/*
 * cmd-metrics.c: "milepost metrics dora|deployments|incidents", which
 * reads GET /v1/metrics/... through the receiver (MILEPOST_URL, with
 * MILEPOST_TOKEN as the bearer token) and prints the JSON as returned.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int	cmd_metrics_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_metrics_entry = {
	.name = "metrics",
	.usage = "dora|deployments|incidents [--service S] [--environment E] "
	    "[--since T] [--until T] [--weekly]",
	.summary = "print delivery metrics (DORA, deployments, incidents)",
	.help =
	    "metrics:\n"
	    "  dora         deployment frequency, lead time, change failure "
	    "rate,\n"
	    "               time to restore\n"
	    "  deployments  seconds in each state, MTTSR of failed and "
	    "stalled ones\n"
	    "  incidents    MTTR, MTTA and MTTD\n"
	    "\noptions:\n"
	    "  --service S      only service S\n"
	    "  --environment E  only environment E\n"
	    "  --since T        from T: RFC 3339, or a span back from now "
	    "(30d, 720h)\n"
	    "                   (default: 30 days before --until)\n"
	    "  --until T        up to T, RFC 3339 (default: now)\n"
	    "  --weekly         dora: add the per-week trend\n"
	    "\nThe reply of GET /v1/metrics/<metric> is printed as JSON.\n"
	    "\nexit status: 0 printed; 2 a usage error or a refusal; 3 the "
	    "receiver did not\n"
	    "answer, or answered 5xx.\n",
	.exec = cmd_metrics_exec,
};

/* T as RFC 3339, or a timespan back from now; normalised to UTC. */
static int
cmd_metrics_time(const char *s, char out[MP_TIMELEN])
{
	int64_t	t;
	double	span;

	if (tf_parse(s, &t) == -1) {
		if (ts_parse(s, &span) == -1)
			return (-1);
		t = tf_now() - (int64_t)(span * 1e6);
	}
	tf_format(t, out);
	return (0);
}

static void
cmd_metrics_param(struct buf *b, const char *key, const char *val)
{
	char	*e;

	if (val == NULL)
		return;
	if ((e = client_escape(val)) == NULL)
		return;
	buf_printf(b, "%c%s=%s", strchr(buf_cstr(b), '?') ? '&' : '?', key,
	    e);
	free(e);
}

static int
cmd_metrics_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "service",	 required_argument,	NULL,	's' },
		{ "environment", required_argument,	NULL,	'e' },
		{ "since",	 required_argument,	NULL,	'f' },
		{ "until",	 required_argument,	NULL,	't' },
		{ "weekly",	 no_argument,		NULL,	'w' },
		{ "help",	 no_argument,		NULL,	'h' },
		{ NULL,		 0,			NULL,	0 }
	};
	const char	*service = NULL, *env = NULL, *metric;
	char		 since[MP_TIMELEN], until[MP_TIMELEN], what[64];
	json_object	*o = NULL;
	struct buf	 path;
	int		 ch, rc, weekly = 0, have_since = 0, have_until = 0;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			service = optarg;
			break;
		case 'e':
			env = optarg;
			break;
		case 'f':
			if (cmd_metrics_time(optarg, since) == -1)
				return (cmd_usage_error(ce, "--since %s: "
				    "expected RFC 3339 or a span such as 30d",
				    optarg));
			have_since = 1;
			break;
		case 't':
			if (cmd_metrics_time(optarg, until) == -1)
				return (cmd_usage_error(ce, "--until %s: "
				    "expected RFC 3339 or a span such as 1d",
				    optarg));
			have_until = 1;
			break;
		case 'w':
			weekly = 1;
			break;
		case 'h':
			return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (argc - optind != 1)
		return (cmd_usage_error(ce, "give one metric: dora, "
		    "deployments or incidents"));
	metric = argv[optind];
	if (strcmp(metric, "dora") != 0 && strcmp(metric, "deployments") !=
	    0 && strcmp(metric, "incidents") != 0)
		return (cmd_usage_error(ce, "unknown metric %s (dora, "
		    "deployments, incidents)", metric));
	if (weekly && strcmp(metric, "dora") != 0)
		return (cmd_usage_error(ce, "--weekly is for dora only"));
	buf_init(&path);
	buf_printf(&path, "/v1/metrics/%s", metric);
	cmd_metrics_param(&path, "service", service);
	cmd_metrics_param(&path, "environment", env);
	cmd_metrics_param(&path, "from", have_since ? since : NULL);
	cmd_metrics_param(&path, "to", have_until ? until : NULL);
	cmd_metrics_param(&path, "period", weekly ? "week" : NULL);
	snprintf(what, sizeof(what), "metrics %s", metric);
	if ((rc = cmd_claim_fetch(what, buf_cstr(&path), &o)) == CMD_EXIT_OK)
		cmd_claim_print(o);
	json_object_put(o);
	buf_free(&path);
	return (rc);
}
