/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The decode floor: protobuf-c unpack of the load generator's own pre-encoded requests in a tight
 * loop, each into a fresh per-request arena, on one core with no I/O. run_bench.py sets otterd's
 * items/s per core against this number, so a result reads "X % of what decoding alone allows".
 * With --decoder both it also runs otterd's own decoder (ag_otlp_pb_decode) on the same requests
 * and prints the two side by side with their ratio.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ag_arena.h"
#include "ag_mem.h"
#include "ag_otlp_pb.h"
#include "ag_time.h"
#include "bench_spans.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define BENCH_VARIANTS 16

struct bench_floor_opts {
    size_t spans_per_request;
    double seconds; /* per repetition */
    unsigned repeat;
    int json;
    int decoder; /* DECODER_* */
};

enum {
    DECODER_PBC = 0,  /* protobuf-c unpack only (the floor run_bench.py reads) */
    DECODER_OURS = 1, /* ag_otlp_pb_decode only */
    DECODER_BOTH = 2,
};

/* What one timed loop runs. */
enum loop_mode {
    LOOP_PBC_ARENA = 0,
    LOOP_PBC_MALLOC = 1,
    LOOP_OURS = 2,
};

struct bench_floor_result {
    double ns_per_span_arena;
    double ns_per_span_malloc;
    double ns_per_span_ours;
    double bytes_per_span;
    uint64_t spans;
};

static void *heap_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return ag_malloc(size);
}

static void heap_free(void *ctx, void *ptr)
{
    (void)ctx;
    ag_free(ptr);
}

/* protobuf-c's per-field allocation through the heap, for comparison with the arena. */
static ProtobufCAllocator heap_allocator = {heap_alloc, heap_free, NULL};

static void usage(void)
{
    fprintf(stderr, "usage: decode-floor [--shape small|realistic|all] [--spans-per-request N]\n"
                    "                    [--seconds S] [--repeat N] [--json]\n"
                    "                    [--decoder protobuf-c|otterd|both]\n"
                    "Unpacks pre-encoded ExportTraceServiceRequests in a loop for S CPU-seconds\n"
                    "(default 0.5), one arena per request, N times (default 3), and prints the\n"
                    "best ns/span and spans/s for one core; then the same with one heap\n"
                    "allocation per field. --decoder otterd times otterd's own decoder instead;\n"
                    "both times protobuf-c (arena) and otterd's in one run, with their ratio.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0') {
        return AG_EINVAL;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') {
        return AG_EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0') {
        return AG_EINVAL;
    }
    double v = strtod(s, &end);
    if (*end != '\0' || !(v > 0)) {
        return AG_EINVAL;
    }
    *out = v;
    return 0;
}

/*
 * CPU time of this process: otterd's cost is CPU-seconds from /proc, so the floor is measured the
 * same way and other load on the machine does not stretch it.
 */
static uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        return ag_time_mono_ns();
    }
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Decodes the variants round-robin for |seconds|: LOOP_PBC_ARENA gives each request its own
 * arena (what the receiver did), LOOP_PBC_MALLOC one heap allocation per field (ag_malloc) and
 * free_unpacked(), LOOP_OURS otterd's decoder into a fresh arena. Returns ns per span, or a
 * negative value when a request fails to decode.
 */
static double run_loop(uint8_t *const *bufs, const size_t *lens, size_t nspans, double seconds,
                       enum loop_mode mode, uint64_t *spans_out)
{
    uint64_t deadline = cpu_now_ns() + (uint64_t)(seconds * 1e9);
    uint64_t spans = 0;
    uint64_t t0 = cpu_now_ns();
    uint64_t now = t0;
    size_t v = 0;

    do {
        /* Check the clock every 64 requests: the loop must not measure clock_gettime. */
        for (int k = 0; k < 64; k++) {
            Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req;
            if (mode == LOOP_PBC_ARENA || mode == LOOP_OURS) {
                struct ag_arena *a = ag_arena_new(0);
                ProtobufCAllocator alloc;
                if (a == NULL) {
                    return -1;
                }
                if (mode == LOOP_OURS) {
                    ProtobufCMessage *m = NULL;
                    char err[256];
                    if (ag_otlp_pb_decode(AG_SIGNAL_TRACES, bufs[v], lens[v], a, &m, err,
                                          sizeof(err)) != 0) {
                        ag_arena_free(a);
                        return -1;
                    }
                    req =
                        (Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *)m;
                } else {
                    ag_arena_pb_allocator(a, &alloc);
                    req =
                        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                            &alloc, lens[v], bufs[v]);
                }
                if (req == NULL || req->n_resource_spans != 1 ||
                    req->resource_spans[0]->scope_spans[0]->n_spans != nspans) {
                    ag_arena_free(a);
                    return -1;
                }
                ag_arena_free(a);
            } else {
                req =
                    opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
                        &heap_allocator, lens[v], bufs[v]);
                if (req == NULL || req->resource_spans[0]->scope_spans[0]->n_spans != nspans) {
                    return -1;
                }
                opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
                    req, &heap_allocator);
            }
            spans += nspans;
            v = (v + 1) % BENCH_VARIANTS;
        }
        now = cpu_now_ns();
    } while (now < deadline);
    *spans_out = spans;
    return (double)(now - t0) / (double)spans;
}

