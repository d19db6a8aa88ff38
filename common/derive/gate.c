/*
 * gate.c: change gates.  The gates: section (change windows, freezes,
 * which policies deny, the approval chain of exceptions) and the one
 * evaluation that `GET /v1/gates/{service}/{environment}`, `milepost
 * gate` and `milepost simulate` share.
 *
 *   gates:
 *     change_windows:
 *       - { days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00",
 *           timezone: Europe/Paris, environments: [production] }
 *     freezes:
 *       - { reason: "Black Friday", start: 2025-11-27T00:00:00Z,
 *           end: 2025-12-01T00:00:00Z, services: [checkout] }
 *     policies:
 *       budget_exhausted: true        # deny while an SLO's budget is gone
 *       page_burn: true               # deny while a page-level burn fires
 *       incident_severities: [critical]   # deny while one is open
 *       outside_window: true          # deny outside the change windows
 *     exceptions: { approvals: 2, roles: [admin], valid_for: 24h }
 *
 * The gate of (service, environment) at time now is closed when any
 * policy denies; every reason is listed.  An exception with enough
 * approvals (GateApproval evidence, one per distinct approver whose role
 * is in the chain, within valid_for) opens a closed gate and says so.
 * The evaluation reads only the ledger facade (Slo claims, incident and
 * approval evidence, bounded) and the configuration.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "derive/derive.h"

#define GATE_DAY		(86400LL * 1000000)
#define GATE_INCIDENT_SPAN	(90 * GATE_DAY)	/* incidents looked at */
#define GATE_READ_MAX		1000		/* evidence read per kind */

static const char *const gate_days[] = { "mon", "tue", "wed", "thu", "fri",
    "sat", "sun" };
static const char *const gate_keys[] = { "change_windows", "freezes",
    "policies", "exceptions" };
static const char *const gate_window_keys[] = { "days", "from", "to",
    "timezone", "services", "environments" };
static const char *const gate_freeze_keys[] = { "reason", "start", "end",
    "services", "environments" };
static const char *const gate_policy_keys[] = { "budget_exhausted",
    "page_burn", "incident_severities", "outside_window" };
static const char *const gate_exc_keys[] = { "approvals", "roles",
    "valid_for" };

static pthread_mutex_t gate_tz_lock = PTHREAD_MUTEX_INITIALIZER;

static int
gate_in(const char *s, const char *const *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(s, v[i]) == 0)
			return ((int)i);
	return (-1);
}

static int
gate_unknown(const char *file, json_object *o, const char *key,
    const char *noun, const char *s, const char *const *names, size_t n,
    char *err, size_t errlen)
{
	char	*why;

	why = suggest_unknown(noun, s, names, n);
	yaml_errf(err, errlen, file, o, key, "%s", why);
	free(why);
	return (-1);
}

static int
gate_check_keys(json_object *o, const char *key, const char *const *keys,
    size_t n, const char *file, char *err, size_t errlen)
{
	char	sub[512];

	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(err, errlen, file, o, key, "%s", "must be a "
		    "mapping"));
	json_object_object_foreach(o, k, v) {
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (gate_in(k, keys, n) == -1)
			return (gate_unknown(file, v ? v : o, sub, "key", k, keys,
			    n, err, errlen));
	}
	return (0);
}

/* "HH:MM" (00:00 to 24:00) as minutes of the day; -1 if not. */
static int
gate_hhmm(json_object *v)
{
	const char	*s;
	int		 h, m;
	char		 tail;

	if (!json_object_is_type(v, json_type_string))
		return (-1);
	s = json_object_get_string(v);
	if (sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || strlen(s) != 5 ||
	    h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0))
		return (-1);
	return (h * 60 + m);
}

/* An IANA time zone this machine knows (its zoneinfo file), or UTC. */
static int
gate_tz_ok(const char *tz)
{
	char	path[512];

	if (strcmp(tz, "UTC") == 0)
		return (1);
	if (*tz == '\0' || *tz == '/' || strstr(tz, "..") != NULL ||
	    strlen(tz) > 200)
		return (0);
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return (access(path, R_OK) == 0);
}

static int
gate_names(json_object *o, const char *key, const char *file, char ***v,
    size_t *n, char *err, size_t errlen)
{
	return (yaml_strlist(o, file, key, 1, YAML_NONEMPTY, v, n, err,
	    errlen));
}

static int
gate_window(json_object *o, const char *key, const char *file,
    struct gate_window *w, char *err, size_t errlen)
{
	json_object	*v, *d;
	char		 sub[512];
	const char	*s;
	size_t		 i, n;
	int		 k;

