#ifndef EX_CW_DELTA_H
#define EX_CW_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"

/*
 * The cumulative -> delta cache of the awsemf exporter (emf-cwlogs.md 3.1): the last value of
 * each series, keyed by an opaque byte string the caller builds (metric name, namespace, log
 * group, log stream and labels). Bounded twice: entries not updated for |ttl_ns| expire, and at
 * |max_entries| the least recently updated entry is evicted to make room. Both evictions are
 * counted. One event loop: not thread-safe.
 */

/* Defaults: upstream's 5 minutes, and a cap that holds a large node's series. */
#define EX_CW_DELTA_DEFAULT_TTL_NS      (300ull * 1000000000ull)
#define EX_CW_DELTA_DEFAULT_MAX_ENTRIES 100000u

struct ex_cw_delta;

/* What ex_cw_delta_update() decided for one point. */
enum ex_cw_delta_outcome {
    EX_CW_DELTA_EMIT = 0,     /* *value_out holds the delta (or the raw value after a reset) */
    EX_CW_DELTA_BASELINE = 1, /* first point of the series (or an overlapping restart): the point
                                 only sets the baseline and is not emitted */
};

struct ex_cw_delta_stats {
    size_t entries;       /* series held now */
    uint64_t evicted_ttl; /* entries expired after ttl_ns without updates */
    uint64_t evicted_cap; /* entries evicted to stay within max_entries */
    uint64_t resets;      /* resets seen (a negative delta, or a new start time) */
};

/*
 * Creates an empty cache. |max_entries| 0 and |ttl_ns| 0 take the defaults above.
 * Returns 0 and a new cache in |*out| (free it with ex_cw_delta_free()), or AG_ENOMEM.
 */
AG_NODISCARD int ex_cw_delta_new(size_t max_entries, uint64_t ttl_ns, struct ex_cw_delta **out);

/* Frees the cache. ex_cw_delta_free(NULL) is a no-op. */
void ex_cw_delta_free(struct ex_cw_delta *d);

/*
 * Feeds one cumulative point of the series |key| (|klen| bytes, borrowed): |value| observed at
 * |time_ns|, counting since |start_ns| (0 = unknown), with |now_ns| the current wall clock (for
 * the TTL). |monotonic| says whether a decrease is a reset (monotonic sums) or a real decrease
 * (up-down counters). Rules (emf-cwlogs.md 3.1):
 *   - unknown series: BASELINE, or EMIT of the raw value when |retain_initial|;
 *   - a start time different from the stored one: a restart; EMIT of the raw value when the new
 *     start is later than the previous point's time, else BASELINE (re-baseline);
 *   - otherwise EMIT of value - previous; for |monotonic| a negative difference is a reset and
 *     EMIT gives the raw value.
 * The stored value always becomes |value|. Expired entries are swept first.
 * Returns the outcome (>= 0) with |*value_out| set when EMIT, or AG_ENOMEM (the point is then
 * not counted as seen).
 */
AG_NODISCARD int ex_cw_delta_update(struct ex_cw_delta *d, const void *key, size_t klen,
                                    uint64_t start_ns, uint64_t time_ns, uint64_t now_ns,
                                    double value, int monotonic, int retain_initial,
                                    double *value_out);

/* Drops every entry not updated within the TTL before |now_ns|. */
void ex_cw_delta_expire(struct ex_cw_delta *d, uint64_t now_ns);

/* Copies the counters into |out|. */
void ex_cw_delta_get_stats(const struct ex_cw_delta *d, struct ex_cw_delta_stats *out);

#endif /* EX_CW_DELTA_H */
