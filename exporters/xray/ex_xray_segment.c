/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Translates one OTLP span (with its resource) into AWS X-Ray segment documents, rule by rule
 * from xray.md, with the streaming JSON writer. This is the pure half of the awsxray exporter:
 * it does no I/O, so it is unit-tested and fuzzed directly; the exporter batches its output into
 * PutTraceSegments calls or daemon datagrams.
 */
#include "ex_xray_segment.h"
#include "ag_json.h"
#include "ag_mem.h"
#include "ag_time.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "opentelemetry/proto/resource/v1/resource.pb-c.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"

/*
 * Where this differs from the collector's awsxray translator (xray.md §14 and beyond):
 * - a span without an end time is written with in_progress: true instead of end_time 0;
 * - the fallback name is cut to 200 bytes on a UTF-8 boundary, never inside a character;
 * - CLIENT spans also take their URL host and port from server.address / server.port;
 * - index_all_attributes drops non-scalar attributes as upstream does, but counts them;
 * - a document over 64 kB is retried without metadata, then refused with AG_ETOOBIG;
 * - a rejected trace id is an error the caller counts, not a debug log line;
 * - Java labels lose a module/class-loader prefix at the last '/', not the first ("app//");
 * - annotation and metadata keys are de-duplicated (first wins) so output has no duplicate keys;
 * - aws.xray.metadata.<ns> JSON must be strict (valid UTF-8, no \u0000, no lone surrogates),
 *   otherwise it is kept as a string, so every document stays readable by strict parsers.
 */

typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;

#define V_NONE   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET
#define V_STR    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define V_BOOL   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define V_INT    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define V_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
#define V_ARRAY  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
#define V_KVLIST OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE
#define V_BYTES  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE

#define K_INTERNAL OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL
#define K_SERVER   OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER
#define K_CLIENT   OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT
#define K_PRODUCER OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER
#define K_CONSUMER OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER
#define ST_ERROR   OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR

#define NAME_MAX_BYTES 200
#define SCRATCH_CAP    (EX_XRAY_MAX_DOC_BYTES * 2)
#define RES_PREFIX     "otel.resource." /* resource attributes' keys in annotations and metadata */
#define XRAY_META_PREFIX "aws.xray.metadata." /* a span attribute naming a metadata namespace */
/* Nesting accepted inside an aws.xray.metadata.<ns> JSON string. */
#define META_JSON_MAX_DEPTH 64

/* Which of the documents of a span is being written (xray.md §4.4). */
enum doc_mode {
    DOC_NORMAL,     /* the usual single document */
    DOC_DEPENDENCY, /* local-root split: the dependency subsegment */
    DOC_SERVICE,    /* local-root split: the service segment */
};

/*
 * Attributes by key, built once per span: every rule looks its attributes up by name (a hundred
 * lookups per span), which a scan with strcmp over all attributes made the translation's largest
 * cost. An open-addressing table of (hash, index + 1) answers each in O(1), with the same
 * answer as a scan: the first attribute with that key and a value (later duplicates are marked
 * F_DUP, so the rules that walk all attributes skip them as before).
 */
#define KV_INLINE_SLOTS 64 /* tables for up to 32 attributes need no allocation */
#define KV_MIN_SLOTS    8
#define F_USED          1  /* consumed by the http/aws/sql/cause/user logic */
#define F_DUP           2  /* an earlier attribute with a value has the same key */
#define F_ANNO          4  /* classified once (see classify_attrs()): an annotation */
#define F_META          8  /* classified once: metadata */
#define F_XRAY_KEY      16 /* a span attribute aws.xray.annotations or aws.xray.metadata.<ns>
                            * with a string value: never an annotation or metadata itself */
#define F_XRAY_NS       32 /* of those, aws.xray.metadata.<ns> with a string, not F_DUP */

struct kv_slot {
    uint32_t hash;
    uint32_t idx1; /* index + 1 into kvs; 0 = empty */
    size_t len;    /* of the key */
};

struct kv_index {
    pb_kv *const *kvs; /* borrowed */
    size_t n;
    size_t mask;           /* slots - 1 (a power of two minus one) */
    uint64_t bloom;        /* bit (hash >> 26) set for every key indexed */
    struct kv_slot *slots; /* inline_slots or allocated */
    uint8_t *flags;        /* per attribute: F_USED, F_DUP; inline_flags or allocated */
    struct kv_slot inline_slots[KV_INLINE_SLOTS];
    uint8_t inline_flags[KV_INLINE_SLOTS / 2];
};

/* A hash of the length and the first and last 8 bytes: O(1), and keys rarely share all three. */
static inline uint32_t key_hash(const char *k, size_t len)
{
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, k, 8);
        memcpy(&b, k + len - 8, 8);
    } else if (len >= 4) {
        uint32_t a4, b4;
        memcpy(&a4, k, 4);
        memcpy(&b4, k + len - 4, 4);
        a = a4;
        b = b4;
    } else if (len > 0) {
        a = (uint64_t)(unsigned char)k[0] | (uint64_t)(unsigned char)k[len / 2] << 8 |
            (uint64_t)(unsigned char)k[len - 1] << 16;
    }
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ len) * 0xff51afd7ed558ccdull;
    return (uint32_t)(h ^ (h >> 32));
}

/* Indexes |n| attributes. Returns 0 or AG_ENOMEM (past KV_INLINE_SLOTS / 2 attributes). */
static int kv_index_build(struct kv_index *ix, pb_kv *const *kvs, size_t n)
{
    /* At least twice as many slots as attributes (a power of two), so probes stay short; only
     * those slots are cleared. */
    size_t slots = KV_MIN_SLOTS;
    while (slots < 2 * n) {
        slots *= 2;
    }
    ix->kvs = kvs;
    ix->n = n;
    ix->slots = ix->inline_slots;
    ix->flags = ix->inline_flags;
    if (n > KV_INLINE_SLOTS / 2) {
        ix->slots = ag_calloc(slots, sizeof(*ix->slots));
        ix->flags = ag_calloc(n, 1);
        if (ix->slots == NULL || ix->flags == NULL) {
            return AG_ENOMEM;
        }
    } else {
        memset(ix->inline_slots, 0, slots * sizeof(ix->inline_slots[0]));
        memset(ix->inline_flags, 0, n);
    }
    ix->mask = slots - 1;
    ix->bloom = 0;
    for (size_t i = 0; i < n; i++) {
        const pb_kv *kv = kvs[i];
        if (kv == NULL || kv->key == NULL || kv->value == NULL) {
            continue; /* never found by a lookup, as the scan skipped them too */
        }
        size_t len = strlen(kv->key);
        uint32_t h = key_hash(kv->key, len);
        size_t s = h & ix->mask;
        while (ix->slots[s].idx1 != 0) {
            if (ix->slots[s].hash == h && ix->slots[s].len == len &&
                memcmp(kvs[ix->slots[s].idx1 - 1]->key, kv->key, len) == 0) {
                ix->flags[i] |= F_DUP;
                break;
            }
            s = (s + 1) & ix->mask;
        }
        if (ix->slots[s].idx1 == 0) {
            ix->bloom |= 1ull << (h >> 26);
            ix->slots[s].hash = h;
            ix->slots[s].idx1 = (uint32_t)i + 1;
            ix->slots[s].len = len;
        }
    }
    return 0;
}

static void kv_index_cleanup(struct kv_index *ix)
{
    if (ix->slots != ix->inline_slots) {
        ag_free(ix->slots);
    }
    if (ix->flags != ix->inline_flags) {
        ag_free(ix->flags);
    }
    ix->slots = NULL;
    ix->flags = NULL;
}

/* The index of the first attribute with key |key| (|len| bytes) and a value, or -1. */
static ptrdiff_t kv_index_find_h(const struct kv_index *ix, const char *key, size_t len, uint32_t h)
{
    if (((ix->bloom >> (h >> 26)) & 1) == 0) {
        return -1; /* no key with this hash's top bits: most misses end here */
    }
    for (size_t s = h & ix->mask; ix->slots[s].idx1 != 0; s = (s + 1) & ix->mask) {
        if (ix->slots[s].hash == h && ix->slots[s].len == len &&
            memcmp(ix->kvs[ix->slots[s].idx1 - 1]->key, key, len) == 0) {
            return (ptrdiff_t)ix->slots[s].idx1 - 1;
        }
    }
    return -1;
}

/*
 * Forced inline (gcc left some callers out of line, hashing the literal key and running strlen()
 * on it at every call): at each call site with a literal key, its length and hash are constants.
 */
#define XR_INLINE inline __attribute__((always_inline))

/* Inline so that the hash of a literal key is computed at compile time. */
static XR_INLINE ptrdiff_t kv_index_find(const struct kv_index *ix, const char *key, size_t len)
{
    return kv_index_find_h(ix, key, len, key_hash(key, len));
}

/* See the header: built by ex_xray_resource_new(). */
struct ex_xray_resource {
    pb_kv **attrs; /* borrowed from the Resource (may be NULL) */
    size_t n;
    struct kv_index idx; /* flags: F_DUP, and each attribute's class (F_ANNO / F_META) */
    char *keys;          /* RES_PREFIX and the key of each attribute, NUL-terminated, in order */
    size_t *key_off;     /* where attribute i's prefixed key starts in |keys| */
    size_t *key_len;
    /*
     * The metadata members of the F_META attributes ("otel.resource.<key>": value, in order), in
     * the output form of the options it was built with (|meta_escaped|), rendered once: written
     * as they are into every segment whose metadata needs no key set. NULL when none (or when
     * rendering failed: then they are written one by one, as before).
     */
    char *meta;
    size_t meta_len;   /* of the members, from meta + 1 (after the '{') */
    size_t meta_plain; /* their plain JSON text's length */
    bool meta_escaped;
    /* The same for write_aws_res()'s members of "aws": NULL when rendering failed. */
    char *aws;
    size_t aws_len, aws_plain;
    bool aws_escaped;
};

/* "otel.resource.<key>" of resource attribute |i|. */
static const char *res_key(const struct ex_xray_resource *r, size_t i)
{
    return r->keys + r->key_off[i];
}

static const struct ex_xray_options xray_defaults = {0};

/* Everything one span's translation shares between its documents. */
struct xr {
    const struct ex_xray_options *o;
    const pb_span *sp;
    bool out_lost;  /* |out| itself failed (and was freed, ag_buf's rule) */
    pb_kv **rattrs; /* resource attributes (may be NULL): r->attrs */
    size_t n_rattrs;
    const struct ex_xray_resource *r;
    struct kv_index sidx;       /* the span's attributes by key; flags: F_USED, F_DUP */
    const struct kv_index *ridx; /* the resource's (r->idx); flags: F_DUP, F_ANNO, F_META */
    char trace_id[36];
    int kind;
    bool has_parent;
    bool local_root;
    bool aws_sdk; /* rpc.system = aws-api */
    uint64_t new_id;
    const pb_any *xray_annotations; /* the aws.xray.annotations attribute, looked up once */
    bool has_xray_ns;               /* some span attribute is F_XRAY_NS */
    bool res_like_key;              /* some span attribute's key starts with RES_PREFIX */
    struct ex_xray_result *res;
    int err; /* the first allocation failure of a helper buffer */
};

/* ---- small helpers ---- */

static _Thread_local uint64_t rng_state;

static uint64_t default_random(void *ctx)
{
    (void)ctx;
    /* splitmix64: ids only need to be unique-ish, not unpredictable. */
    if (rng_state == 0) {
        rng_state = ag_time_now_ns() ^ (uint64_t)(uintptr_t)&rng_state ^ 0x5bd1e995u;
    }
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t new_random_id(const struct xr *x)
{
    uint64_t v = x->o->random ? x->o->random(x->o->random_ctx) : default_random(NULL);
    return v ? v : 1; /* an all-zero id means "none" in OTLP */
}

static void hex16(uint64_t v, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = digits[v & 0xf];
        v >>= 4;
    }
    out[16] = '\0';
}

static void json_id(struct ag_json *w, uint64_t v)
{
    char h[17];
    hex16(v, h);
    ag_json_strn(w, h, 16);
}

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static bool streq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Inline, first byte compared first: called for every attribute of every span. */
static inline bool has_prefix(const char *s, const char *p)
{
    return p[0] == '\0' || (s[0] == p[0] && strncmp(s, p, strlen(p)) == 0);
}

static const pb_any *kv_find(pb_kv *const *kvs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (kvs[i] != NULL && kvs[i]->key != NULL && kvs[i]->value != NULL &&
            strcmp(kvs[i]->key, key) == 0) {
            return kvs[i]->value;
        }
    }
    return NULL;
}

/* A non-empty string value, or NULL. */
static inline const char *any_str(const pb_any *v)
{
    if (v == NULL || v->value_case != V_STR || v->string_value == NULL ||
        v->string_value[0] == '\0') {
        return NULL;
    }
    return v->string_value;
}

/* An integer value, or a string holding only a decimal integer. */
static bool any_int(const pb_any *v, int64_t *out)
{
    if (v == NULL) {
        return false;
    }
    if (v->value_case == V_INT) {
        *out = v->int_value;
        return true;
    }
    const char *s = any_str(v);
    if (s == NULL) {
        return false;
    }
    int64_t n = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && i < 18; i++) {
        n = n * 10 + (s[i] - '0');
    }
    if (s[i] != '\0') {
        return false;
    }
    *out = n;
    return true;
}

static bool any_scalar(const pb_any *v)
{
    return v != NULL && (v->value_case == V_STR || v->value_case == V_INT ||
                         v->value_case == V_DOUBLE || v->value_case == V_BOOL);
}

