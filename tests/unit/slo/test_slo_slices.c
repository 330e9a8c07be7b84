/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_slices: the brief's period examples through the whole path (observations
 * -> per-period verdicts -> period counts -> budget), the missing-data policies, the grace
 * delay and late data, a period boundary, a long gap, and the exact slice target; slo_verdicts
 * (the 2-bit ring of judged periods) on its own.
 */
#include "ag_mem.h"
#include "ag_test.h"
#include "config.h"
#include "slo_budget.h"
#include "slo_codec.h"
#include "slo_slices.h"
#include "slo_verdicts.h"

#define MIN 60000ll
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define B 1735689600000ll /* 2025-01-01T00:00:00Z, a multiple of 5 min */

static struct slo_decimal pct(const char *s)
{
    struct slo_decimal o = {0, 0, 0};
    if (slo_objective_parse(s, strlen(s), SLO_OBJ_PERCENT, &o, NULL) != 0) {
        o.den = 0;
    }
    return o;
}

static struct slo_slices *make(uint64_t window, const char *target, enum slo_missing_policy m,
                               uint64_t grace)
{
    static const uint64_t lb[] = {HOUR};
    struct slo_slices_config cfg = {.period_ms = 5 * MIN,
                                    .window_ms = window,
                                    .lookbacks_ms = lb,
                                    .n_lookbacks = 1,
                                    .target = pct(target),
                                    .missing = m,
                                    .grace_ms = grace};
    struct slo_slices *s = NULL;
    if (slo_slices_new(&cfg, B, &s) != 0) {
        return NULL;
    }
    return s;
}

/* 2 h of 5-min periods at 90 % (§5.1): 24 periods, budget 2.4. Each period gets 100 requests;
 * a period is good at >= 99 % good. Periods 3 and 7 get 98 good (bad periods): 22 of 24 good,
 * met. A third bad period (period 11) breaks it: 21 of 24, 3 > 2.4. */
static void test_brief_2h(void)
{
    struct slo_decimal o = pct("90");
    struct slo_counts c;
    struct slo_budget b;
    for (int third = 0; third <= 1; third++) {
        struct slo_slices *s = make(2 * HOUR, "99", SLO_MISSING_GOOD, 0);
        ASSERT_NOT_NULL(s);
        for (int i = 0; i < 24; i++) {
            int bad = i == 3 || i == 7 || (third && i == 11);
            ASSERT_OK(slo_slices_add(s, B + i * 5 * MIN, bad ? 98 : 99, 100));
        }
        slo_slices_advance(s, B + 2 * HOUR);
        ASSERT_EQ(slo_slices_judged_until(s), B + 2 * HOUR);
        ASSERT_OK(slo_slices_counts(s, 2 * HOUR, &c));
        ASSERT_UEQ(c.total, 24);
        ASSERT_UEQ(c.good, third ? 21 : 22);
        ASSERT_OK(slo_budget_eval(&o, NULL, c.good, c.total, 300, &b));
        ASSERT_UEQ(b.allowed_bad, 2);
        ASSERT(b.met == !third);
        ASSERT_EQ(b.status, third ? SLO_STATUS_BREACHED : SLO_STATUS_WARNING);
        /* The last hour (periods 12..23) holds no bad period. */
        ASSERT_OK(slo_slices_counts(s, HOUR, &c));
        ASSERT_UEQ(c.total, 12);
        ASSERT_UEQ(c.good, 12);
        slo_slices_free(s);
    }
}

/* 1 h window (12 periods): data (all good) in the first 6 periods only. GOOD: 12 of 12;
 * BAD: 6 of 12; IGNORE: 6 of 6 (N shrinks). */
