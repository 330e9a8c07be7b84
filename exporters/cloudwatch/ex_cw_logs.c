/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Log record -> CloudWatch Logs event message, as upstream's awscloudwatchlogs exporter builds it
 * with Go's encoding/json: a struct with omitempty fields in a fixed order, maps with their keys
 * sorted, pdata's AsRaw() values (bytes as base64) and AsString() for scope attributes and
 * raw_log. Also the {placeholder} expansion of group and stream names.
 */
#include "ex_cw_logs.h"
#include "ag_json.h"
#include "ag_mem.h"

#include <jansson.h>
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__AnyValue anyvalue;
typedef Opentelemetry__Proto__Common__V1__KeyValue keyvalue;

#define V(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x

static void write_value(struct ag_json *w, const anyvalue *v);

/*
 * Writes |v| (finite) as Go's encoding/json does (ES6 number formatting): the shortest digits
 * that read back, fixed notation for 1e-6 <= |v| < 1e21, else d.ddde±X with no leading zero in
 * a negative exponent ("1e-7", "1e+21"). Returns the length written to |out| (>= 32 bytes).
 */
static size_t go_double(double v, char *out)
{
    char e[40];
    if (v == 0) {
        memcpy(out, signbit(v) ? "-0" : "0", 3);
        return strlen(out);
    }
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, v);
        if (strtod(e, NULL) == v) {
            break;
        }
    }
    /* e = [-]d[.ddd]e±XX */
    const char *q = e;
    size_t o = 0;
    if (*q == '-') {
        out[o++] = '-';
        q++;
    }
    char digits[24] = "0";
    size_t nd = 0;
    for (; *q != 'e'; q++) {
        if (*q != '.') {
            digits[nd++] = *q;
        }
    }
    int exp = (int)strtol(q + 1, NULL, 10);
    double a = fabs(v);
    if (a < 1e-6 || a >= 1e21) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        o += (size_t)snprintf(out + o, 8, "e%c%d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        /* Go writes at least two exponent digits, then encoding/json drops the 0 of "e-0X";
         * "e+0X" keeps it. */
        if (exp >= 0 && exp < 10) {
            out[o] = out[o - 1];
            out[o - 1] = '0';
            o++;
        }
    } else if (exp >= 0) {
        for (int i = 0; i <= exp; i++) {
            out[o++] = (size_t)i < nd ? digits[i] : '0';
        }
        if (nd > (size_t)exp + 1) {
            out[o++] = '.';
            memcpy(out + o, digits + exp + 1, nd - (size_t)exp - 1);
            o += nd - (size_t)exp - 1;
        }
    } else {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -exp - 1; i++) {
            out[o++] = '0';
        }
        memcpy(out + o, digits, nd);
        o += nd;
    }
    out[o] = '\0';
    return o;
}

