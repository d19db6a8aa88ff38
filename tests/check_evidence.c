/*
 * check_evidence.c: parsing evidence (evidence.c) against its type and the
 * coercion of properties (types.c), the canonical JSON and the chain hash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>

#include "milepost.h"
#include "check_milepost.h"

#define S	INT64_C(1000000)
#define T_JULY	(INT64_C(1751537300) * S)	/* 2025-07-03T10:08:20Z */
#define NOW	(INT64_C(1760000000) * S)

/* The example of POST /v1/evidence in INTERFACE.md. */
#define INTERFACE_EXAMPLE \
	"{\"type\":\"BuildCompleted\",\"subject\":\"b-17\"," \
	"\"time\":\"2025-07-03T10:08:20Z\"," \
	"\"properties\":{\"buildStatus\":\"success\",\"duration\":\"420s\"}," \
	"\"links\":{\"commit\":\"9fceb02\xe2\x80\xa6\",\"branch\":\"main\"," \
	"\"repo\":\"acme/shop\"}}"

/* A declared type with one property of each kind that coerces. */
static const char *custom_types =
	"Custom:\n"
	"  properties:\n"
	"    flag: { type: boolean }\n"
	"    count: { type: integer }\n"
	"    ratio: { type: number }\n"
	"    pct: { type: percentage }\n"
	"    at: { type: timestamp }\n"
	"    wait: { type: timespan }\n"
	"    level: { type: enum, options: [low, high] }\n"
	"    tags: { type: text, list: true }\n"
	"    spans: { type: timespan, list: true }\n";

static struct types	*types;
static struct evidence	*ev;
static char		 err[MP_ERRLEN], prop[128];

static void
evidence_setup(void)
{
	json_object	*decls;

	types = types_new();
	decls = yaml_parse(custom_types, strlen(custom_types),
	    "types.yaml", err, sizeof(err));
	if (decls == NULL)
		ck_abort_msg("yaml_parse: %s", err);
	if (types_load(types, decls, "types.yaml", err, sizeof(err)) == -1)
		ck_abort_msg("types_load: %s", err);
	json_object_put(decls);
	ev = NULL;
}

static void
evidence_teardown(void)
{
	evidence_free(ev);
	ev = NULL;
	types_free(types);
	types = NULL;
}

/*
 * Parse json (which the test owns and drops at once, so that nothing in
 * the record may borrow from it) as evidence from "agent"; ev is the
 * record on EV_OK.
 */
static enum ev_error
parse(const char *json, const char *default_id)
{
	json_object	*o;
	enum ev_error	 e;

	if ((o = json_tokener_parse(json)) == NULL)
		ck_abort_msg("test JSON does not parse: %s", json);
	evidence_free(ev);
	ev = NULL;
	err[0] = '\0';
	strlcpy(prop, "untouched", sizeof(prop));
	e = evidence_from_json(o, types, "agent", default_id, NOW, &ev, err,
	    sizeof(err), prop, sizeof(prop));
	json_object_put(o);
	if (e == EV_OK)
		ck_assert_ptr_nonnull(ev);
	else
		ck_assert_ptr_null(ev);
	return (e);
}

/* Parse json, which must be accepted; returns the stored properties. */
static const char *
props_of(const char *json)
{
	enum ev_error	e;

	e = parse(json, "msg_1");
	ck_assert_msg(e == EV_OK, "refused (%d, %s): %s", e, err, json);
	return (ev->properties);
}

static void
expect_syntax(const char *json, const char *default_id)
{
	enum ev_error	e;

	e = parse(json, default_id);
	ck_assert_msg(e == EV_SYNTAX, "%s: got %d, not EV_SYNTAX (%s)", json,
	    e, err);
	ck_assert_msg(err[0] != '\0', "no error message for %s", json);
}

static void
expect_type(const char *json, const char *wantprop)
{
	enum ev_error	e;

	e = parse(json, "msg_1");
	ck_assert_msg(e == EV_TYPE, "%s: got %d, not EV_TYPE (%s)", json, e,
	    err);
	ck_assert_msg(strcmp(prop, wantprop) == 0, "%s: property \"%s\", "
	    "not \"%s\" (%s)", json, prop, wantprop, err);
	ck_assert_msg(err[0] != '\0', "no error message for %s", json);
}

