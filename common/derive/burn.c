/*
 * burn.c: error-budget arithmetic, pure (no storage, no clock).
 *
 * Events (or time slices) land in buckets of `slice` seconds, a minute
 * for occurrences.  The buckets are a ring of nb entries that covers the
 * longest window asked for, and every window keeps running sums of good
 * and total over its last `span` buckets (or since the calendar period
 * began).  An event adds to its bucket and to the sums of the windows it
 * is in; time passing moves `head` one bucket at a time, taking the
 * bucket that leaves each window out of its sums.  So an event costs
 * O(windows) and a minute passing O(windows), whatever the window's
 * length: a 28-day window is never rescanned.
 *
 * Budgeting by time slices counts a bucket as one slice, good when its
 * good fraction reaches slice_target.  "Clocked" burns (indicators made
 * of alerts) count every slice that time enters, bad while an alert is
 * open.
 *
 * The SRE workbook's formulas (chapter 5, "Alerting on SLOs"):
 *	error ratio = 1 - good / total
 *	burn rate   = error ratio / (1 - objective)
 *	budget left = 1 - burn rate over the SLO's window
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "derive/derive.h"

#define BURN_DAY	86400LL

static size_t
burn_pos(const struct burn *b, int64_t k)
{
	int64_t	m = k % (int64_t)b->nb;

	return ((size_t)(m < 0 ? m + (int64_t)b->nb : m));
}

/* A bucket's contribution to the sums: raw counts, or one slice. */
static void
burn_value(const struct burn *b, double g, double t, double *vg, double *vt)
{
	if (!b->timeslices) {
		*vg = g;
		*vt = t;
		return;
	}
	if (t <= 0) {
		*vg = *vt = 0;
		return;
	}
	*vt = 1;
	*vg = g >= b->slice_target * t - 1e-9 ? 1 : 0;
}

static int
burn_in(const struct burn *b, const struct burn_win *w, int64_t k)
{
	if (k > b->head)
		return (0);
	if (w->span == 0)
		return (k >= b->cal_start);
	return (k > b->head - w->span);
}

/* Set bucket k's raw counts to g, t; move the sums of its windows. */
static void
burn_put(struct burn *b, int64_t k, double g, double t)
{
	size_t	p = burn_pos(b, k), i;
	double	og, ot, ng, nt;

	burn_value(b, b->good[p], b->total[p], &og, &ot);
	b->good[p] = g;
	b->total[p] = t;
	burn_value(b, g, t, &ng, &nt);
	if (ng == og && nt == ot)
		return;
	for (i = 0; i < b->nw; i++) {
		if (!burn_in(b, &b->w[i], k))
			continue;
		b->w[i].good += ng - og;
		b->w[i].total += nt - ot;
		if (b->w[i].good < 0)
			b->w[i].good = 0;
		if (b->w[i].total < 0)
			b->w[i].total = 0;
	}
}

/*
 * The start (seconds) of the calendar period holding t: the first of its
 * month, or the Monday of its ISO week, at 00:00 UTC.
 */
