/*
 * milepost.h: the one header of libmilepost, the library that the agent
 * (milepost), the receiver (milepostd) and the plugins link.
 *
 * Conventions: functions return 0 on success and -1 on failure unless a
 * comment says otherwise; an error string, when there is one, is written to
 * a caller-supplied buffer of MP_ERRLEN bytes.  "Borrowed" pointers belong to
 * the callee's argument; "taken" ones become the callee's to free.
 */
#ifndef MILEPOST_H
#define MILEPOST_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct evidence;
struct ledger;

#define MP_ERRLEN	256
#define MP_HASHLEN	65		/* hex SHA-256 plus NUL */
#define MP_TIMELEN	40		/* RFC 3339 with microseconds */
#define MP_IDMAX	256		/* longest idempotency id accepted */

#define MP_DEFAULT_URL		"http://127.0.0.1:8780"
#define MP_DEFAULT_LISTEN	"127.0.0.1:8780"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#define MP_PRINTF(a, b) __attribute__((__format__(__printf__, a, b)))

/* log.c */
void	log_init(const char *, int);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_warn(const char *, ...) MP_PRINTF(1, 2);
void	log_warnx(const char *, ...) MP_PRINTF(1, 2);
void	log_info(const char *, ...) MP_PRINTF(1, 2);
void	log_debug(const char *, ...) MP_PRINTF(1, 2);
__dead void fatal(const char *, ...) MP_PRINTF(1, 2);
__dead void fatalx(const char *, ...) MP_PRINTF(1, 2);

/* xmalloc.c: allocators that never return NULL */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) MP_PRINTF(2, 3);
int	 xvasprintf(char **, const char *, va_list);
void	 freezero_str(char *);
#ifndef HAVE_STRLCPY
size_t	 strlcpy(char *, const char *, size_t);
#endif

/* buf.c: a growable byte buffer; the caller owns b->data after buf_steal */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};
void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_reserve(struct buf *, size_t);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...) MP_PRINTF(2, 3);
char	*buf_cstr(struct buf *);	/* NUL-terminated view, borrowed */
char	*buf_steal(struct buf *);	/* NUL-terminated, taken */
int	 buf_read_file(struct buf *, const char *, size_t);

/* payload.c: raw payloads as stored (encoding "lz4": one LZ4 frame) */
#define PAYLOAD_ENCODING	"lz4"
int	 payload_compress(const void *, size_t, struct buf *);
int	 payload_decompress(const char *, const void *, size_t, struct buf *,
	    char *, size_t);

/* timefmt.c: times are int64 microseconds since the Unix epoch, UTC */
int	 tf_parse(const char *, int64_t *);
void	 tf_format(int64_t, char [MP_TIMELEN]);
int64_t	 tf_now(void);

/* timespan.c: "500s", "8m20s", "1h", "PT8M20S", "1.5h", "500" -> seconds */
int	 ts_parse(const char *, double *);

/* hmac.c: HMAC-SHA256 and constant-time helpers */
#define HMAC_SHA256_LEN	32
void	 hmac_sha256(const void *, size_t, const void *, size_t,
	    unsigned char [HMAC_SHA256_LEN]);
int	 hmac_equal(const void *, const void *, size_t);
int	 hmac_str_equal(const char *, const char *);
void	 hmac_hex(const unsigned char *, size_t, char *);
void	 sha256_hex(const void *, size_t, char [MP_HASHLEN]);
size_t	 b64_encode(const void *, size_t, char *, size_t);
int	 b64_decode(const char *, unsigned char *, size_t, size_t *);

