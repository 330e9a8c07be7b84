/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the OTLP/gRPC server: the server runs in-process on 127.0.0.1:0 with a stub sink,
 * and an nghttp2 client session on a libevent bufferevent of the same loop sends hand-built
 * length-prefixed bodies and records what comes back (headers, DATA, trailers, resets). Also
 * raw sockets for a garbage preface, a bad frame and an idle connection, and TLS with a
 * throwaway self-signed certificate made with the OpenSSL API at test time.
 */
#include "ag_grpc.h"
#include "ag_grpc_frame.h"
#include "ag_mem.h"
#include "ag_test.h"

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TRACES_PATH  "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define METRICS_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define LOGS_PATH    "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

/* ---- the stub sink --------------------------------------------------------------------------- */

struct stub {
    /* what to answer */
    enum ag_otlp_status status;
    int64_t rejected;
    uint32_t retry_after_s;
    const char *message;
    /* what it got */
    int calls;
    enum ag_signal signal;
    enum ag_otlp_encoding enc;
    uint8_t body[16384];
    size_t len;
    size_t full_len;      /* the last message's whole length (|body| keeps its start) */
    uint64_t sum_of_sums; /* fnv1a() of every message got, added up */
    int signals_seen[AG_SIGNAL_COUNT];
};

/* FNV-1a over |len| bytes. */
static uint64_t fnv1a(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static void stub_ingest(void *ctx, enum ag_signal signal, enum ag_otlp_encoding enc,
                        const uint8_t *body, size_t len, struct ag_otlp_result *res)
{
    struct stub *s = ctx;
    s->calls++;
    s->signal = signal;
    s->signals_seen[signal]++;
    s->enc = enc;
    s->len = len < sizeof(s->body) ? len : sizeof(s->body);
    memcpy(s->body, body, s->len);
    s->full_len = len;
    s->sum_of_sums += fnv1a(body, len);
    res->status = s->status;
    res->rejected = s->rejected;
    res->retry_after_s = s->retry_after_s;
    snprintf(res->message, sizeof(res->message), "%s", s->message ? s->message : "");
}

/* ---- the fixture: a loop, a server, a ticking timer ------------------------------------------ */

struct fx {
    struct event_base *base;
    struct ag_grpc_server *srv;
    struct event *tick;
    struct stub stub;
    int port;
};

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Starts a server with |opts| (NULL: defaults) and |tls| (NULL: h2c). Returns 0 or -1. */
static int fx_start(struct fx *f, const struct ag_grpc_options *opts, SSL_CTX *tls)
{
    struct ag_otlp_sink sink;
    struct timeval tv = {0, 20000};
    memset(f, 0, sizeof(*f));
    f->base = event_base_new();
    if (f->base == NULL) {
        return -1;
    }
    /* The tick makes every EVLOOP_ONCE return within 20 ms, so loops can check the clock. */
    f->tick = event_new(f->base, -1, EV_PERSIST, tick_cb, NULL);
    event_add(f->tick, &tv);
    sink.ingest = stub_ingest;
    sink.ctx = &f->stub;
    f->srv = ag_grpc_server_new(f->base, opts, &sink);
    if (f->srv == NULL) {
        return -1;
    }
    return ag_grpc_server_listen(f->srv, "127.0.0.1", 0, tls, &f->port) == 0 && f->port > 0 ? 0
                                                                                            : -1;
}

static void fx_stop(struct fx *f)
{
    ag_grpc_server_free(f->srv);
    if (f->tick != NULL) {
        event_free(f->tick);
    }
    if (f->base != NULL) {
        event_base_loop(f->base, EVLOOP_NONBLOCK); /* finalizes freed bufferevents */
        event_base_free(f->base);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop until |done(arg)| or |timeout_s| passes. Returns 1 when done. */
static int run_until(struct fx *f, int (*done)(void *), void *arg, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (!done(arg)) {
        if (now_s() > end) {
            return 0;
        }
        event_base_loop(f->base, EVLOOP_ONCE);
    }
    return 1;
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

/* ---- an HTTP/2 client ------------------------------------------------------------------------ */

struct call {
    /* the request */
    const char *path;
    const char *method;       /* NULL: POST */
    const char *content_type; /* NULL: application/grpc */
    const char *encoding;     /* grpc-encoding, or NULL */
    const char *timeout;      /* grpc-timeout, or NULL */
    const char *extra_name;   /* one more header, or NULL */
    const char *extra_value;
    const uint8_t *body;
    size_t body_len;
    size_t chunk; /* at most this many bytes per DATA frame; 0: no limit */
    size_t hold;  /* pause after this many bytes until released; 0: never */
    int released;
    /* the answer */
    int32_t id;
    size_t sent;
    int http_status;
    char content_type_got[64];
    int grpc_status; /* -1: none */
    int trailers_only;
    char grpc_message[1024];
    char details[4096];
    char accept_encoding[64];
    uint8_t data[8192];
    size_t data_len;
    int closed;
    uint32_t close_error;
    int rst_received;
    uint32_t rst_code;
};

struct client {
    struct bufferevent *bev;
    nghttp2_session *h2;
    struct call *calls[8];
    int ncalls;
    int closed_calls;
    int eof;
    int connected;
    int goaway; /* GOAWAY frames received */
    uint32_t goaway_error;
    int32_t goaway_first_id, goaway_last_id; /* last-stream-id of the first and last GOAWAY */
    char goaway_debug[32];
    int pings; /* PINGs received (not ACKs) */
    SSL *ssl;
};

static void call_init(struct call *c, const char *path, const uint8_t *body, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->path = path;
    c->body = body;
    c->body_len = len;
    c->grpc_status = -1;
    c->http_status = -1;
}

static void copy_str(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    if (n > 0) {
        memcpy(dst, v, n);
    }
    dst[n] = '\0';
}

static ssize_t cl_send(nghttp2_session *h2, const uint8_t *data, size_t len, int flags, void *ud)
{
    struct client *cl = ud;
    (void)h2;
    (void)flags;
    if (cl->eof) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    evbuffer_add(bufferevent_get_output(cl->bev), data, len);
    return (ssize_t)len;
}

static int cl_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    struct call *c = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    char n[64], v[64];
    (void)flags;
    (void)ud;
    if (c == NULL || frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    copy_str(n, sizeof(n), name, namelen);
    copy_str(v, sizeof(v), value, valuelen);
    if (strcmp(n, ":status") == 0) {
        c->http_status = (int)strtol(v, NULL, 10);
    } else if (strcmp(n, "content-type") == 0) {
        snprintf(c->content_type_got, sizeof(c->content_type_got), "%s", v);
    } else if (strcmp(n, "grpc-status") == 0) {
        c->grpc_status = (int)strtol(v, NULL, 10);
        c->trailers_only = frame->headers.cat == NGHTTP2_HCAT_RESPONSE;
    } else if (strcmp(n, "grpc-message") == 0) {
        copy_str(c->grpc_message, sizeof(c->grpc_message), value, valuelen);
    } else if (strcmp(n, "grpc-status-details-bin") == 0) {
        copy_str(c->details, sizeof(c->details), value, valuelen);
    } else if (strcmp(n, "grpc-accept-encoding") == 0) {
        snprintf(c->accept_encoding, sizeof(c->accept_encoding), "%s", v);
    }
    return 0;
}

static int cl_data(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ud)
{
    struct call *c = nghttp2_session_get_stream_user_data(h2, id);
    (void)flags;
    (void)ud;
    if (c != NULL && c->data_len + len <= sizeof(c->data)) {
        memcpy(c->data + c->data_len, data, len);
        c->data_len += len;
    }
    return 0;
}

static int cl_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *ud)
{
    struct client *cl = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        if (cl->goaway++ == 0) {
            cl->goaway_first_id = frame->goaway.last_stream_id;
        }
        cl->goaway_last_id = frame->goaway.last_stream_id;
        cl->goaway_error = frame->goaway.error_code;
        copy_str(cl->goaway_debug, sizeof(cl->goaway_debug), frame->goaway.opaque_data,
                 frame->goaway.opaque_data_len);
    } else if (frame->hd.type == NGHTTP2_PING && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        cl->pings++;
    } else if (frame->hd.type == NGHTTP2_RST_STREAM) {
        struct call *c = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
        if (c != NULL) {
            c->rst_received = 1;
            c->rst_code = frame->rst_stream.error_code;
        }
    }
    return 0;
}

static int cl_stream_close(nghttp2_session *h2, int32_t id, uint32_t error_code, void *ud)
{
    struct client *cl = ud;
    struct call *c = nghttp2_session_get_stream_user_data(h2, id);
    if (c != NULL && !c->closed) {
        c->closed = 1;
        c->close_error = error_code;
        cl->closed_calls++;
    }
    return 0;
}

static ssize_t cl_body(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t length,
                       uint32_t *data_flags, nghttp2_data_source *src, void *ud)
{
    struct call *c = src->ptr;
    size_t limit = c->hold != 0 && !c->released ? c->hold : c->body_len;
    size_t n;
    (void)h2;
    (void)id;
    (void)ud;
    if (c->sent >= limit && c->sent < c->body_len) {
        return NGHTTP2_ERR_DEFERRED;
    }
    n = limit - c->sent;
    if (n > length) {
        n = length;
    }
    if (c->chunk != 0 && n > c->chunk) {
        n = c->chunk;
    }
    memcpy(buf, c->body + c->sent, n);
    c->sent += n;
    if (c->sent == c->body_len) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static void cl_flush(struct client *cl)
{
    if (!cl->eof) {
        nghttp2_session_send(cl->h2);
    }
}

static void cl_readcb(struct bufferevent *bev, void *arg)
{
    struct client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    uint8_t *data = evbuffer_pullup(in, -1);
    if (nghttp2_session_mem_recv(cl->h2, data, len) < 0) {
        cl->eof = 1;
    }
    evbuffer_drain(in, len);
    cl_flush(cl);
}

static void cl_eventcb(struct bufferevent *bev, short events, void *arg)
{
    struct client *cl = arg;
    (void)bev;
    if (events & BEV_EVENT_CONNECTED) {
        cl->connected = 1;
        cl_flush(cl);
        return;
    }
    cl->eof = 1;
}

/* Connects to 127.0.0.1:|port|, with TLS when |ctx| is not NULL. Returns 0 or -1. */
static int cl_connect(struct client *cl, struct fx *f, SSL_CTX *ctx)
{
    nghttp2_session_callbacks *cbs;
    struct sockaddr_in sin;
    memset(cl, 0, sizeof(*cl));
    if (ctx != NULL) {
        cl->ssl = SSL_new(ctx);
        cl->bev = bufferevent_openssl_socket_new(f->base, -1, cl->ssl, BUFFEREVENT_SSL_CONNECTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
    } else {
        cl->bev = bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (cl->bev == NULL) {
        return -1;
    }
    bufferevent_setcb(cl->bev, cl_readcb, NULL, cl_eventcb, cl);
    bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)f->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bufferevent_socket_connect(cl->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        return -1;
    }
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_send_callback(cbs, cl_send);
    nghttp2_session_callbacks_set_on_header_callback(cbs, cl_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cl_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cl_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cl_stream_close);
    int rc = nghttp2_session_client_new(&cl->h2, cbs, cl);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0) {
        return -1;
    }
    nghttp2_submit_settings(cl->h2, NGHTTP2_FLAG_NONE, NULL, 0);
    cl_flush(cl);
    return 0;
}

static void cl_close(struct client *cl)
{
    if (cl->h2 != NULL) {
        nghttp2_session_del(cl->h2);
    }
    if (cl->bev != NULL) {
        bufferevent_free(cl->bev);
    }
    memset(cl, 0, sizeof(*cl));
}

static nghttp2_nv nv(const char *name, const char *value)
{
    nghttp2_nv v;
    v.name = (uint8_t *)(uintptr_t)name;
    v.namelen = strlen(name);
    v.value = (uint8_t *)(uintptr_t)value;
    v.valuelen = strlen(value);
    v.flags = NGHTTP2_NV_FLAG_NONE;
    return v;
}

static int cl_submit(struct client *cl, struct call *c)
{
    nghttp2_nv h[10];
    size_t n = 0;
    nghttp2_data_provider prd;
    h[n++] = nv(":method", c->method ? c->method : "POST");
    h[n++] = nv(":scheme", cl->ssl ? "https" : "http");
    h[n++] = nv(":authority", "127.0.0.1");
    h[n++] = nv(":path", c->path);
    h[n++] = nv("content-type", c->content_type ? c->content_type : "application/grpc");
    h[n++] = nv("te", "trailers");
    if (c->encoding != NULL) {
        h[n++] = nv("grpc-encoding", c->encoding);
    }
    if (c->timeout != NULL) {
        h[n++] = nv("grpc-timeout", c->timeout);
    }
    if (c->extra_name != NULL) {
        h[n++] = nv(c->extra_name, c->extra_value);
    }
    prd.source.ptr = c;
    prd.read_callback = cl_body;
    c->id = nghttp2_submit_request(cl->h2, NULL, h, n, c->body_len > 0 ? &prd : NULL, c);
    if (c->id < 0) {
        return -1;
    }
    cl->calls[cl->ncalls++] = c;
    cl_flush(cl);
    return 0;
}

static void cl_release(struct client *cl, struct call *c)
{
    c->released = 1;
    nghttp2_session_resume_data(cl->h2, c->id);
    cl_flush(cl);
}

static int cl_all_closed(void *arg)
{
    struct client *cl = arg;
    return cl->eof || cl->closed_calls == cl->ncalls;
}

static int cl_eof(void *arg)
{
    return ((struct client *)arg)->eof;
}

/* One call on a new connection: connect, submit, wait for the stream to close. */
static int one_call(struct fx *f, struct call *c, SSL_CTX *tls)
{
    struct client cl;
    int ok = cl_connect(&cl, f, tls) == 0 && cl_submit(&cl, c) == 0 &&
             run_until(f, cl_all_closed, &cl, 5.0) && c->closed;
    cl_close(&cl);
    return ok;
}

/* ---- byte helpers written for the tests (independent of the code under test) ----------------- */

/* Builds prefix + message into |out|; returns the total length. */
static size_t frame_msg(uint8_t *out, int flag, const uint8_t *msg, size_t len)
{
    out[0] = (uint8_t)flag;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    memcpy(out + 5, msg, len);
    return len + 5;
}

/* zlib (windowBits 31: gzip, 15: zlib) straight from zlib, not through ag_zip. */
static size_t zlib_compress(const uint8_t *in, size_t len, uint8_t *out, size_t cap, int bits)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return 0;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? n : 0;
}

/* Decodes base64 with or without padding; returns the length or -1. */
static long b64_decode(const char *s, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *s != '\0' && *s != '='; s++) {
        int v;
        if (*s >= 'A' && *s <= 'Z') {
            v = *s - 'A';
        } else if (*s >= 'a' && *s <= 'z') {
            v = *s - 'a' + 26;
        } else if (*s >= '0' && *s <= '9') {
            v = *s - '0' + 52;
        } else if (*s == '+') {
            v = 62;
        } else if (*s == '/') {
            v = 63;
        } else {
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) {
                return -1;
            }
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)n;
}

/* An ExportTraceServiceRequest with one empty ResourceSpans: field 1, length 0. */
static const uint8_t small_req[] = {0x0A, 0x00};

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_export_each_signal(void)
{
    static const char *paths[] = {TRACES_PATH, METRICS_PATH, LOGS_PATH};
    static const enum ag_signal sigs[] = {AG_SIGNAL_TRACES, AG_SIGNAL_METRICS, AG_SIGNAL_LOGS};
    /* An empty Export*ServiceResponse, length-prefixed: five zero bytes. */
    static const uint8_t empty_resp[] = {0, 0, 0, 0, 0};
    struct fx f;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    for (int i = 0; i < 3; i++) {
        struct call c;
        call_init(&c, paths[i], body, blen);
        f.stub.calls = 0;
        ASSERT(one_call(&f, &c, NULL));
        ASSERT_EQ(f.stub.calls, 1);
        ASSERT_EQ(f.stub.signal, sigs[i]);
        ASSERT_EQ(f.stub.enc, AG_OTLP_PROTOBUF);
        ASSERT_UEQ(f.stub.len, sizeof(small_req));
        ASSERT_MEMEQ(f.stub.body, small_req, sizeof(small_req));
        ASSERT_EQ(c.http_status, 200);
        ASSERT_STREQ(c.content_type_got, "application/grpc");
        ASSERT_EQ(c.grpc_status, 0);
        ASSERT_EQ(c.trailers_only, 0);
        ASSERT_UEQ(c.data_len, sizeof(empty_resp));
        ASSERT_MEMEQ(c.data, empty_resp, sizeof(empty_resp));
        ASSERT_EQ(c.close_error, 0);
    }
    struct ag_grpc_counters k;
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.calls, 3);
    ASSERT_UEQ(k.calls_by_code[0], 3);
    ASSERT_UEQ(k.conns_accepted, 3);
    ASSERT_UEQ(k.bytes_received, 3 * blen);
    ASSERT_UEQ(k.bytes_ingested, 3 * sizeof(small_req));
    fx_stop(&f);
}

