/*
 * cmd-flush.c: "milepost flush", which sends the spooled evidence, oldest
 * first.
 *
 * Each file is posted as it was spooled, signed afresh; its id is in the
 * body, so an evidence that did reach the receiver before is answered as a
 * duplicate rather than stored twice.  A file is deleted only after a 2xx.
 * One the receiver refuses (a 4xx other than 408, 429, and 401, 403, 404,
 * 405, 407, which mean a wrong secret or URL) would be refused forever, so
 * it moves to rejected/ and no longer counts.  The first failure to get an
 * answer, or a wrong secret or URL, ends the flush: the rest would fare no
 * better.
 *
 * A file may hold a batch {"evidence":[...]} (git post-receive spools so),
 * whose items carry their own ids; it is sent, refused or kept as one.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static int	cmd_flush_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_flush_entry = {
	.name = "flush",
	.usage = "",
	.summary = "send the spooled evidence",
	.help =
	    "exit status: 0 when the spool ends empty (evidence the "
	    "receiver refused\n"
	    "is moved to rejected/ in the spool and no longer counts), 1 "
	    "otherwise.\n",
	.exec = cmd_flush_exec,
};

/*
 * The "id" of a spooled body, into id (at least MP_IDMAX + 1 bytes): the
 * evidence's, or a batch's webhook-id (client_batch_id).  Returns 0, or
 * -1 if unusable.
 */
int
cmd_flush_id(const struct buf *b, char *id, size_t idlen)
{
	struct json_tokener	*tok;
	json_object		*o, *v;
	int			 rc = -1;

	if (b->len == 0)
		return (-1);
	if ((tok = json_tokener_new_ex(64)) == NULL)
		fatalx("%s: json_tokener_new_ex", __func__);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, b->data, (int)b->len);
	json_tokener_free(tok);
	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    ident_valid(json_object_get_string(v)) &&
	    strlen(json_object_get_string(v)) < idlen) {
		strlcpy(id, json_object_get_string(v), idlen);
		rc = 0;
	} else if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_length(o) == 1 &&
	    json_object_object_get_ex(o, "evidence", &v))
		rc = client_batch_id(v, id, idlen);
	json_object_put(o);
	return (rc);
}

/*
 * Send every spooled evidence.  Returns 0 when the spool ends empty, 1
 * when some are left, 2 for a usage error.
 */
static int
cmd_flush_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL,	'h' },
		{ NULL,		0,		NULL,	0 }
	};
	struct spool_item	*items = NULL;
	struct client_reply	 r;
	enum client_status	 st;
	struct sigaction	 sa;
	struct buf		 b;
	size_t			 i, n = 0, sent = 0, dups = 0, rejected = 0;
	char			 id[MP_IDMAX + 1], why[MP_ERRLEN + 160];
	int			 ch, count;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "unknown option: %s",
			    argv[optind - 1]));
		}
	}
	if (optind < argc)
		return (cmd_usage_error(ce, "unexpected argument: %s",
		    argv[optind]));

	if ((count = spool_count()) == 0) {
		log_info("flush: nothing spooled in %s", spool_path());
		return (CMD_EXIT_OK);
	}
	if (client_key() != CLIENT_KEY_OK) {
		log_warnx("flush: MILEPOST_SECRET is %s: %d evidence left in "
		    "%s", client_key() == CLIENT_KEY_UNSET ? "not set" :
		    "not a valid whsec_ secret", count, spool_path());
		return (CMD_EXIT_FAIL);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (spool_lock() == -1 || spool_list(&items, &n) == -1)
		return (CMD_EXIT_FAIL);

	buf_init(&b);
	for (i = 0; i < n; i++) {
		if (spool_read(items[i].name, &b) == -1)
			continue;
		if (cmd_flush_id(&b, id, sizeof(id)) == -1) {
			log_warnx("flush: %s: not an evidence with a valid id; "
			    "moved to rejected/", items[i].name);
			if (spool_reject(items[i].name, "not an evidence with "
			    "a valid id") == 0)
				rejected++;
			continue;
		}
		st = client_send(id, b.data, b.len, &r);
		if (st == CLIENT_DELIVERED) {
			log_debug("flush: %s: %s", items[i].name,
			    r.duplicate ? "duplicate" : "accepted");
			if (spool_remove(items[i].name) == 0)
				sent++;
			if (r.duplicate)
				dups++;
			continue;
		}
		if (st == CLIENT_REFUSED) {
			client_reply_print(items[i].name, &r);
			client_reason(&r, why, sizeof(why));
			if (spool_reject(items[i].name, why) == 0) {
				log_warnx("flush: %s moved to rejected/: it "
				    "would never be accepted", items[i].name);
				rejected++;
			}
			continue;
		}
		log_warnx("flush: %s: %s%s", client_url(),
		    client_reason(&r, why, sizeof(why)), st == CLIENT_SETUP ?
		    ": check MILEPOST_SECRET and MILEPOST_URL" : "");
		break;
	}
	buf_free(&b);
	spool_list_free(items, n);

	count = spool_count();
	log_info("flush: %zu sent (%zu duplicate), %zu rejected, %d left in "
	    "%s", sent, dups, rejected, count, spool_path());
	spool_unlock();
	return (count == 0 ? CMD_EXIT_OK : CMD_EXIT_FAIL);
}
