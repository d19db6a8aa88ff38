/*
 * cmd-outbox.c: "milepost outbox list|retry|replay".
 *
 * With --ledger URL or -c FILE it reads and updates the outbox in the
 * ledger directly, beside a running milepostd: whoever may write the
 * ledger file may do this.  Each update is one short transaction that
 * also appends its audit evidence (OutboxRetried, OutboxReplayed, via
 * "cli", the user as actor: outbox_op_apply), and the daemon picks the
 * rows up on its next scan (within a quarter of a second).
 *
 * With --url URL it asks a milepostd over HTTP instead (GET /v1/outbox,
 * POST /v1/outbox/retry, /v1/outbox/replay), with MILEPOST_TOKEN, which
 * must be an operator's or an admin's; the daemon writes the audit.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static void	cmd_outbox_backlog(const char *, int64_t, void *);
static int	cmd_outbox_exec(const struct cmd_entry *, int, char **);
static int	cmd_outbox_http(const char *, const char *, const char *,
		    const char *, const char *, const char *);
static int64_t	cmd_outbox_write(struct ledger *, const struct config *,
		    struct outbox_op *);

const struct cmd_entry cmd_outbox_entry = {
	.name = "outbox",
	.usage = "list|retry|replay [--ledger URL | -c FILE | --url URL] "
	    "[--sink NAME] [--status S] [--since TIME] [TYPE/ID]",
	.summary = "inspect the outbox and dead-letter queue; send again",
	.help =
	    "commands:\n"
	    "  list    pushes not yet delivered (pending, dead), one a line:\n"
	    "          sink status type/id attempts next-attempt last-error;\n"
	    "          --status pending|dead|done|all chooses others\n"
	    "  retry   dead-lettered pushes (of --sink, or of TYPE/ID) go "
	    "back to\n"
	    "          pending, and a sink disabled by 410 is enabled again\n"
	    "  replay  --since TIME: every object whose state changed since "
	    "TIME\n"
	    "          (RFC 3339, or a timespan ago such as 2h) is sent "
	    "again:\n"
	    "          dead ones as the patch they were, delivered ones as a "
	    "full\n"
	    "          snapshot\n"
	    "options:\n"
	    "  --ledger URL  the ledger, such as sqlite:/var/lib/milepost/"
	    "ledger.db\n"
	    "  -c FILE       use the ledger of this milepostd configuration\n"
	    "  --url URL     ask the milepostd at URL over HTTP instead, with\n"
	    "                $MILEPOST_TOKEN (an operator's or an admin's)\n"
	    "  --sink NAME   only this sink\n"
	    "\nretry and replay write an audit evidence (OutboxRetried, "
	    "OutboxReplayed)\nin the ledger, in the same transaction.\n"
	    "\nexit status: 0 done, 2 usage, refused, or the ledger cannot "
	    "be used;\n3 the receiver did not answer, or answered 5xx.\n",
	.exec = cmd_outbox_exec,
};

static int
cmd_outbox_print(const struct outbox_row *r, void *arg)
{
	char	next[MP_TIMELEN];

	if (r->next_at > 0)
		tf_format(r->next_at, next);
	else
		strlcpy(next, "-", sizeof(next));
	printf("%s %s %s/%s %lld %s %s\n", r->sink, r->status, r->type, r->id,
	    (long long)r->attempts, strcmp(r->status, "pending") == 0 ? next :
	    "-", r->last_error != NULL && *r->last_error ? r->last_error : "-");
	(*(size_t *)arg)++;
	return (0);
}

struct cmd_outbox_list {
	const struct config	*cf;	/* or NULL: every sink with a cursor */
	size_t			 count;
};

/*
 * "SINK backlog N": changes the daemon has not taken into the sink's
 * outbox yet (with -c, only for the sinks configured there).
 */
static void
cmd_outbox_backlog(const char *sink, int64_t n, void *arg)
{
	struct cmd_outbox_list	*ol = arg;

	if (n <= 0 || (ol->cf != NULL && config_sink(ol->cf, sink) == NULL))
		return;
	printf("%s backlog %lld change%s not yet queued\n", sink,
	    (long long)n, n == 1 ? "" : "s");
	ol->count++;
}