static void test_missing_policies(void)
{
    const enum slo_missing_policy pol[] = {SLO_MISSING_GOOD, SLO_MISSING_BAD, SLO_MISSING_IGNORE};
    const uint64_t want_good[] = {12, 6, 6}, want_total[] = {12, 12, 6};
    for (size_t k = 0; k < 3; k++) {
        struct slo_slices *s = make(HOUR, "99", pol[k], 0);
        struct slo_counts c;
        struct slo_slices_stats st;
        ASSERT_NOT_NULL(s);
        for (int i = 0; i < 6; i++) {
            ASSERT_OK(slo_slices_add(s, B + i * 5 * MIN + 1000, 10, 10));
        }
        slo_slices_advance(s, B + HOUR);
        ASSERT_OK(slo_slices_counts(s, HOUR, &c));
        ASSERT_UEQ(c.good, want_good[k]);
        ASSERT_UEQ(c.total, want_total[k]);
        slo_slices_get_stats(s, &st);
        ASSERT_UEQ(st.judged, 12);
        ASSERT_UEQ(st.no_data, 6);
        ASSERT_UEQ(st.ignored, pol[k] == SLO_MISSING_IGNORE ? 6 : 0);
        slo_slices_free(s);
    }
}

/* Grace of 1 min: the period [B, B + 5 min) is judged at B + 6 min. Data for it at B + 5.5 min
 * still counts; data for it at B + 6 min is late. An observation at exactly B + 5 min belongs to
 * the second period. */
static void test_grace_and_late(void)
{
    struct slo_slices *s = make(HOUR, "90", SLO_MISSING_GOOD, MIN);
    struct slo_counts c;
    struct slo_slices_stats st;
    ASSERT_NOT_NULL(s);
    ASSERT_OK(slo_slices_add(s, B, 9, 10));                  /* period 0: 9 of 10 so far */
    ASSERT_OK(slo_slices_add(s, B + 5 * MIN, 0, 10));        /* period 1, at its boundary */
    ASSERT_OK(slo_slices_add(s, B + 5 * MIN + 30000, 0, 0)); /* clock only */
    ASSERT_EQ(slo_slices_judged_until(s), B);                /* within grace: not judged */
    ASSERT_OK(slo_slices_add(s, B + 2 * MIN, 1, 1));         /* late batch, in grace: 10 of 11 */
    slo_slices_advance(s, B + 6 * MIN);
    ASSERT_EQ(slo_slices_judged_until(s), B + 5 * MIN);
    ASSERT_OK(slo_slices_add(s, B + 3 * MIN, 0, 5)); /* after judgement: late, not counted */
    slo_slices_get_stats(s, &st);
    ASSERT_UEQ(st.late, 1);
    slo_slices_advance(s, B + 11 * MIN);
    ASSERT_OK(slo_slices_counts(s, HOUR, &c));
    /* Period 0: 10 of 11 = 90.9 % >= 90 %: good. Period 1: 0 of 10: bad. */
    ASSERT_UEQ(c.total, 2);
    ASSERT_UEQ(c.good, 1);
    ASSERT_EQ(slo_slices_add(s, B + HOUR, 2, 1), AG_EINVAL);
    slo_slices_free(s);
}

/* A slice at exactly the target: 999 of 1000 at 99.9 % is good (doubles say 0.999 < 0.999...01). */
static void test_exact_target(void)
{
    struct slo_slices *s = make(HOUR, "99.9", SLO_MISSING_BAD, 0);
    struct slo_counts c;
    ASSERT_NOT_NULL(s);
    ASSERT_OK(slo_slices_add(s, B, 999, 1000));
    ASSERT_OK(slo_slices_add(s, B + 5 * MIN, 998, 1000));
    slo_slices_advance(s, B + 10 * MIN);
    ASSERT_OK(slo_slices_counts(s, HOUR, &c));
    ASSERT_UEQ(c.total, 2);
    ASSERT_UEQ(c.good, 1);
    slo_slices_free(s);
}

/* Ten days without data on a 2 h window: 2,880 periods judged (10 d / 5 min), the window holds
 * the last 24, all good by the default policy; the pass is bounded by the window, not the gap. */
static void test_long_gap(void)
{
    struct slo_slices *s = make(2 * HOUR, "99", SLO_MISSING_GOOD, 0);
    struct slo_counts c;
    struct slo_slices_stats st;
    ASSERT_NOT_NULL(s);
    ASSERT_OK(slo_slices_add(s, B, 0, 1)); /* one bad period first */
    slo_slices_advance(s, B + 10 * DAY);
    ASSERT_OK(slo_slices_counts(s, 2 * HOUR, &c));
    ASSERT_UEQ(c.total, 24);
    ASSERT_UEQ(c.good, 24);
    slo_slices_get_stats(s, &st);
    ASSERT_UEQ(st.judged, 2880);
    ASSERT_UEQ(st.no_data, 2879);
    ASSERT_EQ(slo_slices_judged_until(s), B + 10 * DAY);
    slo_slices_free(s);
}