/*
 * Lookups by name. Inline so that strlen() of the literal key is folded at the call site; the
 * answers are those of a kv_find() scan over all attributes.
 */
static XR_INLINE const pb_any *kv_index_get(const struct kv_index *ix, const char *key)
{
    ptrdiff_t i = kv_index_find(ix, key, strlen(key));
    return i >= 0 ? ix->kvs[i]->value : NULL;
}

static XR_INLINE const pb_any *attr(const struct xr *x, const char *key)
{
    return kv_index_get(&x->sidx, key);
}

static XR_INLINE const char *attr_str(const struct xr *x, const char *key)
{
    return any_str(attr(x, key));
}

static XR_INLINE const pb_any *res_attr(const struct xr *x, const char *key)
{
    return kv_index_get(x->ridx, key);
}

static XR_INLINE const char *res_str(const struct xr *x, const char *key)
{
    return any_str(res_attr(x, key));
}

/*
 * Marks |key| consumed. Only the first attribute with that key and a value can be written as an
 * annotation or metadata (the others are F_DUP or have no value), so only it is marked.
 */
static XR_INLINE void consume(struct xr *x, const char *key)
{
    ptrdiff_t i = kv_index_find(&x->sidx, key, strlen(key));
    if (i >= 0) {
        x->sidx.flags[i] |= F_USED;
    }
}

/*
 * Writes "key": "value" when |v| is a non-empty string (xray.md §2: empty strings omitted).
 * |key| is one of the schema's literal keys (ag_json_keyn_plain()'s promise).
 */
static XR_INLINE void kstr(struct ag_json *w, const char *key, const char *v)
{
    if (v != NULL && v[0] != '\0') {
        ag_json_keyn_plain(w, key, strlen(key));
        ag_json_str(w, v);
    }
}

/* Like kstr() but writes null when absent (aws.ec2/eks/elastic_beanstalk, xray.md §2). */
static XR_INLINE void kstr_or_null(struct ag_json *w, const char *key, const char *v)
{
    ag_json_keyn_plain(w, key, strlen(key));
    if (v != NULL) {
        ag_json_str(w, v);
    } else {
        ag_json_null(w);
    }
}

/* Seconds with a microsecond fraction: exact in a double for any plausible date. */
static double ns_to_s(uint64_t ns)
{
    return (double)(ns / 1000000000u) + (double)((ns % 1000000000u) / 1000u) / 1e6;
}

/*
 * Writes ns_to_s(|ns|) as ag_json_double() would, without printf and strtod for the usual
 * timestamps. For 1 <= seconds < 2^32 a double has under half a microsecond of spacing, so the
 * value lies within half a unit of the 16th digit of "seconds.micros": %.15g cannot read back
 * when the micros need all six digits, and %.16g prints exactly "seconds.micros" (trailing zeros
 * dropped, as %g does). That text is the shortest form when it reads back, which holds exactly
 * when N / 1e6 == v for the integer N = seconds * 1e6 + micros (both exact in a double, and IEEE
 * division rounds as strtod does). Anything else goes the general way.
 */
static void json_time(struct ag_json *w, uint64_t ns)
{
    double v = ns_to_s(ns);
    uint64_t sec = ns / 1000000000u, us = (ns % 1000000000u) / 1000u;
    if (sec == 0 || sec >= (1ull << 32) || (double)(sec * 1000000u + us) / 1e6 != v) {
        ag_json_double(w, v);
        return;
    }
    char tmp[32];
    char *end = tmp + sizeof(tmp), *p = end;
    if (us != 0) {
        int digits = 6;
        while (us % 10 == 0) {
            us /= 10;
            digits--;
        }
        for (; digits > 0; digits--) {
            *--p = (char)('0' + us % 10);
            us /= 10;
        }
        *--p = '.';
    }
    do {
        *--p = (char)('0' + sec % 10);
        sec /= 10;
    } while (sec != 0);
    ag_json_raw(w, p, (size_t)(end - p));
}

/* inet_pton(AF_INET) without the call, rule for rule as glibc's: four decimal parts of at most
 * 255, no leading zero, nothing else. */
static bool is_ipv4(const char *s)
{
    unsigned part = 0, parts = 0;
    bool digit = false;
    for (; *s != '\0'; s++) {
        if (*s >= '0' && *s <= '9') {
            if (digit && part == 0) {
                return false;
            }
            part = part * 10 + (unsigned)(*s - '0');
            if (part > 255) {
                return false;
            }
            if (!digit) {
                parts++;
                digit = true;
            }
        } else if (*s == '.' && digit && parts < 4) {
            part = 0;
            digit = false;
        } else {
            return false;
        }
    }
    return parts == 4 && digit;
}

static bool is_ip(const char *s)
{
    unsigned char tmp[16];
    return s != NULL &&
           (is_ipv4(s) || (strchr(s, ':') != NULL && inet_pton(AF_INET6, s, tmp) == 1));
}

static bool indexed_in(const struct ex_xray_options *o, const char *key)
{
    for (size_t i = 0; i < o->n_indexed_attributes; i++) {
        if (streq(o->indexed_attributes[i], key)) {
            return true;
        }
    }
    return false;
}

static bool indexed(const struct xr *x, const char *key)
{
    return indexed_in(x->o, key);
}

/* AnyValue -> JSON, maps and arrays preserved; unset values become null. */
static void write_any(struct ag_json *w, const pb_any *v)
{
    if (v == NULL) {
        ag_json_null(w);
        return;
    }
    switch (v->value_case) {
    case V_STR:
        ag_json_str(w, v->string_value ? v->string_value : "");
        break;
    case V_BOOL:
        ag_json_bool(w, v->bool_value);
        break;
    case V_INT:
        ag_json_int(w, v->int_value);
        break;
    case V_DOUBLE:
        ag_json_double(w, v->double_value);
        break;
    case V_BYTES:
        ag_json_base64(w, v->bytes_value.data, v->bytes_value.len);
        break;
    case V_ARRAY:
        ag_json_arr_open(w);
        for (size_t i = 0; v->array_value != NULL && i < v->array_value->n_values; i++) {
            write_any(w, v->array_value->values[i]);
        }
        ag_json_arr_close(w);
        break;
    case V_KVLIST:
        ag_json_obj_open(w);
        for (size_t i = 0; v->kvlist_value != NULL && i < v->kvlist_value->n_values; i++) {
            const pb_kv *kv = v->kvlist_value->values[i];
            if (kv == NULL || kv->key == NULL) {
                continue;
            }
            ag_json_key(w, kv->key);
            write_any(w, kv->value);
        }
        ag_json_obj_close(w);
        break;
    default:
        ag_json_null(w);
        break;
    }
}

/* ---- trace id (xray.md §3) ---- */

int ex_xray_trace_id(const uint8_t *id, size_t len, bool validate, int64_t now_unix_s, char out[36])
{
    static const char digits[] = "0123456789abcdef";

    out[0] = '\0';
    if (id == NULL || len != 16) {
        return AG_EPROTO;
    }
    if (validate) {
        int64_t epoch = (int64_t)(((uint32_t)id[0] << 24) | ((uint32_t)id[1] << 16) |
                                  ((uint32_t)id[2] << 8) | id[3]);
        if (now_unix_s - epoch > EX_XRAY_MAX_AGE_S || epoch - now_unix_s > EX_XRAY_MAX_FUTURE_S) {
            return AG_EPROTO;
        }
    }
    size_t o = 0;
    out[o++] = '1';
    out[o++] = '-';
    for (size_t i = 0; i < 16; i++) {
        if (i == 4) {
            out[o++] = '-';
        }
        out[o++] = digits[id[i] >> 4];
        out[o++] = digits[id[i] & 0xf];
    }
    out[o] = '\0';
    return 0;
}

/* ---- name (xray.md §5) ---- */

/*
 * Whether a code point >= 0x80 is a letter. A table of the letter blocks of the scripts in wide
 * use stands in for Unicode category L (Go's unicode.IsLetter upstream); marks, digits and
 * punctuation of those scripts fall outside the ranges or are rare enough not to matter.
 */
static bool unicode_letter(uint32_t c)
{
    static const uint32_t ranges[][2] = {
        {0xaa, 0xaa},     {0xb5, 0xb5},       {0xba, 0xba},     {0xc0, 0xd6},     {0xd8, 0xf6},
        {0xf8, 0x2c1},    {0x370, 0x373},     {0x376, 0x377},   {0x37b, 0x37d},   {0x386, 0x386},
        {0x388, 0x3ff},   {0x400, 0x481},     {0x48a, 0x52f},   {0x531, 0x556},   {0x561, 0x587},
        {0x5d0, 0x5ea},   {0x620, 0x64a},     {0x671, 0x6d3},   {0x904, 0x939},   {0xe01, 0xe30},
        {0x10a0, 0x10ff}, {0x1100, 0x11ff},   {0x1e00, 0x1fbc}, {0x3041, 0x3096}, {0x30a1, 0x30fa},
        {0x3400, 0x4dbf}, {0x4e00, 0x9fff},   {0xac00, 0xd7a3}, {0xf900, 0xfaff}, {0xff21, 0xff3a},
        {0xff41, 0xff5a}, {0x20000, 0x2fa1f},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        if (c >= ranges[i][0] && c <= ranges[i][1]) {
            return true;
        }
    }
    return false;
}

/* Decodes one UTF-8 sequence at |s| (|n| bytes left); returns its length, 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2, c = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, c = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return len;
}

/*
 * The fallback name: keeps space, ASCII digits, letters and _ . : / % & # = + - @, and stops
 * before the character that would pass 200 bytes. Upstream cuts at byte 200 and can split a
 * UTF-8 sequence (xray.md §14); here the cut is always on a character boundary.
 */
static size_t sanitize_name(const char *in, char out[NAME_MAX_BYTES + 1])
{
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t n = strlen((const char *)s), o = 0;

    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t len = utf8_decode(s + i, n - i, &c);
        if (len == 0) {
            i++;
            continue;
        }
        bool keep = c >= 0x80 ? unicode_letter(c)
                              : (c == ' ' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                                 (c >= 'A' && c <= 'Z') || strchr("_.:/%&#=+-@", (int)c) != NULL);
        if (keep && c != 0) {
            if (o + len > NAME_MAX_BYTES) {
                break;
            }
            memcpy(out + o, s + i, len);
            o += len;
        }
        i += len;
    }
    if (o == 0) {
        memcpy(out, "span", 5);
        return 4;
    }
    out[o] = '\0';
    return o;
}