START_TEST(test_interface_example)
{
	ck_assert_int_eq(parse(INTERFACE_EXAMPLE, "msg_1"), EV_OK);
	ck_assert_str_eq(ev->id, "msg_1");
	ck_assert_str_eq(ev->source, "agent");
	ck_assert_str_eq(ev->type, "BuildCompleted");
	ck_assert_str_eq(ev->subject, "b-17");
	ck_assert_int_eq(ev->time, T_JULY);
	ck_assert_str_eq(ev->properties,
	    "{\"buildStatus\":\"success\",\"duration\":420}");
	/* Links sorted by key; multi-byte UTF-8 kept as it came. */
	ck_assert_str_eq(ev->links, "{\"branch\":\"main\","
	    "\"commit\":\"9fceb02\xe2\x80\xa6\",\"repo\":\"acme/shop\"}");
}
END_TEST

START_TEST(test_defaults)
{
	/* An "id" field wins over the request's id. */
	ck_assert_int_eq(parse("{\"id\":\"own-1\",\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b-1\"}}", "msg_1"), EV_OK);
	ck_assert_str_eq(ev->id, "own-1");
	/* Without one, default_id; time is now; subject and links empty. */
	ck_assert_int_eq(parse("{\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b-1\"}}", "msg_1.3"), EV_OK);
	ck_assert_str_eq(ev->id, "msg_1.3");
	ck_assert_int_eq(ev->time, NOW);
	ck_assert_str_eq(ev->subject, "");
	ck_assert_str_eq(ev->links, "{}");
	ck_assert_str_eq(ev->properties, "{\"buildId\":\"b-1\"}");
	ck_assert_int_eq(ev->seq, 0);
	/* JSON nulls count as absent. */
	ck_assert_int_eq(parse("{\"type\":\"BuildStartedEvent\",\"subject\":null,"
	    "\"time\":null,\"links\":null,"
	    "\"properties\":{\"buildId\":\"b-1\"}}", "msg_1"), EV_OK);
	ck_assert_int_eq(ev->time, NOW);
	ck_assert_str_eq(ev->links, "{}");
	/* An id of exactly MP_IDMAX characters is fine. */
	{
		char	json[MP_IDMAX + 128], id[MP_IDMAX + 1];

		memset(id, 'i', MP_IDMAX);
		id[MP_IDMAX] = '\0';
		snprintf(json, sizeof(json), "{\"id\":\"%s\",\"type\":"
		    "\"BuildStartedEvent\",\"properties\":{\"buildId\":\"b\"}}",
		    id);
		ck_assert_int_eq(parse(json, NULL), EV_OK);
		ck_assert_str_eq(ev->id, id);
	}
}
END_TEST

START_TEST(test_canonical_json)
{
	json_object	*a, *b;
	struct buf	 ba, bb;

	a = json_tokener_parse("{\"z\":1,\"a\":{\"y\":[3,{\"q\":true,\"b\":null}],"
	    "\"b\":\"x/y \\\"q\\\"\"},\"m\":\"\xc3\xa9\"}");
	b = json_tokener_parse("{ \"m\" : \"\\u00e9\", \"a\" : { \"b\" : "
	    "\"x\\/y \\\"q\\\"\", \"y\" : [ 3, { \"b\" : null, \"q\" : true } ] },"
	    " \"z\" : 1 }");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	buf_init(&ba);
	buf_init(&bb);
	evidence_canonical_json(a, &ba);
	evidence_canonical_json(b, &bb);
	ck_assert_str_eq(buf_cstr(&ba), "{\"a\":{\"b\":\"x/y \\\"q\\\"\","
	    "\"y\":[3,{\"b\":null,\"q\":true}]},\"m\":\"\xc3\xa9\",\"z\":1}");
	ck_assert_uint_eq(ba.len, bb.len);
	ck_assert_mem_eq(ba.data, bb.data, ba.len);
	buf_free(&ba);
	buf_free(&bb);
	json_object_put(a);
	json_object_put(b);

	/* Keys sort by byte value: upper case before lower, "a" < "aa". */
	a = json_tokener_parse("{\"b\":1,\"aa\":2,\"B\":3,\"a\":4,\"\":5}");
	buf_init(&ba);
	evidence_canonical_json(a, &ba);
	ck_assert_str_eq(buf_cstr(&ba),
	    "{\"\":5,\"B\":3,\"a\":4,\"aa\":2,\"b\":1}");
	buf_free(&ba);
	json_object_put(a);

	a = json_object_new_object();
	buf_init(&ba);
	evidence_canonical_json(a, &ba);
	evidence_canonical_json(NULL, &ba);
	ck_assert_str_eq(buf_cstr(&ba), "{}null");
	buf_free(&ba);
	json_object_put(a);
}
END_TEST

