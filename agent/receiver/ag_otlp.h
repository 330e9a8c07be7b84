#ifndef AG_OTLP_H
#define AG_OTLP_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_err.h"

/*
 * The transport-independent half of the OTLP receiver: signals, decoding an Export request body
 * (protobuf or OTLP/JSON) into a per-request arena, counting items, and encoding the answers
 * (Export*ServiceResponse and google.rpc.Status) for both transports. OTLP/HTTP and OTLP/gRPC
 * both hand a whole, decompressed request body to an ag_otlp_sink and turn its result into their
 * own status codes.
 */

enum ag_signal {
    AG_SIGNAL_TRACES = 0,
    AG_SIGNAL_METRICS = 1,
    AG_SIGNAL_LOGS = 2,
};
#define AG_SIGNAL_COUNT 3

enum ag_otlp_encoding {
    AG_OTLP_PROTOBUF = 0,
    AG_OTLP_JSON = 1,
};

/* How an Export ended. The transports map it: see the table in ag_otlp.c. */
enum ag_otlp_status {
    AG_OTLP_OK = 0,          /* accepted (maybe partially: see rejected) -> 200 / OK */
    AG_OTLP_INVALID = 1,     /* malformed request -> 400 / INVALID_ARGUMENT */
    AG_OTLP_TOO_LARGE = 2,   /* over a size limit -> 413 / RESOURCE_EXHAUSTED, no RetryInfo */
    AG_OTLP_UNAVAILABLE = 3, /* memory or queue full, shutting down -> 503 / UNAVAILABLE + retry */
    AG_OTLP_INTERNAL = 4,    /* a bug or an allocation failure -> 500 / INTERNAL */
};

struct ag_otlp_result {
    enum ag_otlp_status status;
    int64_t rejected;       /* items refused in a partial success (status AG_OTLP_OK) */
    uint32_t retry_after_s; /* with AG_OTLP_UNAVAILABLE: the delay to ask clients for */
    char message[512];      /* English, for error_message / grpc-message; "" when none */
};

/*
 * Takes one decompressed request body. |body| is borrowed for the call only. The sink fills
 * |res|; it never blocks.
 */
typedef void ag_otlp_ingest_fn(void *ctx, enum ag_signal signal, enum ag_otlp_encoding enc,
                               const uint8_t *body, size_t len, struct ag_otlp_result *res);

struct ag_otlp_sink {
    ag_otlp_ingest_fn *ingest;
    void *ctx;
};

/* "traces", "metrics", "logs". */
const char *ag_signal_name(enum ag_signal signal);

/* The item noun of a signal as OTLP counts it: "spans", "data points", "log records". */
const char *ag_signal_items(enum ag_signal signal);

/* The protobuf-c descriptor of Export{Trace,Metrics,Logs}ServiceRequest. */
const ProtobufCMessageDescriptor *ag_otlp_request_descriptor(enum ag_signal signal);

/*
 * The deepest nesting of messages a request may have (request = level 1), as Python's protobuf
 * runtime allows. OTLP's own structure takes 5-6 levels down to an attribute's or a body's
 * AnyValue; each array in an AnyValue adds 2 more, each map 3. protobuf-c's unpack recurses once
 * per level (about 1 KiB of stack each), so this keeps it far from the end of the stack; and a
 * message level becomes at most 2 JSON levels, so every accepted request stays within the JSON
 * writer's AG_JSON_MAX_DEPTH (256) and can be written out.
 */
#define AG_OTLP_MAX_DEPTH 100

/*
 * Checks, without recursion, that the protobuf message of type |desc| in |buf| nests messages no
 * deeper than |max_depth| and uses no field number 0. Other malformed input passes (the decoder
 * then rejects it). Returns 0, or AG_EPROTO with a reason in |err|.
 */
AG_NODISCARD int ag_otlp_check_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                                     size_t len, unsigned max_depth, char *err, size_t errlen);

/*
 * Decodes |len| bytes of |buf| (protobuf or OTLP/JSON) as an Export request of |signal|, with
 * every allocation in |arena|. On failure writes an English reason to |err| (|errlen| bytes).
 * Returns 0 and the message in |*out|, or AG_EPROTO (malformed), AG_ETOOBIG (the arena's cap),
 * AG_ENOMEM.
 */
AG_NODISCARD int ag_otlp_decode(enum ag_signal signal, enum ag_otlp_encoding enc,
                                const uint8_t *buf, size_t len, struct ag_arena *arena,
                                ProtobufCMessage **out, char *err, size_t errlen);

/*
 * Returns the number of data points of one Metric (an Opentelemetry__Proto__Metrics__V1__Metric).
 */
size_t ag_otlp_metric_points(const ProtobufCMessage *metric);

/*
 * Returns the number of items (spans, data points, log records) in a decoded request.
 */
size_t ag_otlp_count_items(enum ag_signal signal, const ProtobufCMessage *req);

/*
 * Checks what protobuf-c does not: id lengths (trace ids 16 bytes, span ids 8, or empty).
 * Returns 0, or AG_EPROTO with the first offending field's path written to |err|.
 */
AG_NODISCARD int ag_otlp_validate(enum ag_signal signal, const ProtobufCMessage *req, char *err,
                                  size_t errlen);

/*
 * Appends the Export*ServiceResponse for |res| (status AG_OTLP_OK) to |out|: protobuf (empty when
 * nothing was rejected and there is no message) or JSON ("{}" or {"partialSuccess":{...}}).
 */
AG_NODISCARD int ag_otlp_response_encode(enum ag_signal signal, enum ag_otlp_encoding enc,
                                         const struct ag_otlp_result *res, struct ag_buf *out);

/*
 * Appends a google.rpc.Status with gRPC |code| and |message| to |out|, in protobuf or JSON; with
 * |retry_after_s| > 0 it carries a google.rpc.RetryInfo detail.
 */
AG_NODISCARD int ag_otlp_status_encode(enum ag_otlp_encoding enc, int code, const char *message,
                                       uint32_t retry_after_s, struct ag_buf *out);

/* gRPC status codes used by the receiver. */
enum ag_grpc_code {
    AG_GRPC_OK = 0,
    AG_GRPC_CANCELLED = 1,
    AG_GRPC_UNKNOWN = 2,
    AG_GRPC_INVALID_ARGUMENT = 3,
    AG_GRPC_DEADLINE_EXCEEDED = 4,
    AG_GRPC_NOT_FOUND = 5,
    AG_GRPC_RESOURCE_EXHAUSTED = 8,
    AG_GRPC_UNIMPLEMENTED = 12,
    AG_GRPC_INTERNAL = 13,
    AG_GRPC_UNAVAILABLE = 14,
};

/* The gRPC code and HTTP status of a result. */
int ag_otlp_status_grpc(enum ag_otlp_status st);
int ag_otlp_status_http(enum ag_otlp_status st);

#endif /* AG_OTLP_H */