static void test_partial_success(void)
{
    /* ExportTraceServiceResponse { partial_success (1) { rejected_spans (1): 3,
     * error_message (2): "bad span" } }: inner 08 03 12 08 "bad span" is 12 bytes. */
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x00, 0x0E, 0x0A, 0x0C, 0x08, 0x03, 0x12,
                                   0x08, 'b',  'a',  'd',  ' ',  's',  'p',  'a',  'n'};
    struct fx f;
    struct call c;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    f.stub.rejected = 3;
    f.stub.message = "bad span";
    call_init(&c, TRACES_PATH, body, blen);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 0);
    ASSERT_UEQ(c.data_len, sizeof(want));
    ASSERT_MEMEQ(c.data, want, sizeof(want));
    /* And the generated decoder agrees. */
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            NULL, c.data_len - 5, c.data + 5);
    ASSERT_NOT_NULL(r);
    ASSERT_NOT_NULL(r->partial_success);
    ASSERT_EQ(r->partial_success->rejected_spans, 3);
    ASSERT_STREQ(r->partial_success->error_message, "bad span");
    opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r,
                                                                                             NULL);
    fx_stop(&f);
}

/* The body arrives in 1-byte DATA frames: the prefix is split across five frames. */
static void test_split_data_frames(void)
{
    static const uint8_t msg[] = {0x0A, 0x03, 0x12, 0x01, 0x7F, 0x0A, 0x00};
    struct fx f;
    struct call c;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, msg, sizeof(msg));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    call_init(&c, LOGS_PATH, body, blen);
    c.chunk = 1;
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 0);
    ASSERT_EQ(f.stub.signal, AG_SIGNAL_LOGS);
    ASSERT_UEQ(f.stub.len, sizeof(msg));
    ASSERT_MEMEQ(f.stub.body, msg, sizeof(msg));
    fx_stop(&f);
}

