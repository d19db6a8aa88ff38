/*
 * source.c: what every inbound source shares: the table lookup, the
 * authentication checks (all constant-time), and small builders for the
 * evidence objects a normalizer appends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "plugins/source.h"

const struct mp_source *
source_find(const char *name)
{
	const struct mp_source	**s;

	for (s = source_table; *s != NULL; s++)
		if (strcmp((*s)->name, name) == 0)
			return (*s);
	return (NULL);
}

size_t
source_index(const struct mp_source *src)
{
	size_t	i;

	for (i = 0; source_table[i] != NULL; i++)
		if (source_table[i] == src)
			return (i);
	fatalx("%s: %s is not in the table", __func__, src->name);
}

size_t
source_count(void)
{
	size_t	n = 0;

	while (source_table[n] != NULL)
		n++;
	return (n);
}

static void
source_strv_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		freezero_str(v[i]);
	free(v);
}

void
source_conf_clear(struct source_conf *sc)
{
	source_strv_free(sc->secrets, sc->nsecrets);
	source_strv_free(sc->tokens, sc->ntokens);
	source_strv_free(sc->bearers, sc->nbearers);
	source_strv_free(sc->basic, sc->nbasic);
	if (sc->signing != NULL)
		OPENSSL_cleanse(sc->signing, sc->nsigning * sizeof(*sc->signing));
	free(sc->signing);
	memset(sc, 0, sizeof(*sc));
}

/* Is presented one of v[]?  Every entry is compared, in constant time. */
static int
source_any(char **v, size_t n, const char *presented)
{
	size_t	i;
	int	ok = 0;

	if (presented == NULL)
		return (0);
	for (i = 0; i < n; i++)
		ok |= hmac_str_equal(v[i], presented);
	return (ok);
}

/* A shared token (X-Gitlab-Token) among the configured ones. */
int
source_check_token(const struct source_conf *sc, const char *presented)
{
	return (source_any(sc->tokens, sc->ntokens, presented));
}

