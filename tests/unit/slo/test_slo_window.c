/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_window: the memory bound and layouts, whole-bucket window edges (an event
 * exactly at T - L counts, one at T does not), 90-day exactness, late and too-old data, gaps,
 * a brute-force oracle on a random stream, period verdicts with the missing-data policy, and
 * calendar boundaries for UTC and fixed offsets.
 */
#include <stdlib.h>

#include "ag_mem.h"
#include "ag_test.h"
#include "config.h"
#include "slo_window.h"

#define MIN 60000ll
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2025-01-01T00:00:00Z = 1,735,689,600 s: 20,089 days after the epoch, a multiple of 1 h. */
#define B 1735689600000ll

static const uint64_t std_lookbacks[] = {5 * MIN, 30 * MIN, HOUR, 2 * HOUR, 6 * HOUR, DAY, 3 * DAY};

static struct slo_window *make(uint64_t window, const uint64_t *lb, size_t n, int64_t start)
{
    struct slo_window_config cfg = {window, lb, n, 0, 0};
    struct slo_window *w = NULL;
    if (slo_window_new(&cfg, start, &w) != 0) {
        return NULL;
    }
    return w;
}

/* 30 days with the Workbook's lookbacks: 1-minute ring for 5m..3d (3 d = 4,320 buckets, 4,321
 * slots) and 5-minute ring for 30 d (8,640 buckets, 8,641 slots): (4,321 + 8,641) * 8 bytes =
 * 103,696 bytes plus the object, under 128 KiB = 131,072. */
static void test_memory_30d(void)
{
    struct slo_window *w = make(30 * DAY, std_lookbacks, 7, B);
    ASSERT_NOT_NULL(w);
    size_t bytes = slo_window_bytes(w);
    printf("# 30-day window: %zu bytes\n", bytes);
    ASSERT(bytes >= 103696);
    ASSERT(bytes <= SLO_WINDOW_MAX_BYTES);
    ASSERT_UEQ(slo_window_resolution_ms(w, 5 * MIN), MIN);
    ASSERT_UEQ(slo_window_resolution_ms(w, 3 * DAY), MIN);
    ASSERT_UEQ(slo_window_resolution_ms(w, 30 * DAY), 5 * MIN);
    ASSERT_UEQ(slo_window_resolution_ms(w, 7 * MIN), 0);
    slo_window_free(w);
    /* 90 days: 5 min needs 25,921 * 8 = 207,368 bytes, 10 min 103,688 + 34,568 > 128 KiB;
     * 15 min: 8,641 * 8 = 69,128 + 34,568 = 103,696. */
    w = make(90 * DAY, std_lookbacks, 7, B);
    ASSERT_NOT_NULL(w);
    ASSERT(slo_window_bytes(w) <= SLO_WINDOW_MAX_BYTES);
    ASSERT_UEQ(slo_window_resolution_ms(w, 90 * DAY), 15 * MIN);
    slo_window_free(w);
    /* 7 days fit one 1-minute ring: 10,081 * 8 = 80,648 bytes. */
    w = make(7 * DAY, std_lookbacks, 6, B);
    ASSERT_NOT_NULL(w);
    ASSERT_UEQ(slo_window_resolution_ms(w, 7 * DAY), MIN);
    ASSERT(slo_window_bytes(w) <= SLO_WINDOW_MAX_BYTES);
    slo_window_free(w);
}

static void test_config_errors(void)
{
    struct slo_window *w = NULL;
    const uint64_t too_long[] = {31 * DAY}, odd[] = {90000}, one_bucket[] = {MIN};
    struct slo_window_config cfg = {30 * DAY, NULL, 0, 0, 0};
    ASSERT_OK(slo_window_new(&cfg, B, &w));
    slo_window_free(w);
    slo_window_free(NULL);
    cfg.window_ms = 0;
    ASSERT_EQ(slo_window_new(&cfg, B, &w), AG_EINVAL);
    ASSERT_NULL(w);
    cfg.window_ms = 30000; /* not whole minutes */
    ASSERT_EQ(slo_window_new(&cfg, B, &w), AG_EINVAL);
    cfg.window_ms = 91 * DAY;
    ASSERT_EQ(slo_window_new(&cfg, B, &w), AG_EINVAL);
    cfg.window_ms = 30 * DAY;
    ASSERT_EQ(slo_window_new(&cfg, -1, &w), AG_EINVAL);
    cfg.lookbacks_ms = too_long;
    cfg.n_lookbacks = 1;
    ASSERT_EQ(slo_window_new(&cfg, B, &w), AG_EINVAL);
    cfg.lookbacks_ms = odd;
    ASSERT_EQ(slo_window_new(&cfg, B, &w), AG_EINVAL);
    cfg.lookbacks_ms = one_bucket; /* shorter than 2 buckets */
    ASSERT_EQ(slo_window_new(&cfg, B, &w), AG_EINVAL);
    cfg.lookbacks_ms = NULL;
    cfg.n_lookbacks = 0;
    cfg.max_bytes = 1024;
    ASSERT_EQ(slo_window_new(&cfg, B, &w), AG_ETOOBIG);
    ASSERT_NULL(w);
}

