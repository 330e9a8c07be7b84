/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zlib wrappers for Content-Encoding and gRPC message compression. The output buffer's cap is the
 * decompressed-size limit, checked for every chunk zlib produces.
 */
#include "ag_zip.h"

#include <string.h>
#include <zlib.h>

#define ZIP_CHUNK (64 * 1024)

static int inflate_with(int window_bits, const uint8_t *in, size_t len, struct ag_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, window_bits) != Z_OK) {
        return AG_ENOMEM;
    }
    int rc = 0;
    size_t start_len = out->len;
    zs.next_in = (Bytef *)in;
    /* zlib counts in uInt; feed very large inputs in slices. */
    size_t left = len;
    int zr = Z_OK;
    for (;;) {
        if (zr == Z_STREAM_END) {
            /* A gzip body may hold several members one after another (RFC 1952 2.2; Go's
             * reader, hence the collector, accepts them): go on with the next one. */
            const uint8_t *next = zs.avail_in > 0 ? zs.next_in : in + (len - left);
            size_t rest = zs.avail_in + left;
            if (window_bits > MAX_WBITS && rest >= 2 && next[0] == 0x1f && next[1] == 0x8b &&
                inflateReset(&zs) == Z_OK) {
                zr = Z_OK;
                continue;
            }
            break;
        }
        /* With all input taken, zlib may still hold output (a raw stream's last match can
         * outlive its last byte), so inflate on: a truncated stream shows as Z_BUF_ERROR. */
        if (zs.avail_in == 0 && left > 0) {
            zs.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
            left -= zs.avail_in;
        }
        size_t room = out->cap - out->len;
        if (room == 0) {
            /* The cap is reached with input left: that is over the limit, unless the stream
             * ends right here, which one more zero-output call tells. */
            uint8_t probe;
            zs.next_out = &probe;
            zs.avail_out = 1;
            zr = inflate(&zs, Z_NO_FLUSH);
            if (zr == Z_STREAM_END && zs.avail_out == 1) {
                break;
            }
            ag_buf_cleanup(out);
            rc = AG_ETOOBIG;
            goto out;
        }
        size_t want = room < ZIP_CHUNK ? room : ZIP_CHUNK;
        uint8_t *p = ag_buf_reserve(out, want);
        if (p == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        zs.next_out = p;
        zs.avail_out = (uInt)want;
        zr = inflate(&zs, Z_NO_FLUSH);
        ag_buf_commit(out, want - zs.avail_out);
        if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_MEM_ERROR) {
            rc = zr == Z_MEM_ERROR ? AG_ENOMEM : AG_EPROTO;
            goto out;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
            rc = AG_EPROTO;
            goto out;
        }
    }
    /* Trailing bytes after the end of the stream are not a valid body either. */
    if (zs.avail_in != 0 || left != 0) {
        rc = AG_EPROTO;
    }
out:
    inflateEnd(&zs);
    if (rc == AG_EPROTO && out->data != NULL) {
        out->len = start_len;
        out->data[start_len] = 0;
    }
    return rc;
}

int ag_zip_inflate(enum ag_zip_format fmt, const uint8_t *in, size_t len, struct ag_buf *out)
{
    if (fmt == AG_ZIP_GZIP) {
        return inflate_with(16 + MAX_WBITS, in, len, out);
    }
    /* HTTP "deflate" is meant to be zlib-wrapped, but some clients send raw deflate: a zlib
     * header is recognisable by its checksum (first two bytes divisible by 31). */
    if (len >= 2 && (in[0] & 0x0F) == 8 && ((in[0] << 8) | in[1]) % 31 == 0) {
        return inflate_with(MAX_WBITS, in, len, out);
    }
    return inflate_with(-MAX_WBITS, in, len, out);
}

int ag_zip_gzip(const uint8_t *in, size_t len, struct ag_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return AG_ENOMEM;
    }
    int rc = 0;
    size_t bound = deflateBound(&zs, (uLong)len);
    /* Decided before the reserve, which frees |out| (and its length) when it fails. */
    int toobig = bound > out->cap || out->len > out->cap - bound;
    uint8_t *p = ag_buf_reserve(out, bound);
    if (p == NULL) {
        rc = toobig ? AG_ETOOBIG : AG_ENOMEM;
        goto out;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = p;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        rc = AG_ENOMEM;
        goto out;
    }
    ag_buf_commit(out, bound - zs.avail_out);
out:
    deflateEnd(&zs);
    return rc;
}
