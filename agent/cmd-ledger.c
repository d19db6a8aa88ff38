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
#include <time.h>
#include <unistd.h>

#include "agent.h"

static int	cmd_ledger_exec(const struct cmd_entry *, int, char **);
static int	cmd_ledger_verify(const char *);
static int	cmd_ledger_raw(const char *, const char *, const char *);
static int	cmd_ledger_migrate(const char *);
static int	cmd_ledger_copy(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_ledger_entry = {
	.name = "ledger",
	.usage = "verify|migrate|raw SOURCE DELIVERY [--ledger URL | -c FILE]\n"
	    "       ledger copy --from URL --to URL [-c FILE]",
	.summary = "check the ledger's hash chain; migrate its schema; print "
	    "a raw payload",
	.help =
	    "commands:\n"
	    "  verify                walk the hash chain\n"
	    "  migrate               bring the ledger's schema to this "
	    "version (milepostd\n"
	    "                        also does at start); prints the "
	    "version\n"
	    "  copy --from URL --to URL\n"
	    "                        move a ledger (e.g. sqlite:… to "
	    "postgresql://…) into\n"
	    "                        an empty one: verified before and after, "
	    "claims\n"
	    "                        compared and rebuilt (-c FILE: its "
	    "rules)\n"
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

static double
cmd_progress_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/*
 * Progress of a long command (ledger verify, claims rebuild) for a person:
 * on a terminal (stderr) only, a line redrawn at most ten times a second
 * with the rate and the time left; nothing at all otherwise.  Hand
 * cmd_progress_tell to ledger_progress with p; cmd_progress_end clears
 * the line.
 */
void
cmd_progress_start(struct cmd_progress *p, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->tty = isatty(STDERR_FILENO);
	p->t0 = cmd_progress_now();
}

void
cmd_progress_tell(int64_t done, int64_t total, void *arg)
{
	struct cmd_progress	*p = arg;
	double			 now = cmd_progress_now(), rate, el;

	if (!p->tty || (now - p->last < 0.1 && done < total))
		return;
	p->last = now;
	el = now - p->t0;
	rate = el > 0 ? (double)done / el : 0;
	if (total > 0 && done <= total)
		fprintf(stderr, "\r%s: %lld of %lld entries (%.0f%%), %.0f "
		    "entries/s, ETA %.0f s\033[K", p->what, (long long)done,
		    (long long)total, 100.0 * (double)done / (double)total,
		    rate, rate > 0 ? (double)(total - done) / rate : 0);
	else
		fprintf(stderr, "\r%s: %lld entries, %.0f entries/s\033[K",
		    p->what, (long long)done, rate);
	p->shown = 1;
}

void
cmd_progress_end(struct cmd_progress *p)
{
	if (p->tty && p->shown)
		fprintf(stderr, "\n");
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
	struct cmd_progress	 pr;
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
	cmd_progress_start(&pr, "ledger verify");
	ledger_progress(l, cmd_progress_tell, &pr);
	rc = ledger_verify(l, &v);
	cmd_progress_end(&pr);
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
		{
			char	*safe = ledger_url_safe(url);

			log_warnx("ledger verify: %s: %s", safe, v.reason);
			free(safe);
		}
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
		{
			char	*safe = ledger_url_safe(url);

			log_warnx("ledger raw: %s: %s", safe, ledger_error(l));
			free(safe);
		}
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

/* ledger copy: the destination, and what was copied into it. */
struct copy {
	struct ledger	*dst;
	int64_t		 evidence, raw, claims, held, changes, in_txn;
	int64_t		 cursor;
	char		 digest[MP_HASHLEN];	/* chained over claim rows */
	int		 bad;
	char		 err[MP_ERRLEN];
};

/* Commit every 1000 rows, so that a large copy holds no huge transaction. */
static int
cmd_ledger_copy_step(struct copy *cp)
{
	if (++cp->in_txn < 1000)
		return (0);
	cp->in_txn = 0;
	if (ledger_commit(cp->dst) == -1 || ledger_begin(cp->dst) == -1) {
		snprintf(cp->err, sizeof(cp->err), "%s",
		    ledger_error(cp->dst));
		return (-1);
	}
	return (0);
}

static int
cmd_ledger_copy_ev(const struct evidence *src, void *arg)
{
	struct copy	*cp = arg;
	struct evidence	 ev = *src;

	if (ledger_append(cp->dst, &ev) != 0 || ev.seq != src->seq ||
	    strcmp(ev.hash, src->hash) != 0) {
		snprintf(cp->err, sizeof(cp->err), "entry %lld: %s",
		    (long long)src->seq, ev.seq != src->seq ||
		    strcmp(ev.hash, src->hash) != 0 ? "copied with another "
		    "sequence number or hash" : ledger_error(cp->dst));
		return (-1);
	}
	cp->evidence++;
	return (cmd_ledger_copy_step(cp));
}

static int
cmd_ledger_copy_raw(const char *source, const char *delivery, int64_t at,
    const char *enc, const void *body, size_t len, void *arg)
{
	struct copy	*cp = arg;

	if (ledger_raw_put(cp->dst, source, delivery, at, enc, body, len,
	    0) == -1) {
		snprintf(cp->err, sizeof(cp->err), "raw payload %s %s: %s",
		    source, delivery, ledger_error(cp->dst));
		return (-1);
	}
	cp->raw++;
	return (cmd_ledger_copy_step(cp));
}

/* A claim row into the chained digest: h = SHA-256(h, fields). */
static void
cmd_ledger_digest(char h[MP_HASHLEN], const struct claim *c)
{
	char	*s;
	int	 n;

	n = xasprintf(&s, "%s|%s|%s|%lld|%lld|%lld|%lld|%s|%s|%s|%s", h,
	    c->type, c->id, (long long)c->revision, (long long)c->anchor,
	    (long long)c->time, (long long)c->recorded_at, c->properties,
	    c->links ? c->links : "", c->basis ? c->basis : "",
	    c->about ? c->about : "\001");
	sha256_hex(s, (size_t)n, h);
	free(s);
}

static int
cmd_ledger_copy_claim(const struct claim *c, void *arg)
{
	struct copy	*cp = arg;

	if (ledger_claim_put(cp->dst, c) == -1) {
		snprintf(cp->err, sizeof(cp->err), "claim %s/%s revision "
		    "%lld: %s", c->type, c->id, (long long)c->revision,
		    ledger_error(cp->dst));
		return (-1);
	}
	cmd_ledger_digest(cp->digest, c);
	cp->claims++;
	return (cmd_ledger_copy_step(cp));
}

/* The digest of a ledger's claims (the destination's, after the copy). */
static int
cmd_ledger_digest_one(const struct claim *c, void *arg)
{
	struct copy	*cp = arg;

	cmd_ledger_digest(cp->digest, c);
	cp->claims++;
	return (0);
}

static int
cmd_ledger_copy_held(const char *ctype, const char *subject, int64_t seq,
    void *arg)
{
	struct copy	*cp = arg;

	if (ledger_pending_put(cp->dst, ctype, subject, seq) == -1) {
		snprintf(cp->err, sizeof(cp->err), "held revision: %s",
		    ledger_error(cp->dst));
		return (-1);
	}
	cp->held++;
	return (cmd_ledger_copy_step(cp));
}

static int
cmd_ledger_copy_change(const struct change *ch, void *arg)
{
	struct copy	*cp = arg;

	cp->cursor = ch->cursor;
	if (ledger_feed_append(cp->dst, ch) == -1) {
		snprintf(cp->err, sizeof(cp->err), "change %lld: %s",
		    (long long)ch->cursor, ledger_error(cp->dst));
		cp->bad = 1;
		return (1);
	}
	cp->changes++;
	if (cmd_ledger_copy_step(cp) == -1) {
		cp->bad = 1;
		return (1);
	}
	return (0);
}

/*
 * milepost ledger copy --from URL --to URL [-c FILE]: verify the source,
 * copy its chain (same sequence numbers, hashes, transaction times), raw
 * payloads, claim revisions, held revisions and change feed into an empty
 * destination, verify it, compare its claims with the source's, and
 * rebuild them there (with FILE's rules, else the built-in types).  The
 * outbox rows and sink cursors are not copied: each sink starts the new
 * ledger's feed from the beginning (a full snapshot per object).
 * Returns 0, 1 (a check failed) or 2 (usage, cannot open).
 */
static int
cmd_ledger_copy(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL,	'c' },
		{ "from",	required_argument,	NULL,	'f' },
		{ "to",		required_argument,	NULL,	't' },
		{ NULL,		0,			NULL,	0 }
	};
	struct ledger		*src = NULL, *chk = NULL;
	struct ledger_verify	 v, v2;
	struct claims_rebuild	 r;
	struct config		*cf = NULL;
	struct copy		 cp;
	const char		*from = NULL, *to = NULL, *file = NULL;
	char			 err[MP_ERRLEN], digest[MP_HASHLEN];
	int64_t			 nclaims;
	int			 ch, rc = CMD_EXIT_USAGE;

	memset(&cp, 0, sizeof(cp));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (from == NULL || to == NULL)
		return (cmd_usage_error(ce, "ledger copy needs --from URL and "
		    "--to URL"));
	if (optind < argc)
		return (cmd_usage_error(ce, "unexpected argument: %s",
		    argv[optind]));
	if ((cf = file != NULL ? config_load(file, err, sizeof(err)) :
	    config_default()) == NULL) {
		log_warnx("ledger copy: %s", err);
		return (CMD_EXIT_USAGE);
	}
	if (cmd_ledger_missing(from)) {
		log_warnx("ledger copy: %s: no such ledger", from);
		goto out;
	}
	if ((src = ledger_open(from, LEDGER_RDONLY, err, sizeof(err))) ==
	    NULL) {
		log_warnx("ledger copy: %s", err);
		goto out;
	}
	if ((rc = ledger_verify(src, &v)) != 0) {
		printf("the source does not verify: %s\n", v.reason);
		rc = rc == 1 ? CMD_EXIT_FAIL : CMD_EXIT_USAGE;
		goto out;
	}
	printf("source verified: %lld entries\n", (long long)v.checked);
	if ((cp.dst = ledger_open(to, 0, err, sizeof(err))) == NULL) {
		log_warnx("ledger copy: %s", err);
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	if (cp.dst->last_seq != 0 || ledger_claim_all(cp.dst,
	    cmd_ledger_digest_one, &cp) == -1 || cp.claims != 0) {
		log_warnx("ledger copy: the destination is not an empty ledger "
		    "(entry %lld)", (long long)cp.dst->last_seq);
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	strlcpy(cp.digest, LEDGER_GENESIS, sizeof(cp.digest));
	rc = CMD_EXIT_FAIL;
	if (ledger_begin(cp.dst) == -1 ||
	    ledger_scan(src, 0, 0, cmd_ledger_copy_ev, &cp) == -1 ||
	    ledger_raw_scan(src, cmd_ledger_copy_raw, &cp) == -1 ||
	    ledger_claim_all(src, cmd_ledger_copy_claim, &cp) == -1 ||
	    ledger_pending_all(src, cmd_ledger_copy_held, &cp) == -1) {
		ledger_rollback(cp.dst);
		printf("copy failed: %s\n", cp.err[0] ? cp.err :
		    ledger_error(src));
		goto out;
	}
	do {
		int64_t	before = cp.changes;

		if (ledger_feed_scan(src, cp.cursor, 1000, NULL,
		    cmd_ledger_copy_change, &cp) == -1 || cp.bad) {
			ledger_rollback(cp.dst);
			printf("copy failed: %s\n", cp.err[0] ? cp.err :
			    ledger_error(src));
			goto out;
		}
		if (cp.changes - before < 1000)
			break;
	} while (1);
	if (ledger_commit(cp.dst) == -1) {
		printf("copy failed: %s\n", ledger_error(cp.dst));
		goto out;
	}
	printf("copied %lld evidence, %lld raw payloads, %lld claim revisions, "
	    "%lld held, %lld changes\n", (long long)cp.evidence,
	    (long long)cp.raw, (long long)cp.claims, (long long)cp.held,
	    (long long)cp.changes);
	ledger_close(cp.dst);
	cp.dst = NULL;

	/* After: the chain, the claims against the source's, a rebuild. */
	if ((chk = ledger_open(to, LEDGER_RDONLY, err, sizeof(err))) == NULL) {
		log_warnx("ledger copy: %s", err);
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	if (ledger_verify(chk, &v2) != 0 || v2.checked != v.checked) {
		printf("the destination does not verify: %s\n", v2.reason[0] ?
		    v2.reason : "another number of entries");
		goto out;
	}
	printf("destination verified: %lld entries\n", (long long)v2.checked);
	memcpy(digest, cp.digest, sizeof(digest));
	nclaims = cp.claims;
	cp.claims = 0;
	strlcpy(cp.digest, LEDGER_GENESIS, sizeof(cp.digest));
	if (ledger_claim_all(chk, cmd_ledger_digest_one, &cp) == -1 ||
	    cp.claims != nclaims || strcmp(cp.digest, digest) != 0) {
		printf("the destination's claims differ from the source's\n");
		goto out;
	}
	printf("claims equal to the source's: %lld revisions\n",
	    (long long)nclaims);
	switch (derive_rebuild(chk, cf->rules, cf->milestones, &r)) {
	case 0:
		printf("claims rebuilt from %lld evidence: equal to what is "
		    "stored\n", (long long)r.evidence);
		rc = CMD_EXIT_OK;
		break;
	case 1:
		printf("claims rebuilt differ: %s%s\n", r.diff, file == NULL ?
		    " (rebuilt with the built-in types: give -c FILE)" : "");
		break;
	default:
		log_warnx("ledger copy: rebuild: %s", r.diff);
		rc = CMD_EXIT_USAGE;
		break;
	}
out:
	ledger_close(src);
	ledger_close(cp.dst);
	ledger_close(chk);
	config_free(cf);
	return (rc);
}

/* "ledger verify|migrate|raw|copy ...".  Returns the exit status. */
static int
cmd_ledger_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	struct config	*cf = NULL;
	const char	*url, *file, *sub;
	char		 err[MP_ERRLEN];
	int		 rc, nargs;

	if (argc > 1 && strcmp(argv[1], "copy") == 0)
		return (cmd_ledger_copy(ce, argc - 1, argv + 1));
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
