/*
 * fuzz_postreceive.c: the post-receive hook's input, git's
 * "<old> <new> <ref>" lines on stdin (cmd_git_read_refs, which reads them
 * as the hook does).  The input is the stream.  Invariants: every update
 * taken has two ids of 40 lowercase hex digits and a ref that is not
 * empty, at most 4096 bytes, without a blank or a control character; the
 * updates written back as lines read back to the same updates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "agent/agent.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	return (0);
}

static int
fpr_hex40(const char *s)
{
	return (strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40);
}

/* Each update, checked, as a line in the buf arg. */
static void
fpr_take(void *arg, const char *ref, const char *old, const char *new)
{
	struct buf	*b = arg;
	const char	*p;

	if (!fpr_hex40(old) || !fpr_hex40(new))
		fuzz_fail("ids [%s] [%s] are not 40 hex digits", old, new);
	if (*ref == '\0' || strlen(ref) > 4096)
		fuzz_fail("a ref of %zu bytes", strlen(ref));
	for (p = ref; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			fuzz_fail("ref [%s] holds byte 0x%02x", ref,
			    (unsigned char)*p);
	buf_printf(b, "%s %s %s\n", old, new, ref);
}

/* Read size bytes of data as the hook's stdin into b. */
static void
fpr_read(const void *data, size_t size, struct buf *b)
{
	FILE	*f;

	if ((f = fmemopen((void *)data, size, "r")) == NULL)
		fatal("fmemopen");
	if (cmd_git_read_refs(f, fpr_take, b) == -1)
		fuzz_fail("cmd_git_read_refs could not read memory");
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 a, b;

	if (size == 0)
		return (0);	/* fmemopen takes no empty buffer */
	buf_init(&a);
	buf_init(&b);
	fpr_read(data, size, &a);
	if (a.len > 0) {
		fpr_read(a.data, a.len, &b);
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			fuzz_fail("updates written back read differently:\n"
			    "%s---\n%s", buf_cstr(&a), buf_cstr(&b));
	}
	buf_free(&a);
	buf_free(&b);
	return (0);
}
