/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gRPC's length-prefixed message framing, decoded incrementally from DATA payloads that may cut
 * a prefix or a message anywhere, plus the header codecs of the gRPC server (grpc-timeout,
 * grpc-message, "-bin" base64). Pure functions over buffers: ag_grpc.c does the I/O.
 */
#include "ag_grpc_frame.h"
#include "ag_mem.h"

#include <string.h>

enum frame_state {
    ST_PREFIX = 0, /* reading the 5-byte prefix; |have| bytes so far */
    ST_BODY,       /* reading |want| message bytes into |msg| */
    ST_READY,      /* a complete message waits for ag_grpc_frame_next() */
    ST_TAKEN,      /* the message was taken; it stays readable until the next feed */
    ST_ERROR,      /* |err| is sticky */
};

struct ag_grpc_frame {
    size_t max_len;
    enum frame_state state;
    int err;
    uint8_t prefix[AG_GRPC_FRAME_PREFIX];
    size_t have;       /* prefix bytes read */
    uint32_t want;     /* length announced by the prefix */
    int flag;          /* flag byte of the current message */
    struct ag_buf msg; /* capped at |want|: grows only as bytes arrive */
    size_t count;      /* complete messages */
};

/* A zero-length message still gets a non-NULL pointer. */
static const uint8_t empty_msg[1];

struct ag_grpc_frame *ag_grpc_frame_new(size_t max_len)
{
    struct ag_grpc_frame *dec = ag_calloc(1, sizeof(*dec));
    if (dec == NULL) {
        return NULL;
    }
    dec->max_len = max_len;
    dec->state = ST_PREFIX;
    ag_buf_init(&dec->msg, 0);
    return dec;
}

void ag_grpc_frame_free(struct ag_grpc_frame *dec)
{
    if (dec == NULL) {
        return;
    }
    ag_buf_cleanup(&dec->msg);
    ag_free(dec);
}

static ssize_t fail(struct ag_grpc_frame *dec, int err)
{
    dec->state = ST_ERROR;
    dec->err = err;
    ag_buf_cleanup(&dec->msg);
    return err;
}

/* The prefix is complete: check it and get ready for the body. */
static ssize_t prefix_done(struct ag_grpc_frame *dec)
{
    const uint8_t *p = dec->prefix;
    uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    dec->want = len;
    if ((uint64_t)len > (uint64_t)dec->max_len) {
        return fail(dec, AG_ETOOBIG);
    }
    /* A fresh buffer capped at the announced length: memory follows the bytes received, so a
     * prefix announcing 4 MiB costs nothing until the client actually sends them. */
    ag_buf_cleanup(&dec->msg);
    ag_buf_init(&dec->msg, len);
    if (len == 0) {
        dec->state = ST_READY;
        dec->count++;
    } else {
        dec->state = ST_BODY;
    }
    return 0;
}

ssize_t ag_grpc_frame_feed(struct ag_grpc_frame *dec, const uint8_t *in, size_t len)
{
    size_t used = 0;
    if (dec->state == ST_ERROR) {
        return dec->err;
    }
    if (dec->state == ST_READY || len == 0) {
        return 0;
    }
    if (dec->state == ST_TAKEN) {
        ag_buf_cleanup(&dec->msg);
        dec->state = ST_PREFIX;
        dec->have = 0;
    }
    while (used < len) {
        if (dec->state == ST_PREFIX) {
            if (dec->have == 0) {
                /* Checked on the first byte: no need to wait for the length. */
                if (in[used] != AG_GRPC_FRAME_PLAIN && in[used] != AG_GRPC_FRAME_COMPRESSED) {
                    return fail(dec, AG_EPROTO);
                }
                dec->flag = in[used];
            }
            dec->prefix[dec->have++] = in[used++];
            if (dec->have == AG_GRPC_FRAME_PREFIX) {
                ssize_t rc = prefix_done(dec);
                if (rc < 0) {
                    return rc;
                }
                if (dec->state == ST_READY) {
                    break;
                }
            }
            continue;
        }
        /* ST_BODY */
        size_t need = dec->want - dec->msg.len;
        size_t n = len - used < need ? len - used : need;
        if (ag_buf_add(&dec->msg, in + used, n) != 0) {
            return fail(dec, AG_ENOMEM);
        }
        used += n;
        if (dec->msg.len == dec->want) {
            dec->state = ST_READY;
            dec->count++;
            break;
        }
    }
    return (ssize_t)used;
}

