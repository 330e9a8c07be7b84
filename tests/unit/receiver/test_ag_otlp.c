/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ag_otlp: protobuf decoding into the arena, the nesting limit that keeps protobuf-c's recursive
 * unpack off the end of the stack, id checks, item counts, and the exact bytes of the answers.
 * Expected bytes are written out by hand from the protobuf wire format.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "ag_otlp.h"

#include <stdlib.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

static size_t varint_len(size_t n)
{
    size_t k = 1;
    while (n >= 0x80) {
        n >>= 7;
        k++;
    }
    return k;
}

static size_t put_varint(uint8_t *out, size_t n)
{
    size_t k = 0;
    do {
        uint8_t b = n & 0x7f;
        n >>= 7;
        out[k++] = n ? (uint8_t)(b | 0x80) : b;
    } while (n);
    return k;
}

/*
 * A logs request whose one log record's body is an AnyValue nested |levels| times through
 * array_value (AnyValue.5 -> ArrayValue.1 -> AnyValue ...). The sizes are computed from the
 * innermost (empty) AnyValue outwards, then the bytes are written front to back in one pass.
 */
static uint8_t *nested_logs_request(size_t levels, size_t *len_out)
{
    size_t *any = ag_malloc((levels + 1) * sizeof(size_t)); /* size of AnyValue at level i */
    size_t *arr = ag_malloc((levels + 1) * sizeof(size_t)); /* size of ArrayValue at level i */
    any[0] = 0;
    for (size_t i = 1; i <= levels; i++) {
        arr[i] = 1 + varint_len(any[i - 1]) + any[i - 1];
        any[i] = 1 + varint_len(arr[i]) + arr[i];
    }
    size_t body = any[levels];
    size_t rec = 1 + varint_len(body) + body;   /* LogRecord{body(5)} */
    size_t scope = 1 + varint_len(rec) + rec;   /* ScopeLogs{log_records(2)} */
    size_t res = 1 + varint_len(scope) + scope; /* ResourceLogs{scope_logs(2)} */
    size_t total = 1 + varint_len(res) + res;   /* request{resource_logs(1)} */
    uint8_t *out = ag_malloc(total), *p = out;
    *p++ = 0x0a;
    p += put_varint(p, res);
    *p++ = 0x12;
    p += put_varint(p, scope);
    *p++ = 0x12;
    p += put_varint(p, rec);
    *p++ = 0x2a;
    p += put_varint(p, body);
    for (size_t i = levels; i >= 1; i--) {
        *p++ = 0x2a; /* AnyValue.array_value */
        p += put_varint(p, arr[i]);
        *p++ = 0x0a; /* ArrayValue.values */
        p += put_varint(p, any[i - 1]);
    }
    ag_free(any);
    ag_free(arr);
    *len_out = (size_t)(p - out);
    return out;
}

static int decode(enum ag_signal sig, const uint8_t *buf, size_t len, char *err, size_t errlen,
                  ProtobufCMessage **msg, struct ag_arena **arena)
{
    *arena = ag_arena_new(64u * 1024 * 1024);
    return ag_otlp_decode(sig, AG_OTLP_PROTOBUF, buf, len, *arena, msg, err, errlen);
}

static void test_depth_limit(void)
{
    char err[256];
    ProtobufCMessage *msg;
    struct ag_arena *arena;
    size_t len;
    /* Request, ResourceLogs, ScopeLogs, LogRecord, body AnyValue = 5 levels; each nesting adds
     * ArrayValue + AnyValue. 47 nestings: 5 + 94 = 99 levels, within 100. */
    uint8_t *ok = nested_logs_request(47, &len);
    ASSERT_OK(decode(AG_SIGNAL_LOGS, ok, len, err, sizeof(err), &msg, &arena));
    ASSERT_NOT_NULL(msg);
    ag_arena_free(arena);
    ag_free(ok);
    /* 48 nestings: 101 levels. */
    uint8_t *deep = nested_logs_request(48, &len);
    ASSERT_EQ(decode(AG_SIGNAL_LOGS, deep, len, err, sizeof(err), &msg, &arena), AG_EPROTO);
    ASSERT_STRCONTAINS(err, "deeper than 100 levels");
    ag_arena_free(arena);
    ag_free(deep);
    /* A bomb: 200,000 levels in ~1.6 MB. Without the check protobuf-c would recurse 400,000
     * times and overflow the stack; with it the answer is a clean error. */
    uint8_t *bomb = nested_logs_request(200000, &len);
    ASSERT(len < 4u * 1024 * 1024);
    ASSERT(len > 1u * 1024 * 1024);
    ASSERT_EQ(decode(AG_SIGNAL_LOGS, bomb, len, err, sizeof(err), &msg, &arena), AG_EPROTO);
    ag_arena_free(arena);
    ag_free(bomb);
}

