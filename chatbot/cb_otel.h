#ifndef CB_OTEL_H
#define CB_OTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_err.h"

/*
 * cb_otel: a small OpenTelemetry SDK for the chatbot. One resource, one instrumentation scope,
 * spans with W3C trace-context propagation, a fixed set of metric instruments (counters and
 * explicit-bucket histograms, cumulative), log records correlated with spans, all exported as
 * OTLP/HTTP protobuf from the service's own libevent loop (libcurl multi through ex_aws_http).
 *
 * Everything runs on the loop's thread; nothing here is thread-safe. A NULL |tel| or a NULL span
 * is accepted by every function and makes it a no-op, so the request path needs no checks when
 * telemetry is disabled (OTEL_SDK_DISABLED=true) or a span could not be made.
 *
 * Message text (prompts, answers) is never recorded unless cfg.record_content is on
 * (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true).
 */

#define CB_OTEL_TRACESTATE_MAX  512  /* longer tracestate headers are dropped, not cut */
#define CB_OTEL_TRACEPARENT_LEN 55   /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define CB_OTEL_MAX_ATTRS       128  /* per span, event or log record (SpanLimits default) */
#define CB_OTEL_MAX_EVENTS      128  /* per span */
#define CB_OTEL_MAX_POINTS      2000 /* attribute sets per instrument; then otel.metric.overflow */
#define CB_OTEL_MAX_HEADERS     24   /* OTEL_EXPORTER_OTLP_HEADERS entries */
#define CB_OTEL_KV_MAX_INPUT    8192 /* longest OTEL_RESOURCE_ATTRIBUTES / _HEADERS accepted */

/* OTLP Span.SpanKind values. */
enum cb_otel_span_kind {
    CB_OTEL_SPAN_INTERNAL = 1,
    CB_OTEL_SPAN_SERVER = 2,
    CB_OTEL_SPAN_CLIENT = 3,
    CB_OTEL_SPAN_PRODUCER = 4,
    CB_OTEL_SPAN_CONSUMER = 5,
};

/* OTLP Status.StatusCode values. */
enum cb_otel_status {
    CB_OTEL_STATUS_UNSET = 0,
    CB_OTEL_STATUS_OK = 1,
    CB_OTEL_STATUS_ERROR = 2,
};

/* OTLP SeverityNumber values (the first of each range). */
enum cb_otel_severity {
    CB_OTEL_SEV_TRACE = 1,
    CB_OTEL_SEV_DEBUG = 5,
    CB_OTEL_SEV_INFO = 9,
    CB_OTEL_SEV_WARN = 13,
    CB_OTEL_SEV_ERROR = 17,
    CB_OTEL_SEV_FATAL = 21,
};

enum cb_otel_attr_type {
    CB_OTEL_ATTR_STRING,
    CB_OTEL_ATTR_INT,
    CB_OTEL_ATTR_DOUBLE,
    CB_OTEL_ATTR_BOOL,
};

/* One attribute given by the caller; everything borrowed for the duration of the call. */
struct cb_otel_attr {
    const char *key;
    enum cb_otel_attr_type type;
    union {
        const char *s; /* NUL-terminated; NULL skips the attribute */
        int64_t i;
        double d;
        bool b;
    } v;
};

#define CB_OTEL_STR(k, val) \
    ((struct cb_otel_attr){.key = (k), .type = CB_OTEL_ATTR_STRING, .v.s = (val)})
#define CB_OTEL_INT(k, val) \
    ((struct cb_otel_attr){.key = (k), .type = CB_OTEL_ATTR_INT, .v.i = (val)})
#define CB_OTEL_DBL(k, val) \
    ((struct cb_otel_attr){.key = (k), .type = CB_OTEL_ATTR_DOUBLE, .v.d = (val)})
#define CB_OTEL_BOOL(k, val) \
    ((struct cb_otel_attr){.key = (k), .type = CB_OTEL_ATTR_BOOL, .v.b = (val)})

