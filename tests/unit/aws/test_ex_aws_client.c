/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service client against an in-process evhttp peer and a fake credentials chain: what a
 * signed request carries (Credential scope, SignedHeaders, the session token, Host with its
 * port), endpoint resolution (option, AWS_ENDPOINT_URL_<ID>, AWS_ENDPOINT_URL, regional
 * defaults), the region from IMDS, the standard retry mode (503 then 200, throttling until the
 * attempts run out, no retry on validation errors, Retry-After, the quota), one credentials
 * refresh after an auth error, one clock correction after a skew error, credentials failures,
 * transport failures and cancellation by ex_aws_client_free(); bodies streamed to on_data (an
 * error body still kept, no retry once some was delivered) and ex_aws_client_cancel().
 */
#include "config.h"
#include "ag_mem.h"
#include "ag_test.h"
#include "aws_test_server.h"
#include "ex_aws_client.h"
#include "ex_aws_client_int.h"
#include "fake_creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct got {
    int calls;
    int rc;
    int status;
    char code[128];
    char message[512];
    char request_id[128];
    char body[1024];
    unsigned attempts;
    bool throttled;
};

static void on_done(void *arg, const struct ex_aws_result *res)
{
    struct got *g = arg;
    g->calls++;
    g->rc = res->rc;
    g->status = res->status;
    snprintf(g->code, sizeof(g->code), "%s", res->error.code);
    snprintf(g->message, sizeof(g->message), "%s", res->error.message);
    snprintf(g->request_id, sizeof(g->request_id), "%s", res->request_id ? res->request_id : "");
    snprintf(g->body, sizeof(g->body), "%.*s", (int)res->body_len, (const char *)res->body);
    g->attempts = res->attempts;
    g->throttled = res->throttled;
}

struct fx {
    struct event_base *base;
    struct ts_server s;
    struct ex_aws_http *http;
    struct ex_aws_creds *creds;
    struct ex_aws_client *cl;
};

static const struct ex_aws_client_options xray_opts = {
    .service_id = "XRAY",
    .endpoint_prefix = "xray",
    .signing_name = "xray",
    .protocol = EX_AWS_REST_JSON,
    .region = "us-west-2",
};

/* A loop, a peer, an HTTP client, the fake chain and a client of |o| pointed at the peer (unless
 * |o| has its own endpoint). Returns 0 or -1. */
static int fx_init(struct fx *f, struct ex_aws_client_options o)
{
    memset(f, 0, sizeof(*f));
    f->base = event_base_new();
    if (ts_start(&f->s, f->base) != 0 || ex_aws_http_new(f->base, NULL, &f->http) != 0) {
        return -1;
    }
    f->creds = fake_creds_new(f->base);
    if (o.endpoint == NULL) {
        o.endpoint = f->s.url;
    }
    char err[128];
    if (ex_aws_client_new(f->base, f->http, f->creds, &o, &f->cl, err, sizeof(err)) != 0) {
        return -1;
    }
    ex_aws_client_set_jitter_scale(f->cl, 0.0);
    return 0;
}

static void fx_free(struct fx *f)
{
    ex_aws_client_free(f->cl);
    ex_aws_http_free(f->http);
    if (f->creds != NULL) {
        fake_creds_free(f->creds);
    }
    ts_stop(&f->s);
    event_base_free(f->base);
}

/* Starts |call| on |f|'s client and runs the loop until it is done. Returns 0, or -1 when the
 * call was refused or did not end within 5 s. */
static int run_call(struct fx *f, const struct ex_aws_call *call, struct got *g)
{
    if (ex_aws_client_call(f->cl, call, on_done, g) != 0) {
        return -1;
    }
    return ts_run_until(f->base, &g->calls, 5.0) ? 0 : -1;
}

static const struct ex_aws_call put_segments = {
    .method = "POST",
    .path = "/TraceSegments",
    .content_type = "application/json",
    .body = (const uint8_t *)"{\"TraceSegmentDocuments\":[]}",
    .body_len = 28,
};

