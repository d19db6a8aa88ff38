/*
 * yaml.c: YAML (and therefore JSON) text -> json-c tree, with the source
 * line of every node kept as the node's json-c userdata so that config.c
 * can name the line of a bad key.  Plain scalars are typed the YAML 1.2
 * core way (null, booleans, integers, floats); quoted ones stay strings.
 * Aliases are expanded with a bound on the total node count.
 */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "util/util.h"

#define YAML_MAX_NODES	1000000
#define YAML_MAX_DEPTH	64

struct anchor {
	char		*name;
	json_object	*obj;
};

struct yparse {
	yaml_parser_t	 parser;
	const char	*file;
	char		*err;
	size_t		 errlen;
	struct anchor	*anchors;
	size_t		 nanchors;
	size_t		 nodes;
	int		 depth;
};

static json_object *yaml_node(struct yparse *, yaml_event_t *, int *);

static void
yaml_seterr(struct yparse *y, size_t line, const char *fmt, const char *arg)
{
	char	msg[MP_ERRLEN];

	snprintf(msg, sizeof(msg), fmt, arg);
	snprintf(y->err, y->errlen, "%s:%zu: %s", y->file, line, msg);
}

static void
yaml_setline(json_object *o, size_t line)
{
	if (o != NULL)
		json_object_set_userdata(o, (void *)(uintptr_t)line, NULL);
}

/* The line (1-based) a node was read from, or 0. */
int
yaml_line(json_object *o)
{
	if (o == NULL)
		return (0);
	return ((int)(uintptr_t)json_object_get_userdata(o));
}

/*
 * Every configuration error: "file:line: key: reason", the line being that
 * of node o.  Returns -1, for "return (yaml_errf(...));".
 */
void
yaml_verrf(char *err, size_t errlen, const char *file, json_object *o,
    const char *key, const char *fmt, va_list ap)
{
	char	msg[MP_ERRLEN];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(err, errlen, "%s:%d: %s: %s", file, yaml_line(o), key, msg);
}

int
yaml_errf(char *err, size_t errlen, const char *file, json_object *o,
    const char *key, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	yaml_verrf(err, errlen, file, o, key, fmt, ap);
	va_end(ap);
	return (-1);
}

static int
yaml_match(const char *s, const char *re)
{
	regex_t	r;
	int	ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return (0);
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return (ok);
}

/* Type a plain scalar per the YAML 1.2 core schema. */
static json_object *
yaml_plain(const char *s, int *isnull)
{
	char	*end;

	*isnull = 0;
	if (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0) {
		*isnull = 1;
		return (NULL);
	}
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0)
		return (json_object_new_boolean(1));
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
	    strcmp(s, "FALSE") == 0)
		return (json_object_new_boolean(0));
	if (yaml_match(s, "^[-+]?[0-9]+$")) {
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return (json_object_new_int64(v));
	}
	if (yaml_match(s, "^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$")) {
		double d = strtod(s, &end);

		if (*end == '\0' && isfinite(d))
			return (json_object_new_double(d));
	}
	return (json_object_new_string(s));
}

static int
yaml_next(struct yparse *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev)) {
		snprintf(y->err, y->errlen, "%s:%zu: %s%s%s", y->file,
		    y->parser.problem_mark.line + 1,
		    y->parser.problem ? y->parser.problem : "syntax error",
		    y->parser.context ? " " : "",
		    y->parser.context ? y->parser.context : "");
		return (-1);
	}
	return (0);
}

static void
yaml_anchor(struct yparse *y, const yaml_char_t *name, json_object *o)
{
	if (name == NULL)
		return;
	y->anchors = xreallocarray(y->anchors, y->nanchors + 1,
	    sizeof(*y->anchors));
	y->anchors[y->nanchors].name = xstrdup((const char *)name);
	y->anchors[y->nanchors].obj = o ? json_object_get(o) : NULL;
	y->nanchors++;
}