/*
 * Big messages, several at once on one connection: the server reads a burst's bytes in 64 kB
 * chunks beyond libevent's 4 kB reads, a few chunks per wakeup. Every byte of every message
 * arrives, in order (hand-made contents; their FNV-1a sums compared).
 */
static void test_big_messages_at_once(void)
{
    enum { N = 6, MSG = 300 * 1000 };
    struct fx f;
    struct client cl;
    struct call c[N];
    uint8_t *body[N];
    uint64_t want = 0;
    ASSERT_OK(fx_start(&f, NULL, NULL));
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    for (int i = 0; i < N; i++) {
        uint8_t *msg = ag_malloc(MSG);
        body[i] = ag_malloc(MSG + 5);
        ASSERT(msg != NULL && body[i] != NULL);
        for (size_t k = 0; k < MSG; k++) {
            msg[k] = (uint8_t)(k * 7 + (size_t)i * 131 + k / 251);
        }
        want += fnv1a(msg, MSG);
        size_t blen = frame_msg(body[i], 0, msg, MSG);
        ag_free(msg);
        call_init(&c[i], TRACES_PATH, body[i], blen);
        ASSERT_OK(cl_submit(&cl, &c[i]));
    }
    ASSERT(run_until(&f, cl_all_closed, &cl, 10.0));
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(c[i].grpc_status, 0);
        ag_free(body[i]);
    }
    ASSERT_EQ(f.stub.calls, N);
    ASSERT_UEQ(f.stub.full_len, MSG);
    ASSERT(f.stub.sum_of_sums == want);
    cl_close(&cl);
    fx_stop(&f);
}

/* Three calls at once on one connection. */
static void test_concurrent_calls(void)
{
    struct fx f;
    struct client cl;
    struct call c[3];
    static const char *paths[] = {TRACES_PATH, METRICS_PATH, LOGS_PATH};
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    for (int i = 0; i < 3; i++) {
        call_init(&c[i], paths[i], body, blen);
        ASSERT_OK(cl_submit(&cl, &c[i]));
    }
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(c[i].grpc_status, 0);
        ASSERT_EQ(f.stub.signals_seen[i], 1);
    }
    ASSERT_EQ(f.stub.calls, 3);
    ASSERT_UEQ(ag_grpc_server_active(f.srv), 1);
    cl_close(&cl);
    fx_stop(&f);
}

static void test_gzip_and_deflate(void)
{
    static const char *encodings[] = {"gzip", "deflate"};
    static const int bits[] = {31, 15};
    uint8_t plain[600];
    /* Compressible and not too regular: i * 7 mod 13 as letters. */
    for (size_t i = 0; i < sizeof(plain); i++) {
        plain[i] = (uint8_t)('a' + (i * 7) % 13);
    }
    for (int e = 0; e < 2; e++) {
        struct fx f;
        struct call c;
        uint8_t z[1024], body[1100];
        size_t zlen = zlib_compress(plain, sizeof(plain), z, sizeof(z), bits[e]);
        ASSERT(zlen > 0 && zlen < sizeof(plain));
        size_t blen = frame_msg(body, 1, z, zlen);
        ASSERT_OK(fx_start(&f, NULL, NULL));
        call_init(&c, METRICS_PATH, body, blen);
        c.encoding = encodings[e];
        ASSERT(one_call(&f, &c, NULL));
        ASSERT_EQ(c.grpc_status, 0);
        ASSERT_EQ(f.stub.calls, 1);
        ASSERT_UEQ(f.stub.len, sizeof(plain));
        ASSERT_MEMEQ(f.stub.body, plain, sizeof(plain));
        struct ag_grpc_counters k;
        ag_grpc_server_counters(f.srv, &k);
        ASSERT_UEQ(k.bytes_received, blen);
        ASSERT_UEQ(k.bytes_ingested, sizeof(plain));
        fx_stop(&f);
    }
}

/* gRPC C-core sends flag 0 under grpc-encoding: gzip: the message is plain. */
static void test_flag0_under_gzip_header(void)
{
    struct fx f;
    struct call c;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.encoding = "gzip";
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 0);
    ASSERT_UEQ(f.stub.len, sizeof(small_req));
    ASSERT_MEMEQ(f.stub.body, small_req, sizeof(small_req));
    fx_stop(&f);
}

static void test_compression_errors(void)
{
    static const uint8_t junk[] = {0x1F, 0x8B, 0x08, 0x00, 0xDE, 0xAD, 0xBE, 0xEF, 0x00};
    struct fx f;
    struct call c;
    uint8_t body[64];
    size_t blen = frame_msg(body, 1, junk, sizeof(junk));
    ASSERT_OK(fx_start(&f, NULL, NULL));

    /* An encoding we do not have: UNIMPLEMENTED, and the ones we have are named. */
    call_init(&c, TRACES_PATH, body, blen);
    c.encoding = "br";
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 12);
    ASSERT_EQ(c.trailers_only, 1);
    ASSERT_STREQ(c.accept_encoding, "identity,deflate,gzip,zstd,snappy");

    /* Flag 1 without grpc-encoding: INTERNAL, as grpc-go. */
    call_init(&c, TRACES_PATH, body, blen);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 13);

    /* Corrupt gzip: INTERNAL. */
    call_init(&c, TRACES_PATH, body, blen);
    c.encoding = "gzip";
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 13);
    ASSERT_STRCONTAINS(c.grpc_message, "decompress");
    ASSERT_EQ(f.stub.calls, 0);
    fx_stop(&f);
}

