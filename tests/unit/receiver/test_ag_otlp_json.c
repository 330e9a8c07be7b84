/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the OTLP/JSON codec (agent/receiver/ag_otlp_json.c). The JSON inputs are written by
 * hand and every expected value is computed by hand from them (ids from their hex digits, base64
 * from RFC 4648); the round trips compare protobuf-c's own packed bytes, and the exact-output
 * tests compare the encoder against JSON text written by hand for hand-built messages.
 */
#include "ag_otlp_json.h"
#include "ag_test.h"
#include "ag_mem.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest trace_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest metrics_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest logs_req;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pb_rspans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pb_sspans;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event pb_event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pb_link;
typedef Opentelemetry__Proto__Trace__V1__Status pb_status;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope pb_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics pb_rmetrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics pb_smetrics;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_ndp;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hdp;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint pb_edp;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets pb_buckets;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint pb_sdp;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint__ValueAtQuantile pb_quantile;
typedef Opentelemetry__Proto__Metrics__V1__Exemplar pb_exemplar;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs pb_rlogs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs pb_slogs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord pb_log;

#define ANY(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x
#define TEMPORALITY(x) \
    OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_##x

/*
 * State shared by the helpers: one arena per test step, freed by the next step or by
 * test_cleanup, so a failing ASSERT (which returns early) leaks nothing.
 */
static struct ag_arena *arena;
static size_t decode_cap; /* the arena cap decode_q() uses; 0 = none */
static char err[512];

static void reset_arena(size_t cap)
{
    ag_arena_free(arena);
    arena = ag_arena_new(cap);
}

/*
 * Decodes |text| as |signal|. The JSON is written with ' for " to keep the C literals readable
 * (no input uses a ' of its own). Returns the decoder's result.
 */
static int decode_q(enum ag_signal signal, const char *text, ProtobufCMessage **out)
{
    size_t len = strlen(text);
    char *json = ag_malloc(len + 1);
    if (json == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i <= len; i++) {
        json[i] = text[i] == '\'' ? '"' : text[i];
    }
    reset_arena(decode_cap);
    int rc = ag_otlp_json_decode(signal, (const uint8_t *)json, len, arena, out, err, sizeof(err));
    ag_free(json);
    return rc;
}

/* Same, for a decode that must fail: returns the error message, or NULL if it succeeded. */
static const char *decode_err(enum ag_signal signal, const char *text, int want_rc)
{
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    int rc = decode_q(signal, text, &m);
    if (rc != want_rc || m != NULL) {
        printf("# decode returned %d (wanted %d), message: %s\n", rc, want_rc, err);
        return NULL;
    }
    return err;
}

static int bin_eq(const ProtobufCBinaryData *b, const char *bytes, size_t len)
{
    return b->len == len && (len == 0 || memcmp(b->data, bytes, len) == 0);
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = ag_malloc(*len + 1);
    if (b != NULL) {
        protobuf_c_message_pack(m, b);
    }
    return b;
}

/*
 * The round trip: |m| is encoded, the text decoded again, and both messages must pack to the
 * same protobuf bytes; encoding the second message must give the same text. Returns 0 or
 * prints why not and returns -1.
 */
static int round_trip(enum ag_signal signal, const ProtobufCMessage *m)
{
    struct ag_buf j1, j2;
    struct ag_arena *a2 = ag_arena_new(0);
    ProtobufCMessage *m2 = NULL;
    uint8_t *p1 = NULL, *p2 = NULL;
    size_t l1 = 0, l2 = 0;
    int ok = -1;
    ag_buf_init(&j1, 1 << 24);
    ag_buf_init(&j2, 1 << 24);
    if (ag_otlp_json_encode(m, &j1) != 0) {
        printf("# encode failed\n");
        goto out;
    }
    if (ag_otlp_json_decode(signal, ag_buf_ptr(&j1), j1.len, a2, &m2, err, sizeof(err)) != 0) {
        printf("# decode of the encoding failed: %s\n# %s\n", err, ag_buf_str(&j1));
        goto out;
    }
    p1 = pack(m, &l1);
    p2 = pack(m2, &l2);
    if (p1 == NULL || p2 == NULL || l1 != l2 || memcmp(p1, p2, l1) != 0) {
        printf("# packed bytes differ (%zu vs %zu)\n# %s\n", l1, l2, ag_buf_str(&j1));
        goto out;
    }
    if (ag_otlp_json_encode(m2, &j2) != 0 || strcmp(ag_buf_str(&j1), ag_buf_str(&j2)) != 0) {
        printf("# second encoding differs\n# %s\n# %s\n", ag_buf_str(&j1), ag_buf_str(&j2));
        goto out;
    }
    ok = 0;
out:
    ag_free(p1);
    ag_free(p2);
    ag_buf_cleanup(&j1);
    ag_buf_cleanup(&j2);
    ag_arena_free(a2);
    return ok;
}

/* ---- traces ---------------------------------------------------------------------------------- */

static const char trace_json[] =
    "{'resourceSpans':[{"
    " 'resource':{'attributes':["
    "   {'key':'service.name','value':{'stringValue':'checkout'}}],"
    "  'droppedAttributesCount':3,"
    "  'entityRefs':[{'schemaUrl':'u','type':'service','idKeys':['service.name','ns'],"
    "                 'descriptionKeys':[]}]},"
    " 'scopeSpans':[{"
    "  'scope':{'name':'lib','version':'1.0',"
    "           'attributes':[{'key':'s','value':{'boolValue':true}}],'droppedAttributesCount':1},"
    "  'spans':[{"
    "   'traceId':'5B8EFFF798038103D269B633813FC60C',"
    "   'spanId':'eee19b7ec3c1b174',"
    "   'parentSpanId':'EEE19B7EC3C1B173',"
    "   'traceState':'k=v',"
    "   'flags':257,"
    "   'name':'GET /',"
    "   'kind':'SPAN_KIND_SERVER',"
    "   'startTimeUnixNano':'1544712660000000000',"
    "   'endTimeUnixNano':1544712661000000000,"
    "   'attributes':[{'key':'http.status_code','value':{'intValue':'200'}},"
    "                 {'key':'retry','value':{'intValue':2}}],"
    "   'droppedAttributesCount':1,"
    "   'events':[{'timeUnixNano':'1544712660500000000','name':'ev',"
    "              'attributes':[{'key':'a','value':{'doubleValue':0.25}}],"
    "              'droppedAttributesCount':2}],"
    "   'droppedEventsCount':4,"
    "   'links':[{'traceId':'00000000000000000000000000000001','spanId':'0000000000000002',"
    "             'traceState':'x=y','attributes':[],'droppedAttributesCount':5,'flags':1}],"
    "   'droppedLinksCount':6,"
    "   'status':{'message':'boom','code':2},"
    "   'someFutureField':{'nested':[1,'two',{'three':null}]},"
    "   'instrumentationLibrary':7"
    "  },{"
    "   'trace_id':'5b8efff798038103d269b633813fc60c',"
    "   'span_id':'EEE19B7EC3C1B175',"
    "   'parent_span_id':'',"
    "   'trace_state':null,"
    "   'name':'child',"
    "   'kind':3,"
    "   'start_time_unix_nano':5,"
    "   'end_time_unix_nano':'6',"
    "   'dropped_attributes_count':'7',"
    "   'events':null,"
    "   'status':{'code':'STATUS_CODE_OK'}"
    "  }],"
    "  'schemaUrl':'https://opentelemetry.io/schemas/1.21.0'}],"
    " 'schema_url':'r'"
    "}]}";

