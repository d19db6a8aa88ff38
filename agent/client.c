/*
 * client.c: deliver evidence to the receiver with libcurl easy.
 *
 * One CURL handle serves the whole process, so that run's two posts share
 * a connection.  Every post is signed per Standard Webhooks with the key in
 * MILEPOST_SECRET; without a usable key nothing is sent unsigned, and the
 * evidence goes to the spool instead.  After a transport failure the
 * receiver is taken to be down for CLIENT_DOWN_SECS, so that later posts go
 * straight to the spool rather than wait for the same timeout again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "agent.h"

#define CLIENT_BODY_MAX		(64 * 1024)	/* reply bytes kept */
#define CLIENT_GET_MAX		(64 * 1024 * 1024)	/* GET reply, whole */
#define CLIENT_CONNECT_MS	2000L
#define CLIENT_TIMEOUT_MS	5000L
#define CLIENT_DOWN_SECS	30

static int	client_fetch(const char *, const char *, size_t, struct buf *,
	    struct client_reply *);
static CURL			*client_curl;
static int			 client_global;	/* curl_global_init done */
static char			*client_evidence_url;
static struct stdwh_key		 client_k;
static int			 client_kstate = -1;	/* enum client_key */
static volatile sig_atomic_t	*client_abort;
static int			 client_down;
static struct timespec		 client_down_at;
static char			 client_down_err[MP_ERRLEN];
static int			 client_warned;	/* CLIENT_* bits, below */
static char			 client_curlerr[CURL_ERROR_SIZE];

#define CLIENT_WARNED_NOKEY	0x1
#define CLIENT_WARNED_DOWN	0x2
#define CLIENT_WARNED_SETUP	0x4

static int	client_open(void);
static long	client_timeout_ms(void);
static const char *client_base(int *);
static size_t	client_write(char *, size_t, size_t, void *);
static size_t	client_write_all(char *, size_t, size_t, void *);
static int	client_progress(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static void	client_parse_reply(const struct buf *,
		    struct client_reply *);
static void	client_mark_down(const char *);
static int	client_is_down(void);
static struct curl_slist *client_header(struct curl_slist *, const char *,
		    ...) MP_PRINTF(2, 3);

/*
 * The state of MILEPOST_SECRET, read once.  The key itself stays in this
 * file and is wiped by client_cleanup().
 */
enum client_key
client_key(void)
{
	const char	*s;

	if (client_kstate != -1)
		return ((enum client_key)client_kstate);
	if ((s = getenv("MILEPOST_SECRET")) == NULL || *s == '\0')
		client_kstate = CLIENT_KEY_UNSET;
	else if (stdwh_key_parse(s, &client_k) == -1)
		client_kstate = CLIENT_KEY_BAD;
	else
		client_kstate = CLIENT_KEY_OK;
	return ((enum client_key)client_kstate);
}

/* $MILEPOST_URL (borrowed) and its length without trailing slashes. */
static const char *
client_base(int *len)
{
	const char	*base;
	size_t		 n;

	if ((base = getenv("MILEPOST_URL")) == NULL || *base == '\0')
		base = MP_DEFAULT_URL;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	*len = (int)n;
	return (base);
}

/* $MILEPOST_URL/v1/evidence, borrowed; trailing slashes are dropped. */
const char *
client_url(void)
{
	const char	*base;
	int		 n;

	if (client_evidence_url != NULL)
		return (client_evidence_url);
	base = client_base(&n);
	xasprintf(&client_evidence_url, "%.*s/v1/evidence", n, base);
	return (client_evidence_url);
}

/*
 * While *flag is non-zero, posts give up at once (a transfer under way is
 * aborted from the progress callback) and report CLIENT_RETRY.  run sets
 * this from its signal handler.  flag is borrowed for the process' life.
 */
void
client_set_abort(volatile sig_atomic_t *flag)
{
	client_abort = flag;
}

/* MILEPOST_TIMEOUT (seconds, fractions allowed) as milliseconds. */
static long
client_timeout_ms(void)
{
	const char	*s;
	char		*end;
	double		 d;

	if ((s = getenv("MILEPOST_TIMEOUT")) == NULL || *s == '\0')
		return (CLIENT_TIMEOUT_MS);
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(d > 0) || d > 3600) {
		log_warnx("MILEPOST_TIMEOUT=%s is not a number of seconds "
		    "(0 to 3600); using %ld", s, CLIENT_TIMEOUT_MS / 1000);
		return (CLIENT_TIMEOUT_MS);
	}
	return (d * 1000 < 1 ? 1 : (long)(d * 1000));
}

