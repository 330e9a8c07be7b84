/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_tz: the system's zone files (Europe/Berlin, America/New_York,
 * America/Havana, Pacific/Apia; each test is skipped when tzdata is absent) around DST changes,
 * and TZif files built byte by byte here (version 1, version 2 footers, every refusal).
 * Instants are written as day numbers since 1970-01-01 times 86400 plus seconds, the day
 * numbers worked out in the comments: 2025-01-01 is day 55 * 365 + 14 leap days (1972..2024) =
 * 20089 (1735689600 / 86400).
 */
#include <stdio.h>
#include <stdlib.h>

#include "ag_mem.h"
#include "ag_test.h"
#include "config.h"
#include "slo_tz.h"

#define D2025 20089LL /* 2025-01-01 */
#define D2040 25567LL /* 2040-01-01: D2025 + 15 * 365 + 3 (2028, 2032, 2036) */
#define S(day, sec) ((int64_t)(day) * 86400 + (sec))
#define MS(day, sec) (S(day, sec) * 1000)

/* Reads /usr/share/zoneinfo/|name| into a new zone, or NULL when the file is absent. */
static struct slo_tz *load_zone(const char *name)
{
    char path[256];
    static uint8_t buf[1u << 16];
    struct slo_tz *tz = NULL;
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("# SKIP %s absent (tzdata not installed)\n", path);
        return NULL;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct ag_buf why;
    ag_buf_init(&why, 4096);
    if (slo_tz_new(buf, n, &why, &tz) != 0) {
        printf("# %s: %s", path, ag_buf_str(&why));
        tz = NULL;
    }
    ag_buf_cleanup(&why);
    return tz;
}

static int32_t off(const struct slo_tz *tz, int64_t t_s)
{
    int32_t o = -1;
    if (slo_tz_offset(tz, t_s * 1000, &o) != 0) {
        return -999999;
    }
    return o;
}

/* Asserts the bounds of |unit| at |t_s| are [|s|, |e|) (all in seconds). */
#define ASSERT_BOUNDS(tz, unit, t_s, s, e)                                                  \
    do {                                                                                   \
        int64_t s_ = 0, e_ = 0;                                                            \
        ASSERT_OK(slo_tz_bounds((tz), (unit), (int64_t)(t_s) * 1000, &s_, &e_));           \
        ASSERT_EQ(s_, (int64_t)(s) * 1000);                                                \
        ASSERT_EQ(e_, (int64_t)(e) * 1000);                                                \
    } while (0)

/*
 * Europe/Berlin: CET +3600, CEST +7200; changes at 01:00 UTC on the last Sunday of March and of
 * October. 2025-03-30 is day D2025 + 31 + 28 + 29 = 20177 (a Sunday: 20177 = 7 * 2882 + 3, and
 * day 3 of the epoch, 1970-01-04, was a Sunday); 2025-10-26 is day D2025 + 273 + 25 = 20387
 * (273 = days of January..September).
 */
