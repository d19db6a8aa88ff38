/*
 * config-listen.c: listen (one listener or a list of them, each plain or
 * TLS) and user (whom milepostd runs as after start-up).
 *
 *   listen: "127.0.0.1:8780"
 *   listen: { address: "0.0.0.0:8443",
 *             tls: { cert: FILE, key: FILE, client_ca: FILE } }
 *   listen: [ "127.0.0.1:8780", { address: …, tls: { … } } ]
 *
 * Only the shape is checked here (files are loaded by the receiver, which
 * owns OpenSSL's TLS side: receiver/tls.c, at start, -n and SIGHUP).
 * Every error is "file:line: key: reason", unknown keys with the nearest
 * valid one.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

#define CONFIG_LISTEN_MAX	16

static const char *const config_listen_keys[] = { "address", "tls" };
static const char *const config_listen_tls_keys[] = { "cert", "key",
	"client_ca" };

/* "host:port", host an IPv4 address, a [v6] address, a name or empty. */
int
config_listen_address_ok(const char *s)
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

/*
 * Whether address's host is a loopback one (127.0.0.0/8, ::1,
 * localhost): plain HTTP there needs no warning.
 */
int
config_listen_loopback(const char *address)
{
	if (strncmp(address, "127.", 4) == 0 ||
	    strncmp(address, "localhost:", 10) == 0 ||
	    strncmp(address, "[::1]:", 6) == 0)
		return (1);
	return (0);
}

static int
config_listen_err(const char *file, json_object *o, const char *key,
    char *err, size_t errlen, const char *why)
{
	yaml_errf(err, errlen, file, o, key, "%s", why);
	return (-1);
}

static int
config_listen_unknown(const char *file, json_object *o, const char *key,
    const char *k, const char *const *names, size_t n, char *err,
    size_t errlen)
{
	char	*why;

	why = suggest_unknown("key", k, names, n);
	config_listen_err(file, o, key, err, errlen, why);
	free(why);
	return (-1);
}

static int
config_listen_file(const char *file, json_object *v, const char *key,
    char **out, char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_string) ||
	    *json_object_get_string(v) == '\0')
		return (config_listen_err(file, v, key, err, errlen, "must be "
		    "the path of a PEM file"));
	free(*out);
	*out = xstrdup(json_object_get_string(v));
	return (0);
}

static int
config_listen_tls(const char *file, json_object *o, const char *pfx,
    struct listen_conf *l, char *err, size_t errlen)
{
	char	key[160];

	snprintf(key, sizeof(key), "%s.tls", pfx);
	if (!json_object_is_type(o, json_type_object))
		return (config_listen_err(file, o, key, err, errlen, "must be "
		    "a mapping { cert, key, client_ca }"));
	json_object_object_foreach(o, k, v) {
		snprintf(key, sizeof(key), "%s.tls.%s", pfx, k);
		if (strcmp(k, "cert") == 0) {
			if (config_listen_file(file, v ? v : o, key, &l->cert,
			    err, errlen) == -1)
				return (-1);
		} else if (strcmp(k, "key") == 0) {
			if (config_listen_file(file, v ? v : o, key, &l->key,
			    err, errlen) == -1)
				return (-1);
		} else if (strcmp(k, "client_ca") == 0) {
			if (config_listen_file(file, v ? v : o, key,
			    &l->client_ca, err, errlen) == -1)
				return (-1);
		} else
			return (config_listen_unknown(file, v ? v : o, key, k,
			    config_listen_tls_keys, 3, err, errlen));
	}
	snprintf(key, sizeof(key), "%s.tls", pfx);
	if (l->cert == NULL || l->key == NULL)
		return (config_listen_err(file, o, key, err, errlen, "needs "
		    "both cert and key"));
	return (0);
}

static int
config_listen_one(const char *file, json_object *v, const char *pfx,
    struct listen_conf *l, char *err, size_t errlen)
{
	char	key[160];

