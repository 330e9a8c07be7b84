/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event-stream decoder against the golden ConverseStream frames of
 * ../shared/testdata/eventstream (read in place through $CB_EVENTSTREAM_DATA, never copied), and
 * against frames built here: every header type, each cap, corrupted CRCs and truncations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ag_mem.h"
#include "ag_test.h"
#include "cb_eventstream.h"
#include "config.h"

#define MAX_MSGS 16

struct seen {
    int n;
    char event[MAX_MSGS][64];
    char mtype[MAX_MSGS][32];
    char payload[MAX_MSGS][256];
    size_t payload_len[MAX_MSGS];
    size_t n_headers[MAX_MSGS];
    int stop_at; /* return AG_EUPSTREAM on this message (1-based), 0 = never */
};

static void copy_str(char *dst, size_t cap, const struct cb_es_header *h)
{
    size_t n = 0;
    if (h != NULL && h->type == CB_ES_STRING) {
        n = h->bytes_len < cap - 1 ? h->bytes_len : cap - 1;
        memcpy(dst, h->bytes, n);
    }
    dst[n] = '\0';
}

static int on_msg(void *ud, const struct cb_es_message *m)
{
    struct seen *s = ud;
    if (s->n >= MAX_MSGS) {
        return AG_EINVAL;
    }
    const struct cb_es_header *ev = cb_es_message_header(m, ":event-type");
    if (ev == NULL) {
        ev = cb_es_message_header(m, ":exception-type");
    }
    copy_str(s->event[s->n], sizeof(s->event[0]), ev);
    copy_str(s->mtype[s->n], sizeof(s->mtype[0]), cb_es_message_header(m, ":message-type"));
    size_t n = m->payload_len < 255 ? m->payload_len : 255;
    memcpy(s->payload[s->n], m->payload, n);
    s->payload[s->n][n] = '\0';
    s->payload_len[s->n] = m->payload_len;
    s->n_headers[s->n] = m->n_headers;
    s->n++;
    if (s->stop_at == s->n) {
        return AG_EUPSTREAM;
    }
    return 0;
}