static void test_berlin(void)
{
    struct slo_tz *tz = load_zone("Europe/Berlin");
    if (tz == NULL) {
        return;
    }
    ASSERT_EQ(off(tz, S(20177, 3599)), 3600); /* 2025-03-30T00:59:59Z */
    ASSERT_EQ(off(tz, S(20177, 3600)), 7200); /* 01:00:00Z: 02:00 CET -> 03:00 CEST */
    ASSERT_EQ(off(tz, S(20387, 3599)), 7200);
    ASSERT_EQ(off(tz, S(20387, 3600)), 3600);
    ASSERT_EQ(off(tz, S(D2025 + 180, 0)), 7200); /* 2025-06-30 */
    /* Past the table (fat files stop in 2037): the footer's rule. 2040-03-30 is 15 * 365 + 4 =
     * 5479 days after 2025-03-30, 5479 = 7 * 782 + 5: a Friday, so the last Sunday of March
     * 2040 is the 25th, day D2040 + 31 + 29 + 24 = 25651. */
    ASSERT_EQ(off(tz, S(25651, 3599)), 3600);
    ASSERT_EQ(off(tz, S(25651, 3600)), 7200);
    /* 1900: before the first transition (1893) only in LMT files; Berlin's first type. */
    ASSERT(off(tz, S(-25567, 0)) == 3600 || off(tz, S(-25567, 0)) == 3208);

    /* The day of the spring change lasts 23 h: [03-29T23:00Z, 03-30T22:00Z). */
    int64_t t = S(20177, 12 * 3600);
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, t, S(20176, 23 * 3600), S(20177, 22 * 3600));
    /* ISO week from Monday 2025-03-24 (day 20171) 00:00 CET to Monday 31st 00:00 CEST. */
    ASSERT_BOUNDS(tz, SLO_CAL_WEEK, t, S(20170, 23 * 3600), S(20177, 22 * 3600));
    /* March from day D2025 + 59 = 20148 00:00 CET to April 1st (day 20148 + 31 = 20179) 00:00
     * CEST. */
    ASSERT_BOUNDS(tz, SLO_CAL_MONTH, t, S(20148, -3600), S(20179, -7200));
    ASSERT_BOUNDS(tz, SLO_CAL_QUARTER, t, S(D2025, -3600), S(20179, -7200));
    /* 2025 from 2024-12-31T23:00Z to 2025-12-31T23:00Z (2026-01-01 is day D2025 + 365). */
    ASSERT_BOUNDS(tz, SLO_CAL_YEAR, t, S(D2025, -3600), S(D2025 + 365, -3600));
    /* The autumn day lasts 25 h: 26 Oct 00:00 CEST to 27 Oct 00:00 CET. */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20387, 12 * 3600), S(20387, -7200), S(20388, -3600));
    /* Edges: 23:30Z on the 29th is 00:30 CET on the 30th; 22:59:59Z is still the 29th. */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20176, 23 * 3600 + 1800), S(20176, 23 * 3600),
                  S(20177, 22 * 3600));
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20176, 23 * 3600 - 1), S(20175, 23 * 3600),
                  S(20176, 23 * 3600));
    /* In milliseconds: the last millisecond of a day belongs to it. */
    int64_t s = 0, e = 0;
    ASSERT_OK(slo_tz_bounds(tz, SLO_CAL_DAY, MS(20177, 22 * 3600) - 1, &s, &e));
    ASSERT_EQ(e, MS(20177, 22 * 3600));
    ASSERT_EQ(slo_tz_bounds(tz, (enum slo_calendar_unit)99, 0, &s, &e), AG_EINVAL);
    ASSERT_EQ(slo_tz_bounds(tz, SLO_CAL_DAY, SLO_TZ_MAX_MS, &s, &e), AG_EINVAL);
    ASSERT_EQ(slo_tz_bounds(tz, SLO_CAL_DAY, SLO_TZ_MIN_MS - 1, &s, &e), AG_EINVAL);
    int32_t o;
    ASSERT_EQ(slo_tz_offset(tz, SLO_TZ_MAX_MS, &o), AG_EINVAL);
    slo_tz_free(tz);
}

/*
 * America/New_York: EST -18000, EDT -14400; changes at 02:00 local on the second Sunday of March
 * (2025-03-09 = day D2025 + 59 + 8 = 20156, at 07:00Z) and the first Sunday of November
 * (2025-11-02 = day D2025 + 304 + 1 = 20394, at 06:00Z).
 */