	if (json_object_is_type(v, json_type_string)) {
		if (!config_listen_address_ok(json_object_get_string(v)))
			return (config_listen_err(file, v, pfx, err, errlen,
			    "must be \"address:port\", e.g. "
			    "\"127.0.0.1:8780\""));
		l->address = xstrdup(json_object_get_string(v));
		return (0);
	}
	if (!json_object_is_type(v, json_type_object))
		return (config_listen_err(file, v, pfx, err, errlen, "must be "
		    "\"address:port\" or { address, tls }"));
	json_object_object_foreach(v, k, kv) {
		snprintf(key, sizeof(key), "%s.%s", pfx, k);
		if (strcmp(k, "address") == 0) {
			if (!json_object_is_type(kv, json_type_string) ||
			    !config_listen_address_ok(
			    json_object_get_string(kv)))
				return (config_listen_err(file, kv ? kv : v,
				    key, err, errlen, "must be "
				    "\"address:port\", e.g. \"0.0.0.0:8443\""));
			free(l->address);
			l->address = xstrdup(json_object_get_string(kv));
		} else if (strcmp(k, "tls") == 0) {
			if (config_listen_tls(file, kv ? kv : v, pfx, l, err,
			    errlen) == -1)
				return (-1);
		} else
			return (config_listen_unknown(file, kv ? kv : v, key, k,
			    config_listen_keys, 2, err, errlen));
	}
	if (l->address == NULL) {
		snprintf(key, sizeof(key), "%s.address", pfx);
		return (config_listen_err(file, v, key, err, errlen, "missing "
		    "(\"address:port\")"));
	}
	return (0);
}

/*
 * listen: v is the value (NULL: the default, MP_DEFAULT_LISTEN, plain).
 * Fills cf->listens and cf->listen (the first one's address, for what
 * needs one).  Returns 0, or -1 with err set.
 */
int
config_listen_load(struct config *cf, json_object *v, const char *file,
    char *err, size_t errlen)
{
	json_object	*one;
	char		 key[64];
	size_t		 i, j, n;

	if (v == NULL) {
		cf->listens = xcalloc(1, sizeof(*cf->listens));
		cf->listens[0].address = xstrdup(MP_DEFAULT_LISTEN);
		cf->nlistens = 1;
		goto out;
	}
	n = json_object_is_type(v, json_type_array) ?
	    json_object_array_length(v) : 1;
	if (n == 0 || n > CONFIG_LISTEN_MAX)
		return (config_listen_err(file, v, "listen", err, errlen,
		    "must list 1 to 16 listeners"));
	cf->listens = xcalloc(n, sizeof(*cf->listens));
	for (i = 0; i < n; i++) {
		one = json_object_is_type(v, json_type_array) ?
		    json_object_array_get_idx(v, i) : v;
		if (json_object_is_type(v, json_type_array))
			snprintf(key, sizeof(key), "listen[%zu]", i);
		else
			snprintf(key, sizeof(key), "listen");
		cf->nlistens++;
		if (config_listen_one(file, one ? one : v, key,
		    &cf->listens[i], err, errlen) == -1)
			return (-1);
		/* Port 0 (any free port) may be listed more than once. */
		for (j = 0; j < i; j++)
			if (strcmp(strrchr(cf->listens[i].address, ':'),
			    ":0") != 0 && strcmp(cf->listens[j].address,
			    cf->listens[i].address) == 0)
				return (config_listen_err(file, one ? one : v,
				    key, err, errlen, "this address is listed "
				    "twice"));
	}
out:
	cf->listen = xstrdup(cf->listens[0].address);
	return (0);
}

/* user: a user name that exists; milepostd drops to it after start-up. */
int
config_listen_user(struct config *cf, json_object *v, const char *file,
    char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_string) ||
	    *json_object_get_string(v) == '\0')
		return (config_listen_err(file, v, "user", err, errlen, "must "
		    "be a user name, e.g. milepost"));
	if (getpwnam(json_object_get_string(v)) == NULL)
		return (yaml_errf(err, errlen, file, v, "user", "no such user "
		    "%s", json_object_get_string(v)));
	free(cf->user);
	cf->user = xstrdup(json_object_get_string(v));
	return (0);
}

void
config_listen_free(struct config *cf)
{
	size_t	i;

	for (i = 0; i < cf->nlistens; i++) {
		free(cf->listens[i].address);
		free(cf->listens[i].cert);
		free(cf->listens[i].key);
		free(cf->listens[i].client_ca);
	}
	free(cf->listens);
	free(cf->user);
}
