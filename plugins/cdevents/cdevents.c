/*
 * cdevents.c: CDEvents (cdevents.dev) carried by the CloudEvents HTTP
 * binding.
 *
 * Authenticity: Authorization: Bearer <one of bearer>, or a Standard
 * Webhooks signature with one of signing_secret; either one suffices.
 *
 * Content modes (CloudEvents HTTP binding 1.0):
 *   structured  Content-Type: application/cloudevents+json; the body is
 *               {specversion, id, source, type, time, data: <CDEvent>}.
 *   binary      ce-specversion, ce-id, ce-source, ce-type, ce-time
 *               headers (percent-decoded); the body is the CDEvent.
 *   plain JSON  without either: a structured event (it has specversion)
 *               or a bare CDEvent ({context, subject}).
 *   batched     (application/cloudevents-batch+json) is refused.
 * A CDEvent is {context: {id, source, type, timestamp, version (spec
 * v0.3) or specversion (v0.4 on)}, subject: {id, source?, content}}.  Its
 * type and timestamp win over the envelope's (the binding says they are
 * equal); the envelope's id and source win for the delivery id.
 *
 * Delivery id: <id>@<source> of the CloudEvent (else of the CDEvent
 * context), or "sha256:<hex of id NUL source>" when that is not a usable
 * evidence id (over MP_IDMAX, or with spaces or non-ASCII).
 *
 * Types: dev.cdevents.<subject>.<predicate>.<0.1.x to 0.3.x>, the event
 * versions of CDEvents spec v0.3 (0.1.x), v0.4 (0.2.0) and v0.5 (0.3.0),
 * a pre-release suffix ("-draft") allowed.  Other versions and types are
 * acknowledged and ignored.
 *   pipelinerun.queued              PipelineQueued (kind pipeline)
 *   pipelinerun.started             PipelineStarted (kind pipeline)
 *   pipelinerun.finished            PipelineCompleted (kind pipeline)
 *   taskrun.started / .finished     PipelineStarted / PipelineCompleted
 *                                   (kind task)
 *   build.queued, .started          PipelineQueued, PipelineStarted (build)
 *   build.finished                  PipelineCompleted (kind build)
 *   artifact.published              ReleasePublished
 *   service.deployed, .upgraded     DeploymentSucceeded
 *   service.rolledback              DeploymentSucceeded, reason "rollback"
 *   incident.detected, .reported    IncidentOpened
 *   incident.resolved               IncidentResolved
 *   artifact.packaged, service.removed, and the rest: ignored.
 * outcome success/failure/cancel/error becomes status success/failure/
 * cancelled/error.  build.finished has no outcome before spec v0.5: one
 * with an artifactId is a success, one with neither is ignored.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugins/source.h"

#define CDE_JSON_DEPTH	32
#define CDE_PREFIX	"dev.cdevents."
#define CDE_ATTRLEN	1024		/* a decoded ce-* header */
#define CDE_PURLLEN	512		/* each part of a purl */

/* One request, as far as it has been read; see cdevents_load. */
struct cdevents_event {
	json_object	*root;		/* the parsed body, owned */
	json_object	*cdevent;	/* {context, subject}, borrowed */
	int		 binary;	/* attributes in ce-* headers */
	char		 ce_id[CDE_ATTRLEN];
	char		 ce_source[CDE_ATTRLEN];
	char		 ce_type[CDE_ATTRLEN];
	char		 ce_time[CDE_ATTRLEN];
	char		 parse_error[MP_ERRLEN];	/* root is NULL */
};

/* The parts of a purl (package URL) that name a commit or a repo. */
struct cdevents_purl {
	char		 type[CDE_PURLLEN];	/* "github", "oci" */
	char		 path[CDE_PURLLEN];	/* namespace/name */
	char		 version[CDE_PURLLEN];	/* decoded */
	char		 vcs[CDE_PURLLEN];	/* vcs_url, decoded */
};

/* What a mapping function gets: all borrowed, content never NULL. */
struct cdevents_ctx {
	const char	*id;		/* evidence id: the delivery id */
	const char	*event_id;	/* context.id, else ce-id */
	const char	*time;		/* RFC 3339, or NULL */
	const char	*subject;	/* subject.id */
	const char	*predicate;	/* "finished" */
	const char	*kind;		/* of the table entry */
	json_object	*content;	/* subject.content */
};

