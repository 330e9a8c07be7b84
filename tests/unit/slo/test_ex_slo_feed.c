/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the slo exporter's span feed (exporters/slo/ex_slo_feed.c) on sampled spans:
 * each span weighted by the adjusted count its tracestate records (specs/slo.md §2.1), whole
 * events only reaching the engine with the fractions carried per SLO, `sampling: ignore`, the
 * zero adjusted count, a malformed tracestate counted 1. Decoded requests are built by hand as
 * the receiver would produce them; what reached the engine is read from the feed's emit_good /
 * emit_total (every accepted add) and from slo_engine_eval(). Counts worked out in comments.
 */
#include "ag_test.h"
#include "ag_buf.h"
#include "ex_slo_feed.h"
#include "slo_eval.h"

#include <string.h>

typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

static const char defs_yaml[] =
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: avail}\n" /* 0: weighted */
    "spec: {service: api, objective: \"99\", window: 1h, sli: {spans: {availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: avail-raw}\n" /* 1: ignore */
    "spec: {service: api, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {sampling: ignore, availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: fast}\n" /* 2: weighted latency */
    "spec: {service: api, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {latency: {threshold: 100ms}}}}\n";

#define MS    1000000ull
#define T0_MS 1790000040000ll /* 40 s into a minute */

struct span_spec {
    const char *ts;
    bool error;
    uint64_t dur_ms;
    int64_t end_ms;
};

/* Feeds one request of service "api" with |n| server spans. */
static void feed(struct ex_slo_feed *f, const struct span_spec *sp, size_t n)
{
    Opentelemetry__Proto__Common__V1__AnyValue sv =
        OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    sv.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
    sv.string_value = "api";
    KeyValue kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv.key = "service.name";
    kv.value = &sv;
    KeyValue *kvs[] = {&kv};
    Opentelemetry__Proto__Resource__V1__Resource res =
        OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = kvs;
    Span spans[16];
    Span *pspans[16];
    Opentelemetry__Proto__Trace__V1__Status ok = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    Opentelemetry__Proto__Trace__V1__Status err = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    err.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    for (size_t i = 0; i < n; i++) {
        Span s = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
        s.kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
        s.trace_state = (char *)(sp[i].ts != NULL ? sp[i].ts : "");
        s.status = sp[i].error ? &err : &ok;
        s.end_time_unix_nano = (uint64_t)sp[i].end_ms * MS;
        s.start_time_unix_nano = s.end_time_unix_nano - sp[i].dur_ms * MS;
        spans[i] = s;
        pspans[i] = &spans[i];
    }
    Opentelemetry__Proto__Trace__V1__ScopeSpans ss =
        OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    ss.n_spans = n;
    ss.spans = pspans;
    Opentelemetry__Proto__Trace__V1__ScopeSpans *pss[] = {&ss};
    Opentelemetry__Proto__Trace__V1__ResourceSpans rs =
        OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    rs.resource = &res;
    rs.n_scope_spans = 1;
    rs.scope_spans = pss;
    Opentelemetry__Proto__Trace__V1__ResourceSpans *prs[] = {&rs};
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.n_resource_spans = 1;
    req.resource_spans = prs;
    ex_slo_feed_traces(f, &req, T0_MS + 600000);
}

#define EMITTED(f, slo, g, t)                    \
    do {                                         \
        ASSERT_UEQ((f)->emit_good[(slo)], (g));  \
        ASSERT_UEQ((f)->emit_total[(slo)], (t)); \
    } while (0)

