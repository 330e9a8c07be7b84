/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP/JSON decoding and encoding. One generic codec walks protobuf-c's message descriptors, so
 * every OTLP message (and any later addition to the protos) is handled by the same code: jansson
 * parses the body, the walk fills the generated structs in the request arena exactly as
 * protobuf-c's unpack would, and the encoder writes them back with the streaming writer.
 */
#include "ag_otlp_json.h"
#include "ag_err.h"
#include "ag_json.h"
#include "ag_mem.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

/* Longest field name we look up; longer JSON keys cannot name a field and are skipped. */
#define FIELD_NAME_MAX 64

/* ---- shared helpers -------------------------------------------------------------------------- */

/*
 * OTLP writes trace and span ids as hex, not base64 like every other bytes field. The rule is by
 * field name, which covers Span, Span.Link, LogRecord and Exemplar. Returns the id's size in
 * bytes, or 0 when |f| is not an id field.
 */
static size_t id_size(const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_BYTES) {
        return 0;
    }
    if (strcmp(f->name, "trace_id") == 0) {
        return 16;
    }
    if (strcmp(f->name, "span_id") == 0 || strcmp(f->name, "parent_span_id") == 0) {
        return 8;
    }
    return 0;
}

/* The size of one element of a repeated field of |type|, as protobuf-c lays the array out. */
static size_t elt_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static const ProtobufCMessageDescriptor *request_descriptor(enum ag_signal signal)
{
    static const ProtobufCMessageDescriptor *const requests[AG_SIGNAL_COUNT] = {
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor,
        &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
    };
    return (unsigned)signal < AG_SIGNAL_COUNT ? requests[signal] : NULL;
}

/* ---- decoding -------------------------------------------------------------------------------- */

/*
 * One step of the JSON path, kept on the C stack while the walk descends: the path is only
 * turned into text when an error is reported.
 */
struct path {
    const struct path *parent;
    const char *key; /* an object key, or NULL for an array element */
    size_t index;    /* the element's index when key is NULL */
};

struct dec {
    struct ag_arena *arena;
    char *err;
    size_t errlen;
};

static void err_append(struct dec *d, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void err_append(struct dec *d, size_t *pos, const char *fmt, ...)
{
    if (d->err == NULL || *pos + 1 >= d->errlen) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->err + *pos, d->errlen - *pos, fmt, ap);
    va_end(ap);
    if (n > 0) {
        *pos += (size_t)n;
        if (*pos >= d->errlen) {
            *pos = d->errlen - 1;
        }
    }
}

static void path_format(struct dec *d, size_t *pos, const struct path *p)
{
    if (p == NULL) {
        return;
    }
    path_format(d, pos, p->parent);
    if (p->key == NULL) {
        err_append(d, pos, "[%zu]", p->index);
    } else {
        err_append(d, pos, "%s%s", p->parent != NULL ? "." : "", p->key);
    }
}

/* Writes "<path>: <message>" to the caller's error buffer and returns AG_EPROTO. A path too
 * long to leave room for the message keeps its start and its end, with "..." between. */
static int fail(struct dec *d, const struct path *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct dec *d, const struct path *p, const char *fmt, ...)
{
    size_t pos = 0, max_path = d->errlen / 2;
    if (d->err == NULL || d->errlen == 0) {
        return AG_EPROTO;
    }
    d->err[0] = '\0';
    if (p != NULL) {
        char full[4096];
        struct dec tmp = *d;
        size_t len = 0;
        tmp.err = full;
        tmp.errlen = sizeof(full);
        full[0] = '\0';
        path_format(&tmp, &len, p);
        if (len > max_path && max_path > 16) {
            size_t head = max_path / 3, tail = max_path - head - 3;
            err_append(d, &pos, "%.*s...%s", (int)head, full, full + len - tail);
        } else {
            err_append(d, &pos, "%s", full);
        }
        err_append(d, &pos, ": ");
    }
    if (pos + 1 < d->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err + pos, d->errlen - pos, fmt, ap);
        va_end(ap);
    }
    return AG_EPROTO;
}

