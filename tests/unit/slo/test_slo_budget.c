/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_budget: budgets in events and periods, status order, burn rates, the
 * multiwindow condition with its guards, default windows and time to exhaustion. Every expected
 * value is worked out by hand in the comment beside it (specs/slo.md §5-7, §11).
 */
#include "ag_test.h"
#include "slo_budget.h"

static struct slo_decimal pct(const char *s)
{
    struct slo_decimal o = {0, 0, 0};
    if (slo_objective_parse(s, strlen(s), SLO_OBJ_PERCENT, &o, NULL) != 0) {
        o.den = 0;
    }
    return o;
}

static struct slo_decimal dec(const char *s)
{
    struct slo_decimal d = {0, 0, 0};
    if (slo_decimal_parse(s, strlen(s), &d, NULL) != 0) {
        d.den = 0;
    }
    return d;
}

struct budget_vector {
    const char *objective;
    uint64_t good, total;
    const char *warning;
    int met, exhausted;
    uint64_t allowed_bad;
    enum slo_status status;
    const char *threshold;
    int burn_gt;
};

#include "budget_vectors.h"

static double dbl(const struct slo_rat *r)
{
    return slo_rat_to_double(r);
}

/* §5.1, first example: 2 h of 5-min periods at 90 %. N = 120 / 5 = 24; budget = 0.1 * 24 = 2.4;
 * allowed = floor(2.4) = 2. In seconds: 2.4 * 300 = 720 s. */
static void test_brief_24_periods(void)
{
    struct slo_decimal o = pct("90");
    struct slo_budget b;
    ASSERT_OK(slo_budget_eval(&o, NULL, 22, 24, 300, &b)); /* 2 bad */
    ASSERT(b.met);
    ASSERT(!b.exhausted);
    ASSERT_UEQ(b.allowed_bad, 2);
    ASSERT(b.budget_total.num == 24 && b.budget_total.den == 10); /* e * N / den = 24 / 10 */
    ASSERT(dbl(&b.budget_total) == 2.4);
    /* remaining = 2.4 - 2 = 0.4 periods = 120 s; fraction 0.4 / 2.4 = 1/6 < 0.5: WARNING. */
    ASSERT(b.remaining.num == 4 && b.remaining.den == 10 && !b.remaining.neg);
    ASSERT(b.has_seconds);
    ASSERT(dbl(&b.budget_seconds) == 720.0);
    ASSERT(dbl(&b.remaining_seconds) == 120.0);
    ASSERT(b.remaining_fraction.num * 6 == b.remaining_fraction.den);
    ASSERT_EQ(b.status, SLO_STATUS_WARNING);
    ASSERT_OK(slo_budget_eval(&o, NULL, 21, 24, 300, &b)); /* the 3rd bad period: 3 > 2.4 */
    ASSERT(!b.met);
    ASSERT(b.exhausted);
    ASSERT_EQ(b.status, SLO_STATUS_BREACHED);
    /* remaining = 2.4 - 3 = -0.6 periods = -180 s. */
    ASSERT(b.remaining.neg && b.remaining.num == 6 && b.remaining.den == 10);
    ASSERT(dbl(&b.remaining_seconds) == -180.0);
}

/* §5.1, second example: 1 h at 90 %: N = 12, budget 1.2, one bad period allowed. */
static void test_brief_12_periods(void)
{
    struct slo_decimal o = pct("90");
    struct slo_budget b;
    ASSERT_OK(slo_budget_eval(&o, NULL, 11, 12, 300, &b));
    ASSERT_UEQ(b.allowed_bad, 1); /* floor(1 * 12 / 10) = 1 */
    ASSERT(b.met);
    ASSERT_OK(slo_budget_eval(&o, NULL, 10, 12, 300, &b)); /* 2 > 1.2 */
    ASSERT(!b.met);
    ASSERT_EQ(b.status, SLO_STATUS_BREACHED);
}

/* §11.1 traps through the budget: 90 % of 10 periods allows exactly 1 (not 0.9999...98 -> 0);
 * 999 good of 1000 at 99.9 % is met and exactly exhausted. */