/* Nonzero when one of the 8 bytes of |v| is |c| (the classic zero-byte test on v ^ c). */
static inline uint64_t has_byte(uint64_t v, uint8_t c)
{
    uint64_t x = v ^ (0x0101010101010101ull * c);
    return (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
}

/*
 * Appends |len| bytes of JSON text to |out| with Go's HTML-safe escaping applied inside its
 * strings: '<', '>', '&' become \u003c, \u003e, \u0026 and U+2028, U+2029 \u2028, \u2029 (these
 * characters cannot appear outside strings in JSON, so no parsing is needed). With |escaped| the
 * text is JSON already escaped as the content of a JSON string (ag_json_init_escaped()), and so
 * are the replacements (\\u003c). Adds to |*extra| the bytes the plain text grew by.
 */
static int go_escape_add(struct ag_buf *out, const uint8_t *s, size_t len, int escaped,
                         size_t *extra)
{
    size_t run = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < len; i++) {
        const char *esc = NULL;
        size_t skip = 1;
        /* Eight bytes at a time while none is '<', '>', '&' or 0xE2 (most messages have none). */
        while (len - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (has_byte(v, '<') | has_byte(v, '>') | has_byte(v, '&') | has_byte(v, 0xE2)) {
                break;
            }
            i += 8;
        }
        if (i >= len) {
            break;
        }
        if (s[i] == '<') {
            esc = "\\\\u003c";
        } else if (s[i] == '>') {
            esc = "\\\\u003e";
        } else if (s[i] == '&') {
            esc = "\\\\u0026";
        } else if (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 &&
                   (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            esc = s[i + 2] == 0xA8 ? "\\\\u2028" : "\\\\u2029";
            skip = 3;
        }
        if (esc == NULL) {
            continue;
        }
        /* The replacements are written with the escaped form's extra backslash first. */
        rc = ag_buf_add(out, s + run, i - run);
        rc = rc != 0 ? rc : ag_buf_add(out, esc + !escaped, 7 - (size_t)!escaped);
        *extra += 6 - skip;
        i += skip - 1;
        run = i + 1;
    }
    return rc != 0 ? rc : ag_buf_add(out, s + run, len - run);
}

/* Up to this many keys are sorted by insertion (a record's attributes), more by qsort. */
#define SMALL_SORT 16u

static int slot_cmp(const void *a, const void *b)
{
    keyvalue *const *x = *(keyvalue *const *const *)a, *const *y = *(keyvalue *const *const *)b;
    int c = strcmp((*x)->key != NULL ? (*x)->key : "", (*y)->key != NULL ? (*y)->key : "");
    if (c != 0) {
        return c;
    }
    /* Equal keys keep their order, so the last one can win below (as in a Go map). */
    return x < y ? -1 : x > y;
}

/*
 * Sorts the slots of |kvs| by key with duplicates removed (the last wins), into |*sorted| (|stack|
 * when it fits, else a new array the caller frees); returns the count, or AG_ENOMEM.
 */
static long sort_kvs(keyvalue *const *kvs, size_t n, keyvalue *const **stack, size_t stack_n,
                     keyvalue *const ***sorted)
{
    keyvalue *const **arr = n <= stack_n ? stack : ag_malloc(n * sizeof(*arr));
    *sorted = arr;
    if (arr == NULL) {
        return AG_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (kvs[i] != NULL && kvs[i]->key != NULL) {
            arr[m++] = &kvs[i];
        }
    }
    if (m <= SMALL_SORT) {
        /* A record's few attributes: a stable insertion sort by key gives qsort's (key, slot)
         * order (the slots were taken in address order) without its calls through a pointer. */
        for (size_t i = 1; i < m; i++) {
            keyvalue *const *v = arr[i];
            size_t j = i;
            for (; j > 0 && strcmp((*arr[j - 1])->key, (*v)->key) > 0; j--) {
                arr[j] = arr[j - 1];
            }
            arr[j] = v;
        }
    } else {
        qsort(arr, m, sizeof(*arr), slot_cmp);
    }
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if (k > 0 && strcmp((*arr[k - 1])->key, (*arr[i])->key) == 0) {
            arr[k - 1] = arr[i];
        } else {
            arr[k++] = arr[i];
        }
    }
    return (long)k;
}

/* Writes a map of raw values with sorted keys; an empty map writes {} (callers omit it). */
static void write_map(struct ag_json *w, keyvalue *const *kvs, size_t n)
{
    keyvalue *const *stack[32];
    keyvalue *const **arr;
    long m = sort_kvs(kvs, n, stack, 32, &arr);
    if (m < 0) {
        /* The writer's errors are sticky: record this one there (ag_json.h's struct). */
        if (w->err == 0) {
            w->err = AG_ENOMEM;
        }
        return;
    }
    ag_json_obj_open(w);
    for (long i = 0; i < m; i++) {
        ag_json_key(w, (*arr[i])->key);
        write_value(w, (*arr[i])->value);
    }
    ag_json_obj_close(w);
    if (arr != stack) {
        ag_free(arr);
    }
}