static int
cmd_outbox_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL,	'c' },
		{ "help",	no_argument,		NULL,	'h' },
		{ "ledger",	required_argument,	NULL,	'l' },
		{ "sink",	required_argument,	NULL,	's' },
		{ "since",	required_argument,	NULL,	'S' },
		{ "status",	required_argument,	NULL,	't' },
		{ "url",	required_argument,	NULL,	'u' },
		{ NULL,		0,			NULL,	0 }
	};
	struct outbox_op op;
	struct config	*cf = NULL;
	struct ledger	*l = NULL;
	const char	*url = NULL, *file = NULL, *sink = NULL, *since = NULL;
	const char	*http = NULL;
	const char	*status = NULL, *sub, *obj = NULL;
	char		 err[MP_ERRLEN], *type = NULL, *slash;
	int64_t		 t, n;
	size_t		 count = 0;
	double		 ago;
	int		 ch, rc = CMD_EXIT_USAGE;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'h': return (cmd_help(ce));
		case 'l': url = optarg; break;
		case 's': sink = optarg; break;
		case 'S': since = optarg; break;
		case 't': status = optarg; break;
		case 'u': http = optarg; break;
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if ((url != NULL) + (file != NULL) + (http != NULL) != 1)
		return (cmd_usage_error(ce, "which ledger? give --ledger URL, "
		    "-c FILE or --url URL (one of them)"));
	if (optind >= argc)
		return (cmd_usage_error(ce, "no outbox command (list, retry, "
		    "replay)"));
	sub = argv[optind++];
	if (optind < argc)
		obj = argv[optind++];
	if (optind < argc)
		return (cmd_usage_error(ce, "unexpected argument: %s",
		    argv[optind]));
	if (strcmp(sub, "list") != 0 && strcmp(sub, "retry") != 0 &&
	    strcmp(sub, "replay") != 0)
		return (cmd_usage_error(ce, "unknown outbox command: %s", sub));
	if (strcmp(sub, "replay") == 0 && since == NULL)
		return (cmd_usage_error(ce, "replay needs --since TIME"));
	if (status != NULL && strcmp(status, "pending") != 0 &&
	    strcmp(status, "dead") != 0 && strcmp(status, "done") != 0 &&
	    strcmp(status, "all") != 0)
		return (cmd_usage_error(ce, "--status is pending, dead, done "
		    "or all"));
	if (obj != NULL && ((slash = strchr(obj, '/')) == NULL ||
	    slash == obj || slash[1] == '\0'))
		return (cmd_usage_error(ce, "an object is TYPE/ID"));
	if (http != NULL)
		return (cmd_outbox_http(http, sub, sink, status, since, obj));
	if (file != NULL) {
		if ((cf = config_load(file, err, sizeof(err))) == NULL) {
			log_warnx("outbox: %s", err);
			return (CMD_EXIT_USAGE);
		}
		url = cf->ledger;
	}
	if (cmd_ledger_missing(url)) {
		log_warnx("outbox: %s: no such ledger", url);
		goto out;
	}
	if ((l = ledger_open(url, 0, err, sizeof(err))) == NULL) {
		log_warnx("outbox: %s", err);
		goto out;
	}
	if (strcmp(sub, "list") == 0) {
		struct cmd_outbox_list	ol = { cf, 0 };

		if (ledger_outbox_list(l, sink, status, cmd_outbox_print, &count) ==
		    -1 || ledger_outbox_backlog(l, sink, cmd_outbox_backlog,
		    &ol) == -1)
			goto out;
		count += ol.count;
		if (count == 0)
			fprintf(stderr, "milepost: outbox: nothing %s\n",
			    status == NULL ? "pending or dead" : status);
		rc = CMD_EXIT_OK;
	} else if (strcmp(sub, "retry") == 0) {
		if (obj != NULL) {
			type = xstrdup(obj);
			*strchr(type, '/') = '\0';
		}
		memset(&op, 0, sizeof(op));
		if (type != NULL) {
			op.type = type;
			op.id = type + strlen(type) + 1;
		}
		op.sink = sink;
		if ((n = cmd_outbox_write(l, cf, &op)) == -1)
			goto out;
		printf("%lld dead-lettered push%s queued again\n",
		    (long long)n, n == 1 ? "" : "es");
		rc = CMD_EXIT_OK;
	} else {
		if (tf_parse(since, &t) == -1) {
			if (ts_parse(since, &ago) == -1) {
				rc = cmd_usage_error(ce, "--since is RFC 3339 "
				    "or a timespan ago (2h, 30m)");
				goto out;
			}
			t = tf_now() - (int64_t)(ago * 1e6);
		}
		memset(&op, 0, sizeof(op));
		op.replay = 1;
		op.sink = sink;
		op.since = t;
		if ((n = cmd_outbox_write(l, cf, &op)) == -1)
			goto out;
		printf("%lld object%s queued for sending again\n",
		    (long long)n, n == 1 ? "" : "s");
		rc = CMD_EXIT_OK;
	}