/* Set up curl and the one handle.  Returns 0, or -1 with a warning. */
static int
client_open(void)
{
	long	total;

	if (client_curl != NULL)
		return (0);
	if (!client_global) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_warnx("%s: curl_global_init failed", __func__);
			return (-1);
		}
		client_global = 1;
	}
	if ((client_curl = curl_easy_init()) == NULL) {
		log_warnx("%s: curl_easy_init failed", __func__);
		return (-1);
	}
	total = client_timeout_ms();
	curl_easy_setopt(client_curl, CURLOPT_URL, client_url());
	curl_easy_setopt(client_curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(client_curl, CURLOPT_CONNECTTIMEOUT_MS,
	    total < CLIENT_CONNECT_MS ? total : CLIENT_CONNECT_MS);
	curl_easy_setopt(client_curl, CURLOPT_TIMEOUT_MS, total);
	curl_easy_setopt(client_curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(client_curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(client_curl, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(client_curl, CURLOPT_USERAGENT,
	    "milepost/" PACKAGE_VERSION);
	curl_easy_setopt(client_curl, CURLOPT_ERRORBUFFER, client_curlerr);
	curl_easy_setopt(client_curl, CURLOPT_WRITEFUNCTION, client_write);
	curl_easy_setopt(client_curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(client_curl, CURLOPT_XFERINFOFUNCTION,
	    client_progress);
	return (0);
}

/* Keep the first CLIENT_BODY_MAX bytes of the reply; drop the rest. */
static size_t
client_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;
	size_t		 len = size * n, keep;

	if (b->len < CLIENT_BODY_MAX) {
		keep = CLIENT_BODY_MAX - b->len;
		buf_add(b, p, len < keep ? len : keep);
	}
	return (len);
}

/* Keep a GET reply whole, up to CLIENT_GET_MAX; beyond, fail it. */
static size_t
client_write_all(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;
	size_t		 len = size * n;

	if (b->len + len > CLIENT_GET_MAX)
		return (0);	/* CURLE_WRITE_ERROR */
	buf_add(b, p, len);
	return (len);
}

/* Non-zero aborts the transfer: a signal asked run to hurry. */
static int
client_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	return (client_abort != NULL && *client_abort);
}

/* Fill r from a JSON reply: "error", "property", "duplicate", "seq". */
static void
client_parse_reply(const struct buf *b, struct client_reply *r)
{
	struct json_tokener	*tok;
	json_object		*o, *v;
	size_t			 i, n;

	if (b->len == 0)
		return;
	if ((tok = json_tokener_new_ex(16)) == NULL)
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, b->data, (int)b->len);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		/* Not JSON (a proxy's page?): keep a printable start. */
		for (i = n = 0; i < b->len && n + 1 < sizeof(r->error) &&
		    n < 120; i++) {
			unsigned char c = (unsigned char)b->data[i];

			if (c >= 0x20 && c < 0x7f)
				r->error[n++] = (char)c;
			else if (n > 0 && r->error[n - 1] != ' ')
				r->error[n++] = ' ';
		}
		r->error[n] = '\0';
		return;
	}
	if (json_object_object_get_ex(o, "error", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(r->error, sizeof(r->error), "%s",
		    json_object_get_string(v));
	if (json_object_object_get_ex(o, "property", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(r->property, sizeof(r->property), "%s",
		    json_object_get_string(v));
	if (json_object_object_get_ex(o, "duplicate", &v) &&
	    json_object_is_type(v, json_type_boolean))
		r->duplicate = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "seq", &v) &&
	    json_object_is_type(v, json_type_int))
		r->seq = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "unknown_milestones", &v) &&
	    json_object_is_type(v, json_type_object))
		snprintf(r->unknown, sizeof(r->unknown), "%s",
		    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void
client_mark_down(const char *why)
{
	client_down = 1;
	clock_gettime(CLOCK_MONOTONIC, &client_down_at);
	snprintf(client_down_err, sizeof(client_down_err), "%s", why);
}

/* Did a post fail for want of an answer less than CLIENT_DOWN_SECS ago? */
static int
client_is_down(void)
{
	struct timespec	now;

	if (!client_down)
		return (0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - client_down_at.tv_sec < CLIENT_DOWN_SECS)
		return (1);
	client_down = 0;
	return (0);
}

/* Append one formatted header line to h; out of memory is fatal. */
static struct curl_slist *
client_header(struct curl_slist *h, const char *fmt, ...)
{
	struct curl_slist	*n;
	va_list			 ap;
	char			*line;

	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	if ((n = curl_slist_append(h, line)) == NULL)
		fatalx("%s: curl_slist_append", __func__);
	free(line);
	return (n);
}

/*
 * POST body (len bytes, borrowed) as the evidence whose idempotency id is
 * id, signed with a fresh timestamp.  Fills r and says what became of it;
 * may block for up to MILEPOST_TIMEOUT seconds.
 */
enum client_status
client_send(const char *id, const char *body, size_t len,
    struct client_reply *r)
{
	struct curl_slist	*h = NULL;
	struct buf		 resp;
	char			 sig[STDWH_SIGLEN];
	int64_t			 ts;
	CURLcode		 rc;
	enum client_status	 st;

	memset(r, 0, sizeof(*r));
	if (client_key() != CLIENT_KEY_OK) {
		snprintf(r->error, sizeof(r->error), "MILEPOST_SECRET is %s",
		    client_key() == CLIENT_KEY_UNSET ? "not set" :
		    "not a valid whsec_ secret");
		return (CLIENT_NOKEY);
	}
	if (client_abort != NULL && *client_abort) {
		snprintf(r->error, sizeof(r->error), "interrupted");
		return (CLIENT_RETRY);
	}
	if (client_is_down()) {
		snprintf(r->error, sizeof(r->error), "%s", client_down_err);
		return (CLIENT_RETRY);
	}
	if (client_open() == -1) {
		snprintf(r->error, sizeof(r->error), "cannot set up libcurl");
		return (CLIENT_RETRY);
	}

	ts = tf_now() / 1000000;
	stdwh_sign(&client_k, id, ts, body, len, sig);
	h = client_header(h, "Content-Type: application/json");
	h = client_header(h, "Expect:");	/* no 100-continue wait */
	h = client_header(h, "webhook-id: %s", id);
	h = client_header(h, "webhook-timestamp: %" PRId64, ts);
	h = client_header(h, "webhook-signature: %s", sig);

	buf_init(&resp);
	client_curlerr[0] = '\0';
	curl_easy_setopt(client_curl, CURLOPT_URL, client_url());
	curl_easy_setopt(client_curl, CURLOPT_WRITEFUNCTION, client_write);
	curl_easy_setopt(client_curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(client_curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(client_curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	curl_easy_setopt(client_curl, CURLOPT_WRITEDATA, &resp);
	rc = curl_easy_perform(client_curl);
	curl_easy_setopt(client_curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);

	if (rc != CURLE_OK) {
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(r->error, sizeof(r->error), "interrupted");
		else {
			snprintf(r->error, sizeof(r->error), "%s",
			    client_curlerr[0] != '\0' ? client_curlerr :
			    curl_easy_strerror(rc));
			client_mark_down(r->error);
		}
		log_debug("%s: %s: %s", __func__, id, r->error);
		buf_free(&resp);
		return (CLIENT_RETRY);
	}
	curl_easy_getinfo(client_curl, CURLINFO_RESPONSE_CODE, &r->code);
	client_parse_reply(&resp, r);
	buf_free(&resp);

	if (r->code >= 200 && r->code < 300)
		st = CLIENT_DELIVERED;
	else if (r->code == 401 || r->code == 403 || r->code == 404 ||
	    r->code == 405 || r->code == 407)
		st = CLIENT_SETUP;	/* the set-up is wrong, not the evidence */
	else if (r->code == 408 || r->code == 429 || r->code >= 500 ||
	    r->code < 400)
		st = CLIENT_RETRY;
	else
		st = CLIENT_REFUSED;
	if (r->code >= 300 && r->code < 400)
		snprintf(r->error, sizeof(r->error), "the receiver redirects "
		    "(is MILEPOST_URL right?)");
	log_debug("%s: %s: HTTP %ld, %s%s", __func__, id, r->code,
	    client_status_name(st), r->duplicate ? " (duplicate)" : "");
	return (st);
}

/*
 * GET $MILEPOST_URL followed by path (borrowed, already escaped), with
 * the bearer token in MILEPOST_TOKEN when it is set.  The reply's body is
 * appended to body (the caller's, initialised); r->code is the status and,
 * for an error reply, r->error the receiver's reason.  Returns 0 when the
 * receiver answered, -1 with r->error set when it did not (or the reply
 * was over CLIENT_GET_MAX).  May block for up to MILEPOST_TIMEOUT seconds.
 */
int
client_get(const char *path, struct buf *body, struct client_reply *r)
{
	return (client_fetch(path, NULL, 0, body, r));
}

/*
 * POST data (JSON, borrowed) to $MILEPOST_URL followed by path, with the
 * bearer token, as client_get does otherwise.
 */
int
client_post_json(const char *path, const char *data, size_t len,
    struct buf *body, struct client_reply *r)
{
	return (client_fetch(path, data, len, body, r));
}

static int
client_fetch(const char *path, const char *data, size_t len, struct buf *body,
    struct client_reply *r)
{
	struct curl_slist	*h = NULL;
	const char		*base, *tok;
	char			*url;
	int			 n;
	CURLcode		 rc;

	memset(r, 0, sizeof(*r));
	if (client_abort != NULL && *client_abort) {
		snprintf(r->error, sizeof(r->error), "interrupted");
		return (-1);
	}
	if (client_open() == -1) {
		snprintf(r->error, sizeof(r->error), "cannot set up libcurl");
		return (-1);
	}
	base = client_base(&n);
	xasprintf(&url, "%.*s%s", n, base, path);
	h = client_header(h, "Accept: application/json");
	if ((tok = getenv("MILEPOST_TOKEN")) != NULL && *tok != '\0')
		h = client_header(h, "Authorization: Bearer %s", tok);

	client_curlerr[0] = '\0';
	if (data != NULL)
		h = client_header(h, "Content-Type: application/json");
	curl_easy_setopt(client_curl, CURLOPT_URL, url);
	if (data != NULL) {
		curl_easy_setopt(client_curl, CURLOPT_POSTFIELDS, data);
		curl_easy_setopt(client_curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else
		curl_easy_setopt(client_curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(client_curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(client_curl, CURLOPT_WRITEFUNCTION, client_write_all);
	curl_easy_setopt(client_curl, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(client_curl);
	curl_easy_setopt(client_curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);

	if (rc != CURLE_OK) {
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(r->error, sizeof(r->error), "interrupted");
		else if (rc == CURLE_WRITE_ERROR)
			snprintf(r->error, sizeof(r->error), "%s: the reply is "
			    "over %d MiB", url, CLIENT_GET_MAX / 1024 / 1024);
		else
			snprintf(r->error, sizeof(r->error), "%s: %s", url,
			    client_curlerr[0] != '\0' ? client_curlerr :
			    curl_easy_strerror(rc));
		log_debug("%s: %s", __func__, r->error);
		free(url);
		return (-1);
	}
	curl_easy_getinfo(client_curl, CURLINFO_RESPONSE_CODE, &r->code);
	if (r->code < 200 || r->code >= 300)
		client_parse_reply(body, r);
	log_debug("%s: %s: HTTP %ld, %zu bytes", __func__, url, r->code,
	    body->len);
	free(url);
	return (0);
}

/*
 * s escaped for one URL path segment or query value (RFC 3986: all but
 * the unreserved characters as %XX).  Returns a new string, or NULL when
 * libcurl cannot be set up.
 */
char *
client_escape(const char *s)
{
	char	*e, *copy;

	if (client_open() == -1)
		return (NULL);
	if ((e = curl_easy_escape(client_curl, s, 0)) == NULL)
		fatalx("%s: curl_easy_escape", __func__);
	copy = xstrdup(e);
	curl_free(e);
	return (copy);
}

/*
 * The webhook-id of a batch whose "evidence" array is list (borrowed):
 * "batch." and the first item's id, cut to MP_IDMAX, into out (at least
 * MP_IDMAX + 1 bytes).  It only signs the request, since every item
 * carries its own id, and being derived from the body it is the same
 * when flush sends the spooled batch again.  Returns 0, or -1 when the
 * first item has no valid id.
 */
int
client_batch_id(json_object *list, char *out, size_t outlen)
{
	json_object	*first, *v;
	const char	*id;

	if (outlen < MP_IDMAX + 1 || !json_object_is_type(list,
	    json_type_array) || json_object_array_length(list) == 0)
		return (-1);
	first = json_object_array_get_idx(list, 0);
	if (!json_object_is_type(first, json_type_object) ||
	    !json_object_object_get_ex(first, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !ident_valid(id = json_object_get_string(v)))
		return (-1);
	snprintf(out, MP_IDMAX + 1, "batch.%s", id);
	return (0);
}

/*
 * Deliver the evidence ev (borrowed; it must have an "id", or be a batch
 * {"evidence":[...]} whose items have ids), or spool it when it could be
 * delivered later: no answer, 408/429/5xx, no usable key, and with
 * CLIENT_SPOOL_SETUP a wrong secret or URL (401, 403, 404, 405, 407).  A
 * batch is spooled as one file.  *spooled says whether a copy is now in
 * the spool.  Warns once per cause; a refusal is left to the caller to
 * report, with r.
 */
enum client_status
client_post(json_object *ev, int flags, struct client_reply *r, int *spooled)
{
	enum client_status	 st;
	json_object		*v;
	const char		*body, *id = "", *hint = "";
	char			 why[MP_ERRLEN + 160], what[MP_ERRLEN + 200];
	char			 bid[MP_IDMAX + 1];
	size_t			 len;
	int			 bit = 0;

	*spooled = 0;
	if (json_object_object_get_ex(ev, "id", &v))
		id = json_object_get_string(v);
	else if (json_object_object_get_ex(ev, "evidence", &v) &&
	    client_batch_id(v, bid, sizeof(bid)) == 0)
		id = bid;
	body = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(body);

	st = client_send(id, body, len, r);
	switch (st) {
	case CLIENT_DELIVERED:
	case CLIENT_REFUSED:
		return (st);
	case CLIENT_NOKEY:
		bit = CLIENT_WARNED_NOKEY;
		snprintf(what, sizeof(what), "%s", r->error);
		hint = ", not sent unsigned";
		break;
	case CLIENT_RETRY:
		bit = CLIENT_WARNED_DOWN;
		snprintf(what, sizeof(what), "%s: %s", client_url(),
		    client_reason(r, why, sizeof(why)));
		break;
	case CLIENT_SETUP:
		if (!(flags & CLIENT_SPOOL_SETUP))
			return (st);
		bit = CLIENT_WARNED_SETUP;
		snprintf(what, sizeof(what), "%s: %s", client_url(),
		    client_reason(r, why, sizeof(why)));
		hint = " (check MILEPOST_SECRET and MILEPOST_URL)";
		break;
	}
	if (spool_add(id, body, len) == -1) {
		log_warnx("%s: evidence %s is lost", what, id);
		return (st);
	}
	*spooled = 1;
	if (!(client_warned & bit))
		log_warnx("%s: evidence is spooled in %s%s", what,
		    spool_path(), hint);
	client_warned |= bit;
	return (st);
}

/*
 * Why a post failed, into buf: "HTTP 422: reason" when the receiver
 * answered, curl's message when it did not.  Returns buf.
 */
const char *
client_reason(const struct client_reply *r, char *buf, size_t len)
{
	const char	*why = r->error[0] != '\0' ? r->error : "no reason given";

	if (r->code == 0)
		snprintf(buf, len, "%s", why);
	else if (r->property[0] != '\0')
		snprintf(buf, len, "HTTP %ld: %s (property: %s)", r->code, why,
		    r->property);
	else
		snprintf(buf, len, "HTTP %ld: %s", r->code, why);
	return (buf);
}

/* Report a refusal on stderr: "what: refused (HTTP 422: reason)". */
void
client_reply_print(const char *what, const struct client_reply *r)
{
	char	why[MP_ERRLEN + 160];

	log_warnx("%s: refused (%s)", what, client_reason(r, why,
	    sizeof(why)));
}

const char *
client_status_name(enum client_status st)
{
	switch (st) {
	case CLIENT_DELIVERED:
		return ("delivered");
	case CLIENT_RETRY:
		return ("retry later");
	case CLIENT_SETUP:
		return ("wrong secret or URL");
	case CLIENT_REFUSED:
		return ("refused");
	case CLIENT_NOKEY:
		return ("no key");
	}
	return ("unknown");
}

/* Release the handle and curl's global state, and wipe the key. */
void
client_cleanup(void)
{
	if (client_curl != NULL)
		curl_easy_cleanup(client_curl);
	client_curl = NULL;
	if (client_global)
		curl_global_cleanup();
	client_global = 0;
	free(client_evidence_url);
	client_evidence_url = NULL;
	explicit_bzero(&client_k, sizeof(client_k));
	client_kstate = -1;
}
