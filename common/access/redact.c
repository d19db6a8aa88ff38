/*
 * redact.c: the attribute-based redaction policy.  For each token role, a
 * list of patterns names the fields removed from everything a token of
 * that role receives (claims, deployments, milestones, changes), at any
 * depth the pattern allows, before the body is serialised and its ETag
 * computed.  A pattern is a dotted path of keys from the object's root:
 *
 *	properties.message	the key "message" of "properties"
 *	links.*author*		any link whose name contains "author"
 *	**.notes		"notes" at any depth (basis, deltas, ...)
 *
 * Each segment is an fnmatch(3) glob, matched case-insensitively; "**"
 * matches zero or more levels (at most one per pattern, not last); arrays
 * are transparent (a path continues into every element).
 *
 * The client role starts with built-in patterns for commit messages,
 * people and incident notes; configuration adds to them, or drops them
 * with "builtin: false".
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"

#define REDACT_PATTERN_MAX	256
#define REDACT_SEGMENTS_MAX	32
#define REDACT_RULES_MAX	256	/* per role */

struct redact_rule {
	char		*text;
	char		**seg;
	size_t		 nseg;
	int		 builtin;	/* one of redact_builtin_client */
};

struct redaction {
	struct redact_rule *rules[ROLE_ADMIN + 1];
	size_t		 nrules[ROLE_ADMIN + 1];
	struct redact_rule *allow[ROLE_ADMIN + 1];	/* kept: allow: */
	size_t		 nallow[ROLE_ADMIN + 1];
};
#define REDACT_DEPTH_MAX	64	/* deeper fields are never kept */

/*
 * What a client never sees unless configuration says otherwise: commit
 * messages; people (authors, committers, e-mail, actors, assignees,
 * deployers, approvers, user names); incident notes, descriptions, titles
 * and summaries; and addresses of internal tools.
 */
static const char *redact_builtin_client[] = {
	"**.*message*",
	"**.*author*",
	"**.*committer*",
	"**.*email*",
	"**.actor",
	"**.*assignee*",
	"**.deployer",
	"**.approver",
	"**.user",
	"**.username",
	"**.login",
	"**.*notes*",
	"**.description",
	"**.title",
	"**.summary",
	"**.url",
	NULL
};

/*
 * Is s a usable pattern?  Returns 1, or 0 with why in err (which may be
 * NULL).
 */
int
redact_pattern_ok(const char *s, char *err, size_t errlen)
{
	const char	*p, *dot;
	size_t		 n = 0, len, stars = 0;
	int		 last;

	if (err == NULL)
		errlen = 0;
	if (*s == '\0' || strlen(s) > REDACT_PATTERN_MAX) {
		snprintf(err, errlen, "a pattern is 1 to %d characters",
		    REDACT_PATTERN_MAX);
		return (0);
	}
	for (p = s; ; p = dot + 1) {
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		last = dot == NULL;
		if (len == 0) {
			snprintf(err, errlen, "\"%s\" has an empty segment "
			    "(a dotted path such as properties.message)", s);
			return (0);
		}
		if (len == 2 && strncmp(p, "**", 2) == 0) {
			if (++stars > 1 || last) {
				snprintf(err, errlen, "\"%s\": ** may appear "
				    "once, and not last", s);
				return (0);
			}
		} else if (memmem(p, len, "**", 2) != NULL) {
			snprintf(err, errlen, "\"%s\": ** must be a whole "
			    "segment", s);
			return (0);
		}
		if (++n > REDACT_SEGMENTS_MAX) {
			snprintf(err, errlen, "\"%s\" has over %d segments", s,
			    REDACT_SEGMENTS_MAX);
			return (0);
		}
		if (last)
			break;
	}
	return (1);
}

/* Split a checked pattern into rule r. */
static void
redact_rule_init(struct redact_rule *r, const char *s)
{
	char	*copy, *p, *dot;

	memset(r, 0, sizeof(*r));
	r->text = xstrdup(s);
	copy = xstrdup(s);
	for (p = copy; p != NULL; p = dot) {
		if ((dot = strchr(p, '.')) != NULL)
			*dot++ = '\0';
		r->seg = xreallocarray(r->seg, r->nseg + 1, sizeof(*r->seg));
		r->seg[r->nseg++] = xstrdup(p);
	}
	free(copy);
}

