/*
 * check_config.c: loading milepost.yaml (config.c, yaml.c) and declaring
 * evidence types in it (types.c).  Every test writes its file to a fresh
 * mkstemp(3) path that the fixture removes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milepost.h"
#include "check_milepost.h"

#define SECRET		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define ADMIN_TOKEN	"admin-token-0123456789"
#define CLIENT_TOKEN	"client-token-0123456789"

static char		 cfgpath[64];
static struct config	*cf;
static char		 err[MP_ERRLEN];

static void
config_setup(void)
{
	int	fd;

	strlcpy(cfgpath, "/tmp/check_milepost_cfg.XXXXXX", sizeof(cfgpath));
	if ((fd = mkstemp(cfgpath)) == -1)
		ck_abort_msg("mkstemp: %s", cfgpath);
	close(fd);
	cf = NULL;
	err[0] = '\0';
}

static void
config_teardown(void)
{
	config_free(cf);
	cf = NULL;
	unlink(cfgpath);
}

/* Write text to the fixture's file and load it; cf is the result. */
static struct config *
load(const char *text)
{
	FILE	*f;

	if ((f = fopen(cfgpath, "w")) == NULL)
		ck_abort_msg("fopen %s", cfgpath);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
	config_free(cf);
	err[0] = '\0';
	cf = config_load(cfgpath, err, sizeof(err));
	return (cf);
}

/* Load text, which must fail with an error holding every given string. */
static void
load_fails(const char *text, int line, const char *want1, const char *want2)
{
	char	where[96];

	ck_assert_msg(load(text) == NULL, "loaded:\n%s", text);
	snprintf(where, sizeof(where), "%s:%d: ", cfgpath, line);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0,
	    "error \"%s\" does not start with \"%s\"", err, where);
	if (want1 != NULL)
		ck_assert_msg(strstr(err, want1) != NULL,
		    "error \"%s\" does not name \"%s\"", err, want1);
	if (want2 != NULL)
		ck_assert_msg(strstr(err, want2) != NULL,
		    "error \"%s\" does not name \"%s\"", err, want2);
}

#define MINIMAL \
	"listen: \"127.0.0.1:9100\"\n" \
	"ledger: \"sqlite:/var/lib/milepost/ledger.db\"\n" \
	"agent_secret: \"" SECRET "\"\n"

START_TEST(test_minimal)
{
	struct stdwh_key		 k;
	const struct evtype		*et;

	ck_assert_msg(load(MINIMAL) != NULL, "%s", err);
	ck_assert_str_eq(cf->path, cfgpath);
	ck_assert_str_eq(cf->listen, "127.0.0.1:9100");
	ck_assert_str_eq(cf->ledger, "sqlite:/var/lib/milepost/ledger.db");
	ck_assert_uint_eq(cf->nagent_keys, 1);
	ck_assert_int_eq(stdwh_key_parse(SECRET, &k), 0);
	ck_assert_uint_eq(cf->agent_keys[0].len, k.len);
	ck_assert_mem_eq(cf->agent_keys[0].key, k.key, k.len);
	ck_assert_uint_eq(cf->ntokens, 0);
	/* Defaults for what the file leaves out. */
	ck_assert_uint_eq(cf->limits.max_body, 1048576);
	ck_assert_uint_eq(cf->limits.timeout, 30);
	/* The built-in types work without a declaration. */
	ck_assert_ptr_nonnull(et = types_find(cf->types, "BuildStartedEvent"));
	ck_assert_int_eq(et->builtin, 1);
	ck_assert_ptr_nonnull(et = types_find(cf->types, "BuildCompleted"));
	ck_assert_int_eq(et->builtin, 1);
	ck_assert_ptr_null(types_find(cf->types, "NoSuchType"));
}
END_TEST

