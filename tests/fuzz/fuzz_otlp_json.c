/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the OTLP/JSON codec: every input is decoded as each of the three Export requests into a
 * capped arena, as the OTLP/HTTP receiver does. Whatever decodes must encode, and the encoding
 * must decode to the same message (same protobuf bytes) and encode to the same text again;
 * anything else aborts. Seeds: corpus/otlp_json/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_mem.h"
#include "ag_otlp_json.h"

/* Per-request memory cap, as a receiver configures it. */
#define FUZZ_JSON_ARENA_CAP (16u * 1024 * 1024)
#define FUZZ_JSON_OUT_CAP   (64u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(enum ag_signal signal, const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_otlp_json (signal %d): %s%s%s\n", (int)signal, what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = ag_malloc(*len + 1);
    if (b == NULL) {
        abort();
    }
    protobuf_c_message_pack(m, b);
    return b;
}

static void one_signal(enum ag_signal signal, const uint8_t *data, size_t size)
{
    char err[512];
    struct ag_arena *a1 = ag_arena_new(FUZZ_JSON_ARENA_CAP);
    struct ag_arena *a2 = ag_arena_new(0);
    ProtobufCMessage *m1 = NULL, *m2 = NULL;
    struct ag_buf j1, j2;
    uint8_t *p1 = NULL, *p2 = NULL;
    size_t l1 = 0, l2 = 0;

    if (a1 == NULL || a2 == NULL) {
        abort();
    }
    ag_buf_init(&j1, FUZZ_JSON_OUT_CAP);
    ag_buf_init(&j2, FUZZ_JSON_OUT_CAP);
    int rc = ag_otlp_json_decode(signal, data, size, a1, &m1, err, sizeof(err));
    if (rc != 0) {
        /* Rejected input: it must say why and leave no message behind. */
        if (m1 != NULL || err[0] == '\0' ||
            (rc != AG_EPROTO && rc != AG_ETOOBIG && rc != AG_ENOMEM)) {
            die(signal, "bad failure report", err);
        }
        goto out;
    }
    if (ag_otlp_json_encode(m1, &j1) != 0) {
        die(signal, "a decoded message does not encode", NULL);
    }
    if (ag_otlp_json_decode(signal, ag_buf_ptr(&j1), j1.len, a2, &m2, err, sizeof(err)) != 0) {
        die(signal, "the encoding does not decode", err);
    }
    p1 = pack(m1, &l1);
    p2 = pack(m2, &l2);
    if (l1 != l2 || memcmp(p1, p2, l1) != 0) {
        die(signal, "the round trip changed the message", ag_buf_str(&j1));
    }
    if (ag_otlp_json_encode(m2, &j2) != 0 || j1.len != j2.len ||
        memcmp(ag_buf_ptr(&j1), ag_buf_ptr(&j2), j1.len) != 0) {
        die(signal, "the encoding is not stable", ag_buf_str(&j1));
    }
out:
    ag_free(p1);
    ag_free(p2);
    ag_buf_cleanup(&j1);
    ag_buf_cleanup(&j2);
    ag_arena_free(a1);
    ag_arena_free(a2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one_signal(AG_SIGNAL_TRACES, data, size);
    one_signal(AG_SIGNAL_METRICS, data, size);
    one_signal(AG_SIGNAL_LOGS, data, size);
    return 0;
}
