/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP/gRPC server: nghttp2 server sessions on libevent bufferevents (plain sockets or
 * bufferevent_openssl), one per connection, on the caller's loop. Each HTTP/2 stream is a unary
 * Export call whose single message ag_grpc_frame reassembles; ag_otlp's sink takes the body and
 * its result becomes the gRPC answer. Status choices are listed in ag_grpc.h.
 */
#include "ag_grpc.h"
#include "ag_buf.h"
#include "ag_grpc_frame.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_sockaddr.h"
#include "ag_time.h"
#include "ag_zip.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <nghttp2/nghttp2.h>

#define WHO "receiver/grpc"

/* The spec caps responses at 4 MiB; ours are a few hundred bytes, so this is never reached. */
#define RESPONSE_CAP (4u * 1024 * 1024 + AG_GRPC_FRAME_PREFIX)
#define STATUS_CAP   4096 /* a serialized google.rpc.Status: code, 511-byte message, RetryInfo */
#define MESSAGE_CAP  2048 /* a percent-encoded grpc-message (3 x 511 at worst) */
#define DETAILS_CAP  8192 /* base64 of a Status */

/* HTTP/2 windows: 1 MiB per stream, 4 MiB per connection, so a 4 MiB message arrives without
 * waiting for a WINDOW_UPDATE round trip per 64 KiB. nghttp2 updates the windows itself as it
 * hands DATA to on_data_chunk(), which always takes all of it: into a decoder whose message
 * length was reserved from max_buffered_bytes, or nowhere (an answered call). So nghttp2 never
 * holds request bytes for us, the windows only pace the wire, and what is buffered stays bounded
 * by the budget whatever the windows; a connection that does not read its answers stops being
 * read (conn_flush), which leaves the rest to TCP. */
#define STREAM_WINDOW (1 << 20)
#define CONN_WINDOW   (4 << 20)

/* Control frames queued for a peer that does not read (PING and SETTINGS acks). */
#define MAX_OUTBOUND_ACK 1000
#define MAX_SETTINGS     32

/* A grpc-timeout over this is not worth a timer; it is still checked when the request ends. */
#define MAX_TIMER_NS (24ULL * 3600 * 1000000000ULL)

/* gRPC keepalive, as grpc-go: a client's PINGs may break the policy twice; the third time is
 * too many. Without an open call (and without permit_without_stream) a PING is fine only 2 h
 * after the previous one. A drain waits this long for its PING's ACK before the final GOAWAY. */
#define MAX_PING_STRIKES  2
#define NO_STREAM_PING_NS (2ULL * 3600 * 1000000000ULL)
#define DRAIN_ACK_WAIT_NS (60ULL * 1000000000ULL)
static const uint8_t AGE_PING[8] = {'o', 't', 't', 'e', 'r', 'a', 'g', 'e'};
static const uint8_t KEEPALIVE_PING[8] = {'o', 't', 't', 'e', 'r', 'k', 'a', 'l'};

/* The delay a client refused for lack of buffer budget is asked to wait (RetryInfo). */
#define BUDGET_RETRY_S 1

static const char *const signal_paths[AG_SIGNAL_COUNT] = {
    [AG_SIGNAL_TRACES] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    [AG_SIGNAL_METRICS] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    [AG_SIGNAL_LOGS] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

enum msg_encoding {
    ENC_IDENTITY = 0, /* no grpc-encoding, or "identity" */
    ENC_GZIP,
    ENC_DEFLATE,
    ENC_ZSTD,
    ENC_SNAPPY, /* the framing format, as the collector's gRPC snappy codec writes it */
    ENC_OTHER,
};

struct grpc_conn;

/* One HTTP/2 stream: one unary call. Owned by its connection's list. */
struct grpc_stream {
    struct grpc_stream *prev, *next;
    struct grpc_conn *conn;
    int32_t id;
    int signal;      /* -1 until a known :path is seen */
    int post;        /* :method is POST */
    int grpc_ctype;  /* content-type is application/grpc[+proto] */
    int bad_timeout; /* grpc-timeout was present and malformed */
    int too_big;     /* the header list passed max_header_list_size */
    size_t header_bytes;
    enum msg_encoding enc;
    int has_deadline;
    uint64_t deadline_ns; /* on the monotonic clock */
    struct event *timer;  /* fires at the deadline */
    struct ag_grpc_frame *dec;
    uint64_t reserved;  /* bytes of srv->buffered held for this call's message */
    int answered;       /* a response was submitted: later DATA is ignored */
    struct ag_buf resp; /* prefix + Export*ServiceResponse of an OK answer */
    size_t resp_off;    /* bytes of |resp| handed to nghttp2 */
};

struct grpc_conn {
    struct grpc_conn *prev, *next;
    struct ag_grpc_server *srv;
    struct bufferevent *bev;
    nghttp2_session *h2;
    struct grpc_stream *streams;
    struct event *idle_timer; /* max_connection_idle: armed while |streams| is empty */
    struct event *age_timer;  /* max_connection_age, then the drain's steps and its grace */
    struct event *ka_timer;   /* keepalive_time, then keepalive_timeout */
    uint64_t drain_ns;        /* when max_connection_age's first GOAWAY went out */
    uint64_t last_read_ns;    /* when bytes last came from the client */
    uint64_t ka_seen_ns;      /* last_read_ns when the keepalive timer last looked */
    uint64_t last_ping_ns;    /* the client's previous PING; 0 = none yet */
    int age_phase;            /* 0; 1: first GOAWAY and PING sent; 2: final GOAWAY sent */
    int ka_ping_out;          /* the keepalive PING is unanswered */
    int ping_strikes;         /* PINGs against the enforcement policy */
    int reset_strikes;        /* HEADERS or DATA were sent since the client's last PING */
    int tls;
    int handshake_done; /* TLS finished (always 1 for h2c) */
    int closing;        /* close once the output is flushed */
    int read_paused;    /* reading stopped: the output is over max_output_buffer */
    int proto_error;    /* counted in conns_protocol_error already */
};

struct ag_grpc_server {
    struct event_base *base;
    struct ag_grpc_options opts;
    struct ag_otlp_sink sink;
    struct evconnlistener *listener;
    SSL_CTX *tls;
    int listened;
    int draining;
    struct grpc_conn *conns;
    size_t nconns;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *h2opt;
    nghttp2_mem mem;
    uint64_t buffered; /* sum of every stream's |reserved|; at most opts.max_buffered_bytes */
    uint64_t rng;      /* xorshift state for max_connection_age's jitter */
    uint8_t *rbuf;     /* READ_CHUNK bytes for conn_read_more(), allocated on first use */
    struct ag_grpc_counters counters;
};

/* ---- allocation: nghttp2 allocates through ag_mem too ---------------------------------------- */

static void *h2_malloc(size_t size, void *ud)
{
    (void)ud;
    return ag_malloc(size);
}

static void h2_free(void *ptr, void *ud)
{
    (void)ud;
    ag_free(ptr);
}

static void *h2_calloc(size_t nmemb, size_t size, void *ud)
{
    (void)ud;
    return ag_calloc(nmemb, size);
}

static void *h2_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return ag_realloc(ptr, size);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static struct timeval ns_to_tv(uint64_t ns)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ns / 1000000000ULL);
    tv.tv_usec = (suseconds_t)((ns % 1000000000ULL) / 1000);
    return tv;
}

