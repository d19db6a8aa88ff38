/*
 * cmd-slo.c: "milepost sli report", which posts an SLI computed elsewhere
 * (a Prometheus recording rule, a load balancer's counters) as one
 * SliReported evidence: good and total events over an interval, for one
 * SLO of the receiver's slos: with `indicator: { reported: {} }`.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int	cmd_sli_exec(const struct cmd_entry *, int, char **);

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
	.exec = cmd_sli_exec,
};

/* A count: a finite number >= 0.  Returns 0 or -1. */
static int
cmd_sli_count(const char *s, double *out)
{
	char	*end;

	*out = strtod(s, &end);
	return (*s == '\0' || *end != '\0' || !isfinite(*out) || *out < 0 ?
	    -1 : 0);
}

static int
cmd_sli_exec(const struct cmd_entry *ce, int argc, char **argv)
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
	if (good == NULL || cmd_sli_count(good, &g) == -1)
		return (cmd_usage_error(ce, "%s", "--good must be a number of "
		    "events, 0 or more"));
	if (total == NULL || cmd_sli_count(total, &t) == -1)
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
