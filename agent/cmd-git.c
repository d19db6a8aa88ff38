/*
 * cmd-git.c: "milepost git", the server side of a push.
 *
 * "git post-receive" reads git's "<old> <new> <ref>" lines on stdin and
 * posts one CommitPushed per new commit.  A commit is new when a pushed
 * branch or tag reaches it now and no ref reached it before the push.  One
 * libgit2 revwalk finds them: it pushes the new values of the branches and
 * tags, and hides every ref that is not being pushed (in post-receive the
 * refs hold their new values already) and the old values of those that
 * are.  So a new branch reports what no other ref had, an update old..new,
 * a force push what the rewrite added (with forced=true), a tag only the
 * commits no branch had, and a deletion nothing.  Each new commit is told
 * once, for the first pushed ref that reaches it: branches before tags,
 * then in git's order.  Refs outside refs/heads/ and refs/tags/ (notes,
 * say) bring no commits of their own.
 *
 * The evidence id is "<repo>@<sha>", so running the hook twice, or a
 * commit coming back after a rewrite dropped it, is a duplicate.  The
 * event time is the push; authorTime is the author's.  Evidence goes in
 * batches of up to 1000 (one POST each, one spool file when the receiver
 * cannot take it), and the command always exits 0, with one line on
 * stderr that git shows the pusher as "remote: ...".
 *
 * Hooks run with whatever environment the git server has, so the unset
 * MILEPOST_* variables are read from "milepost.env" in the repository
 * ($GIT_DIR; KEY=VALUE lines, mode 0600).  "git install-hook REPO" writes
 * that file from its own environment and --url, and a post-receive hook
 * that runs this program by its absolute path, then the hook that was
 * there before (moved to post-receive.chained) with the same input.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "agent.h"

#define CMD_GIT_LINE_MAX	4096		/* one line of git's input */
#define CMD_GIT_MESSAGE_MAX	4096		/* bytes of "message" */
#define CMD_GIT_SCAN_MAX	(64 * 1024)	/* message bytes for keys */
#define CMD_GIT_BATCH_MAX	1000		/* the receiver's limit */
#define CMD_GIT_BATCH_BYTES	(512 * 1024)	/* under max_body's 1 MiB */
#define CMD_GIT_NAME_MAX	200		/* repo bytes in an id */
#define CMD_GIT_FILE_MAX	(1024 * 1024)	/* env file, existing hook */
#define CMD_GIT_ENV_FILE	"milepost.env"
#define CMD_GIT_HOOK		"post-receive"
#define CMD_GIT_CHAINED		"post-receive.chained"
#define CMD_GIT_MARK		"# milepost-hook: post-receive"
#define CMD_GIT_BUDGET		30		/* seconds of sending, at most */

/* One line of git's input. */
struct cmd_git_update {
	char		*ref;
	git_oid		 old;		/* zero: the ref is created */
	git_oid		 new;		/* zero: the ref is deleted */
	git_oid		 tip;		/* new, peeled to a commit */
	int		 has_tip;
	int		 forced;	/* old is not an ancestor of new */
	size_t		 ncommits;	/* new commits told for this ref */
};

/* One push: its updates and the new commits they brought. */
struct cmd_git_push {
	git_repository		*repo;
	struct cmd_git_update	*u;
	size_t			 nu;
	char			**names;	/* the pushed refs, sorted */
	size_t			*order;		/* branches, then tags */
	size_t			 norder;
	git_oid			*c;		/* new commits, parents first */
	size_t			*cref;		/* each one's update */
	size_t			 nc;
	size_t			*slot;		/* oid hash: index + 1 */
	size_t			 nslot;
	char			 repo_name[CMD_GIT_NAME_MAX + 1];
	char			 now[MP_TIMELEN];
	size_t			 sent, spooled, refused, lost;
	json_object		*unknown;	/* milestone -> commits naming it */
};

static int	cmd_git_exec(const struct cmd_entry *, int, char **);
static int	cmd_git_post_receive(const struct cmd_entry *, int, char **);
static int	cmd_git_install(const struct cmd_entry *, int, char **);
static int	cmd_git_open(git_repository **, const char *, int);
static int	cmd_git_read(struct cmd_git_push *, FILE *);
static int	cmd_git_parse(char *, struct cmd_git_update *);
static int	cmd_git_cmpstr(const void *, const void *);
static int	cmd_git_pushed(const struct cmd_git_push *, const char *);
static int	cmd_git_walk(struct cmd_git_push *);
static size_t	cmd_git_find(const struct cmd_git_push *, const git_oid *);
static void	cmd_git_index(struct cmd_git_push *);
static void	cmd_git_attribute(struct cmd_git_push *);
static void	cmd_git_forced(struct cmd_git_push *, struct cmd_git_update *);
static int	cmd_git_peel(git_repository *, const git_oid *, git_oid *);
static void	cmd_git_repo_name(struct cmd_git_push *);
static json_object *cmd_git_evidence(struct cmd_git_push *, size_t);
static void	cmd_git_utf8(struct buf *, const char *, size_t);
static int	cmd_git_time(const git_time *, char *, size_t);
static void	cmd_git_deliver(struct cmd_git_push *);
static void	cmd_git_send(struct cmd_git_push *, json_object *);
static void	cmd_git_post_one(struct cmd_git_push *, json_object *);
static void	cmd_git_summary(const struct cmd_git_push *);
static void	cmd_git_unknown(struct cmd_git_push *,
		    const struct client_reply *);
static void	cmd_git_push_clear(struct cmd_git_push *);
static void	cmd_git_alarm(int);
static char	*cmd_git_hooks_dir(git_repository *);
static int	cmd_git_write_file(const char *, const char *, size_t, mode_t,
		    const struct stat *);
static int	cmd_git_install_hook(const char *, const char *, int *);
static int	cmd_git_install_env(const char *, const char *, const char *,
		    char *, size_t);
static void	cmd_git_shell_quote(struct buf *, const char *);
static char	*cmd_git_path(const char *, const char *);
static int	cmd_git_env_has(const char *, const char *);

static volatile sig_atomic_t	cmd_git_late;	/* CMD_GIT_BUDGET is spent */