static nghttp2_nv make_nv(const char *name, const char *value, size_t value_len)
{
    nghttp2_nv nv;
    nv.name = (uint8_t *)(uintptr_t)name;
    nv.namelen = strlen(name);
    nv.value = (uint8_t *)(uintptr_t)value;
    nv.valuelen = value_len;
    nv.flags = NGHTTP2_NV_FLAG_NONE;
    return nv;
}

static int name_is(const uint8_t *name, size_t len, const char *want)
{
    size_t n = strlen(want);
    return len == n && memcmp(name, want, n) == 0;
}

/* application/grpc, application/grpc+proto, either with ";parameters". */
static int is_grpc_content_type(const uint8_t *v, size_t len)
{
    static const char base[] = "application/grpc";
    static const char proto[] = "+proto";
    size_t n = sizeof(base) - 1, p = sizeof(proto) - 1;
    if (len < n || strncasecmp((const char *)v, base, n) != 0) {
        return 0;
    }
    v += n;
    len -= n;
    if (len >= p && strncasecmp((const char *)v, proto, p) == 0) {
        v += p;
        len -= p;
    }
    return len == 0 || v[0] == ';';
}

static enum msg_encoding parse_encoding(const uint8_t *v, size_t len)
{
    if (len == 0 || (len == 8 && strncasecmp((const char *)v, "identity", 8) == 0)) {
        return ENC_IDENTITY;
    }
    if (len == 4 && strncasecmp((const char *)v, "gzip", 4) == 0) {
        return ENC_GZIP;
    }
    if (len == 7 && strncasecmp((const char *)v, "deflate", 7) == 0) {
        return ENC_DEFLATE;
    }
    if (len == 4 && strncasecmp((const char *)v, "zstd", 4) == 0) {
        return ENC_ZSTD;
    }
    if (len == 6 && strncasecmp((const char *)v, "snappy", 6) == 0) {
        return ENC_SNAPPY;
    }
    return ENC_OTHER;
}

/* ---- streams --------------------------------------------------------------------------------- */

/* Gives the call's reservation back to the server's budget. */
static void stream_release(struct grpc_stream *st)
{
    struct ag_grpc_server *srv = st->conn->srv;
    srv->buffered -= st->reserved;
    st->reserved = 0;
}

static void stream_free(struct grpc_stream *st)
{
    if (st == NULL) {
        return;
    }
    stream_release(st);
    if (st->timer != NULL) {
        event_free(st->timer);
    }
    ag_grpc_frame_free(st->dec);
    ag_buf_cleanup(&st->resp);
    ag_free(st);
}

static void stream_unlink(struct grpc_stream *st)
{
    struct grpc_conn *c = st->conn;
    if (st->prev != NULL) {
        st->prev->next = st->next;
    } else {
        c->streams = st->next;
    }
    if (st->next != NULL) {
        st->next->prev = st->prev;
    }
    st->prev = st->next = NULL;
}

/* The call is answered: its buffers and timer are no longer needed. */
static void stream_settle(struct grpc_stream *st, int code)
{
    struct ag_grpc_counters *k = &st->conn->srv->counters;
    st->answered = 1;
    k->calls++;
    if (code >= 0 && code < AG_GRPC_CODES) {
        k->calls_by_code[code]++;
    }
    ag_grpc_frame_free(st->dec);
    st->dec = NULL;
    stream_release(st);
    if (st->timer != NULL) {
        event_free(st->timer);
        st->timer = NULL;
    }
}

/*
 * Answers trailers-only: one HEADERS frame with END_STREAM carrying :status, content-type,
 * grpc-status, grpc-message and, for a RetryInfo, grpc-status-details-bin.
 */
static void answer_status(struct grpc_stream *st, int http_status, int code, const char *message,
                          uint32_t retry_after_s, int accept_encoding)
{
    struct grpc_conn *c = st->conn;
    char status_str[8], code_str[8];
    struct ag_buf msg, pb, b64;
    nghttp2_nv nva[7];
    size_t n = 0;

    if (st->answered) {
        return;
    }
    ag_buf_init(&msg, MESSAGE_CAP);
    ag_buf_init(&pb, STATUS_CAP);
    ag_buf_init(&b64, DETAILS_CAP);
    snprintf(status_str, sizeof(status_str), "%d", http_status);
    snprintf(code_str, sizeof(code_str), "%d", code);
    nva[n++] = make_nv(":status", status_str, strlen(status_str));
    nva[n++] = make_nv("content-type", "application/grpc", 16);
    nva[n++] = make_nv("grpc-status", code_str, strlen(code_str));
    if (message != NULL && message[0] != '\0' && ag_grpc_frame_percent_encode(message, &msg) == 0) {
        nva[n++] = make_nv("grpc-message", ag_buf_str(&msg), msg.len);
    }
    /* Details only when there are some, as grpc-go: a bare Status repeats grpc-status. */
    if (retry_after_s > 0 &&
        ag_otlp_status_encode(AG_OTLP_PROTOBUF, code, message, retry_after_s, &pb) == 0 &&
        ag_grpc_frame_base64(ag_buf_ptr(&pb), pb.len, &b64) == 0) {
        nva[n++] = make_nv("grpc-status-details-bin", ag_buf_str(&b64), b64.len);
    }
    if (accept_encoding) {
        static const char accept[] = "identity,deflate,gzip,zstd,snappy";
        nva[n++] = make_nv("grpc-accept-encoding", accept, sizeof(accept) - 1);
    }
    if (nghttp2_submit_response(c->h2, st->id, nva, n, NULL) != 0) {
        ag_log_debug(WHO, "stream %d: cannot submit the answer", (int)st->id);
    }
    stream_settle(st, code);
    ag_buf_cleanup(&msg);
    ag_buf_cleanup(&pb);
    ag_buf_cleanup(&b64);
}

