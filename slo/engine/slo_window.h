#ifndef SLO_WINDOW_H
#define SLO_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "slo_budget.h"

/*
 * Integer SLI counts in time buckets (specs/slo.md §4, §10.2).
 *
 * A rolling window keeps (good, total) as u32 pairs in one or two rings of buckets aligned on the
 * Unix epoch, plus a u64 running sum per registered lookback: an update touches one bucket per
 * ring (O(1)); closing a bucket adds it to each lookback and subtracts the bucket leaving it.
 * The window at time T is [T - L, T) and holds only whole buckets: a bucket [s, s + p) counts iff
 * s >= T - L and s + p <= T, so an event exactly at T - L counts and one exactly at T does not.
 *
 * Layout chosen by slo_window_new() within a memory cap (default 128 KiB):
 *   - one ring of 1-minute buckets when the SLO window fits (up to about 11 days);
 *   - otherwise 1-minute buckets for the lookbacks up to 3 days, and for the SLO window and longer
 *     lookbacks the finest of 5, 10, 15, 30 or 60 minutes that divides them and fits the cap:
 *     30 days -> 5 minutes (4,321 + 8,641 buckets of 8 bytes = 103,696 bytes), 90 days -> 15.
 * Counts are exact at every layer; the resolution decides where a window's edges may fall.
 *
 * One window belongs to one thread (the engine's); per-thread windows merged at bucket close,
 * or atomic bucket increments, are future work.
 */

#define SLO_WINDOW_MAX_BYTES (128u * 1024u)
#define SLO_WINDOW_MAX_MS    (90ull * 86400 * 1000)
#define SLO_WINDOW_MAX_LOOKBACKS 16
/* Times are Unix ms in [0, SLO_TIME_MAX_MS] (before year 10000): bucket maths cannot overflow. */
#define SLO_TIME_MAX_MS 253402300800000ll

struct slo_window;

struct slo_window_config {
    uint64_t window_ms;           /* the rolling SLO window W: whole minutes, <= 90 days */
    const uint64_t *lookbacks_ms; /* alert lookbacks (borrowed), whole minutes, <= W */
    size_t n_lookbacks;           /* <= SLO_WINDOW_MAX_LOOKBACKS */
    size_t max_bytes;             /* memory cap for the rings; 0 = SLO_WINDOW_MAX_BYTES */
    uint64_t bucket_ms;           /* 0: the layout above; else one ring of this width, which
                                   * must divide W and every lookback (Timeslices periods) */
};

/* What the window refused or noticed; nothing is dropped without a count here. */
struct slo_window_stats {
    uint64_t late;     /* observations added to an already closed bucket */
    uint64_t too_old;  /* observations older than every ring: not counted */
    uint64_t overflow; /* observations refused because a bucket would pass 2^32 - 1 */
};

/*
 * Creates a window per |cfg| (borrowed) whose first open bucket contains |start_ms| (Unix ms).
 * Returns 0 and a new object in |*out| (the caller frees it with slo_window_free()), or one of
 * these negative codes:
 *   AG_EINVAL   |start_ms| outside [0, SLO_TIME_MAX_MS], a bucket_ms not dividing W, a window
 *               or lookback of 0, not whole
 *               minutes, over 90 days, a lookback longer than W or shorter than 2 buckets of
 *               its ring (1 bucket with an explicit bucket_ms: one period), or too many
 *               lookbacks
 *   AG_ETOOBIG  no layout fits |max_bytes|
 *   AG_ENOMEM   out of memory
 */
AG_NODISCARD int slo_window_new(const struct slo_window_config *cfg, int64_t start_ms,
                                struct slo_window **out);

/* Frees |w|; NULL is a no-op. */
void slo_window_free(struct slo_window *w);

/*
 * Adds |good| of |total| observed at |t_ms| to the bucket containing it. A time at or past the
 * open bucket's end first advances the window to |t_ms|. A time in a closed bucket still held is
 * added to it and to every lookback holding it (counted in stats.late); an older one is counted
 * in stats.too_old and returns 0 without changing any count.
 * Returns 0 on success, or one of these negative codes:
 *   AG_EINVAL   good > total, or |t_ms| outside [0, SLO_TIME_MAX_MS]
 *   AG_ETOOBIG  a bucket would pass 2^32 - 1 (counted in stats.overflow; nothing added)
 */
AG_NODISCARD int slo_window_add(struct slo_window *w, int64_t t_ms, uint64_t good, uint64_t total);