/* stdwh.c: Standard Webhooks v1 (symmetric) signing and verification */
#define STDWH_KEYMAX	64
#define STDWH_SIGLEN	64	/* "v1," + base64(32) + NUL fits */
#define STDWH_TOLERANCE	300	/* seconds either side */
struct stdwh_key {
	unsigned char	key[STDWH_KEYMAX];
	size_t		len;
};
enum stdwh_result {
	STDWH_OK = 0,
	STDWH_MISSING,		/* a webhook-* header is absent or empty */
	STDWH_BADTIME,		/* timestamp unparseable or outside tolerance */
	STDWH_MISMATCH,		/* no signature matches any key */
};
int	 stdwh_key_parse(const char *, struct stdwh_key *);
void	 stdwh_sign(const struct stdwh_key *, const char *, int64_t,
	    const void *, size_t, char [STDWH_SIGLEN]);
enum stdwh_result stdwh_verify(const struct stdwh_key *, size_t,
	    const char *, const char *, const char *, const void *, size_t,
	    int64_t);
const char *stdwh_strerror(enum stdwh_result);

/*
 * source.c: inbound sources.  Each tool's adapter is a const struct
 * mp_source in plugins/<tool>/<tool>.c, gathered in plugins/plugins.c.
 * A source sees a neutral request (raw body, header lookup), so that it
 * can be fuzzed without an HTTP server.
 */
struct source_req {
	const char	*body;		/* raw bytes, as received */
	size_t		 len;
	const char	*(*header)(const struct source_req *, const char *);
	void		*hctx;
	int64_t		 now;		/* microseconds */
};
struct source_conf {			/* every list allows rotation */
	char		**secrets;	/* HMAC secrets (GitHub, PagerDuty) */
	size_t		  nsecrets;
	char		**tokens;	/* shared tokens (GitLab) */
	size_t		  ntokens;
	char		**bearers;	/* Authorization: Bearer */
	size_t		  nbearers;
	char		**basic;	/* "user:password" */
	size_t		  nbasic;
	struct stdwh_key *signing;	/* Standard Webhooks keys */
	size_t		  nsigning;
};
#define SRC_AUTH_SECRET		0x01
#define SRC_AUTH_TOKEN		0x02
#define SRC_AUTH_BEARER		0x04
#define SRC_AUTH_BASIC		0x08
#define SRC_AUTH_SIGNING	0x10
struct mp_source {
	const char	*name;
	int		 auth;		/* SRC_AUTH_* the configuration takes */
	/* 0 when authentic; -1 with why (never a secret) otherwise. */
	int		(*verify)(const struct source_conf *,
			    const struct source_req *, char *, size_t);
	/* The delivery id, kept across the sender's retries; -1 if none. */
	int		(*delivery_id)(const struct source_req *, json_object *,
			    char *, size_t);
	/*
	 * Append evidence objects ({id, type, subject, time, properties,
	 * links}) to out.  Returns 0; or 1 with the buffer saying why the
	 * event is ignored (not one Milepost uses); or -1 with the buffer
	 * saying what is malformed.
	 */
	int		(*normalize)(const struct source_req *, json_object *,
			    const char *, json_object *, char *, size_t);
	/*
	 * Set when the body need not be JSON (CloudEvents binary mode): the
	 * receiver still parses it once and passes the tree, or NULL.
	 */
	int		 raw_body;
};
extern const struct mp_source *source_table[];
const struct mp_source *source_find(const char *);
size_t		 source_index(const struct mp_source *);
size_t		 source_count(void);
void		 source_conf_clear(struct source_conf *);
int		 source_check_bearer(const struct source_conf *,
		    const struct source_req *);
int		 source_check_basic(const struct source_conf *,
		    const struct source_req *);
int		 source_check_token(const struct source_conf *, const char *);
enum stdwh_result source_check_signing(const struct source_conf *,
		    const struct source_req *);
int		 source_check_hmac(char **, size_t, const char *, const void *,
		    size_t);
json_object	*source_evidence(json_object *, const char *, const char *,
		    const char *, const char *);
void		 source_prop(json_object *, const char *, const char *);
void		 source_link(json_object *, const char *, const char *);
const char	*source_str(json_object *, const char *);
void		 source_message_keys(json_object *, const char *);

