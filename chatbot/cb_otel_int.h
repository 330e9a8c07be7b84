#ifndef CB_OTEL_INT_H
#define CB_OTEL_INT_H

#include "ag_buf.h"
#include "cb_otel.h"

/*
 * cb_otel internals that its unit tests reach: the encoders that the exporters call, run here
 * without any HTTP. Not for the service.
 */

/* OTLP's HistogramDataPoint bucket of |v| for |n| bounds: the first i with v <= bounds[i], or n. */
size_t cb_otel_bucket_index(const double *bounds, size_t n, double v);

/*
 * Takes up to max_batch queued spans (oldest first) and appends them to |out| as one
 * ExportTraceServiceRequest; |*n_out| = spans taken off the queue (0: nothing queued, nothing
 * written), also on failure: those spans are gone.
 * Returns 0, or AG_ENOMEM, AG_ETOOBIG.
 */
AG_NODISCARD int cb_otel_encode_traces(struct cb_otel *tel, struct ag_buf *out, size_t *n_out);

/* The same for queued log records (ExportLogsServiceRequest). */
AG_NODISCARD int cb_otel_encode_logs(struct cb_otel *tel, struct ag_buf *out, size_t *n_out);

/*
 * Appends every instrument's points (cumulative, start time = cb_otel_start_ns(), time =
 * |now_ns|) as one ExportMetricsServiceRequest; |*n_out| = data points written.
 */
AG_NODISCARD int cb_otel_encode_metrics(struct cb_otel *tel, uint64_t now_ns, struct ag_buf *out,
                                        size_t *n_out);

/* The fixed start time of every cumulative point (when |tel| was made). */
uint64_t cb_otel_start_ns(const struct cb_otel *tel);

/* The library's own bounds of http.server.request.duration (semantic conventions), n = 14. */
extern const double cb_otel_duration_bounds[14];

#endif /* CB_OTEL_INT_H */
