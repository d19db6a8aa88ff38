/*
 * jenkins.c: the Jenkins Notification plugin (format JSON, protocol HTTP).
 *
 * Authenticity: the plugin signs nothing; it sends Authorization: Basic
 * from the user:password@ of the endpoint URL.  Any configured basic pair,
 * or a configured bearer token, will do.  Delivery id: the job's full name
 * (from url, "job/a/job/b/" -> "a/b", else name), "#", build.number, ".",
 * build.phase: the same on the plugin's retries, and distinct for two
 * jobs of one name in different folders (every branch of a multibranch
 * project is named after its branch).  Bytes that an id may not hold are
 * written %XX.  Events (build.phase):
 *   QUEUED      PipelineQueued (a deploy job's: a planned deployment)
 *   STARTED     PipelineStarted
 *   COMPLETED   PipelineCompleted, status from build.status: SUCCESS
 *               success, FAILURE failure, UNSTABLE unstable, ABORTED
 *               cancelled, NOT_BUILT skipped; duration from build.duration
 *   FINALIZED   the same PipelineCompleted under the same evidence id
 *   FINISHED    ("<job>#<n>.COMPLETED"), so a build is counted once: after
 *               a COMPLETED it is acknowledged (200, a duplicate) and not
 *               recorded; alone (an endpoint on "Job Finalized" only, or
 *               an old plugin that says FINISHED) it records it.
 * pipelineId and subject are "<job>#<number>"; kind is build.  Each is
 * also the agent's build (BuildStartedEvent, BuildCompleted) under the
 * id `milepost run` takes in Jenkins, BUILD_TAG: "jenkins-<job, / as
 * ->-<number>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/source.h"

#define JENKINS_JOBMAX	200	/* of a delivery id's MP_IDMAX */

static int
jenkins_verify(const struct source_conf *sc, const struct source_req *r,
    char *why, size_t len)
{
	if (r->header(r, "Authorization") == NULL) {
		snprintf(why, len, "missing Authorization (the plugin sends "
		    "Basic from the endpoint URL's user:password@)");
		return (-1);
	}
	if (sc->nbasic > 0 && source_check_basic(sc, r))
		return (0);
	if (sc->nbearers > 0 && source_check_bearer(sc, r))
		return (0);
	snprintf(why, len, "Authorization does not match");
	return (-1);
}

/* Append s to out (len bytes, holding n), %XX for what an id may not hold. */
static int
jenkins_put(char *out, size_t len, size_t *n, const char *s, size_t slen)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;
	size_t			i;

	for (i = 0; i < slen; i++) {
		c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f) {
			if (*n + 3 >= len)
				return (-1);
			out[(*n)++] = '%';
			out[(*n)++] = hex[c >> 4];
			out[(*n)++] = hex[c & 0xf];
		} else {
			if (*n + 1 >= len)
				return (-1);
			out[(*n)++] = (char)c;
		}
	}
	out[*n] = '\0';
	return (0);
}

/*
 * The job's full name into out: the names in url ("job/a/job/b/", each
 * already %-encoded by Jenkins) joined with '/', else name.  Returns 0, or
 * -1 when there is none or it does not fit.
 */
static int
jenkins_job(json_object *p, char *out, size_t len)
{
	const char	*u = source_str(p, "url"), *name, *seg, *end;
	size_t		 n = 0, k;

	out[0] = '\0';
	if (u != NULL && strncmp(u, "job/", 4) == 0) {
		for (seg = u; strncmp(seg, "job/", 4) == 0; seg = end) {
			seg += 4;
			if ((end = strchr(seg, '/')) == NULL)
				end = seg + strlen(seg);
			if ((k = (size_t)(end - seg)) == 0)
				break;
			if ((n > 0 && jenkins_put(out, len, &n, "/", 1) == -1) ||
			    jenkins_put(out, len, &n, seg, k) == -1)
				return (-1);
			if (*end == '/')
				end++;
		}
		if (n > 0)
			return (0);
	}
	if ((name = source_str(p, "name")) == NULL || *name == '\0')
		return (-1);
	return (jenkins_put(out, len, &n, name, strlen(name)));
}