static int run_shape(enum bench_shape shape, const struct bench_floor_opts *o,
                     struct bench_floor_result *res)
{
    uint8_t *bufs[BENCH_VARIANTS] = {0};
    size_t lens[BENCH_VARIANTS] = {0};
    size_t total = 0;
    uint64_t spans = 0;
    int rc = 0;

    for (size_t v = 0; v < BENCH_VARIANTS; v++) {
        rc = bench_spans_encode(shape, o->spans_per_request, v, ag_time_now_ns(), &bufs[v],
                                &lens[v]);
        if (rc != 0) {
            fprintf(stderr, "decode-floor: encoding failed: %s\n", ag_strerror(rc));
            goto out;
        }
        total += lens[v];
    }
    res->bytes_per_span = (double)total / (double)(BENCH_VARIANTS * o->spans_per_request);

    /* A short warm-up brings the allocator and caches to their steady state; then the best of
     * |repeat| runs, as the VM's noise only ever adds time. */
    (void)run_loop(bufs, lens, o->spans_per_request, 0.05, LOOP_PBC_ARENA, &spans);
    (void)run_loop(bufs, lens, o->spans_per_request, 0.05, LOOP_OURS, &spans);
    res->ns_per_span_arena = -1;
    res->ns_per_span_malloc = -1;
    res->ns_per_span_ours = -1;
    for (unsigned k = 0; k < o->repeat; k++) {
        uint64_t n = 0;
        if (o->decoder != DECODER_OURS) {
            double a = run_loop(bufs, lens, o->spans_per_request, o->seconds, LOOP_PBC_ARENA, &n);
            if (a < 0) {
                goto failed;
            }
            if (res->ns_per_span_arena < 0 || a < res->ns_per_span_arena) {
                res->ns_per_span_arena = a;
                res->spans = n;
            }
        }
        if (o->decoder == DECODER_PBC) {
            double m =
                run_loop(bufs, lens, o->spans_per_request, o->seconds / 2, LOOP_PBC_MALLOC, &n);
            if (m < 0) {
                goto failed;
            }
            if (res->ns_per_span_malloc < 0 || m < res->ns_per_span_malloc) {
                res->ns_per_span_malloc = m;
            }
        } else {
            double d = run_loop(bufs, lens, o->spans_per_request, o->seconds, LOOP_OURS, &n);
            if (d < 0) {
                goto failed;
            }
            if (res->ns_per_span_ours < 0 || d < res->ns_per_span_ours) {
                res->ns_per_span_ours = d;
                if (o->decoder == DECODER_OURS) {
                    res->spans = n;
                }
            }
        }
    }
    goto out;
failed:
    fprintf(stderr, "decode-floor: a request failed to decode\n");
    rc = AG_EPROTO;
out:
    for (size_t v = 0; v < BENCH_VARIANTS; v++) {
        ag_free(bufs[v]);
    }
    return rc;
}

/*
 * The --decoder otterd|both report: ns/span and spans/s of each decoder that ran and, for both,
 * how many times faster otterd's decoder is than protobuf-c's unpack.
 */
