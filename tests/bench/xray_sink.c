/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xray-sink: a local endpoint that answers like X-Ray's PutTraceSegments, for the end-to-end
 * benchmark (OTLP in, awsxray exporter out). It checks what a fast sink can check cheaply: the
 * method and path, a SigV4 Authorization header for the "xray" service, an X-Amz-Date, a JSON
 * body holding 1 to 50 documents; it counts the documents and answers
 * {"UnprocessedTraceSegments":[]}. GET /stats returns the counts as JSON.
 *
 *   xray-sink [--port N] [--host 127.0.0.1]
 *
 * Prints "listening: xray-sink http 127.0.0.1:<port>" once bound (port 0 picks a free one).
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
    uint64_t requests;
    uint64_t documents;
    uint64_t body_bytes;
    uint64_t rejected;
};

/* Counts the documents of a PutTraceSegments body: every document is one JSON string in the
 * TraceSegmentDocuments array, and each carries exactly one escaped "trace_id" key. */
static long count_docs(const char *body, size_t len)
{
    static const char key[] = "\\\"trace_id\\\"";
    const size_t klen = sizeof(key) - 1;
    if (len < 26 || memcmp(body, "{\"TraceSegmentDocuments\":[", 26) != 0 || body[len - 1] != '}') {
        return -1;
    }
    long n = 0;
    const char *p = body;
    const char *end = body + len;
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

static void on_request(struct evhttp_request *req, void *arg)
{
    struct sink *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET && strcmp(uri, "/stats") == 0) {
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "{\"requests\":%" PRIu64 ",\"documents\":%" PRIu64 ",\"body_bytes\":%" PRIu64
                 ",\"rejected\":%" PRIu64 "}",
                 s->requests, s->documents, s->body_bytes, s->rejected);
        reply(req, 200, buf);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *auth = evhttp_find_header(h, "Authorization");
    const char *date = evhttp_find_header(h, "X-Amz-Date");
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST || strcmp(uri, "/TraceSegments") != 0 ||
        auth == NULL || date == NULL || strncmp(auth, "AWS4-HMAC-SHA256 Credential=", 28) != 0 ||
        strstr(auth, "/xray/aws4_request, SignedHeaders=") == NULL) {
        s->rejected++;
        reply(req, 400, "{\"__type\":\"InvalidRequestException\",\"message\":\"bad request\"}");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    long n = body == NULL ? -1 : count_docs(body, len);
    if (n < 1 || n > 50) {
        s->rejected++;
        reply(req, 400, "{\"__type\":\"InvalidRequestException\",\"message\":\"1 to 50 documents\"}");
        return;
    }
    s->requests++;
    s->documents += (uint64_t)n;
    s->body_bytes += len;
    reply(req, 200, "{\"UnprocessedTraceSegments\":[]}");
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
                fprintf(stderr, "xray-sink: --port wants 0..65535\n");
                return 2;
            }
            port = (int)v;
        } else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else {
            fprintf(stderr, "usage: xray-sink [--port N] [--host ADDR]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    struct sink s = {0};
    struct event_base *base = event_base_new();
    struct evhttp *http = base == NULL ? NULL : evhttp_new(base);
    if (http == NULL) {
        fprintf(stderr, "xray-sink: out of memory\n");
        return 1;
    }
    evhttp_set_max_body_size(http, 8 * 1024 * 1024);
    evhttp_set_gencb(http, on_request, &s);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, host, (uint16_t)port);
    if (bs == NULL) {
        fprintf(stderr, "xray-sink: cannot bind %s:%d: %s\n", host, port, strerror(errno));
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
    int bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    printf("listening: xray-sink http %s:%d\n", host, bound);
    fflush(stdout);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);
    fprintf(stderr, "xray-sink: %" PRIu64 " requests, %" PRIu64 " documents, %" PRIu64
            " rejected\n", s.requests, s.documents, s.rejected);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
