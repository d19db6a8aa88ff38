/*
 * api-changes.c: GET /v1/changes?after=CURSOR&limit=N, the differential change
 * feed that clients poll instead of receiving webhooks.  Each entry is one
 * claim revision that changed something: {cursor, type, id, revision,
 * recorded_at, patch}, where patch is the RFC 7396 merge patch of
 * {properties, links} against the claim's previous revision (the whole
 * document for a new claim).  Cursors increase and are never reused;
 * "next" is the cursor to ask after.  A client token sees only the
 * changes of claims whose tenant link is its tenant, redacted by its
 * role's policy like the claims themselves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define FEED_LIMIT_DEFAULT	100
#define FEED_LIMIT_MAX		1000

void
feed_changes(struct server *srv, struct evhttp_request *req)
{
	struct evkeyvalq	 q;
	const struct token	*tok;
	const char		*tenant = NULL;
	json_object		*o, *arr, *patch;
	long long		 after, limit;
	int64_t			 next;
	size_t			 i;

	if (api_authorize(srv, req, ACCESS_CLAIM_READ, &tok) == -1)
		return;
	/* A client sees its tenant's changes; without a tenant, none. */
	if (tok->role == ROLE_CLIENT)
		tenant = tok->tenant != NULL ? tok->tenant : "\001none";
	if (api_query(srv, req, &q) == -1)
		return;
	if (api_query_int(&q, "after", 0, 0, INT64_MAX, &after) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "after must be a "
		    "cursor (0 or more)", "after");
		goto out;
	}
	if (api_query_int(&q, "limit", FEED_LIMIT_DEFAULT, 1, FEED_LIMIT_MAX,
	    &limit) == -1) {
		http_error(srv, req, 400, REJECT_SYNTAX, "limit must be 1 to "
		    "1000", "limit");
		goto out;
	}
	arr = json_object_new_array();
	if (outbox_changes(srv->reader, after, (size_t)limit, tenant, arr,
	    &next) == -1) {
		json_object_put(arr);
		api_unreadable(srv, req);
		goto out;
	}
	/*
	 * A patch has the shape of the claim ({properties, links}), so the
	 * token's redaction policy applies to it as to the claim: a removed
	 * field is neither sent nor shown as deleted.
	 */
	for (i = 0; i < json_object_array_length(arr); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(arr, i),
		    "patch", &patch))
			redact_claim(srv->cf->redaction, tok, patch);
	o = json_object_new_object();
	json_object_object_add(o, "changes", arr);
	json_object_object_add(o, "next", json_object_new_int64(next));
	api_reply_etag(req, o);
	json_object_put(o);
out:
	evhttp_clear_headers(&q);
}