static void test_traps(void)
{
    struct slo_decimal o90 = pct("90"), o999 = pct("99.9");
    struct slo_budget b;
    ASSERT_OK(slo_budget_eval(&o90, NULL, 9, 10, 0, &b));
    ASSERT_UEQ(b.allowed_bad, 1);
    ASSERT(b.met);
    ASSERT(b.exhausted); /* remaining = 1 - 1 = 0 */
    ASSERT(!b.has_seconds);
    ASSERT_EQ(b.status, SLO_STATUS_WARNING); /* fraction 0 < 0.5 */
    ASSERT_OK(slo_budget_eval(&o999, NULL, 999, 1000, 0, &b));
    ASSERT(b.met);
    ASSERT(b.exhausted);
    ASSERT_UEQ(b.allowed_bad, 1); /* 1 * 1000 / 1000 */
    ASSERT(b.remaining.num == 0);
    ASSERT_OK(slo_budget_eval(&o999, NULL, 998, 1000, 0, &b));
    ASSERT(!b.met);
    /* 99.95 %: 1 - o = 5 / 10000; 20,000 events allow 20,000 * 5 / 10,000 = 10 bad. */
    struct slo_decimal o9995 = pct("99.95");
    ASSERT_OK(slo_budget_eval(&o9995, NULL, 19990, 20000, 0, &b));
    ASSERT_UEQ(b.allowed_bad, 10);
    ASSERT(b.met);
    ASSERT_OK(slo_budget_eval(&o9995, NULL, 19989, 20000, 0, &b));
    ASSERT(!b.met);
}

/* The warning threshold is strict: 99.9 % of 10,000 gives a budget of 10 events. */
static void test_warning(void)
{
    struct slo_decimal o = pct("99.9"), w = dec("0.25");
    struct slo_budget b;
    ASSERT_OK(slo_budget_eval(&o, NULL, 10000 - 5, 10000, 0, &b)); /* 5 left: 0.5, not < 0.5 */
    ASSERT_EQ(b.status, SLO_STATUS_OK);
    ASSERT(b.remaining_fraction.num * 2 == b.remaining_fraction.den);
    ASSERT_OK(slo_budget_eval(&o, NULL, 10000 - 6, 10000, 0, &b)); /* 0.4 < 0.5 */
    ASSERT_EQ(b.status, SLO_STATUS_WARNING);
    ASSERT_OK(slo_budget_eval(&o, &w, 10000 - 6, 10000, 0, &b)); /* 0.4, not < 0.25 */
    ASSERT_EQ(b.status, SLO_STATUS_OK);
    ASSERT_OK(slo_budget_eval(&o, &w, 10000 - 8, 10000, 0, &b)); /* 0.2 < 0.25 */
    ASSERT_EQ(b.status, SLO_STATUS_WARNING);
    ASSERT_OK(slo_budget_eval(&o, NULL, 10000, 10000, 0, &b)); /* nothing bad: fraction 1 */
    ASSERT_EQ(b.status, SLO_STATUS_OK);
    ASSERT(dbl(&b.remaining_fraction) == 1.0);
    ASSERT(dbl(&b.attainment) == 1.0);
}

static void test_no_data_and_errors(void)
{
    struct slo_decimal o = pct("99.9"), bad_o = {1000, 1000, 3};
    struct slo_budget b;
    struct slo_burn burn;
    ASSERT_OK(slo_budget_eval(&o, NULL, 0, 0, 0, &b));
    ASSERT(b.no_data);
    ASSERT_EQ(b.status, SLO_STATUS_NO_DATA);
    ASSERT(dbl(&b.remaining_fraction) == 1.0);
    ASSERT_UEQ(b.bad, 0);
    slo_burn_rate(&o, 0, 0, &burn);
    ASSERT(!burn.has_data); /* null, never NaN */
    ASSERT(!slo_burn_exceeds(&o, 0, 0, &o));
    ASSERT_EQ(slo_budget_eval(&o, NULL, 11, 10, 0, &b), AG_EINVAL); /* good > total */
    ASSERT_EQ(slo_budget_eval(&bad_o, NULL, 1, 10, 0, &b), AG_EINVAL); /* objective 100 % */
    ASSERT_EQ(slo_budget_eval(&o, NULL, 1, 10, 1ull << 33, &b), AG_EINVAL);
    /* Huge counts stay exact: 2^64 - 1 events at 99.9 % allow floor((2^64 - 1) / 1000). */
    ASSERT_OK(slo_budget_eval(&o, NULL, UINT64_MAX - UINT64_MAX / 1000, UINT64_MAX, 0, &b));
    ASSERT_UEQ(b.allowed_bad, UINT64_MAX / 1000);
    ASSERT(b.met);
    ASSERT_STREQ(slo_status_name(SLO_STATUS_NO_DATA), "NO_DATA");
    ASSERT_STREQ(slo_status_name(SLO_STATUS_BREACHED), "BREACHED");
}