/* The host of a URL ("jdbc:" already removed): after "//", without userinfo, port, brackets. */
static bool url_host(const char *url, const char **host, size_t *len)
{
    const char *p = strstr(url, "://");
    if (p == NULL) {
        return false;
    }
    p += 3;
    size_t end = strcspn(p, "/?#");
    const char *at = memchr(p, '@', end);
    if (at != NULL) {
        end -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (end > 0 && p[0] == '[') {
        const char *rb = memchr(p, ']', end);
        if (rb == NULL) {
            return false;
        }
        *host = p + 1;
        *len = (size_t)(rb - p - 1);
        return *len > 0;
    }
    const char *colon = memchr(p, ':', end);
    *host = p;
    *len = colon ? (size_t)(colon - p) : end;
    return *len > 0;
}

/*
 * Writes the name of the document (xray.md §5) and reports whether it came from aws.service,
 * which makes the namespace "aws".
 */
static void write_name(struct xr *x, struct ag_json *w, enum doc_mode mode, bool *from_aws_service)
{
    const char *v;
    int k = x->kind;

    *from_aws_service = false;
    ag_json_key_lit(w, "name");
    if (mode == DOC_SERVICE) {
        /* The service half of a local-root split is named after the local service. */
        if ((v = attr_str(x, "aws.local.service")) != NULL ||
            (v = res_str(x, "service.name")) != NULL) {
            ag_json_str(w, v);
            return;
        }
        goto fallback;
    }
    if (k == K_SERVER && (v = attr_str(x, "aws.local.service")) != NULL) {
        ag_json_str(w, v);
        return;
    }
    if (k == K_INTERNAL && x->local_root && (v = attr_str(x, "aws.local.service")) != NULL) {
        ag_json_str(w, v);
        return;
    }
    if ((k == K_CLIENT || k == K_PRODUCER || k == K_CONSUMER) &&
        (v = attr_str(x, "aws.remote.service")) != NULL) {
        if (x->aws_sdk) {
            if (has_prefix(v, "AWS.SDK.")) {
                v += 8;
            } else if (has_prefix(v, "AWS::")) {
                v += 5;
            }
        }
        ag_json_str(w, v);
        return;
    }
    if ((v = attr_str(x, "peer.service")) != NULL) {
        ag_json_str(w, v);
        return;
    }
    if ((v = attr_str(x, "aws.service")) != NULL) {
        *from_aws_service = true;
        ag_json_str(w, v);
        return;
    }
    if ((v = attr_str(x, "db.name")) != NULL) {
        const char *cs = attr_str(x, "db.connection_string"), *host;
        size_t hlen;
        if (cs != NULL && has_prefix(cs, "jdbc:")) {
            cs += 5;
        }
        if (cs != NULL && url_host(cs, &host, &hlen)) {
            struct ag_buf nb;
            ag_buf_init(&nb, SCRATCH_CAP);
            int rc = ag_buf_adds(&nb, v);
            rc = rc ? rc : ag_buf_addc(&nb, '@');
            rc = rc ? rc : ag_buf_add(&nb, host, hlen);
            if (rc != 0) {
                x->err = rc;
                ag_json_str(w, v);
                return;
            }
            ag_json_strn(w, ag_buf_str(&nb), nb.len);
            ag_buf_cleanup(&nb);
        } else {
            ag_json_str(w, v);
        }
        return;
    }
    if (k == K_SERVER && (v = res_str(x, "service.name")) != NULL) {
        ag_json_str(w, v);
        return;
    }
    if ((v = attr_str(x, "rpc.service")) != NULL || (v = attr_str(x, "http.host")) != NULL ||
        (v = attr_str(x, "net.peer.name")) != NULL) {
        ag_json_str(w, v);
        return;
    }
fallback:;
    char buf[NAME_MAX_BYTES + 1];
    size_t n = sanitize_name(x->sp->name, buf);
    ag_json_strn(w, buf, n);
}

/* ---- http (xray.md §6) ---- */


static bool http_status(const struct xr *x, int64_t *code)
{
    return any_int(attr(x, "http.status_code"), code) ||
           any_int(attr(x, "http.response.status_code"), code);
}

/* The parts of the request's URL (xray.md §6): |full| as given, or scheme://host[:port]target. */
struct url {
    const char *full;
    const char *scheme, *host, *target, *path, *query;
    char port[24]; /* ":8443", or "" */
    bool v6;       /* host is an IPv6 address: bracketed */
};

/* Fills |u| when the span has a full URL or a host; returns whether it has a URL. */
static bool url_parts(const struct xr *x, struct url *u)
{
    memset(u, 0, sizeof(*u));
    if ((u->full = attr_str(x, "http.url")) != NULL ||
        (u->full = attr_str(x, "url.full")) != NULL) {
        return true;
    }
    const char *scheme = attr_str(x, "http.scheme");
    if (scheme == NULL && (scheme = attr_str(x, "url.scheme")) == NULL) {
        scheme = "http";
    }
    const char *host = attr_str(x, "http.host");
    bool from_http_host = host != NULL;
    const pb_any *port = NULL;
    if (x->kind == K_SERVER) {
        if (host == NULL && (host = attr_str(x, "http.server_name")) == NULL &&
            (host = attr_str(x, "net.host.name")) == NULL &&
            (host = attr_str(x, "host.name")) == NULL) {
            host = attr_str(x, "server.address");
        }
        port = attr(x, "net.host.port");
        if (port == NULL) {
            port = attr(x, "server.port");
        }
    } else {
        /*
         * The dual-semconv upstream ignores server.address for clients, which loses the URL of
         * every span from a new-semconv-only SDK; the newest upstream reads it (xray.md §14).
         */
        bool from_server_address = false;
        if (host == NULL && (host = attr_str(x, "net.peer.name")) == NULL &&
            (host = attr_str(x, "net.peer.ip")) == NULL) {
            host = attr_str(x, "server.address");
            from_server_address = host != NULL;
        }
        if (host == NULL) {
            const char *peer = attr_str(x, "network.peer.address");
            host = is_ip(peer) ? peer : NULL;
        }
        port = attr(x, "net.peer.port");
        if (port == NULL && from_server_address) {
            port = attr(x, "server.port");
        }
    }
    if (host == NULL) {
        return false;
    }
    u->scheme = scheme;
    u->host = host;
    u->v6 = strchr(host, ':') != NULL && host[0] != '[';
    int64_t p;
    if (!from_http_host && any_int(port, &p) && p > 0 && !(streq(scheme, "http") && p == 80) &&
        !(streq(scheme, "https") && p == 443)) {
        /* p > 0: ':' and its digits, without printf. */
        char digits[24], *d = digits + sizeof(digits);
        for (uint64_t v = (uint64_t)p; v != 0; v /= 10) {
            *--d = (char)('0' + v % 10);
        }
        *--d = ':';
        memcpy(u->port, d, (size_t)(digits + sizeof(digits) - d));
    }
    if ((u->target = attr_str(x, "http.target")) == NULL) {
        u->path = attr_str(x, "url.path");
        u->query = attr_str(x, "url.query");
    }
    return true;
}

/* Appends |s| to |dst| (|cap| bytes) at *n, as far as it fits; *n counts the whole length. */
static void url_put(char *dst, size_t cap, size_t *n, const char *s)
{
    size_t len = strlen(s);
    if (*n < cap) {
        memcpy(dst + *n, s, len < cap - *n ? len : cap - *n);
    }
    *n += len;
}

/* Writes the URL of |u| (not |full|) into |dst|, at most |cap| bytes; returns its length. */
static size_t url_write(const struct url *u, char *dst, size_t cap)
{
    size_t n = 0;
    url_put(dst, cap, &n, u->scheme);
    url_put(dst, cap, &n, u->v6 ? "://[" : "://");
    url_put(dst, cap, &n, u->host);
    url_put(dst, cap, &n, u->v6 ? "]" : "");
    url_put(dst, cap, &n, u->port);
    if (u->target != NULL) {
        url_put(dst, cap, &n, u->target);
    } else {
        url_put(dst, cap, &n, u->path != NULL ? u->path : "/");
        if (u->query != NULL) {
            url_put(dst, cap, &n, u->query[0] != '?' ? "?" : "");
            url_put(dst, cap, &n, u->query);
        }
    }
    return n;
}

/* The "url" member: built on the stack (on the heap when longer than most URLs). */
static void write_url(struct xr *x, struct ag_json *w)
{
    struct url u;
    if (!url_parts(x, &u)) {
        return;
    }
    ag_json_key_lit(w, "url");
    if (u.full != NULL) {
        ag_json_str(w, u.full);
        return;
    }
    char stack[512];
    size_t n = url_write(&u, stack, sizeof(stack));
    if (n <= sizeof(stack)) {
        ag_json_strn(w, stack, n);
        return;
    }
    char *heap = ag_malloc(n);
    if (heap == NULL) {
        x->err = AG_ENOMEM;
        ag_json_str(w, "");
        return;
    }
    url_write(&u, heap, n);
    ag_json_strn(w, heap, n);
    ag_free(heap);
}

static bool content_length(const struct xr *x, int64_t *out)
{
    if (any_int(attr(x, "messaging.message_payload_size_bytes"), out)) {
        return true;
    }
    for (size_t i = 0; i < x->sp->n_events; i++) {
        const pb_event *ev = x->sp->events[i];
        if (ev != NULL &&
            streq(any_str(kv_find(ev->attributes, ev->n_attributes, "message.type")), "RECEIVED") &&
            any_int(
                kv_find(ev->attributes, ev->n_attributes, "messaging.message_payload_size_bytes"),
                out)) {
            return true;
        }
    }
    return false;
}

static void write_http(struct xr *x, struct ag_json *w)
{
    /* The keys that make an http object (one literal lookup each: hashes folded). */
    if (attr(x, "http.method") == NULL && attr(x, "http.request.method") == NULL &&
        attr(x, "http.client_ip") == NULL && attr(x, "http.user_agent") == NULL &&
        attr(x, "user_agent.original") == NULL && attr(x, "http.status_code") == NULL &&
        attr(x, "http.response.status_code") == NULL && attr(x, "http.url") == NULL &&
        attr(x, "url.full") == NULL && attr(x, "http.scheme") == NULL &&
        attr(x, "url.scheme") == NULL && attr(x, "http.host") == NULL &&
        attr(x, "http.target") == NULL && attr(x, "http.server_name") == NULL &&
        attr(x, "net.host.port") == NULL && attr(x, "url.path") == NULL &&
        attr(x, "url.query") == NULL) {
        return;
    }

    ag_json_key_lit(w, "http");
    ag_json_obj_open(w);
    ag_json_key_lit(w, "request");
    ag_json_obj_open(w);
    const char *v = attr_str(x, "http.method");
    kstr(w, "method", v ? v : attr_str(x, "http.request.method"));
    write_url(x, w);
    v = attr_str(x, "http.user_agent");
    kstr(w, "user_agent", v ? v : attr_str(x, "user_agent.original"));

    /* http.client_ip wins; then client.address; then the peer address, each if a valid IP. */
    const char *peer = attr_str(x, "net.peer.ip");
    if (peer == NULL && is_ip(attr_str(x, "network.peer.address"))) {
        peer = attr_str(x, "network.peer.address");
    }
    const char *client = attr_str(x, "http.client_ip");
    if (client == NULL && is_ip(attr_str(x, "client.address"))) {
        client = attr_str(x, "client.address");
    }
    bool forwarded = client != NULL && peer == NULL;
    if (client == NULL) {
        client = peer;
    }
    kstr(w, "client_ip", client);
    if (forwarded) {
        ag_json_key_lit(w, "x_forwarded_for");
        ag_json_bool(w, 1);
    }
    ag_json_obj_close(w);

    ag_json_key_lit(w, "response");
    ag_json_obj_open(w);
    int64_t n;
    if (http_status(x, &n)) {
        ag_json_key_lit(w, "status");
        ag_json_int(w, n);
    }
    ag_json_key_lit(w, "content_length");
    ag_json_int(w, content_length(x, &n) ? n : 0);
    ag_json_obj_close(w);
    ag_json_obj_close(w);

    /* The keys the http object stands for, consumed one by one: literal keys, hashes folded. */
    consume(x, "http.method");
    consume(x, "http.request.method");
    consume(x, "http.client_ip");
    consume(x, "client.address");
    consume(x, "http.user_agent");
    consume(x, "user_agent.original");
    consume(x, "http.status_code");
    consume(x, "http.response.status_code");
    consume(x, "http.url");
    consume(x, "url.full");
    consume(x, "http.scheme");
    consume(x, "url.scheme");
    consume(x, "http.host");
    consume(x, "http.target");
    consume(x, "http.server_name");
    consume(x, "net.host.port");
    consume(x, "server.port");
    consume(x, "net.host.name");
    consume(x, "host.name");
    consume(x, "server.address");
    consume(x, "net.peer.name");
    consume(x, "net.peer.ip");
    consume(x, "net.peer.port");
    consume(x, "network.peer.address");
    consume(x, "url.path");
    consume(x, "url.query");
    consume(x, "messaging.message_payload_size_bytes");
}

/* ---- cause (xray.md §8) ---- */

struct frame {
    const char *label, *path;
    size_t label_len, path_len;
    int64_t line;
};

struct exc {
    const char *type, *msg;
    size_t type_len, msg_len;
    size_t first_frame, n_frames;
};

struct trace {
    struct exc *e;
    size_t n_e, cap_e;
    struct frame *f;
    size_t n_f, cap_f;
    int err;
};

static struct exc *trace_exc(struct trace *t)
{
    if (t->n_e == t->cap_e) {
        size_t cap = t->cap_e ? t->cap_e * 2 : 4;
        struct exc *e = ag_realloc(t->e, cap * sizeof(*e));
        if (e == NULL) {
            t->err = AG_ENOMEM;
            return NULL;
        }
        t->e = e;
        t->cap_e = cap;
    }
    struct exc *e = &t->e[t->n_e++];
    memset(e, 0, sizeof(*e));
    e->first_frame = t->n_f;
    return e;
}

static void trace_frame(struct trace *t, const char *label, size_t label_len, const char *path,
                        size_t path_len, int64_t line)
{
    if (t->n_e == 0) {
        return;
    }
    if (t->n_f == t->cap_f) {
        size_t cap = t->cap_f ? t->cap_f * 2 : 16;
        struct frame *f = ag_realloc(t->f, cap * sizeof(*f));
        if (f == NULL) {
            t->err = AG_ENOMEM;
            return;
        }
        t->f = f;
        t->cap_f = cap;
    }
    t->f[t->n_f++] = (struct frame){label, path, label_len, path_len, line};
    t->e[t->n_e - 1].n_frames++;
}

static void trace_free(struct trace *t)
{
    ag_free(t->e);
    ag_free(t->f);
}

/* Parses a decimal line number from |s| (|n| bytes); 0 when it is not one. */
static int64_t parse_line(const char *s, size_t n)
{
    int64_t v = 0;
    if (n == 0 || n > 9) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Iterates the lines of a text: sets the line and its length to the next line (without '\n' or
 * '\r'). */
static bool next_line(const char **cur, const char *end, const char **line, size_t *len)
{
    if (*cur >= end) {
        return false;
    }
    const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));
    const char *stop = nl ? nl : end;
    *line = *cur;
    *len = (size_t)(stop - *cur);
    if (*len > 0 && (*line)[*len - 1] == '\r') {
        (*len)--;
    }
    *cur = nl ? nl + 1 : end;
    return true;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) {
        (*n)--;
    }
}

static bool starts(const char *s, size_t n, const char *p)
{
    size_t pl = strlen(p);
    return n >= pl && memcmp(s, p, pl) == 0;
}

/* Splits "Type: message" at the first ": " (a line without one is all type). */
static void split_type_msg(struct exc *e, const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == ':' && s[i + 1] == ' ') {
            e->type = s;
            e->type_len = i;
            e->msg = s + i + 2;
            e->msg_len = n - i - 2;
            trim(&e->msg, &e->msg_len);
            return;
        }
    }
    e->type = s;
    e->type_len = n;
    trim(&e->type, &e->type_len);
}

/*
 * Java (and PHP): "\tat label(path:line)" frames after a header line; "Caused by: T: m" starts a
 * linked exception. A module or class-loader prefix ("java.base/", "app//") is cut at the last
 * '/' of the label (upstream cuts at the first, which leaves "/Class.method" for "app//").
 */
