#ifndef SLO_VERDICTS_H
#define SLO_VERDICTS_H

#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "slo_budget.h"
#include "slo_window.h"

/*
 * The judged periods of a rolling Timeslices SLO (specs/slo.md §3, §10.2), two bits each: a
 * ring of W / p cells (none, good or bad; "none" is a period ignored by the missing-data policy
 * or never judged) plus a running (good, counted) sum per lookback. Recording a period is
 * O(lookbacks): the period enters every sum and the one leaving each lookback leaves it, so
 * counts are exact and never rescan the ring. A 30-day window of 1-minute periods is 43,200
 * cells, 10,800 bytes (u32 pairs would take 345,600); 90 days 32,400 bytes.
 *
 * The clock |end| is the end of the last recorded period (a multiple of p); the ring holds the
 * periods of [end - W, end).
 */

struct slo_verdicts;

struct slo_verdicts_config {
    uint64_t period_ms;           /* p: divides the window and every lookback */
    uint64_t window_ms;           /* W: whole minutes, <= SLO_WINDOW_MAX_MS */
    const uint64_t *lookbacks_ms; /* borrowed; whole minutes, multiples of p, <= W */
    size_t n_lookbacks;           /* <= SLO_WINDOW_MAX_LOOKBACKS */
    size_t max_bytes;             /* cap for object and ring; 0 = SLO_WINDOW_MAX_BYTES */
};

/*
 * Creates the ring per |cfg| (borrowed) with its clock at the start of the period holding
 * |start_ms|; every period is "none".
 * Returns 0 and a new object in |*out| (free it with slo_verdicts_free()), or one of these
 * negative codes:
 *   AG_EINVAL   |start_ms| outside [0, SLO_TIME_MAX_MS], a period of 0 or not dividing W or a
 *               lookback, W or a lookback of 0, not whole minutes, over 90 days, a lookback
 *               longer than W, or too many lookbacks
 *   AG_ETOOBIG  the ring does not fit |max_bytes|
 *   AG_ENOMEM   out of memory
 */
AG_NODISCARD int slo_verdicts_new(const struct slo_verdicts_config *cfg, int64_t start_ms,
                                  struct slo_verdicts **out);

/* Frees |v|; NULL is a no-op. */
void slo_verdicts_free(struct slo_verdicts *v);

/* The bytes |v| holds (object and ring). */
size_t slo_verdicts_bytes(const struct slo_verdicts *v);

/*
 * Records the verdict of the period starting at |start_ms|, which must be the clock (the next
 * period): GOOD and BAD count, IGNORED is "none". The clock moves one period on. O(lookbacks).
 * Returns 0, or AG_EINVAL when |start_ms| is not the clock (nothing changes).
 */
AG_NODISCARD int slo_verdicts_put(struct slo_verdicts *v, int64_t start_ms,
                                  enum slo_slice_verdict verdict);

/*
 * Moves the clock to the start of the period holding |t_ms| (never backwards), recording "none"
 * for the periods passed. A jump of the window or more clears the ring in one pass.
 */
void slo_verdicts_advance(struct slo_verdicts *v, int64_t t_ms);

/*
 * Good and counted periods of [end - L, end) for |lookback_ms| = W or a registered lookback.
 * Returns 0, or AG_ENOTFOUND for any other length.
 */
AG_NODISCARD int slo_verdicts_counts(const struct slo_verdicts *v, uint64_t lookback_ms,
                                     struct slo_counts *out);

/*
 * Good and counted periods among those held that lie wholly inside [from_ms, to_ms): a period
 * [s, s + p) counts iff s >= from_ms, s + p <= to_ms and end - W <= s < end. O(periods in the
 * range). For burn-down series and mid-period corrections.
 */
void slo_verdicts_range(const struct slo_verdicts *v, int64_t from_ms, int64_t to_ms,
                        struct slo_counts *out);

/* The clock: the end of the last recorded period. */
int64_t slo_verdicts_end(const struct slo_verdicts *v);

/*
 * Clears every period and sets the clock to |end_ms| (a multiple of p in [0, SLO_TIME_MAX_MS]:
 * AG_EINVAL otherwise, nothing changes). For rebuilding a ring from another record.
 */
AG_NODISCARD int slo_verdicts_reset(struct slo_verdicts *v, int64_t end_ms);

/* Checkpoints (internal to slo/engine): clock, number of cells, the packed cells. */
struct slo_wr;
struct slo_rd;
void slo_verdicts_save(const struct slo_verdicts *v, struct slo_wr *w);

/*
 * Reads what slo_verdicts_save() wrote for a ring of the same configuration into |v| and
 * recomputes the running sums from the cells. Returns 0, or AG_EPROTO (truncated, another
 * number of cells, a clock out of range or not on a period, a cell of value 3 or a padding bit
 * set); |v| may then be partly overwritten: load into a scratch object.
 */
AG_NODISCARD int slo_verdicts_load(struct slo_verdicts *v, struct slo_rd *r);

#endif /* SLO_VERDICTS_H */
