/*
 * present.c: the one builder of what a client audience sees.  Every
 * claim-derived object that leaves the house for a client (the read
 * API's claims, deployments and their history, releases, milestones and
 * the change feed, and every push to a sink subscribed for a tenant or
 * marked audience: client) is built by present_view from the
 * claim-shaped object ({type, id, revision, properties, links, basis,
 * time, recorded_at}), in two steps:
 *
 *	1. the view: only what the type's client view holds (the tables
 *	   below), computed here (a milestone's delivered_by, a
 *	   deployment's public id), never copied field by field by callers;
 *	   plus what redaction.client.allow names explicitly;
 *	2. the client role's redaction, on that final object, so that
 *	   root-anchored patterns see the shape that is sent; what the view
 *	   vouches for (a milestone's configured title and description) and
 *	   what allow names are kept.
 *
 * No view holds a commit SHA, an evidence id or sequence number, a basis,
 * a person, an incident's title or an operator's reason: a Deployment's
 * id (service/environment[/region]/revision) is replaced by a public id
 * whose last segment is "x" and 16 hex digits of the SHA-256 of the
 * internal id (present_public_id), and DeploymentRejection claims (an
 * attempt's reason, the milestones it named) are never shown.  Other
 * roles get their role's redaction on a copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"

#define PRESENT_PUBLIC_HEX	16

/* Links a client view keeps: where and what, never how or who. */
static const char *present_links[] = {
	"tenant", "service", "environment", "region", "release", NULL
};

/* The top-level fields of every client view. */
static const char *present_top[] = {
	"type", "id", "about", "revision", "time", "recorded_at",
	"tenant", "start",		/* GET /v1/milestones adds these */
	NULL
};

/* A milestone's own properties a client sees as they are. */
static const char *present_milestone_props[] = {
	"title", "description", "due", "state", "progress", "done", "total",
	"predicted", "environment", NULL
};
/* What a milestone delta keeps: never its reason (an incident's title). */
static const char *present_delta_keys[] = {
	"kind", "weight", "active", "time", "resolved", NULL
};
/* What a deployment that delivered a milestone shows, beside its id. */
static const char *present_delivered_keys[] = {
	"service", "environment", "region", "release", "verified_at", NULL
};
static const char *present_deployment_props[] = {
	"service", "environment", "region", "state", "previous_state",
	"since", "started", "release", NULL
};
static const char *present_release_props[] = { "state", NULL };
static const char *present_component_keys[] = {
	"service", "environment", "region", "state", NULL
};
/* Kept through redaction: configured text meant for status pages. */
static const char *present_milestone_keep[] = {
	"properties.title", "properties.description", NULL
};

