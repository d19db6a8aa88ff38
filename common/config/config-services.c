/*
 * config-services.c: the service catalog (tenants:, environments:,
 * services:) and the check that every tenant, environment and service
 * named elsewhere in the file is one of those declared.
 *
 *   tenants: [acme, globex]
 *   environments: [staging, production]
 *   services:
 *     checkout:
 *       tenant: acme                    # or tenants: [acme, globex]
 *       team: payments
 *       tier: 1
 *       depends_on: [payments-api]
 *       default_environment: production # of incidents that name none
 *       aliases:
 *         - { tool: argocd, name: checkout-prod, environment: production }
 *         - { tool: pagerduty, id: PF9KMXH, environment: production }
 *
 * Every error is "file:line: key: reason"; an unknown name gets the
 * nearest declared one ("did you mean production?").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

struct svcctx {
	const char		*file;
	const struct catalog	*cat;
	char			*err;
	size_t			 errlen;
};

/* "unknown NOUN s (did you mean …?)" at o's line, or 0 when s is known. */
static int
svc_unknown(struct svcctx *c, json_object *o, const char *key,
    const char *noun, const char *s, char *const *names, size_t n)
{
	char	*why;
	int	 rc;

	why = suggest_unknown(noun, s, (const char *const *)names, n);
	rc = yaml_errf(c->err, c->errlen, c->file, o, key, "%s (declared in "
	    "%s)", why, strcmp(noun, "tenant") == 0 ? "tenants:" :
	    strcmp(noun, "environment") == 0 ? "environments:" : "services:");
	free(why);
	return (rc);
}

static int
svc_check_tenant(struct svcctx *c, json_object *o, const char *key,
    const char *s)
{
	if (s == NULL || catalog_tenant_ok(c->cat, s))
		return (0);
	return (svc_unknown(c, o, key, "tenant", s, c->cat->tenants,
	    c->cat->ntenants));
}

static int
svc_check_env(struct svcctx *c, json_object *o, const char *key,
    const char *s)
{
	if (s == NULL || catalog_environment_ok(c->cat, s))
		return (0);
	return (svc_unknown(c, o, key, "environment", s,
	    c->cat->environments, c->cat->nenvironments));
}

static int
svc_check_service(struct svcctx *c, json_object *o, const char *key,
    const char *s)
{
	const char	**names;
	size_t		  n;
	int		  rc;

	if (s == NULL || catalog_service_ok(c->cat, s))
		return (0);
	names = catalog_service_names(c->cat, &n);
	rc = svc_unknown(c, o, key, "service", s, (char *const *)names, n);
	free(names);
	return (rc);
}

static const char *
svc_str(json_object *o)
{
	return (json_object_is_type(o, json_type_string) ?
	    json_object_get_string(o) : NULL);
}

/* Check a string, or each string of a list, with fn. */
static int
svc_check_each(struct svcctx *c, json_object *v, const char *key,
    int (*fn)(struct svcctx *, json_object *, const char *, const char *))
{
	json_object	*one;
	size_t		 i, n;

	if (json_object_is_type(v, json_type_string))
		return (fn(c, v, key, json_object_get_string(v)));
	if (!json_object_is_type(v, json_type_array))
		return (0);
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		one = json_object_array_get_idx(v, i);
		if (fn(c, one ? one : v, key, svc_str(one)) == -1)
			return (-1);
	}
	return (0);
}