/*
 * Strings (values and keys) are written without json-c when they need no
 * escape; the text must be exactly json-c's, for every byte value.
 */
START_TEST(test_canonical_strings)
{
	json_object	*s, *o;
	struct buf	 b, want;
	char		 str[8];
	int		 c;

	for (c = 1; c < 256; c++) {
		snprintf(str, sizeof(str), "a%cb/", c);
		s = json_object_new_string(str);
		buf_init(&b);
		evidence_canonical_json(s, &b);
		ck_assert_msg(strcmp(buf_cstr(&b), json_object_to_json_string_ext(s,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) == 0,
		    "byte 0x%02x: %s", c, buf_cstr(&b));
		/* The same string as a key. */
		o = json_object_new_object();
		json_object_object_add(o, str, json_object_new_int(1));
		buf_reset(&b);
		evidence_canonical_json(o, &b);
		buf_init(&want);
		buf_printf(&want, "{%s:1}", json_object_to_json_string_ext(s,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		ck_assert_str_eq(buf_cstr(&b), buf_cstr(&want));
		buf_free(&want);
		buf_free(&b);
		json_object_put(o);
		json_object_put(s);
	}
	/* An embedded NUL is kept, escaped, as json-c writes it. */
	s = json_object_new_string_len("a\0b", 3);
	buf_init(&b);
	evidence_canonical_json(s, &b);
	ck_assert_str_eq(buf_cstr(&b), "\"a\\u0000b\"");
	buf_free(&b);
	json_object_put(s);
	/* More than 16 members (the on-stack array) still sort. */
	o = json_object_new_object();
	for (c = 40; c >= 0; c--) {
		snprintf(str, sizeof(str), "k%02d", c);
		json_object_object_add(o, str, json_object_new_int(c));
	}
	buf_init(&b);
	evidence_canonical_json(o, &b);
	ck_assert(strncmp(buf_cstr(&b), "{\"k00\":0,\"k01\":1,", 17) == 0);
	ck_assert(strstr(buf_cstr(&b), "\"k39\":39,\"k40\":40}") != NULL);
	buf_free(&b);
	json_object_put(o);
}
END_TEST

/* Links and properties are stored the same whatever order they came in. */
START_TEST(test_order_independent)
{
	char	*p, *l;

	ck_assert_int_eq(parse("{\"type\":\"BuildCompleted\","
	    "\"properties\":{\"duration\":420,\"exitCode\":0,"
	    "\"buildStatus\":\"failure\"},"
	    "\"links\":{\"repo\":\"r\",\"branch\":\"b\",\"commit\":\"c\"}}",
	    "msg_1"), EV_OK);
	p = xstrdup(ev->properties);
	l = xstrdup(ev->links);
	ck_assert_int_eq(parse("{\"links\":{\"commit\":\"c\",\"repo\":\"r\","
	    "\"branch\":\"b\"},\"properties\":{\"buildStatus\":\"failure\","
	    "\"exitCode\":0,\"duration\":\"7m\"},\"type\":\"BuildCompleted\"}",
	    "msg_1"), EV_OK);
	ck_assert_str_eq(ev->links, l);
	ck_assert_str_eq(ev->links, "{\"branch\":\"b\",\"commit\":\"c\","
	    "\"repo\":\"r\"}");
	ck_assert_str_eq(ev->properties, p);
	ck_assert_str_eq(ev->properties, "{\"buildStatus\":\"failure\","
	    "\"duration\":420,\"exitCode\":0}");
	free(p);
	free(l);
}
END_TEST

START_TEST(test_syntax_errors)
{
	char	json[MP_IDMAX + 128], id[MP_IDMAX + 2];

	/* Not an object. */
	expect_syntax("[{\"type\":\"BuildStartedEvent\"}]", "msg_1");
	expect_syntax("\"BuildStartedEvent\"", "msg_1");
	expect_syntax("42", "msg_1");
	ck_assert_int_eq(evidence_from_json(NULL, types, "agent", "msg_1",
	    NOW, &ev, err, sizeof(err), prop, sizeof(prop)), EV_SYNTAX);
	ck_assert_ptr_null(ev);
	/* The type. */
	expect_syntax("{\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":42}", "msg_1");
	expect_syntax("{\"type\":\"\"}", "msg_1");
	expect_syntax("{\"type\":null}", "msg_1");
	/* Unknown top-level fields, named in prop. */
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"seq\":4,"
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	ck_assert_str_eq(prop, "seq");
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"Subject\":\"x\","
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	/* Time. */
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"time\":\"yesterday\","
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"time\":1751537300,"
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":\"BuildStartedEvent\","
	    "\"time\":\"2025-07-03T10:08:20\","
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	/* Links. */
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"links\":{\"pr\":17},"
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"links\":{\"a\":\"x\","
	    "\"b\":null},\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"links\":[\"x\"],"
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"links\":\"x\","
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"links\":{\"\":\"x\"},"
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	/* Subject and properties. */
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"subject\":17,"
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":\"BuildStartedEvent\",\"properties\":[1]}",
	    "msg_1");

	/* Bounds: a subject of 1025 bytes, 65 links, a 65-byte link name. */
	{
		struct buf	b;
		int		i;

		buf_init(&b);
		buf_adds(&b, "{\"type\":\"BuildStartedEvent\",\"subject\":\"");
		for (i = 0; i < 1025; i++)
			buf_addc(&b, 's');
		buf_adds(&b, "\",\"properties\":{\"buildId\":\"b\"}}");
		expect_syntax(buf_cstr(&b), "msg_1");
		buf_reset(&b);
		buf_adds(&b, "{\"type\":\"BuildStartedEvent\",\"links\":{");
		for (i = 0; i < 65; i++)
			buf_printf(&b, "%s\"l%d\":\"v\"", i ? "," : "", i);
		buf_adds(&b, "},\"properties\":{\"buildId\":\"b\"}}");
		expect_syntax(buf_cstr(&b), "msg_1");
		buf_reset(&b);
		buf_adds(&b, "{\"type\":\"BuildStartedEvent\",\"links\":{\"");
		for (i = 0; i < 65; i++)
			buf_addc(&b, 'k');
		buf_adds(&b, "\":\"v\"},\"properties\":{\"buildId\":\"b\"}}");
		expect_syntax(buf_cstr(&b), "msg_1");
		buf_free(&b);
	}

	/* Ids: spaces, control characters, empty, too long, not a string. */
	expect_syntax("{\"id\":\"a b\",\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b\"}}", NULL);
	expect_syntax("{\"id\":\"a\\tb\",\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b\"}}", NULL);
	expect_syntax("{\"id\":\"\",\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"id\":17,\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b\"}}", "msg_1");
	expect_syntax("{\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b\"}}", "has space");
	memset(id, 'i', MP_IDMAX + 1);
	id[MP_IDMAX + 1] = '\0';
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"type\":"
	    "\"BuildStartedEvent\",\"properties\":{\"buildId\":\"b\"}}", id);
	expect_syntax(json, NULL);
	ck_assert_str_eq(prop, "id");
	/* No id anywhere. */
	expect_syntax("{\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b\"}}", NULL);
	ck_assert_str_eq(prop, "id");
}
END_TEST

START_TEST(test_id_valid)
{
	ck_assert_int_eq(ident_valid("msg_p5jXN8AQM9LWM0D4loKWxJek"), 1);
	ck_assert_int_eq(ident_valid("a.b-c_d:e/f"), 1);
	ck_assert_int_eq(ident_valid(""), 0);
	ck_assert_int_eq(ident_valid("a b"), 0);
	ck_assert_int_eq(ident_valid("a\x7f"), 0);
	ck_assert_int_eq(ident_valid("caf\xc3\xa9"), 0);
}
END_TEST

START_TEST(test_type_errors)
{
	expect_type("{\"type\":\"NoSuchType\"}", "type");
	/* An undeclared property. */
	expect_type("{\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"b\",\"colour\":\"red\"}}", "colour");
	/* An enum value outside the options (case matters). */
	expect_type("{\"type\":\"BuildCompleted\","
	    "\"properties\":{\"buildStatus\":\"maybe\",\"duration\":1}}",
	    "buildStatus");
	expect_type("{\"type\":\"BuildCompleted\","
	    "\"properties\":{\"buildStatus\":\"Success\",\"duration\":1}}",
	    "buildStatus");
	expect_type("{\"type\":\"BuildCompleted\","
	    "\"properties\":{\"buildStatus\":true,\"duration\":1}}",
	    "buildStatus");
	/* A missing required property. */
	expect_type("{\"type\":\"BuildCompleted\","
	    "\"properties\":{\"buildStatus\":\"success\"}}", "duration");
	expect_type("{\"type\":\"BuildStartedEvent\"}", "buildId");
	expect_type("{\"type\":\"BuildStartedEvent\",\"properties\":{}}",
	    "buildId");
	/* Values that break their type. */
	expect_type("{\"type\":\"BuildCompleted\",\"properties\":"
	    "{\"buildStatus\":\"success\",\"duration\":1,\"exitCode\":\"abc\"}}",
	    "exitCode");
	expect_type("{\"type\":\"BuildCompleted\",\"properties\":"
	    "{\"buildStatus\":\"success\",\"duration\":1,\"exitCode\":1.5}}",
	    "exitCode");
	expect_type("{\"type\":\"BuildCompleted\",\"properties\":"
	    "{\"buildStatus\":\"success\",\"duration\":\"soon\"}}", "duration");
	expect_type("{\"type\":\"BuildCompleted\",\"properties\":"
	    "{\"buildStatus\":\"success\",\"duration\":-5}}", "duration");
	expect_type("{\"type\":\"BuildCompleted\",\"properties\":"
	    "{\"buildStatus\":\"success\",\"duration\":null}}", "duration");
	expect_type("{\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":7}}", "buildId");
	/* A list for a property that is not one. */
	expect_type("{\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":[\"b\"]}}", "buildId");
	/* The declared type's properties. */
	expect_type("{\"type\":\"Custom\",\"properties\":{\"flag\":\"yes\"}}",
	    "flag");
	expect_type("{\"type\":\"Custom\",\"properties\":{\"pct\":101}}", "pct");
	expect_type("{\"type\":\"Custom\",\"properties\":{\"pct\":\"-1%\"}}",
	    "pct");
	expect_type("{\"type\":\"Custom\",\"properties\":{\"pct\":\"12.5%%\"}}",
	    "pct");
	expect_type("{\"type\":\"Custom\",\"properties\":{\"ratio\":\"2x\"}}",
	    "ratio");
	expect_type("{\"type\":\"Custom\",\"properties\":"
	    "{\"at\":\"2025-07-03\"}}", "at");
	expect_type("{\"type\":\"Custom\",\"properties\":{\"level\":\"mid\"}}",
	    "level");
	expect_type("{\"type\":\"Custom\",\"properties\":"
	    "{\"tags\":[\"a\",3]}}", "tags");
	expect_type("{\"type\":\"Custom\",\"properties\":"
	    "{\"tags\":[\"a\",null]}}", "tags");
	expect_type("{\"type\":\"Custom\",\"properties\":"
	    "{\"spans\":[\"1m\",\"later\"]}}", "spans");
}
END_TEST

START_TEST(test_coercions)
{
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"flag\":\"true\",\"count\":\"3\",\"pct\":\"12.5%\"}}"),
	    "{\"count\":3,\"flag\":true,\"pct\":12.5}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"flag\":\"false\",\"count\":-3,\"pct\":\"12.5\"}}"),
	    "{\"count\":-3,\"flag\":false,\"pct\":12.5}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"flag\":true,\"pct\":50,\"ratio\":\"2.5\"}}"),
	    "{\"flag\":true,\"pct\":50,\"ratio\":2.5}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"pct\":\"100%\",\"ratio\":\"4\"}}"),
	    "{\"pct\":100,\"ratio\":4}");
	/* A timestamp with an offset is stored in UTC. */
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"at\":\"2025-07-03T12:08:20+02:00\"}}"),
	    "{\"at\":\"2025-07-03T10:08:20Z\"}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"at\":\"2025-07-03T10:08:20.5-00:30\"}}"),
	    "{\"at\":\"2025-07-03T10:38:20.500000Z\"}");
	/* Timespans in seconds, whole ones as integers. */
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"wait\":\"PT8M20S\"}}"), "{\"wait\":500}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"wait\":\"250ms\"}}"), "{\"wait\":0.25}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"wait\":\"500\"}}"), "{\"wait\":500}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"level\":\"high\"}}"), "{\"level\":\"high\"}");
	/* A list property wraps a single value, and keeps a list's order. */
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"tags\":\"a\"}}"), "{\"tags\":[\"a\"]}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"tags\":[\"b\",\"a\"]}}"), "{\"tags\":[\"b\",\"a\"]}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"tags\":[]}}"), "{\"tags\":[]}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"spans\":\"1m\"}}"), "{\"spans\":[60]}");
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"spans\":[\"1m\",30,\"PT1H\"]}}"), "{\"spans\":[60,30,3600]}");
	/* No properties at all is fine for a type without required ones. */
	ck_assert_str_eq(props_of("{\"type\":\"Custom\"}"), "{}");
}
END_TEST