static void test_signed_request(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.status = 200,
                                     .headers = {{"x-amzn-RequestId", "rid-1"}},
                                     .body = "{\"UnprocessedTraceSegments\":[]}"});
    const struct ex_aws_header extra = {"x-amzn-logs-format", "json/emf"};
    struct ex_aws_call call = put_segments;
    call.target = "XRay.PutTraceSegments";
    call.query = "b=2&a=1";
    call.headers = &extra;
    call.n_headers = 1;
    struct got g = {0};
    time_t before = time(NULL);
    ASSERT_OK(ex_aws_client_call(f.cl, &call, on_done, &g));
    ASSERT_EQ(g.calls, 0); /* never inside the call */
    ASSERT_UEQ(ex_aws_client_pending(f.cl), 1);
    ASSERT(ts_run_until(f.base, &g.calls, 5.0));
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.status, 200);
    ASSERT_EQ(g.attempts, 1);
    ASSERT_STREQ(g.request_id, "rid-1");
    ASSERT_STREQ(g.body, "{\"UnprocessedTraceSegments\":[]}");
    ASSERT_UEQ(ex_aws_client_pending(f.cl), 0);

    ASSERT_UEQ(f.s.n_seen, 1);
    const struct ts_seen *w = &f.s.seen[0];
    ASSERT_STREQ(w->method, "POST");
    ASSERT_STREQ(w->uri, "/TraceSegments?b=2&a=1");
    ASSERT_UEQ(w->body_len, 28);
    char v[1024], want[256], day[16];
    struct tm tm;
    gmtime_r(&before, &tm);
    strftime(day, sizeof(day), "%Y%m%d", &tm);
    ASSERT_NOT_NULL(ts_header(w, "Authorization", v, sizeof(v)));
    snprintf(want, sizeof(want),
             "AWS4-HMAC-SHA256 Credential=" FAKE_AKID "/%s/us-west-2/xray/aws4_request, ", day);
    ASSERT_EQ(strncmp(v, want, strlen(want)), 0);
    ASSERT_STRCONTAINS(v, "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
                          "x-amz-target;x-amzn-logs-format, Signature=");
    ASSERT_STREQ(ts_header(w, "X-Amz-Security-Token", v, sizeof(v)), "token-0");
    snprintf(want, sizeof(want), "127.0.0.1:%u", (unsigned)f.s.port);
    ASSERT_STREQ(ts_header(w, "Host", v, sizeof(v)), want);
    ASSERT_STREQ(ts_header(w, "X-Amz-Target", v, sizeof(v)), "XRay.PutTraceSegments");
    ASSERT_STREQ(ts_header(w, "x-amzn-logs-format", v, sizeof(v)), "json/emf");
    ASSERT_STREQ(ts_header(w, "Content-Type", v, sizeof(v)), "application/json");
    ASSERT_NOT_NULL(ts_header(w, "X-Amz-Date", v, sizeof(v)));
    ASSERT_UEQ(strlen(v), 16);
    ASSERT_EQ(strncmp(v, day, 8), 0);
    ASSERT_STRCONTAINS(ts_header(w, "User-Agent", v, sizeof(v)), "otterd/");

    const struct ex_aws_client_stats *st = ex_aws_client_stats(f.cl);
    ASSERT_UEQ(st->calls, 1);
    ASSERT_UEQ(st->attempts, 1);
    ASSERT_UEQ(st->retries, 0);
    ASSERT_UEQ(st->failures, 0);
    ASSERT_STREQ(ex_aws_client_region(f.cl), "us-west-2");
    fx_free(&f);
}

static void test_bad_calls(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    struct got g = {0};
    struct ex_aws_call call = put_segments;
    call.path = "TraceSegments";
    ASSERT_EQ(ex_aws_client_call(f.cl, &call, on_done, &g), AG_EINVAL);
    call.path = NULL;
    ASSERT_EQ(ex_aws_client_call(f.cl, &call, on_done, &g), AG_EINVAL);
    call = put_segments;
    call.method = NULL;
    ASSERT_EQ(ex_aws_client_call(f.cl, &call, on_done, &g), AG_EINVAL);
    call = put_segments;
    const struct ex_aws_header host = {"Host", "evil"};
    call.headers = &host;
    call.n_headers = 1;
    ASSERT_EQ(ex_aws_client_call(f.cl, &call, on_done, &g), AG_EINVAL);
    ASSERT_UEQ(ex_aws_client_stats(f.cl)->calls, 0);
    /* A header value the signer refuses fails the call from the loop. */
    const struct ex_aws_header ctl = {"x-a", "a\001b"};
    call.headers = &ctl;
    ASSERT_OK(run_call(&f, &call, &g));
    ASSERT_EQ(g.rc, AG_EINVAL);
    ASSERT_EQ(g.attempts, 0);
    ASSERT_UEQ(f.s.n_seen, 0);
    fx_free(&f);
}

static void test_new_errors(void)
{
    struct event_base *base = event_base_new();
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    struct ex_aws_creds *creds = fake_creds_new(base);
    struct ex_aws_client *cl = NULL;
    char err[128] = "";
    struct ex_aws_client_options o = xray_opts;
    o.endpoint = "ftp://example.com";
    ASSERT_EQ(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)), AG_EINVAL);
    ASSERT_NULL(cl);
    ASSERT_STRCONTAINS(err, "endpoint");
    o.endpoint = "http://user@example.com";
    ASSERT_EQ(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)), AG_EINVAL);
    o.endpoint = "http://";
    ASSERT_EQ(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)), AG_EINVAL);
    o = xray_opts;
    o.signing_name = NULL;
    ASSERT_EQ(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)), AG_EINVAL);
    o = xray_opts;
    o.region = "us-east-1.evil.com/";
    ASSERT_EQ(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)), AG_EINVAL);
    ex_aws_client_free(NULL);
    fake_creds_free(creds);
    ex_aws_http_free(http);
    event_base_free(base);
}