/* config.c: YAML (or JSON) -> json-c tree with line numbers -> settings */
enum role {
	ROLE_NONE = 0,
	ROLE_CLIENT,
	ROLE_READER,
	ROLE_WRITER,
	ROLE_OPERATOR,
	ROLE_ADMIN,
};
/* rate.c: a token bucket; per_sec 0 means unlimited */
struct rate_conf {
	double		per_sec;	/* refill, tokens per second */
	double		burst;		/* capacity */
};
struct token {
	unsigned char	digest[HMAC_SHA256_LEN];	/* SHA-256 of token */
	enum role	role;
	char		*tenant;
	char		*name;		/* for logs and GET /v1/tokens */
	struct rate_conf rate;		/* its own, or the rate: defaults */
	int		rate_set;	/* rate / burst given on the token */
	int		burst_set;
};
struct limits {
	size_t		max_body;	/* bytes, POST bodies */
	size_t		max_headers;	/* bytes, all request headers */
	unsigned	max_connections;
	unsigned	timeout;	/* seconds, per read/write */
	size_t		queue_max;	/* evidence waiting for the writer */
	size_t		batch_max;	/* evidence per transaction */
};
struct types;
struct milestone_conf;
struct sinkconf;
struct subscription;
struct config {
	char		*path;
	char		*listen;
	char		*ledger;
	struct stdwh_key *agent_keys;
	size_t		 nagent_keys;
	struct token	*tokens;
	size_t		 ntokens;
	struct limits	 limits;
	struct types	*types;
	struct source_conf *sources;	/* by source_index(); NULL: off */
	struct rate_conf rate;		/* rate: per-token defaults */
	struct redaction *redaction;	/* redaction: per role (redact.c) */
	struct milestone_conf *milestones;	/* never NULL once loaded */
	struct sinkconf	*sinks;		/* config-outbox.c */
	size_t		 nsinks;
	struct subscription *subs;
	size_t		 nsubs;
	json_object	*tree;		/* the whole file, owned */
};
struct config	*config_load(const char *, char *, size_t);
struct config	*config_default(void);
void		 config_free(struct config *);
int		 config_line(json_object *);
int		 config_errf(char *, size_t, const char *, json_object *,
		    const char *, const char *, ...) MP_PRINTF(6, 7);
void		 config_verrf(char *, size_t, const char *, json_object *,
		    const char *, const char *, va_list);
const char	*config_role_name(enum role);
enum role	 config_token_role(const struct config *, const char *,
		    const struct token **);
const struct source_conf *config_source(const struct config *,
		    const struct mp_source *);
json_object	*config_yaml_parse(const char *, size_t, const char *,
		    char *, size_t);

/* types.c: the registry of evidence types and validation */
enum ptype {
	PT_TEXT = 0,
	PT_ENUM,
	PT_BOOLEAN,
	PT_INTEGER,
	PT_NUMBER,
	PT_PERCENTAGE,
	PT_TIMESPAN,
	PT_TIMESTAMP,
};
struct propdef {
	char		*name;
	enum ptype	 type;
	int		 required;
	int		 list;
	char		**options;	/* enum only, NULL-terminated */
};
struct evtype {
	char		*name;
	struct propdef	*props;
	size_t		 nprops;
	int		 builtin;
};
struct claimdef;
struct computeddef;
struct deployconf;
struct types {
	struct evtype	*ev;
	size_t		 nev;
	struct claimdef	*cl;		/* claim types (claims.c) */
	size_t		 ncl;
	struct computeddef *cc;		/* computed claims (computed.c) */
	size_t		 ncc;
	struct deployconf *deploy;	/* deployments: (deploy.c), or NULL */
};
struct types	*types_new(void);
void		 types_free(struct types *);
int		 types_load(struct types *, json_object *, const char *,
		    char *, size_t);
const struct evtype *types_find(const struct types *, const char *);
int		 types_ptype_parse(const char *, enum ptype *);
const char	*types_ptype_name(enum ptype);
int		 types_coerce(const struct propdef *, json_object *,
		    json_object **, char *, size_t);
