/*
 * config-web.c: the public status pages (status_pages:), off unless a
 * tenant is named here.
 *
 *   status_pages:
 *     acme:
 *       title: "Acme delivery status"        # optional
 *       fields: [milestones, progress, predicted, delivery, services,
 *                since, incidents]           # the default: all of them
 *
 * Each key is a tenant (checked against tenants: when the catalog
 * declares them, "did you mean"); fields name what the page shows, and
 * nothing else leaves: milestones (title, due, state), progress (and
 * done/total), predicted, delivery (what delivered each: service,
 * environment, region, release, verified_at), services (the current state
 * per environment), since (when it entered it), incidents (the incident
 * deltas of the tenant's milestones: time, resolved, active).
 *
 *   dashboard:
 *     session_ttl: 12h      # a sign-in lasts this long (1s to 30d)
 *     sessions: 1024        # at most this many at once (1 to 65536); a
 *                           # sign-in beyond signs out the oldest
 *
 * Every error is "file:line: key: reason".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static const char *const web_fields[] = {
	"milestones", "progress", "predicted", "delivery", "services",
	"since", "incidents",
};
#define WEB_NFIELDS	(sizeof(web_fields) / sizeof(web_fields[0]))

/* The bit of field name s (STATUS_F_…), or 0. */
static unsigned
config_web_field(const char *s)
{
	size_t	i;

	for (i = 0; i < WEB_NFIELDS; i++)
		if (strcmp(s, web_fields[i]) == 0)
			return (1u << i);
	return (0);
}

static int
config_web_unknown(const char *file, json_object *o, const char *key,
    const char *noun, const char *s, const char *const *names, size_t n,
    const char *where, char *err, size_t errlen)
{
	char	*why;
	int	 rc;

	why = suggest_unknown(noun, s, names, n);
	rc = yaml_errf(err, errlen, file, o, key, "%s%s", why, where);
	free(why);
	return (rc);
}

static int
config_web_page(struct config *cf, struct status_page *p, const char *tenant,
    json_object *o, const char *file, char *err, size_t errlen)
{
	json_object	*f;
	const char	*s;
	char		 key[160];
	size_t		 i;
	unsigned	 bit;

	p->tenant = xstrdup(tenant);
	p->fields = STATUS_F_ALL;
	snprintf(key, sizeof(key), "status_pages.%s", tenant);
	if (!catalog_tenant_ok(cf->catalog, tenant))
		return (config_web_unknown(file, o, "status_pages", "tenant",
		    tenant, (const char *const *)cf->catalog->tenants,
		    cf->catalog->ntenants, " (declared in tenants:)", err,
		    errlen));
	if (o == NULL || json_object_is_type(o, json_type_null))
		return (0);
	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(err, errlen, file, o, key, "%s", "must be a "
		    "mapping: { title, fields }"));
	json_object_object_foreach(o, k, v) {
		if (strcmp(k, "title") == 0) {
			if (!json_object_is_type(v, json_type_string))
				return (yaml_errf(err, errlen, file, v ? v : o,
				    key, "%s", "title must be a string"));
			free(p->title);
			p->title = xstrdup(json_object_get_string(v));
		} else if (strcmp(k, "fields") == 0) {
			if (!json_object_is_type(v, json_type_array) ||
			    json_object_array_length(v) == 0)
				return (yaml_errf(err, errlen, file, v ? v : o,
				    key, "%s", "fields must be a non-empty "
				    "list"));
			p->fields = 0;
			for (i = 0; i < json_object_array_length(v); i++) {
				f = json_object_array_get_idx(v, i);
				s = json_object_get_string(f);
				if ((bit = config_web_field(s ? s : "")) == 0) {
					snprintf(key, sizeof(key),
					    "status_pages.%s.fields", tenant);
					return (config_web_unknown(file,
					    f ? f : v, key, "field", s ? s : "",
					    web_fields, WEB_NFIELDS, "", err,
					    errlen));
				}
				p->fields |= bit;
			}
		} else {
			static const char *const keys[] = { "title",
			    "fields" };

			return (config_web_unknown(file, v ? v : o, key, "key",
			    k, keys, 2, "", err, errlen));
		}
	}
	return (0);
}

