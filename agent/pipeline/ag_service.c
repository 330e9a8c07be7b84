/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds and runs what a config describes. Receivers decode each request once into a payload
 * and offer it to every pipeline of its signal that names the receiver; each pipeline runs its
 * own processor instances and fans out to shared exporter instances. Self-telemetry counters are
 * registered here, once, so the hot path only adds to them.
 */
#include "ag_service.h"
#include "ag_grpc.h"
#include "ag_http.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_time.h"
#include "ag_tls.h"
#include "ag_xray_server.h"
#include "slo_eval.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "config.h"

/* Without a memory_limiter the payloads in flight are still bounded: past this, refuse. */
#define SERVICE_MAX_IN_FLIGHT (512ull * 1024 * 1024)
/* A decoded request may take more memory than its wire form; this bounds the factor. */
#define DECODE_ARENA_FACTOR 24
#define DECODE_ARENA_MIN    (1024u * 1024)
#define RETRY_AFTER_S       1

enum { TRANSPORT_GRPC = 0, TRANSPORT_HTTP = 1, TRANSPORTS = 2 };
static const char *transport_names[] = {"grpc", "http"};

enum { OUT_ACCEPTED = 0, OUT_REFUSED = 1, OUT_INVALID = 2, OUTCOMES = 3 };
static const char *outcome_names[] = {"accepted", "refused", "invalid"};

struct pipeline;

struct exporter {
    const struct ag_component_config *cfg;
    const struct ag_exporter_ops *ops;
    void *self;
    struct ag_metric *sent[AG_SIGNAL_COUNT];
    struct ag_metric *failed[AG_SIGNAL_COUNT];
};

/* The fan-out at the end of one pipeline. */
struct fanout {
    struct exporter **exporters;
    size_t n;
    enum ag_signal signal;
    /* Per exporter: a payload it refused for now (AG_EAGAIN) after another exporter of the
     * pipeline took it; offered again on |retry|. While one is held, the fan-out refuses new
     * payloads, so no exporter gets one twice and none misses one. */
    struct ag_payload **held;
    size_t n_held;
    struct event *retry;
};

struct pipeline {
    const struct ag_pipeline_config *cfg;
    struct ag_processor *procs;
    size_t n_procs;
    struct fanout fan;
    struct ag_consumer head;
};

struct otlp_receiver;

struct transport_sink {
    struct otlp_receiver *rcv;
    int transport;
    struct ag_metric *items[AG_SIGNAL_COUNT][OUTCOMES];
    struct ag_metric *requests[AG_SIGNAL_COUNT][OUTCOMES];
};

struct otlp_receiver;

/* One of the gRPC server's connection counters, read when /metrics is. */
struct conn_stat {
    const struct otlp_receiver *r;
    size_t off; /* in struct ag_grpc_counters */
};

/* The gRPC server's connection counters on /metrics: family, label and counter. */
static const struct {
    const char *family, *label;
    size_t off;
} conn_stat_defs[] = {
    {"otter_receiver_connections_total", "outcome=\"accepted\"",
     offsetof(struct ag_grpc_counters, conns_accepted)},
    {"otter_receiver_connections_total", "outcome=\"refused\"",
     offsetof(struct ag_grpc_counters, conns_refused)},
    {"otter_receiver_connections_closed_total", "reason=\"idle\"",
     offsetof(struct ag_grpc_counters, conns_idle_closed)},
    {"otter_receiver_connections_closed_total", "reason=\"max_connection_age\"",
     offsetof(struct ag_grpc_counters, conns_aged)},
    {"otter_receiver_connections_closed_total", "reason=\"max_connection_age_grace\"",
     offsetof(struct ag_grpc_counters, conns_age_forced)},
    {"otter_receiver_connections_closed_total", "reason=\"keepalive_timeout\"",
     offsetof(struct ag_grpc_counters, conns_keepalive_closed)},
    {"otter_receiver_connections_closed_total", "reason=\"too_many_pings\"",
     offsetof(struct ag_grpc_counters, conns_too_many_pings)},
    {"otter_receiver_connections_closed_total", "reason=\"protocol_error\"",
     offsetof(struct ag_grpc_counters, conns_protocol_error)},
};
#define CONN_STATS (sizeof(conn_stat_defs) / sizeof(conn_stat_defs[0]))

struct otlp_receiver {
    struct ag_service *svc;
    const struct ag_component_config *cfg;
    struct ag_http_receiver *http;
    struct ag_grpc_server *grpc;
    SSL_CTX *http_tls, *grpc_tls;
    struct transport_sink sinks[TRANSPORTS];
    struct pipeline **pipes[AG_SIGNAL_COUNT];
    size_t n_pipes[AG_SIGNAL_COUNT];
    struct conn_stat conn_stats[CONN_STATS];
};

/* One exporter an awsxray receiver hands documents to, through one pipeline. */
struct xray_target {
    struct exporter *e;
    const struct ag_pipeline_config *pipeline;
    struct ag_metric *dropped; /* reason unsupported_exporter (no consume_xray) or
                                  exporter_refused (it answered AG_EAGAIN) */
};

struct xray_receiver {
    struct ag_service *svc;
    const struct ag_component_config *cfg;
    struct ag_xray_server *srv;
    struct xray_target *targets;
    size_t n_targets;
    struct ag_metric *items[OUTCOMES];
    struct ag_metric *datagrams[OUTCOMES];
    struct ag_metric *kernel_dropped;
    uint64_t last_fail_log_ns; /* exporter failures: one log line per second at most */
    void *proxy;               /* proxy_server, from svc->xray_proxy; NULL when not started */
    struct proxy_stat *stats;  /* the two /metrics series of the proxy (relayed, failed) */
};

/* One of the proxy's counts on /metrics: |failed| picks which. */
struct proxy_stat {
    const struct xray_receiver *x;
    bool failed;
};

struct ag_service {
    const struct ag_config *cfg;
    struct event_base *base;
    struct otlp_receiver *receivers;
    size_t n_receivers;
    struct xray_receiver *xrays;
    size_t n_xrays;
    struct pipeline *pipelines;
    size_t n_pipelines;
    struct exporter *exporters;
    size_t n_exporters;
    struct evhttp *admin;
    struct evhttp *health;
    const struct ag_health_check_config *health_cfg;
    const struct ag_xray_proxy_ops *xray_proxy;
    int started;
    int draining;
    uint64_t start_ns;
};

/* ---- pipelines ------------------------------------------------------------------------------ */

#define FANOUT_RETRY_MS 50u

