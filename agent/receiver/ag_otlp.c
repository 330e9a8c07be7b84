/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The transport-independent half of the OTLP receiver: decoding request bodies into the
 * per-request arena, the checks protobuf-c cannot make, item counts, and the answers both
 * transports send (Export*ServiceResponse with partial_success, google.rpc.Status).
 */
#include "ag_otlp.h"
#include "ag_json.h"
#include "ag_otlp_json.h"
#include "ag_otlp_pb.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest trace_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest metrics_req;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest logs_req;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;

const char *ag_signal_name(enum ag_signal signal)
{
    static const char *names[] = {"traces", "metrics", "logs"};
    return (unsigned)signal < AG_SIGNAL_COUNT ? names[signal] : "unknown";
}

const char *ag_signal_items(enum ag_signal signal)
{
    static const char *names[] = {"spans", "data points", "log records"};
    return (unsigned)signal < AG_SIGNAL_COUNT ? names[signal] : "items";
}

const ProtobufCMessageDescriptor *ag_otlp_request_descriptor(enum ag_signal signal)
{
    switch (signal) {
    case AG_SIGNAL_TRACES:
        return &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
    case AG_SIGNAL_METRICS:
        return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    case AG_SIGNAL_LOGS:
        return &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor;
    }
    return NULL;
}

/* Reads a varint at *pos (< end). Returns 0, or -1 when truncated or longer than 10 bytes. */
static int read_varint(const uint8_t *buf, size_t *pos, size_t end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*pos >= end) {
            return -1;
        }
        uint8_t b = buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/*
 * The depth check runs over every request before it is unpacked, so it must not pay for a
 * descriptor search per field: the message types reachable from the three requests are indexed
 * once into nodes that say, for each field number under 32, whether it holds a message and of
 * which node. Types outside the table, or message fields numbered 32 and up, take the generic
 * lookup.
 */
#define DEPTH_NODES   64
#define DEPTH_FAST_ID 32

struct depth_node {
    const ProtobufCMessageDescriptor *desc;
    uint32_t msg_mask;            /* bit n: field n holds a message */
    uint8_t child[DEPTH_FAST_ID]; /* node of that message's type */
    uint8_t slow;                 /* has message fields numbered >= DEPTH_FAST_ID */
};

static struct depth_node depth_nodes[DEPTH_NODES];
static unsigned depth_n_nodes;
static pthread_once_t depth_once = PTHREAD_ONCE_INIT;

/* Returns the node of |d|, adding it; DEPTH_NODES when the table is full. */
static unsigned depth_node_of(const ProtobufCMessageDescriptor *d)
{
    for (unsigned i = 0; i < depth_n_nodes; i++) {
        if (depth_nodes[i].desc == d) {
            return i;
        }
    }
    if (depth_n_nodes == DEPTH_NODES) {
        return DEPTH_NODES;
    }
    depth_nodes[depth_n_nodes].desc = d;
    return depth_n_nodes++;
}

static void depth_build(void)
{
    for (int sig = 0; sig < AG_SIGNAL_COUNT; sig++) {
        depth_node_of(ag_otlp_request_descriptor((enum ag_signal)sig));
    }
    /* Breadth first: depth_n_nodes grows while the loop runs. */
    for (unsigned i = 0; i < depth_n_nodes; i++) {
        const ProtobufCMessageDescriptor *d = depth_nodes[i].desc;
        for (unsigned f = 0; f < d->n_fields; f++) {
            const ProtobufCFieldDescriptor *fd = &d->fields[f];
            if (fd->type != PROTOBUF_C_TYPE_MESSAGE) {
                continue;
            }
            unsigned c = depth_node_of(fd->descriptor);
            if (fd->id >= DEPTH_FAST_ID || c == DEPTH_NODES) {
                depth_nodes[i].slow = 1;
                continue;
            }
            depth_nodes[i].msg_mask |= 1u << fd->id;
            depth_nodes[i].child[fd->id] = (uint8_t)c;
        }
    }
}

