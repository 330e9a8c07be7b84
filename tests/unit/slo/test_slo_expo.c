/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_expo: which buckets of an OTLP exponential histogram lie at or below a
 * decimal threshold (exactly, where doubles cannot tell the thresholds apart), bucket bounds,
 * the zero and negative buckets, and the good counts of a point at every coarser scale. Every
 * expectation is worked out by hand in the comment next to it, or comes from expo_vectors.h
 * (make_expo_vectors.py: 100-digit logarithms and big-integer comparisons, not slo_expo.c).
 */
#include "ag_test.h"
#include "slo_expo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct expo_vector {
    const char *t;
    long long k20;
};

#include "expo_vectors.h"

/* Threshold |text| prepared; a failure fails the test (the ASSERT macros return void). */
static struct slo_expo_thr thr(const char *text)
{
    struct slo_decimal d;
    struct slo_expo_thr t;
    memset(&t, 0, sizeof(t));
    if (slo_decimal_parse(text, strlen(text), &d, NULL) != 0 || slo_expo_thr_init(&d, &t) != 0) {
        printf("# threshold %s refused\n", text);
        ag_test_current.failed = 1;
    }
    return t;
}

static void test_cuts_by_hand(void)
{
    /* T = 4 = 2^2: at scale 0 (base 2) bucket i covers (2^i, 2^(i+1)]; i = 1 is (2, 4], whose
     * bound 4 <= 4: good; i = 2 is (4, 8]: not. k_0 = 2 (i < 2 good). At scale 3 the bound
     * 2^(16/8) = 4: k_3 = 16. At scale -1 (base 4) bucket 0 is (1, 4]: k_-1 = 1; at scale -2
     * (base 16) bucket 0 is (1, 16], above 4: k_-2 = floor(2 / 4) = 0. */
    struct slo_expo_thr t = thr("4");
    ASSERT(t.pow2);
    ASSERT_EQ(t.e2, 2);
    ASSERT_EQ(slo_expo_cut(&t, 0), 2);
    ASSERT_EQ(slo_expo_cut(&t, 3), 16);
    ASSERT_EQ(slo_expo_cut(&t, 20), 2 << 20);
    ASSERT_EQ(slo_expo_cut(&t, -1), 1);
    ASSERT_EQ(slo_expo_cut(&t, -2), 0);
    /* 4 is a bound at every scale >= 0, at -1 (4^1), not at -2 (bounds 16^k). */
    ASSERT(slo_expo_is_bound(&t, 0) && slo_expo_is_bound(&t, 20) && slo_expo_is_bound(&t, -1));
    ASSERT(!slo_expo_is_bound(&t, -2));
    ASSERT(slo_expo_effective_bound(&t, 3) == 4.0);
    ASSERT(slo_expo_effective_bound(&t, -2) == 1.0);

    /* T = 0.3: log2 0.3 = -1.73697; scale 3: 8 * -1.73697 = -13.896 -> k_3 = -14: the good
     * buckets end at 2^(-14/8) = 0.29730 <= 0.3, and the next bound 2^(-13/8) = 0.32421 > 0.3.
     * Scale 0: floor(-1.737) = -2 (bound 0.25). Scale -1: floor(-1.737 / 2) = -1 (bound 4^-1). */
    t = thr("0.3");
    ASSERT(!t.pow2);
    ASSERT_EQ(t.e2, -2);
    ASSERT_EQ(slo_expo_cut(&t, 3), -14);
    ASSERT_EQ(slo_expo_cut(&t, 0), -2);
    ASSERT_EQ(slo_expo_cut(&t, -1), -1);
    ASSERT(!slo_expo_is_bound(&t, 3) && !slo_expo_is_bound(&t, 0));
    ASSERT(fabs(slo_expo_effective_bound(&t, 3) - 0.29730177875068026) < 1e-15);

    /* T = 0.2: 8 * log2 0.2 = 8 * -2.32193 = -18.575 -> k_3 = -19 (bound 2^(-19/8) = 0.19278);
     * scale 2: floor(-19 / 2) = -10 (bound 2^(-10/4) = 0.17678): coarser, lower. */
    t = thr("0.2");
    ASSERT_EQ(slo_expo_cut(&t, 3), -19);
    ASSERT_EQ(slo_expo_cut(&t, 2), -10);

    /* T = 0: no positive bucket (their values are > 0) lies at or below it. */
    t = thr("0");
    ASSERT(t.zero);
    ASSERT(slo_expo_cut(&t, 20) < -((int64_t)1 << 40));
    ASSERT(slo_expo_is_bound(&t, 5));
}

