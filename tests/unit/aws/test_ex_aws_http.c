/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP client on a real libevent loop against in-process peers on 127.0.0.1: what goes on
 * the wire (method, path, headers, body, no Expect), what comes back (status, body, the AWS
 * headers, Retry-After, Date), one keep-alive connection for sequential requests, and every
 * failure mapped to its code: timeout, a body cut short, an oversize answer, a refused
 * connection, bad arguments, and requests aborted by ex_aws_http_free().
 */
#include "config.h"
#include "ag_mem.h"
#include "ag_test.h"
#include "aws_test_server.h"
#include "ex_aws_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct got {
    int calls;
    int rc;
    int status;
    char error_type[128];
    char request_id[128];
    char content_type[128];
    uint64_t retry_after_ms;
    int64_t date;
    char body[4096];
    size_t body_len;
    char transport_error[256];
};

static void on_done(void *arg, const struct ex_aws_http_response *resp)
{
    struct got *g = arg;
    g->calls++;
    g->rc = resp->rc;
    g->status = resp->status;
    snprintf(g->error_type, sizeof(g->error_type), "%s", resp->error_type ? resp->error_type : "");
    snprintf(g->request_id, sizeof(g->request_id), "%s", resp->request_id ? resp->request_id : "");
    snprintf(g->content_type, sizeof(g->content_type), "%s",
             resp->content_type ? resp->content_type : "");
    snprintf(g->transport_error, sizeof(g->transport_error), "%s", resp->transport_error);
    g->retry_after_ms = resp->retry_after_ms;
    g->date = resp->date_unix_s;
    g->body_len = resp->body_len;
    if (resp->body_len < sizeof(g->body)) {
        memcpy(g->body, resp->body, resp->body_len);
        g->body[resp->body_len] = '\0';
    }
}

static void test_post_and_answer(void)
{
    struct event_base *base = event_base_new();
    struct ts_server s;
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ts_start(&s, base));
    ts_push(&s, (struct ts_answer){
                    .status = 400,
                    .headers = {{"x-amzn-ErrorType", "ThrottlingException:http://internal/"},
                                {"x-amzn-RequestId", "req-1234"},
                                {"Content-Type", "application/json"},
                                {"Retry-After", "3"},
                                {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}},
                    .body = "{\"message\":\"slow down\"}"});
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    char url[128];
    snprintf(url, sizeof(url), "%s/TraceSegments?a=1", s.url);
    const struct ex_aws_header hdrs[] = {{"Content-Type", "application/json"},
                                         {"X-Amz-Target", "Svc.Op"}};
    static const char body[] = "{\"x\":1}";
    struct ex_aws_http_request req = {.method = "POST",
                                      .url = url,
                                      .headers = hdrs,
                                      .n_headers = 2,
                                      .body = (const uint8_t *)body,
                                      .body_len = 7};
    struct got g = {0};
    ASSERT_OK(ex_aws_http_send(http, &req, on_done, &g));
    ASSERT_EQ(g.calls, 0); /* never inside send */
    ASSERT_UEQ(ex_aws_http_pending(http), 1);
    ASSERT(ts_run_until(base, &g.calls, 5.0));
    ASSERT_EQ(g.calls, 1);
    ASSERT_UEQ(ex_aws_http_pending(http), 0);
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.status, 400);
    ASSERT_STREQ(g.error_type, "ThrottlingException:http://internal/");
    ASSERT_STREQ(g.request_id, "req-1234");
    ASSERT_STREQ(g.content_type, "application/json");
    ASSERT_UEQ(g.retry_after_ms, 3000);
    ASSERT_EQ(g.date, 784111777); /* RFC 7231's example date */
    ASSERT_STREQ(g.body, "{\"message\":\"slow down\"}");
    ASSERT_UEQ(g.body_len, 23);
    ASSERT_STREQ(g.transport_error, "");

    ASSERT_UEQ(s.n_seen, 1);
    const struct ts_seen *w = &s.seen[0];
    char v[256];
    ASSERT_STREQ(w->method, "POST");
    ASSERT_STREQ(w->uri, "/TraceSegments?a=1");
    ASSERT_UEQ(w->body_len, 7);
    ASSERT_MEMEQ(w->body, body, 7);
    ASSERT_STREQ(ts_header(w, "Content-Type", v, sizeof(v)), "application/json");
    ASSERT_STREQ(ts_header(w, "X-Amz-Target", v, sizeof(v)), "Svc.Op");
    ASSERT_STREQ(ts_header(w, "Content-Length", v, sizeof(v)), "7");
    ASSERT_STREQ(ts_header(w, "User-Agent", v, sizeof(v)), "otterd/" OTTER_VERSION);
    ASSERT_NULL(ts_header(w, "Expect", v, sizeof(v)));
    ex_aws_http_free(http);
    ts_stop(&s);
    event_base_free(base);
}

