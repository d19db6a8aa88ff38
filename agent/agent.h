/*
 * agent.h: the agent and command-line client, milepost(1).
 *
 * main() (milepost.c) parses the global flags and hands the rest to
 * cmd_exec() (cmd.c), which finds the command in its table.  Commands build
 * evidence as json-c objects and deliver them through client.c (libcurl
 * easy, one handle per process), which falls back to the spool (spool.c)
 * when the receiver cannot take them now.  git.c reads links with libgit2.
 */
#ifndef AGENT_H
#define AGENT_H

#include <signal.h>
#include <stdio.h>
#include <stddef.h>

#include <json-c/json.h>

#include "milepost.h"

/* Exit statuses shared by the commands. */
#define CMD_EXIT_OK	0
#define CMD_EXIT_FAIL	1	/* flush left items; ledger broken; lost */
#define CMD_EXIT_USAGE	2	/* usage error, or refused by the receiver */
#define CMD_EXIT_DOWN	3	/* claim, claims: no answer, or a 5xx */

/* One subcommand: each cmd-*.c file exports one. */
struct cmd_entry {
	const char	*name;
	const char	*usage;		/* arguments, after the name */
	const char	*summary;	/* one line for "milepost help" */
	const char	*help;		/* the options, for "CMD --help" */
	int		(*exec)(const struct cmd_entry *, int, char **);
};

/* cmd.c */
extern const struct cmd_entry	*cmd_table[];
int		 cmd_exec(int, char **);
const struct cmd_entry *cmd_find(const char *);
void		 cmd_usage(FILE *);
int		 cmd_help(const struct cmd_entry *);
int		 cmd_usage_error(const struct cmd_entry *, const char *, ...)
		    MP_PRINTF(2, 3);
void		 cmd_random_hex(char *, size_t);
void		 cmd_id_sanitize(const char *, char *, size_t);
json_object	*cmd_evidence_new(const char *, const char *, const char *,
		    const char *);
void		 cmd_spool_hint(void);

/* cmd-claim.c, cmd-emit.c, cmd-flush.c, cmd-git.c, cmd-ledger.c,
   cmd-metrics.c, cmd-run.c */
extern const struct cmd_entry	 cmd_claim_entry;
extern const struct cmd_entry	 cmd_claims_entry;
extern const struct cmd_entry	 cmd_deploy_entry;
extern const struct cmd_entry	 cmd_emit_entry;
extern const struct cmd_entry	 cmd_flush_entry;
extern const struct cmd_entry	 cmd_git_entry;
extern const struct cmd_entry	 cmd_ledger_entry;
extern const struct cmd_entry	 cmd_metrics_entry;
extern const struct cmd_entry	 cmd_outbox_entry;
extern const struct cmd_entry	 cmd_run_entry;
extern const struct cmd_entry	 cmd_services_entry;
extern const struct cmd_entry	 cmd_status_entry;
extern const struct cmd_entry	 cmd_sli_entry;		/* cmd-slo.c */
extern const struct cmd_entry	 cmd_slo_entry;		/* cmd-slo.c */
extern const struct cmd_entry	 cmd_gate_entry;	/* cmd-gate.c */
extern const struct cmd_entry	 cmd_simulate_entry;	/* cmd-simulate.c */
int		 cmd_claim_fetch(const char *, const char *, json_object **);
void		 cmd_claim_print(json_object *);
int		 cmd_emit_prop(const char *, json_object *);
int		 cmd_flush_id(const struct buf *, char *, size_t);
void		 cmd_git_env_load(const char *);
int		 cmd_git_read_refs(FILE *, void (*)(void *, const char *,
		    const char *, const char *), void *);
int		 cmd_ledger_missing(const char *);
struct cmd_progress {
	const char	*what;
	double		 t0, last;
	int		 tty, shown;
};
void		 cmd_progress_start(struct cmd_progress *, const char *);
void		 cmd_progress_tell(int64_t, int64_t, void *);
void		 cmd_progress_end(struct cmd_progress *);
int		 cmd_ledger_options(const struct cmd_entry *, int, char **,
		    const char **, const char **);

/* client.c */
enum client_key {
	CLIENT_KEY_OK = 0,
	CLIENT_KEY_UNSET,	/* MILEPOST_SECRET unset or empty */
	CLIENT_KEY_BAD,		/* MILEPOST_SECRET is not whsec_<base64> */
};
enum client_status {
	CLIENT_DELIVERED = 0,	/* 2xx: stored now, or stored before */
	CLIENT_RETRY,		/* no answer, 408, 429, 5xx, 3xx: try later */
	CLIENT_SETUP,		/* 401/403/404/405/407: wrong secret or URL */
	CLIENT_REFUSED,		/* any other 4xx: will never be accepted */
	CLIENT_NOKEY,		/* not sent: no usable secret */
};
struct client_reply {
	long		 code;		/* HTTP status; 0 without an answer */
	int		 duplicate;	/* 200 {"duplicate":true} */
	long long	 seq;		/* 202 {"seq":N}, else 0 */
	char		 error[MP_ERRLEN];	/* the receiver's or curl's */
	char		 property[128];	/* the receiver's "property" */
	char		 unknown[1024];	/* "unknown_milestones", as JSON */
};
#define CLIENT_SPOOL_SETUP	0x1	/* client_post: spool CLIENT_SETUP too */
enum client_key	 client_key(void);
const char	*client_url(void);
void		 client_set_abort(volatile sig_atomic_t *);
enum client_status client_send(const char *, const char *, size_t,
		    struct client_reply *);
enum client_status client_post(json_object *, int, struct client_reply *,
		    int *);
int		 client_batch_id(json_object *, char *, size_t);
const char	*client_reason(const struct client_reply *, char *, size_t);
void		 client_reply_print(const char *, const struct client_reply *);
int		 client_get(const char *, struct buf *, struct client_reply *);
int		 client_post_json(const char *, const char *, size_t,
		    struct buf *, struct client_reply *);
char		*client_escape(const char *);
const char	*client_status_name(enum client_status);
void		 client_cleanup(void);

/* spool.c */
struct spool_item {
	char		*name;		/* file name inside the spool */
};
const char	*spool_path(void);
int		 spool_add(const char *, const char *, size_t);
int		 spool_count(void);
int		 spool_lock(void);
void		 spool_unlock(void);
int		 spool_list(struct spool_item **, size_t *);
void		 spool_list_free(struct spool_item *, size_t);
int		 spool_read(const char *, struct buf *);
int		 spool_remove(const char *);
int		 spool_reject(const char *, const char *);

/* git.c */
int		 git_links_add(json_object *);
void		 git_dir_slug(const char *, char *, size_t);

#endif /* AGENT_H */
