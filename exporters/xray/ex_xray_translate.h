#ifndef EX_XRAY_TRANSLATE_H
#define EX_XRAY_TRANSLATE_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_buf.h"
#include "ag_config.h"
#include "ag_err.h"
#include "ex_xray_segment.h"

/*
 * One whole ExportTraceServiceRequest -> X-Ray segment documents, one per line: the loop the
 * awsxray exporter runs on every payload and `otterd translate --to xray` runs on its input, so
 * both produce the same documents. Spans that must be dropped are skipped and counted here.
 */

/* The smallest cap of the output buffer: a local-root span's two largest documents, escaped
 * (the escaped option; escaping JSON text at most doubles it). */
#define EX_XRAY_TRANSLATE_MIN_CAP (2 * (2 * (size_t)EX_XRAY_MAX_DOC_BYTES + 1))

/* What one request gave besides documents; the caller counts and logs these. */
struct ex_xray_translate_result {
    size_t docs;               /* documents appended */
    size_t spans;              /* spans seen */
    size_t invalid;            /* spans dropped: ids missing or outside the X-Ray epoch window */
    size_t too_big;            /* spans dropped: a document over 64 kB even without metadata */
    size_t dropped_attributes; /* non-scalar attributes dropped by index_all_attributes */
    size_t trimmed_docs;       /* documents sent without their metadata to fit 64 kB */
};

/*
 * Fills |opts| from an awsxray exporter's config. The string arrays are borrowed from |cfg|,
 * which must outlive |opts|. |cfg| NULL gives the defaults.
 */
void ex_xray_options_from_config(const struct ag_awsxray_config *cfg,
                                 struct ex_xray_options *opts);

/*
 * Appends the documents of every span of |req| (an ExportTraceServiceRequest, borrowed) to |out|,
 * each followed by '\n', in request order. Spans refused by ex_xray_segment_write() with
 * AG_EPROTO or AG_ETOOBIG are skipped and counted in |res| (zeroed first; may not be NULL).
 * |out|'s cap must be at least EX_XRAY_TRANSLATE_MIN_CAP, so that one span always fits.
 * Returns 0, or AG_EINVAL (|req| is not a trace request), or the error of |out| itself
 * (AG_ETOOBIG over its cap, AG_ENOMEM), after which |out| has been freed (ag_buf's rule).
 */
AG_NODISCARD int ex_xray_translate(const struct ex_xray_options *opts, const ProtobufCMessage *req,
                                   struct ag_buf *out, struct ex_xray_translate_result *res);

/* Takes |len| bytes of whole documents (each ended by '\n'; borrowed). Returns 0 or an AG_E*. */
typedef int ex_xray_chunk_fn(void *ctx, const char *docs, size_t len);

/*
 * ex_xray_translate(), handing the documents to |flush| (with |ctx|) whenever |out| holds at
 * least |chunk_bytes|, and emptying |out| after each, so |out| stays near |chunk_bytes| whatever
 * the request's size. What is left at the end stays in |out| for the caller. A |flush| error is
 * returned as it is, after the chunks before it were taken. |flush| NULL: ex_xray_translate().
 */
AG_NODISCARD int ex_xray_translate_chunked(const struct ex_xray_options *opts,
                                           const ProtobufCMessage *req, struct ag_buf *out,
                                           size_t chunk_bytes, ex_xray_chunk_fn *flush, void *ctx,
                                           struct ex_xray_translate_result *res);

#endif /* EX_XRAY_TRANSLATE_H */