static void test_endpoints(void)
{
    struct event_base *base = event_base_new();
    struct ex_aws_http *http = NULL;
    ASSERT_OK(ex_aws_http_new(base, NULL, &http));
    struct ex_aws_creds *creds = fake_creds_new(base);
    struct ex_aws_client *cl = NULL;
    char err[128];
    struct ex_aws_client_options o = xray_opts;
    unsetenv("AWS_ENDPOINT_URL_XRAY");
    unsetenv("AWS_ENDPOINT_URL");

    o.region = "us-east-1";
    ASSERT_OK(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_endpoint(cl), "https://xray.us-east-1.amazonaws.com");
    ex_aws_client_free(cl);
    o.region = "cn-north-1";
    ASSERT_OK(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_endpoint(cl), "https://xray.cn-north-1.amazonaws.com.cn");
    ex_aws_client_free(cl);
    /* The region from the chain when the option has none. */
    o.region = NULL;
    snprintf(creds->region, sizeof(creds->region), "eu-west-1");
    ASSERT_OK(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_endpoint(cl), "https://xray.eu-west-1.amazonaws.com");
    ASSERT_STREQ(ex_aws_client_region(cl), "eu-west-1");
    ex_aws_client_free(cl);
    o.region = "us-east-1";

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
    ASSERT_OK(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_endpoint(cl), "http://127.0.0.1:4566");
    ex_aws_client_free(cl);
    setenv("AWS_ENDPOINT_URL_XRAY", "https://xray.local:8443/base/", 1);
    ASSERT_OK(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_endpoint(cl), "https://xray.local:8443/base");
    ex_aws_client_free(cl);
    /* Another service does not see X-Ray's variable. */
    struct ex_aws_client_options logs = {.service_id = "CLOUDWATCH_LOGS",
                                         .endpoint_prefix = "logs",
                                         .signing_name = "logs",
                                         .protocol = EX_AWS_JSON,
                                         .region = "us-east-1"};
    ASSERT_OK(ex_aws_client_new(base, http, creds, &logs, &cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_endpoint(cl), "http://127.0.0.1:4566");
    ex_aws_client_free(cl);
    o.endpoint = "https://override.example:443";
    ASSERT_OK(ex_aws_client_new(base, http, creds, &o, &cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_endpoint(cl), "https://override.example:443");
    ex_aws_client_free(cl);
    unsetenv("AWS_ENDPOINT_URL_XRAY");
    unsetenv("AWS_ENDPOINT_URL");
    fake_creds_free(creds);
    ex_aws_http_free(http);
    event_base_free(base);
}

static void test_region_from_imds(void)
{
    struct ex_aws_client_options o = xray_opts;
    o.region = NULL;
    struct fx f;
    memset(&f, 0, sizeof(f));
    f.base = event_base_new();
    ASSERT_OK(ts_start(&f.s, f.base));
    ASSERT_OK(ex_aws_http_new(f.base, NULL, &f.http));
    f.creds = fake_creds_new(f.base);
    f.creds->imds_region = "ap-south-1";
    o.endpoint = f.s.url;
    char err[128];
    ASSERT_OK(ex_aws_client_new(f.base, f.http, f.creds, &o, &f.cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_region(f.cl), "");
    struct got g1 = {0}, g2 = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &g1));
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &g2));
    ASSERT(ts_run_until(f.base, &g1.calls, 5.0));
    ASSERT(ts_run_until(f.base, &g2.calls, 5.0));
    ASSERT_EQ(g1.rc, 0);
    ASSERT_EQ(g2.rc, 0);
    ASSERT_EQ(f.creds->imds_asks, 1);
    ASSERT_STREQ(ex_aws_client_region(f.cl), "ap-south-1");
    char v[1024];
    ASSERT_STRCONTAINS(ts_header(&f.s.seen[0], "Authorization", v, sizeof(v)),
                       "/ap-south-1/xray/aws4_request");
    ex_aws_client_free(f.cl);

    /* No region anywhere: the call fails with IMDS's code; the default endpoint waits. */
    f.creds->imds_region = NULL;
    o.endpoint = NULL;
    unsetenv("AWS_ENDPOINT_URL_XRAY");
    unsetenv("AWS_ENDPOINT_URL");
    ASSERT_OK(ex_aws_client_new(f.base, f.http, f.creds, &o, &f.cl, err, sizeof(err)));
    ASSERT_STREQ(ex_aws_client_endpoint(f.cl), "");
    struct got g3 = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g3));
    ASSERT_EQ(g3.rc, AG_EIO);
    ASSERT_STRCONTAINS(g3.message, "region");
    ASSERT_EQ(f.creds->imds_asks, 2);
    /* Freed while IMDS is being asked: the late answer finds nothing. */
    struct got g4 = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &g4));
    struct timeval tv = {0, 0};
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    ex_aws_client_free(f.cl);
    f.cl = NULL;
    ASSERT_EQ(g4.calls, 1);
    ASSERT_EQ(g4.rc, AG_EAGAIN);
    fx_free(&f);
}

