/*
 * session.c: the dashboard's sign-in.  A bearer token is exchanged for a
 * session cookie; cookie requests are read-only.
 *
 *	POST /session	Authorization: Bearer TOKEN [{"view":"executive"}]
 *			→ 200 {"role","tenant","name","view","expires_in"} and
 *			Set-Cookie: mp_session=ID; HttpOnly; SameSite=Strict
 *			(and Secure when the listener is TLS)
 *	GET /session	who the cookie signs in as (401 when none)
 *	DELETE /session	sign-out: the session is deleted, the cookie too
 *
 * ID is 32 bytes from RAND_bytes, hex; the table keeps only its SHA-256,
 * compared in constant time, never the token (a session names its token
 * by index and digest, so a token removed from the configuration ends
 * its sessions).  The table is bounded (dashboard.sessions, 1024: a full
 * table signs out the oldest session) and every session expires
 * dashboard.session_ttl (12 h) after sign-in.  session_token() is what api_authorize falls back to when
 * a GET or HEAD has no Authorization header, so a cookie read takes the
 * same path as a bearer read: the token's rate, the permission table,
 * api_present.  Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define SESSION_IDLEN	32		/* random bytes */
#define SESSION_COOKIE	"mp_session"

struct session {
	char		 idhash[MP_HASHLEN];		/* hex */
	unsigned char	 digest[HMAC_SHA256_LEN];	/* its token's */
	size_t		 tok;				/* cf->tokens[tok] */
	int64_t		 expires;			/* monotonic s */
	uint64_t	 born;				/* sign-in order */
	int		 used;
	int		 executive;			/* the view asked */
};

struct sessions {
	size_t		 max;				/* dashboard.sessions */
	size_t		 live;
	uint64_t	 born;				/* the last given */
	struct session	 s[];
};

static int64_t
session_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec);
}

static int64_t
session_ttl(const struct server *srv)
{
	return (srv->cf->dashboard.session_ttl > 0 ?
	    srv->cf->dashboard.session_ttl : DASHBOARD_TTL);
}

static struct sessions *
session_table(struct server *srv)
{
	size_t	n = srv->cf->dashboard.sessions > 0 ?
		    srv->cf->dashboard.sessions : DASHBOARD_SESSIONS;

	if (srv->sessions == NULL) {
		srv->sessions = xcalloc(1, sizeof(*srv->sessions) +
		    n * sizeof(srv->sessions->s[0]));
		srv->sessions->max = n;
	}
	return (srv->sessions);
}

/* At exit (server_free). */
void
session_free(struct sessions *t)
{
	if (t != NULL)
		OPENSSL_cleanse(t, sizeof(*t) + t->max * sizeof(t->s[0]));
	free(t);
}

/*
 * The value of cookie mp_session in req's Cookie header into out (hex,
 * 2 * SESSION_IDLEN + 1 bytes).  Returns 0, or -1 when there is none.
 */
static int
session_cookie(struct evhttp_request *req, char *out, size_t outlen)
{
	const char	*h, *p, *end;
	size_t		 n, klen = strlen(SESSION_COOKIE);

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Cookie");
	for (p = h; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > klen && strncmp(p, SESSION_COOKIE,
		    klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			n = (size_t)(end - p);
			while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			if (n != 2 * SESSION_IDLEN || n >= outlen)
				return (-1);
			memcpy(out, p, n);
			out[n] = '\0';
			return (0);
		}
	}
	return (-1);
}

/* Does req carry a session cookie (valid or not)? */
int
session_has_cookie(struct evhttp_request *req)
{
	char	id[2 * SESSION_IDLEN + 1];
	const char *h;

	if (session_cookie(req, id, sizeof(id)) == 0)
		return (1);
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Cookie");
	return (h != NULL && strstr(h, SESSION_COOKIE "=") != NULL);
}

/* The live session req's cookie names, or NULL. */
static struct session *
session_find(struct server *srv, struct evhttp_request *req)
{
	struct sessions	*t;
	struct session	*s, *found = NULL;
	char		 h[MP_HASHLEN], id[2 * SESSION_IDLEN + 1];
	int64_t		 now = session_now();
	size_t		 i;

	if (srv->sessions == NULL || session_cookie(req, id, sizeof(id)) ==
	    -1)
		return (NULL);
	sha256_hex(id, strlen(id), h);
	t = srv->sessions;
	for (i = 0; i < t->max; i++) {
		s = &t->s[i];
		if (!s->used)
			continue;
		if (s->expires <= now || s->tok >= srv->cf->ntokens ||
		    !hmac_equal(s->digest, srv->cf->tokens[s->tok].digest,
		    sizeof(s->digest))) {
			memset(s, 0, sizeof(*s));	/* expired, or gone */
			t->live--;
			continue;
		}
		if (hmac_equal(s->idhash, h, sizeof(h)))
			found = s;
	}
	return (found);
}

/*
 * The token a cookie request acts for: only for GET and HEAD (a cookie
 * never writes), only while its session lives.  Borrowed from the
 * configuration; NULL otherwise.
 */
const struct token *
session_token(struct server *srv, struct evhttp_request *req)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	struct session		*s;

	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
		return (NULL);
	if ((s = session_find(srv, req)) == NULL)
		return (NULL);
	return (&srv->cf->tokens[s->tok]);
}

