/*
 * config/config.h: the configuration file, the top of the library.  One
 * YAML (or JSON) file becomes one immutable struct config: each section
 * is parsed by the layer that owns it (evidence types by record/, claims,
 * computed claims, deployments and milestones by derive/, redaction by
 * access/), and this folder holds the sections no lower layer owns
 * (listen, ledger, limits, tokens, sources, sinks and subscriptions, and
 * the service catalog, whose data model is record/'s).
 * Every error is "file:line: key: reason".
 *
 * Rule: config/ may include every layer below it (util, record, store,
 * derive, outbox, access) and the source and sink contracts; nothing in
 * the library includes config/.
 */
#ifndef MP_CONFIG_H
#define MP_CONFIG_H

#include <stdatomic.h>

#include "access/access.h"
#include "derive/derive.h"
#include "outbox/outbox.h"
#include "plugins/source.h"
#include "sinks/sink.h"

/* The shortest HMAC key accepted, in bytes (RFC 2104: at least the
 * output's half; every secret, whsec_ or raw, is held to it). */
#define CONFIG_KEYMIN	16

struct limits {
	size_t		max_body;	/* bytes, POST bodies */
	size_t		max_headers;	/* bytes, all request headers */
	unsigned	max_connections;
	unsigned	timeout;	/* seconds, per read/write */
	unsigned	header_timeout;	/* seconds, first byte to headers */
	unsigned	body_timeout;	/* seconds, headers to whole body */
	unsigned	max_per_ip;	/* concurrent connections per address */
	size_t		queue_max;	/* evidence waiting for the writer */
	size_t		batch_max;	/* evidence per transaction */
	int64_t		max_future_skew;	/* microseconds ahead of now */
	int64_t		max_lateness;	/* behind a source's watermark; 0: off */
};
/* access_log: one line per request, written off the loop (access-log.c) */
struct access_log_conf {
	char		*path;		/* NULL: off; "stderr", or a file */
	int		 json;		/* JSON lines, else plain */
	size_t		 buffer;	/* bytes held for the writer thread */
};
/* listen: one listener; TLS when cert is set (receiver/tls.c) */
struct listen_conf {
	char		*address;	/* "host:port" */
	char		*cert, *key;	/* PEM files, or NULL: plain HTTP */
	char		*client_ca;	/* PEM: client certificates required */
};
/* status_pages: one public page per tenant named (config-web.c) */
#define STATUS_F_MILESTONES	0x01
#define STATUS_F_PROGRESS	0x02
#define STATUS_F_PREDICTED	0x04
#define STATUS_F_DELIVERY	0x08
#define STATUS_F_SERVICES	0x10
#define STATUS_F_SINCE		0x20
#define STATUS_F_INCIDENTS	0x40
#define STATUS_F_ALL		0x7f
struct status_page {
	char		*tenant;
	char		*title;		/* or NULL */
	unsigned	 fields;	/* STATUS_F_… */
};
/* dashboard: the sign-in sessions (config-web.c; 0: the defaults) */
#define DASHBOARD_TTL		(12 * 3600)	/* seconds */
#define DASHBOARD_SESSIONS	1024
struct dashboard_conf {
	int64_t		 session_ttl;	/* seconds */
	size_t		 sessions;	/* at most, at once */
};

struct config {
	atomic_int	 refs;		/* config_ref; config_free drops one */
	char		*path;
	char		*listen;	/* listens[0].address */
	struct listen_conf *listens;	/* config-listen.c */
	size_t		 nlistens;
	char		*user;		/* user: drop to it, or NULL */
	char		*ledger;
	int		 ledger_mode;	/* 0600, or 0640 (ledger_mode:) */
	int		 verify_on_start;	/* milepostd --verify-on-start */
	struct stdwh_key *agent_keys;
	size_t		 nagent_keys;
	struct token	*tokens;
	size_t		 ntokens;
	struct limits	 limits;
	struct access_log_conf access_log;
	struct types	*types;		/* evidence types */
	struct rules	*rules;		/* claims, computed, deployments */
	struct source_conf *sources;	/* by source_index(); NULL: off */
	struct rate_conf rate;		/* rate: per-token defaults */
	struct redaction *redaction;	/* redaction: per role (redact.c) */
	struct milestone_conf *milestones;	/* never NULL once loaded */
	struct sinkconf	*sinks;		/* config-outbox.c */
	size_t		 nsinks;
	struct subscription *subs;
	size_t		 nsubs;
	struct catalog	*catalog;	/* config-services.c; never NULL */
	unsigned char	*alias_refuse;	/* by source_index(); agent last */
	struct status_page *status_pages;	/* config-web.c; none: off */
	struct dashboard_conf dashboard;	/* config-web.c */
	size_t		 nstatus_pages;
	json_object	*tree;		/* the whole file, owned */
};

/* config.c */
struct config	*config_load(const char *, char *, size_t);
struct config	*config_default(void);
void		 config_mode_warn(const struct config *);
void		 config_free(struct config *);
struct config	*config_ref(struct config *);
enum role	 config_token_role(const struct config *, const char *,
		    const struct token **);
const struct source_conf *config_source(const struct config *,
		    const struct mp_source *);

/* config-listen.c: listen: (plain or TLS listeners) and user: */
int		 config_listen_load(struct config *, json_object *,
		    const char *, char *, size_t);
int		 config_listen_user(struct config *, json_object *,
		    const char *, char *, size_t);
int		 config_listen_address_ok(const char *);
int		 config_listen_loopback(const char *);
void		 config_listen_free(struct config *);

/* config-outbox.c: the sinks: and subscriptions: settings */
int		 config_outbox_load(struct config *, json_object *,
		    json_object *, const char *, char *, size_t);
void		 config_outbox_free(struct config *);
const struct sinkconf *config_sink(const struct config *, const char *);

/* config-slos.c: slos: (derive/slo-conf.c), checked against the catalog */
int		 config_slos_load(struct config *, json_object *, const char *,
		    char *, size_t);

/* config-services.c: tenants:, environments:, services: (the catalog) */
int		 config_services_load(struct config *, json_object *,
		    const char *, char *, size_t);
void		 config_services_free(struct config *);
int		 config_alias_refuse(const struct config *,
		    const struct mp_source *);

/* config-web.c: status_pages: (public status pages, off by default) and
 * dashboard: (its sessions) */
int		 config_web_load(struct config *, json_object *, const char *,
		    char *, size_t);
void		 config_web_free(struct config *);
const struct status_page *config_status_page(const struct config *,
		    const char *);

#endif /* MP_CONFIG_H */
