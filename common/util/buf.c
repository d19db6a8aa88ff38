/* buf.c: a growable byte buffer, always NUL-terminated past len. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static void
buf_grow(struct buf *b, size_t need)
{
	size_t	cap;

	if (b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

/* Make room for n more bytes (and the NUL) past len. */
void
buf_reserve(struct buf *b, size_t n)
{
	buf_grow(b, n);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A NUL-terminated view of the buffer; borrowed, valid until the next add. */
char *
buf_cstr(struct buf *b)
{
	buf_grow(b, 0);
	b->data[b->len] = '\0';	/* a new buffer has had no add yet */
	return (b->data);
}

/* The buffer's storage, NUL-terminated; taken by the caller. */
char *
buf_steal(struct buf *b)
{
	char	*p;

	buf_grow(b, 0);
	b->data[b->len] = '\0';
	p = b->data;
	buf_init(b);
	return (p);
}

/*
 * Replace b's contents with the regular file at path, of at most max
 * bytes.  Returns 0, or -1 with errno set (EINVAL: not a regular file;
 * EFBIG: larger than max).  The read chunk is wiped, as files read this
 * way may hold secrets; wiping b is the caller's business.
 */
int
buf_read_file(struct buf *b, const char *path, size_t max)
{
	struct stat	 st;
	char		 tmp[8192];
	ssize_t		 n;
	int		 fd, saved;

	buf_reset(b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	for (;;) {
		if ((n = read(fd, tmp, sizeof(tmp))) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		if (b->len + (size_t)n > max) {
			errno = EFBIG;
			goto fail;
		}
		buf_add(b, tmp, (size_t)n);
	}
	explicit_bzero(tmp, sizeof(tmp));
	close(fd);
	return (0);
fail:
	saved = errno;
	explicit_bzero(tmp, sizeof(tmp));
	close(fd);
	errno = saved;
	return (-1);
}

/* Write all len bytes of data to fd, across short writes and EINTR. */
int
buf_write_fd(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}