/* AsRaw(): nil for an unset value, else the natural JSON value. */
static void write_value(struct ag_json *w, const anyvalue *v)
{
    if (v == NULL) {
        ag_json_null(w);
        return;
    }
    switch (v->value_case) {
    case V(STRING_VALUE):
        ag_json_str(w, v->string_value != NULL ? v->string_value : "");
        break;
    case V(BOOL_VALUE):
        ag_json_bool(w, v->bool_value);
        break;
    case V(INT_VALUE):
        ag_json_int(w, v->int_value);
        break;
    case V(DOUBLE_VALUE):
        if (isfinite(v->double_value)) {
            char num[40];
            ag_json_raw(w, num, go_double(v->double_value, num));
        } else {
            ag_json_double(w, v->double_value); /* Go refuses these; keep them as strings */
        }
        break;
    case V(ARRAY_VALUE):
        ag_json_arr_open(w);
        for (size_t i = 0; v->array_value != NULL && i < v->array_value->n_values; i++) {
            write_value(w, v->array_value->values[i]);
        }
        ag_json_arr_close(w);
        break;
    case V(KVLIST_VALUE):
        write_map(w, v->kvlist_value != NULL ? v->kvlist_value->values : NULL,
                  v->kvlist_value != NULL ? v->kvlist_value->n_values : 0);
        break;
    case V(BYTES_VALUE):
        ag_json_base64(w, v->bytes_value.data, v->bytes_value.len);
        break;
    default:
        ag_json_null(w);
        break;
    }
}

/* Whether |v| is set (an unset body is omitted; "" is not). */
static int value_set(const anyvalue *v)
{
    return v != NULL && v->value_case != V(_NOT_SET) && v->value_case != V(STRING_VALUE_STRINDEX);
}

/* Appends AsString() of |v| to |out| (no quotes, not escaped). */
static int value_as_string(const anyvalue *v, struct ag_buf *out)
{
    if (!value_set(v)) {
        return 0;
    }
    switch (v->value_case) {
    case V(STRING_VALUE):
        return ag_buf_adds(out, v->string_value != NULL ? v->string_value : "");
    case V(BOOL_VALUE):
        return ag_buf_adds(out, v->bool_value ? "true" : "false");
    case V(INT_VALUE):
        return ag_buf_printf(out, "%lld", (long long)v->int_value);
    default: {
        /* Doubles, maps, arrays and bytes: their JSON form; bytes without the quotes (base64
         * has nothing to escape). */
        struct ag_json w;
        struct ag_buf j;
        ag_buf_init(&j, out->cap);
        ag_json_init(&w, &j);
        write_value(&w, v);
        int rc = ag_json_finish(&w);
        if (rc == 0) {
            int q = v->value_case == V(BYTES_VALUE);
            size_t extra = 0;
            rc = go_escape_add(out, ag_buf_ptr(&j) + q, j.len - 2 * (size_t)q, 0, &extra);
        }
        ag_buf_cleanup(&j);
        return rc;
    }
    }
}

static int all_zero(const ProtobufCBinaryData *b)
{
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* Whether byte |i| of the |len| bytes of |s| starts something Go's HTML-safe pass replaces. */
static inline bool go_special_at(const uint8_t *s, size_t len, size_t i)
{
    return s[i] == '<' || s[i] == '>' || s[i] == '&' ||
           (s[i] == 0xE2 && i + 2 < len && s[i + 1] == 0x80 &&
            (s[i + 2] == 0xA8 || s[i + 2] == 0xA9));
}

/*
 * Whether Go's HTML-safe pass (go_escape_add) would change any of the |len| bytes of |s|. Every
 * message is scanned and almost none has such a byte, so the scan goes 16 bytes at a time where
 * SSE2 is there (all x86-64), 8 at a time otherwise.
 */
static bool go_escape_needed(const uint8_t *s, size_t len)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i lt = _mm_set1_epi8('<'), gt = _mm_set1_epi8('>'), amp = _mm_set1_epi8('&'),
                  e2 = _mm_set1_epi8((char)0xE2);
    for (; len - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, gt)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, amp), _mm_cmpeq_epi8(v, e2)));
        /* Each flagged byte checked: a 0xE2 is mostly another character (’, €, —). */
        for (unsigned bits = (unsigned)_mm_movemask_epi8(m); bits != 0; bits &= bits - 1) {
            if (go_special_at(s, len, i + (size_t)__builtin_ctz(bits))) {
                return true;
            }
        }
    }