static void test_get_put_user_agent(void)
{
    struct event_base *base = event_base_new();
    struct ts_server s;
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ts_start(&s, base));
    ts_push(&s, (struct ts_answer){.status = 200, .body = "token"});
    ts_push(&s, (struct ts_answer){.status = 204, .body = ""});
    struct ex_aws_http_options o = {.user_agent = "test-agent/1"};
    ASSERT_OK(ex_aws_http_new(base, &o, &http));
    char url[128];
    snprintf(url, sizeof(url), "%s/latest/api/token", s.url);
    const struct ex_aws_header h = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
    struct ex_aws_http_request put = {.method = "PUT", .url = url, .headers = &h, .n_headers = 1};
    struct got g1 = {0}, g2 = {0};
    ASSERT_OK(ex_aws_http_send(http, &put, on_done, &g1));
    ASSERT(ts_run_until(base, &g1.calls, 5.0));
    ASSERT_EQ(g1.rc, 0);
    ASSERT_EQ(g1.status, 200);
    ASSERT_STREQ(g1.body, "token");
    struct ex_aws_http_request get = {.method = "GET", .url = url};
    ASSERT_OK(ex_aws_http_send(http, &get, on_done, &g2));
    ASSERT(ts_run_until(base, &g2.calls, 5.0));
    ASSERT_EQ(g2.rc, 0);
    ASSERT_EQ(g2.status, 204);
    ASSERT_UEQ(g2.body_len, 0);
    ASSERT_STREQ(g2.body, "");
    ASSERT_EQ(g2.date == 0 || g2.date > 1600000000, 1);
    ASSERT_UEQ(s.n_seen, 2);
    char v[256];
    ASSERT_STREQ(s.seen[0].method, "PUT");
    ASSERT_STREQ(ts_header(&s.seen[0], "X-aws-ec2-metadata-token-ttl-seconds", v, sizeof(v)),
                 "21600");
    ASSERT_STREQ(ts_header(&s.seen[0], "Content-Length", v, sizeof(v)), "0");
    /* curl's default form Content-Type is not sent when the caller gave none. */
    ASSERT_NULL(ts_header(&s.seen[0], "Content-Type", v, sizeof(v)));
    ASSERT_STREQ(s.seen[1].method, "GET");
    ASSERT_STREQ(ts_header(&s.seen[1], "User-Agent", v, sizeof(v)), "test-agent/1");
    ex_aws_http_free(http);
    ts_stop(&s);
    event_base_free(base);
}

static void on_count(void *arg, const struct ex_aws_http_response *resp)
{
    int *n = arg;
    ASSERT_EQ(resp->rc, 0);
    ASSERT_EQ(resp->status, 200);
    (*n)++;
}

/* Sends |n| requests at once and runs the loop until all are answered. */
static void burst(struct event_base *base, struct ex_aws_http *http,
                  const struct ex_aws_http_request *req, int n)
{
    int done = 0;
    for (int i = 0; i < n; i++) {
        ASSERT_OK(ex_aws_http_send(http, req, on_count, &done));
    }
    ASSERT(ts_run_until_count(base, &done, n, 5.0));
}

