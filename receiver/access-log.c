/*
 * access-log.c: one line per request (access_log: in the configuration),
 * plain or JSON, to a file or stderr.
 *
 * A line holds the time, method, path, status, source, peer, bytes sent
 * and latency; never a header, a body or a query value that is not on
 * the list of harmless read-API parameters, so no token, signature or
 * secret can reach it.  The loop never writes: it formats the line into
 * a bounded buffer under a mutex, and this file's thread writes the
 * buffer out.  When the buffer is full the line is dropped and counted
 * (milepost_access_log_dropped_total); the loop never waits for a disk.
 * The thread writes every 100 ms, or once 32 KiB wait: one write(2) for
 * many lines, and no wake-up per request.
 *
 * The line is made when libevent has written the reply (the request's
 * on_complete callback), so latency covers the write too.  The start
 * time travels as that callback's argument, so nothing is allocated per
 * request; a request whose client leaves before its reply is written is
 * not logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define ALOG_PATH_MAX	512	/* bytes of path and query kept */
#define ALOG_FLUSH	(32 * 1024)	/* bytes that wake the writer */
#define ALOG_FLUSH_MS	100		/* the longest a line waits */

struct alog {
	int			 fd;
	int			 own_fd;	/* opened here: close it */
	int			 json;
	size_t			 cap;
	struct metrics		*metrics;
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct buf		 pending;	/* lines for the thread */
	struct buf		 line;		/* the loop's, reused */
	int64_t			 tsec;		/* the second in tbuf */
	char			 tbuf[MP_TIMELEN];	/* its RFC 3339 */
	int			 idle;		/* the thread waits */
	int			 stop;
};

/* The callback's argument is the start time; this is its log. */
static struct alog	*alog_current;

static void	alog_done(struct evhttp_request *, void *);

/* Query parameters whose values are logged; any other shows as key=-. */
static const char *const alog_keep[] = {
	"after", "limit", "as_of", "from", "to", "since", "until", "period",
	"service", "environment", "status", "state", "sink", "type", "tenant",
	"release", NULL
};

static void *
alog_main(void *arg)
{
	struct alog	*a = arg;
	struct buf	 out, tmp;
	struct timespec	 until;
	int		 warned = 0;

	buf_init(&out);
	pthread_mutex_lock(&a->mtx);
	for (;;) {
		/*
		 * Write every ALOG_FLUSH_MS, or sooner when ALOG_FLUSH bytes
		 * wait: one write(2) per batch of lines, and the loop wakes
		 * this thread only then, not per request.
		 */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += ALOG_FLUSH_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!a->stop && a->pending.len < ALOG_FLUSH) {
			a->idle = 1;
			if (pthread_cond_timedwait(&a->cond, &a->mtx,
			    &until) == ETIMEDOUT)
				break;
		}
		a->idle = 0;
		if (a->pending.len == 0) {
			if (a->stop)
				break;	/* stopping, and all written */
			continue;
		}
		/* Swap: the loop fills the other buffer meanwhile. */
		tmp = out;
		out = a->pending;
		a->pending = tmp;
		buf_reset(&a->pending);
		pthread_mutex_unlock(&a->mtx);
		if (buf_write_fd(a->fd, out.data, out.len) == -1 && !warned) {
			log_warn("access log: write");
			warned = 1;
		}
		pthread_mutex_lock(&a->mtx);
	}
	pthread_mutex_unlock(&a->mtx);
	buf_free(&out);
	return (NULL);
}

/*
 * Open the access log of c and start its thread; metrics (borrowed) gets
 * the counts.  Returns NULL with err set when the file cannot be opened.
 */
struct alog *
alog_new(const struct access_log_conf *c, struct metrics *metrics, char *err,
    size_t errlen)
{
	struct alog	*a;

	a = xcalloc(1, sizeof(*a));
	a->json = c->json;
	a->cap = c->buffer;
	a->metrics = metrics;
	if (strcmp(c->path, "stderr") == 0)
		a->fd = STDERR_FILENO;
	else if ((a->fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0640)) == -1) {
		snprintf(err, errlen, "access_log: %s: %s", c->path,
		    strerror(errno));
		free(a);
		return (NULL);
	} else
		a->own_fd = 1;
	buf_init(&a->pending);
	buf_init(&a->line);
	pthread_mutex_init(&a->mtx, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (pthread_create(&a->thread, NULL, alog_main, a) != 0)
		fatalx("%s: pthread_create", __func__);
	alog_current = a;
	return (a);
}

/* Write what is buffered, stop the thread, close the file. */
void
alog_free(struct alog *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mtx);
	a->stop = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mtx);
	pthread_join(a->thread, NULL);
	if (a->own_fd)
		close(a->fd);
	pthread_mutex_destroy(&a->mtx);
	pthread_cond_destroy(&a->cond);
	buf_free(&a->pending);
	buf_free(&a->line);
	if (alog_current == a)
		alog_current = NULL;
	free(a);
}

/* Log req once its reply is written (loop thread; allocates nothing). */
void
alog_start(struct alog *a, struct evhttp_request *req)
{
	if (a == alog_current)
		evhttp_request_set_on_complete_cb(req, alog_done,
		    (void *)(uintptr_t)metrics_monotonic());
}

