/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AWS event-stream decoder that Bedrock ConverseStream responses go through. Whole frames
 * in the caller's bytes are decoded in place; only a frame that straddles two feeds is copied,
 * into a buffer that never holds more than one frame, so memory is bounded by the caps.
 */
#include "cb_eventstream.h"

#include <string.h>
#include <zlib.h>

#include "ag_mem.h"

struct cb_es_decoder {
    uint8_t *buf;       /* the start of a frame that straddles feeds */
    size_t len;         /* bytes in buf */
    size_t alloc;       /* bytes allocated for buf */
    size_t need;        /* total_length of the buffered frame once its prelude checked, else 0 */
    size_t max_payload; /* payload cap */
    int err;            /* sticky error, 0 when none */
    const char *why;    /* description of err */
    struct cb_es_message msg;
};

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

static uint64_t rd64(const uint8_t *p)
{
    return ((uint64_t)rd32(p) << 32) | rd32(p + 4);
}

static uint32_t crc_of(const uint8_t *p, size_t len)
{
    /* Frames are capped well under 4 GiB, so one call with a uInt length covers them. */
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

static size_t effective_cap(size_t max_payload)
{
    return (max_payload == 0 || max_payload > CB_ES_MAX_PAYLOAD_LEN) ? CB_ES_MAX_PAYLOAD_LEN
                                                                     : max_payload;
}

/*
 * Checks the 12-byte prelude at |p| and returns the frame's total length in |*total|. The CRC
 * comes first: until it matches, the lengths are noise and must not size anything.
 */
static int check_prelude(const uint8_t *p, size_t max_payload, size_t *total, const char **why)
{
    uint32_t tot = rd32(p), hlen = rd32(p + 4);

    if (crc_of(p, 8) != rd32(p + 8)) {
        *why = "prelude CRC mismatch";
        return AG_EPROTO;
    }
    if (tot < CB_ES_MIN_FRAME) {
        *why = "total_length is shorter than the 16 bytes of prelude and message CRC";
        return AG_EPROTO;
    }
    if (hlen > tot - CB_ES_MIN_FRAME) {
        *why = "headers_length is larger than the frame";
        return AG_EPROTO;
    }
    if (hlen > CB_ES_MAX_HEADERS_LEN) {
        *why = "headers section over 128 KiB";
        return AG_ETOOBIG;
    }
    if ((size_t)(tot - CB_ES_MIN_FRAME - hlen) > effective_cap(max_payload)) {
        *why = "payload over the size limit";
        return AG_ETOOBIG;
    }
    *total = tot;
    return 0;
}

static int decode_headers(const uint8_t *p, const uint8_t *end, struct cb_es_message *out,
                          const char **why)
{
    while (p < end) {
        if (out->n_headers == CB_ES_MAX_HEADERS) {
            *why = "too many headers in one message";
            return AG_ETOOBIG;
        }
        struct cb_es_header *h = &out->headers[out->n_headers];
        size_t name_len = *p++;
        if (name_len == 0) {
            *why = "header with an empty name";
            return AG_EPROTO;
        }
        if ((size_t)(end - p) < name_len + 1) {
            *why = "header name or type runs past the headers section";
            return AG_EPROTO;
        }
        h->name = (const char *)p;
        h->name_len = name_len;
        p += name_len;
        uint8_t type = *p++;
        size_t avail = (size_t)(end - p), need = 0;
        h->num = 0;
        h->bytes = NULL;
        h->bytes_len = 0;
        switch (type) {
        case CB_ES_TRUE:
        case CB_ES_FALSE:
            h->num = type == CB_ES_TRUE;
            break;
        case CB_ES_BYTE:
            need = 1;
            if (avail >= need) {
                h->num = (int8_t)p[0];
            }
            break;
        case CB_ES_SHORT:
            need = 2;
            if (avail >= need) {
                h->num = (int16_t)rd16(p);
            }
            break;
        case CB_ES_INT:
            need = 4;
            if (avail >= need) {
                h->num = (int32_t)rd32(p);
            }
            break;
        case CB_ES_LONG:
        case CB_ES_TIMESTAMP:
            need = 8;
            if (avail >= need) {
                h->num = (int64_t)rd64(p);
            }
            break;
        case CB_ES_BYTES:
        case CB_ES_STRING:
            if (avail < 2) {
                *why = "header value length runs past the headers section";
                return AG_EPROTO;
            }
            h->bytes_len = rd16(p);
            if (h->bytes_len > CB_ES_MAX_VALUE_LEN) {
                *why = "header value over 32767 bytes";
                return AG_ETOOBIG;
            }
            p += 2;
            avail -= 2;
            need = h->bytes_len;
            h->bytes = p;
            break;
        case CB_ES_UUID:
            need = 16;
            h->bytes = p;
            h->bytes_len = 16;
            break;
        default:
            *why = "unknown header value type (not 0..9)";
            return AG_EPROTO;
        }
        if (avail < need) {
            *why = "header value runs past the headers section";
            return AG_EPROTO;
        }
        h->type = (enum cb_es_type)type;
        p += need;
        out->n_headers++;
    }
    return 0;
}

int cb_es_message_decode(const uint8_t *frame, size_t len, size_t max_payload,
                         struct cb_es_message *out, const char **why)
{
    const char *dummy = NULL;
    size_t total = 0;
    int rc;

    if (why == NULL) {
        why = &dummy;
    }
    out->n_headers = 0;
    out->payload = NULL;
    out->payload_len = 0;
    if (len < CB_ES_MIN_FRAME) {
        *why = "frame shorter than 16 bytes";
        return AG_EPROTO;
    }
    rc = check_prelude(frame, max_payload, &total, why);
    if (rc != 0) {
        return rc;
    }
    if (total != len) {
        *why = "total_length does not match the frame";
        return AG_EPROTO;
    }
    if (crc_of(frame, len - 4) != rd32(frame + len - 4)) {
        *why = "message CRC mismatch";
        return AG_EPROTO;
    }
    size_t hlen = rd32(frame + 4);
    rc = decode_headers(frame + CB_ES_PRELUDE_LEN, frame + CB_ES_PRELUDE_LEN + hlen, out, why);
    if (rc != 0) {
        out->n_headers = 0;
        return rc;
    }
    out->payload = frame + CB_ES_PRELUDE_LEN + hlen;
    out->payload_len = len - CB_ES_MIN_FRAME - hlen;
    return 0;
}

const struct cb_es_header *cb_es_message_header(const struct cb_es_message *msg,
                                                const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < msg->n_headers; i++) {
        const struct cb_es_header *h = &msg->headers[i];
        if (h->name_len == n && memcmp(h->name, name, n) == 0) {
            return h;
        }
    }
    return NULL;
}