/* An arena allocation failed: tell the cap (AG_ETOOBIG) from the system (AG_ENOMEM). */
static int alloc_failed(struct dec *d)
{
    if (ag_arena_exhausted(d->arena)) {
        if (d->err != NULL && d->errlen > 0) {
            snprintf(d->err, d->errlen,
                     "the decoded request is larger than the memory allowed for one request");
        }
        return AG_ETOOBIG;
    }
    if (d->err != NULL && d->errlen > 0) {
        snprintf(d->err, d->errlen, "out of memory");
    }
    return AG_ENOMEM;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "value";
}

/*
 * Finds the field a JSON key names: the proto field name itself (snake_case) or its
 * lowerCamelCase JSON name, which is turned back into snake_case for protobuf-c's lookup.
 */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  const char *key)
{
    char snake[FIELD_NAME_MAX];
    size_t n = 0;
    int camel = 0;
    for (const char *p = key; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            camel = 1;
            break;
        }
    }
    if (!camel) {
        return protobuf_c_message_descriptor_get_field_by_name(desc, key);
    }
    for (const char *p = key; *p != '\0'; p++) {
        if (n + 3 > sizeof(snake)) {
            return NULL;
        }
        if (*p >= 'A' && *p <= 'Z') {
            snake[n++] = '_';
            snake[n++] = (char)(*p - 'A' + 'a');
        } else {
            snake[n++] = *p;
        }
    }
    snake[n] = '\0';
    return protobuf_c_message_descriptor_get_field_by_name(desc, snake);
}

/* A short excerpt of a string for an error message. */
static void excerpt(const json_t *v, char *out, size_t outlen)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len + 1 <= outlen) {
        memcpy(out, s, len + 1);
        return;
    }
    snprintf(out, outlen, "%.*s...", (int)(outlen - 4), s);
}

/* Parses an optional '-' and decimal digits, nothing else; |*neg| tells the sign. */
static int parse_decimal(const char *s, size_t len, int *neg, uint64_t *mag)
{
    size_t i = 0;
    uint64_t v = 0;
    *neg = 0;
    if (len > 0 && s[0] == '-') {
        *neg = 1;
        i = 1;
    }
    if (i == len) {
        return -1;
    }
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) {
            return 1; /* overflow */
        }
        v = v * 10 + digit;
    }
    *mag = v;
    return 0;
}

enum int_kind {
    INT_S32,
    INT_U32,
    INT_S64,
    INT_U64,
};

static const char *int_kind_name(enum int_kind k)
{
    static const char *names[] = {"int32", "uint32", "int64", "uint64"};
    return names[k];
}

/*
 * Reads an integer field: a JSON number (an integral real such as 5.0 is accepted) or a decimal
 * string, range-checked for |kind|. Signed results go to |*s|, unsigned ones to |*u|.
 */
static int get_int(struct dec *d, const json_t *v, const struct path *p, enum int_kind kind,
                   int64_t *s, uint64_t *u)
{
    int is_signed = kind == INT_S32 || kind == INT_S64;
    int64_t smin = kind == INT_S32 ? INT32_MIN : INT64_MIN;
    int64_t smax = kind == INT_S32 ? INT32_MAX : INT64_MAX;
    uint64_t umax = kind == INT_U32 ? UINT32_MAX : UINT64_MAX;
    char shown[48];
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (is_signed ? (x < smin || x > smax) : (x < 0 || (uint64_t)x > umax)) {
            return fail(d, p, "expected an integer in the %s range, got %" JSON_INTEGER_FORMAT,
                        int_kind_name(kind), x);
        }
        *s = (int64_t)x;
        *u = (uint64_t)x;
        return 0;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        int ok = x == floor(x);
        if (ok && is_signed) {
            ok = x >= (double)smin && x < -(double)smin;
        } else if (ok) {
            ok = x >= 0 && x < (kind == INT_U32 ? 4294967296.0 : 18446744073709551616.0);
        }
        if (!ok) {
            return fail(d, p, "expected an integer in the %s range, got %.17g", int_kind_name(kind),
                        x);
        }
        if (is_signed) {
            *s = (int64_t)x;
            *u = (uint64_t)*s;
        } else {
            *u = (uint64_t)x;
            *s = (int64_t)*u;
        }
        return 0;
    }
    if (json_is_string(v)) {
        int neg;
        uint64_t mag = 0;
        int rc = parse_decimal(json_string_value(v), json_string_length(v), &neg, &mag);
        excerpt(v, shown, sizeof(shown));
        if (rc < 0) {
            return fail(d, p, "expected an integer, got \"%s\"", shown);
        }
        if (rc == 0 && is_signed && !neg && mag <= (uint64_t)smax) {
            *s = (int64_t)mag;
        } else if (rc == 0 && is_signed && neg && mag <= (uint64_t)smax + 1) {
            /* Negate in unsigned arithmetic: -(INT64_MIN) does not fit in int64. */
            *s = (int64_t)(0 - mag);
        } else if (rc == 0 && !is_signed && (!neg || mag == 0) && mag <= umax) {
            *u = mag;
            *s = (int64_t)mag;
            return 0;
        } else {
            return fail(d, p, "expected an integer in the %s range, got \"%s\"",
                        int_kind_name(kind), shown);
        }
        *u = (uint64_t)*s;
        return 0;
    }
    return fail(d, p, "expected an integer (a number or a decimal string), got %s", json_kind(v));
}