static void parse_java(struct trace *t, const char *s, size_t n)
{
    const char *cur = s, *end = s + n, *line;
    size_t len;
    bool first = true;

    while (next_line(&cur, end, &line, &len)) {
        if (first) {
            first = false;
            continue;
        }
        trim(&line, &len);
        if (starts(line, len, "at ")) {
            const char *body = line + 3;
            size_t blen = len - 3;
            const char *open = memchr(body, '(', blen);
            if (open == NULL || body[blen - 1] != ')') {
                continue;
            }
            const char *label = body;
            size_t label_len = (size_t)(open - body);
            for (size_t i = label_len; i > 0; i--) {
                if (label[i - 1] == '/') {
                    label_len -= i;
                    label += i;
                    break;
                }
            }
            const char *loc = open + 1;
            size_t loc_len = (size_t)(body + blen - 1 - loc);
            const char *colon = NULL;
            for (size_t i = loc_len; i > 0; i--) {
                if (loc[i - 1] == ':') {
                    colon = loc + i - 1;
                    break;
                }
            }
            if (colon != NULL) {
                size_t path_len = (size_t)(colon - loc);
                trace_frame(t, label, label_len, loc, path_len,
                            parse_line(colon + 1, loc_len - path_len - 1));
            } else {
                trace_frame(t, label, label_len, loc, loc_len, 0);
            }
        } else if (starts(line, len, "Caused by: ")) {
            struct exc *e = trace_exc(t);
            if (e != NULL) {
                split_type_msg(e, line + 11, len - 11);
            }
        }
    }
}

/*
 * Python: "Traceback (most recent call last):", frames '  File "p", line N, in f' (each followed
 * by a source line), then "Type: message". Chained tracebacks print the cause first, so blocks
 * are read last to first, and frames are reversed to put the innermost first as X-Ray expects.
 */
static void parse_python(struct trace *t, const char *s, size_t n)
{
    static const char *const separators[] = {
        "The above exception was the direct cause of the following exception:",
        "During handling of the above exception, another exception occurred:",
    };
    /* Block boundaries: at most 64 chained tracebacks are followed. */
    const char *starts_at[65];
    size_t n_blocks = 0;
    const char *cur = s, *end = s + n, *line;
    size_t len;

    starts_at[n_blocks++] = s;
    while (next_line(&cur, end, &line, &len)) {
        trim(&line, &len);
        for (size_t i = 0; i < 2; i++) {
            if (len == strlen(separators[i]) && memcmp(line, separators[i], len) == 0 &&
                n_blocks < 64) {
                starts_at[n_blocks++] = cur;
            }
        }
    }
    starts_at[n_blocks] = end;

    for (size_t b = n_blocks; b > 0; b--) {
        const char *bs = starts_at[b - 1], *be = starts_at[b];
        struct exc *e = trace_exc(t);
        if (e == NULL) {
            return;
        }
        const char *last = NULL;
        size_t last_len = 0;
        cur = bs;
        while (next_line(&cur, be, &line, &len)) {
            const char *tl = line;
            size_t tlen = len;
            trim(&tl, &tlen);
            if (starts(tl, tlen, "File \"")) {
                const char *path = tl + 6;
                const char *q = memchr(path, '"', tlen - 6);
                if (q == NULL) {
                    continue;
                }
                size_t path_len = (size_t)(q - path);
                const char *rest = q + 1;
                size_t rest_len = tlen - 6 - path_len - 1;
                int64_t lineno = 0;
                const char *label = "";
                size_t label_len = 0;
                if (starts(rest, rest_len, ", line ")) {
                    const char *num = rest + 7;
                    size_t k = 0;
                    while (k < rest_len - 7 && num[k] >= '0' && num[k] <= '9') {
                        k++;
                    }
                    lineno = parse_line(num, k);
                    const char *in = num + k;
                    size_t in_len = rest_len - 7 - k;
                    if (starts(in, in_len, ", in ")) {
                        label = in + 5;
                        label_len = in_len - 5;
                    }
                }
                trace_frame(t, label, label_len, path, path_len, lineno);
            } else if (tlen > 0 && line[0] != ' ' && line[0] != '\t' &&
                       !starts(tl, tlen, "Traceback (") && !starts(tl, tlen, "The above ") &&
                       !starts(tl, tlen, "During handling ")) {
                last = tl;
                last_len = tlen;
            }
        }
        e = &t->e[t->n_e - 1];
        if (last != NULL) {
            split_type_msg(e, last, last_len);
        }
        /* Innermost call first. */
        for (size_t i = 0, j = e->n_frames; i + 1 < j; i++, j--) {
            struct frame tmp = t->f[e->first_frame + i];
            t->f[e->first_frame + i] = t->f[e->first_frame + j - 1];
            t->f[e->first_frame + j - 1] = tmp;
        }
    }
}

/* JavaScript (V8): "    at label (path:line:col)" or "    at path:line:col". */
static void parse_js(struct trace *t, const char *s, size_t n)
{
    const char *cur = s, *end = s + n, *line;
    size_t len;

    while (next_line(&cur, end, &line, &len)) {
        trim(&line, &len);
        if (!starts(line, len, "at ")) {
            continue;
        }
        const char *body = line + 3, *label = "", *loc = body;
        size_t blen = len - 3, label_len = 0, loc_len = blen;
        if (blen > 0 && body[blen - 1] == ')') {
            const char *open = NULL;
            for (size_t i = blen; i > 0; i--) {
                if (body[i - 1] == '(') {
                    open = body + i - 1;
                    break;
                }
            }
            if (open == NULL) {
                continue;
            }
            label = body;
            label_len = (size_t)(open - body);
            trim(&label, &label_len);
            loc = open + 1;
            loc_len = (size_t)(body + blen - 1 - loc);
        }
        /* path:line:col, the path possibly holding colons itself (a URL). */
        const char *c2 = NULL, *c1 = NULL;
        for (size_t i = loc_len; i > 0; i--) {
            if (loc[i - 1] == ':') {
                if (c2 == NULL) {
                    c2 = loc + i - 1;
                } else {
                    c1 = loc + i - 1;
                    break;
                }
            }
        }
        if (c1 != NULL) {
            trace_frame(t, label, label_len, loc, (size_t)(c1 - loc),
                        parse_line(c1 + 1, (size_t)(c2 - c1 - 1)));
        } else {
            trace_frame(t, label, label_len, loc, loc_len, 0);
        }
    }
}

/* .NET: "   at Namespace.Type.Method(args) in /path/File.cs:line 42". */
static void parse_dotnet(struct trace *t, const char *s, size_t n)
{
    const char *cur = s, *end = s + n, *line;
    size_t len;

    while (next_line(&cur, end, &line, &len)) {
        trim(&line, &len);
        if (!starts(line, len, "at ")) {
            continue;
        }
        const char *body = line + 3;
        size_t blen = len - 3;
        const char *in = NULL;
        for (size_t i = 0; i + 4 <= blen; i++) {
            if (memcmp(body + i, " in ", 4) == 0) {
                in = body + i;
                break;
            }
        }
        if (in == NULL) {
            trace_frame(t, body, blen, "", 0, 0);
            continue;
        }
        const char *path = in + 4;
        size_t path_len = blen - (size_t)(path - body);
        int64_t lineno = 0;
        for (size_t i = path_len; i >= 6; i--) {
            if (memcmp(path + i - 6, ":line ", 6) == 0) {
                lineno = parse_line(path + i, path_len - i);
                path_len = i - 6;
                break;
            }
        }
        trace_frame(t, body, (size_t)(in - body), path, path_len, lineno);
    }
}

/*
 * Go (a panic's goroutine dump): a function line "pkg.Func(args)" followed by a location line
 * "\t/path/file.go:42 +0x1d"; the "goroutine N [state]:" header and the "panic:" line are skipped.
 */
static void parse_go(struct trace *t, const char *s, size_t n)
{
    const char *cur = s, *end = s + n, *line, *label = NULL;
    size_t len, label_len = 0;

    while (next_line(&cur, end, &line, &len)) {
        trim(&line, &len);
        if (len == 0 || starts(line, len, "goroutine ") || starts(line, len, "panic: ")) {
            label = NULL;
            continue;
        }
        /* A location: ends in ".go:<digits>", optionally followed by " +0x..". */
        size_t loc_len = len;
        for (size_t i = 0; i + 1 < len; i++) {
            if (line[i] == ' ' && line[i + 1] == '+') {
                loc_len = i;
                break;
            }
        }
        const char *colon = NULL;
        for (size_t i = loc_len; i > 0; i--) {
            if (line[i - 1] == ':') {
                colon = line + i - 1;
                break;
            }
        }
        size_t path_len = colon ? (size_t)(colon - line) : 0;
        if (label != NULL && colon != NULL && path_len >= 3 && memcmp(colon - 3, ".go", 3) == 0) {
            trace_frame(t, label, label_len, line, path_len,
                        parse_line(colon + 1, loc_len - path_len - 1));
            label = NULL;
            continue;
        }
        /* A function line: drop the argument list. */
        label = line;
        label_len = len;
        for (size_t i = len; i > 0; i--) {
            if (line[i - 1] == '(') {
                label_len = i - 1;
                break;
            }
        }
    }
}

static void write_stack(struct ag_json *w, const struct trace *t, const struct exc *e)
{
    if (e->n_frames == 0) {
        return;
    }
    ag_json_key_lit(w, "stack");
    ag_json_arr_open(w);
    for (size_t i = 0; i < e->n_frames; i++) {
        const struct frame *f = &t->f[e->first_frame + i];
        ag_json_obj_open(w);
        if (f->path_len > 0) {
            ag_json_key_lit(w, "path");
            ag_json_strn(w, f->path, f->path_len);
        }
        ag_json_key_lit(w, "line");
        ag_json_int(w, f->line);
        if (f->label_len > 0) {
            ag_json_key_lit(w, "label");
            ag_json_strn(w, f->label, f->label_len);
        }
        ag_json_obj_close(w);
    }
    ag_json_arr_close(w);
}

/* One "exception" event: the entry itself, then any linked exceptions from its stack trace. */
static void write_exception_event(struct xr *x, struct ag_json *w, const pb_event *ev, bool remote)
{
    const char *type = any_str(kv_find(ev->attributes, ev->n_attributes, "exception.type"));
    const char *msg = any_str(kv_find(ev->attributes, ev->n_attributes, "exception.message"));
    const char *st = any_str(kv_find(ev->attributes, ev->n_attributes, "exception.stacktrace"));
    const char *lang = res_str(x, "telemetry.sdk.language");
    struct trace t = {0};

    /* Entry 0 stands for the event itself; parsers add frames to it and linked entries. */
    if (trace_exc(&t) != NULL && st != NULL && lang != NULL) {
        size_t n = strlen(st);
        if (streq(lang, "java") || streq(lang, "php")) {
            parse_java(&t, st, n);
        } else if (streq(lang, "python")) {
            /* Python's own top block is entry 0: drop the placeholder and parse into it. */
            t.n_e = 0;
            parse_python(&t, st, n);
        } else if (streq(lang, "javascript") || streq(lang, "nodejs") || streq(lang, "webjs")) {
            parse_js(&t, st, n);
        } else if (streq(lang, "dotnet")) {
            parse_dotnet(&t, st, n);
        } else if (streq(lang, "go")) {
            parse_go(&t, st, n);
        }
    }
    if (t.err != 0 || t.n_e == 0) {
        x->err = t.err ? t.err : AG_ENOMEM;
        trace_free(&t);
        return;
    }
    uint64_t next_id = new_random_id(x);
    for (size_t i = 0; i < t.n_e; i++) {
        const struct exc *e = &t.e[i];
        uint64_t id = next_id;
        ag_json_obj_open(w);
        ag_json_key_lit(w, "id");
        json_id(w, id);
        ag_json_key_lit(w, "type");
        if (i == 0) {
            ag_json_str(w, type ? type : "");
        } else {
            ag_json_strn(w, e->type ? e->type : "", e->type_len);
        }
        ag_json_key_lit(w, "message");
        if (i == 0) {
            ag_json_str(w, msg ? msg : "");
        } else {
            ag_json_strn(w, e->msg ? e->msg : "", e->msg_len);
        }
        ag_json_key_lit(w, "remote");
        ag_json_bool(w, remote);
        write_stack(w, &t, e);
        if (i + 1 < t.n_e) {
            next_id = new_random_id(x);
            ag_json_key_lit(w, "cause");
            json_id(w, next_id);
        }
        ag_json_obj_close(w);
    }
    trace_free(&t);
}