/* Offers |p| to exporter |i|. Returns 0 (taken, or failed for good: counted), or AG_EAGAIN. */
static int fanout_offer(struct fanout *f, size_t i, struct ag_payload *p)
{
    struct exporter *e = f->exporters[i];
    int rc = e->ops->consume(e->self, p);
    if (rc == 0) {
        ag_metric_add(e->sent[f->signal], p->items);
    } else if (rc != AG_EAGAIN) {
        ag_metric_add(e->failed[f->signal], p->items);
        ag_log_error(e->cfg->id, "failed to export %zu %s: %s", p->items,
                     ag_signal_items(f->signal), ag_strerror(rc));
        rc = 0;
    }
    return rc;
}

static void fanout_arm(struct fanout *f)
{
    struct timeval tv = {0, FANOUT_RETRY_MS * 1000};
    evtimer_add(f->retry, &tv);
}

/* Offers every held payload again; returns the number still held. */
static size_t fanout_offer_held(struct fanout *f)
{
    for (size_t i = 0; f->n_held > 0 && i < f->n; i++) {
        if (f->held[i] != NULL && fanout_offer(f, i, f->held[i]) == 0) {
            ag_payload_unref(f->held[i]);
            f->held[i] = NULL;
            f->n_held--;
        }
    }
    if (f->n_held > 0) {
        fanout_arm(f);
    }
    return f->n_held;
}

static void on_fanout_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fanout_offer_held(arg);
}

/* Every exporter takes |p|, or none does (AG_EAGAIN: the caller keeps it and offers it again).
 * When some took it and others refused it for now, it is held for those and 0 is returned. */
static int fanout_consume(void *self, struct ag_payload *p)
{
    struct fanout *f = self;
    if (f->n_held > 0 && fanout_offer_held(f) > 0) {
        return AG_EAGAIN;
    }
    size_t refused = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (fanout_offer(f, i, p) == AG_EAGAIN) {
            f->held[i] = p; /* marked; referenced below if another exporter took it */
            refused++;
        }
    }
    if (refused == 0) {
        return 0;
    }
    if (refused == f->n) {
        for (size_t i = 0; i < f->n; i++) {
            f->held[i] = NULL;
        }
        return AG_EAGAIN;
    }
    for (size_t i = 0; i < f->n; i++) {
        if (f->held[i] != NULL) {
            ag_payload_ref(p);
        }
    }
    f->n_held = refused;
    fanout_arm(f);
    return 0;
}

/* At shutdown: what an exporter still refuses is counted as failed for it. */
static void fanout_release(struct fanout *f, bool last_offer)
{
    if (f->n_held > 0 && last_offer) {
        fanout_offer_held(f);
    }
    for (size_t i = 0; f->held != NULL && i < f->n; i++) {
        if (f->held[i] != NULL && !last_offer) {
            struct exporter *e = f->exporters[i];
            ag_metric_add(e->failed[f->signal], f->held[i]->items);
            ag_log_error(e->cfg->id, "shutting down: %zu %s it still refuses are lost",
                         f->held[i]->items, ag_signal_items(f->signal));
            ag_payload_unref(f->held[i]);
            f->held[i] = NULL;
            f->n_held--;
        }
    }
}

static struct exporter *find_exporter(struct ag_service *svc, size_t comp)
{
    for (size_t i = 0; i < svc->n_exporters; i++) {
        if (svc->exporters[i].cfg == &svc->cfg->components[comp]) {
            return &svc->exporters[i];
        }
    }
    return NULL;
}

static int build_pipeline(struct ag_service *svc, struct pipeline *pl,
                          const struct ag_pipeline_config *pc, char *err, size_t errlen)
{
    pl->cfg = pc;
    pl->fan.signal = pc->signal;
    pl->fan.exporters = ag_calloc(pc->n_exporters, sizeof(*pl->fan.exporters));
    pl->fan.held = ag_calloc(pc->n_exporters ? pc->n_exporters : 1, sizeof(*pl->fan.held));
    pl->fan.retry = evtimer_new(svc->base, on_fanout_retry, &pl->fan);
    pl->procs = ag_calloc(pc->n_processors ? pc->n_processors : 1, sizeof(*pl->procs));
    if (pl->fan.exporters == NULL || pl->fan.held == NULL || pl->fan.retry == NULL ||
        pl->procs == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < pc->n_exporters; i++) {
        pl->fan.exporters[pl->fan.n++] = find_exporter(svc, pc->exporters[i]);
    }
    struct ag_consumer next = {fanout_consume, &pl->fan};
    /* Built back to front, so each processor knows the stage after it. */
    for (size_t k = pc->n_processors; k-- > 0;) {
        const struct ag_component_config *c = &svc->cfg->components[pc->processors[k]];
        struct ag_component_env env = {svc->base, c->id, pc->signal, next};
        struct ag_processor *proc = &pl->procs[k];
        char why[256] = "";
        int rc;
        switch (c->type) {
        case AG_COMP_BATCH:
            rc = ag_batch_new(&c->u.batch, &env, proc, why, sizeof(why));
            break;
        case AG_COMP_MEMORY_LIMITER:
            rc = ag_memory_limiter_new(&c->u.memory_limiter, &env, proc, why, sizeof(why));
            break;
        case AG_COMP_RESOURCE_DETECTION:
            rc = ag_resource_detection_new(&c->u.resource_detection, &env, proc, why, sizeof(why));
            break;
        case AG_COMP_RESOURCE:
            rc = ag_resource_new(&c->u.resource, &env, proc, why, sizeof(why));
            break;
        case AG_COMP_ATTRIBUTES:
            rc = ag_attributes_new(&c->u.attributes, &env, proc, why, sizeof(why));
            break;
        default:
            snprintf(why, sizeof(why), "not a processor");
            rc = AG_EINVAL;
        }
        if (rc != 0) {
            snprintf(err, errlen, "%s (in pipeline %s): %s", c->id, pc->id,
                     why[0] ? why : ag_strerror(rc));
            return rc;
        }
        pl->n_procs = pc->n_processors - k;
        next = proc->in;
    }
    /* n_procs counts the built tail; with all built, the array is complete and in order. */
    pl->n_procs = pc->n_processors;
    pl->head = next;
    return 0;
}

/* ---- the OTLP receiver's sink ------------------------------------------------------------- */

static void count(struct transport_sink *t, enum ag_signal s, int outcome, size_t items)
{
    ag_metric_add(t->requests[s][outcome], 1);
    ag_metric_add(t->items[s][outcome], items);
}

