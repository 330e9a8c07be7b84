#ifndef AG_HTTP_H
#define AG_HTTP_H

#include <stdint.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "ag_config.h"
#include "ag_err.h"
#include "ag_otlp.h"

/*
 * The OTLP/HTTP listener: POST /v1/traces, /v1/metrics, /v1/logs with protobuf or JSON bodies,
 * gzip or deflate Content-Encoding, chunked or sized, answered in the request's content type,
 * with the collector's status codes (400, 404, 405, 413, 415, 503 + Retry-After). Built on
 * libevent's evhttp, on the caller's event loop.
 */

struct ag_http_receiver;

struct ag_http_receiver_options {
    uint64_t max_request_body_size;     /* bytes, compressed and decompressed */
    const char *paths[AG_SIGNAL_COUNT]; /* URL path per signal, e.g. "/v1/traces" */
    const struct ag_cors_config *cors;  /* NULL: no CORS headers */
    uint64_t read_header_timeout;       /* ns; a connection idle this long is closed */
    const char *const *encodings;       /* Content-Encodings accepted (compression_algorithms
                                         * names); NULL: every one otterd decodes */
    size_t n_encodings;
};

struct ag_http_receiver_stats {
    uint64_t requests;     /* requests answered */
    uint64_t bad_requests; /* 4xx answers other than 413 */
    uint64_t too_large;    /* 413 answers */
    uint64_t refused;      /* 503 answers */
};

/*
 * Returns a new receiver that will hand request bodies to |sink| (borrowed: it must outlive the
 * receiver), or NULL when out of memory. |opts| is copied; its strings are borrowed.
 */
struct ag_http_receiver *ag_http_receiver_new(struct event_base *base,
                                              const struct ag_http_receiver_options *opts,
                                              const struct ag_otlp_sink *sink);

/*
 * Listens on |host|:|port| (port 0: an ephemeral one, reported in |*bound_port|). With |tls|
 * non-NULL (borrowed; kept referenced), connections are TLS.
 * Returns 0, or AG_EIO when the address cannot be bound.
 */
AG_NODISCARD int ag_http_receiver_listen(struct ag_http_receiver *r, const char *host, int port,
                                         SSL_CTX *tls, int *bound_port);

/*
 * Stops accepting connections; requests already received are still answered.
 */
void ag_http_receiver_stop_accepting(struct ag_http_receiver *r);

/*
 * Returns the receiver's counters.
 */
void ag_http_receiver_stats(const struct ag_http_receiver *r, struct ag_http_receiver_stats *out);

/*
 * Closes everything and frees the receiver. ag_http_receiver_free(NULL) is a no-op.
 */
void ag_http_receiver_free(struct ag_http_receiver *r);

#endif /* AG_HTTP_H */