static void test_new_york(void)
{
    struct slo_tz *tz = load_zone("America/New_York");
    if (tz == NULL) {
        return;
    }
    ASSERT_EQ(off(tz, S(20156, 7 * 3600 - 1)), -18000);
    ASSERT_EQ(off(tz, S(20156, 7 * 3600)), -14400);
    ASSERT_EQ(off(tz, S(20394, 6 * 3600 - 1)), -14400);
    ASSERT_EQ(off(tz, S(20394, 6 * 3600)), -18000);
    /* 2040 (footer): March 25th 2040 is a Sunday (see test_berlin), so the second Sunday is the
     * 11th: day D2040 + 31 + 29 + 10 = 25637, change at 07:00Z. */
    ASSERT_EQ(off(tz, S(25637, 7 * 3600 - 1)), -18000);
    ASSERT_EQ(off(tz, S(25637, 7 * 3600)), -14400);

    /* March 9th: 00:00 EST (05:00Z) to March 10th 00:00 EDT (04:00Z), 23 h. */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20156, 12 * 3600), S(20156, 18000), S(20157, 14400));
    /* 04:59:59Z on the 9th is 23:59:59 EST on the 8th. */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20156, 18000 - 1), S(20155, 18000), S(20156, 18000));
    /* November 2nd: 00:00 EDT (04:00Z) to the 3rd 00:00 EST (05:00Z), 25 h; 04:30Z is 00:30 EDT
     * on the 2nd. */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20394, 12 * 3600), S(20394, 14400), S(20395, 18000));
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20394, 16200), S(20394, 14400), S(20395, 18000));
    /* November from the 1st (day 20393) 00:00 EDT to December 1st (day D2025 + 334 = 20423)
     * 00:00 EST. */
    ASSERT_BOUNDS(tz, SLO_CAL_MONTH, S(20394, 0), S(20393, 14400), S(20423, 18000));
    /* Q4 from October 1st (day D2025 + 273 = 20362) 00:00 EDT to 2026-01-01 00:00 EST. */
    ASSERT_BOUNDS(tz, SLO_CAL_QUARTER, S(20394, 0), S(20362, 14400), S(D2025 + 365, 18000));
    /* 2025-01-01T03:00Z is still 2024 in New York: 2024 began on day D2025 - 366. */
    ASSERT_BOUNDS(tz, SLO_CAL_YEAR, S(D2025, 3 * 3600), S(D2025 - 366, 18000), S(D2025, 18000));
    /* The ISO week of Sunday November 2nd: Monday October 27th (day 20388) 00:00 EDT to Monday
     * November 3rd 00:00 EST. */
    ASSERT_BOUNDS(tz, SLO_CAL_WEEK, S(20394, 12 * 3600), S(20388, 14400), S(20395, 18000));
    slo_tz_free(tz);
}

/*
 * America/Havana changes at midnight: on 2025-03-09 (day 20156) 00:00 CST (-18000) becomes
 * 01:00 CDT at 05:00Z, so that day has no midnight and starts at the change; on 2025-11-02 (day
 * 20394) 00:00 CST standard = 01:00 CDT falls back to 00:00 CST at 05:00Z, so midnight happens
 * twice and the day starts at the first, 00:00 CDT = 04:00Z.
 */
static void test_havana(void)
{
    struct slo_tz *tz = load_zone("America/Havana");
    if (tz == NULL) {
        return;
    }
    ASSERT_EQ(off(tz, S(20156, 18000 - 1)), -18000);
    ASSERT_EQ(off(tz, S(20156, 18000)), -14400);
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20156, 12 * 3600), S(20156, 18000), S(20157, 14400));
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20156, 18000 - 1), S(20155, 18000), S(20156, 18000));
    ASSERT_EQ(off(tz, S(20394, 18000 - 1)), -14400);
    ASSERT_EQ(off(tz, S(20394, 18000)), -18000);
    /* 04:30Z (00:30 CDT) and 05:30Z (00:30 CST again) are both November 2nd. */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20394, 16200), S(20394, 14400), S(20395, 18000));
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20394, 19800), S(20394, 14400), S(20395, 18000));
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(20394, 14400 - 1), S(20393, 14400), S(20394, 14400));
    slo_tz_free(tz);
}

/*
 * Pacific/Apia skipped 2011-12-30: 2011-12-29 24:00 at -10 (2011-12-30T10:00Z) became
 * 2011-12-31 00:00 at +14. 2011-01-01 is day 41 * 365 + 10 = 14975, December 30th is day
 * 14975 + 363 = 15338, so the change is at S(15338, 36000).
 */
static void test_apia(void)
{
    struct slo_tz *tz = load_zone("Pacific/Apia");
    if (tz == NULL) {
        return;
    }
    int64_t t = S(15338, 36000);
    ASSERT_EQ(off(tz, t - 1), -36000);
    ASSERT_EQ(off(tz, t), 50400);
    /* December 29th: 00:00 at -10 (day 15337 + 10 h) up to the change; the 31st: from the change
     * to 2012-01-01 00:00 at +14 = 2011-12-31T10:00Z. December 30th holds no instant. */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, t - 1, S(15337, 36000), t);
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, t, t, S(15339, 36000));
    /* The ISO week: Monday December 26th (day 15334) 00:00 at -10, to Monday January 2nd 2012
     * (day 15341) 00:00 at +14. */
    ASSERT_BOUNDS(tz, SLO_CAL_WEEK, t, S(15334, 36000), S(15341, -50400));
    slo_tz_free(tz);
}

