/*
 * check_redact.c: the redaction policy (redact.c): built-in patterns for
 * clients, configured patterns, globs, "**", arrays, and the
 * configuration's rate and redaction keys as config_load reads them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milepost.h"
#include "check_milepost.h"

/* A deployment-like claim with people, messages and notes at every depth. */
static const char *claim_text =
    "{\"type\":\"Deployment\",\"id\":\"shop/prod/9fceb02\","
    "\"properties\":{\"state\":\"deployed\",\"actor\":\"alice\","
    "\"message\":\"fix: leak\",\"commitMessage\":\"x\",\"Author\":\"bob\","
    "\"deployer\":\"carol\",\"reason\":\"green\",\"service\":\"shop\","
    "\"deltas\":[{\"reason\":\"late\",\"notes\":\"customer angry\","
    "\"basis\":[{\"id\":\"e1\",\"seq\":3,\"author_email\":\"a@x\"}]}],"
    "\"components\":[{\"service\":\"cart\",\"assignee\":\"dan\"}]},"
    "\"links\":{\"tenant\":\"acme\",\"author\":\"alice\","
    "\"commit\":\"9fceb02\",\"url\":\"https://ci.internal/1\"},"
    "\"basis\":[{\"id\":\"e1\",\"seq\":3}],\"revision\":2}";

