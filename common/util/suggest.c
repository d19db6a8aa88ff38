/*
 * suggest.c: "did you mean …?" for names a person typed.  The nearest of a
 * list of valid names by edit distance (Damerau-Levenshtein, optimal
 * string alignment: a swap of two neighbours is one edit), and the list
 * itself in words, for errors that name the valid values.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

#define SUGGEST_MAXLEN	64	/* longer names are never near anything */

/* The edit distance of a and b, case-insensitive; SIZE_MAX when too long. */
size_t
suggest_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, c, v, best;
	size_t	d[SUGGEST_MAXLEN + 1][SUGGEST_MAXLEN + 1];

	if (la > SUGGEST_MAXLEN || lb > SUGGEST_MAXLEN)
		return (SIZE_MAX);
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			c = strncasecmp(a + i - 1, b + j - 1, 1) != 0;
			best = d[i - 1][j] + 1;
			if ((v = d[i][j - 1] + 1) < best)
				best = v;
			if ((v = d[i - 1][j - 1] + c) < best)
				best = v;
			if (i > 1 && j > 1 &&
			    strncasecmp(a + i - 1, b + j - 2, 1) == 0 &&
			    strncasecmp(a + i - 2, b + j - 1, 1) == 0 &&
			    (v = d[i - 2][j - 2] + 1) < best)
				best = v;
			d[i][j] = best;
		}
	return (d[la][lb]);
}

/*
 * The valid name nearest to s (borrowed from names), or NULL when none is
 * near enough to be a typo of it: at most a third of s's length in edits
 * (at least 1, at most 3).  Ties go to the first in names.
 */
const char *
suggest_nearest(const char *s, const char *const *names, size_t n)
{
	const char	*best = NULL;
	size_t		 i, d, bestd = SIZE_MAX, max;

	max = strlen(s) / 3;
	if (max < 1)
		max = 1;
	if (max > 3)
		max = 3;
	for (i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		d = suggest_distance(s, names[i]);
		if (d <= max && d < bestd) {
			best = names[i];
			bestd = d;
		}
	}
	return (best);
}

/* Append names to b as words: "a", "a or b", "a, b or c". */
void
suggest_list(struct buf *b, const char *const *names, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(b, i + 1 == n ? " or " : ", ");
		buf_adds(b, names[i]);
	}
}

/*
 * Why s is not one of names, for an error message (taken): "unknown NOUN
 * s (did you mean x?; valid: a, b or c)", the valid list only when it has
 * at most 12 names.
 */
char *
suggest_unknown(const char *noun, const char *s, const char *const *names,
    size_t n)
{
	struct buf	 b;
	const char	*near;

	buf_init(&b);
	buf_printf(&b, "unknown %s %s", noun, s);
	near = suggest_nearest(s, names, n);
	if (near != NULL || (n > 0 && n <= 12)) {
		buf_adds(&b, " (");
		if (near != NULL)
			buf_printf(&b, "did you mean %s?", near);
		if (n > 0 && n <= 12) {
			buf_adds(&b, near != NULL ? "; valid: " : "valid: ");
			suggest_list(&b, names, n);
		}
		buf_addc(&b, ')');
	}
	return (buf_steal(&b));
}
