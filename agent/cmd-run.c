/*
 * cmd-run.c: "milepost run", which wraps a build step.
 *
 * It starts CMD first and posts BuildStartedEvent while CMD runs, so that
 * the receiver never delays the build; once CMD ends it posts
 * BuildCompleted.  Whatever becomes of the evidence, milepost exits with
 * CMD's status: 128+N if a signal N killed it, 127 if it was not found,
 * 126 if it could not be executed.
 *
 * Signals: while CMD runs, SIGHUP, SIGINT, SIGQUIT and SIGTERM do not stop
 * milepost.  One sent by a process (kill(1), a CI runner cancelling the
 * job) is passed on to CMD; one from the terminal (^C) is not, since the
 * terminal sent it to CMD as well.  Any of them also makes the remaining
 * posts give up at once and spool, so that a cancelled job ends quickly.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define CMD_RUN_IDMAX		1024	/* the receiver's longest subject */
#define CMD_RUN_IDPART		200	/* build id bytes in an evidence id */
#define CMD_RUN_LINKNAME_MAX	64	/* the receiver's limits */
#define CMD_RUN_LINK_MAX	2048
#define CMD_RUN_LINKS_MAX	64

static int	cmd_run_exec(const struct cmd_entry *, int, char **);
static void	cmd_run_handler(int, siginfo_t *, void *);
static char	*cmd_run_build_id(const char *);
static void	 cmd_run_ci_links(json_object *);
static void	cmd_run_post(json_object *, const char *, int *);
static int	cmd_run_status(int);
static json_object *cmd_run_event(const char *, const char *, const char *,
		    const char *, json_object *);

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "[--id BUILD_ID] [--service NAME] [--repo NAME] "
	    "[--link KEY=VALUE]... -- CMD [ARGS...]",
	.summary = "run a build step and record its start and completion",
	.help =
	    "options:\n"
	    "  --id BUILD_ID   the build's id (default: GITHUB_RUN_ID-"
	    "GITHUB_RUN_ATTEMPT,\n"
	    "                  Jenkins BUILD_TAG, GitLab CI_JOB_ID, or a "
	    "new b-<hex>)\n"
	    "  --service NAME  the service being built (a property and the "
	    "service link)\n"
	    "  --repo NAME     the repo link (default: from git's remote, "
	    "else the CI's)\n"
	    "  --link KEY=VALUE\n"
	    "                  a link on both events (repeatable; wins over "
	    "the defaults)\n"
	    "\nThe url link is the job's log: GitHub's GITHUB_SERVER_URL/"
	    "GITHUB_REPOSITORY/\nactions/runs/GITHUB_RUN_ID, Jenkins "
	    "BUILD_URL, GitLab CI_JOB_URL.\n"
	    "\nmilepost exits with CMD's status, whether or not the "
	    "receiver is up.\n",
	.exec = cmd_run_exec,
};

static const int		cmd_run_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM
};
#define CMD_RUN_NSIGNALS	(sizeof(cmd_run_signals) / sizeof(int))
static volatile sig_atomic_t	cmd_run_child = -1;
static volatile sig_atomic_t	cmd_run_signalled;
static volatile sig_atomic_t	cmd_run_exited;
static struct timespec		cmd_run_t1;	/* when CMD exited */

/*
 * Note when CMD exits: BuildStartedEvent is sent while CMD runs, so the
 * duration must not include that send when CMD is the quicker of the two.
 */
static void
cmd_run_sigchld(int sig)
{
	if (!cmd_run_exited) {
		clock_gettime(CLOCK_MONOTONIC, &cmd_run_t1);
		cmd_run_exited = 1;
	}
}

/* Pass a signal on to CMD unless the terminal sent it to CMD already. */
static void
cmd_run_handler(int sig, siginfo_t *si, void *uc)
{
	int	saved = errno;

	cmd_run_signalled = 1;
	if (cmd_run_child <= 0 || si->si_pid == (pid_t)cmd_run_child)
		return;
#ifdef SI_KERNEL
	if (si->si_code == SI_KERNEL)	/* the terminal's, sent to CMD too */
		return;
#endif
	kill((pid_t)cmd_run_child, sig);
	errno = saved;
}

