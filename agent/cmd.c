/*
 * cmd.c: the table of commands, their usage and help, and the helpers that
 * several commands share (ids, the evidence envelope, the spool hint).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

const struct cmd_entry *cmd_table[] = {
	&cmd_run_entry,
	&cmd_emit_entry,
	&cmd_flush_entry,
	&cmd_git_entry,
	&cmd_ledger_entry,
	&cmd_claim_entry,
	&cmd_claims_entry,
	&cmd_metrics_entry,
	&cmd_deploy_entry,
	&cmd_services_entry,
	&cmd_status_entry,
	&cmd_outbox_entry,
	&cmd_sli_entry,
	&cmd_slo_entry,
	&cmd_gate_entry,
	&cmd_simulate_entry,
	NULL
};

static void	cmd_print_usage(FILE *, const struct cmd_entry *);

/* Find a command by its full name; NULL if there is none. */
const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry	**ce;

	for (ce = cmd_table; *ce != NULL; ce++)
		if (strcmp((*ce)->name, name) == 0)
			return (*ce);
	return (NULL);
}

/*
 * Run the command named by argv[0] with its arguments (argv[0] stays the
 * command's name, as getopt expects).  Returns the exit status.
 */
int
cmd_exec(int argc, char **argv)
{
	const struct cmd_entry	*ce;

	if (strcmp(argv[0], "help") == 0) {
		if (argc < 2) {
			cmd_usage(stdout);
			return (CMD_EXIT_OK);
		}
		if ((ce = cmd_find(argv[1])) == NULL) {
			log_warnx("unknown command: %s", argv[1]);
			cmd_usage(stderr);
			return (CMD_EXIT_USAGE);
		}
		return (cmd_help(ce));
	}
	if ((ce = cmd_find(argv[0])) == NULL) {
		log_warnx("unknown command: %s", argv[0]);
		cmd_usage(stderr);
		return (CMD_EXIT_USAGE);
	}
	optind = 0;	/* GNU getopt: start afresh for the command */
	opterr = 0;
	return (ce->exec(ce, argc, argv));
}

static void
cmd_print_usage(FILE *f, const struct cmd_entry *ce)
{
	fprintf(f, "usage: milepost %s%s%s\n", ce->name,
	    *ce->usage != '\0' ? " " : "", ce->usage);
}

/* The list of commands, for --help (stdout) or a usage error (stderr). */
void
cmd_usage(FILE *f)
{
	const struct cmd_entry	**ce;

	fprintf(f, "usage: milepost [-hVv] command [arguments]\n\n"
	    "commands:\n");
	for (ce = cmd_table; *ce != NULL; ce++)
		fprintf(f, "  %-8s %s\n", (*ce)->name, (*ce)->summary);
	fprintf(f, "  %-8s %s\n", "help", "show the usage of a command");
	fprintf(f, "\noptions:\n"
	    "  -h, --help     show this help\n"
	    "  -V, --version  show the version\n"
	    "  -v, --verbose  say more on stderr\n"
	    "\nenvironment: MILEPOST_URL (default %s), MILEPOST_SECRET,\n"
	    "  MILEPOST_TOKEN, MILEPOST_SPOOL, MILEPOST_TIMEOUT (seconds)\n"
	    "\nrun 'milepost help COMMAND' for the options of a command.\n",
	    MP_DEFAULT_URL);
}

/* "milepost CMD --help": usage and options on stdout.  Returns 0. */
int
cmd_help(const struct cmd_entry *ce)
{
	cmd_print_usage(stdout, ce);
	printf("\n%s.\n", ce->summary);
	if (ce->help != NULL && *ce->help != '\0')
		printf("\n%s", ce->help);
	return (CMD_EXIT_OK);
}

/* Report a usage error of ce on stderr.  Returns CMD_EXIT_USAGE. */
int
cmd_usage_error(const struct cmd_entry *ce, const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		log_warnx("%s: %s", ce->name, msg);
	}
	cmd_print_usage(stderr, ce);
	fprintf(stderr, "run 'milepost %s --help' for more.\n", ce->name);
	return (CMD_EXIT_USAGE);
}

/*
 * Write n random lowercase hex digits and a NUL into out (n + 1 bytes).
 * getrandom(2) is the source; should it fail, the time and pid stand in,
 * which still makes an id that is unique enough for one host.
 */
void
cmd_random_hex(char *out, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 r[64];
	size_t			 i, need = (n + 1) / 2;
	struct timespec		 ts;
	uint64_t		 x;

	if (need > sizeof(r))
		fatalx("%s: %zu digits", __func__, n);
	if (getrandom(r, need, 0) != (ssize_t)need) {
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000007u ^
		    (uint64_t)ts.tv_nsec << 16 ^ (uint64_t)getpid();
		for (i = 0; i < need; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			r[i] = (unsigned char)x;
		}
	}
	for (i = 0; i < n; i++)
		out[i] = hex[(r[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[n] = '\0';
}

/*
 * Copy s into out (outlen bytes), replacing what an evidence id may not
 * hold (white space, control and non-ASCII bytes) with '_' and truncating.
 */
void
cmd_id_sanitize(const char *s, char *out, size_t outlen)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f) ? '_' : s[i];
	out[i] = '\0';
}

/*
 * A new evidence envelope {"id","type","subject","time","properties":{}}.
 * subject and time may be NULL to leave them out.  Returns a new object
 * that the caller owns; "properties" is there to be filled.
 */
json_object *
cmd_evidence_new(const char *id, const char *type, const char *subject,
    const char *time)
{
	json_object	*ev;

	ev = json_object_new_object();
	json_object_object_add(ev, "id", json_object_new_string(id));
	json_object_object_add(ev, "type", json_object_new_string(type));
	if (subject != NULL)
		json_object_object_add(ev, "subject",
		    json_object_new_string(subject));
	if (time != NULL)
		json_object_object_add(ev, "time",
		    json_object_new_string(time));
	json_object_object_add(ev, "properties", json_object_new_object());
	return (ev);
}

/*
 * After a delivery, say on stderr when older evidence is still spooled:
 * the receiver is up, so now is a good time to flush.  One readdir.
 */
void
cmd_spool_hint(void)
{
	int	n;

	if ((n = spool_count()) > 0)
		log_warnx("%d evidence waiting in %s: run 'milepost flush'",
		    n, spool_path());
}
