/*
 * config-outbox.c: the sinks: and subscriptions: settings.
 *
 *   sinks:
 *     statuspage: { kind: webhook, url: "https://…", secret: "whsec_…",
 *                   rate: 5, burst: 10, timeout: 10s, max_attempts: 8 }
 *   subscriptions:
 *     - { sink: statuspage, types: [Deployment, Milestone],
 *         ids: ["shop/…"], tenant: acme, fields: [state, progress] }
 *
 * Every error is "file:line: key: reason", as in config.c, and a bad
 * setting loads nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config/config.h"

/* Claim types that the deployment and milestone engines declare. */
static const char *outbox_builtin_types[] = {
	"Deployment", "Release", "Milestone", "Slo", "GateViolation", NULL
};

/*
 * Their properties, as stored (deploy.c, milestone.c) and as a client
 * view holds them (access/present.c): what a subscription's fields may
 * name.  Keep in step with those files.
 */
static const char *outbox_builtin_fields[] = {
	"Deployment:service", "Deployment:environment", "Deployment:region",
	"Deployment:revision", "Deployment:release",
	"Deployment:tool_deployment", "Deployment:state",
	"Deployment:previous_state", "Deployment:since", "Deployment:started",
	"Deployment:actor", "Deployment:reason", "Deployment:waiting_for",
	"Deployment:pending_check", "Deployment:rollback_of",
	"Release:state", "Release:components", "Release:holding",
	"Milestone:title", "Milestone:description", "Milestone:state",
	"Milestone:progress", "Milestone:done", "Milestone:total",
	"Milestone:due", "Milestone:environment", "Milestone:checkpoints",
	"Milestone:deltas", "Milestone:rejections", "Milestone:deployments",
	"Milestone:cadence", "Milestone:predicted", "Milestone:last_change",
	"Milestone:delivered_by", "Milestone:releases",
	NULL
};

static const struct sinkconf config_sink_defaults = {
	.rate = { .per_sec = 0, .burst = 10 },
	.max_in_flight = 8,
	.max_attempts = 8,
	.timeout = 10,
	.retry_base = 1,
	.retry_max = 600,
};

static int
config_outbox_str(json_object *v, const char *file, const char *key,
    char **out, char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_string) ||
	    *json_object_get_string(v) == '\0')
		return (yaml_errf(err, errlen, file, v, key, "must be a "
		    "non-empty string"));
	free(*out);
	*out = xstrdup(json_object_get_string(v));
	return (0);
}

/* A number of seconds: a number or a timespan ("500ms" is not one). */
static int
config_outbox_secs(json_object *v, const char *file, const char *key,
    double min, double *out, char *err, size_t errlen)
{
	double	d;

	if (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double))
		d = json_object_get_double(v);
	else if (!json_object_is_type(v, json_type_string) ||
	    ts_parse(json_object_get_string(v), &d) == -1)
		return (yaml_errf(err, errlen, file, v, key, "must be a "
		    "number of seconds or a timespan such as 1.5s or 10m"));
	if (d < min)
		return (yaml_errf(err, errlen, file, v, key, "must be at "
		    "least %g seconds", min));
	*out = d;
	return (0);
}

static int
config_outbox_num(json_object *v, const char *file, const char *key,
    double min, double max, double *out, char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return (yaml_errf(err, errlen, file, v, key, "must be a "
		    "number"));
	*out = json_object_get_double(v);
	if (*out < min || *out > max)
		return (yaml_errf(err, errlen, file, v, key, "must be from "
		    "%g to %g", min, max));
	return (0);
}

/* whsk_<base64 of the 32-byte seed, or of seed and public key (64)>. */
static int
config_outbox_edkey(const char *s, unsigned char seed[32])
{
	unsigned char	raw[96];
	size_t		len;

	if (strncmp(s, "whsk_", 5) == 0)
		s += 5;
	if (b64_decode(s, raw, sizeof(raw), &len) == -1 ||
	    (len != 32 && len != 64)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return (-1);
	}
	memcpy(seed, raw, 32);
	OPENSSL_cleanse(raw, sizeof(raw));
	return (0);
}

