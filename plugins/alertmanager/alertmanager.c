/*
 * alertmanager.c: Prometheus Alertmanager webhook_config notifications,
 * payload version "4".
 *
 * Authenticity: Alertmanager does not sign.  Its http_config sends
 * Authorization: Bearer (authorization: { credentials }) or Basic
 * (basic_auth:), checked against the configured bearer or basic entries.
 * Delivery id: none is sent, so one is derived: "am-" and the hex SHA-256
 * of groupKey, status, and every alert's fingerprint and startsAt (and
 * endsAt when resolved).  The same notification repeated gets the same one.
 * Events: one evidence per alert of the group, by the alert's own status:
 *   firing    AlertFiring    (time: startsAt)
 *   resolved  AlertResolved  (time: endsAt)
 * A payload of another version is a configuration mistake of the sender
 * (400), so that it shows in Alertmanager's logs instead of being lost.
 *
 * Idempotency.  Alertmanager sends the whole group every time: after
 * group_wait, on group_interval when the group changed, and again every
 * repeat_interval while any alert still fires.  So the same firing alert
 * arrives many times, and only its first arrival is a new fact.  An alert
 * instance is its fingerprint (a hash of its labels) and its startsAt (when
 * it began to fire; unchanged for as long as it keeps firing), so the
 * evidence id is "<fingerprint>.<startsAt>.<firing|resolved>":
 *   - a repeat notification, another receiver or route that sends the same
 *     alert, or an HA peer that sends it too: the same ids, duplicates;
 *   - a new alert joining a group that still holds old ones: only the new
 *     one is stored;
 *   - the same alert firing again after it resolved: a new startsAt, so a
 *     new AlertFiring and later a new AlertResolved;
 *   - the resolution: one AlertResolved per instance, whatever its endsAt.
 * startsAt is normalized to RFC 3339 UTC with microseconds first, so that
 * a different rendering of the same instant is the same id.  The subject,
 * "<fingerprint>@<startsAt>", is the alert instance, shared by its
 * AlertFiring and AlertResolved; the "alert" link is the fingerprint, which
 * the instances of one alert share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/source.h"

static int
alertmanager_verify(const struct source_conf *sc, const struct source_req *r,
    char *why, size_t len)
{
	if (r->header(r, "Authorization") == NULL) {
		snprintf(why, len, "missing Authorization (set "
		    "http_config.authorization or basic_auth in the "
		    "webhook_config)");
		return (-1);
	}
	if (!source_check_bearer(sc, r) && !source_check_basic(sc, r)) {
		snprintf(why, len, "Authorization does not match");
		return (-1);
	}
	return (0);
}

static int
alertmanager_keycmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/*
 * The fingerprint Alertmanager (v0.19 and later) sends, computed from the
 * labels for older senders: FNV-1a 64 over the label names in byte order,
 * each name and value followed by a 0xff byte, as prometheus/common's
 * LabelSet.Fingerprint.  Returns 0, or -1 when there are no labels.
 */
static int
alertmanager_fingerprint(json_object *labels, char out[17])
{
	const char	**keys, *v;
	uint64_t	  h = 14695981039346656037ULL;
	size_t		  i, n = 0, k;
	int		  s;

	if (labels == NULL || !json_object_is_type(labels, json_type_object) ||
	    json_object_object_length(labels) == 0)
		return (-1);
	keys = xcalloc((size_t)json_object_object_length(labels),
	    sizeof(*keys));
	json_object_object_foreach(labels, key, val) {
		(void)val;
		keys[n++] = key;
	}
	qsort(keys, n, sizeof(*keys), alertmanager_keycmp);
	for (i = 0; i < n; i++) {
		for (s = 0; s < 2; s++) {
			v = s == 0 ? keys[i] : source_str(labels, keys[i]);
			for (k = 0; v != NULL && v[k] != '\0'; k++) {
				h ^= (unsigned char)v[k];
				h *= 1099511628211ULL;
			}
			h ^= 0xff;
			h *= 1099511628211ULL;
		}
	}
	free(keys);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	return (0);
}

/*
 * The alert's fingerprint: the one sent (16 hex digits, as Alertmanager
 * prints it), or one computed into fp; NULL without labels.
 */
static const char *
alertmanager_alert_fp(json_object *a, char fp[17])
{
	json_object	*labels = NULL;
	const char	*v;

	if ((v = source_str(a, "fingerprint")) != NULL && strlen(v) == 16 &&
	    strspn(v, "0123456789abcdef") == 16)
		return (v);
	json_object_object_get_ex(a, "labels", &labels);
	if (alertmanager_fingerprint(labels, fp) == -1)
		return (NULL);
	return (fp);
}

/* The alert's status, falling back to the group's. */
static const char *
alertmanager_status(json_object *p, json_object *a)
{
	const char	*st = source_str(a, "status");

	return (st != NULL ? st : source_str(p, "status"));
}

static json_object *
alertmanager_alerts(json_object *p, size_t *n)
{
	json_object	*alerts;

	*n = 0;
	if (!json_object_is_type(p, json_type_object) ||
	    !json_object_object_get_ex(p, "alerts", &alerts) ||
	    !json_object_is_type(alerts, json_type_array))
		return (NULL);
	*n = json_object_array_length(alerts);
	return (alerts);
}

