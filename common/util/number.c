/*
 * number.c: numbers meant for people, rounded in one place.
 *
 * Computed claims (derive/computed.c) and the DORA metrics
 * (access/dora.c) build their numbers here, so the API, the CLI (which
 * prints what the API or the ledger holds) and the pushes (claims as
 * stored) all show the same digits.  Computed claims are rounded before
 * they are stored, so claims rebuild, which computes them again the same
 * way, agrees byte for byte.  docs/metrics.md has the rules.
 */
#include <math.h>
#include <stdio.h>

#include "util/util.h"

/*
 * v rounded for kind:
 *	NUM_PERCENT	two decimals (66.67)
 *	NUM_RATE	three significant digits, and never fewer than the
 *			integer part's (0.0333, 1.81, 12.3, 1235)
 *	NUM_SECONDS	three decimals (milliseconds)
 * NaN and infinities are returned as they are.
 */
double
num_round(double v, enum num_kind kind)
{
	double	scale;
	int	digits;

	if (!isfinite(v) || v == 0)
		return (v);
	switch (kind) {
	case NUM_PERCENT:
		return (round(v * 100) / 100);
	case NUM_SECONDS:
		return (round(v * 1000) / 1000);
	case NUM_RATE:
		/* Decimals for 3 significant digits: 2 - floor(log10|v|). */
		digits = 2 - (int)floor(log10(fabs(v)));
		if (digits <= 0)
			return (round(v));
		scale = pow(10, digits);
		return (round(v * scale) / scale);
	}
	return (v);
}

/*
 * v rounded for kind, as a new JSON number: an integer when it is one,
 * else a double that prints with the shortest digits that give it back
 * ("0.0333", not "0.033300000000000003").  NULL for NaN.
 */
json_object *
num_json(double v, enum num_kind kind)
{
	char	s[32];
	int	prec;
	double	back;

	if (isnan(v))
		return (NULL);
	v = num_round(v, kind);
	if (v == floor(v) && fabs(v) < 9e15)
		return (json_object_new_int64((int64_t)v));
	for (prec = 1; prec <= 17; prec++) {
		snprintf(s, sizeof(s), "%.*g", prec, v);
		if (sscanf(s, "%lf", &back) == 1 && back == v)
			break;
	}
	return (json_object_new_double_s(v, s));
}