static ssize_t response_read(nghttp2_session *h2, int32_t stream_id, uint8_t *buf, size_t length,
                             uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    struct grpc_stream *st = source->ptr;
    size_t left = st->resp.len - st->resp_off;
    size_t n = left < length ? left : length;
    (void)user_data;
    if (n > 0) {
        memcpy(buf, ag_buf_ptr(&st->resp) + st->resp_off, n);
        st->resp_off += n;
    }
    if (st->resp_off == st->resp.len) {
        nghttp2_nv trailer = make_nv("grpc-status", "0", 1);
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        if (nghttp2_submit_trailer(h2, stream_id, &trailer, 1) != 0) {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
    }
    return (ssize_t)n;
}

/* Answers OK: HEADERS, DATA with the length-prefixed Export*ServiceResponse, trailers. */
static void answer_ok(struct grpc_stream *st, const struct ag_otlp_result *res)
{
    uint8_t prefix[AG_GRPC_FRAME_PREFIX];
    struct ag_buf body;
    nghttp2_nv nva[2];
    nghttp2_data_provider prd;
    int rc;

    ag_buf_init(&body, RESPONSE_CAP - AG_GRPC_FRAME_PREFIX);
    ag_buf_init(&st->resp, RESPONSE_CAP);
    rc = ag_otlp_response_encode((enum ag_signal)st->signal, AG_OTLP_PROTOBUF, res, &body);
    if (rc == 0) {
        ag_grpc_frame_prefix(prefix, AG_GRPC_FRAME_PLAIN, (uint32_t)body.len);
        rc = ag_buf_add(&st->resp, prefix, sizeof(prefix));
    }
    if (rc == 0 && body.len > 0) {
        rc = ag_buf_add(&st->resp, ag_buf_ptr(&body), body.len);
    }
    ag_buf_cleanup(&body);
    if (rc != 0) {
        ag_buf_cleanup(&st->resp);
        answer_status(st, 200, AG_GRPC_INTERNAL, "cannot encode the response", 0, 0);
        return;
    }
    st->resp_off = 0;
    nva[0] = make_nv(":status", "200", 3);
    nva[1] = make_nv("content-type", "application/grpc", 16);
    prd.source.ptr = st;
    prd.read_callback = response_read;
    if (nghttp2_submit_response(st->conn->h2, st->id, nva, 2, &prd) != 0) {
        ag_log_debug(WHO, "stream %d: cannot submit the answer", (int)st->id);
    }
    stream_settle(st, AG_GRPC_OK);
}

/* The prefix or the bytes of the message broke a rule: answer now, ignore what follows. */
static void answer_frame_error(struct grpc_stream *st, int err)
{
    char text[160];
    const struct ag_grpc_options *o = &st->conn->srv->opts;
    switch (err) {
    case AG_ETOOBIG:
        snprintf(text, sizeof(text), "request message of %zu bytes is over the limit of %llu",
                 ag_grpc_frame_announced(st->dec), (unsigned long long)o->max_recv_msg_size);
        answer_status(st, 200, AG_GRPC_RESOURCE_EXHAUSTED, text, 0, 0);
        break;
    case AG_EPROTO:
        answer_status(st, 200, AG_GRPC_INTERNAL, "invalid message flag byte (neither 0 nor 1)", 0,
                      0);
        break;
    default:
        answer_status(st, 200, AG_GRPC_INTERNAL, ag_strerror(err), 0, 0);
        break;
    }
}

/* The request's headers are complete: refuse what cannot be served before any DATA arrives. */
static void headers_done(struct grpc_stream *st)
{
    struct ag_grpc_server *srv = st->conn->srv;
    if (st->too_big) {
        answer_status(st, 200, AG_GRPC_RESOURCE_EXHAUSTED, "request header list too large", 0, 0);
        return;
    }
    if (!st->grpc_ctype) {
        answer_status(st, 415, AG_GRPC_INVALID_ARGUMENT,
                      "invalid gRPC request content-type (want application/grpc)", 0, 0);
        return;
    }
    if (st->bad_timeout) {
        answer_status(st, 400, AG_GRPC_INTERNAL, "malformed grpc-timeout", 0, 0);
        return;
    }
    if (!st->post) {
        answer_status(st, 405, AG_GRPC_INTERNAL, "gRPC requires :method POST", 0, 0);
        return;
    }
    if (st->signal < 0) {
        answer_status(st, 200, AG_GRPC_UNIMPLEMENTED, "unknown method", 0, 0);
        return;
    }
    st->dec = ag_grpc_frame_new((size_t)srv->opts.max_recv_msg_size);
    if (st->dec == NULL) {
        answer_status(st, 200, AG_GRPC_INTERNAL, "out of memory", 0, 0);
        return;
    }
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg);
static void conn_settle(struct grpc_conn *c);

static void arm_deadline(struct grpc_stream *st, uint64_t timeout_ns)
{
    struct grpc_conn *c = st->conn;
    uint64_t now = ag_time_mono_ns();
    st->has_deadline = 1;
    st->deadline_ns = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    if (timeout_ns > MAX_TIMER_NS) {
        return;
    }
    st->timer = evtimer_new(c->srv->base, deadline_cb, st);
    if (st->timer != NULL) {
        struct timeval tv = ns_to_tv(timeout_ns);
        if (evtimer_add(st->timer, &tv) != 0) {
            event_free(st->timer);
            st->timer = NULL;
        }
    }
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct grpc_stream *st = arg;
    struct grpc_conn *c = st->conn;
    (void)fd;
    (void)what;
    /* stream_settle() frees the timer this callback runs for: libevent allows that. */
    answer_status(st, 200, AG_GRPC_DEADLINE_EXCEEDED, "deadline exceeded before the request ended",
                  0, 0);
    conn_settle(c);
}

/* The client ended the request: decompress, hand to the sink, answer. */
static void request_done(struct grpc_stream *st)
{
    struct ag_grpc_server *srv = st->conn->srv;
    const uint8_t *msg = NULL;
    size_t len = 0;
    int flag = 0, rc;
    struct ag_buf plain;
    struct ag_otlp_result res;

    if (st->answered) {
        return;
    }
    if (st->has_deadline && ag_time_mono_ns() >= st->deadline_ns) {
        answer_status(st, 200, AG_GRPC_DEADLINE_EXCEEDED,
                      "deadline exceeded before the request ended", 0, 0);
        return;
    }
    if (ag_grpc_frame_end(st->dec) != 0) {
        answer_status(st, 200, AG_GRPC_INTERNAL, "request ended inside a message", 0, 0);
        return;
    }
    if (ag_grpc_frame_next(st->dec, &msg, &len, &flag) != 0) {
        answer_status(st, 200, AG_GRPC_INTERNAL,
                      "cardinality violation: received no request message", 0, 0);
        return;
    }
    ag_buf_init(&plain, (size_t)srv->opts.max_recv_msg_size);
    if (flag == AG_GRPC_FRAME_COMPRESSED) {
        if (st->enc == ENC_IDENTITY) {
            answer_status(st, 200, AG_GRPC_INTERNAL,
                          "compressed flag set with identity or empty grpc-encoding", 0, 0);
            return;
        }
        if (st->enc == ENC_OTHER) {
            answer_status(st, 200, AG_GRPC_UNIMPLEMENTED,
                          "unsupported grpc-encoding (supported: gzip, deflate, zstd, snappy)", 0,
                          1);
            return;
        }
        /* gRPC's "deflate" is zlib data; ag_zip's deflate takes zlib or raw. */
        static const enum ag_zip_format fmts[] = {
            [ENC_GZIP] = AG_ZIP_GZIP,
            [ENC_DEFLATE] = AG_ZIP_DEFLATE,
            [ENC_ZSTD] = AG_ZIP_ZSTD,
            [ENC_SNAPPY] = AG_ZIP_SNAPPY_FRAMED,
        };
        rc = ag_zip_inflate(fmts[st->enc], msg, len, &plain);
        if (rc != 0) {
            char text[128];
            ag_buf_cleanup(&plain);
            if (rc == AG_ETOOBIG) {
                snprintf(text, sizeof(text), "decompressed message is over the limit of %llu",
                         (unsigned long long)srv->opts.max_recv_msg_size);
                answer_status(st, 200, AG_GRPC_RESOURCE_EXHAUSTED, text, 0, 0);
            } else if (rc == AG_EPROTO) {
                answer_status(st, 200, AG_GRPC_INTERNAL, "failed to decompress the request message",
                              0, 0);
            } else {
                answer_status(st, 200, AG_GRPC_INTERNAL, ag_strerror(rc), 0, 0);
            }
            return;
        }
        msg = ag_buf_ptr(&plain) != NULL ? ag_buf_ptr(&plain) : msg;
        len = plain.len;
    }
    memset(&res, 0, sizeof(res));
    res.status = AG_OTLP_OK;
    srv->counters.bytes_ingested += len;
    srv->sink.ingest(srv->sink.ctx, (enum ag_signal)st->signal, AG_OTLP_PROTOBUF, msg, len, &res);
    ag_buf_cleanup(&plain);
    res.message[sizeof(res.message) - 1] = '\0';
    if (res.status == AG_OTLP_OK) {
        answer_ok(st, &res);
        return;
    }
    answer_status(st, 200, ag_otlp_status_grpc(res.status), res.message,
                  res.status == AG_OTLP_UNAVAILABLE ? res.retry_after_s : 0, 0);
}

/* ---- nghttp2 callbacks ----------------------------------------------------------------------- */

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *user_data)
{
    struct grpc_conn *c = user_data;
    struct grpc_stream *st;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    st = ag_calloc(1, sizeof(*st));
    if (st == NULL) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM for this stream only */
    }
    st->conn = c;
    st->id = frame->hd.stream_id;
    st->signal = -1;
    ag_buf_init(&st->resp, 0);
    if (nghttp2_session_set_stream_user_data(h2, st->id, st) != 0) {
        ag_free(st);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    st->next = c->streams;
    if (c->streams != NULL) {
        c->streams->prev = st;
    } else if (c->idle_timer != NULL) {
        evtimer_del(c->idle_timer); /* no longer idle */
    }
    c->streams = st;
    return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    struct grpc_conn *c = user_data;
    struct grpc_stream *st;
    (void)flags;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0; /* trailers from the client carry nothing we use */
    }
    st = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    if (st == NULL || st->too_big) {
        return 0;
    }
    /* RFC 9113 6.5.2 counts 32 bytes of overhead per field. */
    st->header_bytes += namelen + valuelen + 32;
    if (st->header_bytes > c->srv->opts.max_header_list_size) {
        st->too_big = 1;
        return 0;
    }
    if (name_is(name, namelen, ":method")) {
        st->post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
    } else if (name_is(name, namelen, ":path")) {
        st->signal = -1;
        for (int i = 0; i < AG_SIGNAL_COUNT; i++) {
            if (name_is(value, valuelen, signal_paths[i])) {
                st->signal = i;
            }
        }
    } else if (name_is(name, namelen, "content-type")) {
        st->grpc_ctype = is_grpc_content_type(value, valuelen);
    } else if (name_is(name, namelen, "grpc-encoding")) {
        st->enc = parse_encoding(value, valuelen);
    } else if (name_is(name, namelen, "grpc-timeout")) {
        uint64_t ns;
        if (ag_grpc_frame_timeout_parse((const char *)value, valuelen, &ns) != 0) {
            st->bad_timeout = 1;
        } else {
            st->has_deadline = 1;
            st->deadline_ns = ns; /* relative until headers_done() arms it */
        }
    }
    return 0;
}

