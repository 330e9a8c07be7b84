/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the span -> X-Ray segment translation: the input is an OTLP traces request in OTLP/JSON
 * or protobuf; every span of it is translated under a few option sets, and every document that
 * comes out must be one line of valid JSON, a JSON object, within 64 kB. A failure other than
 * "drop this span" (AG_EPROTO, AG_ETOOBIG) aborts. Seeds: corpus/xray_segment/.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_json.h"
#include "ag_mem.h"
#include "ag_otlp.h"
#include "ag_otlp_json.h"
#include "ex_xray_segment.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define FUZZ_XRAY_ARENA_CAP (16u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_xray_segment: %s: %s\n", what, detail ? detail : "");
    abort();
}

static uint64_t fixed_random(void *ctx)
{
    uint64_t *n = ctx;
    return ++*n;
}

static void check_docs(const struct ag_buf *out, size_t n_docs)
{
    const char *p = ag_buf_str(out), *end = p + out->len;
    size_t lines = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            die("document without a newline", p);
        }
        if ((size_t)(nl - p) > EX_XRAY_MAX_DOC_BYTES) {
            die("document over 64 kB", NULL);
        }
        json_error_t je;
        json_t *d = json_loadb(p, (size_t)(nl - p), 0, &je);
        if (d == NULL || !json_is_object(d)) {
            die("not a JSON object", je.text);
        }
        json_decref(d);
        lines++;
        p = nl + 1;
    }
    if (lines != n_docs) {
        die("document count differs from the result", NULL);
    }
}

/*
 * The escaped option must give, document by document, ag_json_escape() of the plain documents
 * in |plain| (the second pass it replaces), with the same counts. |counter| is rewound to
 * |before| so the random ids come out the same.
 */
static void check_escaped(const struct ex_xray_options *plain_opts,
                          const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs,
                          const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss,
                          const Opentelemetry__Proto__Trace__V1__Span *span,
                          const struct ag_buf *plain, const struct ex_xray_result *plain_res,
                          uint64_t *counter, uint64_t before)
{
    struct ex_xray_options o = *plain_opts;
    struct ex_xray_result res;
    struct ag_buf esc, want;
    o.escaped = true;
    *counter = before;
    ag_buf_init(&esc, 4u << 20);
    ag_buf_init(&want, 4u << 20);
    int rc = ex_xray_segment_write(&o, (const ProtobufCMessage *)rs->resource,
                                   (const ProtobufCMessage *)ss->scope,
                                   (const ProtobufCMessage *)span, &esc, &res);
    if (rc != 0 || res.n_docs != plain_res->n_docs || res.trimmed_docs != plain_res->trimmed_docs ||
        res.dropped_attributes != plain_res->dropped_attributes) {
        die("escaped form: another result", ag_strerror(rc));
    }
    const char *p = ag_buf_str(plain), *end = p + plain->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (ag_json_escape(&want, p, (size_t)(nl - p)) != 0 || ag_buf_addc(&want, '\n') != 0) {
            die("out of memory", NULL);
        }
        p = nl + 1;
    }
    if (want.len != esc.len || memcmp(ag_buf_str(&want), ag_buf_str(&esc), esc.len) != 0) {
        die("escaped form differs from the plain documents escaped", ag_buf_str(&esc));
    }
    ag_buf_cleanup(&esc);
    ag_buf_cleanup(&want);
}

static void
translate_all(const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req)
{
    static const char *const indexed[] = {"http.method", "aws.operation", "a", "otel.resource.x"};
    static const char *const groups[] = {"g"};
    uint64_t counter = 0;
    struct ex_xray_options opts[3];

    memset(opts, 0, sizeof(opts));
    opts[0].skip_timestamp_validation = true;
    opts[0].random = fixed_random;
    opts[0].random_ctx = &counter;
    opts[1] = opts[0];
    opts[1].index_all_attributes = true;
    opts[1].disallow_dot = true;
    opts[1].aws_log_groups = groups;
    opts[1].n_aws_log_groups = 1;
    opts[2] = opts[0];
    opts[2].skip_timestamp_validation = false;
    opts[2].indexed_attributes = indexed;
    opts[2].n_indexed_attributes = 4;

    for (size_t r = 0; r < req->n_resource_spans; r++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
        for (size_t s = 0; s < rs->n_scope_spans; s++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
            for (size_t i = 0; i < ss->n_spans; i++) {
                for (size_t k = 0; k < 3; k++) {
                    struct ag_buf out;
                    struct ex_xray_result res;
                    uint64_t before = counter;
                    ag_buf_init(&out, 1u << 20);
                    int rc =
                        ex_xray_segment_write(&opts[k], (const ProtobufCMessage *)rs->resource,
                                              (const ProtobufCMessage *)ss->scope,
                                              (const ProtobufCMessage *)ss->spans[i], &out, &res);
                    if (rc == 0) {
                        check_docs(&out, res.n_docs);
                        check_escaped(&opts[k], rs, ss, ss->spans[i], &out, &res, &counter, before);
                    } else if (rc != AG_EPROTO && rc != AG_ETOOBIG) {
                        die("unexpected error", ag_strerror(rc));
                    } else if (out.len != 0) {
                        die("output left behind a failure", NULL);
                    }
                    ag_buf_cleanup(&out);
                }
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct ag_arena *arena = ag_arena_new(FUZZ_XRAY_ARENA_CAP);
    ProtobufCMessage *msg = NULL;

    if (arena == NULL) {
        abort();
    }
    json_set_alloc_funcs(ag_malloc, ag_free);
    int rc = ag_otlp_json_decode(AG_SIGNAL_TRACES, data, size, arena, &msg, err, sizeof(err));
    if (rc != 0) {
        ag_arena_free(arena);
        arena = ag_arena_new(FUZZ_XRAY_ARENA_CAP);
        if (arena == NULL) {
            abort();
        }
        msg = NULL;
        rc = ag_otlp_decode(AG_SIGNAL_TRACES, AG_OTLP_PROTOBUF, data, size, arena, &msg, err,
                            sizeof(err));
    }
    /* Not validated: the translation must cope with ids of any length itself. */
    if (rc == 0) {
        translate_all((const void *)msg);
    }
    ag_arena_free(arena);
    return 0;
}