static void
redact_rule_clear(struct redact_rule *r)
{
	size_t	i;

	for (i = 0; i < r->nseg; i++)
		free(r->seg[i]);
	free(r->seg);
	free(r->text);
}

static void
redact_add_to(struct redact_rule **rules, size_t *n, const char *s)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		if (strcmp((*rules)[i].text, s) == 0)
			return;
	*rules = xreallocarray(*rules, *n + 1, sizeof(**rules));
	redact_rule_init(&(*rules)[(*n)++], s);
}

static void
redact_add(struct redaction *rd, enum role role, const char *s)
{
	redact_add_to(&rd->rules[role], &rd->nrules[role], s);
}

static void
redact_clear_role(struct redaction *rd, enum role role)
{
	size_t	i;

	for (i = 0; i < rd->nrules[role]; i++)
		redact_rule_clear(&rd->rules[role][i]);
	free(rd->rules[role]);
	rd->rules[role] = NULL;
	rd->nrules[role] = 0;
}

/* A policy holding the built-in patterns only.  Free with redact_free. */
struct redaction *
redact_new(void)
{
	struct redaction	*rd;
	size_t			 i;

	rd = xcalloc(1, sizeof(*rd));
	for (i = 0; redact_builtin_client[i] != NULL; i++) {
		redact_add(rd, ROLE_CLIENT, redact_builtin_client[i]);
		rd->rules[ROLE_CLIENT][i].builtin = 1;
	}
	return (rd);
}

void
redact_free(struct redaction *rd)
{
	size_t	r, i;

	if (rd == NULL)
		return;
	for (r = 0; r <= ROLE_ADMIN; r++) {
		redact_clear_role(rd, (enum role)r);
		for (i = 0; i < rd->nallow[r]; i++)
			redact_rule_clear(&rd->allow[r][i]);
		free(rd->allow[r]);
	}
	free(rd);
}

/* The number of allow patterns of role r (fields kept explicitly). */
size_t
redact_allow_count(const struct redaction *rd, enum role r)
{
	return (rd == NULL || (unsigned)r > ROLE_ADMIN ? 0 : rd->nallow[r]);
}

/* The number of patterns applied to role r. */
size_t
redact_count(const struct redaction *rd, enum role r)
{
	return (rd == NULL || (unsigned)r > ROLE_ADMIN ? 0 : rd->nrules[r]);
}

static int
redact_role_parse(const char *s, enum role *r)
{
	size_t	i;

	for (i = ROLE_CLIENT; i <= ROLE_ADMIN; i++)
		if (strcmp(s, access_role_name((enum role)i)) == 0) {
			*r = (enum role)i;
			return (0);
		}
	return (-1);
}

/*
 * The list "redaction.ROLE.WHAT" (v borrowed) into rules, n: each a checked
 * pattern.  Returns 0, or -1 with err.
 */
static int
redact_load_list(struct redact_rule **rules, size_t *nrules, json_object *v,
    json_object *decl, const char *rname, const char *what, const char *file,
    char *err, size_t errlen)
{
	json_object	*one;
	char		 key[128], why[MP_ERRLEN];
	size_t		 i, n;

	snprintf(key, sizeof(key), "redaction.%s.%s", rname, what);
	if (v == NULL || !json_object_is_type(v, json_type_array))
		return (yaml_errf(err, errlen, file, v ? v : decl, key,
		    "must be a list of patterns such as properties.message "
		    "or **.notes"));
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		one = json_object_array_get_idx(v, i);
		snprintf(key, sizeof(key), "redaction.%s.%s[%zu]", rname, what,
		    i);
		if (!json_object_is_type(one, json_type_string))
			return (yaml_errf(err, errlen, file, one ? one : v, key,
			    "must be a string"));
		if (!redact_pattern_ok(json_object_get_string(one), why,
		    sizeof(why)))
			return (yaml_errf(err, errlen, file, one, key, "%s",
			    why));
		if (*nrules >= REDACT_RULES_MAX)
			return (yaml_errf(err, errlen, file, one, key, "over %d "
			    "patterns for one role", REDACT_RULES_MAX));
		redact_add_to(rules, nrules, json_object_get_string(one));
	}
	return (0);
}