/* A 1-day window (one 1-minute ring). At T = B + 1 d the window is [B, B + 1 d): an event at
 * exactly B counts, one at T - 1 ms counts (its bucket [T - 1 min, T) is whole), one at T does
 * not (its bucket is open). */
static void test_edges(void)
{
    const uint64_t lb[] = {HOUR};
    struct slo_window *w = make(DAY, lb, 1, B);
    struct slo_counts c;
    ASSERT_NOT_NULL(w);
    ASSERT_OK(slo_window_add(w, B, 1, 1));
    ASSERT_OK(slo_window_add(w, B + DAY - 1, 0, 2));
    ASSERT_OK(slo_window_add(w, B + DAY, 0, 4));
    ASSERT_EQ(slo_window_now(w), B + DAY);
    ASSERT_OK(slo_window_counts(w, DAY, &c));
    ASSERT_UEQ(c.total, 3); /* 1 + 2 */
    ASSERT_UEQ(c.good, 1);
    ASSERT_OK(slo_window_counts(w, HOUR, &c)); /* [B + 23 h, B + 24 h): only the 2 */
    ASSERT_UEQ(c.total, 2);
    ASSERT_EQ(slo_window_counts(w, 2 * HOUR, &c), AG_ENOTFOUND);
    /* 1 ms later the window [B + 1 ms, B + 1 d + 1 ms) holds whole buckets only: [B, B + 1 min)
     * starts before its start and leaves; the open bucket [T, T + 1 min) is not whole yet. */
    slo_window_advance(w, B + DAY + 1);
    ASSERT_OK(slo_window_counts(w, DAY, &c));
    ASSERT_UEQ(c.total, 2);
    ASSERT_UEQ(c.good, 0);
    /* At B + 1 d + 1 min the bucket holding the 4 has closed. */
    slo_window_advance(w, B + DAY + MIN);
    ASSERT_OK(slo_window_counts(w, DAY, &c));
    ASSERT_UEQ(c.total, 6);
    slo_window_advance(w, B); /* backwards: ignored */
    ASSERT_EQ(slo_window_now(w), B + DAY + MIN);
    slo_window_free(w);
}

/* The open bucket's edges (slo_window_add finds the open bucket without a division): 1-minute
 * buckets from B. B and B + 1 min - 1 ms fall in [B, B + 1 min) and are not late; B + 1 min
 * opens the next bucket; B + 1 min - 1 ms after that is late (age 1), B + 2 min - 1 ms is not. */
static void test_open_bucket_edges(void)
{
    const uint64_t lb[] = {5 * MIN};
    struct slo_window *w = make(HOUR, lb, 1, B);
    struct slo_counts c;
    struct slo_window_stats st;
    ASSERT_NOT_NULL(w);
    ASSERT_UEQ(slo_window_resolution_ms(w, 5 * MIN), MIN);
    ASSERT_OK(slo_window_add(w, B + MIN - 1, 1, 1));
    ASSERT_OK(slo_window_add(w, B, 0, 2));
    slo_window_get_stats(w, &st);
    ASSERT_UEQ(st.late, 0);
    ASSERT_OK(slo_window_add(w, B + MIN, 1, 4));
    ASSERT_OK(slo_window_add(w, B + MIN - 1, 0, 8));
    ASSERT_OK(slo_window_add(w, B + 2 * MIN - 1, 0, 16));
    slo_window_get_stats(w, &st);
    ASSERT_UEQ(st.late, 1); /* only the 8 */
    /* At B + 2 min both buckets are closed and inside the last 5 min: 1+2+4+8+16 = 31, good 2. */
    slo_window_advance(w, B + 2 * MIN);
    ASSERT_OK(slo_window_counts(w, 5 * MIN, &c));
    ASSERT_UEQ(c.total, 31);
    ASSERT_UEQ(c.good, 2);
    /* At B + 5 min + 1 ms [B, B + 1 min) starts before T - 5 min and leaves: 4 + 16 = 20, good 1;
     * so the 1, 2 and 8 were in the first bucket, the 4 and 16 in the second. */
    slo_window_advance(w, B + 5 * MIN + 1);
    ASSERT_OK(slo_window_counts(w, 5 * MIN, &c));
    ASSERT_UEQ(c.total, 20);
    ASSERT_UEQ(c.good, 1);
    slo_window_free(w);
}

