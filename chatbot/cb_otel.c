// SPDX-License-Identifier: Apache-2.0
/*
 * cb_otel's runtime: spans, metric instruments, log records, their OTLP protobuf encoding and
 * the OTLP/HTTP exporters (batching, retries, partial success, shutdown flush). The HTTP client
 * is ex_aws_http (libcurl multi on the service's libevent loop); see cb_otel.h for the contract
 * and chatbot/README.md for the decisions.
 */
#include "config.h"
#include "cb_otel.h"
#include "cb_otel_int.h"

#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_time.h"
#include "ag_zip.h"
#include "ex_aws_http.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "google/rpc/status.pb-c.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define WHO          "otel"
#define SCOPE_NAME   "otter.chatbot"
#define MAX_BODY     (64u * 1024 * 1024) /* the exporter spec's client-side request cap */
#define MAX_RESPONSE (4u * 1024 * 1024)
#define SIG_TRACES   0
#define SIG_METRICS  1
#define SIG_LOGS     2

typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;

const double cb_otel_duration_bounds[14] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                            0.5,   0.75, 1,     2.5,  5,     7.5, 10};
/* gen_ai.client.token.usage's advisory bounds (semantic conventions). */
static const double token_bounds[14] = {1,     4,     16,     64,      256,     1024,     4096,
                                        16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

enum val_type { VT_STR, VT_INT, VT_DBL, VT_BOOL, VT_STRARR };

struct ot_val {
    enum val_type type;
    union {
        char *s;
        int64_t i;
        double d;
        bool b;
        struct {
            char **v;
            size_t n;
        } a;
    } u;
};

struct ot_kv {
    char *key;
    struct ot_val val;
};

struct ot_attrs {
    struct ot_kv *v;
    size_t n, cap;
    uint32_t dropped; /* keys refused past CB_OTEL_MAX_ATTRS */
};

struct ot_event {
    char *name;
    uint64_t time_ns;
    struct ot_attrs attrs;
};

struct cb_otel_span {
    struct cb_otel *tel;
    struct cb_otel_span_ctx ctx;
    uint8_t parent_span_id[8];
    bool has_parent, parent_remote;
    bool recording;
    char *name;
    enum cb_otel_span_kind kind;
    uint64_t start_ns, end_ns, start_mono_ns;
    struct ot_attrs attrs;
    struct ot_event *events;
    size_t n_events, cap_events;
    uint32_t dropped_events;
    enum cb_otel_status status;
    char *status_msg;
    char *http_method, *http_route; /* server spans: for the request metrics */
    struct cb_otel_span *next;
};

struct ot_log {
    uint64_t time_ns, observed_ns;
    enum cb_otel_severity sev;
    char *body;
    struct ot_attrs attrs;
    uint8_t trace_id[16], span_id[8];
    uint8_t flags;
    bool has_ctx;
    struct ot_log *next;
};

struct ot_point {
    char *key; /* canonical form of the attribute set */
    struct ot_attrs attrs;
    int64_t isum;
    uint64_t count;
    double sum, min, max;
    uint64_t *buckets; /* n_bounds + 1 */
};

struct cb_otel_metric {
    struct cb_otel *tel;
    char *name, *unit, *desc;
    bool hist;
    double *bounds;
    size_t n_bounds;
    struct ot_point *pts;
    size_t n, cap;
    struct cb_otel_metric *next;
};

struct ot_exp {
    struct cb_otel *tel;
    int sig;
    char *url;
    struct ex_aws_header *hdrs;
    size_t n_hdrs;
    struct event *timer;    /* batch delay (spans, logs) or export interval (metrics) */
    struct event *retry_ev; /* the wait before a retry */
    bool busy;              /* a request in flight or a retry pending */
    bool due;               /* metrics: a collection is wanted */
    struct ag_buf body;     /* the request being sent (kept for retries) */
    size_t items;
    unsigned attempt;
};

struct cb_otel {
    struct event_base *base;
    struct cb_otel_config cfg; /* scalars only: lists and URLs moved out */
    bool disabled, closed, aborting;
    uint64_t start_ns;
    uint64_t deadline_mono_ns; /* while flushing */
    bool flushing;
    struct ex_aws_http *http;
    struct ot_attrs resource;
    struct ot_exp exp[3];
    struct cb_otel_span *sq_head, *sq_tail;
    size_t sq_n;
    struct ot_log *lq_head, *lq_tail;
    size_t lq_n;
    struct cb_otel_metric *metrics;
    struct cb_otel_metric *m_requests, *m_duration, *m_tokens, *m_errors;
    struct cb_otel_stats st;
    uint8_t rnd[256];
    size_t rnd_pos;
    uint64_t jitter;
};

static const char *const sig_name[3] = {"traces", "metrics", "logs"};

/* ---- attributes -------------------------------------------------------------------------------
 */

static void val_free(struct ot_val *v)
{
    if (v->type == VT_STR) {
        ag_free(v->u.s);
    } else if (v->type == VT_STRARR) {
        for (size_t i = 0; i < v->u.a.n; i++) {
            ag_free(v->u.a.v[i]);
        }
        ag_free(v->u.a.v);
    }
    memset(v, 0, sizeof(*v));
}

/* Deep-copies |src| (whose strings are borrowed) into |dst|. */
static int val_copy(struct ot_val *dst, const struct ot_val *src)
{
    *dst = *src;
    if (src->type == VT_STR) {
        dst->u.s = cb_otel_utf8_dup(src->u.s);
        return dst->u.s == NULL ? AG_ENOMEM : 0;
    }
    if (src->type == VT_STRARR) {
        dst->u.a.v = ag_calloc(src->u.a.n + 1, sizeof(char *));
        if (dst->u.a.v == NULL) {
            dst->u.a.n = 0;
            return AG_ENOMEM;
        }
        for (size_t i = 0; i < src->u.a.n; i++) {
            dst->u.a.v[i] = cb_otel_utf8_dup(src->u.a.v[i] != NULL ? src->u.a.v[i] : "");
            if (dst->u.a.v[i] == NULL) {
                dst->u.a.n = i;
                val_free(dst);
                return AG_ENOMEM;
            }
        }
    }
    return 0;
}

static void attrs_free(struct ot_attrs *a)
{
    for (size_t i = 0; i < a->n; i++) {
        ag_free(a->v[i].key);
        val_free(&a->v[i].val);
    }
    ag_free(a->v);
    memset(a, 0, sizeof(*a));
}

/* Sets |key| to a copy of |val|: replaces the value of an existing key, or appends. */
static int attrs_put(struct ot_attrs *a, const char *key, const struct ot_val *val)
{
    struct ot_val copy;
    int rc;

    if (key == NULL || (val->type == VT_STR && val->u.s == NULL)) {
        return 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i].key, key) == 0) {
            rc = val_copy(&copy, val);
            if (rc != 0) {
                return rc;
            }
            val_free(&a->v[i].val);
            a->v[i].val = copy;
            return 0;
        }
    }
    if (a->n >= CB_OTEL_MAX_ATTRS) {
        a->dropped++;
        return 0;
    }
    if (a->n == a->cap) {
        size_t ncap = a->cap == 0 ? 8 : a->cap * 2;
        struct ot_kv *nv = ag_realloc(a->v, ncap * sizeof(*nv));
        if (nv == NULL) {
            return AG_ENOMEM;
        }
        a->v = nv;
        a->cap = ncap;
    }
    a->v[a->n].key = cb_otel_utf8_dup(key);
    if (a->v[a->n].key == NULL) {
        return AG_ENOMEM;
    }
    rc = val_copy(&a->v[a->n].val, val);
    if (rc != 0) {
        ag_free(a->v[a->n].key);
        return rc;
    }
    a->n++;
    return 0;
}

static void pub_to_val(const struct cb_otel_attr *p, struct ot_val *v)
{
    memset(v, 0, sizeof(*v));
    switch (p->type) {
    case CB_OTEL_ATTR_STRING:
        v->type = VT_STR;
        v->u.s = (char *)(uintptr_t)p->v.s;
        break;
    case CB_OTEL_ATTR_INT:
        v->type = VT_INT;
        v->u.i = p->v.i;
        break;
    case CB_OTEL_ATTR_DOUBLE:
        v->type = VT_DBL;
        v->u.d = p->v.d;
        break;
    case CB_OTEL_ATTR_BOOL:
    default:
        v->type = VT_BOOL;
        v->u.b = p->v.b;
        break;
    }
}

