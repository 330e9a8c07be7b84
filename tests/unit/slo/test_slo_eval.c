/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the SLO engine (slo_eval): the brief's two period examples, Occurrences exactly
 * on budget, a burst that fires and resolves a page alert once each, no traffic, a calendar day,
 * the three budgeting methods on one stream, the JSON report, the window range reads and the
 * checkpoint. Every expected value is worked out by hand in the comments.
 */
#include <math.h>

#include "ag_mem.h"
#include "ag_test.h"
#include "config.h"
#include "slo_eval.h"
#include "slo_codec.h"
#include "slo_eval_int.h"
#include "slo_tz.h"
#include "slo_window.h"

#include <unistd.h>

#define MIN 60000ll
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define B 1735689600000ll /* 2025-01-01T00:00:00Z */

struct fix {
    struct ag_buf diag;
    struct slo_defs *d;
    struct slo_engine *e;
};

static int setup(struct fix *f, const char *yaml, int64_t start)
{
    memset(f, 0, sizeof(*f));
    ag_buf_init(&f->diag, 1u << 20);
    int rc = slo_defs_new(&f->diag, &f->d);
    if (rc == 0) {
        slo_defs_set_tz_loader(f->d, slo_tz_load_system, NULL); /* as the slo command does */
        rc = slo_defs_add(f->d, "t.yaml", yaml, strlen(yaml));
    }
    if (rc == 0) {
        rc = slo_defs_finish(f->d);
    }
    if (rc == 0) {
        rc = slo_engine_new(f->d, start, &f->diag, &f->e);
    }
    if (rc != 0) {
        fprintf(stderr, "# setup: %s\n", ag_buf_str(&f->diag));
    }
    return rc;
}

static void teardown(struct fix *f)
{
    slo_engine_free(f->e);
    slo_defs_free(f->d);
    ag_buf_cleanup(&f->diag);
}

static double dbl(const struct slo_rat *r)
{
    return slo_rat_to_double(r);
}

/* Where the u64 pair (v1, v2) starts in a checkpoint (0: not found; never at 0, the magic). */
static size_t find_pair(const uint8_t *raw, size_t len, uint64_t v1, uint64_t v2)
{
    for (size_t i = 0; i + 16 <= len; i++) {
        uint64_t a = 0, b = 0;
        for (int k = 0; k < 8; k++) {
            a |= (uint64_t)raw[i + k] << (8 * k);
            b |= (uint64_t)raw[i + 8 + k] << (8 * k);
        }
        if (a == v1 && b == v2) {
            return i;
        }
    }
    return 0;
}

/* Rewrites a tampered checkpoint's CRC-32C trailer, so only the decoder's checks can refuse it. */
static void fix_crc(uint8_t *raw, size_t len)
{
    uint32_t crc = slo_eval_crc32c(raw, len - 8);
    for (int k = 0; k < 8; k++) {
        raw[len - 8 + k] = k < 4 ? (uint8_t)(crc >> (8 * k)) : 0;
    }
}

static const char slices_2h[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: s}\n"
                                "spec:\n"
                                "  service: shop\n"
                                "  objective: \"90\"\n"
                                "  window: 2h\n"
                                "  budgetingMethod: Timeslices\n"
                                "  timeSlice: {period: 5m, target: \"99\"}\n"
                                "  sli: {spans: {availability: {}}}\n";

/* The brief's first example: 2 h of 5-minute periods at 90 %: N = 24, budget 0.1 x 24 = 2.4
 * periods, floor = 2 bad periods allowed; the third breaks it (3 > 2.4). */
static void test_brief_2h(void)
{
    struct fix f;
    ASSERT_OK(setup(&f, slices_2h, B));
    for (int i = 0; i < 24; i++) {
        /* periods 3 and 10 are bad (98 of 100 < 99 %); the rest 100 of 100 */
        bool bad = i == 3 || i == 10;
        ASSERT_OK(slo_engine_add(f.e, 0, B + i * 5 * MIN + MIN, bad ? 98 : 100, 100));
    }
    struct slo_eval ev;
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 2 * HOUR, &ev));
    ASSERT_UEQ(ev.budget.total, 24);
    ASSERT_UEQ(ev.budget.bad, 2);
    ASSERT_UEQ(ev.budget.allowed_bad, 2);
    ASSERT(ev.budget.met);
    ASSERT(fabs(dbl(&ev.budget.budget_total) - 2.4) < 1e-12);
    ASSERT(fabs(dbl(&ev.budget.remaining) - 0.4) < 1e-12); /* 2.4 - 2 */
    /* remaining fraction 0.4 / 2.4 = 1/6 < 0.5: WARNING; seconds 0.4 x 300 = 120 */
    ASSERT_EQ(ev.budget.status, SLO_STATUS_WARNING);
    ASSERT(fabs(dbl(&ev.budget.remaining_seconds) - 120.0) < 1e-9);
    ASSERT(ev.periods);
    ASSERT_EQ(ev.window_start_ms, B);
    ASSERT_EQ(ev.window_end_ms, B + 2 * HOUR);
    /* burn-down: 25 points (24 periods, one per period), 1 at the start, 1/6 at the end; after
     * period 3 (t = B + 20 min): 1 - 1/2.4 = 7/12 */
    ASSERT_UEQ(ev.n_burndown, 25);
    ASSERT(fabs(ev.burndown[0].remaining_fraction - 1.0) < 1e-12);
    ASSERT_EQ(ev.burndown[4].t_ms, B + 20 * MIN);
    ASSERT(fabs(ev.burndown[4].remaining_fraction - 7.0 / 12) < 1e-12);
    ASSERT(fabs(ev.burndown[24].remaining_fraction - 1.0 / 6) < 1e-12);
    slo_eval_release(&ev);
    teardown(&f);

    /* A third bad period: 3 > 2.4, BREACHED, remaining -0.6. */
    ASSERT_OK(setup(&f, slices_2h, B));
    for (int i = 0; i < 24; i++) {
        bool bad = i == 3 || i == 10 || i == 20;
        ASSERT_OK(slo_engine_add(f.e, 0, B + i * 5 * MIN, bad ? 98 : 100, 100));
    }
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 2 * HOUR, &ev));
    ASSERT_UEQ(ev.budget.bad, 3);
    ASSERT(!ev.budget.met);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_BREACHED);
    ASSERT(fabs(dbl(&ev.budget.remaining) + 0.6) < 1e-12);
    slo_eval_release(&ev);
    /* Mid-period (B + 2 h + 1 min): [T - 2h, T) holds 23 whole periods (the first starts at
     * B + 5 min), and period 0 (good) left: 20 good of 23. */
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 2 * HOUR + MIN, &ev));
    ASSERT_UEQ(ev.budget.total, 23);
    ASSERT_UEQ(ev.budget.bad, 3);
    slo_eval_release(&ev);
    teardown(&f);
}

/* The brief's second example: 1 h at 90 %: 12 periods, budget 1.2; one bad met, two breach. */
static void test_brief_1h(void)
{
    static const char yaml[] = "apiVersion: otter/v1\n"
                               "kind: SLO\n"
                               "metadata: {name: s}\n"
                               "spec:\n"
                               "  service: shop\n"
                               "  objective: \"90\"\n"
                               "  window: 1h\n"
                               "  budgetingMethod: Timeslices\n"
                               "  timeSlice: {period: 5m, target: \"99\"}\n"
                               "  sli: {spans: {availability: {}}}\n";
    for (int nbad = 1; nbad <= 2; nbad++) {
        struct fix f;
        struct slo_eval ev;
        ASSERT_OK(setup(&f, yaml, B));
        for (int i = 0; i < 12; i++) {
            ASSERT_OK(slo_engine_add(f.e, 0, B + i * 5 * MIN, i < nbad ? 0 : 7, 7));
        }
        ASSERT_OK(slo_engine_eval(f.e, 0, B + HOUR, &ev));
        ASSERT_UEQ(ev.budget.total, 12);
        ASSERT_UEQ(ev.budget.allowed_bad, 1); /* floor(1.2) */
        ASSERT(fabs(dbl(&ev.budget.budget_total) - 1.2) < 1e-12);
        ASSERT_EQ(ev.budget.met, nbad == 1);
        ASSERT_EQ(ev.budget.status, nbad == 1 ? SLO_STATUS_WARNING : SLO_STATUS_BREACHED);
        slo_eval_release(&ev);
        teardown(&f);
    }
}

static const char occ_page[] = "apiVersion: otter/v1\n"
                               "kind: SLO\n"
                               "metadata: {name: o}\n"
                               "spec:\n"
                               "  service: shop\n"
                               "  objective: \"99.9\"\n"
                               "  window: 1d\n"
                               "  sli: {spans: {availability: {}}}\n"
                               "  alerts:\n"
                               "    - name: page\n"
                               "      burnRate: \"14.4\"\n"
                               "      longWindow: 1h\n"
                               "      shortWindow: 5m\n"
                               "      minEvents: 100\n";

/* 999 good of 1000 at 99.9 %: budget exactly 1 event, 1 bad: met, exhausted, remaining 0. */
static void test_occurrences_on_budget(void)
{
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, occ_page, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 10 * MIN, 999, 1000));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 2 * HOUR, &ev));
    ASSERT_UEQ(ev.budget.good, 999);
    ASSERT_UEQ(ev.budget.total, 1000);
    ASSERT(ev.budget.met);
    ASSERT(ev.budget.exhausted);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_WARNING); /* remaining fraction 0 < 0.5 */
    ASSERT(dbl(&ev.budget.remaining) == 0.0);
    ASSERT(!ev.periods);
    /* burn rates: 5m and 1h (sorted), both windows empty at B + 2 h: 0 events -> null */
    ASSERT_UEQ(ev.n_burns, 2);
    ASSERT_STREQ(ev.burns[0].window, "5m");
    ASSERT_STREQ(ev.burns[1].window, "1h");
    ASSERT(!ev.burns[0].burn.has_data);
    ASSERT(!ev.burns[1].burn.has_data);
    /* young window: the engine started 2 h ago of a 1 d window */
    ASSERT_UEQ(ev.n_warnings, 1);
    ASSERT_STRCONTAINS(ev.warnings[0], "young window");
    slo_eval_release(&ev);
    teardown(&f);
}

struct calls {
    int n;
    int64_t at[8];
    bool firing[8];
};

static void on_alert(void *arg, const struct slo_alert_event *ae)
{
    struct calls *c = arg;
    if (c->n < 8) {
        c->at[c->n] = ae->at_ms;
        c->firing[c->n] = ae->firing;
    }
    c->n++;
}

/*
 * 1000 requests a minute, clean for an hour, then minutes 60..64 half bad (500 of 1000).
 * Page: burn > 14.4 over 1 h AND 5 m (budget 0.001).
 *   T = 61 m: 1 h [1, 61) holds 500 bad of 60,000: burn 8.33: no.
 *   T = 62 m: 1000 / 60,000 / 0.001 = 16.7 > 14.4; 5 m [57, 62): 1000 / 5000 -> 200: fires.
 *   T = 69 m: 5 m [64, 69): 500 / 5000 -> 100: still firing.
 *   T = 70 m: 5 m [65, 70) is clean: burn 0: resolves (the 1 h burn is still 41.7).
 * One callback for each change, none for the evaluations in between.
 */
static void test_burst_page(void)
{
    struct fix f;
    struct calls c = {0};
    ASSERT_OK(setup(&f, occ_page, B));
    slo_engine_set_alert_fn(f.e, on_alert, &c);
    for (int m = 0; m < 120; m++) {
        bool burst = m >= 60 && m < 65;
        ASSERT_OK(slo_engine_add(f.e, 0, B + m * MIN, burst ? 500 : 1000, 1000));
        if (m >= 1) {
            struct slo_eval ev;
            /* evaluate at the minute's start: the observation of minute m is in the open bucket */
            ASSERT_OK(slo_engine_eval(f.e, 0, B + m * MIN, &ev));
            ASSERT_UEQ(ev.n_alerts, 1);
            bool expect = m >= 62 && m < 70;
            ASSERT_EQ(ev.alerts[0].firing, expect);
            ASSERT_EQ(ev.alerts[0].changed, m == 62 || m == 70);
            if (expect) {
                ASSERT_NOT_NULL(ev.alerts[0].reason);
            } else {
                ASSERT_NULL(ev.alerts[0].reason);
            }
            slo_eval_release(&ev);
        }
    }
    ASSERT_EQ(c.n, 2);
    ASSERT_EQ(c.at[0], B + 62 * MIN);
    ASSERT(c.firing[0]);
    ASSERT_EQ(c.at[1], B + 70 * MIN);
    ASSERT(!c.firing[1]);
    teardown(&f);
}

/* The minimum-events guard (§7.3): 10 bad of 10 burns at 1000 over 1 h and 5 m, but the long
 * window holds 10 < 100 events: no page. 100 more bad a minute later: 110 >= 100: it fires. */
static void test_min_events(void)
{
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, occ_page, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B + MIN, 0, 10));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 5 * MIN, &ev));
    ASSERT(ev.burns[0].burn.has_data && ev.burns[1].burn.has_data);
    ASSERT(fabs(dbl(&ev.burns[1].burn.rate) - 1000.0) < 1e-9); /* (10 / 10) / 0.001 */
    ASSERT(!ev.alerts[0].firing);
    slo_eval_release(&ev);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 5 * MIN, 0, 100));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 6 * MIN, &ev));
    ASSERT(ev.alerts[0].firing);
    ASSERT(ev.alerts[0].changed);
    slo_eval_release(&ev);
    teardown(&f);
}

/* No traffic: NO_DATA, attainment and every burn null, remaining fraction 1, TTE null. */
static void test_no_traffic(void)
{
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, occ_page, B));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 2 * DAY, &ev));
    ASSERT_EQ(ev.budget.status, SLO_STATUS_NO_DATA);
    ASSERT(ev.attainment_null);
    ASSERT(ev.tte_null);
    ASSERT_UEQ(ev.n_burns, 2);
    ASSERT(!ev.burns[0].burn.has_data && !ev.burns[1].burn.has_data);
    ASSERT(dbl(&ev.budget.remaining_fraction) == 1.0);
    ASSERT_UEQ(ev.n_warnings, 0); /* 2 days > the 1 d window: not young */
    slo_eval_release(&ev);
    teardown(&f);
}

/*
 * A calendar day in UTC, Occurrences to date at 99 %: yesterday's 50 bad of 100 do not count;
 * today 2 bad of 400 in closed buckets, and the open bucket (100 bad at 02:00:30) not yet.
 * At 02:00:40: good 398 of 400: budget 4, remaining 2, fraction 0.5: OK (not < 0.5).
 */
static void test_calendar_day(void)
{
    static const char yaml[] = "apiVersion: otter/v1\n"
                               "kind: SLO\n"
                               "metadata: {name: c}\n"
                               "spec:\n"
                               "  service: shop\n"
                               "  objective: \"99\"\n"
                               "  calendar: {unit: day, timeZone: UTC}\n"
                               "  sli: {spans: {availability: {}}}\n";
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, yaml, B - HOUR));
    ASSERT_OK(slo_engine_add(f.e, 0, B - 30 * MIN, 50, 100));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 10 * MIN, 199, 200));
    ASSERT_OK(slo_engine_add(f.e, 0, B + HOUR, 199, 200));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 2 * HOUR + 30000, 0, 100));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 2 * HOUR + 40000, &ev));
    ASSERT_UEQ(ev.budget.good, 398);
    ASSERT_UEQ(ev.budget.total, 400);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_OK);
    ASSERT(fabs(dbl(&ev.budget.remaining) - 2.0) < 1e-12);
    ASSERT_EQ(ev.window_start_ms, B);
    slo_eval_release(&ev);
    teardown(&f);
}

/*
 * The burn-down of a calendar day (Occurrences at 90 %, UTC): the day's start at 1, the
 * remaining fraction at each milestone t_k = B + 86,400,000 k / 63 ms the clock passed, and now.
 *   B + 1h: 90 good of 100: budget 0.1 x 100 = 10, bad 10: fraction 0.
 *   B + 5h: 100 of 100: N = 200, budget 20, bad 10: fraction 0.5.
 * t_1 = 22.9 min and t_2 = 45.7 min hold no data (1); t_3 = 68.6 min to t_13 = 4 h 57 min hold the
 * first batch (0); t_14 = 5 h 20 min to t_31 = 11 h 48 min both (0.5); t_32 = 12 h 11 min is
 * after the evaluation at B + 12h (0.5): 1 + 31 + 1 = 33 points. The milestones survive a
 * checkpoint: the restored engine draws the same chart, and an engine that started at B + 3h
 * has no milestone before it. Calendar Timeslices and RatioTimeslices draw theirs the same way.
 */