static void test_weighted(void)
{
    struct ag_buf diag;
    ag_buf_init(&diag, 4096);
    struct slo_defs *defs = NULL;
    struct slo_sli_index *ix = NULL;
    struct slo_engine *eng = NULL;
    struct ex_slo_feed f;
    memset(&f, 0, sizeof(f));
    ASSERT_OK(slo_defs_new(&diag, &defs));
    ASSERT_OK(slo_defs_add(defs, "f.yaml", defs_yaml, strlen(defs_yaml)));
    ASSERT_OK(slo_defs_finish(defs));
    ASSERT_OK(slo_sli_index_new(defs, &ix));
    ASSERT_OK(slo_engine_new(defs, T0_MS - 600000, NULL, &eng));
    ASSERT_OK(ex_slo_feed_init(&f, "slo", defs, ix, eng));

    /* Request 1, one minute. Weights (test_slo_sampling.c): none 1; th:c 4; th:aaab
     * 3 + 196611 * 2^-32; th:zz malformed: 1; p:63 zero; th:8 2. */
    const struct span_spec r1[] = {
        {NULL, false, 50, T0_MS},         /* good, fast */
        {"ot=th:c", false, 50, T0_MS},    /* good, fast */
        {"ot=th:c", true, 150, T0_MS},    /* bad, slow */
        {"ot=th:aaab", false, 50, T0_MS}, /* good, fast */
        {"ot=th:zz", false, 50, T0_MS},   /* good, fast */
        {"ot=p:63", false, 50, T0_MS},    /* good, fast */
        {"ot=th:8", true, 50, T0_MS},     /* bad, fast */
    };
    feed(&f, r1, 7);
    /* avail (weighted): good 1 + 4 + 3 + 1 + 0 = 9 (th:aaab's fraction carried), bad 4 + 2 = 6:
     * 9 of 15. avail-raw (ignore): good 5 (p:63 counts 1 too), bad 2: 5 of 7. fast (weighted):
     * good 1 + 4 + 3 + 1 + 0 + 2 = 11, slow 4: 11 of 15. */
    EMITTED(&f, 0, 9, 15);
    EMITTED(&f, 1, 5, 7);
    EMITTED(&f, 2, 11, 15);
    /* weighted: th:c twice, th:aaab, p:63, th:8 (th:zz counts 1 but is malformed) */
    ASSERT_UEQ(f.ts_weighted, 5);
    ASSERT_UEQ(f.ts_malformed, 1);

    /* Request 2: five good fast spans of th:6 one minute later (2^56 - 0x6 * 2^52 = 5 * 2^53:
     * count 8/5 = 1.6, in 2^-32: 6871947673.6 rounded to 6871947674 = 2^32 + 2576980378), then
     * a bad slow th:c of the first minute (the sum of the other minute is added first).
     * avail: the good fractions add up to 196611 + 5 * 2576980378 = 12885098501 = 3 * 2^32 +
     * 196613: 5 + 3 = 8 good events (196613 * 2^-32 carried); bad 4. 17 of 27.
     * avail-raw: 10 of 13. fast: the same 8 good, 4 slow: 19 of 27. */
    const struct span_spec r2[] = {
        {"ot=th:6", false, 10, T0_MS + 60000}, {"ot=th:6", false, 10, T0_MS + 60000},
        {"ot=th:6", false, 10, T0_MS + 60000}, {"ot=th:6", false, 10, T0_MS + 60000},
        {"ot=th:6", false, 10, T0_MS + 60000}, {"ot=th:c", true, 150, T0_MS},
    };
    feed(&f, r2, 6);
    EMITTED(&f, 0, 17, 27);
    EMITTED(&f, 1, 10, 13);
    EMITTED(&f, 2, 19, 27);
    ASSERT_UEQ(f.ts_weighted, 11);
    ASSERT_UEQ(f.refused, 0);

    /* The engine holds the same counts (its 1-minute buckets closed by T0 + 3 min). */
    struct slo_eval ev;
    memset(&ev, 0, sizeof(ev));
    ASSERT_OK(slo_engine_eval(eng, 0, T0_MS + 180000, &ev));
    ASSERT_UEQ(ev.budget.good, 17);
    ASSERT_UEQ(ev.budget.total, 27);
    slo_eval_release(&ev);
    memset(&ev, 0, sizeof(ev));
    ASSERT_OK(slo_engine_eval(eng, 1, T0_MS + 180000, &ev));
    ASSERT_UEQ(ev.budget.good, 10);
    ASSERT_UEQ(ev.budget.total, 13);
    slo_eval_release(&ev);

    /* A huge adjusted count (th:ffffffffffffff: 2^56) is refused by the engine (a 1-minute
     * bucket holds at most 2^32 - 1 events) and counted, not wrapped; avail-raw takes its 1. */
    const struct span_spec r3[] = {{"ot=th:ffffffffffffff", false, 10, T0_MS + 120000}};
    feed(&f, r3, 1);
    ASSERT_UEQ(f.refused, 2); /* avail and fast */
    ASSERT_UEQ(f.refused_events, 2ull << 56);
    EMITTED(&f, 1, 11, 14);

    ex_slo_feed_cleanup(&f);
    slo_engine_free(eng);
    slo_sli_index_free(ix);
    slo_defs_free(defs);
    ag_buf_cleanup(&diag);
}

AG_TEST_MAIN(AG_TEST_CASE(test_weighted))