/* ---- TZif files built here --------------------------------------------------------------------- */

static void put32(struct ag_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    if (ag_buf_add(b, x, 4) != 0) {
        abort();
    }
}

static void put8(struct ag_buf *b, uint8_t v)
{
    if (ag_buf_add(b, &v, 1) != 0) {
        abort();
    }
}

struct zone_spec {
    int version;             /* 1 or 2 */
    const int64_t *times;
    const uint8_t *idx;
    uint32_t n_times;
    const int32_t *utoff;
    uint32_t n_types;
    uint32_t leapcnt;
    const char *footer;      /* version 2: between the newlines */
};

/* One header and data block; designations are "ZZZ\0" shared by every type. */
static void put_block(struct ag_buf *b, const struct zone_spec *z, int version, int tsize)
{
    if (ag_buf_add(b, "TZif", 4) != 0) {
        abort();
    }
    put8(b, version == 1 ? 0 : (uint8_t)('0' + version));
    for (int i = 0; i < 15; i++) {
        put8(b, 0);
    }
    put32(b, 0);          /* isutcnt */
    put32(b, 0);          /* isstdcnt */
    put32(b, z->leapcnt); /* leapcnt */
    put32(b, z->n_times);
    put32(b, z->n_types);
    put32(b, 4); /* charcnt */
    for (uint32_t i = 0; i < z->n_times; i++) {
        if (tsize == 8) {
            put32(b, (uint32_t)((uint64_t)z->times[i] >> 32));
        }
        put32(b, (uint32_t)z->times[i]);
    }
    for (uint32_t i = 0; i < z->n_times; i++) {
        put8(b, z->idx[i]);
    }
    for (uint32_t i = 0; i < z->n_types; i++) {
        put32(b, (uint32_t)z->utoff[i]);
        put8(b, 0);
        put8(b, 0);
    }
    if (ag_buf_add(b, "ZZZ", 4) != 0) {
        abort();
    }
    for (uint32_t i = 0; i < z->leapcnt; i++) {
        if (tsize == 8) {
            put32(b, 0);
        }
        put32(b, 78796800u + i);
        put32(b, i + 1);
    }
}

static void build(struct ag_buf *b, const struct zone_spec *z)
{
    ag_buf_init(b, 1u << 20);
    put_block(b, z, z->version, 4);
    if (z->version >= 2) {
        put_block(b, z, z->version, 8);
        if (ag_buf_addc(b, '\n') != 0 || ag_buf_adds(b, z->footer) != 0 ||
            ag_buf_addc(b, '\n') != 0) {
            abort();
        }
    }
}

static int load_spec(const struct zone_spec *z, struct slo_tz **tz, char *why, size_t cap)
{
    struct ag_buf b, w;
    build(&b, z);
    ag_buf_init(&w, 4096);
    int rc = slo_tz_new(ag_buf_ptr(&b), b.len, &w, tz);
    snprintf(why, cap, "%s", ag_buf_str(&w));
    ag_buf_cleanup(&w);
    ag_buf_cleanup(&b);
    return rc;
}

static void test_built_v1(void)
{
    /* Two types, +1 h and +2 h; one transition at second 1000 to the second. */
    static const int64_t times[] = {1000};
    static const uint8_t idx[] = {1};
    static const int32_t utoff[] = {3600, 7200};
    struct zone_spec z = {1, times, idx, 1, utoff, 2, 0, NULL};
    struct slo_tz *tz = NULL;
    char why[256];
    ASSERT_OK(load_spec(&z, &tz, why, sizeof(why)));
    ASSERT_EQ(off(tz, 999), 3600); /* before the first transition: type 0 */
    ASSERT_EQ(off(tz, 1000), 7200);
    ASSERT_EQ(off(tz, 2000000000), 7200); /* no footer: the last type goes on */
    ASSERT_EQ(off(tz, -2000000000), 3600);
    /* Day of 1970-01-02T12:00Z at +2 h: 1970-01-02 00:00 local = S(1, -7200). */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, S(1, 43200), S(1, -7200), S(2, -7200));
    /* The day of the change, 1970-01-01, starts at +1 h: 1969-12-31T23:00Z; 1000 s after the
     * epoch local time jumps from 01:16:40 to 02:16:40; the day ends at 00:00 +2 h. */
    ASSERT_BOUNDS(tz, SLO_CAL_DAY, 500, -3600, S(1, -7200));
    slo_tz_free(tz);
}

