/*
 * server.c: the event base, the listener and its connection cap, signals,
 * and an orderly shutdown that replies to every acknowledged request
 * before exiting.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "milepostd.h"

#define SERVER_BACKLOG	4096	/* the kernel caps it at somaxconn */

static void	server_ingest_done(struct ingest_req *, void *);

/*
 * What a client-audience sink receives of a claim (the outbox's
 * presentation, injected here: outbox/ and access/ do not call each
 * other): the client view, as the read API builds it for a client token.
 */
static json_object *
server_present(json_object *claim, void *arg)
{
	const struct config	*cf = arg;

	return (present_view(cf->redaction, ROLE_CLIENT, claim));
}

/*
 * The outbox of cf's sinks and subscriptions on the writer's ledger l
 * (at start, or on the writer in a reload's job), presenting through
 * cf's redaction.  NULL with err set on failure.
 */
struct outbox *
server_outbox(struct config *cf, struct ledger *l, char *err, size_t errlen)
{
	return (outbox_new(cf->sinks, cf->nsinks, cf->subs, cf->nsubs, l,
	    server_present, (void *)cf, err, errlen));
}

/*
 * A listener's bufferevent for each accepted connection: TLS when the
 * listener has a context (the current one: a reload swaps it), counted
 * and tracked by conn.c.
 */
static struct bufferevent *
server_bevcb(struct event_base *base, void *arg)
{
	struct listener		*l = arg;
	struct bufferevent	*bev;

	if (l->ctx != NULL)
		bev = tls_bev_new(base, l->ctx);
	else
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return (NULL);
	conn_accepted(l->srv->conns, bev, l->ctx != NULL);
	return (bev);
}

static void
server_exit(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Exit the loop once the last reply has had a moment to be written. */
void
server_check_stop(struct server *srv)
{
	struct timeval	grace = { 0, 200000 };

	if (!srv->stopping || ingest_inflight(srv->ingest) != 0 ||
	    srv->ev_exit != NULL)
		return;
	log_info("all acknowledged evidence is committed; exiting");
	srv->ev_exit = evtimer_new(srv->base, server_exit, srv->base);
	evtimer_add(srv->ev_exit, &grace);
}

static void
server_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;
	size_t		 i;

	if (srv->stopping)
		return;
	log_info("%s: stopping: no new connections, finishing %zu in flight",
	    strsignal((int)sig), ingest_inflight(srv->ingest));
	srv->stopping = 1;
	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].bound != NULL) {
			evhttp_del_accept_socket(srv->ls[i].http,
			    srv->ls[i].bound);
			srv->ls[i].bound = NULL;
			srv->ls[i].lev = NULL;
		}
	server_check_stop(srv);
}

/*
 * The reply to stored evidence, written out directly (this runs for every
 * request; json-c objects cost more than the text): one evidence
 * {["duplicate":true,]"id":…,"seq":N}, or a batch {"accepted":N,
 * "duplicates":M,["duplicate":true,]"evidence":[{"id":…,"seq":N[,
 * "duplicate":true]},…]}; either with "unknown_milestones":{"M-01":N}
 * when N commits of it name milestones nobody declared (http.c).
 */
static void
server_reply_stored(struct ingest_req *ir, int code, size_t stored)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	if (!ir->batch) {
		buf_adds(&b, ir->dup[0] ? "{\"duplicate\":true,\"id\":" :
		    "{\"id\":");
		evidence_json_string(&b, ir->ev[0]->id, strlen(ir->ev[0]->id));
		buf_printf(&b, ",\"seq\":%lld", (long long)ir->ev[0]->seq);
		if (ir->warn != NULL)
			buf_printf(&b, ",%s", ir->warn);
		buf_addc(&b, '}');
	} else {
		buf_printf(&b, "{\"accepted\":%zu,\"duplicates\":%zu,%s"
		    "\"evidence\":[", stored, ir->nev - stored, stored == 0 ?
		    "\"duplicate\":true," : "");
		for (i = 0; i < ir->nev; i++) {
			buf_adds(&b, i > 0 ? ",{\"id\":" : "{\"id\":");
			evidence_json_string(&b, ir->ev[i]->id,
			    strlen(ir->ev[i]->id));
			buf_printf(&b, ",\"seq\":%lld%s}",
			    (long long)ir->ev[i]->seq, ir->dup[i] ?
			    ",\"duplicate\":true" : "");
		}
		buf_adds(&b, "]");
		if (ir->warn != NULL)
			buf_printf(&b, ",%s", ir->warn);
		buf_addc(&b, '}');
	}
	http_reply_bytes(ir->req, code, b.data, b.len);
	buf_free(&b);
}

