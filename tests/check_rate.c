/*
 * check_rate.c: the token bucket (rate.c), driven by a clock the test
 * passes in, so nothing here sleeps or measures time.
 */
#include "milepost.h"
#include "check_milepost.h"

#define SEC	1000000LL

START_TEST(test_rate_burst)
{
	struct rate_conf	rc = { .per_sec = 2, .burst = 3 };
	struct rate_bucket	b = { 0 };
	int64_t			retry, t0 = 5 * SEC;

	ck_assert_int_eq(rate_take(&b, &rc, t0, &retry), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t0, &retry), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t0, &retry), 0);
	ck_assert_int_eq(rate_take(&b, &rc, t0, &retry), -1);
	ck_assert_int_eq(retry, SEC / 2);	/* one token at 2/s */
	/* A quarter second later: half a token, still refused. */
	ck_assert_int_eq(rate_take(&b, &rc, t0 + SEC / 4, &retry), -1);
	ck_assert_int_eq(retry, SEC / 4);
	ck_assert_int_eq(rate_take(&b, &rc, t0 + SEC / 2, &retry), 0);
	ck_assert_int_eq(retry, 0);
	ck_assert_int_eq(rate_take(&b, &rc, t0 + SEC / 2, &retry), -1);
}
END_TEST

START_TEST(test_rate_refill_capped)
{
	struct rate_conf	rc = { .per_sec = 10, .burst = 5 };
	struct rate_bucket	b = { 0 };
	int			i, ok = 0;

	ck_assert_int_eq(rate_take(&b, &rc, 0, NULL), 0);
	ck_assert(rate_level(&b, &rc, 0) > 3.99 && rate_level(&b, &rc, 0) <
	    4.01);
	/* An hour idle refills to the burst, not beyond. */
	ck_assert(rate_level(&b, &rc, 3600 * SEC) < 5.0001);
	for (i = 0; i < 10; i++)
		if (rate_take(&b, &rc, 3600 * SEC, NULL) == 0)
			ok++;
	ck_assert_int_eq(ok, 5);
}
END_TEST

START_TEST(test_rate_clock_back)
{
	struct rate_conf	rc = { .per_sec = 1, .burst = 1 };
	struct rate_bucket	b = { 0 };
	int64_t			retry;

	ck_assert_int_eq(rate_take(&b, &rc, 10 * SEC, &retry), 0);
	/* A clock that steps back refills nothing, and never fails. */
	ck_assert_int_eq(rate_take(&b, &rc, 9 * SEC, &retry), -1);
	ck_assert(retry >= 1 && retry <= SEC);
}
END_TEST

START_TEST(test_rate_off)
{
	struct rate_conf	rc = { .per_sec = 0, .burst = 1 };
	struct rate_bucket	b = { 0 };
	int			i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(rate_take(&b, &rc, 0, NULL), 0);
}
END_TEST

START_TEST(test_rate_parse)
{
	static const struct {
		const char	*in;
		double		 want;	/* -1: refused */
	} t[] = {
		{ "10/s", 10 }, { "10 / s", 10 }, { "600/min", 10 },
		{ "60/m", 1 }, { "3600/h", 1 }, { "7200/hour", 2 },
		{ "2.5", 2.5 }, { "off", 0 }, { "0/s", 0 },
		{ "10/d", -1 }, { "fast", -1 }, { "-1/s", -1 }, { "", -1 },
		{ "1e9/s", -1 }, { "10/s x", -1 }, { "nan", -1 },
	};
	json_object	*v;
	double		 d;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = json_object_new_string(t[i].in);
		if (t[i].want < 0)
			ck_assert_msg(rate_parse(v, &d) == -1, "%s", t[i].in);
		else {
			ck_assert_msg(rate_parse(v, &d) == 0, "%s", t[i].in);
			ck_assert_msg(d > t[i].want - 1e-9 && d < t[i].want +
			    1e-9, "%s: %g", t[i].in, d);
		}
		json_object_put(v);
	}
	v = json_object_new_int(25);
	ck_assert_int_eq(rate_parse(v, &d), 0);
	ck_assert(d == 25);
	json_object_put(v);
	v = json_object_new_boolean(1);
	ck_assert_int_eq(rate_parse(v, &d), -1);
	json_object_put(v);
	ck_assert_int_eq(rate_parse(NULL, &d), -1);
}
END_TEST

START_TEST(test_rate_format)
{
	char	s[32];

	rate_format(0, s, sizeof(s));
	ck_assert_str_eq(s, "off");
	rate_format(0.1, s, sizeof(s));
	ck_assert_str_eq(s, "6/min");
	rate_format(1.0 / 60, s, sizeof(s));
	ck_assert_str_eq(s, "1/min");
	rate_format(2.0 / 3600, s, sizeof(s));
	ck_assert_str_eq(s, "2/h");
	rate_format(0.5, s, sizeof(s));
	ck_assert_str_eq(s, "30/min");
	rate_format(1e-5, s, sizeof(s));
	ck_assert_str_eq(s, "1e-05/s");
	rate_format(2.5, s, sizeof(s));
	ck_assert_str_eq(s, "2.5/s");
	rate_format(50, s, sizeof(s));
	ck_assert_str_eq(s, "50/s");
}
END_TEST

Suite *
make_rate_suite(void)
{
	Suite	*s = suite_create("rate");
	TCase	*tc = tcase_create("bucket");

	tcase_add_test(tc, test_rate_burst);
	tcase_add_test(tc, test_rate_refill_capped);
	tcase_add_test(tc, test_rate_clock_back);
	tcase_add_test(tc, test_rate_off);
	tcase_add_test(tc, test_rate_parse);
	tcase_add_test(tc, test_rate_format);
	suite_add_tcase(s, tc);
	return (s);
}