static void test_built_footers(void)
{
    static const int32_t utoff[] = {0};
    struct zone_spec z = {2, NULL, NULL, 0, utoff, 1, 0, "<+0330>-3:30"};
    struct slo_tz *tz = NULL;
    char why[256];
    /* A fixed offset with a quoted name: UTC+3:30 at any time. */
    ASSERT_OK(load_spec(&z, &tz, why, sizeof(why)));
    ASSERT_EQ(off(tz, 0), 12600);
    ASSERT_EQ(off(tz, S(D2025, 0)), 12600);
    slo_tz_free(tz);

    /* Sydney's rule: AEST +10, AEDT +11 from the first Sunday of October 02:00 to the first
     * Sunday of April 03:00 (southern hemisphere: DST spans the new year). 2025-01-15 (day
     * D2025 + 14) is in DST, 2025-07-15 (day D2025 + 195) is not. The first Sunday of April 2025
     * is the 6th (March 30th is a Sunday): day D2025 + 90 + 5 = 20184; 03:00 AEDT = 16:00Z the
     * day before. */
    z.footer = "AEST-10AEDT,M10.1.0,M4.1.0/3";
    ASSERT_OK(load_spec(&z, &tz, why, sizeof(why)));
    ASSERT_EQ(off(tz, S(D2025 + 14, 0)), 39600);
    ASSERT_EQ(off(tz, S(D2025 + 195, 0)), 36000);
    ASSERT_EQ(off(tz, S(20183, 16 * 3600 - 1)), 39600);
    ASSERT_EQ(off(tz, S(20183, 16 * 3600)), 36000);
    slo_tz_free(tz);

    /* Julian days: J60 is March 1st in any year (February 29th never counted); 60 counts it,
     * so in 2024 (leap) it is March 1st too (day index 60 = Jan 31 + Feb 29 -> March 1st), and
     * in 2025 March 2nd. DST from 00:00 local on those days to J300. 2024-03-01 is day D2025 -
     * 366 + 60 = 19783. */
    z.footer = "AAA0BBB,J60/0,J300";
    ASSERT_OK(load_spec(&z, &tz, why, sizeof(why)));
    ASSERT_EQ(off(tz, S(19783, -1)), 0);
    ASSERT_EQ(off(tz, S(19783, 0)), 3600);
    slo_tz_free(tz);
    z.footer = "AAA0BBB,60/0,J300";
    ASSERT_OK(load_spec(&z, &tz, why, sizeof(why)));
    ASSERT_EQ(off(tz, S(19783, -1)), 0);
    ASSERT_EQ(off(tz, S(19783, 0)), 3600);
    ASSERT_EQ(off(tz, S(D2025 + 60, -1)), 0); /* 2025: index 60 is March 2nd */
    ASSERT_EQ(off(tz, S(D2025 + 60, 0)), 3600);
    slo_tz_free(tz);
    /* An empty footer: the last type (here the only one) after the table. */
    z.footer = "";
    ASSERT_OK(load_spec(&z, &tz, why, sizeof(why)));
    ASSERT_EQ(off(tz, S(D2040, 0)), 0);
    slo_tz_free(tz);
}