/*
 * A mapping function appends the evidence of one CDEvent to out and
 * returns 0, or 1 with why when the event is to be ignored.
 */
typedef int (*cdevents_fn)(const struct cdevents_ctx *, json_object *,
    char *, size_t);
struct cdevents_map {
	const char	*subject;
	const char	*predicate;
	cdevents_fn	 fn;
	const char	*kind;		/* Pipeline* kind */
};

static int	cdevents_run(const struct cdevents_ctx *, json_object *,
		    char *, size_t);
static int	cdevents_artifact(const struct cdevents_ctx *, json_object *,
		    char *, size_t);
static int	cdevents_service(const struct cdevents_ctx *, json_object *,
		    char *, size_t);
static int	cdevents_incident(const struct cdevents_ctx *, json_object *,
		    char *, size_t);

static const struct cdevents_map cdevents_types[] = {
	{ "pipelinerun", "queued", cdevents_run, "pipeline" },
	{ "pipelinerun", "started", cdevents_run, "pipeline" },
	{ "pipelinerun", "finished", cdevents_run, "pipeline" },
	{ "taskrun", "started", cdevents_run, "task" },
	{ "taskrun", "finished", cdevents_run, "task" },
	{ "build", "queued", cdevents_run, "build" },
	{ "build", "started", cdevents_run, "build" },
	{ "build", "finished", cdevents_run, "build" },
	{ "artifact", "published", cdevents_artifact, NULL },
	{ "service", "deployed", cdevents_service, NULL },
	{ "service", "upgraded", cdevents_service, NULL },
	{ "service", "rolledback", cdevents_service, NULL },
	{ "incident", "detected", cdevents_incident, NULL },
	{ "incident", "reported", cdevents_incident, NULL },
	{ "incident", "resolved", cdevents_incident, NULL },
};

/* Why the types that Milepost knows but does not use are ignored. */
static const struct {
	const char	*type;		/* <subject>.<predicate> */
	const char	*why;
} cdevents_unused[] = {
	{ "artifact.packaged", "artifact.packaged is not a release (only "
	    "artifact.published is)" },
	{ "service.removed", "service.removed is not a deployment" },
};

/* A bearer token, else a Standard Webhooks signature; 0 or -1 with why. */
static int
cdevents_verify(const struct source_conf *sc, const struct source_req *r,
    char *why, size_t len)
{
	enum stdwh_result	res = STDWH_MISSING;

	if (sc->nbearers > 0 && source_check_bearer(sc, r))
		return (0);
	if (sc->nsigning > 0 && (res = source_check_signing(sc, r)) ==
	    STDWH_OK)
		return (0);
	if (res != STDWH_MISSING)
		snprintf(why, len, "Standard Webhooks: %s",
		    stdwh_strerror(res));
	else if (sc->nbearers > 0 && r->header(r, "Authorization") != NULL)
		snprintf(why, len, "the Authorization: Bearer token is wrong");
	else
		snprintf(why, len, "missing %s%s%s", sc->nbearers > 0 ?
		    "Authorization: Bearer" : "", sc->nbearers > 0 &&
		    sc->nsigning > 0 ? " or " : "", sc->nsigning > 0 ?
		    "webhook-id, webhook-timestamp and webhook-signature" : "");
	return (-1);
}

/* The value of the hex digit c, or -1. */
static int
cdevents_hex(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Percent-decode s[0..n) into out (len bytes, NUL-terminated).  Returns
 * the decoded length, or -1 when it does not fit or decodes a NUL.
 */
static int
cdevents_unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		if (o + 1 >= len)
			return (-1);
		if (s[i] == '%' && i + 2 < n &&
		    (hi = cdevents_hex(s[i + 1])) != -1 &&
		    (lo = cdevents_hex(s[i + 2])) != -1) {
			if ((out[o++] = (char)(hi << 4 | lo)) == '\0')
				return (-1);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return ((int)o);
}

/*
 * A ce-* header, percent-decoded (CloudEvents HTTP binding 3.1.3.2), into
 * out.  Returns 1, 0 when it is absent or empty, -1 when it is unusable.
 */
static int
cdevents_header(const struct source_req *r, const char *name, char *out,
    size_t len)
{
	const char	*h = r->header(r, name);
	int		 n;

	out[0] = '\0';
	if (h == NULL)
		return (0);
	if ((n = cdevents_unescape(h, strlen(h), out, len)) == -1)
		return (-1);
	return (n > 0);
}

/* Strict JSON, as the receiver parses it; NULL with why. */
static json_object *
cdevents_parse(const char *body, size_t len, char *why, size_t wlen)
{
	struct json_tokener	*tok;
	json_object		*o;

	if (len == 0) {
		snprintf(why, wlen, "the body is empty");
		return (NULL);
	}
	tok = strict_new(CDE_JSON_DEPTH);
	o = strict_parse(tok, body, len, why, wlen);
	json_tokener_free(tok);
	return (o);
}

static json_object *
cdevents_obj(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return (NULL);
	return (v);
}

/* Copy a string attribute of the structured envelope, if it is one. */
static void
cdevents_attr(json_object *o, const char *key, char *out, size_t len)
{
	json_object	*v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strlen(json_object_get_string(v)) < len)
		snprintf(out, len, "%s", json_object_get_string(v));
}