static uint8_t *load(const char *name, size_t *len)
{
    const char *dir = getenv("CB_EVENTSTREAM_DATA");
    char path[1024];
    uint8_t *data = NULL;
    if (dir == NULL) {
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    data = ag_malloc(4096);
    *len = data ? fread(data, 1, 4096, f) : 0;
    fclose(f);
    return data;
}

static const char *ok_events[6] = {"messageStart",     "contentBlockDelta", "contentBlockDelta",
                                   "contentBlockStop", "messageStop",       "metadata"};
static const char *ok_payloads[6] = {
    "{\"p\":\"abcd\",\"role\":\"assistant\"}",
    "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hello\"},\"p\":\"abcdefghij\"}",
    "{\"contentBlockIndex\":0,\"delta\":{\"text\":\", w\xc3\xb6rld \xe2\x9c\x93\"},\"p\":\"ab\"}",
    "{\"contentBlockIndex\":0,\"p\":\"abcdefgh\"}",
    "{\"p\":\"abcdef\",\"stopReason\":\"end_turn\"}",
    ("{\"metrics\":{\"latencyMs\":412},\"p\":\"abc\",\"usage\":{\"inputTokens\":12,"
     "\"outputTokens\":5,\"totalTokens\":17}}"),
};

/* Returns 1 when |s| holds exactly the six golden events of converse-stream-ok.bin. */
static int is_ok_stream(const struct seen *s)
{
    if (s->n != 6) {
        return 0;
    }
    for (int i = 0; i < 6; i++) {
        if (strcmp(s->event[i], ok_events[i]) != 0 || strcmp(s->mtype[i], "event") != 0 ||
            strcmp(s->payload[i], ok_payloads[i]) != 0 ||
            s->payload_len[i] != strlen(ok_payloads[i]) || s->n_headers[i] != 3) {
            return 0;
        }
    }
    return 1;
}

static void test_golden_ok_whole(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    ASSERT_EQ(len, 933);
    /* The first prelude as the README gives it. */
    ASSERT_EQ(data[3], 129);
    ASSERT_EQ(data[7], 82);
    ASSERT_UEQ(((uint32_t)data[8] << 24 | (uint32_t)data[9] << 16 | data[10] << 8 | data[11]),
               0x6cc17693u);
    struct cb_es_decoder *d = cb_es_decoder_new(0);
    struct seen s = {0};
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(cb_es_decoder_feed(d, data, len, on_msg, &s), 6);
    ASSERT_OK(cb_es_decoder_finish(d));
    ASSERT(is_ok_stream(&s));
    ASSERT_STREQ(cb_es_decoder_error(d), "");
    cb_es_decoder_free(d);
    ag_free(data);
}

static void test_golden_utf8_delta(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    struct cb_es_decoder *d = cb_es_decoder_new(0);
    struct seen s = {0};
    ASSERT_EQ(cb_es_decoder_feed(d, data, len, on_msg, &s), 6);
    /* ö is C3 B6 and ✓ is E2 9C 93: the delta's bytes arrive unchanged. */
    ASSERT_STRCONTAINS(s.payload[2], "\"text\":\", w\xc3\xb6rld \xe2\x9c\x93\"");
    ASSERT_EQ(s.payload_len[2], 64);
    cb_es_decoder_free(d);
    ag_free(data);
}

static void test_golden_header_types(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    struct cb_es_message m;
    const char *why = NULL;
    ASSERT_NOT_NULL(data);
    ASSERT_OK(cb_es_message_decode(data, 129, 0, &m, &why));
    ASSERT_EQ(m.n_headers, 3);
    for (size_t i = 0; i < m.n_headers; i++) {
        ASSERT_EQ(m.headers[i].type, CB_ES_STRING);
    }
    ASSERT(cb_es_message_header_is(&m, ":content-type", "application/json"));
    ASSERT(cb_es_message_header_is(&m, ":message-type", "event"));
    ASSERT(!cb_es_message_header_is(&m, ":message-type", "exception"));
    ASSERT_NULL(cb_es_message_header(&m, ":exception-type"));
    ASSERT_EQ(m.payload_len, 129 - 82 - 16);
    /* One byte short or long of the frame is not a frame. */
    ASSERT_EQ(cb_es_message_decode(data, 128, 0, &m, &why), AG_EPROTO);
    ASSERT_STRCONTAINS(why, "total_length");
    ag_free(data);
}

static void test_golden_throttled(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-throttled.bin", &len);
    ASSERT_NOT_NULL(data);
    ASSERT_EQ(len, 307);
    struct cb_es_decoder *d = cb_es_decoder_new(0);
    struct seen s = {0};
    ASSERT_EQ(cb_es_decoder_feed(d, data, len, on_msg, &s), 2);
    ASSERT_OK(cb_es_decoder_finish(d));
    ASSERT_STREQ(s.event[0], "messageStart");
    ASSERT_STREQ(s.mtype[0], "event");
    ASSERT_STREQ(s.event[1], "throttlingException");
    ASSERT_STREQ(s.mtype[1], "exception");
    ASSERT_STREQ(s.payload[1],
                 "{\"message\":\"Too many requests, please wait before trying again.\"}");
    cb_es_decoder_free(d);
    ag_free(data);
}

static void test_byte_by_byte(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    struct cb_es_decoder *d = cb_es_decoder_new(0);
    struct seen s = {0};
    int total = 0;
    for (size_t i = 0; i < len; i++) {
        int rc = cb_es_decoder_feed(d, data + i, 1, on_msg, &s);
        ASSERT(rc >= 0);
        total += rc;
    }
    ASSERT_EQ(total, 6);
    ASSERT_OK(cb_es_decoder_finish(d));
    ASSERT(is_ok_stream(&s));
    cb_es_decoder_free(d);
    ag_free(data);
}

static void test_every_split(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    for (size_t k = 0; k <= len; k++) {
        for (size_t j = k; j <= len; j += 97) {
            struct cb_es_decoder *d = cb_es_decoder_new(0);
            struct seen s = {0};
            int a = cb_es_decoder_feed(d, data, k, on_msg, &s);
            int b = cb_es_decoder_feed(d, data + k, j - k, on_msg, &s);
            int c = cb_es_decoder_feed(d, data + j, len - j, on_msg, &s);
            ASSERT(a >= 0 && b >= 0 && c >= 0);
            ASSERT_EQ(a + b + c, 6);
            ASSERT_OK(cb_es_decoder_finish(d));
            if (!is_ok_stream(&s)) {
                cb_es_decoder_free(d);
                ag_free(data);
                AG_TEST_FAIL_("split at %zu/%zu gave other messages", k, j);
            }
            cb_es_decoder_free(d);
        }
    }
    ag_free(data);
}

static void test_corrupt_prelude_crc(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    data[10] ^= 0x01;
    struct cb_es_decoder *d = cb_es_decoder_new(0);
    struct seen s = {0};
    ASSERT_EQ(cb_es_decoder_feed(d, data, len, on_msg, &s), AG_EPROTO);
    ASSERT_EQ(s.n, 0);
    ASSERT_STREQ(cb_es_decoder_error(d), "prelude CRC mismatch");
    /* Sticky: the stream is unusable after an error. */
    data[10] ^= 0x01;
    ASSERT_EQ(cb_es_decoder_feed(d, data, len, on_msg, &s), AG_EPROTO);
    ASSERT_EQ(cb_es_decoder_finish(d), AG_EPROTO);
    cb_es_decoder_free(d);

    /* A huge total_length with a bad prelude CRC must not be believed (nor allocated). */
    data[0] = 0x7f;
    d = cb_es_decoder_new(0);
    ASSERT_EQ(cb_es_decoder_feed(d, data, 12, on_msg, &s), AG_EPROTO);
    ASSERT_STREQ(cb_es_decoder_error(d), "prelude CRC mismatch");
    cb_es_decoder_free(d);
    ag_free(data);
}

static void test_corrupt_message_crc(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    /* Third message: the first two are delivered, then the payload change is caught. */
    size_t tot1 = data[3], tot2 = data[tot1 + 3], third = tot1 + tot2;
    size_t tot3 = data[third + 3];
    ASSERT_EQ(tot1, 129);
    data[third + tot3 - 10] ^= 0x20;
    struct cb_es_decoder *d = cb_es_decoder_new(0);
    struct seen s = {0};
    ASSERT_EQ(cb_es_decoder_feed(d, data, len, on_msg, &s), AG_EPROTO);
    ASSERT_EQ(s.n, 2);
    ASSERT_STREQ(cb_es_decoder_error(d), "message CRC mismatch");
    cb_es_decoder_free(d);
    ag_free(data);
}

/* CRC-32 catches every single-bit error: no flipped bit anywhere may yield all six messages. */
static void test_every_bit_flip(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            data[i] ^= (uint8_t)(1u << bit);
            struct cb_es_decoder *d = cb_es_decoder_new(0);
            struct seen s = {0};
            int rc = cb_es_decoder_feed(d, data, len, on_msg, &s);
            int fin = rc >= 0 ? cb_es_decoder_finish(d) : rc;
            cb_es_decoder_free(d);
            data[i] ^= (uint8_t)(1u << bit);
            if (rc >= 0 && fin == 0) {
                ag_free(data);
                AG_TEST_FAIL_("flipping bit %d of byte %zu went unnoticed", bit, i);
            }
            if (s.n == 6) {
                ag_free(data);
                AG_TEST_FAIL_("flipping bit %d of byte %zu still gave 6 messages", bit, i);
            }
        }
    }
    ag_free(data);
}