/*
 * Load "redaction: { ROLE: { remove: [PATTERN...], allow: [PATTERN...],
 * builtin: BOOL } }" (o borrowed) into rd.  Returns 0, or -1 with err
 * "file:line: key: why".
 */
int
redact_load(struct redaction *rd, json_object *o, const char *file, char *err,
    size_t errlen)
{
	json_object	*rm, *bi;
	enum role	 role;
	char		 key[128];

	if (!json_object_is_type(o, json_type_object))
		return (yaml_errf(err, errlen, file, o, "redaction", "must be "
		    "a mapping of role to { remove: [...], allow: [...], "
		    "builtin: true }"));
	json_object_object_foreach(o, rname, decl) {
		snprintf(key, sizeof(key), "redaction.%s", rname);
		if (redact_role_parse(rname, &role) == -1)
			return (yaml_errf(err, errlen, file, decl ? decl : o,
			    key, "unknown role (client, reader, writer, "
			    "operator, admin)"));
		if (decl == NULL || !json_object_is_type(decl,
		    json_type_object))
			return (yaml_errf(err, errlen, file, decl ? decl : o,
			    key, "must be a mapping with remove, allow and "
			    "builtin"));
		json_object_object_foreach(decl, k, v) {
			if (strcmp(k, "remove") != 0 && strcmp(k, "builtin") !=
			    0 && strcmp(k, "allow") != 0) {
				snprintf(key, sizeof(key), "redaction.%s.%s",
				    rname, k);
				return (yaml_errf(err, errlen, file, v ? v :
				    decl, key, "unknown key (remove, allow, "
				    "builtin)"));
			}
		}
		if (json_object_object_get_ex(decl, "builtin", &bi)) {
			snprintf(key, sizeof(key), "redaction.%s.builtin",
			    rname);
			if (!json_object_is_type(bi, json_type_boolean))
				return (yaml_errf(err, errlen, file, bi ? bi :
				    decl, key, "must be true or false"));
			if (!json_object_get_boolean(bi))
				redact_clear_role(rd, role);
		}
		if (json_object_object_get_ex(decl, "remove", &rm) &&
		    redact_load_list(&rd->rules[role], &rd->nrules[role], rm,
		    decl, rname, "remove", file, err, errlen) == -1)
			return (-1);
		if (json_object_object_get_ex(decl, "allow", &rm) &&
		    redact_load_list(&rd->allow[role], &rd->nallow[role], rm,
		    decl, rname, "allow", file, err, errlen) == -1)
			return (-1);
	}
	return (0);
}

/* Does r's segments from i on match path[j..n) (arrays transparent)? */
static int
redact_match(const struct redact_rule *r, size_t i, const char **path,
    size_t j, size_t n)
{
	size_t	k;

	if (i == r->nseg)
		return (j == n);
	if (strcmp(r->seg[i], "**") == 0) {
		for (k = j; k <= n; k++)
			if (redact_match(r, i + 1, path, k, n))
				return (1);
		return (0);
	}
	if (j == n || fnmatch(r->seg[i], path[j], FNM_CASEFOLD) != 0)
		return (0);
	return (redact_match(r, i + 1, path, j + 1, n));
}

/*
 * Is the field at path (n keys from the root) kept for role: named by
 * one of its allow patterns, or by one of keep (exact dotted paths, a
 * NULL-terminated list; NULL for none)?  keep is what the presentation
 * vouches for: it holds against the built-in patterns only, so a
 * configured remove still removes it (redact_walk passes NULL then).
 */
int
redact_allowed(const struct redaction *rd, enum role role, const char **keep,
    const char **path, size_t n)
{
	struct buf	 b;
	size_t		 i;
	int		 hit = 0;

	if (keep != NULL && n > 0) {
		buf_init(&b);
		for (i = 0; i < n; i++)
			buf_printf(&b, "%s%s", i ? "." : "", path[i]);
		for (i = 0; keep[i] != NULL && !hit; i++)
			hit = strcmp(keep[i], buf_cstr(&b)) == 0;
		buf_free(&b);
		if (hit)
			return (1);
	}
	if (rd == NULL || (unsigned)role > ROLE_ADMIN)
		return (0);
	for (i = 0; i < rd->nallow[role]; i++)
		if (redact_match(&rd->allow[role][i], 0, path, 0, n))
			return (1);
	return (0);
}

