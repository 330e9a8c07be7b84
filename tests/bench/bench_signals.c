/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds the benchmark's metrics and logs requests with the generated protobuf-c structures and
 * packs them, as bench_spans.c does for spans: one scratch allocation per request holds every
 * structure, and strings that vary per item are written into it, so nothing outlives the pack.
 */
#include "bench_signals.h"
#include "bench_int.h"

#include <stdio.h>
#include <string.h>

#include "ag_mem.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#define BENCH_MAX_ITEMS   1000000
#define POINTS_PER_METRIC 10
#define POINT_ATTRS       3
#define LOG_ATTRS         4
#define HIST_BOUNDS       10

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue av_t;

static const char *const routes[5] = {"/api/v1/cart", "/api/v1/orders/{id}", "/api/v1/users/{id}",
                                      "/health", "/api/v1/search"};
static const char *const methods[2] = {"GET", "POST"};
static const double bounds[HIST_BOUNDS] = {5, 10, 25, 50, 75, 100, 250, 500, 1000, 2500};

/* The resource and scope every request carries. */
struct head {
    Opentelemetry__Proto__Resource__V1__Resource resource;
    kv_t rkv[BENCH_RESOURCE_ATTRS];
    kv_t *rkvp[BENCH_RESOURCE_ATTRS];
    av_t rav[BENCH_RESOURCE_ATTRS];
    Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
};

static void fill_head(struct head *h, const char *scope)
{
    opentelemetry__proto__resource__v1__resource__init(&h->resource);
    for (size_t i = 0; i < BENCH_RESOURCE_ATTRS; i++) {
        bench_set_str(&h->rkv[i], &h->rav[i], bench_realistic_resource[i][0],
                      bench_realistic_resource[i][1]);
        h->rkvp[i] = &h->rkv[i];
    }
    h->resource.attributes = h->rkvp;
    h->resource.n_attributes = BENCH_RESOURCE_ATTRS;
    opentelemetry__proto__common__v1__instrumentation_scope__init(&h->scope);
    h->scope.name = (char *)scope;
    h->scope.version = "1.4.0";
}

/* Packs |msg| into a new buffer. */
static int pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len_out)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = ag_malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        return AG_ENOMEM;
    }
    *len_out = protobuf_c_message_pack(msg, buf);
    *out = buf;
    return 0;
}

/* ---- metrics ---------------------------------------------------------------------------------- */

struct point_scratch {
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint num;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint hist;
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint *nump;
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *histp;
    kv_t kv[POINT_ATTRS];
    kv_t *kvp[POINT_ATTRS];
    av_t av[POINT_ATTRS];
    uint64_t buckets[HIST_BOUNDS + 1];
};

struct metric_scratch {
    Opentelemetry__Proto__Metrics__V1__Metric metric;
    Opentelemetry__Proto__Metrics__V1__Metric *metricp;
    Opentelemetry__Proto__Metrics__V1__Sum sum;
    Opentelemetry__Proto__Metrics__V1__Gauge gauge;
    Opentelemetry__Proto__Metrics__V1__Histogram hist;
    char name[48];
};

