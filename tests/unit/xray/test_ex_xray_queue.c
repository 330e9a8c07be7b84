/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ex_xray_queue, the awsxray exporter's batcher, through a fake sender that keeps
 * each call and answers it when the test says: 51 documents -> calls of 50 and 1, the body parsed
 * back with jansson (each element equals its document), the 64 kB document limit, the in-flight
 * limit, UnprocessedTraceSegments retried then dropped, failed calls, the byte bound, closing,
 * draining through the loop, and failmalloc.
 */
#include "ag_test.h"
#include "ag_buf.h"
#include "ag_json.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ex_xray_queue.h"
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MAX_CALLS 64

struct fake_call {
    char *body;
    size_t len;
    char method[8];
    char path[32];
    char content_type[32];
    ex_aws_call_fn *done;
    void *arg;
    int answered;
};

struct fake {
    struct event_base *base;
    struct fake_call calls[MAX_CALLS];
    size_t n;
    int fail_send;     /* send returns this when non-zero */
    int auto_answer;   /* answer from the loop with auto_body */
    const char *auto_body;
};

static int fake_send(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done, void *arg)
{
    struct fake *f = ctx;
    if (f->fail_send != 0) {
        return f->fail_send;
    }
    if (f->n == MAX_CALLS) {
        return AG_ENOMEM;
    }
    struct fake_call *c = &f->calls[f->n];
    memset(c, 0, sizeof(*c));
    c->body = ag_strndup((const char *)call->body, call->body_len);
    if (c->body == NULL) {
        return AG_ENOMEM;
    }
    f->n++;
    c->len = call->body_len;
    snprintf(c->method, sizeof(c->method), "%s", call->method);
    snprintf(c->path, sizeof(c->path), "%s", call->path);
    snprintf(c->content_type, sizeof(c->content_type), "%s", call->content_type);
    c->done = done;
    c->arg = arg;
    return 0;
}

/* Answers call |i| with |rc| and |body| (a 200 when rc is 0). */
static void answer(struct fake *f, size_t i, int rc, const char *code, const char *body)
{
    struct fake_call *c = &f->calls[i];
    struct ex_aws_result res;
    memset(&res, 0, sizeof(res));
    res.rc = rc;
    res.status = rc == 0 ? 200 : 400;
    res.attempts = 3;
    if (code != NULL) {
        snprintf(res.error.code, sizeof(res.error.code), "%s", code);
        snprintf(res.error.message, sizeof(res.error.message), "said no");
    }
    res.body = (const uint8_t *)body;
    res.body_len = body != NULL ? strlen(body) : 0;
    c->answered = 1;
    c->done(c->arg, &res);
}

static void fake_cleanup(struct fake *f)
{
    for (size_t i = 0; i < f->n; i++) {
        ag_free(f->calls[i].body);
    }
    f->n = 0;
}

static struct ex_xray_queue *make_queue(struct fake *f, const char *id, size_t max_bytes,
                                        unsigned in_flight, unsigned retries)
{
    struct ex_xray_queue_options o = {.id = id, .max_bytes = max_bytes,
                                      .max_in_flight = in_flight, .max_retries = retries,
                                      .drain_timeout_ms = 2000};
    struct ex_xray_sender s = {fake_send, f};
    struct ex_xray_queue *q = NULL;
    if (ex_xray_queue_new(f->base, &o, &s, &q) != 0) {
        return NULL;
    }
    return q;
}

/* Document |i|: escaping-heavy text, and an id made from |i| (16 hex digits). */
static int make_doc(struct ag_buf *b, unsigned i)
{
    return ag_buf_printf(b, "{\"name\":\"s\\\"v<&>\\u00e9 %u\",\"id\":\"%016x\",\"trace_id\":"
                            "\"1-5f000000-000000000000000000000001\"}\n", i, i);
}

/* Checks that call |c|'s body is {"TraceSegmentDocuments":[...]} with the documents first..
 * first+n-1 as make_doc() wrote them. Returns 1 when it is. */