static void test_trace_fields(void)
{
    static const char tid[] = "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c";
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_TRACES, trace_json, &m));
    const trace_req *req = (const trace_req *)m;
    ASSERT(m->descriptor ==
           &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor);
    ASSERT_UEQ(req->n_resource_spans, 1);
    const pb_rspans *rs = req->resource_spans[0];
    ASSERT_STREQ(rs->schema_url, "r");
    ASSERT_UEQ(rs->resource->n_attributes, 1);
    ASSERT_STREQ(rs->resource->attributes[0]->key, "service.name");
    ASSERT_EQ(rs->resource->attributes[0]->value->value_case, ANY(STRING_VALUE));
    ASSERT_STREQ(rs->resource->attributes[0]->value->string_value, "checkout");
    ASSERT_UEQ(rs->resource->dropped_attributes_count, 3);
    ASSERT_UEQ(rs->resource->n_entity_refs, 1);
    ASSERT_STREQ(rs->resource->entity_refs[0]->type, "service");
    ASSERT_UEQ(rs->resource->entity_refs[0]->n_id_keys, 2);
    ASSERT_STREQ(rs->resource->entity_refs[0]->id_keys[1], "ns");
    ASSERT_UEQ(rs->resource->entity_refs[0]->n_description_keys, 0);
    ASSERT_NULL(rs->resource->entity_refs[0]->description_keys);

    ASSERT_UEQ(rs->n_scope_spans, 1);
    const pb_sspans *ss = rs->scope_spans[0];
    ASSERT_STREQ(ss->schema_url, "https://opentelemetry.io/schemas/1.21.0");
    ASSERT_STREQ(ss->scope->name, "lib");
    ASSERT_STREQ(ss->scope->version, "1.0");
    ASSERT_UEQ(ss->scope->dropped_attributes_count, 1);
    ASSERT_EQ(ss->scope->attributes[0]->value->value_case, ANY(BOOL_VALUE));
    ASSERT_EQ(ss->scope->attributes[0]->value->bool_value, 1);
    ASSERT_UEQ(ss->n_spans, 2);

    const pb_span *s = ss->spans[0];
    ASSERT(bin_eq(&s->trace_id, tid, 16));
    ASSERT(bin_eq(&s->span_id, "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74", 8));
    ASSERT(bin_eq(&s->parent_span_id, "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x73", 8));
    ASSERT_STREQ(s->trace_state, "k=v");
    ASSERT_UEQ(s->flags, 257);
    ASSERT_STREQ(s->name, "GET /");
    ASSERT_EQ(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    ASSERT_UEQ(s->start_time_unix_nano, 1544712660000000000u);
    ASSERT_UEQ(s->end_time_unix_nano, 1544712661000000000u);
    ASSERT_UEQ(s->n_attributes, 2);
    ASSERT_STREQ(s->attributes[0]->key, "http.status_code");
    ASSERT_EQ(s->attributes[0]->value->value_case, ANY(INT_VALUE));
    ASSERT_EQ(s->attributes[0]->value->int_value, 200);
    ASSERT_EQ(s->attributes[1]->value->int_value, 2);
    ASSERT_UEQ(s->dropped_attributes_count, 1);
    ASSERT_UEQ(s->n_events, 1);
    ASSERT_UEQ(s->events[0]->time_unix_nano, 1544712660500000000u);
    ASSERT_STREQ(s->events[0]->name, "ev");
    ASSERT_EQ(s->events[0]->attributes[0]->value->value_case, ANY(DOUBLE_VALUE));
    ASSERT(s->events[0]->attributes[0]->value->double_value == 0.25);
    ASSERT_UEQ(s->events[0]->dropped_attributes_count, 2);
    ASSERT_UEQ(s->dropped_events_count, 4);
    ASSERT_UEQ(s->n_links, 1);
    const pb_link *l = s->links[0];
    ASSERT(bin_eq(&l->trace_id, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16));
    ASSERT(bin_eq(&l->span_id, "\0\0\0\0\0\0\0\x02", 8));
    ASSERT_STREQ(l->trace_state, "x=y");
    ASSERT_UEQ(l->n_attributes, 0);
    ASSERT_NULL(l->attributes);
    ASSERT_UEQ(l->dropped_attributes_count, 5);
    ASSERT_UEQ(l->flags, 1);
    ASSERT_UEQ(s->dropped_links_count, 6);
    ASSERT_STREQ(s->status->message, "boom");
    ASSERT_EQ(s->status->code,
              OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);

    /* The second span uses snake_case keys, lowercase hex, an enum number and nulls. */
    s = ss->spans[1];
    ASSERT(bin_eq(&s->trace_id, tid, 16));
    ASSERT(bin_eq(&s->span_id, "\xee\xe1\x9b\x7e\xc3\xc1\xb1\x75", 8));
    ASSERT_UEQ(s->parent_span_id.len, 0);
    ASSERT_NULL(s->parent_span_id.data);
    ASSERT_STREQ(s->trace_state, "");
    ASSERT_STREQ(s->name, "child");
    ASSERT_EQ(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
    ASSERT_UEQ(s->start_time_unix_nano, 5);
    ASSERT_UEQ(s->end_time_unix_nano, 6);
    ASSERT_UEQ(s->dropped_attributes_count, 7);
    ASSERT_UEQ(s->n_events, 0);
    ASSERT_UEQ(s->n_links, 0);
    ASSERT_UEQ(s->flags, 0);
    ASSERT_EQ(s->status->code,
              OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK);
    ASSERT_STREQ(s->status->message, "");
}

static void test_any_value_kinds(void)
{
    static const char json[] = "{'resourceSpans':[{'resource':{'attributes':["
                               " {'key':'s','value':{'stringValue':'h\\u00e9\\n'}},"
                               " {'key':'es','value':{'stringValue':''}},"
                               " {'key':'b','value':{'boolValue':false}},"
                               " {'key':'i','value':{'intValue':'-9223372036854775808'}},"
                               " {'key':'i2','value':{'intValue':9223372036854775807}},"
                               " {'key':'d','value':{'doubleValue':'-Infinity'}},"
                               " {'key':'arr','value':{'arrayValue':{'values':["
                               "    {'stringValue':'x'},{'intValue':1},{'arrayValue':{}},{}]}}},"
                               " {'key':'kv','value':{'kvlistValue':{'values':["
                               "    {'key':'inner','value':{'kvlistValue':{'values':[{'key':'deep',"
                               "     'value':{'bytesValue':'AP8Q'}}]}}}]}}},"
                               " {'key':'bytes','value':{'bytesValue':'3q2+7w=='}},"
                               " {'key':'url','value':{'bytes_value':'3q2-7w'}},"
                               " {'key':'eb','value':{'bytesValue':''}},"
                               " {'key':'empty','value':{}},"
                               " {'key':'novalue'},"
                               " {'key':'nullvalue','value':null},"
                               " {'key':'last','value':{'stringValue':'a','intValue':5}}"
                               "]}}]}";
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_TRACES, json, &m));
    const pb_resource *r = ((const trace_req *)m)->resource_spans[0]->resource;
    ASSERT_UEQ(r->n_attributes, 15);
    pb_kv *const *a = r->attributes;
    ASSERT_EQ(a[0]->value->value_case, ANY(STRING_VALUE));
    ASSERT_STREQ(a[0]->value->string_value, "h\xc3\xa9\n");
    ASSERT_EQ(a[1]->value->value_case, ANY(STRING_VALUE));
    ASSERT_STREQ(a[1]->value->string_value, "");
    ASSERT_EQ(a[2]->value->value_case, ANY(BOOL_VALUE));
    ASSERT_EQ(a[2]->value->bool_value, 0);
    ASSERT_EQ(a[3]->value->value_case, ANY(INT_VALUE));
    ASSERT(a[3]->value->int_value == INT64_MIN);
    ASSERT(a[4]->value->int_value == INT64_MAX);
    ASSERT_EQ(a[5]->value->value_case, ANY(DOUBLE_VALUE));
    ASSERT(isinf(a[5]->value->double_value) && a[5]->value->double_value < 0);

    ASSERT_EQ(a[6]->value->value_case, ANY(ARRAY_VALUE));
    const Opentelemetry__Proto__Common__V1__ArrayValue *arr = a[6]->value->array_value;
    ASSERT_UEQ(arr->n_values, 4);
    ASSERT_STREQ(arr->values[0]->string_value, "x");
    ASSERT_EQ(arr->values[1]->value_case, ANY(INT_VALUE));
    ASSERT_EQ(arr->values[1]->int_value, 1);
    ASSERT_EQ(arr->values[2]->value_case, ANY(ARRAY_VALUE));
    ASSERT_UEQ(arr->values[2]->array_value->n_values, 0);
    ASSERT_EQ(arr->values[3]->value_case, ANY(_NOT_SET));

    ASSERT_EQ(a[7]->value->value_case, ANY(KVLIST_VALUE));
    const pb_kv *inner = a[7]->value->kvlist_value->values[0];
    ASSERT_STREQ(inner->key, "inner");
    ASSERT_EQ(inner->value->value_case, ANY(KVLIST_VALUE));
    const pb_kv *deep = inner->value->kvlist_value->values[0];
    ASSERT_STREQ(deep->key, "deep");
    ASSERT_EQ(deep->value->value_case, ANY(BYTES_VALUE));
    ASSERT(bin_eq(&deep->value->bytes_value, "\x00\xff\x10", 3));

    ASSERT_EQ(a[8]->value->value_case, ANY(BYTES_VALUE));
    ASSERT(bin_eq(&a[8]->value->bytes_value, "\xde\xad\xbe\xef", 4));
    ASSERT_EQ(a[9]->value->value_case, ANY(BYTES_VALUE));
    ASSERT(bin_eq(&a[9]->value->bytes_value, "\xde\xad\xbe\xef", 4));
    ASSERT_EQ(a[10]->value->value_case, ANY(BYTES_VALUE));
    ASSERT_UEQ(a[10]->value->bytes_value.len, 0);
    /* {} is an AnyValue with nothing set; a missing or null value is no AnyValue at all. */
    ASSERT_NOT_NULL(a[11]->value);
    ASSERT_EQ(a[11]->value->value_case, ANY(_NOT_SET));
    ASSERT_STREQ(a[12]->key, "novalue");
    ASSERT_NULL(a[12]->value);
    ASSERT_NULL(a[13]->value);
    /* Two members of one oneof: the later one wins, as on the wire. */
    ASSERT_EQ(a[14]->value->value_case, ANY(INT_VALUE));
    ASSERT_EQ(a[14]->value->int_value, 5);
    ASSERT_OK(round_trip(AG_SIGNAL_TRACES, m));
}

/* ---- metrics --------------------------------------------------------------------------------- */

static const char metrics_json[] =
    "{'resourceMetrics':[{'resource':{},'scopeMetrics':[{'scope':{'name':'m'},'metrics':["
    " {'name':'g','description':'a gauge','unit':'1',"
    "  'metadata':[{'key':'md','value':{'stringValue':'v'}}],"
    "  'gauge':{'dataPoints':["
    "   {'attributes':[{'key':'p','value':{'intValue':'1'}}],"
    "    'startTimeUnixNano':'1','timeUnixNano':'2','asDouble':1.5,'flags':1,"
    "    'exemplars':[{'filteredAttributes':[{'key':'f','value':{'boolValue':true}}],"
    "                  'timeUnixNano':'3','asInt':'-7',"
    "                  'spanId':'0102030405060708',"
    "                  'traceId':'0102030405060708090A0B0C0D0E0F10'},"
    "                 {'asDouble':'NaN'}]},"
    "   {'asInt':9},"
    "   {'as_int':'-9223372036854775808'},"
    "   {'asDouble':0}]}},"
    " {'name':'s','sum':{'dataPoints':[{'asDouble':'Infinity'},{'asDouble':'2.5e3'}],"
    "  'aggregationTemporality':'AGGREGATION_TEMPORALITY_CUMULATIVE','isMonotonic':true}},"
    " {'name':'s2','sum':{'aggregation_temporality':1,'is_monotonic':false}},"
    " {'name':'h','histogram':{'aggregationTemporality':2,'dataPoints':["
    "   {'count':'6','sum':12.5,'bucketCounts':['1',2,'3'],'explicitBounds':[1,'2.5'],"
    "    'min':0.5,'max':10,'exemplars':[{'asDouble':4.25,'timeUnixNano':9}],'flags':0},"
    "   {'count':0},"
    "   {'count':1,'sum':0,'min':null}]}},"
    " {'name':'e','exponentialHistogram':{'aggregationTemporality':'AGGREGATION_TEMPORALITY_DELTA',"
    "  'dataPoints':[{'count':'5','sum':-3.5,'scale':-3,'zeroCount':'1','zeroThreshold':1e-9,"
    "   'positive':{'offset':-2,'bucketCounts':['1','0',2]},"
    "   'negative':{'offset':1,'bucketCounts':[1]},"
    "   'min':-2,'max':7.5,'flags':1,'attributes':[{'key':'x','value':{'stringValue':'y'}}]},"
    "   {'scale':20,'negative':{}}]}},"
    " {'name':'q','summary':{'dataPoints':[{'count':'4','sum':10,'timeUnixNano':'100',"
    "  'quantileValues':[{'quantile':0,'value':1},{'quantile':0.5,'value':2.5},"
    "                    {'quantile':1,'value':4}]}]}},"
    " {'name':'none'}"
    "]}]}]}";