static void test_built_errors(void)
{
    static const int64_t times2[] = {2000, 1000};
    static const uint8_t idx2[] = {0, 0};
    static const uint8_t bad_idx[] = {1};
    static const int64_t times1[] = {1000};
    static const int32_t utoff[] = {0};
    static const int32_t big[] = {93600};
    struct slo_tz *tz = NULL;
    char why[256];

    struct zone_spec z = {1, times2, idx2, 2, utoff, 1, 0, NULL};
    ASSERT_EQ(load_spec(&z, &tz, why, sizeof(why)), AG_EPROTO);
    ASSERT_STREQ(why, "TZif: transition 1 is not after transition 0\n");
    ASSERT_NULL(tz);

    z = (struct zone_spec){1, times1, bad_idx, 1, utoff, 1, 0, NULL};
    ASSERT_EQ(load_spec(&z, &tz, why, sizeof(why)), AG_EPROTO);
    ASSERT_STREQ(why, "TZif: a transition names a time type beyond typecnt\n");

    z = (struct zone_spec){1, NULL, NULL, 0, big, 1, 0, NULL};
    ASSERT_EQ(load_spec(&z, &tz, why, sizeof(why)), AG_EPROTO);
    ASSERT_STRCONTAINS(why, "UT offset");

    z = (struct zone_spec){1, NULL, NULL, 0, utoff, 0, 0, NULL};
    ASSERT_EQ(load_spec(&z, &tz, why, sizeof(why)), AG_EPROTO);
    ASSERT_STRCONTAINS(why, "typecnt");

    z = (struct zone_spec){2, NULL, NULL, 0, utoff, 1, 1, "UTC0"};
    ASSERT_EQ(load_spec(&z, &tz, why, sizeof(why)), AG_EUNSUPP);
    ASSERT_STRCONTAINS(why, "leap-second");

    static const char *const bad_footers[] = {"CET", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
                                              "CET-1CEST,M3.6.0,M10.5.0", "1CET", "CE-1",
                                              "<+03-3", "CET-1CEST,J0,J300", "CET-25",
                                              "CET-1CEST,M3.5.0,M10.5.0/168", "CET-1 "};
    for (size_t i = 0; i < sizeof(bad_footers) / sizeof(bad_footers[0]); i++) {
        z = (struct zone_spec){2, NULL, NULL, 0, utoff, 1, 0, bad_footers[i]};
        int rc = load_spec(&z, &tz, why, sizeof(why));
        if (rc != AG_EPROTO) {
            printf("# footer \"%s\": %d\n", bad_footers[i], rc);
        }
        ASSERT_EQ(rc, AG_EPROTO);
        ASSERT_STRCONTAINS(why, "TZif: footer");
    }
    z = (struct zone_spec){2, NULL, NULL, 0, utoff, 1, 0, "CET-1CEST"};
    ASSERT_EQ(load_spec(&z, &tz, why, sizeof(why)), AG_EUNSUPP);
    ASSERT_STREQ(why, "TZif: footer: DST without a rule\n");

    /* Byte-level damage to a valid version 2 file. */
    struct ag_buf b;
    z = (struct zone_spec){2, times1, idx2, 1, utoff, 1, 0, "UTC0"};
    build(&b, &z);
    const uint8_t *p = ag_buf_ptr(&b);
    ASSERT_OK(slo_tz_new(p, b.len, NULL, &tz));
    slo_tz_free(tz);
    for (size_t n = 0; n < b.len; n++) {
        ASSERT_EQ(slo_tz_new(p, n, NULL, &tz), AG_EPROTO); /* every truncation */
        ASSERT_NULL(tz);
    }
    uint8_t *copy = ag_malloc(b.len + 1);
    ASSERT_NOT_NULL(copy);
    memcpy(copy, p, b.len);
    copy[b.len] = 'x';
    ASSERT_EQ(slo_tz_new(copy, b.len + 1, NULL, &tz), AG_EPROTO); /* trailing byte */
    copy[0] = 'X';
    ASSERT_EQ(slo_tz_new(copy, b.len, NULL, &tz), AG_EPROTO); /* magic */
    copy[0] = 'T';
    copy[4] = '9';
    ASSERT_EQ(slo_tz_new(copy, b.len, NULL, &tz), AG_EPROTO); /* version */
    ag_free(copy);
    ag_buf_cleanup(&b);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    static const int32_t utoff[] = {3600, 7200};
    static const int64_t times[] = {1000};
    static const uint8_t idx[] = {1};
    struct zone_spec z = {2, times, idx, 1, utoff, 2, 0, "CET-1CEST,M3.5.0,M10.5.0/3"};
    struct ag_buf b;
    build(&b, &z);
    for (long n = 0; n < 100; n++) {
        struct slo_tz *tz = NULL;
        ag_mem_fail_after(n);
        int rc = slo_tz_new(ag_buf_ptr(&b), b.len, NULL, &tz);
        ag_mem_fail_after(-1);
        slo_tz_free(tz);
        if (rc == 0) {
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
    }
    ag_buf_cleanup(&b);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_berlin), AG_TEST_CASE(test_new_york), AG_TEST_CASE(test_havana),
             AG_TEST_CASE(test_apia), AG_TEST_CASE(test_built_v1), AG_TEST_CASE(test_built_footers),
             AG_TEST_CASE(test_built_errors), AG_TEST_CASE(test_failmalloc))
