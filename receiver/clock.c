/*
 * clock.c: the milestone clock.
 *
 * A milestone's state depends on time as well as on evidence: at_risk
 * within at_risk_margin of its due date, slipping once past it, and the
 * cadence's prediction moves with every day.  The writer evaluates
 * milestones at the latest event time it has stored (so that claims
 * rebuild gives the same answers), and with no evidence arriving that
 * time stands still.  So this timer appends MilestoneClock evidence
 * (source "milepostd") at each point where a state can change with
 * nothing else happening: a milestone's due date minus at_risk_margin,
 * just after its due date, and every midnight UTC.  The evidence's time
 * is the point itself and its id is "clock.<point>", so a retry or a
 * restart stores nothing twice, and the latest point passed while the
 * daemon was down is appended when it starts.  milestone_rules.clock:
 * false turns it off (replaying old evidence, where "now" is not today).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milepostd.h"

#define CLOCK_DAY	(86400LL * 1000000)
#define CLOCK_TICK_MS	1000

/*
 * The latest point at or before now (microseconds) where a milestone of
 * mc can change state by time alone; *at is "day", "at_risk" or "due",
 * and *ms the milestone's id (NULL for a day).  Midnight UTC at least.
 */
int64_t
clock_point(const struct milestone_conf *mc, int64_t now, const char **at,
    const char **ms)
{
	int64_t	p = now - now % CLOCK_DAY, q;
	size_t	i;

	*at = "day";
	*ms = NULL;
	for (i = 0; i < mc->nms; i++) {
		q = mc->ms[i].due - mc->at_risk_margin;
		if (q <= now && q > p) {
			p = q;
			*at = "at_risk";
			*ms = mc->ms[i].id;
		}
		q = mc->ms[i].due + 1;	/* past due: now > due */
		if (q <= now && q > p) {
			p = q;
			*at = "due";
			*ms = mc->ms[i].id;
		}
	}
	return (p);
}

static void
clock_done(struct server *srv, struct ingest_req *ir)
{
	srv->clock_busy = 0;
	if (ir->failed) {
		log_warnx("%s: %s: not stored; the next tick retries",
		    __func__, ir->ev[0]->id);
		return;
	}
	srv->clock_last = ir->ev[0]->time;
	if (!ir->dup[0]) {
		atomic_fetch_add(&srv->metrics.accepted, 1);
		log_debug("%s: %s", __func__, ir->ev[0]->id);
	}
}

static void
clock_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server		*srv = arg;
	const struct milestone_conf *mc = srv->cf->milestones;
	json_object		*ev, *p;
	const char		*at, *ms;
	char			 id[64], t[MP_TIMELEN];
	int64_t			 now = tf_now(), point;

	metrics_timer(&srv->metrics, METRICS_TIMER_CLOCK,
	    CLOCK_TICK_MS * 1000LL);
	/* One replica of those sharing a ledger runs the clock. */
	if (srv->stopping || srv->clock_busy || !ledger_leader(srv->reader) ||
	    (point = clock_point(mc, now, &at, &ms)) <= srv->clock_last)
		return;
	snprintf(id, sizeof(id), "clock.%lld", (long long)point);
	tf_format(point, t);
	ev = json_object_new_object();
	json_object_object_add(ev, "type",
	    json_object_new_string("MilestoneClock"));
	json_object_object_add(ev, "subject",
	    json_object_new_string(ms != NULL ? ms : "milestones"));
	json_object_object_add(ev, "time", json_object_new_string(t));
	p = json_object_new_object();
	json_object_object_add(p, "at", json_object_new_string(at));
	if (ms != NULL)
		json_object_object_add(p, "milestone",
		    json_object_new_string(ms));
	json_object_object_add(ev, "properties", p);
	if (ingest_submit_own(srv, ev, id, now, clock_done) == 0)
		srv->clock_busy = 1;
}

/* Start the clock when milestones are declared and it is not off. */
void
clock_start(struct server *srv)
{
	const struct milestone_conf	*mc = srv->cf->milestones;
	struct timeval			 tv = { CLOCK_TICK_MS / 1000,
					    (CLOCK_TICK_MS % 1000) * 1000 };

	if (mc == NULL || mc->nms == 0 || !mc->clock)
		return;
	srv->ev_clock = event_new(srv->base, -1, EV_PERSIST, clock_tick, srv);
	evtimer_add(srv->ev_clock, &tv);
	event_active(srv->ev_clock, EV_TIMEOUT, 0);	/* a first look now */
}
