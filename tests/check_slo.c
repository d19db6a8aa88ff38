/*
 * check_slo.c: SLOs (derive/slo-conf.c, derive/burn.c, derive/slo.c,
 * config/config-slos.c).  The burn arithmetic is pure, so every figure is
 * worked out by hand in the comments and checked against the code; the
 * claim path runs against a real SQLite ledger the way the writer does.
 *
 * Common ground: a 99.9% SLO has an error budget of 0.1% = 0.001, so a
 * burn rate of B is an error ratio of B * 0.001.  Feeding N = 10000
 * events a minute with `bad` of them bad gives an error ratio of
 * bad / 10000 over any window filled with such minutes, i.e. a burn rate
 * of bad / 10 (144 bad: 14.4x).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milepost.h"
#include "check_milepost.h"

#define T0	1751328000LL		/* 2025-07-01T00:00:00Z, a Tuesday */
#define MIN	60LL
#define HOUR	3600LL
#define DAY	86400LL
#define N	10000.0

static struct types	*types;
static struct rules	*rules;
static char		 err[MP_ERRLEN];

static void
slo_setup(void)
{
	types = types_new();
	rules = rules_new(types);
	err[0] = '\0';
}

static void
slo_teardown(void)
{
	rules_free(rules);
	types_free(types);
}

/* Load a slos: section (YAML) into rules; 0 or -1 with err. */
static int
load(const char *yaml)
{
	json_object	*tree, *v = NULL;
	int		 rc;

	tree = yaml_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	ck_assert_ptr_nonnull(tree);
	json_object_object_get_ex(tree, "slos", &v);
	slo_conf_free(rules);
	rc = slo_conf_load(rules, v, "t.yaml", err, sizeof(err));
	json_object_put(tree);
	return (rc);
}

static const struct slo_def *
one(const char *yaml)
{
	if (load(yaml) == -1)
		ck_abort_msg("load: %s", err);
	ck_assert_uint_eq(rules->slos->nslo, 1);
	return (&rules->slos->slo[0]);
}

#define SLO30 \
	"slos:\n  s:\n    service: checkout\n    environment: production\n" \
	"    objective: 99.9\n    window: 30d\n" \
	"    indicator: { reported: {} }\n"

/* Feed `minutes` minutes of N events from minute `from`, `bad` bad. */
static void
feed(struct burn *b, int64_t from, int64_t minutes, double bad)
{
	int64_t	m;

	for (m = from; m < from + minutes; m++)
		ck_assert_int_eq(burn_add(b, T0 + m * MIN, N - bad, N), 0);
}

/* Is alerting rule i firing, by the claim's own properties? */
static int
firing(const struct slo_def *d, const struct burn *b, size_t i)
{
	json_object	*p, *a, *f;
	int		 r;

	slo_evaluate(d, b, &p);
	ck_assert(json_object_object_get_ex(p, "alerts", &a));
	f = json_object_array_get_idx(a, i);
	ck_assert(json_object_object_get_ex(f, "firing", &f));
	r = json_object_get_boolean(f);
	json_object_put(p);
	return (r);
}

/*
 * The default table for 30 days is the workbook's, unscaled: 1h/5m
 * 14.4x, 6h/30m 6x (page); 1d/2h 3x, 3d/6h 1x (ticket).
 */
START_TEST(test_table_30d)
{
	const struct slo_def	*d = one(SLO30);

	ck_assert_uint_eq(d->nalerts, 4);
	ck_assert(d->alerts_default);
	ck_assert(d->alerts[0].page && d->alerts[1].page);
	ck_assert(!d->alerts[2].page && !d->alerts[3].page);
	ck_assert_int_eq(d->alerts[0].long_win, HOUR);
	ck_assert_int_eq(d->alerts[0].short_win, 5 * MIN);
	ck_assert_double_eq(d->alerts[0].factor, 14.4);
	ck_assert_int_eq(d->alerts[1].long_win, 6 * HOUR);
	ck_assert_int_eq(d->alerts[1].short_win, 30 * MIN);
	ck_assert_double_eq(d->alerts[1].factor, 6);
	ck_assert_int_eq(d->alerts[2].long_win, DAY);
	ck_assert_int_eq(d->alerts[2].short_win, 2 * HOUR);
	ck_assert_double_eq(d->alerts[2].factor, 3);
	ck_assert_int_eq(d->alerts[3].long_win, 3 * DAY);
	ck_assert_int_eq(d->alerts[3].short_win, 6 * HOUR);
	ck_assert_double_eq(d->alerts[3].factor, 1);
}
END_TEST