static int body_has_docs(const struct fake_call *c, unsigned first, size_t n)
{
    json_error_t e;
    json_t *root = json_loadb(c->body, c->len, 0, &e);
    json_t *arr = json_object_get(root, "TraceSegmentDocuments");
    int ok = root != NULL && json_object_size(root) == 1 && json_array_size(arr) == n;
    for (size_t i = 0; ok && i < n; i++) {
        struct ag_buf want;
        ag_buf_init(&want, 4096);
        ok = make_doc(&want, first + (unsigned)i) == 0;
        const char *got = json_string_value(json_array_get(arr, i));
        ok = ok && got != NULL && strlen(got) + 1 == want.len &&
             memcmp(got, ag_buf_str(&want), want.len - 1) == 0;
        ag_buf_cleanup(&want);
    }
    json_decref(root);
    return ok;
}

static void test_doc_id(void)
{
    char id[17];
    const char *d1 = "{\"name\":\"a\\\"id\\\":\",\"id\":\"0123456789abcdef\"}";
    ASSERT_OK(ex_xray_doc_id(d1, strlen(d1), id));
    ASSERT_STREQ(id, "0123456789abcdef");
    /* Nested ids, and an "id" inside a string value, are not the segment's. */
    const char *d2 = "{\"x\":{\"id\":\"1111111111111111\"},\"l\":[{\"id\":\"3\"}],\"v\":\"id\","
                     "\"id\":\"2222222222222222\"}";
    ASSERT_OK(ex_xray_doc_id(d2, strlen(d2), id));
    ASSERT_STREQ(id, "2222222222222222");
    const char *d3 = "{ \"id\" :\t\"abcdefabcdefabcd\" }";
    ASSERT_OK(ex_xray_doc_id(d3, strlen(d3), id));
    ASSERT_STREQ(id, "abcdefabcdefabcd");
    const char *bad[] = {"{\"name\":\"x\"}", "{\"id\":\"ABCDEFABCDEFABCD\"}",
                         "{\"id\":\"0123\"}", "{\"id\":1}", "[\"id\",\"0123456789abcdef\"]",
                         "{\"id\"", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(ex_xray_doc_id(bad[i], strlen(bad[i]), id), AG_EPROTO);
    }
}

static void test_batch_51(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_xray_queue *q = make_queue(&f, "t51", 1 << 20, 8, 2);
    ASSERT_NOT_NULL(q);
    struct ag_buf docs;
    ag_buf_init(&docs, 1 << 20);
    for (unsigned i = 0; i < 51; i++) {
        ASSERT_OK(make_doc(&docs, i));
    }
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&docs), docs.len));
    ASSERT_EQ(f.n, 2);
    ASSERT_STREQ(f.calls[0].method, "POST");
    ASSERT_STREQ(f.calls[0].path, "/TraceSegments");
    ASSERT_STREQ(f.calls[0].content_type, "application/json");
    ASSERT(body_has_docs(&f.calls[0], 0, 50));
    ASSERT(body_has_docs(&f.calls[1], 50, 1));
    ASSERT_EQ(ex_xray_queue_in_flight(q), 2);
    ASSERT_EQ(ex_xray_queue_in_flight_docs(q), 51);
    ASSERT_EQ(ex_xray_queue_queued(q), 0);
    answer(&f, 1, 0, NULL, "{\"UnprocessedTraceSegments\":[]}");
    answer(&f, 0, 0, NULL, "{}");
    ASSERT_EQ(ex_xray_queue_stats(q)->sent, 51);
    ASSERT_EQ(ex_xray_queue_stats(q)->calls, 2);
    ASSERT_EQ(ex_xray_queue_in_flight(q), 0);
    ASSERT_EQ(ag_metric_value(ag_metrics_counter("otter_exporter_documents_sent_total", "",
                                                 "exporter=\"t51\"")),
              51);
    ag_buf_cleanup(&docs);
    ex_xray_queue_free(q);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_in_flight_limit(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_xray_queue *q = make_queue(&f, "tif", 1 << 20, 1, 2);
    ASSERT_NOT_NULL(q);
    struct ag_buf docs;
    ag_buf_init(&docs, 1 << 20);
    for (unsigned i = 0; i < 120; i++) {
        ASSERT_OK(make_doc(&docs, i));
    }
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&docs), docs.len));
    ASSERT_EQ(f.n, 1);
    ASSERT_EQ(ex_xray_queue_queued(q), 70);
    ex_xray_queue_pump(q); /* the flush starts nothing while the one worker is busy */
    ASSERT_EQ(f.n, 1);
    answer(&f, 0, 0, NULL, "{}");
    ASSERT_EQ(f.n, 2);
    ASSERT(body_has_docs(&f.calls[1], 50, 50));
    answer(&f, 1, 0, NULL, "{}");
    ASSERT_EQ(f.n, 3);
    ASSERT(body_has_docs(&f.calls[2], 100, 20));
    answer(&f, 2, 0, NULL, "{}");
    ASSERT_EQ(ex_xray_queue_stats(q)->sent, 120);
    ag_buf_cleanup(&docs);
    ex_xray_queue_free(q);
    fake_cleanup(&f);
    event_base_free(f.base);
}

