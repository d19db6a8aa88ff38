/*
 * github.c: GitHub webhooks.
 *
 * Authenticity: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
 * body> with any configured secret.  Delivery id: X-GitHub-Delivery (kept
 * on redelivery).  Events (X-GitHub-Event):
 *   push               CommitPushed per new (distinct) commit
 *   deployment         DeploymentPlanned (announced; its first status
 *                      starts it)
 *                      (deployment.payload.release and .region, when
 *                      given, are the release and region)
 *   deployment_status  DeploymentStarted (queued, pending, in_progress),
 *                      DeploymentSucceeded (success), DeploymentFailed
 *                      (failure, error); inactive is ignored
 *   workflow_run, workflow_job, check_suite
 *                      PipelineStarted (requested, in_progress),
 *                      PipelineCompleted (completed, with its conclusion);
 *                      a workflow run is also a build: BuildStartedEvent,
 *                      BuildCompleted, subject "<run id>-<attempt>"
 *   release            ReleasePublished (published)
 *   create, ping and anything else: acknowledged and ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/source.h"

static int
github_verify(const struct source_conf *sc, const struct source_req *r,
    char *why, size_t len)
{
	const char	*sig = r->header(r, "X-Hub-Signature-256");

	if (sig == NULL || strncmp(sig, "sha256=", 7) != 0) {
		snprintf(why, len, "missing X-Hub-Signature-256");
		return (-1);
	}
	if (!source_check_hmac(sc->secrets, sc->nsecrets, sig + 7, r->body,
	    r->len)) {
		snprintf(why, len, "X-Hub-Signature-256 does not match");
		return (-1);
	}
	return (0);
}

static int
github_delivery_id(const struct source_req *r, json_object *p, char *out,
    size_t len)
{
	const char	*d = r->header(r, "X-GitHub-Delivery");

	if (d == NULL || *d == '\0' || strlen(d) >= len)
		return (-1);
	snprintf(out, len, "%s", d);
	return (0);
}

/* "refs/heads/main" -> "main"; tags and others are returned whole. */
static const char *
github_branch(const char *ref)
{
	if (ref != NULL && strncmp(ref, "refs/heads/", 11) == 0)
		return (ref + 11);
	return (ref);
}

static void
github_bool(json_object *ev, const char *key, int v)
{
	json_object	*p;

	if (json_object_object_get_ex(ev, "properties", &p))
		json_object_object_add(p, key, json_object_new_boolean(v));
}

static int
github_push(json_object *p, const char *delivery, json_object *out,
    char *ignored, size_t ilen)
{
	json_object	*commits, *c, *ev, *head = NULL, *merged, *props;
	const char	*ref, *repo, *sha, *v, *after;
	char		 id[MP_IDMAX];
	size_t		 i, n, emitted = 0;
	int		 forced;

	if ((v = source_str(p, "deleted")) != NULL && strcmp(v, "true") == 0) {
		snprintf(ignored, ilen, "push: a deletion has no commits");
		return (1);
	}
	ref = source_str(p, "ref");
	repo = source_str(p, "repository.full_name");
	forced = (v = source_str(p, "forced")) != NULL && strcmp(v, "true") ==
	    0;
	after = source_str(p, "after");
	merged = json_object_new_array();
	if (!json_object_object_get_ex(p, "commits", &commits) ||
	    !json_object_is_type(commits, json_type_array))
		n = 0;
	else
		n = json_object_array_length(commits);
	for (i = 0; i < n; i++) {
		c = json_object_array_get_idx(commits, i);
		if ((sha = source_str(c, "id")) == NULL)
			continue;
		/*
		 * Commits already on another branch are not new; they are
		 * what a merge brought onto this one (all of them ancestors
		 * of "after").
		 */
		if ((v = source_str(c, "distinct")) != NULL &&
		    strcmp(v, "false") == 0) {
			json_object_array_add(merged,
			    json_object_new_string(sha));
			continue;
		}
		snprintf(id, sizeof(id), "%.64s.%.64s", delivery, sha);
		/*
		 * The commit's timestamp is whatever its author's clock or
		 * choice said: it stays authorTime, and the event time is
		 * the delivery's (the push reached GitHub then, at most).
		 */
		ev = source_evidence(out, id, "CommitPushed", sha, NULL);
		source_prop(ev, "sha", sha);
		source_prop(ev, "ref", ref);
		source_prop(ev, "message", source_str(c, "message"));
		source_prop(ev, "author", source_str(c, "author.name"));
		source_prop(ev, "authorTime", source_str(c, "timestamp"));
		source_prop(ev, "tool", "github");
		github_bool(ev, "forced", forced);
		source_message_keys(ev, source_str(c, "message"));
		source_link(ev, "commit", sha);
		source_link(ev, "repo", repo);
		source_link(ev, "branch", github_branch(ref));
		source_link(ev, "url", source_str(c, "url"));
		if (after != NULL && strcmp(sha, after) == 0)
			head = ev;
		emitted++;
	}
	/* The payload has no parents; the merge's commits stand for them. */
	if (head != NULL && json_object_array_length(merged) > 0 &&
	    json_object_object_get_ex(head, "properties", &props))
		json_object_object_add(props, "merged", json_object_get(merged));
	json_object_put(merged);
	if (emitted == 0) {
		snprintf(ignored, ilen, "push: no new commits");
		return (1);
	}
	return (0);
}

