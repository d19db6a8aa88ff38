/*
 * access.c: the permission table (what each token role may do) and tenant
 * visibility.  Every bearer-authenticated endpoint names one action; the
 * table, not an ordering of roles, decides.  A client token also sees only
 * objects whose "tenant" link is its tenant (ARCHITECTURE.md, "Read API").
 */
#include <string.h>

#include "access/access.h"

static const char *role_names[] = {
	[ROLE_NONE] = "none",
	[ROLE_CLIENT] = "client",
	[ROLE_READER] = "reader",
	[ROLE_WRITER] = "writer",
	[ROLE_OPERATOR] = "operator",
	[ROLE_ADMIN] = "admin",
};

/* The name of a role, as the configuration and the API spell it. */
const char *
access_role_name(enum role r)
{
	return (role_names[r]);
}

int
access_role_parse(const char *s, enum role *r)
{
	size_t	i;

	for (i = ROLE_CLIENT; i <= ROLE_ADMIN; i++)
		if (strcmp(s, role_names[i]) == 0) {
			*r = (enum role)i;
			return (0);
		}
	return (-1);
}

/* allowed[action][role]: 1 allowed, 0 refused. */
static const unsigned char access_table[ACCESS_MAX][ROLE_ADMIN + 1] = {
	/*				none client reader writer oper. admin */
	[ACCESS_EVIDENCE_READ]	= {	0,   0,     1,     1,     1,    1 },
	[ACCESS_CLAIM_READ]	= {	0,   1,     1,     1,     1,    1 },
	[ACCESS_OVERRIDE]	= {	0,   0,     0,     0,     1,    1 },
	[ACCESS_OUTBOX]		= {	0,   0,     0,     0,     1,    1 },
	[ACCESS_TOKENS]		= {	0,   0,     0,     0,     0,    1 },
};

static const char *access_names[ACCESS_MAX] = {
	[ACCESS_EVIDENCE_READ] = "read evidence",
	[ACCESS_CLAIM_READ] = "read claims",
	[ACCESS_OVERRIDE] = "override a deployment",
	[ACCESS_OUTBOX] = "manage the outbox",
	[ACCESS_TOKENS] = "list tokens",
};

/* May a token of role r do action a?  Returns 1 or 0. */
int
access_allowed(enum role r, enum access a)
{
	if ((unsigned)a >= ACCESS_MAX || (unsigned)r > ROLE_ADMIN)
		return (0);
	return (access_table[a][r]);
}

const char *
access_name(enum access a)
{
	if ((unsigned)a >= ACCESS_MAX)
		return ("unknown action");
	return (access_names[a]);
}

/*
 * May tok see an object whose links are links (borrowed; a JSON object or
 * NULL)?  Every role but client sees everything; a client sees an object
 * only when its "tenant" link equals the token's tenant.  Returns 1 or 0.
 */
int
access_tenant_visible(const struct token *tok, json_object *links)
{
	json_object	*t;

	if (tok == NULL)
		return (0);
	if (tok->role != ROLE_CLIENT)
		return (1);
	if (tok->tenant == NULL || links == NULL ||
	    !json_object_is_type(links, json_type_object) ||
	    !json_object_object_get_ex(links, "tenant", &t) ||
	    !json_object_is_type(t, json_type_string))
		return (0);
	return (strcmp(json_object_get_string(t), tok->tenant) == 0);
}

/* access_tenant_visible for a stored claim revision (links as text). */
int
access_claim_visible(const struct token *tok, const struct claim *c)
{
	json_object	*links;
	int		 ok;

	if (tok == NULL)
		return (0);
	if (tok->role != ROLE_CLIENT)
		return (1);
	if (c->links == NULL || (links = json_tokener_parse(c->links)) ==
	    NULL)
		return (0);
	ok = access_tenant_visible(tok, links);
	json_object_put(links);
	return (ok);
}
