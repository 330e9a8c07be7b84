/* SPDX-License-Identifier: Apache-2.0 */
/*
 * slo-bench: the SLO engine's hot path and memory (issue 5's benchmark: 1,000 SLOs fed from
 * 1,000,000 spans/s, the added CPU per span per matching SLO and the memory per SLO).
 *
 * 1. Definitions: 1,000 SLOs (Otter YAML, generated: --write-defs prints them) over 50 services,
 *    20 per service: availability and latency SLIs, resource and span attribute matchers (most
 *    route SLOs select another route, as in a service with many routes), 30-day rolling windows
 *    with the default alerts, one Timeslices SLO per service. Loaded through slo_defs, the SLI
 *    index and the engine, exactly as the slo exporter does.
 * 2. Spans: realistic requests (bench_spans.c, 100 HTTP server spans each) encoded, then decoded
 *    by ag_otlp_decode() as the receiver does, each into its own arena (otterd's decoder,
 *    ag_otlp_pb.c, and its memory layout; --heap: protobuf-c with malloc per field, the layout
 *    of slo-bench before 2026-11-26's one-pass change), service.name rewritten per request to
 *    cycle through
 *    the 50 services. The timed code is the slo exporter's own: ex_slo_feed_traces()
 *    (exporters/slo/ex_slo_feed.c, linked from there, what otterd's slo exporter calls per
 *    request): service.name lookup, the index, resource matchers once per resource, per span one
 *    pass over its attributes against the service's keyset and slo_sli_span_hits_slots(), the
 *    verdicts summed per SLO and minute over the request, then slo_engine_add() once per sum
 *    with the exporter's counters. Between passes every span moves --rate's worth of time later
 *    (1,000,000 spans/s; not timed), so buckets close as they would live.
 *    Measured in the same run, interleaved, CPU time of this process around each pass, best of
 *    --repeat:
 *      full   ex_slo_feed_traces() over every request;
 *      empty  the same loops over requests, resources and spans with nothing but the span's
 *             time (the floor: what otterd walks anyway).
 *    ns per span per matching SLO = (full - empty) / (matching SLOs per span): the verdicts
 *    (events added), not the slo_engine_add() calls, which are fewer (printed too).
 * 3. Memory: slo_engine_bytes() over 1,000 SLOs, and the process RSS (VmRSS) before the engine,
 *    after slo_engine_new() and after 30 days of clock (every ring bucket written once).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_otlp.h"
#include "bench_spans.h"
#include "ex_slo_feed.h"
#include "slo_eval.h"
#include "slo_sli.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define SPANS_PER_REQ   100
#define MINUTE_MS       60000ll
#define ARENA_CAP       (64u << 20) /* per request: far above 100 realistic spans */

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest TraceReq;

/* ---- definitions ------------------------------------------------------------------------------ */

/* Service |s|'s name: the load generator's realistic service first (run_slo_bench.py's otterd
 * runs see only that one), then svc-01... */
static void service_name(unsigned s, char *buf, size_t cap)
{
    if (s == 0) {
        snprintf(buf, cap, "checkout-api");
    } else {
        snprintf(buf, cap, "svc-%02u", s);
    }
}

/*
 * SLO |j| (0..19) of a service. On the realistic span (SERVER, methods GET, GET, POST, PUT in
 * turn, http.route /api/v1/users/{id}, deployment.environment.name production) these select:
 *   j 0, 1, 2, 4, 19: every span; j 18: GET only (half of them); j 3 is refused at the
 *   resource; j 5..17 name other routes (refused on the span attribute).
 */
