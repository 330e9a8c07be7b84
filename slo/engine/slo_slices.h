#ifndef SLO_SLICES_H
#define SLO_SLICES_H

#include <stdint.h>

#include "ag_err.h"
#include "slo_budget.h"
#include "slo_window.h"

/*
 * Time slices for Timeslices SLOs over a rolling window (specs/slo.md §3, §4.1, §8): counts are
 * gathered per period; a period is judged once it has ended plus a grace delay for late batches
 * (good iff good / total >= the slice target, exactly; a period without data follows the
 * missing-data policy); the verdicts go to a ring of 2-bit cells (slo_verdicts.h) whose counts
 * feed slo_budget_eval() with good and total periods. Data for an already judged period is counted
 * as late and not added.
 */

/* Periods that may wait for judgement at once: the grace delay is below 14 periods. */
#define SLO_SLICES_MAX_PENDING 16

struct slo_slices;

struct slo_slices_config {
    uint64_t period_ms;           /* the slice: divides the window and every lookback */
    uint64_t window_ms;           /* the rolling SLO window (whole minutes, <= 90 days) */
    const uint64_t *lookbacks_ms; /* alert lookbacks (borrowed), multiples of the period */
    size_t n_lookbacks;
    struct slo_decimal target;    /* per-slice target, a fraction of 1 (timeSliceTarget) */
    enum slo_missing_policy missing;
    uint64_t grace_ms;            /* a period is judged at its end + grace */
    size_t max_bytes;             /* the verdict ring's cap; 0 = SLO_WINDOW_MAX_BYTES */
    bool calendar;                /* also count verdicts per calendar period (below) */
    enum slo_calendar_unit unit;  /* with |calendar|: the calendar period */
    int32_t utc_offset_s;         /* with |calendar|: fixed UTC offset, whole periods */
    const struct slo_tz *tz;      /* with |calendar|: an IANA zone (borrowed), or NULL */
};

struct slo_slices_stats {
    uint64_t judged;   /* periods judged */
    uint64_t no_data;  /* of which had no data (the policy decided) */
    uint64_t ignored;  /* of which left N (policy ignore) */
    uint64_t late;     /* observations for a period already judged: not counted */
};

/*
 * Creates the slices per |cfg| (borrowed); the first period contains |start_ms|.
 * Returns 0 and a new object in |*out| (the caller frees it with slo_slices_free()), or one of
 * these negative codes:
 *   AG_EINVAL   a period of 0 or not dividing the window or a lookback, a grace of
 *               SLO_SLICES_MAX_PENDING - 2 periods or more, a target outside (0, 1], or any
 *               slo_verdicts_new() error (a window over 90 days, lookbacks not whole periods)
 *               (with |calendar|: also any slo_calendar_init() error: a period must divide a
 *               day and the offset)
 *   AG_ETOOBIG  the period ring does not fit |max_bytes|
 *   AG_ENOMEM   out of memory
 */
AG_NODISCARD int slo_slices_new(const struct slo_slices_config *cfg, int64_t start_ms,
                                struct slo_slices **out);

/* Frees |s|; NULL is a no-op. */
void slo_slices_free(struct slo_slices *s);

/* The bytes |s| holds (object and its ring of verdicts): what the engine accounts per SLO. */
size_t slo_slices_bytes(const struct slo_slices *s);

/*
 * Adds |good| of |total| observed at |t_ms| to its period, first judging every period whose end
 * plus grace is at or before |t_ms|.
 * Returns 0 on success (late data is counted in stats.late and returns 0), or one of these
 * negative codes:
 *   AG_EINVAL   good > total, or |t_ms| outside [0, SLO_TIME_MAX_MS]
 *   AG_ETOOBIG  a period's count would overflow 64 bits (nothing added)
 */
AG_NODISCARD int slo_slices_add(struct slo_slices *s, int64_t t_ms, uint64_t good,
                                uint64_t total);

/*
 * Judges every period whose end plus grace is at or before |now_ms|. A gap longer than the
 * window costs at most one pass over the window's periods.
 */
void slo_slices_advance(struct slo_slices *s, int64_t now_ms);

/*
 * Good and counted periods (N) in |lookback_ms| (the window or a registered lookback), over the
 * judged periods: the whole periods of [J - L, J) where J is the end of the last judged period
 * (slo_slices_judged_until()).
 * Returns 0 on success, or AG_ENOTFOUND for a lookback that was not registered.
 */
AG_NODISCARD int slo_slices_counts(const struct slo_slices *s, uint64_t lookback_ms,
                                   struct slo_counts *out);

/*
 * For a calendar Timeslices SLO (§4.3): the judged periods of the current calendar period in
 * |*out| (good and counted periods so far), and in |*n_total| the N of the whole calendar period
 * known in advance (its periods minus those ignored so far): future periods are neither good nor
 * bad, so the budget (1 - o) * N only goes down during the period. Bounds in |*start_ms|,
 * |*end_ms| (either may be NULL).
 * Returns 0 on success, or AG_ENOTFOUND when the slices were created without |calendar|.
 */
AG_NODISCARD int slo_slices_calendar_counts(const struct slo_slices *s, struct slo_counts *out,
                                            uint64_t *n_total, int64_t *start_ms,
                                            int64_t *end_ms);

/*
 * The last closed calendar period's good and counted periods and bounds; false when none has
 * closed yet or the slices were created without |calendar|.
 */
bool slo_slices_calendar_previous(const struct slo_slices *s, struct slo_counts *out,
                                  int64_t *start_ms, int64_t *end_ms);

/*
 * Good and counted periods among the judged periods still held (the last window's) that lie
 * wholly inside [from_ms, to_ms) (slo_verdicts_range()): for burn-down series and mid-period
 * corrections.
 */
void slo_slices_range(const struct slo_slices *s, int64_t from_ms, int64_t to_ms,
                      struct slo_counts *out);

/*
 * Checkpoints (internal to slo/engine). slo_slices_load() reads what slo_slices_save() wrote
 * for slices of the same configuration, or with |legacy| what format version 2 wrote (the
 * periods as a slo_window of u32 pairs, converted to verdicts). Returns 0, AG_EPROTO
 * (truncated or inconsistent) or AG_ENOMEM.
 */
struct slo_wr;
struct slo_rd;
void slo_slices_save(const struct slo_slices *s, struct slo_wr *w);
AG_NODISCARD int slo_slices_load(struct slo_slices *s, struct slo_rd *r, bool legacy);

/* The end of the last judged period (Unix ms). */
int64_t slo_slices_judged_until(const struct slo_slices *s);

/* Copies the counters into |*out|. */
void slo_slices_get_stats(const struct slo_slices *s, struct slo_slices_stats *out);

#endif /* SLO_SLICES_H */