/* The last response re-serialised, for comparisons. */
static const char *
str(json_object *o)
{
	return (json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

START_TEST(test_redact_builtin_client)
{
	struct redaction	*rd = redact_new();
	struct token		 client = { .role = ROLE_CLIENT, .tenant = "acme" };
	json_object		*o = json_tokener_parse(claim_text);

	ck_assert_ptr_nonnull(o);
	ck_assert_uint_gt(redact_count(rd, ROLE_CLIENT), 10);
	ck_assert_uint_eq(redact_count(rd, ROLE_READER), 0);
	ck_assert_uint_eq(redact_claim(rd, &client, o), 10);
	ck_assert_str_eq(str(o),
	    "{\"type\":\"Deployment\",\"id\":\"shop\\/prod\\/9fceb02\","
	    "\"properties\":{\"state\":\"deployed\",\"reason\":\"green\","
	    "\"service\":\"shop\",\"deltas\":[{\"reason\":\"late\","
	    "\"basis\":[{\"id\":\"e1\",\"seq\":3}]}],"
	    "\"components\":[{\"service\":\"cart\"}]},"
	    "\"links\":{\"tenant\":\"acme\",\"commit\":\"9fceb02\"},"
	    "\"basis\":[{\"id\":\"e1\",\"seq\":3}],\"revision\":2}");
	/* Idempotent. */
	ck_assert_uint_eq(redact_claim(rd, &client, o), 0);
	json_object_put(o);
	redact_free(rd);
}
END_TEST

START_TEST(test_redact_other_roles)
{
	struct redaction	*rd = redact_new();
	struct token		 reader = { .role = ROLE_READER };
	json_object		*o = json_tokener_parse(claim_text);
	char			*before = strdup(str(o));

	ck_assert_uint_eq(redact_claim(rd, &reader, o), 0);
	ck_assert_uint_eq(redact_claim(rd, NULL, o), 0);
	ck_assert_uint_eq(redact_apply(rd, ROLE_ADMIN, o), 0);
	ck_assert_str_eq(str(o), before);
	free(before);
	json_object_put(o);
	redact_free(rd);
}
END_TEST

START_TEST(test_redact_patterns)
{
	static const struct {
		const char	*p;
		int		 ok;
	} t[] = {
		{ "properties.message", 1 }, { "**.notes", 1 },
		{ "links.*author*", 1 }, { "basis", 1 }, { "a.**.b", 1 },
		{ "properties.[mn]*", 1 },
		{ "", 0 }, { ".x", 0 }, { "x.", 0 }, { "a..b", 0 },
		{ "**", 0 }, { "a.**", 0 }, { "**.a.**.b", 0 }, { "a**.b", 0 },
	};
	char	err[MP_ERRLEN];
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(redact_pattern_ok(t[i].p, err, sizeof(err)) ==
		    t[i].ok, "%s", t[i].p);
		if (!t[i].ok)
			ck_assert_msg(err[0] != '\0', "%s: no reason", t[i].p);
	}
	ck_assert_int_eq(redact_pattern_ok("properties.x", NULL, 0), 1);
}
END_TEST

/* Load text as the redaction: value into a fresh policy. */
static struct redaction *
policy(const char *yaml, char *err, size_t errlen)
{
	struct redaction	*rd = redact_new();
	json_object		*tree, *v;

	tree = yaml_parse(yaml, strlen(yaml), "t.yaml", err, errlen);
	ck_assert_ptr_nonnull(tree);
	ck_assert(json_object_object_get_ex(tree, "redaction", &v));
	if (redact_load(rd, v, "t.yaml", err, errlen) == -1) {
		redact_free(rd);
		rd = NULL;
	}
	json_object_put(tree);
	return (rd);
}

START_TEST(test_redact_configured)
{
	struct redaction	*rd;
	json_object		*o;
	char			 err[MP_ERRLEN];

	/* Added to the built-ins for clients; a reader gets its own. */
	rd = policy("redaction:\n"
	    "  client: { remove: [properties.service, basis] }\n"
	    "  reader: { remove: [\"links.commit\"] }\n", err, sizeof(err));
	ck_assert_msg(rd != NULL, "%s", err);
	o = json_tokener_parse(claim_text);
	redact_apply(rd, ROLE_CLIENT, o);
	ck_assert_str_eq(str(o),
	    "{\"type\":\"Deployment\",\"id\":\"shop\\/prod\\/9fceb02\","
	    "\"properties\":{\"state\":\"deployed\",\"reason\":\"green\","
	    "\"deltas\":[{\"reason\":\"late\","
	    "\"basis\":[{\"id\":\"e1\",\"seq\":3}]}],"
	    "\"components\":[{\"service\":\"cart\"}]},"
	    "\"links\":{\"tenant\":\"acme\",\"commit\":\"9fceb02\"},"
	    "\"revision\":2}");
	json_object_put(o);
	o = json_tokener_parse(claim_text);
	ck_assert_uint_eq(redact_apply(rd, ROLE_READER, o), 1);
	ck_assert(json_object_object_get_ex(o, "links", NULL));
	ck_assert_ptr_null(strstr(str(o), "9fceb02\"}"));
	json_object_put(o);
	redact_free(rd);

	/* builtin: false keeps only what is listed. */
	rd = policy("redaction:\n"
	    "  client: { builtin: false, remove: [\"**.deltas\"] }\n", err,
	    sizeof(err));
	ck_assert_msg(rd != NULL, "%s", err);
	ck_assert_uint_eq(redact_count(rd, ROLE_CLIENT), 1);
	o = json_tokener_parse(claim_text);
	ck_assert_uint_eq(redact_apply(rd, ROLE_CLIENT, o), 1);
	ck_assert_ptr_nonnull(strstr(str(o), "\"actor\":\"alice\""));
	ck_assert_ptr_null(strstr(str(o), "deltas"));
	json_object_put(o);
	redact_free(rd);
}
END_TEST

START_TEST(test_redact_config_errors)
{
	static const struct {
		const char	*yaml;
		const char	*want;
	} t[] = {
		{ "redaction: [x]\n", "t.yaml:1: redaction: must be a mapping" },
		{ "redaction:\n  guest: { remove: [x] }\n",
		    "t.yaml:2: redaction.guest: unknown role" },
		{ "redaction:\n  client: { drop: [x] }\n",
		    "redaction.client.drop: unknown key (remove, allow, builtin)" },
		{ "redaction:\n  client: { remove: x }\n",
		    "redaction.client.remove: must be a list" },
		{ "redaction:\n  client:\n    remove:\n      - a.b\n      - 7\n",
		    "t.yaml:5: redaction.client.remove[1]: must be a string" },
		{ "redaction:\n  client: { remove: [\"a..b\"] }\n",
		    "redaction.client.remove[0]: \"a..b\" has an empty segment" },
		{ "redaction:\n  client: { builtin: 1 }\n",
		    "redaction.client.builtin: must be true or false" },
	};
	struct redaction	*rd;
	char			 err[MP_ERRLEN];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		rd = policy(t[i].yaml, err, sizeof(err));
		ck_assert_msg(rd == NULL, "%s: accepted", t[i].yaml);
		ck_assert_msg(strstr(err, t[i].want) != NULL, "%s: [%s]",
		    t[i].yaml, err);
	}
}
END_TEST

