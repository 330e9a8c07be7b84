/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ag_otlp_pb: otterd's own OTLP protobuf decoder. Each case writes the wire bytes by hand (a
 * small writer puts keys, varints and length prefixes; the field numbers, wire types and values
 * are spelled out in the case), checks the decoded tree against values worked out by hand from
 * protobuf-c 1.4.1's rules, and checks that protobuf-c itself (ag_otlp_pb_decode_reference)
 * agrees: same return code, same message, same packed bytes.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "ag_otlp.h"
#include "ag_otlp_pb.h"

#include <stdlib.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest trace_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest metrics_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest logs_req;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;

/* A wire writer: enough room for every case. */
struct wb {
    uint8_t b[8192];
    size_t n;
};

static void wb_varint(struct wb *w, uint64_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        w->b[w->n++] = v ? (uint8_t)(b | 0x80) : b;
    } while (v);
}

static void wb_key(struct wb *w, uint32_t id, unsigned wt)
{
    wb_varint(w, ((uint64_t)id << 3) | wt);
}

static void wb_raw(struct wb *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* Field |id|, wire type 2, |n| bytes. */
static void wb_ld(struct wb *w, uint32_t id, const void *p, size_t n)
{
    wb_key(w, id, 2);
    wb_varint(w, n);
    wb_raw(w, p, n);
}

static void wb_str(struct wb *w, uint32_t id, const char *s)
{
    wb_ld(w, id, s, strlen(s));
}

static void wb_msg(struct wb *w, uint32_t id, const struct wb *sub)
{
    wb_ld(w, id, sub->b, sub->n);
}

static void wb_fixed64(struct wb *w, uint32_t id, uint64_t v)
{
    wb_key(w, id, 1);
    wb_raw(w, &v, 8); /* little endian: the tests run on x86-64 and arm64 */
}

/* Wraps |span| as request{resource_spans(1){scope_spans(2){spans(2)}}}. */
static void wrap_span(struct wb *req, const struct wb *span)
{
    struct wb ss = {{0}, 0}, rs = {{0}, 0};
    wb_msg(&ss, 2, span);
    wb_msg(&rs, 2, &ss);
    req->n = 0;
    wb_msg(req, 1, &rs);
}

static pb_span *first_span(ProtobufCMessage *m)
{
    trace_req *r = (trace_req *)m;
    return r->resource_spans[0]->scope_spans[0]->spans[0];
}

/* Wraps |metric| as request{resource_metrics(1){scope_metrics(2){metrics(2)}}}. */
static void wrap_metric(struct wb *req, const struct wb *metric)
{
    struct wb sm = {{0}, 0}, rm = {{0}, 0};
    wb_msg(&sm, 2, metric);
    wb_msg(&rm, 2, &sm);
    req->n = 0;
    wb_msg(req, 1, &rm);
}

static Opentelemetry__Proto__Metrics__V1__Metric *first_metric(ProtobufCMessage *m)
{
    metrics_req *r = (metrics_req *)m;
    return r->resource_metrics[0]->scope_metrics[0]->metrics[0];
}

static struct ag_arena *ours_arena;
static char ours_err[512];

/*
 * Decodes |w| with ag_otlp_pb_decode() into a fresh arena (kept in ours_arena until the next
 * call) from a heap copy that is wiped afterwards (nothing may point into the request), and
 * with protobuf-c. Returns ours' code; the message is in ours_err, the tree in |*out|. Returns
 * 999 when protobuf-c disagrees (code, message or packed bytes).
 */
static int decode_both(enum ag_signal sig, const struct wb *w, ProtobufCMessage **out)
{
    ag_arena_free(ours_arena);
    ours_arena = ag_arena_new(64u * 1024 * 1024);
    struct ag_arena *ref = ag_arena_new(64u * 1024 * 1024);
    uint8_t *copy = ag_malloc(w->n > 0 ? w->n : 1); /* exact: ASan sees reads past the end */
    memcpy(copy, w->b, w->n);
    ProtobufCMessage *rm = NULL;
    char rerr[512];
    ours_err[0] = rerr[0] = '\0';
    int rc = ag_otlp_pb_decode(sig, copy, w->n, ours_arena, out, ours_err, sizeof(ours_err));
    memset(copy, 0xa5, w->n > 0 ? w->n : 1);
    ag_free(copy);
    int rr = ag_otlp_pb_decode_reference(sig, w->b, w->n, ref, &rm, rerr, sizeof(rerr));
    int agree = rr == rc && strcmp(rerr, ours_err) == 0;
    if (agree && rc == 0) {
        size_t n1 = protobuf_c_message_get_packed_size(*out);
        size_t n2 = protobuf_c_message_get_packed_size(rm);
        uint8_t *p1 = ag_malloc(n1 + 1), *p2 = ag_malloc(n2 + 1);
        protobuf_c_message_pack(*out, p1);
        protobuf_c_message_pack(rm, p2);
        agree = n1 == n2 && memcmp(p1, p2, n1) == 0;
        ag_free(p1);
        ag_free(p2);
    }
    ag_arena_free(ref);
    if (!agree) {
        printf("# protobuf-c: %d %s / ours: %d %s\n", rr, rerr, rc, ours_err);
        return 999;
    }
    return rc;
}

static void test_empty_request(void)
{
    struct wb w = {{0}, 0};
    ProtobufCMessage *m;
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &w, &m));
    ASSERT_UEQ(((trace_req *)m)->n_resource_spans, 0);
    ASSERT_NULL(((trace_req *)m)->resource_spans);
    ASSERT_UEQ(m->n_unknown_fields, 0);
    ASSERT_OK(decode_both(AG_SIGNAL_METRICS, &w, &m));
    ASSERT_OK(decode_both(AG_SIGNAL_LOGS, &w, &m));
    ASSERT(m->descriptor == ag_otlp_request_descriptor(AG_SIGNAL_LOGS));
}

