/*
 * check_stdwh.c: Standard Webhooks signing and verification (stdwh.c) and
 * the HMAC, SHA-256 and base64 helpers under it (hmac.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "milepost.h"
#include "check_milepost.h"

/* The Standard Webhooks test vectors (docs/FORMATS.md). */
struct stdwh_vector {
	const char	*key;
	const char	*id;
	int64_t		 ts;
	const char	*tsstr;
	const char	*body;
	const char	*sig;
};
static const struct stdwh_vector vectors[] = {
	{ "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	  "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "1614265330",
	  "{\"test\": 2432232314}",
	  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" },
	{ "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
	  "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, "1649367553",
	  "{\"email\":\"test@example.com\",\"username\":\"test_user\"}",
	  "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=" },
};
#define NVECTORS	((int)(sizeof(vectors) / sizeof(vectors[0])))

/* A well-formed v1 signature (base64 of 32 bytes) that matches nothing. */
#define BOGUS_SIG	"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static const struct stdwh_vector *v0 = &vectors[0];

static void
key_of(const char *s, struct stdwh_key *k)
{
	ck_assert_int_eq(stdwh_key_parse(s, k), 0);
}

static enum stdwh_result
verify0(const char *sigs, const char *body, int64_t now)
{
	struct stdwh_key	k;

	key_of(v0->key, &k);
	return (stdwh_verify(&k, 1, v0->id, v0->tsstr, sigs, body,
	    strlen(body), now));
}

START_TEST(test_vector_sign)
{
	const struct stdwh_vector	*v = &vectors[_i];
	struct stdwh_key		 k;
	char				 sig[STDWH_SIGLEN];

	key_of(v->key, &k);
	stdwh_sign(&k, v->id, v->ts, v->body, strlen(v->body), sig);
	ck_assert_str_eq(sig, v->sig);
}
END_TEST

START_TEST(test_vector_verify)
{
	const struct stdwh_vector	*v = &vectors[_i];
	struct stdwh_key		 k;

	key_of(v->key, &k);
	ck_assert_int_eq(stdwh_verify(&k, 1, v->id, v->tsstr, v->sig,
	    v->body, strlen(v->body), v->ts), STDWH_OK);
}
END_TEST

START_TEST(test_github_vector)
{
	static const char	*secret = "It's a Secret to Everybody";
	static const char	*body = "Hello, World!";
	unsigned char		 mac[HMAC_SHA256_LEN];
	char			 hex[2 * HMAC_SHA256_LEN + 1], header[80];

	hmac_sha256(secret, strlen(secret), body, strlen(body), mac);
	hmac_hex(mac, sizeof(mac), hex);
	snprintf(header, sizeof(header), "sha256=%s", hex);
	ck_assert_str_eq(header, "sha256=757107ea0eb2509fc211221cce984b8a"
	    "37570b6d7586c22c46f4379c8b043e17");
}
END_TEST

/* RFC 4231 test case 2, a second known answer for hmac_sha256. */
START_TEST(test_hmac_rfc4231)
{
	unsigned char	mac[HMAC_SHA256_LEN];
	char		hex[2 * HMAC_SHA256_LEN + 1];

	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hmac_hex(mac, sizeof(mac), hex);
	ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d"
	    "2739839dec58b964ec3843");
}
END_TEST

START_TEST(test_sha256_hex)
{
	char	hex[MP_HASHLEN];

	sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a3961"
	    "77a9cb410ff61f20015ad");
	sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649"
	    "b934ca495991b7852b855");
}
END_TEST

START_TEST(test_tampered_body)
{
	ck_assert_int_eq(verify0(v0->sig, "{\"test\": 2432232315}", v0->ts),
	    STDWH_MISMATCH);
	/* Re-encoded JSON is a different body too. */
	ck_assert_int_eq(verify0(v0->sig, "{\"test\":2432232314}", v0->ts),
	    STDWH_MISMATCH);
}
END_TEST

START_TEST(test_tampered_id_or_time)
{
	struct stdwh_key	k;
	const char		*b = v0->body;

	key_of(v0->key, &k);
	ck_assert_int_eq(stdwh_verify(&k, 1, "msg_other", v0->tsstr, v0->sig,
	    b, strlen(b), v0->ts), STDWH_MISMATCH);
	ck_assert_int_eq(stdwh_verify(&k, 1, v0->id, "1614265331", v0->sig,
	    b, strlen(b), v0->ts), STDWH_MISMATCH);
}
END_TEST