static int conn_on_ping(struct grpc_conn *c, const nghttp2_frame *frame);

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user_data)
{
    struct grpc_stream *st;
    if (frame->hd.type == NGHTTP2_PING) {
        return conn_on_ping(user_data, frame);
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
        return 0;
    }
    st = nghttp2_session_get_stream_user_data(h2, frame->hd.stream_id);
    if (st == NULL) {
        return 0;
    }
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (st->has_deadline) {
            uint64_t timeout = st->deadline_ns;
            st->has_deadline = 0;
            arm_deadline(st, timeout);
        }
        headers_done(st);
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        request_done(st);
    }
    return 0;
}

/*
 * The message's length prefix is complete: reserve its announced length from the server's
 * budget, or refuse the call at once (the body is then never buffered). Returns 1 when the call
 * may go on.
 */
static int stream_reserve(struct grpc_stream *st)
{
    struct ag_grpc_server *srv = st->conn->srv;
    uint64_t want = ag_grpc_frame_announced(st->dec);
    if (want > srv->opts.max_buffered_bytes - srv->buffered) {
        /* Load, not a bad request: UNAVAILABLE with a RetryInfo is what OTLP clients retry. */
        srv->counters.refused_budget++;
        answer_status(st, 200, AG_GRPC_UNAVAILABLE,
                      "the server is buffering too many requests; retry later", BUDGET_RETRY_S, 0);
        return 0;
    }
    srv->buffered += want;
    st->reserved += want;
    return 1;
}