static void test_calendar_burndown(void)
{
    static const char yaml[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: c}\nspec:\n"
                               "  service: shop\n  objective: \"90\"\n"
                               "  calendar: {unit: day, timeZone: UTC}\n"
                               "  sli: {spans: {availability: {}}}\n";
    struct fix f, g;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, yaml, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B + HOUR, 90, 100));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 5 * HOUR, 100, 100));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 12 * HOUR, &ev));
    ASSERT_UEQ(ev.n_burndown, 33);
    ASSERT_EQ(ev.burndown[0].t_ms, B);
    ASSERT(ev.burndown[0].remaining_fraction == 1.0);
    for (int k = 1; k <= 31; k++) {
        ASSERT_EQ(ev.burndown[k].t_ms, B + 86400000ll * k / 63);
        double want = k <= 2 ? 1.0 : k <= 13 ? 0.0 : 0.5;
        ASSERT(ev.burndown[k].remaining_fraction == want);
    }
    ASSERT_EQ(ev.burndown[32].t_ms, B + 12 * HOUR);
    ASSERT(ev.burndown[32].remaining_fraction == 0.5);
    slo_eval_release(&ev);

    struct ag_buf ck;
    ag_buf_init(&ck, 1u << 20);
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    ASSERT_OK(setup(&g, yaml, B + 12 * HOUR));
    ASSERT_OK(slo_engine_restore(g.e, ag_buf_ptr(&ck), ck.len, B + 12 * HOUR, NULL, NULL, NULL));
    struct slo_eval e2;
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 13 * HOUR, &ev));
    ASSERT_OK(slo_engine_eval(g.e, 0, B + 13 * HOUR, &e2));
    ASSERT_UEQ(ev.n_burndown, 36); /* t_32 to t_34 = 12 h 57 min too */
    ASSERT_UEQ(e2.n_burndown, ev.n_burndown);
    for (size_t i = 0; i < ev.n_burndown; i++) {
        ASSERT_EQ(e2.burndown[i].t_ms, ev.burndown[i].t_ms);
        ASSERT(e2.burndown[i].remaining_fraction == ev.burndown[i].remaining_fraction);
    }
    slo_eval_release(&ev);
    slo_eval_release(&e2);
    /* a milestone claimed after the checkpoint's clock is refused (the CRC recomputed) */
    uint8_t *raw = (uint8_t *)ag_buf_ptr(&ck);
    size_t at = find_pair(raw, ck.len, (uint64_t)B, (uint64_t)(B + DAY));
    ASSERT(at > 0);
    double half = 0.5;
    memcpy(raw + at + 16 + 40 * 8, &half, 8); /* t_41 = 15 h 37 min, after 12 h */
    fix_crc(raw, ck.len);
    struct fix h;
    ASSERT_OK(setup(&h, yaml, B + 12 * HOUR));
    ASSERT_EQ(slo_engine_restore(h.e, ag_buf_ptr(&ck), ck.len, B + 12 * HOUR, NULL, NULL, NULL),
              AG_EPROTO);
    teardown(&h);
    ag_buf_cleanup(&ck);
    teardown(&f);
    teardown(&g);

    /* Calendar Timeslices, 1-hour periods at 90 % (target 99 %): N = 24, budget 2.4. Hour 01
     * bad (90 of 100), judged at 02:00: t_1 .. t_5 (1 h 54 min) see nothing bad (1), t_6 (2 h
     * 17 min) .. t_10 (3 h 48 min) see 1 bad period, (2.4 - 1) / 2.4 = 7/12; then 04:00. */
    static const char ts_yaml[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: c}\nspec:\n  service: shop\n"
        "  objective: \"90\"\n  calendar: {unit: day, timeZone: UTC}\n"
        "  budgetingMethod: Timeslices\n  timeSlice: {period: 1h, target: \"99\"}\n"
        "  sli: {spans: {availability: {}}}\n";
    ASSERT_OK(setup(&f, ts_yaml, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B + HOUR + 30 * MIN, 90, 100));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 4 * HOUR, &ev));
    ASSERT_UEQ(ev.n_burndown, 12);
    for (int k = 1; k <= 10; k++) {
        ASSERT_EQ(ev.burndown[k].t_ms, B + 86400000ll * k / 63);
        ASSERT(ev.burndown[k].remaining_fraction == (k <= 5 ? 1.0 : 7.0 / 12.0));
    }
    ASSERT(ev.burndown[11].remaining_fraction == 7.0 / 12.0);
    slo_eval_release(&ev);
    teardown(&f);
    /* The same day as RatioTimeslices, hour 01 at 50 of 100: 0.5 bad once the hour has ended,
     * (2.4 - 0.5) / 2.4 = 19/24 from t_6 on. */
    static const char rt_yaml[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: c}\nspec:\n  service: shop\n"
        "  objective: \"90\"\n  calendar: {unit: day, timeZone: UTC}\n"
        "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: 1h}\n"
        "  sli: {spans: {availability: {}}}\n";
    ASSERT_OK(setup(&f, rt_yaml, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B + HOUR + 30 * MIN, 50, 100));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 4 * HOUR, &ev));
    ASSERT_UEQ(ev.n_burndown, 12);
    for (int k = 1; k <= 10; k++) {
        ASSERT(ev.burndown[k].remaining_fraction == (k <= 5 ? 1.0 : 19.0 / 24.0));
    }
    slo_eval_release(&ev);
    teardown(&f);

    /* started at B + 3h: the milestones from t_8 = 3 h 3 min on */
    ASSERT_OK(setup(&f, yaml, B + 3 * HOUR));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 5 * HOUR, 100, 100));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 6 * HOUR, &ev));
    /* t_8 .. t_15 (5 h 43 min) before 6 h: 8 points, then start and now */
    ASSERT_UEQ(ev.n_burndown, 10);
    ASSERT_EQ(ev.burndown[1].t_ms, B + 86400000ll * 8 / 63);
    ASSERT(ev.burndown[1].remaining_fraction == 1.0); /* no data yet */
    ASSERT(ev.burndown[8].remaining_fraction == 1.0); /* t_15: 100 good of 100 */
    slo_eval_release(&ev);
    teardown(&f);
}

/*
 * One stream, three methods, 90 %, a 30-minute window of 5-minute periods (N = 6), evaluated at
 * B + 30 min. Period 0: 8 good of 10 (0.8); periods 1-5: 96 of 100 (0.96).
 *   Occurrences: 8 + 5 x 96 = 488 good of 510; budget 51, bad 22, remaining 29,
 *     fraction 29/51 = 0.569 >= 0.5: OK; attainment 488/510 = 95.686...%.
 *   Timeslices (target 90 %): period 0 bad (0.8 < 0.9): 5 good of 6; budget 0.6 < 1: BREACHED.
 *   RatioTimeslices: mean (0.8 + 5 x 0.96) / 6 = 5.6 / 6 = 0.9333 >= 0.9: met; bad periods
 *     6 - 5.6 = 0.4, remaining 0.6 - 0.4 = 0.2, fraction 1/3 < 0.5: WARNING.
 */
static const char three_fmt[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: m}\n"
                                "spec:\n"
                                "  service: shop\n"
                                "  objective: \"90\"\n"
                                "  window: 30m\n"
                                "  budgetingMethod: %s\n"
                                "%s"
                                "  sli: {spans: {availability: {}}}\n";

static void three_setup(struct fix *f, const char *method, const char *slice)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), three_fmt, method, slice);
    ASSERT_OK(setup(f, yaml, B));
    ASSERT_OK(slo_engine_add(f->e, 0, B + MIN, 8, 10));
    for (int i = 1; i < 6; i++) {
        ASSERT_OK(slo_engine_add(f->e, 0, B + i * 5 * MIN + 2 * MIN, 96, 100));
    }
}

/*
 * A calendar day of 1-hour periods at 90 % (Timeslices, target 99 %): N = 24 known in advance,
 * budget 2.4 periods (§4.3). At 05:30 the periods 00-04 are judged, 01 and 03 bad: good counts
 * the 22 others (future periods are not bad), remaining 0.4, fraction 1/6: WARNING. Hour 05 bad
 * too: at 06:00, 3 > 2.4: BREACHED, though 18 hours are still to come. The next day starts over.
 */
static void test_calendar_timeslices(void)
{
    static const char yaml[] = "apiVersion: otter/v1\n"
                               "kind: SLO\n"
                               "metadata: {name: c}\n"
                               "spec:\n"
                               "  service: shop\n"
                               "  objective: \"90\"\n"
                               "  calendar: {unit: day, timeZone: UTC}\n"
                               "  budgetingMethod: Timeslices\n"
                               "  timeSlice: {period: 1h, target: \"99\"}\n"
                               "  sli: {spans: {availability: {}}}\n";
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, yaml, B));
    for (int h = 0; h < 6; h++) {
        bool bad = h == 1 || h == 3 || h == 5;
        ASSERT_OK(slo_engine_add(f.e, 0, B + h * HOUR + MIN, bad ? 90 : 100, 100));
    }
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 5 * HOUR + 30 * MIN, &ev));
    ASSERT_UEQ(ev.budget.total, 24);
    ASSERT_UEQ(ev.budget.bad, 2);
    ASSERT_UEQ(ev.budget.good, 22);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_WARNING);
    ASSERT(fabs(dbl(&ev.budget.remaining) - 0.4) < 1e-12);
    ASSERT(fabs(dbl(&ev.budget.remaining_seconds) - 1440.0) < 1e-9); /* 0.4 x 3600 s */
    ASSERT_EQ(ev.window_start_ms, B);
    slo_eval_release(&ev);
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 6 * HOUR, &ev));
    ASSERT_UEQ(ev.budget.bad, 3);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_BREACHED);
    slo_eval_release(&ev);
    /* the next day: nothing judged yet, the whole budget left */
    ASSERT_OK(slo_engine_eval(f.e, 0, B + DAY + 30 * MIN, &ev));
    ASSERT_UEQ(ev.budget.bad, 0);
    ASSERT_UEQ(ev.budget.total, 24);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_OK);
    ASSERT_EQ(ev.window_start_ms, B + DAY);
    slo_eval_release(&ev);
    teardown(&f);
}

static void test_three_methods(void)
{
    struct fix f;
    struct slo_eval ev;
    three_setup(&f, "Occurrences", "");
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 30 * MIN, &ev));
    ASSERT_UEQ(ev.budget.good, 488);
    ASSERT_UEQ(ev.budget.total, 510);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_OK);
    ASSERT(fabs(dbl(&ev.budget.remaining) - 29.0) < 1e-9);
    slo_eval_release(&ev);
    teardown(&f);

    three_setup(&f, "Timeslices", "  timeSlice: {period: 5m, target: \"90\"}\n");
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 30 * MIN, &ev));
    ASSERT_UEQ(ev.budget.good, 5);
    ASSERT_UEQ(ev.budget.total, 6);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_BREACHED);
    slo_eval_release(&ev);
    teardown(&f);

    three_setup(&f, "RatioTimeslices", "  timeSlice: {period: 5m}\n");
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 30 * MIN, &ev));
    ASSERT_UEQ(ev.budget.total, 6);
    ASSERT(ev.budget.met);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_WARNING);
    ASSERT(fabs(dbl(&ev.budget.remaining) - 0.2) < 1e-12);
    ASSERT(fabs(dbl(&ev.budget.remaining_fraction) - 1.0 / 3) < 1e-12);
    ASSERT(fabs(dbl(&ev.budget.attainment) - 5.6 / 6) < 1e-12);
    ASSERT_UEQ(ev.n_warnings, 0); /* every ratio terminates: exact */
    slo_eval_release(&ev);
    teardown(&f);
}

/* RatioTimeslices exactly on the objective: period 0 at 4/10, five at 1: mean 5.4 / 6 = 0.9:
 * met (a float sum could land either side), exhausted, remaining 0. A 1/3 period makes the
 * ratio inexact and says so. */
static void test_ratio_exact_tie(void)
{
    struct fix f;
    struct slo_eval ev;
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), three_fmt, "RatioTimeslices", "  timeSlice: {period: 5m}\n");
    ASSERT_OK(setup(&f, yaml, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B, 4, 10));
    for (int i = 1; i < 6; i++) {
        ASSERT_OK(slo_engine_add(f.e, 0, B + i * 5 * MIN, 3, 3));
    }
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 30 * MIN, &ev));
    ASSERT(ev.budget.met);
    ASSERT(ev.budget.exhausted);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_WARNING);
    ASSERT(dbl(&ev.budget.remaining) == 0.0);
    slo_eval_release(&ev);
    /* A seventh period at 1/3 (inexact): at B + 35 min the window is periods 1-6:
     * (5 + 1/3) / 6 = 0.888... < 0.9: breached, with the inexact warning. */
    ASSERT_OK(slo_engine_add(f.e, 0, B + 30 * MIN, 1, 3));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 35 * MIN, &ev));
    ASSERT_EQ(ev.budget.status, SLO_STATUS_BREACHED);
    ASSERT_UEQ(ev.n_warnings, 1);
    slo_eval_release(&ev);
    teardown(&f);
}

/* The JSON report of the 999-of-1000 case, byte for byte. Budget 1 event, consumed 1, remaining
 * 0, fraction 0; no burn data (the event is 110 minutes old); TTE null. */
static void test_json(void)
{
    struct fix f;
    ASSERT_OK(setup(&f, occ_page, B - DAY));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 10 * MIN, 999, 1000));
    struct slo_report r = {0};
    r.evals = ag_calloc(1, sizeof(*r.evals));
    ASSERT_NOT_NULL(r.evals);
    r.n_evals = 1;
    r.evals[0].at_ms = B + 2 * HOUR;
    r.evals[0].slos = ag_calloc(1, sizeof(struct slo_eval));
    ASSERT_NOT_NULL(r.evals[0].slos);
    r.evals[0].n_slos = 1;
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 2 * HOUR, &r.evals[0].slos[0]));
    struct ag_buf out;
    ag_buf_init(&out, 1u << 20);
    ASSERT_OK(slo_report_json(&r, &out));
    ASSERT_STREQ(ag_buf_str(&out),
                 "{\"evaluations\":[{\"at\":\"2025-01-01T02:00:00Z\",\"slos\":[{\"name\":\"o\","
                 "\"objective\":\"99.9\",\"status\":\"WARNING\",\"good\":999,\"bad\":1,"
                 "\"total\":1000,\"attainment_pct\":99.9,\"error_budget\":{\"unit\":\"events\","
                 "\"total\":1,\"consumed\":1,\"remaining\":0,\"remaining_fraction\":0,"
                 "\"remaining_seconds\":null},\"burn_rates\":{\"5m\":null,\"1h\":null},"
                 "\"alerts\":{\"page\":{\"firing\":false,\"reason\":null}},"
                 "\"time_to_exhaustion_seconds\":null,\"warnings\":[]}]}]}");
    ASSERT_EQ(slo_report_exit_status(&r), 0);
    r.evals[0].slos[0].budget.status = SLO_STATUS_BREACHED;
    ASSERT_EQ(slo_report_exit_status(&r), 1);
    ag_buf_cleanup(&out);
    slo_report_release(&r);
    teardown(&f);
}

/* Correct rounding of exact ratios: 1/10, 2/3, a 2^70 numerator, and a tie broken by the
 * sticky bit (2^53 + 1 + 1/2^20 rounds up). */
static void test_rat_double(void)
{
    struct slo_rat r = {1, 10, false};
    ASSERT(slo_eval_double(&r) == 0.1);
    r.num = 2;
    r.den = 3;
    ASSERT(slo_eval_double(&r) == 2.0 / 3.0);
    r.num = (slo_u128)1 << 70;
    r.den = 1;
    ASSERT(slo_eval_double(&r) == ldexp(1.0, 70));
    r.num = (((slo_u128)1 << 53) + 1) * ((slo_u128)1 << 20) + 1;
    r.den = (slo_u128)1 << 20;
    ASSERT(slo_eval_double(&r) == ldexp(1.0, 53) + 2.0);
    r.neg = true;
    ASSERT(slo_eval_double(&r) == -(ldexp(1.0, 53) + 2.0));
}