static void test_burn(void)
{
    struct slo_decimal o = pct("99.9"), o90 = pct("90");
    struct slo_decimal x144 = dec("14.4"), x10 = dec("10"), x999 = dec("9.99"), x1 = dec("1");
    struct slo_burn b;
    /* 1 bad of 100 at 99.9 %: (1 / 100) / (1 / 1000) = 10. */
    slo_burn_rate(&o, 1, 100, &b);
    ASSERT(b.has_data);
    ASSERT(dbl(&b.rate) == 10.0);
    ASSERT(slo_burn_exceeds(&o, 1, 100, &x999));
    ASSERT(!slo_burn_exceeds(&o, 1, 100, &x10)); /* exactly 10 is not > 10 */
    /* 0 bad: burn 0, never > 0 thresholds. */
    slo_burn_rate(&o, 0, 100, &b);
    ASSERT(b.has_data && b.rate.num == 0);
    /* Maximum burn is 1 / (1 - o): 1000 at 99.9 %, 10 at 90 %. 14.4 is unreachable at 90 %. */
    ASSERT(slo_threshold_unreachable(&o90, &x144));
    ASSERT(slo_threshold_unreachable(&o90, &x10)); /* 10 >= 10: strict > never fires */
    ASSERT(!slo_threshold_unreachable(&o90, &x999));
    ASSERT(!slo_threshold_unreachable(&o, &x144));
    ASSERT(!slo_burn_exceeds(&o90, 10, 10, &x10)); /* everything bad burns exactly 10 */
    ASSERT(slo_burn_exceeds(&o90, 10, 10, &x999));
    ASSERT(slo_burn_exceeds(&o, 2, 1000, &x1)); /* 2 */
}

/* Page pair 1 at 99.9 %: threshold 14.4. Long 1 h: 145 bad of 10,000 burns 0.0145 / 0.001 =
 * 14.5; short 5 m: 15 of 1,000 burns 15. */
static void test_mwmbr(void)
{
    struct slo_decimal o = pct("99.9");
    struct slo_mwmbr c = {dec("14.4"), 0, 0};
    struct slo_counts lw = {10000 - 145, 10000}, sw = {1000 - 15, 1000}, empty = {0, 0};
    ASSERT(slo_mwmbr_fires(&o, &c, &lw, &sw));
    sw.good = 1000 - 14; /* short burns 14: not > 14.4, the short window resets the alert */
    ASSERT(!slo_mwmbr_fires(&o, &c, &lw, &sw));
    sw.good = 1000 - 15;
    lw.good = 10000 - 144; /* long burns exactly 14.4: strict, no fire */
    ASSERT(!slo_mwmbr_fires(&o, &c, &lw, &sw));
    lw.good = 10000 - 145;
    ASSERT(!slo_mwmbr_fires(&o, &c, &lw, &empty)); /* short without data */
    ASSERT(!slo_mwmbr_fires(&o, &c, &empty, &sw));
    c.min_events = 10001; /* the guard: the long window needs 10,001 events */
    ASSERT(!slo_mwmbr_fires(&o, &c, &lw, &sw));
    c.min_events = 10000;
    ASSERT(slo_mwmbr_fires(&o, &c, &lw, &sw));
    c.min_bad = 146;
    ASSERT(!slo_mwmbr_fires(&o, &c, &lw, &sw));
    /* A quiet service: 1 bad of 1 burns 1000 in both windows; only the guard stops it. */
    struct slo_counts one = {0, 1};
    struct slo_mwmbr quiet = {dec("14.4"), 100, 0};
    ASSERT(!slo_mwmbr_fires(&o, &quiet, &one, &one));
    quiet.min_events = 0;
    ASSERT(slo_mwmbr_fires(&o, &quiet, &one, &one));
}