static void test_keep_alive(void)
{
    struct event_base *base = event_base_new();
    struct ts_server s;
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ts_start(&s, base));
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    char url[128];
    snprintf(url, sizeof(url), "%s/", s.url);
    struct ex_aws_http_request req = {
        .method = "POST", .url = url, .body = (const uint8_t *)"a", .body_len = 1};
    struct got g[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(ex_aws_http_send(http, &req, on_done, &g[i]));
        ASSERT(ts_run_until(base, &g[i].calls, 5.0));
        ASSERT_EQ(g[i].rc, 0);
        ASSERT_EQ(g[i].status, 200);
        ASSERT_STREQ(g[i].body, "{}");
    }
    ASSERT_UEQ(s.n_seen, 3);
    /* One TCP connection: every request came from the same client port. */
    ASSERT(s.seen[0].peer_port != 0);
    ASSERT_EQ(s.seen[1].peer_port, s.seen[0].peer_port);
    ASSERT_EQ(s.seen[2].peer_port, s.seen[0].peer_port);

    /* Connections opened for a burst stay for the next one. libcurl's default cache holds 4 per
     * transfer in progress, so quiet spells between bursts (one call at a time) used to close
     * them one per call, and every burst opened new ones (a TLS handshake each against AWS). */
    burst(base, http, &req, 10);
    for (int i = 0; i < 8; i++) {
        burst(base, http, &req, 1);
    }
    burst(base, http, &req, 10);
    ASSERT_UEQ(s.n_seen, 31);
    size_t ports = 0;
    for (size_t i = 0; i < s.n_seen; i++) {
        size_t j = 0;
        while (j < i && s.seen[j].peer_port != s.seen[i].peer_port) {
            j++;
        }
        ports += j == i;
    }
    /* The first burst needed 10 (HTTP/1.1: one call per connection), one of them the first
     * three calls' connection; nothing opened after it. */
    ASSERT_UEQ(ports, 10);
    ex_aws_http_free(http);
    ts_stop(&s);
    event_base_free(base);
}

static void test_timeout(void)
{
    struct event_base *base = event_base_new();
    struct ts_raw r;
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ts_raw_start(&r, base, NULL, 0, false));
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    struct ex_aws_http_request req = {.method = "GET", .url = r.url, .timeout_ms = 200};
    struct got g = {0};
    double t0 = ts_now_s();
    ASSERT_OK(ex_aws_http_send(http, &req, on_done, &g));
    ASSERT(ts_run_until(base, &g.calls, 5.0));
    double took = ts_now_s() - t0;
    ASSERT_EQ(g.rc, AG_ETIMEDOUT);
    ASSERT_EQ(g.status, 0);
    ASSERT(g.transport_error[0] != '\0');
    ASSERT(took >= 0.19 && took < 2.0);
    ASSERT_EQ(r.accepted, 1);
    ex_aws_http_free(http);
    ts_raw_stop(&r);
    event_base_free(base);
}

static void test_cut_body(void)
{
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"partial";
    struct event_base *base = event_base_new();
    struct ts_raw r;
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ts_raw_start(&r, base, reply, sizeof(reply) - 1, true));
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    struct ex_aws_http_request req = {.method = "GET", .url = r.url};
    struct got g = {0};
    ASSERT_OK(ex_aws_http_send(http, &req, on_done, &g));
    ASSERT(ts_run_until(base, &g.calls, 5.0));
    ASSERT_EQ(g.calls, 1);
    ASSERT_EQ(g.rc, AG_EIO);
    ASSERT_EQ(g.status, 0);
    ex_aws_http_free(http);
    ts_raw_stop(&r);
    event_base_free(base);
}

