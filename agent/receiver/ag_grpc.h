#ifndef AG_GRPC_H
#define AG_GRPC_H

#include <stddef.h>
#include <stdint.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "ag_err.h"
#include "ag_otlp.h"

/*
 * The OTLP/gRPC listener: HTTP/2 (nghttp2) on the caller's libevent loop, h2c with prior
 * knowledge or TLS with ALPN "h2". It serves the three unary Export methods, reassembles the one
 * length-prefixed request message of each call, inflates it (gzip or deflate, per the message's
 * flag byte) under the size cap, hands it to an ag_otlp_sink and answers with an
 * Export*ServiceResponse or a gRPC status. Status choices (grpc-go's where it has one):
 *
 *   unknown :path                              UNIMPLEMENTED (12), trailers-only
 *   :method other than POST                    HTTP 405 + INTERNAL (13), trailers-only
 *   content-type not application/grpc[+proto]  HTTP 415 + INVALID_ARGUMENT (3), trailers-only
 *   malformed grpc-timeout                     HTTP 400 + INTERNAL (13), trailers-only
 *   header list over max_header_list_size      RESOURCE_EXHAUSTED (8), trailers-only
 *   length prefix over max_recv_msg_size       RESOURCE_EXHAUSTED (8), at once, no RetryInfo
 *   length prefix over what is left of         UNAVAILABLE (14) + RetryInfo 1 s, at once
 *     max_buffered_bytes (server-wide)
 *   inflated message over max_recv_msg_size   RESOURCE_EXHAUSTED (8), no RetryInfo
 *   flag byte other than 0 or 1                INTERNAL (13)
 *   flag 1 without grpc-encoding (or identity) INTERNAL (13)
 *   flag 1 with an encoding other than gzip/deflate  UNIMPLEMENTED (12) + grpc-accept-encoding
 *   corrupt compressed message                 INTERNAL (13)
 *   no message, or a truncated one, at END_STREAM   INTERNAL (13)
 *   a second message in the call               INTERNAL (13), at once ("cardinality violation")
 *   grpc-timeout passed before the request ended  DEADLINE_EXCEEDED (4)
 *   sink result                                ag_otlp_status_grpc(): OK 0, INVALID 3,
 *                                              TOO_LARGE 8, UNAVAILABLE 14, INTERNAL 13
 *
 * A flag-0 message is taken as uncompressed whatever grpc-encoding says (gRPC C-core sends
 * that). Every answer made before the client finished its request is followed by RST_STREAM
 * NO_ERROR, which tells the client to stop sending (RFC 9113 8.1). grpc-status-details-bin (a
 * google.rpc.Status, base64 without padding) is sent only when the status has details, that is
 * UNAVAILABLE with a RetryInfo (retry_after_s > 0), as grpc-go does. An HTTP/2 protocol error
 * (a bad preface, a bad frame) gets a GOAWAY and closes that connection only.
 *
 * Memory: each call's message is buffered until it is complete. When its length prefix arrives
 * the announced length is reserved from one server-wide budget (max_buffered_bytes) before any
 * of its body is buffered, and released when the call is answered or its stream is reset or
 * closed; a call that does not fit is refused at once with UNAVAILABLE + RetryInfo (load, so
 * retryable) and no byte of its body is kept. Every DATA byte is consumed as nghttp2 parses it
 * (into a reserved buffer, or dropped), so HTTP/2 flow control (1 MiB per stream, 4 MiB per
 * connection) only paces the wire; a connection whose answers are not read stops being read.
 *
 * Connections: idle_timeout closes a connection that sends nothing at all for that long;
 * max_connection_idle (gRPC keepalive's server parameter, grpc-go semantics) closes one that
 * has had no open stream for that long, PINGs or not. Both send GOAWAY NO_ERROR first.
 *
 * The rest of gRPC keepalive, as grpc-go does it (the collector's server):
 *  - max_connection_age (± 10 % jitter) drains a connection: GOAWAY NO_ERROR with the last
 *    stream id 2^31 - 1 and a PING; when the PING's ACK comes back (one round trip: streams the
 *    client sent meanwhile are known), the final GOAWAY naming the last stream processed. Calls
 *    open then finish; max_connection_age_grace after the first GOAWAY the connection is closed
 *    whatever is still open (0 = never).
 *  - keepalive_time without a frame from the client: a PING; keepalive_timeout more without
 *    any frame (its ACK included): the connection is closed.
 *  - the enforcement policy: a client PING sooner than ping_min_time after the previous one
 *    (or, with no call open and !permit_without_stream, sooner than 2 h) is a strike; sending
 *    HEADERS or DATA clears them; the third strike gets GOAWAY ENHANCE_YOUR_CALM with the debug
 *    data "too_many_pings" (which gRPC clients act on by pinging less) and the connection closes.
 */

