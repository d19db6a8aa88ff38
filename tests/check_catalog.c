/*
 * check_catalog.c: the service catalog (record/catalog.c): lookups,
 * resolution of each tool's names, and its configuration
 * (config/config-services.c): the shape, and the file:line errors with a
 * suggestion for undeclared tenants, environments and services.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milepost.h"
#include "check_milepost.h"

static struct catalog	*cat;

static void
catalog_setup(void)
{
	struct catservice	*s;
	char			 err[MP_ERRLEN];

	cat = catalog_new();
	s = catalog_add_service(cat, "checkout");
	s->tenants = xcalloc(1, sizeof(*s->tenants));
	s->tenants[s->ntenants++] = xstrdup("acme");
	s->team = xstrdup("payments");
	s->default_environment = xstrdup("production");
	catalog_add_alias(s, "argocd", 0, "checkout-prod", "production");
	catalog_add_alias(s, "argocd", 0, "checkout-staging", "staging");
	catalog_add_alias(s, "pagerduty", 0, "Checkout API", "production");
	catalog_add_alias(s, "pagerduty", 1, "PF9KMXH", "production");
	catalog_add_alias(s, "jenkins", 0, "checkout/main", NULL);
	catalog_add_alias(s, "repo", 0, "acme/checkout", NULL);
	s = catalog_add_service(cat, "shared");
	s->tenants = xcalloc(2, sizeof(*s->tenants));
	s->tenants[s->ntenants++] = xstrdup("acme");
	s->tenants[s->ntenants++] = xstrdup("globex");
	ck_assert_msg(catalog_index(cat, err, sizeof(err)) == 0, "%s", err);
}

static void
catalog_teardown(void)
{
	catalog_free(cat);
	cat = NULL;
}

/* Resolve the evidence text from source; r is the result, o the object. */
static json_object *
resolve(const char *source, const char *text, enum catalog_result want,
    char *miss, size_t misslen)
{
	json_object	*o;

	ck_assert_ptr_nonnull(o = json_tokener_parse(text));
	ck_assert_int_eq(catalog_resolve(cat, source, o, miss, misslen), want);
	return (o);
}

static const char *
tlink(json_object *o, const char *key)
{
	json_object	*l, *v;

	if (!json_object_object_get_ex(o, "links", &l) ||
	    !json_object_object_get_ex(l, key, &v))
		return ("(none)");
	return (json_object_get_string(v));
}

static const char *
prop(json_object *o, const char *key)
{
	json_object	*p, *v;

	if (!json_object_object_get_ex(o, "properties", &p) ||
	    !json_object_object_get_ex(p, key, &v))
		return ("(none)");
	return (json_object_get_string(v));
}

START_TEST(test_lookup)
{
	const struct catservice	*s = NULL;
	const struct catalias	*a;
	struct catalog		*c2;
	struct catservice	*x;
	char			 err[MP_ERRLEN];

	ck_assert_ptr_nonnull(catalog_service(cat, "checkout"));
	ck_assert_ptr_null(catalog_service(cat, "checkout-prod"));
	ck_assert_ptr_nonnull(a = catalog_alias(cat, "argocd", 0,
	    "checkout-prod", &s));
	ck_assert_str_eq(s->name, "checkout");
	ck_assert_str_eq(a->environment, "production");
	/* A name and an id are different keys, and tools are apart. */
	ck_assert_ptr_nonnull(catalog_alias(cat, "pagerduty", 1, "PF9KMXH",
	    NULL));
	ck_assert_ptr_null(catalog_alias(cat, "pagerduty", 0, "PF9KMXH",
	    NULL));
	ck_assert_ptr_null(catalog_alias(cat, "argocd", 0, "Checkout API",
	    NULL));
	ck_assert_ptr_null(catalog_alias(cat, "argocd", 0, "", NULL));
	ck_assert(catalog_tool_ok("repo"));
	ck_assert(!catalog_tool_ok("jenkin"));
	/* Nothing declared: every name passes. */
	ck_assert(catalog_tenant_ok(cat, "anyone"));
	ck_assert(catalog_service_ok(cat, "checkout"));
	ck_assert(!catalog_service_ok(cat, "chekout"));
	/* An alias claimed twice is an error naming both. */
	c2 = catalog_new();
	x = catalog_add_service(c2, "a");
	catalog_add_alias(x, "argocd", 0, "app", NULL);
	x = catalog_add_service(c2, "b");
	catalog_add_alias(x, "argocd", 0, "app", NULL);
	ck_assert_int_eq(catalog_index(c2, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "argocd") && strstr(err, "service a's"),
	    "%s", err);
	catalog_free(c2);
}
END_TEST