static void test_rfc3339(void)
{
    int64_t ms = 0;
    const char *why = NULL;
    char buf[40];
    ASSERT_OK(slo_parse_rfc3339("2025-01-01T00:00:00Z", 20, &ms, &why));
    ASSERT_EQ(ms, B);
    ASSERT_OK(slo_parse_rfc3339("2025-01-01T00:00:01.5Z", 22, &ms, &why));
    ASSERT_EQ(ms, B + 1500);
    ASSERT_OK(slo_parse_rfc3339("2024-02-29T23:59:59.999999Z", 27, &ms, &why));
    ASSERT_EQ(ms, B - 306 * DAY - 1); /* 2024 is a leap year: Feb 29 is 306 days before Jan 1 */
    ASSERT_EQ(slo_parse_rfc3339("2025-02-29T00:00:00Z", 20, &ms, &why), AG_EINVAL);
    ASSERT_EQ(slo_parse_rfc3339("2025-01-01T00:00:00+01:00", 25, &ms, &why), AG_EINVAL);
    ASSERT_STRCONTAINS(why, "offsets");
    ASSERT_EQ(slo_parse_rfc3339("2025-01-01 00:00:00Z", 20, &ms, &why), AG_EINVAL);
    ASSERT_EQ(slo_format_rfc3339(B + 1500, buf, sizeof(buf)), 24);
    ASSERT_STREQ(buf, "2025-01-01T00:00:01.500Z");
    ASSERT_EQ(slo_format_rfc3339(0, buf, sizeof(buf)), 20);
    ASSERT_STREQ(buf, "1970-01-01T00:00:00Z");
}

/* slo_window_range: whole buckets of [from, to) still held and closed. */
static void test_window_range(void)
{
    static const uint64_t lb[] = {10 * MIN};
    struct slo_window_config cfg = {HOUR, lb, 1, 0, 0};
    struct slo_window *w = NULL;
    struct slo_counts c;
    ASSERT_OK(slo_window_new(&cfg, B, &w));
    for (int m = 0; m < 90; m++) {
        ASSERT_OK(slo_window_add(w, B + m * MIN + 1000, (uint64_t)m, 100));
    }
    slo_window_advance(w, B + 90 * MIN + 30000);
    /* closed buckets held: minutes 30..89 (61 slots: open + 60). [B + 80 m, B + 85 m): good
     * 80 + 81 + 82 + 83 + 84 = 410 of 500. */
    ASSERT_OK(slo_window_range(w, HOUR, B + 80 * MIN, B + 85 * MIN, &c));
    ASSERT_UEQ(c.good, 410);
    ASSERT_UEQ(c.total, 500);
    /* a from inside a bucket skips it: [80m + 1 ms, 85 m) -> 81..84 = 330 */
    ASSERT_OK(slo_window_range(w, HOUR, B + 80 * MIN + 1, B + 85 * MIN, &c));
    ASSERT_UEQ(c.good, 330);
    /* older than the ring: only 30..31 held of [0, 32 m) */
    ASSERT_OK(slo_window_range(w, HOUR, B, B + 32 * MIN, &c));
    ASSERT_UEQ(c.good, 61);
    /* the open bucket (minute 90) is never counted */
    ASSERT_OK(slo_window_range(w, HOUR, B + 89 * MIN, B + 100 * MIN, &c));
    ASSERT_UEQ(c.good, 89);
    ASSERT_EQ(slo_window_oldest_ms(w, HOUR), B + 30 * MIN);
    ASSERT_EQ(slo_window_range(w, 7 * MIN, B, B + MIN, &c), AG_ENOTFOUND);
    ASSERT_EQ(slo_window_oldest_ms(w, 7 * MIN), -1);
    slo_window_free(w);
    /* an explicit bucket width accepts a lookback of one bucket (one period) */
    static const uint64_t one[] = {5 * MIN};
    struct slo_window_config c1 = {HOUR, one, 1, 0, 5 * MIN};
    ASSERT_OK(slo_window_new(&c1, B, &w));
    slo_window_free(w);
}

static void test_errors(void)
{
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, occ_page, B));
    ASSERT_EQ(slo_engine_add(f.e, 1, B, 1, 1), AG_EINVAL);
    ASSERT_EQ(slo_engine_add(f.e, 0, B, 2, 1), AG_EINVAL);
    ASSERT_EQ(slo_engine_add(f.e, 0, -1, 1, 1), AG_EINVAL);
    ASSERT_EQ(slo_engine_add(f.e, 0, B, 1, 1ull << 32), AG_ETOOBIG);
    ASSERT_EQ(slo_engine_eval(f.e, 1, B, &ev), AG_EINVAL);
    ASSERT_EQ(slo_engine_find(f.e, "o"), 0);
    ASSERT_EQ(slo_engine_find(f.e, "x"), -1);
    slo_eval_release(&ev);
    teardown(&f);
}


/* ---- budget, time-to-exhaustion and cool-down conditions (§7.2) ------------------------------ */

/* One evaluation's alert 0: firing, changed; the reason when firing. */
static void check_alert(struct fix *f, int64_t at, bool firing, bool changed, const char *reason)
{
    struct slo_eval ev;
    ASSERT_OK(slo_engine_eval(f->e, 0, at, &ev));
    ASSERT_UEQ(ev.n_alerts, 1);
    ASSERT_EQ(ev.alerts[0].firing, firing);
    ASSERT_EQ(ev.alerts[0].changed, changed);
    if (firing) {
        ASSERT_STREQ(ev.alerts[0].reason, reason);
    } else {
        ASSERT_NULL(ev.alerts[0].reason);
    }
    slo_eval_release(&ev);
}

/*
 * budgetRemaining "0.25" at 99 % over 1 h (strict: fires when less than a quarter is left):
 *   B+10m: 1000 events, 0 bad: budget 10, fraction 1: no.
 *   B+20m: 2000 events, 15 bad: budget 20, remaining 5, fraction 5/20 = 0.25 exactly: no.
 *   B+25m: 2001 events, 16 bad: budget 20.01, remaining 4.01, 4.01/20.01 = 0.2004 < 0.25: fires.
 *   B+26m: still firing, no second callback.
 *   B+2h:  the window [B+1h, B+2h) is empty (NO_DATA, fraction 1): resolves.
 */
static void test_budget_alert(void)
{
    static const char yaml[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: b}\nspec:\n"
                               "  service: s\n  objective: \"99\"\n  window: 1h\n"
                               "  sli: {spans: {availability: {}}}\n"
                               "  alerts:\n    - {name: low, budgetRemaining: \"0.25\"}\n";
    const char *why = "error budget remaining below the threshold";
    struct fix f;
    struct calls c = {0};
    ASSERT_OK(setup(&f, yaml, B));
    slo_engine_set_alert_fn(f.e, on_alert, &c);
    ASSERT_OK(slo_engine_add(f.e, 0, B + MIN, 1000, 1000));
    check_alert(&f, B + 10 * MIN, false, false, NULL);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 11 * MIN, 985, 1000));
    check_alert(&f, B + 20 * MIN, false, false, NULL);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 21 * MIN, 0, 1));
    check_alert(&f, B + 25 * MIN, true, true, why);
    check_alert(&f, B + 26 * MIN, true, false, why);
    check_alert(&f, B + 2 * HOUR, false, true, NULL);
    ASSERT_EQ(c.n, 2);
    ASSERT_EQ(c.at[0], B + 25 * MIN);
    ASSERT(c.firing[0] && !c.firing[1]);
    teardown(&f);
}

/*
 * timeToExhaustion {below: 6h, lookback: 1h} at 99 % over 1 d (W = 86,400 s);
 * TTE = remaining fraction x W / burn over the last hour.
 *   B+1h: 10,000 events, 10 bad: budget 100, remaining 90, fraction 0.9; burn (10/10,000)/0.01
 *     = 0.1: TTE = 0.9 x 86,400 / 0.1 = 777,600 s (216 h): no.
 *   B+1h30m: + 1000 events, 90 bad at B+1h05m: 11,000 events, 100 bad: budget 110, remaining
 *     10, fraction 1/11; the hour [B+30m, B+1h30m) holds both: burn (100/11,000)/0.01 = 10/11:
 *     TTE = (1/11) x 86,400 / (10/11) = 8,640 s = 2.4 h < 6 h: fires. The report's TTE (its
 *     lookback is the alert's, the shortest) is the same 8,640 s.
 *   B+3h: the hour [B+2h, B+3h) is empty: burn null, TTE null: never fires on null; resolves.
 */
static void test_tte_alert(void)
{
    static const char yaml[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: t}\nspec:\n"
                               "  service: s\n  objective: \"99\"\n  window: 1d\n"
                               "  sli: {spans: {availability: {}}}\n"
                               "  alerts:\n    - name: tte\n"
                               "      timeToExhaustion: {below: 6h, lookback: 1h}\n";
    const char *why = "time to exhaustion below the threshold";
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, yaml, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 30 * MIN, 9990, 10000));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + HOUR, &ev));
    ASSERT(!ev.tte_null);
    ASSERT(fabs(ev.tte_seconds - 777600.0) < 1e-6);
    ASSERT(!ev.alerts[0].firing);
    ASSERT_UEQ(ev.n_burns, 1);
    ASSERT_STREQ(ev.burns[0].window, "1h"); /* the lookback is one of the alert windows */
    slo_eval_release(&ev);
    ASSERT_OK(slo_engine_add(f.e, 0, B + HOUR + 5 * MIN, 910, 1000));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + HOUR + 30 * MIN, &ev));
    ASSERT(fabs(ev.tte_seconds - 8640.0) < 1e-6);
    ASSERT(ev.alerts[0].firing && ev.alerts[0].changed);
    ASSERT_STREQ(ev.alerts[0].reason, why);
    slo_eval_release(&ev);
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 3 * HOUR, &ev));
    ASSERT(ev.tte_null);
    ASSERT(!ev.alerts[0].firing && ev.alerts[0].changed);
    slo_eval_release(&ev);
    teardown(&f);
}

/*
 * coolDown 30m on a burn-rate page (burn > 10 over 5 m at 99 %: 20 bad of 100 burns at 20):
 *   B+2m fires (the B+1m burst); B+10m resolves ([B+5m, B+10m) is empty): last resolve B+10m.
 *   B+16m: the B+15m burst burns at 20 again, but only 6 m after the resolve: held, resolved,
 *     no callback, a warning: 30 m - 6 m = 1440 s more. A checkpoint taken here and restored
 *     keeps the resolve time: the restored engine holds too (B+21m, 1140 s more).
 *   B+46m: the B+45m burst, 36 m after the resolve: fires.
 */
static const char cool_yaml[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: c}\nspec:\n"
                                "  service: s\n  objective: \"99\"\n  window: 1h\n"
                                "  sli: {spans: {availability: {}}}\n"
                                "  alerts:\n    - {name: page, burnRate: \"10\", longWindow: 5m, "
                                "coolDown: 30m}\n";

static bool has_warning(const struct slo_eval *ev, const char *w)
{
    for (size_t i = 0; i < ev->n_warnings; i++) {
        if (strcmp(ev->warnings[i], w) == 0) {
            return true;
        }
    }
    return false;
}

static void test_cool_down(void)
{
    struct fix f, g;
    struct calls c = {0}, cg = {0};
    struct slo_eval ev;
    struct ag_buf ck;
    ag_buf_init(&ck, 1u << 24);
    ASSERT_OK(setup(&f, cool_yaml, B));
    slo_engine_set_alert_fn(f.e, on_alert, &c);
    ASSERT_OK(slo_engine_add(f.e, 0, B + MIN, 80, 100));
    check_alert(&f, B + 2 * MIN, true, true,
                "burn rate above the threshold over the window");
    check_alert(&f, B + 10 * MIN, false, true, NULL);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 15 * MIN, 80, 100));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 16 * MIN, &ev));
    ASSERT(!ev.alerts[0].firing && !ev.alerts[0].changed);
    ASSERT(has_warning(&ev, "alert page: its condition holds but its cool-down keeps it "
                            "resolved for 1440 s more"));
    slo_eval_release(&ev);
    ASSERT_EQ(c.n, 2);

    /* restart here: the resolve time travels in the checkpoint */
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    ASSERT_OK(setup(&g, cool_yaml, B + 16 * MIN));
    slo_engine_set_alert_fn(g.e, on_alert, &cg);
    ASSERT_OK(slo_engine_restore(g.e, ag_buf_ptr(&ck), ck.len, B + 16 * MIN, NULL, NULL, NULL));
    struct fix *both[2] = {&f, &g};
    for (int k = 0; k < 2; k++) {
        ASSERT_OK(slo_engine_add(both[k]->e, 0, B + 20 * MIN, 80, 100));
        ASSERT_OK(slo_engine_eval(both[k]->e, 0, B + 21 * MIN, &ev));
        ASSERT(!ev.alerts[0].firing);
        ASSERT(has_warning(&ev, "alert page: its condition holds but its cool-down keeps it "
                                "resolved for 1140 s more"));
        slo_eval_release(&ev);
        ASSERT_OK(slo_engine_add(both[k]->e, 0, B + 45 * MIN, 80, 100));
        check_alert(both[k], B + 46 * MIN, true, true,
                    "burn rate above the threshold over the window");
    }
    ASSERT_EQ(c.n, 3);
    ASSERT_EQ(c.at[2], B + 46 * MIN);
    ASSERT_EQ(cg.n, 1);
    ASSERT(cg.firing[0]);
    ag_buf_cleanup(&ck);
    teardown(&f);
    teardown(&g);
}

/*
 * budgetDrop {drop: "10%", lookback: 1h}, coolDown 30m, at 99 % over 1 d (1-minute buckets, so
 * the budget is sampled every minute). The consumed fraction of the budget is
 * cf = bad / (0.01 x total) = 100 bad / total; the alert fires iff cf(T) - cf(floor(T) - 1h)
 * > 0.1 (strict). Observations: B+0 10,000 / 0 bad; B+2h 10,000 / 10 bad; B+2h10m 10,000 / 20
 * bad; B+2h20m 1 / 1 bad; B+3h5m 10,000 / 100 bad (an observation at t counts in [t, t + 1m),
 * so in the budget of every instant after t's minute).
 *   B+2h:      cf 0 (10,000, 0 bad); the sample at B+1h is 0: drop 0.
 *   B+2h1m:    cf 100 x 10 / 20,000 = 0.05, sample B+1h1m 0: drop 0.05: no.
 *   B+2h11m:   cf 100 x 30 / 30,000 = 0.1 exactly, sample B+1h11m 0: drop 0.1, not > 0.1: no.
 *   B+2h21m:   cf 100 x 31 / 30,001 = 0.10333, sample B+1h21m 0: fires (once).
 *   B+3h:      the sample at B+2h holds only B+0 (B+2h's observation is at the boundary): 0,
 *              drop 0.10333: still firing, no change.
 *   B+3h1m:    the sample at B+2h1m holds B+2h too: 0.05; drop 0.0533: resolves (last resolve
 *              B+3h1m).
 *   B+3h6m:    cf 100 x 131 / 40,001 = 0.32749, sample B+2h6m 0.05: drop 0.2775 holds, but the
 *              cool-down keeps it resolved until B+3h31m: 25 m = 1500 s more. A checkpoint taken
 *              here is restored into a second engine; both go on.
 *   B+3h31m:   sample B+2h31m 0.10333: drop 0.2242: fires in both (one callback each).
 *   Saved at B+3h31m while firing and restored: still firing, changed false, no callback.
 *   B+4h5m:    sample B+3h5m (from the B+3h6m checkpoint: before the B+3h5m observation's
 *              minute closed) 0.10333: drop 0.2242, firing.
 *   B+4h6m:    sample B+3h6m (the checkpoint's newest) 0.32749: drop 0: resolves. An engine
 *              that had lost the samples would compare with nothing consumed (0.32749): firing.
 */
static const char drop_yaml[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: d}\nspec:\n"
                                "  service: s\n  objective: \"99\"\n  window: 1d\n"
                                "  sli: {spans: {availability: {}}}\n"
                                "  alerts:\n    - name: drop\n"
                                "      budgetDrop: {drop: \"10%\", lookback: 1h}\n"
                                "      coolDown: 30m\n";

