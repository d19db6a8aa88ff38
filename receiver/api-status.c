/*
 * api-status.c: the public status page of a tenant, with no token, off
 * unless status_pages: names the tenant (config-web.c).
 *
 *	GET /status/{tenant}		the page (web/status.html; it reads
 *					the JSON below)
 *	GET /status/{tenant}.json	{"tenant", "title", "milestones": […],
 *					 "services": […], "incidents": […]}
 *
 * Everything in it is built from objects presented for a client of that
 * tenant by the one presentation (api_present → access/present.c), as if
 * the tenant's client token had read them, and then only the configured
 * fields are copied out of those presented objects.  Both answers carry
 * an ETag (304 on If-None-Match); the JSON may be read from any origin
 * (Access-Control-Allow-Origin: *), since it is public by configuration.
 * An unconfigured tenant is 404, the same as one that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "milepostd.h"

#define STATUS_PAGE		1000
#define STATUS_MAX_DEPLOYMENTS	100000	/* read per request, at most */
#define STATUS_MAX_INCIDENTS	50
#define STATUS_TENANT_MAX	128

struct status_read {
	struct server		*srv;
	const struct token	*tok;		/* the tenant's client view */
	json_object		*cur;		/* "service\0env" → presented */
	char			 last[MP_IDMAX * 2];
	size_t			 seen, total;
	int			 err;
};

static const char *
status_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* Copy key of from (presented) into to, if there. */
static void
status_copy(json_object *to, json_object *from, const char *key)
{
	json_object	*v;

	if (from != NULL && json_object_object_get_ex(from, key, &v))
		json_object_object_add(to, key, json_object_get(v));
}

/* One Deployment claim: presented for the tenant, kept if current. */
static int
status_deployment(const struct claim *c, void *arg)
{
	struct status_read	*r = arg;
	json_object		*o, *p, *old, *op;
	const char		*svc, *env, *when, *owhen;
	char			 key[2 * MP_IDMAX];

	r->seen++;
	r->total++;
	snprintf(r->last, sizeof(r->last), "%s", c->id);
	o = claim_to_json(c);
	if (api_present(r->srv, r->tok, o) == -1) {
		json_object_put(o);
		return (r->total >= STATUS_MAX_DEPLOYMENTS ? -1 : 0);
	}
	p = json_object_object_get(o, "properties");
	svc = status_str(p, "service");
	env = status_str(p, "environment");
	if (svc == NULL || env == NULL) {
		json_object_put(o);
		return (0);
	}
	snprintf(key, sizeof(key), "%s/%s", svc, env);
	when = status_str(p, "started") ? status_str(p, "started") :
	    status_str(p, "since");
	if (json_object_object_get_ex(r->cur, key, &old)) {
		op = json_object_object_get(old, "properties");
		owhen = status_str(op, "started") ? status_str(op, "started") :
		    status_str(op, "since");
		if (owhen != NULL && (when == NULL || strcmp(owhen, when) >= 0)) {
			json_object_put(o);
			return (0);
		}
	}
	json_object_object_add(r->cur, key, o);
	return (r->total >= STATUS_MAX_DEPLOYMENTS ? -1 : 0);
}

/* services: [{service, environments: {env: {state[, since]}}}] */
static json_object *
status_services(struct server *srv, const struct token *tok,
    unsigned fields, int *err)
{
	struct status_read	 r;
	json_object		*by = json_object_new_object(), *arr, *envs;
	json_object		*p, *e;
	const char		*svc, *env;

	memset(&r, 0, sizeof(r));
	r.srv = srv;
	r.tok = tok;
	r.cur = json_object_new_object();
	do {
		r.seen = 0;
		if (ledger_claim_list(srv->reader, "Deployment", r.total ?
		    r.last : NULL, STATUS_PAGE, INT64_MAX, status_deployment,
		    &r) == -1 && r.total < STATUS_MAX_DEPLOYMENTS) {
			*err = 1;
			break;
		}
	} while (r.seen == STATUS_PAGE && r.total < STATUS_MAX_DEPLOYMENTS);
	json_object_object_foreach(r.cur, k, o) {
		(void)k;
		p = json_object_object_get(o, "properties");
		svc = status_str(p, "service");
		env = status_str(p, "environment");
		if (!json_object_object_get_ex(by, svc, &envs)) {
			envs = json_object_new_object();
			json_object_object_add(by, svc, envs);
		}
		e = json_object_new_object();
		status_copy(e, p, "state");
		if (fields & STATUS_F_SINCE)
			status_copy(e, p, "since");
		json_object_object_add(envs, env, e);
	}
	arr = json_object_new_array();
	json_object_object_foreach(by, name, envs2) {
		e = json_object_new_object();
		json_object_object_add(e, "service",
		    json_object_new_string(name));
		json_object_object_add(e, "environments",
		    json_object_get(envs2));
		json_object_array_add(arr, e);
	}
	json_object_put(by);
	json_object_put(r.cur);
	return (arr);
}

