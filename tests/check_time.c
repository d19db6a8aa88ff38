/*
 * check_time.c: RFC 3339 timestamps (timefmt.c, tf_) and timespans
 * (timespan.c, ts_), in every form DOMAIN.md §1 and timespan.c accept.
 */
#include <stdint.h>
#include <string.h>

#include "milepost.h"
#include "check_milepost.h"

#define S	INT64_C(1000000)	/* microseconds per second */

/* 2025-07-03T10:08:20Z */
#define T_JULY	(INT64_C(1751537300) * S)

struct tf_good {
	const char	*in;
	int64_t		 us;
};
static const struct tf_good tf_goods[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2025-07-03T10:08:20Z", T_JULY },
	/* Offsets are applied and normalised away. */
	{ "2025-07-03T12:08:20+02:00", T_JULY },
	{ "2025-07-03T05:38:20-04:30", T_JULY },
	{ "2025-07-03T10:08:20+00:00", T_JULY },
	{ "2025-07-03T10:08:20-00:00", T_JULY },
	{ "2025-07-04T09:08:20+23:00", T_JULY },
	/* Lower-case 't' and 'z', and a space for 'T'. */
	{ "2025-07-03t10:08:20z", T_JULY },
	{ "2025-07-03 10:08:20Z", T_JULY },
	/* Fractions: any number of digits, truncated to microseconds. */
	{ "2025-07-03T10:08:20.5Z", T_JULY + 500000 },
	{ "2025-07-03T10:08:20.123456Z", T_JULY + 123456 },
	{ "2025-07-03T10:08:20.1234569Z", T_JULY + 123456 },
	{ "2025-07-03T10:08:20.000001Z", T_JULY + 1 },
	{ "2025-07-03T10:08:20.000000000Z", T_JULY },
	{ "2025-07-03T12:08:20.25+02:00", T_JULY + 250000 },
	/* Leap years. */
	{ "2024-02-29T00:00:00Z", INT64_C(1709164800) * S },
	{ "2000-02-29T12:00:00Z", INT64_C(951825600) * S },
	{ "2024-03-01T00:00:00Z", INT64_C(1709251200) * S },
	/* Before the epoch, and the edges of four-digit years. */
	{ "1969-12-31T23:59:59.999999Z", -1 },
	{ "0000-01-01T00:00:00Z", INT64_C(-62167219200) * S },
	{ "0001-01-01T00:00:00Z", INT64_C(-62135596800) * S },
	{ "0999-12-31T23:59:59Z", INT64_C(-30610224001) * S },
	{ "9999-12-31T23:59:59Z", INT64_C(253402300799) * S },
	/* An offset moves the date across a year boundary. */
	{ "2025-01-01T00:30:00+01:00", INT64_C(1735687800) * S },
};
#define NTF_GOODS	((int)(sizeof(tf_goods) / sizeof(tf_goods[0])))

static const char *tf_bads[] = {
	"",
	"2025-07-03",
	"2025-07-03T10:08",
	"2025-07-03T10:08:20",			/* no zone */
	"2025-07-03T10:08:20+02",		/* offset without minutes */
	"2025-07-03T10:08:20+0200",
	"2025-07-03T10:08:20+2:00",
	"2025-07-03T10:08:20+24:00",
	"2025-07-03T10:08:20+02:60",
	"2025-07-03T10:08:20.Z",		/* a dot needs digits */
	"2025-07-03T10:08:20.5",
	"2025-07-03T10:08:20ZZ",
	"2025-07-03T10:08:20Z ",
	" 2025-07-03T10:08:20Z",
	"2025-07-03X10:08:20Z",
	"2025/07/03T10:08:20Z",
	"2025-7-03T10:08:20Z",
	"2025-07-3T10:08:20Z",
	"25-07-03T10:08:20Z",
	"2025-00-03T10:08:20Z",
	"2025-13-03T10:08:20Z",
	"2025-07-00T10:08:20Z",
	"2025-07-32T10:08:20Z",
	"2025-04-31T10:08:20Z",
	"2025-02-30T10:08:20Z",
	"2023-02-29T00:00:00Z",			/* not a leap year */
	"1900-02-29T00:00:00Z",			/* centuries are not */
	"2025-07-03T24:00:00Z",
	"2025-07-03T10:60:00Z",
	"2025-07-03T10:08:61Z",
	"2025-07-03T1a:08:20Z",
	"2025-07-03T10:08:20+02:00junk",
	"1751537300",
	"now",
};
#define NTF_BADS	((int)(sizeof(tf_bads) / sizeof(tf_bads[0])))