int64_t
burn_period_start(int calendar, int64_t t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;
	int64_t		days, wd;

	if (calendar == BURN_MONTH) {
		gmtime_r(&tt, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		return ((int64_t)timegm(&tm));
	}
	days = t >= 0 ? t / BURN_DAY : -((-t + BURN_DAY - 1) / BURN_DAY);
	wd = ((days + 3) % 7 + 7) % 7;		/* 1970-01-01 was a Thursday */
	return ((days - wd) * BURN_DAY);
}

/*
 * A burn over buckets of slice seconds.  spans are the windows in
 * seconds (0: the calendar period of kind calendar), kept in that order:
 * burn_sums(b, i) is spans[i]'s.  timeslices counts slices that reach
 * slice_target (a fraction) as good; clocked makes every slice time
 * enters count (alerts).  Free with burn_free.
 */
struct burn *
burn_new(int64_t slice, int timeslices, double slice_target, int clocked,
    int calendar, const int64_t *spans, size_t nspans)
{
	struct burn	*b;
	int64_t		 maxspan = 1;
	size_t		 i;

	b = xcalloc(1, sizeof(*b));
	b->slice = slice > 0 ? slice : 60;
	b->timeslices = timeslices || clocked;
	b->slice_target = clocked ? 1 : slice_target;
	b->clocked = clocked;
	b->calendar = calendar;
	b->head = INT64_MIN;
	b->cal_start = INT64_MIN;
	b->nw = nspans;
	b->w = xcalloc(nspans ? nspans : 1, sizeof(*b->w));
	for (i = 0; i < nspans; i++) {
		if (spans[i] == 0)
			b->w[i].span = 0;
		else
			b->w[i].span = (spans[i] + b->slice - 1) / b->slice;
		if (b->w[i].span > maxspan)
			maxspan = b->w[i].span;
		if (spans[i] == 0 && (calendar == BURN_MONTH ? 31 : 7) *
		    BURN_DAY / b->slice + 1 > maxspan)
			maxspan = (calendar == BURN_MONTH ? 31 : 7) *
			    BURN_DAY / b->slice + 1;
	}
	b->nb = (size_t)maxspan + 1;
	b->good = xcalloc(b->nb, sizeof(*b->good));
	b->total = xcalloc(b->nb, sizeof(*b->total));
	return (b);
}

void
burn_free(struct burn *b)
{
	if (b == NULL)
		return;
	free(b->good);
	free(b->total);
	free(b->w);
	free(b);
}

/* Move head one bucket on: what leaves each window leaves its sums. */
static void
burn_step(struct burn *b)
{
	int64_t	k = b->head + 1, leaving, cs;
	size_t	i, p;
	double	vg, vt;

	for (i = 0; i < b->nw; i++) {
		if (b->w[i].span == 0)
			continue;
		leaving = k - b->w[i].span;
		p = burn_pos(b, leaving);
		burn_value(b, b->good[p], b->total[p], &vg, &vt);
		b->w[i].good -= vg;
		b->w[i].total -= vt;
		if (b->w[i].good < 0)
			b->w[i].good = 0;
		if (b->w[i].total < 0)
			b->w[i].total = 0;
	}
	p = burn_pos(b, k);
	b->good[p] = b->total[p] = 0;	/* it held bucket k - nb */
	b->head = k;
	cs = burn_period_start(b->calendar, k * b->slice) / b->slice;
	if (cs != b->cal_start) {
		b->cal_start = cs;
		for (i = 0; i < b->nw; i++)
			if (b->w[i].span == 0)
				b->w[i].good = b->w[i].total = 0;
	}
	if (b->clocked)
		burn_put(b, k, b->open > 0 ? 0 : 1, 1);
}

/* Let time reach t (seconds); earlier times change nothing. */
void
burn_advance(struct burn *b, int64_t t)
{
	int64_t	k = t / b->slice;
	size_t	i;

	if (b->head != INT64_MIN && k <= b->head)
		return;
	if (b->head == INT64_MIN)
		b->first = k;
	if (b->head == INT64_MIN || k - b->head > (int64_t)b->nb) {
		/* Everything held is out of every window: start afresh. */
		memset(b->good, 0, b->nb * sizeof(*b->good));
		memset(b->total, 0, b->nb * sizeof(*b->total));
		for (i = 0; i < b->nw; i++)
			b->w[i].good = b->w[i].total = 0;
		b->head = (b->clocked && b->head != INT64_MIN ?
		    k - (int64_t)b->nb : k - 1);
		b->cal_start = INT64_MIN;
	}
	while (b->head < k)
		burn_step(b);
}

/*
 * good of total events at time t (seconds).  A later t moves time on
 * first.  Returns 0, or -1 when t is older than every window (nothing
 * changes).
 */
int
burn_add(struct burn *b, int64_t t, double good, double total)
{
	int64_t	k = t / b->slice;
	size_t	p;

	if (b->head == INT64_MIN || k > b->head)
		burn_advance(b, t);
	if (k <= b->head - (int64_t)b->nb)
		return (-1);
	p = burn_pos(b, k);
	burn_put(b, k, b->good[p] + good, b->total[p] + total);
	return (0);
}

/* An alert opened at t: its slice and every one since are bad. */
int
burn_alert_open(struct burn *b, int64_t t)
{
	int64_t	k = t / b->slice, j;

	if (b->head == INT64_MIN || k > b->head)
		burn_advance(b, t);
	b->open++;
	if (k <= b->head - (int64_t)b->nb)
		k = b->head - (int64_t)b->nb + 1;
	for (j = k; j <= b->head; j++)
		burn_put(b, j, 0, 1);
	return (0);
}

/*
 * An alert resolved at t: its slice stays bad; the slices after it are
 * good again when no other alert is open.
 */
int
burn_alert_close(struct burn *b, int64_t t)
{
	int64_t	k = t / b->slice, j;

	if (b->head == INT64_MIN || k > b->head)
		burn_advance(b, t);
	if (b->open > 0)
		b->open--;
	if (b->open > 0)
		return (0);
	if (k <= b->head - (int64_t)b->nb)
		k = b->head - (int64_t)b->nb;
	for (j = k + 1; j <= b->head; j++)
		burn_put(b, j, 1, 1);
	return (0);
}

void
burn_sums(const struct burn *b, size_t i, double *good, double *total)
{
	*good = i < b->nw ? b->w[i].good : 0;
	*total = i < b->nw ? b->w[i].total : 0;
}

/* 1 - good/total over window i; 0 when it holds nothing. */
double
burn_error_ratio(const struct burn *b, size_t i)
{
	double	g, t, r;

	burn_sums(b, i, &g, &t);
	if (t <= 0)
		return (0);
	r = 1 - g / t;
	return (r < 0 ? 0 : r);
}

/* The burn rate over window i, for an objective in percent. */
double
burn_rate(const struct burn *b, size_t i, double objective)
{
	double	budget = 1 - objective / 100;

	if (budget <= 0)
		return (0);
	return (burn_error_ratio(b, i) / budget);
}

/* The fraction of the error budget left over window i (may be < 0). */
double
burn_budget_left(const struct burn *b, size_t i, double objective)
{
	return (1 - burn_rate(b, i, objective));
}
