/*
 * cortex.c: Cortex deploy events.  When a deployment is deployed, failed
 * or rolled back: POST {url}/api/v1/catalog/{service}/deploys with
 * {timestamp, title, type (DEPLOY or ROLLBACK), sha, environment, url,
 * deployer{name, email}, customData}, bearer-authenticated.  The catalog
 * tag is the deployment's service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "sinks/sink.h"

static int
cortex_wants(const struct sink_msg *m)
{
	const char	*s = sink_prop(m, "state");

	return (sink_state_changed(m) && sink_prop(m, "service") != NULL &&
	    (strcmp(s, "deployed") == 0 || strcmp(s, "failed") == 0 ||
	    strcmp(s, "reverted") == 0));
}

static int
cortex_build(const struct sink_msg *m, struct sink_http *h, char *err,
    size_t errlen)
{
	json_object	*o, *dep, *custom;
	const char	*v, *state = sink_prop(m, "state");
	const char	*keys[] = { "state", "region", "release", "reason",
			    "previous_state" };
	char		 ts[MP_TIMELEN], title[160], *tag;
	size_t		 i;

	o = json_object_new_object();
	if ((v = sink_prop(m, "since")) == NULL) {
		tf_format(m->now, ts);
		v = ts;
	}
	json_object_object_add(o, "timestamp", json_object_new_string(v));
	snprintf(title, sizeof(title), "%s %s", m->id, state);
	json_object_object_add(o, "title", json_object_new_string(title));
	json_object_object_add(o, "type", json_object_new_string(
	    strcmp(state, "reverted") == 0 ? "ROLLBACK" : "DEPLOY"));
	if ((v = sink_prop(m, "revision")) != NULL ||
	    (v = sink_link(m, "commit")) != NULL)
		json_object_object_add(o, "sha", json_object_new_string(v));
	if ((v = sink_prop(m, "environment")) != NULL)
		json_object_object_add(o, "environment",
		    json_object_new_string(v));
	if ((v = sink_link(m, "url")) != NULL)
		json_object_object_add(o, "url", json_object_new_string(v));
	dep = json_object_new_object();
	v = sink_prop(m, "actor");
	json_object_object_add(dep, "name", json_object_new_string(v ? v :
	    "milepost"));
	if (v != NULL && strchr(v, '@') != NULL)
		json_object_object_add(dep, "email", json_object_new_string(v));
	json_object_object_add(o, "deployer", dep);
	custom = json_object_new_object();
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = sink_prop(m, keys[i])) != NULL)
			json_object_object_add(custom, keys[i],
			    json_object_new_string(v));
	json_object_object_add(custom, "milepost_id",
	    json_object_new_string(m->id));
	json_object_object_add(o, "customData", custom);
	sink_body_json(h, o);
	json_object_put(o);
	h->method = "POST";
	if ((tag = sink_encode(sink_prop(m, "service"))) == NULL) {
		snprintf(err, errlen, "the service would not stay in its path "
		    "segment");
		return (-1);
	}
	xasprintf(&h->url, "%s/api/v1/catalog/%s/deploys", m->sc->url != NULL ?
	    m->sc->url : "https://api.getcortex.io", tag);
	free(tag);
	sink_http_header(h, "Content-Type: application/json");
	if (m->sc->token != NULL)
		sink_http_header(h, "Authorization: Bearer %s", m->sc->token);
	return (0);
}

const struct sink sink_cortex = {
	.name = "cortex",
	.need = SINK_NEED_TOKEN,
	.accepts = "token",
	.wants = cortex_wants,
	.build = cortex_build,
	.refetch = NULL,
};
