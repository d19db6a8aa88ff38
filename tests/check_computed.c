/*
 * check_computed.c: computed claims (computed.c): expressions over
 * hand-built items, periods and buckets around calendar boundaries, id
 * templates, and the declarations of claim_types (claims.c) and
 * computed_claims as they load, or fail to, from YAML.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milepost.h"
#include "check_milepost.h"

#define CFGFILE		"mem.yaml"
#define DAY		(INT64_C(86400) * INT64_C(1000000))
#define NITEMS		32

/* Items for computed_eval: kinds[i] 0 none, 1 boolean, 2 number. */
static struct citem		 items[NITEMS];
static const struct citem	*ptrs[NITEMS];

static int64_t
T(const char *s)
{
	int64_t	us;

	ck_assert_msg(tf_parse(s, &us) == 0, "tf_parse %s", s);
	return (us);
}

static size_t
mkitems(const int *kinds, const double *nums, size_t n)
{
	size_t	i;

	ck_assert_uint_le(n, NITEMS);
	memset(items, 0, sizeof(items));
	for (i = 0; i < n; i++) {
		items[i].key = NULL;
		items[i].time = (int64_t)i;
		items[i].kind = kinds[i];
		items[i].num = nums[i];
		ptrs[i] = &items[i];
	}
	return (n);
}

/* n numbers (kind 2). */
static size_t
mknums(const double *nums, size_t n)
{
	int	kinds[NITEMS];
	size_t	i;

	for (i = 0; i < n && i < NITEMS; i++)
		kinds[i] = 2;
	return (mkitems(kinds, nums, n));
}

/* n booleans (kind 1). */
static size_t
mkbools(const int *b, size_t n)
{
	int	kinds[NITEMS];
	double	nums[NITEMS];
	size_t	i;

	ck_assert_uint_le(n, NITEMS);
	for (i = 0; i < n; i++) {
		kinds[i] = 1;
		nums[i] = b[i] ? 1 : 0;
	}
	return (mkitems(kinds, nums, n));
}

static struct cpropdef
mkprop(enum ptype type, enum expr e)
{
	struct cpropdef	cp;

	memset(&cp, 0, sizeof(cp));
	cp.name = (char *)"p";
	cp.type = type;
	cp.expr = e;
	cp.p = -1;
	return (cp);
}

/* Evaluate cp over the first n items: it must have a value, v. */
static void
expect_value(const struct cpropdef *cp, size_t n, double v)
{
	json_object	*out;

	ck_assert_msg(computed_eval(cp, ptrs, n, &out) == 0,
	    "%s over %zu items has no value", computed_expr_name(cp->expr), n);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(json_object_get_double(out) == v, "%s: %s, not %g",
	    computed_expr_name(cp->expr), json_object_to_json_string(out), v);
	/* Whole numbers are integers in JSON; others stay doubles. */
	if (v == floor(v))
		ck_assert_msg(json_object_is_type(out, json_type_int),
		    "%s: %s is not an integer", computed_expr_name(cp->expr),
		    json_object_to_json_string(out));
	else
		ck_assert(json_object_is_type(out, json_type_double));
	json_object_put(out);
}

/* Evaluate cp over the first n items: it must have no value. */
static void
expect_undefined(const struct cpropdef *cp, size_t n)
{
	json_object	*out = (json_object *)&out;	/* not NULL */

	ck_assert_msg(computed_eval(cp, ptrs, n, &out) == 1,
	    "%s over %zu items has a value", computed_expr_name(cp->expr), n);
	ck_assert_ptr_null(out);
}

START_TEST(test_eval_count)
{
	struct cpropdef	cp = mkprop(PT_INTEGER, EX_COUNT);
	static const int kinds[] = { 2, 0, 1, 0, 2 };
	static const double nums[] = { 5, 0, 1, 0, 7 };

	expect_value(&cp, mkitems(kinds, nums, 5), 5);
	/* Items without the property (kind 0) are counted too. */
	expect_value(&cp, 4, 4);
	expect_value(&cp, 0, 0);
	cp.type = PT_NUMBER;
	expect_value(&cp, 0, 0);
}
END_TEST

START_TEST(test_eval_true_false_count)
{
	struct cpropdef	tc = mkprop(PT_INTEGER, EX_TRUECOUNT);
	struct cpropdef	fc = mkprop(PT_INTEGER, EX_FALSECOUNT);
	static const int b[] = { 1, 1, 0, 1, 1, 1, 0, 1, 1, 1 };
	static const int kinds[] = { 1, 0, 1, 2, 1 };
	static const double nums[] = { 1, 1, 0, 1, 1 };

	/* Document 002: 10 lifecycle claims, 8 of them completed. */
	mkbools(b, 10);
	expect_value(&tc, 10, 8);
	expect_value(&fc, 10, 2);
	/* Only booleans count: not missing properties, not numbers. */
	mkitems(kinds, nums, 5);
	expect_value(&tc, 5, 2);
	expect_value(&fc, 5, 1);
	/* Nothing collected: zero, not undefined. */
	expect_value(&tc, 0, 0);
	expect_value(&fc, 0, 0);
	mkbools(b + 5, 2);
	expect_value(&tc, 2, 1);
	expect_value(&fc, 2, 1);
	expect_value(&fc, 1, 0);
}
END_TEST

START_TEST(test_eval_percent_true)
{
	struct cpropdef	cp = mkprop(PT_PERCENTAGE, EX_PERCENTTRUE);
	static const int b[] = { 1, 0, 1, 1, 0, 1, 1, 1 };
	static const int kinds[] = { 1, 0, 1, 0 };
	static const double nums[] = { 1, 0, 0, 1 };

	expect_value(&cp, mkbools(b, 8), 75);
	expect_value(&cp, 3, 66.67);	/* rounded to two decimals */
	expect_value(&cp, 2, 50);
	/* Of the booleans only: a missing property is not a false. */
	expect_value(&cp, mkitems(kinds, nums, 4), 50);
	mkitems(kinds + 1, nums + 1, 1);
	expect_undefined(&cp, 1);
	expect_undefined(&cp, 0);
	/* An integer percentage rounds. */
	cp.type = PT_INTEGER;
	mkbools(b, 8);
	expect_value(&cp, 3, 67);
}
END_TEST

START_TEST(test_eval_sum_avg_min_max)
{
	struct cpropdef	sum = mkprop(PT_NUMBER, EX_SUM);
	struct cpropdef	avg = mkprop(PT_NUMBER, EX_AVG);
	struct cpropdef	min = mkprop(PT_NUMBER, EX_MIN);
	struct cpropdef	max = mkprop(PT_NUMBER, EX_MAX);
	static const double nums[] = { 4, -2.5, 10, 0, 3.5 };
	static const int kinds[] = { 0, 2, 0, 1, 2, 0 };
	static const double nums2[] = { 99, 7, -99, 1, 9, 0 };

	mknums(nums, 5);
	expect_value(&sum, 5, 15);
	expect_value(&avg, 5, 3);
	expect_value(&min, 5, -2.5);
	expect_value(&max, 5, 10);
	expect_value(&avg, 2, 0.75);
	/* One item: it is every statistic. */
	expect_value(&min, 1, 4);
	expect_value(&max, 1, 4);
	expect_value(&avg, 1, 4);

	/* Missing properties (and booleans) are ignored, not zeros. */
	mkitems(kinds, nums2, 6);
	expect_value(&sum, 6, 16);
	expect_value(&avg, 6, 8);
	expect_value(&min, 6, 7);
	expect_value(&max, 6, 9);

	/* No numbers: the sum is 0; the others have no value. */
	expect_value(&sum, 0, 0);
	expect_undefined(&avg, 0);
	expect_undefined(&min, 0);
	expect_undefined(&max, 0);
	mkitems(kinds, nums2, 1);
	expect_value(&sum, 1, 0);
	expect_undefined(&avg, 1);
	expect_undefined(&min, 1);
	expect_undefined(&max, 1);
}
END_TEST

/* The JSON text of cp over the first n items. */
static void
expect_text(const struct cpropdef *cp, size_t n, const char *text)
{
	json_object	*out;

	ck_assert_int_eq(computed_eval(cp, ptrs, n, &out), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(out,
	    JSON_C_TO_STRING_PLAIN), text);
	json_object_put(out);
}

