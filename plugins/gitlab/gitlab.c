/*
 * gitlab.c: GitLab project and group webhooks.
 *
 * Authenticity: X-Gitlab-Token equal (in constant time) to any configured
 * token, or, when signing_secret is configured, GitLab's signing token:
 * Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).
 * Either one that is configured and valid will do.  Delivery id:
 * Idempotency-Key (kept across GitLab's retries), else X-Gitlab-Event-UUID,
 * else webhook-id.  Events (X-Gitlab-Event):
 *   Push Hook        CommitPushed per commit listed (GitLab lists the
 *                    newest 20); a branch deletion is ignored
 *   Tag Push Hook    ReleasePublished (tag = ref without refs/tags/); a
 *                    tag deletion is ignored
 *   Pipeline Hook    PipelineStarted (created, pending, running),
 *                    PipelineCompleted (success, failed, canceled,
 *                    skipped); manual, scheduled and the rest are ignored
 *   Job Hook         the same, for one job (kind job); a job is also a
 *                    build: BuildStartedEvent, BuildCompleted, subject
 *                    the job id (CI_JOB_ID)
 *   Deployment Hook  DeploymentStarted (running), DeploymentSucceeded
 *                    (success), DeploymentFailed (failed, canceled); the
 *                    rest are ignored
 *   Release Hook, merge requests, issues and anything else: acknowledged
 *   and ignored (a release is recorded from its tag push, once).
 * GitLab writes most times as "2016-08-12 15:23:28 UTC" or
 * "2021-04-28 21:50:00 +0200"; they are rewritten as RFC 3339.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/source.h"

/* What a Pipeline Hook and a Job Hook share, read by the caller. */
struct gitlab_ci {
	const char	*kind;		/* "pipeline" or "job" */
	const char	*id;
	const char	*status;
	const char	*created, *started, *finished;	/* GitLab times */
	json_object	*duration;	/* seconds, borrowed; NULL if none */
	json_object	*queued;	/* seconds in the queue, borrowed */
	const char	*name, *ref, *sha, *url, *repo;
	int		 tag;		/* ref is a tag, not a branch */
};

static int
gitlab_verify(const struct source_conf *sc, const struct source_req *r,
    char *why, size_t len)
{
	const char		*tok = r->header(r, "X-Gitlab-Token");
	const char		*sig = r->header(r, "webhook-signature");
	enum stdwh_result	 res = STDWH_MISSING;

	if (tok != NULL && sc->ntokens > 0 && source_check_token(sc, tok))
		return (0);
	if (sig != NULL && sc->nsigning > 0 &&
	    (res = source_check_signing(sc, r)) == STDWH_OK)
		return (0);
	if (tok == NULL && (sig == NULL || sc->nsigning == 0))
		snprintf(why, len, "missing X-Gitlab-Token%s",
		    sc->nsigning > 0 ? " or webhook-signature" : "");
	else if (sig != NULL && sc->nsigning > 0)
		snprintf(why, len, "webhook-signature: %s%s",
		    stdwh_strerror(res), tok != NULL ? ", and X-Gitlab-Token "
		    "does not match" : "");
	else if (sc->ntokens == 0)
		snprintf(why, len, "X-Gitlab-Token is not configured here "
		    "(a webhook-signature is required)");
	else
		snprintf(why, len, "X-Gitlab-Token does not match");
	return (-1);
}

static int
gitlab_delivery_id(const struct source_req *r, json_object *p, char *out,
    size_t len)
{
	static const char	*hdr[] = { "Idempotency-Key",
				    "X-Gitlab-Event-UUID", "webhook-id" };
	const char		*d;
	size_t			 i;

	for (i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++) {
		if ((d = r->header(r, hdr[i])) == NULL || *d == '\0')
			continue;
		if (strlen(d) >= len)
			return (-1);
		snprintf(out, len, "%s", d);
		return (0);
	}
	return (-1);
}

/* Is sha all zeroes (the "after" of a deletion)? */
static int
gitlab_zero(const char *sha)
{
	if (sha == NULL || *sha == '\0')
		return (0);
	for (; *sha != '\0'; sha++)
		if (*sha != '0')
			return (0);
	return (1);
}

/*
 * A GitLab time ("2016-08-12 15:23:28 UTC", "2021-04-28 21:50:00 +0200"
 * or RFC 3339) as RFC 3339 UTC in out (MP_TIMELEN bytes).  Returns out, or
 * NULL when s is missing or unparseable (the time of receipt is used).
 */
