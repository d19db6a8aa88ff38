/*
 * config.c: load milepost.yaml (YAML, or JSON) into struct config.
 *
 * Every error is "file:line: key: reason", where key is the dotted path of
 * the offending setting.  Unknown keys are errors, so that a typo never
 * silently changes behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config/config.h"

#define CONFIG_MAX_FILE	(4 * 1024 * 1024)
#define CONFIG_RATE	50.0	/* requests per second per token */
#define CONFIG_BURST	100.0

struct cfgctx {
	const char	*file;
	char		*err;
	size_t		 errlen;
};

static const struct limits config_default_limits = {
	.max_body = 1024 * 1024,
	.max_headers = 16 * 1024,
	.max_connections = 1024,
	.timeout = 30,
	.header_timeout = 10,
	.body_timeout = 30,
	.max_per_ip = 256,
	.queue_max = 16384,
	.batch_max = 4096,
	.max_future_skew = 300LL * 1000000,	/* 5m */
};

static int
config_err(struct cfgctx *c, json_object *o, const char *key,
    const char *fmt, ...) MP_PRINTF(4, 5);

static int
config_err(struct cfgctx *c, json_object *o, const char *key,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	yaml_verrf(c->err, c->errlen, c->file, o, key, fmt, ap);
	va_end(ap);
	return (-1);
}

/* A size: an integer of bytes, or "64KiB", "1MiB", "1MB", "512k". */
static int
config_size(struct cfgctx *c, json_object *v, const char *key, size_t min,
    size_t max, size_t *out)
{
	const char	*s;
	char		*end;
	double		 d, mult = 1;

	if (json_object_is_type(v, json_type_int))
		d = (double)json_object_get_int64(v);
	else if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		d = strtod(s, &end);
		if (end == s)
			goto bad;
		while (*end == ' ')
			end++;
		if (*end == '\0' || strcasecmp(end, "b") == 0)
			mult = 1;
		else if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kb") ==
		    0 || strcasecmp(end, "kib") == 0)
			mult = 1024;
		else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mb") ==
		    0 || strcasecmp(end, "mib") == 0)
			mult = 1024 * 1024;
		else
			goto bad;
		d *= mult;
	} else
		goto bad;
	if (!isfinite(d) || d < (double)min || d > (double)max)
		return (config_err(c, v, key, "must be between %zu and %zu "
		    "bytes", min, max));
	*out = (size_t)d;
	return (0);
bad:
	return (config_err(c, v, key, "must be a size such as 1048576, "
	    "\"64KiB\" or \"1MiB\""));
}

static int
config_uint(struct cfgctx *c, json_object *v, const char *key,
    long long min, long long max, long long *out)
{
	long long	n;

	if (!json_object_is_type(v, json_type_int))
		return (config_err(c, v, key, "must be an integer"));
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return (config_err(c, v, key, "must be between %lld and %lld",
		    min, max));
	*out = n;
	return (0);
}