static int print_decoders(const struct bench_floor_opts *o, const int *shapes)
{
    int first = 1;
    int both = o->decoder == DECODER_BOTH;
    if (o->json) {
        printf("{\"spans_per_request\":%zu,\"decoder\":\"%s\",\"shapes\":{", o->spans_per_request,
               both ? "both" : "otterd");
    } else if (both) {
        printf("%-10s %8s %16s %16s %8s\n", "shape", "B/span", "protobuf-c ns/sp", "otterd ns/span",
               "ratio");
    } else {
        printf("%-10s %8s %16s %16s\n", "shape", "B/span", "otterd ns/span", "otterd spans/s");
    }
    for (int s = 0; s < 2; s++) {
        struct bench_floor_result r;
        if (!shapes[s]) {
            continue;
        }
        memset(&r, 0, sizeof(r));
        if (run_shape((enum bench_shape)s, o, &r) != 0) {
            return 1;
        }
        const char *name = bench_shape_name((enum bench_shape)s);
        if (o->json && both) {
            printf("%s\"%s\":{\"bytes_per_span\":%.1f,\"protobuf_c_ns_per_span\":%.1f,"
                   "\"otterd_ns_per_span\":%.1f,\"ratio\":%.2f}",
                   first ? "" : ",", name, r.bytes_per_span, r.ns_per_span_arena,
                   r.ns_per_span_ours, r.ns_per_span_arena / r.ns_per_span_ours);
        } else if (o->json) {
            printf("%s\"%s\":{\"bytes_per_span\":%.1f,\"otterd_ns_per_span\":%.1f,"
                   "\"otterd_spans_per_s\":%.0f,\"spans\":%" PRIu64 "}",
                   first ? "" : ",", name, r.bytes_per_span, r.ns_per_span_ours,
                   1e9 / r.ns_per_span_ours, r.spans);
        } else if (both) {
            printf("%-10s %8.1f %16.1f %16.1f %7.2fx\n", name, r.bytes_per_span,
                   r.ns_per_span_arena, r.ns_per_span_ours,
                   r.ns_per_span_arena / r.ns_per_span_ours);
        } else {
            printf("%-10s %8.1f %16.1f %16.0f\n", name, r.bytes_per_span, r.ns_per_span_ours,
                   1e9 / r.ns_per_span_ours);
        }
        first = 0;
    }
    if (o->json) {
        printf("}}\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_floor_opts o = {
        .spans_per_request = 100, .seconds = 0.5, .repeat = 3, .json = 0, .decoder = DECODER_PBC};
    int shapes[2] = {1, 1};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u = 0;
        if (strcmp(a, "--shape") == 0 && v != NULL) {
            enum bench_shape s;
            if (strcmp(v, "all") == 0) {
                shapes[0] = shapes[1] = 1;
            } else if (bench_shape_parse(v, &s) == 0) {
                shapes[0] = s == BENCH_SHAPE_SMALL;
                shapes[1] = s == BENCH_SHAPE_REALISTIC;
            } else {
                usage();
                return 2;
            }
            i++;
        } else if (strcmp(a, "--spans-per-request") == 0 && parse_u64(v, &u) == 0 && u > 0 &&
                   u <= 100000) {
            o.spans_per_request = (size_t)u;
            i++;
        } else if (strcmp(a, "--seconds") == 0 && parse_double(v, &o.seconds) == 0 &&
                   o.seconds <= 60) {
            i++;
        } else if (strcmp(a, "--repeat") == 0 && parse_u64(v, &u) == 0 && u > 0 && u <= 100) {
            o.repeat = (unsigned)u;
            i++;
        } else if (strcmp(a, "--decoder") == 0 && v != NULL) {
            if (strcmp(v, "protobuf-c") == 0) {
                o.decoder = DECODER_PBC;
            } else if (strcmp(v, "otterd") == 0) {
                o.decoder = DECODER_OURS;
            } else if (strcmp(v, "both") == 0) {
                o.decoder = DECODER_BOTH;
            } else {
                usage();
                return 2;
            }
            i++;
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else {
            usage();
            return 2;
        }
    }

    int first = 1;
    if (o.decoder != DECODER_PBC) {
        return print_decoders(&o, shapes);
    }
    if (o.json) {
        printf("{\"spans_per_request\":%zu,\"shapes\":{", o.spans_per_request);
    } else {
        printf("%-10s %8s %14s %14s %14s %14s\n", "shape", "B/span", "arena ns/span",
               "arena spans/s", "malloc ns/span", "malloc spans/s");
    }
    for (int s = 0; s < 2; s++) {
        struct bench_floor_result r;
        if (!shapes[s]) {
            continue;
        }
        memset(&r, 0, sizeof(r));
        if (run_shape((enum bench_shape)s, &o, &r) != 0) {
            return 1;
        }
        if (o.json) {
            printf("%s\"%s\":{\"bytes_per_span\":%.1f,\"arena_ns_per_span\":%.1f,"
                   "\"arena_spans_per_s\":%.0f,\"malloc_ns_per_span\":%.1f,"
                   "\"malloc_spans_per_s\":%.0f,\"spans\":%" PRIu64 "}",
                   first ? "" : ",", bench_shape_name((enum bench_shape)s), r.bytes_per_span,
                   r.ns_per_span_arena, 1e9 / r.ns_per_span_arena, r.ns_per_span_malloc,
                   1e9 / r.ns_per_span_malloc, r.spans);
        } else {
            printf("%-10s %8.1f %14.1f %14.0f %14.1f %14.0f\n",
                   bench_shape_name((enum bench_shape)s), r.bytes_per_span, r.ns_per_span_arena,
                   1e9 / r.ns_per_span_arena, r.ns_per_span_malloc, 1e9 / r.ns_per_span_malloc);
        }
        first = 0;
    }
    if (o.json) {
        printf("}}\n");
    }
    return 0;
}