static void test_exact_where_doubles_fail(void)
{
    /* sqrt(2) = 1.41421356237309504880... is the bound 2^(1/2) of scale 1 (bucket 0 at scale 1
     * is (1, 1.41421...]). 1.41421356237309505 lies above it, so bucket 0 is good (k_1 = 1);
     * 1.41421356237309504 lies below it, so bucket 0 is not (k_1 = 0). Both texts round to the
     * same double (the double nearest sqrt(2)), which could not tell them apart. */
    const char *above = "1.41421356237309505", *below = "1.41421356237309504";
    ASSERT(strtod(above, NULL) == strtod(below, NULL));
    struct slo_expo_thr a = thr(above), b = thr(below);
    ASSERT_EQ(slo_expo_cut(&a, 1), 1);
    ASSERT_EQ(slo_expo_cut(&b, 1), 0);
    /* At scale 20 the bound 2^(2^19 / 2^20) is the same one: K = 524288 and 524287. */
    ASSERT_EQ(a.k20, 524288);
    ASSERT_EQ(b.k20, 524287);
}

static void test_vectors(void)
{
    for (size_t i = 0; i < sizeof(expo_vectors) / sizeof(expo_vectors[0]); i++) {
        struct slo_expo_thr t = thr(expo_vectors[i].t);
        if (t.k20 != expo_vectors[i].k20) {
            printf("# %s: K %lld, expected %lld\n", expo_vectors[i].t, (long long)t.k20,
                   expo_vectors[i].k20);
        }
        ASSERT_EQ(t.k20, expo_vectors[i].k20);
        /* every scale is the floor shift of K: k_s = floor(K / 2^(20 - s)) */
        for (int s = SLO_EXPO_MIN_SCALE; s <= SLO_EXPO_MAX_SCALE; s++) {
            long double want = floorl((long double)expo_vectors[i].k20 / ldexpl(1, 20 - s));
            ASSERT_EQ(slo_expo_cut(&t, s), (int64_t)want);
        }
    }
}

/* A point at |scale| with positive buckets |pos| from |offset|. */
static struct slo_expo_point point(int scale, int32_t offset, const uint64_t *pos, size_t n_pos,
                                   const uint64_t *neg, size_t n_neg, uint64_t zero, uint64_t count)
{
    struct slo_expo_point p;
    memset(&p, 0, sizeof(p));
    p.scale = scale;
    p.pos_offset = offset;
    p.pos = pos;
    p.n_pos = n_pos;
    p.neg = neg;
    p.n_neg = n_neg;
    p.zero_count = zero;
    p.count = count;
    return p;
}