static void test_metrics_number(void)
{
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_METRICS, metrics_json, &m));
    const metrics_req *req = (const metrics_req *)m;
    ASSERT_UEQ(req->n_resource_metrics, 1);
    const pb_rmetrics *rm = req->resource_metrics[0];
    ASSERT_NOT_NULL(rm->resource);
    ASSERT_UEQ(rm->resource->n_attributes, 0);
    const pb_smetrics *sm = rm->scope_metrics[0];
    ASSERT_UEQ(sm->n_metrics, 7);

    const pb_metric *g = sm->metrics[0];
    ASSERT_STREQ(g->name, "g");
    ASSERT_STREQ(g->description, "a gauge");
    ASSERT_STREQ(g->unit, "1");
    ASSERT_UEQ(g->n_metadata, 1);
    ASSERT_STREQ(g->metadata[0]->value->string_value, "v");
    ASSERT_EQ(g->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
    ASSERT_UEQ(g->gauge->n_data_points, 4);
    const pb_ndp *p = g->gauge->data_points[0];
    ASSERT_EQ(p->attributes[0]->value->int_value, 1);
    ASSERT_UEQ(p->start_time_unix_nano, 1);
    ASSERT_UEQ(p->time_unix_nano, 2);
    ASSERT_EQ(p->value_case, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE);
    ASSERT(p->as_double == 1.5);
    ASSERT_UEQ(p->flags, 1);
    ASSERT_UEQ(p->n_exemplars, 2);
    const pb_exemplar *ex = p->exemplars[0];
    ASSERT_STREQ(ex->filtered_attributes[0]->key, "f");
    ASSERT_UEQ(ex->time_unix_nano, 3);
    ASSERT_EQ(ex->value_case, OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT);
    ASSERT_EQ(ex->as_int, -7);
    ASSERT(bin_eq(&ex->span_id, "\x01\x02\x03\x04\x05\x06\x07\x08", 8));
    ASSERT(bin_eq(&ex->trace_id, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10",
                  16));
    ASSERT_EQ(p->exemplars[1]->value_case,
              OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE);
    ASSERT(isnan(p->exemplars[1]->as_double));
    p = g->gauge->data_points[1];
    ASSERT_EQ(p->value_case, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT);
    ASSERT_EQ(p->as_int, 9);
    p = g->gauge->data_points[2];
    ASSERT_EQ(p->value_case, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT);
    ASSERT(p->as_int == INT64_MIN);
    /* A oneof member set to its default is still set. */
    p = g->gauge->data_points[3];
    ASSERT_EQ(p->value_case, OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE);
    ASSERT(p->as_double == 0);

    const pb_metric *s = sm->metrics[1];
    ASSERT_EQ(s->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    ASSERT_EQ(s->sum->aggregation_temporality, TEMPORALITY(CUMULATIVE));
    ASSERT_EQ(s->sum->is_monotonic, 1);
    ASSERT(isinf(s->sum->data_points[0]->as_double) && s->sum->data_points[0]->as_double > 0);
    ASSERT(s->sum->data_points[1]->as_double == 2500);
    s = sm->metrics[2];
    ASSERT_EQ(s->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    ASSERT_EQ(s->sum->aggregation_temporality, TEMPORALITY(DELTA));
    ASSERT_EQ(s->sum->is_monotonic, 0);
    ASSERT_UEQ(s->sum->n_data_points, 0);
    ASSERT_EQ(sm->metrics[6]->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA__NOT_SET);
}

static void test_metrics_histograms(void)
{
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_METRICS, metrics_json, &m));
    pb_metric *const *metrics =
        ((const metrics_req *)m)->resource_metrics[0]->scope_metrics[0]->metrics;

    const pb_metric *h = metrics[3];
    ASSERT_EQ(h->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
    ASSERT_EQ(h->histogram->aggregation_temporality, 2);
    ASSERT_UEQ(h->histogram->n_data_points, 3);
    const pb_hdp *hp = h->histogram->data_points[0];
    ASSERT_UEQ(hp->count, 6);
    ASSERT_EQ(hp->sum_present_case,
              OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
    ASSERT(hp->sum == 12.5);
    ASSERT_UEQ(hp->n_bucket_counts, 3);
    ASSERT_UEQ(hp->bucket_counts[0], 1);
    ASSERT_UEQ(hp->bucket_counts[1], 2);
    ASSERT_UEQ(hp->bucket_counts[2], 3);
    ASSERT_UEQ(hp->n_explicit_bounds, 2);
    ASSERT(hp->explicit_bounds[0] == 1.0 && hp->explicit_bounds[1] == 2.5);
    ASSERT_EQ(hp->min_present_case,
              OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN);
    ASSERT(hp->min == 0.5);
    ASSERT_EQ(hp->max_present_case,
              OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX);
    ASSERT(hp->max == 10);
    ASSERT_UEQ(hp->n_exemplars, 1);
    ASSERT(hp->exemplars[0]->as_double == 4.25);
    ASSERT_UEQ(hp->exemplars[0]->time_unix_nano, 9);
    /* No sum, min or max: not present, which is not the same as 0. */
    hp = h->histogram->data_points[1];
    ASSERT_EQ(hp->sum_present_case, 0);
    ASSERT_EQ(hp->min_present_case, 0);
    ASSERT_EQ(hp->max_present_case, 0);
    hp = h->histogram->data_points[2];
    ASSERT_EQ(hp->sum_present_case,
              OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
    ASSERT(hp->sum == 0);
    ASSERT_EQ(hp->min_present_case, 0);

    const pb_metric *e = metrics[4];
    ASSERT_EQ(e->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM);
    ASSERT_EQ(e->exponential_histogram->aggregation_temporality, 1);
    const pb_edp *ep = e->exponential_histogram->data_points[0];
    ASSERT_UEQ(ep->count, 5);
    ASSERT(ep->sum_present_case != 0 && ep->sum == -3.5);
    ASSERT_EQ(ep->scale, -3);
    ASSERT_UEQ(ep->zero_count, 1);
    ASSERT(ep->zero_threshold == 1e-9);
    ASSERT_EQ(ep->positive->offset, -2);
    ASSERT_UEQ(ep->positive->n_bucket_counts, 3);
    ASSERT_UEQ(ep->positive->bucket_counts[0], 1);
    ASSERT_UEQ(ep->positive->bucket_counts[1], 0);
    ASSERT_UEQ(ep->positive->bucket_counts[2], 2);
    ASSERT_EQ(ep->negative->offset, 1);
    ASSERT_UEQ(ep->negative->n_bucket_counts, 1);
    ASSERT(ep->min_present_case != 0 && ep->min == -2);
    ASSERT(ep->max_present_case != 0 && ep->max == 7.5);
    ASSERT_UEQ(ep->flags, 1);
    ASSERT_STREQ(ep->attributes[0]->value->string_value, "y");
    ep = e->exponential_histogram->data_points[1];
    ASSERT_EQ(ep->scale, 20);
    ASSERT_NULL(ep->positive);
    ASSERT_NOT_NULL(ep->negative);
    ASSERT_EQ(ep->negative->offset, 0);
    ASSERT_EQ(ep->sum_present_case, 0);

    const pb_metric *q = metrics[5];
    ASSERT_EQ(q->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY);
    const pb_sdp *sp = q->summary->data_points[0];
    ASSERT_UEQ(sp->count, 4);
    ASSERT(sp->sum == 10);
    ASSERT_UEQ(sp->time_unix_nano, 100);
    ASSERT_UEQ(sp->n_quantile_values, 3);
    ASSERT(sp->quantile_values[0]->quantile == 0 && sp->quantile_values[0]->value == 1);
    ASSERT(sp->quantile_values[1]->quantile == 0.5 && sp->quantile_values[1]->value == 2.5);
    ASSERT(sp->quantile_values[2]->quantile == 1 && sp->quantile_values[2]->value == 4);
}

/* ---- logs ------------------------------------------------------------------------------------ */

static const char logs_json[] =
    "{'resourceLogs':[{'resource':{'attributes':[{'key':'host','value':{'stringValue':'h1'}}]},"
    " 'scopeLogs':[{'scope':{'name':'log'},'logRecords':["
    "  {'timeUnixNano':'1700000000000000000','observedTimeUnixNano':1700000000000000001,"
    "   'severityNumber':9,'severityText':'INFO','body':{'stringValue':'hello'},"
    "   'attributes':[{'key':'a','value':{'intValue':'1'}}],'droppedAttributesCount':2,"
    "   'flags':1,'traceId':'0AF7651916CD43DD8448EB211C80319C','spanId':'B7AD6B7169203331',"
    "   'eventName':'app.start'},"
    "  {'severityNumber':'SEVERITY_NUMBER_WARN','body':{'intValue':-3}},"
    "  {'severity_number':'SEVERITY_NUMBER_FATAL4','body':{'doubleValue':'NaN'}},"
    "  {'body':{'boolValue':true},'traceId':'','spanId':''},"
    "  {'body':{'bytesValue':'Zm9vYmE='}},"
    "  {'body':{'arrayValue':{'values':[{'stringValue':'a'},{'kvlistValue':{}}]}}},"
    "  {'body':{'kvlistValue':{'values':[{'key':'k','value':{'stringValue':'v'}},{'key':'n'}]}}},"
    "  {'body':{}},"
    "  {'event_name':'e2','observed_time_unix_nano':'7'}"
    "]}]}]}";

static void test_logs_fields(void)
{
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_LOGS, logs_json, &m));
    const logs_req *req = (const logs_req *)m;
    const pb_rlogs *rl = req->resource_logs[0];
    ASSERT_STREQ(rl->resource->attributes[0]->value->string_value, "h1");
    const pb_slogs *sl = rl->scope_logs[0];
    ASSERT_STREQ(sl->scope->name, "log");
    ASSERT_UEQ(sl->n_log_records, 9);
    pb_log *const *r = sl->log_records;
    ASSERT_UEQ(r[0]->time_unix_nano, 1700000000000000000u);
    ASSERT_UEQ(r[0]->observed_time_unix_nano, 1700000000000000001u);
    ASSERT_EQ(r[0]->severity_number, 9);
    ASSERT_STREQ(r[0]->severity_text, "INFO");
    ASSERT_EQ(r[0]->body->value_case, ANY(STRING_VALUE));
    ASSERT_STREQ(r[0]->body->string_value, "hello");
    ASSERT_EQ(r[0]->attributes[0]->value->int_value, 1);
    ASSERT_UEQ(r[0]->dropped_attributes_count, 2);
    ASSERT_UEQ(r[0]->flags, 1);
    ASSERT(bin_eq(&r[0]->trace_id,
                  "\x0a\xf7\x65\x19\x16\xcd\x43\xdd\x84\x48\xeb\x21\x1c\x80\x31\x9c", 16));
    ASSERT(bin_eq(&r[0]->span_id, "\xb7\xad\x6b\x71\x69\x20\x33\x31", 8));
    ASSERT_STREQ(r[0]->event_name, "app.start");

    ASSERT_EQ(r[1]->severity_number, 13);
    ASSERT_EQ(r[1]->body->value_case, ANY(INT_VALUE));
    ASSERT_EQ(r[1]->body->int_value, -3);
    ASSERT_EQ(r[2]->severity_number, 24);
    ASSERT(isnan(r[2]->body->double_value));
    ASSERT_EQ(r[3]->body->value_case, ANY(BOOL_VALUE));
    ASSERT_EQ(r[3]->body->bool_value, 1);
    ASSERT_UEQ(r[3]->trace_id.len, 0);
    ASSERT_UEQ(r[3]->span_id.len, 0);
    ASSERT_EQ(r[4]->body->value_case, ANY(BYTES_VALUE));
    ASSERT(bin_eq(&r[4]->body->bytes_value, "fooba", 5));
    ASSERT_EQ(r[5]->body->value_case, ANY(ARRAY_VALUE));
    ASSERT_UEQ(r[5]->body->array_value->n_values, 2);
    ASSERT_EQ(r[5]->body->array_value->values[1]->value_case, ANY(KVLIST_VALUE));
    ASSERT_UEQ(r[5]->body->array_value->values[1]->kvlist_value->n_values, 0);
    ASSERT_EQ(r[6]->body->value_case, ANY(KVLIST_VALUE));
    ASSERT_STREQ(r[6]->body->kvlist_value->values[0]->value->string_value, "v");
    ASSERT_NULL(r[6]->body->kvlist_value->values[1]->value);
    ASSERT_NOT_NULL(r[7]->body);
    ASSERT_EQ(r[7]->body->value_case, ANY(_NOT_SET));
    ASSERT_NULL(r[8]->body);
    ASSERT_STREQ(r[8]->event_name, "e2");
    ASSERT_UEQ(r[8]->observed_time_unix_nano, 7);
    ASSERT_STREQ(r[8]->severity_text, "");
}

/* ---- number forms and nulls ------------------------------------------------------------------ */

static void test_number_forms(void)
{
    static const char json[] =
        "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'histogram':{'dataPoints':["
        " {'count':'18446744073709551615','startTimeUnixNano':'0','timeUnixNano':5.0,"
        "  'flags':4294967295,'bucketCounts':[9223372036854775807,'00012'],"
        "  'explicitBounds':[-1.5e-3,'-0.0','1E2',3]},"
        " {'flags':'17','aggregationTemporality':'x'}]}}]}]}]}";
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_METRICS, json, &m));
    const pb_hdp *hp = ((const metrics_req *)m)
                           ->resource_metrics[0]
                           ->scope_metrics[0]
                           ->metrics[0]
                           ->histogram->data_points[0];
    ASSERT_UEQ(hp->count, UINT64_MAX);
    ASSERT_UEQ(hp->start_time_unix_nano, 0);
    ASSERT_UEQ(hp->time_unix_nano, 5);
    ASSERT_UEQ(hp->flags, 4294967295u);
    ASSERT_UEQ(hp->bucket_counts[0], 9223372036854775807u);
    ASSERT_UEQ(hp->bucket_counts[1], 12);
    ASSERT(hp->explicit_bounds[0] == -1.5e-3);
    ASSERT(hp->explicit_bounds[1] == 0 && signbit(hp->explicit_bounds[1]));
    ASSERT(hp->explicit_bounds[2] == 100);
    ASSERT(hp->explicit_bounds[3] == 3);
    /* A 32-bit integer may come as a string too; an unknown key in a data point is ignored. */
    hp = ((const metrics_req *)m)
             ->resource_metrics[0]
             ->scope_metrics[0]
             ->metrics[0]
             ->histogram->data_points[1];
    ASSERT_UEQ(hp->flags, 17);
    ASSERT_OK(round_trip(AG_SIGNAL_METRICS, m));
}

