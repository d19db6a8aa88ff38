/*
 * timefmt.c: RFC 3339 timestamps <-> int64 microseconds since the epoch.
 * Output is always UTC ("Z"); fractions are printed only when non-zero.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

static int
tf_digits(const char **pp, int n, int *out)
{
	int	v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**pp))
			return (-1);
		v = v * 10 + (**pp - '0');
		(*pp)++;
	}
	*out = v;
	return (0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
static int64_t
tf_days(int64_t y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; 't', 'z' and a space
 * for 'T' are accepted as RFC 3339 allows.  Returns 0 and sets *us, or -1.
 */
int
tf_parse(const char *s, int64_t *us)
{
	const char	*p = s;
	int		 y, mo, d, h, mi, sec, oh, om, sign;
	int64_t		 frac = 0, scale = 100000;
	static const int mdays[] = { 31,29,31,30,31,30,31,31,30,31,30,31 };

	if (s == NULL || tf_digits(&p, 4, &y) || *p++ != '-' ||
	    tf_digits(&p, 2, &mo) || *p++ != '-' || tf_digits(&p, 2, &d))
		return (-1);
	if (*p != 'T' && *p != 't' && *p != ' ')
		return (-1);
	p++;
	if (tf_digits(&p, 2, &h) || *p++ != ':' || tf_digits(&p, 2, &mi) ||
	    *p++ != ':' || tf_digits(&p, 2, &sec))
		return (-1);
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return (-1);
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		return (-1);
	if (sec == 60)		/* leap second: fold into the next */
		sec = 59, frac = 999999, scale = 0;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return (-1);
		while (isdigit((unsigned char)*p)) {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		oh = om = 0;
		sign = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (tf_digits(&p, 2, &oh) || *p++ != ':' ||
		    tf_digits(&p, 2, &om) || oh > 23 || om > 59)
			return (-1);
	} else
		return (-1);
	if (*p != '\0')
		return (-1);
	*us = ((tf_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
	    sign * (oh * 3600 + om * 60)) * 1000000 + frac;
	return (0);
}

/* Format as RFC 3339 UTC into out. */
void
tf_format(int64_t us, char out[MP_TIMELEN])
{
	struct tm	tm;
	time_t		t;
	int64_t		frac;
	char		tmp[16];	/* "-MM-DDTHH:MM:SS" */

	t = (time_t)(us / 1000000);
	frac = us % 1000000;
	if (frac < 0) {
		frac += 1000000;
		t--;
	}
	gmtime_r(&t, &tm);
	/* The year by hand: strftime's %Y does not pad years before 1000. */
	strftime(tmp, sizeof(tmp), "-%m-%dT%H:%M:%S", &tm);
	if (frac)
		snprintf(out, MP_TIMELEN, "%04lld%s.%06lldZ",
		    (long long)tm.tm_year + 1900, tmp, (long long)frac);
	else
		snprintf(out, MP_TIMELEN, "%04lld%sZ",
		    (long long)tm.tm_year + 1900, tmp);
}

int64_t
tf_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}