START_TEST(test_json_syntax)
{
	ck_assert_msg(load("{\n"
	    "  \"listen\": \"0.0.0.0:8780\",\n"
	    "  \"ledger\": \"sqlite:l.db\",\n"
	    "  \"agent_secret\": [\"" SECRET "\", \"whsec_c2VjcmV0LWtleS1zaXh0ZWVu\"],\n"
	    "  \"tokens\": [{\"token\": \"" ADMIN_TOKEN "\", "
	    "\"role\": \"admin\"}],\n"
	    "  \"limits\": {\"max_body\": 2097152, \"timeout\": \"1m\"}\n"
	    "}\n") != NULL, "%s", err);
	ck_assert_str_eq(cf->listen, "0.0.0.0:8780");
	ck_assert_str_eq(cf->ledger, "sqlite:l.db");
	ck_assert_uint_eq(cf->nagent_keys, 2);
	ck_assert_uint_eq(cf->agent_keys[1].len, 18);
	ck_assert_uint_eq(cf->ntokens, 1);
	ck_assert_uint_eq(cf->limits.max_body, 2097152);
	ck_assert_uint_eq(cf->limits.timeout, 60);
	ck_assert_int_eq(config_token_role(cf, ADMIN_TOKEN, NULL), ROLE_ADMIN);

	/* Pretty-printed with tabs, as editors write it. */
	ck_assert_msg(load("{\n"
	    "\t\"listen\": \"127.0.0.1:8780\",\n"
	    "\t\"limits\": {\n"
	    "\t\t\"max_body\": \"64KiB\"\n"
	    "\t}\n"
	    "}\n") != NULL, "%s", err);
	ck_assert_uint_eq(cf->limits.max_body, 65536);

	/* JSON errors name their line too. */
	load_fails("{\n  \"listen\": \"x:1\",\n  \"bogus\": true\n}\n", 3,
	    "bogus", NULL);
}
END_TEST

START_TEST(test_empty_file)
{
	ck_assert_msg(load("") != NULL, "%s", err);
	ck_assert_str_eq(cf->listen, MP_DEFAULT_LISTEN);
	ck_assert_uint_eq(cf->nagent_keys, 0);
	ck_assert_msg(load("# only a comment\n") != NULL, "%s", err);
}
END_TEST

START_TEST(test_default)
{
	struct config	*d;

	ck_assert_ptr_nonnull(d = config_default());
	ck_assert_str_eq(d->listen, MP_DEFAULT_LISTEN);
	ck_assert_ptr_nonnull(types_find(d->types, "BuildCompleted"));
	ck_assert_int_eq(config_token_role(d, ADMIN_TOKEN, NULL), ROLE_NONE);
	config_free(d);
}
END_TEST

START_TEST(test_missing_file)
{
	char	want[96];

	unlink(cfgpath);
	ck_assert_ptr_null(config_load(cfgpath, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:0: ", cfgpath);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
}
END_TEST

START_TEST(test_unknown_key)
{
	load_fails(MINIMAL "bogus: 1\n", 4, "bogus", "unknown setting");
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "\n"
	    "colour: blue\n"
	    "ledger: \"sqlite:x.db\"\n", 3, ": colour: ", NULL);
	/* A mapping under an unknown key is blamed on the key's line. */
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "\n"
	    "colour: { a: 1 }\n", 3, ": colour: ", NULL);
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "\n"
	    "colour:\n"
	    "  a: 1\n", 3, ": colour: ", NULL);
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "\n"
	    "limits:\n"
	    "  - 1\n", 3, ": limits: ", "mapping");
}
END_TEST

START_TEST(test_bad_listen_ledger)
{
	load_fails("listen: \"localhost\"\n", 1, "listen", NULL);
	load_fails("listen: \"127.0.0.1:99999\"\n", 1, "listen", NULL);
	load_fails("ledger: \"mysql://db/milepost\"\n", 1, "ledger",
	    "postgresql://");
	load_fails("ledger: \"postgresql://\"\n", 1, "ledger", NULL);
	load_fails("ledger: \"sqlite:\"\n", 1, "ledger", NULL);
}
END_TEST