static int attrs_put_pub(struct ot_attrs *a, const struct cb_otel_attr *attrs, size_t n)
{
    for (size_t i = 0; attrs != NULL && i < n; i++) {
        struct ot_val v;
        pub_to_val(&attrs[i], &v);
        int rc = attrs_put(a, attrs[i].key, &v);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int attrs_put_str(struct ot_attrs *a, const char *key, const char *s)
{
    struct ot_val v = {.type = VT_STR, .u.s = (char *)(uintptr_t)s};
    return attrs_put(a, key, &v);
}

/* ---- ids and clocks ------------------------------------------------------------------------- */

static int random_bytes(struct cb_otel *tel, uint8_t *out, size_t n)
{
    if (tel->rnd_pos + n > sizeof(tel->rnd)) {
        size_t got = 0;
        while (got < sizeof(tel->rnd)) {
            ssize_t r = getrandom(tel->rnd + got, sizeof(tel->rnd) - got, 0);
            if (r < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return ag_err_from_errno(errno);
            }
            got += (size_t)r;
        }
        tel->rnd_pos = 0;
    }
    memcpy(out, tel->rnd + tel->rnd_pos, n);
    tel->rnd_pos += n;
    return 0;
}

/* A random id that is not all zeros (W3C: all-zero ids are invalid). */
static int random_id(struct cb_otel *tel, uint8_t *out, size_t n)
{
    for (;;) {
        int rc = random_bytes(tel, out, n);
        if (rc != 0) {
            return rc;
        }
        for (size_t i = 0; i < n; i++) {
            if (out[i] != 0) {
                return 0;
            }
        }
    }
}

static uint64_t jitter_next(struct cb_otel *tel)
{
    /* xorshift64: retries need spread, not secrecy. */
    uint64_t x = tel->jitter;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    tel->jitter = x;
    return x;
}

/* ---- spans ---------------------------------------------------------------------------------- */

bool cb_otel_enabled(const struct cb_otel *tel)
{
    return tel != NULL && !tel->disabled;
}

static void span_free(struct cb_otel_span *s)
{
    if (s == NULL) {
        return;
    }
    ag_free(s->name);
    attrs_free(&s->attrs);
    for (size_t i = 0; i < s->n_events; i++) {
        ag_free(s->events[i].name);
        attrs_free(&s->events[i].attrs);
    }
    ag_free(s->events);
    ag_free(s->status_msg);
    ag_free(s->http_method);
    ag_free(s->http_route);
    ag_free(s);
}

struct cb_otel_span *cb_otel_span_start(struct cb_otel *tel, const char *name,
                                        enum cb_otel_span_kind kind,
                                        const struct cb_otel_span_ctx *parent)
{
    struct cb_otel_span *s;

    if (tel == NULL || tel->disabled || tel->closed) {
        return NULL;
    }
    s = ag_calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->tel = tel;
    s->kind = kind;
    s->name = cb_otel_utf8_dup(name != NULL ? name : "");
    if (s->name == NULL) {
        goto fail;
    }
    if (parent != NULL && parent->valid) {
        memcpy(s->ctx.trace_id, parent->trace_id, 16);
        memcpy(s->parent_span_id, parent->span_id, 8);
        s->has_parent = true;
        s->parent_remote = parent->remote;
        s->ctx.flags = parent->flags;
        memcpy(s->ctx.tracestate, parent->tracestate, sizeof(s->ctx.tracestate));
        s->ctx.tracestate[CB_OTEL_TRACESTATE_MAX] = '\0';
    } else {
        if (random_id(tel, s->ctx.trace_id, 16) != 0) {
            goto fail;
        }
        /* X-Ray's id format (AWS's id generator in every OTel SDK): the first 4 bytes are the
         * Unix time in seconds, big-endian, the other 12 random. X-Ray refuses trace ids whose
         * time is not within the last 28 days; the W3C format does not care. */
        uint32_t secs = (uint32_t)(ag_time_now_ns() / 1000000000u);
        s->ctx.trace_id[0] = (uint8_t)(secs >> 24);
        s->ctx.trace_id[1] = (uint8_t)(secs >> 16);
        s->ctx.trace_id[2] = (uint8_t)(secs >> 8);
        s->ctx.trace_id[3] = (uint8_t)secs;
        s->ctx.flags = 0x01;
    }
    if (random_id(tel, s->ctx.span_id, 8) != 0) {
        goto fail;
    }
    s->ctx.valid = true;
    s->ctx.remote = false;
    /* ParentBased(AlwaysOn): follow the parent's sampled flag; roots are sampled. */
    s->recording = (s->ctx.flags & 0x01) != 0 && tel->exp[SIG_TRACES].url != NULL;
    s->start_ns = ag_time_now_ns();
    s->start_mono_ns = ag_time_mono_ns();
    return s;
fail:
    span_free(s);
    return NULL;
}

const struct cb_otel_span_ctx *cb_otel_span_context(const struct cb_otel_span *span)
{
    return span != NULL ? &span->ctx : NULL;
}

void cb_otel_span_set_name(struct cb_otel_span *span, const char *name)
{
    char *n;

    if (span == NULL || name == NULL) {
        return;
    }
    n = cb_otel_utf8_dup(name);
    if (n != NULL) {
        ag_free(span->name);
        span->name = n;
    }
}

static void span_put(struct cb_otel_span *span, const char *key, const struct ot_val *v)
{
    if (span == NULL || !span->recording) {
        return;
    }
    /* Out of memory: the attribute is lost, the span is kept. */
    (void)attrs_put(&span->attrs, key, v);
}

void cb_otel_span_set_str(struct cb_otel_span *span, const char *key, const char *value)
{
    struct ot_val v = {.type = VT_STR, .u.s = (char *)(uintptr_t)value};
    span_put(span, key, &v);
}

void cb_otel_span_set_int(struct cb_otel_span *span, const char *key, int64_t value)
{
    struct ot_val v = {.type = VT_INT, .u.i = value};
    span_put(span, key, &v);
}

void cb_otel_span_set_double(struct cb_otel_span *span, const char *key, double value)
{
    struct ot_val v = {.type = VT_DBL, .u.d = value};
    span_put(span, key, &v);
}

void cb_otel_span_set_bool(struct cb_otel_span *span, const char *key, bool value)
{
    struct ot_val v = {.type = VT_BOOL, .u.b = value};
    span_put(span, key, &v);
}

void cb_otel_span_set_str_array(struct cb_otel_span *span, const char *key,
                                const char *const *values, size_t n)
{
    struct ot_val v = {.type = VT_STRARR};
    v.u.a.v = (char **)(uintptr_t)values;
    v.u.a.n = values != NULL ? n : 0;
    span_put(span, key, &v);
}

void cb_otel_span_set_attrs(struct cb_otel_span *span, const struct cb_otel_attr *attrs, size_t n)
{
    if (span == NULL || !span->recording) {
        return;
    }
    (void)attrs_put_pub(&span->attrs, attrs, n);
}

void cb_otel_span_set_status(struct cb_otel_span *span, enum cb_otel_status code,
                             const char *message)
{
    if (span == NULL || code == CB_OTEL_STATUS_UNSET || span->status == CB_OTEL_STATUS_OK) {
        return;
    }
    span->status = code;
    ag_free(span->status_msg);
    span->status_msg = NULL;
    if (code == CB_OTEL_STATUS_ERROR && message != NULL) {
        span->status_msg = cb_otel_utf8_dup(message);
    }
}

void cb_otel_span_add_event(struct cb_otel_span *span, const char *name,
                            const struct cb_otel_attr *attrs, size_t n)
{
    struct ot_event *e;

    if (span == NULL || !span->recording || name == NULL) {
        return;
    }
    if (span->n_events >= CB_OTEL_MAX_EVENTS) {
        span->dropped_events++;
        return;
    }
    if (span->n_events == span->cap_events) {
        size_t ncap = span->cap_events == 0 ? 4 : span->cap_events * 2;
        struct ot_event *ne = ag_realloc(span->events, ncap * sizeof(*ne));
        if (ne == NULL) {
            return;
        }
        span->events = ne;
        span->cap_events = ncap;
    }
    e = &span->events[span->n_events];
    memset(e, 0, sizeof(*e));
    e->name = cb_otel_utf8_dup(name);
    if (e->name == NULL) {
        return;
    }
    e->time_ns = ag_time_now_ns();
    if (attrs_put_pub(&e->attrs, attrs, n) != 0) {
        ag_free(e->name);
        attrs_free(&e->attrs);
        return;
    }
    span->n_events++;
}

static void exp_kick(struct ot_exp *x);

void cb_otel_span_end(struct cb_otel_span *span)
{
    struct cb_otel *tel;

    if (span == NULL) {
        return;
    }
    tel = span->tel;
    span->end_ns = ag_time_now_ns();
    if (span->end_ns < span->start_ns) {
        span->end_ns = span->start_ns; /* the wall clock stepped back */
    }
    if (!span->recording || tel->closed) {
        span_free(span);
        return;
    }
    tel->st.spans_ended++;
    if (tel->sq_n >= tel->cfg.max_queue) {
        tel->st.spans_dropped++;
        if (tel->st.spans_dropped == 1 || tel->st.spans_dropped % 1000 == 0) {
            ag_log(AG_LOG_WARN, WHO, "span queue full (%zu): %llu spans dropped so far",
                   tel->cfg.max_queue, (unsigned long long)tel->st.spans_dropped);
        }
        span_free(span);
        return;
    }
    span->next = NULL;
    if (tel->sq_tail != NULL) {
        tel->sq_tail->next = span;
    } else {
        tel->sq_head = span;
    }
    tel->sq_tail = span;
    tel->sq_n++;
    if (tel->sq_n >= tel->cfg.max_batch) {
        exp_kick(&tel->exp[SIG_TRACES]);
    }
}

/* ---- metrics -------------------------------------------------------------------------------- */

size_t cb_otel_bucket_index(const double *bounds, size_t n, double v)
{
    /* Upper bounds are inclusive: (bounds[i-1], bounds[i]]. Binary search for the first
     * bound >= v. */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= bounds[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

static void metric_free(struct cb_otel_metric *m)
{
    for (size_t i = 0; i < m->n; i++) {
        ag_free(m->pts[i].key);
        attrs_free(&m->pts[i].attrs);
        ag_free(m->pts[i].buckets);
    }
    ag_free(m->pts);
    ag_free(m->name);
    ag_free(m->unit);
    ag_free(m->desc);
    ag_free(m->bounds);
    ag_free(m);
}

static struct cb_otel_metric *metric_new(struct cb_otel *tel, const char *name, const char *unit,
                                         const char *desc, bool hist, const double *bounds,
                                         size_t n)
{
    struct cb_otel_metric *m;

    if (tel == NULL || tel->disabled || name == NULL) {
        return NULL;
    }
    for (size_t i = 1; hist && i < n; i++) {
        if (!(bounds[i] > bounds[i - 1])) {
            return NULL;
        }
    }
    m = ag_calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->tel = tel;
    m->hist = hist;
    m->name = ag_strdup(name);
    m->unit = ag_strdup(unit != NULL ? unit : "");
    m->desc = ag_strdup(desc != NULL ? desc : "");
    if (hist && n > 0) {
        m->bounds = ag_malloc(n * sizeof(double));
        if (m->bounds != NULL) {
            memcpy(m->bounds, bounds, n * sizeof(double));
        }
    }
    m->n_bounds = hist ? n : 0;
    if (m->name == NULL || m->unit == NULL || m->desc == NULL || (hist && n > 0 && !m->bounds)) {
        metric_free(m);
        return NULL;
    }
    m->next = tel->metrics;
    tel->metrics = m;
    return m;
}

struct cb_otel_metric *cb_otel_counter_new(struct cb_otel *tel, const char *name, const char *unit,
                                           const char *description)
{
    return metric_new(tel, name, unit, description, false, NULL, 0);
}

struct cb_otel_metric *cb_otel_histogram_new(struct cb_otel *tel, const char *name,
                                             const char *unit, const char *description,
                                             const double *bounds, size_t n)
{
    return metric_new(tel, name, unit, description, true, bounds, n);
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ot_kv *)a)->key, ((const struct ot_kv *)b)->key);
}

/* The canonical text of an attribute set (sorted by key): equal sets give equal keys. */
static char *point_key(struct ot_attrs *a)
{
    struct ag_buf b;
    int rc = 0;

    qsort(a->v, a->n, sizeof(a->v[0]), kv_cmp);
    ag_buf_init(&b, 1u << 20);
    rc = ag_buf_addc(&b, '\x1d');
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        const struct ot_val *v = &a->v[i].val;
        rc = ag_buf_printf(&b, "%s\x1f%d\x1f", a->v[i].key, (int)v->type);
        if (rc != 0) {
            break;
        }
        switch (v->type) {
        case VT_STR:
            rc = ag_buf_adds(&b, v->u.s);
            break;
        case VT_INT:
            rc = ag_buf_printf(&b, "%lld", (long long)v->u.i);
            break;
        case VT_DBL:
            rc = ag_buf_printf(&b, "%.17g", v->u.d);
            break;
        case VT_BOOL:
            rc = ag_buf_addc(&b, v->u.b ? '1' : '0');
            break;
        case VT_STRARR:
            for (size_t j = 0; rc == 0 && j < v->u.a.n; j++) {
                rc = ag_buf_printf(&b, "%s\x1c", v->u.a.v[j]);
            }
            break;
        }
        if (rc == 0) {
            rc = ag_buf_addc(&b, '\x1e');
        }
    }
    if (rc != 0) {
        return NULL; /* ag_buf freed itself */
    }
    return (char *)ag_buf_steal(&b, NULL);
}

