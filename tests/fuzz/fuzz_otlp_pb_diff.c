/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Differential fuzzing of otterd's OTLP/protobuf decoder (ag_otlp_pb.c) against protobuf-c's
 * unpack behind ag_otlp_check_depth() (ag_otlp_pb_decode_reference). The first byte picks the
 * signal, the rest is the request body. Both must fail with the same code and message, or both
 * succeed with trees that pack to the same bytes and agree field by field on what packing does
 * not show (has_ flags and oneof cases, which default a string points at, NULL or empty bytes,
 * unknown fields). The body is decoded from a copy that is wiped before the comparison, so a
 * tree that points into the request buffer is caught too.
 * Seeds: corpus/otlp_pb_diff/ (the otlp_pb_* seeds behind a signal byte).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_arena.h"
#include "ag_mem.h"
#include "ag_otlp.h"
#include "ag_otlp_pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIFF_ARENA_CAP (64u * 1024 * 1024)

static void die(const char *what, const char *where)
{
    fprintf(stderr, "fuzz_otlp_pb_diff: %s (%s)\n", what, where);
    abort();
}

static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = ag_malloc(n + 1);
    if (buf == NULL) {
        die("out of memory", "pack");
    }
    if (protobuf_c_message_pack(msg, buf) != n) {
        die("pack wrote a different size than get_packed_size", "pack");
    }
    *len = n;
    return buf;
}

static int same_string(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if ((a == protobuf_c_empty_string) != (b == protobuf_c_empty_string)) {
        return 0;
    }
    return strcmp(a, b) == 0;
}

static int same_bytes(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
    if (a->len != b->len || (a->data == NULL) != (b->data == NULL)) {
        return 0;
    }
    return a->len == 0 || memcmp(a->data, b->data, a->len) == 0;
}

static void compare(const ProtobufCMessage *a, const ProtobufCMessage *b);

/* Compares one value of field |fd| at |pa| and |pb|. */
static void compare_value(const ProtobufCFieldDescriptor *fd, const void *pa, const void *pb)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (!same_string(*(char *const *)pa, *(char *const *)pb)) {
            die("strings differ", fd->name);
        }
        break;
    case PROTOBUF_C_TYPE_BYTES:
        if (!same_bytes(pa, pb)) {
            die("bytes differ", fd->name);
        }
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *ma = *(ProtobufCMessage *const *)pa;
        const ProtobufCMessage *mb = *(ProtobufCMessage *const *)pb;
        if ((ma == NULL) != (mb == NULL)) {
            die("one sub-message is NULL", fd->name);
        }
        if (ma != NULL) {
            compare(ma, mb);
        }
        break;
    }
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (memcmp(pa, pb, 8) != 0) {
            die("64-bit values differ", fd->name);
        }
        break;
    default:
        if (memcmp(pa, pb, 4) != 0) {
            die("32-bit values differ", fd->name);
        }
        break;
    }
}

static size_t elt_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static void compare(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    const ProtobufCMessageDescriptor *d = a->descriptor;
    if (b->descriptor != d) {
        die("descriptors differ", "message");
    }
    if (a->n_unknown_fields != b->n_unknown_fields) {
        die("unknown field counts differ", d->name);
    }
    for (unsigned i = 0; i < a->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *ua = &a->unknown_fields[i];
        const ProtobufCMessageUnknownField *ub = &b->unknown_fields[i];
        if (ua->tag != ub->tag || ua->wire_type != ub->wire_type || ua->len != ub->len ||
            memcmp(ua->data, ub->data, ua->len) != 0) {
            die("unknown fields differ", d->name);
        }
    }
    const char *ba = (const char *)a;
    const char *bb = (const char *)b;
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t na = *(const size_t *)(const void *)(ba + fd->quantifier_offset);
            size_t nb = *(const size_t *)(const void *)(bb + fd->quantifier_offset);
            const char *va = *(char *const *)(const void *)(ba + fd->offset);
            const char *vb = *(char *const *)(const void *)(bb + fd->offset);
            if (na != nb || (na == 0 && (va == NULL) != (vb == NULL))) {
                die("repeated counts differ", fd->name);
            }
            size_t el = elt_size(fd->type);
            for (size_t k = 0; k < na; k++) {
                compare_value(fd, va + k * el, vb + k * el);
            }
            continue;
        }
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t ca = *(const uint32_t *)(const void *)(ba + fd->quantifier_offset);
            uint32_t cb = *(const uint32_t *)(const void *)(bb + fd->quantifier_offset);
            if (ca != cb) {
                die("oneof cases differ", fd->name);
            }
            if (ca != fd->id) {
                continue;
            }
        } else if (fd->quantifier_offset != 0) {
            if (*(const protobuf_c_boolean *)(const void *)(ba + fd->quantifier_offset) !=
                *(const protobuf_c_boolean *)(const void *)(bb + fd->quantifier_offset)) {
                die("has_ flags differ", fd->name);
            }
        }
        compare_value(fd, ba + fd->offset, bb + fd->offset);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    enum ag_signal signal = (enum ag_signal)(data[0] % AG_SIGNAL_COUNT);
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    struct ag_arena *ar = ag_arena_new(DIFF_ARENA_CAP);
    struct ag_arena *ao = ag_arena_new(DIFF_ARENA_CAP);
    /* Exactly |len| bytes, so that ASan sees a read past the end of the body. */
    uint8_t *copy = ag_malloc(len > 0 ? len : 1);
    uint8_t *pr = NULL, *po = NULL;
    if (ar == NULL || ao == NULL || copy == NULL) {
        die("out of memory", "setup");
    }
    memcpy(copy, body, len);
    ProtobufCMessage *mr = NULL, *mo = NULL;
    char er[512], eo[512];
    er[0] = eo[0] = '\0';
    int rr = ag_otlp_pb_decode_reference(signal, body, len, ar, &mr, er, sizeof(er));
    int ro = ag_otlp_pb_decode(signal, copy, len, ao, &mo, eo, sizeof(eo));
    memset(copy, 0xa5, len > 0 ? len : 1);
    if (rr != ro) {
        fprintf(stderr, "reference: %d %s\nours: %d %s\n", rr, er, ro, eo);
        die("return codes differ", ag_signal_name(signal));
    }
    if (rr != 0) {
        if (strcmp(er, eo) != 0) {
            fprintf(stderr, "reference: %s\nours: %s\n", er, eo);
            die("error messages differ", ag_signal_name(signal));
        }
        goto out;
    }
    if (mr == NULL || mo == NULL) {
        die("success without a message", ag_signal_name(signal));
    }
    size_t nr, no;
    pr = pack(mr, &nr);
    po = pack(mo, &no);
    if (nr != no || memcmp(pr, po, nr) != 0) {
        die("the two trees pack differently", ag_signal_name(signal));
    }
    compare(mr, mo);
    if (ag_otlp_count_items(signal, mr) != ag_otlp_count_items(signal, mo)) {
        die("item counts differ", ag_signal_name(signal));
    }
out:
    ag_free(pr);
    ag_free(po);
    ag_free(copy);
    ag_arena_free(ar);
    ag_arena_free(ao);
    return 0;
}
