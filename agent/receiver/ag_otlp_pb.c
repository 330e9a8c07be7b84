/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A table-driven decoder for OTLP/protobuf Export requests that builds the very struct tree
 * protobuf-c 1.4.1's protobuf_c_message_unpack() builds (every consumer of the tree stays as it
 * is), without its per-field descriptor searches, scanned-member slabs and one allocation per
 * field.
 *
 * Design.
 * - Tables: once per process (pthread_once), the message types reachable from the three
 *   requests are indexed from their protobuf-c descriptors into dense per-type arrays indexed by
 *   field number (OTLP numbers are small): kind (singular, oneof, repeated), type, offset,
 *   quantifier offset, element size, child type, and a counter slot for repeated fields. Each
 *   type keeps a copy of its *__init value, so initialising a message is one copy.
 * - One pass per message, in wire order, over its own bytes; sub-messages recurse. Repeated
 *   fields need exactly sized arrays (protobuf-c's n_xxx + array): at the first repeated field
 *   of a message, the rest of the message is scanned once (keys and lengths only) to count the
 *   elements of every repeated field (packed runs counted as protobuf-c counts them) and the
 *   unknown fields. Encoders write fields in number order, so the scalars before the first
 *   repeated field (ids, name, times of a span) are read once. Growing arrays and copying was
 *   the alternative; counting keeps the arena free of abandoned arrays. The structs of a
 *   repeated sub-message field are allocated together.
 * - Fast paths for the two commonest messages: a KeyValue of key + value whose AnyValue holds
 *   one string, int, double or bool (one-byte keys and lengths) is decoded by straight-line code
 *   with one allocation for the AnyValue and both strings; an AnyValue with one scalar, string
 *   or bytes member likewise. Any other shape goes through the generic path from a fresh
 *   struct, which is also what decides on malformed input. The field reader takes one-byte keys
 *   with one- or two-byte lengths, fixed-size values and one-byte varints without a loop.
 * - Allocation: everything goes into the request's arena through 4 KiB chunks carved with
 *   8-byte (structs, arrays) or 1-byte (string and bytes data) alignment, so a request costs a
 *   handful of arena calls; blocks over 1 KiB go to the arena directly. Strings, bytes and
 *   unknown fields are copied: nothing points into the request buffer.
 * - Depth: the only recursion in OTLP is AnyValue -> ArrayValue/KeyValueList; the parse pass
 *   refuses a sub-message deeper than AG_OTLP_MAX_DEPTH, and any key with field number 0.
 * - Errors: when decoding fails, ag_otlp_check_depth() runs over the request to pick the message
 *   the old path (check_depth, then unpack) gave, so the words stay the same whichever problem
 *   comes first; then the arena's cap (AG_ETOOBIG) or the generic "cannot decode".
 *
 * protobuf-c rules reproduced (protobuf-c.c 1.4.1): keys of at most 5 bytes, one byte 0x00-0x07
 * refused; varints of at most 10 bytes, length prefixes of at most 5; wire types 3, 4, 6, 7
 * refused even on unknown fields; unknown fields kept in order with tag, wire type, and the
 * bytes after the key (length prefix included); last value wins for singular scalars, strings
 * and bytes; a singular sub-message seen twice is unpacked again and merged with
 * merge_messages()'s rules (repeated fields concatenated, the earlier value kept only where the
 * later one is unset by its test, a oneof that neither occurrence set fails the decode, unknown
 * fields of the earlier one dropped); a oneof member replaces the previous one after zeroing
 * the previous member's size (so a repeated oneof sub-message is replaced, not merged); packed
 * and unpacked repeated scalars both accepted; bool takes any wire type and is true when any
 * byte of the value (a length prefix included) has a low 7-bit part; 32-bit varints keep the
 * low 32 bits; a string is a NUL-terminated copy (an empty one is a new "", an absent one the
 * descriptor's default); empty bytes have data NULL; no UTF-8 check.
 */
#include "ag_otlp_pb.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "opentelemetry/proto/common/v1/common.pb-c.h"

#define PB_MAX_TYPES  64
#define PB_MAX_FIELDS 2048 /* table entries of all types together (max id + 1 each) */
#define PB_MAX_ID     255  /* a type with a larger field number falls back to protobuf-c */
#define PB_MAX_REP    16   /* repeated fields per type */
#define PB_TMPL_BYTES (32 * 1024)
#define PB_CHUNK      4096

enum pb_kind {
    PB_K_NONE = 0,
    PB_K_SINGLE = 1,
    PB_K_ONEOF = 2,
    PB_K_REPEATED = 3,
};

struct pb_type;

struct pb_field {
    uint8_t kind;     /* enum pb_kind; PB_K_NONE: no such field (unknown) */
    uint8_t type;     /* ProtobufCType */
    uint8_t slot;     /* repeated: index of its counter */
    uint8_t packable; /* repeated scalar: a length-delimited occurrence is a packed run */
    uint32_t elt;     /* protobuf-c's sizeof_elt_in_repeated_array() */
    uint32_t offset;
    uint32_t qoff; /* quantifier offset: n_, has_ or the oneof case */
    const struct pb_type *child;
};

struct pb_type {
    const ProtobufCMessageDescriptor *desc;
    const struct pb_field *fields; /* indexed by field number, [0, max_id] */
    uint32_t max_id;
    uint32_t n_rep;
    uint32_t rep_elt[PB_MAX_REP]; /* element size of each counter slot */
    size_t size;                  /* sizeof the struct: a multiple of 8 */
    const void *init;             /* the *__init value */
    int fast;                     /* PB_FAST_*: a hand-written path for the commonest shape */
};

enum {
    PB_FAST_NONE = 0,
    PB_FAST_KV = 1,  /* KeyValue */
    PB_FAST_ANY = 2, /* AnyValue */
};

static struct pb_type pb_types[PB_MAX_TYPES];
static unsigned pb_n_types;
static struct pb_field pb_fields[PB_MAX_FIELDS];
static unsigned pb_n_fields;
static _Alignas(16) unsigned char pb_tmpl[PB_TMPL_BYTES];
static size_t pb_tmpl_used;
static int pb_ready; /* the tables describe every reachable type */
static pthread_once_t pb_once = PTHREAD_ONCE_INIT;

static uint32_t pb_elt_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static int pb_is_packable(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
           t != PROTOBUF_C_TYPE_MESSAGE;
}

/* Returns the type entry of |d|, adding it (without its fields); NULL when the table is full. */
static struct pb_type *pb_type_of(const ProtobufCMessageDescriptor *d)
{
    for (unsigned i = 0; i < pb_n_types; i++) {
        if (pb_types[i].desc == d) {
            return &pb_types[i];
        }
    }
    if (pb_n_types == PB_MAX_TYPES) {
        return NULL;
    }
    pb_types[pb_n_types].desc = d;
    return &pb_types[pb_n_types++];
}

/* Fills the field table and the template of |t|. Returns 0, or -1 when a limit is exceeded. */
static int pb_build_type(struct pb_type *t)
{
    const ProtobufCMessageDescriptor *d = t->desc;
    uint32_t max_id = 0;
    for (unsigned f = 0; f < d->n_fields; f++) {
        if (d->fields[f].id > max_id) {
            max_id = d->fields[f].id;
        }
    }
    if (max_id > PB_MAX_ID || pb_n_fields + max_id + 1 > PB_MAX_FIELDS ||
        d->sizeof_message % 8 != 0 || pb_tmpl_used + d->sizeof_message > PB_TMPL_BYTES) {
        return -1;
    }
    struct pb_field *tab = &pb_fields[pb_n_fields];
    pb_n_fields += max_id + 1;
    t->fields = tab;
    t->max_id = max_id;
    t->size = d->sizeof_message;
    void *tmpl = &pb_tmpl[pb_tmpl_used];
    pb_tmpl_used += d->sizeof_message;
    protobuf_c_message_init(d, tmpl);
    t->init = tmpl;
    if (d == &opentelemetry__proto__common__v1__key_value__descriptor) {
        t->fast = PB_FAST_KV;
    } else if (d == &opentelemetry__proto__common__v1__any_value__descriptor) {
        t->fast = PB_FAST_ANY;
    }
    for (unsigned f = 0; f < d->n_fields; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        struct pb_field *e = &tab[fd->id];
        if (fd->label == PROTOBUF_C_LABEL_REQUIRED || fd->type == PROTOBUF_C_TYPE_STRING ||
            fd->type == PROTOBUF_C_TYPE_BYTES || fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            /* Required fields and non-NULL defaults of strings other than "" are proto2: OTLP
             * has none, and the decoder does not implement them. */
            if (fd->label == PROTOBUF_C_LABEL_REQUIRED) {
                return -1;
            }
            if (fd->type == PROTOBUF_C_TYPE_STRING && fd->default_value != NULL &&
                fd->default_value != &protobuf_c_empty_string) {
                return -1;
            }
            if (fd->type != PROTOBUF_C_TYPE_STRING && fd->default_value != NULL) {
                return -1;
            }
        }
        e->type = (uint8_t)fd->type;
        e->elt = pb_elt_size(fd->type);
        e->offset = fd->offset;
        e->qoff = fd->quantifier_offset;
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            if (t->n_rep == PB_MAX_REP) {
                return -1;
            }
            e->kind = PB_K_REPEATED;
            e->slot = (uint8_t)t->n_rep;
            e->packable = (uint8_t)(pb_is_packable(fd->type) ||
                                    (fd->flags & PROTOBUF_C_FIELD_FLAG_PACKED) != 0);
            t->rep_elt[t->n_rep++] = e->elt;
        } else if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            e->kind = PB_K_ONEOF;
        } else {
            e->kind = PB_K_SINGLE;
        }
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            e->child = pb_type_of(fd->descriptor);
            if (e->child == NULL) {
                return -1;
            }
        }
    }
    return 0;
}

