/*
 * conn.c: every connection the listeners accept, tracked so that slow
 * clients cannot hold the receiver.
 *
 * evhttp's own timeout (limits.timeout) is an idle timeout: each byte
 * resets it, so a client dripping a byte a second holds its connection
 * for ever.  Here each connection has a state:
 *
 *   IDLE     no request bytes yet (a new or keep-alive connection); evhttp's
 *            idle timeout applies
 *   HEADERS  a request's first byte came at `since` (TLS: the connection
 *            was accepted at `since`, so the handshake counts too); its
 *            headers must be complete by since + header_timeout
 *   BODY     its headers ended at body_at; the request must be complete
 *            (dispatched to http_route) by body_at + body_timeout
 *   BUSY     dispatched: being answered (perhaps waiting for the writer);
 *            never shed, never timed out here
 *
 * Bytes are observed through a callback on the bufferevent's input (the
 * plaintext, for TLS), before evhttp parses them; the end of the headers is
 * the first empty line.  Deadlines are measured from those instants and
 * never reset by more bytes.  A 500 ms tick closes what is past its
 * deadline.
 *
 * Caps: at most limits.max_per_ip connections per client address and
 * limits.max_connections in all.  At either cap the connection that has
 * gone longest without completing a request (the head of the `idle or
 * reading` list, which is kept in order of `since`) is shed, so a new
 * client is served; only when every connection is BUSY does the listener
 * stop accepting.  max_connections is enforced as connections are
 * accepted; an address's cap 5 ms later (conn_enforce), so that a client
 * that sent its whole request in a burst of newcomers from its address is
 * BUSY, no longer a candidate, when the burst's excess is shed.
 *
 * Everything here runs on the loop thread.  Bounded: one struct conn per
 * open connection (at most max_connections), one address entry per
 * distinct client address among them, a slot table sized by the fd limit.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "milepostd.h"

#define CONN_TICK_US	500000
#define CONN_IP_BUCKETS	1024
#define CONN_ENFORCE_US	5000	/* a burst reads before its address's cap */

enum conn_state { CONN_IDLE, CONN_HEADERS, CONN_BODY, CONN_BUSY };

struct conn_ip {
	struct conn_ip		*next;
	unsigned char		 addr[16];
	unsigned		 n;
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;		/* conns.live, unless BUSY */
	struct conns		*cs;
	struct evhttp_connection *evcon;
	struct bufferevent	*bev;
	struct conn_ip		*ip;
	int			 fd;
	enum conn_state		 state;
	int			 eoh;		/* end-of-headers scanner */
	int64_t			 since;		/* idle since, or first byte */
	int64_t			 body_at;	/* headers complete */
	int64_t			 pending;	/* bytes while BUSY: when */
};
TAILQ_HEAD(conn_list, conn);

struct conns {
	struct server		*srv;
	struct conn		**slot;		/* by fd */
	size_t			 nslot;
	struct conn_list	 live;		/* IDLE/HEADERS/BODY by since */
	struct conn_ip		*ips[CONN_IP_BUCKETS];
	struct event		*tick;
	struct event		*enforce;	/* conn_enforce, once armed */
	unsigned		 n;		/* accepted, fixed up or not */
};

/* A pending accepted connection, fixed up once evhttp has built it. */
struct conn_fixup {
	struct conns		*cs;
	struct bufferevent	*bev;
	int			 tls;
};

static void	conn_shed(struct conn *, const char *);

static int64_t
conn_now(void)
{
	return (metrics_monotonic());
}

static void
conn_listeners(struct conns *cs, int on)
{
	struct server	*srv = cs->srv;
	size_t		 i;

	if (srv->stopping || srv->paused == !on)
		return;
	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].lev != NULL) {
			if (on)
				evconnlistener_enable(srv->ls[i].lev);
			else
				evconnlistener_disable(srv->ls[i].lev);
		}
	srv->paused = !on;
	if (!on)
		log_warnx("%s: %u connections, all busy: not accepting more",
		    __func__, cs->n);
}