static int
config_limits(struct cfgctx *c, json_object *o, struct limits *l)
{
	static const char *const names[] = { "max_body", "max_headers",
	    "max_connections", "max_connections_per_ip", "timeout",
	    "header_timeout", "body_timeout", "queue_max", "batch_max",
	    "max_future_skew", "max_lateness" };
	char		key[128], *why;
	long long	n;
	double		d;

	if (!json_object_is_type(o, json_type_object))
		return (config_err(c, o, "limits", "must be a mapping"));
	json_object_object_foreach(o, k, v) {
		snprintf(key, sizeof(key), "limits.%s", k);
		if (v == NULL)
			return (config_err(c, o, key, "must not be null"));
		if (strcmp(k, "max_body") == 0) {
			if (config_size(c, v, key, 1024, 256 * 1024 * 1024,
			    &l->max_body) == -1)
				return (-1);
		} else if (strcmp(k, "max_headers") == 0) {
			if (config_size(c, v, key, 1024, 1024 * 1024,
			    &l->max_headers) == -1)
				return (-1);
		} else if (strcmp(k, "max_connections") == 0) {
			if (config_uint(c, v, key, 1, 1000000, &n) == -1)
				return (-1);
			l->max_connections = (unsigned)n;
		} else if (strcmp(k, "timeout") == 0) {
			if (json_object_is_type(v, json_type_int))
				d = (double)json_object_get_int64(v);
			else if (!json_object_is_type(v, json_type_string) ||
			    ts_parse(json_object_get_string(v), &d) == -1)
				return (config_err(c, v, key, "must be a "
				    "timespan such as 30s"));
			if (d < 1 || d > 3600)
				return (config_err(c, v, key, "must be between "
				    "1s and 1h"));
			l->timeout = (unsigned)d;
		} else if (strcmp(k, "header_timeout") == 0 ||
		    strcmp(k, "body_timeout") == 0) {
			if (json_object_is_type(v, json_type_int))
				d = (double)json_object_get_int64(v);
			else if (!json_object_is_type(v, json_type_string) ||
			    ts_parse(json_object_get_string(v), &d) == -1)
				return (config_err(c, v, key, "must be a "
				    "timespan such as 10s"));
			if (d < 1 || d > 3600)
				return (config_err(c, v, key, "must be between "
				    "1s and 1h"));
			*(k[0] == 'h' ? &l->header_timeout : &l->body_timeout) =
			    (unsigned)d;
		} else if (strcmp(k, "max_connections_per_ip") == 0) {
			if (config_uint(c, v, key, 1, 1000000, &n) == -1)
				return (-1);
			l->max_per_ip = (unsigned)n;
		} else if (strcmp(k, "max_future_skew") == 0) {
			if (json_object_is_type(v, json_type_int))
				d = (double)json_object_get_int64(v);
			else if (!json_object_is_type(v, json_type_string) ||
			    ts_parse(json_object_get_string(v), &d) == -1)
				return (config_err(c, v, key, "must be a "
				    "timespan such as 5m"));
			/* 1d: what the milestone clock trusts (milestone.c) */
			if (d < 0 || d > 86400)
				return (config_err(c, v, key, "must be between "
				    "0s and 1d"));
			l->max_future_skew = (int64_t)(d * 1000000);
		} else if (strcmp(k, "max_lateness") == 0) {
			/* The hard limit behind a source's watermark (slos). */
			if (json_object_is_type(v, json_type_int))
				d = (double)json_object_get_int64(v);
			else if (!json_object_is_type(v, json_type_string) ||
			    ts_parse(json_object_get_string(v), &d) == -1)
				return (config_err(c, v, key, "must be a "
				    "timespan such as 30d"));
			if (d != 0 && (d < 60 || d > 3650.0 * 86400))
				return (config_err(c, v, key, "must be 0 (off) "
				    "or between 1m and 3650d"));
			l->max_lateness = (int64_t)(d * 1000000);
		} else if (strcmp(k, "queue_max") == 0) {
			if (config_uint(c, v, key, 1, 10000000, &n) == -1)
				return (-1);
			l->queue_max = (size_t)n;
		} else if (strcmp(k, "batch_max") == 0) {
			if (config_uint(c, v, key, 1, 100000, &n) == -1)
				return (-1);
			l->batch_max = (size_t)n;
		} else {
			why = suggest_unknown("limit", k, names,
			    sizeof(names) / sizeof(names[0]));
			config_err(c, v, key, "%s", why);
			free(why);
			return (-1);
		}
	}
	return (0);
}

/*
 * access_log: { format: plain|json, path: FILE|stderr, buffer: SIZE }.
 * Off without the key; path defaults to stderr, format to plain.
 */
static int
config_access_log(struct cfgctx *c, json_object *o, struct access_log_conf *a)
{
	static const char *const formats[] = { "plain", "json" };
	char		 key[128], *why;
	const char	*s;

	if (!json_object_is_type(o, json_type_object))
		return (config_err(c, o, "access_log", "must be a mapping such "
		    "as { format: plain, path: stderr }"));
	a->buffer = 1024 * 1024;
	json_object_object_foreach(o, k, v) {
		snprintf(key, sizeof(key), "access_log.%s", k);
		if (strcmp(k, "format") == 0) {
			if (!json_object_is_type(v, json_type_string))
				return (config_err(c, v ? v : o, key, "must be "
				    "plain or json"));
			s = json_object_get_string(v);
			if (strcmp(s, "plain") != 0 && strcmp(s, "json") != 0) {
				why = suggest_unknown("format", s, formats, 2);
				config_err(c, v, key, "%s", why);
				free(why);
				return (-1);
			}
			a->json = strcmp(s, "json") == 0;
		} else if (strcmp(k, "path") == 0) {
			if (!json_object_is_type(v, json_type_string) ||
			    *json_object_get_string(v) == '\0')
				return (config_err(c, v ? v : o, key, "must be "
				    "stderr or a file's path"));
			free(a->path);
			a->path = xstrdup(json_object_get_string(v));
		} else if (strcmp(k, "buffer") == 0) {
			if (v == NULL || config_size(c, v, key, 4096,
			    64 * 1024 * 1024, &a->buffer) == -1)
				return (v == NULL ? config_err(c, o, key,
				    "must not be null") : -1);
		} else
			return (config_err(c, v ? v : o, key, "unknown key "
			    "(format, path, buffer)"));
	}
	if (a->path == NULL)
		a->path = xstrdup("stderr");
	return (0);
}

