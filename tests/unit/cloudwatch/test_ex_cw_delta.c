/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ex_cw_delta: the rules of emf-cwlogs.md 3.1 and both bounds (TTL and entry cap)
 * with their eviction counters.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "ex_cw_delta.h"

#define S_NS 1000000000ull

static int upd(struct ex_cw_delta *d, const char *key, uint64_t start, uint64_t t, uint64_t now,
               double v, int mono, int retain, double *out)
{
    return ex_cw_delta_update(d, key, strlen(key), start, t, now, v, mono, retain, out);
}

static void test_sequence(void)
{
    struct ex_cw_delta *d = NULL;
    double v = -1;
    ASSERT_OK(ex_cw_delta_new(0, 0, &d));
    ASSERT_EQ(upd(d, "a", 1, 10, 10, 5, 1, 0, &v), EX_CW_DELTA_BASELINE);
    ASSERT_EQ(upd(d, "a", 1, 20, 20, 8, 1, 0, &v), EX_CW_DELTA_EMIT);
    ASSERT_EQ(v, 3);
    ASSERT_EQ(upd(d, "a", 1, 30, 30, 2, 1, 0, &v), EX_CW_DELTA_EMIT); /* reset */
    ASSERT_EQ(v, 2);
    ASSERT_EQ(upd(d, "b", 1, 30, 30, 7, 0, 1, &v), EX_CW_DELTA_EMIT); /* retain initial */
    ASSERT_EQ(v, 7);
    ASSERT_EQ(upd(d, "b", 1, 40, 40, 4, 0, 1, &v), EX_CW_DELTA_EMIT); /* up-down: -3 */
    ASSERT_EQ(v, -3);
    ASSERT_EQ(upd(d, "a", 35, 50, 50, 9, 1, 0, &v), EX_CW_DELTA_EMIT); /* restart after */
    ASSERT_EQ(v, 9);
    ASSERT_EQ(upd(d, "a", 45, 60, 60, 11, 1, 0, &v), EX_CW_DELTA_BASELINE); /* overlap */
    ASSERT_EQ(upd(d, "a", 45, 70, 70, 12, 1, 0, &v), EX_CW_DELTA_EMIT);
    ASSERT_EQ(v, 1);
    struct ex_cw_delta_stats st;
    ex_cw_delta_get_stats(d, &st);
    ASSERT_EQ(st.entries, 2);
    ASSERT_EQ(st.resets, 3);
    ex_cw_delta_free(d);
}

static void test_ttl(void)
{
    struct ex_cw_delta *d = NULL;
    double v;
    ASSERT_OK(ex_cw_delta_new(10, 300 * S_NS, &d));
    ASSERT_EQ(upd(d, "a", 0, 0, 100 * S_NS, 1, 1, 0, &v), EX_CW_DELTA_BASELINE);
    ASSERT_EQ(upd(d, "b", 0, 0, 200 * S_NS, 1, 1, 0, &v), EX_CW_DELTA_BASELINE);
    /* 300 s after its update "a" is still there; 301 s after it is gone. */
    ASSERT_EQ(upd(d, "a", 0, 0, 400 * S_NS, 2, 1, 0, &v), EX_CW_DELTA_EMIT);
    ex_cw_delta_expire(d, 501 * S_NS); /* b: 301 s old */
    struct ex_cw_delta_stats st;
    ex_cw_delta_get_stats(d, &st);
    ASSERT_EQ(st.entries, 1);
    ASSERT_EQ(st.evicted_ttl, 1);
    ASSERT_EQ(upd(d, "b", 0, 0, 502 * S_NS, 5, 1, 0, &v), EX_CW_DELTA_BASELINE);
    ex_cw_delta_free(d);
}

static void test_cap(void)
{
    struct ex_cw_delta *d = NULL;
    double v;
    char key[16];
    ASSERT_OK(ex_cw_delta_new(3, 0, &d));
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ASSERT_EQ(upd(d, key, 0, 0, (uint64_t)i, 1, 1, 0, &v), EX_CW_DELTA_BASELINE);
    }
    struct ex_cw_delta_stats st;
    ex_cw_delta_get_stats(d, &st);
    ASSERT_EQ(st.entries, 3);
    ASSERT_EQ(st.evicted_cap, 2);
    /* The least recently updated went first: k0 and k1. k2 is still known. */
    ASSERT_EQ(upd(d, "k2", 0, 0, 10, 3, 1, 0, &v), EX_CW_DELTA_EMIT);
    ASSERT_EQ(v, 2);
    ASSERT_EQ(upd(d, "k0", 0, 0, 11, 3, 1, 0, &v), EX_CW_DELTA_BASELINE);
    /* k0 evicted k3 (k2 was refreshed). */
    ASSERT_EQ(upd(d, "k3", 0, 0, 12, 3, 1, 0, &v), EX_CW_DELTA_BASELINE);
    ex_cw_delta_get_stats(d, &st);
    ASSERT_EQ(st.evicted_cap, 4);
    ex_cw_delta_free(d);
    ex_cw_delta_free(NULL);
}

static void test_many(void)
{
    struct ex_cw_delta *d = NULL;
    double v;
    char key[32];
    ASSERT_OK(ex_cw_delta_new(50000, 0, &d));
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 60000; i++) {
            snprintf(key, sizeof(key), "series-%d", i);
            int o = upd(d, key, 0, 0, (uint64_t)(round * 60000 + i), round + 1.0, 1, 0, &v);
            ASSERT(o == EX_CW_DELTA_BASELINE);
        }
    }
    struct ex_cw_delta_stats st;
    ex_cw_delta_get_stats(d, &st);
    ASSERT_EQ(st.entries, 50000);
    ASSERT_EQ(st.evicted_cap, 70000);
    ex_cw_delta_free(d);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    int done = 0;
    for (long n = 0; n < 100 && !done; n++) {
        struct ex_cw_delta *d = NULL;
        double v;
        ag_mem_fail_after(n);
        int rc = ex_cw_delta_new(0, 0, &d);
        int a = rc == 0 ? upd(d, "a", 0, 0, 1, 1, 1, 0, &v) : rc;
        int b = a >= 0 ? upd(d, "b", 0, 0, 1, 1, 1, 0, &v) : a;
        ag_mem_fail_after(-1);
        if (rc == 0) {
            ASSERT(a == EX_CW_DELTA_BASELINE || a == AG_ENOMEM);
            ASSERT(b == EX_CW_DELTA_BASELINE || b == AG_ENOMEM);
            done = b == EX_CW_DELTA_BASELINE;
        } else {
            ASSERT_EQ(rc, AG_ENOMEM);
            ASSERT_NULL(d);
        }
        ex_cw_delta_free(d);
    }
    ASSERT(done);
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_sequence), AG_TEST_CASE(test_ttl), AG_TEST_CASE(test_cap),
             AG_TEST_CASE(test_many), AG_TEST_CASE(test_failmalloc))