/* The point of |m| whose canonical attribute key is |key| (borrowed), or NULL. */
static struct ot_point *point_find(struct cb_otel_metric *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->pts[i].key, key) == 0) {
            return &m->pts[i];
        }
    }
    return NULL;
}

/* The point of the attribute set |attrs|, made when new; NULL when out of memory. */
static struct ot_point *point_get(struct cb_otel_metric *m, const struct cb_otel_attr *attrs,
                                  size_t n)
{
    struct ot_attrs a = {0};
    char *key = NULL;
    struct ot_point *p = NULL;

    if (attrs_put_pub(&a, attrs, n) != 0) {
        goto out;
    }
    key = point_key(&a);
    if (key == NULL) {
        goto out;
    }
    p = point_find(m, key);
    if (p != NULL) {
        goto out;
    }
    if (m->n >= CB_OTEL_MAX_POINTS) {
        /* The SDK's cardinality limit: everything new goes to one overflow point. */
        attrs_free(&a);
        struct ot_val t = {.type = VT_BOOL, .u.b = true};
        if (attrs_put(&a, "otel.metric.overflow", &t) != 0) {
            goto out;
        }
        ag_free(key);
        key = point_key(&a);
        if (key == NULL) {
            goto out;
        }
        p = point_find(m, key);
        if (p != NULL) {
            goto out;
        }
    }
    if (m->n == m->cap) {
        size_t ncap = m->cap == 0 ? 8 : m->cap * 2;
        struct ot_point *np = ag_realloc(m->pts, ncap * sizeof(*np));
        if (np == NULL) {
            goto out;
        }
        m->pts = np;
        m->cap = ncap;
    }
    p = &m->pts[m->n];
    memset(p, 0, sizeof(*p));
    if (m->hist) {
        p->buckets = ag_calloc(m->n_bounds + 1, sizeof(uint64_t));
        if (p->buckets == NULL) {
            p = NULL;
            goto out;
        }
    }
    p->key = key;
    p->attrs = a;
    key = NULL;
    memset(&a, 0, sizeof(a));
    m->n++;
out:
    ag_free(key);
    attrs_free(&a);
    return p;
}

void cb_otel_counter_add(struct cb_otel_metric *m, int64_t value, const struct cb_otel_attr *attrs,
                         size_t n)
{
    struct ot_point *p;

    if (m == NULL || m->hist || value < 0 || m->tel->closed) {
        return;
    }
    p = point_get(m, attrs, n);
    if (p != NULL) {
        p->isum += value;
    }
}

void cb_otel_histogram_record(struct cb_otel_metric *m, double value,
                              const struct cb_otel_attr *attrs, size_t n)
{
    struct ot_point *p;

    if (m == NULL || !m->hist || isnan(value) || m->tel->closed) {
        return;
    }
    p = point_get(m, attrs, n);
    if (p == NULL) {
        return;
    }
    if (p->count == 0 || value < p->min) {
        p->min = value;
    }
    if (p->count == 0 || value > p->max) {
        p->max = value;
    }
    p->count++;
    p->sum += value;
    p->buckets[cb_otel_bucket_index(m->bounds, m->n_bounds, value)]++;
}

/* ---- logs ----------------------------------------------------------------------------------- */

static void log_free(struct ot_log *l)
{
    if (l == NULL) {
        return;
    }
    ag_free(l->body);
    attrs_free(&l->attrs);
    ag_free(l);
}

void cb_otel_log(struct cb_otel *tel, enum cb_otel_severity severity,
                 const struct cb_otel_span *span, const char *body,
                 const struct cb_otel_attr *attrs, size_t n)
{
    struct ot_log *l;

    if (tel == NULL || tel->disabled || tel->closed || tel->exp[SIG_LOGS].url == NULL) {
        return;
    }
    tel->st.logs_emitted++;
    if (tel->lq_n >= tel->cfg.max_queue) {
        tel->st.logs_dropped++;
        return;
    }
    l = ag_calloc(1, sizeof(*l));
    if (l == NULL) {
        tel->st.logs_dropped++;
        return;
    }
    l->time_ns = l->observed_ns = ag_time_now_ns();
    l->sev = severity;
    l->body = cb_otel_utf8_dup(body != NULL ? body : "");
    if (l->body == NULL || attrs_put_pub(&l->attrs, attrs, n) != 0) {
        log_free(l);
        tel->st.logs_dropped++;
        return;
    }
    if (span != NULL) {
        memcpy(l->trace_id, span->ctx.trace_id, 16);
        memcpy(l->span_id, span->ctx.span_id, 8);
        l->flags = span->ctx.flags;
        l->has_ctx = true;
    }
    if (tel->lq_tail != NULL) {
        tel->lq_tail->next = l;
    } else {
        tel->lq_head = l;
    }
    tel->lq_tail = l;
    tel->lq_n++;
    if (tel->lq_n >= tel->cfg.max_batch) {
        exp_kick(&tel->exp[SIG_LOGS]);
    }
}

/* ---- semantic-convention helpers ------------------------------------------------------------ */

static const char *known_method(const char *m)
{
    static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                        "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; m != NULL && i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(m, known[i]) == 0) {
            return known[i];
        }
    }
    return NULL;
}

static void server_span_name(struct cb_otel_span *s)
{
    char name[256];
    const char *m = s->http_method != NULL ? s->http_method : "HTTP";

    if (strcmp(m, "_OTHER") == 0) {
        m = "HTTP"; /* semconv: an unknown method names the span "HTTP" */
    }
    if (s->http_route != NULL) {
        snprintf(name, sizeof(name), "%s %s", m, s->http_route);
    } else {
        snprintf(name, sizeof(name), "%s", m);
    }
    cb_otel_span_set_name(s, name);
}