/* A secret, or a list of secrets for rotation, each "whsec_<base64>". */
static int
config_agent_secret(struct cfgctx *c, json_object *v, struct config *cf)
{
	json_object	*one;
	size_t		 i, n;

	if (json_object_is_type(v, json_type_string))
		n = 1;
	else if (json_object_is_type(v, json_type_array))
		n = json_object_array_length(v);
	else
		return (config_err(c, v, "agent_secret", "must be a "
		    "\"whsec_...\" string or a list of them"));
	if (n == 0)
		return (config_err(c, v, "agent_secret", "the list is empty"));
	cf->agent_keys = xcalloc(n, sizeof(*cf->agent_keys));
	for (i = 0; i < n; i++) {
		one = json_object_is_type(v, json_type_array) ?
		    json_object_array_get_idx(v, i) : v;
		if (!json_object_is_type(one, json_type_string) ||
		    stdwh_key_parse(json_object_get_string(one),
		    &cf->agent_keys[i]) == -1 ||
		    cf->agent_keys[i].len < CONFIG_KEYMIN)
			return (config_err(c, one ? one : v, "agent_secret",
			    "must be \"whsec_\" followed by base64 of %d to "
			    "64 bytes (an HMAC key shorter than %d bytes is "
			    "refused)", CONFIG_KEYMIN, CONFIG_KEYMIN));
		cf->nagent_keys++;
	}
	return (0);
}

/* A token's optional name, rate and burst. */
static int
config_token_extra(struct cfgctx *c, json_object *t, size_t i,
    struct token *tk)
{
	json_object	*v;
	char		 key[64];
	long long	 n;

	if (json_object_object_get_ex(t, "name", &v)) {
		snprintf(key, sizeof(key), "tokens[%zu].name", i);
		if (!json_object_is_type(v, json_type_string) ||
		    *json_object_get_string(v) == '\0')
			return (config_err(c, v ? v : t, key, "must be a "
			    "non-empty string"));
		tk->name = xstrdup(json_object_get_string(v));
	}
	if (json_object_object_get_ex(t, "rate", &v)) {
		snprintf(key, sizeof(key), "tokens[%zu].rate", i);
		if (rate_parse(v, &tk->rate.per_sec) == -1)
			return (config_err(c, v ? v : t, key, "must be a rate "
			    "such as \"10/s\" or \"600/min\", or \"off\""));
		tk->rate_set = 1;
	}
	if (json_object_object_get_ex(t, "burst", &v)) {
		snprintf(key, sizeof(key), "tokens[%zu].burst", i);
		if (config_uint(c, v, key, 1, 1000000, &n) == -1)
			return (-1);
		tk->rate.burst = (double)n;
		tk->burst_set = 1;
	}
	return (0);
}

/* rate: { per_token: RATE, burst: N }, the defaults of every token. */
static int
config_rate(struct cfgctx *c, json_object *o, struct config *cf)
{
	char		key[64];
	long long	n;

	if (!json_object_is_type(o, json_type_object))
		return (config_err(c, o, "rate", "must be a mapping with "
		    "per_token and burst"));
	json_object_object_foreach(o, k, v) {
		snprintf(key, sizeof(key), "rate.%s", k);
		if (strcmp(k, "per_token") == 0) {
			if (rate_parse(v, &cf->rate.per_sec) == -1)
				return (config_err(c, v ? v : o, key, "must be "
				    "a rate such as \"10/s\" or \"600/min\", "
				    "or \"off\""));
		} else if (strcmp(k, "burst") == 0) {
			if (config_uint(c, v, key, 1, 1000000, &n) == -1)
				return (-1);
			cf->rate.burst = (double)n;
		} else
			return (config_err(c, v ? v : o, key, "unknown key "
			    "(per_token, burst)"));
	}
	return (0);
}