const struct cmd_entry cmd_git_entry = {
	.name = "git",
	.usage = "post-receive | install-hook REPO [--url URL] [--name NAME]",
	.summary = "record pushed commits from a git post-receive hook",
	.help =
	    "commands:\n"
	    "  post-receive       read git's post-receive input on stdin "
	    "and post one\n"
	    "                     CommitPushed per new commit; always "
	    "exits 0\n"
	    "  install-hook REPO  install the post-receive hook in REPO, "
	    "chaining the\n"
	    "                     hook already there (post-receive."
	    "chained)\n"
	    "\ninstall-hook options:\n"
	    "  --url URL    the receiver (default: $MILEPOST_URL), written "
	    "with\n"
	    "               $MILEPOST_SECRET to REPO's milepost.env (mode "
	    "0600)\n"
	    "  --name NAME  the repo link (git config milepost.repo; "
	    "default: the\n"
	    "               repository directory's name without .git)\n"
	    "\nThe hook reads MILEPOST_URL, MILEPOST_SECRET, MILEPOST_SPOOL "
	    "and\n"
	    "MILEPOST_TIMEOUT from $GIT_DIR/milepost.env when the "
	    "environment lacks them.\n",
	.exec = cmd_git_exec,
};

/* "git SUBCOMMAND ...".  Returns the subcommand's exit status. */
static int
cmd_git_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	if (argc < 2)
		return (cmd_usage_error(ce, "no git command (post-receive, "
		    "install-hook)"));
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return (cmd_help(ce));
	optind = 0;	/* GNU getopt: start afresh after the subcommand */
	if (strcmp(argv[1], "post-receive") == 0)
		return (cmd_git_post_receive(ce, argc - 1, argv + 1));
	if (strcmp(argv[1], "install-hook") == 0)
		return (cmd_git_install(ce, argc - 1, argv + 1));
	return (cmd_usage_error(ce, "unknown git command: %s", argv[1]));
}

/* dir/name as a new string, with one slash between them. */
static char *
cmd_git_path(const char *dir, const char *name)
{
	char	*path;
	size_t	 n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	xasprintf(&path, "%.*s/%s", (int)n, dir, name);
	return (path);
}

/*
 * Open the repository at path, or the one git(1) would find (GIT_DIR, the
 * working directory) when path is NULL.  libgit2 must be initialised.
 * Returns 0, or -1 with a warning when quiet is 0.
 */
static int
cmd_git_open(git_repository **repo, const char *path, int quiet)
{
	const git_error	*e;

#if LIBGIT2_VER_MAJOR > 1 || (LIBGIT2_VER_MAJOR == 1 && LIBGIT2_VER_MINOR >= 5)
	/* git itself, as the repository's owner, runs the hook. */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
#endif
	if (git_repository_open_ext(repo, path, path == NULL ?
	    GIT_REPOSITORY_OPEN_FROM_ENV : GIT_REPOSITORY_OPEN_NO_SEARCH,
	    NULL) == 0)
		return (0);
	*repo = NULL;
	if (!quiet) {
		e = git_error_last();
		log_warnx("git: %s: not a git repository%s%s",
		    path != NULL ? path : "here", e != NULL ? ": " : "",
		    e != NULL ? e->message : "");
	}
	return (-1);
}

/*
 * Set the MILEPOST_* variables that the environment lacks from
 * dir/milepost.env: "KEY=VALUE" lines, '#' comments, no quoting.  A
 * missing file is not an error; a bad line is skipped with a warning.
 */
void
cmd_git_env_load(const char *dir)
{
	static const char	*keys[] = {
		"MILEPOST_URL", "MILEPOST_SECRET", "MILEPOST_SPOOL",
		"MILEPOST_TIMEOUT", "MILEPOST_TOKEN", NULL
	};
	struct stat	 st;
	struct buf	 b;
	char		*path, *line, *next, *eq, *end;
	size_t		 i, lineno = 0;
	int		 secret = 0;

	path = cmd_git_path(dir, CMD_GIT_ENV_FILE);
	buf_init(&b);
	if (buf_read_file(&b, path, CMD_GIT_FILE_MAX) == -1) {
		if (errno != ENOENT)
			log_warn("git: %s", path);
		goto out;
	}
	for (line = buf_cstr(&b); line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		end = line + strlen(line);
		while (end > line && (end[-1] == '\r' || end[-1] == ' ' ||
		    end[-1] == '\t'))
			*--end = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			log_warnx("git: %s:%zu: expected KEY=VALUE", path,
			    lineno);
			continue;
		}
		*eq = '\0';
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(line, keys[i]) == 0)
				break;
		if (keys[i] == NULL) {
			log_warnx("git: %s:%zu: %.64s is not one of "
			    "MILEPOST_URL, MILEPOST_SECRET, MILEPOST_SPOOL, "
			    "MILEPOST_TIMEOUT, MILEPOST_TOKEN", path, lineno,
			    line);
			continue;
		}
		if (strcmp(line, "MILEPOST_SECRET") == 0)
			secret = 1;
		if (setenv(line, eq + 1, 0) == -1)
			log_warn("git: setenv %s", line);
	}
	if (secret && fstatat(AT_FDCWD, path, &st, 0) == 0 &&
	    (st.st_mode & 077) != 0)
		log_warnx("git: %s holds a secret but others may read it: "
		    "chmod 600 it", path);
out:
	if (b.data != NULL)
		explicit_bzero(b.data, b.cap);
	buf_free(&b);
	free(path);
}

/*
 * Parse "<old> <new> <ref>" (line is modified) into u; u->ref is new.
 * A ref holds no control character or DEL (git-check-ref-format(1) says
 * so; one would end up in the evidence's links).  Returns 0, or -1 if the
 * line is not one.
 */
static int
cmd_git_parse(char *line, struct cmd_git_update *u)
{
	char	*p, *q, *r;

	memset(u, 0, sizeof(*u));
	if ((p = strchr(line, ' ')) == NULL || (q = strchr(p + 1, ' ')) ==
	    NULL || q[1] == '\0' || strchr(q + 1, ' ') != NULL)
		return (-1);
	*p++ = '\0';
	*q++ = '\0';
	for (r = q; *r != '\0'; r++)
		if ((unsigned char)*r < ' ' || *r == 0x7f)
			return (-1);
	if (strlen(line) != GIT_OID_HEXSZ || strlen(p) != GIT_OID_HEXSZ ||
	    git_oid_fromstr(&u->old, line) != 0 ||
	    git_oid_fromstr(&u->new, p) != 0)
		return (-1);
	u->ref = xstrdup(q);
	return (0);
}