static json_object *
yaml_mapping(struct yparse *y, yaml_event_t *start, int *fail)
{
	json_object	*map, *val;
	yaml_event_t	 ev;
	char		*key;
	size_t		 keyline;
	int		 isnull;

	map = json_object_new_object();
	yaml_setline(map, start->start_mark.line + 1);
	yaml_anchor(y, start->data.mapping_start.anchor, map);
	for (;;) {
		if (yaml_next(y, &ev) == -1)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return (map);
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			yaml_seterr(y, ev.start_mark.line + 1,
			    "%s", "a mapping key must be a plain string");
			yaml_event_delete(&ev);
			goto fail;
		}
		key = xstrdup((const char *)ev.data.scalar.value);
		keyline = ev.start_mark.line + 1;
		yaml_event_delete(&ev);
		if (json_object_object_get_ex(map, key, NULL)) {
			yaml_seterr(y, keyline, "%s: duplicate key", key);
			free(key);
			goto fail;
		}
		if (yaml_next(y, &ev) == -1) {
			free(key);
			goto fail;
		}
		val = yaml_node(y, &ev, fail);
		yaml_event_delete(&ev);
		if (*fail) {
			free(key);
			goto fail;
		}
		isnull = val == NULL;
		(void)isnull;
		/*
		 * A key's line is the line to blame for its value, even for
		 * a block mapping or sequence, which starts a line later.
		 */
		yaml_setline(val, keyline);
		json_object_object_add(map, key, val);
		free(key);
	}
fail:
	*fail = 1;
	json_object_put(map);
	return (NULL);
}

static json_object *
yaml_sequence(struct yparse *y, yaml_event_t *start, int *fail)
{
	json_object	*arr, *val;
	yaml_event_t	 ev;

	arr = json_object_new_array();
	yaml_setline(arr, start->start_mark.line + 1);
	yaml_anchor(y, start->data.sequence_start.anchor, arr);
	for (;;) {
		if (yaml_next(y, &ev) == -1)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return (arr);
		}
		val = yaml_node(y, &ev, fail);
		yaml_event_delete(&ev);
		if (*fail)
			goto fail;
		json_object_array_add(arr, val);
	}
fail:
	*fail = 1;
	json_object_put(arr);
	return (NULL);
}

/* The number of nodes in o, counting no further than max. */
static size_t
yaml_count(json_object *o, size_t max)
{
	size_t	n = 1, i, len;

	switch (json_object_get_type(o)) {
	case json_type_object: {	/* a block: the macro declares */
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (n > max)
				break;
			n += yaml_count(v, max);
		}
		break;
	}
	case json_type_array:
		len = json_object_array_length(o);
		for (i = 0; i < len && n <= max; i++)
			n += yaml_count(json_object_array_get_idx(o, i), max);
		break;
	default:
		break;
	}
	return (n);
}

/*
 * Copy one node of an alias for json_object_deep_copy, keeping its line:
 * json-c's default copy refuses nodes that carry userdata.
 */
static int
yaml_copy(json_object *src, json_object *parent, const char *key,
    size_t index, json_object **dst)
{
	if (json_c_shallow_copy_default(src, parent, key, index, dst) != 1)
		return (-1);
	yaml_setline(*dst, (size_t)yaml_line(src));
	return (2);
}

static json_object *
yaml_node(struct yparse *y, yaml_event_t *ev, int *fail)
{
	json_object	*o = NULL;
	const char	*v;
	size_t		 i;
	int		 isnull;

	if (++y->nodes > YAML_MAX_NODES) {
		yaml_seterr(y, ev->start_mark.line + 1, "%s",
		    "too many nodes (alias expansion?)");
		*fail = 1;
		return (NULL);
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		v = (const char *)ev->data.scalar.value;
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    ev->data.scalar.tag == NULL)
			o = yaml_plain(v, &isnull);
		else
			o = json_object_new_string_len(v,
			    (int)ev->data.scalar.length);
		yaml_setline(o, ev->start_mark.line + 1);
		yaml_anchor(y, ev->data.scalar.anchor, o);
		return (o);
	case YAML_ALIAS_EVENT:
		for (i = y->nanchors; i-- > 0;) {
			if (strcmp(y->anchors[i].name,
			    (const char *)ev->data.alias.anchor) != 0)
				continue;
			if (y->anchors[i].obj == NULL)
				return (NULL);
			/* Count before copying, so the bound holds. */
			y->nodes += yaml_count(y->anchors[i].obj,
			    YAML_MAX_NODES);
			if (y->nodes > YAML_MAX_NODES) {
				yaml_seterr(y, ev->start_mark.line + 1, "%s",
				    "too many nodes (alias expansion?)");
				*fail = 1;
				return (NULL);
			}
			if (json_object_deep_copy(y->anchors[i].obj, &o,
			    yaml_copy) != 0) {
				yaml_seterr(y, ev->start_mark.line + 1,
				    "cannot expand alias *%s",
				    (const char *)ev->data.alias.anchor);
				*fail = 1;
				return (NULL);
			}
			return (o);
		}
		yaml_seterr(y, ev->start_mark.line + 1, "unknown alias *%s",
		    (const char *)ev->data.alias.anchor);
		*fail = 1;
		return (NULL);
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (++y->depth > YAML_MAX_DEPTH) {
			yaml_seterr(y, ev->start_mark.line + 1, "%s",
			    "nested too deeply");
			*fail = 1;
			return (NULL);
		}
		o = ev->type == YAML_MAPPING_START_EVENT ?
		    yaml_mapping(y, ev, fail) : yaml_sequence(y, ev, fail);
		y->depth--;
		return (o);
	default:
		yaml_seterr(y, ev->start_mark.line + 1, "%s",
		    "unexpected YAML event");
		*fail = 1;
		return (NULL);
	}
}