/* Integer literals beyond int64 (jansson alone refuses them) are taken as numbers, exactly; a
 * value out of a field's range is still an error naming the field. */
static void test_big_integer_numbers(void)
{
    static const char json[] =
        "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'histogram':{'dataPoints':["
        " {'count':18446744073709551615,'timeUnixNano':18446744073709551614,"
        "  'bucketCounts':[18446744073709551613],'attributes':[{'key':'s','value':"
        "  {'stringValue':'12345678901234567890123 stays a string'}}]}]}}]}]}]}";
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_METRICS, json, &m));
    const pb_hdp *hp = ((const metrics_req *)m)
                           ->resource_metrics[0]
                           ->scope_metrics[0]
                           ->metrics[0]
                           ->histogram->data_points[0];
    ASSERT_UEQ(hp->count, UINT64_MAX);
    ASSERT_UEQ(hp->time_unix_nano, UINT64_MAX - 1);
    ASSERT_UEQ(hp->bucket_counts[0], UINT64_MAX - 2);
    ASSERT_STREQ(hp->attributes[0]->value->string_value, "12345678901234567890123 stays a string");
    const char *e = decode_err(AG_SIGNAL_METRICS,
                               "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'gauge':"
                               "{'dataPoints':[{'asInt':9223372036854775808}]}}]}]}]}",
                               AG_EPROTO);
    ASSERT_NOT_NULL(e);
    ASSERT_STRCONTAINS(e, "asInt");
}

static void test_nulls_are_defaults(void)
{
    static const char json[] =
        "{'resourceSpans':[{'resource':null,'scopeSpans':[{'scope':null,'spans':[{"
        " 'traceId':null,'name':null,'kind':null,'attributes':null,'status':null,"
        " 'startTimeUnixNano':null,'flags':null}]}],'schemaUrl':null}]}";
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_TRACES, json, &m));
    const pb_rspans *rs = ((const trace_req *)m)->resource_spans[0];
    ASSERT_NULL(rs->resource);
    ASSERT_STREQ(rs->schema_url, "");
    ASSERT_NULL(rs->scope_spans[0]->scope);
    const pb_span *s = rs->scope_spans[0]->spans[0];
    ASSERT_UEQ(s->trace_id.len, 0);
    ASSERT_STREQ(s->name, "");
    ASSERT_EQ(s->kind, 0);
    ASSERT_UEQ(s->n_attributes, 0);
    ASSERT_NULL(s->status);
    ASSERT_UEQ(s->start_time_unix_nano, 0);

    ASSERT_OK(decode_q(AG_SIGNAL_TRACES, "{'resourceSpans':null}", &m));
    ASSERT_UEQ(((const trace_req *)m)->n_resource_spans, 0);
    ASSERT_OK(decode_q(AG_SIGNAL_LOGS, "{}", &m));
    ASSERT_UEQ(((const logs_req *)m)->n_resource_logs, 0);
    ASSERT_OK(decode_q(AG_SIGNAL_METRICS, " {'resourceMetrics':[]}\n", &m));
    ASSERT_UEQ(((const metrics_req *)m)->n_resource_metrics, 0);
}

static void test_unknown_fields_ignored(void)
{
    /* Old and future fields, with values of any type, even ones that would not decode. */
    static const char json[] =
        "{'resourceSpans':[{'instrumentationLibrarySpans':[{'spans':'not an array'}],"
        " 'scopeSpans':[{'spans':[{'name':'n','unknownObject':{'traceId':'bad'},"
        "  'unknownArray':[null,1,[2]],'TraceId':5,'trace-id':true,"
        "  'aVeryLongKeyThatCannotPossiblyBeAFieldNameBecauseItIsLongerThanSixtyFourChars':1}]}]}],"
        " 'extra':{}}";
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_TRACES, json, &m));
    const pb_span *s = ((const trace_req *)m)->resource_spans[0]->scope_spans[0]->spans[0];
    ASSERT_STREQ(s->name, "n");
    ASSERT_UEQ(s->trace_id.len, 0);
}