	if (gate_check_keys(o, key, gate_window_keys, 6, file, err, errlen) ==
	    -1)
		return (-1);
	snprintf(sub, sizeof(sub), "%s.days", key);
	if (!json_object_object_get_ex(o, "days", &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) == 0)
		return (yaml_errf(err, errlen, file, v ? v : o, sub, "%s",
		    "must be a list of days: mon, tue, wed, thu, fri, sat, "
		    "sun"));
	for (i = 0; i < n; i++) {
		d = json_object_array_get_idx(v, i);
		s = json_object_is_type(d, json_type_string) ?
		    json_object_get_string(d) : "";
		if ((k = gate_in(s, gate_days, 7)) == -1)
			return (gate_unknown(file, d ? d : v, sub, "day", s,
			    gate_days, 7, err, errlen));
		w->days |= 1u << k;
	}
	snprintf(sub, sizeof(sub), "%s.from", key);
	if (!json_object_object_get_ex(o, "from", &v) ||
	    (w->from = gate_hhmm(v)) == -1)
		return (yaml_errf(err, errlen, file, v ? v : o, sub, "%s",
		    "must be \"HH:MM\", e.g. \"09:00\""));
	snprintf(sub, sizeof(sub), "%s.to", key);
	if (!json_object_object_get_ex(o, "to", &v) ||
	    (w->to = gate_hhmm(v)) == -1 || w->to == w->from)
		return (yaml_errf(err, errlen, file, v ? v : o, sub, "%s",
		    "must be \"HH:MM\" (24:00 at most), not equal to from"));
	snprintf(sub, sizeof(sub), "%s.timezone", key);
	if (json_object_object_get_ex(o, "timezone", &v)) {
		s = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) ||
		    !gate_tz_ok(s))
			return (yaml_errf(err, errlen, file, v, sub, "unknown "
			    "time zone %s (an IANA name such as Europe/Paris, "
			    "or UTC)", s ? s : ""));
		w->tz = xstrdup(s);
	} else
		w->tz = xstrdup("UTC");
	snprintf(sub, sizeof(sub), "%s.services", key);
	if (json_object_object_get_ex(o, "services", &v) &&
	    gate_names(v, sub, file, &w->services, &w->nservices, err,
	    errlen) == -1)
		return (-1);
	snprintf(sub, sizeof(sub), "%s.environments", key);
	if (json_object_object_get_ex(o, "environments", &v) &&
	    gate_names(v, sub, file, &w->envs, &w->nenvs, err, errlen) == -1)
		return (-1);
	return (0);
}

static int
gate_time(json_object *v, int64_t *out)
{
	return (json_object_is_type(v, json_type_string) ?
	    tf_parse(json_object_get_string(v), out) : -1);
}

static int
gate_freeze(json_object *o, const char *key, const char *file,
    struct gate_freeze *f, char *err, size_t errlen)
{
	json_object	*v;
	char		 sub[512];

	if (gate_check_keys(o, key, gate_freeze_keys, 5, file, err, errlen) ==
	    -1)
		return (-1);
	snprintf(sub, sizeof(sub), "%s.reason", key);
	if (!json_object_object_get_ex(o, "reason", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    *json_object_get_string(v) == '\0')
		return (yaml_errf(err, errlen, file, v ? v : o, sub, "%s",
		    "a reason is required: it is printed with the closed "
		    "gate"));
	f->reason = xstrdup(json_object_get_string(v));
	snprintf(sub, sizeof(sub), "%s.end", key);
	if (!json_object_object_get_ex(o, "end", &v) ||
	    gate_time(v, &f->end) == -1)
		return (yaml_errf(err, errlen, file, v ? v : o, sub, "%s",
		    "an end is required, as RFC 3339 (a freeze always ends)"));
	f->start = INT64_MIN;
	snprintf(sub, sizeof(sub), "%s.start", key);
	if (json_object_object_get_ex(o, "start", &v) &&
	    (gate_time(v, &f->start) == -1 || f->start >= f->end))
		return (yaml_errf(err, errlen, file, v, sub, "%s", "must be "
		    "RFC 3339, before end"));
	snprintf(sub, sizeof(sub), "%s.services", key);
	if (json_object_object_get_ex(o, "services", &v) &&
	    gate_names(v, sub, file, &f->services, &f->nservices, err,
	    errlen) == -1)
		return (-1);
	snprintf(sub, sizeof(sub), "%s.environments", key);
	if (json_object_object_get_ex(o, "environments", &v) &&
	    gate_names(v, sub, file, &f->envs, &f->nenvs, err, errlen) == -1)
		return (-1);
	return (0);
}

static int
gate_bool(json_object *o, const char *name, const char *key,
    const char *file, int *out, char *err, size_t errlen)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, name, &v))
		return (0);
	if (!json_object_is_type(v, json_type_boolean))
		return (yaml_errf(err, errlen, file, v, key, "%s", "must be true "
		    "or false"));
	*out = json_object_get_boolean(v);
	return (0);
}