/* JSON number syntax (RFC 8259), for doubles that arrive as strings. */
static int is_json_number(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-') {
        i++;
    }
    if (i == len || s[i] < '0' || s[i] > '9') {
        return 0;
    }
    if (s[i] == '0') {
        i++;
    } else {
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }
    if (i < len && s[i] == '.') {
        i++;
        if (i == len || s[i] < '0' || s[i] > '9') {
            return 0;
        }
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (i == len || s[i] < '0' || s[i] > '9') {
            return 0;
        }
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }
    return i == len;
}

/* Reads a double: a JSON number, "NaN", "Infinity", "-Infinity" or a number in a string. */
static int get_double(struct dec *d, const json_t *v, const struct path *p, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (!json_is_string(v)) {
        return fail(d, p, "expected a number, got %s", json_kind(v));
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strcmp(s, "NaN") == 0) {
        *out = NAN;
        return 0;
    }
    if (strcmp(s, "Infinity") == 0) {
        *out = INFINITY;
        return 0;
    }
    if (strcmp(s, "-Infinity") == 0) {
        *out = -INFINITY;
        return 0;
    }
    char shown[48];
    excerpt(v, shown, sizeof(shown));
    if (!is_json_number(s, len)) {
        return fail(d, p, "expected a number, got \"%s\"", shown);
    }
    double x = strtod(s, NULL);
    if (isinf(x)) {
        return fail(d, p, "number out of range: \"%s\"", shown);
    }
    *out = x;
    return 0;
}

