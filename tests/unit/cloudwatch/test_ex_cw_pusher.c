/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ex_cw_pusher through a fake sender that keeps each call and answers it when the
 * test says: batches closed at limit - 1 / limit / limit + 1 for bytes (Σ(len + 26)), count and
 * the 24 h span; the stable sort; truncation on UTF-8 boundaries; the time window and empty
 * drops; rejectedLogEventsInfo; the group/stream creation sequence; the in-flight limit, the
 * byte bound, failures, closing, and failmalloc. Every expectation is computed by hand.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ex_cw_pusher.h"
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLS 64
#define HOUR      (3600ll * 1000)
#define DAY       (24 * HOUR)
#define NOW       1767225600000ll /* 2026-01-01T00:00:00Z */

struct fake_call {
    char *body;
    size_t len;
    char target[64];
    char content_type[64];
    char header[64]; /* "name: value" of the first extra header, or "" */
    ex_aws_call_fn *done;
    void *arg;
    int answered;
};

struct fake {
    struct event_base *base;
    struct fake_call calls[MAX_CALLS];
    size_t n;
    int fail_send;
};

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

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
    snprintf(c->target, sizeof(c->target), "%s", call->target ? call->target : "");
    snprintf(c->content_type, sizeof(c->content_type), "%s", call->content_type);
    if (call->n_headers > 0) {
        snprintf(c->header, sizeof(c->header), "%s: %s", call->headers[0].name,
                 call->headers[0].value);
    }
    c->done = done;
    c->arg = arg;
    return 0;
}

