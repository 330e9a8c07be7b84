#ifndef SLO_SAMPLING_H
#define SLO_SAMPLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slo_decimal.h"

/*
 * The adjusted count of a sampled span (specs/slo.md §2.1: "weight each span by its adjusted
 * count (1 / sampling probability) when the SDK records one"), read from the span's W3C
 * tracestate as OTLP carries it (Span.trace_state). Pure: no I/O, no allocation.
 *
 * OpenTelemetry's entry is `ot`, a `;`-separated list of `key:value` sub-keys (OpenTelemetry
 * specification, "TraceState Handling" and "TraceState: Probability Sampling"):
 * - `th`: the rejection threshold T, 1 to 14 hex digits extended with trailing zeros to 14 (56
 *   bits); probability (2^56 - T) / 2^56, adjusted count 2^56 / (2^56 - T); `th:0` is 1.
 *   When `rv` (14 hex digits, the explicit randomness) is also there, a kept span has rv >= T;
 *   rv < T is inconsistent.
 * - the older experimental form `p` (and `r`): unsigned decimals, p in [0, 63] with adjusted
 *   count 2^p, p = 63 meaning zero adjusted count; r in [0, 62]; a sampled span has p <= r
 *   unless p = 63. Used only when there is no `th`.
 * No `ot` entry, or one with neither `th` nor `p`, says nothing about sampling (a non-probability
 * sampler, or none): the span counts 1, as before this existed.
 *
 * Adjusted counts are returned in fixed point with 32 fractional bits, the nearest multiple of
 * 2^-32 (ties up): exact for every power-of-two probability (th:8 is 2, th:c is 4, p:3 is 8),
 * within 2^-33 of 2^56 / (2^56 - T) otherwise (th:aaab, "1 in 3", is 3.0000457...). The caller
 * keeps the fractions (ex_slo_feed.c carries them per SLO so that the counts it adds stay whole).
 */

#define SLO_WEIGHT_FRAC_BITS 32
#define SLO_WEIGHT_ONE       ((slo_u128)1 << SLO_WEIGHT_FRAC_BITS) /* adjusted count 1 */

enum slo_ts_status {
    SLO_TS_NONE,      /* nothing about probability sampling: weight 1 */
    SLO_TS_ADJUSTED,  /* `th` or `p` read: the weight is the adjusted count (0 for p:63) */
    SLO_TS_MALFORMED, /* the tracestate or its `ot` entry could not be read: weight 1 */
};

/* Longest `ot` value read (the OpenTelemetry entry's limit). */
#define SLO_TS_OT_MAX 256u

/*
 * Reads the adjusted count from the |len| bytes of tracestate |ts| (borrowed; not necessarily
 * NUL-terminated). Sets |*weight| (units of 2^-32: SLO_WEIGHT_ONE is 1; at most 2^62 * 2^32) and
 * returns the status; for SLO_TS_MALFORMED |*why| (may be NULL) gets a static message saying
 * what was wrong, and the weight is SLO_WEIGHT_ONE.
 *
 * W3C list members are separated by ',' with optional spaces or tabs around them; empty members
 * are skipped; a member without '=' or with an empty key, or a second `ot` member, makes the
 * whole tracestate malformed. Only `ot` is interpreted; other vendors' values are not checked.
 */
enum slo_ts_status slo_tracestate_weight(const char *ts, size_t len, slo_u128 *weight,
                                         const char **why);

#endif /* SLO_SAMPLING_H */