/* Hands a DATA payload to the call's decoder, stopping after each length prefix to reserve. */
static void stream_feed(struct grpc_stream *st, const uint8_t *data, size_t len)
{
    while (len > 0 && !st->answered) {
        /* A unary call carries one message: any byte after it starts a second one. grpc-go
         * answers that INTERNAL ("cardinality violation") without running the handler; so do
         * we. */
        if (ag_grpc_frame_count(st->dec) > 0) {
            answer_status(st, 200, AG_GRPC_INTERNAL,
                          "cardinality violation: received multiple request messages", 0, 0);
            return;
        }
        size_t left = ag_grpc_frame_prefix_left(st->dec);
        size_t n = left > 0 && left < len ? left : len;
        ssize_t used = ag_grpc_frame_feed(st->dec, data, n);
        if (used < 0) {
            answer_frame_error(st, (int)used);
            return;
        }
        if (left > 0 && ag_grpc_frame_prefix_left(st->dec) == 0 && !stream_reserve(st)) {
            return;
        }
        if (used == 0) {
            return; /* cannot happen with len > 0 and no message held; never spin */
        }
        data += used;
        len -= (size_t)used;
    }
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data)
{
    struct grpc_conn *c = user_data;
    struct grpc_stream *st = nghttp2_session_get_stream_user_data(h2, stream_id);
    (void)flags;
    c->srv->counters.bytes_received += len;
    if (st == NULL || st->answered || st->dec == NULL) {
        return 0;
    }
    stream_feed(st, data, len);
    return 0;
}

static void conn_arm_idle(struct grpc_conn *c);

static int on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    struct grpc_conn *c = user_data;
    struct grpc_stream *st = nghttp2_session_get_stream_user_data(h2, stream_id);
    (void)error_code;
    if (st != NULL) {
        stream_unlink(st);
        stream_free(st);
        if (c->streams == NULL) {
            conn_arm_idle(c);
        }
    }
    return 0;
}

static int on_frame_send(nghttp2_session *h2, const nghttp2_frame *frame, void *user_data)
{
    struct grpc_conn *c = user_data;
    if (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) {
        c->reset_strikes = 1; /* the client's next PING may be a BDP probe answering these */
    }
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
        frame->goaway.error_code != NGHTTP2_ENHANCE_YOUR_CALM && !c->proto_error) {
        c->proto_error = 1;
        c->srv->counters.conns_protocol_error++;
        return 0;
    }
    /* Our answer is complete while the client is still sending: tell it to stop, without an
     * error (RFC 9113 8.1), as grpc-go does. */
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        nghttp2_session_get_stream_remote_close(h2, frame->hd.stream_id) == 0) {
        (void)nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                        NGHTTP2_NO_ERROR);
    }
    return 0;
}

/* ---- connections ----------------------------------------------------------------------------- */

static void conn_free_timers(struct grpc_conn *c)
{
    struct event *timers[] = {c->idle_timer, c->age_timer, c->ka_timer};
    for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
        if (timers[i] != NULL) {
            event_free(timers[i]);
        }
    }
}

static void conn_close(struct grpc_conn *c)
{
    struct ag_grpc_server *srv = c->srv;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    srv->nconns--;
    conn_free_timers(c);
    /* nghttp2_session_del() does not call on_stream_close: free what is left here. */
    nghttp2_session_del(c->h2);
    while (c->streams != NULL) {
        struct grpc_stream *st = c->streams;
        stream_unlink(st);
        stream_free(st);
    }
    bufferevent_free(c->bev);
    ag_free(c);
}

/* Moves what nghttp2 wants to send into the socket's buffer, up to max_output_buffer. */
static int conn_flush(struct grpc_conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t cap = (size_t)c->srv->opts.max_output_buffer;
    while (evbuffer_get_length(out) < cap) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->h2, &data);
        if (n < 0) {
            return (int)n;
        }
        if (n == 0) {
            break;
        }
        if (evbuffer_add(out, data, (size_t)n) != 0) {
            return NGHTTP2_ERR_NOMEM;
        }
    }
    /* A peer that does not read its answers stops being read: what it could make us queue
     * stays bounded by the output cap plus nghttp2's own limits. */
    if (evbuffer_get_length(out) >= cap) {
        if (!c->read_paused) {
            c->read_paused = 1;
            bufferevent_disable(c->bev, EV_READ);
        }
    } else if (c->read_paused && !c->closing) {
        c->read_paused = 0;
        bufferevent_enable(c->bev, EV_READ);
    }
    return 0;
}

/* After any event: flush, then close when both sides are done. May free |c|. */
static void conn_settle(struct grpc_conn *c)
{
    if (conn_flush(c) != 0) {
        conn_close(c);
        return;
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
        c->closing = 1;
    }
    if (c->closing) {
        bufferevent_disable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
            conn_close(c);
        }
    }
}

/* Ends the session with a GOAWAY carrying |code|, then closes once it is written. */
static void conn_terminate(struct grpc_conn *c, uint32_t code)
{
    (void)nghttp2_session_terminate_session(c->h2, code);
    c->closing = 1;
}

/* The connection has just become idle (no open stream): start counting max_connection_idle. */
static void conn_arm_idle(struct grpc_conn *c)
{
    if (c->idle_timer != NULL) {
        struct timeval tv = ns_to_tv(c->srv->opts.max_connection_idle);
        (void)evtimer_add(c->idle_timer, &tv);
    }
}

/* max_connection_idle passed without a stream: say goodbye as grpc-go does (GOAWAY NO_ERROR,
 * naming the last stream processed so a request crossing it is retried), then close. */
static void conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
    struct grpc_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->streams != NULL || c->closing) {
        return;
    }
    c->srv->counters.conns_idle_closed++;
    if (!c->handshake_done) {
        conn_close(c);
        return;
    }
    conn_terminate(c, NGHTTP2_NO_ERROR);
    conn_settle(c);
}

static void timer_in(struct event *ev, uint64_t ns)
{
    struct timeval tv = ns_to_tv(ns < MAX_TIMER_NS ? ns : MAX_TIMER_NS);
    (void)evtimer_add(ev, &tv);
}

/* The drain's last word: no stream after the last one processed will be. */
static void conn_final_goaway(struct grpc_conn *c)
{
    c->age_phase = 2;
    (void)nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                                nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR,
                                NULL, 0);
}

/* Arms the age timer for the drain's next step: the final GOAWAY if the ACK is late, the grace's
 * end. */
static void conn_age_arm(struct grpc_conn *c)
{
    uint64_t grace = c->srv->opts.max_connection_age_grace, at = UINT64_MAX;
    if (c->age_phase == 1) {
        at = c->drain_ns + DRAIN_ACK_WAIT_NS;
    }
    if (grace > 0 && c->drain_ns + grace < at) {
        at = c->drain_ns + grace;
    }
    if (at != UINT64_MAX) {
        uint64_t now = ag_time_mono_ns();
        timer_in(c->age_timer, at > now ? at - now : 0);
    }
}

