/*
 * git.c: the links "commit", "branch" and "repo" of the working directory's
 * repository, read with libgit2.
 *
 * The repository is found as git(1) finds it (GIT_DIR, GIT_CEILING_DIRECTORIES
 * and the walk up from the working directory).  A detached HEAD, as CI
 * checkouts usually are, has no branch; the CI's environment names it then.
 * libgit2 lives only for the duration of git_links_add(), so that commands
 * that do not need it pay nothing for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "agent.h"

static void	git_link_set(json_object *, const char *, const char *);
static int	git_url_slug(const char *, char *, size_t);
static const char *git_env_branch(void);

/* Add key=value to links unless the caller set key already. */
static void
git_link_set(json_object *links, const char *key, const char *value)
{
	if (value == NULL || *value == '\0' ||
	    json_object_object_get_ex(links, key, NULL))
		return;
	json_object_object_add(links, key, json_object_new_string(value));
}

/*
 * "owner/name" from a remote URL: the path after the host of
 * "scheme://[user@]host[:port]/owner/name(.git)" or "[user@]host:owner/
 * name(.git)", or the last two components of a local path.  The user and
 * password part is never copied.  Returns 0, or -1 if nothing is left.
 */
static int
git_url_slug(const char *url, char *out, size_t outlen)
{
	const char	*p, *colon, *slash, *end;
	size_t		 n;
	int		 local = 0, seen = 0;

	if ((p = strstr(url, "://")) != NULL) {
		local = strncmp(url, "file:", 5) == 0;
		if ((p = strchr(p + 3, '/')) == NULL)
			return (-1);
	} else if (url[0] == '/' || url[0] == '.') {
		local = 1;
		p = url;
	} else {
		colon = strchr(url, ':');
		slash = strchr(url, '/');
		if (colon != NULL && (slash == NULL || colon < slash))
			p = colon + 1;
		else {
			local = 1;
			p = url;
		}
	}
	end = p + strlen(p);
	while (end > p && end[-1] == '/')
		end--;
	if (end - p >= 4 && strncmp(end - 4, ".git", 4) == 0)
		end -= 4;
	while (end > p && end[-1] == '/')
		end--;
	if (local) {
		/* The last two components only. */
		for (colon = end; colon > p; colon--)
			if (colon[-1] == '/' && ++seen == 2)
				break;
		p = colon;
	}
	while (p < end && *p == '/')
		p++;
	if (p >= end)
		return (-1);
	n = (size_t)(end - p);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return (0);
}

/*
 * The base name of a repository's directory, without ".git" or "/.git",
 * into out (truncated to outlen).
 */
void
git_dir_slug(const char *dir, char *out, size_t outlen)
{
	const char	*end = dir + strlen(dir), *p;
	size_t		 n;

	while (end > dir && end[-1] == '/')
		end--;
	if (end - dir > 5 && strncmp(end - 5, "/.git", 5) == 0)
		end -= 5;
	else if (end - dir > 4 && strncmp(end - 4, ".git", 4) == 0)
		end -= 4;
	for (p = end; p > dir && p[-1] != '/'; p--)
		;
	n = (size_t)(end - p);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The branch a CI says it builds, for a detached HEAD; NULL if none. */
static const char *
git_env_branch(void)
{
	static const char	*vars[] = {
		"GITHUB_HEAD_REF",	/* pull requests: the source branch */
		"GITHUB_REF_NAME",
		"BRANCH_NAME",		/* Jenkins multibranch */
		"CI_COMMIT_REF_NAME",	/* GitLab */
		NULL
	};
	const char		*s;
	size_t			 i;

	for (i = 0; vars[i] != NULL; i++)
		if ((s = getenv(vars[i])) != NULL && *s != '\0')
			return (s);
	return (NULL);
}

/*
 * Add "commit" (HEAD's object id), "branch" and "repo" to links (borrowed)
 * when the working directory is in a repository; links already there are
 * kept.  Returns 0 when a repository was found, -1 when not (silently: not
 * every build is in one).
 */
int
git_links_add(json_object *links)
{
	git_repository	*repo = NULL;
	git_reference	*head = NULL;
	git_remote	*remote = NULL;
	const git_oid	*oid;
	const char	*s, *branch = NULL;
	char		 hex[GIT_OID_HEXSZ * 2 + 1], slug[512];
	int		 error, rc = -1;

	if (git_libgit2_init() < 0) {
		log_debug("%s: git_libgit2_init failed", __func__);
		return (-1);
	}
#if LIBGIT2_VER_MAJOR > 1 || (LIBGIT2_VER_MAJOR == 1 && LIBGIT2_VER_MINOR >= 5)
	/*
	 * Only HEAD and the remote's URL are read, and nothing configured
	 * is run, so a checkout owned by another user (CI containers) is
	 * safe to read.
	 */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
#endif
	if (git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV,
	    NULL) != 0) {
		log_debug("%s: no repository: %s", __func__,
		    git_error_last() ? git_error_last()->message : "");
		goto out;
	}
	rc = 0;

	error = git_repository_head(&head, repo);
	if (error == 0) {
		if ((oid = git_reference_target(head)) != NULL) {
			git_oid_tostr(hex, sizeof(hex), oid);
			git_link_set(links, "commit", hex);
		}
		if (git_reference_is_branch(head))
			branch = git_reference_shorthand(head);
	} else if (error == GIT_EUNBORNBRANCH &&
	    git_reference_lookup(&head, repo, "HEAD") == 0 &&
	    (s = git_reference_symbolic_target(head)) != NULL &&
	    strncmp(s, "refs/heads/", 11) == 0)
		branch = s + 11;
	if (branch == NULL)
		branch = git_env_branch();
	git_link_set(links, "branch", branch);

	if (git_remote_lookup(&remote, repo, "origin") == 0 &&
	    (s = git_remote_url(remote)) != NULL &&
	    git_url_slug(s, slug, sizeof(slug)) == 0)
		git_link_set(links, "repo", slug);
	else {
		if ((s = git_repository_workdir(repo)) == NULL)
			s = git_repository_path(repo);
		git_dir_slug(s, slug, sizeof(slug));
		git_link_set(links, "repo", slug);
	}
out:
	git_remote_free(remote);
	git_reference_free(head);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return (rc);
}