/*
 * Numbers for people (util/number.c): percentages to two decimals, other
 * numbers to three significant digits (never fewer than the integer
 * part), timespans to the millisecond; printed with the shortest digits.
 */
START_TEST(test_eval_rounding_for_people)
{
	struct cpropdef	pct = mkprop(PT_PERCENTAGE, EX_PERCENTTRUE);
	struct cpropdef	avg = mkprop(PT_NUMBER, EX_AVG);
	struct cpropdef	ts = mkprop(PT_TIMESPAN, EX_AVG);
	static const int b[] = { 1, 0, 0, 1, 1, 0 };
	static const double thirty[] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const double big[] = { 1234.5, 1235.25, 1234.1 };
	static const double secs[] = { 1, 2, 2.0001 };

	mkbools(b, 6);
	expect_text(&pct, 3, "33.33");
	expect_text(&pct, 6, "50");
	mknums(thirty, 30);
	expect_text(&avg, 30, "0.0333");	/* not 0.033333333333333333 */
	mknums(big, 3);
	expect_text(&avg, 3, "1235");
	expect_text(&avg, 2, "1235");		/* 1234.875 */
	mknums(secs, 3);
	expect_text(&ts, 3, "1.667");
	expect_text(&avg, 2, "1.5");

	ck_assert(num_round(0.033000000000000002, NUM_RATE) == 0.033);
	ck_assert(num_round(56.0 / 31, NUM_RATE) == 1.81);
	ck_assert(num_round(8.0 / 31, NUM_RATE) == 0.258);
	ck_assert(num_round(12.345, NUM_RATE) == 12.3);
	ck_assert(num_round(-0.0012345, NUM_RATE) == -0.00123);
	ck_assert(num_round(200.0 / 3, NUM_PERCENT) == 66.67);
	ck_assert(num_round(1.23456, NUM_SECONDS) == 1.235);
	ck_assert(num_round(0, NUM_RATE) == 0);
	ck_assert(isnan(num_round(NAN, NUM_RATE)));
	ck_assert_ptr_null(num_json(NAN, NUM_PERCENT));
}
END_TEST

START_TEST(test_eval_integer_rounding)
{
	struct cpropdef	avg = mkprop(PT_INTEGER, EX_AVG);
	struct cpropdef	sum = mkprop(PT_INTEGER, EX_SUM);
	struct cpropdef	min = mkprop(PT_INTEGER, EX_MIN);
	static const double a[] = { 1, 2 };
	static const double b[] = { 1, 2, 2 };
	static const double c[] = { 2, 3 };
	static const double d[] = { -1, -2 };
	static const double e[] = { 0.4, 0.4, -3.6 };

	expect_value(&avg, mknums(a, 2), 2);	/* 1.5: half away from 0 */
	expect_value(&avg, mknums(b, 3), 2);	/* 1.67 */
	expect_value(&avg, mknums(c, 2), 3);	/* 2.5 */
	expect_value(&avg, mknums(d, 2), -2);	/* -1.5 */
	expect_value(&sum, mknums(e, 3), -3);	/* -2.8 */
	expect_value(&min, 3, -4);		/* -3.6 */
	/* The same as numbers keep their fractions. */
	avg.type = PT_NUMBER;
	expect_value(&avg, mknums(a, 2), 1.5);
	avg.type = PT_TIMESPAN;
	expect_value(&avg, 2, 1.5);
}
END_TEST

START_TEST(test_eval_percentile)
{
	struct cpropdef	cp = mkprop(PT_NUMBER, EX_PERCENTILE);
	static const double ten[] = { 70, 10, 100, 40, 20, 90, 60, 30, 80, 50 };
	static const double twenty[] = {
		20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
		10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
	};
	static const int kinds[] = { 0, 2, 1, 2, 0, 2 };
	static const double mixed[] = { 1000, 3, 1, 1, 1000, 2 };
	double		 hundred[NITEMS];
	int		 k[NITEMS];
	size_t		 i;

	/* Nearest rank: the ceil(p/100 * n)-th smallest value. */
	mknums(ten, 10);
	cp.p = 50;
	expect_value(&cp, 10, 50);
	cp.p = 90;
	expect_value(&cp, 10, 90);
	cp.p = 95;
	expect_value(&cp, 10, 100);
	cp.p = 100;
	expect_value(&cp, 10, 100);
	cp.p = 10;
	expect_value(&cp, 10, 10);
	cp.p = 11;
	expect_value(&cp, 10, 20);
	cp.p = 0.001;
	expect_value(&cp, 10, 10);

	mknums(twenty, 20);
	cp.p = 50;
	expect_value(&cp, 20, 10);
	cp.p = 90;
	expect_value(&cp, 20, 18);
	cp.p = 95;
	expect_value(&cp, 20, 19);
	cp.p = 100;
	expect_value(&cp, 20, 20);
	cp.p = 51;
	expect_value(&cp, 20, 11);

	/* Odd sizes, and one value. */
	cp.p = 50;
	mknums(ten, 5);
	expect_value(&cp, 5, 40);	/* 10 20 40 70 100 */
	expect_value(&cp, 1, 70);

	/*
	 * Ranks that are whole numbers must not round up: 28% of 25 items
	 * is the 7th and 56% the 14th, though 0.28 * 25 in floating point
	 * is 7.000000000000001.
	 */
	for (i = 0; i < 25; i++) {
		hundred[i] = (double)(i + 1);
		k[i] = 2;
	}
	mkitems(k, hundred, 25);
	cp.p = 28;
	expect_value(&cp, 25, 7);
	cp.p = 56;
	expect_value(&cp, 25, 14);
	cp.p = 55;
	expect_value(&cp, 25, 14);
	cp.p = 100;
	expect_value(&cp, 25, 25);

	/* Numbers only; booleans and missing properties are not ranked. */
	mkitems(kinds, mixed, 6);
	cp.p = 50;
	expect_value(&cp, 6, 2);
	cp.p = 100;
	expect_value(&cp, 6, 3);
	expect_undefined(&cp, 1);
	expect_undefined(&cp, 0);

	/* An integer percentile rounds like the others. */
	cp.type = PT_INTEGER;
	cp.p = 50;
	mknums(ten, 2);
	items[0].num = 2.5;
	items[1].num = 0.25;
	expect_value(&cp, 2, 0);
	cp.p = 100;
	expect_value(&cp, 2, 3);
}
END_TEST

/* Document 002: 8 completed durations, 1 under 500 s. */
START_TEST(test_eval_percent_timespan)
{
	struct cpropdef	lt = mkprop(PT_PERCENTAGE, EX_PCT_LT_TS);
	struct cpropdef	gt = mkprop(PT_PERCENTAGE, EX_PCT_GT_TS);
	static const double d[] = { 620, 420, 500, 505, 900, 1200, 501, 700 };
	static const int kinds[] = { 2, 0, 2, 1, 0 };
	static const double nums[] = { 100, 0, 900, 0, 0 };

	lt.threshold = gt.threshold = 500;
	mknums(d, 8);
	expect_value(&lt, 8, 12.5);
	/* 500 s itself is neither less nor greater. */
	expect_value(&gt, 8, 75);
	expect_value(&lt, 3, 33.33);
	expect_value(&gt, 3, 33.33);
	expect_value(&lt, 1, 0);
	expect_value(&gt, 1, 100);
	items[0].num = 500;
	expect_value(&lt, 1, 0);
	expect_value(&gt, 1, 0);

	/* Of the numbers only. */
	mkitems(kinds, nums, 5);
	expect_value(&lt, 5, 50);
	expect_value(&gt, 5, 50);
	mkitems(kinds + 3, nums + 3, 2);
	expect_undefined(&lt, 2);
	expect_undefined(&gt, 2);
	expect_undefined(&lt, 0);
	expect_undefined(&gt, 0);

	/* Fractional thresholds. */
	lt.threshold = 0.5;
	mknums(d, 1);
	items[0].num = 0.25;
	expect_value(&lt, 1, 100);
}
END_TEST