static void test_retry_503_then_200(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.status = 503, .body = ""});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"});
    struct got g = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g));
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.status, 200);
    ASSERT_EQ(g.attempts, 2);
    ASSERT(!g.throttled);
    ASSERT_UEQ(f.s.n_seen, 2);
    ASSERT_UEQ(f.s.seen[1].body_len, 28); /* the body again */
    const struct ex_aws_client_stats *st = ex_aws_client_stats(f.cl);
    ASSERT_UEQ(st->attempts, 2);
    ASSERT_UEQ(st->retries, 1);
    ASSERT_UEQ(st->failures, 0);
    fx_free(&f);
}

static void test_throttled_until_exhausted(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){
                      .status = 429,
                      .headers = {{"x-amzn-ErrorType", "ThrottlingException:http://internal/"},
                                  {"x-amzn-RequestId", "rid-t"}},
                      .body = "{\"message\":\"Rate exceeded\"}"});
    struct got g = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g));
    ASSERT_EQ(g.rc, AG_EUPSTREAM);
    ASSERT_EQ(g.status, 429);
    ASSERT_STREQ(g.code, "ThrottlingException");
    ASSERT_STREQ(g.message, "Rate exceeded");
    ASSERT_STREQ(g.request_id, "rid-t");
    ASSERT_EQ(g.attempts, 3);
    ASSERT(g.throttled);
    ASSERT_UEQ(f.s.n_seen, 3);
    const struct ex_aws_client_stats *st = ex_aws_client_stats(f.cl);
    ASSERT_UEQ(st->throttles, 3);
    ASSERT_UEQ(st->retries, 2);
    ASSERT_UEQ(st->failures, 1);
    fx_free(&f);
}

static void test_validation_not_retried(void)
{
    struct ex_aws_client_options o = {.service_id = "CLOUDWATCH_LOGS",
                                      .endpoint_prefix = "logs",
                                      .signing_name = "logs",
                                      .protocol = EX_AWS_JSON,
                                      .region = "us-east-1"};
    struct fx f;
    ASSERT_OK(fx_init(&f, o));
    ts_push(&f.s, (struct ts_answer){
                      .status = 400,
                      .body = "{\"__type\":\"com.amazonaws.logs#InvalidParameterException\","
                              "\"message\":\"bad stream\"}"});
    struct ex_aws_call call = {.method = "POST",
                               .path = "/",
                               .content_type = "application/x-amz-json-1.1",
                               .target = "Logs_20140328.PutLogEvents",
                               .body = (const uint8_t *)"{}",
                               .body_len = 2};
    struct got g = {0};
    ASSERT_OK(run_call(&f, &call, &g));
    ASSERT_EQ(g.rc, AG_EUPSTREAM);
    ASSERT_EQ(g.status, 400);
    ASSERT_STREQ(g.code, "InvalidParameterException");
    ASSERT_STREQ(g.message, "bad stream");
    ASSERT_EQ(g.attempts, 1);
    ASSERT_UEQ(f.s.n_seen, 1);
    char v[1024];
    ASSERT_STRCONTAINS(ts_header(&f.s.seen[0], "Authorization", v, sizeof(v)),
                       "/us-east-1/logs/aws4_request");
    fx_free(&f);
}

static void test_retry_after(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.status = 503, .headers = {{"Retry-After", "1"}}});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"});
    struct got g = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g));
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.attempts, 2);
    ASSERT_UEQ(f.s.n_seen, 2);
    double gap = f.s.seen[1].at_s - f.s.seen[0].at_s;
    ASSERT(gap >= 0.95 && gap < 3.0);
    fx_free(&f);
}

static void test_expired_token(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.status = 400,
                                     .headers = {{"x-amzn-ErrorType", "ExpiredTokenException"}},
                                     .body = "{\"message\":\"expired\"}"});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"});
    struct got g = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g));
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.attempts, 2);
    ASSERT_EQ(f.creds->invalidations, 1);
    ASSERT_UEQ(ex_aws_client_stats(f.cl)->auth_refreshes, 1);
    char v[256];
    ASSERT_STREQ(ts_header(&f.s.seen[0], "X-Amz-Security-Token", v, sizeof(v)), "token-0");
    ASSERT_STREQ(ts_header(&f.s.seen[1], "X-Amz-Security-Token", v, sizeof(v)), "token-1");
    ex_aws_client_free(f.cl);

    /* An auth error that persists: one refresh, then the error. */
    char err[128];
    struct ex_aws_client_options o = xray_opts;
    o.endpoint = f.s.url;
    ASSERT_OK(ex_aws_client_new(f.base, f.http, f.creds, &o, &f.cl, err, sizeof(err)));
    f.s.n_script = f.s.next = 0;
    ts_push(&f.s,
            (struct ts_answer){.status = 403,
                               .headers = {{"x-amzn-ErrorType", "UnrecognizedClientException"}},
                               .body = "{}"});
    struct got g2 = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g2));
    ASSERT_EQ(g2.rc, AG_EUPSTREAM);
    ASSERT_EQ(g2.status, 403);
    ASSERT_STREQ(g2.code, "UnrecognizedClientException");
    ASSERT_EQ(g2.attempts, 2);
    ASSERT_EQ(f.creds->invalidations, 2);
    fx_free(&f);
}