static int gen_slo(struct ag_buf *b, const char *svc, unsigned j)
{
    static const char *const objectives[] = {"99.9", "99.5", "99", "99.95"};
    int rc = ag_buf_printf(b,
                           "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: %s-%02u}\n"
                           "spec:\n  service: %s\n  objective: \"%s\"\n  window: 30d\n",
                           svc, j, svc, objectives[j % 4]);
    if (rc == 0 && j == 19) {
        rc = ag_buf_adds(b, "  budgetingMethod: Timeslices\n"
                            "  timeSlice: {period: 5m, target: \"95\"}\n");
    }
    if (rc != 0) {
        return rc;
    }
    const char *sli;
    char route[96];
    switch (j) {
    case 0:
        sli = "  sli: {spans: {availability: {}}}\n";
        break;
    case 1:
        sli = "  sli: {spans: {latency: {threshold: 300ms}}}\n";
        break;
    case 2:
        sli = "  sli: {spans: {resource: {deployment.environment.name: production}, "
              "availability: {badHttpClasses: [5xx]}}}\n";
        break;
    case 3:
        sli = "  sli: {spans: {resource: {deployment.environment.name: staging}, "
              "availability: {}}}\n";
        break;
    case 4:
        sli = "  sli: {spans: {attributes: {http.route: \"/api/v1/users/{id}\"}, "
              "latency: {threshold: 100ms}}}\n";
        break;
    case 18:
        sli = "  sli: {spans: {attributes: {http.request.method: GET}, kinds: [server], "
              "availability: {}}}\n";
        break;
    case 19:
        sli = "  sli: {spans: {latency: {threshold: 500ms}}}\n";
        break;
    default:
        snprintf(route, sizeof(route),
                 "  sli: {spans: {attributes: {http.route: \"/api/v1/r%02u/{id}\"}, %s}}\n", j,
                 j < 15 ? "availability: {}" : "latency: {threshold: 250ms}");
        sli = route;
        break;
    }
    rc = ag_buf_adds(b, sli);
    return rc == 0 ? ag_buf_adds(b, "  alerts: defaults\n") : rc;
}

static int gen_defs(struct ag_buf *b, unsigned n_slos, unsigned n_services)
{
    int rc = ag_buf_adds(b, "# slo-bench: generated SLO definitions (tests/bench/slo_bench.c)\n");
    char svc[32];
    for (unsigned i = 0; rc == 0 && i < n_slos; i++) {
        service_name(i / 20 % n_services, svc, sizeof(svc));
        rc = gen_slo(b, svc, i % 20);
    }
    return rc;
}

/* ---- the walks ------------------------------------------------------------------------------ */

struct bench {
    struct slo_defs *defs;
    struct slo_sli_index *ix;
    struct slo_engine *eng;
    TraceReq **reqs;
    size_t n_reqs;
    struct ex_slo_feed feed; /* the exporter's own feed (exporters/slo/ex_slo_feed.c) */
    uint64_t sink;
};

/* full: every request through the slo exporter's feed, as otterd's slo exporter consumes it
 * (ex_slo_feed_traces: the code otterd runs, linked from exporters/slo). */
static __attribute__((noinline)) void walk_full(struct bench *b, int64_t now)
{
    for (size_t q = 0; q < b->n_reqs; q++) {
        ex_slo_feed_traces(&b->feed, b->reqs[q], now);
    }
}

/* empty: the same loops over requests, resources and spans with nothing but the span's time
 * (the floor: what otterd walks anyway). */
static __attribute__((noinline)) void walk_empty(struct bench *b, int64_t now)
{
    for (size_t q = 0; q < b->n_reqs; q++) {
        const TraceReq *req = b->reqs[q];
        for (size_t r = 0; r < req->n_resource_spans; r++) {
            const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
            for (size_t s = 0; s < rs->n_scope_spans; s++) {
                const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
                for (size_t k = 0; k < ss->n_spans; k++) {
                    int64_t t = (int64_t)(ss->spans[k]->end_time_unix_nano / 1000000ull);
                    if (t <= 0 || t > now) {
                        t = now;
                    }
                    b->sink += (uint64_t)t;
                }
            }
        }
    }
}

/* Moves every span of every request |ms| later (between passes, not timed): the traffic of the
 * next pass, so the engine's buckets close as they would live. */
static void shift_spans(struct bench *b, int64_t ms)
{
    uint64_t ns = (uint64_t)ms * 1000000ull;
    for (size_t q = 0; q < b->n_reqs; q++) {
        const TraceReq *req = b->reqs[q];
        for (size_t r = 0; r < req->n_resource_spans; r++) {
            const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
            for (size_t s = 0; s < rs->n_scope_spans; s++) {
                const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
                for (size_t k = 0; k < ss->n_spans; k++) {
                    ss->spans[k]->start_time_unix_nano += ns;
                    ss->spans[k]->end_time_unix_nano += ns;
                }
            }
        }
    }
}

/* Candidate SLOs per span (the service's SLOs whose resource matchers hold), summed over every
 * span of every request: a measurement aid, from the index and the exporter's attribute lookup. */