/* What tests/fuzz found (its regress/ inputs): huge numbers, NULs. */
START_TEST(test_fuzz_findings)
{
	/* An integer is kept as it came, not rounded through a double. */
	ck_assert_str_eq(props_of("{\"type\":\"Custom\",\"properties\":"
	    "{\"ratio\":9223372036854775807}}"),
	    "{\"ratio\":9223372036854775807}");
	/* Beyond any integer: a double, never an out-of-range cast. */
	ck_assert_int_eq(parse("{\"type\":\"Custom\",\"properties\":"
	    "{\"ratio\":\"2e32\",\"wait\":1e300}}", "msg_1"), EV_OK);
	ck_assert_int_eq(parse("{\"type\":\"Custom\",\"properties\":"
	    "{\"spans\":[1e300,2.5]}}", "msg_1"), EV_OK);
	/* A C string would cut these at the NUL: refused, not stored cut. */
	expect_syntax("{\"id\":\"a\\u0000b\",\"type\":\"Custom\"}", NULL);
	expect_syntax("{\"type\":\"Custom\\u0000x\"}", "msg_1");
	expect_syntax("{\"type\":\"Custom\",\"subject\":\"a\\u0000b\"}",
	    "msg_1");
	expect_syntax("{\"type\":\"Custom\","
	    "\"time\":\"2025-07-03T10:08:20Z\\u0000x\"}", "msg_1");
	expect_syntax("{\"type\":\"Custom\",\"links\":{\"a\":\"b\\u0000c\"}}",
	    "msg_1");
	expect_type("{\"type\":\"Custom\",\"properties\":"
	    "{\"level\":\"high\\u0000x\"}}", "level");
	expect_type("{\"type\":\"Custom\",\"properties\":"
	    "{\"count\":\"3\\u0000x\"}}", "count");
	/* Text may hold one: it is stored whole, escaped. */
	ck_assert_int_eq(parse("{\"type\":\"BuildStartedEvent\","
	    "\"properties\":{\"buildId\":\"a\\u0000b\"}}", "msg_1"), EV_OK);
	ck_assert_str_eq(ev->properties, "{\"buildId\":\"a\\u0000b\"}");
}
END_TEST