/* Write text to a temporary file and config_load it. */
static struct config *
load(const char *text, char *err, size_t errlen)
{
	char		 path[] = "/tmp/check_redact_cfg.XXXXXX";
	struct config	*cf;
	FILE		*f;
	int		 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	cf = config_load(path, err, errlen);
	unlink(path);
	return (cf);
}

START_TEST(test_redact_config_rates)
{
	struct config	*cf;
	char		 err[MP_ERRLEN];

	cf = load("tokens:\n"
	    "  - { token: \"reader-token-0123456789\", role: reader }\n"
	    "  - { token: \"client-token-0123456789\", role: client, "
	    "tenant: acme, name: portal, rate: 600/min }\n"
	    "  - { token: \"admin-token-01234567890\", role: admin, "
	    "rate: \"off\", burst: 7 }\n"
	    "rate: { per_token: 5/s, burst: 9 }\n"
	    "redaction: { client: { remove: [properties.eta] } }\n",
	    err, sizeof(err));
	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert_uint_eq(cf->ntokens, 3);
	/* The defaults, given after the tokens, still reach them. */
	ck_assert(cf->tokens[0].rate.per_sec == 5 &&
	    cf->tokens[0].rate.burst == 9);
	ck_assert(cf->tokens[1].rate.per_sec == 10 &&
	    cf->tokens[1].rate.burst == 9);
	ck_assert_str_eq(cf->tokens[1].name, "portal");
	ck_assert(cf->tokens[2].rate.per_sec == 0 &&
	    cf->tokens[2].rate.burst == 7);
	ck_assert_uint_gt(redact_count(cf->redaction, ROLE_CLIENT), 10);
	config_free(cf);

	/* Without rate: the built-in defaults. */
	cf = load("tokens:\n"
	    "  - { token: \"reader-token-0123456789\", role: reader }\n",
	    err, sizeof(err));
	ck_assert_msg(cf != NULL, "%s", err);
	ck_assert(cf->tokens[0].rate.per_sec == 50 &&
	    cf->tokens[0].rate.burst == 100);
	config_free(cf);

	ck_assert_ptr_null(load("rate: { per_token: 5/fortnight }\n", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, ":1: rate.per_token: must be a "
	    "rate"));
	ck_assert_ptr_null(load("rate: { burst: 0 }\n", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "rate.burst: must be between 1"));
	ck_assert_ptr_null(load("rate: { limit: 3 }\n", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "rate.limit: unknown key"));
	ck_assert_ptr_null(load("tokens:\n"
	    "  - { token: \"reader-token-0123456789\", role: reader, "
	    "rate: fast }\n", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, ":2: tokens[0].rate: must be a "
	    "rate"));
	ck_assert_ptr_null(load("tokens:\n"
	    "  - { token: \"reader-token-0123456789\", role: reader, "
	    "name: \"\" }\n", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "tokens[0].name: must be a "
	    "non-empty string"));
}
END_TEST

/* A milestone claim as milestone.c stores it, with everything internal. */
static const char *milestone_text =
    "{\"type\":\"Milestone\",\"id\":\"M-1\",\"revision\":4,"
    "\"time\":\"2025-08-05T08:00:00Z\","
    "\"recorded_at\":\"2025-08-05T08:00:01Z\","
    "\"properties\":{\"title\":\"Checkout v2\","
    "\"description\":\"The new checkout\",\"state\":\"at_risk\","
    "\"progress\":80.0,\"done\":1,\"total\":1,"
    "\"due\":\"2025-08-31T23:59:59Z\",\"environment\":\"production\","
    "\"predicted\":\"2025-08-20\",\"cadence\":0.5,"
    "\"checkpoints\":[{\"key\":\"commit:9fceb02aa\",\"sha\":\"9fceb02aa\","
    "\"repo\":\"acme/shop\",\"branch\":\"main\",\"seq\":2}],"
    "\"deltas\":[{\"key\":\"incident:PD-9\",\"kind\":\"incident\","
    "\"reason\":\"incident PD-9 (critical) opened on shop: Secret title\","
    "\"weight\":-20.0,\"active\":true,\"time\":\"2025-08-05T08:00:00Z\","
    "\"basis\":[{\"id\":\"pd9.open\",\"seq\":6}]}],"
    "\"rejections\":[{\"reason\":\"commit 1111 maps to 2 milestones "
    "(M-1, GLOBEX-1)\",\"basis\":[{\"id\":\"c1\",\"seq\":1}]}],"
    "\"deployments\":[{\"id\":\"shop/production/9fceb02aa\","
    "\"service\":\"shop\",\"environment\":\"production\","
    "\"release\":\"v2.1\",\"revision\":\"9fceb02aa\",\"repo\":\"acme/shop\","
    "\"branch\":\"main\",\"seq\":2,"
    "\"verified_at\":\"2025-08-04T10:20:00Z\"}]},"
    "\"links\":{\"tenant\":\"acme\"},"
    "\"basis\":[{\"id\":\"pd9.open\",\"seq\":6}]}";

