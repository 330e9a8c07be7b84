#ifndef BENCH_SPANS_H
#define BENCH_SPANS_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * The two span shapes of specs/performance.md §3, encoded as ExportTraceServiceRequest bodies
 * for the load generator and the decode floor. "small" is the Collector testbed's span
 * (load-generator-span, CLIENT, two int attributes, 1 ms, ~144 B); "realistic" is an HTTP server
 * span with ten semantic-convention attributes (~440 B).
 */

enum bench_shape {
    BENCH_SHAPE_SMALL = 0,
    BENCH_SHAPE_REALISTIC = 1,
};

/*
 * Parses "small" or "realistic". Returns 0 and the shape in |*out|, or AG_EINVAL.
 */
AG_NODISCARD int bench_shape_parse(const char *s, enum bench_shape *out);

/* "small" or "realistic". */
const char *bench_shape_name(enum bench_shape shape);

/*
 * Encodes the |seq|th request of a series: one resource, one scope, |nspans| spans of |shape|.
 * Trace ids, span ids and sequence attributes differ from one |seq| to the next; timestamps
 * start at |base_ns|. Returns a new buffer in |*out| (the caller frees it with ag_free()) and
 * its length in |*len_out|.
 * Returns 0 on success, or one of these negative codes:
 *   AG_EINVAL  |nspans| is 0 or above 1,000,000
 *   AG_ENOMEM  out of memory
 */
AG_NODISCARD int bench_spans_encode(enum bench_shape shape, size_t nspans, uint64_t seq,
                                    uint64_t base_ns, uint8_t **out, size_t *len_out);

#endif /* BENCH_SPANS_H */