struct ag_grpc_server;

struct ag_grpc_options {
    uint64_t max_recv_msg_size;      /* bytes of one request message, as sent and inflated */
    uint32_t max_concurrent_streams; /* calls in flight per connection (HTTP/2 setting) */
    uint64_t idle_timeout;           /* ns: a connection that sends nothing this long is closed */
    uint32_t max_connections;        /* open connections; more are closed when accepted */
    uint64_t max_output_buffer;      /* bytes queued to one socket before reading pauses */
    uint32_t max_header_list_size;   /* bytes of a request's headers (name + value + 32 each) */
    uint64_t max_buffered_bytes;     /* bytes of request messages buffered at once, all
                                      * connections together; at least max_recv_msg_size */
    uint64_t max_connection_idle;    /* ns without an open stream before a connection is closed;
                                      * 0 = never */
    uint64_t max_connection_age;     /* ns from accept to the drain's GOAWAY; 0 = never */
    uint64_t max_connection_age_grace; /* ns from that GOAWAY to a forced close; 0 = never */
    uint64_t keepalive_time;           /* ns without a frame read before the server PINGs */
    uint64_t keepalive_timeout;        /* ns more without a frame before it closes */
    uint64_t ping_min_time;            /* enforcement: least ns between a client's PINGs */
    int permit_without_stream;         /* enforcement: PINGs without an open call are fine */
};

#define AG_GRPC_DEFAULT_MAX_RECV_MSG_SIZE      (4u * 1024 * 1024)
#define AG_GRPC_DEFAULT_MAX_CONCURRENT_STREAMS 100u
#define AG_GRPC_DEFAULT_IDLE_TIMEOUT           (60ULL * 1000000000ULL)
#define AG_GRPC_DEFAULT_MAX_CONNECTIONS        1024u
#define AG_GRPC_DEFAULT_MAX_OUTPUT_BUFFER      (1u * 1024 * 1024)
#define AG_GRPC_DEFAULT_MAX_HEADER_LIST_SIZE   (16u * 1024)
#define AG_GRPC_DEFAULT_MAX_BUFFERED_BYTES     (64ULL * 1024 * 1024)
#define AG_GRPC_DEFAULT_MAX_CONNECTION_IDLE    0 /* off, as in the collector */
#define AG_GRPC_DEFAULT_KEEPALIVE_TIME         (2ULL * 3600 * 1000000000ULL) /* grpc-go's */
#define AG_GRPC_DEFAULT_KEEPALIVE_TIMEOUT      (20ULL * 1000000000ULL)
#define AG_GRPC_MIN_KEEPALIVE_TIME             (1000000000ULL) /* grpc-go raises it to 1 s */
#define AG_GRPC_DEFAULT_PING_MIN_TIME          (5ULL * 60 * 1000000000ULL)

#define AG_GRPC_CODES 17 /* gRPC status codes 0..16 */

/* What the server counted since it was created. */
struct ag_grpc_counters {
    uint64_t conns_accepted;       /* connections taken in */
    uint64_t conns_refused;        /* closed at accept: max_connections reached */
    uint64_t conns_protocol_error; /* closed after an HTTP/2 protocol error */
    uint64_t conns_idle_closed;    /* closed after idle_timeout without reading or writing, or
                                    * after max_connection_idle without an open stream */
    uint64_t conns_aged;           /* drained at max_connection_age */
    uint64_t conns_age_forced;     /* closed at max_connection_age_grace with calls open */
    uint64_t conns_keepalive_closed; /* closed: the keepalive PING got no answer in time */
    uint64_t conns_too_many_pings;   /* closed with GOAWAY ENHANCE_YOUR_CALM too_many_pings */
    uint64_t calls;                /* gRPC calls answered (any status) */
    uint64_t calls_by_code[AG_GRPC_CODES]; /* calls answered, by grpc-status */
    uint64_t bytes_received;               /* DATA bytes of calls: prefixes and messages as sent */
    uint64_t bytes_ingested;               /* message bytes handed to the sink, after inflating */
    uint64_t refused_budget; /* calls answered UNAVAILABLE: max_buffered_bytes was reached */
};

