/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the awscloudwatchlogs exporter as otterd builds it (config -> create ->
 * consume), with the real AWS client against the in-process scripted HTTP server of
 * tests/unit/aws: the config keys and their errors, log records in, the creation sequence and the
 * PutLogEvents body out (signed for "logs", AWS JSON 1.1), placeholder names, records dropped for
 * an invalid name, a full queue refusing with AG_EAGAIN, other signals refused.
 */
#include "ag_test.h"
#include "ag_arena.h"
#include "ag_config.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_otlp_json.h"
#include "ag_payload.h"
#include "exporter_fixture.h"
#include "ex_cw_exporter.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static int load(const char *id, const char *url, const char *extra, struct ag_config **cfg,
                struct ag_buf *diag)
{
    return exporter_fix_load(AG_SIGNAL_LOGS, id, url, extra, cfg, diag);
}

static int fix_start(struct exporter_fix *f, const char *id, const char *extra)
{
    return exporter_fix_start(f, &ex_cw_exporter_ops, AG_SIGNAL_LOGS, id, extra);
}

static struct ag_payload *payload(const char *json)
{
    return exporter_fix_payload(AG_SIGNAL_LOGS, json);
}

static void run_until_sent(struct exporter_fix *f, const char *labels, double want)
{
    exporter_fix_run_until(f, "otter_exporter_log_events_sent_total", labels, want);
}

static void test_config(void)
{
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ag_buf_init(&d, 8192);
    ASSERT_OK(load("awscloudwatchlogs", "http://127.0.0.1:1",
                   "    log_group_name: /g/{ServiceName}\n    log_stream_name: s\n"
                   "    log_retention: 1096\n    tags: {team: otter, 'a b': 'c:d'}\n"
                   "    raw_log: true\n    max_event_size: 1048576\n"
                   "    sending_queue: {queue_size: 5}\n    retry_on_failure: {enabled: true}\n"
                   "    num_workers: 3\n",
                   &cfg, &d));
    long i = ag_config_find(cfg, AG_KIND_EXPORTER, "awscloudwatchlogs");
    ASSERT(i >= 0);
    const struct ag_awscloudwatchlogs_config *c = &cfg->components[i].u.awscloudwatchlogs;
    ASSERT_EQ(cfg->components[i].type, AG_COMP_AWSCLOUDWATCHLOGS_EXPORTER);
    ASSERT_STREQ(c->log_group_name, "/g/{ServiceName}");
    ASSERT_STREQ(c->log_stream_name, "s");
    ASSERT_UEQ(c->log_retention, 1096);
    ASSERT_UEQ(c->tags.n, 2);
    ASSERT_STREQ(c->tags.kv[0], "team");
    ASSERT_STREQ(c->tags.kv[1], "otter");
    ASSERT_STREQ(c->tags.kv[2], "a b");
    ASSERT_STREQ(c->tags.kv[3], "c:d");
    ASSERT_EQ(c->raw_log, 1);
    ASSERT_UEQ(c->max_event_size, 1048576);
    ASSERT_UEQ(c->queue_size, 5);
    ASSERT_UEQ(c->aws.num_workers, 3);
    ASSERT_STREQ(c->aws.region, "us-east-1");
    ag_config_free(cfg);

    /* Defaults. */
    ASSERT_OK(load("awscloudwatchlogs", "http://127.0.0.1:1",
                   "    log_group_name: g\n    log_stream_name: s\n", &cfg, &d));
    c = &cfg->components[ag_config_find(cfg, AG_KIND_EXPORTER, "awscloudwatchlogs")]
             .u.awscloudwatchlogs;
    ASSERT_UEQ(c->log_retention, 0);
    ASSERT_UEQ(c->tags.n, 0);
    ASSERT_EQ(c->raw_log, 0);
    ASSERT_UEQ(c->max_event_size, 262144);
    ASSERT_UEQ(c->queue_size, 1000);
    ASSERT_UEQ(c->aws.num_workers, 8);
    ag_config_free(cfg);

    static const char *const bad[][2] = {
        {"    log_stream_name: s\n", "t:6:3: error: exporters::awscloudwatchlogs: log_group_name "
                                     "is required"},
        {"    log_group_name: g\n    log_stream_name: s\n    log_retention: 2\n",
         "log_retention must be 0 (never expire) or one of"},
        {"    log_group_name: g\n    log_stream_name: s\n    log_retention: 3654\n", "got 3654"},
        {"    log_group_name: g\n    log_stream_name: s\n    tags: {'aws:x': y}\n",
         "do not start with 'aws:'"},
        {"    log_group_name: g\n    log_stream_name: s\n    tags: [a]\n",
         "expected a mapping of tag keys to values"},
        {"    log_group_name: g\n    log_stream_name: s\n    tags: {a: 'x\\\\y'}\n",
         "values are 0 to 256"},
        {"    log_group_name: g\n    log_stream_name: s\n    max_event_size: 1048577\n", ""},
        {"    log_group_name: g\n    log_stream_name: s\n    max_event_size: 10\n",
         "max_event_size must be at least 64 bytes"},
        {"    log_group_name: g\n    log_stream_name: s\n    unknown_key: 1\n", "unknown_key"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        ag_buf_reset(&d);
        cfg = NULL;
        ASSERT_EQ(load("awscloudwatchlogs", "http://127.0.0.1:1", bad[k][0], &cfg, &d), AG_EINVAL);
        ASSERT_NULL(cfg);
        ASSERT_STRCONTAINS(ag_buf_str(&d), bad[k][1]);
    }
    /* 51 tags. */
    char many[4096];
    size_t off = (size_t)snprintf(many, sizeof(many),
                                  "    log_group_name: g\n    log_stream_name: s\n    tags:\n");
    for (int t = 0; t < 51; t++) {
        off += (size_t)snprintf(many + off, sizeof(many) - off, "      k%d: v\n", t);
    }
    ag_buf_reset(&d);
    ASSERT_EQ(load("awscloudwatchlogs", "http://127.0.0.1:1", many, &cfg, &d), AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&d), "at most 50 tags, got 51");
    ag_buf_cleanup(&d);
}