/* A span context (W3C trace-context). Caller-owned, plain data. */
struct cb_otel_span_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;                               /* trace-flags; bit 0 = sampled */
    bool valid;                                  /* false: no parent (a new root is made) */
    bool remote;                                 /* came from a traceparent header */
    char tracestate[CB_OTEL_TRACESTATE_MAX + 1]; /* "" = none; passed through unchanged */
};

/* A parsed "k=v,k2=v2" list (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS). */
struct cb_otel_kv {
    char *key;   /* trimmed, percent-decoded, never empty */
    char *value; /* trimmed, percent-decoded, may be empty */
};
struct cb_otel_kvlist {
    struct cb_otel_kv *items;
    size_t n;
};

/*
 * Settings, normally from the environment (cb_otel_config_from_env()). Strings are owned by the
 * config and freed by cb_otel_config_cleanup(); tests may fill the struct by hand (use
 * ag_strdup'd strings).
 */
struct cb_otel_config {
    bool disabled;     /* OTEL_SDK_DISABLED=true: no spans, points, records or exports */
    char *traces_url;  /* NULL = spans are not exported (nor kept) */
    char *metrics_url; /* NULL = no metric export */
    char *logs_url;    /* NULL = log records are not exported (nor kept) */
    struct cb_otel_kvlist headers[3]; /* per signal (traces, metrics, logs): generic + specific */
    struct cb_otel_kvlist resource;   /* final resource attributes, service.name first */
    bool gzip;                        /* OTEL_EXPORTER_OTLP_COMPRESSION=gzip */
    uint64_t timeout_ms;              /* one HTTP attempt (OTEL_EXPORTER_OTLP_TIMEOUT, 10000) */
    uint64_t schedule_delay_ms;       /* spans (OTEL_BSP_SCHEDULE_DELAY, 1000) */
    uint64_t logs_delay_ms;           /* log records (OTEL_BLRP_SCHEDULE_DELAY, 1000) */
    uint64_t metric_interval_ms;      /* OTEL_METRIC_EXPORT_INTERVAL, 60000 */
    size_t max_queue;                 /* OTEL_BSP_MAX_QUEUE_SIZE / OTEL_BLRP_..., 2048 */
    size_t max_batch;                 /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE / OTEL_BLRP_..., 512 */
    unsigned max_attempts;            /* per request, first try included (5) */
    uint64_t backoff_initial_ms;      /* 1000, then x1.5 per retry, +-20 % jitter */
    uint64_t backoff_max_ms;          /* 5000 */
    bool record_content;              /* OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true */
};

/* Counters of what happened to telemetry (none of them is ever reset). */
struct cb_otel_stats {
    uint64_t spans_ended;    /* recording spans ended */
    uint64_t spans_dropped;  /* the queue was full (max_queue) */
    uint64_t spans_sent;     /* accepted by the endpoint (rejected ones excluded) */
    uint64_t spans_failed;   /* a non-retryable answer, retries exhausted, or shutdown */
    uint64_t spans_rejected; /* partial_success.rejected_spans */
    uint64_t logs_emitted, logs_dropped, logs_sent, logs_failed, logs_rejected;
    uint64_t points_sent, points_failed, points_rejected; /* metric data points per export */
    uint64_t requests;                                    /* HTTP attempts made, all signals */
    uint64_t retries;                                     /* attempts that were retries */
    uint64_t metric_exports;                              /* metric export requests accepted */
};

struct cb_otel;
struct cb_otel_span;
struct cb_otel_metric;

/* Reads one environment variable; NULL when unset. |arg| is the caller's. */
typedef const char *cb_otel_getenv_fn(void *arg, const char *name);

/* ---- parsing (pure; fuzzed by tests/fuzz/fuzz_otel_parse.c) ---------------------------------- */

/*
 * Parses a W3C traceparent header value of |len| bytes (spaces and tabs around it are ignored).
 * Version 00 must be exactly 55 characters; a higher version (not ff) may be longer, and then the
 * 56th character must be '-'; only its first four fields are read. Hex must be lower case; an
 * all-zero trace id or parent id is invalid. On success fills |out| (valid, remote, ids, flags;
 * tracestate set to ""); on failure |out| is zeroed (valid = false).
 * Returns 0, or AG_EPROTO.
 */
