/*
 * fuzz.h: what the libFuzzer targets share (tests/fuzz/README.md).
 *
 * The FUZZ_* credentials are those of the configuration every target
 * loads; mkseeds.py reads these #define lines to sign its seeds, so keep
 * each one on one line.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "milepost.h"

#define FUZZ_NOW	1751630400	/* 2025-07-04T12:00:00Z, in seconds */
#define FUZZ_WHSEC	"whsec_bWlsZXBvc3QgZnV6emluZyBrZXksIDMyIGJ5dGVzISE="
#define FUZZ_SECRET	"fuzz-hmac-secret-1"
#define FUZZ_TOKEN	"fuzz-gitlab-token-1"
#define FUZZ_BEARER	"fuzz-bearer-token-0123456789"
#define FUZZ_USER	"fuzz"
#define FUZZ_PASSWORD	"fuzz-password-1"
#define FUZZ_WEBHOOK_ID	"msg_fuzz"

#define FUZZ_MAXHDR	64

/* An input: "Name: value" lines, an empty line, the body. */
struct fuzz_input {
	char		*name[FUZZ_MAXHDR];
	char		*value[FUZZ_MAXHDR];
	size_t		 nh;
	char		*body;		/* exactly len bytes, no NUL after */
	size_t		 len;
};

extern struct config	*fuzz_cf;
/* Called with each evidence accepted, after fuzz_evidence_check. */
extern void		(*fuzz_accepted)(const struct evidence *);

void		 fuzz_init(void);
__dead void	 fuzz_fail(const char *, ...) MP_PRINTF(1, 2);
struct config	*fuzz_config_text(const char *, size_t, char *, size_t);
void		 fuzz_input_parse(const uint8_t *, size_t, struct fuzz_input *);
void		 fuzz_input_free(struct fuzz_input *);
const char	*fuzz_input_header(const struct fuzz_input *, const char *);
json_object	*fuzz_parse_json(const char *, size_t, char *, size_t);
void		 fuzz_evidence_check(struct evidence *);
void		 fuzz_http_evidence(const char *, size_t);
void		 fuzz_http_hook(const struct mp_source *,
		    const struct fuzz_input *);

#endif /* FUZZ_H */