START_TEST(test_wrong_key)
{
	struct stdwh_key	k;

	key_of(vectors[1].key, &k);
	ck_assert_int_eq(stdwh_verify(&k, 1, v0->id, v0->tsstr, v0->sig,
	    v0->body, strlen(v0->body), v0->ts), STDWH_MISMATCH);
}
END_TEST

START_TEST(test_no_key)
{
	struct stdwh_key	k;

	key_of(v0->key, &k);
	ck_assert_int_eq(stdwh_verify(&k, 0, v0->id, v0->tsstr, v0->sig,
	    v0->body, strlen(v0->body), v0->ts), STDWH_MISMATCH);
}
END_TEST

START_TEST(test_none_match)
{
	char	sigs[256];

	ck_assert_int_eq(verify0(BOGUS_SIG " " BOGUS_SIG, v0->body, v0->ts),
	    STDWH_MISMATCH);
	/* Not base64, wrong length, or not "v1,": none counts. */
	ck_assert_int_eq(verify0("v1,bad v1, v1,AAAA garbage", v0->body,
	    v0->ts), STDWH_MISMATCH);
	/* The right MAC under another scheme's label must not match. */
	snprintf(sigs, sizeof(sigs), "v2,%s v1a,%s", v0->sig + 3, v0->sig + 3);
	ck_assert_int_eq(verify0(sigs, v0->body, v0->ts), STDWH_MISMATCH);
	/* Nor the bare base64 without a version. */
	ck_assert_int_eq(verify0(v0->sig + 3, v0->body, v0->ts),
	    STDWH_MISMATCH);
}
END_TEST

START_TEST(test_second_signature)
{
	char	sigs[256];

	snprintf(sigs, sizeof(sigs), "v1,bad %s", v0->sig);
	ck_assert_int_eq(verify0(sigs, v0->body, v0->ts), STDWH_OK);
	snprintf(sigs, sizeof(sigs), "%s %s", BOGUS_SIG, v0->sig);
	ck_assert_int_eq(verify0(sigs, v0->body, v0->ts), STDWH_OK);
	snprintf(sigs, sizeof(sigs), "%s %s %s", BOGUS_SIG, v0->sig,
	    BOGUS_SIG);
	ck_assert_int_eq(verify0(sigs, v0->body, v0->ts), STDWH_OK);
	/* Extra spaces between and around entries are tolerated. */
	snprintf(sigs, sizeof(sigs), "  v1,bad   %s  ", v0->sig);
	ck_assert_int_eq(verify0(sigs, v0->body, v0->ts), STDWH_OK);
}
END_TEST

START_TEST(test_key_rotation)
{
	struct stdwh_key	keys[3];

	key_of(vectors[1].key, &keys[0]);
	key_of(v0->key, &keys[1]);
	key_of("whsec_c2VjcmV0LWtleS10aHJlZQ==", &keys[2]);
	ck_assert_int_eq(stdwh_verify(keys, 3, v0->id, v0->tsstr, v0->sig,
	    v0->body, strlen(v0->body), v0->ts), STDWH_OK);
	/* Only the first key: the message was signed with the second. */
	ck_assert_int_eq(stdwh_verify(keys, 1, v0->id, v0->tsstr, v0->sig,
	    v0->body, strlen(v0->body), v0->ts), STDWH_MISMATCH);
}
END_TEST

START_TEST(test_time_tolerance)
{
	/* The signature is right, so only the clock decides. */
	ck_assert_int_eq(verify0(v0->sig, v0->body, v0->ts + 300), STDWH_OK);
	ck_assert_int_eq(verify0(v0->sig, v0->body, v0->ts - 300), STDWH_OK);
	ck_assert_int_eq(verify0(v0->sig, v0->body, v0->ts + 301),
	    STDWH_BADTIME);
	ck_assert_int_eq(verify0(v0->sig, v0->body, v0->ts - 301),
	    STDWH_BADTIME);
	ck_assert_int_eq(verify0(v0->sig, v0->body, 0), STDWH_BADTIME);
}
END_TEST