static const char *
gitlab_time(const char *s, char *out)
{
	char	buf[64], sign, h1, h2, m1, m2;
	size_t	n;
	int64_t	us;

	if (s == NULL || (n = strlen(s)) >= sizeof(buf))
		return (NULL);
	memcpy(buf, s, n + 1);
	if (n > 4 && strcmp(buf + n - 4, " UTC") == 0)
		memcpy(buf + n - 4, "Z", 2);
	else if (n > 6 && buf[n - 6] == ' ' && (buf[n - 5] == '+' ||
	    buf[n - 5] == '-') && isdigit((unsigned char)buf[n - 4]) &&
	    isdigit((unsigned char)buf[n - 3]) &&
	    isdigit((unsigned char)buf[n - 2]) &&
	    isdigit((unsigned char)buf[n - 1])) {
		/* " +0200" -> "+02:00", in place: the same length. */
		sign = buf[n - 5];
		h1 = buf[n - 4];
		h2 = buf[n - 3];
		m1 = buf[n - 2];
		m2 = buf[n - 1];
		buf[n - 6] = sign;
		buf[n - 5] = h1;
		buf[n - 4] = h2;
		buf[n - 3] = ':';
		buf[n - 2] = m1;
		buf[n - 1] = m2;
	}
	if (tf_parse(buf, &us) == -1)
		return (NULL);
	tf_format(us, out);
	return (out);
}

/*
 * The project's path ("group/sub/name"): path_with_namespace, else the
 * path of its web address.  Returns p's string or buf, or NULL.
 */
static const char *
gitlab_repo(json_object *p, char *buf, size_t len)
{
	const char	*s, *u;
	size_t		 n;

	if ((s = source_str(p, "project.path_with_namespace")) != NULL)
		return (s);
	if ((u = source_str(p, "project.web_url")) == NULL &&
	    (u = source_str(p, "repository.homepage")) == NULL)
		return (NULL);
	if ((s = strstr(u, "://")) == NULL || (s = strchr(s + 3, '/')) ==
	    NULL)
		return (NULL);
	snprintf(buf, len, "%s", s + 1);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return (n > 0 ? buf : NULL);
}

/* The project's web address: project.web_url, else repository.homepage. */
static const char *
gitlab_web(json_object *p)
{
	const char	*u;

	if ((u = source_str(p, "project.web_url")) == NULL)
		u = source_str(p, "repository.homepage");
	return (u);
}

/* "refs/heads/main" -> "main"; anything else is returned whole. */
static const char *
gitlab_branch(const char *ref)
{
	if (ref != NULL && strncmp(ref, "refs/heads/", 11) == 0)
		return (ref + 11);
	return (ref);
}

/* A copy of the number v (borrowed) as the property key of ev. */
static void
gitlab_number(json_object *ev, const char *key, json_object *v)
{
	json_object	*props;

	if (!json_object_object_get_ex(ev, "properties", &props))
		return;
	if (json_object_is_type(v, json_type_int))
		json_object_object_add(props, key,
		    json_object_new_int64(json_object_get_int64(v)));
	else
		json_object_object_add(props, key,
		    json_object_new_double(json_object_get_double(v)));
}

/*
 * The number of seconds under key in p (borrowed), or NULL if absent, null,
 * not a number, or not one a CI could have spent (negative, over a year).
 */
static json_object *
gitlab_numobj(json_object *p, const char *key)
{
	json_object	*v;
	double		 d;

	if (!json_object_object_get_ex(p, key, &v) || v == NULL ||
	    !(json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)))
		return (NULL);
	d = json_object_get_double(v);
	if (!(d >= 0 && d <= 366 * 86400))
		return (NULL);
	return (v);
}

