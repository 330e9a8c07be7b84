#ifndef SLO_EVAL_INT_H
#define SLO_EVAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slo_decimal.h"
#include "slo_groups.h"
#include "slo_eval.h"
#include "slo_slices.h"
#include "slo_window.h"

/*
 * The engine's private state, shared by slo_eval.c (evaluation, reports) and slo_eval_state.c
 * (checkpoints). Not for other modules.
 */

enum slo_state_kind {
    ST_OCC_ROLL,   /* Occurrences, rolling: win over W and the lookbacks */
    ST_SLICES_ROLL, /* Timeslices, rolling: sl */
    ST_RATIO_ROLL, /* RatioTimeslices, rolling: win with one bucket per period over W; when
                    * that does not fit, over the alert windows up to 3 days only (ring_ms),
                    * the periods leaving it folded into grp, groups of k periods over W */
    ST_OCC_CAL,    /* Occurrences, calendar: cal (to date) + win over the lookbacks */
    ST_SLICES_CAL, /* Timeslices, calendar: sl with calendar periods */
    ST_RATIO_CAL,  /* RatioTimeslices, calendar: win with one bucket per period over the
                    * longest calendar period (day, week, month) or a month's ring (quarter,
                    * year: the slices leaving it folded into acc) and the alert windows */
};

struct lb;

/* RatioTimeslices: the sum of period ratios (each floor(good * S / total), S = 10^18) over some
 * periods. */
struct ratio_sum {
    slo_u128 sum;     /* sum of floor(g * S / t) (S per good-by-policy period) */
    uint64_t n;       /* periods counted */
    uint64_t inexact; /* periods whose ratio did not terminate within 18 decimals */
    uint64_t bad_int; /* periods with ratio 0 */
    uint64_t ignored; /* periods without data left out (policy ignore) */
};

/* ST_RATIO_CAL over a quarter or a year: the slices of the calendar period [cs, ce) that left
 * the ring (no longer amendable), from the engine's start on, summed exactly as ratio_sum reads
 * them (slo_eval.c). */
struct ratio_acc {
    bool has;          /* false: nothing folded yet (the other fields are 0) */
    int64_t cs, ce;    /* the calendar period of the folded slices */
    struct ratio_sum r;
};

/* The budget consumed at one sampling boundary, as the evaluation at that instant reported it:
 * bad (scaled by the ring's scale: 1, or SLO_RATIO_SCALE for RatioTimeslices) of n events or
 * periods; n == 0: no data (nothing consumed). */
struct drop_sample {
    slo_u128 bad;
    uint64_t n;
};

/* budgetDrop conditions (§7.2): the budget sampled at every boundary of step_ms over the longest
 * drop lookback, so an evaluation at T reads the budget of floor(T) - L exactly (the window
 * there needs data older than the window, which the rings no longer hold). */
struct drop_ring {
    uint64_t step_ms;      /* boundaries: multiples of this (the budget's resolution) */
    uint64_t scale;        /* of drop_sample.bad */
    size_t cap;            /* samples held: the longest lookback / step + 1 */
    size_t n;              /* consecutive samples ending at |last| (0: none) */
    int64_t last;          /* the newest sampled boundary (when n > 0) */
    struct drop_sample *s; /* indexed by (boundary / step) % cap */
};

/* Calendar SLOs: the burn-down of the current calendar period [cs, ce), the remaining budget
 * fraction recorded as the clock passes each of SLO_CAL_MILESTONES instants spread evenly over
 * it, t_k = cs + (ce - cs) k / (SLO_CAL_MILESTONES + 1) for k = 1.. (NaN: not passed while the
 * engine ran, e.g. before its start). */
#define SLO_CAL_MILESTONES 62
struct cal_burn {
    int64_t cs, ce; /* ce == cs: no period yet */
    int64_t next;   /* the next milestone (or ce) after the clock; 0: not known (an add at or
                     * after it moves the clock first, so a milestone holds only what came
                     * before it) */
    double frac[SLO_CAL_MILESTONES];
};

#define SLO_DROP_MAX_SAMPLES 4096u /* 128 KiB of samples: 2.8 days of 1-minute steps */

struct slo_state {
    const struct slo_slo_def *def;
    enum slo_state_kind kind;
    struct slo_window *win;
    struct slo_slices *sl;
    struct slo_calendar cal;
    struct lb *lbs;      /* distinct alert windows (and the TTE lookback), sorted */
    size_t n_lbs;
    uint64_t tte_ms;     /* the lookback of the time to exhaustion */
    uint64_t ring_ms;    /* ST_RATIO_CAL, and ST_RATIO_ROLL with grp: the length of win (its
                          * registered lookback) */
    bool fold;           /* ST_RATIO_CAL over a quarter or a year: slices leaving the ring are
                          * folded into acc */
    struct ratio_acc acc;
    struct slo_groups *grp; /* ST_RATIO_ROLL over more periods than fit: the coarse layer */
    struct drop_ring *drop; /* NULL: no budgetDrop condition */
    struct cal_burn *cb;    /* calendar SLOs: the period's burn-down (else NULL) */
    bool *firing;        /* per alert */
    int64_t *last_resolve; /* per alert: when it last went firing -> resolved; -1: never
                            * (the cool-down, §7.2; checkpointed) */
    int64_t start_ms;    /* first instant the engine knew about (young windows) */
    bool lost;           /* the state before start_ms was lost (slo_engine_set_state_lost) */
    int64_t clock;
    int64_t gap_start, gap_end; /* the agent's gap: [start, end) */
};

struct slo_engine {
    const struct slo_defs *defs;
    size_t n;
    struct slo_state *st;
    int64_t clock;
    slo_alert_fn alert_fn;
    void *alert_arg;
};

/* |num| / |den| correctly rounded to the nearest double (ties to even); 0 when den is 0. */
double slo_eval_ratio_double(slo_u128 num, slo_u128 den);

/* slo_rat to the nearest double (correctly rounded). */
double slo_eval_rat_double(const struct slo_rat *r);

/* The instant of calendar milestone |k| (1..SLO_CAL_MILESTONES) of the period [cs, ce). */
static inline int64_t slo_cal_milestone(int64_t cs, int64_t ce, int k)
{
    return cs + (int64_t)((uint64_t)(ce - cs) * (uint64_t)k / (SLO_CAL_MILESTONES + 1));
}

/* Compares a * b with c * d exactly (256-bit products). Returns -1, 0 or 1. */
int slo_eval_cmp128(slo_u128 a, slo_u128 b, slo_u128 c, slo_u128 d);

/* Moves one SLO's clock to |now| (never backwards), sampling the budget at each boundary of its
 * drop ring on the way. */
void slo_eval_state_advance(struct slo_state *st, int64_t now);

/* The scale of RatioTimeslices ratios: each period's ratio is kept as floor(good * S / total). */
#define SLO_RATIO_SCALE 1000000000000000000ull

/* CRC-32C (Castagnoli) of |len| bytes, as the checkpoint trailer uses. */
uint32_t slo_eval_crc32c(const void *data, size_t len);

#endif /* SLO_EVAL_INT_H */
