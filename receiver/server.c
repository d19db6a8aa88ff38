/*
 * server.c: the event base, the listener and its connection cap, signals,
 * and an orderly shutdown that replies to every acknowledged request
 * before exiting.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "milepostd.h"

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
 * Connection accounting.  libevent 2.1 has no connection cap for evhttp,
 * so: every accepted connection passes through the bufferevent callback
 * (count it), and a deferred fix-up registers a close callback on the
 * connection evhttp built around it (uncount it).  At the cap the listener
 * is disabled, leaving new connections in the kernel's backlog.
 */
struct conn_fixup {
	struct server		*srv;
	struct bufferevent	*bev;
};

static void
server_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct server	*srv = arg;

	srv->nconns--;
	atomic_store(&srv->metrics.connections, srv->nconns);
	if (srv->paused && srv->nconns < srv->cf->limits.max_connections &&
	    !srv->stopping) {
		evconnlistener_enable(srv->listener);
		srv->paused = 0;
	}
}

static void
server_conn_fixup(evutil_socket_t fd, short what, void *arg)
{
	struct conn_fixup		*fx = arg;
	struct evhttp_connection	*evcon;
	bufferevent_data_cb		 rcb, wcb;
	bufferevent_event_cb		 ecb;
	void				*cbarg = NULL;

	bufferevent_getcb(fx->bev, &rcb, &wcb, &ecb, &cbarg);
	if ((evcon = cbarg) != NULL)
		evhttp_connection_set_closecb(evcon, server_conn_closed,
		    fx->srv);
	else	/* freed before we got here: bufferevent_free clears cbs */
		server_conn_closed(NULL, fx->srv);
	bufferevent_decref(fx->bev);
	free(fx);
}

static struct bufferevent *
server_bevcb(struct event_base *base, void *arg)
{
	struct server		*srv = arg;
	struct bufferevent	*bev;
	struct conn_fixup	*fx;

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return (NULL);
	fx = xmalloc(sizeof(*fx));
	fx->srv = srv;
	fx->bev = bev;
	bufferevent_incref(bev);
	event_base_once(base, -1, EV_TIMEOUT, server_conn_fixup, fx, NULL);
	srv->nconns++;
	atomic_store(&srv->metrics.connections, srv->nconns);
	if (srv->nconns >= srv->cf->limits.max_connections && !srv->paused) {
		evconnlistener_disable(srv->listener);
		srv->paused = 1;
		log_warnx("%s: %u connections: not accepting more", __func__,
		    srv->nconns);
	}
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

	if (srv->stopping)
		return;
	log_info("%s: stopping: no new connections, finishing %zu in flight",
	    strsignal((int)sig), ingest_inflight(srv->ingest));
	srv->stopping = 1;
	if (srv->bound != NULL) {
		evhttp_del_accept_socket(srv->http, srv->bound);
		srv->bound = NULL;
		srv->listener = NULL;
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

static int
server_listen(struct server *srv, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			*host, *colon, ip[INET6_ADDRSTRLEN];
	long			 port;
	int			 fd;

	host = xstrdup(srv->cf->listen);
	colon = strrchr(host, ':');
	*colon = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	srv->bound = evhttp_bind_socket_with_handle(srv->http,
	    *host ? host : "0.0.0.0", (ev_uint16_t)port);
	if (srv->bound == NULL) {
		snprintf(err, errlen, "listen %s: %s", srv->cf->listen,
		    strerror(errno));
		free(host);
		return (-1);
	}
	free(host);
	srv->listener = evhttp_bound_socket_get_listener(srv->bound);
	fd = evhttp_bound_socket_get_fd(srv->bound);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			snprintf(srv->addr, sizeof(srv->addr), "[%s]:%u", ip,
			    ntohs(s6->sin6_port));
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
			snprintf(srv->addr, sizeof(srv->addr), "%s:%u", ip,
			    ntohs(s4->sin_port));
		}
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
	signal(SIGHUP, SIG_IGN);
	srv = xcalloc(1, sizeof(*srv));
	srv->cf = cf;
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
	if (srv->base == NULL ||
	    (srv->http = evhttp_new(srv->base)) == NULL) {
		snprintf(err, errlen, "cannot create the event base");
		goto fail;
	}
	/*
	 * evhttp cuts bodies at twice the limit (bounded memory, with its
	 * own HTML 413); between the limit and that, http.c answers with a
	 * JSON 413 as INTERFACE.md asks.
	 */
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)(lim->max_body * 2));
	evhttp_set_max_headers_size(srv->http, (ev_ssize_t)lim->max_headers);
	evhttp_set_timeout(srv->http, (int)lim->timeout);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(srv->http, http_route, srv);
	evhttp_set_bevcb(srv->http, server_bevcb, srv);

	if ((writer = ledger_open(cf->ledger, 0, err, errlen)) == NULL)
		goto fail;
	/* The outbox and the change feed, in every claim's transaction. */
	if ((srv->outbox = outbox_new(cf->sinks, cf->nsinks, cf->subs,
	    cf->nsubs, writer, server_present, (void *)cf, err, errlen)) ==
	    NULL) {
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
	if ((srv->push = push_new(srv, err, errlen)) == NULL)
		goto fail;
	if (server_listen(srv, err, errlen) == -1)
		goto fail;
	deployments_timer_start(srv);
	clock_start(srv);
	srv->ev_term = evsignal_new(srv->base, SIGTERM, server_signal, srv);
	srv->ev_int = evsignal_new(srv->base, SIGINT, server_signal, srv);
	evsignal_add(srv->ev_term, NULL);
	evsignal_add(srv->ev_int, NULL);
	return (srv);
fail:
	server_free(srv);
	return (NULL);
}

int
server_run(struct server *srv)
{
	char	*safe = ledger_url_safe(srv->cf->ledger);

	log_info("listening on %s, ledger %s, ledger at sequence %lld",
	    srv->addr, safe, (long long)atomic_load(&srv->metrics.ledger_seq));
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
	if (srv->http != NULL)
		evhttp_free(srv->http);
	ledger_close(srv->reader);
	if (srv->tok != NULL)
		json_tokener_free(srv->tok);
	if (srv->ev_term != NULL)
		event_free(srv->ev_term);
	if (srv->ev_int != NULL)
		event_free(srv->ev_int);
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
	metrics_free(&srv->metrics);
	free(srv);
}