static uint64_t count_candidates(const struct bench *b)
{
    uint64_t n = 0;
    for (size_t q = 0; q < b->n_reqs; q++) {
        const TraceReq *req = b->reqs[q];
        for (size_t r = 0; r < req->n_resource_spans; r++) {
            const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
            struct ex_slo_kvs res = {rs->resource->attributes, rs->resource->n_attributes};
            struct slo_attr svc;
            ex_slo_kv_lookup(&res, "service.name", &svc);
            const struct slo_sli_service *sv =
                svc.type == SLO_ATTR_STR ? slo_sli_service_find(b->ix, svc.str, svc.len) : NULL;
            if (sv == NULL) {
                continue;
            }
            const size_t *cand;
            size_t n_cand = slo_sli_service_slos(sv, &cand), active = 0;
            for (size_t i = 0; i < n_cand; i++) {
                active += slo_sli_resource_matches(&b->defs->slis[b->defs->slos[cand[i]].sli],
                                                   ex_slo_kv_lookup, &res);
            }
            for (size_t s = 0; s < rs->n_scope_spans; s++) {
                n += active * rs->scope_spans[s]->n_spans;
            }
        }
    }
    return n;
}

static uint64_t sum_u64(const uint64_t *v, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        t += v[i];
    }
    return t;
}

/* ---- measurement helpers ---------------------------------------------------------------------- */

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS of this process in bytes (0 when /proc is unreadable). */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kb * 1024;
}

static int load_defs(unsigned n_slos, unsigned n_services, struct ag_buf *diag,
                     struct slo_defs **out)
{
    struct ag_buf text;
    ag_buf_init(&text, 64u << 20);
    int rc = gen_defs(&text, n_slos, n_services);
    if (rc == 0) {
        rc = slo_defs_new(diag, out);
    }
    if (rc == 0) {
        rc = slo_defs_add(*out, "slo-bench.yaml", (const char *)text.data, text.len);
    }
    if (rc == 0) {
        rc = slo_defs_finish(*out);
    }
    ag_buf_cleanup(&text);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: slo-bench [--spans N] [--slos N] [--services N] [--requests N] [--repeat N]\n"
            "                 [--rate SPANS_PER_S] [--heap] [--json] [--write-defs FILE]\n"
            "                 [--tracestate TEXT]\n");
}