static void pb_build(void)
{
    for (int sig = 0; sig < AG_SIGNAL_COUNT; sig++) {
        if (pb_type_of(ag_otlp_request_descriptor((enum ag_signal)sig)) == NULL) {
            return;
        }
    }
    /* Breadth first: pb_n_types grows while the loop runs. */
    for (unsigned i = 0; i < pb_n_types; i++) {
        if (pb_build_type(&pb_types[i]) != 0) {
            return;
        }
    }
    pb_ready = 1;
}

/* Decoding. */

enum pb_err {
    PB_OK = 0,
    PB_EMALFORMED = 1, /* anything protobuf-c refuses, and depth / field number 0 */
    PB_EALLOC = 2,     /* the arena refused */
};

struct pb_ctx {
    struct ag_arena *arena;
    uint8_t *cur; /* the current chunk: [cur, end) is free */
    uint8_t *end;
};

/* One field as read from the wire: the value's bytes follow the key. */
struct pb_item {
    uint32_t id;
    uint32_t wt;
    const uint8_t *val; /* after the key (at the length prefix for wire type 2) */
    size_t vlen;        /* bytes of the value, the length prefix included */
    size_t plen;        /* length prefix bytes (wire type 2), else 0 */
};

/* The slow half of pb_alloc(): a new chunk, or a block of its own for large sizes. */
static void *pb_alloc_slow(struct pb_ctx *cx, size_t n)
{
    if (n > PB_CHUNK / 4) {
        return ag_arena_alloc(cx->arena, n);
    }
    uint8_t *c = ag_arena_alloc(cx->arena, PB_CHUNK);
    if (c == NULL) {
        /* Near the cap a chunk may not fit where the block itself does. */
        return ag_arena_alloc(cx->arena, n);
    }
    cx->cur = c + n;
    cx->end = c + PB_CHUNK;
    return c;
}

