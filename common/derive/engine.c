/*
 * engine.c: turns evidence into claims, inside the writer's transaction.
 *
 * For each appended evidence:
 *  1. lifecycle claims: a creating evidence writes revision 1 (then applies
 *     any revisions that were held because they arrived first); a revising
 *     evidence writes revision N+1, or is held (claim_pending) until the
 *     claim exists;
 *  2. collectors: the evidence (before step 1, so that a claim it revises
 *     triggers with it collected), and every lifecycle claim it changed, is
 *     an item; the cached buckets of collectors of that type are updated in
 *     place, never by rescanning;
 *  3. computed claims triggered by the evidence or by a changed claim are
 *     marked dirty, anchored at the trigger's event time (the period
 *     anchor).  Their evaluation is lazy: it runs when an item that one of
 *     their collectors would take is about to arrive (engine_pre), so it
 *     sees exactly what it would have seen at the trigger, or at the end
 *     of the transaction; a trigger of the same claim in between would
 *     overwrite it, so it is skipped then.  One evaluation per claim per
 *     transaction instead of one per evidence: each costs O(count).
 * engine_flush() then writes one revision per dirty computed claim whose
 * value changed: every evidence of one transaction shares its transaction
 * time, so intermediate values within it are never visible anyway, and the
 * revision's basis lists every evidence that triggered it.
 *
 * Buckets hold the `count` most recent items of one collector in one
 * calendar bucket (a month, week, quarter or day), loaded from storage the
 * first time they are needed and kept in a bounded LRU cache.  A rolled
 * back batch drops every cache (engine_abort); storage is the truth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive/derive.h"

#define ENGINE_SLOTS		1024
#define ENGINE_MAX_BUCKETS	512	/* soft: an evaluation may exceed it */
#define ENGINE_MAX_STATES	4096
#define ENGINE_MAX_LSTATES	4096
#define ENGINE_BASIS_MAX	100
#define ENGINE_KEYLEN		(MP_IDMAX + 64)

struct bucket {
	struct bucket		*next;		/* hash chain */
	const struct computeddef *cc;
	size_t			 coll;
	int64_t			 start;
	struct citem		*items;		/* ascending (time, key) */
	size_t			 n;
	struct citem		*base;		/* the allocation: items drop */
	size_t			 cap;		/* off its front in O(1) */
	uint64_t		 used;		/* LRU clock */
};

struct idmemo {				/* a computed claim's last id */
	int64_t			 day;		/* ids change at most daily */
	int			 ok;
	char			 id[ENGINE_KEYLEN];
};

struct cstate {				/* last stored computed claim */
	struct cstate		*next;
	char			*key;		/* name '/' id */
	int64_t			 revision;
	char			*properties;
};

struct lstate {				/* last written lifecycle claim */
	struct lstate		*next;
	char			*key;		/* type '/' subject */
	int64_t			 revision;
	int64_t			 anchor;
	char			*properties;
	char			*links;
	char			*basis;
};

struct dirty {
	const struct computeddef *cc;
	char			 id[ENGINE_KEYLEN];
	int64_t			 anchor;
	int64_t			 time;
	char			*properties;	/* NULL: not computed (exact) */
	struct basis		 basis;		/* at most ENGINE_BASIS_MAX */
	int			 pending;	/* triggered, not evaluated yet */
};

struct engine {
	const struct rules	*t;
	struct bucket		*buckets[ENGINE_SLOTS];
	size_t			 nbuckets;
	uint64_t		 clock;
	uint64_t		 pin;		/* buckets used since: in use */
	struct cstate		*states[ENGINE_SLOTS];
	size_t			 nstates;
	struct lstate		*lstates[ENGINE_SLOTS];
	size_t			 nlstates;
	struct dirty		*dirty;
	size_t			 ndirty;
	int64_t			 now;		/* this transaction's time */
	const char		*ev_type;	/* the evidence being applied, */
	int64_t			 ev_time;	/* whose trigger is still to come */
	int			 need_links;	/* a collector filters on links */
	json_tokener		*tok;		/* reused by engine_parse */
	struct idmemo		*idmemo;	/* per computed claim */
	struct deploy		*deploy;	/* deployments (deploy.c) */
};

static uint64_t
engine_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h);
}

struct engine *
engine_new(const struct rules *t)
{
	struct engine	*e;
	size_t		 i, j;

	e = xcalloc(1, sizeof(*e));
	e->t = t;
	e->pin = UINT64_MAX;	/* nothing in use */
	e->deploy = deploy_new(t);
	for (i = 0; i < t->ncc; i++)
		for (j = 0; j < t->cc[i].ncoll; j++)
			if (t->cc[i].coll[j].nfilter > 0)
				e->need_links = 1;
	if ((e->tok = json_tokener_new()) == NULL)
		fatalx("%s: json_tokener_new", __func__);
	e->idmemo = xcalloc(t->ncc ? t->ncc : 1, sizeof(*e->idmemo));
	for (i = 0; i < t->ncc; i++)
		e->idmemo[i].day = INT64_MIN;
	return (e);
}

/*
 * The id of computed claim cc anchored at `anchor`, or NULL when its
 * template cannot be expanded there.  Every template variable is a
 * calendar field of the anchor's UTC day, so the last one is kept.
 */