START_TEST(test_resolve)
{
	json_object	*o;
	char		 miss[MP_ERRLEN];

	/* Argo CD: the app is an alias pinning the environment. */
	o = resolve("argocd", "{\"type\":\"DeploymentStarted\",\"properties\":"
	    "{\"service\":\"checkout-staging\",\"environment\":\"production\"},"
	    "\"links\":{\"service\":\"checkout-staging\"}}", CAT_RESOLVED,
	    NULL, 0);
	ck_assert_str_eq(prop(o, "service"), "checkout");
	ck_assert_str_eq(prop(o, "environment"), "staging");
	ck_assert_str_eq(tlink(o, "service"), "checkout");
	ck_assert_str_eq(tlink(o, "environment"), "staging");
	ck_assert_str_eq(tlink(o, "tool_service"), "checkout-staging");
	ck_assert_str_eq(tlink(o, "tenant"), "acme");
	ck_assert_str_eq(tlink(o, "team"), "payments");
	json_object_put(o);
	/* PagerDuty: a renamed service, by its id. */
	o = resolve("pagerduty", "{\"type\":\"IncidentOpened\",\"links\":"
	    "{\"service\":\"Checkout (EU)\",\"service_id\":\"PF9KMXH\"}}",
	    CAT_RESOLVED, NULL, 0);
	ck_assert_str_eq(tlink(o, "service"), "checkout");
	ck_assert_str_eq(tlink(o, "environment"), "production");
	json_object_put(o);
	/* The canonical name itself, and an incident's default environment. */
	o = resolve("cdevents", "{\"type\":\"IncidentOpened\",\"links\":"
	    "{\"service\":\"checkout\"}}", CAT_RESOLVED, NULL, 0);
	ck_assert_str_eq(tlink(o, "environment"), "production");
	ck_assert_str_eq(tlink(o, "tool_service"), "(none)");
	json_object_put(o);
	/* ... but a build has no default environment. */
	o = resolve("agent", "{\"type\":\"BuildCompleted\",\"links\":"
	    "{\"repo\":\"acme/checkout\"}}", CAT_RESOLVED, NULL, 0);
	ck_assert_str_eq(tlink(o, "service"), "checkout");
	ck_assert_str_eq(tlink(o, "environment"), "(none)");
	json_object_put(o);
	/* Jenkins: the job's name. */
	o = resolve("jenkins", "{\"type\":\"PipelineStarted\",\"properties\":"
	    "{\"name\":\"checkout/main\"},\"links\":{\"repo\":\"x/y\"}}",
	    CAT_RESOLVED, NULL, 0);
	ck_assert_str_eq(tlink(o, "service"), "checkout");
	json_object_put(o);
	/* A service of two tenants gets no tenant link; one given stays. */
	o = resolve("agent", "{\"type\":\"X\",\"links\":{\"service\":"
	    "\"shared\"}}", CAT_RESOLVED, NULL, 0);
	ck_assert_str_eq(tlink(o, "tenant"), "(none)");
	json_object_put(o);
	/* Misses name the alias to add; the evidence is untouched. */
	o = resolve("pagerduty", "{\"type\":\"IncidentOpened\",\"links\":"
	    "{\"service\":\"Checkout APIX\"}}", CAT_MISS, miss, sizeof(miss));
	ck_assert_str_eq(miss, "{ tool: pagerduty, name: \"Checkout APIX\" }");
	ck_assert_str_eq(tlink(o, "service"), "Checkout APIX");
	ck_assert_str_eq(tlink(o, "tenant"), "(none)");
	json_object_put(o);
	o = resolve("github", "{\"type\":\"CommitPushed\",\"links\":"
	    "{\"repo\":\"acme/shop\"}}", CAT_MISS, miss, sizeof(miss));
	ck_assert_str_eq(miss, "{ tool: repo, name: \"acme/shop\" }");
	json_object_put(o);
	/* Nothing to resolve. */
	o = resolve("agent", "{\"type\":\"MilestoneClock\",\"links\":{}}",
	    CAT_NOTHING, NULL, 0);
	json_object_put(o);
}
END_TEST

/* The configuration: the shape, and errors with file:line and a hint. */
static char	 cpath[64];