static void test_budget_drop(void)
{
    const char *why = "error budget dropped by more than the threshold within the lookback";
    struct fix f, g, h;
    struct calls c = {0}, cg = {0}, ch = {0};
    struct slo_eval ev;
    struct ag_buf ck;
    ag_buf_init(&ck, 1u << 24);
    ASSERT_OK(setup(&f, drop_yaml, B));
    slo_engine_set_alert_fn(f.e, on_alert, &c);
    ASSERT_OK(slo_engine_add(f.e, 0, B, 10000, 10000));
    check_alert(&f, B + 2 * HOUR, false, false, NULL);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 2 * HOUR, 9990, 10000));
    check_alert(&f, B + 2 * HOUR + MIN, false, false, NULL);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 2 * HOUR + 10 * MIN, 9980, 10000));
    check_alert(&f, B + 2 * HOUR + 11 * MIN, false, false, NULL);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 2 * HOUR + 20 * MIN, 0, 1));
    check_alert(&f, B + 2 * HOUR + 21 * MIN, true, true, why);
    check_alert(&f, B + 3 * HOUR, true, false, why);
    check_alert(&f, B + 3 * HOUR + MIN, false, true, NULL);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 3 * HOUR + 5 * MIN, 9900, 10000));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 3 * HOUR + 6 * MIN, &ev));
    ASSERT(!ev.alerts[0].firing && !ev.alerts[0].changed);
    ASSERT(has_warning(&ev, "alert drop: its condition holds but its cool-down keeps it "
                            "resolved for 1500 s more"));
    slo_eval_release(&ev);
    ASSERT_EQ(c.n, 2);

    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    ASSERT_OK(setup(&g, drop_yaml, B + 3 * HOUR + 6 * MIN));
    slo_engine_set_alert_fn(g.e, on_alert, &cg);
    ASSERT_OK(
        slo_engine_restore(g.e, ag_buf_ptr(&ck), ck.len, B + 3 * HOUR + 6 * MIN, NULL, NULL, NULL));
    struct fix *both[2] = {&f, &g};
    for (int k = 0; k < 2; k++) {
        check_alert(both[k], B + 3 * HOUR + 31 * MIN, true, true, why);
    }
    ASSERT_EQ(c.n, 3);
    ASSERT_EQ(c.at[2], B + 3 * HOUR + 31 * MIN);
    ASSERT_EQ(cg.n, 1);

    /* firing across a restart: no second notification */
    ck.len = 0;
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    ASSERT_OK(setup(&h, drop_yaml, B + 3 * HOUR + 31 * MIN));
    slo_engine_set_alert_fn(h.e, on_alert, &ch);
    ASSERT_OK(slo_engine_restore(h.e, ag_buf_ptr(&ck), ck.len, B + 3 * HOUR + 32 * MIN, NULL, NULL,
                                 NULL));
    check_alert(&h, B + 3 * HOUR + 32 * MIN, true, false, why);
    ASSERT_EQ(ch.n, 0);

    for (int k = 0; k < 2; k++) {
        check_alert(both[k], B + 4 * HOUR + 5 * MIN, true, false, why);
        check_alert(both[k], B + 4 * HOUR + 6 * MIN, false, true, NULL);
    }
    ASSERT_EQ(c.n, 4);
    ASSERT_EQ(cg.n, 2);
    ag_buf_cleanup(&ck);
    teardown(&f);
    teardown(&g);
    teardown(&h);
}

/*
 * budgetDrop without data: {drop: "10%", lookback: 30m} at 99 % over 1 h. B+0: 100 events, 50
 * bad: cf = 100 x 50 / 100 = 50 budgets. B+10m: the sample at B-20m is before the engine's start
 * (nothing known, nothing consumed): drop 50 > 0.1: fires. B+1h1m: [B+1m, B+1h1m) is empty,
 * NO_DATA: never fires without data: resolves. A 30-day window keeps its budget in 5-minute
 * buckets: a 7m lookback is rounded to 5m (300 s) and said so.
 */
static void test_budget_drop_no_data(void)
{
    static const char yaml[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: n}\nspec:\n"
                               "  service: s\n  objective: \"99\"\n  window: 1h\n"
                               "  sli: {spans: {availability: {}}}\n"
                               "  alerts:\n    - {name: drop, budgetDrop: {drop: \"10%\", "
                               "lookback: 30m}}\n";
    const char *why = "error budget dropped by more than the threshold within the lookback";
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, yaml, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B, 50, 100));
    check_alert(&f, B + 10 * MIN, true, true, why);
    /* A checkpoint at B+10m ends with the ring (step, cap 31, n 10 samples B+1m..B+10m, last;
     * 10 x 24 bytes), the extra length and the CRC. A tampered newest sample (n 49 < its 50
     * bad) or a newest boundary after the clock is refused, the CRC made valid first. */
    {
        struct ag_buf ck;
        ag_buf_init(&ck, 1u << 20);
        ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
        uint8_t *p = (uint8_t *)ag_buf_ptr(&ck);
        size_t ring = ck.len - 16 - 10 * 24 - 32;
        struct slo_rd r = {p + ring, p + ck.len, false};
        ASSERT_UEQ(slo_get_u64(&r), MIN);         /* step */
        ASSERT_UEQ(slo_get_u64(&r), 31);          /* 30m / 1m + 1 */
        ASSERT_UEQ(slo_get_u64(&r), 10);          /* n */
        ASSERT_EQ(slo_get_i64(&r), B + 10 * MIN); /* the newest boundary */
        for (int k = 0; k < 3; k++) {             /* k == 2: the same bytes rewritten: restores */
            struct ag_buf bad;
            ag_buf_init(&bad, 1u << 20);
            ASSERT_OK(ag_buf_add(&bad, p, ck.len));
            uint8_t *q = (uint8_t *)ag_buf_ptr(&bad);
            size_t at = k == 0 ? ck.len - 16 - 8 : ring + 24;
            uint64_t v = k == 0 ? 49 : (uint64_t)(B + (k == 1 ? 11 : 10) * MIN);
            for (int i = 0; i < 8; i++) {
                q[at + (size_t)i] = (uint8_t)(v >> (8 * i));
            }
            fix_crc(q, bad.len);
            struct fix g;
            ASSERT_OK(setup(&g, yaml, B));
            ASSERT_EQ(slo_engine_restore(g.e, q, bad.len, B + 10 * MIN, NULL, NULL, NULL),
                      k == 2 ? 0 : AG_EPROTO);
            teardown(&g);
            ag_buf_cleanup(&bad);
        }
        ag_buf_cleanup(&ck);
    }
    ASSERT_OK(slo_engine_eval(f.e, 0, B + HOUR + MIN, &ev));
    ASSERT_EQ(ev.budget.status, SLO_STATUS_NO_DATA);
    ASSERT(!ev.alerts[0].firing && ev.alerts[0].changed);
    slo_eval_release(&ev);
    teardown(&f);

    static const char y30[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: m}\nspec:\n"
                              "  service: s\n  objective: \"99\"\n  window: 30d\n"
                              "  sli: {spans: {availability: {}}}\n"
                              "  alerts:\n    - {name: drop, budgetDrop: {drop: \"10%\", "
                              "lookback: 7m}}\n";
    ASSERT_OK(setup(&f, y30, B));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + HOUR, &ev));
    ASSERT(has_warning(&ev, "alert drop: budgetDrop lookback 7m rounded to 300 s (whole budget "
                            "steps)"));
    ASSERT(!ev.alerts[0].firing);
    slo_eval_release(&ev);
    /* 2 samples (5 m / 5 m + 1) of 32 bytes (128-bit bad, u64 n, aligned to 16) and the ring's
     * header (step, scale, cap, n, last, pointer: 6 x 8 = 48 bytes): 112 bytes more than the
     * same SLO with a budgetRemaining alert instead (the same per-alert state, no ring). */
    ASSERT(f.e->st[0].drop != NULL);
    ASSERT_UEQ(f.e->st[0].drop->cap, 2);
    ASSERT_UEQ(f.e->st[0].drop->step_ms, 5 * MIN);
    ASSERT_UEQ(sizeof(struct drop_sample), 32);
    size_t with_drop = slo_engine_slo_bytes(f.e, 0);
    teardown(&f);
    static const char yb[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: m}\nspec:\n"
                             "  service: s\n  objective: \"99\"\n  window: 30d\n"
                             "  sli: {spans: {availability: {}}}\n"
                             "  alerts:\n    - {name: drop, budgetRemaining: \"0.5\"}\n";
    ASSERT_OK(setup(&f, yb, B));
    ASSERT_UEQ(with_drop - slo_engine_slo_bytes(f.e, 0), 112);
    teardown(&f);
}

/*
 * A version 1 checkpoint (before resolve times and flags) still restores, as never resolved.
 * cool_yaml, one SLO and one alert; version 2 (and 3) layout: header 40 bytes, then kind, alerts, clock,
 * start, gap start, gap end (40..87), flags (88..95), firing (96..103), last resolve (104..111).
 * Version 1 is the same without the flags and the last resolve. Saved at B+10m right after the
 * resolve: the version 2 copy holds the B+15m burst back (cool-down until B+40m); the version 1
 * copy knows no resolve and fires at B+16m.
 */
static void test_checkpoint_v1(void)
{
    struct fix f, g2, g1;
    struct ag_buf ck, v1;
    struct slo_eval ev;
    ag_buf_init(&ck, 1u << 24);
    ag_buf_init(&v1, 1u << 24);
    ASSERT_OK(setup(&f, cool_yaml, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B + MIN, 80, 100));
    check_alert(&f, B + 2 * MIN, true, true, "burn rate above the threshold over the window");
    check_alert(&f, B + 10 * MIN, false, true, NULL);
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    const uint8_t *p = ag_buf_ptr(&ck);
    ASSERT_UEQ(p[8], 4); /* version 4: for a rolling Occurrences SLO the layout of version 2 */
    ASSERT_OK(ag_buf_add(&v1, p, 88));                       /* header and the six fields */
    ASSERT_OK(ag_buf_add(&v1, p + 96, 8));                   /* firing */
    ASSERT_OK(ag_buf_add(&v1, p + 112, ck.len - 112 - 8));   /* the window, the extra bytes */
    uint8_t *q = (uint8_t *)ag_buf_ptr(&v1);
    q[8] = 1;
    uint32_t crc = slo_eval_crc32c(q, v1.len);
    uint8_t tail[8];
    for (int i = 0; i < 8; i++) {
        tail[i] = (uint8_t)((uint64_t)crc >> (8 * i));
    }
    ASSERT_OK(ag_buf_add(&v1, tail, 8));
    ASSERT_OK(setup(&g2, cool_yaml, B + 10 * MIN));
    ASSERT_OK(setup(&g1, cool_yaml, B + 10 * MIN));
    ASSERT_OK(slo_engine_restore(g2.e, ag_buf_ptr(&ck), ck.len, B + 10 * MIN, NULL, NULL, NULL));
    ASSERT_OK(slo_engine_restore(g1.e, ag_buf_ptr(&v1), v1.len, B + 10 * MIN, NULL, NULL, NULL));
    ASSERT_OK(slo_engine_add(g2.e, 0, B + 15 * MIN, 80, 100));
    ASSERT_OK(slo_engine_add(g1.e, 0, B + 15 * MIN, 80, 100));
    ASSERT_OK(slo_engine_eval(g2.e, 0, B + 16 * MIN, &ev));
    ASSERT(!ev.alerts[0].firing);
    slo_eval_release(&ev);
    check_alert(&g1, B + 16 * MIN, true, true, "burn rate above the threshold over the window");
    ag_buf_cleanup(&ck);
    ag_buf_cleanup(&v1);
    teardown(&f);
    teardown(&g1);
    teardown(&g2);
}

/* ---- grace delay for Timeslices --------------------------------------------------------------- */

/*
 * 5-minute periods judged against 90 %, objective 90 % over 1 h, with grace 1m and without.
 * Period 0 [B, B+5m): 100 good of 100 at B+1m, then at B+5m30s (the clock already there) a late
 * 0 of 100 stamped B+4m.
 *   grace 1m: period 0 is judged at B+6m: the late batch counts: 100 of 200 = 0.5 < 0.9, bad.
 *     At B+5m30s nothing is judged yet (NO_DATA); at B+6m the window is [B+5m - 1h, B+5m):
 *     0 good of 1 period.
 *   grace 0: period 0 was judged at B+5m (good); the late batch is dropped and said so: 1 good
 *     of 1 in [B+6m - 1h, B+5m) rounded to whole periods.
 *   Period 1 [B+5m, B+10m) with grace: a batch stamped B+9m arriving at B+11m30s is past
 *     B+10m + 1m: dropped, warned.
 */
static void test_slice_grace(void)
{
    static const char fmt[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: g}\nspec:\n"
                              "  service: s\n  objective: \"90\"\n  window: 1h\n"
                              "  budgetingMethod: Timeslices\n"
                              "  timeSlice: {period: 5m, target: \"90\"%s}\n"
                              "  sli: {spans: {availability: {}}}\n";
    char yg[512], y0[512];
    snprintf(yg, sizeof(yg), fmt, ", grace: 1m");
    snprintf(y0, sizeof(y0), fmt, "");
    struct fix g, z;
    struct slo_eval ev;
    ASSERT_OK(setup(&g, yg, B));
    ASSERT_OK(setup(&z, y0, B));
    ASSERT_UEQ(g.d->slos[0].slice_grace_ms, 60000);
    struct fix *both[2] = {&g, &z};
    for (int k = 0; k < 2; k++) {
        ASSERT_OK(slo_engine_add(both[k]->e, 0, B + MIN, 100, 100));
        slo_engine_advance(both[k]->e, B + 5 * MIN + 30000);
        ASSERT_OK(slo_engine_add(both[k]->e, 0, B + 4 * MIN, 0, 100));
    }
    ASSERT_OK(slo_engine_eval(g.e, 0, B + 5 * MIN + 30000, &ev));
    ASSERT_UEQ(ev.budget.total, 0);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_NO_DATA);
    slo_eval_release(&ev);
    ASSERT_OK(slo_engine_eval(g.e, 0, B + 6 * MIN, &ev));
    ASSERT_UEQ(ev.budget.total, 1);
    ASSERT_UEQ(ev.budget.good, 0);
    ASSERT_EQ(ev.window_end_ms, B + 5 * MIN);
    ASSERT_EQ(ev.window_start_ms, B + 5 * MIN - HOUR);
    ASSERT_UEQ(ev.n_warnings, 1); /* the young window only */
    slo_eval_release(&ev);
    ASSERT_OK(slo_engine_eval(z.e, 0, B + 6 * MIN, &ev));
    ASSERT_UEQ(ev.budget.total, 1);
    ASSERT_UEQ(ev.budget.good, 1);
    ASSERT(has_warning(&ev, "1 observations for already judged periods were not counted"));
    slo_eval_release(&ev);
    /* past the grace: dropped */
    slo_engine_advance(g.e, B + 11 * MIN + 30000);
    ASSERT_OK(slo_engine_add(g.e, 0, B + 9 * MIN, 0, 100));
    ASSERT_OK(slo_engine_eval(g.e, 0, B + 12 * MIN, &ev));
    ASSERT_UEQ(ev.budget.total, 2); /* periods 0 (bad) and 1 (no data: good by policy) */
    ASSERT_UEQ(ev.budget.good, 1);
    ASSERT(has_warning(&ev, "1 observations for already judged periods were not counted"));
    slo_eval_release(&ev);
    teardown(&g);
    teardown(&z);
}

/* ---- IANA time zones ------------------------------------------------------------------------ */

static bool have_tzdata(void)
{
    if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0 ||
        access("/usr/share/zoneinfo/America/New_York", R_OK) != 0) {
        printf("# SKIP /usr/share/zoneinfo absent (tzdata not installed)\n");
        return false;
    }
    return true;
}

/* Instants of 2025 (worked out by hand from B = 2025-01-01T00:00Z, 2025 not a leap year):
 *   2025-03-01T00:00Z = B + 59 d  (Jan 31 + Feb 28)   = 1740787200000
 *   2025-04-01T00:00Z = B + 90 d  (+ Mar 31)          = 1743465600000
 *   2025-03-09T00:00Z = B + 67 d, 2025-11-02T00:00Z = B + 305 d (Jan..Oct: 304 d, + 1)
 * Europe/Berlin: CET (+1) until 2025-03-30T01:00Z, then CEST (+2). March, local midnight to
 * local midnight: [Mar 1 00:00 CET = Feb 28 23:00Z, Apr 1 00:00 CEST = Mar 31 22:00Z), that is
 * 31 x 24 h - 1 h = 743 h.
 * America/New_York: EST (-5) until 2025-03-09T07:00Z, EDT (-4) until 2025-11-02T06:00Z.
 *   Mar 9: [05:00Z, Mar 10 04:00Z) = 23 h; Nov 2: [04:00Z, Nov 3 05:00Z) = 25 h. */
#define MAR1 (B + 59 * DAY)
#define APR1 (B + 90 * DAY)
#define BERLIN_MAR_START (MAR1 - HOUR)
#define BERLIN_MAR_END (APR1 - 2 * HOUR)

/* The month of March in Berlin at the calendar accumulator: events a minute before and after
 * local midnight at both ends land in the right month. */