START_TEST(test_bad_agent_secret)
{
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "agent_secret: \"whsec_not base64!\"\n", 2, "agent_secret", NULL);
	load_fails("agent_secret: \"\"\n", 1, "agent_secret", NULL);
	load_fails("agent_secret: 42\n", 1, "agent_secret", NULL);
	load_fails("agent_secret: []\n", 1, "agent_secret", "empty");
	load_fails("agent_secret:\n"
	    "  - \"" SECRET "\"\n"
	    "  - \"whsec_!!!!\"\n", 3, "agent_secret", NULL);
	/* HMAC keys shorter than 16 bytes: refused, each at its line. */
	load_fails("agent_secret: \"whsec_AA==\"\n", 1, "agent_secret",
	    "16");
	load_fails("agent_secret:\n"
	    "  - \"" SECRET "\"\n"
	    "  - \"whsec_c2VjcmV0\"\n", 3, "agent_secret", "16");
	load_fails("sources:\n  github: { secret: \"short\" }\n", 2,
	    "sources.github.secret", "16");
	load_fails("sources:\n  gitlab: { signing_secret: \"whsec_AA==\" }\n",
	    2, "sources.gitlab.signing_secret", "16");
	load_fails("sinks:\n  s: { kind: webhook, url: \"http://127.0.0.1:1/\", "
	    "secret: \"whsec_c2VjcmV0\" }\n", 2, "sinks.s.secret", "16");
}
END_TEST

START_TEST(test_limits)
{
	ck_assert_msg(load("limits:\n"
	    "  max_body: \"1MiB\"\n"
	    "  max_headers: \"64KiB\"\n"
	    "  max_connections: 10\n"
	    "  timeout: \"2m\"\n"
	    "  queue_max: 100\n"
	    "  batch_max: 50\n") != NULL, "%s", err);
	ck_assert_uint_eq(cf->limits.max_body, 1048576);
	ck_assert_uint_eq(cf->limits.max_headers, 65536);
	ck_assert_uint_eq(cf->limits.max_connections, 10);
	ck_assert_uint_eq(cf->limits.timeout, 120);
	ck_assert_uint_eq(cf->limits.queue_max, 100);
	ck_assert_uint_eq(cf->limits.batch_max, 50);

	ck_assert_msg(load("limits: { max_body: 1mb }\n") != NULL, "%s", err);
	ck_assert_uint_eq(cf->limits.max_body, 1048576);
	ck_assert_msg(load("limits: { max_body: 4096 }\n") != NULL, "%s", err);
	ck_assert_uint_eq(cf->limits.max_body, 4096);

	load_fails("limits:\n  max_body: \"5 parsecs\"\n", 2,
	    "limits.max_body", NULL);
	load_fails("limits:\n  max_body: 10\n", 2, "limits.max_body", NULL);
	load_fails("limits:\n  max_body: \"1GiB\"\n", 2, "limits.max_body",
	    NULL);
	load_fails("limits:\n  timeout: \"soon\"\n", 2, "limits.timeout",
	    NULL);
	load_fails("limits:\n  timeout: \"2h\"\n", 2, "limits.timeout", NULL);
	load_fails("limits:\n  max_connections: \"many\"\n", 2,
	    "limits.max_connections", NULL);
	load_fails("limits:\n  batch_max: 0\n", 2, "limits.batch_max", NULL);
	load_fails("limits:\n  max_body: 4096\n  speed: 9\n", 3,
	    "limits.speed", NULL);
	load_fails("limits: 5\n", 1, "limits", "mapping");
}
END_TEST

START_TEST(test_tokens)
{
	const struct token	*t;

	ck_assert_msg(load(MINIMAL
	    "tokens:\n"
	    "  - { token: \"" ADMIN_TOKEN "\", role: admin }\n"
	    "  - token: \"" CLIENT_TOKEN "\"\n"
	    "    role: client\n"
	    "    tenant: acme\n"
	    "    name: acme's CI\n"
	    "  - { token: \"reader-token-0123456789\", role: reader }\n")
	    != NULL, "%s", err);
	ck_assert_uint_eq(cf->ntokens, 3);

	ck_assert_int_eq(config_token_role(cf, ADMIN_TOKEN, &t), ROLE_ADMIN);
	ck_assert_ptr_eq(t, &cf->tokens[0]);
	ck_assert_int_eq(config_token_role(cf, CLIENT_TOKEN, &t), ROLE_CLIENT);
	ck_assert_ptr_eq(t, &cf->tokens[1]);
	ck_assert_str_eq(t->tenant, "acme");
	ck_assert_int_eq(config_token_role(cf, "reader-token-0123456789",
	    NULL), ROLE_READER);

	ck_assert_int_eq(config_token_role(cf, "admin-token-012345678", &t),
	    ROLE_NONE);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(config_token_role(cf, ADMIN_TOKEN "9", NULL),
	    ROLE_NONE);
	ck_assert_int_eq(config_token_role(cf, "", NULL), ROLE_NONE);
	ck_assert_int_eq(config_token_role(cf, NULL, NULL), ROLE_NONE);
	ck_assert_str_eq(access_role_name(ROLE_OPERATOR), "operator");
}
END_TEST

