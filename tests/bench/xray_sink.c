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
#include "bench_sink.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
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
        bench_sink_reply(req, 200, buf);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *auth = evhttp_find_header(h, "Authorization");
    const char *date = evhttp_find_header(h, "X-Amz-Date");
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST || strcmp(uri, "/TraceSegments") != 0 ||
        auth == NULL || date == NULL || strncmp(auth, "AWS4-HMAC-SHA256 Credential=", 28) != 0 ||
        strstr(auth, "/xray/aws4_request, SignedHeaders=") == NULL) {
        s->rejected++;
        bench_sink_reply(req, 400, "{\"__type\":\"InvalidRequestException\",\"message\":\"bad request\"}");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    long n = body == NULL ? -1 : count_docs(body, len);
    if (n < 1 || n > 50) {
        s->rejected++;
        bench_sink_reply(req, 400, "{\"__type\":\"InvalidRequestException\",\"message\":\"1 to 50 documents\"}");
        return;
    }
    s->requests++;
    s->documents += (uint64_t)n;
    s->body_bytes += len;
    bench_sink_reply(req, 200, "{\"UnprocessedTraceSegments\":[]}");
}

static void report(void *arg)
{
    struct sink *s = arg;
    fprintf(stderr, "xray-sink: %" PRIu64 " requests, %" PRIu64 " documents, %" PRIu64
            " rejected\n", s->requests, s->documents, s->rejected);
}

int main(int argc, char **argv)
{
    struct sink s = {0};
    return bench_sink_main("xray-sink", argc, argv, 8 * 1024 * 1024, on_request, report, &s);
}