static void test_mwmbr_defaults(void)
{
    struct slo_mwmbr_default d[SLO_MWMBR_DEFAULTS];
    const uint64_t min = 60000, hour = 60 * min, day = 24 * hour;
    /* 30 days: the Workbook's table. */
    ASSERT_OK(slo_mwmbr_defaults(30 * day, min, d));
    ASSERT_STREQ(d[0].severity, "page");
    ASSERT_STREQ(d[0].threshold, "14.4");
    ASSERT_UEQ(d[0].long_ms, hour);
    ASSERT_UEQ(d[0].short_ms, 5 * min); /* 60 / 12 */
    ASSERT_UEQ(d[1].long_ms, 6 * hour);
    ASSERT_UEQ(d[1].short_ms, 30 * min);
    ASSERT_STREQ(d[2].severity, "ticket");
    ASSERT_STREQ(d[2].threshold, "3");
    ASSERT_UEQ(d[2].long_ms, day);
    ASSERT_UEQ(d[2].short_ms, 2 * hour);
    ASSERT_UEQ(d[3].long_ms, 3 * day);
    ASSERT_UEQ(d[3].short_ms, 6 * hour);
    /* 7 days: L = 1 h * 7 / 30 = 14 min; short = 14 / 12 = 1.17 -> 1 min < 2 buckets: rejected. */
    ASSERT_EQ(slo_mwmbr_defaults(7 * day, min, d), AG_EINVAL);
    /* 90 days: 3 h / 15 min, 18 h / 90 min, 3 d / 6 h, 9 d / 18 h. */
    ASSERT_OK(slo_mwmbr_defaults(90 * day, min, d));
    ASSERT_UEQ(d[0].long_ms, 3 * hour);
    ASSERT_UEQ(d[0].short_ms, 15 * min);
    ASSERT_UEQ(d[3].long_ms, 9 * day);
    ASSERT_UEQ(d[3].short_ms, 18 * hour);
    /* 28 days at 1-minute buckets: L = 60 * 28 / 30 = 56 min; short = 56 / 12 = 4.67 -> 4 min. */
    ASSERT_OK(slo_mwmbr_defaults(28 * day, min, d));
    ASSERT_UEQ(d[0].long_ms, 56 * min);
    ASSERT_UEQ(d[0].short_ms, 4 * min);
    ASSERT_EQ(slo_mwmbr_defaults(30 * day, 0, d), AG_EINVAL);
}

/* 99.9 % over 30 days (T = 2,592,000 s) with 5 bad of 10,000: remaining fraction 0.5. A burn of
 * 2 (2 bad of 1,000) exhausts the rest in 0.5 * T / 2 = 648,000 s, the whole budget in
 * T / 2 = 1,296,000 s. */
static void test_tte(void)
{
    struct slo_decimal o = pct("99.9");
    struct slo_budget b;
    struct slo_burn burn;
    double s = -1;
    ASSERT_OK(slo_budget_eval(&o, NULL, 10000 - 5, 10000, 0, &b));
    slo_burn_rate(&o, 2, 1000, &burn);
    ASSERT(slo_tte_seconds(&b, &burn, 2592000, false, &s));
    ASSERT(s == 648000.0);
    ASSERT(slo_tte_seconds(&b, &burn, 2592000, true, &s));
    ASSERT(s == 1296000.0);
    slo_burn_rate(&o, 0, 1000, &burn); /* burn 0: null */
    ASSERT(!slo_tte_seconds(&b, &burn, 2592000, false, &s));
    slo_burn_rate(&o, 0, 0, &burn); /* no data: null */
    ASSERT(!slo_tte_seconds(&b, &burn, 2592000, false, &s));
    ASSERT_OK(slo_budget_eval(&o, NULL, 10000 - 10, 10000, 0, &b)); /* exhausted: 0 */
    slo_burn_rate(&o, 2, 1000, &burn);
    ASSERT(slo_tte_seconds(&b, &burn, 2592000, false, &s));
    ASSERT(s == 0.0);
}

/* 500 cases from make_budget_vectors.py, computed with Python's exact fractions (an oracle
 * independent of this code), aimed at the met / breached and warning boundaries. */