/* Returns the message type of field |id| of the frame's type, or NULL if it is no message. */
static const ProtobufCMessageDescriptor *depth_child(const ProtobufCMessageDescriptor *desc,
                                                     unsigned node, uint64_t id,
                                                     unsigned *child_node)
{
    *child_node = DEPTH_NODES;
    if (node < DEPTH_NODES && id < DEPTH_FAST_ID) {
        if (!(depth_nodes[node].msg_mask & (1u << id))) {
            return NULL;
        }
        *child_node = depth_nodes[node].child[id];
        return depth_nodes[*child_node].desc;
    }
    if (node < DEPTH_NODES && !depth_nodes[node].slow) {
        return NULL;
    }
    const ProtobufCFieldDescriptor *f =
        id <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)id) : NULL;
    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE) {
        return NULL;
    }
    for (unsigned i = 0; i < depth_n_nodes; i++) {
        if (depth_nodes[i].desc == f->descriptor) {
            *child_node = i;
        }
    }
    return f->descriptor;
}

int ag_otlp_check_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                        unsigned max_depth, char *err, size_t errlen)
{
    struct frame {
        const ProtobufCMessageDescriptor *desc;
        unsigned node;
        size_t end;
    } stack[AG_OTLP_MAX_DEPTH + 1];
    unsigned depth = 0;
    size_t pos = 0;
    pthread_once(&depth_once, depth_build);
    if (max_depth > AG_OTLP_MAX_DEPTH) {
        max_depth = AG_OTLP_MAX_DEPTH;
    }
    stack[0].desc = desc;
    stack[0].node = DEPTH_NODES;
    for (unsigned i = 0; i < depth_n_nodes; i++) {
        if (depth_nodes[i].desc == desc) {
            stack[0].node = i;
        }
    }
    stack[0].end = len;
    for (;;) {
        while (pos >= stack[depth].end) {
            if (depth == 0) {
                return 0;
            }
            depth--;
        }
        uint64_t key, n;
        size_t end = stack[depth].end;
        if (read_varint(buf, &pos, end, &key) != 0) {
            return 0; /* malformed: the decoder reports it */
        }
        if ((key >> 3) == 0) {
            /* protobuf-c keeps a field number 0 written as a long varint as an unknown field,
             * then cannot read back its own encoding of it: refuse it here. */
            snprintf(err, errlen, "field number 0 in a %s: field numbers start at 1",
                     stack[depth].desc->short_name);
            return AG_EPROTO;
        }
        switch (key & 7) {
        case 0:
            if (read_varint(buf, &pos, end, &n) != 0) {
                return 0;
            }
            break;
        case 1:
            pos += 8;
            break;
        case 5:
            pos += 4;
            break;
        case 2: {
            if (read_varint(buf, &pos, end, &n) != 0 || n > end - pos) {
                return 0;
            }
            unsigned child_node;
            const ProtobufCMessageDescriptor *child =
                depth_child(stack[depth].desc, stack[depth].node, key >> 3, &child_node);
            if (child == NULL) {
                pos += n;
                break;
            }
            if (depth + 2 > max_depth) {
                snprintf(err, errlen,
                         "the request nests messages deeper than %u levels (at a "
                         "%s)",
                         max_depth, child->short_name);
                return AG_EPROTO;
            }
            depth++;
            stack[depth].desc = child;
            stack[depth].node = child_node;
            stack[depth].end = pos + n;
            break;
        }
        default:
            return 0; /* groups and invalid wire types: the decoder rejects them */
        }
    }
}

static const ProtobufCMessageDescriptor *response_descriptor(enum ag_signal signal)
{
    switch (signal) {
    case AG_SIGNAL_TRACES:
        return &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor;
    case AG_SIGNAL_METRICS:
        return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor;
    case AG_SIGNAL_LOGS:
        return &opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor;
    }
    return NULL;
}

