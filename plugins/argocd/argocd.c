/*
 * argocd.c: Argo CD notifications (the webhook service).
 *
 * Argo CD posts whatever a template renders, so the body is the one that
 * plugins/argocd/argocd-notifications-cm.yaml renders: {trigger, id, app,
 * appNamespace, project, revision, repoURL, destination{server, name,
 * namespace}, environment, milestone, release, region, phase, message,
 * health, syncStatus, startedAt, finishedAt, healthChangedAt, url}.
 * environment, milestone, release and region are the Application's
 * annotations milepost.io/<name> ("" when absent): release and region
 * become the properties of the same name (and a release link), which the
 * deployment state machine reads, so one app per region gives one
 * deployment per region, and apps with one release one Release claim.
 *
 * Authenticity: Argo CD does not sign; its service.webhook headers send
 * Authorization: Bearer (or basicAuth: Basic), checked against the
 * configured ones.  A relay in front of it may sign the Standard Webhooks
 * way instead (signing_secret).
 * Delivery id: the template's "id" (app@revision.trigger.time), the same
 * on Argo CD's retries.
 * Events (the template's "trigger"):
 *   on-sync-running     DeploymentStarted
 *   on-sync-succeeded   DeploymentSucceeded: the sync operation finished;
 *                       it says nothing of health, which is often still
 *                       Progressing then
 *   on-sync-failed      DeploymentFailed, reason: the operation's message
 *   on-deployed         DeploymentHealth (Healthy), and DeploymentSucceeded
 *                       for a subscriber that takes no on-sync-succeeded
 *   on-health-degraded  DeploymentHealth (Degraded)
 *   any other trigger:  acknowledged and ignored.
 *
 * The deployment is "<app>@<revision>" (the subject).  Evidence ids name
 * the fact, not the delivery: "<app>@<revision>.started.<startedAt>",
 * ".succeeded.<finishedAt>", ".failed.<finishedAt>", so that on-deployed's
 * DeploymentSucceeded and on-sync-succeeded's are one fact, stored once,
 * whichever of the two arrives first.  Health evidence uses the delivery
 * id, which carries the time of the health change.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/source.h"

static int
argocd_verify(const struct source_conf *sc, const struct source_req *r,
    char *why, size_t len)
{
	int	ok = 0;

	if (r->header(r, "Authorization") == NULL &&
	    r->header(r, "webhook-signature") == NULL) {
		snprintf(why, len, "missing Authorization (set a header or "
		    "basicAuth in service.webhook.milepost)");
		return (-1);
	}
	if (sc->nbearers > 0)
		ok |= source_check_bearer(sc, r);
	if (sc->nbasic > 0)
		ok |= source_check_basic(sc, r);
	if (sc->nsigning > 0)
		ok |= source_check_signing(sc, r) == STDWH_OK;
	if (!ok) {
		snprintf(why, len, "Authorization or webhook-signature does not "
		    "match");
		return (-1);
	}
	return (0);
}

static int
argocd_delivery_id(const struct source_req *r, json_object *p, char *out,
    size_t len)
{
	struct buf	 b;
	const char	*id = source_str(p, "id"), *v;
	char		 hex[MP_HASHLEN];
	static const char *keys[] = { "app", "revision", "trigger", "phase",
	    "health", "startedAt", "finishedAt", "healthChangedAt" };
	size_t		 i;

	if (id != NULL && *id != '\0' && strlen(id) < len &&
	    ident_valid(id)) {
		snprintf(out, len, "%s", id);
		return (0);
	}
	/* A template of one's own without a usable id: derive a stable one. */
	if (source_str(p, "app") == NULL)
		return (-1);
	buf_init(&b);
	if (id != NULL)
		buf_printf(&b, "%s\n", id);
	else
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			buf_printf(&b, "%s\n", (v = source_str(p, keys[i])) ?
			    v : "");
	sha256_hex(b.data, b.len, hex);
	buf_free(&b);
	snprintf(out, len, "argocd-%s", hex);
	return (0);
}

/* Is s a full Git object name (SHA-1 or SHA-256), as opposed to a tag? */
static int
argocd_is_sha(const char *s)
{
	size_t	n;

	if (s == NULL)
		return (0);
	for (n = 0; isxdigit((unsigned char)s[n]); n++)
		;
	return (s[n] == '\0' && (n == 40 || n == 64));
}

static void
argocd_common(json_object *ev, json_object *p, const char *dep,
    const char *env)
{
	const char	*app = source_str(p, "app"), *rev = source_str(p,
	    "revision");

	source_prop(ev, "deploymentId", dep);
	source_prop(ev, "service", app);
	source_prop(ev, "environment", env);
	source_prop(ev, "revision", rev);
	source_prop(ev, "url", source_str(p, "url"));
	source_prop(ev, "tool", "argocd");
	source_link(ev, "deployment", dep);
	source_link(ev, "service", app);
	source_link(ev, "environment", env);
	/* A Helm chart's version is a revision too, but not a commit. */
	if (argocd_is_sha(rev))
		source_link(ev, "commit", rev);
	source_link(ev, "repo", source_str(p, "repoURL"));
	/* The annotation milepost.io/milestone: a milestone mapping rule. */
	source_link(ev, "milestone", source_str(p, "milestone"));
	/* The annotations milepost.io/release and milepost.io/region. */
	source_prop(ev, "release", source_str(p, "release"));
	source_prop(ev, "region", source_str(p, "region"));
	source_link(ev, "release", source_str(p, "release"));
}

