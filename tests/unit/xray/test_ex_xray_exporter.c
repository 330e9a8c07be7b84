/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the awsxray exporter as otterd builds it (config -> create -> consume), with the
 * real AWS client against the in-process scripted HTTP server of tests/unit/aws: spans in, the
 * PutTraceSegments bodies out; the drop counters (invalid trace id, too big); raw documents from
 * the awsxray receiver; a full queue refusing with AG_EAGAIN; other signals refused.
 */
#include "ag_test.h"
#include "config.h"
#include "ag_arena.h"
#include "ag_config.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_otlp_json.h"
#include "ag_payload.h"
#include "exporter_fixture.h"
#include "ex_xray_exporter.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* Starts the server and an exporter whose config adds |extra| (YAML lines at 4 spaces). */
static int fix_start(struct exporter_fix *f, const char *id, const char *extra)
{
    return exporter_fix_start(f, &ex_xray_exporter_ops, AG_SIGNAL_TRACES, id, extra);
}


/* A trace payload with spans whose trace ids start with |epochs| (0 = a W3C-style id). */
static struct ag_payload *payload(const uint32_t *epochs, size_t n)
{
    size_t cap = 64 + n * 256;
    char *json = ag_malloc(cap);
    if (json == NULL) {
        return NULL;
    }
    size_t off = (size_t)snprintf(json, cap,
                                  "{\"resourceSpans\":[{\"scopeSpans\":"
                                  "[{\"spans\":[");
    for (size_t i = 0; i < n; i++) {
        uint32_t e = epochs[i] ? epochs[i] : 0x4bf92f35u;
        off += (size_t)snprintf(json + off, cap - off,
                                "%s{\"traceId\":\"%08x77b34da6a3ce929d0e0e4736\",\"spanId\":"
                                "\"%016zx\",\"name\":\"s\",\"kind\":2,\"startTimeUnixNano\":"
                                "\"%llu\",\"endTimeUnixNano\":\"%llu\"}",
                                i ? "," : "", e, i + 1, (unsigned long long)e * 1000000000ull,
                                (unsigned long long)e * 1000000000ull + 1000);
    }
    snprintf(json + off, cap - off, "]}]}]}");
    struct ag_arena *a = ag_arena_new(0);
    ProtobufCMessage *msg = NULL;
    char err[256];
    int rc = a == NULL ? AG_ENOMEM
                       : ag_otlp_json_decode(AG_SIGNAL_TRACES, (const uint8_t *)json, strlen(json),
                                             a, &msg, err, sizeof(err));
    ag_free(json);
    if (rc != 0) {
        ag_arena_free(a);
        return NULL;
    }
    return ag_payload_new(AG_SIGNAL_TRACES, a, msg, n);
}

static void test_consume_sends_and_counts_drops(void)
{
    struct exporter_fix f;
    ASSERT_OK(fix_start(&f, "awsxray", ""));
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{\"UnprocessedTraceSegments\":[]}"});
    uint32_t now = (uint32_t)time(NULL) - 60;
    uint32_t epochs[] = {now, 0, now};
    struct ag_payload *p = payload(epochs, 3);
    ASSERT_NOT_NULL(p);
    ASSERT_OK(ex_xray_exporter_ops.consume(f.x, p));
    ag_payload_unref(p);
    int sent_2 = 0;
    for (int i = 0; i < 300 && !sent_2; i++) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(f.base, &tv);
        event_base_dispatch(f.base);
        sent_2 = fix_counter("otter_exporter_documents_sent_total", "exporter=\"awsxray\"") == 2;
    }
    ASSERT(sent_2);
    ASSERT_EQ(fix_counter("otter_exporter_dropped_total",
                      "exporter=\"awsxray\",reason=\"invalid_trace_id\""),
              1);
    ASSERT_EQ(f.s.n_seen, 1);
    ASSERT_STREQ(f.s.seen[0].method, "POST");
    ASSERT_STREQ(f.s.seen[0].uri, "/TraceSegments");
    char ct[64];
    ASSERT_STREQ(ts_header(&f.s.seen[0], "content-type", ct, sizeof(ct)), "application/json");
    json_error_t e;
    json_t *root = json_loadb(f.s.seen[0].body, f.s.seen[0].body_len, 0, &e);
    json_t *docs = json_object_get(root, "TraceSegmentDocuments");
    ASSERT_EQ(json_array_size(docs), 2);
    json_t *d0 = json_loads(json_string_value(json_array_get(docs, 0)), 0, &e);
    json_t *d1 = json_loads(json_string_value(json_array_get(docs, 1)), 0, &e);
    ASSERT_STREQ(json_string_value(json_object_get(d0, "id")), "0000000000000001");
    ASSERT_STREQ(json_string_value(json_object_get(d1, "id")), "0000000000000003");
    char tid[64];
    snprintf(tid, sizeof(tid), "1-%08x-77b34da6a3ce929d0e0e4736", now);
    ASSERT_STREQ(json_string_value(json_object_get(d0, "trace_id")), tid);
    json_decref(d0);
    json_decref(d1);
    json_decref(root);
    /* Other signals are not X-Ray's. */
    struct ag_payload other = {.signal = AG_SIGNAL_METRICS};
    ASSERT_EQ(ex_xray_exporter_ops.consume(f.x, &other), AG_EUNSUPP);
    exporter_fix_stop(&f);
}