/*
 * Read git's input from f into p->u, any number of lines of at most
 * CMD_GIT_LINE_MAX bytes; a line that is too long or malformed is skipped
 * with a warning.  Returns 0, or -1 if f could not be read.
 */
static int
cmd_git_read(struct cmd_git_push *p, FILE *f)
{
	struct cmd_git_update	 u;
	char			 line[CMD_GIT_LINE_MAX + 2];
	size_t			 n, cap = 0, lineno = 0;
	int			 c;

	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f)) {
			while ((c = getc(f)) != EOF && c != '\n')
				;
			log_warnx("git: input line %zu is over %d bytes; "
			    "skipped", lineno, CMD_GIT_LINE_MAX);
			continue;
		}
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (cmd_git_parse(line, &u) == -1) {
			log_warnx("git: input line %zu is not \"<old> <new> "
			    "<ref>\"; skipped", lineno);
			continue;
		}
		if (p->nu == cap) {
			cap = cap ? cap * 2 : 8;
			p->u = xreallocarray(p->u, cap, sizeof(*p->u));
		}
		p->u[p->nu++] = u;
	}
	if (ferror(f)) {
		log_warn("git: reading the pushed refs");
		return (-1);
	}
	return (0);
}

/*
 * Read git's post-receive input from f as the hook does (cmd_git_read),
 * and call fn(arg, ref, old, new) for each update taken, the ids in hex.
 * Returns what cmd_git_read returns.
 */
int
cmd_git_read_refs(FILE *f, void (*fn)(void *, const char *, const char *,
    const char *), void *arg)
{
	struct cmd_git_push	 p;
	char			 o[GIT_OID_HEXSZ + 1], n[GIT_OID_HEXSZ + 1];
	size_t			 i;
	int			 rc;

	memset(&p, 0, sizeof(p));
	rc = cmd_git_read(&p, f);
	for (i = 0; i < p.nu; i++) {
		git_oid_tostr(o, sizeof(o), &p.u[i].old);
		git_oid_tostr(n, sizeof(n), &p.u[i].new);
		fn(arg, p.u[i].ref, o, n);
	}
	cmd_git_push_clear(&p);
	return (rc);
}

static int
cmd_git_cmpstr(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Is the ref named name one of this push's? */
static int
cmd_git_pushed(const struct cmd_git_push *p, const char *name)
{
	return (p->nu > 0 && bsearch(&name, p->names, p->nu,
	    sizeof(*p->names), cmd_git_cmpstr) != NULL);
}

/* Peel id to the commit it names into out.  Returns 0, or -1. */
static int
cmd_git_peel(git_repository *repo, const git_oid *id, git_oid *out)
{
	git_object	*o = NULL, *c = NULL;
	int		 rc = -1;

	if (git_object_lookup(&o, repo, id, GIT_OBJECT_ANY) == 0 &&
	    git_object_peel(&c, o, GIT_OBJECT_COMMIT) == 0) {
		git_oid_cpy(out, git_object_id(c));
		rc = 0;
	}
	git_object_free(c);
	git_object_free(o);
	return (rc);
}

/*
 * Find the new commits: reachable from the new values of the pushed
 * branches and tags, hidden from every other ref and from the old values.
 * Fills p->c in topological order, parents first.  Returns 0, or -1 with
 * a warning when the repository's refs could not be listed.
 */
static int
cmd_git_walk(struct cmd_git_push *p)
{
	git_revwalk		*walk = NULL;
	git_reference_iterator	*it = NULL;
	git_reference		*ref;
	struct cmd_git_update	*u;
	git_oid			 id;
	size_t			 i, cap = 0, pushed = 0;
	int			 error, rc = -1;

	if (git_revwalk_new(&walk, p->repo) != 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL |
	    GIT_SORT_REVERSE) != 0) {
		log_warnx("git: revwalk: %s", git_error_last() ?
		    git_error_last()->message : "failed");
		goto out;
	}
	for (i = 0; i < p->norder; i++) {
		u = &p->u[p->order[i]];
		if (!u->has_tip)
			continue;
		if (git_revwalk_push(walk, &u->tip) == 0)
			pushed++;
	}
	/* Hiding fails for refs to trees or blobs: they hide nothing. */
	for (i = 0; i < p->nu; i++)
		if (!git_oid_is_zero(&p->u[i].old))
			(void)git_revwalk_hide(walk, &p->u[i].old);
	if (git_reference_iterator_new(&it, p->repo) != 0) {
		log_warnx("git: listing the refs: %s", git_error_last() ?
		    git_error_last()->message : "failed");
		goto out;
	}
	while ((error = git_reference_next(&ref, it)) == 0) {
		if (git_reference_type(ref) == GIT_REFERENCE_DIRECT &&
		    !cmd_git_pushed(p, git_reference_name(ref)))
			(void)git_revwalk_hide(walk, git_reference_target(ref));
		git_reference_free(ref);
	}
	if (error != GIT_ITEROVER) {
		log_warnx("git: listing the refs: %s", git_error_last() ?
		    git_error_last()->message : "failed");
		goto out;
	}
	rc = 0;
	if (pushed == 0)
		goto out;
	while ((error = git_revwalk_next(&id, walk)) == 0) {
		if (p->nc == cap) {
			cap = cap ? cap * 2 : 64;
			p->c = xreallocarray(p->c, cap, sizeof(*p->c));
		}
		git_oid_cpy(&p->c[p->nc++], &id);
	}
	if (error != GIT_ITEROVER)
		log_warnx("git: revwalk stopped after %zu commits: %s", p->nc,
		    git_error_last() ? git_error_last()->message : "failed");
out:
	git_reference_iterator_free(it);
	git_revwalk_free(walk);
	return (rc);
}

/* The index of id in p->c, or (size_t)-1. */
static size_t
cmd_git_find(const struct cmd_git_push *p, const git_oid *id)
{
	size_t	h, k;

	if (p->nslot == 0)
		return ((size_t)-1);
	memcpy(&h, id->id, sizeof(h));
	for (k = h & (p->nslot - 1); p->slot[k] != 0;
	    k = (k + 1) & (p->nslot - 1))
		if (git_oid_equal(&p->c[p->slot[k] - 1], id))
			return (p->slot[k] - 1);
	return ((size_t)-1);
}

