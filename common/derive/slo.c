/*
 * slo.c: Slo claims, derived in the writer's transaction.
 *
 * Each SLO of slos: keeps a burn (burn.c) in memory: per-minute (or
 * per-slice) buckets with running sums per window.  slo_apply feeds it
 * the evidence its indicator selects: ratio filters add good and total
 * events, SliReported adds a reported good and total spread over its
 * interval, AlertFiring / AlertResolved of the SLO's service open and
 * close bad time slices.  slo_flush moves every SLO to the batch's
 * watermark (the latest trusted event time, as milestones use: never the
 * wall clock, so `claims rebuild` gives the same revisions) and writes an
 * Slo revision (bitemporal, with basis, in the change feed) whenever its
 * rounded numbers or its state changed.
 *
 * After a restart (or a rolled-back batch) an SLO's buckets are loaded
 * once from the evidence of its types over the ring's span before the
 * evidence being applied (ledger_collect, bounded by seq), replayed in
 * ledger order: the same arithmetic the writer did.
 *
 * Late events: each source has a watermark, the latest trusted event
 * time it sent (after a restart, read once from the ledger up to the
 * evidence being applied: ledger_source_times, so that `claims rebuild`
 * flags the same revisions).  An event older than its source's
 * watermark minus SLO_LATENESS still lands in its bucket (the windows it
 * is in move); the revision it causes says `late: true`, and `as_of`
 * still answers the revision before it.  An event older than the ring
 * changes nothing.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive/derive.h"

#define SLO_BASIS_MAX	8
#define SLO_TRUST_AHEAD	(86400LL * 1000000)	/* as milestone.c */
#define SLO_LATENESS	(300LL * 1000000)	/* allowed lateness */
#define SLO_OPEN_MAX	1024			/* alert instances */
#define SLO_SPREAD_MAX	1440			/* buckets a report spans */
#define SLO_LOAD_MAX	1000000			/* items loaded per type */
#define SLO_SOURCES_MAX	64			/* watermarks kept */

struct slo_rt {
	struct burn	*b;
	int		 loaded;
	int		 dirty;
	int		 late;
	int64_t		 flushed_head;	/* burn head at the last flush */
	char		*stored;	/* slo_key of the last revision, or NULL */
	char		*stored_full;	/* its canonical properties */
	int64_t		 revision;
	int64_t		 anchor;
	struct basis	 basis;
	char		**open;		/* alert instances open */
	size_t		  nopen;
};

struct slo_wm {
	char		 source[64];
	int64_t		 max;		/* the source's watermark */
	int64_t		 committed;	/* at the last flush */
};

struct slos {
	const struct slo_conf *sc;
	struct slo_rt	*st;
	struct slo_wm	 wm[SLO_SOURCES_MAX];
	size_t		 nwm, committed_nwm;
	int		 wm_loaded;	/* from the ledger, after a restart */
	int64_t		 now;		/* watermark, microseconds */
	int64_t		 committed_now;
	char		*last_id;
	int64_t		 last_seq;
};

static char	*slo_key(json_object *);

/* The watermark of source, made (at INT64_MIN) when create; NULL when
 * there is none, or no room (past SLO_SOURCES_MAX nothing is late). */
static struct slo_wm *
slo_wm(struct slos *ss, const char *source, int create)
{
	struct slo_wm	*w;
	size_t		 i;

	if (source == NULL)
		return (NULL);
	for (i = 0; i < ss->nwm; i++)
		if (strcmp(ss->wm[i].source, source) == 0)
			return (&ss->wm[i]);
	if (!create || ss->nwm == SLO_SOURCES_MAX ||
	    strlen(source) >= sizeof(w->source))
		return (NULL);
	w = &ss->wm[ss->nwm++];
	strlcpy(w->source, source, sizeof(w->source));
	w->max = w->committed = INT64_MIN;
	return (w);
}

static void
slo_wm_load_one(const char *source, int64_t t, void *arg)
{
	struct slo_wm	*w;

	if ((w = slo_wm(arg, source, 1)) != NULL)
		w->max = w->committed = t;
}

struct slos *
slo_new(const struct slo_conf *sc)
{
	struct slos	*ss;
	size_t		 i;

	ss = xcalloc(1, sizeof(*ss));
	ss->sc = sc;
	ss->st = xcalloc(sc->nslo ? sc->nslo : 1, sizeof(*ss->st));
	for (i = 0; i < sc->nslo; i++)
		basis_init(&ss->st[i].basis, SLO_BASIS_MAX);
	ss->now = ss->committed_now = INT64_MIN;
	return (ss);
}

