/*
 * cmd-ledger.c: "milepost ledger verify", which walks the ledger's hash
 * chain directly (read-only, beside a running receiver), with no HTTP;
 * and "milepost ledger raw", which prints a source's raw payload as it
 * was received.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int	cmd_ledger_exec(const struct cmd_entry *, int, char **);
static int	cmd_ledger_verify(const char *);
static int	cmd_ledger_raw(const char *, const char *, const char *);
static int	cmd_ledger_migrate(const char *);

const struct cmd_entry cmd_ledger_entry = {
	.name = "ledger",
	.usage = "verify|migrate|raw SOURCE DELIVERY [--ledger URL | -c FILE]",
	.summary = "check the ledger's hash chain; migrate its schema; print "
	    "a raw payload",
	.help =
	    "commands:\n"
	    "  verify                walk the hash chain\n"
	    "  migrate               bring the ledger's schema to this "
	    "version (milepostd\n"
	    "                        also does at start); prints the "
	    "version\n"
	    "  raw SOURCE DELIVERY   write the payload of a tool's delivery "
	    "(e.g. raw\n"
	    "                        github 72d3162e-…) to stdout, byte for "
	    "byte as received\n"
	    "\noptions:\n"
	    "  --ledger URL  the ledger, such as sqlite:/var/lib/milepost/"
	    "ledger.db\n"
	    "                or postgresql://user@host:5432/milepost\n"
	    "  -c FILE       use the ledger of this milepostd "
	    "configuration\n"
	    "\nexit status: verify: 0 when the chain is intact, 1 when it is "
	    "broken (the\n"
	    "first bad sequence number is printed); raw: 0 when printed, 1 "
	    "when no such\n"
	    "delivery is kept; 2 when the ledger cannot be read.\n",
	.exec = cmd_ledger_exec,
};

/*
 * Is url an SQLite ledger whose file does not exist?  A read-only open
 * never creates one, and "no such file" says more than SQLite's "unable
 * to open database file".  claims rebuild asks too.
 */
int
cmd_ledger_missing(const char *url)
{
	struct stat	st;

	if (strncmp(url, "sqlite:", 7) != 0)
		return (0);
	url += 7;
	if (strncmp(url, "//", 2) == 0)
		url += 2;
	return (stat(url, &st) == -1 && errno == ENOENT);
}

/*
 * Open url read-only and verify it.  Prints the verdict on stdout and
 * returns 0 (intact), 1 (broken) or 2 (cannot be read).
 */
static int
cmd_ledger_verify(const char *url)
{
	struct ledger		*l;
	struct ledger_verify	 v;
	char			 err[MP_ERRLEN];
	int			 rc;

	if (cmd_ledger_missing(url)) {
		log_warnx("ledger verify: %s: no such ledger", url);
		return (CMD_EXIT_USAGE);
	}
	if ((l = ledger_open(url, LEDGER_RDONLY, err, sizeof(err))) == NULL) {
		log_warnx("ledger verify: %s", err);
		return (CMD_EXIT_USAGE);
	}
	rc = ledger_verify(l, &v);
	ledger_close(l);
	switch (rc) {
	case 0:
		printf("ledger intact: %lld entries\n", (long long)v.checked);
		return (CMD_EXIT_OK);
	case 1:
		printf("ledger broken at sequence %lld: %s\n",
		    (long long)v.bad_seq, v.reason);
		return (CMD_EXIT_FAIL);
	default:
		log_warnx("ledger verify: %s: %s", url, v.reason);
		return (CMD_EXIT_USAGE);
	}
}

/*
 * Open url read-write, which applies the schema's migrations (under the
 * backend's lock, so beside running replicas too), and print the version.
 * Returns 0, or 2 when the ledger cannot be opened.
 */
static int
cmd_ledger_migrate(const char *url)
{
	struct ledger	*l;
	char		 err[MP_ERRLEN];

	if ((l = ledger_open(url, 0, err, sizeof(err))) == NULL) {
		log_warnx("ledger migrate: %s", err);
		return (CMD_EXIT_USAGE);
	}
	printf("ledger schema up to date (version %d), at sequence %lld\n",
	    ledger_schema(l), (long long)l->last_seq);
	ledger_close(l);
	return (CMD_EXIT_OK);
}

