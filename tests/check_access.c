/*
 * check_access.c: the permission table and tenant visibility (access.c).
 */
#include <stdlib.h>
#include <string.h>

#include "milepost.h"
#include "check_milepost.h"

/* The table as docs/http-api.md documents it, role by role. */
START_TEST(test_access_table)
{
	static const struct {
		enum access	a;
		const char	*allowed;	/* initials: c r w o a */
	} want[] = {
		{ ACCESS_EVIDENCE_READ, "rwoa" },
		{ ACCESS_CLAIM_READ, "crwoa" },
		{ ACCESS_OVERRIDE, "oa" },
		{ ACCESS_OUTBOX, "oa" },
		{ ACCESS_TOKENS, "a" },
	};
	static const struct {
		enum role	r;
		char		c;
	} roles[] = {
		{ ROLE_CLIENT, 'c' }, { ROLE_READER, 'r' }, { ROLE_WRITER, 'w' },
		{ ROLE_OPERATOR, 'o' }, { ROLE_ADMIN, 'a' },
	};
	size_t	i, j;

	ck_assert_uint_eq(sizeof(want) / sizeof(want[0]), ACCESS_MAX);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		for (j = 0; j < sizeof(roles) / sizeof(roles[0]); j++)
			ck_assert_msg(access_allowed(roles[j].r, want[i].a) ==
			    (strchr(want[i].allowed, roles[j].c) != NULL),
			    "%s by %s", access_name(want[i].a),
			    access_role_name(roles[j].r));
		ck_assert_int_eq(access_allowed(ROLE_NONE, want[i].a), 0);
	}
	ck_assert_int_eq(access_allowed(ROLE_ADMIN, ACCESS_MAX), 0);
	ck_assert_int_eq(access_allowed((enum role)99, ACCESS_CLAIM_READ), 0);
}
END_TEST

/* A reader may not override a deployment; an operator and an admin may. */
START_TEST(test_access_override)
{
	ck_assert_int_eq(access_allowed(ROLE_READER, ACCESS_OVERRIDE), 0);
	ck_assert_int_eq(access_allowed(ROLE_WRITER, ACCESS_OVERRIDE), 0);
	ck_assert_int_eq(access_allowed(ROLE_CLIENT, ACCESS_OVERRIDE), 0);
	ck_assert_int_eq(access_allowed(ROLE_OPERATOR, ACCESS_OVERRIDE), 1);
	ck_assert_int_eq(access_allowed(ROLE_ADMIN, ACCESS_OVERRIDE), 1);
	ck_assert_str_eq(access_name(ACCESS_OVERRIDE), "override a deployment");
}
END_TEST

START_TEST(test_access_tenant)
{
	struct token	 client = { .role = ROLE_CLIENT, .tenant = "acme" };
	struct token	 reader = { .role = ROLE_READER };
	json_object	*mine, *theirs, *none, *num;

	mine = json_tokener_parse("{\"tenant\":\"acme\",\"repo\":\"x\"}");
	theirs = json_tokener_parse("{\"tenant\":\"globex\"}");
	none = json_tokener_parse("{\"repo\":\"x\"}");
	num = json_tokener_parse("{\"tenant\":7}");
	ck_assert_int_eq(access_tenant_visible(&client, mine), 1);
	ck_assert_int_eq(access_tenant_visible(&client, theirs), 0);
	ck_assert_int_eq(access_tenant_visible(&client, none), 0);
	ck_assert_int_eq(access_tenant_visible(&client, num), 0);
	ck_assert_int_eq(access_tenant_visible(&client, NULL), 0);
	ck_assert_int_eq(access_tenant_visible(&reader, theirs), 1);
	ck_assert_int_eq(access_tenant_visible(&reader, NULL), 1);
	ck_assert_int_eq(access_tenant_visible(NULL, mine), 0);
	json_object_put(mine);
	json_object_put(theirs);
	json_object_put(none);
	json_object_put(num);
}
END_TEST

START_TEST(test_access_claim)
{
	struct token	client = { .role = ROLE_CLIENT, .tenant = "acme" };
	struct token	admin = { .role = ROLE_ADMIN };
	struct claim	c = { .type = "Milestone", .id = "M-1" };

	c.links = "{\"tenant\":\"acme\"}";
	ck_assert_int_eq(access_claim_visible(&client, &c), 1);
	c.links = "{\"tenant\":\"acme-corp\"}";
	ck_assert_int_eq(access_claim_visible(&client, &c), 0);
	ck_assert_int_eq(access_claim_visible(&admin, &c), 1);
	c.links = "{}";
	ck_assert_int_eq(access_claim_visible(&client, &c), 0);
	c.links = NULL;
	ck_assert_int_eq(access_claim_visible(&client, &c), 0);
	c.links = "not json";
	ck_assert_int_eq(access_claim_visible(&client, &c), 0);
}
END_TEST

Suite *
make_access_suite(void)
{
	Suite	*s = suite_create("access");
	TCase	*tc = tcase_create("roles");

	tcase_add_test(tc, test_access_table);
	tcase_add_test(tc, test_access_override);
	tcase_add_test(tc, test_access_tenant);
	tcase_add_test(tc, test_access_claim);
	suite_add_tcase(s, tc);
	return (s);
}