/*
 * Returns |n| (> 0) bytes aligned to |align| (1 or 8) from the current chunk, or NULL when the
 * arena refuses. Arena blocks and chunks are 16-byte aligned.
 */
static inline void *pb_alloc(struct pb_ctx *cx, size_t n, uintptr_t align)
{
    uintptr_t c = ((uintptr_t)cx->cur + (align - 1)) & ~(align - 1);
    uintptr_t e = (uintptr_t)cx->end;
    if (c <= e && e - c >= n) {
        cx->cur = (uint8_t *)c;
        cx->cur += n;
        return cx->cur - n;
    }
    return pb_alloc_slow(cx, n);
}

/*
 * Reads the field at *pp (< end) with protobuf-c's framing rules and advances *pp past it.
 * Returns PB_OK or PB_EMALFORMED.
 */
static int pb_next_slow(const uint8_t **pp, const uint8_t *end, struct pb_item *it)
{
    const uint8_t *p = *pp;
    size_t rem = (size_t)(end - p);
    uint32_t b = p[0];
    if ((b & 0xf8) == 0) {
        return PB_EMALFORMED;
    }
    it->wt = b & 7;
    if ((b & 0x80) == 0) {
        it->id = b >> 3;
        p++;
        rem--;
    } else {
        uint32_t id = (b & 0x7f) >> 3;
        unsigned shift = 4, i;
        unsigned max = rem > 5 ? 5 : (unsigned)rem;
        for (i = 1; i < max; i++) {
            if (p[i] & 0x80) {
                id |= (uint32_t)(p[i] & 0x7f) << shift;
                shift += 7;
            } else {
                id |= (uint32_t)p[i] << shift;
                break;
            }
        }
        if (i >= max) {
            return PB_EMALFORMED;
        }
        if (id == 0) {
            return PB_EMALFORMED; /* ag_otlp_check_depth() refuses it: field numbers start at 1 */
        }
        it->id = id;
        p += i + 1;
        rem -= i + 1;
    }
    it->val = p;
    it->plen = 0;
    switch (it->wt) {
    case PROTOBUF_C_WIRE_TYPE_VARINT: {
        unsigned max = rem < 10 ? (unsigned)rem : 10, i;
        for (i = 0; i < max; i++) {
            if ((p[i] & 0x80) == 0) {
                break;
            }
        }
        if (i == max) {
            return PB_EMALFORMED;
        }
        it->vlen = i + 1;
        break;
    }
    case PROTOBUF_C_WIRE_TYPE_64BIT:
        if (rem < 8) {
            return PB_EMALFORMED;
        }
        it->vlen = 8;
        break;
    case PROTOBUF_C_WIRE_TYPE_32BIT:
        if (rem < 4) {
            return PB_EMALFORMED;
        }
        it->vlen = 4;
        break;
    case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
        unsigned max = rem < 5 ? (unsigned)rem : 5, i;
        size_t v = 0;
        unsigned shift = 0;
        for (i = 0; i < max; i++) {
            v |= (size_t)(p[i] & 0x7f) << shift;
            shift += 7;
            if ((p[i] & 0x80) == 0) {
                break;
            }
        }
        if (i == max || v > INT_MAX || i + 1 + v > rem) {
            return PB_EMALFORMED;
        }
        it->plen = i + 1;
        it->vlen = i + 1 + v;
        break;
    }
    default:
        return PB_EMALFORMED;
    }
    *pp = p + it->vlen;
    return PB_OK;
}

/*
 * Copies |n| bytes: most strings and ids are short, and a libc call for each costs more than the
 * copy, so up to 32 bytes move as two overlapping loads and stores.
 */
static inline void pb_copy(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n > 16 && n <= 32) {
        uint64_t a[2], b[2];
        memcpy(a, s, 16);
        memcpy(b, s + n - 16, 16);
        memcpy(d, a, 16);
        memcpy(d + n - 16, b, 16);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 0 && n < 4) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    } else if (n > 32) {
        memcpy(d, s, n);
    }
}

/* Initialises a message from its template (sizes are multiples of 8, mostly under 128). */
static inline void pb_init(void *dst, const struct pb_type *t)
{
    if (t->fast == PB_FAST_ANY) {
        *(Opentelemetry__Proto__Common__V1__AnyValue *)dst =
            *(const Opentelemetry__Proto__Common__V1__AnyValue *)t->init;
        return;
    }
    if (t->fast == PB_FAST_KV) {
        *(Opentelemetry__Proto__Common__V1__KeyValue *)dst =
            *(const Opentelemetry__Proto__Common__V1__KeyValue *)t->init;
        return;
    }
    uint8_t *d = dst;
    const uint8_t *s = t->init;
    size_t n = t->size;
    if (n <= 64) {
        pb_copy(d, s, n <= 32 ? n : 32);
        if (n > 32) {
            pb_copy(d + 32, s + 32, n - 32);
        }
        return;
    }
    memcpy(d, s, n);
}

/*
 * pb_next_slow() for the common case first: a one-byte key followed by a one-byte length, a
 * fixed-size value or a short varint, with the same checks.
 */