static int
gitlab_push(json_object *p, const char *delivery, json_object *out,
    char *ignored, size_t ilen)
{
	json_object	*commits, *c, *ev;
	const char	*ref, *repo, *sha, *when;
	char		 id[MP_IDMAX], rbuf[256], tbuf[MP_TIMELEN];
	size_t		 i, n, emitted = 0;

	if (gitlab_zero(source_str(p, "after"))) {
		snprintf(ignored, ilen, "Push Hook: a deletion has no commits");
		return (1);
	}
	ref = source_str(p, "ref");
	repo = gitlab_repo(p, rbuf, sizeof(rbuf));
	if (!json_object_object_get_ex(p, "commits", &commits) ||
	    !json_object_is_type(commits, json_type_array))
		n = 0;
	else
		n = json_object_array_length(commits);
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(commits, i);
		if ((sha = source_str(c, "id")) == NULL)
			continue;
		when = gitlab_time(source_str(c, "timestamp"), tbuf);
		snprintf(id, sizeof(id), "%.64s.%.64s", delivery, sha);
		/* The author's date is a property; the push is the event. */
		ev = source_evidence(out, id, "CommitPushed", sha, NULL);
		source_prop(ev, "sha", sha);
		source_prop(ev, "ref", ref);
		source_prop(ev, "message", source_str(c, "message"));
		source_prop(ev, "author", source_str(c, "author.name"));
		source_prop(ev, "authorTime", when);
		source_prop(ev, "tool", "gitlab");
		source_message_keys(ev, source_str(c, "message"));
		source_link(ev, "commit", sha);
		source_link(ev, "repo", repo);
		source_link(ev, "branch", gitlab_branch(ref));
		source_link(ev, "url", source_str(c, "url"));
		emitted++;
	}
	if (emitted == 0) {
		snprintf(ignored, ilen, "Push Hook: no new commits");
		return (1);
	}
	return (0);
}

/*
 * A pushed tag is GitLab's closest thing to a published release (a Release
 * Hook needs a tag anyway), so it is recorded once, from here.
 */
static int
gitlab_tag_push(json_object *p, const char *delivery, json_object *out,
    char *ignored, size_t ilen)
{
	json_object	*ev;
	const char	*ref = source_str(p, "ref"), *tag, *web;
	char		 rbuf[256], url[1024];

	if (ref == NULL || strncmp(ref, "refs/tags/", 10) != 0 ||
	    ref[10] == '\0') {
		snprintf(ignored, ilen, "Tag Push Hook: no refs/tags/ ref");
		return (-1);
	}
	if (gitlab_zero(source_str(p, "after"))) {
		snprintf(ignored, ilen, "Tag Push Hook: a tag deletion");
		return (1);
	}
	tag = ref + 10;
	ev = source_evidence(out, delivery, "ReleasePublished", tag, NULL);
	source_prop(ev, "tag", tag);
	if ((web = gitlab_web(p)) != NULL) {
		snprintf(url, sizeof(url), "%s/-/tags/%s", web, tag);
		source_prop(ev, "url", url);
	}
	source_prop(ev, "tool", "gitlab");
	source_link(ev, "repo", gitlab_repo(p, rbuf, sizeof(rbuf)));
	source_link(ev, "service", source_str(p, "project.name"));
	source_link(ev, "commit", source_str(p, "checkout_sha"));
	return (0);
}

/*
 * A CI status as an end: 1 with *end set; a start: 0; unused: -1.
 * manual, scheduled, waiting_for_resource, preparing and canceling are
 * neither: the pipeline is waiting, and a later status says how it went.
 */
static int
gitlab_ci_status(const char *s, const char **end)
{
	static const struct {
		const char	*gitlab, *status;
	} map[] = {
		{ "created", NULL },
		{ "pending", NULL },
		{ "running", NULL },
		{ "success", "success" },
		{ "failed", "failure" },
		{ "canceled", "cancelled" },
		{ "skipped", "skipped" },
	};
	size_t	i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(s, map[i].gitlab) != 0)
			continue;
		*end = map[i].status;
		return (map[i].status != NULL);
	}
	return (-1);
}