static void
cdevents_clear(struct cdevents_event *e)
{
	json_object_put(e->root);
	memset(e, 0, sizeof(*e));
}

/*
 * Read the request into e: the ce-* headers in binary mode, the body when
 * parse is set (or when it is needed for the attributes).  payload is the
 * receiver's parse of the body (borrowed), NULL when it is not JSON; only
 * then is the body parsed here, to say why.  Returns 0; or
 * -1 with why when the request cannot be a CloudEvent or a CDEvent (a
 * body that is not JSON only sets e->parse_error).  cdevents_clear frees.
 */
static int
cdevents_load(const struct source_req *r, json_object *payload,
    struct cdevents_event *e, int parse, char *why, size_t wlen)
{
	const char	*ct = r->header(r, "Content-Type");
	json_object	*data;

	memset(e, 0, sizeof(*e));
	if (ct != NULL && strncasecmp(ct, "application/cloudevents-batch",
	    29) == 0) {
		snprintf(why, wlen, "the CloudEvents batched content mode is "
		    "not supported: send one event per request");
		return (-1);
	}
	if (ct != NULL && strncasecmp(ct, "application/cloudevents", 23) ==
	    0 && strncasecmp(ct, "application/cloudevents+json", 28) != 0) {
		snprintf(why, wlen, "only the JSON event format is supported "
		    "(Content-Type: application/cloudevents+json)");
		return (-1);
	}
	if ((ct == NULL || strncasecmp(ct, "application/cloudevents", 23) !=
	    0) && r->header(r, "ce-specversion") != NULL) {
		e->binary = 1;
		if (cdevents_header(r, "ce-id", e->ce_id, CDE_ATTRLEN) == -1 ||
		    cdevents_header(r, "ce-source", e->ce_source,
		    CDE_ATTRLEN) == -1 ||
		    cdevents_header(r, "ce-type", e->ce_type, CDE_ATTRLEN) ==
		    -1 ||
		    cdevents_header(r, "ce-time", e->ce_time, CDE_ATTRLEN) ==
		    -1) {
			snprintf(why, wlen, "a ce-* header is over %d bytes or "
			    "badly percent-encoded", CDE_ATTRLEN - 1);
			return (-1);
		}
		if (!parse && e->ce_id[0] != '\0' && e->ce_source[0] != '\0')
			return (0);
	}
	if (payload != NULL)
		e->root = json_object_get(payload);
	else if ((e->root = cdevents_parse(r->body, r->len, e->parse_error,
	    sizeof(e->parse_error))) == NULL)
		return (0);
	if (e->binary) {
		e->cdevent = cdevents_obj(e->root, "context") ? e->root : NULL;
		return (0);
	}
	if (json_object_is_type(e->root, json_type_object) &&
	    json_object_object_get_ex(e->root, "specversion", NULL)) {
		/* Structured: the context attributes, then data. */
		cdevents_attr(e->root, "id", e->ce_id, CDE_ATTRLEN);
		cdevents_attr(e->root, "source", e->ce_source, CDE_ATTRLEN);
		cdevents_attr(e->root, "type", e->ce_type, CDE_ATTRLEN);
		cdevents_attr(e->root, "time", e->ce_time, CDE_ATTRLEN);
		if ((data = cdevents_obj(e->root, "data")) != NULL &&
		    cdevents_obj(data, "context") != NULL)
			e->cdevent = data;
		return (0);
	}
	if (cdevents_obj(e->root, "context") != NULL)
		e->cdevent = e->root;
	return (0);
}

