/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otter-loadgen: replays pre-encoded OTLP trace requests over OTLP/gRPC (nghttp2 client, h2c
 * prior knowledge) or OTLP/HTTP (HTTP/1.1 keep-alive) from one libevent loop, either open loop at
 * a fixed item rate with coordinated-omission-corrected latency, or saturating with a fixed number
 * of requests in flight (specs/performance.md §5). Every answer's status is checked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "ag_mem.h"
#include "ag_time.h"
#include "bench_signals.h"
#include "bench_spans.h"

/* gRPC method and OTLP/HTTP path of each signal (enum bench_signal order). */
static const char *const bench_grpc_paths[3] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};
static const char *const bench_http_paths[3] = {"/v1/traces", "/v1/metrics", "/v1/logs"};
static const char *const bench_signal_names[3] = {"traces", "metrics", "logs"};
#define BENCH_MAX_ERR_KINDS 32
#define BENCH_MAX_HEAD      16384 /* largest HTTP/1.1 response head accepted */
#define BENCH_MAX_RECONNECT 1000
#define BENCH_CONNECT_S     5

/*
 * Latency histogram, HdrHistogram-style: values below 2^BENCH_HIST_SUB_BITS ns are exact, above
 * that each power of two is split into 2^(BENCH_HIST_SUB_BITS-1) linear sub-buckets (< 0.8 %
 * error). Values are clamped at 2^42 ns (73 minutes). Fixed size: 36 KiB.
 */
#define BENCH_HIST_SUB_BITS 8
#define BENCH_HIST_MAX_BITS 42
#define BENCH_HIST_HALF     (1u << (BENCH_HIST_SUB_BITS - 1))
#define BENCH_HIST_BUCKETS  ((BENCH_HIST_MAX_BITS - BENCH_HIST_SUB_BITS + 2) * BENCH_HIST_HALF)

enum bench_proto {
    BENCH_GRPC = 0,
    BENCH_HTTP = 1,
};

enum bench_signal {
    BENCH_SIGNAL_TRACES = 0, /* spans of --shape */
    BENCH_SIGNAL_METRICS = 1, /* data points (bench_signals.h) */
    BENCH_SIGNAL_LOGS = 2,    /* log records (bench_signals.h) */
};

struct bench_opts {
    enum bench_proto proto;
    enum bench_signal signal;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char target[80];
    enum bench_shape shape;
    size_t spans_per_request; /* items (spans, data points or log records) per request */
    double duration_s;
    double rate;  /* items/s; 0 with --saturate */
    int saturate; /* closed loop: |inflight| requests outstanding at all times */
    unsigned connections;
    unsigned inflight; /* gRPC: streams in flight over all connections */
    unsigned variants; /* distinct pre-encoded requests, replayed round-robin */
    double grace_s;    /* how long answers are awaited after the last send */
    int json;
    const char *dump;
    /* Raw HTTP mode (--proto http with --http-path): this request instead of OTLP, one item per
     * request (the chatbot's benchmark, tests/bench/chatbot_bench.py). */
    const char *http_path;    /* NULL: the signal's OTLP path and an encoded request */
    const char *http_method;  /* "POST" (default) or "GET" */
    const char *body;         /* --body: sent as is; NULL = empty */
    const char *content_type; /* --content-type (default application/json) */
};

struct bench_hist {
    uint64_t counts[BENCH_HIST_BUCKETS];
    uint64_t total;
    uint64_t max; /* exact, ns */
};

/* One pre-encoded request: the gRPC 5-byte prefix and the message; HTTP sends msg + 5. */
struct bench_payload {
    uint8_t *grpc;
    size_t grpc_len;
    char *http_head; /* request line and headers for the OTLP/HTTP variant */
    size_t http_head_len;
};

/* A request in flight (an HTTP/2 stream or an HTTP/1.1 exchange). */
struct bench_stream {
    struct bench_conn *conn;
    struct bench_stream *next_free;
    uint64_t t_origin; /* ns, monotonic: intended send time (rate) or actual send time */
    size_t queued;     /* gRPC bytes handed to nghttp2 */
    size_t sent;       /* gRPC bytes written to the socket buffer */
    unsigned payload;
    int http_status;
    int grpc_status; /* -1 until a grpc-status header arrives */
    int in_use;
};

enum bench_rstate {
    RS_IDLE = 0,
    RS_HEAD,
    RS_BODY,
    RS_CHUNK_SIZE,
    RS_CHUNK_DATA,
    RS_CHUNK_CRLF,
    RS_TRAILER,
    RS_UNTIL_CLOSE,
};

struct bench_conn {
    struct bench *b;
    struct bufferevent *bev;
    nghttp2_session *h2;
    unsigned cap;      /* requests this connection may carry at once */
    unsigned inflight; /* requests it carries now */
    int up;
    int dirty; /* gRPC: frames submitted, nghttp2_session_send() due */
    /* HTTP/1.1 response parser state */
    struct bench_stream *cur;
    enum bench_rstate rs;
    uint64_t body_left;
    int close_after;
};

struct bench_err {
    char key[32];
    uint64_t count;
};

struct bench_stats {
    uint64_t req_sent;
    uint64_t items_sent;
    uint64_t bytes_sent;
    uint64_t req_ok;
    uint64_t items_ok;
    uint64_t req_failed;
    uint64_t items_failed;
    uint64_t timed_out; /* requests still unanswered when the grace period ended */
    uint64_t unsent;    /* rate mode: requests due before the end that never got a slot */
    uint64_t reconnects;
};

struct bench {
    struct bench_opts o;
    struct event_base *base;
    struct event *tick;
    struct event *deadline;
    struct event *sigint;
    struct event *sigterm;
    struct bench_payload *payloads;
    struct bench_conn *conns;
    struct bench_stream *streams;
    struct bench_stream *free_streams;
    nghttp2_session_callbacks *h2cbs;
    unsigned nconns;
    unsigned conns_up;
    unsigned nstreams;
    unsigned inflight;
    unsigned rr; /* round-robin position over connections */
    uint64_t t0;
    uint64_t t_end;
    uint64_t t_last_ack;
    double interval_ns; /* rate mode: time between two request starts */
    uint64_t n_total;   /* rate mode: requests intended in [t0, t_end) */
    uint64_t next_req;
    int started;
    int sending;
    int draining;
    int fatal;
    struct rusage ru0;
    struct bench_stats st;
    struct bench_err errs[BENCH_MAX_ERR_KINDS];
    unsigned nerrs;
    struct bench_hist hist;
};