static int
config_outbox_sink(struct sinkconf *sc, const char *name, json_object *decl,
    const char *file, char *err, size_t errlen)
{
	json_object	*v;
	char		 key[192], **secrets = NULL, why[MP_ERRLEN], *enc;
	size_t		 nsecrets = 0, i;
	double		 d;
	int		 rc = -1;

	*sc = config_sink_defaults;
	sc->name = xstrdup(name);
	if (!json_object_is_type(decl, json_type_object))
		return (yaml_errf(err, errlen, file, decl, name, "a sink is "
		    "a mapping with kind and url"));
	snprintf(key, sizeof(key), "sinks.%s.kind", name);
	if (!json_object_object_get_ex(decl, "kind", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (sc->impl = sink_find(json_object_get_string(v))) == NULL)
		return (yaml_errf(err, errlen, file, v ? v : decl, key,
		    "must be one of webhook, mergepatch, "
		    "github-deployment-status, opslevel, cortex"));
	json_object_object_foreach(decl, k, val) {
		snprintf(key, sizeof(key), "sinks.%s.%s", name, k);
		if (strcmp(k, "kind") == 0)
			continue;
		if (strcmp(k, "url") == 0) {
			if (config_outbox_str(val, file, key, &sc->url, err,
			    errlen) == -1)
				goto out;
			if (strncmp(sc->url, "http://", 7) != 0 &&
			    strncmp(sc->url, "https://", 8) != 0) {
				yaml_errf(err, errlen, file, val, key, "must "
				    "be an http:// or https:// URL");
				goto out;
			}
			/* Closed: values only in the path and query. */
			if (sink_template_check(sc->url, why,
			    sizeof(why)) == -1) {
				yaml_errf(err, errlen, file, val, key, "%s",
				    why);
				goto out;
			}
			if (!(sc->impl->need & SINK_NEED_URL) &&
			    strchr(sc->url, '{') != NULL) {
				yaml_errf(err, errlen, file, val, key, "a %s "
				    "sink's url is a base URL, without "
				    "placeholders", sc->impl->name);
				goto out;
			}
		} else if (strcmp(k, "secret") == 0) {
			if (yaml_strlist(val, file, key, 1, YAML_NONEMPTY, &secrets,
			    &nsecrets, err, errlen) == -1)
				goto out;
			sc->keys = xreallocarray(NULL, nsecrets,
			    sizeof(*sc->keys));
			for (i = 0; i < nsecrets; i++)
				if (stdwh_key_parse(secrets[i],
				    &sc->keys[i]) == -1 ||
				    sc->keys[i].len < CONFIG_KEYMIN) {
					yaml_errf(err, errlen, file, val, key,
					    "must be whsec_ and the base64 of "
					    "%d to 64 bytes (an HMAC key "
					    "shorter than %d bytes is refused)",
					    CONFIG_KEYMIN, CONFIG_KEYMIN);
					goto out;
				}
			sc->nkeys = nsecrets;
		} else if (strcmp(k, "signing_key") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    config_outbox_edkey(json_object_get_string(val),
			    sc->ed25519) == -1) {
				yaml_errf(err, errlen, file, val, key, "must "
				    "be whsk_ and the base64 of a 32-byte "
				    "ed25519 seed (or seed and public key)");
				goto out;
			}
			sc->has_ed25519 = 1;
		} else if (strcmp(k, "token") == 0) {
			if (config_outbox_str(val, file, key, &sc->token, err,
			    errlen) == -1)
				goto out;
		} else if (strcmp(k, "repo") == 0) {
			if (config_outbox_str(val, file, key, &sc->repo, err,
			    errlen) == -1)
				goto out;
			if ((enc = github_path(sc->repo, "1")) == NULL) {
				yaml_errf(err, errlen, file, val, key, "must "
				    "be owner/name");
				goto out;
			}
			free(enc);
		} else if (strcmp(k, "rate") == 0) {
			if (config_outbox_num(val, file, key, 0.001, 1e6,
			    &sc->rate.per_sec, err, errlen) == -1)
				goto out;
		} else if (strcmp(k, "burst") == 0) {
			if (config_outbox_num(val, file, key, 1, 1e6,
			    &sc->rate.burst, err, errlen) == -1)
				goto out;
		} else if (strcmp(k, "max_in_flight") == 0) {
			if (config_outbox_num(val, file, key, 1, 1024, &d, err,
			    errlen) == -1)
				goto out;
			sc->max_in_flight = (unsigned)d;
		} else if (strcmp(k, "max_attempts") == 0) {
			if (config_outbox_num(val, file, key, 1, 100, &d, err,
			    errlen) == -1)
				goto out;
			sc->max_attempts = (unsigned)d;
		} else if (strcmp(k, "timeout") == 0) {
			if (config_outbox_secs(val, file, key, 0.1,
			    &sc->timeout, err, errlen) == -1)
				goto out;
		} else if (strcmp(k, "retry_base") == 0) {
			if (config_outbox_secs(val, file, key, 0.01,
			    &sc->retry_base, err, errlen) == -1)
				goto out;
		} else if (strcmp(k, "retry_max") == 0) {
			if (config_outbox_secs(val, file, key, 0.01,
			    &sc->retry_max, err, errlen) == -1)
				goto out;
		} else {
			yaml_errf(err, errlen, file, val ? val : decl, key,
			    "unknown key (kind, url, rate, burst, "
			    "max_in_flight, max_attempts, timeout, retry_base, "
			    "retry_max%s%s)", *sc->impl->accepts ? ", " : "",
			    sc->impl->accepts);
			goto out;
		}
		/* A setting that this kind of sink does not use is a typo. */
		if ((strcmp(k, "secret") == 0 || strcmp(k, "signing_key") ==
		    0 || strcmp(k, "token") == 0 || strcmp(k, "repo") == 0) &&
		    strstr(sc->impl->accepts, k) == NULL) {
			yaml_errf(err, errlen, file, val, key, "a %s sink "
			    "does not take %s", sc->impl->name, k);
			goto out;
		}
	}
	snprintf(key, sizeof(key), "sinks.%s", name);
	if ((sc->impl->need & SINK_NEED_URL) && sc->url == NULL)
		yaml_errf(err, errlen, file, decl, key, "a %s sink needs "
		    "url", sc->impl->name);
	else if ((sc->impl->need & SINK_NEED_SECRET) && sc->nkeys == 0 &&
	    !sc->has_ed25519)
		yaml_errf(err, errlen, file, decl, key, "a %s sink needs "
		    "secret (whsec_…) or signing_key (whsk_…)", sc->impl->name);
	else if ((sc->impl->need & SINK_NEED_TOKEN) && sc->token == NULL)
		yaml_errf(err, errlen, file, decl, key, "a %s sink needs "
		    "token", sc->impl->name);
	else if (sc->retry_max < sc->retry_base)
		yaml_errf(err, errlen, file, decl, key, "retry_max is less "
		    "than retry_base");
	else
		rc = 0;
out:
	for (i = 0; i < nsecrets; i++)
		freezero_str(secrets[i]);
	free(secrets);
	return (rc);
}