/* A gzip bomb: 64 KiB of zeros in a few hundred bytes, over a 1 KiB limit. */
static void test_inflated_over_limit(void)
{
    static uint8_t zeros[65536];
    struct ag_grpc_options o;
    struct fx f;
    struct call c;
    uint8_t z[1024], body[1100];
    size_t zlen = zlib_compress(zeros, sizeof(zeros), z, sizeof(z), 31);
    ASSERT(zlen > 0 && zlen < 1024 - 5);
    size_t blen = frame_msg(body, 1, z, zlen);
    ag_grpc_options_init(&o);
    o.max_recv_msg_size = 1024;
    ASSERT_OK(fx_start(&f, &o, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.encoding = "gzip";
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 8);
    ASSERT_STREQ(c.details, "");
    ASSERT_EQ(f.stub.calls, 0);
    fx_stop(&f);
}

/* The prefix alone announces too much: answered RESOURCE_EXHAUSTED at once, while the client
 * still holds the rest of its body, then reset with NO_ERROR. */
static void test_oversize_prefix(void)
{
    struct ag_grpc_options o;
    struct fx f;
    struct client cl;
    struct call c;
    uint8_t body[1100];
    uint8_t msg[1025];
    memset(msg, 'x', sizeof(msg));
    size_t blen = frame_msg(body, 0, msg, sizeof(msg)); /* 0x00000401 = 1025 */
    ag_grpc_options_init(&o);
    o.max_recv_msg_size = 1024;
    ASSERT_OK(fx_start(&f, &o, NULL));
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.hold = 5;
    ASSERT_OK(cl_submit(&cl, &c));
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    ASSERT_UEQ(c.sent, 5);
    ASSERT_EQ(c.grpc_status, 8);
    ASSERT_EQ(c.trailers_only, 1);
    ASSERT_STREQ(c.details, "");
    ASSERT_STRCONTAINS(c.grpc_message, "1025");
    ASSERT_EQ(c.rst_received, 1);
    ASSERT_EQ(c.rst_code, NGHTTP2_NO_ERROR);
    ASSERT_EQ(f.stub.calls, 0);
    /* The connection is still good. */
    struct call c2;
    uint8_t body2[64];
    size_t blen2 = frame_msg(body2, 0, small_req, sizeof(small_req));
    call_init(&c2, TRACES_PATH, body2, blen2);
    ASSERT_OK(cl_submit(&cl, &c2));
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    ASSERT_EQ(c2.grpc_status, 0);
    cl_close(&cl);
    fx_stop(&f);
}

static void test_unavailable_retry_info(void)
{
    struct fx f;
    struct call c;
    uint8_t body[64], raw[1024];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    f.stub.status = AG_OTLP_UNAVAILABLE;
    f.stub.retry_after_s = 7;
    f.stub.message = "queue full";
    call_init(&c, TRACES_PATH, body, blen);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 14);
    ASSERT_STREQ(c.grpc_message, "queue full");
    ASSERT(c.details[0] != '\0');
    long n = b64_decode(c.details, raw, sizeof(raw));
    ASSERT(n > 0);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, (size_t)n, raw);
    ASSERT_NOT_NULL(st);
    ASSERT_EQ(st->code, 14);
    ASSERT_STREQ(st->message, "queue full");
    ASSERT_UEQ(st->n_details, 1);
    ASSERT_STREQ(st->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
    Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, st->details[0]->value.len,
                                                                 st->details[0]->value.data);
    ASSERT_NOT_NULL(ri);
    ASSERT_NOT_NULL(ri->retry_delay);
    ASSERT_EQ(ri->retry_delay->seconds, 7);
    ASSERT_EQ(ri->retry_delay->nanos, 0);
    google__rpc__retry_info__free_unpacked(ri, NULL);
    google__rpc__status__free_unpacked(st, NULL);
    fx_stop(&f);
}

static void test_sink_errors(void)
{
    static const struct {
        enum ag_otlp_status st;
        const char *message;
        int code;
        const char *wire_message;
    } cases[] = {
        {AG_OTLP_INVALID, "bad: 100%\n", 3, "bad: 100%25%0A"},
        {AG_OTLP_TOO_LARGE, "too many spans", 8, "too many spans"},
        {AG_OTLP_INTERNAL, "bug", 13, "bug"},
    };
    struct fx f;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct call c;
        f.stub.status = cases[i].st;
        f.stub.message = cases[i].message;
        f.stub.retry_after_s = 9; /* ignored: only UNAVAILABLE carries RetryInfo */
        call_init(&c, TRACES_PATH, body, blen);
        ASSERT(one_call(&f, &c, NULL));
        ASSERT_EQ(c.http_status, 200);
        ASSERT_EQ(c.grpc_status, cases[i].code);
        ASSERT_STREQ(c.grpc_message, cases[i].wire_message);
        ASSERT_STREQ(c.details, "");
        ASSERT_UEQ(c.data_len, 0);
    }
    fx_stop(&f);
}

static void test_bad_requests(void)
{
    struct fx f;
    struct call c;
    uint8_t body[64], two[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    size_t tlen = frame_msg(two, 0, small_req, sizeof(small_req));
    tlen += frame_msg(two + tlen, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));

    call_init(&c, "/foo.Bar/Baz", body, blen);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.http_status, 200);
    ASSERT_EQ(c.grpc_status, 12);
    ASSERT_EQ(c.trailers_only, 1);

    call_init(&c, "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
              body, blen);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 12);

    call_init(&c, TRACES_PATH, body, blen);
    c.content_type = "application/json";
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.http_status, 415);
    ASSERT_EQ(c.grpc_status, 3);

    call_init(&c, TRACES_PATH, body, blen);
    c.content_type = "application/grpc+proto";
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 0);

    call_init(&c, TRACES_PATH, NULL, 0);
    c.method = "GET";
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.http_status, 405);
    ASSERT_EQ(c.grpc_status, 13);

    call_init(&c, TRACES_PATH, body, blen);
    c.timeout = "soon";
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.http_status, 400);
    ASSERT_EQ(c.grpc_status, 13);

    /* Two messages in a unary call. */
    call_init(&c, TRACES_PATH, two, tlen);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 13);
    ASSERT_STRCONTAINS(c.grpc_message, "cardinality");

    /* No message at all (HEADERS with END_STREAM). */
    call_init(&c, TRACES_PATH, NULL, 0);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 13);

    /* Truncated: the prefix says 2, one byte follows. */
    call_init(&c, TRACES_PATH, body, blen - 1);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 13);

    /* A flag byte of 2. */
    body[0] = 2;
    call_init(&c, TRACES_PATH, body, blen);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 13);
    body[0] = 0;

    ASSERT_EQ(f.stub.calls, 1); /* only the application/grpc+proto call */
    struct ag_grpc_counters k;
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.calls, 10);
    ASSERT_UEQ(k.calls_by_code[12], 2);
    ASSERT_UEQ(k.calls_by_code[13], 6);
    ASSERT_UEQ(k.calls_by_code[3], 1);
    ASSERT_UEQ(k.calls_by_code[0], 1);
    fx_stop(&f);
}

