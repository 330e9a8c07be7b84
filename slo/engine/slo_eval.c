/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SLO engine (slo_eval.h): one state per SLO chosen from its definition, evaluated into the
 * fields of the replay contract, the alert state machine, and the JSON report.
 *
 *   Occurrences, rolling        slo_window over W and every alert lookback
 *   Timeslices, rolling         slo_slices (grace 0) over W and the lookbacks rounded to periods
 *                               (verdicts in 2-bit cells: slo_verdicts)
 *   RatioTimeslices, rolling    slo_window with one bucket per period; ratios read per period;
 *                               when W's periods do not fit, the ring covers the alert windows
 *                               up to 3 days and the periods leaving it are folded into
 *                               slo_groups, groups of k periods over W (ratio_layers_new)
 *   Occurrences, calendar       slo_calendar (to date) + slo_window over the alert lookbacks
 *   Timeslices, calendar        slo_slices with calendar periods (N of the whole period)
 *   RatioTimeslices, calendar   slo_window with one bucket per period over the longest calendar
 *                               period (day, week, month); future periods count as good;
 *                               quarter, year: over a month's ring, the slices leaving it folded
 *                               into an exact accumulator of the current period
 *                               (ratio_fold_advance)
 *
 * Every decision (status, met, firing) is an exact integer comparison; doubles are for display.
 */
#include "slo_eval.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ag_json.h"
#include "ag_mem.h"
#include "slo_eval_int.h"
#include "slo_slices.h"
#include "slo_window.h"

#define MINUTE_MS 60000ull
#define HOUR_MS 3600000ull
/* RatioTimeslices: each period's ratio is kept as floor(good * S / total) with S = 10^18. */
#define RATIO_SCALE SLO_RATIO_SCALE
/* The bytes of the slice ring of a calendar RatioTimeslices SLO over a quarter or a year (a
 * month's ring of 1-minute slices, 31 d + 2 h: 44,761 x 8 = 358,088 bytes, and alert windows up
 * to about 45 days); day, week and month keep SLO_WINDOW_MAX_BYTES. */
#define RATIO_CAL_LONG_MAX_BYTES (512u * 1024u)
/* Rolling RatioTimeslices in two layers: the fine ring of periods covers at most this. */
#define RATIO_FINE_MAX_MS (3ull * 86400000ull)

/* One distinct alert window (or the time-to-exhaustion lookback). */
struct lb {
    uint64_t written_ms; /* as written in the definition */
    uint64_t eff_ms;     /* as registered: periods round down; 0 = not held (longer than W) */
    const char *text;    /* borrowed from defs; NULL: only for the TTE */
};

static void ratio_fold_advance(struct slo_state *st, int64_t now);
struct budget_core;
static int budget_at(const struct slo_state *st, int64_t at, struct budget_core *bc);

/*
 * Finds |ms| among the lookbacks; returns its index or -1.
 */
static long lb_find(const struct slo_state *st, uint64_t ms)
{
    for (size_t i = 0; i < st->n_lbs; i++) {
        if (st->lbs[i].written_ms == ms) {
            return (long)i;
        }
    }
    return -1;
}

static int lb_put(struct slo_state *st, uint64_t ms, const char *text)
{
    long i = lb_find(st, ms);
    if (i >= 0) {
        if (st->lbs[i].text == NULL) {
            st->lbs[i].text = text;
        }
        return 0;
    }
    struct lb *n = ag_realloc(st->lbs, (st->n_lbs + 1) * sizeof(*n));
    if (n == NULL) {
        return AG_ENOMEM;
    }
    st->lbs = n;
    size_t k = st->n_lbs++;
    while (k > 0 && st->lbs[k - 1].written_ms > ms) {
        st->lbs[k] = st->lbs[k - 1];
        k--;
    }
    st->lbs[k].written_ms = ms;
    st->lbs[k].eff_ms = 0;
    st->lbs[k].text = text;
    return 0;
}

/* ---- exact-to-double conversion -------------------------------------------------------------- */

double slo_eval_ratio_double(slo_u128 num, slo_u128 den)
{
    if (den == 0 || num == 0) {
        return 0.0;
    }
    slo_u128 q = num / den, r = num % den;
    uint64_t m;
    int exp = 0;
    bool sticky;
    if ((q >> 64) != 0) {
        int sh = 0;
        while ((q >> sh) >> 64 != 0) {
            sh++;
        }
        m = (uint64_t)(q >> sh);
        sticky = (q & (((slo_u128)1 << sh) - 1)) != 0 || r != 0;
        exp = sh;
    } else {
        m = (uint64_t)q;
        /* Long division, one bit at a time, until 64 significant bits (2r >= den without
         * overflow: r >= den - r). */
        while ((m >> 63) == 0) {
            bool bit = r >= den - r;
            r = bit ? r - (den - r) : r + r;
            m = (m << 1) | (bit ? 1u : 0u);
            exp--;
        }
        sticky = r != 0;
    }
    if (sticky) {
        m |= 1; /* below the 53 bits kept: breaks a false tie the right way */
    }
    return ldexp((double)m, exp);
}

double slo_eval_rat_double(const struct slo_rat *r)
{
    double v = slo_eval_ratio_double(r->num, r->den);
    return r->neg ? -v : v;
}

double slo_eval_double(const struct slo_rat *r)
{
    return slo_eval_rat_double(r);
}

/* ---- engine --------------------------------------------------------------------------------- */

static void state_free(struct slo_state *st)
{
    slo_window_free(st->win);
    slo_slices_free(st->sl);
    slo_groups_free(st->grp);
    ag_free(st->lbs);
    if (st->drop != NULL) {
        ag_free(st->drop->s);
        ag_free(st->drop);
    }
    ag_free(st->cb);
    ag_free(st->firing);
    ag_free(st->last_resolve);
    memset(st, 0, sizeof(*st));
}

static uint64_t round_down(uint64_t v, uint64_t p)
{
    uint64_t r = v / p * p;
    return r == 0 ? p : r;
}

static int why_add(struct ag_buf *why, const struct slo_slo_def *d, const char *what)
{
    if (why != NULL) {
        int rc = ag_buf_printf(why, "SLO \"%s\": %s\n", d->name, what);
        (void)rc;
    }
    return AG_EINVAL;
}

/* The time-slice settings of |d| over a window of |window_ms| with the |n| lookbacks |lbs|
 * (borrowed), rolling: the caller sets the calendar fields. */
static struct slo_slices_config slices_config(const struct slo_slo_def *d, uint64_t window_ms,
                                              const uint64_t *lbs, size_t n)
{
    struct slo_slices_config sc = {.period_ms = d->slice_ms,
                                   .window_ms = window_ms,
                                   .lookbacks_ms = lbs,
                                   .n_lookbacks = n,
                                   .target = d->slice_target,
                                   .missing = d->missing,
                                   .grace_ms = d->slice_grace_ms};
    return sc;
}

/* The step of |st|'s budget: it changes only at multiples of it (a rolling window's bucket for
 * W, a calendar's minute, a period). */
static uint64_t budget_step(const struct slo_state *st)
{
    switch (st->kind) {
    case ST_OCC_ROLL:
        return slo_window_resolution_ms(st->win, st->def->window_ms);
    case ST_OCC_CAL:
        return MINUTE_MS;
    default:
        return st->def->slice_ms;
    }
}

/* A budgetDrop lookback in whole steps of |q| (at least one). */
static uint64_t drop_eff(uint64_t drop_ms, uint64_t q)
{
    uint64_t r = drop_ms / q * q;
    return r == 0 ? q : r;
}

/* The drop ring of an SLO with budgetDrop conditions (none otherwise). Returns 0, AG_ETOOBIG
 * (more than SLO_DROP_MAX_SAMPLES samples; |why| says) or AG_ENOMEM. */
static int drop_init(struct slo_state *st, struct ag_buf *why)
{
    const struct slo_slo_def *d = st->def;
    uint64_t lmax = 0;
    uint64_t q = budget_step(st);
    for (size_t i = 0; i < d->n_alerts; i++) {
        if (d->alerts[i].kind == SLO_ALERT_DROP && q > 0) {
            uint64_t eff = drop_eff(d->alerts[i].drop_ms, q);
            lmax = eff > lmax ? eff : lmax;
        }
    }
    if (lmax == 0) {
        return 0;
    }
    uint64_t cap = lmax / q + 1;
    if (cap > SLO_DROP_MAX_SAMPLES) {
        if (why != NULL) {
            int r2 = ag_buf_printf(why,
                                   "SLO \"%s\": a budgetDrop lookback of %" PRIu64
                                   " budget steps of %" PRIu64 " s needs %" PRIu64
                                   " budget samples; at most %u are kept (a shorter lookback)\n",
                                   d->name, lmax / q, q / 1000, cap, SLO_DROP_MAX_SAMPLES);
            (void)r2;
        }
        return AG_ETOOBIG;
    }
    st->drop = ag_calloc(1, sizeof(*st->drop));
    if (st->drop == NULL) {
        return AG_ENOMEM;
    }
    st->drop->s = ag_calloc((size_t)cap, sizeof(*st->drop->s));
    if (st->drop->s == NULL) {
        return AG_ENOMEM;
    }
    st->drop->step_ms = q;
    st->drop->cap = (size_t)cap;
    st->drop->scale = st->kind == ST_RATIO_ROLL || st->kind == ST_RATIO_CAL ? SLO_RATIO_SCALE : 1;
    return 0;
}

/*
 * Rolling RatioTimeslices whose window of one bucket per period does not fit
 * SLO_WINDOW_MAX_BYTES (§10.2): a fine ring of periods over the alert windows up to
 * RATIO_FINE_MAX_MS, and W in groups of k periods (slo_groups). Tries the fine spans from the
 * longest alert window up to 3 days down to 1 hour, and for each the smallest k (2 to
 * SLO_GROUPS_MAX_K) whose width divides W and every alert window longer than the ring and fits
 * what the ring left of the cap. 30 days of 1-minute periods with alert windows up to 3 days:
 * 4,321 periods of 8 bytes and 8,641 groups of 5 minutes of 10 bytes (122,822 bytes in all).
 * Returns 0 (st->win, st->grp, st->ring_ms set), AG_ETOOBIG when nothing fits, or AG_ENOMEM.
 */