START_TEST(test_to_json)
{
	json_object	*o, *v;

	ck_assert_int_eq(parse(INTERFACE_EXAMPLE, "msg_1"), EV_OK);
	ev->seq = 12;
	ev->recorded_at = T_JULY + 1500000;
	evidence_hash(ev, LEDGER_GENESIS, ev->hash);
	o = evidence_to_json(ev);
	ck_assert(json_object_object_get_ex(o, "seq", &v));
	ck_assert_int_eq(json_object_get_int64(v), 12);
	ck_assert(json_object_object_get_ex(o, "time", &v));
	ck_assert_str_eq(json_object_get_string(v), "2025-07-03T10:08:20Z");
	ck_assert(json_object_object_get_ex(o, "recorded_at", &v));
	ck_assert_str_eq(json_object_get_string(v),
	    "2025-07-03T10:08:21.500000Z");
	ck_assert(json_object_object_get_ex(o, "source", &v));
	ck_assert_str_eq(json_object_get_string(v), "agent");
	ck_assert(json_object_object_get_ex(o, "properties", &v));
	ck_assert(json_object_object_get_ex(v, "duration", &v));
	ck_assert_int_eq(json_object_get_int(v), 420);
	ck_assert(json_object_object_get_ex(o, "links", &v));
	ck_assert(json_object_object_get_ex(v, "repo", &v));
	ck_assert_str_eq(json_object_get_string(v), "acme/shop");
	ck_assert(json_object_object_get_ex(o, "hash", &v));
	ck_assert_str_eq(json_object_get_string(v), ev->hash);
	json_object_put(o);
}
END_TEST

