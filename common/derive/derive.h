/*
 * derive/derive.h: derivation.  Everything Milepost concludes from
 * evidence: lifecycle claims (claim types and their created_by / revised_by
 * rules), computed claims, the deployment state machine and release
 * status, and milestones.  derive_apply, derive_flush and derive_abort are
 * the one entry point the receiver's writer calls, in its transaction;
 * derive_rebuild replays the whole ledger for `milepost claims rebuild`.
 * The batch order (claims engine, then milestones) is written once, in
 * derive.c.  The engine, deploy and milestone functions below are that
 * entry point's parts, declared here for their unit tests.
 *
 * Rule: derive/ includes util/, record/ and store/ (the facade only);
 * never the outbox, access or configuration.
 */
#ifndef MP_DERIVE_H
#define MP_DERIVE_H

#include "store/store.h"

/*
 * rules.c: what derivation is configured with: the claim types
 * (claim_types:), the computed claims (computed_claims:) and the
 * deployments: section, over the evidence types (borrowed).  The
 * configuration owns one; each section's loader below fills its part.
 */
struct claimdef;
struct computeddef;
struct deployconf;
struct slo_conf;
struct gate_conf;
struct rules {
	const struct types *types;	/* borrowed: the evidence types */
	struct claimdef	*cl;		/* claim types (claims.c) */
	size_t		 ncl;
	struct computeddef *cc;		/* computed claims (computed.c) */
	size_t		 ncc;
	struct deployconf *deploy;	/* deployments: (deploy.c), or NULL */
	struct slo_conf	*slos;		/* slos: (slo-conf.c), or NULL */
	struct gate_conf *gates;	/* gates: (gate.c), or NULL */
};
struct rules	*rules_new(const struct types *);
void		 rules_free(struct rules *);

/* claims.c: claim types and lifecycle claims */
struct setrule {
	char		*prop;
	json_object	*value;		/* a constant, coerced; or NULL */
	char		*from;		/* the evidence property of "$name" */
};
struct revisedef {
	char		*evidence;
	struct setrule	*set;
	size_t		 nset;
};
struct claimdef {
	struct evtype	 t;		/* name and typed properties */
	char		*created_by;	/* evidence type */
	struct setrule	*create_set;
	size_t		 ncreate_set;
	struct revisedef *revised;
	size_t		 nrevised;
};
int		 claims_load(struct rules *, json_object *, const char *,
		    char *, size_t);
const struct claimdef *claims_find(const struct rules *, const char *);
void		 claims_free_defs(struct rules *);

/* engine.c: applies evidence to claims inside the writer's transaction */
struct engine;
struct engine	*engine_new(const struct rules *);
void		 engine_free(struct engine *);
int		 engine_apply(struct engine *, struct ledger *,
		    const struct evidence *);
int		 engine_flush(struct engine *, struct ledger *, int64_t);
void		 engine_abort(struct engine *);
int		 engine_active(const struct engine *);

/* deploy.c: the deployment state machine and release status */
enum dstate {
	DS_NONE = -1,			/* not stored yet */
	DS_PLANNED = 0,
	DS_IN_PROGRESS,
	DS_DEPLOYED,
	DS_VERIFIED,
	DS_FAILED,
	DS_STALLED,
	DS_BLOCKED,
	DS_ROLLING_BACK,
	DS_REVERTED,
	DS_PARTIALLY_RESTORED,
	DS_RECOVERED,
	DS_ROLLBACK_FAILED,
	DS_MANUAL_INTERVENTION,
	DS_MAX
};
#define DCHK_HEALTH	0x1		/* DeploymentHealth Healthy */
#define DCHK_TEST	0x2		/* TestRun passed, BuildCompleted */
struct deployenv {
	char		*name;
	double		 timeout;	/* seconds; 0: the default */
	unsigned	 verify_by;	/* DCHK_*; 0: the default */
};
struct deploydep {
	char		*service;
	char		**upstream;
	size_t		 nupstream;
};
struct deploypipe {			/* a CI job that deploys */
	char		*name;		/* fnmatch pattern on its name */
	char		*service;
	char		*environment;
	char		*region;	/* or NULL */
};
struct deployconf {
	double		 timeout;
	unsigned	 verify_by;
	struct deployenv *envs;
	size_t		 nenvs;
	struct deploydep *deps;
	size_t		 ndeps;
	struct deploypipe *pipes;
	size_t		 npipes;
	char		**forbid;	/* environments without overrides */
	size_t		 nforbid;
};
struct deploy;
const char	*deploy_state_name(enum dstate);
int		 deploy_state_parse(const char *, enum dstate *);
char		*deploy_state_unknown(const char *);
int		 deploy_transition_ok(enum dstate, enum dstate);
int		 deploy_state_expects_progress(enum dstate);
const char	*deploy_release_state(const enum dstate *, size_t);
int		 deploy_load(struct rules *, json_object *, const char *,
		    char *, size_t);