START_TEST(test_time_malformed)
{
	static const char	*bad[] = { "abc", "1614265330abc", "-1614265330",
	    "+1614265330", " 1614265330", "1614265330 ", "1614265330.0",
	    "0x6038ec72", "99999999999999999999999", "1.6e9" };
	struct stdwh_key	 k;
	size_t			 i;

	key_of(v0->key, &k);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(stdwh_verify(&k, 1, v0->id, bad[i], v0->sig,
		    v0->body, strlen(v0->body), v0->ts) == STDWH_BADTIME,
		    "timestamp \"%s\" was not refused as BADTIME", bad[i]);
}
END_TEST

START_TEST(test_missing_headers)
{
	struct stdwh_key	 k;
	const char		*b = v0->body;
	size_t			 n = strlen(b);

	key_of(v0->key, &k);
	ck_assert_int_eq(stdwh_verify(&k, 1, NULL, v0->tsstr, v0->sig, b, n,
	    v0->ts), STDWH_MISSING);
	ck_assert_int_eq(stdwh_verify(&k, 1, "", v0->tsstr, v0->sig, b, n,
	    v0->ts), STDWH_MISSING);
	ck_assert_int_eq(stdwh_verify(&k, 1, v0->id, NULL, v0->sig, b, n,
	    v0->ts), STDWH_MISSING);
	ck_assert_int_eq(stdwh_verify(&k, 1, v0->id, "", v0->sig, b, n,
	    v0->ts), STDWH_MISSING);
	ck_assert_int_eq(stdwh_verify(&k, 1, v0->id, v0->tsstr, NULL, b, n,
	    v0->ts), STDWH_MISSING);
	ck_assert_int_eq(stdwh_verify(&k, 1, v0->id, v0->tsstr, "", b, n,
	    v0->ts), STDWH_MISSING);
}
END_TEST

START_TEST(test_strerror)
{
	ck_assert_str_eq(stdwh_strerror(STDWH_OK), "ok");
	ck_assert_ptr_nonnull(strstr(stdwh_strerror(STDWH_MISSING),
	    "webhook-id"));
	ck_assert_ptr_nonnull(strstr(stdwh_strerror(STDWH_BADTIME),
	    "timestamp"));
	ck_assert_ptr_nonnull(strstr(stdwh_strerror(STDWH_MISMATCH),
	    "signature"));
}
END_TEST

START_TEST(test_key_parse)
{
	struct stdwh_key	a, b;
	unsigned char		big[STDWH_KEYMAX + 1];
	char			enc[2 * sizeof(big)], withp[2 * sizeof(big) + 8];

	/* The prefix is optional and changes nothing. */
	key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &a);
	key_of("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &b);
	ck_assert_uint_eq(a.len, 24);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_mem_eq(a.key, b.key, a.len);
	/* Padding is honoured: "c2VjcmV0" is "secret". */
	key_of("whsec_c2VjcmV0", &a);
	ck_assert_uint_eq(a.len, 6);
	ck_assert_mem_eq(a.key, "secret", 6);
	key_of("whsec_c2VjcmV0MQ==", &a);
	ck_assert_uint_eq(a.len, 7);
	ck_assert_mem_eq(a.key, "secret1", 7);

	ck_assert_int_eq(stdwh_key_parse("", &a), -1);
	ck_assert_int_eq(stdwh_key_parse("whsec_", &a), -1);
	ck_assert_int_eq(stdwh_key_parse("whsec_!!!!", &a), -1);
	ck_assert_int_eq(stdwh_key_parse("whsec_c2VjcmV", &a), -1);
	ck_assert_int_eq(stdwh_key_parse("whsec_c2Vj cmV0", &a), -1);

	/* 64 bytes is the most a key may hold; 65 is refused. */
	memset(big, 0x5a, sizeof(big));
	b64_encode(big, STDWH_KEYMAX, enc, sizeof(enc));
	snprintf(withp, sizeof(withp), "whsec_%s", enc);
	key_of(withp, &a);
	ck_assert_uint_eq(a.len, STDWH_KEYMAX);
	ck_assert_mem_eq(a.key, big, STDWH_KEYMAX);
	b64_encode(big, sizeof(big), enc, sizeof(enc));
	snprintf(withp, sizeof(withp), "whsec_%s", enc);
	ck_assert_int_eq(stdwh_key_parse(withp, &a), -1);
}
END_TEST