static void otlp_ingest(void *ctx, enum ag_signal signal, enum ag_otlp_encoding enc,
                        const uint8_t *body, size_t len, struct ag_otlp_result *res)
{
    struct transport_sink *t = ctx;
    struct otlp_receiver *r = t->rcv;
    struct ag_service *svc = r->svc;
    memset(res, 0, sizeof(*res));
    if (svc->draining) {
        res->status = AG_OTLP_UNAVAILABLE;
        res->retry_after_s = RETRY_AFTER_S;
        snprintf(res->message, sizeof(res->message), "otterd is shutting down");
        count(t, signal, OUT_REFUSED, 0);
        return;
    }
    if (r->n_pipes[signal] == 0) {
        res->status = AG_OTLP_INVALID;
        snprintf(res->message, sizeof(res->message), "no %s pipeline uses receiver %s",
                 ag_signal_name(signal), r->cfg->id);
        count(t, signal, OUT_INVALID, 0);
        return;
    }
    if (ag_payload_bytes_in_flight() > SERVICE_MAX_IN_FLIGHT) {
        res->status = AG_OTLP_UNAVAILABLE;
        res->retry_after_s = RETRY_AFTER_S;
        snprintf(res->message, sizeof(res->message),
                 "otterd holds too much data in flight; "
                 "retry later");
        count(t, signal, OUT_REFUSED, 0);
        return;
    }
    size_t cap = len > SIZE_MAX / DECODE_ARENA_FACTOR ? SIZE_MAX : len * DECODE_ARENA_FACTOR;
    struct ag_arena *arena = ag_arena_new(cap + DECODE_ARENA_MIN);
    if (arena == NULL) {
        res->status = AG_OTLP_UNAVAILABLE;
        res->retry_after_s = RETRY_AFTER_S;
        snprintf(res->message, sizeof(res->message), "out of memory");
        count(t, signal, OUT_REFUSED, 0);
        return;
    }
    ProtobufCMessage *msg = NULL;
    int rc =
        ag_otlp_decode(signal, enc, body, len, arena, &msg, res->message, sizeof(res->message));
    if (rc != 0) {
        ag_arena_free(arena);
        res->status = rc == AG_ETOOBIG  ? AG_OTLP_TOO_LARGE
                      : rc == AG_ENOMEM ? AG_OTLP_UNAVAILABLE
                                        : AG_OTLP_INVALID;
        if (rc == AG_ENOMEM) {
            res->retry_after_s = RETRY_AFTER_S;
        }
        count(t, signal, rc == AG_ENOMEM ? OUT_REFUSED : OUT_INVALID, 0);
        ag_log_debug(r->cfg->id, "rejected a %s %s request: %s", transport_names[t->transport],
                     ag_signal_name(signal), res->message);
        return;
    }
    size_t items = ag_otlp_count_items(signal, msg);
    if (items == 0) {
        /* An empty request is a success with nothing to do (OTLP 1.x). */
        ag_arena_free(arena);
        count(t, signal, OUT_ACCEPTED, 0);
        return;
    }
    struct ag_payload *p = ag_payload_new(signal, arena, msg, items);
    if (p == NULL) {
        res->status = AG_OTLP_UNAVAILABLE;
        res->retry_after_s = RETRY_AFTER_S;
        snprintf(res->message, sizeof(res->message), "out of memory");
        count(t, signal, OUT_REFUSED, items);
        return;
    }
    int refused = 0, failed = 0;
    for (size_t i = 0; i < r->n_pipes[signal]; i++) {
        struct pipeline *pl = r->pipes[signal][i];
        rc = pl->head.consume(pl->head.self, p);
        if (rc == AG_EAGAIN) {
            refused = 1;
        } else if (rc != 0) {
            failed = 1;
        }
    }
    ag_payload_unref(p);
    if (refused) {
        res->status = AG_OTLP_UNAVAILABLE;
        res->retry_after_s = RETRY_AFTER_S;
        snprintf(res->message, sizeof(res->message),
                 "data refused: memory limit reached; "
                 "retry later");
        count(t, signal, OUT_REFUSED, items);
    } else if (failed) {
        res->status = AG_OTLP_UNAVAILABLE;
        res->retry_after_s = RETRY_AFTER_S;
        snprintf(res->message, sizeof(res->message),
                 "a pipeline failed to take the data; "
                 "retry later");
        count(t, signal, OUT_REFUSED, items);
    } else {
        count(t, signal, OUT_ACCEPTED, items);
    }
}

static int register_receiver_metrics(struct otlp_receiver *r)
{
    for (int tr = 0; tr < TRANSPORTS; tr++) {
        struct transport_sink *t = &r->sinks[tr];
        t->rcv = r;
        t->transport = tr;
        for (int s = 0; s < AG_SIGNAL_COUNT; s++) {
            for (int o = 0; o < OUTCOMES; o++) {
                char labels[256];
                snprintf(labels, sizeof(labels),
                         "receiver=\"%s\",transport=\"%s\",signal=\"%s\",outcome=\"%s\"",
                         r->cfg->id, transport_names[tr], ag_signal_name((enum ag_signal)s),
                         outcome_names[o]);
                t->items[s][o] = ag_metrics_counter(
                    "otter_receiver_items_total",
                    "Items (spans, data points, log records) received, by outcome.", labels);
                t->requests[s][o] =
                    ag_metrics_counter("otter_receiver_requests_total",
                                       "Export requests received, by outcome.", labels);
                if (t->items[s][o] == NULL || t->requests[s][o] == NULL) {
                    return AG_ENOMEM;
                }
            }
        }
    }
    return 0;
}

static int pipeline_uses(const struct ag_pipeline_config *pc, size_t comp);

/* ---- the awsxray receiver's sink ------------------------------------------------------- */

/*
 * X-Ray documents are not OTLP: they go straight to the exporters that take them
 * (consume_xray), and a pipeline's processors never see them. UDP cannot push back, so a
 * document an exporter refuses is lost for that exporter: it is counted, never silent.
 */