static int get_enum(struct dec *d, const ProtobufCFieldDescriptor *f, const json_t *v,
                    const struct path *p, int32_t *out)
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    int64_t s = 0;
    uint64_t u = 0;
    if (json_is_string(v)) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
        if (ev != NULL) {
            *out = ev->value;
            return 0;
        }
        int neg;
        if (parse_decimal(json_string_value(v), json_string_length(v), &neg, &u) < 0) {
            char shown[48];
            excerpt(v, shown, sizeof(shown));
            return fail(d, p, "unknown value \"%s\" for enum %s", shown, ed->name);
        }
    }
    /* Enums are open in proto3: any int32 is kept, named or not. */
    int rc = get_int(d, v, p, INT_S32, &s, &u);
    if (rc != 0) {
        return rc;
    }
    *out = (int32_t)s;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int get_id(struct dec *d, const json_t *v, const struct path *p, size_t size,
                  ProtobufCBinaryData *out)
{
    if (!json_is_string(v)) {
        return fail(d, p, "expected a string of %zu hex digits, got %s", size * 2, json_kind(v));
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    out->len = 0;
    out->data = NULL;
    if (len == 0) {
        return 0;
    }
    if (len != size * 2) {
        return fail(d, p, "expected %zu hex digits, got %zu characters", size * 2, len);
    }
    uint8_t *b = ag_arena_alloc(d->arena, size);
    if (b == NULL) {
        return alloc_failed(d);
    }
    for (size_t i = 0; i < size; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return fail(d, p, "expected %zu hex digits, got a non-hex character at offset %zu",
                        size * 2, hi < 0 ? 2 * i : 2 * i + 1);
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    out->len = size;
    out->data = b;
    return 0;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

/* Base64 in the standard or URL-safe alphabet, with or without padding. */
static int get_base64(struct dec *d, const json_t *v, const struct path *p,
                      ProtobufCBinaryData *out)
{
    if (!json_is_string(v)) {
        return fail(d, p, "expected a base64 string, got %s", json_kind(v));
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t n = len;
    out->len = 0;
    out->data = NULL;
    while (n > 0 && len - n < 2 && s[n - 1] == '=') {
        n--;
    }
    if ((n < len && len % 4 != 0) || n % 4 == 1) {
        return fail(d, p, "expected base64, got a string of the wrong length (%zu characters)",
                    len);
    }
    if (n == 0) {
        return 0;
    }
    uint8_t *b = ag_arena_alloc(d->arena, n / 4 * 3 + 2);
    if (b == NULL) {
        return alloc_failed(d);
    }
    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int x = b64_value(s[i]);
        if (x < 0) {
            return fail(d, p, "expected base64, got an invalid character at offset %zu", i);
        }
        acc = acc << 6 | (uint32_t)x;
        if (i % 4 == 3) {
            b[o++] = (uint8_t)(acc >> 16);
            b[o++] = (uint8_t)(acc >> 8);
            b[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (n % 4 == 2) {
        b[o++] = (uint8_t)(acc >> 4);
    } else if (n % 4 == 3) {
        b[o++] = (uint8_t)(acc >> 10);
        b[o++] = (uint8_t)(acc >> 2);
    }
    out->len = o;
    out->data = b;
    return 0;
}

static int dec_message(struct dec *d, const ProtobufCMessageDescriptor *desc, const json_t *obj,
                       const struct path *p, unsigned depth, ProtobufCMessage **out);

/* Decodes one value of field |f| (a singular field or one element of a repeated one). */
static int dec_value(struct dec *d, const ProtobufCFieldDescriptor *f, const json_t *v,
                     const struct path *p, unsigned depth, void *member)
{
    int64_t s = 0;
    uint64_t u = 0;
    double x = 0;
    int rc = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = get_int(d, v, p, INT_S32, &s, &u)) == 0) {
            *(int32_t *)member = (int32_t)s;
        }
        return rc;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = get_int(d, v, p, INT_U32, &s, &u)) == 0) {
            *(uint32_t *)member = (uint32_t)u;
        }
        return rc;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = get_int(d, v, p, INT_S64, &s, &u)) == 0) {
            *(int64_t *)member = s;
        }
        return rc;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = get_int(d, v, p, INT_U64, &s, &u)) == 0) {
            *(uint64_t *)member = u;
        }
        return rc;
    case PROTOBUF_C_TYPE_FLOAT:
        if ((rc = get_double(d, v, p, &x)) != 0) {
            return rc;
        }
        if (isfinite(x) && fabs(x) > FLT_MAX) {
            return fail(d, p, "number out of range for a float: %.17g", x);
        }
        *(float *)member = (float)x;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = get_double(d, v, p, &x)) == 0) {
            *(double *)member = x;
        }
        return rc;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) {
            return fail(d, p, "expected true or false, got %s", json_kind(v));
        }
        *(protobuf_c_boolean *)member = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t e = 0;
        if ((rc = get_enum(d, f, v, p, &e)) == 0) {
            *(int32_t *)member = e;
        }
        return rc;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v)) {
            return fail(d, p, "expected a string, got %s", json_kind(v));
        }
        size_t len = json_string_length(v);
        /*
         * An empty string can share protobuf-c's default, except in a oneof: there protobuf-c
         * treats the default pointer as "not set" when packing, while unpack gives a fresh "".
         */
        if (len == 0 && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
            *(char **)member = (char *)protobuf_c_empty_string;
            return 0;
        }
        char *str = ag_arena_strndup(d->arena, json_string_value(v), len);
        if (str == NULL) {
            return alloc_failed(d);
        }
        *(char **)member = str;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        size_t size = id_size(f);
        if (size != 0) {
            return get_id(d, v, p, size, member);
        }
        return get_base64(d, v, p, member);
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return dec_message(d, f->descriptor, v, p, depth + 1, member);
    }
    return fail(d, p, "field type %d is not supported", (int)f->type);
}