static int parse_u(const char *s, unsigned long long lo, unsigned long long hi,
                   unsigned long long *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long n_spans = 10000000, n_slos = 1000, n_services = 50, n_reqs = 100,
                       repeat = 3, rate = 1000000;
    bool json = false, heap = false;
    const char *write_defs = NULL;
    const char *tracestate = NULL; /* --tracestate: set on every span (sampled spans) */
    char *ts_decoded = NULL;       /* what decoding left there (restored before freeing) */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        if (strcmp(a, "--heap") == 0) {
            heap = true;
            continue;
        }
        if (v == NULL) {
            usage();
            return 2;
        }
        if (strcmp(a, "--spans") == 0) {
            bad = parse_u(v, 1, 1000000000000ull, &n_spans);
        } else if (strcmp(a, "--slos") == 0) {
            bad = parse_u(v, 1, 100000, &n_slos);
        } else if (strcmp(a, "--services") == 0) {
            bad = parse_u(v, 1, 99, &n_services);
        } else if (strcmp(a, "--requests") == 0) {
            bad = parse_u(v, 1, 100000, &n_reqs);
        } else if (strcmp(a, "--repeat") == 0) {
            bad = parse_u(v, 1, 100, &repeat);
        } else if (strcmp(a, "--rate") == 0) {
            bad = parse_u(v, 1000, 1000000000, &rate);
        } else if (strcmp(a, "--write-defs") == 0) {
            write_defs = v;
        } else if (strcmp(a, "--tracestate") == 0) {
            tracestate = v;
        } else {
            bad = -1;
        }
        if (bad != 0) {
            fprintf(stderr, "slo-bench: bad option %s %s\n", a, v);
            usage();
            return 2;
        }
        i++;
    }

    if (write_defs != NULL) {
        struct ag_buf text;
        ag_buf_init(&text, 64u << 20);
        int rc = gen_defs(&text, (unsigned)n_slos, (unsigned)n_services);
        FILE *f = rc == 0 ? fopen(write_defs, "w") : NULL;
        if (f == NULL || fwrite(text.data, 1, text.len, f) != text.len || fclose(f) != 0) {
            fprintf(stderr, "slo-bench: cannot write %s\n", write_defs);
            return 1;
        }
        ag_buf_cleanup(&text);
        return 0;
    }

    struct bench b;
    memset(&b, 0, sizeof(b));
    struct ag_buf diag;
    ag_buf_init(&diag, 16u << 20);
    uint64_t rss0 = rss_bytes();
    if (load_defs((unsigned)n_slos, (unsigned)n_services, &diag, &b.defs) != 0) {
        fprintf(stderr, "slo-bench: definitions refused:\n%s\n", ag_buf_str(&diag));
        return 1;
    }
    uint64_t rss_defs = rss_bytes();

    /* Requests: encoded like the load generator's, decoded like the receiver's. */
    const int64_t base_ms = 1767225600000ll; /* 2026-01-01T00:00:00Z */
    b.n_reqs = (size_t)n_reqs;
    b.reqs = ag_calloc(b.n_reqs, sizeof(*b.reqs));
    char (*names)[32] = ag_calloc(n_services, sizeof(*names));
    if (b.reqs == NULL || names == NULL) {
        return 1;
    }
    for (unsigned s = 0; s < n_services; s++) {
        service_name(s, names[s], sizeof(names[s]));
    }
    char **orig_names = ag_calloc(b.n_reqs, sizeof(*orig_names));
    struct ag_arena **arenas = ag_calloc(b.n_reqs, sizeof(*arenas));
    if (orig_names == NULL || arenas == NULL) {
        return 1;
    }
    for (size_t q = 0; q < b.n_reqs; q++) {
        uint8_t *enc = NULL;
        size_t len = 0;
        /* Requests 1 ms apart in time; spans of one request 10 us apart (bench_spans.c). */
        uint64_t t0 = (uint64_t)(base_ms + (int64_t)q) * 1000000ull;
        if (bench_spans_encode(BENCH_SHAPE_REALISTIC, SPANS_PER_REQ, q, t0, &enc, &len) != 0) {
            return 1;
        }
        /* The receiver decodes each request into its own arena with its own decoder
         * (ag_otlp_decode(), ag_otlp_pb.c): the same memory layout here, unless --heap asks for
         * protobuf-c's allocation per field. */
        if (!heap) {
            arenas[q] = ag_arena_new(ARENA_CAP);
            if (arenas[q] == NULL) {
                return 1;
            }
            ProtobufCMessage *msg = NULL;
            char err[256];
            if (ag_otlp_decode(AG_SIGNAL_TRACES, AG_OTLP_PROTOBUF, enc, len, arenas[q], &msg, err,
                               sizeof(err)) != 0) {
                fprintf(stderr, "slo-bench: cannot decode request %zu: %s\n", q, err);
                return 1;
            }
            b.reqs[q] = (Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *)msg;
        } else {
            b.reqs[q] =
                opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                    NULL, len, enc);
        }
        ag_free(enc);
        if (b.reqs[q] == NULL) {
            fprintf(stderr, "slo-bench: cannot decode request %zu\n", q);
            return 1;
        }
        KeyValue *kv = b.reqs[q]->resource_spans[0]->resource->attributes[0];
        if (strcmp(kv->key, "service.name") != 0) {
            fprintf(stderr, "slo-bench: unexpected resource\n");
            return 1;
        }
        orig_names[q] = kv->value->string_value;
        kv->value->string_value = names[q % n_services];
        /* --tracestate: every span as a sampler that records its probability leaves it
         * (ex_slo_feed.c weighs it by the adjusted count); argv outlives the requests. */
        for (size_t r = 0; tracestate != NULL && r < b.reqs[q]->n_resource_spans; r++) {
            Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = b.reqs[q]->resource_spans[r];
            for (size_t ss = 0; ss < rs->n_scope_spans; ss++) {
                for (size_t k = 0; k < rs->scope_spans[ss]->n_spans; k++) {
                    ts_decoded = rs->scope_spans[ss]->spans[k]->trace_state; /* the default */
                    rs->scope_spans[ss]->spans[k]->trace_state = (char *)tracestate;
                }
            }
        }
    }
    size_t spans_per_pass = b.n_reqs * SPANS_PER_REQ;
    /* A pass covers spans_per_pass / rate seconds of traffic. */
    int64_t pass_ms = (int64_t)(spans_per_pass * 1000ull / rate);
    if (pass_ms < 1) {
        pass_ms = 1;
    }
    size_t passes = (size_t)((n_spans + spans_per_pass - 1) / spans_per_pass);

    /* Memory first, while the heap holds no engine: RSS before slo_engine_new(), after it, and
     * after 31 days of clock (every bucket of every ring written once by the closes), then the
     * engine's own accounting. */
    uint64_t rss_before = rss_bytes();
    struct slo_engine *e = NULL;
    if (slo_engine_new(b.defs, base_ms, &diag, &e) != 0) {
        return 1;
    }
    uint64_t rss_new = rss_bytes();
    for (int64_t h = 1; h <= 31 * 24; h++) {
        slo_engine_advance(e, base_ms + h * 3600000ll);
    }
    uint64_t rss_30d = rss_bytes();
    size_t eng_bytes = slo_engine_bytes(e);
    size_t max_slo = 0, max_occ = 0, max_sl = 0;
    for (size_t i = 0; i < b.defs->n_slos; i++) {
        size_t n = slo_engine_slo_bytes(e, i);
        max_slo = n > max_slo ? n : max_slo;
        if (i % 20 == 19) {
            max_sl = n > max_sl ? n : max_sl;
        } else {
            max_occ = n > max_occ ? n : max_occ;
        }
    }
    slo_engine_free(e);

    if (slo_sli_index_new(b.defs, &b.ix) != 0 ||
        slo_engine_new(b.defs, base_ms - MINUTE_MS, &diag, &b.eng) != 0) {
        fprintf(stderr, "slo-bench: engine refused:\n%s\n", ag_buf_str(&diag));
        return 1;
    }
    if (ex_slo_feed_init(&b.feed, "bench", b.defs, b.ix, b.eng) != 0) {
        fprintf(stderr, "slo-bench: out of memory\n");
        return 1;
    }
    /* The exporter's counters, as slo_create() registers them. */
    b.feed.m_spans = ag_metrics_counter("otter_slo_spans_total", "bench", "exporter=\"bench\"");
    b.feed.m_good =
        ag_metrics_counter("otter_slo_good_events_total", "bench", "exporter=\"bench\"");
    b.feed.m_total = ag_metrics_counter("otter_slo_events_total", "bench", "exporter=\"bench\"");
    b.feed.m_refused =
        ag_metrics_counter("otter_slo_refused_events_total", "bench", "exporter=\"bench\"");
    b.feed.m_ts_weighted =
        ag_metrics_counter("otter_slo_weighted_spans_total", "bench", "exporter=\"bench\"");
    b.feed.m_ts_malformed =
        ag_metrics_counter("otter_slo_tracestate_malformed_total", "bench", "exporter=\"bench\"");

    /* Warm-up and the per-span counts (one full pass): matching SLOs are the events added
     * (emit_total, plus any refused), engine adds the feed's slo_engine_add() calls. */
    uint64_t cand = count_candidates(&b);
    int64_t clock = base_ms; /* the span times' shift so far */
    walk_full(&b, clock + 1000);
    double matches = (double)(sum_u64(b.feed.emit_total, b.defs->n_slos) + b.feed.refused_events);
    double cand_per_span = (double)cand / (double)spans_per_pass;
    double match_per_span = matches / (double)spans_per_pass;
    double adds_per_span = (double)b.feed.adds / (double)spans_per_pass;

    double best[2] = {1e300, 1e300};
    for (unsigned long long r = 0; r < repeat; r++) {
        for (int m = 0; m < 2; m++) {
            double cpu = 0;
            for (size_t p = 0; p < passes; p++) {
                if (m == 0) {
                    shift_spans(&b, pass_ms);
                    clock += pass_ms;
                }
                double c0 = cpu_seconds();
                if (m == 0) {
                    walk_full(&b, clock + 1000);
                } else {
                    walk_empty(&b, clock + 1000);
                }
                cpu += cpu_seconds() - c0;
            }
            double ns = cpu * 1e9 / (double)(passes * spans_per_pass);
            if (ns < best[m]) {
                best[m] = ns;
            }
        }
    }
    uint64_t timed_spans = (uint64_t)passes * spans_per_pass;
    uint64_t refused = b.feed.refused;

    double added = best[0] - best[1];
    double per_slo = match_per_span > 0 ? added / match_per_span : 0;
    double n = (double)b.defs->n_slos;
    if (json) {
        printf("{\"slos\": %zu, \"services\": %llu, \"spans_timed\": %" PRIu64
               ", \"requests\": %zu, \"repeat\": %llu, \"rate\": %llu, \"heap\": %s,\n"
               " \"candidates_per_span\": %.3f, \"matching_slos_per_span\": %.3f,\n"
               " \"engine_adds_per_span\": %.4f,\n"
               " \"ns_per_span\": {\"full\": %.2f, \"empty\": %.2f},\n"
               " \"added_ns_per_span\": %.2f,\n"
               " \"added_ns_per_span_per_matching_slo\": %.2f, \"refused\": %" PRIu64 ",\n"
               " \"engine_bytes\": %zu, \"engine_bytes_per_slo\": %.1f, \"max_slo_bytes\": %zu,\n"
               " \"max_occurrences_slo_bytes\": %zu, \"max_timeslices_slo_bytes\": %zu,\n"
               " \"rss\": {\"start\": %" PRIu64 ", \"after_defs\": %" PRIu64
               ", \"before_engine\": %" PRIu64 ", \"after_new\": %" PRIu64
               ", \"after_30d\": %" PRIu64 "},\n"
               " \"rss_per_slo_after_30d\": %.1f}\n",
               b.defs->n_slos, n_services, timed_spans, b.n_reqs, repeat, rate,
               heap ? "true" : "false", cand_per_span,
               match_per_span, adds_per_span, best[0], best[1], added, per_slo, refused,
               eng_bytes, (double)eng_bytes / n, max_slo, max_occ, max_sl, rss0, rss_defs,
               rss_before, rss_new, rss_30d, (double)(rss_30d - rss_before) / n);
    } else {
        printf("slo-bench: %zu SLOs over %llu services, %" PRIu64
               " spans per mode (%zu requests of %d realistic spans, times at %llu spans/s), "
               "best of %llu, CPU time, requests decoded %s\n",
               b.defs->n_slos, n_services, timed_spans, b.n_reqs, SPANS_PER_REQ, rate, repeat,
               heap ? "by protobuf-c with malloc per field (--heap)"
                    : "by otterd's decoder into one arena each, as otterd");
        printf("per span: %.2f candidate SLOs after the resource matchers, %.2f matching SLOs "
               "(verdicts), %.4f slo_engine_add calls (verdicts summed per SLO and minute per "
               "request)\n",
               cand_per_span, match_per_span, adds_per_span);
        printf("| loop | ns/span |\n|---|---:|\n"
               "| full (ex_slo_feed_traces: the exporter's span path and slo_engine_add) | %.1f |\n"
               "| empty (walk only) | %.1f |\n",
               best[0], best[1]);
        printf("added per span: %.1f ns; per span per matching SLO: %.1f ns; refused adds: "
               "%" PRIu64 "\n",
               added, per_slo, refused);
        printf("memory: slo_engine_bytes %zu for %zu SLOs = %.0f B/SLO; largest SLO %zu B "
               "(Occurrences %zu, Timeslices %zu); limit 131072\n",
               eng_bytes, b.defs->n_slos, (double)eng_bytes / n, max_slo, max_occ, max_sl);
        printf("RSS: start %.1f MiB, definitions %.1f MiB, before engine %.1f MiB, after new "
               "%.1f MiB, after 30 days of clock %.1f MiB: %.0f B/SLO\n",
               (double)rss0 / 1048576, (double)rss_defs / 1048576, (double)rss_before / 1048576,
               (double)rss_new / 1048576, (double)rss_30d / 1048576,
               (double)(rss_30d - rss_before) / n);
    }
    if (b.sink == 42) {
        fprintf(stderr, "#\n"); /* keeps the floor's work observable */
    }

    for (size_t q = 0; q < b.n_reqs; q++) {
        b.reqs[q]->resource_spans[0]->resource->attributes[0]->value->string_value = orig_names[q];
        for (size_t r = 0; tracestate != NULL && r < b.reqs[q]->n_resource_spans; r++) {
            Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = b.reqs[q]->resource_spans[r];
            for (size_t ss = 0; ss < rs->n_scope_spans; ss++) {
                for (size_t k = 0; k < rs->scope_spans[ss]->n_spans; k++) {
                    rs->scope_spans[ss]->spans[k]->trace_state = ts_decoded;
                }
            }
        }
        if (heap) {
            opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
                b.reqs[q], NULL);
        }
        ag_arena_free(arenas[q]);
    }
    ag_free(arenas);
    ag_free(orig_names);
    ag_free(names);
    ag_free(b.reqs);
    ex_slo_feed_cleanup(&b.feed);
    slo_engine_free(b.eng);
    slo_sli_index_free(b.ix);
    slo_defs_free(b.defs);
    ag_buf_cleanup(&diag);
    return 0;
}