static void xray_document(void *ctx, const struct ag_xray_doc *doc)
{
    struct xray_receiver *x = ctx;
    int refused = 0;
    for (size_t i = 0; i < x->n_targets; i++) {
        struct xray_target *t = &x->targets[i];
        if (t->e->ops->consume_xray == NULL) {
            ag_metric_add(t->dropped, 1);
            continue;
        }
        int rc = t->e->ops->consume_xray(t->e->self, doc->doc, doc->doc_len);
        if (rc == 0) {
            ag_metric_add(t->e->sent[AG_SIGNAL_TRACES], 1);
            continue;
        }
        if (rc == AG_EAGAIN) {
            ag_metric_add(t->dropped, 1);
            refused = 1;
        } else {
            ag_metric_add(t->e->failed[AG_SIGNAL_TRACES], 1);
        }
        uint64_t now = ag_time_mono_ns();
        if (x->last_fail_log_ns == 0 || now - x->last_fail_log_ns >= 1000000000ull) {
            x->last_fail_log_ns = now;
            ag_log_error(x->cfg->id, "exporter %s %s X-Ray document %s (trace %s): %s",
                         t->e->cfg->id, rc == AG_EAGAIN ? "refused" : "failed on", doc->id,
                         doc->trace_id, ag_strerror(rc));
        }
    }
    ag_metric_add(x->datagrams[refused ? OUT_REFUSED : OUT_ACCEPTED], 1);
    ag_metric_add(x->items[refused ? OUT_REFUSED : OUT_ACCEPTED], 1);
}

static void xray_rejected(void *ctx, int rc)
{
    struct xray_receiver *x = ctx;
    int outcome = rc == AG_ENOMEM ? OUT_REFUSED : OUT_INVALID;
    ag_metric_add(x->datagrams[outcome], 1);
    ag_metric_add(x->items[outcome], rc == AG_ENOMEM ? 1 : 0);
}

static void xray_overflow(void *ctx, uint64_t n)
{
    struct xray_receiver *x = ctx;
    ag_metric_add(x->kernel_dropped, n);
}

static struct ag_metric *xray_dropped_counter(const struct xray_receiver *x, const char *exporter,
                                              const char *reason)
{
    char labels[320];
    snprintf(labels, sizeof(labels),
             "receiver=\"%s\",transport=\"udp\",signal=\"traces\",%s%s%sreason=\"%s\"",
             x->cfg->id, exporter ? "exporter=\"" : "", exporter ? exporter : "",
             exporter ? "\"," : "", reason);
    return ag_metrics_counter("otter_receiver_dropped_total",
                              "Items a receiver read but could not deliver, by reason.", labels);
}

/* The same families as the OTLP receiver's, with transport="udp": one datagram, one document. */
static int xray_register_metrics(struct xray_receiver *x)
{
    for (int o = 0; o < OUTCOMES; o++) {
        char labels[256];
        snprintf(labels, sizeof(labels),
                 "receiver=\"%s\",transport=\"udp\",signal=\"traces\",outcome=\"%s\"", x->cfg->id,
                 outcome_names[o]);
        x->items[o] = ag_metrics_counter(
            "otter_receiver_items_total",
            "Items (spans, data points, log records) received, by outcome.", labels);
        x->datagrams[o] = ag_metrics_counter("otter_receiver_requests_total",
                                             "Export requests received, by outcome.", labels);
        if (x->items[o] == NULL || x->datagrams[o] == NULL) {
            return AG_ENOMEM;
        }
    }
    x->kernel_dropped = xray_dropped_counter(x, NULL, "socket_buffer_full");
    return x->kernel_dropped != NULL ? 0 : AG_ENOMEM;
}

/* Every (pipeline, exporter) pair the receiver feeds, in config order. */
static int xray_build(struct ag_service *svc, struct xray_receiver *x, size_t comp)
{
    int rc = xray_register_metrics(x);
    if (rc != 0) {
        return rc;
    }
    for (size_t p = 0; p < svc->n_pipelines; p++) {
        const struct pipeline *pl = &svc->pipelines[p];
        if (!pipeline_uses(pl->cfg, comp) || pl->cfg->signal != AG_SIGNAL_TRACES) {
            continue;
        }
        struct xray_target *n =
            ag_realloc(x->targets, (x->n_targets + pl->fan.n) * sizeof(*n));
        if (n == NULL) {
            return AG_ENOMEM;
        }
        x->targets = n;
        for (size_t i = 0; i < pl->fan.n; i++) {
            struct xray_target *t = &x->targets[x->n_targets++];
            t->e = pl->fan.exporters[i];
            t->pipeline = pl->cfg;
            t->dropped = xray_dropped_counter(x, t->e->cfg->id,
                                              t->e->ops->consume_xray != NULL
                                                  ? "exporter_refused"
                                                  : "unsupported_exporter");
            if (t->dropped == NULL) {
                return AG_ENOMEM;
            }
        }
    }
    struct ag_xray_server_sink sink = {xray_document, xray_rejected, xray_overflow, x};
    return ag_xray_server_new(svc->base, x->cfg->id, &sink, &x->srv);
}

void ag_service_set_xray_proxy(struct ag_service *svc, const struct ag_xray_proxy_ops *ops)
{
    svc->xray_proxy = ops;
}

static double proxy_stat_value(void *arg)
{
    const struct proxy_stat *ps = arg;
    uint64_t calls = 0, failed = 0;
    if (ps->x->proxy != NULL) {
        ps->x->svc->xray_proxy->counts(ps->x->proxy, &calls, &failed);
    }
    return (double)(ps->failed ? failed : calls - failed);
}

/* otter_receiver_proxy_calls_total{receiver, outcome="relayed"|"failed"}. */
static int register_proxy_stats(struct xray_receiver *x)
{
    static const char *const outcomes[] = {"relayed", "failed"};
    x->stats = ag_calloc(2, sizeof(*x->stats));
    if (x->stats == NULL) {
        return AG_ENOMEM;
    }
    for (int i = 0; i < 2; i++) {
        char labels[256];
        snprintf(labels, sizeof(labels), "receiver=\"%s\",outcome=\"%s\"", x->cfg->id, outcomes[i]);
        x->stats[i] = (struct proxy_stat){x, i == 1};
        if (ag_metrics_counter_fn("otter_receiver_proxy_calls_total",
                                  "Sampling calls the awsxray proxy_server took (failed: X-Ray "
                                  "did not answer; relayed: the others, in flight included).",
                                  labels, proxy_stat_value, &x->stats[i]) != 0) {
            return AG_ENOMEM;
        }
    }
    return 0;
}

/*
 * The receiver's proxy_server: on by default at localhost:2000 as in the collector. When the
 * config did not write proxy_server, failing to start it is a warning (the default port may be
 * taken by another agent on the host); when it did, an error.
 */