static int dec_repeated(struct dec *d, const ProtobufCFieldDescriptor *f, const json_t *arr,
                        const struct path *p, unsigned depth, ProtobufCMessage *msg)
{
    size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
    void **array = (void **)((char *)msg + f->offset);
    if (!json_is_array(arr)) {
        return fail(d, p, "expected an array, got %s", json_kind(arr));
    }
    if (depth + 1 > AG_OTLP_JSON_MAX_DEPTH) {
        return fail(d, p, "nested deeper than %d levels", AG_OTLP_JSON_MAX_DEPTH);
    }
    size_t n = json_array_size(arr);
    *count = 0;
    *array = NULL;
    if (n == 0) {
        return 0;
    }
    size_t esize = elt_size(f->type);
    if (n > SIZE_MAX / esize) {
        return alloc_failed(d);
    }
    char *elts = ag_arena_calloc(d->arena, n * esize);
    if (elts == NULL) {
        return alloc_failed(d);
    }
    for (size_t i = 0; i < n; i++) {
        struct path ep = {p, NULL, i};
        const json_t *ev = json_array_get(arr, i);
        if (json_is_null(ev)) {
            return fail(d, &ep, "null is not allowed in an array");
        }
        int rc = dec_value(d, f, ev, &ep, depth + 1, elts + i * esize);
        if (rc != 0) {
            return rc;
        }
    }
    *count = n;
    *array = elts;
    return 0;
}

static int dec_message(struct dec *d, const ProtobufCMessageDescriptor *desc, const json_t *obj,
                       const struct path *p, unsigned depth, ProtobufCMessage **out)
{
    if (!json_is_object(obj)) {
        return fail(d, p, "expected an object, got %s", json_kind(obj));
    }
    if (depth > AG_OTLP_JSON_MAX_DEPTH) {
        return fail(d, p, "nested deeper than %d levels", AG_OTLP_JSON_MAX_DEPTH);
    }
    ProtobufCMessage *msg = ag_arena_alloc(d->arena, desc->sizeof_message);
    if (msg == NULL) {
        return alloc_failed(d);
    }
    protobuf_c_message_init(desc, msg);

    for (void *it = json_object_iter((json_t *)obj); it != NULL;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        const json_t *v = json_object_iter_value(it);
        const ProtobufCFieldDescriptor *f = find_field(desc, key);
        /* Unknown fields are ignored; null means the default value. */
        if (f == NULL || json_is_null(v)) {
            continue;
        }
        struct path fp = {p, key, 0};
        char *member = (char *)msg + f->offset;
        int rc;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            rc = dec_repeated(d, f, v, &fp, depth, msg);
        } else {
            rc = dec_value(d, f, v, &fp, depth, member);
        }
        if (rc != 0) {
            return rc;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* A later member of the same oneof replaces an earlier one, as on the wire. */
            *(uint32_t *)((char *)msg + f->quantifier_offset) = f->id;
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
            /* proto2 optional scalars carry a has_ flag (none in OTLP, kept for generality). */
            *(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = 1;
        }
    }
    *out = msg;
    return 0;
}

/*
 * jansson allocates the parse tree with malloc by default; route it through Otter's wrappers so
 * failmalloc tests and allocation counts include it. ag_malloc and ag_free are malloc and free
 * underneath, so trees built before the switch are still freed correctly. jansson does not
 * report an allocation failure reliably (often as a syntax error, or with no text at all), so
 * the wrapper notes it per thread and the decoder answers AG_ENOMEM rather than "invalid JSON".
 */
static pthread_once_t jansson_once = PTHREAD_ONCE_INIT;
static _Thread_local int jansson_alloc_failed;

static void *jansson_malloc(size_t size)
{
    void *p = ag_malloc(size);
    if (p == NULL) {
        jansson_alloc_failed = 1;
    }
    return p;
}

