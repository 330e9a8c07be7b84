#ifndef SLO_BUDGET_H
#define SLO_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "slo_decimal.h"

/*
 * Error budgets, status, burn rates and the multiwindow burn-rate condition (specs/slo.md §5-7),
 * all decided by exact integer comparisons. Counts are events (Occurrences) or periods
 * (Timeslices); the rational fields exist for display and are converted with slo_rat_to_double().
 */

enum slo_status {
    SLO_STATUS_NO_DATA,
    SLO_STATUS_OK,
    SLO_STATUS_WARNING,
    SLO_STATUS_BREACHED,
};

/* A signed rational num / den (den > 0), for display. */
struct slo_rat {
    slo_u128 num;
    slo_u128 den;
    bool neg;
};

/* Good and total counts over one window or lookback (bad = total - good). */
struct slo_counts {
    uint64_t good;
    uint64_t total;
};

struct slo_budget {
    uint64_t good;
    uint64_t bad;
    uint64_t total;                    /* events (Occurrences) or periods (Timeslices) */
    bool no_data;                      /* total == 0: attainment and burn are null */
    bool met;                          /* bad <= budget_total (exactly on budget is met) */
    bool exhausted;                    /* remaining <= 0 */
    uint64_t allowed_bad;              /* floor(budget_total): whole bad events or periods */
    struct slo_rat attainment;         /* good / total; 0/1 when no_data (null in reports) */
    struct slo_rat budget_total;       /* (1 - o) * total */
    struct slo_rat remaining;          /* budget_total - bad; may be negative */
    struct slo_rat remaining_fraction; /* remaining / budget_total; 1 when no_data */
    bool has_seconds;                  /* Timeslices: period_seconds was given */
    struct slo_rat budget_seconds;     /* budget_total * period seconds */
    struct slo_rat remaining_seconds;  /* remaining * period seconds; may be negative */
    enum slo_status status;
};

/* The burn rate over one lookback: (bad / total) / (1 - o), null when total is 0. */
struct slo_burn {
    bool has_data;
    struct slo_rat rate;
};

/* One short-AND-long pair over one threshold, with the minimum-events guard (§7.1, §7.3). */
struct slo_mwmbr {
    struct slo_decimal threshold; /* fires on burn > threshold (strict) */
    uint64_t min_events;          /* the long window must hold at least this many total */
    uint64_t min_bad;             /* ... and at least this many bad (Grafana's MinFailures) */
};

/* A default pair derived from the SLO window (the SRE Workbook's table scaled, §7.1). */
struct slo_mwmbr_default {
    const char *severity;         /* "page" or "ticket"; static */
    const char *threshold;        /* decimal text: "14.4", "6", "3", "1"; static */
    uint64_t long_ms;             /* L30 * T / 30 d, rounded down to |bucket_ms| */
    uint64_t short_ms;            /* long / 12, rounded down to |bucket_ms| */
};

#define SLO_MWMBR_DEFAULTS 4

/*
 * Evaluates the error budget of |good| of |total| against |objective| (a fraction, from
 * slo_objective_parse) with the warning fraction |warning| (NULL: the default 0.5); borrows both.
 * |period_seconds| > 0 adds the budget in seconds (Timeslices: counts are periods).
 * Status order: NO_DATA, BREACHED (remaining < 0), WARNING (remaining_fraction < warning, strict),
 * OK.
 * Returns 0 on success, or one of these negative codes:
 *   AG_EINVAL  good > total (inconsistent selectors), an objective outside (0, 1), or
 *              |period_seconds| or (with seconds) |total| above 2^32
 */
AG_NODISCARD int slo_budget_eval(const struct slo_decimal *objective,
                                 const struct slo_decimal *warning, uint64_t good, uint64_t total,
                                 uint64_t period_seconds, struct slo_budget *out);

/*
 * The burn rate of |bad| of |total| against |objective| (borrowed) into |*out|; has_data is false
 * (the report's null) when |total| is 0, never NaN.
 */
void slo_burn_rate(const struct slo_decimal *objective, uint64_t bad, uint64_t total,
                   struct slo_burn *out);

/*
 * Whether the burn of |bad| of |total| is strictly above |threshold| (both borrowed); false with
 * no data. Exact: bad * den * x_den > x_num * e * total.
 */
bool slo_burn_exceeds(const struct slo_decimal *objective, uint64_t bad, uint64_t total,
                      const struct slo_decimal *threshold);

/*
 * Whether |threshold| can never be exceeded at |objective|: X >= 1 / (1 - o) (strict comparison).
 */
bool slo_threshold_unreachable(const struct slo_decimal *objective,
                               const struct slo_decimal *threshold);

/*
 * The multiwindow condition |cond| over |long_w| and |short_w| (all borrowed): fires iff the long
 * window holds at least min_events total and min_bad bad, and both burns are > the threshold.
 * A window without data never fires.
 */
bool slo_mwmbr_fires(const struct slo_decimal *objective, const struct slo_mwmbr *cond,
                     const struct slo_counts *long_w, const struct slo_counts *short_w);

/*
 * The budgetDrop condition (§7.2, Nobl9's budgetDrop): whether the consumed fraction of the
 * budget rose by more than |drop| (a fraction of the budget; borrowed) from a reference to now:
 * cf1 - cf0 > drop (strict), where cf = bad * den / (e * n * scale) is the fraction of the
 * budget (1 - o) * n spent by |bad| / |scale| bad units of |n| (scale 1 for events and periods,
 * 10^18 for RatioTimeslices' scaled ratios) against |objective| (borrowed). A reference without
 * data (|n0| 0) consumed nothing; now without data (|n1| 0) never fires. Exact: products of up
 * to 320 bits compared in 384. Requires bad <= n * scale for both.
 */
bool slo_budget_drop_exceeds(const struct slo_decimal *objective, slo_u128 bad0, uint64_t n0,
                             slo_u128 bad1, uint64_t n1, uint64_t scale,
                             const struct slo_decimal *drop);

/*
 * Fills |out| with the four default pairs for an SLO window of |window_ms|, windows rounded down
 * to whole |bucket_ms| (> 0).
 * Returns 0 on success, or AG_EINVAL when a short window would be shorter than 2 buckets.
 */
AG_NODISCARD int slo_mwmbr_defaults(uint64_t window_ms, uint64_t bucket_ms,
                                    struct slo_mwmbr_default out[SLO_MWMBR_DEFAULTS]);

/*
 * Time to exhaustion in seconds at |burn| over an SLO window of |window_s| seconds, from |b|
 * (borrowed): remaining_fraction * T / burn when |entire| is false, T / burn when true.
 * Returns false (the report's null) when the burn is null or 0; 0 seconds when exhausted.
 * The result is a display value (double), never compared.
 */
bool slo_tte_seconds(const struct slo_budget *b, const struct slo_burn *burn, uint64_t window_s,
                     bool entire, double *out);

/*
 * Converts |r| to the nearest double, for display only.
 */
double slo_rat_to_double(const struct slo_rat *r);

/*
 * Returns the report name of |s|: "OK", "WARNING", "BREACHED" or "NO_DATA".
 */
const char *slo_status_name(enum slo_status s);

#endif /* SLO_BUDGET_H */
