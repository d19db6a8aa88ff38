/*
 * cmd-simulate.c: "milepost simulate", what-if: an SLO burning at a rate
 * for a while, played forward by the receiver (GET /v1/slos/{name}/
 * simulate, derive/slo-sim.c): when each gate would close, the budget
 * left, and each affected milestone's predicted finish against its due
 * date.  Nothing is written.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int	cmd_simulate_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_simulate_entry = {
	.name = "simulate",
	.usage = "--slo NAME --burn-rate X --for DURATION [--json]",
	.summary = "what if an SLO burned at X for a while? (changes nothing)",
	.help =
	    "options:\n"
	    "  --slo NAME        the SLO (slos: in the receiver's "
	    "configuration)\n"
	    "  --burn-rate X     the burn rate to sustain (1 spends the "
	    "budget over the window)\n"
	    "  --for DURATION    how long, e.g. 6h, 2d (at most 366d)\n"
	    "  --json            print the receiver's answer as JSON\n"
	    "\nexit status: 0 answered; 2 usage error or unknown SLO; 1 the "
	    "receiver\ncould not be asked.\n",
	.exec = cmd_simulate_exec,
};

static const char *
cmd_simulate_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return ("-");
	return (json_object_get_string(v));
}

static void
cmd_simulate_print(json_object *o)
{
	json_object	*arr, *e;
	size_t		 i, n;

	printf("SLO %s (%s/%s) at %sx from %s until %s\n",
	    cmd_simulate_str(o, "slo"), cmd_simulate_str(o, "service"),
	    cmd_simulate_str(o, "environment"),
	    cmd_simulate_str(o, "burn_rate"), cmd_simulate_str(o, "from"),
	    cmd_simulate_str(o, "until"));
	printf("  budget: %s%% now, %s%% left at the end\n",
	    cmd_simulate_str(o, "budget_now"),
	    cmd_simulate_str(o, "budget_left"));
	if (json_object_object_get_ex(o, "gates", &arr)) {
		n = json_object_array_length(arr);
		if (n == 0)
			printf("  gate: stays open as far as this SLO goes\n");
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(arr, i);
			printf("  gate closes (%s) at %s\n",
			    cmd_simulate_str(e, "policy"),
			    cmd_simulate_str(e, "closes_at"));
		}
	}
	if (json_object_object_get_ex(o, "milestones", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			e = json_object_array_get_idx(arr, i);
			printf("  milestone %s: %s -> %s, predicted %s, due %s\n",
			    cmd_simulate_str(e, "milestone"),
			    cmd_simulate_str(e, "state_now"),
			    cmd_simulate_str(e, "state"),
			    cmd_simulate_str(e, "predicted"),
			    cmd_simulate_str(e, "due"));
		}
}

static int
cmd_simulate_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slo", required_argument, NULL, 's' },
		{ "burn-rate", required_argument, NULL, 'b' },
		{ "for", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*slo = NULL, *rate = NULL, *dur = NULL;
	struct client_reply	 r;
	struct buf		 path, body;
	json_object		*o = NULL;
	char			*es, *er, *ed, *end;
	double			 x, d;
	int			 c, json = 0, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': slo = optarg; break;
		case 'b': rate = optarg; break;
		case 'f': dur = optarg; break;
		case 'j': json = 1; break;
		case 'h': return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (optind != argc)
		return (cmd_usage_error(ce, "unexpected argument %s",
		    argv[optind]));
	if (slo == NULL || *slo == '\0')
		return (cmd_usage_error(ce, "%s", "--slo NAME is required"));
	if (rate == NULL || (x = strtod(rate, &end), *end != '\0') ||
	    *rate == '\0' || !isfinite(x) || x < 0)
		return (cmd_usage_error(ce, "%s", "--burn-rate must be a number, "
		    "0 or more (e.g. 14.4)"));
	if (dur == NULL || ts_parse(dur, &d) == -1 || d <= 0 ||
	    d > 366.0 * 86400)
		return (cmd_usage_error(ce, "%s", "--for must be a timespan up "
		    "to 366d (e.g. 6h)"));
	es = client_escape(slo);
	er = client_escape(rate);
	ed = client_escape(dur);
	buf_init(&path);
	buf_init(&body);
	buf_printf(&path, "/v1/slos/%s/simulate?burn_rate=%s&for=%s",
	    es ? es : "", er ? er : "", ed ? ed : "");
	free(es);
	free(er);
	free(ed);
	memset(&r, 0, sizeof(r));
	if (client_get(buf_cstr(&path), &body, &r) == -1) {
		log_warnx("simulate: %s", r.error);
		rc = CMD_EXIT_FAIL;
	} else if (r.code != 200) {
		log_warnx("simulate: %s", r.error[0] ? r.error : "refused");
		rc = r.code >= 400 && r.code < 500 ? CMD_EXIT_USAGE :
		    CMD_EXIT_FAIL;
	} else if ((o = json_tokener_parse(buf_cstr(&body))) == NULL) {
		log_warnx("simulate: the receiver's answer is not JSON");
		rc = CMD_EXIT_FAIL;
	} else {
		if (json)
			cmd_claim_print(o);
		else
			cmd_simulate_print(o);
		rc = CMD_EXIT_OK;
	}
	json_object_put(o);
	buf_free(&path);
	buf_free(&body);
	return (rc);
}