struct cb_otel_span *cb_otel_server_span_start(struct cb_otel *tel,
                                               const struct cb_otel_http_request_info *req)
{
    struct cb_otel_span_ctx parent;
    struct cb_otel_span *s;
    const char *method;

    if (tel == NULL || tel->disabled || req == NULL) {
        return NULL;
    }
    (void)cb_otel_extract(req->traceparent, req->tracestate, &parent);
    s = cb_otel_span_start(tel, "HTTP", CB_OTEL_SPAN_SERVER, &parent);
    if (s == NULL) {
        return NULL;
    }
    method = known_method(req->method);
    s->http_method = ag_strdup(method != NULL ? method : "_OTHER");
    if (req->route != NULL) {
        s->http_route = cb_otel_utf8_dup(req->route);
    }
    cb_otel_span_set_str(s, "http.request.method", s->http_method);
    if (method == NULL && req->method != NULL) {
        cb_otel_span_set_str(s, "http.request.method_original", req->method);
    }
    cb_otel_span_set_str(s, "url.path", req->path);
    cb_otel_span_set_str(s, "url.scheme", "http");
    cb_otel_span_set_str(s, "http.route", req->route);
    cb_otel_span_set_str(s, "server.address", req->server_address);
    if (req->server_port > 0) {
        cb_otel_span_set_int(s, "server.port", req->server_port);
    }
    cb_otel_span_set_str(s, "client.address", req->client_address);
    cb_otel_span_set_str(s, "user_agent.original", req->user_agent);
    server_span_name(s);
    return s;
}

void cb_otel_server_span_set_route(struct cb_otel_span *span, const char *route)
{
    char *r;

    if (span == NULL || route == NULL) {
        return;
    }
    r = cb_otel_utf8_dup(route);
    if (r == NULL) {
        return;
    }
    ag_free(span->http_route);
    span->http_route = r;
    cb_otel_span_set_str(span, "http.route", route);
    server_span_name(span);
}

void cb_otel_record_request(struct cb_otel *tel, const char *method, const char *route,
                            int status_code, double duration_s)
{
    if (tel == NULL || tel->disabled) {
        return;
    }
    const char *m = known_method(method);
    struct cb_otel_attr a[3] = {
        CB_OTEL_STR("http.route", route != NULL ? route : "unknown"),
        CB_OTEL_INT("http.response.status_code", status_code),
        CB_OTEL_STR("http.request.method", m != NULL ? m : "_OTHER"),
    };
    cb_otel_counter_add(tel->m_requests, 1, a, 2);
    /* http.server.request.duration carries the method too (semantic conventions). */
    cb_otel_histogram_record(tel->m_duration, duration_s, a, 3);
}

void cb_otel_server_span_end(struct cb_otel *tel, struct cb_otel_span *span, int status_code)
{
    char code[16];

    if (span == NULL) {
        return;
    }
    double dur = (double)(ag_time_mono_ns() - span->start_mono_ns) / 1e9;
    cb_otel_span_set_int(span, "http.response.status_code", status_code);
    if (status_code >= 500) {
        snprintf(code, sizeof(code), "%d", status_code);
        cb_otel_span_set_str(span, "error.type", code);
        cb_otel_span_set_status(span, CB_OTEL_STATUS_ERROR, NULL);
    }
    cb_otel_record_request(tel != NULL ? tel : span->tel, span->http_method, span->http_route,
                           status_code, dur);
    cb_otel_span_end(span);
}

struct cb_otel_span *cb_otel_bedrock_span_start(struct cb_otel *tel,
                                                const struct cb_otel_span_ctx *parent,
                                                const struct cb_otel_bedrock_call *call)
{
    char name[320];
    struct cb_otel_span *s;

    if (tel == NULL || tel->disabled || call == NULL) {
        return NULL;
    }
    snprintf(name, sizeof(name), "chat %s", call->model != NULL ? call->model : "");
    s = cb_otel_span_start(tel, name, CB_OTEL_SPAN_CLIENT, parent);
    if (s == NULL) {
        return NULL;
    }
    const struct cb_otel_attr a[] = {
        CB_OTEL_STR("gen_ai.system", "aws.bedrock"),
        CB_OTEL_STR("gen_ai.operation.name", "chat"),
        CB_OTEL_STR("gen_ai.request.model", call->model),
        CB_OTEL_STR("rpc.system", "aws-api"),
        CB_OTEL_STR("rpc.service", "BedrockRuntime"),
        CB_OTEL_STR("rpc.method", call->operation),
        CB_OTEL_STR("cloud.region", call->region),
    };
    cb_otel_span_set_attrs(s, a, sizeof(a) / sizeof(a[0]));
    return s;
}

void cb_otel_bedrock_span_content(struct cb_otel *tel, struct cb_otel_span *span,
                                  const char *prompt, const char *completion)
{
    if (tel == NULL || span == NULL || !tel->cfg.record_content) {
        return;
    }
    if (prompt != NULL) {
        struct cb_otel_attr a = CB_OTEL_STR("gen_ai.prompt", prompt);
        cb_otel_span_add_event(span, "gen_ai.user.message", &a, 1);
    }
    if (completion != NULL) {
        struct cb_otel_attr a = CB_OTEL_STR("gen_ai.completion", completion);
        cb_otel_span_add_event(span, "gen_ai.choice", &a, 1);
    }
}

void cb_otel_bedrock_span_end(struct cb_otel *tel, struct cb_otel_span *span,
                              const struct cb_otel_bedrock_call *call,
                              const struct cb_otel_bedrock_result *res)
{
    const char *model = call != NULL ? call->model : NULL;

    if (tel == NULL && span != NULL) {
        tel = span->tel;
    }
    if (res != NULL) {
        cb_otel_span_set_str(span, "aws.request_id", res->request_id);
        if (res->input_tokens >= 0) {
            cb_otel_span_set_int(span, "gen_ai.usage.input_tokens", res->input_tokens);
        }
        if (res->output_tokens >= 0) {
            cb_otel_span_set_int(span, "gen_ai.usage.output_tokens", res->output_tokens);
        }
        if (res->finish_reason != NULL) {
            cb_otel_span_set_str_array(span, "gen_ai.response.finish_reasons", &res->finish_reason,
                                       1);
        }
        if (res->http_status > 0) {
            cb_otel_span_set_int(span, "http.response.status_code", res->http_status);
        }
        if (res->error_type != NULL) {
            cb_otel_span_set_str(span, "error.type", res->error_type);
            cb_otel_span_set_status(span, CB_OTEL_STATUS_ERROR, res->error_message);
        }
    }
    if (cb_otel_enabled(tel) && res != NULL) {
        struct cb_otel_attr a[4] = {
            CB_OTEL_STR("gen_ai.system", "aws.bedrock"),
            CB_OTEL_STR("gen_ai.operation.name", "chat"),
            CB_OTEL_STR("gen_ai.request.model", model != NULL ? model : ""),
            CB_OTEL_STR("gen_ai.token.type", "input"),
        };
        if (res->input_tokens >= 0) {
            cb_otel_histogram_record(tel->m_tokens, (double)res->input_tokens, a, 4);
        }
        if (res->output_tokens >= 0) {
            a[3].v.s = "output";
            cb_otel_histogram_record(tel->m_tokens, (double)res->output_tokens, a, 4);
        }
        if (res->error_type != NULL) {
            struct cb_otel_attr e[2] = {
                CB_OTEL_STR("gen_ai.system", "aws.bedrock"),
                CB_OTEL_STR("error.type", res->error_type),
            };
            cb_otel_counter_add(tel->m_errors, 1, e, 2);
        }
    }
    cb_otel_span_end(span);
}

/* ---- protobuf encoding ---------------------------------------------------------------------- */

static pb_any *enc_val(struct ag_arena *ar, const struct ot_val *v)
{
    pb_any *a = ag_arena_alloc(ar, sizeof(*a));

    if (a == NULL) {
        return NULL;
    }
    *a = (pb_any)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    switch (v->type) {
    case VT_STR:
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        a->string_value = v->u.s;
        break;
    case VT_INT:
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        a->int_value = v->u.i;
        break;
    case VT_DBL:
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        a->double_value = v->u.d;
        break;
    case VT_BOOL:
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        a->bool_value = v->u.b;
        break;
    case VT_STRARR: {
        Opentelemetry__Proto__Common__V1__ArrayValue *arr = ag_arena_alloc(ar, sizeof(*arr));
        if (arr == NULL) {
            return NULL;
        }
        *arr = (Opentelemetry__Proto__Common__V1__ArrayValue)
            OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        arr->n_values = v->u.a.n;
        arr->values = ag_arena_alloc(ar, (v->u.a.n + 1) * sizeof(pb_any *));
        if (arr->values == NULL) {
            return NULL;
        }
        for (size_t i = 0; i < v->u.a.n; i++) {
            struct ot_val s = {.type = VT_STR, .u.s = v->u.a.v[i]};
            arr->values[i] = enc_val(ar, &s);
            if (arr->values[i] == NULL) {
                return NULL;
            }
        }
        a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        a->array_value = arr;
        break;
    }
    }
    return a;
}

/* Returns 0 and the KeyValue array of |at| in |*out|, |*n| entries; AG_ENOMEM. */
static int enc_attrs(struct ag_arena *ar, const struct ot_attrs *at, pb_kv ***out, size_t *n)
{
    pb_kv **v = NULL;

    *out = NULL;
    *n = 0;
    if (at->n == 0) {
        return 0;
    }
    v = ag_arena_alloc(ar, at->n * sizeof(*v));
    if (v == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < at->n; i++) {
        v[i] = ag_arena_alloc(ar, sizeof(pb_kv));
        if (v[i] == NULL) {
            return AG_ENOMEM;
        }
        *v[i] = (pb_kv)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
        v[i]->key = at->v[i].key;
        v[i]->value = enc_val(ar, &at->v[i].val);
        if (v[i]->value == NULL) {
            return AG_ENOMEM;
        }
    }
    *out = v;
    *n = at->n;
    return 0;
}