/*
 * Fills |opts| with the defaults above.
 */
void ag_grpc_options_init(struct ag_grpc_options *opts);

/*
 * Returns a new server on |base| (borrowed: it must outlive the server) that hands request
 * messages to |sink| (copied; sink->ctx is borrowed), or NULL when out of memory or when |opts|
 * is unusable (max_recv_msg_size over 4 GiB - 1). |opts| is copied; a zero field takes its
 * default (max_connection_idle, max_connection_age and its grace 0 stay off; a keepalive_time
 * under 1 s is raised to 1 s), and opts == NULL means all defaults. A
 * max_buffered_bytes below max_recv_msg_size is raised to it, so that a message of the largest
 * allowed size can always be received. Free it with ag_grpc_server_free().
 */
struct ag_grpc_server *ag_grpc_server_new(struct event_base *base,
                                          const struct ag_grpc_options *opts,
                                          const struct ag_otlp_sink *sink);

/*
 * Listens on |host|:|port| ("127.0.0.1", "::", "0.0.0.0", or a name resolved once, now, with
 * IPv4 preferred); port 0 picks an ephemeral port. Writes the bound port to |*bound_port_out|
 * when that is not NULL. With |tls| non-NULL (borrowed: it must outlive the server), connections
 * are TLS; the context must select "h2" by ALPN (ag_tls_server_ctx_new() with AG_TLS_ALPN_H2
 * does), and a client that negotiates another protocol is closed. A server listens once.
 * Returns 0, or one of these negative codes:
 *   AG_EINVAL  already listening, or a bad port;
 *   AG_ENOTFOUND  |host| does not resolve;
 *   AG_EIO     the address cannot be bound.
 */
AG_NODISCARD int ag_grpc_server_listen(struct ag_grpc_server *srv, const char *host, int port,
                                       SSL_CTX *tls, int *bound_port_out);

/*
 * Serves one already connected HTTP/2 peer on |bev| (takes ownership: the server frees it), as
 * if it had been accepted: h2c, or TLS when |bev| is a bufferevent_openssl. Used by tests and
 * the session fuzzer to run the connection code without a socket (a bufferevent_pair end).
 * Returns 0, or AG_EAGAIN (max_connections reached, or the server stopped accepting; |bev| is
 * freed), AG_ENOMEM (|bev| is freed).
 */
AG_NODISCARD int ag_grpc_server_adopt(struct ag_grpc_server *srv, struct bufferevent *bev);

/*
 * Starts draining: closes the listening socket, sends every connection a GOAWAY naming the last
 * stream it processed, lets the calls in flight finish, and closes each connection when its
 * last call is answered. Calling it twice is harmless.
 */
void ag_grpc_server_stop_accepting(struct ag_grpc_server *srv);

/*
 * Returns the number of open connections.
 */
size_t ag_grpc_server_active(const struct ag_grpc_server *srv);

/*
 * Returns the bytes reserved now for request messages being received, all connections together
 * (at most max_buffered_bytes; 0 when no call is receiving a message).
 */
uint64_t ag_grpc_server_buffered(const struct ag_grpc_server *srv);

/*
 * Copies the server's counters to |*out|.
 */
void ag_grpc_server_counters(const struct ag_grpc_server *srv, struct ag_grpc_counters *out);

/*
 * Closes every connection at once (calls in flight are dropped) and frees the server.
 * ag_grpc_server_free(NULL) is a no-op. libevent 2.1 releases a freed bufferevent that has
 * timeouts from its loop: run the loop once (EVLOOP_NONBLOCK) before event_base_free(), or
 * ASan reports those bufferevents as leaked.
 */
void ag_grpc_server_free(struct ag_grpc_server *srv);

#endif /* AG_GRPC_H */
