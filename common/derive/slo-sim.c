/*
 * slo-sim.c: what-if.  Play an SLO's policy forward under a sustained
 * burn rate and say what would happen, reading the ledger and writing
 * nothing: `milepost simulate` and GET /v1/slos/{name}/simulate.
 *
 * The model, from the SLO's claim now (good G, total T over its window,
 * error ratio e0 = 1 - G/T, budget b = 1 - objective):
 *  - traffic goes on at the window's average rate r = T / window (one
 *    event a minute when nothing was seen), with an error ratio of X * b;
 *  - the budget after t seconds: errors E(t) = e0 T + X b r t over
 *    T(t) = T + r t events (events leaving a rolling window are not
 *    taken out: the estimate is the pessimistic one), left
 *    1 - E(t) / (T(t) b); it is exhausted at
 *    t = (b - e0) T / ((X - 1) b r) when X > 1, never when X <= 1;
 *  - a page rule (long L, short S, factor f) fires, from calm windows,
 *    when the long window's burn reaches f: t = f L / X (the workbook's
 *    detection time), when X >= f;
 *  - each milestone whose scope holds the SLO's service (in its target
 *    environment) takes the delta slo.c/milestone.c would give it at the
 *    end, and milestone_evaluate predicts its finish against its due date
 *    at the simulation's end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derive/derive.h"

#define SIM_US	1000000LL

static double
sim_num(json_object *o, const char *key)
{
	json_object	*v;

	return (o != NULL && json_object_object_get_ex(o, key, &v) ?
	    json_object_get_double(v) : 0);
}

static const char *
sim_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

static void
sim_at(json_object *o, const char *key, int64_t t)
{
	char	s[MP_TIMELEN];

	tf_format(t, s);
	json_object_object_add(o, key, json_object_new_string(s));
}

/*
 * Simulate SLO name at burn rate x for dur seconds from now
 * (microseconds), under rules r and milestones mc (may be NULL), reading
 * l.  Fills *out (taken).  Returns 0, 1 when there is no such SLO (err
 * names the nearest), -1 on a storage error.
 */