/* 90 days at 15-minute buckets: events at B and B + 1 min share [B, B + 15 min). At
 * T = B + 90 d the window [B, B + 90 d) holds them (2 events, 1 good); at T + 1 ms and at
 * T + 15 min the bucket starts before T - W and is out; a 90-day total is never approximated. */
static void test_90_days(void)
{
    struct slo_window *w = make(90 * DAY, std_lookbacks, 7, B);
    struct slo_counts c;
    ASSERT_NOT_NULL(w);
    ASSERT_OK(slo_window_add(w, B, 1, 1));
    ASSERT_OK(slo_window_add(w, B + MIN, 0, 1));
    /* One event every 6 hours for 90 days: 360 more, 1 good each. */
    for (int64_t t = B + 6 * HOUR; t < B + 90 * DAY; t += 6 * HOUR) {
        ASSERT_OK(slo_window_add(w, t, 1, 1));
    }
    slo_window_advance(w, B + 90 * DAY);
    ASSERT_OK(slo_window_counts(w, 90 * DAY, &c));
    ASSERT_UEQ(c.total, 2 + 359); /* 6 h, 12 h, ... 90 d - 6 h: 90 * 4 - 1 = 359 */
    ASSERT_UEQ(c.good, 1 + 359);
    /* The 3-day lookback at 1 minute: (B + 87 d, ..., B + 90 d - 6 h]: 3 * 4 = 12 events. */
    ASSERT_OK(slo_window_counts(w, 3 * DAY, &c));
    ASSERT_UEQ(c.total, 12);
    slo_window_advance(w, B + 90 * DAY + 1);
    ASSERT_OK(slo_window_counts(w, 90 * DAY, &c));
    ASSERT_UEQ(c.total, 359);
    slo_window_advance(w, B + 90 * DAY + 15 * MIN);
    ASSERT_OK(slo_window_counts(w, 90 * DAY, &c));
    ASSERT_UEQ(c.total, 359);
    slo_window_free(w);
}

static void test_late_old_overflow_gap(void)
{
    const uint64_t lb[] = {HOUR};
    struct slo_window *w = make(DAY, lb, 1, B);
    struct slo_window_stats st;
    struct slo_counts c;
    ASSERT_NOT_NULL(w);
    slo_window_advance(w, B + 2 * HOUR);
    ASSERT_OK(slo_window_add(w, B + HOUR + 30 * MIN, 0, 5)); /* late, inside both lookbacks */
    ASSERT_OK(slo_window_add(w, B + 30 * MIN, 0, 7));        /* late, inside 1 d only */
    ASSERT_OK(slo_window_add(w, B - DAY, 0, 9));             /* older than the ring */
    slo_window_get_stats(w, &st);
    ASSERT_UEQ(st.late, 2);
    ASSERT_UEQ(st.too_old, 1);
    ASSERT_OK(slo_window_counts(w, HOUR, &c));
    ASSERT_UEQ(c.total, 5);
    ASSERT_OK(slo_window_counts(w, DAY, &c));
    ASSERT_UEQ(c.total, 12);
    ASSERT_EQ(slo_window_add(w, B + 2 * HOUR, 2, 1), AG_EINVAL); /* good > total */
    ASSERT_EQ(slo_window_add(w, -5, 0, 1), AG_EINVAL);
    ASSERT_OK(slo_window_add(w, B + 2 * HOUR, 0, UINT32_MAX));
    ASSERT_EQ(slo_window_add(w, B + 2 * HOUR, 0, 1), AG_ETOOBIG);
    slo_window_get_stats(w, &st);
    ASSERT_UEQ(st.overflow, 1);
    /* The agent was away for 3 days: everything ages out in one pass. */
    slo_window_advance(w, B + 3 * DAY);
    ASSERT_OK(slo_window_counts(w, DAY, &c));
    ASSERT_UEQ(c.total, 0);
    ASSERT_OK(slo_window_counts(w, HOUR, &c));
    ASSERT_UEQ(c.total, 0);
    ASSERT_OK(slo_window_add(w, B + 3 * DAY, 1, 1));
    slo_window_advance(w, B + 3 * DAY + MIN);
    ASSERT_OK(slo_window_counts(w, HOUR, &c));
    ASSERT_UEQ(c.total, 1);
    slo_window_free(w);
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

struct ev {
    int64_t t;
    uint64_t good, total;
};

/* The oracle: recount every accepted event whose bucket [s, s + p) lies in [T - L, T). */
static void oracle(const struct ev *evs, size_t n, int64_t now, uint64_t l, uint64_t p,
                   struct slo_counts *out)
{
    out->good = 0;
    out->total = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t s = evs[i].t - evs[i].t % (int64_t)p;
        if (s >= now - (int64_t)l && s + (int64_t)p <= now) {
            out->good += evs[i].good;
            out->total += evs[i].total;
        }
    }
}