/* Seconds from startedAt to finishedAt, when both parse. */
static void
argocd_duration(json_object *ev, json_object *p)
{
	json_object	*props;
	const char	*s = source_str(p, "startedAt");
	const char	*f = source_str(p, "finishedAt");
	int64_t		 t0, t1;

	if (s != NULL && f != NULL && tf_parse(s, &t0) == 0 &&
	    tf_parse(f, &t1) == 0 && t1 >= t0 &&
	    json_object_object_get_ex(ev, "properties", &props))
		json_object_object_add(props, "duration",
		    json_object_new_int64((t1 - t0) / 1000000));
}

/*
 * The id of a fact of deployment dep at time when, or the delivery id
 * when there is no time or the id would not be valid.
 */
static const char *
argocd_fact_id(char *buf, size_t len, const char *dep, const char *fact,
    const char *when, const char *delivery)
{
	if (when == NULL || *when == '\0' || snprintf(buf, len, "%s.%s.%s",
	    dep, fact, when) >= (int)len || !ident_valid(buf))
		return (delivery);
	return (buf);
}

static int
argocd_normalize(const struct source_req *r, json_object *p,
    const char *delivery, json_object *out, char *ignored, size_t ilen)
{
	json_object	*ev;
	const char	*trigger, *app, *rev, *env, *when, *health, *v;
	char		 dep[MP_IDMAX], id[MP_IDMAX];
	int64_t		 t, t0;
	int		 deployed;

	if (!json_object_is_type(p, json_type_object)) {
		snprintf(ignored, ilen, "the payload is not a JSON object");
		return (-1);
	}
	if ((trigger = source_str(p, "trigger")) == NULL ||
	    (app = source_str(p, "app")) == NULL || *app == '\0') {
		snprintf(ignored, ilen, "no trigger or app: render the body with "
		    "the templates of plugins/argocd/argocd-notifications-cm."
		    "yaml");
		return (-1);
	}
	if (strcmp(trigger, "on-sync-running") != 0 &&
	    strcmp(trigger, "on-sync-succeeded") != 0 &&
	    strcmp(trigger, "on-sync-failed") != 0 &&
	    strcmp(trigger, "on-deployed") != 0 &&
	    strcmp(trigger, "on-health-degraded") != 0) {
		snprintf(ignored, ilen, "trigger %.64s is not used", trigger);
		return (1);
	}
	/* Without a revision, the operation's start still ties it together. */
	if ((rev = source_str(p, "revision")) != NULL && *rev != '\0')
		snprintf(dep, sizeof(dep), "%.120s@%.120s", app, rev);
	else if ((v = source_str(p, "startedAt")) != NULL && *v != '\0')
		snprintf(dep, sizeof(dep), "%.120s@%.64s", app, v);
	else
		snprintf(dep, sizeof(dep), "%.120s", app);
	if ((env = source_str(p, "environment")) == NULL || *env == '\0')
		env = source_str(p, "destination.namespace");

	if (strcmp(trigger, "on-sync-running") == 0) {
		when = source_str(p, "startedAt");
		ev = source_evidence(out, argocd_fact_id(id, sizeof(id), dep,
		    "started", when, delivery), "DeploymentStarted", dep, when);
		argocd_common(ev, p, dep, env);
		return (0);
	}
	when = source_str(p, "finishedAt");
	if (strcmp(trigger, "on-sync-succeeded") == 0 ||
	    strcmp(trigger, "on-sync-failed") == 0) {
		if (strcmp(trigger, "on-sync-succeeded") == 0)
			ev = source_evidence(out, argocd_fact_id(id, sizeof(id),
			    dep, "succeeded", when, delivery),
			    "DeploymentSucceeded", dep, when);
		else {
			ev = source_evidence(out, argocd_fact_id(id, sizeof(id),
			    dep, "failed", when, delivery), "DeploymentFailed",
			    dep, when);
			source_prop(ev, "reason", source_str(p, "message"));
		}
		argocd_common(ev, p, dep, env);
		argocd_duration(ev, p);
		return (0);
	}

	/*
	 * Health.  on-deployed says Healthy after the sync finished: its time
	 * is the health change, or the end of the sync when health did not
	 * change since (a sync of ConfigMaps only stays Healthy throughout).
	 */
	deployed = strcmp(trigger, "on-deployed") == 0;
	if (deployed)
		health = "Healthy";
	else if ((health = source_str(p, "health")) == NULL || *health == '\0')
		health = "Degraded";
	if ((v = source_str(p, "healthChangedAt")) == NULL ||
	    tf_parse(v, &t) == -1)
		v = deployed ? when : NULL;
	else if (deployed && when != NULL && tf_parse(when, &t0) == 0 &&
	    t < t0)
		v = when;
	ev = source_evidence(out, delivery, "DeploymentHealth", dep, v);
	source_prop(ev, "health", health);
	argocd_common(ev, p, dep, env);
	if (!deployed)
		return (0);
	/* The same fact as on-sync-succeeded's, if both are subscribed. */
	if ((v = argocd_fact_id(id, sizeof(id), dep, "succeeded", when,
	    delivery)) != delivery) {
		ev = source_evidence(out, v, "DeploymentSucceeded", dep, when);
		argocd_common(ev, p, dep, env);
		argocd_duration(ev, p);
	}
	return (0);
}

const struct mp_source source_argocd = {
	.name = "argocd",
	.auth = SRC_AUTH_BEARER | SRC_AUTH_BASIC | SRC_AUTH_SIGNING,
	.verify = argocd_verify,
	.delivery_id = argocd_delivery_id,
	.normalize = argocd_normalize,
};
