/*
 * api-web.c: the dashboard's files, built into the binary (web/embed.sh
 * makes web-assets.c from web/ and Debian's Chart.js at build time), so
 * nothing is fetched at run time and no outside origin is ever allowed.
 *
 *	GET /			index.html (the dashboard; sign-in in it)
 *	GET /assets/NAME	the rest: app.js, views.js, app.css, chart.js…
 *
 * Every reply has a strong ETag over the asset's bytes (computed once,
 * on first use; the loop thread alone touches the cache), Cache-Control:
 * no-cache (a 304 is cheap; names carry no version), nosniff, and a
 * Content-Security-Policy of 'self' only.  HEAD is answered as GET
 * without the body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"
#include "web-assets.h"

#define WEB_CSP	"default-src 'none'; script-src 'self'; style-src 'self'; " \
		"img-src 'self' data:; connect-src 'self'; font-src 'self'; " \
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

static char	(*web_etags)[48];	/* per asset, loop thread */

/* The asset served as name, or NULL. */
const struct web_asset *
web_asset_find(const char *name)
{
	const struct web_asset	*a;

	for (a = web_assets; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return (a);
	return (NULL);
}

/* The asset's strong ETag, "\"<32 hex>\"" (a static string). */
static const char *
web_etag(const struct web_asset *a)
{
	char	 hash[MP_HASHLEN];
	size_t	 i, n;

	if (web_etags == NULL) {
		for (n = 0; web_assets[n].name != NULL; n++)
			;
		web_etags = xcalloc(n, sizeof(*web_etags));
		for (i = 0; i < n; i++) {
			sha256_hex(web_assets[i].data, web_assets[i].len,
			    hash);
			snprintf(web_etags[i], sizeof(web_etags[i]),
			    "\"%.32s\"", hash);
		}
	}
	return (web_etags[a - web_assets]);
}

/* The headers every page and asset carries (also the status pages). */
void
web_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*oh = evhttp_request_get_output_headers(req);

	evhttp_add_header(oh, "Content-Security-Policy", WEB_CSP);
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
	evhttp_add_header(oh, "X-Frame-Options", "DENY");
}

/*
 * Answer req with asset a: 304 when If-None-Match names its ETag, else
 * 200 with its bytes (none for HEAD).
 */
void
web_send(struct evhttp_request *req, const struct web_asset *a)
{
	struct evkeyvalq	*oh = evhttp_request_get_output_headers(req);
	const char		*etag = web_etag(a), *inm;
	char			 len[24];

	web_headers(req);
	evhttp_add_header(oh, "ETag", etag);
	evhttp_add_header(oh, "Cache-Control", "no-cache");
	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	if (inm != NULL && strstr(inm, etag) != NULL) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(oh, "Content-Type", a->ctype);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu", a->len);
		evhttp_add_header(oh, "Content-Length", len);
	} else
		evbuffer_add_reference(evhttp_request_get_output_buffer(req),
		    a->data, a->len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
}

/*
 * GET or HEAD of / or /assets/NAME (path as requested).  Anything else
 * under /assets/ is 404; another method is 405.
 */
void
web_route(struct server *srv, struct evhttp_request *req, const char *path)
{
	const struct web_asset	*a = NULL;
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);

	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_error(srv, req, 405, REJECT_METHOD, "method not allowed",
		    NULL);
		return;
	}
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		a = web_asset_find("index.html");
	else if (strncmp(path, "/assets/", 8) == 0 &&
	    strcmp(path + 8, "index.html") != 0 &&
	    strcmp(path + 8, "status.html") != 0)
		a = web_asset_find(path + 8);
	if (a == NULL) {
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such file",
		    NULL);
		return;
	}
	web_send(req, a);
}

/* At exit (server_free): the ETag cache. */
void
web_free(void)
{
	free(web_etags);
	web_etags = NULL;
}
