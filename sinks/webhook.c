/*
 * webhook.c: the generic signed webhook.  One POST per push, signed per
 * Standard Webhooks v1 (HMAC-SHA256, one signature per configured secret,
 * for rotation) and, with an ed25519 key, v1a.  The body is
 *   {"type": "claim.snapshot" | "claim.patch", "timestamp": RFC 3339,
 *    "data": {"claim_type", "id", "revision", "base_revision",
 *             "state" (snapshot) | "patch" (RFC 7396 merge patch)}}
 * and webhook-id is stable for a push, so a receiver deduplicates resends.
 */
#include <stdio.h>
#include <string.h>

#include "sinks/sink.h"

static int
webhook_build(const struct sink_msg *m, struct sink_http *h, char *err,
    size_t errlen)
{
	const struct sinkconf	*sc = m->sc;
	json_object		*o, *d;
	char			 ts[MP_TIMELEN], sig[STDWH_SIGLEN];
	char			 ed[128];
	struct buf		 sigs;
	int64_t			 secs = m->now / 1000000;
	size_t			 i;

	tf_format(m->now, ts);
	d = json_object_new_object();
	json_object_object_add(d, "claim_type",
	    json_object_new_string(m->ctype));
	json_object_object_add(d, "id", json_object_new_string(m->id));
	json_object_object_add(d, "revision",
	    json_object_new_int64(m->revision));
	json_object_object_add(d, "base_revision", m->acked == NULL ? NULL :
	    json_object_new_int64(m->base));
	json_object_object_add(d, m->acked == NULL ? "state" : "patch",
	    json_object_get(m->acked == NULL ? m->want : m->patch));
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(
	    m->acked == NULL ? "claim.snapshot" : "claim.patch"));
	json_object_object_add(o, "timestamp", json_object_new_string(ts));
	json_object_object_add(o, "data", d);
	sink_body_json(h, o);
	json_object_put(o);

	buf_init(&sigs);
	for (i = 0; i < sc->nkeys; i++) {
		stdwh_sign(&sc->keys[i], m->msgid, secs, h->body.data,
		    h->body.len, sig);
		buf_printf(&sigs, "%s%s", i ? " " : "", sig);
	}
	if (sc->has_ed25519) {
		if (sink_ed25519_sign(sc->ed25519, m->msgid, secs, h->body.data,
		    h->body.len, ed, sizeof(ed)) == -1) {
			snprintf(err, errlen, "ed25519 signing failed");
			buf_free(&sigs);
			return (-1);
		}
		buf_printf(&sigs, "%s%s", sigs.len ? " " : "", ed);
	}
	h->method = "POST";
	if ((h->url = sink_expand(sc->url, m)) == NULL) {
		snprintf(err, errlen, "a value for the URL of %s/%s would "
		    "not stay in its path segment", m->ctype, m->id);
		buf_free(&sigs);
		return (-1);
	}
	sink_http_header(h, "Content-Type: application/json");
	sink_http_header(h, "webhook-id: %s", m->msgid);
	sink_http_header(h, "webhook-timestamp: %lld", (long long)secs);
	sink_http_header(h, "webhook-signature: %s", buf_cstr(&sigs));
	if (sc->token != NULL)
		sink_http_header(h, "Authorization: Bearer %s", sc->token);
	buf_free(&sigs);
	return (0);
}

const struct sink sink_webhook = {
	.name = "webhook",
	.need = SINK_NEED_SECRET | SINK_NEED_URL,
	.accepts = "secret, signing_key, token",
	.wants = NULL,
	.build = webhook_build,
	.refetch = NULL,
};