/*
 * Scaled as Pyrra does: each window times window / 30d, rounded to the
 * minute; the factors stay.  For 28d (scale 28/30 = 0.9333):
 *	1h  = 60 min * 0.9333 = 56 min		5m  = 4.67 -> 5 min
 *	6h  = 360 * 0.9333 = 336 min (5h36m)	30m = 28 min
 *	1d  = 1440 * 0.9333 = 1344 min		2h  = 112 min
 *	3d  = 4320 * 0.9333 = 4032 min		6h  = 336 min
 * For 7d (scale 0.2333): 1h -> 14 min, 5m -> 1.17 -> 1 min.
 */
START_TEST(test_table_scaled)
{
	const struct slo_def	*d;

	d = one("slos:\n  s: { service: a, environment: b, objective: 99, "
	    "window: 28d, indicator: { reported: {} } }\n");
	ck_assert_int_eq(d->alerts[0].long_win, 56 * MIN);
	ck_assert_int_eq(d->alerts[0].short_win, 5 * MIN);
	ck_assert_int_eq(d->alerts[1].long_win, 336 * MIN);
	ck_assert_int_eq(d->alerts[1].short_win, 28 * MIN);
	ck_assert_int_eq(d->alerts[2].long_win, 1344 * MIN);
	ck_assert_int_eq(d->alerts[2].short_win, 112 * MIN);
	ck_assert_int_eq(d->alerts[3].long_win, 4032 * MIN);
	ck_assert_int_eq(d->alerts[3].short_win, 336 * MIN);
	ck_assert_double_eq(d->alerts[0].factor, 14.4);
	d = one("slos:\n  s: { service: a, environment: b, objective: 99, "
	    "window: 7d, indicator: { reported: {} } }\n");
	ck_assert_int_eq(d->alerts[0].long_win, 14 * MIN);
	ck_assert_int_eq(d->alerts[0].short_win, 1 * MIN);
	/* A per-SLO override replaces the table. */
	d = one("slos:\n  s: { service: a, environment: b, objective: 99, "
	    "indicator: { reported: {} }, alerting: [ { severity: page, "
	    "long: 2h, short: 10m, burn_rate: 10 } ] }\n");
	ck_assert_uint_eq(d->nalerts, 1);
	ck_assert(!d->alerts_default);
	ck_assert_int_eq(d->alerts[0].long_win, 2 * HOUR);
	ck_assert_int_eq(d->alerts[0].short_win, 10 * MIN);
	ck_assert_double_eq(d->alerts[0].factor, 10);
}
END_TEST

/*
 * One row of the table, three ways, on a 99.9% / 30d SLO, each on a
 * fresh burn, fed minute by minute for exactly the long window L:
 *   sustained: bad = 10 * factor per 10000 -> burn = factor over both
 *              windows: fires;
 *   below:     bad = 10 * low -> burn = low < factor: does not fire;
 *   long only: bad = hot for the first L - S minutes, then 0 for the
 *              last S: the long burn is hot * (L - S) / L >= factor,
 *              the short burn 0: does not fire.
 */
static void
row(size_t i, double bad, double low, double hot, double long_burn)
{
	const struct slo_def	*d = one(SLO30);
	struct burn		*b;
	int64_t			 L = d->alerts[i].long_win / MIN;
	int64_t			 S = d->alerts[i].short_win / MIN;

	b = slo_burn_new(d);
	feed(b, 0, L, bad);
	ck_assert_double_eq_tol(burn_rate(b, 4 + 2 * i, 99.9), bad / 10, 1e-6);
	ck_assert_double_eq_tol(burn_rate(b, 5 + 2 * i, 99.9), bad / 10, 1e-6);
	ck_assert_msg(firing(d, b, i), "row %zu: %.1fx sustained fires", i,
	    bad / 10);
	burn_free(b);

	b = slo_burn_new(d);
	feed(b, 0, L, low);
	ck_assert_msg(!firing(d, b, i), "row %zu: %.1fx does not fire", i,
	    low / 10);
	burn_free(b);

	b = slo_burn_new(d);
	feed(b, 0, L - S, hot);
	feed(b, L - S, S, 0);
	ck_assert_double_eq_tol(burn_rate(b, 4 + 2 * i, 99.9), long_burn, 1e-6);
	ck_assert_double_eq_tol(burn_rate(b, 5 + 2 * i, 99.9), 0, 1e-12);
	ck_assert_msg(!firing(d, b, i), "row %zu: long window only does not "
	    "fire", i);
	burn_free(b);
}

