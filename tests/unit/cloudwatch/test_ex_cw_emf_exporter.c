/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the awsemf exporter as otterd builds it (config -> create -> consume), with the
 * real AWS client against the in-process scripted HTTP server of tests/unit/aws: the PutLogEvents
 * call carries `x-amzn-logs-format: json/emf` and the EMF event the translation gives (checked
 * by emf_check.h), names from placeholders, events dropped for an invalid group name, drops
 * counted by reason, the config's declarations reaching the translator, other signals refused.
 */
#include "ag_test.h"
#include "ag_arena.h"
#include "ag_config.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_otlp_json.h"
#include "ag_payload.h"
#include "exporter_fixture.h"
#include "emf_check.h"
#include "ex_cw_emf_exporter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static int load(const char *id, const char *url, const char *extra, struct ag_config **cfg)
{
    struct ag_buf d;
    ag_buf_init(&d, 8192);
    int rc = exporter_fix_load(AG_SIGNAL_METRICS, id, url, extra, cfg, &d);
    if (rc != 0) {
        printf("# %s", ag_buf_str(&d));
    }
    ag_buf_cleanup(&d);
    return rc;
}

static int fix_start(struct exporter_fix *f, const char *id, const char *extra)
{
    return exporter_fix_start(f, &ex_cw_emf_exporter_ops, AG_SIGNAL_METRICS, id, extra);
}

static struct ag_payload *payload(const char *json)
{
    return exporter_fix_payload(AG_SIGNAL_METRICS, json);
}

static void run_until_sent(struct exporter_fix *f, const char *labels, double want)
{
    exporter_fix_run_until(f, "otter_exporter_log_events_sent_total", labels, want);
}

static void test_consume_sends_emf(void)
{
    struct exporter_fix f;
    ASSERT_OK(fix_start(&f, "awsemf",
                        "    log_group_name: /emf/{ServiceName}\n"
                        "    log_stream_name: '{NodeName}'\n"
                        "    dimension_rollup_option: NoDimensionRollup\n"));
    ts_push(&f.s, (struct ts_answer){.status = 200, .body = "{\"nextSequenceToken\":\"1\"}"});
    char json[4096];
    unsigned long long now_ns = (unsigned long long)time(NULL) * 1000000000ull;
    snprintf(json, sizeof(json),
             "{\"resourceMetrics\":["
             "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
             "\"svc\"}},{\"key\":\"k8s.node.name\",\"value\":{\"stringValue\":\"n1\"}}]},"
             "\"scopeMetrics\":[{\"scope\":{\"name\":\"lib\"},\"metrics\":[{\"name\":\"lat\","
             "\"unit\":\"ms\",\"gauge\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"a\",\"value\":"
             "{\"stringValue\":\"1\"}}],\"timeUnixNano\":\"%llu\",\"asDouble\":2.5},"
             "{\"timeUnixNano\":\"%llu\",\"asDouble\":\"NaN\"}]}}]}]},"
             "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
             "\"bad name\"}}]},\"scopeMetrics\":[{\"metrics\":[{\"name\":\"x\",\"gauge\":"
             "{\"dataPoints\":[{\"timeUnixNano\":\"%llu\",\"asDouble\":1}]}}]}]}]}",
             now_ns, now_ns, now_ns);
    struct ag_payload *p = payload(json);
    ASSERT_NOT_NULL(p);
    ASSERT_OK(ex_cw_emf_exporter_ops.consume(f.x, p));
    ag_payload_unref(p);
    ex_cw_emf_exporter_ops.flush(f.x);
    run_until_sent(&f, "exporter=\"awsemf\"", 1);
    ASSERT_EQ(fix_counter("otter_exporter_log_events_sent_total", "exporter=\"awsemf\""), 1);
    ASSERT_EQ(fix_counter("otter_exporter_dropped_total",
                          "exporter=\"awsemf\",reason=\"nan_inf\""),
              1);
    ASSERT_EQ(
        fix_counter("otter_exporter_dropped_total",
                    "exporter=\"awsemf\",reason=\"invalid_name\""),
        1);
    ASSERT_EQ(f.s.n_seen, 1);
    char h[256];
    ASSERT_STREQ(ts_header(&f.s.seen[0], "x-amz-target", h, sizeof(h)),
                 "Logs_20140328.PutLogEvents");
    ASSERT_STREQ(ts_header(&f.s.seen[0], "x-amzn-logs-format", h, sizeof(h)), "json/emf");
    ASSERT_NOT_NULL(ts_header(&f.s.seen[0], "authorization", h, sizeof(h)));
    ASSERT_STRCONTAINS(h, "/us-east-1/logs/aws4_request");
    json_error_t je;
    json_t *body = json_loadb(f.s.seen[0].body, f.s.seen[0].body_len, 0, &je);
    ASSERT_NOT_NULL(body);
    ASSERT_STREQ(json_string_value(json_object_get(body, "logGroupName")), "/emf/svc");
    ASSERT_STREQ(json_string_value(json_object_get(body, "logStreamName")), "n1");
    json_t *ev = json_array_get(json_object_get(body, "logEvents"), 0);
    ASSERT_EQ(json_integer_value(json_object_get(ev, "timestamp")),
              (long long)(now_ns / 1000000ull));
    const char *msg = json_string_value(json_object_get(ev, "message"));
    char why[256] = "";
    int valid = msg != NULL ? emf_check(msg, strlen(msg), 1, 262144, why, sizeof(why)) : -1;
    if (valid != 0) {
        json_decref(body);
        AG_TEST_FAIL_("invalid EMF (%s): %s", why, msg ? msg : "(none)");
    }
    json_t *m = json_loads(msg, 0, &je);
    json_decref(body);
    ASSERT_NOT_NULL(m);
    double lat = json_number_value(json_object_get(m, "lat"));
    json_t *dims = json_object_get(
        json_array_get(json_object_get(json_object_get(m, "_aws"), "CloudWatchMetrics"), 0),
        "Dimensions");
    size_t n_sets = json_array_size(dims), n_set0 = json_array_size(json_array_get(dims, 0));
    json_decref(m);
    ASSERT(lat == 2.5);
    ASSERT_EQ(n_sets, 1); /* NoDimensionRollup: the full set [OTelLib, a] only */
    ASSERT_EQ(n_set0, 2);
    /* Other signals are not EMF's. */
    struct ag_payload other = {.signal = AG_SIGNAL_LOGS};
    ASSERT_EQ(ex_cw_emf_exporter_ops.consume(f.x, &other), AG_EUNSUPP);
    exporter_fix_stop(&f);
}