static void
server_ingest_done(struct ingest_req *ir, void *arg)
{
	struct server	*srv = arg;
	size_t		 i, stored = 0;
	int		 code;

	if (ir->done != NULL) {
		ir->done(srv, ir);
		goto out;
	}
	if (ir->failed) {
		http_error(srv, ir->req, 503, REJECT_STORAGE,
		    "the ledger could not commit; retry", NULL);
		goto out;
	}
	for (i = 0; i < ir->nev; i++) {
		if (ir->dup[i])
			atomic_fetch_add(&srv->metrics.duplicates, 1);
		else {
			atomic_fetch_add(&srv->metrics.accepted, 1);
			stored++;
		}
	}
	code = stored ? 202 : 200;
	server_reply_stored(ir, code, stored);
	if (stored)
		push_kick(srv->push);
out:
	ir->req = NULL;
	ingest_req_free(ir);
	/* Stopping, and that may have been the last one in flight. */
	server_check_stop(srv);
}

/*
 * A listening socket on host:port, non-blocking, with a backlog deep
 * enough for a burst of connections (evhttp's own bind asks for 128: a
 * burst beyond it drops SYNs, and the client waits a second to retry).
 * Returns the descriptor, or -1 with errno set.
 */
static int
server_socket(const char *host, int port)
{
	struct evutil_addrinfo	 hints, *ai = NULL;
	char			 service[16];
	int			 fd, one = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	snprintf(service, sizeof(service), "%d", port);
	if ((e = evutil_getaddrinfo(host, service, &hints, &ai)) != 0) {
		errno = e == EVUTIL_EAI_SYSTEM ? errno : EADDRNOTAVAIL;
		return (-1);
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) == -1)
		goto fail;
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, SERVER_BACKLOG) == -1) {
		e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
fail:
	evutil_freeaddrinfo(ai);
	return (fd);
}

/*
 * Bind listener l (its own evhttp, with the daemon's limits and router)
 * to its address.  Returns 0, or -1 with err set.
 */
static int
server_listen(struct server *srv, struct listener *l, char *err,
    size_t errlen)
{
	const struct limits	*lim = &srv->cf0->limits;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			*host, *colon, ip[INET6_ADDRSTRLEN];
	long			 port;
	int			 fd;

	if ((l->http = evhttp_new(srv->base)) == NULL) {
		snprintf(err, errlen, "cannot create an HTTP server");
		return (-1);
	}
	/*
	 * evhttp cuts bodies at twice the limit (bounded memory, with its
	 * own HTML 413); between the limit and that, http.c answers with a
	 * JSON 413 as INTERFACE.md asks.
	 */
	evhttp_set_max_body_size(l->http, (ev_ssize_t)(lim->max_body * 2));
	evhttp_set_max_headers_size(l->http, (ev_ssize_t)lim->max_headers);
	evhttp_set_timeout(l->http, (int)lim->timeout);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(l->http, http_route, srv);
	evhttp_set_bevcb(l->http, server_bevcb, l);

	host = xstrdup(l->address);
	colon = strrchr(host, ':');
	*colon = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((fd = server_socket(*host ? host : "0.0.0.0", (int)port)) == -1 ||
	    (l->bound = evhttp_accept_socket_with_handle(l->http, fd)) ==
	    NULL) {
		snprintf(err, errlen, "listen %s: %s", l->address,
		    strerror(errno));
		if (fd != -1)
			evutil_closesocket(fd);
		free(host);
		return (-1);
	}
	free(host);
	l->lev = evhttp_bound_socket_get_listener(l->bound);
	fd = evhttp_bound_socket_get_fd(l->bound);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			snprintf(l->addr, sizeof(l->addr), "[%s]:%u", ip,
			    ntohs(s6->sin6_port));
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
			snprintf(l->addr, sizeof(l->addr), "%s:%u", ip,
			    ntohs(s4->sin_port));
		}
	}
	return (0);
}