START_TEST(test_expr_names)
{
	ck_assert_str_eq(computed_expr_name(EX_COUNT), "count");
	ck_assert_str_eq(computed_expr_name(EX_TRUECOUNT), "trueCount");
	ck_assert_str_eq(computed_expr_name(EX_FALSECOUNT), "falseCount");
	ck_assert_str_eq(computed_expr_name(EX_SUM), "sum");
	ck_assert_str_eq(computed_expr_name(EX_AVG), "avg");
	ck_assert_str_eq(computed_expr_name(EX_MIN), "min");
	ck_assert_str_eq(computed_expr_name(EX_MAX), "max");
	ck_assert_str_eq(computed_expr_name(EX_PERCENTILE), "percentile");
	ck_assert_str_eq(computed_expr_name(EX_PERCENTTRUE), "percentTrue");
	ck_assert_str_eq(computed_expr_name(EX_PCT_LT_TS),
	    "percentLessThanTimeSpan");
	ck_assert_str_eq(computed_expr_name(EX_PCT_GT_TS),
	    "percentGreaterThanTimeSpan");
}
END_TEST

/*
 * Periods.
 */

static void
expect_period(enum date_offset o, const char *anchor, const char *from,
    const char *to)
{
	int64_t	f, t;

	computed_period(o, T(anchor), &f, &t);
	ck_assert_msg(f == T(from) && t == T(to),
	    "offset %d at %s: [%lld, %lld), not [%s, %s)", (int)o, anchor,
	    (long long)f, (long long)t, from, to);
}