static void jansson_setup(void)
{
    json_set_alloc_funcs(jansson_malloc, ag_free);
}

/*
 * jansson refuses integer literals beyond int64 ("too big integer"), but OTLP/JSON decoders must
 * take 64-bit integers as numbers, and fixed64 timestamps and counts reach 2^64 - 1. Only when
 * jansson reported that overflow, the body is copied with every integer literal of 19 digits or
 * more (outside strings) put in quotes, which every integer and double field accepts, so the
 * value stays exact. Returns the new text (ag_free() it) and its length, or NULL on OOM.
 */
static char *quote_big_integers(const char *in, size_t len, size_t *out_len)
{
    char *out = ag_malloc(len + len / 9 + 3);
    size_t o = 0;
    int in_string = 0;
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        char c = in[i];
        if (in_string) {
            out[o++] = c;
            i++;
            if (c == '\\' && i < len) {
                out[o++] = in[i++];
            } else if (c == '"') {
                in_string = 0;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
            out[o++] = c;
            i++;
            continue;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i + (c == '-'), digits = 0, end;
            while (j < len && in[j] >= '0' && in[j] <= '9') {
                j++;
                digits++;
            }
            end = j;
            while (end < len && (in[end] == '.' || in[end] == 'e' || in[end] == 'E' ||
                                 in[end] == '+' || in[end] == '-' ||
                                 (in[end] >= '0' && in[end] <= '9'))) {
                end++;
            }
            int quote = end == j && digits >= 19;
            if (quote) {
                out[o++] = '"';
            }
            memcpy(out + o, in + i, end - i);
            o += end - i;
            if (quote) {
                out[o++] = '"';
            }
            i = end;
            continue;
        }
        out[o++] = c;
        i++;
    }
    *out_len = o;
    return out;
}

int ag_otlp_json_decode_message(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                                size_t len, struct ag_arena *arena, ProtobufCMessage **out,
                                char *err, size_t errlen)
{
    struct dec d = {arena, err, errlen};
    json_error_t jerr;
    json_t *root = NULL;
    int rc;

    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    pthread_once(&jansson_once, jansson_setup);
    jansson_alloc_failed = 0;
    root = json_loadb(buf != NULL ? (const char *)buf : "", len, JSON_DECODE_ANY, &jerr);
    if (root == NULL && json_error_code(&jerr) == json_error_numeric_overflow) {
        size_t qlen;
        char *quoted = quote_big_integers((const char *)buf, len, &qlen);
        if (quoted == NULL) {
            if (err != NULL && errlen > 0) {
                snprintf(err, errlen, "out of memory");
            }
            return AG_ENOMEM;
        }
        root = json_loadb(quoted, qlen, JSON_DECODE_ANY, &jerr);
        ag_free(quoted);
    }
    if (root == NULL) {
        if (jansson_alloc_failed || json_error_code(&jerr) == json_error_out_of_memory) {
            if (err != NULL && errlen > 0) {
                snprintf(err, errlen, "out of memory");
            }
            return AG_ENOMEM;
        }
        return fail(&d, NULL, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                    ag_err_one_line(jerr.text));
    }
    if (!json_is_object(root)) {
        rc = fail(&d, NULL, "expected a JSON object at the top level, got %s", json_kind(root));
        goto out;
    }
    rc = dec_message(&d, desc, root, NULL, 1, out);
    if (rc != 0) {
        *out = NULL;
    }
out:
    json_decref(root);
    return rc;
}

int ag_otlp_json_decode(enum ag_signal signal, const uint8_t *buf, size_t len,
                        struct ag_arena *arena, ProtobufCMessage **out, char *err, size_t errlen)
{
    const ProtobufCMessageDescriptor *desc = request_descriptor(signal);
    if (desc == NULL) {
        *out = NULL;
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "unknown signal %d", (int)signal);
        }
        return AG_EINVAL;
    }
    return ag_otlp_json_decode_message(desc, buf, len, arena, out, err, errlen);
}

/* ---- encoding -------------------------------------------------------------------------------- */