START_TEST(test_tf_parse_good)
{
	int64_t	us = 42;

	ck_assert_msg(tf_parse(tf_goods[_i].in, &us) == 0,
	    "\"%s\" was refused", tf_goods[_i].in);
	ck_assert_msg(us == tf_goods[_i].us, "\"%s\" parsed to %lld, not "
	    "%lld", tf_goods[_i].in, (long long)us,
	    (long long)tf_goods[_i].us);
}
END_TEST

START_TEST(test_tf_parse_bad)
{
	int64_t	us = 42;

	ck_assert_msg(tf_parse(tf_bads[_i], &us) == -1,
	    "\"%s\" was accepted", tf_bads[_i]);
	ck_assert_int_eq(us, 42);		/* untouched on failure */
}
END_TEST

START_TEST(test_tf_parse_null)
{
	int64_t	us;

	ck_assert_int_eq(tf_parse(NULL, &us), -1);
}
END_TEST

START_TEST(test_tf_leap_day)
{
	int64_t	a, b;

	ck_assert_int_eq(tf_parse("2024-02-29T00:00:00Z", &a), 0);
	ck_assert_int_eq(tf_parse("2024-03-01T00:00:00Z", &b), 0);
	ck_assert_int_eq(b - a, 86400 * S);
	ck_assert_int_eq(tf_parse("2024-02-28T00:00:00Z", &b), 0);
	ck_assert_int_eq(a - b, 86400 * S);
}
END_TEST

START_TEST(test_tf_leap_second)
{
	int64_t	before, leap, after;

	/* 23:59:60 is accepted and sorts between :59 and the next minute. */
	ck_assert_int_eq(tf_parse("2016-12-31T23:59:59Z", &before), 0);
	ck_assert_int_eq(tf_parse("2016-12-31T23:59:60Z", &leap), 0);
	ck_assert_int_eq(tf_parse("2017-01-01T00:00:00Z", &after), 0);
	ck_assert_int_gt(leap, before);
	ck_assert_int_le(leap, after);
}
END_TEST

