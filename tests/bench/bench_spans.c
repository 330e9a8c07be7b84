/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds the benchmark span shapes with the generated protobuf-c structures and packs them. The
 * structures live in one scratch allocation per request; strings that vary per span are written
 * into per-span buffers inside it, so nothing outlives the pack.
 */
#include "bench_spans.h"
#include "bench_int.h"

#include <stdio.h>
#include <string.h>

#include "ag_mem.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define BENCH_MAX_SPANS      1000000
#define BENCH_SPAN_ATTRS     10 /* the most any shape uses */

struct span_scratch {
    Opentelemetry__Proto__Trace__V1__Span span;
    Opentelemetry__Proto__Trace__V1__Status status;
    Opentelemetry__Proto__Common__V1__KeyValue kv[BENCH_SPAN_ATTRS];
    Opentelemetry__Proto__Common__V1__KeyValue *kvp[BENCH_SPAN_ATTRS];
    Opentelemetry__Proto__Common__V1__AnyValue av[BENCH_SPAN_ATTRS];
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    char url_path[32];
    char client_addr[24];
};

struct req_scratch {
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req;
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp;
    Opentelemetry__Proto__Resource__V1__Resource resource;
    Opentelemetry__Proto__Common__V1__KeyValue rkv[BENCH_RESOURCE_ATTRS];
    Opentelemetry__Proto__Common__V1__KeyValue *rkvp[BENCH_RESOURCE_ATTRS];
    Opentelemetry__Proto__Common__V1__AnyValue rav[BENCH_RESOURCE_ATTRS];
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp;
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
};

/* Resource attributes of the realistic shape, as an SDK-instrumented service sends them. */
const char *const bench_realistic_resource[BENCH_RESOURCE_ATTRS][2] = {
    {"service.name", "checkout-api"},
    {"service.version", "2.14.3"},
    {"service.instance.id", "checkout-api-7f9c6d5b8-x2k4q"},
    {"deployment.environment.name", "production"},
    {"host.name", "ip-10-1-23-45.ec2.internal"},
    {"host.arch", "amd64"},
    {"os.type", "linux"},
    {"telemetry.sdk.name", "opentelemetry"},
    {"telemetry.sdk.language", "go"},
    {"telemetry.sdk.version", "1.32.0"},
};

int bench_shape_parse(const char *s, enum bench_shape *out)
{
    if (strcmp(s, "small") == 0) {
        *out = BENCH_SHAPE_SMALL;
        return 0;
    }
    if (strcmp(s, "realistic") == 0) {
        *out = BENCH_SHAPE_REALISTIC;
        return 0;
    }
    return AG_EINVAL;
}

const char *bench_shape_name(enum bench_shape shape)
{
    return shape == BENCH_SHAPE_SMALL ? "small" : "realistic";
}

/* splitmix64: cheap, well-mixed ids that are reproducible from a sequence number. */
uint64_t bench_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void bench_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

void bench_set_str(Opentelemetry__Proto__Common__V1__KeyValue *kv,
                    Opentelemetry__Proto__Common__V1__AnyValue *av, const char *key,
                    const char *value)
{
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    kv->key = (char *)key;
    kv->value = av;
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    av->string_value = (char *)value;
}

void bench_set_int(Opentelemetry__Proto__Common__V1__KeyValue *kv,
                    Opentelemetry__Proto__Common__V1__AnyValue *av, const char *key, int64_t value)
{
    opentelemetry__proto__common__v1__key_value__init(kv);
    opentelemetry__proto__common__v1__any_value__init(av);
    kv->key = (char *)key;
    kv->value = av;
    av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
    av->int_value = value;
}

/*
 * The testbed's span (opentelemetry-collector-contrib testbed/testbed/data_providers.go): a
 * trace id built from a 64-bit counter, CLIENT, 1 ms long, two int sequence attributes.
 */
