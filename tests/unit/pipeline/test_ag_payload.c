/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Payload reference counting, the in-flight byte total, and the zero-copy merge, split and
 * resource copy the processors rely on.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "ag_otlp.h"
#include "pipeline_fixture.h"

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

static void test_refcount_and_bytes(void)
{
    int name = 0;
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
    struct ag_payload *p = fx_traces(1, 1, 3, &name);
    ASSERT_NOT_NULL(p);
    ASSERT(ag_payload_bytes_in_flight() >= 16 * 1024);
    ag_payload_ref(p);
    ag_payload_unref(p);
    ASSERT(ag_payload_bytes_in_flight() > 0);
    ag_payload_unref(p);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_split_keeps_order_and_caps_chunks(void)
{
    int name = 0;
    /* 2 resources x 2 scopes x 3 spans = 12 spans: s0..s11. */
    struct ag_payload *p = fx_traces(2, 2, 3, &name);
    struct ag_payload **chunks = NULL;
    long n = ag_payload_split(p, 5, &chunks);
    ASSERT_EQ(n, 3);
    char names[256];
    fx_names(chunks[0], names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3 s4");
    fx_names(chunks[1], names, sizeof(names));
    ASSERT_STREQ(names, "s5 s6 s7 s8 s9");
    fx_names(chunks[2], names, sizeof(names));
    ASSERT_STREQ(names, "s10 s11");
    ASSERT_UEQ(chunks[0]->items, 5);
    ASSERT_UEQ(chunks[2]->items, 2);
    /* Chunk 1 starts in resource 0's second scope and ends in resource 1's first: 2 resources. */
    ASSERT_UEQ(((fx_req *)chunks[1]->msg)->n_resource_spans, 2);
    /* The original is untouched. */
    fx_names(p, names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11");
    ag_payload_unref(p);
    /* The chunks keep the original's memory alive. */
    fx_names(chunks[2], names, sizeof(names));
    ASSERT_STREQ(names, "s10 s11");
    for (long i = 0; i < n; i++) {
        ag_payload_unref(chunks[i]);
    }
    ag_free(chunks);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_split_exact_multiple(void)
{
    int name = 0;
    struct ag_payload *p = fx_traces(1, 1, 6, &name);
    struct ag_payload **chunks = NULL;
    long n = ag_payload_split(p, 3, &chunks);
    ASSERT_EQ(n, 2);
    ASSERT_UEQ(chunks[0]->items + chunks[1]->items, 6);
    for (long i = 0; i < n; i++) {
        ag_payload_unref(chunks[i]);
    }
    ag_free(chunks);
    ag_payload_unref(p);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_merge(void)
{
    int name = 0;
    struct ag_payload *a = fx_traces(1, 1, 2, &name);
    struct ag_payload *b = fx_traces(2, 1, 1, &name);
    struct ag_payload *parts[] = {a, b};
    struct ag_payload *m = ag_payload_merge(parts, 2);
    ASSERT_NOT_NULL(m);
    ASSERT_UEQ(m->items, 4);
    ASSERT_UEQ(((fx_req *)m->msg)->n_resource_spans, 3);
    char names[128];
    fx_names(m, names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3");
    /* The merge keeps both parts alive: its footprint is its own arena plus theirs, each read
     * from the arenas themselves. */
    ASSERT_UEQ(ag_payload_footprint(a), ag_arena_footprint(a->arena));
    ASSERT_UEQ(ag_payload_footprint(m), ag_arena_footprint(m->arena) +
                                            ag_arena_footprint(a->arena) +
                                            ag_arena_footprint(b->arena));
    ag_payload_unref(a);
    ag_payload_unref(b);
    fx_names(m, names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3");
    ag_payload_unref(m);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static int add_attr(struct ag_payload *p, ProtobufCMessage *resmsg, void *arg)
{
    Opentelemetry__Proto__Resource__V1__Resource *res = (void *)resmsg;
    Opentelemetry__Proto__Common__V1__KeyValue *kv = ag_arena_calloc(p->arena, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = arg;
    res->attributes[res->n_attributes++] = kv;
    return 0;
}

static void test_own_resources_leaves_original_alone(void)
{
    int name = 0;
    struct ag_payload *p = fx_traces(2, 1, 1, &name);
    struct ag_payload *q = ag_payload_own_resources(p, 1);
    ASSERT_NOT_NULL(q);
    ASSERT_OK(ag_payload_foreach_resource(q, add_attr, "added"));
    ag_payload_account(q);
    fx_req *pr = (fx_req *)p->msg, *qr = (fx_req *)q->msg;
    ASSERT_UEQ(qr->resource_spans[0]->resource->n_attributes, 1);
    ASSERT_UEQ(qr->resource_spans[1]->resource->n_attributes, 1);
    ASSERT_STREQ(qr->resource_spans[1]->resource->attributes[0]->key, "added");
    ASSERT_UEQ(pr->resource_spans[0]->resource->n_attributes, 0);
    ASSERT_UEQ(pr->resource_spans[1]->resource->n_attributes, 0);
    ag_payload_unref(q);
    ag_payload_unref(p);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

/* ---- metrics cut inside their data points ---------------------------------------------------- */

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest fx_mreq;
typedef Opentelemetry__Proto__Metrics__V1__Metric fx_metric;

/* One resource, one scope, five metrics of every type, 14 points in all; a point's value (an
 * int, or a count) is its position, 1..14. */
static const char metrics_json[] =
    "{\"resourceMetrics\":[{\"resource\":{},\"scopeMetrics\":[{\"scope\":{\"name\":\"sc\"},"
    "\"metrics\":["
    "{\"name\":\"g\",\"unit\":\"1\",\"gauge\":{\"dataPoints\":[{\"asInt\":\"1\"},"
    "{\"asInt\":\"2\"},{\"asInt\":\"3\"}]}},"
    "{\"name\":\"s\",\"unit\":\"By\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,"
    "\"dataPoints\":[{\"asInt\":\"4\"},{\"asInt\":\"5\"},{\"asInt\":\"6\"},{\"asInt\":\"7\"}]}},"
    "{\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":["
    "{\"count\":\"8\"},{\"count\":\"9\"}]}},"
    "{\"name\":\"e\",\"exponentialHistogram\":{\"aggregationTemporality\":2,\"dataPoints\":["
    "{\"count\":\"10\"},{\"count\":\"11\"},{\"count\":\"12\"}]}},"
    "{\"name\":\"q\",\"summary\":{\"dataPoints\":[{\"count\":\"13\"},{\"count\":\"14\"}]}}"
    "]}]}]}";

static struct ag_payload *fx_metrics(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ProtobufCMessage *msg = NULL;
    char err[256];
    if (ag_otlp_decode(AG_SIGNAL_METRICS, AG_OTLP_JSON, (const uint8_t *)metrics_json,
                       sizeof(metrics_json) - 1, a, &msg, err, sizeof(err)) != 0) {
        ag_arena_free(a);
        return NULL;
    }
    return ag_payload_new(AG_SIGNAL_METRICS, a, msg, ag_otlp_count_items(AG_SIGNAL_METRICS, msg));
}

/* "name:v,v name:v" for every metric of a payload, in order (v as in metrics_json). */
static void fx_points(const struct ag_payload *p, char *out, size_t len)
{
    const fx_mreq *req = (const fx_mreq *)p->msg;
    size_t o = 0;
    out[0] = '\0';
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        for (size_t s = 0; s < req->resource_metrics[r]->n_scope_metrics; s++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
                req->resource_metrics[r]->scope_metrics[s];
            for (size_t i = 0; i < sm->n_metrics && o + 16 < len; i++) {
                const fx_metric *m = sm->metrics[i];
                o += (size_t)snprintf(out + o, len - o, "%s%s:", o ? " " : "", m->name);
                size_t n = 0;
                uint64_t v[16];
                if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE) {
                    for (n = 0; n < m->gauge->n_data_points; n++) {
                        v[n] = (uint64_t)m->gauge->data_points[n]->as_int;
                    }
                } else if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) {
                    for (n = 0; n < m->sum->n_data_points; n++) {
                        v[n] = (uint64_t)m->sum->data_points[n]->as_int;
                    }
                } else if (m->data_case ==
                           OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM) {
                    for (n = 0; n < m->histogram->n_data_points; n++) {
                        v[n] = m->histogram->data_points[n]->count;
                    }
                } else if (m->data_case ==
                           OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM) {
                    for (n = 0; n < m->exponential_histogram->n_data_points; n++) {
                        v[n] = m->exponential_histogram->data_points[n]->count;
                    }
                } else {
                    for (n = 0; n < m->summary->n_data_points; n++) {
                        v[n] = m->summary->data_points[n]->count;
                    }
                }
                for (size_t k = 0; k < n && o + 8 < len; k++) {
                    o += (size_t)snprintf(out + o, len - o, "%s%llu", k ? "," : "",
                                          (unsigned long long)v[k]);
                }
            }
        }
    }
}

/* Splits metrics_json's payload at |max| points and checks each chunk against |want|. */
static void check_metric_split(size_t max, const char *const *want, size_t n_want)
{
    struct ag_payload *p = fx_metrics();
    ASSERT_NOT_NULL(p);
    ASSERT_UEQ(p->items, 14);
    struct ag_payload **chunks = NULL;
    long n = ag_payload_split(p, max, &chunks);
    ASSERT_EQ(n, (long)n_want);
    char got[512];
    size_t total = 0;
    for (long i = 0; i < n; i++) {
        fx_points(chunks[i], got, sizeof(got));
        ASSERT_STREQ(got, want[i]);
        ASSERT(chunks[i]->items <= max);
        ASSERT_UEQ(chunks[i]->items, ag_otlp_count_items(AG_SIGNAL_METRICS, chunks[i]->msg));
        total += chunks[i]->items;
    }
    ASSERT_UEQ(total, 14);
    /* Names, units and types are kept; the original is untouched. */
    const fx_metric *s0 =
        ((const fx_mreq *)chunks[0]->msg)->resource_metrics[0]->scope_metrics[0]->metrics[0];
    ASSERT_STREQ(s0->name, "g");
    ASSERT_STREQ(s0->unit, "1");
    fx_points(p, got, sizeof(got));
    ASSERT_STREQ(got, "g:1,2,3 s:4,5,6,7 h:8,9 e:10,11,12 q:13,14");
    ag_payload_unref(p);
    for (long i = 0; i < n; i++) {
        ag_payload_unref(chunks[i]);
    }
    ag_free(chunks);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_split_inside_metrics(void)
{
    /* Cut after a metric's first point; a chunk that starts and ends inside metrics. */
    static const char *const by4[] = {"g:1,2,3 s:4", "s:5,6,7 h:8", "h:9 e:10,11,12", "q:13,14"};
    check_metric_split(4, by4, 4);
    static const char *const by5[] = {"g:1,2,3 s:4,5", "s:6,7 h:8,9 e:10", "e:11,12 q:13,14"};
    check_metric_split(5, by5, 3);
    /* A chunk that holds only the start of a metric. */
    static const char *const by3[] = {"g:1,2,3", "s:4,5,6", "s:7 h:8,9", "e:10,11,12", "q:13,14"};
    check_metric_split(3, by3, 5);
    /* One metric over three chunks: the middle one holds only its middle. */
    static const char *const by2[] = {"g:1,2",    "g:3 s:4", "s:5,6",  "s:7 h:8",
                                      "h:9 e:10", "e:11,12", "q:13,14"};
    check_metric_split(2, by2, 7);
    static const char *const by1[] = {"g:1", "g:2", "g:3",  "s:4",  "s:5",  "s:6",  "s:7",
                                      "h:8", "h:9", "e:10", "e:11", "e:12", "q:13", "q:14"};
    check_metric_split(1, by1, 14);
    static const char *const all[] = {"g:1,2,3 s:4,5,6,7 h:8,9 e:10,11,12 q:13,14"};
    check_metric_split(14, all, 1);
    check_metric_split(100, all, 1);
}

/* ---- items' own attributes ------------------------------------------------------------------ */

static int add_point_attr(struct ag_payload *shell, ProtobufCMessage ***attrs, size_t *n, void *arg)
{
    Opentelemetry__Proto__Common__V1__KeyValue *kv = ag_arena_calloc(shell->arena, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = arg;
    (*attrs)[(*n)++] = &kv->base;
    return 0;
}

struct got {
    struct ag_payload *p;
    int calls;
};

static int keep(void *self, struct ag_payload *shell)
{
    struct got *g = self;
    g->calls++;
    g->p = ag_payload_ref(shell);
    return 0;
}

/* Counts the points of every metric kind that carry an attribute named |key|. */
static size_t points_with(const struct ag_payload *p, const char *key)
{
    const fx_mreq *req = (const fx_mreq *)p->msg;
    const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
        req->resource_metrics[0]->scope_metrics[0];
    size_t hits = 0;
    for (size_t i = 0; i < sm->n_metrics; i++) {
        const fx_metric *m = sm->metrics[i];
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(m->base.descriptor, m->data_case);
        const ProtobufCMessage *data = *(ProtobufCMessage *const *)((const char *)m + f->offset);
        const ProtobufCFieldDescriptor *pf =
            protobuf_c_message_descriptor_get_field(data->descriptor, 1);
        size_t np = *(const size_t *)((const char *)data + pf->quantifier_offset);
        ProtobufCMessage *const *pts =
            *(ProtobufCMessage *const *const *)((const char *)data + pf->offset);
        for (size_t k = 0; k < np; k++) {
            const ProtobufCFieldDescriptor *af =
                protobuf_c_message_descriptor_get_field_by_name(pts[k]->descriptor, "attributes");
            size_t na = *(const size_t *)((const char *)pts[k] + af->quantifier_offset);
            Opentelemetry__Proto__Common__V1__KeyValue *const *kvs =
                *(Opentelemetry__Proto__Common__V1__KeyValue *const *const *)((const char *)pts[k] +
                                                                              af->offset);
            for (size_t j = 0; j < na; j++) {
                hits += strcmp(kvs[j]->key, key) == 0;
            }
        }
    }
    return hits;
}

static void test_edit_item_attributes(void)
{
    struct ag_payload *p = fx_metrics();
    ASSERT_NOT_NULL(p);
    struct got g = {NULL, 0};
    ASSERT_OK(ag_payload_edit_item_attributes(p, 1, add_point_attr, "added", keep, &g));
    ASSERT_EQ(g.calls, 1);
    /* Every point of every kind (gauge, sum, histogram, exponential, summary): 14. */
    ASSERT_UEQ(points_with(g.p, "added"), 14);
    ASSERT_UEQ(g.p->items, 14);
    ASSERT_UEQ(points_with(p, "added"), 0); /* the original is untouched */
    char got[256];
    fx_points(g.p, got, sizeof(got));
    ASSERT_STREQ(got, "g:1,2,3 s:4,5,6,7 h:8,9 e:10,11,12 q:13,14");
    ag_payload_unref(p);
    ASSERT_UEQ(points_with(g.p, "added"), 14); /* the shell keeps the original alive */
    ag_payload_unref(g.p);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

AG_TEST_MAIN(AG_TEST_CASE(test_refcount_and_bytes),
             AG_TEST_CASE(test_split_keeps_order_and_caps_chunks),
             AG_TEST_CASE(test_split_exact_multiple), AG_TEST_CASE(test_merge),
             AG_TEST_CASE(test_own_resources_leaves_original_alone),
             AG_TEST_CASE(test_split_inside_metrics), AG_TEST_CASE(test_edit_item_attributes))