static void test_config_errors(void)
{
    static const uint64_t lb[] = {7 * MIN};
    struct slo_slices_config cfg = {.period_ms = 5 * MIN, .window_ms = HOUR, .target = pct("99")};
    struct slo_slices *s = NULL;
    cfg.period_ms = 0;
    ASSERT_EQ(slo_slices_new(&cfg, B, &s), AG_EINVAL);
    cfg.period_ms = 7 * MIN; /* does not divide 1 h */
    ASSERT_EQ(slo_slices_new(&cfg, B, &s), AG_EINVAL);
    cfg.period_ms = 5 * MIN;
    cfg.lookbacks_ms = lb; /* 7 min is not whole periods */
    cfg.n_lookbacks = 1;
    ASSERT_EQ(slo_slices_new(&cfg, B, &s), AG_EINVAL);
    cfg.n_lookbacks = 0;
    cfg.grace_ms = 14 * 5 * MIN;
    ASSERT_EQ(slo_slices_new(&cfg, B, &s), AG_EINVAL);
    cfg.grace_ms = 0;
    cfg.target.num = 0;
    ASSERT_EQ(slo_slices_new(&cfg, B, &s), AG_EINVAL);
    /* 30 days of 1-minute periods fit: 43,200 cells of 2 bits = 10,800 bytes. */
    cfg.target = pct("99");
    cfg.period_ms = MIN;
    cfg.window_ms = 30 * DAY;
    ASSERT_OK(slo_slices_new(&cfg, B, &s));
    slo_slices_free(s);
    s = NULL;
    /* 90 days of 10-second periods need 90 x 8,640 = 777,600 cells / 4 = 194,400 bytes: over
     * 128 KiB. */
    cfg.period_ms = 10000;
    cfg.window_ms = 90 * DAY;
    ASSERT_EQ(slo_slices_new(&cfg, B, &s), AG_ETOOBIG);
    ASSERT_NULL(s);
    /* Calendar periods must fall on period boundaries: +05:45 is not whole hours. */
    cfg.period_ms = HOUR;
    cfg.window_ms = DAY;
    cfg.calendar = true;
    cfg.unit = SLO_CAL_DAY;
    cfg.utc_offset_s = 20700;
    ASSERT_EQ(slo_slices_new(&cfg, B, &s), AG_EINVAL);
    ASSERT_NULL(s);
    slo_slices_free(NULL);
}

static struct slo_slices *make_cal(enum slo_calendar_unit unit, enum slo_missing_policy m)
{
    struct slo_slices_config cfg = {.period_ms = 5 * MIN,
                                    .window_ms = HOUR,
                                    .target = pct("99"),
                                    .missing = m,
                                    .calendar = true,
                                    .unit = unit};
    struct slo_slices *s = NULL;
    if (slo_slices_new(&cfg, B, &s) != 0) {
        return NULL;
    }
    return s;
}

/* A calendar day of 5-minute periods: N = 1,440 / 5 = 288, known from the start. After the
 * first hour with 2 bad periods: 10 good of 12 judged, N still 288; at 99 % the budget is
 * 0.01 * 288 = 2.88 periods (2 whole): met. */