/*
 * A payload is taken only when its documents are expected to fit: (spans) x (the average
 * document so far). queue_size 1 = 65,536 bytes; a raw 50,000-byte document takes most of it
 * and the first payload (1 span, nothing known yet: estimate 0) sets the average, some 200-300
 * bytes for these spans. Room left: 65,536 - 50,000 - one document, about 15,300 bytes: 100
 * spans (about 25,000 expected; over 15,300 for any document above 154 bytes) are refused
 * although the queue is not full; 10 spans (about 2,500; under 15,300 for any document below
 * 1,530 bytes) are taken.
 */
static void test_payload_estimate(void)
{
    struct exporter_fix f;
    ASSERT_OK(fix_start(&f, "awsxray/e", "    request_timeout_seconds: 1\n    max_retries: 0\n"
                                         "    sending_queue: {queue_size: 1}\n"));
    ts_push(&f.s, (struct ts_answer){.no_reply = true});
    static char big[50000];
    memset(big, 'x', sizeof(big));
    static const char head[] = "{\"id\":\"00000000000000b1\",\"name\":\"";
    memcpy(big, head, sizeof(head) - 1);
    big[sizeof(big) - 2] = '"';
    big[sizeof(big) - 1] = '}';
    ASSERT_OK(ex_xray_exporter_ops.consume_xray(f.x, (const uint8_t *)big, sizeof(big)));
    uint32_t epochs[100];
    for (size_t i = 0; i < 100; i++) {
        epochs[i] = (uint32_t)time(NULL) - 60;
    }
    struct ag_payload *one = payload(epochs, 1);
    struct ag_payload *hundred = payload(epochs, 100);
    struct ag_payload *ten = payload(epochs, 10);
    ASSERT(one != NULL && hundred != NULL && ten != NULL);
    ASSERT_OK(ex_xray_exporter_ops.consume(f.x, one));
    ASSERT_EQ(ex_xray_exporter_ops.consume(f.x, hundred), AG_EAGAIN);
    ASSERT_OK(ex_xray_exporter_ops.consume(f.x, ten));
    ag_payload_unref(one);
    ag_payload_unref(hundred);
    ag_payload_unref(ten);
    ex_xray_exporter_ops.destroy(f.x);
    f.x = NULL;
    /* The raw document and the 11 spans' documents time out and are counted failed. */
    ASSERT_EQ(fix_counter("otter_exporter_documents_failed_total", "exporter=\"awsxray/e\""), 12);
    exporter_fix_stop(&f);
}