#endif
    while (i < len) {
        if (len - i >= 8) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (!(has_byte(v, '<') | has_byte(v, '>') | has_byte(v, '&') | has_byte(v, 0xE2))) {
                i += 8;
                continue;
            }
        }
        if (go_special_at(s, len, i)) {
            return true;
        }
        i++;
    }
    return false;
}

/*
 * Applies Go's HTML-safe escaping (go_escape_add(), |escaped| as there) to the bytes of |out| from
 * |start| on: in place when nothing changes (the common case), else through a copy. Adds to
 * |*extra| the bytes the plain text grew by. Returns 0, or AG_ETOOBIG / AG_ENOMEM with |out| freed.
 */
static int go_escape_from(struct ag_buf *out, size_t start, int escaped, size_t *extra)
{
    size_t len = out->len - start;
    if (len == 0 || !go_escape_needed(ag_buf_ptr(out) + start, len)) {
        return 0;
    }
    struct ag_buf tmp;
    ag_buf_init(&tmp, out->cap);
    int rc = ag_buf_add(&tmp, ag_buf_ptr(out) + start, len);
    if (rc == 0) {
        ag_buf_truncate(out, start);
        rc = go_escape_add(out, ag_buf_ptr(&tmp), tmp.len, escaped, extra);
    } else {
        ag_buf_cleanup(out);
    }
    ag_buf_cleanup(&tmp);
    return rc;
}

int ex_cw_logs_shared(const ex_cw_scope *scope, const ex_cw_resource *res, bool escaped,
                      struct ag_buf *out, size_t *plain_len)
{
    struct ag_json w;
    struct ag_buf tmp, obj;
    size_t extra = 0;
    ag_buf_init(&tmp, out->cap);
    ag_buf_init(&obj, out->cap);
    if (escaped) {
        ag_json_init_escaped(&w, &obj);
    } else {
        ag_json_init(&w, &obj);
    }
    ag_json_obj_open(&w);
    if (scope != NULL && scope->name != NULL && scope->name[0] != '\0') {
        ag_json_key_lit(&w, "scope");
        ag_json_obj_open(&w);
        ag_json_key_lit(&w, "name");
        ag_json_str(&w, scope->name);
        if (scope->version != NULL && scope->version[0] != '\0') {
            ag_json_key_lit(&w, "version");
            ag_json_str(&w, scope->version);
        }
        if (scope->n_attributes > 0) {
            keyvalue *const *stack[32];
            keyvalue *const **arr;
            long m = sort_kvs(scope->attributes, scope->n_attributes, stack, 32, &arr);
            if (m < 0 && w.err == 0) {
                w.err = AG_ENOMEM;
            }
            if (m > 0) {
                ag_json_key_lit(&w, "attributes");
                ag_json_obj_open(&w);
                for (long i = 0; i < m; i++) {
                    ag_buf_reset(&tmp);
                    int rc = value_as_string((*arr[i])->value, &tmp);
                    if (rc != 0 && w.err == 0) {
                        w.err = rc;
                    }
                    ag_json_key(&w, (*arr[i])->key);
                    ag_json_strn(&w, ag_buf_str(&tmp), tmp.len);
                }
                ag_json_obj_close(&w);
            }
            if (arr != stack) {
                ag_free(arr);
            }
        }
        ag_json_obj_close(&w);
    }
    if (res != NULL && res->n_attributes > 0) {
        ag_json_key_lit(&w, "resource");
        write_map(&w, res->attributes, res->n_attributes);
    }
    ag_json_obj_close(&w);
    ag_buf_cleanup(&tmp);
    int rc = ag_json_finish(&w);
    size_t start = out->len;
    if (rc == 0 && obj.len > 2) {
        /* The members without the braces (one byte each in both forms), after a comma. */
        rc = ag_buf_addc(out, ',');
        rc = rc != 0 ? rc : ag_buf_add(out, ag_buf_ptr(&obj) + 1, obj.len - 2);
        rc = rc != 0 ? rc : go_escape_from(out, start, escaped, &extra);
    }
    if (rc == 0 && plain_len != NULL) {
        *plain_len = obj.len > 2 ? w.written - 1 + extra : 0; /* "{a}" -> ",a" */
    }
    ag_buf_cleanup(&obj);
    if (rc != 0) {
        ag_buf_cleanup(out);
    }
    return rc;
}

