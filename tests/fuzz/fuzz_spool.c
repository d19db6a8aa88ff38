/*
 * fuzz_spool.c: the agent's spool (agent/spool.c) and what "milepost
 * flush" reads back from it (cmd_flush_id).  The input is a body to spool;
 * its first line, up to 100 bytes, is also the evidence id that names the
 * file.  Each input is spooled (spool_add) into a spool directory of its
 * own in /dev/shm, listed, read back and parsed for its id as flush does,
 * then removed, or (when the first byte is odd) moved to rejected/.
 * Invariants: the spool lists exactly one item, named
 * "<16 digits>-<safe id>.json"; it reads back byte for byte what was
 * spooled; an id taken from it is a valid one, equal to the body's "id";
 * the item is gone from the count once removed or rejected.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "agent/agent.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	fsp_dir[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init();
	snprintf(fsp_dir, sizeof(fsp_dir), "/dev/shm/milepost-fuzz-spool-%ld",
	    (long)getpid());
	setenv("MILEPOST_SPOOL", fsp_dir, 1);
	return (0);
}

/* Is name "<16 digits>-<[A-Za-z0-9._-]*>.json"? */
static int
fsp_name_ok(const char *name)
{
	size_t	n = strlen(name), i;

	if (n < 16 + 1 + 5 || strspn(name, "0123456789") != 16 ||
	    name[16] != '-' || strcmp(name + n - 5, ".json") != 0)
		return (0);
	for (i = 17; i < n - 5; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", name[i]) == NULL || name[i] == '\0')
			return (0);
	return (n - 5 - 17 <= 64);
}

/* The body's "id", when it is an object with a string "id", or NULL. */
static char *
fsp_body_id(const uint8_t *data, size_t size)
{
	struct json_tokener	*tok = strict_new(64);
	json_object		*o, *v;
	char			 why[MP_ERRLEN], *id = NULL;

	o = strict_parse(tok, (const char *)data, size, why, sizeof(why));
	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "id", &v) &&
	    json_object_is_type(v, json_type_string))
		id = xstrdup(json_object_get_string(v));
	json_object_put(o);
	json_tokener_free(tok);
	return (id);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_item	*items;
	struct buf		 b;
	size_t			 n, idlen;
	char			 id[101], got[MP_IDMAX + 1], *want, path[160];

	idlen = 0;
	while (idlen < size && idlen < sizeof(id) - 1 && data[idlen] != '\n' &&
	    data[idlen] != '\0')
		idlen++;
	memcpy(id, data, idlen);
	id[idlen] = '\0';
	if (spool_add(id, (const char *)data, size) == -1)
		fuzz_fail("spool_add failed in %s", fsp_dir);
	if (spool_count() != 1)
		fuzz_fail("spool_count is %d after one spool_add",
		    spool_count());
	if (spool_list(&items, &n) == -1 || n != 1)
		fuzz_fail("spool_list: %zu items after one spool_add", n);
	if (!fsp_name_ok(items[0].name))
		fuzz_fail("spool file name %s", items[0].name);
	buf_init(&b);
	if (spool_read(items[0].name, &b) == -1)
		fuzz_fail("spool_read %s failed", items[0].name);
	if (b.len != size || (size > 0 && memcmp(b.data, data, size) != 0))
		fuzz_fail("spool_read gave %zu bytes back for %zu", b.len, size);
	if (cmd_flush_id(&b, got, sizeof(got)) == 0) {
		if (!ident_valid(got))
			fuzz_fail("cmd_flush_id took the invalid id [%s]", got);
		if ((want = fsp_body_id(data, size)) != NULL &&
		    strcmp(want, got) != 0)
			fuzz_fail("cmd_flush_id [%s], the body's id [%s]", got,
			    want);
		free(want);
	}
	buf_free(&b);
	if (size > 0 && (data[0] & 1)) {
		if (spool_reject(items[0].name, "fuzz") == -1)
			fuzz_fail("spool_reject %s failed", items[0].name);
		snprintf(path, sizeof(path), "%s/rejected/%s", fsp_dir,
		    items[0].name);
		if (unlink(path) == -1)
			fuzz_fail("rejected %s is not in rejected/", path);
		snprintf(path, sizeof(path), "%s/rejected/%s.error", fsp_dir,
		    items[0].name);
		unlink(path);
	} else if (spool_remove(items[0].name) == -1)
		fuzz_fail("spool_remove %s failed", items[0].name);
	if (spool_count() != 0)
		fuzz_fail("spool_count is %d after the item went",
		    spool_count());
	spool_list_free(items, n);
	return (0);
}