/*
 * The build id: --id, else the CI's (GitHub Actions run and attempt,
 * Jenkins BUILD_TAG, GitLab CI_JOB_ID), else a new "b-<12 hex>".  Returns
 * a new string.
 */
static char *
cmd_run_build_id(const char *opt)
{
	const char	*s, *a;
	char		*id, hex[13];

	if (opt != NULL)
		return (xstrdup(opt));
	if ((s = getenv("GITHUB_RUN_ID")) != NULL && *s != '\0') {
		if ((a = getenv("GITHUB_RUN_ATTEMPT")) != NULL && *a != '\0')
			xasprintf(&id, "%s-%s", s, a);
		else
			id = xstrdup(s);
	} else if ((s = getenv("BUILD_TAG")) != NULL && *s != '\0')
		id = xstrdup(s);
	else if ((s = getenv("CI_JOB_ID")) != NULL && *s != '\0')
		id = xstrdup(s);
	else {
		cmd_random_hex(hex, 12);
		xasprintf(&id, "b-%s", hex);
	}
	if (strlen(id) > CMD_RUN_IDMAX)
		id[CMD_RUN_IDMAX] = '\0';
	return (id);
}

/*
 * The links the CI's environment gives, where links (borrowed) has none
 * yet: url, the job's log (GitHub Actions' run page, Jenkins BUILD_URL,
 * GitLab CI_JOB_URL), and repo (GITHUB_REPOSITORY, GitLab
 * CI_PROJECT_PATH) for a build outside a git checkout.
 */
static void
cmd_run_ci_links(json_object *links)
{
	const char	*srv, *repo, *run, *s;
	char		*url = NULL;

	srv = getenv("GITHUB_SERVER_URL");
	repo = getenv("GITHUB_REPOSITORY");
	run = getenv("GITHUB_RUN_ID");
	if (srv != NULL && *srv != '\0' && repo != NULL && *repo != '\0' &&
	    run != NULL && *run != '\0')
		xasprintf(&url, "%s/%s/actions/runs/%s", srv, repo, run);
	else if ((s = getenv("BUILD_URL")) != NULL && *s != '\0')
		url = xstrdup(s);
	else if ((s = getenv("CI_JOB_URL")) != NULL && *s != '\0')
		url = xstrdup(s);
	if (url != NULL && strlen(url) <= CMD_RUN_LINK_MAX &&
	    !json_object_object_get_ex(links, "url", NULL))
		json_object_object_add(links, "url",
		    json_object_new_string(url));
	free(url);
	if ((s = repo) == NULL || *s == '\0')
		s = getenv("CI_PROJECT_PATH");
	if (s != NULL && *s != '\0' && strlen(s) <= CMD_RUN_LINK_MAX &&
	    !json_object_object_get_ex(links, "repo", NULL))
		json_object_object_add(links, "repo", json_object_new_string(s));
}

/*
 * A new evidence of type about build, with time, links (borrowed, shared
 * by reference) and an id "<build>.<what>.<8 hex>" that is new each time.
 */
static json_object *
cmd_run_event(const char *type, const char *what, const char *build,
    const char *time, json_object *links)
{
	json_object	*ev;
	char		 part[CMD_RUN_IDPART + 1], hex[9], *id;

	cmd_id_sanitize(build, part, sizeof(part));
	cmd_random_hex(hex, 8);
	xasprintf(&id, "%s.%s.%s", part, what, hex);
	ev = cmd_evidence_new(id, type, build, time);
	free(id);
	if (json_object_object_length(links) > 0)
		json_object_object_add(ev, "links", json_object_get(links));
	return (ev);
}