int		 types_load_props(struct evtype *, json_object *, const char *,
		    const char *, char *, size_t);
const struct propdef *types_prop(const struct evtype *, const char *);
void		 types_evtype_clear(struct evtype *);
int		 types_name_ok(const char *);

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
/* One revision of a claim, as stored. */
struct claim {
	char		*type;
	char		*id;
	int64_t		 revision;
	int64_t		 anchor;	/* event time that places it in a period */
	int64_t		 time;		/* event time of this revision's cause */
	int64_t		 recorded_at;	/* transaction time */
	char		*properties;	/* canonical JSON */
	char		*links;		/* canonical JSON */
	char		*basis;		/* JSON array of {"id","seq"} */
	char		*about;		/* or NULL */
};
void		 claim_clear(struct claim *);
json_object	*claim_to_json(const struct claim *);
int		 claims_load(struct types *, json_object *, const char *,
		    char *, size_t);
const struct claimdef *claims_find(const struct types *, const char *);
void		 claims_free_defs(struct types *);

/* engine.c: applies evidence to claims inside the writer's transaction */
struct engine;
struct engine	*engine_new(const struct types *);
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
int		 deploy_transition_ok(enum dstate, enum dstate);
int		 deploy_state_expects_progress(enum dstate);
const char	*deploy_release_state(const enum dstate *, size_t);
int		 deploy_load(struct types *, json_object *, const char *,
		    char *, size_t);
void		 deploy_free_conf(struct types *);
double		 deploy_timeout(const struct types *, const char *);
int		 deploy_override_forbidden(const struct types *, const char *);
struct deploy	*deploy_new(const struct types *);
void		 deploy_free(struct deploy *);
int		 deploy_apply(struct deploy *, struct ledger *,
		    const struct types *, const struct evidence *);
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
int		 computed_load(struct types *, json_object *, const char *,
		    char *, size_t);
void		 computed_free_defs(struct types *);
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
int		 milestone_sha_eq(const char *, const char *);
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

/* metrics-dora.c: delivery metrics, computed on read (read-only ledger) */
struct dora_query {
	const char	*service;	/* NULL: every service */
	const char	*environment;	/* NULL: every environment */
	int64_t		 from, to;	/* [from, to), microseconds */
	int		 weekly;	/* add the per-week trend */
};
json_object	*dora_compute(struct ledger *, const struct dora_query *);
json_object	*dora_deployments(struct ledger *, const struct dora_query *);
json_object	*dora_incidents(struct ledger *, const struct dora_query *);
double		 dora_median(double *, size_t);
int64_t		 dora_week_start(int64_t);

/* evidence.c: the evidence record, its JSON codec and canonical hash */
struct evidence {
	int64_t		 seq;
	char		*id;
	char		*source;
	char		*type;
	char		*subject;
	int64_t		 time;		/* event time, microseconds */
	int64_t		 recorded_at;	/* transaction time, microseconds */
	char		*properties;	/* canonical JSON text */
	char		*links;		/* canonical JSON text */
	char		 hash[MP_HASHLEN];
};
enum ev_error {
	EV_OK = 0,
	EV_SYNTAX,	/* 400: malformed evidence */
	EV_TYPE,	/* 422: unknown type or a property breaks its type */
};
struct evidence	*evidence_new(void);
void		 evidence_free(struct evidence *);
enum ev_error	 evidence_from_json(json_object *, const struct types *,
		    const char *, const char *, int64_t, struct evidence **,
		    char *, size_t, char *, size_t);
json_object	*evidence_to_json(const struct evidence *);
void		 evidence_canonical_json(json_object *, struct buf *);
void		 evidence_json_string(struct buf *, const char *, size_t);
void		 evidence_hash(const struct evidence *, const char *,
		    char [MP_HASHLEN]);
int		 evidence_id_valid(const char *);