/* Authorization: Bearer <one of bearers>. */
int
source_check_bearer(const struct source_conf *sc, const struct source_req *r)
{
	const char	*h = r->header(r, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return (0);
	for (h += 7; *h == ' '; h++)
		;
	return (source_any(sc->bearers, sc->nbearers, h));
}

/* Authorization: Basic base64(<one of "user:password">). */
int
source_check_basic(const struct source_conf *sc, const struct source_req *r)
{
	const char	*h = r->header(r, "Authorization");
	unsigned char	 dec[512];
	size_t		 n;
	int		 ok;

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return (0);
	for (h += 6; *h == ' '; h++)
		;
	if (strlen(h) > 600 || b64_decode(h, dec, sizeof(dec) - 1, &n) == -1)
		return (0);
	dec[n] = '\0';
	ok = source_any(sc->basic, sc->nbasic, (const char *)dec);
	OPENSSL_cleanse(dec, sizeof(dec));
	return (ok);
}

/* Standard Webhooks headers against the configured signing keys. */
enum stdwh_result
source_check_signing(const struct source_conf *sc, const struct source_req *r)
{
	if (sc->nsigning == 0)
		return (STDWH_MISMATCH);
	return (stdwh_verify(sc->signing, sc->nsigning,
	    r->header(r, "webhook-id"), r->header(r, "webhook-timestamp"),
	    r->header(r, "webhook-signature"), r->body, r->len,
	    r->now / 1000000));
}

/*
 * Does hexmac (lower or upper case hex of an HMAC-SHA256 of body) match
 * any of the secrets?  Every secret is tried; compares are constant-time.
 */
int
source_check_hmac(char **secrets, size_t n, const char *hexmac,
    const void *body, size_t len)
{
	unsigned char	mac[HMAC_SHA256_LEN];
	char		want[2 * HMAC_SHA256_LEN + 1], got[2 * HMAC_SHA256_LEN + 1];
	size_t		i;
	int		ok = 0;

	if (hexmac == NULL || strlen(hexmac) != 2 * HMAC_SHA256_LEN)
		return (0);
	for (i = 0; i < sizeof(got) - 1; i++)
		got[i] = (char)((hexmac[i] >= 'A' && hexmac[i] <= 'F') ?
		    hexmac[i] - 'A' + 'a' : hexmac[i]);
	got[sizeof(got) - 1] = '\0';
	for (i = 0; i < n; i++) {
		hmac_sha256(secrets[i], strlen(secrets[i]), body, len, mac);
		hmac_hex(mac, sizeof(mac), want);
		ok |= hmac_equal(want, got, sizeof(want) - 1);
	}
	return (ok);
}

/*
 * Append a new evidence object to out and return it (borrowed).  time is
 * RFC 3339 or NULL (the time of receipt); subject may be NULL.
 */
json_object *
source_evidence(json_object *out, const char *id, const char *type,
    const char *subject, const char *time)
{
	json_object	*ev;

	ev = json_object_new_object();
	json_object_object_add(ev, "id", json_object_new_string(id));
	json_object_object_add(ev, "type", json_object_new_string(type));
	if (subject != NULL)
		json_object_object_add(ev, "subject",
		    json_object_new_string(subject));
	if (time != NULL && *time != '\0')
		json_object_object_add(ev, "time", json_object_new_string(time));
	json_object_object_add(ev, "properties", json_object_new_object());
	json_object_object_add(ev, "links", json_object_new_object());
	json_object_array_add(out, ev);
	return (ev);
}

static void
source_put(json_object *ev, const char *field, const char *key,
    const char *val)
{
	json_object	*o;

	if (val == NULL || *val == '\0')
		return;
	if (json_object_object_get_ex(ev, field, &o))
		json_object_object_add(o, key, json_object_new_string(val));
}

/* A string property, when val is non-empty. */
void
source_prop(json_object *ev, const char *key, const char *val)
{
	source_put(ev, "properties", key, val);
}

/* A link, when val is non-empty. */
void
source_link(json_object *ev, const char *key, const char *val)
{
	source_put(ev, "links", key, val);
}

/*
 * The build a CI tool's pipeline evidence pev (borrowed, already in out)
 * reports, as the agent's build types, so that tool builds feed the same
 * BuildLifecycle and SLA claims as `milepost run`: BuildStartedEvent for
 * a PipelineStarted; BuildCompleted for a PipelineCompleted with a
 * duration (status success is success; failure, error, unstable and
 * cancelled are failure; skipped never ran, and is no build).  Its id is
 * "<pev's id>.build", its time and links pev's, and its subject build:
 * the id `milepost run` takes by default in that CI, so that the agent
 * and the tool are two witnesses of one build.  Appended to out.
 */
void
source_build(json_object *out, json_object *pev, const char *build)
{
	json_object	*ev, *v, *p, *l;
	const char	*type, *status = NULL;
	char		 id[MP_IDMAX + 1];

	if (build == NULL || *build == '\0' ||
	    (type = source_str(pev, "type")) == NULL)
		return;
	if (strcmp(type, "PipelineCompleted") == 0) {
		if ((status = source_str(pev, "properties.status")) == NULL ||
		    strcmp(status, "skipped") == 0 ||
		    !json_object_object_get_ex(pev, "properties", &p) ||
		    !json_object_object_get_ex(p, "duration", &v))
			return;
		status = strcmp(status, "success") == 0 ? "success" :
		    "failure";
	} else if (strcmp(type, "PipelineStarted") != 0)
		return;
	if ((size_t)snprintf(id, sizeof(id), "%s.build", source_str(pev,
	    "id")) >= sizeof(id))
		return;
	ev = source_evidence(out, id, status != NULL ? "BuildCompleted" :
	    "BuildStartedEvent", build, source_str(pev, "time"));
	if (status != NULL) {
		source_prop(ev, "buildStatus", status);
		json_object_object_get_ex(ev, "properties", &p);
		json_object_object_add(p, "duration", json_object_get(v));
	} else
		source_prop(ev, "buildId", build);
	if (json_object_object_get_ex(pev, "links", &l) &&
	    json_object_object_get_ex(ev, "links", &p)) {
		json_object_object_foreach(l, k, lv)
			json_object_object_add(p, k, json_object_get(lv));
	}
}

/*
 * The string at a dotted path ("deployment.environment") of o, or NULL.
 * Numbers are returned as json-c prints them (borrowed from o).
 */
const char *
source_str(json_object *o, const char *path)
{
	const char	*dot;
	char		 key[128];
	size_t		 n;

	while (o != NULL) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key) || !json_object_is_type(o,
		    json_type_object))
			return (NULL);
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &o) || o == NULL)
			return (NULL);
		if (dot == NULL)
			break;
		path = dot + 1;
	}
	if (o == NULL || json_object_is_type(o, json_type_object) ||
	    json_object_is_type(o, json_type_array))
		return (NULL);
	return (json_object_get_string(o));
}