/* Build the open-addressing hash of p->c (a power of two, half full). */
static void
cmd_git_index(struct cmd_git_push *p)
{
	size_t	i, h, k;

	for (p->nslot = 16; p->nslot < 2 * p->nc; p->nslot *= 2)
		;
	p->slot = xcalloc(p->nslot, sizeof(*p->slot));
	for (i = 0; i < p->nc; i++) {
		memcpy(&h, p->c[i].id, sizeof(h));
		for (k = h & (p->nslot - 1); p->slot[k] != 0;
		    k = (k + 1) & (p->nslot - 1))
			;
		p->slot[k] = i + 1;
	}
}

/*
 * Give each new commit the first pushed ref (in p->order) that reaches it:
 * a walk from each tip through new commits not given yet.  What a walk
 * stops at was given before, and so were its new ancestors.
 */
static void
cmd_git_attribute(struct cmd_git_push *p)
{
	struct cmd_git_update	*u;
	git_commit		*c;
	size_t			*stack, n, i, k, pk, up;
	unsigned int		 j, np;

	/* Each commit is stacked once at most: nc entries suffice. */
	stack = xreallocarray(NULL, p->nc ? p->nc : 1, sizeof(*stack));
	p->cref = xreallocarray(NULL, p->nc ? p->nc : 1, sizeof(*p->cref));
	for (k = 0; k < p->nc; k++)
		p->cref[k] = (size_t)-1;
	for (i = 0; i < p->norder; i++) {
		up = p->order[i];
		u = &p->u[up];
		if (!u->has_tip || (k = cmd_git_find(p, &u->tip)) ==
		    (size_t)-1 || p->cref[k] != (size_t)-1)
			continue;
		p->cref[k] = up;
		stack[0] = k;
		n = 1;
		while (n > 0) {
			k = stack[--n];
			u->ncommits++;
			if (git_commit_lookup(&c, p->repo, &p->c[k]) != 0)
				continue;
			np = git_commit_parentcount(c);
			for (j = 0; j < np; j++) {
				pk = cmd_git_find(p,
				    git_commit_parent_id(c, j));
				if (pk == (size_t)-1 ||
				    p->cref[pk] != (size_t)-1)
					continue;
				p->cref[pk] = up;
				stack[n++] = pk;
			}
			git_commit_free(c);
		}
	}
	free(stack);
}

/* Set u->forced when u moves a ref to a commit that does not descend. */
static void
cmd_git_forced(struct cmd_git_push *p, struct cmd_git_update *u)
{
	git_oid	old;

	if (!u->has_tip || git_oid_is_zero(&u->old) ||
	    cmd_git_peel(p->repo, &u->old, &old) == -1 ||
	    git_oid_equal(&old, &u->tip))
		return;
	u->forced = git_graph_descendant_of(p->repo, &u->tip, &old) != 1;
}

/*
 * The repo link: git config milepost.repo, else the repository
 * directory's name without ".git".
 */
static void
cmd_git_repo_name(struct cmd_git_push *p)
{
	git_config	*cfg = NULL;
	const char	*s = NULL;

	if (git_repository_config_snapshot(&cfg, p->repo) == 0 &&
	    git_config_get_string(&s, cfg, "milepost.repo") == 0 &&
	    *s != '\0')
		strlcpy(p->repo_name, s, sizeof(p->repo_name));
	else
		git_dir_slug(git_repository_commondir(p->repo), p->repo_name,
		    sizeof(p->repo_name));
	git_config_free(cfg);
	if (p->repo_name[0] == '\0')
		strlcpy(p->repo_name, "repo", sizeof(p->repo_name));
}

/*
 * Append s (n bytes) to b as valid UTF-8: a byte that does not start a
 * well-formed sequence becomes U+FFFD.  Commit messages are bytes, and the
 * receiver takes only UTF-8.
 */
static void
cmd_git_utf8(struct buf *b, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s, *end = p + n;
	size_t			 len, i;
	uint32_t		 cp;

	while (p < end) {
		if (*p < 0x80) {
			buf_addc(b, (char)*p++);
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			len = 2;
			cp = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			len = 3;
			cp = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			len = 4;
			cp = *p & 0x07;
		} else
			goto bad;
		if ((size_t)(end - p) < len)
			goto bad;
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 ||
		    cp > 0x10ffff)))
			goto bad;
		buf_add(b, p, len);
		p += len;
		continue;
bad:
		buf_adds(b, "\xef\xbf\xbd");
		p++;
	}
}

/*
 * A git time as RFC 3339 with its own offset ("2025-07-03T12:08:20+02:00"),
 * which the receiver turns into UTC.  Returns 0, or -1 if the time does
 * not fit RFC 3339 (years 1 to 9999).
 */
static int
cmd_git_time(const git_time *t, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		s;
	int		off = t->offset;

	if (off <= -24 * 60 || off >= 24 * 60)
		off = 0;	/* no RFC 3339 offset: say it in UTC */
	s = (time_t)(t->time + (git_time_t)off * 60);
	if (gmtime_r(&s, &tm) == NULL || tm.tm_year + 1900 < 1 ||
	    tm.tm_year + 1900 > 9999)
		return (-1);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', abs(off) / 60,
	    abs(off) % 60);
	return (0);
}

/*
 * The CommitPushed of p->c[k]: a new object (taken by the caller), or
 * NULL with a warning if the commit cannot be read.
 */