static void test_decode_any_message(void)
{
    static const char json[] = "{\"traceId\":\"000102030405060708090a0b0c0d0e0f\",\"name\":\"x\","
                               "\"kind\":\"SPAN_KIND_CONSUMER\"}";
    ProtobufCMessage *m = NULL;
    reset_arena(0);
    ASSERT_OK(ag_otlp_json_decode_message(&opentelemetry__proto__trace__v1__span__descriptor,
                                          (const uint8_t *)json, strlen(json), arena, &m, err,
                                          sizeof(err)));
    const pb_span *s = (const pb_span *)m;
    ASSERT(m->descriptor == &opentelemetry__proto__trace__v1__span__descriptor);
    ASSERT_STREQ(s->name, "x");
    ASSERT_EQ(s->kind, 5);
    ASSERT_UEQ(s->trace_id.data[15], 0x0f);
}

/*
 * protobuf-c's own unpack of a hand-built binary and the JSON decode of the same content must
 * pack to the same bytes (the decoder builds what unpack builds).
 */
static void test_matches_protobuf_unpack(void)
{
    static const char json[] =
        "{'resourceSpans':[{'scopeSpans':[{'spans':[{'traceId':'11111111111111111111111111111111',"
        "'spanId':'2222222222222222','name':'n','kind':1,'startTimeUnixNano':'10',"
        "'attributes':[{'key':'k','value':{'stringValue':'v'}},{'key':'e','value':{}},"
        "{'key':'es','value':{'stringValue':''}}],"
        "'status':{'code':1},'flags':1}]}],'schemaUrl':'s'}]}";
    static uint8_t tid[16], sid[8];
    pb_any sv = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_any empty = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_kv kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv kv2 = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_any esv = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_kv kv3 = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv *kvs[] = {&kv, &kv2, &kv3};
    pb_status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    pb_span span = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    pb_span *spans[] = {&span};
    pb_sspans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    pb_sspans *sss[] = {&ss};
    pb_rspans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    pb_rspans *rss[] = {&rs};
    trace_req req = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    memset(tid, 0x11, sizeof(tid));
    memset(sid, 0x22, sizeof(sid));
    sv.value_case = ANY(STRING_VALUE);
    sv.string_value = "v";
    kv.key = "k";
    kv.value = &sv;
    kv2.key = "e";
    kv2.value = &empty;
    /* An empty string set in a oneof is on the wire (a fresh "", not protobuf-c's default). */
    esv.value_case = ANY(STRING_VALUE);
    esv.string_value = "";
    kv3.key = "es";
    kv3.value = &esv;
    st.code = 1;
    span.trace_id.len = 16;
    span.trace_id.data = tid;
    span.span_id.len = 8;
    span.span_id.data = sid;
    span.name = "n";
    span.kind = 1;
    span.start_time_unix_nano = 10;
    span.n_attributes = 3;
    span.attributes = kvs;
    span.status = &st;
    span.flags = 1;
    ss.n_spans = 1;
    ss.spans = spans;
    rs.n_scope_spans = 1;
    rs.scope_spans = sss;
    rs.schema_url = "s";
    req.n_resource_spans = 1;
    req.resource_spans = rss;

    size_t want_len = 0, unpacked_len = 0, got_len = 0;
    uint8_t *want = pack(&req.base, &want_len);
    ProtobufCAllocator alloc;
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_TRACES, json, &m));
    ag_arena_pb_allocator(arena, &alloc);
    ProtobufCMessage *unpacked = protobuf_c_message_unpack(
        &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
        &alloc, want_len, want);
    uint8_t *got = pack(m, &got_len);
    uint8_t *again = unpacked != NULL ? pack(unpacked, &unpacked_len) : NULL;
    int same = got_len == want_len && memcmp(got, want, want_len) == 0 && again != NULL &&
               unpacked_len == want_len && memcmp(again, want, want_len) == 0;
    /* The shapes protobuf-c builds: empty AnyValue present, unset strings empty. */
    const pb_span *us = unpacked != NULL
                            ? ((trace_req *)unpacked)->resource_spans[0]->scope_spans[0]->spans[0]
                            : NULL;
    const pb_span *js = ((trace_req *)m)->resource_spans[0]->scope_spans[0]->spans[0];
    ag_free(want);
    ag_free(got);
    ag_free(again);
    ASSERT(same);
    ASSERT_NOT_NULL(us);
    ASSERT_EQ(js->attributes[1]->value->value_case, us->attributes[1]->value->value_case);
    ASSERT_EQ(js->attributes[2]->value->value_case, ANY(STRING_VALUE));
    ASSERT(js->attributes[2]->value->string_value != protobuf_c_empty_string);
    ASSERT_STREQ(js->attributes[2]->value->string_value, "");
    ASSERT_STREQ(js->trace_state, us->trace_state);
    ASSERT_UEQ(js->parent_span_id.len, us->parent_span_id.len);
    ASSERT_UEQ(js->n_events, us->n_events);
    ASSERT(js->events == us->events);
}

/* ---- errors ---------------------------------------------------------------------------------- */

#define SPAN0 "resourceSpans[0].scopeSpans[0].spans[0]"

static void test_err_hex(void)
{
    ASSERT_STREQ(decode_err(AG_SIGNAL_TRACES,
                            "{'resourceSpans':[{'scopeSpans':[{'spans':[{},{},"
                            "{'traceId':'5B8EFFF798038103D269B633813FC60G'}]}]}]}",
                            AG_EPROTO),
                 "resourceSpans[0].scopeSpans[0].spans[2].traceId: expected 32 hex digits, got a "
                 "non-hex character at offset 31");
    ASSERT_STREQ(decode_err(AG_SIGNAL_METRICS,
                            "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'gauge':{"
                            "'dataPoints':[{'exemplars':[{'spanId':'z102030405060708'}]}]}}]}]}]}",
                            AG_EPROTO),
                 "resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].exemplars[0]."
                 "spanId: expected 16 hex digits, got a non-hex character at offset 0");
    ASSERT_STREQ(decode_err(AG_SIGNAL_LOGS,
                            "{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'spanId':12}]}]}]}",
                            AG_EPROTO),
                 "resourceLogs[0].scopeLogs[0].logRecords[0].spanId: expected a string of 16 hex "
                 "digits, got number");
}

static void test_err_id_length(void)
{
    ASSERT_STREQ(decode_err(AG_SIGNAL_TRACES,
                            "{'resourceSpans':[{'scopeSpans':[{'spans':[{"
                            "'traceId':'5B8EFFF798038103D269B633813FC60'}]}]}]}",
                            AG_EPROTO),
                 SPAN0 ".traceId: expected 32 hex digits, got 31 characters");
    ASSERT_STREQ(decode_err(AG_SIGNAL_TRACES,
                            "{'resourceSpans':[{'scopeSpans':[{'spans':[{"
                            "'spanId':'eee19b7ec3c1b17'}]}]}]}",
                            AG_EPROTO),
                 SPAN0 ".spanId: expected 16 hex digits, got 15 characters");
    ASSERT_STREQ(decode_err(AG_SIGNAL_TRACES,
                            "{'resourceSpans':[{'scopeSpans':[{'spans':[{"
                            "'parent_span_id':'5B8EFFF798038103D269B633813FC60C'}]}]}]}",
                            AG_EPROTO),
                 SPAN0 ".parent_span_id: expected 16 hex digits, got 32 characters");
    ASSERT_STREQ(decode_err(AG_SIGNAL_TRACES,
                            "{'resourceSpans':[{'scopeSpans':[{'spans':[{"
                            "'links':[{'spanId':'eee19b7ec3c1b1740'}]}]}]}]}",
                            AG_EPROTO),
                 SPAN0 ".links[0].spanId: expected 16 hex digits, got 17 characters");
    ASSERT_STREQ(decode_err(AG_SIGNAL_LOGS,
                            "{'resource_logs':[{'scope_logs':[{'log_records':[{"
                            "'trace_id':'0AF7651916CD43DD8448EB211C80319CFF'}]}]}]}",
                            AG_EPROTO),
                 "resource_logs[0].scope_logs[0].log_records[0].trace_id: expected 32 hex digits, "
                 "got 34 characters");
}

