/*
 * catalog.c: the service catalog.  One identity per service across the
 * tools: each tool's name for it (an Argo CD Application, a PagerDuty
 * service name or id, an Alertmanager label, a Jenkins job, a repository)
 * is an alias, which may pin an environment.  catalog_resolve rewrites an
 * evidence object (JSON, before it is checked and stored) to the canonical
 * service, with environment, tenant and team links where known; the tool's
 * own name stays as the link tool_service.
 *
 * Lookups are one hash probe each (open addressing over FNV-1a of
 * "kind NUL name"), built once by catalog_index after loading: resolution
 * runs for every evidence received and must not cost a scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record.h"

/* The tools an alias may name (INTERFACE.md, Extensions). */
const char *const catalog_tools[] = {
	"argocd", "pagerduty", "alertmanager", "jenkins", "gitlab", "github",
	"cdevents", "repo", NULL
};

#define CAT_SVC		"="		/* the kind of a canonical name */
#define CAT_NONE	((size_t)-1)

struct catslot {
	char		*key;		/* "kind\0name", or NULL: empty */
	size_t		 keylen;
	uint64_t	 hash;
	size_t		 service;
	size_t		 alias;		/* CAT_NONE for a canonical name */
};

static uint64_t
catalog_hash(const char *key, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	return (h);
}

/* "kind\0name" into buf (NUL-terminated, len without it), or -1. */
static int
catalog_key(char *buf, size_t bufsz, const char *kind, int by_id,
    const char *name, size_t *len)
{
	int	n;

	n = snprintf(buf, bufsz, "%s%s%c%s", kind, by_id ? "#" : "", '\0',
	    name);
	if (n < 0 || (size_t)n >= bufsz)
		return (-1);
	*len = (size_t)n;
	return (0);
}

struct catalog *
catalog_new(void)
{
	return (xcalloc(1, sizeof(struct catalog)));
}

static void
catalog_unindex(struct catalog *cat)
{
	size_t	i;

	for (i = 0; i < cat->nslots; i++)
		free(cat->slots[i].key);
	free(cat->slots);
	cat->slots = NULL;
	cat->nslots = 0;
}

void
catalog_free(struct catalog *cat)
{
	struct catservice	*s;
	size_t			 i, j;

	if (cat == NULL)
		return;
	catalog_unindex(cat);
	strv_free(cat->tenants, cat->ntenants);
	strv_free(cat->environments, cat->nenvironments);
	for (i = 0; i < cat->nservices; i++) {
		s = &cat->services[i];
		free(s->name);
		strv_free(s->tenants, s->ntenants);
		free(s->team);
		free(s->default_environment);
		strv_free(s->depends_on, s->ndepends_on);
		for (j = 0; j < s->naliases; j++) {
			free(s->aliases[j].tool);
			free(s->aliases[j].name);
			free(s->aliases[j].environment);
		}
		free(s->aliases);
	}
	free(cat->services);
	free(cat);
}