/* Post ev; a refusal is a warning, never a change of the exit status. */
static void
cmd_run_post(json_object *ev, const char *type, int *delivered)
{
	struct client_reply	r;
	enum client_status	st;
	int			spooled;
	char			what[64];

	st = client_post(ev, CLIENT_SPOOL_SETUP, &r, &spooled);
	if (st == CLIENT_DELIVERED)
		(*delivered)++;
	else if ((st == CLIENT_REFUSED || st == CLIENT_SETUP) && !spooled) {
		snprintf(what, sizeof(what), "run: %s", type);
		client_reply_print(what, &r);
	}
}

/* The shell's exit status for a wait(2) status. */
static int
cmd_run_status(int status)
{
	if (WIFEXITED(status))
		return (WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return (128 + WTERMSIG(status));
	return (1);
}

/*
 * Run argv after the options, posting BuildStartedEvent and
 * BuildCompleted.  Returns CMD's exit status (2 for a usage error).
 */
static int
cmd_run_exec(const struct cmd_entry *ce, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,		NULL,	'h' },
		{ "id",		required_argument,	NULL,	'i' },
		{ "link",	required_argument,	NULL,	'l' },
		{ "repo",	required_argument,	NULL,	'r' },
		{ "service",	required_argument,	NULL,	's' },
		{ NULL,		0,			NULL,	0 }
	};
	struct sigaction	 sa, old[CMD_RUN_NSIGNALS], oldpipe, oldchld;
	sigset_t		 block, oldmask;
	struct timespec		 t0, t1;
	json_object		*links, *ev, *props;
	const char		*opt_id = NULL, *service = NULL, *eq, *val;
	char			*build, *key, when[MP_TIMELEN], dur[32];
	char			**cmd;
	double			 secs;
	pid_t			 pid;
	size_t			 i;
	int			 ch, status, rc, delivered = 0;

	/* Explicit links first: the CI's and git's fill only what is left. */
	links = json_object_new_object();
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			json_object_put(links);
			return (cmd_help(ce));
		case 'l':
		case 'r':
			if (ch == 'r') {
				key = xstrdup("repo");
				val = optarg;
			} else if ((eq = strchr(optarg, '=')) == NULL ||
			    eq == optarg ||
			    eq - optarg > CMD_RUN_LINKNAME_MAX) {
				json_object_put(links);
				return (cmd_usage_error(ce, "--link %s: expected "
				    "KEY=VALUE (KEY 1 to %d bytes)", optarg,
				    CMD_RUN_LINKNAME_MAX));
			} else {
				key = xstrndup(optarg, (size_t)(eq - optarg));
				val = eq + 1;
			}
			if (strlen(val) > CMD_RUN_LINK_MAX ||
			    (ch == 'r' && *val == '\0')) {
				free(key);
				json_object_put(links);
				return (cmd_usage_error(ce, "--%s: the value must "
				    "be %d to %d bytes", ch == 'r' ? "repo" :
				    "link", ch == 'r', CMD_RUN_LINK_MAX));
			}
			json_object_object_add(links, key,
			    json_object_new_string(val));
			free(key);
			if (json_object_object_length(links) >
			    CMD_RUN_LINKS_MAX) {
				json_object_put(links);
				return (cmd_usage_error(ce, "more than %d links",
				    CMD_RUN_LINKS_MAX));
			}
			break;
		case 'i':
			opt_id = optarg;
			if (*opt_id == '\0' || strlen(opt_id) > CMD_RUN_IDMAX) {
				json_object_put(links);
				return (cmd_usage_error(ce, "--id must be 1 to "
				    "%d bytes", CMD_RUN_IDMAX));
			}
			break;
		case 's':
			service = optarg;
			if (*service == '\0' ||
			    strlen(service) > CMD_RUN_LINK_MAX) {
				json_object_put(links);
				return (cmd_usage_error(ce, "--service must "
				    "be 1 to %d bytes", CMD_RUN_LINK_MAX));
			}
			break;
		default:
			json_object_put(links);
			return (cmd_usage_error(ce, "unknown or incomplete "
			    "option: %s", argv[optind - 1]));
		}
	}
	if (optind >= argc) {
		json_object_put(links);
		return (cmd_usage_error(ce, "no command to run"));
	}
	cmd = argv + optind;

	build = cmd_run_build_id(opt_id);
	/* The service is a link too, so that collectors can filter on it. */
	if (service != NULL && !json_object_object_get_ex(links, "service",
	    NULL))
		json_object_object_add(links, "service",
		    json_object_new_string(service));
	git_links_add(links);	/* before CMD can move HEAD */
	cmd_run_ci_links(links);

	/* Handlers go in before fork, with the signals held until then. */
	sigemptyset(&block);
	for (i = 0; i < CMD_RUN_NSIGNALS; i++)
		sigaddset(&block, cmd_run_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = cmd_run_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < CMD_RUN_NSIGNALS; i++) {
		sigaction(cmd_run_signals[i], NULL, &old[i]);
		/* An ignored signal stays ignored, for milepost and CMD. */
		if (old[i].sa_handler != SIG_IGN)
			sigaction(cmd_run_signals[i], &sa, NULL);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmd_run_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &oldchld);

	tf_format(tf_now(), when);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		sigaction(SIGCHLD, &oldchld, NULL);
		for (i = 0; i < CMD_RUN_NSIGNALS; i++)
			sigaction(cmd_run_signals[i], &old[i], NULL);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		/* CMD is the user's: it never sees the signing secret or the
		 * read token (milepost has read them already). */
		unsetenv("MILEPOST_SECRET");
		unsetenv("MILEPOST_TOKEN");
		execvp(cmd[0], cmd);
		rc = errno;
		if (rc == ENOENT && strchr(cmd[0], '/') == NULL)
			log_warnx("%s: command not found", cmd[0]);
		else
			log_warn("%s", cmd[0]);
		_exit(rc == ENOENT || rc == ENOTDIR ? 127 : 126);
	}
	if (pid == -1)
		log_warn("run: fork");
	else
		cmd_run_child = pid;
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	/* Writes to a closed connection must not kill milepost. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &oldpipe);
	client_set_abort(&cmd_run_signalled);

	ev = cmd_run_event("BuildStartedEvent", "started", build, when,
	    links);
	json_object_object_get_ex(ev, "properties", &props);
	json_object_object_add(props, "buildId", json_object_new_string(build));
	if (service != NULL)
		json_object_object_add(props, "service",
		    json_object_new_string(service));
	cmd_run_post(ev, "BuildStartedEvent", &delivered);
	json_object_put(ev);

	if (pid == -1)
		rc = 126;
	else {
		while (waitpid(pid, &status, 0) == -1) {
			if (errno != EINTR) {
				log_warn("run: waitpid");
				status = 1 << 8;
				break;
			}
		}
		rc = cmd_run_status(status);
	}
	cmd_run_child = -1;
	sigaction(SIGCHLD, &oldchld, NULL);
	if (cmd_run_exited)
		t1 = cmd_run_t1;
	else
		clock_gettime(CLOCK_MONOTONIC, &t1);
	tf_format(tf_now(), when);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	snprintf(dur, sizeof(dur), "%.3f", secs);

	ev = cmd_run_event("BuildCompleted", "completed", build, when, links);
	json_object_object_get_ex(ev, "properties", &props);
	json_object_object_add(props, "buildStatus",
	    json_object_new_string(rc == 0 ? "success" : "failure"));
	json_object_object_add(props, "duration",
	    json_object_new_double_s(secs, dur));
	json_object_object_add(props, "exitCode", json_object_new_int(rc));
	if (service != NULL)
		json_object_object_add(props, "service",
		    json_object_new_string(service));
	cmd_run_post(ev, "BuildCompleted", &delivered);
	json_object_put(ev);

	if (delivered > 0)
		cmd_spool_hint();
	client_set_abort(NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);
	json_object_put(links);
	free(build);
	return (rc);
}