static const char *
present_str(json_object *o, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* to[key] := a new reference to from[key], for each key of set present. */
static void
present_pick(json_object *to, json_object *from, const char **set)
{
	json_object	*v;
	size_t		 i;

	if (!json_object_is_type(from, json_type_object))
		return;
	for (i = 0; set[i] != NULL; i++)
		if (json_object_object_get_ex(from, set[i], &v) && v != NULL &&
		    !(json_object_is_type(v, json_type_string) &&
		    *json_object_get_string(v) == '\0'))
			json_object_object_add(to, set[i], json_object_get(v));
}

/*
 * The public id of claim (type, id) into out: a Deployment's last path
 * segment (its revision, a commit SHA) becomes "x" and 16 hex digits of
 * the SHA-256 of the whole id; any other id is itself.
 */
void
present_public_id(const char *type, const char *id, char *out, size_t len)
{
	const char	*slash;
	char		 hex[MP_HASHLEN];

	if (strcmp(type, "Deployment") != 0 ||
	    (slash = strrchr(id, '/')) == NULL) {
		snprintf(out, len, "%s", id);
		return;
	}
	sha256_hex(id, strlen(id), hex);
	snprintf(out, len, "%.*sx%.*s", (int)(slash - id + 1), id,
	    PRESENT_PUBLIC_HEX, hex);
}

/* Does id have the shape of a Deployment's public id? */
int
present_is_public_id(const char *id)
{
	const char	*p;
	size_t		 n;

	if ((p = strrchr(id, '/')) == NULL || *++p != 'x')
		return (0);
	for (n = 0, p++; p[n] != '\0'; n++)
		if (strchr("0123456789abcdef", p[n]) == NULL)
			return (0);
	return (n == PRESENT_PUBLIC_HEX);
}

static json_object *
present_public_str(const char *type, const char *id)
{
	char	buf[1024];

	present_public_id(type, id, buf, sizeof(buf));
	return (json_object_new_string(buf));
}

/* A milestone's client properties from its claim's (borrowed). */
static void
present_milestone(json_object *to, json_object *p, json_object *claim)
{
	json_object	*arr, *deltas, *rels, *e, *d, *v;
	const char	*rel;
	size_t		 i, j;
	int		 seen;

	present_pick(to, p, present_milestone_props);
	/* The last change: the event time of this revision. */
	if (json_object_object_get_ex(claim, "time", &v))
		json_object_object_add(to, "last_change", json_object_get(v));
	deltas = json_object_new_array();
	if (json_object_object_get_ex(p, "deltas", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			d = json_object_new_object();
			present_pick(d, json_object_array_get_idx(arr, i),
			    present_delta_keys);
			json_object_array_add(deltas, d);
		}
	json_object_object_add(to, "deltas", deltas);
	/* What delivered it: by service, environment and version. */
	arr = NULL;
	json_object_object_get_ex(p, "deployments", &arr);
	d = json_object_new_array();
	rels = json_object_new_array();
	for (i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		v = json_object_new_object();
		present_pick(v, e, present_delivered_keys);
		if (present_str(e, "id") != NULL)
			json_object_object_add(v, "deployment",
			    present_public_str("Deployment", present_str(e,
			    "id")));
		json_object_array_add(d, v);
		if ((rel = present_str(e, "release")) == NULL || *rel == '\0')
			continue;
		for (j = 0, seen = 0; j < json_object_array_length(rels) &&
		    !seen; j++)
			seen = strcmp(json_object_get_string(
			    json_object_array_get_idx(rels, j)), rel) == 0;
		if (!seen)
			json_object_array_add(rels,
			    json_object_new_string(rel));
	}
	json_object_object_add(to, "delivered_by", d);
	json_object_object_add(to, "releases", rels);
}

/* A release's client properties: its state and its components. */
static void
present_release(json_object *to, json_object *p)
{
	json_object	*arr, *comps, *c, *e;
	size_t		 i;

	present_pick(to, p, present_release_props);
	comps = json_object_new_array();
	if (json_object_object_get_ex(p, "components", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			e = json_object_array_get_idx(arr, i);
			c = json_object_new_object();
			present_pick(c, e, present_component_keys);
			if (present_str(e, "deployment") != NULL)
				json_object_object_add(c, "deployment",
				    present_public_str("Deployment",
				    present_str(e, "deployment")));
			json_object_array_add(comps, c);
		}
	json_object_object_add(to, "components", comps);
}

/* Copy what rd's allow patterns name of src's fields into view. */
static void
present_allowed(const struct redaction *rd, json_object *src,
    json_object *view)
{
	json_object	*sub, *vsub;
	const char	*path[2];
	const char	*parts[] = { "properties", "links", NULL };
	size_t		 i;

	if (redact_allow_count(rd, ROLE_CLIENT) == 0)
		return;
	json_object_object_foreach(src, k, v) {
		path[0] = k;
		if (v != NULL && !json_object_object_get_ex(view, k, NULL) &&
		    redact_allowed(rd, ROLE_CLIENT, NULL, path, 1))
			json_object_object_add(view, k, json_object_get(v));
	}
	for (i = 0; parts[i] != NULL; i++) {
		if (!json_object_object_get_ex(src, parts[i], &sub) ||
		    !json_object_is_type(sub, json_type_object))
			continue;
		if (!json_object_object_get_ex(view, parts[i], &vsub)) {
			vsub = json_object_new_object();
			json_object_object_add(view, parts[i], vsub);
		}
		path[0] = parts[i];
		json_object_object_foreach(sub, k2, v2) {
			path[1] = k2;
			if (v2 != NULL && !json_object_object_get_ex(vsub, k2,
			    NULL) && redact_allowed(rd, ROLE_CLIENT, NULL,
			    path, 2))
				json_object_object_add(vsub, k2,
				    json_object_get(v2));
		}
	}
}

/*
 * The client view of claim (claim-shaped, borrowed, unchanged), redacted
 * for the client role.  Returns a new object (taken), or NULL when no
 * client may see a claim of that type at all.
 */
static json_object *
present_client(const struct redaction *rd, json_object *claim)
{
	json_object	*view, *props, *links, *p, *l;
	const char	*type, *id, **keep = NULL;

	if ((type = present_str(claim, "type")) == NULL)
		type = "";
	if (strcmp(type, "DeploymentRejection") == 0)
		return (NULL);
	view = json_object_new_object();
	present_pick(view, claim, present_top);
	if ((id = present_str(claim, "id")) != NULL)
		json_object_object_add(view, "id", present_public_str(type,
		    id));
	if (!json_object_object_get_ex(claim, "properties", &props))
		props = NULL;
	p = json_object_new_object();
	if (strcmp(type, "Milestone") == 0) {
		present_milestone(p, props, claim);
		keep = present_milestone_keep;
	} else if (strcmp(type, "Deployment") == 0)
		present_pick(p, props, present_deployment_props);
	else if (strcmp(type, "Release") == 0)
		present_release(p, props);
	else if (json_object_is_type(props, json_type_object)) {
		/* A configured claim type: its declared properties. */
		json_object_object_foreach(props, k, v)
			json_object_object_add(p, k, json_object_get(v));
	}
	json_object_object_add(view, "properties", p);
	l = json_object_new_object();
	if (json_object_object_get_ex(claim, "links", &links))
		present_pick(l, links, present_links);
	json_object_object_add(view, "links", l);
	present_allowed(rd, claim, view);
	redact_apply_keep(rd, ROLE_CLIENT, view, keep);
	return (view);
}

/*
 * What a token of role may receive of claim (claim-shaped, borrowed,
 * unchanged): for ROLE_CLIENT the client view above, for any other role
 * a copy with that role's redaction.  Returns a new object (taken), or
 * NULL when role may not see a claim of that type.  The caller checks the
 * tenant first (access_tenant_visible).
 */
json_object *
present_view(const struct redaction *rd, enum role role, json_object *claim)
{
	json_object	*o = NULL;

	if (claim == NULL)
		return (NULL);
	if (role == ROLE_CLIENT)
		return (present_client(rd, claim));
	if (json_object_deep_copy(claim, &o, NULL) != 0)
		fatalx("%s: json_object_deep_copy", __func__);
	redact_apply(rd, role, o);
	return (o);
}

/*
 * Replace o's members by its view for role, in place (o borrowed), for
 * callers that hold o where it is used.  Returns -1, leaving o empty,
 * when role may not see it.
 */
int
present_inplace(const struct redaction *rd, enum role role, json_object *o)
{
	json_object	*v;
	char		**keys = NULL;
	size_t		  n = 0, i;

	v = present_view(rd, role, o);
	json_object_object_foreach(o, k, val) {
		(void)val;
		keys = xreallocarray(keys, n + 1, sizeof(*keys));
		keys[n++] = xstrdup(k);
	}
	for (i = 0; i < n; i++) {
		json_object_object_del(o, keys[i]);
		free(keys[i]);
	}
	free(keys);
	if (v == NULL)
		return (-1);
	json_object_object_foreach(v, k2, val2)
		json_object_object_add(o, k2, json_object_get(val2));
	json_object_put(v);
	return (0);
}