static int
source_word(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_');
}

/*
 * The length of the issue key at p in msg, or 0: what the extended
 * regular expression \b[A-Z][A-Z0-9]+-[0-9]+\b matches there.  A scan,
 * not regexec(3), which cost more than the rest of a GitHub push's
 * normalisation.
 */
static size_t
source_issue_key(const char *msg, const char *p)
{
	const char	*q = p;

	if ((p > msg && source_word(p[-1])) || *q < 'A' || *q > 'Z')
		return (0);
	for (q++; (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9'); q++)
		;
	if (q - p < 2 || *q != '-' || q[1] < '0' || q[1] > '9')
		return (0);
	for (q++; *q >= '0' && *q <= '9'; q++)
		;
	return (source_word(*q) ? 0 : (size_t)(q - p));
}

/*
 * Parse the trailers and issue keys of a commit message into the list
 * properties milestones ("Milestone: M-42", also linked as "milestone")
 * and issueKeys ("ABC-123").
 */
void
source_message_keys(json_object *ev, const char *msg)
{
	json_object	*props, *ms, *keys;
	const char	*p, *line, *eol;
	char		 buf[256];
	size_t		 n;

	if (msg == NULL || !json_object_object_get_ex(ev, "properties",
	    &props))
		return;
	ms = json_object_new_array();
	for (line = msg; *line != '\0'; line = *eol ? eol + 1 : eol) {
		if ((eol = strchr(line, '\n')) == NULL)
			eol = line + strlen(line);
		if (strncasecmp(line, "Milestone:", 10) != 0)
			continue;
		for (p = line + 10; *p == ' ' || *p == '\t'; p++)
			;
		n = (size_t)(eol - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r'))
			n--;
		if (n > 0 && n < sizeof(buf)) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			json_object_array_add(ms, json_object_new_string(buf));
		}
	}
	if (json_object_array_length(ms) > 0) {
		source_link(ev, "milestone", json_object_get_string(
		    json_object_array_get_idx(ms, 0)));
		json_object_object_add(props, "milestones", ms);
	} else
		json_object_put(ms);

	keys = json_object_new_array();
	for (p = msg; *p != '\0' && json_object_array_length(keys) < 32;) {
		if ((n = source_issue_key(msg, p)) == 0) {
			p++;
			continue;
		}
		/* "M-42" from a Milestone trailer is not an issue. */
		if (n < sizeof(buf) && strncmp(p, "M-", 2) != 0) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			json_object_array_add(keys, json_object_new_string(buf));
		}
		p += n;
	}
	if (json_object_array_length(keys) > 0)
		json_object_object_add(props, "issueKeys", keys);
	else
		json_object_put(keys);
}