static int
svc_alias(struct svcctx *c, struct catservice *s, json_object *a,
    const char *key)
{
	const char	*tool = NULL, *name = NULL, *env = NULL;
	struct buf	 b;
	int		 by_id = 0, rc;

	if (!json_object_is_type(a, json_type_object))
		return (yaml_errf(c->err, c->errlen, c->file, a, key, "%s",
		    "each alias is { tool, name | id, environment }"));
	json_object_object_foreach(a, k, v) {
		if (strcmp(k, "tool") == 0)
			tool = svc_str(v);
		else if (strcmp(k, "name") == 0 || strcmp(k, "id") == 0) {
			if (name != NULL)
				return (yaml_errf(c->err, c->errlen, c->file,
				    a, key, "%s", "an alias has name or id, "
				    "not both"));
			if (json_object_is_type(v, json_type_int))
				name = json_object_get_string(v);
			else
				name = svc_str(v);
			by_id = strcmp(k, "id") == 0;
			if (name == NULL || *name == '\0')
				return (yaml_errf(c->err, c->errlen, c->file,
				    v ? v : a, key, "%s: must be a non-empty "
				    "string", k));
		} else if (strcmp(k, "environment") == 0) {
			if ((env = svc_str(v)) == NULL || *env == '\0')
				return (yaml_errf(c->err, c->errlen, c->file,
				    v ? v : a, key, "%s", "environment: must be "
				    "a non-empty string"));
		} else
			return (yaml_errf(c->err, c->errlen, c->file, v ? v : a,
			    key, "unknown key %s (tool, name, id, "
			    "environment)", k));
	}
	if (tool == NULL || !catalog_tool_ok(tool)) {
		buf_init(&b);
		suggest_list(&b, catalog_tools, 8);
		if (tool != NULL) {
			char *why = suggest_unknown("tool", tool,
			    catalog_tools, 8);

			rc = yaml_errf(c->err, c->errlen, c->file, a, key,
			    "%s", why);
			free(why);
		} else
			rc = yaml_errf(c->err, c->errlen, c->file, a, key,
			    "needs tool (%s)", buf_cstr(&b));
		buf_free(&b);
		return (rc);
	}
	if (name == NULL)
		return (yaml_errf(c->err, c->errlen, c->file, a, key, "%s",
		    "needs name or id"));
	if (by_id && strcmp(tool, "pagerduty") != 0)
		by_id = 0;	/* only PagerDuty tells an id from a name */
	catalog_add_alias(s, tool, by_id, name, env);
	return (0);
}

static int
svc_one(struct svcctx *c, struct catalog *cat, const char *name,
    json_object *o)
{
	struct catservice	*s;
	json_object		*one;
	char			 key[256];
	long long		 tier;
	size_t			 i, n;

	snprintf(key, sizeof(key), "services.%s", name);
	if (*name == '\0' || strlen(name) > 128 || strchr(name, '/') != NULL)
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "%s",
		    "a service name is 1 to 128 characters without '/'"));
	if (o != NULL && !json_object_is_type(o, json_type_object))
		return (yaml_errf(c->err, c->errlen, c->file, o, key, "%s",
		    "must be a mapping (tenant, tenants, team, tier, "
		    "depends_on, default_environment, aliases)"));
	s = catalog_add_service(cat, name);
	if (o == NULL)
		return (0);
	json_object_object_foreach(o, k, v) {
		snprintf(key, sizeof(key), "services.%s.%s", name, k);
		if (strcmp(k, "tenant") == 0 || strcmp(k, "tenants") == 0) {
			if (s->ntenants > 0)
				return (yaml_errf(c->err, c->errlen, c->file,
				    v ? v : o, key, "%s", "tenant and tenants "
				    "together"));
			if (yaml_strlist(v, c->file, key, 1, YAML_NONEMPTY,
			    &s->tenants, &s->ntenants, c->err, c->errlen) == -1)
				return (-1);
		} else if (strcmp(k, "team") == 0) {
			if (svc_str(v) == NULL || *svc_str(v) == '\0')
				return (yaml_errf(c->err, c->errlen, c->file,
				    v ? v : o, key, "%s", "must be a non-empty "
				    "string"));
			s->team = xstrdup(svc_str(v));
		} else if (strcmp(k, "tier") == 0) {
			if (!json_object_is_type(v, json_type_int) ||
			    (tier = json_object_get_int64(v)) < 1 || tier > 9)
				return (yaml_errf(c->err, c->errlen, c->file,
				    v ? v : o, key, "%s", "must be an integer "
				    "from 1 (highest business impact) to 9"));
			s->tier = (int)tier;
		} else if (strcmp(k, "depends_on") == 0) {
			if (yaml_strlist(v, c->file, key, 1, 0, &s->depends_on,
			    &s->ndepends_on, c->err, c->errlen) == -1)
				return (-1);
		} else if (strcmp(k, "default_environment") == 0) {
			if (svc_str(v) == NULL || *svc_str(v) == '\0')
				return (yaml_errf(c->err, c->errlen, c->file,
				    v ? v : o, key, "%s", "must be a non-empty "
				    "string"));
			s->default_environment = xstrdup(svc_str(v));
		} else if (strcmp(k, "aliases") == 0) {
			if (!json_object_is_type(v, json_type_array))
				return (yaml_errf(c->err, c->errlen, c->file,
				    v ? v : o, key, "%s", "must be a list of "
				    "{ tool, name | id, environment }"));
			n = json_object_array_length(v);
			for (i = 0; i < n; i++) {
				one = json_object_array_get_idx(v, i);
				snprintf(key, sizeof(key),
				    "services.%s.aliases[%zu]", name, i);
				if (svc_alias(c, s, one ? one : v, key) == -1)
					return (-1);
			}
		} else
			return (yaml_errf(c->err, c->errlen, c->file, v ? v : o,
			    key, "%s", "unknown key (tenant, tenants, team, "
			    "tier, depends_on, default_environment, "
			    "aliases)"));
	}
	return (0);
}

