/*
 * access/access.h: the read side.  Token roles and what each may do, a
 * tenant's visibility of an object, the redaction policy per role, and the
 * read-side queries (delivery metrics) computed over a read-only ledger.
 *
 * Rule: access/ includes util/, record/ and store/ (the facade); never
 * derivation, the outbox or configuration.
 */
#ifndef MP_ACCESS_H
#define MP_ACCESS_H

#include "store/store.h"

enum role {
	ROLE_NONE = 0,
	ROLE_CLIENT,
	ROLE_READER,
	ROLE_WRITER,
	ROLE_OPERATOR,
	ROLE_ADMIN,
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
const char	*access_role_name(enum role);
int		 access_role_parse(const char *, enum role *);

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
size_t		 redact_apply_keep(const struct redaction *, enum role,
		    json_object *, const char **);
int		 redact_allowed(const struct redaction *, enum role,
		    const char **, const char **, size_t);
size_t		 redact_count(const struct redaction *, enum role);
size_t		 redact_allow_count(const struct redaction *, enum role);

/* present.c: the one builder of what a client audience sees */
json_object	*present_view(const struct redaction *, enum role,
		    json_object *);
int		 present_inplace(const struct redaction *, enum role,
		    json_object *);
void		 present_public_id(const char *, const char *, char *, size_t);
int		 present_is_public_id(const char *);

/* dora.c: delivery metrics, computed on read (read-only ledger) */
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


#endif /* MP_ACCESS_H */