static json_object *
cmd_git_evidence(struct cmd_git_push *p, size_t k)
{
	const struct cmd_git_update	*u = &p->u[p->cref[k]];
	const git_signature		*a;
	git_commit			*c;
	json_object			*ev, *props, *parents;
	struct buf			 msg, scan, name, ref, repo;
	const char			*m, *r;
	char				 sha[GIT_OID_HEXSZ + 1];
	char				 psha[GIT_OID_HEXSZ + 1];
	char				 id[MP_IDMAX + 1], when[64];
	size_t				 len, n, half;
	unsigned int			 pi;

	git_oid_tostr(sha, sizeof(sha), &p->c[k]);
	if (git_commit_lookup(&c, p->repo, &p->c[k]) != 0) {
		log_warnx("git: commit %s: %s", sha, git_error_last() ?
		    git_error_last()->message : "cannot be read");
		return (NULL);
	}
	cmd_id_sanitize(p->repo_name, id, CMD_GIT_NAME_MAX + 1);
	snprintf(id + strlen(id), sizeof(id) - strlen(id), "@%s", sha);
	ev = cmd_evidence_new(id, "CommitPushed", sha, p->now);
	json_object_object_add(ev, "links", json_object_new_object());
	json_object_object_get_ex(ev, "properties", &props);

	/* The message, valid UTF-8, without its trailing white space. */
	buf_init(&msg);
	buf_init(&scan);
	buf_init(&name);
	buf_init(&ref);
	buf_init(&repo);
	if ((m = git_commit_message(c)) == NULL)
		m = "";
	len = strlen(m);
	while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == '\r' ||
	    m[len - 1] == ' ' || m[len - 1] == '\t'))
		len--;
	/* Keys are looked for in the head and the tail (trailers). */
	if (len <= CMD_GIT_SCAN_MAX)
		cmd_git_utf8(&scan, m, len);
	else {
		half = CMD_GIT_SCAN_MAX / 2;
		cmd_git_utf8(&scan, m, half);
		buf_addc(&scan, '\n');
		cmd_git_utf8(&scan, m + len - half, half);
	}
	buf_cstr(&scan);
	n = scan.len < CMD_GIT_MESSAGE_MAX ? scan.len : CMD_GIT_MESSAGE_MAX;
	while (n > 0 && n < scan.len && (scan.data[n] & 0xc0) == 0x80)
		n--;		/* not in the middle of a character */
	buf_add(&msg, scan.data, n);

	cmd_git_utf8(&ref, u->ref, strlen(u->ref));
	cmd_git_utf8(&repo, p->repo_name, strlen(p->repo_name));
	r = buf_cstr(&ref);
	source_prop(ev, "sha", sha);
	source_prop(ev, "ref", r);
	source_prop(ev, "message", buf_cstr(&msg));
	if ((a = git_commit_author(c)) != NULL) {
		if (a->name != NULL)
			cmd_git_utf8(&name, a->name, strlen(a->name));
		source_prop(ev, "author", buf_cstr(&name));
		if (cmd_git_time(&a->when, when, sizeof(when)) == 0)
			source_prop(ev, "authorTime", when);
	}
	json_object_object_add(props, "forced",
	    json_object_new_boolean(u->forced));
	parents = json_object_new_array();
	for (pi = 0; pi < git_commit_parentcount(c); pi++) {
		git_oid_tostr(psha, sizeof(psha), git_commit_parent_id(c, pi));
		json_object_array_add(parents, json_object_new_string(psha));
	}
	json_object_object_add(props, "parents", parents);
	source_prop(ev, "tool", "git");
	source_message_keys(ev, buf_cstr(&scan));

	source_link(ev, "commit", sha);
	source_link(ev, "repo", buf_cstr(&repo));
	if (strncmp(r, "refs/heads/", 11) == 0)
		source_link(ev, "branch", r + 11);
	else if (strncmp(r, "refs/tags/", 10) == 0)
		source_link(ev, "tag", r + 10);

	buf_free(&ref);
	buf_free(&repo);
	buf_free(&msg);
	buf_free(&scan);
	buf_free(&name);
	git_commit_free(c);
	return (ev);
}

/* Post ev (borrowed) alone, and count what became of it. */
static void
cmd_git_post_one(struct cmd_git_push *p, json_object *ev)
{
	struct client_reply	 r;
	enum client_status	 st;
	json_object		*v;
	char			 what[MP_IDMAX + 16];
	int			 spooled;

	st = client_post(ev, CLIENT_SPOOL_SETUP, &r, &spooled);
	if (st == CLIENT_DELIVERED) {
		p->sent++;
		cmd_git_unknown(p, &r);
	} else if (spooled)
		p->spooled++;
	else if (st == CLIENT_REFUSED) {
		p->refused++;
		json_object_object_get_ex(ev, "id", &v);
		snprintf(what, sizeof(what), "git: %s",
		    json_object_get_string(v));
		client_reply_print(what, &r);
	} else
		p->lost++;
}

/*
 * Post a batch (items, borrowed) as one request, or spool it as one file.
 * When the receiver refuses the batch (one bad item, or a body over its
 * max_body), each item is posted alone, so that only the bad one is lost.
 */
static void
cmd_git_send(struct cmd_git_push *p, json_object *items)
{
	struct client_reply	 r;
	enum client_status	 st;
	json_object		*body;
	size_t			 i, n = json_object_array_length(items);
	int			 spooled;

	if (n == 0)
		return;
	if (n == 1) {
		cmd_git_post_one(p, json_object_array_get_idx(items, 0));
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "evidence", json_object_get(items));
	st = client_post(body, CLIENT_SPOOL_SETUP, &r, &spooled);
	json_object_put(body);
	if (st == CLIENT_DELIVERED) {
		p->sent += n;
		cmd_git_unknown(p, &r);
	} else if (spooled)
		p->spooled += n;
	else if (st == CLIENT_REFUSED) {
		log_debug("%s: batch of %zu refused (HTTP %ld); one by one",
		    __func__, n, r.code);
		for (i = 0; i < n; i++)
			cmd_git_post_one(p, json_object_array_get_idx(items,
			    i));
	} else
		p->lost += n;
}

/*
 * Build and deliver the evidence of every new commit, in batches of at
 * most CMD_GIT_BATCH_MAX items and CMD_GIT_BATCH_BYTES bytes.
 */