static int
config_tokens(struct cfgctx *c, json_object *v, struct config *cf)
{
	json_object	*t, *tok, *role, *tenant;
	struct token	*tk;
	const char	*s;
	char		 key[64];
	size_t		 i, n;

	if (!json_object_is_type(v, json_type_array))
		return (config_err(c, v, "tokens", "must be a list of "
		    "{ token, role } mappings"));
	n = json_object_array_length(v);
	cf->tokens = xcalloc(n ? n : 1, sizeof(*cf->tokens));
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(v, i);
		snprintf(key, sizeof(key), "tokens[%zu]", i);
		if (!json_object_is_type(t, json_type_object))
			return (config_err(c, t ? t : v, key, "must be a "
			    "mapping with token and role"));
		json_object_object_foreach(t, k, kv) {
			if (strcmp(k, "token") && strcmp(k, "role") &&
			    strcmp(k, "tenant") && strcmp(k, "name") &&
			    strcmp(k, "rate") && strcmp(k, "burst")) {
				snprintf(key, sizeof(key), "tokens[%zu].%s",
				    i, k);
				return (config_err(c, kv ? kv : t, key,
				    "unknown key (token, role, tenant, name, "
				    "rate, burst)"));
			}
		}
		tk = &cf->tokens[cf->ntokens];
		snprintf(key, sizeof(key), "tokens[%zu].token", i);
		if (!json_object_object_get_ex(t, "token", &tok) ||
		    !json_object_is_type(tok, json_type_string) ||
		    strlen(s = json_object_get_string(tok)) < 16)
			return (config_err(c, tok ? tok : t, key, "missing, or "
			    "shorter than 16 characters"));
		SHA256((const unsigned char *)s, strlen(s), tk->digest);
		snprintf(key, sizeof(key), "tokens[%zu].role", i);
		if (!json_object_object_get_ex(t, "role", &role) ||
		    !json_object_is_type(role, json_type_string) ||
		    access_role_parse(json_object_get_string(role),
		    &tk->role) == -1)
			return (config_err(c, role ? role : t, key, "must be "
			    "admin, operator, writer, reader or client"));
		snprintf(key, sizeof(key), "tokens[%zu].tenant", i);
		if (json_object_object_get_ex(t, "tenant", &tenant)) {
			if (!json_object_is_type(tenant, json_type_string))
				return (config_err(c, tenant ? tenant : t, key,
				    "must be a string"));
			tk->tenant = xstrdup(json_object_get_string(tenant));
		}
		if (config_token_extra(c, t, i, tk) == -1) {
			cf->ntokens++;
			return (-1);
		}
		cf->ntokens++;
		if (tk->role == ROLE_CLIENT && tk->tenant == NULL)
			return (config_err(c, t, key, "a client token must name "
			    "its tenant"));
	}
	return (0);
}

static int
config_basic(struct cfgctx *c, json_object *val, const char *key,
    struct source_conf *sc)
{
	json_object	*one, *u, *p;
	size_t		 i, cnt;
	char		*up;

	cnt = json_object_is_type(val, json_type_array) ?
	    json_object_array_length(val) : 1;
	for (i = 0; i < cnt; i++) {
		one = json_object_is_type(val, json_type_array) ?
		    json_object_array_get_idx(val, i) : val;
		if (!json_object_is_type(one, json_type_object) ||
		    !json_object_object_get_ex(one, "username", &u) ||
		    !json_object_object_get_ex(one, "password", &p) ||
		    !json_object_is_type(u, json_type_string) ||
		    !json_object_is_type(p, json_type_string) ||
		    strchr(json_object_get_string(u), ':') != NULL ||
		    strlen(json_object_get_string(p)) < 8)
			return (config_err(c, one ? one : val, key, "must be "
			    "{ username, password } (no ':' in the username, "
			    "a password of 8 or more), or a list of them"));
		xasprintf(&up, "%s:%s", json_object_get_string(u),
		    json_object_get_string(p));
		sc->basic = xreallocarray(sc->basic, sc->nbasic + 1,
		    sizeof(*sc->basic));
		sc->basic[sc->nbasic++] = up;
	}
	return (0);
}

/*
 * sources: { NAME: { secret | token | bearer | basic | signing_secret } },
 * each taking one value or a list, as far as the source accepts it.
 */
