/*
 * cmd-claim.c: "milepost claim TYPE ID" and "milepost claims TYPE", which
 * read claims through the receiver's API (GET /v1/claims/...) and print
 * them as it returns them, and "milepost claims rebuild", which recomputes
 * every claim from the ledger directly (read-only, beside a running
 * receiver, with no HTTP) and compares them with what is stored.
 *
 * The reads print the API's JSON unchanged, pretty-printed: a claim is
 * the body of GET /v1/claims/TYPE/ID; a list is {"claims":[...],"next":...}
 * as GET /v1/claims/TYPE returns it.  Without --limit, claims follows
 * "next" through every page and prints them all as one last page would
 * read: {"claims":[every one],"next":null}.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

#define CMD_CLAIM_PAGE		1000	/* the API's largest page */
#define CMD_CLAIM_JSON_DEPTH	64

static int	cmd_claim_exec(const struct cmd_entry *, int, char **);
static int	cmd_claims_exec(const struct cmd_entry *, int, char **);
static int	cmd_claims_rebuild(const struct cmd_entry *, int, char **);
static int	cmd_claim_as_of(const struct cmd_entry *, const char *,
		    char **);

const struct cmd_entry cmd_claim_entry = {
	.name = "claim",
	.usage = "TYPE ID [--as-of RFC3339]",
	.summary = "print one claim as JSON",
	.help =
	    "options:\n"
	    "  --as-of RFC3339  what was believed at that transaction time\n"
	    "\nThe claim is printed as GET /v1/claims/TYPE/ID returns it. "
	    "The receiver is\n"
	    "MILEPOST_URL; MILEPOST_TOKEN is sent as the bearer token.\n"
	    "\nexit status: 0 found; 1 no such claim or type (the reason is "
	    "on stderr);\n"
	    "2 a usage error or another refusal (401, 403, 400); 3 the "
	    "receiver did not\n"
	    "answer, or answered 5xx.\n",
	.exec = cmd_claim_exec,
};

const struct cmd_entry cmd_claims_entry = {
	.name = "claims",
	.usage = "TYPE [--as-of RFC3339] [--limit N] [--after ID] | "
	    "rebuild [--ledger URL | -c FILE]",
	.summary = "list the claims of a type, or rebuild them all",
	.help =
	    "claims TYPE prints {\"claims\":[...],\"next\":...} as "
	    "GET /v1/claims/TYPE returns it,\n"
	    "the latest revision of each claim, in id order.\n"
	    "  --as-of RFC3339  what was believed at that transaction time\n"
	    "  --limit N        one page of at most N claims (1 to 1000); "
	    "\"next\" is the id\n"
	    "                   to pass to --after for the next page, or "
	    "null\n"
	    "  --after ID       start after this claim id\n"
	    "Without --limit every page is fetched and printed as one, with "
	    "\"next\": null.\n"
	    "Exit status as for claim: 0, 1 unknown type, 2 usage or refused, "
	    "3 no answer.\n"
	    "\nclaims rebuild recomputes every claim from the ledger "
	    "(read-only, so it runs\n"
	    "beside milepostd) and compares them with the stored claims.\n"
	    "  --ledger URL     the ledger, with the built-in claim types "
	    "only\n"
	    "  -c FILE          the ledger and the claim types of this "
	    "milepostd configuration\n"
	    "Exit status: 0 equal, 1 they differ (the first difference is "
	    "printed), 2 the\n"
	    "ledger or the configuration cannot be read.  To list a claim "
	    "type named\n"
	    "\"rebuild\", write 'milepost claims -- rebuild'.\n",
	.exec = cmd_claims_exec,
};

/*
 * Check --as-of t and turn it into an escaped query value in *out (new):
 * UTC with microseconds, as the receiver prints times.  Returns 0, or the
 * usage error's exit status.
 */
static int
cmd_claim_as_of(const struct cmd_entry *ce, const char *t, char **out)
{
	char	norm[MP_TIMELEN];
	int64_t	us;

	if (tf_parse(t, &us) == -1)
		return (cmd_usage_error(ce, "--as-of %s: expected RFC 3339, "
		    "such as 2025-07-03T10:08:20Z", t));
	tf_format(us, norm);
	if ((*out = client_escape(norm)) == NULL)
		return (CMD_EXIT_DOWN);
	return (0);
}

/*
 * GET path and parse the reply into *out (new).  what names the request
 * in messages.  Returns 0, or the exit status: 1 for a 404, 3 without an
 * answer or for a 5xx, 2 for anything else.
 */
