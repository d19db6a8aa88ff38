/*
 * fuzz_envfile.c: the post-receive hook's milepost.env reader
 * (cmd_git_env_load): the input is the file, in a directory of its own in
 * /dev/shm, mode 0600.  Invariants: only the five MILEPOST_* variables it
 * names are set, and only when the file holds "NAME=" somewhere; no
 * value holds a newline; the file it would take written back as
 * "NAME=VALUE" lines reads back to the same values (a reader that accepts
 * a file round-trips it).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "agent/agent.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	*fen_keys[] = {
	"MILEPOST_URL", "MILEPOST_SECRET", "MILEPOST_SPOOL", "MILEPOST_TIMEOUT",
	"MILEPOST_TOKEN"
};
#define FEN_NKEYS	(sizeof(fen_keys) / sizeof(fen_keys[0]))
static char	fen_dir[64], fen_path[96];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	snprintf(fen_dir, sizeof(fen_dir), "/dev/shm/milepost-fuzz-env-%ld",
	    (long)getpid());
	if (mkdir(fen_dir, 0700) == -1)
		fatal("mkdir %s", fen_dir);
	snprintf(fen_path, sizeof(fen_path), "%s/milepost.env", fen_dir);
	return (0);
}

static void
fen_write(const void *data, size_t size)
{
	int	fd;

	unlink(fen_path);
	if ((fd = open(fen_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    buf_write_fd(fd, data, size) == -1 || close(fd) == -1)
		fatal("%s", fen_path);
}

/* Load the file with a clean environment; values into v (taken). */
static void
fen_load(char *v[FEN_NKEYS])
{
	const char	*s;
	size_t		 i;

	for (i = 0; i < FEN_NKEYS; i++)
		unsetenv(fen_keys[i]);
	cmd_git_env_load(fen_dir);
	for (i = 0; i < FEN_NKEYS; i++)
		v[i] = (s = getenv(fen_keys[i])) != NULL ? xstrdup(s) : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 b;
	char		*v[FEN_NKEYS], *w[FEN_NKEYS], *text, name[32];
	size_t		 i;

	fen_write(data, size);
	fen_load(v);
	text = xstrndup((const char *)data, size);
	buf_init(&b);
	for (i = 0; i < FEN_NKEYS; i++) {
		if (v[i] == NULL)
			continue;
		snprintf(name, sizeof(name), "%s=", fen_keys[i]);
		if (strstr(text, name) == NULL)
			fuzz_fail("%s set to [%s] from a file without %s",
			    fen_keys[i], v[i], name);
		if (strchr(v[i], '\n') != NULL)
			fuzz_fail("%s=[%s] holds a newline", fen_keys[i], v[i]);
		buf_printf(&b, "%s=%s\n", fen_keys[i], v[i]);
	}
	fen_write(b.data, b.len);
	fen_load(w);
	for (i = 0; i < FEN_NKEYS; i++) {
		if ((v[i] == NULL) != (w[i] == NULL) ||
		    (v[i] != NULL && strcmp(v[i], w[i]) != 0))
			fuzz_fail("%s: [%s] written back reads as [%s]",
			    fen_keys[i], v[i] ? v[i] : "(unset)",
			    w[i] ? w[i] : "(unset)");
		free(v[i]);
		free(w[i]);
	}
	buf_free(&b);
	free(text);
	return (0);
}