START_TEST(test_period_month)
{
	expect_period(DO_CURRENT_MONTH, "2025-07-15T12:00:00Z",
	    "2025-07-01T00:00:00Z", "2025-08-01T00:00:00Z");
	/* Anchors on the boundary itself. */
	expect_period(DO_CURRENT_MONTH, "2025-08-01T00:00:00Z",
	    "2025-08-01T00:00:00Z", "2025-09-01T00:00:00Z");
	expect_period(DO_CURRENT_MONTH, "2025-07-31T23:59:59.999999Z",
	    "2025-07-01T00:00:00Z", "2025-08-01T00:00:00Z");
	expect_period(DO_CURRENT_MONTH, "2025-07-01T00:00:00Z",
	    "2025-07-01T00:00:00Z", "2025-08-01T00:00:00Z");
	/* December runs into the next year. */
	expect_period(DO_CURRENT_MONTH, "2025-12-31T23:59:59Z",
	    "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z");
	/* February, leap and not. */
	expect_period(DO_CURRENT_MONTH, "2024-02-29T12:00:00Z",
	    "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z");
	expect_period(DO_CURRENT_MONTH, "2024-03-01T00:00:00Z",
	    "2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z");
	expect_period(DO_CURRENT_MONTH, "2025-02-28T23:59:59.999999Z",
	    "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z");
	/* Before the epoch. */
	expect_period(DO_CURRENT_MONTH, "1969-12-31T23:59:59.999999Z",
	    "1969-12-01T00:00:00Z", "1970-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_period_previous_month)
{
	expect_period(DO_PREVIOUS_MONTH, "2025-08-15T09:30:00Z",
	    "2025-07-01T00:00:00Z", "2025-08-01T00:00:00Z");
	expect_period(DO_PREVIOUS_MONTH, "2025-08-01T00:00:00Z",
	    "2025-07-01T00:00:00Z", "2025-08-01T00:00:00Z");
	expect_period(DO_PREVIOUS_MONTH, "2025-07-31T23:59:59.999999Z",
	    "2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z");
	/* January: December of the year before. */
	expect_period(DO_PREVIOUS_MONTH, "2026-01-01T00:00:00Z",
	    "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z");
	expect_period(DO_PREVIOUS_MONTH, "2026-01-20T18:00:00Z",
	    "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z");
	/* March: a leap February. */
	expect_period(DO_PREVIOUS_MONTH, "2024-03-10T00:00:00Z",
	    "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z");
}
END_TEST

START_TEST(test_period_week)
{
	/* ISO weeks start on Monday: 2025-07-14 is one. */
	expect_period(DO_CURRENT_WEEK, "2025-07-16T12:00:00Z",
	    "2025-07-14T00:00:00Z", "2025-07-21T00:00:00Z");
	expect_period(DO_CURRENT_WEEK, "2025-07-14T00:00:00Z",
	    "2025-07-14T00:00:00Z", "2025-07-21T00:00:00Z");
	/* A Sunday ends its week. */
	expect_period(DO_CURRENT_WEEK, "2025-07-20T23:59:59.999999Z",
	    "2025-07-14T00:00:00Z", "2025-07-21T00:00:00Z");
	expect_period(DO_CURRENT_WEEK, "2025-08-03T10:00:00Z",
	    "2025-07-28T00:00:00Z", "2025-08-04T00:00:00Z");
	/* Across a year end, both sides. */
	expect_period(DO_CURRENT_WEEK, "2025-12-31T12:00:00Z",
	    "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z");
	expect_period(DO_CURRENT_WEEK, "2026-01-04T23:00:00Z",
	    "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z");
	expect_period(DO_CURRENT_WEEK, "2021-01-03T00:00:00Z",
	    "2020-12-28T00:00:00Z", "2021-01-04T00:00:00Z");
	/* And across a leap day. */
	expect_period(DO_CURRENT_WEEK, "2024-03-01T00:00:00Z",
	    "2024-02-26T00:00:00Z", "2024-03-04T00:00:00Z");
	/* 1970-01-01 was a Thursday. */
	expect_period(DO_CURRENT_WEEK, "1970-01-01T00:00:00Z",
	    "1969-12-29T00:00:00Z", "1970-01-05T00:00:00Z");
}
END_TEST

START_TEST(test_period_quarter)
{
	expect_period(DO_CURRENT_QUARTER, "2025-11-15T12:00:00Z",
	    "2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z");
	expect_period(DO_CURRENT_QUARTER, "2025-12-31T23:59:59.999999Z",
	    "2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z");
	expect_period(DO_CURRENT_QUARTER, "2025-10-01T00:00:00Z",
	    "2025-10-01T00:00:00Z", "2026-01-01T00:00:00Z");
	expect_period(DO_CURRENT_QUARTER, "2026-01-01T00:00:00Z",
	    "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z");
	expect_period(DO_CURRENT_QUARTER, "2025-03-31T23:59:59Z",
	    "2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z");
	expect_period(DO_CURRENT_QUARTER, "2025-04-01T00:00:00Z",
	    "2025-04-01T00:00:00Z", "2025-07-01T00:00:00Z");
	expect_period(DO_CURRENT_QUARTER, "2025-08-01T00:00:00Z",
	    "2025-07-01T00:00:00Z", "2025-10-01T00:00:00Z");
	expect_period(DO_CURRENT_QUARTER, "2024-02-29T00:00:00Z",
	    "2024-01-01T00:00:00Z", "2024-04-01T00:00:00Z");
}
END_TEST

/* Rolling windows: (anchor - N days, anchor], as [from, to). */
START_TEST(test_period_rolling)
{
	static const struct {
		enum date_offset	o;
		int			days;
	} w[] = {
		{ DO_LAST_7_DAYS, 7 },
		{ DO_LAST_14_DAYS, 14 },
		{ DO_LAST_28_DAYS, 28 },
	};
	static const char *anchors[] = {
		"2025-07-15T12:34:56.789012Z",
		"2025-08-01T00:00:00Z",
		"2026-01-03T00:00:00Z",
		"2024-03-01T00:00:00Z",
	};
	int64_t	a, f, t;
	size_t	i, j;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		for (j = 0; j < sizeof(anchors) / sizeof(anchors[0]); j++) {
			a = T(anchors[j]);
			computed_period(w[i].o, a, &f, &t);
			ck_assert_int_eq(t, a + 1);
			ck_assert_int_eq(f, a - w[i].days * DAY + 1);
		}
	}
	/* The anchor is in; N days before it is out, a moment later in. */
	computed_period(DO_LAST_7_DAYS, T("2025-08-01T00:00:00Z"), &f, &t);
	ck_assert(T("2025-08-01T00:00:00Z") < t);
	ck_assert(T("2025-08-01T00:00:00.000001Z") >= t);
	ck_assert(T("2025-07-25T00:00:00Z") < f);
	ck_assert(T("2025-07-25T00:00:00.000001Z") >= f);
	/* Across a leap day: 2024-02-23 is 7 days before 2024-03-01. */
	computed_period(DO_LAST_7_DAYS, T("2024-03-01T00:00:00Z"), &f, &t);
	ck_assert_int_eq(f, T("2024-02-23T00:00:00.000001Z"));
	computed_period(DO_LAST_28_DAYS, T("2026-01-03T00:00:00Z"), &f, &t);
	ck_assert_int_eq(f, T("2025-12-06T00:00:00.000001Z"));
}
END_TEST

START_TEST(test_period_all)
{
	int64_t	f, t;

	computed_period(DO_ALL, T("2025-07-15T00:00:00Z"), &f, &t);
	ck_assert_int_eq(f, INT64_MIN);
	ck_assert_int_eq(t, INT64_MAX);
	computed_period(DO_ALL, 0, &f, &t);
	ck_assert_int_eq(f, INT64_MIN);
	ck_assert_int_eq(t, INT64_MAX);
	ck_assert_int_eq(computed_bucket_start(DO_ALL, 12345), INT64_MIN);
	ck_assert_int_eq(computed_bucket_next(DO_ALL, INT64_MIN), INT64_MAX);
}
END_TEST

START_TEST(test_bucket_boundaries)
{
	/* Rolling windows keep day buckets. */
	ck_assert_int_eq(computed_bucket_start(DO_LAST_7_DAYS,
	    T("2025-07-15T12:00:00Z")), T("2025-07-15T00:00:00Z"));
	ck_assert_int_eq(computed_bucket_next(DO_LAST_28_DAYS,
	    T("2025-12-31T00:00:00Z")), T("2026-01-01T00:00:00Z"));
	ck_assert_int_eq(computed_bucket_next(DO_LAST_14_DAYS,
	    T("2024-02-28T00:00:00Z")), T("2024-02-29T00:00:00Z"));
	/* Months and quarters across the year end. */
	ck_assert_int_eq(computed_bucket_next(DO_CURRENT_MONTH,
	    T("2025-12-01T00:00:00Z")), T("2026-01-01T00:00:00Z"));
	ck_assert_int_eq(computed_bucket_next(DO_PREVIOUS_MONTH,
	    T("2024-01-01T00:00:00Z")), T("2024-02-01T00:00:00Z"));
	ck_assert_int_eq(computed_bucket_next(DO_CURRENT_QUARTER,
	    T("2025-10-01T00:00:00Z")), T("2026-01-01T00:00:00Z"));
	ck_assert_int_eq(computed_bucket_start(DO_CURRENT_QUARTER,
	    T("2025-09-30T23:59:59.999999Z")), T("2025-07-01T00:00:00Z"));
	ck_assert_int_eq(computed_bucket_next(DO_CURRENT_WEEK,
	    T("2025-12-29T00:00:00Z")), T("2026-01-05T00:00:00Z"));
	ck_assert_int_eq(computed_bucket_start(DO_CURRENT_MONTH, -1),
	    T("1969-12-01T00:00:00Z"));
}
END_TEST

/* start(t) <= t < next(start(t)), for every offset, over a sweep. */
START_TEST(test_bucket_sweep)
{
	enum date_offset o;
	int64_t		 t, s, n, f, to, t0, step;
	int		 i, k;

	t0 = T("1969-11-20T05:06:07.654321Z");
	/* A prime number of microseconds, a little under 7 h 13 min. */
	step = INT64_C(25999999999);
	for (k = DO_CURRENT_MONTH; k <= DO_ALL; k++) {
		o = (enum date_offset)k;
		for (i = 0; i < 3000; i++) {
			t = i < 1500 ? t0 + i * step :
			    T("2023-12-01T00:00:00Z") + (i - 1500) * step;
			s = computed_bucket_start(o, t);
			n = computed_bucket_next(o, s);
			ck_assert_msg(s <= t && t < n, "offset %d, t %lld: "
			    "bucket [%lld, %lld)", (int)o, (long long)t,
			    (long long)s, (long long)n);
			/* Starts are fixed points; next is a start. */
			ck_assert_int_eq(computed_bucket_start(o, s), s);
			if (o != DO_ALL) {
				ck_assert_int_eq(computed_bucket_start(o, n),
				    n);
				ck_assert_int_eq(computed_bucket_start(o,
				    n - 1), s);
			}
			/* Calendar periods hold their anchor. */
			computed_period(o, t, &f, &to);
			ck_assert_msg(f < to, "offset %d: empty period",
			    (int)o);
			if (o != DO_PREVIOUS_MONTH)
				ck_assert(f <= t && t < to);
			else
				ck_assert(to == s && to <= t);
		}
	}
}
END_TEST

/*
 * Id templates.
 */

static void
expect_id(const char *tmpl, const char *at, const char *want)
{
	char	out[64];

	ck_assert_msg(computed_expand_id(tmpl, T(at), out, sizeof(out)) == 0,
	    "%s at %s did not expand", tmpl, at);
	ck_assert_msg(strcmp(out, want) == 0, "%s at %s: \"%s\", not \"%s\"",
	    tmpl, at, out, want);
}

START_TEST(test_expand_id)
{
	expect_id("$MonthName-$YYYY", "2025-07-15T12:00:00Z", "July-2025");
	expect_id("$MonthName-$YYYY", "2025-07-31T23:59:59.999999Z",
	    "July-2025");
	expect_id("$MonthName-$YYYY", "2025-08-01T00:00:00Z", "August-2025");
	expect_id("$MonthName-$YYYY", "2026-01-01T00:00:00Z", "January-2026");
	expect_id("$MonthName-$YYYY", "2025-12-31T23:59:59Z", "December-2025");
	expect_id("$YYYY-$MM", "2025-07-15T12:00:00Z", "2025-07");
	expect_id("$YYYY-$MM", "2025-12-01T00:00:00Z", "2025-12");
	expect_id("$YYYY-$MM-$DD", "2025-07-05T00:00:00Z", "2025-07-05");
	expect_id("$DD", "2024-02-29T12:00:00Z", "29");
	expect_id("$Quarter", "2025-07-15T12:00:00Z", "Q3");
	expect_id("$YYYY-$Quarter", "2025-12-31T23:59:59Z", "2025-Q4");
	expect_id("$YYYY-$Quarter", "2026-01-01T00:00:00Z", "2026-Q1");
	expect_id("$Quarter", "2025-03-31T23:59:59Z", "Q1");
	expect_id("$Quarter", "2025-04-01T00:00:00Z", "Q2");
	/* ISO weeks: the week-based year goes with $WW. */
	expect_id("$YYYY-W$WW", "2025-07-15T12:00:00Z", "2025-W29");
	expect_id("$YYYY-W$WW", "2025-12-29T00:00:00Z", "2026-W01");
	expect_id("$YYYY-W$WW", "2026-01-04T23:59:59Z", "2026-W01");
	expect_id("$YYYY-W$WW", "2021-01-03T00:00:00Z", "2020-W53");
	expect_id("$YYYY-W$WW", "2021-01-04T00:00:00Z", "2021-W01");
	expect_id("$YYYY-W$WW", "2024-12-30T00:00:00Z", "2025-W01");
	/* Without $WW, $YYYY is the calendar year. */
	expect_id("$YYYY", "2025-12-29T00:00:00Z", "2025");
	expect_id("$MonthName-$YYYY", "2021-01-03T00:00:00Z", "January-2021");
	/* Literal text is kept. */
	expect_id("builds $MonthName $YYYY (all)", "2025-07-15T00:00:00Z",
	    "builds July 2025 (all)");
	expect_id("all-time", "2025-07-15T00:00:00Z", "all-time");
	expect_id("$YYYY$MM", "2025-07-15T00:00:00Z", "202507");
}
END_TEST

START_TEST(test_expand_id_errors)
{
	char	out[16];

	ck_assert_int_eq(computed_expand_id("$Decade", 0, out, sizeof(out)),
	    -1);
	ck_assert_int_eq(computed_expand_id("$yyyy", 0, out, sizeof(out)),
	    -1);
	ck_assert_int_eq(computed_expand_id("x-$", 0, out, sizeof(out)), -1);
	ck_assert_int_eq(computed_expand_id("", 0, out, sizeof(out)), -1);
	/* Too long for out. */
	ck_assert_int_eq(computed_expand_id("$MonthName-$MonthName-$YYYY", 0,
	    out, sizeof(out)), -1);
	ck_assert_int_eq(computed_expand_id("$YYYY-$MM", 0, out, 8), 0);
	ck_assert_str_eq(out, "1970-01");
	ck_assert_int_eq(computed_expand_id("$YYYY-$MM", 0, out, 7), -1);
}
END_TEST

static void
expect_template_bad(const char *tmpl, const char *bad)
{
	char	b[64];

	b[0] = '\0';
	ck_assert_msg(computed_template_ok(tmpl, b, sizeof(b)) == -1,
	    "%s accepted", tmpl);
	ck_assert_msg(strcmp(b, bad) == 0, "%s: blamed \"%s\", not \"%s\"",
	    tmpl, b, bad);
}

START_TEST(test_template_ok)
{
	char	b[64];

	expect_template_bad("$Decade", "$Decade");
	expect_template_bad("$MonthName-$Decade", "$Decade");
	expect_template_bad("$yyyy", "$yyyy");
	expect_template_bad("$Yyyy-$MM", "$Yyyy");
	expect_template_bad("$", "$");
	expect_template_bad("$YYYY-$", "$");
	expect_template_bad("$-$YYYY", "$-");
	expect_template_bad("$YYYYMM", "$YYYYMM");
	ck_assert_int_eq(computed_template_ok("$MonthName-$YYYY", b,
	    sizeof(b)), 0);
	ck_assert_int_eq(computed_template_ok("$YYYY-W$WW", b, sizeof(b)), 0);
	ck_assert_int_eq(computed_template_ok("$YYYY-$MM-$DD $Quarter", b,
	    sizeof(b)), 0);
	ck_assert_int_eq(computed_template_ok("all-time", b, sizeof(b)), 0);
	ck_assert_int_eq(computed_template_ok("", b, sizeof(b)), 0);
}
END_TEST

/*
 * Configuration: claim_types and computed_claims as they load.
 */

static struct types	*ty;
static struct rules	*ru;		/* claims, computed claims, deployments */
static char		 err[MP_ERRLEN];
static char		 cfgpath[64];

static void
cfg_setup(void)
{
	int	fd;

	ty = NULL;
	err[0] = '\0';
	strlcpy(cfgpath, "/tmp/check_milepost_cc.XXXXXX", sizeof(cfgpath));
	if ((fd = mkstemp(cfgpath)) == -1)
		ck_abort_msg("mkstemp: %s", cfgpath);
	close(fd);
}

static void
cfg_teardown(void)
{
	rules_free(ru);
	ru = NULL;
	types_free(ty);
	ty = NULL;
	unlink(cfgpath);
}

static json_object *
cfg_get(json_object *tree, const char *key)
{
	json_object	*v;

	return (json_object_object_get_ex(tree, key, &v) ? v : NULL);
}

/* Load the three sections of text as config_load does; ty or NULL. */
static struct types *
cfg_load(const char *text)
{
	json_object	*tree;

	rules_free(ru);
	ru = NULL;
	types_free(ty);
	err[0] = '\0';
	tree = yaml_parse(text, strlen(text), CFGFILE, err, sizeof(err));
	ck_assert_msg(tree != NULL, "%s", err);
	ty = types_new();
	ru = rules_new(ty);
	if (types_load(ty, cfg_get(tree, "evidence_types"), CFGFILE, err,
	    sizeof(err)) == -1 || claims_load(ru, cfg_get(tree,
	    "claim_types"), CFGFILE, err, sizeof(err)) == -1 ||
	    computed_load(ru, cfg_get(tree, "computed_claims"), CFGFILE, err,
	    sizeof(err)) == -1) {
		rules_free(ru);
		ru = NULL;
		types_free(ty);
		ty = NULL;
	}
	json_object_put(tree);
	return (ty);
}

/* text must fail on line, naming key, with want in the reason. */
static void
cfg_fails(const char *text, int line, const char *key, const char *want)
{
	char	where[256];

	ck_assert_msg(cfg_load(text) == NULL, "loaded:\n%s", text);
	snprintf(where, sizeof(where), "%s:%d: %s: ", CFGFILE, line, key);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0,
	    "error \"%s\" does not start with \"%s\"", err, where);
	if (want != NULL)
		ck_assert_msg(strstr(err + strlen(where), want) != NULL,
		    "error \"%s\" does not say \"%s\"", err, want);
}