/*
 * Row 1, page, 1h/5m, 14.4x: 144 bad a minute is 1.44% = 14.4x: fires;
 * 130 bad is 13x: does not.  Long only: 158 bad for 55 minutes, then 5
 * calm: long = 55 * 158 / (60 * 10000) = 8690 / 600000 = 0.014483, i.e.
 * 14.483x >= 14.4; short = 0: does not fire.
 */
START_TEST(test_row_page_1h)
{
	row(0, 144, 130, 158, 14.4833333333);
}
END_TEST

/*
 * Row 2, page, 6h/30m, 6x: 60 bad a minute = 6x fires, 55 (5.5x) does
 * not.  Long only: 66 bad for 330 minutes, 30 calm: 330 * 66 / (360 *
 * 10000) = 21780 / 3600000 = 0.00605 = 6.05x; short 0: does not fire.
 */
START_TEST(test_row_page_6h)
{
	row(1, 60, 55, 66, 6.05);
}
END_TEST

/*
 * Row 3, ticket, 1d/2h, 3x: 30 bad = 3x fires, 27 (2.7x) does not.
 * Long only: 33 bad for 1320 minutes, 120 calm: 1320 * 33 / (1440 *
 * 10000) = 43560 / 14400000 = 0.003025 = 3.025x; short 0.
 */
START_TEST(test_row_ticket_1d)
{
	row(2, 30, 27, 33, 3.025);
}
END_TEST

/*
 * Row 4, ticket, 3d/6h, 1x: 10 bad = 1x fires, 9 (0.9x) does not.  Long
 * only: 11 bad for 3960 minutes, 360 calm: 3960 * 11 / (4320 * 10000) =
 * 43560 / 43200000 = 0.00100833 = 1.00833x; short 0.
 */
START_TEST(test_row_ticket_3d)
{
	row(3, 10, 9, 11, 1.0083333333);
}
END_TEST

/*
 * The state.  144 bad a minute for an hour, alone: the 30-day window
 * holds only that hour, 8640 bad of 600000 = 0.0144 = 14.4x the budget:
 * budget left 1 - 14.4 < 0, the state is exhausted (before page).
 */
START_TEST(test_state)
{
	const struct slo_def	*d = one(SLO30);
	struct burn		*b;
	json_object		*p, *v;

	b = slo_burn_new(d);
	feed(b, 0, 60, 144);
	ck_assert_int_eq(slo_evaluate(d, b, NULL), SLO_EXHAUSTED);
	burn_free(b);
	/*
	 * 29 days of calm (41760 minutes of 10000 good), then the hour:
	 * window total = (41760 + 60) * 10000 = 418200000, bad 8640:
	 * error ratio 2.066e-5 = 0.02066x: budget left 97.93%; the page
	 * still fires (1h and 5m at 14.4x).
	 */
	b = slo_burn_new(d);
	feed(b, 0, 41760, 0);
	feed(b, 41760, 60, 144);
	ck_assert_int_eq(slo_evaluate(d, b, &p), SLO_PAGE);
	ck_assert(json_object_object_get_ex(p, "budget_remaining", &v));
	ck_assert_double_eq_tol(json_object_get_double(v), 97.93, 0.005);
	ck_assert(json_object_object_get_ex(p, "class", &v));
	ck_assert_str_eq(json_object_get_string(v), "page");
	json_object_put(p);
	/*
	 * Two calm hours later (head at minute 41939) the page has stopped:
	 * 1h, 5m and 30m are calm; 6h (minutes 41580..41939: 180 calm, the
	 * hot 60, 120 calm) has 8640 bad of 3600000 = 2.4x < 6; 2h is calm;
	 * 3d: 8640 / 43200000 = 0.2x < 1.
	 */
	feed(b, 41820, 120, 0);
	ck_assert_int_eq(slo_evaluate(d, b, NULL), SLO_OK);
	burn_free(b);
}
END_TEST