static void test_truncated(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    /* Frame boundaries of the golden stream, read from its preludes. */
    size_t bounds[8], nb = 0;
    for (size_t off = 0; off < len && nb < 8;) {
        size_t tot = (size_t)data[off] << 24 | (size_t)data[off + 1] << 16 |
                     (size_t)data[off + 2] << 8 | data[off + 3];
        off += tot;
        bounds[nb++] = off;
    }
    ASSERT_EQ(nb, 6);
    ASSERT_EQ(bounds[5], len);
    for (size_t cut = 1; cut < len; cut++) {
        struct cb_es_decoder *d = cb_es_decoder_new(0);
        struct seen s = {0};
        int whole = 0;
        for (size_t b = 0; b < nb; b++) {
            whole += bounds[b] <= cut;
        }
        int at_bound = 0;
        for (size_t b = 0; b < nb; b++) {
            at_bound |= bounds[b] == cut;
        }
        ASSERT_EQ(cb_es_decoder_feed(d, data, cut, on_msg, &s), whole);
        int fin = cb_es_decoder_finish(d);
        if (at_bound) {
            ASSERT_EQ(fin, 0);
        } else {
            ASSERT_EQ(fin, AG_EPROTO);
            ASSERT_STRCONTAINS(cb_es_decoder_error(d), "truncated");
        }
        cb_es_decoder_free(d);
    }
    ag_free(data);
}