int ex_cw_logs_message_shared(const ex_cw_log_record *rec, const char *shared, size_t shared_len,
                              size_t shared_plain, bool escaped, struct ag_buf *out,
                              size_t *plain_len)
{
    struct ag_json w;
    size_t start = out->len, extra = 0;
    if (escaped) {
        ag_json_init_escaped(&w, out);
    } else {
        ag_json_init(&w, out);
    }
    ag_json_obj_open(&w);
    if (value_set(rec->body)) {
        ag_json_key_lit(&w, "body");
        write_value(&w, rec->body);
    }
    if (rec->severity_number != 0) {
        ag_json_key_lit(&w, "severity_number");
        ag_json_int(&w, (int64_t)rec->severity_number);
    }
    if (rec->severity_text != NULL && rec->severity_text[0] != '\0') {
        ag_json_key_lit(&w, "severity_text");
        ag_json_str(&w, rec->severity_text);
    }
    if (rec->dropped_attributes_count != 0) {
        ag_json_key_lit(&w, "dropped_attributes_count");
        ag_json_uint(&w, rec->dropped_attributes_count);
    }
    if (rec->flags != 0) {
        ag_json_key_lit(&w, "flags");
        ag_json_uint(&w, rec->flags);
    }
    if (rec->trace_id.len == 16 && !all_zero(&rec->trace_id)) {
        ag_json_key_lit(&w, "trace_id");
        ag_json_hex(&w, rec->trace_id.data, 16);
    }
    if (rec->span_id.len == 8 && !all_zero(&rec->span_id)) {
        ag_json_key_lit(&w, "span_id");
        ag_json_hex(&w, rec->span_id.data, 8);
    }
    if (rec->n_attributes > 0) {
        ag_json_key_lit(&w, "attributes");
        write_map(&w, rec->attributes, rec->n_attributes);
    }
    ag_json_obj_close(&w);
    int rc = ag_json_finish(&w);
    size_t plain = w.written;
    /* Written straight into |out|, then made HTML-safe where it stands: no copy of the message
     * unless it holds one of the five characters. */
    rc = rc != 0 ? rc : go_escape_from(out, start, escaped, &extra);
    if (rc == 0 && shared_len > 0) {
        /* The shared members go before the closing brace; "{}" takes them without the comma
         * (both one byte in either form). */
        size_t skip = out->len - start == 2 ? 1 : 0;
        ag_buf_truncate(out, out->len - 1);
        rc = ag_buf_add(out, shared + skip, shared_len - skip);
        rc = rc != 0 ? rc : ag_buf_addc(out, '}');
        plain += shared_plain - skip;
    }
    if (rc != 0) {
        ag_buf_cleanup(out);
    } else if (plain_len != NULL) {
        *plain_len = plain + extra;
    }
    return rc;
}

int ex_cw_logs_message(const ex_cw_log_record *rec, const ex_cw_scope *scope,
                       const ex_cw_resource *res, struct ag_buf *out)
{
    struct ag_buf shared;
    size_t shared_plain = 0;
    ag_buf_init(&shared, out->cap);
    int rc = ex_cw_logs_shared(scope, res, false, &shared, &shared_plain);
    if (rc == 0) {
        rc = ex_cw_logs_message_shared(rec, ag_buf_str(&shared), shared.len, shared_plain, false,
                                       out, NULL);
    } else {
        ag_buf_cleanup(out);
    }
    ag_buf_cleanup(&shared);
    return rc;
}