/* Is id a usable evidence id?  Else a stable digest of id and source. */
static void
cdevents_make_id(const char *id, const char *source, char *out,
    size_t len)
{
	struct buf	b;
	char		hex[MP_HASHLEN];

	snprintf(out, len, "%s@%s", id, source);
	if (strlen(id) + strlen(source) + 1 < len && ident_valid(out))
		return;
	buf_init(&b);
	buf_adds(&b, id);
	buf_addc(&b, '\0');
	buf_adds(&b, source);
	sha256_hex(b.data, b.len, hex);
	buf_free(&b);
	snprintf(out, len, "sha256:%s", hex);
}

/*
 * <id>@<source>, from the ce-* headers without reading the body when it
 * can.  A body that is not JSON gets its digest, so that normalize can
 * answer 400 with the parser's reason; -1 when there is no id at all.
 */
static int
cdevents_delivery_id(const struct source_req *r, json_object *payload,
    char *out, size_t len)
{
	struct cdevents_event	 e;
	const char		*id, *source;
	char			 why[MP_ERRLEN], hex[MP_HASHLEN];
	int			 rc = -1;

	if (cdevents_load(r, payload, &e, 0, why, sizeof(why)) == -1) {
		/* A request refused as a whole: normalize says why. */
		snprintf(out, len, "refused");
		rc = 0;
		goto out;
	}
	id = e.ce_id;
	source = e.ce_source;
	if ((*id == '\0' || *source == '\0') && e.cdevent != NULL) {
		id = source_str(e.cdevent, "context.id");
		source = source_str(e.cdevent, "context.source");
	}
	if (id != NULL && *id != '\0' && source != NULL && *source != '\0') {
		cdevents_make_id(id, source, out, len);
		rc = 0;
	} else if (e.root == NULL) {
		/* Not JSON: normalize refuses it, with the parser's reason. */
		sha256_hex(r->body, r->len, hex);
		snprintf(out, len, "sha256:%s", hex);
		rc = 0;
	}
out:
	cdevents_clear(&e);
	return (rc);
}

/* A decimal number at *v, advanced past it; -1 when there is none. */
static long
cdevents_number(const char **v)
{
	long	n = 0;

	if (**v < '0' || **v > '9')
		return (-1);
	for (; **v >= '0' && **v <= '9' && n < 100000; (*v)++)
		n = n * 10 + (**v - '0');
	return (n);
}

/* Is v ("0.2.0", "0.3.0-draft") an event version of 0.1.x to 0.3.x? */
static int
cdevents_version_ok(const char *v)
{
	long	major, minor;

	if ((major = cdevents_number(&v)) == -1 || *v++ != '.' ||
	    (minor = cdevents_number(&v)) == -1 || *v++ != '.' ||
	    cdevents_number(&v) == -1 || (*v != '\0' && *v != '-' &&
	    *v != '+'))
		return (0);
	return (major == 0 && minor >= 1 && minor <= 3);
}

/*
 * Split a purl "pkg:type/namespace/name@version?qualifiers#subpath" into
 * pu: the percent-decoded version and vcs_url qualifier, "" when absent.
 * Returns -1 (pu all "") when s is not a purl or a part is too long.
 */
static int
cdevents_purl(const char *s, struct cdevents_purl *pu)
{
	const char	*slash, *end, *at, *q;
	size_t		 n;

	memset(pu, 0, sizeof(*pu));
	if (strncmp(s, "pkg:", 4) != 0 || (slash = strchr(s + 4, '/')) ==
	    NULL || (n = (size_t)(slash - (s + 4))) == 0 || n >= CDE_PURLLEN)
		return (-1);
	memcpy(pu->type, s + 4, n);
	end = s + strcspn(s, "?#");
	/* The version follows the last '@' after the last '/'. */
	for (at = end; at > slash && at[-1] != '/' && at[-1] != '@'; at--)
		;
	at = at > slash && at[-1] == '@' ? at - 1 : end;
	if ((n = (size_t)(at - (slash + 1))) >= CDE_PURLLEN)
		goto bad;
	memcpy(pu->path, slash + 1, n);
	if (at < end && cdevents_unescape(at + 1, (size_t)(end - at - 1),
	    pu->version, CDE_PURLLEN) == -1)
		goto bad;
	if (*end == '?' && (q = strstr(end, "vcs_url=")) != NULL &&
	    (q[-1] == '?' || q[-1] == '&')) {
		q += 8;
		n = strcspn(q, "&#");
		if (cdevents_unescape(q, n, pu->vcs, CDE_PURLLEN) == -1)
			goto bad;
	}
	return (0);
bad:
	memset(pu, 0, sizeof(*pu));
	return (-1);
}