AG_NODISCARD int cb_otel_traceparent_parse(const char *s, size_t len, struct cb_otel_span_ctx *out);

/*
 * Checks a W3C tracestate header value: at most 32 list members, each key=value with the
 * grammar's simple or multi-tenant key and value characters, no duplicate keys, at most
 * CB_OTEL_TRACESTATE_MAX bytes in all. Empty members (",,") are allowed.
 * Returns 0, or AG_EPROTO (bad syntax or duplicate), AG_ETOOBIG (too long or too many members).
 */
AG_NODISCARD int cb_otel_tracestate_check(const char *s, size_t len);

/*
 * The parent context of an incoming request: traceparent and tracestate header values (either
 * may be NULL). An invalid traceparent gives out->valid = false (the caller makes a new root);
 * an invalid tracestate is dropped (""), the traceparent still used.
 * Returns 0 when a valid parent was found, AG_ENOTFOUND when traceparent is absent, or
 * AG_EPROTO when it is invalid.
 */
int cb_otel_extract(const char *traceparent, const char *tracestate, struct cb_otel_span_ctx *out);

/*
 * Writes |ctx| as a version-00 traceparent value into |out| (56 bytes: 55 + NUL).
 * Returns 0, or AG_EINVAL when |ctx| is not valid.
 */
AG_NODISCARD int cb_otel_traceparent_format(const struct cb_otel_span_ctx *ctx, char out[56]);

/*
 * Parses a "key=value,key2=value2" list (the OTEL_RESOURCE_ATTRIBUTES / OTEL_EXPORTER_OTLP_HEADERS
 * format): members split at ',', key and value at the first '=', spaces and tabs around each
 * trimmed, then both percent-decoded (%XX, either hex case); control characters (raw or
 * decoded: NUL, CR, LF, ...) are refused. Empty members are skipped. Any error
 * discards the whole list (the SDK spec's rule). On error, |err| (|errlen| bytes, may be NULL)
 * says which member and what was wrong.
 * Returns 0 with |out| filled (free with cb_otel_kvlist_cleanup()), or AG_EPROTO (a member with
 * no '=', an empty key, a bad %-escape, a control character), AG_ETOOBIG (over CB_OTEL_KV_MAX_INPUT
 * bytes or over |max_items| members), AG_ENOMEM.
 */
AG_NODISCARD int cb_otel_kvlist_parse(const char *s, size_t len, size_t max_items,
                                      struct cb_otel_kvlist *out, char *err, size_t errlen);

/* Frees the items of |list| and empties it. */
void cb_otel_kvlist_cleanup(struct cb_otel_kvlist *list);

/*
 * A copy of the NUL-terminated |s| that is well-formed UTF-8, as OTLP's strings must be (a
 * receiver that checks refuses the whole request over one bad string, and header values such as
 * User-Agent or Host are any bytes a client sent): each maximal subpart of an ill-formed
 * sequence (Unicode §3.9, the WHATWG decoder's rule: a bad lead byte, or a lead and the
 * continuation bytes that fit before the one that does not) becomes U+FFFD; overlong forms,
 * surrogates and code points above U+10FFFF are ill-formed. Well-formed text is copied as is.
 * Every string cb_otel records (attribute keys and values, span, event and metric names, status
 * messages, log bodies) goes through it. Returns the copy (ag_free it), or NULL for a NULL |s|
 * or out of memory.
 */
char *cb_otel_utf8_dup(const char *s);

/* ---- configuration ----------------------------------------------------------------------- */

/* Sets the defaults: service.name "chatbot", no endpoint (no export), the SDK's timings. */
void cb_otel_config_init(struct cb_otel_config *cfg);