static void test_too_big(void)
{
    static char big[3001];
    memset(big, 'x', 3000);
    struct event_base *base = event_base_new();
    struct ts_server s;
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ts_start(&s, base));
    ts_push(&s, (struct ts_answer){.status = 200, .body = big});
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    struct ex_aws_http_request req = {.method = "GET", .url = s.url, .max_response = 1000};
    struct got g = {0}, g2 = {0};
    ASSERT_OK(ex_aws_http_send(http, &req, on_done, &g));
    ASSERT(ts_run_until(base, &g.calls, 5.0));
    ASSERT_EQ(g.rc, AG_ETOOBIG);
    /* Exactly at the limit is fine. */
    req.max_response = 3000;
    ASSERT_OK(ex_aws_http_send(http, &req, on_done, &g2));
    ASSERT(ts_run_until(base, &g2.calls, 5.0));
    ASSERT_EQ(g2.rc, 0);
    ASSERT_UEQ(g2.body_len, 3000);
    ex_aws_http_free(http);
    ts_stop(&s);
    event_base_free(base);
}

static void test_refused(void)
{
    struct event_base *base = event_base_new();
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)ts_dead_port());
    struct ex_aws_http_request req = {.method = "GET", .url = url};
    struct got g = {0};
    ASSERT_OK(ex_aws_http_send(http, &req, on_done, &g));
    ASSERT(ts_run_until(base, &g.calls, 5.0));
    ASSERT_EQ(g.rc, AG_EIO);
    ASSERT(g.transport_error[0] != '\0');
    ex_aws_http_free(http);
    event_base_free(base);
}

static void test_bad_arguments(void)
{
    struct event_base *base = event_base_new();
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    struct got g = {0};
    struct ex_aws_http_request req = {.method = "GET", .url = NULL};
    ASSERT_EQ(ex_aws_http_send(http, &req, on_done, &g), AG_EINVAL);
    req.url = "ftp://127.0.0.1/";
    ASSERT_EQ(ex_aws_http_send(http, &req, on_done, &g), AG_EINVAL);
    req.url = "http://127.0.0.1/";
    req.method = NULL;
    ASSERT_EQ(ex_aws_http_send(http, &req, on_done, &g), AG_EINVAL);
    req.method = "GET";
    struct ex_aws_header crlf = {"X-A", "v\r\nX-Injected: 1"};
    req.headers = &crlf;
    req.n_headers = 1;
    ASSERT_EQ(ex_aws_http_send(http, &req, on_done, &g), AG_EINVAL);
    struct ex_aws_header badname = {"X A", "v"};
    req.headers = &badname;
    ASSERT_EQ(ex_aws_http_send(http, &req, on_done, &g), AG_EINVAL);
    struct ex_aws_header many[EX_AWS_HTTP_MAX_HEADERS + 1];
    for (size_t i = 0; i <= EX_AWS_HTTP_MAX_HEADERS; i++) {
        many[i] = (struct ex_aws_header){"X-A", "b"};
    }
    req.headers = many;
    req.n_headers = EX_AWS_HTTP_MAX_HEADERS + 1;
    ASSERT_EQ(ex_aws_http_send(http, &req, on_done, &g), AG_EINVAL);
    ASSERT_UEQ(ex_aws_http_pending(http), 0);
    struct timeval tv = {0, 20000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    ASSERT_EQ(g.calls, 0);
    ex_aws_http_free(http);
    ex_aws_http_free(NULL);
    event_base_free(base);
}

static void test_free_in_flight(void)
{
    struct event_base *base = event_base_new();
    struct ts_server s;
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ts_start(&s, base));
    ts_push(&s, (struct ts_answer){.no_reply = true});
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    struct ex_aws_http_request req = {.method = "GET", .url = s.url};
    struct got g[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(ex_aws_http_send(http, &req, on_done, &g[i]));
    }
    /* Let them reach the server, and add one that never got to run at all. */
    ASSERT(ts_run_until_count(base, &s.requests, 3, 5.0));
    struct got late = {0};
    ASSERT_OK(ex_aws_http_send(http, &req, on_done, &late));
    ASSERT_UEQ(ex_aws_http_pending(http), 4);
    ex_aws_http_free(http);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(g[i].calls, 1);
        ASSERT_EQ(g[i].rc, AG_EAGAIN);
    }
    ASSERT_EQ(late.calls, 1);
    ASSERT_EQ(late.rc, AG_EAGAIN);
    struct timeval tv = {0, 20000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    ASSERT_EQ(g[0].calls, 1);
    ts_stop(&s);
    event_base_free(base);
}