START_TEST(test_bad_tokens)
{
	load_fails(MINIMAL
	    "tokens:\n"
	    "  - { token: \"short\", role: admin }\n", 5, "tokens[0].token",
	    NULL);
	load_fails("tokens:\n"
	    "  - { token: \"" ADMIN_TOKEN "\", role: admin }\n"
	    "  - { token: \"0123456789abcde\", role: admin }\n", 3,
	    "tokens[1].token", NULL);
	load_fails("tokens:\n"
	    "  - { role: admin }\n", 2, "tokens[0].token", NULL);
	load_fails("tokens:\n"
	    "  - { token: \"" CLIENT_TOKEN "\", role: client }\n", 2,
	    "tokens[0]", "tenant");
	load_fails("tokens:\n"
	    "  - { token: \"" ADMIN_TOKEN "\", role: root }\n", 2,
	    "tokens[0].role", NULL);
	load_fails("tokens:\n"
	    "  - { token: \"" ADMIN_TOKEN "\", role: admin, colour: red }\n",
	    2, "tokens[0].colour", NULL);
	load_fails("tokens: { token: \"" ADMIN_TOKEN "\" }\n", 1, "tokens",
	    NULL);
}
END_TEST

START_TEST(test_evidence_types)
{
	const struct evtype	*et;
	size_t			 i;
	int			 found = 0;

	ck_assert_msg(load(MINIMAL
	    "evidence_types:\n"
	    "  DeployDone:\n"
	    "    description: a deploy finished\n"
	    "    properties:\n"
	    "      env: { type: enum, options: [prod, staging], required: true }\n"
	    "      tags: { type: text, list: true }\n"
	    "  BuildCompleted:\n"
	    "    properties:\n"
	    "      coverage: { type: percentage }\n") != NULL, "%s", err);
	ck_assert_ptr_nonnull(et = types_find(cf->types, "DeployDone"));
	ck_assert_int_eq(et->builtin, 0);
	ck_assert_uint_eq(et->nprops, 2);
	ck_assert_str_eq(et->props[0].name, "env");
	ck_assert_int_eq(et->props[0].type, PT_ENUM);
	ck_assert_int_eq(et->props[0].required, 1);
	ck_assert_str_eq(et->props[0].options[0], "prod");
	ck_assert_str_eq(et->props[0].options[1], "staging");
	ck_assert_ptr_null(et->props[0].options[2]);
	ck_assert_int_eq(et->props[1].list, 1);
	/* Declaring a built-in type extends it. */
	ck_assert_ptr_nonnull(et = types_find(cf->types, "BuildCompleted"));
	for (i = 0; i < et->nprops; i++) {
		if (strcmp(et->props[i].name, "coverage") == 0 &&
		    et->props[i].type == PT_PERCENTAGE)
			found |= 1;
		if (strcmp(et->props[i].name, "duration") == 0)
			found |= 2;
	}
	ck_assert_int_eq(found, 3);
}
END_TEST