/* Is any of the words anywhere in o's serialisation? */
static const char *
present_leak(json_object *o, const char **words)
{
	const char	*s = str(o);
	size_t		 i;

	for (i = 0; words[i] != NULL; i++)
		if (strstr(s, words[i]) != NULL)
			return (words[i]);
	return (NULL);
}

START_TEST(test_present_milestone)
{
	struct redaction	*rd = redact_new();
	const char		*words[] = { "9fceb02", "acme/shop", "main",
				    "\"seq\"", "basis", "Secret title", "PD-9",
				    "GLOBEX", "rejections", "checkpoints",
				    "reason", "cadence", NULL };
	json_object		*o = json_tokener_parse(milestone_text), *v;
	json_object		*p, *d;
	const char		*leak;

	ck_assert_ptr_nonnull(o);
	v = present_view(rd, ROLE_CLIENT, o);
	ck_assert_ptr_nonnull(v);
	leak = present_leak(v, words);
	ck_assert_msg(leak == NULL, "%s leaks in %s", leak, str(v));
	ck_assert(json_object_object_get_ex(v, "properties", &p));
	/* Kept through **.title and **.description: the configured text. */
	ck_assert_str_eq(json_object_get_string(json_object_object_get(p,
	    "title")), "Checkout v2");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(p,
	    "description")), "The new checkout");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(p,
	    "last_change")), "2025-08-05T08:00:00Z");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(p,
	    "predicted")), "2025-08-20");
	d = json_object_array_get_idx(json_object_object_get(p,
	    "delivered_by"), 0);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(d,
	    "service")), "shop");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(d,
	    "release")), "v2.1");
	ck_assert(present_is_public_id(json_object_get_string(
	    json_object_object_get(d, "deployment"))));
	ck_assert_str_eq(str(json_object_object_get(p, "releases")),
	    "[\"v2.1\"]");
	ck_assert_str_eq(str(json_object_object_get(p, "deltas")),
	    "[{\"kind\":\"incident\",\"weight\":-20.0,\"active\":true,"
	    "\"time\":\"2025-08-05T08:00:00Z\"}]");
	/* The source is untouched; a reader gets all of it. */
	ck_assert_ptr_nonnull(strstr(str(o), "Secret title"));
	json_object_put(v);
	v = present_view(rd, ROLE_READER, o);
	ck_assert_str_eq(str(v), str(o));
	json_object_put(v);
	json_object_put(o);
	redact_free(rd);
}
END_TEST