/* A 12-day window (two rings: 1 min up to 3 d, 5 min for 12 d) on 20,000 random observations
 * over 15 days, some late by up to 2 h, checked against the oracle at 400 random instants. */
static void test_oracle(void)
{
    const uint64_t lbs[] = {5 * MIN, HOUR, 6 * HOUR, 3 * DAY, 4 * DAY};
    const uint64_t all[] = {5 * MIN, HOUR, 6 * HOUR, 3 * DAY, 4 * DAY, 12 * DAY};
    struct slo_window *w = make(12 * DAY, lbs, 5, B);
    size_t cap = 20000, n = 0;
    struct ev *evs = ag_calloc(cap, sizeof(*evs));
    ASSERT_NOT_NULL(w);
    ASSERT_NOT_NULL(evs);
    ASSERT_UEQ(slo_window_resolution_ms(w, 12 * DAY), 5 * MIN);
    ASSERT_UEQ(slo_window_resolution_ms(w, 4 * DAY), 5 * MIN);
    int64_t now = B;
    int failures = 0;
    size_t checks = 0;
    for (size_t i = 0; i < cap && failures == 0; i++) {
        now += (int64_t)rnd(130000); /* about 65 s per observation on average: 15 days */
        int64_t t = now - (rnd(10) == 0 ? (int64_t)rnd(2 * HOUR) : 0);
        if (t < B) {
            t = B;
        }
        uint64_t total = rnd(50), good = total ? rnd(total + 1) : 0;
        if (slo_window_add(w, t, good, total) != 0) {
            failures++;
            break;
        }
        evs[n++] = (struct ev){t, good, total};
        if (rnd(50) == 0) {
            now += (int64_t)rnd(3 * MIN);
            slo_window_advance(w, now);
            for (size_t j = 0; j < sizeof(all) / sizeof(all[0]); j++) {
                struct slo_counts got, want;
                if (slo_window_counts(w, all[j], &got) != 0) {
                    failures++;
                    break;
                }
                oracle(evs, n, slo_window_now(w), all[j], slo_window_resolution_ms(w, all[j]),
                       &want);
                checks++;
                if (got.good != want.good || got.total != want.total) {
                    printf("# at %lld lookback %llu: got %llu/%llu want %llu/%llu\n",
                           (long long)now, (unsigned long long)all[j],
                           (unsigned long long)got.good, (unsigned long long)got.total,
                           (unsigned long long)want.good, (unsigned long long)want.total);
                    failures++;
                }
            }
        }
    }
    struct slo_window_stats st;
    slo_window_get_stats(w, &st);
    printf("# %zu observations, %llu late, %zu comparisons\n", n, (unsigned long long)st.late,
           checks);
    ASSERT_UEQ(st.too_old, 0);
    ASSERT(st.late > 0);
    ASSERT(checks > 1000);
    ag_free(evs);
    slo_window_free(w);
    ASSERT_EQ(failures, 0);
}

/* §11.1 through a period verdict: 999 good of 1000 at a 99.9 % slice target is good (in doubles
 * 999/1000 >= 99.9/100 is false); 9 of 10 at 90 % is good, 8 of 10 is bad. */