/*
 * Fills |cfg| (initialised with cb_otel_config_init()) from the environment, read through
 * |getenv_fn| (NULL = the process environment): OTEL_SDK_DISABLED, OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_{,TRACES_,METRICS_,LOGS_}ENDPOINT, _HEADERS,
 * _TIMEOUT, _COMPRESSION, _PROTOCOL, OTEL_{TRACES,METRICS,LOGS}_EXPORTER (otlp|none),
 * OTEL_BSP_*, OTEL_BLRP_*, OTEL_METRIC_EXPORT_INTERVAL,
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT. |service_version| (may be NULL) becomes
 * service.version unless OTEL_RESOURCE_ATTRIBUTES sets one.
 *
 * A bad value is logged (ag_log, naming the variable and the problem) and ignored: the default
 * stays, or, for a bad list, the whole list is discarded; an unsupported protocol (grpc,
 * http/json) turns export off for the signals it covers. Service.name precedence:
 * OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES, then "chatbot".
 * Returns 0, or AG_ENOMEM.
 */
AG_NODISCARD int cb_otel_config_from_env(struct cb_otel_config *cfg, const char *service_version,
                                         cb_otel_getenv_fn *getenv_fn, void *arg);

/* Frees what |cfg| owns. */
void cb_otel_config_cleanup(struct cb_otel_config *cfg);

/* ---- lifecycle ----------------------------------------------------------------------------- */

/*
 * Creates the telemetry on |base| from |cfg| (borrowed; copied). Starts the batch timers and the
 * metric export timer for the signals that have a URL. When cfg->disabled the object does
 * nothing at all. Returns a new object in |*out|; the caller frees it with cb_otel_free() (after
 * cb_otel_shutdown() to flush).
 * Returns 0, or AG_ENOMEM, AG_EINVAL (|base| or |cfg| NULL).
 */
AG_NODISCARD int cb_otel_new(struct event_base *base, const struct cb_otel_config *cfg,
                             struct cb_otel **out);

/*
 * cb_otel_config_from_env() + cb_otel_new() on the process environment.
 * Returns 0, or AG_ENOMEM.
 */
AG_NODISCARD int cb_otel_new_from_env(struct event_base *base, const char *service_version,
                                      struct cb_otel **out);

/*
 * Flushes: exports every queued span and log record and a last metric collection, with retries,
 * running event_base_loop(base, EVLOOP_ONCE) itself until all is sent or |timeout_ms| passes
 * (other events of the base may run meanwhile). Must not be called from inside a callback of
 * that loop. What is still unsent at the deadline is counted failed. Later spans and records are
 * ignored. Returns 0, or AG_ETIMEDOUT (something was left unsent).
 */
int cb_otel_shutdown(struct cb_otel *tel, uint64_t timeout_ms);

/*
 * Frees |tel|: queued telemetry is dropped (call cb_otel_shutdown() first), requests in flight are
 * aborted. Every span must have been ended before. NULL is a no-op.
 */
void cb_otel_free(struct cb_otel *tel);

/* Copies the counters into |out| (all zero for a NULL |tel|). */
void cb_otel_stats(const struct cb_otel *tel, struct cb_otel_stats *out);

/* True when |tel| records telemetry (not NULL and not disabled). */
bool cb_otel_enabled(const struct cb_otel *tel);

/* ---- spans ------------------------------------------------------------------------------- */

/*
 * Starts a span named |name| (borrowed; copied) of |kind| under |parent| (NULL or not valid: a
 * new root with a random trace id). Sampling is ParentBased(AlwaysOn): a valid parent whose
 * sampled flag is 0 gives a non-recording span (its context propagates, nothing is exported).
 * Start time: CLOCK_REALTIME in ns.
 * Returns the span (end it with cb_otel_span_end()), or NULL when |tel| is NULL or disabled, after
 * shutdown, or out of memory (every span function accepts NULL).
 */
struct cb_otel_span *cb_otel_span_start(struct cb_otel *tel, const char *name,
                                        enum cb_otel_span_kind kind,
                                        const struct cb_otel_span_ctx *parent);

/* The span's own context (to parent children or to propagate), or NULL for a NULL span. */
const struct cb_otel_span_ctx *cb_otel_span_context(const struct cb_otel_span *span);

