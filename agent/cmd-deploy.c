/*
 * cmd-deploy.c: "milepost deploy set|show|list", the deployments API
 * from the command line (MILEPOST_URL, MILEPOST_TOKEN).
 *
 *   deploy set ID STATE --reason TEXT   POST /v1/deployments/ID/status
 *   deploy show ID                      GET /v1/deployments/ID
 *   deploy list [--service S] [--environment E] [--state X]
 *
 * Replies are printed as the API returns them, pretty-printed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int	cmd_deploy_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_deploy_entry = {
	.name = "deploy",
	.usage = "set ID STATE --reason TEXT | show ID | list [--service S] "
	    "[--environment E] [--state STATE]",
	.summary = "show deployments, or override a deployment's state",
	.help =
	    "deploy set ID STATE --reason TEXT\n"
	    "    a manual override (needs an admin or operator token): "
	    "recorded as\n"
	    "    DeploymentOverride evidence with the token's role and the "
	    "reason; the\n"
	    "    state machine may still refuse it (e.g. overrides forbidden "
	    "in production).\n"
	    "deploy show ID     the state, every transition with its basis, "
	    "refused attempts\n"
	    "                   (ID may be 7+ hex digits of the commit)\n"
	    "deploy list        every deployment, filtered by --service, "
	    "--environment, --state\n"
	    "\nThe receiver is MILEPOST_URL; MILEPOST_TOKEN is the bearer "
	    "token.\n"
	    "exit status: 0 done; 1 not found, or the override was refused; "
	    "2 a usage\n"
	    "error or the request was refused (401, 403, 4xx); 3 the receiver "
	    "did not\n"
	    "answer, or answered 5xx.\n",
	.exec = cmd_deploy_exec,
};

static void
cmd_deploy_print(const struct buf *b)
{
	json_object	*o;

	if ((o = json_tokener_parse(b->data != NULL ? b->data : "")) != NULL)
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Map a reply onto the exit status, saying why on stderr. */
static int
cmd_deploy_status(const char *what, int sent, struct client_reply *r)
{
	char	why[MP_ERRLEN + 160];

	if (sent == -1) {
		log_warnx("%s: %s (is the receiver running?)", what, r->error);
		return (CMD_EXIT_DOWN);
	}
	if (r->code >= 200 && r->code < 300)
		return (CMD_EXIT_OK);
	client_reason(r, why, sizeof(why));
	if (r->code >= 500) {
		log_warnx("%s: the receiver cannot answer now (%s)", what, why);
		return (CMD_EXIT_DOWN);
	}
	if (r->code == 404 || r->code == 409) {
		log_warnx("%s: %s (%s)", what, r->code == 404 ? "not found" :
		    "refused", why);
		return (CMD_EXIT_FAIL);
	}
	log_warnx("%s: refused (%s)%s", what, why, r->code == 401 ||
	    r->code == 403 ? "; overrides need MILEPOST_TOKEN to be an admin "
	    "or operator token, reads a reader's" : "");
	return (CMD_EXIT_USAGE);
}

static int
cmd_deploy_set(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reason",	required_argument,	NULL,	'r' },
		{ NULL,		0,			NULL,	0 }
	};
	struct client_reply	 r;
	struct buf		 out;
	json_object		*o;
	const char		*reason = NULL, *s;
	char			*id, *path, *why;
	enum dstate		 st;
	int			 ch, rc, sent;

	optind = 0;	/* GNU: reinitialise; main parsed its own */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'r')
			return (cmd_usage_error(ce, "deploy set: unknown or "
			    "incomplete option: %s", argv[optind - 1]));
		reason = optarg;
	}
	if (argc - optind != 2)
		return (cmd_usage_error(ce, "deploy set ID STATE --reason TEXT"));
	if (reason == NULL || *reason == '\0')
		return (cmd_usage_error(ce, "deploy set: --reason is required: "
		    "overrides are audited"));
	if (deploy_state_parse(argv[optind + 1], &st) == -1) {
		why = deploy_state_unknown(argv[optind + 1]);
		rc = cmd_usage_error(ce, "deploy set: %s", why);
		free(why);
		return (rc);
	}
	if ((id = client_escape(argv[optind])) == NULL)
		return (CMD_EXIT_DOWN);
	xasprintf(&path, "/v1/deployments/%s/status", id);
	o = json_object_new_object();
	json_object_object_add(o, "state",
	    json_object_new_string(argv[optind + 1]));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	buf_init(&out);
	sent = client_post_json(path, s, strlen(s), &out, &r);
	if ((rc = cmd_deploy_status("deploy set", sent, &r)) == CMD_EXIT_OK)
		cmd_deploy_print(&out);
	buf_free(&out);
	json_object_put(o);
	free(path);
	free(id);
	return (rc);
}

static int
cmd_deploy_get(const char *what, const char *path)
{
	struct client_reply	 r;
	struct buf		 out;
	int			 rc, sent;

	buf_init(&out);
	sent = client_get(path, &out, &r);
	if ((rc = cmd_deploy_status(what, sent, &r)) == CMD_EXIT_OK)
		cmd_deploy_print(&out);
	buf_free(&out);
	return (rc);
}

static int
cmd_deploy_list(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "service",		required_argument,	NULL,	's' },
		{ "environment",	required_argument,	NULL,	'e' },
		{ "state",		required_argument,	NULL,	'S' },
		{ NULL,			0,			NULL,	0 }
	};
	struct buf	 q;
	const char	*key;
	char		*v;
	int		 ch, rc;

	buf_init(&q);
	buf_adds(&q, "/v1/deployments?limit=1000");
	optind = 0;	/* GNU: reinitialise; main parsed its own */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		key = ch == 's' ? "service" : ch == 'e' ? "environment" :
		    ch == 'S' ? "state" : NULL;
		if (key == NULL) {
			buf_free(&q);
			return (cmd_usage_error(ce, "deploy list: unknown or "
			    "incomplete option: %s", argv[optind - 1]));
		}
		if ((v = client_escape(optarg)) == NULL) {
			buf_free(&q);
			return (CMD_EXIT_DOWN);
		}
		buf_printf(&q, "&%s=%s", key, v);
		free(v);
	}
	if (optind != argc) {
		buf_free(&q);
		return (cmd_usage_error(ce, "deploy list takes no arguments"));
	}
	rc = cmd_deploy_get("deploy list", buf_cstr(&q));
	buf_free(&q);
	return (rc);
}

/* "deploy set|show|list ...".  Returns the exit status. */
static int
cmd_deploy_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	char	*id, *path;
	int	 rc;

	if (argc < 2)
		return (cmd_usage_error(ce, "deploy needs set, show or list"));
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return (cmd_help(ce));
	if (strcmp(argv[1], "set") == 0)
		return (cmd_deploy_set(ce, argc - 1, argv + 1));
	if (strcmp(argv[1], "list") == 0)
		return (cmd_deploy_list(ce, argc - 1, argv + 1));
	if (strcmp(argv[1], "show") != 0)
		return (cmd_usage_error(ce, "deploy: unknown subcommand %s",
		    argv[1]));
	if (argc != 3)
		return (cmd_usage_error(ce, "deploy show ID"));
	if ((id = client_escape(argv[2])) == NULL)
		return (CMD_EXIT_DOWN);
	xasprintf(&path, "/v1/deployments/%s", id);
	rc = cmd_deploy_get("deploy show", path);
	free(path);
	free(id);
	return (rc);
}