static void test_tz_calendar_month(void)
{
    if (!have_tzdata()) {
        return;
    }
    struct fix f;
    static const char yaml[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: m}\nspec:\n"
                               "  service: s\n  objective: \"99\"\n"
                               "  calendar: {unit: month, timeZone: Europe/Berlin}\n"
                               "  sli: {spans: {availability: {}}}\n";
    ASSERT_OK(setup(&f, yaml, BERLIN_MAR_START - DAY));
    const struct slo_tz *tz = f.d->slos[0].tz;
    ASSERT_NOT_NULL(tz);
    int64_t s = 0, e = 0;
    ASSERT_OK(slo_calendar_bounds_tz(SLO_CAL_MONTH, tz, 0, MAR1 + 15 * DAY, &s, &e));
    ASSERT_EQ(s, 1740783600000ll);
    ASSERT_EQ(e, 1743458400000ll);
    ASSERT_EQ(e - s, 743 * HOUR);
    /* the last minute of February local time still belongs to February */
    ASSERT_OK(slo_calendar_bounds_tz(SLO_CAL_MONTH, tz, 0, BERLIN_MAR_START - 1, &s, &e));
    ASSERT_EQ(e, BERLIN_MAR_START);

    struct slo_calendar c;
    ASSERT_OK(slo_calendar_init_tz(&c, SLO_CAL_MONTH, tz, 0, 0, BERLIN_MAR_START - DAY));
    ASSERT_OK(slo_calendar_add(&c, BERLIN_MAR_START - 30000, 0, 7));     /* Feb 28 23:59:30 */
    ASSERT_OK(slo_calendar_add(&c, BERLIN_MAR_START + 30000, 10, 11));   /* Mar 1 00:00:30 */
    ASSERT_OK(slo_calendar_add(&c, BERLIN_MAR_END - 30000, 20, 23));     /* Mar 31 23:59:30 */
    ASSERT_OK(slo_calendar_add(&c, BERLIN_MAR_END + 30000, 1, 1));       /* Apr 1 00:00:30 */
    slo_calendar_advance(&c, BERLIN_MAR_END + 2 * MIN);
    struct slo_counts cur, prev;
    ASSERT(slo_calendar_previous(&c, &prev, &s, &e));
    ASSERT_EQ(s, BERLIN_MAR_START);
    ASSERT_EQ(e, BERLIN_MAR_END);
    ASSERT_UEQ(prev.good, 30); /* 10 + 20 */
    ASSERT_UEQ(prev.total, 34); /* 11 + 23 */
    slo_calendar_counts(&c, &cur, &s, &e);
    ASSERT_EQ(s, BERLIN_MAR_END);
    ASSERT_UEQ(cur.total, 1);

    /* The engine at Mar 31 23:59 local: the month started at Feb 28 23:00Z; counted are the
     * events of March in closed minutes: 11 + 23 (the last one at 23:58:30 local). */
    ASSERT_OK(slo_engine_add(f.e, 0, BERLIN_MAR_START - 30000, 0, 7));
    ASSERT_OK(slo_engine_add(f.e, 0, BERLIN_MAR_START + 30000, 10, 11));
    ASSERT_OK(slo_engine_add(f.e, 0, BERLIN_MAR_END - 90000, 20, 23));
    struct slo_eval ev;
    ASSERT_OK(slo_engine_eval(f.e, 0, BERLIN_MAR_END - MIN, &ev));
    ASSERT_EQ(ev.window_start_ms, BERLIN_MAR_START);
    ASSERT_UEQ(ev.budget.good, 30);
    ASSERT_UEQ(ev.budget.total, 34);
    slo_eval_release(&ev);
    teardown(&f);
}

/* Calendar Timeslices of 1 hour: N is the number of hours of the local period: 743 for March in
 * Berlin, 23 and 25 for the New York days of the DST changes (24 on an ordinary day). At 99 %
 * the budget is 7.43 periods (floor 7) in March; at 90 % 2.3, 2.5 and 2.4 periods. */
static void test_tz_calendar_timeslices(void)
{
    if (!have_tzdata()) {
        return;
    }
    static const char yaml[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: mar}\nspec:\n  service: s\n"
        "  objective: \"99\"\n  calendar: {unit: month, timeZone: Europe/Berlin}\n"
        "  budgetingMethod: Timeslices\n  timeSlice: {period: 1h, target: \"90\"}\n"
        "  sli: {spans: {availability: {}}}\n"
        "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: ny}\nspec:\n  service: s\n"
        "  objective: \"90\"\n  calendar: {unit: day, timeZone: America/New_York}\n"
        "  budgetingMethod: Timeslices\n  timeSlice: {period: 1h, target: \"90\"}\n"
        "  sli: {spans: {availability: {}}}\n";
    const int64_t mar9 = B + 67 * DAY, nov2 = B + 305 * DAY;
    struct {
        int64_t at, start;
        uint64_t n;
        double budget;
    } cases[] = {
        {mar9 + 12 * HOUR, mar9 + 5 * HOUR, 23, 2.3},  /* 07:00 EDT, the day began 05:00Z */
        {nov2 + 12 * HOUR, nov2 + 4 * HOUR, 25, 2.5},  /* the day began 04:00Z (EDT) */
        {mar9 + 2 * DAY + 12 * HOUR, mar9 + 2 * DAY + 4 * HOUR, 24, 2.4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fix f;
        struct slo_eval ev;
        ASSERT_OK(setup(&f, yaml, cases[i].at - 3 * HOUR));
        /* one bad hour (2 of 10 good) 2 h before the instant */
        ASSERT_OK(slo_engine_add(f.e, 1, cases[i].at - 2 * HOUR + MIN, 2, 10));
        ASSERT_OK(slo_engine_eval(f.e, 1, cases[i].at, &ev));
        ASSERT_EQ(ev.window_start_ms, cases[i].start);
        ASSERT_UEQ(ev.budget.total, cases[i].n);
        ASSERT_UEQ(ev.budget.bad, 1);
        ASSERT(fabs(dbl(&ev.budget.budget_total) - cases[i].budget) < 1e-12);
        slo_eval_release(&ev);
        teardown(&f);
    }
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, yaml, MAR1 + 10 * DAY));
    ASSERT_OK(slo_engine_eval(f.e, 0, MAR1 + 20 * DAY, &ev));
    ASSERT_EQ(ev.window_start_ms, BERLIN_MAR_START);
    ASSERT_UEQ(ev.budget.total, 743);
    ASSERT_UEQ(ev.budget.allowed_bad, 7); /* floor(0.01 x 743) */
    slo_eval_release(&ev);
    teardown(&f);
}

/* A checkpoint of zoned SLOs restores to the same answers; the same names in another zone
 * (a fixed offset) are foreign definitions. */
static void test_tz_checkpoint(void)
{
    if (!have_tzdata()) {
        return;
    }
    static const char fmt[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: m}\nspec:\n  service: s\n"
        "  objective: \"99\"\n  calendar: {unit: month, timeZone: %s}\n"
        "  sli: {spans: {availability: {}}}\n"
        "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: d}\nspec:\n  service: s\n"
        "  objective: \"90\"\n  calendar: {unit: day, timeZone: America/New_York}\n"
        "  budgetingMethod: Timeslices\n  timeSlice: {period: 10m, target: \"90\"}\n"
        "  sli: {spans: {availability: {}}}\n";
    char y1[1024], y2[1024];
    snprintf(y1, sizeof(y1), fmt, "Europe/Berlin");
    snprintf(y2, sizeof(y2), fmt, "\"+01:00\"");
    struct fix a, b, c;
    struct ag_buf ck, ja, jb, why;
    ag_buf_init(&ck, 1u << 24);
    ag_buf_init(&ja, 1u << 20);
    ag_buf_init(&jb, 1u << 20);
    ag_buf_init(&why, 4096);
    /* across the Berlin change (2025-03-30T01:00Z) and around the New York one (Mar 9) */
    const int64_t t0 = B + 88 * DAY; /* 2025-03-30T00:00Z */
    ASSERT_OK(setup(&a, y1, t0));
    uint32_t seed = 11;
    for (int64_t m = 0; m < 180; m++) {
        for (size_t i = 0; i < 2; i++) {
            seed = seed * 1103515245u + 12345u;
            ASSERT_OK(slo_engine_add(a.e, i, t0 + m * MIN + 1000, 100 - (seed >> 16) % 5, 100));
        }
    }
    const int64_t at = t0 + 180 * MIN;
    slo_engine_advance(a.e, at);
    ASSERT_OK(slo_engine_save(a.e, NULL, 0, &ck));
    ASSERT_OK(setup(&b, y1, at));
    ASSERT_OK(slo_engine_restore(b.e, ag_buf_ptr(&ck), ck.len, at, NULL, NULL, &why));
    for (size_t i = 0; i < 2; i++) {
        struct slo_eval ea, eb;
        ASSERT_OK(slo_engine_eval(a.e, i, at + 30 * MIN, &ea));
        ASSERT_OK(slo_engine_eval(b.e, i, at + 30 * MIN, &eb));
        ASSERT_UEQ(ea.budget.good, eb.budget.good);
        ASSERT_UEQ(ea.budget.total, eb.budget.total);
        ASSERT_EQ(ea.window_start_ms, eb.window_start_ms);
        ASSERT(ea.budget.total > 0);
        slo_eval_release(&ea);
        slo_eval_release(&eb);
    }
    /* the month in Berlin began at Feb 28 23:00Z: that is what both report */
    ASSERT_OK(setup(&c, y2, at));
    ag_buf_reset(&why);
    ASSERT_EQ(slo_engine_restore(c.e, ag_buf_ptr(&ck), ck.len, at, NULL, NULL, &why), AG_EINVAL);
    teardown(&a);
    teardown(&b);
    teardown(&c);
    ag_buf_cleanup(&ck);
    ag_buf_cleanup(&ja);
    ag_buf_cleanup(&jb);
    ag_buf_cleanup(&why);
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

/* Five SLOs, one per state kind, with alerts. */
static const char five[] =
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: occ}\nspec:\n  service: s\n"
    "  objective: \"99\"\n  window: 2h\n  sli: {spans: {availability: {}}}\n  alerts:\n"
    "    - {name: page, burnRate: \"6\", longWindow: 30m, shortWindow: 5m}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: ts}\nspec:\n  service: s\n"
    "  objective: \"90\"\n  window: 2h\n  budgetingMethod: Timeslices\n"
    "  timeSlice: {period: 5m, target: \"95\"}\n  sli: {spans: {availability: {}}}\n"
    "  alerts:\n    - {name: t, burnRate: \"2\", longWindow: 30m}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: rt}\nspec:\n  service: s\n"
    "  objective: \"90\"\n  window: 1h\n  budgetingMethod: RatioTimeslices\n"
    "  timeSlice: {period: 5m}\n  sli: {spans: {availability: {}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: cal}\nspec:\n  service: s\n"
    "  objective: \"99\"\n  calendar: {unit: day, timeZone: UTC}\n"
    "  sli: {spans: {availability: {}}}\n"
    "  alerts:\n    - {name: p, burnRate: \"10\", longWindow: 1h, shortWindow: 5m}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: calts}\nspec:\n  service: s\n"
    "  objective: \"95\"\n  calendar: {unit: day, timeZone: \"+02:00\"}\n"
    "  budgetingMethod: Timeslices\n  timeSlice: {period: 10m, target: \"90\"}\n"
    "  sli: {spans: {availability: {}}}\n";

/* A deterministic stream: minute m of SLO i holds total 100 and a bad count from an LCG, with
 * bursts so that alerts move. */
static void feed_minute(struct slo_engine *e, int64_t m, uint32_t *seed)
{
    for (size_t i = 0; i < 5; i++) {
        *seed = *seed * 1103515245u + 12345u;
        uint64_t bad = (*seed >> 16) % 3;
        if ((m / 20) % 4 == 1) {
            bad += 20; /* a 20-minute burst every 80 minutes */
        }
        int64_t t = B + 20 * HOUR + m * MIN + (int64_t)((*seed >> 8) % 60000);
        ASSERT_OK(slo_engine_add(e, i, t, 100 - bad, 100));
    }
}

static void eval_json(struct slo_engine *e, int64_t at, struct ag_buf *out)
{
    struct slo_report r = {0};
    r.evals = ag_calloc(1, sizeof(*r.evals));
    ASSERT_NOT_NULL(r.evals);
    r.n_evals = 1;
    r.evals[0].at_ms = at;
    r.evals[0].slos = ag_calloc(5, sizeof(struct slo_eval));
    ASSERT_NOT_NULL(r.evals[0].slos);
    for (size_t i = 0; i < 5; i++) {
        ASSERT_OK(slo_engine_eval(e, i, at, &r.evals[0].slos[i]));
        r.evals[0].n_slos++;
    }
    ag_buf_reset(out);
    ASSERT_OK(slo_report_json(&r, out));
    slo_report_release(&r);
}

/* A run saved and restored at minute 150 (no time lost) gives, minute after minute until 400,
 * exactly the evaluations and alert changes of a run that never stopped. */
static void test_checkpoint_equivalence(void)
{
    struct fix a, b;
    struct calls ca = {0}, cb = {0};
    struct ag_buf ja, jb, ck;
    uint32_t sa = 7, sb = 7;
    ag_buf_init(&ja, 1u << 20);
    ag_buf_init(&jb, 1u << 20);
    ag_buf_init(&ck, 1u << 24);
    ASSERT_OK(setup(&a, five, B + 20 * HOUR));
    ASSERT_OK(setup(&b, five, B + 20 * HOUR));
    slo_engine_set_alert_fn(a.e, on_alert, &ca);
    slo_engine_set_alert_fn(b.e, on_alert, &cb);
    for (int64_t m = 0; m < 400; m++) {
        int64_t at = B + 20 * HOUR + (m + 1) * MIN;
        feed_minute(a.e, m, &sa);
        feed_minute(b.e, m, &sb);
        if (m == 150) {
            /* restart: save, throw the engine away, restore into a new one */
            ag_buf_reset(&ck);
            /* the agent knew the time up to just before |at|, so nothing is lost */
            slo_engine_advance(b.e, at - 1);
            ASSERT_OK(slo_engine_save(b.e, "xy", 2, &ck));
            slo_engine_free(b.e);
            b.e = NULL;
            ASSERT_OK(slo_engine_new(b.d, at, NULL, &b.e));
            slo_engine_set_alert_fn(b.e, on_alert, &cb);
            const void *x = NULL;
            size_t xl = 0;
            ASSERT_OK(slo_engine_restore(b.e, ag_buf_ptr(&ck), ck.len, at - 1, &x,
                                         &xl, NULL));
            ASSERT_UEQ(xl, 2);
            ASSERT_MEMEQ(x, "xy", 2);
        }
        eval_json(a.e, at, &ja);
        eval_json(b.e, at, &jb);
        ASSERT_STREQ(ag_buf_str(&ja), ag_buf_str(&jb));
    }
    /* the bursts moved alerts, the same number of times in both runs */
    ASSERT(ca.n >= 4);
    ASSERT_EQ(ca.n, cb.n);
    ag_buf_cleanup(&ja);
    ag_buf_cleanup(&jb);
    ag_buf_cleanup(&ck);
    teardown(&a);
    teardown(&b);
}

/*
 * A lost checkpoint (§10.1): run B restarts at minute 150 with no state (slo_engine_set_state_lost)
 * beside run A that never stopped. At minute 160 B's 2-hour Occurrences window holds only the
 * minutes 150..159 (10 x 100 events; A: 120 x 100) and says why; from minute 300 on every rolling
 * window and the UTC day that began at B + 24 h = minute 240 lie after minute 150: both runs give
 * the same JSON again, except that calts, whose +02:00 day began at 22:00Z = minute 120, still
 * warns (its counts agree: the periods before the restart count as good for B, and A judged
 * minutes 120..149, outside the bursts of minutes [100, 120) and [180, 200), good too). The
 * flag survives a checkpoint.
 */