int bench_metrics_encode(size_t npoints, uint64_t seq, uint64_t base_ns, uint8_t **out,
                         size_t *len_out)
{
    *out = NULL;
    *len_out = 0;
    if (npoints == 0 || npoints > BENCH_MAX_ITEMS) {
        return AG_EINVAL;
    }
    size_t nmetrics = (npoints + POINTS_PER_METRIC - 1) / POINTS_PER_METRIC;
    struct head *h = ag_calloc(1, sizeof(*h));
    struct metric_scratch *ms = ag_calloc(nmetrics, sizeof(*ms));
    struct point_scratch *ps = ag_calloc(npoints, sizeof(*ps));
    Opentelemetry__Proto__Metrics__V1__Metric **mp = ag_calloc(nmetrics, sizeof(*mp));
    Opentelemetry__Proto__Metrics__V1__NumberDataPoint **np = ag_calloc(npoints, sizeof(*np));
    Opentelemetry__Proto__Metrics__V1__HistogramDataPoint **hp = ag_calloc(npoints, sizeof(*hp));
    int rc = AG_ENOMEM;
    if (h == NULL || ms == NULL || ps == NULL || mp == NULL || np == NULL || hp == NULL) {
        goto out;
    }
    fill_head(h, "checkout-api.metrics");
    uint64_t start_ns = base_ns - 60ull * 1000000000ull;
    uint64_t now_ns = base_ns + seq * 1000000ull;
    for (size_t m = 0; m < nmetrics; m++) {
        struct metric_scratch *s = &ms[m];
        Opentelemetry__Proto__Metrics__V1__Metric *metric = &s->metric;
        size_t first = m * POINTS_PER_METRIC;
        size_t n = npoints - first < POINTS_PER_METRIC ? npoints - first : POINTS_PER_METRIC;
        opentelemetry__proto__metrics__v1__metric__init(metric);
        mp[m] = metric;
        for (size_t p = 0; p < n; p++) {
            size_t i = first + p;
            struct point_scratch *pt = &ps[i];
            for (size_t a = 0; a < POINT_ATTRS; a++) {
                pt->kvp[a] = &pt->kv[a];
            }
            bench_set_str(&pt->kv[0], &pt->av[0], "http.route", routes[p % 5]);
            bench_set_str(&pt->kv[1], &pt->av[1], "http.request.method", methods[p / 5 % 2]);
            bench_set_int(&pt->kv[2], &pt->av[2], "http.response.status_code",
                          p % 5 == 4 ? 500 : 200);
            uint64_t r = bench_mix64(seq * 1000003ULL + i);
            if (m % 3 == 2) {
                Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *d = &pt->hist;
                opentelemetry__proto__metrics__v1__histogram_data_point__init(d);
                d->attributes = pt->kvp;
                d->n_attributes = POINT_ATTRS;
                d->start_time_unix_nano = start_ns;
                d->time_unix_nano = now_ns;
                uint64_t count = 0;
                for (size_t b = 0; b <= HIST_BOUNDS; b++) {
                    pt->buckets[b] = (seq + 1) * (1 + ((r >> (b * 4)) & 15));
                    count += pt->buckets[b];
                }
                d->bucket_counts = pt->buckets;
                d->n_bucket_counts = HIST_BOUNDS + 1;
                d->explicit_bounds = (double *)bounds;
                d->n_explicit_bounds = HIST_BOUNDS;
                d->count = count;
                d->sum_present_case =
                    OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM;
                d->sum = (double)count * 42.5;
                d->min_present_case =
                    OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN_PRESENT_MIN;
                d->min = 1.25;
                d->max_present_case =
                    OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX_PRESENT_MAX;
                d->max = 2400.0 + (double)(r & 63);
                hp[i] = d;
            } else {
                Opentelemetry__Proto__Metrics__V1__NumberDataPoint *d = &pt->num;
                opentelemetry__proto__metrics__v1__number_data_point__init(d);
                d->attributes = pt->kvp;
                d->n_attributes = POINT_ATTRS;
                d->start_time_unix_nano = start_ns;
                d->time_unix_nano = now_ns;
                if (m % 3 == 0) {
                    d->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
                    d->as_int = (int64_t)((seq + 1) * 1000 + (r & 1023));
                } else {
                    d->value_case =
                        OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
                    d->as_double = (double)(r & 0xffff) / 16.0;
                }
                np[i] = d;
            }
        }
        if (m % 3 == 0) {
            snprintf(s->name, sizeof(s->name), "http.server.requests.%zu", m / 3);
            opentelemetry__proto__metrics__v1__sum__init(&s->sum);
            s->sum.data_points = &np[first];
            s->sum.n_data_points = n;
            s->sum.is_monotonic = 1;
            s->sum.aggregation_temporality =
                OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
            metric->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
            metric->sum = &s->sum;
            metric->unit = "1";
        } else if (m % 3 == 1) {
            snprintf(s->name, sizeof(s->name), "http.server.active_requests.%zu", m / 3);
            opentelemetry__proto__metrics__v1__gauge__init(&s->gauge);
            s->gauge.data_points = &np[first];
            s->gauge.n_data_points = n;
            metric->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
            metric->gauge = &s->gauge;
            metric->unit = "1";
        } else {
            snprintf(s->name, sizeof(s->name), "http.server.request.duration.%zu", m / 3);
            opentelemetry__proto__metrics__v1__histogram__init(&s->hist);
            s->hist.data_points = &hp[first];
            s->hist.n_data_points = n;
            s->hist.aggregation_temporality =
                OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
            metric->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
            metric->histogram = &s->hist;
            metric->unit = "ms";
        }
        metric->name = s->name;
    }
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm;
    Opentelemetry__Proto__Metrics__V1__ScopeMetrics *smp = &sm;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm;
    Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rmp = &rm;
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req;
    opentelemetry__proto__metrics__v1__scope_metrics__init(&sm);
    sm.scope = &h->scope;
    sm.metrics = mp;
    sm.n_metrics = nmetrics;
    opentelemetry__proto__metrics__v1__resource_metrics__init(&rm);
    rm.resource = &h->resource;
    rm.scope_metrics = &smp;
    rm.n_scope_metrics = 1;
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(&req);
    req.resource_metrics = &rmp;
    req.n_resource_metrics = 1;
    rc = pack(&req.base, out, len_out);
out:
    ag_free(h);
    ag_free(ms);
    ag_free(ps);
    ag_free(mp);
    ag_free(np);
    ag_free(hp);
    return rc;
}

/* ---- logs ------------------------------------------------------------------------------------- */

struct record_scratch {
    Opentelemetry__Proto__Logs__V1__LogRecord rec;
    av_t body;
    kv_t kv[LOG_ATTRS];
    kv_t *kvp[LOG_ATTRS];
    av_t av[LOG_ATTRS];
    uint8_t trace_id[16];
    uint8_t span_id[8];
    char text[256];
    char user[24];
};