/*
 * Load gates: (o; may be NULL) into r->gates, which is always set after
 * 0.  Returns 0, or -1 with err as "file:line: key: reason".
 */
int
gate_conf_load(struct rules *r, json_object *o, const char *file, char *err,
    size_t errlen)
{
	struct gate_conf	*g;
	json_object		*v, *e, *p;
	char			 key[256];
	double			 d;
	size_t			 i, n;

	g = r->gates = xcalloc(1, sizeof(*r->gates));
	g->budget_exhausted = g->page_burn = g->outside_window = 1;
	g->approvals = 2;
	g->valid_for = GATE_DAY;
	g->severities = xcalloc(1, sizeof(*g->severities));
	g->severities[0] = xstrdup("critical");
	g->nseverities = 1;
	if (o == NULL)
		return (0);
	g->declared = 1;
	if (gate_check_keys(o, "gates", gate_keys, 4, file, err, errlen) == -1)
		return (-1);
	if (json_object_object_get_ex(o, "change_windows", &v)) {
		if (!json_object_is_type(v, json_type_array) ||
		    (n = json_object_array_length(v)) == 0 || n > 64)
			return (yaml_errf(err, errlen, file, v,
			    "gates.change_windows", "%s", "must be a list of 1 "
			    "to 64 { days, from, to, timezone }"));
		g->windows = xcalloc(n, sizeof(*g->windows));
		for (i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "gates.change_windows[%zu]",
			    i);
			e = json_object_array_get_idx(v, i);
			g->nwindows++;
			if (gate_window(e ? e : v, key, file, &g->windows[i],
			    err, errlen) == -1)
				return (-1);
		}
	}
	if (json_object_object_get_ex(o, "freezes", &v)) {
		if (!json_object_is_type(v, json_type_array) ||
		    (n = json_object_array_length(v)) > 256)
			return (yaml_errf(err, errlen, file, v, "gates.freezes",
			    "%s", "must be a list of at most 256 { reason, "
			    "start, end }"));
		g->freezes = xcalloc(n ? n : 1, sizeof(*g->freezes));
		for (i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "gates.freezes[%zu]", i);
			e = json_object_array_get_idx(v, i);
			g->nfreezes++;
			if (gate_freeze(e ? e : v, key, file, &g->freezes[i],
			    err, errlen) == -1)
				return (-1);
		}
	}
	if (json_object_object_get_ex(o, "policies", &p)) {
		if (gate_check_keys(p, "gates.policies", gate_policy_keys, 4,
		    file, err, errlen) == -1 ||
		    gate_bool(p, "budget_exhausted",
		    "gates.policies.budget_exhausted", file,
		    &g->budget_exhausted, err, errlen) == -1 ||
		    gate_bool(p, "page_burn", "gates.policies.page_burn", file,
		    &g->page_burn, err, errlen) == -1 ||
		    gate_bool(p, "outside_window",
		    "gates.policies.outside_window", file, &g->outside_window,
		    err, errlen) == -1)
			return (-1);
		if (json_object_object_get_ex(p, "incident_severities", &v)) {
			strv_free(g->severities, g->nseverities);
			g->severities = NULL;
			g->nseverities = 0;
			if (json_object_is_type(v, json_type_array) &&
			    json_object_array_length(v) == 0)
				;	/* [] : the policy is off */
			else if (yaml_strlist(v, file,
			    "gates.policies.incident_severities", 1, 0,
			    &g->severities, &g->nseverities, err, errlen) == -1)
				return (-1);
		}
	}
	if (json_object_object_get_ex(o, "exceptions", &p)) {
		if (gate_check_keys(p, "gates.exceptions", gate_exc_keys, 3,
		    file, err, errlen) == -1)
			return (-1);
		if (json_object_object_get_ex(p, "approvals", &v)) {
			if (!json_object_is_type(v, json_type_int) ||
			    json_object_get_int64(v) < 1 ||
			    json_object_get_int64(v) > 10)
				return (yaml_errf(err, errlen, file, v,
				    "gates.exceptions.approvals", "%s", "must be "
				    "a whole number from 1 to 10"));
			g->approvals = (size_t)json_object_get_int64(v);
		}
		if (json_object_object_get_ex(p, "roles", &v) &&
		    yaml_strlist(v, file, "gates.exceptions.roles", 1,
		    YAML_NONEMPTY, &g->roles, &g->nroles, err, errlen) == -1)
			return (-1);
		if (json_object_object_get_ex(p, "valid_for", &v)) {
			if (ts_parse(json_object_get_string(v), &d) == -1 ||
			    d < 60 || d > 30 * 86400)
				return (yaml_errf(err, errlen, file, v,
				    "gates.exceptions.valid_for", "%s", "must be "
				    "a timespan from 1m to 30d"));
			g->valid_for = (int64_t)(d * 1000000);
		}
	}
	return (0);
}