static void test_header_list_too_large(void)
{
    struct ag_grpc_options o;
    struct fx f;
    struct call c;
    static char big[2048];
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    memset(big, 'v', sizeof(big) - 1);
    ag_grpc_options_init(&o);
    o.max_header_list_size = 1024;
    ASSERT_OK(fx_start(&f, &o, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.extra_name = "x-big";
    c.extra_value = big;
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 8);
    ASSERT_EQ(f.stub.calls, 0);
    fx_stop(&f);
}

/* grpc-timeout passes while the client holds its body: DEADLINE_EXCEEDED. */
static void test_deadline(void)
{
    struct fx f;
    struct client cl;
    struct call c;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.timeout = "100m";
    c.hold = 3;
    double t0 = now_s();
    ASSERT_OK(cl_submit(&cl, &c));
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    double took = now_s() - t0;
    ASSERT(took >= 0.09 && took < 3.0);
    ASSERT_EQ(c.grpc_status, 4);
    ASSERT_EQ(c.rst_received, 1);
    ASSERT_EQ(f.stub.calls, 0);

    /* A generous deadline does not get in the way. */
    struct call c2;
    call_init(&c2, TRACES_PATH, body, blen);
    c2.timeout = "9946m";
    ASSERT_OK(cl_submit(&cl, &c2));
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    ASSERT_EQ(c2.grpc_status, 0);
    cl_close(&cl);
    fx_stop(&f);
}

/* ---- raw sockets ----------------------------------------------------------------------------- */

struct raw {
    struct bufferevent *bev;
    uint8_t got[4096];
    size_t len;
    int eof;
    int connected;
};

static void raw_readcb(struct bufferevent *bev, void *arg)
{
    struct raw *r = arg;
    size_t room = sizeof(r->got) - r->len;
    r->len += bufferevent_read(bev, r->got + r->len, room);
    if (r->len == sizeof(r->got)) {
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
    }
}

static void raw_eventcb(struct bufferevent *bev, short events, void *arg)
{
    struct raw *r = arg;
    (void)bev;
    if (events & BEV_EVENT_CONNECTED) {
        r->connected = 1;
        return;
    }
    r->eof = 1;
}

static int raw_eof(void *arg)
{
    return ((struct raw *)arg)->eof;
}

static int raw_connect(struct raw *r, struct fx *f, const void *send, size_t len)
{
    struct sockaddr_in sin;
    memset(r, 0, sizeof(*r));
    r->bev = bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (r->bev == NULL) {
        return -1;
    }
    bufferevent_setcb(r->bev, raw_readcb, NULL, raw_eventcb, r);
    bufferevent_enable(r->bev, EV_READ | EV_WRITE);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)f->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bufferevent_socket_connect(r->bev, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        return -1;
    }
    if (len > 0) {
        bufferevent_write(r->bev, send, len);
    }
    return 0;
}

/* The client preface and an empty SETTINGS frame: a client that then says nothing more. */
static const uint8_t hello[] = {'P',  'R',  'I',  ' ',  '*',  ' ',  'H',  'T',  'T',  'P',  '/',
                                '2',  '.',  '0',  '\r', '\n', '\r', '\n', 'S',  'M',  '\r', '\n',
                                '\r', '\n', 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00};

/* Whether the server sent a frame of |type| (hand-parsed frame headers). */
static int has_frame(const struct raw *r, uint8_t type)
{
    size_t at = 0;
    while (at + 9 <= r->len) {
        size_t flen = (size_t)r->got[at] << 16 | (size_t)r->got[at + 1] << 8 | r->got[at + 2];
        if (r->got[at + 3] == type) {
            return 1;
        }
        at += 9 + flen;
    }
    return 0;
}

/* Finds the first GOAWAY frame the server sent; returns its error code or -1. */
static long find_goaway(const struct raw *r)
{
    size_t at = 0;
    while (at + 9 <= r->len) {
        size_t flen = (size_t)r->got[at] << 16 | (size_t)r->got[at + 1] << 8 | r->got[at + 2];
        uint8_t type = r->got[at + 3];
        if (type == 0x07 && at + 9 + 8 <= r->len) {
            const uint8_t *p = r->got + at + 9 + 4;
            return (long)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        }
        at += 9 + flen;
    }
    return -1;
}

static int no_conns(void *arg)
{
    return ag_grpc_server_active(arg) == 0;
}

static void test_garbage_preface(void)
{
    static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    struct fx f;
    struct raw r;
    ASSERT_OK(fx_start(&f, NULL, NULL));
    ASSERT_OK(raw_connect(&r, &f, junk, sizeof(junk) - 1));
    ASSERT(run_until(&f, raw_eof, &r, 5.0));
    ASSERT(run_until(&f, no_conns, f.srv, 2.0));
    /* The server spoke HTTP/2 back: SETTINGS, then GOAWAY PROTOCOL_ERROR (1). */
    ASSERT_EQ(find_goaway(&r), 1);
    struct ag_grpc_counters k;
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_protocol_error, 1);
    bufferevent_free(r.bev);

    /* Another client is served normally. */
    struct call c;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    call_init(&c, TRACES_PATH, body, blen);
    ASSERT(one_call(&f, &c, NULL));
    ASSERT_EQ(c.grpc_status, 0);
    fx_stop(&f);
}

/* A good preface, then DATA on stream 0, which RFC 9113 6.1 makes a connection error. */
static void test_bad_frame(void)
{
    static const uint8_t bytes[] = {
        'P',  'R',  'I',  ' ',  '*',  ' ',  'H',  'T',  'T',  'P',  '/',  '2',
        '.',  '0',  '\r', '\n', '\r', '\n', '\r', '\n', 'S',  'M',  '\r', '\n',
        '\r', '\n', 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, /* SETTINGS, empty */
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x41,       /* DATA on stream 0 */
    };
    struct fx f;
    struct raw r, other;
    ASSERT_OK(fx_start(&f, NULL, NULL));
    /* A second connection, open meanwhile, is not disturbed. */
    ASSERT_OK(raw_connect(&other, &f, NULL, 0));
    ASSERT_OK(raw_connect(&r, &f, bytes, sizeof(bytes)));
    ASSERT(run_until(&f, raw_eof, &r, 5.0));
    ASSERT_EQ(find_goaway(&r), 1);
    ASSERT_EQ(other.eof, 0);
    ASSERT_UEQ(ag_grpc_server_active(f.srv), 1);
    bufferevent_free(r.bev);
    bufferevent_free(other.bev);
    fx_stop(&f);
}

static void test_idle_timeout(void)
{
    struct ag_grpc_options o;
    struct fx f;
    struct raw r;
    ag_grpc_options_init(&o);
    o.idle_timeout = 300ULL * 1000000ULL; /* 300 ms */
    ASSERT_OK(fx_start(&f, &o, NULL));
    double t0 = now_s();
    ASSERT_OK(raw_connect(&r, &f, NULL, 0));
    ASSERT(run_until(&f, raw_eof, &r, 5.0));
    double took = now_s() - t0;
    ASSERT(took >= 0.25 && took < 3.0);
    ASSERT(run_until(&f, no_conns, f.srv, 2.0));
    struct ag_grpc_counters k;
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_idle_closed, 1);
    bufferevent_free(r.bev);
    fx_stop(&f);
}

static int two_eof_or_conn(void *arg)
{
    struct raw *r = arg;
    return r[1].eof;
}

static void test_max_connections(void)
{
    struct ag_grpc_options o;
    struct fx f;
    struct raw r[2];
    ag_grpc_options_init(&o);
    o.max_connections = 1;
    ASSERT_OK(fx_start(&f, &o, NULL));
    ASSERT_OK(raw_connect(&r[0], &f, NULL, 0));
    ASSERT(run_until(&f, never, NULL, 0.2) == 0);
    ASSERT_UEQ(ag_grpc_server_active(f.srv), 1);
    ASSERT_OK(raw_connect(&r[1], &f, NULL, 0));
    ASSERT(run_until(&f, two_eof_or_conn, r, 5.0));
    ASSERT_EQ(r[0].eof, 0);
    struct ag_grpc_counters k;
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_refused, 1);
    ASSERT_UEQ(ag_grpc_server_active(f.srv), 1);
    bufferevent_free(r[0].bev);
    bufferevent_free(r[1].bev);
    fx_stop(&f);
}

/* Drain: the call in flight finishes, the client gets a GOAWAY, then the connection closes and
 * the port no longer accepts. */
static void test_drain(void)
{
    struct fx f;
    struct client cl;
    struct call c;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.hold = 3;
    ASSERT_OK(cl_submit(&cl, &c));
    ASSERT(run_until(&f, never, NULL, 0.2) == 0);
    ASSERT_UEQ(ag_grpc_server_active(f.srv), 1);
    ag_grpc_server_stop_accepting(f.srv);
    ASSERT(run_until(&f, never, NULL, 0.2) == 0);
    ASSERT_EQ(cl.goaway, 1);
    ASSERT_EQ(cl.goaway_error, 0);
    ASSERT_EQ(c.closed, 0);
    cl_release(&cl, &c);
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    ASSERT_EQ(c.grpc_status, 0);
    ASSERT_EQ(f.stub.calls, 1);
    ASSERT(run_until(&f, no_conns, f.srv, 5.0));
    ASSERT(run_until(&f, cl_eof, &cl, 5.0));
    cl_close(&cl);
    /* The listener is gone. */
    struct raw r;
    ASSERT_OK(raw_connect(&r, &f, NULL, 0));
    ASSERT(run_until(&f, raw_eof, &r, 5.0));
    ASSERT_EQ(r.connected, 0);
    bufferevent_free(r.bev);
    ag_grpc_server_stop_accepting(f.srv); /* twice is harmless */
    fx_stop(&f);
}

