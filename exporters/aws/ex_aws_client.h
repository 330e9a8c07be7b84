#ifndef EX_AWS_CLIENT_H
#define EX_AWS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_err.h"
#include "ex_aws_creds.h"
#include "ex_aws_error.h"
#include "ex_aws_http.h"
#include "ex_aws_retry.h"
#include "ex_aws_sigv4.h"

/*
 * A client of one AWS service: endpoint resolution (specs/aws.md §7), credentials from the
 * chain, SigV4 on every attempt, the standard retry mode (§8: full-jitter backoff, the retry
 * quota, Retry-After), error bodies parsed into code and message, one forced credentials refresh
 * after an auth error, and one retry after a clock-skew error with the offset taken from the
 * response's Date header. Used by every AWS exporter, `slo` and the chatbot.
 *
 * Endpoint: |endpoint| option > AWS_ENDPOINT_URL_<SERVICE_ID> > AWS_ENDPOINT_URL >
 * https://<endpoint_prefix>.<region>.amazonaws.com (".com.cn" for cn-*). The signing region is
 * the region; the Host header (and so the signature) follows the endpoint URL, port included.
 *
 * Everything runs on one event loop; nothing here is thread-safe.
 */

struct ex_aws_client;

struct ex_aws_client_options {
    const char *service_id;      /* environment suffix: "XRAY", "CLOUDWATCH_LOGS", "CLOUDWATCH",
                                    "STS", "BEDROCK_RUNTIME", "DYNAMODB", "SNS" */
    const char *endpoint_prefix; /* host prefix: "xray", "logs", "monitoring", "bedrock-runtime" */
    const char *signing_name;    /* "xray", "logs", "monitoring", "bedrock", "dynamodb" */
    enum ex_aws_protocol protocol; /* where error codes are found */
    const char *region;          /* NULL/"" = ex_aws_creds_region(), else IMDS before the first call */
    const char *endpoint;        /* override URL ("http://127.0.0.1:4566"), or NULL */
    unsigned max_attempts;       /* including the first; 0 = EX_AWS_RETRY_MAX_ATTEMPTS */
    uint64_t connect_timeout_ms; /* 0 = the HTTP client's */
    uint64_t timeout_ms;         /* per attempt; 0 = the HTTP client's */
    bool no_verify_ssl;
    const char *proxy;           /* NULL = none */
};

/* One API call. Borrowed until ex_aws_client_call() returns, except |body|, which must stay
 * valid until the done callback has run. */
struct ex_aws_call {
    const char *method;       /* "POST" */
    const char *path;         /* wire path, already percent-encoded: "/TraceSegments" */
    const char *query;        /* without '?', or NULL */
    const char *content_type; /* "application/json", "application/x-amz-json-1.1", ... or NULL */
    const char *target;       /* X-Amz-Target, or NULL */
    const struct ex_aws_header *headers; /* extra headers, signed (e.g. x-amzn-logs-format) */
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
    /* Set: |body| is not copied; the caller keeps it alive and unchanged until |done| has run
     * (or ex_aws_client_cancel() returned 0). ex_aws_client_free() then stops such a call's
     * HTTP attempt at once instead of letting it finish on its own. Unset: the client copies
     * |body|, which the caller may free when ex_aws_client_call() returns. */
    bool body_borrowed;
    /* Set: the body of a 2xx answer is handed over as it arrives (ex_aws_http_data_fn's
     * contract; |data_arg| is its first argument) instead of being kept. Once any of it has
     * been delivered the call is never retried: an error after that ends it. */
    ex_aws_http_data_fn *on_data;
    void *data_arg;
};

/* The outcome of a call, after every attempt; pointers valid only during the callback. */
struct ex_aws_result {
    int rc;          /* 0 = a 2xx answer; AG_EUPSTREAM = the service answered with an error
                        (|status|, |error| say which; permanent, or retries used up);
                        AG_ETIMEDOUT / AG_EIO = transport failure on the last attempt;
                        a credentials failure's code (see ex_aws_creds_fn) with |error.message|
                        saying why; AG_EAGAIN = cancelled (client freed); AG_ENOMEM */
    int status;      /* last HTTP status, 0 when none came */
    struct ex_aws_error error; /* parsed error code and message; "" when none */
    const char *request_id;    /* the last answer's request id, or NULL */
    const uint8_t *body;       /* the last answer's body (2xx: the result document) */
    size_t body_len;
    unsigned attempts;         /* attempts made (1 = no retry) */
    bool throttled;            /* some attempt was throttled */
    bool streamed;             /* some of the body went to the call's on_data */
};

typedef void ex_aws_call_fn(void *arg, const struct ex_aws_result *res);

/* Counters for /metrics; monotonic. */
struct ex_aws_client_stats {
    uint64_t calls;         /* ex_aws_client_call() accepted */
    uint64_t attempts;      /* HTTP attempts sent */
    uint64_t retries;       /* attempts after the first */
    uint64_t throttles;     /* throttled answers */
    uint64_t failures;      /* calls that ended with rc != 0 */
    uint64_t auth_refreshes; /* forced credentials refreshes after auth errors */
};

/*
 * Creates a client. |http| and |creds| are borrowed and must outlive it. On failure writes a
 * reason to |err|. Returns 0, or AG_EINVAL (a missing name, a bad endpoint URL), AG_ENOMEM.
 */
AG_NODISCARD int ex_aws_client_new(struct event_base *base, struct ex_aws_http *http,
                                   struct ex_aws_creds *creds,
                                   const struct ex_aws_client_options *opts,
                                   struct ex_aws_client **out, char *err, size_t errlen);

/*
 * Starts a call; |done| runs exactly once, from the loop (never inside this function).
 * Returns 0, or AG_EINVAL (no method/path), AG_ENOMEM; then |done| never runs.
 */
AG_NODISCARD int ex_aws_client_call(struct ex_aws_client *cl, const struct ex_aws_call *call,
                                    ex_aws_call_fn *done, void *arg);

/*
 * Withdraws the call started with (|done|, |arg|), whatever its state (waiting, backing off, in
 * flight): it stops and |done| never runs. Not from inside the call's own on_data.
 * Returns 0, or AG_ENOTFOUND when there is no such call.
 */
int ex_aws_client_cancel(struct ex_aws_client *cl, ex_aws_call_fn *done, void *arg);

/* Calls started and not yet done. */
size_t ex_aws_client_pending(const struct ex_aws_client *cl);

const struct ex_aws_client_stats *ex_aws_client_stats(const struct ex_aws_client *cl);

/* The endpoint URL in use ("https://xray.us-east-1.amazonaws.com"), and the region; "" until
 * the region is known. */
const char *ex_aws_client_endpoint(const struct ex_aws_client *cl);
const char *ex_aws_client_region(const struct ex_aws_client *cl);

/*
 * Fails every call in flight (done runs with rc = AG_EAGAIN before this returns) and frees the
 * client. NULL is a no-op.
 */
void ex_aws_client_free(struct ex_aws_client *cl);

#endif /* EX_AWS_CLIENT_H */
