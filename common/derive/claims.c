/*
 * claims.c: claim types and their lifecycle rules.
 *
 *   claim_types:
 *     BuildLifecycle:
 *       properties: { completed: { type: boolean, required: true }, ... }
 *       created_by: { evidence: BuildStartedEvent, set: { completed: false } }
 *       revised_by:
 *         - { evidence: BuildCompleted, set: { completed: true, duration: $duration } }
 *
 * A "set" value is a constant (coerced to the property's type when the
 * configuration loads) or "$name", the evidence's property of that name,
 * which must exist with the same type.  BuildLifecycle is built in; a
 * declaration of the same name replaces it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive/derive.h"

static void
claims_set_free(struct setrule *set, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(set[i].prop);
		free(set[i].from);
		json_object_put(set[i].value);
	}
	free(set);
}

static void
claims_def_clear(struct claimdef *d)
{
	size_t	i;

	types_evtype_clear(&d->t);
	free(d->created_by);
	claims_set_free(d->create_set, d->ncreate_set);
	for (i = 0; i < d->nrevised; i++) {
		free(d->revised[i].evidence);
		claims_set_free(d->revised[i].set, d->revised[i].nset);
	}
	free(d->revised);
	memset(d, 0, sizeof(*d));
}

void
claims_free_defs(struct rules *t)
{
	size_t	i;

	for (i = 0; i < t->ncl; i++)
		claims_def_clear(&t->cl[i]);
	free(t->cl);
	t->cl = NULL;
	t->ncl = 0;
}

const struct claimdef *
claims_find(const struct rules *t, const char *name)
{
	size_t	i;

	for (i = 0; i < t->ncl; i++)
		if (strcmp(t->cl[i].t.name, name) == 0)
			return (&t->cl[i]);
	return (NULL);
}

/*
 * Parse a {evidence: TYPE, set: {...}} rule against claim d.  Returns the
 * evidence type's name (new) with *setp and *nsetp filled, or NULL.
 */
static char *
claims_rule(const struct rules *t, struct claimdef *d, json_object *rule,
    const char *file, const char *path, struct setrule **setp, size_t *nsetp,
    char *err, size_t errlen)
{
	const struct evtype	*et;
	const struct propdef	*cp, *ep;
	json_object		*ev = NULL, *set = NULL, *cv;
	struct setrule		*sr;
	char			 key[768], why[MP_ERRLEN];
	const char		*s;

	*setp = NULL;
	*nsetp = 0;
	if (!json_object_is_type(rule, json_type_object)) {
		yaml_errf(err, errlen, file, rule, path, "%s",
		    "must be a mapping with evidence and set");
		return (NULL);
	}
	json_object_object_foreach(rule, k, v) {
		if (strcmp(k, "evidence") && strcmp(k, "set")) {
			snprintf(key, sizeof(key), "%s.%s", path, k);
			yaml_errf(err, errlen, file, v ? v : rule, key,
			    "%s", "unknown key (expected evidence and set)");
			return (NULL);
		}
	}
	snprintf(key, sizeof(key), "%s.evidence", path);
	if (!json_object_object_get_ex(rule, "evidence", &ev) ||
	    !json_object_is_type(ev, json_type_string)) {
		yaml_errf(err, errlen, file, ev ? ev : rule, key, "%s",
		    "missing, or not an evidence type name");
		return (NULL);
	}
	if ((et = types_find(t->types, json_object_get_string(ev))) == NULL) {
		yaml_errf(err, errlen, file, ev, key, "unknown evidence type "
		    "\"%.128s\"", json_object_get_string(ev));
		return (NULL);
	}
	if (json_object_object_get_ex(rule, "set", &set) && set != NULL) {
		snprintf(key, sizeof(key), "%s.set", path);
		if (!json_object_is_type(set, json_type_object)) {
			yaml_errf(err, errlen, file, set, key, "%s",
			    "must be a mapping of claim property to value");
			return (NULL);
		}
		json_object_object_foreach(set, pk, pv) {
			snprintf(key, sizeof(key), "%s.set.%s", path, pk);
			if ((cp = types_prop(&d->t, pk)) == NULL) {
				yaml_errf(err, errlen, file, pv ? pv : set,
				    key, "%s has no such property",
				    d->t.name);
				goto fail;
			}
			*setp = xreallocarray(*setp, *nsetp + 1,
			    sizeof(**setp));
			sr = &(*setp)[(*nsetp)++];
			memset(sr, 0, sizeof(*sr));
			sr->prop = xstrdup(pk);
			if (pv != NULL && json_object_is_type(pv,
			    json_type_string) &&
			    *(s = json_object_get_string(pv)) == '$') {
				if ((ep = types_prop(et, s + 1)) == NULL) {
					yaml_errf(err, errlen, file, pv, key,
					    "the evidence has no property "
					    "\"%.64s\"", s);
					goto fail;
				}
				if (ep->type != cp->type || ep->list !=
				    cp->list) {
					snprintf(why, sizeof(why), "%s is %s but "
					    "the claim property is %s",
					    s, types_ptype_name(ep->type),
					    types_ptype_name(cp->type));
					yaml_errf(err, errlen, file, pv, key,
					    "%s", why);
					goto fail;
				}
				sr->from = xstrdup(s + 1);
				continue;
			}
			if (types_coerce(cp, pv, &cv, why, sizeof(why)) == -1) {
				yaml_errf(err, errlen, file, pv ? pv : set,
				    key, "%s", why);
				goto fail;
			}
			sr->value = cv;
		}
	}
	return (xstrdup(et->name));
fail:
	claims_set_free(*setp, *nsetp);
	*setp = NULL;
	*nsetp = 0;
	return (NULL);
}

