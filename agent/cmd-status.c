/*
 * cmd-status.c: "milepost status", the delivery at a glance in the
 * terminal, from the read API (MILEPOST_URL, MILEPOST_TOKEN):
 *
 *	SERVICE    staging            production
 *	shop       deployed 5m        verified 2h
 *	payments   -                  failed 3m  [1 incident]
 *
 *	open incidents: payments/production: INC-1
 *	milestones at risk: M-7 "Checkout v2" at_risk, due 2025-08-31
 *	gates closed: none (or each closed gate and its reasons; "this
 *	receiver has no gates endpoint" when it cannot say)
 *
 * Read from GET /v1/services (the deployments list when there is no
 * catalog), /v1/milestones and, when the receiver has it, GET
 * /v1/gates/{service}/{environment}.  Colour only on a terminal (and not
 * with NO_COLOR or TERM=dumb); --json prints the same as one object.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define STATUS_ENVMAX	32

static int	cmd_status_exec(const struct cmd_entry *, int, char **);

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "[--json]",
	.summary = "services x environments, open incidents, milestones at "
	    "risk, gates closed",
	.help =
	    "options:\n"
	    "  --json  print {services, incidents, milestones_at_risk, "
	    "gates_closed}\n"
	    "\nA table of services by environment with each current "
	    "deployment's state and\n"
	    "age, then the open incidents, the milestones at risk (any state "
	    "but on_track\n"
	    "or delivered) and the gates closed (\"none\" when the receiver "
	    "has no gates).\n"
	    "Colour only on a terminal (not with NO_COLOR, or TERM=dumb).\n"
	    "\nexit status: 0 printed; 2 a usage error or a refusal; 3 the "
	    "receiver did not\n"
	    "answer, or answered 5xx.\n",
	.exec = cmd_status_exec,
};

struct status_cell {
	const char	*service, *environment, *state, *since;
	size_t		 incidents;
};

static const char *
cmd_status_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* "5s", "3m", "2h", "4d" since t (RFC 3339), into out. */
static void
cmd_status_age(const char *t, char *out, size_t len)
{
	int64_t	at, s;

	if (t == NULL || tf_parse(t, &at) == -1) {
		snprintf(out, len, "-");
		return;
	}
	s = (tf_now() - at) / 1000000;
	if (s < 0)
		s = 0;
	if (s < 90)
		snprintf(out, len, "%llds", (long long)s);
	else if (s < 5400)
		snprintf(out, len, "%lldm", (long long)(s / 60));
	else if (s < 129600)
		snprintf(out, len, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, len, "%lldd", (long long)(s / 86400));
}

static const char *
cmd_status_colour(const char *state)
{
	static const char *const good[] = { "verified", "deployed",
	    "recovered", "on_track", "delivered", NULL };
	static const char *const bad[] = { "failed", "rollback_failed",
	    "manual_intervention", "late", "missed", NULL };
	size_t	i;

	for (i = 0; good[i] != NULL; i++)
		if (strcmp(state, good[i]) == 0)
			return ("\033[32m");
	for (i = 0; bad[i] != NULL; i++)
		if (strcmp(state, bad[i]) == 0)
			return ("\033[31m");
	return ("\033[33m");
}