/* A new service named name (copied); the pointer lasts until the next add. */
struct catservice *
catalog_add_service(struct catalog *cat, const char *name)
{
	struct catservice	*s;

	cat->services = xreallocarray(cat->services, cat->nservices + 1,
	    sizeof(*cat->services));
	s = &cat->services[cat->nservices++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	return (s);
}

/* An alias of s (strings copied; environment may be NULL). */
void
catalog_add_alias(struct catservice *s, const char *tool, int by_id,
    const char *name, const char *environment)
{
	struct catalias	*a;

	s->aliases = xreallocarray(s->aliases, s->naliases + 1,
	    sizeof(*s->aliases));
	a = &s->aliases[s->naliases++];
	a->tool = xstrdup(tool);
	a->by_id = by_id;
	a->name = xstrdup(name);
	a->environment = environment != NULL ? xstrdup(environment) : NULL;
}

static struct catslot *
catalog_probe(const struct catalog *cat, const char *key, size_t len,
    uint64_t h)
{
	size_t	i, mask = cat->nslots - 1;

	for (i = h & mask;; i = (i + 1) & mask) {
		if (cat->slots[i].key == NULL ||
		    (cat->slots[i].hash == h && cat->slots[i].keylen == len &&
		    memcmp(cat->slots[i].key, key, len) == 0))
			return (&cat->slots[i]);
	}
}

/*
 * Put one key; returns 0, or -1 when it is already taken (by the service
 * and alias that *dup_svc and *dup_alias then name).
 */
static int
catalog_put(struct catalog *cat, const char *kind, int by_id,
    const char *name, size_t svc, size_t alias, size_t *dup_svc,
    size_t *dup_alias)
{
	struct catslot	*sl;
	char		 key[MP_IDMAX * 2 + 32];
	size_t		 len;
	uint64_t	 h;

	if (catalog_key(key, sizeof(key), kind, by_id, name, &len) == -1)
		return (0);	/* too long to be looked up either */
	h = catalog_hash(key, len);
	sl = catalog_probe(cat, key, len, h);
	if (sl->key != NULL) {
		*dup_svc = sl->service;
		*dup_alias = sl->alias;
		return (-1);
	}
	sl->key = xmalloc(len + 1);
	memcpy(sl->key, key, len + 1);
	sl->keylen = len;
	sl->hash = h;
	sl->service = svc;
	sl->alias = alias;
	return (0);
}

/*
 * Build the lookup table once every service and alias is in.  Returns 0,
 * or -1 with err naming the alias that two services (or one, twice) claim.
 */
int
catalog_index(struct catalog *cat, char *err, size_t errlen)
{
	struct catservice	*s;
	struct catalias		*a;
	size_t			 i, j, n = 0, ds, da;

	catalog_unindex(cat);
	for (i = 0; i < cat->nservices; i++)
		n += 1 + cat->services[i].naliases;
	for (cat->nslots = 16; cat->nslots < n * 2; cat->nslots *= 2)
		;
	cat->slots = xcalloc(cat->nslots, sizeof(*cat->slots));
	for (i = 0; i < cat->nservices; i++) {
		s = &cat->services[i];
		if (catalog_put(cat, CAT_SVC, 0, s->name, i, CAT_NONE, &ds,
		    &da) == -1) {
			snprintf(err, errlen, "service %s is declared twice",
			    s->name);
			return (-1);
		}
	}
	for (i = 0; i < cat->nservices; i++) {
		s = &cat->services[i];
		for (j = 0; j < s->naliases; j++) {
			a = &s->aliases[j];
			if (catalog_put(cat, a->tool, a->by_id, a->name, i, j,
			    &ds, &da) == -1) {
				snprintf(err, errlen, "alias { tool: %s, %s: %s } "
				    "is already service %s's", a->tool, a->by_id ?
				    "id" : "name", a->name,
				    cat->services[ds].name);
				return (-1);
			}
		}
	}
	return (0);
}

static const struct catslot *
catalog_get(const struct catalog *cat, const char *kind, int by_id,
    const char *name)
{
	const struct catslot	*sl;
	char			 key[MP_IDMAX * 2 + 32];
	size_t			 len;

	if (cat == NULL || cat->nslots == 0 || name == NULL || *name == '\0' ||
	    catalog_key(key, sizeof(key), kind, by_id, name, &len) == -1)
		return (NULL);
	sl = catalog_probe(cat, key, len, catalog_hash(key, len));
	return (sl->key != NULL ? sl : NULL);
}

/* The service of canonical name `name`, or NULL. */
const struct catservice *
catalog_service(const struct catalog *cat, const char *name)
{
	const struct catslot	*sl = catalog_get(cat, CAT_SVC, 0, name);

	return (sl != NULL ? &cat->services[sl->service] : NULL);
}

/* The alias (tool, name or id), or NULL; *svc is its service. */
const struct catalias *
catalog_alias(const struct catalog *cat, const char *tool, int by_id,
    const char *name, const struct catservice **svc)
{
	const struct catslot	*sl = catalog_get(cat, tool, by_id, name);

	if (sl == NULL || sl->alias == CAT_NONE)
		return (NULL);
	if (svc != NULL)
		*svc = &cat->services[sl->service];
	return (&cat->services[sl->service].aliases[sl->alias]);
}

int
catalog_tool_ok(const char *tool)
{
	size_t	i;

	for (i = 0; catalog_tools[i] != NULL; i++)
		if (strcmp(catalog_tools[i], tool) == 0)
			return (1);
	return (0);
}

static int
catalog_in(char *const *v, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return (1);
	return (0);
}

/* Does the catalog declare tenants (and is s one of them)? */
int
catalog_tenant_ok(const struct catalog *cat, const char *s)
{
	return (cat == NULL || cat->ntenants == 0 ||
	    catalog_in(cat->tenants, cat->ntenants, s));
}

int
catalog_environment_ok(const struct catalog *cat, const char *s)
{
	return (cat == NULL || cat->nenvironments == 0 ||
	    catalog_in(cat->environments, cat->nenvironments, s));
}

int
catalog_service_ok(const struct catalog *cat, const char *s)
{
	return (cat == NULL || cat->nservices == 0 ||
	    catalog_service(cat, s) != NULL);
}

/* The canonical names, for suggestions (a new vector of borrowed names). */
const char **
catalog_service_names(const struct catalog *cat, size_t *n)
{
	const char	**v;
	size_t		  i;

	*n = cat != NULL ? cat->nservices : 0;
	v = xcalloc(*n + 1, sizeof(*v));
	for (i = 0; i < *n; i++)
		v[i] = cat->services[i].name;
	return (v);
}

static const char *
catalog_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    *json_object_get_string(v) == '\0')
		return (NULL);
	return (json_object_get_string(v));
}