/* Is every required property of d set by its creation rule? */
static int
claims_check_required(struct claimdef *d, json_object *o, const char *file,
    const char *path, char *err, size_t errlen)
{
	size_t	i, j;
	int	found;

	for (i = 0; i < d->t.nprops; i++) {
		if (!d->t.props[i].required)
			continue;
		for (j = 0, found = 0; j < d->ncreate_set; j++)
			if (strcmp(d->create_set[j].prop,
			    d->t.props[i].name) == 0)
				found = 1;
		if (!found)
			return (yaml_errf(err, errlen, file, o, path,
			    "required property %s is not set on creation",
			    d->t.props[i].name));
	}
	return (0);
}

static int
claims_load_one(struct rules *t, struct claimdef *d, const char *name,
    json_object *decl, const char *file, char *err, size_t errlen)
{
	json_object	*props = NULL, *cb = NULL, *rb = NULL, *one;
	char		 path[512], key[640];
	size_t		 i, n;

	memset(d, 0, sizeof(*d));
	d->t.name = xstrdup(name);
	snprintf(path, sizeof(path), "claim_types.%s", name);
	if (!types_name_ok(name))
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "type names are letters, digits, '_', '-' or '.'"));
	if (types_find(t->types, name) != NULL)
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "an evidence type has this name already"));
	if (!json_object_is_type(decl, json_type_object))
		return (yaml_errf(err, errlen, file, decl, path, "%s",
		    "must be a mapping with properties and created_by"));
	json_object_object_foreach(decl, k, v) {
		if (strcmp(k, "properties") && strcmp(k, "created_by") &&
		    strcmp(k, "revised_by") && strcmp(k, "description")) {
			snprintf(key, sizeof(key), "%s.%s", path, k);
			return (yaml_errf(err, errlen, file, v ? v : decl, key,
			    "%s", "unknown key (expected properties, "
			    "created_by, revised_by or description)"));
		}
	}
	if (json_object_object_get_ex(decl, "properties", &props) &&
	    props != NULL) {
		snprintf(key, sizeof(key), "%s.properties", path);
		if (types_load_props(&d->t, props, file, key, err, errlen) ==
		    -1)
			return (-1);
	}
	snprintf(key, sizeof(key), "%s.created_by", path);
	if (!json_object_object_get_ex(decl, "created_by", &cb) || cb == NULL)
		return (yaml_errf(err, errlen, file, decl, key, "%s",
		    "a claim type needs created_by"));
	if ((d->created_by = claims_rule(t, d, cb, file, key, &d->create_set,
	    &d->ncreate_set, err, errlen)) == NULL)
		return (-1);
	if (claims_check_required(d, cb, file, key, err, errlen) == -1)
		return (-1);
	if (json_object_object_get_ex(decl, "revised_by", &rb) && rb != NULL) {
		snprintf(key, sizeof(key), "%s.revised_by", path);
		if (json_object_is_type(rb, json_type_object))
			n = 1;
		else if (json_object_is_type(rb, json_type_array))
			n = json_object_array_length(rb);
		else
			return (yaml_errf(err, errlen, file, rb, key, "%s",
			    "must be a list of {evidence, set} rules"));
		d->revised = xcalloc(n ? n : 1, sizeof(*d->revised));
		for (i = 0; i < n; i++) {
			one = json_object_is_type(rb, json_type_array) ?
			    json_object_array_get_idx(rb, i) : rb;
			snprintf(key, sizeof(key), "%s.revised_by[%zu]", path,
			    i);
			if ((d->revised[i].evidence = claims_rule(t, d,
			    one ? one : rb, file, key, &d->revised[i].set,
			    &d->revised[i].nset, err, errlen)) == NULL)
				return (-1);
			d->nrevised++;
		}
	}
	return (0);
}