/* The names of the catalog checked where the services section says them. */
static int
svc_check_services(struct svcctx *c, json_object *services)
{
	json_object	*v, *a, *e;
	char		 key[256];
	size_t		 i, n;

	json_object_object_foreach(services, name, o) {
		if (o == NULL)
			continue;
		snprintf(key, sizeof(key), "services.%s.tenant", name);
		if (json_object_object_get_ex(o, "tenant", &v) &&
		    svc_check_each(c, v, key, svc_check_tenant) == -1)
			return (-1);
		snprintf(key, sizeof(key), "services.%s.tenants", name);
		if (json_object_object_get_ex(o, "tenants", &v) &&
		    svc_check_each(c, v, key, svc_check_tenant) == -1)
			return (-1);
		snprintf(key, sizeof(key), "services.%s.depends_on", name);
		if (json_object_object_get_ex(o, "depends_on", &v) &&
		    svc_check_each(c, v, key, svc_check_service) == -1)
			return (-1);
		snprintf(key, sizeof(key), "services.%s.default_environment",
		    name);
		if (json_object_object_get_ex(o, "default_environment", &v) &&
		    svc_check_env(c, v, key, svc_str(v)) == -1)
			return (-1);
		if (!json_object_object_get_ex(o, "aliases", &a))
			continue;
		n = json_object_array_length(a);
		for (i = 0; i < n; i++) {
			snprintf(key, sizeof(key),
			    "services.%s.aliases[%zu].environment", name, i);
			if (json_object_object_get_ex(json_object_array_get_idx(
			    a, i), "environment", &e) &&
			    svc_check_env(c, e, key, svc_str(e)) == -1)
				return (-1);
		}
	}
	return (0);
}

/* tokens[].tenant, subscriptions[].tenant. */
static int
svc_check_list_tenant(struct svcctx *c, json_object *tree, const char *list)
{
	json_object	*l, *v;
	char		 key[128];
	size_t		 i, n;

	if (!json_object_object_get_ex(tree, list, &l) ||
	    !json_object_is_type(l, json_type_array))
		return (0);
	n = json_object_array_length(l);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s[%zu].tenant", list, i);
		if (json_object_object_get_ex(json_object_array_get_idx(l, i),
		    "tenant", &v) && svc_check_tenant(c, v, key, svc_str(v)) ==
		    -1)
			return (-1);
	}
	return (0);
}

/* milestones[]: tenant (or client), environment, scope.services. */
static int
svc_check_milestones(struct svcctx *c, json_object *tree)
{
	json_object	*l, *m, *v, *scope;
	char		 key[128];
	size_t		 i, n;

	if (!json_object_object_get_ex(tree, "milestones", &l) ||
	    !json_object_is_type(l, json_type_array))
		return (0);
	n = json_object_array_length(l);
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(l, i);
		snprintf(key, sizeof(key), "milestones[%zu].tenant", i);
		if ((json_object_object_get_ex(m, "tenant", &v) ||
		    json_object_object_get_ex(m, "client", &v)) &&
		    svc_check_tenant(c, v, key, svc_str(v)) == -1)
			return (-1);
		snprintf(key, sizeof(key), "milestones[%zu].environment", i);
		if (json_object_object_get_ex(m, "environment", &v) &&
		    svc_check_env(c, v, key, svc_str(v)) == -1)
			return (-1);
		snprintf(key, sizeof(key), "milestones[%zu].scope.services", i);
		if (json_object_object_get_ex(m, "scope", &scope) &&
		    json_object_object_get_ex(scope, "services", &v) &&
		    svc_check_each(c, v, key, svc_check_service) == -1)
			return (-1);
	}
	return (0);
}

