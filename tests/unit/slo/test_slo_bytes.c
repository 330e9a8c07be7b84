/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the engine's memory accounting (slo_engine_slo_bytes, slo_engine_bytes,
 * slo_slices_bytes): issue 5's bound of 128 KiB per 30-day SLO. The ring sizes are worked out by
 * hand from the layouts slo_window.h documents; the fixed structs around them (the window object
 * with its lookback table, the SLO's state) may add at most a few KiB.
 */
#include <unistd.h>

#include "ag_test.h"
#include "slo_eval.h"
#include "slo_slices.h"
#include "slo_tz.h"

#define B 1735689600000ll /* 2025-01-01T00:00:00Z */
#define FIXED_MAX 4096u   /* object headers, lookback tables, alert states */

/* Four SLOs: 30-day Occurrences with the default alerts, 30-day Timeslices (5 min), 1-day
 * Occurrences without alerts, 90-day Occurrences with the default alerts. */
static const char four[] = "apiVersion: otter/v1\n"
                           "kind: SLO\n"
                           "metadata: {name: occ30}\n"
                           "spec:\n"
                           "  service: shop\n"
                           "  objective: \"99.9\"\n"
                           "  window: 30d\n"
                           "  sli: {spans: {availability: {}}}\n"
                           "  alerts: defaults\n"
                           "---\n"
                           "apiVersion: otter/v1\n"
                           "kind: SLO\n"
                           "metadata: {name: slices30}\n"
                           "spec:\n"
                           "  service: shop\n"
                           "  objective: \"99\"\n"
                           "  window: 30d\n"
                           "  budgetingMethod: Timeslices\n"
                           "  timeSlice: {period: 5m, target: \"95\"}\n"
                           "  sli: {spans: {latency: {threshold: 300ms}}}\n"
                           "  alerts: defaults\n"
                           "---\n"
                           "apiVersion: otter/v1\n"
                           "kind: SLO\n"
                           "metadata: {name: occ1}\n"
                           "spec:\n"
                           "  service: shop\n"
                           "  objective: \"99\"\n"
                           "  window: 1d\n"
                           "  sli: {spans: {availability: {}}}\n"
                           "---\n"
                           "apiVersion: otter/v1\n"
                           "kind: SLO\n"
                           "metadata: {name: occ90}\n"
                           "spec:\n"
                           "  service: shop\n"
                           "  objective: \"99.9\"\n"
                           "  window: 90d\n"
                           "  sli: {spans: {availability: {}}}\n"
                           "  alerts: defaults\n";

/* The definitions of |yaml| and an engine over them at B (zones through the system's tzdata). */
struct fx {
    struct ag_buf diag;
    struct slo_defs *d;
    struct slo_engine *e;
};

static void fx_open(struct fx *f, const char *yaml, size_t len)
{
    f->d = NULL;
    f->e = NULL;
    ag_buf_init(&f->diag, 1u << 20);
    ASSERT_OK(slo_defs_new(&f->diag, &f->d));
    slo_defs_set_tz_loader(f->d, slo_tz_load_system, NULL);
    ASSERT_OK(slo_defs_add(f->d, "t.yaml", yaml, len));
    ASSERT_OK(slo_defs_finish(f->d));
    ASSERT_OK(slo_engine_new(f->d, B, &f->diag, &f->e));
}

static void fx_close(struct fx *f)
{
    slo_engine_free(f->e);
    slo_defs_free(f->d);
    ag_buf_cleanup(&f->diag);
}

static void test_bytes(void)
{
    struct fx f;
    fx_open(&f, four, sizeof(four) - 1);
    struct slo_engine *e = f.e;

    /* occ30: defaults for 30 d are 1h/5m, 6h/30m, 1d/2h, 3d/6h: a 1-minute ring over the
     * longest lookback up to 3 days (3 x 1440 + 1 = 4,321 buckets) and a 5-minute ring over 30 d
     * (30 x 288 + 1 = 8,641), 8 bytes each: (4,321 + 8,641) x 8 = 103,696 bytes. */
    size_t occ30 = slo_engine_slo_bytes(e, 0);
    ASSERT(occ30 >= 103696u);
    ASSERT(occ30 <= 103696u + FIXED_MAX);
    ASSERT(occ30 <= 128u * 1024u);
    /* slices30: one ring of 2-bit verdicts per 5-minute period over 30 d: 30 x 288 = 8,640
     * cells, 8,640 / 4 = 2,160 bytes. */
    size_t sl30 = slo_engine_slo_bytes(e, 1);
    ASSERT(sl30 >= 2160u);
    ASSERT(sl30 <= 2160u + FIXED_MAX);
    /* occ1: one 1-minute ring over a day: 1,441 x 8 = 11,528 bytes. */
    size_t occ1 = slo_engine_slo_bytes(e, 2);
    ASSERT(occ1 >= 11528u);
    ASSERT(occ1 <= 11528u + FIXED_MAX);
    /* occ90: the 1-minute ring over 3 d (34,568 bytes) and the finest coarse ring that fits
     * 128 KiB: 5 min needs 25,921 x 8 = 207,368 (too big), 10 min 12,961 x 8 = 103,688 (with
     * the fine ring 138,256: too big), 15 min 8,641 x 8 = 69,128: 34,568 + 69,128 = 103,696. */
    size_t occ90 = slo_engine_slo_bytes(e, 3);
    ASSERT(occ90 >= 103696u);
    ASSERT(occ90 <= 103696u + FIXED_MAX);
    /* Out of range: nothing. */
    ASSERT_UEQ(slo_engine_slo_bytes(e, 4), 0);
    /* The engine's total: the four SLOs and its own small header. */
    size_t sum = occ30 + sl30 + occ1 + occ90;
    size_t all = slo_engine_bytes(e);
    ASSERT(all > sum);
    ASSERT(all <= sum + 256u);
    /* Adding data and moving the clock allocates nothing: the figures stay. */
    ASSERT_OK(slo_engine_add(e, 0, B + 1000, 1, 2));
    slo_engine_advance(e, B + 40ll * 86400000);
    ASSERT_UEQ(slo_engine_bytes(e), all);

    fx_close(&f);
}

/* slo_slices_bytes on its own: 2 h of 5-minute periods is 24 cells of 2 bits, 6 bytes. */
static void test_slices_bytes(void)
{
    struct slo_slices_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.period_ms = 5 * 60000;
    cfg.window_ms = 2 * 3600000;
    cfg.target.num = 99;
    cfg.target.den = 100;
    cfg.missing = SLO_MISSING_GOOD;
    struct slo_slices *s = NULL;
    ASSERT_OK(slo_slices_new(&cfg, B, &s));
    size_t n = slo_slices_bytes(s);
    ASSERT(n >= 6u);
    ASSERT(n <= 6u + FIXED_MAX);
    slo_slices_free(s);
}

/* Rolling Timeslices with 1-minute periods over 30 and 90 days (issue 5: 128 KiB per SLO),
 * default alerts (their windows are lookbacks of the same ring: no memory of their own). */
static const char slices_1m[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: ts30}\n"
                                "spec:\n"
                                "  service: shop\n"
                                "  objective: \"99.9\"\n"
                                "  window: 30d\n"
                                "  budgetingMethod: Timeslices\n"
                                "  timeSlice: {period: 1m, target: \"95\"}\n"
                                "  sli: {spans: {availability: {}}}\n"
                                "  alerts: defaults\n"
                                "---\n"
                                "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: ts90}\n"
                                "spec:\n"
                                "  service: shop\n"
                                "  objective: \"99.9\"\n"
                                "  window: 90d\n"
                                "  budgetingMethod: Timeslices\n"
                                "  timeSlice: {period: 1m, target: \"95\"}\n"
                                "  sli: {spans: {availability: {}}}\n"
                                "  alerts: defaults\n";

static void test_slices_1m_bytes(void)
{
    struct fx f;
    fx_open(&f, slices_1m, sizeof(slices_1m) - 1);
    struct slo_engine *e = f.e;
    /* 30 d: 30 x 1,440 = 43,200 cells of 2 bits = 10,800 bytes (u32 pairs: 345,608). */
    size_t ts30 = slo_engine_slo_bytes(e, 0);
    ASSERT(ts30 >= 10800u);
    ASSERT(ts30 <= 10800u + FIXED_MAX);
    printf("# ts30 %zu bytes\n", ts30);
    /* 90 d: 90 x 1,440 = 129,600 cells = 32,400 bytes. */
    size_t ts90 = slo_engine_slo_bytes(e, 1);
    ASSERT(ts90 >= 32400u);
    ASSERT(ts90 <= 32400u + FIXED_MAX);
    ASSERT(ts90 <= 128u * 1024u);
    printf("# ts90 %zu bytes\n", ts90);
    /* Judging 40 days of periods allocates nothing. */
    size_t all = slo_engine_bytes(e);
    ASSERT_OK(slo_engine_add(e, 0, B + 1000, 1, 2));
    slo_engine_advance(e, B + 40ll * 86400000);
    ASSERT_UEQ(slo_engine_bytes(e), all);
    fx_close(&f);
}

/* Calendar RatioTimeslices over a quarter or a year keep a month's ring of slices (31 d, + 2 h in
 * a zone) or the longest alert window, whichever is longer, and fold older slices into a fixed
 * accumulator (in the SLO's state): what slo/README.md documents per SLO. */
static void test_ratio_long_bytes(void)
{
    static const char fmt[] = "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: r}\nspec:\n"
                              "  service: shop\n  objective: \"99.9\"\n"
                              "  calendar: {unit: %s, timeZone: %s}\n"
                              "  budgetingMethod: RatioTimeslices\n  timeSlice: {period: %s}\n"
                              "  sli: {spans: {availability: {}}}\n%s";
    bool tz = access("/usr/share/zoneinfo/Europe/Berlin", R_OK) == 0;
    struct {
        const char *unit, *zone, *period, *alerts;
        size_t ring_bytes;
    } cases[] = {
        /* 31 d of 5-minute slices: 31 x 288 + 1 = 8,929 slots x 8 = 71,432 bytes */
        {"quarter", "UTC", "5m", "", 71432u},
        /* 31 d of 1-minute slices: 31 x 1,440 + 1 = 44,641 x 8 = 357,128 bytes */
        {"year", "UTC", "1m", "", 357128u},
        /* in a zone 31 d + 2 h: 44,760 + 1 = 44,761 x 8 = 358,088 bytes */
        {"quarter", "Europe/Berlin", "1m", "", 358088u},
        /* 5 minutes in a zone: 8,928 + 24 + 1 = 8,953 x 8 = 71,624 bytes */
        {"year", "Europe/Berlin", "5m", "", 71624u},
        /* a year's default alerts scale 3 d by 365 / 30 to 36.5 d, longer than the month:
         * 36.5 x 288 + 1 = 10,513 x 8 = 84,104 bytes */
        {"year", "UTC", "5m", "  alerts: defaults\n", 84104u},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!tz && strcmp(cases[i].zone, "UTC") != 0) {
            printf("# SKIP %s: tzdata not installed\n", cases[i].zone);
            continue;
        }
        char yaml[1024];
        snprintf(yaml, sizeof(yaml), fmt, cases[i].unit, cases[i].zone, cases[i].period,
                 cases[i].alerts);
        struct fx f;
        fx_open(&f, yaml, strlen(yaml));
        struct slo_engine *e = f.e;
        size_t n = slo_engine_slo_bytes(e, 0);
        printf("# %s %s %s: %zu bytes\n", cases[i].unit, cases[i].zone, cases[i].period, n);
        ASSERT(n >= cases[i].ring_bytes);
        ASSERT(n <= cases[i].ring_bytes + FIXED_MAX);
        /* a year of data and folding allocates nothing */
        ASSERT_OK(slo_engine_add(e, 0, B + 1000, 1, 2));
        slo_engine_advance(e, B + 400ll * 86400000);
        ASSERT_UEQ(slo_engine_slo_bytes(e, 0), n);
        fx_close(&f);
    }
}

AG_TEST_MAIN(AG_TEST_CASE(test_bytes), AG_TEST_CASE(test_slices_bytes),
             AG_TEST_CASE(test_slices_1m_bytes),
             AG_TEST_CASE(test_ratio_long_bytes))