static const char *
engine_id(struct engine *e, const struct computeddef *cc, int64_t anchor)
{
	struct idmemo	*m = &e->idmemo[cc - e->t->cc];
	int64_t		 day;

	day = anchor / (86400LL * 1000000);
	if (anchor < 0 && anchor % (86400LL * 1000000) != 0)
		day--;
	if (m->day != day) {
		m->ok = computed_expand_id(cc->idtmpl, anchor, m->id,
		    sizeof(m->id)) == 0;
		m->day = day;
	}
	return (m->ok ? m->id : NULL);
}

/* json_tokener_parse(s), without a new tokener each time. */
static json_object *
engine_parse(struct engine *e, const char *s)
{
	json_object	*o;

	json_tokener_reset(e->tok);
	o = json_tokener_parse_ex(e->tok, s, -1);
	if (json_tokener_get_error(e->tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	return (o);
}

/* Does anything here derive claims? */
int
engine_active(const struct engine *e)
{
	return (e->t->ncl > 0 || e->t->ncc > 0);
}

static void
engine_bucket_free(struct bucket *b)
{
	size_t	i;

	for (i = 0; i < b->n; i++)
		free(b->items[i].key);
	free(b->base);
	free(b);
}

static void
engine_drop_lstates(struct engine *e)
{
	struct lstate	*s, *sn;
	size_t		 i;

	for (i = 0; i < ENGINE_SLOTS; i++) {
		for (s = e->lstates[i]; s != NULL; s = sn) {
			sn = s->next;
			free(s->key);
			free(s->properties);
			free(s->links);
			free(s->basis);
			free(s);
		}
		e->lstates[i] = NULL;
	}
	e->nlstates = 0;
}

static void
engine_drop_caches(struct engine *e)
{
	struct bucket	*b, *bn;
	struct cstate	*s, *sn;
	size_t		 i;

	engine_drop_lstates(e);
	for (i = 0; i < ENGINE_SLOTS; i++) {
		for (b = e->buckets[i]; b != NULL; b = bn) {
			bn = b->next;
			engine_bucket_free(b);
		}
		e->buckets[i] = NULL;
		for (s = e->states[i]; s != NULL; s = sn) {
			sn = s->next;
			free(s->key);
			free(s->properties);
			free(s);
		}
		e->states[i] = NULL;
	}
	e->nbuckets = e->nstates = 0;
}

static void
engine_dirty_clear(struct engine *e)
{
	size_t	i;

	for (i = 0; i < e->ndirty; i++) {
		free(e->dirty[i].properties);
		basis_free(&e->dirty[i].basis);
	}
	free(e->dirty);
	e->dirty = NULL;
	e->ndirty = 0;
}

/* The batch rolled back: forget everything not in storage. */
void
engine_abort(struct engine *e)
{
	engine_dirty_clear(e);
	engine_drop_caches(e);
	deploy_abort(e->deploy);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	engine_abort(e);
	deploy_free(e->deploy);
	if (e->tok != NULL)
		json_tokener_free(e->tok);
	free(e->idmemo);
	free(e);
}

/* An item's value: the collector's property of props (borrowed). */
static void
engine_item_value(const struct collectordef *c, json_object *props,
    struct citem *it)
{
	json_object	*v;

	it->kind = 0;
	it->num = 0;
	if (c->property == NULL || props == NULL ||
	    !json_object_object_get_ex(props, c->property, &v) || v == NULL)
		return;
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		it->kind = 1;
		it->num = json_object_get_boolean(v);
		break;
	case json_type_int:
	case json_type_double:
		it->kind = 2;
		it->num = json_object_get_double(v);
		break;
	default:
		break;
	}
}

/* Does the item pass the collector's filter? links may be NULL. */
static int
engine_filter(const struct collectordef *c, const char *subject,
    json_object *links)
{
	const char	*f = c->filter_subject;
	json_object	*v;
	size_t		 i, n;

	if (f != NULL) {
		n = strlen(f);
		if (n > 0 && f[n - 1] == '*') {
			if (strncmp(subject, f, n - 1) != 0)
				return (0);
		} else if (strcmp(subject, f) != 0)
			return (0);
	}
	for (i = 0; i < c->nfilter; i++) {
		if (links == NULL ||
		    !json_object_object_get_ex(links, c->filter_keys[i], &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    strcmp(json_object_get_string(v), c->filter_vals[i]) != 0)
			return (0);
	}
	return (1);
}

static int
engine_item_cmp(const struct citem *a, int64_t time, const char *key)
{
	if (a->time != time)
		return (a->time < time ? -1 : 1);
	return (strcmp(a->key, key));
}

/*
 * Put an item into bucket b (replacing one with the same key), keeping at
 * most `count` items, the most recent.  An item's time never changes
 * under its key (an evidence's time; a claim's anchor, fixed at its
 * creation), so the item is found by a binary search on (time, key).
 */
static void
engine_bucket_put(struct bucket *b, const struct collectordef *c,
    const char *key, int64_t time, json_object *props)
{
	struct citem	 it;
	size_t		 lo = 0, hi = b->n, mid, pos;
	int		 cmp;

	while (lo < hi) {	/* pos: the first item not before (time, key) */
		mid = lo + (hi - lo) / 2;
		if ((cmp = engine_item_cmp(&b->items[mid], time, key)) == 0) {
			engine_item_value(c, props, &b->items[mid]);
			return;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	pos = lo;
	if (b->n >= c->count && pos == 0)
		return;		/* older than everything kept */
	memset(&it, 0, sizeof(it));
	it.hkey = engine_hash(key);
	it.key = xstrdup(key);
	it.time = time;
	engine_item_value(c, props, &it);
	if (b->base == NULL || (size_t)(b->items - b->base) + b->n + 1 >
	    b->cap) {
		/*
		 * No room at the end: move the items back to the front, and
		 * grow unless that frees half (amortized O(1) per item).
		 */
		if (b->base != NULL && b->items != b->base)
			memmove(b->base, b->items, b->n * sizeof(*b->items));
		if (b->n + 1 > b->cap / 2) {
			b->cap = b->cap ? 2 * b->cap : 16;
			b->base = xreallocarray(b->base, b->cap,
			    sizeof(*b->base));
		}
		b->items = b->base;
	}
	memmove(&b->items[pos + 1], &b->items[pos], (b->n - pos) *
	    sizeof(*b->items));
	b->items[pos] = it;
	b->n++;
	if (b->n > c->count) {		/* drop the oldest, off the front */
		free(b->items[0].key);
		b->items++;
		b->n--;
	}
}

static size_t
engine_bslot(const struct computeddef *cc, size_t coll, int64_t start)
{
	return ((size_t)(((uintptr_t)cc >> 4) * 31 + coll * 17 +
	    (uint64_t)start / 1000000) % ENGINE_SLOTS);
}

static struct bucket *
engine_bucket_find(struct engine *e, const struct computeddef *cc,
    size_t coll, int64_t start)
{
	struct bucket	*b;

	for (b = e->buckets[engine_bslot(cc, coll, start)]; b != NULL;
	    b = b->next)
		if (b->cc == cc && b->coll == coll && b->start == start) {
			b->used = ++e->clock;
			return (b);
		}
	return (NULL);
}

static void
engine_bucket_evict(struct engine *e)
{
	struct bucket	**bp, **victim = NULL;
	size_t		  i;

	/*
	 * Never a bucket the evaluation in progress holds items of: with
	 * all of them in use, the cache grows past its cap until it ends.
	 */
	for (i = 0; i < ENGINE_SLOTS; i++)
		for (bp = &e->buckets[i]; *bp != NULL; bp = &(*bp)->next)
			if ((*bp)->used < e->pin && (victim == NULL ||
			    (*bp)->used < (*victim)->used))
				victim = bp;
	if (victim != NULL) {
		struct bucket *b = *victim;

		*victim = b->next;
		engine_bucket_free(b);
		e->nbuckets--;
	}
}

/*
 * Is evidence type `type` one that a second source may witness again for
 * the same subject: one that creates a lifecycle claim, or revises it
 * with a constant (BuildStartedEvent, BuildCompleted)?  Collectors then
 * take the first of each subject only (engine_witness), here and in
 * storage (ledger_collect's mode 2), so one build reported by the agent
 * and by its CI counts once.
 */
static int
engine_witnessed(const struct rules *t, const char *type)
{
	const struct claimdef	*d;
	size_t			 i, j, k;

	for (i = 0; i < t->ncl; i++) {
		d = &t->cl[i];
		if (strcmp(d->created_by, type) == 0)
			return (1);
		for (j = 0; j < d->nrevised; j++) {
			if (strcmp(d->revised[j].evidence, type) != 0)
				continue;
			for (k = 0; k < d->revised[j].nset; k++)
				if (d->revised[j].set[k].from == NULL)
					return (1);
		}
	}
	return (0);
}

struct witness_ctx {
	const struct evidence	*ev;
	int			 found;
};

static int
engine_witness_one(const struct evidence *w, void *arg)
{
	struct witness_ctx	*wc = arg;

	if (w->seq < wc->ev->seq && strcmp(w->subject, wc->ev->subject) ==
	    0) {
		wc->found = 1;
		return (-1);
	}
	return (0);
}

/*
 * Is ev a later witness of its subject: a witnessed type (above) of which
 * an earlier evidence for the same subject is stored?  1 yes, 0 no, -1
 * on a storage error.  Only asked when a collector takes ev's type.
 */
static int
engine_witness(struct engine *e, struct ledger *l, const struct evidence *ev)
{
	struct witness_ctx	wc;
	size_t			i, j;

	if (*ev->subject == '\0' || !engine_witnessed(e->t, ev->type))
		return (0);
	for (i = 0; i < e->t->ncc; i++)
		for (j = 0; j < e->t->cc[i].ncoll; j++)
			if (!e->t->cc[i].coll[j].of_claims &&
			    strcmp(e->t->cc[i].coll[j].type, ev->type) == 0)
				goto collected;
	return (0);
collected:
	wc.ev = ev;
	wc.found = 0;
	if (ledger_subject_find(l, ev->type, ev->subject, l->pending_seq, 0,
	    engine_witness_one, &wc) == -1)
		return (-1);
	return (wc.found);
}

struct load_ctx {
	struct engine			*e;
	struct bucket			*b;
	const struct collectordef	*c;
};

static int
engine_load_one(const char *key, int64_t time, const char *subject,
    const char *props, const char *links, void *arg)
{
	struct load_ctx	*lc = arg;
	json_object	*p, *lk = NULL;
	int		 pass;

	if (lc->b->n >= lc->c->count)
		return (-1);	/* full: the rest, newest first, are older */
	if (lc->c->nfilter > 0 && links != NULL)
		lk = engine_parse(lc->e, links);
	pass = engine_filter(lc->c, subject, lk);
	json_object_put(lk);
	if (!pass)
		return (0);
	p = engine_parse(lc->e, props);
	engine_bucket_put(lc->b, lc->c, key, time, p);
	json_object_put(p);
	return (0);
}

/*
 * The bucket of collector coll starting at start, loaded if need be with
 * the evidence up to max_seq.
 */
static struct bucket *
engine_bucket(struct engine *e, struct ledger *l, const struct computeddef *cc,
    size_t coll, int64_t start, int64_t max_seq)
{
	const struct collectordef	*c = &cc->coll[coll];
	struct load_ctx			 lc;
	struct bucket			*b;
	size_t				 slot;

	if ((b = engine_bucket_find(e, cc, coll, start)) != NULL)
		return (b);
	if (e->nbuckets >= ENGINE_MAX_BUCKETS)
		engine_bucket_evict(e);
	b = xcalloc(1, sizeof(*b));
	b->cc = cc;
	b->coll = coll;
	b->start = start;
	b->used = ++e->clock;
	lc.e = e;
	lc.b = b;
	lc.c = c;
	/*
	 * The filter is applied as items load, so a filtering collector
	 * reads them all: the `count` most recent of the type could all
	 * fail it while older ones pass.
	 */
	if (ledger_collect(l, c->type, c->of_claims ? 1 :
	    engine_witnessed(e->t, c->type) ? 2 : 0, start,
	    computed_bucket_next(c->offset, start), max_seq,
	    c->filter_subject != NULL || c->nfilter > 0 ? 0 : c->count,
	    engine_load_one, &lc) == -1) {
		engine_bucket_free(b);
		return (NULL);
	}
	slot = engine_bslot(cc, coll, start);
	b->next = e->buckets[slot];
	e->buckets[slot] = b;
	e->nbuckets++;
	return (b);
}

/* An item arrived: update the cached buckets of collectors of its type. */
static void
engine_item(struct engine *e, const char *type, int is_claim, const char *key,
    int64_t time, const char *subject, json_object *props, json_object *links)
{
	const struct computeddef	*cc;
	const struct collectordef	*c;
	struct bucket			*b;
	size_t				 i, j;

	for (i = 0; i < e->t->ncc; i++) {
		cc = &e->t->cc[i];
		for (j = 0; j < cc->ncoll; j++) {
			c = &cc->coll[j];
			if (c->of_claims != is_claim || strcmp(c->type, type))
				continue;
			if (!engine_filter(c, subject, links))
				continue;
			b = engine_bucket_find(e, cc, j,
			    computed_bucket_start(c->offset, time));
			if (b != NULL)
				engine_bucket_put(b, c, key, time, props);
		}
	}
}

static int
engine_citem_desc(const void *a, const void *b)
{
	const struct citem	*x = *(const struct citem *const *)a;
	const struct citem	*y = *(const struct citem *const *)b;

	return (-engine_item_cmp(x, y->time, y->key));
}

static struct dirty *
engine_dirty(struct engine *e, const struct computeddef *cc, const char *id)
{
	struct dirty	*d;
	size_t		 i;

	for (i = 0; i < e->ndirty; i++)
		if (e->dirty[i].cc == cc && strcmp(e->dirty[i].id, id) == 0)
			return (&e->dirty[i]);
	e->dirty = xreallocarray(e->dirty, e->ndirty + 1, sizeof(*e->dirty));
	d = &e->dirty[e->ndirty++];
	memset(d, 0, sizeof(*d));
	d->cc = cc;
	strlcpy(d->id, id, sizeof(d->id));
	basis_init(&d->basis, ENGINE_BASIS_MAX);
	return (d);
}

/*
 * Evaluate dirty computed claim d at its anchor, loading buckets with the
 * evidence up to max_seq.  Returns 0, or -1 on a storage error.
 */
static int
engine_eval(struct engine *e, struct ledger *l, struct dirty *d,
    int64_t max_seq)
{
	const struct computeddef	*cc = d->cc;
	const struct collectordef	*c;
	const struct citem		**sel = NULL;
	struct bucket			*b;
	json_object			*props, *v;
	struct buf			 out;
	size_t				 i, j, k, nsel = 0, cap = 0, *off, *cnt;
	int64_t				 from, to, s;
	int				 skip = 0, rc = 0;

	d->pending = 0;
	e->pin = e->clock + 1;		/* sel[] points into these buckets */
	/* Per collector, the items in the window: the `count` most recent. */
	off = xcalloc(cc->ncoll, sizeof(*off));
	cnt = xcalloc(cc->ncoll, sizeof(*cnt));
	for (j = 0; j < cc->ncoll; j++) {
		c = &cc->coll[j];
		computed_period(c->offset, d->anchor, &from, &to);
		off[j] = nsel;
		for (s = computed_bucket_start(c->offset, from); s < to;
		    s = computed_bucket_next(c->offset, s)) {
			if ((b = engine_bucket(e, l, cc, j, s, max_seq)) ==
			    NULL) {
				rc = -1;
				goto out;
			}
			if (nsel + b->n > cap) {
				cap = nsel + b->n > 2 * cap ? nsel + b->n :
				    2 * cap;
				sel = xreallocarray(sel, cap, sizeof(*sel));
			}
			for (i = 0; i < b->n; i++) {
				if (b->items[i].time < from ||
				    b->items[i].time >= to)
					continue;
				sel[nsel++] = &b->items[i];
			}
			if (c->offset == DO_ALL)
				break;
		}
		k = nsel - off[j];
		if (k > c->count) {
			qsort(sel + off[j], k, sizeof(*sel), engine_citem_desc);
			nsel = off[j] + c->count;
			k = c->count;
		}
		cnt[j] = k;
		if (c->exact && k < c->count)
			skip = 1;
	}
	if (skip)
		goto out;
	props = json_object_new_object();
	for (i = 0; i < cc->nprops; i++) {
		const struct cpropdef *cp = &cc->props[i];

		if (computed_eval(cp, sel + off[cp->collector],
		    cnt[cp->collector], &v) == 0)
			json_object_object_add(props, cp->name, v);
	}
	buf_init(&out);
	evidence_canonical_json(props, &out);
	d->properties = buf_steal(&out);
	json_object_put(props);
out:
	e->pin = UINT64_MAX;
	free(sel);
	free(off);
	free(cnt);
	return (rc);
}

/*
 * Computed claim cc is triggered at `anchor` by ev: mark it dirty, to be
 * evaluated later (engine_pre, engine_flush).
 */
static int
engine_compute(struct engine *e, const struct computeddef *cc, int64_t anchor,
    const struct evidence *ev)
{
	struct dirty	*d;
	const char	*id;

	if ((id = engine_id(e, cc, anchor)) == NULL)
		return (0);
	d = engine_dirty(e, cc, id);
	d->anchor = anchor;
	if (ev->time > d->time || d->basis.n == 0)
		d->time = ev->time;
	basis_add_ev(&d->basis, ev->id, ev->seq);
	free(d->properties);
	d->properties = NULL;
	d->pending = 1;
	return (0);
}

/*
 * Will d be triggered again before this evidence is done: by the item of
 * (type, is_claim, anchor) about to arrive, or by the evidence's own
 * trigger?  Then its pending evaluation would be overwritten unseen.
 */
static int
engine_retriggered(struct engine *e, const struct dirty *d, const char *type,
    int is_claim, int64_t anchor)
{
	const struct computeddef	*cc = d->cc;
	const char			*id;

	if (cc->trigger_is_claim == is_claim && strcmp(cc->trigger, type) ==
	    0 && (id = engine_id(e, cc, anchor)) != NULL &&
	    strcmp(id, d->id) == 0)
		return (1);
	if (e->ev_type != NULL && !cc->trigger_is_claim &&
	    strcmp(cc->trigger, e->ev_type) == 0 &&
	    (id = engine_id(e, cc, e->ev_time)) != NULL &&
	    strcmp(id, d->id) == 0)
		return (1);
	return (0);
}

/*
 * An item (type, is_claim, anchor, subject, links) is about to be stored
 * and collected: evaluate first every pending computed claim that one of
 * whose collectors takes it, unless it will be triggered again anyway.
 * Returns 0, or -1 on a storage error.
 */
static int
engine_pre(struct engine *e, struct ledger *l, const char *type, int is_claim,
    int64_t anchor, const char *subject, json_object *links, int64_t max_seq)
{
	const struct collectordef	*c;
	struct dirty			*d;
	size_t				 i, j;

	for (i = 0; i < e->ndirty; i++) {
		d = &e->dirty[i];
		if (!d->pending)
			continue;
		for (j = 0; j < d->cc->ncoll; j++) {
			c = &d->cc->coll[j];
			if (c->of_claims == is_claim && strcmp(c->type, type) ==
			    0 && engine_filter(c, subject, links))
				break;
		}
		if (j == d->cc->ncoll || engine_retriggered(e, d, type,
		    is_claim, anchor))
			continue;
		if (engine_eval(e, l, d, max_seq) == -1)
			return (-1);
	}
	return (0);
}

/* Trigger every computed claim whose trigger is `type`. */
static int
engine_trigger(struct engine *e, struct ledger *l, const char *type,
    int is_claim, int64_t anchor, const struct evidence *ev)
{
	size_t	i;

	for (i = 0; i < e->t->ncc; i++) {
		if (e->t->cc[i].trigger_is_claim != is_claim ||
		    strcmp(e->t->cc[i].trigger, type) != 0)
			continue;
		if (engine_compute(e, &e->t->cc[i], anchor, ev) == -1)
			return (-1);
	}
	return (0);
}

/* [{"id": ev's id, "seq": ev's seq}] (taken). */
static char *
engine_basis1(const struct evidence *ev)
{
	struct basis	bs;
	char		*s;

	basis_init(&bs, 1);
	basis_add_ev(&bs, ev->id, ev->seq);
	s = basis_json(&bs, 0);
	basis_free(&bs);
	return (s);
}

/*
 * The latest revision of lifecycle claim (type, subject), as the backend's
 * claim_get(..., INT64_MAX, cur) gives it (revision, anchor, properties
 * and links are all the engine uses).  The engine writes every lifecycle
 * claim, so the one it wrote last for a subject is that revision: a
 * revising evidence shortly after the creating one needs no lookup.
 */
static int
engine_claim_get(struct engine *e, struct ledger *l, const char *type,
    const char *subject, struct claim *cur)
{
	struct lstate	*s;
	char		*key;

	xasprintf(&key, "%s/%s", type, subject);
	for (s = e->lstates[engine_hash(key) % ENGINE_SLOTS]; s != NULL;
	    s = s->next)
		if (strcmp(s->key, key) == 0)
			break;
	free(key);
	if (s == NULL)
		return (ledger_claim_get(l, type, subject, INT64_MAX, cur));
	cur->type = xstrdup(type);
	cur->id = xstrdup(subject);
	cur->revision = s->revision;
	cur->anchor = s->anchor;
	cur->properties = xstrdup(s->properties);
	cur->links = xstrdup(s->links);
	cur->basis = s->basis ? xstrdup(s->basis) : NULL;
	return (1);
}

/* Lifecycle claim c was just written: remember it for engine_claim_get. */
static void
engine_claim_remember(struct engine *e, const struct claim *c)
{
	struct lstate	*s;
	char		*key;
	size_t		 slot;

	xasprintf(&key, "%s/%s", c->type, c->id);
	slot = engine_hash(key) % ENGINE_SLOTS;
	for (s = e->lstates[slot]; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0)
			break;
	if (s == NULL) {
		if (e->nlstates >= ENGINE_MAX_LSTATES) {
			engine_drop_lstates(e);	/* they reload */
			slot = engine_hash(key) % ENGINE_SLOTS;
		}
		s = xcalloc(1, sizeof(*s));
		s->key = key;
		s->next = e->lstates[slot];
		e->lstates[slot] = s;
		e->nlstates++;
	} else {
		free(key);
		free(s->properties);
		free(s->links);
		free(s->basis);
	}
	s->revision = c->revision;
	s->anchor = c->anchor;
	s->properties = xstrdup(c->properties);
	s->links = xstrdup(c->links);
	s->basis = c->basis ? xstrdup(c->basis) : NULL;
}

/*
 * Apply a set rule's values from ev (props parsed) onto cp (owned); for a
 * second witness, only onto properties cp does not have yet.
 */
static void
engine_set(const struct setrule *set, size_t nset, json_object *evprops,
    json_object *cp, int witness)
{
	json_object	*v;
	size_t		 i;

	for (i = 0; i < nset; i++) {
		if (witness && json_object_object_get_ex(cp, set[i].prop, NULL))
			continue;
		if (set[i].from != NULL) {
			if (evprops == NULL || !json_object_object_get_ex(
			    evprops, set[i].from, &v) || v == NULL)
				continue;	/* absent: leave as it was */
			json_object_object_add(cp, set[i].prop,
			    json_object_get(v));
		} else
			json_object_object_add(cp, set[i].prop,
			    json_object_get(set[i].value));
	}
}

/*
 * Is ev, for claim cur, a second witness of what set would do: a creation
 * of a claim that exists, or a revision whose constants (completed: true)
 * the claim has already (the agent and the tool both report one build's
 * end)?  props is the claim's, parsed (may be NULL).
 */
static int
engine_is_witness(const struct claim *cur, const struct setrule *set,
    size_t nset, int creating, json_object *props)
{
	json_object	*v;
	size_t		 i, nconst = 0;

	if (cur->revision == 0)
		return (0);
	if (creating)
		return (1);
	for (i = 0; i < nset; i++) {
		if (set[i].from != NULL)
			continue;
		nconst++;
		if (props == NULL || !json_object_object_get_ex(props,
		    set[i].prop, &v) || !json_object_equal(v, set[i].value))
			return (0);
	}
	return (nconst > 0);
}

/*
 * Write the next revision of lifecycle claim d for ev's subject.  cur is
 * the stored revision (revision 0: none yet).  Then feed the collectors
 * and triggers that watch d.  A second witness (engine_is_witness) sets
 * only what the claim lacks, and its basis keeps the first witness's
 * beside ev: one build, two witnesses.
 */
static int
engine_revise(struct engine *e, struct ledger *l, const struct claimdef *d,
    struct claim *cur, const struct setrule *set, size_t nset,
    const struct evidence *ev, json_object *evprops, int creating)
{
	struct basis	 bs;
	json_object	*prev, *it;
	size_t		 i;
	int		 witness;
	struct claim	 c;
	json_object	*cp, *links, *evlinks;
	struct buf	 b;
	int		 rc, added = 0;

	cp = cur->revision ? engine_parse(e, cur->properties) : NULL;
	if (cp == NULL)
		cp = json_object_new_object();
	witness = engine_is_witness(cur, set, nset, creating, cp);
	engine_set(set, nset, evprops, cp, witness);
	memset(&c, 0, sizeof(c));
	c.type = d->t.name;
	c.id = ev->subject;
	c.revision = cur->revision + 1;
	c.anchor = cur->revision ? cur->anchor : ev->time;
	c.time = ev->time;
	c.recorded_at = e->now;		/* held evidence is revised now */
	buf_init(&b);
	evidence_canonical_json(cp, &b);
	c.properties = buf_steal(&b);
	/*
	 * The links: the claim's, plus those of ev's that it lacks.  Both are
	 * canonical JSON already (evidence_from_json and this function wrote
	 * them), so when ev adds nothing, or starts the claim, the result is
	 * a string in hand; parse and merge only otherwise, or when a
	 * collector filters on links.
	 */
	links = NULL;
	if (cur->revision == 0)
		c.links = xstrdup(ev->links);
	else if (cur->links != NULL && (strcmp(ev->links, "{}") == 0 ||
	    strcmp(ev->links, cur->links) == 0))
		c.links = xstrdup(cur->links);
	else {
		links = cur->links ? engine_parse(e, cur->links) : NULL;
		if (links == NULL)
			links = json_object_new_object();
		if ((evlinks = engine_parse(e, ev->links)) != NULL) {
			json_object_object_foreach(evlinks, lk, lv)
				if (!json_object_object_get_ex(links, lk,
				    NULL)) {
					json_object_object_add(links, lk,
					    json_object_get(lv));
					added = 1;
				}
			json_object_put(evlinks);
		}
		if (added || cur->links == NULL) {
			evidence_canonical_json(links, &b);
			c.links = buf_steal(&b);
		} else
			c.links = xstrdup(cur->links);
	}
	if (links == NULL && e->need_links)
		links = engine_parse(e, c.links);
	if (witness && cur->basis != NULL &&
	    (prev = engine_parse(e, cur->basis)) != NULL) {
		basis_init(&bs, ENGINE_BASIS_MAX);
		for (i = 0; json_object_is_type(prev, json_type_array) &&
		    i < json_object_array_length(prev); i++) {
			it = json_object_array_get_idx(prev, i);
			basis_add_json(&bs, json_object_to_json_string_ext(it,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
		}
		basis_add_ev(&bs, ev->id, ev->seq);
		c.basis = basis_json(&bs, 1);
		basis_free(&bs);
		json_object_put(prev);
	} else
		c.basis = engine_basis1(ev);
	/* Evaluations pending over this claim type run before it changes. */
	rc = engine_pre(e, l, d->t.name, 1, c.anchor, c.id, links,
	    l->pending_seq);
	if (rc == 0)
		rc = ledger_claim_put(l, &c);
	if (rc == 0) {
		engine_claim_remember(e, &c);
		engine_item(e, d->t.name, 1, c.id, c.anchor, c.id, cp, links);
		rc = engine_trigger(e, l, d->t.name, 1, c.anchor, ev);
	}
	free(c.properties);
	free(c.links);
	free(c.basis);
	json_object_put(cp);
	json_object_put(links);
	return (rc);
}

/* Apply the revisions held for (d, subject), in ledger order. */
static int
engine_release(struct engine *e, struct ledger *l, const struct claimdef *d,
    const char *subject)
{
	struct evidence	*held;
	struct claim	 cur;
	json_object	*props;
	int64_t		*seqs = NULL;
	size_t		 n = 0, i, j;
	int		 rc = 0;

	if (ledger_pending_take(l, d->t.name, subject, &seqs, &n) == -1)
		return (-1);
	for (i = 0; i < n && rc == 0; i++) {
		if (ledger_get(l, seqs[i], &held) != 1)
			continue;
		props = engine_parse(e, held->properties);
		for (j = 0; j < d->nrevised && rc == 0; j++) {
			if (strcmp(d->revised[j].evidence, held->type) != 0)
				continue;
			memset(&cur, 0, sizeof(cur));
			if (engine_claim_get(e, l, d->t.name, subject,
			    &cur) != 1)
				rc = -1;
			else
				rc = engine_revise(e, l, d, &cur,
				    d->revised[j].set, d->revised[j].nset,
				    held, props, 0);
			claim_clear(&cur);
		}
		json_object_put(props);
		evidence_free(held);
	}
	free(seqs);
	return (rc);
}

/*
 * Apply one evidence, just appended in the open transaction (ev->seq and
 * ev->recorded_at set).  Returns 0, or -1 on a storage error (the caller
 * rolls back and calls engine_abort).
 */
int
engine_apply(struct engine *e, struct ledger *l, const struct evidence *ev)
{
	const struct claimdef	*d;
	struct claim		 cur;
	json_object		*props = NULL, *links = NULL;
	char			 key[32];
	size_t			 i, j;
	int			 rc = 0, found, w;

	e->now = ev->recorded_at;
	/*
	 * An item before anything triggers, even a claim that ev revises.
	 * Evaluations pending over ev's type run first, without ev (it is
	 * stored already: max_seq), unless ev's own trigger comes for them.
	 */
	if (e->t->ncc > 0) {
		props = engine_parse(e, ev->properties);
		if (e->need_links)
			links = engine_parse(e, ev->links);
		e->ev_type = ev->type;
		e->ev_time = ev->time;
		if (engine_pre(e, l, ev->type, 0, ev->time, ev->subject, links,
		    ev->seq - 1) == -1) {
			rc = -1;
			goto out;
		}
		snprintf(key, sizeof(key), "#%020lld", (long long)ev->seq);
		if ((w = engine_witness(e, l, ev)) == -1) {
			rc = -1;
			goto out;
		}
		if (!w)		/* a second witness is no second item */
			engine_item(e, ev->type, 0, key, ev->time, ev->subject,
			    props, links);
	}
	for (i = 0; i < e->t->ncl && rc == 0; i++) {
		d = &e->t->cl[i];
		if (strcmp(d->created_by, ev->type) == 0) {
			if (props == NULL)
				props = engine_parse(e, ev->properties);
			memset(&cur, 0, sizeof(cur));
			if ((found = engine_claim_get(e, l, d->t.name,
			    ev->subject, &cur)) == -1)
				rc = -1;
			else {
				rc = engine_revise(e, l, d, &cur, d->create_set,
				    d->ncreate_set, ev, props, 1);
				if (rc == 0 && !found)
					rc = engine_release(e, l, d,
					    ev->subject);
			}
			claim_clear(&cur);
		}
		for (j = 0; j < d->nrevised && rc == 0; j++) {
			if (strcmp(d->revised[j].evidence, ev->type) != 0)
				continue;
			if (props == NULL)
				props = engine_parse(e, ev->properties);
			memset(&cur, 0, sizeof(cur));
			if ((found = engine_claim_get(e, l, d->t.name,
			    ev->subject, &cur)) == -1)
				rc = -1;
			else if (!found)	/* before its creation: hold */
				rc = ledger_pending_put(l, d->t.name,
				    ev->subject, ev->seq);
			else
				rc = engine_revise(e, l, d, &cur,
				    d->revised[j].set, d->revised[j].nset, ev,
				    props, 0);
			claim_clear(&cur);
		}
	}
	/* Deployments and releases (deploy.c), in the same transaction. */
	if (rc == 0)
		rc = deploy_apply(e->deploy, l, e->t, ev);
	if (rc == 0 && e->t->ncc > 0)
		rc = engine_trigger(e, l, ev->type, 0, ev->time, ev);
out:
	e->ev_type = NULL;
	json_object_put(props);
	json_object_put(links);
	return (rc);
}

static struct cstate *
engine_state(struct engine *e, struct ledger *l, const char *name,
    const char *id, int *err)
{
	struct cstate	*s;
	struct claim	 c;
	char		 key[2 * ENGINE_KEYLEN];
	size_t		 slot;
	int		 found;

	*err = 0;
	snprintf(key, sizeof(key), "%s/%s", name, id);
	slot = engine_hash(key) % ENGINE_SLOTS;
	for (s = e->states[slot]; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0)
			return (s);
	memset(&c, 0, sizeof(c));
	if ((found = ledger_claim_get(l, name, id, INT64_MAX, &c)) == -1) {
		*err = 1;
		return (NULL);
	}
	if (e->nstates >= ENGINE_MAX_STATES)
		engine_drop_caches(e);	/* rare; they reload */
	s = xcalloc(1, sizeof(*s));
	s->key = xstrdup(key);
	s->revision = found ? c.revision : 0;
	s->properties = found ? xstrdup(c.properties) : NULL;
	claim_clear(&c);
	slot = engine_hash(key) % ENGINE_SLOTS;
	s->next = e->states[slot];
	e->states[slot] = s;
	e->nstates++;
	return (s);
}

/*
 * End of a transaction at recorded_at: write a revision for each dirty
 * computed claim whose value changed.  Returns 0 or -1.
 */
int
engine_flush(struct engine *e, struct ledger *l, int64_t recorded_at)
{
	struct dirty	*d;
	struct cstate	*s;
	struct claim	 c;
	char		*basis;
	size_t		 i;
	int		 err, rc = 0;

	e->ev_type = NULL;
	for (i = 0; i < e->ndirty && rc == 0; i++)
		if (e->dirty[i].pending)
			rc = engine_eval(e, l, &e->dirty[i], l->pending_seq);
	for (i = 0; i < e->ndirty && rc == 0; i++) {
		d = &e->dirty[i];
		if (d->properties == NULL)
			continue;	/* not computed: too few (exact) */
		if ((s = engine_state(e, l, d->cc->name, d->id, &err)) ==
		    NULL) {
			rc = -1;
			break;
		}
		if (s->properties != NULL &&
		    strcmp(s->properties, d->properties) == 0)
			continue;
		basis = basis_json(&d->basis, 1);
		memset(&c, 0, sizeof(c));
		c.type = d->cc->name;
		c.id = d->id;
		c.revision = s->revision + 1;
		c.anchor = d->anchor;
		c.time = d->time;
		c.recorded_at = recorded_at;
		c.properties = d->properties;
		c.links = (char *)"{}";
		c.basis = basis;
		c.about = d->cc->about;
		rc = ledger_claim_put(l, &c);
		free(basis);
		if (rc == 0) {
			s->revision = c.revision;
			free(s->properties);
			s->properties = xstrdup(d->properties);
		}
	}
	engine_dirty_clear(e);
	if (rc == 0)
		rc = deploy_flush(e->deploy, l, recorded_at);
	return (rc);
}