static void test_err_types(void)
{
    static const struct {
        enum ag_signal sig;
        const char *json, *msg;
    } c[] = {
        {AG_SIGNAL_TRACES, "{'resourceSpans':{}}", "resourceSpans: expected an array, got object"},
        {AG_SIGNAL_TRACES, "{'resourceSpans':[[]]}",
         "resourceSpans[0]: expected an object, got array"},
        {AG_SIGNAL_TRACES, "{'resourceSpans':[{'resource':'r'}]}",
         "resourceSpans[0].resource: expected an object, got string"},
        {AG_SIGNAL_TRACES, "{'resourceSpans':[{'scopeSpans':[{'spans':[null]}]}]}",
         SPAN0 ": null is not allowed in an array"},
        {AG_SIGNAL_TRACES, "{'resourceSpans':[{'scopeSpans':[{'spans':[{'name':5}]}]}]}",
         SPAN0 ".name: expected a string, got number"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'kind':'SPAN_KIND_BOGUS'}]}]}]}",
         SPAN0 ".kind: unknown value \"SPAN_KIND_BOGUS\" for enum "
               "opentelemetry.proto.trace.v1.Span.SpanKind"},
        {AG_SIGNAL_TRACES, "{'resourceSpans':[{'scopeSpans':[{'spans':[{'kind':2.5}]}]}]}",
         SPAN0 ".kind: expected an integer in the int32 range, got 2.5"},
        {AG_SIGNAL_TRACES, "{'resourceSpans':[{'scopeSpans':[{'spans':[{'flags':-1}]}]}]}",
         SPAN0 ".flags: expected an integer in the uint32 range, got -1"},
        {AG_SIGNAL_TRACES, "{'resourceSpans':[{'scopeSpans':[{'spans':[{'flags':4294967296}]}]}]}",
         SPAN0 ".flags: expected an integer in the uint32 range, got 4294967296"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'droppedLinksCount':[1]}]}]}]}",
         SPAN0 ".droppedLinksCount: expected an integer (a number or a decimal string), got array"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'startTimeUnixNano':'-1'}]}]}]}",
         SPAN0 ".startTimeUnixNano: expected an integer in the uint64 range, got \"-1\""},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'startTimeUnixNano':true}]}]}]}",
         SPAN0 ".startTimeUnixNano: expected an integer (a number or a decimal string), got "
               "boolean"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'endTimeUnixNano':'1.5'}]}]}]}",
         SPAN0 ".endTimeUnixNano: expected an integer, got \"1.5\""},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'intValue':'12a'}}]}]}]}]}",
         SPAN0 ".attributes[0].value.intValue: expected an integer, got \"12a\""},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'intValue':'+5'}}]}]}]}]}",
         SPAN0 ".attributes[0].value.intValue: expected an integer, got \"+5\""},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'intValue':'9223372036854775808'}}]}]}]}]}",
         SPAN0 ".attributes[0].value.intValue: expected an integer in the int64 range, got "
               "\"9223372036854775808\""},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'boolValue':'true'}}]}]}]}]}",
         SPAN0 ".attributes[0].value.boolValue: expected true or false, got string"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'doubleValue':'inf'}}]}]}]}]}",
         SPAN0 ".attributes[0].value.doubleValue: expected a number, got \"inf\""},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'doubleValue':'1e999'}}]}]}]}]}",
         SPAN0 ".attributes[0].value.doubleValue: number out of range: \"1e999\""},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'doubleValue':{}}}]}]}]}]}",
         SPAN0 ".attributes[0].value.doubleValue: expected a number, got object"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'arrayValue':{'values':[1]}}}]}]}]}]}",
         SPAN0 ".attributes[0].value.arrayValue.values[0]: expected an object, got number"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'bytesValue':'ab$d'}}]}]}]}]}",
         SPAN0 ".attributes[0].value.bytesValue: expected base64, got an invalid character at "
               "offset 2"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'bytesValue':'abcde'}}]}]}]}]}",
         SPAN0 ".attributes[0].value.bytesValue: expected base64, got a string of the wrong "
               "length (5 characters)"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'bytesValue':'QQ='}}]}]}]}]}",
         SPAN0 ".attributes[0].value.bytesValue: expected base64, got a string of the wrong "
               "length (3 characters)"},
        {AG_SIGNAL_TRACES,
         "{'resourceSpans':[{'scopeSpans':[{'spans':[{'attributes':[{'key':'a',"
         "'value':{'bytesValue':false}}]}]}]}]}",
         SPAN0 ".attributes[0].value.bytesValue: expected a base64 string, got boolean"},
        {AG_SIGNAL_LOGS,
         "{'resource_logs':[{'scope_logs':[{'log_records':[{'severity_number':'BAD'}]}]}]}",
         "resource_logs[0].scope_logs[0].log_records[0].severity_number: unknown value \"BAD\" "
         "for enum opentelemetry.proto.logs.v1.SeverityNumber"},
        {AG_SIGNAL_METRICS,
         "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'sum':{'isMonotonic':1}}]}]}]}",
         "resourceMetrics[0].scopeMetrics[0].metrics[0].sum.isMonotonic: expected true or false, "
         "got number"},
        {AG_SIGNAL_METRICS,
         "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'histogram':{'dataPoints':"
         "[{'bucketCounts':[1,'x']}]}}]}]}]}",
         "resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0].bucketCounts[1]: "
         "expected an integer, got \"x\""},
        {AG_SIGNAL_METRICS,
         "{'resourceMetrics':[{'scopeMetrics':[{'metrics':[{'exponentialHistogram':{'dataPoints':"
         "[{'scale':2147483648}]}}]}]}]}",
         "resourceMetrics[0].scopeMetrics[0].metrics[0].exponentialHistogram.dataPoints[0].scale: "
         "expected an integer in the int32 range, got 2147483648"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        const char *got = decode_err(c[i].sig, c[i].json, AG_EPROTO);
        if (got == NULL || strcmp(got, c[i].msg) != 0) {
            printf("# case %zu: got \"%s\"\n#   want \"%s\"\n", i, got ? got : "(decoded)",
                   c[i].msg);
        }
        ASSERT_STREQ(got, c[i].msg);
    }
}

static void test_err_invalid_json(void)
{
    const char *e = decode_err(AG_SIGNAL_TRACES, "{'resourceSpans': [}", AG_EPROTO);
    ASSERT_STRCONTAINS(e, "invalid JSON at line 1, column ");
    e = decode_err(AG_SIGNAL_TRACES, "{'a':1,\n'b':}", AG_EPROTO);
    ASSERT_STRCONTAINS(e, "invalid JSON at line 2, column ");
    ASSERT_STRCONTAINS(decode_err(AG_SIGNAL_LOGS, "", AG_EPROTO), "invalid JSON");
    ASSERT_STRCONTAINS(decode_err(AG_SIGNAL_LOGS, "{} x", AG_EPROTO), "invalid JSON");
    ASSERT_STRCONTAINS(decode_err(AG_SIGNAL_LOGS, "{'a':'\\u0000'}", AG_EPROTO), "invalid JSON");
    ASSERT_STRCONTAINS(decode_err(AG_SIGNAL_LOGS, "{'a':'\xff'}", AG_EPROTO), "invalid JSON");
    ASSERT_STRCONTAINS(decode_err(AG_SIGNAL_LOGS, "{'a':'\\ud800'}", AG_EPROTO), "invalid JSON");
    /* An integer past int64 is no longer a JSON error (test_big_integer_numbers); the quoting
     * retry must not hide a real syntax error after it. */
    ASSERT_STRCONTAINS(decode_err(AG_SIGNAL_METRICS, "{'x':18446744073709551615,}", AG_EPROTO),
                       "invalid JSON");
}

static void test_err_top_level(void)
{
    ASSERT_STREQ(decode_err(AG_SIGNAL_TRACES, "[]", AG_EPROTO),
                 "expected a JSON object at the top level, got array");
    ASSERT_STREQ(decode_err(AG_SIGNAL_TRACES, "[{'resourceSpans':[]}]", AG_EPROTO),
                 "expected a JSON object at the top level, got array");
    ASSERT_STREQ(decode_err(AG_SIGNAL_METRICS, "'x'", AG_EPROTO),
                 "expected a JSON object at the top level, got string");
    ASSERT_STREQ(decode_err(AG_SIGNAL_LOGS, "42", AG_EPROTO),
                 "expected a JSON object at the top level, got number");
    ASSERT_STREQ(decode_err(AG_SIGNAL_LOGS, "null", AG_EPROTO),
                 "expected a JSON object at the top level, got null");
}

/* A log whose body is |levels| AnyValues nested through arrayValue, around |innermost|. */
static char *nested_body(int levels, const char *innermost)
{
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    int rc = ag_buf_adds(&b, "{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'body':");
    for (int i = 0; i < levels && rc == 0; i++) {
        rc = ag_buf_adds(&b, "{'arrayValue':{'values':[");
    }
    rc = rc ? rc : ag_buf_adds(&b, innermost);
    for (int i = 0; i < levels && rc == 0; i++) {
        rc = ag_buf_adds(&b, "]}}");
    }
    rc = rc ? rc : ag_buf_adds(&b, "}]}]}]}");
    return rc == 0 ? (char *)ag_buf_steal(&b, NULL) : NULL;
}

static void test_depth_limit(void)
{
    /*
     * The body AnyValue is at depth 8 (root, resourceLogs, [0], scopeLogs, [0], logRecords, [0],
     * body); each level adds arrayValue, values and the element: 3. With 82 levels the innermost
     * AnyValue is at 254, its arrayValue at 255 and its values array at 256: the deepest allowed.
     */
    char *ok = nested_body(82, "{'arrayValue':{'values':[]}}");
    char *deep = nested_body(83, "{'intValue':1}");
    ProtobufCMessage *m = NULL;
    int rc_ok = ok ? decode_q(AG_SIGNAL_LOGS, ok, &m) : AG_ENOMEM;
    int rt = rc_ok == 0 ? round_trip(AG_SIGNAL_LOGS, m) : -1;
    const char *e = deep ? decode_err(AG_SIGNAL_LOGS, deep, AG_EPROTO) : NULL;
    ag_free(ok);
    ag_free(deep);
    ASSERT_OK(rc_ok);
    ASSERT_OK(rt);
    /* The path is too long to quote whole: its start and end remain, with the reason. */
    ASSERT(strncmp(e, "resourceLogs[0].scopeLogs[0].logRecords[0].body.arrayValue.values[0].", 69)
           == 0);
    ASSERT_STRCONTAINS(e, "...");
    ASSERT_STRCONTAINS(e, ".values[0]: nested deeper than 256 levels");

    /* Far deeper than the limit; past 2048 levels jansson itself refuses the text. */
    char *huge = nested_body(600, "{}");
    e = huge ? decode_err(AG_SIGNAL_LOGS, huge, AG_EPROTO) : NULL;
    ASSERT_STRCONTAINS(e, "nested deeper than 256 levels");
    ag_free(huge);
    huge = nested_body(1000, "{}");
    e = huge ? decode_err(AG_SIGNAL_LOGS, huge, AG_EPROTO) : NULL;
    ag_free(huge);
    ASSERT_STRCONTAINS(e, "invalid JSON");
}

static void test_arena_cap(void)
{
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    decode_cap = 2048;
    int rc = decode_q(AG_SIGNAL_TRACES, trace_json, &m);
    decode_cap = 0;
    ASSERT_EQ(rc, AG_ETOOBIG);
    ASSERT_NULL(m);
    ASSERT_STREQ(err, "the decoded request is larger than the memory allowed for one request");
}

/* ---- round trips ----------------------------------------------------------------------------- */

static void test_round_trip_traces(void)
{
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_TRACES, trace_json, &m));
    ASSERT_OK(round_trip(AG_SIGNAL_TRACES, m));
}