static int keep_first(void *arg, const char *g, const char *s, int64_t ts, const char *msg,
                      size_t len)
{
    (void)g, (void)s, (void)ts;
    char *out = arg;
    if (out[0] == '\0') {
        snprintf(out, 4096, "%.*s", (int)len, msg);
    }
    return 0;
}

static void test_from_config(void)
{
    struct ag_config *cfg = NULL;
    ASSERT_OK(load("awsemf/d", "http://127.0.0.1:1",
                   "    namespace: NS\n    version: \"0\"\n"
                   "    metric_declarations:\n"
                   "      - dimensions: [[a]]\n        metric_name_selectors: ['^l']\n"
                   "    metric_descriptors:\n"
                   "      - {metric_name: lat, unit: Seconds, overwrite: true}\n",
                   &cfg));
    struct ex_cw_emf *t = NULL;
    char err[256];
    long i = ag_config_find(cfg, AG_KIND_EXPORTER, "awsemf/d");
    ASSERT(i >= 0);
    ASSERT_OK(ex_cw_emf_from_config(&cfg->components[i].u.awsemf, 1, &t, err, sizeof(err)));
    ag_config_free(cfg);
    const char *j = "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"lat\","
                    "\"unit\":\"ms\",\"gauge\":{\"dataPoints\":[{\"attributes\":[{\"key\":\"a\","
                    "\"value\":{\"stringValue\":\"1\"}}],\"timeUnixNano\":\"1000000\","
                    "\"asDouble\":1}]}}]}]}]}";
    struct ag_arena *a = ag_arena_new(0);
    ProtobufCMessage *msg = NULL;
    ASSERT_OK(ag_otlp_json_decode(AG_SIGNAL_METRICS, (const uint8_t *)j, strlen(j), a, &msg, err,
                                  sizeof(err)));
    static char first[4096];
    struct ex_cw_emf_result res;
    first[0] = '\0';
    int rc = ex_cw_emf_translate(t, msg, 0, keep_first, first, &res);
    ag_arena_free(a);
    ex_cw_emf_free(t);
    ASSERT_OK(rc);
    /* Version 0, the namespace, the declared set plus the default roll-up, the descriptor. */
    ASSERT_STREQ(first, "{\"a\":\"1\",\"lat\":1,\"Version\":\"0\",\"Timestamp\":\"1\","
                        "\"CloudWatchMetrics\":[{\"Namespace\":\"NS\",\"Dimensions\":[[\"a\"],[]],"
                        "\"Metrics\":[{\"Name\":\"lat\",\"Unit\":\"Seconds\","
                        "\"StorageResolution\":60}]}]}");
}

static void test_stdout_needs_no_aws(void)
{
    struct ag_config *cfg = NULL;
    ASSERT_OK(load("awsemf/out", "http://127.0.0.1:1", "    output_destination: stdout\n", &cfg));
    long i = ag_config_find(cfg, AG_KIND_EXPORTER, "awsemf/out");
    struct event_base *base = event_base_new();
    struct ag_component_env env = {base, "awsemf/out", AG_SIGNAL_METRICS, {NULL, NULL}};
    void *x = NULL;
    char err[256] = "";
    ASSERT_OK(ex_cw_emf_exporter_ops.create(&cfg->components[i], &env, &x, err, sizeof(err)));
    ex_cw_emf_exporter_ops.flush(x);
    ex_cw_emf_exporter_ops.destroy(x);
    event_base_free(base);
    ag_config_free(cfg);
}

static void test_teardown(void)
{
    ag_metrics_reset();
}

AG_TEST_MAIN(AG_TEST_CASE(test_consume_sends_emf), AG_TEST_CASE(test_from_config),
             AG_TEST_CASE(test_stdout_needs_no_aws), AG_TEST_CASE(test_teardown))
