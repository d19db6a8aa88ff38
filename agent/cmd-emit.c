/*
 * cmd-emit.c: "milepost emit", which posts one evidence built from the
 * command line.
 *
 * PROP=VALUE sends VALUE as a JSON string, which the receiver coerces to
 * the property's type; PROP:=JSON sends JSON as it is (numbers, booleans,
 * lists).  What the agent can check without the receiver's types (the
 * envelope, the JSON, the time) it checks before sending, so that nothing
 * that is bound to be refused ends up in the spool.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define CMD_EMIT_SUBJECT_MAX	1024	/* as the receiver's evidence.c */
#define CMD_EMIT_LINKS_MAX	64
#define CMD_EMIT_LINKNAME_MAX	64
#define CMD_EMIT_LINK_MAX	2048
#define CMD_EMIT_JSON_DEPTH	32

static int		 cmd_emit_exec(const struct cmd_entry *, int, char **);
static int		 cmd_emit_json(const char *, json_object **);

const struct cmd_entry cmd_emit_entry = {
	.name = "emit",
	.usage = "TYPE [--subject S] [--time RFC3339] [--id ID] "
	    "[--link KEY=VALUE]... [--git] [PROP=VALUE | PROP:=JSON]...",
	.summary = "post one evidence",
	.help =
	    "options:\n"
	    "  --subject S      what the evidence is about (a build, a "
	    "service, ...)\n"
	    "  --time RFC3339   when it happened (default: now)\n"
	    "  --id ID          its idempotency id (default: a new "
	    "ev-<hex>)\n"
	    "  --link KEY=VALUE a link such as commit=..., repo=...; "
	    "repeatable\n"
	    "  --git            add commit, branch and repo links from the "
	    "working\n"
	    "                   directory's repository (--link wins)\n"
	    "  PROP=VALUE       a property, sent as a string\n"
	    "  PROP:=JSON       a property, sent as JSON: n:=3, ok:=true, "
	    "tags:='[\"a\"]'\n"
	    "\nexit status: 0 accepted, duplicate, or spooled for "
	    "'milepost flush';\n"
	    "2 refused by the receiver (the reason is on stderr), or a "
	    "usage error;\n"
	    "1 neither delivered nor spooled.\n",
	.exec = cmd_emit_exec,
};

/*
 * Parse s strictly as one JSON value into *out (a new object; NULL for
 * JSON null).  Returns 0, or -1 if s is not exactly one JSON value, or
 * holds a number that is not finite (NaN, Infinity, 1e999: json-c's
 * strict mode takes them, the receiver's strict_parse does not, and no
 * JSON text could carry them).
 */
static int
cmd_emit_json(const char *s, json_object **out)
{
	struct json_tokener	*tok;
	json_object		*o;
	size_t			 len = strlen(s);
	char			 why[MP_ERRLEN];
	int			 rc = 0;

	if ((tok = json_tokener_new_ex(CMD_EMIT_JSON_DEPTH)) == NULL)
		fatalx("%s: json_tokener_new_ex", __func__);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* The NUL goes in too, so that "3" ends as a number. */
	*out = json_tokener_parse_ex(tok, s, (int)len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		json_object_put(*out);
		*out = NULL;
		rc = -1;
	}
	json_tokener_free(tok);
	if (*out != NULL) {
		/* The one strict parse decides (a NUL ends it as a blank). */
		tok = strict_new(CMD_EMIT_JSON_DEPTH);
		if ((o = strict_parse(tok, s, len + 1, why, sizeof(why))) ==
		    NULL) {
			log_debug("%s: %s", __func__, why);
			json_object_put(*out);
			*out = NULL;
			rc = -1;
		}
		json_object_put(o);
		json_tokener_free(tok);
	}
	return (rc);
}

/*
 * Add one PROP=VALUE (a string) or PROP:=JSON (the JSON value as it is)
 * argument to props.  Returns 0; -1 when arg is neither form (no '=', or
 * an empty PROP); -2 when the JSON is not exactly one JSON value.
 */
int
cmd_emit_prop(const char *arg, json_object *props)
{
	json_object	*v;
	const char	*eq;
	char		*key;

	if ((eq = strchr(arg, '=')) == NULL || eq == arg ||
	    (eq == arg + 1 && eq[-1] == ':'))
		return (-1);
	if (eq[-1] == ':') {
		if (cmd_emit_json(eq + 1, &v) == -1)
			return (-2);
		key = xstrndup(arg, (size_t)(eq - 1 - arg));
	} else {
		v = json_object_new_string(eq + 1);
		key = xstrndup(arg, (size_t)(eq - arg));
	}
	json_object_object_add(props, key, v);
	free(key);
	return (0);
}

/*
 * Post the evidence described by argv.  Returns 0 when it was accepted, a
 * duplicate or spooled, 2 on a refusal or a usage error, 1 when it could
 * be neither delivered nor spooled.
 */