static int enc_resource_scope(struct cb_otel *tel, struct ag_arena *ar,
                              Opentelemetry__Proto__Resource__V1__Resource **res,
                              Opentelemetry__Proto__Common__V1__InstrumentationScope **scope)
{
    *res = ag_arena_alloc(ar, sizeof(**res));
    *scope = ag_arena_alloc(ar, sizeof(**scope));
    if (*res == NULL || *scope == NULL) {
        return AG_ENOMEM;
    }
    **res = (Opentelemetry__Proto__Resource__V1__Resource)
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    **scope = (Opentelemetry__Proto__Common__V1__InstrumentationScope)
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    (*scope)->name = (char *)SCOPE_NAME;
    (*scope)->version = (char *)OTTER_VERSION;
    return enc_attrs(ar, &tel->resource, &(*res)->attributes, &(*res)->n_attributes);
}

/* Detaches the first |n| (>= 1) nodes of a queue kept as |head|, |tail| and |count|: they stay
 * linked from the old head and the last one's next is NULL. A macro because spans and logs are
 * queued as different node types, both linked through their next field. */
#define QUEUE_DETACH(type, head, tail, count, n)                                                  \
    do {                                                                                          \
        type *last_ = (head);                                                                     \
        for (size_t i_ = 1; i_ < (n); i_++) {                                                     \
            last_ = last_->next;                                                                  \
        }                                                                                         \
        (head) = last_->next;                                                                     \
        last_->next = NULL;                                                                       \
        if ((head) == NULL) {                                                                     \
            (tail) = NULL;                                                                        \
        }                                                                                         \
        (count) -= (n);                                                                           \
    } while (0)

/* Opens a request of |n| records: a new arena in *ar (the caller frees it with ag_arena_free(),
 * also on failure), the shared resource and scope in *res and *scope, and an array of |n|
 * pointers of |elem| bytes each in *records. Returns 0, or AG_ENOMEM. */
static int enc_begin(struct cb_otel *tel, size_t n, size_t elem, struct ag_arena **ar,
                     Opentelemetry__Proto__Resource__V1__Resource **res,
                     Opentelemetry__Proto__Common__V1__InstrumentationScope **scope,
                     void **records)
{
    int rc;

    *ar = ag_arena_new(0);
    if (*ar == NULL) {
        return AG_ENOMEM;
    }
    rc = enc_resource_scope(tel, *ar, res, scope);
    if (rc != 0) {
        return rc;
    }
    *records = ag_arena_alloc(*ar, n * elem);
    return *records == NULL ? AG_ENOMEM : 0;
}

/* Packs |msg| at the end of |out|. */
static int pack_into(const ProtobufCMessage *msg, struct ag_buf *out)
{
    size_t sz = protobuf_c_message_get_packed_size(msg);
    uint8_t *p;

    if (sz > MAX_BODY) {
        return AG_ETOOBIG;
    }
    p = ag_buf_reserve(out, sz);
    if (p == NULL) {
        return AG_ENOMEM;
    }
    protobuf_c_message_pack(msg, p);
    ag_buf_commit(out, sz);
    return 0;
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t n)
{
    ProtobufCBinaryData b = {n, (uint8_t *)(uintptr_t)p};
    return b;
}

int cb_otel_encode_traces(struct cb_otel *tel, struct ag_buf *out, size_t *n_out)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
    struct cb_otel_span *taken = NULL, *s;
    struct ag_arena *ar = NULL;
    void *records = NULL;
    size_t n = 0;
    int rc = 0;

    *n_out = 0;
    if (tel == NULL || tel->sq_n == 0) {
        return 0;
    }
    /* Take the batch off the queue first: whatever happens, these spans leave the queue. */
    taken = tel->sq_head;
    for (s = taken; s != NULL && n < tel->cfg.max_batch; s = s->next) {
        n++;
    }
    QUEUE_DETACH(struct cb_otel_span, tel->sq_head, tel->sq_tail, tel->sq_n, n);
    rc = enc_begin(tel, n, sizeof(*ss.spans), &ar, &rs.resource, &ss.scope, &records);
    if (rc != 0) {
        goto out;
    }
    ss.spans = records;
    for (s = taken; s != NULL; s = s->next) {
        Opentelemetry__Proto__Trace__V1__Span *p = ag_arena_alloc(ar, sizeof(*p));
        Opentelemetry__Proto__Trace__V1__Status *st = ag_arena_alloc(ar, sizeof(*st));
        if (p == NULL || st == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        *p = (Opentelemetry__Proto__Trace__V1__Span)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
        *st =
            (Opentelemetry__Proto__Trace__V1__Status)OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
        p->trace_id = bin(s->ctx.trace_id, 16);
        p->span_id = bin(s->ctx.span_id, 8);
        if (s->has_parent) {
            p->parent_span_id = bin(s->parent_span_id, 8);
        }
        p->trace_state = s->ctx.tracestate;
        /* Bits 0-7: trace flags; bit 8: "is_remote is known"; bit 9: the parent is remote. */
        p->flags =
            (uint32_t)s->ctx.flags | 0x100u | (s->has_parent && s->parent_remote ? 0x200u : 0);
        p->name = s->name;
        p->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
        p->start_time_unix_nano = s->start_ns;
        p->end_time_unix_nano = s->end_ns;
        rc = enc_attrs(ar, &s->attrs, &p->attributes, &p->n_attributes);
        if (rc != 0) {
            goto out;
        }
        p->dropped_attributes_count = s->attrs.dropped;
        if (s->n_events > 0) {
            p->events = ag_arena_alloc(ar, s->n_events * sizeof(*p->events));
            if (p->events == NULL) {
                rc = AG_ENOMEM;
                goto out;
            }
            for (size_t i = 0; i < s->n_events; i++) {
                Opentelemetry__Proto__Trace__V1__Span__Event *e = ag_arena_alloc(ar, sizeof(*e));
                if (e == NULL) {
                    rc = AG_ENOMEM;
                    goto out;
                }
                *e = (Opentelemetry__Proto__Trace__V1__Span__Event)
                    OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
                e->name = s->events[i].name;
                e->time_unix_nano = s->events[i].time_ns;
                rc = enc_attrs(ar, &s->events[i].attrs, &e->attributes, &e->n_attributes);
                if (rc != 0) {
                    goto out;
                }
                p->events[i] = e;
            }
            p->n_events = s->n_events;
        }
        p->dropped_events_count = s->dropped_events;
        st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status;
        if (s->status_msg != NULL) {
            st->message = s->status_msg;
        }
        p->status = st;
        ss.spans[ss.n_spans++] = p;
    }
    rs.n_scope_spans = 1;
    rs.scope_spans = &ssp;
    req.n_resource_spans = 1;
    req.resource_spans = &rsp;
    rc = pack_into(&req.base, out);
out:
    ag_arena_free(ar);
    while (taken != NULL) {
        s = taken->next;
        span_free(taken);
        taken = s;
    }
    *n_out = n; /* taken off the queue, also on failure */
    return rc;
}