static void fill_small(struct span_scratch *s, uint64_t seq, size_t i, uint64_t start_ns)
{
    Opentelemetry__Proto__Trace__V1__Span *sp = &s->span;
    uint64_t trace_seq = seq;
    uint64_t span_seq = seq * 1000003ULL + i;

    memset(s->trace_id, 0, 8);
    bench_put_be64(s->trace_id + 8, trace_seq + 1);
    bench_put_be64(s->span_id, span_seq + 1);
    sp->trace_id.data = s->trace_id;
    sp->trace_id.len = sizeof(s->trace_id);
    sp->span_id.data = s->span_id;
    sp->span_id.len = sizeof(s->span_id);
    sp->name = "load-generator-span";
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    sp->start_time_unix_nano = start_ns;
    sp->end_time_unix_nano = start_ns + 1000000;
    bench_set_int(&s->kv[0], &s->av[0], "load_generator.span_seq_num", (int64_t)span_seq);
    bench_set_int(&s->kv[1], &s->av[1], "load_generator.trace_seq_num", (int64_t)trace_seq);
    sp->n_attributes = 2;
}

/* An HTTP server span with the stable semantic-convention attributes of an instrumented API. */
static void fill_realistic(struct span_scratch *s, uint64_t seq, size_t i, uint64_t start_ns)
{
    static const char *const methods[4] = {"GET", "GET", "POST", "PUT"};
    static const int64_t codes[4] = {200, 200, 201, 404};
    Opentelemetry__Proto__Trace__V1__Span *sp = &s->span;
    uint64_t r = bench_mix64(seq * 1000003ULL + i);
    uint64_t r2 = bench_mix64(r);

    bench_put_be64(s->trace_id, r);
    bench_put_be64(s->trace_id + 8, r2);
    /* The first 4 bytes are the start time in epoch seconds, as the SDKs' AWS X-Ray id
     * generator makes them: X-Ray refuses other trace ids (specs/xray.md §3), and this shape
     * also feeds the end-to-end X-Ray benchmark. */
    uint32_t epoch = (uint32_t)(start_ns / 1000000000u);
    s->trace_id[0] = (uint8_t)(epoch >> 24);
    s->trace_id[1] = (uint8_t)(epoch >> 16);
    s->trace_id[2] = (uint8_t)(epoch >> 8);
    s->trace_id[3] = (uint8_t)epoch;
    bench_put_be64(s->span_id, bench_mix64(r2));
    bench_put_be64(s->parent_id, bench_mix64(r2 + 1));
    sp->trace_id.data = s->trace_id;
    sp->trace_id.len = sizeof(s->trace_id);
    sp->span_id.data = s->span_id;
    sp->span_id.len = sizeof(s->span_id);
    sp->parent_span_id.data = s->parent_id;
    sp->parent_span_id.len = sizeof(s->parent_id);
    sp->name = "GET /api/v1/users/{id}";
    sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    sp->start_time_unix_nano = start_ns;
    sp->end_time_unix_nano = start_ns + 2000000 + (r % 48000000);
    (void)snprintf(s->url_path, sizeof(s->url_path), "/api/v1/users/%05u", (unsigned)(r2 % 100000));
    (void)snprintf(s->client_addr, sizeof(s->client_addr), "10.%u.%u.%u", (unsigned)(r >> 8) & 0xff,
                   (unsigned)(r >> 16) & 0xff, (unsigned)(r >> 24) & 0xff);
    bench_set_str(&s->kv[0], &s->av[0], "http.request.method", methods[r & 3]);
    bench_set_str(&s->kv[1], &s->av[1], "url.path", s->url_path);
    bench_set_int(&s->kv[2], &s->av[2], "http.response.status_code", codes[r & 3]);
    bench_set_str(&s->kv[3], &s->av[3], "server.address", "api.example.com");
    bench_set_str(&s->kv[4], &s->av[4], "user_agent.original",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0");
    bench_set_str(&s->kv[5], &s->av[5], "client.address", s->client_addr);
    bench_set_str(&s->kv[6], &s->av[6], "network.protocol.version", "1.1");
    bench_set_str(&s->kv[7], &s->av[7], "url.scheme", "https");
    bench_set_str(&s->kv[8], &s->av[8], "http.route", "/api/v1/users/{id}");
    bench_set_int(&s->kv[9], &s->av[9], "server.port", 8443);
    sp->n_attributes = 10;
    if ((r & 3) == 3) {
        /* Server spans leave the status unset unless the request failed. */
        opentelemetry__proto__trace__v1__status__init(&s->status);
        s->status.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
        s->status.message = "Not Found";
        sp->status = &s->status;
    }
}

static void fill_resource(struct req_scratch *r, enum bench_shape shape)
{
    Opentelemetry__Proto__Resource__V1__Resource *res = &r->resource;

    opentelemetry__proto__resource__v1__resource__init(res);
    opentelemetry__proto__common__v1__instrumentation_scope__init(&r->scope);
    if (shape == BENCH_SHAPE_SMALL) {
        /* The testbed sends an empty resource and scope; one service.name keeps it plausible. */
        bench_set_str(&r->rkv[0], &r->rav[0], "service.name", "load-generator");
        r->rkvp[0] = &r->rkv[0];
        res->n_attributes = 1;
    } else {
        for (size_t i = 0; i < BENCH_RESOURCE_ATTRS; i++) {
            bench_set_str(&r->rkv[i], &r->rav[i], bench_realistic_resource[i][0],
                          bench_realistic_resource[i][1]);
            r->rkvp[i] = &r->rkv[i];
        }
        res->n_attributes = BENCH_RESOURCE_ATTRS;
        r->scope.name = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp";
        r->scope.version = "0.57.0";
    }
    res->attributes = r->rkvp;
}

int bench_spans_encode(enum bench_shape shape, size_t nspans, uint64_t seq, uint64_t base_ns,
                       uint8_t **out, size_t *len_out)
{
    struct req_scratch *r = NULL;
    struct span_scratch *spans = NULL;
    Opentelemetry__Proto__Trace__V1__Span **spanp = NULL;
    uint8_t *buf = NULL;
    int rc = AG_ENOMEM;

    *out = NULL;
    *len_out = 0;
    if (nspans == 0 || nspans > BENCH_MAX_SPANS) {
        return AG_EINVAL;
    }
    r = ag_calloc(1, sizeof(*r));
    spans = ag_calloc(nspans, sizeof(*spans));
    spanp = ag_calloc(nspans, sizeof(*spanp));
    if (r == NULL || spans == NULL || spanp == NULL) {
        goto out;
    }

    fill_resource(r, shape);
    for (size_t i = 0; i < nspans; i++) {
        struct span_scratch *s = &spans[i];
        opentelemetry__proto__trace__v1__span__init(&s->span);
        /* Spans of one request start 10 us apart, like a busy service's batch. */
        uint64_t start = base_ns + (uint64_t)i * 10000;
        if (shape == BENCH_SHAPE_SMALL) {
            fill_small(s, seq, i, start);
        } else {
            fill_realistic(s, seq, i, start);
        }
        for (size_t k = 0; k < s->span.n_attributes; k++) {
            s->kvp[k] = &s->kv[k];
        }
        s->span.attributes = s->kvp;
        spanp[i] = &s->span;
    }

    opentelemetry__proto__trace__v1__scope_spans__init(&r->ss);
    r->ss.scope = &r->scope;
    r->ss.n_spans = nspans;
    r->ss.spans = spanp;
    r->ssp = &r->ss;
    opentelemetry__proto__trace__v1__resource_spans__init(&r->rs);
    r->rs.resource = &r->resource;
    r->rs.n_scope_spans = 1;
    r->rs.scope_spans = &r->ssp;
    r->rsp = &r->rs;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&r->req);
    r->req.n_resource_spans = 1;
    r->req.resource_spans = &r->rsp;

    size_t len =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            &r->req);
    buf = ag_malloc(len);
    if (buf == NULL) {
        goto out;
    }
    if (opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
            &r->req, buf) != len) {
        rc = AG_EINVAL;
        goto out;
    }
    *out = buf;
    *len_out = len;
    buf = NULL;
    rc = 0;
out:
    ag_free(buf);
    ag_free(spanp);
    ag_free(spans);
    ag_free(r);
    return rc;
}