START_TEST(test_present_deployment)
{
	struct redaction	*rd = redact_new();
	const char		*words[] = { "9fceb02", "alice", "green",
				    "ci.internal", "\"seq\"", "basis",
				    "deltas", NULL };
	json_object		*o = json_tokener_parse(claim_text), *v, *w;
	char			 pub[128];
	const char		*leak;

	v = present_view(rd, ROLE_CLIENT, o);
	leak = present_leak(v, words);
	ck_assert_msg(leak == NULL, "%s leaks in %s", leak, str(v));
	present_public_id("Deployment", "shop/prod/9fceb02", pub, sizeof(pub));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v,
	    "id")), pub);
	ck_assert_int_eq(strncmp(pub, "shop/prod/x", 11), 0);
	ck_assert_uint_eq(strlen(pub), 11 + 16);
	ck_assert(present_is_public_id(pub));
	ck_assert(!present_is_public_id("shop/prod/9fceb02"));
	ck_assert_str_eq(str(json_object_object_get(v, "properties")),
	    "{\"service\":\"shop\",\"state\":\"deployed\"}");
	ck_assert_str_eq(str(json_object_object_get(v, "links")),
	    "{\"tenant\":\"acme\"}");
	json_object_put(v);
	/* In place, for callers that hold the object. */
	w = json_tokener_parse(claim_text);
	ck_assert_int_eq(present_inplace(rd, ROLE_CLIENT, w), 0);
	v = present_view(rd, ROLE_CLIENT, o);
	ck_assert_str_eq(str(w), str(v));
	json_object_put(v);
	json_object_put(w);
	/* A refused attempt is never shown to a client. */
	w = json_tokener_parse("{\"type\":\"DeploymentRejection\","
	    "\"id\":\"a#1\",\"properties\":{},\"links\":{\"tenant\":"
	    "\"acme\"}}");
	ck_assert_ptr_null(present_view(rd, ROLE_CLIENT, w));
	ck_assert_int_eq(present_inplace(rd, ROLE_CLIENT, w), -1);
	ck_assert_int_eq(json_object_object_length(w), 0);
	json_object_put(w);
	json_object_put(o);
	redact_free(rd);
}
END_TEST

/*
 * Configuration: allow brings a field into the view and keeps it through
 * redaction; remove patterns are anchored at the final object's root.
 */
START_TEST(test_present_configured)
{
	struct redaction	*rd;
	json_object		*o, *v;
	char			 err[MP_ERRLEN];

	rd = policy("redaction:\n"
	    "  client:\n"
	    "    allow: [properties.actor, \"links.comm*\"]\n"
	    "    remove: [properties.delivered_by.release, properties.title]\n",
	    err, sizeof(err));
	ck_assert_msg(rd != NULL, "%s", err);
	ck_assert_uint_eq(redact_allow_count(rd, ROLE_CLIENT), 2);
	o = json_tokener_parse(claim_text);
	v = present_view(rd, ROLE_CLIENT, o);
	/* actor: allowed, so kept although **.actor is a built-in. */
	ck_assert_str_eq(str(json_object_object_get(v, "properties")),
	    "{\"service\":\"shop\",\"state\":\"deployed\","
	    "\"actor\":\"alice\"}");
	ck_assert_str_eq(str(json_object_object_get(v, "links")),
	    "{\"tenant\":\"acme\",\"commit\":\"9fceb02\"}");
	json_object_put(v);
	json_object_put(o);
	o = json_tokener_parse(milestone_text);
	v = present_view(rd, ROLE_CLIENT, o);
	ck_assert_ptr_null(strstr(str(v), "v2.1\"}"));
	ck_assert_ptr_nonnull(strstr(str(v), "\"releases\":[\"v2.1\"]"));
	/* The configured text is kept unless configuration removes it. */
	ck_assert(!json_object_object_get_ex(json_object_object_get(v,
	    "properties"), "title", NULL));
	ck_assert(json_object_object_get_ex(json_object_object_get(v,
	    "properties"), "description", NULL));
	json_object_put(v);
	json_object_put(o);
	redact_free(rd);
	ck_assert_ptr_null(policy("redaction:\n  client: { allow: [\"a..b\"] }\n",
	    err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "redaction.client.allow[0]"));
}
END_TEST

Suite *
make_redact_suite(void)
{
	Suite	*s = suite_create("redact");
	TCase	*tc = tcase_create("policy");

	tcase_add_test(tc, test_redact_builtin_client);
	tcase_add_test(tc, test_redact_other_roles);
	tcase_add_test(tc, test_redact_patterns);
	tcase_add_test(tc, test_redact_configured);
	tcase_add_test(tc, test_redact_config_errors);
	tcase_add_test(tc, test_redact_config_rates);
	tcase_add_test(tc, test_present_milestone);
	tcase_add_test(tc, test_present_deployment);
	tcase_add_test(tc, test_present_configured);
	suite_add_tcase(s, tc);
	return (s);
}