/* The cells: GET /v1/services, or the deployments when it lists none. */
static int
cmd_status_cells(json_object **svc, json_object **dep, struct status_cell **cells,
    size_t *ncells)
{
	json_object	*arr, *s, *envs, *p, *inc, *d;
	struct status_cell *c;
	size_t		 i, j, n;
	int		 rc;

	*cells = NULL;
	*ncells = 0;
	if ((rc = cmd_claim_fetch("status", "/v1/services", svc)) != 0)
		return (rc);
	if (json_object_object_get_ex(*svc, "services", &arr) &&
	    (n = json_object_array_length(arr)) > 0) {
		for (i = 0; i < n; i++) {
			s = json_object_array_get_idx(arr, i);
			if (!json_object_object_get_ex(s, "environments",
			    &envs))
				continue;
			json_object_object_foreach(envs, env, e) {
				*cells = xreallocarray(*cells, *ncells + 1,
				    sizeof(**cells));
				c = &(*cells)[(*ncells)++];
				c->service = cmd_status_str(s, "service");
				c->environment = env;
				c->state = cmd_status_str(e, "state");
				c->since = cmd_status_str(e, "since");
				c->incidents = json_object_object_get_ex(e,
				    "open_incidents", &inc) && json_object_is_type(
				    inc, json_type_array) ?
				    json_object_array_length(inc) : 0;
			}
		}
		return (0);
	}
	if ((rc = cmd_claim_fetch("status", "/v1/deployments?limit=1000",
	    dep)) != 0)
		return (rc);
	if (!json_object_object_get_ex(*dep, "deployments", &arr))
		return (0);
	for (i = 0; i < json_object_array_length(arr); i++) {
		d = json_object_array_get_idx(arr, i);
		p = json_object_object_get(d, "properties");
		for (j = 0; j < *ncells; j++)
			if (strcmp((*cells)[j].service, cmd_status_str(p,
			    "service") ? cmd_status_str(p, "service") : "") ==
			    0 && strcmp((*cells)[j].environment,
			    cmd_status_str(p, "environment") ?
			    cmd_status_str(p, "environment") : "") == 0)
				break;
		if (j < *ncells) {
			/* The one started last is current. */
			if (cmd_status_str(p, "since") == NULL ||
			    (*cells)[j].since == NULL ||
			    strcmp(cmd_status_str(p, "since"),
			    (*cells)[j].since) <= 0)
				continue;
		} else {
			*cells = xreallocarray(*cells, *ncells + 1,
			    sizeof(**cells));
			j = (*ncells)++;
		}
		c = &(*cells)[j];
		c->service = cmd_status_str(p, "service") ?
		    cmd_status_str(p, "service") : "?";
		c->environment = cmd_status_str(p, "environment") ?
		    cmd_status_str(p, "environment") : "?";
		c->state = cmd_status_str(p, "state");
		c->since = cmd_status_str(p, "since");
		c->incidents = 0;
	}
	return (0);
}

/* Environments in the order a release moves through them, then by name. */
static int
cmd_status_env_rank(const char *env)
{
	static const char *const order[] = { "development", "dev", "test",
	    "qa", "staging", "preprod", "production", "prod", NULL };
	int	i;

	for (i = 0; order[i] != NULL; i++)
		if (strcmp(env, order[i]) == 0)
			return (i);
	return (i);
}

static int
cmd_status_env_cmp(const void *a, const void *b)
{
	const char	*x = *(const char *const *)a, *y = *(const char *const *)b;
	int		 d = cmd_status_env_rank(x) - cmd_status_env_rank(y);

	return (d != 0 ? d : strcmp(x, y));
}

/* The table: one row per service, one column per environment. */
static void
cmd_status_table(const struct status_cell *cells, size_t n, int colour)
{
	const char	*envs[STATUS_ENVMAX], *svc;
	char		 age[16], txt[96];
	size_t		 nenv = 0, i, j, k, w = 7, cw = 11, len;
	int		 seen;

	for (i = 0; i < n; i++) {
		for (j = 0; j < nenv; j++)
			if (strcmp(envs[j], cells[i].environment) == 0)
				break;
		if (j == nenv && nenv < STATUS_ENVMAX)
			envs[nenv++] = cells[i].environment;
		if (strlen(cells[i].service) > w)
			w = strlen(cells[i].service);
		if (strlen(cells[i].environment) > cw)
			cw = strlen(cells[i].environment);
		if (cells[i].state && strlen(cells[i].state) + 6 > cw)
			cw = strlen(cells[i].state) + 6;
	}
	qsort(envs, nenv, sizeof(envs[0]), cmd_status_env_cmp);
	printf("%-*s", (int)w + 2, "SERVICE");
	for (j = 0; j < nenv; j++)
		printf("%-*s", (int)cw + 2, envs[j]);
	printf("\n");
	for (i = 0; i < n; i++) {
		svc = cells[i].service;
		for (k = 0, seen = 0; k < i; k++)
			if (strcmp(cells[k].service, svc) == 0)
				seen = 1;
		if (seen)
			continue;
		printf("%-*s", (int)w + 2, svc);
		for (j = 0; j < nenv; j++) {
			for (k = 0; k < n; k++)
				if (strcmp(cells[k].service, svc) == 0 &&
				    strcmp(cells[k].environment, envs[j]) == 0)
					break;
			if (k == n || cells[k].state == NULL) {
				printf("%-*s", (int)cw + 2, "-");
				continue;
			}
			cmd_status_age(cells[k].since, age, sizeof(age));
			len = (size_t)snprintf(txt, sizeof(txt), "%s %s%s",
			    cells[k].state, age, cells[k].incidents ? " !" : "");
			if (colour)
				printf("%s%s\033[0m%*s",
				    cmd_status_colour(cells[k].state), txt,
				    (int)(cw + 2 > len ? cw + 2 - len : 1), "");
			else
				printf("%-*s", (int)cw + 2, txt);
		}
		printf("\n");
	}
}