int
cmd_claim_fetch(const char *what, const char *path, json_object **out)
{
	struct client_reply	 r;
	struct json_tokener	*tok;
	struct buf		 body;
	char			 why[MP_ERRLEN + 160];
	int			 rc = CMD_EXIT_USAGE;

	*out = NULL;
	buf_init(&body);
	if (client_get(path, &body, &r) == -1) {
		log_warnx("%s: %s (is the receiver running? MILEPOST_URL is "
		    "%s)", what, r.error, getenv("MILEPOST_URL") ?
		    getenv("MILEPOST_URL") : MP_DEFAULT_URL);
		rc = CMD_EXIT_DOWN;
		goto out;
	}
	client_reason(&r, why, sizeof(why));
	if (r.code == 404) {
		log_warnx("%s: not found (%s)", what, why);
		rc = CMD_EXIT_FAIL;
		goto out;
	}
	if (r.code >= 500) {
		log_warnx("%s: the receiver cannot answer now (%s)", what, why);
		rc = CMD_EXIT_DOWN;
		goto out;
	}
	if (r.code != 200) {
		log_warnx("%s: refused (%s)%s", what, why, r.code == 401 ?
		    "; set MILEPOST_TOKEN to a reader's token" : "");
		goto out;
	}
	if ((tok = json_tokener_new_ex(CMD_CLAIM_JSON_DEPTH)) == NULL)
		fatalx("%s: json_tokener_new_ex", __func__);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	*out = json_tokener_parse_ex(tok, body.data, (int)body.len);
	json_tokener_free(tok);
	if (*out == NULL || !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		log_warnx("%s: the reply is not a JSON object (is MILEPOST_URL "
		    "right?)", what);
		goto out;
	}
	rc = CMD_EXIT_OK;
out:
	buf_free(&body);
	return (rc);
}

void
cmd_claim_print(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* "claim TYPE ID [--as-of T]".  Returns the exit status. */
static int
cmd_claim_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "as-of",	required_argument,	NULL,	'a' },
		{ "help",	no_argument,		NULL,	'h' },
		{ NULL,		0,			NULL,	0 }
	};
	json_object	*o = NULL;
	char		*as_of = NULL, *type = NULL, *id = NULL, *path = NULL;
	char		 what[512];
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			free(as_of);
			as_of = NULL;
			if ((rc = cmd_claim_as_of(ce, optarg, &as_of)) != 0)
				goto out;
			break;
		case 'h':
			rc = cmd_help(ce);
			goto out;
		default:
			rc = cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind > 2) {
		rc = cmd_usage_error(ce, "unexpected argument: %s",
		    argv[optind + 2]);
		goto out;
	}
	if (argc - optind < 2 || *argv[optind] == '\0' ||
	    *argv[optind + 1] == '\0') {
		rc = cmd_usage_error(ce, "give a claim TYPE and ID");
		goto out;
	}
	if ((type = client_escape(argv[optind])) == NULL ||
	    (id = client_escape(argv[optind + 1])) == NULL) {
		rc = CMD_EXIT_DOWN;
		goto out;
	}
	xasprintf(&path, "/v1/claims/%s/%s%s%s", type, id,
	    as_of != NULL ? "?as_of=" : "", as_of != NULL ? as_of : "");
	snprintf(what, sizeof(what), "claim %s/%s", argv[optind],
	    argv[optind + 1]);
	if ((rc = cmd_claim_fetch(what, path, &o)) == CMD_EXIT_OK)
		cmd_claim_print(o);
out:
	json_object_put(o);
	free(path);
	free(type);
	free(id);
	free(as_of);
	return (rc);
}

/*
 * "claims TYPE [--as-of T] [--limit N] [--after ID]", or "claims rebuild
 * ...".  Returns the exit status.
 */
