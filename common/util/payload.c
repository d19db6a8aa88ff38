/*
 * payload.c: the compressed form of a source's raw payload, as kept in
 * raw_payloads for audit and re-normalisation.
 *
 * Encoding "lz4": one LZ4 frame (liblz4's lz4frame.h), with the content
 * size and a content checksum in the frame, so the bytes are
 * self-describing and `lz4 -dc` reads them too.  LZ4 was chosen over
 * zlib after measuring the GitHub ingest path: deflate at level 1 took
 * about 11 us per 2 KB delivery on the writer thread, LZ4 about 2 us,
 * for 974 bytes instead of 702 (bench/RESULTS.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lz4frame.h>

#include "util/util.h"

#define PAYLOAD_MAXOUT	(64UL * 1024 * 1024)	/* refuse bigger claims */

/*
 * Compress len bytes at p into out (reset first).  Returns 0, or -1 (out
 * of memory in liblz4, or a bug).
 */
int
payload_compress(const void *p, size_t len, struct buf *out)
{
	LZ4F_preferences_t	 prefs;
	size_t			 bound, n;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockLinked;
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.contentSize = len;
	bound = LZ4F_compressFrameBound(len, &prefs);
	buf_reset(out);
	buf_reserve(out, bound);
	n = LZ4F_compressFrame(out->data, bound, p, len, &prefs);
	if (LZ4F_isError(n))
		return (-1);
	out->len = n;
	return (0);
}

/*
 * Decompress a stored payload of the named encoding into out (reset
 * first).  Returns 0, or -1 with err saying why.
 */
int
payload_decompress(const char *encoding, const void *p, size_t len,
    struct buf *out, char *err, size_t errlen)
{
	LZ4F_dctx		*dctx;
	LZ4F_frameInfo_t	 fi;
	const char		*src = p;
	size_t			 srclen, dstlen, rc, off = 0;

	buf_reset(out);
	if (strcmp(encoding, "lz4") != 0) {
		snprintf(err, errlen, "unknown payload encoding \"%s\"",
		    encoding);
		return (-1);
	}
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx,
	    LZ4F_VERSION))) {
		snprintf(err, errlen, "cannot create an LZ4 context");
		return (-1);
	}
	srclen = len;
	rc = LZ4F_getFrameInfo(dctx, &fi, src, &srclen);
	if (LZ4F_isError(rc)) {
		snprintf(err, errlen, "bad LZ4 frame: %s",
		    LZ4F_getErrorName(rc));
		goto fail;
	}
	if (fi.contentSize > PAYLOAD_MAXOUT) {
		snprintf(err, errlen, "LZ4 frame claims %llu bytes",
		    (unsigned long long)fi.contentSize);
		goto fail;
	}
	off = srclen;
	while (rc != 0) {
		if (off >= len) {
			snprintf(err, errlen, "truncated LZ4 frame");
			goto fail;
		}
		if (out->len >= PAYLOAD_MAXOUT) {
			snprintf(err, errlen, "LZ4 frame over %lu bytes",
			    PAYLOAD_MAXOUT);
			goto fail;
		}
		buf_reserve(out, fi.contentSize ? fi.contentSize : 65536);
		dstlen = out->cap - out->len - 1;
		srclen = len - off;
		rc = LZ4F_decompress(dctx, out->data + out->len, &dstlen,
		    src + off, &srclen, NULL);
		if (LZ4F_isError(rc)) {
			snprintf(err, errlen, "bad LZ4 frame: %s",
			    LZ4F_getErrorName(rc));
			goto fail;
		}
		off += srclen;
		out->len += dstlen;
		out->data[out->len] = '\0';
	}
	LZ4F_freeDecompressionContext(dctx);
	return (0);
fail:
	LZ4F_freeDecompressionContext(dctx);
	buf_reset(out);
	return (-1);
}