static inline int pb_next(const uint8_t **pp, const uint8_t *end, struct pb_item *it)
{
    const uint8_t *p = *pp;
    size_t rem = (size_t)(end - p);
    uint32_t b = p[0];
    if (rem >= 2 && b >= 8 && b < 0x80) {
        it->id = b >> 3;
        it->wt = b & 7;
        it->val = p + 1;
        it->plen = 0;
        switch (b & 7) {
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
            if (p[1] < 0x80) {
                if ((size_t)p[1] + 2 > rem) {
                    return PB_EMALFORMED;
                }
                it->plen = 1;
                it->vlen = (size_t)p[1] + 1;
                *pp = p + 2 + p[1];
                return PB_OK;
            }
            if (rem >= 3 && p[2] < 0x80) {
                /* Two-byte lengths (128 B - 16 KiB): spans, data points, log records. */
                size_t n = (size_t)(p[1] & 0x7f) | ((size_t)p[2] << 7);
                if (n + 3 > rem) {
                    return PB_EMALFORMED;
                }
                it->plen = 2;
                it->vlen = n + 2;
                *pp = p + 3 + n;
                return PB_OK;
            }
            break;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
            if (rem < 9) {
                return PB_EMALFORMED;
            }
            it->vlen = 8;
            *pp = p + 9;
            return PB_OK;
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            if (rem < 5) {
                return PB_EMALFORMED;
            }
            it->vlen = 4;
            *pp = p + 5;
            return PB_OK;
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            if (p[1] < 0x80) {
                it->vlen = 1;
                *pp = p + 2;
                return PB_OK;
            }
            break;
        default:
            return PB_EMALFORMED;
        }
    }
    return pb_next_slow(pp, end, it);
}

/* The value of a varint of |n| (1-10) bytes, modulo 2^64 as protobuf-c's parse_uint64(). */
static inline uint64_t pb_varint(const uint8_t *p, size_t n)
{
    uint64_t v = p[0] & 0x7f;
    for (size_t i = 1; i < n; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    }
    return v;
}

/* protobuf-c's parse_boolean(): true when any byte has a non-zero low 7-bit part. */
static inline protobuf_c_boolean pb_bool(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] & 0x7f) {
            return 1;
        }
    }
    return 0;
}

static inline int32_t pb_unzigzag32(uint32_t v)
{
    return (int32_t)((v >> 1) ^ (~(v & 1) + 1));
}

static inline int64_t pb_unzigzag64(uint64_t v)
{
    return (int64_t)((v >> 1) ^ (~(v & 1) + 1));
}

