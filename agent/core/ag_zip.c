/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zlib, zstd, snappy and LZ4 wrappers for Content-Encoding and gRPC message compression. The
 * output buffer's cap is the decompressed-size limit, checked for every chunk produced.
 */
#include "ag_zip.h"

#include <string.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#define ZIP_CHUNK (64 * 1024)

static int inflate_zlib(enum ag_zip_format fmt, const uint8_t *in, size_t len, struct ag_buf *out);

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

/* Reserves the next output chunk: up to ZIP_CHUNK bytes of what the cap leaves. Returns NULL
 * with *rc = AG_ETOOBIG when nothing is left (|out| freed), AG_ENOMEM when out of memory. */
static uint8_t *next_chunk(struct ag_buf *out, size_t *got, int *rc)
{
    size_t room = out->cap - out->len;
    if (room == 0) {
        ag_buf_cleanup(out);
        *rc = AG_ETOOBIG;
        return NULL;
    }
    *got = room < ZIP_CHUNK ? room : ZIP_CHUNK;
    uint8_t *p = ag_buf_reserve(out, *got);
    *rc = p != NULL ? 0 : AG_ENOMEM;
    return p;
}

static int unzstd(const uint8_t *in, size_t len, struct ag_buf *out)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (ds == NULL) {
        return AG_ENOMEM;
    }
    ZSTD_inBuffer ib = {in, len, 0};
    size_t zr = 1; /* 0 once a frame is complete */
    int rc = 0;
    while (ib.pos < ib.size || zr != 0) {
        size_t want;
        uint8_t *p = next_chunk(out, &want, &rc);
        if (p == NULL) {
            break;
        }
        ZSTD_outBuffer ob = {p, want, 0};
        size_t before = ib.pos;
        zr = ZSTD_decompressStream(ds, &ob, &ib);
        ag_buf_commit(out, ob.pos);
        if (ZSTD_isError(zr)) {
            rc = AG_EPROTO;
            break;
        }
        if (zr != 0 && ib.pos == ib.size && ob.pos < want && ib.pos == before) {
            rc = AG_EPROTO; /* all input taken, the frame not finished: truncated */
            break;
        }
    }
    ZSTD_freeDStream(ds);
    return rc;
}

static int unlz4(const uint8_t *in, size_t len, struct ag_buf *out)
{
    LZ4F_dctx *dc = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION))) {
        return AG_ENOMEM;
    }
    size_t pos = 0, lr = 1; /* 0 once a frame is complete */
    int rc = 0;
    while (pos < len || lr != 0) {
        size_t want;
        uint8_t *p = next_chunk(out, &want, &rc);
        if (p == NULL) {
            break;
        }
        size_t dst = want, src = len - pos;
        lr = LZ4F_decompress(dc, p, &dst, in + pos, &src, NULL);
        ag_buf_commit(out, dst);
        pos += src;
        if (LZ4F_isError(lr)) {
            rc = AG_EPROTO;
            break;
        }
        if (lr != 0 && pos == len && dst == 0 && src == 0) {
            rc = AG_EPROTO; /* truncated */
            break;
        }
    }
    LZ4F_freeDecompressionContext(dc);
    return rc;
}

/* One snappy block, its announced length checked against the cap before decoding. */
static int unsnappy_block(const uint8_t *in, size_t len, struct ag_buf *out)
{
    size_t n = 0;
    if (snappy_uncompressed_length((const char *)in, len, &n) != SNAPPY_OK ||
        snappy_validate_compressed_buffer((const char *)in, len) != SNAPPY_OK) {
        return AG_EPROTO;
    }
    if (n > out->cap - out->len) {
        ag_buf_cleanup(out);
        return AG_ETOOBIG;
    }
    uint8_t *p = n > 0 ? ag_buf_reserve(out, n) : NULL;
    if (n > 0 && p == NULL) {
        return AG_ENOMEM;
    }
    size_t got = n;
    if (n > 0 &&
        (snappy_uncompress((const char *)in, len, (char *)p, &got) != SNAPPY_OK || got != n)) {
        return AG_EPROTO;
    }
    ag_buf_commit(out, n);
    return 0;
}

/* CRC-32C (Castagnoli), bit by bit: framed snappy chunks are at most 64 KiB. */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        }
    }
    return ~c;
}

/* Snappy's framing format: chunks of type, 24-bit length, body; data chunks carry the masked
 * CRC-32C of their uncompressed bytes. */
static int unsnappy_framed(const uint8_t *in, size_t len, struct ag_buf *out)
{
    static const uint8_t magic[] = {'s', 'N', 'a', 'P', 'p', 'Y'};
    size_t pos = 0;
    int seen_id = 0;
    while (pos < len) {
        if (len - pos < 4) {
            return AG_EPROTO;
        }
        uint8_t type = in[pos];
        size_t n = (size_t)in[pos + 1] | (size_t)in[pos + 2] << 8 | (size_t)in[pos + 3] << 16;
        const uint8_t *body = in + pos + 4;
        if (n > len - pos - 4) {
            return AG_EPROTO;
        }
        pos += 4 + n;
        if (type == 0xFF) {
            if (n != sizeof(magic) || memcmp(body, magic, sizeof(magic)) != 0) {
                return AG_EPROTO;
            }
            seen_id = 1;
            continue;
        }
        if (!seen_id) {
            return AG_EPROTO; /* the stream identifier comes first */
        }
        if (type >= 0x80) {
            continue; /* padding (0xFE) and reserved skippable chunks */
        }
        if ((type != 0x00 && type != 0x01) || n < 4 || n - 4 > 65536 + 32768) {
            return AG_EPROTO; /* reserved unskippable, or malformed */
        }
        uint32_t want_crc = (uint32_t)body[0] | (uint32_t)body[1] << 8 | (uint32_t)body[2] << 16 |
                            (uint32_t)body[3] << 24;
        size_t start = out->len;
        int rc;
        if (type == 0x00) {
            rc = unsnappy_block(body + 4, n - 4, out);
        } else if (n - 4 > out->cap - out->len) {
            ag_buf_cleanup(out);
            rc = AG_ETOOBIG;
        } else {
            rc = ag_buf_add(out, body + 4, n - 4);
        }
        if (rc != 0) {
            return rc;
        }
        uint32_t c = crc32c(ag_buf_ptr(out) + start, out->len - start);
        if (((c >> 15) | (c << 17)) + 0xA282EAD8u != want_crc) {
            return AG_EPROTO;
        }
    }
    return seen_id ? 0 : AG_EPROTO;
}

int ag_zip_inflate(enum ag_zip_format fmt, const uint8_t *in, size_t len, struct ag_buf *out)
{
    size_t start_len = out->len;
    int rc;
    switch (fmt) {
    case AG_ZIP_ZSTD:
        rc = unzstd(in, len, out);
        break;
    case AG_ZIP_LZ4:
        rc = unlz4(in, len, out);
        break;
    case AG_ZIP_SNAPPY:
        rc = unsnappy_block(in, len, out);
        break;
    case AG_ZIP_SNAPPY_FRAMED:
        rc = unsnappy_framed(in, len, out);
        break;
    default:
        return inflate_zlib(fmt, in, len, out);
    }
    if (rc == AG_EPROTO && out->data != NULL) {
        out->len = start_len;
        out->data[start_len] = 0;
    }
    return rc;
}

static int inflate_zlib(enum ag_zip_format fmt, const uint8_t *in, size_t len, struct ag_buf *out)
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