static void test_checkpoint_lost(void)
{
    static const char lost_w[] = "no checkpoint was restored (lost or refused): the window "
                                 "restarted empty at 2025-01-01T22:30:00Z; what came before is "
                                 "not counted";
    struct fix a, b;
    struct ag_buf ja, jb, ck;
    uint32_t sa = 5, sb = 5;
    ag_buf_init(&ja, 1u << 20);
    ag_buf_init(&jb, 1u << 20);
    ag_buf_init(&ck, 1u << 24);
    ASSERT_OK(setup(&a, five, B + 20 * HOUR));
    ASSERT_OK(setup(&b, five, B + 20 * HOUR));
    for (int64_t m = 0; m < 400; m++) {
        int64_t at = B + 20 * HOUR + (m + 1) * MIN;
        if (m == 150) {
            /* the checkpoint is gone: a fresh engine at minute 150 (B + 22h30m) */
            slo_engine_free(b.e);
            b.e = NULL;
            ASSERT_OK(slo_engine_new(b.d, at - MIN, NULL, &b.e));
            slo_engine_set_state_lost(b.e);
        }
        feed_minute(a.e, m, &sa);
        feed_minute(b.e, m, &sb);
        if (m == 159) {
            struct slo_eval ea, eb;
            ASSERT_OK(slo_engine_eval(a.e, 0, at, &ea));
            ASSERT_OK(slo_engine_eval(b.e, 0, at, &eb));
            ASSERT_UEQ(ea.budget.total, 12000);
            ASSERT_UEQ(eb.budget.total, 1000);
            ASSERT(!has_warning(&ea, lost_w));
            ASSERT(has_warning(&eb, lost_w));
            slo_eval_release(&ea);
            slo_eval_release(&eb);
            /* the flag travels in the checkpoint */
            ag_buf_reset(&ck);
            ASSERT_OK(slo_engine_save(b.e, NULL, 0, &ck));
            slo_engine_free(b.e);
            b.e = NULL;
            ASSERT_OK(slo_engine_new(b.d, at, NULL, &b.e));
            ASSERT_OK(slo_engine_restore(b.e, ag_buf_ptr(&ck), ck.len, at, NULL, NULL, NULL));
            ASSERT_OK(slo_engine_eval(b.e, 0, at, &eb));
            ASSERT(has_warning(&eb, lost_w));
            slo_eval_release(&eb);
        }
        if (m >= 299) {
            eval_json(a.e, at, &ja);
            eval_json(b.e, at, &jb);
            char want[8192];
            const char *jt = ag_buf_str(&jb);
            const char *w = strstr(jt, lost_w);
            ASSERT_NOT_NULL(w);
            ASSERT(strstr(w + 1, lost_w) == NULL);                  /* calts only */
            ASSERT(strstr(jt, "\"name\":\"calts\"") < w);          /* it is the last SLO */
            /* B's JSON without the warning ("[\"...\"]" -> "[]") is A's */
            size_t pre = (size_t)(w - jt) - 1;
            ASSERT(pre + 2 < sizeof(want));
            memcpy(want, jt, pre);
            snprintf(want + pre, sizeof(want) - pre, "%s", w + strlen(lost_w) + 1);
            ASSERT_STREQ(ag_buf_str(&ja), want);
        }
    }
    ag_buf_cleanup(&ja);
    ag_buf_cleanup(&jb);
    ag_buf_cleanup(&ck);
    teardown(&a);
    teardown(&b);
}

/* Refusals: truncated, corrupt, foreign, newer, from the future; the engine is unchanged. */
static void test_checkpoint_refusals(void)
{
    struct fix f, g;
    struct ag_buf ck, before, after, why;
    uint32_t seed = 3;
    ag_buf_init(&ck, 1u << 24);
    ag_buf_init(&before, 1u << 24);
    ag_buf_init(&after, 1u << 24);
    ag_buf_init(&why, 1u << 16);
    ASSERT_OK(setup(&f, five, B + 20 * HOUR));
    for (int64_t m = 0; m < 30; m++) {
        feed_minute(f.e, m, &seed);
    }
    int64_t now = B + 21 * HOUR;
    slo_engine_advance(f.e, now);
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    /* a second engine with other data: restores must leave it as it is */
    ASSERT_OK(setup(&g, five, B + 20 * HOUR));
    ASSERT_OK(slo_engine_add(g.e, 0, B + 20 * HOUR + 5 * MIN, 1, 2));
    ASSERT_OK(slo_engine_save(g.e, NULL, 0, &before));
    uint8_t *c = ag_malloc(ck.len);
    ASSERT_NOT_NULL(c);
    memcpy(c, ag_buf_ptr(&ck), ck.len);
    ASSERT_EQ(slo_engine_restore(g.e, c, ck.len - 1, now, NULL, NULL, &why), AG_EPROTO);
    ASSERT_EQ(slo_engine_restore(g.e, c, 20, now, NULL, NULL, &why), AG_EPROTO);
    c[ck.len / 2] ^= 0x10;
    ASSERT_EQ(slo_engine_restore(g.e, c, ck.len, now, NULL, NULL, &why), AG_EPROTO);
    ASSERT_STRCONTAINS(ag_buf_str(&why), "checksum");
    c[ck.len / 2] ^= 0x10;
    c[0] = 'X';
    ASSERT_EQ(slo_engine_restore(g.e, c, ck.len, now, NULL, NULL, &why), AG_EPROTO);
    c[0] = 'O';
    c[8] = 5; /* version 5 */
    ASSERT_EQ(slo_engine_restore(g.e, c, ck.len, now, NULL, NULL, &why), AG_EUNSUPP);
    c[8] = 4;
    /* from the future: the checkpoint's clock is after the restore time */
    ASSERT_EQ(slo_engine_restore(g.e, c, ck.len, now - 1, NULL, NULL, &why), AG_EINVAL);
    /* a well-formed checkpoint whose counts were tampered with and re-checksummed: the running
     * sums no longer match the buckets */
    {
        /* header 40 bytes; SLO 0: 7 fields (56: kind, alerts, clock, start, gap start and end,
         * flags) and one alert (16: firing, last resolve) -> 112; its window: clock, layers
         * (128), then width, cap, lookbacks, open index, open start (168), then the first
         * lookback's ms (168), good (176), total (184): make total odd-one-off */
        size_t k = 184;
        c[k] ^= 0x01;
        fix_crc(c, ck.len);
        ASSERT_EQ(slo_engine_restore(g.e, c, ck.len, now, NULL, NULL, &why), AG_EPROTO);
    }
    /* foreign: another set of definitions */
    struct fix h;
    ASSERT_OK(setup(&h, occ_page, B + 20 * HOUR));
    ASSERT_EQ(slo_engine_restore(h.e, ag_buf_ptr(&ck), ck.len, now, NULL, NULL, &why),
              AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&why), "other SLO definitions");
    teardown(&h);
    ASSERT_OK(slo_engine_save(g.e, NULL, 0, &after));
    ASSERT_UEQ(before.len, after.len);
    ASSERT_MEMEQ(ag_buf_ptr(&before), ag_buf_ptr(&after), before.len);
    /* and the intact one restores, with a 30-minute gap reported */
    ASSERT_OK(slo_engine_restore(g.e, ag_buf_ptr(&ck), ck.len, now + 30 * MIN, NULL, NULL,
                                 &why));
    struct slo_eval ev;
    ASSERT_OK(slo_engine_eval(g.e, 0, now + 40 * MIN, &ev));
    ASSERT_EQ(ev.gap_ms, 30 * MIN);
    bool seen = false;
    for (size_t i = 0; i < ev.n_warnings; i++) {
        seen |= strstr(ev.warnings[i], "agent gap") != NULL;
    }
    ASSERT(seen);
    slo_eval_release(&ev);
    ag_free(c);
    ag_buf_cleanup(&ck);
    ag_buf_cleanup(&before);
    ag_buf_cleanup(&after);
    ag_buf_cleanup(&why);
    teardown(&f);
    teardown(&g);
}


/* ---- RatioTimeslices over a quarter or a year ------------------------------------------------ */

/* Whether the exact rational |r| is the non-negative |num| / |den|. */
static bool rat_is(const struct slo_rat *r, uint64_t num, uint64_t den)
{
    return !r->neg && r->num * den == (slo_u128)num * r->den;
}

/* The JSON of SLOs 0..n-1 of |e| at |at| into |out|. */
static void eval_json_n(struct slo_engine *e, size_t n, int64_t at, struct ag_buf *out)
{
    struct slo_report r = {0};
    r.evals = ag_calloc(1, sizeof(*r.evals));
    ASSERT_NOT_NULL(r.evals);
    r.n_evals = 1;
    r.evals[0].at_ms = at;
    r.evals[0].slos = ag_calloc(n, sizeof(struct slo_eval));
    ASSERT_NOT_NULL(r.evals[0].slos);
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK(slo_engine_eval(e, i, at, &r.evals[0].slos[i]));
        r.evals[0].n_slos++;
    }
    ag_buf_reset(out);
    ASSERT_OK(slo_report_json(&r, out));
    slo_report_release(&r);
}

/* Two quarter SLOs in UTC at 99 %, 1-hour slices: q (missing data good) and qi (ignore). */
static const char quarters[] =
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: q}\nspec:\n  service: s\n"
    "  objective: \"99\"\n  calendar: {unit: quarter, timeZone: UTC}\n"
    "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: 1h}\n"
    "  sli: {spans: {availability: {}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: qi}\nspec:\n  service: s\n"
    "  objective: \"99\"\n  calendar: {unit: quarter, timeZone: UTC}\n"
    "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: 1h}\n  missingData: ignore\n"
    "  sli: {spans: {availability: {}}}\n";

/*
 * A quarter in UTC (Q1 2025: 90 days = 2,160 one-hour slices, budget 0.01 x 2,160 = 21.6). The
 * ring holds 31 days of slices; older ones are folded into the accumulator.
 *   Slices: Jan 1 00:00 at 1/2 (bad 0.5), Feb 20 05:00 at 3/4 (bad 0.25).
 *   Mar 15 00:00 (day 73): the ring is [day 42, day 73): Jan 1 was folded (1,008 slices of
 *     [day 0, day 42), sum 1,007.5). q: sum 2,160 - 0.75 = 2,159.25: good 2,159, bad 1,
 *     remaining 21.6 - 0.75 = 20.85, fraction 20.85 / 21.6 = 139/144, attainment
 *     2,159.25 / 2,160 = 8,637/8,640. qi: 73 x 24 = 1,752 judged slices, 1,750 of them empty and
 *     ignored: N = 2,160 - 1,750 = 410, sum 409.25: good 409, budget 4.1, remaining 3.35,
 *     fraction 3.35 / 4.1 = 67/82.
 *   Late data at day 73: Jan 11 (folded) 0/5 is too old, not counted; Mar 2 01:00 (in the ring)
 *     1/4 is added (bad 0.75): q sum 2,158.5, good 2,158, bad 2, remaining 20.1, fraction
 *     20.1 / 21.6 = 67/72.
 *   Apr 1 01:00 (Q2: 91 days = 2,184 slices, budget 21.84): Apr 1 00:00 at 9/10 (bad 0.1);
 *     Mar 31 23:00 at 0/1 belongs to Q1: q sum 2,183.9, good 2,183, bad 1, remaining 21.74,
 *     fraction 21.74 / 21.84 = 1,087/1,092.
 *   Sep 8 00:00 (day 250, Q3 from Jul 1 = day 181: 92 days = 2,208 slices) after a jump: qi's
 *     slices [day 181, day 250) are all empty and ignored, 912 folded at once ([181, 219)) and
 *     744 in the ring: N = 2,208 - 1,656 = 552, good 552, fraction 1; q: N 2,208, all good.
 */
static void test_ratio_quarter(void)
{
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, quarters, B));
    for (size_t i = 0; i < 2; i++) {
        ASSERT_OK(slo_engine_add(f.e, i, B + 10 * MIN, 1, 2));
        ASSERT_OK(slo_engine_add(f.e, i, B + 50 * DAY + 5 * HOUR + 30 * MIN, 3, 4));
    }
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 73 * DAY, &ev));
    ASSERT_EQ(ev.window_start_ms, B);
    ASSERT_UEQ(ev.budget.total, 2160);
    ASSERT_UEQ(ev.budget.good, 2159);
    ASSERT_UEQ(ev.budget.bad, 1);
    ASSERT_UEQ(ev.budget.allowed_bad, 21); /* floor(21.6) */
    ASSERT(rat_is(&ev.budget.budget_total, 216, 10));
    ASSERT(rat_is(&ev.budget.remaining, 2085, 100));
    ASSERT(rat_is(&ev.budget.remaining_fraction, 139, 144));
    ASSERT(rat_is(&ev.budget.attainment, 8637, 8640));
    ASSERT_EQ(ev.budget.status, SLO_STATUS_OK);
    ASSERT_UEQ(ev.n_warnings, 0);
    slo_eval_release(&ev);
    /* the accumulator holds [day 0, day 42): 1,008 slices, 1,007 good and one at 1/2 */
    const struct slo_state *st = &f.e->st[0];
    ASSERT(st->fold && st->acc.has);
    ASSERT_EQ(st->acc.cs, B);
    ASSERT_EQ(st->acc.ce, B + 90 * DAY);
    ASSERT_UEQ(st->acc.r.n, 1008);
    ASSERT(st->acc.r.sum == (slo_u128)10075 * (SLO_RATIO_SCALE / 10));
    ASSERT_OK(slo_engine_eval(f.e, 1, B + 73 * DAY, &ev));
    ASSERT_UEQ(ev.budget.total, 410);
    ASSERT_UEQ(ev.budget.good, 409);
    ASSERT(rat_is(&ev.budget.budget_total, 41, 10));
    ASSERT(rat_is(&ev.budget.remaining_fraction, 67, 82));
    slo_eval_release(&ev);

    /* late data: one too old (folded), one in the ring */
    ASSERT_OK(slo_engine_add(f.e, 0, B + 10 * DAY, 0, 5));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 60 * DAY + HOUR + MIN, 1, 4));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 73 * DAY, &ev));
    ASSERT_UEQ(ev.budget.good, 2158);
    ASSERT_UEQ(ev.budget.bad, 2);
    ASSERT(rat_is(&ev.budget.remaining, 201, 10));
    ASSERT(rat_is(&ev.budget.remaining_fraction, 67, 72));
    ASSERT(has_warning(&ev, "1 late observations were added to closed buckets"));
    ASSERT(has_warning(&ev, "1 observations older than the window were not counted"));
    slo_eval_release(&ev);

    /* across the quarter boundary */
    ASSERT_OK(slo_engine_add(f.e, 0, B + 90 * DAY - 30 * MIN, 0, 1));
    ASSERT_OK(slo_engine_add(f.e, 0, B + 90 * DAY + 20 * MIN, 9, 10));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 90 * DAY + HOUR, &ev));
    ASSERT_EQ(ev.window_start_ms, B + 90 * DAY);
    ASSERT_UEQ(ev.budget.total, 2184);
    ASSERT_UEQ(ev.budget.good, 2183);
    ASSERT_UEQ(ev.budget.bad, 1);
    ASSERT(rat_is(&ev.budget.remaining, 2174, 100));
    ASSERT(rat_is(&ev.budget.remaining_fraction, 1087, 1092));
    slo_eval_release(&ev);

    /* a jump to Sep 8: slices folded one by one, then counted at once */
    ASSERT_OK(slo_engine_eval(f.e, 1, B + 250 * DAY, &ev));
    ASSERT_EQ(ev.window_start_ms, B + 181 * DAY);
    ASSERT_UEQ(ev.budget.total, 552);
    ASSERT_UEQ(ev.budget.good, 552);
    ASSERT(rat_is(&ev.budget.remaining_fraction, 1, 1));
    slo_eval_release(&ev);
    ASSERT_UEQ(f.e->st[1].acc.r.ignored, 912);
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 250 * DAY, &ev));
    ASSERT_UEQ(ev.budget.total, 2208);
    ASSERT_UEQ(ev.budget.good, 2208);
    slo_eval_release(&ev);
    teardown(&f);
}

/*
 * A year in Europe/Berlin at 99.9 %, 1-hour slices: 2025 runs from 2024-12-31T23:00Z (CET) to
 * 2025-12-31T23:00Z: 365 x 24 = 8,760 hours (the 23-hour March 30 and the 25-hour October 26
 * cancel), budget 0.001 x 8,760 = 8.76.
 *   2024-12-31T22:30Z (Dec 31 23:30 local, the year before) 0/1: not counted.
 *   2024-12-31T23:10Z (Jan 1 00:10) 1/4: bad 0.75. 2025-03-30T01:30Z (03:30 CEST, just after the
 *   change) 1/2: bad 0.5. 2025-10-26T00:30Z (02:30 CEST, before the clocks go back) 0/2: bad 1.
 *   Nov 15 00:00Z: all three folded (the ring is 31 d + 2 h): sum 8,760 - 2.25 = 8,757.75, good
 *   8,757, bad 3, remaining 8.76 - 2.25 = 6.51, fraction 6.51 / 8.76 = 217/292.
 *   2026 (from 2025-12-31T23:00Z, 8,760 h again): 2025-12-31T23:20Z at 4/5 (bad 0.2): at
 *   2026-01-01T00:00Z good 8,759, remaining 8.56, fraction 8.56 / 8.76 = 214/219.
 * A quarter in New York: Q1 2025 is [2025-01-01T05:00Z, 2025-04-01T04:00Z), 90 x 24 - 1 = 2,159
 * hours (the 23-hour March 9): budget 21.59.
 */
