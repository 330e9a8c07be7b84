/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_decimal: parsing objectives and thresholds from text into num / 10^k, the
 * errors for malformed text, the exact comparisons and the floating-point traps of
 * specs/slo.md §11.1 (each expectation is worked out by hand in the comment beside it).
 */
#include "ag_test.h"
#include "slo_decimal.h"

static int parse(const char *s, struct slo_decimal *d, struct slo_decimal_error *e)
{
    return slo_decimal_parse(s, strlen(s), d, e);
}

static int objective(const char *s, enum slo_objective_unit u, struct slo_decimal *d,
                     struct slo_decimal_error *e)
{
    return slo_objective_parse(s, strlen(s), u, d, e);
}

static void test_parse_plain(void)
{
    struct slo_decimal d;
    ASSERT_OK(parse("99.9", &d, NULL)); /* 999 / 10 */
    ASSERT_UEQ(d.num, 999);
    ASSERT_UEQ(d.den, 10);
    ASSERT_EQ(d.scale, 1);
    ASSERT_OK(parse("14.4", &d, NULL)); /* 144 / 10 */
    ASSERT_UEQ(d.num, 144);
    ASSERT_UEQ(d.den, 10);
    ASSERT_OK(parse("6", &d, NULL)); /* 6 / 1 */
    ASSERT_UEQ(d.num, 6);
    ASSERT_UEQ(d.den, 1);
    ASSERT_OK(parse("0.5", &d, NULL)); /* 5 / 10 */
    ASSERT_UEQ(d.num, 5);
    ASSERT_UEQ(d.den, 10);
    ASSERT_OK(parse("007.50", &d, NULL)); /* leading and trailing zeros dropped: 75 / 10 */
    ASSERT_UEQ(d.num, 75);
    ASSERT_UEQ(d.den, 10);
    ASSERT_OK(parse("0", &d, NULL));
    ASSERT_UEQ(d.num, 0);
    ASSERT_UEQ(d.den, 1);
    ASSERT_OK(parse("0.000000000000000001", &d, NULL)); /* 1 / 10^18: the finest scale */
    ASSERT_UEQ(d.num, 1);
    ASSERT_UEQ(d.den, 1000000000000000000ull);
    /* 18 significant digits fit; trailing zeros beyond 18 decimals are not significant. */
    ASSERT_OK(parse("999999999999999999", &d, NULL));
    ASSERT_UEQ(d.num, 999999999999999999ull);
    ASSERT_OK(parse("99.9000000000000000000000000", &d, NULL));
    ASSERT_UEQ(d.num, 999);
    ASSERT_UEQ(d.den, 10);
}