static void test_round_trip_metrics(void)
{
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_METRICS, metrics_json, &m));
    ASSERT_OK(round_trip(AG_SIGNAL_METRICS, m));
}

static void test_round_trip_logs(void)
{
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_LOGS, logs_json, &m));
    ASSERT_OK(round_trip(AG_SIGNAL_LOGS, m));
}

/* ---- exact encodings of hand-built messages ---------------------------------------------------
 */

static struct ag_buf enc_buf; /* freed by the next encode() or by test_cleanup */

static const char *encode(const ProtobufCMessage *m)
{
    ag_buf_cleanup(&enc_buf);
    ag_buf_init(&enc_buf, 1 << 20);
    return ag_otlp_json_encode(m, &enc_buf) == 0 ? ag_buf_str(&enc_buf) : NULL;
}

static void test_encode_trace_exact(void)
{
    static uint8_t tid[16];
    static uint8_t sid[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
    static uint8_t raw[3] = {0x00, 0xff, 0x10};
    pb_any svc = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_kv rkv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv *rkvs[] = {&rkv};
    pb_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    pb_scope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    pb_any vi = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_any vd = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_any vb = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_any vx = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_any vz = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_kv ki = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv kd = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv kb = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv kx = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv ke = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv kz = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv *attrs[] = {&ki, &kd, &kb, &kx, &ke, &kz};
    pb_event ev = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    pb_event *evs[] = {&ev};
    pb_link ln = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    pb_link *lns[] = {&ln};
    pb_status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    pb_span span = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    pb_span *spans[] = {&span};
    pb_sspans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    pb_sspans *sss[] = {&ss};
    pb_rspans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    pb_rspans *rss[] = {&rs};
    trace_req req = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;

    for (int i = 0; i < 16; i++) {
        tid[i] = (uint8_t)(i + 1);
    }
    svc.value_case = ANY(STRING_VALUE);
    svc.string_value = "svc";
    rkv.key = "service.name";
    rkv.value = &svc;
    res.n_attributes = 1;
    res.attributes = rkvs;
    scope.name = "lib";
    vi.value_case = ANY(INT_VALUE);
    vi.int_value = -5;
    vd.value_case = ANY(DOUBLE_VALUE);
    vd.double_value = 0.5;
    vb.value_case = ANY(BOOL_VALUE);
    vb.bool_value = 0;
    vx.value_case = ANY(BYTES_VALUE);
    vx.bytes_value.len = 3;
    vx.bytes_value.data = raw;
    ki.key = "i";
    ki.value = &vi;
    kd.key = "d";
    kd.value = &vd;
    kb.key = "b";
    kb.value = &vb;
    kx.key = "x";
    kx.value = &vx;
    ke.key = "e";
    kz.key = "z";
    kz.value = &vz;
    ev.time_unix_nano = 5;
    ev.name = "ev";
    ln.trace_id.len = 16;
    ln.trace_id.data = tid;
    ln.span_id.len = 8;
    ln.span_id.data = sid;
    ln.flags = 256;
    ln.dropped_attributes_count = 1;
    st.code = 2;
    span.trace_id.len = 16;
    span.trace_id.data = tid;
    span.span_id.len = 8;
    span.span_id.data = sid;
    span.name = "op \"q\"";
    span.kind = 2;
    span.start_time_unix_nano = 1000000000000000001u;
    span.end_time_unix_nano = UINT64_MAX;
    span.n_attributes = 6;
    span.attributes = attrs;
    span.n_events = 1;
    span.events = evs;
    span.n_links = 1;
    span.links = lns;
    span.dropped_links_count = 3;
    span.status = &st;
    span.flags = 257;
    ss.scope = &scope;
    ss.n_spans = 1;
    ss.spans = spans;
    ss.schema_url = "s";
    rs.resource = &res;
    rs.n_scope_spans = 1;
    rs.scope_spans = sss;
    req.n_resource_spans = 1;
    req.resource_spans = rss;

    ASSERT_STREQ(
        encode(&req.base),
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
        "{\"stringValue\":\"svc\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"lib\"},\"spans\":[{"
        "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"a1a2a3a4a5a6a7a8\","
        "\"name\":\"op \\\"q\\\"\",\"kind\":2,\"startTimeUnixNano\":\"1000000000000000001\","
        "\"endTimeUnixNano\":\"18446744073709551615\",\"attributes\":["
        "{\"key\":\"i\",\"value\":{\"intValue\":\"-5\"}},"
        "{\"key\":\"d\",\"value\":{\"doubleValue\":0.5}},"
        "{\"key\":\"b\",\"value\":{\"boolValue\":false}},"
        "{\"key\":\"x\",\"value\":{\"bytesValue\":\"AP8Q\"}},"
        "{\"key\":\"e\"},{\"key\":\"z\",\"value\":{}}],"
        "\"events\":[{\"timeUnixNano\":\"5\",\"name\":\"ev\"}],"
        "\"links\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":"
        "\"a1a2a3a4a5a6a7a8\",\"droppedAttributesCount\":1,\"flags\":256}],"
        "\"droppedLinksCount\":3,\"status\":{\"code\":2},\"flags\":257}],\"schemaUrl\":\"s\"}]}]}");
    ASSERT_OK(round_trip(AG_SIGNAL_TRACES, &req.base));
}

static void test_encode_metrics_exact(void)
{
    static uint64_t hcounts[] = {1, 2};
    static double bounds[] = {1.5};
    static uint64_t pcounts[] = {4, 0, 5};
    pb_hdp hdp = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__INIT;
    pb_hdp *hdps[] = {&hdp};
    Opentelemetry__Proto__Metrics__V1__Histogram hist =
        OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM__INIT;
    pb_buckets pos =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT;
    pb_buckets neg =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__BUCKETS__INIT;
    pb_edp edp = OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__INIT;
    pb_edp *edps[] = {&edp};
    Opentelemetry__Proto__Metrics__V1__ExponentialHistogram ehist =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM__INIT;
    pb_ndp n1 = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    pb_ndp n2 = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    pb_ndp n3 = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
    pb_ndp *ndps[] = {&n1, &n2, &n3};
    Opentelemetry__Proto__Metrics__V1__Gauge gauge = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
    pb_quantile q1 = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__VALUE_AT_QUANTILE__INIT;
    pb_quantile q2 = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__VALUE_AT_QUANTILE__INIT;
    pb_quantile *qs[] = {&q1, &q2};
    pb_sdp sdp = OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY_DATA_POINT__INIT;
    pb_sdp *sdps[] = {&sdp};
    Opentelemetry__Proto__Metrics__V1__Summary summary =
        OPENTELEMETRY__PROTO__METRICS__V1__SUMMARY__INIT;
    pb_metric mh = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    pb_metric me = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    pb_metric mg = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    pb_metric ms = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
    pb_metric *metrics[] = {&mh, &me, &mg, &ms};
    pb_smetrics sm = OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
    pb_smetrics *sms[] = {&sm};
    pb_rmetrics rm = OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
    pb_rmetrics *rms[] = {&rm};
    metrics_req req =
        OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;

    hdp.count = 3;
    hdp.sum_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
    hdp.sum = 0;
    hdp.n_bucket_counts = 2;
    hdp.bucket_counts = hcounts;
    hdp.n_explicit_bounds = 1;
    hdp.explicit_bounds = bounds;
    hdp.max_present_case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
    hdp.max = 2.25;
    hdp.flags = 1;
    hist.n_data_points = 1;
    hist.data_points = hdps;
    hist.aggregation_temporality = 2;
    mh.name = "h";
    mh.unit = "ms";
    mh.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
    mh.histogram = &hist;

    pos.offset = -2;
    pos.n_bucket_counts = 3;
    pos.bucket_counts = pcounts;
    edp.scale = -3;
    edp.zero_count = 1;
    edp.positive = &pos;
    edp.negative = &neg;
    edp.zero_threshold = 0.001;
    edp.min_present_case =
        OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
    edp.min = -1;
    ehist.n_data_points = 1;
    ehist.data_points = edps;
    ehist.aggregation_temporality = 1;
    me.name = "e";
    me.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    me.exponential_histogram = &ehist;

    n1.time_unix_nano = 7;
    n1.value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
    n1.as_int = INT64_MIN;
    n2.value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    n2.as_double = NAN;
    n3.value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
    n3.as_double = 0;
    gauge.n_data_points = 3;
    gauge.data_points = ndps;
    mg.name = "g";
    mg.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
    mg.gauge = &gauge;

    q1.quantile = 0;
    q1.value = 1;
    q2.quantile = 1;
    q2.value = 2.5;
    sdp.count = 2;
    sdp.sum = 3.5;
    sdp.n_quantile_values = 2;
    sdp.quantile_values = qs;
    summary.n_data_points = 1;
    summary.data_points = sdps;
    ms.name = "s";
    ms.data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
    ms.summary = &summary;

    sm.n_metrics = 4;
    sm.metrics = metrics;
    rm.n_scope_metrics = 1;
    rm.scope_metrics = sms;
    req.n_resource_metrics = 1;
    req.resource_metrics = rms;

    ASSERT_STREQ(
        encode(&req.base),
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"h\",\"unit\":\"ms\",\"histogram\":{\"dataPoints\":[{\"count\":\"3\","
        "\"sum\":0,\"bucketCounts\":[\"1\",\"2\"],\"explicitBounds\":[1.5],\"flags\":1,"
        "\"max\":2.25}],\"aggregationTemporality\":2}},"
        "{\"name\":\"e\",\"exponentialHistogram\":{\"dataPoints\":[{\"scale\":-3,"
        "\"zeroCount\":\"1\",\"positive\":{\"offset\":-2,\"bucketCounts\":[\"4\",\"0\",\"5\"]},"
        "\"negative\":{},\"min\":-1,\"zeroThreshold\":0.001}],\"aggregationTemporality\":1}},"
        "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"7\","
        "\"asInt\":\"-9223372036854775808\"},{\"asDouble\":\"NaN\"},{\"asDouble\":0}]}},"
        "{\"name\":\"s\",\"summary\":{\"dataPoints\":[{\"count\":\"2\",\"sum\":3.5,"
        "\"quantileValues\":[{\"value\":1},{\"quantile\":1,\"value\":2.5}]}]}}"
        "]}]}]}");
    ASSERT_OK(round_trip(AG_SIGNAL_METRICS, &req.base));
}

static void test_encode_logs_exact(void)
{
    static uint8_t tid[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                              0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
    static uint8_t sid[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};
    pb_any one = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_any es = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_any *items[] = {&one, &es};
    Opentelemetry__Proto__Common__V1__ArrayValue arr =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    pb_any av = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_kv kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    pb_kv *kvs[] = {&kv};
    Opentelemetry__Proto__Common__V1__KeyValueList kvl =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    pb_any body = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    pb_log rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    pb_log *recs[] = {&rec};
    pb_slogs sl = OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
    pb_slogs *sls[] = {&sl};
    pb_rlogs rl = OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
    pb_rlogs *rls[] = {&rl};
    logs_req req = OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;

    one.value_case = ANY(INT_VALUE);
    one.int_value = 1;
    es.value_case = ANY(STRING_VALUE);
    es.string_value = "";
    arr.n_values = 2;
    arr.values = items;
    av.value_case = ANY(ARRAY_VALUE);
    av.array_value = &arr;
    kv.key = "k";
    kv.value = &av;
    kvl.n_values = 1;
    kvl.values = kvs;
    body.value_case = ANY(KVLIST_VALUE);
    body.kvlist_value = &kvl;
    rec.time_unix_nano = 1;
    rec.observed_time_unix_nano = 2;
    rec.severity_number = 13;
    rec.severity_text = "WARN";
    rec.body = &body;
    rec.flags = 1;
    rec.trace_id.len = 16;
    rec.trace_id.data = tid;
    rec.span_id.len = 8;
    rec.span_id.data = sid;
    rec.event_name = "e\xff";
    sl.n_log_records = 1;
    sl.log_records = recs;
    rl.n_scope_logs = 1;
    rl.scope_logs = sls;
    req.n_resource_logs = 1;
    req.resource_logs = rls;

    /* The invalid UTF-8 byte of the event name becomes U+FFFD. */
    ASSERT_STREQ(encode(&req.base),
                 "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"1\","
                 "\"severityNumber\":13,\"severityText\":\"WARN\",\"body\":{\"kvlistValue\":"
                 "{\"values\":[{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":["
                 "{\"intValue\":\"1\"},{\"stringValue\":\"\"}]}}}]}},\"flags\":1,"
                 "\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
                 "\"spanId\":\"b7ad6b7169203331\",\"observedTimeUnixNano\":\"2\","
                 "\"eventName\":\"e\xef\xbf\xbd\"}]}]}]}");
    rec.event_name = "e";
    ASSERT_OK(round_trip(AG_SIGNAL_LOGS, &req.base));
}

static void test_encode_defaults_omitted(void)
{
    trace_req req = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    pb_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    pb_span span = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    pb_rspans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    pb_rspans *rss[] = {&rs};
    ASSERT_STREQ(encode(&req.base), "{}");
    ASSERT_STREQ(encode(&span.base), "{}");
    /* A present sub-message is written even when empty: it is not the default (absent). */
    rs.resource = &res;
    req.n_resource_spans = 1;
    req.resource_spans = rss;
    ASSERT_STREQ(encode(&req.base), "{\"resourceSpans\":[{\"resource\":{}}]}");
    /* A oneof string set to "" is written; set to protobuf-c's default pointer it is not set. */
    pb_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = ANY(STRING_VALUE);
    v.string_value = "";
    ASSERT_STREQ(encode(&v.base), "{\"stringValue\":\"\"}");
    v.string_value = (char *)protobuf_c_empty_string;
    ASSERT_STREQ(encode(&v.base), "{}");
    v.value_case = ANY(INT_VALUE);
    v.int_value = 0;
    ASSERT_STREQ(encode(&v.base), "{\"intValue\":\"0\"}");
}

static void test_encode_errors(void)
{
    struct ag_buf b;
    ProtobufCMessage *m = NULL;
    ASSERT_OK(decode_q(AG_SIGNAL_TRACES, trace_json, &m));
    ag_buf_init(&b, 64);
    ASSERT_EQ(ag_otlp_json_encode(m, &b), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&b));
    /* Encoding appends to what the buffer holds. */
    trace_req empty =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    ASSERT_OK(ag_buf_adds(&b, "line1\n"));
    ASSERT_OK(ag_otlp_json_encode(&empty.base, &b));
    ASSERT_STREQ(ag_buf_str(&b), "line1\n{}");
    ag_buf_cleanup(&b);

    /*
     * AnyValues nested through arrays: each level but the innermost takes 3 JSON levels
     * (AnyValue, arrayValue, values), so 87 AnyValues need 259 levels, more than the writer's
     * 256, and 86 need exactly 256.
     */
    pb_any anys[87];
    Opentelemetry__Proto__Common__V1__ArrayValue arrs[87];
    pb_any *ptrs[87];
    for (int i = 0; i < 87; i++) {
        opentelemetry__proto__common__v1__any_value__init(&anys[i]);
        opentelemetry__proto__common__v1__array_value__init(&arrs[i]);
        ptrs[i] = &anys[i];
    }
    for (int i = 0; i < 86; i++) {
        anys[i].value_case = ANY(ARRAY_VALUE);
        anys[i].array_value = &arrs[i];
        arrs[i].n_values = 1;
        arrs[i].values = &ptrs[i + 1];
    }
    ag_buf_init(&b, 1 << 20);
    ASSERT_OK(ag_buf_adds(&b, "earlier line\n"));
    ASSERT_EQ(ag_otlp_json_encode(&anys[0].base, &b), AG_EINVAL);
    /* Like any failed append, the failure freed the buffer. */
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_UEQ(b.len, 0);
    ag_buf_init(&b, 1 << 20);
    int rc = ag_otlp_json_encode(&anys[1].base, &b);
    size_t opens = 0;
    for (const char *c = ag_buf_str(&b); *c != '\0'; c++) {
        opens += *c == '{' || *c == '[';
    }
    ag_buf_cleanup(&b);
    ASSERT_OK(rc);
    ASSERT_UEQ(opens, 256);
}

/*
 * With -Dfailmalloc=true: fail the Nth allocation (jansson's included, it allocates through
 * ag_malloc) for every N until decode and encode succeed; each failure must be a clean
 * AG_ENOMEM with a message (the sanitizer builds check that nothing leaks). Without failmalloc
 * the first attempt simply succeeds.
 */
static void test_failmalloc(void)
{
    static const char *const texts[] = {trace_json, metrics_json, logs_json};
    for (int t = 0; t < 3; t++) {
        size_t len = strlen(texts[t]);
        char *json = ag_malloc(len + 1);
        ASSERT_NOT_NULL(json);
        for (size_t i = 0; i <= len; i++) {
            json[i] = texts[t][i] == '\'' ? '"' : texts[t][i];
        }
        int done = 0, rc = 0;
        for (long n = 0; n < 100000 && !done; n++) {
            struct ag_arena *a = ag_arena_new(0);
            struct ag_buf b;
            ProtobufCMessage *m = NULL;
            if (a == NULL) {
                break;
            }
            ag_buf_init(&b, 1 << 20);
            err[0] = '\0';
            ag_mem_fail_after(n);
            rc = ag_otlp_json_decode((enum ag_signal)t, (const uint8_t *)json, len, a, &m, err,
                                     sizeof(err));
            if (rc == 0) {
                rc = ag_otlp_json_encode(m, &b);
                done = rc == 0;
            } else if (rc != AG_ENOMEM || m != NULL || err[0] == '\0') {
                rc = -100;
            }
            ag_mem_fail_after(-1);
            ag_buf_cleanup(&b);
            ag_arena_free(a);
            if (rc != 0 && rc != AG_ENOMEM) {
                break;
            }
        }
        ag_free(json);
        ASSERT_OK(rc);
        ASSERT(done);
    }
}

static void test_cleanup(void)
{
    ag_arena_free(arena);
    arena = NULL;
    ag_buf_cleanup(&enc_buf);
    ASSERT_NULL(ag_buf_ptr(&enc_buf));
}

AG_TEST_MAIN(AG_TEST_CASE(test_big_integer_numbers), AG_TEST_CASE(test_trace_fields), AG_TEST_CASE(test_any_value_kinds),
             AG_TEST_CASE(test_metrics_number), AG_TEST_CASE(test_metrics_histograms),
             AG_TEST_CASE(test_logs_fields), AG_TEST_CASE(test_number_forms),
             AG_TEST_CASE(test_nulls_are_defaults), AG_TEST_CASE(test_unknown_fields_ignored),
             AG_TEST_CASE(test_decode_any_message), AG_TEST_CASE(test_matches_protobuf_unpack),
             AG_TEST_CASE(test_err_hex), AG_TEST_CASE(test_err_id_length),
             AG_TEST_CASE(test_err_types), AG_TEST_CASE(test_err_invalid_json),
             AG_TEST_CASE(test_err_top_level), AG_TEST_CASE(test_depth_limit),
             AG_TEST_CASE(test_arena_cap), AG_TEST_CASE(test_round_trip_traces),
             AG_TEST_CASE(test_round_trip_metrics), AG_TEST_CASE(test_round_trip_logs),
             AG_TEST_CASE(test_encode_trace_exact), AG_TEST_CASE(test_encode_metrics_exact),
             AG_TEST_CASE(test_encode_logs_exact), AG_TEST_CASE(test_encode_defaults_omitted),
             AG_TEST_CASE(test_encode_errors), AG_TEST_CASE(test_failmalloc),
             AG_TEST_CASE(test_cleanup))