/*
 * The budget at the window's edge, 99% over a rolling 1d window (budget
 * 1%): at T0, 1000 events, 10 bad: error 1% = the whole budget, left 0.
 * 1000 good at T0 + 12h: 10 / 2000 = 0.5%: left 50%.  At T0 + 1d - 1m
 * the T0 minute is still in the window (its 1440 buckets end at the
 * current one): 50%.  At T0 + 1d it has left: 0 / 1000: left 100%.
 */
START_TEST(test_window_edge)
{
	const struct slo_def	*d;
	struct burn		*b;

	d = one("slos:\n  s: { service: a, environment: b, objective: 99, "
	    "window: 1d, indicator: { reported: {} } }\n");
	b = slo_burn_new(d);
	burn_add(b, T0, 990, 1000);
	ck_assert_double_eq_tol(burn_budget_left(b, 0, 99), 0, 1e-9);
	burn_add(b, T0 + 12 * HOUR, 1000, 1000);
	ck_assert_double_eq_tol(burn_budget_left(b, 0, 99), 0.5, 1e-9);
	burn_advance(b, T0 + DAY - MIN);
	ck_assert_double_eq_tol(burn_budget_left(b, 0, 99), 0.5, 1e-9);
	burn_advance(b, T0 + DAY);
	ck_assert_double_eq_tol(burn_budget_left(b, 0, 99), 1, 1e-9);
	/* An event older than the ring changes nothing. */
	ck_assert_int_eq(burn_add(b, T0 - 40 * DAY, 0, 1000), -1);
	ck_assert_double_eq_tol(burn_budget_left(b, 0, 99), 1, 1e-9);
	burn_free(b);
}
END_TEST

/*
 * Calendar against rolling, 99.9%: on 2025-06-30 12:00, 1000 events, 1
 * bad: 0.1%, left 0 in both.  On 2025-07-01 00:00, 1000 good: the
 * calendar month began again: 0 / 1000, left 100%; the rolling 30 days
 * still hold June 30: 1 / 2000 = 0.05%, left 50%.
 */
START_TEST(test_calendar_vs_rolling)
{
	const struct slo_def	*d;
	struct burn		*cal, *roll;

	d = one("slos:\n  s: { service: a, environment: b, objective: 99.9, "
	    "window: { calendar: month }, indicator: { reported: {} } }\n");
	ck_assert_int_eq(d->calendar, BURN_MONTH);
	cal = slo_burn_new(d);
	d = one(SLO30);
	roll = slo_burn_new(d);
	burn_add(cal, T0 - 12 * HOUR, 999, 1000);
	burn_add(roll, T0 - 12 * HOUR, 999, 1000);
	ck_assert_double_eq_tol(burn_budget_left(cal, 0, 99.9), 0, 1e-9);
	ck_assert_double_eq_tol(burn_budget_left(roll, 0, 99.9), 0, 1e-9);
	burn_add(cal, T0, 1000, 1000);
	burn_add(roll, T0, 1000, 1000);
	ck_assert_double_eq_tol(burn_budget_left(cal, 0, 99.9), 1, 1e-9);
	ck_assert_double_eq_tol(burn_budget_left(roll, 0, 99.9), 0.5, 1e-9);
	/* The 7-day aggregate (window 1) holds both days as well. */
	ck_assert_double_eq_tol(burn_error_ratio(roll, 1), 0.0005, 1e-12);
	ck_assert_int_eq(burn_period_start(BURN_MONTH, T0 + 5 * DAY), T0);
	/* 2025-07-01 is a Tuesday: its ISO week began Monday June 30. */
	ck_assert_int_eq(burn_period_start(BURN_WEEK, T0 + HOUR), T0 - DAY);
	burn_free(cal);
	burn_free(roll);
}
END_TEST

/*
 * Time slices, 99% with 1-minute slices (a slice is good when 99% of its
 * events are): minute 0 has 100 events, 2 bad (98%: a bad slice);
 * minutes 1..9 have 100 good each.  By slices: 1 bad of 10 = 10% error,
 * burn 0.1 / 0.01 = 10x.  The same events by occurrences: 2 / 1000 =
 * 0.2% error, burn 0.2x.
 */
