/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the event-stream decoder: the first byte picks a chunk size (0: all at once) and the
 * rest is the stream. The same bytes are also decoded whole and byte by byte, and the three runs
 * must agree on the messages delivered and on the error, whatever the split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cb_eventstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
    int n;
    uint32_t sum; /* a digest of what was delivered, to compare runs */
};

static int on_msg(void *ud, const struct cb_es_message *m)
{
    struct tally *t = ud;
    t->n++;
    for (size_t i = 0; i < m->payload_len; i++) {
        t->sum = t->sum * 31u + m->payload[i];
    }
    for (size_t i = 0; i < m->n_headers; i++) {
        const struct cb_es_header *h = &m->headers[i];
        t->sum = t->sum * 31u + (uint32_t)h->type + (uint32_t)h->name_len + (uint32_t)h->num +
                 (uint32_t)h->bytes_len;
        if (h->bytes_len > 0) {
            t->sum += h->bytes[0] + h->bytes[h->bytes_len - 1];
        }
    }
    return 0;
}

/* Runs the decoder over |data| in chunks of |chunk| (0: one feed); returns the final code. */
static int run(const uint8_t *data, size_t size, size_t chunk, struct tally *t)
{
    /* A small payload cap so the fuzzer reaches the size checks. */
    struct cb_es_decoder *d = cb_es_decoder_new(4096);
    int rc = 0;
    if (d == NULL) {
        return AG_ENOMEM;
    }
    if (chunk == 0) {
        chunk = size ? size : 1;
    }
    for (size_t off = 0; off < size && rc >= 0; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = cb_es_decoder_feed(d, data + off, n, on_msg, t);
    }
    if (rc >= 0) {
        rc = cb_es_decoder_finish(d);
    }
    cb_es_decoder_free(d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t chunk = data[0];
    data++;
    size--;
    struct tally a = {0}, b = {0}, c = {0};
    int ra = run(data, size, chunk, &a);
    int rb = run(data, size, 0, &b);
    int rc = size <= 4096 ? run(data, size, 1, &c) : rb;
    if (size > 4096) {
        c = b;
    }
    if (ra != rb || rb != rc || a.n != b.n || b.n != c.n || a.sum != b.sum || b.sum != c.sum) {
        abort();
    }
    /* One whole frame through the single-message API agrees with the stream decoder. */
    struct cb_es_message m;
    if (cb_es_message_decode(data, size, 4096, &m, NULL) == 0 && b.n != 1) {
        abort();
    }
    return 0;
}
