#ifndef BENCH_SIGNALS_H
#define BENCH_SIGNALS_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * Realistic metrics and logs requests for the CloudWatch benchmarks, built like bench_spans.c's
 * span shapes (generated protobuf-c structures, packed once).
 *
 * Metrics: one resource (the realistic span shape's ten attributes), one scope, and metrics of
 * ten data points each, in turn a cumulative monotonic int sum, a double gauge and a cumulative
 * histogram (10 bounds, sum, min, max); every point has three attributes (http.route among five,
 * http.request.method among two, http.response.status_code), so ten label sets per request.
 * Logs: the same resource and scope; records with a time and an observed time, a severity
 * (mostly INFO, some WARN and ERROR), a ~200-byte string body, a trace and span id, and four
 * attributes (code.function, thread.id, http.route, user.id).
 */

/*
 * Encodes the |seq|th ExportMetricsServiceRequest of a series holding |npoints| data points in
 * all; cumulative values grow with |seq|; times start at |base_ns|. Returns a new buffer in |*out|
 * (ag_free()) and its length in |*len_out|. Returns 0, AG_EINVAL (|npoints| 0 or above
 * 1,000,000) or AG_ENOMEM.
 */
AG_NODISCARD int bench_metrics_encode(size_t npoints, uint64_t seq, uint64_t base_ns,
                                      uint8_t **out, size_t *len_out);

/* The same for an ExportLogsServiceRequest of |nrecords| log records. */
AG_NODISCARD int bench_logs_encode(size_t nrecords, uint64_t seq, uint64_t base_ns, uint8_t **out,
                                   size_t *len_out);

#endif /* BENCH_SIGNALS_H */