/*
 * The listeners of srv->cf0: TLS contexts loaded, sockets bound, and a
 * warning for each plain one that is not on loopback.
 */
static int
server_listeners(struct server *srv, char *err, size_t errlen)
{
	const struct config	*cf = srv->cf0;
	struct listener		*l;
	char			 why[MP_ERRLEN];
	size_t			 i;

	srv->ls = xcalloc(cf->nlistens, sizeof(*srv->ls));
	for (i = 0; i < cf->nlistens; i++) {
		l = &srv->ls[srv->nls++];
		l->srv = srv;
		l->address = xstrdup(cf->listens[i].address);
		if (cf->listens[i].cert != NULL && (l->ctx = tls_ctx_new(
		    &cf->listens[i], why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "listen %s: %s", l->address, why);
			return (-1);
		}
		if (server_listen(srv, l, err, errlen) == -1)
			return (-1);
		if (l->ctx == NULL && !config_listen_loopback(l->address))
			log_warnx("listen %s: plain HTTP on a non-loopback "
			    "address: tokens and evidence cross the network "
			    "in clear; add tls: { cert, key }", l->address);
	}
	return (0);
}

/*
 * Build the daemon: event base (with pthreads support, so the writer can
 * wake it), HTTP limits, listener, ledger and writer thread.  cf is
 * borrowed and must outlive the server.
 */
struct server *
server_new(struct config *cf, char *err, size_t errlen)
{
	struct server	*srv;
	struct ledger	*writer;
	struct event_config *ecf;
	const struct limits *lim = &cf->limits;

	if (evthread_use_pthreads() == -1) {
		snprintf(err, errlen, "libevent has no pthreads support");
		return (NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);	/* until reload.c's event is added */
	srv = xcalloc(1, sizeof(*srv));
	srv->cf = cf;
	srv->cf0 = cf;
	srv->cf_push = cf;
	metrics_init(&srv->metrics, cf->types);
	if (cf->access_log.path != NULL && (srv->alog = alog_new(
	    &cf->access_log, &srv->metrics, err, errlen)) == NULL)
		goto fail;
	srv->rates = xcalloc(cf->ntokens ? cf->ntokens : 1,
	    sizeof(*srv->rates));
	/*
	 * epoll's change list: a reply enables EV_WRITE and, once written,
	 * disables it again within one loop pass; batched, the pair costs no
	 * epoll_ctl at all.  (Unsafe only with dup()ed descriptors, which
	 * nothing here makes.)
	 */
	if ((ecf = event_config_new()) == NULL)
		fatalx("%s: event_config_new", __func__);
	event_config_set_flag(ecf, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	srv->base = event_base_new_with_config(ecf);
	event_config_free(ecf);
	if (srv->base == NULL) {
		snprintf(err, errlen, "cannot create the event base");
		goto fail;
	}
	srv->conns = conn_new(srv);

	if ((writer = ledger_open(cf->ledger, (cf->verify_on_start ?
	    LEDGER_VERIFY : 0) | (cf->ledger_mode == 0640 ? LEDGER_GROUP : 0),
	    err, errlen)) == NULL)
		goto fail;
	/* The outbox and the change feed, in every claim's transaction. */
	if ((srv->outbox = server_outbox(cf, writer, err, errlen)) == NULL) {
		ledger_close(writer);
		goto fail;
	}
	ledger_on_claim(writer, outbox_on_claim, srv->outbox);
	atomic_store(&srv->metrics.ledger_seq, writer->last_seq);
	/* Derivation: the claims engine, deployments and milestones. */
	srv->ingest = ingest_new(srv->base, writer, derive_new(cf->rules,
	    cf->milestones), lim, &srv->metrics, server_ingest_done, srv);
	if ((srv->reader = ledger_open(cf->ledger, LEDGER_RDONLY, err,
	    errlen)) == NULL)
		goto fail;
	if ((srv->reads = reads_new(srv, cf->ledger, err, errlen)) == NULL)
		goto fail;
	/* Late events' watermarks, read once now rather than on the loop. */
	if (cf->limits.max_lateness > 0 && gates_watermark_load(srv) == -1) {
		snprintf(err, errlen, "the ledger: cannot read the sources' "
		    "watermarks: %s", ledger_error(srv->reader));
		goto fail;
	}
	if ((srv->push = push_new(srv, err, errlen)) == NULL)
		goto fail;
	if (server_listeners(srv, err, errlen) == -1)
		goto fail;
	deployments_timer_start(srv);
	clock_start(srv);
	srv->ev_term = evsignal_new(srv->base, SIGTERM, server_signal, srv);
	srv->ev_int = evsignal_new(srv->base, SIGINT, server_signal, srv);
	evsignal_add(srv->ev_term, NULL);
	evsignal_add(srv->ev_int, NULL);
	srv->ev_hup = evsignal_new(srv->base, SIGHUP, reload_signal, srv);
	evsignal_add(srv->ev_hup, NULL);
	return (srv);
fail:
	server_free(srv);
	return (NULL);
}

int
server_run(struct server *srv)
{
	char	*safe = ledger_url_safe(srv->cf->ledger);
	size_t	 i;

	for (i = 0; i < srv->nls; i++)
		log_info("listening on %s%s", srv->ls[i].addr,
		    srv->ls[i].ctx != NULL ? " (TLS)" : "");
	log_info("ledger %s, at sequence %lld", safe,
	    (long long)atomic_load(&srv->metrics.ledger_seq));
	free(safe);
	if (event_base_dispatch(srv->base) == -1) {
		log_warnx("%s: event loop failed", __func__);
		return (1);
	}
	return (0);
}

void
server_free(struct server *srv)
{
	size_t	i;

	if (srv == NULL)
		return;
	/*
	 * The writer first: it finishes its batch (and the outbox jobs,
	 * which point into push's requests); then push, then the outbox's
	 * statements, before the writer's ledger closes.
	 */
	ingest_stop(srv->ingest);
	push_free(srv->push);
	outbox_free(srv->outbox);
	ingest_free(srv->ingest);
	reads_free(srv->reads);		/* before evhttp_free: its requests */
	free(srv->wm);
	srv->stopping = 1;	/* closing connections must not resume listeners */
	for (i = 0; i < srv->nls; i++) {
		if (srv->ls[i].http != NULL)
			evhttp_free(srv->ls[i].http);
		SSL_CTX_free(srv->ls[i].ctx);
		free(srv->ls[i].address);
	}
	free(srv->ls);
	feed_wait_free(srv);	/* after evhttp_free, before the base */
	conn_free(srv->conns);
	ledger_close(srv->reader);
	if (srv->tok != NULL)
		json_tokener_free(srv->tok);
	if (srv->ev_term != NULL)
		event_free(srv->ev_term);
	if (srv->ev_int != NULL)
		event_free(srv->ev_int);
	if (srv->ev_hup != NULL)
		event_free(srv->ev_hup);
	if (srv->ev_exit != NULL)
		event_free(srv->ev_exit);
	if (srv->ev_stall != NULL)
		event_free(srv->ev_stall);
	if (srv->ev_clock != NULL)
		event_free(srv->ev_clock);
	if (srv->base != NULL)
		event_base_free(srv->base);
	free(srv->rates);
	alog_free(srv->alog);	/* after evhttp_free: no more replies */
	session_free(srv->sessions);
	web_free();
	metrics_free(&srv->metrics);
	if (srv->cf != srv->cf0)
		config_free(srv->cf);	/* the loop's reference */
	if (srv->cf_push != srv->cf0)
		config_free(srv->cf_push);
	config_free(srv->push_next);
	free(srv);
}

/*
 * Become user (the OpenBSD daemons' habit): called once the listeners
 * are bound and the ledger is open, before the loop.  Supplementary
 * groups, then the group, then the user; then prove root cannot be
 * regained.  Returns 0, or -1 with err set.  Everything the daemon opens
 * later (a reload's configuration and certificates) must be readable by
 * user.
 */
int
server_drop(struct server *srv, const char *user, char *err, size_t errlen)
{
	struct passwd	*pw;

	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: no such user", user);
		return (-1);
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return (0);
		snprintf(err, errlen, "user %s: only root can change user",
		    user);
		return (-1);
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "user %s: cannot drop privileges: %s",
		    user, strerror(errno));
		return (-1);
	}
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatalx("%s: root regained after dropping to %s", __func__,
		    user);
	log_info("running as %s (uid %u, gid %u)", user,
	    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	(void)srv;
	return (0);
}