static int64_t parse_amz_date(const char *s)
{
    struct tm tm = {0};
    if (sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6) {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void test_clock_skew(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    /* The server's clock is one hour ahead. */
    char date[64];
    time_t ahead = time(NULL) + 3600;
    struct tm tm;
    gmtime_r(&ahead, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ts_push(&f.s, (struct ts_answer){.status = 403,
                                     .headers = {{"x-amzn-ErrorType", "InvalidSignatureException"},
                                                 {"Date", date}},
                                     .body = "{}"});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"});
    struct got g = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g));
    ASSERT_EQ(g.rc, 0);
    ASSERT_EQ(g.attempts, 2);
    ASSERT_EQ(f.creds->invalidations, 0); /* a clock problem, not a credentials one */
    char v[64];
    int64_t d0 = parse_amz_date(ts_header(&f.s.seen[0], "X-Amz-Date", v, sizeof(v)));
    int64_t d1 = parse_amz_date(ts_header(&f.s.seen[1], "X-Amz-Date", v, sizeof(v)));
    ASSERT(d1 - d0 >= 3598 && d1 - d0 <= 3602);
    /* Later calls keep the correction. */
    struct got g2 = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g2));
    int64_t d2 = parse_amz_date(ts_header(&f.s.seen[2], "X-Amz-Date", v, sizeof(v)));
    ASSERT(d2 - d0 >= 3598 && d2 - d0 <= 3605);
    fx_free(&f);
}

static void test_quota(void)
{
    enum { N = 101 };
    struct ex_aws_client_options o = xray_opts;
    o.max_attempts = 2;
    struct fx f;
    ASSERT_OK(fx_init(&f, o));
    ts_push(&f.s, (struct ts_answer){.status = 503, .body = ""});
    static struct got g[N];
    memset(g, 0, sizeof(g));
    int done = 0;
    for (int i = 0; i < N; i++) {
        ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &g[i]));
    }
    for (int i = 0; i < N; i++) {
        ASSERT(ts_run_until(f.base, &g[i].calls, 10.0));
        ASSERT_EQ(g[i].rc, AG_EUPSTREAM);
        done += g[i].attempts;
    }
    /* 500 tokens pay 100 retries of 5: 101 first attempts + 100 retries. */
    ASSERT_EQ(done, 201);
    ASSERT_EQ(f.s.requests, 201);
    ASSERT_UEQ(ex_aws_client_stats(f.cl)->retries, 100);
    ASSERT_UEQ(ex_aws_client_stats(f.cl)->failures, N);
    /* Drained: the next failing call is not retried at all. */
    struct got last = {0};
    ASSERT_OK(run_call(&f, &put_segments, &last));
    ASSERT_EQ(last.attempts, 1);
    fx_free(&f);
}

static void test_creds_failure(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    f.creds->fail_next = AG_ENOTFOUND;
    struct got g = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &g));
    ASSERT_EQ(g.calls, 0);
    ASSERT(ts_run_until(f.base, &g.calls, 5.0));
    ASSERT_EQ(g.rc, AG_ENOTFOUND);
    ASSERT_STRCONTAINS(g.message, "no credentials");
    ASSERT_EQ(g.attempts, 0);
    ASSERT_UEQ(f.s.n_seen, 0);
    ASSERT_UEQ(ex_aws_client_stats(f.cl)->failures, 1);
    /* Asynchronous credentials work the same. */
    f.creds->async = true;
    struct got g2 = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g2));
    ASSERT_EQ(g2.rc, 0);
    /* A transient failure of the credential endpoint (an error answer, a timeout) is retried
     * within the attempt budget (3): one failure, then the request goes out once. */
    f.creds->fail_next = AG_EUPSTREAM;
    int gets = f.creds->gets;
    struct got g3 = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g3));
    ASSERT_EQ(g3.rc, 0);
    ASSERT_EQ(g3.status, 200);
    ASSERT_EQ(g3.attempts, 1);
    ASSERT_EQ(f.creds->gets - gets, 2);
    /* Timing out every time: three fetches (attempts 1, 2 and 3 of 3), then the call fails with
     * the fetch's error; nothing was sent. */
    size_t seen = f.s.n_seen;
    f.creds->fail_next = AG_ETIMEDOUT;
    f.creds->fail_more = 10;
    gets = f.creds->gets;
    struct got g4 = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g4));
    ASSERT_EQ(g4.rc, AG_ETIMEDOUT);
    ASSERT_EQ(g4.attempts, 0);
    ASSERT_EQ(f.creds->gets - gets, 3);
    ASSERT_UEQ(f.s.n_seen, seen);
    f.creds->fail_next = 0;
    f.creds->fail_more = 0;
    fx_free(&f);
}