/* A walk of one rule, with the path from the root to where it is. */
struct redact_ctx {
	const struct redaction	*rd;
	enum role		 role;
	const char		**keep;
	const char		*path[REDACT_DEPTH_MAX];
	size_t			 depth;
};

/*
 * Remove from o (borrowed, changed in place) what r's segments from i on
 * match, except the fields kept (redact_allowed).  Returns the number of
 * fields removed.
 */
static size_t
redact_walk(struct redact_ctx *cx, json_object *o, const struct redact_rule *r,
    size_t i)
{
	char	**del = NULL;
	size_t	  n = 0, ndel = 0, k;
	int	  kept;

	if (o == NULL)
		return (0);
	if (json_object_is_type(o, json_type_array)) {
		for (k = 0; k < json_object_array_length(o); k++)
			n += redact_walk(cx, json_object_array_get_idx(o, k),
			    r, i);
		return (n);
	}
	if (!json_object_is_type(o, json_type_object))
		return (0);
	if (strcmp(r->seg[i], "**") == 0) {
		/* Zero levels here, then one or more below each child. */
		n += redact_walk(cx, o, r, i + 1);
		json_object_object_foreach(o, key, v) {
			if (cx->depth < REDACT_DEPTH_MAX)
				cx->path[cx->depth] = key;
			cx->depth++;
			n += redact_walk(cx, v, r, i);
			cx->depth--;
		}
		return (n);
	}
	json_object_object_foreach(o, key, v) {
		if (fnmatch(r->seg[i], key, FNM_CASEFOLD) != 0)
			continue;
		if (cx->depth < REDACT_DEPTH_MAX)
			cx->path[cx->depth] = key;
		cx->depth++;
		if (i + 1 == r->nseg) {
			kept = cx->depth <= REDACT_DEPTH_MAX &&
			    redact_allowed(cx->rd, cx->role, r->builtin ?
			    cx->keep : NULL, cx->path, cx->depth);
			if (!kept) {
				del = xreallocarray(del, ndel + 1,
				    sizeof(*del));
				del[ndel++] = xstrdup(key);
			}
		} else
			n += redact_walk(cx, v, r, i + 1);
		cx->depth--;
	}
	for (k = 0; k < ndel; k++) {
		json_object_object_del(o, del[k]);
		free(del[k]);
	}
	free(del);
	return (n + ndel);
}

/*
 * Apply role's patterns to o (borrowed, changed in place), keeping what
 * role's allow patterns name and the exact paths in keep (NULL-terminated,
 * or NULL).  Returns the number of fields removed.
 */
size_t
redact_apply_keep(const struct redaction *rd, enum role role, json_object *o,
    const char **keep)
{
	struct redact_ctx	cx;
	size_t			i, n = 0;

	if (rd == NULL || (unsigned)role > ROLE_ADMIN || o == NULL)
		return (0);
	memset(&cx, 0, sizeof(cx));
	cx.rd = rd;
	cx.role = role;
	cx.keep = keep;
	for (i = 0; i < rd->nrules[role]; i++) {
		cx.depth = 0;
		n += redact_walk(&cx, o, &rd->rules[role][i], 0);
	}
	return (n);
}

/*
 * Apply role's patterns to o (borrowed, changed in place).  Returns the
 * number of fields removed.
 */
size_t
redact_apply(const struct redaction *rd, enum role role, json_object *o)
{
	return (redact_apply_keep(rd, role, o, NULL));
}

/*
 * Redact o (a claim, deployment, milestone or change; borrowed, changed in
 * place) for what tok may receive.  Returns the number of fields removed.
 */
size_t
redact_claim(const struct redaction *rd, const struct token *tok,
    json_object *o)
{
	if (tok == NULL)
		return (0);
	return (redact_apply(rd, tok->role, o));
}
