/*
 * check_main.c: the one runner for the unit tests.  Every suite runs in
 * CK_FORK mode (the default), so a crashing test fails alone; the exit
 * status is 1 when any test failed.
 */
#include <stdlib.h>

#include "check_milepost.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(make_stdwh_suite());
	srunner_add_suite(sr, make_time_suite());
	srunner_add_suite(sr, make_config_suite());
	srunner_add_suite(sr, make_evidence_suite());
	srunner_add_suite(sr, make_ledger_suite());
	srunner_add_suite(sr, make_computed_suite());
	srunner_add_suite(sr, make_engine_suite());
	srunner_add_suite(sr, make_access_suite());
	srunner_add_suite(sr, make_redact_suite());
	srunner_add_suite(sr, make_rate_suite());
	srunner_add_suite(sr, make_milestone_suite());
	srunner_add_suite(sr, make_deploy_suite());
	srunner_add_suite(sr, make_outbox_suite());
	srunner_add_suite(sr, make_catalog_suite());
	srunner_add_suite(sr, make_slo_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed ? 1 : 0);
}