/* ---- histogram ------------------------------------------------------------------------------- */

static unsigned hist_index(uint64_t v)
{
    if (v >= (1ULL << BENCH_HIST_MAX_BITS)) {
        v = (1ULL << BENCH_HIST_MAX_BITS) - 1;
    }
    if (v < 2 * BENCH_HIST_HALF) {
        return (unsigned)v;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - (BENCH_HIST_SUB_BITS - 1);
    return shift * BENCH_HIST_HALF + (unsigned)(v >> shift);
}

/* The highest value that lands in bucket |idx| (HdrHistogram's "highest equivalent value"). */
static uint64_t hist_bucket_high(unsigned idx)
{
    if (idx < 2 * BENCH_HIST_HALF) {
        return idx;
    }
    unsigned shift = idx / BENCH_HIST_HALF - 1;
    uint64_t sub = idx % BENCH_HIST_HALF + BENCH_HIST_HALF;
    return ((sub + 1) << shift) - 1;
}

static void hist_record(struct bench_hist *h, uint64_t v)
{
    h->counts[hist_index(v)]++;
    h->total++;
    if (v > h->max) {
        h->max = v;
    }
}

static uint64_t hist_percentile(const struct bench_hist *h, double p)
{
    if (h->total == 0) {
        return 0;
    }
    uint64_t want = (uint64_t)ceil(p / 100.0 * (double)h->total);
    uint64_t seen = 0;
    if (want == 0) {
        want = 1;
    }
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t hi = hist_bucket_high(i);
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}

/* ---- bookkeeping ----------------------------------------------------------------------------- */

static void err_count(struct bench *b, const char *key)
{
    for (unsigned i = 0; i < b->nerrs; i++) {
        if (strcmp(b->errs[i].key, key) == 0) {
            b->errs[i].count++;
            return;
        }
    }
    if (b->nerrs == BENCH_MAX_ERR_KINDS) {
        key = "other";
        for (unsigned i = 0; i < b->nerrs; i++) {
            if (strcmp(b->errs[i].key, key) == 0) {
                b->errs[i].count++;
                return;
            }
        }
        b->nerrs--; /* the last slot becomes "other" */
    }
    (void)snprintf(b->errs[b->nerrs].key, sizeof(b->errs[0].key), "%s", key);
    b->errs[b->nerrs].count = 1;
    b->nerrs++;
}

static struct bench_stream *stream_get(struct bench *b)
{
    struct bench_stream *s = b->free_streams;
    if (s != NULL) {
        b->free_streams = s->next_free;
        s->next_free = NULL;
        s->in_use = 1;
    }
    return s;
}

static void stream_put(struct bench *b, struct bench_stream *s)
{
    s->in_use = 0;
    s->conn = NULL;
    s->next_free = b->free_streams;
    b->free_streams = s;
}

static void check_done(struct bench *b)
{
    if (b->draining && b->inflight == 0) {
        event_base_loopbreak(b->base);
    }
}

/*
 * Ends the request |s| (ok, or failed with error kind |key|): records its latency, frees its slot.
 */
static void finish_stream(struct bench *b, struct bench_stream *s, const char *key)
{
    uint64_t now = ag_time_mono_ns();
    struct bench_conn *c = s->conn;

    if (key == NULL) {
        hist_record(&b->hist, now > s->t_origin ? now - s->t_origin : 0);
        b->st.req_ok++;
        b->st.items_ok += b->o.spans_per_request;
        b->t_last_ack = now;
    } else {
        b->st.req_failed++;
        b->st.items_failed += b->o.spans_per_request;
        err_count(b, key);
    }
    if (c != NULL) {
        c->inflight--;
    }
    b->inflight--;
    stream_put(b, s);
    check_done(b);
}

/* ---- connections ----------------------------------------------------------------------------- */

static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void h2_read_cb(struct bufferevent *bev, void *arg);
static void http_read_cb(struct bufferevent *bev, void *arg);
static void pump(struct bench *b);

static int conn_open(struct bench_conn *c)
{
    struct bench *b = c->b;
    c->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        return AG_ENOMEM;
    }
    bufferevent_setcb(c->bev, b->o.proto == BENCH_GRPC ? h2_read_cb : http_read_cb, NULL,
                      conn_event_cb, c);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&b->o.addr, (int)b->o.addrlen) < 0) {
        bufferevent_free(c->bev);
        c->bev = NULL;
        return AG_EIO;
    }
    return 0;
}

/*
 * Tears the connection down: every request it carries fails with |key|. With the run still
 * sending, a new connection replaces it.
 */
static void conn_close(struct bench_conn *c, const char *key)
{
    struct bench *b = c->b;

    for (unsigned i = 0; i < b->nstreams; i++) {
        struct bench_stream *s = &b->streams[i];
        if (s->in_use && s->conn == c) {
            finish_stream(b, s, key);
        }
    }
    c->cur = NULL;
    c->rs = RS_IDLE;
    if (c->h2 != NULL) {
        nghttp2_session_del(c->h2);
        c->h2 = NULL;
    }
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->up) {
        c->up = 0;
        b->conns_up--;
    }
    if (b->sending) {
        if (++b->st.reconnects > BENCH_MAX_RECONNECT) {
            fprintf(stderr, "otter-loadgen: too many reconnects, giving up\n");
            b->fatal = 1;
            event_base_loopbreak(b->base);
            return;
        }
        if (conn_open(c) != 0) {
            b->fatal = 1;
            event_base_loopbreak(b->base);
        }
    }
}

/* ---- gRPC over nghttp2 ----------------------------------------------------------------------- */

