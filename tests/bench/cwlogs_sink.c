/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cwlogs-sink: a local endpoint that answers like CloudWatch Logs (AWS JSON 1.1), for the
 * end-to-end benchmarks of the awscloudwatchlogs and awsemf exporters. It checks what a fast sink
 * can check cheaply: POST /, an X-Amz-Target of Logs_20140328.PutLogEvents, CreateLogGroup,
 * CreateLogStream or PutRetentionPolicy, a SigV4 Authorization header for the "logs" service, an
 * X-Amz-Date; it counts the events of each PutLogEvents (the "timestamp": keys of the logEvents
 * array: messages are JSON strings, so their own quotes are escaped and never match) and answers
 * {"nextSequenceToken":"x"}, or {} to the other calls. GET /stats returns the counts as JSON.
 *
 *   cwlogs-sink [--port N] [--host 127.0.0.1]
 *
 * Prints "listening: cwlogs-sink http 127.0.0.1:<port>" once bound (port 0 picks a free one).
 */
#include "bench_sink.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

struct sink {
    uint64_t requests; /* PutLogEvents calls */
    uint64_t events;
    uint64_t body_bytes;
    uint64_t rejected;
    uint64_t creates; /* CreateLogGroup, CreateLogStream, PutRetentionPolicy */
    uint64_t emf;     /* PutLogEvents calls with x-amzn-logs-format: json/emf */
};

#define TARGET_PREFIX "Logs_20140328."

/* Counts the events of a PutLogEvents body: one "timestamp": key per element of logEvents. */
static long count_events(const char *body, size_t len)
{
    static const char key[] = "\"timestamp\":";
    const size_t klen = sizeof(key) - 1;
    const char *end = body + len;
    const char *p = memmem(body, len, "\"logEvents\":[", 13);
    if (len < 2 || body[0] != '{' || body[len - 1] != '}' || p == NULL ||
        memmem(body, len, "\"logGroupName\":", 15) == NULL ||
        memmem(body, len, "\"logStreamName\":", 16) == NULL) {
        return -1;
    }
    long n = 0;
    while ((p = memmem(p, (size_t)(end - p), key, klen)) != NULL) {
        n++;
        p += klen;
    }
    return n;
}

static void reject(struct sink *s, struct evhttp_request *req, const char *why)
{
    char buf[256];
    s->rejected++;
    snprintf(buf, sizeof(buf), "{\"__type\":\"InvalidParameterException\",\"message\":\"%s\"}",
             why);
    bench_sink_reply(req, 400, buf);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct sink *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET && strcmp(uri, "/stats") == 0) {
        char buf[320];
        snprintf(buf, sizeof(buf),
                 "{\"requests\":%" PRIu64 ",\"events\":%" PRIu64 ",\"body_bytes\":%" PRIu64
                 ",\"rejected\":%" PRIu64 ",\"creates\":%" PRIu64 ",\"emf\":%" PRIu64 "}",
                 s->requests, s->events, s->body_bytes, s->rejected, s->creates, s->emf);
        bench_sink_reply(req, 200, buf);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *auth = evhttp_find_header(h, "Authorization");
    const char *date = evhttp_find_header(h, "X-Amz-Date");
    const char *target = evhttp_find_header(h, "X-Amz-Target");
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST || strcmp(uri, "/") != 0 ||
        auth == NULL || date == NULL || target == NULL ||
        strncmp(auth, "AWS4-HMAC-SHA256 Credential=", 28) != 0 ||
        strstr(auth, "/logs/aws4_request, SignedHeaders=") == NULL ||
        strstr(auth, ", Signature=") == NULL ||
        strncmp(target, TARGET_PREFIX, sizeof(TARGET_PREFIX) - 1) != 0) {
        reject(s, req, "bad request");
        return;
    }
    const char *op = target + sizeof(TARGET_PREFIX) - 1;
    if (strcmp(op, "CreateLogGroup") == 0 || strcmp(op, "CreateLogStream") == 0 ||
        strcmp(op, "PutRetentionPolicy") == 0) {
        s->creates++;
        bench_sink_reply(req, 200, "{}");
        return;
    }
    if (strcmp(op, "PutLogEvents") != 0) {
        reject(s, req, "unknown operation");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    long n = body == NULL ? -1 : count_events(body, len);
    if (n < 1 || n > 10000) {
        reject(s, req, "1 to 10000 events");
        return;
    }
    const char *fmt = evhttp_find_header(h, "x-amzn-logs-format");
    if (fmt != NULL && strcmp(fmt, "json/emf") == 0) {
        s->emf++;
    }
    s->requests++;
    s->events += (uint64_t)n;
    s->body_bytes += len;
    bench_sink_reply(req, 200, "{\"nextSequenceToken\":\"x\"}");
}

static void report(void *arg)
{
    struct sink *s = arg;
    fprintf(stderr, "cwlogs-sink: %" PRIu64 " requests, %" PRIu64 " events, %" PRIu64
            " rejected\n", s->requests, s->events, s->rejected);
}

int main(int argc, char **argv)
{
    struct sink s = {0};
    return bench_sink_main("cwlogs-sink", argc, argv, 16 * 1024 * 1024, on_request, report, &s);
}