static int
cmd_claims_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "after",	required_argument,	NULL,	'A' },
		{ "as-of",	required_argument,	NULL,	'a' },
		{ "help",	no_argument,		NULL,	'h' },
		{ "limit",	required_argument,	NULL,	'n' },
		{ NULL,		0,			NULL,	0 }
	};
	json_object	*o = NULL, *all = NULL, *page, *next, *one;
	struct buf	 path;
	char		*as_of = NULL, *after = NULL, *type = NULL, *end;
	char		 what[512];
	long		 limit = 0;
	size_t		 i, n;
	int		 ch, rc;

	if (argc > 1 && strcmp(argv[1], "rebuild") == 0)
		return (cmd_claims_rebuild(ce, argc - 1, argv + 1));
	buf_init(&path);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			free(after);
			if ((after = client_escape(optarg)) == NULL) {
				rc = CMD_EXIT_DOWN;
				goto out;
			}
			break;
		case 'a':
			free(as_of);
			as_of = NULL;
			if ((rc = cmd_claim_as_of(ce, optarg, &as_of)) != 0)
				goto out;
			break;
		case 'h':
			rc = cmd_help(ce);
			goto out;
		case 'n':
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    limit < 1 || limit > CMD_CLAIM_PAGE) {
				rc = cmd_usage_error(ce, "--limit must be 1 to "
				    "%d", CMD_CLAIM_PAGE);
				goto out;
			}
			break;
		default:
			rc = cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind > 1) {
		rc = cmd_usage_error(ce, "unexpected argument: %s",
		    argv[optind + 1]);
		goto out;
	}
	if (argc - optind < 1 || *argv[optind] == '\0') {
		rc = cmd_usage_error(ce, "give a claim TYPE, or rebuild");
		goto out;
	}
	if ((type = client_escape(argv[optind])) == NULL) {
		rc = CMD_EXIT_DOWN;
		goto out;
	}
	snprintf(what, sizeof(what), "claims %s", argv[optind]);

	/* Each page after the last id of the one before, until "next" is null. */
	for (;;) {
		buf_reset(&path);
		buf_printf(&path, "/v1/claims/%s?limit=%ld", type,
		    limit ? limit : CMD_CLAIM_PAGE);
		if (as_of != NULL)
			buf_printf(&path, "&as_of=%s", as_of);
		if (after != NULL)
			buf_printf(&path, "&after=%s", after);
		if ((rc = cmd_claim_fetch(what, buf_cstr(&path), &o)) != 0)
			goto out;
		if (limit)
			break;		/* one page, as it came */
		if (!json_object_object_get_ex(o, "claims", &page) ||
		    !json_object_is_type(page, json_type_array)) {
			log_warnx("%s: the reply has no \"claims\" list", what);
			rc = CMD_EXIT_USAGE;
			goto out;
		}
		if (all == NULL)
			all = json_object_new_array();
		n = json_object_array_length(page);
		for (i = 0; i < n; i++) {
			one = json_object_array_get_idx(page, i);
			json_object_array_add(all, json_object_get(one));
		}
		if (!json_object_object_get_ex(o, "next", &next) ||
		    !json_object_is_type(next, json_type_string) || n == 0)
			break;
		free(after);
		if ((after = client_escape(json_object_get_string(next))) ==
		    NULL) {
			rc = CMD_EXIT_DOWN;
			goto out;
		}
		json_object_put(o);
		o = NULL;
	}
	if (all != NULL) {
		json_object_put(o);
		o = json_object_new_object();
		json_object_object_add(o, "claims", all);
		json_object_object_add(o, "next", NULL);
		all = NULL;
	}
	cmd_claim_print(o);
out:
	json_object_put(o);
	json_object_put(all);
	buf_free(&path);
	free(type);
	free(after);
	free(as_of);
	return (rc);
}

/*
 * "claims rebuild [--ledger URL | -c FILE]": replay the ledger into shadow
 * claim tables and compare.  Prints the verdict on stdout, the rate on
 * stderr.  Returns 0 (equal), 1 (they differ) or 2.
 */
static int
cmd_claims_rebuild(const struct cmd_entry *ce, int argc, char **argv)
{
	struct claims_rebuild	 r;
	struct cmd_progress	 pr;
	struct config		*cf = NULL;
	struct ledger		*l = NULL;
	struct timespec		 t0, t1;
	const char		*url, *file;
	char			 err[MP_ERRLEN];
	double			 secs;
	int			 rc;

	if ((rc = cmd_ledger_options(ce, argc, argv, &url, &file)) != -1)
		return (rc);
	if (optind < argc)
		return (cmd_usage_error(ce, "unexpected argument: %s",
		    argv[optind]));
	if (file != NULL)
		cf = config_load(file, err, sizeof(err));
	else
		cf = config_default();	/* the built-in types */
	if (cf == NULL) {
		log_warnx("claims rebuild: %s", err);
		return (CMD_EXIT_USAGE);
	}
	if (url == NULL)
		url = cf->ledger;
	if (cmd_ledger_missing(url)) {
		log_warnx("claims rebuild: %s: no such ledger", url);
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	if ((l = ledger_open(url, LEDGER_RDONLY, err, sizeof(err))) == NULL) {
		log_warnx("claims rebuild: %s", err);
		rc = CMD_EXIT_USAGE;
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cmd_progress_start(&pr, "claims rebuild");
	ledger_progress(l, cmd_progress_tell, &pr);
	rc = derive_rebuild(l, cf->rules, cf->milestones, &r);
	cmd_progress_end(&pr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc >= 0 && r.skipped[0] != '\0')
		printf("not checked: %s: not declared in %s\n", r.skipped,
		    file != NULL ? file : "the built-in types; give -c FILE");
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	switch (rc) {
	case 0:
		printf("claims rebuilt from %lld evidence: %lld revisions, "
		    "equal to what is stored\n", (long long)r.evidence,
		    (long long)r.revisions);
		rc = CMD_EXIT_OK;
		break;
	case 1:
		printf("claims differ: %s%s\n", r.diff, file == NULL ?
		    " (rebuilt with the built-in types: give -c FILE if the "
		    "daemon's file declares its own)" : "");
		rc = CMD_EXIT_FAIL;
		break;
	default:
		{
			char	*safe = ledger_url_safe(url);

			log_warnx("claims rebuild: %s: %s", safe, r.diff);
			free(safe);
		}
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	log_info("claims rebuild: %lld evidence in %.3f s (%.0f rows/s)",
	    (long long)r.evidence, secs, secs > 0 ? (double)r.evidence / secs :
	    0.0);
out:
	ledger_close(l);
	config_free(cf);
	return (rc);
}