int ag_otlp_decode(enum ag_signal signal, enum ag_otlp_encoding enc, const uint8_t *buf, size_t len,
                   struct ag_arena *arena, ProtobufCMessage **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (enc == AG_OTLP_JSON) {
        int rc = ag_otlp_json_decode(signal, buf, len, arena, out, err, errlen);
        if (rc != 0) {
            return rc;
        }
    } else {
        int rc = ag_otlp_pb_decode(signal, buf, len, arena, out, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    int rc = ag_otlp_validate(signal, *out, err, errlen);
    if (rc != 0) {
        *out = NULL;
    }
    return rc;
}

/* An id is valid when it has |want| bytes or none. */
static int id_ok(const ProtobufCBinaryData *id, size_t want)
{
    return id->len == 0 || id->len == want;
}

/*
 * The checks run on every item of every request, so they only compare; the path of the
 * offending field is formatted once, when a check fails.
 */
static int id_error(char *err, size_t errlen, const char *path, const char *field, size_t want,
                    const ProtobufCBinaryData *id, int optional)
{
    snprintf(err, errlen, "%s.%s: expected %zu bytes%s, got %zu", path, field, want,
             optional ? " or none" : "", id->len);
    return AG_EPROTO;
}

static int check_exemplars(Opentelemetry__Proto__Metrics__V1__Exemplar **ex, size_t n,
                           const char *path, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        int trace_ok = id_ok(&ex[i]->trace_id, 16);
        if (trace_ok && id_ok(&ex[i]->span_id, 8)) {
            continue;
        }
        char where[256];
        snprintf(where, sizeof(where), "%s.exemplars[%zu]", path, i);
        return trace_ok ? id_error(err, errlen, where, "spanId", 8, &ex[i]->span_id, 1)
                        : id_error(err, errlen, where, "traceId", 16, &ex[i]->trace_id, 1);
    }
    return 0;
}

static int validate_span(const Opentelemetry__Proto__Trace__V1__Span *sp, size_t r, size_t s,
                         size_t i, char *err, size_t errlen)
{
    char where[128];
    snprintf(where, sizeof(where), "resourceSpans[%zu].scopeSpans[%zu].spans[%zu]", r, s, i);
    if (sp->trace_id.len != 16) {
        return id_error(err, errlen, where, "traceId", 16, &sp->trace_id, 0);
    }
    if (sp->span_id.len != 8) {
        return id_error(err, errlen, where, "spanId", 8, &sp->span_id, 0);
    }
    if (!id_ok(&sp->parent_span_id, 8)) {
        return id_error(err, errlen, where, "parentSpanId", 8, &sp->parent_span_id, 1);
    }
    for (size_t l = 0; l < sp->n_links; l++) {
        char link[160];
        snprintf(link, sizeof(link), "%s.links[%zu]", where, l);
        if (!id_ok(&sp->links[l]->trace_id, 16)) {
            return id_error(err, errlen, link, "traceId", 16, &sp->links[l]->trace_id, 1);
        }
        if (!id_ok(&sp->links[l]->span_id, 8)) {
            return id_error(err, errlen, link, "spanId", 8, &sp->links[l]->span_id, 1);
        }
    }
    return AG_EPROTO; /* not reached for a span that failed no check */
}

static int span_ok(const Opentelemetry__Proto__Trace__V1__Span *sp)
{
    if (sp->trace_id.len != 16 || sp->span_id.len != 8 || !id_ok(&sp->parent_span_id, 8)) {
        return 0;
    }
    for (size_t l = 0; l < sp->n_links; l++) {
        if (!id_ok(&sp->links[l]->trace_id, 16) || !id_ok(&sp->links[l]->span_id, 8)) {
            return 0;
        }
    }
    return 1;
}

static int validate_traces(const trace_req *req, char *err, size_t errlen)
{
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
        for (size_t s = 0; s < rs->n_scope_spans; s++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
            for (size_t i = 0; i < ss->n_spans; i++) {
                if (!span_ok(ss->spans[i])) {
                    return validate_span(ss->spans[i], r, s, i, err, errlen);
                }
            }
        }
    }
    return 0;
}