/* Writes the lowerCamelCase JSON name of a proto field as an object key. */
static void enc_key(struct ag_json *w, const char *name)
{
    char camel[FIELD_NAME_MAX];
    size_t n = 0;
    int up = 0;
    for (const char *p = name; *p != '\0' && n + 1 < sizeof(camel); p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        camel[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        up = 0;
    }
    ag_json_keyn(w, camel, n);
}

/* Does |member| hold the proto3 default, which the JSON mapping leaves out? */
static int is_default(const ProtobufCFieldDescriptor *f, const void *member)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return *(const uint32_t *)member == 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)member == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)member == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)member == 0;
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)member;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        return s == NULL || s[0] == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)member)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)member == NULL;
    }
    return 1;
}

static void enc_message(struct ag_json *w, const ProtobufCMessage *msg);

static void enc_value(struct ag_json *w, const ProtobufCFieldDescriptor *f, const void *member)
{
    char tmp[24];
    int n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        ag_json_int(w, *(const int32_t *)member);
        return;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        ag_json_uint(w, *(const uint32_t *)member);
        return;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        n = snprintf(tmp, sizeof(tmp), "%" PRId64, *(const int64_t *)member);
        ag_json_strn(w, tmp, (size_t)n);
        return;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        n = snprintf(tmp, sizeof(tmp), "%" PRIu64, *(const uint64_t *)member);
        ag_json_strn(w, tmp, (size_t)n);
        return;
    case PROTOBUF_C_TYPE_FLOAT:
        ag_json_double(w, *(const float *)member);
        return;
    case PROTOBUF_C_TYPE_DOUBLE:
        ag_json_double(w, *(const double *)member);
        return;
    case PROTOBUF_C_TYPE_BOOL:
        ag_json_bool(w, *(const protobuf_c_boolean *)member);
        return;
    case PROTOBUF_C_TYPE_STRING:
        ag_json_str(w, *(char *const *)member);
        return;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = member;
        if (id_size(f) != 0) {
            ag_json_hex(w, b->data, b->len);
        } else {
            ag_json_base64(w, b->data, b->len);
        }
        return;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        if (sub == NULL) {
            ag_json_obj_open(w);
            ag_json_obj_close(w);
        } else {
            enc_message(w, sub);
        }
        return;
    }
    }
}

static void enc_message(struct ag_json *w, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    /* The writer's nesting limit makes the error sticky; stop descending once it is hit. */
    if (w->err != 0) {
        return;
    }
    ag_json_obj_open(w);
    for (unsigned i = 0; i < desc->n_fields && w->err == 0; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const char *member = (const char *)msg + f->offset;
        const char *quant = (const char *)msg + f->quantifier_offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)quant;
            const char *elts = *(char *const *)member;
            size_t esize = elt_size(f->type);
            if (count == 0 || elts == NULL) {
                continue;
            }
            enc_key(w, f->name);
            ag_json_arr_open(w);
            for (size_t j = 0; j < count; j++) {
                enc_value(w, f, elts + j * esize);
            }
            ag_json_arr_close(w);
            continue;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /*
             * A set oneof member is written even when it holds the default value, but like
             * protobuf-c's pack, a NULL or default pointer counts as not set.
             */
            if (*(const uint32_t *)quant != f->id) {
                continue;
            }
            if ((f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING) &&
                (*(void *const *)member == NULL || *(void *const *)member == f->default_value)) {
                continue;
            }
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)quant) {
                continue;
            }
        } else if (f->label == PROTOBUF_C_LABEL_NONE || f->label == PROTOBUF_C_LABEL_OPTIONAL) {
            if (is_default(f, member)) {
                continue;
            }
        }
        enc_key(w, f->name);
        enc_value(w, f, member);
    }
    ag_json_obj_close(w);
}

int ag_otlp_json_encode(const ProtobufCMessage *msg, struct ag_buf *out)
{
    struct ag_json w;
    ag_json_init(&w, out);
    enc_message(&w, msg);
    int rc = ag_json_finish(&w);
    if (rc != 0) {
        /* A too-deep message leaves a partial line: free it as a failed append would have. */
        ag_buf_cleanup(out);
    }
    return rc;
}
