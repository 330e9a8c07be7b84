/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error budgets, status, burn rates, time to exhaustion and the multiwindow burn-rate condition.
 * Every decision (met, exhausted, WARNING, burn > X) is an integer cross-multiplication on the
 * objective's exact num / den (specs/slo.md §11.2); rationals are kept only for display.
 */
#include "slo_budget.h"

#include <string.h>

static struct slo_rat rat(slo_u128 num, slo_u128 den, bool neg)
{
    struct slo_rat r = {num, den, neg && num != 0};
    return r;
}

/* Signed difference a - b of two u128 values as a rational over |den|. */
static struct slo_rat rat_diff(slo_u128 a, slo_u128 b, slo_u128 den)
{
    return a >= b ? rat(a - b, den, false) : rat(b - a, den, true);
}

int slo_budget_eval(const struct slo_decimal *objective, const struct slo_decimal *warning,
                    uint64_t good, uint64_t total, uint64_t period_seconds, struct slo_budget *out)
{
    static const struct slo_decimal half = {5, 10, 1};
    const struct slo_decimal *w = warning ? warning : &half;
    memset(out, 0, sizeof(*out));
    if (good > total || objective->num == 0 || objective->num >= objective->den) {
        return AG_EINVAL;
    }
    /* Seconds multiply a < 2^92 product: keep it below 2^128. */
    if (period_seconds > UINT32_MAX || (period_seconds > 0 && total > UINT32_MAX)) {
        return AG_EINVAL;
    }
    uint64_t den = objective->den;
    uint64_t e = slo_objective_budget_num(objective);
    uint64_t bad = total - good;
    slo_u128 etot = (slo_u128)e * total; /* budget_total * den */
    slo_u128 bden = (slo_u128)bad * den; /* consumed * den */

    out->good = good;
    out->bad = bad;
    out->total = total;
    out->no_data = total == 0;
    out->met = bden <= etot;
    out->exhausted = bden >= etot;
    out->allowed_bad = (uint64_t)(etot / den);
    out->attainment = total ? rat(good, total, false) : rat(0, 1, false);
    out->budget_total = rat(etot, den, false);
    out->remaining = rat_diff(etot, bden, den);
    out->remaining_fraction = total ? rat_diff(etot, bden, etot) : rat(1, 1, false);
    if (period_seconds > 0) {
        out->has_seconds = true;
        out->budget_seconds = rat(etot * period_seconds, den, false);
        out->remaining_seconds = rat_diff(etot * period_seconds, bden * period_seconds, den);
    }
    if (out->no_data) {
        out->status = SLO_STATUS_NO_DATA;
    } else if (!out->met) {
        out->status = SLO_STATUS_BREACHED;
    } else if (slo_cmp_wide(etot - bden, w->den, (slo_u128)w->num * e, total) < 0) {
        /* remaining_fraction < w <=> (e*total - bad*den) * w_den < w_num * e * total. */
        out->status = SLO_STATUS_WARNING;
    } else {
        out->status = SLO_STATUS_OK;
    }
    return 0;
}

void slo_burn_rate(const struct slo_decimal *objective, uint64_t bad, uint64_t total,
                   struct slo_burn *out)
{
    memset(out, 0, sizeof(*out));
    if (total == 0) {
        return;
    }
    out->has_data = true;
    out->rate = rat((slo_u128)bad * objective->den,
                    (slo_u128)total * slo_objective_budget_num(objective), false);
}

bool slo_burn_exceeds(const struct slo_decimal *objective, uint64_t bad, uint64_t total,
                      const struct slo_decimal *threshold)
{
    if (total == 0) {
        return false;
    }
    return slo_cmp3(bad, objective->den, threshold->den, threshold->num,
                    slo_objective_budget_num(objective), total) > 0;
}

bool slo_threshold_unreachable(const struct slo_decimal *objective,
                               const struct slo_decimal *threshold)
{
    /* X >= 1 / (1 - o) <=> x_num * e >= x_den * den. */
    return slo_cmp3(threshold->num, slo_objective_budget_num(objective), 1, threshold->den,
                    objective->den, 1) >= 0;
}

bool slo_mwmbr_fires(const struct slo_decimal *objective, const struct slo_mwmbr *cond,
                     const struct slo_counts *long_w, const struct slo_counts *short_w)
{
    if (long_w->good > long_w->total || short_w->good > short_w->total) {
        return false;
    }
    uint64_t long_bad = long_w->total - long_w->good;
    if (long_w->total < cond->min_events || long_bad < cond->min_bad) {
        return false;
    }
    return slo_burn_exceeds(objective, long_bad, long_w->total, &cond->threshold) &&
           slo_burn_exceeds(objective, short_w->total - short_w->good, short_w->total,
                            &cond->threshold);
}