static void write_cause(struct xr *x, struct ag_json *w)
{
    const pb_span *sp = x->sp;
    bool remote = x->kind == K_CLIENT || x->kind == K_PRODUCER;
    bool opened = false;

    for (size_t i = 0; i < sp->n_events; i++) {
        const pb_event *ev = sp->events[i];
        if (ev == NULL || ev->name == NULL) {
            continue;
        }
        bool exc = strcmp(ev->name, "exception") == 0;
        bool sdk_fail = x->aws_sdk && strcmp(ev->name, "HTTP request failure") == 0;
        if (!exc && !sdk_fail) {
            continue;
        }
        if (!opened) {
            ag_json_key_lit(w, "cause");
            ag_json_obj_open(w);
            ag_json_key_lit(w, "exceptions");
            ag_json_arr_open(w);
            opened = true;
        }
        if (exc) {
            write_exception_event(x, w, ev, remote);
            continue;
        }
        struct ag_buf mb;
        int64_t code = 0;
        const char *emsg =
            any_str(kv_find(ev->attributes, ev->n_attributes, "aws.http.error_message"));
        (void)any_int(kv_find(ev->attributes, ev->n_attributes, "http.response.status_code"),
                      &code);
        ag_buf_init(&mb, SCRATCH_CAP);
        int rc = ag_buf_printf(&mb, "%" PRId64 "@%" PRIu64 ".%06" PRIu64 "@%s", code,
                               ev->time_unix_nano / 1000000000u,
                               (ev->time_unix_nano % 1000000000u) / 1000u, emsg ? emsg : "");
        if (rc != 0) {
            x->err = rc;
            continue;
        }
        ag_json_obj_open(w);
        ag_json_key_lit(w, "id");
        json_id(w, new_random_id(x));
        ag_json_key_lit(w, "type");
        ag_json_str(w, "aws.http.error.event");
        ag_json_key_lit(w, "message");
        ag_json_strn(w, ag_buf_str(&mb), mb.len);
        ag_json_key_lit(w, "remote");
        ag_json_bool(w, 1);
        ag_json_obj_close(w);
        ag_buf_cleanup(&mb);
    }
    if (opened) {
        ag_json_arr_close(w);
        ag_json_obj_close(w);
        return;
    }
    if (sp->status == NULL || sp->status->code != ST_ERROR) {
        return;
    }
    const char *msg = sp->status->message;
    if (msg == NULL || msg[0] == '\0') {
        msg = attr_str(x, "http.status_text");
        consume(x, "http.status_text");
    }
    if (msg == NULL || msg[0] == '\0') {
        return;
    }
    ag_json_key_lit(w, "cause");
    ag_json_obj_open(w);
    ag_json_key_lit(w, "exceptions");
    ag_json_arr_open(w);
    ag_json_obj_open(w);
    ag_json_key_lit(w, "id");
    json_id(w, new_random_id(x));
    ag_json_key_lit(w, "message");
    ag_json_str(w, msg);
    ag_json_obj_close(w);
    ag_json_arr_close(w);
    ag_json_obj_close(w);
}

/* ---- aws block, origin, service (xray.md §9, §10) ---- */

static bool provider_ok(const struct xr *x)
{
    const char *p = res_str(x, "cloud.provider");
    return p == NULL || strcmp(p, "aws") == 0;
}

static const char *origin(const struct xr *x)
{
    if (x->n_rattrs == 0 || !provider_ok(x)) {
        return NULL;
    }
    const char *p = res_str(x, "cloud.platform");
    if (p == NULL) {
        return NULL;
    }
    if (strcmp(p, "aws_app_runner") == 0) {
        return "AWS::AppRunner::Service";
    }
    if (strcmp(p, "aws_eks") == 0) {
        return "AWS::EKS::Container";
    }
    if (strcmp(p, "aws_elastic_beanstalk") == 0) {
        return "AWS::ElasticBeanstalk::Environment";
    }
    if (strcmp(p, "aws_ecs") == 0) {
        const char *lt = res_str(x, "aws.ecs.launchtype");
        if (streq(lt, "ec2")) {
            return "AWS::ECS::EC2";
        }
        if (streq(lt, "fargate")) {
            return "AWS::ECS::Fargate";
        }
        return "AWS::ECS::Container";
    }
    if (strcmp(p, "aws_ec2") == 0) {
        return "AWS::EC2::Instance";
    }
    return NULL;
}

/* Writes the log groups of one value: a string array, or a string split on '&'. */
static void write_log_groups(struct ag_json *w, const pb_any *v, bool arns)
{
    const char *one = any_str(v);
    size_t n = 1;
    if (v->value_case == V_ARRAY && v->array_value != NULL) {
        n = v->array_value->n_values;
        one = NULL;
    } else if (one == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = one ? one : any_str(v->array_value->values[i]);
        while (s != NULL && *s != '\0') {
            size_t len = strcspn(s, "&");
            if (len > 0) {
                const char *group = s;
                size_t glen = len;
                if (arns) {
                    /* arn:aws:logs:region:account:log-group:NAME[:*] -> NAME */
                    const char *p = s;
                    size_t left = len;
                    for (int field = 0; field < 6 && p != NULL; field++) {
                        const char *c = memchr(p, ':', left);
                        left -= c ? (size_t)(c + 1 - p) : left;
                        p = c ? c + 1 : NULL;
                    }
                    if (p != NULL) {
                        const char *c = memchr(p, ':', left);
                        group = p;
                        glen = c ? (size_t)(c - p) : left;
                    }
                }
                ag_json_obj_open(w);
                ag_json_key_lit(w, "log_group");
                ag_json_strn(w, group, glen);
                if (arns) {
                    ag_json_key_lit(w, "arn");
                    ag_json_strn(w, s, len);
                }
                ag_json_obj_close(w);
            }
            s += len;
            if (*s == '&') {
                s++;
            }
        }
    }
}

/*
 * The members of "aws" that come from the resource and the options alone (ec2, ecs, eks,
 * elastic_beanstalk, cloudwatch_logs, xray), written into the open "aws" object. Reads only
 * x->o, x->ridx; sets x->err on an allocation failure.
 */
static void write_aws_res(struct xr *x, struct ag_json *w)
{
    const char *platform = res_str(x, "cloud.platform");
    if (streq(platform, "aws_ec2") || res_str(x, "host.id") != NULL) {
        ag_json_key_lit(w, "ec2");
        ag_json_obj_open(w);
        kstr_or_null(w, "instance_id", res_str(x, "host.id"));
        kstr_or_null(w, "availability_zone", res_str(x, "cloud.availability_zone"));
        kstr_or_null(w, "instance_size", res_str(x, "host.type"));
        kstr_or_null(w, "ami_id", res_str(x, "host.image.id"));
        ag_json_obj_close(w);
    }
    if (streq(platform, "aws_ecs")) {
        ag_json_key_lit(w, "ecs");
        ag_json_obj_open(w);
        kstr(w, "container", res_str(x, "container.name"));
        kstr(w, "container_id", res_str(x, "container.id"));
        kstr(w, "availability_zone", res_str(x, "cloud.availability_zone"));
        kstr(w, "container_arn", res_str(x, "aws.ecs.container.arn"));
        kstr(w, "cluster_arn", res_str(x, "aws.ecs.cluster.arn"));
        kstr(w, "task_arn", res_str(x, "aws.ecs.task.arn"));
        kstr(w, "task_family", res_str(x, "aws.ecs.task.family"));
        kstr(w, "launch_type", res_str(x, "aws.ecs.launchtype"));
        ag_json_obj_close(w);
    }
    if (streq(platform, "aws_eks") || res_str(x, "k8s.cluster.name") != NULL) {
        ag_json_key_lit(w, "eks");
        ag_json_obj_open(w);
        kstr_or_null(w, "cluster_name", res_str(x, "k8s.cluster.name"));
        kstr_or_null(w, "pod", res_str(x, "k8s.pod.name"));
        kstr_or_null(w, "container_id", res_str(x, "container.id"));
        ag_json_obj_close(w);
    }
    const char *sid = res_str(x, "service.instance.id");
    if (streq(platform, "aws_elastic_beanstalk") && sid != NULL) {
        int64_t dep = 0;
        const pb_any *sv = res_attr(x, "service.instance.id");
        if (!any_int(sv, &dep)) {
            dep = 0;
        }
        ag_json_key_lit(w, "elastic_beanstalk");
        ag_json_obj_open(w);
        kstr_or_null(w, "environment_name", res_str(x, "service.namespace"));
        kstr_or_null(w, "version_label", res_str(x, "service.version"));
        ag_json_key_lit(w, "deployment_id");
        ag_json_int(w, dep);
        ag_json_obj_close(w);
    }

    const pb_any *arns = res_attr(x, "aws.log.group.arns");
    const pb_any *names = res_attr(x, "aws.log.group.names");
    if (arns != NULL && (any_str(arns) != NULL || arns->value_case == V_ARRAY)) {
        ag_json_key_lit(w, "cloudwatch_logs");
        ag_json_arr_open(w);
        write_log_groups(w, arns, true);
        ag_json_arr_close(w);
    } else if (names != NULL && (any_str(names) != NULL || names->value_case == V_ARRAY)) {
        ag_json_key_lit(w, "cloudwatch_logs");
        ag_json_arr_open(w);
        write_log_groups(w, names, false);
        ag_json_arr_close(w);
    } else if (x->o->n_aws_log_groups > 0) {
        ag_json_key_lit(w, "cloudwatch_logs");
        ag_json_arr_open(w);
        for (size_t i = 0; i < x->o->n_aws_log_groups; i++) {
            if (x->o->aws_log_groups[i] != NULL) {
                ag_json_obj_open(w);
                ag_json_key_lit(w, "log_group");
                ag_json_str(w, x->o->aws_log_groups[i]);
                ag_json_obj_close(w);
            }
        }
        ag_json_arr_close(w);
    }

    ag_json_key_lit(w, "xray");
    ag_json_obj_open(w);
    const char *sdk = res_str(x, "telemetry.sdk.name");
    const char *lang = res_str(x, "telemetry.sdk.language");
    if (sdk != NULL && lang != NULL) {
        struct ag_buf sb;
        ag_buf_init(&sb, SCRATCH_CAP);
        int rc = ag_buf_adds(&sb, sdk);
        rc = rc ? rc : ag_buf_adds(&sb, " for ");
        rc = rc ? rc : ag_buf_adds(&sb, lang);
        if (rc != 0) {
            x->err = rc;
        } else {
            ag_json_key_lit(w, "sdk");
            ag_json_strn(w, ag_buf_str(&sb), sb.len);
        }
        ag_buf_cleanup(&sb);
    }
    kstr(w, "sdk_version", res_str(x, "telemetry.sdk.version"));
    ag_json_key_lit(w, "auto_instrumentation");
    ag_json_bool(w, res_attr(x, "telemetry.auto.version") != NULL);
    ag_json_obj_close(w);
}

static void write_aws(struct xr *x, struct ag_json *w, enum doc_mode mode)
{
    if (!provider_ok(x)) {
        return;
    }
    ag_json_key_lit(w, "aws");
    ag_json_obj_open(w);

    if (mode != DOC_SERVICE) {
        const char *v = attr_str(x, "aws.operation");
        kstr(w, "operation", v ? v : attr_str(x, "rpc.method"));
        v = attr_str(x, "aws.account_id");
        kstr(w, "account_id", v ? v : res_str(x, "cloud.account.id"));
        kstr(w, "region", attr_str(x, "aws.region"));
        v = attr_str(x, "aws.request_id");
        kstr(w, "request_id", v ? v : attr_str(x, "aws.requestId"));
        v = attr_str(x, "messaging.url");
        if (v == NULL && (v = attr_str(x, "aws.queue_url")) == NULL) {
            v = attr_str(x, "aws.queue.url");
        }
        kstr(w, "queue_url", v);
        const pb_any *tn = attr(x, "aws.dynamodb.table_names");
        if (tn != NULL && tn->value_case == V_ARRAY && tn->array_value != NULL &&
            tn->array_value->n_values > 1) {
            ag_json_key_lit(w, "table_names");
            ag_json_arr_open(w);
            for (size_t i = 0; i < tn->array_value->n_values; i++) {
                const char *s = any_str(tn->array_value->values[i]);
                ag_json_str(w, s ? s : "");
            }
            ag_json_arr_close(w);
        } else {
            v = NULL;
            if (tn != NULL && tn->value_case == V_ARRAY && tn->array_value != NULL &&
                tn->array_value->n_values == 1) {
                v = any_str(tn->array_value->values[0]);
            } else if (tn != NULL) {
                v = any_str(tn);
            }
            if (v == NULL && (v = attr_str(x, "aws.table_name")) == NULL) {
                v = attr_str(x, "aws.table.name");
            }
            kstr(w, "table_name", v);
        }
        consume(x, "aws.operation");
        consume(x, "rpc.method");
        consume(x, "aws.account_id");
        consume(x, "aws.region");
        consume(x, "aws.request_id");
        consume(x, "aws.requestId");
        consume(x, "messaging.url");
        consume(x, "aws.queue_url");
        consume(x, "aws.queue.url");
        consume(x, "aws.table_name");
        consume(x, "aws.table.name");
    }

    if (x->r != NULL && x->r->aws != NULL && x->r->aws_escaped == (w->escaped != 0)) {
        /* What comes from the resource alone, rendered once for all its spans. */
        ag_json_members_out(w, x->r->aws + 1, x->r->aws_len, x->r->aws_plain);
    } else {
        write_aws_res(x, w);
    }

    ag_json_obj_close(w);
}

/* ---- sql (xray.md §9.4) ---- */

static void write_sql(struct xr *x, struct ag_json *w)
{
    static const char *const systems[] = {"db2",    "derby",    "hive",     "mariadb",
                                          "mssql",  "mysql",    "oracle",   "postgresql",
                                          "sqlite", "teradata", "other_sql"};
    const char *sys = attr_str(x, "db.system");
    bool sql = false;
    for (size_t i = 0; sys != NULL && i < sizeof(systems) / sizeof(systems[0]); i++) {
        sql = sql || strcmp(sys, systems[i]) == 0;
    }
    if (!sql) {
        return;
    }
    const char *cs = attr_str(x, "db.connection_string"), *db = attr_str(x, "db.name");
    struct ag_buf cb;
    ag_buf_init(&cb, SCRATCH_CAP);
    int rc = ag_buf_printf(&cb, "%s/%s", cs ? cs : "localhost", db ? db : "");
    if (rc != 0) {
        x->err = rc;
        return;
    }
    ag_json_key_lit(w, "sql");
    ag_json_obj_open(w);
    kstr(w, "url", x->sp->name);
    ag_json_key_lit(w, "connection_string");
    ag_json_strn(w, ag_buf_str(&cb), cb.len);
    kstr(w, "database_type", sys);
    kstr(w, "user", attr_str(x, "db.user"));
    kstr(w, "sanitized_query", attr_str(x, "db.statement"));
    ag_json_obj_close(w);
    ag_buf_cleanup(&cb);
    consume(x, "db.system");
    consume(x, "db.connection_string");
    consume(x, "db.name");
    consume(x, "db.user");
    consume(x, "db.statement");
}