/* PipelineStarted or PipelineCompleted for a pipeline or a job. */
static int
gitlab_ci(const struct gitlab_ci *ci, const char *event, const char *delivery,
    json_object *out, char *ignored, size_t ilen)
{
	json_object	*ev, *props;
	const char	*status, *when, *from;
	char		 tbuf[MP_TIMELEN], sbuf[MP_TIMELEN];
	int64_t		 t0, t1;
	int		 rc;

	if (ci->id == NULL || ci->status == NULL) {
		snprintf(ignored, ilen, "%s: no %s id or status", event,
		    ci->kind);
		return (-1);
	}
	if ((rc = gitlab_ci_status(ci->status, &status)) == -1) {
		snprintf(ignored, ilen, "%s: status %.32s is not used", event,
		    ci->status);
		return (1);
	}
	if (rc == 1) {
		when = gitlab_time(ci->finished, tbuf);
		ev = source_evidence(out, delivery, "PipelineCompleted",
		    ci->id, when);
		source_prop(ev, "status", status);
		from = gitlab_time(ci->started ? ci->started : ci->created,
		    sbuf);
		if (ci->duration != NULL)
			gitlab_number(ev, "duration", ci->duration);
		else if (when != NULL && from != NULL &&
		    tf_parse(from, &t0) == 0 && tf_parse(when, &t1) == 0 &&
		    t1 >= t0 && json_object_object_get_ex(ev, "properties",
		    &props))
			json_object_object_add(props, "duration",
			    json_object_new_int64((t1 - t0) / 1000000));
	} else {
		/* The time it started, if it has; else when it was made. */
		when = NULL;
		if (strcmp(ci->status, "running") == 0)
			when = gitlab_time(ci->started, tbuf);
		if (when == NULL)
			when = gitlab_time(ci->created, tbuf);
		if (when != NULL && ci->started == NULL && ci->queued != NULL &&
		    strcmp(ci->status, "running") == 0 &&
		    tf_parse(when, &t0) == 0) {
			tf_format(t0 + (int64_t)(json_object_get_double(
			    ci->queued) * 1000000), sbuf);
			when = sbuf;
		}
		ev = source_evidence(out, delivery, "PipelineStarted", ci->id,
		    when);
	}
	source_prop(ev, "pipelineId", ci->id);
	source_prop(ev, "kind", ci->kind);
	source_prop(ev, "tool", "gitlab");
	source_prop(ev, "name", ci->name);
	source_prop(ev, "ref", ci->ref);
	source_prop(ev, "url", ci->url);
	source_link(ev, "pipeline", ci->id);
	source_link(ev, "commit", ci->sha);
	source_link(ev, "repo", ci->repo);
	if (!ci->tag)
		source_link(ev, "branch", ci->ref);
	/* A job is the build `milepost run` names CI_JOB_ID: the same id. */
	if (strcmp(ci->kind, "job") == 0)
		source_build(out, ev, ci->id);
	return (0);
}

static int
gitlab_pipeline(json_object *p, const char *delivery, json_object *out,
    char *ignored, size_t ilen)
{
	struct gitlab_ci	 ci;
	json_object		*oa;
	const char		*v, *web;
	char			 rbuf[256], url[1024];

	if (!json_object_object_get_ex(p, "object_attributes", &oa) ||
	    !json_object_is_type(oa, json_type_object)) {
		snprintf(ignored, ilen, "Pipeline Hook: no object_attributes");
		return (-1);
	}
	memset(&ci, 0, sizeof(ci));
	ci.kind = "pipeline";
	ci.id = source_str(oa, "id");
	ci.status = source_str(oa, "status");
	ci.created = source_str(oa, "created_at");
	ci.finished = source_str(oa, "finished_at");
	ci.duration = gitlab_numobj(oa, "duration");
	ci.queued = gitlab_numobj(oa, "queued_duration");
	ci.name = source_str(oa, "name");
	ci.ref = source_str(oa, "ref");
	ci.sha = source_str(oa, "sha");
	ci.tag = (v = source_str(oa, "tag")) != NULL && strcmp(v, "true") == 0;
	if ((ci.url = source_str(oa, "url")) == NULL && ci.id != NULL &&
	    (web = gitlab_web(p)) != NULL) {
		snprintf(url, sizeof(url), "%s/-/pipelines/%s", web, ci.id);
		ci.url = url;
	}
	ci.repo = gitlab_repo(p, rbuf, sizeof(rbuf));
	return (gitlab_ci(&ci, "Pipeline Hook", delivery, out, ignored, ilen));
}

static int
gitlab_job(json_object *p, const char *delivery, json_object *out,
    char *ignored, size_t ilen)
{
	struct gitlab_ci	 ci;
	const char		*v, *web;
	char			 rbuf[256], url[1024];

	memset(&ci, 0, sizeof(ci));
	ci.kind = "job";
	ci.id = source_str(p, "build_id");
	ci.status = source_str(p, "build_status");
	/* Newer GitLab adds *_iso twins in RFC 3339; either will do. */
	if ((ci.created = source_str(p, "build_created_at_iso")) == NULL)
		ci.created = source_str(p, "build_created_at");
	if ((ci.started = source_str(p, "build_started_at_iso")) == NULL)
		ci.started = source_str(p, "build_started_at");
	if ((ci.finished = source_str(p, "build_finished_at_iso")) == NULL)
		ci.finished = source_str(p, "build_finished_at");
	ci.duration = gitlab_numobj(p, "build_duration");
	ci.name = source_str(p, "build_name");
	ci.ref = source_str(p, "ref");
	ci.sha = source_str(p, "sha");
	ci.tag = (v = source_str(p, "tag")) != NULL && strcmp(v, "true") == 0;
	if (ci.id != NULL && (web = gitlab_web(p)) != NULL) {
		snprintf(url, sizeof(url), "%s/-/jobs/%s", web, ci.id);
		ci.url = url;
	}
	ci.repo = gitlab_repo(p, rbuf, sizeof(rbuf));
	return (gitlab_ci(&ci, "Job Hook", delivery, out, ignored, ilen));
}