#define DOC002 \
	"evidence_types:\n" \
	"  BuildStartedEvent:\n" \
	"    properties:\n" \
	"      buildId: { type: text, required: true }\n" \
	"  BuildCompleted:\n" \
	"    properties:\n" \
	"      buildStatus: { type: enum, options: [success, failure], " \
	"required: true }\n" \
	"      duration: { type: timespan, required: true }\n" \
	"      exitCode: { type: integer }\n" \
	"claim_types:\n" \
	"  BuildLifecycle:\n" \
	"    properties:\n" \
	"      completed: { type: boolean, required: true }\n" \
	"      duration: { type: timespan }\n" \
	"    created_by: { evidence: BuildStartedEvent, set: { completed: " \
	"false } }\n" \
	"    revised_by:\n" \
	"      - { evidence: BuildCompleted, set: { completed: true, " \
	"duration: $duration } }\n" \
	"computed_claims:\n" \
	"  BuildCompletion:\n" \
	"    id: \"$MonthName-$YYYY\"\n" \
	"    trigger: BuildLifecycle\n" \
	"    collectors:\n" \
	"      dependantStatusCollector: { type: BuildLifecycle, " \
	"count: 1000, exact: false, date_offset: CurrentMonth, " \
	"property: completed }\n" \
	"    properties:\n" \
	"      totalCount:      { type: integer, expression: count }\n" \
	"      completedCount:  { type: integer, expression: trueCount }\n" \
	"      incompleteCount: { type: integer, expression: falseCount }\n" \
	"  BuildLifeCycleSLA:\n" \
	"    id: \"$MonthName-$YYYY\"\n" \
	"    about: BuildService\n" \
	"    trigger: BuildCompleted\n" \
	"    collectors:\n" \
	"      buildLifecycleCollector: { type: BuildCompleted, count: 1000, " \
	"date_offset: CurrentMonth, property: duration }\n" \
	"    properties:\n" \
	"      metSLA: { type: percentage, expression: " \
	"percentLessThanTimeSpan, collector: buildLifecycleCollector, " \
	"threshold: 500s }\n"

START_TEST(test_load_doc002)
{
	const struct computeddef	*cc;
	const struct claimdef		*cd;

	ck_assert_msg(cfg_load(DOC002) != NULL, "%s", err);
	ck_assert_uint_eq(ru->ncc, 2);
	ck_assert_ptr_nonnull(cd = claims_find(ru, "BuildLifecycle"));
	ck_assert_str_eq(cd->created_by, "BuildStartedEvent");
	ck_assert_uint_eq(cd->ncreate_set, 1);
	ck_assert_uint_eq(cd->nrevised, 1);
	ck_assert_str_eq(cd->revised[0].evidence, "BuildCompleted");
	ck_assert_uint_eq(cd->revised[0].nset, 2);
	ck_assert_str_eq(cd->revised[0].set[1].prop, "duration");
	ck_assert_str_eq(cd->revised[0].set[1].from, "duration");
	ck_assert_ptr_null(cd->revised[0].set[1].value);
	ck_assert_ptr_nonnull(cd->revised[0].set[0].value);
	ck_assert(json_object_get_boolean(cd->revised[0].set[0].value));

	cc = &ru->cc[0];
	ck_assert_str_eq(cc->name, "BuildCompletion");
	ck_assert_str_eq(cc->idtmpl, "$MonthName-$YYYY");
	ck_assert_ptr_null(cc->about);
	ck_assert_str_eq(cc->trigger, "BuildLifecycle");
	ck_assert_int_eq(cc->trigger_is_claim, 1);
	ck_assert_uint_eq(cc->ncoll, 1);
	ck_assert_str_eq(cc->coll[0].name, "dependantStatusCollector");
	ck_assert_str_eq(cc->coll[0].type, "BuildLifecycle");
	ck_assert_int_eq(cc->coll[0].of_claims, 1);
	ck_assert_str_eq(cc->coll[0].property, "completed");
	ck_assert_int_eq(cc->coll[0].ptype, PT_BOOLEAN);
	ck_assert_uint_eq(cc->coll[0].count, 1000);
	ck_assert_int_eq(cc->coll[0].exact, 0);
	ck_assert_int_eq(cc->coll[0].offset, DO_CURRENT_MONTH);
	ck_assert_uint_eq(cc->nprops, 3);
	ck_assert_str_eq(cc->props[0].name, "totalCount");
	ck_assert_int_eq(cc->props[0].expr, EX_COUNT);
	ck_assert_int_eq(cc->props[0].type, PT_INTEGER);
	ck_assert_int_eq(cc->props[1].expr, EX_TRUECOUNT);
	ck_assert_int_eq(cc->props[2].expr, EX_FALSECOUNT);
	ck_assert_uint_eq(cc->props[2].collector, 0);

	cc = &ru->cc[1];
	ck_assert_str_eq(cc->name, "BuildLifeCycleSLA");
	ck_assert_str_eq(cc->about, "BuildService");
	ck_assert_str_eq(cc->trigger, "BuildCompleted");
	ck_assert_int_eq(cc->trigger_is_claim, 0);
	ck_assert_int_eq(cc->coll[0].of_claims, 0);
	ck_assert_int_eq(cc->coll[0].ptype, PT_TIMESPAN);
	ck_assert_int_eq(cc->props[0].type, PT_PERCENTAGE);
	ck_assert_int_eq(cc->props[0].expr, EX_PCT_LT_TS);
	ck_assert(cc->props[0].threshold == 500);

	/* The same through config_load, from a file. */
	{
		struct config	*cf;
		FILE		*f;

		ck_assert_ptr_nonnull(f = fopen(cfgpath, "w"));
		fputs(DOC002, f);
		ck_assert_int_eq(fclose(f), 0);
		cf = config_load(cfgpath, err, sizeof(err));
		ck_assert_msg(cf != NULL, "%s", err);
		ck_assert_uint_eq(cf->rules->ncc, 2);
		ck_assert_ptr_nonnull(claims_find(cf->rules,
		    "BuildLifecycle"));
		config_free(cf);
	}
}
END_TEST