/* ---- frames built here --------------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Builds a frame around |hdr| and |payload| into |out| (big enough); returns its length. */
static size_t build(uint8_t *out, const uint8_t *hdr, size_t hlen, const void *payload,
                    size_t plen)
{
    size_t tot = 16 + hlen + plen;
    put32(out, (uint32_t)tot);
    put32(out + 4, (uint32_t)hlen);
    put32(out + 8, (uint32_t)crc32(0, out, 8));
    if (hlen > 0) {
        memcpy(out + 12, hdr, hlen);
    }
    if (plen > 0) {
        memcpy(out + 12 + hlen, payload, plen);
    }
    put32(out + tot - 4, (uint32_t)crc32(0, out, (uInt)(tot - 4)));
    return tot;
}

static void test_all_header_types(void)
{
    static const uint8_t hdr[] = {
        1, 't', 0,                                    /* true */
        1, 'f', 1,                                    /* false */
        1, 'b', 2, 0xff,                              /* int8 -1 */
        1, 's', 3, 0x80, 0x00,                        /* int16 -32768 */
        1, 'i', 4, 0x7f, 0xff, 0xff, 0xff,            /* int32 max */
        1, 'l', 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* int64 -2 */
        1, 'y', 6, 0, 3, 0x00, 0x01, 0x02,            /* bytes */
        1, 'S', 7, 0, 2, 'h', 'i',                    /* string */
        1, 'T', 8, 0, 0, 0x01, 0x8b, 0xcd, 0x1b, 0x2a, 0x00, /* timestamp */
        1, 'u', 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, /* uuid */
    };
    uint8_t frame[256];
    size_t n = build(frame, hdr, sizeof(hdr), "xyz", 3);
    struct cb_es_message m;
    const char *why = NULL;
    ASSERT_OK(cb_es_message_decode(frame, n, 0, &m, &why));
    ASSERT_EQ(m.n_headers, 10);
    ASSERT_EQ(cb_es_message_header(&m, "t")->num, 1);
    ASSERT_EQ(cb_es_message_header(&m, "f")->num, 0);
    ASSERT_EQ(cb_es_message_header(&m, "f")->type, CB_ES_FALSE);
    ASSERT_EQ(cb_es_message_header(&m, "b")->num, -1);
    ASSERT_EQ(cb_es_message_header(&m, "s")->num, -32768);
    ASSERT_EQ(cb_es_message_header(&m, "i")->num, 2147483647);
    ASSERT_EQ(cb_es_message_header(&m, "l")->num, -2);
    ASSERT_EQ(cb_es_message_header(&m, "y")->bytes_len, 3);
    ASSERT_EQ(cb_es_message_header(&m, "y")->bytes[2], 2);
    ASSERT(cb_es_message_header_is(&m, "S", "hi"));
    ASSERT_EQ(cb_es_message_header(&m, "T")->num, 0x018bcd1b2a00LL);
    ASSERT_EQ(cb_es_message_header(&m, "T")->type, CB_ES_TIMESTAMP);
    ASSERT_EQ(cb_es_message_header(&m, "u")->bytes_len, 16);
    ASSERT_EQ(cb_es_message_header(&m, "u")->bytes[15], 15);
    ASSERT_EQ(m.payload_len, 3);
    ASSERT_MEMEQ(m.payload, "xyz", 3);

    /* No headers and no payload: the smallest frame. */
    n = build(frame, NULL, 0, NULL, 0);
    ASSERT_EQ(n, 16);
    ASSERT_OK(cb_es_message_decode(frame, n, 0, &m, &why));
    ASSERT_EQ(m.n_headers, 0);
    ASSERT_EQ(m.payload_len, 0);
}