START_TEST(test_bad_evidence_types)
{
	load_fails(MINIMAL
	    "evidence_types:\n"
	    "  X:\n"
	    "    properties:\n"
	    "      ok: { type: text }\n"
	    "      Y:\n"
	    "        type: colour\n", 9, "evidence_types.X.properties.Y.type",
	    NULL);
	load_fails("evidence_types:\n"
	    "  X:\n"
	    "    properties:\n"
	    "      Y: { type: enum }\n", 4, "evidence_types.X.properties.Y",
	    "options");
	load_fails("evidence_types:\n"
	    "  X:\n"
	    "    properties:\n"
	    "      Y: { type: text, options: [a] }\n", 4,
	    "evidence_types.X.properties.Y.options", NULL);
	load_fails("evidence_types:\n"
	    "  X:\n"
	    "    properties:\n"
	    "      Y: { type: text, required: maybe }\n", 4,
	    "evidence_types.X.properties.Y.required", NULL);
	load_fails("evidence_types:\n"
	    "  X:\n"
	    "    properties:\n"
	    "      Y: { type: text, colour: red }\n", 4,
	    "evidence_types.X.properties.Y.colour", NULL);
	load_fails("evidence_types:\n"
	    "  X:\n"
	    "    fields: {}\n", 3, "evidence_types.X.fields", NULL);
	load_fails("evidence_types:\n"
	    "  \"bad name\":\n"
	    "    properties: {}\n", 2, "evidence_types.bad name", NULL);
	/* A property declared with nothing is named, and only once. */
	load_fails("evidence_types:\n"
	    "  X:\n"
	    "    properties: { Y: ~ }\n", 3, "evidence_types.X.properties.Y: ",
	    "type");
	ck_assert_msg(strstr(err, "Y.Y") == NULL, "%s", err);
	/* Block mappings are blamed on their key's line too. */
	load_fails("evidence_types:\n"
	    "  X:\n"
	    "    properties:\n"
	    "      Y:\n"
	    "        type: enum\n", 4, "evidence_types.X.properties.Y",
	    "options");
}
END_TEST

START_TEST(test_yaml_syntax)
{
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "ledger: \"sqlite:x.db\"\n"
	    "tokens: [ { token: \"abc\"\n", 4, NULL, NULL);
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "ledger: \"unterminated\n"
	    "agent_secret: x\n", 4, NULL, NULL);
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "ledger: sqlite: x: y\n", 2, NULL, NULL);
	load_fails("listen: \"127.0.0.1:9100\"\n"
	    "limits:\n"
	    "  max_body: 4096\n"
	    " timeout: 30\n", 4, NULL, NULL);
	load_fails("a: *nosuch\n", 1, "nosuch", NULL);
	load_fails("- listen\n", 1, "mapping", NULL);
	load_fails("listen: \"a:1\"\n---\nledger: \"sqlite:x\"\n", 2,
	    "one YAML document", NULL);
}
END_TEST

START_TEST(test_duplicate_key)
{
	load_fails(MINIMAL "listen: \"127.0.0.1:9200\"\n", 4, "listen",
	    "duplicate");
	load_fails("limits:\n"
	    "  max_body: 4096\n"
	    "  max_body: 8192\n", 3, "max_body", "duplicate");
	load_fails("{\"listen\": \"a:1\",\n\"listen\": \"b:2\"}\n", 2,
	    "listen", "duplicate");
}
END_TEST