/*
 * Moves the window's clock to |now_ms| (never backwards: an earlier time is ignored), closing
 * every bucket that ends at or before it. O(1) per closed bucket per lookback; a jump longer than
 * the rings clears them in one pass. Times past SLO_TIME_MAX_MS are clamped to it.
 */
void slo_window_advance(struct slo_window *w, int64_t now_ms);

/*
 * The counts of the lookback |lookback_ms| (W or one given at creation) at the window's clock:
 * whole buckets in [now - L, now).
 * Returns 0 on success, or AG_ENOTFOUND for a lookback that was not registered.
 */
AG_NODISCARD int slo_window_counts(const struct slo_window *w, uint64_t lookback_ms,
                                   struct slo_counts *out);

/*
 * The counts of the closed buckets of the ring holding |lookback_ms| (W or a registered lookback)
 * that lie wholly inside [from_ms, to_ms) and are still held: a bucket [s, s + p) counts iff
 * s >= from_ms, s + p <= to_ms and s + p <= the clock. O(buckets in the range). For burn-down
 * series and per-period reads (RatioTimeslices).
 * Returns 0 on success, or AG_ENOTFOUND for a lookback that was not registered.
 */
AG_NODISCARD int slo_window_range(const struct slo_window *w, uint64_t lookback_ms, int64_t from_ms,
                                  int64_t to_ms, struct slo_counts *out);

/*
 * The oldest bucket start still held by the ring of |lookback_ms|, or -1 if not registered.
 */
int64_t slo_window_oldest_ms(const struct slo_window *w, uint64_t lookback_ms);

/* The bucket width (ms) used for |lookback_ms|, or 0 if not registered. */
uint64_t slo_window_resolution_ms(const struct slo_window *w, uint64_t lookback_ms);

/* The bytes the window holds (object and rings): what SLO_WINDOW_MAX_BYTES bounds. */
size_t slo_window_bytes(const struct slo_window *w);

/* The window's clock (Unix ms). */
int64_t slo_window_now(const struct slo_window *w);

/* Copies the refusal counters into |*out|. */
void slo_window_get_stats(const struct slo_window *w, struct slo_window_stats *out);

/* ---- checkpoints (internal to slo/engine: slo_engine_save / slo_engine_restore) ---------- */

struct slo_calendar;

struct slo_wr;
struct slo_rd;

/* Appends the window's whole state (clock, rings, sums, stats); errors stay in |w_out|. */
void slo_window_save(const struct slo_window *w, struct slo_wr *w_out);

/*
 * Reads a state written by slo_window_save() for a window of the same configuration into |w|.
 * Checks the layout against |w|'s and every running sum against its buckets. Returns 0, or
 * AG_EPROTO (truncated, another layout, inconsistent; |w| may be partly overwritten: load into
 * a scratch window).
 */
AG_NODISCARD int slo_window_load(struct slo_window *w, struct slo_rd *r);

/* The same for a calendar accumulator (checked against |c|'s unit, offset and bucket). */
void slo_calendar_save(const struct slo_calendar *c, struct slo_wr *w_out);
AG_NODISCARD int slo_calendar_load(struct slo_calendar *c, struct slo_rd *r);

/* ---- time slices (Timeslices, RatioTimeslices inputs) ---------------------------------------- */

/* What a period with no data counts as (§8). */
enum slo_missing_policy {
    SLO_MISSING_GOOD,   /* Otter's default */
    SLO_MISSING_BAD,
    SLO_MISSING_IGNORE, /* the period leaves N: the budget shrinks */
};

enum slo_slice_verdict {
    SLO_SLICE_GOOD,
    SLO_SLICE_BAD,
    SLO_SLICE_IGNORED,
};

/*
 * The verdict of one period holding |good| of |total| (good <= total): GOOD iff
 * good / total >= |target| (borrowed, a fraction of 1; exact), BAD otherwise; a period with
 * total == 0 follows |policy|. This is the missing-data hook every period passes through.
 */
enum slo_slice_verdict slo_slice_judge(uint64_t good, uint64_t total,
                                       const struct slo_decimal *target,
                                       enum slo_missing_policy policy);

/* ---- calendar periods ------------------------------------------------------------------------ */

enum slo_calendar_unit {
    SLO_CAL_DAY,
    SLO_CAL_WEEK, /* ISO weeks: Monday 00:00 local */
    SLO_CAL_MONTH,
    SLO_CAL_QUARTER,
    SLO_CAL_YEAR,
};