/* dashboard: { session_ttl, sessions } into cf->dashboard. */
static int
config_web_dashboard(struct config *cf, json_object *o, const char *file,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "session_ttl", "sessions" };
	double		 secs;
	int64_t		 n;

	cf->dashboard.session_ttl = DASHBOARD_TTL;
	cf->dashboard.sessions = DASHBOARD_SESSIONS;
	if (o == NULL || json_object_is_type(o, json_type_null))
		return (0);
	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(err, errlen, file, o, "dashboard", "%s",
		    "must be a mapping: { session_ttl, sessions }"));
	json_object_object_foreach(o, k, v) {
		if (strcmp(k, "session_ttl") == 0) {
			if (json_object_get_string(v) == NULL ||
			    ts_parse(json_object_get_string(v), &secs) == -1 ||
			    secs < 1 || secs > 30 * 86400)
				return (yaml_errf(err, errlen, file, v ? v : o,
				    "dashboard.session_ttl", "%s", "must be a "
				    "timespan from 1s to 30d, such as 12h"));
			cf->dashboard.session_ttl = (int64_t)secs;
		} else if (strcmp(k, "sessions") == 0) {
			if (!json_object_is_type(v, json_type_int) ||
			    (n = json_object_get_int64(v)) < 1 || n > 65536)
				return (yaml_errf(err, errlen, file, v ? v : o,
				    "dashboard.sessions", "%s", "must be a "
				    "whole number from 1 to 65536"));
			cf->dashboard.sessions = (size_t)n;
		} else
			return (config_web_unknown(file, v ? v : o,
			    "dashboard", "key", k, keys, 2, "", err, errlen));
	}
	return (0);
}

/*
 * Load status_pages: (after the catalog, whose tenants it checks) and
 * dashboard: from tree.  Returns 0, or -1 with err set.
 */
int
config_web_load(struct config *cf, json_object *tree, const char *file,
    char *err, size_t errlen)
{
	json_object	*sp;
	size_t		 n;

	if (config_web_dashboard(cf, json_object_object_get_ex(tree,
	    "dashboard", &sp) ? sp : NULL, file, err, errlen) == -1)
		return (-1);

	if (!json_object_object_get_ex(tree, "status_pages", &sp) ||
	    json_object_is_type(sp, json_type_null))
		return (0);
	if (!json_object_is_type(sp, json_type_object))
		return (yaml_errf(err, errlen, file, sp, "status_pages", "%s",
		    "must be a mapping of tenant to { title, fields }"));
	n = (size_t)json_object_object_length(sp);
	cf->status_pages = xcalloc(n ? n : 1, sizeof(*cf->status_pages));
	json_object_object_foreach(sp, tenant, page) {
		if (config_web_page(cf, &cf->status_pages[cf->nstatus_pages++],
		    tenant, page, file, err, errlen) == -1)
			return (-1);
	}
	return (0);
}

/* The status page of tenant, or NULL: none (the default). */
const struct status_page *
config_status_page(const struct config *cf, const char *tenant)
{
	size_t	i;

	for (i = 0; i < cf->nstatus_pages; i++)
		if (strcmp(cf->status_pages[i].tenant, tenant) == 0)
			return (&cf->status_pages[i]);
	return (NULL);
}

void
config_web_free(struct config *cf)
{
	size_t	i;

	for (i = 0; i < cf->nstatus_pages; i++) {
		free(cf->status_pages[i].tenant);
		free(cf->status_pages[i].title);
	}
	free(cf->status_pages);
	cf->status_pages = NULL;
	cf->nstatus_pages = 0;
}
