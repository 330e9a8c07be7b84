/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_sampling: a span's adjusted count from its W3C tracestate (the
 * OpenTelemetry `ot` entry's `th` threshold, the older `p` value), in 32.32 fixed point, and
 * every way a tracestate is refused. Each weight is worked out by hand in the comment next to it.
 */
#include "ag_test.h"
#include "slo_sampling.h"

#include <string.h>

#define ONE SLO_WEIGHT_ONE

static void expect(const char *ts, enum slo_ts_status want, slo_u128 w_want)
{
    slo_u128 w = 12345;
    const char *why = NULL;
    enum slo_ts_status st = slo_tracestate_weight(ts, strlen(ts), &w, &why);
    ASSERT(st != SLO_TS_MALFORMED || why != NULL);
    if (st != want || w != w_want) {
        printf("# %s: status %d weight %llu * 2^-32 (+ 2^64 * %llu)\n", ts, (int)st,
               (unsigned long long)(uint64_t)w, (unsigned long long)(uint64_t)(w >> 64));
    }
    ASSERT_EQ(st, want);
    ASSERT(w == w_want);
}

static void test_th(void)
{
    /* th is 1..14 hex digits, right-padded with zeros to 14 (56 bits): T; count 2^56 / (2^56 - T).
     * th:0: T = 0, count 1 (100 % sampling). */
    expect("ot=th:0", SLO_TS_ADJUSTED, ONE);
    /* th:8: T = 0x80000000000000 = 2^55; 2^56 / 2^55 = 2. */
    expect("ot=th:8", SLO_TS_ADJUSTED, 2 * ONE);
    /* th:c: T = 0xc0000000000000 = 3 * 2^54; 2^56 / 2^54 = 4 (the Python SDK's ratio 0.25). */
    expect("ot=th:c", SLO_TS_ADJUSTED, 4 * ONE);
    /* th:f: 2^56 - 15 * 2^52 = 2^52: 16. th:fc: 2^56 - 252 * 2^48 = 4 * 2^48 = 2^50: 64. */
    expect("ot=th:f", SLO_TS_ADJUSTED, 16 * ONE);
    expect("ot=th:fc", SLO_TS_ADJUSTED, 64 * ONE);
    /* Hex digits in upper case too (TraceState Handling: hexdigit = DIGIT / A-F / a-f). */
    expect("ot=th:FC", SLO_TS_ADJUSTED, 64 * ONE);
    /* th:aaab ("1 in 3", 4 digits): 2^56 - 0xaaab * 2^40 = (65536 - 43691) * 2^40 = 21845 * 2^40;
     * count 65536 / 21845 = 3.0000457770657...; in 2^-32: 2^48 / 21845 = 12885098499 + 1/21845,
     * rounded to 12885098499 (= 3 * 2^32 + 196611). */
    expect("ot=th:aaab", SLO_TS_ADJUSTED, 12885098499u);
    /* All 14 digits: th:ffffffffffffff = 2^56 - 1: count 2^56 (the smallest probability). */
    expect("ot=th:ffffffffffffff", SLO_TS_ADJUSTED, (slo_u128)1 << 88);
    /* rv >= th: consistent (a kept span); rv < th: inconsistent, count 1 and refused. */
    expect("ot=rv:ffffffffffffff;th:8", SLO_TS_ADJUSTED, 2 * ONE);
    expect("ot=th:8;rv:80000000000000", SLO_TS_ADJUSTED, 2 * ONE);
    expect("ot=th:8;rv:7fffffffffffff", SLO_TS_MALFORMED, ONE);
    /* Other sub-keys are kept apart; th wins over an older p. */
    expect("ot=th:c;foo:bar;k1:13", SLO_TS_ADJUSTED, 4 * ONE);
    expect("ot=p:1;th:c", SLO_TS_ADJUSTED, 4 * ONE);
}