void		 deploy_free_conf(struct rules *);
void		 deploy_add_dependency(struct rules *, const char *,
		    char *const *, size_t);
double		 deploy_timeout(const struct rules *, const char *);
int		 deploy_override_forbidden(const struct rules *, const char *);
struct deploy	*deploy_new(const struct rules *);
void		 deploy_free(struct deploy *);
int		 deploy_apply(struct deploy *, struct ledger *,
		    const struct rules *, const struct evidence *);
int		 deploy_flush(struct deploy *, struct ledger *, int64_t);
void		 deploy_abort(struct deploy *);

/* computed.c: computed claims: collectors, expressions, periods, ids */
enum date_offset {
	DO_CURRENT_MONTH = 0,
	DO_PREVIOUS_MONTH,
	DO_CURRENT_WEEK,
	DO_CURRENT_QUARTER,
	DO_LAST_7_DAYS,
	DO_LAST_14_DAYS,
	DO_LAST_28_DAYS,
	DO_ALL,
};
enum expr {
	EX_COUNT = 0,
	EX_TRUECOUNT,
	EX_FALSECOUNT,
	EX_SUM,
	EX_AVG,
	EX_MIN,
	EX_MAX,
	EX_PERCENTILE,
	EX_PERCENTTRUE,
	EX_PCT_LT_TS,
	EX_PCT_GT_TS,
};
struct collectordef {
	char		*name;
	char		*type;		/* evidence or lifecycle claim type */
	int		 of_claims;
	char		*property;	/* or NULL: count items only */
	enum ptype	 ptype;
	size_t		 count;
	int		 exact;
	enum date_offset offset;
	char		*filter_subject;	/* exact, or prefix with '*' */
	char		**filter_keys;		/* links that must match */
	char		**filter_vals;
	size_t		 nfilter;
};
struct cpropdef {
	char		*name;
	enum ptype	 type;
	enum expr	 expr;
	size_t		 collector;
	double		 threshold;	/* seconds, for the TimeSpan ones */
	double		 p;		/* percentile */
};
struct computeddef {
	char		*name;
	char		*idtmpl;
	char		*about;
	char		*trigger;
	int		 trigger_is_claim;
	struct collectordef *coll;
	size_t		 ncoll;
	struct cpropdef	*props;
	size_t		 nprops;
};
int		 computed_load(struct rules *, json_object *, const char *,
		    char *, size_t);
void		 computed_free_defs(struct rules *);
int		 computed_expand_id(const char *, int64_t, char *, size_t);
int		 computed_template_ok(const char *, char *, size_t);
void		 computed_period(enum date_offset, int64_t, int64_t *,
		    int64_t *);
int64_t		 computed_bucket_start(enum date_offset, int64_t);
int64_t		 computed_bucket_next(enum date_offset, int64_t);
const char	*computed_expr_name(enum expr);
/* One collected value. */
struct citem {
	uint64_t	 hkey;		/* hash of key, for quick compares */
	char		*key;		/* claim id, or "#seq" for evidence */
	int64_t		 time;
	int		 kind;		/* 0 none, 1 boolean, 2 number */
	double		 num;		/* the number, or 0/1 for booleans */
};
int		 computed_eval(const struct cpropdef *, const struct citem **,
		    size_t, json_object **);

