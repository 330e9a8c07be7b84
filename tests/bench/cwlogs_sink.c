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
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
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

static void reply(struct evhttp_request *req, int code, const char *body)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(out, body, strlen(body));
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad Request", NULL);
}

static void reject(struct sink *s, struct evhttp_request *req, const char *why)
{
    char buf[256];
    s->rejected++;
    snprintf(buf, sizeof(buf), "{\"__type\":\"InvalidParameterException\",\"message\":\"%s\"}",
             why);
    reply(req, 400, buf);
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
        reply(req, 200, buf);
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
        reply(req, 200, "{}");
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
    reply(req, 200, "{\"nextSequenceToken\":\"x\"}");
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 0 || v > 65535) {
                fprintf(stderr, "cwlogs-sink: --port wants 0..65535\n");
                return 2;
            }
            port = (int)v;
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else {
            fprintf(stderr, "usage: cwlogs-sink [--port N] [--host ADDR]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct sink s = {0};
    struct event_base *base = event_base_new();
    struct evhttp *http = base == NULL ? NULL : evhttp_new(base);
    if (http == NULL) {
        fprintf(stderr, "cwlogs-sink: out of memory\n");
        return 1;
    }
    evhttp_set_max_body_size(http, 16 * 1024 * 1024);
    evhttp_set_gencb(http, on_request, &s);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, host, (uint16_t)port);
    if (bs == NULL) {
        fprintf(stderr, "cwlogs-sink: cannot bind %s:%d: %s\n", host, port, strerror(errno));
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
    int bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    printf("listening: cwlogs-sink http %s:%d\n", host, bound);
    fflush(stdout);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    fprintf(stderr, "cwlogs-sink: %" PRIu64 " requests, %" PRIu64 " events, %" PRIu64
            " rejected\n", s.requests, s.events, s.rejected);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
