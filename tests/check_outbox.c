/*
 * check_outbox.c: the outbox's pure parts: merge patches (mergepatch.c,
 * RFC 7396 and its appendix A examples), backoff with jitter, Retry-After,
 * the token bucket and message ids (outbox.c), and the sinks' requests
 * (sinks/).  No timing: clocks are passed in.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "milepost.h"
#include "check_milepost.h"

static json_object *
J(const char *s)
{
	json_object	*o = json_tokener_parse(s);

	ck_assert_msg(o != NULL || strcmp(s, "null") == 0, "bad JSON %s", s);
	return (o);
}

static const char *
S(json_object *o)
{
	return (json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/* RFC 7396 appendix A: target, patch, result. */
static const char *rfc7396[][3] = {
	{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
	{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
	{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
	{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
	  "{\"a\":{\"b\":\"d\"}}" },
	{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
	{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
	{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
	{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
	{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
	{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
};

START_TEST(test_mergepatch_apply_rfc)
{
	json_object	*t, *p, *want, *got;

	t = J(rfc7396[_i][0]);
	p = J(rfc7396[_i][1]);
	want = J(rfc7396[_i][2]);
	got = mergepatch_apply(t, p);
	ck_assert_msg(json_object_equal(got, want), "%s + %s = %s, not %s",
	    rfc7396[_i][0], rfc7396[_i][1], S(got), rfc7396[_i][2]);
	json_object_put(t);
	json_object_put(p);
	json_object_put(want);
	json_object_put(got);
}
END_TEST

/* diff(a, b) is minimal, and applying it to a gives b. */
static const char *diffs[][3] = {
	{ "{\"state\":\"planned\"}", "{\"state\":\"planned\"}", "{}" },
	{ "{\"state\":\"planned\"}", "{\"state\":\"deployed\",\"p\":10}",
	  "{\"state\":\"deployed\",\"p\":10}" },
	{ "{\"state\":\"a\",\"p\":10}", "{\"state\":\"a\",\"p\":50}",
	  "{\"p\":50}" },
	{ "{\"a\":1,\"b\":2}", "{\"a\":1}", "{\"b\":null}" },
	{ "{\"o\":{\"x\":1,\"y\":2}}", "{\"o\":{\"x\":1,\"y\":3}}",
	  "{\"o\":{\"y\":3}}" },
	{ "{\"o\":{\"x\":1}}", "{\"o\":{}}", "{\"o\":{\"x\":null}}" },
	{ "{\"l\":[1,2]}", "{\"l\":[1,2,3]}", "{\"l\":[1,2,3]}" },
	{ "{\"l\":[1,2]}", "{\"l\":[1,2]}", "{}" },
	{ "null", "{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1}}" },
	{ "{\"n\":1}", "{\"n\":1.5}", "{\"n\":1.5}" },
};

START_TEST(test_mergepatch_diff)
{
	json_object	*a, *b, *want, *got, *back;

	a = J(diffs[_i][0]);
	b = J(diffs[_i][1]);
	want = J(diffs[_i][2]);
	got = mergepatch_diff(a, b);
	ck_assert_msg(json_object_equal(got, want), "diff %s -> %s = %s, not "
	    "%s", diffs[_i][0], diffs[_i][1], S(got), diffs[_i][2]);
	ck_assert_int_eq(mergepatch_empty(got), strcmp(diffs[_i][2], "{}") ==
	    0);
	back = mergepatch_apply(a, got);
	ck_assert_msg(json_object_equal(back, b), "apply(%s, %s) = %s",
	    diffs[_i][0], S(got), S(back));
	json_object_put(a);
	json_object_put(b);
	json_object_put(want);
	json_object_put(got);
	json_object_put(back);
}
END_TEST

START_TEST(test_backoff)
{
	/* rnd 0: the lower half; UINT32_MAX: the full delay. */
	ck_assert_int_eq(outbox_backoff(1, 600, 1, 0), 500000);
	ck_assert_int_eq(outbox_backoff(1, 600, 1, UINT32_MAX), 1000000);
	ck_assert_int_eq(outbox_backoff(1, 600, 2, UINT32_MAX), 2000000);
	ck_assert_int_eq(outbox_backoff(1, 600, 4, 0), 4000000);
	ck_assert_int_eq(outbox_backoff(0.2, 600, 3, UINT32_MAX), 800000);
	/* Capped at max, however many attempts. */
	ck_assert_int_eq(outbox_backoff(1, 10, 8, UINT32_MAX), 10000000);
	ck_assert_int_eq(outbox_backoff(1, 10, 1000, 0), 5000000);
	/* Jitter stays within [d/2, d]. */
	for (uint32_t r = 1; r < 4000000000u; r += 397000000u) {
		int64_t d = outbox_backoff(1, 600, 3, r);

		ck_assert(d >= 2000000 && d <= 4000000);
	}
	ck_assert_int_eq(outbox_backoff(1, 600, 0, 0), 500000);
}
END_TEST

START_TEST(test_retry_after)
{
	int64_t	now = (int64_t)1445412480 * 1000000;	/* 2015-10-21 07:28 */

	ck_assert_int_eq(outbox_retry_after("120", now), 120000000);
	ck_assert_int_eq(outbox_retry_after(" 0", now), 0);
	ck_assert_int_eq(outbox_retry_after("99999", now), 3600000000LL);
	ck_assert_int_eq(outbox_retry_after("Wed, 21 Oct 2015 07:29:00 GMT",
	    now), 60000000);
	ck_assert_int_eq(outbox_retry_after("Wed, 21 Oct 2015 07:00:00 GMT",
	    now), 0);
	ck_assert_int_eq(outbox_retry_after(NULL, now), -1);
	ck_assert_int_eq(outbox_retry_after("-5", now), -1);
	ck_assert_int_eq(outbox_retry_after("soon", now), -1);
}
END_TEST

START_TEST(test_tbucket)
{
	/* The push rate is the one token bucket (rate.c) now. */
	struct rate_conf	rc = { 2, 3 };
	struct rate_bucket	b = { 0 };
	int64_t			t = 1000000000, w;

	/* 2 per second, burst 3: three at once, then one per 0.5 s. */
	ck_assert_int_eq(rate_take(&b, &rc, t, &w), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t, &w), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t, &w), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t, &w), -1);
	ck_assert_int_gt(w, 499000);
	ck_assert_int_le(w, 500001);
	ck_assert_int_eq(rate_take(&b, &rc, t + 250000, &w), -1);
	ck_assert_int_gt(w, 0);
	ck_assert_int_eq(rate_take(&b, &rc, t + 500000, &w), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t + 500000, &w), -1);
	/* A long pause refills to the burst, not beyond. */
	t += 3600000000LL;
	ck_assert_int_eq(rate_take(&b, &rc, t, &w), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t, &w), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t, &w), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t, &w), -1);
	/* A clock going backwards takes nothing extra. */
	ck_assert_int_eq(rate_take(&b, &rc, t - 1000000, &w), -1);
	/* Rate 0: unlimited. */
	rc.per_sec = 0;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(rate_take(&b, &rc, t, &w), 0);
}
END_TEST

START_TEST(test_msgid)
{
	struct outbox_row	r;
	char			a[48], b[48];

	memset(&r, 0, sizeof(r));
	r.sink = "hook";
	r.type = "Deployment";
	r.id = "shop/prod/eu/1";
	r.want_rev = 3;
	r.acked_rev = 2;
	outbox_msgid(&r, a, sizeof(a));
	outbox_msgid(&r, b, sizeof(b));
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(strlen(a), 36);
	ck_assert(strncmp(a, "msg_", 4) == 0);
	r.gen = 1;		/* a replay of a delivered state */
	outbox_msgid(&r, b, sizeof(b));
	ck_assert_str_ne(a, b);
	r.gen = 0;
	r.acked_rev = 1;	/* another base: another patch */
	outbox_msgid(&r, b, sizeof(b));
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_classify)
{
	ck_assert_int_eq(sink_classify(200), SINK_OK);
	ck_assert_int_eq(sink_classify(204), SINK_OK);
	ck_assert_int_eq(sink_classify(412), SINK_CONFLICT);
	ck_assert_int_eq(sink_classify(410), SINK_GONE);
	ck_assert_int_eq(sink_classify(429), SINK_RETRY);
	ck_assert_int_eq(sink_classify(503), SINK_RETRY);
	ck_assert_int_eq(sink_classify(500), SINK_RETRY);
	ck_assert_int_eq(sink_classify(0), SINK_RETRY);
	ck_assert_int_eq(sink_classify(301), SINK_FAIL);	/* never followed */
	ck_assert_int_eq(sink_classify(400), SINK_FAIL);
	ck_assert_int_eq(sink_classify(404), SINK_FAIL);
}
END_TEST

/* A deployment push through each sink's builder. */
START_TEST(test_sinks_build)
{
	struct sinkconf	 sc;
	struct sink_msg	 m;
	struct sink_http h;
	json_object	*want, *links, *body, *v;
	char		 err[MP_ERRLEN];

	memset(&sc, 0, sizeof(sc));
	sc.token = "tok";
	sc.repo = "acme/shop";
	want = J("{\"state\":\"deployed\",\"service\":\"shop\","
	    "\"environment\":\"prod\",\"revision\":\"9fceb02\","
	    "\"actor\":\"dev@example.com\",\"since\":\"2025-07-03T10:00:00Z\"}");
	links = J("{\"github_deployment\":\"42\",\"url\":\"https://ci/1\"}");
	memset(&m, 0, sizeof(m));
	m.sc = &sc;
	m.ctype = "Deployment";
	m.id = "shop/prod//9fceb02";
	m.msgid = "msg_x";
	m.want = want;
	m.links = links;
	m.now = 0;

	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(sink_github.wants(&m), 1);
	ck_assert_int_eq(sink_github.build(&m, &h, err, sizeof(err)), 0);
	ck_assert_str_eq(h.url,
	    "https://api.github.com/repos/acme/shop/deployments/42/statuses");
	body = J(buf_cstr(&h.body));
	ck_assert(json_object_object_get_ex(body, "state", &v));
	ck_assert_str_eq(json_object_get_string(v), "success");
	ck_assert(json_object_object_get_ex(body, "log_url", &v));
	json_object_put(body);
	sink_http_clear(&h);

	sc.url = "https://app.opslevel.com/integrations/deploy/u-1";
	ck_assert_int_eq(sink_opslevel.wants(&m), 1);
	ck_assert_int_eq(sink_opslevel.build(&m, &h, err, sizeof(err)), 0);
	body = J(buf_cstr(&h.body));
	ck_assert(json_object_object_get_ex(body, "dedup_id", &v));
	ck_assert_str_eq(json_object_get_string(v), "msg_x");
	ck_assert(json_object_object_get_ex(body, "status", &v));
	ck_assert_str_eq(json_object_get_string(v), "success");
	json_object_put(body);
	sink_http_clear(&h);

	sc.url = "https://cortex.example";
	ck_assert_int_eq(sink_cortex.wants(&m), 1);
	ck_assert_int_eq(sink_cortex.build(&m, &h, err, sizeof(err)), 0);
	ck_assert_str_eq(h.url,
	    "https://cortex.example/api/v1/catalog/shop/deploys");
	body = J(buf_cstr(&h.body));
	ck_assert(json_object_object_get_ex(body, "type", &v));
	ck_assert_str_eq(json_object_get_string(v), "DEPLOY");
	json_object_put(body);
	sink_http_clear(&h);

	/* A later push that did not change the state: no event. */
	m.acked = want;
	m.patch = J("{\"actor\":\"x\"}");
	ck_assert_int_eq(sink_github.wants(&m), 0);
	ck_assert_int_eq(sink_opslevel.wants(&m), 0);
	ck_assert_int_eq(sink_cortex.wants(&m), 0);
	json_object_put(m.patch);

	/* URL templates encode what they insert. */
	m.acked = NULL;
	sc.url = "http://h/o/{type}/{id}?s={prop:service}&u={link:none}";
	ck_assert_int_eq(sink_mergepatch.build(&m, &h, err, sizeof(err)), 0);
	ck_assert_str_eq(h.url,
	    "http://h/o/Deployment/shop%2Fprod%2F%2F9fceb02?s=shop&u=");
	ck_assert_str_eq(h.method, "PATCH");
	sink_http_clear(&h);
	json_object_put(want);
	json_object_put(links);
}
END_TEST

/*
 * Closed URLs: a value stays in its segment (a repo link "../../orgs/x"
 * is one encoded segment; "." and ".." are refused), placeholders expand
 * only in the path and query, and a template that places one in the
 * scheme or host is refused when it is checked.
 */
START_TEST(test_sink_urls_closed)
{
	struct sinkconf	 sc;
	struct sink_msg	 m;
	struct sink_http h;
	json_object	*want, *links;
	char		 err[MP_ERRLEN], *u, *p;

	memset(&sc, 0, sizeof(sc));
	want = J("{\"state\":\"deployed\",\"service\":\"..\"}");
	links = J("{\"repo\":\"../../orgs/x\",\"github_deployment\":\"42\","
	    "\"host\":\"evil.example\"}");
	memset(&m, 0, sizeof(m));
	m.sc = &sc;
	m.ctype = "Deployment";
	m.id = "a/b";
	m.msgid = "msg_x";
	m.want = want;
	m.links = links;

	u = sink_expand("https://h.example/r/{link:repo}/s?q={link:repo}", &m);
	ck_assert_str_eq(u, "https://h.example/r/..%2F..%2Forgs%2Fx/s?"
	    "q=..%2F..%2Forgs%2Fx");
	free(u);
	/* In the host, nothing expands (and the check refuses it). */
	u = sink_expand("https://{link:host}/x/{id}", &m);
	ck_assert_str_eq(u, "https://{link:host}/x/a%2Fb");
	free(u);
	ck_assert_int_eq(sink_template_check("https://{link:host}/x", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "never in the scheme or the host"));
	ck_assert_int_eq(sink_template_check("{prop:s}://h/x", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(sink_template_check("https://h:{prop:p}/x", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(sink_template_check("https://h/x#{id}", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(sink_template_check("https://h/{nope}", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown placeholder {nope}"));
	ck_assert_int_eq(sink_template_check("https://h/{type}/{id}?r="
	    "{link:repo}&s={prop:state}", err, sizeof(err)), 0);

	/* A dot segment cannot be made to stay: the push is refused. */
	ck_assert_ptr_null(sink_expand("https://h/{prop:service}/x", &m));
	ck_assert_ptr_null(sink_encode(".."));
	ck_assert_ptr_null(sink_encode("."));
	p = sink_encode("a/b c");
	ck_assert_str_eq(p, "a%2Fb%20c");
	free(p);
	sc.url = "https://h/{prop:service}";
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(sink_webhook.build(&m, &h, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "would not stay"));
	sink_http_clear(&h);

	/* GitHub: the repo link is owner/name or nothing is sent. */
	sc.url = NULL;
	sc.token = "tok";
	ck_assert_int_eq(sink_github.build(&m, &h, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "would not stay"));
	sink_http_clear(&h);
	ck_assert_ptr_null(github_path("../x", "1"));
	ck_assert_ptr_null(github_path("acme/..", "1"));
	ck_assert_ptr_null(github_path("acme", "1"));
	ck_assert_ptr_null(github_path("/x", "1"));
	ck_assert_ptr_null(github_path("acme/shop", ".."));
	p = github_path("ac me/shop", "4/2");
	ck_assert_str_eq(p, "/repos/ac%20me/shop/deployments/4%2F2/statuses");
	free(p);
	json_object_put(want);
	json_object_put(links);
}
END_TEST

Suite *
make_outbox_suite(void)
{
	Suite	*s = suite_create("outbox");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_mergepatch_apply_rfc, 0,
	    sizeof(rfc7396) / sizeof(rfc7396[0]));
	tcase_add_loop_test(tc, test_mergepatch_diff, 0,
	    sizeof(diffs) / sizeof(diffs[0]));
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_tbucket);
	tcase_add_test(tc, test_msgid);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_sinks_build);
	tcase_add_test(tc, test_sink_urls_closed);
	suite_add_tcase(s, tc);
	return (s);
}