static void expect_bad(const uint8_t *hdr, size_t hlen, int want, const char *why_part)
{
    uint8_t frame[256];
    size_t n = build(frame, hdr, hlen, "{}", 2);
    struct cb_es_message m;
    const char *why = NULL;
    ASSERT_EQ(cb_es_message_decode(frame, n, 0, &m, &why), want);
    ASSERT_STRCONTAINS(why, why_part);
    struct cb_es_decoder *d = cb_es_decoder_new(0);
    struct seen s = {0};
    ASSERT_EQ(cb_es_decoder_feed(d, frame, n, on_msg, &s), want);
    ASSERT_EQ(s.n, 0);
    ASSERT_STRCONTAINS(cb_es_decoder_error(d), why_part);
    cb_es_decoder_free(d);
}

static void test_bad_headers(void)
{
    static const uint8_t type10[] = {1, 'x', 10};
    static const uint8_t empty_name[] = {0, 7, 0, 0};
    static const uint8_t name_past[] = {5, 'a', 'b'};
    static const uint8_t no_type[] = {1, 'a'};
    static const uint8_t int_short[] = {1, 'a', 4, 0, 0};
    static const uint8_t str_past[] = {1, 'a', 7, 0, 9, 'a'};
    static const uint8_t str_nolen[] = {1, 'a', 7, 0};
    static const uint8_t uuid_short[] = {1, 'a', 9, 1, 2, 3};
    static const uint8_t too_long[] = {1, 'a', 6, 0x80, 0x00};
    expect_bad(type10, sizeof(type10), AG_EPROTO, "unknown header value type");
    expect_bad(empty_name, sizeof(empty_name), AG_EPROTO, "empty name");
    expect_bad(name_past, sizeof(name_past), AG_EPROTO, "runs past");
    expect_bad(no_type, sizeof(no_type), AG_EPROTO, "runs past");
    expect_bad(int_short, sizeof(int_short), AG_EPROTO, "runs past");
    expect_bad(str_past, sizeof(str_past), AG_EPROTO, "runs past");
    expect_bad(str_nolen, sizeof(str_nolen), AG_EPROTO, "runs past");
    expect_bad(uuid_short, sizeof(uuid_short), AG_EPROTO, "runs past");
    expect_bad(too_long, sizeof(too_long), AG_ETOOBIG, "32767");
}

static void test_too_many_headers(void)
{
    uint8_t hdr[3 * (CB_ES_MAX_HEADERS + 1)];
    for (size_t i = 0; i <= CB_ES_MAX_HEADERS; i++) {
        hdr[3 * i] = 1;
        hdr[3 * i + 1] = 'h';
        hdr[3 * i + 2] = 0;
    }
    expect_bad(hdr, sizeof(hdr), AG_ETOOBIG, "too many headers");
}

/* A prelude with a valid CRC and the given lengths. */
static void prelude(uint8_t *p, uint32_t tot, uint32_t hlen)
{
    put32(p, tot);
    put32(p + 4, hlen);
    put32(p + 8, (uint32_t)crc32(0, p, 8));
}

