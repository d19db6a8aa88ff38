/*
 * plugins/source.h: the contract of an inbound source.  Each tool's
 * adapter is one const struct mp_source in plugins/<tool>/<tool>.c,
 * gathered in plugins/plugins.c.  A source sees a neutral request (raw
 * body, header lookup), so that it can be fuzzed without an HTTP server,
 * and returns evidence objects as JSON; the receiver validates and stores
 * them.
 *
 * Rule: a plugin includes this header and nothing else of the project (it
 * brings util/util.h).  It never sees the ledger, the configuration's
 * other sections, or another plugin.
 */
#ifndef MP_SOURCE_H
#define MP_SOURCE_H

#include "util/util.h"

/* source.c: the request, the secrets, and the helpers every source uses */
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
void		 source_build(json_object *, json_object *, const char *);
const char	*source_str(json_object *, const char *);
void		 source_message_keys(json_object *, const char *);


#endif /* MP_SOURCE_H */