/*
 * Parse len bytes of YAML or JSON text; file names the source in errors.
 * Returns a new tree (taken by the caller; an empty document is an empty
 * object), or NULL with err set to "file:line: reason".
 */
json_object *
yaml_parse(const char *text, size_t len, const char *file,
    char *err, size_t errlen)
{
	struct yparse	 y;
	yaml_event_t	 ev;
	json_object	*root = NULL;
	int		 fail = 0, done = 0;
	size_t		 i;

	memset(&y, 0, sizeof(y));
	y.file = file;
	y.err = err;
	y.errlen = errlen;
	if (!yaml_parser_initialize(&y.parser))
		fatalx("%s: yaml_parser_initialize", __func__);
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text,
	    len);
	while (!done && !fail) {
		if (yaml_next(&y, &ev) == -1) {
			fail = 1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (root != NULL) {
				yaml_seterr(&y, ev.start_mark.line + 1, "%s",
				    "only one YAML document is allowed");
				fail = 1;
			}
			break;
		default:
			root = yaml_node(&y, &ev, &fail);
			if (!fail && root == NULL)
				root = json_object_new_object();
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y.parser);
	for (i = 0; i < y.nanchors; i++) {
		free(y.anchors[i].name);
		json_object_put(y.anchors[i].obj);
	}
	free(y.anchors);
	if (fail) {
		json_object_put(root);
		return (NULL);
	}
	if (root == NULL)
		root = json_object_new_object();
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "%s:%d: the top level must be a mapping",
		    file, yaml_line(root));
		json_object_put(root);
		return (NULL);
	}
	return (root);
}

/*
 * A string, or a list of strings, each at least minlen characters (1:
 * non-empty): taken copies appended to *v, counted in *n.  With
 * YAML_NONEMPTY an empty list is refused too.  The one wording of a bad
 * list, for every section.  Returns 0, or -1 with err set.
 */
int
yaml_strlist(json_object *val, const char *file, const char *key,
    size_t minlen, int flags, char ***v, size_t *n, char *err, size_t errlen)
{
	json_object	*one;
	size_t		 i, cnt;
	int		 arr = json_object_is_type(val, json_type_array);

	if (minlen < 1)
		minlen = 1;
	if (!arr && !json_object_is_type(val, json_type_string))
		return (yaml_errf(err, errlen, file, val, key, "must be a "
		    "string, or a list of strings"));
	cnt = arr ? json_object_array_length(val) : 1;
	if (cnt == 0 && (flags & YAML_NONEMPTY))
		return (yaml_errf(err, errlen, file, val, key, "the list is "
		    "empty"));
	for (i = 0; i < cnt; i++) {
		one = arr ? json_object_array_get_idx(val, i) : val;
		if (!json_object_is_type(one, json_type_string) ||
		    strlen(json_object_get_string(one)) < minlen) {
			if (minlen > 1)
				return (yaml_errf(err, errlen, file, one ? one :
				    val, key, "entry %zu must be a string of at "
				    "least %zu characters", i + 1, minlen));
			return (yaml_errf(err, errlen, file, one ? one : val,
			    key, "entry %zu must be a non-empty string",
			    i + 1));
		}
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = xstrdup(json_object_get_string(one));
	}
	return (0);
}