/* max_connection_age: drain (GOAWAY with the last stream id 2^31 - 1, then a PING whose ACK
 * brings the final GOAWAY), and at max_connection_age_grace close whatever is still open. */
static void conn_age_cb(evutil_socket_t fd, short what, void *arg)
{
    struct grpc_conn *c = arg;
    const struct ag_grpc_options *o = &c->srv->opts;
    uint64_t now = ag_time_mono_ns();
    (void)fd;
    (void)what;
    if (c->closing || c->srv->draining) {
        return; /* otterd's shutdown drains the connection its own way */
    }
    if (c->age_phase == 0) {
        c->srv->counters.conns_aged++;
        if (!c->handshake_done) {
            conn_close(c);
            return;
        }
        c->age_phase = 1;
        c->drain_ns = now;
        if (nghttp2_submit_shutdown_notice(c->h2) != 0 ||
            nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, AGE_PING) != 0) {
            conn_final_goaway(c);
        }
    } else if (o->max_connection_age_grace > 0 &&
               now - c->drain_ns >= o->max_connection_age_grace) {
        c->srv->counters.conns_age_forced++;
        ag_log_debug(WHO, "closing a connection: max_connection_age_grace passed with calls open");
        conn_close(c);
        return;
    } else if (c->age_phase == 1) {
        conn_final_goaway(c); /* the client never answered the PING */
    }
    conn_age_arm(c);
    conn_settle(c);
}

/* keepalive_time without reading: PING; keepalive_timeout more without reading: close. */
static void conn_ka_cb(evutil_socket_t fd, short what, void *arg)
{
    struct grpc_conn *c = arg;
    const struct ag_grpc_options *o = &c->srv->opts;
    uint64_t now = ag_time_mono_ns();
    (void)fd;
    (void)what;
    if (c->closing) {
        return;
    }
    if (c->last_read_ns != c->ka_seen_ns) {
        uint64_t at = c->last_read_ns + o->keepalive_time;
        c->ka_seen_ns = c->last_read_ns;
        c->ka_ping_out = 0;
        timer_in(c->ka_timer, at > now ? at - now : 0);
        return;
    }
    if (c->ka_ping_out) {
        c->srv->counters.conns_keepalive_closed++;
        ag_log_debug(WHO, "closing a connection: the keepalive PING got no answer");
        conn_close(c);
        return;
    }
    if (c->handshake_done && nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, KEEPALIVE_PING) == 0) {
        c->ka_ping_out = 1;
        timer_in(c->ka_timer, o->keepalive_timeout);
        conn_settle(c);
        return;
    }
    timer_in(c->ka_timer, o->keepalive_time);
}

/* A PING from the client: its ACK ends a drain's first step; a PING is held to the enforcement
 * policy. Returns 0 (nghttp2 answers PINGs itself). */
static int conn_on_ping(struct grpc_conn *c, const nghttp2_frame *frame)
{
    const struct ag_grpc_options *o = &c->srv->opts;
    if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
        if (c->age_phase == 1 && memcmp(frame->ping.opaque_data, AGE_PING, 8) == 0) {
            conn_final_goaway(c);
            conn_age_arm(c);
        }
        return 0;
    }
    uint64_t now = ag_time_mono_ns(), last = c->last_ping_ns;
    c->last_ping_ns = now != 0 ? now : 1;
    if (c->reset_strikes) {
        c->reset_strikes = 0;
        c->ping_strikes = 0;
        return 0;
    }
    uint64_t min =
        c->streams == NULL && !o->permit_without_stream ? NO_STREAM_PING_NS : o->ping_min_time;
    if (last != 0 && now - last < min) {
        c->ping_strikes++;
    }
    if (c->ping_strikes > MAX_PING_STRIKES && !c->closing) {
        static const char calm[] = "too_many_pings";
        c->srv->counters.conns_too_many_pings++;
        ag_log_debug(WHO, "closing a connection: too many PINGs (keepalive enforcement_policy)");
        (void)nghttp2_submit_goaway(
            c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
            NGHTTP2_ENHANCE_YOUR_CALM, (const uint8_t *)calm, sizeof(calm) - 1);
        c->closing = 1;
    }
    return 0;
}

/* Feeds |len| bytes from the client to nghttp2; false when the session ended on them. */
static bool conn_recv(struct grpc_conn *c, const uint8_t *data, size_t len)
{
    ssize_t n = data != NULL ? nghttp2_session_mem_recv(c->h2, data, len) : NGHTTP2_ERR_NOMEM;
    if (n >= 0) {
        return true;
    }
    /* A bad preface, a flood, a failed callback: nghttp2 stops here. */
    ag_log_debug(WHO, "closing a connection: %s", nghttp2_strerror((int)n));
    if (!c->proto_error) {
        c->proto_error = 1;
        c->srv->counters.conns_protocol_error++;
    }
    conn_terminate(c, NGHTTP2_PROTOCOL_ERROR);
    return false;
}

/*
 * libevent 2.1 reads at most 4096 bytes per read callback (EVBUFFER_MAX_READ), each read a
 * wakeup, an ioctl and a readv; a request of 100 spans is ~45 kB. So an h2c connection whose
 * read filled that much takes the rest the socket holds here, straight into nghttp2, up to
 * READ_CHUNKS chunks per callback so that other connections get their turn. A short read means
 * the socket is empty; EOF and errors are left to the bufferevent's next read, which reports
 * them. The output cap (conn_flush) is checked after every chunk, as between callbacks.
 */
#define READ_CHUNK  65536
#define READ_CHUNKS 4

static void conn_read_more(struct grpc_conn *c)
{
    struct ag_grpc_server *srv = c->srv;
    if (srv->rbuf == NULL && (srv->rbuf = ag_malloc(READ_CHUNK)) == NULL) {
        return; /* the bufferevent reads on, 4 kB at a time */
    }
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    for (int i = 0; i < READ_CHUNKS && !c->closing && !c->read_paused; i++) {
        ssize_t got = recv(fd, srv->rbuf, READ_CHUNK, MSG_DONTWAIT);
        if (got <= 0 || !conn_recv(c, srv->rbuf, (size_t)got) || conn_flush(c) != 0 ||
            got < READ_CHUNK) {
            return;
        }
    }
}

static void conn_readcb(struct bufferevent *bev, void *arg)
{
    struct grpc_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    if (c->closing || len == 0) {
        evbuffer_drain(in, len);
        conn_settle(c);
        return;
    }
    c->last_read_ns = ag_time_mono_ns();
    bool ok = conn_recv(c, evbuffer_pullup(in, -1), len);
    evbuffer_drain(in, len);
    if (ok && !c->tls && len >= 4096 && conn_flush(c) == 0) {
        conn_read_more(c);
    }
    conn_settle(c);
}