static int ratio_layers_new(struct slo_state *st, const uint64_t *lbs, size_t n, int64_t start_ms)
{
    const uint64_t p = st->def->slice_ms, w = st->def->window_ms;
    uint64_t cand[SLO_WINDOW_MAX_LOOKBACKS + 1];
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (lbs[i] <= RATIO_FINE_MAX_MS && lbs[i] < w && lbs[i] >= HOUR_MS) {
            cand[nc++] = lbs[i];
        }
    }
    cand[nc++] = round_down(HOUR_MS, p);
    /* longest first (insertion sort: at most 17) */
    for (size_t i = 1; i < nc; i++) {
        for (size_t j = i; j > 0 && cand[j - 1] < cand[j]; j--) {
            uint64_t t = cand[j];
            cand[j] = cand[j - 1];
            cand[j - 1] = t;
        }
    }
    for (size_t ci = 0; ci < nc; ci++) {
        const uint64_t f = cand[ci];
        if (ci > 0 && f == cand[ci - 1]) {
            continue;
        }
        uint64_t fine[SLO_WINDOW_MAX_LOOKBACKS];
        size_t nf = 0;
        for (size_t i = 0; i < n; i++) {
            if (lbs[i] <= f) {
                fine[nf++] = lbs[i];
            }
        }
        struct slo_window *win = NULL;
        struct slo_window_config wc = {f, fine, nf, 0, p};
        int rc = slo_window_new(&wc, start_ms, &win);
        if (rc == AG_ENOMEM) {
            return rc;
        }
        if (rc != 0) {
            continue;
        }
        const size_t used = slo_window_bytes(win);
        for (uint64_t k = 2; k <= SLO_GROUPS_MAX_K; k++) {
            const uint64_t g = k * p;
            bool ok = w % g == 0;
            for (size_t i = 0; i < n && ok; i++) {
                ok = lbs[i] <= f || lbs[i] % g == 0;
            }
            size_t gb = ok ? slo_groups_bytes_for(g, w) : 0;
            if (gb == 0 || used + gb > SLO_WINDOW_MAX_BYTES) {
                continue;
            }
            rc = slo_groups_new(g, w, &st->grp);
            if (rc != 0) {
                slo_window_free(win);
                return rc;
            }
            st->win = win;
            st->ring_ms = f;
            return 0;
        }
        slo_window_free(win);
    }
    return AG_ETOOBIG;
}

static uint64_t fitting_slice(const struct slo_slo_def *d, int64_t start_ms);

static int state_init(struct slo_state *st, const struct slo_slo_def *d, int64_t start_ms,
                      struct ag_buf *why)
{
    int rc;
    uint64_t lbs[SLO_WINDOW_MAX_LOOKBACKS];
    size_t n = 0;

    st->def = d;
    st->start_ms = start_ms;
    st->clock = start_ms;
    st->gap_start = st->gap_end = 0;
    if (d->n_alerts > 0) {
        st->firing = ag_calloc(d->n_alerts, sizeof(*st->firing));
        st->last_resolve = ag_calloc(d->n_alerts, sizeof(*st->last_resolve));
        if (st->firing == NULL || st->last_resolve == NULL) {
            return AG_ENOMEM;
        }
        for (size_t i = 0; i < d->n_alerts; i++) {
            st->last_resolve[i] = -1;
        }
    }
    for (size_t i = 0; i < d->n_alerts; i++) {
        const struct slo_alert_def *a = &d->alerts[i];
        if (a->long_ms == 0) {
            continue; /* a budget condition: no window of its own */
        }
        if (lb_put(st, a->long_ms, a->long_text) != 0 ||
            (a->short_ms > 0 && lb_put(st, a->short_ms, a->short_text) != 0)) {
            return AG_ENOMEM;
        }
    }
    /* Time to exhaustion (§6): over the shortest long window of the alerts, else 1 h (or the
     * window when shorter). */
    uint64_t w = d->window_ms;
    st->tte_ms = 0;
    for (size_t i = 0; i < d->n_alerts; i++) {
        if (d->alerts[i].long_ms > 0 &&
            (st->tte_ms == 0 || d->alerts[i].long_ms < st->tte_ms)) {
            st->tte_ms = d->alerts[i].long_ms;
        }
    }
    if (st->tte_ms == 0) {
        st->tte_ms = w < HOUR_MS || d->calendar ? (w < HOUR_MS ? w : HOUR_MS) : HOUR_MS;
        if (lb_put(st, st->tte_ms, NULL) != 0) {
            return AG_ENOMEM;
        }
    }
    bool periods = d->budgeting != SLO_BUDGETING_OCCURRENCES;
    uint64_t maxlb = 0;
    for (size_t i = 0; i < st->n_lbs; i++) {
        struct lb *l = &st->lbs[i];
        uint64_t eff = periods ? round_down(l->written_ms, d->slice_ms) : l->written_ms;
        if (!d->calendar && eff > w) {
            continue; /* longer than the window: burn null, said in the warnings */
        }
        bool dup = false;
        for (size_t j = 0; j < n; j++) {
            dup |= lbs[j] == eff;
        }
        l->eff_ms = eff;
        if (!dup) {
            if (n == SLO_WINDOW_MAX_LOOKBACKS) {
                return why_add(why, d, "too many distinct alert windows (at most 16)");
            }
            lbs[n++] = eff;
        }
        if (eff > maxlb) {
            maxlb = eff;
        }
    }
    if (d->budgeting == SLO_BUDGETING_RATIO_TIMESLICES && d->objective.den > 1000000000000ull) {
        return why_add(why, d, "RatioTimeslices objectives keep at most 10 decimals of a percent");
    }
    if (periods && d->slice_ms == 0) {
        return why_add(why, d, "a period-based SLO without a time slice period");
    }
    if (!d->calendar) {
        if (d->budgeting == SLO_BUDGETING_OCCURRENCES ||
            d->budgeting == SLO_BUDGETING_RATIO_TIMESLICES) {
            st->kind = d->budgeting == SLO_BUDGETING_OCCURRENCES ? ST_OCC_ROLL : ST_RATIO_ROLL;
            struct slo_window_config wc = {w, lbs, n, 0, periods ? d->slice_ms : 0};
            rc = slo_window_new(&wc, start_ms, &st->win);
            if (rc == AG_ETOOBIG && st->kind == ST_RATIO_ROLL) {
                rc = ratio_layers_new(st, lbs, n, start_ms);
            }
        } else {
            st->kind = ST_SLICES_ROLL;
            struct slo_slices_config sc = slices_config(d, w, lbs, n);
            rc = slo_slices_new(&sc, start_ms, &st->sl);
        }
    } else if (d->budgeting == SLO_BUDGETING_OCCURRENCES) {
        st->kind = ST_OCC_CAL;
        rc = slo_calendar_init_tz(&st->cal, d->calendar_unit, d->tz, d->utc_offset_s, 0, start_ms);
        if (rc == 0) {
            struct slo_window_config wc = {maxlb, lbs, n, 0, 0};
            rc = slo_window_new(&wc, start_ms, &st->win);
        }
    } else if (d->budgeting == SLO_BUDGETING_TIMESLICES) {
        st->kind = ST_SLICES_CAL;
        struct slo_slices_config sc = slices_config(d, maxlb, lbs, n);
        sc.calendar = true;
        sc.unit = d->calendar_unit;
        sc.utc_offset_s = d->utc_offset_s;
        sc.tz = d->tz;
        rc = slo_slices_new(&sc, start_ms, &st->sl);
    } else {
        /* RatioTimeslices on a calendar: the ratios of the current period's periods are read
         * from a window of periods as long as the longest calendar period (day, week, month:
         * every slice of the period can take late data). A quarter or a year keeps a month's
         * ring (31 d, + 2 h in a zone) and folds each slice leaving it into st->acc, exactly
         * (the same floored ratios): late data is added as long as its slice is in the ring,
         * as for a month, and counted as too old after that. */
        static const uint64_t span_days[] = {[SLO_CAL_DAY] = 1,      [SLO_CAL_WEEK] = 7,
                                             [SLO_CAL_MONTH] = 31,   [SLO_CAL_QUARTER] = 92,
                                             [SLO_CAL_YEAR] = 366};
        if ((unsigned)d->calendar_unit > SLO_CAL_YEAR) {
            return why_add(why, d, "unknown calendar unit");
        }
        /* The budget maths keep e N S in 128 bits (ratio_budget): N, the periods of the longest
         * calendar period, times S = 10^18 times the objective's denominator (at most 10^12). */
        const uint64_t longest = span_days[d->calendar_unit] * 86400000ull + 2 * HOUR_MS;
        if (d->slice_ms > 0 &&
            (slo_u128)(longest / d->slice_ms + 1) >
                ~(slo_u128)0 / ((slo_u128)RATIO_SCALE * d->objective.den)) {
            return why_add(why, d, "too many time slices in a calendar period for the exact "
                                   "RatioTimeslices budget (use a longer time slice)");
        }
        int64_t cs = 0, ce = 0;
        if (86400000u % d->slice_ms != 0 ||
            ((int64_t)d->utc_offset_s * 1000) % (int64_t)d->slice_ms != 0 ||
            slo_calendar_bounds_tz(d->calendar_unit, d->tz, d->utc_offset_s, start_ms, &cs,
                                   &ce) != 0 ||
            cs % (int64_t)d->slice_ms != 0 || ce % (int64_t)d->slice_ms != 0) {
            return why_add(why, d, "the time slice must divide a day and the time zone offset");
        }
        st->kind = ST_RATIO_CAL;
        st->fold = d->calendar_unit > SLO_CAL_MONTH;
        /* A zone with DST lengthens a period by up to an hour (two for double summer time). */
        st->ring_ms = span_days[st->fold ? SLO_CAL_MONTH : d->calendar_unit] * 86400000ull +
                      (d->tz != NULL ? 2 * HOUR_MS : 0);
        if (maxlb > st->ring_ms) {
            st->ring_ms = maxlb;
        }
        struct slo_window_config wc = {st->ring_ms, lbs, n,
                                       st->fold ? RATIO_CAL_LONG_MAX_BYTES : 0, d->slice_ms};
        rc = slo_window_new(&wc, start_ms, &st->win);
    }
    if (rc == 0) {
        rc = drop_init(st, why);
        if (rc != 0) {
            return rc; /* said by drop_init */
        }
    }
    if (rc == 0 && d->calendar) {
        st->cb = ag_calloc(1, sizeof(*st->cb));
        if (st->cb == NULL) {
            return AG_ENOMEM;
        }
        for (size_t k = 0; k < SLO_CAL_MILESTONES; k++) {
            st->cb->frac[k] = NAN;
        }
    }
    if (rc == AG_EINVAL) {
        return why_add(why, d,
                       "a window layout the engine refuses (alert windows must be whole minutes, "
                       "at least 2 minutes, at most the SLO window; periods must divide the "
                       "window and a day)");
    }
    if (rc == AG_ETOOBIG) {
        if (why != NULL) {
            char hint[64] = "";
            uint64_t fit =
                d->budgeting != SLO_BUDGETING_OCCURRENCES ? fitting_slice(d, start_ms) : 0;
            if (fit % 60000 == 0 && fit > 0) {
                snprintf(hint, sizeof(hint), " (a timeSlice period of %" PRIu64 "m fits)",
                         fit / 60000);
            } else if (fit % 1000 == 0 && fit > 0) {
                snprintf(hint, sizeof(hint), " (a timeSlice period of %" PRIu64 "s fits)",
                         fit / 1000);
            }
            int r2 =
                ag_buf_printf(why, "SLO \"%s\": needs more than %u bytes of buckets%s\n", d->name,
                              st->fold ? RATIO_CAL_LONG_MAX_BYTES : SLO_WINDOW_MAX_BYTES, hint);
            (void)r2;
        }
    }
    return rc;
}

