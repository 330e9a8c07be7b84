/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ag_time: the two clocks, and Go-style durations as collector configs write them
 * ("200ms", "1m30s", "1.5s"), including every way a duration can be malformed or overflow.
 */
#include "ag_test.h"
#include "ag_time.h"

#include <stdint.h>

static void test_clocks(void)
{
    uint64_t now = ag_time_now_ns();
    ASSERT(now > 1577836800ull * 1000000000ull); /* after 2020-01-01 */
    uint64_t m1 = ag_time_mono_ns();
    uint64_t m2 = ag_time_mono_ns();
    ASSERT(m1 > 0);
    ASSERT(m2 >= m1);
}

static void test_valid_durations(void)
{
    static const struct {
        const char *s;
        uint64_t ns;
    } cases[] = {
        {"200ms", 200000000ull},
        {"1m30s", 90000000000ull},
        {"1.5s", 1500000000ull},
        {"0", 0},
        {"0s", 0},
        {"1h", 3600000000000ull},
        {"2h45m", 9900000000000ull},
        {"500us", 500000ull},
        {"500\xc2\xb5s", 500000ull}, /* U+00B5 MICRO SIGN */
        {"10ns", 10ull},
        {"1.25m", 75000000000ull},
        {"0.5ms", 500000ull},
        {"1h1m1s1ms1us1ns", 3661001001001ull},
        {"007s", 7000000000ull},
        {"1.s", 1000000000ull},
        {"18446744073s", 18446744073000000000ull},
        {"18446744073709551615ns", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t out = 12345;
        int rc = ag_time_parse_duration(cases[i].s, &out);
        if (rc != 0 || out != cases[i].ns) {
            AG_TEST_FAIL_("\"%s\": rc %d, %" PRIu64 " ns, expected %" PRIu64, cases[i].s, rc,
                          out, cases[i].ns);
        }
    }
}

/* Forms Go's time.ParseDuration takes that collector configs may carry. */
static void test_go_forms(void)
{
    uint64_t out = 0;
    ASSERT_OK(ag_time_parse_duration(".5s", &out));
    ASSERT_UEQ(out, 500000000ull);
    ASSERT_OK(ag_time_parse_duration("1\xce\xbcs", &out)); /* Greek mu */
    ASSERT_UEQ(out, 1000ull);
    ASSERT_OK(ag_time_parse_duration("2\xc2\xb5s", &out)); /* micro sign */
    ASSERT_UEQ(out, 2000ull);
    ASSERT_EQ(ag_time_parse_duration(".s", &out), AG_EINVAL);
}

static void test_invalid_durations(void)
{
    static const char *bad[] = {
        "",      "5",     "-1s",  "1x",   "+1s",  "s",     "1.5",   "1m30",  " 1s", "1s ",
        "1 s",   "1S",    "1sec", "1..5s", ".",   "1e3s",  "0x10s", "1,5s",  "1m-30s",
        "1ms\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t out = 12345;
        int rc = ag_time_parse_duration(bad[i], &out);
        if (rc != AG_EINVAL || out != 0) {
            AG_TEST_FAIL_("\"%s\": rc %d, out %" PRIu64 ", expected AG_EINVAL and 0", bad[i], rc,
                          out);
        }
    }
    uint64_t out = 1;
    ASSERT_EQ(ag_time_parse_duration(NULL, &out), AG_EINVAL);
    ASSERT_UEQ(out, 0);
}

static void test_overflow(void)
{
    static const char *over[] = {
        "18446744074s",            /* whole seconds past UINT64_MAX ns */
        "99999999999999999999ns",  /* the number itself does not fit */
        "5124096h",                /* units multiplied past the limit */
        "5124095h5124095h",        /* each part fits, the sum does not */
        "18446744073.9s",          /* the fraction pushes it over */
        "18446744073709551615ns1ns",
        "1000000000000000000000000000000000000000s",
    };
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        uint64_t out = 12345;
        int rc = ag_time_parse_duration(over[i], &out);
        if (rc != AG_EINVAL || out != 0) {
            AG_TEST_FAIL_("\"%s\": rc %d, out %" PRIu64 ", expected AG_EINVAL", over[i], rc, out);
        }
    }
    /* The largest representable values still parse. */
    uint64_t out = 0;
    ASSERT_OK(ag_time_parse_duration("5124095h", &out));
    ASSERT_UEQ(out, 5124095ull * 3600000000000ull);
    ASSERT_OK(ag_time_parse_duration("18446744073.7s", &out));
    ASSERT_UEQ(out, 18446744073700000000ull);
}

static void test_fraction_digits(void)
{
    uint64_t out = 0;
    /* Fractions are exact to the microsecond of each unit; later digits are dropped. */
    ASSERT_OK(ag_time_parse_duration("1.000001s", &out));
    ASSERT_UEQ(out, 1000001000ull);
    ASSERT_OK(ag_time_parse_duration("2.5h", &out));
    ASSERT_UEQ(out, 9000000000000ull);
    ASSERT_OK(ag_time_parse_duration("0.999999999999s", &out));
    ASSERT_UEQ(out, 999999000ull);
}

AG_TEST_MAIN(AG_TEST_CASE(test_go_forms), AG_TEST_CASE(test_clocks), AG_TEST_CASE(test_valid_durations),
             AG_TEST_CASE(test_invalid_durations), AG_TEST_CASE(test_overflow),
             AG_TEST_CASE(test_fraction_digits))
