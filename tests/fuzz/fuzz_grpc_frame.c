/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes ag_grpc_frame: the input's first bytes choose the message cap and the sizes of the
 * chunks the rest is fed in, so prefixes and messages are cut everywhere. The decoder must never
 * consume more than it is given, must return messages within the cap with flag 0 or 1, must keep
 * its errors sticky, and must decode the same messages whatever the chunking (checked against a
 * second pass in one piece, and against a third pass that stops at every prefix end the way
 * the server does to reserve buffer budget, where ag_grpc_frame_prefix_left() must say exactly
 * how many bytes complete the prefix). The header codecs get the raw input too. Seeds:
 * corpus/grpc_frame/ (written by make_grpc_seeds.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_grpc_frame.h"
#include "ag_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 64

struct seen {
    size_t n;
    size_t total;  /* bytes of all messages */
    uint32_t hash; /* FNV-1a over flags, lengths and bytes, in order */
    int err;       /* final sticky error, or 0 */
    int end;       /* ag_grpc_frame_end() at the end */
};

static void die(const char *what)
{
    fprintf(stderr, "fuzz_grpc_frame: %s\n", what);
    abort();
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

/* Feeds |in| in chunks whose sizes cycle through |sizes| (none: one piece); with |at_prefix|,
 * each feed also stops where the current length prefix ends. */
static void run(const uint8_t *in, size_t len, size_t max_len, const uint8_t *sizes, size_t nsizes,
                int at_prefix, struct seen *out)
{
    struct ag_grpc_frame *dec = ag_grpc_frame_new(max_len);
    size_t at = 0, k = 0;
    memset(out, 0, sizeof(*out));
    out->hash = 2166136261u;
    if (dec == NULL) {
        die("out of memory");
    }
    while (at < len) {
        size_t chunk = nsizes ? (size_t)(sizes[k++ % nsizes] % 37) : len - at;
        if (chunk == 0) {
            /* An empty DATA frame: consumes nothing, changes nothing. */
            ssize_t n = ag_grpc_frame_feed(dec, in + at, 0);
            if (n > 0) {
                die("an empty feed consumed bytes");
            }
            chunk = 1;
        }
        if (chunk > len - at) {
            chunk = len - at;
        }
        size_t fed = 0;
        /* Drain the chunk: feed, take a message, feed the rest. */
        do {
            size_t left = ag_grpc_frame_prefix_left(dec);
            size_t piece = chunk - fed;
            if (left > AG_GRPC_FRAME_PREFIX) {
                die("prefix_left over the prefix size");
            }
            if (at_prefix && left > 0 && left < piece) {
                piece = left;
            }
            ssize_t n = ag_grpc_frame_feed(dec, in + at + fed, piece);
            if (n < 0) {
                out->err = (int)n;
                if (ag_grpc_frame_feed(dec, in, len) != n) {
                    die("error not sticky");
                }
                goto done;
            }
            if ((size_t)n > piece) {
                die("consumed more than given");
            }
            if (left > 0 && piece == left) {
                /* Exactly the rest of the prefix: its length is known, no body byte taken. */
                if ((size_t)n != left || ag_grpc_frame_prefix_left(dec) != 0 ||
                    ag_grpc_frame_announced(dec) > max_len) {
                    die("prefix_left did not end the prefix");
                }
            } else if (left > 0 && piece > left) {
                if ((size_t)n < left || ag_grpc_frame_prefix_left(dec) != 0) {
                    die("fed past the prefix, but it is not done");
                }
            } else if (left > 0 && ag_grpc_frame_prefix_left(dec) != left - (size_t)n) {
                die("prefix_left did not count down");
            }
            fed += (size_t)n;
            const uint8_t *msg;
            size_t mlen;
            int flag;
            int rc = ag_grpc_frame_next(dec, &msg, &mlen, &flag);
            if (rc == 0) {
                uint8_t meta[5];
                if (mlen > max_len || (flag != 0 && flag != 1) || msg == NULL) {
                    die("bad message");
                }
                ag_grpc_frame_prefix(meta, flag, (uint32_t)mlen);
                out->hash = fnv(fnv(out->hash, meta, 5), msg, mlen);
                out->n++;
                out->total += mlen;
                if (ag_grpc_frame_count(dec) != out->n) {
                    die("count disagrees");
                }
            } else if (rc != AG_EAGAIN) {
                die("next failed without a feed error");
            } else if ((size_t)n < piece) {
                die("stopped early without a message");
            }
        } while (fed < chunk);
        at += chunk;
    }
done:
    out->end = ag_grpc_frame_end(dec);
    ag_grpc_frame_free(dec);
}

static int same(const struct seen *a, const struct seen *b)
{
    return a->n == b->n && a->total == b->total && a->hash == b->hash && a->err == b->err &&
           a->end == b->end;
}

static void codecs(const uint8_t *data, size_t size)
{
    uint64_t ns;
    char text[64];
    struct ag_buf b;
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    if (ag_grpc_frame_timeout_parse((const char *)data, size < 12 ? size : 12, &ns) != 0 &&
        ns != 0) {
        die("timeout output on failure");
    }
    memcpy(text, data, n);
    text[n] = '\0';
    ag_buf_init(&b, 3 * sizeof(text));
    if (ag_grpc_frame_percent_encode(text, &b) != 0) {
        die("percent-encoding failed");
    }
    for (size_t i = 0; i < b.len; i++) {
        uint8_t c = ag_buf_ptr(&b) != NULL ? ag_buf_ptr(&b)[i] : 0;
        if (c < 0x20 || c > 0x7E) {
            die("percent-encoding left a byte outside 0x20..0x7E");
        }
    }
    ag_buf_cleanup(&b);
    ag_buf_init(&b, 2 * size + 4);
    if (ag_grpc_frame_base64(data, size, &b) != 0 || b.len != (size * 4 + 2) / 3) {
        die("base64 length");
    }
    ag_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen chunked, whole, prefixed;
    if (size < 4) {
        return 0;
    }
    size_t max_len = (size_t)data[0] | (size_t)data[1] << 8;
    const uint8_t *sizes = data + 2;
    run(data + 4, size - 4, max_len, sizes, 2, 0, &chunked);
    run(data + 4, size - 4, max_len, NULL, 0, 0, &whole);
    run(data + 4, size - 4, max_len, sizes, 2, 1, &prefixed);
    if (!same(&chunked, &whole) || !same(&prefixed, &whole)) {
        die("chunking changed the result");
    }
    codecs(data, size);
    return 0;
}