static int xray_proxy_start(struct xray_receiver *x, char *err, size_t errlen)
{
    const struct ag_xray_proxy_config *pc = &x->cfg->u.awsxray_receiver.proxy;
    const struct ag_xray_proxy_ops *ops = x->svc->xray_proxy;
    char host[256], why[512];
    int port, bound = 0;
    if (ops == NULL || pc->endpoint == NULL || pc->endpoint[0] == '\0') {
        return 0;
    }
    if (ag_config_split_endpoint(pc->endpoint, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "%s: bad proxy_server endpoint \"%s\"", x->cfg->id, pc->endpoint);
        return AG_EINVAL;
    }
    int rc =
        ops->start(x->svc->base, x->cfg->id, pc, host, port, &x->proxy, &bound, why, sizeof(why));
    if (rc != 0) {
        if (pc->configured) {
            snprintf(err, errlen, "%s", why);
            return rc;
        }
        ag_log_warn(x->cfg->id,
                    "proxy_server not started: %s; X-Ray SDKs' sampling calls will "
                    "not be relayed (write proxy_server.endpoint to choose another port, or \"\" "
                    "to turn it off)",
                    why);
        return 0;
    }
    ag_log_info("otterd", "listening: %s tcp %s:%d", x->cfg->id, host[0] ? host : "0.0.0.0", bound);
    return register_proxy_stats(x);
}

static int xray_start(struct xray_receiver *x, char *err, size_t errlen)
{
    const struct ag_xray_receiver_config *xc = &x->cfg->u.awsxray_receiver;
    char host[256];
    int port, bound = 0, rcvbuf = 0;
    const struct ag_pipeline_config *last = NULL;
    for (size_t i = 0; i < x->n_targets; i++) {
        const struct xray_target *t = &x->targets[i];
        if (t->pipeline != last && t->pipeline->n_processors > 0) {
            ag_log_info(x->cfg->id, "pipeline %s: X-Ray documents are not OTLP and skip its %zu "
                        "processor(s)", t->pipeline->id, t->pipeline->n_processors);
        }
        last = t->pipeline;
        if (t->e->ops->consume_xray == NULL) {
            ag_log_warn(x->cfg->id, "exporter %s (pipeline %s) cannot take X-Ray documents: "
                        "they are dropped for it and counted in otter_receiver_dropped_total "
                        "(reason unsupported_exporter)", t->e->cfg->id, t->pipeline->id);
        }
    }
    if (ag_config_split_endpoint(xc->endpoint, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "%s: bad endpoint \"%s\"", x->cfg->id, xc->endpoint);
        return AG_EINVAL;
    }
    int rc = ag_xray_server_listen(x->srv, host, port, &bound, &rcvbuf);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot listen for UDP on %s: %s", x->cfg->id, xc->endpoint,
                 ag_strerror(rc));
        return rc;
    }
    if (rcvbuf < AG_XRAY_SERVER_RCVBUF) {
        /* Linux grants double what is asked (room for its bookkeeping) unless rmem_max caps
         * it, so a granted 4 MiB reads 8 MiB and a capped one reads less than asked. */
        ag_log_info(x->cfg->id, "the UDP receive buffer is %d bytes (asked for %d; the kernel's "
                    "net.core.rmem_max caps it): bursts beyond it are dropped and counted",
                    rcvbuf, AG_XRAY_SERVER_RCVBUF);
    }
    ag_log_info("otterd", "listening: %s udp %s:%d", x->cfg->id, host[0] ? host : "0.0.0.0",
                bound);
    return xray_proxy_start(x, err, errlen);
}

/* ---- build ---------------------------------------------------------------------------------- */

static int pipeline_uses(const struct ag_pipeline_config *pc, size_t comp)
{
    for (size_t i = 0; i < pc->n_receivers; i++) {
        if (pc->receivers[i] == comp) {
            return 1;
        }
    }
    return 0;
}

static int exporter_used(const struct ag_config *cfg, size_t comp)
{
    for (size_t p = 0; p < cfg->n_pipelines; p++) {
        for (size_t i = 0; i < cfg->pipelines[p].n_exporters; i++) {
            if (cfg->pipelines[p].exporters[i] == comp) {
                return 1;
            }
        }
    }
    return 0;
}

static int receiver_used(const struct ag_config *cfg, size_t comp)
{
    for (size_t p = 0; p < cfg->n_pipelines; p++) {
        if (pipeline_uses(&cfg->pipelines[p], comp)) {
            return 1;
        }
    }
    return 0;
}

