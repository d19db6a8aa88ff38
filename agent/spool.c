/*
 * spool.c: evidence that could not be delivered yet, one file each (or
 * one per batch {"evidence":[...]}, whose items carry their own ids).
 *
 * The directory is $MILEPOST_SPOOL, else $XDG_STATE_HOME/milepost/spool,
 * else $HOME/.local/state/milepost/spool, else .milepost/spool; it is made
 * 0700 on first use.  Each file is "<time-usec>-<id>.json" and holds the
 * exact body that was to be posted, id included, so that a later delivery
 * is recognised by the receiver as the same evidence.  Files appear
 * atomically (temporary name, fsync, rename, fsync of the directory), so a
 * crash leaves either the whole file or none.  Flushes take an flock(2) on
 * ".lock" so that two of them never send the same file.  Sendable files
 * start with a digit; refused ones move to "rejected/".
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define SPOOL_FILE_MAX	(16 * 1024 * 1024)
#define SPOOL_NAMEID	64		/* id bytes kept in a file name */
#define SPOOL_TMP	".tmp-"
#define SPOOL_TMP_AGE	3600		/* seconds before a .tmp- is stale */
#define SPOOL_REJECTED	"rejected"

static char	*spool_dir;
static int	 spool_lockfd = -1;

static int	spool_mkdirs(const char *);
static int	spool_fsync_dir(const char *);
static int	spool_is_item(const char *);
static int	spool_cmp(const void *, const void *);
static int	spool_write_file(const char *, const char *, size_t);

/*
 * The spool directory, borrowed; it may not exist yet.  Resolved from the
 * environment once.
 */
const char *
spool_path(void)
{
	const char	*s;

	if (spool_dir != NULL)
		return (spool_dir);
	if ((s = getenv("MILEPOST_SPOOL")) != NULL && *s != '\0')
		spool_dir = xstrdup(s);
	else if ((s = getenv("XDG_STATE_HOME")) != NULL && *s == '/')
		xasprintf(&spool_dir, "%s/milepost/spool", s);
	else if ((s = getenv("HOME")) != NULL && *s != '\0')
		xasprintf(&spool_dir, "%s/.local/state/milepost/spool", s);
	else
		spool_dir = xstrdup(".milepost/spool");
	return (spool_dir);
}

/*
 * mkdir -p with mode 0700 for every directory made.  Returns 0 or -1.
 * An existing directory that someone else owns or may write to is
 * refused (EPERM, with the reason logged): another user could plant or
 * swap evidence in it, or read what it holds.
 */
static int
spool_mkdirs(const char *path)
{
	struct stat	 st;
	char		*p, *s;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return (-1);
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
		    st.st_uid != geteuid()) {
			if (st.st_uid != geteuid())
				log_warnx("spool: %s is owned by another user "
				    "(uid %ld): refusing it; set MILEPOST_SPOOL "
				    "to a directory of your own", path,
				    (long)st.st_uid);
			else
				log_warnx("spool: %s is writable by others "
				    "(mode %04o): refusing it; chmod 700 it, or "
				    "set MILEPOST_SPOOL to a directory of your "
				    "own", path, (unsigned)(st.st_mode & 07777));
			errno = EPERM;
			return (-1);
		}
		return (0);
	}
	s = xstrdup(path);
	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, 0700) == -1 && errno != EEXIST) {
			free(s);
			return (-1);
		}
		*p = '/';
	}
	free(s);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return (-1);
	return (0);
}

/* Make a directory's entries durable.  Returns 0 or -1 with errno. */
static int
spool_fsync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	rc = fsync(fd);
	close(fd);
	return (rc);
}

/* Write len bytes of data to a new file path (0600), fsynced. */
static int
spool_write_file(const char *path, const char *data, size_t len)
{
	int	fd, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return (-1);
	if (buf_write_fd(fd, data, len) == -1)
		goto fail;
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return (0);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(path);
	errno = saved;
	return (-1);
}

/*
 * Store body (len bytes, borrowed), the evidence whose id is id, as a new
 * spool file.  Returns 0 once the file is durable, or -1 with a warning.
 */
int
spool_add(const char *id, const char *body, size_t len)
{
	const char	*dir = spool_path();
	char		 name[SPOOL_NAMEID + 1], *tmp = NULL, *dst = NULL;
	int64_t		 now = tf_now();
	size_t		 i;
	int		 rc = -1;

	for (i = 0; id[i] != '\0' && i < SPOOL_NAMEID; i++)
		name[i] = (id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '.' ||
		    id[i] == '-' ? id[i] : '_';
	name[i] = '\0';
	if (spool_mkdirs(dir) == -1) {
		log_warn("spool: %s", dir);
		return (-1);
	}
	xasprintf(&tmp, "%s/" SPOOL_TMP "%ld-%lld", dir, (long)getpid(),
	    (long long)now);
	xasprintf(&dst, "%s/%016lld-%s.json", dir, (long long)now, name);
	if (spool_write_file(tmp, body, len) == -1) {
		log_warn("spool: %s", tmp);
		goto out;
	}
	if (rename(tmp, dst) == -1) {
		log_warn("spool: rename %s", dst);
		unlink(tmp);
		goto out;
	}
	if (spool_fsync_dir(dir) == -1)
		log_warn("spool: fsync %s", dir);	/* the file is there */
	log_debug("%s: %s", __func__, dst);
	rc = 0;
out:
	free(tmp);
	free(dst);
	return (rc);
}

/* Is name a spooled evidence ("<digits>-<id>.json")? */
static int
spool_is_item(const char *name)
{
	size_t	n = strlen(name);

	return (name[0] >= '0' && name[0] <= '9' && n > 5 &&
	    strcmp(name + n - 5, ".json") == 0);
}

/* How many evidence wait in the spool (0 when it does not exist). */
int
spool_count(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(spool_path())) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL)
		if (spool_is_item(de->d_name))
			n++;
	closedir(d);
	return (n);
}