/* ---- links (xray.md §9.3) ---- */

static void write_links(struct xr *x, struct ag_json *w)
{
    const pb_span *sp = x->sp;
    if (sp->n_links == 0) {
        return;
    }
    ag_json_key_lit(w, "links");
    ag_json_arr_open(w);
    for (size_t i = 0; i < sp->n_links; i++) {
        const pb_link *l = sp->links[i];
        char tid[36];
        if (l == NULL || ex_xray_trace_id(l->trace_id.data, l->trace_id.len, false, 0, tid) != 0) {
            continue; /* checked before writing: cannot happen */
        }
        ag_json_obj_open(w);
        ag_json_key_lit(w, "trace_id");
        ag_json_str(w, tid);
        if (l->span_id.len == 8) {
            ag_json_key_lit(w, "id");
            ag_json_hex(w, l->span_id.data, 8);
        }
        if (l->n_attributes > 0) {
            ag_json_key_lit(w, "attributes");
            ag_json_obj_open(w);
            for (size_t j = 0; j < l->n_attributes; j++) {
                const pb_kv *kv = l->attributes[j];
                if (kv == NULL || kv->key == NULL || kv->value == NULL ||
                    kv->value->value_case == V_NONE || kv_find(l->attributes, j, kv->key) != NULL) {
                    continue;
                }
                ag_json_key(w, kv->key);
                write_any(w, kv->value);
            }
            ag_json_obj_close(w);
        }
        ag_json_obj_close(w);
    }
    ag_json_arr_close(w);
}

/* ---- annotations and metadata (xray.md §11) ---- */

/* Local-root service segments drop the annotations describing the remote side (§4.4). */
static bool service_drops_annotation(const char *key)
{
    return has_prefix(key, "aws.remote.") || strcmp(key, "remoteTarget") == 0 ||
           strcmp(key, "K8s.RemoteNamespace") == 0;
}

/* Annotation key: every character outside [A-Za-z0-9] (and '.' with allowDot) becomes '_'. */
static int fix_key(const struct xr *x, const char *prefix, const char *key, struct ag_buf *kb)
{
    struct ag_buf tmp;
    ag_buf_init(&tmp, SCRATCH_CAP);
    int rc = ag_buf_adds(&tmp, prefix);
    rc = rc ? rc : ag_buf_adds(&tmp, key);
    if (rc != 0) {
        return rc;
    }
    const unsigned char *s = (const unsigned char *)ag_buf_str(&tmp);
    size_t n = tmp.len;
    ag_buf_reset(kb);
    for (size_t i = 0; i < n && rc == 0;) {
        uint32_t c;
        size_t len = utf8_decode(s + i, n - i, &c);
        if (len == 0) {
            len = 1;
            c = 0xfffd;
        }
        bool keep = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c == '.' && !x->o->disallow_dot);
        rc = ag_buf_addc(kb, keep ? (char)c : '_');
        i += len;
    }
    if (rc == 0 && kb->len == 0) {
        rc = ag_buf_addc(kb, '_');
    }
    ag_buf_cleanup(&tmp);
    return rc;
}

/* A set of keys already written in one object, to keep the output free of duplicate keys. */
struct keyset {
    struct ag_buf all; /* keys, each after its length (a size_t) */
};

/* Returns 1 when |key| (|len| bytes) was already in the set, 0 after adding it, or an error. */
static int keyset_add(struct keyset *ks, const char *key, size_t len)
{
    const uint8_t *p = ag_buf_ptr(&ks->all);
    for (size_t at = 0; p != NULL && at < ks->all.len;) {
        size_t l;
        memcpy(&l, p + at, sizeof(l));
        if (l == len && memcmp(p + at + sizeof(l), key, len) == 0) {
            return 1;
        }
        at += sizeof(l) + l;
    }
    int rc = ag_buf_add(&ks->all, &len, sizeof(len));
    return rc ? rc : ag_buf_add(&ks->all, key, len);
}

/* Annotation value: string, int, double or bool. */
static void write_scalar(struct ag_json *w, const pb_any *v)
{
    write_any(w, v);
}

/* Opens "metadata" and its "default" namespace, each once, before the first member. */
static void open_default_metadata(struct ag_json *w, bool *meta_open, bool *default_open)
{
    if (!*meta_open) {
        ag_json_key_lit(w, "metadata");
        ag_json_obj_open(w);
        *meta_open = true;
    }
    if (!*default_open) {
        ag_json_key_lit(w, "default");
        ag_json_obj_open(w);
        *default_open = true;
    }
}

/*
 * Writes one annotation: the key fixed (with |prefix|) into |kb|, skipped when the set already has
 * it (the first one wins), the "annotations" object opened before the first. Returns 0 (written
 * or skipped) or a negative AG_E* code.
 */
static int write_annotation(const struct xr *x, struct ag_json *w, struct keyset *ks,
                            struct ag_buf *kb, const char *prefix, const char *key,
                            const pb_any *value, bool *any)
{
    int rc = fix_key(x, prefix, key, kb);
    if (rc == 0) {
        rc = keyset_add(ks, ag_buf_str(kb), kb->len);
    }
    if (rc != 0) {
        return rc < 0 ? rc : 0;
    }
    if (!*any) {
        ag_json_key_lit(w, "annotations");
        ag_json_obj_open(w);
        *any = true;
    }
    ag_json_keyn(w, ag_buf_str(kb), kb->len);
    write_scalar(w, value);
    return 0;
}

enum attr_class { C_SKIP, C_ANNO, C_META };

static bool listed_in_xray_annotations(const struct xr *x, const char *key)
{
    const pb_any *v = x->xray_annotations;
    if (v == NULL || v->value_case != V_ARRAY || v->array_value == NULL) {
        return false;
    }
    for (size_t i = 0; i < v->array_value->n_values; i++) {
        if (streq(any_str(v->array_value->values[i]), key)) {
            return true;
        }
    }
    return false;
}

static enum attr_class classify_span_attr(struct xr *x, size_t i, enum doc_mode mode, bool count)
{
    const pb_kv *kv = x->sp->attributes[i];
    if (kv == NULL || kv->key == NULL || kv->value == NULL || kv->value->value_case == V_NONE) {
        return C_SKIP;
    }
    const char *key = kv->key;
    if (x->sidx.flags[i] & F_XRAY_KEY) {
        return C_SKIP; /* aws.xray.annotations, or a metadata namespace handled on its own */
    }
    /* OTLP forbids duplicate keys; if a sender repeats one anyway, the first wins. */
    if (x->sidx.flags[i] & F_DUP) {
        return C_SKIP;
    }
    bool in_index = indexed(x, key);
    if ((x->sidx.flags[i] & F_USED) && !in_index) {
        return C_SKIP;
    }
    bool explicit_ = in_index || listed_in_xray_annotations(x, key);
    bool scalar = any_scalar(kv->value);
    enum attr_class c;
    if ((explicit_ || x->o->index_all_attributes) && scalar) {
        c = C_ANNO;
    } else if (explicit_ || !x->o->index_all_attributes) {
        c = C_META;
    } else {
        /* Upstream drops these silently; the caller gets a count (xray.md §14). */
        if (count) {
            x->res->dropped_attributes++;
        }
        return C_SKIP;
    }
    if (mode == DOC_SERVICE) {
        if (c == C_ANNO && service_drops_annotation(key)) {
            return C_SKIP;
        }
        if (c == C_META && !has_prefix(key, "otel.resource.")) {
            return C_SKIP;
        }
    }
    return c;
}

static uint8_t class_flag(enum attr_class c)
{
    return c == C_ANNO ? F_ANNO : c == C_META ? F_META : 0;
}

/*
 * Classifies the span's attributes once per document into F_ANNO / F_META (the annotations and
 * the metadata passes both need the answer; it depends on |mode| and on what the document's
 * other blocks consumed). The resource's were classified by ex_xray_resource_new(). |count| as
 * for classify_span_attr().
 */
static void classify_attrs(struct xr *x, enum doc_mode mode, bool count)
{
    for (size_t i = 0; i < x->sp->n_attributes; i++) {
        x->sidx.flags[i] &= (uint8_t)~(F_ANNO | F_META);
        x->sidx.flags[i] |= class_flag(classify_span_attr(x, i, mode, count));
    }
}

/* ---- aws.xray.metadata.<ns>: a minimal JSON checker that also strips whitespace ---- */

struct jscan {
    const char *s;
    size_t n, i;
    struct ag_buf *out; /* minified copy */
    int bad;
};

static void js_ws(struct jscan *j)
{
    while (j->i < j->n && strchr(" \t\r\n", j->s[j->i]) != NULL && j->s[j->i] != '\0') {
        j->i++;
    }
}

static void js_emit(struct jscan *j, const char *p, size_t len)
{
    if (!j->bad) {
        j->bad = ag_buf_add(j->out, p, len);
    }
}

static void js_value(struct jscan *j, int depth);

/* Reads 4 hex digits at s[at]; false if they are not there. */
static bool js_hex4(const struct jscan *j, size_t at, unsigned *v)
{
    *v = 0;
    for (size_t k = 0; k < 4; k++) {
        char h = at + k < j->n ? j->s[at + k] : 'x';
        int d = h >= '0' && h <= '9'   ? h - '0'
                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                       : -1;
        if (d < 0) {
            return false;
        }
        *v = *v * 16 + (unsigned)d;
    }
    return true;
}

/*
 * A JSON string, stricter than RFC 8259 where the output's readers are: valid UTF-8, no
 * \u0000 and no unpaired surrogate escapes (jansson, for one, refuses those).
 */
static void js_string(struct jscan *j)
{
    size_t start = j->i;
    if (j->i >= j->n || j->s[j->i] != '"') {
        j->bad = 1;
        return;
    }
    j->i++;
    while (j->i < j->n && j->s[j->i] != '"') {
        unsigned char c = (unsigned char)j->s[j->i];
        if (c < 0x20) {
            j->bad = 1;
            return;
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t len = utf8_decode((const unsigned char *)j->s + j->i, j->n - j->i, &cp);
            if (len == 0) {
                j->bad = 1;
                return;
            }
            j->i += len;
            continue;
        }
        if (c == '\\') {
            j->i++;
            if (j->i >= j->n) {
                j->bad = 1;
                return;
            }
            char e = j->s[j->i];
            if (e == 'u') {
                unsigned v, lo;
                if (!js_hex4(j, j->i + 1, &v) || v == 0 || (v >= 0xdc00 && v <= 0xdfff)) {
                    j->bad = 1;
                    return;
                }
                j->i += 4;
                if (v >= 0xd800 && v <= 0xdbff) {
                    if (j->i + 2 >= j->n || j->s[j->i + 1] != '\\' || j->s[j->i + 2] != 'u' ||
                        !js_hex4(j, j->i + 3, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        j->bad = 1;
                        return;
                    }
                    j->i += 6;
                }
            } else if (strchr("\"\\/bfnrt", e) == NULL || e == '\0') {
                j->bad = 1;
                return;
            }
        }
        j->i++;
    }
    if (j->i >= j->n) {
        j->bad = 1;
        return;
    }
    j->i++;
    js_emit(j, j->s + start, j->i - start);
}

static void js_literal(struct jscan *j)
{
    static const char *const lits[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(lits[k]);
        if (j->n - j->i >= l && memcmp(j->s + j->i, lits[k], l) == 0) {
            js_emit(j, lits[k], l);
            j->i += l;
            return;
        }
    }
    /* Number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    size_t start = j->i;
    const char *s = j->s;
    size_t i = j->i, n = j->n;
    if (i < n && s[i] == '-') {
        i++;
    }
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    } else {
        j->bad = 1;
        return;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (!(i < n && s[i] >= '0' && s[i] <= '9')) {
            j->bad = 1;
            return;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        if (!(i < n && s[i] >= '0' && s[i] <= '9')) {
            j->bad = 1;
            return;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    }
    j->i = i;
    js_emit(j, s + start, i - start);
}

static void js_container(struct jscan *j, int depth, char open, char close)
{
    js_emit(j, &open, 1);
    j->i++;
    js_ws(j);
    if (j->i < j->n && j->s[j->i] == close) {
        j->i++;
        js_emit(j, &close, 1);
        return;
    }
    for (;;) {
        if (open == '{') {
            js_string(j);
            js_ws(j);
            if (j->bad || j->i >= j->n || j->s[j->i] != ':') {
                j->bad = j->bad ? j->bad : 1;
                return;
            }
            j->i++;
            js_emit(j, ":", 1);
        }
        js_value(j, depth + 1);
        js_ws(j);
        if (j->bad || j->i >= j->n) {
            j->bad = j->bad ? j->bad : 1;
            return;
        }
        if (j->s[j->i] == ',') {
            j->i++;
            js_emit(j, ",", 1);
            js_ws(j);
            continue;
        }
        if (j->s[j->i] == close) {
            j->i++;
            js_emit(j, &close, 1);
            return;
        }
        j->bad = 1;
        return;
    }
}

static void js_value(struct jscan *j, int depth)
{
    js_ws(j);
    if (j->bad || j->i >= j->n || depth > META_JSON_MAX_DEPTH) {
        j->bad = j->bad ? j->bad : 1;
        return;
    }
    char c = j->s[j->i];
    if (c == '{') {
        js_container(j, depth, '{', '}');
    } else if (c == '[') {
        js_container(j, depth, '[', ']');
    } else if (c == '"') {
        js_string(j);
    } else {
        js_literal(j);
    }
}

/*
 * Checks that |s| is one JSON object and copies it, whitespace removed, to |out|.
 * Returns 0, 1 when it is not a JSON object, or ag_buf_add()'s error (AG_ENOMEM, AG_ETOOBIG).
 */
static int minify_object(const char *s, struct ag_buf *out)
{
    struct jscan j = {s, strlen(s), 0, out, 0};
    js_ws(&j);
    if (j.i >= j.n || s[j.i] != '{') {
        return 1;
    }
    js_value(&j, 1);
    js_ws(&j);
    if (j.bad < 0) {
        return j.bad;
    }
    return j.bad || j.i != j.n ? 1 : 0;
}

/* Skips a JSON string starting at s[i] == '"'; returns the index after its closing quote. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n && s[i] != '"'; i++) {
        if (s[i] == '\\') {
            i++;
        }
    }
    return i < n ? i + 1 : n;
}

/*
 * Walks the members of a minified JSON object (checked by minify_object()): from |*pos| (1 at
 * the start) returns the next member's key (quotes included) and value. False at the end.
 */
static bool next_member(const char *s, size_t n, size_t *pos, const char **k, size_t *klen,
                        const char **v, size_t *vlen)
{
    size_t i = *pos;
    if (i >= n || s[i] != '"') {
        return false;
    }
    size_t kend = skip_string(s, n, i);
    *k = s + i;
    *klen = kend - i;
    i = kend + 1; /* the ':' */
    size_t vstart = i;
    int depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = skip_string(s, n, i);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) {
                break;
            }
            depth--;
        } else if (c == ',' && depth == 0) {
            break;
        }
        i++;
    }
    *v = s + vstart;
    *vlen = i - vstart;
    *pos = i < n && s[i] == ',' ? i + 1 : i;
    return *vlen > 0;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static int add_utf8(struct ag_buf *b, uint32_t c)
{
    char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c, n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xc0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3f)), n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xe0 | (c >> 12)), u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        u[2] = (char)(0x80 | (c & 0x3f)), n = 3;
    } else {
        u[0] = (char)(0xf0 | (c >> 18)), u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f)), n = 4;
    }
    return ag_buf_add(b, u, n);
}

