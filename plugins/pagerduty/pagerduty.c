/*
 * pagerduty.c: PagerDuty v3 webhooks (webhook subscriptions).
 *
 * Authenticity: X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw
 * body>[,v1=<hex>...], one signature per active secret of the
 * subscription, so that a secret can be rotated without downtime.  The
 * delivery is authentic when any v1 entry matches any configured secret.
 * Delivery id: X-Webhook-Id (kept across retries), else event.id.
 * Events (event.event_type in the body):
 *   incident.triggered     IncidentOpened
 *   incident.reopened      IncidentOpened: a reopening (a resolved
 *                          incident is open again), so that the next
 *                          incident.resolved closes an open incident
 *   incident.acknowledged  IncidentAcknowledged
 *   incident.resolved      IncidentResolved
 *   pagey.ping, service.*, and every other incident.* event (annotated,
 *   escalated, priority_updated, reassigned, unacknowledged, ...):
 *   acknowledged and ignored.
 * The evidence id is event.id: one outbound event of PagerDuty is one
 * fact, whatever delivery or subscription carried it, so a retry or a
 * second overlapping subscription is a duplicate, never a second incident.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/source.h"

#define PAGERDUTY_SIGMAX	8	/* v1 entries looked at, at most */

static int
pagerduty_verify(const struct source_conf *sc, const struct source_req *r,
    char *why, size_t len)
{
	const char	*h = r->header(r, "X-PagerDuty-Signature"), *p, *e;
	char		 hex[2 * HMAC_SHA256_LEN + 1];
	size_t		 n, seen = 0;
	int		 ok = 0;

	if (h == NULL || *h == '\0') {
		snprintf(why, len, "missing X-PagerDuty-Signature");
		return (-1);
	}
	/*
	 * Every entry is checked against every secret, with no early exit,
	 * so the time taken does not tell which one matched.  Entries of
	 * other versions, or not 64 hex digits, cannot match and are passed.
	 */
	for (p = h; *p != '\0'; p = *e ? e + 1 : e) {
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		while (p < e && *p == ' ')
			p++;
		n = (size_t)(e - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n != 3 + sizeof(hex) - 1 || strncmp(p, "v1=", 3) != 0)
			continue;
		if (++seen > PAGERDUTY_SIGMAX) {
			snprintf(why, len, "X-PagerDuty-Signature has more than "
			    "%d signatures", PAGERDUTY_SIGMAX);
			return (-1);
		}
		memcpy(hex, p + 3, sizeof(hex) - 1);
		hex[sizeof(hex) - 1] = '\0';
		ok |= source_check_hmac(sc->secrets, sc->nsecrets, hex, r->body,
		    r->len);
	}
	if (seen == 0) {
		snprintf(why, len, "X-PagerDuty-Signature has no "
		    "v1=<64 hex digits> signature");
		return (-1);
	}
	if (!ok) {
		snprintf(why, len, "X-PagerDuty-Signature does not match");
		return (-1);
	}
	return (0);
}

static int
pagerduty_delivery_id(const struct source_req *r, json_object *p, char *out,
    size_t len)
{
	const char	*d = r->header(r, "X-Webhook-Id");

	if (d == NULL || *d == '\0')
		d = source_str(p, "event.id");
	if (d == NULL || *d == '\0' || strlen(d) >= len)
		return (-1);
	snprintf(out, len, "%s", d);
	return (0);
}

static int
pagerduty_normalize(const struct source_req *r, json_object *p,
    const char *delivery, json_object *out, char *ignored, size_t ilen)
{
	json_object	*ev;
	const char	*type, *kind, *id, *eid, *service;

	if (!json_object_is_type(p, json_type_object) ||
	    (type = source_str(p, "event.event_type")) == NULL) {
		snprintf(ignored, ilen, "the payload is not a v3 webhook "
		    "(no event.event_type)");
		return (-1);
	}
	if (strcmp(type, "incident.triggered") == 0 ||
	    strcmp(type, "incident.reopened") == 0)
		kind = "IncidentOpened";
	else if (strcmp(type, "incident.acknowledged") == 0)
		kind = "IncidentAcknowledged";
	else if (strcmp(type, "incident.resolved") == 0)
		kind = "IncidentResolved";
	else {
		snprintf(ignored, ilen, "event %.64s is not used", type);
		return (1);
	}
	if ((id = source_str(p, "event.data.id")) == NULL) {
		snprintf(ignored, ilen, "%s: no event.data.id", type);
		return (-1);
	}
	if ((eid = source_str(p, "event.id")) == NULL ||
	    !ident_valid(eid))
		eid = delivery;
	service = source_str(p, "event.data.service.summary");
	ev = source_evidence(out, eid, kind, id, source_str(p,
	    "event.occurred_at"));
	source_prop(ev, "incidentId", id);
	source_prop(ev, "title", source_str(p, "event.data.title"));
	source_prop(ev, "status", source_str(p, "event.data.status"));
	source_prop(ev, "urgency", source_str(p, "event.data.urgency"));
	source_prop(ev, "priority", source_str(p,
	    "event.data.priority.summary"));
	source_prop(ev, "service", service);
	source_prop(ev, "url", source_str(p, "event.data.html_url"));
	source_prop(ev, "tool", "pagerduty");
	source_link(ev, "incident", id);
	source_link(ev, "service", service);
	source_link(ev, "service_id", source_str(p, "event.data.service.id"));
	return (0);
}

const struct mp_source source_pagerduty = {
	.name = "pagerduty",
	.auth = SRC_AUTH_SECRET,
	.verify = pagerduty_verify,
	.delivery_id = pagerduty_delivery_id,
	.normalize = pagerduty_normalize,
};
