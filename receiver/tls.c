/*
 * tls.c: TLS for a listener, through OpenSSL and libevent's
 * bufferevent_openssl under evhttp (evhttp_set_bevcb).
 *
 * One SSL_CTX per TLS listener, built from its cert, key and optional
 * client CA at start, by -n, and on SIGHUP (reload.c): a new context is
 * swapped in and serves the next connection; connections already open
 * keep the SSL they were built with (each SSL holds a reference on its
 * context, so the old one is freed with its last connection).
 * TLS 1.2 and 1.3 only; for 1.2, ECDHE with AEAD ciphers only (Mozilla's
 * "intermediate" list); no compression, no renegotiation.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/bufferevent_ssl.h>
#include <event2/http.h>

#include "milepostd.h"

#define TLS_CIPHERS_12	"ECDHE-ECDSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:" \
	"ECDHE-RSA-CHACHA20-POLY1305"

/* err := "what FILE: OpenSSL's reason", and clear OpenSSL's error queue. */
static void
tls_err(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long	e;
	char		why[256] = "unknown error";

	if ((e = ERR_peek_last_error()) != 0)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	snprintf(err, errlen, "%s %s: %s", what, file, why);
}

/*
 * A server context for listener lc (which must have cert and key).
 * Returns a new SSL_CTX (SSL_CTX_free it), or NULL with err naming the
 * file and OpenSSL's reason.
 */
SSL_CTX *
tls_ctx_new(const struct listen_conf *lc, char *err, size_t errlen)
{
	SSL_CTX			*ctx;
	STACK_OF(X509_NAME)	*names;
	static const unsigned char sid[] = "milepostd";

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_err(err, errlen, "tls", "context");
		return (NULL);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
		tls_err(err, errlen, "tls", "ciphers");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, lc->cert) != 1) {
		tls_err(err, errlen, "tls.cert", lc->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, lc->key, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, "tls.key", lc->key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "tls.key does not match tls.cert", lc->key);
		goto fail;
	}
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	/*
	 * No read-ahead: bufferevent_openssl reads again only when the
	 * socket is readable, so bytes OpenSSL buffered ahead (a request
	 * right behind the client's Finished) would wait for more traffic.
	 */
	if (lc->client_ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, lc->client_ca, NULL) !=
		    1 || (names = SSL_load_client_CA_file(lc->client_ca)) ==
		    NULL) {
			tls_err(err, errlen, "tls.client_ca", lc->client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
	}
	return (ctx);
fail:
	SSL_CTX_free(ctx);
	return (NULL);
}

/*
 * A bufferevent that accepts TLS on the socket evhttp will give it, from
 * ctx (borrowed; the SSL takes its own reference).  NULL on failure.
 */
struct bufferevent *
tls_bev_new(struct event_base *base, SSL_CTX *ctx)
{
	struct bufferevent	*bev;
	SSL			*ssl;

	if ((ssl = SSL_new(ctx)) == NULL) {
		ERR_clear_error();
		return (NULL);
	}
	/* Frees ssl too, even on failure (BEV_OPT_CLOSE_ON_FREE). */
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return (bev);
}

/*
 * Check every TLS listener of cf (for -n): its files load and match.
 * Returns 0, or -1 with err naming the listener and the reason.
 */
int
tls_check(const struct config *cf, char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	char	 why[MP_ERRLEN];
	size_t	 i;

	for (i = 0; i < cf->nlistens; i++) {
		if (cf->listens[i].cert == NULL)
			continue;
		if ((ctx = tls_ctx_new(&cf->listens[i], why, sizeof(why))) ==
		    NULL) {
			snprintf(err, errlen, "%s: listen %s: %s", cf->path,
			    cf->listens[i].address, why);
			return (-1);
		}
		SSL_CTX_free(ctx);
	}
	return (0);
}

/* Did req arrive over TLS?  (The session cookie is Secure then.) */
int
tls_request(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return (0);
	return (bufferevent_openssl_get_ssl(bev) != NULL);
}