/* ---- the buffer budget and max_connection_idle ----------------------------------------------- */

/* Decodes grpc-status-details-bin and returns the RetryInfo delay in seconds, or -1. */
static long retry_delay_s(const char *details)
{
    uint8_t raw[1024];
    long n = b64_decode(details, raw, sizeof(raw)), out = -1;
    Google__Rpc__Status *st = n > 0 ? google__rpc__status__unpack(NULL, (size_t)n, raw) : NULL;
    if (st == NULL) {
        return -1;
    }
    if (st->n_details == 1 &&
        strcmp(st->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo") == 0) {
        Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(
            NULL, st->details[0]->value.len, st->details[0]->value.data);
        if (ri != NULL && ri->retry_delay != NULL && ri->retry_delay->nanos == 0) {
            out = (long)ri->retry_delay->seconds;
        }
        google__rpc__retry_info__free_unpacked(ri, NULL);
    }
    google__rpc__status__free_unpacked(st, NULL);
    return out;
}

struct budget_wait {
    struct ag_grpc_server *srv;
    uint64_t want;
};

static int buffered_is(void *arg)
{
    struct budget_wait *w = arg;
    return ag_grpc_server_buffered(w->srv) == w->want;
}

#define BIG_MSG (700u * 1024)

/* Two clients each start a 700 KiB message under a 1 MiB budget and hold the rest of the body:
 * the first is reserved, the second refused at once with UNAVAILABLE + RetryInfo 1 s before any
 * of its body is kept; once the first completes, the budget is back and a new call goes through. */
static void test_buffer_budget(void)
{
    static uint8_t msg[BIG_MSG], body[BIG_MSG + 5];
    struct ag_grpc_options o;
    struct fx f;
    struct client cl1, cl2;
    struct call c1, c2, c3;
    struct budget_wait w;
    struct ag_grpc_counters k;
    memset(msg, 'x', sizeof(msg));
    size_t blen = frame_msg(body, 0, msg, sizeof(msg));
    ag_grpc_options_init(&o);
    o.max_recv_msg_size = 1024 * 1024;
    o.max_buffered_bytes = 1024 * 1024;
    ASSERT_OK(fx_start(&f, &o, NULL));
    ASSERT_OK(cl_connect(&cl1, &f, NULL));
    ASSERT_OK(cl_connect(&cl2, &f, NULL));

    call_init(&c1, TRACES_PATH, body, blen);
    c1.hold = 5 + 1000;
    ASSERT_OK(cl_submit(&cl1, &c1));
    w.srv = f.srv;
    w.want = BIG_MSG;
    ASSERT(run_until(&f, buffered_is, &w, 5.0));

    call_init(&c2, TRACES_PATH, body, blen);
    c2.hold = 5 + 1000;
    ASSERT_OK(cl_submit(&cl2, &c2));
    ASSERT(run_until(&f, cl_all_closed, &cl2, 5.0));
    ASSERT_EQ(c2.http_status, 200);
    ASSERT_EQ(c2.grpc_status, 14);
    ASSERT_EQ(c2.trailers_only, 1);
    ASSERT_EQ(retry_delay_s(c2.details), 1);
    ASSERT_EQ(c2.rst_received, 1);
    ASSERT_EQ(c2.rst_code, NGHTTP2_NO_ERROR);
    ASSERT_UEQ(c2.sent, 5 + 1000);
    ASSERT_UEQ(ag_grpc_server_buffered(f.srv), BIG_MSG); /* nothing of c2's body was kept */
    ASSERT_EQ(c1.closed, 0);
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.refused_budget, 1);
    ASSERT_UEQ(k.calls_by_code[14], 1);

    cl_release(&cl1, &c1);
    ASSERT(run_until(&f, cl_all_closed, &cl1, 5.0));
    ASSERT_EQ(c1.grpc_status, 0);
    ASSERT_EQ(f.stub.calls, 1);
    ASSERT_UEQ(ag_grpc_server_buffered(f.srv), 0);

    /* The budget is free again: the refused client's retry, on the same connection, succeeds. */
    call_init(&c3, TRACES_PATH, body, blen);
    ASSERT_OK(cl_submit(&cl2, &c3));
    ASSERT(run_until(&f, cl_all_closed, &cl2, 5.0));
    ASSERT_EQ(c3.grpc_status, 0);
    ASSERT_EQ(f.stub.calls, 2);
    ASSERT_UEQ(ag_grpc_server_buffered(f.srv), 0);
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.refused_budget, 1);
    cl_close(&cl1);
    cl_close(&cl2);
    fx_stop(&f);
}

/* Reservations come back when a stream is reset mid-body and when a connection drops mid-body. */
static void test_buffer_budget_released(void)
{
    static uint8_t msg[400 * 1024], body[400 * 1024 + 5];
    struct ag_grpc_options o;
    struct fx f;
    struct client cl;
    struct call c[2], c3;
    struct budget_wait w;
    memset(msg, 'y', sizeof(msg));
    size_t blen = frame_msg(body, 0, msg, sizeof(msg));
    ag_grpc_options_init(&o);
    o.max_recv_msg_size = 1024 * 1024;
    o.max_buffered_bytes = 1024 * 1024;
    ASSERT_OK(fx_start(&f, &o, NULL));
    w.srv = f.srv;

    /* Two streams on one connection, both holding after 100 KiB of body. */
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    for (int i = 0; i < 2; i++) {
        call_init(&c[i], i ? METRICS_PATH : TRACES_PATH, body, blen);
        c[i].hold = 5 + 100 * 1024;
        ASSERT_OK(cl_submit(&cl, &c[i]));
    }
    w.want = 2 * sizeof(msg);
    ASSERT(run_until(&f, buffered_is, &w, 5.0));
    ASSERT(run_until(&f, never, NULL, 0.1) == 0);
    ASSERT_UEQ(c[0].sent, 5 + 100 * 1024);
    ASSERT_UEQ(c[1].sent, 5 + 100 * 1024);

    /* The client cancels the first. */
    ASSERT_OK(nghttp2_submit_rst_stream(cl.h2, NGHTTP2_FLAG_NONE, c[0].id, NGHTTP2_CANCEL));
    cl_flush(&cl);
    w.want = sizeof(msg);
    ASSERT(run_until(&f, buffered_is, &w, 5.0));

    /* The client goes away with the second half sent. */
    cl_close(&cl);
    ASSERT(run_until(&f, no_conns, f.srv, 5.0));
    ASSERT_UEQ(ag_grpc_server_buffered(f.srv), 0);
    ASSERT_EQ(f.stub.calls, 0);

    /* A budget below max_recv_msg_size is raised to it: a 1000-byte message under a 100-byte
     * budget still goes through. */
    fx_stop(&f);
    o.max_recv_msg_size = 4096;
    o.max_buffered_bytes = 100;
    ASSERT_OK(fx_start(&f, &o, NULL));
    call_init(&c3, TRACES_PATH, body, 5 + 1000);
    body[1] = body[2] = 0;
    body[3] = 0x03;
    body[4] = 0xE8; /* 1000 */
    ASSERT(one_call(&f, &c3, NULL));
    ASSERT_EQ(c3.grpc_status, 0);
    ASSERT_UEQ(ag_grpc_server_buffered(f.srv), 0);
    fx_stop(&f);
}

/* max_connection_idle: a connection with a call open past it stays; once it has had no stream
 * for that long it gets GOAWAY NO_ERROR and is closed, PINGs notwithstanding. */