static int exemplars_ok(Opentelemetry__Proto__Metrics__V1__Exemplar **ex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!id_ok(&ex[i]->trace_id, 16) || !id_ok(&ex[i]->span_id, 8)) {
            return 0;
        }
    }
    return 1;
}

/* Formats the path of data point |i| of metric |k| into |path| (only when reporting). */
static void point_path(char *path, size_t len, size_t r, size_t s, size_t k, size_t i)
{
    snprintf(path, len, "resourceMetrics[%zu].scopeMetrics[%zu].metrics[%zu].dataPoints[%zu]", r, s,
             k, i);
}

static int validate_metric(const pb_metric *m, size_t r, size_t s, size_t k, char *err,
                           size_t errlen)
{
    char path[224];
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM: {
        int gauge = m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        size_t n = gauge ? m->gauge->n_data_points : m->sum->n_data_points;
        Opentelemetry__Proto__Metrics__V1__NumberDataPoint **dp =
            gauge ? m->gauge->data_points : m->sum->data_points;
        for (size_t i = 0; i < n; i++) {
            if (!exemplars_ok(dp[i]->exemplars, dp[i]->n_exemplars)) {
                point_path(path, sizeof(path), r, s, k, i);
                return check_exemplars(dp[i]->exemplars, dp[i]->n_exemplars, path, err, errlen);
            }
        }
        break;
    }
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        for (size_t i = 0; i < m->histogram->n_data_points; i++) {
            Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *dp =
                m->histogram->data_points[i];
            if (dp->n_bucket_counts != 0 && dp->n_bucket_counts != dp->n_explicit_bounds + 1) {
                point_path(path, sizeof(path), r, s, k, i);
                snprintf(err, errlen,
                         "%s.bucketCounts: expected %zu counts (explicitBounds + 1), "
                         "got %zu",
                         path, dp->n_explicit_bounds + 1, dp->n_bucket_counts);
                return AG_EPROTO;
            }
            if (!exemplars_ok(dp->exemplars, dp->n_exemplars)) {
                point_path(path, sizeof(path), r, s, k, i);
                return check_exemplars(dp->exemplars, dp->n_exemplars, path, err, errlen);
            }
        }
        break;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        for (size_t i = 0; i < m->exponential_histogram->n_data_points; i++) {
            Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint *dp =
                m->exponential_histogram->data_points[i];
            if (!exemplars_ok(dp->exemplars, dp->n_exemplars)) {
                point_path(path, sizeof(path), r, s, k, i);
                return check_exemplars(dp->exemplars, dp->n_exemplars, path, err, errlen);
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

static int validate_metrics(const metrics_req *req, char *err, size_t errlen)
{
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[r];
        for (size_t s = 0; s < rm->n_scope_metrics; s++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[s];
            for (size_t i = 0; i < sm->n_metrics; i++) {
                if (validate_metric(sm->metrics[i], r, s, i, err, errlen) != 0) {
                    return AG_EPROTO;
                }
            }
        }
    }
    return 0;
}

static int validate_logs(const logs_req *req, char *err, size_t errlen)
{
    for (size_t r = 0; r < req->n_resource_logs; r++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[r];
        for (size_t s = 0; s < rl->n_scope_logs; s++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[s];
            for (size_t i = 0; i < sl->n_log_records; i++) {
                const Opentelemetry__Proto__Logs__V1__LogRecord *lr = sl->log_records[i];
                int trace_ok = id_ok(&lr->trace_id, 16);
                if (trace_ok && id_ok(&lr->span_id, 8)) {
                    continue;
                }
                char where[128];
                snprintf(where, sizeof(where), "resourceLogs[%zu].scopeLogs[%zu].logRecords[%zu]",
                         r, s, i);
                return trace_ok ? id_error(err, errlen, where, "spanId", 8, &lr->span_id, 1)
                                : id_error(err, errlen, where, "traceId", 16, &lr->trace_id, 1);
            }
        }
    }
    return 0;
}

int ag_otlp_validate(enum ag_signal signal, const ProtobufCMessage *req, char *err, size_t errlen)
{
    switch (signal) {
    case AG_SIGNAL_TRACES:
        return validate_traces((const trace_req *)req, err, errlen);
    case AG_SIGNAL_METRICS:
        return validate_metrics((const metrics_req *)req, err, errlen);
    case AG_SIGNAL_LOGS:
        return validate_logs((const logs_req *)req, err, errlen);
    }
    return AG_EINVAL;
}

size_t ag_otlp_metric_points(const ProtobufCMessage *metric)
{
    const pb_metric *m = (const pb_metric *)metric;
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return m->gauge->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return m->histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return m->exponential_histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return m->summary->n_data_points;
    default:
        return 0;
    }
}

size_t ag_otlp_count_items(enum ag_signal signal, const ProtobufCMessage *msg)
{
    size_t n = 0;
    if (signal == AG_SIGNAL_TRACES) {
        const trace_req *req = (const trace_req *)msg;
        for (size_t r = 0; r < req->n_resource_spans; r++) {
            for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++) {
                n += req->resource_spans[r]->scope_spans[s]->n_spans;
            }
        }
    } else if (signal == AG_SIGNAL_METRICS) {
        const metrics_req *req = (const metrics_req *)msg;
        for (size_t r = 0; r < req->n_resource_metrics; r++) {
            const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[r];
            for (size_t s = 0; s < rm->n_scope_metrics; s++) {
                for (size_t i = 0; i < rm->scope_metrics[s]->n_metrics; i++) {
                    n += ag_otlp_metric_points(&rm->scope_metrics[s]->metrics[i]->base);
                }
            }
        }
    } else {
        const logs_req *req = (const logs_req *)msg;
        for (size_t r = 0; r < req->n_resource_logs; r++) {
            for (size_t s = 0; s < req->resource_logs[r]->n_scope_logs; s++) {
                n += req->resource_logs[r]->scope_logs[s]->n_log_records;
            }
        }
    }
    return n;
}