static ssize_t h2_send_cb(nghttp2_session *session, const uint8_t *data, size_t length, int flags,
                          void *user_data)
{
    struct bench_conn *c = user_data;
    (void)session;
    (void)flags;
    if (evbuffer_add(bufferevent_get_output(c->bev), data, length) != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return (ssize_t)length;
}

/* DATA frames point into the pre-encoded payload: nghttp2 never copies the request body. */
static ssize_t h2_data_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                               size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                               void *user_data)
{
    struct bench_stream *s = source->ptr;
    struct bench_conn *c = user_data;
    const struct bench_payload *p = &c->b->payloads[s->payload];
    size_t left = p->grpc_len - s->queued;
    size_t n = length < left ? length : left;
    (void)session;
    (void)stream_id;
    (void)buf;

    s->queued += n;
    *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (s->queued == p->grpc_len) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static int h2_send_data_cb(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
                           size_t length, nghttp2_data_source *source, void *user_data)
{
    struct bench_stream *s = source->ptr;
    struct bench_conn *c = user_data;
    const struct bench_payload *p = &c->b->payloads[s->payload];
    struct evbuffer *out = bufferevent_get_output(c->bev);
    (void)session;

    if (frame->data.padlen > 0 || s->sent + length > p->grpc_len) {
        return NGHTTP2_ERR_CALLBACK_FAILURE; /* never asked for padding */
    }
    if (evbuffer_add(out, framehd, 9) != 0 ||
        evbuffer_add_reference(out, p->grpc + s->sent, length, NULL, NULL) != 0) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    s->sent += length;
    c->b->st.bytes_sent += length;
    return 0;
}

static int parse_int(const uint8_t *p, size_t len, int *out)
{
    int v = 0;
    if (len == 0 || len > 9) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return AG_EINVAL;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static int h2_header_cb(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user_data)
{
    struct bench_stream *s;
    int v = 0;
    (void)flags;
    (void)user_data;

    if (frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL) {
        return 0;
    }
    if (namelen == 7 && memcmp(name, ":status", 7) == 0 && parse_int(value, valuelen, &v) == 0) {
        s->http_status = v;
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        s->grpc_status = parse_int(value, valuelen, &v) == 0 ? v : 1000;
    }
    return 0;
}

static int h2_stream_close_cb(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                              void *user_data)
{
    struct bench_conn *c = user_data;
    struct bench_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    char key[32];

    if (s == NULL) {
        return 0;
    }
    if (error_code != NGHTTP2_NO_ERROR) {
        (void)snprintf(key, sizeof(key), "h2_rst_%u", error_code);
    } else if (s->http_status != 200) {
        (void)snprintf(key, sizeof(key), "http_%d", s->http_status);
    } else if (s->grpc_status < 0) {
        (void)snprintf(key, sizeof(key), "grpc_no_status");
    } else if (s->grpc_status != 0) {
        (void)snprintf(key, sizeof(key), "grpc_%d", s->grpc_status);
    } else {
        key[0] = '\0';
    }
    finish_stream(c->b, s, key[0] == '\0' ? NULL : key);
    return 0;
}

static int h2_session_new(struct bench_conn *c)
{
    nghttp2_settings_entry iv[2] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
    };
    if (nghttp2_session_client_new(&c->h2, c->b->h2cbs, c) != 0) {
        return AG_ENOMEM;
    }
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2) != 0 ||
        nghttp2_session_send(c->h2) != 0) {
        return AG_EIO;
    }
    return 0;
}

static void h2_read_cb(struct bufferevent *bev, void *arg)
{
    struct bench_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_iovec v[16];

    for (;;) {
        int n = evbuffer_peek(in, -1, NULL, v, 16);
        size_t used = 0;
        if (n <= 0) {
            break;
        }
        for (int i = 0; i < n && i < 16; i++) {
            ssize_t rv = nghttp2_session_mem_recv(c->h2, v[i].iov_base, v[i].iov_len);
            if (rv < 0) {
                conn_close(c, "h2_protocol");
                return;
            }
            used += v[i].iov_len;
        }
        evbuffer_drain(in, used);
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
        conn_close(c, "h2_goaway");
        return;
    }
    c->dirty = 1;
    pump(c->b);
}

static int grpc_submit(struct bench_conn *c, struct bench_stream *s)
{
    struct bench *b = c->b;
#define BENCH_NV(n, v)                                         \
    {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), \
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE}
    nghttp2_nv nva[] = {
        BENCH_NV(":method", "POST"),
        BENCH_NV(":scheme", "http"),
        BENCH_NV(":path", bench_grpc_paths[b->o.signal]),
        BENCH_NV(":authority", b->o.target),
        BENCH_NV("content-type", "application/grpc"),
        BENCH_NV("te", "trailers"),
        BENCH_NV("user-agent", "otter-loadgen"),
    };
#undef BENCH_NV
    nghttp2_data_provider prd;
    prd.source.ptr = s;
    prd.read_callback = h2_data_read_cb;
    int32_t id = nghttp2_submit_request(c->h2, NULL, nva, sizeof(nva) / sizeof(nva[0]), &prd, s);
    if (id < 0) {
        return AG_EIO;
    }
    c->dirty = 1;
    return 0;
}

/* ---- OTLP/HTTP over HTTP/1.1 ----------------------------------------------------------------- */

static int http_submit(struct bench_conn *c, struct bench_stream *s)
{
    const struct bench_payload *p = &c->b->payloads[s->payload];
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if (evbuffer_add(out, p->http_head, p->http_head_len) != 0 ||
        evbuffer_add_reference(out, p->grpc + 5, p->grpc_len - 5, NULL, NULL) != 0) {
        return AG_ENOMEM;
    }
    c->b->st.bytes_sent += p->grpc_len - 5;
    c->cur = s;
    c->rs = RS_HEAD;
    c->close_after = 0;
    return 0;
}

static int ieq_prefix(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len >= n && strncasecmp(line, name, n) == 0;
}

static int parse_u64_span(const char *p, size_t len, int base, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    size_t start = i;
    for (; i < len; i++) {
        int d;
        char ch = p[i];
        if (ch >= '0' && ch <= '9') {
            d = ch - '0';
        } else if (base == 16 && ch >= 'a' && ch <= 'f') {
            d = ch - 'a' + 10;
        } else if (base == 16 && ch >= 'A' && ch <= 'F') {
            d = ch - 'A' + 10;
        } else {
            break;
        }
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) {
            return AG_EINVAL;
        }
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (i == start) {
        return AG_EINVAL;
    }
    *out = v;
    return 0;
}