static void
slo_rt_drop(struct slo_rt *r)
{
	burn_free(r->b);
	free(r->stored);
	free(r->stored_full);
	basis_free(&r->basis);
	strv_free(r->open, r->nopen);
	memset(r, 0, sizeof(*r));
	basis_init(&r->basis, SLO_BASIS_MAX);
}

void
slo_free(struct slos *ss)
{
	size_t	i;

	if (ss == NULL)
		return;
	for (i = 0; i < ss->sc->nslo; i++)
		slo_rt_drop(&ss->st[i]);
	free(ss->st);
	free(ss->last_id);
	free(ss);
}

/* The batch rolled back: forget every burn; reload from storage. */
void
slo_abort(struct slos *ss)
{
	size_t	i;

	for (i = 0; i < ss->sc->nslo; i++)
		slo_rt_drop(&ss->st[i]);
	ss->now = ss->committed_now;
	ss->nwm = ss->committed_nwm;
	for (i = 0; i < ss->nwm; i++)
		ss->wm[i].max = ss->wm[i].committed;
}

static const char *
slo_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

static int64_t
slo_sec(int64_t us)
{
	return (us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
}

/* A label matcher looks at the links, then the properties. */
static int
slo_labels_match(const struct slo_def *d, json_object *props,
    json_object *links)
{
	struct slo_filter	 f;
	struct slo_match	 one;
	json_object		*src;
	size_t			 i;

	for (i = 0; i < d->nlabels; i++) {
		one = d->labels[i];
		src = links;
		if (!json_object_object_get_ex(links, one.key, NULL))
			src = props;
		one.link = 0;
		f.type = NULL;
		f.m = &one;
		f.nm = 1;
		if (!slo_filter_match(&f, "", src, NULL))
			return (0);
	}
	return (1);
}

static int
slo_open_find(const struct slo_rt *r, const char *inst)
{
	size_t	i;

	for (i = 0; i < r->nopen; i++)
		if (strcmp(r->open[i], inst) == 0)
			return ((int)i);
	return (-1);
}

/*
 * Feed one evidence to SLO d's burn.  Returns 1 when it counted, 0 when
 * the indicator does not select it.
 */
static int
slo_feed(const struct slo_def *d, struct slo_rt *r, const char *type,
    const char *subject, int64_t time, json_object *props,
    json_object *links)
{
	json_object	*v;
	const char	*s, *svc, *env;
	double		 good, total, span;
	int64_t		 start, end, k0, k1, k, t;
	int		 g, tt, i;

	switch (d->kind) {
	case SLO_RATIO:
		tt = slo_filter_match(&d->total, type, props, links);
		g = slo_filter_match(&d->good, type, props, links);
		if (!tt && !g)
			return (0);
		burn_add(r->b, slo_sec(time), g ? 1 : 0, tt ? 1 : 0);
		return (1);
	case SLO_REPORTED:
		if (strcmp(type, "SliReported") != 0 ||
		    (s = slo_str(props, "slo")) == NULL ||
		    strcmp(s, d->name) != 0)
			return (0);
		if (!json_object_object_get_ex(props, "good", &v))
			return (0);
		good = json_object_get_double(v);
		if (!json_object_object_get_ex(props, "total", &v))
			return (0);
		total = json_object_get_double(v);
		if (good < 0 || total < 0 || good > total)
			return (0);	/* the agent refuses these */
		end = slo_sec(time);
		if ((s = slo_str(props, "end")) != NULL && tf_parse(s, &t) == 0)
			end = slo_sec(t);
		start = end;
		if ((s = slo_str(props, "start")) != NULL &&
		    tf_parse(s, &t) == 0 && slo_sec(t) < end)
			start = slo_sec(t);
		/* Spread over the buckets of [start, end), evenly. */
		k0 = start / r->b->slice;
		k1 = end > start ? (end - 1) / r->b->slice : k0;
		if (k1 - k0 + 1 > SLO_SPREAD_MAX)
			k0 = k1;
		span = (double)(k1 - k0 + 1);
		for (k = k0; k <= k1; k++)
			burn_add(r->b, k * r->b->slice, good / span,
			    total / span);
		return (1);
	case SLO_ALERTS:
		if (strcmp(type, "AlertFiring") != 0 &&
		    strcmp(type, "AlertResolved") != 0)
			return (0);
		if ((svc = slo_str(links, "service")) == NULL)
			svc = slo_str(props, "service");
		if (svc == NULL || strcmp(svc, d->service) != 0)
			return (0);
		if ((env = slo_str(links, "environment")) == NULL)
			env = slo_str(props, "environment");
		if (env != NULL && strcmp(env, d->environment) != 0)
			return (0);
		if (!slo_labels_match(d, props, links))
			return (0);
		i = slo_open_find(r, subject);
		if (strcmp(type, "AlertFiring") == 0) {
			if (i != -1 || r->nopen >= SLO_OPEN_MAX)
				return (i != -1);
			t = time;
			if ((s = slo_str(props, "startsAt")) != NULL)
				tf_parse(s, &t);
			r->open = xreallocarray(r->open, r->nopen + 1,
			    sizeof(*r->open));
			r->open[r->nopen++] = xstrdup(subject);
			burn_alert_open(r->b, slo_sec(t));
			return (1);
		}
		if (i == -1)
			return (0);
		free(r->open[i]);
		r->open[i] = r->open[--r->nopen];
		t = time;
		if ((s = slo_str(props, "endsAt")) != NULL)
			tf_parse(s, &t);
		burn_alert_close(r->b, slo_sec(t));
		return (1);
	}
	return (0);
}

/* The evidence types SLO d reads; n of them (at most 2). */
static size_t
slo_types(const struct slo_def *d, const char *out[2])
{
	switch (d->kind) {
	case SLO_RATIO:
		out[0] = d->total.type;
		out[1] = d->good.type;
		return (strcmp(out[0], out[1]) == 0 ? 1 : 2);
	case SLO_REPORTED:
		out[0] = "SliReported";
		return (1);
	case SLO_ALERTS:
		out[0] = "AlertFiring";
		out[1] = "AlertResolved";
		return (2);
	}
	return (0);
}

struct slo_item {
	int64_t		 seq, time;
	char		*type, *subject, *props, *links;
};
struct slo_load {
	struct slo_item	*it;
	size_t		 n;
	const char	*type;
};

static int
slo_load_one(const char *key, int64_t time, const char *subject,
    const char *props, const char *links, void *arg)
{
	struct slo_load	*ld = arg;
	struct slo_item	*x;

	if (ld->n >= SLO_LOAD_MAX * 2)
		return (-1);
	ld->it = xreallocarray(ld->it, ld->n + 1, sizeof(*ld->it));
	x = &ld->it[ld->n++];
	x->seq = key[0] == '#' ? strtoll(key + 1, NULL, 10) : 0;
	x->time = time;
	x->type = xstrdup(ld->type);
	x->subject = xstrdup(subject ? subject : "");
	x->props = xstrdup(props ? props : "{}");
	x->links = xstrdup(links ? links : "{}");
	return (0);
}

static int
slo_itemcmp(const void *a, const void *b)
{
	const struct slo_item *x = a, *y = b;

	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/*
 * Load SLO i: its stored claim, then its buckets from the evidence
 * stored before ev (seq < ev->seq) over the ring's span.  Returns 0 or -1.
 */
static int
slo_load(struct slos *ss, struct ledger *l, size_t i,
    const struct evidence *ev)
{
	const struct slo_def	*d = &ss->sc->slo[i];
	struct slo_rt		*r = &ss->st[i];
	struct slo_load		 ld;
	struct claim		 c;
	const char		*types[2];
	json_object		*p, *lk;
	int64_t			 from, at;
	size_t			 n, j;
	int			 found, rc = 0;

	r->b = slo_burn_new(d);
	memset(&c, 0, sizeof(c));
	if ((found = ledger_claim_get(l, "Slo", d->name, INT64_MAX, &c)) ==
	    -1) {
		burn_free(r->b);
		r->b = NULL;
		return (-1);
	}
	at = found == 1 ? c.time : ev->time;
	from = at - (int64_t)r->b->nb * r->b->slice * 1000000;
	if (found == 1) {
		if ((p = json_tokener_parse(c.properties)) != NULL) {
			r->stored = slo_key(p);
			json_object_put(p);
		}
		r->stored_full = xstrdup(c.properties);
		r->revision = c.revision;
		r->anchor = c.anchor;
		/* Slices from alerts count from where the clock began. */
		if (r->b->clocked && (p = json_tokener_parse(c.properties)) !=
		    NULL) {
			const char	*s = slo_str(p, "since");
			int64_t		 since;

			if (s != NULL && tf_parse(s, &since) == 0)
				burn_advance(r->b, slo_sec(since > from ?
				    since : from));
			json_object_put(p);
		}
	}
	claim_clear(&c);
	memset(&ld, 0, sizeof(ld));
	n = slo_types(d, types);
	for (j = 0; j < n && rc == 0; j++) {
		ld.type = types[j];
		rc = ledger_collect(l, types[j], 0, from, INT64_MAX,
		    ev->seq - 1, SLO_LOAD_MAX, slo_load_one, &ld);
	}
	if (ld.n > 0)	/* ld.it is NULL when nothing was collected */
		qsort(ld.it, ld.n, sizeof(*ld.it), slo_itemcmp);
	for (j = 0; j < ld.n; j++) {
		p = json_tokener_parse(ld.it[j].props);
		lk = json_tokener_parse(ld.it[j].links);
		slo_feed(d, r, ld.it[j].type, ld.it[j].subject, ld.it[j].time,
		    p, lk);
		json_object_put(p);
		json_object_put(lk);
		free(ld.it[j].type);
		free(ld.it[j].subject);
		free(ld.it[j].props);
		free(ld.it[j].links);
	}
	free(ld.it);
	if (found == 1)
		burn_advance(r->b, slo_sec(at));
	if (found == 1 && at > ss->now)
		ss->now = ss->committed_now = at;
	r->flushed_head = r->b->head;
	r->loaded = 1;
	return (rc);
}

/*
 * Apply one stored evidence (in the writer's open transaction) to every
 * SLO whose indicator selects it.  Returns 0, or -1 on a storage error.
 */
int
slo_apply(struct slos *ss, struct ledger *l, const struct evidence *ev)
{
	const struct slo_conf	*sc = ss->sc;
	json_object		*props = NULL, *links = NULL;
	const char		*types[2];
	struct slo_rt		*r;
	struct slo_wm		*w;
	size_t			 i, j, n;
	int			 wants, parsed = 0, rc = 0, trusted, late;

	for (i = 0; i < sc->nslo; i++)
		if (!ss->st[i].loaded && slo_load(ss, l, i, ev) == -1)
			return (-1);
	if (!ss->wm_loaded) {
		if (ledger_source_times(l, ev->seq - 1, SLO_TRUST_AHEAD,
		    slo_wm_load_one, ss) == -1)
			return (-1);
		ss->committed_nwm = ss->nwm;
		ss->wm_loaded = 1;
	}
	trusted = ev->time <= ev->recorded_at + SLO_TRUST_AHEAD;
	w = slo_wm(ss, ev->source, trusted);
	late = w != NULL && w->max != INT64_MIN &&
	    ev->time < w->max - SLO_LATENESS;
	if (w != NULL && trusted && ev->time > w->max)
		w->max = ev->time;
	if (trusted && ev->time > ss->now)
		ss->now = ev->time;
	free(ss->last_id);
	ss->last_id = xstrdup(ev->id);
	ss->last_seq = ev->seq;
	for (i = 0; i < sc->nslo; i++) {
		n = slo_types(&sc->slo[i], types);
		for (wants = 0, j = 0; j < n; j++)
			wants |= strcmp(types[j], ev->type) == 0;
		if (!wants)
			continue;
		if (!parsed) {
			props = json_tokener_parse(ev->properties);
			links = json_tokener_parse(ev->links);
			parsed = 1;
		}
		r = &ss->st[i];
		if (!slo_feed(&sc->slo[i], r, ev->type, ev->subject, ev->time,
		    props, links))
			continue;
		r->dirty = 1;
		if (late)
			r->late = 1;
		basis_add_ev(&r->basis, ev->id, ev->seq);
	}
	json_object_put(props);
	json_object_put(links);
	return (rc);
}

/*
 * What writes a revision at once: a change of state, class, or lateness
 * (the key below).  The figures (counts, SLI, budget, burns), which move
 * with every event, are written when time moves a bucket on and they
 * differ: at most one revision per SLO per bucket (a minute, or a slice)
 * of event time, not one per batch, which would cost a claim revision
 * and a change-feed row per SLO per batch.  p is borrowed; the key is
 * taken.
 */
static char *
slo_key(json_object *p)
{
	json_object	*v;
	char		*key;
	const char	*state = "", *cls = "";
	int		 late = 0;

	if (json_object_object_get_ex(p, "state", &v))
		state = json_object_get_string(v);
	if (json_object_object_get_ex(p, "class", &v))
		cls = json_object_get_string(v);
	if (json_object_object_get_ex(p, "late", &v))
		late = json_object_get_boolean(v);
	xasprintf(&key, "%s/%s/%d", state, cls, late);
	return (key);
}

/* Write SLO i's revision when its properties changed. */
static int
slo_write(struct slos *ss, struct ledger *l, size_t i, int64_t recorded_at,
    int moved)
{
	const struct slo_def	*d = &ss->sc->slo[i];
	struct slo_rt		*r = &ss->st[i];
	json_object		*p, *lk;
	struct buf		 b, lb;
	struct claim		 c;
	char			*key;
	enum slo_state		 st, cls;
	int			 rc;

	/* Cheaply first: a batch that changes no state writes nothing. */
	if (!moved && r->stored != NULL) {
		st = slo_state(d, r->b, &cls);
		xasprintf(&key, "%s/%s/%d", slo_state_name(st), cls == SLO_PAGE ?
		    "page" : cls == SLO_TICKET ? "ticket" : "none", r->late);
		rc = strcmp(key, r->stored) == 0;
		free(key);
		if (rc)
			return (0);
	}
	slo_evaluate(d, r->b, &p);
	if (r->late)
		json_object_object_add(p, "late", json_object_new_boolean(1));
	key = slo_key(p);
	buf_init(&b);
	evidence_canonical_json(p, &b);
	json_object_put(p);
	/*
	 * Unchanged figures: no revision.  When time moved a bucket on, the
	 * counts count too (a revision at most per bucket, none when idle).
	 */
	if (r->stored != NULL && strcmp(r->stored, key) == 0 && (!moved ||
	    (r->stored_full != NULL && strcmp(r->stored_full,
	    buf_cstr(&b)) == 0))) {
		buf_free(&b);
		free(key);
		return (0);
	}
	lk = json_object_new_object();
	json_object_object_add(lk, "service", json_object_new_string(
	    d->service));
	json_object_object_add(lk, "environment", json_object_new_string(
	    d->environment));
	if (d->tenant != NULL)
		json_object_object_add(lk, "tenant", json_object_new_string(
		    d->tenant));
	buf_init(&lb);
	evidence_canonical_json(lk, &lb);
	json_object_put(lk);
	if (r->basis.n == 0 && ss->last_id != NULL)
		basis_add_ev(&r->basis, ss->last_id, ss->last_seq);
	memset(&c, 0, sizeof(c));
	c.type = (char *)"Slo";
	c.id = d->name;
	c.revision = r->revision + 1;
	/* No trusted event time yet (all of it far ahead): the batch's. */
	c.time = ss->now != INT64_MIN ? ss->now : recorded_at;
	c.anchor = r->revision > 0 ? r->anchor : c.time;
	c.recorded_at = recorded_at;
	c.properties = buf_cstr(&b);
	c.links = buf_cstr(&lb);
	c.basis = basis_json(&r->basis, 1);
	rc = ledger_claim_put(l, &c);
	if (rc == 0) {
		free(r->stored);
		r->stored = key;
		key = NULL;
		free(r->stored_full);
		r->stored_full = xstrdup(buf_cstr(&b));
		r->revision = c.revision;
		r->anchor = c.anchor;
	}
	free(key);
	free(c.basis);
	buf_free(&b);
	buf_free(&lb);
	return (rc);
}

/*
 * The end of a batch recorded at recorded_at: move every SLO to the
 * watermark and write the revisions that changed.  Returns 0 or -1.
 */
int
slo_flush(struct slos *ss, struct ledger *l, int64_t recorded_at)
{
	struct slo_rt	*r;
	size_t		 i;

	for (i = 0; i < ss->sc->nslo; i++) {
		r = &ss->st[i];
		if (!r->loaded)
			continue;
		if (ss->now != INT64_MIN)
			burn_advance(r->b, slo_sec(ss->now));
		if (r->dirty || r->b->head != r->flushed_head) {
			if (slo_write(ss, l, i, recorded_at,
			    r->b->head != r->flushed_head) == -1)
				return (-1);
		}
		r->dirty = r->late = 0;
		r->flushed_head = r->b->head;
		basis_reset(&r->basis);
	}
	ss->committed_now = ss->now;
	ss->committed_nwm = ss->nwm;
	for (i = 0; i < ss->nwm; i++)
		ss->wm[i].committed = ss->wm[i].max;
	return (0);
}