/* ledger.c: the append-only, hash-chained ledger behind a backend table */
struct ledger;
typedef int (*ledger_scan_cb)(const struct evidence *, void *);
struct ledger_backend {
	const char	*scheme;	/* "sqlite" */
	int	(*open)(struct ledger *, const char *, int, char *, size_t);
	void	(*close)(struct ledger *);
	int	(*begin)(struct ledger *);
	/* returns 0 stored, 1 duplicate (seq set to the stored one), -1 */
	int	(*append)(struct ledger *, struct evidence *);
	int	(*commit)(struct ledger *);
	void	(*rollback)(struct ledger *);
	int	(*head)(struct ledger *, int64_t *, char [MP_HASHLEN]);
	int	(*set_head)(struct ledger *, int64_t, const char *);
	int	(*scan)(struct ledger *, int64_t, size_t, ledger_scan_cb,
		    void *);
	void	(*maintain)(struct ledger *);	/* checkpoint, may block */
	const char *(*error)(struct ledger *);
	int	(*get)(struct ledger *, int64_t, struct evidence **);

	/* Claims: revisions, out-of-order holds, and collector loads. */
	int	(*claim_get)(struct ledger *, const char *, const char *,
		    int64_t, struct claim *);	/* 1 found, 0 not, -1 */
	int	(*claim_put)(struct ledger *, const struct claim *);
	int	(*claim_list)(struct ledger *, const char *, const char *,
		    size_t, int64_t, int (*)(const struct claim *, void *),
		    void *);
	int	(*pending_put)(struct ledger *, const char *, const char *,
		    int64_t);
	int	(*pending_take)(struct ledger *, const char *, const char *,
		    int64_t **, size_t *);
	int	(*collect)(struct ledger *, const char *, int, int64_t,
		    int64_t, int64_t, size_t,
		    int (*)(const char *, int64_t, const char *, const char *,
		    const char *, void *), void *);
	/* The last argument: store only if (source, delivery) is not kept. */
	int	(*raw_put)(struct ledger *, const char *, const char *,
		    int64_t, const char *, const void *, size_t, int);
	/* 1 found (encoding and body set), 0 not found, -1 */
	int	(*raw_get)(struct ledger *, const char *, const char *,
		    int64_t *, struct buf *, struct buf *);
	/*
	 * Every revision of the claims of a type whose recorded_at (by 0)
	 * or anchor (by 1) is in [from, to), in (id, revision) order, at
	 * most limit (0: all).  Returns the count, or -1.
	 */
	int	(*claim_scan)(struct ledger *, const char *, int, int64_t,
		    int64_t, size_t, int (*)(const struct claim *, void *),
		    void *);
	/*
	 * Evidence of a type whose subject is s, or starts with s when s
	 * has 7 or more characters (an abbreviated SHA); newest first, at
	 * most limit.  Returns the count, or -1.
	 */
	int	(*subject_find)(struct ledger *, const char *, const char *,
		    size_t, ledger_scan_cb, void *);
	int	(*rebuild_begin)(struct ledger *);	/* shadow claims */
	int	(*rebuild_diff)(struct ledger *, char *, size_t);
	/* Every revision of one claim up to as_of, oldest first. */
	int	(*claim_history)(struct ledger *, const char *, const char *,
		    int64_t, int (*)(const struct claim *, void *), void *);
};
struct ledger {
	const struct ledger_backend *be;
	void		*priv;
	int		 readonly;
	int64_t		 last_seq;	/* chain tip, writer only */
	char		 last_hash[MP_HASHLEN];
	int64_t		 pending_seq;	/* tip inside an open transaction */
	char		 pending_hash[MP_HASHLEN];
	/* Called for every claim revision stored, in its transaction. */
	int		(*on_claim)(struct ledger *, const struct claim *,
			    void *);
	void		*on_claim_arg;
};
#define LEDGER_GENESIS	"0000000000000000000000000000000000000000000000000000000000000000"
#define LEDGER_RDONLY	0x1
struct ledger	*ledger_open(const char *, int, char *, size_t);
void		 ledger_close(struct ledger *);
int		 ledger_begin(struct ledger *);
int		 ledger_append(struct ledger *, struct evidence *);
int		 ledger_commit(struct ledger *);
void		 ledger_rollback(struct ledger *);
int		 ledger_claim_put(struct ledger *, const struct claim *);
int		 ledger_scan(struct ledger *, int64_t, size_t, ledger_scan_cb,
		    void *);