static void test_ratio_year_tz(void)
{
    if (!have_tzdata()) {
        return;
    }
    static const char yaml[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: y}\nspec:\n  service: s\n"
        "  objective: \"99.9\"\n  calendar: {unit: year, timeZone: Europe/Berlin}\n"
        "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: 1h}\n"
        "  sli: {spans: {availability: {}}}\n"
        "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: ny}\nspec:\n  service: s\n"
        "  objective: \"99\"\n  calendar: {unit: quarter, timeZone: America/New_York}\n"
        "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: 1h}\n"
        "  sli: {spans: {availability: {}}}\n";
    const int64_t y25 = B - HOUR, y26 = B + 365 * DAY - HOUR;
    struct fix f;
    struct slo_eval ev;
    ASSERT_OK(setup(&f, yaml, B - 4 * HOUR));
    ASSERT_OK(slo_engine_add(f.e, 0, B - 90 * MIN, 0, 1));
    ASSERT_OK(slo_engine_add(f.e, 0, B - 50 * MIN, 1, 4));
    ASSERT_OK(slo_engine_add(f.e, 0, 1743298200000ll, 1, 2)); /* 2025-03-30T01:30Z */
    ASSERT_OK(slo_engine_add(f.e, 0, 1761438600000ll, 0, 2)); /* 2025-10-26T00:30Z */
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 318 * DAY, &ev));  /* 2025-11-15T00:00Z */
    ASSERT_EQ(ev.window_start_ms, y25);
    ASSERT_UEQ(ev.budget.total, 8760);
    ASSERT_UEQ(ev.budget.good, 8757);
    ASSERT_UEQ(ev.budget.bad, 3);
    ASSERT(rat_is(&ev.budget.budget_total, 876, 100));
    ASSERT(rat_is(&ev.budget.remaining, 651, 100));
    ASSERT(rat_is(&ev.budget.remaining_fraction, 217, 292));
    ASSERT_UEQ(ev.n_warnings, 0);
    slo_eval_release(&ev);
    ASSERT_EQ(f.e->st[0].acc.cs, y25);
    ASSERT_EQ(f.e->st[0].acc.ce, y26);
    ASSERT_OK(slo_engine_add(f.e, 0, y26 + 20 * MIN, 4, 5));
    ASSERT_OK(slo_engine_eval(f.e, 0, B + 365 * DAY, &ev));
    ASSERT_EQ(ev.window_start_ms, y26);
    ASSERT_UEQ(ev.budget.total, 8760);
    ASSERT_UEQ(ev.budget.good, 8759);
    ASSERT(rat_is(&ev.budget.remaining, 856, 100));
    ASSERT(rat_is(&ev.budget.remaining_fraction, 214, 219));
    slo_eval_release(&ev);
    ASSERT_OK(slo_engine_eval(f.e, 1, B + 60 * DAY, &ev));
    ASSERT_EQ(ev.window_start_ms, B + 5 * HOUR);
    ASSERT_UEQ(ev.budget.total, 2159);
    ASSERT(rat_is(&ev.budget.budget_total, 2159, 100));
    slo_eval_release(&ev);
    teardown(&f);
}

/* A quarter (UTC, with a burn-rate alert) and a year (Berlin, 30-minute slices, missing data
 * bad) fed one observation an hour for 100 days (across Apr 1); run B is saved and restored on
 * day 45, when both have folded two weeks of slices, and evaluates every 6 hours exactly as run
 * A, which never stopped: the same JSON, the same alert changes. */
static void test_ratio_quarter_checkpoint(void)
{
    if (!have_tzdata()) {
        return;
    }
    static const char yaml[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: q}\nspec:\n  service: s\n"
        "  objective: \"99\"\n  calendar: {unit: quarter, timeZone: UTC}\n"
        "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: 1h}\n"
        "  sli: {spans: {availability: {}}}\n  alerts:\n"
        "    - {name: page, burnRate: \"2\", longWindow: 6h, shortWindow: 1h}\n"
        "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: y}\nspec:\n  service: s\n"
        "  objective: \"90\"\n  calendar: {unit: year, timeZone: Europe/Berlin}\n"
        "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: 30m}\n  missingData: bad\n"
        "  sli: {spans: {availability: {}}}\n";
    struct fix a, b;
    struct calls ca = {0}, cb = {0};
    struct ag_buf ja, jb, ck;
    ag_buf_init(&ja, 1u << 20);
    ag_buf_init(&jb, 1u << 20);
    ag_buf_init(&ck, 1u << 24);
    ASSERT_OK(setup(&a, yaml, B));
    ASSERT_OK(setup(&b, yaml, B));
    slo_engine_set_alert_fn(a.e, on_alert, &ca);
    slo_engine_set_alert_fn(b.e, on_alert, &cb);
    uint32_t seed = 5;
    for (int64_t h = 0; h < 100 * 24; h++) {
        seed = seed * 1103515245u + 12345u;
        uint64_t bad = (seed >> 16) % 4 == 0 ? (seed >> 8) % 7 : 0;
        if ((h / 24) % 10 == 3) {
            bad = 5; /* a bad day every 10 days: the alert fires and resolves */
        }
        for (size_t i = 0; i < 2; i++) {
            int64_t t = B + h * HOUR + (int64_t)((seed >> 4) % 3600) * 1000;
            ASSERT_OK(slo_engine_add(a.e, i, t, 20 - bad, 20));
            ASSERT_OK(slo_engine_add(b.e, i, t, 20 - bad, 20));
        }
        int64_t at = B + (h + 1) * HOUR;
        if (h == 45 * 24) {
            ASSERT(b.e->st[0].acc.r.n > 300 && b.e->st[1].acc.r.n > 600);
            ag_buf_reset(&ck);
            slo_engine_advance(b.e, at - 1);
            ASSERT_OK(slo_engine_save(b.e, NULL, 0, &ck));
            slo_engine_free(b.e);
            b.e = NULL;
            ASSERT_OK(slo_engine_new(b.d, at, NULL, &b.e));
            slo_engine_set_alert_fn(b.e, on_alert, &cb);
            ASSERT_OK(slo_engine_restore(b.e, ag_buf_ptr(&ck), ck.len, at - 1, NULL, NULL,
                                         NULL));
            ASSERT_UEQ(b.e->st[0].acc.r.n, a.e->st[0].acc.r.n);
        }
        if (h % 6 == 5) {
            eval_json_n(a.e, 2, at, &ja);
            eval_json_n(b.e, 2, at, &jb);
            ASSERT_STREQ(ag_buf_str(&ja), ag_buf_str(&jb));
        }
    }
    ASSERT(ca.n >= 4);
    ASSERT_EQ(ca.n, cb.n);
    /* a checkpoint whose accumulator claims more slices than the period had before the ring
     * is refused (the CRC recomputed, so only the accumulator's check catches it) */
    ag_buf_reset(&ck);
    ASSERT_OK(slo_engine_save(a.e, NULL, 0, &ck));
    struct fix c;
    ASSERT_OK(setup(&c, yaml, B + 100 * DAY));
    ASSERT_OK(slo_engine_restore(c.e, ag_buf_ptr(&ck), ck.len, B + 100 * DAY, NULL, NULL,
                                 NULL));
    uint8_t *raw = (uint8_t *)ag_buf_ptr(&ck);
    /* find q's accumulator: has = 1, cs, ce, sum (2 x 8 bytes), n. At day 100 the ring holds
     * [day 69, day 100): the accumulator is Q1's, [day 0, day 69): 69 x 24 = 1,656 slices, all
     * the room Q1 has before the ring */
    size_t at_acc = find_pair(raw, ck.len, (uint64_t)B, (uint64_t)(B + 90 * DAY));
    ASSERT(at_acc > 0);
    ASSERT_UEQ(a.e->st[0].acc.r.n, 1656);
    ASSERT(raw[at_acc + 32] == 0x78 && raw[at_acc + 33] == 0x06); /* 1,656 = 0x678 */
    raw[at_acc + 32] = 0x79; /* n = 1,657: one slice more than Q1 had before the ring */
    fix_crc(raw, ck.len);
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    ASSERT_EQ(slo_engine_restore(c.e, ag_buf_ptr(&ck), ck.len, B + 100 * DAY, NULL, NULL, &why),
              AG_EPROTO);
    ASSERT_STRCONTAINS(ag_buf_str(&why), "malformed state");
    ag_buf_cleanup(&why);
    teardown(&c);
    ag_buf_cleanup(&ja);
    ag_buf_cleanup(&jb);
    ag_buf_cleanup(&ck);
    teardown(&a);
    teardown(&b);
}

/*
 * Rolling Timeslices over 30 days of 1-minute periods (issue 5: 43,200 periods in 2-bit cells,
 * 10,800 bytes), objective 99.9 %, slice target 95 %, page on 1h/5m above 14.4. Periods with no
 * data count as good (the default policy); five periods hold 90 of 100 (< 95 %: bad), at
 * minutes 0, 15,120 (day 10, 12:00), 43,170 (T - 30m), 43,197 and 43,198 (T - 3m, T - 2m), with
 * T = B + 30 d = minute 43,200.
 *   At T: N = 43,200, bad 5; budget 0.001 x 43,200 = 43.2 periods, remaining 38.2, fraction
 *   38.2 / 43.2 = 0.88426 (OK). Burn 5m: periods T-5m..T-1m hold 2 bad of 5: 0.4 / 0.001 = 400;
 *   1h: 3 bad of 60: 0.05 / 0.001 = 50; both > 14.4: the page fires. Time to exhaustion over
 *   1h: 38.2 / 43.2 x 2,592,000 s / 50 = 38.2 x 1,200 = 45,840 s.
 *   Burn-down: 43,200 periods in steps of (43,200 + 62) / 63 = 686 periods: point k at
 *   B + 686k min (k < 63), the last at T. Minute 0 is in the first step: point 1 = 1 - 1/43.2 =
 *   42.2 / 43.2; minute 15,120 is in [22 x 686, 23 x 686) = [15,092, 15,778): point 22 still
 *   42.2 / 43.2, point 23 41.2 / 43.2; point 62 (minute 42,532) 41.2 / 43.2, point 63 (T)
 *   38.2 / 43.2.
 *   At T + 30 s (mid-period): the whole periods of [T + 30s - 30d, T + 30s) leave minute 0 out:
 *   N = 43,199, bad 4. Burn 5m: [T-4m, T): 2 of 4 = 500; 1h: 3 of 59: 3 / 59 / 0.001 = 3000 / 59.
 * A checkpoint at T restores into an engine whose JSON equals the original's at T and T + 30 s.
 */
static const char slices_30d_1m[] = "apiVersion: otter/v1\n"
                                    "kind: SLO\n"
                                    "metadata: {name: ts30}\n"
                                    "spec:\n"
                                    "  service: shop\n"
                                    "  objective: \"99.9\"\n"
                                    "  window: 30d\n"
                                    "  budgetingMethod: Timeslices\n"
                                    "  timeSlice: {period: 1m, target: \"95\"}\n"
                                    "  sli: {spans: {availability: {}}}\n"
                                    "  alerts:\n"
                                    "    - {name: page, burnRate: \"14.4\", longWindow: 1h, "
                                    "shortWindow: 5m}\n";

static void test_slices_30d_1m(void)
{
    struct fix f, g;
    struct slo_eval ev;
    const int64_t T = B + 30 * DAY;
    const int64_t bad_min[] = {0, 15120, 43170, 43197, 43198};
    ASSERT_OK(setup(&f, slices_30d_1m, B));
    for (size_t i = 0; i < sizeof(bad_min) / sizeof(bad_min[0]); i++) {
        ASSERT_OK(slo_engine_add(f.e, 0, B + bad_min[i] * MIN + 30000, 90, 100));
    }
    ASSERT_OK(slo_engine_eval(f.e, 0, T, &ev));
    ASSERT(ev.periods);
    ASSERT_EQ(ev.window_start_ms, B);
    ASSERT_EQ(ev.window_end_ms, T);
    ASSERT_UEQ(ev.budget.total, 43200);
    ASSERT_UEQ(ev.budget.bad, 5);
    ASSERT_UEQ(ev.budget.allowed_bad, 43); /* floor(43.2) */
    ASSERT(ev.budget.met);
    ASSERT_EQ(ev.budget.status, SLO_STATUS_OK);
    ASSERT(fabs(dbl(&ev.budget.budget_total) - 43.2) < 1e-9);
    ASSERT(fabs(dbl(&ev.budget.remaining) - 38.2) < 1e-9);
    ASSERT(fabs(dbl(&ev.budget.remaining_fraction) - 38.2 / 43.2) < 1e-12);
    ASSERT_UEQ(ev.n_burns, 2);
    ASSERT_UEQ(ev.burns[0].lookback_ms, 5 * MIN);
    ASSERT(ev.burns[0].burn.has_data);
    ASSERT(fabs(dbl(&ev.burns[0].burn.rate) - 400.0) < 1e-9);
    ASSERT_UEQ(ev.burns[1].lookback_ms, HOUR);
    ASSERT(fabs(dbl(&ev.burns[1].burn.rate) - 50.0) < 1e-9);
    ASSERT(ev.alerts[0].firing);
    ASSERT(!ev.tte_null);
    ASSERT(fabs(ev.tte_seconds - 45840.0) < 1e-6);
    ASSERT_UEQ(ev.n_burndown, 64);
    ASSERT_EQ(ev.burndown[1].t_ms, B + 686 * MIN);
    ASSERT(fabs(ev.burndown[1].remaining_fraction - 42.2 / 43.2) < 1e-12);
    ASSERT_EQ(ev.burndown[22].t_ms, B + 22 * 686 * MIN);
    ASSERT(fabs(ev.burndown[22].remaining_fraction - 42.2 / 43.2) < 1e-12);
    ASSERT(fabs(ev.burndown[23].remaining_fraction - 41.2 / 43.2) < 1e-12);
    ASSERT_EQ(ev.burndown[62].t_ms, B + 62 * 686 * MIN);
    ASSERT(fabs(ev.burndown[62].remaining_fraction - 41.2 / 43.2) < 1e-12);
    ASSERT_EQ(ev.burndown[63].t_ms, T);
    ASSERT(fabs(ev.burndown[63].remaining_fraction - 38.2 / 43.2) < 1e-12);
    slo_eval_release(&ev);

    /* a checkpoint at T, restored into a fresh engine: the same answers (JSON) at T and T+30s */
    struct ag_buf ck, ja, jb;
    ag_buf_init(&ck, 1u << 24);
    ag_buf_init(&ja, 1u << 20);
    ag_buf_init(&jb, 1u << 20);
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    ASSERT_OK(setup(&g, slices_30d_1m, T));
    ASSERT_OK(slo_engine_restore(g.e, ag_buf_ptr(&ck), ck.len, T, NULL, NULL, NULL));
    eval_json_n(f.e, 1, T, &ja);
    eval_json_n(g.e, 1, T, &jb);
    ASSERT_STREQ(ag_buf_str(&ja), ag_buf_str(&jb));

    ASSERT_OK(slo_engine_eval(f.e, 0, T + 30000, &ev));
    ASSERT_UEQ(ev.budget.total, 43199);
    ASSERT_UEQ(ev.budget.bad, 4);
    ASSERT(fabs(dbl(&ev.burns[0].burn.rate) - 500.0) < 1e-9);
    ASSERT(fabs(dbl(&ev.burns[1].burn.rate) - 3000.0 / 59) < 1e-9);
    slo_eval_release(&ev);
    eval_json_n(f.e, 1, T + 30000, &ja);
    eval_json_n(g.e, 1, T + 30000, &jb);
    ASSERT_STREQ(ag_buf_str(&ja), ag_buf_str(&jb));
    ag_buf_cleanup(&ck);
    ag_buf_cleanup(&ja);
    ag_buf_cleanup(&jb);
    teardown(&f);
    teardown(&g);
}

/*
 * Rolling RatioTimeslices of 1-minute periods over 30 days: 43,200 pairs of 8 bytes do not fit
 * 128 KiB, so the engine keeps the alert windows' periods (5m, 1h: a 1-hour ring, 61 x 8
 * bytes) and folds older ones into groups of 4 minutes (2 minutes: 21,601 x 10 bytes, 3:
 * 14,401 x 10, both over the cap; 4: 10,801 x 10 = 108,010). Five periods at 90 / 100 (each
 * 0.1 bad) at minutes 0, 15120, 43170, 43197, 43198. The window at T holds the periods of
 * [ceil(T - 30 d, 4 min), T).
 *   T = B + 30 d: [B, T), N = 43,200, bad 0.5; budget 0.001 x 43,200 = 43.2, remaining 42.7;
 *     5m: minutes 43195-43199, 0.2 bad of 5: 0.04 / 0.001 = burn 40; 1h: 43140-43199, 0.3 of
 *     60: burn 5 (no page: 14.4); time to exhaustion (42.7 / 43.2) x 2,592,000 s / 5 = 512,400 s.
 *   T + 30 s: [B + 4m, T), N = 43,196, bad 0.4 (minute 0 left with its group).
 *   T + 15119 min: [B + 15120m, T + 15119m), N = 43,199, bad 0.4 (15120 still in).
 *   T + 15122 min: [B + 15124m, T + 15122m), N = 43,198, bad 0.3.
 * A checkpoint at T restored into a fresh engine answers the same at each instant; one whose
 * group claims 5 periods (of 4) is refused.
 */