static void expect_prelude(uint32_t tot, uint32_t hlen, size_t cap, int want, const char *part)
{
    uint8_t p[12];
    prelude(p, tot, hlen);
    struct cb_es_decoder *d = cb_es_decoder_new(cap);
    struct seen s = {0};
    /* Fed in two pieces, so the check also runs on the straddle path. */
    ASSERT_EQ(cb_es_decoder_feed(d, p, 5, on_msg, &s), 0);
    ASSERT_EQ(cb_es_decoder_feed(d, p + 5, 7, on_msg, &s), want);
    ASSERT_STRCONTAINS(cb_es_decoder_error(d), part);
    cb_es_decoder_free(d);
    d = cb_es_decoder_new(cap);
    ASSERT_EQ(cb_es_decoder_feed(d, p, 12, on_msg, &s), want);
    cb_es_decoder_free(d);
}

static void test_prelude_limits(void)
{
    expect_prelude(15, 0, 0, AG_EPROTO, "shorter than the 16 bytes");
    expect_prelude(0, 0, 0, AG_EPROTO, "shorter than the 16 bytes");
    expect_prelude(20, 5, 0, AG_EPROTO, "headers_length is larger");
    expect_prelude(0xffffffffu, 0x00100000u, 0, AG_ETOOBIG, "128 KiB");
    expect_prelude(16 + 131073, 131073, 0, AG_ETOOBIG, "128 KiB");
    expect_prelude(16 + 24u * 1024 * 1024 + 1, 0, 0, AG_ETOOBIG, "payload over");
    expect_prelude(16 + 101, 0, 100, AG_ETOOBIG, "payload over");
    /* Exactly at the caps is fine: the decoder waits for the rest. */
    uint8_t p[12];
    prelude(p, 16 + 100, 0);
    struct cb_es_decoder *d = cb_es_decoder_new(100);
    struct seen s = {0};
    ASSERT_EQ(cb_es_decoder_feed(d, p, 12, on_msg, &s), 0);
    ASSERT_EQ(cb_es_decoder_finish(d), AG_EPROTO);
    cb_es_decoder_free(d);
}

static void test_handler_stops(void)
{
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    struct cb_es_decoder *d = cb_es_decoder_new(0);
    struct seen s = {0};
    s.stop_at = 2;
    ASSERT_EQ(cb_es_decoder_feed(d, data, len, on_msg, &s), AG_EUPSTREAM);
    ASSERT_EQ(s.n, 2);
    ASSERT_STRCONTAINS(cb_es_decoder_error(d), "handler");
    cb_es_decoder_free(d);
    ag_free(data);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    size_t len = 0;
    uint8_t *data = load("converse-stream-ok.bin", &len);
    ASSERT_NOT_NULL(data);
    for (long n = 1; n < 64; n++) {
        ag_mem_fail_after(n);
        struct cb_es_decoder *d = cb_es_decoder_new(0);
        struct seen s = {0};
        int rc = 0;
        for (size_t i = 0; d != NULL && i < len && rc >= 0; i += 50) {
            rc = cb_es_decoder_feed(d, data + i, len - i < 50 ? len - i : 50, on_msg, &s);
        }
        ag_mem_fail_after(0);
        ASSERT(d == NULL || rc == AG_ENOMEM || (rc >= 0 && cb_es_decoder_finish(d) == 0));
        cb_es_decoder_free(d);
    }
    ag_free(data);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_golden_ok_whole), AG_TEST_CASE(test_golden_utf8_delta),
             AG_TEST_CASE(test_golden_header_types), AG_TEST_CASE(test_golden_throttled),
             AG_TEST_CASE(test_byte_by_byte), AG_TEST_CASE(test_every_split),
             AG_TEST_CASE(test_corrupt_prelude_crc), AG_TEST_CASE(test_corrupt_message_crc),
             AG_TEST_CASE(test_every_bit_flip), AG_TEST_CASE(test_truncated),
             AG_TEST_CASE(test_all_header_types), AG_TEST_CASE(test_bad_headers),
             AG_TEST_CASE(test_too_many_headers), AG_TEST_CASE(test_prelude_limits),
             AG_TEST_CASE(test_handler_stops), AG_TEST_CASE(test_failmalloc))