static void test_calendar_day(void)
{
    struct slo_slices *s = make_cal(SLO_CAL_DAY, SLO_MISSING_GOOD);
    struct slo_counts c;
    struct slo_budget b;
    uint64_t n = 0;
    int64_t cs, ce;
    struct slo_decimal o = pct("99");
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 12; i++) {
        ASSERT_OK(slo_slices_add(s, B + i * 5 * MIN, i == 2 || i == 9 ? 0 : 1, 1));
    }
    slo_slices_advance(s, B + HOUR);
    ASSERT_OK(slo_slices_calendar_counts(s, &c, &n, &cs, &ce));
    ASSERT_UEQ(c.good, 10);
    ASSERT_UEQ(c.total, 12);
    ASSERT_UEQ(n, 288);
    ASSERT_EQ(cs, B);
    ASSERT_EQ(ce, B + DAY);
    /* The budget is judged against the whole day's N: bad = total - good over N periods. */
    ASSERT_OK(slo_budget_eval(&o, NULL, n - (c.total - c.good), n, 300, &b));
    ASSERT_UEQ(b.allowed_bad, 2);
    ASSERT(b.met);
    /* The next day starts with an empty count; the first day closed with 288 periods, the 276
     * without data good by the default policy. */
    slo_slices_advance(s, B + DAY + 5 * MIN);
    ASSERT_OK(slo_slices_calendar_counts(s, &c, &n, &cs, NULL));
    ASSERT_EQ(cs, B + DAY);
    ASSERT_UEQ(c.total, 1);
    ASSERT_UEQ(n, 288);
    ASSERT(slo_slices_calendar_previous(s, &c, &cs, &ce));
    ASSERT_UEQ(c.total, 288);
    ASSERT_UEQ(c.good, 286);
    slo_slices_free(s);
    /* Without |calendar| there are no calendar counts. */
    s = make(HOUR, "99", SLO_MISSING_GOOD, 0);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(slo_slices_calendar_counts(s, &c, &n, NULL, NULL), AG_ENOTFOUND);
    ASSERT(!slo_slices_calendar_previous(s, &c, NULL, NULL));
    slo_slices_free(s);
}

/* Ignored periods leave N: 6 of the first 12 periods have no data, so N = 288 - 6 = 282. */
static void test_calendar_ignore(void)
{
    struct slo_slices *s = make_cal(SLO_CAL_DAY, SLO_MISSING_IGNORE);
    struct slo_counts c;
    uint64_t n = 0;
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 12; i += 2) {
        ASSERT_OK(slo_slices_add(s, B + i * 5 * MIN, 1, 1));
    }
    slo_slices_advance(s, B + HOUR);
    ASSERT_OK(slo_slices_calendar_counts(s, &c, &n, NULL, NULL));
    ASSERT_UEQ(c.total, 6);
    ASSERT_UEQ(c.good, 6);
    ASSERT_UEQ(n, 282);
    slo_slices_free(s);
}

/* A 40-day gap on a monthly calendar (the fast path): at 2025-02-10 the month to date holds
 * 9 days * 288 = 2,592 good periods (policy good); January closed whole: 31 * 288 = 8,928. */
static void test_calendar_gap(void)
{
    struct slo_slices *s = make_cal(SLO_CAL_MONTH, SLO_MISSING_GOOD);
    struct slo_counts c;
    uint64_t n = 0;
    int64_t cs;
    ASSERT_NOT_NULL(s);
    ASSERT_OK(slo_slices_add(s, B, 0, 1)); /* the first period is bad */
    slo_slices_advance(s, B + 40 * DAY);
    ASSERT_OK(slo_slices_calendar_counts(s, &c, &n, &cs, NULL));
    ASSERT_EQ(cs, B + 31 * DAY);
    ASSERT_UEQ(c.total, 9 * 288);
    ASSERT_UEQ(c.good, 9 * 288);
    ASSERT_UEQ(n, 28 * 288);
    int64_t ps, pe;
    ASSERT(slo_slices_calendar_previous(s, &c, &ps, &pe));
    ASSERT_EQ(ps, B);
    ASSERT_EQ(pe, B + 31 * DAY);
    ASSERT_UEQ(c.total, 31 * 288);
    ASSERT_UEQ(c.good, 31 * 288 - 1);
    slo_slices_free(s);
}