#define CC_HEAD(trigger, coll) \
	"computed_claims:\n"			/* 1 */ \
	"  X:\n"				/* 2 */ \
	"    id: \"$MonthName-$YYYY\"\n"	/* 3 */ \
	"    trigger: " trigger "\n"		/* 4 */ \
	"    collectors:\n"			/* 5 */ \
	"      c: " coll "\n"			/* 6 */ \
	"    properties:\n"			/* 7 */

#define DURATIONS	"{ type: BuildCompleted, property: duration }"

/* Every expression, and its parameters, as they parse. */
START_TEST(test_load_expressions)
{
	const struct cpropdef	*p;
	const struct collectordef *c;
	size_t			 i;
	static const struct {
		const char	*name;
		enum expr	 e;
	} want[] = {
		{ "n", EX_COUNT }, { "s", EX_SUM }, { "a", EX_AVG },
		{ "lo", EX_MIN }, { "hi", EX_MAX }, { "p95", EX_PERCENTILE },
		{ "p90", EX_PERCENTILE }, { "p50", EX_PERCENTILE },
		{ "fast", EX_PCT_LT_TS }, { "slow", EX_PCT_GT_TS },
		{ "slow2", EX_PCT_GT_TS }, { "ok", EX_TRUECOUNT },
		{ "ko", EX_FALSECOUNT }, { "okpct", EX_PERCENTTRUE },
	};

	ck_assert_msg(cfg_load(
	    "computed_claims:\n"
	    "  X:\n"
	    "    id: \"$YYYY-W$WW\"\n"
	    "    trigger: BuildCompleted\n"
	    "    collectors:\n"
	    "      d: { type: BuildCompleted, property: duration, count: 50, "
	    "exact: true, date_offset: CurrentWeek,\n"
	    "           filter: { subject: \"b-*\", links: { service: "
	    "checkout, region: eu } } }\n"
	    "      b: { type: BuildLifecycle, property: completed, "
	    "date_offset: Last28Days }\n"
	    "    properties:\n"
	    "      n: { type: integer, expression: count, collector: d }\n"
	    "      s: { type: timespan, expression: sum, collector: d }\n"
	    "      a: { type: number, expression: avg, collector: d }\n"
	    "      lo: { type: timespan, expression: min, collector: d }\n"
	    "      hi: { type: timespan, expression: max, collector: d }\n"
	    "      p95: { type: timespan, expression: percentile(95), "
	    "collector: d }\n"
	    "      p90: { type: timespan, expression: percentile, "
	    "percentile: 90, collector: d }\n"
	    "      p50: { type: timespan, expression: \"percentile(50.5)\", "
	    "collector: d }\n"
	    "      fast: { type: percentage, expression: "
	    "percentLessThanTimeSpan, threshold: 8m20s, collector: d }\n"
	    "      slow: { type: percentage, expression: "
	    "percentGreaterThanTimeSpan, threshold: 600, collector: d }\n"
	    "      slow2: { type: percentage, expression: "
	    "percentGreaterThanTimeSpan, threshold: PT1H, collector: d }\n"
	    "      ok: { type: integer, expression: trueCount, collector: b }\n"
	    "      ko: { type: integer, expression: falseCount, "
	    "collector: b }\n"
	    "      okpct: { type: percentage, expression: percentTrue, "
	    "collector: b }\n") != NULL, "%s", err);
	ck_assert_uint_eq(ru->ncc, 1);
	ck_assert_str_eq(ru->cc[0].idtmpl, "$YYYY-W$WW");
	ck_assert_uint_eq(ru->cc[0].ncoll, 2);
	c = &ru->cc[0].coll[0];
	ck_assert_uint_eq(c->count, 50);
	ck_assert_int_eq(c->exact, 1);
	ck_assert_int_eq(c->offset, DO_CURRENT_WEEK);
	ck_assert_str_eq(c->filter_subject, "b-*");
	ck_assert_uint_eq(c->nfilter, 2);
	ck_assert_str_eq(c->filter_keys[0], "service");
	ck_assert_str_eq(c->filter_vals[0], "checkout");
	ck_assert_str_eq(c->filter_keys[1], "region");
	ck_assert_str_eq(c->filter_vals[1], "eu");
	c = &ru->cc[0].coll[1];
	ck_assert_int_eq(c->of_claims, 1);
	ck_assert_int_eq(c->offset, DO_LAST_28_DAYS);
	/* Defaults: the 1000 most recent, of all time. */
	ck_assert_uint_eq(c->count, 1000);
	ck_assert_int_eq(c->exact, 0);
	ck_assert_ptr_null(c->filter_subject);
	ck_assert_uint_eq(c->nfilter, 0);

	ck_assert_uint_eq(ru->cc[0].nprops, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < ru->cc[0].nprops; i++) {
		p = &ru->cc[0].props[i];
		ck_assert_str_eq(p->name, want[i].name);
		ck_assert_msg(p->expr == want[i].e, "%s: %s", p->name,
		    computed_expr_name(p->expr));
		ck_assert_uint_eq(p->collector, i < 11 ? 0 : 1);
	}
	p = ru->cc[0].props;
	ck_assert(p[5].p == 95);
	ck_assert(p[6].p == 90);
	ck_assert(p[7].p == 50.5);
	ck_assert(p[8].threshold == 500);
	ck_assert(p[9].threshold == 600);
	ck_assert(p[10].threshold == 3600);
	ck_assert_int_eq(p[2].type, PT_NUMBER);
}
END_TEST

START_TEST(test_load_collector_errors)
{
	/* An unknown type in a collector. */
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildFinished, property: duration }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.type", "\"BuildFinished\"");
	cfg_fails(CC_HEAD("BuildCompleted", "{ property: duration }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.type", "missing");
	/* A property that the type does not have. */
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildCompleted, property: colour }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.property", "\"colour\"");
	cfg_fails(CC_HEAD("BuildLifecycle",
	    "{ type: BuildLifecycle, property: buildId }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.property", "\"buildId\"");
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildCompleted, date_offset: ThisMonth }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.date_offset", "CurrentMonth");
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildCompleted, count: 0 }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.count", NULL);
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildCompleted, exact: yes-ish }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.exact", NULL);
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildCompleted, filter: { links: { service: 1 } } }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.filter", "strings");
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildCompleted, colour: red }")
	    "      p: { type: integer, expression: count }\n", 6,
	    "computed_claims.X.collectors.c.colour", "unknown key");
	/* A block collector is blamed on the line of its bad value. */
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    id: \"$YYYY\"\n"
	    "    trigger: BuildCompleted\n"
	    "    collectors:\n"
	    "      c:\n"
	    "        type: BuildCompleted\n"
	    "        property: duration\n"
	    "        date_offset: Yesterday\n"
	    "    properties:\n"
	    "      p: { type: integer, expression: count }\n", 9,
	    "computed_claims.X.collectors.c.date_offset", NULL);
}
END_TEST