/* A closed gate's reasons, in parentheses: " (freeze: Release freeze)". */
static void
cmd_status_reasons(json_object *one)
{
	json_object	*g, *rs, *r;
	const char	*pol, *why;
	size_t		 i, n;

	if (!json_object_object_get_ex(one, "gate", &g) ||
	    !json_object_object_get_ex(g, "reasons", &rs) ||
	    !json_object_is_type(rs, json_type_array) ||
	    (n = json_object_array_length(rs)) == 0)
		return;
	printf(" (");
	for (i = 0; i < n; i++) {
		r = json_object_array_get_idx(rs, i);
		pol = cmd_status_str(r, "policy");
		why = cmd_status_str(r, "reason");
		printf("%s%s%s%s", i ? "; " : "", pol ? pol : "",
		    pol && why ? ": " : "", why ? why : "");
	}
	printf(")");
}

/*
 * Is the gate of (service, environment) closed?  1 closed, 0 open, -1
 * when the receiver has no gates endpoint (or cannot say).
 */
static int
cmd_status_gate(const char *svc, const char *env, json_object **reply)
{
	struct client_reply	 r;
	struct buf		 path, body;
	json_object		*o;
	char			*s, *e;
	int			 rc = -1;

	*reply = NULL;
	buf_init(&path);
	buf_init(&body);
	s = client_escape(svc);
	e = client_escape(env);
	buf_printf(&path, "/v1/gates/%s/%s", s ? s : "", e ? e : "");
	free(s);
	free(e);
	/* 200 {"open": bool, "reasons": [...]}: a closed gate is an answer
	 * (api-gates.c); anything else and the gates cannot be said. */
	if (client_get(buf_cstr(&path), &body, &r) == 0 && r.code == 200 &&
	    (*reply = json_tokener_parse(buf_cstr(&body))) != NULL &&
	    json_object_object_get_ex(*reply, "open", &o) &&
	    json_object_is_type(o, json_type_boolean))
		rc = !json_object_get_boolean(o);
	buf_free(&path);
	buf_free(&body);
	return (rc);
}