static void
github_deploy_common(json_object *ev, json_object *p)
{
	const char	*env = source_str(p, "deployment.environment");

	source_prop(ev, "deploymentId", source_str(p, "deployment.id"));
	source_prop(ev, "environment", env);
	source_prop(ev, "revision", source_str(p, "deployment.sha"));
	source_prop(ev, "service", source_str(p, "repository.name"));
	source_prop(ev, "tool", "github");
	source_link(ev, "deployment", source_str(p, "deployment.id"));
	source_link(ev, "environment", env);
	source_link(ev, "commit", source_str(p, "deployment.sha"));
	source_link(ev, "repo", source_str(p, "repository.full_name"));
	source_link(ev, "service", source_str(p, "repository.name"));
	source_link(ev, "branch", github_branch(source_str(p,
	    "deployment.ref")));
	/*
	 * GitHub's deployment payload is free-form JSON given when the
	 * deployment is created: payload.release and payload.region, when it
	 * is an object carrying them, are the release and region.
	 */
	source_prop(ev, "release", source_str(p, "deployment.payload.release"));
	source_prop(ev, "region", source_str(p, "deployment.payload.region"));
	source_link(ev, "release", source_str(p, "deployment.payload.release"));
}

static int
github_deployment(json_object *p, const char *event, const char *delivery,
    json_object *out, char *ignored, size_t ilen)
{
	json_object	*ev;
	const char	*state, *type, *when;

	if (source_str(p, "deployment.id") == NULL) {
		snprintf(ignored, ilen, "%s: no deployment", event);
		return (1);
	}
	if (strcmp(event, "deployment") == 0) {
		ev = source_evidence(out, delivery, "DeploymentPlanned",
		    source_str(p, "deployment.id"),
		    source_str(p, "deployment.created_at"));
		github_deploy_common(ev, p);
		return (0);
	}
	state = source_str(p, "deployment_status.state");
	if (state == NULL)
		state = "";
	if (strcmp(state, "success") == 0)
		type = "DeploymentSucceeded";
	else if (strcmp(state, "failure") == 0 || strcmp(state, "error") == 0)
		type = "DeploymentFailed";
	else if (strcmp(state, "in_progress") == 0 ||
	    strcmp(state, "queued") == 0 || strcmp(state, "pending") == 0)
		type = "DeploymentStarted";
	else {
		snprintf(ignored, ilen, "deployment_status: state %.32s is not "
		    "used", state);
		return (1);
	}
	when = source_str(p, "deployment_status.updated_at");
	if (when == NULL)
		when = source_str(p, "deployment_status.created_at");
	ev = source_evidence(out, delivery, type, source_str(p,
	    "deployment.id"), when);
	github_deploy_common(ev, p);
	source_prop(ev, "url", source_str(p, "deployment_status.log_url") ?
	    source_str(p, "deployment_status.log_url") :
	    source_str(p, "deployment_status.target_url"));
	source_prop(ev, "reason", source_str(p,
	    "deployment_status.description"));
	return (0);
}