static unsigned
conn_ip_hash(const unsigned char *a)
{
	unsigned	h = 2166136261u;
	size_t		i;

	for (i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return (h % CONN_IP_BUCKETS);
}

/* The peer's address as 16 bytes (IPv4 mapped), or -1. */
static int
conn_peer(int fd, unsigned char out[16])
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	memset(out, 0, 16);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return (-1);
	if (ss.ss_family == AF_INET6)
		memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	else if (ss.ss_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else
		return (-1);
	return (0);
}

static struct conn_ip *
conn_ip_get(struct conns *cs, const unsigned char *a)
{
	struct conn_ip	*ip;
	unsigned	 h = conn_ip_hash(a);

	for (ip = cs->ips[h]; ip != NULL; ip = ip->next)
		if (memcmp(ip->addr, a, 16) == 0)
			return (ip);
	ip = xcalloc(1, sizeof(*ip));
	memcpy(ip->addr, a, 16);
	ip->next = cs->ips[h];
	cs->ips[h] = ip;
	return (ip);
}

static void
conn_ip_put(struct conns *cs, struct conn_ip *ip)
{
	struct conn_ip	**pp;

	if (--ip->n > 0)
		return;
	for (pp = &cs->ips[conn_ip_hash(ip->addr)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == ip) {
			*pp = ip->next;
			free(ip);
			return;
		}
}

/* Move c to the tail of the live list in state st, since now. */
static void
conn_set(struct conn *c, enum conn_state st, int64_t now)
{
	if (c->state != CONN_BUSY)
		TAILQ_REMOVE(&c->cs->live, c, entry);
	c->state = st;
	c->since = now;
	c->eoh = 0;
	if (st != CONN_BUSY)
		TAILQ_INSERT_TAIL(&c->cs->live, c, entry);
}

/*
 * Scan n new bytes for the end of the headers (an empty line: "\n\n" or
 * "\n\r\n").  Returns 1 once found.
 */
static int
conn_scan(struct conn *c, const unsigned char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (c->eoh != 0)
				return (1);
			c->eoh = 1;
		} else if (p[i] == '\r') {
			if (c->eoh == 1)
				c->eoh = 2;
		} else
			c->eoh = 0;
	}
	return (0);
}

/* Bytes came into c's input (before evhttp parses them). */
static void
conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn		*c = arg;
	struct evbuffer_iovec	 v[4];
	size_t			 len, n, skip;
	int			 i, nv;

	if (info->n_added == 0)
		return;
	switch (c->state) {
	case CONN_BUSY:
		if (c->pending == 0)
			c->pending = conn_now();
		return;
	case CONN_BODY:
		return;
	case CONN_IDLE:
		conn_set(c, CONN_HEADERS, conn_now());
		break;
	case CONN_HEADERS:
		break;
	}
	/* The new bytes are the last n_added of the buffer. */
	len = evbuffer_get_length(in);
	n = info->n_added < len ? info->n_added : len;
	skip = len - n;
	nv = evbuffer_peek(in, -1, NULL, v, 4);
	for (i = 0; i < nv && i < 4 && n > 0; i++) {
		if (v[i].iov_len <= skip) {
			skip -= v[i].iov_len;
			continue;
		}
		if (conn_scan(c, (unsigned char *)v[i].iov_base + skip,
		    v[i].iov_len - skip)) {
			c->state = CONN_BODY;
			c->body_at = conn_now();
			return;
		}
		n -= v[i].iov_len - skip < n ? v[i].iov_len - skip : n;
		skip = 0;
	}
}

static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn	*c = arg;
	struct conns	*cs = c->cs;

	if (c->state != CONN_BUSY)
		TAILQ_REMOVE(&cs->live, c, entry);
	if (c->fd >= 0 && (size_t)c->fd < cs->nslot && cs->slot[c->fd] == c)
		cs->slot[c->fd] = NULL;
	evbuffer_remove_cb(bufferevent_get_input(c->bev), conn_input, c);
	conn_ip_put(cs, c->ip);
	free(c);
	cs->n--;
	atomic_store(&cs->srv->metrics.connections, cs->n);
	if (cs->srv->paused && cs->n < cs->srv->cf0->limits.max_connections)
		conn_listeners(cs, 1);
}

/* Close c now (it is not BUSY: no request of it has reached a handler). */
static void
conn_shed(struct conn *c, const char *why)
{
	atomic_fetch_add(&c->cs->srv->metrics.shed, 1);
	log_debug("%s: fd %d: %s", __func__, c->fd, why);
	evhttp_connection_free(c->evcon);	/* runs conn_closed */
}

/* Shed the oldest idle or slow connection. */
static int
conn_shed_oldest(struct conns *cs)
{
	struct conn	*c;

	if ((c = TAILQ_FIRST(&cs->live)) == NULL)
		return (-1);
	conn_shed(c, "max_connections");
	return (0);
}