static int
cmd_status_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL,	'j' },
		{ "help",	no_argument,		NULL,	'h' },
		{ NULL,		0,			NULL,	0 }
	};
	struct status_cell	*cells = NULL;
	json_object		*svc = NULL, *dep = NULL, *ms = NULL, *out;
	json_object		*arr, *m, *p, *one, *inc, *risk, *gates, *g;
	json_object		*envs, *x;
	const char		*st, *term = getenv("TERM");
	size_t			 ncells = 0, i, nprinted;
	int			 ch, rc, json = 0, colour, gate, nogates = 0;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (argc != optind)
		return (cmd_usage_error(ce, "unexpected argument %s",
		    argv[optind]));
	colour = !json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	if ((rc = cmd_status_cells(&svc, &dep, &cells, &ncells)) != 0 ||
	    (rc = cmd_claim_fetch("status", "/v1/milestones", &ms)) != 0)
		goto out;

	/* Open incidents, from the catalog's cells. */
	inc = json_object_new_array();
	if (json_object_object_get_ex(svc, "services", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			one = json_object_array_get_idx(arr, i);
			if (!json_object_object_get_ex(one, "environments",
			    &envs))
				continue;
			json_object_object_foreach(envs, env, e) {
				if (!json_object_object_get_ex(e,
				    "open_incidents", &x) || !json_object_is_type(x,
				    json_type_array) ||
				    json_object_array_length(x) == 0)
					continue;
				g = json_object_new_object();
				json_object_object_add(g, "service",
				    json_object_get(json_object_object_get(one,
				    "service")));
				json_object_object_add(g, "environment",
				    json_object_new_string(env));
				json_object_object_add(g, "incidents",
				    json_object_get(x));
				json_object_array_add(inc, g);
			}
		}
	/* Milestones at risk: any state but on_track or delivered. */
	risk = json_object_new_array();
	if (json_object_object_get_ex(ms, "milestones", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			m = json_object_array_get_idx(arr, i);
			p = json_object_object_get(m, "properties");
			st = cmd_status_str(p, "state");
			if (st == NULL || strcmp(st, "on_track") == 0 ||
			    strcmp(st, "delivered") == 0)
				continue;
			json_object_array_add(risk, json_object_get(m));
		}
	/* Gates, if the receiver has them. */
	gates = json_object_new_array();
	for (i = 0; i < ncells; i++) {
		if ((gate = cmd_status_gate(cells[i].service,
		    cells[i].environment, &g)) == -1) {
			json_object_put(g);
			nogates = 1;
			break;
		}
		if (gate == 1) {
			one = json_object_new_object();
			json_object_object_add(one, "service",
			    json_object_new_string(cells[i].service));
			json_object_object_add(one, "environment",
			    json_object_new_string(cells[i].environment));
			json_object_object_add(one, "gate", g);
			json_object_array_add(gates, one);
		} else
			json_object_put(g);
	}

	if (json) {
		out = json_object_new_object();
		arr = json_object_new_array();
		for (i = 0; i < ncells; i++) {
			one = json_object_new_object();
			json_object_object_add(one, "service",
			    json_object_new_string(cells[i].service));
			json_object_object_add(one, "environment",
			    json_object_new_string(cells[i].environment));
			json_object_object_add(one, "state", cells[i].state ?
			    json_object_new_string(cells[i].state) : NULL);
			json_object_object_add(one, "since", cells[i].since ?
			    json_object_new_string(cells[i].since) : NULL);
			json_object_object_add(one, "incidents",
			    json_object_new_int64((int64_t)cells[i].incidents));
			json_object_array_add(arr, one);
		}
		json_object_object_add(out, "services", arr);
		json_object_object_add(out, "incidents", inc);
		json_object_object_add(out, "milestones_at_risk", risk);
		json_object_object_add(out, "gates_closed", nogates ? NULL :
		    gates);
		if (nogates)
			json_object_put(gates);
		cmd_claim_print(out);
		json_object_put(out);
		goto out;
	}
	if (ncells == 0)
		printf("no deployments yet\n");
	else
		cmd_status_table(cells, ncells, colour);
	printf("\nopen incidents:");
	for (i = 0, nprinted = 0; i < json_object_array_length(inc); i++) {
		one = json_object_array_get_idx(inc, i);
		x = json_object_object_get(one, "incidents");
		printf("%s %s/%s:", nprinted++ ? "," : "",
		    cmd_status_str(one, "service"),
		    cmd_status_str(one, "environment"));
		for (ch = 0; ch < (int)json_object_array_length(x); ch++) {
			g = json_object_array_get_idx(x, (size_t)ch);
			printf(" %s", json_object_is_type(g, json_type_string) ?
			    json_object_get_string(g) : cmd_status_str(g,
			    "incident") ? cmd_status_str(g, "incident") :
			    json_object_to_json_string(g));
		}
	}
	printf("%s\n", nprinted ? "" : " none");
	printf("milestones at risk:");
	for (i = 0; i < json_object_array_length(risk); i++) {
		m = json_object_array_get_idx(risk, i);
		p = json_object_object_get(m, "properties");
		st = cmd_status_str(p, "state");
		printf("\n  %s%s%s%s %s%s%s, due %.10s", cmd_status_str(m, "id"),
		    cmd_status_str(p, "title") ? " \"" : "",
		    cmd_status_str(p, "title") ? cmd_status_str(p, "title") : "",
		    cmd_status_str(p, "title") ? "\"" : "",
		    colour ? cmd_status_colour(st) : "", st, colour ?
		    "\033[0m" : "", cmd_status_str(p, "due") ?
		    cmd_status_str(p, "due") : "-");
	}
	printf("%s\n", json_object_array_length(risk) ? "" : " none");
	if (nogates)
		printf("gates closed: none (this receiver has no gates "
		    "endpoint)\n");
	else {
		printf("gates closed:");
		for (i = 0; i < json_object_array_length(gates); i++) {
			one = json_object_array_get_idx(gates, i);
			printf(" %s/%s", cmd_status_str(one, "service"),
			    cmd_status_str(one, "environment"));
			cmd_status_reasons(one);
		}
		printf("%s\n", json_object_array_length(gates) ? "" : " none");
	}
	json_object_put(inc);
	json_object_put(risk);
	json_object_put(gates);
out:
	free(cells);
	json_object_put(svc);
	json_object_put(dep);
	json_object_put(ms);
	return (rc);
}
