/*
 * github.c: GitHub deployment statuses.  When a deployment's state
 * changes: POST {url}/repos/{owner}/{repo}/deployments/{id}/statuses with
 * {state, log_url, environment_url, description}.  The repository is the
 * sink's repo setting or the claim's repo link; the deployment id is the
 * claim's github_deployment link (as the GitHub source records it) or the
 * claim id when it is a number.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/sink.h"

/* Milepost's deployment states in GitHub's words. */
static const char *github_states[][2] = {
	{ "planned", "queued" },
	{ "in_progress", "in_progress" },
	{ "deployed", "success" },
	{ "verified", "success" },
	{ "recovered", "success" },
	{ "failed", "failure" },
	{ "partially_restored", "failure" },
	{ "rollback_failed", "failure" },
	{ "stalled", "error" },
	{ "blocked", "error" },
	{ "manual_intervention", "error" },
	{ "rolling_back", "in_progress" },
	{ "reverted", "inactive" },
};

static const char *
github_state(const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < sizeof(github_states) /
	    sizeof(github_states[0]); i++)
		if (strcmp(github_states[i][0], s) == 0)
			return (github_states[i][1]);
	return (NULL);
}

static const char *
github_deployment(const struct sink_msg *m)
{
	const char	*p;

	if ((p = sink_link(m, "github_deployment")) != NULL ||
	    (p = sink_prop(m, "github_deployment")) != NULL)
		return (p);
	for (p = m->id; *p != '\0' && isdigit((unsigned char)*p); p++)
		;
	return (*p == '\0' && *m->id != '\0' ? m->id : NULL);
}

/*
 * "/repos/OWNER/NAME/deployments/ID/statuses" (taken) with each part
 * encoded for its own segment, so a repo link such as "../../orgs/x"
 * stays inside the repository's segments; NULL when repo is not
 * owner/name or a part would not stay in its segment.
 */
char *
github_path(const char *repo, const char *dep)
{
	const char	*slash;
	char		*owner, *o = NULL, *n = NULL, *d = NULL, *path = NULL;

	if ((slash = strchr(repo, '/')) == NULL || slash == repo ||
	    slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
		return (NULL);
	owner = xstrndup(repo, (size_t)(slash - repo));
	if ((o = sink_encode(owner)) != NULL &&
	    (n = sink_encode(slash + 1)) != NULL &&
	    (d = sink_encode(dep)) != NULL)
		xasprintf(&path, "/repos/%s/%s/deployments/%s/statuses", o, n,
		    d);
	free(owner);
	free(o);
	free(n);
	free(d);
	return (path);
}

static int
github_wants(const struct sink_msg *m)
{
	return (sink_state_changed(m) &&
	    github_state(sink_prop(m, "state")) != NULL &&
	    github_deployment(m) != NULL);
}

static int
github_build(const struct sink_msg *m, struct sink_http *h, char *err,
    size_t errlen)
{
	const char	*repo, *dep, *state, *v, *reason;
	json_object	*o;
	char		 desc[140], *path;

	repo = m->sc->repo != NULL ? m->sc->repo : sink_link(m, "repo");
	dep = github_deployment(m);
	state = sink_prop(m, "state");
	if (repo == NULL || dep == NULL) {
		snprintf(err, errlen, "no %s for %s/%s", repo == NULL ?
		    "repository" : "GitHub deployment id", m->ctype, m->id);
		return (-1);
	}
	if ((path = github_path(repo, dep)) == NULL) {
		snprintf(err, errlen, "the repository %s or deployment %s of "
		    "%s/%s would not stay in its path segments", repo, dep,
		    m->ctype, m->id);
		return (-1);
	}
	o = json_object_new_object();
	json_object_object_add(o, "state",
	    json_object_new_string(github_state(state)));
	reason = sink_prop(m, "reason");
	snprintf(desc, sizeof(desc), "%s%s%s", state,
	    reason != NULL && *reason != '\0' ? ": " : "",
	    reason != NULL ? reason : "");
	json_object_object_add(o, "description", json_object_new_string(desc));
	if ((v = sink_prop(m, "environment")) != NULL)
		json_object_object_add(o, "environment",
		    json_object_new_string(v));
	if ((v = sink_link(m, "url")) != NULL)
		json_object_object_add(o, "log_url", json_object_new_string(v));
	if ((v = sink_prop(m, "environment_url")) != NULL)
		json_object_object_add(o, "environment_url",
		    json_object_new_string(v));
	sink_body_json(h, o);
	json_object_put(o);
	h->method = "POST";
	xasprintf(&h->url, "%s%s", m->sc->url != NULL ? m->sc->url :
	    "https://api.github.com", path);
	free(path);
	sink_http_header(h, "Content-Type: application/json");
	sink_http_header(h, "Accept: application/vnd.github+json");
	sink_http_header(h, "X-GitHub-Api-Version: 2022-11-28");
	if (m->sc->token != NULL)
		sink_http_header(h, "Authorization: Bearer %s", m->sc->token);
	return (0);
}

const struct sink sink_github = {
	.name = "github-deployment-status",
	.need = SINK_NEED_TOKEN,
	.accepts = "token, repo",
	.wants = github_wants,
	.build = github_build,
	.refetch = NULL,
};