/*
 * Take the flush lock, waiting for another flush to finish if need be.
 * Returns 0, or -1 with a warning.  The lock lasts until spool_unlock()
 * or the end of the process.
 */
int
spool_lock(void)
{
	char	*path;

	if (spool_lockfd != -1)
		return (0);
	if (spool_mkdirs(spool_path()) == -1) {
		log_warn("spool: %s", spool_path());
		return (-1);
	}
	xasprintf(&path, "%s/.lock", spool_path());
	if ((spool_lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("spool: %s", path);
		free(path);
		return (-1);
	}
	if (flock(spool_lockfd, LOCK_EX | LOCK_NB) == -1) {
		log_info("waiting for another flush of %s", spool_path());
		while (flock(spool_lockfd, LOCK_EX) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("spool: flock %s", path);
			close(spool_lockfd);
			spool_lockfd = -1;
			free(path);
			return (-1);
		}
	}
	free(path);
	return (0);
}

void
spool_unlock(void)
{
	if (spool_lockfd != -1)
		close(spool_lockfd);
	spool_lockfd = -1;
}

static int
spool_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct spool_item *)a)->name,
	    ((const struct spool_item *)b)->name));
}

/*
 * The spooled evidence, oldest first, as a new array in *items (free with
 * spool_list_free).  Temporary files left by a crash over an hour ago are
 * removed on the way.  Returns 0 (a missing spool is empty), or -1.
 */
int
spool_list(struct spool_item **items, size_t *nitems)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	size_t		 n = 0, cap = 0;

	*items = NULL;
	*nitems = 0;
	if ((d = opendir(spool_path())) == NULL) {
		if (errno == ENOENT)
			return (0);
		log_warn("spool: %s", spool_path());
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, SPOOL_TMP, strlen(SPOOL_TMP)) == 0) {
			if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
			    st.st_mtime < time(NULL) - SPOOL_TMP_AGE &&
			    unlinkat(dirfd(d), de->d_name, 0) == 0)
				log_debug("%s: removed stale %s", __func__,
				    de->d_name);
			continue;
		}
		if (!spool_is_item(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*items = xreallocarray(*items, cap, sizeof(**items));
		}
		(*items)[n++].name = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(*items, n, sizeof(**items), spool_cmp);
	*nitems = n;
	return (0);
}

void
spool_list_free(struct spool_item *items, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

/*
 * Read the spool file name into b (reset first).  Returns 0, or -1 with a
 * warning; errno ENOENT means another process took it.
 */
int
spool_read(const char *name, struct buf *b)
{
	char	*path;
	int	 rc, saved;

	xasprintf(&path, "%s/%s", spool_path(), name);
	if ((rc = buf_read_file(b, path, SPOOL_FILE_MAX)) == -1) {
		saved = errno;
		if (saved != ENOENT)
			log_warn("spool: %s", path);
		errno = saved;
	}
	free(path);
	return (rc);
}

/* Delete a delivered spool file, durably.  Returns 0 or -1. */
int
spool_remove(const char *name)
{
	char	*path;

	xasprintf(&path, "%s/%s", spool_path(), name);
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("spool: unlink %s", path);
		free(path);
		return (-1);
	}
	free(path);
	if (spool_fsync_dir(spool_path()) == -1)
		log_warn("spool: fsync %s", spool_path());
	return (0);
}

/*
 * Move a spool file that the receiver refused to rejected/, with why in
 * "<name>.error" beside it, so that it is kept for a person to look at but
 * never sent again.  Returns 0 or -1.
 */
int
spool_reject(const char *name, const char *why)
{
	char	*dir, *src, *dst, *errpath, *text;
	int	 rc = -1;

	xasprintf(&dir, "%s/" SPOOL_REJECTED, spool_path());
	xasprintf(&src, "%s/%s", spool_path(), name);
	xasprintf(&dst, "%s/%s", dir, name);
	xasprintf(&errpath, "%s/%s.error", dir, name);
	if (spool_mkdirs(dir) == -1) {
		log_warn("spool: %s", dir);
		goto out;
	}
	if (rename(src, dst) == -1) {
		log_warn("spool: rename %s", dst);
		goto out;
	}
	unlink(errpath);
	xasprintf(&text, "%s\n", why);
	if (spool_write_file(errpath, text, strlen(text)) == -1)
		log_debug("%s: %s: %s", __func__, errpath, strerror(errno));
	free(text);
	if (spool_fsync_dir(dir) == -1 || spool_fsync_dir(spool_path()) == -1)
		log_warn("spool: fsync %s", dir);
	rc = 0;
out:
	free(dir);
	free(src);
	free(dst);
	free(errpath);
	return (rc);
}