static int
config_sources(struct cfgctx *c, json_object *o, struct config *cf)
{
	const struct mp_source	*src;
	struct source_conf	*sc;
	json_object		*one;
	char			 key[256], names[256];
	size_t			 i, n, k;
	int			 need;

	names[0] = '\0';
	for (i = 0; source_table[i] != NULL; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
		    "%s%s", i ? ", " : "", source_table[i]->name);
	if (!json_object_is_type(o, json_type_object))
		return (config_err(c, o, "sources", "must be a mapping of "
		    "source name to credentials"));
	cf->sources = xcalloc(source_count(), sizeof(*cf->sources));
	cf->alias_refuse = xcalloc(source_count() + 1, 1);
	json_object_object_foreach(o, name, decl) {
		snprintf(key, sizeof(key), "sources.%s", name);
		if ((src = source_find(name)) == NULL &&
		    strcmp(name, "agent") != 0)
			return (config_err(c, decl ? decl : o, key, "unknown "
			    "source (%s, agent)", names));
		if (decl == NULL || !json_object_is_type(decl,
		    json_type_object) || json_object_object_length(decl) == 0)
			return (config_err(c, decl ? decl : o, key, "must be a "
			    "mapping with the source's credentials"));
		sc = src != NULL ? &cf->sources[source_index(src)] : NULL;
		json_object_object_foreach(decl, k2, v) {
			snprintf(key, sizeof(key), "sources.%s.%s", name, k2);
			/* What to do with a name the catalog does not know. */
			if (strcmp(k2, "unknown_alias") == 0) {
				if (!json_object_is_type(v, json_type_string) ||
				    (strcmp(json_object_get_string(v), "keep") &&
				    strcmp(json_object_get_string(v), "refuse")))
					return (config_err(c, v ? v : decl, key,
					    "must be keep or refuse"));
				cf->alias_refuse[src != NULL ?
				    source_index(src) : source_count()] =
				    strcmp(json_object_get_string(v),
				    "refuse") == 0;
				continue;
			}
			if (src == NULL)
				return (config_err(c, v ? v : decl, key, "the "
				    "agent (POST /v1/evidence) takes only "
				    "unknown_alias here; its secret is "
				    "agent_secret"));
			need = strcmp(k2, "secret") == 0 ? SRC_AUTH_SECRET :
			    strcmp(k2, "token") == 0 ? SRC_AUTH_TOKEN :
			    strcmp(k2, "bearer") == 0 ? SRC_AUTH_BEARER :
			    strcmp(k2, "basic") == 0 ? SRC_AUTH_BASIC :
			    strcmp(k2, "signing_secret") == 0 ?
			    SRC_AUTH_SIGNING : 0;
			if (need == 0 || (src->auth & need) == 0)
				return (config_err(c, v ? v : decl, key, "%s "
				    "does not authenticate this way (it takes "
				    "%s%s%s%s%s)", name,
				    src->auth & SRC_AUTH_SECRET ? "secret " : "",
				    src->auth & SRC_AUTH_TOKEN ? "token " : "",
				    src->auth & SRC_AUTH_BEARER ? "bearer " : "",
				    src->auth & SRC_AUTH_BASIC ? "basic " : "",
				    src->auth & SRC_AUTH_SIGNING ?
				    "signing_secret" : ""));
			if (v == NULL)
				return (config_err(c, decl, key, "must not be "
				    "empty"));
			switch (need) {
			case SRC_AUTH_SECRET:	/* an HMAC key */
				if (yaml_strlist(v, c->file, key, CONFIG_KEYMIN,
				    YAML_NONEMPTY, &sc->secrets, &sc->nsecrets, c->err,
				    c->errlen) == -1)
					return (-1);
				break;
			case SRC_AUTH_TOKEN:
				if (yaml_strlist(v, c->file, key, 8,
				    YAML_NONEMPTY, &sc->tokens, &sc->ntokens, c->err,
				    c->errlen) == -1)
					return (-1);
				break;
			case SRC_AUTH_BEARER:
				if (yaml_strlist(v, c->file, key, 16,
				    YAML_NONEMPTY, &sc->bearers, &sc->nbearers, c->err,
				    c->errlen) == -1)
					return (-1);
				break;
			case SRC_AUTH_BASIC:
				if (config_basic(c, v, key, sc) == -1)
					return (-1);
				break;
			case SRC_AUTH_SIGNING:
				n = json_object_is_type(v, json_type_array) ?
				    json_object_array_length(v) : 1;
				for (k = 0; k < n; k++) {
					one = json_object_is_type(v,
					    json_type_array) ?
					    json_object_array_get_idx(v, k) : v;
					sc->signing = xreallocarray(sc->signing,
					    sc->nsigning + 1,
					    sizeof(*sc->signing));
					if (!json_object_is_type(one,
					    json_type_string) ||
					    stdwh_key_parse(json_object_get_string(
					    one), &sc->signing[sc->nsigning]) ==
					    -1 || sc->signing[sc->nsigning].len <
					    CONFIG_KEYMIN)
						return (config_err(c, one ? one : v,
						    key, "must be \"whsec_\" and "
						    "the base64 of %d to 64 bytes, "
						    "or a list of them (an HMAC "
						    "key shorter than %d bytes is "
						    "refused)", CONFIG_KEYMIN,
						    CONFIG_KEYMIN));
					sc->nsigning++;
				}
				break;
			}
		}
	}
	return (0);
}