static void test_ladder(void)
{
    uint64_t lad[SLO_EXPO_LADDER];
    /* T = 4, scale 0, buckets from index 0: (1,2] 5, (2,4] 3, (4,8] 2, (8,16] 1; zero bucket 4,
     * negative 6 + 1. Scale 0: good = zero 4 + negative 7 + buckets 0, 1 (index < k_0 = 2):
     * 5 + 3 = 19 of 28. Scale -1 (base 4): (1,4] = buckets 0..1, good (k_-1 = 1): 19 as well.
     * Scale -2 (base 16): (1,16] is above 4 (k_-2 = 0): 4 + 7 = 11, and so on down to -10. */
    const uint64_t pos[] = {5, 3, 2, 1}, neg[] = {6, 1};
    struct slo_expo_thr t = thr("4");
    struct slo_expo_point p = point(0, 0, pos, 4, neg, 2, 4, 28);
    int n = slo_expo_ladder(&t, &p, lad);
    ASSERT_EQ(n, 3);
    ASSERT_UEQ(lad[0], 19);
    ASSERT_UEQ(lad[1], 19);
    ASSERT_UEQ(lad[2], 11);

    /* T = 0.2 at scale 3 from index -20: k_3 = -19, so index -20 (bound 2^(-19/8) = 0.1928) is
     * good and -19 (bound 0.2102) is not: buckets {1, 2, 4}: good 1. At scale 2 (k_2 = -10, in
     * scale-3 indices -20): index -20 is not below -20: good 0. Scale 1: k_1 = -5 -> -20: 0. */
    const uint64_t pos2[] = {1, 2, 4};
    t = thr("0.2");
    p = point(3, -20, pos2, 3, NULL, 0, 0, 7);
    n = slo_expo_ladder(&t, &p, lad);
    ASSERT_EQ(n, 2);
    ASSERT_UEQ(lad[0], 1);
    ASSERT_UEQ(lad[1], 0);

    /* Good never exceeds the count (a malformed point's buckets add up to more): 19 -> 10. */
    p = point(0, 0, pos, 4, neg, 2, 4, 10);
    t = thr("4");
    n = slo_expo_ladder(&t, &p, lad);
    ASSERT_UEQ(lad[0], 10);

    /* The zero bucket [-zt, zt]: good when zt <= T. T = 0.3: zt 0.25 <= 0.3: good (4 + 0);
     * zt 0.5 > 0.3: not; zt = the double nearest 0.3 (0.299999999999999988898) <= 0.3: good;
     * T = 0.25 and zt = 0.25 exactly: good; zt = next double above 0.25: not. */
    t = thr("0.3");
    p = point(0, 5, pos, 1, NULL, 0, 4, 9);
    p.zero_threshold = 0.25;
    ASSERT(slo_expo_ladder(&t, &p, lad) >= 1);
    ASSERT_UEQ(lad[0], 4);
    p.zero_threshold = 0.5;
    ASSERT(slo_expo_ladder(&t, &p, lad) >= 1);
    ASSERT_UEQ(lad[0], 0);
    p.zero_threshold = 0.3;
    ASSERT(slo_expo_ladder(&t, &p, lad) >= 1);
    ASSERT_UEQ(lad[0], 4);
    t = thr("0.25");
    p.zero_threshold = 0.25;
    ASSERT(slo_expo_ladder(&t, &p, lad) >= 1);
    ASSERT_UEQ(lad[0], 4);
    p.zero_threshold = nextafter(0.25, 1.0);
    ASSERT(slo_expo_ladder(&t, &p, lad) >= 1);
    ASSERT_UEQ(lad[0], 0);

    /* T = 0: the zero bucket (zt 0) and negatives only: 4 + 7 = 11. */
    t = thr("0");
    p = point(0, -3, pos, 4, neg, 2, 4, 28);
    n = slo_expo_ladder(&t, &p, lad);
    ASSERT_EQ(n, 1);
    ASSERT_UEQ(lad[0], 11);

    /* Scale 20 from index 2^20 * 2 - 1 (the bucket ending exactly at 4): good; the next: not. */
    t = thr("4");
    const uint64_t two[] = {3, 5};
    p = point(20, (2 << 20) - 1, two, 2, NULL, 0, 0, 8);
    ASSERT(slo_expo_ladder(&t, &p, lad) >= 1);
    ASSERT_UEQ(lad[0], 3);

    /* Malformed: scale outside [-10, 20], zero_threshold negative or NaN. */
    p = point(21, 0, pos, 4, NULL, 0, 0, 11);
    ASSERT_EQ(slo_expo_ladder(&t, &p, lad), AG_EINVAL);
    p.scale = -11;
    ASSERT_EQ(slo_expo_ladder(&t, &p, lad), AG_EINVAL);
    p.scale = 0;
    p.zero_threshold = -1;
    ASSERT_EQ(slo_expo_ladder(&t, &p, lad), AG_EINVAL);
    p.zero_threshold = NAN;
    ASSERT_EQ(slo_expo_ladder(&t, &p, lad), AG_EINVAL);
    /* Extreme offsets: every index below the cut, or none. */
    p = point(0, INT32_MIN, pos, 4, NULL, 0, 0, 11);
    ASSERT(slo_expo_ladder(&t, &p, lad) >= 1);
    ASSERT_UEQ(lad[0], 11);
    p.pos_offset = INT32_MAX;
    ASSERT(slo_expo_ladder(&t, &p, lad) >= 1);
    ASSERT_UEQ(lad[0], 0);
}

static void test_ladder_brute_force(void)
{
    /* Every scale's good count against a direct count: a scale-s' bucket j is good iff
     * j < k_s', and holds the scale-s buckets j * 2^d .. (j + 1) * 2^d - 1 (d = s - s'). */
    uint64_t pos[40];
    for (size_t i = 0; i < 40; i++) {
        pos[i] = i * 7 % 5 + 1;
    }
    const char *ts[] = {"0.3", "4", "0.001", "1.41421356237309505", "700"};
    for (size_t k = 0; k < sizeof(ts) / sizeof(ts[0]); k++) {
        struct slo_expo_thr t = thr(ts[k]);
        for (int s = SLO_EXPO_MIN_SCALE; s <= SLO_EXPO_MAX_SCALE; s += 3) {
            int64_t c = slo_expo_cut(&t, s);
            for (int64_t off = c - 45; off <= c + 5; off += 7) {
                struct slo_expo_point p = point(s, (int32_t)off, pos, 40, NULL, 0, 2, 1000);
                uint64_t lad[SLO_EXPO_LADDER];
                int n = slo_expo_ladder(&t, &p, lad);
                ASSERT(n >= 1);
                for (int j = 0; j <= s - SLO_EXPO_MIN_SCALE; j++) {
                    int64_t cut = slo_expo_cut(&t, s - j);
                    uint64_t want = 2;
                    for (int64_t i = 0; i < 40; i++) {
                        int64_t idx = off + i,
                                coarse = idx >= 0 ? idx >> j : -((-idx - 1) >> j) - 1;
                        if (coarse < cut) {
                            want += pos[i];
                        }
                    }
                    ASSERT_UEQ(lad[j < n ? j : n - 1], want);
                }
            }
        }
    }
}

AG_TEST_MAIN(AG_TEST_CASE(test_cuts_by_hand), AG_TEST_CASE(test_exact_where_doubles_fail),
             AG_TEST_CASE(test_vectors), AG_TEST_CASE(test_ladder),
             AG_TEST_CASE(test_ladder_brute_force))