static void test_max_connection_idle(void)
{
    struct ag_grpc_options o;
    struct fx f;
    struct client cl;
    struct call c;
    struct ag_grpc_counters k;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ag_grpc_options_init(&o);
    o.max_connection_idle = 200ULL * 1000000ULL; /* 200 ms */
    o.permit_without_stream = 1;                 /* the PINGs below break no policy */
    o.ping_min_time = 1;
    ASSERT_OK(fx_start(&f, &o, NULL));
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.hold = 3;
    ASSERT_OK(cl_submit(&cl, &c));
    ASSERT(run_until(&f, never, NULL, 0.5) == 0);
    ASSERT_EQ(cl.goaway, 0);
    cl_release(&cl, &c);
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    ASSERT_EQ(c.grpc_status, 0);

    double t1 = now_s(), next_ping = t1;
    while (!cl.goaway && now_s() < t1 + 5.0) {
        if (now_s() >= next_ping) {
            ASSERT_OK(nghttp2_submit_ping(cl.h2, NGHTTP2_FLAG_NONE, NULL));
            cl_flush(&cl);
            next_ping += 0.05;
        }
        event_base_loop(f.base, EVLOOP_ONCE);
    }
    double took = now_s() - t1;
    ASSERT_EQ(cl.goaway, 1);
    ASSERT_EQ(cl.goaway_error, NGHTTP2_NO_ERROR);
    ASSERT(took >= 0.15 && took < 3.0);
    ASSERT(run_until(&f, cl_eof, &cl, 5.0));
    ASSERT(run_until(&f, no_conns, f.srv, 5.0));
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_idle_closed, 1);
    cl_close(&cl);

    /* A connection that never opens a stream goes the same way; the GOAWAY is on the wire. */
    struct raw r;
    t1 = now_s();
    ASSERT_OK(raw_connect(&r, &f, hello, sizeof(hello)));
    ASSERT(run_until(&f, raw_eof, &r, 5.0));
    took = now_s() - t1;
    ASSERT(took >= 0.15 && took < 3.0);
    ASSERT_EQ(find_goaway(&r), 0);
    ASSERT(run_until(&f, no_conns, f.srv, 5.0));
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_idle_closed, 2);
    bufferevent_free(r.bev);
    fx_stop(&f);
}

/* ---- the rest of gRPC keepalive (grpc-go semantics) ------------------------------------------ */

/* max_connection_age: GOAWAY with last-stream-id 2^31 - 1 and a PING, then (on the ACK) the final
 * GOAWAY naming the call in flight, which still finishes; then the connection closes. */
static void test_max_connection_age(void)
{
    struct ag_grpc_options o;
    struct fx f;
    struct client cl;
    struct call c;
    struct ag_grpc_counters k;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ag_grpc_options_init(&o);
    o.max_connection_age = 300ULL * 1000000ULL; /* 300 ms ± 10 % */
    ASSERT_OK(fx_start(&f, &o, NULL));
    double t0 = now_s();
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.hold = 3;
    ASSERT_OK(cl_submit(&cl, &c));
    ASSERT(run_until(&f, never, NULL, 0.2) == 0);
    ASSERT_EQ(cl.goaway, 0); /* not before 270 ms */
    while (cl.goaway < 2 && now_s() < t0 + 5.0) {
        event_base_loop(f.base, EVLOOP_ONCE);
    }
    ASSERT(now_s() - t0 >= 0.27);
    ASSERT_EQ(cl.goaway, 2);
    ASSERT_EQ(cl.goaway_first_id, 0x7fffffff);
    ASSERT_EQ(cl.goaway_last_id, c.id);
    ASSERT_EQ(cl.goaway_error, NGHTTP2_NO_ERROR);
    ASSERT_EQ(c.closed, 0); /* the call is still open, and then finishes */
    cl_release(&cl, &c);
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    ASSERT_EQ(c.grpc_status, 0);
    ASSERT_EQ(f.stub.calls, 1);
    ASSERT(run_until(&f, cl_eof, &cl, 5.0));
    ASSERT(run_until(&f, no_conns, f.srv, 5.0));
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_aged, 1);
    ASSERT_UEQ(k.conns_age_forced, 0);
    ASSERT_UEQ(k.conns_protocol_error, 0);
    cl_close(&cl);
    fx_stop(&f);
}

/* max_connection_age_grace: a call still open that long after the first GOAWAY is cut off. */
static void test_max_connection_age_grace(void)
{
    struct ag_grpc_options o;
    struct fx f;
    struct client cl;
    struct call c;
    struct ag_grpc_counters k;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ag_grpc_options_init(&o);
    o.max_connection_age = 200ULL * 1000000ULL;
    o.max_connection_age_grace = 300ULL * 1000000ULL;
    ASSERT_OK(fx_start(&f, &o, NULL));
    double t0 = now_s();
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    call_init(&c, TRACES_PATH, body, blen);
    c.hold = 3; /* never released */
    ASSERT_OK(cl_submit(&cl, &c));
    ASSERT(run_until(&f, cl_eof, &cl, 5.0));
    double took = now_s() - t0;
    ASSERT(took >= 0.45 && took < 4.0); /* 180..220 ms + 300 ms */
    ASSERT_EQ(cl.goaway, 2);
    ASSERT_EQ(f.stub.calls, 0);
    ASSERT(run_until(&f, no_conns, f.srv, 5.0));
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_aged, 1);
    ASSERT_UEQ(k.conns_age_forced, 1);
    ASSERT_UEQ(ag_grpc_server_buffered(f.srv), 0);
    cl_close(&cl);
    fx_stop(&f);
}

static int two_pings(void *arg)
{
    return ((struct client *)arg)->pings >= 2;
}

/* keepalive time/timeout: a quiet client is PINGed after keepalive_time (raised to 1 s); one that
 * answers stays, one that does not is closed keepalive_timeout later. */
static void test_keepalive_ping(void)
{
    struct ag_grpc_options o;
    struct fx f;
    struct client cl;
    struct raw r;
    struct ag_grpc_counters k;
    ag_grpc_options_init(&o);
    o.keepalive_time = 100ULL * 1000000ULL; /* under grpc-go's floor: 1 s */
    o.keepalive_timeout = 200ULL * 1000000ULL;
    ASSERT_OK(fx_start(&f, &o, NULL));
    double t0 = now_s();
    ASSERT_OK(cl_connect(&cl, &f, NULL)); /* nghttp2 answers PINGs itself */
    ASSERT(run_until(&f, never, NULL, 0.8) == 0);
    ASSERT_EQ(cl.pings, 0); /* 1 s, not 100 ms */
    ASSERT(run_until(&f, two_pings, &cl, 5.0));
    ASSERT(now_s() - t0 >= 1.9);
    ASSERT_EQ(cl.eof, 0);
    ASSERT_EQ(cl.goaway, 0);
    cl_close(&cl);

    t0 = now_s();
    ASSERT_OK(raw_connect(&r, &f, hello, sizeof(hello)));
    ASSERT(run_until(&f, raw_eof, &r, 5.0));
    double took = now_s() - t0;
    ASSERT(took >= 1.15 && took < 4.0);
    ASSERT(has_frame(&r, 0x06)); /* the PING */
    ASSERT(run_until(&f, no_conns, f.srv, 5.0));
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_keepalive_closed, 1);
    bufferevent_free(r.bev);
    fx_stop(&f);
}

static int cl_goaway(void *arg)
{
    return ((struct client *)arg)->goaway > 0;
}

/* The enforcement policy's defaults (min_time 5 m, no PINGs without a call): the fourth PING in a
 * row gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings"; PINGs answering our frames are fine. */