static void
cmd_git_deliver(struct cmd_git_push *p)
{
	json_object	*items, *ev;
	size_t		 k, bytes = 0, len;

	items = json_object_new_array();
	for (k = 0; k < p->nc; k++) {
		if (p->cref[k] == (size_t)-1)
			continue;	/* reached by no tip: cannot be */
		if ((ev = cmd_git_evidence(p, k)) == NULL) {
			p->lost++;
			continue;
		}
		len = strlen(json_object_to_json_string_ext(ev,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		if (json_object_array_length(items) > 0 &&
		    (json_object_array_length(items) >= CMD_GIT_BATCH_MAX ||
		    bytes + len + 1 > CMD_GIT_BATCH_BYTES)) {
			cmd_git_send(p, items);
			json_object_put(items);
			items = json_object_new_array();
			bytes = 0;
		}
		json_object_array_add(items, ev);
		bytes += len + 1;
	}
	cmd_git_send(p, items);
	json_object_put(items);
}

/*
 * Add what the receiver said of milestones nobody declared (its reply's
 * "unknown_milestones": name -> commits naming it) to p->unknown.
 */
static void
cmd_git_unknown(struct cmd_git_push *p, const struct client_reply *r)
{
	json_object	*o, *v;

	if (r->unknown[0] == '\0' || (o = json_tokener_parse(r->unknown)) ==
	    NULL)
		return;
	if (p->unknown == NULL)
		p->unknown = json_object_new_object();
	json_object_object_foreach(o, k, n) {
		if (!json_object_object_get_ex(p->unknown, k, &v))
			v = NULL;
		json_object_object_add(p->unknown, k, json_object_new_int64(
		    json_object_get_int64(n) + (v ? json_object_get_int64(v) :
		    0)));
	}
	json_object_put(o);
}

/* The one line git shows the pusher. */
static void
cmd_git_summary(const struct cmd_git_push *p)
{
	const struct cmd_git_update	*one = NULL;
	struct buf			 b;
	size_t				 i, n, refs = 0, total;

	total = p->sent + p->spooled + p->refused + p->lost;
	if (total == 0) {
		log_info("no new commits");
		return;
	}
	for (i = 0; i < p->nu; i++)
		if (p->u[i].ncommits > 0) {
			refs++;
			one = &p->u[i];
		}
	buf_init(&b);
	buf_printf(&b, "%zu new commit%s", total, total == 1 ? "" : "s");
	if (refs == 1)
		buf_printf(&b, " on %s", one->ref);
	else if (refs > 1)
		buf_printf(&b, " on %zu refs", refs);
	if (p->sent > 0)
		buf_printf(&b, ", %zu sent", p->sent);
	if (p->spooled > 0)
		buf_printf(&b, ", %zu spooled for 'milepost flush'",
		    p->spooled);
	if (p->refused > 0)
		buf_printf(&b, ", %zu refused", p->refused);
	if (p->lost > 0)
		buf_printf(&b, ", %zu lost", p->lost);
	/* "1 commit names unknown milestone M-01": a typo, said at once. */
	if (p->unknown != NULL) {
		json_object_object_foreach(p->unknown, k, v) {
			n = (size_t)json_object_get_int64(v);
			buf_printf(&b, ", %zu commit%s name%s unknown milestone "
			    "%s", n, n == 1 ? "" : "s", n == 1 ? "s" : "", k);
		}
	}
	log_info("%s", buf_cstr(&b));
	buf_free(&b);
}

static void
cmd_git_push_clear(struct cmd_git_push *p)
{
	size_t	i;

	for (i = 0; i < p->nu; i++)
		free(p->u[i].ref);
	free(p->u);
	free(p->names);
	free(p->order);
	free(p->c);
	free(p->cref);
	free(p->slot);
	json_object_put(p->unknown);
	git_repository_free(p->repo);
	memset(p, 0, sizeof(*p));
}

/* The sending budget is spent: what is left goes to the spool. */
static void
cmd_git_alarm(int sig)
{
	cmd_git_late = 1;
}

/*
 * "git post-receive": record the new commits of the push described on
 * stdin.  Returns 0 whatever happens to them (2 for a usage error): a
 * hook's failure helps nobody once the refs are updated.
 */
static int
cmd_git_post_receive(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL,	'h' },
		{ NULL,		0,		NULL,	0 }
	};
	struct cmd_git_push	 p;
	struct sigaction	 sa;
	struct cmd_git_update	*u;
	size_t			 i, j;
	int			 ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return (cmd_help(ce));
		default:
			return (cmd_usage_error(ce, "post-receive: unknown "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (optind < argc)
		return (cmd_usage_error(ce, "post-receive takes no arguments "
		    "(the refs come on stdin)"));

	/* The pusher hanging up must not kill the send. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	memset(&p, 0, sizeof(p));
	tf_format(tf_now(), p.now);
	if (git_libgit2_init() < 0) {
		log_warnx("git: cannot set up libgit2");
		return (CMD_EXIT_OK);
	}
	if (cmd_git_open(&p.repo, NULL, 0) == -1)
		goto out;
	cmd_git_env_load(git_repository_commondir(p.repo));
	if (client_key() == CLIENT_KEY_BAD)
		log_warnx("git: MILEPOST_SECRET is not a valid Standard "
		    "Webhooks secret (whsec_<base64>); the evidence will be "
		    "spooled");
	if (cmd_git_read(&p, stdin) == -1 || p.nu == 0)
		goto out;
	cmd_git_repo_name(&p);

	/* The pushed names, sorted; the sources, branches first. */
	p.names = xreallocarray(NULL, p.nu, sizeof(*p.names));
	p.order = xreallocarray(NULL, p.nu, sizeof(*p.order));
	for (i = 0; i < p.nu; i++)
		p.names[i] = p.u[i].ref;
	qsort(p.names, p.nu, sizeof(*p.names), cmd_git_cmpstr);
	for (j = 0; j < 2; j++)
		for (i = 0; i < p.nu; i++) {
			u = &p.u[i];
			if (strncmp(u->ref, j == 0 ? "refs/heads/" :
			    "refs/tags/", j == 0 ? 11 : 10) != 0)
				continue;
			p.order[p.norder++] = i;
			if (!git_oid_is_zero(&u->new) &&
			    cmd_git_peel(p.repo, &u->new, &u->tip) == 0)
				u->has_tip = 1;
			cmd_git_forced(&p, u);
		}

	if (cmd_git_walk(&p) == -1)
		goto out;
	log_debug("%s: %zu refs, %zu new commits", __func__, p.nu, p.nc);
	cmd_git_index(&p);
	cmd_git_attribute(&p);

	/*
	 * Each send has MILEPOST_TIMEOUT; all of them CMD_GIT_BUDGET, after
	 * which posts give up at once (an alarm aborts the one under way)
	 * and the rest is spooled, so that a slow receiver never holds up a
	 * big push for long.
	 */
	sa.sa_handler = cmd_git_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	client_set_abort(&cmd_git_late);
	alarm(CMD_GIT_BUDGET);
	cmd_git_deliver(&p);
	alarm(0);
	client_set_abort(NULL);
	if (cmd_git_late && p.spooled > 0)
		log_warnx("git: sending took over %d s: the rest is spooled",
		    CMD_GIT_BUDGET);
	cmd_git_summary(&p);	/* no flush hint: the pusher cannot flush */
out:
	cmd_git_push_clear(&p);
	git_libgit2_shutdown();
	return (CMD_EXIT_OK);
}

/*
 * The directory git runs repo's hooks from: core.hooksPath (relative to
 * $GIT_DIR, where push hooks run), else $GIT_DIR/hooks.  Returns a new
 * string, or NULL with a warning.
 */
static char *
cmd_git_hooks_dir(git_repository *repo)
{
	git_config	*cfg = NULL;
	git_buf		 b = { 0 };
	char		*dir = NULL;

	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_path(&b, cfg, "core.hooksPath") == 0 &&
	    b.size > 0) {
		if (b.ptr[0] == '/')
			dir = xstrdup(b.ptr);
		else
			xasprintf(&dir, "%s%s", git_repository_path(repo),
			    b.ptr);
	} else {
		git_buf_dispose(&b);
		if (git_repository_item_path(&b, repo,
		    GIT_REPOSITORY_ITEM_HOOKS) == 0)
			dir = xstrdup(b.ptr);
		else
			log_warnx("git: the hooks directory: %s",
			    git_error_last() ? git_error_last()->message :
			    "unknown");
	}
	git_buf_dispose(&b);
	git_config_free(cfg);
	return (dir);
}

/*
 * Replace path with len bytes of data, mode mode, atomically (a temporary
 * file, fsync, rename).  When running as root, the file is given to
 * owner's uid and gid (the repository's), so that the hook can read it.
 * Returns 0, or -1 with a warning.
 */
static int
cmd_git_write_file(const char *path, const char *data, size_t len,
    mode_t mode, const struct stat *owner)
{
	char	*tmp;
	int	 fd;

	xasprintf(&tmp, "%s.milepost-tmp", path);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1) {
		log_warn("git: %s", tmp);
		free(tmp);
		return (-1);
	}
	if (buf_write_fd(fd, data, len) == -1)
		goto fail;
	if (fchmod(fd, mode) == -1)
		goto fail;
	if (owner != NULL && geteuid() == 0 && owner->st_uid != 0 &&
	    fchown(fd, owner->st_uid, owner->st_gid) == -1)
		goto fail;
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	return (0);
fail:
	log_warn("git: %s", tmp);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return (-1);
}