static const char builtin_lifecycle[] =
	"BuildLifecycle:\n"
	"  properties:\n"
	"    completed: { type: boolean, required: true }\n"
	"    duration: { type: timespan }\n"
	"    buildStatus: { type: enum, options: [success, failure] }\n"
	"  created_by: { evidence: BuildStartedEvent, set: { completed: false } }\n"
	"  revised_by:\n"
	"    - evidence: BuildCompleted\n"
	"      set: { completed: true, duration: $duration, "
	"buildStatus: $buildStatus }\n";

/*
 * Load "claim_types" (may be NULL) into t after the built-in claim types;
 * evidence types must be loaded already.
 */
int
claims_load(struct rules *t, json_object *decls, const char *file,
    char *err, size_t errlen)
{
	json_object	*builtin;
	struct claimdef	 d;
	size_t		 i;
	int		 replaced;

	if (t->ncl == 0) {
		builtin = yaml_parse(builtin_lifecycle,
		    sizeof(builtin_lifecycle) - 1, "(built-in)", err, errlen);
		if (builtin == NULL)
			return (-1);
		json_object_object_foreach(builtin, bn, bd) {
			if (claims_load_one(t, &d, bn, bd, "(built-in)", err,
			    errlen) == -1) {
				claims_def_clear(&d);
				json_object_put(builtin);
				return (-1);
			}
			t->cl = xreallocarray(t->cl, t->ncl + 1,
			    sizeof(*t->cl));
			t->cl[t->ncl++] = d;
		}
		json_object_put(builtin);
	}
	if (decls == NULL)
		return (0);
	if (!json_object_is_type(decls, json_type_object))
		return (yaml_errf(err, errlen, file, decls, "claim_types",
		    "%s", "must be a mapping of claim type name to declaration"));
	json_object_object_foreach(decls, name, decl) {
		if (claims_load_one(t, &d, name, decl ? decl : decls, file,
		    err, errlen) == -1) {
			claims_def_clear(&d);
			return (-1);
		}
		for (i = 0, replaced = 0; i < t->ncl; i++) {
			if (strcmp(t->cl[i].t.name, name) == 0) {
				claims_def_clear(&t->cl[i]);
				t->cl[i] = d;
				replaced = 1;
			}
		}
		if (!replaced) {
			t->cl = xreallocarray(t->cl, t->ncl + 1,
			    sizeof(*t->cl));
			t->cl[t->ncl++] = d;
		}
	}
	return (0);
}
