/*
 * reload.c: SIGHUP.  The configuration file is read again into a new,
 * immutable struct config; if it loads (and every TLS listener's files
 * load), it is swapped in, else the running one stays and the log says
 * why, with file:line.
 *
 * The handover (docs/ARCHITECTURE.md, "Reload"): configurations are
 * reference counted.  The loop holds the current one (srv->cf) and swaps
 * the pointer between two callbacks, so no handler sees two; each request
 * queued for the writer holds a reference on the one it was checked with
 * (its token, its parsed types); the writer takes the new one between two
 * batches and rebuilds derivation on it.  The old configuration is freed
 * with its last reference.  Nothing is dropped: connections, requests in
 * flight and acknowledged evidence carry on.
 *
 * What is built once at start keeps the start-up configuration (cf0):
 * listen addresses, the ledger, user, the access log; a change to those
 * is logged as needing a restart.  Sinks and subscriptions: push.c is
 * drained (nothing new started, everything in flight finished), then the
 * writer builds the new outbox and installs it as the claim hook in its
 * next transaction, and the loop rebuilds push on it (srv->cf_push).
 * Rows and cursors are in the ledger, so nothing is lost: a sink whose
 * subscriptions changed starts its cursor again (outbox.c), a sink gone
 * loses its cursor.  Everything else (tokens, agent_secret, sources and
 * their secrets, services and the catalog, redaction, rate, limits read
 * per request, types, claims and derivation) applies from the swap on,
 * and so does any section added later, unless it is listed here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milepostd.h"

/* Sections read once at start: a change waits for a restart. */
static const char *const reload_restart[] = {
	"ledger", "user", "access_log",
};

/* A reload's new outbox, built on the writer. */
struct reload_outbox {
	struct ingest_job	 job;
	struct server		*srv;
	struct config		*cf;		/* a reference */
	struct outbox		*ob;
	char			 err[MP_ERRLEN];
};

static int
reload_same(json_object *a, json_object *b, const char *key)
{
	json_object	*va = NULL, *vb = NULL;
	int		 ha, hb;

	ha = json_object_object_get_ex(a, key, &va);
	hb = json_object_object_get_ex(b, key, &vb);
	if (ha != hb)
		return (0);
	return (!ha || json_object_equal(va, vb));
}

/* The listener of ncf with l's address, or NULL. */
static const struct listen_conf *
reload_listen(const struct config *ncf, const struct listener *l)
{
	size_t	i;

	for (i = 0; i < ncf->nlistens; i++)
		if (strcmp(ncf->listens[i].address, l->address) == 0)
			return (&ncf->listens[i]);
	return (NULL);
}

/*
 * Apply ncf (taken: on success it becomes srv->cf, on failure it is
 * freed).  TLS contexts are built first, so a bad certificate fails the
 * whole reload.  Returns 0, or -1 with err set (the running configuration
 * unchanged).
 */
