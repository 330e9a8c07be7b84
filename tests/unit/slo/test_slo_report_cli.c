/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the pure parts of `slo report`'s remote sources (slo/cli/slo_report_cli.h):
 * the ranges and periods GetMetricData is asked for under CloudWatch's retention
 * (slo_cw_periods) and the agent's /v1/slo URL (slo_agent_url). Expected values by hand.
 */
#include "ag_test.h"
#include "slo_report_cli.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define T 1738317600000LL /* 2025-01-31T10:00:00Z, a whole hour */

static void test_periods(void)
{
    struct slo_cw_span s[3];
    /* 30 days up to now: [T - 30d, T - 15d) in 5-minute sums, then 1-minute sums; nothing
     * hourly (T - 63d is before the start). */
    ASSERT_EQ(slo_cw_periods(T - 30 * DAY_MS, T, T, s), 2);
    ASSERT_EQ(s[0].start_ms, T - 30 * DAY_MS);
    ASSERT_EQ(s[0].end_ms, T - 15 * DAY_MS);
    ASSERT_EQ(s[0].period_s, 300);
    ASSERT_EQ(s[1].start_ms, T - 15 * DAY_MS);
    ASSERT_EQ(s[1].end_ms, T);
    ASSERT_EQ(s[1].period_s, 60);

    /* 90 days and 30 minutes back, to T - 1d + 30 s: the start aligned down to the hour
     * (T - 90d - 1h), hourly to T - 63d, 5-minute to T - 15d, 1-minute to T - 1d (the partial
     * minute left out). */
    ASSERT_EQ(slo_cw_periods(T - 90 * DAY_MS - 30 * MIN_MS, T - DAY_MS + 30000, T, s), 3);
    ASSERT_EQ(s[0].start_ms, T - 90 * DAY_MS - HOUR_MS);
    ASSERT_EQ(s[0].end_ms, T - 63 * DAY_MS);
    ASSERT_EQ(s[0].period_s, 3600);
    ASSERT_EQ(s[1].start_ms, T - 63 * DAY_MS);
    ASSERT_EQ(s[1].end_ms, T - 15 * DAY_MS);
    ASSERT_EQ(s[1].period_s, 300);
    ASSERT_EQ(s[2].start_ms, T - 15 * DAY_MS);
    ASSERT_EQ(s[2].end_ms, T - DAY_MS);
    ASSERT_EQ(s[2].period_s, 60);

    /* An hour 20 days ago: its 1-minute sums are gone (kept 15 days), so 5-minute sums. */
    ASSERT_EQ(slo_cw_periods(T - HOUR_MS, T, T + 20 * DAY_MS, s), 1);
    ASSERT_EQ(s[0].start_ms, T - HOUR_MS);
    ASSERT_EQ(s[0].end_ms, T);
    ASSERT_EQ(s[0].period_s, 300);

    /* Nothing to ask: an empty or reversed range, or less than a whole minute. */
    ASSERT_EQ(slo_cw_periods(T, T, T, s), 0);
    ASSERT_EQ(slo_cw_periods(T, T - MIN_MS, T, s), 0);
    ASSERT_EQ(slo_cw_periods(T + 1000, T + 59000, T + DAY_MS, s), 0);
}

static void test_agent_url(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"http://127.0.0.1:8888", 0, "http://127.0.0.1:8888/v1/slo"},
        {"http://127.0.0.1:8888/", 0, "http://127.0.0.1:8888/v1/slo"},
        {"http://127.0.0.1:8888//", 0, "http://127.0.0.1:8888/v1/slo"},
        {"https://agent.example:8443/v1/slo", 0, "https://agent.example:8443/v1/slo"},
        {"http://h/other", AG_EINVAL, NULL},
        {"http://h/v1/slo/x", AG_EINVAL, NULL},
        {"http://h/?a=1", AG_EINVAL, NULL},
        {"http://h#x", AG_EINVAL, NULL},
        {"ftp://h", AG_EINVAL, NULL},
        {"http://", AG_EINVAL, NULL},
        {"127.0.0.1:8888", AG_EINVAL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[128] = "";
        ASSERT_EQ(slo_agent_url(cases[i].in, buf, sizeof(buf)), cases[i].rc);
        if (cases[i].out != NULL) {
            ASSERT_STREQ(buf, cases[i].out);
        }
    }
    char small[16];
    ASSERT_EQ(slo_agent_url("http://127.0.0.1:8888", small, sizeof(small)), AG_ETOOBIG);
}

AG_TEST_MAIN(AG_TEST_CASE(test_periods), AG_TEST_CASE(test_agent_url))
