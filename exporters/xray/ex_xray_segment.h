#ifndef EX_XRAY_SEGMENT_H
#define EX_XRAY_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_buf.h"
#include "ag_err.h"

/*
 * Span -> AWS X-Ray segment document translation (the awsxray exporter's pure half), following
 * the project spec xray.md rule by rule. No I/O: it reads protobuf-c OTLP structs and appends
 * JSON text to a buffer.
 */

/* AWS's limit on one segment document (xray.md §1). */
#define EX_XRAY_MAX_DOC_BYTES (64u * 1024)

/* Largest clock skew accepted on a trace id's epoch part (xray.md §3). */
#define EX_XRAY_MAX_AGE_S    (28 * 24 * 3600)
#define EX_XRAY_MAX_FUTURE_S 300

/* Returns 64 random bits; used for exception ids and the local-root split's new segment id. */
typedef uint64_t ex_xray_random_fn(void *ctx);

struct ex_xray_options {
    const char *const *indexed_attributes; /* borrowed; n_indexed_attributes entries */
    size_t n_indexed_attributes;
    bool index_all_attributes;
    const char *const *aws_log_groups; /* borrowed; log group names for aws.cloudwatch_logs */
    size_t n_aws_log_groups;
    bool skip_timestamp_validation; /* gate exporter.awsxray.skiptimestampvalidation */
    bool disallow_dot;              /* gate exporter.xray.allowDot turned off ('.' -> '_') */
    int64_t now_unix_s;             /* the clock for trace-id validation; 0 = the real clock */
    ex_xray_random_fn *random;      /* NULL = an internal per-thread generator */
    void *random_ctx;
    bool escaped; /* write each document escaped as the content of a JSON string (the form
                   * PutTraceSegments' body carries, see ag_json_init_escaped()); the 64 kB
                   * limit still applies to the plain document */
};

/* What one call did besides writing documents; everything a caller should count. */
struct ex_xray_result {
    size_t n_docs;             /* documents appended to |out| (1, or 2 for a local-root split) */
    size_t dropped_attributes; /* non-scalar attributes dropped by index_all_attributes */
    size_t trimmed_docs;       /* documents written without metadata to fit the 64 kB limit */
};

/*
 * Translates one span into X-Ray segment documents and appends them to |out|, each followed by
 * a newline ('\n' never occurs inside a document, plain or escaped). Usually one document; a
 * CLIENT, PRODUCER or CONSUMER span marked aws.span.kind = LOCAL_ROOT gives two (dependency
 * subsegment first, service segment second: xray.md §4.4).
 *
 * |span| is an Opentelemetry__Proto__Trace__V1__Span, |resource| its
 * Opentelemetry__Proto__Resource__V1__Resource or NULL, |scope| its InstrumentationScope or NULL
 * (not used by the spec's rules; accepted so callers pass the whole context). All are borrowed.
 * |opts| may be NULL for the defaults (all zero). |res_out| may be NULL.
 *
 * A document over EX_XRAY_MAX_DOC_BYTES is written again without its metadata; if it is still
 * too large the span is refused. Nothing is appended to |out| unless every document of the span
 * was produced; on an error |out| is left as it was, except that AG_ETOOBIG/AG_ENOMEM from |out|
 * itself free it (ag_buf's rule).
 *
 * Returns 0 on success, or one of these negative codes:
 *  AG_EPROTO   the span must be dropped (the caller counts it): trace id or span id missing or
 *              of the wrong length, or the trace id's (or a link's) epoch part is outside the
 *              accepted window (28 days back, 300 s ahead) while validation is on;
 *  AG_ETOOBIG  a document exceeds 64 kB even without metadata (drop and count), or |out|'s cap;
 *  AG_EINVAL   |span| is NULL or not a Span;
 *  AG_ENOMEM   out of memory.
 */
AG_NODISCARD int ex_xray_segment_write(const struct ex_xray_options *opts,
                                       const ProtobufCMessage *resource,
                                       const ProtobufCMessage *scope, const ProtobufCMessage *span,
                                       struct ag_buf *out, struct ex_xray_result *res_out);

/*
 * What the documents of every span of one resource share, prepared once: the resource's
 * attributes by key, each one's class (annotation or metadata under |opts|) and its
 * "otel.resource." key, and the JSON text that depends on the resource and |opts| alone (its
 * metadata members and the resource's members of "aws", in |opts|' output form), copied into
 * each document. Borrows |resource| and |opts|, which must outlive it; write with the same opts.
 */
struct ex_xray_resource;

/*
 * Prepares |resource| (an Opentelemetry__Proto__Resource__V1__Resource, or NULL for none) for
 * ex_xray_segment_write_res() with |opts| (NULL = the defaults). Returns 0 with *|out| set (free
 * it with ex_xray_resource_free()), AG_EINVAL (not a Resource) or AG_ENOMEM.
 */
AG_NODISCARD int ex_xray_resource_new(const struct ex_xray_options *opts,
                                      const ProtobufCMessage *resource,
                                      struct ex_xray_resource **out);

void ex_xray_resource_free(struct ex_xray_resource *r);

/*
 * ex_xray_segment_write() for a span of a prepared resource |r| (prepared with the same |opts|):
 * the same documents and return codes, without indexing the resource again for every span.
 */
AG_NODISCARD int ex_xray_segment_write_res(const struct ex_xray_options *opts,
                                           const struct ex_xray_resource *r,
                                           const ProtobufCMessage *span, struct ag_buf *out,
                                           struct ex_xray_result *res_out);

/*
 * Writes the X-Ray form of a 16-byte OTLP trace id ("1-" 8 hex "-" 24 hex, 35 characters and a
 * NUL) to |out|. With |validate|, checks the epoch part against |now_unix_s| (xray.md §3).
 * Returns 0, or AG_EPROTO (wrong length, or outside the window).
 */
AG_NODISCARD int ex_xray_trace_id(const uint8_t *id, size_t len, bool validate, int64_t now_unix_s,
                                  char out[36]);

#endif /* EX_XRAY_SEGMENT_H */
