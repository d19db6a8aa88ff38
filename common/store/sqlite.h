/*
 * store/sqlite.h: what the SQLite backend's two files share.  Private to
 * store/: sqlite.c holds the connection, the evidence, the chain and the
 * claims; sqlite-outbox.c the change feed, the outbox rows and the sink
 * cursors, in the same database so that they commit in the evidence's
 * transaction.
 */
#ifndef MP_STORE_SQLITE_H
#define MP_STORE_SQLITE_H

#include <sqlite3.h>

#include "store/backend.h"

/* sqlite.c */
sqlite3		*lite_db(struct ledger *);
void		**lite_outbox_priv(struct ledger *);

/* sqlite-outbox.c */
int		 liteob_schema(struct ledger *);
void		 liteob_close(struct ledger *);
int64_t		 liteob_feed_append(struct ledger *, const struct change *);
int		 liteob_feed_scan(struct ledger *, int64_t, size_t,
		    const char *, int (*)(const struct change *, void *),
		    void *);
int		 liteob_cursor_get(struct ledger *, const char *, int64_t *,
		    char [MP_HASHLEN]);
int		 liteob_cursor_set(struct ledger *, const char *, int64_t,
		    const char *);
int		 liteob_cursor_forget(struct ledger *, const char *,
		    void (*)(const char *));
int		 liteob_upsert(struct ledger *, const char *, const char *,
		    const char *, const char *, size_t, int64_t, int64_t,
		    const char *);
int64_t		 liteob_pending(struct ledger *, const char *, int64_t);
int		 liteob_stats(struct ledger *, const char *,
		    struct outbox_stats *);
int		 liteob_backlog(struct ledger *, const char *,
		    void (*)(const char *, int64_t, void *), void *);
int		 liteob_due(struct ledger *, const char *, int64_t, size_t,
		    ledger_row_cb, void *);
int		 liteob_list(struct ledger *, const char *, const char *,
		    ledger_row_cb, void *);
int		 liteob_disabled(struct ledger *, const char *);
int		 liteob_ack(struct ledger *, const struct outbox_ack *);
int64_t		 liteob_retry(struct ledger *, const char *, const char *,
		    const char *);
int64_t		 liteob_replay(struct ledger *, const char *, int64_t);

#endif /* MP_STORE_SQLITE_H */
