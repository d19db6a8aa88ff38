/*
 * cmd-outbox.c: "milepost outbox list|retry|replay", which read and
 * update the outbox in the ledger directly (--ledger URL or -c FILE, as
 * ledger verify does), beside a running milepostd: each update is one
 * short transaction, and the daemon picks the rows up on its next scan
 * (within a quarter of a second).  No HTTP and no token: whoever may
 * write the ledger file may do this.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static void	cmd_outbox_backlog(const char *, int64_t, void *);
static int	cmd_outbox_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_outbox_entry = {
	.name = "outbox",
	.usage = "list|retry|replay [--ledger URL | -c FILE] [--sink NAME] "
	    "[--status S] [--since TIME] [TYPE/ID]",
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
	    "  --sink NAME   only this sink\n"
	    "\nexit status: 0 done, 2 usage or the ledger cannot be used.\n",
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
		{ NULL,		0,			NULL,	0 }
	};
	struct config	*cf = NULL;
	struct ledger	*l = NULL;
	const char	*url = NULL, *file = NULL, *sink = NULL, *since = NULL;
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
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if ((url == NULL) == (file == NULL))
		return (cmd_usage_error(ce, "which ledger? give --ledger URL "
		    "or -c FILE (one of them)"));
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
		if ((n = ledger_outbox_retry(l, sink, type, type ? type +
		    strlen(type) + 1 : NULL)) == -1)
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
		if ((n = ledger_outbox_replay(l, sink, t)) == -1)
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
