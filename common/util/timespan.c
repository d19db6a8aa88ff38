/*
 * timespan.c: durations.  Accepted forms, all meaning 500 seconds:
 *   "500", "500s", "8m20s", "0h8m20s", "PT8M20S", "pt8m20s", "500.0s"
 * plus days ("1d"), hours, minutes, seconds and milliseconds ("250ms"),
 * each with an optional fraction, and ISO 8601 "P1DT2H" / "P1W".
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Read a non-negative decimal number; returns chars consumed, 0 if none. */
static size_t
ts_number(const char *s, double *v)
{
	char	*end;
	size_t	 n = 0;

	while (isdigit((unsigned char)s[n]))
		n++;
	if (s[n] == '.') {
		n++;
		while (isdigit((unsigned char)s[n]))
			n++;
	}
	if (n == 0 || (n == 1 && s[0] == '.'))
		return (0);
	*v = strtod(s, &end);
	if ((size_t)(end - s) != n)
		return (0);
	return (n);
}

static int
ts_iso(const char *s, double *out)
{
	double	 total = 0, v;
	int	 intime = 0, any = 0;
	size_t	 n;
	char	 last = 0, u;

	s++;				/* 'P' */
	while (*s != '\0') {
		if (*s == 'T' || *s == 't') {
			if (intime)
				return (-1);
			intime = 1;
			last = 0;
			s++;
			if (*s == '\0')
				return (-1);
			continue;
		}
		if ((n = ts_number(s, &v)) == 0)
			return (-1);
		s += n;
		u = (char)toupper((unsigned char)*s++);
		if (!intime && u == 'W' && last == 0)
			total += v * 604800;
		else if (!intime && u == 'D' && (last == 0 || last == 'W'))
			total += v * 86400;
		else if (intime && u == 'H' && last == 0)
			total += v * 3600;
		else if (intime && u == 'M' && (last == 0 || last == 'H'))
			total += v * 60;
		else if (intime && u == 'S' && last != 'S')
			total += v;
		else
			return (-1);
		last = u;
		any = 1;
	}
	if (!any)
		return (-1);
	*out = total;
	return (0);
}

/* Parse a timespan; returns 0 and the seconds in *out, or -1. */
int
ts_parse(const char *s, double *out)
{
	double	 total = 0, v, unit;
	size_t	 n;
	int	 rank, lastrank = 5;

	if (s == NULL)
		return (-1);
	while (isspace((unsigned char)*s))
		s++;
	if (*s == 'P' || *s == 'p')
		return (ts_iso(s, out));
	if ((n = ts_number(s, &v)) == 0)
		return (-1);
	if (s[n] == '\0') {		/* a bare number of seconds */
		*out = v;
		return (isfinite(v) ? 0 : -1);
	}
	while (*s != '\0') {
		if ((n = ts_number(s, &v)) == 0)
			return (-1);
		s += n;
		if (strncmp(s, "ms", 2) == 0) {
			unit = 0.001, rank = 0;
			s += 2;
		} else {
			switch (*s) {
			case 'd': unit = 86400; rank = 4; break;
			case 'h': unit = 3600; rank = 3; break;
			case 'm': unit = 60; rank = 2; break;
			case 's': unit = 1; rank = 1; break;
			default: return (-1);
			}
			s++;
		}
		if (rank >= lastrank)	/* units must descend: "20s8m" is wrong */
			return (-1);
		lastrank = rank;
		total += v * unit;
	}
	if (!isfinite(total))
		return (-1);
	*out = total;
	return (0);
}
