#ifndef SLO_EXPO_H
#define SLO_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "slo_decimal.h"

/*
 * Latency SLIs from OTLP exponential histograms (specs/slo.md §2: good = the count of the buckets
 * whose upper bound is at or below the threshold), decided exactly. Pure: no I/O.
 *
 * An ExponentialHistogramDataPoint at scale s has base b = 2^(2^-s); positive bucket index i
 * covers (b^i, b^(i+1)] = (2^(i/2^s), 2^((i+1)/2^s)]. For a threshold T > 0 let
 * k_s = floor(2^s * log2 T): bucket i is at or below T iff 2^((i+1)/2^s) <= T iff i + 1 <= k_s,
 * i.e. i < k_s (slo_expo_cut). Since k_(s-1) = floor(k_s / 2), every k_s for s in [-10, 20]
 * follows from K = k_20 by a floor shift, and K is computed once per threshold: the integer part
 * of log2 T exactly from T's decimal (num / 10^scale), then 20 binary digits of log2(T / 2^a) by
 * repeated squaring (y^2 >= 2: digit 1, y /= 2), each square kept as a rigorous interval of
 * 124-bit fixed-point bounds (floor of the lower, ceiling of the upper). A digit is taken only
 * when both bounds agree; otherwise slo_expo_thr_init says so (AG_EUNSUPP) rather than guess:
 * T would have to lie within about 2^-80 (relative) of a bucket bound of scale 20, which no
 * threshold of up to 18 significant digits tried in the tests does (tests/unit/slo/
 * test_slo_expo.c checks K against an independent big-integer and 100-digit computation).
 *
 * A bound 2^(k/2^s) is rational only when 2^s divides k (2^(p/q) is irrational for q > 1), so a
 * threshold is a bucket bound exactly when it is a power of two 2^e (and, at a scale s < 0, 2^-s
 * divides e): any other threshold counts the buckets up to the nearest lower bound, as for
 * explicit bounds, and the caller warns (slo_expo_is_bound).
 *
 * Negative buckets hold values < 0 <= T: always good. The zero bucket holds values in
 * [-zero_threshold, zero_threshold]: good when zero_threshold <= T (compared exactly; the SDKs
 * send 0). Downscaling (an SDK that lowers the scale of a cumulative series) merges 2^d buckets
 * into one: bucket j at scale s - d is buckets j*2^d .. (j+1)*2^d - 1 at scale s, so the good
 * count of a point at every coarser scale is a prefix sum of its own buckets (slo_expo_ladder).
 */

#define SLO_EXPO_MIN_SCALE (-10) /* the OTLP range of ExponentialHistogramDataPoint.scale */
#define SLO_EXPO_MAX_SCALE 20
#define SLO_EXPO_LADDER    (SLO_EXPO_MAX_SCALE - SLO_EXPO_MIN_SCALE + 1) /* 31 scales */

/* A threshold prepared for exponential buckets (slo_expo_thr_init). */
struct slo_expo_thr {
    struct slo_decimal t; /* the threshold (zero-bucket comparisons) */
    bool zero;            /* T = 0: no positive bucket is at or below it */
    bool pow2;            /* T = 2^e2 exactly */
    int64_t e2;           /* floor(log2 T) (T > 0) */
    int64_t k20;          /* floor(2^20 * log2 T) (T > 0) */
};

/* An exponential histogram point as the caller read it (all borrowed). */
struct slo_expo_point {
    int32_t scale;
    uint64_t count;
    uint64_t zero_count;
    double zero_threshold;
    int32_t pos_offset;  /* index of pos[0] */
    const uint64_t *pos; /* positive bucket counts */
    size_t n_pos;
    const uint64_t *neg; /* negative bucket counts (their offset does not matter here) */
    size_t n_neg;
};

/*
 * Prepares threshold |t| (borrowed; copied) into |*out|.
 * Returns 0, or AG_EUNSUPP when T is so close to a bucket bound of scale 20 that 124-bit bounds
 * cannot decide a binary digit of log2 T (|*out| is then unusable).
 */
AG_NODISCARD int slo_expo_thr_init(const struct slo_decimal *t, struct slo_expo_thr *out);

/* k_s for |scale| in [SLO_EXPO_MIN_SCALE, SLO_EXPO_MAX_SCALE]: positive bucket i is at or below
 * the threshold iff i < k_s. For T = 0 a value below every bucket index (INT64_MIN / 4). */
int64_t slo_expo_cut(const struct slo_expo_thr *t, int scale);

/* True when the threshold is one of the bucket bounds of |scale|. */
bool slo_expo_is_bound(const struct slo_expo_thr *t, int scale);

/* The threshold the buckets of |scale| actually count up to, 2^(k_s / 2^s), as a double for
 * messages (display only; 0 for T = 0). */
double slo_expo_effective_bound(const struct slo_expo_thr *t, int scale);

/*
 * The good counts of point |p| at its own scale and every coarser one: |out|[j] (room for
 * SLO_EXPO_LADDER values) = the good count at scale p->scale - j, each at most p->count, for
 * j = 0 .. n - 1, and every coarser scale down to SLO_EXPO_MIN_SCALE has out[n - 1] too. Sums
 * saturate at UINT64_MAX. Returns n >= 1, or AG_EINVAL when the point is malformed (scale out
 * of range, zero_threshold negative or not finite).
 */
AG_NODISCARD int slo_expo_ladder(const struct slo_expo_thr *t, const struct slo_expo_point *p,
                                 uint64_t *out);

#endif /* SLO_EXPO_H */