int
slo_simulate(const struct rules *r, const struct milestone_conf *mc,
    struct ledger *l, const char *name, double x, int64_t dur, int64_t now,
    json_object **out, char *err, size_t errlen)
{
	const struct slo_def	*d;
	const char		**names;
	struct claim		 c;
	json_object		*o, *p = NULL, *gates, *g, *mss, *m, *mp, *v;
	double			 b, G, T, e0, rate, t, left, consumed, w, cw;
	double			 firstpage = -1;
	struct milestone_eval	 e;
	size_t			 i, j, n;
	int			 rc;
	char			 day[MP_TIMELEN];

	if ((d = slo_conf_find(r, name)) == NULL) {
		n = r->slos != NULL ? r->slos->nslo : 0;
		names = xcalloc(n + 1, sizeof(*names));
		for (i = 0; i < n; i++)
			names[i] = r->slos->slo[i].name;
		{
			char *why = suggest_unknown("SLO", name, names, n);

			snprintf(err, errlen, "%s", why);
			free(why);
		}
		free(names);
		return (1);
	}
	memset(&c, 0, sizeof(c));
	if ((rc = ledger_claim_get(l, "Slo", d->name, INT64_MAX, &c)) == -1)
		return (-1);
	if (rc == 1)
		p = json_tokener_parse(c.properties);
	claim_clear(&c);
	b = 1 - d->objective / 100;
	G = sim_num(p, "good");
	T = sim_num(p, "total");
	e0 = T > 0 ? 1 - G / T : 0;
	rate = T > 0 ? T / (double)d->window : 1.0 / 60;
	o = json_object_new_object();
	json_object_object_add(o, "slo", json_object_new_string(d->name));
	json_object_object_add(o, "service", json_object_new_string(
	    d->service));
	json_object_object_add(o, "environment", json_object_new_string(
	    d->environment));
	json_object_object_add(o, "burn_rate", num_json(x, NUM_RATE));
	sim_at(o, "from", now);
	sim_at(o, "until", now + dur * SIM_US);
	json_object_object_add(o, "state_now", json_object_new_string(
	    sim_str(p, "state") ? sim_str(p, "state") : "ok"));
	json_object_object_add(o, "budget_now", num_json(p != NULL ?
	    sim_num(p, "budget_remaining") : 100, NUM_PERCENT));
	if (T <= 0)
		json_object_object_add(o, "assumed_rate", json_object_new_string(
		    "no traffic seen in the window: one event a minute"));
	/* When each gate policy would close. */
	gates = json_object_new_array();
	for (i = 0; i < d->nalerts; i++) {
		if (!d->alerts[i].page || x < d->alerts[i].factor)
			continue;
		t = d->alerts[i].factor * (double)d->alerts[i].long_win / x;
		if (firstpage < 0 || t < firstpage)
			firstpage = t;
	}
	if (firstpage >= 0 && firstpage <= (double)dur) {
		g = json_object_new_object();
		json_object_object_add(g, "policy",
		    json_object_new_string("page_burn"));
		sim_at(g, "closes_at", now + (int64_t)(firstpage * SIM_US));
		json_object_array_add(gates, g);
	}
	if (e0 >= b && T > 0)
		t = 0;
	else if (x > 1)
		t = (b - e0) * T / ((x - 1) * b * rate);
	else
		t = -1;
	if (t >= 0 && t <= (double)dur) {
		g = json_object_new_object();
		json_object_object_add(g, "policy",
		    json_object_new_string("budget_exhausted"));
		sim_at(g, "closes_at", now + (int64_t)(t * SIM_US));
		json_object_array_add(gates, g);
	}
	json_object_object_add(o, "gates", gates);
	t = (double)dur;
	left = 1 - (e0 * T + x * b * rate * t) / ((T + rate * t) * b);
	json_object_object_add(o, "budget_left", num_json(100 * left,
	    NUM_PERCENT));
	consumed = 1 - left;
	/* The class at the end: the highest rule the burn would fire. */
	cw = 0;
	for (i = 0; mc != NULL && i < d->nalerts; i++)
		if (x >= d->alerts[i].factor) {
			w = d->alerts[i].page ? mc->slo_page_weight :
			    mc->slo_ticket_weight;
			if (w > cw)
				cw = w;
		}
	w = cw * (consumed < 0.1 ? 0.1 : consumed > 1 ? 1 : consumed);
	mss = json_object_new_array();
	for (i = 0; mc != NULL && i < mc->nms; i++) {
		if (strcmp(mc->ms[i].environment, d->environment) != 0 ||
		    !milestone_service_in(mc, i, d->service))
			continue;
		memset(&c, 0, sizeof(c));
		if ((rc = ledger_claim_get(l, "Milestone", mc->ms[i].id,
		    INT64_MAX, &c)) == -1) {
			json_object_put(p);
			json_object_put(mss);
			json_object_put(o);
			return (-1);
		}
		mp = rc == 1 ? json_tokener_parse(c.properties) : NULL;
		claim_clear(&c);
		memset(&e, 0, sizeof(e));
		e.done = (size_t)sim_num(mp, "done");
		e.total = (size_t)sim_num(mp, "total");
		if (mp != NULL && json_object_object_get_ex(mp, "deltas", &v))
			for (j = 0; j < json_object_array_length(v); j++) {
				json_object *dl = json_object_array_get_idx(v,
				    j), *a;

				if (!json_object_object_get_ex(dl, "active",
				    &a) || !json_object_get_boolean(a))
					continue;
				if (sim_str(dl, "slo") != NULL &&
				    strcmp(sim_str(dl, "slo"), d->name) == 0)
					continue;	/* replaced below */
				e.active = 1;
				e.delta += sim_num(dl, "weight");
			}
		if (w > 0) {
			e.active = 1;
			e.delta -= w;
		}
		e.now = now + dur * SIM_US;
		e.start = mc->ms[i].start;
		e.due = mc->ms[i].due;
		e.margin = mc->at_risk_margin;
		milestone_evaluate(&e);
		m = json_object_new_object();
		json_object_object_add(m, "milestone",
		    json_object_new_string(mc->ms[i].id));
		tf_format(mc->ms[i].due, day);
		json_object_object_add(m, "due", json_object_new_string(day));
		json_object_object_add(m, "state_now", json_object_new_string(
		    sim_str(mp, "state") ? sim_str(mp, "state") : "on_track"));
		json_object_object_add(m, "state", json_object_new_string(
		    e.state));
		json_object_object_add(m, "delta", num_json(-w, NUM_RATE));
		if (e.predicted != 0) {
			tf_format(e.predicted, day);
			day[10] = '\0';
			json_object_object_add(m, "predicted",
			    json_object_new_string(day));
		} else
			json_object_object_add(m, "predicted", NULL);
		json_object_array_add(mss, m);
		json_object_put(mp);
	}
	json_object_object_add(o, "milestones", mss);
	json_object_put(p);
	*out = o;
	return (0);
}