/* Parses a response head of |len| bytes; sets the status and how the body is delimited. */
static int http_parse_head(struct bench_conn *c, const char *h, size_t len)
{
    int status = 0;
    int chunked = 0;
    int have_len = 0;
    uint64_t clen = 0;
    const char *end = h + len;
    const char *eol = memchr(h, '\n', len);

    if (eol == NULL || len < 12 || memcmp(h, "HTTP/1.", 7) != 0 ||
        parse_int((const uint8_t *)h + 9, 3, &status) != 0) {
        return AG_EPROTO;
    }
    c->close_after = h[7] == '0'; /* HTTP/1.0 closes unless told otherwise */
    for (const char *line = eol + 1; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t ll = (size_t)((nl != NULL ? nl : end) - line);
        if (ieq_prefix(line, ll, "content-length:")) {
            if (parse_u64_span(line + 15, ll - 15, 10, &clen) != 0) {
                return AG_EPROTO;
            }
            have_len = 1;
        } else if (ieq_prefix(line, ll, "transfer-encoding:")) {
            chunked = memmem(line, ll, "chunked", 7) != NULL;
        } else if (ieq_prefix(line, ll, "connection:")) {
            if (memmem(line, ll, "close", 5) != NULL) {
                c->close_after = 1;
            } else if (memmem(line, ll, "keep-alive", 10) != NULL) {
                c->close_after = 0;
            }
        }
        line = nl != NULL ? nl + 1 : end;
    }
    c->cur->http_status = status;
    if (chunked) {
        c->rs = RS_CHUNK_SIZE;
    } else if (have_len) {
        c->body_left = clen;
        c->rs = RS_BODY;
    } else if (status == 204 || status == 304 || status / 100 == 1) {
        c->body_left = 0;
        c->rs = RS_BODY;
    } else {
        c->rs = RS_UNTIL_CLOSE;
        c->close_after = 1;
    }
    return 0;
}

static void http_complete(struct bench_conn *c)
{
    struct bench *b = c->b;
    struct bench_stream *s = c->cur;
    char key[32];

    c->cur = NULL;
    c->rs = RS_IDLE;
    if (s->http_status == 200) {
        finish_stream(b, s, NULL);
    } else {
        (void)snprintf(key, sizeof(key), "http_%d", s->http_status);
        finish_stream(b, s, key);
    }
    if (c->close_after) {
        conn_close(c, "conn_closed");
    }
}

/* Finds "\r\n" (or a bare "\n") in |in|; returns the line length with its terminator, or 0. */
static size_t line_len(struct evbuffer *in)
{
    struct evbuffer_ptr p = evbuffer_search(in, "\n", 1, NULL);
    return p.pos < 0 ? 0 : (size_t)p.pos + 1;
}

static void http_read_cb(struct bufferevent *bev, void *arg)
{
    struct bench_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    /* A response that closes the connection replaces c->bev: stop reading the old one then. */
    while (c->bev == bev && evbuffer_get_length(in) > 0) {
        size_t avail = evbuffer_get_length(in);
        switch (c->rs) {
        case RS_IDLE:
            conn_close(c, "http_unexpected_data");
            return;
        case RS_HEAD: {
            struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (p.pos < 0) {
                if (avail > BENCH_MAX_HEAD) {
                    conn_close(c, "http_bad_response");
                }
                goto out;
            }
            size_t hlen = (size_t)p.pos + 4;
            const char *h = (const char *)evbuffer_pullup(in, (ssize_t)hlen);
            if (h == NULL || http_parse_head(c, h, hlen) != 0) {
                conn_close(c, "http_bad_response");
                return;
            }
            evbuffer_drain(in, hlen);
            if (c->rs == RS_BODY && c->body_left == 0) {
                http_complete(c);
            }
            break;
        }
        case RS_BODY:
        case RS_CHUNK_DATA: {
            size_t n = avail < c->body_left ? avail : (size_t)c->body_left;
            evbuffer_drain(in, n);
            c->body_left -= n;
            if (c->body_left == 0) {
                if (c->rs == RS_BODY) {
                    http_complete(c);
                } else {
                    c->rs = RS_CHUNK_CRLF;
                }
            }
            break;
        }
        case RS_CHUNK_SIZE: {
            size_t ll = line_len(in);
            uint64_t size = 0;
            if (ll == 0) {
                goto out;
            }
            const char *line = (const char *)evbuffer_pullup(in, (ssize_t)ll);
            if (line == NULL || parse_u64_span(line, ll, 16, &size) != 0) {
                conn_close(c, "http_bad_chunk");
                return;
            }
            evbuffer_drain(in, ll);
            c->body_left = size;
            c->rs = size == 0 ? RS_TRAILER : RS_CHUNK_DATA;
            break;
        }
        case RS_CHUNK_CRLF:
        case RS_TRAILER: {
            size_t ll = line_len(in);
            if (ll == 0) {
                goto out;
            }
            evbuffer_drain(in, ll);
            if (c->rs == RS_CHUNK_CRLF) {
                c->rs = RS_CHUNK_SIZE;
            } else if (ll <= 2) {
                http_complete(c); /* the empty line that ends the trailers */
            }
            break;
        }
        case RS_UNTIL_CLOSE:
            evbuffer_drain(in, avail);
            break;
        }
    }
out:
    pump(c->b);
}

/* ---- connection events, scheduling ----------------------------------------------------------- */

static void start_run(struct bench *b);

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct bench_conn *c = arg;
    struct bench *b = c->b;

    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        evutil_socket_t fd = bufferevent_getfd(bev);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (b->o.proto == BENCH_GRPC && h2_session_new(c) != 0) {
            conn_close(c, "h2_setup");
            return;
        }
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        c->up = 1;
        b->conns_up++;
        if (!b->started && b->conns_up == b->nconns) {
            start_run(b);
        } else if (b->started) {
            pump(b);
        }
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (!b->started) {
            fprintf(stderr, "otter-loadgen: cannot connect to %s: %s\n", b->o.target,
                    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
            b->fatal = 1;
            event_base_loopbreak(b->base);
            return;
        }
        if (c->rs == RS_UNTIL_CLOSE && c->cur != NULL) {
            c->close_after = 1;
            http_complete(c);
            return;
        }
        conn_close(c, (what & BEV_EVENT_EOF) ? "conn_closed" : "conn_error");
    }
}

