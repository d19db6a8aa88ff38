/*
 * util/util.h: the leaves of libmilepost.
 *
 * Rule: a file in util/ includes only libc, OpenSSL, json-c, libyaml,
 * liblz4, libcurl's date parser, and this header; nothing else of the
 * project.  Everything above (record, store, derive, outbox, access,
 * config, the plugins and sinks, the programs) may use it.
 *
 * Conventions: functions return 0 on success and -1 on failure unless a
 * comment says otherwise; an error string, when there is one, is written to
 * a caller-supplied buffer of MP_ERRLEN bytes.  "Borrowed" pointers belong to
 * the callee's argument; "taken" ones become the callee's to free.
 */
#ifndef MP_UTIL_H
#define MP_UTIL_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define MP_ERRLEN	256
#define MP_HASHLEN	65		/* hex SHA-256 plus NUL */
#define MP_TIMELEN	40		/* RFC 3339 with microseconds */
#define MP_IDMAX	256		/* longest idempotency id accepted */

#define MP_DEFAULT_URL		"http://127.0.0.1:8780"
#define MP_DEFAULT_LISTEN	"127.0.0.1:8780"

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#define MP_PRINTF(a, b) __attribute__((__format__(__printf__, a, b)))

/* log.c */
void	log_init(const char *, int);
void	log_setverbose(int);
int	log_getverbose(void);
void	log_warn(const char *, ...) MP_PRINTF(1, 2);
void	log_warnx(const char *, ...) MP_PRINTF(1, 2);
void	log_info(const char *, ...) MP_PRINTF(1, 2);
void	log_debug(const char *, ...) MP_PRINTF(1, 2);
__dead void fatal(const char *, ...) MP_PRINTF(1, 2);
__dead void fatalx(const char *, ...) MP_PRINTF(1, 2);

/* xmalloc.c: allocators that never return NULL, and string vectors */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) MP_PRINTF(2, 3);
int	 xvasprintf(char **, const char *, va_list);
void	 freezero_str(char *);
void	 strv_free(char **, size_t);	/* n strings and the vector */
#ifndef HAVE_STRLCPY
size_t	 strlcpy(char *, const char *, size_t);
#endif

/* buf.c: a growable byte buffer; the caller owns b->data after buf_steal */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};
void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_reserve(struct buf *, size_t);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...) MP_PRINTF(2, 3);
char	*buf_cstr(struct buf *);	/* NUL-terminated view, borrowed */
char	*buf_steal(struct buf *);	/* NUL-terminated, taken */
int	 buf_read_file(struct buf *, const char *, size_t);
int	 buf_write_fd(int, const void *, size_t);	/* all of it, or -1 */

/* ident.c: ids (printable ASCII, no spaces, 1..MP_IDMAX) and commit SHAs */
int	 ident_valid(const char *);
int	 ident_sha_eq(const char *, const char *);

/*
 * suggest.c: the nearest valid name to a typo, and the valid names in
 * words, for errors that say "did you mean production?".
 */
size_t		 suggest_distance(const char *, const char *);
const char	*suggest_nearest(const char *, const char *const *, size_t);
void		 suggest_list(struct buf *, const char *const *, size_t);
char		*suggest_unknown(const char *, const char *,
		    const char *const *, size_t);

/* number.c: numbers meant for people, rounded in one place */
enum num_kind {
	NUM_PERCENT = 0,	/* two decimals */
	NUM_RATE,		/* three significant digits */
	NUM_SECONDS,		/* three decimals */
};
double		 num_round(double, enum num_kind);
json_object	*num_json(double, enum num_kind);

/* payload.c: raw payloads as stored (encoding "lz4": one LZ4 frame) */
#define PAYLOAD_ENCODING	"lz4"
int	 payload_compress(const void *, size_t, struct buf *);
int	 payload_decompress(const char *, const void *, size_t, struct buf *,
	    char *, size_t);

/* timefmt.c: times are int64 microseconds since the Unix epoch, UTC */
int	 tf_parse(const char *, int64_t *);
void	 tf_format(int64_t, char [MP_TIMELEN]);
int64_t	 tf_now(void);

/* timespan.c: "500s", "8m20s", "1h", "PT8M20S", "1.5h", "500" -> seconds */
int	 ts_parse(const char *, double *);

