/*
 * hmac.c: HMAC-SHA256, SHA-256, base64 and constant-time comparison, all
 * through OpenSSL.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "util/util.h"

/*
 * HMAC() looks HMAC and SHA-256 up by name in OpenSSL 3's provider tables
 * on every call, which was a quarter of the cost of a 2 KB body.  One
 * context with the digest set is made once (threads share it read-only)
 * and duplicated per MAC.
 */
static EVP_MAC_CTX	*hmac_tpl;
static pthread_once_t	 hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_init(void)
{
	EVP_MAC		*mac;
	OSSL_PARAM	 params[2];

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (hmac_tpl = EVP_MAC_CTX_new(mac)) == NULL)
		fatalx("%s: EVP_MAC_fetch", __func__);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hmac_tpl, params) != 1)
		fatalx("%s: EVP_MAC_CTX_set_params", __func__);
	EVP_MAC_free(mac);	/* the context keeps its own reference */
}

void
hmac_sha256(const void *key, size_t klen, const void *data, size_t dlen,
    unsigned char out[HMAC_SHA256_LEN])
{
	EVP_MAC_CTX	*ctx;
	size_t		 len;

	pthread_once(&hmac_once, hmac_init);
	if ((ctx = EVP_MAC_CTX_dup(hmac_tpl)) == NULL ||
	    EVP_MAC_init(ctx, key, klen, NULL) != 1 ||
	    EVP_MAC_update(ctx, data, dlen) != 1 ||
	    EVP_MAC_final(ctx, out, &len, HMAC_SHA256_LEN) != 1 ||
	    len != HMAC_SHA256_LEN)
		fatalx("%s: HMAC failed", __func__);
	EVP_MAC_CTX_free(ctx);
}

/* Constant-time equality of two equal-length byte strings; 1 if equal. */
int
hmac_equal(const void *a, const void *b, size_t len)
{
	return (CRYPTO_memcmp(a, b, len) == 0);
}

/*
 * Constant-time equality of two strings of any length: both are hashed
 * first, so neither the content nor the length leaks through timing.
 */
int
hmac_str_equal(const char *a, const char *b)
{
	unsigned char	da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)a, strlen(a), da);
	SHA256((const unsigned char *)b, strlen(b), db);
	return (CRYPTO_memcmp(da, db, sizeof(da)) == 0);
}

/* Lower-case hex of len bytes into out, which holds 2 * len + 1. */
void
hmac_hex(const unsigned char *p, size_t len, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
sha256_hex(const void *data, size_t len, char out[MP_HASHLEN])
{
	unsigned char	md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	hmac_hex(md, sizeof(md), out);
}

/* Base64 of len bytes into out (NUL-terminated); returns the length. */
size_t
b64_encode(const void *p, size_t len, char *out, size_t outlen)
{
	if (outlen < 4 * ((len + 2) / 3) + 1)
		fatalx("%s: output too small", __func__);
	return ((size_t)EVP_EncodeBlock((unsigned char *)out, p, (int)len));
}

/*
 * Decode standard base64 (with padding) into out; -1 on bad input or when
 * out is too small.  *outlen is the decoded length with padding removed.
 */
int
b64_decode(const char *s, unsigned char *out, size_t outmax, size_t *outlen)
{
	size_t	 slen = strlen(s), pad = 0;
	int	 n;

	if (slen == 0 || slen % 4 != 0 || (slen / 4) * 3 > outmax)
		return (-1);
	if (s[slen - 1] == '=')
		pad++;
	if (s[slen - 2] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)slen)) < 0)
		return (-1);
	*outlen = (size_t)n - pad;
	return (0);
}