/* A GitHub conclusion as a PipelineCompleted status, or NULL. */
static const char *
github_conclusion(const char *c)
{
	if (c == NULL)
		return (NULL);
	if (strcmp(c, "success") == 0 || strcmp(c, "neutral") == 0)
		return ("success");
	if (strcmp(c, "failure") == 0 || strcmp(c, "timed_out") == 0 ||
	    strcmp(c, "startup_failure") == 0)
		return ("failure");
	if (strcmp(c, "cancelled") == 0)
		return ("cancelled");
	if (strcmp(c, "skipped") == 0 || strcmp(c, "stale") == 0)
		return ("skipped");
	return (NULL);		/* action_required, null: not an end */
}

static int
github_pipeline(json_object *p, const char *event, const char *delivery,
    json_object *out, char *ignored, size_t ilen)
{
	json_object	*ev, *props;
	const char	*obj, *action, *status, *id, *start, *end, *kind;
	char		 path[64], pid[96], rid[96];
	int64_t		 t0, t1;

	obj = strcmp(event, "workflow_run") == 0 ? "workflow_run" :
	    strcmp(event, "workflow_job") == 0 ? "workflow_job" : "check_suite";
	kind = strcmp(event, "workflow_job") == 0 ? "job" :
	    strcmp(event, "check_suite") == 0 ? "build" : "pipeline";
	action = source_str(p, "action");
	snprintf(path, sizeof(path), "%s.id", obj);
	if ((id = source_str(p, path)) == NULL || action == NULL) {
		snprintf(ignored, ilen, "%s: no %s", event, obj);
		return (1);
	}
	snprintf(path, sizeof(path), "%s.run_attempt", obj);
	if (source_str(p, path) != NULL)
		snprintf(pid, sizeof(pid), "%s-%s", id, source_str(p, path));
	else
		snprintf(pid, sizeof(pid), "%s", id);
	if (strcmp(action, "completed") == 0) {
		snprintf(path, sizeof(path), "%s.conclusion", obj);
		if ((status = github_conclusion(source_str(p, path))) == NULL) {
			snprintf(ignored, ilen, "%s: conclusion %.32s is not "
			    "an end", event, source_str(p, path) ?
			    source_str(p, path) : "null");
			return (1);
		}
		snprintf(path, sizeof(path), "%s.%s", obj,
		    strcmp(obj, "workflow_job") == 0 ? "completed_at" :
		    "updated_at");
		end = source_str(p, path);
		ev = source_evidence(out, delivery, "PipelineCompleted", pid,
		    end);
		source_prop(ev, "status", status);
		snprintf(path, sizeof(path), "%s.%s", obj,
		    strcmp(obj, "workflow_run") == 0 ? "run_started_at" :
		    strcmp(obj, "workflow_job") == 0 ? "started_at" :
		    "created_at");
		if ((start = source_str(p, path)) != NULL && end != NULL &&
		    tf_parse(start, &t0) == 0 && tf_parse(end, &t1) == 0 &&
		    t1 >= t0 && json_object_object_get_ex(ev, "properties",
		    &props))
			json_object_object_add(props, "duration",
			    json_object_new_int64((t1 - t0) / 1000000));
	} else if (strcmp(action, "requested") == 0 ||
	    strcmp(action, "in_progress") == 0) {
		snprintf(path, sizeof(path), "%s.%s", obj,
		    strcmp(obj, "workflow_run") == 0 ? "run_started_at" :
		    strcmp(obj, "workflow_job") == 0 ? "started_at" :
		    "created_at");
		ev = source_evidence(out, delivery, "PipelineStarted", pid,
		    source_str(p, path));
	} else {
		snprintf(ignored, ilen, "%s: action %.32s is not used", event,
		    action);
		return (1);
	}
	source_prop(ev, "pipelineId", pid);
	source_prop(ev, "kind", kind);
	source_prop(ev, "tool", "github");
	snprintf(path, sizeof(path), "%s.name", obj);
	source_prop(ev, "name", source_str(p, path));
	snprintf(path, sizeof(path), "%s.head_branch", obj);
	source_prop(ev, "ref", source_str(p, path));
	source_link(ev, "branch", source_str(p, path));
	snprintf(path, sizeof(path), "%s.html_url", obj);
	source_prop(ev, "url", source_str(p, path));
	/* A job belongs to its workflow run: link the run, as runs do. */
	if (strcmp(obj, "workflow_job") == 0 &&
	    source_str(p, "workflow_job.run_id") != NULL) {
		snprintf(rid, sizeof(rid), "%s-%s",
		    source_str(p, "workflow_job.run_id"),
		    source_str(p, "workflow_job.run_attempt") ?
		    source_str(p, "workflow_job.run_attempt") : "1");
		source_link(ev, "pipeline", rid);
		source_link(ev, "job", pid);
	} else
		source_link(ev, "pipeline", pid);
	snprintf(path, sizeof(path), "%s.head_sha", obj);
	source_link(ev, "commit", source_str(p, path));
	source_link(ev, "repo", source_str(p, "repository.full_name"));
	/*
	 * A workflow run is the build that `milepost run` names by default
	 * in GitHub Actions (GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT): the same id.
	 */
	if (strcmp(obj, "workflow_run") == 0)
		source_build(out, ev, pid);
	return (0);
}