static int
alertmanager_delivery_id(const struct source_req *r, json_object *p,
    char *out, size_t len)
{
	json_object	*alerts, *a;
	struct buf	 b;
	const char	*gk, *st, *v;
	char		 fp[17], hex[MP_HASHLEN];
	size_t		 i, n;

	if ((gk = source_str(p, "groupKey")) == NULL ||
	    (alerts = alertmanager_alerts(p, &n)) == NULL)
		return (-1);
	buf_init(&b);
	buf_printf(&b, "%s\n%s\n", gk, (v = source_str(p, "status")) ? v : "");
	for (i = 0; i < n; i++) {
		a = json_object_array_get_idx(alerts, i);
		v = alertmanager_alert_fp(a, fp);
		st = alertmanager_status(p, a);
		buf_printf(&b, "%s\n", v ? v : "");
		buf_printf(&b, "%s\n", (v = source_str(a, "startsAt")) ? v : "");
		if (st != NULL && strcmp(st, "resolved") == 0)
			buf_printf(&b, "%s\n", (v = source_str(a, "endsAt")) ?
			    v : "");
	}
	sha256_hex(b.data, b.len, hex);
	buf_free(&b);
	if (snprintf(out, len, "am-%s", hex) >= (int)len)
		return (-1);
	return (0);
}

/* A label, or the first of two. */
static const char *
alertmanager_label(json_object *a, const char *k1, const char *k2)
{
	char		 path[64];
	const char	*v;

	snprintf(path, sizeof(path), "labels.%s", k1);
	if ((v = source_str(a, path)) != NULL && *v != '\0')
		return (v);
	snprintf(path, sizeof(path), "labels.%s", k2);
	return (source_str(a, path));
}

/* Append the evidence of one alert; 0, or -1 when it cannot be named. */
static int
alertmanager_alert(json_object *p, json_object *a, json_object *out)
{
	json_object	*ev;
	const char	*st, *name, *fpv, *starts, *ends = NULL, *v, *service;
	char		 fp[17], start[MP_TIMELEN], id[MP_IDMAX], subj[MP_IDMAX];
	int64_t		 t;
	int		 firing;

	if ((st = alertmanager_status(p, a)) == NULL)
		return (-1);
	if (strcmp(st, "firing") == 0)
		firing = 1;
	else if (strcmp(st, "resolved") == 0)
		firing = 0;
	else
		return (-1);
	if ((name = source_str(a, "labels.alertname")) == NULL ||
	    *name == '\0' || (fpv = alertmanager_alert_fp(a, fp)) == NULL ||
	    (starts = source_str(a, "startsAt")) == NULL ||
	    tf_parse(starts, &t) == -1 || t <= 0)
		return (-1);
	tf_format(t, start);
	/* Go's zero time stands for "no end"; only a resolution has one. */
	if (!firing && (v = source_str(a, "endsAt")) != NULL &&
	    tf_parse(v, &t) == 0 && t > 0)
		ends = v;
	snprintf(id, sizeof(id), "%s.%s.%s", fpv, start, st);
	snprintf(subj, sizeof(subj), "%s@%s", fpv, start);
	ev = source_evidence(out, id, firing ? "AlertFiring" : "AlertResolved",
	    subj, firing ? starts : ends);
	service = alertmanager_label(a, "service", "job");
	source_prop(ev, "alertname", name);
	source_prop(ev, "fingerprint", fpv);
	source_prop(ev, "severity", source_str(a, "labels.severity"));
	source_prop(ev, "service", service);
	source_prop(ev, "environment", alertmanager_label(a, "env",
	    "environment"));
	if ((v = source_str(a, "annotations.summary")) == NULL || *v == '\0')
		v = source_str(a, "annotations.description");
	source_prop(ev, "summary", v);
	source_prop(ev, "startsAt", starts);
	source_prop(ev, "endsAt", ends);
	source_prop(ev, "url", source_str(a, "generatorURL"));
	source_link(ev, "alert", fpv);
	source_link(ev, "service", service);
	source_link(ev, "environment", alertmanager_label(a, "env",
	    "environment"));
	return (0);
}

static int
alertmanager_normalize(const struct source_req *r, json_object *p,
    const char *delivery, json_object *out, char *ignored, size_t ilen)
{
	json_object	*alerts;
	const char	*v;
	size_t		 i, n, skipped = 0;

	if (!json_object_is_type(p, json_type_object)) {
		snprintf(ignored, ilen, "the payload is not a JSON object");
		return (-1);
	}
	if ((v = source_str(p, "version")) == NULL || strcmp(v, "4") != 0) {
		snprintf(ignored, ilen, "webhook payload version %.16s is not "
		    "supported (Alertmanager sends \"4\")", v ? v : "(none)");
		return (-1);
	}
	if ((alerts = alertmanager_alerts(p, &n)) == NULL) {
		snprintf(ignored, ilen, "no alerts array");
		return (-1);
	}
	if ((v = source_str(p, "truncatedAlerts")) != NULL && strcmp(v, "0"))
		log_warnx("%s: delivery %s: %s alerts were left out by the "
		    "webhook_config's max_alerts", __func__, delivery, v);
	for (i = 0; i < n; i++) {
		if (alertmanager_alert(p, json_object_array_get_idx(alerts, i),
		    out) == -1)
			skipped++;
	}
	if (skipped > 0)
		log_warnx("%s: delivery %s: %zu of %zu alerts have no "
		    "alertname, startsAt or labels, or an unknown status",
		    __func__, delivery, skipped, n);
	if (json_object_array_length(out) == 0) {
		snprintf(ignored, ilen, "no alert with an alertname, a startsAt "
		    "and a status of firing or resolved");
		return (1);
	}
	return (0);
}

const struct mp_source source_alertmanager = {
	.name = "alertmanager",
	.auth = SRC_AUTH_BEARER | SRC_AUTH_BASIC,
	.verify = alertmanager_verify,
	.delivery_id = alertmanager_delivery_id,
	.normalize = alertmanager_normalize,
};