void
gate_conf_free(struct rules *r)
{
	struct gate_conf	*g = r->gates;
	size_t			 i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nwindows; i++) {
		free(g->windows[i].tz);
		strv_free(g->windows[i].services, g->windows[i].nservices);
		strv_free(g->windows[i].envs, g->windows[i].nenvs);
	}
	free(g->windows);
	for (i = 0; i < g->nfreezes; i++) {
		free(g->freezes[i].reason);
		strv_free(g->freezes[i].services, g->freezes[i].nservices);
		strv_free(g->freezes[i].envs, g->freezes[i].nenvs);
	}
	free(g->freezes);
	strv_free(g->severities, g->nseverities);
	strv_free(g->roles, g->nroles);
	free(g);
	r->gates = NULL;
}

/* Does a scope (names; none: everything) take s? */
static int
gate_scoped(char *const *v, size_t n, const char *s)
{
	size_t	i;

	if (n == 0)
		return (1);
	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return (1);
	return (0);
}

/*
 * t (microseconds) in time zone tz.  The zone's offset is asked of the C
 * library (a TZ swap, serialised, which reads the zone file) once per
 * zone and UTC hour, and cached: offsets change on the hour in every
 * zone's rules, and a gate query must not read files.
 */
#define GATE_TZ_CACHE	16
static struct {
	char	tz[64];
	int64_t	hour;
	long	off;
} gate_tz_cache[GATE_TZ_CACHE];

static void
gate_local(int64_t t, const char *tz, struct tm *tm)
{
	time_t	 tt = (time_t)(t / 1000000), lt;
	int64_t	 hour = (int64_t)tt / 3600;
	char	*old;
	long	 off = 0;
	size_t	 i, slot;

	if (strcmp(tz, "UTC") == 0) {
		gmtime_r(&tt, tm);
		return;
	}
	pthread_mutex_lock(&gate_tz_lock);
	slot = GATE_TZ_CACHE;
	for (i = 0; i < GATE_TZ_CACHE; i++)
		if (strcmp(gate_tz_cache[i].tz, tz) == 0) {
			slot = i;
			break;
		}
	if (slot < GATE_TZ_CACHE && gate_tz_cache[slot].hour == hour)
		off = gate_tz_cache[slot].off;
	else {
		old = getenv("TZ") != NULL ? xstrdup(getenv("TZ")) : NULL;
		setenv("TZ", tz, 1);
		tzset();
		localtime_r(&tt, tm);
		off = tm->tm_gmtoff;
		if (old != NULL)
			setenv("TZ", old, 1);
		else
			unsetenv("TZ");
		tzset();
		free(old);
		if (slot == GATE_TZ_CACHE)
			slot = (size_t)(hour % GATE_TZ_CACHE);
		snprintf(gate_tz_cache[slot].tz, sizeof(gate_tz_cache[slot].tz),
		    "%s", tz);
		gate_tz_cache[slot].hour = hour;
		gate_tz_cache[slot].off = off;
	}
	pthread_mutex_unlock(&gate_tz_lock);
	lt = tt + off;
	gmtime_r(&lt, tm);
}

/* Is time t inside change window w? */
int
gate_window_open(const struct gate_window *w, int64_t t)
{
	struct tm	tm;
	int		day, m, prev;

	gate_local(t, w->tz, &tm);
	day = (tm.tm_wday + 6) % 7;		/* Monday = 0 */
	m = tm.tm_hour * 60 + tm.tm_min;
	if (w->from < w->to)
		return ((w->days & (1u << day)) && m >= w->from && m < w->to);
	/* Overnight: from on a listed day until to on the next. */
	prev = (day + 6) % 7;
	return (((w->days & (1u << day)) && m >= w->from) ||
	    ((w->days & (1u << prev)) && m < w->to));
}

static void
gate_reason(json_object *reasons, const char *policy, json_object *extra,
    const char *fmt, ...) MP_PRINTF(4, 5);

static void
gate_reason(json_object *reasons, const char *policy, json_object *extra,
    const char *fmt, ...)
{
	json_object	*o;
	va_list		 ap;
	char		*msg;

	va_start(ap, fmt);
	if (xvasprintf(&msg, fmt, ap) == -1)
		msg = xstrdup("?");
	va_end(ap);
	o = extra != NULL ? extra : json_object_new_object();
	json_object_object_add(o, "policy", json_object_new_string(policy));
	json_object_object_add(o, "reason", json_object_new_string(msg));
	json_object_array_add(reasons, o);
	free(msg);
}