/* deployments: environments, pipelines, dependencies, overrides. */
static int
svc_check_deployments(struct svcctx *c, json_object *tree)
{
	json_object	*d, *v, *p, *pl;
	char		 key[256];
	size_t		 i, n;

	if (!json_object_object_get_ex(tree, "deployments", &d) ||
	    !json_object_is_type(d, json_type_object))
		return (0);
	if (json_object_object_get_ex(d, "environments", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, env, ev) {
			snprintf(key, sizeof(key), "deployments.environments.%s",
			    env);
			if (svc_check_env(c, ev ? ev : v, key, env) == -1)
				return (-1);
		}
	}
	if (json_object_object_get_ex(d, "pipelines", &pl) &&
	    json_object_is_type(pl, json_type_array)) {
		n = json_object_array_length(pl);
		for (i = 0; i < n; i++) {
			p = json_object_array_get_idx(pl, i);
			snprintf(key, sizeof(key), "deployments.pipelines[%zu]."
			    "service", i);
			if (json_object_object_get_ex(p, "service", &v) &&
			    svc_check_service(c, v, key, svc_str(v)) == -1)
				return (-1);
			snprintf(key, sizeof(key), "deployments.pipelines[%zu]."
			    "environment", i);
			if (json_object_object_get_ex(p, "environment", &v) &&
			    svc_check_env(c, v, key, svc_str(v)) == -1)
				return (-1);
		}
	}
	if (json_object_object_get_ex(d, "dependencies", &v) &&
	    json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, svc, up) {
			snprintf(key, sizeof(key), "deployments.dependencies.%s",
			    svc);
			if (svc_check_service(c, up ? up : v, key, svc) == -1 ||
			    svc_check_each(c, up, key, svc_check_service) == -1)
				return (-1);
		}
	}
	if (json_object_object_get_ex(d, "overrides", &v) &&
	    json_object_object_get_ex(v, "forbid_in", &p) &&
	    svc_check_each(c, p, "deployments.overrides.forbid_in",
	    svc_check_env) == -1)
		return (-1);
	return (0);
}

/*
 * Load tenants:, environments: and services: from tree into cf->catalog
 * (always set once this returns 0), feed each service's depends_on to the
 * deployment machine, then check every tenant, environment and service
 * named anywhere in the file against what is declared (a kind that is
 * not declared at all is not checked).  Returns 0, or -1 with err as
 * "file:line: key: reason".
 */
int
config_services_load(struct config *cf, json_object *tree, const char *file,
    char *err, size_t errlen)
{
	struct svcctx	 c = { file, NULL, err, errlen };
	struct catalog	*cat;
	json_object	*v, *services = NULL;
	char		 why[MP_ERRLEN];
	size_t		 i;

	cat = cf->catalog = catalog_new();
	c.cat = cat;
	if (json_object_object_get_ex(tree, "tenants", &v) &&
	    yaml_strlist(v, file, "tenants", 1, YAML_NONEMPTY, &cat->tenants,
	    &cat->ntenants, err, errlen) == -1)
		return (-1);
	if (json_object_object_get_ex(tree, "environments", &v) &&
	    yaml_strlist(v, file, "environments", 1, YAML_NONEMPTY,
	    &cat->environments, &cat->nenvironments, err, errlen) == -1)
		return (-1);
	if (json_object_object_get_ex(tree, "services", &services)) {
		if (!json_object_is_type(services, json_type_object))
			return (yaml_errf(err, errlen, file, services ?
			    services : tree, "services", "%s", "must be a "
			    "mapping of service name to its settings"));
		json_object_object_foreach(services, name, o) {
			if (svc_one(&c, cat, name, o) == -1)
				return (-1);
		}
	}
	if (catalog_index(cat, why, sizeof(why)) == -1)
		return (yaml_errf(err, errlen, file, services, "services",
		    "%s", why));
	for (i = 0; i < cat->nservices; i++)
		if (cat->services[i].ndepends_on > 0)
			deploy_add_dependency(cf->rules, cat->services[i].name,
			    cat->services[i].depends_on,
			    cat->services[i].ndepends_on);
	if (services != NULL && svc_check_services(&c, services) == -1)
		return (-1);
	if (svc_check_list_tenant(&c, tree, "tokens") == -1 ||
	    svc_check_list_tenant(&c, tree, "subscriptions") == -1 ||
	    svc_check_milestones(&c, tree) == -1 ||
	    svc_check_deployments(&c, tree) == -1)
		return (-1);
	return (0);
}

void
config_services_free(struct config *cf)
{
	catalog_free(cf->catalog);
	cf->catalog = NULL;
	free(cf->alias_refuse);
	cf->alias_refuse = NULL;
}

/*
 * Does source src (NULL: the agent, POST /v1/evidence) refuse evidence
 * that names no alias of the catalog (sources.NAME.unknown_alias: refuse)?
 */
int
config_alias_refuse(const struct config *cf, const struct mp_source *src)
{
	if (cf->alias_refuse == NULL)
		return (0);
	return (cf->alias_refuse[src != NULL ? source_index(src) :
	    source_count()]);
}