static void
conn_tick(evutil_socket_t fd, short what, void *arg)
{
	struct conns		*cs = arg;
	const struct limits	*lim = &cs->srv->cf->limits;
	struct conn		*c, *next;
	int64_t			 now = conn_now();

	for (c = TAILQ_FIRST(&cs->live); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == CONN_HEADERS && now - c->since >=
		    (int64_t)lim->header_timeout * 1000000)
			conn_shed(c, "headers past limits.header_timeout");
		else if (c->state == CONN_BODY && now - c->body_at >=
		    (int64_t)lim->body_timeout * 1000000)
			conn_shed(c, "body past limits.body_timeout");
	}
}

/* Shed the oldest idle or slow connections of every address over its cap. */
static void
conn_enforce(evutil_socket_t fd, short what, void *arg)
{
	struct conns	*cs = arg;
	struct conn	*c, *next;
	unsigned	 cap = cs->srv->cf->limits.max_per_ip;

	for (c = TAILQ_FIRST(&cs->live); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->ip->n > cap)
			conn_shed(c, "its address is over "
			    "max_connections_per_ip");
	}
}

static void
conn_fixup(evutil_socket_t fd, short what, void *arg)
{
	struct conn_fixup	*fx = arg;
	struct conns		*cs = fx->cs;
	const struct limits	*lim = &cs->srv->cf->limits;
	struct evhttp_connection *evcon;
	bufferevent_data_cb	 rcb, wcb;
	bufferevent_event_cb	 ecb;
	void			*cbarg = NULL;
	unsigned char		 addr[16];
	struct conn		*c;
	struct conn_ip		*ip;
	int			 sfd;

	bufferevent_getcb(fx->bev, &rcb, &wcb, &ecb, &cbarg);
	if ((evcon = cbarg) == NULL) {
		/* Freed before we got here: bufferevent_free clears cbs. */
		cs->n--;
		atomic_store(&cs->srv->metrics.connections, cs->n);
		goto out;
	}
	sfd = bufferevent_getfd(fx->bev);
	if (fx->tls) {
		/*
		 * bufferevent_openssl writes a reply as a record per chain
		 * (headers, then body): without this, Nagle holds the second
		 * until the client's delayed ACK.
		 */
		int	one = 1;

		(void)setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	if (conn_peer(sfd, addr) == -1)
		memset(addr, 0, sizeof(addr));
	ip = conn_ip_get(cs, addr);
	c = xcalloc(1, sizeof(*c));
	c->cs = cs;
	c->evcon = evcon;
	c->bev = fx->bev;
	c->fd = sfd;
	c->ip = ip;
	ip->n++;
	c->state = CONN_BUSY;	/* so that conn_set inserts it */
	conn_set(c, fx->tls ? CONN_HEADERS : CONN_IDLE, conn_now());
	if (sfd >= 0 && (size_t)sfd < cs->nslot)
		cs->slot[sfd] = c;
	evbuffer_add_cb(bufferevent_get_input(fx->bev), conn_input, c);
	evhttp_connection_set_closecb(evcon, conn_closed, c);
	/*
	 * Over the address's cap: shed its oldest a moment later, once the
	 * connections of this burst have read what they have sent (a client
	 * that sent a whole request is BUSY by then, not a candidate), rather
	 * than now, when the burst's first connections look oldest.
	 */
	if (ip->n > lim->max_per_ip && !evtimer_pending(cs->enforce, NULL)) {
		struct timeval	tv = { 0, CONN_ENFORCE_US };

		evtimer_add(cs->enforce, &tv);
	}
out:
	bufferevent_decref(fx->bev);
	free(fx);
}

/*
 * A connection was accepted and bev built for it (evhttp's bevcb): count
 * it, shed the oldest idle or slow one when at max_connections, and fix
 * it up on the next loop pass, once evhttp has wrapped it.
 */
void
conn_accepted(struct conns *cs, struct bufferevent *bev, int tls)
{
	struct conn_fixup	*fx;

	fx = xmalloc(sizeof(*fx));
	fx->cs = cs;
	fx->bev = bev;
	fx->tls = tls;
	bufferevent_incref(bev);
	event_base_once(cs->srv->base, -1, EV_TIMEOUT, conn_fixup, fx, NULL);
	if (cs->n >= cs->srv->cf0->limits.max_connections)
		(void)conn_shed_oldest(cs);
	cs->n++;
	atomic_store(&cs->srv->metrics.connections, cs->n);
	if (cs->n >= cs->srv->cf0->limits.max_connections &&
	    TAILQ_EMPTY(&cs->live))
		conn_listeners(cs, 0);
}

/* A request of req's connection reached http_route: it is BUSY. */
void
conn_dispatch(struct conns *cs, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct conn			*c;
	int				 fd;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (fd = bufferevent_getfd(evhttp_connection_get_bufferevent(
	    evcon))) < 0 || (size_t)fd >= cs->nslot ||
	    (c = cs->slot[fd]) == NULL || c->evcon != evcon)
		return;
	c->pending = 0;
	conn_set(c, CONN_BUSY, conn_now());
}