/* milestone-conf.c: declared milestones, mapping rules, evaluation */
#define MS_VIA_TRAILER	0x01	/* commit trailer "Milestone: M-42" */
#define MS_VIA_COMMIT	0x02	/* scope.commits */
#define MS_VIA_BRANCH	0x04	/* milestone_rules.branches */
#define MS_VIA_ISSUE	0x08	/* an issue key in scope */
#define MS_VIA_SERVICE	0x10	/* scope.services or scope.artifacts */
#define MS_VIA_RULE	0x20	/* milestone_rules.services */
#define MS_VIA_LINK	0x40	/* a milestone link (Argo CD annotation) */
#define MS_VIA_CONTAINS	0x80	/* the revision contains a checkpoint */
struct milestone_def {
	char		*id;
	char		*title;		/* for status pages; NULL: none */
	char		*description;
	char		*tenant;
	int64_t		 due;		/* microseconds */
	int64_t		 start;		/* 0: the first checkpoint's time */
	char		*environment;	/* target; default "production" */
	char		**services;
	size_t		  nservices;
	char		**issues;
	size_t		  nissues;
	char		**commits;
	size_t		  ncommits;
	char		**artifacts;
	size_t		  nartifacts;
};
enum milestone_rule_kind { MR_ISSUE = 0, MR_SERVICE, MR_BRANCH };
struct milestone_rule {
	enum milestone_rule_kind kind;
	char		*pattern;	/* fnmatch(3) */
	char		*milestone;
	size_t		 index;		/* into ms[] */
};
struct milestone_conf {
	struct milestone_def *ms;
	size_t		 nms;
	struct milestone_rule *rules;
	size_t		 nrules;
	size_t		 max_per_deployment;	/* K */
	size_t		 max_checkpoints;
	int64_t		 at_risk_margin;	/* microseconds */
	int		 clock;		/* milepostd's MilestoneClock */
	double		 rollback_weight;
	double		 default_weight;
	double		 slo_page_weight;	/* slo_weights: page */
	double		 slo_ticket_weight;	/* slo_weights: ticket */
	char		**sev_names;
	double		*sev_weights;
	size_t		 nsev;
};
struct milestone_eval {
	size_t		 done, total;
	double		 delta;		/* sum of active deltas, <= 0 */
	int		 active;	/* an active delta exists */
	int64_t		 now, start, due, margin;
	double		 progress;	/* out */
	double		 cadence;	/* out: checkpoints per day */
	int64_t		 predicted;	/* out: 0 when none */
	const char	*state;		/* out */
};
struct milestone_conf *milestone_conf_load(json_object *, const char *,
		    char *, size_t);
void		 milestone_conf_free(struct milestone_conf *);
int		 milestone_conf_index(const struct milestone_conf *,
		    const char *);
int		 milestone_id_ok(const char *);
int		 milestone_issue_in(const struct milestone_conf *, size_t,
		    const char *);
int		 milestone_service_in(const struct milestone_conf *, size_t,
		    const char *);
size_t		 milestone_map_commit(const struct milestone_conf *,
		    const char *, const char *, json_object *, json_object *,
		    unsigned *);
size_t		 milestone_map_deployment(const struct milestone_conf *,
		    const char *, const char *, const char *const *,
		    unsigned *);
double		 milestone_weight(const struct milestone_conf *,
		    const char *, const char *, const char *, const char **);
void		 milestone_evaluate(struct milestone_eval *);

/* milestone.c: Milestone claims, kept in the writer's transaction */
struct milestones;
struct milestones *milestone_new(const struct milestone_conf *);
void		 milestone_free(struct milestones *);
int		 milestone_apply(struct milestones *, struct ledger *,
		    const struct evidence *);