START_TEST(test_tf_format)
{
	char	out[MP_TIMELEN];

	tf_format(0, out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
	tf_format(T_JULY, out);
	ck_assert_str_eq(out, "2025-07-03T10:08:20Z");
	/* A fraction is printed only when non-zero, always six digits. */
	tf_format(T_JULY + 500000, out);
	ck_assert_str_eq(out, "2025-07-03T10:08:20.500000Z");
	tf_format(T_JULY + 1, out);
	ck_assert_str_eq(out, "2025-07-03T10:08:20.000001Z");
	tf_format(-1, out);
	ck_assert_str_eq(out, "1969-12-31T23:59:59.999999Z");
	tf_format(INT64_C(-62135596800) * S, out);
	ck_assert_str_eq(out, "0001-01-01T00:00:00Z");
	tf_format(INT64_C(253402300799) * S, out);
	ck_assert_str_eq(out, "9999-12-31T23:59:59Z");
}
END_TEST

/* Whatever tf_parse accepts, tf_format writes back in a form it accepts. */
START_TEST(test_tf_roundtrip)
{
	char	out[MP_TIMELEN];
	int64_t	us, again;

	ck_assert_int_eq(tf_parse(tf_goods[_i].in, &us), 0);
	tf_format(us, out);
	ck_assert_msg(tf_parse(out, &again) == 0, "tf_format(\"%s\") wrote "
	    "\"%s\", which tf_parse refuses", tf_goods[_i].in, out);
	ck_assert_int_eq(again, us);
	ck_assert_ptr_nonnull(strchr(out, 'Z'));
}
END_TEST

START_TEST(test_tf_offset_normalised)
{
	char	out[MP_TIMELEN];
	int64_t	us;

	ck_assert_int_eq(tf_parse("2025-01-01T00:30:00+01:00", &us), 0);
	tf_format(us, out);
	ck_assert_str_eq(out, "2024-12-31T23:30:00Z");
	ck_assert_int_eq(tf_parse("2024-12-31T23:30:00.75-01:00", &us), 0);
	tf_format(us, out);
	ck_assert_str_eq(out, "2025-01-01T00:30:00.750000Z");
}
END_TEST

START_TEST(test_tf_now)
{
	/* Only a sanity bound: after 2020-01-01, in microseconds. */
	ck_assert_int_gt(tf_now(), INT64_C(1577836800) * S);
}
END_TEST

/* Every accepted timespan form; the first seven all mean 500 seconds. */
struct ts_good {
	const char	*in;
	double		 secs;
};
static const struct ts_good ts_goods[] = {
	{ "500", 500 },
	{ "500s", 500 },
	{ "8m20s", 500 },
	{ "0h8m20s", 500 },
	{ "PT8M20S", 500 },
	{ "pt8m20s", 500 },
	{ "500.0s", 500 },
	{ "P1DT2H", 93600 },
	{ "p1dt2h", 93600 },
	{ "P1W", 604800 },
	{ "P1D", 86400 },
	{ "PT1H30M", 5400 },
	{ "PT0.5S", 0.5 },
	{ "1d", 86400 },
	{ "1d2h3m4s", 93784 },
	{ "1h", 3600 },
	{ "90m", 5400 },
	{ "250ms", 0.25 },
	{ "1s250ms", 1.25 },
	{ "1.5h", 5400 },
	{ "0.5d", 43200 },
	{ ".5s", 0.5 },
	{ "0", 0 },
	{ "0s", 0 },
	{ "1.25", 1.25 },
	{ "  30s", 30 },
};
#define NTS_GOODS	((int)(sizeof(ts_goods) / sizeof(ts_goods[0])))

static const char *ts_bads[] = {
	"",
	" ",
	"abc",
	"s",
	"20s8m",		/* units must descend */
	"1h1h",
	"1m2h",
	"250ms1s",
	"PT",
	"P",
	"pt",
	"P1DT",
	"PT1H1H",
	"PT1S1M",
	"PT1D",			/* days belong before T */
	"P1H",			/* hours belong after T */
	"P1D1W",
	"PT5",
	"P1TT1H",
	"5x",
	"5 s",
	"30s ",
	"1h30",
	"-5s",
	"-5",
	"+5s",
	".",
	".s",
	"1e3s",
	"0x10",
	"inf",
	"nan",
	"1e400",
};
#define NTS_BADS	((int)(sizeof(ts_bads) / sizeof(ts_bads[0])))

START_TEST(test_ts_good)
{
	double	d = -1;

	ck_assert_msg(ts_parse(ts_goods[_i].in, &d) == 0,
	    "timespan \"%s\" was refused", ts_goods[_i].in);
	ck_assert_msg(d == ts_goods[_i].secs, "timespan \"%s\" is %g s, not "
	    "%g s", ts_goods[_i].in, d, ts_goods[_i].secs);
}
END_TEST

START_TEST(test_ts_bad)
{
	double	d = -1;

	ck_assert_msg(ts_parse(ts_bads[_i], &d) == -1,
	    "timespan \"%s\" was accepted (%g s)", ts_bads[_i], d);
}
END_TEST

START_TEST(test_ts_null)
{
	double	d;

	ck_assert_int_eq(ts_parse(NULL, &d), -1);
}
END_TEST

/* A bare number of digits long enough to overflow a double is refused. */
START_TEST(test_ts_huge)
{
	char	big[420];
	double	d;

	memset(big, '9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(ts_parse(big, &d), -1);
	big[sizeof(big) - 2] = 's';
	ck_assert_int_eq(ts_parse(big, &d), -1);
}
END_TEST

Suite *
make_time_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("time");

	tc = tcase_create("tf_parse");
	tcase_add_loop_test(tc, test_tf_parse_good, 0, NTF_GOODS);
	tcase_add_loop_test(tc, test_tf_parse_bad, 0, NTF_BADS);
	tcase_add_test(tc, test_tf_parse_null);
	tcase_add_test(tc, test_tf_leap_day);
	tcase_add_test(tc, test_tf_leap_second);
	suite_add_tcase(s, tc);

	tc = tcase_create("tf_format");
	tcase_add_test(tc, test_tf_format);
	tcase_add_loop_test(tc, test_tf_roundtrip, 0, NTF_GOODS);
	tcase_add_test(tc, test_tf_offset_normalised);
	tcase_add_test(tc, test_tf_now);
	suite_add_tcase(s, tc);

	tc = tcase_create("ts_parse");
	tcase_add_loop_test(tc, test_ts_good, 0, NTS_GOODS);
	tcase_add_loop_test(tc, test_ts_bad, 0, NTS_BADS);
	tcase_add_test(tc, test_ts_null);
	tcase_add_test(tc, test_ts_huge);
	suite_add_tcase(s, tc);

	return (s);
}