static const char *
gate_str(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

struct gate_scan {
	const char	*service, *environment;
	json_object	*opened;	/* incidentId -> props */
	json_object	*resolved;	/* incidentId -> true */
	json_object	*approvals;	/* exception -> { actor: props } */
	int		 resolving;
};

/*
 * What a gate needs of one incident evidence, cached by sequence number:
 * evidence never changes, so the entry is right forever, and a gate
 * query does not parse the same incidents' JSON again and again.
 * Direct-mapped, bounded; shared by the loop (queries) and the writer
 * (violations), hence the lock.
 */
#define GATE_INC_CACHE	4096
struct gate_inc {
	int64_t	seq;			/* 0: empty */
	char	*subject;		/* with seq: the same evidence */
	char	*id, *svc, *env, *sev;
};
static struct gate_inc gate_inc_cache[GATE_INC_CACHE];
static pthread_mutex_t gate_inc_lock = PTHREAD_MUTEX_INITIALIZER;

static void
gate_inc_fill(struct gate_inc *e, int64_t seq, const char *subject,
    const char *props, const char *links)
{
	json_object	*p, *l;
	const char	*s;

	free(e->subject);
	free(e->id);
	free(e->svc);
	free(e->env);
	free(e->sev);
	e->subject = xstrdup(subject != NULL ? subject : "");
	p = json_tokener_parse(props);
	l = json_tokener_parse(links);
	s = gate_str(p, "incidentId");
	e->id = xstrdup(s != NULL ? s : subject != NULL ? subject : "");
	if ((s = gate_str(l, "service")) == NULL)
		s = gate_str(p, "service");
	e->svc = s != NULL ? xstrdup(s) : NULL;
	if ((s = gate_str(l, "environment")) == NULL)
		s = gate_str(p, "environment");
	e->env = s != NULL ? xstrdup(s) : NULL;
	if ((s = gate_str(p, "severity")) == NULL &&
	    (s = gate_str(p, "priority")) == NULL)
		s = gate_str(p, "urgency");
	e->sev = s != NULL ? xstrdup(s) : NULL;
	e->seq = seq;
	json_object_put(p);
	json_object_put(l);
}

static int
gate_incident_one(const char *key, int64_t time, const char *subject,
    const char *props, const char *links, void *arg)
{
	struct gate_scan	*s = arg;
	struct gate_inc		*e;
	json_object		*o;
	int64_t			 seq;

	(void)time;
	seq = key != NULL && key[0] == '#' ? strtoll(key + 1, NULL, 10) : 0;
	pthread_mutex_lock(&gate_inc_lock);
	e = &gate_inc_cache[(size_t)(seq > 0 ? seq : 0) % GATE_INC_CACHE];
	/* The subject too: a process with two ledgers (tests) stays right. */
	if (seq <= 0 || e->seq != seq || strcmp(e->subject, subject != NULL ?
	    subject : "") != 0)
		gate_inc_fill(e, seq, subject, props, links);
	if (*e->id != '\0') {
		if (s->resolving)
			json_object_object_add(s->resolved, e->id,
			    json_object_new_boolean(1));
		else if (e->svc != NULL && strcmp(e->svc, s->service) == 0 &&
		    (e->env == NULL || strcmp(e->env, s->environment) == 0) &&
		    !json_object_object_get_ex(s->opened, e->id, NULL)) {
			o = json_object_new_object();
			if (e->sev != NULL)
				json_object_object_add(o, "severity",
				    json_object_new_string(e->sev));
			json_object_object_add(s->opened, e->id, o);
		}
	}
	if (seq <= 0)
		e->seq = 0;	/* not a cacheable key */
	pthread_mutex_unlock(&gate_inc_lock);
	return (0);
}

static int
gate_approval_one(const char *key, int64_t time, const char *subject,
    const char *props, const char *links, void *arg)
{
	struct gate_scan	*s = arg;
	json_object		*p, *ex;
	const char		*id, *actor, *svc, *env;

	(void)key;
	(void)time;
	(void)subject;
	(void)links;
	if ((p = json_tokener_parse(props)) == NULL)
		return (0);
	id = gate_str(p, "exception");
	actor = gate_str(p, "actor");
	svc = gate_str(p, "service");
	env = gate_str(p, "environment");
	if (id == NULL || actor == NULL || svc == NULL || env == NULL ||
	    strcmp(svc, s->service) != 0 || strcmp(env, s->environment) != 0) {
		json_object_put(p);
		return (0);
	}
	if (!json_object_object_get_ex(s->approvals, id, &ex)) {
		ex = json_object_new_object();
		json_object_object_add(s->approvals, id, ex);
	}
	if (!json_object_object_get_ex(ex, actor, NULL))
		json_object_object_add(ex, actor, p);
	else
		json_object_put(p);
	return (0);
}

/*
 * The gate of service svc in environment env at time now (microseconds)
 * under rules r, read through l: {"service", "environment", "open",
 * "at", "reasons": [{"policy", "reason", …}], "exception"?} (taken).
 * states (may be NULL) gives an SLO state per SLO of r to use instead of
 * the stored claim's (a simulation); -1 entries read the claim.  Returns
 * 0, or -1 on a storage error.
 */
int
gate_evaluate(const struct rules *r, struct ledger *l, const char *svc,
    const char *env, int64_t now, const int *states, json_object **out)
{
	return (gate_evaluate_seq(r, l, svc, env, now, INT64_MAX, states,
	    out));
}

/* gate_evaluate over the evidence up to max_seq only (derivation's). */
int
gate_evaluate_seq(const struct rules *r, struct ledger *l, const char *svc,
    const char *env, int64_t now, int64_t max_seq, const int *states,
    json_object **out)
{
	const struct gate_conf	*g = r->gates;
	const struct slo_def	*d;
	struct gate_scan	 s;
	struct claim		 c;
	json_object		*o, *reasons, *p, *v, *x, *best = NULL;
	const char		*state, *sev, *bestid = NULL;
	char			 t[MP_TIMELEN];
	size_t			 i, j, nw = 0, nok;
	int			 rc, inwin = 0, st;

	reasons = json_object_new_array();
	for (i = 0; g != NULL && i < g->nfreezes; i++) {
		const struct gate_freeze *f = &g->freezes[i];

		if (now < f->start || now >= f->end ||
		    !gate_scoped(f->services, f->nservices, svc) ||
		    !gate_scoped(f->envs, f->nenvs, env))
			continue;
		tf_format(f->end, t);
		x = json_object_new_object();
		json_object_object_add(x, "until", json_object_new_string(t));
		gate_reason(reasons, "freeze", x, "freeze until %s: %s", t,
		    f->reason);
	}
	for (i = 0; g != NULL && g->outside_window && i < g->nwindows; i++) {
		if (!gate_scoped(g->windows[i].services,
		    g->windows[i].nservices, svc) ||
		    !gate_scoped(g->windows[i].envs, g->windows[i].nenvs, env))
			continue;
		nw++;
		if (gate_window_open(&g->windows[i], now))
			inwin = 1;
	}
	if (nw > 0 && !inwin)
		gate_reason(reasons, "outside_window", NULL, "outside the "
		    "change windows of %s in %s (%zu window%s)", svc, env, nw,
		    nw == 1 ? "" : "s");
	for (i = 0; r->slos != NULL && i < r->slos->nslo; i++) {
		d = &r->slos->slo[i];
		if (strcmp(d->service, svc) != 0 ||
		    strcmp(d->environment, env) != 0)
			continue;
		p = NULL;
		st = states != NULL ? states[i] : -1;
		if (st == -1) {
			memset(&c, 0, sizeof(c));
			if ((rc = ledger_claim_get(l, "Slo", d->name, INT64_MAX,
			    &c)) == -1) {
				json_object_put(reasons);
				return (-1);
			}
			if (rc == 1)
				p = json_tokener_parse(c.properties);
			claim_clear(&c);
			state = gate_str(p, "state");
			st = state == NULL ? SLO_OK :
			    strcmp(state, "exhausted") == 0 ? SLO_EXHAUSTED :
			    strcmp(state, "page") == 0 ? SLO_PAGE :
			    strcmp(state, "ticket") == 0 ? SLO_TICKET : SLO_OK;
		}
		if (st == SLO_EXHAUSTED && g->budget_exhausted) {
			x = json_object_new_object();
			json_object_object_add(x, "slo",
			    json_object_new_string(d->name));
			if (p != NULL && json_object_object_get_ex(p,
			    "budget_remaining", &v))
				json_object_object_add(x, "budget_remaining",
				    json_object_get(v));
			gate_reason(reasons, "budget_exhausted", x, "SLO %s: "
			    "the error budget is exhausted (%s%% left)",
			    d->name, p != NULL && json_object_object_get_ex(p,
			    "budget_remaining", &v) ? json_object_get_string(v) :
			    "0");
		}
		if (g->page_burn && (st == SLO_PAGE || (st == SLO_EXHAUSTED &&
		    p != NULL && (sev = gate_str(p, "class")) != NULL &&
		    strcmp(sev, "page") == 0))) {
			x = json_object_new_object();
			json_object_object_add(x, "slo",
			    json_object_new_string(d->name));
			gate_reason(reasons, "page_burn", x, "SLO %s: a "
			    "page-level burn is active", d->name);
		}
		json_object_put(p);
	}
	memset(&s, 0, sizeof(s));
	s.service = svc;
	s.environment = env;
	if (g != NULL && g->nseverities > 0) {
		s.opened = json_object_new_object();
		s.resolved = json_object_new_object();
		rc = ledger_collect(l, "IncidentOpened", 0, now -
		    GATE_INCIDENT_SPAN, now + 1, max_seq, GATE_READ_MAX,
		    gate_incident_one, &s);
		s.resolving = 1;
		if (rc == 0)
			rc = ledger_collect(l, "IncidentResolved", 0, now -
			    GATE_INCIDENT_SPAN, now + 1, max_seq,
			    GATE_READ_MAX, gate_incident_one, &s);
		if (rc == -1) {
			json_object_put(s.opened);
			json_object_put(s.resolved);
			json_object_put(reasons);
			return (-1);
		}
		json_object_object_foreach(s.opened, id, ip) {
			if (json_object_object_get_ex(s.resolved, id, NULL))
				continue;
			sev = gate_str(ip, "severity");
			for (j = 0; sev != NULL && j < g->nseverities; j++)
				if (strcasecmp(sev, g->severities[j]) == 0)
					break;
			if (sev == NULL || j == g->nseverities)
				continue;
			x = json_object_new_object();
			json_object_object_add(x, "incident",
			    json_object_new_string(id));
			gate_reason(reasons, "incident", x, "incident %s (%s) "
			    "is open on %s in %s", id, sev, svc, env);
		}
		json_object_put(s.opened);
		json_object_put(s.resolved);
	}
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(svc));
	json_object_object_add(o, "environment", json_object_new_string(env));
	tf_format(now, t);
	json_object_object_add(o, "at", json_object_new_string(t));
	/* Exceptions: enough distinct approvers from the chain's roles. */
	s.approvals = json_object_new_object();
	if (json_object_array_length(reasons) > 0 && g != NULL &&
	    ledger_collect(l, "GateApproval", 0, now - g->valid_for, now + 1,
	    max_seq, GATE_READ_MAX, gate_approval_one, &s) == -1) {
		json_object_put(s.approvals);
		json_object_put(reasons);
		json_object_put(o);
		return (-1);
	}
	json_object_object_foreach(s.approvals, exid, ex) {
		nok = 0;
		json_object_object_foreach(ex, actor, ap) {
			(void)actor;
			state = gate_str(ap, "role");
			if (g->nroles == 0 || (state != NULL &&
			    gate_scoped(g->roles, g->nroles, state)))
				nok++;
		}
		if (nok >= g->approvals && bestid == NULL) {
			bestid = exid;
			best = ex;
		}
	}
	if (bestid != NULL) {
		x = json_object_new_object();
		json_object_object_add(x, "id", json_object_new_string(bestid));
		v = json_object_new_array();
		json_object_object_foreach(best, actor2, ap2) {
			json_object_array_add(v, json_object_new_string(actor2));
			if (json_object_object_get_ex(x, "reason", NULL) == 0 &&
			    gate_str(ap2, "reason") != NULL)
				json_object_object_add(x, "reason",
				    json_object_new_string(gate_str(ap2,
				    "reason")));
		}
		json_object_object_add(x, "approved_by", v);
		json_object_object_add(o, "exception", x);
	}
	json_object_put(s.approvals);
	json_object_object_add(o, "open", json_object_new_boolean(
	    json_object_array_length(reasons) == 0 || bestid != NULL));
	json_object_object_add(o, "reasons", reasons);
	*out = o;
	return (0);
}