int ex_cw_logs_raw(const ex_cw_log_record *rec, struct ag_buf *out)
{
    int rc = value_as_string(rec->body, out);
    if (rc != 0) {
        ag_buf_cleanup(out);
    }
    return rc;
}

static void copy_name(json_t *v, char *dst, size_t cap)
{
    const char *s = json_string_value(v);
    if (s != NULL && strlen(s) < cap) {
        memcpy(dst, s, strlen(s) + 1);
    }
}

bool ex_cw_logs_emf_route(const char *msg, size_t len, char *group, char *stream, size_t cap)
{
    size_t i = 0;
    group[0] = stream[0] = '\0';
    while (i < len && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\n' || msg[i] == '\r')) {
        i++;
    }
    if (i == len || msg[i] != '{') {
        return false;
    }
    json_error_t jerr;
    json_t *root = json_loadb(msg, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return false;
    }
    bool emf = false;
    json_t *aws = json_object_get(root, "_aws");
    if (json_is_object(aws) && json_object_get(aws, "CloudWatchMetrics") != NULL) {
        emf = true;
        copy_name(json_object_get(aws, "LogGroupName"), group, cap);
        copy_name(json_object_get(aws, "LogStreamName"), stream, cap);
    } else if (json_is_string(json_object_get(root, "log_group_name"))) {
        emf = true;
        copy_name(json_object_get(root, "log_group_name"), group, cap);
        copy_name(json_object_get(root, "log_stream_name"), stream, cap);
    }
    json_decref(root);
    return emf;
}

int64_t ex_cw_logs_timestamp(const ex_cw_log_record *rec, int64_t now_ms)
{
    if (rec->time_unix_nano != 0) {
        return (int64_t)(rec->time_unix_nano / 1000000u);
    }
    if (rec->observed_time_unix_nano != 0) {
        return (int64_t)(rec->observed_time_unix_nano / 1000000u);
    }
    return now_ms;
}

static const char *const placeholders[][2] = {
    {"ClusterName", "aws.ecs.cluster.name"},
    {"TaskId", "aws.ecs.task.id"},
    {"NodeName", "k8s.node.name"},
    {"PodName", "pod"},
    {"ServiceName", "service.name"},
    {"ContainerInstanceId", "aws.ecs.container.instance.id"},
    {"TaskDefinitionFamily", "aws.ecs.task.family"},
};

static const anyvalue *res_attr(const ex_cw_resource *res, const char *key, size_t klen)
{
    for (size_t i = 0; res != NULL && i < res->n_attributes; i++) {
        const keyvalue *kv = res->attributes[i];
        if (kv != NULL && kv->key != NULL && strlen(kv->key) == klen &&
            memcmp(kv->key, key, klen) == 0 && value_set(kv->value)) {
            return kv->value;
        }
    }
    return NULL;
}

int ex_cw_logs_name(const char *tmpl, const ex_cw_resource *res, struct ag_buf *out)
{
    int rc = 0;
    const char *s = tmpl;
    while (rc == 0 && *s != '\0') {
        const char *open = strchr(s, '{');
        const char *close = open != NULL ? strchr(open + 1, '}') : NULL;
        if (open == NULL || close == NULL) {
            rc = ag_buf_adds(out, s);
            break;
        }
        rc = ag_buf_add(out, s, (size_t)(open - s));
        const char *name = open + 1;
        size_t nlen = (size_t)(close - name);
        const anyvalue *v = res_attr(res, name, nlen);
        int known = 0;
        for (size_t i = 0; v == NULL && i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
            if (strlen(placeholders[i][0]) == nlen && memcmp(placeholders[i][0], name, nlen) == 0) {
                known = 1;
                v = res_attr(res, placeholders[i][1], strlen(placeholders[i][1]));
            }
        }
        size_t before = out->len;
        if (rc == 0 && v != NULL) {
            rc = value_as_string(v, out);
        }
        if (rc == 0 && (v == NULL || out->len == before)) {
            rc = known || v != NULL ? ag_buf_adds(out, "undefined")
                                    : ag_buf_add(out, open, (size_t)(close - open) + 1);
        }
        s = close + 1;
    }
    return rc;
}