static void test_scalars_strings_bytes(void)
{
    struct wb sp = {{0}, 0}, req;
    ProtobufCMessage *m;
    uint8_t id[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    wb_ld(&sp, 2, id, 8);  /* span_id */
    wb_ld(&sp, 4, "", 0);  /* parent_span_id: empty bytes */
    wb_str(&sp, 5, "old"); /* name, then again: the last one wins */
    wb_str(&sp, 5, "n\xff");
    wb_str(&sp, 3, ""); /* trace_state: present but empty */
    wb_key(&sp, 10, 0); /* dropped_attributes_count (uint32) = 2^32 + 5: keeps the low 32 */
    wb_varint(&sp, (1ULL << 32) + 5);
    wb_key(&sp, 6, 0); /* kind = 2 (SERVER) */
    wb_varint(&sp, 2);
    wb_fixed64(&sp, 7, 1000); /* start_time_unix_nano */
    wb_key(&sp, 16, 5);       /* flags (fixed32) = 0x0301 */
    wb_raw(&sp, "\x01\x03\x00\x00", 4);
    wrap_span(&req, &sp);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    pb_span *s = first_span(m);
    ASSERT_UEQ(s->span_id.len, 8);
    ASSERT_MEMEQ(s->span_id.data, id, 8);
    ASSERT_UEQ(s->parent_span_id.len, 0);
    ASSERT_NULL(s->parent_span_id.data); /* protobuf-c leaves empty bytes without data */
    ASSERT_UEQ(s->trace_id.len, 0);
    ASSERT_STREQ(s->name, "n\xff"); /* no UTF-8 check, as protobuf-c */
    ASSERT_STREQ(s->trace_state, "");
    ASSERT(s->trace_state != protobuf_c_empty_string); /* a new "", not the default */
    ASSERT(s->trace_state != NULL);
    ASSERT_UEQ(s->dropped_attributes_count, 5);
    ASSERT_EQ(s->kind, 2);
    ASSERT_UEQ(s->start_time_unix_nano, 1000);
    ASSERT_UEQ(s->end_time_unix_nano, 0);
    ASSERT_UEQ(s->flags, 0x0301);
    /* Unset fields keep their *__init values. */
    Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = ((trace_req *)m)->resource_spans[0];
    ASSERT_NULL(rs->resource);
    ASSERT(rs->schema_url == protobuf_c_empty_string);
    ASSERT_NULL(s->status);
}

static void test_merged_messages(void)
{
    struct wb kv = {{0}, 0}, av = {{0}, 0}, r1 = {{0}, 0}, r2 = {{0}, 0}, rs = {{0}, 0};
    struct wb req = {{0}, 0};
    ProtobufCMessage *m;
    /* resource_spans{resource{attributes[a="x"], dropped_attributes_count=3},
     *                resource{attributes[b="y"]}}: protobuf-c unpacks the second resource and
     * merges the first into it: attributes concatenated [a, b]; dropped_attributes_count is a
     * proto3 scalar without presence, so the later message's 0 stays. */
    wb_str(&av, 1, "x");
    wb_str(&kv, 1, "a");
    wb_msg(&kv, 2, &av);
    wb_msg(&r1, 1, &kv);
    wb_key(&r1, 2, 0);
    wb_varint(&r1, 3);
    av.n = kv.n = 0;
    wb_str(&av, 1, "y");
    wb_str(&kv, 1, "b");
    wb_msg(&kv, 2, &av);
    wb_msg(&r2, 1, &kv);
    wb_msg(&rs, 1, &r1);
    wb_msg(&rs, 1, &r2);
    wb_msg(&req, 1, &rs);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    Opentelemetry__Proto__Resource__V1__Resource *res =
        ((trace_req *)m)->resource_spans[0]->resource;
    ASSERT_UEQ(res->n_attributes, 2);
    ASSERT_STREQ(res->attributes[0]->key, "a");
    ASSERT_STREQ(res->attributes[0]->value->string_value, "x");
    ASSERT_STREQ(res->attributes[1]->key, "b");
    ASSERT_UEQ(res->dropped_attributes_count, 0);

    /* span{status{message="m", code=2}, status{}}: a string keeps the earlier value when the
     * later one is the default; the enum code does not (no presence): message "m", code 0. */
    struct wb st = {{0}, 0}, sp = {{0}, 0}, empty = {{0}, 0};
    wb_str(&st, 2, "m");
    wb_key(&st, 3, 0);
    wb_varint(&st, 2);
    wb_msg(&sp, 15, &st);
    wb_msg(&sp, 15, &empty);
    wrap_span(&req, &sp);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    ASSERT_STREQ(first_span(m)->status->message, "m");
    ASSERT_EQ(first_span(m)->status->code, 0);

    /* attributes[k = {int 5}, = {}]: the later AnyValue sets no member, so the earlier's oneof
     * moves over: int 5. */
    kv.n = 0;
    av.n = 0;
    wb_key(&av, 3, 0);
    wb_varint(&av, 5);
    wb_str(&kv, 1, "k");
    wb_msg(&kv, 2, &av);
    wb_msg(&kv, 2, &empty);
    sp.n = 0;
    wb_msg(&sp, 9, &kv);
    wrap_span(&req, &sp);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    pb_any *v = first_span(m)->attributes[0]->value;
    ASSERT_EQ(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    ASSERT_EQ(v->int_value, 5);

    /* attributes[k = {}, = {}]: merging finds the oneof unset in both, which protobuf-c's
     * merge_messages() treats as a failure: the whole request is refused. */
    kv.n = 0;
    wb_str(&kv, 1, "k");
    wb_msg(&kv, 2, &empty);
    wb_msg(&kv, 2, &empty);
    sp.n = 0;
    wb_msg(&sp, 9, &kv);
    wrap_span(&req, &sp);
    ASSERT_EQ(decode_both(AG_SIGNAL_TRACES, &req, &m), AG_EPROTO);
    ASSERT_STREQ(ours_err, "cannot decode the body as a protobuf "
                           "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest "
                           "(truncated, corrupt, or a field with the wrong wire type)");
}

static void test_oneof_switching(void)
{
    struct wb av = {{0}, 0}, kv = {{0}, 0}, sp = {{0}, 0}, req;
    ProtobufCMessage *m;
    /* AnyValue{string_value "abc", int_value 7}: the last member wins. */
    wb_str(&av, 1, "abc");
    wb_key(&av, 3, 0);
    wb_varint(&av, 7);
    wb_str(&kv, 1, "k");
    wb_msg(&kv, 2, &av);
    wb_msg(&sp, 9, &kv);
    /* AnyValue{kvlist_value{values[a]}, kvlist_value{values[b]}}: a oneof member seen twice is
     * replaced, not merged: one value, "b". */
    struct wb l1 = {{0}, 0}, l2 = {{0}, 0}, in = {{0}, 0};
    wb_str(&in, 1, "a");
    wb_msg(&l1, 1, &in);
    in.n = 0;
    wb_str(&in, 1, "b");
    wb_msg(&l2, 1, &in);
    av.n = kv.n = 0;
    wb_msg(&av, 6, &l1);
    wb_msg(&av, 6, &l2);
    wb_str(&kv, 1, "l");
    wb_msg(&kv, 2, &av);
    wb_msg(&sp, 9, &kv);
    /* AnyValue{bytes_value "zz", bool_value (varint 0x80 0x00: true? no: no low bits set)}. */
    av.n = kv.n = 0;
    wb_ld(&av, 7, "zz", 2);
    wb_key(&av, 2, 0);
    wb_raw(&av, "\x80\x00", 2);
    wb_str(&kv, 1, "b");
    wb_msg(&kv, 2, &av);
    wb_msg(&sp, 9, &kv);
    wrap_span(&req, &sp);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    pb_span *s = first_span(m);
    ASSERT_UEQ(s->n_attributes, 3);
    ASSERT_EQ(s->attributes[0]->value->value_case,
              OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);
    ASSERT_EQ(s->attributes[0]->value->int_value, 7);
    pb_any *l = s->attributes[1]->value;
    ASSERT_EQ(l->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
    ASSERT_UEQ(l->kvlist_value->n_values, 1);
    ASSERT_STREQ(l->kvlist_value->values[0]->key, "b");
    pb_any *b = s->attributes[2]->value;
    ASSERT_EQ(b->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);
    ASSERT_EQ(b->bool_value, 0);
    /* The bytes member was zeroed (16 bytes) before the bool was written. */
    ASSERT_UEQ(b->bytes_value.len & ~(size_t)0xffffffff, 0);
    ASSERT_NULL(b->bytes_value.data);

    /* Metric{gauge{}, sum{is_monotonic as a 32-bit value 00 00 01 00}}: data is the sum;
     * protobuf-c reads a bool of any wire type, true when a byte has low bits set. */
    struct wb met = {{0}, 0}, g = {{0}, 0}, su = {{0}, 0};
    wb_str(&met, 1, "m");
    wb_msg(&met, 5, &g);
    wb_key(&su, 3, 5);
    wb_raw(&su, "\x00\x00\x01\x00", 4);
    wb_msg(&met, 7, &su);
    wrap_metric(&req, &met);
    ASSERT_OK(decode_both(AG_SIGNAL_METRICS, &req, &m));
    Opentelemetry__Proto__Metrics__V1__Metric *mt = first_metric(m);
    ASSERT_EQ(mt->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    ASSERT_EQ(mt->sum->is_monotonic, 1);
    /* The same with a 64-bit value of eight 0x80 bytes: no low bits, false. */
    su.n = met.n = 0;
    wb_key(&su, 3, 1);
    wb_raw(&su, "\x80\x80\x80\x80\x80\x80\x80\x80", 8);
    wb_msg(&met, 7, &su);
    wrap_metric(&req, &met);
    ASSERT_OK(decode_both(AG_SIGNAL_METRICS, &req, &m));
    ASSERT_EQ(first_metric(m)->sum->is_monotonic, 0);
}

static void test_packed_and_optional(void)
{
    struct wb dp = {{0}, 0}, h = {{0}, 0}, met = {{0}, 0}, req;
    ProtobufCMessage *m;
    /* HistogramDataPoint: bucket_counts (6, repeated fixed64) packed [1, 2], then unpacked 3;
     * explicit_bounds (7, repeated double) unpacked 0.5 then packed [] (empty run);
     * sum (5, proto3 optional = a one-member oneof) 1.5; min (11) absent. */
    uint64_t packed[2] = {1, 2};
    double half = 0.5, sum = 1.5;
    uint64_t bits;
    wb_ld(&dp, 6, packed, 16);
    wb_fixed64(&dp, 6, 3);
    memcpy(&bits, &half, 8);
    wb_fixed64(&dp, 7, bits);
    wb_ld(&dp, 7, "", 0);
    memcpy(&bits, &sum, 8);
    wb_fixed64(&dp, 5, bits);
    wb_msg(&h, 1, &dp);
    wb_msg(&met, 9, &h);
    wrap_metric(&req, &met);
    ASSERT_OK(decode_both(AG_SIGNAL_METRICS, &req, &m));
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *p =
        first_metric(m)->histogram->data_points[0];
    ASSERT_UEQ(p->n_bucket_counts, 3);
    ASSERT_UEQ(p->bucket_counts[0], 1);
    ASSERT_UEQ(p->bucket_counts[1], 2);
    ASSERT_UEQ(p->bucket_counts[2], 3);
    ASSERT_UEQ(p->n_explicit_bounds, 1);
    ASSERT(p->explicit_bounds[0] == 0.5);
    ASSERT_EQ(p->sum_present_case,
              OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
    ASSERT(p->sum == 1.5);
    ASSERT_EQ(p->min_present_case, 0);

    /* ExponentialHistogram buckets (positive = 8 of the point, bucket_counts = 2, uint64):
     * packed varints [1, 300 = 0xac 0x02], then unpacked 5. A packed run of fixed64 whose length
     * is not a multiple of 8 is refused. */
    struct wb bk = {{0}, 0}, edp = {{0}, 0}, eh = {{0}, 0};
    wb_ld(&bk, 2, "\x01\xac\x02", 3);
    wb_key(&bk, 2, 0);
    wb_varint(&bk, 5);
    wb_msg(&edp, 8, &bk);
    wb_msg(&eh, 1, &edp);
    met.n = 0;
    wb_msg(&met, 10, &eh);
    wrap_metric(&req, &met);
    ASSERT_OK(decode_both(AG_SIGNAL_METRICS, &req, &m));
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets *b =
        first_metric(m)->exponential_histogram->data_points[0]->positive;
    ASSERT_UEQ(b->n_bucket_counts, 3);
    ASSERT_UEQ(b->bucket_counts[0], 1);
    ASSERT_UEQ(b->bucket_counts[1], 300);
    ASSERT_UEQ(b->bucket_counts[2], 5);

    dp.n = h.n = met.n = 0;
    wb_ld(&dp, 6, packed, 12);
    wb_msg(&h, 1, &dp);
    wb_msg(&met, 9, &h);
    wrap_metric(&req, &met);
    ASSERT_EQ(decode_both(AG_SIGNAL_METRICS, &req, &m), AG_EPROTO);
    /* A packed run of continuation bytes only (0x9f 0xac 0xcd: no element ends in it) is
     * refused, also when it is the field's only run (found by fuzz_otlp_pb_diff: the decoder
     * skipped a run that counted no element). */
    bk.n = edp.n = eh.n = met.n = 0;
    wb_ld(&bk, 2, "\x9f\xac\xcd", 3);
    wb_msg(&edp, 8, &bk);
    wb_msg(&eh, 1, &edp);
    wb_msg(&met, 10, &eh);
    wrap_metric(&req, &met);
    ASSERT_EQ(decode_both(AG_SIGNAL_METRICS, &req, &m), AG_EPROTO);
    /* An empty packed run is no element and no error. */
    bk.n = edp.n = eh.n = met.n = 0;
    wb_ld(&bk, 2, "", 0);
    wb_msg(&edp, 8, &bk);
    wb_msg(&eh, 1, &edp);
    wb_msg(&met, 10, &eh);
    wrap_metric(&req, &met);
    ASSERT_OK(decode_both(AG_SIGNAL_METRICS, &req, &m));
    ASSERT_UEQ(first_metric(m)->exponential_histogram->data_points[0]->positive->n_bucket_counts,
               0);
    /* A packed varint run ending inside a varint (0x81) is refused. */
    bk.n = edp.n = eh.n = met.n = 0;
    wb_ld(&bk, 2, "\x01\x81", 2);
    wb_msg(&edp, 8, &bk);
    wb_msg(&eh, 1, &edp);
    wb_msg(&met, 10, &eh);
    wrap_metric(&req, &met);
    ASSERT_EQ(decode_both(AG_SIGNAL_METRICS, &req, &m), AG_EPROTO);
}

static void test_unknown_fields(void)
{
    struct wb sp = {{0}, 0}, req;
    ProtobufCMessage *m;
    /* Span with unknown fields 100 (varint 150 = 0x96 0x01), 101 (64-bit), 102 (length 2 "hi"),
     * 103 (32-bit), around a known name: kept in order, with the bytes after the key (the
     * length prefix included). */
    wb_key(&sp, 100, 0);
    wb_varint(&sp, 150);
    wb_str(&sp, 5, "n");
    wb_fixed64(&sp, 101, 0x0807060504030201ULL);
    wb_str(&sp, 102, "hi");
    wb_key(&sp, 103, 5);
    wb_raw(&sp, "\x0a\x0b\x0c\x0d", 4);
    wrap_span(&req, &sp);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    pb_span *s = first_span(m);
    ASSERT_STREQ(s->name, "n");
    ASSERT_UEQ(s->base.n_unknown_fields, 4);
    ProtobufCMessageUnknownField *u = s->base.unknown_fields;
    ASSERT_UEQ(u[0].tag, 100);
    ASSERT_EQ(u[0].wire_type, PROTOBUF_C_WIRE_TYPE_VARINT);
    ASSERT_UEQ(u[0].len, 2);
    ASSERT_MEMEQ(u[0].data, "\x96\x01", 2);
    ASSERT_UEQ(u[1].tag, 101);
    ASSERT_EQ(u[1].wire_type, PROTOBUF_C_WIRE_TYPE_64BIT);
    ASSERT_UEQ(u[1].len, 8);
    ASSERT_MEMEQ(u[1].data, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    ASSERT_UEQ(u[2].tag, 102);
    ASSERT_EQ(u[2].wire_type, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
    ASSERT_UEQ(u[2].len, 3);
    ASSERT_MEMEQ(u[2].data, "\x02hi", 3);
    ASSERT_UEQ(u[3].tag, 103);
    ASSERT_EQ(u[3].wire_type, PROTOBUF_C_WIRE_TYPE_32BIT);
    ASSERT_MEMEQ(u[3].data, "\x0a\x0b\x0c\x0d", 4);
    /* An unknown field in a KeyValue takes the generic path there too. */
    struct wb kv = {{0}, 0}, av = {{0}, 0};
    wb_str(&av, 1, "v");
    wb_str(&kv, 1, "k");
    wb_msg(&kv, 2, &av);
    wb_key(&kv, 9, 0);
    wb_varint(&kv, 1);
    sp.n = 0;
    wb_msg(&sp, 9, &kv);
    wrap_span(&req, &sp);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    ASSERT_UEQ(first_span(m)->attributes[0]->base.n_unknown_fields, 1);
    ASSERT_STREQ(first_span(m)->attributes[0]->value->string_value, "v");
    /* Group wire types (3, 4) and 6, 7 are refused, even on unknown fields. */
    for (unsigned wt = 3; wt <= 7; wt++) {
        if (wt == 5) {
            continue;
        }
        sp.n = 0;
        wb_key(&sp, 100, wt);
        wb_raw(&sp, "\x00\x00\x00\x00\x00\x00\x00\x00", 8);
        wrap_span(&req, &sp);
        ASSERT_EQ(decode_both(AG_SIGNAL_TRACES, &req, &m), AG_EPROTO);
    }
}

static void test_wire_type_mismatch(void)
{
    struct wb sp = {{0}, 0}, req;
    ProtobufCMessage *m;
    /* name (string) as a varint; start_time (fixed64) as a varint; kind (enum) as 32-bit;
     * attributes (message) as a varint: each refused. */
    static const struct {
        uint32_t id;
        unsigned wt;
    } bad[] = {{5, 0}, {7, 0}, {6, 5}, {9, 0}, {1, 0}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sp.n = 0;
        wb_key(&sp, bad[i].id, bad[i].wt);
        wb_raw(&sp, "\x01\x00\x00\x00\x00\x00\x00\x00", bad[i].wt == 5 ? 4 : 1);
        wrap_span(&req, &sp);
        ASSERT_EQ(decode_both(AG_SIGNAL_TRACES, &req, &m), AG_EPROTO);
        ASSERT_STRCONTAINS(ours_err, "cannot decode the body");
    }
}

static void test_short_anyvalue_at_end(void)
{
    /* span{attributes[{key "k", value = 1 byte (0x0a: a string key without its length)}]} as
     * the last bytes of the body: refused, and the KeyValue fast path must not look past the
     * value's one byte (found by fuzz_otlp_pb_diff under ASan with an exactly sized body). */
    struct wb kv = {{0}, 0}, sp = {{0}, 0}, req;
    ProtobufCMessage *m;
    wb_str(&kv, 1, "k");
    wb_ld(&kv, 2, "\x0a", 1);
    wb_msg(&sp, 9, &kv);
    wrap_span(&req, &sp);
    ASSERT_EQ(req.b[req.n - 1], 0x0a);
    ASSERT_EQ(decode_both(AG_SIGNAL_TRACES, &req, &m), AG_EPROTO);
    /* The same value of 2 bytes (0x0a 0x00: an empty string) is accepted. */
    kv.n = sp.n = 0;
    wb_str(&kv, 1, "k");
    wb_ld(&kv, 2, "\x0a\x00", 2);
    wb_msg(&sp, 9, &kv);
    wrap_span(&req, &sp);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    ASSERT_STREQ(first_span(m)->attributes[0]->value->string_value, "");
}

static void test_truncation_everywhere(void)
{
    struct wb kv = {{0}, 0}, av = {{0}, 0}, sp = {{0}, 0}, req;
    ProtobufCMessage *m;
    uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    wb_ld(&sp, 1, tid, 16);
    wb_str(&sp, 5, "GET /users");
    wb_fixed64(&sp, 7, 1);
    wb_str(&av, 1, "value");
    wb_str(&kv, 1, "key");
    wb_msg(&kv, 2, &av);
    wb_msg(&sp, 9, &kv);
    wb_key(&sp, 16, 5);
    wb_raw(&sp, "\x01\x00\x00\x00", 4);
    wrap_span(&req, &sp);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    /* The request is one field (resource_spans) whose length covers the rest: every shorter
     * prefix cuts that field, so every one is refused. */
    size_t full = req.n;
    for (size_t k = 1; k < full; k++) {
        req.n = k;
        ASSERT_EQ(decode_both(AG_SIGNAL_TRACES, &req, &m), AG_EPROTO);
    }
}

/* A logs request whose log record body nests |levels| ArrayValues (see test_ag_otlp.c). */
static void nested_body(struct wb *req, size_t levels)
{
    static struct wb a, b;
    a.n = 0;
    for (size_t i = 0; i < levels; i++) {
        b.n = 0;
        wb_msg(&b, 1, &a); /* ArrayValue.values */
        a.n = 0;
        wb_msg(&a, 5, &b); /* AnyValue.array_value */
    }
    struct wb lr = {{0}, 0}, sl = {{0}, 0}, rl = {{0}, 0};
    wb_msg(&lr, 5, &a);
    wb_msg(&sl, 2, &lr);
    wb_msg(&rl, 2, &sl);
    req->n = 0;
    wb_msg(req, 1, &rl);
}

static void test_depth_and_field0(void)
{
    struct wb req, sp = {{0}, 0};
    ProtobufCMessage *m;
    /* Request, ResourceLogs, ScopeLogs, LogRecord, body = 5 levels, 2 more per nesting:
     * 47 -> 99 levels pass, 48 -> 101 refused at the AnyValue on level 101. */
    nested_body(&req, 47);
    ASSERT_OK(decode_both(AG_SIGNAL_LOGS, &req, &m));
    nested_body(&req, 48);
    ASSERT_EQ(decode_both(AG_SIGNAL_LOGS, &req, &m), AG_EPROTO);
    ASSERT_STREQ(ours_err, "the request nests messages deeper than 100 levels (at a AnyValue)");
    /* Field number 0 as a long key (0x80 0x00) inside a span, and as the one-byte key 0x00 at
     * the top: protobuf-c would keep the first as an unknown field; both are refused. */
    wb_str(&sp, 5, "n");
    wb_raw(&sp, "\x80\x00\x01", 3);
    wrap_span(&req, &sp);
    ASSERT_EQ(decode_both(AG_SIGNAL_TRACES, &req, &m), AG_EPROTO);
    ASSERT_STREQ(ours_err, "field number 0 in a Span: field numbers start at 1");
    req.n = 0;
    wb_raw(&req, "\x00\x01", 2);
    ASSERT_EQ(decode_both(AG_SIGNAL_TRACES, &req, &m), AG_EPROTO);
    ASSERT_STREQ(ours_err,
                 "field number 0 in a ExportTraceServiceRequest: field numbers start at 1");
    /* A key of 6 bytes is refused (protobuf-c reads at most 5). */
    req.n = 0;
    wb_raw(&req, "\xf8\xff\xff\xff\xff\x01\x00", 7);
    ASSERT_EQ(decode_both(AG_SIGNAL_TRACES, &req, &m), AG_EPROTO);
    /* A 5-byte key with the largest field number 2^32 - 1... protobuf-c keeps it unknown. */
    req.n = 0;
    wb_raw(&req, "\xf8\xff\xff\xff\x7f\x01", 6);
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    ASSERT_UEQ(m->n_unknown_fields, 1);
    ASSERT_UEQ(m->unknown_fields[0].tag, 0xffffffffu);
}

static void test_arena_cap(void)
{
    static struct wb sp, req;
    char big[6000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sp.n = 0;
    wb_str(&sp, 5, big);
    wrap_span(&req, &sp);
    /* An 8 KiB cap: after the first 4 KiB chunk (plus a block header) the 6,000-byte name
     * cannot fit. */
    struct ag_arena *a = ag_arena_new(8 * 1024);
    ProtobufCMessage *m = NULL;
    char err[256];
    ASSERT_EQ(ag_otlp_pb_decode(AG_SIGNAL_TRACES, req.b, req.n, a, &m, err, sizeof(err)),
              AG_ETOOBIG);
    ASSERT_NULL(m);
    ASSERT_STREQ(err,
                 "the decoded traces request is larger than the memory allowed for one request");
    ag_arena_free(a);
    /* 64 KiB is enough: 6,000 bytes of name and a few structs. */
    a = ag_arena_new(64 * 1024);
    ASSERT_OK(ag_otlp_pb_decode(AG_SIGNAL_TRACES, req.b, req.n, a, &m, err, sizeof(err)));
    ASSERT_UEQ(strlen(first_span(m)->name), sizeof(big) - 1);
    ag_arena_free(a);
}

static void test_many_spans(void)
{
    /* 100 spans of 3 attributes each in one scope (about 5 kB): arrays sized by the first
     * pass. */
    static struct wb ss, rs, req;
    struct wb sp, kv, av;
    ss.n = 0;
    for (int i = 0; i < 100; i++) {
        sp.n = 0;
        for (int k = 0; k < 3; k++) {
            av.n = kv.n = 0;
            wb_key(&av, 3, 0);
            wb_varint(&av, (uint64_t)(i * 3 + k));
            wb_str(&kv, 1, "attr");
            wb_msg(&kv, 2, &av);
            wb_msg(&sp, 9, &kv);
        }
        wb_msg(&ss, 2, &sp);
    }
    rs.n = 0;
    wb_msg(&rs, 2, &ss);
    req.n = 0;
    wb_msg(&req, 1, &rs);
    ProtobufCMessage *m;
    ASSERT_OK(decode_both(AG_SIGNAL_TRACES, &req, &m));
    ASSERT(req.n < sizeof(req.b));
    ASSERT_UEQ(ag_otlp_count_items(AG_SIGNAL_TRACES, m), 100);
    Opentelemetry__Proto__Trace__V1__ScopeSpans *s =
        ((trace_req *)m)->resource_spans[0]->scope_spans[0];
    /* Span 99, attribute 2: 99 * 3 + 2 = 299. */
    ASSERT_EQ(s->spans[99]->attributes[2]->value->int_value, 299);
    ASSERT_EQ(s->spans[0]->attributes[0]->value->int_value, 0);
}

/*
 * With -Dfailmalloc=true: fail the Nth system allocation (the arena's blocks) for every N until
 * the decode succeeds. Each failure is AG_EPROTO with the generic message (what the protobuf-c
 * path answered when the system, not the cap, ran out) and no tree; the sanitizer build checks
 * that nothing leaks. Without failmalloc the first attempt succeeds.
 */
static void test_failmalloc(void)
{
    static struct wb sp, ss, rs, req;
    struct wb kv, av;
    ss.n = 0;
    for (int i = 0; i < 60; i++) {
        sp.n = 0;
        wb_str(&sp, 5, "a span name long enough to need some room");
        for (int k = 0; k < 4; k++) {
            av.n = kv.n = 0;
            wb_str(&av, 1, "value");
            wb_str(&kv, 1, "key");
            wb_msg(&kv, 2, &av);
            wb_msg(&sp, 9, &kv);
        }
        wb_msg(&ss, 2, &sp);
    }
    rs.n = 0;
    wb_msg(&rs, 2, &ss);
    req.n = 0;
    wb_msg(&req, 1, &rs);
    ASSERT(req.n < sizeof(req.b));
    int done = 0, bad = 0;
    for (long n = 0; n < 1000 && !done && !bad; n++) {
        struct ag_arena *a = ag_arena_new(0);
        ASSERT_NOT_NULL(a);
        ProtobufCMessage *m = NULL;
        char err[256] = "";
        ag_mem_fail_after(n);
        int rc = ag_otlp_pb_decode(AG_SIGNAL_TRACES, req.b, req.n, a, &m, err, sizeof(err));
        ag_mem_fail_after(-1);
        if (rc == 0) {
            done = ag_otlp_count_items(AG_SIGNAL_TRACES, m) == 60;
            bad = !done;
        } else {
            bad = rc != AG_EPROTO || m != NULL || strstr(err, "cannot decode the body") == NULL;
        }
        ag_arena_free(a);
    }
    ASSERT(!bad);
    ASSERT(done);
}

static void test_cleanup(void)
{
    ag_arena_free(ours_arena);
    ours_arena = NULL;
}

AG_TEST_MAIN(AG_TEST_CASE(test_empty_request), AG_TEST_CASE(test_scalars_strings_bytes),
             AG_TEST_CASE(test_merged_messages), AG_TEST_CASE(test_oneof_switching),
             AG_TEST_CASE(test_packed_and_optional), AG_TEST_CASE(test_unknown_fields),
             AG_TEST_CASE(test_wire_type_mismatch), AG_TEST_CASE(test_short_anyvalue_at_end),
             AG_TEST_CASE(test_truncation_everywhere), AG_TEST_CASE(test_depth_and_field0),
             AG_TEST_CASE(test_arena_cap), AG_TEST_CASE(test_many_spans),
             AG_TEST_CASE(test_failmalloc), AG_TEST_CASE(test_cleanup))
