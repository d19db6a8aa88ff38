/*
 * sinks/sink.h: the contract of an outbound sink.  A sink turns one push
 * (the object's wanted state, the state the sink last acknowledged, and
 * the merge patch between them) into one HTTP request; the receiver's
 * push.c sends it.  Each sink is one file, sinks/<name>.c, exporting one
 * const struct sink, gathered in sink_table (sink.c).
 *
 * Rule: a sink includes this header and nothing else of the project (it
 * brings util/util.h).  It never sees the ledger, the configuration or
 * another sink.
 */
#ifndef MP_SINK_H
#define MP_SINK_H

#include "util/util.h"

struct sink;

/* One configured sink (sinks: in the configuration file). */
struct sinkconf {
	char		*name;
	const struct sink *impl;
	char		*url;		/* may hold {type}, {id}, {link:X},
					   {prop:X} in its path and query */
	struct stdwh_key *keys;		/* whsec_: v1 signatures */
	size_t		 nkeys;
	unsigned char	 ed25519[32];	/* whsk_: the v1a private key seed */
	int		 has_ed25519;
	char		*token;		/* Authorization: Bearer */
	char		*repo;		/* github: owner/name */
	struct rate_conf rate;		/* pushes per second (0: unlimited), burst */
	unsigned	 max_in_flight;
	unsigned	 max_attempts;
	double		 timeout;	/* seconds */
	double		 retry_base;	/* seconds */
	double		 retry_max;
};
/* sink.c and sinks/<name>.c */
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
enum sink_verdict sink_classify_curl(int);
int		 sink_url_check(const char *, char *, size_t);
void		 sink_http_clear(struct sink_http *);
void		 sink_http_header(struct sink_http *, const char *, ...)
		    MP_PRINTF(2, 3);
void		 sink_body_json(struct sink_http *, json_object *);
const char	*sink_prop(const struct sink_msg *, const char *);
const char	*sink_link(const struct sink_msg *, const char *);
char		*sink_expand(const char *, const struct sink_msg *);
char		*sink_encode(const char *);
int		 sink_template_check(const char *, char *, size_t);
int		 sink_state_changed(const struct sink_msg *);
int		 sink_ed25519_sign(const unsigned char *, const char *,
		    int64_t, const void *, size_t, char *, size_t);
extern const struct sink sink_webhook;
extern const struct sink sink_mergepatch;
extern const struct sink sink_github;
char		*github_path(const char *, const char *);
extern const struct sink sink_opslevel;
extern const struct sink sink_cortex;


#endif /* MP_SINK_H */