static void test_raw_documents_and_full_queue(void)
{
    struct exporter_fix f;
    /* queue_size 1 = 64 KiB of documents; answers never come until the 1 s timeout. */
    ASSERT_OK(fix_start(&f, "awsxray/q", "    request_timeout_seconds: 1\n    max_retries: 0\n"
                                         "    sending_queue: {queue_size: 1}\n"));
    ts_push(&f.s, (struct ts_answer){.no_reply = true});
    ASSERT_NOT_NULL(ex_xray_exporter_ops.consume_xray);
    static char big[70000];
    memset(big, 'x', sizeof(big));
    int n = snprintf(big, sizeof(big), "{\"id\":\"00000000000000a1\",\"name\":\"");
    big[n + 40000] = '"';
    big[n + 40001] = '}';
    size_t len = (size_t)n + 40002;
    ASSERT_OK(ex_xray_exporter_ops.consume_xray(f.x, (const uint8_t *)big, len));
    ASSERT_OK(ex_xray_exporter_ops.consume_xray(f.x, (const uint8_t *)big, len));
    /* 80 kB queued and in flight: past 64 KiB, refused for now. */
    ASSERT_EQ(ex_xray_exporter_ops.consume_xray(f.x, (const uint8_t *)big, len), AG_EAGAIN);
    uint32_t epochs[] = {(uint32_t)time(NULL)};
    struct ag_payload *p = payload(epochs, 1);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(ex_xray_exporter_ops.consume(f.x, p), AG_EAGAIN);
    ag_payload_unref(p);
    /* Over 64 kB, or without an id: refused for good. */
    ASSERT_EQ(ex_xray_exporter_ops.consume_xray(f.x, (const uint8_t *)big, 65537), AG_ETOOBIG);
    ASSERT_EQ(fix_counter("otter_exporter_dropped_total",
                      "exporter=\"awsxray/q\",reason=\"too_big\""),
              1);
    /* Destroy drains: the calls time out after 1 s and their documents are counted failed. */
    ex_xray_exporter_ops.destroy(f.x);
    f.x = NULL;
    ASSERT_EQ(fix_counter("otter_exporter_documents_failed_total", "exporter=\"awsxray/q\""), 2);
    exporter_fix_stop(&f);
}

static void test_raw_document_without_id(void)
{
    struct exporter_fix f;
    ASSERT_OK(fix_start(&f, "awsxray/n", ""));
    const char *doc = "{\"name\":\"x\",\"trace_id\":\"1-5f000000-000000000000000000000001\"}";
    ASSERT_EQ(ex_xray_exporter_ops.consume_xray(f.x, (const uint8_t *)doc, strlen(doc)),
              AG_EPROTO);
    ASSERT_EQ(f.s.n_seen, 0);
    exporter_fix_stop(&f);
}

/*
 * A payload that fills several translation chunks (3,000 spans, some 750 kB of documents) is
 * taken whole or not at all: with allocation n failing (every n until one succeeds), each refusal
 * leaves nothing queued, so when the payload finally goes, X-Ray gets each of its
 * 3,000 documents exactly once. Before the hold, the chunks queued before the failing one stayed
 * and went out with the next attempt's copies.
 */
static void test_refused_payload_leaves_nothing(void)
{
#if AG_FAILMALLOC
    struct exporter_fix f;
    ASSERT_OK(fix_start(&f, "awsxray/all", "    sending_queue: {queue_size: 100}\n"));
    enum { N = 3000 };
    static uint32_t epochs[N];
    for (size_t i = 0; i < N; i++) {
        epochs[i] = (uint32_t)time(NULL) - 60;
    }
    struct ag_payload *p = payload(epochs, N);
    ASSERT_NOT_NULL(p);
    int rc = AG_ENOMEM, refused = 0;
    for (long n = 0; rc != 0; n++) {
        ASSERT(n < 100000);
        ag_mem_fail_after(n);
        rc = ex_xray_exporter_ops.consume(f.x, p);
        ag_mem_fail_after(-1);
        if (rc != 0) {
            ASSERT_EQ(rc, AG_ENOMEM);
            refused++;
        }
    }
    ag_payload_unref(p);
    /* The call the last attempt started may have met the failing allocator too: the queue's
     * retry timer starts it again (nothing else would: no flush, no other push). */
    /* Some refusals came after the first chunk was queued: more than one chunk's worth of
     * allocations failed in turn (the translation's own and the queue's). */
    ASSERT(refused > 3);
    exporter_fix_run_until(&f, "otter_exporter_documents_sent_total", "exporter=\"awsxray/all\"",
                           N);
    /* Nothing more comes: no document of a refused attempt was left in the queue. */
    for (int i = 0; i < 20; i++) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(f.base, &tv);
        event_base_dispatch(f.base);
    }
    ASSERT_EQ(fix_counter("otter_exporter_documents_sent_total", "exporter=\"awsxray/all\""), N);
    ASSERT_EQ(fix_counter("otter_exporter_documents_failed_total", "exporter=\"awsxray/all\""), 0);
    exporter_fix_stop(&f);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static void test_teardown(void)
{
    ag_metrics_reset();
}

AG_TEST_MAIN(AG_TEST_CASE(test_consume_sends_and_counts_drops),
             AG_TEST_CASE(test_raw_documents_and_full_queue), AG_TEST_CASE(test_payload_estimate),
             AG_TEST_CASE(test_raw_document_without_id),
             AG_TEST_CASE(test_refused_payload_leaves_nothing), AG_TEST_CASE(test_teardown))