/* The configuration of source src, or NULL when it is not configured. */
const struct source_conf *
config_source(const struct config *cf, const struct mp_source *src)
{
	const struct source_conf	*sc;

	if (cf->sources == NULL)
		return (NULL);
	sc = &cf->sources[source_index(src)];
	if (sc->nsecrets + sc->ntokens + sc->nbearers + sc->nbasic +
	    sc->nsigning == 0)
		return (NULL);
	return (sc);
}

/* A ledger URL: sqlite:PATH, or postgresql:// (postgres://) and more. */
static int
config_ledger_ok(const char *s)
{
	return ((strncmp(s, "sqlite:", 7) == 0 && s[7] != '\0') ||
	    (strncmp(s, "postgresql://", 13) == 0 && s[13] != '\0') ||
	    (strncmp(s, "postgres://", 11) == 0 && s[11] != '\0'));
}
/* Turn a parsed tree into settings; the tree is taken. */
static struct config *
config_build(json_object *tree, const char *file, char *err, size_t errlen)
{
	struct cfgctx	 c = { file, err, errlen };
	struct config	*cf;
	json_object	*v;
	const char	*s;
	size_t		 i;

	cf = xcalloc(1, sizeof(*cf));
	atomic_init(&cf->refs, 1);
	cf->path = xstrdup(file);
	cf->tree = tree;
	cf->limits = config_default_limits;
	cf->ledger_mode = 0600;
	cf->types = types_new();
	cf->rules = rules_new(cf->types);
	cf->rate.per_sec = CONFIG_RATE;
	cf->rate.burst = CONFIG_BURST;
	cf->redaction = redact_new();

	json_object_object_foreach(tree, key, val) {
		if (strcmp(key, "listen") == 0) {
			if (val == NULL) {
				config_err(&c, tree, key, "must be "
				    "\"address:port\", { address, tls } or a "
				    "list of them");
				goto fail;
			}
			if (config_listen_load(cf, val, file, err, errlen) ==
			    -1)
				goto fail;
		} else if (strcmp(key, "user") == 0) {
			if (config_listen_user(cf, val ? val : tree, file, err,
			    errlen) == -1)
				goto fail;
		} else if (strcmp(key, "ledger") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    !config_ledger_ok(json_object_get_string(val))) {
				config_err(&c, val ? val : tree, key, "must be "
				    "\"sqlite:PATH\" or \"postgresql://user@"
				    "host:port/db\" (or postgres://)");
				goto fail;
			}
		} else if (strcmp(key, "ledger_mode") == 0) {
			/* "0640", or 0640 unquoted (YAML may make it 640). */
			s = json_object_is_type(val, json_type_string) ||
			    json_object_is_type(val, json_type_int) ?
			    json_object_get_string(val) : "";
			if (*s == '0')
				s++;
			if (strcmp(s, "600") != 0 && strcmp(s, "640") != 0) {
				config_err(&c, val ? val : tree, key, "must be "
				    "\"0600\" (owner only) or \"0640\" (and "
				    "the group may read)");
				goto fail;
			}
			cf->ledger_mode = strcmp(s, "640") == 0 ? 0640 : 0600;
		} else if (strcmp(key, "agent_secret") == 0) {
			if (config_agent_secret(&c, val, cf) == -1)
				goto fail;
		} else if (strcmp(key, "tokens") == 0) {
			if (config_tokens(&c, val, cf) == -1)
				goto fail;
		} else if (strcmp(key, "limits") == 0) {
			if (config_limits(&c, val, &cf->limits) == -1)
				goto fail;
		} else if (strcmp(key, "access_log") == 0) {
			if (config_access_log(&c, val, &cf->access_log) == -1)
				goto fail;
		} else if (strcmp(key, "evidence_types") == 0) {
			if (types_load(cf->types, val, file, err, errlen) == -1)
				goto fail;
		} else if (strcmp(key, "deployments") == 0) {
			if (deploy_load(cf->rules, val, file, err, errlen) ==
			    -1)
				goto fail;
		} else if (strcmp(key, "claim_types") == 0 ||
		    strcmp(key, "computed_claims") == 0 ||
		    strcmp(key, "sinks") == 0 ||
		    strcmp(key, "subscriptions") == 0) {
			continue;	/* below, once every evidence type is in */
		} else if (strcmp(key, "sources") == 0) {
			if (config_sources(&c, val, cf) == -1)
				goto fail;
		} else if (strcmp(key, "rate") == 0) {
			if (config_rate(&c, val, cf) == -1)
				goto fail;
		} else if (strcmp(key, "redaction") == 0) {
			if (redact_load(cf->redaction, val, file, err,
			    errlen) == -1)
				goto fail;
		} else if (strcmp(key, "milestones") == 0 ||
		    strcmp(key, "milestone_rules") == 0) {
			continue;	/* milestone_conf_load, below */
		} else if (strcmp(key, "tenants") == 0 ||
		    strcmp(key, "environments") == 0 ||
		    strcmp(key, "services") == 0) {
			continue;	/* config_services_load, below */
		} else if (strcmp(key, "status_pages") == 0 ||
		    strcmp(key, "dashboard") == 0) {
			continue;	/* config_web_load, below */
		} else if (strcmp(key, "slos") == 0 ||
		    strcmp(key, "gates") == 0) {
			continue;	/* config_slos_load, below */
		} else {
			config_err(&c, val ? val : tree, key, "unknown setting "
			    "(listen, user, ledger, ledger_mode, agent_secret, "
			    "tokens, limits, "
			    "access_log, rate, redaction, sources, "
			    "evidence_types, claim_types, computed_claims, "
			    "deployments, milestones, milestone_rules, sinks, "
			    "subscriptions, tenants, environments, services, "
			    "status_pages, dashboard, slos, gates)");
			goto fail;
		}
	}
	if (claims_load(cf->rules, json_object_object_get_ex(tree,
	    "claim_types", &v) ? v : NULL, file, err, errlen) == -1 ||
	    computed_load(cf->rules, json_object_object_get_ex(tree,
	    "computed_claims", &v) ? v : NULL, file, err, errlen) == -1)
		goto fail;
	if (config_outbox_load(cf, json_object_object_get_ex(tree, "sinks",
	    &v) ? v : NULL, json_object_object_get_ex(tree, "subscriptions",
	    &v) ? v : NULL, file, err, errlen) == -1)
		goto fail;
	if ((cf->milestones = milestone_conf_load(tree, file, err, errlen)) ==
	    NULL)
		goto fail;
	if (config_services_load(cf, tree, file, err, errlen) == -1)
		goto fail;
	if (config_web_load(cf, tree, file, err, errlen) == -1)
		goto fail;
	if (config_slos_load(cf, tree, file, err, errlen) == -1)
		goto fail;
	if (cf->listens == NULL && config_listen_load(cf, NULL, file, err,
	    errlen) == -1)
		goto fail;
	s = json_object_object_get_ex(tree, "ledger", &v) ?
	    json_object_get_string(v) : "sqlite:milepost.db";
	cf->ledger = xstrdup(s);
	for (i = 0; i < cf->ntokens; i++) {
		if (!cf->tokens[i].rate_set)
			cf->tokens[i].rate.per_sec = cf->rate.per_sec;
		if (!cf->tokens[i].burst_set)
			cf->tokens[i].rate.burst = cf->rate.burst;
	}
	return (cf);