START_TEST(test_load_expression_errors)
{
	/* An unknown expression. */
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: median }\n", 8,
	    "computed_claims.X.properties.p.expression", "\"median\"");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: integer, expression: Count }\n", 8,
	    "computed_claims.X.properties.p.expression", "\"Count\"");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: integer }\n", 8,
	    "computed_claims.X.properties.p.expression", "missing");
	/* trueCount and the like on a property that is not a boolean. */
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: integer, expression: trueCount }\n", 8,
	    "computed_claims.X.properties.p.expression", "boolean");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: percentage, expression: percentTrue }\n", 8,
	    "computed_claims.X.properties.p.expression", "boolean");
	cfg_fails(CC_HEAD("BuildLifecycle",
	    "{ type: BuildLifecycle, property: completed }")
	    "      p: { type: number, expression: avg }\n", 8,
	    "computed_claims.X.properties.p.expression", "numeric");
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildCompleted, property: buildStatus }")
	    "      p: { type: integer, expression: falseCount }\n", 8,
	    "computed_claims.X.properties.p.expression", "boolean");
	/* Expressions over values need a property to collect. */
	cfg_fails(CC_HEAD("BuildCompleted", "{ type: BuildCompleted }")
	    "      p: { type: number, expression: sum }\n", 8,
	    "computed_claims.X.properties.p.expression", "property");
	/* Computed properties are numbers. */
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: text, expression: count }\n", 8,
	    "computed_claims.X.properties.p.type", NULL);
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: integer, expression: count, collector: d }\n", 8,
	    "computed_claims.X.properties.p.collector", "\"d\"");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: integer, expression: count, weight: 2 }\n", 8,
	    "computed_claims.X.properties.p.weight", "unknown key");
	/* With two collectors, each property names one. */
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    id: \"$YYYY\"\n"
	    "    trigger: BuildCompleted\n"
	    "    collectors:\n"
	    "      c1: " DURATIONS "\n"
	    "      c2: " DURATIONS "\n"
	    "    properties:\n"
	    "      p: { type: integer, expression: count }\n", 9,
	    "computed_claims.X.properties.p.collector", "more than one");
}
END_TEST

START_TEST(test_load_percentile_errors)
{
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile }\n", 8,
	    "computed_claims.X.properties.p", "percentile(95)");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile(0) }\n", 8,
	    "computed_claims.X.properties.p", "(0, 100]");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile(100.5) }\n", 8,
	    "computed_claims.X.properties.p", "(0, 100]");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile(-5) }\n", 8,
	    "computed_claims.X.properties.p", "(0, 100]");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile(nan) }\n", 8,
	    "computed_claims.X.properties.p", "(0, 100]");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile(inf) }\n", 8,
	    "computed_claims.X.properties.p", "(0, 100]");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile(95 }\n", 8,
	    "computed_claims.X.properties.p.expression", "unknown expression");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: \"percentile()\" }\n", 8,
	    "computed_claims.X.properties.p.expression", "unknown expression");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile, "
	    "percentile: 0 }\n", 8, "computed_claims.X.properties.p", NULL);
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: max, percentile: 95 }\n", 8,
	    "computed_claims.X.properties.p.percentile", NULL);
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: percentile, "
	    "percentile: high }\n", 8,
	    "computed_claims.X.properties.p.percentile", NULL);
}
END_TEST

START_TEST(test_load_threshold_errors)
{
	/* A threshold on a property that is not a timespan. */
	cfg_fails(CC_HEAD("BuildCompleted",
	    "{ type: BuildCompleted, property: exitCode }")
	    "      p: { type: percentage, expression: "
	    "percentLessThanTimeSpan, threshold: 500s }\n", 8,
	    "computed_claims.X.properties.p.threshold", "exitCode");
	cfg_fails(CC_HEAD("BuildLifecycle",
	    "{ type: BuildLifecycle, property: completed }")
	    "      p: { type: percentage, expression: "
	    "percentGreaterThanTimeSpan, threshold: 1h }\n", 8,
	    "computed_claims.X.properties.p.threshold", "completed");
	/* A missing threshold. */
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: percentage, expression: "
	    "percentLessThanTimeSpan }\n", 8,
	    "computed_claims.X.properties.p.threshold", "missing");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p:\n"
	    "        type: percentage\n"
	    "        expression: percentGreaterThanTimeSpan\n", 8,
	    "computed_claims.X.properties.p.threshold", "missing");
	/* A threshold on an expression that takes none. */
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: timespan, expression: avg, threshold: 500s }\n",
	    8,
	    "computed_claims.X.properties.p.threshold", "only");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p:\n"
	    "        type: integer\n"
	    "        expression: count\n"
	    "        threshold: 500s\n", 11,
	    "computed_claims.X.properties.p.threshold", "only");
	/* A threshold that is not a timespan. */
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: percentage, expression: "
	    "percentLessThanTimeSpan,\n"
	    "           threshold: soon }\n", 9,
	    "computed_claims.X.properties.p.threshold", "timespan");
	cfg_fails(CC_HEAD("BuildCompleted", DURATIONS)
	    "      p: { type: percentage, expression: "
	    "percentLessThanTimeSpan, threshold: [500] }\n", 8,
	    "computed_claims.X.properties.p.threshold", "timespan");
}
END_TEST

START_TEST(test_load_claim_errors)
{
	/* An unknown id template variable. */
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    id: \"$Decade-$YYYY\"\n"
	    "    trigger: BuildCompleted\n"
	    "    collectors: { c: " DURATIONS " }\n"
	    "    properties: { n: { type: integer, expression: count } }\n",
	    3, "computed_claims.X.id", "$Decade");
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    trigger: BuildCompleted\n"
	    "    id: \"$MonthName-$yyyy\"\n"
	    "    collectors: { c: " DURATIONS " }\n"
	    "    properties: { n: { type: integer, expression: count } }\n",
	    4, "computed_claims.X.id", "$yyyy");
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    id: \"cost-$\"\n"
	    "    trigger: BuildCompleted\n"
	    "    collectors: { c: " DURATIONS " }\n"
	    "    properties: { n: { type: integer, expression: count } }\n",
	    3, "computed_claims.X.id", "variable $ (");
	/* An unknown trigger. */
	cfg_fails(CC_HEAD("BuildFinished", DURATIONS)
	    "      n: { type: integer, expression: count }\n", 4,
	    "computed_claims.X.trigger", "\"BuildFinished\"");
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    id: \"$YYYY\"\n"
	    "    collectors: { c: " DURATIONS " }\n"
	    "    properties: { n: { type: integer, expression: count } }\n",
	    2, "computed_claims.X.trigger", "missing");
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    id: \"$YYYY\"\n"
	    "    trigger: BuildCompleted\n"
	    "    collectors: {}\n"
	    "    properties: { n: { type: integer, expression: count } }\n",
	    5, "computed_claims.X.collectors", NULL);
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    id: \"$YYYY\"\n"
	    "    trigger: BuildCompleted\n"
	    "    collectors: { c: " DURATIONS " }\n", 2,
	    "computed_claims.X.properties", NULL);
	cfg_fails("computed_claims:\n"
	    "  BuildCompleted:\n"
	    "    id: \"$YYYY\"\n"
	    "    trigger: BuildCompleted\n"
	    "    collectors: { c: " DURATIONS " }\n"
	    "    properties: { n: { type: integer, expression: count } }\n",
	    2, "computed_claims.BuildCompleted", "already");
	cfg_fails("computed_claims:\n"
	    "  X:\n"
	    "    id: \"$YYYY\"\n"
	    "    trigger: BuildCompleted\n"
	    "    schedule: hourly\n"
	    "    collectors: { c: " DURATIONS " }\n"
	    "    properties: { n: { type: integer, expression: count } }\n",
	    5, "computed_claims.X.schedule", "unknown key");
}
END_TEST