static int pack_into(const ProtobufCMessage *msg, struct ag_buf *out)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = ag_buf_reserve(out, n);
    if (p == NULL) {
        return n > out->cap ? AG_ETOOBIG : AG_ENOMEM;
    }
    protobuf_c_message_pack(msg, p);
    ag_buf_commit(out, n);
    return 0;
}

int ag_otlp_response_encode(enum ag_signal signal, enum ag_otlp_encoding enc,
                            const struct ag_otlp_result *res, struct ag_buf *out)
{
    int partial = res->rejected > 0 || res->message[0] != '\0';
    if (enc == AG_OTLP_JSON) {
        static const char *keys[] = {"rejectedSpans", "rejectedDataPoints", "rejectedLogRecords"};
        struct ag_json w;
        ag_json_init(&w, out);
        ag_json_obj_open(&w);
        if (partial) {
            char num[24];
            snprintf(num, sizeof(num), "%lld", (long long)res->rejected);
            ag_json_key(&w, "partialSuccess");
            ag_json_obj_open(&w);
            if (res->rejected > 0) {
                ag_json_key(&w, keys[signal]);
                ag_json_str(&w, num);
            }
            if (res->message[0] != '\0') {
                ag_json_key(&w, "errorMessage");
                ag_json_str(&w, res->message);
            }
            ag_json_obj_close(&w);
        }
        ag_json_obj_close(&w);
        return ag_json_finish(&w);
    }
    if (!partial) {
        return 0; /* the collector answers an empty protobuf body */
    }
    /* The three Export*ServiceResponse messages have one shape: partial_success (1) holding
     * rejected_<items> (1, int64) and error_message (2, string). Fill it through the
     * descriptors instead of once per signal. */
    union {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse t;
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse m;
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse l;
    } resp;
    union {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess t;
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess m;
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess l;
    } ps;
    const ProtobufCMessageDescriptor *rdesc = response_descriptor(signal);
    if (rdesc == NULL) {
        return AG_EINVAL;
    }
    const ProtobufCFieldDescriptor *psf = protobuf_c_message_descriptor_get_field(rdesc, 1);
    const ProtobufCMessageDescriptor *pdesc = psf->descriptor;
    protobuf_c_message_init(rdesc, &resp);
    protobuf_c_message_init(pdesc, &ps);
    *(int64_t *)((char *)&ps + protobuf_c_message_descriptor_get_field(pdesc, 1)->offset) =
        res->rejected;
    *(const char **)((char *)&ps + protobuf_c_message_descriptor_get_field(pdesc, 2)->offset) =
        res->message;
    *(void **)((char *)&resp + psf->offset) = &ps;
    return pack_into((const ProtobufCMessage *)&resp, out);
}