START_TEST(test_b64_known)
{
	unsigned char	out[16];
	char		enc[16];
	size_t		n;

	ck_assert_uint_eq(b64_encode("Man", 3, enc, sizeof(enc)), 4);
	ck_assert_str_eq(enc, "TWFu");
	ck_assert_uint_eq(b64_encode("Ma", 2, enc, sizeof(enc)), 4);
	ck_assert_str_eq(enc, "TWE=");
	ck_assert_uint_eq(b64_encode("M", 1, enc, sizeof(enc)), 4);
	ck_assert_str_eq(enc, "TQ==");
	ck_assert_uint_eq(b64_encode("", 0, enc, sizeof(enc)), 0);
	ck_assert_str_eq(enc, "");

	ck_assert_int_eq(b64_decode("TQ==", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(out, "M", 1);
	ck_assert_int_eq(b64_decode("TWE=", out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(out, "Ma", 2);

	ck_assert_int_eq(b64_decode("", out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("TWF", out, sizeof(out), &n), -1);
	ck_assert_int_eq(b64_decode("TW!u", out, sizeof(out), &n), -1);
	/* Too long for the output buffer. */
	ck_assert_int_eq(b64_decode("TWFuTWFu", out, 3, &n), -1);
}
END_TEST

START_TEST(test_b64_roundtrip)
{
	/* b64_decode wants room for 3 bytes per 4 characters, padding too. */
	unsigned char	in[80], out[sizeof(in) + 2];
	char		enc[4 * sizeof(in) / 3 + 8];
	size_t		len, n, elen;

	for (len = 1; len <= sizeof(in); len++) {
		for (n = 0; n < len; n++)
			in[n] = (unsigned char)(n * 37 + len * 11);
		elen = b64_encode(in, len, enc, sizeof(enc));
		ck_assert_uint_eq(elen, 4 * ((len + 2) / 3));
		ck_assert_uint_eq(strlen(enc), elen);
		ck_assert_int_eq(b64_decode(enc, out, sizeof(out), &n), 0);
		ck_assert_uint_eq(n, len);
		ck_assert_mem_eq(in, out, len);
	}
}
END_TEST

START_TEST(test_hmac_str_equal)
{
	ck_assert_int_eq(hmac_str_equal("token-abc", "token-abc"), 1);
	ck_assert_int_eq(hmac_str_equal("", ""), 1);
	ck_assert_int_eq(hmac_str_equal("token-abc", "token-abd"), 0);
	ck_assert_int_eq(hmac_str_equal("token-abc", "token-ab"), 0);
	ck_assert_int_eq(hmac_str_equal("token-ab", "token-abc"), 0);
	ck_assert_int_eq(hmac_str_equal("", "x"), 0);
	ck_assert_int_eq(hmac_equal("abcd", "abcd", 4), 1);
	ck_assert_int_eq(hmac_equal("abcd", "abce", 4), 0);
}
END_TEST

Suite *
make_stdwh_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("stdwh");

	tc = tcase_create("vectors");
	tcase_add_loop_test(tc, test_vector_sign, 0, NVECTORS);
	tcase_add_loop_test(tc, test_vector_verify, 0, NVECTORS);
	tcase_add_test(tc, test_github_vector);
	tcase_add_test(tc, test_hmac_rfc4231);
	tcase_add_test(tc, test_sha256_hex);
	suite_add_tcase(s, tc);

	tc = tcase_create("verify");
	tcase_add_test(tc, test_tampered_body);
	tcase_add_test(tc, test_tampered_id_or_time);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_no_key);
	tcase_add_test(tc, test_none_match);
	tcase_add_test(tc, test_second_signature);
	tcase_add_test(tc, test_key_rotation);
	tcase_add_test(tc, test_time_tolerance);
	tcase_add_test(tc, test_time_malformed);
	tcase_add_test(tc, test_missing_headers);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys_b64");
	tcase_add_test(tc, test_key_parse);
	tcase_add_test(tc, test_b64_known);
	tcase_add_test(tc, test_b64_roundtrip);
	tcase_add_test(tc, test_hmac_str_equal);
	suite_add_tcase(s, tc);

	return (s);
}