static void test_consume_creates_and_sends(void)
{
    struct exporter_fix f;
    ASSERT_OK(fix_start(&f, "awscloudwatchlogs",
                        "    log_group_name: /app/{ServiceName}\n"
                        "    log_stream_name: '{NodeName}'\n    log_retention: 30\n"
                        "    tags: {team: otter}\n"));
    static const char rnf[] = "{\"__type\":\"ResourceNotFoundException\",\"message\":\"no\"}";
    const struct ts_answer nf = {
        .status = 400, .body = rnf, .headers = {{"Content-Type", "application/x-amz-json-1.1"}}};
    ts_push(&f.s, nf);                                              /* PutLogEvents */
    ts_push(&f.s, nf);                                              /* CreateLogStream */
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"}); /* CreateLogGroup */
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"}); /* PutRetentionPolicy */
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{}"}); /* CreateLogStream */
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{\"nextSequenceToken\":\"1\"}"});
    char json[2048];
    unsigned long long now_ns = (unsigned long long)time(NULL) * 1000000000ull;
    snprintf(json, sizeof(json),
             "{\"resourceLogs\":["
             "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
             "\"svc\"}},{\"key\":\"k8s.node.name\",\"value\":{\"stringValue\":\"n1\"}}]},"
             "\"scopeLogs\":[{\"scope\":{\"name\":\"lib\"},\"logRecords\":[{\"timeUnixNano\":"
             "\"%llu\",\"severityNumber\":9,\"body\":{\"stringValue\":\"hi\"}}]}]},"
             "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
             "\"bad name\"}}]},"
             "\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"lost\"}}]}]}]}",
             now_ns + 5000000ull);
    struct ag_payload *p = payload(json);
    ASSERT_NOT_NULL(p);
    ASSERT_OK(ex_cw_exporter_ops.consume(f.x, p));
    ag_payload_unref(p);
    ex_cw_exporter_ops.flush(f.x);
    run_until_sent(&f, "exporter=\"awscloudwatchlogs\"", 1);
    ASSERT_EQ(fix_counter("otter_exporter_log_events_sent_total",
                          "exporter=\"awscloudwatchlogs\""),
              1);
    ASSERT_EQ(fix_counter("otter_exporter_dropped_total",
                      "exporter=\"awscloudwatchlogs\",reason=\"invalid_name\""),
              1);
    ASSERT_EQ(f.s.n_seen, 6);
    static const char *const targets[] = {"PutLogEvents",       "CreateLogStream", "CreateLogGroup",
                                          "PutRetentionPolicy", "CreateLogStream", "PutLogEvents"};
    char h[256], want[128];
    for (size_t i = 0; i < 6; i++) {
        ASSERT_STREQ(f.s.seen[i].method, "POST");
        ASSERT_STREQ(f.s.seen[i].uri, "/");
        snprintf(want, sizeof(want), "Logs_20140328.%s", targets[i]);
        ASSERT_STREQ(ts_header(&f.s.seen[i], "x-amz-target", h, sizeof(h)), want);
        ASSERT_STREQ(ts_header(&f.s.seen[i], "content-type", h, sizeof(h)),
                     "application/x-amz-json-1.1");
        ASSERT_NOT_NULL(ts_header(&f.s.seen[i], "authorization", h, sizeof(h)));
        ASSERT_STRCONTAINS(h, "/us-east-1/logs/aws4_request");
        ASSERT_NULL(ts_header(&f.s.seen[i], "x-amzn-logs-format", h, sizeof(h)));
    }
    ASSERT_STREQ(f.s.seen[1].body, "{\"logGroupName\":\"/app/svc\",\"logStreamName\":\"n1\"}");
    ASSERT_STREQ(f.s.seen[2].body, "{\"logGroupName\":\"/app/svc\",\"tags\":{\"team\":\"otter\"}}");
    ASSERT_STREQ(f.s.seen[3].body, "{\"logGroupName\":\"/app/svc\",\"retentionInDays\":30}");
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"logGroupName\":\"/app/svc\",\"logStreamName\":\"n1\",\"logEvents\":[{\"timestamp"
             "\":%llu,\"message\":\"{\\\"body\\\":\\\"hi\\\",\\\"severity_number\\\":9,\\\"scope"
             "\\\":{\\\"name\\\":\\\"lib\\\"},\\\"resource\\\":{\\\"k8s.node.name\\\":\\\"n1\\\","
             "\\\"service.name\\\":\\\"svc\\\"}}\"}]}",
             now_ns / 1000000ull + 5);
    ASSERT_STREQ(f.s.seen[5].body, body);
    ASSERT_STREQ(f.s.seen[0].body, body);
    /* Other signals are not CloudWatch Logs'. */
    struct ag_payload other = {.signal = AG_SIGNAL_METRICS};
    ASSERT_EQ(ex_cw_exporter_ops.consume(f.x, &other), AG_EUNSUPP);
    exporter_fix_stop(&f);
}

