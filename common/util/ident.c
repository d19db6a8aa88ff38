/*
 * ident.c: the rules for names that cross the wire: an id (evidence ids,
 * delivery ids, webhook-ids) and a commit SHA that may be abbreviated.
 * Every layer checks ids with these, so there is one rule each.
 */
#include <string.h>
#include <strings.h>

#include "util/util.h"

/* An id is 1..MP_IDMAX printable ASCII characters without spaces. */
int
ident_valid(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return (0);
	return (n > 0 && n <= MP_IDMAX);
}

/* Are two commit ids the same commit (one may be abbreviated, >= 7)? */
int
ident_sha_eq(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;

	if (n < 7)
		return (la == lb && strcmp(a, b) == 0);
	return (strncasecmp(a, b, n) == 0);
}
