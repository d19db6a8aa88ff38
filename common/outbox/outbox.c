/*
 * outbox.c: the transactional outbox and the change feed (the policy; the
 * rows are stored behind the ledger facade, store/sqlite-outbox.c).
 *
 * outbox_on_claim is the ledger's on_claim hook.  It runs on the writer
 * thread, inside the transaction that stores the claim revision, and
 * writes one row of `changes`: a cursor (AUTOINCREMENT: increasing, never
 * reused), the claim's type, id and revision, and the merge patch of
 * {properties, links} against the previous revision (GET /v1/changes).
 * That row is the durable queue: nothing per sink is written at ingest.
 *
 * outbox_fill, a writer job that push.c submits per sink, takes the feed
 * after the sink's cursor (outbox_cursors) into the rows
 * `outbox(sink, type, id)`: the state the sink should reach (`want`, the
 * subscription's fields) beside the state it last acknowledged (`acked`).
 * A newer state overwrites `want`, so it supersedes a queued older one,
 * and the patch push.c sends is always computed from what the sink
 * acknowledged.  A change outside the subscription's fields leaves the row
 * alone: nothing to send.  The cursor moves in the same transaction, so
 * each change is taken once, and a crash loses none between commit and
 * send.  Rows are acknowledged (outbox_ack_apply) on the writer thread
 * too; milepost outbox retry/replay update them from another process, in
 * short transactions.
 */
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>		/* curl_getdate, for Retry-After */

#include "outbox/outbox.h"

struct outbox {
	const struct sinkconf	*sinks;		/* borrowed, like subs */
	size_t			 nsinks;
	const struct subscription *subs;
	size_t			 nsubs;
	struct ledger		*l;		/* the writer's, borrowed */
	outbox_present_cb	 present;	/* client views, or NULL */
	void			*present_arg;
	struct buf		 b;
	_Atomic int64_t		 head;		/* the last change's cursor */
};

static void
outbox_forgot(const char *sink)
{
	log_info("outbox: sink %s is no longer configured: its change-feed "
	    "cursor is dropped", sink);
}

/*
 * The writer's outbox on ledger l (borrowed, read-write), for the sinks
 * and subscriptions given (borrowed: they outlive it).  Forgets the
 * change-feed cursor of every sink that is no longer configured, so that
 * no backlog grows for it: its rows stay (a dead letter can still be
 * read), and if it comes back it takes the feed from the start and sends
 * only what differs from what it acknowledged.  present (with arg) is
 * the presentation that builds what a client-audience subscription's sink
 * receives; without it such a subscription sends nothing.  Install
 * outbox_on_claim with the result as the ledger's hook (ledger_on_claim).
 */
struct outbox *
outbox_new(const struct sinkconf *sinks, size_t nsinks,
    const struct subscription *subs, size_t nsubs, struct ledger *l,
    outbox_present_cb present, void *present_arg, char *err, size_t errlen)
{
	struct outbox	*ob;
	json_object	*names = json_object_new_array();
	size_t		 i;
	int		 rc;

	for (i = 0; i < nsinks; i++)
		json_object_array_add(names,
		    json_object_new_string(sinks[i].name));
	rc = ledger_cursor_forget(l, json_object_to_json_string_ext(names,
	    JSON_C_TO_STRING_PLAIN), outbox_forgot);
	json_object_put(names);
	if (rc == -1) {
		snprintf(err, errlen, "outbox: %s", ledger_error(l));
		return (NULL);
	}
	ob = xcalloc(1, sizeof(*ob));
	ob->sinks = sinks;
	ob->nsinks = nsinks;
	ob->subs = subs;
	ob->nsubs = nsubs;
	ob->l = l;
	ob->present = present;
	ob->present_arg = present_arg;
	buf_init(&ob->b);
	return (ob);
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	buf_free(&ob->b);
	free(ob);
}

static json_object *
outbox_parse(const char *s)
{
	return (s == NULL ? NULL : json_tokener_parse(s));
}

/* {"properties": …, "links": …} of a stored revision (taken). */
static json_object *
outbox_doc(const char *props, const char *links)
{
	json_object	*d;

	d = json_object_new_object();
	json_object_object_add(d, "properties", outbox_parse(props));
	json_object_object_add(d, "links", outbox_parse(links));
	return (d);
}

