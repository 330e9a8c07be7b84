/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prints batches to stderr at the chosen verbosity, for looking at what an agent receives.
 */
#include "ex_debug.h"
#include "ag_buf.h"
#include "ag_json.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_otlp_json.h"
#include "ag_time.h"
#include "ag_xray_udp.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

struct ex_debug {
    char *id;
    enum ag_debug_verbosity verbosity;
    uint64_t xray_pending;    /* X-Ray documents not yet reported (basic) */
    uint64_t xray_report_ns; /* when they were last reported */
};

static void hex(char *out, const ProtobufCBinaryData *b)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = b->len > 16 ? 16 : b->len;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b->data[i] >> 4];
        out[2 * i + 1] = digits[b->data[i] & 15];
    }
    out[2 * n] = '\0';
}

static void print_line(struct ag_buf *b)
{
    if (ag_buf_addc(b, '\n') == 0) {
        ssize_t w = write(STDERR_FILENO, ag_buf_ptr(b), b->len);
        (void)w;
    }
    ag_buf_reset(b);
}

static void normal_traces(struct ex_debug *d, const ProtobufCMessage *msg, struct ag_buf *b)
{
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
        (const void *)msg;
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
                req->resource_spans[r]->scope_spans[s];
            for (size_t i = 0; i < ss->n_spans; i++) {
                char tid[33], sid[17];
                hex(tid, &ss->spans[i]->trace_id);
                hex(sid, &ss->spans[i]->span_id);
                if (ag_buf_printf(b, "%s: span %s trace_id=%s span_id=%s kind=%d status=%d", d->id,
                                  ss->spans[i]->name, tid, sid, ss->spans[i]->kind,
                                  ss->spans[i]->status ? ss->spans[i]->status->code : 0) == 0) {
                    print_line(b);
                }
            }
        }
    }
}

static void normal_metrics(struct ex_debug *d, const ProtobufCMessage *msg, struct ag_buf *b)
{
    const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req =
        (const void *)msg;
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        for (size_t s = 0; s < req->resource_metrics[r]->n_scope_metrics; s++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
                req->resource_metrics[r]->scope_metrics[s];
            for (size_t i = 0; i < sm->n_metrics; i++) {
                if (ag_buf_printf(b, "%s: metric %s unit=%s type=%d", d->id, sm->metrics[i]->name,
                                  sm->metrics[i]->unit, sm->metrics[i]->data_case) == 0) {
                    print_line(b);
                }
            }
        }
    }
}

static void normal_logs(struct ex_debug *d, const ProtobufCMessage *msg, struct ag_buf *b)
{
    const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
        (const void *)msg;
    for (size_t r = 0; r < req->n_resource_logs; r++) {
        for (size_t s = 0; s < req->resource_logs[r]->n_scope_logs; s++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl =
                req->resource_logs[r]->scope_logs[s];
            for (size_t i = 0; i < sl->n_log_records; i++) {
                const Opentelemetry__Proto__Logs__V1__LogRecord *lr = sl->log_records[i];
                int rc = ag_buf_printf(b, "%s: log severity=%d body=", d->id, lr->severity_number);
                if (rc == 0 && lr->body != NULL) {
                    rc = ag_otlp_json_encode(&lr->body->base, b);
                }
                if (rc == 0) {
                    print_line(b);
                }
            }
        }
    }
}

static int debug_consume(void *self, struct ag_payload *p)
{
    struct ex_debug *d = self;
    struct ag_buf b;
    ag_buf_init(&b, 64 * 1024 * 1024);
    if (d->verbosity == AG_DEBUG_BASIC) {
        if (ag_buf_printf(&b, "%s: %s: %zu %s", d->id, ag_signal_name(p->signal), p->items,
                          ag_signal_items(p->signal)) == 0) {
            print_line(&b);
        }
    } else if (d->verbosity == AG_DEBUG_NORMAL) {
        if (p->signal == AG_SIGNAL_TRACES) {
            normal_traces(d, p->msg, &b);
        } else if (p->signal == AG_SIGNAL_METRICS) {
            normal_metrics(d, p->msg, &b);
        } else {
            normal_logs(d, p->msg, &b);
        }
    } else if (ag_buf_printf(&b, "%s: ", d->id) == 0 && ag_otlp_json_encode(p->msg, &b) == 0) {
        print_line(&b);
    }
    ag_buf_cleanup(&b);
    return 0;
}

static void report_xray(struct ex_debug *d)
{
    if (d->xray_pending > 0) {
        char line[256];
        int n = snprintf(line, sizeof(line), "%s: xray: %llu documents\n", d->id,
                         (unsigned long long)d->xray_pending);
        ssize_t w = write(STDERR_FILENO, line, n > 0 && (size_t)n < sizeof(line) ? (size_t)n : 0);
        (void)w;
        d->xray_pending = 0;
    }
    d->xray_report_ns = ag_time_mono_ns();
}

/*
 * X-Ray documents come one per datagram, so basic does not print one line each: it counts
 * them and prints the count at most once a second (and at flush). normal prints one line per
 * document; detailed the document itself, on one line.
 */
static int debug_consume_xray(void *self, const uint8_t *doc, size_t len)
{
    struct ex_debug *d = self;
    struct ag_buf b;
    if (d->verbosity == AG_DEBUG_BASIC) {
        d->xray_pending++;
        if (ag_time_mono_ns() - d->xray_report_ns >= 1000000000ull) {
            report_xray(d);
        }
        return 0;
    }
    ag_buf_init(&b, 2 * AG_XRAY_MAX_DOC);
    if (d->verbosity == AG_DEBUG_NORMAL) {
        if (ag_buf_printf(&b, "%s: xray document, %zu bytes", d->id, len) == 0) {
            print_line(&b);
        }
    } else if (ag_buf_printf(&b, "%s: xray: ", d->id) == 0) {
        uint8_t *p = ag_buf_reserve(&b, len);
        if (p != NULL) {
            ag_xray_udp_flatten(p, doc, len);
            ag_buf_commit(&b, len);
            print_line(&b);
        }
    }
    ag_buf_cleanup(&b);
    return 0;
}

static void debug_flush(void *self)
{
    report_xray(self);
}

static void debug_destroy(void *self)
{
    struct ex_debug *d = self;
    if (d != NULL) {
        report_xray(d);
        ag_free(d->id);
        ag_free(d);
    }
}

static int debug_create(const struct ag_component_config *cfg, const struct ag_component_env *env,
                        void **out, char *err, size_t errlen)
{
    (void)env;
    (void)err;
    (void)errlen;
    struct ex_debug *d = ag_calloc(1, sizeof(*d));
    if (d == NULL || (d->id = ag_strdup(cfg->id)) == NULL) {
        ag_free(d);
        return AG_ENOMEM;
    }
    d->verbosity = cfg->u.debug.verbosity;
    *out = d;
    return 0;
}

const struct ag_exporter_ops ex_debug_ops = {
    .type = "debug",
    .create = debug_create,
    .consume = debug_consume,
    .flush = debug_flush,
    .destroy = debug_destroy,
    .consume_xray = debug_consume_xray,
};