START_TEST(test_timeslices)
{
	const struct slo_def	*d;
	struct burn		*ts, *oc;
	int64_t			 m;

	d = one("slos:\n  s: { service: a, environment: b, objective: 99, "
	    "budgeting: timeslices, slice: 1m, indicator: { reported: {} } "
	    "}\n");
	ck_assert(d->timeslices);
	ck_assert_double_eq_tol(d->slice_target, 0.99, 1e-12);
	ts = slo_burn_new(d);
	d = one("slos:\n  s: { service: a, environment: b, objective: 99, "
	    "indicator: { reported: {} } }\n");
	oc = slo_burn_new(d);
	burn_add(ts, T0, 98, 100);
	burn_add(oc, T0, 98, 100);
	for (m = 1; m < 10; m++) {
		burn_add(ts, T0 + m * MIN, 100, 100);
		burn_add(oc, T0 + m * MIN, 100, 100);
	}
	ck_assert_double_eq_tol(burn_rate(ts, 0, 99), 10, 1e-9);
	ck_assert_double_eq_tol(burn_rate(oc, 0, 99), 0.2, 1e-9);
	burn_free(ts);
	burn_free(oc);
}
END_TEST

/*
 * Slices from alerts (every slice time enters counts): an alert opens at
 * T0 + 30s (slice 0), resolves at T0 + 4m10s (slice 4): slices 0..4 are
 * bad; at T0 + 9m slices 5..9 are good: 5 bad of 10.  A late resolve
 * marks the slices after it good again.
 */
START_TEST(test_alert_slices)
{
	const struct slo_def	*d;
	struct burn		*b;
	double			 g, t;

	d = one("slos:\n  s: { service: a, environment: b, objective: 99, "
	    "indicator: { alerts: { labels: { severity: page } } } }\n");
	ck_assert_int_eq(d->kind, SLO_ALERTS);
	ck_assert(d->timeslices);
	b = slo_burn_new(d);
	burn_advance(b, T0);
	burn_alert_open(b, T0 + 30);
	burn_alert_close(b, T0 + 4 * MIN + 10);
	burn_advance(b, T0 + 9 * MIN);
	burn_sums(b, 0, &g, &t);
	ck_assert_double_eq(t, 10);
	ck_assert_double_eq(g, 5);
	/* Open again at 9m, time runs to 19m, the resolve says 14m30s. */
	burn_alert_open(b, T0 + 9 * MIN);
	burn_advance(b, T0 + 19 * MIN);
	burn_sums(b, 0, &g, &t);
	ck_assert_double_eq(t, 20);
	ck_assert_double_eq(g, 4);	/* 0..4 and 9..19 bad: 5..8 good */
	burn_alert_close(b, T0 + 14 * MIN + 30);
	burn_sums(b, 0, &g, &t);
	ck_assert_double_eq(g, 9);	/* and 15..19 good again */
	burn_free(b);
}
END_TEST

/*
 * The running sums are the sums: 3000 events at pseudo-random times over
 * 3 days (some late, up to 2 hours back), with time moving on between
 * them, against a recount of the kept events by window, for the 1h, 6h
 * and 1d windows and the 28-day aggregate.  A recount is what the
 * buckets avoid; here it checks them.
 */
START_TEST(test_incremental)
{
	const struct slo_def	*d = one(SLO30);
	struct burn		*b;
	static int64_t		 et[3000];
	static double		 eg[3000], etot[3000];
	static const size_t	 win[] = { 3, 4, 6, 8 };	/* 28d 1h 6h 1d */
	uint64_t		 x = 88172645463325252ULL;
	int64_t			 now = T0, span, k;
	double			 g, t, rg, rt;
	size_t			 i, j, w, n = 0;

	b = slo_burn_new(d);
	for (i = 0; i < 3000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		now += (int64_t)(x % 120);		/* up to 2 minutes on */
		et[n] = now - (int64_t)((x >> 20) % 7200);	/* late */
		etot[n] = (double)(1 + (x >> 40) % 5);
		eg[n] = etot[n] - (double)((x >> 50) % 2);
		burn_add(b, et[n], eg[n], etot[n]);
		if (et[n] / MIN > b->head)
			ck_abort_msg("time went back");
		n++;
		if (i % 97 != 0)
			continue;
		for (j = 0; j < sizeof(win) / sizeof(win[0]); j++) {
			w = win[j];
			span = b->w[w].span;
			rg = rt = 0;
			for (k = 0; k < (int64_t)n; k++)
				if (et[k] / MIN > b->head - span &&
				    et[k] / MIN <= b->head) {
					rg += eg[k];
					rt += etot[k];
				}
			burn_sums(b, w, &g, &t);
			ck_assert_msg(fabs(g - rg) < 1e-6 && fabs(t - rt) < 1e-6,
			    "window %zu after %zu events: sums %g/%g, recount "
			    "%g/%g", w, n, g, t, rg, rt);
		}
	}
	burn_free(b);
}
END_TEST

