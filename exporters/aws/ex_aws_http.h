#ifndef EX_AWS_HTTP_H
#define EX_AWS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_err.h"
#include "ex_aws_sigv4.h"

/*
 * The HTTP client every AWS caller shares: libcurl's multi interface driven by the service's
 * libevent loop (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION), keep-alive connections
 * reused across requests, HTTP/2 over TLS where the server offers it (HTTP/1.1 for plain http),
 * connect and total timeouts. One request = one attempt: no signing, no retries (ex_aws_client
 * does those). Everything runs on the loop's thread; nothing here is thread-safe.
 *
 * Nothing a request carries (headers, body) is ever logged by this module: Authorization and
 * X-Amz-Security-Token hold secrets.
 */

#define EX_AWS_HTTP_CONNECT_TIMEOUT_MS 2000u   /* default */
#define EX_AWS_HTTP_TIMEOUT_MS         30000u  /* default total time of one attempt */
#define EX_AWS_HTTP_MAX_RESPONSE       (8u * 1024 * 1024) /* response bodies over this fail */
#define EX_AWS_HTTP_MAX_HEADERS        32      /* request headers per call */

struct ex_aws_http;

/* Client-wide settings; every field may be 0 / NULL for the default. */
struct ex_aws_http_options {
    uint64_t connect_timeout_ms; /* 0 = EX_AWS_HTTP_CONNECT_TIMEOUT_MS */
    uint64_t timeout_ms;         /* 0 = EX_AWS_HTTP_TIMEOUT_MS */
    const char *user_agent;      /* NULL = "otterd/<version>" */
};

/*
 * Receives the body of a 2xx answer as it arrives, when a request sets |on_data| (streamed
 * answers such as Bedrock ConverseStream). |data| is borrowed for the call. Returns 0 to go on;
 * a negative AG_E* code stops the transfer, which then ends with that code as its rc. Runs from
 * the loop, inside libcurl: it must not call ex_aws_http_send(), ex_aws_http_cancel() or
 * ex_aws_http_free() for this client (return non-zero instead).
 */
typedef int ex_aws_http_data_fn(void *arg, const uint8_t *data, size_t len);

/* One attempt. Everything is borrowed until ex_aws_http_send() returns, except |body|, which
 * must stay valid until the done callback has run. */
struct ex_aws_http_request {
    const char *method; /* "GET", "POST", "PUT" */
    const char *url;    /* absolute http:// or https:// URL, path and query already encoded */
    const struct ex_aws_header *headers; /* sent as given; at most EX_AWS_HTTP_MAX_HEADERS */
    size_t n_headers;
    const uint8_t *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    uint64_t connect_timeout_ms; /* 0 = the client's */
    uint64_t timeout_ms;         /* 0 = the client's */
    bool no_verify_ssl;          /* skip TLS peer and host verification (ADOT's no_verify_ssl) */
    const char *proxy;           /* proxy URL, or NULL = none (libcurl's env proxies are off) */
    size_t max_response;         /* 0 = EX_AWS_HTTP_MAX_RESPONSE */
    ex_aws_http_data_fn *on_data; /* NULL = keep the body; set = a 2xx body goes here as it
                                     arrives and the response's |body| is then empty (an
                                     error answer's body is still kept) */
    void *data_arg;
};

/* What came back; every pointer is valid only during the done callback. */
struct ex_aws_http_response {
    int rc;              /* 0 = a complete HTTP response arrived (any status); AG_ETIMEDOUT
                            (connect or total timeout), AG_EIO (connection refused, reset,
                            DNS, TLS), AG_ETOOBIG (response over max_response), AG_ENOMEM,
                            AG_EINVAL (bad URL), AG_EAGAIN (the client is shutting down) */
    int status;          /* HTTP status; 0 when rc != 0 */
    const char *transport_error; /* libcurl's description when rc != 0, else "" */
    const char *error_type;      /* x-amzn-ErrorType header, or NULL */
    const char *request_id;      /* x-amzn-RequestId (or x-amz-request-id) header, or NULL */
    const char *content_type;    /* Content-Type header, or NULL */
    uint64_t retry_after_ms;     /* Retry-After (delta seconds) in ms; 0 = none */
    int64_t date_unix_s;         /* the Date header as Unix time; 0 = none (clock skew) */
    const uint8_t *body;         /* the response body (NUL-terminated for convenience) */
    size_t body_len;
    bool streamed;               /* some of the body went to on_data */
};

/* Called exactly once per successful ex_aws_http_send(), always from the loop (never from
 * inside ex_aws_http_send()). */
typedef void ex_aws_http_done_fn(void *arg, const struct ex_aws_http_response *resp);

/*
 * Creates a client on |base|. |opts| may be NULL. Returns a new object in |*out|; the caller
 * frees it with ex_aws_http_free().
 * Returns 0, or AG_ENOMEM (or libcurl could not initialise).
 */
AG_NODISCARD int ex_aws_http_new(struct event_base *base, const struct ex_aws_http_options *opts,
                                 struct ex_aws_http **out);

/*
 * Starts one attempt; |done| runs later with the outcome. Returns 0, or AG_EINVAL (no method
 * or URL, too many headers, a header with CR/LF), AG_ENOMEM; then |done| never runs.
 */
AG_NODISCARD int ex_aws_http_send(struct ex_aws_http *http, const struct ex_aws_http_request *req,
                                  ex_aws_http_done_fn *done, void *arg);

/*
 * Withdraws the request started with (|done|, |arg|): the transfer stops and |done| never runs.
 * Safe from any callback of this client except an on_data (which returns non-zero instead).
 * Returns 0, or AG_ENOTFOUND when no such request is in flight.
 */
int ex_aws_http_cancel(struct ex_aws_http *http, ex_aws_http_done_fn *done, void *arg);

/* Requests in flight. */
size_t ex_aws_http_pending(const struct ex_aws_http *http);

/*
 * Aborts every request in flight (each done callback runs once with rc = AG_EAGAIN, before this
 * returns) and frees the client. NULL is a no-op.
 */
void ex_aws_http_free(struct ex_aws_http *http);

#endif /* EX_AWS_HTTP_H */