static int
config_outbox_type_known(const struct rules *t, const char *name)
{
	size_t	i;

	for (i = 0; outbox_builtin_types[i] != NULL; i++)
		if (strcmp(outbox_builtin_types[i], name) == 0)
			return (1);
	if (claims_find(t, name) != NULL)
		return (1);
	for (i = 0; i < t->ncc; i++)
		if (strcmp(t->cc[i].name, name) == 0)
			return (1);
	return (0);
}

/* Add name to the list names, n, unless it is there. */
static void
config_outbox_name(const char ***names, size_t *n, const char *name)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		if (strcmp((*names)[i], name) == 0)
			return;
	*names = xreallocarray(*names, *n + 1, sizeof(**names));
	(*names)[(*n)++] = name;
}

/*
 * Every field of s (v: the fields list, borrowed, for its line) must be a
 * property of one of its types; an unknown one is "file:line: key:
 * unknown field progres (did you mean progress?; ...)".  Returns 0, or -1
 * with err.
 */
static int
config_outbox_fields(const struct config *cf, const struct subscription *s,
    json_object *v, const char *file, const char *key, char *err,
    size_t errlen)
{
	const struct claimdef	*cd;
	const char		**names = NULL, *e;
	char			*why;
	size_t			 n = 0, i, j, tl;
	int			 rc = 0;

	for (i = 0; i < s->ntypes; i++) {
		tl = strlen(s->types[i]);
		for (j = 0; (e = outbox_builtin_fields[j]) != NULL; j++)
			if (strncmp(e, s->types[i], tl) == 0 && e[tl] == ':')
				config_outbox_name(&names, &n, e + tl + 1);
		if ((cd = claims_find(cf->rules, s->types[i])) != NULL)
			for (j = 0; j < cd->t.nprops; j++)
				config_outbox_name(&names, &n,
				    cd->t.props[j].name);
		for (j = 0; j < cf->rules->ncc; j++)
			if (strcmp(cf->rules->cc[j].name, s->types[i]) == 0) {
				size_t	k;

				for (k = 0; k < cf->rules->cc[j].nprops; k++)
					config_outbox_name(&names, &n,
					    cf->rules->cc[j].props[k].name);
			}
	}
	for (i = 0; i < s->nfields && rc == 0; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(names[j], s->fields[i]) == 0)
				break;
		if (j < n)
			continue;
		why = suggest_unknown("field", s->fields[i],
		    (const char *const *)names, n);
		rc = yaml_errf(err, errlen, file, json_object_is_type(v,
		    json_type_array) ? json_object_array_get_idx(v, i) : v,
		    key, "%s", why);
		free(why);
	}
	free(names);
	return (rc);
}