void		 ledger_maintain(struct ledger *);
const char	*ledger_error(struct ledger *);
struct ledger_verify {
	int64_t		 checked;
	int64_t		 bad_seq;	/* 0 when intact */
	char		 reason[MP_ERRLEN];
};
int		 ledger_verify(struct ledger *, struct ledger_verify *);
struct claims_rebuild {
	int64_t		 evidence;	/* rows replayed */
	int64_t		 revisions;	/* claim revisions recomputed */
	char		 diff[MP_ERRLEN];	/* first difference, or "" */
};
int		 ledger_claims_rebuild(struct ledger *, const struct types *,
		    struct claims_rebuild *);
int		 ledger_claims_rebuild_ms(struct ledger *, const struct types *,
		    const struct milestone_conf *, struct claims_rebuild *);
extern const struct ledger_backend ledger_sqlite;
void		*ledger_sqlite_db(struct ledger *);	/* sqlite3 *, borrowed */

/*
 * mergepatch.c: JSON merge patches (RFC 7396).  mergepatch_diff returns a
 * new patch (taken) that turns from into to; an empty object means no
 * change.  mergepatch_apply returns a new document (taken).
 */
json_object	*mergepatch_diff(json_object *, json_object *);
json_object	*mergepatch_apply(json_object *, json_object *);
int		 mergepatch_empty(json_object *);

/*
 * sink.c and sinks/<name>.c: outbound sinks.  A sink turns one push (the
 * object's wanted state, the state the sink last acknowledged, and the
 * merge patch between them) into one HTTP request; push.c sends it.
 */
#define SINK_HDRMAX	12
struct sink_msg {
	const struct sinkconf *sc;
	const char	*ctype;		/* claim type */
	const char	*id;		/* claim id */
	const char	*msgid;		/* webhook-id: stable for this push */
	int64_t		 revision;	/* the wanted state's claim revision */
	int64_t		 base;		/* the acknowledged one, 0: none */
	json_object	*want;		/* borrowed: the state to reach */
	json_object	*acked;		/* borrowed: what the sink has, or NULL */
	json_object	*patch;		/* borrowed: merge patch acked -> want */
	json_object	*links;		/* borrowed: the claim's links */
	const char	*etag;		/* the sink's ETag of acked, or NULL */
	int64_t		 now;		/* microseconds */
};
struct sink_http {
	const char	*method;	/* static */
	char		*url;		/* taken */
	char		*hdr[SINK_HDRMAX];	/* "Name: value", taken */
	size_t		 nhdr;
	struct buf	 body;
};
#define SINK_NEED_SECRET	0x01	/* Standard Webhooks keys */
#define SINK_NEED_TOKEN		0x02	/* a bearer token */
#define SINK_NEED_REPO		0x04	/* repo: owner/name */
#define SINK_NEED_URL		0x08	/* url: no default */
struct sink {
	const char	*name;
	unsigned	 need;		/* SINK_NEED_* */
	const char	*accepts;	/* settings beyond the common ones */
	/* 1 if this push means anything to the sink; 0: acknowledge silently. */
	int		(*wants)(const struct sink_msg *);
	/* The request; -1 with why when the push cannot be expressed. */
	int		(*build)(const struct sink_msg *, struct sink_http *,
			    char *, size_t);
	/* On 412: the request that reads the sink's current state, or NULL. */
	int		(*refetch)(const struct sink_msg *, struct sink_http *);
};
enum sink_verdict {
	SINK_OK = 0,		/* delivered: acknowledge */
	SINK_RETRY,		/* try again after a backoff */
	SINK_CONFLICT,		/* 412: refetch, recompute, resend */
	SINK_GONE,		/* 410: disable the endpoint */
	SINK_FAIL,		/* permanent: dead-letter at once */
};
extern const struct sink *sink_table[];
const struct sink *sink_find(const char *);
enum sink_verdict sink_classify(long);
void		 sink_http_clear(struct sink_http *);
void		 sink_http_header(struct sink_http *, const char *, ...)
		    MP_PRINTF(2, 3);
