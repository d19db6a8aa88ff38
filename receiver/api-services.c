/*
 * api-services.c: GET /v1/services, the service catalog with each
 * service's current deployment per environment.
 *
 *   {"services": [{"service": "checkout", "tenants": ["acme"],
 *     "team": "payments", "tier": 1, "depends_on": ["payments-api"],
 *     "environments": {"production": {"state": "verified", "since": …,
 *       "deployment": "checkout/production/9fceb02…", "incidents": [],
 *       "open_incidents": [],
 *       "upstream_impaired": []}}}]}
 *
 * The current deployment of a service in an environment is the one
 * started last (its Deployment claim's `started`, else `since`).  A
 * dependent shows an upstream as impaired (without failing) while the
 * upstream's current deployment there is failed, stalled or in a rollback
 * state, or has open incidents.  A client token sees only its tenant's
 * services, without deployment ids, revisions, incident ids, teams,
 * tenants or upstream names (upstream_impaired is then true or false).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define SERVICES_PAGE	1000
#define SERVICES_MAX	100000	/* deployments read per request */

struct services_cur {			/* one (service, environment) */
	size_t		 svc;
	char		*env;
	char		*when;		/* started or since, RFC 3339 */
	json_object	*props;		/* the current one's, owned */
	char		*id;
};

struct services_read {
	const struct catalog	*cat;
	struct services_cur	*cur;
	size_t			 ncur;
	char			 last[MP_IDMAX * 2];
	size_t			 seen, total;
};

static const char *
services_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

static struct services_cur *
services_find(struct services_read *sr, size_t svc, const char *env)
{
	size_t	i;

	for (i = 0; i < sr->ncur; i++)
		if (sr->cur[i].svc == svc && strcmp(sr->cur[i].env, env) == 0)
			return (&sr->cur[i]);
	return (NULL);
}

static int
services_one(const struct claim *c, void *arg)
{
	struct services_read	*sr = arg;
	const struct catservice	*s;
	struct services_cur	*cur;
	json_object		*p;
	const char		*svc, *env, *when;

	sr->seen++;
	sr->total++;
	snprintf(sr->last, sizeof(sr->last), "%s", c->id);
	if ((p = json_tokener_parse(c->properties)) == NULL)
		return (0);
	svc = services_str(p, "service");
	env = services_str(p, "environment");
	if ((when = services_str(p, "started")) == NULL || *when == '\0')
		when = services_str(p, "since");
	if (svc == NULL || env == NULL || when == NULL ||
	    (s = catalog_service(sr->cat, svc)) == NULL) {
		json_object_put(p);
		return (0);
	}
	cur = services_find(sr, (size_t)(s - sr->cat->services), env);
	if (cur == NULL) {
		sr->cur = xreallocarray(sr->cur, sr->ncur + 1,
		    sizeof(*sr->cur));
		cur = &sr->cur[sr->ncur++];
		memset(cur, 0, sizeof(*cur));
		cur->svc = (size_t)(s - sr->cat->services);
		cur->env = xstrdup(env);
	} else if (strcmp(when, cur->when) < 0 || (strcmp(when,
	    cur->when) == 0 && strcmp(c->id, cur->id) < 0)) {
		json_object_put(p);
		return (0);
	}
	/* RFC 3339 in UTC with a fixed width: strings order as times. */
	free(cur->when);
	free(cur->id);
	json_object_put(cur->props);
	cur->when = xstrdup(when);
	cur->id = xstrdup(c->id);
	cur->props = p;
	return (0);
}

static void
services_read_free(struct services_read *sr)
{
	size_t	i;

	for (i = 0; i < sr->ncur; i++) {
		free(sr->cur[i].env);
		free(sr->cur[i].when);
		free(sr->cur[i].id);
		json_object_put(sr->cur[i].props);
	}
	free(sr->cur);
}

static int
services_impaired(const struct services_cur *cur)
{
	const char	*st = services_str(cur->props, "state");
	json_object	*v;

	if (json_object_object_get_ex(cur->props, "open_incidents", &v) &&
	    json_object_is_type(v, json_type_array) &&
	    json_object_array_length(v) > 0)
		return (1);
	return (st != NULL && (strcmp(st, "failed") == 0 ||
	    strcmp(st, "stalled") == 0 || strcmp(st, "rolling_back") == 0 ||
	    strcmp(st, "rollback_failed") == 0 ||
	    strcmp(st, "partially_restored") == 0 ||
	    strcmp(st, "manual_intervention") == 0));
}

static json_object *
services_strv(char *const *v, size_t n)
{
	json_object	*a = json_object_new_array();
	size_t		 i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return (a);
}