/* Renames the span (e.g. once the route is known). */
void cb_otel_span_set_name(struct cb_otel_span *span, const char *name);

/*
 * Sets one attribute (the key and string value are copied). Setting a key again replaces its
 * value; past CB_OTEL_MAX_ATTRS new keys are counted in dropped_attributes_count. A NULL string
 * value is ignored.
 */
void cb_otel_span_set_str(struct cb_otel_span *span, const char *key, const char *value);
void cb_otel_span_set_int(struct cb_otel_span *span, const char *key, int64_t value);
void cb_otel_span_set_double(struct cb_otel_span *span, const char *key, double value);
void cb_otel_span_set_bool(struct cb_otel_span *span, const char *key, bool value);
void cb_otel_span_set_str_array(struct cb_otel_span *span, const char *key,
                                const char *const *values, size_t n);
void cb_otel_span_set_attrs(struct cb_otel_span *span, const struct cb_otel_attr *attrs, size_t n);

/*
 * Sets the status. OK is final; UNSET is ignored; |message| (may be NULL) is kept for ERROR only.
 */
void cb_otel_span_set_status(struct cb_otel_span *span, enum cb_otel_status code,
                             const char *message);

/* Adds an event named |name| now, with |n| attributes (copied). */
void cb_otel_span_add_event(struct cb_otel_span *span, const char *name,
                            const struct cb_otel_attr *attrs, size_t n);

/*
 * Ends the span (end time now) and hands it to the batch processor (or drops it, counted, when
 * the queue is full). The span must not be used afterwards. NULL is a no-op.
 */
void cb_otel_span_end(struct cb_otel_span *span);

/* ---- semantic-convention helpers ------------------------------------------------------------ */

/* One incoming HTTP request; every field borrowed, any may be NULL / 0. */
struct cb_otel_http_request_info {
    const char *method;         /* "POST"; anything unknown becomes "_OTHER" (+ method_original) */
    const char *path;           /* url.path, without the query */
    const char *route;          /* http.route ("/api/sessions/{id}"); can be set later */
    const char *server_address; /* server.address (the Host header's host) */
    int server_port;            /* server.port; 0 = unset */
    const char *client_address; /* client.address (the peer) */
    const char *user_agent;     /* user_agent.original */
    const char *traceparent;    /* the request's traceparent header */
    const char *tracestate;     /* the request's tracestate header */
};

/*
 * Starts the SERVER span of one request, continuing its traceparent (an invalid one starts a
 * new root), named "METHOD route" (or "METHOD" without a route), with http.request.method,
 * url.path, url.scheme "http", http.route, server.address, server.port, client.address,
 * user_agent.original. Returns the span or NULL (see cb_otel_span_start()).
 */
struct cb_otel_span *cb_otel_server_span_start(struct cb_otel *tel,
                                               const struct cb_otel_http_request_info *req);

/* Sets http.route and renames the span "METHOD route". */
void cb_otel_server_span_set_route(struct cb_otel_span *span, const char *route);

/*
 * Ends a span from cb_otel_server_span_start(): sets http.response.status_code, status ERROR
 * with error.type = the status code for 5xx (4xx stays UNSET, as semconv says for servers), and
 * records the request metrics (chatbot.requests, http.server.request.duration from the span's
 * monotonic start) even when the span is not recording. NULL span: no-op.
 */
void cb_otel_server_span_end(struct cb_otel *tel, struct cb_otel_span *span, int status_code);

/*
 * Records one request in the metrics without a span: chatbot.requests {http.route,
 * http.response.status_code} += 1 and http.server.request.duration {http.request.method,
 * http.route, http.response.status_code} <- |duration_s|.
 */
void cb_otel_record_request(struct cb_otel *tel, const char *method, const char *route,
                            int status_code, double duration_s);

/* One Bedrock call; every field borrowed. */
struct cb_otel_bedrock_call {
    const char *operation; /* "Converse" or "ConverseStream" (rpc.method) */
    const char *model;     /* gen_ai.request.model (model id or inference-profile ARN) */
    const char *region;    /* cloud.region */
};