static struct bench_conn *pick_conn(struct bench *b)
{
    for (unsigned k = 0; k < b->nconns; k++) {
        struct bench_conn *c = &b->conns[(b->rr + k) % b->nconns];
        if (c->up && c->inflight < c->cap) {
            b->rr = (b->rr + k + 1) % b->nconns;
            return c;
        }
    }
    return NULL;
}

static int send_one(struct bench *b, struct bench_conn *c, uint64_t t_origin)
{
    struct bench_stream *s = stream_get(b);
    int rc;

    if (s == NULL) {
        return AG_EAGAIN;
    }
    s->conn = c;
    s->t_origin = t_origin;
    s->payload = (unsigned)(b->next_req % b->o.variants);
    s->queued = 0;
    s->sent = 0;
    s->http_status = 0;
    s->grpc_status = -1;
    rc = b->o.proto == BENCH_GRPC ? grpc_submit(c, s) : http_submit(c, s);
    if (rc != 0) {
        stream_put(b, s);
        return rc;
    }
    c->inflight++;
    b->inflight++;
    b->next_req++;
    b->st.req_sent++;
    b->st.items_sent += b->o.spans_per_request;
    return 0;
}

static void arm_tick(struct bench *b, uint64_t now)
{
    struct timeval tv = {0, 1000}; /* backlogged: completions pump, this is a fallback */
    if (b->next_req >= b->n_total) {
        return;
    }
    uint64_t due = b->t0 + (uint64_t)((double)b->next_req * b->interval_ns);
    if (due > now) {
        uint64_t d = due - now;
        tv.tv_sec = (time_t)(d / 1000000000ULL);
        tv.tv_usec = (suseconds_t)((d % 1000000000ULL) / 1000);
    }
    evtimer_add(b->tick, &tv);
}

/* Sends every request that is due and has a free slot, then flushes the HTTP/2 sessions. */
static void pump(struct bench *b)
{
    if (b->sending) {
        for (;;) {
            uint64_t now = ag_time_mono_ns();
            uint64_t t_origin = now;
            if (b->o.saturate) {
                if (now >= b->t_end) {
                    break;
                }
            } else {
                if (b->next_req >= b->n_total) {
                    break;
                }
                t_origin = b->t0 + (uint64_t)((double)b->next_req * b->interval_ns);
                if (t_origin > now) {
                    break;
                }
            }
            struct bench_conn *c = pick_conn(b);
            if (c == NULL || send_one(b, c, t_origin) != 0) {
                break;
            }
        }
    }
    for (unsigned i = 0; i < b->nconns; i++) {
        struct bench_conn *c = &b->conns[i];
        if (c->h2 != NULL && c->dirty) {
            c->dirty = 0;
            if (nghttp2_session_send(c->h2) != 0) {
                conn_close(c, "h2_send");
            }
        }
    }
    if (b->sending && !b->o.saturate) {
        evtimer_del(b->tick);
        arm_tick(b, ag_time_mono_ns());
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    (void)fd;
    (void)what;

    if (b->sending) {
        /* Stop sending; answers still in flight get the grace period. */
        b->sending = 0;
        b->draining = 1;
        if (!b->o.saturate && b->next_req < b->n_total) {
            b->st.unsent = b->n_total - b->next_req;
        }
        evtimer_del(b->tick);
        struct timeval tv = {(time_t)b->o.grace_s,
                             (suseconds_t)((b->o.grace_s - floor(b->o.grace_s)) * 1e6)};
        evtimer_add(b->deadline, &tv);
        check_done(b);
        return;
    }
    event_base_loopbreak(b->base);
}

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    (void)fd;
    (void)what;
    if (b->sending) {
        evtimer_del(b->deadline);
        deadline_cb(-1, 0, b);
    } else {
        event_base_loopbreak(b->base);
    }
}

static void start_run(struct bench *b)
{
    struct timeval tv = {(time_t)b->o.duration_s,
                         (suseconds_t)((b->o.duration_s - floor(b->o.duration_s)) * 1e6)};
    b->started = 1;
    b->sending = 1;
    b->t0 = ag_time_mono_ns();
    b->t_end = b->t0 + (uint64_t)(b->o.duration_s * 1e9);
    if (!b->o.saturate) {
        b->interval_ns = (double)b->o.spans_per_request * 1e9 / b->o.rate;
        b->n_total = (uint64_t)ceil(b->o.duration_s * 1e9 / b->interval_ns);
    }
    (void)getrusage(RUSAGE_SELF, &b->ru0);
    evtimer_del(b->deadline);
    evtimer_add(b->deadline, &tv);
    pump(b);
}

static void connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    (void)fd;
    (void)what;
    if (!b->started) {
        fprintf(stderr, "otter-loadgen: connecting to %s timed out\n", b->o.target);
        b->fatal = 1;
        event_base_loopbreak(b->base);
    }
}

/* ---- setup, report --------------------------------------------------------------------------- */