/* Append s to b as one single-quoted shell word. */
static void
cmd_git_shell_quote(struct buf *b, const char *s)
{
	buf_addc(b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '\'');
}

/*
 * Install the post-receive hook in dir, to run self.  A hook there that is
 * not ours moves to post-receive.chained (never over one that exists), and
 * *chained says so; ours is rewritten in place.  Returns 0, or -1 with a
 * warning, having changed nothing.
 */
static int
cmd_git_install_hook(const char *dir, const char *self, int *chained)
{
	struct stat	 st;
	struct buf	 b, script;
	char		*hook, *chain;
	int		 exists, ours = 0, moved = 0, rc = -1;

	*chained = 0;
	buf_init(&b);
	buf_init(&script);
	hook = cmd_git_path(dir, CMD_GIT_HOOK);
	chain = cmd_git_path(dir, CMD_GIT_CHAINED);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		log_warn("git: %s", dir);
		goto out;
	}
	/*
	 * Ours is known by its mark, through a symbolic link too: chaining
	 * a hook that runs post-receive.chained to itself would loop.
	 */
	exists = lstat(hook, &st) == 0;
	if (exists && buf_read_file(&b, hook, CMD_GIT_FILE_MAX) == 0)
		ours = strstr(buf_cstr(&b), CMD_GIT_MARK) != NULL;
	if (exists && !ours) {
		if (lstat(chain, &st) == 0) {
			log_warnx("git: %s is not milepost's, and %s exists "
			    "already: move one of them aside", hook, chain);
			goto out;
		}
		/* A link keeps the old hook in place until ours replaces it. */
		if (link(hook, chain) == -1) {
			if (errno == EEXIST || rename(hook, chain) == -1) {
				log_warn("git: %s", chain);
				goto out;
			}
			moved = 1;
		}
		*chained = 1;
	}

	buf_printf(&script,
	    "#!/bin/sh\n"
	    CMD_GIT_MARK "\n"
	    "# Written by 'milepost git install-hook'; installing again "
	    "rewrites it.\n"
	    "#\n"
	    "# Records each new commit of a push as CommitPushed evidence, "
	    "then runs\n"
	    "# " CMD_GIT_CHAINED " (the hook that was here before) with the "
	    "same input\n"
	    "# and exits with its status.  The receiver and the secret come "
	    "from\n"
	    "# milepost.env in the repository when the environment lacks "
	    "them.\n"
	    "input=$(cat)\n"
	    "printf '%%s\\n' \"$input\" | ");
	cmd_git_shell_quote(&script, self);
	buf_printf(&script, " git post-receive\n"
	    "case $0 in */*) dir=${0%%/*} ;; *) dir=. ;; esac\n"
	    "if [ -x \"$dir/" CMD_GIT_CHAINED "\" ]; then\n"
	    "\tif [ -n \"$input\" ]; then\n"
	    "\t\tprintf '%%s\\n' \"$input\" | \"$dir/" CMD_GIT_CHAINED
	    "\" \"$@\"\n"
	    "\telse\n"
	    "\t\t\"$dir/" CMD_GIT_CHAINED "\" \"$@\" </dev/null\n"
	    "\tfi\n"
	    "\texit $?\n"
	    "fi\n"
	    "exit 0\n");
	if (cmd_git_write_file(hook, script.data, script.len, 0755,
	    NULL) == -1) {
		/* Put the old hook back as it was. */
		if (moved)
			(void)rename(chain, hook);
		else if (*chained)
			(void)unlink(chain);
		*chained = 0;
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	buf_free(&script);
	free(hook);
	free(chain);
	return (rc);
}

/* Does the env file path set key? */
static int
cmd_git_env_has(const char *path, const char *key)
{
	struct buf	 b;
	const char	*line, *next;
	size_t		 n = strlen(key);
	int		 found = 0;

	buf_init(&b);
	if (buf_read_file(&b, path, CMD_GIT_FILE_MAX) == 0) {
		for (line = buf_cstr(&b); line != NULL && !found; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				next++;
			found = strncmp(line, key, n) == 0 && line[n] == '=';
		}
	}
	if (b.data != NULL)
		explicit_bzero(b.data, b.cap);
	buf_free(&b);
	return (found);
}

/*
 * Write dir/milepost.env (mode 0600, owned like dir) with MILEPOST_URL and
 * MILEPOST_SECRET when given, keeping the file's other lines.  what gets
 * the names written, never a value.  Returns 0, or -1 with a warning.
 */