/* The record whose hash is pinned below. */
static struct evidence *
hash_base(void)
{
	struct evidence	*e;

	e = evidence_new();
	e->seq = 7;
	e->id = xstrdup("msg_1");
	e->source = xstrdup("agent");
	e->type = xstrdup("BuildCompleted");
	e->subject = xstrdup("b-17");
	e->time = T_JULY;
	e->recorded_at = T_JULY + 1500000;
	e->properties = xstrdup("{\"buildStatus\":\"success\",\"duration\":420}");
	e->links = xstrdup("{\"branch\":\"main\",\"commit\":\"9fceb02\xe2\x80\xa6\"}");
	return (e);
}

/*
 * The pin guards the on-disk format: every stored ledger entry carries
 * this hash, so a change to the canonical encoding (field order, the
 * netstring framing, the "milepost-ledger-v1" tag, number formatting)
 * breaks verification of every existing ledger.  The value was computed
 * independently (Python hashlib over the netstrings) and must never be
 * updated to make this test pass.
 */
#define HASH_PIN "ab7fbea5d4b9b4a0bd6ee4fc72fa7b049d724d94610cc750c942a357e290dc8e"

START_TEST(test_hash_known_answer)
{
	char	h[MP_HASHLEN], again[MP_HASHLEN];

	ev = hash_base();
	evidence_hash(ev, LEDGER_GENESIS, h);
	ck_assert_str_eq(h, HASH_PIN);
	evidence_hash(ev, LEDGER_GENESIS, again);
	ck_assert_str_eq(h, again);
	ck_assert_uint_eq(strlen(h), 64);
	ck_assert_uint_eq(strspn(h, "0123456789abcdef"), 64);
}
END_TEST