/* A git commit id: 7 to 40 hex digits, at least one a letter. */
static int
cdevents_is_sha(const char *s)
{
	size_t	n = strlen(s), i;
	int	letter = 0;

	if (n < 7 || n > 40)
		return (0);
	for (i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'f')
			letter = 1;
		else if (s[i] < '0' || s[i] > '9')
			return (0);
	}
	return (letter);
}

/*
 * Link an artifact id and, when it is a purl (split into pu), what it
 * names: the commit, as the version of a source package (not an image,
 * whose versions are digests and tags) or the "@<sha>" that ends its
 * vcs_url; the repo, for github, gitlab and bitbucket purls.
 */
static void
cdevents_link_artifact(json_object *ev, const char *artifact,
    struct cdevents_purl *pu)
{
	const char	*at;

	memset(pu, 0, sizeof(*pu));
	if (artifact == NULL || *artifact == '\0')
		return;
	source_link(ev, "artifact", artifact);
	if (cdevents_purl(artifact, pu) == -1)
		return;
	if (strcmp(pu->type, "oci") != 0 && strcmp(pu->type, "docker") != 0 &&
	    cdevents_is_sha(pu->version))
		source_link(ev, "commit", pu->version);
	else if ((at = strrchr(pu->vcs, '@')) != NULL &&
	    cdevents_is_sha(at + 1))
		source_link(ev, "commit", at + 1);
	if (strcmp(pu->type, "github") == 0 ||
	    strcmp(pu->type, "gitlab") == 0 ||
	    strcmp(pu->type, "bitbucket") == 0)
		source_link(ev, "repo", pu->path);
}

static const char *
cdevents_outcome(const char *o)
{
	if (o == NULL)
		return (NULL);
	if (strcmp(o, "success") == 0)
		return ("success");
	if (strcmp(o, "failure") == 0)
		return ("failure");
	if (strcmp(o, "cancel") == 0 || strcmp(o, "cancelled") == 0 ||
	    strcmp(o, "canceled") == 0)
		return ("cancelled");
	if (strcmp(o, "error") == 0)
		return ("error");
	return (NULL);
}

/* pipelinerun.*, taskrun.*, build.*: PipelineStarted or Completed. */
static int
cdevents_run(const struct cdevents_ctx *c, json_object *out, char *why,
    size_t wlen)
{
	json_object	*ev;
	const char	*outcome, *status = NULL, *url, *parent;
	struct cdevents_purl	 pu;

	if (strcmp(c->predicate, "finished") == 0) {
		outcome = source_str(c->content, "outcome");
		if ((status = cdevents_outcome(outcome)) == NULL &&
		    outcome == NULL && strcmp(c->kind, "build") == 0 &&
		    source_str(c->content, "artifactId") != NULL)
			status = "success";
		if (status == NULL) {
			if (outcome != NULL)
				snprintf(why, wlen, "%s finished: outcome "
				    "%.32s is not success, failure, cancel or "
				    "error", c->kind, outcome);
			else
				snprintf(why, wlen, "%s finished: no outcome%s",
				    c->kind, strcmp(c->kind, "build") == 0 ?
				    " and no artifactId" : "");
			return (1);
		}
	}
	ev = source_evidence(out, c->id, status ? "PipelineCompleted" :
	    strcmp(c->predicate, "queued") == 0 ? "PipelineQueued" :
	    "PipelineStarted", c->subject, c->time);
	if (status != NULL)
		source_prop(ev, "status", status);
	source_prop(ev, "pipelineId", c->subject);
	source_prop(ev, "kind", c->kind);
	source_prop(ev, "tool", "cdevents");
	source_prop(ev, "name", source_str(c->content,
	    strcmp(c->kind, "task") == 0 ? "taskName" : "pipelineName"));
	/* "url" until spec v0.4, "uri" from v0.5. */
	if ((url = source_str(c->content, "url")) == NULL)
		url = source_str(c->content, "uri");
	source_prop(ev, "url", url);
	source_link(ev, "url", url);
	/* A task run links the pipeline run it belongs to. */
	parent = source_str(c->content, "pipelineRun.id");
	source_link(ev, "pipeline", strcmp(c->kind, "task") == 0 &&
	    parent != NULL ? parent : c->subject);
	cdevents_link_artifact(ev, source_str(c->content, "artifactId"), &pu);
	return (0);
}