static void test_transport_errors(void)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)ts_dead_port());
    struct ex_aws_client_options o = xray_opts;
    o.endpoint = url;
    o.max_attempts = 2;
    struct fx f;
    ASSERT_OK(fx_init(&f, o));
    struct got g = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g));
    ASSERT_EQ(g.rc, AG_EIO);
    ASSERT_EQ(g.status, 0);
    ASSERT_EQ(g.attempts, 2);
    ASSERT(g.message[0] != '\0');
    ex_aws_client_free(f.cl);
    f.cl = NULL;

    struct ts_raw r;
    ASSERT_OK(ts_raw_start(&r, f.base, NULL, 0, false));
    o.endpoint = r.url;
    o.max_attempts = 1;
    o.timeout_ms = 200;
    char err[128];
    ASSERT_OK(ex_aws_client_new(f.base, f.http, f.creds, &o, &f.cl, err, sizeof(err)));
    struct got g2 = {0};
    ASSERT_OK(run_call(&f, &put_segments, &g2));
    ASSERT_EQ(g2.rc, AG_ETIMEDOUT);
    ASSERT_EQ(g2.attempts, 1);
    ts_raw_stop(&r);
    fx_free(&f);
}

static void test_cancel_on_free(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    /* First request: held forever by the server; second: waits 5 s to retry. */
    ts_push(&f.s, (struct ts_answer){.no_reply = true});
    ts_push(&f.s, (struct ts_answer){.status = 503, .headers = {{"Retry-After", "5"}}});
    struct got in_http = {0}, waiting = {0}, creds = {0}, fresh = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &in_http));
    ASSERT(ts_run_until(f.base, &f.s.requests, 5.0));
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &waiting));
    ASSERT(ts_run_until_count(f.base, &f.s.requests, 2, 5.0));
    struct timeval tv = {0, 20000};
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    f.creds->async = true;
    f.creds->gets = 0;
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &creds));
    tv.tv_usec = 0;
    event_base_loopexit(f.base, &tv);
    event_base_loop(f.base, EVLOOP_ONCE); /* starts it: a get is now pending */
    ASSERT_UEQ(f.creds->n_pending, 1);
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &fresh));
    ASSERT_UEQ(ex_aws_client_pending(f.cl), 4);
    ASSERT_UEQ(ex_aws_http_pending(f.http), 1);
    ASSERT_EQ(in_http.calls + waiting.calls + creds.calls + fresh.calls, 0);

    ex_aws_client_free(f.cl);
    f.cl = NULL;
    struct got *all[] = {&in_http, &waiting, &creds, &fresh};
    for (size_t i = 0; i < 4; i++) {
        ASSERT_EQ(all[i]->calls, 1);
        ASSERT_EQ(all[i]->rc, AG_EAGAIN);
    }
    ASSERT_EQ(waiting.attempts, 1);
    ASSERT_UEQ(f.creds->n_pending, 0);
    ASSERT_EQ(f.creds->cancels, 1);
    /* The orphaned attempt ends when the HTTP client goes; nothing runs twice. */
    tv.tv_usec = 20000;
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    ex_aws_http_free(f.http);
    f.http = NULL;
    for (size_t i = 0; i < 4; i++) {
        ASSERT_EQ(all[i]->calls, 1);
    }
    fx_free(&f);
}

/*
 * A borrowed body is sent as it is, on a retry too (the caller keeps it until done runs); when
 * the client is freed while such an attempt is in HTTP, the attempt stops at once (no orphan
 * reading a body its owner frees in the done callback: ASan would see the read).
 */
struct borrowed {
    struct got g;
    char *body;
};

static void on_done_free_body(void *arg, const struct ex_aws_result *res)
{
    struct borrowed *b = arg;
    on_done(&b->g, res);
    ag_free(b->body);
    b->body = NULL;
}

static void test_borrowed_body(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.status = 503});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"});
    static const char text[] = "{\"TraceSegmentDocuments\":[\"borrowed\"]}";
    struct borrowed b = {.body = ag_strdup(text)};
    ASSERT_NOT_NULL(b.body);
    struct ex_aws_call call = put_segments;
    call.body = (const uint8_t *)b.body;
    call.body_len = strlen(text);
    call.body_borrowed = true;
    ASSERT_OK(ex_aws_client_call(f.cl, &call, on_done_free_body, &b));
    ASSERT(ts_run_until(f.base, &b.g.calls, 5.0));
    ASSERT_EQ(b.g.rc, 0);
    ASSERT_EQ(b.g.attempts, 2); /* the 503 was retried with the same body */
    ASSERT_UEQ(f.s.n_seen, 2);
    for (size_t i = 0; i < 2; i++) {
        ASSERT_UEQ(f.s.seen[i].body_len, strlen(text));
        ASSERT_EQ(memcmp(f.s.seen[i].body, text, strlen(text)), 0);
    }
    ASSERT_NULL(b.body);

    /* Held forever by the server, then the client goes. */
    ts_push(&f.s, (struct ts_answer){.no_reply = true});
    struct borrowed held = {.body = ag_strdup(text)};
    ASSERT_NOT_NULL(held.body);
    call.body = (const uint8_t *)held.body;
    ASSERT_OK(ex_aws_client_call(f.cl, &call, on_done_free_body, &held));
    ASSERT(ts_run_until_count(f.base, &f.s.requests, 3, 5.0));
    ASSERT_UEQ(ex_aws_http_pending(f.http), 1);
    ex_aws_client_free(f.cl);
    f.cl = NULL;
    ASSERT_EQ(held.g.calls, 1);
    ASSERT_EQ(held.g.rc, AG_EAGAIN);
    ASSERT_NULL(held.body);
    ASSERT_UEQ(ex_aws_http_pending(f.http), 0); /* stopped, not orphaned */
    struct timeval tv = {0, 20000};
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    ASSERT_EQ(held.g.calls, 1);
    fx_free(&f);
}