/*
 * Starts the CLIENT span of one Bedrock call under |parent| (normally the server span's
 * context), named "chat MODEL", with gen_ai.system "aws.bedrock", gen_ai.operation.name "chat",
 * gen_ai.request.model, rpc.system "aws-api", rpc.service "BedrockRuntime", rpc.method,
 * cloud.region.
 */
struct cb_otel_span *cb_otel_bedrock_span_start(struct cb_otel *tel,
                                                const struct cb_otel_span_ctx *parent,
                                                const struct cb_otel_bedrock_call *call);

/*
 * Adds the conversation text as span events ("gen_ai.user.message" with gen_ai.prompt,
 * "gen_ai.choice" with gen_ai.completion) only when record_content is on; otherwise nothing.
 * Either string may be NULL.
 */
void cb_otel_bedrock_span_content(struct cb_otel *tel, struct cb_otel_span *span,
                                  const char *prompt, const char *completion);

/* The outcome of one Bedrock call; every field borrowed, any may be NULL / negative. */
struct cb_otel_bedrock_result {
    const char *request_id;    /* aws.request_id (x-amzn-RequestId) */
    int64_t input_tokens;      /* gen_ai.usage.input_tokens; < 0 = unknown */
    int64_t output_tokens;     /* gen_ai.usage.output_tokens; < 0 = unknown */
    const char *finish_reason; /* gen_ai.response.finish_reasons = [it] ("end_turn") */
    int http_status;           /* http.response.status_code; 0 = none (transport error) */
    const char *error_type;    /* NULL = success; else error.type ("ThrottlingException",
                                  "timeout", ...): status ERROR, chatbot.provider.errors += 1 */
    const char *error_message; /* the status description for errors (never the user's text) */
};

/*
 * Ends a Bedrock span with |res| and records gen_ai.client.token.usage (one point per token
 * type) and, on error, chatbot.provider.errors {gen_ai.system, error.type}. With a NULL span the
 * metrics are still recorded.
 */
void cb_otel_bedrock_span_end(struct cb_otel *tel, struct cb_otel_span *span,
                              const struct cb_otel_bedrock_call *call,
                              const struct cb_otel_bedrock_result *res);

/* ---- metrics ----------------------------------------------------------------------------- */

/*
 * Creates a monotonic int64 sum (counter) owned by |tel| (freed with it).
 * Returns the instrument, or NULL (NULL or disabled |tel|, out of memory); the add/record
 * functions accept NULL.
 */
struct cb_otel_metric *cb_otel_counter_new(struct cb_otel *tel, const char *name, const char *unit,
                                           const char *description);

/*
 * Creates a histogram with |n| explicit bucket bounds (strictly increasing; copied): bucket i
 * counts values in (bounds[i-1], bounds[i]], the last one values over bounds[n-1].
 * Returns the instrument or NULL (also for bounds not increasing).
 */
struct cb_otel_metric *cb_otel_histogram_new(struct cb_otel *tel, const char *name,
                                             const char *unit, const char *description,
                                             const double *bounds, size_t n);

/* Adds |value| (>= 0; negative values are ignored) to the point of the attribute set |attrs|. */
void cb_otel_counter_add(struct cb_otel_metric *m, int64_t value, const struct cb_otel_attr *attrs,
                         size_t n);

/* Records |value| (NaN ignored) in the point of the attribute set |attrs|. */
void cb_otel_histogram_record(struct cb_otel_metric *m, double value,
                              const struct cb_otel_attr *attrs, size_t n);

/* ---- logs -------------------------------------------------------------------------------- */

/*
 * Emits a log record now with |severity|, |body| (copied) and |n| attributes, carrying the
 * trace_id, span_id and flags of |span| (NULL = uncorrelated).
 */
void cb_otel_log(struct cb_otel *tel, enum cb_otel_severity severity,
                 const struct cb_otel_span *span, const char *body,
                 const struct cb_otel_attr *attrs, size_t n);

#endif /* CB_OTEL_H */