void		 sink_body_json(struct sink_http *, json_object *);
const char	*sink_prop(const struct sink_msg *, const char *);
const char	*sink_link(const struct sink_msg *, const char *);
char		*sink_expand(const char *, const struct sink_msg *);
int		 sink_state_changed(const struct sink_msg *);
int		 sink_ed25519_sign(const unsigned char *, const char *,
		    int64_t, const void *, size_t, char *, size_t);
extern const struct sink sink_webhook;
extern const struct sink sink_mergepatch;
extern const struct sink sink_github;
extern const struct sink sink_opslevel;
extern const struct sink sink_cortex;

/* config-outbox.c: the sinks: and subscriptions: settings */
struct sinkconf {
	char		*name;
	const struct sink *impl;
	char		*url;		/* may hold {type} and {id} */
	struct stdwh_key *keys;		/* whsec_: v1 signatures */
	size_t		 nkeys;
	unsigned char	 ed25519[32];	/* whsk_: the v1a private key seed */
	int		 has_ed25519;
	char		*token;		/* Authorization: Bearer */
	char		*repo;		/* github: owner/name */
	double		 rate;		/* pushes per second, 0: unlimited */
	double		 burst;
	unsigned	 max_in_flight;
	unsigned	 max_attempts;
	double		 timeout;	/* seconds */
	double		 retry_base;	/* seconds */
	double		 retry_max;
};
struct subscription {
	size_t		 sink;		/* index in cf->sinks */
	char		**types;
	size_t		 ntypes;
	char		**ids;		/* exact, or prefix with '*'; none: all */
	size_t		 nids;
	char		*tenant;	/* only claims whose tenant link is this */
	char		**fields;	/* properties sent; none: all */
	size_t		 nfields;
};
int		 config_outbox_load(struct config *, json_object *,
		    json_object *, const char *, char *, size_t);
void		 config_outbox_free(struct config *);
const struct sinkconf *config_sink(const struct config *, const char *);

/*
 * outbox.c: the transactional outbox and the change feed.  outbox_on_claim
 * is the ledger's on_claim hook: it runs in the writer's transaction and
 * records the change (changes table).  outbox_fill takes the feed into
 * the state each subscribed sink should reach (outbox table), at the
 * sink's pace, with a cursor per sink.  The rest is the policy push.c applies
 * (backoff, token bucket, message ids) and the row operations that the
 * writer (acknowledgements) and milepost outbox (retry, replay) run.
 */
struct outbox;
struct outbox_row {
	char		*sink;
	char		*type;
	char		*id;
	char		*want;		/* JSON of the state to reach */
	int64_t		 want_rev;
	int64_t		 want_at;
	char		*links;
	char		*acked;		/* JSON, or NULL: never acknowledged */
	int64_t		 acked_rev;
	char		*etag;
	char		*status;	/* pending, done, dead */
	int64_t		 attempts;
	int64_t		 next_at;
	char		*last_error;
	int64_t		 gen;		/* replays of a delivered state */
};
enum outbox_result {
	OUTBOX_DONE = 0,	/* acked := the state sent */
	OUTBOX_RETRY,		/* attempts, next_at, error */
	OUTBOX_DEAD,		/* dead-lettered */
	OUTBOX_DISABLE,		/* 410: the sink is disabled */
};
struct outbox_ack {
	enum outbox_result result;
	char		*sink, *type, *id;
	char		*sent;		/* the state the sink now has */
	int64_t		 sent_rev;
	char		*etag;
	int64_t		 attempts;
	int64_t		 next_at;
	char		*error;
	int64_t		 now;
};
struct outbox_fill {
	size_t		 read;		/* feed entries taken */
	int		 more;		/* the limit was reached */
	int64_t		 cursor;	/* the sink's cursor now */
	int64_t		 pending;	/* its pending rows (capped) */
};
struct outbox	*outbox_new(const struct config *, struct ledger *, char *,
		    size_t);