int cb_otel_encode_logs(struct cb_otel *tel, struct ag_buf *out, size_t *n_out)
{
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Logs__V1__ResourceLogs rl =
        OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
    Opentelemetry__Proto__Logs__V1__ScopeLogs sl = OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rlp = &rl;
    Opentelemetry__Proto__Logs__V1__ScopeLogs *slp = &sl;
    static const char *const sev_text[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    struct ot_log *taken = NULL, *l;
    struct ag_arena *ar = NULL;
    void *records = NULL;
    size_t n = 0;
    int rc = 0;

    *n_out = 0;
    if (tel == NULL || tel->lq_n == 0) {
        return 0;
    }
    taken = tel->lq_head;
    n = tel->lq_n < tel->cfg.max_batch ? tel->lq_n : tel->cfg.max_batch;
    QUEUE_DETACH(struct ot_log, tel->lq_head, tel->lq_tail, tel->lq_n, n);
    rc = enc_begin(tel, n, sizeof(*sl.log_records), &ar, &rl.resource, &sl.scope, &records);
    if (rc != 0) {
        goto out;
    }
    sl.log_records = records;
    for (l = taken; l != NULL; l = l->next) {
        Opentelemetry__Proto__Logs__V1__LogRecord *r = ag_arena_alloc(ar, sizeof(*r));
        struct ot_val body = {.type = VT_STR, .u.s = l->body};
        if (r == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        *r = (Opentelemetry__Proto__Logs__V1__LogRecord)
            OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
        r->time_unix_nano = l->time_ns;
        r->observed_time_unix_nano = l->observed_ns;
        r->severity_number = (Opentelemetry__Proto__Logs__V1__SeverityNumber)l->sev;
        if (l->sev >= 1 && l->sev <= 24) {
            r->severity_text = (char *)sev_text[(l->sev - 1) / 4];
        }
        r->body = enc_val(ar, &body);
        if (r->body == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        rc = enc_attrs(ar, &l->attrs, &r->attributes, &r->n_attributes);
        if (rc != 0) {
            goto out;
        }
        r->dropped_attributes_count = l->attrs.dropped;
        if (l->has_ctx) {
            r->trace_id = bin(l->trace_id, 16);
            r->span_id = bin(l->span_id, 8);
            r->flags = l->flags;
        }
        sl.log_records[sl.n_log_records++] = r;
    }
    rl.n_scope_logs = 1;
    rl.scope_logs = &slp;
    req.n_resource_logs = 1;
    req.resource_logs = &rlp;
    rc = pack_into(&req.base, out);
out:
    ag_arena_free(ar);
    while (taken != NULL) {
        l = taken->next;
        log_free(taken);
        taken = l;
    }
    *n_out = n; /* taken off the queue, also on failure */
    return rc;
}

int cb_otel_encode_metrics(struct cb_otel *tel, uint64_t now_ns, struct ag_buf *out, size_t *n_out)
{
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm =
        OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm =
        OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rmp = &rm;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *smp = &sm;
    struct ag_arena *ar = NULL;
    void *records = NULL;
    size_t n_metrics = 0, n_points = 0;
    int rc = 0;

    *n_out = 0;
    if (tel == NULL) {
        return 0;
    }
    for (struct cb_otel_metric *m = tel->metrics; m != NULL; m = m->next) {
        if (m->n > 0) {
            n_metrics++;
        }
    }
    if (n_metrics == 0) {
        return 0;
    }
    rc = enc_begin(tel, n_metrics, sizeof(*sm.metrics), &ar, &rm.resource, &sm.scope, &records);
    if (rc != 0) {
        goto out;
    }
    sm.metrics = records;
    /* Instruments are kept newest first: emit them in creation order. */
    for (size_t want = n_metrics; want > 0; want--) {
        struct cb_otel_metric *m = NULL;
        size_t k = 0;
        for (struct cb_otel_metric *it = tel->metrics; it != NULL; it = it->next) {
            if (it->n > 0 && ++k == want) {
                m = it;
            }
        }
        Opentelemetry__Proto__Metrics__V1__Metric *pm = ag_arena_alloc(ar, sizeof(*pm));
        if (pm == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        *pm = (Opentelemetry__Proto__Metrics__V1__Metric)
            OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
        pm->name = m->name;
        pm->unit = m->unit;
        pm->description = m->desc;
        if (!m->hist) {
            Opentelemetry__Proto__Metrics__V1__Sum *sum = ag_arena_alloc(ar, sizeof(*sum));
            Opentelemetry__Proto__Metrics__V1__NumberDataPoint **dps =
                ag_arena_alloc(ar, m->n * sizeof(*dps));
            if (sum == NULL || dps == NULL) {
                rc = AG_ENOMEM;
                goto out;
            }
            *sum = (Opentelemetry__Proto__Metrics__V1__Sum)
                OPENTELEMETRY__PROTO__METRICS__V1__SUM__INIT;
            sum->aggregation_temporality =
                OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
            sum->is_monotonic = 1;
            for (size_t i = 0; i < m->n; i++) {
                dps[i] = ag_arena_alloc(ar, sizeof(**dps));
                if (dps[i] == NULL) {
                    rc = AG_ENOMEM;
                    goto out;
                }
                *dps[i] = (Opentelemetry__Proto__Metrics__V1__NumberDataPoint)
                    OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
                rc = enc_attrs(ar, &m->pts[i].attrs, &dps[i]->attributes, &dps[i]->n_attributes);
                if (rc != 0) {
                    goto out;
                }
                dps[i]->start_time_unix_nano = tel->start_ns;
                dps[i]->time_unix_nano = now_ns;
                dps[i]->value_case =
                    OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
                dps[i]->as_int = m->pts[i].isum;
            }
            sum->n_data_points = m->n;
            sum->data_points = dps;
            pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
            pm->sum = sum;
        } else {
            Opentelemetry__Proto__Metrics__V1__Histogram *h = ag_arena_alloc(ar, sizeof(*h));
            Opentelemetry__Proto__Metrics__V1__HistogramDataPoint **dps =
                ag_arena_alloc(ar, m->n * sizeof(*dps));
            if (h == NULL || dps == NULL) {
                rc = AG_ENOMEM;
                goto out;
            }
            *h = (Opentelemetry__Proto__Metrics__V1__Histogram)
                OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
            h->aggregation_temporality =
                OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
            for (size_t i = 0; i < m->n; i++) {
                const struct ot_point *pt = &m->pts[i];
                dps[i] = ag_arena_alloc(ar, sizeof(**dps));
                if (dps[i] == NULL) {
                    rc = AG_ENOMEM;
                    goto out;
                }
                *dps[i] = (Opentelemetry__Proto__Metrics__V1__HistogramDataPoint)
                    OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
                rc = enc_attrs(ar, &pt->attrs, &dps[i]->attributes, &dps[i]->n_attributes);
                if (rc != 0) {
                    goto out;
                }
                dps[i]->start_time_unix_nano = tel->start_ns;
                dps[i]->time_unix_nano = now_ns;
                dps[i]->count = pt->count;
                dps[i]->sum_present_case =
                    OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
                dps[i]->sum = pt->sum;
                if (pt->count > 0) {
                    dps[i]->min_present_case =
                        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
                    dps[i]->min = pt->min;
                    dps[i]->max_present_case =
                        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
                    dps[i]->max = pt->max;
                }
                dps[i]->n_bucket_counts = m->n_bounds + 1;
                dps[i]->bucket_counts = pt->buckets;
                dps[i]->n_explicit_bounds = m->n_bounds;
                dps[i]->explicit_bounds = m->bounds;
            }
            h->n_data_points = m->n;
            h->data_points = dps;
            pm->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
            pm->histogram = h;
        }
        n_points += m->n;
        sm.metrics[sm.n_metrics++] = pm;
    }
    rm.n_scope_metrics = 1;
    rm.scope_metrics = &smp;
    req.n_resource_metrics = 1;
    req.resource_metrics = &rmp;
    rc = pack_into(&req.base, out);
out:
    ag_arena_free(ar);
    if (rc == 0) {
        *n_out = n_points;
    }
    return rc;
}

uint64_t cb_otel_start_ns(const struct cb_otel *tel)
{
    return tel != NULL ? tel->start_ns : 0;
}

/* ---- export --------------------------------------------------------------------------------- */

static uint64_t *stat_sent(struct cb_otel *tel, int sig)
{
    return sig == SIG_TRACES ? &tel->st.spans_sent
           : sig == SIG_LOGS ? &tel->st.logs_sent
                             : &tel->st.points_sent;
}

static uint64_t *stat_failed(struct cb_otel *tel, int sig)
{
    return sig == SIG_TRACES ? &tel->st.spans_failed
           : sig == SIG_LOGS ? &tel->st.logs_failed
                             : &tel->st.points_failed;
}

static uint64_t *stat_rejected(struct cb_otel *tel, int sig)
{
    return sig == SIG_TRACES ? &tel->st.spans_rejected
           : sig == SIG_LOGS ? &tel->st.logs_rejected
                             : &tel->st.points_rejected;
}

static size_t queued(const struct ot_exp *x)
{
    return x->sig == SIG_TRACES ? x->tel->sq_n : x->sig == SIG_LOGS ? x->tel->lq_n : 0;
}

static void exp_finish(struct ot_exp *x)
{
    x->busy = false;
    x->items = 0;
    x->attempt = 0;
    ag_buf_reset(&x->body);
}

static void exp_fail(struct ot_exp *x, const char *why)
{
    struct cb_otel *tel = x->tel;

    *stat_failed(tel, x->sig) += x->items;
    ag_log(AG_LOG_WARN, WHO, "%s export to %s failed: %s; %zu %s dropped", sig_name[x->sig], x->url,
           why, x->items, x->sig == SIG_METRICS ? "points" : "items");
    exp_finish(x);
}

static void exp_send(struct ot_exp *x);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct ot_exp *x = arg;

    (void)fd;
    (void)what;
    x->tel->st.retries++;
    exp_send(x);
}

/* Reads a 2xx answer's partial_success (protobuf; an empty body is full success). */
static void read_partial(struct ot_exp *x, const struct ex_aws_http_response *resp)
{
    struct cb_otel *tel = x->tel;
    struct ag_arena *ar;
    ProtobufCAllocator alloc;
    int64_t rejected = 0;
    const char *msg = NULL;

    if (resp->body_len == 0) {
        return;
    }
    if (resp->content_type != NULL && strstr(resp->content_type, "protobuf") == NULL) {
        ag_log(AG_LOG_DEBUG, WHO, "%s export: a %s answer; partial_success not read",
               sig_name[x->sig], resp->content_type);
        return;
    }
    ar = ag_arena_new(MAX_RESPONSE * 2);
    if (ar == NULL) {
        return;
    }
    ag_arena_pb_allocator(ar, &alloc);
    if (x->sig == SIG_TRACES) {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
            opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
                &alloc, resp->body_len, resp->body);
        if (r != NULL && r->partial_success != NULL) {
            rejected = r->partial_success->rejected_spans;
            msg = r->partial_success->error_message;
        } else if (r == NULL) {
            msg = "(undecodable response)";
        }
    } else if (x->sig == SIG_METRICS) {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *r =
            opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__unpack(
                &alloc, resp->body_len, resp->body);
        if (r != NULL && r->partial_success != NULL) {
            rejected = r->partial_success->rejected_data_points;
            msg = r->partial_success->error_message;
        } else if (r == NULL) {
            msg = "(undecodable response)";
        }
    } else {
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse *r =
            opentelemetry__proto__collector__logs__v1__export_logs_service_response__unpack(
                &alloc, resp->body_len, resp->body);
        if (r != NULL && r->partial_success != NULL) {
            rejected = r->partial_success->rejected_log_records;
            msg = r->partial_success->error_message;
        } else if (r == NULL) {
            msg = "(undecodable response)";
        }
    }
    if (rejected < 0) {
        rejected = 0;
    }
    if ((uint64_t)rejected > x->items) {
        rejected = (int64_t)x->items;
    }
    if (rejected > 0 || (msg != NULL && msg[0] != '\0')) {
        ag_log(AG_LOG_WARN, WHO, "%s export: partial success, %lld rejected: %s", sig_name[x->sig],
               (long long)rejected, msg != NULL ? msg : "");
    }
    *stat_rejected(tel, x->sig) += (uint64_t)rejected;
    *stat_sent(tel, x->sig) -= (uint64_t)rejected;
    ag_arena_free(ar);
}

/* The message of a google.rpc.Status error body, or "". */
static void status_message(const struct ex_aws_http_response *resp, char *out, size_t len)
{
    struct ag_arena *ar;
    ProtobufCAllocator alloc;

    out[0] = '\0';
    if (resp->body_len == 0 || resp->content_type == NULL ||
        strstr(resp->content_type, "protobuf") == NULL) {
        return;
    }
    ar = ag_arena_new(MAX_RESPONSE * 2);
    if (ar == NULL) {
        return;
    }
    ag_arena_pb_allocator(ar, &alloc);
    Google__Rpc__Status *st = google__rpc__status__unpack(&alloc, resp->body_len, resp->body);
    if (st != NULL && st->message != NULL) {
        snprintf(out, len, ": %s", st->message);
    }
    ag_arena_free(ar);
}

static uint64_t backoff_ms(struct cb_otel *tel, unsigned attempt)
{
    double d = (double)tel->cfg.backoff_initial_ms;

    for (unsigned i = 1; i < attempt; i++) {
        d *= 1.5;
    }
    if (d > (double)tel->cfg.backoff_max_ms) {
        d = (double)tel->cfg.backoff_max_ms;
    }
    /* +-20 % jitter, so that many instances do not retry in step. */
    double j = (double)(jitter_next(tel) % 4001) / 10000.0 - 0.2;
    d *= 1.0 + j;
    return d < 1 ? 1 : (uint64_t)d;
}

static void check_kick_after(struct ot_exp *x);

static void on_done(void *arg, const struct ex_aws_http_response *resp)
{
    struct ot_exp *x = arg;
    struct cb_otel *tel = x->tel;
    char why[320];
    bool retryable;

    if (resp->rc == 0 && resp->status >= 200 && resp->status < 300) {
        *stat_sent(tel, x->sig) += x->items;
        if (x->sig == SIG_METRICS) {
            tel->st.metric_exports++;
        }
        read_partial(x, resp);
        exp_finish(x);
        check_kick_after(x);
        return;
    }
    if (resp->rc != 0) {
        snprintf(why, sizeof(why), "%s (%s)", ag_strerror(resp->rc), resp->transport_error);
        retryable = resp->rc == AG_EIO || resp->rc == AG_ETIMEDOUT;
    } else {
        char msg[200];
        status_message(resp, msg, sizeof(msg));
        snprintf(why, sizeof(why), "HTTP %d%s", resp->status, msg);
        /* The OTLP spec: only these are retryable. */
        retryable = resp->status == 429 || resp->status == 502 || resp->status == 503 ||
                    resp->status == 504;
    }
    if (tel->aborting || !retryable || x->attempt + 1 >= tel->cfg.max_attempts) {
        exp_fail(x, why);
        check_kick_after(x);
        return;
    }
    x->attempt++;
    uint64_t delay = resp->retry_after_ms > 0 ? resp->retry_after_ms : backoff_ms(tel, x->attempt);
    if (tel->flushing && ag_time_mono_ns() + delay * 1000000u > tel->deadline_mono_ns) {
        exp_fail(x, "the retry would pass the shutdown deadline");
        check_kick_after(x);
        return;
    }
    ag_log(AG_LOG_INFO, WHO, "%s export: %s; retry %u in %llu ms", sig_name[x->sig], why,
           x->attempt, (unsigned long long)delay);
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(x->retry_ev, &tv);
}

static void exp_send(struct ot_exp *x)
{
    struct cb_otel *tel = x->tel;
    struct ex_aws_http_request req;
    int rc;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = x->url;
    req.headers = x->hdrs;
    req.n_headers = x->n_hdrs;
    req.body = ag_buf_ptr(&x->body);
    req.body_len = x->body.len;
    req.timeout_ms = tel->cfg.timeout_ms;
    req.max_response = MAX_RESPONSE;
    tel->st.requests++;
    rc = ex_aws_http_send(tel->http, &req, on_done, x);
    if (rc != 0) {
        exp_fail(x, ag_strerror(rc));
    }
}

/* Starts an export of |x|'s signal when it is idle and has something to send. */
static void exp_kick(struct ot_exp *x)
{
    struct cb_otel *tel = x->tel;
    size_t n = 0;
    int rc;

    if (x->url == NULL || x->busy || tel->aborting || tel->http == NULL) {
        return;
    }
    ag_buf_reset(&x->body);
    if (x->sig == SIG_TRACES) {
        rc = cb_otel_encode_traces(tel, &x->body, &n);
    } else if (x->sig == SIG_LOGS) {
        rc = cb_otel_encode_logs(tel, &x->body, &n);
    } else {
        if (!x->due) {
            return;
        }
        x->due = false;
        rc = cb_otel_encode_metrics(tel, ag_time_now_ns(), &x->body, &n);
    }
    if (rc != 0) {
        /* A failed append already freed the buffer; an arena failure did not. */
        ag_buf_cleanup(&x->body);
        ag_buf_init(&x->body, MAX_BODY);
        x->items = n;
        *stat_failed(tel, x->sig) += n;
        ag_log(AG_LOG_ERROR, WHO, "%s: encoding failed: %s", sig_name[x->sig], ag_strerror(rc));
        return;
    }
    if (n == 0) {
        return;
    }
    if (tel->cfg.gzip) {
        struct ag_buf z;
        ag_buf_init(&z, MAX_BODY);
        rc = ag_zip_gzip(ag_buf_ptr(&x->body), x->body.len, &z);
        if (rc != 0) {
            ag_buf_cleanup(&z);
            *stat_failed(tel, x->sig) += n;
            ag_buf_reset(&x->body);
            ag_log(AG_LOG_ERROR, WHO, "%s: gzip failed: %s", sig_name[x->sig], ag_strerror(rc));
            return;
        }
        ag_buf_cleanup(&x->body);
        x->body = z;
    }
    x->items = n;
    x->attempt = 0;
    x->busy = true;
    exp_send(x);
}

static void check_kick_after(struct ot_exp *x)
{
    /* Keep draining while a full batch waits, or everything when flushing. */
    if (x->tel->aborting) {
        return;
    }
    if (queued(x) >= x->tel->cfg.max_batch || (x->tel->flushing && queued(x) > 0) ||
        (x->sig == SIG_METRICS && x->due)) {
        exp_kick(x);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct ot_exp *x = arg;

    (void)fd;
    (void)what;
    if (x->sig == SIG_METRICS) {
        x->due = true;
    }
    exp_kick(x);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static int exp_init(struct cb_otel *tel, int sig, char *url, const struct cb_otel_kvlist *hdrs,
                    uint64_t period_ms)
{
    struct ot_exp *x = &tel->exp[sig];
    size_t n = 0;

    x->tel = tel;
    x->sig = sig;
    x->url = url;
    ag_buf_init(&x->body, MAX_BODY);
    if (url == NULL) {
        return 0;
    }
    x->hdrs = ag_calloc(hdrs->n + 2, sizeof(*x->hdrs));
    if (x->hdrs == NULL) {
        return AG_ENOMEM;
    }
    x->hdrs[n].name = "Content-Type";
    x->hdrs[n++].value = "application/x-protobuf";
    if (tel->cfg.gzip) {
        x->hdrs[n].name = "Content-Encoding";
        x->hdrs[n++].value = "gzip";
    }
    for (size_t i = 0; i < hdrs->n; i++) {
        x->hdrs[n].name = hdrs->items[i].key;
        x->hdrs[n++].value = hdrs->items[i].value;
    }
    x->n_hdrs = n;
    x->timer = event_new(tel->base, -1, EV_PERSIST, on_timer, x);
    x->retry_ev = evtimer_new(tel->base, on_retry, x);
    if (x->timer == NULL || x->retry_ev == NULL) {
        return AG_ENOMEM;
    }
    struct timeval tv = {(time_t)(period_ms / 1000), (suseconds_t)((period_ms % 1000) * 1000)};
    if (event_add(x->timer, &tv) != 0) {
        return AG_ENOMEM;
    }
    return 0;
}

int cb_otel_new(struct event_base *base, const struct cb_otel_config *cfg, struct cb_otel **out)
{
    struct cb_otel *tel = NULL;
    char *urls[3] = {NULL, NULL, NULL};
    int rc = 0;

    *out = NULL;
    if (base == NULL || cfg == NULL) {
        return AG_EINVAL;
    }
    tel = ag_calloc(1, sizeof(*tel));
    if (tel == NULL) {
        return AG_ENOMEM;
    }
    tel->base = base;
    tel->cfg = *cfg;
    /* The copy keeps scalars only; lists are copied into tel->resource and the exporters. */
    tel->cfg.traces_url = NULL;
    tel->cfg.metrics_url = NULL;
    tel->cfg.logs_url = NULL;
    memset(tel->cfg.headers, 0, sizeof(tel->cfg.headers));
    memset(&tel->cfg.resource, 0, sizeof(tel->cfg.resource));
    if (tel->cfg.max_queue == 0) {
        tel->cfg.max_queue = 2048;
    }
    if (tel->cfg.max_batch == 0 || tel->cfg.max_batch > tel->cfg.max_queue) {
        tel->cfg.max_batch = tel->cfg.max_queue < 512 ? tel->cfg.max_queue : 512;
    }
    if (tel->cfg.max_attempts == 0) {
        tel->cfg.max_attempts = 1;
    }
    tel->disabled = cfg->disabled;
    tel->start_ns = ag_time_now_ns();
    tel->jitter = tel->start_ns | 1;
    for (int i = 0; i < 3; i++) {
        tel->exp[i].tel = tel;
        tel->exp[i].sig = i;
        ag_buf_init(&tel->exp[i].body, MAX_BODY);
    }
    if (tel->disabled) {
        *out = tel;
        return 0;
    }
    for (size_t i = 0; i < cfg->resource.n; i++) {
        rc =
            attrs_put_str(&tel->resource, cfg->resource.items[i].key, cfg->resource.items[i].value);
        if (rc != 0) {
            goto fail;
        }
    }
    if (attrs_put_str(&tel->resource, "telemetry.sdk.name", "otter-cb_otel") != 0 ||
        attrs_put_str(&tel->resource, "telemetry.sdk.language", "c") != 0 ||
        attrs_put_str(&tel->resource, "telemetry.sdk.version", OTTER_VERSION) != 0) {
        rc = AG_ENOMEM;
        goto fail;
    }
    const char *src[3] = {cfg->traces_url, cfg->metrics_url, cfg->logs_url};
    for (int i = 0; i < 3; i++) {
        if (src[i] != NULL) {
            urls[i] = ag_strdup(src[i]);
            if (urls[i] == NULL) {
                rc = AG_ENOMEM;
                goto fail;
            }
        }
    }
    /* Header strings stay owned by a private copy of the lists. */
    if (urls[0] != NULL || urls[1] != NULL || urls[2] != NULL) {
        struct ex_aws_http_options o = {0, cfg->timeout_ms, "otter-chatbot-otlp/" OTTER_VERSION};
        rc = ex_aws_http_new(base, &o, &tel->http);
        if (rc != 0) {
            goto fail;
        }
    }
    for (int i = 0; i < 3; i++) {
        for (size_t j = 0; j < cfg->headers[i].n; j++) {
            struct cb_otel_kvlist *h = &tel->cfg.headers[i];
            struct cb_otel_kv *ni = ag_realloc(h->items, (h->n + 1) * sizeof(*ni));
            if (ni == NULL) {
                rc = AG_ENOMEM;
                goto fail;
            }
            h->items = ni;
            ni[h->n].key = ag_strdup(cfg->headers[i].items[j].key);
            ni[h->n].value = ag_strdup(cfg->headers[i].items[j].value);
            h->n++;
            if (ni[h->n - 1].key == NULL || ni[h->n - 1].value == NULL) {
                rc = AG_ENOMEM;
                goto fail;
            }
        }
    }
    uint64_t periods[3] = {tel->cfg.schedule_delay_ms, tel->cfg.metric_interval_ms,
                           tel->cfg.logs_delay_ms};
    for (int i = 0; i < 3; i++) {
        rc = exp_init(tel, i, urls[i], &tel->cfg.headers[i], periods[i] > 0 ? periods[i] : 1000);
        urls[i] = NULL;
        if (rc != 0) {
            goto fail;
        }
    }
    tel->m_requests = cb_otel_counter_new(tel, "chatbot.requests", "{request}",
                                          "Requests answered, by route and status code.");
    tel->m_duration =
        cb_otel_histogram_new(tel, "http.server.request.duration", "s",
                              "Duration of HTTP server requests.", cb_otel_duration_bounds, 14);
    tel->m_tokens =
        cb_otel_histogram_new(tel, "gen_ai.client.token.usage", "{token}",
                              "Measures number of input and output tokens used.", token_bounds, 14);
    tel->m_errors = cb_otel_counter_new(tel, "chatbot.provider.errors", "{error}",
                                        "Failed model provider calls, by error type.");
    if (tel->m_requests == NULL || tel->m_duration == NULL || tel->m_tokens == NULL ||
        tel->m_errors == NULL) {
        rc = AG_ENOMEM;
        goto fail;
    }
    *out = tel;
    return 0;
fail:
    for (int i = 0; i < 3; i++) {
        ag_free(urls[i]);
    }
    cb_otel_free(tel);
    return rc;
}

int cb_otel_new_from_env(struct event_base *base, const char *service_version, struct cb_otel **out)
{
    struct cb_otel_config cfg;
    int rc;

    *out = NULL;
    cb_otel_config_init(&cfg);
    rc = cb_otel_config_from_env(&cfg, service_version, NULL, NULL);
    if (rc == 0) {
        rc = cb_otel_new(base, &cfg, out);
    }
    cb_otel_config_cleanup(&cfg);
    return rc;
}

static bool all_idle(const struct cb_otel *tel)
{
    for (int i = 0; i < 3; i++) {
        const struct ot_exp *x = &tel->exp[i];
        if (x->url == NULL) {
            continue;
        }
        if (x->busy || queued(x) > 0 || (i == SIG_METRICS && x->due)) {
            return false;
        }
    }
    return true;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

int cb_otel_shutdown(struct cb_otel *tel, uint64_t timeout_ms)
{
    bool hit = false;
    struct event *dl;
    int rc = 0;

    if (tel == NULL || tel->disabled || tel->closed) {
        return 0;
    }
    tel->closed = true;
    tel->flushing = true;
    tel->deadline_mono_ns = ag_time_mono_ns() + timeout_ms * 1000000u;
    if (tel->exp[SIG_METRICS].url != NULL) {
        tel->exp[SIG_METRICS].due = true;
    }
    for (int i = 0; i < 3; i++) {
        if (tel->exp[i].timer != NULL) {
            event_del(tel->exp[i].timer);
        }
        exp_kick(&tel->exp[i]);
    }
    dl = evtimer_new(tel->base, on_deadline, &hit);
    if (dl != NULL) {
        struct timeval tv = {(time_t)(timeout_ms / 1000),
                             (suseconds_t)((timeout_ms % 1000) * 1000)};
        evtimer_add(dl, &tv);
    }
    while (dl != NULL && !hit && !all_idle(tel)) {
        if (event_base_loop(tel->base, EVLOOP_ONCE) < 0) {
            break;
        }
    }
    if (dl != NULL) {
        event_free(dl);
    }
    if (!all_idle(tel)) {
        rc = AG_ETIMEDOUT;
        ag_log(AG_LOG_WARN, WHO, "shutdown: telemetry still unsent after %llu ms is dropped",
               (unsigned long long)timeout_ms);
        tel->aborting = true;
        for (int i = 0; i < 3; i++) {
            struct ot_exp *x = &tel->exp[i];
            if (x->retry_ev != NULL && evtimer_pending(x->retry_ev, NULL)) {
                evtimer_del(x->retry_ev);
                exp_fail(x, "shutdown deadline");
            }
        }
        /* Aborts what is in flight: each done callback counts its items failed. */
        ex_aws_http_free(tel->http);
        tel->http = NULL;
        tel->st.spans_failed += tel->sq_n;
        tel->st.logs_failed += tel->lq_n;
    }
    tel->flushing = false;
    return rc;
}

void cb_otel_free(struct cb_otel *tel)
{
    if (tel == NULL) {
        return;
    }
    tel->aborting = true;
    tel->closed = true;
    ex_aws_http_free(tel->http);
    tel->http = NULL;
    for (int i = 0; i < 3; i++) {
        struct ot_exp *x = &tel->exp[i];
        if (x->timer != NULL) {
            event_free(x->timer);
        }
        if (x->retry_ev != NULL) {
            event_free(x->retry_ev);
        }
        ag_free(x->url);
        ag_free(x->hdrs);
        ag_buf_cleanup(&x->body);
        cb_otel_kvlist_cleanup(&tel->cfg.headers[i]);
    }
    while (tel->sq_head != NULL) {
        struct cb_otel_span *n = tel->sq_head->next;
        span_free(tel->sq_head);
        tel->sq_head = n;
    }
    while (tel->lq_head != NULL) {
        struct ot_log *n = tel->lq_head->next;
        log_free(tel->lq_head);
        tel->lq_head = n;
    }
    while (tel->metrics != NULL) {
        struct cb_otel_metric *n = tel->metrics->next;
        metric_free(tel->metrics);
        tel->metrics = n;
    }
    attrs_free(&tel->resource);
    ag_free(tel);
}

void cb_otel_stats(const struct cb_otel *tel, struct cb_otel_stats *out)
{
    if (tel == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = tel->st;
}
