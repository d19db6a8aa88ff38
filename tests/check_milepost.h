/*
 * check_milepost.h: the unit test suites of libmilepost, one per module,
 * gathered by check_main.c into one runner.
 */
#ifndef CHECK_MILEPOST_H
#define CHECK_MILEPOST_H

#include <check.h>

/* check_stdwh.c */
Suite	*make_stdwh_suite(void);

/* check_time.c */
Suite	*make_time_suite(void);

/* check_config.c */
Suite	*make_config_suite(void);

/* check_evidence.c */
Suite	*make_evidence_suite(void);

/* check_ledger.c */
Suite	*make_ledger_suite(void);

/* check_computed.c */
Suite	*make_computed_suite(void);

/* check_engine.c */
Suite	*make_engine_suite(void);
Suite	*make_deploy_suite(void);

/* check_access.c, check_redact.c, check_rate.c */
Suite	*make_access_suite(void);
Suite	*make_redact_suite(void);
Suite	*make_rate_suite(void);
/* check_milestone.c */
Suite	*make_milestone_suite(void);

/* check_slo.c */
Suite	*make_slo_suite(void);

/* check_catalog.c */
Suite	*make_catalog_suite(void);

/* check_outbox.c */
Suite	*make_outbox_suite(void);

/* check_sql.c: sqlite3(1) on a ledger file, from outside the library */
#define TSQL_OK	0
int	 tsql_run(const char *, const char *, char *, size_t);
int64_t	 tsql_int(const char *, const char *);

#endif /* CHECK_MILEPOST_H */