/*
 * Is (svc, env) a name the configuration knows?  The catalog's, when it
 * declares services (environments); else those the SLOs name.  Returns
 * NULL when known, else why (taken), with the nearest names.
 */
char *
gate_name_check(const struct rules *r, const struct catalog *cat,
    const char *svc, const char *env)
{
	const char	**names;
	char		*why, *out;
	size_t		 i, n = 0, cap;

	cap = (r->slos ? r->slos->nslo : 0) + (cat ? cat->nservices +
	    cat->nenvironments : 0) + 1;
	names = xcalloc(cap, sizeof(*names));
	if (cat != NULL && cat->nservices > 0)
		for (i = 0; i < cat->nservices; i++)
			names[n++] = cat->services[i].name;
	else
		for (i = 0; r->slos != NULL && i < r->slos->nslo; i++)
			if (gate_in(r->slos->slo[i].service, names, n) == -1)
				names[n++] = r->slos->slo[i].service;
	if (gate_in(svc, names, n) == -1) {
		why = suggest_unknown("service", svc, names, n);
		free(names);
		xasprintf(&out, "%s%s", why, n == 0 ? " (no services are "
		    "declared: services: or slos:)" : "");
		free(why);
		return (out);
	}
	n = 0;
	if (cat != NULL && cat->nenvironments > 0)
		for (i = 0; i < cat->nenvironments; i++)
			names[n++] = cat->environments[i];
	else
		for (i = 0; r->slos != NULL && i < r->slos->nslo; i++)
			if (gate_in(r->slos->slo[i].environment, names, n) == -1)
				names[n++] = r->slos->slo[i].environment;
	if (gate_in(env, names, n) == -1) {
		why = suggest_unknown("environment", env, names, n);
		free(names);
		xasprintf(&out, "%s%s", why, n == 0 ? " (no environments are "
		    "declared: environments: or slos:)" : "");
		free(why);
		return (out);
	}
	free(names);
	return (NULL);
}