/* Every field the hash covers, changed one at a time. */
static const char *hash_fields[] = { "seq", "id", "source", "type",
    "subject", "time", "recorded_at", "properties", "links", "prev" };
#define NHASH_FIELDS	((int)(sizeof(hash_fields) / sizeof(hash_fields[0])))

static void
replace(char **p, const char *s)
{
	free(*p);
	*p = xstrdup(s);
}

START_TEST(test_hash_covers_field)
{
	char		 base[MP_HASHLEN], h[MP_HASHLEN];
	const char	*prev = LEDGER_GENESIS;

	ev = hash_base();
	evidence_hash(ev, LEDGER_GENESIS, base);
	switch (_i) {
	case 0:
		ev->seq++;
		break;
	case 1:
		replace(&ev->id, "msg_2");
		break;
	case 2:
		replace(&ev->source, "github");
		break;
	case 3:
		replace(&ev->type, "BuildStartedEvent");
		break;
	case 4:
		replace(&ev->subject, "b-18");
		break;
	case 5:
		ev->time++;
		break;
	case 6:
		ev->recorded_at++;
		break;
	case 7:
		replace(&ev->properties,
		    "{\"buildStatus\":\"failure\",\"duration\":420}");
		break;
	case 8:
		replace(&ev->links, "{}");
		break;
	case 9:
		prev = "1000000000000000000000000000000000000000000000000000000"
		    "000000000";
		break;
	}
	evidence_hash(ev, prev, h);
	ck_assert_msg(strcmp(h, base) != 0, "changing %s leaves the hash "
	    "unchanged", hash_fields[_i]);
}
END_TEST

