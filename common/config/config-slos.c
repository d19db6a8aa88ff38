/*
 * config-slos.c: the slos: section in the file.  derive/slo-conf.c parses
 * it (the model is derivation's); this file checks what only the whole
 * configuration knows: each SLO's service and environment against the
 * service catalog (config-services.c), with the nearest declared name,
 * and takes the service's tenant for the Slo claim's links.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static int
config_slos_unknown(const char *file, json_object *o, const char *key,
    const char *noun, const char *s, const char *const *names, size_t n,
    char *err, size_t errlen)
{
	char	*why;

	why = suggest_unknown(noun, s, names, n);
	yaml_errf(err, errlen, file, o, key, "%s (declared in %s)", why,
	    strcmp(noun, "service") == 0 ? "services:" : "environments:");
	free(why);
	return (-1);
}

/* A scope's names (services:, environments:) checked against the catalog. */
static int
config_gates_scope(const struct catalog *cat, json_object *o,
    const char *key, const char *file, char *err, size_t errlen)
{
	json_object	*l, *v;
	const char	**names, *s;
	char		 sub[300];
	size_t		 i, k;
	int		 rc, env;

	for (env = 0; env < 2; env++) {
		if (!json_object_object_get_ex(o, env ? "environments" :
		    "services", &l) || !json_object_is_type(l, json_type_array))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", key, env ? "environments" :
		    "services");
		for (i = 0; i < json_object_array_length(l); i++) {
			v = json_object_array_get_idx(l, i);
			s = json_object_get_string(v);
			if (s == NULL || (env ? catalog_environment_ok(cat, s) :
			    catalog_service_ok(cat, s)))
				continue;
			if (env)
				return (config_slos_unknown(file, v, sub,
				    "environment", s,
				    (const char *const *)cat->environments,
				    cat->nenvironments, err, errlen));
			names = catalog_service_names(cat, &k);
			rc = config_slos_unknown(file, v, sub, "service", s,
			    names, k, err, errlen);
			free(names);
			return (rc);
		}
	}
	return (0);
}

/* gates: (derive/gate.c), its scopes checked against the catalog. */
static int
config_gates_load(struct config *cf, json_object *tree, const char *file,
    char *err, size_t errlen)
{
	json_object	*g = NULL, *l;
	char		 key[64];
	size_t		 i, k;
	static const char *const lists[] = { "change_windows", "freezes" };

	json_object_object_get_ex(tree, "gates", &g);
	if (gate_conf_load(cf->rules, g, file, err, errlen) == -1)
		return (-1);
	for (k = 0; g != NULL && k < 2; k++) {
		if (!json_object_object_get_ex(g, lists[k], &l))
			continue;
		for (i = 0; i < json_object_array_length(l); i++) {
			snprintf(key, sizeof(key), "gates.%s[%zu]", lists[k], i);
			if (config_gates_scope(cf->catalog,
			    json_object_array_get_idx(l, i), key, file, err,
			    errlen) == -1)
				return (-1);
		}
	}
	return (0);
}

/*
 * Load slos: (then gates:) from tree into cf->rules (after the evidence types and the
 * catalog).  Returns 0, or -1 with err as "file:line: key: reason".
 */
int
config_slos_load(struct config *cf, json_object *tree, const char *file,
    char *err, size_t errlen)
{
	const struct catservice	*svc;
	const struct catalog	*cat = cf->catalog;
	struct slo_def		*d;
	json_object		*slos = NULL, *o, *v;
	const char		**names;
	char			 key[256];
	size_t			 i, n;
	int			 rc;

	json_object_object_get_ex(tree, "slos", &slos);
	if (slo_conf_load(cf->rules, slos, file, err, errlen) == -1)
		return (-1);
	for (i = 0; i < cf->rules->slos->nslo; i++) {
		d = &cf->rules->slos->slo[i];
		json_object_object_get_ex(slos, d->name, &o);
		snprintf(key, sizeof(key), "slos.%s.service", d->name);
		json_object_object_get_ex(o, "service", &v);
		if (!catalog_service_ok(cat, d->service)) {
			names = catalog_service_names(cat, &n);
			rc = config_slos_unknown(file, v, key, "service",
			    d->service, names, n, err, errlen);
			free(names);
			return (rc);
		}
		snprintf(key, sizeof(key), "slos.%s.environment", d->name);
		json_object_object_get_ex(o, "environment", &v);
		if (!catalog_environment_ok(cat, d->environment))
			return (config_slos_unknown(file, v, key, "environment",
			    d->environment,
			    (const char *const *)cat->environments,
			    cat->nenvironments, err, errlen));
		if ((svc = catalog_service(cat, d->service)) != NULL &&
		    svc->ntenants == 1)
			d->tenant = xstrdup(svc->tenants[0]);
	}
	return (config_gates_load(cf, tree, file, err, errlen));
}