static void test_slice_judge(void)
{
    struct slo_decimal t999, t90;
    ASSERT_OK(slo_objective_parse("99.9", 4, SLO_OBJ_PERCENT, &t999, NULL));
    ASSERT_OK(slo_objective_parse("90", 2, SLO_OBJ_PERCENT, &t90, NULL));
    ASSERT_EQ(slo_slice_judge(999, 1000, &t999, SLO_MISSING_GOOD), SLO_SLICE_GOOD);
    ASSERT_EQ(slo_slice_judge(998, 1000, &t999, SLO_MISSING_GOOD), SLO_SLICE_BAD);
    ASSERT_EQ(slo_slice_judge(9, 10, &t90, SLO_MISSING_GOOD), SLO_SLICE_GOOD);
    ASSERT_EQ(slo_slice_judge(8, 10, &t90, SLO_MISSING_GOOD), SLO_SLICE_BAD);
    ASSERT_EQ(slo_slice_judge(0, 0, &t90, SLO_MISSING_GOOD), SLO_SLICE_GOOD);
    ASSERT_EQ(slo_slice_judge(0, 0, &t90, SLO_MISSING_BAD), SLO_SLICE_BAD);
    ASSERT_EQ(slo_slice_judge(0, 0, &t90, SLO_MISSING_IGNORE), SLO_SLICE_IGNORED);
}

/* Day numbers: 2025-01-01 = day 20,089; Feb 1 = +31 = 20,120; Mar 1 = +28 = 20,148; Apr 1 =
 * +31 = 20,179; Jul 1 = +30 +31 +30 = 20,270; 2024-01-01 = 20,089 - 366 = 19,723 (leap year);
 * 2024-12-30, the Monday before 2025-01-01 (a Wednesday) = 20,087. */
static void test_calendar(void)
{
    int64_t s, e;
    /* UTC month of 2025-02-10T12:00Z. */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_MONTH, 0, B + 40 * DAY + 12 * HOUR, &s, &e));
    ASSERT_EQ(s, 20120 * DAY);
    ASSERT_EQ(e, 20148 * DAY);
    /* +05:30: 2025-01-31T20:00Z is 2025-02-01T01:30 local, so February local, which starts at
     * 2025-02-01T00:00+05:30 = 2025-01-31T18:30Z = day 20,120 - 5.5 h. */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_MONTH, 19800, B + 30 * DAY + 20 * HOUR, &s, &e));
    ASSERT_EQ(s, 20120 * DAY - 19800000);
    ASSERT_EQ(e, 20148 * DAY - 19800000);
    /* The same instant in UTC is still January. */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_MONTH, 0, B + 30 * DAY + 20 * HOUR, &s, &e));
    ASSERT_EQ(s, 20089 * DAY);
    ASSERT_EQ(e, 20120 * DAY);
    /* ISO week of Wednesday 2025-01-01: Monday 2024-12-30 .. Monday 2025-01-06. */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_WEEK, 0, B, &s, &e));
    ASSERT_EQ(s, 20087 * DAY);
    ASSERT_EQ(e, 20094 * DAY);
    /* A Monday at exactly 00:00 starts its own week (boundary belongs to the new period). */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_WEEK, 0, 20094 * DAY, &s, &e));
    ASSERT_EQ(s, 20094 * DAY);
    /* Quarter of 2025-05-15 (day 20,179 + 44): [Apr 1, Jul 1). */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_QUARTER, 0, (20179 + 44) * DAY, &s, &e));
    ASSERT_EQ(s, 20179 * DAY);
    ASSERT_EQ(e, 20270 * DAY);
    /* Year 2024 (leap): 366 days. */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_YEAR, 0, B - 1, &s, &e));
    ASSERT_EQ(s, 19723 * DAY);
    ASSERT_EQ(e, 20089 * DAY);
    /* -08:00 day of 2025-01-01T03:00Z = 2024-12-31T19:00 local: [Dec 31 08:00Z, Jan 1 08:00Z). */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_DAY, -28800, B + 3 * HOUR, &s, &e));
    ASSERT_EQ(s, B - DAY + 8 * HOUR);
    ASSERT_EQ(e, B + 8 * HOUR);
    /* The epoch itself, and the errors. */
    ASSERT_OK(slo_calendar_bounds(SLO_CAL_DAY, 0, 0, &s, &e));
    ASSERT_EQ(s, 0);
    ASSERT_EQ(e, DAY);
    ASSERT_EQ(slo_calendar_bounds(SLO_CAL_DAY, 19 * 3600, B, &s, &e), AG_EINVAL);
    ASSERT_EQ(slo_calendar_bounds(SLO_CAL_DAY, 0, -1, &s, &e), AG_EINVAL);
    ASSERT_EQ(slo_calendar_bounds((enum slo_calendar_unit)99, 0, B, &s, &e), AG_EINVAL);
}

