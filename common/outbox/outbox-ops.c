/*
 * outbox-ops.c: the writes an operator makes to the outbox (retry and
 * replay), each with its audit entry.  outbox_op_apply runs inside a
 * write transaction that the caller opened (ledger_begin) and commits:
 * the outbox rows change, then one evidence of milepostd's own type
 * (OutboxRetried or OutboxReplayed: who, how, what, how many) is
 * appended to the chain.  So the change and its audit commit together or
 * not at all.  milepostd runs it as a writer job (receiver/api-outbox.c),
 * "milepost outbox" on the ledger directly (agent/cmd-outbox.c).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "outbox/outbox.h"

/*
 * Do op in l's open transaction and append its audit evidence, checked
 * against types, at transaction time now.  Fills res (the rows queued,
 * the evidence's id and sequence number).  Returns 0, or -1 with why in
 * res->err; the caller then rolls back.
 */
int
outbox_op_apply(struct ledger *l, const struct types *types,
    const struct outbox_op *op, int64_t now, struct outbox_op_result *res)
{
	struct evidence	*ev = NULL;
	json_object	*o, *p;
	unsigned char	 rnd[12];
	char		 hex[2 * sizeof(rnd) + 1], since[MP_TIMELEN];
	char		 obj[2 * MP_IDMAX + 2], prop[64];
	int		 rc = -1;

	memset(res, 0, sizeof(*res));
	res->queued = op->replay ? ledger_outbox_replay(l, op->sink,
	    op->since) : ledger_outbox_retry(l, op->sink, op->type, op->id);
	if (res->queued == -1) {
		snprintf(res->err, sizeof(res->err), "outbox: %s",
		    ledger_error(l));
		return (-1);
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("%s: RAND_bytes", __func__);
	hmac_hex(rnd, sizeof(rnd), hex);
	snprintf(res->evid, sizeof(res->evid), "outbox.%s", hex);
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(op->replay ?
	    "OutboxReplayed" : "OutboxRetried"));
	json_object_object_add(o, "subject", json_object_new_string(
	    op->sink != NULL ? op->sink : "*"));
	p = json_object_new_object();
	json_object_object_add(p, "actor", json_object_new_string(op->actor));
	if (op->role != NULL)
		json_object_object_add(p, "role",
		    json_object_new_string(op->role));
	json_object_object_add(p, "via", json_object_new_string(op->via));
	if (op->sink != NULL)
		json_object_object_add(p, "sink",
		    json_object_new_string(op->sink));
	if (!op->replay && op->type != NULL) {
		snprintf(obj, sizeof(obj), "%s/%s", op->type, op->id);
		json_object_object_add(p, "object",
		    json_object_new_string(obj));
	}
	if (op->replay) {
		tf_format(op->since, since);
		json_object_object_add(p, "since",
		    json_object_new_string(since));
	}
	json_object_object_add(p, "queued",
	    json_object_new_int64(res->queued));
	json_object_object_add(o, "properties", p);
	if (evidence_from_json(o, types, op->source, res->evid, now, &ev,
	    res->err, sizeof(res->err), prop, sizeof(prop)) != EV_OK)
		goto out;
	ev->recorded_at = now;
	if (ledger_append(l, ev) != 0) {
		snprintf(res->err, sizeof(res->err), "audit evidence: %s",
		    ledger_error(l));
		goto out;
	}
	res->seq = ev->seq;
	rc = 0;
out:
	json_object_put(o);
	evidence_free(ev);
	return (rc);
}