/* Does the subscription take this claim? */
static int
outbox_match(const struct subscription *s, const struct claim *c,
    const char *tenant)
{
	size_t	i, n;
	int	ok;

	for (i = 0, ok = 0; i < s->ntypes && !ok; i++)
		ok = strcmp(s->types[i], c->type) == 0;
	if (!ok)
		return (0);
	if (s->tenant != NULL && (tenant == NULL ||
	    strcmp(s->tenant, tenant) != 0))
		return (0);
	if (s->nids == 0)
		return (1);
	for (i = 0; i < s->nids; i++) {
		n = strlen(s->ids[i]);
		if (n > 0 && s->ids[i][n - 1] == '*' ?
		    strncmp(s->ids[i], c->id, n - 1) == 0 :
		    strcmp(s->ids[i], c->id) == 0)
			return (1);
	}
	return (0);
}

/* The subscription's view of props: its fields only (taken). */
static json_object *
outbox_select(const struct subscription *s, json_object *props)
{
	json_object	*o, *v;
	size_t		 i;

	o = json_object_new_object();
	if (!json_object_is_type(props, json_type_object))
		return (o);
	if (s->nfields == 0) {
		json_object_object_foreach(props, k, val)
			if (val != NULL)
				json_object_object_add(o, k,
				    json_object_get(val));
		return (o);
	}
	for (i = 0; i < s->nfields; i++)
		if (json_object_object_get_ex(props, s->fields[i], &v) &&
		    v != NULL)
			json_object_object_add(o, s->fields[i],
			    json_object_get(v));
	return (o);
}

