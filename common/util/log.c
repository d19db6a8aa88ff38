/* log.c: logging to stderr, in the manner of OpenBSD's log.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

static const char	*log_procname = "milepost";
static int		 log_verbose;

static void	log_vlog(const char *, const char *, va_list, int);

void
log_init(const char *procname, int verbose)
{
	log_procname = procname;
	log_verbose = verbose;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

/* Write one line to stderr; with errnum, append strerror(errnum). */
static void
log_vlog(const char *level, const char *fmt, va_list ap, int errnum)
{
	char	msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum)
		fprintf(stderr, "%s: %s%s: %s\n", log_procname, level, msg,
		    strerror(errnum));
	else
		fprintf(stderr, "%s: %s%s\n", log_procname, level, msg);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog("", fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog("", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 0)
		return;
	va_start(ap, fmt);
	log_vlog("", fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vlog("debug: ", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog("fatal: ", fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog("fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