/* Appends a document of exactly |len| bytes (>= 32) whose filler is 'x', or pairs of '\\' and
 * '"' (the characters escaping doubles) with |escapes|. */
static int sized_doc(struct ag_buf *b, size_t len, int escapes, unsigned idn)
{
    size_t start = b->len;
    int rc = ag_buf_printf(b, "{\"id\":\"%016x\",\"n\":\"", idn); /* 30 bytes */
    size_t fill = len - 30 - 2;
    for (size_t i = 0; rc == 0 && i < fill; i++) {
        rc = ag_buf_addc(b, escapes ? (i % 2 == 0 ? '\\' : '"') : 'x');
    }
    if (rc == 0) {
        rc = ag_buf_adds(b, "\"}");
    }
    return rc == 0 && b->len - start == len ? 0 : AG_EINVAL;
}

static void test_doc_size_limit(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_xray_queue *q = make_queue(&f, "tsz", 64u << 20, 1, 2);
    ASSERT_NOT_NULL(q);
    struct ag_buf d;
    ag_buf_init(&d, 8u << 20);
    ASSERT_OK(sized_doc(&d, 65537, 0, 1));
    ASSERT_EQ(d.len, 65537);
    ASSERT_EQ(ex_xray_queue_push_doc(q, ag_buf_str(&d), d.len), AG_EPROTO);
    ASSERT_EQ(f.n, 0);
    ag_buf_reset(&d);
    /* A full batch of 64 kB documents made of the characters escaping doubles. */
    for (unsigned i = 0; i < 50; i++) {
        struct ag_buf one;
        ag_buf_init(&one, 1 << 20);
        ASSERT_OK(sized_doc(&one, 65536, 1, i));
        ASSERT_OK(ag_buf_add(&d, ag_buf_ptr(&one), one.len));
        ASSERT_OK(ag_buf_addc(&d, '\n'));
        ag_buf_cleanup(&one);
    }
    /* One over the limit among them refuses the whole push. */
    struct ag_buf bad;
    ag_buf_init(&bad, 8u << 20);
    ASSERT_OK(ag_buf_add(&bad, ag_buf_ptr(&d), d.len));
    ASSERT_OK(sized_doc(&bad, 65537, 0, 99));
    ASSERT_EQ(ex_xray_queue_push(q, ag_buf_str(&bad), bad.len), AG_EPROTO);
    ASSERT_EQ(ex_xray_queue_queued(q), 0);
    ASSERT_EQ(f.n, 0);
    ag_buf_cleanup(&bad);
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&d), d.len));
    ASSERT_EQ(f.n, 1);
    json_error_t e;
    json_t *root = json_loadb(f.calls[0].body, f.calls[0].len, 0, &e);
    json_t *arr = json_object_get(root, "TraceSegmentDocuments");
    ASSERT_EQ(json_array_size(arr), 50);
    const char *first = json_string_value(json_array_get(arr, 0));
    ASSERT_NOT_NULL(first);
    ASSERT_EQ(strlen(first), 65536);
    ASSERT_MEMEQ(first, ag_buf_str(&d), 65536);
    /* Every '\\' and '"' of the filler doubled: 50 * (2 * 65536 - 28 - 2 + 2) + envelope. */
    ASSERT(f.calls[0].len > 50u * 2 * 65536 - 50u * 30);
    ASSERT(f.calls[0].len <= EX_XRAY_MAX_BODY_BYTES);
    json_decref(root);
    answer(&f, 0, 0, NULL, "{}");
    ASSERT_EQ(ex_xray_queue_stats(q)->sent, 50);
    ag_buf_cleanup(&d);
    ex_xray_queue_free(q);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_unprocessed_retry(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_xray_queue *q = make_queue(&f, "tun", 1 << 20, 4, 2);
    ASSERT_NOT_NULL(q);
    struct ag_buf docs;
    ag_buf_init(&docs, 1 << 20);
    for (unsigned i = 1; i <= 3; i++) {
        ASSERT_OK(make_doc(&docs, i));
    }
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&docs), docs.len));
    ASSERT_EQ(f.n, 1);
    const char *unproc2 = "{\"UnprocessedTraceSegments\":[{\"Id\":\"0000000000000002\","
                          "\"ErrorCode\":\"ThrottledException\",\"Message\":\"slow down\"}]}";
    answer(&f, 0, 0, NULL, unproc2);
    /* 1 and 3 went through; 2 leaves again at once, alone. */
    ASSERT_EQ(ex_xray_queue_stats(q)->sent, 2);
    ASSERT_EQ(ex_xray_queue_stats(q)->retried, 1);
    ASSERT_EQ(f.n, 2);
    ASSERT(body_has_docs(&f.calls[1], 2, 1));
    answer(&f, 1, 0, NULL, unproc2);
    ASSERT_EQ(f.n, 3);
    ASSERT(body_has_docs(&f.calls[2], 2, 1));
    ASSERT_EQ(ex_xray_queue_stats(q)->retried, 2);
    /* Sent 1 + max_retries = 3 times: dropped and counted. */
    answer(&f, 2, 0, NULL, unproc2);
    ASSERT_EQ(f.n, 3);
    const struct ex_xray_queue_stats *st = ex_xray_queue_stats(q);
    ASSERT_EQ(st->sent, 2);
    ASSERT_EQ(st->retried, 2);
    ASSERT_EQ(st->unprocessed, 1);
    ASSERT_EQ(st->failed, 0);
    ASSERT_EQ(st->calls, 3);
    ASSERT_EQ(ag_metric_value(ag_metrics_counter("otter_exporter_dropped_total", "",
                                                 "exporter=\"tun\",reason=\"unprocessed\"")),
              1);
    ASSERT_EQ(ag_metric_value(ag_metrics_counter("otter_exporter_documents_retried_total", "",
                                                 "exporter=\"tun\"")),
              2);
    /* An unknown id in the answer, or a body that is not JSON, takes the documents as sent. */
    ag_buf_reset(&docs);
    ASSERT_OK(make_doc(&docs, 4));
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&docs), docs.len));
    answer(&f, 3, 0, NULL, "{\"UnprocessedTraceSegments\":[{\"Id\":\"00000000000000ff\"}]}");
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&docs), docs.len));
    answer(&f, 4, 0, NULL, "<html>");
    ASSERT_EQ(st->sent, 4);
    ASSERT_EQ(ex_xray_queue_queued(q) + ex_xray_queue_in_flight(q), 0);
    ag_buf_cleanup(&docs);
    ex_xray_queue_free(q);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_failed_call(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_xray_queue *q = make_queue(&f, "tfc", 1 << 20, 4, 2);
    ASSERT_NOT_NULL(q);
    struct ag_buf docs;
    ag_buf_init(&docs, 1 << 20);
    for (unsigned i = 0; i < 7; i++) {
        ASSERT_OK(make_doc(&docs, i));
    }
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&docs), docs.len));
    answer(&f, 0, AG_EUPSTREAM, "InvalidRequestException", NULL);
    ASSERT_EQ(ex_xray_queue_stats(q)->failed, 7);
    ASSERT_EQ(ex_xray_queue_stats(q)->sent, 0);
    ASSERT_EQ(f.n, 1); /* the client already retried: nothing is sent again */
    /* A send that cannot start counts its documents failed too. */
    f.fail_send = AG_ENOMEM;
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&docs), docs.len));
    ASSERT_EQ(ex_xray_queue_stats(q)->failed, 14);
    ASSERT_EQ(ex_xray_queue_queued(q), 0);
    ASSERT_EQ(ag_metric_value(ag_metrics_counter("otter_exporter_documents_failed_total", "",
                                                 "exporter=\"tfc\"")),
              14);
    ag_buf_cleanup(&docs);
    ex_xray_queue_free(q);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_byte_bound_and_close(void)
{
    struct fake f = {.base = event_base_new()};
    struct ag_buf one;
    ag_buf_init(&one, 4096);
    ASSERT_OK(make_doc(&one, 1));
    size_t doclen = one.len - 1;
    /* Room for two documents: the third push finds the queue full. */
    struct ex_xray_queue *q = make_queue(&f, "tbb", 2 * doclen, 1, 0);
    ASSERT_NOT_NULL(q);
    ASSERT(ex_xray_queue_has_room(q));
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&one), one.len));
    ASSERT(ex_xray_queue_has_room(q));
    ASSERT_OK(ex_xray_queue_push_doc(q, ag_buf_str(&one), doclen));
    ASSERT(!ex_xray_queue_has_room(q));
    ASSERT_EQ(f.n, 1);
    ASSERT_EQ(ex_xray_queue_queued(q), 1);
    /* max_retries 0: an unprocessed document is dropped at once; the queued one leaves. */
    answer(&f, 0, 0, NULL,
           "{\"UnprocessedTraceSegments\":[{\"Id\":\"0000000000000001\",\"ErrorCode\":\"X\"}]}");
    ASSERT_EQ(ex_xray_queue_stats(q)->unprocessed, 1);
    ASSERT(ex_xray_queue_has_room(q));
    ASSERT_EQ(f.n, 2);
    ASSERT_OK(ex_xray_queue_push_doc(q, ag_buf_str(&one), doclen));
    /* Closing counts the queued one; the call in flight fails when the client goes. */
    ex_xray_queue_close(q);
    ASSERT_EQ(ex_xray_queue_stats(q)->failed, 1);
    answer(&f, 1, AG_EAGAIN, NULL, NULL);
    ASSERT_EQ(ex_xray_queue_stats(q)->failed, 2);
    ASSERT_EQ(f.n, 2);
    ag_buf_cleanup(&one);
    ex_xray_queue_free(q);
    fake_cleanup(&f);
    event_base_free(f.base);
}