/*
 * The options of every command that reads the ledger directly (INTERFACE:
 * "--ledger URL, or -c FILE"): exactly one of them.  Returns -1 with *url
 * or *file set and optind at the first operand, or else the exit status
 * the command must return (help was printed, or a usage error).
 */
int
cmd_ledger_options(const struct cmd_entry *ce, int argc, char **argv,
    const char **url, const char **file)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL,	'c' },
		{ "help",	no_argument,		NULL,	'h' },
		{ "ledger",	required_argument,	NULL,	'l' },
		{ NULL,		0,			NULL,	0 }
	};
	int	ch;

	*url = *file = NULL;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*file = optarg;
			break;
		case 'h':
			return (cmd_help(ce));
		case 'l':
			*url = optarg;
			break;
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (*url != NULL && *file != NULL)
		return (cmd_usage_error(ce, "give --ledger or -c, not both"));
	if (*url == NULL && *file == NULL)
		return (cmd_usage_error(ce, "which ledger? give --ledger URL "
		    "or -c FILE"));
	return (-1);
}

/*
 * Write the raw payload of source's delivery to stdout.  Returns 0, 1
 * (not kept) or 2 (cannot be read).
 */
static int
cmd_ledger_raw(const char *url, const char *source, const char *delivery)
{
	struct ledger	*l;
	struct buf	 enc, z, out;
	int64_t		 at;
	char		 err[MP_ERRLEN];
	int		 rc;

	if (cmd_ledger_missing(url)) {
		log_warnx("ledger raw: %s: no such ledger", url);
		return (CMD_EXIT_USAGE);
	}
	if ((l = ledger_open(url, LEDGER_RDONLY, err, sizeof(err))) == NULL) {
		log_warnx("ledger raw: %s", err);
		return (CMD_EXIT_USAGE);
	}
	buf_init(&enc);
	buf_init(&z);
	buf_init(&out);
	rc = ledger_raw_get(l, source, delivery, &at, &enc, &z);
	if (rc == -1) {
		log_warnx("ledger raw: %s: %s", url, ledger_error(l));
		rc = CMD_EXIT_USAGE;
	} else if (rc == 0) {
		log_warnx("ledger raw: no payload of source %s with delivery "
		    "id %s", source, delivery);
		rc = CMD_EXIT_FAIL;
	} else if (payload_decompress(buf_cstr(&enc), z.data, z.len, &out,
	    err, sizeof(err)) == -1) {
		log_warnx("ledger raw: %s %s: %s", source, delivery, err);
		rc = CMD_EXIT_USAGE;
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) == EOF) {
		log_warn("ledger raw: stdout");
		rc = CMD_EXIT_USAGE;
	} else
		rc = CMD_EXIT_OK;
	buf_free(&enc);
	buf_free(&z);
	buf_free(&out);
	ledger_close(l);
	return (rc);
}

/* "ledger verify|raw ...".  Returns the exit status. */
static int
cmd_ledger_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	struct config	*cf = NULL;
	const char	*url, *file, *sub;
	char		 err[MP_ERRLEN];
	int		 rc, nargs;

	if ((rc = cmd_ledger_options(ce, argc, argv, &url, &file)) != -1)
		return (rc);
	if (optind >= argc)
		return (cmd_usage_error(ce, "no ledger command (verify, "
		    "migrate, raw)"));
	sub = argv[optind];
	if (strcmp(sub, "verify") == 0 || strcmp(sub, "migrate") == 0)
		nargs = 0;
	else if (strcmp(sub, "raw") == 0)
		nargs = 2;
	else
		return (cmd_usage_error(ce, "unknown ledger command: %s", sub));
	if (argc - optind - 1 < nargs)
		return (cmd_usage_error(ce, "ledger %s needs SOURCE and "
		    "DELIVERY", sub));
	if (optind + 1 + nargs < argc)
		return (cmd_usage_error(ce, "unexpected argument: %s",
		    argv[optind + 1 + nargs]));
	if (url == NULL) {
		if ((cf = config_load(file, err, sizeof(err))) == NULL) {
			log_warnx("ledger %s: %s", sub, err);
			return (CMD_EXIT_USAGE);
		}
		url = cf->ledger;
	}
	if (strcmp(sub, "migrate") == 0)
		rc = cmd_ledger_migrate(url);
	else if (nargs == 0)
		rc = cmd_ledger_verify(url);
	else
		rc = cmd_ledger_raw(url, argv[optind + 1], argv[optind + 2]);
	config_free(cf);
	return (rc);
}