int ag_service_new(const struct ag_config *cfg, struct event_base *base,
                   ag_exporter_lookup_fn *lookup, struct ag_service **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = AG_ENOMEM;
    struct ag_service *svc = ag_calloc(1, sizeof(*svc));
    if (svc == NULL) {
        goto fail;
    }
    svc->cfg = cfg;
    svc->base = base;
    svc->exporters = ag_calloc(cfg->n_components ? cfg->n_components : 1, sizeof(*svc->exporters));
    svc->receivers = ag_calloc(cfg->n_components ? cfg->n_components : 1, sizeof(*svc->receivers));
    svc->xrays = ag_calloc(cfg->n_components ? cfg->n_components : 1, sizeof(*svc->xrays));
    svc->pipelines = ag_calloc(cfg->n_pipelines ? cfg->n_pipelines : 1, sizeof(*svc->pipelines));
    if (svc->exporters == NULL || svc->receivers == NULL || svc->pipelines == NULL ||
        svc->xrays == NULL) {
        goto fail;
    }
    /* Exporters first: pipelines point at them. Only those a pipeline uses are built. */
    for (size_t i = 0; i < cfg->n_components; i++) {
        const struct ag_component_config *c = &cfg->components[i];
        if (c->kind != AG_KIND_EXPORTER || !exporter_used(cfg, i)) {
            continue;
        }
        struct exporter *e = &svc->exporters[svc->n_exporters];
        e->cfg = c;
        e->ops = lookup ? lookup(c->type) : NULL;
        if (e->ops == NULL) {
            snprintf(err, errlen, "%s: this otterd has no such exporter", c->id);
            rc = AG_EINVAL;
            goto fail;
        }
        struct ag_component_env env = {base, c->id, AG_SIGNAL_TRACES, {NULL, NULL}};
        char why[256] = "";
        rc = e->ops->create(c, &env, &e->self, why, sizeof(why));
        if (rc != 0) {
            snprintf(err, errlen, "%s: %s", c->id, why[0] ? why : ag_strerror(rc));
            goto fail;
        }
        svc->n_exporters++;
        for (int s = 0; s < AG_SIGNAL_COUNT; s++) {
            char labels[192];
            snprintf(labels, sizeof(labels), "exporter=\"%s\",signal=\"%s\"", c->id,
                     ag_signal_name((enum ag_signal)s));
            e->sent[s] = ag_metrics_counter("otter_exporter_sent_total",
                                            "Items an exporter sent (or wrote).", labels);
            e->failed[s] = ag_metrics_counter("otter_exporter_failed_total",
                                              "Items an exporter failed to send.", labels);
        }
    }
    for (size_t p = 0; p < cfg->n_pipelines; p++) {
        rc = build_pipeline(svc, &svc->pipelines[p], &cfg->pipelines[p], err, errlen);
        svc->n_pipelines++;
        if (rc != 0) {
            goto fail;
        }
    }
    for (size_t i = 0; i < cfg->n_components; i++) {
        const struct ag_component_config *c = &cfg->components[i];
        if (c->kind == AG_KIND_EXTENSION && c->type == AG_COMP_HEALTH_CHECK) {
            for (size_t k = 0; k < cfg->n_extensions; k++) {
                if (cfg->extensions[k] == i) {
                    svc->health_cfg = &c->u.health_check;
                }
            }
        }
        if (c->kind != AG_KIND_RECEIVER || !receiver_used(cfg, i)) {
            continue;
        }
        if (c->type == AG_COMP_AWSXRAY_RECEIVER) {
            struct xray_receiver *x = &svc->xrays[svc->n_xrays++];
            x->svc = svc;
            x->cfg = c;
            rc = xray_build(svc, x, i);
            if (rc != 0) {
                goto fail;
            }
            continue;
        }
        struct otlp_receiver *r = &svc->receivers[svc->n_receivers++];
        r->svc = svc;
        r->cfg = c;
        rc = register_receiver_metrics(r);
        if (rc != 0) {
            goto fail;
        }
        for (size_t p = 0; p < cfg->n_pipelines; p++) {
            if (!pipeline_uses(&cfg->pipelines[p], i)) {
                continue;
            }
            enum ag_signal s = cfg->pipelines[p].signal;
            struct pipeline **n = ag_realloc(r->pipes[s], (r->n_pipes[s] + 1) * sizeof(*n));
            if (n == NULL) {
                rc = AG_ENOMEM;
                goto fail;
            }
            r->pipes[s] = n;
            n[r->n_pipes[s]++] = &svc->pipelines[p];
        }
    }
    *out = svc;
    return 0;
fail:
    if (rc == AG_ENOMEM && (err[0] == '\0')) {
        snprintf(err, errlen, "out of memory");
    }
    ag_service_free(svc);
    return rc;
}

/* ---- admin and health_check ------------------------------------------------------------- */

static double gauge_rss(void *arg)
{
    (void)arg;
    return (double)ag_mem_rss_bytes();
}

static double gauge_queue(void *arg)
{
    (void)arg;
    return (double)ag_payload_bytes_in_flight();
}

static double gauge_uptime(void *arg)
{
    struct ag_service *svc = arg;
    return (double)(ag_time_mono_ns() - svc->start_ns) / 1e9;
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *ctype,
                  const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    if (b != NULL) {
        evbuffer_add(b, body, len);
    }
    evhttp_send_reply(req, code, reason, b);
    if (b != NULL) {
        evbuffer_free(b);
    }
}

/*
 * GET /v1/slo: every slo exporter's SLOs evaluated now, as one report with one instant (the
 * replay contract's JSON, slo/README.md). 404 with a JSON error when no slo exporter runs.
 */
static void reply_slo(struct ag_service *svc, struct evhttp_request *req)
{
    static const char none[] = "{\"error\":\"no slo exporter is configured\"}\n";
    static const char oom[] = "{\"error\":\"out of memory\"}\n";
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        static const char bad[] = "{\"error\":\"method not allowed: use GET\"}\n";
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply(req, 405, "Method Not Allowed", "application/json", bad, sizeof(bad) - 1);
        return;
    }
    struct slo_report_at at = {(int64_t)(ag_time_now_ns() / 1000000ull), NULL, NULL, 0};
    int found = 0, rc = 0;
    for (size_t i = 0; rc == 0 && i < svc->n_exporters; i++) {
        struct exporter *e = &svc->exporters[i];
        if (e->ops->slo_report != NULL) {
            found = 1;
            rc = e->ops->slo_report(e->self, at.at_ms, &at);
        }
    }
    struct ag_buf b;
    ag_buf_init(&b, 64 * 1024 * 1024);
    struct slo_report r = {&at, 1};
    if (!found) {
        reply(req, 404, "Not Found", "application/json", none, sizeof(none) - 1);
    } else if (rc != 0 || slo_report_json(&r, &b) != 0 || ag_buf_addc(&b, '\n') != 0) {
        reply(req, 500, "Internal Server Error", "application/json", oom, sizeof(oom) - 1);
    } else {
        reply(req, 200, "OK", "application/json", ag_buf_str(&b), b.len);
    }
    ag_buf_cleanup(&b);
    for (size_t i = 0; i < at.n_slos; i++) {
        slo_eval_release(&at.slos[i]);
    }
    ag_free(at.slos);
}

static void on_admin(struct evhttp_request *req, void *arg)
{
    struct ag_service *svc = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (path == NULL) {
        path = "/";
    }
    if (strcmp(path, "/healthz") == 0) {
        reply(req, 200, "OK", "text/plain", "ok\n", 3);
    } else if (strcmp(path, "/readyz") == 0) {
        if (ag_service_ready(svc)) {
            reply(req, 200, "OK", "text/plain", "ready\n", 6);
        } else {
            reply(req, 503, "Service Unavailable", "text/plain", "not ready\n", 10);
        }
    } else if (strcmp(path, "/metrics") == 0) {
        struct ag_buf b;
        ag_buf_init(&b, 16 * 1024 * 1024);
        if (ag_metrics_render(&b) != 0) {
            reply(req, 500, "Internal Server Error", "text/plain", "render failed\n", 14);
        } else {
            reply(req, 200, "OK", "text/plain; version=0.0.4", ag_buf_str(&b), b.len);
        }
        ag_buf_cleanup(&b);
    } else if (strcmp(path, "/v1/slo") == 0) {
        reply_slo(svc, req);
    } else {
        reply(req, 404, "Not Found", "text/plain", "404 page not found\n", 19);
    }
}