static void test_full_queue(void)
{
    struct exporter_fix f;
    /* queue_size 1 = 64 KiB of messages; the answers never come until the 1 s timeout. */
    ASSERT_OK(fix_start(&f, "awscloudwatchlogs/q",
                        "    log_group_name: g\n    log_stream_name: s\n"
                        "    request_timeout_seconds: 1\n    max_retries: 0\n"
                        "    sending_queue: {queue_size: 1}\n"));
    ts_push(&f.s, (struct ts_answer){.no_reply = true});
    static char json[80000];
    int n = snprintf(json, sizeof(json),
                     "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
                     "{\"body\":{\"stringValue\":\"");
    memset(json + n, 'x', 70000);
    snprintf(json + n + 70000, sizeof(json) - (size_t)n - 70000, "\"}}]}]}]}");
    struct ag_payload *p = payload(json);
    ASSERT_NOT_NULL(p);
    ASSERT_OK(ex_cw_exporter_ops.consume(f.x, p));
    /* 70 kB queued: past 64 KiB, refused for now. */
    ASSERT_EQ(ex_cw_exporter_ops.consume(f.x, p), AG_EAGAIN);
    ag_payload_unref(p);
    /* Destroy drains: the call times out after 1 s and its event is counted failed. */
    ex_cw_exporter_ops.destroy(f.x);
    f.x = NULL;
    ASSERT_EQ(fix_counter("otter_exporter_log_events_failed_total",
                          "exporter=\"awscloudwatchlogs/q\""),
              1);
    exporter_fix_stop(&f);
}

static void test_teardown(void)
{
    ag_metrics_reset();
}

AG_TEST_MAIN(AG_TEST_CASE(test_config), AG_TEST_CASE(test_consume_creates_and_sends),
             AG_TEST_CASE(test_full_queue), AG_TEST_CASE(test_teardown))
