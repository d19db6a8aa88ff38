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

#include "milepost.h"

#define CONFIG_MAX_FILE	(4 * 1024 * 1024)

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
	.queue_max = 16384,
	.batch_max = 4096,
};

static const char *role_names[] = {
	[ROLE_NONE] = "none",
	[ROLE_CLIENT] = "client",
	[ROLE_READER] = "reader",
	[ROLE_WRITER] = "writer",
	[ROLE_OPERATOR] = "operator",
	[ROLE_ADMIN] = "admin",
};

static int
config_err(struct cfgctx *c, json_object *o, const char *key,
    const char *fmt, ...) MP_PRINTF(4, 5);

static int
config_err(struct cfgctx *c, json_object *o, const char *key,
    const char *fmt, ...)
{
	char	msg[MP_ERRLEN];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file, config_line(o),
	    key, msg);
	return (-1);
}

const char *
config_role_name(enum role r)
{
	return (role_names[r]);
}

static int
config_role_parse(const char *s, enum role *r)
{
	size_t	i;

	for (i = ROLE_CLIENT; i <= ROLE_ADMIN; i++)
		if (strcmp(s, role_names[i]) == 0) {
			*r = (enum role)i;
			return (0);
		}
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
	char		key[128];
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
		} else if (strcmp(k, "queue_max") == 0) {
			if (config_uint(c, v, key, 1, 10000000, &n) == -1)
				return (-1);
			l->queue_max = (size_t)n;
		} else if (strcmp(k, "batch_max") == 0) {
			if (config_uint(c, v, key, 1, 100000, &n) == -1)
				return (-1);
			l->batch_max = (size_t)n;
		} else
			return (config_err(c, v, key, "unknown limit (max_body, "
			    "max_headers, max_connections, timeout, queue_max, "
			    "batch_max)"));
	}
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
		    &cf->agent_keys[i]) == -1)
			return (config_err(c, one ? one : v, "agent_secret",
			    "must be \"whsec_\" followed by base64 of 1 to 64 "
			    "bytes"));
		cf->nagent_keys++;
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
			    strcmp(k, "tenant") && strcmp(k, "name")) {
				snprintf(key, sizeof(key), "tokens[%zu].%s",
				    i, k);
				return (config_err(c, kv ? kv : t, key,
				    "unknown key (token, role, tenant, name)"));
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
		    config_role_parse(json_object_get_string(role),
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
		cf->ntokens++;
		if (tk->role == ROLE_CLIENT && tk->tenant == NULL)
			return (config_err(c, t, key, "a client token must name "
			    "its tenant"));
	}
	return (0);
}

static int
config_listen_ok(const char *s)
{
	const char	*colon;
	char		*end;
	long		 port;

	if ((colon = strrchr(s, ':')) == NULL || colon == s)
		return (0);
	port = strtol(colon + 1, &end, 10);
	return (*end == '\0' && colon[1] != '\0' && port >= 0 && port <=
	    65535);
}

/* Turn a parsed tree into settings; the tree is taken. */
static struct config *
config_build(json_object *tree, const char *file, char *err, size_t errlen)
{
	struct cfgctx	 c = { file, err, errlen };
	struct config	*cf;
	json_object	*v;
	const char	*s;

	cf = xcalloc(1, sizeof(*cf));
	cf->path = xstrdup(file);
	cf->tree = tree;
	cf->limits = config_default_limits;
	cf->types = types_new();

	json_object_object_foreach(tree, key, val) {
		if (strcmp(key, "listen") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    !config_listen_ok(json_object_get_string(val))) {
				config_err(&c, val ? val : tree, key, "must be "
				    "\"address:port\", e.g. \"127.0.0.1:8780\"");
				goto fail;
			}
		} else if (strcmp(key, "ledger") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    strncmp(json_object_get_string(val), "sqlite:",
			    7) != 0 || json_object_get_string(val)[7] ==
			    '\0') {
				config_err(&c, val ? val : tree, key, "must be "
				    "\"sqlite:PATH\" (postgresql:// is not "
				    "built yet)");
				goto fail;
			}
		} else if (strcmp(key, "agent_secret") == 0) {
			if (config_agent_secret(&c, val, cf) == -1)
				goto fail;
		} else if (strcmp(key, "tokens") == 0) {
			if (config_tokens(&c, val, cf) == -1)
				goto fail;
		} else if (strcmp(key, "limits") == 0) {
			if (config_limits(&c, val, &cf->limits) == -1)
				goto fail;
		} else if (strcmp(key, "evidence_types") == 0) {
			if (types_load(cf->types, val, file, err, errlen) == -1)
				goto fail;
		} else if (strcmp(key, "claim_types") == 0 ||
		    strcmp(key, "computed_claims") == 0) {
			continue;	/* below, once every evidence type is in */
		} else if (strcmp(key, "sources") == 0) {
			if (!json_object_is_type(val, json_type_object)) {
				config_err(&c, val ? val : tree, key,
				    "must be a mapping");
				goto fail;
			}
			log_warnx("%s:%d: %s: accepted but not used by this "
			    "version", file, config_line(val), key);
		} else {
			config_err(&c, val ? val : tree, key, "unknown setting "
			    "(listen, ledger, agent_secret, tokens, limits, "
			    "sources, evidence_types, claim_types, "
			    "computed_claims)");
			goto fail;
		}
	}
	if (claims_load(cf->types, json_object_object_get_ex(tree,
	    "claim_types", &v) ? v : NULL, file, err, errlen) == -1 ||
	    computed_load(cf->types, json_object_object_get_ex(tree,
	    "computed_claims", &v) ? v : NULL, file, err, errlen) == -1)
		goto fail;
	s = json_object_object_get_ex(tree, "listen", &v) ?
	    json_object_get_string(v) : MP_DEFAULT_LISTEN;
	cf->listen = xstrdup(s);
	s = json_object_object_get_ex(tree, "ledger", &v) ?
	    json_object_get_string(v) : "sqlite:milepost.db";
	cf->ledger = xstrdup(s);
	return (cf);
fail:
	config_free(cf);
	return (NULL);
}

/*
 * Load and check path.  Returns a new config (free with config_free) or
 * NULL with err holding "file:line: key: reason".
 */
struct config *
config_load(const char *path, char *err, size_t errlen)
{
	json_object	*tree;
	struct stat	 st;
	char		*text;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s:0: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFIG_MAX_FILE) {
		snprintf(err, errlen, "%s:0: not a regular file of at most "
		    "4 MiB", path);
		close(fd);
		return (NULL);
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		if ((n = read(fd, text + off, (size_t)st.st_size - off)) <= 0) {
			snprintf(err, errlen, "%s:0: read: %s", path,
			    n == 0 ? "short read" : strerror(errno));
			free(text);
			close(fd);
			return (NULL);
		}
		off += (size_t)n;
	}
	close(fd);
	text[off] = '\0';
	tree = config_yaml_parse(text, off, path, err, errlen);
	OPENSSL_cleanse(text, off);
	free(text);
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

	if (cf == NULL)
		return;
	free(cf->path);
	free(cf->listen);
	free(cf->ledger);
	if (cf->agent_keys != NULL)
		OPENSSL_cleanse(cf->agent_keys, cf->nagent_keys *
		    sizeof(*cf->agent_keys));
	free(cf->agent_keys);
	for (i = 0; i < cf->ntokens; i++)
		free(cf->tokens[i].tenant);
	free(cf->tokens);
	types_free(cf->types);
	json_object_put(cf->tree);
	free(cf);
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
