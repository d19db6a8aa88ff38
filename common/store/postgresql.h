/*
 * store/postgresql.h: what the PostgreSQL backend's two files share.
 * Private to store/: postgresql.c holds the connection, the schema and
 * its migrations, the evidence, the chain and the claims;
 * postgresql-outbox.c the change feed, the outbox rows and the sink
 * cursors, on the same connection so that they commit in the evidence's
 * transaction.  Only store/ includes libpq-fe.h.
 */
#ifndef MP_STORE_POSTGRESQL_H
#define MP_STORE_POSTGRESQL_H

#include <libpq-fe.h>

#include "store/backend.h"

#define PG_MAXARGS	16

/* The parameters of one statement, all sent as text but blobs. */
struct pgargs {
	const char	*v[PG_MAXARGS];
	int		 len[PG_MAXARGS];
	int		 fmt[PG_MAXARGS];
	char		 num[PG_MAXARGS][24];
	int		 n;
};

/* postgresql.c */
void		 pg_arg_text(struct pgargs *, const char *);
void		 pg_arg_int(struct pgargs *, int64_t);
void		 pg_arg_bin(struct pgargs *, const void *, size_t);
PGresult	*pg_run(struct ledger *, const char *, struct pgargs *, int);
int		 pg_exec(struct ledger *, const char *);
int		 pg_in_txn(struct ledger *);
int		 pg_cmd(struct ledger *, const char *, struct pgargs *);
int64_t		 pg_int(const PGresult *, int, int);
void		 pg_feed_changed(struct ledger *);
char		*pg_dup(const PGresult *, int, int);
const char	*pg_val(const PGresult *, int, int);

/* postgresql-outbox.c */
extern const char	*pgob_schema_v1;
int64_t		 pgob_feed_append(struct ledger *, const struct change *);
int64_t		 pgob_feed_head(struct ledger *);
int		 pgob_feed_scan(struct ledger *, int64_t, size_t,
		    const char *, int (*)(const struct change *, void *),
		    void *);
int		 pgob_cursor_get(struct ledger *, const char *, int64_t *,
		    char [MP_HASHLEN]);
int		 pgob_cursor_set(struct ledger *, const char *, int64_t,
		    const char *);
int		 pgob_cursor_forget(struct ledger *, const char *,
		    void (*)(const char *));
int		 pgob_upsert(struct ledger *, const char *, const char *,
		    const char *, const char *, size_t, int64_t, int64_t,
		    const char *);
int64_t		 pgob_pending(struct ledger *, const char *, int64_t);
int		 pgob_stats(struct ledger *, const char *,
		    struct outbox_stats *);
int		 pgob_backlog(struct ledger *, const char *,
		    void (*)(const char *, int64_t, void *), void *);
int		 pgob_due(struct ledger *, const char *, int64_t, size_t,
		    ledger_row_cb, void *);
int		 pgob_list(struct ledger *, const char *, const char *,
		    ledger_row_cb, void *);
int		 pgob_disabled(struct ledger *, const char *);
int		 pgob_ack(struct ledger *, const struct outbox_ack *);
int64_t		 pgob_retry(struct ledger *, const char *, const char *,
		    const char *);
int64_t		 pgob_replay(struct ledger *, const char *, int64_t);

#endif /* MP_STORE_POSTGRESQL_H */
