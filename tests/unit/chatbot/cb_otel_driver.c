/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cb_otel_driver: drives cb_otel the way the chatbot will, for tests/integration/test_cb_otel.py.
 * Configured from the OTEL_* environment like the service; makes one server span continuing
 * --traceparent with a Bedrock client span under it, a correlated log record, request metrics
 * with fixed durations on route /fixed, optionally --extra-spans root spans, runs the loop for
 * --run-ms, then shuts down (flush) within --shutdown-ms. Prints one JSON line on stdout with
 * the ids it made and the telemetry counters.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "ag_log.h"
#include "cb_otel.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
}

static long arg_num(const char *s, const char *name)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "cb_otel_driver: %s expects a non-negative integer, got %s\n", name, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *tp = NULL, *ts = NULL;
    long run_ms = 0, shutdown_ms = 10000, extra = 0;
    struct event_base *base;
    struct cb_otel *tel = NULL;
    struct cb_otel_stats st;
    char trace[33] = "", srv_id[17] = "", cli_id[17] = "";

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--traceparent") == 0) {
            tp = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--tracestate") == 0) {
            ts = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--run-ms") == 0) {
            run_ms = arg_num(argv[++i], "--run-ms");
        } else if (i + 1 < argc && strcmp(argv[i], "--shutdown-ms") == 0) {
            shutdown_ms = arg_num(argv[++i], "--shutdown-ms");
        } else if (i + 1 < argc && strcmp(argv[i], "--extra-spans") == 0) {
            extra = arg_num(argv[++i], "--extra-spans");
        } else {
            fprintf(stderr, "usage: cb_otel_driver [--traceparent TP] [--tracestate TS] "
                            "[--run-ms N] [--shutdown-ms N] [--extra-spans N]\n");
            return 2;
        }
    }
    ag_log_setup(AG_LOG_INFO, AG_LOG_TEXT);
    base = event_base_new();
    if (base == NULL || cb_otel_new_from_env(base, "9.9.9-driver", &tel) != 0) {
        fprintf(stderr, "cb_otel_driver: setup failed\n");
        return 1;
    }

    struct cb_otel_http_request_info req = {
        .method = "POST",
        .path = "/api/chat",
        .server_address = "127.0.0.1",
        .server_port = 8080,
        .client_address = "127.0.0.2",
        .user_agent = "cb-otel-driver/1",
        .traceparent = tp,
        .tracestate = ts,
    };
    struct cb_otel_span *srv = cb_otel_server_span_start(tel, &req);
    cb_otel_server_span_set_route(srv, "/api/chat");
    struct cb_otel_bedrock_call call = {"Converse", "anthropic.claude-3-haiku-20240307-v1:0",
                                        "eu-west-1"};
    struct cb_otel_span *cli = cb_otel_bedrock_span_start(tel, cb_otel_span_context(srv), &call);
    cb_otel_bedrock_span_content(tel, cli, "what is otterd?", "an OTLP agent");
    struct cb_otel_bedrock_result res = {"req-driver-1", 321, 54, "end_turn", 200, NULL, NULL};
    if (srv != NULL) {
        hex(cb_otel_span_context(srv)->trace_id, 16, trace);
        hex(cb_otel_span_context(srv)->span_id, 8, srv_id);
    }
    if (cli != NULL) {
        hex(cb_otel_span_context(cli)->span_id, 8, cli_id);
    }
    cb_otel_bedrock_span_end(tel, cli, &call, &res);
    struct cb_otel_attr la[] = {CB_OTEL_STR("chatbot.session_id", "0123"),
                                CB_OTEL_INT("chatbot.answer_bytes", 13)};
    cb_otel_log(tel, CB_OTEL_SEV_WARN, srv, "driver log record", la, 2);
    cb_otel_server_span_end(tel, srv, 200);

    /* Fixed durations on /fixed (bucket arithmetic in the test). */
    cb_otel_record_request(tel, "GET", "/fixed", 200, 0.005);
    cb_otel_record_request(tel, "GET", "/fixed", 200, 0.0051);
    cb_otel_record_request(tel, "GET", "/fixed", 200, 0.3);
    cb_otel_record_request(tel, "GET", "/fixed", 200, 12.0);
    cb_otel_record_request(tel, "GET", "/fixed", 500, 0.02);
    for (long i = 0; i < extra; i++) {
        struct cb_otel_span *s = cb_otel_span_start(tel, "extra", CB_OTEL_SPAN_INTERNAL, NULL);
        cb_otel_span_set_int(s, "extra.index", i);
        cb_otel_span_end(s);
    }

    if (run_ms > 0) {
        struct timeval tv = {run_ms / 1000, (run_ms % 1000) * 1000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    int rc = cb_otel_shutdown(tel, (uint64_t)shutdown_ms);
    cb_otel_stats(tel, &st);
    printf("{\"trace_id\":\"%s\",\"server_span_id\":\"%s\",\"client_span_id\":\"%s\","
           "\"enabled\":%s,\"shutdown_rc\":%d,\"stats\":{\"spans_ended\":%" PRIu64
           ",\"spans_dropped\":%" PRIu64 ",\"spans_sent\":%" PRIu64 ",\"spans_failed\":%" PRIu64
           ",\"spans_rejected\":%" PRIu64 ",\"logs_sent\":%" PRIu64 ",\"logs_failed\":%" PRIu64
           ",\"points_sent\":%" PRIu64 ",\"points_failed\":%" PRIu64 ",\"points_rejected\":%" PRIu64
           ",\"requests\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"metric_exports\":%" PRIu64 "}}\n",
           trace, srv_id, cli_id, cb_otel_enabled(tel) ? "true" : "false", rc, st.spans_ended,
           st.spans_dropped, st.spans_sent, st.spans_failed, st.spans_rejected, st.logs_sent,
           st.logs_failed, st.points_sent, st.points_failed, st.points_rejected, st.requests,
           st.retries, st.metric_exports);
    cb_otel_free(tel);
    event_base_free(base);
    return 0;
}
