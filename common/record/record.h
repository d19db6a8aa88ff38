/*
 * record/record.h: what Milepost records.  Evidence types (the registry and
 * the coercion of values to canonical form), the evidence record (its JSON
 * codec, canonical form and chain hash), and the claim revision as stored.
 *
 * The service catalog (catalog.c) is here too: a lookup both the receiver
 * and derivation need, with no storage behind it.
 *
 * Rule: record/ includes util/ and nothing else of the project.  It knows
 * nothing of storage or derivation: a record is data and its checks.
 */
#ifndef MP_RECORD_H
#define MP_RECORD_H

#include "util/util.h"

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
struct types {
	struct evtype	*ev;
	size_t		 nev;
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
/*
 * The one builder of a revision's basis: what it rests on, as JSON
 * objects {"id": evidence id, "seq": N} or {"claim": "Type/id",
 * "revision": N}, at most max of them (the rest are counted in dropped).
 * basis_json returns the array (taken), with {"more": dropped} last when
 * more is set and some were dropped.
 */
struct basis {
	struct buf	 b;		/* the objects, comma separated */
	size_t		 n;
	size_t		 max;
	size_t		 dropped;
};
void		 basis_init(struct basis *, size_t);
void		 basis_free(struct basis *);
void		 basis_reset(struct basis *);	/* empty, the same max */
void		 basis_add_ev(struct basis *, const char *, int64_t);
void		 basis_add_claim(struct basis *, const char *, const char *,
		    int64_t);
void		 basis_add_json(struct basis *, const char *);
void		 basis_append(struct basis *, const struct basis *);
char		*basis_json(const struct basis *, int);
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

/*
 * catalog.c: the service catalog (tenants:, environments:, services:),
 * filled by the configuration and read by the receiver (resolution before
 * storage) and derivation.  Every lookup is one hash probe (catalog_index
 * builds the table once).  catalog_*_ok answer 1 when the catalog does not
 * declare that kind of name at all.
 */
extern const char *const catalog_tools[];	/* NULL-terminated */
struct catalias {
	char		*tool;		/* one of catalog_tools */
	int		 by_id;		/* id: rather than name: */
	char		*name;
	char		*environment;	/* pinned, or NULL */
};
struct catservice {
	char		*name;		/* canonical */
	char		**tenants;
	size_t		  ntenants;
	char		*team;		/* or NULL */
	int		 tier;		/* 1 = highest; 0: not set */
	char		**depends_on;
	size_t		  ndepends_on;
	char		*default_environment;	/* of its incidents, or NULL */
	struct catalias	*aliases;
	size_t		 naliases;
};
struct catslot;
struct catalog {
	char		**tenants;
	size_t		  ntenants;
	char		**environments;
	size_t		  nenvironments;
	struct catservice *services;
	size_t		  nservices;
	struct catslot	*slots;		/* the hash table, catalog_index */
	size_t		  nslots;
};
enum catalog_result {
	CAT_NOTHING = 0,	/* nothing to resolve, or no catalog */
	CAT_RESOLVED,
	CAT_MISS,		/* names none of the catalog's aliases */
};
struct catalog	*catalog_new(void);
void		 catalog_free(struct catalog *);
struct catservice *catalog_add_service(struct catalog *, const char *);
void		 catalog_add_alias(struct catservice *, const char *, int,
		    const char *, const char *);
int		 catalog_index(struct catalog *, char *, size_t);
const struct catservice *catalog_service(const struct catalog *,
		    const char *);
const struct catalias *catalog_alias(const struct catalog *, const char *,
		    int, const char *, const struct catservice **);
int		 catalog_tool_ok(const char *);
int		 catalog_tenant_ok(const struct catalog *, const char *);
int		 catalog_environment_ok(const struct catalog *, const char *);
int		 catalog_service_ok(const struct catalog *, const char *);
const char	**catalog_service_names(const struct catalog *, size_t *);
enum catalog_result catalog_resolve(const struct catalog *, const char *,
		    json_object *, char *, size_t);

#endif /* MP_RECORD_H */