/* yaml_parse: plain scalars are typed, quoted ones stay strings. */
START_TEST(test_yaml_types)
{
	json_object		*t, *v;
	static const char	*text = "a: 12\nb: \"12\"\nc: true\n"
	    "d: 1.5\ne: ~\nf: [x, 'y']\ng: &anc { k: v }\nh: *anc\n";

	t = yaml_parse(text, strlen(text), "mem", err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert(json_object_object_get_ex(t, "a", &v));
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_eq(json_object_get_int(v), 12);
	ck_assert_int_eq(yaml_line(v), 1);
	ck_assert(json_object_object_get_ex(t, "b", &v));
	ck_assert(json_object_is_type(v, json_type_string));
	ck_assert_int_eq(yaml_line(v), 2);
	ck_assert(json_object_object_get_ex(t, "c", &v));
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert(json_object_object_get_ex(t, "d", &v));
	ck_assert(json_object_is_type(v, json_type_double));
	ck_assert(json_object_object_get_ex(t, "e", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_object_get_ex(t, "f", &v));
	ck_assert_uint_eq(json_object_array_length(v), 2);
	ck_assert(json_object_object_get_ex(t, "h", &v));
	ck_assert(json_object_is_type(v, json_type_object));
	ck_assert(json_object_object_get_ex(v, "k", &v));
	ck_assert_str_eq(json_object_get_string(v), "v");
	json_object_put(t);
}
END_TEST

/* Aliases of every kind of node expand to copies that keep their lines. */
START_TEST(test_yaml_aliases)
{
	json_object		*t, *v, *w;
	static const char	*text =
	    "secret: &s \"" SECRET "\"\n"
	    "list: &l [a, b]\n"
	    "map: &m\n"
	    "  k: [1, 2]\n"
	    "again: *s\n"
	    "list2: *l\n"
	    "map2: *m\n";

	t = yaml_parse(text, strlen(text), "mem", err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert(json_object_object_get_ex(t, "again", &v));
	ck_assert_str_eq(json_object_get_string(v), SECRET);
	ck_assert_int_eq(yaml_line(v), 5);
	ck_assert(json_object_object_get_ex(t, "list2", &v));
	ck_assert_uint_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(json_object_get_string(
	    json_object_array_get_idx(v, 1)), "b");
	ck_assert(json_object_object_get_ex(t, "map2", &v));
	ck_assert(json_object_object_get_ex(v, "k", &w));
	ck_assert_uint_eq(json_object_array_length(w), 2);
	/* A copy, not a shared node. */
	ck_assert(json_object_object_get_ex(t, "map", &w));
	ck_assert_ptr_ne(v, w);
	json_object_put(t);

	/* And through config_load, e.g. one secret used twice. */
	ck_assert_msg(load("s: &sec \"" SECRET "\"\n") == NULL, "loaded");
	ck_assert_msg(load("agent_secret: [&sec \"" SECRET "\", *sec]\n")
	    != NULL, "%s", err);
	ck_assert_uint_eq(cf->nagent_keys, 2);
}
END_TEST

/* Alias expansion is bounded ("billion laughs"). */
START_TEST(test_yaml_alias_bomb)
{
	json_object		*t;
	static const char	*text =
	    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
	    "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";

	t = yaml_parse(text, strlen(text), "bomb.yaml", err,
	    sizeof(err));
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err, "too many nodes") != NULL, "%s", err);
}
END_TEST

START_TEST(test_strict)
{
	struct json_tokener	*tok = strict_new(16);
	const char		*bad[] = { "{\"a\": NaN}", "{\"a\": Infinity}",
	    "[1, -Infinity]", "{\"a\": [1e999]}", "{} x", "{", "" };
	json_object		*o;
	char			 why[MP_ERRLEN];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		o = strict_parse(tok, bad[i], strlen(bad[i]), why, sizeof(why));
		ck_assert_msg(o == NULL, "accepted %s", bad[i]);
		ck_assert_msg(strncmp(why, "malformed JSON", 14) == 0, "%s: %s",
		    bad[i], why);
	}
	o = strict_parse(tok, "{\"a\": 1.5e3, \"b\": [-0.0]} \n", 25, why,
	    sizeof(why));
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_get_double(json_object_object_get(o, "a")) ==
	    1500);
	json_object_put(o);
	json_tokener_free(tok);
}
END_TEST

START_TEST(test_suggest)
{
	const char	*envs[] = { "staging", "production" };
	const char	*tenants[] = { "acme", "globex" };
	const char	*fields[] = { "state", "progress", "due" };
	char		*m;

	ck_assert_uint_eq(suggest_distance("production", "production"), 0);
	ck_assert_uint_eq(suggest_distance("prodution", "production"), 1);
	ck_assert_uint_eq(suggest_distance("prodcution", "production"), 1);
	ck_assert_uint_eq(suggest_distance("", "abc"), 3);
	ck_assert_str_eq(suggest_nearest("prodution", envs, 2), "production");
	ck_assert_str_eq(suggest_nearest("Staging", envs, 2), "staging");
	ck_assert_str_eq(suggest_nearest("acmee", tenants, 2), "acme");
	ck_assert_str_eq(suggest_nearest("progres", fields, 3), "progress");
	ck_assert_ptr_null(suggest_nearest("qa", envs, 2));
	ck_assert_ptr_null(suggest_nearest("initech", tenants, 2));
	m = suggest_unknown("environment", "prodution", envs, 2);
	ck_assert_str_eq(m, "unknown environment prodution (did you mean "
	    "production?; valid: staging or production)");
	free(m);
	m = suggest_unknown("field", "colour", fields, 3);
	ck_assert_str_eq(m, "unknown field colour (valid: state, progress or "
	    "due)");
	free(m);
}
END_TEST