static void conn_writecb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_settle(arg);
}

static void conn_eventcb(struct bufferevent *bev, short events, void *arg)
{
    struct grpc_conn *c = arg;
    if (events & BEV_EVENT_CONNECTED) {
        /* TLS handshake done. No ALPN is fine (prior knowledge); another protocol is not. */
        const unsigned char *proto = NULL;
        unsigned int plen = 0;
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        c->handshake_done = 1;
        if (ssl != NULL) {
            SSL_get0_alpn_selected(ssl, &proto, &plen);
        }
        if (plen != 0 && !(plen == 2 && memcmp(proto, "h2", 2) == 0)) {
            ag_log_debug(WHO, "closing a TLS connection that did not negotiate h2");
            conn_close(c);
            return;
        }
        conn_settle(c);
        return;
    }
    if (events & BEV_EVENT_TIMEOUT) {
        c->srv->counters.conns_idle_closed++;
        /* Idle while reading: say goodbye (GOAWAY NO_ERROR) if the peer can hear it; stuck
         * while writing, or still in the TLS handshake: just close. */
        if ((events & BEV_EVENT_WRITING) || !c->handshake_done || c->closing) {
            conn_close(c);
            return;
        }
        conn_terminate(c, NGHTTP2_NO_ERROR);
        conn_settle(c);
        return;
    }
    /* EOF or a socket error: nothing more can be said to this peer. */
    conn_close(c);
}

/* max_connection_age ± 10 %, as grpc-go: connections made together do not all go at once. */
static uint64_t age_with_jitter(struct ag_grpc_server *srv)
{
    uint64_t age = srv->opts.max_connection_age, span = age / 5;
    srv->rng ^= srv->rng << 13;
    srv->rng ^= srv->rng >> 7;
    srv->rng ^= srv->rng << 17;
    return span == 0 ? age : age - age / 10 + srv->rng % (span + 1);
}

static int conn_start(struct ag_grpc_server *srv, struct bufferevent *bev)
{
    struct grpc_conn *c = NULL;
    nghttp2_session *h2 = NULL;
    nghttp2_settings_entry iv[3];
    struct timeval tv;
    int rc = AG_ENOMEM;

    c = ag_calloc(1, sizeof(*c));
    if (c == NULL || nghttp2_session_server_new3(&h2, srv->cbs, c, srv->h2opt, &srv->mem) != 0) {
        goto out;
    }
    iv[0].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
    iv[0].value = srv->opts.max_concurrent_streams;
    iv[1].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
    iv[1].value = srv->opts.max_header_list_size;
    iv[2].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
    iv[2].value = STREAM_WINDOW;
    if (nghttp2_submit_settings(h2, NGHTTP2_FLAG_NONE, iv, 3) != 0 ||
        nghttp2_session_set_local_window_size(h2, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW) != 0) {
        goto out;
    }
    if ((srv->opts.max_connection_idle > 0 &&
         (c->idle_timer = evtimer_new(srv->base, conn_idle_cb, c)) == NULL) ||
        (srv->opts.max_connection_age > 0 &&
         (c->age_timer = evtimer_new(srv->base, conn_age_cb, c)) == NULL) ||
        (c->ka_timer = evtimer_new(srv->base, conn_ka_cb, c)) == NULL) {
        goto out;
    }
    c->srv = srv;
    c->bev = bev;
    c->h2 = h2;
    c->tls = bufferevent_openssl_get_ssl(bev) != NULL;
    c->handshake_done = !c->tls;
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
    srv->nconns++;
    srv->counters.conns_accepted++;
    tv = ns_to_tv(srv->opts.idle_timeout);
    bufferevent_setcb(bev, conn_readcb, conn_writecb, conn_eventcb, c);
    bufferevent_set_timeouts(bev, &tv, &tv);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    conn_arm_idle(c); /* a new connection has no stream yet */
    c->last_read_ns = c->ka_seen_ns = ag_time_mono_ns();
    timer_in(c->ka_timer, srv->opts.keepalive_time);
    if (c->age_timer != NULL) {
        timer_in(c->age_timer, age_with_jitter(srv));
    }
    conn_settle(c);   /* queues our SETTINGS; a TLS bufferevent holds them until the handshake */
    return 0;
out:
    if (c != NULL) {
        conn_free_timers(c);
    }
    nghttp2_session_del(h2);
    bufferevent_free(bev);
    ag_free(c);
    return rc;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct ag_grpc_server *srv = arg;
    struct bufferevent *bev;
    int one = 1;
    (void)l;
    (void)sa;
    (void)salen;
    if (srv->draining || srv->nconns >= srv->opts.max_connections) {
        srv->counters.conns_refused++;
        evutil_closesocket(fd);
        return;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (srv->tls != NULL) {
        SSL *ssl = SSL_new(srv->tls);
        if (ssl == NULL) {
            evutil_closesocket(fd);
            return;
        }
        bev = bufferevent_openssl_socket_new(srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
            SSL_free(ssl);
            evutil_closesocket(fd);
            return;
        }
    } else {
        bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
            evutil_closesocket(fd);
            return;
        }
    }
    if (conn_start(srv, bev) != 0) {
        ag_log_warn(WHO, "out of memory: dropped a new connection");
    }
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    (void)l;
    (void)arg;
    /* EMFILE and friends: the listener stays up and the next accept may succeed. */
    ag_log_warn(WHO, "accept failed: %s", evutil_socket_error_to_string(err));
}

/* ---- public API ------------------------------------------------------------------------------ */

void ag_grpc_options_init(struct ag_grpc_options *opts)
{
    opts->max_recv_msg_size = AG_GRPC_DEFAULT_MAX_RECV_MSG_SIZE;
    opts->max_concurrent_streams = AG_GRPC_DEFAULT_MAX_CONCURRENT_STREAMS;
    opts->idle_timeout = AG_GRPC_DEFAULT_IDLE_TIMEOUT;
    opts->max_connections = AG_GRPC_DEFAULT_MAX_CONNECTIONS;
    opts->max_output_buffer = AG_GRPC_DEFAULT_MAX_OUTPUT_BUFFER;
    opts->max_header_list_size = AG_GRPC_DEFAULT_MAX_HEADER_LIST_SIZE;
    opts->max_buffered_bytes = AG_GRPC_DEFAULT_MAX_BUFFERED_BYTES;
    opts->max_connection_idle = AG_GRPC_DEFAULT_MAX_CONNECTION_IDLE;
    opts->max_connection_age = 0;
    opts->max_connection_age_grace = 0;
    opts->keepalive_time = AG_GRPC_DEFAULT_KEEPALIVE_TIME;
    opts->keepalive_timeout = AG_GRPC_DEFAULT_KEEPALIVE_TIMEOUT;
    opts->ping_min_time = AG_GRPC_DEFAULT_PING_MIN_TIME;
    opts->permit_without_stream = 0;
}