int		 milestone_flush(struct milestones *, struct ledger *, int64_t);
void		 milestone_abort(struct milestones *);
json_object	*milestone_initial(const struct milestone_def *);

/*
 * burn.c: error-budget arithmetic, pure.  Per-slice buckets (a minute for
 * occurrences) in a ring that covers the longest window; each window keeps
 * running sums, moved as events arrive and as time passes, so nothing is
 * rescanned.  Times are seconds.
 */
#define BURN_ROLLING	0
#define BURN_MONTH	1		/* calendar month, UTC */
#define BURN_WEEK	2		/* ISO week, from Monday 00:00 UTC */
struct burn_win {
	int64_t		 span;		/* buckets; 0: the calendar period */
	double		 good, total;	/* slices (timeslices) or events */
};
struct burn {
	int64_t		 slice;		/* seconds per bucket */
	int		 timeslices;	/* a bucket is one good or bad slice */
	double		 slice_target;	/* its good fraction to be good */
	int		 clocked;	/* alerts: every slice entered counts */
	int		 open;		/* clocked: alerts open now */
	int		 calendar;	/* BURN_* of windows with span 0 */
	size_t		 nb;
	double		*good, *total;	/* raw, by bucket % nb */
	int64_t		 head;		/* bucket of now; INT64_MIN: none */
	int64_t		 first;		/* the first head: the clock's start */
	int64_t		 cal_start;	/* bucket the calendar period began */
	struct burn_win	*w;
	size_t		 nw;
};
struct burn	*burn_new(int64_t, int, double, int, int, const int64_t *,
		    size_t);
void		 burn_free(struct burn *);
void		 burn_advance(struct burn *, int64_t);
int		 burn_add(struct burn *, int64_t, double, double);
int		 burn_alert_open(struct burn *, int64_t);
int		 burn_alert_close(struct burn *, int64_t);
void		 burn_sums(const struct burn *, size_t, double *, double *);
double		 burn_error_ratio(const struct burn *, size_t);
double		 burn_rate(const struct burn *, size_t, double);
double		 burn_budget_left(const struct burn *, size_t, double);
int64_t		 burn_period_start(int, int64_t);

/* slo-conf.c: the slos: section */
enum slo_kind { SLO_RATIO = 0, SLO_ALERTS, SLO_REPORTED };
enum slo_state { SLO_OK = 0, SLO_TICKET, SLO_PAGE, SLO_EXHAUSTED };
struct slo_match {			/* one property or link matcher */
	char		*key;
	int		 link;		/* links:, else properties: */
	char		**values;	/* any of; NULL with an op */
	size_t		  nvalues;
	int		 op;		/* 0 equal, '<', 'l' (<=), '>', 'g' */
	double		 num;
};
struct slo_filter {
	char		*type;
	struct slo_match *m;
	size_t		  nm;
};
struct slo_alert {			/* one multi-window burn-rate rule */
	int		 page;		/* page, else ticket */
	int64_t		 long_win;	/* seconds */
	int64_t		 short_win;
	double		 factor;
};
struct slo_def {
	char		*name;
	char		*service;
	char		*environment;
	char		*tenant;	/* the service's only tenant, or NULL */
	char		*description;
	double		 objective;	/* percent */
	int64_t		 window;	/* seconds; the period's for calendar */
	int		 calendar;	/* BURN_* */
	int		 timeslices;
	int64_t		 slice;		/* seconds per bucket */
	double		 slice_target;	/* fraction, timeslices of a ratio */
	enum slo_kind	 kind;
	struct slo_filter good, total;	/* SLO_RATIO */
	struct slo_match *labels;	/* SLO_ALERTS */
	size_t		  nlabels;
	struct slo_alert *alerts;
	size_t		  nalerts;
	int		 alerts_default;	/* the scaled workbook table */
};
struct slo_conf {
	struct slo_def	*slo;
	size_t		 nslo;
};
int		 slo_conf_load(struct rules *, json_object *, const char *,
		    char *, size_t);