/*
 * artifact.published: ReleasePublished of the artifact (a purl), tagged
 * with its version and named after its package.
 */
static int
cdevents_artifact(const struct cdevents_ctx *c, json_object *out, char *why,
    size_t wlen)
{
	json_object	*ev;
	struct cdevents_purl	 pu;
	const char	*name;

	ev = source_evidence(out, c->id, "ReleasePublished", c->subject,
	    c->time);
	cdevents_link_artifact(ev, c->subject, &pu);
	source_prop(ev, "tag", pu.version[0] != '\0' ? pu.version :
	    c->subject);
	if ((name = strrchr(pu.path, '/')) != NULL)
		name++;
	else
		name = pu.path;
	source_prop(ev, "name", name);
	source_prop(ev, "tool", "cdevents");
	return (0);
}

/* service.deployed, .upgraded, .rolledback: DeploymentSucceeded. */
static int
cdevents_service(const struct cdevents_ctx *c, json_object *out, char *why,
    size_t wlen)
{
	json_object	*ev;
	const char	*env = source_str(c->content, "environment.id");
	const char	*artifact = source_str(c->content, "artifactId");
	struct cdevents_purl	 pu;

	ev = source_evidence(out, c->id, "DeploymentSucceeded", c->event_id,
	    c->time);
	source_prop(ev, "deploymentId", c->event_id);
	source_prop(ev, "service", c->subject);
	source_prop(ev, "environment", env);
	source_prop(ev, "revision", artifact);
	source_prop(ev, "tool", "cdevents");
	if (strcmp(c->predicate, "rolledback") == 0)
		source_prop(ev, "reason", "rollback");
	source_link(ev, "deployment", c->event_id);
	source_link(ev, "service", c->subject);
	source_link(ev, "environment", env);
	cdevents_link_artifact(ev, artifact, &pu);
	return (0);
}

/* incident.detected, .reported: IncidentOpened; .resolved: Resolved. */
static int
cdevents_incident(const struct cdevents_ctx *c, json_object *out, char *why,
    size_t wlen)
{
	json_object	*ev;
	const char	*svc = source_str(c->content, "service.id");
	const char	*env = source_str(c->content, "environment.id");
	const char	*ticket = source_str(c->content, "ticketURI");
	struct cdevents_purl	 pu;

	ev = source_evidence(out, c->id, strcmp(c->predicate, "resolved") ==
	    0 ? "IncidentResolved" : "IncidentOpened", c->subject, c->time);
	source_prop(ev, "incidentId", c->subject);
	source_prop(ev, "title", source_str(c->content, "description"));
	source_prop(ev, "service", svc);
	source_prop(ev, "status", c->predicate);
	source_prop(ev, "url", ticket);
	source_prop(ev, "tool", "cdevents");
	source_link(ev, "incident", c->subject);
	source_link(ev, "service", svc);
	source_link(ev, "environment", env);
	source_link(ev, "url", ticket);
	cdevents_link_artifact(ev, source_str(c->content, "artifactId"), &pu);
	return (0);
}

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The table entry of type "dev.cdevents.<subject>.<predicate>.<version>",
 * with the predicate copied to pred (PREDLEN bytes).  NULL with why when
 * the event is to be ignored: another type, or another version.
 */
#define PREDLEN	32
static const struct cdevents_map *
cdevents_lookup(const char *type, char *pred, char *why, size_t wlen)
{
	const char	*p, *dot, *ver;
	char		 subj[32], sp[64];
	size_t		 i, n;

	p = type + strlen(CDE_PREFIX);
	if ((dot = strchr(p, '.')) == NULL || (n = (size_t)(dot - p)) >=
	    sizeof(subj) || (ver = strchr(dot + 1, '.')) == NULL ||
	    (size_t)(ver - (dot + 1)) >= PREDLEN) {
		snprintf(why, wlen, "CDEvent type %.64s is not used", type);
		return (NULL);
	}
	for (i = 0; i < n; i++)		/* "pipelineRun" too */
		subj[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' :
		    p[i]);
	subj[n] = '\0';
	memcpy(pred, dot + 1, (size_t)(ver - (dot + 1)));
	pred[ver - (dot + 1)] = '\0';
	ver++;
	snprintf(sp, sizeof(sp), "%s.%s", subj, pred);
	for (i = 0; i < NITEMS(cdevents_unused); i++)
		if (strcmp(sp, cdevents_unused[i].type) == 0) {
			snprintf(why, wlen, "%s", cdevents_unused[i].why);
			return (NULL);
		}
	for (i = 0; i < NITEMS(cdevents_types); i++)
		if (strcmp(subj, cdevents_types[i].subject) == 0 &&
		    strcmp(pred, cdevents_types[i].predicate) == 0)
			break;
	if (i == NITEMS(cdevents_types)) {
		snprintf(why, wlen, "CDEvent type %.64s is not used", type);
		return (NULL);
	}
	if (!cdevents_version_ok(ver)) {
		snprintf(why, wlen, "CDEvent %s version %.32s is not supported "
		    "(0.1.x to 0.3.x are)", sp, ver);
		return (NULL);
	}
	return (&cdevents_types[i]);
}