/* The framing keeps field boundaries: "ab"+"c" is not "a"+"bc". */
START_TEST(test_hash_boundaries)
{
	char	a[MP_HASHLEN], b[MP_HASHLEN];

	ev = hash_base();
	replace(&ev->id, "ab");
	replace(&ev->source, "c");
	evidence_hash(ev, LEDGER_GENESIS, a);
	replace(&ev->id, "a");
	replace(&ev->source, "bc");
	evidence_hash(ev, LEDGER_GENESIS, b);
	ck_assert_str_ne(a, b);
	replace(&ev->subject, "");
	replace(&ev->type, "");
	evidence_hash(ev, LEDGER_GENESIS, a);
	replace(&ev->subject, ",");
	evidence_hash(ev, LEDGER_GENESIS, b);
	ck_assert_str_ne(a, b);
}
END_TEST

/*
 * Issue keys: source_message_keys scans for what the extended regular
 * expression \b([A-Z][A-Z0-9]+-[0-9]+)\b finds; compare the two on
 * pseudo-random messages over a small alphabet that makes every edge
 * (word boundaries, digits, dashes, "M-" milestones) common.
 */
static void
keys_by_regex(regex_t *re, const char *msg, struct buf *out)
{
	regmatch_t	m[2];
	const char	*p;
	int		n = 0;

	for (p = msg; n < 32 && regexec(re, p, 2, m, p == msg ? 0 :
	    REG_NOTBOL) == 0; p += m[0].rm_eo) {
		if (strncmp(p + m[1].rm_so, "M-", 2) != 0) {
			buf_printf(out, "%s\"%.*s\"", n ? "," : "",
			    (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
			n++;
		}
		if (m[0].rm_eo == 0)
			break;
	}
}

START_TEST(test_message_keys)
{
	static const char alpha[] = "ABMZ019-_ a\n.";
	regex_t		 re;
	json_object	*evo, *keys;
	struct buf	 want, got;
	char		 msg[40];
	uint32_t	 x = 88172645u;
	int		 i, j;

	ck_assert_int_eq(regcomp(&re, "\\b([A-Z][A-Z0-9]+-[0-9]+)\\b",
	    REG_EXTENDED), 0);
	for (i = 0; i < 5000; i++) {
		for (j = 0; j < (int)sizeof(msg) - 1; j++) {
			x ^= x << 13; x ^= x >> 17; x ^= x << 5;
			msg[j] = alpha[x % (sizeof(alpha) - 1)];
		}
		msg[j] = '\0';
		evo = json_object_new_object();
		json_object_object_add(evo, "properties",
		    json_object_new_object());
		source_message_keys(evo, msg);
		buf_init(&want);
		buf_init(&got);
		keys_by_regex(&re, msg, &want);
		if (json_object_object_get_ex(json_object_object_get(evo,
		    "properties"), "issueKeys", &keys)) {
			const char *t = json_object_to_json_string_ext(keys,
			    JSON_C_TO_STRING_PLAIN);

			buf_add(&got, t + 1, strlen(t) - 2);
		}
		ck_assert_msg(strcmp(buf_cstr(&want), buf_cstr(&got)) == 0,
		    "\"%s\": regex [%s], scan [%s]", msg, buf_cstr(&want),
		    buf_cstr(&got));
		buf_free(&want);
		buf_free(&got);
		json_object_put(evo);
	}
	regfree(&re);
}
END_TEST

Suite *
make_evidence_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("evidence");

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, evidence_setup, evidence_teardown);
	tcase_add_test(tc, test_interface_example);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_canonical_json);
	tcase_add_test(tc, test_canonical_strings);
	tcase_add_test(tc, test_message_keys);
	tcase_add_test(tc, test_order_independent);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_id_valid);
	tcase_add_test(tc, test_type_errors);
	tcase_add_test(tc, test_coercions);
	tcase_add_test(tc, test_fuzz_findings);
	tcase_add_test(tc, test_to_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_checked_fixture(tc, evidence_setup, evidence_teardown);
	tcase_add_test(tc, test_hash_known_answer);
	tcase_add_loop_test(tc, test_hash_covers_field, 0, NHASH_FIELDS);
	tcase_add_test(tc, test_hash_boundaries);
	suite_add_tcase(s, tc);

	return (s);
}