/*
 * The calendar period of |unit| containing |t_ms| in a zone at the fixed UTC offset
 * |utc_offset_s| (east positive; 0 = UTC): [*start_ms, *end_ms) in Unix ms, boundaries at local
 * midnights. IANA zones with DST are not supported yet: their offsets change inside a period.
 * Returns 0 on success, or AG_EINVAL for an offset beyond +-18 h, an unknown unit or |t_ms|
 * outside [0, SLO_TIME_MAX_MS].
 */
AG_NODISCARD int slo_calendar_bounds(enum slo_calendar_unit unit, int32_t utc_offset_s,
                                     int64_t t_ms, int64_t *start_ms, int64_t *end_ms);

struct slo_tz;

/*
 * As slo_calendar_bounds() in the IANA zone |tz| (slo_tz.h: boundaries at local midnights
 * across DST changes) when |tz| is not NULL, else at the fixed offset |utc_offset_s|.
 * Returns 0, AG_EINVAL (as above) or AG_EUNSUPP (slo_tz_bounds: a zone too irregular there).
 */
AG_NODISCARD int slo_calendar_bounds_tz(enum slo_calendar_unit unit, const struct slo_tz *tz,
                                        int32_t utc_offset_s, int64_t t_ms, int64_t *start_ms,
                                        int64_t *end_ms);

/*
 * A calendar SLO's counts on the to-date basis (§4.3: CloudWatch's; a breach can recover later
 * in the period, and the counts restart at each boundary). Whole buckets of |bucket_ms| only, as
 * for rolling windows; the last closed period is kept for reports and late data. Caller-owned
 * storage: fields are private (do not touch), use the functions below.
 */
struct slo_calendar {
    enum slo_calendar_unit unit;
    int32_t utc_offset_s;
    const struct slo_tz *tz;  /* borrowed; NULL: the fixed offset */
    uint64_t bucket_ms;
    int64_t clock;
    int64_t start_ms, end_ms; /* the current period */
    int64_t open_start;       /* the open bucket */
    struct slo_counts open;   /* counts in the open bucket */
    struct slo_counts closed; /* counts in the period's closed buckets */
    bool has_prev;
    int64_t prev_start_ms, prev_end_ms;
    struct slo_counts prev;   /* the last closed period, whole */
    struct slo_window_stats stats;
};

/*
 * Initialises |c| for periods of |unit| in the fixed offset |utc_offset_s|, buckets of
 * |bucket_ms| (0 = 1 minute), the clock at |now_ms|. Nothing to clean up.
 * Returns 0 on success, or AG_EINVAL for a bad offset, unit or time, or an offset that is not a
 * whole number of buckets (period boundaries must fall on bucket boundaries).
 */
AG_NODISCARD int slo_calendar_init(struct slo_calendar *c, enum slo_calendar_unit unit,
                                   int32_t utc_offset_s, uint64_t bucket_ms, int64_t now_ms);

/*
 * As slo_calendar_init() with periods in the IANA zone |tz| (borrowed: it must outlive |c|;
 * NULL: the fixed offset). With a zone, the current period's boundaries must be whole buckets
 * (AG_EINVAL otherwise, as for an offset); a later boundary that is not (a zone changing to an
 * offset that is not a whole number of buckets) closes the period at the bucket holding it.
 */
AG_NODISCARD int slo_calendar_init_tz(struct slo_calendar *c, enum slo_calendar_unit unit,
                                      const struct slo_tz *tz, int32_t utc_offset_s,
                                      uint64_t bucket_ms, int64_t now_ms);

/*
 * Adds |good| of |total| observed at |t_ms|, first moving the clock to |t_ms|. Data for a closed
 * bucket of the current or the previous period is added (stats.late); older data is counted in
 * stats.too_old.
 * Returns 0 on success, or AG_EINVAL (good > total, a time out of range) or AG_ETOOBIG (a count
 * would overflow 64 bits; stats.overflow).
 */
AG_NODISCARD int slo_calendar_add(struct slo_calendar *c, int64_t t_ms, uint64_t good,
                                  uint64_t total);

/* Moves the clock to |now_ms| (never backwards), closing buckets and periods. */
void slo_calendar_advance(struct slo_calendar *c, int64_t now_ms);

/*
 * The current period's counts to date (whole buckets in [start, clock)) into |*out|, and its
 * bounds into |*start_ms| and |*end_ms| (either may be NULL).
 */
void slo_calendar_counts(const struct slo_calendar *c, struct slo_counts *out, int64_t *start_ms,
                         int64_t *end_ms);

/*
 * The last closed period's counts and bounds; returns false when no period has closed yet.
 */
bool slo_calendar_previous(const struct slo_calendar *c, struct slo_counts *out,
                           int64_t *start_ms, int64_t *end_ms);

#endif /* SLO_WINDOW_H */