static int
config_outbox_sub(struct config *cf, struct subscription *s, size_t idx,
    json_object *decl, const char *file, char *err, size_t errlen)
{
	json_object	*fields = NULL, *audience = NULL;
	char		 key[96];
	size_t		 i;
	int		 found = 0;

	snprintf(key, sizeof(key), "subscriptions[%zu]", idx);
	if (!json_object_is_type(decl, json_type_object))
		return (yaml_errf(err, errlen, file, decl, key, "a "
		    "subscription is a mapping with sink and types"));
	json_object_object_foreach(decl, k, val) {
		snprintf(key, sizeof(key), "subscriptions[%zu].%s", idx, k);
		if (strcmp(k, "sink") == 0) {
			if (!json_object_is_type(val, json_type_string))
				return (yaml_errf(err, errlen, file, val ?
				    val : decl, key, "must name a sink"));
			for (i = 0; i < cf->nsinks; i++)
				if (strcmp(cf->sinks[i].name,
				    json_object_get_string(val)) == 0)
					break;
			if (i == cf->nsinks)
				return (yaml_errf(err, errlen, file, val, key,
				    "no sink %s under sinks:",
				    json_object_get_string(val)));
			s->sink = i;
			found = 1;
		} else if (strcmp(k, "types") == 0) {
			if (yaml_strlist(val, file, key, 1, YAML_NONEMPTY, &s->types,
			    &s->ntypes, err, errlen) == -1)
				return (-1);
			for (i = 0; i < s->ntypes; i++)
				if (!config_outbox_type_known(cf->rules,
				    s->types[i]))
					return (yaml_errf(err, errlen, file,
					    val, key, "%s is not a claim type",
					    s->types[i]));
		} else if (strcmp(k, "ids") == 0) {
			if (yaml_strlist(val, file, key, 1, YAML_NONEMPTY, &s->ids,
			    &s->nids, err, errlen) == -1)
				return (-1);
		} else if (strcmp(k, "fields") == 0) {
			if (yaml_strlist(val, file, key, 1, YAML_NONEMPTY, &s->fields,
			    &s->nfields, err, errlen) == -1)
				return (-1);
			fields = val;
		} else if (strcmp(k, "audience") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    (strcmp(json_object_get_string(val), "client") !=
			    0 && strcmp(json_object_get_string(val),
			    "internal") != 0))
				return (yaml_errf(err, errlen, file, val ? val :
				    decl, key, "must be client or internal"));
			s->client = strcmp(json_object_get_string(val),
			    "client") == 0;
			audience = val;
		} else if (strcmp(k, "tenant") == 0) {
			if (config_outbox_str(val, file, key, &s->tenant, err,
			    errlen) == -1)
				return (-1);
		} else
			return (yaml_errf(err, errlen, file, val ? val : decl,
			    key, "unknown key (sink, types, ids, tenant, "
			    "fields, audience)"));
	}
	snprintf(key, sizeof(key), "subscriptions[%zu]", idx);
	if (!found)
		return (yaml_errf(err, errlen, file, decl, key, "a "
		    "subscription needs sink"));
	if (s->ntypes == 0)
		return (yaml_errf(err, errlen, file, decl, key, "a "
		    "subscription needs types"));
	/* A tenant's sink is a client's: it gets client views only. */
	if (s->tenant != NULL) {
		if (audience != NULL && !s->client) {
			snprintf(key, sizeof(key), "subscriptions[%zu].audience",
			    idx);
			return (yaml_errf(err, errlen, file, audience, key,
			    "a subscription for a tenant is always for a "
			    "client (audience: client)"));
		}
		s->client = 1;
	}
	if (fields != NULL) {
		snprintf(key, sizeof(key), "subscriptions[%zu].fields", idx);
		if (config_outbox_fields(cf, s, fields, file, key, err,
		    errlen) == -1)
			return (-1);
	}
	return (0);
}

