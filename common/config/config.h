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

#include "access/access.h"
#include "derive/derive.h"
#include "outbox/outbox.h"
#include "plugins/source.h"
#include "sinks/sink.h"

struct limits {
	size_t		max_body;	/* bytes, POST bodies */
	size_t		max_headers;	/* bytes, all request headers */
	unsigned	max_connections;
	unsigned	timeout;	/* seconds, per read/write */
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
struct config {
	char		*path;
	char		*listen;
	char		*ledger;
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
	json_object	*tree;		/* the whole file, owned */
};

/* config.c */
struct config	*config_load(const char *, char *, size_t);
struct config	*config_default(void);
void		 config_free(struct config *);
enum role	 config_token_role(const struct config *, const char *,
		    const struct token **);
const struct source_conf *config_source(const struct config *,
		    const struct mp_source *);

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

#endif /* MP_CONFIG_H */
