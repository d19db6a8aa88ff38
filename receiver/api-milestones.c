/*
 * api-milestones.c: GET /v1/milestones and /v1/milestones/{id}, on the
 * loop thread against the read-only ledger connection.  A milestone is
 * its latest Milestone claim revision (or, before any evidence, its
 * declared scope, revision 0).  A client token sees only its tenant's
 * milestones, as the presentation builds them (api_present: the tenant
 * link, then access/present.c's client view: title, description, due,
 * state, progress, predicted finish, last change and what delivered it;
 * no basis, checkpoints, rejections or delta reasons); another tenant's
 * milestone is a 404, as if it did not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

/*
 * The milestone d as the API shows it: its claim at as_of, or its
 * declared scope (revision 0) evaluated now.  NULL on a storage error;
 * *found is 0 when there is no claim at as_of and as_of is in the past.
 */
#define API_UNKNOWN_MAX	100	/* unknown milestone names listed */

/* One MilestoneUnknown claim as {milestone, commits, last_commit, …}. */
static int
api_milestones_unknown(const struct claim *c, void *arg)
{
	json_object	*p;

	if ((p = json_tokener_parse(c->properties)) != NULL)
		json_object_array_add(arg, p);
	return (0);
}

/*
 * Milestone d as a claim-shaped object at as_of (its initial state when
 * it has no revision yet), not presented; NULL on a storage error.  Also
 * used by the status pages (api-status.c).
 */
json_object *
api_milestones_one(struct server *srv, const struct milestone_def *d,
    int64_t as_of)
{
	struct claim		 c;
	struct milestone_eval	 e;
	json_object		*o, *p;
	char			 t[MP_TIMELEN];
	int			 rc;

	memset(&c, 0, sizeof(c));
	rc = ledger_claim_get(srv->reader, "Milestone", d->id, as_of,
	    &c);
	if (rc == -1)
		return (NULL);
	if (rc == 1) {
		o = claim_to_json(&c);
		claim_clear(&c);
	} else {
		o = json_object_new_object();
		json_object_object_add(o, "type",
		    json_object_new_string("Milestone"));
		json_object_object_add(o, "id", json_object_new_string(d->id));
		p = milestone_initial(d);
		memset(&e, 0, sizeof(e));
		e.total = (size_t)json_object_get_int(
		    json_object_object_get(p, "total"));
		e.now = tf_now();
		e.start = d->start;
		e.due = d->due;
		e.margin = srv->cf->milestones->at_risk_margin;
		milestone_evaluate(&e);
		json_object_object_add(p, "state",
		    json_object_new_string(e.state));
		json_object_object_add(o, "properties", p);
		json_object_object_add(o, "revision", json_object_new_int(0));
		json_object_object_add(o, "basis", json_object_new_array());
		p = json_object_new_object();
		json_object_object_add(p, "tenant",
		    json_object_new_string(d->tenant));
		json_object_object_add(o, "links", p);
	}
	json_object_object_add(o, "tenant", json_object_new_string(d->tenant));
	if (d->start != 0) {
		tf_format(d->start, t);
		json_object_object_add(o, "start", json_object_new_string(t));
	}
	return (o);
}

/*
 * GET /v1/milestones[?as_of=RFC3339] lists every declared milestone the
 * token may see, in configuration order; GET /v1/milestones/{id} one.
 * Both send an ETag and answer If-None-Match with 304.
 */
void
api_milestones(struct server *srv, struct evhttp_request *req,
    const char *rest)
{
	const struct milestone_conf	*mc = srv->cf->milestones;
	struct evkeyvalq		 q;
	const struct token		*tok;
	const char			*v, *tenant = NULL;
	json_object			*o, *arr;
	char				*id = NULL;
	int64_t				 as_of = INT64_MAX;
	size_t				 i;
	int				 idx;

	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	/* A client sees its tenant's (api_present checks it again). */
	if (tok->role == ROLE_CLIENT)
		tenant = tok->tenant != NULL ? tok->tenant : "";
	if (api_query(srv, req, &q) == -1)
		return;
	if ((v = evhttp_find_header(&q, "as_of")) != NULL &&
	    tf_parse(v, &as_of) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "as_of must be an "
		    "RFC 3339 timestamp", "as_of");
		goto out;
	}
	if (*rest != '\0') {
		id = evhttp_uridecode(rest, 0, NULL);
		if (id == NULL || (idx = milestone_conf_index(mc, id)) == -1 ||
		    (tenant != NULL && strcmp(tenant, mc->ms[idx].tenant) !=
		    0)) {
			http_error(srv, req, 404, REJECT_NOTFOUND, "no such "
			    "milestone", NULL);
			goto out;
		}
		if ((o = api_milestones_one(srv, &mc->ms[idx], as_of)) ==
		    NULL) {
			api_unreadable(srv, req);
			goto out;
		}
		if (api_present(srv, tok, o) == -1) {
			json_object_put(o);
			http_error(srv, req, 404, REJECT_NOTFOUND, "no such "
			    "milestone", NULL);
			goto out;
		}
		api_reply_etag(req, o);
		json_object_put(o);
		goto out;
	}
	arr = json_object_new_array();
	for (i = 0; i < mc->nms; i++) {
		if (tenant != NULL && strcmp(tenant, mc->ms[i].tenant) != 0)
			continue;
		if ((o = api_milestones_one(srv, &mc->ms[i], as_of)) == NULL) {
			json_object_put(arr);
			api_unreadable(srv, req);
			goto out;
		}
		if (api_present(srv, tok, o) == -1) {
			json_object_put(o);
			continue;
		}
		json_object_array_add(arr, o);
	}
	o = json_object_new_object();
	json_object_object_add(o, "milestones", arr);
	/* Names that commits use and no milestone declares (not a client's). */
	if (tenant == NULL) {
		arr = json_object_new_array();
		if (ledger_claim_list(srv->reader, "MilestoneUnknown", NULL,
		    API_UNKNOWN_MAX, as_of, api_milestones_unknown, arr) == -1) {
			json_object_put(arr);
			json_object_put(o);
			api_unreadable(srv, req);
			goto out;
		}
		json_object_object_add(o, "unknown", arr);
	}
	api_reply_etag(req, o);
	json_object_put(o);
out:
	free(id);
	evhttp_clear_headers(&q);
}