/* Every value is checked, with the nearest valid name. */
START_TEST(test_conf_errors)
{
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objectiv: 99, indicator: { reported: {} } }\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "did you mean objective?"));
	ck_assert_ptr_nonnull(strstr(err, "slos.s.objectiv"));
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objective: 100, indicator: { reported: {} } }\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "slos.s.objective"));
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objective: 99, budgeting: timeslice, indicator: { reported: {} "
	    "} }\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "did you mean timeslices?"));
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objective: 99, indicator: { ratio: { good: { type: "
	    "BuildCompletd }, total: { type: BuildCompleted } } } }\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "did you mean BuildCompleted?"));
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objective: 99, indicator: { ratio: { good: { type: "
	    "BuildCompleted, properties: { duraton: { lt: 500s } } }, total: "
	    "{ type: BuildCompleted } } } }\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "did you mean duration?"));
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objective: 99, indicator: { alert: {} } }\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "did you mean alerts?"));
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objective: 99, budgeting: occurrences, indicator: { alerts: { "
	    "labels: {} } } }\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "timeslices"));
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objective: 99, window: 400d, indicator: { reported: {} } }\n"),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "slos.s.window"));
	ck_assert_int_eq(load("slos:\n  s: { service: a, environment: b, "
	    "objective: 99, indicator: { reported: {} }, alerting: [ { "
	    "severity: pager, long: 1h, short: 5m, burn_rate: 2 } ] }\n"), -1);
	ck_assert_ptr_nonnull(strstr(err, "did you mean page?"));
}
END_TEST

/* Ratio filters: type, property equality and comparisons, links. */
START_TEST(test_filters)
{
	const struct slo_def	*d;
	json_object		*p, *l;

	d = one("slos:\n  s: { service: a, environment: b, objective: 99, "
	    "indicator: { ratio: { good: { type: BuildCompleted, properties: "
	    "{ duration: { lt: 500s }, buildStatus: success } }, total: { "
	    "type: BuildCompleted, links: { repo: [acme/shop, acme/pay] } } } "
	    "} }\n");
	p = json_tokener_parse("{\"duration\":420,\"buildStatus\":"
	    "\"success\"}");
	l = json_tokener_parse("{\"repo\":\"acme/shop\"}");
	ck_assert(slo_filter_match(&d->good, "BuildCompleted", p, l));
	ck_assert(slo_filter_match(&d->total, "BuildCompleted", p, l));
	ck_assert(!slo_filter_match(&d->good, "BuildStartedEvent", p, l));
	json_object_put(p);
	p = json_tokener_parse("{\"duration\":500,\"buildStatus\":"
	    "\"success\"}");
	ck_assert(!slo_filter_match(&d->good, "BuildCompleted", p, l));
	json_object_put(l);
	l = json_tokener_parse("{\"repo\":\"acme/web\"}");
	ck_assert(!slo_filter_match(&d->total, "BuildCompleted", p, l));
	json_object_put(p);
	json_object_put(l);
}
END_TEST

Suite *
make_slo_suite(void)
{
	Suite	*s = suite_create("slo");
	TCase	*tc = tcase_create("burn");

	tcase_add_checked_fixture(tc, slo_setup, slo_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_table_30d);
	tcase_add_test(tc, test_table_scaled);
	tcase_add_test(tc, test_row_page_1h);
	tcase_add_test(tc, test_row_page_6h);
	tcase_add_test(tc, test_row_ticket_1d);
	tcase_add_test(tc, test_row_ticket_3d);
	tcase_add_test(tc, test_state);
	tcase_add_test(tc, test_window_edge);
	tcase_add_test(tc, test_calendar_vs_rolling);
	tcase_add_test(tc, test_timeslices);
	tcase_add_test(tc, test_alert_slices);
	tcase_add_test(tc, test_incremental);
	tcase_add_test(tc, test_conf_errors);
	tcase_add_test(tc, test_filters);
	suite_add_tcase(s, tc);
	return (s);
}