static void
session_reply(struct server *srv, struct evhttp_request *req,
    const struct token *tok, const struct session *s)
{
	json_object	*o = json_object_new_object();
	const char	*view;

	view = tok->role == ROLE_CLIENT ? "client" : s->executive ?
	    "executive" : "engineer";
	json_object_object_add(o, "role",
	    json_object_new_string(access_role_name(tok->role)));
	json_object_object_add(o, "tenant", tok->tenant ?
	    json_object_new_string(tok->tenant) : NULL);
	json_object_object_add(o, "name", tok->name ?
	    json_object_new_string(tok->name) : NULL);
	json_object_object_add(o, "view", json_object_new_string(view));
	json_object_object_add(o, "expires_in",
	    json_object_new_int64(s->expires - session_now()));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	http_reply_json(req, 200, o);
	json_object_put(o);
}

/* A free slot; a full table gives up the oldest session. */
static struct session *
session_slot(struct sessions *t)
{
	struct session	*s, *first = NULL;
	size_t		 i;

	for (i = 0; i < t->max; i++) {
		s = &t->s[i];
		if (!s->used)
			return (s);
		if (first == NULL || s->born < first->born)
			first = s;
	}
	log_info("%s: %zu sessions: the oldest is signed out", __func__,
	    t->max);
	memset(first, 0, sizeof(*first));
	t->live--;
	return (first);
}

/* The view asked for in the optional body {"view": …}; -1 after a 400. */
static int
session_view(struct server *srv, struct evhttp_request *req, int *exec)
{
	struct evbuffer	*b = evhttp_request_get_input_buffer(req);
	json_object	*o, *v;
	size_t		 len = evbuffer_get_length(b);
	const char	*s, *views[] = { "engineer", "executive" };
	char		*why, msg[128], perr[128];

	*exec = 0;
	if (len == 0)
		return (0);
	o = NULL;
	if (len > 1024 || (o = strict_parse(srv->tok, (const char *)
	    evbuffer_pullup(b, -1), len, perr, sizeof(perr))) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		http_error(srv, req, 400, REJECT_SYNTAX, "the body must be "
		    "empty or {\"view\": \"engineer\" or \"executive\"}", NULL);
		return (-1);
	}
	if (json_object_object_get_ex(o, "view", &v)) {
		s = json_object_get_string(v);
		if (s != NULL && strcmp(s, "executive") == 0)
			*exec = 1;
		else if (s == NULL || strcmp(s, "engineer") != 0) {
			why = suggest_unknown("view", s ? s : "", views, 2);
			snprintf(msg, sizeof(msg), "%s", why);
			free(why);
			json_object_put(o);
			http_error(srv, req, 400, REJECT_SYNTAX, msg, "view");
			return (-1);
		}
	}
	json_object_put(o);
	return (0);
}

static void
session_signin(struct server *srv, struct evhttp_request *req)
{
	struct sessions		*t;
	struct session		*s;
	const struct token	*tok;
	unsigned char		 raw[SESSION_IDLEN];
	char			 id[2 * SESSION_IDLEN + 1], cookie[192];
	int			 exec;
	size_t			 i;

	/* Every role reads claims (a client its tenant's): any token. */
	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	if (session_view(srv, req, &exec) == -1)
		return;
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		log_warnx("%s: RAND_bytes failed", __func__);
		http_error(srv, req, 503, REJECT_STORAGE, "no randomness for "
		    "a session; retry", NULL);
		return;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	t = session_table(srv);
	s = session_slot(t);
	sha256_hex(id, strlen(id), s->idhash);
	memcpy(s->digest, tok->digest, sizeof(s->digest));
	s->tok = (size_t)(tok - srv->cf->tokens);
	s->expires = session_now() + session_ttl(srv);
	s->executive = exec && tok->role != ROLE_CLIENT;
	s->used = 1;
	s->born = ++t->born;
	t->live++;
	snprintf(cookie, sizeof(cookie), SESSION_COOKIE "=%s; Path=/; "
	    "HttpOnly; SameSite=Strict; Max-Age=%lld%s", id,
	    (long long)session_ttl(srv), tls_request(req) ? "; Secure" : "");
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(id, sizeof(id));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Set-Cookie", cookie);
	OPENSSL_cleanse(cookie, sizeof(cookie));
	session_reply(srv, req, tok, s);
}

/* POST, GET and DELETE /session. */
void
session_route(struct server *srv, struct evhttp_request *req)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	struct session		*s;
	json_object		*o;

	if (m == EVHTTP_REQ_POST) {
		session_signin(srv, req);
		return;
	}
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_DELETE) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, POST, DELETE");
		http_error(srv, req, 405, REJECT_METHOD, "method not allowed",
		    NULL);
		return;
	}
	s = session_find(srv, req);
	if (m == EVHTTP_REQ_GET) {
		if (s == NULL) {
			http_error(srv, req, 401, REJECT_AUTH, "not signed in",
			    NULL);
			return;
		}
		session_reply(srv, req, &srv->cf->tokens[s->tok], s);
		return;
	}
	if (s != NULL) {
		memset(s, 0, sizeof(*s));
		srv->sessions->live--;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Set-Cookie", SESSION_COOKIE "=; Path=/; HttpOnly; "
	    "SameSite=Strict; Max-Age=0");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	o = json_object_new_object();
	json_object_object_add(o, "signed_out",
	    json_object_new_boolean(s != NULL));
	http_reply_json(req, 200, o);
	json_object_put(o);
}