/* Append s to b, bytes outside printable ASCII, quotes, '\' as %XX. */
static void
alog_safe(struct buf *b, const char *s, size_t n)
{
	size_t	i, run = 0;

	for (i = 0; i < n && s[i] != '\0'; i++) {
		unsigned char	c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);	/* the safe run before it */
		buf_printf(b, "%%%02X", c);
		run = i + 1;
	}
	buf_add(b, s + run, i - run);
}

static int
alog_kept(const char *k, size_t n)
{
	size_t	i;

	for (i = 0; alog_keep[i] != NULL; i++)
		if (strlen(alog_keep[i]) == n && strncmp(alog_keep[i], k, n) ==
		    0)
			return (1);
	return (0);
}

/* The request's path and its query, with unlisted values hidden. */
static void
alog_path(struct buf *b, struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path, *q, *amp, *eq;
	size_t			 start = b->len, n;

	path = uri ? evhttp_uri_get_path(uri) : NULL;
	alog_safe(b, path != NULL && *path ? path : "/", ALOG_PATH_MAX);
	if (uri == NULL || (q = evhttp_uri_get_query(uri)) == NULL || !*q)
		return;
	buf_addc(b, '?');
	while (*q != '\0' && b->len - start < ALOG_PATH_MAX) {
		if ((amp = strchr(q, '&')) == NULL)
			amp = q + strlen(q);
		n = (size_t)(amp - q);
		if ((eq = memchr(q, '=', n)) == NULL)
			alog_safe(b, q, n);
		else {
			alog_safe(b, q, (size_t)(eq - q));
			buf_addc(b, '=');
			if (alog_kept(q, (size_t)(eq - q)))
				alog_safe(b, eq + 1, (size_t)(amp - eq - 1));
			else
				buf_addc(b, '-');
		}
		if (*amp == '\0')
			break;
		buf_addc(b, '&');
		q = amp + 1;
	}
}

/* Now in RFC 3339 with microseconds; the date is formatted once a second. */
static void
alog_time(struct alog *a, char t[MP_TIMELEN])
{
	int64_t	now = tf_now(), sec = now / 1000000;

	if (sec != a->tsec || a->tbuf[0] == '\0') {
		tf_format(sec * 1000000, a->tbuf);	/* "...:SSZ" */
		a->tbuf[strlen(a->tbuf) - 1] = '\0';
		a->tsec = sec;
	}
	snprintf(t, MP_TIMELEN, "%s.%06lldZ", a->tbuf,
	    (long long)(now % 1000000));
}

static const char *
alog_method(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return ("GET");
	case EVHTTP_REQ_POST: return ("POST");
	case EVHTTP_REQ_HEAD: return ("HEAD");
	case EVHTTP_REQ_PUT: return ("PUT");
	case EVHTTP_REQ_DELETE: return ("DELETE");
	case EVHTTP_REQ_OPTIONS: return ("OPTIONS");
	case EVHTTP_REQ_TRACE: return ("TRACE");
	case EVHTTP_REQ_CONNECT: return ("CONNECT");
	case EVHTTP_REQ_PATCH: return ("PATCH");
	}
	return ("OTHER");
}

/* The reply to req is written: format its line and hand it over. */
static void
alog_done(struct evhttp_request *req, void *arg)
{
	struct alog			*a = alog_current;
	struct evhttp_connection	*evcon;
	struct buf			*b;
	const char			*src, *len, *method;
	char				*host = NULL, t[MP_TIMELEN];
	ev_uint16_t			 port = 0;
	uintptr_t			 us;
	int				 code;

	if (a == NULL)
		return;
	us = (uintptr_t)metrics_monotonic() - (uintptr_t)arg;
	if ((evcon = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(evcon, &host, &port);
	if ((len = evhttp_find_header(evhttp_request_get_output_headers(req),
	    "Content-Length")) == NULL || *len == '\0' ||
	    strspn(len, "0123456789") != strlen(len))
		len = "0";
	src = http_source(req);
	method = alog_method(evhttp_request_get_command(req));
	code = evhttp_request_get_response_code(req);
	alog_time(a, t);

	b = &a->line;
	buf_reset(b);
	if (a->json) {
		buf_printf(b, "{\"time\":\"%s\",\"method\":\"%s\",\"path\":\"",
		    t, method);
		alog_path(b, req);
		buf_printf(b, "\",\"status\":%d,\"source\":%s%s%s,\"peer\":\"",
		    code, src ? "\"" : "", src ? src : "null", src ? "\"" : "");
		alog_safe(b, host != NULL ? host : "-", 64);
		buf_printf(b, ":%u\",\"bytes\":%s,\"seconds\":%.6f}\n",
		    (unsigned)port, len, (double)us / 1e6);
	} else {
		buf_printf(b, "%s %s ", t, method);
		alog_path(b, req);
		buf_printf(b, " %d %s ", code, src ? src : "-");
		alog_safe(b, host != NULL ? host : "-", 64);
		buf_printf(b, ":%u %s %.6f\n", (unsigned)port, len,
		    (double)us / 1e6);
	}

	pthread_mutex_lock(&a->mtx);
	if (a->pending.len + b->len > a->cap)
		atomic_fetch_add(&a->metrics->alog_dropped, 1);
	else {
		buf_add(&a->pending, b->data, b->len);
		atomic_fetch_add(&a->metrics->alog_lines, 1);
		if (a->idle && a->pending.len >= ALOG_FLUSH) {
			a->idle = 0;
			pthread_cond_signal(&a->cond);
		}
	}
	pthread_mutex_unlock(&a->mtx);
}