static struct config *
cload(const char *text, char *err, size_t errlen)
{
	FILE	*f;
	int	 fd;

	strlcpy(cpath, "/tmp/check_catalog_cfg.XXXXXX", sizeof(cpath));
	ck_assert_int_ne(fd = mkstemp(cpath), -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return (config_load(cpath, err, errlen));
}

#define CATALOG_BASE \
	"tenants: [acme, globex]\n" \
	"environments: [staging, production]\n" \
	"services:\n" \
	"  payments-api: { tenant: acme }\n" \
	"  checkout:\n" \
	"    tenant: acme\n" \
	"    team: payments\n" \
	"    tier: 1\n" \
	"    depends_on: [payments-api]\n" \
	"    aliases:\n" \
	"      - { tool: argocd, name: checkout-prod, environment: production }\n" \
	"      - { tool: pagerduty, id: PF9KMXH, environment: production }\n"

static void
cfails(const char *text, int line, const char *want)
{
	struct config	*cf;
	char		 err[MP_ERRLEN], where[96];

	cf = cload(text, err, sizeof(err));
	ck_assert_msg(cf == NULL, "loaded:\n%s", text);
	snprintf(where, sizeof(where), "%s:%d: ", cpath, line);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0,
	    "error \"%s\" does not start with \"%s\"", err, where);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"",
	    err, want);
	unlink(cpath);
}

START_TEST(test_config)
{
	struct config			*cf;
	const struct catservice		*s;
	char				 err[MP_ERRLEN];

	cf = cload(CATALOG_BASE, err, sizeof(err));
	ck_assert_msg(cf != NULL, "%s", err);
	unlink(cpath);
	ck_assert_uint_eq(cf->catalog->ntenants, 2);
	ck_assert_ptr_nonnull(s = catalog_service(cf->catalog, "checkout"));
	ck_assert_int_eq(s->tier, 1);
	ck_assert_str_eq(s->team, "payments");
	ck_assert_uint_eq(s->naliases, 2);
	ck_assert(s->aliases[1].by_id);
	/* depends_on is the deployment machine's dependency. */
	ck_assert_ptr_nonnull(cf->rules->deploy);
	ck_assert_uint_eq(cf->rules->deploy->ndeps, 1);
	ck_assert_str_eq(cf->rules->deploy->deps[0].upstream[0],
	    "payments-api");
	config_free(cf);

	cfails(CATALOG_BASE "tokens:\n  - { token: \"client-token-0123456789\", "
	    "role: client, tenant: acmee }\n", 14,
	    "tokens[0].tenant: unknown tenant acmee (did you mean acme?");
	cfails("environments: [staging, prodution]\nmilestones:\n  - { id: M-1, "
	    "tenant: acme, due: \"2030-01-01\", environment: production }\n", 3,
	    "milestones[0].environment: unknown environment production (did "
	    "you mean prodution?");
	cfails(CATALOG_BASE "milestones:\n  - id: M-1\n    tenant: acme\n"
	    "    due: \"2030-01-01\"\n    scope: { services: [chekout] }\n", 17,
	    "milestones[0].scope.services: unknown service chekout (did you "
	    "mean checkout?");
	cfails(CATALOG_BASE "deployments:\n  environments:\n    prod: "
	    "{ timeout: 10m }\n", 15, "deployments.environments.prod: unknown "
	    "environment prod");
	cfails(CATALOG_BASE "sinks:\n  s: { kind: webhook, url: "
	    "\"http://127.0.0.1:1/x\", secret: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2"
	    "LaLaSw\" }\nsubscriptions:\n  - { sink: s, types: [Deployment], "
	    "tenant: globx }\n", 16, "subscriptions[0].tenant: unknown tenant "
	    "globx (did you mean globex?");
	cfails("services:\n  a:\n    aliases: [ { tool: argcd, name: x } ]\n", 3,
	    "unknown tool argcd (did you mean argocd?");
	cfails("services:\n  a: { tier: 0 }\n", 2, "services.a.tier: must be");
	cfails("services:\n  a: { owner: x }\n", 2, "services.a.owner: unknown "
	    "key");
	cfails("services:\n  a:\n    aliases: [ { tool: argocd, name: x } ]\n"
	    "  b:\n    aliases: [ { tool: argocd, name: x } ]\n", 1,
	    "already service a's");
	cfails("sources:\n  jenkins: { unknown_alias: drop }\n", 2,
	    "sources.jenkins.unknown_alias: must be keep or refuse");
	/* The agent takes the policy too, and nothing else. */
	cf = cload("sources:\n  agent: { unknown_alias: refuse }\n", err,
	    sizeof(err));
	ck_assert_msg(cf != NULL, "%s", err);
	unlink(cpath);
	ck_assert(config_alias_refuse(cf, NULL));
	ck_assert(!config_alias_refuse(cf, source_find("jenkins")));
	config_free(cf);
	cfails("sources:\n  agent: { secret: xxxxxxxxxxxx }\n", 2,
	    "takes only unknown_alias");
}
END_TEST

Suite *
make_catalog_suite(void)
{
	Suite	*s = suite_create("catalog");
	TCase	*tc = tcase_create("catalog");

	tcase_add_checked_fixture(tc, catalog_setup, catalog_teardown);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);
	return (s);
}