out:
	if (rc == CMD_EXIT_USAGE && l != NULL)
		{
			char	*safe = ledger_url_safe(url);

			log_warnx("outbox: %s: %s", safe, ledger_error(l));
			free(safe);
		}
	free(type);
	ledger_close(l);
	config_free(cf);
	return (rc);
}

/*
 * op on the ledger l directly, in one transaction with its audit evidence
 * (outbox_op_apply), checked against cf's types or the built-in ones.
 * The actor is the user running this.  Returns the rows queued, or -1
 * with a warning.
 */
static int64_t
cmd_outbox_write(struct ledger *l, const struct config *cf,
    struct outbox_op *op)
{
	struct outbox_op_result	 res;
	struct types		*own = NULL;
	struct passwd		*pw;
	char			 actor[128];

	pw = getpwuid(getuid());
	snprintf(actor, sizeof(actor), "user %s (uid %ld) on the ledger",
	    pw != NULL ? pw->pw_name : "?", (long)getuid());
	op->actor = actor;
	op->via = "cli";
	op->source = "cli";
	if (cf == NULL)
		own = types_new();
	if (ledger_begin(l) == -1) {
		log_warnx("outbox: begin: %s", ledger_error(l));
		types_free(own);
		return (-1);
	}
	if (outbox_op_apply(l, cf != NULL ? cf->types : own, op, tf_now(),
	    &res) == -1) {
		log_warnx("outbox: %s; nothing changed", res.err);
		ledger_rollback(l);
		types_free(own);
		return (-1);
	}
	types_free(own);
	if (ledger_commit(l) == -1) {
		log_warnx("outbox: commit: %s; nothing changed",
		    ledger_error(l));
		return (-1);
	}
	log_info("outbox: audit evidence %s (seq %lld)", res.evid,
	    (long long)res.seq);
	return (res.queued);
}

/*
 * The outbox command sub over HTTP, at the milepostd base URL base,
 * with $MILEPOST_TOKEN.  Prints what the receiver answered.  Returns an
 * exit status: 0, 2 refused, 3 no answer or 5xx.
 */
static int
cmd_outbox_http(const char *base, const char *sub, const char *sink,
    const char *status, const char *since, const char *obj)
{
	struct client_reply	 r;
	struct buf		 path, out;
	json_object		*o, *rows, *v;
	const char		*s;
	char			*e;
	size_t			 i;
	int			 sent, rc = CMD_EXIT_OK;

	setenv("MILEPOST_URL", base, 1);
	buf_init(&path);
	buf_init(&out);
	o = json_object_new_object();
	if (strcmp(sub, "list") == 0) {
		buf_adds(&path, "/v1/outbox?");
		if (sink != NULL && (e = client_escape(sink)) != NULL) {
			buf_printf(&path, "sink=%s&", e);
			free(e);
		}
		if (status != NULL && (e = client_escape(status)) != NULL) {
			buf_printf(&path, "status=%s", e);
			free(e);
		}
		sent = client_get(buf_cstr(&path), &out, &r);
	} else {
		buf_printf(&path, "/v1/outbox/%s", sub);
		if (sink != NULL)
			json_object_object_add(o, "sink",
			    json_object_new_string(sink));
		if (obj != NULL)
			json_object_object_add(o, "object",
			    json_object_new_string(obj));
		if (since != NULL)
			json_object_object_add(o, "since",
			    json_object_new_string(since));
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		sent = client_post_json(buf_cstr(&path), s, strlen(s), &out,
		    &r);
	}
	if (sent == -1 || r.code >= 500 || r.code == 0) {
		log_warnx("outbox: %s: %s", base, r.error[0] ? r.error :
		    "no answer");
		rc = CMD_EXIT_DOWN;
		goto out;
	}
	if (r.code != 200) {
		log_warnx("outbox: %s: HTTP %ld: %s", base, r.code,
		    r.error[0] ? r.error : "refused");
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	json_object_put(o);
	if ((o = json_tokener_parse(buf_cstr(&out))) == NULL) {
		log_warnx("outbox: %s: the reply is not JSON", base);
		rc = CMD_EXIT_DOWN;
		goto out;
	}
	if (strcmp(sub, "list") == 0 &&
	    json_object_object_get_ex(o, "outbox", &rows)) {
		for (i = 0; i < json_object_array_length(rows); i++) {
			v = json_object_array_get_idx(rows, i);
			printf("%s\n", json_object_to_json_string_ext(v,
			    JSON_C_TO_STRING_PLAIN));
		}
	} else
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(o);
	buf_free(&path);
	buf_free(&out);
	return (rc);
}