/* Answers every call from the loop, as a real client does. */
static void auto_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct fake *f = arg;
    for (size_t i = 0; i < f->n; i++) {
        if (!f->calls[i].answered) {
            answer(f, i, 0, NULL, f->auto_body);
        }
    }
}

static int auto_send(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done, void *arg)
{
    struct fake *f = ctx;
    int rc = fake_send(ctx, call, done, arg);
    struct timeval tv = {0, 1000};
    if (rc == 0 && event_base_once(f->base, -1, EV_TIMEOUT, auto_cb, f, &tv) != 0) {
        rc = AG_ENOMEM;
    }
    return rc;
}

static void test_drain(void)
{
    struct fake f = {.base = event_base_new(), .auto_body = "{}"};
    struct ex_xray_queue_options o = {.id = "tdr", .max_bytes = 1 << 20, .max_in_flight = 2};
    struct ex_xray_sender s = {auto_send, &f};
    struct ex_xray_queue *q = NULL;
    ASSERT_OK(ex_xray_queue_new(f.base, &o, &s, &q));
    struct ag_buf docs;
    ag_buf_init(&docs, 1 << 20);
    for (unsigned i = 0; i < 230; i++) {
        ASSERT_OK(make_doc(&docs, i));
    }
    ASSERT_OK(ex_xray_queue_push(q, ag_buf_str(&docs), docs.len));
    ASSERT_EQ(f.n, 2);
    ex_xray_queue_drain(q);
    /* 230 = 4 * 50 + 30: five calls, all answered. */
    ASSERT_EQ(f.n, 5);
    ASSERT_EQ(ex_xray_queue_stats(q)->sent, 230);
    ASSERT_EQ(ex_xray_queue_queued(q) + ex_xray_queue_in_flight(q), 0);
    ag_buf_cleanup(&docs);
    ex_xray_queue_free(q);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct ag_buf docs;
    ag_buf_init(&docs, 1 << 20);
    for (unsigned i = 0; i < 60; i++) {
        ASSERT_OK(make_doc(&docs, i));
    }
    const char *unproc = "{\"UnprocessedTraceSegments\":[{\"Id\":\"0000000000000003\"}]}";
    for (long n = 0;; n++) {
        struct fake f = {.base = event_base_new()};
        ag_mem_fail_after(n);
        struct ex_xray_queue *q = make_queue(&f, "tfm", 1 << 20, 8, 2);
        int rc = q != NULL ? ex_xray_queue_push(q, ag_buf_str(&docs), docs.len) : AG_ENOMEM;
        /* Answer what was sent; a retry may or may not find memory. */
        for (size_t i = 0; i < f.n; i++) {
            answer(&f, i, 0, NULL, unproc);
        }
        ag_mem_fail_after(-1);
        int done = q != NULL && rc == 0 && ex_xray_queue_stats(q)->sent == 59 &&
                   ex_xray_queue_stats(q)->unprocessed == 1;
        if (q != NULL) {
            ASSERT(rc == 0 || rc == AG_ENOMEM);
            const struct ex_xray_queue_stats *st = ex_xray_queue_stats(q);
            size_t left = ex_xray_queue_queued(q) + ex_xray_queue_in_flight_docs(q);
            /* Nothing lost silently: every document pushed is somewhere or counted. */
            ASSERT(rc != 0 || st->sent + st->failed + st->unprocessed + left == 60);
        }
        ex_xray_queue_free(q);
        fake_cleanup(&f);
        event_base_free(f.base);
        if (done) {
            ASSERT(n > 3);
            break;
        }
        ASSERT(n < 10000);
    }
    ag_buf_cleanup(&docs);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static void test_teardown(void)
{
    ag_metrics_reset();
}

static void test_doc_id_escaped(void)
{
    char id[17];
    /* test_doc_id's documents escaped by hand as a JSON string's content. */
    const char *d1 = "{\\\"name\\\":\\\"a\\\\\\\"id\\\\\\\":\\\",\\\"id\\\":\\\"0123456789abcdef\\\"}";
    ASSERT_OK(ex_xray_doc_id_escaped(d1, strlen(d1), id));
    ASSERT_STREQ(id, "0123456789abcdef");
    const char *d2 = "{\\\"x\\\":{\\\"id\\\":\\\"1111111111111111\\\"},\\\"v\\\":\\\"id\\\","
                     "\\\"id\\\":\\\"2222222222222222\\\"}";
    ASSERT_OK(ex_xray_doc_id_escaped(d2, strlen(d2), id));
    ASSERT_STREQ(id, "2222222222222222");
    /* Whitespace written as escapes (\n, \t, \u0020) is whitespace. */
    const char *d3 = "{\\n\\\"id\\\"\\t:\\u0020\\\"abcdefabcdefabcd\\\"}";
    ASSERT_OK(ex_xray_doc_id_escaped(d3, strlen(d3), id));
    ASSERT_STREQ(id, "abcdefabcdefabcd");
    /* The plain reader does not take the escaped form. */
    ASSERT_EQ(ex_xray_doc_id(d1, strlen(d1), id), AG_EPROTO);
    const char *bad[] = {"{\\\"name\\\":\\\"x\\\"}", "{\\\"id\\\":\\\"0123\\\"}",
                         "{\\\"id\\\":\\\"0123456789abcdef", "{\\\"id\\", "{\\\"id\\\":\\q", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(ex_xray_doc_id_escaped(bad[i], strlen(bad[i]), id), AG_EPROTO);
    }
}

/*
 * The escaped reader has a quick path for the writer's shape ({"name":"...","id":"..."}): for
 * each plain document below, escaped with ag_json_escape(), it must answer exactly what the plain
 * reader (a character-by-character scan, no quick path) answers on the plain text.
 */
static void test_doc_id_escaped_same_as_plain(void)
{
    const char *docs[] = {
        "{\"name\":\"GET /a\",\"id\":\"0123456789abcdef\",\"trace_id\":\"1-x\"}",
        "{\"name\":\"\",\"id\":\"0123456789abcdef\"}",
        "{\"name\":\"q\\\"\",\"id\":\"0123456789abcdef\"}",     /* q\" */
        "{\"name\":\"b\\\\\",\"id\":\"0123456789abcdef\"}",     /* b\\ */
        "{\"name\":\"c\\\\\\\"d\",\"id\":\"0123456789abcdef\"}", /* c\\\"d */
        "{\"name\":\"e\\n\\t\\/\",\"id\":\"0123456789abcdef\"}",
        "{\"name\":\"\\u0022,\\\"id\\\":\\\"1111111111111111\",\"id\":\"2222222222222222\"}",
        "{\"name\":\"f\\\",\\\"id\\\":\\\"1111111111111111\",\"id\":\"2222222222222222\"}",
        "{\"name\":\"g\", \"id\":\"0123456789abcdef\"}",
        "{\"name\":\"h\",\"id\":\"0123456789ABCDEF\"}",
        "{\"name\":\"i\",\"id\":\"0123456789abcde\"}",
        "{\"name\":\"j\",\"id\":\"0123456789abcdef0\"}",
        "{\"name\":\"k\",\"idx\":\"0123456789abcdef\",\"id\":\"fedcba9876543210\"}",
        "{\"name\":\"l\",\"id\":\"0123456789abcdef\"",
        "{\"name\":\"m\",\"id\":\"0123456789abcdef",
        "{\"name\":\"n",
        "{\"name\":\"caf\u00e9 \u65e5\",\"id\":\"0123456789abcdef\"}",
        "{\"id\":\"0123456789abcdef\",\"name\":\"o\"}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        char want[17] = "", got[17] = "";
        int want_rc = ex_xray_doc_id(docs[i], strlen(docs[i]), want);
        struct ag_buf b;
        ag_buf_init(&b, 4096);
        ASSERT_OK(ag_json_escape(&b, docs[i], strlen(docs[i])));
        int got_rc = ex_xray_doc_id_escaped((const char *)ag_buf_ptr(&b), b.len, got);
        ag_buf_cleanup(&b);
        if (got_rc != want_rc || (want_rc == 0 && strcmp(got, want) != 0)) {
            fprintf(stderr, "# document %zu: plain %d %s, escaped %d %s\n", i, want_rc, want,
                    got_rc, got);
        }
        ASSERT_EQ(got_rc, want_rc);
        if (want_rc == 0) {
            ASSERT_STREQ(got, want);
        }
    }
    /* The plain reader itself, checked by hand on the cases where the name hides an "id". */
    char id[17];
    ASSERT_OK(ex_xray_doc_id(docs[6], strlen(docs[6]), id));
    ASSERT_STREQ(id, "2222222222222222");
    ASSERT_OK(ex_xray_doc_id(docs[7], strlen(docs[7]), id));
    ASSERT_STREQ(id, "2222222222222222");
    ASSERT_EQ(ex_xray_doc_id(docs[9], strlen(docs[9]), id), AG_EPROTO);
    ASSERT_OK(ex_xray_doc_id(docs[12], strlen(docs[12]), id));
    ASSERT_STREQ(id, "fedcba9876543210");
}

/* Escaped documents go into the body as they are: the envelope around them, written by hand. */
static void test_push_escaped(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_xray_queue *q = make_queue(&f, "tes", 1 << 20, 1, 0);
    ASSERT_NOT_NULL(q);
    const char *docs = "{\\\"id\\\":\\\"0000000000000001\\\",\\\"n\\\":\\\"a\\\\\\\"b\\\"}\n"
                       "{\\\"id\\\":\\\"0000000000000002\\\"}\n";
    ASSERT_EQ(ex_xray_queue_push_escaped(q, "{\\\"n\\\":1}\n", 10), AG_EPROTO);
    ASSERT_EQ(ex_xray_queue_queued(q), 0);
    ASSERT_OK(ex_xray_queue_push_escaped(q, docs, strlen(docs)));
    ASSERT_EQ(f.n, 1);
    const char *want = "{\"TraceSegmentDocuments\":["
                       "\"{\\\"id\\\":\\\"0000000000000001\\\",\\\"n\\\":\\\"a\\\\\\\"b\\\"}\","
                       "\"{\\\"id\\\":\\\"0000000000000002\\\"}\"]}";
    ASSERT_UEQ(f.calls[0].len, strlen(want));
    ASSERT_MEMEQ(f.calls[0].body, want, strlen(want));
    /* The same documents pushed plain make the same body. */
    const char *plain = "{\"id\":\"0000000000000001\",\"n\":\"a\\\"b\"}\n"
                        "{\"id\":\"0000000000000002\"}\n";
    answer(&f, 0, 0, NULL, "{}");
    ASSERT_OK(ex_xray_queue_push(q, plain, strlen(plain)));
    ASSERT_EQ(f.n, 2);
    ASSERT_UEQ(f.calls[1].len, strlen(want));
    ASSERT_MEMEQ(f.calls[1].body, want, strlen(want));
    /* An unprocessed escaped document is matched by its id and sent again as it was. */
    answer(&f, 1, 0, NULL, "{\"UnprocessedTraceSegments\":[{\"Id\":\"0000000000000002\"}]}");
    ASSERT_EQ(ex_xray_queue_stats(q)->sent, 3);
    ASSERT_EQ(ex_xray_queue_stats(q)->unprocessed, 1);
    ex_xray_queue_free(q);
    fake_cleanup(&f);
    event_base_free(f.base);
}

AG_TEST_MAIN(AG_TEST_CASE(test_doc_id), AG_TEST_CASE(test_doc_id_escaped),
             AG_TEST_CASE(test_doc_id_escaped_same_as_plain),
             AG_TEST_CASE(test_push_escaped), AG_TEST_CASE(test_batch_51),
             AG_TEST_CASE(test_in_flight_limit), AG_TEST_CASE(test_doc_size_limit),
             AG_TEST_CASE(test_unprocessed_retry), AG_TEST_CASE(test_failed_call),
             AG_TEST_CASE(test_byte_bound_and_close), AG_TEST_CASE(test_drain),
             AG_TEST_CASE(test_failmalloc), AG_TEST_CASE(test_teardown))
