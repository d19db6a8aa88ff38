/*
 * check_sql.c: the unit tests' way to tamper with, or look inside, an
 * SQLite ledger from outside the library, as an attacker or an operator
 * would: Debian's sqlite3 command-line shell on a separate connection.
 * (Only common/store/ may include SQLite's header.)
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milepost.h"
#include "check_milepost.h"

/*
 * Run sql with sqlite3 on db; its output (at most outlen - 1 bytes) in
 * out when out is not NULL.  Returns the shell's exit status (0: every
 * statement succeeded; -bail stops at the first error).
 */
int
tsql_run(const char *db, const char *sql, char *out, size_t outlen)
{
	int	 in[2], res[2], status, fd;
	size_t	 n = 0;
	ssize_t	 r;
	pid_t	 pid;
	char	 sink[512];

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(res), 0);
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(res[1], 1);
		if ((fd = open("/dev/null", O_WRONLY)) != -1)
			dup2(fd, 2);	/* the refusals a test expects */
		close(in[0]); close(in[1]); close(res[0]); close(res[1]);
		execlp("sqlite3", "sqlite3", "-batch", "-bail", "-cmd",
		    ".timeout 5000", db, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_ge(pid, 0);
	close(in[0]);
	close(res[1]);
	ck_assert_int_eq(buf_write_fd(in[1], sql, strlen(sql)), 0);
	ck_assert_int_eq(buf_write_fd(in[1], "\n", 1), 0);
	close(in[1]);
	for (;;) {
		if (out != NULL && n + 1 < outlen)
			r = read(res[0], out + n, outlen - 1 - n);
		else
			r = read(res[0], sink, sizeof(sink));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out != NULL && n + 1 < outlen)
			n += (size_t)r;
	}
	close(res[0]);
	if (out != NULL && outlen > 0)
		out[n] = '\0';
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 127,
	    "sqlite3 did not run (apt-get install sqlite3)");
	return (WEXITSTATUS(status));
}

/* One integer from sql on db; -1 when it printed none. */
int64_t
tsql_int(const char *db, const char *sql)
{
	char	out[64];

	ck_assert_msg(tsql_run(db, sql, out, sizeof(out)) == 0, "%s", sql);
	return (out[0] == '\0' ? -1 : strtoll(out, NULL, 10));
}