int
reload_apply(struct server *srv, struct config *ncf, char *err,
    size_t errlen)
{
	struct config		*old = srv->cf;
	const struct listen_conf *lc;
	struct rate_bucket	*rates;
	SSL_CTX			**ctx;
	char			 why[MP_ERRLEN];
	size_t			 i, j;

	ctx = xcalloc(srv->nls ? srv->nls : 1, sizeof(*ctx));
	for (i = 0; i < srv->nls; i++) {
		if ((lc = reload_listen(ncf, &srv->ls[i])) == NULL ||
		    lc->cert == NULL)
			continue;
		if ((ctx[i] = tls_ctx_new(lc, why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "%s: listen %s: %s", ncf->path,
			    srv->ls[i].address, why);
			for (j = 0; j < i; j++)
				SSL_CTX_free(ctx[j]);
			free(ctx);
			config_free(ncf);
			return (-1);
		}
	}
	/* Past this point nothing fails. */
	for (i = 0; i < srv->nls; i++) {
		if ((lc = reload_listen(ncf, &srv->ls[i])) == NULL) {
			log_warnx("reload: listen %s is gone from %s: it stays "
			    "until a restart", srv->ls[i].address, ncf->path);
			SSL_CTX_free(ctx[i]);	/* NULL */
			continue;
		}
		SSL_CTX_free(srv->ls[i].ctx);	/* its connections keep theirs */
		srv->ls[i].ctx = ctx[i];
		if (ctx[i] == NULL && !config_listen_loopback(lc->address))
			log_warnx("listen %s: plain HTTP on a non-loopback "
			    "address", lc->address);
	}
	free(ctx);
	for (i = 0; i < ncf->nlistens; i++) {
		for (j = 0; j < srv->nls; j++)
			if (strcmp(ncf->listens[i].address,
			    srv->ls[j].address) == 0)
				break;
		if (j == srv->nls)
			log_warnx("reload: listen %s is new: it opens at the "
			    "next restart", ncf->listens[i].address);
	}
	for (i = 0; i < sizeof(reload_restart) / sizeof(reload_restart[0]);
	    i++)
		if (!reload_same(srv->cf0->tree, ncf->tree, reload_restart[i]))
			log_warnx("reload: %s changed: it applies at the next "
			    "restart", reload_restart[i]);

	/* Rate buckets follow their token (by digest); new ones start full. */
	rates = xcalloc(ncf->ntokens ? ncf->ntokens : 1, sizeof(*rates));
	for (i = 0; i < ncf->ntokens; i++)
		for (j = 0; j < old->ntokens; j++)
			if (memcmp(ncf->tokens[i].digest, old->tokens[j].digest,
			    sizeof(ncf->tokens[i].digest)) == 0) {
				rates[i] = srv->rates[j];
				break;
			}
	free(srv->rates);
	srv->rates = rates;

	/* Sinks or subscriptions changed: drain push, then swap (below). */
	if (!reload_same(srv->cf_push->tree, ncf->tree, "sinks") ||
	    !reload_same(srv->cf_push->tree, ncf->tree, "subscriptions") ||
	    (srv->push_next != NULL &&
	    (!reload_same(srv->push_next->tree, ncf->tree, "sinks") ||
	    !reload_same(srv->push_next->tree, ncf->tree, "subscriptions")))) {
		config_free(srv->push_next);
		srv->push_next = config_ref(ncf);
		push_drain(srv->push);
	}

	srv->cf = ncf;				/* the loop's reference */
	ingest_set_config(srv->ingest, ncf);	/* new requests, the writer */
	if (old != srv->cf0)
		config_free(old);
	atomic_fetch_add(&srv->metrics.reloads, 1);
	return (0);
}

/* SIGHUP: read the file again and apply it, or keep the running one. */
void
reload_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;
	struct config	*ncf;
	char		 err[MP_ERRLEN];

	if (srv->stopping)
		return;
	if (strcmp(srv->cf0->path, "(defaults)") == 0) {
		log_warnx("reload: started without -c: nothing to read");
		return;
	}
	if ((ncf = config_load(srv->cf0->path, err, sizeof(err))) == NULL ||
	    reload_apply(srv, ncf, err, sizeof(err)) == -1) {
		atomic_fetch_add(&srv->metrics.reload_failures, 1);
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		return;
	}
	log_info("reloaded %s: %zu tokens, %zu agent secrets",
	    srv->cf->path, srv->cf->ntokens, srv->cf->nagent_keys);
}

/* On the writer: the new outbox, installed as the ledger's claim hook. */
static int
reload_outbox_run(struct ledger *l, void *arg)
{
	struct reload_outbox	*ro = arg;

	if ((ro->ob = server_outbox(ro->cf, l, ro->err, sizeof(ro->err))) ==
	    NULL)
		return (-1);
	ledger_on_claim(l, outbox_on_claim, ro->ob);
	return (0);
}

/* Back on the loop: the old outbox goes, push is rebuilt on the new one. */
static void
reload_outbox_done(struct ingest_job *job, void *arg)
{
	struct reload_outbox	*ro = arg;
	struct server		*srv = ro->srv;
	char			 err[MP_ERRLEN];

	/*
	 * Once built, the new outbox is the writer's hook, even if its
	 * transaction then rolled back (only its forgetting of gone sinks'
	 * cursors is lost, redone at the next start): keep it either way.
	 */
	if (ro->ob == NULL) {
		log_warnx("reload: sinks and subscriptions kept as they were: "
		    "%s", job->failed && ro->err[0] == '\0' ? "the writer "
		    "failed" : ro->err);
		config_free(ro->cf);
		free(ro);
		push_free(srv->push);	/* start again on the old ones */
		if ((srv->push = push_new(srv, err, sizeof(err))) == NULL)
			fatalx("%s: %s", __func__, err);
		return;
	}
	outbox_free(srv->outbox);
	srv->outbox = ro->ob;
	push_free(srv->push);
	if (srv->cf_push != srv->cf0)
		config_free(srv->cf_push);
	srv->cf_push = ro->cf;			/* the reference moves */
	if ((srv->push = push_new(srv, err, sizeof(err))) == NULL)
		fatalx("%s: %s", __func__, err);
	log_info("reload: %zu sinks, %zu subscriptions", srv->cf_push->nsinks,
	    srv->cf_push->nsubs);
	free(ro);
	/* Changed again meanwhile: drain again. */
	if (srv->push_next != NULL)
		push_drain(srv->push);
}

/*
 * Push has nothing in flight (push.c, after push_drain): build the new
 * outbox on the writer, in its next transaction, then swap.
 */
void
reload_push_drained(evutil_socket_t fd, short what, void *arg)
{
	struct server		*srv = arg;
	struct reload_outbox	*ro;

	if (srv->push_next == NULL || srv->stopping)
		return;
	ro = xcalloc(1, sizeof(*ro));
	ro->srv = srv;
	ro->cf = srv->push_next;		/* the reference moves */
	srv->push_next = NULL;
	ro->job.run = reload_outbox_run;
	ro->job.done = reload_outbox_done;
	ro->job.arg = ro;
	ingest_job_submit(srv->ingest, &ro->job);
}