/* Decodes a checked JSON string (|len| bytes, quotes included) into |out| as UTF-8. */
static int unescape_key(const char *s, size_t len, struct ag_buf *out)
{
    int rc = 0;
    ag_buf_reset(out);
    for (size_t i = 1; i + 1 < len && rc == 0; i++) {
        if (s[i] != '\\') {
            rc = ag_buf_addc(out, s[i]);
            continue;
        }
        char e = s[++i];
        if (e != 'u') {
            static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
            const char *f = strchr(from, e);
            rc = ag_buf_addc(out, f ? to[f - from] : e);
            continue;
        }
        uint32_t c = hex4(s + i + 1);
        i += 4;
        if (c >= 0xd800 && c <= 0xdbff && i + 6 < len && s[i + 1] == '\\' && s[i + 2] == 'u') {
            uint32_t lo = hex4(s + i + 3);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
        }
        if (c >= 0xd800 && c <= 0xdfff) {
            c = 0xfffd;
        }
        rc = add_utf8(out, c);
    }
    if (rc == 0 && out->len == 0) {
        rc = ag_buf_add(out, "", 0);
    }
    return rc;
}

/*
 * Writes "annotations" and "metadata". Resource attributes appear (as otel.resource.<key>) on
 * segments only. With |with_metadata| false only annotations are written (the 64 kB retry).
 */
static void write_annotations_metadata(struct xr *x, struct ag_json *w, enum doc_mode mode,
                                       bool segment, bool with_metadata, bool count)
{
    const pb_span *sp = x->sp;
    size_t n_rattrs = segment ? x->n_rattrs : 0;
    struct ag_buf kb;
    struct keyset ks;
    bool any = false;

    ag_buf_init(&kb, SCRATCH_CAP);
    ag_buf_init(&ks.all, SCRATCH_CAP * 8);
    classify_attrs(x, mode, count);

    /* Annotations. */
    for (size_t i = 0; i < sp->n_attributes; i++) {
        if (!(x->sidx.flags[i] & F_ANNO)) {
            continue;
        }
        const pb_kv *kv = sp->attributes[i];
        int rc = write_annotation(x, w, &ks, &kb, "", kv->key, kv->value, &any);
        if (rc < 0) {
            x->err = rc;
            goto out;
        }
    }
    for (size_t i = 0; i < n_rattrs; i++) {
        if (!(x->ridx->flags[i] & F_ANNO)) {
            continue;
        }
        int rc = write_annotation(x, w, &ks, &kb, "", res_key(x->r, i), x->rattrs[i]->value,
                                  &any);
        if (rc < 0) {
            x->err = rc;
            goto out;
        }
    }
    if (any) {
        ag_json_obj_close(w);
    }
    if (!with_metadata) {
        goto out;
    }

    /*
     * Metadata: "default" from the attributes, then the aws.xray.metadata.<ns> namespaces. The
     * attributes' keys are distinct among themselves (later duplicates are F_DUP, and every
     * resource key carries RES_PREFIX), so the key set is only needed when a span key could
     * equal a prefixed resource key or a namespace merges members into "default".
     */
    ag_buf_reset(&ks.all);
    bool dedup = x->res_like_key || x->has_xray_ns;
    bool meta_open = false, default_open = false;
    struct ag_buf mb;
    ag_buf_init(&mb, SCRATCH_CAP);
    for (size_t pass = 0; pass < 2; pass++) {
        if (pass == 1 && n_rattrs > 0 && !dedup && x->r->meta != NULL &&
            x->r->meta_escaped == (w->escaped != 0)) {
            /* The resource's members, rendered once for all its segments. */
            open_default_metadata(w, &meta_open, &default_open);
            ag_json_members_out(w, x->r->meta + 1, x->r->meta_len, x->r->meta_plain);
            break;
        }
        for (size_t i = 0; i < (pass == 0 ? sp->n_attributes : n_rattrs); i++) {
            const pb_any *v;
            const char *key;
            size_t klen;
            if (pass == 0) {
                if (!(x->sidx.flags[i] & F_META)) {
                    continue;
                }
                key = sp->attributes[i]->key;
                klen = strlen(key);
                v = sp->attributes[i]->value;
            } else {
                if (!(x->ridx->flags[i] & F_META)) {
                    continue;
                }
                key = res_key(x->r, i);
                klen = x->r->key_len[i];
                v = x->rattrs[i]->value;
            }
            int rc = dedup ? keyset_add(&ks, key, klen) : 0;
            if (rc != 0) {
                x->err = rc < 0 ? rc : x->err;
                continue;
            }
            open_default_metadata(w, &meta_open, &default_open);
            ag_json_keyn(w, key, klen);
            write_any(w, v);
        }
    }
    /*
     * aws.xray.metadata.default is merged member by member into "default" (the attributes'
     * own keys win a clash); a namespace that is not a JSON object stays in "default" as a
     * string under its full key.
     */
    for (size_t i = 0; mode != DOC_SERVICE && x->has_xray_ns && i < sp->n_attributes; i++) {
        const pb_kv *kv = sp->attributes[i];
        if (!(x->sidx.flags[i] & F_XRAY_NS)) {
            continue;
        }
        const char *ns = kv->key + strlen(XRAY_META_PREFIX);
        bool is_default = strcmp(ns, "default") == 0;
        ag_buf_reset(&mb);
        int rc = ns[0] != '\0' ? minify_object(kv->value->string_value, &mb) : 1;
        if (rc < 0) {
            x->err = rc;
            break;
        }
        if (rc == 0 && !is_default) {
            continue; /* written as its own namespace below */
        }
        size_t pos = 1;
        const char *mk = NULL, *mv = NULL;
        size_t mklen = 0, mvlen = 0;
        while (rc == 0 ? next_member(ag_buf_str(&mb), mb.len, &pos, &mk, &mklen, &mv, &mvlen)
                       : mk == NULL) {
            int krc;
            if (rc == 0) {
                krc = unescape_key(mk, mklen, &kb);
            } else {
                /* Not an object: the whole value, once, as a string under the full key. */
                mk = kv->key;
                ag_buf_reset(&kb);
                krc = ag_buf_adds(&kb, kv->key);
            }
            if (krc == 0) {
                krc = keyset_add(&ks, ag_buf_str(&kb), kb.len);
            }
            if (krc < 0) {
                x->err = krc;
                break;
            }
            if (krc == 1) {
                continue;
            }
            open_default_metadata(w, &meta_open, &default_open);
            ag_json_keyn(w, ag_buf_str(&kb), kb.len);
            if (rc == 0) {
                ag_json_raw(w, mv, mvlen);
            } else {
                ag_json_str(w, kv->value->string_value);
            }
        }
    }
    if (default_open) {
        ag_json_obj_close(w);
    }
    for (size_t i = 0; mode != DOC_SERVICE && x->has_xray_ns && i < sp->n_attributes; i++) {
        const pb_kv *kv = sp->attributes[i];
        if (!(x->sidx.flags[i] & F_XRAY_NS)) {
            continue;
        }
        const char *ns = kv->key + strlen(XRAY_META_PREFIX);
        if (ns[0] == '\0' || strcmp(ns, "default") == 0) {
            continue;
        }
        ag_buf_reset(&mb);
        if (minify_object(kv->value->string_value, &mb) != 0) {
            continue;
        }
        if (!meta_open) {
            ag_json_key_lit(w, "metadata");
            ag_json_obj_open(w);
            meta_open = true;
        }
        ag_json_key(w, ns);
        ag_json_raw(w, ag_buf_str(&mb), mb.len);
    }
    if (meta_open) {
        ag_json_obj_close(w);
    }
    ag_buf_cleanup(&mb);
out:
    ag_buf_cleanup(&kb);
    ag_buf_cleanup(&ks.all);
}

/* ---- a prepared resource ---- */

static enum attr_class classify_res_attr(const struct ex_xray_options *o,
                                         const struct ex_xray_resource *r, size_t i)
{
    const pb_kv *kv = r->attrs[i];
    if (kv == NULL || kv->key == NULL || kv->value == NULL || kv->value->value_case == V_NONE ||
        (r->idx.flags[i] & F_DUP)) {
        return C_SKIP;
    }
    bool idx = o->index_all_attributes || indexed_in(o, res_key(r, i));
    return idx && any_scalar(kv->value) ? C_ANNO : C_META;
}

/*
 * Fills r->meta (see struct ex_xray_resource) with the writer write_annotations_metadata() uses,
 * so the bytes are those it would write member by member. Leaves it NULL when no attribute is
 * F_META or when out of memory (the members are then written one by one).
 */
static void render_res_meta(const struct ex_xray_options *o, struct ex_xray_resource *r)
{
    bool any = false;
    for (size_t i = 0; i < r->n && !any; i++) {
        any = (r->idx.flags[i] & F_META) != 0;
    }
    if (!any) {
        return;
    }
    struct ag_buf b;
    struct ag_json jw, *w = &jw;
    ag_buf_init(&b, SIZE_MAX);
    if (o->escaped) {
        ag_json_init_escaped(w, &b);
    } else {
        ag_json_init(w, &b);
    }
    ag_json_obj_open(w);
    for (size_t i = 0; i < r->n; i++) {
        if (r->idx.flags[i] & F_META) {
            ag_json_keyn(w, res_key(r, i), r->key_len[i]);
            write_any(w, r->attrs[i]->value);
        }
    }
    ag_json_obj_close(w);
    if (ag_json_finish(w) != 0 || b.len < 2 || w->written < 2) {
        ag_buf_cleanup(&b);
        return;
    }
    size_t len = b.len;
    r->meta_plain = w->written - 2;
    r->meta = (char *)ag_buf_steal(&b, NULL);
    r->meta_len = r->meta != NULL ? len - 2 : 0;
    r->meta_escaped = o->escaped;
}

/*
 * Opens an object in |w|, over |b|, in |o|'s output form; render_done() closes it and keeps the
 * members (between the braces) in |*text|, |*len|, |*plain|, or leaves |*text| NULL on failure.
 */
static void render_open(const struct ex_xray_options *o, struct ag_json *w, struct ag_buf *b)
{
    ag_buf_init(b, SIZE_MAX);
    if (o->escaped) {
        ag_json_init_escaped(w, b);
    } else {
        ag_json_init(w, b);
    }
    ag_json_obj_open(w);
}

static void render_done(struct ag_json *w, struct ag_buf *b, bool ok, char **text, size_t *len,
                        size_t *plain)
{
    ag_json_obj_close(w);
    if (ag_json_finish(w) != 0 || !ok || b->len < 2 || w->written < 2) {
        ag_buf_cleanup(b);
        return;
    }
    size_t n = b->len;
    *plain = w->written - 2;
    *text = (char *)ag_buf_steal(b, NULL);
    *len = *text != NULL ? n - 2 : 0;
}

/* Fills r->aws (see struct ex_xray_resource) with write_aws_res(). */
static void render_res_aws(const struct ex_xray_options *o, struct ex_xray_resource *r)
{
    struct xr x;
    memset(&x, 0, sizeof(x));
    x.o = o;
    x.r = r;
    x.rattrs = r->attrs;
    x.n_rattrs = r->n;
    x.ridx = &r->idx;
    struct ag_buf b;
    struct ag_json w;
    render_open(o, &w, &b);
    write_aws_res(&x, &w);
    render_done(&w, &b, x.err == 0, &r->aws, &r->aws_len, &r->aws_plain);
    r->aws_escaped = o->escaped;
}