static void
catalog_set(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

/* Incidents and alerts take a service's default environment. */
static int
catalog_scoped_type(const char *type)
{
	return (type != NULL && (strncmp(type, "Incident", 8) == 0 ||
	    strncmp(type, "Alert", 5) == 0));
}

/*
 * Resolve the names in evidence ev (a JSON object, as a source normalized
 * it or the agent sent it; changed in place) that `source` (a source's
 * name, "agent", …) uses.  Tried in order, first match wins: the source's
 * alias of the service link (or property), the canonical name itself, the
 * source's alias of the service_id link, a pipeline's job name (the name
 * property), the repo link (tool repo).
 *
 * Returns CAT_RESOLVED with the links set; CAT_NOTHING when the catalog
 * has no services or the evidence names none; CAT_MISS with miss holding
 * the alias to add ("{ tool: pagerduty, name: \"Checkout APIX\" }") and
 * the evidence untouched.
 */
enum catalog_result
catalog_resolve(const struct catalog *cat, const char *source,
    json_object *ev, char *miss, size_t misslen)
{
	const struct catservice	*s = NULL;
	const struct catalias	*a = NULL;
	json_object		*props = NULL, *links = NULL;
	const char		*svc, *sid, *job, *repo, *env, *tool;
	const char		*type;

	if (miss != NULL && misslen > 0)
		miss[0] = '\0';
	if (cat == NULL || cat->nservices == 0 ||
	    !json_object_is_type(ev, json_type_object))
		return (CAT_NOTHING);
	if (json_object_object_get_ex(ev, "properties", &props) &&
	    !json_object_is_type(props, json_type_object))
		props = NULL;
	if (json_object_object_get_ex(ev, "links", &links) &&
	    !json_object_is_type(links, json_type_object))
		return (CAT_NOTHING);	/* the envelope check refuses it */
	type = catalog_str(ev, "type");
	tool = catalog_tool_ok(source) ? source : NULL;
	if ((svc = catalog_str(links, "service")) == NULL)
		svc = catalog_str(props, "service");
	sid = catalog_str(links, "service_id");
	job = type != NULL && strncmp(type, "Pipeline", 8) == 0 ?
	    catalog_str(props, "name") : NULL;
	repo = catalog_str(links, "repo");
	if (svc == NULL && sid == NULL && job == NULL && repo == NULL)
		return (CAT_NOTHING);

	if (tool != NULL && svc != NULL)
		a = catalog_alias(cat, tool, 0, svc, &s);
	if (a == NULL && svc != NULL)
		s = catalog_service(cat, svc);
	if (s == NULL && tool != NULL && sid != NULL)
		a = catalog_alias(cat, tool, 1, sid, &s);
	if (s == NULL && tool != NULL && job != NULL)
		a = catalog_alias(cat, tool, 0, job, &s);
	if (s == NULL && repo != NULL)
		a = catalog_alias(cat, "repo", 0, repo, &s);
	if (s == NULL) {
		if (miss != NULL) {
			if (svc != NULL || sid != NULL || job != NULL)
				snprintf(miss, misslen, "{ tool: %s, %s: \"%s\" }",
				    tool != NULL ? tool : "repo",
				    svc != NULL || sid == NULL ? "name" : "id",
				    svc != NULL ? svc : sid != NULL ? sid : job);
			else
				snprintf(miss, misslen, "{ tool: repo, name: "
				    "\"%s\" }", repo);
		}
		return (CAT_MISS);
	}

	if (links == NULL) {
		links = json_object_new_object();
		json_object_object_add(ev, "links", links);
	}
	if (svc != NULL && strcmp(svc, s->name) != 0)
		catalog_set(links, "tool_service", svc);
	catalog_set(links, "service", s->name);
	if (props != NULL && catalog_str(props, "service") != NULL)
		catalog_set(props, "service", s->name);
	/* The environment: the alias's, else the payload's, else the default. */
	env = a != NULL ? a->environment : NULL;
	if (env == NULL && (env = catalog_str(links, "environment")) == NULL &&
	    (env = catalog_str(props, "environment")) == NULL &&
	    catalog_scoped_type(type))
		env = s->default_environment;
	if (env != NULL) {
		env = xstrdup(env);	/* it may be the value replaced */
		catalog_set(links, "environment", env);
		if (props != NULL && catalog_str(props, "environment") != NULL)
			catalog_set(props, "environment", env);
		free((char *)env);
	}
	if (s->ntenants == 1 && catalog_str(links, "tenant") == NULL)
		catalog_set(links, "tenant", s->tenants[0]);
	if (s->team != NULL)
		catalog_set(links, "team", s->team);
	return (CAT_RESOLVED);
}