/*
 * For a period-based SLO refused for memory: the shortest time slice, a multiple of its own
 * that divides a day, with which the engine accepts it (0 when none does), for the refusal's
 * hint. Builds scratch states (no diagnostics, freed at once).
 */
static uint64_t fitting_slice(const struct slo_slo_def *d, int64_t start_ms)
{
    for (uint64_t k = 2; d->slice_ms > 0 && d->slice_ms * k <= 86400000ull; k++) {
        uint64_t p = d->slice_ms * k;
        if (86400000ull % p != 0 || (!d->calendar && d->window_ms % p != 0)) {
            continue;
        }
        struct slo_slo_def copy = *d;
        copy.slice_ms = p;
        struct slo_state tmp;
        memset(&tmp, 0, sizeof(tmp));
        int rc = state_init(&tmp, &copy, start_ms, NULL);
        state_free(&tmp);
        if (rc == 0) {
            return p;
        }
        if (rc == AG_ENOMEM) {
            return 0;
        }
    }
    return 0;
}

int slo_engine_new(const struct slo_defs *defs, int64_t start_ms, struct ag_buf *why,
                   struct slo_engine **out)
{
    *out = NULL;
    if (defs == NULL || defs->n_errors > 0 || (defs->n_slos > 0 && defs->slos == NULL)) {
        if (why != NULL) {
            int rc = ag_buf_adds(why, "definitions not finished without error\n");
            (void)rc;
        }
        return AG_EINVAL;
    }
    if (start_ms < 0 || start_ms > SLO_TIME_MAX_MS) {
        if (why != NULL) {
            int rc = ag_buf_adds(why, "start time out of range\n");
            (void)rc;
        }
        return AG_EINVAL;
    }
    struct slo_engine *e = ag_calloc(1, sizeof(*e));
    if (e == NULL) {
        return AG_ENOMEM;
    }
    e->defs = defs;
    e->n = defs->n_slos;
    e->clock = start_ms;
    if (e->n > 0) {
        e->st = ag_calloc(e->n, sizeof(*e->st));
        if (e->st == NULL) {
            ag_free(e);
            return AG_ENOMEM;
        }
    }
    for (size_t i = 0; i < e->n; i++) {
        int rc = state_init(&e->st[i], &defs->slos[i], start_ms, why);
        if (rc != 0) {
            slo_engine_free(e);
            return rc;
        }
    }
    *out = e;
    return 0;
}

void slo_engine_free(struct slo_engine *e)
{
    if (e == NULL) {
        return;
    }
    for (size_t i = 0; i < e->n; i++) {
        state_free(&e->st[i]);
    }
    ag_free(e->st);
    ag_free(e);
}

