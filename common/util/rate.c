/*
 * rate.c: the token bucket behind per-token request limits.  A bucket
 * holds up to burst tokens and refills at per_sec; each request takes one.
 * The caller owns the buckets (one per configured token, so memory is
 * bounded by the configuration) and passes a monotonic clock, so that the
 * arithmetic is tested without sleeping.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

#define RATE_MAX	1000000.0	/* per second */

static void
rate_refill(const struct rate_bucket *b, const struct rate_conf *rc,
    int64_t now, double *tokens)
{
	int64_t	elapsed;

	if (!b->primed) {
		*tokens = rc->burst;
		return;
	}
	elapsed = now > b->last ? now - b->last : 0;
	*tokens = b->tokens + (double)elapsed / 1e6 * rc->per_sec;
	if (*tokens > rc->burst)
		*tokens = rc->burst;
}

/*
 * Take one token from b at now (microseconds, monotonic).  Returns 0 when
 * allowed; -1 when the bucket is empty, with *retry_us the wait until a
 * token is back (at least 1).  A per_sec of 0 never limits.
 */
int
rate_take(struct rate_bucket *b, const struct rate_conf *rc, int64_t now,
    int64_t *retry_us)
{
	double	t;

	if (retry_us != NULL)
		*retry_us = 0;
	if (rc->per_sec <= 0)
		return (0);
	rate_refill(b, rc, now, &t);
	b->primed = 1;
	b->last = now;
	if (t >= 1.0) {
		b->tokens = t - 1.0;
		return (0);
	}
	b->tokens = t;
	if (retry_us != NULL) {
		*retry_us = (int64_t)ceil((1.0 - t) / rc->per_sec * 1e6);
		if (*retry_us < 1)
			*retry_us = 1;
	}
	return (-1);
}

/* The tokens b would hold at now, without taking any. */
double
rate_level(const struct rate_bucket *b, const struct rate_conf *rc,
    int64_t now)
{
	double	t;

	if (rc->per_sec <= 0)
		return (rc->burst);
	rate_refill(b, rc, now, &t);
	return (t);
}

/*
 * A rate: a number (per second), "N/s", "N/min", "N/h" (also "second",
 * "minute", "hour"), or "off" / 0 for no limit.  Returns 0 with *per_sec
 * set, or -1.
 */
int
rate_parse(json_object *v, double *per_sec)
{
	const char	*s;
	char		*end;
	double		 d, div = 1;

	if (v == NULL)
		return (-1);
	if (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		goto check;
	}
	if (!json_object_is_type(v, json_type_string))
		return (-1);
	s = json_object_get_string(v);
	if (strcmp(s, "off") == 0) {
		*per_sec = 0;
		return (0);
	}
	d = strtod(s, &end);
	if (end == s)
		return (-1);
	while (*end == ' ')
		end++;
	if (*end == '/') {
		end++;
		while (*end == ' ')
			end++;
		if (strcasecmp(end, "s") == 0 || strcasecmp(end, "sec") == 0 ||
		    strcasecmp(end, "second") == 0)
			div = 1;
		else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "min") ==
		    0 || strcasecmp(end, "minute") == 0)
			div = 60;
		else if (strcasecmp(end, "h") == 0 || strcasecmp(end, "hour") ==
		    0)
			div = 3600;
		else
			return (-1);
	} else if (*end != '\0')
		return (-1);
	d /= div;
check:
	if (!isfinite(d) || d < 0 || d > RATE_MAX)
		return (-1);
	*per_sec = d;
	return (0);
}

/*
 * "12/s", "0.5/s", "6/min", "2/h" or "off", for replies and logs: below
 * one a second, per minute or per hour when that is a whole number.
 */
void
rate_format(double per_sec, char *out, size_t len)
{
	double	m = per_sec * 60, h = per_sec * 3600;

	if (per_sec <= 0)
		snprintf(out, len, "off");
	else if (per_sec < 1 && fabs(m - round(m)) < 1e-6 && m >= 1)
		snprintf(out, len, "%g/min", round(m));
	else if (per_sec < 1 && fabs(h - round(h)) < 1e-6 && h >= 1)
		snprintf(out, len, "%g/h", round(h));
	else
		snprintf(out, len, "%g/s", per_sec);
}