/*
 * Derivation's part (derive_apply, in the writer's transaction): a
 * DeploymentStarted whose gate was closed at its event time, with no
 * approved exception, is a policy violation: a GateViolation claim (id:
 * the deployment) holding the reasons, linked to the deployment, pushed
 * like every claim.  The deployment itself keeps its true state.  The
 * evaluation sees only the evidence stored before this one, so `claims
 * rebuild` decides the same.  Returns 0, or -1 on a storage error.
 */
int
gate_apply(const struct rules *r, struct ledger *l, const struct evidence *ev)
{
	json_object	*props, *links, *o, *v, *p, *lk;
	const char	*svc, *env, *dep, *tenant;
	struct claim	 c, cur;
	struct basis	 bs;
	struct buf	 b, lb;
	int		 rc = 0, found;

	if (r->gates == NULL || !r->gates->declared ||
	    strcmp(ev->type, "DeploymentStarted") != 0)
		return (0);
	props = json_tokener_parse(ev->properties);
	links = json_tokener_parse(ev->links);
	if ((svc = gate_str(links, "service")) == NULL)
		svc = gate_str(props, "service");
	if ((env = gate_str(links, "environment")) == NULL)
		env = gate_str(props, "environment");
	if ((dep = gate_str(props, "deploymentId")) == NULL)
		dep = ev->subject;
	if (svc == NULL || env == NULL || dep == NULL || *dep == '\0')
		goto out;
	if (gate_evaluate_seq(r, l, svc, env, ev->time, ev->seq - 1, NULL,
	    &o) == -1) {
		rc = -1;
		goto out;
	}
	if (json_object_object_get_ex(o, "open", &v) &&
	    json_object_get_boolean(v)) {
		json_object_put(o);
		goto out;
	}
	memset(&cur, 0, sizeof(cur));
	if ((found = ledger_claim_get(l, "GateViolation", dep, INT64_MAX,
	    &cur)) != 0) {
		claim_clear(&cur);
		json_object_put(o);
		rc = found == -1 ? -1 : 0;
		goto out;	/* recorded when it started */
	}
	p = json_object_new_object();
	json_object_object_add(p, "deployment", json_object_new_string(dep));
	json_object_object_add(p, "service", json_object_new_string(svc));
	json_object_object_add(p, "environment", json_object_new_string(env));
	json_object_object_get_ex(o, "reasons", &v);
	json_object_object_add(p, "reasons", json_object_get(v));
	json_object_object_add(p, "policy_violation",
	    json_object_new_boolean(1));
	json_object_put(o);
	buf_init(&b);
	evidence_canonical_json(p, &b);
	json_object_put(p);
	lk = json_object_new_object();
	json_object_object_add(lk, "deployment", json_object_new_string(dep));
	json_object_object_add(lk, "service", json_object_new_string(svc));
	json_object_object_add(lk, "environment", json_object_new_string(env));
	if ((tenant = gate_str(links, "tenant")) != NULL)
		json_object_object_add(lk, "tenant",
		    json_object_new_string(tenant));
	buf_init(&lb);
	evidence_canonical_json(lk, &lb);
	json_object_put(lk);
	basis_init(&bs, 1);
	basis_add_ev(&bs, ev->id, ev->seq);
	memset(&c, 0, sizeof(c));
	c.type = (char *)"GateViolation";
	c.id = (char *)dep;
	c.revision = 1;
	c.anchor = c.time = ev->time;
	c.recorded_at = ev->recorded_at;
	c.properties = buf_cstr(&b);
	c.links = buf_cstr(&lb);
	c.basis = basis_json(&bs, 0);
	rc = ledger_claim_put(l, &c);
	free(c.basis);
	basis_free(&bs);
	buf_free(&b);
	buf_free(&lb);
out:
	json_object_put(props);
	json_object_put(links);
	return (rc);
}