static int build_payloads(struct bench *b)
{
    const struct bench_opts *o = &b->o;
    uint64_t base_ns = ag_time_now_ns();

    b->payloads = ag_calloc(o->variants, sizeof(*b->payloads));
    if (b->payloads == NULL) {
        return AG_ENOMEM;
    }
    for (unsigned v = 0; v < o->variants; v++) {
        struct bench_payload *p = &b->payloads[v];
        uint8_t *msg = NULL;
        size_t len = 0;
        char head[512];
        int rc;
        if (o->http_path != NULL) {
            len = o->body != NULL ? strlen(o->body) : 0;
            msg = ag_malloc(len + 1);
            rc = msg != NULL ? 0 : AG_ENOMEM;
            if (msg != NULL) {
                memcpy(msg, o->body != NULL ? o->body : "", len + 1);
            }
        } else if (o->signal == BENCH_SIGNAL_METRICS) {
            rc = bench_metrics_encode(o->spans_per_request, v, base_ns, &msg, &len);
        } else if (o->signal == BENCH_SIGNAL_LOGS) {
            rc = bench_logs_encode(o->spans_per_request, v, base_ns, &msg, &len);
        } else {
            rc = bench_spans_encode(o->shape, o->spans_per_request, v, base_ns, &msg, &len);
        }
        if (rc != 0) {
            return rc;
        }
        if (len > UINT32_MAX) {
            ag_free(msg);
            return AG_ETOOBIG;
        }
        p->grpc = ag_malloc(len + 5);
        if (p->grpc == NULL) {
            ag_free(msg);
            return AG_ENOMEM;
        }
        p->grpc[0] = 0; /* not compressed */
        p->grpc[1] = (uint8_t)(len >> 24);
        p->grpc[2] = (uint8_t)(len >> 16);
        p->grpc[3] = (uint8_t)(len >> 8);
        p->grpc[4] = (uint8_t)len;
        memcpy(p->grpc + 5, msg, len);
        p->grpc_len = len + 5;
        ag_free(msg);
        int n = snprintf(head, sizeof(head),
                         "%s %s HTTP/1.1\r\nHost: %s\r\n"
                         "User-Agent: otter-loadgen\r\n"
                         "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                         o->http_method != NULL ? o->http_method : "POST",
                         o->http_path != NULL ? o->http_path : bench_http_paths[o->signal],
                         o->target,
                         o->http_path == NULL       ? "application/x-protobuf"
                         : o->content_type != NULL ? o->content_type
                                                   : "application/json",
                         len);
        if (n < 0 || (size_t)n >= sizeof(head)) {
            return AG_EINVAL;
        }
        p->http_head = ag_strndup(head, (size_t)n);
        if (p->http_head == NULL) {
            return AG_ENOMEM;
        }
        p->http_head_len = (size_t)n;
    }
    return 0;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void report(const struct bench *b)
{
    const struct bench_opts *o = &b->o;
    const struct bench_stats *st = &b->st;
    struct rusage ru1;
    double elapsed;
    double cpu;
    size_t bytes_per_req = b->payloads[0].grpc_len - 5;

    (void)getrusage(RUSAGE_SELF, &ru1);
    cpu = tv_s(ru1.ru_utime) - tv_s(b->ru0.ru_utime) + tv_s(ru1.ru_stime) - tv_s(b->ru0.ru_stime);
    elapsed = (double)((b->t_last_ack > b->t0 ? b->t_last_ack : b->t_end) - b->t0) / 1e9;
    if (elapsed <= 0) {
        elapsed = o->duration_s;
    }
    double ips = (double)st->items_ok / elapsed;
    double p50 = (double)hist_percentile(&b->hist, 50.0) / 1e6;
    double p90 = (double)hist_percentile(&b->hist, 90.0) / 1e6;
    double p99 = (double)hist_percentile(&b->hist, 99.0) / 1e6;
    double p999 = (double)hist_percentile(&b->hist, 99.9) / 1e6;
    double pmax = (double)b->hist.max / 1e6;
    const char *proto = o->proto == BENCH_GRPC ? "grpc" : "http";
    const char *mode = o->saturate ? "saturate" : "rate";

    if (o->json) {
        printf("{\"proto\":\"%s\",\"signal\":\"%s\",\"shape\":\"%s\",\"mode\":\"%s\","
               "\"rate\":%.0f,"
               "\"spans_per_request\":%zu,\"bytes_per_request\":%zu,\"connections\":%u,"
               "\"inflight\":%u,\"duration_s\":%.3f,\"elapsed_s\":%.3f,"
               "\"requests_sent\":%" PRIu64 ",\"items_sent\":%" PRIu64 ",\"requests_ok\":%" PRIu64
               ",\"items_acked\":%" PRIu64 ",\"requests_failed\":%" PRIu64 ",\"timed_out\":%" PRIu64
               ",\"unsent\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"bytes_sent\":%" PRIu64
               ",\"items_per_s\":%.1f,"
               "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p99_9\":%.3f,"
               "\"max\":%.3f},\"loadgen_cpu_s\":%.3f,\"errors\":{",
               proto, bench_signal_names[o->signal], bench_shape_name(o->shape), mode, o->rate,
               o->spans_per_request,
               bytes_per_req, b->nconns, b->nstreams, o->duration_s, elapsed, st->req_sent,
               st->items_sent, st->req_ok, st->items_ok, st->req_failed, st->timed_out, st->unsent,
               st->reconnects, st->bytes_sent, ips, p50, p90, p99, p999, pmax, cpu);
        for (unsigned i = 0; i < b->nerrs; i++) {
            printf("%s\"%s\":%" PRIu64, i ? "," : "", b->errs[i].key, b->errs[i].count);
        }
        printf("}}\n");
        return;
    }
    if (o->signal == BENCH_SIGNAL_TRACES) {
        printf("otter-loadgen: %s %s, %zu spans/request (%zu B, %.0f B/span), %s", proto,
               bench_shape_name(o->shape), o->spans_per_request, bytes_per_req,
               (double)bytes_per_req / (double)o->spans_per_request, mode);
    } else {
        printf("otter-loadgen: %s %s, %zu items/request (%zu B, %.0f B/item), %s", proto,
               bench_signal_names[o->signal], o->spans_per_request, bytes_per_req,
               (double)bytes_per_req / (double)o->spans_per_request, mode);
    }
    if (!o->saturate) {
        printf(" %.0f items/s", o->rate);
    }
    printf(", %u connections, %u in flight, %.1f s\n", b->nconns, b->nstreams, o->duration_s);
    printf("requests: sent %" PRIu64 ", ok %" PRIu64 ", failed %" PRIu64 ", timed out %" PRIu64
           ", unsent %" PRIu64 ", reconnects %" PRIu64 "\n",
           st->req_sent, st->req_ok, st->req_failed, st->timed_out, st->unsent, st->reconnects);
    printf("items:    sent %" PRIu64 ", acked %" PRIu64 " -> %.0f items/s over %.2f s\n",
           st->items_sent, st->items_ok, ips, elapsed);
    printf("latency from %s send time (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
           o->saturate ? "actual" : "intended", p50, p90, p99, p999, pmax);
    printf("errors:  ");
    if (b->nerrs == 0) {
        printf(" none");
    }
    for (unsigned i = 0; i < b->nerrs; i++) {
        printf(" %s=%" PRIu64, b->errs[i].key, b->errs[i].count);
    }
    printf("\nloadgen CPU: %.2f s (%.3f s per million items)\n", cpu,
           st->items_sent ? cpu * 1e6 / (double)st->items_sent : 0.0);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: otter-loadgen [options]\n"
            "  --proto grpc|http         OTLP/gRPC (h2c) or OTLP/HTTP protobuf (default grpc)\n"
            "  --target HOST:PORT        numeric address (default 127.0.0.1:4317)\n"
            "  --http-path PATH   (--proto http) send this request instead of OTLP: one item\n"
            "                     per request; --http-method GET|POST (POST), --body TEXT,\n"
            "                     --content-type TYPE (application/json); a 200 is success\n"
            "  --signal traces|metrics|logs  what to send (default traces); metrics and logs\n"
            "                            have one realistic shape each (bench_signals.h)\n"
            "  --shape small|realistic   span shape (default small)\n"
            "  --spans-per-request N     items per request: spans, data points or log records\n"
            "                            (default 100; also --items-per-request)\n"
            "  --rate R                  open loop at R items/s (default 10000)\n"
            "  --saturate                closed loop: --inflight requests outstanding\n"
            "  --duration S              seconds of sending (default 10, at most 3600)\n"
            "  --connections N           (default 2 for grpc, 8 for http)\n"
            "  --inflight N              gRPC requests in flight over all connections\n"
            "                            (default 8 saturating, 256 at a rate); HTTP/1.1 carries\n"
            "                            one request per connection, so there in flight =\n"
            "                            --connections\n"
            "  --variants N              distinct pre-encoded requests (default 16)\n"
            "  --grace S                 wait this long for answers after the end (default 3)\n"
            "  --json                    print one JSON object instead of text\n"
            "  --dump FILE               write one encoded request to FILE and exit\n");
}