/* The length of the varint at |p| within |rem| bytes (at most 10), or 0. */
static inline size_t pb_varint_len(const uint8_t *p, size_t rem)
{
    size_t max = rem < 10 ? rem : 10;
    for (size_t i = 0; i < max; i++) {
        if ((p[i] & 0x80) == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* Stores the scalar of |it| (wire type |wt|, |n| value bytes at |p|) into |dst|. */
static int pb_scalar(uint8_t type, uint32_t wt, const uint8_t *p, size_t n, void *dst)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_ENUM: {
        if (wt != PROTOBUF_C_WIRE_TYPE_VARINT) {
            return PB_EMALFORMED;
        }
        uint32_t v = (uint32_t)pb_varint(p, n);
        memcpy(dst, &v, 4);
        return PB_OK;
    }
    case PROTOBUF_C_TYPE_SINT32: {
        if (wt != PROTOBUF_C_WIRE_TYPE_VARINT) {
            return PB_EMALFORMED;
        }
        int32_t v = pb_unzigzag32((uint32_t)pb_varint(p, n));
        memcpy(dst, &v, 4);
        return PB_OK;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64: {
        if (wt != PROTOBUF_C_WIRE_TYPE_VARINT) {
            return PB_EMALFORMED;
        }
        uint64_t v = pb_varint(p, n);
        memcpy(dst, &v, 8);
        return PB_OK;
    }
    case PROTOBUF_C_TYPE_SINT64: {
        if (wt != PROTOBUF_C_WIRE_TYPE_VARINT) {
            return PB_EMALFORMED;
        }
        int64_t v = pb_unzigzag64(pb_varint(p, n));
        memcpy(dst, &v, 8);
        return PB_OK;
    }
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        if (wt != PROTOBUF_C_WIRE_TYPE_32BIT) {
            return PB_EMALFORMED;
        }
        memcpy(dst, p, 4);
        return PB_OK;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (wt != PROTOBUF_C_WIRE_TYPE_64BIT) {
            return PB_EMALFORMED;
        }
        memcpy(dst, p, 8);
        return PB_OK;
    case PROTOBUF_C_TYPE_BOOL: {
        /* protobuf-c checks no wire type for bool. */
        protobuf_c_boolean v = pb_bool(p, n);
        memcpy(dst, &v, sizeof(v));
        return PB_OK;
    }
    default:
        return PB_EMALFORMED;
    }
}

/*
 * Counts the elements of a packed run of |n| bytes as protobuf-c's count_packed_elements().
 * Returns PB_OK, or PB_EMALFORMED when fixed-size elements do not divide the run.
 */
static int pb_packed_count(uint8_t type, const uint8_t *p, size_t n, size_t *out)
{
    switch (type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        if (n % 4 != 0) {
            return PB_EMALFORMED;
        }
        *out = n / 4;
        return PB_OK;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (n % 8 != 0) {
            return PB_EMALFORMED;
        }
        *out = n / 8;
        return PB_OK;
    case PROTOBUF_C_TYPE_BOOL:
        *out = n;
        return PB_OK;
    default: {
        size_t c = 0;
        for (size_t i = 0; i < n; i++) {
            c += (p[i] & 0x80) == 0;
        }
        *out = c;
        return PB_OK;
    }
    }
}

/* Appends the packed run of |n| bytes at |p| to |arr| (holding *count elements). */
static int pb_packed_parse(uint8_t type, uint32_t elt, const uint8_t *p, size_t n, uint8_t *arr,
                           size_t *count)
{
    uint8_t *dst = arr + (size_t)elt * *count;
    switch (type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (n > 0) {
            memcpy(dst, p, n);
        }
        *count += n / elt;
        return PB_OK;
    default:
        while (n > 0) {
            size_t s = pb_varint_len(p, n);
            if (s == 0) {
                return PB_EMALFORMED;
            }
            /* Any wire type passes for bool; the others are varints here. */
            (void)pb_scalar(type, PROTOBUF_C_WIRE_TYPE_VARINT, p, s, dst);
            dst += elt;
            (*count)++;
            p += s;
            n -= s;
        }
        return PB_OK;
    }
}

/* merge_messages() of protobuf-c 1.4.1: folds |earlier| into |latter| (both of one type). */
static int pb_merge(ProtobufCMessage *earlier, ProtobufCMessage *latter, struct pb_ctx *cx)
{
    const ProtobufCMessageDescriptor *d = latter->descriptor;
    uint8_t *eb = (uint8_t *)earlier;
    uint8_t *lb = (uint8_t *)latter;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t ne, nl;
            uint8_t *pe, *pl;
            memcpy(&ne, eb + f->quantifier_offset, sizeof(ne));
            memcpy(&nl, lb + f->quantifier_offset, sizeof(nl));
            memcpy(&pe, eb + f->offset, sizeof(pe));
            memcpy(&pl, lb + f->offset, sizeof(pl));
            if (ne == 0) {
                continue;
            }
            if (nl > 0) {
                size_t el = pb_elt_size(f->type);
                uint8_t *nf = pb_alloc(cx, (ne + nl) * el, 8);
                if (nf == NULL) {
                    return PB_EALLOC;
                }
                memcpy(nf, pe, ne * el);
                memcpy(nf + ne * el, pl, nl * el);
                pl = nf;
                nl += ne;
            } else {
                nl = ne;
                pl = pe;
            }
            ne = 0;
            pe = NULL;
            memcpy(eb + f->quantifier_offset, &ne, sizeof(ne));
            memcpy(lb + f->quantifier_offset, &nl, sizeof(nl));
            memcpy(eb + f->offset, &pe, sizeof(pe));
            memcpy(lb + f->offset, &pl, sizeof(pl));
            continue;
        }
        if (f->label != PROTOBUF_C_LABEL_OPTIONAL && f->label != PROTOBUF_C_LABEL_NONE) {
            continue;
        }
        /* protobuf-c reads a uint32 at the quantifier offset even when it is 0 (then the
         * first bytes of the descriptor pointer, equal in both messages): do the same. */
        uint32_t ec, lc;
        memcpy(&ec, eb + f->quantifier_offset, sizeof(ec));
        memcpy(&lc, lb + f->quantifier_offset, sizeof(lc));
        const ProtobufCFieldDescriptor *field = f;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (lc != 0) {
                continue;
            }
            field = protobuf_c_message_descriptor_get_field(d, ec);
            if (field == NULL) {
                return PB_EMALFORMED; /* neither occurrence set the oneof */
            }
        }
        uint8_t *ee = eb + field->offset;
        uint8_t *le = lb + field->offset;
        int need = 0;
        switch (field->type) {
        case PROTOBUF_C_TYPE_MESSAGE: {
            ProtobufCMessage *em, *lm;
            memcpy(&em, ee, sizeof(em));
            memcpy(&lm, le, sizeof(lm));
            if (em != NULL) {
                if (lm != NULL) {
                    int rc = pb_merge(em, lm, cx);
                    if (rc != PB_OK) {
                        return rc;
                    }
                } else {
                    need = 1;
                }
            }
            break;
        }
        case PROTOBUF_C_TYPE_BYTES: {
            ProtobufCBinaryData e, l;
            const ProtobufCBinaryData *def = field->default_value;
            memcpy(&e, ee, sizeof(e));
            memcpy(&l, le, sizeof(l));
            need = (e.data != NULL && (def == NULL || e.data != def->data)) &&
                   (l.data == NULL || (def != NULL && l.data == def->data));
            break;
        }
        case PROTOBUF_C_TYPE_STRING: {
            char *es, *ls;
            const char *def = field->default_value;
            memcpy(&es, ee, sizeof(es));
            memcpy(&ls, le, sizeof(ls));
            need = es != def && ls == def;
            break;
        }
        default:
            need = ec != 0 && lc == 0;
            break;
        }
        if (need) {
            size_t el = pb_elt_size(field->type);
            memcpy(le, ee, el);
            memset(ee, 0, el);
            if (field->quantifier_offset != 0) {
                memcpy(lb + f->quantifier_offset, &ec, sizeof(ec));
                memset(eb + f->quantifier_offset, 0, sizeof(ec));
            }
        }
    }
    return PB_OK;
}

static int pb_decode_msg(struct pb_ctx *cx, const struct pb_type *t, const uint8_t *p,
                         const uint8_t *end, ProtobufCMessage *msg, unsigned depth);

/* What the fast paths return when the message is not in the simple shape they handle. */
#define PB_FALLBACK 3

/* AnyValue holding one scalar, string or bytes member and nothing else. */
static int pb_fast_any(struct pb_ctx *cx, const uint8_t *p, const uint8_t *end,
                       ProtobufCMessage *msg)
{
    Opentelemetry__Proto__Common__V1__AnyValue *av = (void *)msg;
    struct pb_item it;
    if (p == end) {
        return PB_OK;
    }
    if (pb_next(&p, end, &it) != PB_OK) {
        return PB_EMALFORMED;
    }
    if (p != end) {
        return PB_FALLBACK;
    }
    size_t n = it.vlen - it.plen;
    switch ((it.id << 3) | it.wt) {
    case (1 << 3) | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
        char *s = pb_alloc(cx, n + 1, 1);
        if (s == NULL) {
            return PB_EALLOC;
        }
        pb_copy((uint8_t *)s, it.val + it.plen, n);
        s[n] = '\0';
        av->string_value = s;
        break;
    }
    case (2 << 3) | PROTOBUF_C_WIRE_TYPE_VARINT:
        av->bool_value = pb_bool(it.val, it.vlen);
        break;
    case (3 << 3) | PROTOBUF_C_WIRE_TYPE_VARINT:
        av->int_value = (int64_t)pb_varint(it.val, it.vlen);
        break;
    case (4 << 3) | PROTOBUF_C_WIRE_TYPE_64BIT:
        memcpy(&av->double_value, it.val, 8);
        break;
    case (7 << 3) | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
        av->bytes_value.len = n;
        av->bytes_value.data = NULL;
        if (n > 0) {
            av->bytes_value.data = pb_alloc(cx, n, 1);
            if (av->bytes_value.data == NULL) {
                return PB_EALLOC;
            }
            pb_copy(av->bytes_value.data, it.val + it.plen, n);
        }
        break;
    default:
        return PB_FALLBACK;
    }
    av->value_case = (Opentelemetry__Proto__Common__V1__AnyValue__ValueCase)it.id;
    return PB_OK;
}