static const char ratio_30d_1m[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: rt30}\n"
                                   "spec:\n  service: shop\n  objective: \"99.9\"\n"
                                   "  window: 30d\n  budgetingMethod: RatioTimeslices\n"
                                   "  timeSlice: {period: 1m}\n"
                                   "  sli: {spans: {availability: {}}}\n  alerts:\n"
                                   "    - {name: page, burnRate: \"14.4\", longWindow: 1h, "
                                   "shortWindow: 5m}\n";

static void ratio_check(struct slo_engine *e, int64_t at, uint64_t n, uint64_t bad_tenths,
                        int64_t ws)
{
    struct slo_eval ev;
    ASSERT_OK(slo_engine_eval(e, 0, at, &ev));
    ASSERT_EQ(ev.window_start_ms, ws);
    ASSERT_UEQ(ev.budget.total, n);
    /* remaining = n / 1000 - bad / 10 = (n - 100 bad) / 1000 */
    ASSERT(rat_is(&ev.budget.remaining, n - 100 * bad_tenths, 1000));
    ASSERT_UEQ(ev.budget.bad, bad_tenths > 0 ? 1 : 0);
    slo_eval_release(&ev);
}

static void test_ratio_30d_1m(void)
{
    struct fix f, g;
    struct slo_eval ev;
    const int64_t T = B + 30 * DAY;
    const int64_t bad_min[] = {0, 15120, 43170, 43197, 43198};
    ASSERT_OK(setup(&f, ratio_30d_1m, B));
    ASSERT(slo_engine_slo_bytes(f.e, 0) <= 131072);
    ASSERT_NOT_NULL(f.e->st[0].grp);
    ASSERT_UEQ(slo_groups_width(f.e->st[0].grp), 4 * MIN);
    for (size_t i = 0; i < sizeof(bad_min) / sizeof(bad_min[0]); i++) {
        ASSERT_OK(slo_engine_add(f.e, 0, B + bad_min[i] * MIN + 30000, 90, 100));
    }
    ASSERT_OK(slo_engine_eval(f.e, 0, T, &ev));
    ASSERT_EQ(ev.window_start_ms, B);
    ASSERT_EQ(ev.window_end_ms, T);
    ASSERT_UEQ(ev.budget.total, 43200);
    ASSERT_UEQ(ev.budget.good, 43199); /* floor(43,199.5) */
    ASSERT(rat_is(&ev.budget.budget_total, 432, 10));
    ASSERT(rat_is(&ev.budget.remaining, 427, 10));
    ASSERT(rat_is(&ev.budget.remaining_fraction, 427, 432));
    ASSERT_EQ(ev.budget.status, SLO_STATUS_OK);
    ASSERT_UEQ(ev.n_burns, 2);
    ASSERT(rat_is(&ev.burns[0].burn.rate, 40, 1));
    ASSERT(rat_is(&ev.burns[1].burn.rate, 5, 1));
    ASSERT(!ev.alerts[0].firing);
    ASSERT(!ev.tte_null);
    ASSERT(fabs(ev.tte_seconds - 512400.0) < 1e-6);
    slo_eval_release(&ev);
    ratio_check(f.e, T + 30000, 43196, 4, B + 4 * MIN);

    struct ag_buf ck, ja, jb;
    ag_buf_init(&ck, 1u << 24);
    ag_buf_init(&ja, 1u << 20);
    ag_buf_init(&jb, 1u << 20);
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    ASSERT_OK(setup(&g, ratio_30d_1m, T + 30000));
    ASSERT_OK(slo_engine_restore(g.e, ag_buf_ptr(&ck), ck.len, T + 30000, NULL, NULL, NULL));
    /* in time order: an evaluation reads the rings at the engine's clock */
    const int64_t ats[] = {T + 30000, T + 15119 * MIN, T + 15122 * MIN};
    for (size_t i = 0; i < 3; i++) {
        eval_json_n(f.e, 1, ats[i], &ja);
        eval_json_n(g.e, 1, ats[i], &jb);
        ASSERT_STREQ(ag_buf_str(&ja), ag_buf_str(&jb));
        if (i == 1) {
            ratio_check(g.e, ats[i], 43199, 4, B + 15120 * MIN);
        } else if (i == 2) {
            ratio_check(g.e, ats[i], 43198, 3, B + 15124 * MIN);
        }
    }

    /* the checkpoint's groups: width 240,000, cap 10,801, last, then (sum, n | inexact << 8)
     * per slot; minute 15120's group (slot 3,780) holds 4 periods, one at 0.9: claiming 5 is
     * refused (the CRC recomputed, so only the groups' check catches it) */
    uint8_t *raw = (uint8_t *)ag_buf_ptr(&ck);
    size_t at_grp = find_pair(raw, ck.len, 4 * MIN, 10801);
    ASSERT(at_grp > 0);
    size_t slot = at_grp + 24 + (size_t)((B / MIN + 15120) / 4 % 10801) * 16;
    ASSERT_UEQ(raw[slot + 8], 4);
    raw[slot + 8] = 5;
    fix_crc(raw, ck.len);
    struct fix h;
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    ASSERT_OK(setup(&h, ratio_30d_1m, T + 30000));
    ASSERT_EQ(slo_engine_restore(h.e, ag_buf_ptr(&ck), ck.len, T + 30000, NULL, NULL, &why),
              AG_EPROTO);
    ASSERT_STRCONTAINS(ag_buf_str(&why), "malformed state");
    ag_buf_cleanup(&why);
    teardown(&h);
    ag_buf_cleanup(&ck);
    ag_buf_cleanup(&ja);
    ag_buf_cleanup(&jb);
    teardown(&f);
    teardown(&g);

    /* 90 days with the SRE Workbook's alert windows (5m, 30m, 1h, 2h, 6h, 1d, 3d): a 3-day
     * ring (4,321 x 8 = 34,568 bytes) and groups of 15 minutes (8,641 x 10 = 86,410; 13
     * minutes do not divide 90 days' 129,600 minutes, 14 neither, and 12 need 108,010), so the
     * window's old edge moves in 15-minute steps */
    static const char ratio_90d[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: rt90}\nspec:\n  service: shop\n"
        "  objective: \"99.9\"\n  window: 90d\n  budgetingMethod: RatioTimeslices\n"
        "  timeSlice: {period: 1m}\n  sli: {spans: {availability: {}}}\n  alerts:\n"
        "    - {name: a, burnRate: \"14.4\", longWindow: 1h, shortWindow: 5m}\n"
        "    - {name: b, burnRate: \"6\", longWindow: 6h, shortWindow: 30m}\n"
        "    - {name: c, burnRate: \"3\", longWindow: 1d, shortWindow: 2h}\n"
        "    - {name: d, burnRate: \"1\", longWindow: 3d, shortWindow: 6h}\n";
    ASSERT_OK(setup(&f, ratio_90d, B));
    ASSERT(slo_engine_slo_bytes(f.e, 0) <= 131072);
    ASSERT_UEQ(slo_groups_width(f.e->st[0].grp), 15 * MIN);
    ASSERT_UEQ(f.e->st[0].ring_ms, 3 * DAY);
    ASSERT_OK(slo_engine_add(f.e, 0, B + 10 * MIN, 1, 2));
    ratio_check(f.e, B + 90 * DAY, 90 * 1440, 5, B);
    ratio_check(f.e, B + 90 * DAY + 7 * MIN, 90 * 1440 - 8, 0, B + 15 * MIN);
    teardown(&f);
}

/*
 * A checkpoint of format version 2 kept a Timeslices SLO's judged periods as a slo_window of
 * u32 pairs: it is still read (converted to 2-bit verdicts). slices_2h (no alerts: one lookback,
 * the 1 h of the time to exhaustion) with periods 3 and 10 bad, saved at B + 2h in version 4:
 * header 40 bytes, the SLO's 7 fields (56), the slices' next start, pending count (2), head,
 * 2 pending pairs, 4 stats, calendar flag (96): the verdicts start at byte 192 (end, cells, then
 * 24 / 4 = 6 bytes of cells: 22 bytes), then the extra length and the CRC: 230 bytes. The
 * version 2 copy replaces the 22 bytes with a slo_window of the same configuration fed the same
 * verdicts (as slo_slices did then), version 2, a new CRC; restored, it gives the same JSON as
 * the engine that wrote it, and a window bucket holding 2 periods is refused.
 */
static void test_checkpoint_v2_slices(void)
{
    struct fix f, g;
    struct ag_buf ck, v2, ja, jb;
    ag_buf_init(&ck, 1u << 20);
    ag_buf_init(&v2, 1u << 20);
    ag_buf_init(&ja, 1u << 20);
    ag_buf_init(&jb, 1u << 20);
    ASSERT_OK(setup(&f, slices_2h, B));
    for (int i = 0; i < 24; i++) {
        bool bad = i == 3 || i == 10;
        ASSERT_OK(slo_engine_add(f.e, 0, B + i * 5 * MIN + MIN, bad ? 98 : 100, 100));
    }
    slo_engine_advance(f.e, B + 2 * HOUR);
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    ASSERT_UEQ(ck.len, 230);
    const uint8_t *p = ag_buf_ptr(&ck);
    ASSERT_UEQ(p[8], 4); /* version 4: a rolling Timeslices SLO as in version 3 */
    for (int bucket_total = 1; bucket_total <= 2; bucket_total++) {
        uint64_t lbs[] = {HOUR};
        struct slo_window_config wc = {2 * HOUR, lbs, 1, 0, 5 * MIN};
        struct slo_window *w = NULL;
        ASSERT_OK(slo_window_new(&wc, B, &w));
        for (int i = 0; i < 24; i++) {
            bool bad = i == 3 || i == 10;
            int k = i == 5 ? bucket_total : 1; /* 2: a corrupt bucket */
            ASSERT_OK(slo_window_add(w, B + i * 5 * MIN, bad ? 0 : (uint64_t)k, (uint64_t)k));
            slo_window_advance(w, B + (i + 1) * 5 * MIN);
        }
        ag_buf_reset(&v2);
        ASSERT_OK(ag_buf_add(&v2, p, 192));
        struct slo_wr wr = {&v2, 0};
        slo_window_save(w, &wr);
        ASSERT_OK(wr.err);
        slo_window_free(w);
        ASSERT_OK(ag_buf_add(&v2, p + 214, 8)); /* extra length 0 */
        uint8_t *q = (uint8_t *)ag_buf_ptr(&v2);
        q[8] = 2;
        uint32_t crc = slo_eval_crc32c(q, v2.len);
        uint8_t tail[8];
        for (int i = 0; i < 8; i++) {
            tail[i] = (uint8_t)((uint64_t)crc >> (8 * i));
        }
        ASSERT_OK(ag_buf_add(&v2, tail, 8));
        ASSERT_OK(setup(&g, slices_2h, B + 2 * HOUR));
        int rc = slo_engine_restore(g.e, ag_buf_ptr(&v2), v2.len, B + 2 * HOUR, NULL, NULL,
                                    NULL);
        if (bucket_total == 1) {
            ASSERT_OK(rc);
            eval_json_n(f.e, 1, B + 2 * HOUR, &ja);
            eval_json_n(g.e, 1, B + 2 * HOUR, &jb);
            ASSERT_STREQ(ag_buf_str(&ja), ag_buf_str(&jb));
            ASSERT_STRCONTAINS(ag_buf_str(&jb), "\"bad\":2");
        } else {
            ASSERT_EQ(rc, AG_EPROTO);
        }
        teardown(&g);
    }
    ag_buf_cleanup(&ck);
    ag_buf_cleanup(&v2);
    ag_buf_cleanup(&ja);
    ag_buf_cleanup(&jb);
    teardown(&f);
}

/* Every allocation of new, restore and eval may fail: AG_ENOMEM each time, nothing leaked (the
 * sanitizer build checks), then success. */
static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct fix f;
    struct ag_buf ck;
    uint32_t seed = 11;
    ag_buf_init(&ck, 1u << 24);
    ASSERT_OK(setup(&f, five, B + 20 * HOUR));
    for (int64_t m = 0; m < 60; m++) {
        feed_minute(f.e, m, &seed);
    }
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    long n;
    for (n = 0;; n++) {
        struct slo_engine *e = NULL;
        ag_mem_fail_after(n);
        int rc = slo_engine_new(f.d, B, NULL, &e);
        if (rc == 0) {
            rc = slo_engine_restore(e, ag_buf_ptr(&ck), ck.len, B + 22 * HOUR, NULL, NULL, NULL);
        }
        for (size_t i = 0; i < 5 && rc == 0; i++) {
            struct slo_eval ev;
            rc = slo_engine_eval(e, i, B + 22 * HOUR, &ev);
            slo_eval_release(&ev);
        }
        ag_mem_fail_after(-1);
        slo_engine_free(e);
        if (rc == 0) {
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT(n < 1000);
    }
    ASSERT(n > 20); /* five states, a scratch engine, evaluations: many allocations */
    printf("# %ld allocations\n", n);
    teardown(&f);
    /* the same with a budgetDrop ring (its header and samples, in the scratch engine too) */
    ck.len = 0;
    ASSERT_OK(setup(&f, drop_yaml, B));
    ASSERT_OK(slo_engine_add(f.e, 0, B, 9980, 10000));
    ASSERT_OK(slo_engine_save(f.e, NULL, 0, &ck));
    for (n = 0;; n++) {
        struct slo_engine *e = NULL;
        ag_mem_fail_after(n);
        int rc = slo_engine_new(f.d, B, NULL, &e);
        if (rc == 0) {
            rc = slo_engine_restore(e, ag_buf_ptr(&ck), ck.len, B + 10 * MIN, NULL, NULL, NULL);
        }
        struct slo_eval ev;
        if (rc == 0) {
            rc = slo_engine_eval(e, 0, B + 10 * MIN, &ev);
            if (rc == 0) {
                /* 20 bad of 10,000 at 99 %: cf = 20 / (0.01 x 10,000) = 0.2; the reference
                 * (B-50m) is before the start: 0; 0.2 > 0.1 */
                ASSERT(ev.alerts[0].firing);
            }
            slo_eval_release(&ev);
        }
        ag_mem_fail_after(-1);
        slo_engine_free(e);
        if (rc == 0) {
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT(n < 1000);
    }
    ASSERT(n > 4);
    ag_buf_cleanup(&ck);
    teardown(&f);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_brief_2h), AG_TEST_CASE(test_brief_1h),
             AG_TEST_CASE(test_occurrences_on_budget), AG_TEST_CASE(test_burst_page),
             AG_TEST_CASE(test_no_traffic), AG_TEST_CASE(test_calendar_day),
             AG_TEST_CASE(test_calendar_burndown), AG_TEST_CASE(test_tz_calendar_month),
             AG_TEST_CASE(test_tz_calendar_timeslices), AG_TEST_CASE(test_tz_checkpoint),
             AG_TEST_CASE(test_budget_alert), AG_TEST_CASE(test_tte_alert),
             AG_TEST_CASE(test_cool_down), AG_TEST_CASE(test_budget_drop),
             AG_TEST_CASE(test_budget_drop_no_data), AG_TEST_CASE(test_slice_grace),
             AG_TEST_CASE(test_checkpoint_lost), AG_TEST_CASE(test_checkpoint_v1),
             AG_TEST_CASE(test_calendar_timeslices), AG_TEST_CASE(test_min_events),
             AG_TEST_CASE(test_three_methods), AG_TEST_CASE(test_ratio_exact_tie),
             AG_TEST_CASE(test_json), AG_TEST_CASE(test_rat_double), AG_TEST_CASE(test_rfc3339),
             AG_TEST_CASE(test_window_range), AG_TEST_CASE(test_errors),
             AG_TEST_CASE(test_checkpoint_equivalence), AG_TEST_CASE(test_checkpoint_refusals),
             AG_TEST_CASE(test_ratio_quarter), AG_TEST_CASE(test_ratio_year_tz),
             AG_TEST_CASE(test_ratio_quarter_checkpoint), AG_TEST_CASE(test_slices_30d_1m),
             AG_TEST_CASE(test_ratio_30d_1m), AG_TEST_CASE(test_checkpoint_v2_slices),
             AG_TEST_CASE(test_failmalloc))