int ex_xray_resource_new(const struct ex_xray_options *opts, const ProtobufCMessage *resource,
                         struct ex_xray_resource **out)
{
    *out = NULL;
    if (resource != NULL &&
        resource->descriptor != &opentelemetry__proto__resource__v1__resource__descriptor) {
        return AG_EINVAL;
    }
    const struct ex_xray_options *o = opts ? opts : &xray_defaults;
    struct ex_xray_resource *r = ag_calloc(1, sizeof(*r));
    if (r == NULL) {
        return AG_ENOMEM;
    }
    if (resource != NULL) {
        r->attrs = ((const pb_resource *)resource)->attributes;
        r->n = ((const pb_resource *)resource)->n_attributes;
    }
    struct ag_buf keys;
    ag_buf_init(&keys, SIZE_MAX);
    r->key_off = ag_calloc(r->n + 1, sizeof(*r->key_off));
    r->key_len = ag_calloc(r->n + 1, sizeof(*r->key_len));
    int rc = r->key_off != NULL && r->key_len != NULL ? 0 : AG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        const pb_kv *kv = r->attrs[i];
        const char *key = kv != NULL && kv->key != NULL ? kv->key : "";
        size_t len = strlen(key);
        r->key_off[i] = keys.len;
        r->key_len[i] = sizeof(RES_PREFIX) - 1 + len;
        rc = ag_buf_add(&keys, RES_PREFIX, sizeof(RES_PREFIX) - 1);
        rc = rc ? rc : ag_buf_add(&keys, key, len + 1);
    }
    if (rc == 0) {
        r->keys = keys.len > 0 ? (char *)ag_buf_steal(&keys, NULL) : NULL;
        rc = kv_index_build(&r->idx, r->attrs, r->n);
    }
    if (rc != 0) {
        ag_buf_cleanup(&keys);
        ex_xray_resource_free(r);
        return rc;
    }
    for (size_t i = 0; i < r->n; i++) {
        r->idx.flags[i] |= class_flag(classify_res_attr(o, r, i));
    }
    render_res_meta(o, r);
    render_res_aws(o, r);
    *out = r;
    return 0;
}

void ex_xray_resource_free(struct ex_xray_resource *r)
{
    if (r == NULL) {
        return;
    }
    kv_index_cleanup(&r->idx);
    ag_free(r->meta);
    ag_free(r->aws);
    ag_free(r->keys);
    ag_free(r->key_off);
    ag_free(r->key_len);
    ag_free(r);
}

/*
 * Flags the span attributes that steer annotations and metadata instead of being written
 * (F_XRAY_KEY, F_XRAY_NS): looked at once per span, not by every pass of every document. Also
 * notes a span attribute whose key looks like a resource one (x->res_like_key).
 */
static void mark_xray_keys(struct xr *x)
{
    for (size_t i = 0; i < x->sp->n_attributes; i++) {
        const pb_kv *kv = x->sp->attributes[i];
        if (kv == NULL || kv->key == NULL || kv->value == NULL) {
            continue;
        }
        if (has_prefix(kv->key, RES_PREFIX)) {
            x->res_like_key = true;
        }
        if (!has_prefix(kv->key, "aws.xray.")) {
            continue;
        }
        bool str = kv->value->value_case == V_STR;
        if (strcmp(kv->key, "aws.xray.annotations") == 0) {
            x->sidx.flags[i] |= F_XRAY_KEY;
        } else if (str && has_prefix(kv->key, XRAY_META_PREFIX)) {
            x->sidx.flags[i] |= F_XRAY_KEY;
            if (kv->value->string_value != NULL && !(x->sidx.flags[i] & F_DUP)) {
                x->sidx.flags[i] |= F_XRAY_NS;
                x->has_xray_ns = true;
            }
        }
    }
}

/* ---- one document ---- */

static int write_doc(struct xr *x, enum doc_mode mode, struct ag_buf *b, bool with_metadata)
{
    const pb_span *sp = x->sp;
    struct ag_json jw, *w = &jw;
    int k = x->kind;
    bool from_aws_service;

    if (x->o->escaped) {
        ag_json_init_escaped(w, b);
    } else {
        ag_json_init(w, b);
    }
    ag_json_set_limit(w, EX_XRAY_MAX_DOC_BYTES);
    ag_json_obj_open(w);
    write_name(x, w, mode, &from_aws_service);

    ag_json_key_lit(w, "id");
    if (mode == DOC_SERVICE) {
        json_id(w, x->new_id);
    } else {
        ag_json_hex(w, sp->span_id.data, 8);
    }
    ag_json_key_lit(w, "trace_id");
    ag_json_str(w, x->trace_id);
    ag_json_key_lit(w, "start_time");
    json_time(w, sp->start_time_unix_nano);
    /*
     * Upstream always writes end_time (0 for an unfinished span, a date in 1970 that X-Ray
     * rejects); a span without an end is sent as in progress instead, as the schema allows.
     */
    if (sp->end_time_unix_nano != 0) {
        ag_json_key_lit(w, "end_time");
        json_time(w, sp->end_time_unix_nano);
    } else {
        ag_json_key_lit(w, "in_progress");
        ag_json_bool(w, 1);
    }

    bool segment;
    if (mode == DOC_DEPENDENCY) {
        ag_json_key_lit(w, "parent_id");
        json_id(w, x->new_id);
        segment = false;
    } else {
        if (x->has_parent) {
            ag_json_key_lit(w, "parent_id");
            ag_json_hex(w, sp->parent_span_id.data, 8);
        }
        segment = mode == DOC_SERVICE || x->local_root || k == K_SERVER || !x->has_parent;
    }
    if (!segment) {
        ag_json_key_lit(w, "type");
        ag_json_str(w, "subsegment");
    }

    const char *ns = NULL;
    if (x->aws_sdk || from_aws_service) {
        ns = "aws";
    } else if (k == K_CLIENT) {
        ns = "remote";
    } else if ((k == K_PRODUCER || k == K_CONSUMER) && !segment &&
               attr_str(x, "aws.remote.service") != NULL) {
        ns = "remote";
    }
    if (mode == DOC_DEPENDENCY) {
        ns = ns && strcmp(ns, "aws") == 0 ? "aws" : "remote";
    } else if (mode == DOC_SERVICE || (x->local_root && (k == K_SERVER || k == K_INTERNAL))) {
        ns = NULL;
    }
    kstr(w, "namespace", ns);

    kstr(w, "origin", origin(x));
    const char *ver = res_str(x, "service.version");
    if (ver == NULL) {
        ver = res_str(x, "container.image.tag");
    }
    if (ver != NULL) {
        ag_json_key_lit(w, "service");
        ag_json_obj_open(w);
        kstr(w, "version", ver);
        ag_json_obj_close(w);
    }
    kstr(w, "user", attr_str(x, "enduser.id"));
    consume(x, "enduser.id");

    if (mode != DOC_SERVICE) {
        write_http(x, w);
    }

    int64_t code;
    bool error = false, fault = false, throttle = false;
    if (http_status(x, &code) && code >= 400 && code <= 499) {
        error = true;
        throttle = code == 429;
    } else if (http_status(x, &code) && code >= 500 && code <= 599) {
        fault = true;
    } else if (sp->status != NULL && sp->status->code == ST_ERROR) {
        fault = true;
    }
    ag_json_key_lit(w, "fault");
    ag_json_bool(w, fault);
    ag_json_key_lit(w, "error");
    ag_json_bool(w, error);
    ag_json_key_lit(w, "throttle");
    ag_json_bool(w, throttle);

    write_cause(x, w);
    write_aws(x, w, mode);
    if (mode != DOC_SERVICE) {
        write_sql(x, w);
    }
    bool links_here = mode == DOC_NORMAL || (mode == DOC_DEPENDENCY && k != K_CONSUMER) ||
                      (mode == DOC_SERVICE && k == K_CONSUMER);
    if (links_here) {
        write_links(x, w);
    }
    write_annotations_metadata(x, w, mode, segment, with_metadata,
                               with_metadata && mode != DOC_SERVICE);
    ag_json_obj_close(w);

    /* A helper's failure comes first: it may have left containers open on its way out. */
    int rc = ag_json_finish(w);
    /* Past the document's limit the writer leaves |b| alone; its other AG_ETOOBIG and
     * AG_ENOMEM come from |b| itself, which is then freed. */
    x->out_lost = rc != 0 && !w->over_limit && (rc == AG_ETOOBIG || rc == AG_ENOMEM);
    return x->err != 0 && !x->out_lost ? x->err : rc;
}

/* Cuts |b| back to |len| bytes (what it held before a document that failed). */
static void truncate_to(struct ag_buf *b, size_t len)
{
    if (b->data != NULL && b->len > len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

/*
 * Appends one document to |out| with its newline, retrying without metadata if too large. On an
 * error |out| is cut back to what it held, unless it failed itself (x->out_lost: freed).
 */
static int add_doc(struct xr *x, enum doc_mode mode, struct ag_buf *out)
{
    size_t start = out->len;
    int rc = write_doc(x, mode, out, true);
    if (rc == AG_ETOOBIG && !x->out_lost) {
        /* Metadata is the part X-Ray can do without (xray.md §14). */
        truncate_to(out, start);
        x->err = 0;
        rc = write_doc(x, mode, out, false);
        if (rc == 0) {
            x->res->trimmed_docs++;
        }
    }
    if (rc == 0) {
        rc = ag_buf_addc(out, '\n');
        x->out_lost = rc != 0;
    }
    if (rc == 0) {
        x->res->n_docs++;
    } else if (!x->out_lost) {
        truncate_to(out, start);
    }
    return rc;
}

int ex_xray_segment_write(const struct ex_xray_options *opts, const ProtobufCMessage *resource,
                          const ProtobufCMessage *scope, const ProtobufCMessage *span,
                          struct ag_buf *out, struct ex_xray_result *res_out)
{
    struct ex_xray_resource *r;
    (void)scope;
    if (res_out != NULL) {
        memset(res_out, 0, sizeof(*res_out));
    }
    if (span == NULL || out == NULL ||
        span->descriptor != &opentelemetry__proto__trace__v1__span__descriptor) {
        return AG_EINVAL;
    }
    int rc = ex_xray_resource_new(opts, resource, &r);
    if (rc != 0) {
        return rc;
    }
    rc = ex_xray_segment_write_res(opts, r, span, out, res_out);
    ex_xray_resource_free(r);
    return rc;
}

int ex_xray_segment_write_res(const struct ex_xray_options *opts,
                              const struct ex_xray_resource *r, const ProtobufCMessage *span,
                              struct ag_buf *out, struct ex_xray_result *res_out)
{
    struct ex_xray_result res_local;
    struct ex_xray_result *res = res_out ? res_out : &res_local;
    struct xr x;
    int rc;

    memset(res, 0, sizeof(*res));
    if (r == NULL || span == NULL || out == NULL ||
        span->descriptor != &opentelemetry__proto__trace__v1__span__descriptor) {
        return AG_EINVAL;
    }
    memset(&x, 0, sizeof(x));
    x.o = opts ? opts : &xray_defaults;
    x.sp = (const pb_span *)span;
    x.res = res;
    x.r = r;
    x.rattrs = r->attrs;
    x.n_rattrs = r->n;
    x.ridx = &r->idx;

    /* Ids and the trace-id window (xray.md §3): every failure drops the span. */
    bool validate = !x.o->skip_timestamp_validation;
    int64_t now = x.o->now_unix_s ? x.o->now_unix_s : (int64_t)(ag_time_now_ns() / 1000000000u);
    if (x.sp->span_id.len != 8 || x.sp->span_id.data == NULL ||
        ex_xray_trace_id(x.sp->trace_id.data, x.sp->trace_id.len, validate, now, x.trace_id) != 0) {
        return AG_EPROTO;
    }
    for (size_t i = 0; i < x.sp->n_links; i++) {
        const pb_link *l = x.sp->links[i];
        char tid[36];
        if (l == NULL || ex_xray_trace_id(l->trace_id.data, l->trace_id.len, validate, now, tid)) {
            return AG_EPROTO;
        }
    }

    rc = kv_index_build(&x.sidx, x.sp->attributes, x.sp->n_attributes);
    if (rc != 0) {
        goto out;
    }
    x.kind = (int)x.sp->kind;
    x.has_parent = x.sp->parent_span_id.len == 8 && !is_zero(x.sp->parent_span_id.data, 8);
    x.local_root = streq(attr_str(&x, "aws.span.kind"), "LOCAL_ROOT");
    x.aws_sdk = streq(attr_str(&x, "rpc.system"), "aws-api");
    x.xray_annotations = attr(&x, "aws.xray.annotations");
    mark_xray_keys(&x);

    /* The documents go straight to |out|: cut back to |before| if the span fails. */
    size_t before = out->len;
    bool split =
        x.local_root && (x.kind == K_CLIENT || x.kind == K_PRODUCER || x.kind == K_CONSUMER);
    if (split) {
        x.new_id = new_random_id(&x);
        rc = add_doc(&x, DOC_DEPENDENCY, out);
        if (rc == 0) {
            rc = add_doc(&x, DOC_SERVICE, out);
        }
    } else {
        rc = add_doc(&x, DOC_NORMAL, out);
    }
    if (rc != 0) {
        if (!x.out_lost) {
            truncate_to(out, before);
        }
        size_t dropped = res->dropped_attributes;
        memset(res, 0, sizeof(*res));
        res->dropped_attributes = dropped;
    }
out:
    kv_index_cleanup(&x.sidx);
    return rc;
}