static int
services_visible(const struct catservice *s, const struct token *tok)
{
	size_t	i;

	if (tok == NULL || tok->role != ROLE_CLIENT)
		return (1);
	for (i = 0; i < s->ntenants; i++)
		if (tok->tenant != NULL && strcmp(s->tenants[i],
		    tok->tenant) == 0)
			return (1);
	return (0);
}

static json_object *
services_env(struct services_read *sr, const struct catservice *s,
    const struct services_cur *cur, int client)
{
	const struct catservice	*u;
	struct services_cur	*uc;
	json_object		*e, *v, *imp;
	size_t			 i;

	e = json_object_new_object();
	json_object_object_add(e, "state", json_object_new_string(
	    services_str(cur->props, "state") ? services_str(cur->props,
	    "state") : ""));
	json_object_object_add(e, "since", json_object_new_string(
	    services_str(cur->props, "since") ? services_str(cur->props,
	    "since") : ""));
	if (!client) {
		json_object_object_add(e, "deployment",
		    json_object_new_string(cur->id));
		json_object_object_add(e, "revision", json_object_new_string(
		    services_str(cur->props, "revision") ?
		    services_str(cur->props, "revision") : ""));
		json_object_object_add(e, "incidents",
		    json_object_object_get_ex(cur->props, "incidents", &v) ?
		    json_object_get(v) : json_object_new_array());		/* Of those, the ones not resolved yet (the dashboard's badge). */
		json_object_object_add(e, "open_incidents",
		    json_object_object_get_ex(cur->props, "open_incidents",
		    &v) ? json_object_get(v) : json_object_new_array());
	}
	imp = json_object_new_array();
	for (i = 0; i < s->ndepends_on; i++) {
		if ((u = catalog_service(sr->cat, s->depends_on[i])) == NULL ||
		    (uc = services_find(sr, (size_t)(u - sr->cat->services),
		    cur->env)) == NULL || !services_impaired(uc))
			continue;
		json_object_array_add(imp, json_object_new_string(u->name));
	}
	if (client) {
		json_object_object_add(e, "upstream_impaired",
		    json_object_new_boolean(json_object_array_length(imp) > 0));
		json_object_put(imp);
	} else
		json_object_object_add(e, "upstream_impaired", imp);
	return (e);
}

/* GET /v1/services[?tenant=T] */
void
api_services(struct server *srv, struct evhttp_request *req)
{
	const struct catalog	*cat = srv->cf->catalog;
	const struct catservice	*s;
	const struct token	*tok;
	struct services_read	 sr;
	struct evkeyvalq	 q;
	json_object		*o, *arr, *one, *envs;
	const char		*tenant;
	size_t			 i, j;
	int			 client;

	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	if (api_query(srv, req, &q) == -1)
		return;
	tenant = evhttp_find_header(&q, "tenant");
	client = tok != NULL && tok->role == ROLE_CLIENT;
	memset(&sr, 0, sizeof(sr));
	sr.cat = cat;
	do {
		sr.seen = 0;
		if (cat->nservices == 0)
			break;
		if (ledger_claim_list(srv->reader, "Deployment", sr.last,
		    SERVICES_PAGE, INT64_MAX, services_one, &sr) == -1) {
			services_read_free(&sr);
			evhttp_clear_headers(&q);
			api_unreadable(srv, req);
			return;
		}
	} while (sr.seen == SERVICES_PAGE && sr.total < SERVICES_MAX);
	arr = json_object_new_array();
	for (i = 0; i < cat->nservices; i++) {
		s = &cat->services[i];
		if (!services_visible(s, tok))
			continue;
		if (tenant != NULL) {
			for (j = 0; j < s->ntenants; j++)
				if (strcmp(s->tenants[j], tenant) == 0)
					break;
			if (j == s->ntenants)
				continue;
		}
		one = json_object_new_object();
		json_object_object_add(one, "service",
		    json_object_new_string(s->name));
		/* A client sees no other tenant, team or upstream by name. */
		if (!client) {
			json_object_object_add(one, "tenants",
			    services_strv(s->tenants, s->ntenants));
			if (s->team != NULL)
				json_object_object_add(one, "team",
				    json_object_new_string(s->team));
			if (s->tier != 0)
				json_object_object_add(one, "tier",
				    json_object_new_int(s->tier));
			json_object_object_add(one, "depends_on",
			    services_strv(s->depends_on, s->ndepends_on));
		}
		envs = json_object_new_object();
		for (j = 0; j < sr.ncur; j++)
			if (sr.cur[j].svc == i)
				json_object_object_add(envs, sr.cur[j].env,
				    services_env(&sr, s, &sr.cur[j], client));
		json_object_object_add(one, "environments", envs);
		json_object_array_add(arr, one);
	}
	o = json_object_new_object();
	json_object_object_add(o, "services", arr);
	api_reply_etag(req, o);
	json_object_put(o);
	services_read_free(&sr);
	evhttp_clear_headers(&q);
}