int slo_mwmbr_defaults(uint64_t window_ms, uint64_t bucket_ms,
                       struct slo_mwmbr_default out[SLO_MWMBR_DEFAULTS])
{
    static const struct {
        const char *severity;
        const char *threshold;
        uint64_t long30_h; /* the long window for a 30-day SLO, in hours */
    } table[SLO_MWMBR_DEFAULTS] = {
        {"page", "14.4", 1},
        {"page", "6", 6},
        {"ticket", "3", 24},
        {"ticket", "1", 72},
    };
    const uint64_t days30_ms = 30ull * 86400 * 1000;
    if (bucket_ms == 0) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < SLO_MWMBR_DEFAULTS; i++) {
        /* L = L30 * T / 30 d, in integers: L30_ms * T / 30d_ms, then whole buckets. */
        slo_u128 l = (slo_u128)table[i].long30_h * 3600000u * window_ms / days30_ms;
        uint64_t long_ms = (uint64_t)(l - l % bucket_ms);
        uint64_t short_ms = long_ms / 12;
        short_ms -= short_ms % bucket_ms;
        if (short_ms < 2 * bucket_ms) {
            memset(out, 0, sizeof(struct slo_mwmbr_default) * SLO_MWMBR_DEFAULTS);
            return AG_EINVAL;
        }
        out[i].severity = table[i].severity;
        out[i].threshold = table[i].threshold;
        out[i].long_ms = long_ms;
        out[i].short_ms = short_ms;
    }
    return 0;
}

bool slo_tte_seconds(const struct slo_budget *b, const struct slo_burn *burn, uint64_t window_s,
                     bool entire, double *out)
{
    *out = 0.0;
    if (!burn->has_data || burn->rate.num == 0) {
        return false;
    }
    if (b->exhausted && !entire) {
        return true;
    }
    double rate = slo_rat_to_double(&burn->rate);
    double frac = entire ? 1.0 : slo_rat_to_double(&b->remaining_fraction);
    *out = frac * (double)window_s / rate;
    return true;
}

double slo_rat_to_double(const struct slo_rat *r)
{
    double v = slo_ratio_to_double(r->num, r->den);
    return r->neg ? -v : v;
}

const char *slo_status_name(enum slo_status s)
{
    switch (s) {
    case SLO_STATUS_NO_DATA:
        return "NO_DATA";
    case SLO_STATUS_OK:
        return "OK";
    case SLO_STATUS_WARNING:
        return "WARNING";
    case SLO_STATUS_BREACHED:
        return "BREACHED";
    }
    return "UNKNOWN";
}

/* ---- budget drop: unsigned integers of 6 x 64 bits ------------------------------------------ */

#define MP_LIMBS 6

static void mp_set(uint64_t *a, slo_u128 v)
{
    memset(a, 0, MP_LIMBS * sizeof(*a));
    a[0] = (uint64_t)v;
    a[1] = (uint64_t)(v >> 64);
}

/* a *= m (the callers' products stay below 2^321, so nothing leaves the top limb). */
static void mp_mul(uint64_t *a, uint64_t m)
{
    slo_u128 carry = 0;
    for (int i = 0; i < MP_LIMBS; i++) {
        slo_u128 p = (slo_u128)a[i] * m + carry;
        a[i] = (uint64_t)p;
        carry = p >> 64;
    }
}

static void mp_add(uint64_t *a, const uint64_t *b)
{
    slo_u128 carry = 0;
    for (int i = 0; i < MP_LIMBS; i++) {
        slo_u128 s = (slo_u128)a[i] + b[i] + carry;
        a[i] = (uint64_t)s;
        carry = s >> 64;
    }
}

static int mp_cmp(const uint64_t *a, const uint64_t *b)
{
    for (int i = MP_LIMBS - 1; i >= 0; i--) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return 0;
}

bool slo_budget_drop_exceeds(const struct slo_decimal *objective, slo_u128 bad0, uint64_t n0,
                             slo_u128 bad1, uint64_t n1, uint64_t scale,
                             const struct slo_decimal *drop)
{
    if (n1 == 0 || scale == 0) {
        return false;
    }
    const uint64_t den = objective->den, e = slo_objective_budget_num(objective);
    uint64_t lhs[MP_LIMBS], rhs[MP_LIMBS], t[MP_LIMBS];
    /* cf1 - cf0 > x_n / x_d with cf = bad den / (e n scale); multiplied by e scale n1 n0 x_d:
     *   bad1 den x_d n0 > bad0 den x_d n1 + x_n e scale n1 n0
     * and without a reference (cf0 = 0, n0 taken as 1 and bad0 as 0):
     *   bad1 den x_d > x_n e scale n1. */
    const uint64_t m0 = n0 == 0 ? 1 : n0;
    mp_set(lhs, bad1);
    mp_mul(lhs, den);
    mp_mul(lhs, drop->den);
    mp_mul(lhs, m0);
    mp_set(rhs, drop->num);
    mp_mul(rhs, e);
    mp_mul(rhs, scale);
    mp_mul(rhs, n1);
    mp_mul(rhs, m0);
    if (n0 > 0) {
        mp_set(t, bad0);
        mp_mul(t, den);
        mp_mul(t, drop->den);
        mp_mul(t, n1);
        mp_add(rhs, t);
    }
    return mp_cmp(lhs, rhs) > 0;
}