/* ---- streamed bodies and cancel ------------------------------------------------------------ */

struct sink {
    char data[4096];
    size_t len;
    int calls;
    int fail_with; /* returned from the first call when set */
};

static int on_data(void *arg, const uint8_t *data, size_t len)
{
    struct sink *k = arg;
    k->calls++;
    if (k->fail_with != 0) {
        return k->fail_with;
    }
    if (k->len + len < sizeof(k->data)) {
        memcpy(k->data + k->len, data, len);
        k->len += len;
    }
    return 0;
}

struct got_streamed {
    struct got g;
    bool streamed;
    size_t body_len;
};

static void on_done_streamed(void *arg, const struct ex_aws_result *res)
{
    struct got_streamed *gs = arg;
    on_done(&gs->g, res);
    gs->streamed = res->streamed;
    gs->body_len = res->body_len;
}

static void test_streamed_body(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    /* An error answer is kept as a body (and retried); the 2xx one goes to on_data. */
    ts_push(&f.s, (struct ts_answer){.status = 503, .body = "{\"message\":\"busy\"}"});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "event bytes, as they come"});
    struct sink k = {0};
    struct ex_aws_call call = put_segments;
    call.on_data = on_data;
    call.data_arg = &k;
    struct got_streamed gs = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &call, on_done_streamed, &gs));
    ASSERT(ts_run_until(f.base, &gs.g.calls, 5.0));
    ASSERT_EQ(gs.g.rc, 0);
    ASSERT_EQ(gs.g.status, 200);
    ASSERT_EQ(gs.g.attempts, 2);
    ASSERT(gs.streamed);
    ASSERT_EQ(gs.body_len, 0);
    ASSERT_EQ(k.len, strlen("event bytes, as they come"));
    ASSERT_MEMEQ(k.data, "event bytes, as they come", k.len);
    ASSERT(k.calls >= 1);
    fx_free(&f);
}

static void test_streamed_failure_not_retried(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "bad frames"});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "not asked for"});
    struct sink k = {.fail_with = AG_EPROTO};
    struct ex_aws_call call = put_segments;
    call.on_data = on_data;
    call.data_arg = &k;
    struct got_streamed gs = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &call, on_done_streamed, &gs));
    ASSERT(ts_run_until(f.base, &gs.g.calls, 5.0));
    /* The data callback's code ends the call: part of it was delivered, so no retry. */
    ASSERT_EQ(gs.g.rc, AG_EPROTO);
    ASSERT_EQ(gs.g.attempts, 1);
    ASSERT(gs.streamed);
    ASSERT_EQ(k.calls, 1);
    ASSERT_UEQ(f.s.n_seen, 1);
    ex_aws_client_free(f.cl);
    f.cl = NULL;

    /* A connection lost mid-body after some of it was delivered: AG_EIO, not retried. */
    static const char partial[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst bytes";
    struct ts_raw r;
    ASSERT_OK(ts_raw_start(&r, f.base, partial, sizeof(partial) - 1, true));
    struct ex_aws_client_options o = xray_opts;
    o.endpoint = r.url;
    char err[128];
    ASSERT_OK(ex_aws_client_new(f.base, f.http, f.creds, &o, &f.cl, err, sizeof(err)));
    ex_aws_client_set_jitter_scale(f.cl, 0.0);
    struct sink k2 = {0};
    call.data_arg = &k2;
    struct got_streamed gs2 = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &call, on_done_streamed, &gs2));
    ASSERT(ts_run_until(f.base, &gs2.g.calls, 5.0));
    ASSERT_EQ(gs2.g.rc, AG_EIO);
    ASSERT_EQ(gs2.g.attempts, 1);
    ASSERT(gs2.streamed);
    ASSERT_EQ(k2.len, strlen("first bytes"));
    ASSERT_EQ(r.accepted, 1);
    ts_raw_stop(&r);
    fx_free(&f);
}