long slo_engine_find(const struct slo_engine *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->defs->slos[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

void slo_engine_set_state_lost(struct slo_engine *e)
{
    for (size_t i = 0; i < e->n; i++) {
        e->st[i].lost = true;
    }
}

void slo_engine_set_alert_fn(struct slo_engine *e, slo_alert_fn fn, void *arg)
{
    e->alert_fn = fn;
    e->alert_arg = arg;
}

size_t slo_engine_slo_bytes(const struct slo_engine *e, size_t slo)
{
    if (slo >= e->n) {
        return 0;
    }
    const struct slo_state *st = &e->st[slo];
    size_t n = sizeof(*st) + st->n_lbs * sizeof(*st->lbs) +
               st->def->n_alerts * (sizeof(*st->firing) + sizeof(*st->last_resolve));
    if (st->drop != NULL) {
        n += sizeof(*st->drop) + st->drop->cap * sizeof(*st->drop->s);
    }
    if (st->cb != NULL) {
        n += sizeof(*st->cb);
    }
    if (st->win != NULL) {
        n += slo_window_bytes(st->win);
    }
    if (st->sl != NULL) {
        n += slo_slices_bytes(st->sl);
    }
    n += slo_groups_bytes(st->grp);
    return n;
}

size_t slo_engine_bytes(const struct slo_engine *e)
{
    size_t n = sizeof(*e);
    for (size_t i = 0; i < e->n; i++) {
        n += slo_engine_slo_bytes(e, i);
    }
    return n;
}

static void drop_advance(struct slo_state *st, int64_t now);

/* Moves the clock and the structures of |st| to |now| (> its clock). */
static void state_move(struct slo_state *st, int64_t now)
{
    st->clock = now;
    switch (st->kind) {
    case ST_OCC_ROLL:
        slo_window_advance(st->win, now);
        break;
    case ST_RATIO_ROLL:
    case ST_RATIO_CAL:
        if (st->fold || st->grp != NULL) {
            ratio_fold_advance(st, now);
        } else {
            slo_window_advance(st->win, now);
        }
        break;
    case ST_OCC_CAL:
        slo_window_advance(st->win, now);
        slo_calendar_advance(&st->cal, now);
        break;
    case ST_SLICES_ROLL:
    case ST_SLICES_CAL:
        slo_slices_advance(st->sl, now);
        break;
    }
}

/* Moves |st| to |now|, sampling its drop ring's boundaries on the way. */
static void advance_to(struct slo_state *st, int64_t now)
{
    if (st->drop != NULL) {
        drop_advance(st, now);
    } else {
        state_move(st, now);
    }
}

static void cb_advance(struct slo_state *st, int64_t now);

void slo_eval_state_advance(struct slo_state *st, int64_t now)
{
    if (now > SLO_TIME_MAX_MS) {
        now = SLO_TIME_MAX_MS;
    }
    if (now <= st->clock) {
        return;
    }
    if (st->cb != NULL) {
        cb_advance(st, now);
    }
    if (now > st->clock) {
        advance_to(st, now);
    }
}

int slo_engine_add(struct slo_engine *e, size_t slo, int64_t t_ms, uint64_t good, uint64_t total)
{
    if (slo >= e->n || good > total || t_ms < 0 || t_ms > SLO_TIME_MAX_MS) {
        return AG_EINVAL;
    }
    struct slo_state *st = &e->st[slo];
    int rc = 0;
    if ((st->drop != NULL || (st->cb != NULL && t_ms >= st->cb->next)) && t_ms > st->clock) {
        /* Sample the budget at the boundaries (and the calendar milestones) before |t_ms|
         * first: a sample holds what came before it. */
        slo_eval_state_advance(st, t_ms);
    }
    switch (st->kind) {
    case ST_OCC_ROLL:
        rc = slo_window_add(st->win, t_ms, good, total);
        break;
    case ST_RATIO_ROLL:
    case ST_RATIO_CAL:
        if (st->fold || st->grp != NULL) {
            ratio_fold_advance(st, t_ms); /* before the ring moves past unfolded slices */
        }
        rc = slo_window_add(st->win, t_ms, good, total);
        break;
    case ST_OCC_CAL:
        /* The window (u32 buckets) refuses first, so a refusal changes nothing. */
        rc = slo_window_add(st->win, t_ms, good, total);
        if (rc == 0) {
            rc = slo_calendar_add(&st->cal, t_ms, good, total);
        }
        break;
    case ST_SLICES_ROLL:
    case ST_SLICES_CAL:
        rc = slo_slices_add(st->sl, t_ms, good, total);
        break;
    }
    if (rc == 0 && t_ms > st->clock) {
        st->clock = t_ms;
    }
    if (rc == 0 && t_ms > e->clock) {
        e->clock = t_ms;
    }
    return rc;
}

void slo_engine_advance(struct slo_engine *e, int64_t now_ms)
{
    for (size_t i = 0; i < e->n; i++) {
        slo_eval_state_advance(&e->st[i], now_ms);
    }
    if (now_ms > e->clock) {
        e->clock = now_ms > SLO_TIME_MAX_MS ? SLO_TIME_MAX_MS : now_ms;
    }
}

/* ---- evaluation ----------------------------------------------------------------------------- */

static int64_t ceil_to(int64_t t, int64_t p)
{
    int64_t f = t / p * p;
    if (f > t) {
        f -= p; /* negative t */
    }
    return f < t ? f + p : f;
}

static int64_t floor_to(int64_t t, int64_t p)
{
    int64_t f = t / p * p;
    return f > t ? f - p : f;
}

/* Counts of whole buckets (or periods) of [at - L, at) for lookback |eff| of a window that
 * holds it. */
static void window_counts_at(const struct slo_window *w, uint64_t eff, int64_t at,
                             struct slo_counts *c)
{
    if (slo_window_counts(w, eff, c) != 0) {
        memset(c, 0, sizeof(*c));
    }
}

/* Timeslices rolling: the judged periods [J - L, J) minus the oldest when |at| is mid-period (it
 * starts before at - L, so it is not whole in [at - L, at)). */
static void slices_counts_at(const struct slo_slices *sl, uint64_t eff, uint64_t p, int64_t at,
                             uint64_t grace, struct slo_counts *c)
{
    if (slo_slices_counts(sl, eff, c) != 0) {
        memset(c, 0, sizeof(*c));
        return;
    }
    /* With a grace delay the window is the last |eff| of judged periods, [j - eff, j): it lags
     * the instant by up to the grace plus a period. Without, the whole periods of [at - eff, at),
     * one fewer when |at| is inside a period. */
    int64_t j = slo_slices_judged_until(sl);
    if (grace == 0 && at > j) {
        struct slo_counts old;
        int64_t s = j - (int64_t)eff;
        slo_slices_range(sl, s, s + (int64_t)p, &old);
        c->good -= old.good;
        c->total -= old.total;
    }
}

/* Adds one period's ratio (counts |c|) to |out| per |d|'s missing-data policy. */
static void ratio_add(struct ratio_sum *out, const struct slo_slo_def *d,
                      const struct slo_counts *c)
{
    if (c->total == 0) {
        if (d->missing == SLO_MISSING_IGNORE) {
            out->ignored++;
            return;
        }
        out->n++;
        if (d->missing == SLO_MISSING_GOOD) {
            out->sum += RATIO_SCALE;
        } else {
            out->bad_int++;
        }
        return;
    }
    slo_u128 num = (slo_u128)c->good * RATIO_SCALE;
    out->sum += num / c->total;
    if (num % c->total != 0) {
        out->inexact++;
    }
    out->n++;
}

/* Adds |k| periods without data to |out| per |d|'s missing-data policy (as ratio_add would one
 * by one). */
static void ratio_add_empty(struct ratio_sum *out, const struct slo_slo_def *d, uint64_t k)
{
    if (d->missing == SLO_MISSING_IGNORE) {
        out->ignored += k;
        return;
    }
    out->n += k;
    if (d->missing == SLO_MISSING_GOOD) {
        out->sum += (slo_u128)k * RATIO_SCALE;
    } else {
        out->bad_int += k;
    }
}

static void ratio_merge(struct ratio_sum *out, const struct ratio_sum *a)
{
    out->sum += a->sum;
    out->n += a->n;
    out->inexact += a->inexact;
    out->bad_int += a->bad_int;
    out->ignored += a->ignored;
}

/* RatioTimeslices: the sum of period ratios (scaled by RATIO_SCALE, floored) over the whole
 * periods of [from, to) that the engine has seen (from its start on) and still holds. */
static void ratio_sum(const struct slo_state *st, uint64_t eff, int64_t from, int64_t to,
                      struct ratio_sum *out)
{
    const int64_t p = (int64_t)st->def->slice_ms;
    memset(out, 0, sizeof(*out));
    int64_t first = ceil_to(from, p);
    int64_t seen = floor_to(st->start_ms, p);
    if (st->grp != NULL && eff > st->ring_ms) {
        /* Longer than the fine ring: whole groups from |from| on (the edge moves in group
         * steps), those before the ring from their slots (the last one may hold only the
         * periods folded so far), then the ring's periods. */
        const int64_t g = (int64_t)slo_groups_width(st->grp);
        const int64_t split = slo_window_oldest_ms(st->win, st->ring_ms);
        const int64_t lo = floor_to(seen, g);
        int64_t x = ceil_to(from, g);
        first = x;
        for (; x < split; x += g) {
            if ((x + g < split ? x + g : split) > to) {
                return; /* a range ending inside a folded group: nothing after it */
            }
            uint64_t sum = 0;
            uint32_t n = 0, inexact = 0;
            if (x >= lo && slo_groups_get(st->grp, x, &sum, &n, &inexact)) {
                out->sum += sum;
                out->n += n;
                out->inexact += inexact;
            }
        }
        if (first < split) {
            first = split;
        }
        eff = st->ring_ms;
    }
    int64_t oldest = slo_window_oldest_ms(st->win, eff);
    if (first < oldest) {
        first = oldest;
    }
    if (first < seen) {
        first = seen;
    }
    for (int64_t s = first; s + p <= to; s += p) {
        struct slo_counts c;
        if (slo_window_range(st->win, eff, s, s + p, &c) != 0) {
            return;
        }
        ratio_add(out, st->def, &c);
    }
}

/*
 * Quarter and year RatioTimeslices (st->fold): makes st->acc the accumulator of the calendar
 * period holding the slice starting at |s| (a new, empty one when it held another period).
 * Returns 0, or AG_EINVAL / AG_EUNSUPP from the calendar bounds.
 */
static int acc_period(struct slo_state *st, int64_t s)
{
    if (st->acc.has && s >= st->acc.cs && s < st->acc.ce) {
        return 0;
    }
    const struct slo_slo_def *d = st->def;
    int64_t cs = 0, ce = 0;
    int rc = slo_calendar_bounds_tz(d->calendar_unit, d->tz, d->utc_offset_s, s, &cs, &ce);
    if (rc != 0) {
        return rc;
    }
    memset(&st->acc, 0, sizeof(st->acc));
    st->acc.has = true;
    st->acc.cs = cs;
    st->acc.ce = ce;
    return 0;
}

/*
 * Quarter and year RatioTimeslices (st->fold): advances the slice ring to |now|, first folding
 * every slice that leaves it (from the engine's start on) into the accumulator of its calendar
 * period, so that at any instant st->acc (when it holds the current period) plus the slices
 * still in the ring are exactly the period's slices up to then. O(slices leaving): the held
 * ones are read one by one, the empty ones after a jump are counted at once.
 */
/* Folds the period starting at |s| (counts |c|), leaving the ring, into st->grp (rolling) or
 * the accumulator of its calendar period (quarter, year). */
static void fold_period(struct slo_state *st, int64_t s, const struct slo_counts *c)
{
    if (st->grp != NULL) {
        struct ratio_sum r;
        memset(&r, 0, sizeof(r));
        ratio_add(&r, st->def, c);
        slo_groups_put(st->grp, s, (uint64_t)r.sum, (uint32_t)r.n, (uint32_t)r.inexact);
    } else if (acc_period(st, s) == 0) {
        ratio_add(&st->acc.r, st->def, c);
    }
}

/* Folds the periods of [from, to) (from the engine's start on), which never held data, per the
 * missing-data policy: O(groups the ring holds) or O(1) for a calendar period. */
static void fold_empty(struct slo_state *st, int64_t from, int64_t to)
{
    const struct slo_slo_def *d = st->def;
    const int64_t p = (int64_t)d->slice_ms;
    if (st->grp != NULL) {
        const int64_t g = (int64_t)slo_groups_width(st->grp);
        /* only the groups of the last window matter */
        int64_t keep = floor_to(to - (int64_t)d->window_ms, g) - g;
        if (from < keep) {
            from = keep;
        }
        while (from < to) {
            int64_t end = floor_to(from, g) + g < to ? floor_to(from, g) + g : to;
            struct ratio_sum r;
            memset(&r, 0, sizeof(r));
            ratio_add_empty(&r, d, (uint64_t)((end - from) / p));
            slo_groups_put(st->grp, from, (uint64_t)r.sum, (uint32_t)r.n, (uint32_t)r.inexact);
            from = end;
        }
        return;
    }
    if (acc_period(st, to - p) == 0) {
        /* only the last period's slices matter: earlier periods are over */
        int64_t first = ceil_to(st->acc.cs, p);
        if (first < from) {
            first = from;
        }
        if (to > first) {
            ratio_add_empty(&st->acc.r, d, (uint64_t)((to - first) / p));
        }
    }
}

static void ratio_fold_advance(struct slo_state *st, int64_t now)
{
    struct slo_window *w = st->win;
    const int64_t p = (int64_t)st->def->slice_ms;
    const int64_t ring = (int64_t)st->ring_ms;
    int64_t open = floor_to(slo_window_now(w), p);
    int64_t new_open = floor_to(now, p);
    if (new_open <= open) {
        slo_window_advance(w, now);
        return;
    }
    int64_t oldest = slo_window_oldest_ms(w, st->ring_ms); /* open - ring */
    int64_t new_oldest = new_open - ring;
    int64_t seen = floor_to(st->start_ms, p);
    int64_t s = oldest > seen ? oldest : seen;
    /* The closed slices still held that leave the ring. */
    for (; s < new_oldest && s < open; s += p) {
        struct slo_counts c;
        if (slo_window_range(w, st->ring_ms, s, s + p, &c) == 0) {
            fold_period(st, s, &c);
        }
    }
    if (new_oldest > open) {
        /* The open slice leaves too: close it (what leaves the ring then was folded above),
         * read it, then count the slices after it, which never held data, per the policy. */
        slo_window_advance(w, open + p);
        if (open >= seen) {
            struct slo_counts c;
            if (slo_window_range(w, st->ring_ms, open, open + p, &c) == 0) {
                fold_period(st, open, &c);
            }
        }
        int64_t from = open + p > seen ? open + p : seen;
        if (new_oldest > from) {
            fold_empty(st, from, new_oldest);
        }
    }
    slo_window_advance(w, now);
}

/* 128 x 128 -> 256-bit product compared: a * b vs c * d. */
static void mul256(slo_u128 a, slo_u128 b, slo_u128 *hi, slo_u128 *lo)
{
    const slo_u128 m = ((slo_u128)1 << 64) - 1;
    slo_u128 a0 = a & m, a1 = a >> 64, b0 = b & m, b1 = b >> 64;
    slo_u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    slo_u128 mid = (p00 >> 64) + (p01 & m) + (p10 & m);
    *lo = (p00 & m) | (mid << 64);
    *hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}

int slo_eval_cmp128(slo_u128 a, slo_u128 b, slo_u128 c, slo_u128 d)
{
    slo_u128 h1, l1, h2, l2;
    mul256(a, b, &h1, &l1);
    mul256(c, d, &h2, &l2);
    if (h1 != h2) {
        return h1 < h2 ? -1 : 1;
    }
    if (l1 != l2) {
        return l1 < l2 ? -1 : 1;
    }
    return 0;
}

/*
 * The budget of a RatioTimeslices window from its ratio sum: attainment F / (N S); met iff
 * F / (N S) >= o. Exact when every ratio terminated (inexact == 0); else the true sum lies in
 * [F, F + inexact) and a value inside that band is decided on F (conservative: breached).
 */
static int ratio_budget(const struct slo_slo_def *d, const struct ratio_sum *r, uint64_t p_s,
                        struct slo_budget *b)
{
    /* Start from the integer evaluation with N periods (budget total, seconds), then replace
     * what depends on the fractional good count. */
    int rc = slo_budget_eval(&d->objective, &d->warning, r->n, r->n, p_s, b);
    if (rc != 0 || r->n == 0) {
        return rc;
    }
    const slo_u128 ns = (slo_u128)r->n * RATIO_SCALE;
    const slo_u128 bad_scaled = ns - r->sum; /* bad periods * S, fractional */
    const uint64_t e = slo_objective_budget_num(&d->objective);
    const uint64_t den = d->objective.den;
    /* good / bad as whole periods for the report: floor of the ratio sum and the rest. */
    b->good = (uint64_t)(r->sum / RATIO_SCALE);
    b->bad = r->n - b->good;
    b->attainment.num = r->sum;
    b->attainment.den = ns;
    b->attainment.neg = false;
    /* remaining = e N / den - bad_scaled / S = (e N S - bad_scaled den) / (den S) */
    slo_u128 budget_s = (slo_u128)e * ns; /* e N S <= 1e18 * 1.3e23: fits? */
    slo_u128 used = bad_scaled * den;
    b->remaining.den = (slo_u128)den * RATIO_SCALE;
    if (budget_s >= used) {
        b->remaining.num = budget_s - used;
        b->remaining.neg = false;
    } else {
        b->remaining.num = used - budget_s;
        b->remaining.neg = true;
    }
    /* remaining_fraction = remaining / (e N / den) = (e N S - bad_scaled den) / (e N S) */
    b->remaining_fraction.num = b->remaining.num;
    b->remaining_fraction.den = budget_s;
    b->remaining_fraction.neg = b->remaining.neg;
    if (b->has_seconds) {
        b->remaining_seconds = b->remaining;
        b->remaining_seconds.num *= p_s;
    }
    /* met iff sum >= o N S, i.e. sum * den >= num * N * S. */
    bool met = slo_eval_cmp128(r->sum, den, (slo_u128)d->objective.num, ns) >= 0;
    b->met = met;
    b->exhausted = !b->remaining.neg ? b->remaining.num == 0 : true;
    if (!met) {
        b->status = SLO_STATUS_BREACHED;
        b->exhausted = true;
    } else {
        /* WARNING iff remaining_fraction < warning (w_num / w_den), i.e.
         * (e N S - used) * w_den < w_num * e N S. */
        slo_u128 rem = b->remaining.neg ? 0 : b->remaining.num;
        b->status = slo_eval_cmp128(rem, d->warning.den, (slo_u128)d->warning.num, budget_s) < 0
                        ? SLO_STATUS_WARNING
                        : SLO_STATUS_OK;
    }
    b->allowed_bad = (uint64_t)((slo_u128)e * r->n / den);
    return 0;
}

/* Burn of a RatioTimeslices lookback: (bad_scaled / (N S)) / (e / den). */
static void ratio_burn(const struct slo_slo_def *d, const struct ratio_sum *r, struct slo_burn *b)
{
    memset(b, 0, sizeof(*b));
    if (r->n == 0) {
        return;
    }
    const slo_u128 ns = (slo_u128)r->n * RATIO_SCALE;
    b->has_data = true;
    b->rate.num = (ns - r->sum) * d->objective.den;
    b->rate.den = ns * slo_objective_budget_num(&d->objective);
}

static bool ratio_exceeds(const struct slo_slo_def *d, const struct ratio_sum *r,
                          const struct slo_decimal *x, bool inclusive)
{
    if (r->n == 0) {
        return false;
    }
    /* (NS - F) den / (NS e) > xn / xd  <=>  (NS - F) * (den xd) > (NS e) * xn */
    const slo_u128 ns = (slo_u128)r->n * RATIO_SCALE;
    int c = slo_eval_cmp128(ns - r->sum, (slo_u128)d->objective.den * x->den,
                            ns * slo_objective_budget_num(&d->objective), (slo_u128)x->num);
    return inclusive ? c >= 0 : c > 0;
}

static bool counts_exceed(const struct slo_slo_def *d, const struct slo_counts *c,
                          const struct slo_decimal *x, bool inclusive)
{
    if (c->total == 0) {
        return false;
    }
    /* burn = bad den / (total e) > xn / xd  <=>  bad * den * xd > xn * total * e */
    int cmp = slo_cmp3(c->total - c->good, d->objective.den, x->den, x->num, c->total,
                       slo_objective_budget_num(&d->objective));
    return inclusive ? cmp >= 0 : cmp > 0;
}

static int add_warning(struct slo_eval *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_warning(struct slo_eval *ev, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return AG_EINVAL;
    }
    char **nw = ag_realloc(ev->warnings, (ev->n_warnings + 1) * sizeof(*nw));
    if (nw == NULL) {
        return AG_ENOMEM;
    }
    ev->warnings = nw;
    nw[ev->n_warnings] = ag_strdup(text);
    if (nw[ev->n_warnings] == NULL) {
        return AG_ENOMEM;
    }
    ev->n_warnings++;
    return 0;
}

/* The per-lookback data of one evaluation. */
struct lb_data {
    struct slo_counts c;
    struct ratio_sum r;
    bool held;
};

static void lb_read(const struct slo_state *st, const struct lb *l, int64_t at,
                    struct lb_data *out)
{
    memset(out, 0, sizeof(*out));
    if (l->eff_ms == 0) {
        return;
    }
    out->held = true;
    switch (st->kind) {
    case ST_OCC_ROLL:
    case ST_OCC_CAL:
        window_counts_at(st->win, l->eff_ms, at, &out->c);
        break;
    case ST_SLICES_ROLL:
    case ST_SLICES_CAL:
        slices_counts_at(st->sl, l->eff_ms, st->def->slice_ms, at, st->def->slice_grace_ms,
                         &out->c);
        break;
    case ST_RATIO_ROLL:
    case ST_RATIO_CAL:
        ratio_sum(st, l->eff_ms, at - (int64_t)l->eff_ms, at, &out->r);
        break;
    }
}

static void lb_burn(const struct slo_state *st, const struct lb_data *ld, struct slo_burn *b)
{
    memset(b, 0, sizeof(*b));
    if (!ld->held) {
        return;
    }
    if (st->kind == ST_RATIO_ROLL || st->kind == ST_RATIO_CAL) {
        ratio_burn(st->def, &ld->r, b);
    } else {
        slo_burn_rate(&st->def->objective, ld->c.total - ld->c.good, ld->c.total, b);
    }
}

static bool lb_exceeds(const struct slo_state *st, const struct lb_data *ld,
                       const struct slo_alert_def *a)
{
    if (!ld->held) {
        return false;
    }
    if (st->kind == ST_RATIO_ROLL || st->kind == ST_RATIO_CAL) {
        return ratio_exceeds(st->def, &ld->r, &a->threshold, a->inclusive);
    }
    return counts_exceed(st->def, &ld->c, &a->threshold, a->inclusive);
}

/* Events (or periods) and bad ones in a lookback, for the minimum guards. */
static void lb_volume(const struct slo_state *st, const struct lb_data *ld, uint64_t *total,
                      uint64_t *bad)
{
    if (st->kind == ST_RATIO_ROLL || st->kind == ST_RATIO_CAL) {
        *total = ld->r.n;
        *bad = ld->r.n - (uint64_t)(ld->r.sum / RATIO_SCALE);
    } else {
        *total = ld->c.total;
        *bad = ld->c.total - ld->c.good;
    }
}

/* Remaining fraction after |bad| (scaled by |scale|) of a budget e N / den; 1 without budget. */
static double frac_after(const struct slo_slo_def *d, slo_u128 bad_scaled, uint64_t n,
                         uint64_t scale)
{
    uint64_t e = slo_objective_budget_num(&d->objective);
    if (n == 0) {
        return 1.0;
    }
    /* 1 - bad den / (e n scale) */
    slo_u128 num = bad_scaled * d->objective.den;
    slo_u128 den = (slo_u128)e * n * scale;
    if (num <= den) {
        return slo_eval_ratio_double(den - num, den);
    }
    return -slo_eval_ratio_double(num - den, den);
}

/* The burn-down of a rolling window: the budget left counting from the window's start. */
static void burndown(const struct slo_state *st, struct slo_eval *ev)
{
    const struct slo_slo_def *d = st->def;
    const struct slo_window *w = NULL;
    uint64_t p = 0;
    uint64_t n_all = 0;
    switch (st->kind) {
    case ST_OCC_ROLL:
        w = st->win;
        p = slo_window_resolution_ms(w, d->window_ms);
        n_all = ev->budget.total;
        break;
    case ST_SLICES_ROLL:
    case ST_RATIO_ROLL:
        w = st->win; /* NULL for Timeslices: their periods are read from st->sl */
        p = st->grp != NULL ? slo_groups_width(st->grp) : d->slice_ms; /* whole groups */
        n_all = ev->budget.total;
        break;
    default:
        break;
    }
    int64_t ws = ev->window_start_ms, we = ev->window_end_ms;
    if ((w == NULL && st->kind != ST_SLICES_ROLL) || p == 0 || we <= ws) {
        /* Calendar: the period's start, the milestones recorded in it so far, and now. */
        size_t k = 0;
        ev->burndown[k].t_ms = ws;
        ev->burndown[k++].remaining_fraction = 1.0;
        const struct cal_burn *cb = st->cb;
        for (int m = 1; cb != NULL && cb->cs == ws && m <= SLO_CAL_MILESTONES; m++) {
            int64_t t = slo_cal_milestone(cb->cs, cb->ce, m);
            if (t >= we) {
                break;
            }
            if (!isnan(cb->frac[m - 1]) && t > ws) {
                ev->burndown[k].t_ms = t;
                ev->burndown[k++].remaining_fraction = cb->frac[m - 1];
            }
        }
        ev->burndown[k].t_ms = we > ws ? we : ws;
        ev->burndown[k++].remaining_fraction =
            ev->budget.no_data ? 1.0 : slo_eval_rat_double(&ev->budget.remaining_fraction);
        ev->n_burndown = k;
        return;
    }
    uint64_t nb = (uint64_t)(we - ws) / p;
    uint64_t step = (nb + SLO_EVAL_MAX_BURNDOWN - 2) / (SLO_EVAL_MAX_BURNDOWN - 1);
    if (step == 0) {
        step = 1;
    }
    slo_u128 bad = 0; /* scaled by RATIO_SCALE for ratios, else by 1 */
    uint64_t scale = st->kind == ST_RATIO_ROLL ? RATIO_SCALE : 1;
    int64_t t = ws;
    size_t k = 0;
    ev->burndown[k].t_ms = t;
    ev->burndown[k++].remaining_fraction = 1.0;
    while (t < we && k < SLO_EVAL_MAX_BURNDOWN) {
        int64_t nt = t + (int64_t)(step * p);
        if (nt > we || k == SLO_EVAL_MAX_BURNDOWN - 1) {
            nt = we;
        }
        if (st->kind == ST_RATIO_ROLL) {
            struct ratio_sum r;
            ratio_sum(st, d->window_ms, t, nt, &r);
            bad += (slo_u128)r.n * RATIO_SCALE - r.sum;
        } else if (st->kind == ST_SLICES_ROLL) {
            struct slo_counts c;
            slo_slices_range(st->sl, t, nt, &c);
            bad += c.total - c.good;
        } else {
            struct slo_counts c;
            if (slo_window_range(w, d->window_ms, t, nt, &c) == 0) {
                bad += c.total - c.good;
            }
        }
        ev->burndown[k].t_ms = nt;
        ev->burndown[k++].remaining_fraction = frac_after(d, bad, n_all, scale);
        t = nt;
    }
    ev->n_burndown = k;
}

void slo_eval_release(struct slo_eval *ev)
{
    if (ev == NULL) {
        return;
    }
    for (size_t i = 0; i < ev->n_warnings; i++) {
        ag_free(ev->warnings[i]);
    }
    ag_free(ev->warnings);
    ag_free(ev->burns);
    ag_free(ev->alerts);
    memset(ev, 0, sizeof(*ev));
}

static int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    int64_t s = a0 > b0 ? a0 : b0, e = a1 < b1 ? a1 : b1;
    return e > s ? e - s : 0;
}

/* Whether the exact rational |r| (may be negative) is below the decimal |x| (0 < x). */
static bool rat_below(const struct slo_rat *r, const struct slo_decimal *x)
{
    if (r->neg && r->num > 0) {
        return true;
    }
    /* r.num / r.den < x.num / x.den  <=>  r.num * x.den < x.num * r.den (256-bit products) */
    return slo_eval_cmp128(r->num, x->den, x->num, r->den) < 0;
}

/* The time to exhaustion in seconds over the burn of the lookback |lb_ms| (registered) and the
 * window length |w_ms| into |*out|: remaining_fraction x W / burn, 0 once exhausted. Returns
 * false (null) without data or with a null or zero burn. The same double that the report prints
 * decides a TTE alert, so the two never disagree. */
static bool tte_over(const struct slo_state *st, const struct slo_eval *ev,
                     const struct lb_data *lds, uint64_t lb_ms, uint64_t w_ms, double *out)
{
    struct slo_burn tb;
    long ti = lb_find(st, lb_ms);
    memset(&tb, 0, sizeof(tb));
    if (ti >= 0) {
        lb_burn(st, &lds[ti], &tb);
    }
    double tte = 0;
    *out = 0;
    if (ev->budget.no_data || !slo_tte_seconds(&ev->budget, &tb, w_ms / 1000, false, &tte)) {
        return false;
    }
    if (!ev->budget.exhausted) {
        tte = slo_eval_rat_double(&ev->budget.remaining_fraction) * (double)(w_ms / 1000) /
              slo_eval_rat_double(&tb.rate);
    }
    *out = tte;
    return true;
}

/* One SLO's budget at |at| (its clock): what an evaluation reports, without allocating. */
struct budget_core {
    struct slo_budget budget;
    int64_t ws, we;   /* the window evaluated */
    uint64_t w_ms;    /* its length for the time to exhaustion (a calendar period's) */
    uint64_t inexact; /* RatioTimeslices: ratios that did not terminate */
    slo_u128 bad;     /* consumed: bad (scaled like the drop ring) of n; n == 0: no data */
    uint64_t n;
};

/* RatioTimeslices: the budget of |r| into |bc| (ratio_budget) with its consumed units. */
static int ratio_core(const struct slo_slo_def *d, const struct ratio_sum *r, uint64_t p_s,
                      struct budget_core *bc)
{
    int rc = ratio_budget(d, r, p_s, &bc->budget);
    bc->inexact = r->inexact;
    bc->n = r->n;
    bc->bad = (slo_u128)r->n * RATIO_SCALE - r->sum;
    return rc;
}

static int budget_at(const struct slo_state *st, int64_t at, struct budget_core *bc)
{
    const struct slo_slo_def *d = st->def;
    const bool ratio = st->kind == ST_RATIO_ROLL || st->kind == ST_RATIO_CAL;
    uint64_t p_s = d->budgeting != SLO_BUDGETING_OCCURRENCES ? d->slice_ms / 1000 : 0;
    if (p_s == 0 && d->budgeting != SLO_BUDGETING_OCCURRENCES) {
        p_s = 1; /* sub-second periods: seconds rounded up (display) */
    }
    uint64_t w_ms = d->window_ms;
    int rc = 0;
    memset(bc, 0, sizeof(*bc));

    switch (st->kind) {
    case ST_OCC_ROLL: {
        struct slo_counts c;
        window_counts_at(st->win, w_ms, at, &c);
        int64_t p = (int64_t)slo_window_resolution_ms(st->win, w_ms);
        bc->ws = ceil_to(at - (int64_t)w_ms, p);
        bc->we = floor_to(at, p);
        rc = slo_budget_eval(&d->objective, &d->warning, c.good, c.total, 0, &bc->budget);
        break;
    }
    case ST_SLICES_ROLL: {
        struct slo_counts c;
        int64_t p = (int64_t)d->slice_ms;
        slices_counts_at(st->sl, w_ms, (uint64_t)p, at, d->slice_grace_ms, &c);
        bc->ws = ceil_to(at - (int64_t)w_ms, p);
        bc->we = floor_to(at, p);
        if (d->slice_grace_ms > 0) {
            bc->we = slo_slices_judged_until(st->sl);
            bc->ws = bc->we - (int64_t)w_ms;
        }
        rc = slo_budget_eval(&d->objective, &d->warning, c.good, c.total, p_s, &bc->budget);
        break;
    }
    case ST_RATIO_ROLL: {
        struct ratio_sum r;
        int64_t p = (int64_t)d->slice_ms;
        ratio_sum(st, w_ms, at - (int64_t)w_ms, at, &r);
        bc->ws =
            ceil_to(at - (int64_t)w_ms, st->grp != NULL ? (int64_t)slo_groups_width(st->grp) : p);
        bc->we = floor_to(at, p);
        rc = ratio_core(d, &r, p_s, bc);
        break;
    }
    case ST_OCC_CAL: {
        struct slo_counts c;
        slo_calendar_counts(&st->cal, &c, &bc->ws, &bc->we);
        bc->we = floor_to(at, 60000);
        rc = slo_budget_eval(&d->objective, &d->warning, c.good, c.total, 0, &bc->budget);
        w_ms = (uint64_t)(st->cal.end_ms - st->cal.start_ms);
        break;
    }
    case ST_RATIO_CAL: {
        struct ratio_sum r;
        int64_t p = (int64_t)d->slice_ms, cs = 0, ce = 0;
        if (slo_calendar_bounds_tz(d->calendar_unit, d->tz, d->utc_offset_s, at, &cs, &ce) != 0) {
            return AG_EINVAL;
        }
        ratio_sum(st, st->ring_ms, cs, at, &r);
        if (st->fold && st->acc.has && st->acc.cs == cs) {
            ratio_merge(&r, &st->acc.r); /* the period's slices that left the ring */
        }
        /* N is the whole calendar period's (minus ignored periods); periods not judged yet
         * (future, or before the engine started) count as good, as for Timeslices (§4.3). */
        uint64_t n_total = (uint64_t)(ce - cs) / (uint64_t)p - r.ignored;
        r.sum += (slo_u128)(n_total - r.n) * RATIO_SCALE;
        r.n = n_total;
        bc->ws = cs;
        bc->we = floor_to(at, p);
        rc = ratio_core(d, &r, p_s, bc);
        w_ms = (uint64_t)(ce - cs);
        break;
    }
    case ST_SLICES_CAL: {
        struct slo_counts c;
        uint64_t n_total = 0;
        int64_t cs = 0, ce = 0;
        if (slo_slices_calendar_counts(st->sl, &c, &n_total, &cs, &ce) != 0) {
            return AG_EINVAL;
        }
        bc->ws = cs;
        bc->we = slo_slices_judged_until(st->sl);
        /* Future periods count in N and are not bad (§4.3): good = N - bad. */
        uint64_t bad = c.total - c.good;
        if (bad > n_total) {
            bad = n_total;
        }
        rc = slo_budget_eval(&d->objective, &d->warning, n_total - bad, n_total, p_s, &bc->budget);
        w_ms = (uint64_t)(ce - cs);
        break;
    }
    }
    bc->w_ms = w_ms;
    if (rc == 0 && bc->n == 0 && !ratio) {
        bc->bad = bc->budget.bad;
        bc->n = bc->budget.total;
    }
    return rc;
}

/* The sample of the drop ring at boundary |t|, or NULL when it is not held (before the
 * engine's start, or older than the ring). */
static const struct drop_sample *drop_get(const struct drop_ring *r, int64_t t)
{
    const int64_t q = (int64_t)r->step_ms;
    if (r->n == 0 || t < 0 || t > r->last || (r->last - t) % q != 0 ||
        (uint64_t)((r->last - t) / q) >= r->n) {
        return NULL;
    }
    return &r->s[(size_t)((uint64_t)(t / q) % r->cap)];
}

/*
 * Advances |st| to |now| through every sampling boundary of its drop ring in (clock, now],
 * sampling the budget at each as the evaluation at that instant would report it (the state
 * moved exactly there: observations before the boundary counted, none after). Boundaries older
 * than the ring's span from |now| are skipped (they would leave it at once). A sample that
 * cannot be taken (a calendar bound refused) empties the ring: samples are consecutive.
 */
/*
 * Calendar burn-down (struct cal_burn): moves |st| towards |now| milestone by milestone,
 * recording the remaining fraction at each one passed in the calendar period of |now| (those of
 * earlier periods are never shown: a jump goes straight to the period's start).
 */
static void cb_advance(struct slo_state *st, int64_t now)
{
    const struct slo_slo_def *d = st->def;
    struct cal_burn *cb = st->cb;
    if (cb->next > 0 && now < cb->next) {
        return; /* before the next milestone and the period's end: nothing to record */
    }
    int64_t cs = 0, ce = 0;
    if (slo_calendar_bounds_tz(d->calendar_unit, d->tz, d->utc_offset_s, now, &cs, &ce) != 0 ||
        ce <= cs) {
        return;
    }
    if (cb->cs != cs || cb->ce != ce) {
        cb->cs = cs;
        cb->ce = ce;
        for (size_t k = 0; k < SLO_CAL_MILESTONES; k++) {
            cb->frac[k] = NAN;
        }
        if (st->clock < cs) {
            advance_to(st, cs);
        }
    }
    for (int k = 1; k <= SLO_CAL_MILESTONES; k++) {
        int64_t t = slo_cal_milestone(cs, ce, k);
        if (t <= st->clock) {
            continue;
        }
        if (t > now) {
            break;
        }
        advance_to(st, t);
        struct budget_core bc;
        if (budget_at(st, t, &bc) == 0) {
            cb->frac[k - 1] =
                bc.budget.no_data ? 1.0 : slo_eval_rat_double(&bc.budget.remaining_fraction);
        }
    }
    cb->next = ce;
    for (int k = 1; k <= SLO_CAL_MILESTONES; k++) {
        int64_t t = slo_cal_milestone(cs, ce, k);
        if (t > now) {
            cb->next = t;
            break;
        }
    }
}

static void drop_advance(struct slo_state *st, int64_t now)
{
    struct drop_ring *r = st->drop;
    const int64_t q = (int64_t)r->step_ms;
    int64_t first = floor_to(st->clock, q) + q;
    int64_t last = floor_to(now, q);
    if (first <= last) {
        int64_t lo = last - (int64_t)(r->cap - 1) * q;
        if (lo > first) {
            first = lo;
        }
        if (r->n > 0 && first != r->last + q) {
            r->n = 0;
        }
        for (int64_t b = first; b <= last; b += q) {
            state_move(st, b);
            struct budget_core bc;
            if (budget_at(st, b, &bc) != 0) {
                r->n = 0;
                continue;
            }
            struct drop_sample *x = &r->s[(size_t)((uint64_t)(b / q) % r->cap)];
            x->bad = bc.bad;
            x->n = bc.n;
            if (r->n > 0 && b != r->last + q) {
                r->n = 0;
            }
            r->last = b;
            if (r->n < r->cap) {
                r->n++;
            }
        }
    }
    if (now > st->clock) {
        state_move(st, now);
    }
}

static int eval_fill(struct slo_engine *e, struct slo_state *st, int64_t at, struct slo_eval *ev)
{
    const struct slo_slo_def *d = st->def;
    int rc = 0;
    uint64_t p_s = d->budgeting != SLO_BUDGETING_OCCURRENCES ? d->slice_ms / 1000 : 0;
    if (p_s == 0 && d->budgeting != SLO_BUDGETING_OCCURRENCES) {
        p_s = 1; /* sub-second periods: seconds rounded up (display) */
    }
    ev->def = d;
    ev->at_ms = at;
    ev->periods = d->budgeting != SLO_BUDGETING_OCCURRENCES;
    struct budget_core bc;
    rc = budget_at(st, at, &bc);
    if (rc != 0) {
        return rc;
    }
    ev->budget = bc.budget;
    ev->window_start_ms = bc.ws;
    ev->window_end_ms = bc.we;
    uint64_t w_ms = bc.w_ms;
    if (bc.inexact > 0) {
        rc = add_warning(ev,
                         "%" PRIu64 " period ratios do not terminate within 18 decimals: "
                         "attainment is exact to N x 1e-18",
                         bc.inexact);
        if (rc != 0) {
            return rc;
        }
    }
    ev->attainment_null = ev->budget.no_data;

    /* Burn rates: every distinct window named in the alerts, sorted. */
    size_t n_named = 0;
    for (size_t i = 0; i < st->n_lbs; i++) {
        n_named += st->lbs[i].text != NULL;
    }
    struct lb_data *lds = ag_calloc(st->n_lbs ? st->n_lbs : 1, sizeof(*lds));
    if (lds == NULL) {
        return AG_ENOMEM;
    }
    if (n_named > 0) {
        ev->burns = ag_calloc(n_named, sizeof(*ev->burns));
        if (ev->burns == NULL) {
            ag_free(lds);
            return AG_ENOMEM;
        }
    }
    for (size_t i = 0; i < st->n_lbs; i++) {
        lb_read(st, &st->lbs[i], at, &lds[i]);
        if (st->lbs[i].text != NULL) {
            struct slo_eval_burn *b = &ev->burns[ev->n_burns++];
            b->window = st->lbs[i].text;
            b->lookback_ms = st->lbs[i].written_ms;
            lb_burn(st, &lds[i], &b->burn);
            if (st->lbs[i].eff_ms == 0) {
                rc = add_warning(ev, "alert window %s is longer than the SLO window: no burn rate",
                                 st->lbs[i].text);
            } else if (st->lbs[i].eff_ms != st->lbs[i].written_ms) {
                rc = add_warning(ev, "alert window %s rounded to %" PRIu64
                                     " s (whole periods)",
                                 st->lbs[i].text, st->lbs[i].eff_ms / 1000);
            }
            if (rc != 0) {
                ag_free(lds);
                return rc;
            }
        }
    }

    /* Time to exhaustion over the TTE lookback and the window length. */
    ev->tte_null = !tte_over(st, ev, lds, st->tte_ms, w_ms, &ev->tte_seconds);

    /* Alerts: the multiwindow condition with the guards on the long window; the remaining
     * budget; the time to exhaustion over the alert's lookback. Then the cool-down. */
    if (d->n_alerts > 0) {
        ev->alerts = ag_calloc(d->n_alerts, sizeof(*ev->alerts));
        if (ev->alerts == NULL) {
            ag_free(lds);
            return AG_ENOMEM;
        }
        ev->n_alerts = d->n_alerts;
    }
    for (size_t i = 0; i < d->n_alerts && rc == 0; i++) {
        const struct slo_alert_def *a = &d->alerts[i];
        struct slo_eval_alert *ea = &ev->alerts[i];
        bool fire = false;
        ea->def = a;
        if (a->kind == SLO_ALERT_BUDGET) {
            fire = !ev->budget.no_data && rat_below(&ev->budget.remaining_fraction,
                                                    &a->budget_below);
            ea->reason = "error budget remaining below the threshold";
        } else if (a->kind == SLO_ALERT_DROP) {
            /* The budget at floor(T) - L (a sample; nothing consumed when the engine knew
             * nothing then) against the budget now. */
            const struct drop_ring *r = st->drop;
            uint64_t eff = drop_eff(a->drop_ms, r->step_ms);
            const struct drop_sample *ref =
                drop_get(r, floor_to(at, (int64_t)r->step_ms) - (int64_t)eff);
            fire =
                slo_budget_drop_exceeds(&d->objective, ref != NULL ? ref->bad : 0,
                                        ref != NULL ? ref->n : 0, bc.bad, bc.n, r->scale, &a->drop);
            ea->reason = "error budget dropped by more than the threshold within the lookback";
            if (eff != a->drop_ms) {
                rc = add_warning(ev,
                                 "alert %s: budgetDrop lookback %s rounded to %" PRIu64
                                 " s (whole budget steps)",
                                 a->name, a->drop_text != NULL ? a->drop_text : "?", eff / 1000);
            }
        } else if (a->kind == SLO_ALERT_TTE) {
            double t = 0;
            fire = tte_over(st, ev, lds, a->long_ms, w_ms, &t) &&
                   t < (double)(a->tte_below_ms / 1000) + (double)(a->tte_below_ms % 1000) / 1e3;
            ea->reason = "time to exhaustion below the threshold";
        } else {
            const struct lb_data *ll = &lds[lb_find(st, a->long_ms)];
            const struct lb_data *ls = a->short_ms ? &lds[lb_find(st, a->short_ms)] : NULL;
            uint64_t vol = 0, vbad = 0;
            lb_volume(st, ll, &vol, &vbad);
            fire = lb_exceeds(st, ll, a) && (ls == NULL || lb_exceeds(st, ls, a)) &&
                   vol >= a->min_events && vbad >= a->min_bad;
            ea->reason = ls != NULL
                             ? "burn rate above the threshold over the long and the short window"
                             : "burn rate above the threshold over the window";
        }
        /* Cool-down (§7.2): resolved -> firing waits until cool_down_ms after the last resolve. */
        if (fire && !st->firing[i] && a->cool_down_ms > 0 && st->last_resolve[i] >= 0 &&
            at - st->last_resolve[i] < (int64_t)a->cool_down_ms) {
            fire = false;
            rc = add_warning(ev, "alert %s: its condition holds but its cool-down keeps it "
                                 "resolved for %" PRId64 " s more",
                             a->name,
                             (st->last_resolve[i] + (int64_t)a->cool_down_ms - at + 999) / 1000);
        }
        ea->firing = fire;
        ea->changed = fire != st->firing[i];
        if (!fire) {
            ea->reason = NULL;
        }
    }
    if (rc != 0) {
        ag_free(lds);
        return rc;
    }
    ag_free(lds);

    burndown(st, ev);

    /* Warnings. */
    int64_t w_start = at - (int64_t)w_ms;
    if (!d->calendar && st->start_ms > w_start && rc == 0) {
        rc = add_warning(ev, "young window: data since %" PRId64 " s only of a %" PRIu64
                             " s window",
                         (at - st->start_ms) / 1000 > 0 ? (at - st->start_ms) / 1000 : 0,
                         w_ms / 1000);
    }
    if (st->lost && st->start_ms > ev->window_start_ms && rc == 0) {
        char t[40];
        if (slo_format_rfc3339(st->start_ms, t, sizeof(t)) < 0) {
            t[0] = '\0';
        }
        rc = add_warning(ev, "no checkpoint was restored (lost or refused): the window restarted "
                             "empty at %s; what came before is not counted",
                         t);
    }
    ev->gap_ms = overlap(st->gap_start, st->gap_end, ev->window_start_ms, ev->window_end_ms);
    if (ev->gap_ms > 0 && rc == 0) {
        rc = add_warning(ev, "agent gap: no knowledge of %" PRId64
                             " s of the window (the agent was down)",
                         ev->gap_ms / 1000);
    }
    uint64_t late = 0, too_old = 0, dropped = 0;
    if (st->win != NULL && st->kind != ST_OCC_CAL) {
        /* (a calendar SLO's lookback window is shorter than its period: its too_old is not a
         * loss, the calendar accumulator counts that event) */
        struct slo_window_stats ws;
        slo_window_get_stats(st->win, &ws);
        late += ws.late;
        too_old += ws.too_old;
    }
    if (st->kind == ST_OCC_CAL) {
        late = st->cal.stats.late;
        too_old += st->cal.stats.too_old;
    }
    if (st->sl != NULL) {
        struct slo_slices_stats ss;
        slo_slices_get_stats(st->sl, &ss);
        dropped = ss.late;
    }
    if (late > 0 && rc == 0) {
        rc = add_warning(ev, "%" PRIu64 " late observations were added to closed buckets", late);
    }
    if (too_old > 0 && rc == 0) {
        rc = add_warning(ev, "%" PRIu64 " observations older than the window were not counted",
                         too_old);
    }
    if (dropped > 0 && rc == 0) {
        rc = add_warning(ev, "%" PRIu64 " observations for already judged periods were not "
                             "counted",
                         dropped);
    }
    return rc;
}

int slo_engine_eval(struct slo_engine *e, size_t slo, int64_t at_ms, struct slo_eval *out)
{
    memset(out, 0, sizeof(*out));
    if (slo >= e->n || at_ms < 0) {
        return AG_EINVAL;
    }
    struct slo_state *st = &e->st[slo];
    slo_eval_state_advance(st, at_ms);
    if (at_ms > e->clock) {
        e->clock = at_ms > SLO_TIME_MAX_MS ? SLO_TIME_MAX_MS : at_ms;
    }
    int64_t at = st->clock;
    int rc = eval_fill(e, st, at, out);
    if (rc != 0) {
        slo_eval_release(out);
        return rc == AG_ENOMEM ? AG_ENOMEM : rc;
    }
    for (size_t i = 0; i < out->n_alerts; i++) {
        if (!out->alerts[i].changed) {
            continue;
        }
        st->firing[i] = out->alerts[i].firing;
        if (!out->alerts[i].firing) {
            st->last_resolve[i] = at;
        }
        if (e->alert_fn != NULL) {
            struct slo_alert_event ae = {st->def, out->alerts[i].def, out->alerts[i].firing, at,
                                         out};
            e->alert_fn(e->alert_arg, &ae);
        }
    }
    return 0;
}

/* ---- reports -------------------------------------------------------------------------------- */

void slo_report_release(struct slo_report *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n_evals; i++) {
        for (size_t j = 0; j < r->evals[i].n_slos; j++) {
            slo_eval_release(&r->evals[i].slos[j]);
        }
        ag_free(r->evals[i].slos);
    }
    ag_free(r->evals);
    memset(r, 0, sizeof(*r));
}