static int parse_u64_arg(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9') {
        return AG_EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return AG_EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_double_arg(const char *s, double min, double max, double *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0') {
        return AG_EINVAL;
    }
    double v = strtod(s, &end);
    if (*end != '\0' || !(v >= min && v <= max)) {
        return AG_EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_target(struct bench_opts *o, const char *s)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    uint64_t port = 0;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(host) || colon == s ||
        parse_u64_arg(colon + 1, 1, 65535, &port) != 0) {
        return AG_EINVAL;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        host[strlen(host) - 1] = '\0';
        memmove(host, host + 1, strlen(host));
    }
    memset(&o->addr, 0, sizeof(o->addr));
    struct sockaddr_in *sin = (struct sockaddr_in *)&o->addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&o->addr;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        o->addrlen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        o->addrlen = sizeof(*sin6);
    } else {
        return AG_EINVAL;
    }
    (void)snprintf(o->target, sizeof(o->target), "%s", s);
    return 0;
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
    int have_conns = 0;
    int have_inflight = 0;
    int have_rate = 0;
    uint64_t u = 0;

    memset(o, 0, sizeof(*o));
    o->proto = BENCH_GRPC;
    o->shape = BENCH_SHAPE_SMALL;
    o->spans_per_request = 100;
    o->duration_s = 10;
    o->rate = 10000;
    o->variants = 16;
    o->grace_s = 3;
    if (parse_target(o, "127.0.0.1:4317") != 0) {
        return AG_EINVAL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = AG_EINVAL;
        int takes = 1;
        if (strcmp(a, "--proto") == 0 && v != NULL) {
            rc = 0;
            if (strcmp(v, "grpc") == 0) {
                o->proto = BENCH_GRPC;
            } else if (strcmp(v, "http") == 0) {
                o->proto = BENCH_HTTP;
            } else {
                rc = AG_EINVAL;
            }
        } else if (strcmp(a, "--target") == 0 && v != NULL) {
            rc = parse_target(o, v);
        } else if (strcmp(a, "--shape") == 0 && v != NULL) {
            rc = bench_shape_parse(v, &o->shape);
        } else if (strcmp(a, "--signal") == 0 && v != NULL) {
            rc = AG_EINVAL;
            for (int k = 0; k < 3; k++) {
                if (strcmp(v, bench_signal_names[k]) == 0) {
                    o->signal = (enum bench_signal)k;
                    rc = 0;
                }
            }
        } else if (strcmp(a, "--spans-per-request") == 0 ||
                   strcmp(a, "--items-per-request") == 0) {
            rc = parse_u64_arg(v, 1, 100000, &u);
            o->spans_per_request = (size_t)u;
        } else if (strcmp(a, "--rate") == 0) {
            rc = parse_double_arg(v, 1, 1e9, &o->rate);
            have_rate = 1;
        } else if (strcmp(a, "--duration") == 0) {
            rc = parse_double_arg(v, 0.1, 3600, &o->duration_s);
        } else if (strcmp(a, "--grace") == 0) {
            rc = parse_double_arg(v, 0, 60, &o->grace_s);
        } else if (strcmp(a, "--connections") == 0) {
            rc = parse_u64_arg(v, 1, 1024, &u);
            o->connections = (unsigned)u;
            have_conns = 1;
        } else if (strcmp(a, "--inflight") == 0) {
            rc = parse_u64_arg(v, 1, 65536, &u);
            o->inflight = (unsigned)u;
            have_inflight = 1;
        } else if (strcmp(a, "--variants") == 0) {
            rc = parse_u64_arg(v, 1, 1024, &u);
            o->variants = (unsigned)u;
        } else if (strcmp(a, "--dump") == 0 && v != NULL) {
            o->dump = v;
            rc = 0;
        } else if (strcmp(a, "--http-path") == 0 && v != NULL && v[0] == '/') {
            o->http_path = v;
            o->spans_per_request = 1;
            rc = 0;
        } else if (strcmp(a, "--http-method") == 0 && v != NULL &&
                   (strcmp(v, "GET") == 0 || strcmp(v, "POST") == 0)) {
            o->http_method = v;
            rc = 0;
        } else if (strcmp(a, "--body") == 0 && v != NULL && strlen(v) < 65536) {
            o->body = v;
            rc = 0;
        } else if (strcmp(a, "--content-type") == 0 && v != NULL && strlen(v) < 128 &&
                   strpbrk(v, "\r\n") == NULL) {
            o->content_type = v;
            rc = 0;
        } else {
            takes = 0;
            if (strcmp(a, "--saturate") == 0) {
                o->saturate = 1;
                rc = 0;
            } else if (strcmp(a, "--json") == 0) {
                o->json = 1;
                rc = 0;
            }
        }
        if (rc != 0) {
            fprintf(stderr, "otter-loadgen: bad argument: %s%s%s\n", a, takes && v ? " " : "",
                    takes && v ? v : "");
            return AG_EINVAL;
        }
        i += takes;
    }
    if (o->saturate && have_rate) {
        fprintf(stderr, "otter-loadgen: --rate and --saturate exclude each other\n");
        return AG_EINVAL;
    }
    if (!have_conns) {
        o->connections = o->proto == BENCH_GRPC ? 2 : 8;
    }
    if (o->proto == BENCH_HTTP) {
        o->inflight = o->connections;
    } else if (!have_inflight) {
        o->inflight = o->saturate ? 8 : 256;
    }
    if (o->inflight < o->connections) {
        o->connections = o->inflight;
    }
    return 0;
}