int ag_grpc_frame_next(struct ag_grpc_frame *dec, const uint8_t **msg_out, size_t *len_out,
                       int *flag_out)
{
    if (dec->state == ST_ERROR) {
        return dec->err;
    }
    if (dec->state != ST_READY) {
        return AG_EAGAIN;
    }
    dec->state = ST_TAKEN;
    const uint8_t *p = ag_buf_ptr(&dec->msg);
    *msg_out = p != NULL ? p : empty_msg;
    *len_out = dec->msg.len;
    *flag_out = dec->flag;
    return 0;
}

size_t ag_grpc_frame_count(const struct ag_grpc_frame *dec)
{
    return dec->count;
}

size_t ag_grpc_frame_announced(const struct ag_grpc_frame *dec)
{
    if (dec->state == ST_BODY || dec->state == ST_READY || dec->state == ST_TAKEN ||
        (dec->state == ST_ERROR && dec->err == AG_ETOOBIG)) {
        return dec->want;
    }
    return 0;
}

size_t ag_grpc_frame_prefix_left(const struct ag_grpc_frame *dec)
{
    switch (dec->state) {
    case ST_PREFIX:
        return AG_GRPC_FRAME_PREFIX - dec->have;
    case ST_TAKEN:
        return AG_GRPC_FRAME_PREFIX;
    case ST_BODY:
    case ST_READY:
    case ST_ERROR:
        return 0;
    }
    return 0;
}

int ag_grpc_frame_end(const struct ag_grpc_frame *dec)
{
    switch (dec->state) {
    case ST_ERROR:
        return dec->err;
    case ST_PREFIX:
        return dec->have == 0 ? 0 : AG_EPROTO;
    case ST_BODY:
        return AG_EPROTO;
    case ST_READY:
    case ST_TAKEN:
        return 0;
    }
    return AG_EPROTO;
}

void ag_grpc_frame_prefix(uint8_t out[AG_GRPC_FRAME_PREFIX], int flag, uint32_t len)
{
    out[0] = (uint8_t)flag;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

int ag_grpc_frame_timeout_parse(const char *s, size_t len, uint64_t *ns_out)
{
    uint64_t v = 0, mult;
    *ns_out = 0;
    /* The spec allows at most 8 digits, which keeps the arithmetic below exact. */
    if (len < 2 || len > 9) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return AG_EINVAL;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    switch (s[len - 1]) {
    case 'H':
        mult = 3600ULL * 1000000000ULL;
        break;
    case 'M':
        mult = 60ULL * 1000000000ULL;
        break;
    case 'S':
        mult = 1000000000ULL;
        break;
    case 'm':
        mult = 1000000ULL;
        break;
    case 'u':
        mult = 1000ULL;
        break;
    case 'n':
        mult = 1;
        break;
    default:
        return AG_EINVAL;
    }
    /* 99999999H does not fit in 64 bits of nanoseconds: such a deadline is "never". */
    *ns_out = v > UINT64_MAX / mult ? UINT64_MAX : v * mult;
    return 0;
}

int ag_grpc_frame_percent_encode(const char *msg, struct ag_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)msg; *p != '\0'; p++) {
        int rc;
        if (*p < 0x20 || *p > 0x7E || *p == '%') {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 0x0F]};
            rc = ag_buf_add(out, esc, sizeof(esc));
        } else {
            rc = ag_buf_addc(out, (char)*p);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int ag_grpc_frame_base64(const uint8_t *in, size_t len, struct ag_buf *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t full = len / 3, rest = len % 3;
    size_t olen = full * 4 + (rest ? rest + 1 : 0);
    if (olen == 0) {
        return 0;
    }
    int too_big = out->len > out->cap || olen > out->cap - out->len;
    uint8_t *o = ag_buf_reserve(out, olen);
    if (o == NULL) {
        return too_big ? AG_ETOOBIG : AG_ENOMEM;
    }
    size_t j = 0;
    for (size_t i = 0; i < full * 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        o[j++] = (uint8_t)alphabet[v >> 18];
        o[j++] = (uint8_t)alphabet[(v >> 12) & 63];
        o[j++] = (uint8_t)alphabet[(v >> 6) & 63];
        o[j++] = (uint8_t)alphabet[v & 63];
    }
    if (rest == 1) {
        uint32_t v = (uint32_t)in[full * 3] << 16;
        o[j++] = (uint8_t)alphabet[v >> 18];
        o[j++] = (uint8_t)alphabet[(v >> 12) & 63];
    } else if (rest == 2) {
        uint32_t v = (uint32_t)in[full * 3] << 16 | (uint32_t)in[full * 3 + 1] << 8;
        o[j++] = (uint8_t)alphabet[v >> 18];
        o[j++] = (uint8_t)alphabet[(v >> 12) & 63];
        o[j++] = (uint8_t)alphabet[(v >> 6) & 63];
    }
    ag_buf_commit(out, j);
    return 0;
}