/*
 * KeyValue in its usual shape: key (1) then value (2) with one-byte keys and lengths, the value
 * an AnyValue that is empty or holds one string, int, double or bool written the same way. One
 * allocation holds the AnyValue and both strings. Any other shape, malformed ones included,
 * returns PB_FALLBACK without touching |msg|: the generic path then decides.
 */
static int pb_fast_kv(struct pb_ctx *cx, const struct pb_type *t, const uint8_t *p,
                      const uint8_t *end, ProtobufCMessage *msg, unsigned depth)
{
    typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
    size_t rem = (size_t)(end - p);
    if (rem < 4 || p[0] != 0x0a || p[1] >= 0x80 || (size_t)p[1] + 4 > rem) {
        return PB_FALLBACK;
    }
    size_t kn = p[1];
    const uint8_t *q = p + 2 + kn;
    if (q[0] != 0x12 || q[1] >= 0x80 || (size_t)(end - q) != (size_t)q[1] + 2 ||
        depth + 1 > AG_OTLP_MAX_DEPTH) {
        return PB_FALLBACK;
    }
    const uint8_t *v = q + 2;
    size_t vn = q[1];
    size_t sn = 0; /* string value bytes */
    int kind;      /* the AnyValue member, 0 = none */
    if (vn == 0) {
        kind = 0;
    } else if (v[0] == 0x0a && vn >= 2 && v[1] < 0x80 && (size_t)v[1] + 2 == vn) {
        kind = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        sn = v[1];
    } else if (v[0] == 0x18 && vn >= 2 && vn <= 11 && pb_varint_len(v + 1, vn - 1) == vn - 1) {
        kind = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    } else if (v[0] == 0x21 && vn == 9) {
        kind = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
    } else if (v[0] == 0x10 && vn == 2 && v[1] < 0x80) {
        kind = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
    } else {
        return PB_FALLBACK;
    }
    const struct pb_type *at = t->fields[2].child;
    uint8_t *block = pb_alloc(cx, sizeof(any_t) + kn + 1 + (kind == 1 ? sn + 1 : 0), 8);
    if (block == NULL) {
        return PB_EALLOC;
    }
    any_t *av = (any_t *)(void *)block;
    *av = *(const any_t *)at->init;
    char *key = (char *)block + sizeof(any_t);
    pb_copy((uint8_t *)key, p + 2, kn);
    key[kn] = '\0';
    switch (kind) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: {
        char *sv = key + kn + 1;
        pb_copy((uint8_t *)sv, v + 2, sn);
        sv[sn] = '\0';
        av->string_value = sv;
        break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        av->int_value = (int64_t)pb_varint(v + 1, vn - 1);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        memcpy(&av->double_value, v + 1, 8);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        av->bool_value = (v[1] & 0x7f) != 0;
        break;
    default:
        break;
    }
    av->value_case = (Opentelemetry__Proto__Common__V1__AnyValue__ValueCase)kind;
    Opentelemetry__Proto__Common__V1__KeyValue *kv = (void *)msg;
    kv->key = key;
    kv->value = av;
    return PB_OK;
}

/*
 * Parses the string, bytes, sub-message or scalar value of field |f| into |member|; with |merge|
 * a sub-message already there is merged as protobuf-c's parse_required_member() does. A
 * sub-message goes to |sub| when given (repeated fields allocate theirs together), else to a new
 * struct.
 */
static int pb_value(struct pb_ctx *cx, const struct pb_field *f, const struct pb_item *it,
                    void *member, int merge, ProtobufCMessage *sub, unsigned depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        if (it->wt != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
            return PB_EMALFORMED;
        }
        size_t n = it->vlen - it->plen;
        char *s = pb_alloc(cx, n + 1, 1);
        if (s == NULL) {
            return PB_EALLOC;
        }
        pb_copy((uint8_t *)s, it->val + it->plen, n);
        s[n] = '\0';
        memcpy(member, &s, sizeof(s));
        return PB_OK;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (it->wt != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
            return PB_EMALFORMED;
        }
        ProtobufCBinaryData bd;
        bd.len = it->vlen - it->plen;
        bd.data = NULL;
        if (bd.len > 0) {
            bd.data = pb_alloc(cx, bd.len, 1);
            if (bd.data == NULL) {
                return PB_EALLOC;
            }
            pb_copy(bd.data, it->val + it->plen, bd.len);
        }
        memcpy(member, &bd, sizeof(bd));
        return PB_OK;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (it->wt != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
            return PB_EMALFORMED;
        }
        if (depth + 1 > AG_OTLP_MAX_DEPTH) {
            return PB_EMALFORMED;
        }
        const struct pb_type *ct = f->child;
        if (sub == NULL) {
            sub = pb_alloc(cx, ct->size, 8);
            if (sub == NULL) {
                return PB_EALLOC;
            }
        }
        pb_init(sub, ct);
        int rc = PB_FALLBACK;
        if (ct->fast == PB_FAST_KV) {
            rc = pb_fast_kv(cx, ct, it->val + it->plen, it->val + it->vlen, sub, depth + 1);
        }
        if (rc == PB_FALLBACK) {
            rc = pb_decode_msg(cx, ct, it->val + it->plen, it->val + it->vlen, sub, depth + 1);
        }
        if (rc != PB_OK) {
            return rc;
        }
        if (merge) {
            ProtobufCMessage *old;
            memcpy(&old, member, sizeof(old));
            if (old != NULL) {
                rc = pb_merge(old, sub, cx);
            }
        }
        memcpy(member, &sub, sizeof(sub));
        return rc;
    }
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        /* Timestamps and values: the commonest scalars, without the call. */
        if (it->wt != PROTOBUF_C_WIRE_TYPE_64BIT) {
            return PB_EMALFORMED;
        }
        memcpy(member, it->val, 8);
        return PB_OK;
    default:
        return pb_scalar(f->type, it->wt, it->val, it->vlen, member);
    }
}