/*
 * The evidence of one CDEvent (see the top of this file): 0, 1 when it is
 * ignored, -1 when it is malformed; why says why.
 */
static int
cdevents_normalize(const struct source_req *r, json_object *payload,
    const char *delivery, json_object *out, char *why, size_t wlen)
{
	const struct cdevents_map	*m;
	struct cdevents_event		 e;
	struct cdevents_ctx		 c;
	json_object			*subject, *empty = NULL;
	const char			*type;
	char				 pred[PREDLEN];
	int				 rc = -1;

	if (cdevents_load(r, payload, &e, 1, why, wlen) == -1)
		goto out;
	/* Binary mode with another kind of CloudEvent: no need to parse. */
	if (e.binary && e.ce_type[0] != '\0' && strncmp(e.ce_type,
	    CDE_PREFIX, strlen(CDE_PREFIX)) != 0) {
		snprintf(why, wlen, "CloudEvent type %.64s is not a CDEvent",
		    e.ce_type);
		rc = 1;
		goto out;
	}
	if (e.root == NULL) {
		snprintf(why, wlen, "%s", e.parse_error);
		goto out;
	}
	if ((type = source_str(e.cdevent, "context.type")) == NULL &&
	    (type = e.ce_type[0] ? e.ce_type : NULL) == NULL) {
		snprintf(why, wlen, "neither a CloudEvent nor a CDEvent: no "
		    "type");
		goto out;
	}
	if (strncmp(type, CDE_PREFIX, strlen(CDE_PREFIX)) != 0) {
		snprintf(why, wlen, "CloudEvent type %.64s is not a CDEvent",
		    type);
		rc = 1;
		goto out;
	}
	if ((m = cdevents_lookup(type, pred, why, wlen)) == NULL) {
		rc = 1;
		goto out;
	}
	if (e.cdevent == NULL || (subject = cdevents_obj(e.cdevent,
	    "subject")) == NULL) {
		snprintf(why, wlen, "%.64s: no CDEvent {context, subject} in "
		    "the %s", type, e.binary || e.ce_id[0] == '\0' ? "body" :
		    "data");
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.id = delivery;
	c.predicate = pred;
	c.kind = m->kind;
	c.subject = source_str(subject, "id");
	if ((c.event_id = source_str(e.cdevent, "context.id")) == NULL &&
	    e.ce_id[0] != '\0')
		c.event_id = e.ce_id;
	if (c.event_id == NULL || *c.event_id == '\0' || c.subject == NULL ||
	    *c.subject == '\0') {
		snprintf(why, wlen, "%.64s: no %s", type, c.event_id == NULL ||
		    *c.event_id == '\0' ? "context.id" : "subject.id");
		goto out;
	}
	if ((c.time = source_str(e.cdevent, "context.timestamp")) == NULL &&
	    e.ce_time[0] != '\0')
		c.time = e.ce_time;
	if ((c.content = cdevents_obj(subject, "content")) == NULL)
		c.content = empty = json_object_new_object();
	rc = m->fn(&c, out, why, wlen);
	json_object_put(empty);
out:
	cdevents_clear(&e);
	return (rc);
}

const struct mp_source source_cdevents = {
	.name = "cdevents",
	.auth = SRC_AUTH_BEARER | SRC_AUTH_SIGNING,
	.verify = cdevents_verify,
	.delivery_id = cdevents_delivery_id,
	.normalize = cdevents_normalize,
	.raw_body = 1,		/* binary mode need not be JSON */
};
