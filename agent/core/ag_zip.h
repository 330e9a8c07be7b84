#ifndef AG_ZIP_H
#define AG_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"

/*
 * Request-body decompression with the output cap enforced while inflating, so a gzip bomb is
 * never inflated past the limit (a snappy block announces its length: checked before any byte is
 * written).
 */

enum ag_zip_format {
    AG_ZIP_GZIP = 0,    /* RFC 1952 */
    AG_ZIP_DEFLATE = 1, /* "deflate" as HTTP means it: zlib (RFC 1950), or raw RFC 1951 data */
    AG_ZIP_ZSTD = 2,    /* RFC 8878 frames, one or more */
    AG_ZIP_SNAPPY = 3,  /* a snappy block (HTTP "snappy", as the collector reads it) */
    AG_ZIP_SNAPPY_FRAMED = 4, /* snappy's framing format with CRC-32C ("x-snappy-framed", and
                               * gRPC's "snappy" encoding) */
    AG_ZIP_LZ4 = 5,           /* LZ4 frames, one or more */
};

/*
 * Inflates |len| bytes of |in| and appends the result to |out|, whose cap bounds the output.
 * Returns 0, AG_ETOOBIG when the output passes out's cap (out is then freed), AG_EPROTO for
 * corrupt or truncated data, AG_ENOMEM.
 */
AG_NODISCARD int ag_zip_inflate(enum ag_zip_format fmt, const uint8_t *in, size_t len,
                                struct ag_buf *out);

/*
 * Gzip-compresses |len| bytes of |in| and appends them to |out| (tests, responses).
 * Returns 0, AG_ETOOBIG, AG_ENOMEM.
 */
AG_NODISCARD int ag_zip_gzip(const uint8_t *in, size_t len, struct ag_buf *out);

#endif /* AG_ZIP_H */