int ag_otlp_status_encode(enum ag_otlp_encoding enc, int code, const char *message,
                          uint32_t retry_after_s, struct ag_buf *out)
{
    if (enc == AG_OTLP_JSON) {
        struct ag_json w;
        char delay[24];
        ag_json_init(&w, out);
        ag_json_obj_open(&w);
        ag_json_key(&w, "code");
        ag_json_int(&w, code);
        ag_json_key(&w, "message");
        ag_json_str(&w, message ? message : "");
        if (retry_after_s > 0) {
            snprintf(delay, sizeof(delay), "%us", retry_after_s);
            ag_json_key(&w, "details");
            ag_json_arr_open(&w);
            ag_json_obj_open(&w);
            ag_json_key(&w, "@type");
            ag_json_str(&w, "type.googleapis.com/google.rpc.RetryInfo");
            ag_json_key(&w, "retryDelay");
            ag_json_str(&w, delay);
            ag_json_obj_close(&w);
            ag_json_arr_close(&w);
        }
        ag_json_obj_close(&w);
        return ag_json_finish(&w);
    }
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Google__Protobuf__Any *details[1] = {&any};
    Google__Rpc__RetryInfo ri = GOOGLE__RPC__RETRY_INFO__INIT;
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    uint8_t ri_bytes[32];
    st.code = code;
    st.message = (char *)(message ? message : "");
    if (retry_after_s > 0) {
        d.seconds = retry_after_s;
        ri.retry_delay = &d;
        size_t n = google__rpc__retry_info__pack(&ri, ri_bytes);
        any.type_url = "type.googleapis.com/google.rpc.RetryInfo";
        any.value.data = ri_bytes;
        any.value.len = n;
        st.n_details = 1;
        st.details = details;
    }
    return pack_into(&st.base, out);
}

int ag_otlp_status_grpc(enum ag_otlp_status st)
{
    switch (st) {
    case AG_OTLP_OK:
        return AG_GRPC_OK;
    case AG_OTLP_INVALID:
        return AG_GRPC_INVALID_ARGUMENT;
    case AG_OTLP_TOO_LARGE:
        return AG_GRPC_RESOURCE_EXHAUSTED;
    case AG_OTLP_UNAVAILABLE:
        return AG_GRPC_UNAVAILABLE;
    case AG_OTLP_INTERNAL:
        return AG_GRPC_INTERNAL;
    }
    return AG_GRPC_UNKNOWN;
}

int ag_otlp_status_http(enum ag_otlp_status st)
{
    switch (st) {
    case AG_OTLP_OK:
        return 200;
    case AG_OTLP_INVALID:
        return 400;
    case AG_OTLP_TOO_LARGE:
        return 413;
    case AG_OTLP_UNAVAILABLE:
        return 503;
    case AG_OTLP_INTERNAL:
        return 500;
    }
    return 500;
}