static void test_too_many_pings(void)
{
    struct fx f;
    struct client cl;
    struct ag_grpc_counters k;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_OK(fx_start(&f, NULL, NULL));

    /* After each answer (HEADERS and DATA sent), the next PING starts the count again. */
    ASSERT_OK(cl_connect(&cl, &f, NULL));
    struct call c[4];
    for (int i = 0; i < 4; i++) {
        call_init(&c[i], TRACES_PATH, body, blen);
        ASSERT_OK(cl_submit(&cl, &c[i]));
        ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
        ASSERT_EQ(c[i].grpc_status, 0);
        for (int p = 0; p < 3; p++) {
            ASSERT_OK(nghttp2_submit_ping(cl.h2, NGHTTP2_FLAG_NONE, NULL));
        }
        cl_flush(&cl);
        ASSERT(run_until(&f, never, NULL, 0.05) == 0);
    }
    ASSERT_EQ(cl.goaway, 0);
    ASSERT_EQ(cl.eof, 0);
    cl_close(&cl);

    ASSERT_OK(cl_connect(&cl, &f, NULL));
    for (int p = 0; p < 3; p++) {
        ASSERT_OK(nghttp2_submit_ping(cl.h2, NGHTTP2_FLAG_NONE, NULL));
    }
    cl_flush(&cl);
    ASSERT(run_until(&f, never, NULL, 0.2) == 0);
    ASSERT_EQ(cl.goaway, 0); /* two strikes */
    ASSERT_OK(nghttp2_submit_ping(cl.h2, NGHTTP2_FLAG_NONE, NULL));
    cl_flush(&cl);
    ASSERT(run_until(&f, cl_goaway, &cl, 5.0));
    ASSERT_EQ(cl.goaway_error, NGHTTP2_ENHANCE_YOUR_CALM);
    ASSERT_STREQ(cl.goaway_debug, "too_many_pings");
    ASSERT(run_until(&f, cl_eof, &cl, 5.0));
    ASSERT(run_until(&f, no_conns, f.srv, 5.0));
    ag_grpc_server_counters(f.srv, &k);
    ASSERT_UEQ(k.conns_too_many_pings, 1);
    ASSERT_UEQ(k.conns_protocol_error, 0);
    cl_close(&cl);
    fx_stop(&f);
}

/* ---- TLS ------------------------------------------------------------------------------------- */

static int alpn_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    for (unsigned int i = 0; i + 1 < inlen; i += 1u + in[i]) {
        if (in[i] == 2 && i + 3 <= inlen && memcmp(in + i + 1, "h2", 2) == 0) {
            *out = in + i + 1;
            *outlen = 2;
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* A throwaway P-256 key and self-signed certificate for CN=127.0.0.1. */
static SSL_CTX *make_server_ctx(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    SSL_CTX *ctx = NULL;
    if (key == NULL || cert == NULL) {
        goto out;
    }
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    if (X509_sign(cert, key, EVP_sha256()) == 0) {
        goto out;
    }
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        SSL_CTX_free(ctx);
        ctx = NULL;
        goto out;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_h2, NULL);
out:
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

static void test_tls_alpn_h2(void)
{
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX *sctx = make_server_ctx();
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    struct fx f;
    struct client cl;
    struct call c;
    uint8_t body[64];
    size_t blen = frame_msg(body, 0, small_req, sizeof(small_req));
    ASSERT_NOT_NULL(sctx);
    ASSERT_NOT_NULL(cctx);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    ASSERT_OK(SSL_CTX_set_alpn_protos(cctx, alpn, sizeof(alpn)));
    ASSERT_OK(fx_start(&f, NULL, sctx));
    ASSERT_OK(cl_connect(&cl, &f, cctx));
    call_init(&c, TRACES_PATH, body, blen);
    ASSERT_OK(cl_submit(&cl, &c));
    ASSERT(run_until(&f, cl_all_closed, &cl, 5.0));
    ASSERT_EQ(c.grpc_status, 0);
    ASSERT_EQ(f.stub.calls, 1);
    ASSERT_MEMEQ(f.stub.body, small_req, sizeof(small_req));
    const unsigned char *sel = NULL;
    unsigned int sel_len = 0;
    SSL_get0_alpn_selected(bufferevent_openssl_get_ssl(cl.bev), &sel, &sel_len);
    ASSERT_UEQ(sel_len, 2);
    ASSERT_MEMEQ(sel, "h2", 2);
    cl_close(&cl);

    /* Plain text against the TLS port: the handshake fails, the server stays up. */
    struct raw r;
    static const char junk[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    ASSERT_OK(raw_connect(&r, &f, junk, sizeof(junk) - 1));
    ASSERT(run_until(&f, raw_eof, &r, 5.0));
    bufferevent_free(r.bev);
    ASSERT(run_until(&f, no_conns, f.srv, 2.0));
    fx_stop(&f);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}

/* ---- the API without sockets ----------------------------------------------------------------- */

static void test_options_and_adopt(void)
{
    struct ag_grpc_options o;
    struct event_base *base = event_base_new();
    struct ag_otlp_sink sink = {stub_ingest, NULL};
    struct ag_grpc_server *srv;
    struct bufferevent *pair[2];
    ag_grpc_options_init(&o);
    ASSERT_UEQ(o.max_recv_msg_size, 4194304);
    ASSERT_UEQ(o.max_concurrent_streams, 100);
    ASSERT_UEQ(o.idle_timeout, 60000000000ULL);
    ASSERT_UEQ(o.max_connections, 1024);
    ASSERT_UEQ(o.max_buffered_bytes, 64ULL * 1024 * 1024);
    ASSERT_UEQ(o.max_connection_idle, 0);
    o.max_recv_msg_size = 1ULL << 32; /* does not fit a length prefix */
    ASSERT_NULL(ag_grpc_server_new(base, &o, &sink));
    srv = ag_grpc_server_new(base, NULL, &sink);
    ASSERT_NOT_NULL(srv);
    ASSERT_EQ(ag_grpc_server_listen(srv, "127.0.0.1", 70000, NULL, NULL), AG_EINVAL);
    ASSERT_OK(bufferevent_pair_new(base, 0, pair));
    bufferevent_enable(pair[1], EV_READ);
    ASSERT_OK(ag_grpc_server_adopt(srv, pair[0]));
    ASSERT_UEQ(ag_grpc_server_active(srv), 1);
    event_base_loop(base, EVLOOP_NONBLOCK);
    /* The server spoke first: a SETTINGS frame (type 4) on stream 0. */
    struct evbuffer *in = bufferevent_get_input(pair[1]);
    ASSERT(evbuffer_get_length(in) >= 9);
    ASSERT_EQ(evbuffer_pullup(in, 9)[3], 0x04);
    ag_grpc_server_stop_accepting(srv);
    struct bufferevent *late[2];
    ASSERT_OK(bufferevent_pair_new(base, 0, late));
    ASSERT_EQ(ag_grpc_server_adopt(srv, late[0]), AG_EAGAIN);
    bufferevent_free(late[1]);
    ag_grpc_server_free(srv);
    bufferevent_free(pair[1]);
    ag_grpc_server_free(NULL);
    event_base_loop(base, EVLOOP_NONBLOCK); /* libevent finalizes freed bufferevents here */
    event_base_free(base);
}

AG_TEST_MAIN(AG_TEST_CASE(test_export_each_signal), AG_TEST_CASE(test_partial_success),
             AG_TEST_CASE(test_split_data_frames), AG_TEST_CASE(test_big_messages_at_once),
             AG_TEST_CASE(test_concurrent_calls), AG_TEST_CASE(test_gzip_and_deflate),
             AG_TEST_CASE(test_flag0_under_gzip_header), AG_TEST_CASE(test_compression_errors),
             AG_TEST_CASE(test_inflated_over_limit), AG_TEST_CASE(test_oversize_prefix),
             AG_TEST_CASE(test_unavailable_retry_info), AG_TEST_CASE(test_sink_errors),
             AG_TEST_CASE(test_bad_requests), AG_TEST_CASE(test_header_list_too_large),
             AG_TEST_CASE(test_deadline), AG_TEST_CASE(test_garbage_preface),
             AG_TEST_CASE(test_bad_frame), AG_TEST_CASE(test_idle_timeout),
             AG_TEST_CASE(test_max_connections), AG_TEST_CASE(test_drain),
             AG_TEST_CASE(test_buffer_budget), AG_TEST_CASE(test_buffer_budget_released),
             AG_TEST_CASE(test_max_connection_idle), AG_TEST_CASE(test_max_connection_age),
             AG_TEST_CASE(test_max_connection_age_grace), AG_TEST_CASE(test_keepalive_ping),
             AG_TEST_CASE(test_too_many_pings), AG_TEST_CASE(test_tls_alpn_h2),
             AG_TEST_CASE(test_options_and_adopt))