/* hmac.c: HMAC-SHA256 and constant-time helpers */
#define HMAC_SHA256_LEN	32
void	 hmac_sha256(const void *, size_t, const void *, size_t,
	    unsigned char [HMAC_SHA256_LEN]);
int	 hmac_equal(const void *, const void *, size_t);
int	 hmac_str_equal(const char *, const char *);
void	 hmac_hex(const unsigned char *, size_t, char *);
void	 sha256_hex(const void *, size_t, char [MP_HASHLEN]);
size_t	 b64_encode(const void *, size_t, char *, size_t);
int	 b64_decode(const char *, unsigned char *, size_t, size_t *);

/* stdwh.c: Standard Webhooks v1 (symmetric) signing and verification */
#define STDWH_KEYMAX	64
#define STDWH_SIGLEN	64	/* "v1," + base64(32) + NUL fits */
#define STDWH_TOLERANCE	300	/* seconds either side */
struct stdwh_key {
	unsigned char	key[STDWH_KEYMAX];
	size_t		len;
};
enum stdwh_result {
	STDWH_OK = 0,
	STDWH_MISSING,		/* a webhook-* header is absent or empty */
	STDWH_BADTIME,		/* timestamp unparseable or outside tolerance */
	STDWH_MISMATCH,		/* no signature matches any key */
};
int	 stdwh_key_parse(const char *, struct stdwh_key *);
void	 stdwh_sign(const struct stdwh_key *, const char *, int64_t,
	    const void *, size_t, char [STDWH_SIGLEN]);
enum stdwh_result stdwh_verify(const struct stdwh_key *, size_t,
	    const char *, const char *, const char *, const void *, size_t,
	    int64_t);
const char *stdwh_strerror(enum stdwh_result);

/*
 * mergepatch.c: JSON merge patches (RFC 7396).  mergepatch_diff returns a
 * new patch (taken) that turns from into to; an empty object means no
 * change.  mergepatch_apply returns a new document (taken).
 */
json_object	*mergepatch_diff(json_object *, json_object *);
json_object	*mergepatch_apply(json_object *, json_object *);
int		 mergepatch_empty(json_object *);

/*
 * strict.c: strict parsing of network input (JSON_TOKENER_STRICT, a depth
 * limit, nothing but white space after the value).  strict_parse returns
 * the tree (taken), or NULL with why ("malformed JSON at byte N: …").
 */
struct json_tokener *strict_new(int);
json_object	*strict_parse(struct json_tokener *, const char *, size_t,
		    char *, size_t);

/*
 * rate.c: the one token bucket (per-token request limits, per-sink push
 * rates).  The clock is passed in, so the arithmetic is tested without
 * sleeping; per_sec 0 means unlimited.
 */
struct rate_conf {
	double		per_sec;	/* refill, tokens per second */
	double		burst;		/* capacity */
};
struct rate_bucket {
	double		tokens;
	int64_t		last;		/* microseconds, monotonic */
	int		primed;
};
int		 rate_take(struct rate_bucket *, const struct rate_conf *,
		    int64_t, int64_t *);
double		 rate_level(const struct rate_bucket *, const struct rate_conf *,
		    int64_t);
int		 rate_parse(json_object *, double *);
void		 rate_format(double, char *, size_t);

/*
 * yaml.c: YAML (or JSON) -> a json-c tree whose nodes keep their source
 * line (json-c userdata), and the one way configuration errors are
 * worded: "file:line: key: reason".
 */
json_object	*yaml_parse(const char *, size_t, const char *, char *, size_t);
int		 yaml_line(json_object *);
int		 yaml_errf(char *, size_t, const char *, json_object *,
		    const char *, const char *, ...) MP_PRINTF(6, 7);
void		 yaml_verrf(char *, size_t, const char *, json_object *,
		    const char *, const char *, va_list);
/*
 * A string, or a list of strings (YAML_NONEMPTY: not an empty one), each
 * at least minlen long: taken copies appended to *v (*n counts them).  The
 * error names the key, its line and the bad entry.
 */
#define YAML_NONEMPTY	0x1
int		 yaml_strlist(json_object *, const char *, const char *,
		    size_t, int, char ***, size_t *, char *, size_t);

#endif /* MP_UTIL_H */