int slo_report_exit_status(const struct slo_report *r)
{
    if (r->n_evals == 0) {
        return 0;
    }
    const struct slo_report_at *last = &r->evals[r->n_evals - 1];
    for (size_t i = 0; i < last->n_slos; i++) {
        if (last->slos[i].budget.status == SLO_STATUS_BREACHED) {
            return 1;
        }
    }
    return 0;
}

int slo_format_rfc3339(int64_t ms, char *buf, size_t cap)
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    /* civil_from_days (Howard Hinnant) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    unsigned hh = (unsigned)(rem / 3600000), mm = (unsigned)(rem / 60000 % 60),
             ss = (unsigned)(rem / 1000 % 60), fr = (unsigned)(rem % 1000);
    int n;
    if (fr != 0) {
        n = snprintf(buf, cap, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d, hh, mm,
                     ss, fr);
    } else {
        n = snprintf(buf, cap, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02uZ", y, m, d, hh, mm, ss);
    }
    if (n < 0 || (size_t)n >= cap) {
        return AG_ETOOBIG;
    }
    return n;
}

static void json_rat(struct ag_json *j, const struct slo_rat *r)
{
    ag_json_double(j, slo_eval_rat_double(r));
}

static void json_eval(struct ag_json *j, const struct slo_eval *ev)
{
    const struct slo_slo_def *d = ev->def;
    const struct slo_budget *b = &ev->budget;
    char obj[64];
    ag_json_obj_open(j);
    ag_json_key(j, "name");
    ag_json_str(j, d->name);
    ag_json_key(j, "objective");
    if (slo_objective_format_percent(&d->objective, obj, sizeof(obj)) < 0) {
        obj[0] = '\0';
    }
    ag_json_str(j, obj);
    ag_json_key(j, "status");
    ag_json_str(j, slo_status_name(b->status));
    ag_json_key(j, "good");
    ag_json_uint(j, b->good);
    ag_json_key(j, "bad");
    ag_json_uint(j, b->bad);
    ag_json_key(j, "total");
    ag_json_uint(j, b->total);
    ag_json_key(j, "attainment_pct");
    if (ev->attainment_null) {
        ag_json_null(j);
    } else {
        /* good / total * 100, exactly then rounded once. */
        ag_json_double(j, slo_eval_ratio_double(b->attainment.num * 100, b->attainment.den));
    }
    ag_json_key(j, "error_budget");
    ag_json_obj_open(j);
    ag_json_key(j, "unit");
    ag_json_str(j, ev->periods ? "periods" : "events");
    ag_json_key(j, "total");
    json_rat(j, &b->budget_total);
    ag_json_key(j, "consumed");
    if (d->budgeting == SLO_BUDGETING_RATIO_TIMESLICES && !b->no_data) {
        /* fractional bad periods: N - sum of ratios = (N S - F) / S, attainment being F / N S */
        ag_json_double(j, slo_eval_ratio_double(b->attainment.den - b->attainment.num,
                                                RATIO_SCALE));
    } else {
        ag_json_uint(j, b->bad);
    }
    ag_json_key(j, "remaining");
    json_rat(j, &b->remaining);
    ag_json_key(j, "remaining_fraction");
    json_rat(j, &b->remaining_fraction);
    ag_json_key(j, "remaining_seconds");
    if (ev->periods && b->has_seconds) {
        json_rat(j, &b->remaining_seconds);
    } else {
        ag_json_null(j);
    }
    ag_json_obj_close(j);
    ag_json_key(j, "burn_rates");
    ag_json_obj_open(j);
    for (size_t i = 0; i < ev->n_burns; i++) {
        ag_json_key(j, ev->burns[i].window);
        if (ev->burns[i].burn.has_data) {
            json_rat(j, &ev->burns[i].burn.rate);
        } else {
            ag_json_null(j);
        }
    }
    ag_json_obj_close(j);
    ag_json_key(j, "alerts");
    ag_json_obj_open(j);
    for (size_t i = 0; i < ev->n_alerts; i++) {
        ag_json_key(j, ev->alerts[i].def->name);
        ag_json_obj_open(j);
        ag_json_key(j, "firing");
        ag_json_bool(j, ev->alerts[i].firing);
        ag_json_key(j, "reason");
        if (ev->alerts[i].reason != NULL) {
            ag_json_str(j, ev->alerts[i].reason);
        } else {
            ag_json_null(j);
        }
        ag_json_obj_close(j);
    }
    ag_json_obj_close(j);
    ag_json_key(j, "time_to_exhaustion_seconds");
    if (ev->tte_null) {
        ag_json_null(j);
    } else {
        ag_json_double(j, ev->tte_seconds);
    }
    ag_json_key(j, "warnings");
    ag_json_arr_open(j);
    for (size_t i = 0; i < ev->n_warnings; i++) {
        ag_json_str(j, ev->warnings[i]);
    }
    ag_json_arr_close(j);
    ag_json_obj_close(j);
}