/* listen: one or a list, plain or TLS; user:; the connection limits. */
START_TEST(test_listen_tls)
{
	struct config	*c2;

	ck_assert_msg(load("listen:\n"
	    "  - { address: \"0.0.0.0:8443\", tls: { cert: c.pem, key: k.pem,"
	    " client_ca: ca.pem } }\n"
	    "  - \"127.0.0.1:8780\"\n"
	    "limits: { header_timeout: 5s, body_timeout: 1m,"
	    " max_connections_per_ip: 9 }\n") != NULL, "%s", err);
	ck_assert_uint_eq(cf->nlistens, 2);
	ck_assert_str_eq(cf->listen, "0.0.0.0:8443");
	ck_assert_str_eq(cf->listens[0].cert, "c.pem");
	ck_assert_str_eq(cf->listens[0].key, "k.pem");
	ck_assert_str_eq(cf->listens[0].client_ca, "ca.pem");
	ck_assert_ptr_null(cf->listens[1].cert);
	ck_assert_int_eq(config_listen_loopback(cf->listens[1].address), 1);
	ck_assert_int_eq(config_listen_loopback(cf->listens[0].address), 0);
	ck_assert_uint_eq(cf->limits.header_timeout, 5);
	ck_assert_uint_eq(cf->limits.body_timeout, 60);
	ck_assert_uint_eq(cf->limits.max_per_ip, 9);
	/* A reference outlives config_free's first call. */
	c2 = config_ref(cf);
	config_free(cf);
	ck_assert_str_eq(c2->listens[0].address, "0.0.0.0:8443");
	cf = c2;

	ck_assert_msg(load("user: root\n") != NULL, "%s", err);
	ck_assert_str_eq(cf->user, "root");
	load_fails("user: no-such-user-here\n", 1, "user", "no such user");
	load_fails("listen:\n  - { address: \"0.0.0.0:1\", tls: { cert: c.pem,"
	    " kye: k.pem } }\n", 2, "listen[0].tls.kye", "did you mean key?");
	load_fails("listen: { address: \"0.0.0.0:1\", tls: { cert: c.pem } }\n",
	    1, "listen.tls", "needs both cert and key");
	load_fails("listen: { adress: \"0.0.0.0:1\" }\n", 1, "listen.adress",
	    "did you mean address?");
	load_fails("listen: [ \"127.0.0.1:1\", \"127.0.0.1:1\" ]\n", 1,
	    "listen[1]", "listed twice");
	load_fails("listen: [ ]\n", 1, "listen", "1 to 16");
	load_fails("listen:\n", 1, "listen", "{ address, tls }");
	load_fails("limits: { header_timeot: 5s }\n", 1,
	    "limits.header_timeot", "did you mean header_timeout?");
	load_fails("limits: { body_timeout: 0s }\n", 1, "limits.body_timeout",
	    "between 1s and 1h");
}
END_TEST

Suite *
make_config_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("config");

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, config_setup, config_teardown);
	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_json_syntax);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_default);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_evidence_types);
	tcase_add_test(tc, test_yaml_types);
	tcase_add_test(tc, test_yaml_aliases);
	suite_add_tcase(s, tc);

	/* A million nodes: quick, but not under valgrind's default timeout. */
	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_yaml_alias_bomb);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, config_setup, config_teardown);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_bad_listen_ledger);
	tcase_add_test(tc, test_bad_agent_secret);
	tcase_add_test(tc, test_bad_tokens);
	tcase_add_test(tc, test_bad_evidence_types);
	tcase_add_test(tc, test_yaml_syntax);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_suggest);
	tcase_add_test(tc, test_strict);
	tcase_add_test(tc, test_listen_tls);
	suite_add_tcase(s, tc);

	return (s);
}