int		 outbox_fill(struct ledger *, struct outbox *, const char *,
		    size_t, int64_t, struct outbox_fill *);
int64_t		 outbox_head(struct outbox *);
int64_t		 outbox_pending(struct ledger *, const char *, int64_t);
int		 outbox_backlog(struct ledger *, const char *,
		    void (*)(const char *, int64_t, void *), void *);
void		 outbox_free(struct outbox *);
int		 outbox_schema(struct ledger *, char *, size_t);
int		 outbox_on_claim(struct ledger *, const struct claim *, void *);
int		 outbox_ack_apply(struct ledger *, const struct outbox_ack *);
void		 outbox_ack_clear(struct outbox_ack *);
void		 outbox_row_clear(struct outbox_row *);
int		 outbox_due(struct ledger *, const char *, int64_t, size_t,
		    int (*)(const struct outbox_row *, void *), void *);
int		 outbox_list(struct ledger *, const char *, const char *,
		    int (*)(const struct outbox_row *, void *), void *);
int		 outbox_disabled(struct ledger *, const char *);
int64_t		 outbox_retry(struct ledger *, const char *, const char *,
		    const char *);
int64_t		 outbox_replay(struct ledger *, const char *, int64_t);
int		 outbox_changes(struct ledger *, int64_t, size_t,
		    const char *, json_object *, int64_t *);
void		 outbox_msgid(const struct outbox_row *, char *, size_t);
int64_t		 outbox_backoff(double, double, int64_t, uint32_t);
int64_t		 outbox_retry_after(const char *, int64_t);
struct tbucket {
	double		 rate;		/* tokens per second; 0: unlimited */
	double		 burst;
	double		 tokens;
	int64_t		 last;		/* microseconds */
};
void		 tbucket_init(struct tbucket *, double, double, int64_t);
int64_t		 tbucket_take(struct tbucket *, int64_t);

/* access.c: what each token role may do, and tenant visibility */
enum access {
	ACCESS_EVIDENCE_READ = 0,	/* GET /v1/evidence: raw evidence */
	ACCESS_CLAIM_READ,		/* claims, deployments, releases,
					   milestones, metrics, changes */
	ACCESS_OVERRIDE,		/* POST /v1/deployments/{id}/status */
	ACCESS_OUTBOX,			/* outbox list, retry, replay */
	ACCESS_TOKENS,			/* GET /v1/tokens */
	ACCESS_MAX
};
int		 access_allowed(enum role, enum access);
const char	*access_name(enum access);
int		 access_tenant_visible(const struct token *, json_object *);
int		 access_claim_visible(const struct token *,
		    const struct claim *);

/* redact.c: the attribute-based redaction policy, per role */
struct redaction;
struct redaction *redact_new(void);
void		 redact_free(struct redaction *);
int		 redact_load(struct redaction *, json_object *, const char *,
		    char *, size_t);
int		 redact_pattern_ok(const char *, char *, size_t);
size_t		 redact_apply(const struct redaction *, enum role,
		    json_object *);
size_t		 redact_claim(const struct redaction *, const struct token *,
		    json_object *);
size_t		 redact_count(const struct redaction *, enum role);

/* rate.c: per-token request rate limits */
struct rate_bucket {
	double		tokens;
	int64_t		last;		/* microseconds, monotonic */
	int		primed;
};
int		 rate_take(struct rate_bucket *, const struct rate_conf *,
		    int64_t, int64_t *);
double		 rate_level(const struct rate_bucket *, const struct rate_conf *,
		    int64_t);
int		 rate_parse(json_object *, double *);
void		 rate_format(double, char *, size_t);

#endif /* MILEPOST_H */