static void on_health(struct evhttp_request *req, void *arg)
{
    struct ag_service *svc = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    const char *want = svc->health_cfg->path ? svc->health_cfg->path : "/";
    if (path == NULL || strcmp(path, want) != 0) {
        reply(req, 404, "Not Found", "text/plain", "404 page not found\n", 19);
        return;
    }
    char body[160];
    int ok = ag_service_ready(svc);
    int n = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"uptime\":\"%.0fs\"}",
                     ok ? "Server available" : "Server not available", gauge_uptime(svc));
    reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", "application/json", body,
          (size_t)n);
}

/* Binds an evhttp to "host:port" and logs the listening line. */
static int bind_http(struct evhttp *h, const char *id, const char *endpoint, char *err,
                     size_t errlen)
{
    char host[256];
    int port;
    if (ag_config_split_endpoint(endpoint, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "%s: bad endpoint \"%s\"", id, endpoint);
        return AG_EINVAL;
    }
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(h, host, (ev_uint16_t)port);
    if (bs == NULL) {
        snprintf(err, errlen, "%s: cannot listen on %s", id, endpoint);
        return AG_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0) {
        port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    ag_log_info("otterd", "listening: %s http %s:%d", id, host[0] ? host : "0.0.0.0", port);
    return 0;
}

static double conn_stat_value(void *arg)
{
    const struct conn_stat *cs = arg;
    struct ag_grpc_counters k;
    if (cs->r->grpc == NULL) {
        return 0;
    }
    ag_grpc_server_counters(cs->r->grpc, &k);
    uint64_t v;
    memcpy(&v, (const char *)&k + cs->off, sizeof(v));
    return (double)v;
}

static int register_conn_stats(struct otlp_receiver *r)
{
    for (size_t i = 0; i < CONN_STATS; i++) {
        char labels[256];
        snprintf(labels, sizeof(labels), "receiver=\"%s\",transport=\"grpc\",%s", r->cfg->id,
                 conn_stat_defs[i].label);
        r->conn_stats[i] = (struct conn_stat){r, conn_stat_defs[i].off};
        bool closed = strcmp(conn_stat_defs[i].family, "otter_receiver_connections_total") != 0;
        if (ag_metrics_counter_fn(conn_stat_defs[i].family,
                                  closed ? "Connections the receiver closed, by reason."
                                         : "Connections the receiver took in or refused.",
                                  labels, conn_stat_value, &r->conn_stats[i]) != 0) {
            return AG_ENOMEM;
        }
    }
    return 0;
}

static int start_receiver(struct ag_service *svc, struct otlp_receiver *r, char *err, size_t errlen)
{
    const struct ag_otlp_receiver_config *oc = &r->cfg->u.otlp;
    char host[256], why[256];
    int port, bound, rc;
    if (oc->grpc_enabled) {
        struct ag_grpc_options go;
        ag_grpc_options_init(&go);
        go.max_recv_msg_size = oc->grpc_max_recv_msg_size;
        if (oc->grpc_max_concurrent_streams > 0) {
            go.max_concurrent_streams = oc->grpc_max_concurrent_streams;
        }
        /* Zero keeps ag_grpc's default, which is grpc-go's, as in the collector. */
        go.max_connection_idle = oc->grpc_keepalive_max_connection_idle;
        go.max_connection_age = oc->grpc_keepalive_max_connection_age;
        go.max_connection_age_grace = oc->grpc_keepalive_max_connection_age_grace;
        go.keepalive_time = oc->grpc_keepalive_time;
        go.keepalive_timeout = oc->grpc_keepalive_timeout;
        go.ping_min_time = oc->grpc_keepalive_min_time;
        go.permit_without_stream = oc->grpc_keepalive_permit_without_stream;
        struct ag_otlp_sink sink = {otlp_ingest, &r->sinks[TRANSPORT_GRPC]};
        r->grpc = ag_grpc_server_new(svc->base, &go, &sink);
        if (r->grpc == NULL || register_conn_stats(r) != 0) {
            snprintf(err, errlen, "%s: cannot create the gRPC server", r->cfg->id);
            return AG_ENOMEM;
        }
        if (oc->grpc_tls.enabled) {
            rc = ag_tls_server_ctx_new(&oc->grpc_tls, AG_TLS_ALPN_H2, &r->grpc_tls, why,
                                       sizeof(why));
            if (rc != 0) {
                snprintf(err, errlen, "%s: grpc tls: %s", r->cfg->id, why);
                return rc;
            }
        }
        if (ag_config_split_endpoint(oc->grpc_endpoint, host, sizeof(host), &port) != 0) {
            snprintf(err, errlen, "%s: bad grpc endpoint \"%s\"", r->cfg->id, oc->grpc_endpoint);
            return AG_EINVAL;
        }
        rc = ag_grpc_server_listen(r->grpc, host[0] ? host : "0.0.0.0", port, r->grpc_tls, &bound);
        if (rc != 0) {
            snprintf(err, errlen, "%s: cannot listen for gRPC on %s: %s", r->cfg->id,
                     oc->grpc_endpoint, ag_strerror(rc));
            return rc;
        }
        ag_log_info("otterd", "listening: %s grpc %s:%d", r->cfg->id, host[0] ? host : "0.0.0.0",
                    bound);
    }
    if (oc->http_enabled) {
        struct ag_http_receiver_options ho;
        memset(&ho, 0, sizeof(ho));
        ho.max_request_body_size = oc->http_max_request_body_size;
        ho.paths[AG_SIGNAL_TRACES] = oc->traces_url_path;
        ho.paths[AG_SIGNAL_METRICS] = oc->metrics_url_path;
        ho.paths[AG_SIGNAL_LOGS] = oc->logs_url_path;
        ho.cors = oc->cors_enabled ? &oc->cors : NULL;
        ho.read_header_timeout = oc->http_read_header_timeout;
        if (oc->n_http_compression_algorithms > 0) {
            ho.encodings = (const char *const *)oc->http_compression_algorithms;
            ho.n_encodings = oc->n_http_compression_algorithms;
        }
        struct ag_otlp_sink sink = {otlp_ingest, &r->sinks[TRANSPORT_HTTP]};
        r->http = ag_http_receiver_new(svc->base, &ho, &sink);
        if (r->http == NULL) {
            snprintf(err, errlen, "%s: cannot create the HTTP server", r->cfg->id);
            return AG_ENOMEM;
        }
        if (oc->http_tls.enabled) {
            rc = ag_tls_server_ctx_new(&oc->http_tls, AG_TLS_ALPN_HTTP11, &r->http_tls, why,
                                       sizeof(why));
            if (rc != 0) {
                snprintf(err, errlen, "%s: http tls: %s", r->cfg->id, why);
                return rc;
            }
        }
        if (ag_config_split_endpoint(oc->http_endpoint, host, sizeof(host), &port) != 0) {
            snprintf(err, errlen, "%s: bad http endpoint \"%s\"", r->cfg->id, oc->http_endpoint);
            return AG_EINVAL;
        }
        rc =
            ag_http_receiver_listen(r->http, host[0] ? host : "0.0.0.0", port, r->http_tls, &bound);
        if (rc != 0) {
            snprintf(err, errlen, "%s: cannot listen for HTTP on %s", r->cfg->id,
                     oc->http_endpoint);
            return rc;
        }
        ag_log_info("otterd", "listening: %s http %s:%d", r->cfg->id, host[0] ? host : "0.0.0.0",
                    bound);
    }
    return 0;
}

int ag_service_start(struct ag_service *svc, char *err, size_t errlen)
{
    int rc;
    svc->start_ns = ag_time_mono_ns();
    if (ag_metrics_gauge_fn("otter_process_resident_memory_bytes",
                            "Resident memory of the otterd process.", "", gauge_rss, NULL) != 0 ||
        ag_metrics_gauge_fn("otter_queue_bytes",
                            "Bytes held by data accepted and not yet exported.", "", gauge_queue,
                            NULL) != 0 ||
        ag_metrics_gauge_fn("otter_uptime_seconds", "Seconds since otterd started.", "",
                            gauge_uptime, svc) != 0) {
        return AG_ENOMEM;
    }
    ag_metric_set(
        ag_metrics_gauge("otter_build_info", "otterd's version.", "version=\"" OTTER_VERSION "\""),
        1);
    for (size_t i = 0; i < svc->n_receivers; i++) {
        rc = start_receiver(svc, &svc->receivers[i], err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < svc->n_xrays; i++) {
        rc = xray_start(&svc->xrays[i], err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    const char *addr = svc->cfg->metrics_address;
    if (addr != NULL && addr[0] != '\0') {
        svc->admin = evhttp_new(svc->base);
        if (svc->admin == NULL) {
            return AG_ENOMEM;
        }
        evhttp_set_gencb(svc->admin, on_admin, svc);
        rc = bind_http(svc->admin, "admin", addr, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    if (svc->health_cfg != NULL) {
        svc->health = evhttp_new(svc->base);
        if (svc->health == NULL) {
            return AG_ENOMEM;
        }
        evhttp_set_gencb(svc->health, on_health, svc);
        rc = bind_http(svc->health, "health_check", svc->health_cfg->endpoint, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    svc->started = 1;
    return 0;
}

void ag_service_stop_accepting(struct ag_service *svc)
{
    svc->draining = 1;
    for (size_t i = 0; i < svc->n_receivers; i++) {
        if (svc->receivers[i].grpc != NULL) {
            ag_grpc_server_stop_accepting(svc->receivers[i].grpc);
        }
        if (svc->receivers[i].http != NULL) {
            ag_http_receiver_stop_accepting(svc->receivers[i].http);
        }
    }
    /* What the kernel queued before now is read and delivered; nothing after it. */
    for (size_t i = 0; i < svc->n_xrays; i++) {
        ag_xray_server_stop(svc->xrays[i].srv);
    }
}

void ag_service_flush(struct ag_service *svc)
{
    /* The exporters' held payloads first (room for the processors' last batches), then front
     * to back: what a processor sends on is flushed by the ones after it. */
    for (size_t p = 0; p < svc->n_pipelines; p++) {
        fanout_release(&svc->pipelines[p].fan, true);
    }
    for (size_t p = 0; p < svc->n_pipelines; p++) {
        struct pipeline *pl = &svc->pipelines[p];
        for (size_t k = 0; k < pl->n_procs; k++) {
            if (pl->procs[k].flush != NULL) {
                pl->procs[k].flush(pl->procs[k].self);
            }
        }
    }
    for (size_t p = 0; p < svc->n_pipelines; p++) {
        fanout_release(&svc->pipelines[p].fan, true);
    }
    for (size_t i = 0; i < svc->n_exporters; i++) {
        svc->exporters[i].ops->flush(svc->exporters[i].self);
    }
}

int ag_service_ready(const struct ag_service *svc)
{
    return svc->started && !svc->draining;
}

void ag_service_free(struct ag_service *svc)
{
    if (svc == NULL) {
        return;
    }
    for (size_t i = 0; i < svc->n_receivers; i++) {
        struct otlp_receiver *r = &svc->receivers[i];
        ag_grpc_server_free(r->grpc);
        ag_http_receiver_free(r->http);
        SSL_CTX_free(r->grpc_tls);
        SSL_CTX_free(r->http_tls);
        for (int s = 0; s < AG_SIGNAL_COUNT; s++) {
            ag_free(r->pipes[s]);
        }
    }
    for (size_t i = 0; i < svc->n_xrays; i++) {
        ag_xray_server_free(svc->xrays[i].srv);
        if (svc->xrays[i].proxy != NULL) {
            svc->xray_proxy->stop(svc->xrays[i].proxy);
            svc->xrays[i].proxy = NULL; /* /metrics reads 0 from here on */
        }
        ag_free(svc->xrays[i].stats);
        ag_free(svc->xrays[i].targets);
    }
    for (size_t p = 0; p < svc->n_pipelines; p++) {
        struct pipeline *pl = &svc->pipelines[p];
        for (size_t k = 0; pl->procs != NULL && k < pl->cfg->n_processors; k++) {
            if (pl->procs[k].destroy != NULL) {
                pl->procs[k].destroy(pl->procs[k].self);
            }
        }
        ag_free(pl->procs);
        if (pl->fan.held != NULL) {
            fanout_release(&pl->fan, false);
        }
        ag_free(pl->fan.held);
        if (pl->fan.retry != NULL) {
            event_free(pl->fan.retry);
        }
        ag_free(pl->fan.exporters);
    }
    for (size_t i = 0; i < svc->n_exporters; i++) {
        svc->exporters[i].ops->destroy(svc->exporters[i].self);
    }
    if (svc->admin != NULL) {
        evhttp_free(svc->admin);
    }
    if (svc->health != NULL) {
        evhttp_free(svc->health);
    }
    ag_free(svc->receivers);
    ag_free(svc->xrays);
    ag_free(svc->pipelines);
    ag_free(svc->exporters);
    ag_free(svc);
}