static int
outbox_change(struct outbox *ob, struct ledger *l, const struct claim *c,
    json_object *doc, const char *tenant)
{
	struct claim	 prev;
	struct change	 ch;
	json_object	*old = NULL, *patch;
	int64_t		 cursor;
	int		 rc;

	memset(&prev, 0, sizeof(prev));
	if ((rc = ledger_claim_rev(l, c->type, c->id, c->revision, 1,
	    &prev)) == -1)
		return (-1);
	if (rc == 1)
		old = outbox_doc(prev.properties, prev.links);
	claim_clear(&prev);
	patch = mergepatch_diff(old, doc);
	json_object_put(old);
	if (old != NULL && mergepatch_empty(patch)) {
		json_object_put(patch);
		return (0);	/* a revision that changed nothing visible */
	}
	memset(&ch, 0, sizeof(ch));
	ch.type = c->type;
	ch.id = c->id;
	ch.revision = c->revision;
	ch.recorded_at = c->recorded_at;
	ch.tenant = tenant;
	ch.patch = json_object_to_json_string_ext(patch,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if ((cursor = ledger_feed_append(l, &ch)) != -1)
		atomic_store(&ob->head, cursor);
	json_object_put(patch);
	return (cursor == -1 ? -1 : 0);
}

/*
 * The on_claim hook (writer thread, in the claim's transaction): the
 * change feed's row, and nothing per sink.  The sinks take the feed into
 * their outbox rows at their own pace (outbox_fill), so a sink that is
 * slow or dead adds no work to ingest.  Returns -1 on a storage error,
 * which fails the transaction.
 */
int
outbox_on_claim(struct ledger *l, const struct claim *c, void *arg)
{
	struct outbox		*ob = arg;
	json_object		*props, *links, *doc, *t;
	const char		*tenant = NULL;
	int			 rc;

	props = outbox_parse(c->properties);
	links = outbox_parse(c->links);
	if (json_object_object_get_ex(links, "tenant", &t) &&
	    json_object_is_type(t, json_type_string))
		tenant = json_object_get_string(t);
	doc = json_object_new_object();
	json_object_object_add(doc, "properties", props);
	json_object_object_add(doc, "links", links);
	rc = outbox_change(ob, l, c, doc, tenant);
	json_object_put(doc);
	return (rc);
}

/* The last change's cursor the writer recorded (any thread). */
int64_t
outbox_head(struct outbox *ob)
{
	return (atomic_load(&ob->head));
}

/*
 * A fingerprint of sink's subscriptions (types, ids, tenant, fields, in
 * configuration order), so that a change of them is noticed.
 */
static void
outbox_subs_hash(const struct outbox *ob, size_t sink, char out[MP_HASHLEN])
{
	const struct subscription	*s;
	struct buf			 b;
	size_t				 i, j;

	buf_init(&b);
	for (i = 0; i < ob->nsubs; i++) {
		s = &ob->subs[i];
		if (s->sink != sink)
			continue;
		buf_adds(&b, "sub\036");
		for (j = 0; j < s->ntypes; j++)
			buf_printf(&b, "t%s\037", s->types[j]);
		for (j = 0; j < s->nids; j++)
			buf_printf(&b, "i%s\037", s->ids[j]);
		if (s->tenant != NULL)
			buf_printf(&b, "n%s\037", s->tenant);
		if (s->client)
			buf_adds(&b, "aclient\037");
		for (j = 0; j < s->nfields; j++)
			buf_printf(&b, "f%s\037", s->fields[j]);
	}
	sha256_hex(b.data != NULL ? b.data : "", b.len, out);
	buf_free(&b);
}

struct fill_walk {
	struct outbox		*ob;
	size_t			 sink;
	struct outbox_fill	*f;
	int			 failed;
};

/*
 * The row of a client-audience subscription: the presentation's view of
 * claim c (never the stored properties), its fields selected from the
 * view's properties, the view's links (what URL templates may expand)
 * and its public id.  Nothing when no client may receive it.  Returns 0
 * or -1.
 */
static int
outbox_fill_client(struct outbox *ob, size_t sink,
    const struct subscription *s, const struct claim *c)
{
	json_object	*claim, *view, *props = NULL, *links = NULL, *v;
	const char	*id = c->id;
	char		*lstr;
	int		 rc;

	if (ob->present == NULL)
		return (0);
	claim = claim_to_json(c);
	view = ob->present(claim, ob->present_arg);
	json_object_put(claim);
	if (view == NULL)
		return (0);
	json_object_object_get_ex(view, "properties", &props);
	json_object_object_get_ex(view, "links", &links);
	if (json_object_object_get_ex(view, "id", &v) &&
	    json_object_is_type(v, json_type_string))
		id = json_object_get_string(v);
	v = outbox_select(s, props);
	buf_reset(&ob->b);
	evidence_canonical_json(v, &ob->b);
	json_object_put(v);
	lstr = xstrdup(links != NULL ? json_object_to_json_string_ext(links,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "{}");
	rc = ledger_outbox_upsert(ob->l, ob->sinks[sink].name, c->type, id,
	    ob->b.data, ob->b.len, c->revision, c->recorded_at, lstr);
	free(lstr);
	json_object_put(view);
	return (rc);
}

/*
 * Upsert the outbox row of the sink for one change-feed entry, if a
 * subscription of that sink takes its claim.  Returns 0, or 1 (stop) on
 * a storage error.
 */
static int
outbox_fill_one(const struct change *ch, void *arg)
{
	struct fill_walk		*w = arg;
	struct outbox			*ob = w->ob;
	const struct subscription	*s = NULL;
	struct claim			 c;
	json_object			*props, *want;
	size_t				 i;
	int				 rc;

	w->f->cursor = ch->cursor;
	w->f->read++;
	memset(&c, 0, sizeof(c));
	c.type = (char *)ch->type;
	c.id = (char *)ch->id;
	for (i = 0; i < ob->nsubs; i++)	/* the first one wins */
		if (ob->subs[i].sink == w->sink &&
		    outbox_match(&ob->subs[i], &c, ch->tenant)) {
			s = &ob->subs[i];
			break;
		}
	if (s == NULL)
		return (0);
	if ((rc = ledger_claim_rev(ob->l, ch->type, ch->id, ch->revision, 0,
	    &c)) != 1) {
		if (rc == 0)
			return (0);
		w->failed = 1;
		return (1);
	}
	if (s->client)
		rc = outbox_fill_client(ob, w->sink, s, &c);
	else {
		props = outbox_parse(c.properties);
		want = outbox_select(s, props);
		json_object_put(props);
		buf_reset(&ob->b);
		evidence_canonical_json(want, &ob->b);
		json_object_put(want);
		rc = ledger_outbox_upsert(ob->l, ob->sinks[w->sink].name,
		    ch->type, ch->id, ob->b.data, ob->b.len, ch->revision,
		    c.recorded_at, c.links);
	}
	claim_clear(&c);
	if (rc == -1) {
		w->failed = 1;
		return (1);
	}
	return (0);
}

/*
 * Take up to limit more entries of the change feed into the outbox rows
 * of sink (writer thread, in its transaction): each revision a
 * subscription of the sink takes becomes the state the sink should reach
 * (a newer revision supersedes a queued one; an older one never replaces
 * a newer).  The sink's cursor moves in the same transaction, so every
 * change is taken exactly once; when its subscriptions changed, it starts
 * again from the beginning of the feed.  Sets f: entries read, whether
 * more may follow, and the sink's pending rows (counted up to
 * pending_cap).  Returns 0 or -1.
 */
int
outbox_fill(struct ledger *l, struct outbox *ob, const char *sinkname,
    size_t limit, int64_t pending_cap, struct outbox_fill *f)
{
	struct fill_walk w;
	char		 subs[MP_HASHLEN], stored[MP_HASHLEN];
	int64_t		 cursor = 0;
	size_t		 sink;
	int		 rc;

	memset(f, 0, sizeof(*f));
	for (sink = 0; sink < ob->nsinks; sink++)
		if (strcmp(ob->sinks[sink].name, sinkname) == 0)
			break;
	if (sink == ob->nsinks || l != ob->l)
		return (-1);
	outbox_subs_hash(ob, sink, subs);
	if ((rc = ledger_cursor_get(l, sinkname, &cursor, stored)) == -1)
		return (-1);
	if (rc == 1 && strcmp(stored, subs) != 0) {
		log_info("outbox: %s: its subscriptions changed; taking the "
		    "change feed again from the start", sinkname);
		cursor = 0;
	}
	f->cursor = cursor;
	memset(&w, 0, sizeof(w));
	w.ob = ob;
	w.sink = sink;
	w.f = f;
	if (ledger_feed_scan(l, cursor, limit, NULL, outbox_fill_one, &w) ==
	    -1 || w.failed)
		return (-1);
	f->more = f->read == limit;
	if (ledger_cursor_set(l, sinkname, f->cursor, subs) == -1)
		return (-1);
	return ((f->pending = ledger_outbox_pending(l, sinkname,
	    pending_cap)) == -1 ? -1 : 0);
}

struct changes_walk {
	json_object	*arr;
	int64_t		*next;
};

static int
outbox_change_json(const struct change *ch, void *arg)
{
	struct changes_walk	*w = arg;
	json_object		*o;
	char			 t[MP_TIMELEN];

	*w->next = ch->cursor;
	o = json_object_new_object();
	json_object_object_add(o, "cursor", json_object_new_int64(ch->cursor));
	json_object_object_add(o, "type", json_object_new_string(ch->type));
	json_object_object_add(o, "id", json_object_new_string(ch->id));
	json_object_object_add(o, "revision",
	    json_object_new_int64(ch->revision));
	tf_format(ch->recorded_at, t);
	json_object_object_add(o, "recorded_at", json_object_new_string(t));
	json_object_object_add(o, "patch", outbox_parse(ch->patch));
	json_object_array_add(w->arr, o);
	return (0);
}

/*
 * The change feed after cursor: at most limit entries appended to arr
 * (borrowed) as {cursor, type, id, revision, recorded_at, patch}; *next
 * is the last cursor returned, or after.  tenant, when not NULL, keeps
 * only that tenant's entries.
 */
int
outbox_changes(struct ledger *l, int64_t after, size_t limit,
    const char *tenant, json_object *arr, int64_t *next)
{
	struct changes_walk	w = { arr, next };

	*next = after;
	return (ledger_feed_scan(l, after, limit, tenant, outbox_change_json,
	    &w));
}

/*
 * The webhook-id of a push: the same for the same sink, object, target
 * revision, base revision and replay generation, so that a resend after a
 * crash or a timeout is recognisably the same message.
 */
void
outbox_msgid(const struct outbox_row *r, char *out, size_t outlen)
{
	struct buf	b;
	char		hex[MP_HASHLEN];

	buf_init(&b);
	buf_printf(&b, "%s%c%s%c%s%c%" PRId64 "%c%" PRId64 "%c%" PRId64,
	    r->sink, 0, r->type, 0, r->id, 0, r->want_rev, 0, r->acked_rev, 0,
	    r->gen);
	sha256_hex(b.data, b.len, hex);
	buf_free(&b);
	snprintf(out, outlen, "msg_%.32s", hex);
}

/*
 * The delay before attempt number attempt+1 (attempt >= 1 failed so
 * far), in microseconds: base * 2^(attempt-1), at most max, with "equal
 * jitter": half of it fixed, half uniformly random from rnd.
 */
int64_t
outbox_backoff(double base, double max, int64_t attempt, uint32_t rnd)
{
	double	d;

	if (attempt < 1)
		attempt = 1;
	d = base * ldexp(1.0, (int)(attempt > 60 ? 60 : attempt - 1));
	if (d > max)
		d = max;
	d = d / 2 + (d / 2) * ((double)rnd / (double)UINT32_MAX);
	return ((int64_t)(d * 1e6));
}

/*
 * A Retry-After value (seconds, or an HTTP date) as a delay from now in
 * microseconds, at most one hour; -1 when absent or unreadable.
 */
int64_t
outbox_retry_after(const char *v, int64_t now)
{
	char		*end;
	long long	 secs;
	time_t		 t;

	if (v == NULL)
		return (-1);
	while (*v == ' ')
		v++;
	secs = strtoll(v, &end, 10);
	if (end != v && (*end == '\0' || *end == ' ' || *end == '\r')) {
		if (secs < 0)
			return (-1);
	} else {
		if ((t = curl_getdate(v, NULL)) == -1)
			return (-1);
		secs = (long long)t - now / 1000000;
		if (secs < 0)
			secs = 0;
	}
	if (secs > 3600)
		secs = 3600;
	return ((int64_t)secs * 1000000);
}
