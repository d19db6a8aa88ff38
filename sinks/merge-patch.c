/*
 * merge-patch.c: the generic differential sink.  PATCH the object's URL
 * with an RFC 7396 merge patch (application/merge-patch+json), with
 * If-Match: the ETag the sink gave for the state we patch against.  On
 * 412 push.c GETs the current state (refetch), recomputes the patch from
 * it and sends again.  A first push (no acknowledged state) carries the
 * whole state and no If-Match.
 */
#include <stdio.h>
#include <string.h>

#include "sinks/sink.h"

static int
mergepatch_sink_build(const struct sink_msg *m, struct sink_http *h,
    char *err, size_t errlen)
{
	sink_body_json(h, m->acked == NULL ? m->want : m->patch);
	h->method = "PATCH";
	if ((h->url = sink_expand(m->sc->url, m)) == NULL) {
		snprintf(err, errlen, "a value for the URL of %s/%s would "
		    "not stay in its path segment", m->ctype, m->id);
		return (-1);
	}
	sink_http_header(h, "Content-Type: application/merge-patch+json");
	sink_http_header(h, "Idempotency-Key: %s", m->msgid);
	if (m->etag != NULL && m->acked != NULL)
		sink_http_header(h, "If-Match: %s", m->etag);
	if (m->sc->token != NULL)
		sink_http_header(h, "Authorization: Bearer %s", m->sc->token);
	return (0);
}

static int
mergepatch_sink_refetch(const struct sink_msg *m, struct sink_http *h)
{
	h->method = "GET";
	if ((h->url = sink_expand(m->sc->url, m)) == NULL)
		return (-1);
	sink_http_header(h, "Accept: application/json");
	if (m->sc->token != NULL)
		sink_http_header(h, "Authorization: Bearer %s", m->sc->token);
	return (0);
}

const struct sink sink_mergepatch = {
	.name = "mergepatch",
	.need = SINK_NEED_URL,
	.accepts = "token",
	.wants = NULL,
	.build = mergepatch_sink_build,
	.refetch = mergepatch_sink_refetch,
};