int slo_report_json(const struct slo_report *r, struct ag_buf *out)
{
    struct ag_json j;
    ag_json_init(&j, out);
    ag_json_obj_open(&j);
    ag_json_key(&j, "evaluations");
    ag_json_arr_open(&j);
    for (size_t i = 0; i < r->n_evals; i++) {
        const struct slo_report_at *ra = &r->evals[i];
        char at[40];
        if (slo_format_rfc3339(ra->at_ms, at, sizeof(at)) < 0) {
            at[0] = '\0';
        }
        ag_json_obj_open(&j);
        ag_json_key(&j, "at");
        ag_json_str(&j, ra->at_text != NULL ? ra->at_text : at);
        ag_json_key(&j, "slos");
        ag_json_arr_open(&j);
        for (size_t k = 0; k < ra->n_slos; k++) {
            json_eval(&j, &ra->slos[k]);
        }
        ag_json_arr_close(&j);
        ag_json_obj_close(&j);
    }
    ag_json_arr_close(&j);
    ag_json_obj_close(&j);
    return ag_json_finish(&j);
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

int slo_parse_rfc3339(const char *s, size_t len, int64_t *ms, const char **why)
{
    static const char *const form = "RFC 3339 UTC time such as 2025-01-31T10:00:00Z";
    unsigned y, mo, d, h, mi, se, frac = 0;
    *ms = 0;
    if (why != NULL) {
        *why = form;
    }
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
        !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
        !digits(s + 17, 2, &se)) {
        return AG_EINVAL;
    }
    size_t i = 19;
    if (s[i] == '.') {
        size_t nd = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 3) {
                frac = frac * 10 + (unsigned)(s[i] - '0');
            }
            nd++;
            i++;
        }
        if (nd == 0 || nd > 9) {
            return AG_EINVAL;
        }
        for (; nd < 3; nd++) {
            frac *= 10;
        }
    }
    if (i + 1 != len || (s[i] != 'Z' && s[i] != 'z')) {
        if (why != NULL && i < len && (s[i] == '+' || s[i] == '-')) {
            *why = "a UTC time ending in Z (offsets are not accepted)";
        }
        return AG_EINVAL;
    }
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 60) {
        if (why != NULL) {
            *why = "a valid date and time from 1970 on";
        }
        return AG_EINVAL;
    }
    if (se == 60) {
        se = 59; /* a leap second: the last ms of the minute before */
        frac = 999;
    }
    /* days_from_civil */
    int64_t yy = (int64_t)y - (mo <= 2);
    int64_t era = yy / 400;
    unsigned yoe = (unsigned)(yy - era * 400);
    unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + (int64_t)doe - 719468;
    *ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000 + frac;
    return 0;
}