/*
 * The full commit id of a deployment: the last part of commit_url when it
 * is 40 or 64 hex digits (GitLab sends only short_sha otherwise).
 */
static const char *
gitlab_deploy_sha(json_object *p)
{
	const char	*u = source_str(p, "commit_url"), *s;
	size_t		 n;

	if (u == NULL || (s = strrchr(u, '/')) == NULL)
		return (source_str(p, "short_sha"));
	n = strspn(++s, "0123456789abcdef");
	if ((n == 40 || n == 64) && s[n] == '\0')
		return (s);
	return (source_str(p, "short_sha"));
}

static int
gitlab_deployment(json_object *p, const char *delivery, json_object *out,
    char *ignored, size_t ilen)
{
	json_object	*ev;
	const char	*status = source_str(p, "status"), *type, *id, *env;
	const char	*sha, *svc;
	char		 rbuf[256], tbuf[MP_TIMELEN];

	/* deployment_id is recent; before it, the deploying job's id. */
	if ((id = source_str(p, "deployment_id")) == NULL)
		id = source_str(p, "deployable_id");
	if (id == NULL || status == NULL) {
		snprintf(ignored, ilen, "Deployment Hook: no deployment_id or "
		    "status");
		return (-1);
	}
	if (strcmp(status, "running") == 0)
		type = "DeploymentStarted";
	else if (strcmp(status, "success") == 0)
		type = "DeploymentSucceeded";
	else if (strcmp(status, "failed") == 0 ||
	    strcmp(status, "canceled") == 0)
		type = "DeploymentFailed";
	else {
		snprintf(ignored, ilen, "Deployment Hook: status %.32s is not "
		    "used", status);
		return (1);
	}
	env = source_str(p, "environment");
	sha = gitlab_deploy_sha(p);
	svc = source_str(p, "project.name");
	ev = source_evidence(out, delivery, type, id, gitlab_time(source_str(p,
	    "status_changed_at"), tbuf));
	source_prop(ev, "deploymentId", id);
	source_prop(ev, "environment", env);
	source_prop(ev, "revision", sha);
	source_prop(ev, "service", svc);
	source_prop(ev, "tool", "gitlab");
	source_prop(ev, "url", source_str(p, "deployable_url"));
	if (strcmp(type, "DeploymentFailed") == 0)
		source_prop(ev, "reason", status);
	source_link(ev, "deployment", id);
	source_link(ev, "environment", env);
	source_link(ev, "commit", sha);
	source_link(ev, "repo", gitlab_repo(p, rbuf, sizeof(rbuf)));
	source_link(ev, "service", svc);
	return (0);
}

static int
gitlab_normalize(const struct source_req *r, json_object *p,
    const char *delivery, json_object *out, char *ignored, size_t ilen)
{
	const char	*event = r->header(r, "X-Gitlab-Event");

	if (event == NULL) {
		snprintf(ignored, ilen, "no X-Gitlab-Event header");
		return (-1);
	}
	if (!json_object_is_type(p, json_type_object)) {
		snprintf(ignored, ilen, "the payload is not a JSON object");
		return (-1);
	}
	if (strcmp(event, "Push Hook") == 0)
		return (gitlab_push(p, delivery, out, ignored, ilen));
	if (strcmp(event, "Tag Push Hook") == 0)
		return (gitlab_tag_push(p, delivery, out, ignored, ilen));
	if (strcmp(event, "Pipeline Hook") == 0)
		return (gitlab_pipeline(p, delivery, out, ignored, ilen));
	if (strcmp(event, "Job Hook") == 0)
		return (gitlab_job(p, delivery, out, ignored, ilen));
	if (strcmp(event, "Deployment Hook") == 0)
		return (gitlab_deployment(p, delivery, out, ignored, ilen));
	snprintf(ignored, ilen, "event %.64s is not used", event);
	return (1);
}

const struct mp_source source_gitlab = {
	.name = "gitlab",
	.auth = SRC_AUTH_TOKEN | SRC_AUTH_SIGNING,
	.verify = gitlab_verify,
	.delivery_id = gitlab_delivery_id,
	.normalize = gitlab_normalize,
};