/* Every allocation of slo_window_new may fail: the error is AG_ENOMEM and nothing leaks. */
static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    for (long n = 0;; n++) {
        struct slo_window *w = NULL;
        struct slo_window_config cfg = {30 * DAY, std_lookbacks, 7, 0, 0};
        ag_mem_fail_after(n);
        int rc = slo_window_new(&cfg, B, &w);
        ag_mem_fail_after(-1);
        if (rc == 0) {
            ASSERT_EQ(n, 3); /* the object and two rings */
            slo_window_free(w);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
        ASSERT_NULL(w);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

/* Calendar months in UTC, to date, 1-minute buckets. January 2025 = [day 20,089, day 20,120). */
static void test_calendar_to_date(void)
{
    struct slo_calendar c;
    struct slo_counts n;
    int64_t s, e;
    ASSERT_OK(slo_calendar_init(&c, SLO_CAL_MONTH, 0, 0, B));
    ASSERT_OK(slo_calendar_add(&c, B, 999, 1000));
    ASSERT_OK(slo_calendar_add(&c, B + 10 * DAY, 0, 1));
    slo_calendar_advance(&c, B + 10 * DAY + 30000); /* mid-bucket: the 1 is not whole yet */
    slo_calendar_counts(&c, &n, &s, &e);
    ASSERT_UEQ(n.total, 1000);
    ASSERT_EQ(s, 20089 * DAY);
    ASSERT_EQ(e, 20120 * DAY);
    slo_calendar_advance(&c, B + 10 * DAY + MIN);
    slo_calendar_counts(&c, &n, NULL, NULL);
    ASSERT_UEQ(n.total, 1001);
    ASSERT_UEQ(n.good, 999);
    ASSERT(!slo_calendar_previous(&c, &n, NULL, NULL));
    /* An event at exactly Feb 1 00:00Z starts February; January closes whole with 1,001. */
    ASSERT_OK(slo_calendar_add(&c, 20120 * DAY, 5, 5));
    slo_calendar_counts(&c, &n, &s, &e);
    ASSERT_UEQ(n.total, 0);
    ASSERT_EQ(s, 20120 * DAY);
    ASSERT(slo_calendar_previous(&c, &n, &s, &e));
    ASSERT_UEQ(n.total, 1001);
    ASSERT_EQ(s, 20089 * DAY);
    ASSERT_EQ(e, 20120 * DAY);
    ASSERT_OK(slo_calendar_add(&c, 20120 * DAY - 1, 0, 2)); /* late for January */
    ASSERT(slo_calendar_previous(&c, &n, NULL, NULL));
    ASSERT_UEQ(n.total, 1003);
    ASSERT_OK(slo_calendar_add(&c, B - 1, 0, 2)); /* December 2024: too old */
    ASSERT_UEQ(c.stats.late, 1);
    ASSERT_UEQ(c.stats.too_old, 1);
    slo_calendar_advance(&c, 20120 * DAY + MIN);
    slo_calendar_counts(&c, &n, NULL, NULL);
    ASSERT_UEQ(n.total, 5);
    /* Jump to 2025-04-10: March was skipped, so the previous period is an empty March. */
    slo_calendar_advance(&c, (20179 + 9) * DAY);
    ASSERT(slo_calendar_previous(&c, &n, &s, &e));
    ASSERT_UEQ(n.total, 0);
    ASSERT_EQ(s, 20148 * DAY);
    ASSERT_EQ(e, 20179 * DAY);
    /* +05:45 is whole minutes (and 15-minute buckets), not whole hours. */
    ASSERT_OK(slo_calendar_init(&c, SLO_CAL_DAY, 20700, 15 * MIN, B));
    ASSERT_EQ(slo_calendar_init(&c, SLO_CAL_DAY, 20700, HOUR, B), AG_EINVAL);
    ASSERT_EQ(slo_calendar_init(&c, SLO_CAL_DAY, 0, 7 * MIN, B), AG_EINVAL);
    ASSERT_EQ(slo_calendar_add(&c, B, 2, 1), AG_EINVAL);
}

AG_TEST_MAIN(AG_TEST_CASE(test_memory_30d), AG_TEST_CASE(test_failmalloc),
             AG_TEST_CASE(test_config_errors),
             AG_TEST_CASE(test_edges), AG_TEST_CASE(test_open_bucket_edges),
             AG_TEST_CASE(test_90_days),
             AG_TEST_CASE(test_late_old_overflow_gap), AG_TEST_CASE(test_oracle),
             AG_TEST_CASE(test_slice_judge), AG_TEST_CASE(test_calendar),
             AG_TEST_CASE(test_calendar_to_date))