/*
 * Load sinks (a mapping, or NULL) and subscriptions (a list, or NULL)
 * into cf, after the claim types.  Returns 0, or -1 with err set.
 */
int
config_outbox_load(struct config *cf, json_object *sinks, json_object *subs,
    const char *file, char *err, size_t errlen)
{
	size_t	i, n;

	if (sinks != NULL) {
		if (!json_object_is_type(sinks, json_type_object))
			return (yaml_errf(err, errlen, file, sinks, "sinks",
			    "must be a mapping of sink names to settings"));
		cf->sinks = xcalloc((size_t)json_object_object_length(sinks) +
		    1, sizeof(*cf->sinks));
		json_object_object_foreach(sinks, name, decl) {
			if (!types_name_ok(name))
				return (yaml_errf(err, errlen, file, decl,
				    "sinks", "%s: a sink name is letters, "
				    "digits, - and _", name));
			if (config_outbox_sink(&cf->sinks[cf->nsinks++], name,
			    decl, file, err, errlen) == -1)
				return (-1);
		}
	}
	if (subs == NULL)
		return (0);
	if (!json_object_is_type(subs, json_type_array))
		return (yaml_errf(err, errlen, file, subs, "subscriptions",
		    "must be a list of {sink, types, ids, tenant, fields}"));
	n = json_object_array_length(subs);
	cf->subs = xcalloc(n + 1, sizeof(*cf->subs));
	for (i = 0; i < n; i++) {
		cf->nsubs++;
		if (config_outbox_sub(cf, &cf->subs[i], i,
		    json_object_array_get_idx(subs, i), file, err, errlen) ==
		    -1)
			return (-1);
	}
	return (0);
}

void
config_outbox_free(struct config *cf)
{
	struct sinkconf	*sc;
	size_t		 i;

	for (i = 0; i < cf->nsinks; i++) {
		sc = &cf->sinks[i];
		free(sc->name);
		free(sc->url);
		if (sc->keys != NULL)
			OPENSSL_cleanse(sc->keys, sc->nkeys * sizeof(*sc->keys));
		free(sc->keys);
		OPENSSL_cleanse(sc->ed25519, sizeof(sc->ed25519));
		freezero_str(sc->token);
		free(sc->repo);
	}
	free(cf->sinks);
	for (i = 0; i < cf->nsubs; i++) {
		strv_free(cf->subs[i].types, cf->subs[i].ntypes);
		strv_free(cf->subs[i].ids, cf->subs[i].nids);
		strv_free(cf->subs[i].fields, cf->subs[i].nfields);
		free(cf->subs[i].tenant);
	}
	free(cf->subs);
	cf->sinks = NULL;
	cf->subs = NULL;
	cf->nsinks = cf->nsubs = 0;
}

/* The sink called name, or NULL. */
const struct sinkconf *
config_sink(const struct config *cf, const char *name)
{
	size_t	i;

	for (i = 0; i < cf->nsinks; i++)
		if (strcmp(cf->sinks[i].name, name) == 0)
			return (&cf->sinks[i]);
	return (NULL);
}