fail:
	config_free(cf);
	return (NULL);
}

/*
 * Warn when cf's file is readable by others and holds secrets (keys,
 * tokens, source credentials, sink secrets): anyone on the machine could
 * sign evidence or read the API with them.  milepostd calls it at
 * start-up (and -n); the agent's -c FILE commands do not.
 */
void
config_mode_warn(const struct config *cf)
{
	static const char *const secret_keys[] = {
		"agent_secret", "tokens", "sources", "sinks", NULL
	};
	struct stat	 st;
	const char	*held = NULL, *path = cf->path;
	json_object	*v;
	size_t		 i;

	if (stat(path, &st) == -1 || (st.st_mode & S_IROTH) == 0)
		return;
	for (i = 0; secret_keys[i] != NULL && held == NULL; i++)
		if (json_object_object_get_ex(cf->tree, secret_keys[i], &v))
			held = secret_keys[i];
	if (held != NULL)
		log_warnx("%s: %s is readable by others (mode %04o) and holds "
		    "secrets (%s): chmod 640 it (or 600)", __func__, path,
		    (unsigned)(st.st_mode & 07777), held);
}

/*
 * Load and check path.  Returns a new config (free with config_free) or
 * NULL with err holding "file:line: key: reason".
 */
struct config *
config_load(const char *path, char *err, size_t errlen)
{
	json_object	*tree;
	struct buf	 text;

	buf_init(&text);
	if (buf_read_file(&text, path, CONFIG_MAX_FILE) == -1) {
		if (errno == EINVAL || errno == EFBIG)
			snprintf(err, errlen, "%s:0: not a regular file of at "
			    "most 4 MiB", path);
		else
			snprintf(err, errlen, "%s:0: %s", path, strerror(errno));
		buf_free(&text);
		return (NULL);
	}
	tree = yaml_parse(buf_cstr(&text), text.len, path, err, errlen);
	OPENSSL_cleanse(text.data, text.cap);	/* it holds secrets */
	buf_free(&text);
	if (tree == NULL)
		return (NULL);
	return (config_build(tree, path, err, errlen));
}