static void test_malformed_and_ids(void)
{
    char err[256];
    ProtobufCMessage *msg;
    struct ag_arena *arena;
    /* Field 1 (resource_spans) claims 5 bytes, only 1 follows. */
    static const uint8_t truncated[] = {0x0a, 0x05, 0x12};
    ASSERT_EQ(
        decode(AG_SIGNAL_TRACES, truncated, sizeof(truncated), err, sizeof(err), &msg, &arena),
        AG_EPROTO);
    ASSERT_STRCONTAINS(err, "ExportTraceServiceRequest");
    ag_arena_free(arena);
    /* A span with a 3-byte trace id: request{rs{ss{span{trace_id=010203, span_id=8 bytes}}}}. */
    static const uint8_t bad_id[] = {0x0a, 0x13, 0x12, 0x11, 0x12, 0x0f, 0x0a,
                                     0x03, 0x01, 0x02, 0x03, 0x12, 0x08, 1,
                                     2,    3,    4,    5,    6,    7,    8};
    ASSERT_EQ(decode(AG_SIGNAL_TRACES, bad_id, sizeof(bad_id), err, sizeof(err), &msg, &arena),
              AG_EPROTO);
    ASSERT_STREQ(err, "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 16 bytes, got 3");
    ag_arena_free(arena);
    /* Field number 0 written as a two-byte key (0x80 0x00), varint wire type. */
    static const uint8_t field0[] = {0x80, 0x00, 0x01};
    ASSERT_EQ(decode(AG_SIGNAL_TRACES, field0, sizeof(field0), err, sizeof(err), &msg, &arena),
              AG_EPROTO);
    ASSERT_STRCONTAINS(err, "field number 0");
    ag_arena_free(arena);
    /* An empty body is an empty request: no items. */
    ASSERT_OK(decode(AG_SIGNAL_METRICS, (const uint8_t *)"", 0, err, sizeof(err), &msg, &arena));
    ASSERT_UEQ(ag_otlp_count_items(AG_SIGNAL_METRICS, msg), 0);
    ag_arena_free(arena);
}

static void test_count_items(void)
{
    /* 2 metrics: a gauge with 3 points and a histogram with 2: 5 data points. */
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint ndp[3], *ndpp[3];
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint hdp[2], *hdpp[2];
    for (int i = 0; i < 3; i++) {
        opentelemetry__proto__metrics__v1__number_data_point__init(&ndp[i]);
        ndpp[i] = &ndp[i];
    }
    for (int i = 0; i < 2; i++) {
        opentelemetry__proto__metrics__v1__histogram_data_point__init(&hdp[i]);
        hdpp[i] = &hdp[i];
    }
    Opentelemetry__Proto__Metrics__V1__Gauge g = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    g.n_data_points = 3;
    g.data_points = ndpp;
    Opentelemetry__Proto__Metrics__V1__Histogram h =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
    h.n_data_points = 2;
    h.data_points = hdpp;
    Opentelemetry__Proto__Metrics__V1__Metric m[2], *mp[2] = {&m[0], &m[1]};
    opentelemetry__proto__metrics__v1__metric__init(&m[0]);
    opentelemetry__proto__metrics__v1__metric__init(&m[1]);
    m[0].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    m[0].gauge = &g;
    m[1].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    m[1].histogram = &h;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics
        sm = OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT,
        *smp = &sm;
    sm.n_metrics = 2;
    sm.metrics = mp;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics
        rm = OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT,
        *rmp = &rm;
    rm.n_scope_metrics = 1;
    rm.scope_metrics = &smp;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    req.n_resource_metrics = 1;
    req.resource_metrics = &rmp;
    ASSERT_UEQ(ag_otlp_count_items(AG_SIGNAL_METRICS, &req.base), 5);
    /* A histogram whose bucket counts do not match its bounds is malformed. */
    double bounds[2] = {1, 2};
    uint64_t counts[2] = {1, 1};
    hdp[0].n_explicit_bounds = 2;
    hdp[0].explicit_bounds = bounds;
    hdp[0].n_bucket_counts = 2;
    hdp[0].bucket_counts = counts;
    char err[256];
    ASSERT_EQ(ag_otlp_validate(AG_SIGNAL_METRICS, &req.base, err, sizeof(err)), AG_EPROTO);
    ASSERT_STREQ(err, "resourceMetrics[0].scopeMetrics[0].metrics[1].dataPoints[0].bucketCounts: "
                      "expected 3 counts (explicitBounds + 1), got 2");
}

