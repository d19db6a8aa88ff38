/*
 * claim.c: one revision of a claim, as stored, its JSON form, and the one
 * builder of its basis.
 */
#include <stdlib.h>
#include <string.h>

#include "record/record.h"


void
claim_clear(struct claim *c)
{
	free(c->type);
	free(c->id);
	free(c->properties);
	free(c->links);
	free(c->basis);
	free(c->about);
	memset(c, 0, sizeof(*c));
}

/* The API's form of a claim revision. */
json_object *
claim_to_json(const struct claim *c)
{
	json_object	*o, *p;
	char		 t[MP_TIMELEN];

	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(c->type));
	json_object_object_add(o, "id", json_object_new_string(c->id));
	if (c->about != NULL)
		json_object_object_add(o, "about",
		    json_object_new_string(c->about));
	p = json_tokener_parse(c->properties);
	json_object_object_add(o, "properties", p ? p :
	    json_object_new_object());
	json_object_object_add(o, "revision",
	    json_object_new_int64(c->revision));
	p = json_tokener_parse(c->basis);
	json_object_object_add(o, "basis", p ? p : json_object_new_array());
	if (c->links != NULL && strcmp(c->links, "{}") != 0 &&
	    (p = json_tokener_parse(c->links)) != NULL)
		json_object_object_add(o, "links", p);
	tf_format(c->time, t);
	json_object_object_add(o, "time", json_object_new_string(t));
	tf_format(c->recorded_at, t);
	json_object_object_add(o, "recorded_at", json_object_new_string(t));
	tf_format(c->anchor, t);
	json_object_object_add(o, "period_anchor", json_object_new_string(t));
	return (o);
}

void
basis_init(struct basis *bs, size_t max)
{
	memset(bs, 0, sizeof(*bs));
	buf_init(&bs->b);
	bs->max = max;
}

void
basis_free(struct basis *bs)
{
	buf_free(&bs->b);
	bs->n = bs->dropped = 0;
}

void
basis_reset(struct basis *bs)
{
	buf_reset(&bs->b);
	bs->n = bs->dropped = 0;
}

/* Append one prebuilt JSON object (borrowed), or count it as dropped. */
void
basis_add_json(struct basis *bs, const char *json)
{
	if (bs->n >= bs->max) {
		bs->dropped++;
		return;
	}
	if (bs->n++ > 0)
		buf_addc(&bs->b, ',');
	buf_adds(&bs->b, json);
}

/* {"id": id, "seq": seq}, as json-c prints it (ids are printable ASCII). */
void
basis_add_ev(struct basis *bs, const char *id, int64_t seq)
{
	if (bs->n >= bs->max) {
		bs->dropped++;
		return;
	}
	buf_adds(&bs->b, bs->n++ > 0 ? ",{\"id\":" : "{\"id\":");
	evidence_json_string(&bs->b, id, strlen(id));
	buf_printf(&bs->b, ",\"seq\":%lld}", (long long)seq);
}

/* {"claim": "type/id", "revision": rev}. */
void
basis_add_claim(struct basis *bs, const char *type, const char *id,
    int64_t rev)
{
	json_object	*o;
	char		*name;

	o = json_object_new_object();
	xasprintf(&name, "%s/%s", type, id);
	json_object_object_add(o, "claim", json_object_new_string(name));
	free(name);
	json_object_object_add(o, "revision", json_object_new_int64(rev));
	basis_add_json(bs, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Append what another basis holds (its entries, within this one's max). */
void
basis_append(struct basis *bs, const struct basis *from)
{
	size_t	room;

	if (from->n == 0)
		return;
	room = bs->max > bs->n ? bs->max - bs->n : 0;
	if (room < from->n) {
		/* Whole entries only: rebuilt one by one would need a parse. */
		bs->dropped += from->n;
		return;
	}
	if (bs->n > 0)
		buf_addc(&bs->b, ',');
	buf_add(&bs->b, from->b.data, from->b.len);
	bs->n += from->n;
}

/* The basis as a JSON array (taken). */
char *
basis_json(const struct basis *bs, int more)
{
	struct buf	b;

	buf_init(&b);
	buf_addc(&b, '[');
	buf_add(&b, bs->b.data, bs->b.len);
	if (more && bs->dropped > 0)
		buf_printf(&b, "%s{\"more\":%zu}", bs->n > 0 ? "," : "",
		    bs->dropped);
	buf_addc(&b, ']');
	return (buf_steal(&b));
}