/* The configuration used without -c: defaults only, no secrets. */
struct config *
config_default(void)
{
	char	err[MP_ERRLEN];

	return (config_build(json_object_new_object(), "(defaults)", err,
	    sizeof(err)));
}

void
config_free(struct config *cf)
{
	size_t	i;

	if (cf == NULL || atomic_fetch_sub(&cf->refs, 1) > 1)
		return;
	free(cf->path);
	free(cf->listen);
	config_listen_free(cf);
	free(cf->ledger);
	free(cf->access_log.path);
	milestone_conf_free(cf->milestones);
	if (cf->agent_keys != NULL)
		OPENSSL_cleanse(cf->agent_keys, cf->nagent_keys *
		    sizeof(*cf->agent_keys));
	free(cf->agent_keys);
	for (i = 0; i < cf->ntokens; i++) {
		free(cf->tokens[i].tenant);
		free(cf->tokens[i].name);
	}
	redact_free(cf->redaction);
	for (i = 0; cf->sources != NULL && i < source_count(); i++)
		source_conf_clear(&cf->sources[i]);
	free(cf->sources);
	free(cf->tokens);
	config_outbox_free(cf);
	config_services_free(cf);
	config_web_free(cf);
	rules_free(cf->rules);
	types_free(cf->types);
	json_object_put(cf->tree);
	free(cf);
}

/*
 * Another reference to cf (a reload swaps configurations while requests
 * and the writer still use the old one); config_free drops one.
 */
struct config *
config_ref(struct config *cf)
{
	atomic_fetch_add(&cf->refs, 1);
	return (cf);
}

/*
 * The role of a presented bearer token, or ROLE_NONE.  Every configured
 * token is compared, in constant time, whatever matches first.
 */
enum role
config_token_role(const struct config *cf, const char *presented,
    const struct token **match)
{
	unsigned char	 d[SHA256_DIGEST_LENGTH];
	enum role	 r = ROLE_NONE;
	size_t		 i;

	if (match != NULL)
		*match = NULL;
	if (presented == NULL || *presented == '\0')
		return (ROLE_NONE);
	SHA256((const unsigned char *)presented, strlen(presented), d);
	for (i = 0; i < cf->ntokens; i++) {
		if (CRYPTO_memcmp(d, cf->tokens[i].digest, sizeof(d)) == 0 &&
		    r == ROLE_NONE) {
			r = cf->tokens[i].role;
			if (match != NULL)
				*match = &cf->tokens[i];
		}
	}
	return (r);
}