struct ag_grpc_server *ag_grpc_server_new(struct event_base *base,
                                          const struct ag_grpc_options *opts,
                                          const struct ag_otlp_sink *sink)
{
    struct ag_grpc_options d;
    struct ag_grpc_server *srv;
    ag_grpc_options_init(&d);
    if (opts != NULL) {
        if (opts->max_recv_msg_size > UINT32_MAX) {
            return NULL; /* the length prefix has 32 bits */
        }
        d.max_recv_msg_size =
            opts->max_recv_msg_size ? opts->max_recv_msg_size : d.max_recv_msg_size;
        d.max_concurrent_streams =
            opts->max_concurrent_streams ? opts->max_concurrent_streams : d.max_concurrent_streams;
        d.idle_timeout = opts->idle_timeout ? opts->idle_timeout : d.idle_timeout;
        d.max_connections = opts->max_connections ? opts->max_connections : d.max_connections;
        d.max_output_buffer =
            opts->max_output_buffer ? opts->max_output_buffer : d.max_output_buffer;
        d.max_header_list_size =
            opts->max_header_list_size ? opts->max_header_list_size : d.max_header_list_size;
        d.max_buffered_bytes =
            opts->max_buffered_bytes ? opts->max_buffered_bytes : d.max_buffered_bytes;
        d.max_connection_idle = opts->max_connection_idle;
        d.max_connection_age = opts->max_connection_age;
        d.max_connection_age_grace = opts->max_connection_age_grace;
        d.keepalive_time = opts->keepalive_time ? opts->keepalive_time : d.keepalive_time;
        d.keepalive_timeout =
            opts->keepalive_timeout ? opts->keepalive_timeout : d.keepalive_timeout;
        d.ping_min_time = opts->ping_min_time ? opts->ping_min_time : d.ping_min_time;
        d.permit_without_stream = opts->permit_without_stream;
    }
    if (d.keepalive_time < AG_GRPC_MIN_KEEPALIVE_TIME) {
        d.keepalive_time = AG_GRPC_MIN_KEEPALIVE_TIME;
    }
    /* A budget smaller than one message would refuse the largest allowed messages forever,
     * each time with a RetryInfo inviting the client to try again. */
    if (d.max_buffered_bytes < d.max_recv_msg_size) {
        d.max_buffered_bytes = d.max_recv_msg_size;
    }
    if (base == NULL || sink == NULL || sink->ingest == NULL) {
        return NULL;
    }
    srv = ag_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        return NULL;
    }
    srv->base = base;
    srv->opts = d;
    if (getrandom(&srv->rng, sizeof(srv->rng), GRND_NONBLOCK) != (ssize_t)sizeof(srv->rng) ||
        srv->rng == 0) {
        srv->rng = ag_time_mono_ns() | 1;
    }
    srv->sink = *sink;
    srv->mem.mem_user_data = NULL;
    srv->mem.malloc = h2_malloc;
    srv->mem.free = h2_free;
    srv->mem.calloc = h2_calloc;
    srv->mem.realloc = h2_realloc;
    if (nghttp2_session_callbacks_new(&srv->cbs) != 0 || nghttp2_option_new(&srv->h2opt) != 0) {
        ag_grpc_server_free(srv);
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(srv->cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(srv->cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(srv->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(srv->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(srv->cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(srv->cbs, on_frame_send);
    nghttp2_option_set_max_outbound_ack(srv->h2opt, MAX_OUTBOUND_ACK);
    nghttp2_option_set_max_settings(srv->h2opt, MAX_SETTINGS);
    return srv;
}

int ag_grpc_server_listen(struct ag_grpc_server *srv, const char *host, int port, SSL_CTX *tls,
                          int *bound_port_out)
{
    struct sockaddr_storage addr;
    socklen_t addrlen = 0;

    if (srv->listened) {
        return AG_EINVAL;
    }
    int rc = ag_sockaddr_resolve(host, port, SOCK_STREAM, &addr, &addrlen);
    if (rc != 0) {
        return rc;
    }
    srv->listener =
        evconnlistener_new_bind(srv->base, accept_cb, srv,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                -1, (struct sockaddr *)&addr, (int)addrlen);
    if (srv->listener == NULL) {
        return AG_EIO;
    }
    evconnlistener_set_error_cb(srv->listener, accept_error_cb);
    srv->listened = 1;
    srv->tls = tls;
    if (bound_port_out != NULL) {
        *bound_port_out = ag_sockaddr_bound_port(evconnlistener_get_fd(srv->listener));
    }
    return 0;
}

int ag_grpc_server_adopt(struct ag_grpc_server *srv, struct bufferevent *bev)
{
    if (srv->draining || srv->nconns >= srv->opts.max_connections) {
        srv->counters.conns_refused++;
        bufferevent_free(bev);
        return AG_EAGAIN;
    }
    return conn_start(srv, bev);
}

void ag_grpc_server_stop_accepting(struct ag_grpc_server *srv)
{
    struct grpc_conn *c, *next;
    if (srv->listener != NULL) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    if (srv->draining) {
        return;
    }
    srv->draining = 1;
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        /* Streams up to the last one processed finish; later ones are refused, and gRPC clients
         * retry those on a new connection. Once no stream is left, nghttp2 wants neither to read
         * nor to write, and conn_settle() closes the connection. */
        conn_final_goaway(c);
        conn_settle(c);
    }
}

size_t ag_grpc_server_active(const struct ag_grpc_server *srv)
{
    return srv->nconns;
}

uint64_t ag_grpc_server_buffered(const struct ag_grpc_server *srv)
{
    return srv->buffered;
}

void ag_grpc_server_counters(const struct ag_grpc_server *srv, struct ag_grpc_counters *out)
{
    *out = srv->counters;
}

void ag_grpc_server_free(struct ag_grpc_server *srv)
{
    if (srv == NULL) {
        return;
    }
    if (srv->listener != NULL) {
        evconnlistener_free(srv->listener);
    }
    while (srv->conns != NULL) {
        conn_close(srv->conns);
    }
    if (srv->h2opt != NULL) {
        nghttp2_option_del(srv->h2opt);
    }
    if (srv->cbs != NULL) {
        nghttp2_session_callbacks_del(srv->cbs);
    }
    ag_free(srv->rbuf);
    ag_free(srv);
}