#define CL_HEAD \
	"evidence_types:\n"				/* 1 */ \
	"  DeployStarted:\n"				/* 2 */ \
	"    properties:\n"				/* 3 */ \
	"      env: { type: enum, options: [prod, staging] }\n" /* 4 */ \
	"      ok: { type: boolean }\n"			/* 5 */ \
	"claim_types:\n"				/* 6 */ \
	"  Deploy:\n"					/* 7 */ \
	"    properties:\n"				/* 8 */ \
	"      healthy: { type: boolean, required: true }\n" /* 9 */ \
	"      env: { type: enum, options: [prod, staging] }\n" /* 10 */

START_TEST(test_load_claim_type_errors)
{
	const struct claimdef	*cd;

	ck_assert_msg(cfg_load(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { healthy: false, "
	    "env: $env } }\n"
	    "    revised_by:\n"
	    "      - { evidence: BuildCompleted, set: { healthy: true } }\n"
	    "      - { evidence: DeployStarted, set: { healthy: $ok } }\n")
	    != NULL, "%s", err);
	ck_assert_ptr_nonnull(cd = claims_find(ru, "Deploy"));
	ck_assert_uint_eq(cd->nrevised, 2);
	ck_assert_str_eq(cd->revised[1].set[0].from, "ok");
	/* The built-in claim type is still there. */
	ck_assert_ptr_nonnull(claims_find(ru, "BuildLifecycle"));

	/* created_by an unknown evidence type. */
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployBegun, set: { healthy: false } "
	    "}\n", 11, "claim_types.Deploy.created_by.evidence",
	    "\"DeployBegun\"");
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { healthy: "
	    "false } }\n"
	    "    revised_by:\n"
	    "      - { evidence: DeployStarted, set: { healthy: true } }\n"
	    "      - { evidence: DeployFailed, set: { healthy: false } }\n",
	    14, "claim_types.Deploy.revised_by[1].evidence", "DeployFailed");
	/* set: "$x" where the evidence has no x. */
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { healthy: $x } "
	    "}\n", 11, "claim_types.Deploy.created_by.set.healthy", "\"$x\"");
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { healthy: false "
	    "} }\n"
	    "    revised_by:\n"
	    "      - evidence: BuildCompleted\n"
	    "        set:\n"
	    "          healthy: true\n"
	    "          env: $environment\n", 16,
	    "claim_types.Deploy.revised_by[0].set.env", "$environment");
	/* ... or has it with another type. */
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { healthy: $env } "
	    "}\n", 11, "claim_types.Deploy.created_by.set.healthy", "enum");
	/* A property the claim does not have. */
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { healthy: false, "
	    "colour: red } }\n", 11,
	    "claim_types.Deploy.created_by.set.colour", "no such property");
	/* A constant that breaks the property's type. */
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { healthy: false, "
	    "env: dev } }\n", 11, "claim_types.Deploy.created_by.set.env",
	    NULL);
	/* A required property not set on creation. */
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { env: $env } }\n",
	    11, "claim_types.Deploy.created_by", "healthy");
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted }\n"
	    "    revised_by:\n"
	    "      - { evidence: DeployStarted, set: { healthy: true } }\n",
	    11, "claim_types.Deploy.created_by", "required property healthy");
	cfg_fails(CL_HEAD
	    "    revised_by:\n"
	    "      - { evidence: DeployStarted, set: { healthy: true } }\n",
	    7, "claim_types.Deploy.created_by", "created_by");
	cfg_fails(CL_HEAD
	    "    created_by: { evidence: DeployStarted, set: { healthy: true } "
	    "}\n"
	    "    owner: ops\n", 12, "claim_types.Deploy.owner", "unknown key");
	/* A claim type named like an evidence type. */
	cfg_fails("claim_types:\n"
	    "  BuildCompleted:\n"
	    "    created_by: { evidence: BuildStartedEvent }\n", 2,
	    "claim_types.BuildCompleted", "evidence type");
}
END_TEST

/* Errors found through config_load name the real file. */
START_TEST(test_load_file_errors)
{
	FILE	*f;
	char	 where[160];

	ck_assert_ptr_nonnull(f = fopen(cfgpath, "w"));
	fputs("listen: \"127.0.0.1:9100\"\n"
	    CC_HEAD("BuildCompleted", DURATIONS)
	    "      metSLA: { type: percentage, expression: "
	    "percentLessThanTimeSpan }\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_null(config_load(cfgpath, err, sizeof(err)));
	snprintf(where, sizeof(where), "%s:9: "
	    "computed_claims.X.properties.metSLA.threshold: ", cfgpath);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "%s", err);

	/* Claim types load before computed claims, wherever they are. */
	ck_assert_ptr_nonnull(f = fopen(cfgpath, "w"));
	fputs("computed_claims:\n"
	    "  Deploys:\n"
	    "    id: \"$YYYY-$Quarter\"\n"
	    "    trigger: Deploy\n"
	    "    collectors: { c: { type: Deploy, property: healthy } }\n"
	    "    properties: { n: { type: integer, expression: trueCount } }\n"
	    "claim_types:\n"
	    "  Deploy:\n"
	    "    properties: { healthy: { type: boolean } }\n"
	    "    created_by: { evidence: Deployed, set: { healthy: true } }\n"
	    "evidence_types:\n"
	    "  Deployed: { properties: { env: { type: text } } }\n", f);
	ck_assert_int_eq(fclose(f), 0);
	{
		struct config	*cf;

		cf = config_load(cfgpath, err, sizeof(err));
		ck_assert_msg(cf != NULL, "%s", err);
		ck_assert_uint_eq(cf->rules->ncc, 1);
		ck_assert_int_eq(cf->rules->cc[0].trigger_is_claim, 1);
		config_free(cf);
	}

	ck_assert_ptr_nonnull(f = fopen(cfgpath, "w"));
	fputs("claim_types:\n"
	    "  Deploy:\n"
	    "    properties: { healthy: { type: boolean } }\n"
	    "    created_by: { evidence: Deployed, set: { healthy: true } }\n",
	    f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_null(config_load(cfgpath, err, sizeof(err)));
	snprintf(where, sizeof(where), "%s:4: "
	    "claim_types.Deploy.created_by.evidence: ", cfgpath);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "%s", err);
}
END_TEST

Suite *
make_computed_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("computed");

	tc = tcase_create("eval");
	tcase_add_test(tc, test_eval_count);
	tcase_add_test(tc, test_eval_true_false_count);
	tcase_add_test(tc, test_eval_percent_true);
	tcase_add_test(tc, test_eval_sum_avg_min_max);
	tcase_add_test(tc, test_eval_integer_rounding);
	tcase_add_test(tc, test_eval_rounding_for_people);
	tcase_add_test(tc, test_eval_percentile);
	tcase_add_test(tc, test_eval_percent_timespan);
	tcase_add_test(tc, test_expr_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("period");
	tcase_add_test(tc, test_period_month);
	tcase_add_test(tc, test_period_previous_month);
	tcase_add_test(tc, test_period_week);
	tcase_add_test(tc, test_period_quarter);
	tcase_add_test(tc, test_period_rolling);
	tcase_add_test(tc, test_period_all);
	tcase_add_test(tc, test_bucket_boundaries);
	tcase_add_test(tc, test_bucket_sweep);
	suite_add_tcase(s, tc);

	tc = tcase_create("template");
	tcase_add_test(tc, test_expand_id);
	tcase_add_test(tc, test_expand_id_errors);
	tcase_add_test(tc, test_template_ok);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, cfg_setup, cfg_teardown);
	tcase_add_test(tc, test_load_doc002);
	tcase_add_test(tc, test_load_expressions);
	tcase_add_test(tc, test_load_collector_errors);
	tcase_add_test(tc, test_load_expression_errors);
	tcase_add_test(tc, test_load_percentile_errors);
	tcase_add_test(tc, test_load_threshold_errors);
	tcase_add_test(tc, test_load_claim_errors);
	tcase_add_test(tc, test_load_claim_type_errors);
	tcase_add_test(tc, test_load_file_errors);
	suite_add_tcase(s, tc);

	return (s);
}