static void test_oracle_vectors(void)
{
    size_t n = sizeof(budget_vectors) / sizeof(budget_vectors[0]);
    for (size_t i = 0; i < n; i++) {
        const struct budget_vector *v = &budget_vectors[i];
        struct slo_decimal o = pct(v->objective), w = dec(v->warning), x = dec(v->threshold);
        struct slo_budget b;
        ASSERT(o.den != 0 && w.den != 0 && x.den != 0);
        ASSERT_OK(slo_budget_eval(&o, &w, v->good, v->total, 0, &b));
        if (b.met != v->met || b.exhausted != v->exhausted || b.allowed_bad != v->allowed_bad ||
            b.status != v->status ||
            slo_burn_exceeds(&o, v->total - v->good, v->total, &x) != v->burn_gt) {
            AG_TEST_FAIL_("vector %zu (%s %%, %llu of %llu) disagrees", i, v->objective,
                          (unsigned long long)v->good, (unsigned long long)v->total);
        }
    }
}

/*
 * slo_budget_drop_exceeds: cf = bad x den / (e x n x scale), the fraction of the budget spent;
 * fires iff cf1 - cf0 > drop (strict), never without data now.
 */
static void test_budget_drop(void)
{
    struct slo_decimal o = pct("99"); /* e / den = 1 / 100 */
    struct slo_decimal x = dec("0.1");
    /* no reference: 1 bad of 1000 is cf 1 x 100 / 1000 = 0.1: not > 0.1; 2 bad: 0.2 */
    ASSERT(!slo_budget_drop_exceeds(&o, 0, 0, 1, 1000, 1, &x));
    ASSERT(slo_budget_drop_exceeds(&o, 0, 0, 2, 1000, 1, &x));
    /* reference 1 of 1000 (0.1): 2 of 1000 (0.2) drops 0.1 exactly: no; 3 (0.3): 0.2 > 0.1 */
    ASSERT(!slo_budget_drop_exceeds(&o, 1, 1000, 2, 1000, 1, &x));
    ASSERT(slo_budget_drop_exceeds(&o, 1, 1000, 3, 1000, 1, &x));
    /* a reference with more consumed than now: a rise, never a drop */
    ASSERT(!slo_budget_drop_exceeds(&o, 500, 1000, 3, 1000, 1, &x));
    /* no data now: never, whatever the reference */
    ASSERT(!slo_budget_drop_exceeds(&o, 0, 0, 0, 0, 1, &x));
    /* RatioTimeslices units (scale 10^18): 0.5 bad period of 10 is cf 0.5 x 100 / 10 = 5 */
    const uint64_t S = 1000000000000000000ull;
    struct slo_decimal four = dec("4.99"), five = dec("5");
    ASSERT(slo_budget_drop_exceeds(&o, 0, 0, (slo_u128)S / 2, 10, S, &four));
    ASSERT(!slo_budget_drop_exceeds(&o, 0, 0, (slo_u128)S / 2, 10, S, &five));
    /* The widest products: o = 1 - 10^-18 (e = 1, den = 10^18), everything bad over 2^40
     * periods of scale 10^18: cf = den / e = 10^18; against a reference of 1 scaled unit of 2^40
     * periods (cf 2^-40) the drop is 10^18 - 2^-40: above 999,999,999,999,999,999 (18 nines,
     * the largest drop text), by far below 10^18 + 1. Left side bad1 x den x x_den x n0 ~ 2^200. */
    struct slo_decimal fine = pct("99.9999999999999999"); /* 1 - 10^-18 */
    ASSERT_UEQ(fine.den, S);
    ASSERT_UEQ(slo_objective_budget_num(&fine), 1);
    struct slo_decimal nines = dec("999999999999999999");
    const uint64_t n = 1ull << 40;
    ASSERT(slo_budget_drop_exceeds(&fine, 1, n, (slo_u128)n * S, n, S, &nines));
    ASSERT(!slo_budget_drop_exceeds(&fine, (slo_u128)n * S, n, (slo_u128)n * S, n, S, &nines));
}

AG_TEST_MAIN(AG_TEST_CASE(test_brief_24_periods), AG_TEST_CASE(test_oracle_vectors),
             AG_TEST_CASE(test_brief_12_periods),
             AG_TEST_CASE(test_traps), AG_TEST_CASE(test_warning),
             AG_TEST_CASE(test_no_data_and_errors), AG_TEST_CASE(test_burn),
             AG_TEST_CASE(test_mwmbr), AG_TEST_CASE(test_mwmbr_defaults), AG_TEST_CASE(test_tte),
             AG_TEST_CASE(test_budget_drop))