/* req's reply is written: its connection is idle again. */
void
conn_complete(struct conns *cs, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct conn			*c;
	int				 fd;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (fd = bufferevent_getfd(evhttp_connection_get_bufferevent(
	    evcon))) < 0 || (size_t)fd >= cs->nslot ||
	    (c = cs->slot[fd]) == NULL || c->evcon != evcon ||
	    c->state != CONN_BUSY)
		return;
	if (c->pending != 0) {
		/* The next request began while this one was answered. */
		conn_set(c, CONN_BODY, c->pending);
		c->body_at = c->pending;
		c->pending = 0;
	} else
		conn_set(c, CONN_IDLE, conn_now());
	if (cs->srv->paused)
		conn_listeners(cs, 1);
}

/*
 * The connection table for srv, sized by the descriptor limit (raised to
 * fit max_connections when the hard limit allows; else max_connections
 * is what the limit leaves, with a warning).
 */
struct conns *
conn_new(struct server *srv)
{
	struct conns	*cs;
	struct rlimit	 rl;
	struct limits	*lim = &srv->cf0->limits;
	rlim_t		 want = (rlim_t)lim->max_connections + 64;

	cs = xcalloc(1, sizeof(*cs));
	cs->srv = srv;
	TAILQ_INIT(&cs->live);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < want) {
			rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
			    rl.rlim_max > want ? want : rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
			(void)getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur < want) {
			log_warnx("%s: the descriptor limit (%llu) is below "
			    "limits.max_connections (%u) + 64: using %llu",
			    __func__, (unsigned long long)rl.rlim_cur,
			    lim->max_connections, rl.rlim_cur > 128 ?
			    (unsigned long long)rl.rlim_cur - 64 : 64ULL);
			lim->max_connections = rl.rlim_cur > 128 ?
			    (unsigned)rl.rlim_cur - 64 : 64;
		}
		cs->nslot = rl.rlim_cur == RLIM_INFINITY ? want :
		    (size_t)rl.rlim_cur;
	} else
		cs->nslot = want;
	cs->slot = xcalloc(cs->nslot, sizeof(*cs->slot));
	cs->enforce = evtimer_new(srv->base, conn_enforce, cs);
	cs->tick = event_new(srv->base, -1, EV_PERSIST, conn_tick, cs);
	{
		struct timeval	tv = { 0, CONN_TICK_US };

		evtimer_add(cs->tick, &tv);
	}
	return (cs);
}

unsigned
conn_count(const struct conns *cs)
{
	return (cs->n);
}

/* After evhttp_free (every connection closed). */
void
conn_free(struct conns *cs)
{
	struct conn	*c;
	struct conn_ip	*ip, *next;
	size_t		 i;

	if (cs == NULL)
		return;
	if (cs->tick != NULL)
		event_free(cs->tick);
	if (cs->enforce != NULL)
		event_free(cs->enforce);
	/*
	 * Connections libevent did not close through conn_closed before the
	 * base went (parked requests at exit): free what is left of them,
	 * each once (by its slot, else from the live list).
	 */
	while ((c = TAILQ_FIRST(&cs->live)) != NULL) {
		TAILQ_REMOVE(&cs->live, c, entry);
		if (c->fd >= 0 && (size_t)c->fd < cs->nslot &&
		    cs->slot[c->fd] == c)
			continue;	/* freed below, by its slot */
		free(c);
	}
	for (i = 0; i < cs->nslot; i++)
		free(cs->slot[i]);
	for (i = 0; i < CONN_IP_BUCKETS; i++)
		for (ip = cs->ips[i]; ip != NULL; ip = next) {
			next = ip->next;
			free(ip);
		}
	free(cs->slot);
	free(cs);
}