int cb_es_message_header_is(const struct cb_es_message *msg, const char *name,
                            const char *value)
{
    const struct cb_es_header *h = cb_es_message_header(msg, name);
    size_t n = strlen(value);
    return h != NULL && h->type == CB_ES_STRING && h->bytes_len == n &&
           memcmp(h->bytes, value, n) == 0;
}

struct cb_es_decoder *cb_es_decoder_new(size_t max_payload)
{
    struct cb_es_decoder *d = ag_calloc(1, sizeof(*d));
    if (d != NULL) {
        d->max_payload = effective_cap(max_payload);
        d->why = "";
    }
    return d;
}

void cb_es_decoder_free(struct cb_es_decoder *d)
{
    if (d == NULL) {
        return;
    }
    ag_free(d->buf);
    ag_free(d);
}

const char *cb_es_decoder_error(const struct cb_es_decoder *d)
{
    return d->why;
}

static int fail(struct cb_es_decoder *d, int rc, const char *why)
{
    d->err = rc;
    d->why = why;
    return rc;
}

/* Appends to the straddle buffer, which grows by doubling up to the frame being assembled. */
static int stash(struct cb_es_decoder *d, const uint8_t *p, size_t n)
{
    if (d->len + n > d->alloc) {
        size_t want = d->alloc ? d->alloc * 2 : 256;
        if (want < d->len + n) {
            want = d->len + n;
        }
        uint8_t *nb = ag_realloc(d->buf, want);
        if (nb == NULL) {
            return fail(d, AG_ENOMEM, "out of memory");
        }
        d->buf = nb;
        d->alloc = want;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return 0;
}

static int deliver(struct cb_es_decoder *d, const uint8_t *frame, size_t len,
                   cb_es_message_fn *fn, void *ud)
{
    const char *why = NULL;
    int rc = cb_es_message_decode(frame, len, d->max_payload, &d->msg, &why);
    if (rc != 0) {
        return fail(d, rc, why);
    }
    rc = fn(ud, &d->msg);
    if (rc != 0) {
        return fail(d, rc, "the message handler stopped decoding");
    }
    return 0;
}

int cb_es_decoder_feed(struct cb_es_decoder *d, const uint8_t *data, size_t len,
                       cb_es_message_fn *fn, void *ud)
{
    size_t off = 0, total = 0;
    const char *why = NULL;
    int count = 0, rc;

    if (d->err != 0) {
        return d->err;
    }
    /* First finish a frame left over from earlier feeds. */
    while (d->len > 0 && off < len) {
        size_t want = d->need ? d->need : CB_ES_PRELUDE_LEN;
        size_t take = want - d->len < len - off ? want - d->len : len - off;
        rc = stash(d, data + off, take);
        if (rc != 0) {
            return rc;
        }
        off += take;
        if (d->len < want) {
            return count;
        }
        if (d->need == 0) {
            rc = check_prelude(d->buf, d->max_payload, &total, &why);
            if (rc != 0) {
                return fail(d, rc, why);
            }
            d->need = total;
            continue;
        }
        rc = deliver(d, d->buf, d->len, fn, ud);
        if (rc != 0) {
            return rc;
        }
        d->len = 0;
        d->need = 0;
        count++;
    }
    /* Then whole frames straight from the caller's bytes, and stash a partial tail. */
    while (off < len) {
        size_t avail = len - off;
        if (avail < CB_ES_PRELUDE_LEN) {
            rc = stash(d, data + off, avail);
            return rc != 0 ? rc : count;
        }
        rc = check_prelude(data + off, d->max_payload, &total, &why);
        if (rc != 0) {
            return fail(d, rc, why);
        }
        if (avail < total) {
            d->need = total;
            rc = stash(d, data + off, avail);
            return rc != 0 ? rc : count;
        }
        rc = deliver(d, data + off, total, fn, ud);
        if (rc != 0) {
            return rc;
        }
        off += total;
        count++;
    }
    return count;
}

int cb_es_decoder_finish(struct cb_es_decoder *d)
{
    if (d->err != 0) {
        return d->err;
    }
    if (d->len > 0) {
        return fail(d, AG_EPROTO, "the stream ended inside a frame (truncated)");
    }
    return 0;
}