static int
cmd_git_install_env(const char *dir, const char *url, const char *secret,
    char *what, size_t whatlen)
{
	struct stat	 st;
	struct buf	 old, out;
	char		*path, *line, *next;
	int		 rc = -1;

	what[0] = '\0';
	if (url == NULL && secret == NULL)
		return (0);
	path = cmd_git_path(dir, CMD_GIT_ENV_FILE);
	buf_init(&old);
	buf_init(&out);
	if (buf_read_file(&old, path, CMD_GIT_FILE_MAX) == -1) {
		if (errno != ENOENT) {
			log_warn("git: %s", path);
			goto done;
		}
		buf_adds(&out, "# milepost git post-receive: where this "
		    "repository's evidence goes.\n"
		    "# KEY=VALUE lines, no quoting; the hook's environment "
		    "wins over them.\n");
	}
	for (line = buf_cstr(&old); *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			next++;
		else
			next = line + strlen(line);
		if ((url != NULL && strncmp(line, "MILEPOST_URL=", 13) ==
		    0) || (secret != NULL && strncmp(line,
		    "MILEPOST_SECRET=", 16) == 0))
			continue;
		buf_add(&out, line, (size_t)(next - line));
		if (next[-1] != '\n')
			buf_addc(&out, '\n');
	}
	if (url != NULL)
		buf_printf(&out, "MILEPOST_URL=%s\n", url);
	if (secret != NULL)
		buf_printf(&out, "MILEPOST_SECRET=%s\n", secret);
	if (stat(dir, &st) == -1) {
		log_warn("git: %s", dir);
		goto done;
	}
	if (cmd_git_write_file(path, out.data, out.len, 0600, &st) == -1)
		goto done;
	snprintf(what, whatlen, "%s%s%s", url != NULL ? "MILEPOST_URL" : "",
	    url != NULL && secret != NULL ? ", " : "",
	    secret != NULL ? "MILEPOST_SECRET" : "");
	rc = 0;
done:
	if (old.data != NULL)
		explicit_bzero(old.data, old.cap);
	if (out.data != NULL)
		explicit_bzero(out.data, out.cap);
	buf_free(&old);
	buf_free(&out);
	free(path);
	return (rc);
}

/*
 * "git install-hook REPO [--url URL] [--name NAME]".  Returns 0 when the
 * hook is installed, 1 when it could not be, 2 for a usage error.
 */
static int
cmd_git_install(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,		NULL,	'h' },
		{ "name",	required_argument,	NULL,	'n' },
		{ "url",	required_argument,	NULL,	'u' },
		{ NULL,		0,			NULL,	0 }
	};
	git_repository	*repo = NULL;
	git_config	*cfg = NULL;
	const char	*url = NULL, *name = NULL, *secret = NULL, *s;
	const char	*path;
	char		*hooks = NULL, *hook = NULL, *env = NULL;
	char		 self[PATH_MAX], what[64];
	int		 ch, chained, rc = CMD_EXIT_FAIL;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return (cmd_help(ce));
		case 'n':
			name = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		default:
			return (cmd_usage_error(ce, "install-hook: unknown or "
			    "incomplete option: %s", argv[optind - 1]));
		}
	}
	if (optind >= argc)
		return (cmd_usage_error(ce, "install-hook: which repository?"));
	if (optind + 1 < argc)
		return (cmd_usage_error(ce, "install-hook: unexpected "
		    "argument: %s", argv[optind + 1]));
	path = argv[optind];
	if (url == NULL && (s = getenv("MILEPOST_URL")) != NULL && *s != '\0')
		url = s;
	if (url != NULL && ((strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) || strpbrk(url,
	    " \t\r\n") != NULL))
		return (cmd_usage_error(ce, "install-hook: --url must be an "
		    "http:// or https:// URL"));
	if (name != NULL && (*name == '\0' || strlen(name) >
	    CMD_GIT_NAME_MAX || !ident_valid(name)))
		return (cmd_usage_error(ce, "install-hook: --name must be 1 "
		    "to %d printable characters without spaces",
		    CMD_GIT_NAME_MAX));
	switch (client_key()) {
	case CLIENT_KEY_OK:
		secret = getenv("MILEPOST_SECRET");
		break;
	case CLIENT_KEY_BAD:
		log_warnx("git: MILEPOST_SECRET is not a valid Standard "
		    "Webhooks secret (whsec_<base64>)");
		return (CMD_EXIT_USAGE);
	case CLIENT_KEY_UNSET:
		break;
	}
	if (realpath("/proc/self/exe", self) == NULL) {
		log_warn("git: the path of milepost (/proc/self/exe)");
		return (CMD_EXIT_FAIL);
	}

	if (git_libgit2_init() < 0) {
		log_warnx("git: cannot set up libgit2");
		return (CMD_EXIT_FAIL);
	}
	if (cmd_git_open(&repo, path, 0) == -1)
		goto out;
	if ((hooks = cmd_git_hooks_dir(repo)) == NULL)
		goto out;
	if (name != NULL && (git_repository_config(&cfg, repo) != 0 ||
	    git_config_set_string(cfg, "milepost.repo", name) != 0)) {
		log_warnx("git: setting milepost.repo: %s", git_error_last() ?
		    git_error_last()->message : "failed");
		goto out;
	}
	if (cmd_git_install_hook(hooks, self, &chained) == -1)
		goto out;
	hook = cmd_git_path(hooks, CMD_GIT_HOOK);
	env = cmd_git_path(git_repository_commondir(repo), CMD_GIT_ENV_FILE);
	printf("installed %s, which runs %s\n", hook, self);
	if (chained)
		printf("the hook that was there runs after it, as %s%s\n",
		    hook, CMD_GIT_CHAINED + strlen(CMD_GIT_HOOK));
	if (cmd_git_install_env(git_repository_commondir(repo), url, secret,
	    what, sizeof(what)) == -1)
		goto out;
	if (what[0] != '\0')
		printf("wrote %s to %s\n", what, env);
	if (secret == NULL && !cmd_git_env_has(env, "MILEPOST_SECRET"))
		log_warnx("git: MILEPOST_SECRET is not set: unless the hook's "
		    "environment has it, evidence is spooled");
	rc = CMD_EXIT_OK;
out:
	free(hook);
	free(env);
	free(hooks);
	git_config_free(cfg);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return (rc);
}