static void test_parse_errors(void)
{
    struct slo_decimal d;
    struct slo_decimal_error e;
    ASSERT_EQ(parse("", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 0);
    ASSERT_STRCONTAINS(e.msg, "got nothing");
    ASSERT_EQ(parse("9x", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 1);
    ASSERT_STRCONTAINS(e.msg, "got 'x'");
    ASSERT_EQ(parse("99.", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 3);
    ASSERT_STRCONTAINS(e.msg, "after the decimal point");
    ASSERT_EQ(parse("99.x", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 3);
    ASSERT_STRCONTAINS(e.msg, "got 'x'");
    ASSERT_EQ(parse(".5", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 0);
    ASSERT_STRCONTAINS(e.msg, "expected a digit, got '.'");
    ASSERT_EQ(parse("-1", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 0);
    ASSERT_EQ(parse("+1", &d, &e), AG_EPROTO);
    ASSERT_EQ(parse("1e3", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 1);
    ASSERT_STRCONTAINS(e.msg, "got 'e'");
    ASSERT_EQ(parse(" 99", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 0);
    ASSERT_EQ(parse("99.9 ", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 4);
    ASSERT_STRCONTAINS(e.msg, "expected a digit or the end, got ' '");
    ASSERT_EQ(parse("1.2.3", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 3);
    ASSERT_EQ(parse("99,9", &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 2);
    ASSERT_STRCONTAINS(e.msg, "expected a digit, '.' or the end, got ','");
    ASSERT_EQ(slo_decimal_parse("9\0009", 3, &d, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 1);
    ASSERT_STRCONTAINS(e.msg, "byte 0x00");
    ASSERT_EQ(parse("1234567890123456789", &d, &e), AG_ETOOBIG); /* 19 significant digits */
    ASSERT_EQ(e.offset, 18);
    ASSERT_EQ(parse("0.0000000000000000001", &d, &e), AG_ETOOBIG); /* 19 decimals */
    ASSERT_UEQ(d.num, 0);
    ASSERT_UEQ(d.den, 0);
    /* err may be NULL. */
    ASSERT_EQ(parse("x", &d, NULL), AG_EPROTO);
}

static void test_objective_percent(void)
{
    struct slo_decimal o;
    struct slo_decimal_error e;
    ASSERT_OK(objective("99.9", SLO_OBJ_PERCENT, &o, NULL)); /* 99.9 % = 999 / 1000 */
    ASSERT_UEQ(o.num, 999);
    ASSERT_UEQ(o.den, 1000);
    ASSERT_UEQ(slo_objective_budget_num(&o), 1); /* 1 - o = 1 / 1000, exactly */
    ASSERT_OK(objective("90", SLO_OBJ_PERCENT, &o, NULL)); /* 90 / 100 = 9 / 10 */
    ASSERT_UEQ(o.num, 9);
    ASSERT_UEQ(o.den, 10);
    ASSERT_UEQ(slo_objective_budget_num(&o), 1); /* 1 - 0.9 = 1 / 10, not 0.0999...98 */
    ASSERT_OK(objective("99.95", SLO_OBJ_PERCENT, &o, NULL)); /* 9995 / 10000 */
    ASSERT_UEQ(o.num, 9995);
    ASSERT_UEQ(o.den, 10000);
    ASSERT_OK(objective("99.9999", SLO_OBJ_PERCENT, &o, NULL)); /* 999999 ppm */
    ASSERT_UEQ(o.num, 999999);
    ASSERT_UEQ(o.den, 1000000);
    /* Finer than ppm is kept exactly (the spec's generalisation to num / 10^k). */
    ASSERT_OK(objective("99.99999", SLO_OBJ_PERCENT, &o, NULL));
    ASSERT_UEQ(o.num, 9999999);
    ASSERT_UEQ(o.den, 10000000);
    ASSERT_OK(objective("0.5", SLO_OBJ_PERCENT, &o, NULL)); /* 0.5 % = 5 / 1000 */
    ASSERT_UEQ(o.num, 5);
    ASSERT_UEQ(o.den, 1000);
    ASSERT_EQ(objective("100", SLO_OBJ_PERCENT, &o, &e), AG_EINVAL);
    ASSERT_STRCONTAINS(e.msg, "below 100");
    ASSERT_EQ(objective("0", SLO_OBJ_PERCENT, &o, &e), AG_EINVAL);
    ASSERT_EQ(objective("0.000", SLO_OBJ_PERCENT, &o, &e), AG_EINVAL);
    ASSERT_EQ(objective("150", SLO_OBJ_PERCENT, &o, &e), AG_EINVAL);
    ASSERT_EQ(objective("99.9%", SLO_OBJ_PERCENT, &o, &e), AG_EPROTO);
    ASSERT_EQ(e.offset, 4);
    /* 17 decimals in percent need 10^19: too fine. */
    ASSERT_EQ(objective("99.99999999999999999", SLO_OBJ_PERCENT, &o, &e), AG_ETOOBIG);
    ASSERT_OK(objective("99.9999999999999999", SLO_OBJ_PERCENT, &o, &e)); /* 16: fits */
    ASSERT_UEQ(o.den, 1000000000000000000ull);
}

static void test_objective_fraction(void)
{
    struct slo_decimal o;
    struct slo_decimal_error e;
    ASSERT_OK(objective("0.999", SLO_OBJ_FRACTION, &o, NULL)); /* OpenSLO target: 999 / 1000 */
    ASSERT_UEQ(o.num, 999);
    ASSERT_UEQ(o.den, 1000);
    ASSERT_EQ(objective("1", SLO_OBJ_FRACTION, &o, &e), AG_EINVAL);
    ASSERT_STRCONTAINS(e.msg, "below 1");
    ASSERT_EQ(objective("99.9", SLO_OBJ_FRACTION, &o, &e), AG_EINVAL);
    ASSERT_EQ(objective("0", SLO_OBJ_FRACTION, &o, &e), AG_EINVAL);
}

/* §11.1: each double trap, and the integer answer Otter gives instead. */
static void test_float_traps(void)
{
    struct slo_decimal o90, o999, six;
    ASSERT_OK(objective("90", SLO_OBJ_PERCENT, &o90, NULL));
    ASSERT_OK(objective("99.9", SLO_OBJ_PERCENT, &o999, NULL));
    ASSERT_OK(parse("6", &six, NULL));
    /* (1 - 0.9) * 10 = 0.9999999999999998 in doubles;
     * floor(e * N / den) = floor(1 * 10 / 10) = 1. */
    ASSERT_UEQ(slo_objective_budget_num(&o90) * 10 / o90.den, 1);
    /* 99.9 / 100 = 0.9990000000000001 in doubles; 999 good of 1000: good * den >= num * total
     * is 999 * 1000 >= 999 * 1000: true. */
    ASSERT(slo_cmp3(999, o999.den, 1, o999.num, 1000, 1) >= 0);
    /* 1 - 0.999 = 0.0009999999999999432 in doubles; here e / den = 1 / 1000. */
    ASSERT_UEQ(slo_objective_budget_num(&o999), 1);
    ASSERT_UEQ(o999.den, 1000);
    /* 0.6 / (1 - 0.9) = 6.000000000000001 in doubles; 6 of 10 bad at 90 % burns exactly 6:
     * bad * den * x_den = 6 * 10 * 1 = 60 and x_num * e * total = 6 * 1 * 10 = 60: not > 6. */
    ASSERT_EQ(slo_cmp3(6, o90.den, six.den, six.num, slo_objective_budget_num(&o90), 10), 0);
}

static void test_cmp(void)
{
    const uint64_t m = UINT64_MAX;
    struct slo_decimal a, b;
    ASSERT_EQ(slo_cmp3(m, m, m, m, m, m), 0);
    ASSERT_EQ(slo_cmp3(m, m, m - 1, m, m, m), -1);
    ASSERT_EQ(slo_cmp3(m, m, m, m - 1, m, m), 1);
    /* 2^64 * 2^64 * 1 vs (2^64 - 1)^2 * 2: 2^128 < 2^129 - 2^66 + 2. Needs the 256-bit path. */
    ASSERT_EQ(slo_cmp3(1ull << 32, 1ull << 32, m, m, m, 2), -1);
    ASSERT_EQ(slo_cmp3(0, m, m, 0, 1, 1), 0);
    ASSERT_EQ(slo_cmp_wide((slo_u128)m * m, m, (slo_u128)m * m, m), 0);
    ASSERT_OK(parse("0.5", &a, NULL));
    ASSERT_OK(parse("0.50000", &b, NULL));
    ASSERT_EQ(slo_decimal_cmp(&a, &b), 0);
    ASSERT_OK(parse("0.49999999999999999", &b, NULL));
    ASSERT_EQ(slo_decimal_cmp(&a, &b), 1);
}

static void test_format(void)
{
    struct slo_decimal o;
    char buf[32];
    ASSERT_OK(objective("99.9", SLO_OBJ_PERCENT, &o, NULL));
    ASSERT_EQ(slo_objective_format_percent(&o, buf, sizeof(buf)), 4);
    ASSERT_STREQ(buf, "99.9");
    ASSERT_EQ(slo_decimal_format(&o, buf, sizeof(buf)), 5);
    ASSERT_STREQ(buf, "0.999");
    ASSERT_OK(objective("90", SLO_OBJ_PERCENT, &o, NULL)); /* 9 / 10, scale 1 */
    ASSERT_EQ(slo_objective_format_percent(&o, buf, sizeof(buf)), 2);
    ASSERT_STREQ(buf, "90");
    ASSERT_OK(objective("0.05", SLO_OBJ_PERCENT, &o, NULL)); /* 5 / 10000 */
    ASSERT_EQ(slo_objective_format_percent(&o, buf, sizeof(buf)), 4);
    ASSERT_STREQ(buf, "0.05");
    ASSERT_OK(objective("99.95", SLO_OBJ_PERCENT, &o, NULL));
    ASSERT_EQ(slo_objective_format_percent(&o, buf, 5), AG_ETOOBIG); /* "99.95" needs 6 */
    ASSERT_STREQ(buf, "");
    /* Display conversion: 999 / 1000 to the nearest double, 24 / 10 = 2.4. */
    ASSERT(slo_ratio_to_double(999, 1000) == 0.999);
    ASSERT(slo_ratio_to_double(24, 10) == 2.4);
    ASSERT(slo_ratio_to_double(1, 0) == 0.0);
}

AG_TEST_MAIN(AG_TEST_CASE(test_parse_plain), AG_TEST_CASE(test_parse_errors),
             AG_TEST_CASE(test_objective_percent), AG_TEST_CASE(test_objective_fraction),
             AG_TEST_CASE(test_float_traps), AG_TEST_CASE(test_cmp), AG_TEST_CASE(test_format))