static int dump_request(const struct bench *b)
{
    FILE *f = fopen(b->o.dump, "wb");
    const struct bench_payload *p = &b->payloads[0];
    if (f == NULL) {
        fprintf(stderr, "otter-loadgen: cannot write %s: %s\n", b->o.dump, strerror(errno));
        return 1;
    }
    size_t n = fwrite(p->grpc + 5, 1, p->grpc_len - 5, f);
    if (fclose(f) != 0 || n != p->grpc_len - 5) {
        fprintf(stderr, "otter-loadgen: cannot write %s\n", b->o.dump);
        return 1;
    }
    fprintf(stderr, "otter-loadgen: wrote %zu bytes (%zu spans) to %s\n", n, b->o.spans_per_request,
            b->o.dump);
    return 0;
}

static void bench_cleanup(struct bench *b)
{
    for (unsigned i = 0; b->conns != NULL && i < b->nconns; i++) {
        if (b->conns[i].h2 != NULL) {
            nghttp2_session_del(b->conns[i].h2);
        }
        if (b->conns[i].bev != NULL) {
            bufferevent_free(b->conns[i].bev);
        }
    }
    for (unsigned v = 0; b->payloads != NULL && v < b->o.variants; v++) {
        ag_free(b->payloads[v].grpc);
        ag_free(b->payloads[v].http_head);
    }
    ag_free(b->payloads);
    ag_free(b->conns);
    ag_free(b->streams);
    if (b->h2cbs != NULL) {
        nghttp2_session_callbacks_del(b->h2cbs);
    }
    if (b->tick != NULL) {
        event_free(b->tick);
    }
    if (b->deadline != NULL) {
        event_free(b->deadline);
    }
    if (b->sigint != NULL) {
        event_free(b->sigint);
    }
    if (b->sigterm != NULL) {
        event_free(b->sigterm);
    }
    if (b->base != NULL) {
        event_base_free(b->base);
    }
}

static int bench_setup(struct bench *b)
{
    struct event_config *cfg = event_config_new();
    if (cfg == NULL) {
        return AG_ENOMEM;
    }
    /* timerfd-backed timers: the open-loop schedule needs sub-millisecond wake-ups. */
    (void)event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    b->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (b->base == NULL) {
        return AG_ENOMEM;
    }
    b->tick = evtimer_new(b->base, tick_cb, b);
    b->deadline = evtimer_new(b->base, deadline_cb, b);
    b->sigint = evsignal_new(b->base, SIGINT, signal_cb, b);
    b->sigterm = evsignal_new(b->base, SIGTERM, signal_cb, b);
    if (b->tick == NULL || b->deadline == NULL || b->sigint == NULL || b->sigterm == NULL) {
        return AG_ENOMEM;
    }
    (void)evsignal_add(b->sigint, NULL);
    (void)evsignal_add(b->sigterm, NULL);

    if (nghttp2_session_callbacks_new(&b->h2cbs) != 0) {
        return AG_ENOMEM;
    }
    nghttp2_session_callbacks_set_send_callback(b->h2cbs, h2_send_cb);
    nghttp2_session_callbacks_set_send_data_callback(b->h2cbs, h2_send_data_cb);
    nghttp2_session_callbacks_set_on_header_callback(b->h2cbs, h2_header_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(b->h2cbs, h2_stream_close_cb);

    b->nconns = b->o.connections;
    b->nstreams = b->o.inflight;
    b->conns = ag_calloc(b->nconns, sizeof(*b->conns));
    b->streams = ag_calloc(b->nstreams, sizeof(*b->streams));
    if (b->conns == NULL || b->streams == NULL) {
        return AG_ENOMEM;
    }
    for (unsigned i = b->nstreams; i-- > 0;) {
        stream_put(b, &b->streams[i]);
    }
    for (unsigned i = 0; i < b->nconns; i++) {
        struct bench_conn *c = &b->conns[i];
        c->b = b;
        c->cap = b->nstreams / b->nconns + (i < b->nstreams % b->nconns ? 1 : 0);
        int rc = conn_open(c);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct bench bench; /* large (the histogram): keep it off the stack */
    struct bench *b = &bench;
    int rc;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return 0;
    }
    if (parse_args(argc, argv, &b->o) != 0) {
        usage();
        return 2;
    }
    (void)signal(SIGPIPE, SIG_IGN);
    rc = build_payloads(b);
    if (rc != 0) {
        fprintf(stderr, "otter-loadgen: cannot encode requests: %s\n", ag_strerror(rc));
        bench_cleanup(b);
        return 1;
    }
    if (b->o.dump != NULL) {
        rc = dump_request(b);
        bench_cleanup(b);
        return rc;
    }
    rc = bench_setup(b);
    if (rc != 0) {
        fprintf(stderr, "otter-loadgen: setup failed: %s\n", ag_strerror(rc));
        bench_cleanup(b);
        return 1;
    }
    struct timeval ctv = {BENCH_CONNECT_S, 0};
    (void)event_base_once(b->base, -1, EV_TIMEOUT, connect_timeout_cb, b, &ctv);

    (void)event_base_dispatch(b->base);

    if (b->fatal && !b->started) {
        bench_cleanup(b);
        return 1;
    }
    b->st.timed_out = b->inflight;
    report(b);
    bench_cleanup(b);
    if (b->fatal) {
        return 1;
    }
    return b->st.req_failed == 0 && b->st.timed_out == 0 && b->st.req_ok > 0 ? 0 : 3;
}