/* Answers call |i|: rc 0 = a 200 with |body|; else an error with |code|. */
static void answer(struct fake *f, size_t i, int rc, const char *code, const char *body)
{
    struct fake_call *c = &f->calls[i];
    struct ex_aws_result res;
    memset(&res, 0, sizeof(res));
    res.rc = rc;
    res.status = rc == 0 ? 200 : 400;
    res.attempts = 1;
    if (code != NULL) {
        snprintf(res.error.code, sizeof(res.error.code), "%s", code);
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

static struct ex_cw_pusher *make(struct fake *f, size_t max_event, unsigned in_flight)
{
    struct ex_cw_pusher_options o = {.id = "cw",
                                     .max_event_bytes = max_event,
                                     .max_in_flight = in_flight,
                                     .clock = fixed_clock,
                                     .flush_interval_ms = 60000,
                                     .drain_timeout_ms = 1000};
    struct ex_cw_sender s = {fake_send, f};
    struct ex_cw_pusher *p = NULL;
    if (ex_cw_pusher_new(f->base, &o, &s, &p) != 0) {
        return NULL;
    }
    return p;
}

static struct ex_cw_event ev(int64_t ts, const char *msg, size_t len)
{
    return (struct ex_cw_event){
        .group = "g", .stream = "s", .timestamp_ms = ts, .message = msg, .len = len};
}

/* The number of logEvents in call |i|'s body, or -1 when it is not a PutLogEvents body. */
static long n_events(const struct fake *f, size_t i)
{
    json_error_t e;
    json_t *root = json_loadb(f->calls[i].body, f->calls[i].len, 0, &e);
    json_t *arr = json_object_get(root, "logEvents");
    long n = json_is_array(arr) ? (long)json_array_size(arr) : -1;
    json_decref(root);
    return n;
}

/* Event |k| of call |i|: its timestamp and message (copied into |msg|, |cap| bytes). */
static int64_t event_at(const struct fake *f, size_t i, size_t k, char *msg, size_t cap)
{
    json_error_t e;
    json_t *root = json_loadb(f->calls[i].body, f->calls[i].len, 0, &e);
    json_t *x = json_array_get(json_object_get(root, "logEvents"), k);
    int64_t ts = json_integer_value(json_object_get(x, "timestamp"));
    const char *m = json_string_value(json_object_get(x, "message"));
    snprintf(msg, cap, "%s", m != NULL ? m : "(none)");
    json_decref(root);
    return ts;
}

/* Pushes two events whose Σ(len + 26) is |total|, flushes, and returns the calls made. */
static size_t two_events_total(size_t total)
{
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher *p = make(&f, EX_CW_MAX_EVENT_BYTES, 8);
    size_t a = 524288 - 26, b = total - 524288 - 26;
    char *buf = ag_malloc(a > b ? a : b);
    memset(buf, 'x', a > b ? a : b);
    struct ex_cw_event evs[2] = {ev(NOW, buf, a), ev(NOW, buf, b)};
    int rc = ex_cw_pusher_push(p, evs, 2);
    size_t before = f.n;
    ex_cw_pusher_flush(p);
    size_t n = rc == 0 ? f.n : 99;
    /* Under the limit nothing leaves before the flush; over it the full batch leaves at once. */
    if (before != (total > EX_CW_MAX_BATCH_BYTES ? 1u : 0u)) {
        n = 98;
    }
    for (size_t i = 0; i < f.n; i++) {
        answer(&f, i, 0, NULL, "{}");
    }
    if (ex_cw_pusher_stats(p)->sent != 2) {
        n = 97;
    }
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    ag_free(buf);
    event_base_free(f.base);
    return n;
}

static void test_batch_bytes(void)
{
    ASSERT_UEQ(two_events_total(EX_CW_MAX_BATCH_BYTES - 1), 1);
    ASSERT_UEQ(two_events_total(EX_CW_MAX_BATCH_BYTES), 1);
    ASSERT_UEQ(two_events_total(EX_CW_MAX_BATCH_BYTES + 1), 2);
}

/* Pushes |n| one-byte events; returns the events of each call written to |sizes|. */
static size_t count_events(size_t n, long sizes[3])
{
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher *p = make(&f, 0, 8);
    struct ex_cw_event *evs = ag_calloc(n, sizeof(*evs));
    for (size_t i = 0; i < n; i++) {
        evs[i] = ev(NOW - (int64_t)(n - i), "m", 1);
    }
    int rc = ex_cw_pusher_push(p, evs, n);
    ex_cw_pusher_flush(p);
    size_t calls = rc == 0 ? f.n : 99;
    for (size_t i = 0; i < f.n && i < 3; i++) {
        sizes[i] = n_events(&f, i);
        answer(&f, i, 0, NULL, "{}");
    }
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    ag_free(evs);
    event_base_free(f.base);
    return calls;
}

static void test_batch_count(void)
{
    long s[3] = {0};
    ASSERT_UEQ(count_events(9999, s), 1);
    ASSERT_EQ(s[0], 9999);
    ASSERT_UEQ(count_events(10000, s), 1);
    ASSERT_EQ(s[0], 10000);
    ASSERT_UEQ(count_events(10001, s), 2);
    ASSERT_EQ(s[0], 10000);
    ASSERT_EQ(s[1], 1);
}

/* Two events |span| ms apart; returns the calls made after a flush. */
static size_t span_calls(int64_t span)
{
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher *p = make(&f, 0, 8);
    int64_t t0 = NOW - 10 * DAY;
    /* Newest first: the sort puts them back in order. */
    struct ex_cw_event evs[2] = {ev(t0 + span, "b", 1), ev(t0, "a", 1)};
    int rc = ex_cw_pusher_push(p, evs, 2);
    size_t before = f.n;
    ex_cw_pusher_flush(p);
    size_t calls = rc == 0 ? f.n : 99;
    if (before != (span > EX_CW_MAX_SPAN_MS ? 1u : 0u)) {
        calls = 98;
    }
    char m[8];
    if (event_at(&f, 0, 0, m, sizeof(m)) != t0 || strcmp(m, "a") != 0) {
        calls = 97;
    }
    for (size_t i = 0; i < f.n; i++) {
        answer(&f, i, 0, NULL, "{}");
    }
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    event_base_free(f.base);
    return calls;
}

static void test_batch_span(void)
{
    ASSERT_UEQ(span_calls(DAY - 1), 1);
    ASSERT_UEQ(span_calls(DAY), 1);
    ASSERT_UEQ(span_calls(DAY + 1), 2);
}

static void test_stable_sort_and_body(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher *p = make(&f, 0, 8);
    struct ex_cw_event evs[5] = {ev(NOW - 3, "c1", 2), ev(NOW - 5, "a1", 2), ev(NOW - 3, "c2", 2),
                                 ev(NOW - 4, "b1", 2), ev(NOW - 5, "a2", 2)};
    ASSERT_OK(ex_cw_pusher_push(p, evs, 5));
    ASSERT_UEQ(f.n, 0);
    ASSERT_UEQ(ex_cw_pusher_queued(p), 5);
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(f.n, 1);
    const char *want = "{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":["
                       "{\"timestamp\":1767225599995,\"message\":\"a1\"},"
                       "{\"timestamp\":1767225599995,\"message\":\"a2\"},"
                       "{\"timestamp\":1767225599996,\"message\":\"b1\"},"
                       "{\"timestamp\":1767225599997,\"message\":\"c1\"},"
                       "{\"timestamp\":1767225599997,\"message\":\"c2\"}]}";
    ASSERT_STREQ(f.calls[0].body, want);
    ASSERT_STREQ(f.calls[0].target, "Logs_20140328.PutLogEvents");
    ASSERT_STREQ(f.calls[0].content_type, "application/x-amz-json-1.1");
    ASSERT_STREQ(f.calls[0].header, "");
    ASSERT_UEQ(ex_cw_pusher_in_flight(p), 1);
    answer(&f, 0, 0, NULL, "{\"nextSequenceToken\":\"1\"}");
    ASSERT_UEQ(ex_cw_pusher_stats(p)->sent, 5);
    ASSERT_UEQ(ex_cw_pusher_stats(p)->calls, 1);
    ASSERT_UEQ(ex_cw_pusher_in_flight(p), 0);
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    event_base_free(f.base);
}

/*
 * The queue sort merges sorted runs: three pushes of 300 events, each made of runs (ascending
 * stretches with steps back, ties, a descending stretch), all queued before one flush. The order
 * expected is computed here by a stable insertion sort on (timestamp, arrival), independent of
 * the pusher's merge; each message is its arrival number.
 */
static void test_sort_runs(void)
{
    enum { PUSHES = 3, PER = 300, N = PUSHES * PER };
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher *p = make(&f, 0, 8);
    static int64_t ts[N];
    static size_t order[N];
    static char msgs[N][8];
    uint64_t r = 12345;
    for (size_t i = 0; i < N; i++) {
        size_t k = i % PER;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        if (k < 100) {
            ts[i] = NOW - 1000 + (int64_t)k / 3; /* ascending with ties */
        } else if (k < 150) {
            ts[i] = NOW - 500 - (int64_t)k; /* descending: one run per event */
        } else {
            ts[i] = NOW - 2000 + (int64_t)((r >> 33) % 1500); /* random */
        }
        snprintf(msgs[i], sizeof(msgs[i]), "%zu", i);
    }
    for (size_t b = 0; b < PUSHES; b++) {
        struct ex_cw_event evs[PER];
        for (size_t k = 0; k < PER; k++) {
            size_t i = b * PER + k;
            evs[k] = ev(ts[i], msgs[i], strlen(msgs[i]));
        }
        ASSERT_OK(ex_cw_pusher_push(p, evs, PER));
        if (b == 0) {
            /* The first push sorted and sent in part: the rest merges with later pushes. */
            ex_cw_pusher_flush(p);
        }
    }
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(f.n, 2);
    ASSERT_EQ(n_events(&f, 0), PER);
    ASSERT_EQ(n_events(&f, 1), N - PER);
    /* Expected: the first push alone, then the two others together. */
    for (size_t i = 0; i < N; i++) {
        size_t j = i;
        size_t lo = i < PER ? 0 : PER;
        while (j > lo && ts[order[j - 1]] > ts[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t i = 0; i < N; i++) {
        char m[16], want[16];
        size_t call = i < PER ? 0 : 1, k = i < PER ? i : i - PER;
        int64_t t = event_at(&f, call, k, m, sizeof(m));
        snprintf(want, sizeof(want), "%zu", order[i]);
        ASSERT_EQ(t, ts[order[i]]);
        ASSERT_STREQ(m, want);
    }
    for (size_t i = 0; i < f.n; i++) {
        answer(&f, i, 0, NULL, "{}");
    }
    ASSERT_UEQ(ex_cw_pusher_stats(p)->sent, N);
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    event_base_free(f.base);
}

/*
 * Messages the producer escaped already go into the body as they are and count their plain
 * length; plain ones are escaped here (invalid UTF-8 replaced); names are escaped in the body.
 */
static void test_escaped_events(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher *p = make(&f, 64, 8);
    struct ex_cw_event evs[3] = {ev(NOW - 2, "a\"b\\\n\xFF", 6), ev(NOW - 1, NULL, 7),
                                 ev(NOW, NULL, 2)};
    const char *stream = "s \"q\"";
    for (size_t i = 0; i < 3; i++) {
        evs[i].stream = stream;
    }
    evs[1].escaped = "{\\\"k\\\":1}"; /* {"k":1}: 7 plain bytes */
    evs[1].escaped_len = strlen(evs[1].escaped);
    evs[2].escaped = "\\\\n"; /* \n: 2 plain bytes */
    evs[2].escaped_len = 3;
    ASSERT_OK(ex_cw_pusher_push(p, evs, 3));
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(f.n, 1);
    const char *want = "{\"logGroupName\":\"g\",\"logStreamName\":\"s \\\"q\\\"\",\"logEvents\":["
                       "{\"timestamp\":1767225599998,\"message\":\"a\\\"b\\\\\\n\xEF\xBF\xBD\"},"
                       "{\"timestamp\":1767225599999,\"message\":\"{\\\"k\\\":1}\"},"
                       "{\"timestamp\":1767225600000,\"message\":\"\\\\n\"}]}";
    ASSERT_STREQ(f.calls[0].body, want);
    answer(&f, 0, 0, NULL, "{}");
    ASSERT_UEQ(ex_cw_pusher_stats(p)->sent, 3);
    ASSERT_UEQ(ex_cw_pusher_stats(p)->truncated, 0);

    /* An escaped message over the per-event limit (64 - 26 = 38 plain bytes) cannot be cut:
     * refused, nothing queued; at the limit it is taken. */
    struct ex_cw_event big = ev(NOW, NULL, 39);
    big.escaped = "x";
    big.escaped_len = 1;
    ASSERT_EQ(ex_cw_pusher_push(p, &big, 1), AG_EINVAL);
    ASSERT_UEQ(ex_cw_pusher_queued(p), 0);
    big.len = 38;
    ASSERT_OK(ex_cw_pusher_push(p, &big, 1));
    ASSERT_UEQ(ex_cw_pusher_queued(p), 1);
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_utf8_cut(void)
{
    const char *s = "ab\xC3\xA9z\xE2\x82\xAC"; /* a b é z € : 1 1 2 1 3 bytes */
    ASSERT_UEQ(ex_cw_utf8_cut(s, 8, 8), 8);
    ASSERT_UEQ(ex_cw_utf8_cut(s, 8, 7), 5); /* inside € -> before it */
    ASSERT_UEQ(ex_cw_utf8_cut(s, 8, 6), 5);
    ASSERT_UEQ(ex_cw_utf8_cut(s, 8, 5), 5);
    ASSERT_UEQ(ex_cw_utf8_cut(s, 8, 4), 4);
    ASSERT_UEQ(ex_cw_utf8_cut(s, 8, 3), 2); /* inside é -> before it */
    ASSERT_UEQ(ex_cw_utf8_cut(s, 8, 0), 0);
}

static void test_truncation(void)
{
    struct fake f = {.base = event_base_new()};
    /* A 100-byte event limit: 74 message bytes; a cut keeps at most 60 plus the 14 of the
     * marker. */
    struct ex_cw_pusher *p = make(&f, 100, 8);
    char m74[75], m75[76], u[80], bad[80];
    memset(m74, 'a', 74);
    memset(m75, 'b', 75);
    /* 59 'c', then é (2 bytes) straddling the 60-byte cut, then 'd's: 59 bytes kept. */
    memset(u, 'c', 59);
    memcpy(u + 59, "\xC3\xA9", 2);
    memset(u + 61, 'd', 19);
    /* Invalid bytes become U+FFFD (3 bytes each) before the size is counted. */
    memset(bad, 'e', 70);
    memset(bad + 70, 0xFF, 2); /* 70 + 6 = 76 > 74: truncated, cut at 60 */
    struct ex_cw_event evs[4] = {ev(NOW, m74, 74), ev(NOW, m75, 75), ev(NOW, u, 80),
                                 ev(NOW, bad, 72)};
    ASSERT_OK(ex_cw_pusher_push(p, evs, 4));
    ASSERT_UEQ(ex_cw_pusher_stats(p)->truncated, 3);
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(f.n, 1);
    char got[256], want[256];
    event_at(&f, 0, 0, got, sizeof(got));
    ASSERT_UEQ(strlen(got), 74);
    event_at(&f, 0, 1, got, sizeof(got));
    memset(want, 'b', 60);
    memcpy(want + 60, EX_CW_TRUNCATED_MARKER, sizeof(EX_CW_TRUNCATED_MARKER));
    ASSERT_STREQ(got, want);
    event_at(&f, 0, 2, got, sizeof(got));
    memset(want, 'c', 59);
    memcpy(want + 59, EX_CW_TRUNCATED_MARKER, sizeof(EX_CW_TRUNCATED_MARKER));
    ASSERT_STREQ(got, want);
    event_at(&f, 0, 3, got, sizeof(got));
    memset(want, 'e', 60);
    memcpy(want + 60, EX_CW_TRUNCATED_MARKER, sizeof(EX_CW_TRUNCATED_MARKER));
    ASSERT_STREQ(got, want);
    answer(&f, 0, 0, NULL, "{}");
    ex_cw_pusher_free(p);
    fake_cleanup(&f);

    /* Not truncated, but cleaned: 2 invalid bytes -> 2 x U+FFFD. */
    p = make(&f, 0, 8);
    struct ex_cw_event e1 = ev(NOW, "x\xFF\xC3y", 4);
    ASSERT_OK(ex_cw_pusher_push(p, &e1, 1));
    ex_cw_pusher_flush(p);
    event_at(&f, 0, 0, got, sizeof(got));
    ASSERT_STREQ(got, "x\xEF\xBF\xBD\xEF\xBF\xBDy");
    ASSERT_UEQ(ex_cw_pusher_stats(p)->truncated, 0);
    answer(&f, 0, 0, NULL, "{}");
    ex_cw_pusher_free(p);
    fake_cleanup(&f);

    /* The limits of max_event_bytes. */
    struct ex_cw_pusher_options o = {.max_event_bytes = EX_CW_MAX_EVENT_BYTES + 1};
    struct ex_cw_sender s = {fake_send, &f};
    ASSERT_EQ(ex_cw_pusher_new(f.base, &o, &s, &p), AG_EINVAL);
    o.max_event_bytes = 26 + 14 + 3;
    ASSERT_EQ(ex_cw_pusher_new(f.base, &o, &s, &p), AG_EINVAL);
    o.max_event_bytes = 26 + 14 + 4;
    ASSERT_OK(ex_cw_pusher_new(f.base, &o, &s, &p));
    ex_cw_pusher_free(p);
    event_base_free(f.base);
}

static void test_time_window_and_empty(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher *p = make(&f, 0, 8);
    struct ex_cw_event evs[7] = {ev(NOW - 14 * DAY, "old-ok", 6),
                                 ev(NOW - 14 * DAY - 1, "old", 3),
                                 ev(NOW + 2 * HOUR, "new-ok", 6),
                                 ev(NOW + 2 * HOUR + 1, "new", 3),
                                 ev(NOW, "", 0),
                                 ev(NOW, NULL, 0),
                                 ev(NOW, "ok", 2)};
    /* The kept events span 14 days + 2 h: the oldest leaves alone (24 h span), the other two
     * together. */
    ASSERT_OK(ex_cw_pusher_push(p, evs, 7));
    const struct ex_cw_pusher_stats *st = ex_cw_pusher_stats(p);
    ASSERT_UEQ(st->accepted, 3);
    ASSERT_UEQ(st->dropped_too_old, 1);
    ASSERT_UEQ(st->dropped_too_new, 1);
    ASSERT_UEQ(st->dropped_empty, 2);
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(f.n, 2);
    ASSERT_EQ(n_events(&f, 0), 1);
    ASSERT_EQ(n_events(&f, 1), 2);
    answer(&f, 0, 0, NULL, "{}");
    answer(&f, 1, 0, NULL, "{}");
    ASSERT_UEQ(st->sent, 3);
    /* Names are checked first: a bad one refuses the whole push. */
    struct ex_cw_event bad = ev(NOW, "x", 1);
    bad.group = "a:b";
    ASSERT_EQ(ex_cw_pusher_push(p, &bad, 1), AG_EINVAL);
    bad.group = "g";
    bad.stream = "a*b";
    ASSERT_EQ(ex_cw_pusher_push(p, &bad, 1), AG_EINVAL);
    ASSERT_UEQ(st->accepted, 3);
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_parse_rejected(void)
{
    struct ex_cw_rejected r;
    const char *b1 = "{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":3,"
                     "\"tooOldLogEventEndIndex\":1,\"expiredLogEventEndIndex\":2}}";
    ASSERT_OK(ex_cw_parse_rejected((const uint8_t *)b1, strlen(b1), 5, &r));
    ASSERT_UEQ(r.expired, 2);
    ASSERT_UEQ(r.too_old, 0);
    ASSERT_UEQ(r.too_new, 2);
    const char *b2 = "{\"rejectedLogEventsInfo\":{\"tooOldLogEventEndIndex\":4}}";
    ASSERT_OK(ex_cw_parse_rejected((const uint8_t *)b2, strlen(b2), 10, &r));
    ASSERT_UEQ(r.too_old, 4);
    ASSERT_UEQ(r.expired + r.too_new, 0);
    const char *b3 = "{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":0}}";
    ASSERT_OK(ex_cw_parse_rejected((const uint8_t *)b3, strlen(b3), 10, &r));
    ASSERT_UEQ(r.too_new, 10);
    /* Overlapping ranges count each event once; indices past the batch are clamped. */
    const char *b4 = "{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":2,"
                     "\"tooOldLogEventEndIndex\":99}}";
    ASSERT_OK(ex_cw_parse_rejected((const uint8_t *)b4, strlen(b4), 5, &r));
    ASSERT_UEQ(r.too_old, 5);
    ASSERT_UEQ(r.too_new, 0);
    const char *b5 = "{\"rejectedLogEventsInfo\":{\"tooNewLogEventStartIndex\":-1,"
                     "\"tooOldLogEventEndIndex\":\"3\"}}";
    ASSERT_OK(ex_cw_parse_rejected((const uint8_t *)b5, strlen(b5), 5, &r));
    ASSERT_UEQ(r.too_old + r.too_new + r.expired, 0);
    ASSERT_OK(ex_cw_parse_rejected((const uint8_t *)"{}", 2, 5, &r));
    ASSERT_EQ(ex_cw_parse_rejected((const uint8_t *)"[1]", 3, 5, &r), AG_EPROTO);
    ASSERT_EQ(ex_cw_parse_rejected((const uint8_t *)"{", 1, 5, &r), AG_EPROTO);

    /* Through the pusher: counted by reason, the rest sent. */
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher *p = make(&f, 0, 8);
    struct ex_cw_event evs[5] = {ev(NOW - 5, "1", 1), ev(NOW - 4, "2", 1), ev(NOW - 3, "3", 1),
                                 ev(NOW - 2, "4", 1), ev(NOW - 1, "5", 1)};
    ASSERT_OK(ex_cw_pusher_push(p, evs, 5));
    ex_cw_pusher_flush(p);
    answer(&f, 0, 0, NULL, b1);
    const struct ex_cw_pusher_stats *st = ex_cw_pusher_stats(p);
    ASSERT_UEQ(st->sent, 1);
    ASSERT_UEQ(st->rejected_expired, 2);
    ASSERT_UEQ(st->rejected_too_new, 2);
    ASSERT_UEQ(st->rejected_too_old, 0);
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_create_sequence(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_cw_tag tags[2] = {{"team", "otter"}, {"env", "test"}};
    struct ex_cw_pusher_options o = {.id = "cw",
                                     .clock = fixed_clock,
                                     .retention_days = 7,
                                     .tags = tags,
                                     .n_tags = 2,
                                     .logs_format = "json/emf",
                                     .flush_interval_ms = 60000};
    struct ex_cw_sender s = {fake_send, &f};
    struct ex_cw_pusher *p = NULL;
    ASSERT_OK(ex_cw_pusher_new(f.base, &o, &s, &p));
    struct ex_cw_event e = ev(NOW, "m", 1);
    ASSERT_OK(ex_cw_pusher_push(p, &e, 1));
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(f.n, 1);
    ASSERT_STREQ(f.calls[0].header, "x-amzn-logs-format: json/emf");
    answer(&f, 0, AG_EUPSTREAM, "ResourceNotFoundException", NULL);
    ASSERT_UEQ(f.n, 2);
    ASSERT_STREQ(f.calls[1].target, "Logs_20140328.CreateLogStream");
    ASSERT_STREQ(f.calls[1].body, "{\"logGroupName\":\"g\",\"logStreamName\":\"s\"}");
    ASSERT_STREQ(f.calls[1].header, "");
    ASSERT_UEQ(ex_cw_pusher_in_flight(p), 2); /* the parked put and the creation */
    answer(&f, 1, AG_EUPSTREAM, "ResourceNotFoundException", NULL);
    ASSERT_UEQ(f.n, 3);
    ASSERT_STREQ(f.calls[2].target, "Logs_20140328.CreateLogGroup");
    ASSERT_STREQ(f.calls[2].body,
                 "{\"logGroupName\":\"g\",\"tags\":{\"team\":\"otter\",\"env\":\"test\"}}");
    answer(&f, 2, 0, NULL, "");
    ASSERT_UEQ(f.n, 4);
    ASSERT_STREQ(f.calls[3].target, "Logs_20140328.PutRetentionPolicy");
    ASSERT_STREQ(f.calls[3].body, "{\"logGroupName\":\"g\",\"retentionInDays\":7}");
    answer(&f, 3, 0, NULL, "");
    ASSERT_UEQ(f.n, 5);
    ASSERT_STREQ(f.calls[4].target, "Logs_20140328.CreateLogStream");
    /* Someone else made it meanwhile: that is success too. */
    answer(&f, 4, AG_EUPSTREAM, "ResourceAlreadyExistsException", NULL);
    ASSERT_UEQ(f.n, 6);
    ASSERT_STREQ(f.calls[5].target, "Logs_20140328.PutLogEvents");
    ASSERT_STREQ(f.calls[5].body, f.calls[0].body);
    answer(&f, 5, 0, NULL, "{}");
    const struct ex_cw_pusher_stats *st = ex_cw_pusher_stats(p);
    ASSERT_UEQ(st->sent, 1);
    ASSERT_UEQ(st->groups_created, 1);
    ASSERT_UEQ(st->streams_created, 1);
    ASSERT_UEQ(ex_cw_pusher_in_flight(p), 0);
    /* Known now: the next put goes alone. */
    ASSERT_OK(ex_cw_pusher_push(p, &e, 1));
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(f.n, 7);
    ASSERT_STREQ(f.calls[6].target, "Logs_20140328.PutLogEvents");
    answer(&f, 6, 0, NULL, "{}");
    ASSERT_UEQ(st->sent, 2);

    /* A group that exists already: no retention call (only groups created here get one). */
    e.group = "g2";
    ASSERT_OK(ex_cw_pusher_push(p, &e, 1));
    ex_cw_pusher_flush(p);
    answer(&f, 7, AG_EUPSTREAM, "ResourceNotFoundException", NULL);
    answer(&f, 8, AG_EUPSTREAM, "ResourceNotFoundException", NULL);
    ASSERT_STREQ(f.calls[9].target, "Logs_20140328.CreateLogGroup");
    answer(&f, 9, AG_EUPSTREAM, "ResourceAlreadyExistsException", NULL);
    ASSERT_STREQ(f.calls[10].target, "Logs_20140328.CreateLogStream");
    answer(&f, 10, 0, NULL, "");
    ASSERT_STREQ(f.calls[11].target, "Logs_20140328.PutLogEvents");
    /* Still not found after the creation: failed, not created again. */
    answer(&f, 11, AG_EUPSTREAM, "ResourceNotFoundException", NULL);
    ASSERT_UEQ(f.n, 12);
    ASSERT_UEQ(st->failed, 1);

    /* A creation refused for good fails the parked events. */
    e.group = "g3";
    ASSERT_OK(ex_cw_pusher_push(p, &e, 1));
    ex_cw_pusher_flush(p);
    answer(&f, 12, AG_EUPSTREAM, "ResourceNotFoundException", NULL);
    answer(&f, 13, AG_EUPSTREAM, "AccessDeniedException", NULL);
    ASSERT_UEQ(f.n, 14);
    ASSERT_UEQ(st->failed, 2);
    ASSERT_UEQ(ex_cw_pusher_in_flight(p), 0);
    ASSERT_UEQ(st->accepted, st->sent + st->failed);
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    event_base_free(f.base);
}

static void test_in_flight_bound_and_failures(void)
{
    struct fake f = {.base = event_base_new()};
    struct ex_cw_pusher_options o = {.id = "cw",
                                     .clock = fixed_clock,
                                     .max_in_flight = 2,
                                     .max_bytes = 100,
                                     .flush_interval_ms = 60000};
    struct ex_cw_sender s = {fake_send, &f};
    struct ex_cw_pusher *p = NULL;
    ASSERT_OK(ex_cw_pusher_new(f.base, &o, &s, &p));
    /* Three streams, one event each: two calls at once, the third after an answer. */
    struct ex_cw_event evs[3] = {ev(NOW, "aaaa", 4), ev(NOW, "bbbb", 4), ev(NOW, "cccc", 4)};
    evs[1].stream = "s2";
    evs[2].stream = "s3";
    ASSERT(ex_cw_pusher_has_room(p));
    ASSERT_OK(ex_cw_pusher_push(p, evs, 3));
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(f.n, 2);
    ASSERT_UEQ(ex_cw_pusher_queued(p), 1);
    answer(&f, 0, AG_EUPSTREAM, "ThrottlingException", NULL);
    ASSERT_UEQ(f.n, 3);
    answer(&f, 1, AG_ETIMEDOUT, NULL, NULL);
    answer(&f, 2, 0, NULL, "not json");
    const struct ex_cw_pusher_stats *st = ex_cw_pusher_stats(p);
    ASSERT_UEQ(st->failed, 2);
    ASSERT_UEQ(st->sent, 1);
    /* The byte bound: 100 bytes; one push may pass it, the next is refused. */
    char big[120];
    memset(big, 'z', sizeof(big));
    struct ex_cw_event b = ev(NOW, big, sizeof(big));
    ASSERT_OK(ex_cw_pusher_push(p, &b, 1));
    ASSERT(!ex_cw_pusher_has_room(p));
    ASSERT_EQ(ex_cw_pusher_push(p, &b, 1), AG_EAGAIN);
    /* A send that fails at once counts the events failed. */
    f.fail_send = AG_EIO;
    ex_cw_pusher_flush(p);
    ASSERT_UEQ(st->failed, 3);
    ASSERT(ex_cw_pusher_has_room(p));
    f.fail_send = 0;
    /* Closing with events queued counts them failed. */
    ASSERT_OK(ex_cw_pusher_push(p, evs, 3));
    ex_cw_pusher_close(p);
    ASSERT_UEQ(st->failed, 6);
    ASSERT_EQ(ex_cw_pusher_push(p, evs, 1), AG_EAGAIN);
    ASSERT_UEQ(st->accepted, st->sent + st->failed);
    ex_cw_pusher_free(p);
    fake_cleanup(&f);
    event_base_free(f.base);
}

/* Answers every call from the loop, a moment later. */
struct auto_ctx {
    ex_aws_call_fn *done;
    void *arg;
};

static void auto_answer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct auto_ctx *a = arg;
    struct ex_aws_result res;
    memset(&res, 0, sizeof(res));
    res.status = 200;
    res.body = (const uint8_t *)"{}";
    res.body_len = 2;
    a->done(a->arg, &res);
    ag_free(a);
}

static int auto_send(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done, void *arg)
{
    struct event_base *base = ctx;
    (void)call;
    struct auto_ctx *a = ag_malloc(sizeof(*a));
    if (a == NULL) {
        return AG_ENOMEM;
    }
    a->done = done;
    a->arg = arg;
    struct timeval tv = {0, 1000};
    if (event_base_once(base, -1, EV_TIMEOUT, auto_answer, a, &tv) != 0) {
        ag_free(a);
        return AG_EIO;
    }
    return 0;
}

static void test_flush_timer_and_drain(void)
{
    struct event_base *base = event_base_new();
    struct ex_cw_pusher_options o = {.id = "cw", .clock = fixed_clock, .flush_interval_ms = 5};
    struct ex_cw_sender s = {auto_send, base};
    struct ex_cw_pusher *p = NULL;
    ASSERT_OK(ex_cw_pusher_new(base, &o, &s, &p));
    struct ex_cw_event e = ev(NOW, "tick", 4);
    ASSERT_OK(ex_cw_pusher_push(p, &e, 1));
    /* The timer sends the partial batch; the answer comes from the loop. */
    for (int i = 0; i < 200 && ex_cw_pusher_stats(p)->sent == 0; i++) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    ASSERT_UEQ(ex_cw_pusher_stats(p)->sent, 1);
    ASSERT_OK(ex_cw_pusher_push(p, &e, 1));
    ASSERT_OK(ex_cw_pusher_push(p, &e, 1));
    ex_cw_pusher_drain(p);
    ASSERT_UEQ(ex_cw_pusher_stats(p)->sent, 3);
    ASSERT_UEQ(ex_cw_pusher_queued(p) + ex_cw_pusher_in_flight(p), 0);
    ex_cw_pusher_free(p);
    event_base_free(base);
}

/* More streams than the cache keeps: the idle ones are forgotten (ASan checks the frees), and a
 * forgotten stream still takes events. */
static void test_stream_cache_sweep(void)
{
    struct event_base *base = event_base_new();
    struct ex_cw_pusher_options o = {.id = "cw",
                                     .clock = fixed_clock,
                                     .max_in_flight = 64,
                                     .flush_interval_ms = 60000,
                                     .drain_timeout_ms = 10000};
    struct ex_cw_sender s = {auto_send, base};
    struct ex_cw_pusher *p = NULL;
    ASSERT_OK(ex_cw_pusher_new(base, &o, &s, &p));
    char name[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4100; i++) {
            snprintf(name, sizeof(name), "r%d-s%d", round, i);
            struct ex_cw_event e = ev(NOW, "m", 1);
            e.stream = name;
            ASSERT_OK(ex_cw_pusher_push(p, &e, 1));
        }
        ex_cw_pusher_drain(p);
    }
    ASSERT_UEQ(ex_cw_pusher_stats(p)->sent, 8200);
    ASSERT_UEQ(ex_cw_pusher_queued(p) + ex_cw_pusher_in_flight(p), 0);
    ex_cw_pusher_free(p);
    event_base_free(base);
}

static void test_names_and_retention(void)
{
    ASSERT(ex_cw_group_name_valid("/aws/otter/app-1_x.y#z"));
    ASSERT(!ex_cw_group_name_valid(""));
    ASSERT(!ex_cw_group_name_valid("a b"));
    ASSERT(!ex_cw_group_name_valid("a:b"));
    char n512[514];
    memset(n512, 'a', 513);
    n512[512] = '\0';
    ASSERT(ex_cw_group_name_valid(n512));
    ASSERT(ex_cw_stream_name_valid(n512));
    n512[512] = 'a';
    n512[513] = '\0';
    ASSERT(!ex_cw_group_name_valid(n512));
    ASSERT(!ex_cw_stream_name_valid(n512));
    ASSERT(ex_cw_stream_name_valid("i-0abc/my stream"));
    ASSERT(!ex_cw_stream_name_valid("a:b"));
    ASSERT(!ex_cw_stream_name_valid("a*"));
    ASSERT(ex_cw_retention_valid(0));
    ASSERT(ex_cw_retention_valid(1));
    ASSERT(ex_cw_retention_valid(1096));
    ASSERT(ex_cw_retention_valid(3653));
    ASSERT(!ex_cw_retention_valid(2));
    ASSERT(!ex_cw_retention_valid(-1));
    ASSERT(!ex_cw_retention_valid(3654));
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    for (long n = 0;; n++) {
        struct fake f = {.base = event_base_new()};
        struct ex_cw_tag tags[1] = {{"k", "v"}};
        struct ex_cw_pusher_options o = {.id = "cw",
                                         .clock = fixed_clock,
                                         .retention_days = 1,
                                         .tags = tags,
                                         .n_tags = 1,
                                         .max_event_bytes = 64,
                                         .flush_interval_ms = 60000};
        struct ex_cw_sender s = {fake_send, &f};
        struct ex_cw_pusher *p = NULL;
        char big[100];
        memset(big, 'q', sizeof(big));
        struct ex_cw_event evs[3] = {ev(NOW, "x\xFFy", 3), ev(NOW - 1, big, 100), ev(NOW, "z", 1)};
        evs[2].stream = "other";
        ag_mem_fail_after(n);
        int rc = ex_cw_pusher_new(f.base, &o, &s, &p);
        if (rc == 0) {
            rc = ex_cw_pusher_push(p, evs, 3);
            ex_cw_pusher_flush(p);
            for (size_t i = 0; i < f.n; i++) {
                /* Not found first, so the creation path runs under failing allocations too. */
                answer(&f, i, i == 0 ? AG_EUPSTREAM : 0,
                       i == 0 ? "ResourceNotFoundException" : NULL, "{}");
            }
        }
        ag_mem_fail_after(-1);
        int done = rc == 0 && p != NULL && ex_cw_pusher_stats(p)->sent == 3;
        if (p != NULL) {
            const struct ex_cw_pusher_stats *st = ex_cw_pusher_stats(p);
            ex_cw_pusher_close(p);
            ASSERT_UEQ(st->accepted, st->sent + st->failed);
        }
        ex_cw_pusher_free(p);
        fake_cleanup(&f);
        event_base_free(f.base);
        if (done) {
            ASSERT(n > 10);
            break;
        }
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        ASSERT(n < 10000);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static void test_teardown(void)
{
    ag_metrics_reset();
}

AG_TEST_MAIN(AG_TEST_CASE(test_batch_bytes), AG_TEST_CASE(test_batch_count),
             AG_TEST_CASE(test_batch_span), AG_TEST_CASE(test_stable_sort_and_body),
             AG_TEST_CASE(test_sort_runs),
             AG_TEST_CASE(test_escaped_events), AG_TEST_CASE(test_utf8_cut),
             AG_TEST_CASE(test_truncation), AG_TEST_CASE(test_time_window_and_empty),
             AG_TEST_CASE(test_parse_rejected), AG_TEST_CASE(test_create_sequence),
             AG_TEST_CASE(test_in_flight_bound_and_failures),
             AG_TEST_CASE(test_flush_timer_and_drain), AG_TEST_CASE(test_stream_cache_sweep),
             AG_TEST_CASE(test_names_and_retention), AG_TEST_CASE(test_failmalloc),
             AG_TEST_CASE(test_teardown))