static inline const struct pb_field *pb_lookup(const struct pb_type *t, uint32_t id)
{
    if (id > t->max_id || t->fields[id].kind == PB_K_NONE) {
        return NULL;
    }
    return &t->fields[id];
}

/*
 * Counts the fields of [p, end) that type |t| does not know. Returns PB_OK or PB_EMALFORMED.
 */
static int pb_count_unknown(const struct pb_type *t, const uint8_t *p, const uint8_t *end,
                            size_t *out)
{
    struct pb_item it;
    size_t n = 0;
    while (p < end) {
        if (pb_next(&p, end, &it) != PB_OK) {
            return PB_EMALFORMED;
        }
        n += pb_lookup(t, it.id) == NULL;
    }
    *out = n;
    return PB_OK;
}

/*
 * Counts, in [p, end), the elements of each repeated field of |t| into |counts| (packed runs
 * counted as protobuf-c counts them) and the unknown fields into |*n_unknown|. Returns PB_OK or
 * PB_EMALFORMED.
 */
static int pb_count(const struct pb_type *t, const uint8_t *p, const uint8_t *end, size_t *counts,
                    size_t *n_unknown)
{
    struct pb_item it;
    size_t nu = 0;
    for (unsigned s = 0; s < t->n_rep; s++) {
        counts[s] = 0;
    }
    while (p < end) {
        if (pb_next(&p, end, &it) != PB_OK) {
            return PB_EMALFORMED;
        }
        const struct pb_field *f = pb_lookup(t, it.id);
        if (f == NULL) {
            nu++;
        } else if (f->kind == PB_K_REPEATED) {
            if (it.wt == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED && f->packable) {
                size_t c;
                if (pb_packed_count(f->type, it.val + it.plen, it.vlen - it.plen, &c) != PB_OK) {
                    return PB_EMALFORMED;
                }
                counts[f->slot] += c;
            } else {
                counts[f->slot]++;
            }
        }
    }
    *n_unknown = nu;
    return PB_OK;
}

/*
 * Decodes the message of type |t| in [p, end) into |msg| (already initialised), at nesting
 * level |depth| (the request is 1).
 */