void		 slo_conf_free(struct rules *);
const struct slo_def *slo_conf_find(const struct rules *, const char *);
void		 slo_default_alerts(int64_t, int64_t, struct slo_alert *);
const char	*slo_state_name(enum slo_state);
char		*slo_window_name(int64_t);
int		 slo_filter_match(const struct slo_filter *, const char *,
		    json_object *, json_object *);
enum slo_state	 slo_evaluate(const struct slo_def *, const struct burn *,
		    json_object **);
enum slo_state	 slo_state(const struct slo_def *, const struct burn *,
		    enum slo_state *);
struct burn	*slo_burn_new(const struct slo_def *);

/* slo-sim.c: what-if, read-only */
int		 slo_simulate(const struct rules *, const struct milestone_conf *,
		    struct ledger *, const char *, double, int64_t, int64_t,
		    json_object **, char *, size_t);

/* slo.c: Slo claims, kept in the writer's transaction */
struct slos;
struct slos	*slo_new(const struct slo_conf *);
void		 slo_free(struct slos *);
int		 slo_apply(struct slos *, struct ledger *,
		    const struct evidence *);
int		 slo_flush(struct slos *, struct ledger *, int64_t);
void		 slo_abort(struct slos *);

/* gate.c: change windows, freezes, policies, exceptions; evaluation */
struct gate_window {
	unsigned	 days;		/* bit 0: Monday */
	int		 from, to;	/* minutes of the day; to < from: overnight */
	char		*tz;		/* IANA name, or "UTC" */
	char		**services;	/* none: every one */
	size_t		  nservices;
	char		**envs;
	size_t		  nenvs;
};
struct gate_freeze {
	char		*reason;
	int64_t		 start;		/* INT64_MIN: already */
	int64_t		 end;
	char		**services;
	size_t		  nservices;
	char		**envs;
	size_t		  nenvs;
};
struct gate_conf {
	struct gate_window *windows;
	size_t		 nwindows;
	struct gate_freeze *freezes;
	size_t		 nfreezes;
	int		 budget_exhausted;	/* policies */
	int		 page_burn;
	int		 outside_window;
	char		**severities;	/* of incidents that deny; none: off */
	size_t		  nseverities;
	size_t		 approvals;	/* exceptions: N approvers */
	char		**roles;	/* from these roles; none: any */
	size_t		  nroles;
	int64_t		 valid_for;	/* microseconds */
	int		 declared;	/* gates: is in the file: violations */
};
int		 gate_conf_load(struct rules *, json_object *, const char *,
		    char *, size_t);
void		 gate_conf_free(struct rules *);
int		 gate_window_open(const struct gate_window *, int64_t);
int		 gate_evaluate(const struct rules *, struct ledger *,
		    const char *, const char *, int64_t, const int *,
		    json_object **);
int		 gate_evaluate_seq(const struct rules *, struct ledger *,
		    const char *, const char *, int64_t, int64_t, const int *,
		    json_object **);
int		 gate_apply(const struct rules *, struct ledger *,
		    const struct evidence *);
char		*gate_name_check(const struct rules *, const struct catalog *,
		    const char *, const char *);

/* derive.c: the one entry point */
struct derive;
struct derive	*derive_new(const struct rules *, const struct milestone_conf *);
void		 derive_free(struct derive *);
int		 derive_apply(struct derive *, struct ledger *,
		    const struct evidence *);
int		 derive_flush(struct derive *, struct ledger *, int64_t);
void		 derive_abort(struct derive *);
int		 derive_active(const struct derive *);
struct claims_rebuild {
	int64_t		 evidence;	/* rows replayed */
	int64_t		 revisions;	/* claim revisions recomputed */
	char		 diff[MP_ERRLEN];	/* first difference, or "" */
	char		 skipped[MP_ERRLEN];	/* stored types not derived */
};
int		 derive_rebuild(struct ledger *, const struct rules *,
		    const struct milestone_conf *, struct claims_rebuild *);

#endif /* MP_DERIVE_H */