/* Every allocation of slo_slices_new may fail: AG_ENOMEM, nothing leaks. */
static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    for (long n = 0;; n++) {
        ag_mem_fail_after(n);
        struct slo_slices *s = make_cal(SLO_CAL_MONTH, SLO_MISSING_GOOD);
        ag_mem_fail_after(-1);
        if (s != NULL) {
            ASSERT_EQ(n, 3); /* the object, the period window and its ring */
            slo_slices_free(s);
            break;
        }
        ASSERT(n < 3);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

/*
 * slo_verdicts on its own: 1-minute periods, a 10-minute window, a 5-minute lookback; the clock
 * starts at B (the period holding B + 30 s). Periods 0..11 get G B G N B G G G B G G B (N: none).
 *   At B + 12m the ring holds periods 2..11: G N B G G G B G G B: 6 good of 9 counted (the N
 *   leaves N); the 5-minute lookback periods 7..11: G B G G B: 3 of 5.
 *   range [B+3m, B+9m): periods 3..8: N B G G G B: 3 of 5; [B+2m+1ms, B+20m): whole periods
 *   from 3 to 11: 5 of 8; [B, B+5m): 0 and 1 left the ring: periods 2..4: 1 of 2.
 *   advance to B + 15m59s: periods 12..14 are N: ring 5..14: G G G B G G B N N N: 5 of 7; the
 *   lookback 10..14: G B N N N: 1 of 2.
 *   saved: clock (8), cells (8), (10 + 3) / 4 = 3 bytes of cells; loaded into a fresh ring, the
 *   same counts; a cell of value 3, or another cell count, is refused.
 *   advance to B + 1h: more than the window: everything cleared in one pass.
 */
static void test_verdicts(void)
{
    static const uint64_t lb[] = {5 * MIN};
    struct slo_verdicts_config cfg = {MIN, 10 * MIN, lb, 1, 0};
    struct slo_verdicts *v = NULL, *w = NULL;
    struct slo_counts c;
    ASSERT_OK(slo_verdicts_new(&cfg, B + 30000, &v));
    ASSERT_EQ(slo_verdicts_end(v), B);
    ASSERT_EQ(slo_verdicts_put(v, B + MIN, SLO_SLICE_GOOD), AG_EINVAL); /* not the clock */
    const char *seq = "GBGNBGGGBGGB";
    for (int i = 0; seq[i] != '\0'; i++) {
        enum slo_slice_verdict x = seq[i] == 'G'   ? SLO_SLICE_GOOD
                                   : seq[i] == 'B' ? SLO_SLICE_BAD
                                                   : SLO_SLICE_IGNORED;
        ASSERT_OK(slo_verdicts_put(v, B + i * MIN, x));
    }
    ASSERT_EQ(slo_verdicts_end(v), B + 12 * MIN);
    ASSERT_OK(slo_verdicts_counts(v, 10 * MIN, &c));
    ASSERT_UEQ(c.good, 6);
    ASSERT_UEQ(c.total, 9);
    ASSERT_OK(slo_verdicts_counts(v, 5 * MIN, &c));
    ASSERT_UEQ(c.good, 3);
    ASSERT_UEQ(c.total, 5);
    ASSERT_EQ(slo_verdicts_counts(v, 7 * MIN, &c), AG_ENOTFOUND);
    slo_verdicts_range(v, B + 3 * MIN, B + 9 * MIN, &c);
    ASSERT_UEQ(c.good, 3);
    ASSERT_UEQ(c.total, 5);
    slo_verdicts_range(v, B + 2 * MIN + 1, B + 20 * MIN, &c);
    ASSERT_UEQ(c.good, 5);
    ASSERT_UEQ(c.total, 8);
    slo_verdicts_range(v, B, B + 5 * MIN, &c);
    ASSERT_UEQ(c.good, 1);
    ASSERT_UEQ(c.total, 2);
    slo_verdicts_advance(v, B + 15 * MIN + 59000);
    ASSERT_EQ(slo_verdicts_end(v), B + 15 * MIN);
    ASSERT_OK(slo_verdicts_counts(v, 10 * MIN, &c));
    ASSERT_UEQ(c.good, 5);
    ASSERT_UEQ(c.total, 7);
    ASSERT_OK(slo_verdicts_counts(v, 5 * MIN, &c));
    ASSERT_UEQ(c.good, 1);
    ASSERT_UEQ(c.total, 2);
    ASSERT(slo_verdicts_bytes(v) >= 3);

    struct ag_buf b;
    ag_buf_init(&b, 1u << 16);
    struct slo_wr wr = {&b, 0};
    slo_verdicts_save(v, &wr);
    ASSERT_OK(wr.err);
    ASSERT_UEQ(b.len, 19);
    ASSERT_OK(slo_verdicts_new(&cfg, B, &w));
    struct slo_rd rd = {ag_buf_ptr(&b), ag_buf_ptr(&b) + b.len, false};
    ASSERT_OK(slo_verdicts_load(w, &rd));
    ASSERT_EQ(slo_verdicts_end(w), B + 15 * MIN);
    ASSERT_OK(slo_verdicts_counts(w, 10 * MIN, &c));
    ASSERT_UEQ(c.good, 5);
    ASSERT_UEQ(c.total, 7);
    ASSERT_OK(slo_verdicts_counts(w, 5 * MIN, &c));
    ASSERT_UEQ(c.good, 1);
    ASSERT_UEQ(c.total, 2);
    uint8_t *q = (uint8_t *)ag_buf_ptr(&b);
    q[16] |= 3; /* cell 0: 3 */
    struct slo_rd rd2 = {q, q + b.len, false};
    ASSERT_EQ(slo_verdicts_load(w, &rd2), AG_EPROTO);
    q[16] &= (uint8_t)~3u;
    q[18] |= 0x30; /* padding past cell 9 */
    struct slo_rd rd3 = {q, q + b.len, false};
    ASSERT_EQ(slo_verdicts_load(w, &rd3), AG_EPROTO);
    q[18] &= 0x0f;
    q[8] = 11; /* 11 cells */
    struct slo_rd rd4 = {q, q + b.len, false};
    ASSERT_EQ(slo_verdicts_load(w, &rd4), AG_EPROTO);
    ag_buf_cleanup(&b);

    slo_verdicts_advance(v, B + HOUR);
    ASSERT_EQ(slo_verdicts_end(v), B + HOUR);
    ASSERT_OK(slo_verdicts_counts(v, 10 * MIN, &c));
    ASSERT_UEQ(c.total, 0);
    slo_verdicts_range(v, 0, B + 2 * HOUR, &c);
    ASSERT_UEQ(c.total, 0);
    slo_verdicts_free(v);
    slo_verdicts_free(w);

    /* Near the epoch the ring reaches before 0: nothing there counts. Clock 0, G at 0 and 1m. */
    ASSERT_OK(slo_verdicts_new(&cfg, 0, &v));
    ASSERT_OK(slo_verdicts_put(v, 0, SLO_SLICE_GOOD));
    ASSERT_OK(slo_verdicts_put(v, MIN, SLO_SLICE_BAD));
    ASSERT_OK(slo_verdicts_counts(v, 10 * MIN, &c));
    ASSERT_UEQ(c.good, 1);
    ASSERT_UEQ(c.total, 2);
    slo_verdicts_range(v, -HOUR, HOUR, &c);
    ASSERT_UEQ(c.total, 2);
    slo_verdicts_free(v);

    /* configuration errors */
    cfg.period_ms = 7 * MIN; /* does not divide 10 min */
    ASSERT_EQ(slo_verdicts_new(&cfg, B, &v), AG_EINVAL);
    cfg.period_ms = 2 * MIN;
    static const uint64_t lb3[] = {3 * MIN}; /* not whole periods */
    cfg.lookbacks_ms = lb3;
    ASSERT_EQ(slo_verdicts_new(&cfg, B, &v), AG_EINVAL);
    cfg.lookbacks_ms = lb;
    cfg.period_ms = MIN;
    cfg.max_bytes = 16; /* smaller than the object */
    ASSERT_EQ(slo_verdicts_new(&cfg, B, &v), AG_ETOOBIG);
    ASSERT_EQ(slo_verdicts_new(&cfg, -1, &v), AG_EINVAL);
    ASSERT_NULL(v);
}

AG_TEST_MAIN(AG_TEST_CASE(test_brief_2h), AG_TEST_CASE(test_failmalloc), AG_TEST_CASE(test_missing_policies),
             AG_TEST_CASE(test_grace_and_late), AG_TEST_CASE(test_exact_target),
             AG_TEST_CASE(test_long_gap), AG_TEST_CASE(test_config_errors),
             AG_TEST_CASE(test_calendar_day), AG_TEST_CASE(test_calendar_ignore),
             AG_TEST_CASE(test_calendar_gap), AG_TEST_CASE(test_verdicts))