static int pb_decode_msg(struct pb_ctx *cx, const struct pb_type *t, const uint8_t *p,
                         const uint8_t *end, ProtobufCMessage *msg, unsigned depth)
{
    size_t counts[PB_MAX_REP];
    uint8_t *elems[PB_MAX_REP]; /* the next struct of each repeated sub-message field */
    size_t n_unknown = SIZE_MAX;
    struct pb_item it;
    int rc;

    if (t->fast != PB_FAST_NONE) {
        rc = t->fast == PB_FAST_KV ? pb_fast_kv(cx, t, p, end, msg, depth)
                                   : pb_fast_any(cx, p, end, msg);
        if (rc != PB_FALLBACK) {
            return rc;
        }
        memcpy(msg, t->init, t->size);
    }

    /* Repeated fields get exactly sized arrays, as protobuf-c's: at the first repeated field
     * the rest of the message is counted (encoders write fields in number order, so the
     * scalars before the first repeated field are not read twice). */
    int counted = 0;

    uint8_t *mb = (uint8_t *)msg;
    while (p < end) {
        const uint8_t *at = p;
        if (pb_next(&p, end, &it) != PB_OK) {
            return PB_EMALFORMED;
        }
        const struct pb_field *f = pb_lookup(t, it.id);
        if (f == NULL) {
            if (msg->unknown_fields == NULL) {
                if (n_unknown == SIZE_MAX && pb_count_unknown(t, at, end, &n_unknown) != PB_OK) {
                    return PB_EMALFORMED;
                }
                msg->unknown_fields =
                    pb_alloc(cx, n_unknown * sizeof(ProtobufCMessageUnknownField), 8);
                if (msg->unknown_fields == NULL) {
                    return PB_EALLOC;
                }
            }
            uint8_t *copy = pb_alloc(cx, it.vlen, 1);
            if (copy == NULL) {
                return PB_EALLOC;
            }
            pb_copy(copy, it.val, it.vlen);
            ProtobufCMessageUnknownField *uf = &msg->unknown_fields[msg->n_unknown_fields++];
            uf->tag = it.id;
            uf->wire_type = (ProtobufCWireType)it.wt;
            uf->len = it.vlen;
            uf->data = copy;
            continue;
        }
        uint8_t *member = mb + f->offset;
        switch (f->kind) {
        case PB_K_SINGLE:
            rc = pb_value(cx, f, &it, member, 1, NULL, depth);
            if (rc != PB_OK) {
                return rc;
            }
            if (f->qoff != 0) {
                protobuf_c_boolean one = 1;
                memcpy(mb + f->qoff, &one, sizeof(one));
            }
            break;
        case PB_K_ONEOF: {
            uint32_t old;
            memcpy(&old, mb + f->qoff, sizeof(old));
            if (old != 0) {
                const struct pb_field *of = pb_lookup(t, old);
                if (of == NULL) {
                    return PB_EMALFORMED;
                }
                memset(member, 0, of->elt);
            }
            rc = pb_value(cx, f, &it, member, 1, NULL, depth);
            if (rc != PB_OK) {
                return rc;
            }
            memcpy(mb + f->qoff, &it.id, sizeof(it.id));
            break;
        }
        default: {
            size_t n;
            uint8_t *arr;
            if (!counted) {
                /* No repeated field so far: the counts from here on are the whole counts; the
                 * unknown fields' count is only used when none came before. */
                size_t nu;
                if (pb_count(t, at, end, counts, &nu) != PB_OK) {
                    return PB_EMALFORMED;
                }
                if (msg->unknown_fields == NULL) {
                    n_unknown = nu;
                }
                counted = 1;
            }
            memcpy(&n, mb + f->qoff, sizeof(n));
            memcpy(&arr, member, sizeof(arr));
            if (arr == NULL) {
                size_t c = counts[f->slot];
                if (c == 0) {
                    /* Only packed runs without a complete element so far: empty ones pass, a
                     * run of continuation bytes is an unterminated varint (protobuf-c counts
                     * no element in it, then fails to read it). */
                    if (it.vlen > it.plen) {
                        return PB_EMALFORMED;
                    }
                    break;
                }
                arr = pb_alloc(cx, c * f->elt, 8);
                if (arr == NULL) {
                    return PB_EALLOC;
                }
                if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                    elems[f->slot] = pb_alloc(cx, c * f->child->size, 8);
                    if (elems[f->slot] == NULL) {
                        return PB_EALLOC;
                    }
                }
                memcpy(member, &arr, sizeof(arr));
            }
            if (it.wt == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED && f->packable) {
                rc = pb_packed_parse(f->type, f->elt, it.val + it.plen, it.vlen - it.plen, arr, &n);
            } else {
                ProtobufCMessage *sub = NULL;
                if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                    sub = (ProtobufCMessage *)(void *)elems[f->slot];
                    elems[f->slot] += f->child->size;
                }
                rc = pb_value(cx, f, &it, arr + (size_t)f->elt * n, 0, sub, depth);
                n++;
            }
            if (rc != PB_OK) {
                return rc;
            }
            memcpy(mb + f->qoff, &n, sizeof(n));
            break;
        }
        }
    }
    return PB_OK;
}

/* Writes the reason of a failed decode as the check_depth-then-unpack path words it. */
static int pb_fail(enum ag_signal signal, const uint8_t *buf, size_t len, struct ag_arena *arena,
                   int alloc_failed, char *err, size_t errlen)
{
    const ProtobufCMessageDescriptor *desc = ag_otlp_request_descriptor(signal);
    int rc = ag_otlp_check_depth(desc, buf, len, AG_OTLP_MAX_DEPTH, err, errlen);
    if (rc != 0) {
        return rc;
    }
    if (alloc_failed && ag_arena_exhausted(arena)) {
        snprintf(err, errlen,
                 "the decoded %s request is larger than the memory allowed for one request",
                 ag_signal_name(signal));
        return AG_ETOOBIG;
    }
    snprintf(err, errlen,
             "cannot decode the body as a protobuf %s (truncated, corrupt, or a field with the "
             "wrong wire type)",
             desc->name);
    return AG_EPROTO;
}

int ag_otlp_pb_decode_reference(enum ag_signal signal, const uint8_t *buf, size_t len,
                                struct ag_arena *arena, ProtobufCMessage **out, char *err,
                                size_t errlen)
{
    *out = NULL;
    const ProtobufCMessageDescriptor *desc = ag_otlp_request_descriptor(signal);
    if (desc == NULL) {
        return AG_EINVAL;
    }
    int rc = ag_otlp_check_depth(desc, buf, len, AG_OTLP_MAX_DEPTH, err, errlen);
    if (rc != 0) {
        return rc;
    }
    ProtobufCAllocator alloc;
    ag_arena_pb_allocator(arena, &alloc);
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &alloc, len, buf);
    if (msg == NULL) {
        return pb_fail(signal, buf, len, arena, 1, err, errlen);
    }
    *out = msg;
    return 0;
}

int ag_otlp_pb_decode(enum ag_signal signal, const uint8_t *buf, size_t len, struct ag_arena *arena,
                      ProtobufCMessage **out, char *err, size_t errlen)
{
    *out = NULL;
    const ProtobufCMessageDescriptor *desc = ag_otlp_request_descriptor(signal);
    if (desc == NULL) {
        return AG_EINVAL;
    }
    pthread_once(&pb_once, pb_build);
    if (!pb_ready) {
        return ag_otlp_pb_decode_reference(signal, buf, len, arena, out, err, errlen);
    }
    const struct pb_type *t = NULL;
    for (unsigned i = 0; i < pb_n_types; i++) {
        if (pb_types[i].desc == desc) {
            t = &pb_types[i];
            break;
        }
    }
    struct pb_ctx cx = {arena, NULL, NULL};
    ProtobufCMessage *msg = pb_alloc(&cx, t->size, 8);
    if (msg == NULL) {
        return pb_fail(signal, buf, len, arena, 1, err, errlen);
    }
    memcpy(msg, t->init, t->size);
    int rc = len > 0 ? pb_decode_msg(&cx, t, buf, buf + len, msg, 1) : PB_OK;
    if (rc != PB_OK) {
        return pb_fail(signal, buf, len, arena, rc == PB_EALLOC, err, errlen);
    }
    *out = msg;
    return 0;
}