static void test_p(void)
{
    /* The older experimental form: p in [0, 62] gives 2^p; p = 63 zero adjusted count. */
    expect("ot=p:0", SLO_TS_ADJUSTED, ONE);
    expect("ot=p:2", SLO_TS_ADJUSTED, 4 * ONE);
    expect("ot=r:3;p:2", SLO_TS_ADJUSTED, 4 * ONE); /* p <= r: consistent */
    expect("ot=p:62", SLO_TS_ADJUSTED, (slo_u128)1 << 94);
    expect("ot=p:63", SLO_TS_ADJUSTED, 0);
    expect("ot=r:1;p:63", SLO_TS_ADJUSTED, 0);   /* p = 63 needs no p <= r */
    expect("ot=r:1;p:2", SLO_TS_MALFORMED, ONE); /* sampled yet p > r */
    expect("ot=p:64", SLO_TS_MALFORMED, ONE);
    expect("ot=r:63;p:1", SLO_TS_MALFORMED, ONE);
    expect("ot=p:1000", SLO_TS_MALFORMED, ONE);
    expect("ot=p:-1", SLO_TS_MALFORMED, ONE);
    /* r alone says nothing about this span's probability. */
    expect("ot=r:5", SLO_TS_NONE, ONE);
}

static void test_w3c_list(void)
{
    /* Nothing about probability: no tracestate, other vendors only, an ot without th or p. */
    expect("", SLO_TS_NONE, ONE);
    expect("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", SLO_TS_NONE, ONE);
    expect("ot=rv:abcdefabcdefab", SLO_TS_NONE, ONE);
    /* ot among other vendors, with spaces and tabs around members, empty members. */
    expect("rojo=00f067aa0ba902b7, ot=th:8 ,\tcongo=t61rcWkgMzE", SLO_TS_ADJUSTED, 2 * ONE);
    expect(",,ot=th:c,,", SLO_TS_ADJUSTED, 4 * ONE);
    expect("vendor@tenant=x,ot=th:8", SLO_TS_ADJUSTED, 2 * ONE);
    /* A key that only starts with "ot" is another vendor's. */
    expect("otx=th:8,ot2=th:c", SLO_TS_NONE, ONE);
    /* Only |len| bytes are read: "ot=th:8" of "ot=th:8f". */
    slo_u128 w = 0;
    ASSERT_EQ(slo_tracestate_weight("ot=th:8f", 7, &w, NULL), SLO_TS_ADJUSTED);
    ASSERT(w == 2 * ONE);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "ot=th:",                /* th without digits */
        "ot=th:123456789abcdef", /* 15 digits */
        "ot=th:8g",              /* not hex */
        "ot=th:8;th:c",          /* th twice */
        "ot=th:8,ot=th:c",       /* ot twice */
        "ot",                    /* a member without '=' */
        "=th:8",                 /* an empty key */
        "ot=",                   /* an empty ot value */
        "ot=th:8;",              /* an empty sub-key */
        "ot=TH:8",               /* sub-keys are lower case */
        "ot=th:8;x",             /* not key:value */
        "ot=th:8;k:v@w",         /* a character outside A-Z a-z 0-9 . _ - */
        "ot=th:8 ;k:v",          /* a space inside the ot value */
        "ot=rv:123",             /* rv not 14 digits */
        "ot=rv:ffffffffffffff;rv:ffffffffffffff;th:8",
        "ot=p:1;p:1",
        "ot=r:1;r:1;p:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect(bad[i], SLO_TS_MALFORMED, ONE);
    }
    /* The ot value may hold at most 256 characters: "th:8" and 84 ";x:" (an empty value) are
     * 4 + 84 * 3 = 256: read; one ";x:" more is 259: refused. */
    char long_ts[512] = "ot=th:8";
    size_t n = strlen(long_ts);
    for (int i = 0; i < 84; i++) {
        memcpy(long_ts + n, ";x:", 4);
        n += 3;
    }
    expect(long_ts, SLO_TS_ADJUSTED, 2 * ONE);
    memcpy(long_ts + n, ";x:", 4);
    expect(long_ts, SLO_TS_MALFORMED, ONE);
}

AG_TEST_MAIN(AG_TEST_CASE(test_th), AG_TEST_CASE(test_p), AG_TEST_CASE(test_w3c_list),
             AG_TEST_CASE(test_malformed))