static int
github_release(json_object *p, const char *delivery, json_object *out,
    char *ignored, size_t ilen)
{
	json_object	*ev, *props;
	const char	*action = source_str(p, "action"), *tag, *v;

	if (action == NULL || strcmp(action, "published") != 0 ||
	    (tag = source_str(p, "release.tag_name")) == NULL) {
		snprintf(ignored, ilen, "release: action %.32s is not used",
		    action ? action : "null");
		return (1);
	}
	ev = source_evidence(out, delivery, "ReleasePublished", tag,
	    source_str(p, "release.published_at"));
	source_prop(ev, "tag", tag);
	source_prop(ev, "name", source_str(p, "release.name"));
	source_prop(ev, "url", source_str(p, "release.html_url"));
	source_prop(ev, "tool", "github");
	if ((v = source_str(p, "release.prerelease")) != NULL &&
	    json_object_object_get_ex(ev, "properties", &props))
		json_object_object_add(props, "prerelease",
		    json_object_new_boolean(strcmp(v, "true") == 0));
	source_link(ev, "repo", source_str(p, "repository.full_name"));
	source_link(ev, "service", source_str(p, "repository.name"));
	return (0);
}

static int
github_normalize(const struct source_req *r, json_object *p,
    const char *delivery, json_object *out, char *ignored, size_t ilen)
{
	const char	*event = r->header(r, "X-GitHub-Event");

	if (event == NULL) {
		snprintf(ignored, ilen, "no X-GitHub-Event header");
		return (-1);
	}
	if (!json_object_is_type(p, json_type_object)) {
		snprintf(ignored, ilen, "the payload is not a JSON object");
		return (-1);
	}
	if (strcmp(event, "push") == 0)
		return (github_push(p, delivery, out, ignored, ilen));
	if (strcmp(event, "deployment") == 0 ||
	    strcmp(event, "deployment_status") == 0)
		return (github_deployment(p, event, delivery, out, ignored,
		    ilen));
	if (strcmp(event, "workflow_run") == 0 ||
	    strcmp(event, "workflow_job") == 0 ||
	    strcmp(event, "check_suite") == 0)
		return (github_pipeline(p, event, delivery, out, ignored,
		    ilen));
	if (strcmp(event, "release") == 0)
		return (github_release(p, delivery, out, ignored, ilen));
	snprintf(ignored, ilen, "event %.64s is not used", event);
	return (1);
}

const struct mp_source source_github = {
	.name = "github",
	.auth = SRC_AUTH_SECRET,
	.verify = github_verify,
	.delivery_id = github_delivery_id,
	.normalize = github_normalize,
};