static int
cmd_emit_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "git",	no_argument,		NULL,	'g' },
		{ "help",	no_argument,		NULL,	'h' },
		{ "id",		required_argument,	NULL,	'i' },
		{ "link",	required_argument,	NULL,	'l' },
		{ "subject",	required_argument,	NULL,	's' },
		{ "time",	required_argument,	NULL,	't' },
		{ NULL,		0,			NULL,	0 }
	};
	struct client_reply	 r;
	enum client_status	 st;
	json_object		*ev = NULL, *props, *links;
	const char		*type, *subject = NULL, *time = NULL;
	const char		*id = NULL, *eq;
	char			*key, gen[32], hex[21], now[MP_TIMELEN];
	int64_t			 us;
	int			 ch, i, git = 0, spooled, rc, pr;

	links = json_object_new_object();
	props = json_object_new_object();
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			git = 1;
			break;
		case 'h':
			rc = cmd_help(ce);
			goto out;
		case 'i':
			id = optarg;
			if (!ident_valid(id)) {
				rc = cmd_usage_error(ce, "--id must be 1 to %d "
				    "printable characters without spaces",
				    MP_IDMAX);
				goto out;
			}
			break;
		case 'l':
			if ((eq = strchr(optarg, '=')) == NULL ||
			    eq == optarg ||
			    eq - optarg > CMD_EMIT_LINKNAME_MAX ||
			    strlen(eq + 1) > CMD_EMIT_LINK_MAX) {
				rc = cmd_usage_error(ce, "--link %s: expected "
				    "KEY=VALUE (KEY 1 to %d bytes, VALUE at "
				    "most %d)", optarg, CMD_EMIT_LINKNAME_MAX,
				    CMD_EMIT_LINK_MAX);
				goto out;
			}
			key = xstrndup(optarg, (size_t)(eq - optarg));
			json_object_object_add(links, key,
			    json_object_new_string(eq + 1));
			free(key);
			if (json_object_object_length(links) >
			    CMD_EMIT_LINKS_MAX) {
				rc = cmd_usage_error(ce, "more than %d links",
				    CMD_EMIT_LINKS_MAX);
				goto out;
			}
			break;
		case 's':
			subject = optarg;
			if (strlen(subject) > CMD_EMIT_SUBJECT_MAX) {
				rc = cmd_usage_error(ce, "--subject is longer "
				    "than %d bytes", CMD_EMIT_SUBJECT_MAX);
				goto out;
			}
			break;
		case 't':
			time = optarg;
			if (tf_parse(time, &us) == -1) {
				rc = cmd_usage_error(ce, "--time %s: expected "
				    "RFC 3339, such as 2025-07-03T10:08:20Z",
				    time);
				goto out;
			}
			break;
		default:
			rc = cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc || *argv[optind] == '\0') {
		rc = cmd_usage_error(ce, "no evidence TYPE");
		goto out;
	}
	type = argv[optind];
	for (i = optind + 1; i < argc; i++) {
		if ((pr = cmd_emit_prop(argv[i], props)) == -1) {
			rc = cmd_usage_error(ce, "%s: expected PROP=VALUE or "
			    "PROP:=JSON", argv[i]);
			goto out;
		}
		if (pr == -2) {
			rc = cmd_usage_error(ce, "%s: not valid JSON", argv[i]);
			goto out;
		}
	}
	if (client_key() == CLIENT_KEY_BAD) {
		log_warnx("emit: MILEPOST_SECRET is not a valid Standard "
		    "Webhooks secret (whsec_<base64>)");
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	/*
	 * Without a secret nothing could be sent, only spooled, and a spool
	 * on an ephemeral runner is lost with it: a usage error, at once.
	 */
	if (client_key() == CLIENT_KEY_UNSET) {
		log_warnx("emit: MILEPOST_SECRET is not set: nothing was sent "
		    "or spooled (set it to the receiver's agent_secret, "
		    "whsec_<base64>)");
		rc = CMD_EXIT_USAGE;
		goto out;
	}
	if (git)
		git_links_add(links);

	if (id == NULL) {
		cmd_random_hex(hex, 20);
		snprintf(gen, sizeof(gen), "ev-%s", hex);
		id = gen;
	}
	if (time == NULL) {
		/* Spooled evidence keeps the moment it was emitted. */
		tf_format(tf_now(), now);
		time = now;
	}
	ev = cmd_evidence_new(id, type, subject, time);
	json_object_object_add(ev, "properties", props);
	props = NULL;
	if (json_object_object_length(links) > 0) {
		json_object_object_add(ev, "links", links);
		links = NULL;
	}

	st = client_post(ev, 0, &r, &spooled);
	switch (st) {
	case CLIENT_DELIVERED:
		log_debug("emit: %s: %s (HTTP %ld, seq %lld)", id,
		    r.duplicate ? "duplicate" : "accepted", r.code, r.seq);
		cmd_spool_hint();
		rc = CMD_EXIT_OK;
		break;
	case CLIENT_RETRY:
	case CLIENT_NOKEY:
		rc = spooled ? CMD_EXIT_OK : CMD_EXIT_FAIL;
		break;
	case CLIENT_SETUP:
		client_reply_print("emit", &r);
		log_warnx("emit: check MILEPOST_SECRET and MILEPOST_URL (%s)",
		    client_url());
		rc = CMD_EXIT_USAGE;
		break;
	case CLIENT_REFUSED:
	default:
		client_reply_print("emit", &r);
		rc = CMD_EXIT_USAGE;
		break;
	}
out:
	json_object_put(ev);
	json_object_put(props);
	json_object_put(links);
	return (rc);
}