static void test_cancel(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.no_reply = true});
    ts_push(&f.s, (struct ts_answer){.status = 503, .headers = {{"Retry-After", "5"}}});
    struct got in_http = {0}, waiting = {0}, scheduled = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &in_http));
    ASSERT(ts_run_until(f.base, &f.s.requests, 5.0));
    ASSERT_UEQ(ex_aws_http_pending(f.http), 1);
    /* In flight: the transfer stops at once, the callback never runs. */
    ASSERT_OK(ex_aws_client_cancel(f.cl, on_done, &in_http));
    ASSERT_UEQ(ex_aws_http_pending(f.http), 0);
    ASSERT_UEQ(ex_aws_client_pending(f.cl), 0);
    ASSERT_EQ(ex_aws_client_cancel(f.cl, on_done, &in_http), AG_ENOTFOUND);
    /* Backing off before a retry (Retry-After: 5). */
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &waiting));
    ASSERT(ts_run_until_count(f.base, &f.s.requests, 2, 5.0));
    struct timeval tv = {0, 20000};
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    ASSERT_UEQ(ex_aws_client_pending(f.cl), 1);
    ASSERT_OK(ex_aws_client_cancel(f.cl, on_done, &waiting));
    /* Not started yet (its first attempt waits for the loop). */
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &scheduled));
    ASSERT_OK(ex_aws_client_cancel(f.cl, on_done, &scheduled));
    ASSERT_UEQ(ex_aws_client_pending(f.cl), 0);
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    ASSERT_EQ(in_http.calls + waiting.calls + scheduled.calls, 0);
    ASSERT_EQ(f.s.requests, 2);
    ASSERT_EQ(ex_aws_client_cancel(NULL, on_done, &waiting), AG_ENOTFOUND);
    fx_free(&f);
}

/* The done callback frees the client while other calls are pending. */
struct freeing {
    struct fx *f;
    struct got g;
};

static void free_from_done(void *arg, const struct ex_aws_result *res)
{
    struct freeing *fr = arg;
    on_done(&fr->g, res);
    ex_aws_client_free(fr->f->cl);
    fr->f->cl = NULL;
}

static void test_free_from_callback(void)
{
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.no_reply = true});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"});
    struct freeing fr = {.f = &f};
    struct got other = {0};
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, on_done, &other));
    ASSERT(ts_run_until(f.base, &f.s.requests, 5.0));
    ASSERT_OK(ex_aws_client_call(f.cl, &put_segments, free_from_done, &fr));
    ASSERT(ts_run_until(f.base, &fr.g.calls, 5.0));
    ASSERT_EQ(fr.g.rc, 0);
    ASSERT_EQ(other.calls, 1);
    ASSERT_EQ(other.rc, AG_EAGAIN);
    fx_free(&f);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct fx f;
    ASSERT_OK(fx_init(&f, xray_opts));
    ts_push(&f.s, (struct ts_answer){.status = 503});
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"});
    int ok = 0;
    for (long n = 0; n < 400 && ok < 3; n++) {
        struct ex_aws_client *cl = NULL;
        f.s.next = 0;
        ag_mem_fail_after(n);
        char err[128];
        struct ex_aws_client_options o = xray_opts;
        o.endpoint = f.s.url;
        int rc = ex_aws_client_new(f.base, f.http, f.creds, &o, &cl, err, sizeof(err));
        if (rc != 0) {
            ag_mem_fail_after(-1);
            ASSERT_EQ(rc, AG_ENOMEM);
            continue;
        }
        ex_aws_client_set_jitter_scale(cl, 0.0);
        const struct ex_aws_header h = {"x-a", "b"};
        struct ex_aws_call call = put_segments;
        call.headers = &h;
        call.n_headers = 1;
        struct got g = {0};
        rc = ex_aws_client_call(cl, &call, on_done, &g);
        if (rc == 0) {
            ASSERT(ts_run_until(f.base, &g.calls, 5.0));
            ASSERT(g.rc == 0 || g.rc == AG_ENOMEM);
            ok += g.rc == 0;
        } else {
            ASSERT_EQ(rc, AG_ENOMEM);
        }
        ag_mem_fail_after(-1);
        ex_aws_client_free(cl);
    }
    ASSERT(ok > 0);
    fx_free(&f);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_streamed_body), AG_TEST_CASE(test_streamed_failure_not_retried),
             AG_TEST_CASE(test_cancel), AG_TEST_CASE(test_signed_request), AG_TEST_CASE(test_bad_calls),
             AG_TEST_CASE(test_new_errors), AG_TEST_CASE(test_endpoints),
             AG_TEST_CASE(test_region_from_imds), AG_TEST_CASE(test_retry_503_then_200),
             AG_TEST_CASE(test_throttled_until_exhausted),
             AG_TEST_CASE(test_validation_not_retried), AG_TEST_CASE(test_retry_after),
             AG_TEST_CASE(test_expired_token), AG_TEST_CASE(test_clock_skew),
             AG_TEST_CASE(test_quota), AG_TEST_CASE(test_creds_failure),
             AG_TEST_CASE(test_transport_errors), AG_TEST_CASE(test_cancel_on_free),
             AG_TEST_CASE(test_borrowed_body), AG_TEST_CASE(test_free_from_callback),
             AG_TEST_CASE(test_failmalloc))
