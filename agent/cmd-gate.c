/*
 * cmd-gate.c: "milepost gate", a pipeline step that asks the receiver
 * whether a change may start (GET /v1/gates/{service}/{environment}), and
 * "milepost gate approve", one approval of an exception (POST
 * /v1/gates/{service}/{environment}/exceptions).
 *
 * Exit status of the step: 0 open; 3 closed, with every reason on stdout;
 * 2 a usage or configuration error, an unknown service or environment
 * included (the receiver names the nearest valid ones): a typo must never
 * read as an open gate; 1 when the receiver could not be asked.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define CMD_GATE_CLOSED	3

static int	cmd_gate_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_gate_entry = {
	.name = "gate",
	.usage = "--service S --environment E [--json] [--at RFC3339] | "
	    "approve --service S --environment E --reason TEXT "
	    "[--exception ID]",
	.summary = "may a change start now? (exit 0 open, 3 closed)",
	.help =
	    "options:\n"
	    "  --service S       the service (the receiver's catalog)\n"
	    "  --environment E   the environment\n"
	    "  --json            print the receiver's answer as JSON\n"
	    "  --at RFC3339      ask about another time (change windows, "
	    "freezes)\n"
	    "approve: one approval of an exception (MILEPOST_TOKEN: operator "
	    "or admin)\n"
	    "  --reason TEXT     why (recorded with the approval)\n"
	    "  --exception ID    the exception to approve (default: a new "
	    "one)\n"
	    "\nexit status: 0 open (approve: recorded); 3 closed, every "
	    "reason printed;\n2 usage or configuration error (an unknown "
	    "service or environment);\n1 the receiver could not be asked.\n",
	.exec = cmd_gate_exec,
};

static const char *
cmd_gate_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return ("");
	return (json_object_get_string(v));
}

/* The answer, for people: one line, then each reason. */
static void
cmd_gate_print(json_object *o)
{
	json_object	*reasons, *ex, *by;
	size_t		 i, n;
	int		 open;

	open = json_object_object_get_ex(o, "open", &by) &&
	    json_object_get_boolean(by);
	printf("gate %s/%s: %s\n", cmd_gate_str(o, "service"),
	    cmd_gate_str(o, "environment"), open ? "open" : "closed");
	if (json_object_object_get_ex(o, "reasons", &reasons)) {
		n = json_object_array_length(reasons);
		for (i = 0; i < n; i++)
			printf("  %s%s: %s\n", open ? "(excepted) " : "",
			    cmd_gate_str(json_object_array_get_idx(reasons, i),
			    "policy"), cmd_gate_str(
			    json_object_array_get_idx(reasons, i), "reason"));
	}
	if (json_object_object_get_ex(o, "exception", &ex)) {
		printf("  exception %s approved by", cmd_gate_str(ex, "id"));
		if (json_object_object_get_ex(ex, "approved_by", &by))
			for (i = 0; i < json_object_array_length(by); i++)
				printf("%s %s", i ? "," : "",
				    json_object_get_string(
				    json_object_array_get_idx(by, i)));
		printf(": %s\n", cmd_gate_str(ex, "reason"));
	}
}

/* A reply that is not 2xx: 4xx is the caller's error (2), else 1. */
static int
cmd_gate_failed(const char *what, const struct client_reply *r)
{
	log_warnx("gate: %s: %s", what, r->code == 0 ? r->error :
	    r->error[0] != '\0' ? r->error : "no reason given");
	if (r->code >= 400 && r->code < 500)
		return (CMD_EXIT_USAGE);
	return (CMD_EXIT_FAIL);
}

static int
cmd_gate_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "service", required_argument, NULL, 's' },
		{ "environment", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "at", required_argument, NULL, 'a' },
		{ "reason", required_argument, NULL, 'r' },
		{ "exception", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*svc = NULL, *env = NULL, *at = NULL;
	const char		*reason = NULL, *exc = NULL;
	struct client_reply	 r;
	struct buf		 path, body;
	json_object		*o = NULL, *req, *v;
	char			*es = NULL, *ee = NULL, *ea;
	int64_t			 t;
	int			 c, json = 0, approve = 0, rc;

	if (argc >= 2 && strcmp(argv[1], "approve") == 0) {
		approve = 1;
		argc--;
		argv++;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': svc = optarg; break;
		case 'e': env = optarg; break;
		case 'j': json = 1; break;
		case 'a': at = optarg; break;
		case 'r': reason = optarg; break;
		case 'x': exc = optarg; break;
		case 'h': return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (optind != argc)
		return (cmd_usage_error(ce, "unexpected argument %s",
		    argv[optind]));
	if (svc == NULL || *svc == '\0' || env == NULL || *env == '\0')
		return (cmd_usage_error(ce, "%s", "--service and --environment "
		    "are required"));
	if (at != NULL && tf_parse(at, &t) == -1)
		return (cmd_usage_error(ce, "--at: not an RFC 3339 time: %s",
		    at));
	if (approve && (reason == NULL || *reason == '\0'))
		return (cmd_usage_error(ce, "%s", "approve: --reason is "
		    "required: exceptions are audited"));
	if (!approve && (reason != NULL || exc != NULL))
		return (cmd_usage_error(ce, "%s", "--reason and --exception go "
		    "with approve"));
	es = client_escape(svc);
	ee = client_escape(env);
	buf_init(&path);
	buf_init(&body);
	buf_printf(&path, "/v1/gates/%s/%s", es, ee);
	memset(&r, 0, sizeof(r));
	if (approve) {
		buf_adds(&path, "/exceptions");
		req = json_object_new_object();
		json_object_object_add(req, "reason",
		    json_object_new_string(reason));
		if (exc != NULL)
			json_object_object_add(req, "exception",
			    json_object_new_string(exc));
		rc = client_post_json(buf_cstr(&path),
		    json_object_to_json_string(req),
		    strlen(json_object_to_json_string(req)), &body, &r);
		json_object_put(req);
		if (rc == -1 || r.code < 200 || r.code > 299) {
			rc = cmd_gate_failed("approve", &r);
			goto out;
		}
		o = json_tokener_parse(buf_cstr(&body));
		printf("approval %s recorded for exception %s\n",
		    cmd_gate_str(o, "id"), cmd_gate_str(o, "exception"));
		rc = CMD_EXIT_OK;
		goto out;
	}
	if (at != NULL && (ea = client_escape(at)) != NULL) {
		buf_printf(&path, "?at=%s", ea);
		free(ea);
	}
	if (client_get(buf_cstr(&path), &body, &r) == -1) {
		rc = cmd_gate_failed("the receiver could not be asked", &r);
		goto out;
	}
	if (r.code != 200) {
		rc = cmd_gate_failed(r.code == 404 ? "not a known service and "
		    "environment" : "refused", &r);
		goto out;
	}
	if ((o = json_tokener_parse(buf_cstr(&body))) == NULL ||
	    !json_object_object_get_ex(o, "open", &v)) {
		log_warnx("gate: the receiver's answer is not a gate");
		rc = CMD_EXIT_FAIL;
		goto out;
	}
	if (json)
		cmd_claim_print(o);
	else
		cmd_gate_print(o);
	rc = json_object_get_boolean(v) ? CMD_EXIT_OK : CMD_GATE_CLOSED;
out:
	json_object_put(o);
	buf_free(&path);
	buf_free(&body);
	free(es);
	free(ee);
	return (rc);
}