static int
jenkins_delivery_id(const struct source_req *r, json_object *p, char *out,
    size_t len)
{
	const char	*num, *phase;
	char		 job[JENKINS_JOBMAX];

	if (!json_object_is_type(p, json_type_object) ||
	    jenkins_job(p, job, sizeof(job)) == -1 ||
	    (num = source_str(p, "build.number")) == NULL ||
	    (phase = source_str(p, "build.phase")) == NULL ||
	    strspn(phase, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen(phase) ||
	    strspn(num, "0123456789") != strlen(num) || *num == '\0' ||
	    *phase == '\0')
		return (-1);
	if ((size_t)snprintf(out, len, "%s#%s.%s", job, num, phase) >= len)
		return (-1);
	return (0);
}

static int
jenkins_xdigit(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* "a%20b/c" -> "a b/c", for the name a person reads. */
static void
jenkins_unescape(const char *s, char *out, size_t len)
{
	size_t	n = 0;
	int	hi, lo;

	for (; *s != '\0' && n + 1 < len; s++) {
		if (s[0] == '%' && (hi = jenkins_xdigit(s[1])) != -1 &&
		    (lo = jenkins_xdigit(s[2])) != -1 && hi * 16 + lo >= 0x20) {
			out[n++] = (char)(hi * 16 + lo);
			s += 2;
		} else
			out[n++] = *s;
	}
	out[n] = '\0';
}

/*
 * build.timestamp as RFC 3339 into out (MP_TIMELEN): milliseconds since
 * the epoch (the plugin today), or a string (older versions:
 * "2015-02-26T10:00:00.123+00:00").  NULL when absent or zero.
 */
static const char *
jenkins_time(json_object *p, char *out)
{
	json_object	*b, *t;
	int64_t		 us;

	if (!json_object_object_get_ex(p, "build", &b) ||
	    !json_object_object_get_ex(b, "timestamp", &t) || t == NULL)
		return (NULL);
	if (json_object_is_type(t, json_type_int)) {
		if ((us = json_object_get_int64(t)) <= 0 ||
		    us > INT64_MAX / 1000)
			return (NULL);
		tf_format(us * 1000, out);
		return (out);
	}
	if (json_object_is_type(t, json_type_string) &&
	    tf_parse(json_object_get_string(t), &us) == 0) {
		tf_format(us, out);
		return (out);
	}
	return (NULL);
}

/* A Jenkins Result as a PipelineCompleted status, or NULL. */
static const char *
jenkins_result(const char *s)
{
	if (s == NULL)
		return (NULL);
	if (strcmp(s, "SUCCESS") == 0)
		return ("success");
	if (strcmp(s, "FAILURE") == 0)
		return ("failure");
	if (strcmp(s, "UNSTABLE") == 0)
		return ("unstable");
	if (strcmp(s, "ABORTED") == 0)
		return ("cancelled");
	if (strcmp(s, "NOT_BUILT") == 0)
		return ("skipped");
	return (NULL);
}

/* "origin/main", "refs/heads/main", "refs/remotes/origin/main" -> "main" */
static const char *
jenkins_branch(const char *b)
{
	if (b == NULL)
		return (NULL);
	if (strncmp(b, "refs/remotes/", 13) == 0 && strchr(b + 13, '/'))
		return (strchr(b + 13, '/') + 1);
	if (strncmp(b, "refs/heads/", 11) == 0)
		return (b + 11);
	if (strncmp(b, "origin/", 7) == 0)
		return (b + 7);
	return (b);
}

/*
 * The repository path of a clone URL: "https://host/acme/shop.git",
 * "ssh://git@host:22/acme/shop.git" and "git@host:acme/shop.git" all give
 * "acme/shop".  Returns buf, or NULL.
 */
static const char *
jenkins_repo(const char *url, char *buf, size_t len)
{
	const char	*s;
	size_t		 n;

	if (url == NULL || *url == '\0')
		return (NULL);
	if ((s = strstr(url, "://")) != NULL) {
		if ((s = strchr(s + 3, '/')) == NULL)
			return (NULL);
	} else if ((s = strchr(url, ':')) != NULL)
		s++;			/* scp-like user@host:path */
	else
		s = url;
	while (*s == '/')
		s++;
	snprintf(buf, len, "%s", s);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	if (n >= 4 && strcmp(buf + n - 4, ".git") == 0)
		buf[n -= 4] = '\0';
	return (n > 0 ? buf : NULL);
}

static int
jenkins_normalize(const struct source_req *r, json_object *p,
    const char *delivery, json_object *out, char *ignored, size_t ilen)
{
	json_object	*ev, *props, *d;
	const char	*phase, *num, *status, *branch, *url;
	char		 job[JENKINS_JOBMAX], name[JENKINS_JOBMAX];
	char		 pid[JENKINS_JOBMAX + 32], id[MP_IDMAX];
	char		 tbuf[MP_TIMELEN], rbuf[256], tag[JENKINS_JOBMAX + 48];
	char		*p2;
	int		 done, queued;

	/* delivery_id has checked all three. */
	if (jenkins_job(p, job, sizeof(job)) == -1 ||
	    (num = source_str(p, "build.number")) == NULL ||
	    (phase = source_str(p, "build.phase")) == NULL) {
		snprintf(ignored, ilen, "no name, build.number or build.phase");
		return (-1);
	}
	/* QUEUED announces the build: a deploy job's is a planned deployment. */
	queued = strcmp(phase, "QUEUED") == 0;
	done = strcmp(phase, "COMPLETED") == 0 ||
	    strcmp(phase, "FINALIZED") == 0 || strcmp(phase, "FINISHED") == 0;
	if (!done && !queued && strcmp(phase, "STARTED") != 0) {
		snprintf(ignored, ilen, "phase %.32s is not used", phase);
		return (1);
	}
	snprintf(pid, sizeof(pid), "%s#%s", job, num);
	if (done) {
		if ((status = jenkins_result(source_str(p,
		    "build.status"))) == NULL) {
			snprintf(ignored, ilen, "phase %.32s: status %.32s is not "
			    "an end", phase, source_str(p, "build.status") ?
			    source_str(p, "build.status") : "null");
			return (1);
		}
		snprintf(id, sizeof(id), "%s.COMPLETED", pid);
		ev = source_evidence(out, id, "PipelineCompleted", pid,
		    jenkins_time(p, tbuf));
		source_prop(ev, "status", status);
		/* Milliseconds; 0 is what a build not yet timed says. */
		if (json_object_object_get_ex(p, "build", &d) &&
		    json_object_object_get_ex(d, "duration", &d) &&
		    json_object_is_type(d, json_type_int) &&
		    json_object_get_int64(d) > 0 &&
		    json_object_object_get_ex(ev, "properties", &props))
			json_object_object_add(props, "duration",
			    json_object_new_double(
			    (double)json_object_get_int64(d) / 1000));
	} else
		ev = source_evidence(out, delivery, queued ? "PipelineQueued" :
		    "PipelineStarted", pid, jenkins_time(p, tbuf));
	jenkins_unescape(job, name, sizeof(name));
	branch = jenkins_branch(source_str(p, "build.scm.branch"));
	url = source_str(p, "build.full_url");
	source_prop(ev, "pipelineId", pid);
	source_prop(ev, "kind", "build");
	source_prop(ev, "tool", "jenkins");
	source_prop(ev, "name", name);
	source_prop(ev, "ref", branch);
	source_prop(ev, "url", url);
	source_link(ev, "pipeline", pid);
	source_link(ev, "commit", source_str(p, "build.scm.commit"));
	source_link(ev, "branch", branch);
	source_link(ev, "repo", jenkins_repo(source_str(p, "build.scm.url"),
	    rbuf, sizeof(rbuf)));
	source_link(ev, "url", url);
	/*
	 * The build, as `milepost run` names it by default in Jenkins:
	 * BUILD_TAG, "jenkins-<JOB_NAME with / as ->-<BUILD_NUMBER>".
	 */
	for (p2 = name; *p2 != '\0'; p2++)
		if (*p2 == '/')
			*p2 = '-';
	snprintf(tag, sizeof(tag), "jenkins-%s-%s", name, num);
	source_build(out, ev, tag);
	return (0);
}

const struct mp_source source_jenkins = {
	.name = "jenkins",
	.auth = SRC_AUTH_BASIC | SRC_AUTH_BEARER,
	.verify = jenkins_verify,
	.delivery_id = jenkins_delivery_id,
	.normalize = jenkins_normalize,
};