static void test_responses(void)
{
    struct ag_buf b;
    struct ag_otlp_result res;
    memset(&res, 0, sizeof(res));
    ag_buf_init(&b, 4096);
    /* Full success: empty protobuf body, "{}" in JSON. */
    ASSERT_OK(ag_otlp_response_encode(AG_SIGNAL_TRACES, AG_OTLP_PROTOBUF, &res, &b));
    ASSERT_UEQ(b.len, 0);
    ASSERT_OK(ag_otlp_response_encode(AG_SIGNAL_TRACES, AG_OTLP_JSON, &res, &b));
    ASSERT_STREQ(ag_buf_str(&b), "{}");
    ag_buf_reset(&b);
    /* Partial success, logs: {partial_success(1) {rejected_log_records(1)=3, error_message(2)="x"}}
     */
    res.rejected = 3;
    memcpy(res.message, "x", 2);
    ASSERT_OK(ag_otlp_response_encode(AG_SIGNAL_LOGS, AG_OTLP_PROTOBUF, &res, &b));
    static const uint8_t want[] = {0x0a, 0x05, 0x08, 0x03, 0x12, 0x01, 'x'};
    ASSERT_UEQ(b.len, sizeof(want));
    ASSERT_MEMEQ(ag_buf_ptr(&b), want, sizeof(want));
    ag_buf_reset(&b);
    ASSERT_OK(ag_otlp_response_encode(AG_SIGNAL_METRICS, AG_OTLP_JSON, &res, &b));
    ASSERT_STREQ(ag_buf_str(&b),
                 "{\"partialSuccess\":{\"rejectedDataPoints\":\"3\",\"errorMessage\":\"x\"}}");
    ag_buf_reset(&b);
    /* Status 14 "busy" with RetryInfo{retry_delay{seconds=2}}:
     * code(1)=14, message(2)="busy", details(3)=Any{type_url(1)=..., value(2)=0a 02 08 02}. */
    ASSERT_OK(ag_otlp_status_encode(AG_OTLP_PROTOBUF, 14, "busy", 2, &b));
    static const char url[] = "type.googleapis.com/google.rpc.RetryInfo";
    uint8_t st[128];
    size_t n = 0;
    st[n++] = 0x08;
    st[n++] = 14;
    st[n++] = 0x12;
    st[n++] = 4;
    memcpy(st + n, "busy", 4);
    n += 4;
    st[n++] = 0x1a;
    st[n++] = (uint8_t)(2 + (sizeof(url) - 1) + 2 + 4);
    st[n++] = 0x0a;
    st[n++] = (uint8_t)(sizeof(url) - 1);
    memcpy(st + n, url, sizeof(url) - 1);
    n += sizeof(url) - 1;
    st[n++] = 0x12;
    st[n++] = 4;
    st[n++] = 0x0a;
    st[n++] = 0x02;
    st[n++] = 0x08;
    st[n++] = 0x02;
    ASSERT_UEQ(b.len, n);
    ASSERT_MEMEQ(ag_buf_ptr(&b), st, n);
    ag_buf_reset(&b);
    ASSERT_OK(ag_otlp_status_encode(AG_OTLP_JSON, 3, "bad \"id\"", 0, &b));
    ASSERT_STREQ(ag_buf_str(&b), "{\"code\":3,\"message\":\"bad \\\"id\\\"\"}");
    ag_buf_cleanup(&b);
    ASSERT_EQ(ag_otlp_status_http(AG_OTLP_UNAVAILABLE), 503);
    ASSERT_EQ(ag_otlp_status_http(AG_OTLP_TOO_LARGE), 413);
    ASSERT_EQ(ag_otlp_status_grpc(AG_OTLP_TOO_LARGE), 8);
    ASSERT_EQ(ag_otlp_status_grpc(AG_OTLP_INVALID), 3);
}

AG_TEST_MAIN(AG_TEST_CASE(test_depth_limit), AG_TEST_CASE(test_malformed_and_ids),
             AG_TEST_CASE(test_count_items), AG_TEST_CASE(test_responses))