/* milestones and incidents, from the tenant's presented milestones. */
static int
status_milestones(struct server *srv, const struct token *tok,
    const struct status_page *sp, json_object *body)
{
	const struct milestone_conf	*mc = srv->cf->milestones;
	json_object			*ms, *inc, *o, *p, *m, *d, *deltas;
	size_t				 i, j;

	ms = json_object_new_array();
	inc = json_object_new_array();
	for (i = 0; i < mc->nms; i++) {
		if (strcmp(mc->ms[i].tenant, sp->tenant) != 0)
			continue;
		if ((o = api_milestones_one(srv, &mc->ms[i], INT64_MAX)) ==
		    NULL) {
			json_object_put(ms);
			json_object_put(inc);
			return (-1);
		}
		if (api_present(srv, tok, o) == -1) {
			json_object_put(o);
			continue;
		}
		p = json_object_object_get(o, "properties");
		m = json_object_new_object();
		status_copy(m, o, "id");
		status_copy(m, p, "title");
		status_copy(m, p, "due");
		status_copy(m, p, "state");
		if (sp->fields & STATUS_F_PROGRESS) {
			status_copy(m, p, "progress");
			status_copy(m, p, "done");
			status_copy(m, p, "total");
		}
		if (sp->fields & STATUS_F_PREDICTED) {
			status_copy(m, p, "predicted");	/* null: none yet */
			if (!json_object_object_get_ex(m, "predicted", NULL))
				json_object_object_add(m, "predicted", NULL);
		}
		if (sp->fields & STATUS_F_DELIVERY)
			status_copy(m, p, "delivered_by");
		if (sp->fields & STATUS_F_MILESTONES)
			json_object_array_add(ms, m);
		else
			json_object_put(m);
		if (json_object_object_get_ex(p, "deltas", &deltas) &&
		    json_object_is_type(deltas, json_type_array))
			for (j = json_object_array_length(deltas); j > 0 &&
			    json_object_array_length(inc) <
			    STATUS_MAX_INCIDENTS; j--) {
				d = json_object_array_get_idx(deltas, j - 1);
				if (status_str(d, "kind") == NULL ||
				    strcmp(status_str(d, "kind"), "incident") !=
				    0)
					continue;
				m = json_object_new_object();
				status_copy(m, o, "id");
				json_object_object_add(m, "milestone",
				    json_object_get(json_object_object_get(m,
				    "id")));
				json_object_object_del(m, "id");
				status_copy(m, d, "time");
				status_copy(m, d, "resolved");
				status_copy(m, d, "active");
				json_object_array_add(inc, m);
			}
		json_object_put(o);
	}
	if (sp->fields & STATUS_F_MILESTONES)
		json_object_object_add(body, "milestones", ms);
	else
		json_object_put(ms);
	if (sp->fields & STATUS_F_INCIDENTS)
		json_object_object_add(body, "incidents", inc);
	else
		json_object_put(inc);
	return (0);
}

/* GET /status/{rest}: rest is "tenant" or "tenant.json". */
void
status_route(struct server *srv, struct evhttp_request *req, const char *rest)
{
	const struct status_page	*sp;
	struct token			 tok;
	json_object			*body, *svcs;
	enum evhttp_cmd_type		 m = evhttp_request_get_command(req);
	char				*name = NULL;
	size_t				 len;
	int				 json = 0, err = 0;

	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_error(srv, req, 405, REJECT_METHOD, "method not allowed",
		    NULL);
		return;
	}
	len = strlen(rest);
	if (len > 5 && strcmp(rest + len - 5, ".json") == 0) {
		json = 1;
		len -= 5;
	}
	if (len > 0 && len < STATUS_TENANT_MAX)
		name = evhttp_uridecode(rest, 0, NULL);
	if (name != NULL && json)
		name[strlen(name) - 5] = '\0';
	if (name == NULL || strchr(name, '/') != NULL ||
	    (sp = config_status_page(srv->cf, name)) == NULL) {
		free(name);
		http_error(srv, req, 404, REJECT_NOTFOUND, "no such status "
		    "page", NULL);
		return;
	}
	free(name);
	if (!json) {
		web_send(req, web_asset_find("status.html"));
		return;
	}
	/* What the tenant's client token would read, as it would. */
	memset(&tok, 0, sizeof(tok));
	tok.role = ROLE_CLIENT;
	tok.tenant = sp->tenant;
	body = json_object_new_object();
	json_object_object_add(body, "tenant",
	    json_object_new_string(sp->tenant));
	json_object_object_add(body, "title", json_object_new_string(
	    sp->title ? sp->title : sp->tenant));
	if (status_milestones(srv, &tok, sp, body) == -1)
		err = 1;
	if (!err && (sp->fields & STATUS_F_SERVICES)) {
		svcs = status_services(srv, &tok, sp->fields, &err);
		json_object_object_add(body, "services", svcs);
	}
	if (err) {
		log_warnx("%s: %s: %s", __func__, sp->tenant,
		    ledger_error(srv->reader));
		json_object_put(body);
		api_unreadable(srv, req);
		return;
	}
	web_headers(req);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Access-Control-Allow-Origin", "*");
	api_reply_etag(req, body);
	json_object_put(body);
}