int bench_logs_encode(size_t nrecords, uint64_t seq, uint64_t base_ns, uint8_t **out,
                      size_t *len_out)
{
    static const char *const funcs[4] = {"CartService.AddItem", "OrderService.Place",
                                         "UserService.Get", "SearchService.Query"};
    *out = NULL;
    *len_out = 0;
    if (nrecords == 0 || nrecords > BENCH_MAX_ITEMS) {
        return AG_EINVAL;
    }
    struct head *h = ag_calloc(1, sizeof(*h));
    struct record_scratch *rs = ag_calloc(nrecords, sizeof(*rs));
    Opentelemetry__Proto__Logs__V1__LogRecord **rp = ag_calloc(nrecords, sizeof(*rp));
    int rc = AG_ENOMEM;
    if (h == NULL || rs == NULL || rp == NULL) {
        goto out;
    }
    fill_head(h, "checkout-api.logs");
    for (size_t i = 0; i < nrecords; i++) {
        struct record_scratch *s = &rs[i];
        Opentelemetry__Proto__Logs__V1__LogRecord *rec = &s->rec;
        uint64_t r = bench_mix64(seq * 1000003ULL + i);
        uint64_t r2 = bench_mix64(r);
        opentelemetry__proto__logs__v1__log_record__init(rec);
        rp[i] = rec;
        rec->time_unix_nano = base_ns + seq * 1000000ull + i * 1000ull;
        rec->observed_time_unix_nano = rec->time_unix_nano + 250000ull;
        unsigned sev = (unsigned)(r % 20);
        if (sev < 17) {
            rec->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO;
            rec->severity_text = "INFO";
        } else if (sev < 19) {
            rec->severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN;
            rec->severity_text = "WARN";
        } else {
            rec->severity_number =
                OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_ERROR;
            rec->severity_text = "ERROR";
        }
        snprintf(s->text, sizeof(s->text),
                 "request completed: method=%s route=%s status=%d duration_ms=%u bytes=%u "
                 "cart_items=%u region=us-east-1 az=us-east-1%c request_id=%016llx "
                 "upstream=inventory-svc cache=%s",
                 methods[r & 1], routes[(r >> 1) % 5], sev == 19 ? 500 : 200,
                 (unsigned)((r >> 8) & 1023), (unsigned)((r >> 20) & 65535),
                 (unsigned)((r >> 36) & 15), (char)('a' + (r >> 40) % 3),
                 (unsigned long long)r2, (r >> 44) & 1 ? "hit" : "miss");
        opentelemetry__proto__common__v1__any_value__init(&s->body);
        s->body.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        s->body.string_value = s->text;
        rec->body = &s->body;
        bench_put_be64(s->trace_id, r);
        bench_put_be64(s->trace_id + 8, r2);
        bench_put_be64(s->span_id, bench_mix64(r2));
        rec->trace_id.data = s->trace_id;
        rec->trace_id.len = sizeof(s->trace_id);
        rec->span_id.data = s->span_id;
        rec->span_id.len = sizeof(s->span_id);
        rec->flags = 1;
        snprintf(s->user, sizeof(s->user), "user-%u", (unsigned)(r2 % 100000));
        for (size_t a = 0; a < LOG_ATTRS; a++) {
            s->kvp[a] = &s->kv[a];
        }
        bench_set_str(&s->kv[0], &s->av[0], "code.function", funcs[(r >> 50) & 3]);
        bench_set_int(&s->kv[1], &s->av[1], "thread.id", (int64_t)((r >> 52) & 63));
        bench_set_str(&s->kv[2], &s->av[2], "http.route", routes[(r >> 1) % 5]);
        bench_set_str(&s->kv[3], &s->av[3], "user.id", s->user);
        rec->attributes = s->kvp;
        rec->n_attributes = LOG_ATTRS;
    }
    Opentelemetry__Proto__Logs__V1__ScopeLogs sl;
    Opentelemetry__Proto__Logs__V1__ScopeLogs *slp = &sl;
    Opentelemetry__Proto__Logs__V1__ResourceLogs rl;
    Opentelemetry__Proto__Logs__V1__ResourceLogs *rlp = &rl;
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest req;
    opentelemetry__proto__logs__v1__scope_logs__init(&sl);
    sl.scope = &h->scope;
    sl.log_records = rp;
    sl.n_log_records = nrecords;
    opentelemetry__proto__logs__v1__resource_logs__init(&rl);
    rl.resource = &h->resource;
    rl.scope_logs = &slp;
    rl.n_scope_logs = 1;
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(&req);
    req.resource_logs = &rlp;
    req.n_resource_logs = 1;
    rc = pack(&req.base, out, len_out);
out:
    ag_free(h);
    ag_free(rs);
    ag_free(rp);
    return rc;
}