/* A done callback that frees the client with other requests still in flight. */
struct freeing {
    struct ex_aws_http *http;
    struct got g;
};

static void free_from_done(void *arg, const struct ex_aws_http_response *resp)
{
    struct freeing *f = arg;
    on_done(&f->g, resp);
    ex_aws_http_free(f->http);
}

static void test_free_from_callback(void)
{
    struct event_base *base = event_base_new();
    struct ts_server s;
    struct ts_raw r;
    ASSERT_OK(ts_start(&s, base));
    ASSERT_OK(ts_raw_start(&r, base, NULL, 0, false));
    struct freeing f = {0};
    ASSERT_OK(ex_aws_http_new(base, NULL, &f.http));
    struct ex_aws_http_request slow = {.method = "GET", .url = r.url};
    struct ex_aws_http_request fast = {.method = "GET", .url = s.url};
    struct got g = {0};
    ASSERT_OK(ex_aws_http_send(f.http, &slow, on_done, &g));
    ASSERT_OK(ex_aws_http_send(f.http, &fast, free_from_done, &f));
    ASSERT(ts_run_until(base, &f.g.calls, 5.0));
    ASSERT_EQ(f.g.rc, 0);
    ASSERT_EQ(g.calls, 1);
    ASSERT_EQ(g.rc, AG_EAGAIN);
    ts_raw_stop(&r);
    ts_stop(&s);
    event_base_free(base);
}

/* With -Dfailmalloc=true: fail each of our allocations in turn; every path reports an error and
 * leaks nothing (the sanitizer build checks). curl's own allocations are not ours to fail. */
static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct event_base *base = event_base_new();
    struct ts_server s;
    ASSERT_OK(ts_start(&s, base));
    int ok = 0;
    for (long n = 0; n < 200 && ok < 3; n++) {
        struct ex_aws_http *http = NULL;
        ag_mem_fail_after(n);
        int rc = ex_aws_http_new(base, NULL, &http);
        if (rc != 0) {
            ag_mem_fail_after(-1);
            ASSERT_EQ(rc, AG_ENOMEM);
            continue;
        }
        const struct ex_aws_header h = {"X-A", "b"};
        struct ex_aws_http_request req = {.method = "POST",
                                          .url = s.url,
                                          .headers = &h,
                                          .n_headers = 1,
                                          .body = (const uint8_t *)"x",
                                          .body_len = 1};
        struct got g = {0};
        rc = ex_aws_http_send(http, &req, on_done, &g);
        if (rc == 0) {
            ASSERT(ts_run_until(base, &g.calls, 5.0));
            ASSERT(g.rc == 0 || g.rc == AG_ENOMEM || g.rc == AG_EIO);
            if (g.rc == 0) {
                ok++;
            }
        } else {
            ASSERT_EQ(rc, AG_ENOMEM);
        }
        ag_mem_fail_after(-1);
        ex_aws_http_free(http);
    }
    ASSERT(ok > 0);
    ts_stop(&s);
    event_base_free(base);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_post_and_answer), AG_TEST_CASE(test_get_put_user_agent),
             AG_TEST_CASE(test_keep_alive), AG_TEST_CASE(test_timeout), AG_TEST_CASE(test_cut_body),
             AG_TEST_CASE(test_too_big), AG_TEST_CASE(test_refused),
             AG_TEST_CASE(test_bad_arguments), AG_TEST_CASE(test_free_in_flight),
             AG_TEST_CASE(test_free_from_callback), AG_TEST_CASE(test_failmalloc))
