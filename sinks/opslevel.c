/*
 * opslevel.c: OpsLevel deploy events.  When a deployment reaches a final
 * state: POST the integration URL (https://app.opslevel.com/integrations/
 * deploy/<uuid>) with {service, deployer{email, name}, deployed_at,
 * description, environment, commit{sha}, dedup_id, status}.  dedup_id is
 * the push's id, so a resend is deduplicated by OpsLevel.
 */
#include <stdio.h>
#include <string.h>

#include "sinks/sink.h"

static const char *
opslevel_status(const char *state)
{
	if (state == NULL)
		return (NULL);
	if (strcmp(state, "deployed") == 0 || strcmp(state, "verified") == 0 ||
	    strcmp(state, "recovered") == 0)
		return ("success");
	if (strcmp(state, "failed") == 0 || strcmp(state, "reverted") == 0 ||
	    strcmp(state, "rollback_failed") == 0)
		return ("failure");
	return (NULL);
}

static int
opslevel_wants(const struct sink_msg *m)
{
	return (sink_state_changed(m) &&
	    opslevel_status(sink_prop(m, "state")) != NULL);
}

static int
opslevel_build(const struct sink_msg *m, struct sink_http *h, char *err,
    size_t errlen)
{
	json_object	*o, *dep, *commit;
	const char	*v, *state = sink_prop(m, "state");
	char		 ts[MP_TIMELEN], desc[160];

	o = json_object_new_object();
	v = sink_prop(m, "service");
	json_object_object_add(o, "service", json_object_new_string(v ? v :
	    m->id));
	dep = json_object_new_object();
	v = sink_prop(m, "actor");
	json_object_object_add(dep, strchr(v ? v : "", '@') ? "email" : "name",
	    json_object_new_string(v ? v : "milepost"));
	json_object_object_add(o, "deployer", dep);
	if ((v = sink_prop(m, "since")) == NULL) {
		tf_format(m->now, ts);
		v = ts;
	}
	json_object_object_add(o, "deployed_at", json_object_new_string(v));
	snprintf(desc, sizeof(desc), "%s %s", m->id, state);
	json_object_object_add(o, "description", json_object_new_string(desc));
	if ((v = sink_prop(m, "environment")) != NULL)
		json_object_object_add(o, "environment",
		    json_object_new_string(v));
	if ((v = sink_prop(m, "revision")) != NULL ||
	    (v = sink_link(m, "commit")) != NULL) {
		commit = json_object_new_object();
		json_object_object_add(commit, "sha", json_object_new_string(v));
		json_object_object_add(o, "commit", commit);
	}
	json_object_object_add(o, "dedup_id", json_object_new_string(m->msgid));
	json_object_object_add(o, "status",
	    json_object_new_string(opslevel_status(state)));
	sink_body_json(h, o);
	json_object_put(o);
	h->method = "POST";
	if ((h->url = sink_expand(m->sc->url, m)) == NULL) {
		snprintf(err, errlen, "a value for the URL of %s/%s would "
		    "not stay in its path segment", m->ctype, m->id);
		return (-1);
	}
	sink_http_header(h, "Content-Type: application/json");
	return (0);
}

const struct sink sink_opslevel = {
	.name = "opslevel",
	.need = SINK_NEED_URL,
	.accepts = "",
	.wants = opslevel_wants,
	.build = opslevel_build,
	.refetch = NULL,
};
